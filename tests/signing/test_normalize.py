"""What signers type, in the forms we display and the forms we match on."""

from __future__ import annotations

import socket

import email_validator.deliverability
import pytest

from campaigns.kernel.normalize import (
    InvalidEmail,
    InvalidPhone,
    ascii_digits,
    canonical_email,
    canonical_phone,
    clean_text,
    display_email,
    match_name,
)

ZWNJ = "\u200c"
BIDI_CONTROLS = [
    "\u202a",  # LRE
    "\u202b",  # RLE
    "\u202c",  # PDF
    "\u202d",  # LRO
    "\u202e",  # RLO
    "\u2066",  # LRI
    "\u2067",  # RLI
    "\u2068",  # FSI
    "\u2069",  # PDI
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u061c",  # ALM
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any DNS lookup or connection fails the test: normalizing must stay offline."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("normalize made a network call")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for method in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, method, refuse)
    # email-validator swallows resolver timeouts, so refuse its DNS check itself.
    monkeypatch.setattr(email_validator.deliverability, "validate_email_deliverability", refuse)


# clean_text ---------------------------------------------------------------


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_clean_text_strips_each_bidi_control(control: str) -> None:
    # Removed, not turned into a space: a hidden mark must not split a word.
    assert clean_text(f"{control}أح{control}مد Sm{control}ith{control}") == "أحمد Smith"


def test_clean_text_strips_an_override_that_would_reverse_a_name() -> None:
    # "\u202eevil" displays as "live": the stored name must be what is shown.
    assert clean_text("Ali \u202eevil\u202c Hassan") == "Ali evil Hassan"


def test_clean_text_keeps_the_zero_width_non_joiner() -> None:
    # Kurdish and Persian spelling needs ZWNJ (e.g. "می‌خواهم").
    assert clean_text(f"می{ZWNJ}خواهم") == f"می{ZWNJ}خواهم"


def test_clean_text_applies_nfkc() -> None:
    # Arabic presentation forms, full-width Latin letters and digits fold to plain letters.
    assert clean_text("\ufee3\ufea4\ufee4\ufeaa") == "محمد"
    assert clean_text("ＡＬＩ １２") == "ALI 12"
    assert clean_text("ﬁle") == "file"


def test_clean_text_collapses_and_trims_whitespace() -> None:
    assert clean_text("  Ali \t\t Hassan\n\n al-Halabi\u00a0\u3000 ") == "Ali Hassan al-Halabi"


def test_clean_text_turns_control_characters_into_spaces() -> None:
    assert clean_text("Ali\x00Hassan\x07\x1b[31m") == "Ali Hassan [31m"
    assert clean_text("a\x7fb\x85c") == "a b c"


def test_clean_text_drops_zero_width_and_other_invisible_characters() -> None:
    assert clean_text("A\u200bl\u200di\ufeff\u00ad\u2060") == "Ali"


def test_clean_text_of_only_invisible_characters_is_empty() -> None:
    assert clean_text("\u202e\u200f \u2066\u2069\u061c\t") == ""


# match_name ---------------------------------------------------------------


def test_match_name_removes_tashkeel() -> None:
    assert match_name("مُحَمَّد") == match_name("محمد") == "محمد"
    assert match_name("عَلِيٌّ") == "علي"


def test_match_name_removes_tatweel() -> None:
    assert match_name("محـــمد") == "محمد"


@pytest.mark.parametrize("alef", ["أ", "إ", "آ", "ٱ"])
def test_match_name_unifies_alef_variants(alef: str) -> None:
    assert match_name(f"{alef}حمد") == "احمد"


@pytest.mark.parametrize("ya", ["ى", "ی"])
def test_match_name_unifies_final_ya(ya: str) -> None:
    assert match_name(f"عل{ya}") == "علي"
    assert match_name(f"مصطف{ya}") == match_name("مصطفي")


def test_match_name_folds_ta_marbuta_to_ha() -> None:
    assert match_name("فاطمة") == match_name("فاطمه") == "فاطمه"


def test_match_name_case_folds_latin_names() -> None:
    assert match_name("JOHN Smith") == match_name("john SMITH") == "john smith"
    assert match_name("STRASSE") == match_name("Straße")


def test_match_name_unifies_spellings_of_the_same_person() -> None:
    written = ["  أَحْمَد   إبراهيم  ", "احمد ابراهيم", "\u202bأحمـد\u202c إِبراهيم"]
    assert {match_name(name) for name in written} == {"احمد ابراهيم"}


def test_match_name_keeps_different_names_apart() -> None:
    assert match_name("أحمد") != match_name("محمد")
    assert match_name("Ali") != match_name("Alia")


# display_email / canonical_email ------------------------------------------


def test_display_email_keeps_the_mailbox_as_written_but_lowercases_the_domain() -> None:
    assert display_email("  Rami.Halabi+news@Example.ORG ") == "Rami.Halabi+news@example.org"


def test_display_email_strips_bidi_controls() -> None:
    assert display_email("\u202erami@example.org\u202c") == "rami@example.org"


def test_canonical_email_lowercases() -> None:
    assert canonical_email("Rami.Halabi@Example.ORG") == "rami.halabi@example.org"


def test_canonical_email_strips_plus_tag() -> None:
    assert canonical_email("rami+petition@example.org") == "rami@example.org"
    assert canonical_email("rami+a+b@example.org") == "rami@example.org"


def test_canonical_email_keeps_dots_outside_gmail() -> None:
    assert canonical_email("r.a.m.i@example.org") == "r.a.m.i@example.org"
    assert canonical_email("r.a.m.i@example.org") != canonical_email("rami@example.org")


@pytest.mark.parametrize(
    "variant",
    [
        "rami.halabi@gmail.com",
        "RamiHalabi@Gmail.com",
        "r.a.m.i.h.a.l.a.b.i@gmail.com",
        "rami.halabi+syria@gmail.com",
        "RAMI.HALABI@GOOGLEMAIL.COM",
        "rami.halabi+x@googlemail.com",
    ],
)
def test_canonical_email_folds_gmail_variants_into_one_mailbox(variant: str) -> None:
    assert canonical_email(variant) == "ramihalabi@gmail.com"


def test_canonical_email_accepts_full_width_characters() -> None:
    assert canonical_email("ＲＡＭＩ＠example.org") == "rami@example.org"


def test_canonical_email_accepts_an_internationalized_domain() -> None:
    assert canonical_email("Rami@مثال.com") == "rami@مثال.com"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "rami",
        "rami@",
        "@example.org",
        "rami@example",
        "rami halabi@example.org",
        "rami@@example.org",
        "rami@exa mple.org",
        "\u202e@example.org",
        "rami\x00x@example.org",
    ],
)
def test_invalid_emails_raise_invalid_email(value: str) -> None:
    with pytest.raises(InvalidEmail):
        display_email(value)
    with pytest.raises(InvalidEmail):
        canonical_email(value)


def test_an_address_that_is_only_a_plus_tag_has_no_mailbox() -> None:
    with pytest.raises(InvalidEmail):
        canonical_email("+petition@example.org")


def test_invalid_email_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        canonical_email("not an email")


@pytest.mark.usefixtures("no_network")
def test_email_checks_make_no_dns_lookup() -> None:
    # A domain that does not exist still passes the syntax check, offline.
    assert canonical_email("rami@no-such-domain-zaytoun.example") == (
        "rami@no-such-domain-zaytoun.example"
    )
    assert display_email("Rami@Gmail.com") == "Rami@gmail.com"


# canonical_phone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("0944 123 456", "SY", "+963944123456"),
        ("0944-123-456", "SY", "+963944123456"),
        ("00963 944 123 456", "SY", "+963944123456"),
        ("+963 944 123 456", "TR", "+963944123456"),
        ("0532 123 45 67", "TR", "+905321234567"),
        ("(0212) 555 12 34", "TR", "+902125551234"),
        ("+90 532 123 4567", None, "+905321234567"),
        ("0944123456", "sy", "+963944123456"),
    ],
)
def test_canonical_phone_is_e164_in_the_chosen_country(
    value: str, country: str | None, expected: str
) -> None:
    assert canonical_phone(value, country) == expected


def test_canonical_phone_accepts_arabic_indic_digits() -> None:
    assert canonical_phone("٠٩٤٤ ١٢٣ ٤٥٦", "SY") == "+963944123456"
    assert canonical_phone("+٩٠ ٥٣٢ ١٢٣ ٤٥ ٦٧", None) == "+905321234567"


def test_canonical_phone_accepts_persian_digits() -> None:
    assert canonical_phone("۰۹۴۴۱۲۳۴۵۶", "SY") == "+963944123456"


def test_canonical_phone_ignores_bidi_controls() -> None:
    assert canonical_phone("\u202a0944 123 456\u202c", "SY") == "+963944123456"


def test_canonical_phone_reads_local_numbers_in_the_chosen_country() -> None:
    # The same digits are a valid Syrian mobile, not a Turkish number.
    assert canonical_phone("0944123456", "SY") == "+963944123456"
    with pytest.raises(InvalidPhone):
        canonical_phone("0944123456", "TR")


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("123", "SY"),
        ("not a phone", "SY"),
        ("", "SY"),
        ("0944123456", None),
        ("0944123456", ""),
        ("+999 1234", "SY"),
        ("0944 123 456 789 000", "SY"),
    ],
)
def test_invalid_phones_raise_invalid_phone(value: str, country: str | None) -> None:
    with pytest.raises(InvalidPhone):
        canonical_phone(value, country)


@pytest.mark.usefixtures("no_network")
def test_phone_checks_make_no_network_call() -> None:
    assert canonical_phone("0944123456", "SY") == "+963944123456"


# ascii_digits -------------------------------------------------------------


def test_ascii_digits_converts_arabic_indic_digits() -> None:
    assert ascii_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789"


def test_ascii_digits_converts_persian_and_full_width_digits() -> None:
    assert ascii_digits("۰۱۲۳۴۵۶۷۸۹") == "0123456789"
    assert ascii_digits("０１２") == "012"


def test_ascii_digits_leaves_everything_else_alone() -> None:
    assert ascii_digits("شجرة ٥ trees 7, +٩٦٣") == "شجرة 5 trees 7, +963"
    assert ascii_digits("") == ""
