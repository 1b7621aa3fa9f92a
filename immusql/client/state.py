"""The verifying client's trust on disk: the checkpoint it trusts per (verifier key, database), and key pins.

Each trusted checkpoint lives in its own JSON file, named by a hash of the key and the
database, and each first-seen verifier key in a pin file named by a hash of (host, port,
database). Files are replaced atomically (temp file in the same directory, fsync,
rename, fsync of the directory) while holding an exclusive ``flock`` on a lock file
beside them, so any number of processes can share a state directory. Readers need no
lock: a file is always either the old or the new version.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any


class StateError(ValueError):
    """A state file is unreadable or belongs to another key or database."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path`` (created if missing) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def write_atomically(path: str, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as JSON so that readers see the old or the new file, never a torn one."""
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def read_json(path: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if there is no such file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"state file {path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"state file {path} does not hold a JSON object")
    return data


class TrustedCheckpoint:
    """The trusted checkpoint of one (verifier key, database) in a state directory."""

    def __init__(self, state_dir: str | os.PathLike[str], verifier_key: str, database: str) -> None:
        self.state_dir = os.fspath(state_dir)
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.verifier_key = verifier_key
        self.database = database
        name = "checkpoint-" + _digest(verifier_key, database)
        self.path = os.path.join(self.state_dir, name + ".json")
        self.lock_path = os.path.join(self.state_dir, name + ".lock")

    def read(self) -> str | None:
        """The trusted checkpoint's signed note text, or None before the first one is trusted."""
        data = read_json(self.path)
        if data is None:
            return None
        if data.get("verifier_key") != self.verifier_key or data.get("database") != self.database:
            raise StateError(f"state file {self.path} belongs to another verifier key or database")
        note = data.get("checkpoint")
        if not isinstance(note, str):
            raise StateError(f"state file {self.path} holds no checkpoint text")
        return note

    def replace(self, expected: str | None, note: str) -> str | None:
        """Trust ``note`` if the file still holds ``expected``: returns None then, else what the file holds now.

        The caller has checked ``note`` against ``expected``; when another process advanced
        the state meanwhile, it must check ``note`` against the returned one and try again.
        """
        with locked(self.lock_path):
            current = self.read()
            if current != expected:
                return current
            write_atomically(self.path, {"verifier_key": self.verifier_key, "database": self.database, "checkpoint": note})
            return None


def pin_verifier_key(state_dir: str | os.PathLike[str], host: str, port: int | str, database: str, verifier_key: str) -> str:
    """The verifier key pinned for (host, port, database): the one recorded earlier, or ``verifier_key`` now recorded."""
    state_dir = os.fspath(state_dir)
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    name = "pin-" + _digest(str(host), str(port), database)
    path = os.path.join(state_dir, name + ".json")
    with locked(os.path.join(state_dir, name + ".lock")):
        data = read_json(path)
        if data is None:
            write_atomically(path, {"host": str(host), "port": str(port), "database": database, "verifier_key": verifier_key})
            return verifier_key
    pinned = data.get("verifier_key")
    if not isinstance(pinned, str) or (data.get("host"), data.get("port"), data.get("database")) != (str(host), str(port), database):
        raise StateError(f"pin file {path} is not a pin of {host}:{port}/{database}")
    return pinned
