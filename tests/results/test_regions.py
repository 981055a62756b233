"""What signers type as their region, matched to an ISO 3166-2 subdivision
of Syria or Turkey, and the subdivisions' names in each language."""

from __future__ import annotations

import pytest

from campaigns.kernel.regions import match_region, region_name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Arabic, with and without hamza, tashkeel, the article
        ("حلب", "SY-HL"),
        ("حَلَب", "SY-HL"),
        ("عفرين", "SY-HL"),
        ("اعزاز", "SY-HL"),
        ("أعزاز", "SY-HL"),
        ("كوباني", "SY-HL"),
        ("إدلب", "SY-ID"),
        ("ادلب", "SY-ID"),
        ("الرقة", "SY-RA"),
        ("الرقّة", "SY-RA"),
        ("دير الزور", "SY-DY"),
        ("القامشلي", "SY-HA"),
        ("ريف دمشق", "SY-RD"),
        ("دمشق", "SY-DI"),
        ("  حمص  ", "SY-HI"),
        # Kurdish (Kurmanji)
        ("Helep", "SY-HL"),
        ("Efrîn", "SY-HL"),
        ("Kobanî", "SY-HL"),
        ("Cindirês", "SY-HL"),
        ("Qamişlo", "SY-HA"),
        ("Serêkaniyê", "SY-HA"),
        ("Girê Spî", "SY-RA"),
        ("Şam", "SY-DI"),
        # English, in any case, with or without the article
        ("Aleppo", "SY-HL"),
        ("ALEPPO", "SY-HL"),
        ("afrin", "SY-HL"),
        ("Al-Bab", "SY-HL"),
        ("Al Bab", "SY-HL"),
        ("Idlib", "SY-ID"),
        ("Idleb", "SY-ID"),
        ("Deir ez-Zor", "SY-DY"),
        ("Hasakah", "SY-HA"),
        ("Damascus", "SY-DI"),
        ("Damascus countryside", "SY-RD"),
        ("Latakia", "SY-LA"),
        ("Daraa", "SY-DR"),
        ("Sweida", "SY-SU"),
        ("Quneitra", "SY-QU"),
        ("Tartus", "SY-TA"),
        ("Hama", "SY-HM"),
        # Turkish names of Syrian places
        ("Halep", "SY-HL"),
        ("Humus", "SY-HI"),
        ("Rakka", "SY-RA"),
        ("Deyrizor", "SY-DY"),
        # "Town, Province" and "neighbourhood - city"
        ("Afrin, Aleppo", "SY-HL"),
        ("Jindires, Afrin", "SY-HL"),
        ("حي الشعار - حلب", "SY-HL"),
        ("Ras al-Ayn, Hasakah", "SY-HA"),
        ("Jableh, Latakia", "SY-LA"),
        ("Saraqib, Idlib", "SY-ID"),
        ("Idlib countryside", "SY-ID"),
        ("ريف حلب", "SY-HL"),
    ],
)
def test_syrian_regions(text: str, code: str) -> None:
    assert match_region("SY", text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Turkish, with the official spelling
        ("Şanlıurfa", "TR-63"),
        ("Gaziantep", "TR-27"),
        ("İstanbul", "TR-34"),
        ("Hatay", "TR-31"),
        ("Kilis", "TR-79"),
        ("Mersin", "TR-33"),
        ("Adana", "TR-01"),
        ("Ankara", "TR-06"),
        ("İzmir", "TR-35"),
        ("Kahramanmaraş", "TR-46"),
        ("Mardin", "TR-47"),
        ("Diyarbakır", "TR-21"),
        ("Osmaniye", "TR-80"),
        ("Düzce", "TR-81"),
        ("Van", "TR-65"),
        ("Iğdır", "TR-76"),
        # Without Turkish letters, as on a foreign keyboard
        ("Sanliurfa", "TR-63"),
        ("SANLIURFA", "TR-63"),
        ("Istanbul", "TR-34"),
        ("ISTANBUL", "TR-34"),
        ("Diyarbakir", "TR-21"),
        ("Kahramanmaras", "TR-46"),
        ("Eskisehir", "TR-26"),
        ("Canakkale", "TR-17"),
        ("Igdir", "TR-76"),
        # Short and older names, towns
        ("Urfa", "TR-63"),
        ("Antep", "TR-27"),
        ("Antakya", "TR-31"),
        ("Reyhanlı", "TR-31"),
        ("Reyhanli", "TR-31"),
        ("Maraş", "TR-46"),
        # Arabic
        ("غازي عنتاب", "TR-27"),
        ("عنتاب", "TR-27"),
        ("إسطنبول", "TR-34"),
        ("اسطنبول", "TR-34"),
        ("أورفة", "TR-63"),
        ("شانلي أورفة", "TR-63"),
        ("الريحانية", "TR-31"),
        ("مرسين", "TR-33"),
        # Kurdish
        ("Dîlok", "TR-27"),
        ("Riha", "TR-63"),
        ("Amed", "TR-21"),
        ("Stenbol", "TR-34"),
        ("Mêrdîn", "TR-47"),
        # "Town, Province"
        ("Reyhanlı, Hatay", "TR-31"),
        ("Esenyurt, İstanbul", "TR-34"),
        ("Şahinbey - Gaziantep", "TR-27"),
    ],
)
def test_turkish_provinces(text: str, code: str) -> None:
    assert match_region("TR", text) == code


@pytest.mark.parametrize(
    ("country", "text"),
    [
        ("SY", "Atlantis"),
        ("SY", ""),
        ("SY", "   "),
        ("SY", "-"),
        ("SY", "Gaziantep"),  # a Turkish province, not a Syrian one
        ("TR", "Aleppo"),  # a Syrian province, not a Turkish one
        ("TR", "Afrin, Aleppo"),
        ("TR", "Berlin"),
        ("TR", "İstanbulx"),
    ],
)
def test_unknown_regions_are_none(country: str, text: str) -> None:
    assert match_region(country, text) is None


@pytest.mark.parametrize(
    ("country", "text"),
    [
        ("DE", "Berlin"),
        ("DE", "Aleppo"),
        ("LB", "حلب"),
        ("IQ", "Halep"),
        ("JO", "Gaziantep"),
        ("", "Aleppo"),
    ],
)
def test_regions_are_matched_for_syria_and_turkey_only(country: str, text: str) -> None:
    assert match_region(country, text) is None


@pytest.mark.parametrize(
    "text",
    ["Douma, Rif Dimashq", "دوما - ريف دمشق", "Eastern Ghouta, Rif Dimashq", "Daraya, ريف دمشق"],
)
def test_town_in_damascus_countryside(text: str) -> None:
    assert match_region("SY", text) == "SY-RD"


@pytest.mark.parametrize(
    ("code", "lang", "name"),
    [
        ("SY-HL", "ar", "حلب"),
        ("SY-HL", "en", "Aleppo"),
        ("SY-HL", "ku", "Helep"),
        ("SY-HL", "tr", "Halep"),
        ("SY-HL", "fr", "Aleppo"),  # no French name: English
        ("SY-RD", "ar", "ريف دمشق"),
        ("SY-RD", "en", "Rif Dimashq"),
        ("SY-DY", "ku", "Dêra Zorê"),
        ("SY-HA", "en", "Hasakah"),
        ("TR-27", "ar", "غازي عنتاب"),
        ("TR-27", "en", "Gaziantep"),
        ("TR-27", "tr", "Gaziantep"),
        ("TR-34", "ar", "إسطنبول"),
        ("TR-34", "en", "İstanbul"),
        ("TR-63", "ar", "شانلي أورفة"),
        ("TR-63", "en", "Şanlıurfa"),
        ("TR-01", "en", "Adana"),
        ("TR-81", "en", "Düzce"),
        ("TR-81", "ar", "Düzce"),  # no Arabic name in common use: the Turkish one
        ("TR-06", "ar", "أنقرة"),
    ],
)
def test_region_names(code: str, lang: str, name: str) -> None:
    assert region_name(code, lang) == name


def test_every_matched_region_has_a_name_in_each_language() -> None:
    for country, texts in {
        "SY": ["Aleppo", "Idlib", "Raqqa", "Daraa", "Quneitra"],
        "TR": ["Adana", "Düzce", "Kilis", "Gaziantep", "Van"],
    }.items():
        for text in texts:
            code = match_region(country, text)
            assert code is not None and code.startswith(f"{country}-")
            for lang in ("ar", "en", "ku", "tr"):
                assert region_name(code, lang).strip()


@pytest.mark.parametrize("code", ["XX-1", "SY-ZZ", "other"])
def test_unknown_codes_are_shown_as_they_are(code: str) -> None:
    assert region_name(code, "en") == code


@pytest.mark.parametrize("code", ["TR-00", "TR-99"])
def test_unknown_turkish_codes_are_shown_as_they_are(code: str) -> None:
    assert region_name(code, "en") == code
