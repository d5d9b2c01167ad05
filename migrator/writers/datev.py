"""DATEV EXTF (Germany): a folder with one Buchungsstapel per fiscal year and the Kontenbeschriftungen.

Files: ``EXTF_Buchungsstapel_<yyyy>.csv`` (category 21, format version 13; ``yyyy`` the year the
fiscal year starts in; DATEV batches never cross a fiscal year, and a year longer than twelve months
is cut into twelve-month batches) and ``EXTF_Kontenbeschriftungen.csv`` (category 20, format
version 3). Each file: line 1 the 31-field EXTF header, line 2 the column names, then the rows;
``;``, text in quotes, decimal comma, Windows-1252, CRLF.

Bookings: a DATEV row books one amount from ``Konto`` to ``Gegenkonto`` (``S``: Konto is debited),
balanced on its own; DATEV has no compound booking. A compound entry is therefore written as pairs
(`fold`): the entry's debit lines matched against its credit lines in order, each until its amount is
used up, so no clearing account is needed and every row balances; an entry of n lines gives at most
n − 1 rows, and a purchase with its reversal in one entry gives two rows, never one of 0,00. In DATEV
each row is then a booking of its own (the pairs are what DATEV shows and posts; nothing joins them
again), and migrator's reader reads one entry per row: this is a split by nature, stated by `as_kept`
(the source as DATEV keeps it), which verification compares entry by entry. Each row carries the
entry id as ``Beleginfo - Art 1`` "Buchungs-ID" and, for opening entries, ``Beleginfo - Art 2``
"Eröffnungsbuchung" (DATEV shows Beleginfo as text only). VAT lines are written as plain bookings
without ``BU-Schlüssel``: Swiss VAT codes have no DATEV key, and a key would make DATEV compute the
VAT again.

Columns: the first 116 names are those of the reference sample (format 7, whose umlauts were
damaged and are restored here), except seven that DATEV's official format-13 header names
otherwise (as quoted in public tests of DATEV parsers, FORMATS.md): ``EU-Land u. UStID
(Bestimmung)``, ``EU-Steuersatz (Bestimmung)``, ``USt-Schlüssel (Anzahlungen)``, ``Buchungs GUID``
(the sample's ``Leerfeld``), ``SEPA-Mandatsreferenz``, ``Datum Zuord. Steuerperiode`` and ``EU-Land
u. UStID (Ursprung)``. Header fields 24–31 are quoted as version 700 has them: 24, 27
(Sachkontenrahmen, quoted digits or ``""``), 30 and 31 in quotes, the others bare; the version-510
sample quotes 26, 29 and 30 instead. Columns 117–125 of format 13 (``Fälligkeit`` … ``Abw.
Skontokonto``) are written after DATEV's published format description as the project remembers it;
no file at hand confirms their names, and migrator leaves them empty. The Kontenbeschriftungen
columns (``Konto;Kontenbeschriftung;Sprach-ID;Kontenbeschriftung lang``) are likewise not confirmed
by a sample.
Text is written exactly, formula-like text included: the files are for DATEV's import, not a
spreadsheet, so nothing is made inert.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, guides
from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, conform, years_of
from migrator.parsing import decimal_text
from migrator.rowwise import collector_paused
from migrator.writers.base import dates_up_to, lines_with, lost

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
    "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge", "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart", "Sachverhalt L+L", "Funktionsergänzung L+L", "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    *(f"Zusatzinformation{sep}{n}" for n in range(1, 21) for sep in (" - Art ", "- Inhalt ")),
    "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr", "Zugeordnete Fälligkeit", "Skontotyp",
    "Auftragsnummer", "Buchungstyp", "USt-Schlüssel (Anzahlungen)", "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)", "Herkunft-Kz",
    "Buchungs GUID", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre", "Gesellschaftername", "Beteiligtennummer",
    "Identifikationsnummer", "Zeichnernummer", "Postensperre bis", "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung", "Festschreibung", "Leistungsdatum", "Datum Zuord. Steuerperiode",
    # 117-125: format 13 additions, not confirmed by a sample (see the module docstring)
    "Fälligkeit", "Generalumkehr (GU)", "Steuersatz", "Land", "Abrechnungsreferenz", "BVV-Position",
    "EU-Land u. UStID (Ursprung)", "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
)  # fmt: skip

# Columns the sample writes in quotes (text); the others are numbers or dates, written bare.
TEXT = frozenset(COLUMNS[i - 1] for i in (
    2, 3, 6, 9, 11, 12, 14, 16, 20, *range(21, 39), 40, 42, *range(48, 88), 91, 95, 96, 98, 102, 103, 105, 107,
    109, 110, 112, 118, 120, 121, 123,
))  # fmt: skip
LENGTH = {"Belegfeld 1": 36, "Buchungstext": 60, "KOST1 - Kostenstelle": 36, "Beleginfo - Inhalt 1": 210}
"""Field lengths of the DATEV format description; longer text is cut (and counted)."""

ACCOUNT_COLUMNS = ("Konto", "Kontenbeschriftung", "Sprach-ID", "Kontenbeschriftung lang")


LAST_DATE = dt.date(9998, 12, 31)
"""The last date written: a year-9999 date (a typo, or a placeholder for "no date") leaves no room."""


class DatevWriter:
    name = "datev"
    extension = ".csv"
    output = "folder"

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        with collector_paused():
            return self._write(ledger, target)

    def _write(self, ledger: Ledger, target: Path) -> list[Problem]:
        dates_up_to(ledger, LAST_DATE, "DATEV", N_("a batch covers twelve months at most, counted to the same day a "
                    "year later, and dates end on 9999-12-31"))  # fmt: skip
        out = _Text()
        created = (self.now or dt.datetime.now()).strftime("%Y%m%d%H%M%S%f")[:17]
        length = _account_length(ledger)
        pairs = fold(ledger)
        folded = _Folded()
        folded.count(ledger, pairs)
        sides = _Sides.of(ledger, pairs)
        folded.cost_centres_lost, folded.foreign_lost = sides.lost()
        firsts = ledger.entries().first_lines()
        batches, batch_of = _batches(pc.take(ledger.lines.column("date"), pa.array(firsts)), list(years_of(ledger)))
        undated = int(np.count_nonzero(batch_of == -1))
        pair_batch = batch_of[pairs.entry] if len(pairs.entry) else np.zeros(0, dtype=np.int64)
        for number, period in sorted(enumerate(batches), key=lambda item: item[1].start):
            head = _header(21, "Buchungsstapel", 13, created, period, length, ledger, out)
            name = f"EXTF_Buchungsstapel_{period.start.year}.csv"
            if (target / name).exists():
                name = f"EXTF_Buchungsstapel_{period.start:%Y%m%d}.csv"
            _save_rows(target / name, head, sides, np.flatnonzero(pair_batch == number), ledger, out)
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
        guides.write("datev", target)  # the import guide, in the user's language (issue 17)
        unbooked = sum(1 for year in years_of(ledger) if not any(year.contains(p.start) for p in batches))
        return (
            _not_carried(ledger, folded, out)
            + lost(N_("entries without a date"), undated, N_("left out"))
            + lost(N_("fiscal years without bookings"), unbooked, N_("no batch written (a DATEV batch holds bookings)"))
        )

    def as_kept(self, ledger: Ledger) -> Ledger:
        """each compound entry split into the Konto/Gegenkonto pairs the writer books, one entry per pair.

        The ledger as a DATEV batch keeps it: every pair of `fold` an entry of two lines (the Konto line
        first), dated like its entry's first line, with the entry's voucher and the row's text cut as the
        writer cuts them; zero-amount lines and entries without a pair left out; no VAT codes, partners
        or journals; a foreign amount only where a pair is a whole debit line against a whole credit line
        of one currency. Entry ids are the source's, with ``/1``, ``/2``… where an entry gives several
        pairs (as the reader names them). Column-wise: no Python loop per line.
        """
        return ledger.replace(lines=kept_lines(ledger, fold(ledger)))


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
            self.note(N_("texts with characters outside Windows-1252"))
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


def _batches(days: pa.Array | pa.ChunkedArray, years: list[FiscalYear]) -> tuple[list[FiscalYear], np.ndarray]:
    """The batch periods entries fall in (in the order they first occur) and each entry's period
    (-1 for an entry without a date): its fiscal year's batch, else the calendar year of its date."""
    periods = _periods(years)
    if isinstance(days, pa.ChunkedArray):
        days = days.combine_chunks()
    encoded = pc.dictionary_encode(days, null_encoding="encode")
    index = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    found: dict[FiscalYear, int] = {}
    where = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    # each distinct day once, in the order of the entries that first have it
    firsts = np.unique(index, return_index=True)[1] if len(index) else np.zeros(0, dtype=np.int64)
    for at in np.sort(firsts).tolist():
        code = int(index[at])
        day = encoded.dictionary[code].as_py()
        if day is None:
            continue
        period = next((p for p in periods if p.contains(day)), None)
        if period is None:
            period = FiscalYear(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
            periods.append(period)
        where[code] = found.setdefault(period, len(found))
    return list(found), where[index] if len(index) else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Pairs:
    """The Konto/Gegenkonto pairs a ledger's entries fold into, one array element per pair (a DATEV row).

    An entry's debit lines and its credit lines, each in line order, are laid end to end on one axis
    of cents; a pair is a stretch where one debit line and one credit line overlap. This is the same
    as matching the debit lines against the credit lines in order, each until its amount is used up,
    worked out for all entries at once.
    """

    debit: np.ndarray
    """Index (in the lines table) of each pair's debit line."""
    credit: np.ndarray
    """Index of its credit line."""
    cents: np.ndarray
    """Amount of the pair (positive)."""
    entry: np.ndarray
    """Entry number of the pair (as in `ledger.entries()`)."""
    first: np.ndarray
    """Index of the first line of the pair's entry."""
    whole: np.ndarray
    """True where the pair is the whole debit line against the whole credit line."""


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` by sorting (NumPy's hash table is slower on these integers)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def fold(ledger: Ledger) -> Pairs:
    """The DATEV pairs of every entry of `ledger`, column-wise (see `Pairs`), worked out once per ledger
    (the writer and `as_kept` both need them)."""
    return ledger.memo("datev_pairs", lambda: _fold(ledger))


def _fold(ledger: Ledger) -> Pairs:
    lines = ledger.lines
    groups = ledger.entries()
    n = lines.num_rows
    empty = np.zeros(0, dtype=np.int64)
    if not n:
        return Pairs(empty, empty, empty, empty, empty, np.zeros(0, dtype=bool))
    order = groups.order if groups.order is not None else np.arange(n)
    amounts = np.asarray(lines.column("amount").fill_null(0).to_numpy(), dtype=np.int64)[order]
    starts = np.asarray(groups.starts, dtype=np.int64)
    flags = np.zeros(n, dtype=np.int64)
    flags[starts] = 1
    number = np.cumsum(flags) - 1  # entry number of each position in `order`
    debit_total = np.add.reduceat(np.where(amounts > 0, amounts, 0), starts)
    credit_total = np.add.reduceat(np.where(amounts < 0, -amounts, 0), starts)
    span = np.maximum(debit_total, credit_total)
    offset = np.cumsum(span) - span  # where each entry's stretch of the axis begins

    def laid(side: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        positions = np.flatnonzero(side)
        values = np.abs(amounts[positions])
        entry = number[positions]
        ends = offset[entry] + np.cumsum(values) - (np.cumsum(totals) - totals)[entry]
        return positions, ends - values, ends

    d_pos, d_start, d_end = laid(amounts > 0, debit_total)
    c_pos, c_start, c_end = laid(amounts < 0, credit_total)
    if not len(d_pos) or not len(c_pos):
        return Pairs(empty, empty, empty, empty, empty, np.zeros(0, dtype=bool))
    points = _sorted_unique(np.concatenate([d_start, d_end, c_start, c_end]))
    begin, size = points[:-1], np.diff(points)
    d = np.minimum(np.searchsorted(d_end, begin, side="right"), len(d_end) - 1)
    c = np.minimum(np.searchsorted(c_end, begin, side="right"), len(c_end) - 1)
    inside = (d_start[d] <= begin) & (begin < d_end[d]) & (c_start[c] <= begin) & (begin < c_end[c])
    inside &= number[d_pos[d]] == number[c_pos[c]]
    d, c, size = d[inside], c[inside], size[inside]
    entry = number[d_pos[d]]
    whole = (size == amounts[d_pos[d]]) & (size == -amounts[c_pos[c]])
    return Pairs(order[d_pos[d]], order[c_pos[c]], size, entry, order[starts[entry]], whole)


_SPACES = r"[\s\x0b\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"
"""What Python's ``str.split()`` splits on: the writer's `_Text.cut` evens runs of it to one space."""


def _cut(column: pa.Array, size: int) -> pa.Array:
    """`_Text.cut` and the reader's strip, column-wise: spaces evened out, cut to `size` characters."""
    even = pc.utf8_trim_whitespace(pc.replace_substring_regex(column, _SPACES, " "))
    return pc.utf8_rtrim_whitespace(pc.utf8_slice_codeunits(even, 0, size))


def kept_lines(ledger: Ledger, pairs: Pairs) -> pa.Table:
    """The lines of `DatevWriter.as_kept`: two per pair, as the reader reads the row back."""
    # the columns needed, each in one chunk (taking rows from many chunks is slow)
    lines = ledger.lines
    count = len(pairs.cents)
    if not count:
        return conform("lines", {"entry": pa.array([], pa.string())})
    sides = ["description", "cost_centre", "opening", "currency", "amount_currency"]
    both_sides = lines.select(sides).combine_chunks()
    debit, credit = (both_sides.take(pa.array(i)) for i in (pairs.debit, pairs.credit))
    del both_sides
    first = lines.select(["entry", "date", "doc", "description"]).combine_chunks().take(pa.array(pairs.first))
    debit_centre = debit.column("cost_centre").fill_null("").combine_chunks()
    credit_centre = credit.column("cost_centre").fill_null("").combine_chunks()
    # Konto is the credit line where only it has a cost centre (`_row`); KOST1 belongs to Konto.
    flipped = np.asarray(
        pc.and_(pc.equal(debit_centre, ""), pc.not_equal(credit_centre, "")).to_numpy(zero_copy_only=False)
    )
    konto = np.where(flipped, pairs.credit, pairs.debit)
    gegen = np.where(flipped, pairs.debit, pairs.credit)
    sign = np.where(flipped, -1, 1).astype(np.int64)
    both = np.empty(2 * count, dtype=np.int64)
    both[0::2], both[1::2] = konto, gegen
    taken = lines.select(["account", "source_file", "source_row"]).combine_chunks().take(pa.array(both))

    def twice_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
        return pc.take(column, pa.array(np.repeat(np.arange(count), 2)))

    per_entry = np.bincount(pairs.entry)
    ordinal = np.arange(count) - np.searchsorted(pairs.entry, pairs.entry, side="left") + 1
    ids = first.column("entry").fill_null("").combine_chunks()
    suffixed = pc.binary_join_element_wise(ids, pa.array(ordinal.astype(str)), "/")
    entry = pc.if_else(pa.array(per_entry[pairs.entry] > 1), suffixed, ids)
    konto_text = pc.if_else(pa.array(flipped), credit.column("description"), debit.column("description")).fill_null("")
    debit_text = debit.column("description").fill_null("").combine_chunks()
    first_text = first.column("description").fill_null("").combine_chunks()
    text = pc.if_else(pc.equal(konto_text, ""), pc.if_else(pc.equal(debit_text, ""), first_text, debit_text),
                      konto_text)  # fmt: skip
    konto_centre = pc.if_else(pa.array(flipped), credit_centre, debit_centre)
    interleaved = pa.array(np.stack([np.arange(count), np.arange(count) + count], axis=1).ravel())
    centre = pc.take(pa.chunked_array([_cut(konto_centre, 36), pa.array([""] * count, pa.string())]), interleaved)
    opening = pc.and_(debit.column("opening").fill_null(False), credit.column("opening").fill_null(False))
    amounts = np.stack([pairs.cents * sign, -pairs.cents * sign], axis=1).ravel()
    columns: dict[str, Any] = {
        "entry": twice_text(entry),
        "line": pa.array(np.tile(np.array([1, 2], dtype=np.int32), count)),
        "date": twice_text(first.column("date").combine_chunks()),
        "doc": twice_text(_cut(first.column("doc").fill_null("").combine_chunks(), LENGTH["Belegfeld 1"])),
        "description": twice_text(_cut(text, LENGTH["Buchungstext"])),
        "account": taken.column("account"),
        "amount": pa.array(amounts, pa.int64()),
        "cost_centre": centre,
        "opening": twice_text(opening.combine_chunks() if isinstance(opening, pa.ChunkedArray) else opening),
        "source_file": taken.column("source_file"),
        "source_row": taken.column("source_row"),
    }
    columns.update(_kept_currency(debit, credit, pairs, sign, ledger.company.base_currency))
    return conform("lines", columns)


def _kept_currency(debit: pa.Table, credit: pa.Table, pairs: Pairs, sign: np.ndarray, base: str) -> dict[str, Any]:
    """Currency, foreign amount and rate of the lines a pair reads back as (`_Folded.pair`, `_row`)."""
    count = len(pairs.cents)
    currency = debit.column("currency").fill_null("").to_numpy(zero_copy_only=False).astype(object)
    other = credit.column("currency").fill_null("").to_numpy(zero_copy_only=False).astype(object)
    foreign_debit = debit.column("amount_currency").fill_null(0).to_numpy()
    foreign_credit = credit.column("amount_currency").fill_null(0).to_numpy()
    kept = pairs.whole & (currency != "") & (currency == other) & (foreign_debit == -foreign_credit)
    kept &= (foreign_debit != 0) & (currency != base)
    names = np.where(kept, currency, "")
    foreign = np.abs(foreign_debit)
    rates = np.full(count, "", dtype=object)
    for k in np.flatnonzero(kept).tolist():  # foreign pairs only: the rate as DATEV's Kurs gives it back
        kurs = (Decimal(int(foreign[k])) / Decimal(int(pairs.cents[k]))).quantize(Decimal("0.000001"))
        rates[k] = decimal_text((Decimal(1) / kurs).quantize(Decimal("0.000001"))) if kurs else ""
    amount_currency = np.stack([foreign * sign, -foreign * sign], axis=1).ravel()
    mask = np.repeat(~kept, 2)
    return {
        "currency": pa.array(np.repeat(names, 2).tolist(), pa.string()),
        "amount_currency": pa.array(amount_currency, pa.int64(), mask=mask),
        "rate": pa.array(np.repeat(rates, 2).tolist(), pa.string()),
    }


@dataclass
class _Folded:
    """Counts what the pairs cannot carry."""

    dropped_entries: int = 0
    zero_lines: int = 0
    mixed_dates: int = 0
    foreign_lost: int = 0
    cost_centres_lost: int = 0
    rows: int = 0

    def count(self, ledger: Ledger, pairs: Pairs) -> None:
        """Entries without a pair, zero-amount lines and entries on several dates, column-wise."""
        lines = ledger.lines
        groups = ledger.entries()
        self.rows = len(pairs.cents)
        self.dropped_entries = groups.count - len(_sorted_unique(pairs.entry))
        self.zero_lines = lines.num_rows - pc.sum(pc.not_equal(lines.column("amount").fill_null(0), 0)).as_py() \
            if lines.num_rows else 0  # fmt: skip
        if lines.num_rows:
            numbers = pa.array(groups.numbers())
            firsts = pc.take(lines.column("date"), pa.array(groups.first_lines()))
            other = pc.not_equal(lines.column("date"), pc.take(firsts, numbers)).fill_null(True)
            both_null = pc.and_(pc.is_null(lines.column("date")), pc.is_null(pc.take(firsts, numbers)))
            differs = pc.and_(other, pc.invert(both_null)).to_numpy(zero_copy_only=False)
            self.mixed_dates = len(_sorted_unique(np.asarray(groups.numbers())[np.asarray(differs, dtype=bool)]))


@dataclass
class _Sides:
    """Per pair (a DATEV row): its Konto and Gegenkonto lines, flag and foreign amount, column-wise."""

    pairs: Pairs
    konto: pa.Table
    gegen: pa.Table
    first: pa.Table
    flag: np.ndarray
    text: pa.Array
    currency: pa.Array
    foreign: np.ndarray
    kept: np.ndarray
    """True where a pair carries its foreign amount (a whole debit line against a whole credit line)."""
    centres_differ: np.ndarray
    foreign_lost: np.ndarray

    @classmethod
    def of(cls, ledger: Ledger, pairs: Pairs) -> _Sides:
        wanted = ["entry", "date", "doc", "description", "account", "cost_centre", "opening", "currency",
                  "amount_currency"]  # fmt: skip
        lines = ledger.lines.select(wanted).combine_chunks()
        debit, credit, first = (lines.take(pa.array(i)) for i in (pairs.debit, pairs.credit, pairs.first))

        def text(table: pa.Table, name: str) -> pa.Array:
            return table.column(name).combine_chunks().fill_null("")

        debit_centre, credit_centre = text(debit, "cost_centre"), text(credit, "cost_centre")
        # Konto is the credit line where only it has a cost centre (KOST1 belongs to Konto)
        flipped = _bools(pc.and_(pc.equal(debit_centre, ""), pc.not_equal(credit_centre, "")))
        swap = pa.array(flipped)
        konto = pa.table({n: pc.if_else(swap, credit.column(n), debit.column(n)) for n in ("description", "account", "cost_centre")})  # fmt: skip
        gegen = pa.table({"account": pc.if_else(swap, debit.column("account"), credit.column("account"))})
        debit_text = text(debit, "description")
        pair_text = pc.if_else(pc.equal(debit_text, ""), text(first, "description"), debit_text)
        konto_text = text(konto, "description")
        row_text = pc.if_else(pc.equal(konto_text, ""), pair_text, konto_text)
        differ = _bools(pc.and_(pc.and_(pc.not_equal(debit_centre, ""), pc.not_equal(credit_centre, "")),
                                pc.not_equal(debit_centre, credit_centre)))  # fmt: skip
        debit_currency, credit_currency = text(debit, "currency"), text(credit, "currency")
        currency = pc.if_else(pc.equal(debit_currency, ""), credit_currency, debit_currency)
        has = ~_bools(pc.equal(currency, ""))
        foreign_debit = debit.column("amount_currency").combine_chunks().fill_null(0).to_numpy(zero_copy_only=False)
        foreign_credit = credit.column("amount_currency").combine_chunks().fill_null(0).to_numpy(zero_copy_only=False)
        same = _bools(pc.equal(debit_currency, credit_currency)) & (foreign_debit == -foreign_credit)
        same &= foreign_debit != 0
        kept = has & same & pairs.whole
        opening = pc.and_(text_bool(debit, "opening"), text_bool(credit, "opening"))
        return cls(
            pairs=pairs,
            konto=konto.append_column("opening", opening),
            gegen=gegen,
            first=first.select(["entry", "date", "doc"]),
            flag=np.where(flipped, "H", "S"),
            text=row_text,
            currency=currency,
            foreign=np.abs(foreign_debit),
            kept=kept,
            centres_differ=differ,
            foreign_lost=has & ~kept,
        )

    def lost(self) -> tuple[int, int]:
        """Second cost centres and foreign amounts the pairs cannot carry."""
        return int(np.count_nonzero(self.centres_differ)), int(np.count_nonzero(self.foreign_lost))


def text_bool(table: pa.Table, name: str) -> pa.Array:
    """A flag column with a missing value as false."""
    return table.column(name).combine_chunks().fill_null(False)


def _bools(mask: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


ROWS_AT_ONCE = 65_536
"""Rows turned into text and written at a time (the whole batch's text would be held at once)."""


def _save_rows(path: Path, header: str, sides: _Sides, positions: np.ndarray, ledger: Ledger, out: _Text) -> None:
    """Write one Buchungsstapel: header, column names and the rows of the pairs at `positions`."""
    base = ledger.company.base_currency
    head = "\r\n".join([header, ";".join(COLUMNS)]) + "\r\n"
    parts: list[bytes | pa.Buffer] = []
    odd = False
    for start in range(0, len(positions), ROWS_AT_ONCE):
        rows = _row_texts(sides, positions[start : start + ROWS_AT_ONCE], base, out)
        latin = _latin1(_values_buffer(pc.binary_join_element_wise(rows, "", "\r\n")))
        if latin is not None:
            parts.append(latin)
            continue
        ascii_ = _bools(pc.string_is_ascii(rows))
        if not ascii_.all():  # Windows-1252 bytes differ from UTF-8 only outside ASCII
            others = np.flatnonzero(~ascii_)
            encoded = []
            for text in rows.take(pa.array(others)).to_pylist():
                try:
                    encoded.append(text.encode(ENCODING))
                except UnicodeEncodeError:
                    odd = True
                    encoded.append("".join(_cp1252(c) for c in text).encode(ENCODING))
            mask = np.zeros(len(rows), dtype=bool)
            mask[others] = True
            rows = pc.replace_with_mask(rows.cast(pa.binary()), pa.array(mask), pa.array(encoded, pa.binary()))
        ended = pc.binary_join_element_wise(rows.cast(pa.binary()), pa.scalar(b"", pa.binary()), b"\r\n")
        parts.append(_values_buffer(ended))
    try:
        first = head.encode(ENCODING)
    except UnicodeEncodeError:
        odd = True
        first = "".join(_cp1252(c) for c in head).encode(ENCODING)
    if odd:
        out.note(N_("texts with characters outside Windows-1252"))
    with path.open("wb") as handle:
        handle.write(first)
        for part in parts:
            handle.write(part)


def _latin1(data: pa.Buffer) -> pa.Buffer | bytes | None:
    """The Windows-1252 bytes of UTF-8 text whose characters are ASCII or U+00A0–U+00FF (where
    Windows-1252 is Latin-1: one byte, the code point); None for other text."""
    raw = np.frombuffer(data, dtype=np.uint8)
    high = np.flatnonzero(raw >= 0x80)
    if not len(high):
        return data
    leads = high[(raw[high] == 0xC2) | (raw[high] == 0xC3)]
    if 2 * len(leads) != len(high) or (raw[high] >= 0xC4).any():  # a character from U+0100 on
        return None
    following = raw[leads + 1]
    if ((raw[leads] == 0xC2) & (following < 0xA0)).any():  # U+0080–U+009F: not Latin-1 in Windows-1252
        return None
    out = raw.copy()
    out[leads + 1] = ((raw[leads] & 0x03) << 6) | (following & 0x3F)
    keep = np.ones(len(raw), dtype=bool)
    keep[leads] = False
    return out[keep].tobytes()


def _values_buffer(values: pa.Array) -> pa.Buffer:
    """The bytes of a binary array's values, end to end."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4)
    data = values.buffers()[2]
    if data is None:
        return pa.py_buffer(b"")
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _row_texts(sides: _Sides, at: np.ndarray, base: str, out: _Text) -> pa.Array:
    """The text of the rows of the pairs at `at` (as `_line` of `_row` gave them, one pair at a time)."""
    take = pa.array(at.astype(np.int64))
    count = len(at)
    konto, gegen, first = sides.konto.take(take), sides.gegen.take(take), sides.first.take(take)
    cents = sides.pairs.cents[at]
    kept = sides.kept[at]
    foreign = sides.foreign[at]
    blank = pa.array([""] * count, pa.string())

    def only(mask: np.ndarray, values: Any) -> pa.Array:
        return pc.if_else(pa.array(mask), values, blank) if mask.any() else blank

    days = pc.cast(first.column("date").combine_chunks(), pa.timestamp("s"))
    values: dict[str, pa.Array] = {
        "Umsatz (ohne Soll/Haben-Kz)": columns.cents_text(np.where(kept, foreign, cents), ","),
        "Soll/Haben-Kennzeichen": pa.array(sides.flag[at], pa.string()),
        "Konto": konto.column("account").combine_chunks().fill_null(""),
        "Gegenkonto (ohne BU-Schlüssel)": gegen.column("account").combine_chunks().fill_null(""),
        "Belegdatum": pc.strftime(days, "%d%m"),
        "Belegfeld 1": _cut_counted(
            first.column("doc"), LENGTH["Belegfeld 1"], N_("voucher numbers longer than 36 characters"), out
        ),
        "Buchungstext": _cut_counted(
            sides.text.take(take), LENGTH["Buchungstext"], N_("booking texts longer than 60 characters"), out
        ),
        "KOST1 - Kostenstelle": _cut_counted(
            konto.column("cost_centre"), 36, N_("cost centres longer than 36 characters"), out
        ),
        "Beleginfo - Art 1": pa.array([ENTRY_MARK] * count, pa.string()),
        "Beleginfo - Inhalt 1": first.column("entry").combine_chunks().fill_null(""),
    }
    opening = _bools(konto.column("opening").combine_chunks())
    values["Beleginfo - Art 2"] = only(opening, OPENING_MARK)
    values["Beleginfo - Inhalt 2"] = only(opening, "ja")
    if kept.any():
        values["WKZ Umsatz"] = only(kept, sides.currency.take(take))
        kurs = [_kurs(int(foreign[k]), int(cents[k])) if kept[k] else "" for k in range(count)]
        values["Kurs"] = pa.array(kurs, pa.string())
        values["Basis-Umsatz"] = only(kept, columns.cents_text(cents, ","))
        values["WKZ Basis-Umsatz"] = only(kept, base)
    blank_fields, where, quoted = _layout(COLUMNS, TEXT)
    fields: list[Any] = list(blank_fields)
    for name, value in values.items():
        if name in quoted:
            value = pc.binary_join_element_wise('"', pc.replace_substring(value, '"', '""'), '"', "")
        for index in where.get(name, ()):
            fields[index] = value
    # runs of constant fields as one piece
    pieces: list[Any] = []
    for item in fields:
        if isinstance(item, str) and pieces and isinstance(pieces[-1], str):
            pieces[-1] += ";" + item
        else:
            pieces.append(item)
    if count == 0:
        return blank
    return pc.binary_join_element_wise(*pieces, ";")


def _cut_counted(column: Any, size: int, what: str, out: _Text) -> pa.Array:
    """`_Text.cut` of every value (spaces evened out, cut to `size` characters), each cut counted."""
    even = columns.one_line(column)
    longer = _bools(pc.greater(pc.utf8_length(even), size))
    cut = int(np.count_nonzero(longer))
    if cut:
        out.counts[what] = out.counts.get(what, 0) + cut
        return pc.utf8_slice_codeunits(even, 0, size)
    return even


def _kurs(foreign: int, base: int) -> str:
    """DATEV Kurs: foreign units per base unit, six decimals, decimal comma."""
    return str((Decimal(foreign) / Decimal(base)).quantize(Decimal("0.000001"))).replace(".", ",")


def _field(value: str, text: bool) -> str:
    if not text:
        return value
    return '"' + value.replace('"', '""') + '"'


def _line(columns: Iterable[str], text: Iterable[str], values: dict[str, str]) -> str:
    """One row: every column's field, in order (most of a booking row's 125 are empty)."""
    blank, where, quoted = _layout(tuple(columns), frozenset(text))
    fields = blank.copy()
    for name, value in values.items():
        for index in where.get(name, ()):
            fields[index] = _field(value, name in quoted)
    return ";".join(fields)


@cache
def _layout(columns: tuple[str, ...], quoted: frozenset[str]) -> tuple[list[str], dict[str, list[int]], frozenset[str]]:
    """The fields of an empty row, the positions of each column name, and the quoted names."""
    where: dict[str, list[int]] = {}
    for index, name in enumerate(columns):
        where.setdefault(name, []).append(index)
    return [_field("", name in quoted) for name in columns], where, quoted


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
    label = out.cut(ledger.company.name, 30, N_("batch labels longer than 30 characters"))
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
        "",
        '""',  # 27 Sachkontenrahmen: quoted digits, ^["](\d{2}){0,2}["]$ (FORMATS.md); the ledger names none
        "",
        "",
        '""',
        '""',
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
            N_(
                "entries folded into {rows} DATEV booking rows (Konto/Gegenkonto pairs); each row reads back as an entry of its own, so a compound entry comes back as its pairs"
            ).format(rows=folded.rows),
        ),
        Problem(
            "info",
            N_(
                "DATEV adviser and client numbers are not in the ledger: written as Berater {berater}, Mandant {mandant}; set the firm's own numbers before importing"
            ).format(berater=BERATER, mandant=MANDANT),
        ),
    ]
    tagged = lines_with(lines, "vat_code")
    problems += lost(
        N_("VAT codes on lines"),
        tagged,
        N_("VAT lines written as plain bookings without BU-Schlüssel (Swiss VAT has no DATEV key equivalent)"),
    )
    problems += lost(
        N_("empty entries (no amount)"), folded.dropped_entries, N_("left out (DATEV rows need an amount)")
    )
    problems += lost(N_("zero-amount lines"), folded.zero_lines, N_("left out"))
    problems += lost(
        N_("entries with lines on several dates"), folded.mixed_dates, N_("all rows dated like the first line")
    )
    problems += lost(N_("foreign amounts of split lines"), folded.foreign_lost, N_("base-currency amounts kept"))
    problems += lost(N_("second cost centres of a row"), folded.cost_centres_lost, N_("the Konto line's one kept"))
    partners = lines_with(lines, "partner")
    problems += lost(N_("partner references on lines"), partners, N_("left out"))
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out (Debitoren/Kreditoren are not written)"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("VAT codes"), ledger.vat_codes.num_rows, N_("left out"))
    problems += lost(
        N_("account types"), ledger.accounts.num_rows, N_("left out (Kontenbeschriftungen hold number and name only)")
    )
    problems += lost(N_("groups"), ledger.groups.num_rows, N_("left out (Kontenbeschriftungen hold accounts only)"))
    problems += lost(
        N_("company name"), 1 if ledger.company.name else 0, N_("written only as the batch label (Bezeichnung)")
    )
    problems += _computed_fields(ledger)
    journals = lines_with(lines, "journal")
    problems += lost(N_("journal codes on lines"), journals, N_("left out"))
    for what, count in sorted(out.counts.items()):
        problems += lost(what, count, N_("shortened or transliterated"))
    odd = sorted({c for c in ledger.accounts.column("code").to_pylist() if not c.isdigit()})
    if odd:
        problems.append(
            Problem(
                "warning",
                N_(
                    "DATEV account numbers are digits only; {count} codes are not ({odd}): written as they are, DATEV will refuse them"
                ).format(count=len(odd), odd=", ".join(odd[:5])),
            )
        )
    return problems


COMPUTED = {"BU-Schlüssel": ("BU-Schlüssel",), "Generalumkehr (GU)": ("Generalumkehr (GU)", "Generalumkehr"),
            "Skonto": ("Skonto",)}  # fmt: skip
"""Columns a DATEV source may fill that make DATEV compute or reverse lines on import, with the names
they go by; the writer leaves them empty."""


def _name_key(name: str) -> str:
    """A column name with umlauts, U+FFFD and case evened out (as the DATEV reader matches names)."""
    return re.sub(r"[^a-z0-9/+().\- ]", "?", name.strip().lower())


def _computed_fields(ledger: Ledger) -> list[Problem]:
    """A "not carried" line for each BU-Schlüssel, Generalumkehr and Skonto a DATEV source gave
    (the DATEV reader keeps them in ``extras["Buchungsstapel"]``): the writer writes those columns empty."""
    extras = ledger.extras.get("Buchungsstapel")
    if extras is None:
        return []
    problems = []
    for column, names in COMPUTED.items():
        keys = {_name_key(n) for n in names}
        found = [c for c in extras.column_names if _name_key(c) in keys]
        count = sum(1 for c in found for v in extras.column(c).to_pylist() if v and str(v).strip())
        problems += lost(N_("{column} values of source rows").format(column=column), count, N_("{column} written empty (the rows are written as the ledger books them)").format(column=column))  # fmt: skip
    return problems


FORMAT = DatevWriter
