"""Files of the embedded default (``instance/``): the database, the keys and
the mail folder hold personal data or what unlocks it, so only the account
that runs the site may read them, whatever its umask."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> None:
    """Create ``path`` (and its parents) if needed, and make it private."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    # mkdir's mode goes through the umask, and an older folder keeps its own.
    with contextlib.suppress(PermissionError):  # not ours: its owner decides
        path.chmod(PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Create ``path`` empty if it does not exist; either way make it private."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    with contextlib.suppress(PermissionError):
        path.chmod(PRIVATE_FILE)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new private file (never readable by others, even
    for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def private_sqlite_database(uri: str, instance: Path) -> None:
    """Create the SQLite file of ``uri`` private before SQLite opens it:
    SQLite gives its -wal and -shm files the database file's mode. A relative
    path is in ``instance``, as Flask-SQLAlchemy reads it."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return
    name = uri[len(prefix) :].split("?", 1)[0]
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name) if Path(name).is_absolute() else instance / name
    # A folder made here is private; one chosen elsewhere keeps its mode.
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    private_file(path)
    for extra in ("-wal", "-shm", "-journal"):
        sidecar = path.with_name(path.name + extra)
        if sidecar.exists():
            with contextlib.suppress(PermissionError):
                sidecar.chmod(PRIVATE_FILE)
