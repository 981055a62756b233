"""What a signer may do with their own signature, and the email that brings
them the link. Plain functions; they flush, never commit (but the task body,
which commits then sends).

- ``request_manage_link``: anyone may type an address on a campaign's manage
  page; the link is emailed only if a live signature of that campaign has
  that address's fingerprint, and the request is answered the same either
  way. The decision is one ``INSERT … SELECT`` into the outbox, the same
  statement whatever it finds; the worker then queues at most one email a
  day per signature (``manage_link:<id>:<day>``).
- ``change_choices`` and ``correct_name``: what becomes public, and the name
  re-sealed with the rest of the personal data.
- ``withdraw_signature``: the lifecycle's ``withdraw`` move and, in the same
  transaction, the retention module's erasure of the personal data.

Everything a signer does is audited with no user as the actor and no
personal data in the details."""

from __future__ import annotations

from sqlalchemy import select, update

from ...accounts.audit import record_by_signer
from ...extensions import db
from ...jobs import SEND_MANAGE_LINK
from ...kernel.normalize import clean_text
from ...mail.services import deliver_emails, queue_email
from ...models import CURRENT_CONSENT, MANAGEABLE, Campaign, EmailKind, Signature, SignatureState
from ...models.types import utcnow
from ...outbox import enqueue_selected
from ...privacy.personal import read_personal_data, seal_personal_data
from ...retention.services import erase_withdrawn
from ..lifecycle import withdraw
from ..services import email_fingerprint
from .links import read_manage_token


def request_manage_link(campaign: Campaign, email: str) -> None:
    """Queue the manage link for the live signature of ``campaign`` with this
    address, if there is one (flush only); the caller cannot tell."""
    enqueue_selected(
        SEND_MANAGE_LINK.name,
        select(Signature.id).where(
            Signature.campaign_id == campaign.id,
            Signature.fingerprint == email_fingerprint(email),
            Signature.state.in_(MANAGEABLE),
        ),
    )


def queue_manage_link(signature_id: int) -> int | None:
    """The manage-link email for a live signature that still has its
    personal data, at most once a day; its id, or None (flush only)."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.state not in MANAGEABLE or signature.personal_data is None:
        return None
    day = utcnow().date().isoformat()
    return queue_email(EmailKind.manage_link, signature_id, f"manage_link:{signature_id}:{day}")


def send_manage_links(signature_ids: list[int]) -> int:
    """Task body: queue each link asked for, commit, then send them."""
    email_ids = [e for sid in signature_ids if (e := queue_manage_link(sid)) is not None]
    db.session.commit()
    return deliver_emails(email_ids) if email_ids else 0


def _live_update(signature: Signature, **values: object) -> bool:
    """One guarded UPDATE of a live signature's own columns (never its state)."""
    changed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.state.in_(MANAGEABLE))
        .values(**values)
        .returning(Signature.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.expire(signature)
    return changed is not None


def change_choices(signature: Signature, *, show_name: bool, deliver_name: bool) -> bool:
    """Set what becomes public, under the current wording of the two choices
    (consent version 2); True if anything changed (flush only)."""
    before = (signature.show_name, signature.deliver_name, signature.consent_version)
    after = (show_name, deliver_name, CURRENT_CONSENT)
    if before == after or signature.state not in MANAGEABLE:
        return False
    if not _live_update(
        signature, show_name=show_name, deliver_name=deliver_name, consent_version=CURRENT_CONSENT
    ):
        return False
    record_by_signer(
        "signature_choices_changed",
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        show_name=show_name,
        deliver_name=deliver_name,
        via="manage_link",
    )
    return True


def correct_name(signature: Signature, full_name: str) -> bool:
    """Replace the name (cleaned as at signing) in the sealed personal data;
    True if it changed (flush only). The audit entry holds no name."""
    if signature.state not in MANAGEABLE or signature.personal_data is None:
        return False
    personal = read_personal_data(signature)
    name = clean_text(full_name)
    if name == personal["name"]:
        return False
    personal["name"] = name
    if not _live_update(signature, personal_data=seal_personal_data(personal)):
        return False
    record_by_signer(
        "signature_name_corrected",
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        via="manage_link",
    )
    return True


def withdraw_signature(signature: Signature) -> bool:
    """Withdraw a live signature and erase its personal data at once; True
    if it did, False if it was withdrawn before (or cannot be: not live).
    A counted signature leaves the figures at the count job's next run."""
    before, counted = signature.state, signature.counted
    if not withdraw(signature.id):
        return False
    erase_withdrawn(signature.id)
    record_by_signer(
        "signature_withdrawn",
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        before=before.value,
        counted=counted,
        via="manage_link",
    )
    db.session.expire(signature)
    return True


def is_withdrawn(signature: Signature) -> bool:
    return signature.state is SignatureState.withdrawn


def signature_for_manage_token(token: str) -> Signature | None:
    """The signature a manage token names (no change); None once its
    campaign's data is erased (it then has a new UUID). Raises
    ``InvalidToken`` or ``ExpiredToken``."""
    from_token = read_manage_token(token)
    return db.session.execute(
        select(Signature).where(Signature.uuid == from_token)
    ).scalar_one_or_none()
