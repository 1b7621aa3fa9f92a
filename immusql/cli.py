"""The immusql command line: serve, verify, reindex, keys."""

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
    from engine.cluster import bootstrap_superuser

    password = bootstrap_superuser(args.data_dir, os.environ.get("IMMUSQL_USER", "immusql"), os.environ.get("IMMUSQL_PASSWORD"))
    if password is not None:
        print(f"immusql: created superuser {os.environ.get('IMMUSQL_USER', 'immusql')!r}; its generated password is "
              f"{password} (also in {os.path.join(args.data_dir, 'initial-password')}, mode 0600)", file=sys.stderr)

    def ready(server: object) -> None:
        print(f"immusql: listening on {args.host}:{server.port}, data in {os.path.abspath(args.data_dir)}", file=sys.stderr, flush=True)

    run(config, ready)
    return 0


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

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
