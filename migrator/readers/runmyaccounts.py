"""Run my Accounts: the GL import CSV, alone or in a folder beside the chart CSV.

Journal (``../shared/FORMATS.md``): a header naming at least ``reference, transdate, accno,
debit, credit`` (also ``department, description, notes, currency, exchangerate, source, memo,
projectnumber``), ``,`` ``;`` or tab; consecutive rows with one reference form one entry. Dates and
numbers follow the user's settings, so each column's layout is decided from all its values
(``03.01.19``, ``03.01.2019``; ``275,12``, ``1'275.12``). A row in another currency than the base
(the currency of rows at rate 1, else CHF) is converted at its exchange rate, rounded half up to
the cent. ``description`` is the entry's text, ``memo`` a line's own; ``department`` is read as
the cost centre; ``notes``, ``source`` and ``projectnumber`` are kept as extras.

Chart (``accno, description, charttype, category, link``): ``A`` rows are accounts (category A
asset, L liability, Q equity, I income, E expense), ``H`` rows headings, each account belonging
to the last heading above it.

Customers and vendors (``customers.csv``, ``vendors.csv`` beside the journal: a header with
``customernumber`` or ``vendornumber`` and ``name``): partners, see `_partners`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, conform, repeated_text, table
from migrator.parsing import (
    MAX_CENTS,
    MAX_FIELD,
    ParseError,
    codec_name,
    csv_records,
    decode,
    detect_encoding,
    head_text,
    parse_cents,
    parse_date,
    parse_rate,
)
from migrator.readers.base import ReadOptions, Rows, accounts_from_lines, merge_accounts
from migrator.rowwise import collector_paused
from migrator.sources import Source

REQUIRED = ("reference", "transdate", "accno", "debit", "credit")
CHART_REQUIRED = ("accno", "description", "charttype")
EXTRAS = ("notes", "source", "projectnumber")
BATCH = 1 << 16
TYPES = {"A": "asset", "L": "liability", "Q": "equity", "I": "income", "E": "expense"}


def _header(head: bytes) -> tuple[str, list[str]]:
    first = head_text(head).split("\n", 1)[0].strip()
    separator = max((",", ";", "\t"), key=first.count)
    return separator, [n.strip().strip('"').strip().lower() for n in first.split(separator)]


def _is_journal(head: bytes) -> bool:
    return all(r in _header(head)[1] for r in REQUIRED)


def _is_chart(head: bytes) -> bool:
    return all(r in _header(head)[1] for r in CHART_REQUIRED)


class RunMyAccountsReader:
    name = "runmyaccounts"
    extensions = (".csv",)

    def sniff(self, source: Source) -> float:
        if not source.is_dir:
            return 0.9 if _is_journal(source.head()) else 0.0
        files = [source.child(p) for p in sorted(source.path.iterdir()) if p.is_file()]
        return 0.9 if any(_is_journal(f.head()) for f in files) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        journal, chart, contacts = source, None, []
        if source.is_dir:
            files = [source.child(p) for p in sorted(source.path.iterdir()) if p.is_file()]
            journals = [f for f in files if _is_journal(f.head())]
            if len(journals) != 1:
                raise SourceError(N_("expected one GL import CSV (header reference, transdate, accno, debit, credit), found {count}").format(count=len(journals)), source.name)  # fmt: skip
            journal = journals[0]
            chart = next((f for f in files if f is not journal and _is_chart(f.head())), None)
            contacts = [f for f in files if _contacts_kind(f.head())]
        out = _Lines(journal.name)
        with collector_paused():
            found, encoding = _journal(journal, options)
            rates = _rates(pc.unique(found.texts["exchangerate"]).to_pylist())
            base = _base_currency(found.texts["currency"], found.texts["exchangerate"], rates)
            extras = _lines(found, out, base, rates)
        lines = out.lines()
        problems: list[Problem] = list(out.problems)
        groups = table("groups")
        if chart is not None:
            accounts, groups, chart_problems = _chart(chart, options)
            accounts, added = merge_accounts(accounts, lines, chart.name)
            problems += chart_problems + added
        else:
            accounts, notes = accounts_from_lines(lines, journal.name)
            problems += notes
        partners, contact_problems, contact_extras = _partners(contacts, options)
        problems += contact_problems
        return Ledger(
            company=Company(base_currency=base, source_system="Run my Accounts"),
            accounts=accounts,
            groups=groups,
            partners=partners,
            lines=lines,
            problems=tuple(problems),
            extras={"lines": extras, **({"partners": _extras_table(contact_extras)} if contact_extras else {})},
            format=self.name,
            encoding=codec_name(encoding),
        )


def _data(source: Source, options: ReadOptions, required: tuple[str, ...]) -> tuple[str, str, str]:
    """The text (without a BOM), its separator and its encoding."""
    data = source.read_bytes()
    if not data:
        raise SourceError(
            N_("the file is empty; expected a header with {required}").format(required=", ".join(required)), source.name
        )
    encoding = options.encoding or detect_encoding(data)[0]
    try:
        text, encoding = decode(data, encoding, source.name)
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    text = text.lstrip("\ufeff")
    separator, _ = _header(text[:4096].encode("utf-8"))
    return text, separator, encoding


def _records(text: str, separator: str, file: str) -> tuple[list[str], list[Any]]:
    """The header (names stripped and in lower case) and the (line, values) of every row that holds
    something, by Python's csv module."""
    records = []
    header: list[str] = []
    try:
        for line, values in csv_records(text, separator, file):
            if not header:
                header = [v.strip().lower() for v in values]
                continue
            if "".join(values).strip():
                records.append((line, values))
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    return header, records


def _missing(header: list[str], required: tuple[str, ...], file: str) -> None:
    missing = [r for r in required if r not in header]
    if missing:
        raise SourceError(N_("the header lacks {missing}").format(missing=", ".join(missing)), file, 1)


def _table(source: Source, options: ReadOptions, required: tuple[str, ...]) -> tuple[list[str], list[Any], str]:
    text, separator, encoding = _data(source, options, required)
    header, records = _records(text, separator, source.name)
    _missing(header, required, source.name)
    return header, records, encoding


NAMES = ("reference", "transdate", "accno", "debit", "credit", "exchangerate", "currency", "memo", "description",
         "department", *EXTRAS)  # fmt: skip


@dataclass
class _Journal:
    """The rows of the GL import that hold something, as columns."""

    width: int
    """Fields in the header."""
    rows: np.ndarray
    """The line each row ends on."""
    counts: np.ndarray
    """Fields in each row."""
    texts: dict[str, pa.Array]
    """The stripped value of each of `NAMES` in each row, as `_column` gives it."""
    present: dict[str, np.ndarray]
    """For debit and credit: which rows have the column."""


def _journal(source: Source, options: ReadOptions) -> tuple[_Journal, str]:
    """The journal's rows: read by Arrow where every line is plain CSV (`_plain`), else by Python's csv module."""
    text, separator, encoding = _data(source, options, REQUIRED)
    plain = None
    if "\x00" not in text:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            data = b""
        if data:
            del text  # the bytes hold it now
            held = [data]
            del data
            plain = _plain(held, separator)  # lets the bytes go once parsed
            if plain is None:
                text, separator, encoding = _data(source, options, REQUIRED)
    if plain is None:
        header, records = _records(text, separator, source.name)
        del text
        _missing(header, REQUIRED, source.name)
        return _from_records(header, records), encoding
    _missing(plain[0], REQUIRED, source.name)
    return plain[1], encoding


def _from_records(header: list[str], records: list[Any]) -> _Journal:
    present = {}
    for name in ("debit", "credit"):
        index = len(header) - 1 - header[::-1].index(name)
        present[name] = np.array([index < len(values) or name in header[: len(values)] for _, values in records], bool)
    return _Journal(
        width=len(header),
        rows=np.array([line for line, _ in records], np.int64),
        counts=np.array([len(values) for _, values in records], np.int64),
        texts={name: pa.array(values, pa.string()) for name, values in _columns(header, records, NAMES).items()},
        present=present,
    )


def _one_row(line: str, separator: str) -> list[str]:
    """The fields of one line, by Python's csv module (fields up to `MAX_FIELD`, as `csv_records`)."""
    previous = csv.field_size_limit(MAX_FIELD)
    try:
        return next(csv.reader([line], delimiter=separator), [])
    finally:
        csv.field_size_limit(previous)


def _plain(held: list[bytes], separator: str) -> tuple[list[str], _Journal] | None:
    """The header and rows of the UTF-8 text in `held` (taken from it) whose lines are all plain CSV: no line break but at their end
    (LF or CRLF), fields unquoted (no quote, no separator) or quoted whole (``""`` for a quote). Python's
    csv module and Arrow's CSV parser read those alike. None for any other file."""
    lines = _lines_of(held.pop())
    if len(lines) and lines[len(lines) - 1].as_py() == "":
        lines = lines.slice(0, len(lines) - 1)  # the empty piece after the last line break
    if not len(lines) or pc.max(pc.utf8_length(lines)).as_py() > MAX_FIELD:
        return None
    sep = re.escape(separator) if separator != "\t" else "\t"
    field = f'(?:[^"{sep}\r\n]*|"(?:[^"\r\n]|"")*")'
    if not pc.all(pc.match_substring_regex(lines, f"^{field}(?:{sep}{field})*\r?\n?$")).as_py():
        return None
    values = _one_row(_line(lines[0].as_py()), separator)
    if not values:
        return None
    header = [v.strip().lower() for v in values]
    width = len(header)
    rows = lines.slice(1)
    del lines
    if width <= 100:
        exact = f"^{field}(?:{sep}{field}){{{width - 1}}}\\r?\\n?$"
        full = np.asarray(pc.match_substring_regex(rows, exact).to_numpy(zero_copy_only=False), dtype=bool)
    else:
        full = np.zeros(len(rows), dtype=bool)
    odd = {int(i): _one_row(_line(rows[i].as_py()), separator) for i in np.flatnonzero(~full).tolist()}
    for i, row in odd.items():
        full[i] = len(row) == width
    plain = rows if full.all() else rows.filter(pa.array(full))
    size = len(rows)
    del rows
    pieces: list[list[pa.Array]] = [[] for _ in range(width)]
    for start in range(0, len(plain), BATCH):  # parsed a batch of lines at a time: only the columns are held
        cells = _arrow_fields(plain.slice(start, BATCH), width, separator)
        if cells is None:
            return None
        for column, cell in zip(pieces, cells, strict=True):
            column.append(columns.strip(cell))
        del cells
    del plain
    stripped = []
    for column in pieces:
        stripped.append(pa.concat_arrays(column) if column else pa.array([], pa.string()))
        column.clear()
    # rows whose fields are all blank hold nothing: left out, as `_records` leaves them
    blank = np.zeros(size, dtype=bool)
    if width and len(stripped[0]):
        empty = pc.equal(stripped[0], "")
        for cell in stripped[1:]:
            empty = pc.and_(empty, pc.equal(cell, ""))
        blank[full] = empty.to_numpy(zero_copy_only=False)
    odd = {i: row for i, row in odd.items() if len(row) != width}
    for i, row in odd.items():
        blank[i] = not "".join(row).strip()
    kept = ~blank
    # full rows first, then the others: `order` puts them back in file order
    full_kept = np.flatnonzero(full & kept)
    odd_kept = [i for i in sorted(odd) if kept[i]]
    position = np.empty(len(full_kept) + len(odd_kept), dtype=np.int64)
    rows_in_order = np.flatnonzero(kept)
    rank = np.empty(size, dtype=np.int64)
    rank[rows_in_order] = np.arange(len(rows_in_order))
    position[: len(full_kept)] = rank[full_kept]
    position[len(full_kept) :] = rank[odd_kept] if odd_kept else np.zeros(0, dtype=np.int64)
    order = pa.array(np.argsort(position, kind="stable"))
    keep_full = pa.array(kept[full])
    odd_records = [(0, odd[i]) for i in odd_kept]
    texts = {}
    for name in NAMES:
        if name in header:
            index = len(header) - 1 - header[::-1].index(name)
            head = stripped[index] if kept[full].all() else stripped[index].filter(keep_full)
        else:
            head = pa.array([""] * len(full_kept), pa.string())
        tail = pa.array(_column(header, odd_records, name), pa.string())
        texts[name] = pa.concat_arrays([head, tail]).take(order) if odd_records else head
    present = {}
    for name in ("debit", "credit"):
        index = len(header) - 1 - header[::-1].index(name) if name in header else width
        has = np.ones(len(rows_in_order), dtype=bool)
        for i in odd_kept:
            values = odd[i]
            has[rank[i]] = index < len(values) or name in header[: len(values)]
        present[name] = has
    counts = np.full(size, width, dtype=np.int64)
    for i, row in odd.items():
        counts[i] = len(row)
    return header, _Journal(width, rows_in_order + 2, counts[kept], texts, present)


def _line(text: str) -> str:
    """A line without its line break (LF or CRLF)."""
    text = text[:-1] if text.endswith("\n") else text
    return text[:-1] if text.endswith("\r") else text


def _lines_of(data: bytes) -> pa.Array:
    """The lines of UTF-8 `data` as ``split("\\n")`` gives them but each with its line break, as one Arrow
    string array over `data` itself."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    offsets = np.concatenate(([0], ends + 1, [len(data)]))
    kind, width = (pa.string(), np.int32) if len(data) < 2**31 else (pa.large_string(), np.int64)
    return pa.Array.from_buffers(
        kind, len(offsets) - 1, [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(data)]
    )


def _arrow_fields(lines: pa.Array, width: int, separator: str) -> list[pa.Array] | None:
    """The `width` fields of each plain CSV line (with its line break), by Arrow's CSV parser; None if it
    reads them otherwise."""
    if not len(lines):
        return [pa.array([], pa.string()) for _ in range(width)]
    kind = np.int64 if lines.type == pa.large_string() else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=kind)[lines.offset : lines.offset + len(lines) + 1]
    names = [f"f{i}" for i in range(width)]
    longest = int(np.diff(offsets).max())
    try:
        read = pacsv.read_csv(
            pa.BufferReader(lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))),
            # a block holds whole rows: at least the longest line (a field may be up to MAX_FIELD)
            read_options=pacsv.ReadOptions(column_names=names, block_size=max(1 << 20, 2 * (longest + 1))),
            parse_options=pacsv.ParseOptions(delimiter=separator, quote_char='"', double_quote=True, escape_char=False,
                                              newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )  # fmt: skip
    except pa.ArrowInvalid:
        return None
    if read.num_rows != len(lines):
        return None
    found = []
    for name in names:  # each column in one piece, the parser's pieces let go one column at a time
        found.append(columns.texts(read.column(name)))
        read = read.drop_columns([name])
    return found


def _fields(header: list[str], values: list[str]) -> dict[str, str]:
    return {name: value.strip() for name, value in zip(header, values, strict=False)}


class _Lines(Rows):
    """The journal's lines, kept as columns (`_lines` fills `columns`)."""

    columns: dict[str, pa.Array]

    def lines(self) -> pa.Table:
        return conform("lines", self.columns)


def _columns(header: list[str], records: list[Any], names: tuple[str, ...]) -> dict[str, list[str]]:
    """`_column` of each name, a whole row at a time where every row is as long as the header."""
    width = len(header)
    if not records or any(len(values) != width for _, values in records):
        return {name: _column(header, records, name) for name in names}
    where = [(name, width - 1 - header[::-1].index(name)) for name in names if name in header]
    columns = zip(*(itemgetter(*(i for _, i in where))(values) for _, values in records), strict=True)
    found = {name: list(map(str.strip, column)) for (name, _), column in zip(where, columns, strict=True)}
    return {name: found.get(name, [""] * len(records)) for name in names}


def _column(header: list[str], records: list[Any], name: str) -> list[str]:
    """The stripped values of column `name` of every record ("" where a row is too short or the header
    lacks it); a name the header repeats is its last column, as in `_fields`."""
    if name not in header:
        return [""] * len(records)
    index = len(header) - 1 - header[::-1].index(name)
    return [values[index].strip() if index < len(values) else _fields(header, values).get(name, "")
            for _, values in records]  # fmt: skip


def _rates(texts: list[str]) -> dict[str, str | ParseError]:
    """`parse_rate` of each distinct text and of "1" (or the error it raises)."""
    found: dict[str, str | ParseError] = {}
    for text in {*texts, "1"}:
        try:
            found[text] = parse_rate(text)
        except ParseError as exc:
            found[text] = exc
    return found


def _base_currency(currencies: pa.Array, rates: pa.Array, parsed: dict[str, str | ParseError]) -> str:
    """The currency of rows at exchange rate 1 (or none), by majority; CHF if the file never says."""
    # an error: the row itself reports it; an empty rate is 1
    one = _per_distinct(rates, lambda text: not isinstance(parsed[text or "1"], ParseError)
                        and parsed[text or "1"] in ("1", ""), pa.bool_())  # fmt: skip
    voting = pc.and_(one, pc.not_equal(currencies, ""))
    upper = _per_distinct(currencies.filter(voting), str.upper, pa.string())
    if not len(upper):
        return "CHF"
    encoded = pc.dictionary_encode(upper)
    votes = np.bincount(encoded.indices.to_numpy(zero_copy_only=False))
    return str(encoded.dictionary[int(np.argmax(votes))].as_py())  # a tie: the first named, as Counter gives


def _per_distinct(values: pa.Array, function: Any, kind: pa.DataType) -> pa.Array:
    """`function` of each value, called once per distinct value."""
    encoded = pc.dictionary_encode(values)
    return pa.array([function(v) for v in encoded.dictionary.to_pylist()], kind).take(encoded.indices)


def _amounts(journal: _Journal) -> dict[str, tuple[pa.Array, dict[int, ParseError]]]:
    """Cents (null where empty or refused) of each debit and credit and the `ParseError` of each refused
    one, the decimal mark decided from both columns (only from the rows that have the column)."""
    present = [journal.texts[name].filter(pa.array(journal.present[name])) for name in ("debit", "credit")]
    mark = columns.decimal_mark(pa.concat_arrays(present), ".")
    out = {}
    for name in ("debit", "credit"):
        fast, undecided = columns.cents(journal.texts[name], mark)
        out[name] = columns.complete(fast, undecided, journal.texts[name], lambda t: parse_cents(t, mark))
    return out


def _mask(size: int, where: Any) -> np.ndarray:
    found = np.zeros(size, dtype=bool)
    found[list(where)] = True
    return found


def _lines(journal: _Journal, out: _Lines, base: str, rates: dict[str, str | ParseError]) -> pa.Table:
    """The lines (in `out`'s columns) and the extras table; problems go to `out`."""
    texts = journal.texts
    size = len(journal.rows)
    day_texts = texts["transdate"]
    layout = columns.date_layout(day_texts)
    fast, undecided = columns.dates(day_texts, layout)
    days, day_errors = columns.complete(fast, undecided, day_texts, lambda t: parse_date(t, layout))
    amounts = _amounts(journal)
    for name in ("transdate", "debit", "credit"):
        texts[name] = pa.array([], pa.string())  # parsed: let go
    del day_texts, fast
    rate_failed = _per_distinct(texts["exchangerate"], lambda t: isinstance(rates[t], ParseError), pa.bool_())
    wide = journal.counts == journal.width
    failed = _mask(size, day_errors) | _mask(size, amounts["debit"][1]) | _mask(size, amounts["credit"][1])
    failed |= rate_failed.to_numpy(zero_copy_only=False)
    dated = pc.is_valid(days).to_numpy(zero_copy_only=False)
    accounted = pc.not_equal(texts["accno"], "").to_numpy(zero_copy_only=False)
    refused: dict[int, str] = {}
    for i in np.flatnonzero(~(wide & ~failed & dated & accounted)).tolist():
        if not wide[i]:
            refused[i] = N_("{count} fields where the header has {count_b}; row left out").format(count=int(journal.counts[i]), count_b=journal.width)  # fmt: skip
        elif failed[i]:
            exc = day_errors.get(i) or amounts["debit"][1].get(i) or amounts["credit"][1].get(i)
            refused[i] = N_("{exc}; row left out").format(exc=exc or rates[texts["exchangerate"][i].as_py()])
        else:
            refused[i] = N_("{value} is empty; row left out").format(value="transdate" if not dated[i] else "accno")
    passed = wide & ~failed & dated & accounted
    # consecutive rows with one reference form one entry
    reference = texts["reference"].filter(pa.array(passed))
    starts = np.ones(len(reference), dtype=bool)
    if len(reference) > 1:
        starts[1:] = pc.not_equal(reference.slice(1), reference.slice(0, len(reference) - 1)).to_numpy(
            zero_copy_only=False
        )
    entry = np.zeros(size, dtype=np.int64)
    entry[passed] = np.cumsum(starts)
    debit = pc.fill_null(amounts["debit"][0], 0).to_numpy(zero_copy_only=False)
    credit = pc.fill_null(amounts["credit"][0], 0).to_numpy(zero_copy_only=False)
    amount = debit - credit
    currency = _per_distinct(texts["currency"], str.upper, pa.string())
    foreign = passed & pc.and_(pc.not_equal(currency, ""), pc.not_equal(currency, base)).to_numpy(zero_copy_only=False)
    rows_foreign: dict[int, tuple[int, str, int, str]] = {}
    for i in np.flatnonzero(foreign).tolist():
        code, rate = currency[i].as_py(), cast(str, rates[texts["exchangerate"][i].as_py()])
        if not rate or Decimal(rate) <= 0:
            refused[i] = N_("{currency} row without an exchange rate; row left out").format(currency=code)
            continue
        try:
            converted = (Decimal(int(amount[i])) * Decimal(rate)).quantize(Decimal(1), ROUND_HALF_UP)
        except ArithmeticError:  # more digits than a Decimal holds
            converted = Decimal(MAX_CENTS + 1)
        if abs(converted) > MAX_CENTS:
            refused[i] = N_("{currency} amount × exchange rate {rate} is too large; row left out").format(currency=code, rate=rate)  # fmt: skip
            continue
        rows_foreign[i] = (int(converted), code, int(amount[i]), rate)
    for name in ("exchangerate", "currency"):
        texts[name] = pa.array([], pa.string())  # used: let go
    del currency
    for i in sorted(refused):
        out.problem(int(journal.rows[i]), refused[i])
    kept = passed & ~_mask(size, refused)
    taken = pa.array(kept)

    def chosen(values: pa.Array) -> pa.Array:
        return values if kept.all() else values.filter(taken)

    at = np.flatnonzero(kept)
    for i, (value, _, _, _) in rows_foreign.items():
        amount[i] = value
    is_foreign = pa.array(_mask(size, rows_foreign)[kept])
    foreign_at = sorted(rows_foreign)
    entries = entry[kept]
    line = np.ones(len(entries), dtype=np.int64)
    if len(entries):
        first = np.r_[True, entries[1:] != entries[:-1]]  # an entry's rows are consecutive
        begin = np.flatnonzero(first)
        line = np.arange(len(entries)) - np.repeat(begin, np.diff(np.r_[begin, len(entries)])) + 1
    memo = chosen(texts["memo"])
    row = pa.array(journal.rows[kept], pa.int64())
    lines = {
        "entry": pc.cast(pa.array(entries), pa.string()),
        "line": pa.array(line, pa.int64()),
        "amount": pa.array(amount[kept], pa.int64()),
        "currency": pc.replace_with_mask(pa.repeat(pa.scalar("", pa.string()), len(at)), is_foreign,
                                         pa.array([rows_foreign[i][1] for i in foreign_at], pa.string())),
        "amount_currency": pc.replace_with_mask(pa.nulls(len(at), pa.int64()), is_foreign,
                                                pa.array([rows_foreign[i][2] for i in foreign_at], pa.int64())),
        "rate": pc.replace_with_mask(pa.repeat(pa.scalar("", pa.string()), len(at)), is_foreign,
                                     pa.array([rows_foreign[i][3] for i in foreign_at], pa.string())),
        "date": chosen(days),
        "doc": chosen(texts["reference"]),
        "account": chosen(texts["accno"]),
        "description": pc.if_else(pc.not_equal(memo, ""), memo, chosen(texts["description"])),
        "cost_centre": chosen(texts["department"]),
        "source_file": repeated_text(out.file, len(at)),
        "source_row": row,
    }  # fmt: skip
    out.columns = lines
    return pa.table({"source_row": row, **{name: chosen(texts[name]) for name in EXTRAS}})


def _chart(source: Source, options: ReadOptions) -> tuple[pa.Table, pa.Table, list[Problem]]:
    header, records, _ = _table(source, options, CHART_REQUIRED)
    accounts, groups, problems = [], [], []
    heading = ""
    for number, values in records:
        if len(values) != len(header):
            problems.append(Problem("error", N_("{count} fields where the header has {count_b}; row left out").format(count=len(values), count_b=len(header)),
                                    source.name, number))  # fmt: skip
            continue
        row = _fields(header, values)
        kind = row["charttype"].upper()
        if not row["accno"] or kind not in ("A", "H"):
            problems.append(Problem("error", N_("chart row needs an accno and charttype A or H (got {accno!r}, {charttype!r}); row left out").format(accno=row['accno'], charttype=row['charttype']), source.name, number))  # fmt: skip
            continue
        if kind == "H":
            heading = row["accno"]
            groups.append({"code": row["accno"], "name": row["description"]})
        else:
            accounts.append({"code": row["accno"], "name": row["description"], "parent": heading, "active": True,
                             "type": TYPES.get(row.get("category", "").upper(), "")})  # fmt: skip
    return table("accounts", accounts), table("groups", groups), problems


NUMBERS = {"customernumber": "customer", "vendornumber": "supplier"}
CONTACT_FIELDS = {
    "name": "name", "firstname": "first_name", "lastname": "last_name", "address1": "street",
    "address2": "address_line2", "zipcode": "zip", "city": "city", "country": "country", "phone": "phone",
    "mobile": "mobile", "email": "email", "language_code": "language", "arap_accno": "account", "notes": "notes",
}  # fmt: skip


def _extras_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Extras rows as a table: ``source_file``, ``source_row``, ``id`` and a text column per other name."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name, None if name == "source_row" else "") for row in rows],
                                    pa.int64() if name == "source_row" else pa.string()) for name in names})  # fmt: skip


def _contacts_kind(head: bytes) -> str:
    """``customer`` or ``supplier`` for a customers or vendors CSV (header with ``customernumber`` or
    ``vendornumber`` and ``name``), else ""."""
    names = _header(head)[1]
    return next((role for column, role in NUMBERS.items() if column in names and "name" in names), "")


def _partners(sources: list[Source], options: ReadOptions) -> tuple[pa.Table, list[Problem], list[dict[str, Any]]]:
    """Customers and vendors (the fields of Run my Accounts' API, FORMATS.md): one partner per row; a
    vendor whose number is a customer's (the first of that number) makes that partner both. ``typeofcontact`` company or person,
    ``address1`` the street as written, ``terms`` the payment terms in days. Other columns that hold
    something (``salutation``, ``payment_accno``…) are returned as extras rows."""
    found: list[dict[str, Any]] = []
    first: dict[tuple[str, str], dict[str, Any]] = {}  # (code, file's role) -> its first partner
    problems: list[Problem] = []
    extras: list[dict[str, Any]] = []
    for source in sources:
        role = _contacts_kind(source.head())
        number = next(column for column, r in NUMBERS.items() if r == role)
        header, records, _ = _table(source, options, (number, "name"))
        for line, values in records:
            if len(values) != len(header):
                problems.append(Problem("error", N_("{count} fields where the header has {count_b}; row left out").format(count=len(values), count_b=len(header)), source.name, line))  # fmt: skip
                continue
            row = _fields(header, values)
            code = row[number]
            other = next((p for (c, r), p in first.items() if c == code and r != role), None)
            if other is not None and other["roles"] != "both":
                other["roles"] = "both"  # the same number among customers and vendors: one partner
                first[(code, role)] = other
                continue
            if (code, role) in first:
                problems.append(Problem("warning", N_("{number} {code!r} is on an earlier row too; both kept").format(number=number, code=code),
                                        source.name, line))  # fmt: skip
            partner: dict[str, Any] = {"id": code, "roles": role}
            partner.update({column: row.get(field, "") for field, column in CONTACT_FIELDS.items()})
            kind = row.get("typeofcontact", "").lower()
            partner["kind"] = kind if kind in ("company", "person") else ""
            terms = row.get("terms", "")
            if terms:
                if terms.lstrip("-").isdigit() and abs(int(terms)) < 2**31:
                    partner["payment_terms"] = int(terms)
                else:
                    problems.append(Problem("error", N_("terms {terms!r} is not a number of days; left empty").format(terms=terms),
                                            source.name, line))  # fmt: skip
            first.setdefault((code, role), partner)
            found.append(partner)
            used = {number, "typeofcontact", "terms", *CONTACT_FIELDS}
            rest = {k: v for k, v in row.items() if k not in used and v}
            if rest:
                extras.append({"source_file": source.name, "source_row": line, "id": code, **rest})
    return table("partners", found), problems, extras


FORMAT = RunMyAccountsReader
