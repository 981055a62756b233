"""What a sign request costs this checkout's code, against another revision's
code, measured in the same run: the check that a change left the sign path's
cost as it was (``make bench``'s storm shares two cores with everything, so
its ratio moves by a third between runs; this one isolates the app's code).

Both sides are checked out with ``git worktree`` in temporary folders of the
same shape (``--this``, ``HEAD`` unless told, and ``--against``), their
catalogs compiled with this checkout's pybabel, each with a PostgreSQL
database of its own. Then, ``--pairs`` times, each side gets a fresh process
that builds the app from its code (Flask's test client, one thread, CSRF on),
opens the campaign page once for its cookie and CSRF token, as a browser
would, and signs ``--warm-up`` times; the two processes then take turns,
``--slices`` turns each of ``--per-slice`` sign requests (a new signer from a
new address each time), and report the CPU time each turn took
(``time.process_time``: the database's time is not in it).

Why turns of a second, and fresh processes: on this host a process's speed
moves by a third from one ten-second stretch to the next (the same code read
2.1 and 2.8 ms a request in back-to-back processes), so whole runs in turn
compare stretches, not code. Short turns put each stretch on both sides, and
several process pairs spread whatever one process's start gave it. The
figure is the ratio of the sides' total CPU, this over the other; each
pair's ratio is reported too. ``--against HEAD`` measures the tool against
itself and should read 1.00.

Run: ``.venv/bin/python -m benchmarks.sign_cost --against 8a68e13``
(PostgreSQL on 127.0.0.1:5432, user ``postgres``, trust). Both databases are
dropped, both processes stopped and both worktrees removed at the end,
whatever happens."""

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
from typing import IO, Any

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


def _serve(database: str, instance: str, warm_up: int) -> None:
    """Build the app, sign ``warm_up`` times, then answer the parent: each
    line read is a number of sign requests to make; each line written, the
    CPU and wall time they took. One process keeps its app (and its memory
    layout) for the whole run, and the parent interleaves short slices of
    the two sides, so that a slower stretch of the host falls on both."""
    app = _side_app(database, instance)
    client = app.test_client()
    page = client.get(f"/ar/campaigns/{SLUG}")
    if page.status_code != 200:
        raise SystemExit(f"the campaign page answered {page.status_code}")
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    if found is None:
        raise SystemExit("no CSRF token on the campaign page")
    token, tag = found.group(1), uuid.uuid4().hex[:8]
    signed = 0

    def sign() -> None:
        nonlocal signed
        n, signed = signed, signed + 1
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

    for _ in range(warm_up):
        sign()
    print("ready", flush=True)
    for line in sys.stdin:
        count = int(line)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            sign()
        figures = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
        print(json.dumps(figures), flush=True)


def _worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--warm-up", type=int, default=200)
    args = parser.parse_args(argv)
    if args.setup:
        _setup(args.database, args.instance)
    else:
        _serve(args.database, args.instance, args.warm_up)
    return 0


# --- the comparison ------------------------------------------------------------


class Side:
    def __init__(self, name: str, root: Path, tmp: Path) -> None:
        self.name, self.root = name, root
        self.database = f"zaytoun_signcost_{name}_{uuid.uuid4().hex[:8]}"
        self.instance = str(tmp / f"instance-{name}")
        self.process: subprocess.Popen[str] | None = None
        self.cpu: list[list[float]] = []  # seconds, a list of slices per process
        self.wall: list[list[float]] = []

    def _command(self, *extra: str) -> list[str]:
        command = [sys.executable, str(HERE), "--worker", "--database", self.database]
        return [*command, "--instance", self.instance, *extra]

    def _env(self) -> dict[str, str]:
        """The side's code first on the path (and its folder the working
        one: its migrations)."""
        return dict(os.environ, PYTHONPATH=str(self.root))

    def setup(self) -> None:
        done = subprocess.run(  # noqa: S603 (our own executable, no shell)
            self._command("--setup"),
            cwd=self.root,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: {done.stderr[-2000:]}")

    def start(self, warm_up: int) -> None:
        """A fresh process for this side, warmed up and waiting for slices."""
        self.process = subprocess.Popen(  # noqa: S603 (our own executable, no shell)
            self._command("--warm-up", str(warm_up)),
            cwd=self.root,
            env=self._env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._read()
        self.cpu.append([])
        self.wall.append([])

    def _pipes(self) -> tuple[subprocess.Popen[str], IO[str], IO[str]]:
        process = self.process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError(f"{self.name}: no worker is running")
        return process, process.stdin, process.stdout

    def _read(self) -> str:
        process, _, stdout = self._pipes()
        line = stdout.readline()
        if not line:
            process.wait(timeout=60)
            error = process.stderr.read() if process.stderr else ""
            raise SystemExit(f"{self.name}: the worker ended: {error[-2000:]}")
        return line

    def slice(self, requests: int) -> None:
        _, stdin, _ = self._pipes()
        stdin.write(f"{requests}\n")
        stdin.flush()
        figures = json.loads(self._read())
        self.cpu[-1].append(figures["cpu_s"])
        self.wall[-1].append(figures["wall_s"])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        self.process = None


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


def _ratio(this: list[float], other: list[float]) -> float:
    return sum(this) / sum(other)


def compare(
    against: str,
    pairs: int,
    slices: int,
    per_slice: int,
    warm_up: int,
    measured: str = "HEAD",
) -> dict[str, Any]:
    revision = _tool("git", "rev-parse", "--short", against).stdout.strip()
    head = _tool("git", "rev-parse", "--short", measured).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="zaytoun-signcost-") as folder:
        tmp = Path(folder)
        sides = [Side("this", tmp / "this", tmp), Side("other", tmp / "other", tmp)]
        try:
            for side, commit in zip(sides, (head, revision), strict=True):
                _tool("git", "worktree", "add", "--detach", "--quiet", str(side.root), commit)
                _compile_catalogs(side.root)
            for side in sides:
                _sql(f'CREATE DATABASE "{side.database}"')
                side.setup()
            for pair in range(pairs):
                for side in sides:
                    side.start(warm_up)
                for number in range(slices):
                    # Alternate who goes first: a drift of the machine falls on both.
                    for side in sides if number % 2 == 0 else sides[::-1]:
                        side.slice(per_slice)
                for side in sides:
                    side.stop()
                this_ms, other_ms = (
                    sum(side.cpu[-1]) / (slices * per_slice) * 1e3 for side in sides
                )
                print(
                    f"process pair {pair + 1}: this {this_ms:.3f}, other {other_ms:.3f} "
                    f"CPU ms a request, ratio {this_ms / other_ms:.3f}",
                    file=sys.stderr,
                )
        finally:
            for side in sides:
                side.stop()
                _sql(f'DROP DATABASE IF EXISTS "{side.database}" WITH (FORCE)')
                _tool("git", "worktree", "remove", "--force", str(side.root), check=False)
    this, other = sides
    requests = slices * per_slice
    pair_ratios = [_ratio(a, b) for a, b in zip(this.cpu, other.cpu, strict=True)]
    slice_ratios = [
        a / b
        for a_list, b_list in zip(this.cpu, other.cpu, strict=True)
        for a, b in zip(a_list, b_list, strict=True)
    ]
    every = {side.name: [value for block in side.cpu for value in block] for side in sides}
    walls = {side.name: [value for block in side.wall for value in block] for side in sides}
    return {
        "this_revision": head,
        "other_revision": revision,
        "process_pairs": pairs,
        "slices_per_pair": slices,
        "requests_per_slice": per_slice,
        "cpu_ms_this": round(sum(every["this"]) / (pairs * requests) * 1e3, 3),
        "cpu_ms_other": round(sum(every["other"]) / (pairs * requests) * 1e3, 3),
        "ratio_cpu_per_pair": [round(value, 3) for value in pair_ratios],
        "ratio_cpu_median_slice": round(statistics.median(slice_ratios), 3),
        "ratio_cpu_this_over_other": round(_ratio(every["this"], every["other"]), 3),
        "ratio_wall_this_over_other": round(_ratio(walls["this"], walls["other"]), 3),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the other revision (a commit, a tag)")
    parser.add_argument("--this", default="HEAD", help="the revision measured (HEAD unless told)")
    parser.add_argument("--pairs", type=int, default=4, help="fresh processes per side")
    parser.add_argument("--slices", type=int, default=40, help="turns each, per process")
    parser.add_argument("--per-slice", type=int, default=25, help="sign requests a turn")
    parser.add_argument("--warm-up", type=int, default=200)
    args = parser.parse_args(argv)
    if min(args.pairs, args.slices, args.per_slice) < 1 or args.warm_up < 0:
        parser.error("--pairs, --slices and --per-slice must be positive, --warm-up not negative")
    report = compare(
        args.against, args.pairs, args.slices, args.per_slice, args.warm_up, measured=args.this
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
