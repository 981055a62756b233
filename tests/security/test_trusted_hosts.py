"""No redirect or absolute URL reflects a Host the site does not answer to:
a request for any other host gets a bare 400, on every GET route of the map.
The trusted hosts are SITE_URL's, plus the TRUSTED_HOSTS setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from campaigns import create_app
from campaigns.config import trusted_hosts
from tests.conftest import base_config

from .routes_support import make_world

EVIL = "evil.example"


def _reflects(response_text: str, headers: str) -> bool:
    return EVIL in response_text or EVIL in headers


def test_every_route_refuses_an_untrusted_host(app: Flask) -> None:
    world = make_world(app)
    client = app.test_client()
    answered: list[str] = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            url = world.url(app, rule.endpoint)
            for host in (EVIL, f"{EVIL}:443", f"zaytoun.test.{EVIL}", f"{EVIL}\\@zaytoun.test"):
                response = client.open(url, method=method, headers={"Host": host})
                if response.status_code != 400 or _reflects(
                    response.get_data(as_text=True), str(response.headers)
                ):
                    answered.append(f"{method} {url} Host={host}: {response.status_code}")
    assert answered == [], "\n".join(answered)


def test_the_trailing_slash_redirect_names_only_a_trusted_host(app: Flask) -> None:
    client = app.test_client()
    evil = client.get("/console", headers={"Host": EVIL})
    assert evil.status_code == 400
    assert "Location" not in evil.headers
    assert EVIL not in evil.get_data(as_text=True)
    good = client.get("/console", headers={"Host": "zaytoun.test"})
    assert good.status_code == 308
    assert good.headers["Location"] == "http://zaytoun.test/console/"


def test_a_forwarded_host_is_checked_too(tmp_path: Path, app: Flask) -> None:
    """Behind a trusted proxy the host is X-Forwarded-Host's: checked alike."""
    proxied = create_app(
        base_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]) | {"TRUSTED_PROXIES": 1}
    )
    client = proxied.test_client()
    response = client.get("/console", headers={"X-Forwarded-Host": EVIL})
    assert response.status_code == 400
    assert EVIL not in response.get_data(as_text=True) and "Location" not in response.headers
    response = client.get("/console", headers={"X-Forwarded-Host": "zaytoun.test"})
    assert response.headers["Location"] == "http://zaytoun.test/console/"


@pytest.mark.parametrize(
    ("site_url", "extra", "expected"),
    [
        ("https://zaytoun.example.org", [], ["zaytoun.example.org"]),
        ("https://Zaytoun.Example.org:8443/", ["lb.internal", ".example.net"],
         ["zaytoun.example.org", "lb.internal", ".example.net"]),
        ("http://127.0.0.1:5000", [], ["127.0.0.1", "localhost"]),
        ("http://localhost:5000", ["LOCALHOST"], ["127.0.0.1", "localhost"]),
    ],
)
def test_trusted_hosts_come_from_site_url_and_the_setting(
    site_url: str, extra: list[str], expected: list[str]
) -> None:
    assert trusted_hosts(site_url, extra) == expected


def test_the_setting_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SITE_URL", "https://zaytoun.example.org")
    monkeypatch.setenv("TRUSTED_HOSTS", "health.internal, www.zaytoun.example.org")
    application = create_app(
        {"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert application.config["TRUSTED_HOSTS"] == [
        "zaytoun.example.org",
        "health.internal",
        "www.zaytoun.example.org",
    ]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "| `TRUSTED_HOSTS` |" in readme
