"""Regions of Syria and Turkey, where most signers live: free text typed by
signers ("Afrin", "عفرين", "Efrîn") matched to an ISO 3166-2 subdivision so
that results can be broken down by region. Anything unmatched stays "other".
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from .normalize import match_name

# code: (names by language, extra aliases: cities and spellings)
SYRIA: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "SY-DI": (
        {"ar": "دمشق", "en": "Damascus", "ku": "Şam", "tr": "Şam"},
        ("الشام", "Dimashq", "Sham", "Damas"),
    ),
    "SY-RD": (
        {"ar": "ريف دمشق", "en": "Rif Dimashq", "ku": "Gundewarên Şamê", "tr": "Şam Kırsalı"},
        ("Damascus countryside", "Rif Damascus", "دوما", "Douma", "داريا", "Daraya",
         "الغوطة", "Ghouta", "الزبداني", "Zabadani", "يبرود", "Yabroud", "التل", "قدسيا",
         "المعضمية", "Moadamiyeh", "جرمانا", "Jaramana"),
    ),
    "SY-HL": (
        {"ar": "حلب", "en": "Aleppo", "ku": "Helep", "tr": "Halep"},
        ("Halab", "Alep", "عفرين", "Afrin", "Efrîn", "اعزاز", "أعزاز", "Azaz", "A'zaz",
         "الباب", "Al-Bab", "Al Bab", "جرابلس", "Jarablus", "Cerablus", "منبج", "Manbij",
         "Minbic", "عين العرب", "كوباني", "Kobani", "Kobane", "Kobanî", "مارع", "Marea",
         "تل رفعت", "Tal Rifaat", "جنديرس", "Jindires", "Cindirês", "الأتارب", "Atarib",
         "دارة عزة", "Darat Izza", "السفيرة", "Safira"),
    ),
    "SY-HI": (
        {"ar": "حمص", "en": "Homs", "ku": "Hims", "tr": "Humus"},
        ("Hims", "تدمر", "Palmyra", "Tadmur", "الرستن", "Rastan", "تلبيسة", "Talbiseh",
         "القصير", "Qusayr"),
    ),
    "SY-HM": (
        {"ar": "حماة", "en": "Hama", "ku": "Hema", "tr": "Hama"},
        ("Hamah", "السلمية", "Salamiyah", "محردة", "Mhardeh", "مصياف", "Masyaf",
         "اللطامنة", "Latamneh", "كفرزيتا", "Kafr Zita"),
    ),
    "SY-ID": (
        {"ar": "إدلب", "en": "Idlib", "ku": "Îdlib", "tr": "İdlib"},
        ("Idleb", "سرمدا", "Sarmada", "الدانا", "Dana", "معرة النعمان", "Maarat al-Numan",
         "Maarrat al-Numan", "أريحا", "Ariha", "جسر الشغور", "Jisr al-Shughur", "سلقين",
         "Salqin", "حارم", "Harem", "أطمة", "Atmeh", "سراقب", "Saraqib", "خان شيخون",
         "Khan Shaykhun", "بنش", "Binnish", "كفر تخاريم", "Kafr Takharim", "حزانو",
         "Hazano", "معرة مصرين", "Maarrat Misrin"),
    ),
    "SY-LA": (
        {"ar": "اللاذقية", "en": "Latakia", "ku": "Lazkiye", "tr": "Lazkiye"},
        ("Lattakia", "Al-Ladhiqiyah", "جبلة", "Jableh"),
    ),
    "SY-TA": (
        {"ar": "طرطوس", "en": "Tartus", "ku": "Tartûs", "tr": "Tartus"},
        ("Tartous", "بانياس", "Baniyas", "صافيتا", "Safita"),
    ),
    "SY-RA": (
        {"ar": "الرقة", "en": "Raqqa", "ku": "Reqa", "tr": "Rakka"},
        ("Raqqah", "Ar-Raqqah", "الطبقة", "Tabqa", "تل أبيض", "Tal Abyad", "Girê Spî"),
    ),
    "SY-DY": (
        {"ar": "دير الزور", "en": "Deir ez-Zor", "ku": "Dêra Zorê", "tr": "Deyrizor"},
        ("Deir Ezzor", "Deir al-Zour", "Deir el-Zor", "Dayr az Zawr", "البوكمال",
         "Albu Kamal", "الميادين", "Mayadin"),
    ),
    "SY-HA": (
        {"ar": "الحسكة", "en": "Hasakah", "ku": "Hesekê", "tr": "Haseke"},
        ("Al-Hasakah", "Hasaka", "Heseke", "القامشلي", "Qamishli", "Qamishlo", "Qamişlo",
         "رأس العين", "Ras al-Ayn", "Serêkaniyê", "Serekaniye", "عامودا", "Amuda", "Amûdê",
         "المالكية", "ديريك", "Derik", "Dêrik", "الدرباسية", "Darbasiyah"),
    ),
    "SY-DR": (
        {"ar": "درعا", "en": "Daraa", "ku": "Dera", "tr": "Dera"},
        ("Deraa", "Dar'a", "بصرى", "Bosra", "نوى", "Nawa", "إنخل", "Inkhil"),
    ),
    "SY-SU": (
        {"ar": "السويداء", "en": "As-Suwayda", "ku": "Siweyda", "tr": "Süveyda"},
        ("Suwayda", "Sweida", "Sweida'", "شهبا", "Shahba"),
    ),
    "SY-QU": (
        {"ar": "القنيطرة", "en": "Quneitra", "ku": "Qunêtire", "tr": "Kuneytra"},
        ("Al-Qunaytirah", "Kuneitra"),
    ),
}

# ISO 3166-2:TR codes are the provinces' plate numbers.
TURKEY_PROVINCES = (
    "Adana", "Adıyaman", "Afyonkarahisar", "Ağrı", "Amasya", "Ankara", "Antalya", "Artvin",
    "Aydın", "Balıkesir", "Bilecik", "Bingöl", "Bitlis", "Bolu", "Burdur", "Bursa",
    "Çanakkale", "Çankırı", "Çorum", "Denizli", "Diyarbakır", "Edirne", "Elazığ", "Erzincan",
    "Erzurum", "Eskişehir", "Gaziantep", "Giresun", "Gümüşhane", "Hakkâri", "Hatay",
    "Isparta", "Mersin", "İstanbul", "İzmir", "Kars", "Kastamonu", "Kayseri", "Kırklareli",
    "Kırşehir", "Kocaeli", "Konya", "Kütahya", "Malatya", "Manisa", "Kahramanmaraş",
    "Mardin", "Muğla", "Muş", "Nevşehir", "Niğde", "Ordu", "Rize", "Sakarya", "Samsun",
    "Siirt", "Sinop", "Sivas", "Tekirdağ", "Tokat", "Trabzon", "Tunceli", "Şanlıurfa",
    "Uşak", "Van", "Yozgat", "Zonguldak", "Aksaray", "Bayburt", "Karaman", "Kırıkkale",
    "Batman", "Şırnak", "Bartın", "Ardahan", "Iğdır", "Yalova", "Karabük", "Kilis",
    "Osmaniye", "Düzce",
)
# Arabic and other names of the provinces where Syrians mostly live.
TURKEY_ALIASES: dict[str, tuple[str, ...]] = {
    "TR-34": ("إسطنبول", "اسطنبول", "Istanbul", "Stenbol"),
    "TR-27": ("غازي عنتاب", "عنتاب", "Antep", "Dîlok"),
    "TR-31": ("هاتاي", "أنطاكية", "انطاكيا", "Antakya", "Reyhanlı", "الريحانية", "Reyhanli"),
    "TR-63": ("شانلي أورفة", "أورفة", "اورفا", "Urfa", "Riha"),
    "TR-79": ("كلس",),
    "TR-33": ("مرسين",),
    "TR-01": ("أضنة", "اضنة"),
    "TR-16": ("بورصة",),
    "TR-42": ("قونية",),
    "TR-35": ("إزمير", "ازمير"),
    "TR-06": ("أنقرة", "انقرة"),
    "TR-38": ("قيصري",),
    "TR-47": ("ماردين", "Mêrdîn"),
    "TR-46": ("كهرمان مرعش", "مرعش", "Maraş"),
    "TR-80": ("عثمانية",),
    "TR-44": ("ملاطية",),
    "TR-21": ("ديار بكر", "Amed"),
}
TURKEY_ARABIC = {
    "TR-34": "إسطنبول", "TR-27": "غازي عنتاب", "TR-31": "هاتاي", "TR-63": "شانلي أورفة",
    "TR-79": "كلس", "TR-33": "مرسين", "TR-01": "أضنة", "TR-16": "بورصة", "TR-42": "قونية",
    "TR-35": "إزمير", "TR-06": "أنقرة", "TR-38": "قيصري", "TR-47": "ماردين",
    "TR-46": "كهرمان مرعش", "TR-80": "عثمانية", "TR-44": "ملاطية", "TR-21": "ديار بكر",
}
# Breakdowns by region are shown for these countries.
REGION_COUNTRIES = ("SY", "TR")
OTHER = "other"
_SEPARATORS = re.compile(r"[,،;/|()\-–—]+")


def _fold(text: str) -> str:
    """Matching form: Arabic folded, Latin without diacritics, no punctuation."""
    text = match_name(text).replace("ı", "i")
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    for prefix in ("ال", "al ", "el ", "ar ", "as ", "ad "):
        if text.startswith(prefix) and len(text) > len(prefix) + 2:
            text = text[len(prefix) :]
    return " ".join(text.split())


@cache
def _index() -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for code, (names, aliases) in SYRIA.items():
        for name in (*names.values(), *aliases):
            index[("SY", _fold(name))] = code
    for number, name in enumerate(TURKEY_PROVINCES, start=1):
        code = f"TR-{number:02d}"
        for alias in (name, *TURKEY_ALIASES.get(code, ())):
            index[("TR", _fold(alias))] = code
    return index


def match_region(country: str, text: str) -> str | None:
    """The subdivision code for a typed region, or None when unknown or not tracked."""
    if country not in REGION_COUNTRIES or not text:
        return None
    index = _index()
    # "Afrin, Aleppo" or "دوما - ريف دمشق": each part, the last (widest) first;
    # inside a part, the longest run of words first ("rif dimashq" before "dimashq").
    parts = [_fold(part) for part in _SEPARATORS.split(text)]
    for part in [_fold(text), *reversed(parts)]:
        words = part.split(" ")
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size, -1, -1):
                candidate = " ".join(words[start : start + size])
                if (country, candidate) in index:
                    return index[(country, candidate)]
    return None


def region_name(code: str, lang: str) -> str:
    """A region's name in ``lang`` (Turkish provinces keep their Turkish names
    except where Syrians commonly use an Arabic one)."""
    if code in SYRIA:
        names = SYRIA[code][0]
        return names.get(lang) or names["en"]
    if code in TURKEY_ARABIC and lang == "ar":
        return TURKEY_ARABIC[code]
    number = code[3:] if code.startswith("TR-") else ""
    if number.isdigit() and 1 <= int(number) <= len(TURKEY_PROVINCES):
        return TURKEY_PROVINCES[int(number) - 1]
    return code
