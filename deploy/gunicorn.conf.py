"""gunicorn settings for production.

    gunicorn -c deploy/gunicorn.conf.py "campaigns:create_app()"
"""

import multiprocessing
import os
import re

from gunicorn.glogging import Logger

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Signers may be at risk: the access log carries no client address and no query string.
accesslog = "-"
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"

# Confirm, unsubscribe and manage links carry their token in the path: it grants the action.
_TOKEN_IN_PATH = re.compile(r"(/(?:confirm|unsubscribe|manage)/)[^/]+")


class TokenlessLogger(Logger):
    """The access log with tokens in paths replaced by "-"."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _TOKEN_IN_PATH.sub(r"\1-", atoms["U"] or "")
        return atoms


logger_class = TokenlessLogger
