"""Optional sampling profiles (``--profile``) of the running stack with py-spy,
when it is installed: the gunicorn workers during the signing storm and the
Celery pool during the pipeline burst. py-spy attaches from outside and reads
the stacks without pausing the process (``--nonblocking``); it is not a
dependency of the project: ``.venv/bin/pip install py-spy`` to use this."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from .stack import BIN

_LINE = re.compile(r":\d+\)$")


def py_spy() -> str | None:
    local = BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Recording:
    """py-spy on some processes for a while; two views per process:
    ``cpu`` (samples holding the GIL: where the CPU goes) and ``wall`` (every
    active sample, waiting on PostgreSQL or SMTP included)."""

    def __init__(self, out: Path, name: str, pids: list[int], seconds: float) -> None:
        self.out = out
        self.name = name
        self.processes: list[subprocess.Popen[bytes]] = []
        self.files: dict[str, list[Path]] = {"cpu": [], "wall": []}
        executable = py_spy()
        if executable is None:
            return
        out.mkdir(parents=True, exist_ok=True)
        for pid in pids:
            for view, extra in (("cpu", ["--gil"]), ("wall", ["--idle"])):
                path = out / f"{name}-{view}-{pid}.txt"
                self.files[view].append(path)
                self.processes.append(
                    subprocess.Popen(  # noqa: S603 (py-spy, no shell)
                        [
                            executable,
                            "record",
                            "--pid",
                            str(pid),
                            "--duration",
                            str(max(1, int(seconds))),
                            "--rate",
                            "47",
                            "--nonblocking",
                            "--format",
                            "raw",
                            "--output",
                            str(path),
                            *extra,
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

    def finish(self, timeout: float = 60) -> dict[str, Any]:
        for process in self.processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return {view: summarize(files) for view, files in self.files.items() if files}


def summarize(files: list[Path], top: int = 25) -> dict[str, Any]:
    """Function-level shares: inclusive for the project's own functions (what
    a change in our code can win), self for every function (where the
    interpreter actually spends it)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_LINE.sub(")", f) for f in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter[str], keep: Any) -> list[tuple[str, float]]:
        rows = [(f, n) for f, n in counter.most_common() if keep(f)]
        return [(f, round(100 * n / total, 1)) for f, n in rows[:top]]

    return {
        "samples": total,
        "project_functions_inclusive_pct": share(
            inclusive, lambda f: "(campaigns/" in f or "(workers/" in f
        ),
        "library_functions_inclusive_pct": share(
            inclusive,
            lambda f: any(
                lib in f
                for lib in (
                    "(sqlalchemy/",
                    "(psycopg/",
                    "(wtforms/",
                    "(flask_wtf/",
                    "(email_validator/",
                    "(jinja2/",
                    "(email/",
                    "(smtplib",
                    "(itsdangerous/",
                    "(cryptography/",
                    "(redis/",
                    "(babel/",
                    "(flask_babel/",
                )
            ),
        ),
        "self_pct": share(own, lambda f: True),
    }
