"""bexio: a folder for a user to load into bexio (nothing is sent anywhere; no network).

* ``Kontenplan.xlsx``: the chart in the columns of bexio's chart import (FORMATS.md): Kontonummer,
  Kontoname, Kontengruppe, Kontoart, Systemkonto, Verknüpftes Konto, MWST-Typ. The values bexio expects
  in Kontoart and MWST-Typ are *unverified*: Kontoart holds the label of the API's ``account_type``
  (Ertrag 1, Aufwand 2, Aktiv 3, Passiv 4, Abschluss 5), MWST-Typ the account's default bexio VAT code.
* ``manual_entries.json``: one JSON body of ``POST /3.0/accounting/manual_entries`` per entry, in a list:
  ``type`` (``manual_single_entry`` for one debit/credit pair, else ``manual_compound_entry`` whose
  lines carry one side each), ``date``, ``reference_nr``, ``entries[]`` with ``debit_account_id`` /
  ``credit_account_id``, ``amount``, ``description``, ``tax_id``, ``tax_account_id``, ``currency_id``,
  ``currency_factor``. Ids are not known offline: the account fields hold account NUMBERS, ``tax_id``
  the bexio VAT code and ``currency_id`` the currency code; README.md says how to map them.
* ``manual_entries.csv``: the same entries, one row per entry line, for checking by eye.
* ``taxes.csv``: each VAT code used, with rate and VAT account (what bexio's tax setup must match);
  the reader needs it to read the entries back.

Spreadsheet formulas: the two CSV files are opened in a spreadsheet, so their text fields go through
`inert` (a leading ``'`` before ``= + - @``, tab or CR; amounts and rates untouched; the reader takes
the ``'`` off taxes.csv again). ``Kontenplan.xlsx`` keeps every text exact, stored as a text cell
(with Excel's quote prefix where it starts like a formula), so bexio's import gets the real names.
``manual_entries.json`` is for the API, not a spreadsheet: exact.

VAT: bexio books the VAT of a manual entry line itself from its ``tax_id``, out of the amount
(the amount includes the VAT; *assumed*: bexio's manual bookings are entered gross, and its journal
export shows such an entry as one row with the code). So a base line is written gross (its VAT added)
with ``tax_id`` and ``tax_account_id`` = its account, and its VAT line is left out, wherever bexio's
computation (the VAT inside the gross amount, to the cent) gives exactly the VAT of the books and the
VAT line is on the code's account; otherwise the lines are written as booked, without tax_id, and a
warning says so. bexio has no opening-entry flag: opening entries are manual entries like the others.

Several fiscal years: bexio carries balances from one business year to the next itself, so the
openings of later years are not booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Verification reads the folder back with `years.per_year`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat, years
from migrator.model import Ledger, Problem, table
from migrator.money import format_cents
from migrator.parsing import decimal_text
from migrator.vatfold import Row, VatPlan, computed_vat, fold_entry, is_pair, vat_checks, vat_plan
from migrator.writers.base import FORMULA_STARTS, entries, inert, lines_with, lost, unbooked_years

CHART_COLUMNS = ("Kontonummer", "Kontoname", "Kontengruppe", "Kontoart", "Systemkonto", "Verknüpftes Konto", "MWST-Typ")
# The API's account_type (FORMATS.md: 1 earnings, 2 expenditures, 3 active, 4 passive, 5 complete).
KONTOART = {"income": "Ertrag", "expense": "Aufwand", "asset": "Aktiv", "liability": "Passiv", "equity": "Passiv",
            "off_balance": "Abschluss"}  # fmt: skip
CSV_COLUMNS = ("reference_nr", "date", "type", "debit_account", "credit_account", "amount", "currency",
               "currency_factor", "tax", "tax_account", "description")  # fmt: skip
TAX_COLUMNS = ("code", "rate", "kind", "account", "description")
_NUMBER = "\x00number:"
_PLACEHOLDER = re.compile('"' + re.escape(json.dumps(_NUMBER)[1:-1]) + r'([^"]*)"')

README = """# bexio import files written by migrator

Nothing here has been sent to bexio. The files are:

- `Kontenplan.xlsx`: the chart of accounts for bexio's chart import (Kontonummer, Kontoname,
  Kontengruppe, Kontoart, Systemkonto, Verknüpftes Konto, MWST-Typ). The values of Kontoart
  (Aktiv, Passiv, Aufwand, Ertrag, Abschluss) and MWST-Typ (bexio VAT code) are not verified
  against bexio's import: check them in bexio's template before importing.
- `manual_entries.json`: one request body of `POST /3.0/accounting/manual_entries` per entry
  ({entries} entries).
- `manual_entries.csv`: the same entries, one row per line, to check by eye (UTF-8, `;`).
- `taxes.csv`: the VAT codes the entries use, their rates and VAT accounts.

## Before posting: replace numbers by bexio ids

bexio's API wants ids, which only your bexio account knows. In `manual_entries.json`:

1. `debit_account_id`, `credit_account_id`, `tax_account_id` hold account NUMBERS. Fetch
   `GET /2.0/accounts` and replace each number by the `id` of the account whose `account_no` it is.
2. `tax_id` holds the bexio VAT code (e.g. UN81). Fetch `GET /3.0/taxes` and replace it by the `id`
   of the tax with that code (check its rate and account against `taxes.csv`).
3. `currency_id` holds the currency code (e.g. CHF). Fetch `GET /3.0/currencies` and replace it by
   the currency's `id`.

Then post each object of the list as one request.

## VAT

A line with `tax_id` carries the amount INCLUDING VAT: bexio books the VAT itself to the tax's
account, so the VAT lines of the source books are not in the file (they would be counted twice).
Lines without `tax_id` are booked exactly as they are.
Compound entries (`manual_compound_entry`) carry one account per line, the other side empty.
"""


def _number(cents: int) -> str:
    """A JSON number token for `cents` (written as text, never through a float)."""
    return _NUMBER + format_cents(cents)


def _unquote(text: str) -> str:
    """Turn the placeholders ``"\\u0000number:12.50"`` back into bare numbers, in one pass over `text`."""
    return _PLACEHOLDER.sub(r"\1", text)


def _factor(rate: str) -> str:
    return _NUMBER + decimal_text(Decimal(rate))


class BexioWriter:
    name = "bexio"
    extension = ".json"
    output = "folder"

    def as_kept(self, ledger: Ledger) -> Ledger:
        """one VAT line per base line with a tax_id, of the VAT bexio computes in it; later years' openings carried.

        bexio books the VAT of a manual entry line itself from its ``tax_id``, out of the gross amount,
        one VAT booking per line. Where the writer gives base lines a ``tax_id`` (`fold_entry`, gross),
        an entry with several base lines of a code, several VAT lines or a VAT line of 0.00 gets one VAT
        line per base line, of the VAT bexio computes in its gross amount (none where that is 0.00), on
        the code's VAT account, as the reader books them. An entry whose VAT the writer writes as booked
        (no ``tax_id``) is kept as it is. First `years.as_kept`: each later year's opening as one entry
        of the balances carried into it. Only entries with such VAT are looked at line by line; they
        are found column-wise (`vat_checks`).
        """
        ledger = years.as_kept(ledger)
        return ledger.replace(lines=_vat_per_line(ledger))

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        plan = vat_plan(ledger, "bexio")
        problems = list(plan.problems)
        base = ledger.company.base_currency or "CHF"
        bodies: list[dict[str, Any]] = []
        sheet_rows: list[dict[str, str]] = []
        plain = 0  # lines with a VAT code written as booked, without tax_id (the notes say why, per entry)
        for lines in entries(ledger.lines):
            rows, notes = fold_entry(lines, plan, gross=True)
            plain += sum(1 for row in rows if row.line["vat_code"] and not row.tax) if notes else 0
            first = lines[0]
            where = f"entry {first['doc'] or first['entry']} of {first['date']}"
            problems += [Problem("warning", f"{where}: {n}", first["source_file"], first["source_row"]) for n in notes]
            body, checks = _body(rows, base)
            problems += [Problem("warning", f"{where}: {c}", first["source_file"], first["source_row"]) for c in checks]
            bodies.append(body)
            sheet_rows += _sheet(body)
        (target / "manual_entries.json").write_text(
            _unquote(json.dumps(bodies, ensure_ascii=False, indent=2)) + "\n", "utf-8"
        )
        (target / "manual_entries.csv").write_text(_csv(CSV_COLUMNS, sheet_rows), "utf-8-sig")
        (target / "taxes.csv").write_text(_csv(TAX_COLUMNS, _taxes(ledger, plan)), "utf-8")
        _chart(ledger, plan, target / "Kontenplan.xlsx")
        (target / "README.md").write_text(README.format(entries=len(bodies)), "utf-8")
        opening = len({e for e, o in zip(ledger.lines.column("entry").to_pylist(),
                                         ledger.lines.column("opening").to_pylist(), strict=True) if o})  # fmt: skip
        problems += lost("VAT codes on lines", plain, "written as booked without a tax_id where bexio would compute "
                         "other VAT (see the warnings per entry)")  # fmt: skip
        problems += lost("opening-entry flags", opening, "opening entries written as ordinary manual entries")
        # bexio's import files (chart, manual entries) hold no company: the company is the bexio account itself
        problems += lost("company name", 1 if ledger.company.name else 0, "bexio's import files hold none; "
                         "the company is the bexio account the files are loaded into")  # fmt: skip
        problems += lost("groups", ledger.groups.num_rows, "left out: Kontenplan.xlsx names each account's group "
                         "code (Kontengruppe); the groups themselves must exist in bexio")  # fmt: skip
        problems += lost("partners", ledger.partners.num_rows, "left out (bexio contacts are not written)")
        problems += lost("open items", ledger.open_items.num_rows, "left out")
        foreign = ledger.lines.select(["currency", "amount_currency", "rate", "amount"])
        foreign = foreign.filter(pc.not_equal(foreign.column("currency"), ""))  # few lines: checked one by one
        in_base = sum(1 for line in foreign.to_pylist()
                      if line["currency"] != base and not _in_foreign(line, base, line["amount"]))  # fmt: skip
        problems += lost("currencies of lines", in_base, f"written in {base}: no foreign amount and rate that give "
                         "the amount in the books")  # fmt: skip
        problems += lost("fiscal years without bookings", unbooked_years(ledger),
                         "left out: bexio's business years are set up in bexio itself")  # fmt: skip
        centres = lines_with(ledger.lines, "cost_centre")
        problems += lost("line cost centres", centres, "left out")
        return problems


def _vat_per_line(ledger: Ledger) -> pa.Table:
    """The lines of `BexioWriter.as_kept`: entries with several base or VAT lines of a code (or a VAT
    line of 0.00) rebuilt as the writer writes them and the reader books them; the others as they are."""
    lines = ledger.lines
    plan = vat_plan(ledger, "bexio")
    checks = vat_checks(lines, plan)
    candidates = sorted({entry for (entry, _), (bases, vats, *_, zero) in checks.items()
                         if bases > 1 or vats > 1 or zero})  # fmt: skip
    if not candidates:
        return lines
    chosen = pc.is_in(lines.column("entry"), pa.array(candidates, pa.string()))
    rebuilt: list[dict[str, Any]] = []
    for entry_lines in entries(lines.filter(chosen)):
        rows, _ = fold_entry(entry_lines, plan, gross=True)
        out: list[dict[str, Any]] = []
        for row in rows:
            if not row.tax:
                out.append({**row.line, "amount": row.amount})
                continue
            code = row.line["vat_code"]
            share = computed_vat(row.amount, plan.rates[code], gross=True)
            out.append({**row.line, "amount": row.amount - share, "vat_amount": share, "vat_line": False})
            if share:
                out.append({**row.line, "account": plan.accounts.get(code, ""), "amount": share, "vat_amount": None,
                            "vat_line": True})  # fmt: skip
        rebuilt += [{**line, "line": number} for number, line in enumerate(out, start=1)]
    return pa.concat_tables([lines.filter(pc.invert(chosen)), table("lines", rebuilt)])


def _body(rows: list[Row], base: str) -> tuple[dict[str, Any], list[str]]:
    first = rows[0].line
    checks: list[str] = []
    if is_pair(rows):
        debit, credit = sorted(rows, key=lambda r: r.amount < 0)
        items = [{"debit_account_id": debit.line["account"], "credit_account_id": credit.line["account"],
                  **_money(debit, base, checks), "description": debit.line["description"],
                  "tax_id": None, "tax_account_id": None}]  # fmt: skip
        kind = "manual_single_entry"
    elif len(rows) == 2 and rows[0].amount == -rows[1].amount and sum(1 for r in rows if r.tax) == 1:
        taxed = next(r for r in rows if r.tax)
        debit, credit = sorted(rows, key=lambda r: r.amount < 0)
        items = [{"debit_account_id": debit.line["account"], "credit_account_id": credit.line["account"],
                  **_money(debit, base, checks), "description": taxed.line["description"],
                  "tax_id": taxed.tax, "tax_account_id": taxed.line["account"]}]  # fmt: skip
        kind = "manual_single_entry"
    else:
        items = []
        for row in rows:
            side = row.amount >= 0
            items.append({"debit_account_id": row.line["account"] if side else None,
                          "credit_account_id": None if side else row.line["account"],
                          **_money(row, base, checks, sign=1 if side else -1), "description": row.line["description"],
                          "tax_id": row.tax or None, "tax_account_id": row.line["account"] if row.tax else None})  # fmt: skip
        kind = "manual_compound_entry"
    body = {"type": kind, "date": first["date"].isoformat(), "reference_nr": first["doc"], "entries": items}
    return body, checks


def _money(row: Row, base: str, checks: list[str], sign: int = 1) -> dict[str, Any]:
    """amount, currency_id and currency_factor of a line: the foreign amount where base = foreign × factor."""
    line = row.line
    foreign, rate = line["amount_currency"], line["rate"]
    if _in_foreign(line, base, row.amount):
        return {"amount": _number(sign * foreign), "currency_id": line["currency"], "currency_factor": _factor(rate)}
    if line["currency"] and line["currency"] != base and foreign is not None and rate:
        checks.append(f"{line['currency']} {format_cents(foreign)} × {rate} is not {format_cents(row.amount)}; "
                      f"written in {base}")  # fmt: skip
    return {"amount": _number(sign * row.amount), "currency_id": base, "currency_factor": _NUMBER + "1"}


def _in_foreign(line: dict[str, Any], base: str, amount: int) -> bool:
    """Whether a line goes to bexio in its own currency: a foreign amount and a rate that give `amount`."""
    foreign, rate = line["amount_currency"], line["rate"]
    if not (line["currency"] and line["currency"] != base and foreign is not None and rate):
        return False
    product = Decimal(foreign) * Decimal(rate)  # cents × factor, rounded as the reader (and bexio) does
    return int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP)) == amount


def _sheet(body: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for item in body["entries"]:
        out.append({
            "reference_nr": inert(body["reference_nr"]), "date": body["date"], "type": body["type"],
            "debit_account": inert(item["debit_account_id"] or ""),
            "credit_account": inert(item["credit_account_id"] or ""),
            "amount": item["amount"].removeprefix(_NUMBER), "currency": inert(item["currency_id"]),
            "currency_factor": item["currency_factor"].removeprefix(_NUMBER), "tax": inert(item["tax_id"] or ""),
            "tax_account": inert(item["tax_account_id"] or ""), "description": inert(item["description"]),
        })  # fmt: skip
    return out


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter=";", lineterminator="\r\n")  # CRLF: a CR in a text is quoted
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _taxes(ledger: Ledger, plan: VatPlan) -> list[dict[str, str]]:
    described = {row["code"]: row for row in ledger.vat_codes.to_pylist()}
    out: dict[str, dict[str, str]] = {}
    for code, target in sorted(plan.codes.items()):
        known = vat.meaning(ledger, code)
        out.setdefault(target, {
            "code": inert(target), "rate": decimal_text(plan.rates[code]) if code in plan.rates else "",
            "kind": known[0] if known else "", "account": inert(plan.accounts.get(code, "")),
            "description": inert(described.get(code, {}).get("description", "")),
        })  # fmt: skip
    return list(out.values())


def _chart(ledger: Ledger, plan: VatPlan, path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Kontenplan"
    sheet.append(list(CHART_COLUMNS))
    for account in ledger.accounts.to_pylist():
        sheet.append([
            account["code"], account["name"], account["parent"], KONTOART.get(account["type"], ""), "", "",
            plan.codes.get(account["vat_code"], account["vat_code"]),
        ])  # fmt: skip
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):  # text stays text, exactly: never a formula (see module doc)
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(FORMULA_STARTS)
    for column, width in zip("ABCDEFG", (14, 40, 14, 12, 12, 18, 12), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    book.save(path)


FORMAT = BexioWriter
