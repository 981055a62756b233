"""Tasks: moderation (in progress)."""

from __future__ import annotations

# name -> (seconds between runs, task name): merged into the beat schedule and
# the embedded scheduler.
PERIODIC: dict[str, tuple[float, str]] = {}
