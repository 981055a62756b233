"""Every task message delivered twice: a proxy in front of Redis pushes each
message the web, beat and the workers publish onto a queue a second time
(``DoublingRedisProxy``), so two pool processes may run the same task at
once. No side effect may happen twice: one validation and one confirmation
email per signature, one "already signed" email per repeated signer, one
update email per signer for an organizer's update, counts exact.

The app's sweeps keep their production periods here: any task the doubling
made the app lose would only come back after minutes, and fail the test."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from celery import Celery

from benchmarks.harness.http import run_load
from benchmarks.harness.scenarios import Signing
from tests.chaos.deployment import run_async

from .deployment import (
    Deployment,
    DoublingRedisProxy,
    Workload,
    campaign_state,
    count_shown,
    signer_emails,
    wait_until,
)

SLUG = "no-russia-on-hrc"
UPDATE_SUBJECT = "Chaos update"
TASK_RECEIVED = re.compile(r"Task (zaytoun\.\w+)\[([0-9a-f-]+)\] received")


@dataclass(frozen=True)
class Size:
    signers: int
    repeat_signers: int  # sign a second time with the same address
    timeout: float


SHORT = Size(signers=200, repeat_signers=10, timeout=180)
LONG = Size(signers=5000, repeat_signers=200, timeout=1200)


@pytest.fixture
def proxy(chaos_redis_url: str) -> DoublingRedisProxy:
    doubling = DoublingRedisProxy(chaos_redis_url).start()
    yield doubling  # type: ignore[misc]
    doubling.stop()


def sign_again(site: Deployment, tag: str, count: int) -> None:
    """The first ``count`` signers of the workload sign again (same address,
    same client address): answered like a new signature."""
    signing = Signing(site.port, SLUG, tag)
    run_async(
        run_load(
            "sign again",
            site.port,
            signing.request,
            concurrency=min(4, count),
            duration=120,
            max_requests=count,
            expect=frozenset({303}),
            prepare=signing.prepare,
            on_answer=signing.count_answer,
        )
    )
    assert signing.answered_303 == count


def send_update(site: Deployment, broker_url: str) -> int:
    """An organizer's update to every signer who agreed to be contacted, made
    with the app's services and handed to the workers as the console does."""
    from sqlalchemy import select

    from campaigns.accounts.services import create_user
    from campaigns.extensions import db
    from campaigns.models import Campaign, Role
    from campaigns.updates.services import create_update, start_sending

    assert site.app is not None
    with site.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        author = create_user(
            "organizer@zaytoun-chaos.org",
            "Organizer",
            "a long enough password",
            Role.organizer,
            campaign.organization,
        )
        item = create_update(
            campaign, {"ar": {"subject": UPDATE_SUBJECT, "body": "Thank you."}}, author
        )
        start_sending(item)
        db.session.commit()
        update_id = item.id
        db.session.remove()
    publisher = Celery(broker=broker_url)
    try:
        publisher.send_task("zaytoun.send_updates", args=[[update_id]], queue="zaytoun")
    finally:
        publisher.close()
    return update_id


def received_per_task(site: Deployment) -> dict[str, Counter[int]]:
    """Per task name: how many task ids the workers received once, twice, …"""
    ids: dict[str, Counter[str]] = {}
    for worker in site.workers:
        for name, task_id in TASK_RECEIVED.findall(worker.log_text()):
            ids.setdefault(name, Counter())[task_id] += 1
    return {name: Counter(c.values()) for name, c in ids.items()}


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(SHORT, marks=pytest.mark.integration, id="short"),
        pytest.param(LONG, marks=pytest.mark.chaos, id="long"),
    ],
)
def test_task_messages_delivered_twice_do_everything_once(
    proxy: DoublingRedisProxy, deploy: Callable[..., Deployment], size: Size
) -> None:
    # (proxy first: it is torn down after the deployment that uses it)
    started = time.monotonic()
    site: Deployment = deploy(redis_url=proxy.url, worker_concurrency=2)
    work = Workload(site, SLUG, size.signers)
    run_async(work.run(size.timeout))
    state = work.last_state
    assert work.signing.answered_303 == size.signers
    assert work.finished, f"not every signature validated after {size.timeout} s: {state}"

    sign_again(site, work.tag, size.repeat_signers)
    emails = signer_emails(site, SLUG)
    addresses = sorted(emails.values())
    repeated = {work.signing.email(n).lower() for n in range(size.repeat_signers)}

    def expected(address: str, with_update: bool) -> int:
        return 1 + (address in repeated) + with_update

    def mail_settled(with_update: bool) -> Callable[[], bool]:
        def check() -> bool:
            received = site.smtp.received(addresses)
            return all(received[a] >= expected(a, with_update) for a in addresses)

        return check

    done, _ = wait_until(mail_settled(False), 120)
    assert done, "confirmation or 'already signed' emails missing"
    update_id = send_update(site, proxy.url)
    done, _ = wait_until(mail_settled(True), 120)
    assert done, f"update {update_id} emails missing"

    def counted() -> bool:
        nonlocal state
        state = campaign_state(site, SLUG)
        return state["campaign_counts"] == state["validated"] and state["outbox"] == 0

    done, _ = wait_until(counted, 60)
    time.sleep(3)  # a few more seconds: a doubled effect would arrive now
    state = campaign_state(site, SLUG)
    received = site.smtp.received(addresses)
    subjects = site.smtp.subjects()
    doubling = proxy.stats()
    per_task = received_per_task(site)
    figures = {
        "signatures_pushed": size.signers,
        "signed_again": size.repeat_signers,
        "task_messages_pushed_twice": doubling["doubled"],
        "push_failures": doubling["failures"],
        "task_ids_received_n_times": {k: dict(v) for k, v in per_task.items()},
        "emails_per_recipient": dict(Counter(received.values())),
        "update_emails": sum(s.get(UPDATE_SUBJECT, 0) for s in subjects.values()),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(f"\nfigures {figures}\nstate {state}")

    # The doubling happened: every message of the pipeline's tasks came twice.
    assert doubling["failures"] == {}
    for task in ("zaytoun.validate_signatures", "zaytoun.notify_duplicate_signatures"):
        assert doubling["doubled"].get(task, 0) >= 1, task
        # Each task id received twice (or more, had a task retried itself).
        assert min(per_task[task]) >= 2, (task, per_task[task])
    assert doubling["doubled"].get("zaytoun.send_updates", 0) >= 1
    # … and nothing was done twice.
    assert done, state
    assert state["stored"] == state["validated"] == size.signers
    assert state["confirm_emails"] == state["confirm_emails_sent"] == size.signers
    for table in ("campaign_counts", "country_counts", "daily_counts", "region_counts"):
        assert state[table] == size.signers, table
    assert state["outbox"] == 0
    wrong = {a: n for a, n in received.items() if n != expected(a, True)}
    assert not wrong, f"{len(wrong)} signers got a wrong count: {list(wrong.items())[:5]}"
    assert all(subjects[a].get(UPDATE_SUBJECT) == 1 for a in addresses)
    assert site.smtp.stats()["messages"] == 2 * size.signers + size.repeat_signers
    ok, _ = wait_until(lambda: count_shown(site, SLUG) == size.signers, 10)
    assert ok, f"the count JSON shows {count_shown(site, SLUG)}"
