"""SIE 4E (Sweden): the whole ledger as one CP437 text file, ``#FORMAT PC8``, CRLF.

Layout (SIE 4B): identification records (``#ORGNR`` always, empty when the ledger has no number, as
the Specter sample ``SIE_exempelfil.se`` writes it; ``#KPTYP EUBAS97`` after the ``#RAR`` records, as
every reference file that has it writes it: FORMATS.md names neither the record nor its values, so
the value is the reference files', and every account carries its own ``#KTYP`` so no type depends
on it), ``#RAR`` per fiscal year (0 the last, -1 the one before,
…), ``#KONTO``/``#KTYP`` per account (T asset, S liability or equity, I income, K expense; accounts
without a type are typed by their code's first digit, 1 → T, 2 → S, 3 → I, others K),
``#DIM 1 "Kostnadsställe"`` and ``#OBJEKT 1`` per cost centre, then per year ``#IB`` (opening
balance), ``#UB`` (closing balance) of balance accounts and ``#RES`` (result) of result accounts,
computed from the ledger, then one ``#VER`` per entry with its ``#TRANS`` lines (account, ``{1
"cost centre"}``, amount, date, text).

Opening entries are not written as vouchers: they become the ``#IB`` of their year, and the reader
turns ``#IB`` back into one opening entry per year, so balances survive the round trip (the
opening entries' lines are merged per account). Vouchers are numbered 1, 2, … per series (the
journal, ``A`` where it is empty); the ledger's voucher number starts the ``#VER`` text.
Text is written exactly, formula-like text included: SIE is read by accounting programs, not
spreadsheets, so nothing is made inert.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import __version__ as version
from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, rows, table, years_of
from migrator.money import format_cents
from migrator.rowwise import collector_paused
from migrator.writers.base import lost

CHART_TYPE = "EUBAS97"
"""``#KPTYP`` as the reference files write it (Övningsbolaget, BL0001, Mamut, Magenta)."""

ENCODING = "cp437"
KTYP = {"asset": "T", "liability": "S", "equity": "S", "income": "I", "expense": "K"}


class SieWriter:
    name = "sie"
    extension = ".se"
    output = "file"

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        out = _Out()
        with collector_paused():
            problems = _write(ledger, out, self.today or dt.date.today())
        target.write_bytes(out.data())
        return problems + out.problems()

    def as_kept(self, ledger: Ledger) -> Ledger:
        """the opening entries of each fiscal year merged into one opening entry per year (its #IB).

        The ledger as a SIE file keeps it: SIE holds opening balances only as ``#IB`` records, one per
        account and year, so every entry all of whose lines are opening lines and whose first line
        falls in a fiscal year is merged with the others of that year into one opening entry
        (``IB <year>``, dated the year's first day, as the reader books it) of the nonzero sums per
        account. Every other entry is kept as it is (opening entries outside the years, and opening
        lines in entries with other lines, are written as ordinary vouchers). Column-wise: sums with `reconcile.sums_by`.
        """
        return ledger.replace(lines=_kept_lines(ledger))


class _Out:
    """Lines of the file; counts texts CP437 cannot hold (written without accents, or as ``?``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.replaced = 0
        self.plain: dict[str, str] = {}  # texts and words written without a replacement, as written

    def add(self, *fields: str) -> None:
        self.lines.append(" ".join(fields))

    def text(self, value: str) -> str:
        """A quoted SIE string: ``"`` and ``\\`` escaped, line breaks as blanks, CP437 only."""
        key = '"' + value
        done = self.plain.get(key)
        if done is not None:
            return done
        value = " ".join(value.split())
        try:
            value.encode(ENCODING)
            clean = True
        except UnicodeEncodeError:
            self.replaced += 1  # counted at each use
            value = "".join(_cp437(char) for char in value)
            clean = False
        done = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if clean:
            self.plain[key] = done
        return done

    def word(self, value: str) -> str:
        """A bare field (account numbers, series) where SIE allows one, else a quoted string."""
        done = self.plain.get(value)
        if done is None:
            if not (value and all(c.isascii() and (c.isalnum() or c in "-_.") for c in value)):
                return self.text(value)
            done = self.plain[value] = value
        return done

    def data(self) -> bytes:
        return ("\r\n".join(self.lines) + "\r\n").encode(ENCODING)

    def problems(self) -> list[Problem]:
        return lost(N_("texts with characters outside CP437"), self.replaced, N_("written without accents or as '?'"))


def _kept_lines(ledger: Ledger) -> pa.Table:
    """The lines of `SieWriter.as_kept`."""
    from migrator.reconcile import sums_by

    lines = ledger.lines.combine_chunks()
    years = list(years_of(ledger))
    if not lines.num_rows or not years:
        return lines
    opening = lines.column("opening").fill_null(False).to_numpy(zero_copy_only=False)
    if not opening.any():
        return lines
    year = np.full(lines.num_rows, -1, dtype=np.int64)
    dates = lines.column("date")
    for index, span in enumerate(years):
        inside = pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                         pc.less_equal(dates, pa.scalar(span.end, pa.date32()))).fill_null(False)  # fmt: skip
        year[inside.to_numpy(zero_copy_only=False)] = index
    groups = ledger.entries()
    numbers = np.asarray(groups.numbers(), dtype=np.int64)
    first = np.asarray(groups.first_lines(), dtype=np.int64)
    whole = np.ones(len(first), dtype=bool)
    np.logical_and.at(whole, numbers, opening)
    entry_year = year[first][numbers]
    as_ib = whole[numbers] & (entry_year >= 0)  # the lines the writer writes as #IB, in their entry's year
    balances = pa.table({"year": pa.array(entry_year[as_ib]), "account": lines.column("account").filter(pa.array(as_ib)),
                         "amount": lines.column("amount").filter(pa.array(as_ib))})  # fmt: skip
    merged: list[dict[str, Any]] = []
    line_numbers: dict[int, int] = {}
    for (index, account), (cents,) in sorted(sums_by(balances, ["year", "account"], ["amount"]).items()):
        if cents:
            line_numbers[index] = line_numbers.get(index, 0) + 1
            span = years[index]
            merged.append({"entry": f"IB {span.start.year}", "line": line_numbers[index], "date": span.start,
                           "account": account, "amount": cents, "opening": True,
                           "description": f"Ingående balans {span.start.isoformat()}"})  # fmt: skip
    kept = lines.filter(pa.array(~as_ib))
    return pa.concat_tables([kept, table("lines", merged)]) if merged else kept


def _cp437(char: str) -> str:
    try:
        char.encode(ENCODING)
        return char
    except UnicodeEncodeError:
        plain = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
        return {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'"}.get(char, plain or "?")


def _amount(cents: int) -> str:
    return format_cents(cents)


@lru_cache(maxsize=4096)
def _day(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


LINE_COLUMNS = ("entry", "date", "opening", "journal", "doc", "description", "cost_centre", "account", "amount",
                "currency", "vat_code", "partner")  # fmt: skip
"""The columns of the lines the writer reads."""


def _write(ledger: Ledger, out: _Out, today: dt.date) -> list[Problem]:
    company = ledger.company
    years = list(years_of(ledger))
    index = {year: position - len(years) + 1 for position, year in enumerate(years)}
    out.add("#FLAGGA", "0")
    out.add("#PROGRAM", out.text("migrator"), out.text(version))
    out.add("#FORMAT", "PC8")
    out.add("#GEN", _day(today))
    out.add("#SIETYP", "4")
    out.add("#FNAMN", out.text(company.name))
    out.add("#ORGNR", out.text(company.vat_number))  # always there, empty when unknown (as SIE_exempelfil.se has it)
    if company.address:
        out.add("#ADRESS", out.text(""), out.text(company.address), out.text(""), out.text(""))
    for year in reversed(years):
        out.add("#RAR", str(index[year]), _day(year.start), _day(year.end))
    out.add("#KPTYP", CHART_TYPE)
    out.add("#VALUTA", company.base_currency or "SEK")
    types = _types(ledger)
    for row in ledger.accounts.select(["code", "name"]).to_pylist():
        out.add("#KONTO", out.word(row["code"]), out.text(row["name"]))
        out.add("#KTYP", out.word(row["code"]), types[row["code"]])
    centres = sorted(c for c in pc.unique(ledger.lines.column("cost_centre")).to_pylist() if c)
    if centres:
        out.add("#DIM", "1", out.text("Kostnadsställe"))
        for centre in centres:
            out.add("#OBJEKT", "1", out.word(centre), out.text(centre))
    lines = rows(ledger.lines, LINE_COLUMNS)
    entries: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        entries.setdefault(line["entry"], []).append(line)
    as_ib = _ib_entries(entries, years)
    _balances(out, entries, as_ib, years, index, types)
    outside = _vouchers(out, entries, as_ib)
    return _not_carried(ledger, lines, outside)


def _ib_entries(entries: dict[str, list[dict[str, Any]]], years: list[FiscalYear]) -> dict[str, FiscalYear]:
    """The entries written as #IB (all lines opening, first line in a fiscal year), with their year."""
    out = {}
    for key, entry in entries.items():
        year = _year_of(entry[0]["date"], years)
        if year is not None and all(line["opening"] for line in entry):
            out[key] = year
    return out


def _types(ledger: Ledger) -> dict[str, str]:
    types = {}
    for code, kind in zip(
        ledger.accounts.column("code").to_pylist(), ledger.accounts.column("type").to_pylist(), strict=True
    ):
        types[code] = KTYP.get(kind) or {"1": "T", "2": "S", "3": "I"}.get(code[:1], "K")
    for code in pc.unique(ledger.lines.column("account")).to_pylist():
        types.setdefault(code, {"1": "T", "2": "S", "3": "I"}.get(code[:1], "K"))
    return types


def _year_of(day: dt.date | None, years: list[FiscalYear]) -> FiscalYear | None:
    return next((y for y in years if day is not None and y.contains(day)), None)


def _balances(
    out: _Out,
    entries: dict[str, list[dict[str, Any]]],
    as_ib: dict[str, FiscalYear],
    years: list[FiscalYear],
    index: dict[FiscalYear, int],
    types: dict[str, str],
) -> None:
    """#IB of the opening entries of each year (`as_ib`), #UB and #RES from them and every other line."""
    for year in reversed(years):
        opening: dict[str, int] = {}
        movement: dict[str, int] = {}
        for key, entry in entries.items():
            for line in entry:
                if (as_ib[key] if key in as_ib else _year_of(line["date"], years)) != year:
                    continue
                target = opening if key in as_ib else movement
                target[line["account"]] = target.get(line["account"], 0) + line["amount"]
        codes = sorted(set(opening) | set(movement))
        for code in codes:
            if opening.get(code):
                out.add("#IB", str(index[year]), out.word(code), _amount(opening[code]))
        for code in codes:
            if types.get(code) in ("T", "S"):
                out.add("#UB", str(index[year]), out.word(code), _amount(opening.get(code, 0) + movement.get(code, 0)))
        for code in codes:
            if types.get(code) in ("I", "K"):
                out.add("#RES", str(index[year]), out.word(code), _amount(opening.get(code, 0) + movement.get(code, 0)))


def _vouchers(out: _Out, entries: dict[str, list[dict[str, Any]]], as_ib: dict[str, FiscalYear]) -> int:
    """Write every entry but those written as #IB; return how many opening entries fell outside the years."""
    numbers: dict[str, int] = {}
    outside = 0
    for key, entry in entries.items():
        first = entry[0]
        if key in as_ib:
            continue
        if all(line["opening"] for line in entry):
            outside += 1
        series = first["journal"] or "A"
        numbers[series] = numbers.get(series, 0) + 1
        date = _day(first["date"]) if first["date"] else ""
        text = f"{first['doc']} {first['description']}".strip() if first["doc"] else first["description"]
        out.add("#VER", out.word(series), str(numbers[series]), date, out.text(text))
        out.add("{")
        for line in entry:
            objects = "{" + (f"1 {out.text(line['cost_centre'])}" if line["cost_centre"] else "") + "}"
            day = _day(line["date"]) if line["date"] else date
            out.add(
                "\t#TRANS",
                out.word(line["account"]),
                objects,
                _amount(line["amount"]),
                day,
                out.text(line["description"]),
            )
        out.add("}")
    return outside


def _not_carried(ledger: Ledger, lines: list[dict[str, Any]], outside: int) -> list[Problem]:
    whole: dict[str, bool] = {}
    for line in lines:
        whole[line["entry"]] = whole.get(line["entry"], True) and line["opening"]
    mixed = sum(1 for line in lines if line["opening"] and not whole[line["entry"]])
    foreign = sum(1 for line in lines if line["currency"])
    tagged = sum(1 for line in lines if line["vat_code"])
    partners = sum(1 for line in lines if line["partner"])
    problems = lost(N_("VAT codes on lines"), tagged, N_("amounts kept, codes left out (SIE has no VAT code field)"))
    problems += lost(
        N_("foreign amounts of lines"), foreign, N_("base-currency amounts kept, currency and rate left out")
    )
    problems += lost(N_("partner references on lines"), partners, N_("left out"))
    problems += lost(
        N_("partners"), ledger.partners.num_rows, N_("left out (SIE 4 has no customer or supplier register)")
    )
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("VAT codes"), ledger.vat_codes.num_rows, N_("left out"))
    problems += lost(N_("groups (account headings)"), ledger.groups.num_rows, N_("left out"))
    name = ledger.company.name
    problems += lost(N_("company name"), int(" ".join(name.split()).encode(ENCODING, "replace").decode(ENCODING) != name),
                     N_("written in #FNAMN without the characters CP437 lacks (accents dropped, others as '?')"))  # fmt: skip
    problems += lost(N_("opening entries outside the fiscal years"), outside, N_("written as ordinary vouchers"))
    problems += lost(N_("opening-entry flags of lines in entries with other lines"), mixed,
                     N_("written as ordinary voucher lines (#IB holds whole opening entries only)"))  # fmt: skip
    problems += lost(
        N_("voucher numbers"), entry_docs(lines), N_("vouchers numbered per series; the number starts the text")
    )
    equity = pc.sum(pc.equal(ledger.accounts.column("type"), "equity")).as_py() or 0
    problems += lost(
        N_("equity account types"), equity, N_("written as #KTYP S (SIE has one type for debts and equity)")
    )
    return problems


def entry_docs(lines: list[dict[str, Any]]) -> int:
    return len({line["entry"] for line in lines if line["doc"] and not line["opening"]})


FORMAT = SieWriter
