# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from weasyprint import HTML


def petition_pdf(html, fetcher):
    # ruleid: weasyprint-default-fetcher
    HTML(string=html).write_pdf()
    # ok: weasyprint-default-fetcher
    return HTML(string=html, base_url="file:///fonts/", url_fetcher=fetcher).write_pdf()
