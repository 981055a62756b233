"""Every interface string is translated: each catalog is complete and current
with the templates and code (English is the source language)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "campaigns" / "translations"


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


TRANSLATED = ["ar", "ku", "tr"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_has_no_untranslated_or_fuzzy_entry(lang: str) -> None:
    catalog = _catalog(lang)
    missing = [
        m.id
        for m in catalog
        if m.id
        and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert missing == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_covers_every_marked_string(lang: str, tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F",
            str(ROOT / "babel.cfg"), "-k", "lazy_gettext", "-k", "_l", "-o", str(pot), ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(pot, "rb") as handle:
        marked = {m.id for m in read_po(handle) if m.id}
    translated = {m.id for m in _catalog(lang) if m.id}
    assert sorted(str(i) for i in marked - translated) == []
