# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from markupsafe import Markup, escape


def signer_line(signer_name):
    # ruleid: markup-non-literal
    return Markup(signer_name)


def title_html(title):
    # ruleid: markup-non-literal
    return Markup(f"<b>{title}</b>")


def region_html(region):
    # ruleid: markup-non-literal
    return Markup("<i>" + region + "</i>")


def separator():
    # ok: markup-non-literal
    return Markup("<br>")


def safe_title(title):
    # ok: markup-non-literal
    return Markup("<b>{}</b>").format(title)


def escaped(title):
    # ok: markup-non-literal
    return escape(title)
