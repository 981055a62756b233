"""A signer's own signature, from a private link (on SQLite and PostgreSQL in
turn): asking for the link answers alike for every address and mails only a
signer, at most once a day, throttled per client address; the link's pages
show on GET and act only on POST; withdrawing erases the personal data at once
and takes the signature out of every figure at the next count run; the name
and the choices can be corrected; a token of another purpose is refused."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import select, text

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    CampaignCount,
    CampaignKind,
    CampaignStatus,
    CountryCount,
    DailyCount,
    EmailKind,
    EmailLog,
    RegionCount,
    Signature,
    SignatureState,
)
from campaigns.outbox import relay_outbox
from campaigns.privacy.personal import read_personal_data
from campaigns.signing.manage.links import make_manage_token
from campaigns.signing.tokens import make_confirm_token
from campaigns.signing.validation import validate_signatures
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.factories import create_campaign, create_signature

from . import pages
from .support import valid_form

CANARY_NAME = "Canary Withdrawer Zqxv"
CANARY_EMAIL = "canary.withdrawer.zqxv@example.org"


def _client(app: Flask, address: str = "192.0.2.10") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sent_mail(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    files = (
        sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
    )
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _reload(signature_id: int) -> Signature:
    db.session.rollback()
    db.session.expire_all()
    signature = db.session.get(Signature, signature_id)
    assert signature is not None
    return signature


def _manage(signature: Signature, lang: str = "en") -> str:
    return f"/{lang}/manage/{make_manage_token(signature.uuid)}"


def _figures(campaign_id: int) -> dict[str, Any]:
    db.session.rollback()
    count = db.session.get(CampaignCount, campaign_id)
    rows = {
        "campaign": (count.signers, count.total) if count else (0, 0),
        "countries": {
            c: (n, t)
            for c, n, t in db.session.execute(
                select(CountryCount.country, CountryCount.signers, CountryCount.total).where(
                    CountryCount.campaign_id == campaign_id
                )
            )
        },
        "regions": {
            (c, r): (n, t)
            for c, r, n, t in db.session.execute(
                select(
                    RegionCount.country, RegionCount.region, RegionCount.signers, RegionCount.total
                ).where(RegionCount.campaign_id == campaign_id)
            )
        },
        "days": {
            d: (n, t)
            for d, n, t in db.session.execute(
                select(DailyCount.day, DailyCount.signers, DailyCount.total).where(
                    DailyCount.campaign_id == campaign_id
                )
            )
        },
    }
    return rows


def _everything_in_the_database() -> str:
    """Every value of every row of every table, as text (bytes decoded
    loosely), to search for what must be gone."""
    db.session.rollback()
    chunks = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            for value in row:
                if isinstance(value, bytes | memoryview):
                    chunks.append(bytes(value).decode("latin-1"))
                else:
                    chunks.append(str(value))
    return "\n".join(chunks)


# -- asking for the link


def test_asking_answers_alike_and_mails_only_a_signer_once_a_day(app: Flask) -> None:
    campaign = create_campaign()
    signer = create_signature(
        campaign, state=SignatureState.validated, email=CANARY_EMAIL, name=CANARY_NAME
    )
    url = f"/en/campaigns/{campaign.slug}/manage"
    assert _client(app).get(url).status_code == 200

    answers = []
    for n, address in enumerate([CANARY_EMAIL, "nobody.signed@example.org", CANARY_EMAIL.upper()]):
        response = _client(app, f"192.0.2.{20 + n}").post(url, data={"email": address})
        answers.append(
            (response.status_code, response.get_data(), response.headers.get("Set-Cookie"))
        )
    # The same page, status and headers whether the address signed or not.
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 200
    assert b"Check your email" in answers[0][1]
    assert CANARY_EMAIL.encode() not in answers[0][1]

    relay_outbox()
    messages = _sent_mail(app)
    assert [m["To"] for m in messages] == [CANARY_EMAIL]
    body = _plain(messages[0])
    assert CANARY_NAME in body
    link = re.search(r"http://zaytoun\.test(/en/manage/\S+)", body)
    assert link is not None, body
    assert "manage your signature" in str(messages[0]["Subject"]).lower()
    # The title of the campaign is inside, not in the subject.
    assert campaign.text("en").title not in str(messages[0]["Subject"])
    page = _client(app).get(link.group(1))
    assert page.status_code == 200
    assert CANARY_NAME in page.get_data(as_text=True)

    # Asked again the same day: no second email.
    _client(app, "192.0.2.40").post(url, data={"email": CANARY_EMAIL})
    relay_outbox()
    assert len(_sent_mail(app)) == 1
    keys = (
        db.session.execute(
            select(EmailLog.dedupe_key).where(EmailLog.kind == EmailKind.manage_link)
        )
        .scalars()
        .all()
    )
    assert len(keys) == 1 and keys[0].startswith(f"manage_link:{signer.id}:")


def test_a_withdrawn_or_other_campaigns_signature_gets_no_link(app: Flask) -> None:
    campaign, other = create_campaign(), create_campaign()
    create_signature(other, state=SignatureState.validated, email="elsewhere@example.org")
    create_signature(campaign, state=SignatureState.withdrawn, email="gone@example.org")
    create_signature(campaign, state=SignatureState.invalidated, email="out@example.org")
    url = f"/en/campaigns/{campaign.slug}/manage"
    for n, address in enumerate(["elsewhere@example.org", "gone@example.org", "out@example.org"]):
        assert (
            _client(app, f"192.0.2.{50 + n}").post(url, data={"email": address}).status_code == 200
        )
    relay_outbox()
    assert _sent_mail(app) == []


def test_a_bad_address_is_refused_with_a_translated_message(app: Flask) -> None:
    campaign = create_campaign()
    url = f"/ar/campaigns/{campaign.slug}/manage"
    for value in ["", "not-an-address", "a@b@c.org", "x" * 300 + "@example.org"]:
        response = _client(app).post(url, data={"email": value})
        assert response.status_code == 422, value
        page = pages.parse(response.get_data(as_text=True))
        assert pages.field_error(page, "email"), value
    db.session.rollback()
    assert db.session.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_asking_is_throttled_per_client_address(app: Flask) -> None:
    campaign = create_campaign()
    url = f"/en/campaigns/{campaign.slug}/manage"
    busy = _client(app, "198.51.100.7")
    statuses = [
        busy.post(url, data={"email": f"someone{n}@example.org"}).status_code for n in range(7)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
    refused = busy.post(url, data={"email": "someone@example.org"})
    assert "wait a few minutes" in refused.get_data(as_text=True)
    # Another address is not slowed down by this one.
    assert (
        _client(app, "198.51.100.8").post(url, data={"email": "x@example.org"}).status_code == 200
    )


# -- the link's pages


def test_get_and_head_never_act(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated, show_name=True)
    client = _client(app)
    before = (signature.state, signature.show_name, signature.personal_data)
    url = _manage(signature)
    for path in (url, f"{url}/withdraw"):
        for _ in range(3):  # mail scanners open links, sometimes several times
            assert client.get(path).status_code == 200
            assert client.head(path).status_code == 200
    for path in (f"{url}/choices", f"{url}/name"):
        assert client.get(path).status_code == 405
    stored = _reloaded = _reload(signature.id)
    assert (stored.state, stored.show_name, stored.personal_data) == before
    assert db.session.execute(select(AuditEntry)).first() is None
    del _reloaded


@pytest.mark.parametrize("kind", [CampaignKind.petition, CampaignKind.pledge])
def test_withdrawing_erases_at_once_and_leaves_every_figure_at_the_next_count(
    app: Flask, kind: CampaignKind
) -> None:
    campaign = create_campaign(kind=kind)
    for n in range(6):
        create_signature(
            campaign, state=SignatureState.validated, country="SY", email=f"s{n}@example.org"
        )
    create_signature(campaign, state=SignatureState.validated, country="TR", region="Gaziantep")
    signature = create_signature(
        campaign,
        state=SignatureState.validated,
        email=CANARY_EMAIL,
        name=CANARY_NAME,
        country="SY",
        region="Aleppo",
        region_code="SY-HL",
        amount=7 if kind is CampaignKind.pledge else None,
        show_name=True,
        deliver_name=True,
        contact_ok=True,
    )
    update_signature_counts()
    before = _figures(campaign.id)
    units = 7 if kind is CampaignKind.pledge else 1
    assert before["campaign"] == (8, 12 + 2 + units if kind is CampaignKind.pledge else 8)

    client = _client(app)
    url = _manage(signature)
    confirm_page = client.get(f"{url}/withdraw")
    assert confirm_page.status_code == 200
    assert CANARY_NAME not in confirm_page.get_data(as_text=True)

    response = client.post(f"{url}/withdraw")
    assert response.status_code == 303
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    heading = (
        "Your pledge is withdrawn" if kind is CampaignKind.pledge else "Your signature is withdrawn"
    )
    assert heading in done.get_data(as_text=True)

    # Erased at once: the canary is nowhere in the database, before any count.
    stored = _reload(signature.id)
    assert stored.state is SignatureState.withdrawn
    assert stored.personal_data is None and stored.ip_hash is None
    assert stored.email_domain_hash is None
    assert not (stored.show_name or stored.deliver_name or stored.contact_ok)
    # Kept to keep counts honest: the fingerprint (no second signature from
    # the same address), and what the count job subtracts from.
    assert stored.fingerprint is not None and stored.validated_at is not None
    assert (stored.country, stored.region_code) == ("SY", "SY-HL")
    everything = _everything_in_the_database()
    assert CANARY_NAME not in everything and "canary.withdrawer" not in everything.lower()

    # Not yet out of the figures: the count job takes it out at its next run.
    assert _figures(campaign.id) == before
    update_signature_counts()
    after = _figures(campaign.id)
    assert after["campaign"] == (before["campaign"][0] - 1, before["campaign"][1] - units)
    assert after["countries"]["SY"] == (
        before["countries"]["SY"][0] - 1,
        before["countries"]["SY"][1] - units,
    )
    assert after["countries"]["TR"] == before["countries"]["TR"]
    region = ("SY", "SY-HL")
    assert after["regions"][region] == (
        before["regions"][region][0] - 1,
        before["regions"][region][1] - units,
    )
    [day] = before["days"]
    assert after["days"][day] == (before["days"][day][0] - 1, before["days"][day][1] - units)
    # Nothing more at the next runs.
    update_signature_counts()
    assert _figures(campaign.id) == after

    # Withdrawing twice is fine: the same page, nothing more happens.
    again = client.post(f"{url}/withdraw")
    assert again.status_code == 303
    assert client.get(again.headers["Location"]).get_data() == done.get_data()
    # The link's own page says so too (its language switcher points elsewhere).
    assert heading in client.get(url).get_data(as_text=True)
    entries = db.session.execute(select(AuditEntry)).scalars().all()
    assert [(e.action, e.user_id, e.target_id) for e in entries] == [
        ("signature_withdrawn", None, str(signature.id))
    ]
    assert entries[0].details == {
        "campaign_id": campaign.id,
        "before": "validated",
        "counted": True,
        "via": "manage_link",
    }
    update_signature_counts()
    assert _figures(campaign.id) == after


def test_a_pending_signature_withdrawn_never_counts(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True, email=CANARY_EMAIL, name=CANARY_NAME)
    client = _client(app)
    assert client.post(f"{_manage(signature)}/withdraw").status_code == 303
    # Its confirmation link no longer confirms it.
    token = make_confirm_token(_reload(signature.id).uuid)
    assert client.post(f"/en/confirm/{token}").status_code == 404
    update_signature_counts()
    assert _figures(campaign.id)["campaign"] == (0, 0)
    assert _reload(signature.id).state is SignatureState.withdrawn


def test_a_held_signature_can_be_withdrawn_and_leaves_the_review_queue(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(
        campaign, state=SignatureState.held, email=CANARY_EMAIL, name=CANARY_NAME,
        hold_reason="rate_burst",
    )  # fmt: skip
    client = _client(app)
    assert client.get(_manage(signature)).status_code == 200
    assert client.post(f"{_manage(signature)}/withdraw").status_code == 303
    withdrawn = _reload(signature.id)
    assert withdrawn.state is SignatureState.withdrawn and withdrawn.personal_data is None
    assert CANARY_EMAIL not in _everything_in_the_database()


def test_signing_again_after_withdrawing_is_absorbed_like_a_duplicate(app: Flask) -> None:
    campaign = create_campaign()
    client = _client(app)
    form = valid_form(email=CANARY_EMAIL, full_name=CANARY_NAME, amount=None)
    assert client.post(f"/en/campaigns/{campaign.slug}/sign", data=form).status_code == 303
    [signature] = db.session.execute(select(Signature)).scalars().all()
    validate_signatures([signature.id])
    assert client.post(f"{_manage(signature)}/withdraw").status_code == 303
    mails = len(_sent_mail(app))

    again = _client(app, "192.0.2.99").post(f"/en/campaigns/{campaign.slug}/sign", data=form)

    assert again.status_code == 303 and again.headers["Location"].endswith("/thanks")
    relay_outbox()
    db.session.rollback()
    rows = db.session.execute(select(Signature)).scalars().all()
    assert [(s.id, s.state) for s in rows] == [(signature.id, SignatureState.withdrawn)]
    assert rows[0].personal_data is None
    # No address is left to write to.
    assert len(_sent_mail(app)) == mails


def test_the_name_and_the_choices_can_be_corrected(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(
        campaign, state=SignatureState.validated, name="Rmi Halabi", consent_version=1
    )
    client = _client(app)
    url = _manage(signature)
    page = pages.parse(client.get(url).get_data(as_text=True))
    assert pages.form_value(page, "full_name") == "Rmi Halabi"

    response = client.post(f"{url}/name", data={"full_name": "  Rami   Halabi "})
    assert response.status_code == 303
    assert "Your name is saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    stored = _reload(signature.id)
    assert read_personal_data(stored)["name"] == "Rami Halabi"
    assert read_personal_data(stored)["email"] == read_personal_data(signature)["email"]

    response = client.post(f"{url}/choices", data={"show_name": "y"})
    assert response.status_code == 303
    stored = _reload(signature.id)
    assert (stored.show_name, stored.deliver_name, stored.consent_version) == (True, False, 2)
    client.post(f"{url}/choices", data={"deliver_name": "y"})
    stored = _reload(signature.id)
    assert (stored.show_name, stored.deliver_name) == (False, True)

    # Refused names change nothing and say why.
    for bad in ["", "   ", "x" * 101, "Rami\x00Halabi"]:
        refused = client.post(f"{url}/name", data={"full_name": bad})
        assert refused.status_code == 422, bad
        assert pages.field_error(pages.parse(refused.get_data(as_text=True)), "full_name"), bad
    assert read_personal_data(_reload(signature.id))["name"] == "Rami Halabi"

    # The same again changes nothing and is not audited twice.
    client.post(f"{url}/name", data={"full_name": "Rami Halabi"})
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert [(e.action, e.user_id) for e in entries] == [
        ("signature_name_corrected", None),
        ("signature_choices_changed", None),
        ("signature_choices_changed", None),
    ]
    audit_text = str([(e.details, e.target_id) for e in entries])
    assert "Rami" not in audit_text and "Rmi" not in audit_text


def test_changes_after_withdrawing_show_the_withdrawn_page(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated)
    client = _client(app)
    url = _manage(signature)
    client.post(f"{url}/withdraw")
    for path, data in (
        (f"{url}/name", {"full_name": "New"}),
        (f"{url}/choices", {"show_name": "y"}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 200
        assert "Your signature is withdrawn" in response.get_data(as_text=True)
    stored = _reload(signature.id)
    assert stored.personal_data is None and not stored.show_name


def _expired(app: Flask, signature: Signature, monkeypatch: pytest.MonkeyPatch) -> str:
    made_at = int(time.time()) - app.config["MANAGE_TOKEN_MAX_AGE"] - 60
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: made_at)
        return make_manage_token(signature.uuid)


def test_tokens_of_another_purpose_and_bad_tokens_are_refused_clearly(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated, checked=True)
    client = _client(app)
    refused = {
        "confirm token": make_confirm_token(signature.uuid),
        "unsubscribe token": make_unsubscribe_token(signature.uuid),
        "tampered": make_manage_token(signature.uuid)[:-3] + "AAA",
        "junk": "not-a-token",
        "too long": "a" * 500,
    }
    for label, token in refused.items():
        for method, suffix in (
            ("GET", ""),
            ("GET", "/withdraw"),
            ("POST", "/withdraw"),
            ("POST", "/name"),
            ("POST", "/choices"),
        ):
            response = client.open(
                f"/ar/manage/{token}{suffix}",
                method=method,
                data={"full_name": "x", "show_name": "y"},
            )
            assert response.status_code == 404, (label, method, suffix)
            assert "هذا الرابط لا يعمل" in response.get_data(as_text=True), (label, suffix)
    expired = _expired(app, signature, monkeypatch)
    response = client.post(f"/en/manage/{expired}/withdraw")
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)
    # The manage token does not confirm either.
    assert client.post(f"/en/confirm/{make_manage_token(signature.uuid)}").status_code == 404
    stored = _reload(signature.id)
    assert stored.state is SignatureState.validated and stored.personal_data is not None

    # Once the campaign's data is erased (a new UUID), the link leads nowhere.
    from campaigns.retention.services import erase_campaign

    url = _manage(signature)
    closed = db.session.get(type(campaign), campaign.id)
    assert closed is not None
    closed.status = CampaignStatus.closed
    db.session.commit()
    erase_campaign(closed)
    assert client.get(url).status_code == 404


def test_the_confirmation_email_and_page_carry_the_link(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email=CANARY_EMAIL, name=CANARY_NAME, locale="en")
    validate_signatures([signature.id])
    [message] = _sent_mail(app)
    body = _plain(message)
    manage = re.search(r"http://zaytoun\.test(/en/manage/\S+)", body)
    confirm = re.search(r"http://zaytoun\.test(/en/confirm/\S+)", body)
    assert manage is not None and confirm is not None, body
    html = message.get_body(("html",))
    assert html is not None and manage.group(1) in str(html.get_content())

    client = _client(app)
    assert client.get(manage.group(1)).status_code == 200
    pressed = client.post(confirm.group(1))
    assert pressed.status_code == 303
    shown = client.get(pressed.headers["Location"]).get_data(as_text=True)
    links = re.findall(r'href="(/en/manage/[^"]+)"', shown)
    assert len(links) == 1
    assert client.get(links[0]).status_code == 200
    # Shown once: the next visit of the page (a shared device) does not show it.
    again = client.get(pressed.headers["Location"]).get_data(as_text=True)
    assert "/en/manage/" not in again


def test_the_audit_log_says_a_signer_did_it_on_which_campaign(app: Flask) -> None:
    from campaigns.console.audit_text import audit_lines

    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated, name="Rmi")
    client = _client(app)
    url = _manage(signature)
    client.post(f"{url}/name", data={"full_name": "Rami"})
    client.post(f"{url}/choices", data={"show_name": "y"})
    client.post(f"{url}/withdraw")
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    with app.test_request_context("/en/"):
        sentences = [str(line.sentence) for line in audit_lines(entries)]
    title = campaign.text("en").title
    assert sentences == [
        f"A signer corrected their name on their signature on the campaign «<bdi>{title}</bdi>»",
        "A signer changed what is public about their signature on the campaign "
        f"«<bdi>{title}</bdi>»",
        f"A signer withdrew their signature from the campaign «<bdi>{title}</bdi>»",
    ]
    assert "Rami" not in "".join(sentences) and "Rmi" not in "".join(sentences)
