"""Signing at a stand: a collector (a console user who manages the campaign)
opens a kiosk on their tablet or phone, and each person fills its short form
there, confirmed by the collector with one tap. The page works without
JavaScript (one POST per person); with it, entries wait in an encrypted queue
on the device through a bad connection (static/js/kiosk.js) and are sent in
batches, each entry's key making a resend harmless. Organizers review and
invalidate kiosk signatures by stand or by collector."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.services import can_manage
from ..extensions import db
from ..forms import Form
from ..i18n import current_language
from ..kiosk.forms import KioskForm
from ..kiosk.services import (
    MAX_STAND,
    Entry,
    KioskClosed,
    close_kiosk,
    find_kiosk,
    open_kiosk,
    record_entries,
    stand_figures,
)
from ..models import Campaign, Kiosk, User
from ..moderation.invalidation import create_invalidation, start_invalidation
from ..privacy.crypto import kiosk_queue_key
from ..signing.services import SigningClosed
from . import notices
from .access import MANAGERS, managed_campaign, require, user

bp = Blueprint("console_kiosk", __name__, url_prefix="/console")

# Entries in one batch from a device's queue: its script sends at most 25.
MAX_BATCH = 50


class OpenKioskForm(Form):
    stand = StringField(
        _l("Stand"),
        validators=[
            DataRequired(message=_l("Please name the stand, for example its place and day.")),
            Length(max=MAX_STAND, message=_l("At most %(max)s characters.", max=MAX_STAND)),
        ],
    )


class InvalidateForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Please give a reason.")),
            Length(max=500, message=_l("At most %(max)s characters.", max=500)),
        ],
    )


def _stands_page(
    campaign: Campaign,
    form: OpenKioskForm | None = None,
    invalidate_form: InvalidateForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    stands = stand_figures(campaign)
    collectors: dict[int, dict[str, Any]] = {}
    for figures in stands:
        mine = collectors.setdefault(
            figures.kiosk.collector_id,
            {"user": figures.kiosk.collector, "stands": 0, "validated": 0, "invalidated": 0},
        )
        mine["stands"] += 1
        mine["validated"] += figures.validated
        mine["invalidated"] += figures.invalidated
    return render_template(
        "console/kiosk/index.html",
        campaign=campaign,
        form=form or OpenKioskForm(formdata=None),
        invalidate_form=invalidate_form or InvalidateForm(formdata=None),
        stands=stands,
        collectors=list(collectors.values()),
    ), status


@bp.get("/campaigns/<slug>/kiosks")
@require(*MANAGERS)
def index(slug: str) -> ResponseReturnValue:
    """The campaign's stands and collectors, and the form to open a kiosk."""
    return _stands_page(managed_campaign(slug))


@bp.post("/campaigns/<slug>/kiosks")
@require(*MANAGERS)
def open_stand(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    form = OpenKioskForm()
    if not form.validate():
        return _stands_page(campaign, form=form, status=422)
    if not campaign.is_signable():
        notices.failed(_("This campaign does not take signatures now: no kiosk was opened."))
        return redirect(url_for(".index", slug=campaign.slug), 303)
    kiosk = open_kiosk(campaign, user(), form.stand.data)
    db.session.commit()
    notices.done(_("The kiosk is open. Hand the device to the first person."))
    return redirect(url_for(".kiosk", kiosk_uuid=kiosk.uuid), 303)


def _stand(slug: str, kiosk_uuid: uuid.UUID) -> tuple[Campaign, Kiosk]:
    campaign = managed_campaign(slug)
    kiosk = find_kiosk(kiosk_uuid)
    if kiosk is None or kiosk.campaign_id != campaign.id:
        abort(404)
    return campaign, kiosk


@bp.post("/campaigns/<slug>/kiosks/<uuid:kiosk_uuid>/close")
@require(*MANAGERS)
def close(slug: str, kiosk_uuid: uuid.UUID) -> ResponseReturnValue:
    campaign, kiosk = _stand(slug, kiosk_uuid)
    if close_kiosk(kiosk):
        notices.done(_("The kiosk is closed: it takes no more signatures."))
    else:
        notices.failed(_("This kiosk was already closed."))
    db.session.commit()
    return redirect(url_for(".index", slug=campaign.slug), 303)


def _invalidate(campaign: Campaign, conditions: dict[str, str]) -> ResponseReturnValue:
    form = InvalidateForm()
    if not form.validate():
        notices.failed(_("Nothing was invalidated: please give a reason."))
        return _stands_page(campaign, invalidate_form=form, status=422)
    item = create_invalidation(campaign.id, conditions, form.reason.data, user())
    start_invalidation(item.id)
    db.session.commit()
    notices.done(_("The invalidation has started."))
    return redirect(url_for("console_moderation.invalidation", invalidation_id=item.id), 303)


@bp.post("/campaigns/<slug>/kiosks/<uuid:kiosk_uuid>/invalidate")
@require(*MANAGERS)
def invalidate_stand(slug: str, kiosk_uuid: uuid.UUID) -> ResponseReturnValue:
    """Invalidate every live signature given at one stand."""
    campaign, kiosk = _stand(slug, kiosk_uuid)
    return _invalidate(campaign, {"kiosk": str(kiosk.uuid)})


@bp.post("/campaigns/<slug>/collectors/<int:collector_id>/invalidate")
@require(*MANAGERS)
def invalidate_collector(slug: str, collector_id: int) -> ResponseReturnValue:
    """Invalidate every live signature one collector took for this campaign."""
    campaign = managed_campaign(slug)
    collected = db.session.execute(
        db.select(Kiosk.id)
        .where(Kiosk.campaign_id == campaign.id, Kiosk.collector_id == collector_id)
        .limit(1)
    ).scalar()
    if collected is None:
        abort(404)
    return _invalidate(campaign, {"collector": str(collector_id)})


def _collectors_kiosk(kiosk_uuid: uuid.UUID) -> Kiosk:
    """The kiosk, for its own collector while they manage its campaign: the
    device is theirs. Anyone else is told nothing of it (404)."""
    kiosk = find_kiosk(kiosk_uuid)
    me: User = user()
    if kiosk is None or kiosk.collector_id != me.id or not can_manage(me, kiosk.campaign):
        abort(404)
    return kiosk


def _kiosk_page(
    kiosk: Kiosk, form: KioskForm | None = None, status: int = 200
) -> ResponseReturnValue:
    lang = current_language()
    if form is None:
        form = KioskForm(kiosk.campaign, lang, formdata=None, entry_key=str(uuid.uuid4()))
    queue_key = base64.b64encode(kiosk_queue_key(kiosk.uuid.bytes)).decode()
    return render_template(
        "console/kiosk/kiosk.html",
        kiosk=kiosk,
        campaign=kiosk.campaign,
        form=form,
        queue_key=queue_key if kiosk.is_open else None,
    ), status


@bp.get("/kiosks/<uuid:kiosk_uuid>")
@require(*MANAGERS)
def kiosk(kiosk_uuid: uuid.UUID) -> ResponseReturnValue:
    """The kiosk's form, empty, for the next person."""
    return _kiosk_page(_collectors_kiosk(kiosk_uuid))


def _entry(form: KioskForm) -> Entry:
    return Entry(
        key=form.entry_key.data,
        full_name=form.full_name.data,
        country=form.country.data,
        region=form.region.data,
        phone=form.phone.data or "",
        amount=form.parsed_amount,
        show_name=bool(form.show_name.data),
        deliver_name=bool(form.deliver_name.data),
    )


@bp.post("/kiosks/<uuid:kiosk_uuid>")
@require(*MANAGERS)
def sign(kiosk_uuid: uuid.UUID) -> ResponseReturnValue:
    """One person, without JavaScript: stored, then the empty form again."""
    kiosk = _collectors_kiosk(kiosk_uuid)
    form = KioskForm(kiosk.campaign, current_language(), formdata=request.form)
    if not form.validate():
        return _kiosk_page(kiosk, form, 422)
    try:
        record_entries(kiosk, [_entry(form)], locale=current_language())
    except (KioskClosed, SigningClosed):
        db.session.rollback()
        notices.failed(_("This kiosk takes no more signatures: it or its campaign is closed."))
        return redirect(url_for(".kiosk", kiosk_uuid=kiosk.uuid), 303)
    db.session.commit()
    notices.done(_("Signed. The form is empty for the next person."))
    return redirect(url_for(".kiosk", kiosk_uuid=kiosk.uuid), 303)


def _refusal(message: str, status: int) -> ResponseReturnValue:
    return jsonify(error=message), status


@bp.post("/kiosks/<uuid:kiosk_uuid>/entries")
@require(*MANAGERS)
def entries(kiosk_uuid: uuid.UUID) -> ResponseReturnValue:
    """A batch from the device's queue, as JSON ``{"entries": [{"key": …,
    "fields": {…}}]}``. Answers which keys were stored (or had been: a
    resend) and which were refused, with their reasons; the device forgets
    both."""
    kiosk = _collectors_kiosk(kiosk_uuid)
    body = request.get_json(silent=True)
    items = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
        return _refusal(_("The kiosk sent something it should not: reload its page."), 400)
    lang = current_language()
    accepted: list[Entry] = []
    refused: dict[str, list[str]] = {}
    for number, item in enumerate(items):
        key = item.get("key") if isinstance(item, dict) else None
        fields = item.get("fields") if isinstance(item, dict) else None
        if not isinstance(key, str) or not isinstance(fields, dict):
            refused[str(key) if isinstance(key, str) else f"#{number}"] = [
                _("The kiosk sent something it should not: reload its page.")
            ]
            continue
        texts = {k: v for k, v in fields.items() if isinstance(v, str) and k != "entry_key"}
        form = KioskForm(
            kiosk.campaign,
            lang,
            formdata=MultiDict({**texts, "entry_key": key}),
            meta={"csrf": False},
        )
        if form.validate():
            accepted.append(_entry(form))
        else:
            refused[key[:64]] = [str(e) for errors in form.errors.values() for e in errors]
    try:
        stored = record_entries(kiosk, accepted, locale=lang)
    except (KioskClosed, SigningClosed):
        db.session.rollback()
        return _refusal(
            _("This kiosk takes no more signatures: it or its campaign is closed."), 409
        )
    db.session.commit()
    return jsonify(accepted=sorted(str(key) for key in stored), refused=refused)
