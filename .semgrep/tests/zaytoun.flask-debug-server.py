# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from flask import Flask

from campaigns import create_app

app = Flask(__name__)
# ruleid: flask-debug-server
app.debug = True
# ruleid: flask-debug-server
app.config["DEBUG"] = True

if __name__ == "__main__":
    # ruleid: flask-debug-server
    app.run(host="0.0.0.0", debug=True)


def serve():
    site = create_app()
    # ruleid: flask-debug-server
    site.run()


def job(task):
    # ok: flask-debug-server
    task.run()
