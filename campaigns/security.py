"""Response headers every page carries, and the client address we trust."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
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
    """Session cookies are Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def set_security_headers(response: Response) -> Response:
    frameable = request.endpoint in FRAMEABLE_ENDPOINTS
    if frameable:
        # Any host page may frame the widget, including sandboxed and srcdoc
        # frames, which "frame-ancestors *" would refuse (it matches only
        # network schemes): so no frame-ancestors directive at all.
        response.headers["Content-Security-Policy"] = CSP_FRAMEABLE
    else:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
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


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        # Only as many X-Forwarded-For hops as there are proxies we run.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.session_interface = SessionInterface()
    app.before_request(refuse_nul_in_path)
    app.after_request(set_security_headers)
