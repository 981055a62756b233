"""Stored XSS and CSV injection refused: hostile names, cities and email
addresses, signed through the public form with the name shown publicly,
checked and confirmed the way the app does it, come out inert everywhere they
appear — public pages, the embed, the JSON API, the console, the emails, the
CSV exports and the delivery document. Organizer-entered campaign texts (the
console allows no markup in them) are checked the same way."""

from __future__ import annotations

import html
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.counting.services import update_signature_counts
from campaigns.exports.delivery import collect_delivery, delivery_html
from campaigns.extensions import db
from campaigns.kernel.normalize import clean_text
from campaigns.models import Campaign, EmailLog, EmailStatus
from campaigns.moderation.services import PAGE_SIZE
from tests.conftest import ENGINES
from tests.console.confirming import post_confirmed
from tests.factories import create_campaign
from tests.moderation.support import Console, logged_in, make_console

from .fuzz_support import REFUSED_CONTROLS
from .hostile_support import (
    app_with,
    assert_csv_safe,
    assert_inert,
    body_of,
    client_at,
    confirm_all,
    own_database,
    read_csv,
    run_tasks,
    sent_mail,
    sign_form,
    use_cheap_passwords,
)

# Each is typed as a signer's full name and as their city.
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "</bdi><b/onmouseover=alert(1)>x</b>",
    "javascript:alert(1)",
    "\u202eexe.tpircs\u202c حلب",
    "علي\u202e<i>reversed</i>",
    '=HYPERLINK("http://x.test","y")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=2+2",
    'محمد <script>alert("زيتون")</script>',
    '=HYPERLINK("http://x.test","عفرين")',
    "{{7*7}}{{config.SECRET_KEY}}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\uff1d3+3",  # fullwidth "=": NFKC makes it a formula
]
# More vectors, and each payload wrapped in Arabic or spaces (`make chaos`).
MORE_VECTORS = [
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=' jav&#x09;ascript:alert(1)'>x</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>*{display:none}</style>",
    "<!--",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<meta http-equiv=refresh content=0;url=//x.test>",
    "<base href=//x.test/>",
    "\u2066=1+1\u2069",
    "\u202d-1+2",
    "=cmd|'/c calc'!A1",
    'DDE("cmd";"/C calc";"!A0")',
    "@@SUM(1)",
    "%0d=1+1",
    "\u200b=1+1",
]


def long_payloads() -> list[str]:
    wrapped = [form.format(p) for p in PAYLOADS for form in ("زيتون {}", "{} عفرين", "  {}")]
    return [p for p in [*PAYLOADS, *MORE_VECTORS, *wrapped] if len(clean_text(p)) <= 80]


# Addresses a signer may legally type that a spreadsheet would run.
EMAIL_PAYLOADS = ["=1+1@example.org", "-2-3@example.org"]
# The latest signers list shows ten (the first campaign also has the two
# EMAIL_PAYLOADS signers): the payloads are spread over campaigns.
PER_CAMPAIGN = 8
SECRET_KEY = "test-secret-key"


def first_name(payload: str) -> str:
    return clean_text(payload).split(" ", 1)[0]


@dataclass
class Signed:
    payload: str
    campaign: Campaign
    email: str

    @property
    def name(self) -> str:
        """The name as stored and shown to organizers."""
        return clean_text(self.payload)


@dataclass
class Dataset:
    console: Console
    campaigns: list[Campaign]
    payloads: list[str]
    public: list[Signed] = field(default_factory=list)
    stopped: list[Signed] = field(default_factory=list)

    def public_of(self, campaign: Campaign) -> list[Signed]:
        return [s for s in self.public if s.campaign.id == campaign.id]


def sign(client: FlaskClient, campaign: Campaign, name: str, address: str, city: str) -> None:
    response = client.post(
        f"/ar/campaigns/{campaign.slug}/sign", data=sign_form(name, address, region=city)
    )
    assert response.status_code == 303, (name, response.status_code)


@dataclass
class Hostile:
    app: Flask
    data: Dataset


def build(app: Flask, payloads: list[str]) -> Dataset:
    """Sign every payload twice: once as a signer who confirms (shown
    publicly), once from a disposable address (stopped, in the moderation
    queue); then run the checks, confirm, count."""
    console = make_console()
    # A control character but the tab is refused at the form (422, nothing
    # kept): such a payload never reaches a page, an email or a file.
    refused = [p for p in payloads if set(p) & set(REFUSED_CONTROLS)]
    for payload in refused:
        response = client_at(app, "192.0.2.200").post(
            f"/ar/campaigns/{console.campaign.slug}/sign",
            data=sign_form(payload, "refused@example.org", region=payload),
        )
        assert response.status_code == 422, (payload, response.status_code)
    payloads = [p for p in payloads if p not in refused]
    partners = list(console.campaign.partners)
    campaigns = [console.campaign]
    while len(campaigns) * PER_CAMPAIGN < len(payloads):
        campaigns.append(
            create_campaign(organization=console.campaign.organization, partners=partners)
        )
    data = Dataset(console, campaigns, payloads)
    for n, payload in enumerate(payloads):
        campaign = campaigns[n // PER_CAMPAIGN]
        client = client_at(app, f"198.51.{100 + n // 250}.{n % 250 + 1}")
        address = f"signer{n}@example.org"
        sign(client, campaign, payload, address, payload)
        data.public.append(Signed(payload, campaign, address))
        stopped = f"stopped{n}@mailinator.com"
        stopper = client_at(app, f"203.0.{113 + n // 250}.{n % 250 + 1}")
        sign(stopper, campaign, payload, stopped, payload)
        data.stopped.append(Signed(payload, campaign, stopped))
    for n, address in enumerate(EMAIL_PAYLOADS):
        sign(client_at(app, f"192.0.2.{n + 1}"), campaigns[0], "Formula Mail", address, "Aleppo")
        data.public.append(Signed("Formula Mail", campaigns[0], address))
    run_tasks()
    assert confirm_all(app, sent_mail(app)) == len(data.public)
    update_signature_counts()
    db.session.commit()
    return data


@pytest.fixture(
    scope="module",
    params=[
        *(pytest.param((engine, "short"), id=f"{engine}-short") for engine in ENGINES),
        *(
            pytest.param((engine, "long"), id=f"{engine}-long", marks=pytest.mark.chaos)
            for engine in ENGINES
        ),
    ],
)
def hostile(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hostile]:
    """One data set per engine and size, shared by the tests that read it
    (signing and confirming it all takes seconds); only the email test adds to
    it (mail)."""
    engine, size = request.param
    payloads = PAYLOADS if size == "short" else long_payloads()
    with pytest.MonkeyPatch.context() as patch:
        use_cheap_passwords(patch)
        tmp = tmp_path_factory.mktemp(f"hostile-{engine}-{size}")
        with own_database(engine, tmp) as url, app_with(tmp, lambda _: url, engine) as app:
            yield Hostile(app, build(app, payloads))


def checked(counter: dict[str, int], place: str, payloads: Iterable[str]) -> None:
    counter[place] = counter.get(place, 0) + len(list(payloads))


# -- public pages and the API -------------------------------------------------------


def test_public_pages_show_hostile_names_and_cities_as_text(hostile: Hostile) -> None:
    app, dataset = hostile.app, hostile.data
    client = app.test_client()
    counts: dict[str, int] = {}
    for campaign in dataset.campaigns:
        signers = [s for s in dataset.public_of(campaign) if s.payload in dataset.payloads]
        assert signers
        page = client.get(f"/ar/campaigns/{campaign.slug}/results")
        assert page.status_code == 200
        shown = sorted({first_name(s.payload) for s in signers} | {s.name for s in signers})
        found = assert_inert(
            page.get_data(as_text=True),
            f"results of {campaign.slug}",
            payloads=[s.payload for s in signers],
            shown=shown,
            isolate_in=frozenset({"bdi"}),
        )
        assert all(p.in_text and p.isolated for p in found.values())
        checked(counts, "results page", signers)
        for path in (
            f"/ar/campaigns/{campaign.slug}",
            f"/embed/{campaign.slug}?lang=ar",
            f"/embed/{campaign.slug}?lang=en&size=compact",
            "/ar/",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.get_data(as_text=True)
            assert_inert(html, path, payloads=[s.payload for s in signers])
            # Signers are not listed there: none of their text may leak in.
            assert not [s.name for s in signers if s.name in html], path
            checked(counts, path.split("/")[1] if "embed" in path else "campaign/home", signers)
        for path in (
            f"/api/v1/campaigns/{campaign.slug}",
            f"/api/v1/campaigns/{campaign.slug}/count",
            "/api/v1/campaigns",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.mimetype == "application/json"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            body = response.get_data(as_text=True)
            json.loads(body)
            assert not [s.name for s in signers if s.name in body], path
            checked(counts, "api", signers)
    assert SECRET_KEY not in client.get(f"/ar/campaigns/{dataset.campaigns[0].slug}/results").text
    print("\npayloads x places (public):", counts)


def test_a_refused_form_shows_what_was_typed_back_as_text(client: FlaskClient) -> None:
    """A form error re-renders the page with the person's own input in the
    fields: as attribute values, never as markup."""
    campaign = create_campaign()
    for payload in PAYLOADS:
        form = sign_form(payload, "not-an-address", region=payload)
        response = client.post(f"/ar/campaigns/{campaign.slug}/sign", data=form)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        # The form echoes the raw input to the person who typed it, bidi
        # controls included: only markup is checked here.
        values = [_unescape(v).strip() for v in re.findall(r'value="([^"]*)"', html)]
        assert_inert(_without_bidi(html), "422 sign form", payloads=[payload])
        typed = _without_bidi(payload).replace("\r", "").replace("\t", "").strip()
        assert values.count(typed) >= 2, (typed, values)


def _without_bidi(text: str) -> str:
    return text.replace("\u202e", "").replace("\u202c", "")


def _unescape(value: str) -> str:
    return _without_bidi(html.unescape(value)).replace("\r", "").replace("\t", "")


# -- the console --------------------------------------------------------------------


def test_the_console_shows_hostile_signers_as_text(hostile: Hostile) -> None:
    app, dataset = hostile.app, hostile.data
    console = dataset.console
    admin = logged_in(app, console.admin, console)
    counts: dict[str, int] = {}
    # Every page of the queue (50 a page), names and addresses revealed.
    pages = []
    while len(pages) * PAGE_SIZE < len(dataset.stopped):
        page = admin.get(f"/console/moderation?personal=1&page={len(pages) + 1}")
        assert page.status_code == 200
        pages.append(page.get_data(as_text=True))
    queue = "".join(pages)
    stopped = dataset.stopped
    found = assert_inert(
        queue,
        "moderation queue with names",
        payloads=[s.payload for s in stopped],
        shown=[s.name for s in stopped] + [s.email for s in stopped],
    )
    assert all(found[s.name].in_text and found[s.email].in_text for s in stopped)
    names = assert_inert(
        queue,
        "moderation queue names isolated",
        shown=[s.name for s in stopped],
        isolate_in=frozenset({"bdi"}),
    )
    assert all(p.isolated for p in names.values())
    checked(counts, "moderation queue (admin, names shown)", stopped)
    organizer = logged_in(app, console.organizer)
    for client, path in (
        (organizer, "/console/moderation"),
        (admin, "/console/"),
        (organizer, f"/console/campaigns/{console.campaign.slug}"),
        (admin, f"/console/campaigns/{console.campaign.slug}/exports"),
        (organizer, f"/console/moderation/campaigns/{console.campaign.slug}"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path, payloads=[s.payload for s in stopped])
        checked(counts, path, stopped)
    print("\npayloads x places (console):", counts)


# -- emails -------------------------------------------------------------------------


def html_parts(app: Flask) -> list[tuple[str, str]]:
    return [(str(m["To"]), body_of(m, "html")) for m in sent_mail(app)]


def test_emails_escape_hostile_names(hostile: Hostile) -> None:
    app, dataset = hostile.app, hostile.data
    by_address = {s.email: s for s in dataset.public}
    counts: dict[str, int] = {}
    # The confirmation emails sent while building the data set.
    confirmations = html_parts(app)[: len(dataset.public)]
    assert sorted(to for to, _ in confirmations) == sorted(by_address)
    for to, part in confirmations:
        signed = by_address[to]
        assert_inert(part, f"confirmation to {to}", payloads=[signed.payload], shown=[signed.name])
        checked(counts, "confirmation email", [signed.payload])
    # Signing again: the "already signed" email to the same people.
    before = len(sent_mail(app))
    for n, signed in enumerate(dataset.public):
        client = client_at(app, f"10.20.{n}.1")
        sign(client, signed.campaign, "Someone Else", signed.email, "Gaziantep")
    run_tasks()
    again = html_parts(app)[before:]
    assert len(again) == len(dataset.public)
    for to, part in again:
        signed = by_address[to]
        assert_inert(
            part, f"already signed to {to}", payloads=[signed.payload], shown=[signed.name]
        )
        checked(counts, "already-signed email", [signed.payload])
    # An update to the consenting signers, written with hostile text in the
    # console: its preview, then the emails.
    organizer = logged_in(app, dataset.console.organizer)
    before = len(sent_mail(app))
    for campaign in dataset.campaigns:
        form = {
            "subject_ar": PAYLOADS[0],
            "body_ar": "\n\n".join(PAYLOADS[:6]),
            "subject_en": PAYLOADS[1],
            "body_en": "\n\n".join(PAYLOADS),
        }
        created = organizer.post(f"/console/campaigns/{campaign.slug}/updates/new", data=form)
        assert created.status_code == 303, created.status_code
        preview = organizer.get(created.headers["Location"])
        assert preview.status_code == 200
        assert_inert(
            preview.get_data(as_text=True),
            "update preview",
            payloads=PAYLOADS,
            shown=PAYLOADS[:1],
            organizer_bidi=form["body_en"] + form["body_ar"],
        )
        checked(counts, "update preview (console)", PAYLOADS)
        sent = post_confirmed(organizer, created.headers["Location"] + "/send")
        assert sent.status_code == 303, sent.status_code
    updates = html_parts(app)[before:]
    assert len(updates) == len(dataset.public)
    for to, part in updates:
        signed = by_address[to]
        assert_inert(
            part,
            f"update to {to}",
            payloads=[signed.payload, *PAYLOADS[:6]],
            shown=[signed.name, PAYLOADS[0]],
            organizer_bidi=form["body_en"],
        )
        checked(counts, "update email", [signed.payload])
    print("\npayloads x places (emails):", counts)


# -- CSV and the delivery document -------------------------------------------------


def test_csv_exports_neutralize_every_formula(hostile: Hostile) -> None:
    app, dataset = hostile.app, hostile.data
    console = dataset.console
    admin = logged_in(app, console.admin, console)
    partner = logged_in(app, console.partner)
    counts: dict[str, int] = {}
    for campaign in dataset.campaigns:
        signers = dataset.public_of(campaign)
        response = admin.post(f"/console/campaigns/{campaign.slug}/exports/signatures.csv")
        assert response.status_code == 200
        rows = read_csv(response.get_data(as_text=True))
        assert len(rows) == 1 + len(signers)
        guarded = [
            ("'" + value) if value.startswith(("=", "+", "-", "@")) else value
            for s in signers
            for value in (s.name, clean_text(s.payload), s.email)
        ]
        cells = assert_csv_safe(rows, f"signatures of {campaign.slug}", shown=guarded)
        counts["signatures.csv cells"] = counts.get("signatures.csv cells", 0) + cells
        checked(counts, "signatures.csv", signers)
        figures = partner.get(f"/console/campaigns/{campaign.slug}/exports/figures.csv")
        assert figures.status_code == 200
        cells = assert_csv_safe(read_csv(figures.get_data(as_text=True)), "figures.csv")
        counts["figures.csv cells"] = counts.get("figures.csv cells", 0) + cells
    print("\nCSV:", counts)


def test_the_delivery_document_escapes_hostile_names(hostile: Hostile) -> None:
    app, dataset = hostile.app, hostile.data
    organizer = logged_in(app, dataset.console.organizer)
    for campaign in dataset.campaigns:
        signers = dataset.public_of(campaign)
        document = collect_delivery(campaign, lang="ar", english=True)
        assert len(document.named) == len(signers)
        assert_inert(
            delivery_html(document),
            f"delivery HTML of {campaign.slug}",
            payloads=[s.payload for s in signers],
            shown=[s.name for s in signers],
        )
    # The PDF itself, once: made, and holding no script or link action.
    response = organizer.post(
        f"/console/campaigns/{dataset.campaigns[0].slug}/exports/delivery.pdf", data={"lang": "ar"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert_pdf_inert(response.get_data())


def pdf_streams(pdf: bytes) -> list[bytes]:
    """The PDF's objects, with Flate streams inflated (WeasyPrint compresses)."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return chunks


def assert_pdf_inert(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    streams = pdf_streams(pdf)
    assert len(streams) > 1, "no stream could be read: the check would see nothing"
    for chunk in streams:
        # Actions a viewer would run; the names themselves are data (they are
        # in the attached signers.txt, "javascript:alert(1)" included).
        for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/JS<", b"/Launch", b"/URI"):
            assert marker not in chunk, marker


# -- organizer-entered campaign texts ---------------------------------------------


def test_campaign_texts_from_an_organizer_are_shown_as_text(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cheap_passwords(monkeypatch)
    console = make_console()
    campaign = console.campaign
    organizer = logged_in(app, console.organizer)
    title, summary = PAYLOADS[1], PAYLOADS[4]
    body = "\n\n".join(PAYLOADS)
    form = {
        "slug": campaign.slug,
        "kind": "petition",
        "goal": "1000",
        "unit": "<script>alert(1)</script>",
        "partners": str(campaign.partners[0].id),
    }
    for lang in ("ar", "en"):
        form |= {
            f"title_{lang}": title,
            f"summary_{lang}": summary,
            f"body_{lang}": body,
            f"unit_label_{lang}": PAYLOADS[2],
        }
    edited = organizer.post(f"/console/campaigns/{campaign.slug}/edit", data=form)
    assert edited.status_code == 303, edited.status_code
    sign(client_at(app, "198.51.100.1"), campaign, PAYLOADS[0], "signer@example.org", "Idlib")
    run_tasks()
    admin = logged_in(app, console.admin, console)
    pages = [
        (app.test_client(), f"/ar/campaigns/{campaign.slug}"),
        (app.test_client(), f"/en/campaigns/{campaign.slug}"),
        (app.test_client(), f"/ar/campaigns/{campaign.slug}/results"),
        (app.test_client(), f"/ar/campaigns/{campaign.slug}/thanks"),
        (app.test_client(), f"/embed/{campaign.slug}?lang=ar"),
        (app.test_client(), "/ar/"),
        (organizer, "/console/"),
        (organizer, f"/console/campaigns/{campaign.slug}"),
        (organizer, f"/console/campaigns/{campaign.slug}/edit"),
        (admin, "/console/moderation"),
        (admin, f"/console/campaigns/{campaign.slug}/exports"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(
            response.get_data(as_text=True), path, payloads=PAYLOADS, shown=[title[:12]]
        )
    api = app.test_client().get(f"/api/v1/campaigns/{campaign.slug}")
    assert api.mimetype == "application/json" and api.json is not None
    assert api.json["unit"] == "<script>alert(1)</script>"
    [message] = sent_mail(app)
    assert_inert(body_of(message, "html"), "confirmation email", payloads=PAYLOADS, shown=[title])
    assert_inert(
        delivery_html(collect_delivery(campaign, lang="ar", english=True)),
        "delivery HTML",
        payloads=PAYLOADS,
        shown=[title],
    )
    print(f"\ncampaign texts: {len(PAYLOADS)} payloads x {len(pages) + 3} places")


def test_line_breaks_in_titles_and_subjects_add_no_header_and_break_no_email(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organizer's title or update subject with a line break (a crafted
    POST: browsers drop them from one-line fields) neither injects a header
    nor stops the campaign's emails."""
    use_cheap_passwords(monkeypatch)
    console = make_console()
    campaign = console.campaign
    organizer = logged_in(app, console.organizer)
    injected = "\r\nBcc: everyone@evil.test\r\nX-Injected: yes"
    form = {
        "slug": campaign.slug,
        "kind": "petition",
        "goal": "1000",
        "unit": "signatures",
        "title_ar": "أشجار الزيتون" + injected,
        "summary_ar": "ملخص",
        "body_ar": "نص",
        "title_en": "Olive trees" + injected,
        "summary_en": "Summary",
        "body_en": "Body",
    }
    # Refused at the form, with a message: the title stays as it was.
    refused = organizer.post(f"/console/campaigns/{campaign.slug}/edit", data=form)
    assert refused.status_code == 422
    db.session.expire_all()
    assert "Bcc" not in campaign.text("ar").title
    for n, lang in enumerate(("ar", "en")):
        response = client_at(app, f"198.51.100.{n + 1}").post(
            f"/{lang}/campaigns/{campaign.slug}/sign",
            data=sign_form("Rami", f"rami{n}@example.org", region="Idlib"),
        )
        assert response.status_code == 303
    run_tasks()
    confirmations = sent_mail(app)
    assert sorted(str(m["To"]) for m in confirmations) == ["rami0@example.org", "rami1@example.org"]
    assert confirm_all(app, confirmations) == 2
    injected_update = {"subject_ar": "أخبار" + injected, "body_ar": "نص",
                       "subject_en": "News" + injected, "body_en": "Text"}
    url = f"/console/campaigns/{campaign.slug}/updates/new"
    assert organizer.post(url, data=injected_update).status_code == 422
    clean = injected_update | {"subject_ar": "أخبار", "subject_en": "News"}
    created = organizer.post(url, data=clean)
    assert created.status_code == 303
    assert post_confirmed(organizer, created.headers["Location"] + "/send").status_code == 303
    messages = sent_mail(app)
    assert len(messages) == 4, "every confirmation and update email was sent"
    for message in messages:
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
        assert [str(m) for m in message.get_all("To", [])] == [str(message["To"])]
    db.session.rollback()
    failed = db.session.query(EmailLog).filter(EmailLog.status != EmailStatus.sent).count()
    assert failed == 0
