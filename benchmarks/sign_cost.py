"""What a sign request costs this checkout's code, against another revision's
code, measured in the same run: the check that a change left the sign path's
cost as it was (``make bench``'s storm shares two cores with everything, so
its ratio moves by a third between runs; this one isolates the app's code).

For each side, a process of its own builds the app from that side's code
(Flask's test client, one thread, PostgreSQL), opens the campaign page once
for its cookie and CSRF token, as a browser would, signs ``--warm-up`` times,
then ``--requests`` more, each a new signer from a new address, and reports
the CPU time it spent per request (``time.process_time``: the database's
time is not in it) and the wall time. The sides take turns, ``--rounds``
times, so that a slower stretch of the machine falls on both; the figure is
the ratio of the medians, this checkout's over the other's.

Run: ``.venv/bin/python -m benchmarks.sign_cost --against 8a68e13``
(PostgreSQL on 127.0.0.1:5432, user ``postgres``, trust). The other revision
is checked out with ``git worktree`` in a temporary folder, its catalogs
compiled with this checkout's pybabel; both databases are dropped and the
worktree removed at the end, whatever happens."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SLUG = "no-russia-on-hrc"
HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]


# --- one side, in its own process (imports only that side's campaigns) -------


def _side_app(database: str, instance: str) -> Any:
    from campaigns import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": ADMIN_URL.rsplit("/", 1)[0] + f"/{database}",
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "bench",
            "REDIS_URL": "",
            "TASKS_EAGER": False,
            "EMBEDDED_SCHEDULER": False,
            "MAIL_SERVER": "",
            "SITE_URL": "http://zaytoun.test",
            "TRUSTED_HOSTS": ["localhost"],
        }
    )


def _setup(database: str, instance: str) -> None:
    from flask_migrate import upgrade

    from campaigns.extensions import db
    from campaigns.seed import seed

    app = _side_app(database, instance)
    with app.app_context():
        upgrade()
        seed()
        db.session.commit()


def _measure(database: str, instance: str, warm_up: int, requests: int) -> dict[str, float]:
    app = _side_app(database, instance)
    client = app.test_client()
    page = client.get(f"/ar/campaigns/{SLUG}")
    if page.status_code != 200:
        raise SystemExit(f"the campaign page answered {page.status_code}")
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    if found is None:
        raise SystemExit("no CSRF token on the campaign page")
    token, tag = found.group(1), uuid.uuid4().hex[:8]

    def sign(n: int) -> None:
        answer = client.post(
            f"/ar/campaigns/{SLUG}/sign",
            data={
                "csrf_token": token,
                "full_name": f"Bench Signer {n}",
                "email": f"s{tag}-{n}@zaytoun-bench.org",
                "phone": "",
                "country": "SY",
                "region": "Aleppo",
                "show_name": "y",
                "contact_ok": "y",
                "website": "",
            },
            # A new address each time (the documentation prefix): no rate rule trips.
            environ_base={"REMOTE_ADDR": f"2001:db8::{n // 65536:x}:{n % 65536:x}"},
        )
        if answer.status_code != 303:
            raise SystemExit(f"sign answered {answer.status_code}")

    for n in range(warm_up):
        sign(n)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(warm_up, warm_up + requests):
        sign(n)
    return {
        "cpu_ms": (time.process_time() - cpu) / requests * 1e3,
        "wall_ms": (time.perf_counter() - wall) / requests * 1e3,
    }


def _worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.setup:
        _setup(args.database, args.instance)
        return 0
    print(json.dumps(_measure(args.database, args.instance, args.warm_up, args.requests)))
    return 0


# --- the comparison ------------------------------------------------------------


class Side:
    def __init__(self, name: str, root: Path, tmp: Path) -> None:
        self.name, self.root = name, root
        self.database = f"zaytoun_signcost_{name}_{uuid.uuid4().hex[:8]}"
        self.instance = str(tmp / f"instance-{name}")
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def run(self, *extra: str) -> str:
        """This file run as a script with the side's code first on the path
        (and in its folder: its migrations), in a process of its own."""
        env = dict(os.environ, PYTHONPATH=str(self.root))
        command = [sys.executable, str(HERE), "--worker", "--database", self.database]
        command += ["--instance", self.instance, *extra]
        done = subprocess.run(  # noqa: S603 (our own executable, no shell)
            command, cwd=self.root, env=env, capture_output=True, text=True, timeout=900
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: {done.stderr[-2000:]}")
        return done.stdout


def _sql(statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _tool(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """git or this environment's pybabel, without a shell."""
    found = Path(sys.executable).with_name(name) if name == "pybabel" else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed")
    done = subprocess.run(  # noqa: S603 (a known tool, no shell)
        [str(found), *args], cwd=ROOT, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)}: {done.stderr.strip()}")
    return done


def _compile_catalogs(root: Path) -> None:
    for po in (root / "campaigns" / "translations").glob("*/LC_MESSAGES/messages.po"):
        _tool("pybabel", "-q", "compile", "-i", str(po), "-o", str(po.with_suffix(".mo")))


def compare(against: str, rounds: int, warm_up: int, requests: int) -> dict[str, Any]:
    revision = _tool("git", "rev-parse", "--short", against).stdout.strip()
    head = _tool("git", "rev-parse", "--short", "HEAD").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="zaytoun-signcost-") as folder:
        tmp = Path(folder)
        other = tmp / "other"
        _tool("git", "worktree", "add", "--detach", "--quiet", str(other), revision)
        sides = [Side("this", ROOT, tmp), Side("other", other, tmp)]
        try:
            _compile_catalogs(other)
            for side in sides:
                _sql(f'CREATE DATABASE "{side.database}"')
                side.run("--setup")
            for round_ in range(rounds):
                # Alternate who goes first: a drift of the machine falls on both.
                for side in sides if round_ % 2 == 0 else sides[::-1]:
                    figures = json.loads(
                        side.run("--warm-up", str(warm_up), "--requests", str(requests))
                    )
                    side.cpu.append(figures["cpu_ms"])
                    side.wall.append(figures["wall_ms"])
                    print(
                        f"round {round_ + 1}: {side.name:<5} cpu {figures['cpu_ms']:.3f} ms, "
                        f"wall {figures['wall_ms']:.3f} ms a request",
                        file=sys.stderr,
                    )
        finally:
            for side in sides:
                _sql(f'DROP DATABASE IF EXISTS "{side.database}" WITH (FORCE)')
            _tool("git", "worktree", "remove", "--force", str(other), check=False)
    this, base = sides
    return {
        "this_revision": head,
        "other_revision": revision,
        "rounds": rounds,
        "requests_per_round": requests,
        "cpu_ms_this": [round(v, 3) for v in this.cpu],
        "cpu_ms_other": [round(v, 3) for v in base.cpu],
        "median_cpu_ms_this": round(statistics.median(this.cpu), 3),
        "median_cpu_ms_other": round(statistics.median(base.cpu), 3),
        "ratio_cpu_this_over_other": round(
            statistics.median(this.cpu) / statistics.median(base.cpu), 3
        ),
        "ratio_wall_this_over_other": round(
            statistics.median(this.wall) / statistics.median(base.wall), 3
        ),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the other revision (a commit, a tag)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or args.warm_up < 0:
        parser.error("--rounds and --requests must be positive, --warm-up not negative")
    print(json.dumps(compare(args.against, args.rounds, args.warm_up, args.requests), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
