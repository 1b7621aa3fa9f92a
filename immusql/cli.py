"""The immusql command line: serve, verify, reindex, keys, audit, proof."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO


class ProgressBar:
    """A one-line progress bar on a terminal; silent when the stream is not one."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(fraction * 30)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _verify(args: argparse.Namespace) -> int:
    from immusql.store.verify import find_stores, verify_store

    stores = find_stores(args.data_dir)
    if not stores:
        print(f"immusql verify: no store found at or below {args.data_dir}", file=sys.stderr)
        return 2
    failed = 0
    for path in stores:
        bar = ProgressBar(f"verifying {path}")
        report = verify_store(path, args.vkey, bar, _server_key(args.data_dir))
        bar.finish()
        if report.ok:
            print(f"{path}: OK, {report.tx_count} transactions, signed checkpoint at tx {report.checkpoint_size}")
        else:
            failed += 1
            print(f"{path}: FAILED at {report.problem}", file=sys.stderr)
    return 1 if failed else 0


def _server_key(data_dir: str) -> str | None:
    """A server's data directory signs every database's checkpoints with its one key (None: a store's own)."""
    path = os.path.join(data_dir, "server.key")
    return path if os.path.exists(path) else None


def _reindex(args: argparse.Namespace) -> int:
    from immusql.store import Store

    started = time.monotonic()
    with Store.open(args.data_dir, rebuild_index=True) as store:
        store.wait_indexed()
        count = store.tx_id
    print(f"{args.data_dir}: index rebuilt from {count} transactions in {time.monotonic() - started:.1f} s")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from immusql.store.verify import find_stores, store_vkey

    stores = find_stores(args.data_dir)
    if not stores:
        print(f"immusql keys: no store found at or below {args.data_dir}", file=sys.stderr)
        return 2
    for path in stores:
        key = store_vkey(path, _server_key(args.data_dir))
        print(key if len(stores) == 1 else f"{path}\t{key}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging
    import os

    from pgwire.server import ServerConfig, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.auth == "trust" and args.host not in ("127.0.0.1", "localhost", "::1"):
        print("immusql serve: --auth trust lets anyone who can reach the port in as any user", file=sys.stderr)
    config = ServerConfig(data_dir=args.data_dir, host=args.host, port=args.port, auth=args.auth, tls_cert=args.tls_cert,
                          tls_key=args.tls_key, tls_auto=args.tls == "auto", max_connections=args.max_connections,
                          message_timeout=args.client_timeout)
    if args.readers is not None:
        config.readers = args.readers
    from engine.cluster import bootstrap_superuser

    password = bootstrap_superuser(args.data_dir, os.environ.get("IMMUSQL_USER", "immusql"), os.environ.get("IMMUSQL_PASSWORD"))
    if password is not None:
        print(f"immusql: created superuser {os.environ.get('IMMUSQL_USER', 'immusql')!r}; its generated password is "
              f"{password} (also in {os.path.join(args.data_dir, 'initial-password')}, mode 0600)", file=sys.stderr)

    def ready(server: object) -> None:
        print(f"immusql: listening on {args.host}:{server.port}, data in {os.path.abspath(args.data_dir)}", file=sys.stderr, flush=True)

    run(config, ready)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from immusql.audit import main as audit

    return audit(args)


def _proof_export(args: argparse.Namespace) -> int:
    from immusql.proofbundle import export_main

    return export_main(args)


def _proof_verify(args: argparse.Namespace) -> int:
    from immusql.proofbundle import verify_main

    return verify_main(args)


_AUDIT_DESCRIPTION = """Each round verifies the server's checkpoint against the trusted one, re-hashes a random
sample of transactions and the newest one, and checks a random sample of every table's rows
against their proofs. One line per round on stdout (FAIL and ERROR lines on stderr too)."""
_AUDIT_EXIT_CODES = """exit codes:
  0  every round passed (--once: the round passed)
  1  verification failed: tampering, a rollback or a fork (continuous mode stops at once)
  2  usage error
  3  --once: the server could not be reached or failed (continuous mode logs an ERROR
     line and retries at the next interval)
SIGINT or SIGTERM ends the loop with the last round's status (0, or 3 after an ERROR)."""
_EXPORT_EXIT_CODES = """exit codes:
  0  the file was written; every row verified
  1  the server's answer did not verify (nothing is written)
  2  usage error, or a query that cannot be checked row by row
  3  the server could not be reached, or it refused the query"""
_VERIFY_EXIT_CODES = """exit codes:
  0  every proof in the file verifies with the key and every value is the proven one
  1  something in the file does not verify (printed)
  2  usage error, or the file cannot be read"""


def _interval(text: str) -> float:
    from immusql.audit import parse_interval

    try:
        return parse_interval(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="immusql", description="immusql: a SQL database on a verifiable log")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the PostgreSQL wire protocol")
    serve.add_argument("--data-dir", default="./immusql-data", help="the server's data directory (created at first start)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5433, help="port to listen on")
    serve.add_argument("--auth", default="scram-sha-256", choices=["scram-sha-256", "md5", "password", "trust"],
                       help="how clients authenticate (trust: no password, an explicit opt-in)")
    serve.add_argument("--tls", choices=["off", "auto"], default="off", help="auto: a self-signed certificate made at first start")
    serve.add_argument("--tls-cert", help="PEM certificate (chain) for TLS")
    serve.add_argument("--tls-key", help="PEM private key for TLS")
    serve.add_argument("--max-connections", type=int, default=500)
    serve.add_argument("--readers", type=int,
                       help="processes that serve point reads beside the server's own (default: one per core but one, up to 4)")
    serve.add_argument("--client-timeout", type=float, default=60.0,
                       help="seconds a client may take to log in, or stall inside one message, before it is disconnected")
    serve.set_defaults(run=_serve)

    verify = commands.add_parser("verify", help="recompute every hash and the tree and check them against the signed checkpoints")
    verify.add_argument("--data-dir", default="./immusql-data", help="a store directory or a directory holding stores")
    verify.add_argument("--vkey", help="verifier key to check checkpoints with (default: the store's own key)")
    verify.set_defaults(run=_verify)

    reindex = commands.add_parser("reindex", help="rebuild a store's index from its log")
    reindex.add_argument("--data-dir", default="./immusql-data", help="the store directory")
    reindex.set_defaults(run=_reindex)

    keys = commands.add_parser("keys", help="print the verifier key of the store(s)")
    keys.add_argument("--data-dir", default="./immusql-data", help="a store directory or a directory holding stores")
    keys.set_defaults(run=_keys)

    raw = argparse.RawDescriptionHelpFormatter
    audit = commands.add_parser("audit", help="audit a database from the client side, round after round", epilog=_AUDIT_EXIT_CODES,
                                formatter_class=raw, description=_AUDIT_DESCRIPTION)
    audit.add_argument("dsn", help="the database to audit (libpq URI or key=value string)")
    audit.add_argument("--state-dir", required=True, help="where the trusted checkpoint is kept (shareable with verifying clients)")
    audit.add_argument("--interval", type=_interval, default=60.0, help="time between rounds: 60, 60s, 5m, 1h (default 60s)")
    audit.add_argument("--once", action="store_true", help="run one round and exit with its status")
    audit.add_argument("--sample", type=int, default=10, help="transactions re-hashed, and rows read per table, each round (default 10)")
    audit.add_argument("--vkey", help="the server's verifier key (default: the key it reports, pinned at first sight)")
    audit.set_defaults(run=_audit)

    proof = commands.add_parser("proof", help="export the rows of a query with their proofs, or check such a file offline")
    proof_commands = proof.add_subparsers(dest="proof_command", required=True)
    export = proof_commands.add_parser("export", help="run a query through the verifying client and write its proof file",
                                       epilog=_EXPORT_EXIT_CODES, formatter_class=raw)
    export.add_argument("dsn", help="the database (libpq URI or key=value string)")
    export.add_argument("sql", help="SELECT <columns or *> FROM <one table> [FOR SYSTEM_TIME ...] [WHERE ...] [ORDER BY ...] [LIMIT ...]")
    export.add_argument("args", nargs="*", metavar="ARG", help="the query's $1, $2, ... as text")
    export.add_argument("-o", "--output", required=True, help="the proof file to write (-: standard output)")
    export.add_argument("--state-dir", help="where the trusted checkpoint is kept (default ~/.immusql)")
    export.add_argument("--vkey", help="the server's verifier key (default: the key it reports, pinned at first sight)")
    export.set_defaults(run=_proof_export)
    check = proof_commands.add_parser("verify", help="check a proof file with no server", epilog=_VERIFY_EXIT_CODES, formatter_class=raw)
    check.add_argument("file", help="the proof file (-: standard input)")
    check.add_argument("--vkey", required=True, help="the verifier key the proofs must be signed with")
    check.set_defaults(run=_proof_verify)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
