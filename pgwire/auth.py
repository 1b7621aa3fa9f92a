"""The server side of PostgreSQL 15's password authentication, without I/O: trust, password, md5, SCRAM-SHA-256.

The connection code drives an exchange with the bodies of the client's messages::

    exchange = auth.start(method, role, user)   # role: the Role the startup packet's user names, or None
    code, payload = exchange.first_message()    # send AuthenticationRequest: auth.request_message(code, payload)
    while not exchange.done:
        code, payload, done = exchange.step(body)   # body of the client's next 'p' message (after type and length)
        send auth.request_message(code, payload)    # SASLContinue, SASLFinal, or AuthenticationOk
    if code != AUTH_OK: send auth.request_message(AUTH_OK)
    auth.check_login(role, user, sessions_of_role)  # then the checks PostgreSQL makes after authentication

Any failure raises AuthError: send it as a FATAL ErrorResponse and close. A wrong password, an unknown
user, a role without a password and an expired one all fail alike, with 28P01 ``password authentication
failed for user "x"`` (the reason is in ``log_detail``, for the server log only); for SCRAM, an unknown
user goes through a complete mock exchange with a salt derived from the user name and ``mock_secret``
(pass a secret kept per cluster, as PostgreSQL's mock nonce, so a restart does not reveal who exists).
The md5 method uses SCRAM when the stored verifier is not md5, as PostgreSQL does. Only SCRAM-SHA-256 is
offered (no channel binding: SCRAM-SHA-256-PLUS needs TLS); a client may send gs2 header "n,," or "y,,".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
import time
from typing import Any

from catalog.passwords import (
    MD5,
    SCRAM_ITERATIONS,
    SCRAM_KEY_LEN,
    SCRAM_SALT_LEN,
    ScramSecret,
    b64,
    b64decode,
    hmac_sha256,
    make_scram_verifier,
    parse_scram_verifier,
    password_type,
    verify_password,
)
from catalog.roles import Role

__all__ = [
    "AUTH_CLEARTEXT_PASSWORD",
    "AUTH_MD5_PASSWORD",
    "AUTH_OK",
    "AUTH_SASL",
    "AUTH_SASL_CONTINUE",
    "AUTH_SASL_FINAL",
    "AuthError",
    "Exchange",
    "check_login",
    "describe",
    "make_scram_verifier",
    "request_message",
    "start",
    "verify_password",
]

AUTH_OK = 0
AUTH_CLEARTEXT_PASSWORD = 3
AUTH_MD5_PASSWORD = 5
AUTH_SASL = 10
AUTH_SASL_CONTINUE = 11
AUTH_SASL_FINAL = 12
METHODS = ("trust", "password", "md5", "scram-sha-256")
MECHANISM = b"SCRAM-SHA-256"
_RAW_NONCE_LEN = 18  # PostgreSQL's SCRAM_RAW_NONCE_LEN
_POSTGRES_EPOCH_UNIX_US = 946_684_800_000_000
_I32 = struct.Struct("!i")
_PROCESS_MOCK_SECRET = secrets.token_bytes(32)


class AuthError(Exception):
    """A failed authentication, as the FATAL error PostgreSQL sends (``log_detail`` is for the server log only)."""

    def __init__(self, message: str, sqlstate: str = "28P01", detail: str | None = None, log_detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.log_detail = log_detail


def request_message(code: int, payload: bytes = b"") -> bytes:
    """An AuthenticationRequest message ('R'): the code, then the method's data."""
    return b"R" + _I32.pack(8 + len(payload)) + _I32.pack(code) + payload


class Exchange:
    """One authentication exchange; ``done`` once the client is authenticated."""

    done = False

    def first_message(self) -> tuple[int, bytes]:
        raise NotImplementedError

    def step(self, data: bytes) -> tuple[int, bytes, bool]:
        raise NotImplementedError


def start(method: str, role: Role | None, user: str, *, now_us: int | None = None, mock_secret: bytes | None = None) -> Exchange:
    """The exchange for an hba ``method`` ("trust", "password", "md5", "scram-sha-256") and the startup user's role."""
    if method == "trust":
        return _Trust()
    verifier, log_detail = _stored_password(role, user, now_us)
    if method == "password":
        return _Password(user, verifier, log_detail)
    if method == "md5" and verifier is not None and password_type(verifier) == MD5:
        return _Md5(user, verifier)
    if method in ("md5", "scram-sha-256"):
        return _Scram(user, verifier, log_detail, _PROCESS_MOCK_SECRET if mock_secret is None else mock_secret)
    raise ValueError(f"unknown authentication method {method!r}")


def check_login(role: Role | None, user: str, sessions: int = 1) -> None:
    """PostgreSQL's checks once authenticated: the role exists, may log in, and is within its connection limit.

    ``sessions`` counts this role's sessions including the new one; superusers have no limit.
    """
    if role is None:
        raise AuthError(f'role "{user}" does not exist', "28000")
    if not role.login:
        raise AuthError(f'role "{user}" is not permitted to log in', "28000")
    if role.connection_limit >= 0 and not role.superuser and sessions > role.connection_limit:
        raise AuthError(f'too many connections for role "{user}"', "53300")


def _stored_password(role: Role | None, user: str, now_us: int | None) -> tuple[str | None, str | None]:
    """The role's verifier if it may be used now, else None and why (PostgreSQL's get_role_password)."""
    if role is None:
        return None, f'Role "{user}" does not exist.'
    if role.password is None:
        return None, f'User "{user}" has no password assigned.'
    if role.valid_until is not None:
        now = time.time_ns() // 1000 - _POSTGRES_EPOCH_UNIX_US if now_us is None else now_us
        if role.valid_until < now:
            return None, f'User "{user}" has an expired password.'
    return role.password, None


def _failed(user: str, log_detail: str | None) -> AuthError:
    return AuthError(f'password authentication failed for user "{user}"', "28P01", log_detail=log_detail)


def _protocol(message: str, detail: str | None = None) -> AuthError:
    return AuthError(message, "08P01", detail)


class _Trust(Exchange):
    done = True

    def first_message(self) -> tuple[int, bytes]:
        return AUTH_OK, b""

    def step(self, data: bytes) -> tuple[int, bytes, bool]:
        raise _protocol("unexpected message during trust authentication")


def _password_packet(data: bytes) -> bytes:
    """The password of a PasswordMessage body (PostgreSQL's recv_password_packet checks)."""
    if data.find(b"\0") != len(data) - 1:
        raise _protocol("invalid password packet size")
    if len(data) == 1:
        raise AuthError("empty password returned by client", "28P01")
    return data[:-1]


class _Password(Exchange):
    """Cleartext password, checked against the stored verifier (SCRAM or md5)."""

    def __init__(self, user: str, verifier: str | None, log_detail: str | None) -> None:
        self.user, self.verifier, self.log_detail = user, verifier, log_detail

    def first_message(self) -> tuple[int, bytes]:
        return AUTH_CLEARTEXT_PASSWORD, b""

    def step(self, data: bytes) -> tuple[int, bytes, bool]:
        password = _password_packet(data)
        if self.verifier is None:
            raise _failed(self.user, self.log_detail)
        if not verify_password(self.verifier, password, self.user):
            raise _failed(self.user, f'Password does not match for user "{self.user}".')
        self.done = True
        return AUTH_OK, b"", True


class _Md5(Exchange):
    """md5 challenge: the client answers "md5" + md5(md5(password + user) + salt) in hex."""

    def __init__(self, user: str, verifier: str) -> None:
        self.user, self.verifier = user, verifier
        self.salt = os.urandom(4)

    def first_message(self) -> tuple[int, bytes]:
        return AUTH_MD5_PASSWORD, self.salt

    def step(self, data: bytes) -> tuple[int, bytes, bool]:
        answer = _password_packet(data)
        expected = b"md5" + hashlib.md5(self.verifier[3:].encode() + self.salt).hexdigest().encode()
        if not hmac.compare_digest(answer, expected):
            raise _failed(self.user, f'Password does not match for user "{self.user}".')
        self.done = True
        return AUTH_OK, b"", True


def _char(c: str) -> str:
    """A byte of a SCRAM message for an error detail (PostgreSQL's sanitize_char)."""
    return f"'{c}'" if "\x21" <= c <= "\x7e" else f"0x{ord(c):02x}"


class _Reader:
    """PostgreSQL's SCRAM attribute reader over one message (bytes read as latin-1, one char per byte)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else "\0"

    def _value(self) -> str:
        end = self.text.find(",", self.pos)
        end = len(self.text) if end < 0 else end
        value = self.text[self.pos : end]
        self.pos = min(end + 1, len(self.text))
        return value

    def attr(self, name: str) -> str:
        if self.peek() != name:
            raise _protocol("malformed SCRAM message", f'Expected attribute "{name}" but found "{_char(self.peek())}".')
        self.pos += 1
        if self.peek() != "=":
            raise _protocol("malformed SCRAM message", f'Expected character "=" for attribute "{name}".')
        self.pos += 1
        return self._value()

    def any_attr(self) -> tuple[str, str]:
        name = self.peek()
        if name == "\0":
            raise _protocol("malformed SCRAM message", "Attribute expected, but found end of string.")
        if not ("A" <= name <= "Z" or "a" <= name <= "z"):
            raise _protocol("malformed SCRAM message", f'Attribute expected, but found invalid character "{_char(name)}".')
        self.pos += 1
        if self.peek() != "=":
            raise _protocol("malformed SCRAM message", f'Expected character "=" for attribute "{name}".')
        self.pos += 1
        return name, self._value()


def _printable(nonce: str) -> bool:
    return all("\x21" <= c <= "\x7e" and c != "," for c in nonce)


def _mock_secret(user: str, secret: bytes) -> ScramSecret:
    """Plausible SCRAM parameters for a user without a usable verifier: a salt stable per user name."""
    salt = hashlib.sha256(user.encode("utf-8", "surrogateescape") + secret).digest()[:SCRAM_SALT_LEN]
    zero = bytes(SCRAM_KEY_LEN)
    return ScramSecret(SCRAM_ITERATIONS, salt, b64(salt), zero, zero)


class _Scram(Exchange):
    """SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL runs it, including the mock exchange of a doomed login."""

    def __init__(self, user: str, verifier: str | None, log_detail: str | None, mock_secret: bytes) -> None:
        self.user = user
        self.log_detail = log_detail
        secret = None
        if verifier is not None:
            secret = parse_scram_verifier(verifier)
            if secret is None:
                self.log_detail = f'User "{user}" does not have a valid SCRAM secret.'
        self.doomed = secret is None
        self.secret = _mock_secret(user, mock_secret) if secret is None else secret
        self.state = "mechanism"
        self.cbind_flag = ""
        self.client_nonce = ""
        self.server_nonce = ""
        self.client_first_bare = ""
        self.server_first = ""

    def first_message(self) -> tuple[int, bytes]:
        return AUTH_SASL, MECHANISM + b"\0\0"

    def step(self, data: bytes) -> tuple[int, bytes, bool]:
        if self.state == "mechanism":
            payload = self._initial_response(data)
            if payload is None:  # no Initial Client Response: an empty challenge asks for it
                self.state = "first"
                return AUTH_SASL_CONTINUE, b"", False
        else:
            payload = data
        if not payload:
            raise _protocol("malformed SCRAM message", "The message is empty.")
        if b"\0" in payload:
            raise _protocol("malformed SCRAM message", "Message length does not match input length.")
        text = payload.decode("latin-1")
        if self.state in ("mechanism", "first"):
            self._client_first(text)
            self.state = "final"
            return AUTH_SASL_CONTINUE, self.server_first.encode("latin-1"), False
        if self.state == "final":
            signature = self._client_final(text)
            self.state = "done"
            self.done = True
            return AUTH_SASL_FINAL, b"v=" + b64(signature).encode(), True
        raise _protocol("invalid SCRAM exchange state")

    def _initial_response(self, data: bytes) -> bytes | None:
        """The SASLInitialResponse: mechanism name, then the length (-1: none) and bytes of the first message."""
        end = data.find(b"\0")
        if end < 0:
            raise _protocol("invalid string in message")
        if data[:end] != MECHANISM:
            raise _protocol("client selected an invalid SASL authentication mechanism")
        if len(data) < end + 5:
            raise _protocol("insufficient data left in message")
        (length,) = _I32.unpack_from(data, end + 1)
        rest = data[end + 5 :]
        if length == -1:
            payload = None
        elif length < 0 or length > len(rest):
            raise _protocol("insufficient data left in message")
        else:
            payload = rest[:length]
        if len(rest) != (0 if payload is None else len(payload)):
            raise _protocol("invalid message format")
        return payload

    def _client_first(self, text: str) -> None:
        reader = _Reader(text)
        flag = reader.peek()
        if flag in ("n", "y"):
            reader.pos += 1
            if reader.peek() != ",":
                raise _protocol("malformed SCRAM message", f'Comma expected, but found character "{_char(reader.peek())}".')
            reader.pos += 1
        elif flag == "p":
            raise _protocol("malformed SCRAM message", "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message "
                                                       "includes channel binding data.")
        else:
            raise _protocol("malformed SCRAM message", f'Unexpected channel-binding flag "{_char(flag)}".')
        self.cbind_flag = flag
        if reader.peek() == "a":
            raise AuthError("client uses authorization identity, but it is not supported", "0A000")
        if reader.peek() != ",":
            raise _protocol("malformed SCRAM message", f'Unexpected attribute "{_char(reader.peek())}" in client-first-message.')
        reader.pos += 1
        self.client_first_bare = text[reader.pos :]
        if reader.peek() == "m":
            raise AuthError("client requires an unsupported SCRAM extension", "0A000")
        reader.attr("n")  # the user name is the startup packet's; libpq sends it empty
        self.client_nonce = reader.attr("r")
        if not _printable(self.client_nonce):
            raise _protocol("non-printable characters in SCRAM nonce")
        while reader.peek() != "\0":
            reader.any_attr()
        self.server_nonce = b64(secrets.token_bytes(_RAW_NONCE_LEN))
        secret = self.secret
        self.server_first = f"r={self.client_nonce}{self.server_nonce},s={secret.salt_text},i={secret.iterations}"

    def _client_final(self, text: str) -> bytes:
        """Check the client's proof; the ServerSignature for the server-final message."""
        reader = _Reader(text)
        binding = reader.attr("c")
        if not ((binding == "biws" and self.cbind_flag == "n") or (binding == "eSws" and self.cbind_flag == "y")):
            raise _protocol("unexpected SCRAM channel-binding attribute in client-final-message")
        final_nonce = reader.attr("r")
        while True:
            proof_start = reader.pos - 1
            name, value = reader.any_attr()
            if name == "p":
                break
        proof = b64decode(value)
        if proof is None or len(proof) != SCRAM_KEY_LEN:
            raise _protocol("malformed SCRAM message", "Malformed proof in client-final-message.")
        if reader.pos != len(text):
            raise _protocol("malformed SCRAM message", "Garbage found at the end of client-final-message.")
        if final_nonce != self.client_nonce + self.server_nonce:
            raise _protocol("invalid SCRAM response", "Nonce does not match.")
        auth_message = ",".join((self.client_first_bare, self.server_first, text[:proof_start])).encode("latin-1")
        secret = self.secret
        client_signature = hmac_sha256(secret.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature))
        # the proof is checked even for a doomed login, so that timing does not tell whether the role exists
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), secret.stored_key) or self.doomed:
            raise _failed(self.user, self.log_detail)
        return hmac_sha256(secret.server_key, auth_message)


def describe(error: AuthError) -> dict[str, Any]:
    """The ErrorResponse fields of an authentication failure (severity FATAL, as PostgreSQL's)."""
    fields = {"S": "FATAL", "V": "FATAL", "C": error.sqlstate, "M": error.message}
    if error.detail:
        fields["D"] = error.detail
    return fields
