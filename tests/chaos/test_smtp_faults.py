"""The SMTP server down (its port closed), then refusing with 421 (at DATA) and
451 (at RCPT TO) for a while: every confirmation email is retried with an
exponential backoff and delivered exactly once when the server is back. A 550
is a permanent failure: recorded as failed in the email log, never retried.

The retry schedule is shortened through configuration (``MAIL_RETRY_SECONDS``
1: 1 s, 2 s, 4 s, … instead of 30 s, 1 min, 2 min, …; the sweep every second
instead of 15 s): the backoff shows in how few attempts each email needs to
outlast the outage, against one every second without it."""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from benchmarks.harness.http import run_load
from benchmarks.harness.scenarios import Signing
from tests.chaos.deployment import run_async

from .deployment import FAST_SWEEPS, Deployment, email_rows, signer_emails, wait_until

SLUG = "no-russia-on-hrc"


@dataclass(frozen=True)
class Size:
    signers: int  # sign while the server is down, wait out the outage
    down_s: float
    refuse_421_s: float
    refuse_451_s: float
    failing_signers: int  # sign while the server answers 550


SHORT = Size(signers=20, down_s=5, refuse_421_s=5, refuse_451_s=5, failing_signers=10)
LONG = Size(signers=1000, down_s=20, refuse_421_s=20, refuse_451_s=20, failing_signers=200)
RETRY_FIRST_S = 1.0


def sign(site: Deployment, count: int) -> list[str]:
    """``count`` new signers sign over HTTP; returns their addresses."""
    signing = Signing(site.port, SLUG, uuid.uuid4().hex[:8])
    result = run_async(
        run_load(
            "sign",
            site.port,
            signing.request,
            concurrency=min(8, count),
            duration=300,
            max_requests=count,
            expect=frozenset({303}),
            prepare=signing.prepare,
            on_answer=signing.count_answer,
        )
    )
    assert signing.answered_303 == count, result.summary()
    return [signing.email(n) for n in range(count)]


def rows_of(site: Deployment, addresses: list[str]) -> list[dict[str, object]]:
    wanted = {a.lower() for a in addresses}
    ids = [sid for sid, address in signer_emails(site, SLUG).items() if address in wanted]
    assert len(ids) == len(addresses), "some signatures were not stored"
    return [r for r in email_rows(site, ids) if r["kind"] == "confirm"]


def most_attempts(outage_s: float) -> int:
    """Attempts an email can make during an outage of this length with the
    backoff (first try, then after 1, 2, 4 … s) plus the one that succeeds
    and one of slack for the sweep's timing."""
    return 1 + math.ceil(math.log2(outage_s / RETRY_FIRST_S + 1)) + 1


def retry_delays(site: Deployment, addresses: list[str]) -> dict[int, list[float]]:
    """For emails waiting for a retry after a refusal the server saw: the delay
    (next attempt − that refusal), per number of attempts made."""
    smtp = site.smtp
    wanted = {a.lower() for a in addresses}
    ids = {sid: a for sid, a in signer_emails(site, SLUG).items() if a in wanted}
    before = smtp.attempts(list(ids.values()))
    when = smtp.last_attempt()
    rows = email_rows(site, list(ids))
    after = smtp.attempts(list(ids.values()))
    delays: dict[int, list[float]] = {}
    for row in rows:
        address = ids[int(row["signature_id"])]  # type: ignore[call-overload]
        if row["status"] != "queued" or before[address] != after[address] or address not in when:
            continue  # being tried right now
        waited = row["next_attempt_at"].timestamp() - when[address]  # type: ignore[union-attr]
        delays.setdefault(int(row["attempts"]), []).append(round(waited, 2))  # type: ignore[call-overload]
    return delays


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(SHORT, marks=pytest.mark.integration, id="short"),
        pytest.param(LONG, marks=pytest.mark.chaos, id="long"),
    ],
)
def test_smtp_outage_retries_with_backoff_and_delivers_once(
    deploy: Callable[..., Deployment], size: Size
) -> None:
    site: Deployment = deploy(settings={**FAST_SWEEPS, "MAIL_RETRY_SECONDS": str(RETRY_FIRST_S)})
    smtp = site.smtp

    # Down: nothing listens. The signatures are taken and checked all the same.
    smtp.down()
    outage_started = time.monotonic()
    addresses = sign(site, size.signers)

    def all_tried() -> bool:
        rows = rows_of(site, addresses)
        # (attempts counts claims: an email claimed is not yet tried)
        return len(rows) == size.signers and all(r["last_error"] for r in rows)

    tried, _ = wait_until(all_tried, 60)
    assert tried, "the workers did not try to send the confirmation emails"
    rows = rows_of(site, addresses)
    # Waiting for a retry (or in one): neither sent nor given up.
    assert {r["status"] for r in rows} <= {"queued", "sending"}, rows[:3]
    assert all(str(r["last_error"]).startswith("connect:") for r in rows), rows[:3]
    time.sleep(max(0.0, outage_started + size.down_s - time.monotonic()))

    # Up, but refusing for a while: 421 at DATA, then 451 at RCPT TO.
    smtp.refuse(421, at="data")
    time.sleep(size.refuse_421_s)
    refused_421 = sum(smtp.refused().values())
    smtp.refuse(451, at="rcpt")
    time.sleep(size.refuse_451_s)
    refused_during_outage = smtp.refused()
    refused_451 = sum(refused_during_outage.values()) - refused_421
    delays = retry_delays(site, addresses)
    outage_s = time.monotonic() - outage_started
    assert smtp.stats()["deliveries"] == 0
    during = rows_of(site, addresses)
    assert {r["status"] for r in during} <= {"queued", "sending"}, during[:3]
    errors = Counter(str(r["last_error"]) for r in during)

    # Back: each email delivered once.
    smtp.accept()
    back = time.monotonic()

    def delivered() -> bool:
        return sum(smtp.received(addresses).values()) >= size.signers and all(
            r["status"] == "sent" for r in rows_of(site, addresses)
        )

    done, waited = wait_until(delivered, 2 * outage_s + 30)
    time.sleep(3)  # a few more sweeps: nothing more may arrive
    received = smtp.received(addresses)
    attempts = smtp.attempts(addresses)
    after = rows_of(site, addresses)
    figures = {
        "signers": size.signers,
        "outage_s": round(outage_s, 1),
        "last_errors_before_recovery": dict(errors),
        "refusals_421": refused_421,
        "refusals_451": refused_451,
        "refused_per_recipient_during_outage": dict(Counter(refused_during_outage.values())),
        "server_attempts_per_recipient": dict(Counter(attempts.values())),
        "db_attempts_per_email": dict(Counter(int(r["attempts"]) for r in after)),  # type: ignore[call-overload]
        "emails_per_recipient": dict(Counter(received.values())),
        "delivered_after_recovery_s": round(time.monotonic() - back - 3, 1),
        "bound_attempts": most_attempts(outage_s),
        "retry_delays_s_by_attempt": delays,
    }
    print(f"\nretry figures {figures}")
    assert done, f"not delivered {waited:.0f} s after the server came back: {figures}"
    assert Counter(received.values()) == {1: size.signers}, "not exactly one email each"
    assert all(r["status"] == "sent" for r in after)
    # Refused at least once by the 4xx server (it was tried while refusing) …
    assert all(refused_during_outage.get(a.lower(), 0) >= 1 for a in addresses)
    # … but backed off: one attempt a second would be ~outage_s of them.
    assert max(int(r["attempts"]) for r in after) <= most_attempts(outage_s)  # type: ignore[call-overload]
    assert max(attempts.values()) <= most_attempts(outage_s)
    assert refused_421 > 0 and refused_451 > 0
    # Each retry scheduled 1 s, 2 s, 4 s … after the refusal that preceded it.
    assert delays, "no email was waiting for a retry after a refusal"
    for attempt, seen in delays.items():
        expected = RETRY_FIRST_S * 2 ** (attempt - 1)
        assert all(abs(d - expected) <= 1.5 for d in seen), (attempt, seen, expected)
    expected = {"connect: ConnectionRefusedError", "refused 421", "recipient refused 451"}
    assert set(errors) <= expected, errors
    assert "recipient refused 451" in errors

    # 550: failed for good at the first answer, never tried again.
    smtp.refuse(550, at="rcpt")
    failing = sign(site, size.failing_signers)

    def all_failed() -> bool:
        rows = rows_of(site, failing)
        return len(rows) == size.failing_signers and all(r["status"] == "failed" for r in rows)

    failed, _ = wait_until(all_failed, 60)
    assert failed, rows_of(site, failing)[:3]
    smtp.accept()
    # Long enough for several sweeps and retries, had any been scheduled.
    time.sleep(8)
    rows = rows_of(site, failing)
    server_attempts = smtp.attempts(failing)
    print(
        f"550 figures: signers {size.failing_signers}, "
        f"server attempts {dict(Counter(server_attempts.values()))}, "
        f"db attempts {dict(Counter(int(r['attempts']) for r in rows))}, "  # type: ignore[call-overload]
        f"errors {dict(Counter(str(r['last_error']) for r in rows))}"
    )
    assert {r["status"] for r in rows} == {"failed"}
    assert {r["last_error"] for r in rows} == {"recipient refused 550"}
    assert {r["attempts"] for r in rows} == {1}
    assert set(server_attempts.values()) == {1}
    assert sum(smtp.received(failing).values()) == 0
