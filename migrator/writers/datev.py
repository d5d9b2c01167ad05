"""DATEV EXTF (Germany): a folder with one Buchungsstapel per fiscal year and the Kontenbeschriftungen.

Files: ``EXTF_Buchungsstapel_<yyyy>.csv`` (category 21, format version 13; ``yyyy`` the year the
fiscal year starts in; DATEV batches never cross a fiscal year, and a year longer than twelve months
is cut into twelve-month batches) and ``EXTF_Kontenbeschriftungen.csv`` (category 20, format
version 3). Each file: line 1 the 31-field EXTF header, line 2 the column names, then the rows;
``;``, text in quotes, decimal comma, Windows-1252, CRLF.

Bookings: a DATEV row books one amount from ``Konto`` to ``Gegenkonto`` (``S``: Konto is debited).
Compound entries are folded into pairs by matching the entry's debit and credit lines in order (a
line against the entry's counter-lines until its amount is used up), so no clearing account is
needed and every row balances; an entry of n lines gives at most n − 1 rows. Each row carries the
entry id as ``Beleginfo - Art 1`` "Buchungs-ID" and, for opening entries, ``Beleginfo - Art 2``
"Eröffnungsbuchung", so the reader rebuilds the entries (merging lines of the same account). VAT
lines are written as plain bookings without ``BU-Schlüssel``: Swiss VAT codes have no DATEV key,
and a key would make DATEV compute the VAT again.

Columns: the first 116 names are those of the reference sample (format 7, whose umlauts were
damaged and are restored here). Columns 117–125 of format 13 (``Fälligkeit`` … ``Abw.
Skontokonto``) are written after DATEV's published format description as the project remembers it;
no file at hand confirms their names, and migrator leaves them empty. The Kontenbeschriftungen
columns (``Konto;Kontenbeschriftung;Sprach-ID;Kontenbeschriftung lang``) are likewise not confirmed
by a sample.
Text is written exactly, formula-like text included: the files are for DATEV's import, not a
spreadsheet, so nothing is made inert.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from migrator.model import FiscalYear, Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.writers.base import lines_with, lost

ENCODING = "cp1252"
ENTRY_MARK = "Buchungs-ID"
OPENING_MARK = "Eröffnungsbuchung"
BERATER, MANDANT = "1001", "1"
"""Lowest valid DATEV adviser and client numbers: the ledger has none (the writer says so)."""

COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
    "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1",
    "Belegfeld 2", "Skonto", "Buchungstext", "Postensperre", "Diverse Adressnummer", "Geschäftspartnerbank",
    "Sachverhalt", "Zinssperre", "Beleglink",
    *(f"Beleginfo - {kind} {n}" for n in range(1, 9) for kind in ("Art", "Inhalt")),
    "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge", "EU-Land u. UStID", "EU-Steuersatz",
    "Abw. Versteuerungsart", "Sachverhalt L+L", "Funktionsergänzung L+L", "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    *(f"Zusatzinformation{sep}{n}" for n in range(1, 21) for sep in (" - Art ", "- Inhalt ")),
    "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr", "Zugeordnete Fälligkeit", "Skontotyp",
    "Auftragsnummer", "Buchungstyp", "Ust-Schlüssel (Anzahlungen)", "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)", "Herkunft-Kz",
    "Leerfeld", "KOST-Datum", "Mandatsreferenz", "Skontosperre", "Gesellschaftername", "Beteiligtennummer",
    "Identifikationsnummer", "Zeichnernummer", "Postensperre bis", "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung", "Festschreibung", "Leistungsdatum", "Datum Zuord.Steuerperiode",
    # 117-125: format 13 additions, not confirmed by a sample (see the module docstring)
    "Fälligkeit", "Generalumkehr (GU)", "Steuersatz", "Land", "Abrechnungsreferenz", "BVV-Position",
    "EU-Mitgliedstaat u. UStID (Ursprung)", "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
)  # fmt: skip

# Columns the sample writes in quotes (text); the others are numbers or dates, written bare.
TEXT = frozenset(COLUMNS[i - 1] for i in (
    2, 3, 6, 9, 11, 12, 14, 16, 20, *range(21, 39), 40, 42, *range(48, 88), 91, 95, 96, 98, 102, 103, 105, 107,
    109, 110, 112, 118, 120, 121, 123,
))  # fmt: skip
LENGTH = {"Belegfeld 1": 36, "Buchungstext": 60, "KOST1 - Kostenstelle": 36, "Beleginfo - Inhalt 1": 210}
"""Field lengths of the DATEV format description; longer text is cut (and counted)."""

ACCOUNT_COLUMNS = ("Konto", "Kontenbeschriftung", "Sprach-ID", "Kontenbeschriftung lang")


class DatevWriter:
    name = "datev"
    extension = ".csv"
    output = "folder"

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        out = _Text()
        created = (self.now or dt.datetime.now()).strftime("%Y%m%d%H%M%S%f")[:17]
        length = _account_length(ledger)
        entries = _entries(ledger.lines.to_pylist())
        batches = _batches(entries, list(years_of(ledger)))
        undated = len(batches.pop(UNDATED, []))
        folded = _Folded()
        for period, batch in sorted(batches.items(), key=lambda item: item[0].start):
            head = _header(21, "Buchungsstapel", 13, created, period, length, ledger, out)
            rows = [_row(pair, out) for entry in batch for pair in folded.pairs(entry, ledger.company.base_currency)]
            name = f"EXTF_Buchungsstapel_{period.start.year}.csv"
            if (target / name).exists():
                name = f"EXTF_Buchungsstapel_{period.start:%Y%m%d}.csv"
            _save(target / name, head, [_line(COLUMNS, TEXT, r) for r in rows], out)
        first = min(batches, key=lambda p: p.start) if batches else None
        head = _header(20, "Kontenbeschriftungen", 3, created, first, length, ledger, out)
        accounts = [
            {
                "Konto": code,
                "Kontenbeschriftung": out.cut(name, 40, "account names"),
                "Sprach-ID": "de-DE",
                "Kontenbeschriftung lang": name,
            }
            for code, name in zip(
                ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True
            )
        ]
        text = {"Kontenbeschriftung", "Sprach-ID", "Kontenbeschriftung lang"}
        rows_text = [_line(ACCOUNT_COLUMNS, text, a) for a in accounts]
        _save(target / "EXTF_Kontenbeschriftungen.csv", head, rows_text, out, ACCOUNT_COLUMNS)
        return _not_carried(ledger, folded, out) + lost("entries without a date", undated, "left out")


@dataclass
class _Text:
    """Turns ledger text into DATEV text and counts what had to change."""

    counts: dict[str, int] = field(default_factory=dict)

    def note(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def cut(self, value: str, size: int, what: str) -> str:
        value = " ".join(value.split())
        if len(value) > size:
            self.note(what)
            return value[:size]
        return value

    def encodable(self, value: str) -> str:
        try:
            value.encode(ENCODING)
            return value
        except UnicodeEncodeError:
            self.note("texts with characters outside Windows-1252")
            return "".join(_cp1252(c) for c in value)


def _cp1252(char: str) -> str:
    try:
        char.encode(ENCODING)
        return char
    except UnicodeEncodeError:
        return unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING) or "?"


def _account_length(ledger: Ledger) -> int:
    """Sachkontenlänge: the length of the chart's account numbers (DATEV allows 4 to 8)."""
    lengths = [len(c) for c in ledger.accounts.column("code").to_pylist() if c.isdigit()]
    return min(max([4, *lengths]), 8)


def _entries(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    entries: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        entries.setdefault(line["entry"], []).append(line)
    return list(entries.values())


def _periods(years: list[FiscalYear]) -> list[FiscalYear]:
    """The fiscal years, each cut into batches of at most twelve months."""
    out = []
    for year in years:
        start = year.start
        while start <= year.end:
            end = min(year.end, _add_year(start) - dt.timedelta(days=1))
            out.append(FiscalYear(start, end))
            start = end + dt.timedelta(days=1)
    return out


def _add_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _batches(entries: list[list[dict[str, Any]]], years: list[FiscalYear]) -> dict[FiscalYear, list[Any]]:
    """Entries per batch period: its fiscal year, else the calendar year of its date."""
    periods = _periods(years)
    batches: dict[FiscalYear, list[Any]] = {}
    for entry in entries:
        day = entry[0]["date"]
        if day is None:
            batches.setdefault(UNDATED, []).append(entry)
            continue
        period = next((p for p in periods if p.contains(day)), None)
        if period is None:
            period = FiscalYear(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
            periods.append(period)
        batches.setdefault(period, []).append(entry)
    return batches


UNDATED = FiscalYear(dt.date.min, dt.date.min)
"""Key of entries without a date: DATEV rows need a Belegdatum, so they are left out (and counted)."""


@dataclass
class _Pair:
    entry: str
    date: dt.date
    doc: str
    text: str
    debit: dict[str, Any]
    credit: dict[str, Any]
    cents: int
    opening: bool
    foreign: tuple[str, int, str] | None = None  # currency, foreign cents, base currency


@dataclass
class _Folded:
    """Folds entries into DATEV pairs, counting what a pair cannot carry."""

    dropped_entries: int = 0
    zero_lines: int = 0
    mixed_dates: int = 0
    foreign_lost: int = 0
    cost_centres_lost: int = 0
    rows: int = 0

    def pairs(self, entry: list[dict[str, Any]], base: str) -> list[_Pair]:
        debits = [[line, line["amount"]] for line in entry if line["amount"] > 0]
        credits = [[line, -line["amount"]] for line in entry if line["amount"] < 0]
        self.zero_lines += sum(1 for line in entry if not line["amount"])
        if not debits:
            self.dropped_entries += 1
            return []
        if len({line["date"] for line in entry}) > 1:
            self.mixed_dates += 1
        first = entry[0]
        out = []
        d = c = 0
        while d < len(debits) and c < len(credits):
            cents = min(debits[d][1], credits[c][1])
            whole = cents == abs(debits[d][0]["amount"]) == abs(credits[c][0]["amount"])
            out.append(self._pair(first, debits[d][0], credits[c][0], cents, whole, base))
            debits[d][1] -= cents
            credits[c][1] -= cents
            d += debits[d][1] == 0
            c += credits[c][1] == 0
        self.rows += len(out)
        return out

    def _pair(
        self, first: dict[str, Any], debit: dict[str, Any], credit: dict[str, Any], cents: int, whole: bool, base: str
    ) -> _Pair:
        pair = _Pair(
            first["entry"],
            first["date"],
            first["doc"],
            debit["description"] or first["description"],
            debit,
            credit,
            cents,
            all(x["opening"] for x in (debit, credit)),
        )
        if debit["cost_centre"] and credit["cost_centre"] and debit["cost_centre"] != credit["cost_centre"]:
            self.cost_centres_lost += 1
        currency = debit["currency"] or credit["currency"]
        if currency:
            same = (
                debit["currency"] == credit["currency"]
                and (debit["amount_currency"] or 0) == -(credit["amount_currency"] or 0) != 0
            )
            if whole and same:
                pair.foreign = (currency, abs(debit["amount_currency"]), base)
            else:
                self.foreign_lost += 1
        return pair


def _row(pair: _Pair, out: _Text) -> dict[str, str]:
    # Konto is the line with the cost centre where only the credit line has one (KOST1 belongs to Konto).
    konto, gegen, flag = pair.debit, pair.credit, "S"
    if pair.credit["cost_centre"] and not pair.debit["cost_centre"]:
        konto, gegen, flag = pair.credit, pair.debit, "H"
    text = konto["description"] or pair.text
    row = {
        "Umsatz (ohne Soll/Haben-Kz)": format_cents(pair.cents, ","),
        "Soll/Haben-Kennzeichen": flag,
        "Konto": konto["account"],
        "Gegenkonto (ohne BU-Schlüssel)": gegen["account"],
        "Belegdatum": pair.date.strftime("%d%m"),
        "Belegfeld 1": out.cut(pair.doc, LENGTH["Belegfeld 1"], "voucher numbers longer than 36 characters"),
        "Buchungstext": out.cut(text, LENGTH["Buchungstext"], "booking texts longer than 60 characters"),
        "KOST1 - Kostenstelle": out.cut(konto["cost_centre"], 36, "cost centres longer than 36 characters"),
        "Beleginfo - Art 1": ENTRY_MARK,
        "Beleginfo - Inhalt 1": pair.entry,
    }
    if pair.opening:
        row["Beleginfo - Art 2"] = OPENING_MARK
        row["Beleginfo - Inhalt 2"] = "ja"
    if pair.foreign:
        currency, foreign, base = pair.foreign
        row["Umsatz (ohne Soll/Haben-Kz)"] = format_cents(foreign, ",")
        row["WKZ Umsatz"] = currency
        row["Kurs"] = _kurs(foreign, pair.cents)
        row["Basis-Umsatz"] = format_cents(pair.cents, ",")
        row["WKZ Basis-Umsatz"] = base
    return row


def _kurs(foreign: int, base: int) -> str:
    """DATEV Kurs: foreign units per base unit, six decimals, decimal comma."""
    return str((Decimal(foreign) / Decimal(base)).quantize(Decimal("0.000001"))).replace(".", ",")


def _field(value: str, text: bool) -> str:
    if not text:
        return value
    return '"' + value.replace('"', '""') + '"'


def _line(columns: Iterable[str], text: Iterable[str], values: dict[str, str]) -> str:
    quoted = set(text)
    return ";".join(_field(values.get(name, ""), name in quoted) for name in columns)


def _header(
    category: int,
    name: str,
    version: int,
    created: str,
    period: FiscalYear | None,
    length: int,
    ledger: Ledger,
    out: _Text,
) -> str:
    """The 31 fields of line 1 (DATEV EXTF header, Versionsnummer 700)."""
    day = "%Y%m%d"
    start = period.start.strftime(day) if period else ""
    end = period.end.strftime(day) if period else ""
    label = out.cut(ledger.company.name, 30, "batch labels longer than 30 characters")
    fields = [
        '"EXTF"',
        "700",
        str(category),
        f'"{name}"',
        str(version),
        created,
        "",
        '"RE"',
        '""',
        '""',
        BERATER,
        MANDANT,
        start,
        str(length),
        start if category == 21 else "",
        end if category == 21 else "",
        _field(label, True),
        '""',
        "1" if category == 21 else "",
        "0" if category == 21 else "",
        "0" if category == 21 else "",
        _field(ledger.company.base_currency, True) if category == 21 else '""',
        "",
        '""',
        "",
        '""',
        "",
        "",
        '""',
        '""',
        "",
    ]
    return ";".join(fields)


def _save(path: Path, header: str, rows: list[str], out: _Text, columns: Iterable[str] = COLUMNS) -> None:
    text = "\r\n".join([header, ";".join(columns), *rows]) + "\r\n"
    path.write_bytes(out.encodable(text).encode(ENCODING))


def _not_carried(ledger: Ledger, folded: _Folded, out: _Text) -> list[Problem]:
    lines = ledger.lines
    problems = [
        Problem(
            "info",
            f"compound entries folded into {folded.rows} DATEV booking rows (Konto/Gegenkonto pairs); "
            "reading merges them back per entry and account",
        ),
        Problem(
            "info",
            f"DATEV adviser and client numbers are not in the ledger: written as Berater {BERATER}, "
            f"Mandant {MANDANT}; set the firm's own numbers before importing",
        ),
    ]
    tagged = lines_with(lines, "vat_code")
    problems += lost(
        "VAT codes on lines",
        tagged,
        "VAT lines written as plain bookings without BU-Schlüssel (Swiss VAT has no DATEV key equivalent)",
    )
    problems += lost("empty entries (no amount)", folded.dropped_entries, "left out (DATEV rows need an amount)")
    problems += lost("zero-amount lines", folded.zero_lines, "left out")
    problems += lost("entries with lines on several dates", folded.mixed_dates, "all rows dated like the first line")
    problems += lost("foreign amounts of split lines", folded.foreign_lost, "base-currency amounts kept")
    problems += lost("second cost centres of a row", folded.cost_centres_lost, "the Konto line's one kept")
    partners = lines_with(lines, "partner")
    problems += lost("partner references on lines", partners, "left out")
    problems += lost("partners", ledger.partners.num_rows, "left out (Debitoren/Kreditoren are not written)")
    problems += lost("open items", ledger.open_items.num_rows, "left out")
    problems += lost("VAT codes", ledger.vat_codes.num_rows, "left out")
    problems += lost(
        "account types and groups",
        ledger.accounts.num_rows + ledger.groups.num_rows,
        "left out (Kontenbeschriftungen hold number and name only)",
    )
    journals = lines_with(lines, "journal")
    problems += lost("journal codes on lines", journals, "left out")
    for what, count in sorted(out.counts.items()):
        problems += lost(what, count, "shortened or transliterated")
    odd = sorted({c for c in ledger.accounts.column("code").to_pylist() if not c.isdigit()})
    if odd:
        problems.append(
            Problem(
                "warning",
                f"DATEV account numbers are digits only; {len(odd)} codes are not "
                f"({', '.join(odd[:5])}): written as they are, DATEV will refuse them",
            )
        )
    return problems


FORMAT = DatevWriter
