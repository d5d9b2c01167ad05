"""bexio: the journal export, the account statement export (CSV or xlsx), and what migrator writes.

* Journal (FORMATS.md): ``;``, dd.mm.yyyy, ``Datum;Referenz;Soll;Haben;Beschreibung;Betrag;Buchungswährung;
  Umrechnungsfaktor;Betrag in Basiswährung;Währung in Basiswährung;MWST``, newer exports with a leading
  ``Id`` (kept as an extra column). Every row is one whole booking, debit ``Soll``, credit ``Haben``.
* Account statement: ``Kontonummer;Datum;Referenz;Kontakt;Beschreibung;GK;GK Beschreibung;Code;Prozentsatz;
  Ziffer;Währung;Soll;Haben;Saldo;Fremdwährung;Kurs;FW-Betrag``: one account's side of each booking, ``GK``
  the other account, so each row is also a whole booking. Statements of several accounts list a booking
  between two of them once in each: a booking is counted as often as the statement that lists it most
  often does, and every row left out names the row it duplicates (an info problem). *Assumed*: Soll and
  Haben are in the base currency, ``Fremdwährung``/``Kurs``/``FW-Betrag`` the foreign amount; rows
  without a date or without Soll and Haben (balances, totals) are skipped with a note.
* Accounts are written ``1020 - PostFinance AG`` (code and name; the chart is built from them), VAT
  ``UN81 (8.10%)`` (code and rate). Amounts may carry any thousands separator, U+FFFD included.
* Entries: rows with the same date and Referenz form one entry (a bexio invoice, bill or salary run
  exports one row per position, all with its reference: seen in the reference export); rows without a
  Referenz are one entry each.
* VAT: the reference export books the VAT of invoices as a row of its own, tagged with the code like
  the base rows (``1100/2200 157.85 UN77`` beside ``1100/3400 2050.00 UN77``: 2050 × 7.7 % = 157.85).
  Among the rows of one entry with one code, the one row whose amount is the rate times the others (to
  the cent) is read as the VAT line; its base lines carry the code and the VAT, split in proportion.
  The line that carries the code is the one on the VAT's side (the side not shared with the VAT row).
  A row with a code and no such VAT row (a manual entry; bexio books its VAT itself and the export does
  not show it) is kept as it is, with the code on its income or expense account: no VAT is invented.
* Contacts and products (CSV or xlsx) in the columns of bexio's contact and product imports (`CONTACTS`,
  `PRODUCTS`; its exports *assumed* alike): partners and items, alone or beside a journal.
* A folder holding ``manual_entries.json`` is what migrator's bexio writer made: the entries, with
  ``taxes.csv`` (rates and VAT accounts, to book the VAT bexio computes from ``tax_id``) and
  ``Kontenplan.xlsx`` (the chart). ``invoices.json`` (bexio invoices of open customer invoices, see
  `migrator.writers.bexio`) gives the open items; the offset entry that pairs with each invoice
  (reference ``OP-Übertrag <number>``, its date, debit the invoice's position account, the open amount)
  is taken out of the journal (it and the issued invoice cancel out in bexio's books) and gives the
  open item its receivable account. An offset-like entry that pairs with no invoice stays in the journal,
  with a warning. A chart row the writer added for the transition account (named "Übertrag offene
  Posten", no line left on it) is taken out of the chart again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.bexio_format import DRAFT, OFFSET_PREFIX, TRANSITION_NAME, gross_vat, offset_reference
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import LINES, Company, Ledger, Problem, conform, table
from migrator.parsing import (
    MAX_CENTS,
    AmountColumn,
    DateColumn,
    ParseError,
    cell_cents,
    csv_records,
    csv_rows,
    decimal_text,
    decode,
    exact_cents,
    excel_number,
    head_text,
    parse_rate,
    workbook_rows,
)
from migrator.partners import country_code, language_code
from migrator.readers.base import ReadOptions, accounts_from_lines, date_or_none, merge_accounts
from migrator.sources import Source
from migrator.vatfold import allocate
from migrator.writers.base import FORMULA_STARTS

JOURNAL = ("Datum", "Referenz", "Soll", "Haben", "Beschreibung", "Betrag", "Buchungswährung", "Umrechnungsfaktor",
           "Betrag in Basiswährung", "Währung in Basiswährung", "MWST")  # fmt: skip
STATEMENT = ("Kontonummer", "Datum", "Referenz", "Kontakt", "Beschreibung", "GK", "GK Beschreibung", "Code",
             "Prozentsatz", "Ziffer", "Währung", "Soll", "Haben", "Saldo", "Fremdwährung", "Kurs", "FW-Betrag")  # fmt: skip
CHART = ("Kontonummer", "Kontoname", "Kontengruppe", "Kontoart", "Systemkonto", "Verknüpftes Konto", "MWST-Typ")
CONTACTS = ("Kontaktnummer", "Kontaktart", "Name 1", "Name 2", "Strasse", "Hausnummer", "Adresszusatz", "PLZ", "Ort",
            "Land", "Sprache", "E-Mail", "Telefon", "Mobile", "Website", "Bemerkungen")  # fmt: skip
PRODUCTS = ("Produktcode", "Gruppe", "Produktname", "Produktbeschreibung", "Einkaufspreis", "Verkaufspreis", "Währung",
            "Einheit", "Ertragskonto", "Aufwandkonto", "MwSt Umsatzsteuer", "MwSt Vorsteuer", "Lagerbestand",
            "Mindestbestand")  # fmt: skip
NEEDED = {
    "journal": ("Datum", "Referenz", "Soll", "Haben", "Betrag"),
    "statement": ("Kontonummer", "Datum", "GK", "Soll", "Haben"),
    "chart": ("Kontonummer", "Kontoname"),
    "contacts": ("Kontaktart", "Name 1"),
    "products": ("Produktname", "Verkaufspreis"),
}
KONTOART = {"ertrag": "income", "aufwand": "expense", "aktiv": "asset", "passiv": "liability", "1": "income",
            "2": "expense", "3": "asset", "4": "liability"}  # fmt: skip
ACCOUNT_RE = re.compile(r"^\s*(\S+)\s+-\s+(.*?)\s*$")
VAT_RE = re.compile(r"^\s*(\S+)\s*\(\s*([\d.,]+)\s*%\s*\)\s*$")
SUFFIXES = (".csv", ".txt", ".xlsx")


def _norm(name: str) -> str:
    """A column name compared loosely: case, spaces, and letters a bad encoding damaged (ä → U+FFFD)."""
    plain = unicodedata.normalize("NFC", name.strip().strip('"').lstrip("\ufeff")).lower()
    return re.sub(r"[^a-z0-9 -]", "?", plain)


_CANON = {_norm(n): n for n in (*JOURNAL, *STATEMENT, *CHART, *CONTACTS, *PRODUCTS, "Id")}


def header_kind(names: list[str]) -> str:
    """journal, statement or chart for a bexio header, "" otherwise."""
    have = {_CANON.get(_norm(n), "") for n in names}
    if "Kontonummer" in have and "GK" in have:
        return "statement"
    for kind in ("journal", "chart", "contacts", "products"):
        if all(n in have for n in NEEDED[kind]):
            return kind
    return ""


@dataclass
class Table:
    file: str
    kind: str
    rows: list[tuple[int, dict[str, Any]]]


@dataclass
class Booking:
    """One whole bexio booking: debit and credit account, amount in base currency, and its VAT code."""

    file: str
    row: int
    date: dt.date
    ref: str
    debit: str
    credit: str
    description: str
    amount: int
    currency: str = ""
    amount_currency: int | None = None
    rate: str = ""
    vat_code: str = ""
    owner: str = ""
    """For statement rows: the account whose statement the row is in."""


@dataclass
class Found:
    """What the files of a source give: bookings, names, VAT codes, problems."""

    bookings: list[Booking] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    vat: dict[str, dict[str, Any]] = field(default_factory=dict)
    chart: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bases: Counter[str] = field(default_factory=Counter)
    extras: list[dict[str, Any]] = field(default_factory=list)


def _text_table(data: bytes, name: str, encoding: str | None) -> Table | None:
    try:
        text, _ = decode(data, encoding, name)
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    lines = text.lstrip("\ufeff").splitlines()
    for start, first in enumerate(lines[:5]):
        if not first.strip():
            continue
        separator = max((";", "\t", ","), key=first.count)
        names = _cells(first, separator, name)
        kind = header_kind(names)
        if not kind:
            return None
        keys = [_CANON.get(_norm(n), n.strip()) for n in names]
        rows = []
        try:
            for line, cells in csv_records("\n".join(lines[start + 1 :]), separator, name):
                number = start + 1 + line
                if any(c.strip() for c in cells):
                    if len(cells) > len(keys):
                        raise SourceError(
                            N_("{count} fields where the header has {count_b}").format(
                                count=len(cells), count_b=len(keys)
                            ),
                            name,
                            number,
                        )
                    rows.append((number, dict(zip(keys, cells, strict=False))))
        except ParseError as exc:
            raise SourceError(str(exc)) from None
        return Table(name, kind, rows)
    return None


def _cells(line: str, separator: str, name: str) -> list[str]:
    """The fields of one header line; a malformed one has none."""
    try:
        return next(csv_rows(line, separator, name), [])
    except ParseError:
        return []


def _xlsx_table(path: Path, name: str, limit: int | None = None) -> Table | None:
    for _, rows in workbook_rows(path, name, limit):
        for index, cells in enumerate(rows[:10]):
            names = [str(c) if c is not None else "" for c in cells]
            kind = header_kind(names)
            if not kind:
                continue
            keys = [_CANON.get(_norm(n), n.strip()) for n in names]
            out = []
            for number, values in enumerate(rows[index + 1 :], start=index + 2):
                if any(v not in (None, "") for v in values):
                    out.append((number, {k: ("" if v is None else v) for k, v in zip(keys, values, strict=False)}))
            return Table(name, kind, out)
    return None


def _text(value: Any) -> str:
    if isinstance(value, float):  # float-ok: an Excel cell, made exact at once
        return str(excel_number(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return "" if value is None else str(value).strip()


def _cents(value: Any, column: AmountColumn) -> int | None:
    return cell_cents(value, column)


def _account(text: Any) -> tuple[str, str]:
    value = _text(text)
    match = ACCOUNT_RE.match(value)
    return (match.group(1), match.group(2)) if match else (value, "")


def _vat_text(text: Any) -> tuple[str, str]:
    value = _text(text)
    match = VAT_RE.match(value)
    return (match.group(1), parse_rate(match.group(2))) if match else (value, "")


def _columns(rows: list[tuple[int, dict[str, Any]]], *names: str) -> dict[str, AmountColumn]:
    return {n: AmountColumn([_text(c.get(n)) for _, c in rows if not isinstance(c.get(n), int | float)]) for n in names}


def _dates(rows: list[tuple[int, dict[str, Any]]]) -> DateColumn:
    return DateColumn([_text(c.get("Datum")) for _, c in rows if date_or_none(c.get("Datum")) is None])


def _day(value: Any, column: DateColumn) -> dt.date | None:
    return date_or_none(value) or column.date(_text(value))


class BexioReader:
    name = "bexio"
    extensions = (".csv", ".xlsx", ".json")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            if (source.path / "manual_entries.json").is_file():
                return 0.95
            files = [p for p in sorted(source.path.rglob("*.csv"))[:20]]
            return 0.9 if any(header_kind(_first(p.read_bytes()[:4096])) for p in files) else 0.0
        if source.suffix == ".xlsx":
            try:
                return 0.9 if _xlsx_table(source.path, source.name, limit=12) else 0.0
            except (OSError, SourceError):
                return 0.0
        kind = header_kind(_first(source.head()))
        return 0.95 if kind in ("journal", "statement") else 0.9 if kind in ("contacts", "products") else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        if source.is_dir and (source.path / "manual_entries.json").is_file():
            return _read_written(source)
        if not source.is_dir and source.path.stat().st_size == 0:
            raise SourceError(
                N_(
                    "the file is empty; expected a bexio journal export (Datum;Referenz;Soll;Haben;…) or account statement"
                ),
                source.name,
            )
        found = Found()
        paths = sorted(p for p in source.path.rglob("*") if p.is_file()) if source.is_dir else [source.path]
        tables = []
        for path in paths:
            if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            name = source.child(path).name if source.is_dir else source.name
            loaded = (
                _xlsx_table(path, name)
                if path.suffix.lower() == ".xlsx"
                else _text_table(path.read_bytes(), name, options.encoding)
            )
            if loaded is None:
                if not source.is_dir:
                    raise SourceError(
                        N_("unknown header: expected a bexio journal export (Datum;Referenz;Soll;Haben;…), an account "
                        "statement (Kontonummer;Datum;…;GK;…) or a folder with manual_entries.json"), name, 1,
                    )  # fmt: skip
                found.problems.append(Problem("warning", N_("not a bexio export (unknown header); ignored"), name, 1))
                continue
            tables.append(loaded)
        if not any(t.kind in ("journal", "statement", "contacts", "products") for t in tables):
            raise SourceError(N_("no bexio journal, account statement, contacts or products export found"), source.name)
        for tab in tables:
            {"journal": _journal, "statement": _statement, "chart": _chart, "contacts": _contacts,
             "products": _products}[tab.kind](tab, found)  # fmt: skip
        _deduplicate(found)
        return _ledger(found, source.name, "bexio export")


def _first(head: bytes) -> list[str]:
    text = head_text(head)
    first = text.splitlines()[0] if text.strip() else ""
    return _cells(first, max((";", "\t", ","), key=first.count), "")


def _journal(tab: Table, found: Found) -> None:
    dates = _dates(tab.rows)
    amounts = _columns(tab.rows, "Betrag", "Betrag in Basiswährung")
    for number, cells in tab.rows:
        try:
            day = _day(cells.get("Datum"), dates)
            debit, debit_name = _account(cells.get("Soll"))
            credit, credit_name = _account(cells.get("Haben"))
            amount = _cents(cells.get("Betrag"), amounts["Betrag"])
            base_amount = _cents(cells.get("Betrag in Basiswährung"), amounts["Betrag in Basiswährung"])
            rate = parse_rate(_text(cells.get("Umrechnungsfaktor")))
            code, vat_rate = _vat_text(cells.get("MWST"))
        except ParseError as exc:
            found.problems.append(Problem("error", str(exc), tab.file, number))
            continue
        missing = [
            n for n, v in (("Datum", day), ("Soll", debit), ("Haben", credit), ("Betrag", amount)) if not v and v != 0
        ]
        if missing:
            found.problems.append(
                Problem(
                    "error",
                    N_("{missing} empty: the row is not a booking").format(missing=", ".join(missing)),
                    tab.file,
                    number,
                )
            )
            continue
        assert day is not None and amount is not None
        base = _text(cells.get("Währung in Basiswährung"))
        currency = _text(cells.get("Buchungswährung"))
        if base:
            found.bases[base] += 1
        foreign = currency and base and currency != base
        found.names.setdefault(debit, debit_name)
        found.names.setdefault(credit, credit_name)
        if code:
            found.vat.setdefault(code, {"code": code, "rate": vat_rate})
        if _text(cells.get("Id")):
            found.extras.append({"file": tab.file, "row": number, "Id": _text(cells.get("Id"))})
        found.bookings.append(Booking(
            tab.file, number, day, _text(cells.get("Referenz")), debit, credit, _text(cells.get("Beschreibung")),
            base_amount if base_amount is not None else amount, currency if foreign else "",
            amount if foreign else None, rate if foreign else "", code,
        ))  # fmt: skip


def _statement(tab: Table, found: Found) -> None:
    dates = _dates(tab.rows)
    amounts = _columns(tab.rows, "Soll", "Haben", "FW-Betrag")
    for number, cells in tab.rows:
        owner, owner_name = _account(cells.get("Kontonummer"))
        other = _account(cells.get("GK"))[0]
        if not _text(cells.get("Datum")) or not (_text(cells.get("Soll")) or _text(cells.get("Haben"))) or not other:
            saldo = _text(cells.get("Saldo"))
            note = N_("not a booking (no date, amount or GK; Saldo {value}): a balance or total row, skipped").format(
                value=saldo or "empty"
            )
            found.problems.append(Problem("info", note, tab.file, number))
            continue
        try:
            day = _day(cells.get("Datum"), dates)
            soll = _cents(cells.get("Soll"), amounts["Soll"])
            haben = _cents(cells.get("Haben"), amounts["Haben"])
            foreign = _cents(cells.get("FW-Betrag"), amounts["FW-Betrag"])
            rate = parse_rate(_text(cells.get("Kurs")))
            vat_rate = parse_rate(_text(cells.get("Prozentsatz")))
            code = _vat_text(cells.get("Code"))[0]
        except ParseError as exc:
            found.problems.append(Problem("error", str(exc), tab.file, number))
            continue
        assert day is not None
        if soll is not None:
            debit, credit, amount = owner, other, soll
        else:
            debit, credit, amount = other, owner, haben or 0
        found.names.setdefault(owner, owner_name)
        found.names.setdefault(other, _text(cells.get("GK Beschreibung")))
        if code:
            found.vat.setdefault(code, {"code": code, "rate": vat_rate, "form_box": _text(cells.get("Ziffer"))})
        currency = _text(cells.get("Fremdwährung"))
        if _text(cells.get("Währung")):
            found.bases[_text(cells.get("Währung"))] += 1
        has_foreign = bool(currency) and foreign is not None and currency != _text(cells.get("Währung"))
        signed_foreign = (
            (abs(foreign) if amount >= 0 else -abs(foreign)) if has_foreign and foreign is not None else None
        )
        found.bookings.append(Booking(
            tab.file, number, day, _text(cells.get("Referenz")), debit, credit, _text(cells.get("Beschreibung")),
            amount, currency if has_foreign else "", signed_foreign, rate if has_foreign else "", code, owner,
        ))  # fmt: skip


def _chart(tab: Table, found: Found) -> None:
    """Accounts of a chart; a row whose number another row names as its Kontengruppe is a group."""
    referred = {_text(cells.get("Kontengruppe")) for _, cells in tab.rows}
    for _, cells in tab.rows:
        code = _text(cells.get("Kontonummer"))
        if code and code in referred:
            found.groups.append({"code": code, "name": _text(cells.get("Kontoname")),
                                 "parent": _text(cells.get("Kontengruppe"))})  # fmt: skip
        elif code:
            kind = KONTOART.get(_text(cells.get("Kontoart")).lower(), "")
            found.chart.append({"code": code, "name": _text(cells.get("Kontoname")), "type": kind,
                                "parent": _text(cells.get("Kontengruppe")),
                                "vat_code": _text(cells.get("MWST-Typ")), "active": True})  # fmt: skip


def _contacts(tab: Table, found: Found) -> None:
    """Partners from bexio's contacts (the import template's columns, `CONTACTS`; its exports *assumed*
    alike): Kontaktart Person gives a person (Name 1 the last name, Name 2 the first), else a company."""
    for number, cells in tab.rows:
        name_1, name_2 = _text(cells.get("Name 1")), _text(cells.get("Name 2"))
        if not name_1:
            found.problems.append(Problem("warning", N_("a contact without Name 1: left out"), tab.file, number))
            continue
        person = _text(cells.get("Kontaktart")).casefold() in ("person", "2", "privatperson")
        land, sprache = _text(cells.get("Land")), _text(cells.get("Sprache"))
        country, language = country_code(land) if land else "", language_code(sprache) if sprache else ""
        if land and not country:
            found.problems.append(
                Problem("warning", N_("country {land!r} not known; left out").format(land=land), tab.file, number)
            )
        found.partners.append({
            "id": _text(cells.get("Kontaktnummer")), "kind": "person" if person else "company",
            "name": " ".join(n for n in (name_2, name_1) if n) if person else " ".join(n for n in (name_1, name_2) if n),
            "first_name": name_2 if person else "", "last_name": name_1 if person else "",
            "street": _text(cells.get("Strasse")), "building_number": _text(cells.get("Hausnummer")),
            "address_line2": _text(cells.get("Adresszusatz")), "zip": _text(cells.get("PLZ")),
            "city": _text(cells.get("Ort")), "country": country or "", "language": language or "",
            "email": _text(cells.get("E-Mail")), "phone": _text(cells.get("Telefon")),
            "mobile": _text(cells.get("Mobile")), "website": _text(cells.get("Website")),
            "notes": _text(cells.get("Bemerkungen")), "active": True,
        })  # fmt: skip


def _products(tab: Table, found: Found) -> None:
    """Items from bexio's products (the import's columns, `PRODUCTS`); prices exact, stock as decimal text."""
    prices = _columns(tab.rows, "Einkaufspreis", "Verkaufspreis")
    for number, cells in tab.rows:
        name = _text(cells.get("Produktname"))
        if not name:
            found.problems.append(Problem("warning", N_("a product without Produktname: left out"), tab.file, number))
            continue
        try:
            purchase = _cents(cells.get("Einkaufspreis"), prices["Einkaufspreis"])
            sale = _cents(cells.get("Verkaufspreis"), prices["Verkaufspreis"])
            stock, minimum = (_quantity(cells.get(k)) for k in ("Lagerbestand", "Mindestbestand"))
        except (ParseError, ArithmeticError, ValueError) as exc:
            found.problems.append(
                Problem("error", N_("product {name}: {exc}").format(name=name, exc=exc), tab.file, number)
            )
            continue
        found.items.append({
            "code": _text(cells.get("Produktcode")), "name": name, "description": _text(cells.get("Produktbeschreibung")),
            "unit": _text(cells.get("Einheit")), "sale_price": sale, "purchase_price": purchase,
            "currency": _text(cells.get("Währung")), "sale_vat_code": _text(cells.get("MwSt Umsatzsteuer")),
            "purchase_vat_code": _text(cells.get("MwSt Vorsteuer")), "revenue_account": _text(cells.get("Ertragskonto")),
            "expense_account": _text(cells.get("Aufwandkonto")), "group": _text(cells.get("Gruppe")),
            "stock": stock, "stock_min": minimum, "active": True,
        })  # fmt: skip


def _quantity(value: Any) -> str:
    """A quantity as decimal text (``12``, ``137.5``); empty stays empty."""
    text = _text(value)
    return decimal_text(Decimal(text)) if text else ""


def _in_base(items: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
    """Items priced in the base currency carry no currency (as the model has it)."""
    return [{**item, "currency": ""} if item["currency"] == base else item for item in items]


def _deduplicate(found: Found) -> None:
    """Keep each statement booking as often as the statement that lists it most often (see module doc)."""
    by_key: dict[tuple[Any, ...], dict[str, list[Booking]]] = {}
    for booking in found.bookings:
        if booking.owner:
            key = (booking.date, booking.ref, booking.description, booking.debit, booking.credit, booking.amount,
                   booking.currency, booking.amount_currency, booking.vat_code)  # fmt: skip
            by_key.setdefault(key, {}).setdefault(booking.owner, []).append(booking)
    dropped: set[int] = set()
    for owners in by_key.values():
        kept = max(owners.values(), key=len)
        for listed in owners.values():
            if listed is kept:
                continue
            for index, booking in enumerate(listed):
                twin = kept[min(index, len(kept) - 1)]
                dropped.add(id(booking))
                if index < len(kept):
                    message = N_("the other side of the booking in {file} row {row}; counted once").format(
                        file=twin.file, row=twin.row
                    )
                else:
                    message = N_("listed more often here than in the other account's statement; counted once")
                found.problems.append(Problem("info", message, booking.file, booking.row))
    found.bookings = [b for b in found.bookings if id(b) not in dropped]


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _kind(code: str) -> str:
    known = vat.identify(code, "bexio")
    return known.kind if known else ""


def _lines(found: Found) -> list[dict[str, Any]]:
    """Entries from bookings (grouped by date and Referenz) with VAT rows found (see module doc)."""
    groups: dict[tuple[Any, ...], list[Booking]] = {}
    for index, booking in enumerate(found.bookings):
        key = (booking.date, booking.ref) if booking.ref else (booking.date, "", index)
        groups.setdefault(key, []).append(booking)
    out: list[dict[str, Any]] = []
    for number, group in enumerate(groups.values(), start=1):
        lines: dict[int, list[dict[str, Any]]] = {}
        for booking in group:
            common = {"entry": str(number), "date": booking.date, "doc": booking.ref, "description": booking.description,
                      "source_file": booking.file, "source_row": booking.row, "currency": booking.currency,
                      "rate": booking.rate}  # fmt: skip
            foreign = booking.amount_currency
            lines[id(booking)] = [
                {**common, "account": booking.debit, "amount": booking.amount, "amount_currency": foreign},
                {**common, "account": booking.credit, "amount": -booking.amount,
                 "amount_currency": -foreign if foreign is not None else None},
            ]  # fmt: skip
        for code in sorted({b.vat_code for b in group if b.vat_code}):
            _tag(code, [b for b in group if b.vat_code == code], lines, found)
        for booking in group:
            out += lines[id(booking)]
    return out


def _tag(code: str, rows: list[Booking], lines: dict[int, list[dict[str, Any]]], found: Found) -> None:
    """Mark the VAT row of `rows` (one code, one entry) and give the code to the lines it belongs on."""
    rate_text = found.vat.get(code, {}).get("rate", "")
    rate = Decimal(rate_text) if rate_text else None
    vat_row = None
    if rate is not None and len(rows) > 1:
        total = sum(b.amount for b in rows)
        fits = [b for b in rows if b.amount and abs(_round((total - b.amount) * rate / 100) - b.amount) <= 1]
        vat_row = fits[0] if len(fits) == 1 else None
    kind = _kind(code)
    if vat_row is None:
        for booking in rows:
            debit, credit = lines[id(booking)]
            pnl = [
                line for line in (debit, credit) if line["account"][:1] in "3456789" and line["account"][:1].isdigit()
            ]
            line = pnl[0] if len(pnl) == 1 else (debit if kind.startswith("input") or kind == "acquisition" else credit)
            line["vat_code"] = code
        return
    bases = [b for b in rows if b is not vat_row]
    if all(b.debit == vat_row.debit for b in bases):
        side = 1  # the VAT row shares its debit (the receivable): the VAT is on the credit side
    elif all(b.credit == vat_row.credit for b in bases):
        side = 0
    else:
        side = 0 if kind.startswith("input") or kind == "acquisition" else 1
    vat_line = lines[id(vat_row)][side]
    vat_line["vat_code"] = code
    vat_line["vat_line"] = True
    found.vat[code].setdefault("account", vat_line["account"])
    base_lines = [lines[id(b)][side] for b in bases]
    for line, share in zip(base_lines, allocate(vat_line["amount"], [x["amount"] for x in base_lines]), strict=True):
        line["vat_code"] = code
        line["vat_amount"] = share


def _ledger(found: Found, name: str, system: str) -> Ledger:
    rows = _lines(found)
    seen: Counter[str] = Counter()
    for row in rows:
        seen[row["entry"]] += 1
        row["line"] = seen[row["entry"]]
    lines = table("lines", rows)
    base = found.bases.most_common(1)[0][0] if found.bases else "CHF"
    if found.chart:
        accounts, notes = merge_accounts(table("accounts", found.chart), lines, name)
    else:
        accounts, notes = accounts_from_lines(lines, name)
        accounts = table("accounts", ({**a, "name": found.names.get(a["code"], "")} for a in accounts.to_pylist()))
    vat_rows = []
    for code, row in sorted(found.vat.items()):
        known = vat.identify(code, "bexio")
        vat_rows.append({
            "kind": known.kind if known else "", "valid_from": known.valid_from if known else None,
            "valid_to": known.valid_to if known else None, "description": known.description if known else "",
            **{k: v for k, v in row.items() if v not in ("", None)}, "code": code,
        })  # fmt: skip
    extras = {}
    if found.extras:
        extras["lines"] = table_extras(found.extras)
    return Ledger(
        company=Company(base_currency=base, source_system=system), accounts=accounts,
        groups=table("groups", found.groups), vat_codes=table("vat_codes", vat_rows), lines=lines,
        partners=table("partners", found.partners), items=table("items", _in_base(found.items, base)),
        problems=tuple(found.problems + notes), extras=extras, format="bexio", encoding="utf-8",
    )  # fmt: skip


def table_extras(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    return pa.table({"source_file": [r["file"] for r in rows], "source_row": [r["row"] for r in rows],
                     "Id": [r["Id"] for r in rows]})  # fmt: skip


# ---------------------------------------------------------------------------------- what the writer wrote


def _read_written(source: Source) -> Ledger:
    """manual_entries.json with taxes.csv and Kontenplan.xlsx, as migrator's bexio writer makes them."""
    found = Found()
    json_name = source.child(source.path / "manual_entries.json").name
    try:
        bodies = json.loads((source.path / "manual_entries.json").read_text("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise SourceError(N_("not valid JSON: {exc}").format(exc=exc), json_name) from None
    if not isinstance(bodies, list):
        raise SourceError(N_("expected a list of manual entries"), json_name)
    taxes = _read_taxes(source, found)
    written_base, step = _read_rounding(source)
    chart = source.path / "Kontenplan.xlsx"
    if chart.is_file():
        tab = _xlsx_table(chart, source.child(chart).name)
        if tab is not None and tab.kind == "chart":
            _chart(tab, found)
    for file, reader in (("Kontakte.xlsx", _contacts), ("Produkte.xlsx", _products)):
        if (source.path / file).is_file():
            tab = _xlsx_table(source.path / file, source.child(source.path / file).name)
            if tab is not None:
                reader(tab, found)
    invoices: list[Invoice] = []
    invoices_path = source.path / "invoices.json"
    invoices_name = source.child(invoices_path).name
    if invoices_path.is_file():
        invoices = _read_invoices(invoices_path, invoices_name, found)
    paired, receivable = pair_offsets(bodies, invoices, json_name, found.problems)
    collected = _Lines()
    currencies: Counter[str] = Counter()
    for number, body in enumerate(bodies, start=1):
        if number in paired:
            continue
        try:
            collected.entry(body, number, json_name, taxes, currencies, step)
        except (ParseError, KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            found.problems.append(Problem("error", N_("entry not read: {exc}").format(exc=exc), json_name, number))
        bodies[number - 1] = None  # read: let it go (the whole list of a large book takes gigabytes)
    base = written_base or (currencies.most_common(1)[0][0] if currencies else "CHF")
    lines = collected.table(base)
    del collected
    open_items = open_item_rows(invoices, receivable, base, invoices_name, found.problems)
    _drop_transition(found, invoices, paired, lines)
    if found.chart:
        accounts, notes = merge_accounts(table("accounts", found.chart), lines, json_name)
    else:
        accounts, notes = accounts_from_lines(lines, json_name)
    vat_rows = [{"code": c, "rate": t["rate"], "kind": t["kind"], "account": t["account"],
                 "description": t["description"]} for c, t in taxes.items()]  # fmt: skip
    return Ledger(
        company=Company(base_currency=base, source_system="migrator bexio manual entries"), accounts=accounts,
        groups=table("groups", found.groups), vat_codes=table("vat_codes", vat_rows), lines=lines,
        partners=table("partners", found.partners), items=table("items", _in_base(found.items, base)),
        open_items=table("open_items", open_items), problems=tuple(found.problems + notes), format="bexio",
        encoding="utf-8",
    )  # fmt: skip


@dataclass
class Invoice:
    """A bexio invoice of an open customer invoice (`migrator.writers.bexio.open_invoices`), as written
    or as bexio lists it: accounts, currency and contact as numbers and codes."""

    row: int
    number: str
    partner: str
    date: dt.date
    due: dt.date | None
    currency: str
    open_amount: Decimal
    account: str
    """The positions' account (the transition account); empty where bexio's list shows no positions."""
    title: str
    draft: bool = False


def invoice_of(body: dict[str, Any], row: int, accounts: dict[Any, str] | None = None,
               currencies: dict[Any, str] | None = None, contacts: dict[Any, str] | None = None) -> Invoice:  # fmt: skip
    """An `Invoice` of a ``kb_invoice`` body; `accounts`, `currencies`, `contacts` map bexio's ids to account
    numbers, currency codes and contact numbers (the writer's files hold those already). The open amount
    is the sum of the positions (``amount`` the quantity × ``unit_price``), else bexio's
    ``total_remaining_payments`` or ``total`` (*assumed* fields of bexio's list)."""

    def mapped(ids: dict[Any, str] | None, value: Any) -> str:
        return ids.get(value, "") if ids is not None else _str(value)

    positions = body.get("positions")
    if positions:
        total = sum((_amount(p.get("amount", 1)) * _amount(p["unit_price"]) for p in positions), Decimal(0))
        account = mapped(accounts, positions[0].get("account_id"))
    else:
        total = _amount(body.get("total_remaining_payments", body.get("total")))
        account = ""
    due = body.get("is_valid_to")
    return Invoice(
        row=row, number=_str(body.get("api_reference")), partner=mapped(contacts, body.get("contact_id")),
        date=dt.date.fromisoformat(str(body["is_valid_from"])), due=dt.date.fromisoformat(str(due)) if due else None,
        currency=mapped(currencies, body.get("currency_id")), open_amount=total, account=account,
        title=_str(body.get("title")), draft=body.get("kb_item_status_id", DRAFT + 1) == DRAFT,
    )  # fmt: skip


def _read_invoices(path: Path, name: str, found: Found) -> list[Invoice]:
    """The invoices of ``invoices.json``; one that cannot be read is an error naming its position."""
    try:
        bodies = json.loads(path.read_text("utf-8"), parse_float=Decimal)
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise SourceError(N_("not valid JSON: {exc}").format(exc=exc), name) from None
    if not isinstance(bodies, list):
        raise SourceError(N_("expected a list of bexio invoices"), name)
    out = []
    for number, body in enumerate(bodies, start=1):
        try:
            out.append(invoice_of(body, number))
        except (ParseError, KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            found.problems.append(Problem("error", N_("invoice not read: {exc}").format(exc=exc), name, number))
    return out


def pair_offsets(bodies: list[Any], invoices: list[Invoice], file: str, problems: list[Problem]
                 ) -> tuple[set[int], dict[int, str]]:  # fmt: skip
    """The entries (numbered from 1 in `bodies`, account numbers in place of ids) that are the offset of an
    issued invoice of `invoices`, and per invoice (its index) the receivable account its offset credits.
    An offset pairs with one invoice: its reference, date and open amount, one line debiting the
    invoice's position account (where known) in the invoice's currency. Offset-like entries (reference
    ``OP-Übertrag …``) that pair with none stay entries, with a warning."""
    waiting: dict[str, list[int]] = {}
    for index, invoice in enumerate(invoices):
        if not invoice.draft:
            waiting.setdefault(offset_reference(invoice.number), []).append(index)
    paired: set[int] = set()
    receivable: dict[int, str] = {}
    for number, body in enumerate(bodies, start=1):
        if not isinstance(body, dict) or not _str(body.get("reference_nr")).startswith(OFFSET_PREFIX):
            continue
        reference = _str(body.get("reference_nr"))
        lines = body.get("entries") or []
        line = lines[0] if isinstance(lines, list) and len(lines) == 1 and isinstance(lines[0], dict) else {}
        match = next((i for i in waiting.get(reference, []) if _offset_of(body, line, invoices[i])), None)
        if match is None:
            problems.append(Problem("warning", N_("entry {reference} looks like the offset of an open invoice, but no "
                                                  "issued invoice of the same number, date, amount and account pairs "
                                                  "with it: kept as a journal entry").format(reference=reference),
                                    file, number))  # fmt: skip
            continue
        waiting[reference].remove(match)
        paired.add(number)
        receivable[match] = _str(line.get("credit_account_id"))
    return paired, receivable


def _offset_of(body: dict[str, Any], line: dict[str, Any], invoice: Invoice) -> bool:
    """Whether manual entry `body` (its one `line`) is the offset of `invoice`."""
    try:
        return (body.get("type") == "manual_single_entry" and str(body.get("date")) == invoice.date.isoformat()
                and _str(line.get("credit_account_id")) != ""
                and (not invoice.account or _str(line.get("debit_account_id")) == invoice.account)
                and _amount(line.get("amount")) == invoice.open_amount
                and _amount(line.get("currency_factor", 1)) == 1
                and _str(line.get("currency_id")) == invoice.currency)  # fmt: skip
    except ParseError:
        return False


def open_item_rows(invoices: list[Invoice], receivable: dict[int, str], base: str, file: str,
                   problems: list[Problem]) -> list[dict[str, Any]]:  # fmt: skip
    """The open items of `invoices`: each issued invoice, with the receivable account its offset credits.
    A draft (bexio books none) is not an open item; an invoice without its offset has no account (and
    bexio counts it twice: a warning)."""
    out = []
    for index, invoice in enumerate(invoices):
        if invoice.draft:
            problems.append(Problem("warning", N_("invoice {number} is a draft in bexio: not issued, so bexio has "
                                                  "not booked it; not an open item").format(number=invoice.number),
                                    file, invoice.row))  # fmt: skip
            continue
        if index not in receivable:
            problems.append(Problem("warning", N_("invoice {number} has no offset entry ({reference}): bexio books it "
                                                  "on top of the journal's booking of the same invoice").format(
                number=invoice.number, reference=offset_reference(invoice.number)), file, invoice.row))  # fmt: skip
        cents = exact_cents(invoice.open_amount)
        out.append({
            "id": invoice.number, "partner": invoice.partner, "kind": "invoice", "date": invoice.date,
            "due_date": invoice.due, "currency": "" if invoice.currency == base else invoice.currency,
            "amount": cents, "open_amount": cents, "account": receivable.get(index, ""), "description": invoice.title,
        })  # fmt: skip
    return out


def _drop_transition(found: Found, invoices: list[Invoice], paired: set[int], lines: pa.Table) -> None:
    """Take the transition account the writer added out of the chart: a row named "Übertrag offene
    Posten" whose account is a paired invoice's position account and has no line left."""
    if not paired:
        return
    used = set(lines.column("account").to_pylist())
    accounts = {i.account for i in invoices if i.account} - used
    found.chart = [a for a in found.chart if not (a["code"] in accounts and a["name"] == TRANSITION_NAME)]


def _read_taxes(source: Source, found: Found) -> dict[str, dict[str, str]]:
    path = source.path / "taxes.csv"
    if not path.is_file():
        return {}
    name = source.child(path).name
    try:
        records = list(csv_rows(path.read_bytes().decode("utf-8-sig"), ";", name))
    except (UnicodeError, ParseError) as exc:
        raise SourceError(N_("not a readable taxes.csv: {exc}").format(exc=exc), name) from None
    header = records[0] if records else []
    if "code" not in header:
        raise SourceError(N_("the header lacks the column code"), name, 1)
    taxes: dict[str, dict[str, str]] = {}
    for number, cells in enumerate(records[1:], start=2):
        row = {k: _exact(v) for k, v in zip(header, cells, strict=False)}
        if not row.get("code"):
            continue
        try:
            rate = parse_rate(row.get("rate") or "")
        except ParseError as exc:
            raise SourceError(N_("VAT code {code}: {exc}").format(code=row["code"], exc=exc), name, number) from None
        taxes[row["code"]] = {"rate": rate, "kind": row.get("kind") or "", "account": row.get("account") or "",
                              "description": row.get("description") or ""}  # fmt: skip
    return taxes


def _read_rounding(source: Source) -> tuple[str, int]:
    """The base currency and its VAT rounding in cents from ``currencies.csv`` (bexio's ``round_factor``);
    folders written before the file existed computed VAT to the cent (and name no base currency)."""
    path = source.path / "currencies.csv"
    if not path.is_file():
        return "", 1
    name = source.child(path).name
    try:
        records = list(csv_rows(path.read_bytes().decode("utf-8-sig"), ";", name))
        header = records[0] if records else []
        factor = records[1][header.index("round_factor")] if len(records) > 1 else "0.01"
        code = records[1][header.index("code")] if len(records) > 1 else ""
        cents = exact_cents(Decimal(factor)) if factor else 1
    except (UnicodeError, ParseError, ValueError, IndexError, ArithmeticError) as exc:
        raise SourceError(
            N_("not a readable currencies.csv (code;round_factor): {exc}").format(exc=exc), name
        ) from None
    if cents <= 0:
        raise SourceError(N_("round_factor {factor} is not a positive amount").format(factor=factor), name, 2)
    return code, cents


def _exact(text: str) -> str:
    """Text as it was before the writer made it inert for spreadsheets (``'=x`` → ``=x``)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _str(value: Any) -> str:
    """A JSON value where text belongs: numbers as written, null as empty."""
    return "" if value is None else str(value)


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ParseError(N_("amount {value!r} is not a number").format(value=value))
    return Decimal(value)


BATCH = 65_536
"""Lines of manual entries kept as tuples before they become columns."""
_LINE_FIELDS = ("entry", "date", "doc", "source_file", "source_row", "description", "currency", "rate", "account",
                "amount", "amount_currency", "vat_code", "vat_amount", "vat_line")  # fmt: skip


class _Lines:
    """The lines of manual entry bodies, collected as tuples of `_LINE_FIELDS` (no dict per line) and
    turned into columns at once: `entry` adds one body's lines (none if it cannot be read), `table`
    makes the lines table."""

    def __init__(self, batch: int | None = BATCH) -> None:
        self.batch = batch
        self.lines: list[tuple[Any, ...]] = []
        self.batches: list[pa.Table] = []
        """Lines collected earlier, made columns `BATCH` lines at a time (whole entries)."""
        self._days: dict[str, dt.date] = {}
        self._taxes: dict[str, tuple[Decimal, str]] = {}

    def entry(self, body: Any, number: int, file: str, taxes: dict[str, dict[str, str]], currencies: Counter[str],
              step: int = 1) -> None:  # fmt: skip
        """Add the lines of manual entry `body` (number `number` in `file`): each line's debit and credit
        side, a side whose account is its ``tax_account_id`` split into the base and the VAT bexio books
        in the gross amount (rounded to `step` cents: the currency's round_factor). On an error (raised)
        nothing of the body is kept."""
        mark = len(self.lines)
        try:
            self._entry(body, number, file, taxes, currencies, step)
        except BaseException:
            del self.lines[mark:]
            raise
        if self.batch is not None and len(self.lines) >= self.batch:
            self.batches.append(self._columns())
            self.lines = []

    def _entry(self, body: Any, number: int, file: str, taxes: dict[str, dict[str, str]], currencies: Counter[str],
               step: int) -> None:  # fmt: skip
        text = body["date"]
        day = self._days.get(text) if type(text) is str else None
        if day is None:
            day = dt.date.fromisoformat(text)
            if type(text) is str:
                self._days[text] = day
        entry, doc = str(number), _str(body.get("reference_nr"))
        add = self.lines.append
        for item in body["entries"]:
            amount = _amount(item["amount"])
            factor = _amount(item.get("currency_factor", 1))
            currency = _str(item.get("currency_id"))
            if factor == 1:
                currencies[currency] += 1
            scaled = amount * 100 if factor == 1 and amount.adjusted() < 17 else None  # (no overflow)
            if scaled is not None and scaled == scaled.to_integral_value() and -MAX_CENTS <= scaled <= MAX_CENTS:
                cents = foreign = int(scaled)  # what the lines below give an amount of whole cents in the base
            else:
                cents = exact_cents((amount * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
                foreign = exact_cents(amount)
            rate_text = str(factor)
            description = _str(item.get("description"))
            debit, credit = item.get("debit_account_id"), item.get("credit_account_id")
            if not debit and not credit:
                raise ParseError(N_("a line without debit_account_id and credit_account_id"))
            sides = [(str(debit), 1)] if debit else []
            sides += [(str(credit), -1)] if credit else []
            for account, sign in sides:
                tax = item.get("tax_id")
                if not (tax and str(item.get("tax_account_id")) == account):
                    add((entry, day, doc, file, number, description, currency, rate_text, account, sign * cents,
                        sign * foreign, "", None, False))  # fmt: skip
                    continue
                code = str(tax)
                rate, vat_account = self._tax(code, taxes)
                gross = sign * cents
                share = gross_vat(gross, rate, step)  # computed_vat(gross, rate, True, step), in integers
                if share and not vat_account:
                    raise ParseError(N_("tax {code}: VAT account unknown (taxes.csv)").format(code=code))
                add((entry, day, doc, file, number, description, "", "", account, gross - share, None, code, share,
                    False))  # fmt: skip
                if share:
                    add((entry, day, doc, file, number, description, "", "", vat_account, share, None, code, None,
                        True))  # fmt: skip

    def _tax(self, code: str, taxes: dict[str, dict[str, str]]) -> tuple[Decimal, str]:
        """The rate and VAT account of bexio tax `code` (taxes.csv, else a known bexio code)."""
        if code in self._taxes:
            return self._taxes[code]
        tax = taxes.get(code)
        if tax and tax["rate"]:
            rate_text = tax["rate"]
        else:
            known = vat.identify(code, "bexio")
            rate_text = str(known.rate) if known else ""
        if not rate_text:
            raise ParseError(N_("tax {code}: rate unknown (not in taxes.csv nor a known bexio code)").format(code=code))
        found = self._taxes[code] = (Decimal(rate_text), tax["account"] if tax else "")
        return found

    def _columns(self) -> pa.Table:
        """The lines collected since the last batch as columns (currency as read), numbered per entry."""
        size = len(self.lines)
        c = dict(zip(_LINE_FIELDS, zip(*self.lines, strict=True), strict=True))
        numbers = np.ones(size, dtype=np.int64)
        rows = np.asarray(c["source_row"], dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # one body's lines lie together
        numbers[starts[1:]] -= np.diff(starts)
        values = {**c, "line": np.cumsum(numbers)}
        return pa.table({name: pa.array(v, type=LINES.field(name).type) for name, v in values.items()})

    def table(self, base: str) -> pa.Table:
        """The lines table: amounts in `base` as base-currency lines, lines numbered per entry."""
        if self.lines:
            self.batches.append(self._columns())
            self.lines = []
        if not self.batches:
            return table("lines", [])
        lines = pa.concat_tables(self.batches)
        self.batches = []
        in_base = pc.equal(lines.column("currency"), base)
        blank = pa.scalar("", pa.string())
        for name in ("currency", "rate"):
            index = lines.schema.get_field_index(name)
            lines = lines.set_column(index, name, pc.if_else(in_base, blank, lines.column(name)))
        foreign = lines.column("amount_currency")
        missing = np.asarray(pc.or_(in_base, pc.is_null(foreign)).to_numpy(zero_copy_only=False), dtype=bool)
        values = np.where(missing, 0, foreign.fill_null(0).to_numpy(zero_copy_only=False))  # 0 under a null, as
        index = lines.schema.get_field_index("amount_currency")  # pa.array makes it of a list
        lines = lines.set_column(
            index, "amount_currency", pa.array(values, pa.int64(), mask=missing if missing.any() else None)
        )
        return conform("lines", lines.combine_chunks())

    def rows(self) -> list[dict[str, Any]]:
        """The lines collected, as dicts (before `table` numbers them)."""
        return [dict(zip(_LINE_FIELDS, values, strict=True)) for values in self.lines]


def _entry(
    body: dict[str, Any],
    number: int,
    file: str,
    taxes: dict[str, dict[str, str]],
    currencies: Counter[str],
    step: int = 1,
) -> list[dict[str, Any]]:
    """The lines of one manual entry body, as dicts (`_Lines.entry`)."""
    lines = _Lines(batch=None)
    lines.entry(body, number, file, taxes, currencies, step)
    return lines.rows()


FORMAT = BexioReader


# ---------------------------------------------------------------------------------- what bexio's API lists

_ACCOUNT_TYPES = {1: "income", 2: "expense", 3: "asset", 4: "liability"}
"""``account_type`` of ``GET /2.0/accounts`` (FORMATS.md: 1 earnings, 2 expenditures, 3 active, 4 passive)."""


def api_ledger(
    entries: list[dict[str, Any]], accounts: list[dict[str, Any]], taxes: list[dict[str, Any]],
    currencies: list[dict[str, Any]], *, base: str, step: int, name: str,
    codes: frozenset[str] = frozenset(),
    contacts: Sequence[dict[str, Any]] = (),
    articles: Sequence[dict[str, Any]] = (),
    lists: dict[str, list[dict[str, Any]]] | None = None,
    invoices: Sequence[dict[str, Any]] = (),
    contact_numbers: dict[Any, str] | None = None,
) -> Ledger:  # fmt: skip
    """Books from what bexio's API lists (`migrator.bexio_api`): manual entries with ids turned back into
    account numbers, VAT codes and currency codes, each line with a ``tax_id`` split into its base and
    the VAT bexio books in it (the gross amount's VAT rounded to `step` cents, the base currency's
    ``round_factor``), as `_read_written` reads the writer's files. Accounts are those of bexio's chart
    the lines use or `codes` names; source rows are the entries' positions in the list named `name`.
    `invoices` (bexio's ``kb_invoice`` list) give the open items, their offset entries taken out of the
    journal as `_read_written` does; `contact_numbers` maps bexio's contact ids to contact numbers."""
    numbers: dict[Any, str] = {a["id"]: str(a["account_no"]) for a in accounts}
    found = Found()
    taxes_by_id: dict[Any, dict[str, Any]] = {t["id"]: t for t in taxes}
    tax_info: dict[str, dict[str, str]] = {}
    for tax in taxes:
        tax_info.setdefault(str(tax["code"]), {
            "rate": parse_rate(str(tax.get("value") or "0")), "kind": "",
            "account": numbers.get(tax.get("account_id"), ""), "description": str(tax.get("name") or ""),
        })  # fmt: skip
    currency_names = {c["id"]: str(c["name"]) for c in currencies}
    counter: Counter[str] = Counter()
    used: set[str] = set()
    nrs = contact_numbers if contact_numbers is not None else {c["id"]: str(c.get("nr") or "") for c in contacts}
    open_invoices: list[Invoice] = []
    for row, listed in enumerate(invoices, start=1):
        try:
            open_invoices.append(invoice_of(listed, row, numbers, currency_names, nrs))
        except (ParseError, KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            found.problems.append(Problem("error", N_("invoice {id} not read: {exc}").format(id=listed.get("id"),
                                                                                            exc=exc), "kb_invoice", row))  # fmt: skip
    bodies: list[dict[str, Any]] = []
    for entry in entries:
        body: dict[str, Any] = {**entry, "entries": []}
        for line in entry.get("entries") or []:
            known = taxes_by_id.get(line.get("tax_id"))
            body["entries"].append({
                **line, "debit_account_id": numbers.get(line.get("debit_account_id")),
                "credit_account_id": numbers.get(line.get("credit_account_id")),
                "tax_account_id": numbers.get(line.get("tax_account_id")), "tax_id": known["code"] if known else None,
                "currency_id": currency_names.get(line.get("currency_id"), ""),
            })  # fmt: skip
            if known:
                used.add(str(known["code"]))
        bodies.append(body)
    paired, receivable = pair_offsets(bodies, open_invoices, name, found.problems)
    collected = _Lines()
    for number, body in enumerate(bodies, start=1):
        if number in paired:
            continue
        try:
            collected.entry(body, number, name, tax_info, counter, step)
        except (ParseError, KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            found.problems.append(
                Problem("error", N_("entry {get} not read: {exc}").format(get=body.get("id"), exc=exc), name, number)
            )
    lines = collected.table(base)
    wanted = set(codes) | set(lines.column("account").to_pylist())
    chart = [{"code": str(a["account_no"]), "name": str(a.get("name") or ""),
              "type": _ACCOUNT_TYPES.get(int(a.get("account_type") or 0), ""), "active": bool(a.get("is_active", True))}
             for a in accounts if str(a["account_no"]) in wanted]  # fmt: skip
    vat_rows = [{"code": c, "rate": t["rate"], "account": t["account"], "description": t["description"]}
                for c, t in sorted(tax_info.items()) if c in used]  # fmt: skip
    partners, items = _api_business(contacts, articles, numbers, taxes_by_id, currency_names, lists or {}, base)
    open_items = open_item_rows(open_invoices, receivable, base, "kb_invoice", found.problems)
    return Ledger(
        company=Company(base_currency=base, source_system="bexio API"), accounts=table("accounts", chart),
        vat_codes=table("vat_codes", vat_rows), lines=lines, partners=table("partners", partners),
        items=table("items", items), problems=tuple(found.problems), format="bexio", encoding="utf-8",
        open_items=table("open_items", open_items),
    )  # fmt: skip


def _api_business(
    contacts: Sequence[dict[str, Any]], articles: Sequence[dict[str, Any]], numbers: dict[Any, str],
    taxes: dict[Any, dict[str, Any]], currencies: dict[Any, str], lists: dict[str, list[dict[str, Any]]], base: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Partners and items from bexio's contacts and articles (`migrator.bexio_api` shapes): ids turned
    back into ISO codes (``lists["countries"]``, ``lists["languages"]``), unit names, VAT codes, account
    numbers; an article's ``contact_id`` into the supplier's contact number."""
    countries = {c["id"]: str(c.get("iso_3166_alpha2") or "") for c in lists.get("countries", [])}
    languages = {c["id"]: str(c.get("iso_639_1") or "") for c in lists.get("languages", [])}
    units = {u["id"]: str(u.get("name") or "") for u in lists.get("units", [])}
    nrs = {c["id"]: str(c.get("nr") or "") for c in contacts}

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    partners = []
    for contact in contacts:
        person = contact.get("contact_type_id") == 2
        name_1, name_2 = text(contact.get("name_1")), text(contact.get("name_2"))
        partners.append({
            "id": text(contact.get("nr")), "kind": "person" if person else "company",
            "name": " ".join(n for n in ((name_2, name_1) if person else (name_1, name_2)) if n),
            "first_name": name_2 if person else "", "last_name": name_1 if person else "",
            "street": text(contact.get("street_name")), "building_number": text(contact.get("house_number")),
            "address_line2": text(contact.get("address_addition")), "zip": text(contact.get("postcode")),
            "city": text(contact.get("city")), "country": countries.get(contact.get("country_id"), ""),
            "language": languages.get(contact.get("language_id"), ""), "email": text(contact.get("mail")),
            "phone": text(contact.get("phone_fixed")), "mobile": text(contact.get("phone_mobile")),
            "website": text(contact.get("url")), "notes": text(contact.get("remarks")), "active": True,
        })  # fmt: skip
    items = []
    for article in articles:

        def cents(key: str, article: dict[str, Any] = article) -> int | None:
            value = article.get(key)
            return None if value is None else exact_cents(Decimal(str(value)))

        def quantity(key: str, article: dict[str, Any] = article) -> str:
            value = article.get(key)
            return "" if value is None or not article.get("is_stock") else decimal_text(Decimal(str(value)))

        currency = currencies.get(article.get("currency_id"), "")
        items.append({
            "code": text(article.get("intern_code")), "name": text(article.get("intern_name")),
            "description": text(article.get("intern_description")), "unit": units.get(article.get("unit_id"), ""),
            "sale_price": cents("sale_price"), "purchase_price": cents("purchase_price"),
            "currency": "" if currency == base else currency,
            "sale_vat_code": text((taxes.get(article.get("tax_income_id")) or {}).get("code")),
            "purchase_vat_code": text((taxes.get(article.get("tax_expense_id")) or {}).get("code")),
            "revenue_account": numbers.get(article.get("account_id"), ""),
            "expense_account": numbers.get(article.get("expense_account_id"), ""),
            "supplier": nrs.get(article.get("contact_id"), ""), "supplier_ref": text(article.get("deliverer_code")),
            "stock": quantity("stock_nr"), "stock_min": quantity("stock_min_nr"), "active": True,
        })  # fmt: skip
    return partners, items
