"""How a message is built: headers and languages."""


def test_an_arabic_subject_survives_the_trip_through_bytes(app):
    """Python 3.11 folds long non-ASCII headers so that readers lose a space."""
    from email import message_from_bytes
    from email import policy as email_policy

    from campaigns.mail.composers import compose
    from campaigns.models import EmailKind, EmailLog
    from tests.factories import create_campaign, create_signature

    campaign = create_campaign()
    campaign.texts["ar"].title = "نحن أشجار الزيتون في عفرين وفي كل سوريا"
    signature = create_signature(campaign, locale="ar")
    email = EmailLog(kind=EmailKind.confirm, signature_id=signature.id, dedupe_key="k")
    message = compose(email, signature)
    parsed = message_from_bytes(bytes(message), policy=email_policy.default)
    assert "نحن أشجار الزيتون في عفرين وفي كل سوريا" in parsed["Subject"]
    assert parsed["Content-Language"] == "ar"
