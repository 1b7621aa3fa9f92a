"""Password verifiers as PostgreSQL 15 stores them in pg_authid.rolpassword, and checks against them.

Two formats, as PostgreSQL's: ``SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64
ServerKey>`` (RFC 5802/7677; the password is SASLprep-normalized first, RFC 4013) and ``md5`` followed
by md5(password || user name) in hex. Nothing else is stored: a cleartext password becomes a verifier.
This sits below the engine (CREATE ROLE makes verifiers) and the wire (authentication checks them).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import stringprep
import unicodedata
from base64 import b64encode
from dataclasses import dataclass

SCRAM = "scram-sha-256"
MD5 = "md5"
PLAINTEXT = "plaintext"
SCRAM_ITERATIONS = 4096  # PostgreSQL 15's scram_iterations
SCRAM_SALT_LEN = 16
SCRAM_KEY_LEN = 32
_MD5_LEN = 35
_MD5_HEX = frozenset("0123456789abcdef")
_STRTOL = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+\Z")


@dataclass(frozen=True, slots=True)
class ScramSecret:
    """A parsed SCRAM-SHA-256 verifier."""

    iterations: int
    salt: bytes
    salt_text: str  # the salt as stored (base64), sent to clients as is
    stored_key: bytes
    server_key: bytes


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def b64decode(text: str) -> bytes | None:
    """Strict base64 (PostgreSQL's pg_b64_decode refuses whitespace and bad padding); None if malformed."""
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def b64(data: bytes) -> str:
    return b64encode(data).decode("ascii")


def saslprep(password: str | bytes) -> bytes:
    """RFC 4013 SASLprep as PostgreSQL applies it: a password it refuses (or non-UTF-8) is used unchanged."""
    raw = as_bytes(password)
    if raw.isascii():
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c))
    if not mapped:
        return raw
    normalized = unicodedata.normalize("NFKC", mapped)
    if any(_prohibited(c) for c in normalized):
        return raw
    if any(stringprep.in_table_d1(c) for c in normalized):
        if any(stringprep.in_table_d2(c) for c in normalized):
            return raw
        if not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])):
            return raw
    return normalized.encode("utf-8")


def _prohibited(c: str) -> bool:
    return (stringprep.in_table_c12(c) or stringprep.in_table_c21_c22(c) or stringprep.in_table_c3(c) or stringprep.in_table_c4(c)
            or stringprep.in_table_c5(c) or stringprep.in_table_c6(c) or stringprep.in_table_c7(c) or stringprep.in_table_c8(c)
            or stringprep.in_table_c9(c) or stringprep.in_table_a1(c))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def salted_password(password: str | bytes, salt: bytes, iterations: int) -> bytes:
    """SCRAM's Hi(Normalize(password), salt, i): PBKDF2-HMAC-SHA-256 of one block."""
    return hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)


def make_scram_verifier(password: str | bytes, iterations: int = SCRAM_ITERATIONS, salt: bytes | None = None) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of ``password`` (a random 16-byte salt unless given)."""
    salt = os.urandom(SCRAM_SALT_LEN) if salt is None else salt
    salted = salted_password(password, salt, iterations)
    stored_key = hashlib.sha256(hmac_sha256(salted, b"Client Key")).digest()
    server_key = hmac_sha256(salted, b"Server Key")
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def md5_verifier(password: str | bytes, user: str | bytes) -> str:
    """PostgreSQL's md5 verifier: "md5" and the hex md5 of the password followed by the user name."""
    return "md5" + hashlib.md5(as_bytes(password) + as_bytes(user)).hexdigest()


def parse_scram_verifier(text: str) -> ScramSecret | None:
    """The parts of a SCRAM-SHA-256 verifier, or None if ``text`` is not one (PostgreSQL's parse_scram_secret)."""
    if not text.startswith("SCRAM-SHA-256$") and not text.startswith("$"):
        return None
    fields = []
    pos = 0
    for delimiters in ("$", ":", "$", ":", ""):  # strtok's walk, empty runs of delimiters skipped
        while pos < len(text) and text[pos] in delimiters:
            pos += 1
        if pos >= len(text):
            return None
        end = pos
        while end < len(text) and text[end] not in delimiters:
            end += 1
        fields.append(text[pos:end])
        pos = end + 1
    scheme, iterations, salt_text, stored, server = fields
    if scheme != "SCRAM-SHA-256" or not _STRTOL.match(iterations):
        return None
    count = int(iterations)
    if not -(2**63) <= count < 2**63:
        return None
    salt = b64decode(salt_text)
    stored_key, server_key = b64decode(stored), b64decode(server)
    if salt is None or stored_key is None or server_key is None or len(stored_key) != SCRAM_KEY_LEN or len(server_key) != SCRAM_KEY_LEN:
        return None
    return ScramSecret(count, salt, salt_text, stored_key, server_key)


def password_type(text: str) -> str:
    """md5, scram-sha-256 or plaintext: how PostgreSQL reads a stored or given password (get_password_type)."""
    if len(text) == _MD5_LEN and text.startswith("md5") and _MD5_HEX.issuperset(text[3:]):
        return MD5
    if parse_scram_verifier(text) is not None:
        return SCRAM
    return PLAINTEXT


def encrypt_password(password: str, user: str, method: str = SCRAM) -> str:
    """The verifier to store for a password given to CREATE/ALTER ROLE: a verifier stays as given."""
    if password_type(password) != PLAINTEXT:
        return password
    return md5_verifier(password, user) if method == MD5 else make_scram_verifier(password)


def verify_password(verifier: str, password: str | bytes, user: str | bytes) -> bool:
    """Whether a cleartext password matches a stored verifier (PostgreSQL's plain_crypt_verify), in constant time."""
    kind = password_type(verifier)
    if kind == SCRAM:
        secret = parse_scram_verifier(verifier)
        if secret.iterations < 1:
            return False
        salted = salted_password(password, secret.salt, secret.iterations)
        return hmac.compare_digest(hmac_sha256(salted, b"Server Key"), secret.server_key)
    if kind == MD5:
        return hmac.compare_digest(md5_verifier(password, user).encode(), verifier.encode())
    return False  # a plaintext password is never stored
