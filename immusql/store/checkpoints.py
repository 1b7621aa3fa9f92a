"""The signing key and the append-only log of signed checkpoints."""

from __future__ import annotations

import os
from collections.abc import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from immusql.errors import CorruptionError
from immusql.store.framing import BadFrame, frame_header, iter_frames

KeySource = Ed25519PrivateKey | bytes | str | os.PathLike[str]


def load_or_create_key(path: str) -> Ed25519PrivateKey:
    """The Ed25519 key at ``path`` (PKCS#8 PEM), created with mode 0600 if missing."""
    try:
        with open(path, "rb") as f:
            return _parse_key(f.read(), path)
    except FileNotFoundError:
        pass
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    return key


def load_key(source: KeySource) -> Ed25519PrivateKey:
    """A supplied signing key: a key object, PEM bytes, or the path of a PEM file."""
    if isinstance(source, Ed25519PrivateKey):
        return source
    if isinstance(source, bytes):
        return _parse_key(source, "the supplied key")
    with open(source, "rb") as f:
        return _parse_key(f.read(), os.fspath(source))


def _parse_key(pem: bytes, where: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{where} is not an Ed25519 private key")
    return key


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def read_notes(path: str) -> Iterator[str | BadFrame]:
    """Every signed checkpoint note in the file, oldest first; damage ends it with a BadFrame."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return
    for item in iter_frames(data):
        if isinstance(item, BadFrame):
            yield item
            return
        yield bytes(item[1]).decode()


class CheckpointLog:
    """Append-only file of signed checkpoint notes, each a frame, fsynced before use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.latest: str | None = None
        for item in read_notes(path):
            if isinstance(item, BadFrame):
                if item.reason == "frame checksum mismatch":
                    raise CorruptionError(f"checkpoint log damaged at offset {item.offset}")
                with open(path, "r+b") as f:  # a checkpoint torn while being written was never handed out
                    f.truncate(item.offset)
                    os.fsync(f.fileno())
                break
            self.latest = item
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, note: str) -> None:
        data = note.encode()
        os.write(self._fd, frame_header(data) + data)
        os.fsync(self._fd)
        self.latest = note

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
