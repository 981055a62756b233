"""The production stack on loopback, started and stopped by the harness:
a fresh PostgreSQL database (created, migrated, seeded, dropped), a Redis
database of its own (flushed before and after), Celery workers and beat,
gunicorn, and the SMTP sink. Every child runs in its own process group and is
stopped with it, whatever happens to the run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
import redis

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
POSTGRES_ADMIN = os.environ.get(
    "BENCH_POSTGRES_ADMIN", f"postgresql://postgres@{HOST}:5432/postgres"
)
# Redis databases the harness may use, first free one first: two runs at once
# (a developer's `make bench` and a `make test`) must never share a broker.
REDIS_DBS = (13, 12, 11, 10, 9)
CLAIM_KEY = "zaytoun-bench:claim"
CLAIM_SECONDS = 3600

# Environment variables the app reads: the children get only the harness's values.
APP_VARIABLES = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "PERSONAL_DATA_KEY",
        "LEDGER_SIGNING_KEY",
        "ZAYTOUN_INSTANCE",
        "SITE_URL",
        "TRUSTED_HOSTS",
        "TRUSTED_PROXIES",
        "LANGUAGES",
        "SESSION_COOKIE_SECURE",
        "BLOCKED_EMAIL_DOMAINS",
        "MAIL_OUTBOX_DIR",
        "MAIL_ECHO",
        "BIND",
        "WEB_CONCURRENCY",
        "WEB_THREADS",
    }
)
APP_PREFIXES = ("MAIL_", "RATE_", "CONFIRM_", "COUNT_", "RELAY_", "RESULTS_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout} s")
        time.sleep(0.1)


def base_environment() -> dict[str, str]:
    """The caller's environment without any setting the app would read."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in APP_VARIABLES and not k.startswith(APP_PREFIXES)
    }


# -- PostgreSQL and Redis


@dataclass
class Database:
    name: str

    @property
    def url(self) -> str:
        """As an operator writes DATABASE_URL."""
        return f"postgresql://postgres@{HOST}:5432/{self.name}"

    @classmethod
    def create(cls) -> Database:
        name = f"zaytoun_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return cls(name)

    def drop(self) -> None:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url)


@dataclass
class RedisDatabase:
    """A Redis database claimed for one run (a key set with NX marks it), emptied
    before use and flushed at the end."""

    number: int

    @property
    def url(self) -> str:
        return f"redis://{HOST}:6379/{self.number}"

    @classmethod
    def claim(cls, run_id: str) -> RedisDatabase:
        for number in REDIS_DBS:
            client = redis.Redis(host=HOST, port=6379, db=number)
            try:
                if not client.set(CLAIM_KEY, run_id, nx=True, ex=CLAIM_SECONDS):
                    continue  # another run's
                # Whatever a run that crashed left here goes; our claim stays.
                for key in client.scan_iter(count=1000):
                    if key != CLAIM_KEY.encode():
                        client.unlink(key)
                return cls(number)
            finally:
                client.close()
        raise RuntimeError(f"every Redis database of {REDIS_DBS} is claimed by another run")

    def keys(self) -> int:
        client = redis.Redis.from_url(self.url)
        try:
            return int(client.dbsize())
        finally:
            client.close()

    def flush(self) -> None:
        """Empty it, the claim included."""
        client = redis.Redis.from_url(self.url)
        try:
            client.flushdb()
        finally:
            client.close()


# -- child processes


@dataclass
class Child:
    """A child process in its own process group, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> Child:
        log = self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603 (our own executables, no shell)
            self.args,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.process.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log_text():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout} s\n{self.log_tail()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask the whole group to stop (gunicorn and Celery shut down warmly)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Terminate, wait, then kill whatever is left of the group."""
        process = self.process
        if process is not None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
            # Whatever is left of the group (pool children).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass(frozen=True)
class WebSettings:
    workers: int
    threads: int
    worker_class: str = "gthread"  # what deploy/gunicorn.conf.py sets


def gunicorn(
    name: str, app_spec: str, port: int, web: WebSettings, env: dict[str, str], logs: Path
) -> Child:
    """gunicorn with the production configuration file; the worker count and
    threads through the variables that file reads."""
    return Child(
        name,
        [
            str(BIN / "gunicorn"),
            "-c",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            app_spec,
        ],
        {
            **env,
            "BIND": f"{HOST}:{port}",
            "WEB_CONCURRENCY": str(web.workers),
            "WEB_THREADS": str(web.threads),
        },
        logs / f"{name}.log",
    )


def celery_worker(
    name: str, queues: str, concurrency: int, env: dict[str, str], logs: Path
) -> Child:
    return Child(
        name,
        [
            str(BIN / "celery"),
            "-A",
            "workers",
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}-{uuid.uuid4().hex[:6]}@%h",
        ],
        {**env, "PYTHONUNBUFFERED": "1"},
        logs / f"{name}.log",
    )


def celery_beat(env: dict[str, str], logs: Path) -> Child:
    return Child(
        "beat",
        [
            str(BIN / "celery"),
            "-A",
            "workers",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(logs / "celerybeat-schedule"),
        ],
        {**env, "PYTHONUNBUFFERED": "1"},
        logs / "beat.log",
    )


def flask_command(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """``flask --app campaigns …`` as an operator runs it."""
    done = subprocess.run(  # noqa: S603 (our own executable, no shell)
        [str(BIN / "flask"), "--app", "campaigns", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# -- /proc: CPU time and peak memory


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pids_named(comm: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == comm:
                    found.append(int(entry.name))
    return found


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process has used so far."""
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return used


def rss_mb(pid: int, field: str = "VmHWM") -> float | None:
    """From /proc: VmHWM, the process's peak resident set, or VmRSS, its
    current one, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def machine() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
    }


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores) since boot, idle excluded."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
