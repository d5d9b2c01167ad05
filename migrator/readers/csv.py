"""Canonical postings CSV: one row per account line.

Header ``entry,line,date,doc,description,account,amount,currency`` then any further canonical
columns (``account_name, amount_currency, rate, vat_code, vat_amount, partner, cost_centre,
journal, opening, vat_rate, vat_line``). ``amount`` is in base currency, debit positive; ``currency`` names the
currency of ``amount_currency`` (the base currency, or empty, on base-currency lines).
Reading also accepts ``;`` and tab separators, any encoding, Swiss amount and date layouts, and
unknown columns (kept as extras). Without ``entry``, lines with the same date and doc form one entry.

Arrow's CSV engine parses the file in blocks, and each block's columns are converted whole while it
parses the next; only values that are not already plain (``-1234.50``, ``2024-01-31``) go through the
slower general parsers, a column at a time at the end.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migrator import money
from migrator.ahead import ahead
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import SCHEMAS, Company, Ledger, Problem, conform
from migrator.model import table as table_of
from migrator.parsing import cents_of, codec_name, dates_of, detect_encoding, head_text, strict_dates
from migrator.readers.base import ReadOptions, accounts_from_codes, accounts_from_lines
from migrator.sources import Source
from migrator.writers.csv import JOURNAL_FILE, TABLE_FILES

REQUIRED = ("date", "account", "amount")
KNOWN = (
    "entry", "line", "date", "doc", "description", "account", "amount", "currency", "account_name",
    "amount_currency", "rate", "vat_code", "vat_rate", "vat_amount", "vat_line", "partner", "cost_centre",
    "journal", "opening",
)  # fmt: skip
_TEXT = ("entry", "doc", "description", "account", "currency", "rate", "vat_code", "partner",
         "cost_centre", "journal")  # fmt: skip
_VERIFIED = ("entry", "date", "account", "amount", "currency", "amount_currency", "vat_code", "vat_amount", "vat_line",
             "opening")  # fmt: skip
"""The columns verification compares (counts, balances, VAT totals) and the report shows (years, months), and
the foreign amounts that tell base lines from foreign ones (the base currency is that of the base lines)."""
_PLAIN_AMOUNT = r"^-?\d{1,16}(\.\d{1,2})?$"
_PLAIN_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TRUE = {"true", "1", "yes", "y", "x", "oui", "ja", "wahr"}
_FALSE = {"false", "0", "no", "n", "", "non", "nein", "falsch"}
BLOCK = 1 << 22
"""Bytes of text Arrow parses at a time: a few MB keeps each block's conversion in the CPU caches."""


def sniff_header(head: bytes) -> tuple[str, list[str]] | None:
    """Separator and column names of the first line, if it looks like a canonical header."""
    text = head_text(head)
    first = text.splitlines()[0] if text else ""
    separator = max((",", ";", "\t"), key=first.count)
    names = [n.strip().strip('"').strip().lower() for n in first.split(separator)]
    return (separator, names) if all(r in names for r in REQUIRED) else None


class CsvReader:
    name = "csv"
    extensions = (".csv", ".tsv", ".txt")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = sniff_header(source.head())
        if head is None:
            return 0.0
        names = head[1]
        return 0.95 if ("entry" in names or "doc" in names) and "line" in names else 0.7

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        parsed = _from_disk(source, options)
        try:
            lines = _converted(parsed, source) if parsed else None
        except _NotUtf8:
            lines = None
        if parsed is None or lines is None:
            parsed = _decoded(source, options)
            lines = _converted(parsed, source)
        return _ledger(lines, parsed, source, renumber=not options.for_verification or "entry" not in parsed.names)


@dataclass
class _Parsed:
    """What to hand Arrow (a path read from disk in blocks, or UTF-8 bytes) and how to parse it."""

    data: bytes | str
    separator: str
    names: list[str]
    encoding: str
    wanted: tuple[str, ...] | None


def _from_disk(source: Source, options: ReadOptions) -> _Parsed | None:
    """The fast path: a UTF-8 file (what migrator writes) that Arrow parses straight from disk,
    without its bytes in Python; None when the file is not plain UTF-8."""
    head = source.head(1 << 16)
    if options.encoding and codec_name(options.encoding) != "utf-8":
        return None
    if not head.strip() or head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None
    if detect_encoding(head)[0] != "utf-8":
        return None
    header = sniff_header(head)
    if header is None:
        return None
    separator, names = header
    return _Parsed(str(source.path), separator, names, "utf-8", _wanted(names, options))


def _wanted(names: list[str], options: ReadOptions) -> tuple[str, ...] | None:
    return _VERIFIED if options.for_verification and "entry" in names else None


class _NotUtf8(Exception):
    """Arrow met bytes that are not UTF-8 in a file read from disk: read it the slow way."""


def _decoded(source: Source, options: ReadOptions) -> _Parsed:
    """The general path: any encoding, decoded in memory and handed to Arrow as UTF-8."""
    data = source.read_bytes()
    if not data[: 1 << 16].strip() and not data.strip():
        raise SourceError(N_("the file is empty; expected a header line with date, account, amount"), source.name)
    encoding = options.encoding or detect_encoding(data)[0]
    if codec_name(encoding) not in ("utf-8",):
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(
                N_("not valid {encoding} at byte {start}; use --encoding").format(encoding=encoding, start=exc.start),
                source.name,
            ) from None
        except LookupError:
            raise SourceError(N_("unknown encoding {encoding!r}").format(encoding=encoding), source.name) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header = sniff_header(data[:65536])
    if header is None:
        raise SourceError(
            N_("the first line is not a canonical header: it needs the columns {required}").format(
                required=", ".join(REQUIRED)
            ),
            source.name,
            1,
        )
    separator, names = header
    return _Parsed(data, separator, names, encoding, _wanted(names, options))


def _converted(parsed: _Parsed, source: Source) -> _Lines:
    """The file's lines, converted batch by batch as Arrow parses it."""
    block, newlines_in_values = BLOCK, False
    while True:
        lines = _Lines(source.name, parsed.names)
        try:
            # a file of one block is parsed and converted on this thread: threads would only cost their start
            threaded = not isinstance(parsed.data, bytes) or len(parsed.data) > block
            if threaded and isinstance(parsed.data, str):
                threaded = os.path.getsize(parsed.data) > block
            lines.convert(_batches(parsed, source.name, block, newlines_in_values, threaded), threaded)
            return lines
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc) and block < 1 << 31:
                block *= 8  # a row longer than a block (a 10 MB description, say)
            elif not newlines_in_values:
                newlines_in_values = True  # quoted line breaks force a slower, serial parse: only if needed
            else:
                raise _parse_error(exc, parsed, source) from None


def _ledger(lines: _Lines, parsed: _Parsed, source: Source, renumber: bool) -> Ledger:
    """The canonical ledger of the converted lines."""
    table, problems = lines.result(renumber=renumber)
    base = max(lines.currencies.items(), key=lambda item: item[1])[0] if +lines.currencies else "CHF"
    table = table.set_column(
        table.schema.get_field_index("currency"),
        "currency",
        pc.if_else(pc.equal(table.column("currency"), base), "", table.column("currency")),
    )
    accounts, notes = accounts_from_codes(lines.accounts, source.name) if lines.accounts else \
        accounts_from_lines(table, source.name)  # fmt: skip
    accounts = table_of("accounts", ({**row, "name": lines.account_names.get(row["code"], row["name"])}
                                     for row in accounts.to_pylist()))  # fmt: skip
    vat_codes = table_of(
        "vat_codes", ({"code": c, "rate": lines.vat_rates.get(c, "")} for c in sorted(lines.vat_codes))
    )
    return Ledger(
        company=Company(base_currency=base, source_system="migrator canonical CSV"),
        accounts=accounts,
        vat_codes=vat_codes if "vat_code" in parsed.names else table_of("vat_codes"),
        lines=table,
        problems=tuple(problems + notes),
        extras={"lines": lines.extras} if lines.extras is not None else {},
        format=CsvReader.name,
        encoding=codec_name(parsed.encoding),
    )


def _batches(
    parsed: _Parsed, file: str, block: int, newlines_in_values: bool, threaded: bool = True
) -> Iterator[pa.RecordBatch]:
    """Arrow's parse of the text in blocks, every column as text (`threaded`: a block is converted
    while Arrow reads the next one)."""
    names = parsed.names
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(N_("column names repeat: {dupes}").format(dupes=", ".join(dupes)), file, 1)
    data = parsed.data
    reader = pacsv.open_csv(
        pa.BufferReader(data) if isinstance(data, bytes) else data,  # zero-copy, or read from disk in blocks
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block),
        parse_options=pacsv.ParseOptions(delimiter=parsed.separator, newlines_in_values=newlines_in_values),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=[n for n in names if n in parsed.wanted] if parsed.wanted else None,
        ),
    )
    yield from ahead(reader, name="csv-parse") if threaded else reader


def _parse_error(exc: pa.ArrowInvalid, parsed: _Parsed, source: Source) -> Exception:
    message = str(exc)
    row = None
    if "invalid UTF8" in message:
        if isinstance(parsed.data, str):
            return _NotUtf8()
        try:
            parsed.data.decode("utf-8")
        except UnicodeDecodeError as bad:
            row = parsed.data.count(b"\n", 0, bad.start) + 1
            message = N_("not valid utf-8 at byte {start}; give the file's encoding with --encoding").format(
                start=bad.start
            )
    if "Expected" in message and "columns" in message:
        message = N_("wrong number of fields: {split} (expected {count})").format(
            split=message.split(":", 1)[-1].strip(), count=len(parsed.names)
        )
    return SourceError(message, source.name, row)


_NO_LINES = pa.table({})
_CHECKS = {
    "date": N_("is not a date (expected yyyy-mm-dd)"),
    "amount": N_("is not an amount (expected e.g. -1234.50, at most ±9999999999999999.99)"),
    "amount_currency": N_("is not an amount (expected e.g. -1234.50, at most ±9999999999999999.99)"),
    "vat_amount": N_("is not an amount (expected e.g. -1234.50, at most ±9999999999999999.99)"),
    "account": N_("is empty: every line needs one"),
    "opening": N_("is not true or false"),
    "vat_line": N_("is not true or false"),
    "line": N_("is not a whole number"),
}
"""What each checked column must hold, in the order rows are checked (a row is reported once)."""
MAX_ROWS_PER_CHECK = 1000


@dataclass
class _Block:
    """One parsed batch, converted: its lines and what it adds to the file's findings."""

    lines: pa.Table
    errors: list[tuple[str, np.ndarray, pa.Array]] = field(default_factory=list)
    slow: list[tuple[str, np.ndarray, list[str], pa.Array]] = field(default_factory=list)
    account_names: dict[str, str] = field(default_factory=dict)
    vat_rates: dict[str, str] = field(default_factory=dict)
    vat_codes: set[str] = field(default_factory=set)
    extras: pa.Table | None = None
    accounts: set[str] = field(default_factory=set)
    currencies: collections.Counter[str] = field(default_factory=collections.Counter)
    """Lines per currency among lines without a foreign amount (for the base currency)."""
    has_entry: bool = False


class _Lines:
    """The lines of a file, converted one parsed batch at a time by two threads (Arrow's kernels run
    outside Python's lock), merged in file order.

    Values in a layout other than the plain one (``1'234.50``, ``31.01.2024``) are parsed at the end,
    all of a column together, so that the layout is decided once per column, as for a whole file.
    """

    def __init__(self, file: str, names: list[str]) -> None:
        self.file = file
        self.names = names
        self.rows = 0
        self.batches: list[pa.Table] = []
        self.errors: dict[str, list[tuple[np.ndarray, pa.Array]]] = {name: [] for name in _CHECKS}
        self.slow: dict[str, list[tuple[np.ndarray, list[str], pa.Array]]] = {name: [] for name in _CHECKS}
        self.account_names: dict[str, str] = {}
        self.vat_rates: dict[str, str] = {}
        self.vat_codes: set[str] = set()
        self.extras: pa.Table | None = None
        self._extras: list[pa.Table] = []
        self._repeats: dict[str, pa.Array] = {}
        self.accounts: set[str] = set()
        self.currencies: collections.Counter[str] = collections.Counter()
        self.has_entry = False
        self.not_plain: set[str] = set()
        """Columns where a block held values for the general parser: later blocks skip the one-cast try
        (a failed cast costs about 9 ms, whatever its length). Only a shortcut: results do not depend on it."""

    def convert(self, batches: Iterator[pa.RecordBatch], threaded: bool = True) -> None:
        """Convert the blocks, two at a time on other threads (`threaded`) or one after the other here."""
        if not threaded:
            for raw in batches:
                converted = self._block(raw, self.rows)
                self.rows += raw.num_rows
                self._add(converted)
        else:
            with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="csv-convert") as pool:
                pending: collections.deque[concurrent.futures.Future[_Block]] = collections.deque()
                for raw in batches:
                    pending.append(pool.submit(self._block, raw, self.rows))
                    self.rows += raw.num_rows
                    if len(pending) > 2:
                        self._add(pending.popleft().result())
                while pending:
                    self._add(pending.popleft().result())
        if self._extras:
            extras = pa.concat_tables(self._extras)
            self.extras = extras.add_column(0, "source_row", _rows(0, extras.num_rows))

    def _add(self, block: _Block) -> None:
        self.batches.append(block.lines)
        for name, rows, texts in block.errors:
            self.errors[name].append((rows, texts))
        for name, rows, texts, originals in block.slow:
            self.slow[name].append((rows, texts, originals))
        for known, found in ((self.account_names, block.account_names), (self.vat_rates, block.vat_rates)):
            for key, value in found.items():
                known.setdefault(key, value)  # blocks arrive in file order: the first line wins
        self.vat_codes |= block.vat_codes
        self.accounts |= block.accounts
        self.currencies += block.currencies
        self.has_entry = self.has_entry or block.has_entry
        if block.extras is not None:
            self._extras.append(block.extras)

    def _block(self, raw: pa.RecordBatch, offset: int) -> _Block:
        n = raw.num_rows
        block = _Block(_NO_LINES)
        if "account_name" in raw.column_names:
            block.account_names = _first(raw.column("account"), raw.column("account_name"), self.account_names)
        if "vat_code" in raw.column_names:
            block.vat_codes = {c.strip() for c in pc.unique(raw.column("vat_code")).to_pylist() if c.strip()}
            if "vat_rate" in raw.column_names:
                block.vat_rates = _first(raw.column("vat_code"), raw.column("vat_rate"), self.vat_rates)
        unknown = [c for c in raw.column_names if c not in KNOWN]
        if unknown:
            block.extras = pa.Table.from_batches([raw.select(unknown)])
        empty = self._repeated("", n)
        given = dict(zip(raw.column_names, raw.columns, strict=True))
        del raw

        def take(name: str) -> pa.Array:
            return given.pop(name, empty)

        def fail(name: str, mask: np.ndarray, original: pa.Array) -> None:
            rows = np.flatnonzero(mask)
            if len(rows):
                block.errors.append((name, rows + offset, pc.take(original, pa.array(rows))))

        def defer(name: str, rows: np.ndarray, text: pa.Array, original: pa.Array) -> None:
            if len(rows):
                picked = pa.array(rows)
                block.slow.append((name, rows + offset, pc.take(text, picked).to_pylist(), pc.take(original, picked)))
                self.not_plain.add(name)

        columns: dict[str, Any] = {name: _trimmed(take(name)) for name in _TEXT if name != "description"}
        columns["description"] = take("description")
        if "date" in given:
            original = take("date")
            text = _trimmed(original)
            columns["date"], slow = _dates(text, fast="date" not in self.not_plain)
            defer("date", slow, text, original)
        else:  # a read that leaves the dates out
            columns["date"] = pa.nulls(n, pa.date32())
        for name in ("amount", "amount_currency", "vat_amount"):
            original = take(name)
            text = _trimmed(original)
            columns[name], errors, slow = _amounts(text, name == "amount", fast=name not in self.not_plain)
            fail(name, errors, original)
            defer(name, slow, text, original)
        fail("account", pc.equal(columns["account"], "").to_numpy(zero_copy_only=False), columns["account"])
        for name in ("opening", "vat_line"):
            original = take(name)
            columns[name], errors = _flags(_trimmed(original))
            fail(name, errors, original)
        original = take("line")
        columns["line"], errors = _line_numbers(_trimmed(original))
        fail("line", errors, original)
        columns["source_file"] = self._repeated(self.file, n)
        columns["source_row"] = _rows(offset, n)
        block.lines = conform("lines", columns)
        # What the whole file's ledger needs, gathered here so that it is worked out in these threads:
        block.accounts = set(pc.unique(block.lines.column("account")).to_pylist())
        block.currencies = _plain_currencies(block.lines)
        block.has_entry = bool(pc.any(pc.not_equal(block.lines.column("entry"), "")).as_py())
        return block

    def _repeated(self, text: str, n: int) -> pa.Array:
        """`text` n times: slices of one array, so the batches share its memory."""
        known = self._repeats.get(text)
        if known is None or len(known) < n:
            known = self._repeats[text] = pa.repeat(pa.scalar(text), max(n, 1 << 16))
        return known.slice(0, n)

    def result(self, renumber: bool) -> tuple[pa.Table, list[Problem]]:
        """The lines (rows with errors left out) and the problems, in the order of the checks."""
        lines = pa.concat_tables(self.batches) if self.batches else conform("lines", {})
        self.batches = []
        lines = self._resolve_slow(lines)
        problems: list[Problem] = []
        bad = np.zeros(self.rows, dtype=bool)
        for name, expected in _CHECKS.items():
            if not self.errors[name]:
                continue
            rows = np.concatenate([r for r, _ in self.errors[name]])
            texts = pa.concat_arrays([t for _, t in self.errors[name]])
            order = np.argsort(rows, kind="stable")
            fresh = order[~bad[rows[order]]]
            for index in fresh[:MAX_ROWS_PER_CHECK]:
                value = texts[int(index)].as_py()
                problems.append(Problem("error", f"{name}: {value!r} {expected}", self.file, int(rows[index]) + 2))
            if len(fresh) > MAX_ROWS_PER_CHECK:
                more = len(fresh) - MAX_ROWS_PER_CHECK
                problems.append(
                    Problem(
                        "error",
                        N_("{more} more rows where {name} {expected}").format(more=more, name=name, expected=expected),
                        self.file,
                    )
                )
            bad[rows] = True
        if "entry" not in self.names or not self.has_entry:
            lines = _entries_by_date_and_doc(lines)
        if bad.any():
            dropped = lines.filter(pa.array(bad))
            self.accounts = set()  # a code only bad rows use is not in the books: counted again below
            self.currencies -= _plain_currencies(dropped)
            lines = lines.filter(pa.array(~bad))
        if renumber and "line" not in self.names:
            lines = _renumber(lines)
        return lines, problems

    def _resolve_slow(self, lines: pa.Table) -> pa.Table:
        """Parse the values left to the general parsers, a whole column at once."""
        for name, slow in self.slow.items():
            if not slow:
                continue
            rows = np.concatenate([r for r, _, _ in slow])
            texts = [t for _, chunk, _ in slow for t in chunk]
            originals = pa.concat_arrays([o for _, _, o in slow])
            column = lines.column(name)
            if name == "date":
                days = pc.cast(column, pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).copy()
                valid = column.is_valid().to_numpy(zero_copy_only=False).copy()
                epoch = dt.date(1970, 1, 1)
                parsed: list[Any] = [None if d is None else (d - epoch).days for d in dates_of(texts)]
                values, kind = days, pa.int32()
            else:
                values = column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
                valid = column.is_valid().to_numpy(zero_copy_only=False).copy()
                parsed = cents_of(texts)
                kind = pa.int64()
            failed = np.array([p is None for p in parsed], dtype=bool)
            good = np.flatnonzero(~failed)
            values[rows[good]] = [parsed[i] for i in good]
            valid[rows[good]] = True
            if failed.any():
                self.errors[name].append((rows[failed], pc.filter(originals, pa.array(failed))))
            patched = pa.array(values, kind, mask=~valid)
            if name == "date":
                patched = patched.cast(pa.date32())
            lines = lines.set_column(lines.schema.get_field_index(name), name, patched)
        return lines


def _trimmed(values: pa.Array) -> pa.Array:
    """The text without leading and trailing ASCII blanks (other spaces in amounts are the amount
    parser's business); the column itself when its bytes hold no blank at all (no copy)."""
    if not len(values) or not _holds_byte(values, lambda data: (data <= 0x20).any()):
        return values
    return pc.ascii_trim_whitespace(values)


def _holds_byte(text: pa.Array | pa.ChunkedArray, found: Callable[[np.ndarray], Any]) -> bool:
    """Whether `found` is true of the raw UTF-8 bytes of some chunk of a string column (no copy)."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        _validity, offsets, data = chunk.buffers()
        if data is None or not len(chunk):
            continue
        bounds = np.frombuffer(offsets, np.int32)[[chunk.offset, chunk.offset + len(chunk)]]
        if found(np.frombuffer(data, np.uint8)[bounds[0] : bounds[1]]):
            return True
    return False


def _rows(offset: int, n: int) -> pa.Array:
    """Row number of each data row (the header is row 1)."""
    return pa.array(np.arange(offset + 2, offset + n + 2, dtype=np.int64))


def _entries_by_date_and_doc(lines: pa.Table) -> pa.Table:
    """Without entry ids, the lines with the same date and doc form one entry."""
    key = pc.binary_join_element_wise(pc.cast(lines.column("date"), pa.string()).fill_null(""),
                                      lines.column("doc"), "\x1f")  # fmt: skip
    numbers = pc.add(pc.cast(key.combine_chunks().dictionary_encode().indices, pa.int64()), 1)
    return lines.set_column(lines.schema.get_field_index("entry"), "entry", pc.cast(numbers, pa.string()))


def _dates(text: pa.Array, fast: bool = True) -> tuple[pa.Array, np.ndarray]:
    """Dates of a text column at Arrow speed where they are ``yyyy-mm-dd``, and the rows left for the
    general parser (null until then)."""
    if fast:
        try:
            return pc.cast(text, pa.date32()), np.zeros(0, dtype=np.int64)  # every date is yyyy-mm-dd
        except pa.ArrowInvalid:
            pass
    plain = pc.match_substring_regex(text, _PLAIN_DATE)
    dates = strict_dates(pc.if_else(plain, text, "1970-01-01"), "%Y-%m-%d")
    valid = pc.and_(plain, pc.is_valid(dates))
    dates = pc.if_else(valid, dates, pa.scalar(None, pa.date32()))
    return dates, np.flatnonzero(~valid.to_numpy(zero_copy_only=False))


def _amounts(text: pa.Array, required: bool, fast: bool = True) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Cents of a text column at Arrow speed where they are plain, the rows in error (empty where
    an amount is `required`), and the rows left for the general parser (null until then)."""
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    errors = empty.copy() if required else np.zeros(len(text), dtype=bool)
    no_rows = np.zeros(0, dtype=np.int64)
    if empty.all():
        return pa.nulls(len(text), pa.int64()), errors, no_rows
    plain_cents = _plain_cents(text, empty) if fast else None
    if plain_cents is not None:
        return pa.array(plain_cents, pa.int64(), mask=empty), errors, no_rows
    plain = pc.match_substring_regex(text, _PLAIN_AMOUNT).to_numpy(zero_copy_only=False)
    cents = money.decimal_array_to_cents(pc.cast(pc.if_else(pa.array(plain), text, "0"), money.DECIMAL_TYPE))
    return pc.if_else(pa.array(plain), cents, pa.scalar(None, pa.int64())), errors, np.flatnonzero(~plain & ~empty)


def _plain_cents(text: pa.Array, empty: np.ndarray) -> np.ndarray | None:
    """Cents of a column of plain decimal numbers (``-1234.5``, ``+3.10``; empty cells give 0) in one
    cast; None if any value is something else: exponents (``1.23E+5`` is Excel's rounding) and three
    decimals (``1.000`` may be a thousand) are left to the general parser, which decides per column."""
    if _holds_letter_e(text):
        return None
    given = np.flatnonzero(~empty) if empty.any() else None
    values = text if given is None else pc.take(text, pa.array(given))  # only the cells that hold one
    if not _two_decimals(values):
        dot = pc.find_substring(values, ".")
        decimals = pc.subtract(pc.subtract(pc.binary_length(values), dot), 1)
        if pc.any(pc.and_(pc.greater_equal(dot, 0), pc.greater(decimals, 2))).as_py():
            return None
    try:
        parsed = money.decimal_array_to_cents(pc.cast(values, money.DECIMAL_TYPE)).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, OverflowError):
        return None  # a layout for the general parser, or a value it rejects
    if given is None:
        return parsed.astype(np.int64, copy=False)
    cents = np.zeros(len(text), dtype=np.int64)
    cents[given] = parsed
    return cents


def _two_decimals(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value has a ``.`` third from its end (``-1234.50``, as migrator writes amounts),
    read off the raw buffers: then none has more than two decimals."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        _validity, offsets, data = chunk.buffers()
        if not len(chunk):
            continue
        if data is None:
            return False
        bounds = np.frombuffer(offsets, np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        ends = bounds[1:]
        if np.any(ends - bounds[:-1] < 3) or np.any(np.frombuffer(data, np.uint8)[ends - 3] != ord(".")):
            return False
    return True


def _holds_letter_e(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether an ``e`` or ``E`` is in the column's text."""
    return _holds_byte(text, lambda data: ((data | 0x20) == ord("e")).any())


def _flags(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if not pc.any(pc.not_equal(text, "")).as_py():
        return pa.repeat(pa.scalar(False), len(text)), np.zeros(len(text), dtype=bool)
    true = pc.equal(text, "true")
    if pc.all(pc.or_(true, pc.equal(text, ""))).as_py():  # as migrator writes them
        return true, np.zeros(len(text), dtype=bool)
    lowered = pc.utf8_lower(text)
    true = pc.is_in(lowered, pa.array(sorted(_TRUE)))
    false = pc.is_in(lowered, pa.array(sorted(_FALSE)))
    errors = ~(pc.or_(true, false).to_numpy(zero_copy_only=False))
    return true, errors


def _line_numbers(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if not pc.any(pc.not_equal(text, "")).as_py():
        return pa.repeat(pa.scalar(0, pa.int32()), len(text)), np.zeros(len(text), dtype=bool)
    try:
        numbers = pc.cast(text, pa.int32())  # every cell a number: one cast
        if not pc.any(pc.starts_with(text, "-")).as_py():
            return numbers, np.zeros(len(text), dtype=bool)
    except pa.ArrowInvalid:
        pass
    plain = pc.match_substring_regex(text, r"^\d{1,9}$")
    numbers = pc.cast(pc.if_else(plain, text, "0"), pa.int32())
    empty = pc.equal(text, "")
    errors = ~(pc.or_(plain, empty).to_numpy(zero_copy_only=False))
    return numbers, errors


def _renumber(lines: pa.Table) -> pa.Table:
    """Number lines 1, 2, … within each entry, in file order."""
    entries = lines.column("entry").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    order = np.argsort(entries, kind="stable")
    sorted_entries = entries[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_entries)) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    numbers = np.empty(len(order), dtype=np.int32)
    numbers[order] = position + 1
    return lines.set_column(lines.schema.get_field_index("line"), "line", pa.array(numbers))


def _plain_currencies(lines: pa.Table) -> collections.Counter[str]:
    """Lines per currency among lines without a foreign amount: the base currency is the most common
    (CHF if the file never says)."""
    currency = lines.column("currency")
    base_lines = pc.and_(pc.is_null(lines.column("amount_currency")), pc.not_equal(currency, ""))
    counts = pc.value_counts(pc.filter(currency, base_lines)).to_pylist()
    return collections.Counter({c["values"]: c["counts"] for c in counts})


def _first(keys: pa.Array, values: pa.Array, known: Mapping[str, str]) -> dict[str, str]:
    """The first non-empty value (trimmed) of each key `known` lacks, hashing only the keys."""
    encoded = keys.dictionary_encode()
    dictionary = encoded.dictionary.to_pylist()
    found: dict[str, str] = {}
    if all(k.strip() in known or not k.strip() for k in dictionary):
        return found  # every key already has its value (the usual case after the first block)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(pc.not_equal(values, "").to_numpy(zero_copy_only=False))
    first = np.full(len(dictionary), len(codes))
    np.minimum.at(first, codes[rows], rows)
    seen = np.flatnonzero(first < len(codes))
    pairs = zip(first[seen].tolist(), [dictionary[i] for i in seen],
                values.take(pa.array(first[seen])).to_pylist(), strict=True)  # fmt: skip
    for _row, k, v in sorted(pairs):  # in file order: the first line wins
        k, v = k.strip(), v.strip()
        if k and v and k not in found:
            found[k] = v
    return found


class CsvFolderReader:
    """A folder of canonical CSV files (format ``csvfolder``, `migrator.writers.csv.CsvFolderWriter`):
    ``journal.csv`` read as the postings CSV, and the tables beside it (``partners.csv``, ``items.csv``,
    ``documents.csv``…) with the model's columns. A table file's unknown columns go to the extras;
    a value that does not fit its column is an error naming file, row and column."""

    name = "csvfolder"
    extensions = ()

    def sniff(self, source: Source) -> float:
        if not source.is_dir:
            return 0.0
        journal = source.path / JOURNAL_FILE
        if not journal.is_file() or not any((source.path / f"{name}.csv").is_file() for name in TABLE_FILES):
            return 0.0  # a folder with the journal alone is that one file's (the csv format)
        with journal.open("rb") as handle:
            return 0.95 if sniff_header(handle.read(65536)) is not None else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        journal = source.path / JOURNAL_FILE
        if not journal.is_file():
            raise SourceError(
                N_("not a canonical CSV folder: no {journal_file}").format(journal_file=JOURNAL_FILE), source.name
            )
        ledger = CsvReader().read(source.child(journal), options)
        tables: dict[str, pa.Table] = {}
        problems = list(ledger.problems)
        extras = dict(ledger.extras)
        for name in TABLE_FILES:
            path = source.path / f"{name}.csv"
            if not path.is_file():
                continue
            label = source.child(path).name
            tables[name], found, extra = read_table(name, path, label)
            problems += found
            if extra is not None:
                extras[name] = extra
        if "accounts" in tables:  # the chart as written replaces the accounts derived from the lines
            problems = [
                p for p in problems if not (p.file.endswith(JOURNAL_FILE) and "no chart of accounts" in p.message)
            ]
        return ledger.replace(**tables, problems=tuple(problems), extras=extras, format=self.name)


def read_table(name: str, path: Any, label: str) -> tuple[pa.Table, list[Problem], pa.Table | None]:
    """Canonical table `name` from a CSV file with a header of its column names (`writers.csv.write_table`);
    the problems met and the columns the table has no place for."""
    schema = SCHEMAS[name]
    import csv as pycsv

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(pycsv.reader(handle), [])
        raw = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                             convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                                  strings_can_be_null=False,
                                                                  quoted_strings_can_be_null=False))  # fmt: skip
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, pycsv.Error) as exc:
        raise SourceError(N_("not a readable CSV table: {exc}").format(exc=exc), label) from None
    problems: list[Problem] = []
    columns: dict[str, pa.Array] = {}
    for fld in schema:
        if fld.name not in raw.column_names:
            continue
        texts = [t.strip() for t in raw.column(fld.name).to_pylist()]
        values: list[Any]
        if fld.type == pa.string():
            values = raw.column(fld.name).to_pylist()
        elif fld.type == pa.int64():
            values = [None if not t else c for t, c in zip(texts, cents_of(texts), strict=True)]
        elif pa.types.is_integer(fld.type):
            values = [int(t) if t.lstrip("-").isdigit() else None for t in texts]
        elif pa.types.is_date(fld.type):
            values = [_iso_date(t) for t in texts]
        elif pa.types.is_boolean(fld.type):
            values = [t.lower() in _TRUE if t.lower() in _TRUE | _FALSE else None for t in texts]
        else:
            values = texts
        for index, (text, value) in enumerate(zip(texts, values, strict=True)):
            if text and value is None:
                problems.append(Problem("error", N_("{name} {text!r} is not {get}").format(name=fld.name, text=text, get=_KINDS.get(str(fld.type), 'a value')),
                                        label, index + 2))  # fmt: skip
        columns[fld.name] = pa.array(values, fld.type)
    if columns:
        size = raw.num_rows
        table = conform(name, columns) if size else table_of(name)
    else:
        table = table_of(name, ({} for _ in range(raw.num_rows)))
    left = [n for n in raw.column_names if n not in schema.names]
    extra = None
    if left:
        extra = pa.table({"source_file": pa.repeat(label, raw.num_rows),
                          "source_row": pa.array(range(2, raw.num_rows + 2), pa.int64()),
                          **{n: raw.column(n) for n in left}})  # fmt: skip
    return table, problems, extra


_KINDS = {"int64": "an amount (e.g. -1234.50)", "int32": "a whole number", "date32[day]": "a date (yyyy-mm-dd)",
          "bool": "a flag (true or false)"}  # fmt: skip


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


FORMAT = CsvReader
