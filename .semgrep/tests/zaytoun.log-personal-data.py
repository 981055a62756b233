# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
import logging

from flask import current_app, request

log = logging.getLogger(__name__)


def record(signature, email, personal, user, item, job, email_ids, exc):
    # ruleid: log-personal-data
    log.info("confirmation sent to %s", email)
    # ruleid: log-personal-data
    log.warning("signer %s", personal["full_name"])
    # ruleid: log-personal-data
    log.info("user %s logged in", user.email)
    # ruleid: log-personal-data
    current_app.logger.error("refused from %s", request.remote_addr)
    # ruleid: log-personal-data
    log.debug(f"phone {signature.phone}")
    # ruleid: log-personal-data
    print("signed:", user.name)
    # ruleid: log-personal-data
    logging.info("forwarded for %s", request.headers.get("X-Forwarded-For"))
    # ok: log-personal-data
    log.info("email %s will be retried: %s", item.id, "recipient refused 550")
    # ok: log-personal-data
    log.exception("email %s could not be composed", email.id)
    # ok: log-personal-data
    log.exception("periodic job %s failed", job.__name__)
    # ok: log-personal-data
    log.exception("emails %s not published; the sweep will send them", email_ids)
    # ok: log-personal-data
    log.warning("cache unavailable: %s", type(exc).__name__)
