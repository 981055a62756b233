"""Chart geometry for server-rendered SVG. Right-to-left pages get mirrored
charts: time runs from right to left and bars grow from the right.

The charts are drawn in a coordinate system about as wide as a phone's column
(``WIDTH``), so that one unit is about one CSS pixel there and ``FONT`` is the
labels' rendered size on a phone (the style sheet keeps them from growing
much on wide screens). Text cannot be measured on the server: a label's width
is estimated generously from its length (``text_width``)."""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 340
FONT = 14
# Average advance of a character, in ems: generous for Latin and Arabic text in
# the fonts the pages use, so that an estimated label is never narrower than
# the real one.
CHAR_EM = 0.6
# Space kept free on both sides, so that no label touches the chart's edge.
PAD = 6
ELLIPSIS = "…"


def text_width(text: str, font: float = FONT) -> float:
    """The estimated width of ``text`` at ``font`` units."""
    return len(text) * font * CHAR_EM


def fit(text: str, width: float, font: float = FONT) -> str:
    """``text``, cut with an ellipsis if it would be wider than ``width``."""
    if text_width(text, font) <= width:
        return text
    keep = max(int(width / (font * CHAR_EM)) - 1, 1)
    return text[:keep].rstrip() + ELLIPSIS


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    # The label as drawn (a long one is cut; ``label`` stays whole in the tooltip).
    shown: str = ""


@dataclass(frozen=True)
class Tick:
    """A label under the time axis; ``side`` is where the text is pinned:
    "left", "right" or "center" of ``x``, whatever the reading direction."""

    x: float
    text: str
    side: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    maximum: int
    baseline: float
    font: int = FONT
    # Column charts: the labels under the axis, and the top of the plot, where
    # the line of the largest value is drawn.
    ticks: list[Tick] = field(default_factory=list)
    top: float = 0


def column_chart(
    values: list[tuple[str, int]],
    *,
    rtl: bool,
    width: int = WIDTH,
    height: int = 170,
) -> Chart:
    """Vertical bars, one per (label, value), in reading order. The first, the
    middle and the last bars are labelled under the axis (more would not fit a
    phone's width at a readable size)."""
    maximum = max((v for _, v in values), default=0)
    top = FONT + 10  # room for the largest value above its line
    baseline = height - FONT - 14
    plot = baseline - top
    count = max(len(values), 1)
    slot = (width - 2 * PAD) / count
    bars = []
    for i, (label, value) in enumerate(values):
        h = (value / maximum * plot) if maximum else 0
        index = count - 1 - i if rtl else i
        bars.append(
            Bar(
                x=round(PAD + index * slot + slot * 0.1, 2),
                y=round(baseline - h, 2),
                width=round(slot * 0.8, 2),
                height=round(h, 2),
                value=value,
                label=label,
                shown=label,
            )
        )
    ticks = []
    for i in sorted({0, (len(values) - 1) // 2, len(values) - 1}) if values else []:
        bar = bars[i]
        centre = bar.x + bar.width / 2
        half = text_width(bar.label) / 2
        if centre - half < PAD:
            ticks.append(Tick(PAD, bar.label, "left"))
        elif centre + half > width - PAD:
            ticks.append(Tick(width - PAD, bar.label, "right"))
        else:
            ticks.append(Tick(round(centre, 2), bar.label, "center"))
    return Chart(
        width=width,
        height=height,
        bars=bars,
        maximum=maximum,
        baseline=baseline,
        ticks=ticks,
        top=top,
    )


def row_chart(
    values: list[tuple[str, int]],
    *,
    rtl: bool,
    value_labels: list[str] | None = None,
    width: int = WIDTH,
    row_height: int = 28,
) -> Chart:
    """Horizontal bars, one row per (label, value); labels sit at the start
    side, as wide as the longest needs (at most 45% of the chart, longer ones
    are cut), and each bar's figure (``value_labels``, as formatted) after it."""
    maximum = max((v for _, v in values), default=0)
    figures = value_labels or [str(v) for _, v in values]
    label_space = min(
        max((text_width(label) for label, _ in values), default=0) + 2 * PAD, width * 0.45
    )
    value_space = max((text_width(f) for f in figures), default=0) + 2 * PAD
    plot = width - label_space - value_space
    bars = []
    for i, (label, value) in enumerate(values):
        w = (value / maximum * plot) if maximum else 0
        x = width - label_space - w if rtl else label_space
        bars.append(
            Bar(
                x=round(x, 2),
                y=i * row_height + 5,
                width=round(w, 2),
                height=row_height - 10,
                value=value,
                label=label,
                shown=fit(label, label_space - 2 * PAD),
            )
        )
    return Chart(
        width=width,
        height=max(len(values), 1) * row_height,
        bars=bars,
        maximum=maximum,
        baseline=label_space,
    )
