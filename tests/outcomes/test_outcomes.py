"""From signatures to change: organizers publish the addressee's response,
record deliveries and make commitments at thresholds; each appears on the
public pages in the reader's language and in the API, and a response or a
delivery reaches the consenting signers by email in their language (and
nobody else). Bad input changes nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from campaigns.counting.services import recount_signatures, update_signature_counts
from campaigns.extensions import db
from campaigns.ledger.services import publish_ledger
from campaigns.models import (
    CampaignDelivery,
    CampaignResponse,
    CampaignThreshold,
    CampaignUpdate,
    SignatureState,
)
from campaigns.models.types import utcnow
from campaigns.outcomes.pdf import MAX_PDF_BYTES
from tests.api.test_api import response_schema
from tests.factories import create_signature
from tests.media.support import CAMERA, phone_jpeg
from tests.moderation.support import Console, logged_in, make_console
from tests.updates.support import plain_body, sent_mail

from .support import make_pdf

LANGS = ("ar", "en", "ku", "tr")
SLUG = "honest-campaign"
BY = {
    "ar": "المفوضية السامية لحقوق الإنسان",
    "en": "The Office of the High Commissioner",
    "ku": "Ofîsa Komîserê Bilind",
    "tr": "Yüksek Komiserlik Ofisi",
}
ANSWER = {
    "ar": "تلقّينا عريضتكم وسننظر فيها.",
    "en": "We received your petition and will consider it.",
    "ku": "Me daxwaznameya we wergirt û em ê lê binêrin.",
    "tr": "Dilekçenizi aldık ve inceleyeceğiz.",
}
RECIPIENT = {
    "ar": "بعثة فرنسا الدائمة",
    "en": "The Permanent Mission of France",
    "ku": "Nûneratiya Daîmî ya Fransayê",
    "tr": "Fransa Daimi Temsilciliği",
}
PLACE = {"ar": "جنيف", "en": "Geneva", "ku": "Cenevre (ku)", "tr": "Cenevre"}
# How each language labels what is new on the page.
RESPONSES = {"ar": "الردود", "en": "Responses", "ku": "Bersiv", "tr": "Yanıtlar"}
IN_PERSON = {"ar": "شخصيًا", "en": "In person", "ku": "Bi xwe", "tr": "Elden"}


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def _response_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"day": "2026-11-20"}
    for lang in LANGS:
        data[f"by_{lang}"] = BY[lang]
        data[f"text_{lang}"] = ANSWER[lang]
    data.update(overrides)
    return data


def _delivery_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"day": "2026-11-18", "method": "in_person", "document": ""}
    for lang in LANGS:
        data[f"recipient_{lang}"] = RECIPIENT[lang]
        data[f"place_{lang}"] = PLACE[lang]
    data.update(overrides)
    return data


def _signers(console: Console) -> dict[str, str]:
    """Consenting signers in each language, and three who must get nothing."""
    wanted = {}
    for lang in LANGS:
        email = f"signer-{lang}@example.org"
        create_signature(
            console.campaign,
            state=SignatureState.validated,
            contact_ok=True,
            locale=lang,
            email=email,
        )
        wanted[email] = lang
    create_signature(
        console.campaign,
        state=SignatureState.validated,
        contact_ok=False,
        email="no-contact@example.org",
    )
    create_signature(
        console.campaign, state=SignatureState.pending, contact_ok=True, email="pending@example.org"
    )
    create_signature(
        console.other_campaign,
        state=SignatureState.validated,
        contact_ok=True,
        email="other-campaign@example.org",
    )
    return wanted


@pytest.fixture
def console(app: Flask) -> Console:
    return make_console()


@pytest.fixture
def organizer(app: Flask, console: Console) -> FlaskClient:
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "en")
    return client


def _mail_by_recipient(app: Flask) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in sent_mail(app):
        found.setdefault(str(message["To"]), []).append(
            str(message["Subject"]) + "\n" + plain_body(message)
        )
    return found


def test_a_response_is_published_shown_in_every_language_and_mailed_to_consenting_signers(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    wanted = _signers(console)
    pdf = make_pdf()
    response = organizer.post(
        f"/console/campaigns/{SLUG}/responses/new",
        data=_response_form(pdf=(io.BytesIO(pdf), "letter.pdf")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    item = db.session.execute(select(CampaignResponse)).scalar_one()
    assert item.texts["tr"] == {"by": BY["tr"], "text": ANSWER["tr"]}
    assert item.pdf == pdf and item.pdf_size == len(pdf)

    public = app.test_client()
    for lang in LANGS:
        for path in (f"/{lang}/campaigns/{SLUG}", f"/{lang}/campaigns/{SLUG}/results"):
            page = public.get(path)
            assert page.status_code == 200, path
            words = _text(page.get_data(as_text=True))
            assert RESPONSES[lang] in words, path
            assert BY[lang] in words and ANSWER[lang] in words, path
            # Only the reader's language.
            for other in set(LANGS) - {lang}:
                assert ANSWER[other] not in words, (path, other)
            assert f'href="/responses/{item.public_id}.pdf"' in page.get_data(as_text=True)

    api = public.get(f"/api/v1/campaigns/{SLUG}").get_json()
    response_schema("/api/v1/campaigns/{slug}").validate(api)
    assert api["responses"] == [
        {
            "date": "2026-11-20",
            "texts": {lang: {"by": BY[lang], "text": ANSWER[lang]} for lang in LANGS},
            "pdf": f"http://localhost/responses/{item.public_id}.pdf",
        }
    ]

    download = public.get(f"/responses/{item.public_id}.pdf")
    assert download.status_code == 200
    assert download.data == pdf
    assert download.mimetype == "application/pdf"
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="response-2026-11-20.pdf"'
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert public.get("/responses/0123456789abcdef0123456789abcdef.pdf").status_code == 404

    mail = _mail_by_recipient(app)
    assert set(mail) == set(wanted)
    for address, lang in wanted.items():
        (message,) = mail[address]
        assert BY[lang] in message and ANSWER[lang] in message, lang
    update = db.session.execute(select(CampaignUpdate)).scalar_one()
    assert item.update_id == update.id and update.recipients == len(wanted)


def test_a_delivery_is_recorded_shown_as_a_timeline_and_mailed(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    wanted = _signers(console)
    head = "ab" * 32
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new",
        data=_delivery_form(chain_head=head.upper()),
    )
    assert response.status_code == 303
    item = db.session.execute(select(CampaignDelivery)).scalar_one()
    assert item.chain_head == head

    public = app.test_client()
    for lang in LANGS:
        words = _text(public.get(f"/{lang}/campaigns/{SLUG}").get_data(as_text=True))
        assert RECIPIENT[lang] in words and PLACE[lang] in words, lang
        assert f"({IN_PERSON[lang]})" in words, lang
        for other in set(LANGS) - {lang}:
            assert RECIPIENT[other] not in words
    api = public.get(f"/api/v1/campaigns/{SLUG}").get_json()
    response_schema("/api/v1/campaigns/{slug}").validate(api)
    assert api["deliveries"] == [
        {
            "date": "2026-11-18",
            "method": "in_person",
            "texts": {lang: {"recipient": RECIPIENT[lang], "place": PLACE[lang]} for lang in LANGS},
            "chain_head": head,
            "ledger_head": None,
            "ledger_signers": None,
            "ledger_total": None,
            "ledger_url": None,
        }
    ]
    mail = _mail_by_recipient(app)
    assert set(mail) == set(wanted)
    for address, lang in wanted.items():
        (message,) = mail[address]
        assert RECIPIENT[lang] in message and IN_PERSON[lang] in message, lang


def test_a_delivery_can_name_a_document_produced_for_the_campaign(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    made = organizer.post(f"/console/campaigns/{SLUG}/exports/delivery.pdf", data={"lang": "en"})
    assert made.status_code == 200
    form = organizer.get(f"/console/campaigns/{SLUG}/deliveries/new").get_data(as_text=True)
    values = re.findall(r'<option value="([0-9a-f]{64})"', form)
    assert len(values) == 1
    assert (
        organizer.post(
            f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(document=values[0])
        ).status_code
        == 303
    )
    assert db.session.execute(select(CampaignDelivery.chain_head)).scalar_one() == values[0]
    # A value that is no document of this campaign is refused.
    refused = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(document="cd" * 32)
    )
    assert refused.status_code == 422


def _two_heads(console: Console) -> None:
    """Heads #1 (the consenting signers and one more) and #2 (one more)."""
    _signers(console)
    update_signature_counts()
    publish_ledger()
    create_signature(console.campaign, state=SignatureState.validated)
    update_signature_counts()
    publish_ledger(utcnow() + timedelta(hours=1))


def _head_options(form: str) -> list[tuple[str, str]]:
    """The ledger head select's options, as ("selected " or "", value)."""
    select_html = re.search(r'<select[^>]*name="ledger_head".*?</select>', form, re.S)
    assert select_html is not None
    return re.findall(r'<option (selected )?value="([^"]*)"', select_html.group(0))


def _deliveries_count() -> int:
    return int(db.session.execute(select(func.count()).select_from(CampaignDelivery)).scalar_one())


# "Ledger head #1 (5 signatures)" in the timeline, in each language.
LEDGER_MARK = {
    "ar": "رأس السجل رقم 1 (عدد التوقيعات: 5)",
    "en": "Ledger head #1 (5 signatures)",
}


def test_a_delivery_records_the_signed_ledger_head_it_was_made_with(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    _two_heads(console)
    form = organizer.get(f"/console/campaigns/{SLUG}/deliveries/new").get_data(as_text=True)
    # Newest first, the latest chosen, and none allowed.
    assert _head_options(form) == [("", ""), ("selected ", "2"), ("", "1")]
    assert "Head #2, signed " in _text(form) and "(UTC): 6 signatures" in _text(form)
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(ledger_head="1")
    )
    assert response.status_code == 303
    assert db.session.execute(select(CampaignDelivery.ledger_head)).scalar_one() == 1

    public = app.test_client()
    for lang, words in LEDGER_MARK.items():
        page = public.get(f"/{lang}/campaigns/{SLUG}").get_data(as_text=True)
        assert words in _text(page), lang
        assert f'href="/{lang}/campaigns/{SLUG}/ledger#head-1"' in page, lang
        ledger = public.get(f"/{lang}/campaigns/{SLUG}/ledger").get_data(as_text=True)
        assert 'id="head-1"' in ledger and 'id="head-2"' in ledger
    api = public.get(f"/api/v1/campaigns/{SLUG}").get_json()
    response_schema("/api/v1/campaigns/{slug}").validate(api)
    (delivery,) = api["deliveries"]
    assert delivery["ledger_head"] == 1
    assert delivery["ledger_signers"] == 5 and delivery["ledger_total"] == 5
    assert delivery["ledger_url"] == f"http://localhost/ar/campaigns/{SLUG}/ledger#head-1"


@pytest.mark.parametrize("number", ["3", "0", "-1", "x", "1" * 30])
def test_a_ledger_head_the_campaign_does_not_have_is_refused(
    app: Flask, console: Console, organizer: FlaskClient, number: str
) -> None:
    _two_heads(console)
    organizer.set_cookie("lang", "ar")
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(ledger_head=number)
    )
    assert response.status_code == 422
    assert "يُرجى اختيار رأس من رؤوس السجل في القائمة." in _text(response.get_data(as_text=True))
    assert _deliveries_count() == 0
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar() == 0


def test_another_campaigns_ledger_head_is_refused_and_none_is_allowed(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    create_signature(console.other_campaign, state=SignatureState.validated)
    update_signature_counts()
    publish_ledger()
    form = organizer.get(f"/console/campaigns/{SLUG}/deliveries/new").get_data(as_text=True)
    assert _head_options(form) == [("selected ", "")]
    refused = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(ledger_head="1")
    )
    assert refused.status_code == 422
    assert "Please choose a ledger head from the list." in _text(refused.get_data(as_text=True))
    assert _deliveries_count() == 0
    done = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(ledger_head="")
    )
    assert done.status_code == 303
    assert db.session.execute(select(CampaignDelivery.ledger_head)).scalar_one() is None
    public = app.test_client()
    assert "#head-" not in public.get(f"/en/campaigns/{SLUG}").get_data(as_text=True)
    (delivery,) = public.get(f"/api/v1/campaigns/{SLUG}").get_json()["deliveries"]
    assert delivery["ledger_head"] is None and delivery["ledger_url"] is None


BAD_RESPONSES = {
    "no-date": ({"day": ""}, "Enter a date as year-month-day"),
    "bad-date": ({"day": "2026-02-30"}, "Enter a date as year-month-day"),
    "words": ({"day": "yesterday"}, "Enter a date as year-month-day"),
    "future": (
        {"day": (utcnow() + timedelta(days=2)).date().isoformat()},
        "cannot be in the future",
    ),
    "no-arabic": ({"text_ar": ""}, "The Arabic text is required."),
    "half-a-language": ({"by_tr": ""}, "Fill in both fields of this language, or neither."),
    "png": ({"pdf": (b"\x89PNG\r\n\x1a\n" + b"\0" * 99, "letter.pdf")}, "This file is not a PDF."),
    "damaged": ({"pdf": (make_pdf()[:-40], "letter.pdf")}, "damaged or incomplete"),
    "script": (
        {"pdf": (make_pdf(b"/OpenAction << /S /JavaScript /JS (x) >> "), "l.pdf")},
        "a script or an action",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RESPONSES))
def test_a_bad_response_is_refused_with_a_clear_error_and_changes_nothing(
    app: Flask, console: Console, organizer: FlaskClient, case: str
) -> None:
    _signers(console)
    overrides, message = BAD_RESPONSES[case]
    if "pdf" in overrides:
        data, name = overrides["pdf"]  # type: ignore[misc]
        overrides = {"pdf": (io.BytesIO(data), name)}
    response = organizer.post(
        f"/console/campaigns/{SLUG}/responses/new",
        data=_response_form(**overrides),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert message in _text(response.get_data(as_text=True))
    assert db.session.execute(select(func.count()).select_from(CampaignResponse)).scalar() == 0
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar() == 0
    assert sent_mail(app) == []


def test_an_oversized_pdf_is_refused_in_the_organizers_language(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    organizer.set_cookie("lang", "tr")
    response = organizer.post(
        f"/console/campaigns/{SLUG}/responses/new",
        data=_response_form(pdf=(io.BytesIO(make_pdf(padding=MAX_PDF_BYTES * 3)), "a.pdf")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "PDF 5 MB'tan büyük." in _text(response.get_data(as_text=True))
    # Past the form's limit but not the request's: refused by the check.
    response = organizer.post(
        f"/console/campaigns/{SLUG}/responses/new",
        data=_response_form(pdf=(io.BytesIO(make_pdf(padding=MAX_PDF_BYTES)), "a.pdf")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "PDF 5 MB'tan büyük." in _text(response.get_data(as_text=True))
    assert db.session.execute(select(func.count()).select_from(CampaignResponse)).scalar() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"chain_head": "xyz"}, "A chain value is 64 hexadecimal digits"),
        ({"chain_head": "ab" * 31}, "A chain value is 64 hexadecimal digits"),
        ({"method": "pigeon"}, "Please choose how it was delivered."),
        ({"day": "2026-13-01"}, "Enter a date as year-month-day"),
        ({"recipient_ar": ""}, "The Arabic text is required."),
    ],
    ids=["not-hex", "short", "method", "date", "no-arabic"],
)
def test_a_bad_delivery_is_refused_and_changes_nothing(
    app: Flask, console: Console, organizer: FlaskClient, overrides: dict[str, str], message: str
) -> None:
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new", data=_delivery_form(**overrides)
    )
    assert response.status_code == 422
    assert message in _text(response.get_data(as_text=True))
    assert db.session.execute(select(func.count()).select_from(CampaignDelivery)).scalar() == 0
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar() == 0


COMMITMENT = {
    "ar": "نسلّم العريضة إلى البعثات في جنيف",
    "en": "we deliver to the missions in Geneva",
    "ku": "em ê radestî nûneratiyên li Cenevreyê bikin",
    "tr": "Cenevre'deki temsilciliklere teslim ederiz",
}
NEXT_TO_GO = {"ar": "بقي", "en": "to go", "ku": "maye", "tr": "kaldı"}


def test_thresholds_show_the_progress_to_the_next_commitment(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    for _ in range(3):
        create_signature(console.campaign, state=SignatureState.validated)
    recount_signatures(console.campaign)
    data = {"count": "10", **{f"commitment_{lang}": COMMITMENT[lang] for lang in LANGS}}
    assert organizer.post(f"/console/campaigns/{SLUG}/thresholds", data=data).status_code == 303
    reached = {"count": "2", "commitment_ar": "نشكركم", "commitment_en": "we thank you"}
    assert organizer.post(f"/console/campaigns/{SLUG}/thresholds", data=reached).status_code == 303
    # The same number twice, a number below 1, no Arabic: refused.
    assert organizer.post(f"/console/campaigns/{SLUG}/thresholds", data=data).status_code == 422
    assert (
        organizer.post(
            f"/console/campaigns/{SLUG}/thresholds", data={**data, "count": "0"}
        ).status_code
        == 422
    )
    assert (
        organizer.post(
            f"/console/campaigns/{SLUG}/thresholds",
            data={**data, "count": "5", "commitment_ar": ""},
        ).status_code
        == 422
    )
    assert db.session.execute(select(func.count()).select_from(CampaignThreshold)).scalar() == 2

    public = app.test_client()
    for lang in LANGS:
        page = public.get(f"/{lang}/campaigns/{SLUG}").get_data(as_text=True)
        found = re.search(r'<section class="outcome commitments".*?</section>', page, re.S)
        assert found is not None, lang
        section = found.group(0)
        assert COMMITMENT[lang] in unescape(section)
        assert '<progress max="10" value="3">' in section
        assert NEXT_TO_GO[lang] in section
    english = public.get(f"/en/campaigns/{SLUG}").get_data(as_text=True)
    assert "3 of 10, 7 to go." in english and "Reached 2:" in _text(english)
    api = public.get(f"/api/v1/campaigns/{SLUG}").get_json()
    response_schema("/api/v1/campaigns/{slug}").validate(api)
    assert [t["count"] for t in api["thresholds"]] == [2, 10]
    assert api["thresholds"][1]["texts"] == COMMITMENT

    threshold_id = db.session.execute(
        select(CampaignThreshold.id).where(CampaignThreshold.count == 10)
    ).scalar_one()
    remove = f"/console/campaigns/{SLUG}/thresholds/{threshold_id}/delete"
    # A page showing another number removes nothing.
    refused = organizer.post(remove, data={"count": "2"})
    assert refused.status_code == 303
    assert 'role="alert"' in organizer.get(refused.headers["Location"]).get_data(as_text=True)
    assert organizer.post(remove, data={"count": "10"}).status_code == 303
    assert organizer.post(remove, data={"count": "10"}).status_code == 404
    page = public.get(f"/en/campaigns/{SLUG}").get_data(as_text=True)
    assert '<progress max="10"' not in page


def test_a_delivery_photo_is_re_encoded_without_metadata_and_shown(
    app: Flask, console: Console, organizer: FlaskClient
) -> None:
    upload = phone_jpeg(1600, 1200)
    assert b"GPS" in upload or Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new",
        data=_delivery_form(photo=(io.BytesIO(upload), "IMG_0001.jpg")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    item = db.session.execute(select(CampaignDelivery)).scalar_one()
    assert item.photo is not None and item.photo_name is not None
    assert (item.photo_width, item.photo_height) == (720, 540)
    kept = Image.open(io.BytesIO(item.photo))
    assert kept.format == "WEBP" and not kept.getexif()
    for marker in (b"Exif", b"GPS", CAMERA.encode(), b"2026:03:15"):
        assert marker not in item.photo, marker

    public = app.test_client()
    for lang in LANGS:
        page = public.get(f"/{lang}/campaigns/{SLUG}").get_data(as_text=True)
        img = re.search(r'<img src="(/deliveries/[^"]+)"[^>]*alt="([^"]+)"', page)
        assert img is not None, lang
        assert RECIPIENT[lang] in unescape(img.group(2)), lang
    served = public.get(img.group(1))
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert served.data == item.photo
    assert "immutable" in served.headers["Cache-Control"]
    assert public.get("/deliveries/no-such-photo.webp").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + b"\0" * 200, "This file is not a JPEG, PNG or WebP image."),
        (make_pdf(), "This file is not a JPEG, PNG or WebP image."),
    ],
    ids=["gif", "pdf"],
)
def test_a_photo_that_is_no_photo_is_refused_and_changes_nothing(
    app: Flask, console: Console, organizer: FlaskClient, data: bytes, message: str
) -> None:
    response = organizer.post(
        f"/console/campaigns/{SLUG}/deliveries/new",
        data=_delivery_form(photo=(io.BytesIO(data), "photo.jpg")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert message in _text(response.get_data(as_text=True))
    assert db.session.execute(select(func.count()).select_from(CampaignDelivery)).scalar() == 0
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar() == 0
