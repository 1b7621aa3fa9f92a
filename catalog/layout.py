"""The key space of a database's log: catalog objects, catalog metadata, rows, index entries, sequences."""

from __future__ import annotations

import struct

_OID = struct.Struct(">I")

CATALOG = b"C"  # C || u32 oid -> catalog object
META = b"M"  # M || name -> catalog metadata
ROW = b"R"  # R || u32 table oid || primary key -> row
INDEX = b"I"  # I || u32 index oid || index key [|| primary key] -> primary key
SEQUENCE = b"S"  # S || u32 sequence oid -> sequence state
ROLE = b"A"  # A || u32 role oid -> role (catalog/roles.py); in a server's global log, or an embedded database's own
DATABASE = b"D"  # D || name -> {"oid": n}: a server's databases, in its global log (engine/cluster.py)

NEXT_OID = META + b"next_oid"
CATALOG_VERSION = META + b"catalog"  # rewritten by every transaction that changes the catalog
ROLES_VERSION = META + b"roles"  # rewritten by every transaction that changes roles


def catalog_key(oid: int) -> bytes:
    return CATALOG + _OID.pack(oid)


def oid_of(key: bytes) -> int:
    """The oid in a catalog, row-prefix, index or sequence key."""
    return _OID.unpack_from(key, 1)[0]


def row_prefix(table_oid: int) -> bytes:
    return ROW + _OID.pack(table_oid)


def index_prefix(index_oid: int) -> bytes:
    return INDEX + _OID.pack(index_oid)


def sequence_key(sequence_oid: int) -> bytes:
    return SEQUENCE + _OID.pack(sequence_oid)
