"""A minimal browser over real HTTP: a cookie jar, no automatic redirects, and
the forms of a page read the way a person's browser reads them."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from http.cookiejar import CookieJar

TIMEOUT = 10


@dataclass
class Response:
    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def location(self) -> str | None:
        """The redirect target as an absolute URL."""
        value = self.headers.get("Location")
        return urllib.parse.urljoin(self.url, value) if value else None

    def forms(self) -> list[Form]:
        parser = _FormParser()
        parser.feed(self.text)
        parser.close()
        for form in parser.forms:
            form.action = urllib.parse.urljoin(self.url, form.action or self.url)
        return parser.forms


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get")))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") == "submit":
                self.forms[-1].buttons.append(a.get("value", ""))
            else:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("type", "submit") == "submit":
            self.forms[-1].buttons.append("")
            self._in_button = True

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.forms[-1].buttons[-1] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """One visitor: its own cookies, every answer returned as it came."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, url: str, data: dict[str, str] | None = None) -> Response:
        if not url.startswith("http://127.0.0.1:"):
            raise ValueError(f"loopback only: {url}")
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        method = "POST" if data is not None else "GET"
        # Only http://127.0.0.1 reaches here (checked above).
        req = urllib.request.Request(url, data=body, method=method)  # noqa: S310
        try:
            with self._opener.open(req, timeout=TIMEOUT) as answer:
                return Response(url, answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as answer:
            with answer:
                return Response(url, answer.code, answer.headers, answer.read())

    def get(self, url: str) -> Response:
        return self.request(url)

    def post(self, url: str, data: dict[str, str]) -> Response:
        return self.request(url, data)
