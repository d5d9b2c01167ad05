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

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa

from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, FiscalYear, Ledger, Problem, table
from migrator.parsing import (
    ParseError,
    codec_name,
    csv_records,
    decimal_text,
    detect_encoding,
    parse_cents,
    parse_date,
    parse_decimal,
)
from migrator.readers.base import ReadOptions, accounts_from_lines, merge_accounts, number_lines
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
    name: str
    header: list[str]
    columns: list[str]
    rows: list[tuple[int, list[str]]]

    @property
    def category(self) -> str:
        return self.header[2].strip() if len(self.header) > 2 else ""

    def field(self, number: int) -> str:
        return self.header[number - 1].strip() if len(self.header) >= number else ""


@dataclass
class _Book:
    lines: list[dict[str, Any]] = field(default_factory=list)
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
        lines = table("lines", number_lines(book.lines))
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
    guess = detect_encoding(data[: 1 << 16])[0]
    if encoding is None and guess.startswith("utf-16"):
        try:
            text, encoding = data.decode(guess).lstrip("\ufeff"), guess
        except UnicodeDecodeError as exc:
            raise SourceError(
                N_("looks like {guess} but is not valid {guess}: {exc}").format(guess=guess, exc=exc), name
            ) from None
    elif encoding is None:
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = data.decode("cp1252", errors="replace"), "cp1252"
    else:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(
                N_("cannot be decoded as {encoding}: {exc}").format(encoding=encoding, exc=exc), name
            ) from None
    if "\ufffd" in text:
        book.problems.append(
            Problem(
                "warning",
                N_("{count} characters were already damaged (U+FFFD) in the file; texts are read as they are").format(
                    count=text.count(chr(0xFFFD))
                ),
                name,
            )
        )
    try:
        records = csv_records(text, ";", name)
        header = next(records, (1, []))[1]
        columns = next(records, (2, []))[1]
        if not columns:
            raise SourceError(N_("the second line (column names) is missing"), name, 2)
        rows = [(line, values) for line, values in records if "".join(values).strip()]
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    return _File(name, header, columns, rows), encoding


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
    for row, values in parsed.rows:
        account = values[code].strip() if code < len(values) else ""
        if not account:
            book.problems.append(Problem("error", N_("account label without an account number"), parsed.name, row))
            continue
        name = values[long].strip() if long is not None and long < len(values) else ""
        book.accounts[account] = name or (values[short].strip() if short < len(values) else "")


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
    marks = ("art1", "info1", "art2", "info2")
    placed = {i for k, i in where.items() if i is not None and k not in marks}
    found = [(k, i) for k, i in where.items() if i is not None]
    blank = {k: "" for k in where}
    names, picked = [k for k, _ in found], _getter([i for _, i in found])
    reach = max(i for _, i in found) + 1
    values_of = [
        (row, values, {**blank, **dict(zip(names, map(str.strip, _tuple(picked(values))), strict=True))})
        if len(values) >= reach
        else (
            row,
            values,
            {k: (values[i].strip() if i is not None and i < len(values) else "") for k, i in where.items()},
        )
        for row, values in parsed.rows
    ]
    # A trailing row without Umsatz (a totals or closing row some programs add) is no booking.
    while values_of and not values_of[-1][2]["amount"]:
        row = values_of.pop()[0]
        book.problems.append(
            Problem("info", N_("a row without Umsatz at the end of the batch; skipped"), parsed.name, row)
        )
    marked_rows: dict[str, int] = {}
    for _, _, value in values_of:
        if value["art1"] == ENTRY_MARK and value["info1"]:
            marked_rows[value["info1"]] = marked_rows.get(value["info1"], 0) + 1
    seen: dict[str, int] = {}
    width = len(parsed.columns)
    others = [i for i in range(width) if i not in placed]
    plain, after_mark, after_opening = (
        _getter([i for i in others if _key(parsed.columns[i]) not in {_key(u) for u in used}])
        for used in ((), MARKED_USED, (*MARKED_USED, *OPENING_USED))
    )
    for row, values, value in values_of:
        try:
            lines = _row_lines(value, first, last, base)
        except ParseError as exc:
            book.problems.append(Problem("error", str(exc), parsed.name, row))
            continue
        marked = bool(value["art1"] == ENTRY_MARK and value["info1"])
        if marked:
            # one entry per row: the pairs of an entry migrator folded are named <entry>/1, <entry>/2, …
            entry = value["info1"]
            seen[entry] = seen.get(entry, 0) + 1
            if marked_rows[entry] > 1:
                entry = f"{entry}/{seen[entry]}"
        else:
            entry = f"{Path(parsed.name).stem}#{row}"
        opening = marked and value["art2"] == OPENING_MARK
        for line in lines:
            line.update(entry=entry, opening=opening, source_file=parsed.name, source_row=row)
        book.lines.extend(lines)
        if len(values) == width:  # nothing in the columns left (most rows): no need to name them
            left = (after_opening if opening else after_mark if marked else plain)(values)
            if not "".join(left).strip():
                continue
        unplaced = {
            parsed.columns[i] if i < len(parsed.columns) else f"column {i + 1}": v
            for i, v in enumerate(values)
            if i not in placed and v.strip()
        }
        if marked:
            used = {*MARKED_USED, *(OPENING_USED if opening else ())}
            unplaced = {k: v for k, v in unplaced.items() if _key(k) not in {_key(u) for u in used}}
        for column in COMPUTED:
            if any(_key(k) == _key(column) for k in unplaced):
                book.computed[column] = book.computed.get(column, 0) + 1
        if unplaced:
            book.extras.append({**unplaced, "source_file": parsed.name, "source_row": row})


def _getter(indices: list[int]) -> Callable[[list[str]], tuple[str, ...] | str]:
    """The values of a row at `indices` (a tuple, or the value itself for one index)."""
    return itemgetter(*indices) if indices else lambda _values: ()


def _tuple(values: tuple[str, ...] | str) -> tuple[str, ...]:
    return values if isinstance(values, tuple) else (values,)


def _row_lines(value: dict[str, str], first: dt.date | None, last: dt.date | None, base: str) -> list[dict[str, Any]]:
    cents = parse_cents(value["amount"], ",")
    if cents is None:
        raise ParseError(N_("Umsatz is empty"))
    flag = value["flag"].upper()
    if flag not in ("S", "H"):
        raise ParseError(N_("Soll/Haben-Kennzeichen {flag!r} is neither S nor H").format(flag=value["flag"]))
    if not value["account"] or not value["counter"]:
        raise ParseError(N_("Konto or Gegenkonto is empty"))
    day = _belegdatum(value["date"], first, last)
    amount, currency, foreign, rate = cents, "", None, ""
    if value["currency"] and value["currency"] != base and value["base"]:
        amount = parse_cents(value["base"], ",") or 0
        currency, foreign = value["currency"], cents
        rate = _rate(value["kurs"], amount, cents)
    sign = 1 if flag == "S" else -1
    text = value["text"]
    common = {
        "date": day,
        "doc": value["doc"],
        "description": text,
        "currency": currency,
        "rate": rate,
        "vat_code": "",
        "journal": "",
    }
    return [
        {
            **common,
            "account": value["account"],
            "amount": sign * amount,
            "cost_centre": value["cost_centre"],
            "amount_currency": None if foreign is None else sign * foreign,
        },
        {
            **common,
            "account": value["counter"],
            "amount": -sign * amount,
            "cost_centre": "",
            "amount_currency": None if foreign is None else -sign * foreign,
        },
    ]


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
