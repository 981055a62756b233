"""The ledger's public pages: the latest signed head and the heads before
it, where to download the entries, a check of a receipt (posted: a receipt
never travels in a URL, so never lands in a log) and a consistency check
between two heads. They work without JavaScript."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_time, gettext

from ..campaign_cache import load_campaign
from ..i18n import current_language, pull_lang, push_lang
from ..models import Campaign, LedgerChange, LedgerEntry, LedgerReason
from . import merkle
from . import services as ledger
from .entries import key_id
from .forms import ReceiptForm
from .receipts import receipt_hash

bp = Blueprint("ledger", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)

HEADS_SHOWN = 30


def _page(
    campaign: Campaign, form: ReceiptForm, status: int = 200, **extra: Any
) -> ResponseReturnValue:
    head = ledger.latest_head(campaign.id)
    after = max(0, (head.number if head else 0) - HEADS_SHOWN)
    key = ledger.public_key()
    response = make_response(
        render_template(
            "ledger/ledger.html",
            campaign=campaign,
            text=campaign.text(current_language()),
            head=head,
            heads=list(reversed(ledger.heads(campaign.id, after=after, limit=HEADS_SHOWN))),
            public_key=key.hex(),
            key_id=key_id(key),
            form=form,
            when=when,
            change_label=change_label,
            verify_command=" ".join(
                [
                    "python3 tools/verify_ledger.py",
                    current_app.config["SITE_URL"],
                    campaign.slug,
                    "--key",
                    key.hex(),
                ]
            ),
            **extra,
        ),
        status,
    )
    # A receipt's answer is the signer's alone: kept by no cache.
    response.headers["Cache-Control"] = "no-store" if request.method == "POST" else "no-cache"
    return response


def when(at: datetime) -> dict[str, str]:
    """A head's time in UTC: ISO to the minute, and the date and time in words."""
    return {
        "iso": at.strftime("%Y-%m-%d %H:%M"),
        "date": format_date(at, "long"),
        "time": format_time(at, "short"),
    }


def change_label(entry: LedgerEntry) -> str:
    """An entry's change in words."""
    if entry.change is LedgerChange.counted:
        return gettext("Counted")
    if entry.change is LedgerChange.withdrawn:
        return gettext("Withdrawn by its signer")
    reasons = {
        LedgerReason.organizer.value: gettext("Invalidated by the organizers"),
        LedgerReason.review.value: gettext("Held for review"),
        LedgerReason.fraud.value: gettext("Invalidated as fraudulent"),
    }
    return reasons.get(entry.reason or "", gettext("Invalidated"))


def _number(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        abort(404)
    return int(raw)


@bp.get("/campaigns/<slug>/ledger")
def ledger_page(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    consistency = None
    first, second = _number("first"), _number("second")
    if first is not None and second is not None:
        older = ledger.head_by_number(campaign.id, min(first, second))
        newer = ledger.head_by_number(campaign.id, max(first, second))
        if older is None or newer is None:
            abort(404)
        proof = ledger.consistency_between(campaign.id, older, newer)
        consistency = {
            "first": older,
            "second": newer,
            "proof": ledger.hexes(proof),
            "holds": merkle.verify_consistency(
                older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof
            ),
        }
    return _page(campaign, ReceiptForm(formdata=None), consistency=consistency)


@bp.post("/campaigns/<slug>/ledger/receipt")
def check_receipt(slug: str) -> ResponseReturnValue:
    """Whether the posted receipt is in the ledger, with each entry's proof
    against the latest head. The same page for every receipt not found."""
    campaign = load_campaign(slug)
    form = ReceiptForm()
    if not form.validate():
        return _page(campaign, form, 422)
    found = ledger.receipt_inclusions(campaign.id, receipt_hash(form.receipt.data))
    checked = [
        {
            "entry": item.entry,
            "proof": ledger.hexes(item.proof),
            "holds": merkle.verify_inclusion(
                item.entry.leaf_hash,
                item.entry.position,
                item.head.tree_size,
                item.proof,
                item.head.root_hash,
            ),
        }
        for item in found
    ]
    return _page(campaign, ReceiptForm(formdata=None), receipt_checked=True, found=checked)
