"""Authentication (pgwire/auth.py) against PostgreSQL 15 and real clients.

- Differential: the same SASL messages, well-formed and malformed, go to a PostgreSQL 15 server whose
  pg_hba.conf asks for scram-sha-256 and to our exchange; the outcome (next message or error fields) must match.
- Clients: libpq (psycopg) and asyncpg log in through a one-connection asyncio server running our exchange
  for each method; they get past authentication with the right password and get 28P01 with a wrong one.
- Verifiers: PostgreSQL's verifiers check with our code, and ours let a client log in to PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import pwd
import socket
import struct
import time

import asyncpg
import psycopg
import pytest

from catalog.passwords import make_scram_verifier, md5_verifier, parse_scram_verifier, saslprep, verify_password
from catalog.roles import Role
from pgwire import auth
from pgwire.auth import AuthError
from tests.pg_oracle import Postgres

PASSWORD = "s3cret pa55"
SENTINEL = "harness: authenticated"

# -- a client side of SCRAM, written from RFC 5802 alone --------------------------------------------------


def _client_final(password: str, client_first_bare: str, server_first: str, gs2: str = "n,,", extension: str = "") -> tuple[str, bytes]:
    """The client-final-message for ``server_first`` (with an optional extension before the proof), and the ServerSignature."""
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c={base64.b64encode(gs2.encode()).decode()},r={attrs['r']}{extension}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    return f"{without_proof},p={base64.b64encode(proof).decode()}", server_signature


def _initial(payload: bytes | None, mechanism: bytes = b"SCRAM-SHA-256") -> bytes:
    """A SASLInitialResponse body."""
    if payload is None:
        return mechanism + b"\0" + struct.pack("!i", -1)
    return mechanism + b"\0" + struct.pack("!i", len(payload)) + payload


def _role(password: str | None = PASSWORD, **attributes) -> Role:
    verifier = make_scram_verifier(password) if password is not None else None
    return Role(16384, "alice", password=verifier, **attributes)


def _scram_login(exchange: auth.Exchange, password: str, gs2: str = "n,,") -> tuple[int, bytes, bool]:
    code, payload = exchange.first_message()
    assert (code, payload) == (auth.AUTH_SASL, b"SCRAM-SHA-256\0\0")
    bare = "n=,r=clientnonce123"
    code, server_first, done = exchange.step(_initial(f"{gs2}{bare}".encode()))
    assert code == auth.AUTH_SASL_CONTINUE and not done
    final, signature = _client_final(password, bare, server_first.decode(), gs2)
    code, payload, done = exchange.step(final.encode())
    assert payload == b"v=" + base64.b64encode(signature)
    return code, payload, done


# -- unit tests of the exchanges --------------------------------------------------------------------------


def test_scram_accepts_the_password_and_proves_the_server() -> None:
    exchange = auth.start("scram-sha-256", _role(), "alice")
    assert _scram_login(exchange, PASSWORD)[0::2] == (auth.AUTH_SASL_FINAL, True)
    assert exchange.done


def test_scram_accepts_gs2_header_y_without_channel_binding() -> None:
    assert _scram_login(auth.start("scram-sha-256", _role(), "alice"), PASSWORD, gs2="y,,")[2]


@pytest.mark.parametrize("role", [_role(), None, _role(None), _role(valid_until=0)], ids=["wrong password", "unknown user", "no password", "expired"])
def test_scram_failures_look_alike(role: Role | None) -> None:
    exchange = auth.start("scram-sha-256", role, "alice")
    with pytest.raises(AuthError) as failed:
        _scram_login(exchange, "wrong" if role is not None and role.password else PASSWORD)
    assert (failed.value.sqlstate, failed.value.message) == ("28P01", 'password authentication failed for user "alice"')
    assert not exchange.done


def test_a_mock_exchange_has_a_stable_salt_per_user_like_a_real_one() -> None:
    def server_first(user: str, secret: bytes) -> dict[str, str]:
        exchange = auth.start("scram-sha-256", None, user, mock_secret=secret)
        exchange.first_message()
        _, payload, _ = exchange.step(_initial(b"n,,n=,r=abc"))
        return dict(part.split("=", 1) for part in payload.decode().split(","))

    first, again, other = server_first("bob", b"k"), server_first("bob", b"k"), server_first("carol", b"k")
    assert first["s"] == again["s"] != other["s"] and first["r"] != again["r"]
    assert len(base64.b64decode(first["s"])) == 16 and first["i"] == "4096"
    real = dict(part.split("=", 1) for part in auth.start("scram-sha-256", _role(), "alice").step(_initial(b"n,,n=,r=abc"))[1].decode().split(","))
    assert len(real["r"]) == len(first["r"]) and len(real["s"]) == len(first["s"])


def test_scram_without_initial_response_asks_for_it() -> None:
    exchange = auth.start("scram-sha-256", _role(), "alice")
    exchange.first_message()
    assert exchange.step(_initial(None)) == (auth.AUTH_SASL_CONTINUE, b"", False)
    bare = "n=,r=xyz"
    _, server_first, _ = exchange.step(f"n,,{bare}".encode())
    final, _ = _client_final(PASSWORD, bare, server_first.decode())
    assert exchange.step(final.encode())[2]


def test_cleartext_password_checks_scram_and_md5_verifiers() -> None:
    for verifier in (make_scram_verifier(PASSWORD), md5_verifier(PASSWORD, "alice")):
        role = Role(16384, "alice", password=verifier)
        exchange = auth.start("password", role, "alice")
        assert exchange.first_message() == (auth.AUTH_CLEARTEXT_PASSWORD, b"")
        assert exchange.step(PASSWORD.encode() + b"\0") == (auth.AUTH_OK, b"", True)
        with pytest.raises(AuthError) as failed:
            auth.start("password", role, "alice").step(b"nope\0")
        assert failed.value.sqlstate == "28P01"
    with pytest.raises(AuthError) as empty:
        auth.start("password", _role(), "alice").step(b"\0")
    assert (empty.value.sqlstate, empty.value.message) == ("28P01", "empty password returned by client")
    with pytest.raises(AuthError) as bad:
        auth.start("password", _role(), "alice").step(b"abc")
    assert (bad.value.sqlstate, bad.value.message) == ("08P01", "invalid password packet size")


def test_md5_challenge_and_its_fallback_to_scram() -> None:
    role = Role(16384, "alice", password=md5_verifier(PASSWORD, "alice"))
    exchange = auth.start("md5", role, "alice")
    code, salt = exchange.first_message()
    assert code == auth.AUTH_MD5_PASSWORD and len(salt) == 4
    inner = hashlib.md5((PASSWORD + "alice").encode()).hexdigest()
    answer = b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode()
    assert exchange.step(answer + b"\0") == (auth.AUTH_OK, b"", True)
    with pytest.raises(AuthError):
        auth.start("md5", role, "alice").step(answer + b"\0")  # another salt
    assert auth.start("md5", _role(), "alice").first_message()[0] == auth.AUTH_SASL  # a SCRAM verifier: SCRAM
    assert auth.start("md5", None, "alice").first_message()[0] == auth.AUTH_SASL  # unknown user: the mock SCRAM
    with pytest.raises(AuthError):  # scram-sha-256 cannot use an md5 verifier: the exchange is doomed
        _scram_login(auth.start("scram-sha-256", role, "alice"), PASSWORD)


def test_checks_after_authentication() -> None:
    auth.check_login(_role(), "alice")
    cases = [(None, "28000", 'role "alice" does not exist'), (_role(login=False), "28000", 'role "alice" is not permitted to log in'),
             (_role(connection_limit=1), "53300", 'too many connections for role "alice"')]
    for role, sqlstate, message in cases:
        with pytest.raises(AuthError) as failed:
            auth.check_login(role, "alice", sessions=2)
        assert (failed.value.sqlstate, failed.value.message) == (sqlstate, message)
    auth.check_login(_role(connection_limit=1, superuser=True), "alice", sessions=5)
    assert auth.start("trust", None, "x").first_message() == (auth.AUTH_OK, b"") and auth.start("trust", None, "x").done


# -- a PostgreSQL 15 server that asks for passwords ----------------------------------------------------------

_HBA = """local all all trust
host all postgres 127.0.0.1/32 trust
host all auth_md5 127.0.0.1/32 md5
host all auth_password 127.0.0.1/32 password
host all all 127.0.0.1/32 scram-sha-256
"""


@pytest.fixture(scope="module")
def pg_auth():
    """A PostgreSQL 15 server with password authentication over TCP, and a superuser connection to it."""
    server = Postgres.start()
    try:
        hba = os.path.join(server.base, "data", "pg_hba.conf")
        with open(hba, "w") as f:
            f.write(_HBA)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(hba, owner.pw_uid, owner.pw_gid)
        with psycopg.connect(server.conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.3)
            for name in ("auth_scram", "auth_md5", "auth_password"):
                conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
            yield server, conn
    finally:
        server.stop()


def _verifier(conn, name: str) -> str:
    return conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)).fetchone()[0]


class _RawClient:
    """Just enough of the client side of the protocol to send PostgreSQL arbitrary authentication messages."""

    def __init__(self, port: int, user: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0postgres\0\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def receive(self) -> tuple[str, bytes]:
        kind = self._exact(1).decode()
        (length,) = struct.unpack("!i", self._exact(4))
        return kind, self._exact(length - 4)

    def send(self, body: bytes) -> None:
        self.sock.sendall(b"p" + struct.pack("!i", len(body) + 4) + body)

    def close(self) -> None:
        self.sock.close()


def _outcome(kind: str, body: bytes) -> tuple:
    """A server's answer, comparable across servers: an error's fields, or the request code and the payload's shape."""
    if kind == "E":
        fields = {f[:1].decode(): f[1:].decode() for f in body.split(b"\0") if f}
        return ("error", fields.get("C"), fields.get("M"), fields.get("D"))
    (code,) = struct.unpack_from("!i", body)
    payload = body[4:]
    if code == auth.AUTH_SASL_CONTINUE and payload:
        return ("continue", tuple(part.split("=", 1)[0] for part in payload.decode().split(",")))
    return ("request", code, payload if code in (auth.AUTH_SASL, auth.AUTH_OK) else len(payload))


def _ours(exchange: auth.Exchange, message: bytes) -> tuple:
    try:
        code, payload, _ = exchange.step(message)
    except AuthError as error:
        return ("error", error.sqlstate, error.message, error.detail)
    return _outcome("R", struct.pack("!i", code) + payload)


def _exchange_both(port: int, role: Role | None, user: str, messages) -> tuple[list, list]:
    """Feed the same client messages to PostgreSQL and to our exchange; each message may be a function of the server-first."""
    client = _RawClient(port, user)
    exchange = auth.start("scram-sha-256", role, user)
    theirs, ours = [], []
    try:
        kind, body = client.receive()
        theirs.append(_outcome(kind, body))
        ours.append(_outcome("R", struct.pack("!i", exchange.first_message()[0]) + exchange.first_message()[1]))
        pg_first = our_first = ""
        for message in messages:
            if callable(message):
                pg_message, our_message = message(pg_first), message(our_first)
            else:
                pg_message = our_message = message
            client.send(pg_message)
            kind, body = client.receive()
            theirs.append(_outcome(kind, body))
            if kind == "R" and struct.unpack_from("!i", body)[0] == auth.AUTH_SASL_CONTINUE:
                pg_first = body[4:].decode()
            ours.append(_ours(exchange, our_message))
            if not exchange.done and ours[-1][0] == "continue":
                our_first = exchange.server_first
            if kind == "E" or ours[-1][0] == "error":
                break
        if theirs[-1][:2] == ("request", auth.AUTH_SASL_FINAL):
            theirs.append(_outcome(*client.receive()))
            ours.append(("request", auth.AUTH_OK, b""))
    finally:
        client.close()
    return theirs, ours


_BARE = "n=,r=Q2xpZW50Tm9uY2U"


def _final(password: str, gs2: str = "n,,", edit=lambda text: text, extension: str = ""):
    def build(server_first: str) -> bytes:
        return edit(_client_final(password, _BARE, server_first, gs2, extension)[0]).encode()

    return build


_FIRST_MESSAGES = {
    "invalid mechanism": _initial(b"n,," + _BARE.encode(), b"SCRAM-SHA-1"),
    "mechanism not terminated": b"SCRAM-SHA-256",
    "length missing": b"SCRAM-SHA-256\0\0\0",
    "length past the end": b"SCRAM-SHA-256\0" + struct.pack("!i", 50) + b"n,,n=,r=abc",
    "bytes after the response": b"SCRAM-SHA-256\0" + struct.pack("!i", 3) + b"n,,n=,r=abc",
    "empty response": _initial(b""),
    "nul in response": _initial(b"n,,n=,r=a\0b"),
    "unknown flag": _initial(b"x,,n=,r=abc"),
    "flag at the end": _initial(b"n"),
    "no comma after flag": _initial(b"nx,n=,r=abc"),
    "channel binding required": _initial(b"p=tls-server-end-point,,n=,r=abc"),
    "authzid": _initial(b"n,a=bob,n=,r=abc"),
    "unexpected attribute": _initial(b"n,b,n=,r=abc"),
    "mandatory extension": _initial(b"n,,m=ext,n=,r=abc"),
    "user name missing": _initial(b"n,,x=,r=abc"),
    "user name without =": _initial(b"n,,n,r=abc"),
    "nonce missing": _initial(b"n,,n=bob"),
    "nonce not printable": _initial(b"n,,n=,r=ab\x01c"),
    "extension not a letter": _initial(b"n,,n=,r=abc,1=x"),
    "trailing comma": _initial(b"n,,n=,r=abc,"),
}


@pytest.mark.parametrize("name", list(_FIRST_MESSAGES))
def test_client_first_message_outcomes_match_postgres(pg_auth, name: str) -> None:
    server, conn = pg_auth
    role = Role(16384, "auth_scram", password=_verifier(conn, "auth_scram"))
    theirs, ours = _exchange_both(server.port, role, "auth_scram", [_FIRST_MESSAGES[name]])
    assert ours == theirs


_FINAL_MESSAGES = {
    "right password": _final(PASSWORD),
    "right password, gs2 y": _final(PASSWORD, "y,,"),
    "extension before the proof": _final(PASSWORD, extension=",x=ext"),
    "extension, wrong password": _final("wrong", extension=",x=ext"),
    "wrong password": _final("wrong"),
    "binding of the other flag": _final(PASSWORD, edit=lambda t: t.replace("c=biws", "c=eSws")),
    "binding missing": _final(PASSWORD, edit=lambda t: t[t.index(",") + 1 :]),
    "nonce changed": _final(PASSWORD, edit=lambda t: t.replace(",r=", ",r=X")),
    "proof missing": _final(PASSWORD, edit=lambda t: t[: t.index(",p=")]),
    "proof too short": _final(PASSWORD, edit=lambda t: t[: t.index(",p=")] + ",p=YWJj"),
    "proof not base64": _final(PASSWORD, edit=lambda t: t[: t.index(",p=")] + ",p=***"),
    "garbage after the proof": _final(PASSWORD, edit=lambda t: t + ",z=1"),
    "only the binding": lambda server_first: b"c=biws",
}


@pytest.mark.parametrize("name", list(_FINAL_MESSAGES))
def test_client_final_message_outcomes_match_postgres(pg_auth, name: str) -> None:
    server, conn = pg_auth
    role = Role(16384, "auth_scram", password=_verifier(conn, "auth_scram"))
    gs2 = "y,," if "gs2 y" in name else "n,,"
    theirs, ours = _exchange_both(server.port, role, "auth_scram", [_initial(f"{gs2}{_BARE}".encode()), _FINAL_MESSAGES[name]])
    assert ours == theirs


def test_an_unknown_user_fails_as_postgres_fails_it(pg_auth) -> None:
    server, _ = pg_auth
    theirs, ours = _exchange_both(server.port, None, "auth_nobody", [_initial(f"n,,{_BARE}".encode()), _final(PASSWORD)])
    assert ours == theirs and ours[-1] == ("error", "28P01", 'password authentication failed for user "auth_nobody"', None)


def test_without_initial_response_as_postgres(pg_auth) -> None:
    server, conn = pg_auth
    role = Role(16384, "auth_scram", password=_verifier(conn, "auth_scram"))
    messages = [_initial(None), f"n,,{_BARE}".encode(), _final(PASSWORD)]
    theirs, ours = _exchange_both(server.port, role, "auth_scram", messages)
    assert ours == theirs and ours[-1] == ("request", auth.AUTH_OK, b"")


# -- verifiers: PostgreSQL's and ours ----------------------------------------------------------------------

_PASSWORDS = ["p", PASSWORD, "pässwörd", "\u2163\u00a0x\u00ad",  # NFKC (Ⅳ -> IV), a non-ASCII space, a soft hyphen mapped to nothing
              "\ufb01" * 600, "\u0627\u0031", "a\u0007\u00e9"]  # long; bidi-invalid and a control: used as given, unprepared


def test_postgres_verifiers_check_with_ours(pg_auth) -> None:
    _, conn = pg_auth
    for i, password in enumerate(_PASSWORDS):
        literal = "'" + password.replace("'", "''") + "'"
        conn.execute(f"CREATE ROLE auth_v{i} PASSWORD {literal}")
        verifier = _verifier(conn, f"auth_v{i}")
        secret = parse_scram_verifier(verifier)
        assert secret is not None and secret.iterations == 4096 and len(secret.salt) == 16
        assert verify_password(verifier, password, f"auth_v{i}")
        assert not verify_password(verifier, password + "x", f"auth_v{i}")
        assert make_scram_verifier(password, salt=secret.salt) == verifier
    conn.execute("SET password_encryption = 'md5'")
    try:
        conn.execute(f"CREATE ROLE auth_vmd5 PASSWORD '{PASSWORD}'")
    finally:
        conn.execute("RESET password_encryption")
    assert _verifier(conn, "auth_vmd5") == md5_verifier(PASSWORD, "auth_vmd5")


def test_saslprep_follows_rfc_4013() -> None:
    assert saslprep("I\u00adX") == b"IX" and saslprep("\u2168") == b"IX" and saslprep("a\u00a0b") == b"a b"
    assert saslprep("\u0627\u0031") == "\u0627\u0031".encode()  # RandALCat must begin and end the string: unchanged
    assert saslprep(b"\xff\xfe") == b"\xff\xfe" and saslprep("\u00ad") == "\u00ad".encode()


def test_our_verifiers_log_in_to_postgres(pg_auth) -> None:
    server, conn = pg_auth
    for name, verifier in (("auth_scram", make_scram_verifier("ours 1", iterations=1000)), ("auth_md5", md5_verifier("ours 2", "auth_md5"))):
        conn.execute(f"ALTER ROLE {name} PASSWORD '{verifier}'")
        assert _verifier(conn, name) == verifier  # stored as given
        password = "ours 1" if name == "auth_scram" else "ours 2"
        with psycopg.connect(host="127.0.0.1", port=server.port, user=name, password=password, dbname="postgres", sslmode="disable") as c:
            assert c.execute("SELECT current_user").fetchone() == (name,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(host="127.0.0.1", port=server.port, user=name, password="wrong", dbname="postgres", sslmode="disable")
        conn.execute(f"ALTER ROLE {name} PASSWORD '{PASSWORD}'")


# -- real clients against our exchange ----------------------------------------------------------------------


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, role: Role | None) -> None:
    """One connection: startup packet, our exchange, then AuthenticationOk and an error of our own (or the auth error)."""

    def error(fields: dict[str, str]) -> bytes:
        body = b"".join(k.encode() + v.encode() + b"\0" for k, v in fields.items()) + b"\0"
        return b"E" + struct.pack("!i", len(body) + 4) + body

    try:
        while True:
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            (code,) = struct.unpack_from("!i", body)
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                writer.write(b"N")
                continue
            break
        items = body[4:].split(b"\0")
        params = dict(zip(items[0::2], items[1::2]))
        user = params[b"user"].decode()
        exchange = auth.start(method, role, user)
        code, payload = exchange.first_message()
        writer.write(auth.request_message(code, payload))
        try:
            while not exchange.done:
                kind = await reader.readexactly(1)
                (length,) = struct.unpack("!i", await reader.readexactly(4))
                message = await reader.readexactly(length - 4)
                assert kind == b"p"
                code, payload, _ = exchange.step(message)
                writer.write(auth.request_message(code, payload))
        except AuthError as failed:
            writer.write(error(auth.describe(failed)))
            return
        if code != auth.AUTH_OK:
            writer.write(auth.request_message(auth.AUTH_OK))
        writer.write(error({"S": "FATAL", "V": "FATAL", "C": "XX000", "M": f"{SENTINEL} as {user}"}))
    except asyncio.IncompleteReadError:
        pass
    finally:
        await writer.drain()
        writer.close()


def _with_server(method: str, role: Role | None, client) -> BaseException:
    """Run ``client(port)`` against a one-connection server running our exchange; the exception the client raised."""

    async def main() -> BaseException:
        server = await asyncio.start_server(lambda r, w: _serve_one(r, w, method, role), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await client(port)
        except (psycopg.Error, asyncpg.PostgresError) as exc:  # our server ends every connection with an error
            return exc
        finally:
            server.close()
        raise AssertionError("the client connected")

    return asyncio.run(main())


def _libpq(user: str, password: str):
    async def connect(port: int) -> None:
        await psycopg.AsyncConnection.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="x",
                                              sslmode="disable", gssencmode="disable", connect_timeout=10)

    return connect


def _asyncpg(user: str, password: str):
    async def connect(port: int) -> None:
        await asyncpg.connect(host="127.0.0.1", port=port, user=user, password=password, database="x", ssl=False, timeout=10)

    return connect


_METHODS = {"scram-sha-256": make_scram_verifier(PASSWORD), "md5": md5_verifier(PASSWORD, "alice"), "password": make_scram_verifier(PASSWORD)}


@pytest.mark.parametrize("method", list(_METHODS))
@pytest.mark.parametrize("client", [_libpq, _asyncpg], ids=["libpq", "asyncpg"])
def test_clients_log_in_with_the_right_password(method: str, client) -> None:
    role = Role(16384, "alice", password=_METHODS[method])
    failure = _with_server(method, role, client("alice", PASSWORD))
    assert f"{SENTINEL} as alice" in str(failure)
    if isinstance(failure, asyncpg.PostgresError):
        assert failure.sqlstate == "XX000"


@pytest.mark.parametrize("method", list(_METHODS))
@pytest.mark.parametrize("client", [_libpq, _asyncpg], ids=["libpq", "asyncpg"])
@pytest.mark.parametrize("user", ["alice", "nobody"])
def test_clients_are_refused_a_wrong_password_or_an_unknown_user(method: str, client, user: str) -> None:
    role = Role(16384, "alice", password=_METHODS[method]) if user == "alice" else None
    failure = _with_server(method, role, client(user, PASSWORD if user == "nobody" else "wrong"))
    assert f'password authentication failed for user "{user}"' in str(failure)
    assert SENTINEL not in str(failure)
    if isinstance(failure, asyncpg.PostgresError):
        assert failure.sqlstate == "28P01"
