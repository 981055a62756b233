"""The public ledger's periodic job: append the count's changes, sign heads."""

from __future__ import annotations

from campaigns.jobs import PUBLISH_LEDGER
from campaigns.ledger.services import publish_ledger

from . import task

task(PUBLISH_LEDGER.task, publish_ledger, retry=True)
