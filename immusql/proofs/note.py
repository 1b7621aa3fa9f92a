"""C2SP signed notes (Ed25519) and tlog checkpoints: verifier keys, signing, opening.

Follows c2sp.org/signed-note and c2sp.org/tlog-checkpoint, and accepts and
produces exactly what golang.org/x/mod/sumdb/note does for Ed25519 keys.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01  # C2SP signature type byte of Ed25519 keys
_SIG_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 100  # as Go's note.Open; the spec asks for at least 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_MAX_SIZE = 2**64 - 1  # tree sizes are tx ids, which are u64


class NoteError(ValueError):
    """A note, verifier key or checkpoint is malformed or does not verify."""


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None


def _valid_name(name: str) -> bool:
    """Key names are non-empty, with no Unicode spaces, '+' or control characters."""
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte Ed25519 key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return sha256(_utf8(name, "key name") + b"\n\x01" + public_key).digest()[:4]


def vkey(name: str, public_key: bytes) -> str:
    """The verifier key string ``name+<key id hex>+base64(0x01 || public key)``."""
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    if len(public_key) != 32:
        raise NoteError("an Ed25519 public key is 32 bytes")
    encoded = base64.b64encode(bytes((ED25519,)) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """Split a verifier key into (name, key id, public key); NoteError if malformed or its id does not match."""
    if not isinstance(vkey, str):
        raise NoteError("verifier key must be a string")
    # The base64 key may itself contain '+': split on the first two only.
    name, _, rest = vkey.partition("+")
    hex_id, sep, encoded = rest.partition("+")
    if not sep or not _valid_name(name) or not _HEX_ID.fullmatch(hex_id):
        raise NoteError(f"malformed verifier key {vkey!r}: want name+keyid+key")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"malformed verifier key {vkey!r}: key is not base64") from None
    kid = bytes.fromhex(hex_id)
    if not key or sha256(_utf8(name, "key name") + b"\n" + key).digest()[:4] != kid:
        raise NoteError(f"verifier key {vkey!r}: key id does not match the key")
    if key[0] != ED25519 or len(key) != 33:
        raise NoteError(f"verifier key {vkey!r} is not an Ed25519 key")
    return name, kid, key[1:]


def _check_text(text: str) -> bytes:
    """The UTF-8 bytes of a note text, which must end in a newline and hold no other control characters."""
    if not text.endswith("\n"):
        raise NoteError("malformed note: text must end with a newline")
    if _CONTROL.search(text):
        raise NoteError("malformed note: text contains a control character")
    return _utf8(text, "note text")


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``text``, a blank line, and the Ed25519 signature line of key ``name``."""
    data = _check_text(text)
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = base64.b64encode(key_id(name, public) + private_key.sign(data)).decode()
    return f"{text}\n{_SIG_PREFIX}{name} {signature}\n"


def _open(note: str | bytes, name: str, kid: bytes, public: Ed25519PublicKey) -> str:
    """Verify ``note`` with one parsed key and return its text (shared by open_note and the proof Verifier)."""
    if isinstance(note, (bytes, bytearray, memoryview)):
        try:
            note = bytes(note).decode()
        except UnicodeDecodeError:
            raise NoteError("malformed note: not valid UTF-8") from None
    elif not isinstance(note, str):
        raise NoteError("a note must be text")
    if _CONTROL.search(note):
        raise NoteError("malformed note: contains a control character")
    # The text ends at the last blank line; the text itself may contain blank lines.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: no signature lines, or the last one lacks its newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {_MAX_SIGNATURES} signatures")
    data = _utf8(text, "note text")
    seen = False
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(f"malformed note: {line[:40]!r} is not a signature line")
        signer, _, encoded = line[2:].partition(" ")
        if not _valid_name(signer) or not encoded:
            raise NoteError(f"malformed signature line {line[:40]!r}")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"malformed signature line {line[:40]!r}: not base64") from None
        if len(raw) < 5:
            raise NoteError(f"malformed signature line {line[:40]!r}: too short")
        if signer != name or raw[:4] != kid or seen:
            continue  # another key's signature (a witness, a rotated key), or a repeat of ours: ignored like Go
        seen = True
        try:
            public.verify(raw[4:], data)
        except (InvalidSignature, ValueError):
            raise NoteError(f"invalid signature for key {name}+{kid.hex()}") from None
    if not seen:
        raise NoteError(f"note has no signature by key {name}+{kid.hex()}")
    return text


def _ed25519_key(raw: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key object of 32 raw bytes; NoteError if unusable."""
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise NoteError(f"unusable Ed25519 public key: {exc}") from None


def open_note(note: str | bytes, vkey: str) -> str:
    """Verify a signed note against a verifier key and return its text; NoteError if it does not verify."""
    name, kid, public = parse_vkey(vkey)
    return _open(note, name, kid, _ed25519_key(public))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog checkpoint: origin, tree size and root hash, plus the signed note it came from (if any)."""

    origin: str
    size: int
    root: bytes
    note: str = ""


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """The C2SP checkpoint body ``origin\\nsize\\nbase64(root)\\n``."""
    if not origin or "\n" in origin or _CONTROL.search(origin):
        raise NoteError(f"invalid checkpoint origin {origin!r}")
    if type(size) is not int or not 0 <= size <= _MAX_SIZE or len(root) != 32:
        raise NoteError("a checkpoint needs a u64 size and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body; extension lines after the root are checked non-empty and otherwise ignored."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("malformed checkpoint: must be text ending with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("malformed checkpoint: needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not origin:
        raise NoteError("malformed checkpoint: empty origin")
    if not _SIZE.fullmatch(size_text) or int(size_text) > _MAX_SIZE:
        raise NoteError(f"malformed checkpoint: size {size_text[:30]!r} is not a canonical decimal u64")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("malformed checkpoint: root is not base64") from None
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise NoteError("malformed checkpoint: root is not a canonical base64 SHA-256 hash")
    if not all(lines[3:]):
        raise NoteError("malformed checkpoint: empty extension line")
    return Checkpoint(origin, int(size_text), root)


def sign_checkpoint(origin: str, size: int, root: bytes, private_key: Ed25519PrivateKey) -> str:
    """A checkpoint signed as a note by key ``origin`` (the key name is the log's origin)."""
    return sign_note(checkpoint_text(origin, size, root), origin, private_key)


def _open_checkpoint(note: str | bytes, name: str, kid: bytes, public: Ed25519PublicKey) -> Checkpoint:
    """open_checkpoint with an already parsed key."""
    text = _open(note, name, kid, public)
    parsed = parse_checkpoint(text)
    if parsed.origin != name:
        raise NoteError(f"checkpoint origin {parsed.origin!r} is not the key's name {name!r}")
    if not isinstance(note, str):
        note = bytes(note).decode()
    return Checkpoint(parsed.origin, parsed.size, parsed.root, note)


def open_checkpoint(note: str | bytes, vkey: str) -> Checkpoint:
    """Verify a signed checkpoint and parse it; its origin must be the verifier key's name."""
    name, kid, public = parse_vkey(vkey)
    return _open_checkpoint(note, name, kid, _ed25519_key(public))
