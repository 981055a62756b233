"""Nothing leaked: signers whose every field is a unique canary sign a petition
and a pledge on the production stack (gunicorn with deploy/gunicorn.conf.py,
a Celery worker and beat, PostgreSQL, Redis, SMTP), get their emails and
confirm. Everything is recorded while it happens; then each canary is looked
for, in every spelling, everywhere: every column of every table (a direct scan
and pg_dump), Redis (the keyspace and every command MONITOR saw, task message
bodies decoded), the processes' logs, the emails, what a partner sees and the
public pages and API. Only the ciphertext may hold a name, email, phone or
typed region (sealed together; only the matched region code is in clear).

One more canary changes their mind: asks for the link on the campaign's
manage page, opens it from the email and withdraws. Nothing of them is left
anywhere, not even a ciphertext, and no link (confirm or manage) of anyone
is in the database, Redis or the logs.

Then the campaigns close and the retention job erases them: the canaries, the
ciphertexts, fingerprints, client-address and email-domain hashes are gone
from everywhere, and every figure is unchanged."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import parseaddr
from typing import Any

import pyotp
import pypdfium2
import pytest
from celery import Celery
from sqlalchemy import func, select

from campaigns.accounts.services import create_user
from campaigns.accounts.totp import seal_secret
from campaigns.extensions import db
from campaigns.jobs import PERIODIC_QUEUE
from campaigns.ledger.services import publish_ledger
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignCount,
    CampaignImage,
    CampaignKind,
    CampaignStatus,
    CountryCount,
    DailyCount,
    DeliveryMethod,
    DisclosureRequest,
    Kiosk,
    NetworkKind,
    Organization,
    RegionCount,
    Role,
    Signature,
    TrustedNetwork,
    User,
)
from campaigns.models.types import utcnow
from campaigns.outcomes.services import add_threshold, publish_response, record_delivery
from campaigns.privacy.crypto import hash_email_domain, hash_ip
from campaigns.privacy.personal import open_personal_data
from campaigns.reach.codes import ensure_partner_codes
from campaigns.retention.services import retention_days
from campaigns.signing.services import email_fingerprint
from tests.factories import create_campaign
from tests.media.support import give_image
from tests.outcomes.support import make_pdf

from .leak_support import (
    EMAIL_TIMEOUT,
    Canary,
    Client,
    Hit,
    Needle,
    Stack,
    byte_needles,
    confirm_code_in_mail,
    confirm_link,
    database_rows,
    elapsed,
    keyspace_records,
    log_records,
    mail_text,
    monitor_records,
    needles_for,
    pg_dump,
    production_stack,
    search,
    submit,
    task_messages,
    unwrap,
    wait_for,
)

pytestmark = pytest.mark.integration

# Signers per campaign: a handful in `make test`, more behind `make chaos`.
SHORT = 2
LONG = 60
SIZES = [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)]

PARTNER_ORG = "kurdish-independents-league"
UNION_ORG = "aleppo-revolutionaries-union"
PARTNER_PASSWORD = "partner-password-" + secrets.token_hex(4)
COUNT_TIMEOUT = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # NETWORKS_CACHE_SECONDS=0: the trusted network each journey declares is
    # matched from its first signature on (in production within 10 s).
    with production_stack(
        tmp_path_factory.mktemp("canaries"), TRUSTED_PROXIES="1", NETWORKS_CACHE_SECONDS="0"
    ) as running:
        yield running


@dataclass
class Journey:
    size: int
    slugs: list[str]
    canaries: list[Canary]
    rejected: Canary
    lang: dict[int, str] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)
    # The code references of the signers who confirmed by code (signing/codes.py).
    references: dict[int, str] = field(default_factory=dict)
    ciphertexts: dict[int, bytes] = field(default_factory=dict)
    partner_email: str = ""
    # The partner's source code per campaign: signers come through its links.
    source_codes: dict[str, str] = field(default_factory=dict)
    withdrawer: Canary | None = None
    # Signed in person at a kiosk (no email), and the ciphertext it is sealed in.
    kiosk_signer: Canary | None = None
    kiosk_ciphertext: bytes = b""
    manage_links: list[str] = field(default_factory=list)
    # The public URL of the petition's response letter (a PDF).
    response_pdf: str = ""
    requests: int = 0
    seconds: float = 0.0

    def slug(self, i: int) -> str:
        return self.slugs[i % 2]


def _campaigns_with_partner(stack: Stack, tag: str) -> tuple[list[str], str, dict[str, str]]:
    with stack.app.app_context():
        partner = db.session.execute(
            select(Organization).where(Organization.slug == PARTNER_ORG)
        ).scalar_one()
        slugs = [
            create_campaign(
                slug=f"canary-petition-{tag}", partners=[partner], goal=1000
            ).slug,
            # Sensitive: its low-trace emails and its "Leave quickly" page go
            # through the same search.
            create_campaign(
                slug=f"canary-pledge-{tag}", kind=CampaignKind.pledge, partners=[partner],
                sensitive=True,
            ).slug,
        ]
        # The petition shows an image: its variants are public answers too.
        petition = select(Campaign).where(Campaign.slug == slugs[0])
        give_image(db.session.execute(petition).scalar_one())
        email = f"partner-{tag}@partners.zaytoun.test"
        create_user(email, "Partner Viewer", PARTNER_PASSWORD, Role.partner, partner)
        codes = {}
        for slug in slugs:
            query = select(Campaign).where(Campaign.slug == slug)
            (code,) = ensure_partner_codes(db.session.execute(query).scalar_one())
            codes[slug] = code.code
        db.session.commit()
        db.session.remove()
    return slugs, email, codes


def _sign(stack: Stack, journey: Journey, i: int, canary: Canary, expect: int = 303) -> Client:
    lang = journey.lang[i]
    slug = journey.slug(i)
    client = Client(stack, forwarded_for=canary.forwarded_for)
    # Every other signer comes through the partner's share link: its code
    # rides in the form's hidden field.
    src = journey.source_codes.get(slug) if i % 2 == 0 else None
    page = client.get(f"{stack.url}/{lang}/campaigns/{slug}" + (f"?src={src}" if src else ""))
    assert page.status == 200, page.text
    (form,) = [f for f in page.forms() if f.action.endswith(f"/{lang}/campaigns/{slug}/sign")]
    assert form.fields.get("src", "") == (src or "")
    fields = {**canary.form(), "src": form.fields.get("src", "")}
    answer = submit(client, page, f"/{lang}/campaigns/{slug}/sign", fields)
    assert answer.status == expect, (answer.status, answer.text[:2000])
    journey.requests += 2
    return client


def _count(stack: Stack, slug: str) -> dict[str, Any]:
    answer = Client(stack).get(f"{stack.url}/api/v1/campaigns/{slug}/count")
    assert answer.status == 200, answer.text
    data: dict[str, Any] = json.loads(answer.body)
    return data


MANAGE_LINK = re.compile(r"https?://[^\s<>\"]+/manage/[A-Za-z0-9._-]+")
WITHDRAWER = -2  # the withdrawer's index in Journey.lang and Journey.links


def _withdraw(stack: Stack, journey: Journey, net: int) -> None:
    """A canary signs the petition, confirms, asks for the manage link on the
    campaign's page, opens it from the email and withdraws."""
    canary = Canary.make(WITHDRAWER, "SY", f"127.{net}.8.8", False)
    canary.derive()
    journey.withdrawer = canary
    journey.lang[WITHDRAWER] = "en"
    _sign(stack, journey, WITHDRAWER, canary)
    address = canary.derived["display_email"]
    link = confirm_link(stack, address, "en")
    journey.links[WITHDRAWER] = link
    client = Client(stack, forwarded_for=canary.forwarded_for)
    landing = client.get(link)
    assert submit(client, landing, link.split(stack.url)[1], {}).status == 303
    slug = journey.slug(WITHDRAWER)
    page = client.get(f"{stack.url}/en/campaigns/{slug}/manage")
    assert page.status == 200, page.text
    asked = submit(client, page, f"/en/campaigns/{slug}/manage", {"email": canary.email})
    assert asked.status == 200, asked.text[:2000]
    # The confirmation email holds a manage link too; the second is the one asked for.
    messages = stack.mailbox.wait_for_messages_to(address, 2, EMAIL_TIMEOUT, stack.log_tail)
    for message in messages:
        plain = message.get_body(("plain",))
        assert plain is not None
        journey.manage_links += MANAGE_LINK.findall(plain.get_content())
    assert len(journey.manage_links) == 2, journey.manage_links
    manage = journey.manage_links[-1]
    assert client.get(manage).status == 200
    confirm_page = client.get(f"{manage}/withdraw")
    assert confirm_page.status == 200
    done = submit(client, confirm_page, "/withdraw", {})
    assert done.status == 303, done.text[:2000]
    journey.requests += 8


def _sign_at_a_stand(stack: Stack, journey: Journey, tag: str) -> None:
    """An admin opens a kiosk on the petition and a canary signs there,
    without JavaScript and without an email; the tap is sent twice."""
    email, secret = _admin(stack, tag, 9)
    client = _console_client(stack, email, secret)
    with stack.app.app_context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == journey.slugs[0])
        ).scalar_one()
        collector = db.session.execute(select(User).where(User.email == email)).scalar_one()
        kiosk = Kiosk(campaign_id=campaign.id, collector_id=collector.id, stand=f"stand-{tag}")
        db.session.add(kiosk)
        db.session.commit()
        kiosk_id, kiosk_uuid = kiosk.id, kiosk.uuid
        db.session.remove()
    canary = Canary.make(-3, "SY", "127.0.0.1", False)
    canary.derive()
    path = f"/console/kiosks/{kiosk_uuid}"
    page = client.get(stack.url + path)
    assert page.status == 200, page.text[:2000]
    (form,) = [f for f in page.forms() if f.action.endswith(path)]
    fields = {
        "full_name": canary.full_name,
        "phone": canary.phone,
        "country": canary.country,
        "region": canary.region,
        "entry_key": form.fields["entry_key"],
    }
    for _ in range(2):
        answer = submit(client, page, path, fields)
        assert answer.status == 303, answer.text[:2000]
    with stack.app.app_context():
        (ciphertext,) = db.session.execute(
            select(Signature.personal_data).where(Signature.kiosk_id == kiosk_id)
        ).scalars()
        db.session.remove()
    assert ciphertext is not None
    journey.kiosk_signer, journey.kiosk_ciphertext = canary, ciphertext
    journey.requests += 5


def kiosk_needles(journey: Journey) -> list[Needle]:
    """The kiosk's signer: name, phone and region (they gave no email, and
    the address is the collector's device's)."""
    assert journey.kiosk_signer is not None
    values = journey.kiosk_signer.personal()
    values.pop("client address")
    return needles_for("kiosk signer", values)


@pytest.fixture(scope="module", params=SIZES)
def journey(request: pytest.FixtureRequest, stack: Stack) -> Journey:
    """Canary signers sign, get their emails, confirm and are counted."""
    started = time.monotonic()
    size: int = request.param
    tag = secrets.token_hex(3)
    slugs, partner_email, source_codes = _campaigns_with_partner(stack, tag)
    net = int(tag, 16) % 200 + 20  # a loopback /24 of its own for this journey
    canaries = [
        Canary.make(
            i, "TR" if i % 3 == 2 else "SY", f"127.{net}.{i // 250}.{i % 250 + 2}", i % 2 == 0
        )
        for i in range(2 * size)
    ]
    rejected = Canary.make(0, "SY", f"127.{net}.9.9", False)
    for canary in [*canaries, rejected]:
        canary.derive()
    journey = Journey(
        size, slugs, canaries, rejected, partner_email=partner_email, source_codes=source_codes
    )
    journey.lang = {i: ("ar", "en")[i % 2] for i in range(len(canaries))}
    # Their addresses are in a trusted network: signing matches each one and
    # keeps the network's id, never the address (searched for below).
    with stack.app.app_context():
        network = TrustedNetwork(
            kind=NetworkKind.range, cidr=f"127.{net}.0.0/16", label=f"canary-net-{tag}",
            burst_limit=100, sustained_limit=1000,
        )  # fmt: skip
        db.session.add(network)
        db.session.commit()
        network_id = network.id
        db.session.remove()

    signed_in = {i: _sign(stack, journey, i, canary) for i, canary in enumerate(canaries)}
    # A form refused (the phone is not a number): nothing of it may be kept.
    journey.lang[-1] = "en"
    rejected.phone = "12"
    _sign(stack, journey, -1, rejected, expect=422)

    for i, canary in enumerate(canaries):
        journey.links[i] = confirm_link(stack, canary.derived["display_email"], journey.lang[i])
        if i % 4 == 3:
            # Confirmed by the code in the email, typed where it was signed.
            client, lang, slug = signed_in[i], journey.lang[i], journey.slug(i)
            code = confirm_code_in_mail(stack, canary.derived["display_email"])
            thanks = client.get(f"{stack.url}/{lang}/campaigns/{slug}/thanks")
            assert thanks.status == 200, thanks.text
            typed = submit(client, thanks, f"/{lang}/campaigns/{slug}/code", {"code": code})
            assert typed.status == 303, typed.text[:2000]
            journey.references[i] = client.cookies[f"code-{slug}"]
            journey.requests += 2
            continue
        client = Client(stack, forwarded_for=canary.forwarded_for)
        landing = client.get(journey.links[i])
        assert landing.status == 200, landing.text
        pressed = submit(client, landing, journey.links[i].split(stack.url)[1], {})
        assert pressed.status == 303, pressed.text
        journey.requests += 2
    _withdraw(stack, journey, net)
    _sign_at_a_stand(stack, journey, tag)
    # The same person again, the address typed in capitals: absorbed, and an
    # "already signed" email instead of a second signature. (Sent once the
    # first signature is checked: a repeat before that gets no email.)
    first = canaries[0]
    again = Canary(**{**first.__dict__, "email": first.email.upper()})
    again.derive()
    _sign(stack, journey, 0, again)
    stack.mailbox.wait_for_messages_to(
        first.derived["display_email"], 2, EMAIL_TIMEOUT, stack.log_tail
    )

    expected = {
        slugs[0]: (size + 1, size + 1),  # with the kiosk's signer
        slugs[1]: (size, sum(int(c.amount) for c in canaries[1::2])),
    }
    for slug, figures in expected.items():
        wait_for(
            lambda slug=slug, figures=figures: (
                (c := _count(stack, slug))["signers"],
                c["total"],
            )
            == figures,
            COUNT_TIMEOUT,
            f"{slug} to count {figures}",
            stack,
        )
    with stack.app.app_context():
        for i, canary in enumerate(canaries):
            signature = db.session.execute(
                select(Signature).where(Signature.fingerprint == email_fingerprint(canary.email))
            ).scalar_one()
            assert signature.personal_data is not None
            assert signature.network_id == network_id
            journey.ciphertexts[i] = signature.personal_data
        db.session.remove()
    _record_outcomes(stack, journey)
    journey.seconds = elapsed(started)
    return journey


def _record_outcomes(stack: Stack, journey: Journey) -> None:
    """A commitment, a delivery and a response (with its letter) on the
    petition, as organizers record them: public on its pages and in the API,
    and an update to each of its signers (every canary agreed to hear), whose
    two emails are waited for, so that their whole path is searched too."""
    petition_signers = [c.derived["display_email"] for c in journey.canaries[0::2]]

    def sent_to(address: str) -> int:
        return sum(1 for r in stack.mailbox.received if address in r.recipients)

    before = {address: sent_to(address) for address in petition_signers}
    # Written here as the console's services write them; the production
    # stack's relay and worker (not this process) send the updates over SMTP.
    eager = stack.app.config["TASKS_EAGER"]
    stack.app.config["TASKS_EAGER"] = False
    try:
        with stack.app.test_request_context():
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == journey.slugs[0])
            ).scalar_one()
            author = create_user(
                f"organizer-{campaign.slug}@union.test",
                "Organizer",
                PARTNER_PASSWORD,
                Role.organizer,
                campaign.organization,
            )
            commitment = {"ar": "نسلّم العريضة في جنيف", "en": "we go to Geneva"}
            add_threshold(campaign, 1_000_000, commitment)
            record_delivery(
                campaign,
                date(2026, 11, 18),
                DeliveryMethod.post,
                {"ar": {"recipient": "البعثة الدائمة", "place": "جنيف"}},
                None,
                author,
            )
            response = publish_response(
                campaign,
                date(2026, 11, 20),
                {"ar": {"by": "المفوضية", "text": "تلقينا عريضتكم"}},
                make_pdf(),
                author,
            )
            journey.response_pdf = f"/responses/{response.public_id}.pdf"
            db.session.commit()
            # The ledger's batch, as its periodic job appends it: the counted
            # canaries (and the withdrawal) become entries on the public pages.
            assert publish_ledger() > 0
            db.session.remove()
    finally:
        stack.app.config["TASKS_EAGER"] = eager
    for address, count in before.items():
        stack.mailbox.wait_for_messages_to(address, count + 2, EMAIL_TIMEOUT, stack.log_tail)


# -- What partners and the public see


def partner_pages(stack: Stack, journey: Journey) -> list[tuple[str, str]]:
    """Every page a partner of these campaigns may open, as they see it."""
    client = Client(stack)
    login = client.get(f"{stack.url}/console/login")
    assert login.status == 200
    credentials = {"email": journey.partner_email, "password": PARTNER_PASSWORD}
    answer = submit(client, login, "/console/login", credentials)
    assert answer.status == 303, answer.text[:2000]
    paths = ["/console/", "/console/reach"]
    for slug in journey.slugs:
        paths += [
            f"/console/campaigns/{slug}",
            f"/console/campaigns/{slug}/exports",
            f"/console/campaigns/{slug}/exports/figures.csv",
            # The campaign page's preview, in the console's language and another.
            f"/console/campaigns/{slug}/preview",
            f"/console/campaigns/{slug}/preview?lang=en",
        ]
    pages = []
    for path in paths:
        page = client.get(stack.url + path)
        assert page.status == 200, (path, page.status)
        pages.append((f"partner {path}", page.body.decode("utf-8")))
    return pages


def public_pages(stack: Stack, journey: Journey) -> list[tuple[str, str]]:
    """The public pages and the JSON API of these campaigns, in Arabic and English."""
    paths = ["/api/v1/campaigns", "/api/v1/openapi.json"]
    for lang in ("ar", "en"):
        paths += [f"/{lang}/", f"/{lang}/today"]
        for slug in journey.slugs:
            paths += [
                f"/{lang}/campaigns/{slug}",
                f"/{lang}/campaigns/{slug}/results",
                f"/{lang}/campaigns/{slug}/ledger",
                f"/embed/{slug}?lang={lang}",
            ]
    for slug in journey.slugs:
        paths += [f"/api/v1/campaigns/{slug}", f"/api/v1/campaigns/{slug}/count"]
        ledger = f"/api/v1/campaigns/{slug}/ledger"
        paths += [ledger, f"{ledger}/heads", f"{ledger}/entries?count=10000"]
        paths += [f"{ledger}/inclusion?head=1&position=0"]
    paths.append("/api/v1/ledger/key")
    paths.append(journey.response_pdf)
    client = Client(stack)
    pages = []
    for path in paths:
        page = client.get(stack.url + path)
        assert page.status == 200, (path, page.status)
        # The response letter is bytes: one character each, as the images below.
        body = page.body.decode("latin-1" if path.endswith(".pdf") else "utf-8")
        pages.append((f"public {path}", body))
    with stack.app.app_context():
        images = db.session.execute(
            select(Campaign.slug, CampaignImage.name)
            .join(CampaignImage, CampaignImage.campaign_id == Campaign.id)
            .where(Campaign.slug.in_(journey.slugs))
        ).all()
        db.session.remove()
    assert images, "no campaign image to look into"
    for slug, name in images:
        path = f"/media/{slug}/{name}"
        image = client.get(stack.url + path)
        assert image.status == 200, (path, image.status)
        # Bytes, one character each: an ASCII canary (an email, a token) shows as itself.
        pages.append((f"public {path}", image.body.decode("latin-1")))
    return pages


def figures_csv_rows(pages: list[tuple[str, str]]) -> int:
    return sum(
        len(list(csv.reader(io.StringIO(text.lstrip("\ufeff")))))
        for where, text in pages
        if where.endswith("figures.csv")
    )


# -- Needles


def personal_needles(journey: Journey, with_region: bool = True) -> list[Needle]:
    needles = []
    for i, canary in enumerate(journey.canaries):
        values = canary.personal()
        if not with_region:
            for label in canary.region_values():
                values.pop(label)
        needles += needles_for(f"canary #{i}", values)
    return needles


def region_needles(journey: Journey) -> list[Needle]:
    return [
        n
        for i, canary in enumerate(journey.canaries)
        for n in needles_for(f"canary #{i}", canary.region_values())
    ]


def token_needles(journey: Journey) -> list[Needle]:
    confirm = {f"token #{i}": link.rsplit("/", 1)[1] for i, link in journey.links.items()}
    manage = {
        f"manage token #{i}": link.rsplit("/", 1)[1] for i, link in enumerate(journey.manage_links)
    }
    references = {f"reference #{i}": reference for i, reference in journey.references.items()}
    return (
        needles_for("confirm tokens", confirm)
        + needles_for("manage tokens", manage)
        + needles_for("code references", references)
    )


def withdrawer_needles(journey: Journey) -> list[Needle]:
    assert journey.withdrawer is not None
    return needles_for("withdrawer", journey.withdrawer.personal())


def secret_needles(journey: Journey) -> list[Needle]:
    """The hashes and ciphertexts that lead back to each canary."""
    needles = []
    for i, canary in enumerate(journey.canaries):
        values = {
            "fingerprint": email_fingerprint(canary.email),
            "client address hash": hash_ip(canary.forwarded_for),
            "ciphertext": journey.ciphertexts[i],
        }
        if canary.unique_domain:
            values["email domain hash"] = hash_email_domain(canary.unique_domain)
        needles += byte_needles(f"canary #{i}", values)
    if journey.withdrawer is not None:
        # All a withdrawal keeps of the person, until the campaign's erasure.
        fingerprint = email_fingerprint(journey.withdrawer.email)
        needles += byte_needles("withdrawer", {"fingerprint": fingerprint})
    return needles


def report(hits: list[Hit], limit: int = 40) -> str:
    return "\n".join(str(h) for h in hits[:limit]) + (
        f"\n… and {len(hits) - limit} more" if len(hits) > limit else ""
    )


# -- The tests


def test_canaries_are_only_in_ciphertext(stack: Stack, journey: Journey) -> None:
    started = time.monotonic()
    partner = partner_pages(stack, journey)
    public = public_pages(stack, journey)
    keyspace = keyspace_records()
    rows = database_rows(stack)
    dump = pg_dump(stack)
    monitor, enveloped = monitor_records(stack)
    logs = log_records(stack)

    everywhere = {
        "database": rows,
        "pg_dump": dump,
        "redis keyspace": keyspace,
        "redis MONITOR": monitor,
        "logs": logs,
        "partner views": partner,
        "public pages and API": public,
    }
    personal = personal_needles(journey, with_region=False)
    regions = region_needles(journey)
    rejected = needles_for("refused form", journey.rejected.personal())
    tokens = token_needles(journey)
    # Erased at withdrawal: not even in a ciphertext (needles search the clear).
    withdrawn = withdrawer_needles(journey)
    leaks: list[Hit] = []
    for records in everywhere.values():
        # The typed region is personal data like the rest: in clear nowhere,
        # not even in the signature's own row.
        leaks += search(
            records, personal + regions + rejected + tokens + withdrawn + kiosk_needles(journey)
        )
    assert not leaks, "personal data in clear:\n" + report(leaks)
    with stack.app.app_context():
        assert journey.withdrawer is not None
        gone = db.session.execute(
            select(Signature).where(
                Signature.fingerprint == email_fingerprint(journey.withdrawer.email)
            )
        ).scalar_one()
        assert gone.state.value == "withdrawn"
        assert gone.personal_data is None and gone.ip_hash is None
        db.session.remove()

    # The search is not blind: each typed region is there, sealed in its ciphertext …
    with stack.app.app_context():
        for i in range(len(journey.canaries)):
            opened = open_personal_data(journey.ciphertexts[i])
            found = search([("opened", opened["region"])], regions)
            assert any(h.owner == f"canary #{i}" for h in found), (
                f"canary #{i}'s region is not in its ciphertext: the scan is blind"
            )
        opened = open_personal_data(journey.kiosk_ciphertext)
        found = search([("opened", f"{opened['name']} {opened['phone']}")], kiosk_needles(journey))
        assert found, "the kiosk signer is not in their ciphertext: the scan is blind"
        db.session.remove()
    # … and every task message body, decoded: each validation names its ids.
    messages = task_messages(stack)
    validated_ids = {
        signature_id
        for m in messages
        if m["envelope"]["headers"].get("task") == "zaytoun.validate_signatures"
        for signature_id in m["body"][0][0]
    }
    with stack.app.app_context():
        fingerprints = [email_fingerprint(c.email) for c in journey.canaries]
        ids = set(
            db.session.execute(
                select(Signature.id).where(Signature.fingerprint.in_(fingerprints))
            ).scalars()
        )
        db.session.remove()
    assert ids and ids <= validated_ids, (ids, validated_ids)

    # Emails: a canary appears only in emails to that canary's own address.
    owners = {f"canary #{i}": c for i, c in enumerate(journey.canaries)}
    owners["withdrawer"] = journey.withdrawer  # type: ignore[assignment]
    mail_needles = personal_needles(journey) + rejected + withdrawn
    misdirected = []
    named = 0
    received = list(stack.mailbox.received)
    for n, mail in enumerate(received):
        hits = search([(f"email #{n} to {mail.recipients}", mail_text(mail.message))], mail_needles)
        for hit in hits:
            canary = owners.get(hit.owner)
            address = canary.derived["display_email"].lower() if canary else None
            recipients = [r.lower() for r in mail.recipients]
            if recipients != [address] or str(mail.message["To"]).lower() != address:
                misdirected.append(hit)
        named += any(h.label == "name" for h in hits)
    assert not misdirected, "canaries in someone else's email:\n" + report(misdirected)
    assert named >= len(journey.canaries), f"only {named} emails greet their signer by name"
    # The sensitive campaign's (the pledge's signers'): a neutral sender, and
    # no header names the campaign, by slug or by title.
    quiet = {c.derived["display_email"].lower() for c in journey.canaries[1::2]}
    low_trace = [m for m in received if {r.lower() for r in m.recipients} <= quiet]
    assert low_trace, "no email of the sensitive campaign"
    for mail in low_trace:
        assert parseaddr(str(mail.message["From"]))[0] == "Notifications", mail.message["From"]
        headers = "\n".join(
            f"{k}: {v}" for k, v in mail.message.items() if k.lower() != "message-id"
        )
        for telltale in (journey.slugs[1], "Campaign ", "حملة"):
            assert telltale not in headers, (telltale, headers)

    counted = {name: len(records) for name, records in everywhere.items()}
    print(
        f"\n[canaries {journey.size}/campaign] {len(journey.canaries)} signers, "
        "1 repeat, 1 refused, 1 withdrawn; "
        f"{journey.requests} requests, journey {journey.seconds} s, search {elapsed(started)} s; "
        f"needles {len(personal) + len(regions) + len(rejected) + len(tokens) + len(withdrawn)} "
        f"({sum(len(n.spellings) for n in personal + regions + rejected + tokens + withdrawn)} "
        "spellings); "
        f"searched {counted}; tables {len({r[0].split('.')[0] for r in rows})}, "
        f"MONITOR lines kept {len(stack.monitor.lines)} of {stack.monitor.seen} seen, "
        f"{enveloped} carried task messages ({len(messages)} pushed, bodies decoded); "
        f"emails {len(received)}; partner CSV rows {figures_csv_rows(partner)}"
    )


# -- Two people to open personal data


ADMIN_PASSWORD = "admin-password-" + secrets.token_hex(4)


def _admin(stack: Stack, tag: str, n: int) -> tuple[str, str]:
    """An admin of the union with a second factor: (email, TOTP secret)."""
    secret = pyotp.random_base32()
    email = f"admin-{n}-{tag}@union.zaytoun.test"
    with stack.app.app_context():
        union = db.session.execute(
            select(Organization).where(Organization.slug == UNION_ORG)
        ).scalar_one()
        user = create_user(email, f"Admin {n}", ADMIN_PASSWORD, Role.admin, union)
        user.totp_secret, user.totp_enabled = seal_secret(secret), True
        db.session.commit()
        db.session.remove()
    return email, secret


def _console_client(stack: Stack, email: str, secret: str) -> Client:
    client = Client(stack)
    login = client.get(f"{stack.url}/console/login")
    credentials = {"email": email, "password": ADMIN_PASSWORD, "code": pyotp.TOTP(secret).now()}
    answer = submit(client, login, "/console/login", credentials)
    assert answer.status == 303, answer.text[:2000]
    return client


def test_a_two_person_export_leaves_no_canary_and_no_grant(
    stack: Stack, journey: Journey
) -> None:
    """On the deployed stack (the rule on by default): one admin asks to
    export a campaign's signatures, a second approves, the first downloads
    once. The CSV holds the canaries (the search is not blind); no table, log
    or Redis record holds a canary in clear or the one-time grant."""
    started = time.monotonic()
    tag = secrets.token_hex(3)
    asker = _console_client(stack, *_admin(stack, tag, 1))
    approver = _console_client(stack, *_admin(stack, tag, 2))
    slug = journey.slugs[0]
    reason = f"delivery to the council {tag}"

    direct = asker.get(f"{stack.url}/console/campaigns/{slug}/exports")
    assert direct.status == 200 and "/exports/signatures.csv" not in direct.text
    page = asker.get(f"{stack.url}/console/disclosures/new?kind=export_personal&campaign={slug}")
    fields = {"kind": "export_personal", "campaign": slug, "reason": reason}
    assert submit(asker, page, "/console/disclosures/new", fields).status == 303
    with stack.app.app_context():
        item_id = db.session.execute(
            select(func.max(DisclosureRequest.id))
        ).scalar_one()
        db.session.remove()

    waiting = approver.get(f"{stack.url}/console/disclosures")
    assert submit(approver, waiting, f"/disclosures/{item_id}/approve", {}).status == 303
    mine = asker.get(f"{stack.url}/console/disclosures")
    shown = submit(asker, mine, f"/disclosures/{item_id}/grant", {})
    assert shown.status == 200, shown.text[:2000]
    (use_form,) = [f for f in shown.forms() if f.action.endswith(f"/{item_id}/use")]
    grant = use_form.fields["token"]
    download = asker.post(use_form.action, use_form.fields)
    assert download.status == 200 and download.headers["Content-Type"].startswith("text/csv")
    again = asker.post(use_form.action, use_form.fields)
    assert again.status == 410

    # The search is not blind: the export holds every canary of the campaign.
    exported = [("export", download.body.decode("utf-8"))]
    petition = [c for i, c in enumerate(journey.canaries) if journey.slug(i) == slug]
    found = {h.owner for h in search(exported, personal_needles(journey, with_region=False))}
    assert len(found) == len(petition), found

    grant_needles = needles_for("one-time grant", {"grant": grant})
    personal = personal_needles(journey, with_region=False)
    everywhere = {
        "database": database_rows(stack),
        "logs": log_records(stack),
        "redis keyspace": keyspace_records(),
        "redis MONITOR": monitor_records(stack)[0],
    }
    leaks: list[Hit] = []
    for records in everywhere.values():
        leaks += search(records, personal + grant_needles)
    assert not leaks, "personal data or the grant in clear:\n" + report(leaks)
    # The reason is kept on the request only, not in the audit log.
    with stack.app.app_context():
        details = db.session.execute(
            select(AuditEntry.details).where(AuditEntry.target_type == "disclosure")
        ).scalars().all()
        db.session.remove()
    assert details and reason not in json.dumps(details, ensure_ascii=False)
    print(
        f"\n[canaries {journey.size}/campaign] two-person export: request {item_id}, "
        f"{len(found)} canaries in the CSV, none elsewhere; grant in no record; "
        f"{elapsed(started)} s"
    )


def _figures(stack: Stack, journey: Journey) -> dict[str, Any]:
    """Every figure of the campaigns: the count tables, the count JSON, the
    API's breakdowns and the partner CSV."""
    result: dict[str, Any] = {}
    with stack.app.app_context():
        for slug in journey.slugs:
            campaign_id = db.session.execute(
                select(Campaign.id).where(Campaign.slug == slug)
            ).scalar_one()
            for model in (CampaignCount, CountryCount, RegionCount, DailyCount):
                table = model.__table__
                rows = db.session.execute(
                    select(*[c for c in table.columns if c.name != "updated_at"]).where(
                        table.c.campaign_id == campaign_id
                    )
                ).all()
                result[f"{slug} {table.name}"] = sorted(tuple(map(str, row)) for row in rows)
        db.session.remove()
    client = Client(stack)
    for slug in journey.slugs:
        count = _count(stack, slug)
        detail = json.loads(client.get(f"{stack.url}/api/v1/campaigns/{slug}").body)
        for data in (count, detail):
            data.pop("updated_at", None)
            data.pop("status", None)
        result[f"{slug} count JSON"] = count
        result[f"{slug} API"] = detail
    return result


def unerased(stack: Stack, slug: str) -> int:
    with stack.app.app_context():
        left = db.session.execute(
            select(func.count())
            .select_from(Signature)
            .join(Campaign)
            .where(Campaign.slug == slug, Signature.erased_at.is_(None))
        ).scalar_one()
        db.session.remove()
    return int(left)


def test_retention_leaves_no_canary_and_every_figure(stack: Stack, journey: Journey) -> None:
    started = time.monotonic()
    with stack.app.app_context():
        secrets_ = secret_needles(journey)
    # Before: the hashes and ciphertexts are where they belong (the needles are right).
    before_rows = database_rows(stack)
    present = {(h.owner, h.label) for h in search(before_rows, secrets_)}
    expected = {(n.owner, n.label) for n in secrets_}
    assert present == expected, f"not found before erasing: {sorted(expected - present)}"
    figures_before = _figures(stack, journey)

    # Both campaigns close; the pledge closed longer ago than the retention time.
    petition, pledge = journey.slugs
    with stack.app.app_context():
        for slug in journey.slugs:
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == slug)
            ).scalar_one()
            campaign.status = CampaignStatus.closed
            if slug == pledge:
                campaign.closes_at = utcnow() - timedelta(days=retention_days() + 1)
        db.session.commit()
        db.session.remove()
    # The petition by the operator's command, the pledge by the periodic task
    # on the worker (beat would send it within five minutes; sent now).
    output = stack.flask("retention", "erase", petition)
    # The withdrawer's row too: its fingerprint and UUID waited for this erasure.
    erased = journey.size + 2  # and the kiosk's signer
    assert f"erased the personal data of {erased} signatures of {petition}" in output
    broker = Celery(broker=stack.env["REDIS_URL"])
    broker.send_task("zaytoun.erase_expired_personal_data", queue=PERIODIC_QUEUE)
    broker.close()
    wait_for(lambda: not unerased(stack, pledge), COUNT_TIMEOUT, "the periodic erasure", stack)
    outputs = [output]

    # Counts stay exactly as they were, through a few runs of the count job
    # and past the count cache.
    time.sleep(3)
    assert _figures(stack, journey) == figures_before

    # An old confirmation link leads nowhere.
    gone = Client(stack).get(journey.links[0])
    assert gone.status == 404, gone.status

    partner = partner_pages(stack, journey)
    public = public_pages(stack, journey)
    everywhere = {
        "database": database_rows(stack),
        "pg_dump": pg_dump(stack),
        "redis keyspace": keyspace_records(),
        "partner views": partner,
        "public pages and API": public,
        "retention command output": [(f"flask retention erase {o}", o) for o in outputs],
    }
    needles = personal_needles(journey) + secrets_ + token_needles(journey)
    needles += kiosk_needles(journey) + byte_needles(
        "kiosk signer", {"ciphertext": journey.kiosk_ciphertext}
    )
    left = [h for records in everywhere.values() for h in search(records, needles)]
    assert not left, "left after retention:\n" + report(left)
    print(
        f"\n[retention {journey.size}/campaign] erased {2 * journey.size} signatures; "
        f"{len(needles)} needles (hashes and ciphertexts included) found before, none after in "
        f"{ {k: len(v) for k, v in everywhere.items()} }; figures compared: {len(figures_before)}; "
        f"{elapsed(started)} s"
    )


def test_canary_spellings_are_searched() -> None:
    """The search finds a canary however code might have written it."""
    canary = Canary.make(1, "SY", "127.0.0.9", True)
    canary.derive()
    needles = needles_for("c", canary.personal())
    raw = canary.full_name.encode()
    for text in (
        f"x {canary.full_name.upper()} y",
        f"prefix-{raw.hex()}",
        "ab" + base64.b64encode(b"12" + raw + b"tail").decode(),
        json.dumps({"n": canary.full_name}),  # \u escapes
        "body=" + base64.b64encode(json.dumps([[1], {"email": canary.email}]).encode()).decode(),
        canary.derived["canonical_email"],
    ):
        assert search([("t", unwrap(text))], needles), text


# -- A collector of printed sheets


def test_a_sheets_collector_is_only_in_ciphertext(stack: Stack, journey: Journey) -> None:
    """An admin issues printed sheets to a collector whose name and phone are
    canaries, downloads the batch's PDF and opens the collector once (the
    search is not blind: the page shows them). Nowhere else is either in
    clear: no table, dump, log, Redis record, partner view or public page."""
    tag = secrets.token_hex(3)
    name = f"Collector Canary {tag}"
    phone = "+96394" + "".join(secrets.choice("0123456789") for _ in range(7))
    admin = _console_client(stack, *_admin(stack, tag, 3))
    slug = journey.slugs[0]
    page = admin.get(f"{stack.url}/console/campaigns/{slug}/sheets")
    fields = {"count": "2", "language": "ar", "collector_name": name, "collector_phone": phone}
    issued = submit(admin, page, f"/campaigns/{slug}/sheets", fields)
    assert issued.status == 303, issued.text[:2000]
    listing = admin.get(f"{stack.url}/console/campaigns/{slug}/sheets")
    assert name not in listing.text and phone not in listing.text
    batch = re.findall(rf"/console/campaigns/{slug}/sheets/batches/(\d+)\.pdf", listing.text)[0]
    pdf = admin.get(f"{stack.url}/console/campaigns/{slug}/sheets/batches/{batch}.pdf")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF-")
    reveal = next(f for f in listing.forms() if f.action.endswith("/collector"))
    shown = admin.post(reveal.action, reveal.fields)
    assert shown.status == 200 and name in shown.text and phone in shown.text

    needles = needles_for("collector", {"name": name, "phone": phone})
    everywhere = {
        "database": database_rows(stack),
        "pg_dump": pg_dump(stack),
        "redis keyspace": keyspace_records(),
        "redis MONITOR": monitor_records(stack)[0],
        "logs": log_records(stack),
        "partner views": partner_pages(stack, journey),
        "public pages and API": public_pages(stack, journey),
        # The PDF's streams are compressed: its text as a reader extracts it.
        "the printed sheets": [
            (f"batch PDF page {n}", page.get_textpage().get_text_range())
            for n, page in enumerate(pypdfium2.PdfDocument(pdf.body))
        ],
    }
    leaks = [hit for records in everywhere.values() for hit in search(records, needles)]
    assert not leaks, "a collector in clear:\n" + report(leaks)
