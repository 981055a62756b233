# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
import jinja2
from flask import render_template, render_template_string


def page(title):
    # ruleid: flask-render-template-string
    return render_template_string("<h1>" + title + "</h1>")


def page_from_env(env, source):
    # ruleid: flask-render-template-string
    return env.from_string(source).render()


def page_from_template(source):
    # ruleid: flask-render-template-string
    return jinja2.Template(source).render()


def good_page(title):
    # ok: flask-render-template-string
    return render_template("page.html", title=title)
