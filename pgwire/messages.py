"""PostgreSQL protocol 3.0 messages: splitting the client's byte stream into frames, building the server's.

A frame is (type byte, payload); the length word is checked against a limit so a
hostile or broken client cannot make the server buffer without bound. Builders
return complete messages as bytes, ready to be joined into one write.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from engine.errors import SqlError

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_HEADER = struct.Struct("!ci")

PROTOCOL_3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP = 10_000
MAX_MESSAGE = 1 << 30  # PostgreSQL's MaxAllocSize: the largest message it accepts


class ProtocolViolation(Exception):
    """The client broke the protocol: the session ends with a FATAL 08P01 (or the given SQLSTATE)."""

    def __init__(self, message: str, sqlstate: str = "08P01") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


def split_frames(buffer: bytearray, limit: int = MAX_MESSAGE) -> list[tuple[bytes, bytes]]:
    """Remove and return the complete frames at the start of ``buffer`` (a partial one stays)."""
    frames = []
    pos, size = 0, len(buffer)
    with memoryview(buffer) as view:
        while size - pos >= 5:
            kind, length = _HEADER.unpack_from(view, pos)
            if length < 4 or length > limit:
                raise ProtocolViolation(f"invalid message length {length}" if length < 4 else f"message of {length} bytes is too large")
            end = pos + 1 + length
            if end > size:
                break
            frames.append((kind, bytes(view[pos + 5 : end])))
            pos = end
    if pos:
        del buffer[:pos]
    return frames


def pending_length(buffer: bytearray) -> int:
    """The total length of the frame at the start of ``buffer`` (0 if its header is incomplete)."""
    return _HEADER.unpack_from(buffer, 0)[1] + 1 if len(buffer) >= 5 else 0


def startup_parameters(payload: bytes) -> dict[str, str]:
    """The name/value pairs of a StartupMessage after its protocol version."""
    parts = payload.split(b"\x00")
    if len(parts) < 2 or parts[-1] != b"" or parts[-2] != b"":
        raise ProtocolViolation("invalid startup packet layout: expected terminator as last byte")
    pairs = parts[:-2]
    if len(pairs) % 2:
        raise ProtocolViolation("invalid startup packet layout: expected terminator as last byte")
    try:
        return {pairs[i].decode(): pairs[i + 1].decode() for i in range(0, len(pairs), 2)}
    except UnicodeDecodeError:
        raise ProtocolViolation("invalid byte sequence in startup packet", "22021") from None


class Reader:
    """Reads the fields of one frame's payload in order."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolViolation("invalid string in message")
        try:
            text = self.data[self.pos : end].decode()
        except UnicodeDecodeError:
            raise SqlError('invalid byte sequence for encoding "UTF8"', sqlstate="22021") from None
        self.pos = end + 1
        return text

    def int16(self) -> int:
        if self.pos + 2 > len(self.data):
            raise ProtocolViolation("insufficient data left in message")
        value = _I16.unpack_from(self.data, self.pos)[0]
        self.pos += 2
        return value

    def int32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolViolation("insufficient data left in message")
        value = _I32.unpack_from(self.data, self.pos)[0]
        self.pos += 4
        return value

    def uint32(self) -> int:
        return self.int32() & 0xFFFFFFFF

    def byte(self) -> bytes:
        return self.take(1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolViolation("insufficient data left in message")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolViolation("invalid message format")


def parse_bind(payload: bytes) -> tuple[str, str, tuple[int, ...], list[bytes | None], tuple[int, ...]]:
    """A Bind message's portal, statement, parameter format codes, parameter values (None: NULL) and result format codes.

    Every extended-protocol execution starts with one, so it is read with direct struct calls.
    """
    try:
        end = payload.index(0)
        portal = payload[:end].decode()
        start = end + 1
        end = payload.index(0, start)
        statement = payload[start:end].decode()
        pos = end + 1
        (n,) = _I16.unpack_from(payload, pos)
        param_formats = _formats(payload, pos + 2, n)
        pos += 2 + 2 * n
        (count,) = _I16.unpack_from(payload, pos)
        pos += 2
        values: list[bytes | None] = []
        size = len(payload)
        for _ in range(count):
            (length,) = _I32.unpack_from(payload, pos)
            pos += 4
            if length == -1:
                values.append(None)
                continue
            if length < 0 or pos + length > size:
                raise ProtocolViolation("insufficient data left in message")
            values.append(payload[pos : pos + length])
            pos += length
        (n,) = _I16.unpack_from(payload, pos)
        result_formats = _formats(payload, pos + 2, n)
        pos += 2 + 2 * n
    except UnicodeDecodeError:
        raise SqlError('invalid byte sequence for encoding "UTF8"', sqlstate="22021") from None
    except (ValueError, struct.error):
        raise ProtocolViolation("insufficient data left in message") from None
    if pos != len(payload):
        raise ProtocolViolation("invalid message format")
    return portal, statement, param_formats, values, result_formats


def _formats(payload: bytes, pos: int, n: int) -> tuple[int, ...]:
    if n == 0:
        return ()
    if n == 1:
        return _I16.unpack_from(payload, pos)
    return struct.unpack_from(f"!{n}h", payload, pos)  # a negative n is a struct.error: a malformed message


def parse_named(payload: bytes) -> tuple[bytes, str]:
    """Describe and Close: a kind byte (S or P) and a name."""
    if len(payload) < 2 or payload.find(0, 1) != len(payload) - 1:
        raise ProtocolViolation("invalid message format")
    try:
        return payload[:1], payload[1:-1].decode()
    except UnicodeDecodeError:
        raise SqlError('invalid byte sequence for encoding "UTF8"', sqlstate="22021") from None


def parse_execute(payload: bytes) -> tuple[str, int]:
    """Execute: the portal's name and the most rows to return (0: all)."""
    end = payload.find(0)
    if end < 0 or len(payload) != end + 5:
        raise ProtocolViolation("invalid message format")
    try:
        return payload[:end].decode(), _I32.unpack_from(payload, end + 1)[0]
    except UnicodeDecodeError:
        raise SqlError('invalid byte sequence for encoding "UTF8"', sqlstate="22021") from None


# -- backend messages --------------------------------------------------------------------------


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + _I32.pack(len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


AUTH_OK = message(b"R", _I32.pack(0))
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
COPY_DONE = message(b"c")
READY = {status: message(b"Z", status.encode()) for status in "ITE"}


def authentication(code: int, data: bytes = b"") -> bytes:
    return message(b"R", _I32.pack(code) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!iI", pid, secret))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def parameter_description(oids: Iterable[int]) -> bytes:
    oids = list(oids)
    return message(b"t", _I16.pack(len(oids)) + b"".join(struct.pack("!I", oid) for oid in oids))


def negotiate_protocol_version(newest_minor: int, unrecognized: list[str]) -> bytes:
    return message(b"v", _I32.pack(newest_minor) + _I32.pack(len(unrecognized)) + b"".join(cstr(name) for name in unrecognized))


def copy_response(kind: bytes, binary: bool, columns: int) -> bytes:
    """CopyInResponse (G) or CopyOutResponse (H): the overall format and one format code per column."""
    code = 1 if binary else 0
    return message(kind, struct.pack("!bh", code, columns) + _I16.pack(code) * columns)


def copy_data(data: bytes) -> bytes:
    return b"d" + _I32.pack(len(data) + 4) + data


def error_fields(severity: str, sqlstate: str, text: str, detail: str | None = None, hint: str | None = None,
                 position: int | None = None, where: str | None = None, extra: dict[str, str] | None = None) -> bytes:
    """The fields of an ErrorResponse or NoticeResponse (S, V, C, M, D, H, P, W, and s/t/c/n/... from ``extra``)."""
    parts = [b"S" + cstr(severity), b"V" + cstr(severity), b"C" + cstr(sqlstate), b"M" + cstr(text)]
    if detail:
        parts.append(b"D" + cstr(detail))
    if hint:
        parts.append(b"H" + cstr(hint))
    if position:
        parts.append(b"P" + cstr(str(position)))
    if where:
        parts.append(b"W" + cstr(where))
    for code, value in (extra or {}).items():
        if value:
            parts.append(code.encode() + cstr(value))
    return b"".join(parts) + b"\x00"


def error_response(severity: str, sqlstate: str, text: str, **fields: object) -> bytes:
    return message(b"E", error_fields(severity, sqlstate, text, **fields))


def notice_response(text: str, severity: str = "NOTICE", sqlstate: str = "00000") -> bytes:
    return message(b"N", error_fields(severity, sqlstate, text))
