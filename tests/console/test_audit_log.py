"""The audit log reads as sentences in the reader's language: every action
recorded anywhere has one, with the people and campaigns it names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flask import Flask

from campaigns.accounts.audit import record
from campaigns.console.audit_text import SENTENCES
from campaigns.extensions import db
from campaigns.models import AuditEntry
from tests.moderation.support import logged_in, make_console

ROOT = Path(__file__).resolve().parents[2]
ARABIC = re.compile("[\u0621-\u064a]")


def _strings(node: ast.AST | None) -> set[str]:
    """The action names an expression can be: a literal, or either branch of
    ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _recorded_actions() -> set[str]:
    """Every action name a ``record(...)`` call (or moderation's ``_decided``,
    which passes its action on to ``record``) can write: a literal there, or
    the values a variable passed there is assigned in the same function."""
    actions: set[str] = set()
    for path in (ROOT / "campaigns").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            assigned: dict[str, set[str]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, set()).update(_strings(node.value))
            for node in ast.walk(function):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name not in ("record", "record_by_signer", "_decided"):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Name):
                    actions |= assigned.get(first.id, set())
                else:
                    actions |= _strings(first)
    return actions


def test_every_recorded_action_has_a_sentence() -> None:
    actions = _recorded_actions()
    assert len(actions) > 20  # the scan found the calls
    assert actions - set(SENTENCES) == set()


def test_the_audit_log_reads_as_sentences_in_arabic(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    assert admin.post(
        f"/console/users/{console.partner.id}/role", data={"role": "organizer"}
    ).status_code == 303
    with app.test_request_context():
        record("campaign_status", "campaign", console.campaign.id, before="open", after="closed",
               by="schedule")
        db.session.commit()
    admin.set_cookie("lang", "ar")
    page = admin.get("/console/audit").get_data(as_text=True)
    body = page.split("<main", 1)[1]
    # The names and the campaign's Arabic title are in the sentences; no raw
    # action key, no JSON, no English role or status.
    assert "<bdi>Admin</bdi>" in body and "<bdi>Partner</bdi>" in body
    assert console.campaign.text("ar").title in body
    for raw in ("role_changed", "campaign_status", '"before"', "Organizer", "Closed", "Open"):
        assert raw not in body, raw
    sentences = re.findall(r'<span class="audit-sentence">(.*?)</span>', body, re.S)
    assert len(sentences) == db.session.query(AuditEntry).count()
    assert all(ARABIC.search(s) for s in sentences)


def test_role_names_follow_the_readers_language(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    admin.set_cookie("lang", "ar")
    page = admin.get("/console/users").get_data(as_text=True)
    options = re.findall(r'<option value="(?:admin|organizer|partner)"[^>]*>([^<]+)</option>', page)
    assert options and all(ARABIC.search(o) for o in options), options


def test_the_language_switch_stays_in_the_console(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    admin.set_cookie("lang", "en")
    page = admin.get("/console/audit?page=1").get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" lang="(\w+)" hreflang', page))
    assert set(links) == {
        "/console/audit?page=1&amp;lang=ar",
        "/console/audit?page=1&amp;lang=ku",
        "/console/audit?page=1&amp;lang=tr",
    }
    arabic = admin.get("/console/audit?page=1&lang=ar")
    assert arabic.status_code == 200
    assert '<html lang="ar" dir="rtl">' in arabic.get_data(as_text=True)
    # The choice is remembered: the next console page is in Arabic too.
    assert '<html lang="ar" dir="rtl">' in admin.get("/console/").get_data(as_text=True)
    # A language we do not have is ignored.
    assert '<html lang="ar"' in admin.get("/console/?lang=xx").get_data(as_text=True)
