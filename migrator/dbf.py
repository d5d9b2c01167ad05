"""dBASE III and Visual FoxPro tables (``.dbf``, memo ``.fpt``/``.dbt``) read column by column.

Why not dbfread: it parses every field of every record in Python (a million journal lines take
tens of seconds) and stops silently at a truncated file. Here the records are one NumPy array;
each field is a slice of it, decoded for the whole column at once:

* text (C, V, and N/F numbers, which are ASCII text in the file) becomes an Arrow string column,
  right-trimmed; numbers stay exact text for the caller to turn into decimals, never floats;
* D (yyyymmdd) and T (VFP datetime) become dates, L logicals booleans (``T t Y y``), I integers;
* M memos are looked up in the ``.fpt`` (FoxPro) or ``.dbt`` (dBASE) file beside the table.

Records flagged deleted (``*``) are skipped and counted. A file shorter than its header says is
read up to the last complete record and reported (`Table.truncated`). Layout facts: the dBASE
file header (version byte, record count at 4, header length at 8, record length at 10, code page
mark at 29, 32-byte field descriptors ending with 0x0D) and the FoxPro memo block layout are the
public dBASE/Visual FoxPro file structure documentation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.errors import SourceError

VERSIONS = {
    0x02: "FoxBASE", 0x03: "dBASE III", 0x04: "dBASE IV", 0x05: "dBASE V", 0x30: "Visual FoxPro",
    0x31: "Visual FoxPro (autoincrement)", 0x32: "Visual FoxPro (varchar)", 0x43: "dBASE IV SQL",
    0x83: "dBASE III with memo", 0x8B: "dBASE IV with memo", 0xCB: "dBASE IV SQL with memo",
    0xF5: "FoxPro 2 with memo", 0xFB: "FoxBASE with memo",
}  # fmt: skip
CODE_PAGES = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x57: "cp1252", 0x58: "cp1252", 0x59: "cp1252",
    0x64: "cp852", 0x65: "cp866", 0x66: "cp865", 0x67: "cp861", 0x6A: "cp737", 0x6B: "cp857",
    0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253",
}  # fmt: skip
DEFAULT_ENCODING = "cp1252"
"""Used when the code page mark is 0 (not set): Winbiz and most Swiss DBF files are Windows-1252."""
_FOXPRO = (0x30, 0x31, 0x32)
_TRUE = np.zeros(256, dtype=bool)
_TRUE[list(b"TtYy")] = True


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    offset: int
    """Position in the record, the deletion flag being byte 0."""
    length: int
    decimals: int


@dataclass
class Table:
    """The live records of a DBF file, one Arrow column per field."""

    path: Path
    version: int
    encoding: str
    fields: list[Field]
    columns: dict[str, pa.Array]
    records: np.ndarray
    """1-based record number of each row in the file (deleted records are not rows)."""
    deleted: int = 0
    truncated: int | None = None
    """Number of the first record missing from a cut-off file, else None."""
    notes: list[str] = field(default_factory=list)
    """Other things met while reading (missing memo file, unreadable memo), for the caller to report."""

    @property
    def num_rows(self) -> int:
        return len(self.records)


def read(path: Path, name: str = "", encoding: str | None = None) -> Table:
    """Read the DBF file at `path`; `name` is what messages call it. Raises `SourceError` if the
    header is not a dBASE/FoxPro header."""
    label = name or str(path)
    data = path.read_bytes()
    if len(data) < 32:
        raise SourceError(f"not a dBASE/FoxPro table: only {len(data)} bytes", label)
    version = data[0]
    if version not in VERSIONS:
        raise SourceError(f"not a dBASE/FoxPro table: unknown version byte 0x{version:02X}", label)
    count, header_length, record_length = struct.unpack_from("<IHH", data, 4)
    code_page = data[29]
    chosen = encoding or CODE_PAGES.get(code_page, DEFAULT_ENCODING)
    fields = _fields(data, header_length, record_length, chosen, label)
    if header_length > len(data):
        raise SourceError(f"the file ends inside its header ({len(data)} of {header_length} bytes)", label)
    available = (len(data) - header_length) // record_length if record_length else 0
    truncated = available + 1 if available < count else None
    kept = min(count, available)
    block = np.frombuffer(data, dtype=np.uint8, count=kept * record_length, offset=header_length)
    block = block.reshape(kept, record_length)
    flags = block[:, 0]
    live = flags != 0x2A
    table = Table(path, version, chosen, fields, {}, np.flatnonzero(live) + 1, int((~live).sum()), truncated)
    if not live.all():
        block = block[live]  # a copy: only when there are deleted records to drop
    memo = _Memo(path, version, table.notes) if any(f.type == "M" for f in fields) else None
    for fld in fields:
        if fld.type == "0":  # VFP _NullFlags system field
            continue
        table.columns[fld.name] = _column(block, fld, chosen, version, memo)
    return table


def _fields(data: bytes, header_length: int, record_length: int, encoding: str, label: str) -> list[Field]:
    fields: list[Field] = []
    position, offset = 32, 1
    while True:
        if position >= min(len(data), header_length):
            raise SourceError("not a dBASE/FoxPro table: the field list has no end marker (0x0D)", label)
        if data[position] == 0x0D:
            break
        raw = data[position : position + 32]
        if len(raw) < 32:
            raise SourceError("not a dBASE/FoxPro table: the field list is cut off", label)
        name = raw[:11].split(b"\0")[0].decode(encoding, errors="replace").strip()
        kind = chr(raw[11]).upper()
        length, decimals = raw[16], raw[17]
        if kind == "C":  # character fields longer than 255 keep the high byte in the decimals byte
            length, decimals = length | (decimals << 8), 0
        if not name or not kind.isprintable():
            raise SourceError(f"not a dBASE/FoxPro table: damaged field descriptor {len(fields) + 1}", label)
        fields.append(Field(name, kind, offset, length, decimals))
        offset += length
        position += 32
    if offset > record_length:
        raise SourceError(
            f"damaged header: the fields need {offset} bytes per record but records are {record_length} bytes", label
        )
    return fields


def _extra_bytes(encoding: str) -> np.ndarray | None:
    """How many more bytes than one each byte takes in UTF-8 under a single-byte code page (None for
    multi-byte code pages)."""
    if encoding not in _EXTRA:
        try:
            chars = [bytes([b]).decode(encoding, errors="replace") for b in range(256)]
        except LookupError:
            chars = []
        single = len(chars) == 256 and all(len(c) == 1 for c in chars)
        _EXTRA[encoding] = np.array([len(c.encode("utf-8")) - 1 for c in chars], np.uint8) if single else None
    return _EXTRA[encoding]


_EXTRA: dict[str, np.ndarray | None] = {}


def text_column(raw: np.ndarray, encoding: str) -> pa.Array:
    """Decode an (n, width) byte matrix of fixed-width text into a right-trimmed string column.

    ASCII columns are used as they are; others are decoded with one `bytes.decode` for the whole
    column, row boundaries coming from the UTF-8 length of each byte.
    """
    n, width = raw.shape
    contiguous = np.ascontiguousarray(raw)
    extra = _extra_bytes(encoding)
    if extra is None:
        values = [bytes(row).decode(encoding, errors="replace") for row in contiguous]
        return pc.utf8_rtrim(pa.array(values, pa.string()), characters=" \x00")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    if _has_high_bytes(contiguous):
        high = contiguous >= 0x80
        rows = np.flatnonzero(high.any(axis=1))
        sizes = np.full(n, width, dtype=np.int64)
        sizes[rows] += extra[contiguous[rows]].sum(axis=1, dtype=np.int64)
        offsets[1:] = np.cumsum(sizes)
        data = pa.py_buffer(contiguous.tobytes().decode(encoding, errors="replace").encode("utf-8"))
    else:
        data = pa.py_buffer(contiguous)
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), data)
    return pc.utf8_rtrim(array.cast(pa.string()), characters=" \x00")


def _has_high_bytes(matrix: np.ndarray) -> bool:
    """Whether any byte is 0x80 or above (eight bytes at a time)."""
    flat = matrix.reshape(-1)
    whole = len(flat) // 8 * 8
    return bool((flat[:whole].view(np.uint64) & np.uint64(0x8080808080808080)).any() or (flat[whole:] >= 0x80).any())


def _column(block: np.ndarray, fld: Field, encoding: str, version: int, memo: _Memo | None) -> pa.Array:
    raw = block[:, fld.offset : fld.offset + fld.length]
    kind = fld.type
    if kind == "D":
        text = text_column(raw, "ascii")
        plain = pc.match_substring_regex(text, r"^\d{8}$")
        parsed = pc.strptime(pc.if_else(plain, text, None), "%Y%m%d", "s", error_is_null=True)
        return pc.cast(parsed, pa.date32())
    if kind == "L":
        return pa.array(_TRUE[raw[:, 0]] if fld.length else np.zeros(len(raw), dtype=bool))
    if kind == "I" and fld.length == 4:
        return pa.array(np.ascontiguousarray(raw).view("<i4").ravel().astype(np.int64))
    if kind == "T" and fld.length == 8:
        days = np.ascontiguousarray(raw[:, :4]).view("<i4").ravel().astype(np.int64)
        valid = days > 0
        return pa.array(np.where(valid, days - 2440588, 0).astype(np.int32), pa.date32(), mask=~valid)
    if kind == "Y" and fld.length == 8:
        units = np.ascontiguousarray(raw).view("<i8").ravel()
        return pc.cast(pa.array(units).cast(pa.decimal128(19, 0)).cast(pa.decimal128(23, 4)), pa.string())
    if kind == "B" and fld.length == 8:
        doubles = np.ascontiguousarray(raw).view("<f8").ravel()
        return pa.array([format(float(v), ".15g") for v in doubles], pa.string())  # float-ok: VFP double field
    if kind == "M" and memo is not None:
        return memo.column(raw, encoding)
    text = text_column(raw, encoding)
    if kind in ("N", "F"):
        return pc.utf8_ltrim_whitespace(text)
    return text


class _Memo:
    """The memo file beside a table: FoxPro ``.fpt`` blocks (type, length, data) or dBASE ``.dbt``."""

    def __init__(self, path: Path, version: int, notes: list[str]) -> None:
        self.version = version
        self.notes = notes
        self.data = b""
        self.block_size = 512
        self.foxpro = False
        for suffix in (".fpt", ".FPT", ".Fpt", ".dbt", ".DBT", ".Dbt"):
            candidate = path.with_suffix(suffix)
            if candidate.is_file():
                self.data = candidate.read_bytes()
                self.foxpro = suffix.lower() == ".fpt"
                break
        else:
            notes.append(f"memo file {path.stem}.fpt (or .dbt) is missing: memo fields read as empty")
            return
        if self.foxpro and len(self.data) >= 8:
            self.block_size = struct.unpack_from(">H", self.data, 6)[0] or 512
        elif version in (0x8B, 0xCB) and len(self.data) >= 22:
            self.block_size = struct.unpack_from("<H", self.data, 20)[0] or 512

    def column(self, raw: np.ndarray, encoding: str) -> pa.Array:
        if raw.shape[1] == 4:  # Visual FoxPro: binary block number
            blocks = np.ascontiguousarray(raw).view("<u4").ravel().tolist()
        else:
            texts = text_column(raw, "ascii").to_pylist()
            blocks = [int(t) if t and t.strip().isdigit() else 0 for t in texts]
        return pa.array([self._text(b, encoding) for b in blocks], pa.string())

    def _text(self, block: int, encoding: str) -> str:
        if block <= 0 or not self.data:
            return ""
        start = block * self.block_size
        if start >= len(self.data):
            self.notes.append(f"memo block {block} is past the end of the memo file: read as empty")
            return ""
        if self.foxpro:
            length = struct.unpack_from(">I", self.data, start + 4)[0] if start + 8 <= len(self.data) else 0
            chunk = self.data[start + 8 : start + 8 + length]
        elif self.data[start : start + 4] == b"\xff\xff\x08\x00":  # dBASE IV block header
            length = struct.unpack_from("<I", self.data, start + 4)[0]
            chunk = self.data[start + 8 : start + length]
        else:
            end = self.data.find(b"\x1a", start)
            chunk = self.data[start : end if end >= 0 else len(self.data)]
        return chunk.decode(encoding, errors="replace").rstrip("\x00")
