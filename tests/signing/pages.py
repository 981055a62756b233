"""Reading rendered pages the way a person (or a screen reader) would: a small
element tree built with the standard library's HTML parser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        return " ".join("".join(self._texts()).split())

    def _texts(self) -> Iterator[str]:
        yield from self.parts
        for child in self.children:
            yield from child._texts()

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            wanted_class = attrs.get("class_")
            if wanted_class is not None and wanted_class not in element.classes:
                continue
            if all(element.attrs.get(k) == v for k, v in attrs.items() if k != "class_"):
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def ancestor(self, tag: str, class_: str | None = None) -> Element | None:
        node = self.parent
        while node is not None:
            if node.tag == tag and (class_ is None or class_ in node.classes):
                return node
            node = node.parent
        return None


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.parts.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def html_element(page: Element) -> Element:
    element = page.find("html")
    assert element is not None, "no <html> element"
    return element


def field_error(page: Element, field_id: str) -> str | None:
    """The error text shown inside the same form field block as the input
    ``field_id``, or None when that field shows no error."""
    control = page.find(id=field_id)
    assert control is not None, f"no form control #{field_id}"
    block = control.ancestor("div", "field")
    assert block is not None, f"#{field_id} is not inside a field block"
    errors = [e.text for e in block.find_all(class_="error") if e.text]
    return errors[0] if errors else None


def fields_with_errors(page: Element) -> set[str]:
    """Ids of the form controls that are shown with an error."""
    shown = set()
    for block in page.find_all("div", class_="field"):
        if not [e for e in block.find_all(class_="error") if e.text]:
            continue
        for control in block.iter():
            if control.tag in {"input", "select", "textarea"} and control.attrs.get("id"):
                shown.add(control.attrs["id"])
    return shown


def form_value(page: Element, field_id: str) -> str:
    control = page.find(id=field_id)
    assert control is not None, f"no form control #{field_id}"
    return control.attrs.get("value", "")


def heading(page: Element) -> str:
    h1 = page.find("h1")
    assert h1 is not None, "no <h1>"
    return h1.text
