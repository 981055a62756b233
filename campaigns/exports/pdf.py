"""PDFs made with WeasyPrint from our templates, loading nothing but our own
font files (no network, no file outside the font folders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

FONT_DIRS = (
    Path(__file__).resolve().parent / "fonts",
    Path(__file__).resolve().parent.parent / "results" / "fonts",
)


# The faces our PDFs use: family, weight, file (in one of FONT_DIRS).
FONT_FACES = (
    ("Zaytoun Arabic", 400, "NotoSansArabic-Regular.ttf"),
    ("Zaytoun Arabic", 700, "NotoSansArabic-Bold.ttf"),
    ("Zaytoun Latin", 400, "NotoSans-Regular.ttf"),
    ("Zaytoun Latin", 700, "NotoSans-Bold.ttf"),
)


def font_urls() -> dict[str, str]:
    """Each font file's name and its ``file:`` URL."""
    return {path.name: path.as_uri() for folder in FONT_DIRS for path in folder.glob("*.ttf")}


@dataclass(frozen=True)
class FontFace:
    family: str
    weight: int
    url: str


def font_faces() -> list[FontFace]:
    """FONT_FACES with their files' URLs, for ``_pdf_fonts.html`` in a
    template's <style> (rendered by the template: nothing unescaped)."""
    urls = font_urls()
    return [FontFace(family, weight, urls[name]) for family, weight, name in FONT_FACES]


def allowed_url(url: str) -> bool:
    """Only our font files: a document loads nothing else."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return False
    path = Path(unquote(parts.path)).resolve()
    return path.suffix == ".ttf" and path.parent in FONT_DIRS


def fonts_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL but our fonts."""
    # Imported here: WeasyPrint is heavy and only the PDFs need it.
    from weasyprint import URLFetcher

    class FontsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not allowed_url(url):
                raise ValueError(f"not loaded in a document: {url}")
            return super().fetch(url, headers)

    return FontsOnly()


def html_pdf(html: str, fetcher: Any = None, **options: Any) -> bytes:
    """``html`` as a PDF; ``options`` go to WeasyPrint's ``write_pdf``."""
    from weasyprint import HTML

    document = HTML(
        string=html,
        base_url=FONT_DIRS[0].as_uri() + "/",
        url_fetcher=fetcher or fonts_only_fetcher(),
    )
    pdf: bytes = document.write_pdf(**options)
    return pdf
