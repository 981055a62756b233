"""Fifty people behind one address (a camp, an office, an internet café) on
real components: the form over HTTP with CSRF on, the outbox relayed by
Celery beat to a worker process through Redis, the confirmation emails over
SMTP, the console's review over HTTP with its login and second factor, and
the batched count. None is lost and none is emailed twice:

- ten earlier signers from the address use up its limit (10 a minute);
- the fifty after them each get exactly one confirmation email, all confirm,
  and all are held for review (not fraudulent, not counted);
- one decision in the console releases the group;
- after the count job all fifty are counted."""

from __future__ import annotations

import json
import re
import time

import pyotp
import pytest
from sqlalchemy import func, select

from campaigns.accounts.services import create_user
from campaigns.accounts.totp import seal_secret
from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    EmailKind,
    EmailLog,
    Organization,
    Role,
    Signature,
)

from .browser import Browser, Response
from .stack import Site, wait_until

pytestmark = pytest.mark.integration

SLUG = "no-russia-on-hrc"
EARLIER = 10  # the default RATE_BURST_LIMIT: they pass as usual
CAMP = 50
EMAIL_TIMEOUT = 60
COUNT_TIMEOUT = 30
ADMIN_EMAIL = "reviewer@union.zaytoun.test"
ADMIN_PASSWORD = "olive-trees-of-afrin-review-2026"
ADMIN_SECRET = pyotp.random_base32()


def sign(site: Site, email: str, name: str) -> None:
    browser = Browser()
    page = browser.get(f"{site.url}/en/campaigns/{SLUG}")
    assert page.status == 200, page.text
    (form,) = [f for f in page.forms() if f.action.split("#")[0].endswith(f"/{SLUG}/sign")]
    answer = browser.post(
        form.action.split("#")[0],
        {
            "csrf_token": form.fields["csrf_token"],
            "full_name": name,
            "email": email,
            "phone": "",
            "country": "SY",
            "region": "Idlib",
        },
    )
    assert answer.status == 303, answer.text


def confirm_link(site: Site, address: str) -> str:
    [message] = site.mailbox.wait_for_messages_to(
        address, 1, EMAIL_TIMEOUT, site.worker.log_tail
    )
    plain = message.get_body(("plain",))
    assert plain is not None
    [link] = re.findall(re.escape(f"{site.url}/en/confirm/") + r"[A-Za-z0-9_.\-]+",
                        plain.get_content())
    return str(link)


def press_confirm(link: str) -> None:
    browser = Browser()
    page = browser.get(link)
    assert page.status == 200, page.text
    (form,) = page.forms()
    answer = browser.post(form.action, {"csrf_token": form.fields["csrf_token"]})
    assert answer.status == 303, answer.text
    assert answer.location().endswith(f"/campaigns/{SLUG}?confirmed=1")  # type: ignore[union-attr]


def read_count(site: Site) -> dict[str, int]:
    answer = Browser().get(f"{site.url}/api/v1/campaigns/{SLUG}/count")
    assert answer.status == 200, answer.text
    data = json.loads(answer.body)
    return {"total": int(data["total"]), "signers": int(data["signers"])}


def states(site: Site) -> dict[str, int]:
    """How many signatures of the campaign are in each state, held or not."""
    with site.app.app_context():
        rows = db.session.execute(
            select(Signature.state, Signature.hold_reason.is_not(None), func.count())
            .join(Campaign, Campaign.id == Signature.campaign_id)
            .where(Campaign.slug == SLUG)
            .group_by(Signature.state, Signature.hold_reason.is_not(None))
        ).all()
        db.session.remove()
    return {f"{state.value}{' (over the limit)' if over else ''}": n for state, over, n in rows}


def reviewer(site: Site) -> Browser:
    """An admin of the union, logged in through the form with a second factor."""
    with site.app.app_context():
        union = db.session.execute(
            select(Organization).where(Organization.slug == "aleppo-revolutionaries-union")
        ).scalar_one()
        admin = create_user(ADMIN_EMAIL, "Reviewer", ADMIN_PASSWORD, Role.admin, union)
        admin.totp_secret, admin.totp_enabled = seal_secret(ADMIN_SECRET), True
        db.session.commit()
        db.session.remove()
    browser = Browser()
    page = browser.get(f"{site.url}/console/login")
    (form,) = page.forms()
    answer = browser.post(
        f"{site.url}/console/login",
        {
            "csrf_token": form.fields["csrf_token"],
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "code": pyotp.TOTP(ADMIN_SECRET).now(),
        },
    )
    assert answer.status == 303, answer.text
    return browser


def held_figure(site: Site) -> str | None:
    page = Browser().get(f"{site.url}/en/campaigns/{SLUG}/results")
    found = re.search(r"<dt>Held, awaiting review</dt>\s*<dd>([^<]+)</dd>", page.text)
    return found.group(1) if found else None


def test_fifty_signers_behind_one_address_are_held_then_released_and_counted(
    site: Site,
) -> None:
    started = time.monotonic()
    before = read_count(site)
    earlier = [f"earlier.{n}@example.org" for n in range(EARLIER)]
    camp = [f"camp.{n}@camp-{n % 7}.example.org" for n in range(CAMP)]
    for n, address in enumerate(earlier):
        sign(site, address, f"Earlier Signer {n}")
    for n, address in enumerate(camp):
        sign(site, address, f"Camp Signer {n}")

    # Every one of the fifty gets its confirmation email, and confirms.
    links = [confirm_link(site, address) for address in camp]
    for link in links:
        press_confirm(link)

    expected_held = {"pending": EARLIER, "held (over the limit)": CAMP}
    wait_until(lambda: states(site) == expected_held, COUNT_TIMEOUT,
               f"{CAMP} held signatures", on_timeout=lambda: str(states(site)))
    # Held, they are not counted; the results page says so (through k >= 5).
    time.sleep(1.5)
    assert read_count(site) == before
    wait_until(lambda: held_figure(site) == str(CAMP), COUNT_TIMEOUT,
               "the results page to show the held signatures")

    # One decision in the console releases the whole group.
    console = reviewer(site)
    queue = console.get(f"{site.url}/console/moderation/campaigns/{SLUG}")
    assert queue.status == 200, queue.text
    link = r'href="(/console/moderation/campaigns/[^"]+/held/network/[0-9a-f]+)"'
    [group_path] = set(re.findall(link, queue.text))
    page: Response = console.get(site.url + group_path)
    assert page.status == 200, page.text
    assert "127.0.0.1" not in page.text and "127.0.0.1" not in queue.text
    (form,) = [f for f in page.forms() if f.action.endswith(group_path)]
    assert form.fields.get("count") == str(CAMP)
    decided = console.post(
        site.url + group_path,
        {"csrf_token": form.fields["csrf_token"], "count": str(CAMP), "decision": "release",
         "confirmed": "y"},
    )
    assert decided.status == 303, decided.text
    # The same decision again (a double click) changes nothing more.
    again = console.post(
        site.url + group_path,
        {"csrf_token": form.fields["csrf_token"], "count": str(CAMP), "decision": "release",
         "confirmed": "y"},
    )
    assert again.status == 303, again.text

    # After the count job, all fifty are counted: none lost.
    expected = {"total": before["total"] + CAMP, "signers": before["signers"] + CAMP}
    wait_until(lambda: read_count(site) == expected, COUNT_TIMEOUT,
               f"the count to read {expected}", on_timeout=lambda: str(read_count(site)))
    assert states(site) == {"pending": EARLIER, "validated (over the limit)": CAMP}

    # None emailed twice: exactly one message each, one confirm log each.
    time.sleep(1)
    for address in camp + earlier:
        assert len(site.mailbox.messages_to(address)) == 1, address
    with site.app.app_context():
        logs = db.session.execute(
            select(EmailLog.kind, func.count()).group_by(EmailLog.kind)
        ).all()
        released = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "held_group_released")
        ).scalars().all()
        db.session.remove()
    assert dict(logs) == {EmailKind.confirm: EARLIER + CAMP}
    assert [e.details["count"] for e in released] == [CAMP]
    print(
        f"\nshared network: {CAMP} signers behind one address after {EARLIER} earlier ones: "
        f"{CAMP} emailed once each, {CAMP} confirmed, {CAMP} held, "
        f"{released[0].details['count']} released by one decision, "
        f"count {before['signers']} -> {expected['signers']} signers, "
        f"in {time.monotonic() - started:.1f} s"
    )
