"""The client-side auditor (`immusql audit`): round after round, check that one database's log only grew and still hashes right.

Each round connects with the verifying client, whose trusted checkpoint lives in the state
directory (so an application's client and the auditor can share it), then:

1. fetches the server's checkpoint and verifies it: signed by the key and consistent with the
   trusted one (a rollback or a fork fails here);
2. re-hashes a random sample of transactions plus the newest through ``verify_tx``: every entry
   of each is hashed again up to the signed root, so a value altered in the log is caught even
   when the tree is intact;
3. reads a random window of rows of every user table through ``fetch_verified``, so a value
   altered in the derived index that reads are served from is caught too.

One greppable line per round goes to stdout (FAIL and ERROR lines to stderr as well).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import asyncpg

import immusql.client
from immusql.client import VerificationError
from immusql.client.rows import RowError, row_checker, value_checker
from immusql.proofbundle import proven_table

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3  # documented in `immusql audit --help`
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)([smh]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
_CONNECT_TIMEOUT = 10.0
_COMMAND_TIMEOUT = 120.0


def parse_interval(text: str) -> float:
    """Seconds of an interval written ``60``, ``60s``, ``5m`` or ``1h``; ValueError otherwise."""
    match = _INTERVAL.fullmatch(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"invalid interval {text!r}: use a positive number of seconds, or 60s, 5m, 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Round:
    """What one round found: status OK, FAIL or ERROR, and the figures of the line it prints."""

    status: str
    database: str | None = None
    size: int = 0
    root: str = ""
    txs: int = 0
    tables: int = 0
    rows: int = 0
    unchecked: list[str] = field(default_factory=list)  # columns of types the client cannot check yet
    reason: str = ""

    def line(self, now: datetime) -> str:
        """The round's log line."""
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [stamp, "immusql-audit", self.status]
        if self.database is not None:
            parts.append(f"database={_quoted(self.database)}")
        if self.status == "OK":
            parts += [f"size={self.size}", f"root={self.root}", f"txs={self.txs}", f"tables={self.tables}", f"rows={self.rows}"]
            if self.unchecked:
                parts.append(f"unchecked={_quoted(','.join(self.unchecked))}")
        else:
            parts.append(f"reason={json.dumps(self.reason, ensure_ascii=False)}")
        return " ".join(parts)


def _quoted(text: str) -> str:
    """A value as is when it is one plain word, else as a JSON string (one line, quotes escaped)."""
    return text if re.fullmatch(r"[\w.+/@:-]+", text) else json.dumps(text, ensure_ascii=False)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _sample_rows(client: Any, schema: str, name: str, sample: int, rng: random.Random, found: Round) -> None:
    """Read a random window of up to ``sample`` rows of one table through fetch_verified."""
    relation = f"{_ident(schema)}.{_ident(name)}"
    try:
        _, _, table = await proven_table(client, relation)
    except asyncpg.UndefinedTableError:
        return  # dropped since the list was read
    columns = []
    for column in table.columns:
        if column.dropped:
            continue
        try:
            value_checker(column.type_name)
        except RowError:
            found.unchecked.append(f"{schema}.{name}.{column.name}")
            continue
        columns.append(column.name)
    try:
        row_checker(table, [*columns, "_tx"])  # fails when the primary key's type cannot be checked
    except RowError:
        found.unchecked.append(f"{schema}.{name}")
        return
    count = await client.connection.fetchval(f"SELECT count(*) FROM {relation}")
    offset = rng.randint(0, max(0, count - sample))
    select = ", ".join([*(_ident(c) for c in columns), "_tx"])
    rows = await client.fetch_verified(f"SELECT {select} FROM {relation} LIMIT {sample} OFFSET {offset}")
    found.rows += len(rows)
    found.tables += 1


async def audit_round(dsn: str, state_dir: str, vkey: str | None, sample: int, rng: random.Random, found: Round) -> None:
    """Run one round against the database ``dsn`` names, filling ``found``; VerificationError and connection errors propagate."""
    client = await immusql.client.connect(dsn, state_dir=state_dir, verifier_key=vkey, timeout=_CONNECT_TIMEOUT,
                                          command_timeout=_COMMAND_TIMEOUT)
    try:
        found.database = client.database
        checkpoint = await client.checkpoint()
        found.size, found.root = checkpoint.size, base64.b64encode(checkpoint.root).decode()
        ids = set(rng.sample(range(1, checkpoint.size + 1), min(sample, checkpoint.size)))
        if checkpoint.size:
            ids.add(checkpoint.size)
        for n in sorted(ids):
            await client.verify_tx(n)
            found.txs += 1
        tables = await client.connection.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
        for schema, name in tables:
            await _sample_rows(client, schema, name, sample, rng, found)
    finally:
        await client.close()


_OPERATIONAL = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def checked_round(dsn: str, state_dir: str, vkey: str | None, sample: int, rng: random.Random) -> Round:
    """One round with its outcome classified: OK, FAIL for a verification failure, ERROR for an operational one."""
    found = Round("OK")
    try:
        await audit_round(dsn, state_dir, vkey, sample, rng, found)
        return found
    except VerificationError as exc:
        return Round("FAIL", found.database or _database(dsn), reason=str(exc))
    except _OPERATIONAL as exc:
        return Round("ERROR", found.database, reason=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except Exception as exc:  # noqa: BLE001  a bug, or an answer the auditor cannot read: say so and keep going
        return Round("ERROR", found.database, reason=f"{type(exc).__name__}: {exc}")


def _database(dsn: str) -> str | None:
    """The database a URI DSN names, for a FAIL before the client could ask the server (a key pin mismatch)."""
    match = re.match(r"postgres(?:ql)?://[^/?]*/([^?]+)", dsn)
    return match.group(1) if match else None


async def run(dsn: str, state_dir: str, vkey: str | None, sample: int, interval: float, once: bool,
              out: TextIO = sys.stdout, err: TextIO = sys.stderr, now: Callable[[], datetime] = lambda: datetime.now(UTC)
              ) -> int:
    """Audit until a round fails (1), or once; SIGINT/SIGTERM stop the loop with the last round's status."""
    rng = random.SystemRandom()  # the server cannot predict which transactions and rows are checked
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    status = EXIT_UNREACHABLE if once else EXIT_OK  # --once stopped before its round ended: it did not pass
    try:
        while not stop.is_set():
            task = asyncio.ensure_future(checked_round(dsn, state_dir, vkey, sample, rng))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not task.done():  # stopped during a round: drop it, the trusted state is only ever replaced whole
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                break
            found = task.result()
            line = found.line(now())
            print(line, file=out, flush=True)
            if found.status != "OK":
                print(line, file=err, flush=True)
            if found.status == "FAIL":
                return EXIT_FAILED
            status = EXIT_OK if found.status == "OK" else EXIT_UNREACHABLE
            if once:
                return status
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
        return status
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def main(args: Any) -> int:
    """`immusql audit` with parsed arguments (dsn, state_dir, interval, once, sample, vkey)."""
    if args.sample < 1:
        print("immusql audit: --sample must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(run(args.dsn, args.state_dir, args.vkey, args.sample, args.interval, args.once))
