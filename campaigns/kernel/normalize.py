"""Canonical forms of what signers type: names, emails, phones.

Display forms keep what the person wrote (minus invisible tricks); matching
forms fold the variants that the same person types differently.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Bidi controls (embeddings, overrides, isolates, marks) and other invisible
# format characters that can disguise a name or reorder a line.
_INVISIBLE = dict.fromkeys(
    [
        0x200B,  # zero-width space
        0x200D,  # zero-width joiner; the non-joiner U+200C stays (Kurdish, Persian)
        0x200E,  # left-to-right mark
        0x200F,  # right-to-left mark
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2060, 0x2070),  # word joiner, invisible operators, LRI RLI FSI PDI
        0x061C,  # Arabic letter mark
        0xFEFF,  # byte order mark
        0x00AD,  # soft hyphen
    ]
)
_ZWNJ = "\u200c"
_SPACE = re.compile(r"\s+")
# Arabic diacritics (tashkeel), Quranic marks and the superscript alef.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ARABIC_FOLD = str.maketrans(
    {
        "\u0622": "\u0627",  # آ → ا
        "\u0623": "\u0627",  # أ → ا
        "\u0625": "\u0627",  # إ → ا
        "\u0671": "\u0627",  # ٱ → ا
        "\u0649": "\u064a",  # ى → ي
        "\u06cc": "\u064a",  # Persian/Kurdish ی → ي
        "\u0629": "\u0647",  # ة → ه
        "\u0624": "\u0648",  # ؤ → و
        "\u0626": "\u064a",  # ئ → ي
        "\u06a9": "\u0643",  # Persian/Kurdish ک → ك
    }
)
_GMAIL = {"gmail.com", "googlemail.com"}


class InvalidEmail(ValueError):
    """The address cannot be an email address."""


class InvalidPhone(ValueError):
    """The number is not a valid phone number for the chosen country."""


def clean_text(value: str) -> str:
    """Display form of free text: NFKC, no control or bidi characters, spaces collapsed."""
    value = unicodedata.normalize("NFKC", value).translate(_INVISIBLE)
    value = "".join(
        " " if unicodedata.category(ch)[0] == "C" and ch != _ZWNJ else ch for ch in value
    )
    return _SPACE.sub(" ", value).strip()


def match_name(value: str) -> str:
    """Matching form of a name: display form, case-folded, Arabic variants unified."""
    value = clean_text(value)
    value = _TASHKEEL.sub("", value).replace(_TATWEEL, "").replace(_ZWNJ, "")
    value = value.translate(_ARABIC_FOLD)
    return _SPACE.sub(" ", value.casefold()).strip()


def display_email(value: str) -> str:
    """The address as the person can receive mail at it (syntax checked, no DNS)."""
    try:
        result = validate_email(
            clean_text(value), check_deliverability=False, allow_smtputf8=True
        )
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    return str(result.normalized)


def canonical_email(value: str) -> str:
    """One form per mailbox: lowercase, no +tag, Gmail dots and alias folded."""
    return canonical_of_display(display_email(value))


def canonical_of_display(normalized: str) -> str:
    """``canonical_email`` of an address already in ``display_email`` form
    (the syntax check is the costly part: done once per signature)."""
    local, _, domain = normalized.rpartition("@")
    local, domain = local.lower(), domain.lower()
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
        domain = "gmail.com"
    if not local:
        raise InvalidEmail("empty local part")
    return f"{local}@{domain}"


def email_domain(value: str) -> str:
    return canonical_email(value).rpartition("@")[2]


def ascii_digits(value: str) -> str:
    """Arabic-Indic and Persian digits (and other decimal digits) as ASCII."""
    return "".join(
        str(d) if (d := unicodedata.decimal(ch, None)) is not None else ch for ch in value
    )


def canonical_phone(value: str, country: str | None) -> str:
    """E.164 form, reading local numbers in the chosen country's plan."""
    text = clean_text(value)
    text = ascii_digits(text)
    try:
        number = phonenumbers.parse(text, (country or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
