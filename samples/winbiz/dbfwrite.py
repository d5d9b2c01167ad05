"""A small DBF writer for the Winbiz sample and test fixtures (not part of migrator).

Writes dBASE III (version byte 0x03) or Visual FoxPro (0x30, with a ``.fpt`` memo file for M
fields) tables, code page mark 0x03 (Windows-1252), with optional deleted records.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

FieldSpec = tuple[str, str, int, int]
"""name, type (C N D L M), length, decimals."""

MEMO_BLOCK = 64


def write(
    path: Path,
    fields: Sequence[FieldSpec],
    records: Iterable[Mapping[str, Any]],
    *,
    foxpro: bool = False,
    deleted: Iterable[int] = (),
    encoding: str = "cp1252",
    date: dt.date = dt.date(2024, 12, 31),
) -> None:
    """Write `records` (dicts by field name) to `path`; records whose index is in `deleted` get the
    deletion flag. M fields need `foxpro` (their text goes to the ``.fpt`` beside the table)."""
    rows = list(records)
    gone = set(deleted)
    specs = [(n, t.upper(), 4 if t.upper() == "M" else length, d) for n, t, length, d in fields]
    record_length = 1 + sum(s[2] for s in specs)
    header_length = 32 + 32 * len(specs) + 1 + (263 if foxpro else 0)
    has_memo = foxpro and any(s[1] == "M" for s in specs)
    memo = bytearray(struct.pack(">IHH", 0, 0, MEMO_BLOCK).ljust(512, b"\0")) if has_memo else None
    out = bytearray()
    out += struct.pack("<B3BIHH", 0x30 if foxpro else 0x03, date.year - 1900, date.month, date.day,
                       len(rows), header_length, record_length)  # fmt: skip
    out += bytes(17) + b"\x03" + bytes(2)
    offset = 1
    for name, kind, length, decimals in specs:
        raw_name = name.encode(encoding)[:10].ljust(11, b"\0")
        out += raw_name + kind.encode() + struct.pack("<I", offset if foxpro else 0)
        out += bytes([length & 0xFF, (length >> 8) if kind == "C" else decimals]) + bytes(14)
        offset += length
    out += b"\x0d" + (bytes(263) if foxpro else b"")
    for index, row in enumerate(rows):
        out += b"*" if index in gone else b" "
        for name, kind, length, decimals in specs:
            out += _value(row.get(name), kind, length, decimals, encoding, memo)
    out += b"\x1a"
    path.write_bytes(bytes(out))
    if memo is not None:
        struct.pack_into(">I", memo, 0, len(memo) // MEMO_BLOCK)
        path.with_suffix(".fpt").write_bytes(bytes(memo))


def _value(value: Any, kind: str, length: int, decimals: int, encoding: str, memo: bytearray | None) -> bytes:
    if kind == "C":
        raw = ("" if value is None else str(value)).encode(encoding)
        if len(raw) > length:
            raise ValueError(f"{value!r} is longer than {length} bytes")
        return raw.ljust(length, b" ")
    if kind == "N":
        if value is None or value == "":
            return b" " * length
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals)) if decimals else Decimal(value)
        return f"{number:>{length}}".encode("ascii")
    if kind == "D":
        return value.strftime("%Y%m%d").encode() if value else b" " * 8
    if kind == "L":
        return b"T" if value else b"F"
    if kind == "M":
        assert memo is not None, "memo fields need foxpro=True"
        if not value:
            return struct.pack("<I", 0)
        block = len(memo) // MEMO_BLOCK
        data = str(value).encode(encoding)
        chunk = struct.pack(">II", 1, len(data)) + data
        memo += chunk.ljust(-(-len(chunk) // MEMO_BLOCK) * MEMO_BLOCK, b"\0")
        return struct.pack("<I", block)
    raise ValueError(f"field type {kind} not supported by the sample writer")
