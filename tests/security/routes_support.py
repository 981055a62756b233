"""What the route-wide security tests share: the URL map's routes, a world
with an object for every URL argument of the map, every state-changing route
with a valid submission (in an order where each one still changes
something), console clients logged in through the login form (with their
CSRF token when protection is on), and snapshots of every table."""

from __future__ import annotations

import functools
import io
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pyotp
from flask import Flask, template_rendered, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.test import TestResponse

from campaigns.accounts.disclosure import grant_hash
from campaigns.accounts.passwords import hash_password
from campaigns.accounts.totp import unseal_secret
from campaigns.cache import ProcessMemo
from campaigns.extensions import db
from campaigns.ledger.services import publish_ledger
from campaigns.models import (
    Campaign,
    CampaignDelivery,
    CampaignKind,
    CampaignResponse,
    CampaignStatus,
    CampaignThreshold,
    CampaignUpdate,
    DeliveryMethod,
    DisclosureKind,
    DisclosureRequest,
    DisclosureState,
    Invalidation,
    JobState,
    Kiosk,
    NetworkKind,
    Organization,
    PaperImport,
    SignatureSource,
    SignatureState,
    SourceCode,
    TrustedNetwork,
    User,
)
from campaigns.moderation.held import group_label
from campaigns.signing.codes import confirm_code, make_reference
from campaigns.signing.manage.links import make_manage_token
from campaigns.signing.tokens import make_confirm_token
from campaigns.updates.services import recipients_by_language
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.conftest import _empty_all_tables
from tests.factories import code_for, create_campaign, create_signature
from tests.media.support import give_image, phone_jpeg
from tests.moderation.support import PASSWORD, Console, make_console, signature
from tests.outcomes.support import make_pdf
from tests.paper.sheets_support import issue_sheet
from tests.signing.support import valid_form

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods every route answers by itself (Flask adds them): not routes of their own.
AUTOMATIC_METHODS = frozenset({"HEAD", "OPTIONS"})
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# -- The URL map


def route_methods(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every method of every rule of the map."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - AUTOMATIC_METHODS):
            found.append((rule.endpoint, rule.rule, method))
    return sorted(found)


def state_changing_routes(app: Flask) -> set[tuple[str, str]]:
    """(endpoint, method) of every rule that accepts a state-changing method."""
    return {(e, m) for e, _, m in route_methods(app) if m in MUTATING_METHODS}


def rule_arguments(app: Flask, endpoint: str) -> set[str]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return set(rule.arguments)


def url_takes_get(app: Flask, url: str) -> bool:
    """Whether some rule of the map answers a GET at this URL (a form page
    may share its address with the POST-only route it submits to)."""
    try:
        app.url_map.bind("localhost").match(urlsplit(url).path, method="GET")
    except MethodNotAllowed:
        return False
    return True


# -- A world with an object for every URL argument


@dataclass
class World:
    """The console's people and campaigns (``tests.moderation.support``), a
    pledge campaign of the same union, and one object for each URL argument."""

    console: Console
    pledge: Campaign
    confirm_token: str
    code_uuid: uuid.UUID
    unsubscribe_token: str
    manage_token: str
    accept_uuid: uuid.UUID
    reject_uuid: uuid.UUID
    update_id: int
    import_id: int
    invalidation_id: int
    # The organizer's requests to open personal data, by what a step does to them.
    disclosures: dict[str, int]
    static_file: str
    image_variant: str
    held_group: str
    network_id: int
    threshold_id: int
    response_id: str
    # A kiosk the organizer opened (its collector) on the world's campaign.
    kiosk_uuid: uuid.UUID
    # The partner's source code on the union's campaign (revoked by a step).
    source_code: str
    # A printed sheet of the campaign (number 1 of batch 1), issued to a collector.
    sheet_number: int
    sheet_batch: int

    @property
    def slug(self) -> str:
        return self.console.campaign.slug

    def url_values(self, app: Flask, endpoint: str, lang: str = "ar") -> dict[str, Any]:
        """A value for every argument of the endpoint's rule; an argument with
        no value here fails the test, so a new kind of route is never skipped."""
        defaults: dict[str, Any] = {
            "lang": lang,
            "slug": self.slug,
            "token": self.confirm_token,
            "signature_uuid": self.accept_uuid,
            "update_id": self.update_id,
            "import_id": self.import_id,
            "invalidation_id": self.invalidation_id,
            "disclosure_id": self.disclosures["approve"],
            "user_id": self.console.partner.id,
            "filename": self.static_file,
            "variant": self.image_variant,
            "kind": "network",
            "group": self.held_group,
            "network_id": self.network_id,
            "threshold_id": self.threshold_id,
            "public_id": self.response_id,
            "name": f"{'6' * 32}-720.webp",
            "kiosk_uuid": self.kiosk_uuid,
            "collector_id": self.console.organizer.id,
            "decision": "reject",
            "code": self.source_code,
            "number": self.sheet_number,
            "batch": self.sheet_batch,
        }
        per_endpoint: dict[str, dict[str, Any]] = {
            "updates.unsubscribe_page": {"token": self.unsubscribe_token},
            **{
                f"manage.{name}": {"token": self.manage_token}
                for name in ("manage_page", "choices", "name", "withdraw")
            },
            "console_moderation.reject": {"signature_uuid": self.reject_uuid},
            "console_admin.toggle_active": {"user_id": self.console.other_organizer.id},
            "console_disclosures.refuse": {"disclosure_id": self.disclosures["refuse"]},
            "console_disclosures.grant": {"disclosure_id": self.disclosures["grant"]},
            "console_disclosures.use": {"disclosure_id": self.disclosures["use"]},
        }
        values = {**defaults, **per_endpoint.get(endpoint, {})}
        unknown = rule_arguments(app, endpoint) - set(values)
        assert not unknown, f"{endpoint}: no value for URL arguments {unknown} in World.url_values"
        return {name: values[name] for name in rule_arguments(app, endpoint)}

    def url(self, app: Flask, endpoint: str, lang: str = "ar", **overrides: Any) -> str:
        values = {**self.url_values(app, endpoint, lang), **QUERIES.get(endpoint, {}), **overrides}
        with app.test_request_context():
            return url_for(endpoint, **values)


# Routes that answer only with their query: the ledger's proofs name heads
# (the world's first) and a position.
QUERIES: dict[str, dict[str, Any]] = {
    "api.ledger_consistency_json": {"first": 1, "second": 1},
    "api.ledger_inclusion_json": {"head": 1, "position": 0},
}


@functools.cache
def _password_hash(password: str) -> str:
    return hash_password(password)


@contextmanager
def one_password_hash() -> Iterator[None]:
    """Every account made here gets the same argon2 hash (they share one
    password): hashing is slow on purpose, and logging in still verifies it."""
    with mock.patch("campaigns.accounts.services.hash_password", _password_hash):
        yield


def make_world(app: Flask) -> World:
    """Everything the routes need, on an empty database. Two worlds made in
    the same app, one after the other (``reset_world`` between them), get
    the same ids."""
    with one_password_hash():
        console = make_console()
    union = console.campaign.organization
    pledge = create_campaign(
        "olive-pledge", kind=CampaignKind.pledge, organization=union, goal=5000
    )
    # Signers whose figures show on the results pages, and who receive updates.
    for n in range(6):
        create_signature(
            console.campaign,
            state=SignatureState.validated,
            email=f"validated{n}@example.org",
            contact_ok=True,
            show_name=True,
        )
    to_confirm = create_signature(
        console.campaign, state=SignatureState.pending, checked=True, email="confirm@example.org"
    )
    # Confirmed by the code in its email, typed on the thanks page.
    to_confirm_by_code = create_signature(
        console.campaign,
        state=SignatureState.pending,
        checked=True,
        email="code@example.org",
        source=SignatureSource.web,
    )
    # Its signer manages it: choices, name, then withdrawal (pending: no figure changes).
    to_manage = create_signature(
        console.campaign, state=SignatureState.pending, checked=True, email="manage@example.org"
    )
    to_unsubscribe = create_signature(
        console.campaign,
        state=SignatureState.validated,
        email="unsubscribe@example.org",
        contact_ok=True,
    )
    accept = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="rate_burst",
        email="accept@example.org",
    )
    reject = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="rate_burst",
        email="reject@example.org",
    )
    # In a burst of one email domain: what the queue's filter rejects at once.
    signature(
        console.campaign,
        state=SignatureState.pending,
        checked=True,
        flag_reason="trending_domain",
        email="burst@example.org",
    )
    # Signatures from one busy address, held for review as a group.
    held = [
        signature(
            console.campaign,
            state=SignatureState.held,
            hold_reason="rate_burst",
            email=f"held{n}@example.org",
            ip="198.51.100.77",
        )
        for n in range(2)
    ]
    network = TrustedNetwork(
        kind=NetworkKind.range,
        cidr="192.0.2.0/24",
        label="Union office",
        burst_limit=40,
        sustained_limit=400,
    )
    db.session.add(network)
    update = CampaignUpdate(
        campaign_id=console.campaign.id,
        texts={"ar": {"subject": "خبر", "body": "نص الخبر"}},
        created_by=console.organizer.id,
    )
    paper = PaperImport(campaign_id=console.campaign.id, filename="paper.csv", report=[])
    invalidation = Invalidation(
        campaign_id=console.campaign.id,
        conditions={"country": "TR"},
        reason="waiting",
        state=JobState.pending,
    )
    threshold = CampaignThreshold(
        campaign_id=console.campaign.id, count=1000, texts={"ar": "نسلّم العريضة في جنيف"}
    )
    response = CampaignResponse(
        public_id="5" * 32,
        campaign_id=console.campaign.id,
        responded_on=date(2026, 11, 1),
        texts={"ar": {"by": "البعثة", "text": "تلقينا العريضة"}},
        pdf=make_pdf(),
        pdf_size=len(make_pdf()),
    )
    # A delivery with its photo (served at /deliveries/<name>).
    delivery = CampaignDelivery(
        campaign_id=console.campaign.id,
        delivered_on=date(2026, 11, 2),
        method=DeliveryMethod.in_person,
        texts={"ar": {"recipient": "البعثة", "place": "جنيف"}},
        photo=b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        photo_name=f"{'6' * 32}-720.webp",
        photo_width=720,
        photo_height=480,
    )
    kiosk = Kiosk(
        uuid=uuid.UUID(int=0x5EED), campaign_id=console.campaign.id,
        collector_id=console.organizer.id, stand="سوق أعزاز",
    )  # fmt: skip
    source_code = SourceCode(
        campaign_id=console.campaign.id,
        organization_id=console.partner.organization_id,
        code=WORLD_SOURCE_CODE,
    )
    db.session.add_all(
        [update, paper, invalidation, threshold, response, delivery, kiosk, source_code]
    )
    disclosures = _disclosures(console)
    give_image(console.campaign)
    sheet = issue_sheet(console.campaign)[0]
    # The factories number names with a counter that runs across tests: make
    # them depend on the world alone, so that two worlds hold the same rows.
    for campaign in (console.campaign, console.other_campaign, pledge):
        for text in campaign.texts.values():
            text.title = f"{campaign.slug} ({text.locale})"
        campaign.organization.names = {"ar": campaign.organization.slug}
    partner_org = db.session.get(Organization, console.partner.organization_id)
    assert partner_org is not None
    partner_org.names = {"ar": partner_org.slug}
    db.session.commit()
    from campaigns.counting.services import update_signature_counts

    update_signature_counts()
    # The ledger's first head, so that its proofs have something to prove.
    publish_ledger()
    db.session.commit()
    static = Path(app.static_folder or "")
    return World(
        console=console,
        pledge=pledge,
        confirm_token=make_confirm_token(to_confirm.uuid),
        code_uuid=to_confirm_by_code.uuid,
        unsubscribe_token=make_unsubscribe_token(to_unsubscribe.uuid),
        manage_token=make_manage_token(to_manage.uuid),
        accept_uuid=accept.uuid,
        reject_uuid=reject.uuid,
        update_id=update.id,
        import_id=paper.id,
        invalidation_id=invalidation.id,
        disclosures=disclosures,
        static_file=str(next(static.glob("css/*.css")).relative_to(static)),
        image_variant=console.campaign.images[0].name,
        held_group=group_label(held[0].ip_hash),
        network_id=network.id,
        threshold_id=threshold.id,
        response_id=response.public_id,
        kiosk_uuid=kiosk.uuid,
        source_code=source_code.code,
        sheet_number=sheet.number,
        sheet_batch=sheet.batch,
    )


# The partner's code in the world (11 URL-safe characters, like a made one).
WORLD_SOURCE_CODE = "worldCode_1"
# The one-time grant of the world's collected request (only its hash is stored).
WORLD_GRANT = "world-grant-token-for-the-delivery-document"


def _disclosures(console: Console) -> dict[str, int]:
    """The organizer's requests for the delivery document: two waiting (to
    approve, to refuse), one approved (to collect its grant), one whose grant
    is collected (to use)."""
    found = {}
    for step, state in (
        ("approve", DisclosureState.requested),
        ("refuse", DisclosureState.requested),
        ("grant", DisclosureState.approved),
        ("use", DisclosureState.approved),
    ):
        item = DisclosureRequest(
            kind=DisclosureKind.delivery_names,
            campaign_id=console.campaign.id,
            requester_id=console.organizer.id,
            reason=f"the delivery ({step})",
            state=state,
            created_at=datetime.now(UTC),
        )
        if state is DisclosureState.approved:
            item.decided_by_id = console.admin.id
            item.decided_at = datetime.now(UTC)
        if step == "use":
            item.grant_hash = grant_hash(WORLD_GRANT)
            item.grant_expires_at = datetime.now(UTC) + timedelta(hours=1)
        db.session.add(item)
        db.session.flush()
        found[step] = item.id
    return found


@contextmanager
def quick_delivery_document() -> Iterator[None]:
    """The delivery route as it is, but for WeasyPrint's layout of the PDF
    (seconds of font subsetting, tested in tests/exports/test_delivery.py):
    what the route decides and records stays the same."""
    with mock.patch("campaigns.console.exports.delivery_pdf", lambda document: b"%PDF-1.7\n"):
        yield


def reset_world(app: Flask) -> None:
    """Empty every table and forget what the process memo holds, as between tests."""
    db.session.rollback()
    _empty_all_tables()
    app.extensions["zaytoun_memo"] = ProcessMemo()


# -- Clients


def csrf_token(client: FlaskClient, base_url: str = "http://localhost") -> str:
    """The CSRF token of this client's session, read from a form page as a
    browser would ("" when protection is off and forms carry none)."""
    page = client.get("/console/login", base_url=base_url)
    found = CSRF_FIELD.search(page.get_data(as_text=True))
    return found.group(1) if found else ""


def log_in(
    client: FlaskClient, email: str, code: str = "", base_url: str = "http://localhost"
) -> None:
    """Log in through the login form (over ``base_url``'s scheme)."""
    token = csrf_token(client, base_url)
    data = {"email": email, "password": PASSWORD, "code": code, "csrf_token": token}
    response = client.post("/console/login", data=data, base_url=base_url)
    assert response.status_code == 303, (email, response.status_code)


def logged_in_user(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        value = session.get("_user_id")
    return str(value) if value else None


# Who posts each step: the role that may use the route. "signer" and
# "newcomer" are anonymous visitors.
ACTORS = ("signer", "newcomer", "organizer", "admin")


def actor_clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    clients = {actor: app.test_client() for actor in ACTORS}
    log_in(clients["organizer"], world.console.organizer.email, code_for(world.console.organizer))
    log_in(clients["admin"], world.console.admin.email, code_for(world.console.admin))
    return clients


# -- Every state-changing route, with a valid submission

FormBuilder = Callable[[World, FlaskClient], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    """A valid submission to one state-changing route, by the role that may use it.

    ``fields`` are the route's own field names (never sent as extra fields);
    ``changes_rows`` False would check that a valid post changes the session
    instead of the database (no route is such since logout ends the session
    on the server too)."""

    name: str
    endpoint: str
    actor: str
    form: FormBuilder
    fields: frozenset[str] = frozenset()
    method: str = "POST"
    url_overrides: Callable[[World], dict[str, Any]] | None = None
    multipart: bool = False
    changes_rows: bool = True
    # A POST that only reads (a receipt checked: posted so that it never sits
    # in a URL): guarded like the others, changing nothing when it goes through.
    reads_only: bool = False
    # A JSON body (the kiosk's queue), its CSRF token in the X-CSRFToken header.
    json: bool = False

    def url(self, app: Flask, world: World) -> str:
        overrides = self.url_overrides(world) if self.url_overrides else {}
        return world.url(app, self.endpoint, **overrides)


def _nothing(world: World, client: FlaskClient) -> dict[str, Any]:
    return {}


def _campaign_form(slug: str, title: str, partners: list[int]) -> dict[str, Any]:
    return {
        "slug": slug,
        "kind": "petition",
        "goal": "2500",
        "unit": "signatures",
        "title_ar": title,
        "summary_ar": "ملخص الحملة",
        "body_ar": "نص الحملة",
        "title_en": "An olive campaign",
        "summary_en": "Summary",
        "body_en": "Body",
        "image_alt_ar": "أشجار زيتون على تلة",
        "image_alt_en": "Olive trees on a hill",
        "partners": [str(p) for p in partners],
    }


CAMPAIGN_FIELDS = frozenset(
    {"slug", "kind", "goal", "unit", "max_amount_per_signer", "partners"}
    | {"opens_on", "opens_time", "closes_on", "closes_time"}
    | {"image", "remove_image"}
    | {
        f"{name}_{lang}"
        for name in ("title", "summary", "body", "unit_label", "image_alt", "target")
        for lang in ("ar", "en", "ku", "tr")
    }
)
THRESHOLD_FIELDS = frozenset(
    {"count"} | {f"commitment_{lang}" for lang in ("ar", "en", "ku", "tr")}
)
RESPONSE_FIELDS = frozenset(
    {"day", "pdf"}
    | {f"{name}_{lang}" for name in ("by", "text") for lang in ("ar", "en", "ku", "tr")}
)
DELIVERY_FIELDS = frozenset(
    {"day", "method", "document", "chain_head", "ledger_head", "photo"}
    | {f"{name}_{lang}" for name in ("recipient", "place") for lang in ("ar", "en", "ku", "tr")}
)
SIGN_FIELDS = frozenset(
    {
        "full_name",
        "email",
        "phone",
        "country",
        "region",
        "amount",
        "show_name",
        "deliver_name",
        "contact_ok",
        "website",
        "src",
    }
)
# A confirmed action's own fields (console/confirm.py): the figure is the one
# its confirmation page shows now.
CONFIRM_FIELDS = frozenset({"confirm", "figure"})


def _update_recipients(world: World) -> int:
    return sum(recipients_by_language(world.console.campaign).values())


def _open_campaigns() -> int:
    return len(
        db.session.execute(select(Campaign.id).where(Campaign.status == CampaignStatus.open)).all()
    )


UPDATE_FIELDS = frozenset(
    {f"{name}_{lang}" for name in ("subject", "body") for lang in ("ar", "en", "ku", "tr")}
)
INVALIDATION_FIELDS = frozenset(
    {
        "campaign",
        "since",
        "until",
        "email_domain",
        "email_domain_hash",
        "ip_hash",
        "country",
        "name_pattern",
        "reason",
        "action",
    }
)


def _edit_form(world: World, client: FlaskClient) -> dict[str, Any]:
    return _campaign_form(world.slug, "عنوان جديد للحملة", [world.console.partner.organization_id])


def _create_form(world: World, client: FlaskClient) -> dict[str, Any]:
    return _campaign_form("new-olive-campaign", "حملة جديدة", [])


def _image_form(world: World, client: FlaskClient) -> dict[str, Any]:
    """The edit form with another picture than the world's."""
    form = _edit_form(world, client)
    form["image"] = (io.BytesIO(phone_jpeg(640, 480)), "olives.jpg")
    return form


def _remove_image_form(world: World, client: FlaskClient) -> dict[str, Any]:
    return {**_edit_form(world, client), "remove_image": "y"}


def _update_form(subject: str) -> FormBuilder:
    def build(world: World, client: FlaskClient) -> dict[str, Any]:
        return {
            "subject_ar": subject,
            "body_ar": "نص الخبر للموقعين",
            "subject_en": "",
            "body_en": "",
        }

    return build


def _paper_form(world: World, client: FlaskClient) -> dict[str, Any]:
    rows = [
        "full_name,email,phone,country,region,amount,show_name,contact_ok",
        "سعاد الحلبية,paper.one@example.org,,SY,حلب,,yes,no",
        "Yusuf Demir,paper.two@example.org,,TR,Gaziantep,,no,no",
    ]
    data = ("\ufeff" + "\r\n".join(rows) + "\r\n").encode()
    return {"file": (io.BytesIO(data), "paper.csv")}


KIOSK_FIELDS = frozenset(
    {"full_name", "phone", "country", "region", "amount", "show_name", "deliver_name", "entry_key"}
)


def _kiosk_person(name: str) -> dict[str, str]:
    return {"full_name": name, "phone": "0944 123 456", "country": "SY", "region": "أعزاز"}


def _code_form(world: World, client: FlaskClient) -> dict[str, Any]:
    """The code of the world's signature, typed in the browser that signed it
    (which holds its reference)."""
    client.set_cookie(f"code-{world.slug}", make_reference(world.code_uuid))
    return {"code": confirm_code(world.code_uuid)}


def _totp_form(world: World, client: FlaskClient) -> dict[str, Any]:
    # The key to scan waits sealed on the account (shown by the step before);
    # replacing an enrolled factor takes the password and a current code.
    organizer = world.console.organizer
    db.session.commit()
    pending = db.session.execute(
        select(User.totp_pending).where(User.id == organizer.id)
    ).scalar_one()
    secret = unseal_secret(pending)
    return {
        "password": PASSWORD,
        "current_code": code_for(organizer),
        "code": pyotp.TOTP(secret).now() if secret else "000000",
    }


# In this order each valid post still changes something: signing before the
# campaign is paused, closed or the site-wide switch is on, editing an update
# before it is sent, showing a key to scan before replacing the second factor.
STEPS: tuple[Step, ...] = (
    Step(
        "sign the petition",
        "signing.sign",
        "signer",
        lambda w, c: valid_form(email="petition.signer@example.org", amount=None),
        SIGN_FIELDS,
    ),
    Step(
        "pledge",
        "signing.sign",
        "signer",
        lambda w, c: valid_form(email="pledger@example.org", amount="4"),
        SIGN_FIELDS,
        url_overrides=lambda w: {"slug": w.pledge.slug},
    ),
    Step("confirm", "signing.confirm", "signer", _nothing),
    Step(
        "check a receipt in the ledger",
        "ledger.check_receipt",
        "signer",
        lambda w, c: {"receipt": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567"},
        frozenset({"receipt"}),
        reads_only=True,
    ),
    Step(
        "confirm by code",
        "signing.confirm_code",
        "signer",
        _code_form,
        frozenset({"code"}),
    ),
    Step("unsubscribe", "updates.unsubscribe_page", "signer", _nothing),
    # A signer's own signature: the link asked for (an address that signed),
    # then the choices and the name changed, then the signature withdrawn.
    Step(
        "ask for the manage link",
        "manage.request_link",
        "signer",
        lambda w, c: {"email": "validated0@example.org"},
        frozenset({"email"}),
    ),
    Step(
        "change the public choices",
        "manage.choices",
        "signer",
        lambda w, c: {"show_name": "y", "deliver_name": "y"},
        frozenset({"show_name", "deliver_name"}),
    ),
    Step(
        "correct the name",
        "manage.name",
        "signer",
        lambda w, c: {"full_name": "رامي الحلبي المصحح"},
        frozenset({"full_name"}),
    ),
    Step("withdraw a signature", "manage.withdraw", "signer", _nothing),
    # At a stand, before the campaign is paused: a kiosk opened, a person
    # signed without JavaScript, two from the device's queue, then the
    # stand's and the collector's signatures invalidated and the kiosk closed.
    Step(
        "open a kiosk",
        "console_kiosk.open_stand",
        "organizer",
        lambda w, c: {"stand": "ساحة الجامع"},
        frozenset({"stand"}),
    ),
    Step(
        "sign at a kiosk",
        "console_kiosk.sign",
        "organizer",
        lambda w, c: {**_kiosk_person("سعاد الحلبية"), "entry_key": str(uuid.uuid4())},
        KIOSK_FIELDS,
    ),
    Step(
        "send a kiosk's queue",
        "console_kiosk.entries",
        "organizer",
        lambda w, c: {
            "entries": [
                {"key": str(uuid.uuid4()), "fields": _kiosk_person(name)}
                for name in ("رامي الحلبي", "Yusuf Demir")
            ]
        },
        frozenset({"entries"}),
        json=True,
    ),
    Step(
        "invalidate a stand",
        "console_kiosk.invalidate_stand",
        "organizer",
        lambda w, c: {"reason": "a test invalidation"},
        frozenset({"reason"}),
    ),
    Step(
        "invalidate a collector's signatures",
        "console_kiosk.invalidate_collector",
        "organizer",
        lambda w, c: {"reason": "a test invalidation"},
        frozenset({"reason"}),
    ),
    Step("close a kiosk", "console_kiosk.close", "organizer", _nothing),
    Step("edit a campaign", "console_campaigns.edit", "organizer", _edit_form, CAMPAIGN_FIELDS),
    Step(
        "replace a campaign's image",
        "console_campaigns.edit",
        "organizer",
        _image_form,
        CAMPAIGN_FIELDS,
        multipart=True,
    ),
    Step(
        "remove a campaign's image",
        "console_campaigns.edit",
        "organizer",
        _remove_image_form,
        CAMPAIGN_FIELDS,
    ),
    Step(
        "create a campaign", "console_campaigns.create", "organizer", _create_form, CAMPAIGN_FIELDS
    ),
    Step(
        "pause a campaign",
        "console_campaigns.toggle_pause",
        "organizer",
        lambda w, c: {"paused": "1"},
        frozenset({"paused"}),
    ),
    Step(
        "write an update",
        "console_updates.create",
        "organizer",
        _update_form("خبر جديد"),
        UPDATE_FIELDS,
    ),
    Step(
        "edit an update",
        "console_updates.edit",
        "organizer",
        _update_form("خبر معدل"),
        UPDATE_FIELDS,
    ),
    Step(
        "send an update",
        "console_updates.send",
        "organizer",
        lambda w, c: {"confirm": "1", "figure": str(_update_recipients(w))},
        CONFIRM_FIELDS,
    ),
    Step(
        "import paper signatures",
        "console_paper.upload",
        "organizer",
        _paper_form,
        frozenset({"file"}),
        multipart=True,
    ),
    Step(
        "issue collection sheets",
        "console_sheets.issue",
        "organizer",
        lambda w, c: {
            "count": "2",
            "language": "ar",
            "collector_name": "نور حسن",
            "collector_phone": "+963 944 123 456",
        },
        frozenset({"count", "language", "collector_name", "collector_phone"}),
    ),
    Step("show a sheet's collector", "console_sheets.collector", "organizer", _nothing),
    Step("mark a sheet returned", "console_sheets.returned", "organizer", _nothing),
    Step(
        "accept a signature",
        "console_moderation.accept",
        "organizer",
        _nothing,
        frozenset({"back"}),
    ),
    Step(
        "reject a signature",
        "console_moderation.reject",
        "organizer",
        _nothing,
        frozenset({"back"}),
    ),
    Step(
        "run an invalidation",
        "console_moderation.new_invalidation",
        "organizer",
        lambda w, c: {
            "campaign": w.slug,
            # An organizer's condition (a domain is for admins): nobody signs from there.
            "country": "AQ",
            "reason": "a test invalidation",
            "action": "run",
            "confirm": "1",
            "figure": "0",
        },
        INVALIDATION_FIELDS | CONFIRM_FIELDS,
    ),
    Step("cancel an invalidation", "console_moderation.cancel", "organizer", _nothing),
    Step(
        "release a held group",
        "console_moderation.held",
        "organizer",
        lambda w, c: {"decision": "release", "count": "2", "confirmed": "y"},
        frozenset({"decision", "count", "confirmed"}),
    ),
    Step(
        "reject every signature a filter shows",
        "console_moderation.bulk",
        "organizer",
        lambda w, c: {"show": "flagged", "reason": "trending_domain", "count": "1"},
        frozenset({"show", "reason", "count"}),
    ),
    Step(
        "make the delivery document",
        "console_exports.delivery",
        "organizer",
        lambda w, c: {"lang": "ar"},
        frozenset({"lang", "english"}),
    ),
    Step(
        "add a commitment",
        "console_outcomes.create_threshold",
        "organizer",
        lambda w, c: {"count": "5000", "commitment_ar": "نسلّم العريضة في نيويورك"},
        THRESHOLD_FIELDS,
    ),
    Step(
        "remove a commitment",
        "console_outcomes.delete_threshold",
        "organizer",
        lambda w, c: {"count": "1000"},
        frozenset({"count"}),
    ),
    Step(
        "publish a response",
        "console_outcomes.create_response",
        "organizer",
        lambda w, c: {
            "day": "2026-11-20",
            "by_ar": "المفوضية",
            "text_ar": "تلقينا عريضتكم",
            "pdf": (io.BytesIO(make_pdf()), "letter.pdf"),
        },
        RESPONSE_FIELDS,
        multipart=True,
    ),
    Step(
        "record a delivery",
        "console_outcomes.create_delivery",
        "organizer",
        lambda w, c: {
            "day": "2026-11-18",
            "method": "post",
            "recipient_ar": "البعثة الدائمة",
            "place_ar": "جنيف",
            "chain_head": "ab" * 32,
            "ledger_head": "",
            "photo": (io.BytesIO(phone_jpeg(640, 480)), "delivery.jpg"),
        },
        DELIVERY_FIELDS,
        multipart=True,
    ),
    Step(
        "add a source code",
        "console_reach.add",
        "organizer",
        lambda w, c: {
            "organization": str(w.console.partner.organization_id),
            "label": "Telegram",
        },
        frozenset({"organization", "label"}),
    ),
    Step("revoke a source code", "console_reach.revoke", "organizer", _nothing),
    Step("export signatures", "console_exports.signatures", "admin", _nothing),
    Step(
        "ask to open personal data",
        "console_disclosures.new",
        "organizer",
        lambda w, c: {
            "kind": "delivery_names",
            "campaign": w.slug,
            "reason": "the delivery to the council",
        },
        frozenset({"kind", "campaign", "reason"}),
    ),
    Step("approve a request", "console_disclosures.approve", "admin", _nothing),
    Step("refuse a request", "console_disclosures.refuse", "admin", _nothing),
    Step("collect a one-time grant", "console_disclosures.grant", "organizer", _nothing),
    Step(
        "use a one-time grant",
        "console_disclosures.use",
        "organizer",
        lambda w, c: {"token": WORLD_GRANT, "lang": "ar"},
        frozenset({"token", "lang", "english"}),
    ),
    Step(
        "declare a trusted network",
        "console_networks.index",
        "admin",
        lambda w, c: {
            "cidr": "2001:db8:7::/48",
            "label": "Camp",
            "burst_limit": "60",
            "sustained_limit": "600",
        },
        frozenset({"cidr", "label", "burst_limit", "sustained_limit"}),
    ),
    Step(
        "import the Tor exit list",
        "console_networks.tor",
        "admin",
        lambda w, c: {"file": (io.BytesIO(b"# exits\n203.0.113.9\n2001:db8::9\n"), "tor.txt")},
        frozenset({"file"}),
        multipart=True,
    ),
    Step("remove a trusted network", "console_networks.remove", "admin", _nothing),
    Step(
        "create a user",
        "console_admin.users",
        "admin",
        lambda w, c: {
            "email": "new.organizer@example.org",
            "name": "New organizer",
            "password": "a-long-enough-password",
            "role": "organizer",
            "organization": str(w.console.campaign.organization_id),
        },
        frozenset({"email", "name", "password", "role", "organization"}),
    ),
    Step(
        "change a role",
        "console_admin.change_role",
        "admin",
        lambda w, c: {"role": "organizer"},
        frozenset({"role"}),
    ),
    Step(
        "disable a user",
        "console_admin.toggle_active",
        "admin",
        lambda w, c: {"active": "0"},
        frozenset({"active"}),
    ),
    Step(
        "choose a time zone",
        "console_auth.account",
        "admin",
        lambda w, c: {"time_zone": "Europe/Istanbul"},
        frozenset({"time_zone"}),
    ),
    Step(
        "pause signing site-wide",
        "console_admin.settings",
        "admin",
        lambda w, c: {"signing_paused": "1", "confirm": "1", "figure": str(_open_campaigns())},
        frozenset({"signing_paused"}) | CONFIRM_FIELDS,
    ),
    Step(
        "close a campaign",
        "console_campaigns.change_status",
        "organizer",
        lambda w, c: {"status": "closed", "confirm": "1"},
        frozenset({"status"}) | CONFIRM_FIELDS,
    ),
    # As the partner: a partner needs no second factor, and the organizer's
    # codes are kept for replacing theirs below (each code is taken once).
    Step(
        "log in",
        "console_auth.login",
        "newcomer",
        lambda w, c: {"email": w.console.partner.email, "password": PASSWORD, "code": ""},
        frozenset({"email", "password", "code"}),
    ),
    Step(
        "show a key to scan",
        "console_auth.totp_setup",
        "organizer",
        lambda w, c: {"start": "1"},
        frozenset({"start"}),
    ),
    Step(
        "replace the second factor",
        "console_auth.totp_setup",
        "organizer",
        _totp_form,
        frozenset({"code", "password", "current_code"}),
    ),
    # Last: the organizer's session ends here, on the server too.
    Step("log out", "console_auth.logout", "organizer", _nothing),
)


def steps_by_route() -> dict[tuple[str, str], list[Step]]:
    found: dict[tuple[str, str], list[Step]] = {}
    for step in STEPS:
        found.setdefault((step.endpoint, step.method), []).append(step)
    return found


def submit(
    app: Flask,
    world: World,
    client: FlaskClient,
    step: Step,
    *,
    token: str | None,
    extra: dict[str, str] | None = None,
) -> TestResponse:
    """Post the step's valid form (plus ``extra`` fields, in the body and the
    query string); ``token`` None sends no CSRF token at all."""
    data = step.form(world, client)
    url = step.url(app, world)
    if step.json:
        return client.open(
            url,
            method=step.method,
            json={**data, **(extra or {})},
            query_string=extra,
            headers={"X-CSRFToken": token} if token is not None else {},
        )
    if token is not None:
        data["csrf_token"] = token
    query = None
    if extra:
        data.update(extra)
        query = extra
    return client.open(
        url,
        method=step.method,
        data=data,
        query_string=query,
        content_type="multipart/form-data" if step.multipart else None,
    )


# -- What a request left behind


@contextmanager
def rendered_templates(app: Flask) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The (template name, context) of every template rendered meanwhile."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        seen.append((str(template.name), dict(context)))

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def refused_for_csrf(seen: list[tuple[str, dict[str, Any]]]) -> bool:
    """Whether the CSRF error page was what answered."""
    return any(name == "site/error.html" and ctx.get("kind") == "csrf" for name, ctx in seen)


Snapshot = dict[str, Counter[tuple[Any, ...]]]


def exact(table: str, column: str, value: Any) -> Any:
    """The value itself, made hashable (JSON documents as sorted text)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def snapshot(normalize: Callable[[str, str, Any], Any] = exact) -> Snapshot:
    """Every row of every table, each value passed through ``normalize``."""
    db.session.rollback()
    db.session.expire_all()
    tables: Snapshot = {}
    for table in db.metadata.sorted_tables:
        names = [c.name for c in table.columns]
        rows: Counter[tuple[Any, ...]] = Counter()
        for row in db.session.execute(select(table)).all():
            values = zip(names, row, strict=True)
            rows[tuple(normalize(table.name, n, v) for n, v in values)] += 1
        tables[table.name] = rows
    db.session.rollback()
    return tables


@dataclass
class Diff:
    """Rows a request added and removed, per table."""

    added: dict[str, Counter[tuple[Any, ...]]] = field(default_factory=dict)
    removed: dict[str, Counter[tuple[Any, ...]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        lines = []
        for table in sorted(set(self.added) | set(self.removed)):
            for row in self.removed.get(table, {}):
                lines.append(f"  - {table}: {row}")
            for row in self.added.get(table, {}):
                lines.append(f"  + {table}: {row}")
        return "\n".join(lines)


def diff(before: Snapshot, after: Snapshot) -> Diff:
    result = Diff()
    for table in after:
        added = after[table] - before.get(table, Counter())
        removed = before.get(table, Counter()) - after[table]
        if added:
            result.added[table] = added
        if removed:
            result.removed[table] = removed
    return result


def row_counts(tables: Snapshot) -> dict[str, int]:
    return {name: sum(rows.values()) for name, rows in tables.items()}


# Values that differ between two identical runs: when things happened, random
# identifiers, ciphertexts with random nonces, salted password hashes.
RECENT = timedelta(days=1)
RECENT_STEPS = 10  # of 30 seconds: the TOTP steps used around now
# (and the hash of a one-time grant, random each time; a sheet's sealed
# collector).
SEALED = frozenset({"personal_data", "totp_secret", "totp_pending", "grant_hash", "collector_data"})
# Drawn at random on each run: receipt codes' hashes and what the ledger
# computes from them, and the seed of a sheet's printed receipts.
RANDOM = frozenset(
    {"receipt_hash", "leaf_hash", "root_hash", "frontier", "signature", "receipt_seed"}
)
# Random text made on each run: the code of a sheet's QR link.
RANDOM_TEXT = frozenset({("paper_sheets", "code")})
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def comparable(table: str, column: str, value: Any) -> Any:
    """A value that two identical runs share: times that are "now" become
    ``<recent>`` (an injected old date would stay visible), uuids ``<uuid>``,
    sealed personal data and secrets ``<sealed>``, password hashes ``<hash>``,
    source codes made at random ``<random code>``."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return "<recent>" if abs(datetime.now(UTC) - moment) < RECENT else moment.isoformat()
    if isinstance(value, uuid.UUID):
        return "<uuid>"
    if table == "source_codes" and column == "code" and value != WORLD_SOURCE_CODE:
        return "<random code>"  # made at random for each run
    if isinstance(value, bytes | memoryview) and column in SEALED:
        return "<sealed>"
    if isinstance(value, bytes | memoryview) and column in RANDOM:
        return "<random>"
    if (table, column) in RANDOM_TEXT:
        return "<random>"
    if column == "totp_last_step" and isinstance(value, int):
        return "<recent step>" if abs(value - time.time() // 30) <= RECENT_STEPS else value
    if isinstance(value, memoryview):
        return bytes(value).hex()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        if value.startswith("$argon2"):
            return "<hash>"
        return _UUID.sub("<uuid>", value)
    if isinstance(value, dict | list):
        return repr(_comparable_json(value))
    return value


def _comparable_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _comparable_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_comparable_json(v) for v in value]
    if isinstance(value, str):
        return _UUID.sub("<uuid>", value)
    return value
