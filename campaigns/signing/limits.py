"""What one signature may hold: the limits of its fields, defined once and
applied alike by the web sign form and by paper rows (to the cleaned text,
which is what is stored)."""

from __future__ import annotations

from ..kernel.normalize import ascii_digits, clean_text
from ..models import Campaign

# Characters.
MAX_NAME = 100
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_REGION = 80
# The confirmation code as typed: 8 digits with room for spaces and hyphens.
MAX_CODE = 32
# Units one signer may pledge, unless the campaign sets its own cap.
MAX_PLEDGE = 10_000
MAX_AMOUNT_DIGITS = 6


class AmountRefused(ValueError):
    """The typed amount is not a pledge; ``reason`` is ``missing``,
    ``invalid`` (not a whole number) or ``range`` (not 1 … cap)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def text_refusal(value: str, limit: int) -> str | None:
    """Why a required free-text field is refused, judged on its cleaned form
    (NFKC can lengthen text): ``missing`` or ``too_long``; None when it is fine."""
    cleaned = clean_text(value)
    if not cleaned:
        return "missing"
    if len(cleaned) > limit:
        return "too_long"
    return None


def pledge_cap(campaign: Campaign) -> int:
    return campaign.max_amount_per_signer or MAX_PLEDGE


def parse_amount(text: str, cap: int) -> int:
    """A pledge typed in any decimal digits (Arabic-Indic included), 1 … ``cap``."""
    digits = ascii_digits(text.strip())
    if not digits:
        raise AmountRefused("missing")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_AMOUNT_DIGITS):
        raise AmountRefused("invalid")
    value = int(digits)
    if not 1 <= value <= cap:
        raise AmountRefused("range")
    return value
