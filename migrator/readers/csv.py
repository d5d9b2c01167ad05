"""Canonical postings CSV: one row per account line.

Header ``entry,line,date,doc,description,account,amount,currency`` then any further canonical
columns (``account_name, amount_currency, rate, vat_code, vat_amount, partner, cost_centre,
journal, opening, vat_rate, vat_line``). ``amount`` is in base currency, debit positive; ``currency`` names the
currency of ``amount_currency`` (the base currency, or empty, on base-currency lines).
Reading also accepts ``;`` and tab separators, any encoding, Swiss amount and date layouts, and
unknown columns (kept as extras). Without ``entry``, lines with the same date and doc form one entry.

The fast path parses with pyarrow's CSV engine and converts whole columns at once; only values
that are not already plain (``-1234.50``, ``2024-01-31``) go through the slower general parsers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migrator import money
from migrator.errors import SourceError
from migrator.model import Company, Ledger, Problem, conform, table
from migrator.parsing import cents_of, codec_name, dates_of, detect_encoding, head_text
from migrator.readers.base import ReadOptions, accounts_from_lines
from migrator.sources import Source

REQUIRED = ("date", "account", "amount")
KNOWN = (
    "entry", "line", "date", "doc", "description", "account", "amount", "currency", "account_name",
    "amount_currency", "rate", "vat_code", "vat_rate", "vat_amount", "vat_line", "partner", "cost_centre",
    "journal", "opening",
)  # fmt: skip
_TEXT = ("entry", "doc", "description", "account", "currency", "rate", "vat_code", "partner",
         "cost_centre", "journal")  # fmt: skip
_VERIFIED = ("entry", "date", "account", "amount", "vat_code", "vat_amount", "vat_line", "opening")
"""The columns verification compares (counts, balances, VAT totals) and the report shows (years, months)."""
_PLAIN_AMOUNT = r"^-?\d{1,16}(\.\d{1,2})?$"
_PLAIN_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TRUE = {"true", "1", "yes", "y", "x", "oui", "ja", "wahr"}
_FALSE = {"false", "0", "no", "n", "", "non", "nein", "falsch"}


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
        raw, names, encoding = _stream_utf8(source, options)
        if raw is None:
            raw, names, encoding = _read_decoded(source, options)
        wanted = _VERIFIED if options.for_verification and "entry" in names else None
        return _ledger(raw, source, encoding, renumber=wanted is None)


def _stream_utf8(source: Source, options: ReadOptions) -> tuple[pa.Table | None, list[str], str]:
    """The fast path: a UTF-8 file (what migrator writes) parsed by Arrow straight from disk, in
    blocks, without holding its bytes in Python; None when the file is not plain UTF-8."""
    head = source.head(1 << 16)
    if options.encoding and codec_name(options.encoding) != "utf-8":
        return None, [], ""
    if not head.strip() or head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None, [], ""
    if detect_encoding(head)[0] != "utf-8":
        return None, [], ""
    header = sniff_header(head)
    if header is None:
        return None, [], ""
    separator, names = header
    wanted = _VERIFIED if options.for_verification and "entry" in names else None
    try:
        return _read_table(str(source.path), separator, names, source.name, wanted), names, "utf-8"
    except _NotUtf8:
        return None, [], ""


class _NotUtf8(Exception):
    """Arrow met bytes that are not UTF-8 in a file read from disk: read it the slow way."""


def _read_decoded(source: Source, options: ReadOptions) -> tuple[pa.Table, list[str], str]:
    """The general path: any encoding, decoded in memory and handed to Arrow as UTF-8."""
    data = source.read_bytes()
    if not data[: 1 << 16].strip() and not data.strip():
        raise SourceError("the file is empty; expected a header line with date, account, amount", source.name)
    encoding = options.encoding or detect_encoding(data)[0]
    if codec_name(encoding) not in ("utf-8",):
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError(f"not valid {encoding} at byte {exc.start}; use --encoding", source.name) from None
        except LookupError:
            raise SourceError(f"unknown encoding {encoding!r}", source.name) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header = sniff_header(data[:65536])
    if header is None:
        raise SourceError(
            f"the first line is not a canonical header: it needs the columns {', '.join(REQUIRED)}",
            source.name,
            1,
        )
    separator, names = header
    wanted = _VERIFIED if options.for_verification and "entry" in names else None
    return _read_table(data, separator, names, source.name, wanted), names, encoding


def _ledger(raw: pa.Table, source: Source, encoding: str, renumber: bool) -> Ledger:
    """The canonical ledger of the raw text table."""
    # What needs the raw columns beyond the lines is taken first, so that each raw column can be
    # released as soon as it is converted (the peak memory of a big file is raw + converted).
    account_names = _first(raw, "account", "account_name")
    vat_codes = _vat_codes(raw)
    extra_names = [c for c in raw.column_names if c not in KNOWN]
    kept_aside = raw.select(extra_names) if extra_names else None
    columns = dict(zip(raw.column_names, raw.columns, strict=True))
    n = raw.num_rows
    del raw
    lines, problems = _convert(columns, n, source.name, renumber=renumber)
    extras = kept_aside.add_column(0, "source_row", lines_rows(n)) if kept_aside is not None else None
    base = _base_currency(lines)
    lines = lines.set_column(
        lines.schema.get_field_index("currency"),
        "currency",
        pc.if_else(pc.equal(lines.column("currency"), base), "", lines.column("currency")),
    )
    accounts, notes = accounts_from_lines(lines, source.name)
    accounts = table("accounts", ({**row, "name": account_names.get(row["code"], row["name"])}
                                  for row in accounts.to_pylist()))  # fmt: skip
    company = Company(base_currency=base, source_system="migrator canonical CSV")
    return Ledger(
        company=company,
        accounts=accounts,
        vat_codes=vat_codes,
        lines=lines,
        problems=tuple(problems + notes),
        extras={"lines": extras} if extras is not None else {},
        format=CsvReader.name,
        encoding=codec_name(encoding),
    )


def _read_table(
    data: bytes | str, separator: str, names: list[str], file: str, wanted: tuple[str, ...] | None = None
) -> pa.Table:
    """Arrow's parse of the text (bytes in memory, or a path read in blocks), every column as text."""
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"column names repeat: {', '.join(dupes)}", file, 1)

    def parse(newlines_in_values: bool) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(data) if isinstance(data, bytes) else data,  # zero-copy, or streamed from disk
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=newlines_in_values),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=[n for n in names if n in wanted] if wanted else None,
            ),
        )

    try:
        # Quoted line breaks are rare and force a slower serial parse: try without them first.
        try:
            return parse(newlines_in_values=False)
        except pa.ArrowInvalid:
            return parse(newlines_in_values=True)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        row = None
        if "invalid UTF8" in message:
            if isinstance(data, str):
                raise _NotUtf8 from None
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                row = data.count(b"\n", 0, bad.start) + 1
                message = f"not valid utf-8 at byte {bad.start}; give the file's encoding with --encoding"
        if "Expected" in message and "columns" in message:
            message = f"wrong number of fields: {message.split(':', 1)[-1].strip()} (expected {len(names)})"
        raise SourceError(message, file, row) from None


def lines_rows(n: int) -> pa.Array:
    """Row number of each data row (the header is row 1)."""
    return pa.array(np.arange(2, n + 2, dtype=np.int64))


def _convert(
    raw: dict[str, pa.ChunkedArray], n: int, file: str, renumber: bool = True
) -> tuple[pa.Table, list[Problem]]:
    """The lines of the raw text columns; each raw column is dropped from `raw` once converted."""
    present = set(raw)
    problems: list[Problem] = []
    bad = np.zeros(n, dtype=bool)
    empty = pa.repeat(pa.scalar(""), n)

    def take(name: str) -> pa.Array | pa.ChunkedArray:
        return raw.pop(name, empty)

    def stripped(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        if values is empty or not n or pc.all(pc.equal(values, "")).as_py():
            return values  # a column of empty cells: nothing to trim
        # ASCII blanks only, twice as fast; other spaces in amounts are the amount parser's business
        return pc.ascii_trim_whitespace(values)

    def report(mask: np.ndarray, name: str, expected: str, original: pa.Array | pa.ChunkedArray) -> None:
        """An error for each row of `mask` not already reported: the value of `name` is not `expected`."""
        fresh = np.flatnonzero(mask & ~bad)
        for index in fresh[:1000]:
            problems.append(
                Problem("error", f"{name}: {original[int(index)].as_py()!r} {expected}", file, int(index) + 2)
            )
        if len(fresh) > 1000:
            problems.append(Problem("error", f"{len(fresh) - 1000} more rows where {name} {expected}", file))
        bad[mask] = True

    columns: dict[str, Any] = {name: stripped(take(name)) for name in _TEXT if name != "description"}
    columns["description"] = take("description")
    if "date" in present:
        original = take("date")
        dates, date_errors = _dates(stripped(original))
        report(date_errors, "date", "is not a date (expected yyyy-mm-dd)", original)
    else:  # a verification read, which leaves the dates out
        dates = pa.nulls(n, pa.date32())
    columns["date"] = dates
    for name in ("amount", "amount_currency", "vat_amount"):
        original = take(name)
        values, errors = _amounts(stripped(original), required=name == "amount")
        report(errors, name, "is not an amount (expected e.g. -1234.50)", original)
        columns[name] = values
    account = columns["account"]
    report(pc.equal(account, "").to_numpy(zero_copy_only=False), "account", "is empty: every line needs one", account)
    for name in ("opening", "vat_line"):
        original = take(name)
        flags, flag_errors = _flags(stripped(original))
        report(flag_errors, name, "is not true or false", original)
        columns[name] = flags
    original = take("line")
    columns["line"], line_errors = _line_numbers(stripped(original))
    report(line_errors, "line", "is not a whole number", original)
    del original
    if "entry" not in present or pc.all(pc.equal(columns["entry"], "")).as_py():
        key = pc.binary_join_element_wise(pc.cast(dates, pa.string()).fill_null(""), columns["doc"], "\x1f")
        columns["entry"] = pc.cast(
            pc.add(pc.cast(key.combine_chunks().dictionary_encode().indices, pa.int64()), 1), pa.string()
        )
    columns["source_file"] = pa.repeat(pa.scalar(file), n)
    columns["source_row"] = lines_rows(n)
    lines = conform("lines", columns)
    if bad.any():
        lines = lines.filter(pa.array(~bad))
    if renumber and "line" not in present:
        lines = _renumber(lines)
    return lines, problems


def _dates(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Dates of a text column: ISO at Arrow speed, any other layout (decided once) for the rest."""
    try:
        return pc.cast(text, pa.date32()), np.zeros(len(text), dtype=bool)  # every date is yyyy-mm-dd
    except pa.ArrowInvalid:
        pass
    plain = pc.match_substring_regex(text, _PLAIN_DATE)
    parsed = pc.strptime(pc.if_else(plain, text, "1970-01-01"), "%Y-%m-%d", "s", error_is_null=True)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).copy()
    valid = plain.to_numpy(zero_copy_only=False) & pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    slow = np.flatnonzero(~valid)
    if len(slow):
        epoch = dt.date(1970, 1, 1)
        for i, day in zip(slow, dates_of([text[int(i)].as_py() for i in slow]), strict=True):
            if day is not None:
                days[i] = (day - epoch).days
                valid[i] = True
    return pa.array(days, pa.int32(), mask=~valid).cast(pa.date32()), ~valid


def _amounts(text: pa.Array, required: bool) -> tuple[pa.Array, np.ndarray]:
    """Cents of a text column: plain amounts at Arrow speed, Swiss layouts (decided once) for the rest."""
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    if empty.all():
        return pa.nulls(len(text), pa.int64()), empty.copy() if required else np.zeros(len(text), dtype=bool)
    plain = pc.match_substring_regex(text, _PLAIN_AMOUNT)
    cents = money.decimal_array_to_cents(pc.cast(pc.if_else(plain, text, "0"), money.DECIMAL_TYPE))
    cents = cents.to_numpy(zero_copy_only=False).astype(np.int64)
    errors = np.zeros(len(text), dtype=bool)
    slow = np.flatnonzero(~plain.to_numpy(zero_copy_only=False) & ~empty)
    if len(slow):
        for i, parsed in zip(slow, cents_of([text[int(i)].as_py() for i in slow]), strict=True):
            if parsed is None:
                errors[i] = True
            else:
                cents[i] = parsed
    if required:
        errors |= empty
    return pa.array(cents, pa.int64(), mask=empty | errors), errors


def _flags(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    lowered = pc.utf8_lower(text)
    true = pc.is_in(lowered, pa.array(sorted(_TRUE)))
    false = pc.is_in(lowered, pa.array(sorted(_FALSE)))
    errors = ~(pc.or_(true, false).to_numpy(zero_copy_only=False))
    return true, errors


def _line_numbers(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
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


def _base_currency(lines: pa.Table) -> str:
    """The currency of lines without a foreign amount, by majority; CHF if the file never says."""
    currency = lines.column("currency")
    base_lines = pc.and_(pc.is_null(lines.column("amount_currency")), pc.not_equal(currency, ""))
    counts = pc.value_counts(pc.filter(currency, base_lines))
    if not len(counts):
        return "CHF"
    best = max(counts.to_pylist(), key=lambda c: c["counts"])
    return str(best["values"])


def _first(raw: pa.Table, key: str, value: str) -> dict[str, str]:
    """The first non-empty `value` of each `key` in the file (one sort of integer codes, no group-by)."""
    if value not in raw.column_names:
        return {}
    keys, values = raw.column(key), raw.column(value)
    keep = pc.and_(pc.not_equal(values, ""), pc.not_equal(keys, ""))
    keys = pc.utf8_trim_whitespace(keys.filter(keep)).combine_chunks().dictionary_encode()
    values = pc.utf8_trim_whitespace(values.filter(keep))
    codes, first = np.unique(keys.indices.to_numpy(zero_copy_only=False), return_index=True)
    names = values.take(pa.array(first)).to_pylist()
    return {k: v for k, v in zip(keys.dictionary.take(pa.array(codes)).to_pylist(), names, strict=True) if k and v}


def _vat_codes(raw: pa.Table) -> pa.Table:
    """VAT codes the lines use, with the rate a ``vat_rate`` column gives them."""
    if "vat_code" not in raw.column_names:
        return table("vat_codes")
    codes = [c for c in pc.unique(pc.utf8_trim_whitespace(raw.column("vat_code"))).to_pylist() if c]
    rates = _first(raw, "vat_code", "vat_rate")
    return table("vat_codes", ({"code": c, "rate": rates.get(c, "")} for c in sorted(codes)))


FORMAT = CsvReader
