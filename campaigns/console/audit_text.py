"""The audit log read as sentences in the reader's language: "Rana closed the
campaign «Olive trees»", not ``campaign_status {"after": "closed"}``.

Every action recorded anywhere (``accounts.audit.record``) has its sentence
here; a test reads every ``record(...)`` call to keep it so. The names in a
sentence (people, campaigns) are isolated with ``<bdi>`` so that a Latin name
in an Arabic sentence keeps its place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString, format_decimal
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from ..extensions import db
from ..i18n import current_language
from ..kernel.countries import country_name
from ..models import AuditEntry, Campaign, CampaignStatus, DisclosureKind, Role, User
from ..moderation.invalidation import describe_conditions
from .moderation import CONDITION_LABELS

# %(who)s is the person (or the system); the other placeholders are filled
# from the entry. Wording for admins reading back what happened.
SENTENCES: dict[str, LazyString] = {
    "login": _l("%(who)s logged in"),
    "logout": _l("%(who)s logged out"),
    "totp_enabled": _l("%(who)s turned on the second factor"),
    "user_created": _l("%(who)s created the account %(account)s (%(role)s)"),
    "role_changed": _l("%(who)s changed the role of %(account)s from %(before)s to %(after)s"),
    "user_active": _l("%(who)s enabled the account %(account)s"),
    "user_disabled": _l("%(who)s disabled the account %(account)s"),
    "site_paused": _l("%(who)s paused signing on every campaign"),
    "site_resumed": _l("%(who)s resumed signing on every campaign"),
    "campaign_created": _l("%(who)s created the campaign %(campaign)s"),
    "campaign_edited": _l("%(who)s edited the campaign %(campaign)s"),
    "campaign_paused": _l("%(who)s paused signing on the campaign %(campaign)s"),
    "campaign_resumed": _l("%(who)s resumed signing on the campaign %(campaign)s"),
    "campaign_status": _l("%(who)s moved the campaign %(campaign)s from %(before)s to %(after)s"),
    "campaign_sensitive_on": _l("%(who)s marked the campaign %(campaign)s as sensitive"),
    "campaign_sensitive_off": _l("%(who)s marked the campaign %(campaign)s as not sensitive"),
    "campaign_image_set": _l("%(who)s set the image of the campaign %(campaign)s"),
    "campaign_image_removed": _l("%(who)s removed the image of the campaign %(campaign)s"),
    "export_signatures": _l("%(who)s exported %(count)s signatures of the campaign %(campaign)s"),
    "delivery_document": _l(
        "%(who)s produced the delivery document of the campaign %(campaign)s (%(count)s signers)"
    ),
    "paper_import": _l("%(who)s imported paper signatures into the campaign %(campaign)s"),
    "kiosk_opened": _l("%(who)s opened a kiosk at a stand for the campaign %(campaign)s"),
    "kiosk_closed": _l("%(who)s closed a kiosk of the campaign %(campaign)s"),
    "sheets_issued": _l("%(who)s issued %(count)s collection sheets of the campaign %(campaign)s"),
    "sheet_returned": _l("%(who)s marked a collection sheet of the campaign %(campaign)s returned"),
    "sheet_collector_viewed": _l(
        "%(who)s opened the collector of a sheet of the campaign %(campaign)s"
    ),
    "signer_viewed": _l("%(who)s opened a signer's details on the campaign %(campaign)s"),
    "signature_accepted": _l("%(who)s accepted a signature on the campaign %(campaign)s"),
    "signature_rejected": _l("%(who)s rejected a signature on the campaign %(campaign)s"),
    "held_group_released": _l(
        "%(who)s released %(count)s held signatures of one network on the campaign %(campaign)s"
    ),
    "held_group_rejected": _l(
        "%(who)s rejected %(count)s held signatures of one network on the campaign %(campaign)s"
    ),
    "held_domain_released": _l(
        "%(who)s released %(count)s held signatures of one email domain "
        "on the campaign %(campaign)s"
    ),
    "held_domain_rejected": _l(
        "%(who)s rejected %(count)s held signatures of one email domain "
        "on the campaign %(campaign)s"
    ),
    "signatures_accepted_in_bulk": _l(
        "%(who)s accepted %(count)s signatures shown by one filter on the campaign %(campaign)s"
    ),
    "signatures_rejected_in_bulk": _l(
        "%(who)s rejected %(count)s signatures shown by one filter on the campaign %(campaign)s"
    ),
    "source_code_added": _l("%(who)s added a source code to the campaign %(campaign)s"),
    "source_code_revoked": _l("%(who)s revoked a source code of the campaign %(campaign)s"),
    "network_added": _l("%(who)s declared the trusted network %(network)s"),
    "network_removed": _l("%(who)s removed the trusted network %(network)s"),
    "tor_list_imported": _l("%(who)s imported the Tor exit list (%(count)s addresses)"),
    "invalidation_previewed": _l(
        "%(who)s previewed an invalidation on %(campaign)s (%(count)s signatures)"
    ),
    "invalidation_created": _l("%(who)s started an invalidation on %(campaign)s"),
    "invalidation_cancelled": _l("%(who)s cancelled an invalidation"),
    "personal_data_erased": _l(
        "%(who)s erased the personal data of %(count)s signatures of the campaign %(campaign)s"
    ),
    "disclosure_requested": _l(
        "%(who)s asked to open personal data (%(what)s) of the campaign %(campaign)s"
    ),
    "disclosure_approved": _l(
        "%(who)s approved a request to open personal data (%(what)s) of the campaign %(campaign)s"
    ),
    "disclosure_refused": _l(
        "%(who)s refused a request to open personal data (%(what)s) of the campaign %(campaign)s"
    ),
    "disclosure_grant_issued": _l(
        "%(who)s received a one-time link to open personal data (%(what)s) of the campaign "
        "%(campaign)s"
    ),
    "disclosure_used": _l(
        "%(who)s used a one-time link to open personal data (%(what)s) of the campaign "
        "%(campaign)s"
    ),
    "disclosure_grant_refused": _l(
        "%(who)s was refused with a one-time link (%(what)s) on the campaign %(campaign)s"
    ),
    "update_created": _l("%(who)s wrote an update for the campaign %(campaign)s"),
    "update_edited": _l("%(who)s edited an update"),
    "update_send": _l("%(who)s sent an update to %(count)s signers"),
    "update_sent": _l("An update reached %(count)s signers"),
    # A signer, through the private link to their own signature (no account).
    "signature_withdrawn": _l("%(who)s withdrew their signature from the campaign %(campaign)s"),
    "signature_choices_changed": _l(
        "%(who)s changed what is public about their signature on the campaign %(campaign)s"
    ),
    "signature_name_corrected": _l(
        "%(who)s corrected their name on their signature on the campaign %(campaign)s"
    ),
    "threshold_added": _l("%(who)s added a commitment at %(count)s to the campaign %(campaign)s"),
    "threshold_removed": _l(
        "%(who)s removed the commitment at %(count)s from the campaign %(campaign)s"
    ),
    "response_published": _l("%(who)s published a response to the campaign %(campaign)s"),
    "delivery_recorded": _l("%(who)s recorded a delivery of the campaign %(campaign)s"),
}

UNKNOWN = _l("%(who)s: an action this version does not describe (%(action)s)")
SYSTEM = _l("The system")
SIGNER = _l("A signer")
SCHEDULE = _l("The schedule")
COMMAND_LINE = _l("Someone on the server's command line")
ALL_CAMPAIGNS = _l("every campaign")
A_CAMPAIGN = _l("a campaign")
AN_ACCOUNT = _l("an account")

# The detail that holds the count each action speaks of.
COUNT_DETAIL = {
    "export_signatures": "signatures",
    "delivery_document": "signers",
    "invalidation_previewed": "count",
    "personal_data_erased": "signatures",
    "update_send": "recipients",
    "held_group_released": "count",
    "held_group_rejected": "count",
    "held_domain_released": "count",
    "held_domain_rejected": "count",
    "signatures_accepted_in_bulk": "count",
    "signatures_rejected_in_bulk": "count",
    "tor_list_imported": "after",
    "update_sent": "recipients",
    "threshold_added": "count",
    "threshold_removed": "count",
    "sheets_issued": "count",
}


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    sentence: Markup
    # What an invalidation asked (labelled, in the reader's language) and why:
    # an admin's question about signers stays readable to the other admins.
    conditions: list[tuple[str, str]]
    reason: str | None


def _name(text: str) -> Markup:
    return Markup("<bdi>%s</bdi>") % text


def _quoted(text: str) -> Markup:
    return Markup("«<bdi>%s</bdi>»") % text


def _title(enum: Any, value: object) -> str:
    try:
        return str(enum(value).title)
    except ValueError:
        return str(value)


def _campaign_id(entry: AuditEntry) -> int | None:
    value: Any = entry.target_id if entry.target_type == "campaign" else None
    value = entry.details.get("campaign_id", value) if entry.details else value
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _target_user_id(entry: AuditEntry) -> int | None:
    if entry.target_type != "user" or entry.target_id is None:
        return None
    try:
        return int(entry.target_id)
    except ValueError:
        return None


def _who(entry: AuditEntry) -> Markup:
    if entry.user is not None:
        return _name(entry.user.name)
    details = entry.details or {}
    if details.get("by") == "schedule":
        return escape(str(SCHEDULE))
    if details.get("via") == "cli":
        return escape(str(COMMAND_LINE))
    if details.get("via") == "manage_link":
        return escape(str(SIGNER))
    return escape(str(SYSTEM))


def describe(
    entry: AuditEntry, campaigns: Mapping[int, Campaign], accounts: Mapping[int, User]
) -> Markup:
    """One entry as a sentence in the current language, names escaped."""
    details: Mapping[str, Any] = entry.details or {}
    lang = current_language()
    campaign_id = _campaign_id(entry)
    if campaign_id is not None and campaign_id in campaigns:
        campaign = _quoted(campaigns[campaign_id].text(lang).title)
    elif (
        entry.action.startswith(("invalidation", "disclosure"))
        and details.get("campaign_id", 0) is None
    ):
        campaign = escape(str(ALL_CAMPAIGNS))
    else:
        campaign = escape(str(A_CAMPAIGN))
    user_id = _target_user_id(entry)
    account = (
        _name(accounts[user_id].name)
        if user_id is not None and user_id in accounts
        else escape(str(AN_ACCOUNT))
    )
    status = Role if entry.action == "role_changed" else CampaignStatus
    count = details.get(COUNT_DETAIL.get(entry.action, ""), 0)
    values = {
        "who": _who(entry),
        "campaign": campaign,
        "account": account,
        "role": escape(_title(Role, details.get("role"))),
        "before": escape(_title(status, details.get("before"))),
        "after": escape(_title(status, details.get("after"))),
        "count": escape(format_decimal(count) if isinstance(count, int) else "—"),
        "action": escape(entry.action),
        "network": _name(" ".join(str(details[k]) for k in ("label", "cidr") if details.get(k))),
        "what": escape(_title(DisclosureKind, details.get("kind"))),
    }
    sentence = SENTENCES.get(entry.action, UNKNOWN)
    return escape(str(sentence)) % values


def audit_lines(entries: Iterable[AuditEntry]) -> list[AuditLine]:
    """The entries of a page with the campaigns and accounts they name
    loaded in two queries."""
    entries = list(entries)
    campaign_ids = {cid for e in entries if (cid := _campaign_id(e)) is not None}
    user_ids = {uid for e in entries if (uid := _target_user_id(e)) is not None}
    campaigns = {
        c.id: c
        for c in db.session.execute(select(Campaign).where(Campaign.id.in_(campaign_ids)))
        .scalars()
        .all()
    } if campaign_ids else {}
    accounts = {
        u.id: u
        for u in db.session.execute(select(User).where(User.id.in_(user_ids))).scalars().all()
    } if user_ids else {}
    return [
        AuditLine(
            entry=entry,
            sentence=describe(entry, campaigns, accounts),
            conditions=_conditions(entry),
            reason=_reason(entry),
        )
        for entry in entries
    ]


def _conditions(entry: AuditEntry) -> list[tuple[str, str]]:
    asked = (entry.details or {}).get("conditions") or {}
    if not isinstance(asked, dict):
        return []
    lang = current_language()
    return [
        (str(CONDITION_LABELS.get(k, k)), country_name(value, lang) if k == "country" else value)
        for k, value in describe_conditions(asked)
    ]


def _reason(entry: AuditEntry) -> str | None:
    if not entry.action.startswith("invalidation"):
        return None
    reason = (entry.details or {}).get("reason")
    return str(reason) if reason else None
