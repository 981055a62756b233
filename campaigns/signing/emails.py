"""The emails of signing, to the signer in their language: the confirmation
(its link to the landing page that confirms) and the "already signed" notice
sent when the same address signs again. ``mail`` delivers them."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from ..mail.composers import Composers, Draft, isolate, signer
from ..mail.transport import PermanentFailure
from ..models import EmailKind, EmailLog, Signature, SignatureSource
from ..privacy.personal import read_personal_data
from .codes import confirm_code, shown_code
from .manage.emails import register_emails as register_manage_emails
from .manage.links import manage_url
from .tokens import confirm_url


def compose_signer_email(email: EmailLog, signature: Signature | None) -> Draft:
    """A confirmation or an "already signed" email, with the confirm link."""
    signature = signer(signature)
    personal = read_personal_data(signature)
    if not personal["email"]:
        raise PermanentFailure("no email address")
    campaign = signature.campaign
    with force_locale(signature.locale):
        text = campaign.text(signature.locale)
        context = {
            "lang": signature.locale,
            # Low-trace mail: nothing in the headers or the opening lines names
            # the campaign or the union (docs/threat-model.md).
            "neutral": campaign.sensitive,
            "name": isolate(personal["name"]),
            "campaign": campaign,
            "title": text.title,
            "confirm_url": confirm_url(signature),
            "manage_url": manage_url(signature),
            "already_validated": signature.validated_at is not None,
            # Only a web signer saw the thanks page the code is typed on.
            "code": (
                shown_code(confirm_code(signature.uuid))
                if email.kind is EmailKind.confirm and signature.source is SignatureSource.web
                else None
            ),
            "site_url": current_app.config["SITE_URL"],
        }
        # In the words of the campaign's kind: a pledge is never called a signature.
        subject = render_template("email/subject.txt", kind=email.kind.value, **context).strip()
        plain = render_template(f"email/{email.kind.value}.txt", **context)
        html = render_template(f"email/{email.kind.value}.html", **context)
    return Draft(
        to=personal["email"],
        subject=subject,
        plain=plain,
        html=html,
        lang=signature.locale,
        headers=(("Auto-Submitted", "auto-generated"),),
        neutral=campaign.sensitive,
    )


def register_emails(composers: Composers) -> None:
    # Moderation's accepted signatures get the same confirmation (its kind).
    composers.register(EmailKind.confirm, compose_signer_email)
    composers.register(EmailKind.already_signed, compose_signer_email)
    register_manage_emails(composers)
