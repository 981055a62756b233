"""Every interface string is translated: each catalog is complete and current
with the templates and code (English is the source language)."""

from __future__ import annotations

import re
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


TEMPLATES = ROOT / "templates"
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TAGS = re.compile(r"<!--.*?-->|<script.*?</script>|<style.*?</style>|<[^>]+>", re.S)
_ENTITY = re.compile(r"&[a-z]+;|&#\d+;")


_READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"')


def _unmarked_text(source: str) -> list[str]:
    without_jinja = _JINJA.sub(" ", source)
    found = _READ_ATTRIBUTES.findall(without_jinja)
    attributes = [value for value in found if any(c.isalpha() for c in value)]
    text = _TAGS.sub(" ", without_jinja)
    text = _ENTITY.sub(" ", text)
    return attributes + [chunk for chunk in text.split() if any(ch.isalpha() for ch in chunk)]


@pytest.mark.parametrize(
    "template",
    sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.*")),
)
def test_template_text_is_marked_for_translation(template: str) -> None:
    """Words a person reads come from a catalog, never straight from a template."""
    assert _unmarked_text((TEMPLATES / template).read_text()) == []


def test_the_check_finds_unmarked_words() -> None:
    assert _unmarked_text('<p>{{ _("Marked") }} Unmarked</p>') == ["Unmarked"]
    assert _unmarked_text('<a href="x" title="{{ t }}">{{ name }}</a> ،') == []
    assert _unmarked_text('<img alt="An olive tree" src="x">') == ["An olive tree"]
