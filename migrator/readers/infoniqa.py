"""Infoniqa ONE 50 (formerly Sage 50 Switzerland): the journal export, which is also its import format.

``,``-separated, CR LF, quoted texts, Windows-1252, dates d.m.yyyy, header
``Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,Tx1,Tx2,PkKey,OpId,Flag``.
One row per account side: ``S`` debits ``Kto``, ``H`` credits it, ``GKto`` is the counter account
(``div`` in collective entries, ``MTyp`` 2). A simple entry appears once from each side, so every
row is one canonical line; the rows of one voucher (consecutive rows with the same ``Blg`` and date)
form one entry.

VAT (*inference* from the reference export, ``../shared/reference/vendors/infoniqa``): a row with a
code in ``SId`` is a VAT base whose ``Netto`` is the **net** amount and ``Steuer`` the VAT on it;
the VAT itself is a row of its own with ``BTyp`` 2, no ``SId``, ``Netto`` the VAT and ``Steuer``
the base it was computed on. Evidence: in voucher 8, ``1021 S 646.20`` faces ``3230 H 597.80``
(``USt77``, ``Steuer`` 48.40) and ``2200 H 48.40`` (``BTyp`` 2, ``Steuer`` 597.80); every one of
the 442 vouchers balances only when ``Netto`` is read as the row's own amount. The VAT row is
linked to its base by those mirrored amounts and takes the base's code.

``FW-Betrag`` is a foreign amount, but the export does not name its currency (Infoniqa takes it
from the account), so non-zero values stay in the extras with a warning. A code's kind comes from the Infoniqa code table (``mappings/vat``), else from its prefix; its
rate is checked against the amounts, because a code keeps its name when the rate changes (the
reference books 2024 sales at 8.1 % under ``USt77``). ``Tx2``, ``Grp``,
``SIdx``, ``KIdx``, ``Code``, ``PkKey``, ``OpId``, ``Flag`` (meaning *unverified*) are kept as extras.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from migrator import columns, vat
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, conform, repeated_text, table
from migrator.parsing import (
    MAX_FIELD,
    ParseError,
    codec_name,
    csv_records,
    decimal_text,
    decode,
    detect_encoding,
    head_text,
    parse_cents,
    parse_date,
)
from migrator.readers.base import ReadOptions, accounts_from_lines
from migrator.sources import Source
from migrator.validate import SWISS_RATES

HEADER = ("Blg", "Datum", "Kto", "S/H", "Grp", "GKto", "SId", "SIdx", "KIdx", "BTyp", "MTyp", "Code",
          "Netto", "Steuer", "FW-Betrag", "Tx1", "Tx2", "PkKey", "OpId", "Flag")  # fmt: skip
REQUIRED = ("Blg", "Datum", "Kto", "S/H", "Netto")
EXTRAS = ("Grp", "GKto", "SIdx", "KIdx", "BTyp", "MTyp", "Code", "FW-Betrag", "Tx2", "PkKey", "OpId", "Flag")
VAT_ROW = "2"  # BTyp of the row that books the VAT (inference, see module docstring)
# Kind of a code the Infoniqa table lacks, from its prefix (inference from the codes in FORMATS.md
# and the reference export: USN/USt sales, VSM/VSB input VAT on material/investments, VDL acquisition).
KIND_PREFIXES = (("US", "sales"), ("VSM", "input_material"), ("VSB", "input_investment"), ("VDL", "acquisition"))
# A line of plain CSV: fields unquoted (no quote, no comma) or quoted ("" for a quote), none spanning
# lines. Python's csv module and Arrow's CSV parser read such lines alike; other files are read by
# Python's csv module alone.
_FIELD = r'(?:[^",]*|"(?:[^"]|"")*")'
_PLAIN_LINE = "^" + _FIELD + "(?:," + _FIELD + ")*$"


class InfoniqaReader:
    name = "infoniqa"
    extensions = (".csv",)

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        first = head_text(source.head()).split("\n", 1)[0]
        names = [n.strip().strip('"') for n in first.strip().split(",")]
        if names[:4] == ["Blg", "Datum", "Kto", "S/H"]:
            return 0.95
        return 0.8 if all(r in names for r in REQUIRED) and "GKto" in names else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        data = source.read_bytes()
        encoding = options.encoding or detect_encoding(data)[0]
        try:
            text, encoding = decode(data, encoding, source.name)
            del data  # the text is enough from here on
            held = [text.lstrip("\ufeff")]
            del text
            journal = _journal(held, source.name)
        except ParseError as exc:
            raise SourceError(str(exc)) from None
        if journal is None:
            raise SourceError(N_("the file is empty; expected the header Blg,Datum,Kto,S/H,…"), source.name)
        missing = [r for r in REQUIRED if r not in journal.header]
        if missing:
            raise SourceError(
                N_("not an Infoniqa journal: the header lacks {missing}").format(missing=", ".join(missing)),
                source.name,
                1,
            )
        ledger_lines, vat_codes, extras, problems = _lines(journal, source.name)
        accounts, notes = accounts_from_lines(ledger_lines, source.name)
        return Ledger(
            company=Company(base_currency="CHF", source_system="Infoniqa ONE 50 / Sage 50"),
            accounts=accounts,
            vat_codes=vat_codes,
            lines=ledger_lines,
            problems=tuple(problems + notes),
            extras={"lines": extras},
            format=self.name,
            encoding=codec_name(encoding),
        )


@dataclass
class _Journal:
    """The records after the header that hold any text: those as wide as the header as columns (one
    per header position), the others (a problem each) as their values."""

    header: list[str]
    rows: np.ndarray  # line each record ends on
    counts: np.ndarray  # its number of fields
    columns: list[pa.Array]  # the records as wide as the header, in order
    odd: list[list[str]] = field(default_factory=list)  # the other records' values, in order

    def column(self, name: str) -> pa.Array:
        """The stripped values of column `name` in the full-width records (``""`` if there is none);
        of a name the header repeats, the last (as a dict of the row keeps it)."""
        if name not in self.header:
            return pa.array([""] * (len(self.columns[0]) if self.columns else 0), pa.string())
        return columns.strip(self.columns[len(self.header) - 1 - self.header[::-1].index(name)])

    def odd_values(self, name: str) -> list[str]:
        """The stripped value of `name` in each odd record, as ``dict(zip(header, values))`` gives it."""
        return [dict(zip(self.header, (v.strip() for v in values), strict=False)).get(name, "") for values in self.odd]


def _journal(held: list[str], file: str) -> _Journal | None:
    """The records of the file's text (`held`, the only reference to it, so that it can be let go
    once no longer needed); None when it is empty or its first record is."""
    if "\x00" in held[0] or held[0].count("\r") != held[0].count("\r\n"):  # NULs or lone CRs: Python's csv alone
        return _python_journal(held.pop(), file)
    fast = _plain_journal(held)
    return _python_journal(held.pop(), file) if fast is False else fast


def _python_journal(text: str, file: str) -> _Journal | None:
    """`_Journal` by Python's csv module, for any file (quoted line breaks, stray quotes, lone CRs)."""
    records = list(csv_records(text, ",", file))
    if not records or not any(records[0][1]):
        return None
    width = len(records[0][1])
    rows = [(number, values) for number, values in records[1:] if any(v.strip() for v in values)]
    full = [values for _, values in rows if len(values) == width]
    cells = [pa.array(list(c), pa.string()) for c in zip(*full, strict=True)] if full else []
    return _Journal(
        header=[n.strip() for n in records[0][1]],
        rows=np.array([n for n, _ in rows], dtype=np.int64),
        counts=np.array([len(v) for _, v in rows], dtype=np.int64),
        columns=cells or [pa.array([], pa.string()) for _ in range(width)],
        odd=[values for _, values in rows if len(values) != width],
    )


def _plain_journal(held: list[str]) -> _Journal | Literal[False] | None:
    """`_Journal` of a file whose every line is plain CSV (`_PLAIN_LINE`), read by Arrow; False for another
    file. The text (`held`) is let go once Arrow has read the fields."""
    lines = columns.physical_lines(held[0])
    if len(lines) and lines[len(lines) - 1].as_py() == "":
        lines = lines.slice(0, len(lines) - 1)  # the line break that ends the last line
    lines = pc.utf8_rtrim(lines, "\r")
    if not len(lines):
        return None
    if pc.max(pc.utf8_length(lines)).as_py() > MAX_FIELD or not _plain(lines[:1]).all():
        return False
    first = _fields(lines[0].as_py())
    if not any(first):
        return None
    width = len(first)
    data = lines.slice(1)
    # lines of exactly `width` plain fields in one regex pass; the others, if plain, counted one by one
    exact = f"^{_FIELD}(?:,{_FIELD}){{{width - 1}}}$" if width <= 100 else None
    full = _plain(data, exact) if exact else np.zeros(len(data), dtype=bool)
    others = np.flatnonzero(~full)
    if not _plain(data.take(pa.array(others))).all():
        return False
    counts = np.full(len(data), width, dtype=np.int64)
    counts[others] = [len(_fields(data[i].as_py())) for i in others.tolist()]
    full = counts == width
    cells = _arrow_fields(data if full.all() else data.filter(pa.array(full)), width)  # (no copy when all are)
    if cells is None:
        return False
    held.clear()  # no way back to Python's csv module from here
    blank = np.zeros(len(data), dtype=bool)
    if len(cells[0]):
        empty = pc.equal(columns.strip(cells[0]), "")
        for cell in cells[1:]:
            empty = pc.and_(empty, pc.equal(columns.strip(cell), ""))
        blank[full] = empty.to_numpy(zero_copy_only=False)
    odd = []
    for index in np.flatnonzero(~full).tolist():
        values = _fields(data[index].as_py())
        if any(v.strip() for v in values):
            odd.append(values)
        else:
            blank[index] = True
    kept = pa.array(~blank[full])
    return _Journal(
        header=[n.strip() for n in first],
        rows=np.flatnonzero(~blank) + 2,
        counts=counts[~blank],
        columns=[cell.filter(kept) for cell in cells] if blank.any() else cells,  # (no copy of every field)
        odd=odd,
    )


def _fields(line: str) -> list[str]:
    """The fields of one plain CSV line, by Python's csv module (fields up to `MAX_FIELD`, as `csv_records`)."""
    previous = csv.field_size_limit(MAX_FIELD)
    try:
        return next(csv.reader([line]), [])
    finally:
        csv.field_size_limit(previous)


def _plain(lines: pa.Array, pattern: str = _PLAIN_LINE) -> np.ndarray:
    """Which lines match `pattern` (by default: plain CSV)."""
    return np.asarray(pc.match_substring_regex(lines, pattern).to_numpy(zero_copy_only=False), dtype=bool)


def _arrow_fields(lines: pa.Array, width: int) -> list[pa.Array] | None:
    """The `width` fields of each plain CSV line, by Arrow's CSV parser; None if it reads another number of rows."""
    if not len(lines):
        return [pa.array([], pa.string()) for _ in range(width)]
    ended = pc.binary_join_element_wise(lines, "", "\n")
    offsets = ended.buffers()[1]
    end = int(np.frombuffer(offsets, dtype=np.int32, count=len(ended) + 1, offset=ended.offset * 4)[-1])
    start = int(np.frombuffer(offsets, dtype=np.int32, count=1, offset=ended.offset * 4)[0])
    names = [f"f{i}" for i in range(width)]
    read = pcsv.read_csv(
        pa.BufferReader(ended.buffers()[2].slice(start, end - start)),
        # a block holds whole rows: at least the longest line (a field may be up to MAX_FIELD)
        read_options=pcsv.ReadOptions(column_names=names, block_size=max(1 << 20, 2 * (int(pc.max(pc.binary_length(ended)).as_py()) + 1))),
        parse_options=pcsv.ParseOptions(delimiter=",", quote_char='"', double_quote=True, escape_char=False,
                                        newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                                            quoted_strings_can_be_null=False),
    )  # fmt: skip
    del ended, offsets  # not needed once parsed
    if read.num_rows != len(lines):
        return None
    chunked: list[pa.ChunkedArray | None] = [read.column(name) for name in names]
    del read
    out = []
    for index, column in enumerate(chunked):  # each column in one piece, its chunks let go at once
        chunked[index] = None
        out.append(columns.texts(column))
        del column
    return out


def _lines(journal: _Journal, file: str) -> tuple[pa.Table, pa.Table, pa.Table, list[Problem]]:
    width = len(journal.header)
    full = journal.counts == width
    rows = journal.rows[full]
    refused: dict[int, str] = {}  # by position among the records
    for position in np.flatnonzero(~full).tolist():
        refused[position] = N_("{count} fields where the header has {width}; row left out").format(count=int(journal.counts[position]), width=width)  # fmt: skip
    get = journal.column
    datum, net_text, tax_text, fw_text = get("Datum"), get("Netto"), get("Steuer"), get("FW-Betrag")
    # the date layout and decimal mark are decided from every record, as wide as the header or not
    layout = columns.date_layout(pa.concat_arrays([datum, pa.array(journal.odd_values("Datum"), pa.string())]))
    amounts = [net_text, tax_text, fw_text] + [pa.array(journal.odd_values(c), pa.string()) for c in ("Netto", "Steuer", "FW-Betrag")]  # fmt: skip
    mark = columns.decimal_mark(pa.concat_arrays(amounts))
    dates, date_errors = columns.complete(*columns.dates(datum, layout), datum, lambda t: parse_date(t, layout))
    money = []
    errors: dict[int, ParseError] = {}
    for values in (
        fw_text,
        tax_text,
        net_text,
    ):
        cents, refusals = columns.complete(*columns.cents(values, mark), values, lambda t: parse_cents(t, mark))
        money.append(cents)
        errors.update(refusals)  # the first column's error wins, as read: Netto, then Steuer, then FW-Betrag
    fw, tax, net = money
    errors.update(date_errors)
    at = np.flatnonzero(full)  # position among the records of each full-width one
    for index, exc in errors.items():
        refused[int(at[index])] = N_("{exc}; row left out").format(exc=exc)
    account, side_text, blg = get("Kto"), get("S/H"), get("Blg")
    side = _upper(side_text)
    debit = pc.equal(side, "S").to_numpy(zero_copy_only=False)
    credit = pc.equal(side, "H").to_numpy(zero_copy_only=False)
    no_date = pc.is_null(dates).to_numpy(zero_copy_only=False)
    no_net = pc.is_null(net).to_numpy(zero_copy_only=False)
    no_account = pc.equal(account, "").to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(no_date | no_net | ~(debit | credit) | no_account).tolist():
        if int(at[index]) not in refused:
            what = "date" if no_date[index] else "Netto" if no_net[index] else "account" if no_account[index] else "S/H"
            refused[int(at[index])] = N_("{what} missing or not S/H ({row!r}); row left out").format(what=what, row=side_text[index].as_py())  # fmt: skip
    problems = [Problem("error", refused[p], file, int(journal.rows[p])) for p in sorted(refused)]
    accepted = np.ones(len(rows), dtype=bool)
    accepted[[i for i, p in enumerate(at.tolist()) if p in refused]] = False
    take = pa.array(np.flatnonzero(accepted))
    date = dates.take(take)
    doc = blg.take(take)
    day = pc.fill_null(date.cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
    new = np.ones(len(take), dtype=bool)
    new[1:] = ~(pc.equal(doc[1:], doc[:-1]).to_numpy(zero_copy_only=False) & (day[1:] == day[:-1]))
    entries = np.cumsum(new)
    net_cents = net.take(take).to_numpy(zero_copy_only=False).astype(np.int64)
    amount = np.where(debit[accepted], net_cents, -net_cents)
    taxes = pc.fill_null(tax.take(take), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    foreign = int(pc.sum(pc.not_equal(pc.fill_null(fw.take(take), 0), 0)).as_py() or 0)
    found = _Found(
        entries=entries,
        accounts=account.take(take),
        amounts=amount,
        taxes=taxes,
        vat_rows=pc.equal(get("BTyp").take(take), VAT_ROW).to_numpy(zero_copy_only=False),
        codes=get("SId").take(take),
        source_rows=rows[accepted],
    )
    problems += _link(found, file)
    vat_codes, notes = _vat_codes(found, file)
    problems += notes
    if foreign:
        problems.append(Problem("warning", N_("{foreign} rows carry a foreign amount (FW-Betrag) without naming its currency; kept as extras, the lines are in base currency").format(foreign=foreign), file))  # fmt: skip
    starts = np.maximum.accumulate(np.where(new, np.arange(len(new)), 0))
    lines = conform(
        "lines",
        {
            "entry": pc.cast(pa.array(entries), pa.string()),
            "line": pa.array(np.arange(len(new)) - starts + 1, pa.int32()),
            "date": date,
            "doc": doc,
            "description": get("Tx1").take(take),
            "account": found.accounts,
            "amount": pa.array(amount, pa.int64()),
            "vat_code": found.codes,
            "vat_amount": found.vat_amounts,
            "vat_line": pa.array(found.vat_lines),
            "source_file": repeated_text(file, len(take)),
            "source_row": pa.array(found.source_rows, pa.int64()),
        },
    )
    extras = pa.table({"source_row": pa.array(found.source_rows, pa.int64()), **{c: get(c).take(take) for c in EXTRAS}})
    return lines, vat_codes, extras, problems


def _upper(values: pa.Array) -> pa.Array:
    """``str.upper`` of every value (Arrow's for ASCII, Python's for the others)."""
    upper = pc.ascii_upper(values)
    others = np.flatnonzero(~pc.string_is_ascii(values).to_numpy(zero_copy_only=False))
    if not len(others):
        return upper
    mask = np.zeros(len(values), dtype=bool)
    mask[others] = True
    return pc.replace_with_mask(upper, pa.array(mask), pa.array([values[i].as_py().upper() for i in others.tolist()]))


@dataclass
class _Found:
    """The accepted rows as NumPy/Arrow columns, and what linking their VAT rows finds."""

    entries: np.ndarray
    accounts: pa.Array
    amounts: np.ndarray
    taxes: np.ndarray
    vat_rows: np.ndarray  # BTyp 2
    codes: pa.Array
    source_rows: np.ndarray
    vat_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    vat_amounts: pa.Array = field(default_factory=lambda: pa.array([], pa.int64()))


def _sign(values: np.ndarray) -> np.ndarray:
    return np.where(values >= 0, 1, -1)


def _link(found: _Found, file: str) -> list[Problem]:
    """Give each VAT row (BTyp 2) its base's code, and each base the VAT booked for it (`_link_vat`).

    Vouchers with at most one VAT row and one base are linked column-wise; the others go through `_link_vat`.
    """
    size = len(found.entries)
    entries = found.entries
    coded = pc.not_equal(found.codes, "").to_numpy(zero_copy_only=False)
    vat_rows = found.vat_rows
    bases = coded & ~vat_rows
    count = int(entries[-1]) + 1 if size else 1
    n_vat = np.bincount(entries, weights=vat_rows, minlength=count).astype(np.int64)
    n_base = np.bincount(entries, weights=bases, minlength=count).astype(np.int64)
    hard = (n_vat >= 1) & ((n_vat > 1) | (n_base > 1))
    simple = ~hard[entries]
    base_of = np.full(count, -1, dtype=np.int64)
    base_of[entries[bases & simple]] = np.flatnonzero(bases & simple)
    vat_of = np.full(count, -1, dtype=np.int64)
    vat_of[entries[vat_rows & simple]] = np.flatnonzero(vat_rows & simple)
    amounts, taxes = found.amounts, found.taxes
    both = (base_of >= 0) & (vat_of >= 0)
    b, v = base_of[both], vat_of[both]
    mirrored = (np.abs(taxes[b]) == np.abs(amounts[v])) & (np.abs(amounts[b]) == np.abs(taxes[v]))
    linked_vat, linked_base = v[mirrored], b[mirrored]
    vat_lines = vat_rows & simple
    unlinked = np.zeros(size, dtype=bool)
    unlinked[vat_rows & simple] = True
    unlinked[linked_vat] = False
    orphan = unlinked & ~coded  # no base and no code of its own
    vat_lines &= ~orphan
    vat_amounts = np.where(bases & simple, _sign(amounts) * np.abs(taxes), 0)
    vat_amounts[linked_base] = _sign(amounts[linked_vat]) * np.abs(taxes[linked_base])
    has_amount = bases & simple
    codes = found.codes
    take_code = np.zeros(size, dtype=bool)
    take_code[linked_vat[~coded[linked_vat]]] = True
    source = np.arange(size)
    source[linked_vat] = linked_base
    codes = pc.if_else(pa.array(take_code), codes.take(pa.array(source)), codes)
    warnings = [(int(i), Problem("warning", N_("VAT row (BTyp 2) matches no VAT base of its voucher; "
                "read as a line without VAT code"), file, int(found.source_rows[i]))) for i in np.flatnonzero(orphan)]  # fmt: skip
    difficult = np.flatnonzero(~simple)
    if len(difficult):
        rows = [{"entry": int(entries[i]), "amount": int(amounts[i]), "_tax": int(taxes[i]), "_vat_row": bool(vat_rows[i]),
                 "vat_code": codes[i].as_py(), "source_row": int(found.source_rows[i]), "_index": int(i)}
                for i in difficult.tolist()]  # fmt: skip
        for index, message in _link_vat(rows):
            warnings.append((index, Problem("warning", message, file, int(found.source_rows[index]))))
        mask = np.zeros(size, dtype=bool)
        mask[difficult] = True
        codes = pc.replace_with_mask(codes, pa.array(mask), pa.array([r["vat_code"] for r in rows], pa.string()))
        for row in rows:
            vat_lines[row["_index"]] = bool(row.get("vat_line", False))
            if "vat_amount" in row:
                vat_amounts[row["_index"]] = row["vat_amount"]
                has_amount[row["_index"]] = True
    found.codes = codes
    found.vat_lines = vat_lines
    found.vat_amounts = pa.array(vat_amounts, pa.int64(), mask=~has_amount)
    return [problem for _, problem in sorted(warnings, key=lambda item: item[0])]


def _link_vat(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Give each VAT row (BTyp 2) its base's code, and each base the VAT booked for it; the warnings
    (by ``_index``) of VAT rows that match no base.

    A VAT row mirrors its base: its ``Netto`` is the base's ``Steuer`` and its ``Steuer`` the base's
    ``Netto``; several bases of one code may share one VAT row (their sums mirror it).
    """
    warnings = []
    by_entry: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_entry[row["entry"]].append(row)
    for entry in by_entry.values():
        bases = [r for r in entry if r["vat_code"] and not r["_vat_row"]]
        for vat_row in (r for r in entry if r["_vat_row"]):
            vat_row["vat_line"] = True
            linked = _match(vat_row, [b for b in bases if "vat_amount" not in b])
            if not linked:
                if not vat_row["vat_code"]:
                    warnings.append((vat_row["_index"], N_("VAT row (BTyp 2) matches no VAT base of its voucher; "
                                     "read as a line without VAT code")))  # fmt: skip
                    vat_row["vat_line"] = False
                continue
            sign = 1 if vat_row["amount"] >= 0 else -1
            vat_row["vat_code"] = vat_row["vat_code"] or linked[0]["vat_code"]
            for base in linked:
                base["vat_amount"] = sign * abs(base["_tax"])
        for base in bases:
            if "vat_amount" not in base:  # no VAT row: the VAT is signed like its base
                base["vat_amount"] = (1 if base["amount"] >= 0 else -1) * abs(base["_tax"])
    return warnings


def _match(vat_row: dict[str, Any], bases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    vat_amount, base_amount = abs(vat_row["amount"]), abs(vat_row["_tax"])
    for base in bases:
        if abs(base["_tax"]) == vat_amount and abs(base["amount"]) == base_amount:
            return [base]
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for base in bases:
        by_code[base["vat_code"]].append(base)
    for group in by_code.values():
        if sum(abs(b["_tax"]) for b in group) == vat_amount and sum(abs(b["amount"]) for b in group) == base_amount:
            return group
    return []


def _vat_codes(found: _Found, file: str) -> tuple[pa.Table, list[Problem]]:
    """The codes the rows use, with kind and rate: from the Infoniqa code table, else from the
    code's prefix; the rate checked against the amounts (a code keeps its name when the rate changes)."""
    coded = np.flatnonzero(pc.not_equal(found.codes, "").to_numpy(zero_copy_only=False))
    encoded = pc.dictionary_encode(found.codes.take(pa.array(coded)))
    names = encoded.dictionary.to_pylist()
    groups = np.argsort(encoded.indices.to_numpy(zero_copy_only=False), kind="stable")
    bounds = np.cumsum(np.bincount(encoded.indices.to_numpy(zero_copy_only=False), minlength=len(names)))
    out, problems = [], []
    for number in sorted(range(len(names)), key=names.__getitem__):
        code = names[number]
        rows = coded[groups[(bounds[number - 1] if number else 0) : bounds[number]]]  # in row order
        on_vat_line = rows[found.vat_lines[rows]]
        account = found.accounts[int(on_vat_line[0])].as_py() if len(on_vat_line) else ""
        others = rows[~found.vat_lines[rows]]
        known = vat.identify(code, "infoniqa")
        kind = known.kind if known else next((k for p, k in KIND_PREFIXES if code.upper().startswith(p)), "")
        named = known.rate if known else None
        rate = _rate(np.abs(found.amounts[others]), np.abs(found.taxes[others]), named)
        if rate is not None and named is not None and rate != named:
            problems.append(Problem("info", N_("VAT code {code}: its amounts are {percent} of their bases, not the {named} its name suggests; read as {percent}").format(code=code, percent=f"{rate} %", named=f"{named} %"), file))  # fmt: skip
        rate = rate if rate is not None else named
        out.append({"code": code, "account": account, "method": "net", "kind": kind,
                    "rate": decimal_text(rate) if rate is not None else "",
                    "description": known.description if known and rate == named else ""})  # fmt: skip
    return table("vat_codes", out), problems


def _rate(bases: np.ndarray, taxes: np.ndarray, named: Decimal | None) -> Decimal | None:
    """The rate every (base, VAT) pair fits to within 5 centimes: the named rate if it fits, else the
    one Swiss rate that does; None when the amounts do not decide."""
    both = (bases != 0) & (taxes != 0)
    bases, taxes = bases[both], taxes[both]
    if not len(bases):
        return None

    def fits(rate: Decimal) -> bool:
        # |tax - base * rate / 100| <= 5 with rate = p / q: |100 q tax - p base| <= 500 q, in int64
        # when no product can wrap, else with Decimal as before
        p, q = rate.as_integer_ratio()
        if max(int(bases.max()) * abs(p), int(taxes.max()) * 100 * q) < 2**62:
            return bool(np.all(np.abs(100 * q * taxes - p * bases) <= 500 * q))
        return all(abs(Decimal(tax) - Decimal(base) * rate / 100) <= 5 for base, tax in zip(bases.tolist(), taxes.tolist(), strict=True))  # fmt: skip

    if named is not None and fits(named):
        return named
    swiss = sorted({r for _, _, rates in SWISS_RATES for r in rates})
    matching = [r for r in swiss if fits(r)]
    return matching[0] if len(matching) == 1 else None


FORMAT = InfoniqaReader
