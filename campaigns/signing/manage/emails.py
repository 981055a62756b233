"""The email with the link to manage a signature, to the signer in their
language. Its subject names no campaign: it is sent on request, perhaps to a
shared or watched mailbox, and the campaign is inside."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ...mail.composers import Composers, Draft, isolate, signer
from ...mail.transport import PermanentFailure
from ...models import MANAGEABLE, EmailKind, EmailLog, Signature
from ...privacy.personal import read_personal_data
from .links import manage_url


def compose_manage_link(email: EmailLog, signature: Signature | None) -> Draft:
    """The manage link, for a live signature that still has an address."""
    signature = signer(signature)
    if signature.state not in MANAGEABLE:
        raise PermanentFailure("no longer a live signature")
    personal = read_personal_data(signature)
    if not personal["email"]:
        raise PermanentFailure("no email address")
    campaign = signature.campaign
    with force_locale(signature.locale):
        context = {
            "lang": signature.locale,
            "name": isolate(personal["name"]),
            "campaign": campaign,
            "title": campaign.text(signature.locale).title,
            "manage_url": manage_url(signature),
        }
        if campaign.is_pledge:
            subject = _("Your link to manage your pledge")
        else:
            subject = _("Your link to manage your signature")
        plain = render_template("email/manage_link.txt", **context)
        html = render_template("email/manage_link.html", subject=subject, **context)
    return Draft(
        to=personal["email"],
        subject=subject,
        plain=plain,
        html=html,
        lang=signature.locale,
        headers=(("Auto-Submitted", "auto-generated"),),
    )


def register_emails(composers: Composers) -> None:
    composers.register(EmailKind.manage_link, compose_manage_link)
