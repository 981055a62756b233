"""What the virtual users do: sign (a real form POST with the CSRF token their
page gave them), read the count JSON or the results page, and the probe that
times a confirmation until the count JSON shows it."""

from __future__ import annotations

import asyncio
import email
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from urllib.parse import quote_plus, urlsplit

from .data import client_address
from .http import Response, VirtualUser, build, fetch, form

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CONFIRM_LINK = re.compile(r"https?://\S+/confirm/[A-Za-z0-9._-]+")
MAIL_DOMAIN = "zaytoun-bench.org"
LANG = "ar"


def session_cookie(response: Response) -> str:
    """The Cookie header a browser sends back after this response."""
    cookies = [value.split(";", 1)[0] for value in response.header("Set-Cookie")]
    if not cookies:
        raise RuntimeError("the page set no cookie")
    return "; ".join(cookies)


def csrf_token(response: Response) -> str:
    match = CSRF.search(response.text)
    if match is None:
        raise RuntimeError(f"no CSRF token in the page (status {response.status})")
    return match.group(1)


@dataclass
class Signing:
    """Sign POSTs on one campaign: every one a new signer, from a new address."""

    port: int
    slug: str
    tag: str  # unique per run: the signers' addresses never collide
    serial: itertools.count[int] = field(default_factory=itertools.count)
    answered_303: int = 0

    @property
    def page(self) -> str:
        return f"/{LANG}/campaigns/{self.slug}"

    def email(self, n: int) -> str:
        return f"s{self.tag}-{n}@{MAIL_DOMAIN}"

    async def prepare(self, user: VirtualUser) -> None:
        """The virtual user opens the campaign page once; its cookie and token
        are reused for every signature it sends, as a browser tab would."""
        if user.conn is None:
            raise RuntimeError("the virtual user has no connection")
        page = await user.conn.request(build("GET", self.page, self.port))
        if page.status != 200:
            raise RuntimeError(f"campaign page answered {page.status}")
        user.state["cookie"] = session_cookie(page)
        user.state["token"] = quote_plus(csrf_token(page))

    def request(self, user: VirtualUser, ticket: int) -> bytes:
        n = next(self.serial)
        body = (
            f"csrf_token={user.state['token']}&full_name=Bench+Signer+{n}"
            f"&email={quote_plus(self.email(n))}&phone=&country=SY&region=Aleppo"
            f"&show_name=y&contact_ok=y&website="
        ).encode()
        return build(
            "POST",
            f"{self.page}/sign",
            self.port,
            body=body,
            headers={
                "Cookie": user.state["cookie"],
                # Behind one trusted proxy: every signer comes from its own address.
                "X-Forwarded-For": client_address(n),
            },
        )

    def count_answer(self, user: VirtualUser, response: Response) -> None:
        self.answered_303 += 1


def get_request(port: int, path: str) -> Callable[[VirtualUser, int], bytes]:
    # As a browser asks: the server may compress what it sends.
    data = build("GET", path, port, headers={"Accept-Encoding": "br, gzip"})
    return lambda user, ticket: data


# -- confirmation to count


@dataclass
class Probe:
    email: str
    confirm_path: str = ""


async def signers_shown(port: int, slug: str) -> int:
    response = await fetch(port, "GET", f"/api/v1/campaigns/{slug}/count")
    if response.status != 200:
        raise RuntimeError(f"count JSON answered {response.status}")
    return int(json.loads(response.body)["signers"])


async def sign_once(signing: Signing, email_address: str, n: int) -> None:
    """One person signs: page, then the form, on a fresh connection each."""
    page = await fetch(signing.port, "GET", signing.page)
    cookie, token = session_cookie(page), csrf_token(page)
    answer = await fetch(
        signing.port,
        "POST",
        f"{signing.page}/sign",
        body=form(
            {
                "csrf_token": token,
                "full_name": f"Probe Signer {n}",
                "email": email_address,
                "country": "SY",
                "region": "Aleppo",
                "show_name": "y",
            }
        ),
        headers={"Cookie": cookie, "X-Forwarded-For": client_address(20_000_000 + n)},
    )
    if answer.status != 303:
        raise RuntimeError(f"probe sign answered {answer.status}")
    signing.answered_303 += 1


def confirm_path(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    match = CONFIRM_LINK.search(body.get_content() if body is not None else "")
    if match is None:
        raise RuntimeError("no confirmation link in the email")
    return urlsplit(match.group(0)).path


@dataclass
class ConfirmProbeResult:
    delays: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)


async def confirm_and_watch(
    port: int,
    slug: str,
    probes: list[Probe],
    stop_at: float,
    timeout: float,
    poll: float = 0.02,
) -> ConfirmProbeResult:
    """One probe at a time: open its confirmation page, press the button, and
    poll the count JSON until it shows one more signer. Nothing else confirms
    on this campaign meanwhile, so the increase is this probe's."""
    result = ConfirmProbeResult()
    for probe in probes:
        if time.monotonic() >= stop_at:
            break
        try:
            landing = await fetch(port, "GET", probe.confirm_path)
            cookie, token = session_cookie(landing), csrf_token(landing)
            before = await signers_shown(port, slug)
            pressed = time.monotonic()
            answer = await fetch(
                port,
                "POST",
                probe.confirm_path,
                body=form({"csrf_token": token}),
                headers={"Cookie": cookie},
            )
            if answer.status != 303:
                result.errors.append(f"confirm answered {answer.status}")
                continue
            while True:
                if await signers_shown(port, slug) > before:
                    result.delays.append(time.monotonic() - pressed)
                    break
                if time.monotonic() - pressed > timeout:
                    result.timeouts += 1
                    break
                await asyncio.sleep(poll)
        except (RuntimeError, OSError) as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(0.05)
    return result
