"""The figures of issue 5 against their goals: a JSON report and a table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    key: str
    name: str
    value: str  # as shown in the table
    goal: str = ""
    verdict: str = "info"  # "pass", "FAIL", "info", "not built"
    data: Any = None  # the numbers behind it, for the JSON report


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "pass" if ok else "FAIL"


def ratio(value: float | None, ceiling: float | None) -> float | None:
    if value is None or not ceiling:
        return None
    return value / ceiling


def fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{unit}"


def table(figures: list[Figure]) -> str:
    rows = [("figure", "measured", "goal", "")]
    rows += [(f.name, f.value, f.goal, f.verdict) for f in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(report: dict[str, Any], figures: list[Figure], path: Path) -> None:
    report["figures"] = [asdict(f) for f in figures]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
