"""The signer's pages (thin views): ``/<lang>/campaigns/<slug>/manage`` to
ask for the link, and ``/<lang>/manage/<token>`` with what the link allows.

GET (and HEAD) only ever show: mail scanners open links. Every change is a
POST with the session's CSRF token. Every page that holds a personal link is
``no-store``."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from ...accounts.throttle import address_keys, count_failure, wait_left
from ...campaign_cache import load_campaign
from ...extensions import db
from ...i18n import current_language, pull_lang, push_lang
from ...models import MANAGEABLE, Campaign, Signature
from ...privacy.personal import read_personal_data
from ...tokens import ExpiredToken, InvalidToken
from .forms import ChoicesForm, NameForm, RequestLinkForm
from .services import (
    change_choices,
    correct_name,
    is_withdrawn,
    request_manage_link,
    signature_for_manage_token,
    withdraw_signature,
)

bp = Blueprint("manage", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)

# Requests for a link are throttled per client address under this name.
THROTTLE_SCOPE = "manage-link"


def _private(body: ResponseReturnValue) -> Response:
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _request_page(
    campaign: Campaign, form: RequestLinkForm, status: int = 200, *, throttled: bool = False
) -> ResponseReturnValue:
    text = campaign.text(current_language())
    page = render_template(
        "signing/manage_request.html", campaign=campaign, text=text, form=form, throttled=throttled
    )
    return page, status


@bp.route("/campaigns/<slug>/manage", methods=["GET", "POST"])
def request_link(slug: str) -> ResponseReturnValue:
    """Anyone may ask; the answer is the same whether the address signed or not."""
    campaign = load_campaign(slug)
    form = RequestLinkForm()
    if request.method != "POST":
        return _private(_request_page(campaign, form))
    keys = address_keys(THROTTLE_SCOPE, request.remote_addr)
    if wait_left(keys):
        return _private(_request_page(campaign, form, 429, throttled=True))
    if not form.validate():
        return _private(_request_page(campaign, form, 422))
    count_failure(keys)
    request_manage_link(campaign, form.email.data)
    db.session.commit()
    text = campaign.text(current_language())
    return _private(render_template("signing/manage_sent.html", campaign=campaign, text=text))


def _failed(reason: str) -> Response:
    status = 410 if reason == "expired" else 404
    return _private((render_template("signing/manage_failed.html", reason=reason), status))


def _load(token: str) -> Signature | Response:
    """The signature the link names, or the page that says why it does not work."""
    try:
        signature = signature_for_manage_token(token)
    except ExpiredToken:
        return _failed("expired")
    except InvalidToken:
        return _failed("invalid")
    # Erased (a new UUID), or taken out by organizers: nothing left to manage.
    if signature is None or not (signature.state in MANAGEABLE or is_withdrawn(signature)):
        return _failed("invalid")
    return signature


def _withdrawn_page(signature: Signature) -> Response:
    campaign = signature.campaign
    text = campaign.text(current_language())
    return _private(
        render_template("signing/manage_withdrawn.html", campaign=campaign, text=text)
    )


def _manage_page(
    signature: Signature,
    token: str,
    *,
    choices: ChoicesForm | None = None,
    name: NameForm | None = None,
    status: int = 200,
) -> Response:
    campaign = signature.campaign
    if choices is None:
        choices = ChoicesForm(
            formdata=None, show_name=signature.show_name, deliver_name=signature.deliver_name
        )
    if name is None:
        current = read_personal_data(signature)["name"] if signature.personal_data else ""
        name = NameForm(formdata=None, full_name=current)
    page = render_template(
        "signing/manage.html",
        campaign=campaign,
        text=campaign.text(current_language()),
        signature=signature,
        token=token,
        choices=choices,
        name=name,
        saved=request.args.get("saved") if request.method == "GET" else None,
    )
    return _private((page, status))


def _open(token: str) -> Signature | Response:
    """The signature a page of the link may change, or the page to show
    instead (the link does not work, or the signature was withdrawn). A POST's
    answer switches language to the link's own page."""
    if request.method == "POST":
        g.language_switch = ("manage.manage_page", {"token": token})
    loaded = _load(token)
    if isinstance(loaded, Signature) and is_withdrawn(loaded):
        return _withdrawn_page(loaded)
    return loaded


@bp.get("/manage/<token>")
def manage_page(token: str) -> ResponseReturnValue:
    loaded = _open(token)
    if isinstance(loaded, Response):
        return loaded
    return _manage_page(loaded, token)


def _saved(token: str, what: str) -> Response:
    return _private(redirect(url_for(".manage_page", token=token, saved=what), 303))


@bp.post("/manage/<token>/choices")
def choices(token: str) -> ResponseReturnValue:
    loaded = _open(token)
    if isinstance(loaded, Response):
        return loaded
    form = ChoicesForm()
    if not form.validate():
        return _manage_page(loaded, token, choices=form, status=422)
    change_choices(
        loaded, show_name=bool(form.show_name.data), deliver_name=bool(form.deliver_name.data)
    )
    db.session.commit()
    return _saved(token, "choices")


@bp.post("/manage/<token>/name")
def name(token: str) -> ResponseReturnValue:
    loaded = _open(token)
    if isinstance(loaded, Response):
        return loaded
    form = NameForm()
    if not form.validate():
        return _manage_page(loaded, token, name=form, status=422)
    correct_name(loaded, form.full_name.data)
    db.session.commit()
    return _saved(token, "name")


@bp.route("/manage/<token>/withdraw", methods=["GET", "POST"])
def withdraw(token: str) -> ResponseReturnValue:
    """GET asks to confirm (or says it is done); the POST withdraws, once."""
    loaded = _load(token)
    if isinstance(loaded, Response):
        return loaded
    if request.method == "POST":
        withdraw_signature(loaded)
        db.session.commit()
        # Withdrawn now or before: the same page, whatever the number of presses.
        return _private(redirect(url_for(".withdraw", token=token), 303))
    if is_withdrawn(loaded):
        return _withdrawn_page(loaded)
    campaign = loaded.campaign
    page = render_template(
        "signing/manage_withdraw.html",
        campaign=campaign,
        text=campaign.text(current_language()),
        token=token,
    )
    return _private(page)
