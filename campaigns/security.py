"""Response headers every page carries, and the client address we trust."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline script or style, nothing from another origin.
_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
]
CSP = "; ".join([*_DIRECTIVES, "frame-ancestors 'none'"])
CSP_FRAMEABLE = "; ".join(_DIRECTIVES)
# Endpoints that partner sites may frame: the embed widget only.
FRAMEABLE_ENDPOINTS = {"embed.widget"}
# Pages that can show what a signer typed or a personal link: never cached.
NO_STORE_ENDPOINTS = {"signing.thanks", "signing.confirm", "updates.unsubscribe_page"}


class SessionInterface(SecureCookieSessionInterface):
    """Session cookies are Secure whenever the request came over HTTPS. The
    signing serializer is built once per set of keys, not on every request."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        # The last step of every response, after all after-request functions:
        # a response that shared caches may keep sets no cookie at all (not
        # the session, nor the language or a login cookie an extension set),
        # or a cache would hand it to everyone who asks for the same URL.
        if response.cache_control.public:
            response.headers.remove("Set-Cookie")
            return
        super().save_session(app, session, response)


# Headers no view sets itself: added in one go (a plain append each) rather
# than set one by one, which scans the header list for every name.
_COMMON = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
]
PAGE_HEADERS = [("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"), *_COMMON]
# Any host page may frame the widget, including sandboxed and srcdoc frames,
# which "frame-ancestors *" would refuse (it matches only network schemes):
# so no frame-ancestors directive at all.
FRAMEABLE_HEADERS = [("Content-Security-Policy", CSP_FRAMEABLE), *_COMMON]


def set_security_headers(response: Response) -> Response:
    frameable = request.endpoint in FRAMEABLE_ENDPOINTS
    response.headers.extend(FRAMEABLE_HEADERS if frameable else PAGE_HEADERS)
    if (
        request.method != "GET"
        or request.endpoint in NO_STORE_ENDPOINTS
        or request.path.startswith("/console")
    ):
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


def refuse_nul_in_path() -> None:
    # No URL of ours holds a NUL, and PostgreSQL refuses one in a query (a 5xx).
    if "\x00" in request.path:
        abort(404)


def untrusted_host(error: SecurityError) -> Response:
    """A Host header that is none of TRUSTED_HOSTS: no URL can be built for
    it (the error pages link their style sheet), and none must be, so that
    nothing reflects it. Only a client that chose the header gets this."""
    return Response("Bad Request\n", 400, mimetype="text/plain")


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Only as many X-Forwarded-For hops as there are proxies we run.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.session_interface = SessionInterface()
    app.before_request(refuse_nul_in_path)
    app.register_error_handler(SecurityError, untrusted_host)
    app.after_request(set_security_headers)
