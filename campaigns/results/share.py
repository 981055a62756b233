"""The share image (Open Graph, 1200×630 PNG): the campaign's title and its
progress. Arabic is shaped and laid out right to left by Pillow's raqm layout
(HarfBuzz + FriBiDi), with fonts shipped in ``fonts/``."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from flask_babel import force_locale, format_decimal, gettext
from PIL import Image, ImageDraw, ImageFont

from ..i18n import text_direction
from ..models import Campaign

FONTS = Path(__file__).parent / "fonts"
WIDTH, HEIGHT, MARGIN = 1200, 630, 72
OLIVE, PAPER, LIGHT = (77, 91, 35), (251, 250, 245), (201, 198, 184)


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff" for ch in text)


@lru_cache(maxsize=8)
def _font(arabic: bool, size: int) -> ImageFont.FreeTypeFont:
    name = "NotoSansArabic-Bold.ttf" if arabic else "NotoSans-Bold.ttf"
    return ImageFont.truetype(str(FONTS / name), size, layout_engine=ImageFont.Layout.RAQM)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int,
          direction: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font, direction=direction) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines[:3]


@lru_cache(maxsize=64)
def _render(title: str, line: str, goal: int | None, total: int, rtl: bool) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    direction = "rtl" if rtl else "ltr"
    anchor_x, anchor = (WIDTH - MARGIN, "ra") if rtl else (MARGIN, "la")
    title_font = _font(_is_arabic(title), 64)
    y = MARGIN
    for text_line in _wrap(draw, title, title_font, WIDTH - 2 * MARGIN, direction):
        draw.text((anchor_x, y), text_line, font=title_font, fill=OLIVE, anchor=anchor,
                  direction=direction)
        y += 96
    figure_font = _font(_is_arabic(line), 48)
    draw.text((anchor_x, HEIGHT - 230), line, font=figure_font, fill=(29, 29, 27),
              anchor=anchor, direction=direction)
    bar_top, bar_bottom = HEIGHT - 140, HEIGHT - 100
    draw.rounded_rectangle((MARGIN, bar_top, WIDTH - MARGIN, bar_bottom), 20, fill=LIGHT)
    if goal:
        filled = int((WIDTH - 2 * MARGIN) * min(total / goal, 1))
        if filled > 0:
            box = (
                (WIDTH - MARGIN - filled, bar_top, WIDTH - MARGIN, bar_bottom)
                if rtl
                else (MARGIN, bar_top, MARGIN + filled, bar_bottom)
            )
            draw.rounded_rectangle(box, 20, fill=OLIVE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def share_image(campaign: Campaign, lang: str, total: int, signers: int) -> bytes:
    """The PNG for ``campaign`` in ``lang`` at its current figures (memoized)."""
    text = campaign.text(lang)
    with force_locale(lang):
        if campaign.goal:
            line = gettext(
                "%(total)s of %(goal)s %(unit)s",
                total=format_decimal(total),
                goal=format_decimal(campaign.goal),
                unit=text.unit_label,
            )
        else:
            line = gettext("%(total)s %(unit)s", total=format_decimal(total), unit=text.unit_label)
    return _render(text.title, line, campaign.goal, total, text_direction(text.locale) == "rtl")
