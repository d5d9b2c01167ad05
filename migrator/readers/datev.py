"""DATEV EXTF (Germany): Buchungsstapel (category 21) and Kontenbeschriftungen (category 20).

A source is one EXTF file or a folder of them (files of other categories are listed as not read).
Each file: line 1 the EXTF header (``"EXTF";700;21;"Buchungsstapel";13;…``: version, category,
format version, WJ-Beginn in field 13, Datum von/bis in fields 15/16, currency in field 22), line 2
the column names, then ``;``-separated rows with a decimal comma. Columns are found by name, so
format version 7 (116 columns, as in the reference sample) and 13 (125 columns) both read; names
with damaged umlauts (U+FFFD) still match. Encoding: UTF-8 when the bytes are valid UTF-8, else
Windows-1252 (DATEV's own), unless ``--encoding`` says otherwise.

Each row books ``Umsatz`` from ``Konto`` to ``Gegenkonto``: two lines, ``S`` debits Konto. The
``Belegdatum`` is DDMM; its year is the one that puts it inside the header's Datum von–bis (else the
twelve months from WJ-Beginn). With a foreign ``WKZ Umsatz`` and a ``Basis-Umsatz``, the base amount
is ``Basis-Umsatz`` and ``Umsatz`` the foreign one; the canonical rate is 1 / ``Kurs``.
Each row is one booking, balanced on its own, and is read as one entry of two lines (real
exports: grouping rows by ``Belegfeld 1`` would merge unrelated bookings and lose which account was
booked against which). Rows that migrator wrote carry ``Beleginfo - Art 1`` "Buchungs-ID" with the
entry id: a row is entry ``<id>``, or ``<id>/1``, ``<id>/2``… where one entry was folded into several
rows (what the writer's ``as_kept`` gives); ``Beleginfo - Art 2`` "Eröffnungsbuchung" marks opening
rows. A row without ``Umsatz`` at the end of a batch (a totals row) is skipped with a note.
``BU-Schlüssel`` and ``Skonto`` make DATEV compute VAT or discount lines on
import; migrator cannot, so rows with them are read as written, with a warning, and every column not
placed is kept in ``extras["Buchungsstapel"]``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, FiscalYear, Ledger, Problem, conform, table
from migrator.parsing import (
    MAX_FIELD,
    ParseError,
    codec_name,
    csv_records,
    decimal_text,
    detect_encoding,
    parse_cents,
    parse_date,
    parse_decimal,
)
from migrator.readers.base import ReadOptions, accounts_from_lines, merge_accounts
from migrator.rowwise import collector_paused
from migrator.sources import Source
from migrator.writers.datev import ENTRY_MARK, OPENING_MARK

NEEDED = {
    "amount": "Umsatz (ohne Soll/Haben-Kz)", "flag": "Soll/Haben-Kennzeichen", "account": "Konto",
    "counter": "Gegenkonto (ohne BU-Schlüssel)", "date": "Belegdatum",
}  # fmt: skip
OPTIONAL = {
    "currency": "WKZ Umsatz", "kurs": "Kurs", "base": "Basis-Umsatz", "base_currency": "WKZ Basis-Umsatz",
    "doc": "Belegfeld 1", "text": "Buchungstext", "cost_centre": "KOST1 - Kostenstelle",
    "art1": "Beleginfo - Art 1", "info1": "Beleginfo - Inhalt 1", "art2": "Beleginfo - Art 2",
    "info2": "Beleginfo - Inhalt 2",
}  # fmt: skip
MARKED_USED = ("Beleginfo - Art 1", "Beleginfo - Inhalt 1")  # the entry id of a row migrator wrote
OPENING_USED = ("Beleginfo - Art 2", "Beleginfo - Inhalt 2")  # and its opening mark
COMPUTED = {"BU-Schlüssel": N_("DATEV computes VAT from it"), "Skonto": N_("DATEV books the discount from it")}


def _key(name: str) -> str:
    """A column name with umlauts, U+FFFD and case evened out, so damaged names still match."""
    return re.sub(r"[^a-z0-9/+().\- ]", "?", name.strip().lower())


def is_extf(head: bytes) -> bool:
    guess = detect_encoding(head)[0]
    if guess.startswith("utf-16"):  # not DATEV's, but what an editor may have saved it as
        head = head.decode(guess, errors="ignore").lstrip("\ufeff").encode("utf-8")
    return head.lstrip(b"\xef\xbb\xbf").startswith((b'"EXTF";', b"EXTF;"))


@dataclass
class _File:
    """One EXTF file: its header fields, column names and non-blank rows, held by columns."""

    name: str
    header: list[str]
    columns: list[str]
    rows: np.ndarray
    """The line each row ends on, as Python's csv module counts lines."""
    counts: np.ndarray
    """How many fields each row has."""
    cells: list[pa.Array | None]
    """Field i of every row (``""`` where a row has fewer fields); None where no row has a non-blank one."""

    @property
    def category(self) -> str:
        return self.header[2].strip() if len(self.header) > 2 else ""

    def field(self, number: int) -> str:
        return self.header[number - 1].strip() if len(self.header) >= number else ""

    def cell(self, index: int | None) -> pa.Array:
        """Field `index` of every row, stripped (``""`` where missing)."""
        found = self.cells[index] if index is not None and index < len(self.cells) else None
        return columns.strip(found) if found is not None else pa.array([""] * len(self.rows), pa.string())

    def values(self, positions: np.ndarray) -> list[list[str]]:
        """The fields of the rows at `positions`, as Python's csv module gives them."""
        taken = pa.array(positions.astype(np.int64))
        cells = [c.take(taken).to_pylist() if c is not None else None for c in self.cells]
        blank = [""] * len(positions)
        by_column = [c if c is not None else blank for c in cells]
        return [[column[k] for column in by_column[: int(self.counts[at])]] for k, at in enumerate(positions.tolist())]


@dataclass
class _Book:
    lines: list[pa.Table] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)
    years: set[FiscalYear] = field(default_factory=set)
    currency: str = ""
    problems: list[Problem] = field(default_factory=list)
    computed: dict[str, int] = field(default_factory=dict)


class DatevReader:
    name = "datev"
    extensions = (".csv",)

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            found = [p for p in source.path.iterdir() if p.is_file() and is_extf(_head(p))]
            return 0.9 if found else 0.0
        return 0.95 if is_extf(source.head(64)) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        with collector_paused():
            return self._read(source, options)

    def _read(self, source: Source, options: ReadOptions) -> Ledger:
        if not source.is_dir and source.path.stat().st_size == 0:
            raise SourceError(N_('the file is empty; expected a DATEV EXTF file (first line starting with "EXTF")'),
                              source.name)  # fmt: skip
        paths = sorted(p for p in source.path.iterdir() if p.is_file()) if source.is_dir else [source.path]
        book = _Book()
        encodings = set()
        for path in paths:
            child = source.child(path) if source.is_dir else source
            if not is_extf(_head(path)):
                if source.is_dir and not path.name.startswith(".") and path.name != "README.txt":  # the import guide
                    book.problems.append(Problem("info", N_("not a DATEV EXTF file; not read"), child.name))
                continue
            parsed, encoding = _parse(path, child.name, options.encoding, book)
            encodings.add(encoding)
            if parsed.category == "21":
                _bookings(parsed, book)
            elif parsed.category == "20":
                _labels(parsed, book)
            else:
                book.problems.append(
                    Problem(
                        "info",
                        N_(
                            "EXTF category {category} ({field}) is not read by migrator (only 21 Buchungsstapel and 20 Kontenbeschriftungen)"
                        ).format(category=parsed.category, field=parsed.field(4)),
                        child.name,
                    )
                )
        if not encodings:
            raise SourceError(N_('no DATEV EXTF file (first line starting with "EXTF") found'), source.name)
        lines = _numbered(book.lines)
        if book.accounts:
            accounts = table("accounts", ({"code": c, "name": n, "active": True} for c, n in book.accounts.items()))
            accounts, notes = merge_accounts(accounts, lines, source.name)
        else:
            accounts, notes = accounts_from_lines(lines, source.name)
        extras = {"Buchungsstapel": _extras_table(book.extras)} if book.extras else {}
        for column, count in sorted(book.computed.items()):
            book.problems.append(
                Problem(
                    "warning",
                    N_(
                        "{count} rows have a {column} ({computed} on import); migrator reads the rows as written and does not compute those lines"
                    ).format(count=count, column=column, computed=COMPUTED[column]),
                    source.name,
                )
            )
        company = Company(
            base_currency=book.currency or "EUR",
            fiscal_years=_years(book.years),
            source_system="DATEV EXTF",
        )
        return Ledger(
            company=company,
            accounts=accounts,
            lines=lines,
            problems=tuple(book.problems + notes),
            extras=extras,
            format=self.name,
            encoding=codec_name(encodings.pop() if len(encodings) == 1 else "cp1252"),
        )


def _numbered(parts: list[pa.Table]) -> pa.Table:
    """The lines of every batch, each numbered by its place among its entry's lines (from 1)."""
    if not parts:
        return table("lines")
    lines = pa.concat_tables(parts).combine_chunks()
    entry = lines.column("entry").combine_chunks()
    codes = pc.dictionary_encode(entry).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
    run = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    number = np.empty(len(order), dtype=np.int32)
    number[order] = np.arange(len(order)) - run + 1
    return conform("lines", lines.append_column("line", pa.array(number, pa.int32())))


def _extras_table(rows: list[dict[str, Any]]) -> pa.Table:
    """One text column per source column any row has (empty where a row has none)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {n: [row.get(n, "") for row in rows] for n in names if n != "source_row"}
    return pa.table({"source_row": pa.array([row["source_row"] for row in rows], pa.int64()), **columns})


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(64)


def _parse(path: Path, name: str, encoding: str | None, book: _Book) -> tuple[_File, str]:
    data = path.read_bytes()
    utf8 = _as_utf8(data) if encoding is None else None
    if utf8 is not None:  # the text as UTF-8 bytes, without a Python string of it
        text_bytes, encoding = utf8
        del data
        parsed = _arrow_bytes(text_bytes, name)
        if parsed is not None:
            _damaged(text_bytes.count("\ufffd".encode()) if encoding == "utf-8" else 0, name, book)
            return parsed, encoding
        text = text_bytes.decode("utf-8")
        del text_bytes
    else:
        text, encoding = _decode(data, name, encoding)
        del data
    _damaged(text.count("\ufffd"), name, book)
    return _arrow_file(text, name) or _python_file(text, name), encoding


def _damaged(count: int, name: str, book: _Book) -> None:
    if count:
        book.problems.append(
            Problem(
                "warning",
                N_("{count} characters were already damaged (U+FFFD) in the file; texts are read as they are").format(
                    count=count
                ),
                name,
            )
        )


def _as_utf8(data: bytes) -> tuple[bytes, str] | None:
    """The file's text as UTF-8 bytes and its encoding, as `_decode` without ``--encoding`` reads it:
    UTF-8 as it stands, Windows-1252 converted where every byte is ASCII or Latin-1 (0xA0–0xFF, where
    Windows-1252 is Latin-1); None for any other file (UTF-16, 0x80–0x9F)."""
    if detect_encoding(data[: 1 << 16])[0].startswith("utf-16"):
        return None
    try:
        str(data, "utf-8")  # the check `_decode` makes (the string is let go at once)
        return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data), "utf-8"
    except UnicodeDecodeError:
        pass
    if data.translate(None, _NOT_C1):  # a byte 0x80–0x9F: Windows-1252 differs from Latin-1 there
        return None
    return data.decode("cp1252").encode("utf-8"), "cp1252"


_NOT_C1 = bytes(range(0x80)) + bytes(range(0xA0, 0x100))


def _arrow_bytes(whole: bytes, name: str) -> _File | None:
    """`_File` of UTF-8 text whose rows are plain lines (`_PLAIN_LINE`) of exactly the width of the
    column names (nearly every file), split by Arrow straight from the bytes; None for another file."""
    if b"\x00" in whole or whole.count(b"\r") != whole.count(b"\r\n"):  # NULs or lone CRs: Python's csv module
        return None
    first = whole.find(b"\n")
    second = whole.find(b"\n", first + 1) if first >= 0 else -1
    if second < 0:
        return None
    header_line = whole[:first].decode("utf-8").removesuffix("\r")
    names_line = whole[first + 1 : second].decode("utf-8").removesuffix("\r")
    if not all(re.fullmatch(_PLAIN_LINE, line) for line in (header_line, names_line)):
        return None
    header, names = _fields(header_line), _fields(names_line)
    width = len(names)
    if not names:
        return None
    body = pa.py_buffer(whole).slice(second + 1)
    lines = whole.count(b"\n", second + 1) + (0 if whole.endswith(b"\n") or len(whole) == second + 1 else 1)
    ended = whole.count(b"\n", second + 1)
    if ended:  # every line that ends in a line break plain (Arrow's parser checks the width)
        column = pa.Array.from_buffers(
            pa.large_string(), 1, [None, pa.py_buffer(np.array([0, body.size], dtype=np.int64)), body]
        )
        if pc.count_substring_regex(column, "(?m)^" + _PLAIN_PART + "\\r?\\n")[0].as_py() != ended:
            return None
    if lines > ended and not re.fullmatch(_PLAIN_LINE, whole[whole.rfind(b"\n") + 1 :].decode("utf-8")):
        return None
    # a block of MAX_FIELD bytes: Arrow refuses a longer line (csv reads it, or refuses a field that long)
    cells = _arrow_cells(body, lines, min(body.size, MAX_FIELD // 2 - 2), width)
    if cells is None:
        return None
    blank = np.ones(lines, dtype=bool)
    for cell in cells:
        if cell is not None:
            blank &= _is(pc.equal(columns.strip(cell), ""))
    keep = pa.array(~blank)
    cells = [c.filter(keep) if c is not None else None for c in cells]
    rows = np.flatnonzero(~blank)
    return _File(name, header, names, rows + 3, np.full(len(rows), width, dtype=np.int64), cells)


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    guess = detect_encoding(data[: 1 << 16])[0]
    if encoding is None and guess.startswith("utf-16"):
        try:
            return data.decode(guess).lstrip("\ufeff"), guess
        except UnicodeDecodeError as exc:
            raise SourceError(
                N_("looks like {guess} but is not valid {guess}: {exc}").format(guess=guess, exc=exc), name
            ) from None
    if encoding is None:
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace"), "cp1252"
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(
            N_("cannot be decoded as {encoding}: {exc}").format(encoding=encoding, exc=exc), name
        ) from None


def _python_file(text: str, name: str) -> _File:
    """`_File` by Python's csv module: any file (quoted line breaks, stray quotes, lone CRs)."""
    try:
        records = csv_records(text, ";", name)
        header = next(records, (1, []))[1]
        names = next(records, (2, []))[1]
        if not names:
            raise SourceError(N_("the second line (column names) is missing"), name, 2)
        rows = [(line, values) for line, values in records if "".join(values).strip()]
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    cells: list[pa.Array | None] = []
    for column in zip_longest(*(values for _, values in rows), fillvalue=""):
        array = pa.array(column, pa.string())
        cells.append(array if _has_text(array) else None)
    return _File(
        name,
        header,
        names,
        np.array([line for line, _ in rows], dtype=np.int64),
        np.array([len(values) for _, values in rows], dtype=np.int64),
        cells,
    )


# A field Python's csv module and Arrow's CSV parser read alike: bare text without quotes, or text
# wholly in quotes (a quote doubled inside); a line of such fields has no quoted line break.
_FIELD = r'(?:[^";]*|"(?:[^"]|"")*")'
_PLAIN_LINE = "^" + _FIELD + "(?:;" + _FIELD + ")*$"
_LINE_FIELD = r'(?:[^";\r\n]*|"(?:[^"\r\n]|"")*")'
_PLAIN_PART = _LINE_FIELD + "(?:;" + _LINE_FIELD + ")*"
_SIMPLE_FIELD = r'(?:[^";]*|"(?:[^";]|"")*")'
_SIMPLE_LINE = "^" + _SIMPLE_FIELD + "(?:;" + _SIMPLE_FIELD + ")*$"


def _arrow_file(text: str, name: str) -> _File | None:
    """`_File` of a file whose every line is plain (`_PLAIN_LINE`), split by Arrow; None for another file."""
    if "\x00" in text or text.count("\r") != text.count("\r\n"):  # NULs or lone CRs: Python's csv module alone
        return None
    lines = columns.physical_lines(text)
    if len(lines) and lines[len(lines) - 1].as_py() == "":
        lines = lines.slice(0, len(lines) - 1)  # the line break that ends the last line
    lines = pc.utf8_rtrim(lines, "\r")
    if len(lines) < 2 or pc.max(pc.utf8_length(lines)).as_py() > MAX_FIELD:
        return None
    # lines whose quoted text holds no ";" (nearly all) in one pass: their fields are the ";" plus one
    simple = _is(pc.match_substring_regex(lines, _SIMPLE_LINE))
    others = np.flatnonzero(~simple)
    if len(others) and not pc.all(pc.match_substring_regex(lines.take(pa.array(others)), _PLAIN_LINE)).as_py():
        return None
    header, names = _fields(lines[0].as_py()), _fields(lines[1].as_py())
    if not names:
        return None
    data = lines.slice(2)
    del lines
    counts = np.array(pc.add(pc.count_substring(data, ";"), 1).to_numpy(zero_copy_only=False), dtype=np.int64)
    for at in others[others >= 2].tolist():
        counts[at - 2] = len(_fields(data[at - 2].as_py()))
    counts[_is(pc.equal(data, ""))] = 0  # csv gives no field for an empty line
    width = len(names)
    full = counts == width
    if not len(data):
        cells: list[pa.Array | None] | None = [None] * width
    elif full.all():  # every line of the row width: the text after the column names as it stands
        raw = text.encode("utf-8")
        skip = raw.index(b"\n", raw.index(b"\n") + 1) + 1
        longest = int(pc.max(pc.binary_length(data)).as_py()) + 2
        cells = _arrow_cells(pa.py_buffer(raw).slice(skip), len(data), longest, width)
        del raw
    else:
        ended = pc.binary_join_element_wise(data.filter(pa.array(full)), "", "\n")
        cells = _arrow_cells(_text_buffer(ended), len(ended), int(pc.max(pc.binary_length(ended)).as_py() or 0), width)
    if cells is None:
        return None
    odd = np.flatnonzero(~full)
    if len(odd):  # rows of another width, one by one (csv's fields of a plain line are Arrow's)
        odd_values = [_fields(data[i].as_py()) for i in odd.tolist()]
        cells = _merged(cells, full, odd, odd_values)
    blank = np.ones(len(data), dtype=bool)
    for cell in cells:
        if cell is not None:
            blank &= np.asarray(pc.equal(columns.strip(cell), "").to_numpy(zero_copy_only=False), dtype=bool)
    keep = pa.array(~blank)
    cells = [c.filter(keep) if c is not None else None for c in cells]
    return _File(name, header, names, np.flatnonzero(~blank) + 3, counts[~blank], cells)


def _text_buffer(lines: pa.Array) -> pa.Buffer:
    """The bytes of a string array's values, end to end."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _merged(
    cells: list[pa.Array | None], full: np.ndarray, odd: np.ndarray, values: list[list[str]]
) -> list[pa.Array | None]:
    """The columns of the full rows with the rows of other widths put back in their places."""
    size = len(full)
    out: list[pa.Array | None] = []
    order = np.empty(size, dtype=np.int64)
    order[np.flatnonzero(full)] = np.arange(int(full.sum()))
    order[odd] = int(full.sum()) + np.arange(len(odd))
    where = pa.array(order)
    widest = max([len(cells), *(len(v) for v in values)])
    for index in range(widest):
        extra = pa.array([v[index] if index < len(v) else "" for v in values], pa.string())
        base = cells[index] if index < len(cells) else None
        if base is None and not _has_text(extra):
            out.append(None)
            continue
        if base is None:
            base = pa.array([""] * int(full.sum()), pa.string())
        out.append(pa.concat_arrays([base, extra]).take(where))
    return out


def _has_text(cell: pa.Array) -> bool:
    """Whether any value of a column has more than white space."""
    if not len(cell) or pc.max(pc.binary_length(cell)).as_py() == 0:
        return False
    return not pc.all(pc.equal(columns.strip(cell), "")).as_py()


def _arrow_cells(body: pa.Buffer, rows: int, longest: int, width: int) -> list[pa.Array | None] | None:
    """The `width` fields of each of the `rows` plain lines of `body` (UTF-8), by Arrow's CSV parser, a
    block at a time; a column no line has text in is None (most of a booking row's 125 are empty)."""
    if not rows:
        return [None] * width
    names = [f"f{i}" for i in range(width)]
    chunks: list[list[pa.Array | None]] = [[] for _ in range(width)]
    sizes = []
    try:
        reader = pcsv.open_csv(
            pa.BufferReader(body),
            # a block holds whole rows: at least the longest line (a field may be up to MAX_FIELD)
            read_options=pcsv.ReadOptions(column_names=names, block_size=max(1 << 22, 2 * (longest + 1)), use_threads=True),
            parse_options=pcsv.ParseOptions(delimiter=";", quote_char='"', double_quote=True, escape_char=False,
                                            newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                                                quoted_strings_can_be_null=False),
        )  # fmt: skip
        for batch in reader:
            sizes.append(batch.num_rows)
            for index in range(width):
                cell = columns.texts(batch.column(index))
                chunks[index].append(cell if _has_text(cell) else None)
    except pa.ArrowInvalid:  # a line of another width: leave the file to Python's csv module
        return None
    if sum(sizes) != rows:  # not expected: Arrow reads each plain line as one row
        return None
    out: list[pa.Array | None] = []
    for parts in chunks:
        if all(p is None for p in parts):
            out.append(None)
            continue
        out.append(
            pa.concat_arrays(
                [p if p is not None else pa.array([""] * n, pa.string()) for p, n in zip(parts, sizes, strict=True)]
            )
        )
    return out


def _fields(line: str) -> list[str]:
    """The fields of one line by Python's csv module (fields up to `MAX_FIELD`, as `csv_records`)."""
    previous = csv.field_size_limit(MAX_FIELD)
    try:
        return next(csv.reader([line], delimiter=";"), [])
    finally:
        csv.field_size_limit(previous)


def _labels(parsed: _File, book: _Book) -> None:
    keys = {_key(c): i for i, c in enumerate(parsed.columns)}
    code, short, long = (
        keys.get("konto"),
        keys.get(_key("Kontenbeschriftung")),
        keys.get(_key("Kontenbeschriftung lang")),
    )
    if code is None or short is None:
        book.problems.append(
            Problem(
                "error", N_("Kontenbeschriftungen without the columns Konto and Kontenbeschriftung"), parsed.name, 2
            )
        )
        return
    codes, shorts = parsed.cell(code).to_pylist(), parsed.cell(short).to_pylist()
    longs = parsed.cell(long).to_pylist()
    for row, account, name, fallback in zip(parsed.rows.tolist(), codes, longs, shorts, strict=True):
        if not account:
            book.problems.append(Problem("error", N_("account label without an account number"), parsed.name, row))
            continue
        book.accounts[account] = name or fallback


def _period(parsed: _File) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    dates = []
    for number in (13, 15, 16):
        try:
            dates.append(parse_date(parsed.field(number), "ymd"))
        except ParseError:
            dates.append(None)
    return dates[0], dates[1], dates[2]


def _bookings(parsed: _File, book: _Book) -> None:
    keys = {_key(c): i for i, c in enumerate(parsed.columns)}
    where = {k: keys.get(_key(name)) for k, name in {**NEEDED, **OPTIONAL}.items()}
    missing = [NEEDED[k] for k in NEEDED if where[k] is None]
    if missing:
        book.problems.append(
            Problem(
                "error",
                N_("Buchungsstapel without the columns {missing}; not read").format(missing=", ".join(missing)),
                parsed.name,
                2,
            )
        )
        return
    start, first, last = _period(parsed)
    if start:
        book.years.add(FiscalYear(start, start))
    if first is None or last is None:
        first = start
        last = _add_year(start) - dt.timedelta(days=1) if start else None
    book.currency = book.currency or parsed.field(22).strip('"')
    base = parsed.field(22).strip('"')
    value = {k: parsed.cell(i) for k, i in where.items()}
    size = len(parsed.rows)
    # A trailing row without Umsatz (a totals or closing row some programs add) is no booking.
    empty_amount = _is(pc.equal(value["amount"], ""))
    while size and empty_amount[size - 1]:
        size -= 1
        book.problems.append(
            Problem(
                "info", N_("a row without Umsatz at the end of the batch; skipped"), parsed.name, int(parsed.rows[size])
            )
        )
    if size < len(parsed.rows):
        value = {k: v.slice(0, size) for k, v in value.items()}
    rows = parsed.rows[:size]
    marked = _is(pc.equal(value["art1"], ENTRY_MARK)) & ~_is(pc.equal(value["info1"], ""))
    opening = marked & _is(pc.equal(value["art2"], OPENING_MARK))
    booked = _booked(value, first, last, base)
    errors = booked.errors
    good = np.ones(size, dtype=bool)
    good[list(errors)] = False
    for at in sorted(errors):
        book.problems.append(Problem("error", errors[at], parsed.name, int(rows[at])))
    entry = _entries(value["info1"], marked, good, rows, Path(parsed.name).stem)
    book.lines.append(_lines(value, booked, entry, opening, good, parsed.name, rows))
    _unplaced(parsed, where, marked, opening, good, size, book)


def _is(mask: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class _Booked:
    """Amounts, signs, dates and currencies of a batch's rows, and the error of each row that has one."""

    cents: np.ndarray
    sign: np.ndarray
    days: pa.Array
    currency: pa.Array
    rate: pa.Array
    foreign: pa.Array
    errors: dict[int, str]


def _booked(value: dict[str, pa.Array], first: dt.date | None, last: dt.date | None, base: str) -> _Booked:
    """What `_row_lines` reads from each row, column by column (the checks in its order: the first
    error of a row is its message)."""
    size = len(value["amount"])
    errors: dict[int, str] = {}
    fast, undecided = columns.cents(value["amount"], ",")
    amount, refused = columns.complete(fast, undecided, value["amount"], lambda text: parse_cents(text, ","))
    for at, exc in refused.items():
        errors.setdefault(at, str(exc))
    for at in np.flatnonzero(_is(pc.is_null(amount))).tolist():
        errors.setdefault(at, N_("Umsatz is empty"))
    flags, index = _distinct(value["flag"])
    sign_of = np.array([1 if f.upper() == "S" else -1 if f.upper() == "H" else 0 for f in flags], dtype=np.int64)
    sign = sign_of[index] if size else np.zeros(0, dtype=np.int64)
    for at in np.flatnonzero(sign == 0).tolist():
        errors.setdefault(
            at, N_("Soll/Haben-Kennzeichen {flag!r} is neither S nor H").format(flag=flags[int(index[at])])
        )
    no_account = _is(pc.equal(value["account"], "")) | _is(pc.equal(value["counter"], ""))
    for at in np.flatnonzero(no_account).tolist():
        errors.setdefault(at, N_("Konto or Gegenkonto is empty"))
    texts_, index = _distinct(value["date"])
    days: list[dt.date | None] = []
    day_errors: dict[int, str] = {}
    for k, text in enumerate(texts_):
        try:
            days.append(_belegdatum(text, first, last))
        except ParseError as exc:
            days.append(None)
            day_errors[k] = str(exc)
    if day_errors:
        for at in np.flatnonzero(np.isin(index, list(day_errors))).tolist():
            errors.setdefault(at, day_errors[int(index[at])])
    day = pa.array(days, pa.date32()).take(pa.array(index)) if size else pa.array([], pa.date32())
    cents = np.array(pc.fill_null(amount, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    # a foreign amount: Basis-Umsatz is the base amount, Umsatz the foreign one (rare: row by row)
    other = ~_is(pc.equal(value["currency"], "")) & ~_is(pc.equal(value["currency"], base))
    other &= ~_is(pc.equal(value["base"], ""))
    currency = [""] * size
    rate = [""] * size
    foreign: list[int | None] = [None] * size
    for at in np.flatnonzero(other).tolist():
        if at in errors:
            continue
        try:
            base_cents = parse_cents(value["base"][at].as_py(), ",") or 0
        except ParseError as exc:
            errors[at] = str(exc)
            continue
        currency[at], foreign[at] = value["currency"][at].as_py(), int(cents[at])
        rate[at] = _rate(value["kurs"][at].as_py(), base_cents, int(cents[at]))
        cents[at] = base_cents
    return _Booked(
        cents, sign, day, pa.array(currency, pa.string()), pa.array(rate, pa.string()),
        pa.array(foreign, pa.int64()), errors,
    )  # fmt: skip


def _distinct(values: pa.Array) -> tuple[list[str], np.ndarray]:
    encoded = pc.dictionary_encode(values)
    return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _entries(info: pa.Array, marked: np.ndarray, good: np.ndarray, rows: np.ndarray, stem: str) -> pa.Array:
    """Each row's entry id: a migrator-written row its Buchungs-ID (``/1``, ``/2``… where the id has
    several rows), another row ``<file stem>#<line>``."""
    ids, index = _distinct(info)
    per_id = np.bincount(index[marked], minlength=len(ids)) if len(ids) else np.zeros(0, dtype=np.int64)
    out = np.empty(len(rows), dtype=object)
    plain = np.flatnonzero(~marked)
    out[plain] = [f"{stem}#{row}" for row in rows[plain].tolist()]
    counted = np.flatnonzero(marked & good)
    if len(counted):
        codes = index[counted]
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        run = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        ordinal = np.empty(len(order), dtype=np.int64)
        ordinal[order] = np.arange(len(order)) - run + 1
        id_of = np.array(ids, dtype=object)[codes]
        several = per_id[codes] > 1
        out[counted] = np.where(
            several, [f"{i}/{n}" for i, n in zip(id_of.tolist(), ordinal.tolist(), strict=True)], id_of
        )
    return pa.array(out.tolist(), pa.string())


def _lines(
    value: dict[str, pa.Array],
    booked: _Booked,
    entry: pa.Array,
    opening: np.ndarray,
    good: np.ndarray,
    file: str,
    rows: np.ndarray,
) -> pa.Table:
    """Two lines per good row, Konto's first (as `_row_lines` made them)."""
    keep = np.flatnonzero(good)
    count = len(keep)
    twice = pa.array(np.repeat(keep, 2))
    sign = booked.sign[keep]
    amount = np.stack([sign * booked.cents[keep], -sign * booked.cents[keep]], axis=1).ravel()
    foreign = pc.fill_null(booked.foreign, 0).to_numpy(zero_copy_only=False)[keep]
    foreign_two = np.stack([sign * foreign, -sign * foreign], axis=1).ravel()
    no_foreign = np.repeat(_is(pc.is_null(booked.foreign))[keep], 2)
    konto = np.tile(np.array([True, False]), count)
    account = pc.if_else(pa.array(konto), value["account"].take(twice), value["counter"].take(twice))
    centre = pc.if_else(pa.array(konto), value["cost_centre"].take(twice), "")
    return pa.table(
        {
            "date": booked.days.take(twice),
            "doc": value["doc"].take(twice),
            "description": value["text"].take(twice),
            "currency": booked.currency.take(twice),
            "rate": booked.rate.take(twice),
            "vat_code": pa.array([""] * (2 * count), pa.string()),
            "journal": pa.array([""] * (2 * count), pa.string()),
            "account": account,
            "amount": pa.array(amount, pa.int64()),
            "cost_centre": centre,
            "amount_currency": pa.array(foreign_two, pa.int64(), mask=no_foreign),
            "entry": entry.take(twice),
            "opening": pa.array(np.repeat(opening[keep], 2)),
            "source_file": pa.array([file] * (2 * count), pa.string()),
            "source_row": pa.array(np.repeat(rows[keep], 2), pa.int64()),
        }
    )


def _unplaced(
    parsed: _File, where: dict[str, int | None], marked: np.ndarray, opening: np.ndarray, good: np.ndarray,
    size: int, book: _Book,
) -> None:  # fmt: skip
    """Every column a good row has text in that no line carries, in ``extras["Buchungsstapel"]``."""
    marks = ("art1", "info1", "art2", "info2")
    placed = {i for k, i in where.items() if i is not None and k not in marks}
    used_mark = {_key(u) for u in MARKED_USED}
    used_opening = {_key(u) for u in OPENING_USED}
    left = np.zeros(size, dtype=bool)
    for index, cell in enumerate(parsed.cells):
        if cell is None or index in placed:
            continue
        has = ~_is(pc.equal(columns.strip(cell.slice(0, size)), ""))
        name = _key(parsed.columns[index]) if index < len(parsed.columns) else ""
        if name in used_mark:
            has &= ~marked
        elif name in used_opening:
            has &= ~opening
        left |= has
    positions = np.flatnonzero(left & good)
    for at, values in zip(positions.tolist(), parsed.values(positions), strict=True):
        unplaced = {
            parsed.columns[i] if i < len(parsed.columns) else f"column {i + 1}": v
            for i, v in enumerate(values)
            if i not in placed and v.strip()
        }
        if marked[at]:
            used = {*MARKED_USED, *(OPENING_USED if opening[at] else ())}
            unplaced = {k: v for k, v in unplaced.items() if _key(k) not in {_key(u) for u in used}}
        for column in COMPUTED:
            if any(_key(k) == _key(column) for k in unplaced):
                book.computed[column] = book.computed.get(column, 0) + 1
        if unplaced:
            book.extras.append({**unplaced, "source_file": parsed.name, "source_row": int(parsed.rows[at])})


def _rate(kurs: str, base: int, foreign: int) -> str:
    """Canonical rate (base per foreign unit): 1 / Kurs, else the amounts' ratio; six decimals."""
    try:
        divisor = parse_decimal(kurs, "," if "," in kurs else ".") if kurs else None
        value = Decimal(1) / divisor if divisor is not None else Decimal(base) / Decimal(foreign)
        return decimal_text(value.quantize(Decimal("0.000001")))
    except (ParseError, ArithmeticError):  # not a number, zero, more digits than a Decimal holds
        return ""


def _belegdatum(text: str, first: dt.date | None, last: dt.date | None) -> dt.date:
    digits = text.strip().strip('"')
    if len(digits) in (3, 4) and digits.isdigit():
        digits = digits.zfill(4)
        if first is None or last is None:
            raise ParseError(N_("Belegdatum {text!r} has no year and the header gives no period").format(text=text))
        # the first year that has this day, as over the whole period (a 29 February recurs within 8 years)
        for year in range(first.year, min(last.year, first.year + 8) + 1):
            try:
                day = dt.date(year, int(digits[2:]), int(digits[:2]))
            except ValueError:
                continue
            if first <= day <= last:
                return day
        raise ParseError(
            N_("Belegdatum {text!r} (DDMM) is not within the batch period {first} to {last}").format(
                text=text, first=first, last=last
            )
        )
    if len(digits) == 8 and digits.isdigit():
        try:
            return dt.date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        except ValueError:
            pass
    raise ParseError(N_("Belegdatum {text!r} is not a date (expected DDMM)").format(text=text))


def _add_year(day: dt.date) -> dt.date:
    if day.year == dt.MAXYEAR:
        return dt.date.max
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _years(starts: set[FiscalYear]) -> tuple[FiscalYear, ...]:
    """Fiscal years from the WJ-Beginn of the batches: twelve months, or up to the next one's start."""
    begins = sorted({y.start for y in starts})
    out = []
    for i, begin in enumerate(begins):
        end = _add_year(begin) - dt.timedelta(days=1)
        if i + 1 < len(begins):
            end = min(end, begins[i + 1] - dt.timedelta(days=1))
        out.append(FiscalYear(begin, end))
    return tuple(out)


FORMAT = DatevReader
