"""Chart geometry for server-rendered SVG. Right-to-left pages get mirrored
charts: time runs from right to left and bars grow from the right."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    maximum: int
    baseline: float


def column_chart(
    values: list[tuple[str, int]],
    *,
    rtl: bool,
    width: int = 480,
    height: int = 160,
    label_space: int = 24,
) -> Chart:
    """Vertical bars, one per (label, value), in reading order."""
    maximum = max((v for _, v in values), default=0)
    plot = height - label_space
    slot = width / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(values):
        h = (value / maximum * (plot - 4)) if maximum else 0
        index = len(values) - 1 - i if rtl else i
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.1, 2),
                y=round(plot - h, 2),
                width=round(slot * 0.8, 2),
                height=round(h, 2),
                value=value,
                label=label,
            )
        )
    return Chart(width=width, height=height, bars=bars, maximum=maximum, baseline=plot)


def row_chart(
    values: list[tuple[str, int]],
    *,
    rtl: bool,
    width: int = 480,
    row_height: int = 30,
    label_space: int = 150,
) -> Chart:
    """Horizontal bars, one row per (label, value); labels sit at the start side."""
    maximum = max((v for _, v in values), default=0)
    plot = width - label_space - 56
    bars = []
    for i, (label, value) in enumerate(values):
        w = (value / maximum * plot) if maximum else 0
        x = width - label_space - w if rtl else label_space
        bars.append(
            Bar(
                x=round(x, 2),
                y=i * row_height + 4,
                width=round(w, 2),
                height=row_height - 8,
                value=value,
                label=label,
            )
        )
    return Chart(
        width=width,
        height=max(len(values), 1) * row_height,
        bars=bars,
        maximum=maximum,
        baseline=label_space,
    )
