"""Redis, the broker and the cache, killed with SIGKILL and restarted during
a signing load over HTTP (docs/production.md, "Redis").

While it is down the site keeps answering sign POSTs with the normal 303 and
its pages keep working (the outbox in PostgreSQL holds the work, the cache
degrades to computing); once it is back nothing is lost (every signature
stored, emailed once, confirmed and counted, the outbox drained) and nothing
is sent twice. The short version runs in ``make test``, the long one in
``make chaos``."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.chaos.deployment import Deployment, run_async
from tests.chaos.services import (
    ROUTES,
    Plan,
    RedisServer,
    SigningLoad,
    check_drained_and_counted,
    get,
    run_with_faults,
    short_and_long,
    stored_signers,
)
from tests.services import require_postgres

SHORT = Plan(signings=300, faults=1, down_seconds=3, drain_timeout=180)
LONG = Plan(signings=10_000, faults=3, down_seconds=4, drain_timeout=1800)


@pytest.mark.integration
@short_and_long(SHORT, LONG)
def test_nothing_is_lost_or_sent_twice_when_redis_is_killed(plan: Plan, tmp_path: Path) -> None:
    require_postgres()
    run_with_faults(
        "redis", plan, tmp_path, lambda site, server: _sign_through_kills(site, server, plan)
    )


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

    strike_at = [plan.signings * (i + 1) // (plan.faults + 1) for i in range(plan.faults)]
    started = time.monotonic()
    [result] = run_async(load.run(plan.signings, strike_at, strike, expect=frozenset({303})))
    signing_seconds = time.monotonic() - started
    assert server.kills == plan.faults == server.restarts
    assert not result.errors, f"sign POSTs not answered 303: {dict(result.errors)}"
    assert result.ok == plan.signings == len(load.accepted)
    for fault in load.faults:
        assert fault.answers[303] > 0, f"no signature went through outage {fault.number}"
        assert set(fault.answers) == {303}, fault.summary()

    # Every signer answered 303 has a row (rows are written by the sign POST
    # itself); once Redis is back the pipeline drains and all are counted.
    stored = stored_signers(site, load)
    assert stored == load.accepted, f"lost: {sorted(load.accepted - stored)[:10]}"
    smtp, drained = check_drained_and_counted(site, load, stored, plan.drain_timeout)
    assert site.smtp.stats() == smtp, "emails sent after the pipeline drained"
    return {
        "signatures_pushed": plan.signings,
        "answered_303": len(load.accepted),
        "kills": server.kills,
        "restarts": server.restarts,
        "outages": [f.summary() for f in load.faults],
        "pages_while_down": pages_while_down,
        "signing_seconds": round(signing_seconds, 1),
        "lost": len(load.accepted - stored),
        **drained,
    }
