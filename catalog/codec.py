"""Catalog objects to and from their stored form (MessagePack maps with a ``kind``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgpack

from catalog.objects import KINDS, CatalogObject, Column, Index, IndexColumn, Table


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def encode_object(obj: CatalogObject) -> bytes:
    return msgpack.packb(_plain(obj), use_bin_type=True)


def decode_object(data: bytes) -> CatalogObject:
    fields = msgpack.unpackb(data, raw=False)
    cls = KINDS[fields.pop("kind")]
    if cls is Table:
        fields["columns"] = tuple(Column(**c) for c in fields["columns"])
    elif cls is Index:
        fields["columns"] = tuple(IndexColumn(**c) for c in fields["columns"])
    for name, value in fields.items():
        if isinstance(value, list):
            fields[name] = tuple(value)
    return cls(**fields)
