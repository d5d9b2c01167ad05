"""Winbiz DocumentImport files: addresses, items and open invoices as debtor and creditor opening balances.

The layout (FORMATS.md, Winbiz help center articles 115001603714, 115001603914, 360006757314):
``;``-separated text, CRLF, Windows-1252 (or DOS 850/437), file ``bizexdoc*.csv`` or ``*.wdx``,
up to 159 numbered fields, no header, the document's fields repeated on each of its lines.

* field 1 document number (N12, ``<NEW>`` lets Winbiz number it), 2 type, 3 date (yyyymmdd or
  dd.mm.yyyy), 5 reference (C250), 6 total in local currency, 7 currency, 8 rate, 9 foreign total;
* addresses: type ``00``, amount 0, 20 address code (C15), 19 notes, 22 company, 23 last name,
  24 first name, 25 street, 27 postcode, 28 town, 45 salutation, 47 update method (1: add only,
  never change an existing address);
* items: type ``00``, 50 item code (C30), 74 update method (0 never, 1 or more add or update);
* document lines: 48 line number, 49 line type (1 article, 2 text, 3 subtotal, 4 title), 50 item
  code, 51 description, 53 quantity, 54 price, 61 VAT rate, 62 VAT included (0/1) or excluded (2);
* type 17 a debtor opening balance (an open customer invoice), 43 a creditor opening balance.

`read` reads such files into partners, items and open items; the Winbiz reader adds them to the
ledger of a folder that holds them beside its other files (`merge`). Document types other than
address, item and opening-balance records are reported and left out: migrator writes none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from migrator.i18n import N_
from migrator.model import Ledger, Problem, table
from migrator.parsing import ParseError, csv_records, decode, parse_cents, parse_date
from migrator.sources import Source

FIELD_COUNT = 159
NUMBER, TYPE, DATE, REFERENCE, TOTAL, CURRENCY, RATE, FOREIGN_TOTAL = 1, 2, 3, 5, 6, 7, 8, 9
NOTES, ADDRESS_CODE, COMPANY, LAST_NAME, FIRST_NAME, STREET, POSTCODE, TOWN = 19, 20, 22, 23, 24, 25, 27, 28
SALUTATION, ADDRESS_UPDATE = 45, 47
LINE_NUMBER, LINE_TYPE, ITEM_CODE, DESCRIPTION, QUANTITY, PRICE, VAT_RATE, VAT_INCLUDED = 48, 49, 50, 51, 53, 54, 61, 62
ITEM_UPDATE = 74
RECORD, DEBTOR_OPENING, CREDITOR_OPENING = "00", "17", "43"
OPENING_KINDS = {DEBTOR_OPENING: "invoice", CREDITOR_OPENING: "bill"}
NEW = "<NEW>"
ADDRESS_CODE_LENGTH = 15
ITEM_CODE_LENGTH = 30


def is_document_import(path: Path) -> bool:
    """Whether `path` is named like a DocumentImport file (``bizexdoc*.csv``, ``*.wdx``)."""
    name = path.name.lower()
    return name.endswith(".wdx") or (name.startswith("bizexdoc") and name.endswith(".csv"))


@dataclass
class Read:
    """What DocumentImport files hold, as canonical rows, and the problems met."""

    partners: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    open_items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    """Fields the rows fill that no column takes (``field_45``…), with file and row."""


def read(paths: list[tuple[Path, str]], encoding: str | None = None) -> Read:
    """The rows of DocumentImport files (path, name used in messages), in file order."""
    out = Read()
    for path, name in paths:
        try:
            text, _ = decode(path.read_bytes(), encoding or "cp1252", name)
        except (ParseError, OSError) as exc:
            out.problems.append(
                Problem("error", N_("cannot be read as a Winbiz DocumentImport file: {exc}").format(exc=exc), name)
            )
            continue
        try:
            for number, cells in csv_records(text, ";", name):
                if any(c.strip() for c in cells):
                    _row(number, cells, name, out)
        except ParseError as exc:
            out.problems.append(Problem("error", str(exc), name))
    return out


def _row(number: int, cells: list[str], file: str, out: Read) -> None:
    if len(cells) > FIELD_COUNT:
        out.problems.append(Problem("error", N_("{count} fields; DocumentImport has {field_count} at most; row left out").format(count=len(cells), field_count=FIELD_COUNT), file, number))  # fmt: skip
        return

    def f(position: int) -> str:
        return cells[position - 1].strip() if position <= len(cells) else ""

    kind = f(TYPE)
    used = {NUMBER, TYPE, DATE, REFERENCE, TOTAL, CURRENCY, RATE, FOREIGN_TOTAL, ADDRESS_UPDATE, ITEM_UPDATE,
            LINE_NUMBER, LINE_TYPE, QUANTITY, PRICE, VAT_RATE, VAT_INCLUDED, NOTES, ADDRESS_CODE, COMPANY, LAST_NAME,
            FIRST_NAME, STREET, POSTCODE, TOWN, ITEM_CODE, DESCRIPTION}  # fmt: skip
    rest = {
        f"field_{n}": cells[n - 1].strip() for n in range(1, len(cells) + 1) if n not in used and cells[n - 1].strip()
    }
    if rest:
        out.extras.append({"source_file": file, "source_row": number, **rest})
    try:
        if kind in ("00", "0") and f(ITEM_CODE):
            out.items.append({"code": f(ITEM_CODE), "name": f(DESCRIPTION), "sale_price": parse_cents(f(PRICE))})
        elif kind in ("00", "0"):
            first, last, company = f(FIRST_NAME), f(LAST_NAME), f(COMPANY)
            from migrator.partners import partner_kind

            out.partners.append({
                "id": f(ADDRESS_CODE), "kind": partner_kind(company, first, last),
                "name": company or " ".join(p for p in (first, last) if p), "first_name": first, "last_name": last,
                "street": f(STREET), "zip": f(POSTCODE), "city": f(TOWN), "notes": f(NOTES),
            })  # fmt: skip
        elif kind in OPENING_KINDS:
            if out.open_items and out.open_items[-1]["_key"] == (f(NUMBER), f(REFERENCE), kind, f(ADDRESS_CODE)):
                return  # a further line of the same document: its fields repeat the document's
            foreign = f(CURRENCY) and f(FOREIGN_TOTAL)
            amount = parse_cents(f(FOREIGN_TOTAL) if foreign else f(TOTAL))
            out.open_items.append({
                "_key": (f(NUMBER), f(REFERENCE), kind, f(ADDRESS_CODE)),
                "id": f(REFERENCE) if f(NUMBER) in ("", NEW) else f(NUMBER), "partner": f(ADDRESS_CODE),
                "kind": OPENING_KINDS[kind], "date": parse_date(f(DATE)), "currency": f(CURRENCY),
                "amount": amount, "open_amount": amount, "description": f(DESCRIPTION),
            })  # fmt: skip
        else:
            out.problems.append(Problem("warning", N_("document type {kind!r}: only addresses and items (00) and opening balances (17, 43) are read; row left out").format(kind=kind), file, number))  # fmt: skip
    except ParseError as exc:
        out.problems.append(Problem("error", N_("{exc}; row left out").format(exc=exc), file, number))


def merge(ledger: Ledger, source: Source, encoding: str | None = None) -> Ledger:
    """`ledger` with the partners, items and open items of the DocumentImport files in the folder
    `source` (none: `ledger` unchanged)."""
    if not source.is_dir:
        return ledger
    paths = [(p, source.child(p).name) for p in sorted(source.path.iterdir()) if p.is_file() and is_document_import(p)]
    if not paths:
        return ledger
    found = read(paths, encoding)
    opens = [{k: v for k, v in row.items() if k != "_key"} for row in found.open_items]
    return ledger.replace(
        partners=table("partners", [*ledger.partners.to_pylist(), *found.partners]),
        items=table("items", [*ledger.items.to_pylist(), *found.items]),
        open_items=table("open_items", [*ledger.open_items.to_pylist(), *opens]),
        problems=ledger.problems + tuple(found.problems),
        extras={**ledger.extras, **({"document_import": _extras_table(found.extras)} if found.extras else {})},
    )


def _extras_table(rows: list[dict[str, Any]]) -> pa.Table:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name, None if name == "source_row" else "") for row in rows],
                                    pa.int64() if name == "source_row" else pa.string()) for name in names})  # fmt: skip
