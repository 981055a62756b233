"""The public JSON API: aggregates only, never personal data. Responses are
cacheable (ETag, Cache-Control with stale-while-revalidate) and readable from
any origin."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.http import quote_etag

from ..cache import memo
from ..campaign_cache import cached_campaign
from ..counting.services import campaign_count, published_channels
from ..extensions import csrf, db
from ..i18n import DEFAULT_LANGUAGE
from ..ledger import services as ledger
from ..ledger.entries import key_id
from ..models import VISIBLE, Campaign
from ..outcomes.services import LedgerMark, campaign_outcomes
from ..results.services import campaign_results, count_figures
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Max-Age", "86400"),
]
csrf.exempt(bp)


def _campaign(slug: str) -> Campaign:
    campaign = cached_campaign(slug)
    if campaign is None or campaign.status not in VISIBLE:
        abort(404)
    return campaign


def targets(campaign: Campaign) -> dict[str, str]:
    """Who the campaign is addressed to, per language where it is written."""
    return {
        locale: text.target for locale, text in sorted(campaign.texts.items()) if text.target
    }


def _summary(campaign: Campaign) -> dict[str, Any]:
    count = campaign_count(campaign.id)
    return {
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "unit": campaign.unit,
        "target": targets(campaign),
        "total": count.total,
        "signers": count.signers,
        "channels": published_channels(count),
        "updated_at": count.updated_at.isoformat() if count.updated_at else None,
    }


def encode(data: Any) -> tuple[bytes, str]:
    """The JSON body of ``data`` and its strong ETag."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return body, hashlib.sha256(body).hexdigest()[:32]


def json_response(data: Any, max_age: int) -> ResponseReturnValue:
    """JSON with a strong ETag; answers 304 to a matching If-None-Match."""
    return encoded_response(encode(data), max_age)


# Only a request carrying one of these can be answered 304 (or 412).
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def encoded_response(encoded: tuple[bytes, str], max_age: int) -> ResponseReturnValue:
    body, etag = encoded
    cache_control = f"public, max-age={max_age}, stale-while-revalidate={max_age * 10}"
    response = Response(
        body,
        mimetype="application/json",
        headers=[("ETag", quote_etag(etag)), ("Cache-Control", cache_control), ("Vary", "Origin")],
    )
    if any(key in request.environ for key in CONDITIONAL):
        return response.make_conditional(request)
    return response


@bp.errorhandler(404)
def not_found(error: Exception) -> ResponseReturnValue:
    return {"error": "not_found"}, 404


@bp.after_request
def allow_any_origin(response: Response) -> Response:
    response.headers.extend(CORS_HEADERS)
    return response


@bp.get("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    campaigns = db.session.execute(
        select(Campaign)
        .options(selectinload(Campaign.texts))
        .where(Campaign.status.in_(VISIBLE))
        .order_by(Campaign.id)
    ).scalars()
    return json_response({"campaigns": [_summary(c) for c in campaigns]}, max_age=5)


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    figures = campaign_results(campaign)
    data = {
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "unit": campaign.unit,
        "target": targets(campaign),
        "total": figures["total"],
        "signers": figures["signers"],
        "channels": figures.get("channels", []),  # none in an entry cached before it
        "updated_at": figures["updated_at"],
        "by_country": figures["by_country"],
        "by_region": figures["by_region"],
        "daily": figures["daily"],
        "milestones": figures["milestones"],
        **outcomes_json(campaign),
    }
    return json_response(data, max_age=2)


def outcomes_json(campaign: Campaign) -> dict[str, Any]:
    """Commitments (smallest first), responses and deliveries (newest first),
    with their texts in every language written."""
    outcomes = campaign_outcomes(campaign.id)
    return {
        "thresholds": [{"count": t.count, "texts": t.texts} for t in outcomes.thresholds],
        "responses": [
            {
                "date": r.responded_on.isoformat(),
                "texts": r.texts,
                "pdf": url_for("outcomes.response_pdf", public_id=r.public_id, _external=True)
                if r.pdf_size
                else None,
            }
            for r in outcomes.responses
        ],
        "deliveries": [
            {
                "date": d.delivered_on.isoformat(),
                "method": d.method.value,
                "texts": d.texts,
                "chain_head": d.chain_head,
                **_ledger_mark(d.ledger_head, campaign.slug),
            }
            for d in outcomes.deliveries
        ],
    }


def _ledger_mark(mark: LedgerMark | None, slug: str) -> dict[str, Any]:
    """A delivery's signed ledger head: its number, the count it adds up to
    and its row on the (Arabic) ledger page; all null for none."""
    if mark is None:
        return dict.fromkeys(("ledger_head", "ledger_signers", "ledger_total", "ledger_url"))
    return {
        "ledger_head": mark.number,
        "ledger_signers": mark.signers,
        "ledger_total": mark.total,
        "ledger_url": url_for(
            "ledger.ledger_page",
            lang=DEFAULT_LANGUAGE,
            slug=slug,
            _anchor=f"head-{mark.number}",
            _external=True,
        ),
    }


@bp.get("/campaigns/<slug>/count")
def campaign_count_json(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    ttl = current_app.config["COUNT_CACHE_SECONDS"]
    if ttl <= 0:
        return json_response(count_figures(campaign), max_age=1)
    # The hottest URL of a viral petition. Each web process reads the count
    # row at most once per ttl and keeps the encoded answer: a lookup by
    # primary key costs no more than a shared cache would, and most requests
    # then touch neither PostgreSQL nor Redis.
    encoded = memo().get_or_compute(
        f"count-json:{campaign.id}", ttl, lambda: encode(count_figures(campaign))
    )
    return encoded_response(encoded, max_age=1)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return json_response(openapi_document(), max_age=3600)


# --- the public ledger (ledger/) ---------------------------------------------

# Entries per page of the JSON Lines download.
LEDGER_PAGE_MAX = 10_000
# Head numbers and positions a query may name: what a 32-bit column holds.
LEDGER_NUMBER_MAX = 2**31 - 1


def _int_arg(name: str, default: int | None = None, low: int = 0) -> int:
    """A whole-number query argument at least ``low``; a 400 otherwise."""
    raw = request.args.get(name)
    if raw is None and default is not None:
        return default
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        abort(400)
    value = int(raw)
    if not low <= value <= LEDGER_NUMBER_MAX:
        abort(400)
    return value


@bp.errorhandler(400)
def bad_request(error: Exception) -> ResponseReturnValue:
    return {"error": "bad_request"}, 400


@bp.get("/ledger/key")
def ledger_key() -> ResponseReturnValue:
    key = ledger.public_key()
    return json_response(
        {"algorithm": "ed25519", "public_key": key.hex(), "key_id": key_id(key)}, max_age=3600
    )


@bp.get("/campaigns/<slug>/ledger")
def ledger_head_json(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    head = ledger.latest_head(campaign.id)
    return json_response(
        {"head": ledger.head_json(head, campaign.slug) if head else None}, max_age=30
    )


@bp.get("/campaigns/<slug>/ledger/heads")
def ledger_heads_json(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    after = _int_arg("after", 0)
    found = ledger.heads(campaign.id, after=after, limit=1000)
    return json_response(
        {"heads": [ledger.head_json(h, campaign.slug) for h in found]}, max_age=30
    )


@bp.get("/campaigns/<slug>/ledger/entries")
def ledger_entries_jsonl(slug: str) -> ResponseReturnValue:
    """One entry a line, from ``start``, at most ``count`` (JSON Lines)."""
    campaign = _campaign(slug)
    start = _int_arg("start", 0)
    count = _int_arg("count", 1000, low=1)
    if count > LEDGER_PAGE_MAX:
        abort(400)
    rows = ledger.entries(campaign.id, start, count)
    body = "".join(
        json.dumps(ledger.entry_json(e), separators=(",", ":"), sort_keys=True) + "\n"
        for e in rows
    ).encode()
    # A full page never changes (append-only); a partial one grows.
    max_age = 86400 if len(rows) == count else 30
    response = Response(
        body,
        mimetype="application/jsonl",
        headers=[("Cache-Control", f"public, max-age={max_age}")],
    )
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/campaigns/<slug>/ledger/consistency")
def ledger_consistency_json(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    first = ledger.head_by_number(campaign.id, _int_arg("first", low=1))
    second = ledger.head_by_number(campaign.id, _int_arg("second", low=1))
    if first is None or second is None:
        abort(404)
    if first.number > second.number:
        abort(400)
    proof = ledger.consistency_between(campaign.id, first, second)
    return json_response(
        {
            "first": ledger.head_json(first, campaign.slug),
            "second": ledger.head_json(second, campaign.slug),
            "proof": ledger.hexes(proof),
        },
        max_age=86400,
    )


@bp.get("/campaigns/<slug>/ledger/inclusion")
def ledger_inclusion_json(slug: str) -> ResponseReturnValue:
    """The audit path of the entry at ``position`` in head ``head``'s tree."""
    campaign = _campaign(slug)
    head = ledger.head_by_number(campaign.id, _int_arg("head", low=1))
    position = _int_arg("position")
    if head is None:
        abort(404)
    if position >= head.tree_size:
        abort(400)
    (entry,) = ledger.entries(campaign.id, position, 1)
    return json_response(
        {
            "entry": ledger.entry_json(entry),
            "head": ledger.head_json(head, campaign.slug),
            "proof": ledger.hexes(ledger.inclusion_at(campaign.id, position, head)),
        },
        max_age=86400,
    )
