"""Redis, the broker and the cache, killed with SIGKILL and restarted during
a signing load over HTTP (docs/production.md, "Redis").

While it is down the site keeps answering sign POSTs with the normal 303 and
its pages keep working (the outbox in PostgreSQL holds the work, the cache
degrades to computing); once it is back nothing is lost (every signature
stored, emailed once, confirmed and counted, the outbox drained) and nothing
is sent twice. The short version runs in ``make test``, the long one in
``make chaos``."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.deployment import Deployment, run_async
from tests.chaos.services import (
    ROUTES,
    SWEEPS,
    RedisServer,
    SigningLoad,
    check_emails,
    confirm_all,
    confirmation_paths,
    get,
    pipeline_state,
    stored_signers,
    wait_for_counts,
    wait_for_drain,
)
from tests.services import require_postgres


@dataclass(frozen=True)
class Plan:
    signings: int
    kills: int
    down_seconds: float
    drain_timeout: float


SHORT = Plan(signings=300, kills=1, down_seconds=3, drain_timeout=180)
LONG = Plan(signings=10_000, kills=3, down_seconds=4, drain_timeout=1800)


@pytest.mark.integration
@pytest.mark.parametrize(
    "plan",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)],
)
def test_nothing_is_lost_or_sent_twice_when_redis_is_killed(plan: Plan, tmp_path: Path) -> None:
    require_postgres()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        with Deployment(tmp_path / "site", redis_url=server.url, settings=SWEEPS) as site:
            figures = _sign_through_kills(site, server, plan)
    finally:
        server.stop()
    print(f"\nredis faults ({plan.signings} signings): {json.dumps(figures, indent=1)}")


def _sign_through_kills(site: Deployment, server: RedisServer, plan: Plan) -> dict[str, object]:
    load = SigningLoad(site, uuid.uuid4().hex[:8])
    pages_while_down: dict[str, int] = {}

    def strike() -> None:
        def take_down() -> None:
            server.kill()
            went_down = time.monotonic()
            # Every public page and API answer, with the cache (and broker) gone.
            for path in ROUTES:
                answer = get(site.port, path)
                pages_while_down[path] = answer.status
                assert answer.status == 200, f"{path} answered {answer.status} without Redis"
            time.sleep(max(0.0, plan.down_seconds - (time.monotonic() - went_down)))

        load.outage(take_down, server.restart)

    strike_at = [plan.signings * (i + 1) // (plan.kills + 1) for i in range(plan.kills)]
    started = time.monotonic()
    [result] = run_async(load.run(plan.signings, strike_at, strike, expect=frozenset({303})))
    signing_seconds = time.monotonic() - started
    assert server.kills == plan.kills == server.restarts
    assert not result.errors, f"sign POSTs not answered 303: {dict(result.errors)}"
    assert result.ok == plan.signings == len(load.accepted)
    for fault in load.faults:
        assert fault.answers[303] > 0, f"no signature went through outage {fault.number}"
        assert set(fault.answers) == {303}, fault.summary()

    # Once Redis is back: every signature checked and emailed, the outbox empty.
    state, drain_seconds = wait_for_drain(site, plan.drain_timeout)
    stored = stored_signers(site, load)
    assert stored == load.accepted, f"lost: {sorted(load.accepted - stored)[:10]}"
    assert state["stored"] == len(load.accepted), f"more rows than signers: {state}"
    assert state["fraudulent"] == 0, state
    smtp = check_emails(site, load, stored)
    assert smtp["messages"] == state["stored"], smtp
    assert smtp["recipients_more_than_once"] == 0, smtp

    # Every signer presses the button in their email: all validated and counted.
    confirmed = run_async(confirm_all(site, confirmation_paths(site)))
    assert not confirmed.errors, dict(confirmed.errors)
    final = wait_for_counts(site, len(load.accepted), plan.drain_timeout)
    assert final["confirm_emails"] == final["signatures_emailed"] == final["stored"], final
    assert final["other_emails"] == 0, f"'already signed' emails: a signature doubled: {final}"
    assert final["outbox"] == 0, final
    assert site.smtp.stats() == smtp, "emails sent after the pipeline drained"
    return {
        "signatures_pushed": plan.signings,
        "answered_303": len(load.accepted),
        "kills": server.kills,
        "restarts": server.restarts,
        "outages": [f.summary() for f in load.faults],
        "pages_while_down": pages_while_down,
        "signing_seconds": round(signing_seconds, 1),
        "drain_seconds_after_load": round(drain_seconds, 1),
        "stored": state["stored"],
        "lost": len(load.accepted - stored),
        "emails_accepted_by_smtp": smtp["messages"],
        "recipients_emailed_twice": smtp["recipients_more_than_once"],
        "confirmed_303": confirmed.ok,
        "validated": final["validated"],
        "counted_signers": final["counted_signers"],
        "duplicate_notices": final["other_emails"],
        "outbox_left": final["outbox"],
        "pipeline": pipeline_state(site),
    }
