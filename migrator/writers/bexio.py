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
export shows such an entry as one row with the code), rounded to the currency's ``round_factor``
(FORMATS.md: ``GET /3.0/currencies``, CHF 0.05; *assumed* to apply to the VAT of manual entries, as
Swiss books round VAT to 0.05). So a base line is written gross with ``tax_id`` and ``tax_account_id``
= its account, the gross chosen so that bexio's base is the booked base (`gross_for`), and its VAT
line is left out. Where the VAT bexio computes is not the VAT booked (books rounding to the cent, or
one invoice of several rounding otherwise), the difference is a line of its own on the VAT account,
plain (bexio's VAT report per code shows the VAT it computed: declared). Lines whose VAT lines are
not on the code's account, in a foreign currency or of an unknown rate are written as booked,
without tax_id, and a warning says so. bexio has no opening-entry flag: opening entries are manual
entries like the others.
* ``currencies.csv``: the base currency and the rounding its VAT was computed with (the reader needs it).
* ``invoices.json``: the open customer invoices as bexio users carry them into bexio, as bexio invoices
  (so bexio's debtor list shows them and a later payment closes them): one body of
  ``POST /2.0/kb_invoice`` per open invoice (`open_invoices`), ``mwst_type`` 2 (no VAT: the VAT is in
  the journal already), ``currency_id`` the base currency, ONE position of the open amount on the
  transition account (`TRANSITION_ACCOUNT` "Übertrag offene Posten", class 9; the writer option
  ``open_items_account`` names another; added to ``Kontenplan.xlsx`` when the chart lacks it). The
  invoice's number is in ``api_reference``, its text in ``title``, the partner's code in
  ``contact_id`` (`migrator.push` puts bexio's ids in), ``is_valid_from`` / ``is_valid_to`` the issue
  and due dates. *Assumed* (not in FORMATS.md): the fields ``title``, ``api_reference``,
  ``is_valid_from``, ``is_valid_to``; a position's ``type`` ``KbPositionCustom`` and its ``amount`` being
  the quantity (the total is ``amount`` × ``unit_price``); an issued invoice booking the receivable
  (bexio's debtors account, which must be the invoice's account of the books) against the positions'
  account on ``is_valid_from``. Every invoice is already booked in the journal, so for each one
  ``manual_entries.json`` ends with an offset entry (reference ``OP-Übertrag <number>``) on its date:
  debit the transition account, credit the invoice's receivable account, the open amount. In bexio
  the journal's booking, the issued invoice and the offset give the receivable its balance of the
  books, and the transition account is 0 on every date. Supplier bills are not carried (bexio's
  purchase API is not in FORMATS.md).

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
import datetime as dt
import functools
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, model, money, vat, years
from migrator.bexio_format import (  # noqa: F401 (the writer's names, as push and tests use them)
    _GROSS_EXACT,
    DRAFT,
    OFFSET_PREFIX,
    TRANSITION_ACCOUNT,
    TRANSITION_NAME,
    _gross_ratio,
    _gross_vat_of,
    gross_vat,
    offset_reference,
)
from migrator.errors import UnsupportedOperation
from migrator.i18n import N_, guide  # the import guide in the user's language (issue 17)
from migrator.model import Ledger, Problem, table
from migrator.money import format_cents, to_decimal
from migrator.parsing import decimal_text
from migrator.vatfold import _EXACT, Row, VatPlan, _net_ratio, assembled, code_groups, computed_vat, is_pair, vat_plan
from migrator.writers.base import FORMULA_STARTS, entries, entry_batches, inert, lines_with, lost, unbooked_years

ROUND_FACTOR = {"CHF": 5}
"""bexio's ``round_factor`` per currency, in cents (FORMATS.md: ``GET /3.0/currencies``, CHF 0.05)."""
CURRENCY_COLUMNS = ("code", "round_factor")
CHART_COLUMNS = ("Kontonummer", "Kontoname", "Kontengruppe", "Kontoart", "Systemkonto", "Verknüpftes Konto", "MWST-Typ")
# The API's account_type (FORMATS.md: 1 earnings, 2 expenditures, 3 active, 4 passive, 5 complete).
KONTOART = {"income": "Ertrag", "expense": "Aufwand", "asset": "Aktiv", "liability": "Passiv", "equity": "Passiv",
            "off_balance": "Abschluss"}  # fmt: skip
CSV_COLUMNS = ("reference_nr", "date", "type", "debit_account", "credit_account", "amount", "currency",
               "currency_factor", "tax", "tax_account", "description")  # fmt: skip
TAX_COLUMNS = ("code", "rate", "kind", "account", "description")
# bexio's contact import template (FORMATS.md: contact type, name 1 required; *unverified* column labels)
CONTACT_COLUMNS = ("Kontaktnummer", "Kontaktart", "Name 1", "Name 2", "Strasse", "Hausnummer", "Adresszusatz", "PLZ",
                   "Ort", "Land", "Sprache", "E-Mail", "Telefon", "Mobile", "Website", "Bemerkungen")  # fmt: skip
# bexio's product import (FORMATS.md: a header row, the product name required)
PRODUCT_COLUMNS = ("Produktcode", "Gruppe", "Produktname", "Produktbeschreibung", "Einkaufspreis", "Verkaufspreis",
                   "Währung", "Einheit", "Ertragskonto", "Aufwandkonto", "MwSt Umsatzsteuer", "MwSt Vorsteuer",
                   "Lagerbestand", "Mindestbestand")  # fmt: skip
KONTAKTART = {"company": "Firma", "person": "Person"}
PARTNER_LEFT_OUT = ("roles", "vat_number", "iban", "currency", "payment_terms", "account", "fax", "contact")
"""Partner fields a bexio contact does not hold here (FORMATS.md lists no field for them)."""
_NUMBER = "\x00number:"
_QUOTED = json.dumps(_NUMBER)[:-1]
"""A placeholder's start as JSON text: the opening quote and the escaped marker."""
_PLACEHOLDER = re.compile('"' + re.escape(json.dumps(_NUMBER)[1:-1]) + r'([^"]*)"')

README = N_("""# bexio import files written by migrator

Nothing here has been sent to bexio. The files are:

- `Kontenplan.xlsx`: the chart of accounts for bexio's chart import (Kontonummer, Kontoname,
  Kontengruppe, Kontoart, Systemkonto, Verknüpftes Konto, MWST-Typ). The values of Kontoart
  (Aktiv, Passiv, Aufwand, Ertrag, Abschluss) and MWST-Typ (bexio VAT code) are not verified
  against bexio's import: check them in bexio's template before importing.
- `manual_entries.json`: one request body of `POST /3.0/accounting/manual_entries` per entry
  ({entries} entries).
- `manual_entries.csv`: the same entries, one row per line, to check by eye (UTF-8, `;`).
- `taxes.csv`: the VAT codes the entries use, their rates and VAT accounts.
- `currencies.csv`: the base currency and the rounding of its VAT (bexio's `round_factor`).
- `invoices.json` (only where the books have open customer invoices): one request body of
  `POST /2.0/kb_invoice` per open invoice ({invoices} invoices), see "Open invoices" below.

## Posting

`migrator push SOURCE --to bexio` posts these entries (and the contacts and articles) over
bexio's API for you, with the ids of your bexio account, and reads them back to prove them (see
migrator's README). By hand: bexio's API wants ids, which only your bexio account knows. In
`manual_entries.json`:

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
The VAT was computed as bexio computes it, rounded to {rounding} (`currencies.csv`); where the
books hold other VAT, the difference is a line of its own on the VAT account ("VAT rounding …").
Lines without `tax_id` are booked exactly as they are.
Compound entries (`manual_compound_entry`) carry one account per line, the other side empty.

## Open invoices

bexio has no file import for invoices: `migrator push` creates and issues them. By hand, create
each invoice of `invoices.json` in bexio (contact = the customer whose contact number is
`contact_id`; one position of the open amount on account {account} "Übertrag offene Posten"; no
VAT; the old invoice number is `api_reference`), issue it, and post the entry with the reference
`OP-Übertrag <number>` of `manual_entries.json` with it: the journal already holds each invoice, the
issued invoice books it a second time to the customer, and that entry takes the second booking off
the receivable account again, so account {account} stays at 0. Check that bexio's debtors account is
the receivable account of the books. Without the invoices, leave those entries out too.
""")


def _number(cents: int) -> str:
    """A JSON number token for `cents` (written as text, never through a float)."""
    return _NUMBER + format_cents(cents)


def _unquote(text: str) -> str:
    """Turn the placeholders ``"\\u0000number:12.50"`` back into bare numbers, in one pass over `text`:
    split at each placeholder's start, the first quote after it (its end) taken out; the regular
    expression only where a placeholder has no closing quote before the next (as it matches then)."""
    parts = text.split(_QUOTED)
    if len(parts) == 1:
        return text
    ends = [part.find('"') for part in parts]
    if -1 in ends[1:]:
        return _PLACEHOLDER.sub(r"\1", text)
    return parts[0] + "".join([part[:end] + part[end + 1 :] for part, end in zip(parts[1:], ends[1:], strict=True)])


def _factor(rate: str) -> str:
    return _NUMBER + decimal_text(Decimal(rate))


class BexioWriter:
    """`open_items_account`: the account open invoices are carried through (see the module doc)."""

    name = "bexio"
    extension = ".json"
    output = "folder"

    def __init__(self, open_items_account: str = TRANSITION_ACCOUNT) -> None:
        self.open_items_account = open_items_account.strip()

    def as_kept(self, ledger: Ledger) -> Ledger:
        """one VAT line per base line with a tax_id, of the VAT bexio computes in it (rounded as the base currency); rounding differences on the VAT account; later years' openings carried.

        bexio books the VAT of a manual entry line itself from its ``tax_id``, out of the gross amount,
        rounded to the currency's ``round_factor`` (`ROUND_FACTOR`), one VAT booking per line. Where the
        writer gives base lines a ``tax_id`` (`fold`), each base line comes back with the VAT bexio
        computes in its gross amount (none where that is 0.00) as a VAT line on the code's VAT account,
        and a VAT booked otherwise in the books (cent rounding in books that bexio rounds to 0.05) as
        a plain line of the difference on that account, as the reader books them. An entry whose VAT
        the writer writes as booked (no ``tax_id``) is kept as it is. First `years.as_kept`: each later
        year's opening as one entry of the balances carried into it.
        """
        ledger = years.as_kept(ledger)
        return ledger.replace(lines=kept_lines(ledger, rounding_of(ledger.company.base_currency or "CHF")))

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        base = ledger.company.base_currency or "CHF"
        step = rounding_of(base)
        plan = vat_plan(ledger, "bexio")
        carried, open_problems = open_invoices(ledger, self.open_items_account)
        offsets = [invoice.offset for invoice in carried]
        with (
            (target / "manual_entries.json").open("w", encoding="utf-8") as json_file,
            (target / "manual_entries.csv").open("w", encoding="utf-8-sig") as csv_file,
        ):
            # the text entries_json and _csv give all entry bodies, written a batch of entries at a time
            json_file.write("[")
            csv.writer(csv_file, delimiter=";", lineterminator="\r\n").writerow(CSV_COLUMNS)
            count, problems = write_entries(ledger, step, plan, json_file, csv_file)
            if offsets:
                json_file.write((",\n  " if count else "\n  ") + entries_json(offsets)[4:-2])
                csv.writer(csv_file, delimiter=";", lineterminator="\r\n").writerows(
                    row for body in offsets for row in _sheet(body)
                )
            count += len(offsets)
            json_file.write("\n]\n" if count else "]\n")
        if carried:
            invoices = [invoice.body for invoice in carried]
            (target / "invoices.json").write_text(dumps(invoices, indent=2) + "\n", "utf-8")
        (target / "taxes.csv").write_text(_csv(TAX_COLUMNS, _taxes(ledger, plan)), "utf-8")
        (target / "currencies.csv").write_text(_csv(CURRENCY_COLUMNS, _currencies(ledger, step)), "utf-8")
        added = [] if not carried or self.open_items_account in ledger.accounts.column("code").to_pylist() else [
            self.open_items_account]  # fmt: skip
        problems += _chart(ledger, plan, target / "Kontenplan.xlsx", added)
        if ledger.partners.num_rows:
            _sheet_file(target / "Kontakte.xlsx", "Kontakte", CONTACT_COLUMNS, contact_rows(ledger))
            contacts = [contact_body(p) for p in ledger.partners.to_pylist()]
            (target / "contacts.json").write_text(dumps(contacts, indent=2) + "\n", "utf-8")
        if ledger.items.num_rows:
            _sheet_file(target / "Produkte.xlsx", "Produkte", PRODUCT_COLUMNS, product_rows(ledger, plan))
            articles = [article_body(i, plan, base) for i in ledger.items.to_pylist()]
            (target / "articles.json").write_text(dumps(articles, indent=2) + "\n", "utf-8")
        (target / "README.md").write_text(guide(README, entries=count, rounding=_factor_text(step),
                                                invoices=len(carried), account=self.open_items_account), "utf-8")  # fmt: skip
        return problems + declared(ledger, contacts=True) + open_problems + item_losses(ledger, files=True)


def declared(ledger: Ledger, contacts: bool = False) -> list[Problem]:
    """What bexio does not carry of `ledger`, whether written to files or posted (see `migrator.push`);
    with `contacts`, partners and items are carried (`partner_losses`, `item_losses` say what of them is not)."""
    base = ledger.company.base_currency or "CHF"
    problems: list[Problem] = []
    lines = ledger.lines
    flagged = lines.filter(pc.fill_null(lines.column("opening"), False))
    opening = pc.count_distinct(flagged.column("entry"), mode="all").as_py() if flagged.num_rows else 0
    problems += lost(N_("opening-entry flags"), opening, N_("opening entries written as ordinary manual entries"))
    # bexio's import files (chart, manual entries) hold no company: the company is the bexio account itself
    problems += lost(N_("company name"), 1 if ledger.company.name else 0, N_("bexio's import files hold none; "
                     "the company is the bexio account the files are loaded into"))  # fmt: skip
    if contacts:
        problems += partner_losses(ledger)
    else:
        problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out (bexio contacts are not written)"))
        problems += lost(N_("items"), ledger.items.num_rows, N_("left out (bexio products are not written)"))
    problems += lost(N_("documents"), ledger.documents.num_rows, N_("left out: only open customer invoices are "
                     "carried, as bexio invoices of their open amount (invoices.json)"))  # fmt: skip
    problems += lost(N_("document lines"), ledger.document_lines.num_rows, N_("left out with their documents"))
    foreign = ledger.lines.select(["currency", "amount_currency", "rate", "amount"])
    foreign = foreign.filter(pc.not_equal(foreign.column("currency"), ""))  # few lines: checked one by one
    in_base = sum(1 for line in foreign.to_pylist()
                  if line["currency"] != base and not _in_foreign(line, base, line["amount"]))  # fmt: skip
    problems += lost(N_("currencies of lines"), in_base, N_("written in {base}: no foreign amount and rate that give the amount in the books").format(base=base))  # fmt: skip
    problems += lost(N_("fiscal years without bookings"), unbooked_years(ledger),
                     N_("left out: bexio's business years are set up in bexio itself"))  # fmt: skip
    other = sum(1 for y in ledger.company.fiscal_years if (y.start.month, y.start.day, y.end.month, y.end.day)
                != (1, 1, 12, 31))  # fmt: skip
    problems += lost(N_("fiscal years"), other, N_("not calendar years: bexio's business years are set up in bexio "
                     "itself; what is written or posted holds none, so the books read back as calendar years"))  # fmt: skip
    days = (
        lines.select(["entry", "date"])
        .group_by("entry", use_threads=False)
        .aggregate([("date", "count_distinct", pc.CountOptions(mode="all"))])
    )
    several = pc.sum(pc.greater(days.column("date_count_distinct"), 1)).as_py() or 0 if days.num_rows else 0
    problems += lost(N_("lines on several dates"), several,
                     N_("entries whose lines bear several dates take their first line's date: a bexio manual entry "
                     "has one date"))  # fmt: skip
    centres = lines_with(ledger.lines, "cost_centre")
    problems += lost(N_("line cost centres"), centres, N_("left out"))
    return problems


@dataclass
class OpenInvoice:
    """An open customer invoice as bexio gets it: the ``kb_invoice`` body (codes where bexio wants ids),
    its offset entry (a manual entry body) and a line-like dict naming it in messages (`entry_bodies`)."""

    item: dict[str, Any]
    body: dict[str, Any]
    offset: dict[str, Any]
    first: dict[str, Any]


def open_invoices(ledger: Ledger, account: str = TRANSITION_ACCOUNT) -> tuple[list[OpenInvoice], list[Problem]]:
    """The open customer invoices of `ledger` as bexio invoices through transition account `account`
    (see the module doc), and what of the open items is not carried.

    Carried: invoices with a partner, a receivable account and a positive open amount, in the base
    currency, or in a foreign one when fully open and booked on their account in the journal (then the
    amount booked, in the base currency). Partly paid ones carry their open amount only; one issued
    before the books begin is dated on their first day (bexio books nothing before). Bills, and the
    rest, are declared."""
    base = ledger.company.base_currency or "CHF"
    items = ledger.open_items.to_pylist()
    if not account and any(i["kind"] == "invoice" for i in items):
        raise UnsupportedOperation(N_("writer option open_items_account is empty; name the account open invoices "
                                      "are carried through (a closing account, class 9)"))  # fmt: skip
    if account in {i["account"] for i in items if i["kind"] == "invoice"}:
        raise UnsupportedOperation(N_("writer option open_items_account={account}: that is the receivable account "
                                      "of open invoices; name an account of its own (a closing account, class 9)")
                                   .format(account=account))  # fmt: skip
    booked = _booked(ledger, {i["id"] for i in items if i["kind"] == "invoice" and i["currency"] not in ("", base)})
    first_day = min((y.start for y in ledger.company.fiscal_years), default=None)
    out: list[OpenInvoice] = []
    why: dict[str, list[str]] = {}
    for item in items:
        if item["kind"] != "invoice":
            why.setdefault("bill" if item["kind"] == "bill" else "kind", []).append(item["id"])
            continue
        amount, open_amount = item["amount"], item["open_amount"]
        if not item["partner"] or not item["account"] or item["date"] is None:
            why.setdefault("incomplete", []).append(item["id"])
            continue
        if open_amount is None or open_amount <= 0:
            why.setdefault("not_positive", []).append(item["id"])
            continue
        if item["currency"] not in ("", base):
            known = booked.get((item["id"], item["account"], item["currency"]))
            if open_amount != amount or known is None or known[0] != amount or known[1] <= 0:
                why.setdefault("foreign_left", []).append(item["id"])
                continue
            why.setdefault("foreign", []).append(item["id"])
            open_amount = known[1]
        elif amount is not None and open_amount != amount:
            why.setdefault("partly", []).append(f"{item['id']} {format_cents(amount)}")
        day = item["date"]
        if first_day is not None and day < first_day:
            why.setdefault("early", []).append(item["id"])
            day = first_day
        out.append(_open_invoice(item, day, open_amount, account, base))
    return out, _open_losses(why, base)


def _booked(ledger: Ledger, ids: set[str]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """Per (voucher, account, currency) of the vouchers `ids`: the foreign and base amounts booked."""
    if not ids:
        return {}
    lines = ledger.lines.filter(pc.is_in(ledger.lines.column("doc"), pa.array(sorted(ids), pa.string())))
    out: dict[tuple[str, str, str], tuple[int, int]] = {}
    for line in lines.select(["doc", "account", "currency", "amount_currency", "amount"]).to_pylist():
        key = (line["doc"], line["account"], line["currency"])
        foreign, amount = out.get(key, (0, 0))
        out[key] = (foreign + (line["amount_currency"] or 0), amount + line["amount"])
    return out


def _open_invoice(item: dict[str, Any], day: dt.date, open_amount: int, account: str, base: str) -> OpenInvoice:
    number, description = item["id"], item["description"]
    text = f"{number}: {description}" if description else number
    body = {
        "title": description or None, "contact_id": item["partner"], "user_id": None, "api_reference": number,
        "is_valid_from": day.isoformat(), "is_valid_to": item["due_date"].isoformat() if item["due_date"] else None,
        "currency_id": base, "mwst_type": 2,
        "positions": [{"type": "KbPositionCustom", "amount": _NUMBER + "1", "unit_id": None, "account_id": account,
                       "tax_id": None, "text": text, "unit_price": _number(open_amount), "discount_in_percent": None,
                       "article_id": None}],
    }  # fmt: skip
    offset = {"type": "manual_single_entry", "date": day.isoformat(), "reference_nr": offset_reference(number),
              "entries": [{"debit_account_id": account, "credit_account_id": item["account"],
                           "amount": _number(open_amount), "currency_id": base, "currency_factor": _NUMBER + "1",
                           "description": f"{TRANSITION_NAME} {number}: {description}"[:255], "tax_id": None,
                           "tax_account_id": None}]}  # fmt: skip
    first = {"doc": offset["reference_nr"], "entry": offset["reference_nr"], "date": day, "source_file": "",
             "source_row": None}  # fmt: skip
    return OpenInvoice(item, body, offset, first)


def _open_losses(why: dict[str, list[str]], base: str) -> list[Problem]:
    """The declarations of `open_invoices`, one per reason (the first few numbers named)."""

    def named(key: str) -> str:
        numbers = why.get(key, [])
        return ", ".join(numbers[:5]) + (" …" if len(numbers) > 5 else "")

    reasons = (
        ("bill", N_("supplier bills ({numbers}): bexio's purchase API is not in the documentation migrator follows; "
                    "left out, their amounts stay in the payable account's balance")),
        ("kind", N_("neither invoice nor bill ({numbers}): left out")),
        ("incomplete", N_("invoices without partner, receivable account or date ({numbers}): a bexio invoice needs "
                          "them; left out, their amounts stay in the receivable account's balance")),
        ("not_positive", N_("invoices with no positive open amount ({numbers}): left out")),
        ("foreign_left", N_("invoices in a foreign currency, partly paid or not booked on their account in that "
                            "currency ({numbers}): their open amount in {base} is not known exactly; left out, their "
                            "amounts stay in the receivable account's balance")),
        ("foreign", N_("invoices in a foreign currency ({numbers}): carried in {base} at the amount the journal "
                       "booked (bexio would book a foreign invoice at its own exchange rate)")),
        ("partly", N_("partly paid invoices (number and total: {numbers}): carried as bexio invoices of their open "
                      "amount; their totals and payments are not")),
        ("early", N_("invoices issued before the books begin ({numbers}): dated on the books' first day")),
    )  # fmt: skip
    problems: list[Problem] = []
    for key, text in reasons:
        problems += lost(N_("open items"), len(why.get(key, [])), text.format(numbers=named(key), base=base))
    return problems


def rounding_of(currency: str) -> int:
    """The rounding bexio applies to amounts in `currency`, in cents (its ``round_factor``; FORMATS.md:
    CHF 0.05). Currencies bexio's documentation gives no factor for are taken to round to the cent."""
    return ROUND_FACTOR.get(currency, 1)


def _factor_text(step: int) -> str:
    return format_cents(step)


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text of `value`, amounts made by `_number` written as bare, exact numbers."""
    if indent is None:
        return _unquote(json.dumps(value, ensure_ascii=False))
    parts: list[str] = []
    _indented(value, indent, 0, parts)
    return _unquote("".join(parts))


_BODY_KEYS = ["type", "date", "reference_nr", "entries"]


def entries_json(bodies: list[dict[str, Any]]) -> str:
    """``dumps(bodies, indent=2)`` for manual entry bodies as `entry_bodies` makes them (the keys of
    `_BODY_KEYS`, lines that are dicts of text and null): every body's head in one call of the C
    encoder and every line in another, their texts split apart at the line breaks between two dicts
    (a text holds none: JSON escapes it) and put together; other bodies as `dumps` lays them out."""
    plain = [
        list(body) == _BODY_KEYS
        and type(body["entries"]) is list
        and body["entries"]
        and all(
            type(item) is dict and item and all(type(v) in _PLAIN for v in item.values()) for item in body["entries"]
        )
        and all(type(body[k]) in _PLAIN for k in _BODY_KEYS[:3])
        for body in bodies
    ]
    chosen = [body for body, ok in zip(bodies, plain, strict=True) if ok]
    heads = _split_dicts(_flat_encoder(2, 1).encode([{k: body[k] for k in _BODY_KEYS[:3]} for body in chosen]), 1)
    lines = _split_dicts(_flat_encoder(2, 3).encode([item for body in chosen for item in body["entries"]]), 3)
    if (
        heads is None
        or lines is None
        or len(heads) != len(chosen)
        or len(lines) != sum(len(b["entries"]) for b in chosen)
    ):
        return dumps(bodies, indent=2)  # never expected: the plain way
    out = []
    at = taken = 0
    between = "\n      },\n      {\n        "
    for body, ok in zip(bodies, plain, strict=True):
        if not ok:
            parts: list[str] = []
            _indented(body, 2, 1, parts)
            out.append(_unquote("".join(parts)))
            continue
        count = len(body["entries"])
        text = between.join(lines[taken : taken + count])
        out.append(f'{{\n    {heads[at]},\n    "entries": [\n      {{\n        {text}\n      }}\n    ]\n  }}')
        at, taken = at + 1, taken + count
    return "[\n  " + ",\n  ".join(out) + "\n]" if out else "[]"


def _split_dicts(text: str, level: int) -> list[str] | None:
    """The insides of the dicts of a list the flat encoder of depth `level` wrote, placeholders
    unquoted (None if `text` is not such a list)."""
    if text == "[]":
        return []
    if not (text.startswith("[{") and text.endswith("}]")):
        return None
    return _unquote(text[2:-2]).split("}," + "\n" + " " * (2 * (level + 1)) + "{")


_FLAT = (str, int, float, bool, type(None))  # float-ok: what json.dumps takes as one value
_PLAIN = frozenset((str, type(None)))
"""The types of a manual entry line's values (text, placeholders of numbers, null)."""


@functools.lru_cache(maxsize=64)
def _flat_encoder(indent: int, level: int) -> json.JSONEncoder:
    """Python's C encoder for a list or dict of plain values at depth `level`, laid out as
    ``json.dumps(..., indent=indent)`` lays them out there (its separators carry the line breaks)."""
    inner = "\n" + " " * (indent * (level + 1))
    return json.JSONEncoder(ensure_ascii=False, separators=("," + inner, ": "))


def _indented(value: Any, indent: int, level: int, out: list[str]) -> None:
    """Append the text ``json.dumps(value, ensure_ascii=False, indent=indent)`` gives `value` at depth
    `level` to `out`: plain values, and runs of them in a list or dict, by the C encoder (the
    pure-Python one that `indent` otherwise takes is several times slower), containers one by one."""
    if isinstance(value, _FLAT):
        out.append(json.dumps(value, ensure_ascii=False))
        return
    is_dict = isinstance(value, dict)
    if not isinstance(value, list | tuple) and not is_dict:
        out.append(json.dumps(value, ensure_ascii=False, indent=indent))  # anything else: as json would
        return
    if not value:
        out.append("{}" if is_dict else "[]")
        return
    inner = "\n" + " " * (indent * (level + 1))
    encoder = _flat_encoder(indent, level)
    pairs: list[tuple[Any, Any]] = list(value.items()) if is_dict else [(None, v) for v in value]
    out.append("{" if is_dict else "[")
    index, count = 0, len(pairs)
    while index < count:
        out.append(inner if index == 0 else "," + inner)
        end = index
        while end < count and isinstance(pairs[end][1], _FLAT) and (not is_dict or isinstance(pairs[end][0], str)):
            end += 1
        if end > index:  # a run of plain values: one call of the C encoder, its brackets taken off
            run = dict(pairs[index:end]) if is_dict else [v for _, v in pairs[index:end]]
            out.append(encoder.encode(run)[1:-1])
            index = end
            continue
        key, item = pairs[index]
        if is_dict:
            key_text = json.dumps(key, ensure_ascii=False) if isinstance(key, str) else json.dumps({key: 0})[1:-4]
            out.append(key_text + ": ")
        _indented(item, indent, level + 1, out)
        index += 1
    out.append("\n" + " " * (indent * level) + ("}" if is_dict else "]"))


def entry_bodies(ledger: Ledger, step: int) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[Problem]]:
    """One ``POST /3.0/accounting/manual_entries`` body per entry (account numbers, VAT codes and currency
    codes where bexio wants ids), each with the entry's first line; and the warnings and declarations
    of VAT not carried with its code."""
    plan = vat_plan(ledger, "bexio")
    problems = list(plan.problems)
    base = ledger.company.base_currency or "CHF"
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    plain = rounded = 0  # lines with a VAT code written without tax_id; VAT rounding lines
    known = known_grosses(ledger.lines, plan, step)
    for lines in entries(ledger.lines):
        body, warnings, plain_lines, rounding_lines = _folded_body(lines, plan, step, known, base)
        problems += warnings
        plain += plain_lines
        rounded += rounding_lines
        out.append((body, lines[0]))
    problems += lost(N_("VAT codes on lines"), plain, N_("written as booked without a tax_id where bexio would compute "
                     "other VAT (see the warnings per entry)"))  # fmt: skip
    problems += lost(N_("VAT codes of lines"), rounded, N_("VAT rounding differences: bexio computes the VAT of each line rounded to {factor_text}; where the books hold other VAT, the difference is a line of its own on the VAT account, without a VAT code, so bexio's VAT report per code shows the VAT it computed").format(factor_text=_factor_text(step)))  # fmt: skip
    return out, problems


def _folded_body(lines: list[dict[str, Any]], plan: VatPlan, step: int, known: Known | None, base: str
                 ) -> tuple[dict[str, Any], list[Problem], int, int]:  # fmt: skip
    """An entry's body through `fold`, its warnings, and how many of its lines keep a VAT code without a
    tax_id and how many are VAT rounding lines."""
    rows, notes = fold(lines, plan, step, known)
    plain = sum(1 for row in rows if row.line["vat_code"] and not row.tax and not row.rounding) if notes else 0
    rounded = sum(1 for row in rows if row.rounding)
    body, checks = _body(rows, base)
    first = lines[0]
    where = f"entry {first['doc'] or first['entry']} of {first['date']}"
    warnings = [
        Problem("warning", f"{where}: {n}", first["source_file"], first["source_row"]) for n in [*notes, *checks]
    ]
    return body, warnings, plain, rounded


def gross_for(base: int, share: int, rate: Decimal, step: int) -> int | None:
    """The gross amount whose base, after bexio takes out the VAT it computes in it, is `base`: the
    one nearest `base` + `share`, the lower one first (None if none lies within 4 rounding steps and 3
    cents). bexio's VAT is a multiple of `step`, so only `base` plus a multiple of `step` can be it:
    those are tried outward from `base` + `share`, not every cent."""
    return _gross_for(base, share, _gross_vat_of(rate, step), step)


def _gross_for(base: int, share: int, vat_of: Callable[[int], int], step: int) -> int | None:
    """`gross_for` with bexio's VAT of a gross amount given (`_gross_vat_of`)."""
    start, reach = base + share, 4 * step + 3
    below = start - (start - base) % step  # the nearest candidate at or below start
    above = below + step
    while True:
        low, high = start - below, above - start
        if low <= high:
            if low > reach:
                return None
            if vat_of(below) == below - base:
                return below
            below -= step
        else:
            if high > reach:
                return None
            if vat_of(above) == above - base:
                return above
            above += step


def fold(
    lines: list[dict[str, Any]], plan: VatPlan, step: int, known: Known | None = None
) -> tuple[list[Row], list[str]]:
    """The rows bexio must get for one entry, and why some are written as booked.

    Each base line of a code whose VAT lines are all on the code's VAT account is written gross with
    the code (the gross amount whose base bexio computes to the booked base, `gross_for`) and its VAT
    lines are left out: bexio books the VAT itself. Where bexio's VAT (rounded to `step` cents) is not
    the VAT booked, a `rounding` row of the difference follows on the VAT account, plain, in place of
    the code's first VAT line. A code whose rate is unknown, whose lines are in a foreign currency or
    whose difference would be more than a rounding step per line is written as booked, without code.
    `known`: `_grosses` of one-base-line groups worked out beforehand (`known_grosses`).
    """
    rows = {id(line): [Row(line, line["amount"])] for line in lines}
    dropped: set[int] = set()
    rounding: dict[int, Row] = {}
    notes: list[str] = []
    for group in code_groups(lines, plan, notes):
        code, bases, vat_lines, rate, account, total = (
            group.code, group.bases, group.vat_lines, group.rate, group.account, group.total
        )  # fmt: skip
        why = group.first_reason()
        parts: dict[int, list[tuple[int, int]]] = {}  # per base line: (part of its base, gross) written
        if why or rate is None:
            pass  # first_reason says why
        elif not account:
            why = N_("its VAT account is unknown")
        elif any(line["currency"] for line in bases + vat_lines):
            why = N_("its lines are in a foreign currency")
        elif not (parts := _grosses(bases, group.shares, total, rate, step, known)):
            why = N_("bexio would compute other VAT at {rate} % than the {format_cents} booked").format(
                rate=rate, format_cents=format_cents(total)
            )
        if why or rate is None:
            notes.append(N_("VAT code {code}: {why}; written as booked, without VAT code").format(code=code, why=why))
            continue
        computed = sum(gross_vat(gross, rate, step) for pieces in parts.values() for _, gross in pieces)
        difference = total - computed
        for line in bases:
            rows[id(line)] = [Row(line, gross, plan.codes[code]) for _, gross in parts[id(line)]]
        dropped |= {id(line) for line in vat_lines}
        if difference:  # in place of the code's first VAT line, or after its last base line
            anchor = vat_lines[0] if vat_lines else bases[-1]
            # written plain (no tax_id), but it is VAT of the code in the books: `kept_lines` keeps it so
            plain = {**anchor, "account": account, "vat_code": code, "vat_amount": None, "vat_line": True,
                     "description": f"VAT rounding {plan.codes[code]}: {anchor['description']}"[:255]}  # fmt: skip
            rounding[id(anchor)] = Row(plain, difference, "", rounding=True)
    return assembled(lines, rows, dropped, rounding), notes


def _grosses(
    bases: list[dict[str, Any]], shares: list[int], total: int, rate: Decimal, step: int, known: Known | None = None
) -> dict[int, list[tuple[int, int]]]:
    """Per base line (by id) the parts of its base and the gross amount written for each, such that
    bexio's VAT is within a rounding step per line of the `total` booked and not more than it (the
    difference, a rounding line, then lies on the VAT's own side of the VAT account, so no turnover
    is booked against it). One part per line where that holds; else the largest line is split into
    a part and up to 8 parts too small to carry VAT. Empty if nothing fits. One base line's result
    is taken from `known` where it is there (its share is the total then, see `code_groups`)."""
    if known is not None and len(bases) == 1 and (rate, bases[0]["amount"], total) in known:
        found = known[(rate, bases[0]["amount"], total)]
        return {id(bases[0]): list(found)} if found is not None else {}

    vat_of = _gross_vat_of(rate, step)
    most = step * (len(bases) + 8)

    def fits(computed: int) -> bool:
        """Whether bexio's VAT `computed` (of every part) is close enough to `total` and on its side."""
        same_side = computed == 0 or total == 0 or (computed > 0) == (total > 0)
        return same_side and abs(computed) <= abs(total) and abs(total - computed) <= most

    parts: dict[int, list[tuple[int, int]]] = {}
    computed = 0
    for line, share in zip(bases, shares, strict=True):
        gross = _gross_for(line["amount"], share, vat_of, step)
        if gross is None:
            return {}
        parts[id(line)] = [(line["amount"], gross)]
        computed += gross - line["amount"]  # bexio's VAT in it (what gross_for made it)
    if fits(computed):
        return parts
    largest = max(bases, key=lambda b: abs(b["amount"]))
    amount, sign = largest["amount"], (-1 if largest["amount"] < 0 else 1)
    others = computed - (parts[id(largest)][0][1] - amount)
    tiny = _tiny(rate, step)
    tiny_vat = vat_of(sign * tiny)
    for count in range(1, 9):
        for small in range(1, tiny + 1):
            rest = abs(amount) - small - tiny * (count - 1)
            if rest <= 0:
                return {}
            gross = _gross_for(sign * rest, computed_vat(sign * rest, rate, False, step), vat_of, step)
            if gross is None:
                continue
            # the parts too small to carry VAT (gross = base) are summed as every part is: exactly
            if fits(others + (gross - sign * rest) + vat_of(sign * small) + (count - 1) * tiny_vat):
                split = [(sign * p, sign * p) for p in [small] + [tiny] * (count - 1)]
                return {**parts, id(largest): [(sign * rest, gross), *split]}
    return {}


@functools.lru_cache(maxsize=256)
def _tiny(rate: Decimal, step: int) -> int:
    """The largest part (cents) too small for bexio to compute VAT in, from half a rounding step's
    gross down (0 for a rate of 0)."""
    vat_of = _gross_vat_of(rate, step)
    tiny = int(Decimal(step) * (100 + rate) / (2 * rate)) if rate else 0
    while tiny and vat_of(tiny):
        tiny -= 1
    return tiny


def kept_lines(ledger: Ledger, step: int) -> pa.Table:
    """The lines of `BexioWriter.as_kept`: entries whose VAT bexio books otherwise than the books hold it
    (several base or VAT lines of a code, a VAT line of 0.00, VAT bexio rounds otherwise) rebuilt as
    the writer writes them and the reader books them; the others as they are. A rounding line stays
    VAT of its code here (the books' VAT): bexio reads it as a plain line, so verification shows the
    difference as the writer declares it."""
    lines = ledger.lines
    plan = vat_plan(ledger, "bexio")
    candidates = _changed_entries(lines, plan, step)
    if not candidates:
        return lines
    chosen = pc.is_in(lines.column("entry"), pa.array(sorted(candidates), pa.string()))
    taken = lines.filter(chosen)
    known = known_grosses(taken, plan, step)
    order, starts = columns.entry_order(taken)
    taken = taken.take(pa.array(order))
    return pa.concat_tables([lines.filter(pc.invert(chosen)), _kept_entries(taken, starts, plan, step, known)])


def _line_lists(lines: pa.Table) -> tuple[list[Any], list[Any], list[Any], list[Any], list[Any], list[Any]]:
    """The columns the column-wise write and `as_kept` walk entry by entry, as Python lists: VAT code
    ("" for none), VAT-line flag, amount, account, text, and whether the line is in a foreign currency."""
    return (pc.fill_null(lines.column("vat_code"), "").to_pylist(),
            pc.fill_null(lines.column("vat_line"), False).to_pylist(), lines.column("amount").to_pylist(),
            lines.column("account").to_pylist(), lines.column("description").to_pylist(),
            pc.fill_null(pc.not_equal(pc.fill_null(lines.column("currency"), ""), ""), False).to_pylist())  # fmt: skip


def _kept_entries(lines: pa.Table, starts: np.ndarray, plan: VatPlan, step: int, known: Known) -> pa.Table:
    """The as-kept lines of the entries of `lines` (in the order of `writers.base.entries`, each entry
    starting at `starts`), as `fold` rebuilds them. An entry of one VAT code with one base line and one
    VAT line on the code's account, in the base currency, whose gross `known` holds, is rebuilt from the
    columns (each output line a source line with new amount, VAT amount and flag, account, text and
    number); any other through `fold`, its lines as dicts. Both are put back in entry order."""
    count = lines.num_rows
    codes, flags, amounts, accounts, texts, foreign = _line_lists(lines)
    raw_vat = lines.column("vat_amount").to_pylist()
    raw_flags = lines.column("vat_line").to_pylist()
    bounds = [*starts.tolist(), count]
    written: list[tuple[int, int, int | None, bool | None, str, str, int, int]] = []
    """per line written: its source line, amount, VAT amount, flag, account, text, number, entry position"""
    slow: list[dict[str, Any]] = []
    slow_keys: list[int] = []
    for position in range(len(starts)):
        first, last = bounds[position], bounds[position + 1]
        coded = [i for i in range(first, last) if codes[i]]
        parts = None
        if len(coded) == 2 and not any(foreign[first:last]):
            base, vat_line = coded if flags[coded[1]] else coded[::-1]
            code = codes[base]
            rate = plan.rates.get(code)
            account = plan.accounts.get(code, "")
            if (
                rate is not None
                and codes[vat_line] == code
                and flags[vat_line]
                and not flags[base]
                and account
                and accounts[vat_line] == account
            ):
                parts = known.get((rate, amounts[base], amounts[vat_line]))
        if parts is None:
            rows, _ = fold(model.rows(lines.slice(first, last - first)), plan, step, known)
            out = _kept_rows(rows, plan, step)
            slow += [{**line, "line": number} for number, line in enumerate(out, start=1)]
            slow_keys += [position] * len(out)
            continue
        assert rate is not None
        shares = [gross_vat(gross, rate, step) for _, gross in parts]
        number = 0
        for i in range(first, last):
            if i == vat_line:
                difference = amounts[vat_line] - sum(shares)
                if difference:  # the rounding line, in place of the VAT line (see `fold`)
                    number += 1
                    text = f"VAT rounding {plan.codes[code]}: {texts[i]}"[:255]
                    written.append((i, difference, None, True, account, text, number, position))
            elif i != base:
                number += 1
                written.append((i, amounts[i], raw_vat[i], raw_flags[i], accounts[i], texts[i], number, position))
            else:
                for (_, gross), share in zip(parts, shares, strict=True):
                    number += 1
                    written.append((i, gross - share, share, False, accounts[i], texts[i], number, position))
                    if share:
                        number += 1
                        written.append((i, share, None, True, account, texts[i], number, position))
    return _kept_table(lines, written, slow, slow_keys)


def _kept_rows(rows: list[Row], plan: VatPlan, step: int) -> list[dict[str, Any]]:
    """The as-kept lines of one entry's rows (`fold`): a row with a tax_id as the base and the VAT bexio
    books in it (as the reader books it), the others as written."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if not row.tax:
            out.append({**row.line, "amount": row.amount})
            continue
        code = row.line["vat_code"]
        share = gross_vat(row.amount, plan.rates[code], step)
        out.append({**row.line, "amount": row.amount - share, "vat_amount": share, "vat_line": False})
        if share:
            out.append({**row.line, "account": plan.accounts.get(code, ""), "amount": share, "vat_amount": None,
                        "vat_line": True})  # fmt: skip
    return out


def _kept_table(
    lines: pa.Table,
    written: list[tuple[int, int, int | None, bool | None, str, str, int, int]],
    slow: list[dict[str, Any]],
    slow_keys: list[int],
) -> pa.Table:
    """The lines `_kept_entries` worked out: source lines of `lines` with new values (`written`), and
    the `slow` ones as dicts, in the order of their entries' positions, each entry's in order."""
    source, amounts, vat_amounts, flags, accounts, texts, numbers, keys = (
        [list(column) for column in zip(*written, strict=True)] if written else [[] for _ in range(8)]
    )
    fast = lines.take(pa.array(source, pa.int64()))
    for name, values in (("amount", amounts), ("vat_amount", vat_amounts), ("vat_line", flags),
                         ("account", accounts), ("description", texts), ("line", numbers)):  # fmt: skip
        index = fast.schema.get_field_index(name)
        fast = fast.set_column(index, fast.schema.field(index), pa.array(values, fast.schema.field(index).type))
    if not slow:
        return fast
    every = pa.concat_tables([fast, table("lines", slow).cast(fast.schema)])
    order = np.argsort(np.array(keys + slow_keys, dtype=np.int64), kind="stable")
    return every.take(pa.array(order))


def _changed_entries(lines: pa.Table, plan: VatPlan, step: int) -> set[str]:
    """Entries with a VAT code of known rate that bexio books otherwise than the books: several base or
    VAT lines of a code, a VAT line of 0.00, or one base line whose gross bexio splits otherwise.
    Summed per entry and code by Arrow, bexio's VAT of each sum in NumPy integers (`_vat_columns`),
    the few sums those leave undecided by `gross_vat`."""
    if not lines.num_rows or not plan.rates:
        return set()
    codes = lines.column("vat_code").fill_null("")
    lines = lines.filter(pc.is_in(codes, pa.array(sorted(plan.rates), pa.string())))
    if not lines.num_rows:
        return set()
    if money.may_wrap(lines.column("amount"), lines.num_rows):
        return _changed_by_sums(lines, plan, step)
    flag = pc.fill_null(lines.column("vat_line"), False)
    amount = lines.column("amount").fill_null(0)
    zero = pa.scalar(0, pa.int64())
    one = pa.scalar(1, pa.int64())
    sums = (
        pa.table({
            "entry": lines.column("entry"), "code": lines.column("vat_code"),
            "base": pc.if_else(flag, zero, one), "vat": pc.if_else(flag, one, zero),
            "base_amount": pc.if_else(flag, zero, amount), "vat_amount": pc.if_else(flag, amount, zero),
            "zero": pc.if_else(pc.and_(flag, pc.equal(amount, 0)), one, zero),
        })
        .group_by(["entry", "code"], use_threads=False)
        .aggregate([(name, "sum") for name in ("base", "vat", "base_amount", "vat_amount", "zero")])
    )  # fmt: skip
    sums = sums.filter(pc.greater(sums.column("base_sum"), 0))
    out: set[str] = set()
    for code in pc.unique(sums.column("code")).to_pylist():
        rate = plan.rates[code]
        chosen = sums.filter(pc.equal(sums.column("code"), code))
        entries_of = chosen.column("entry").to_numpy(zero_copy_only=False)
        booked = chosen.column("vat_amount_sum").to_numpy().astype(np.int64)
        gross = chosen.column("base_amount_sum").to_numpy().astype(np.int64) + booked
        several = (chosen.column("base_sum").to_numpy() > 1) | (chosen.column("vat_sum").to_numpy() > 1)
        several |= chosen.column("zero_sum").to_numpy() > 0
        ratio = _gross_ratio(rate, step)
        largest = int(np.abs(gross).max()) if len(gross) else 0
        if ratio is not None and largest * ratio[0] * 4 < 2**62:
            computed, undecided = _vat_columns(gross, ratio[0], ratio[1], step, net=False)
        else:
            computed, undecided = np.zeros(len(gross), dtype=np.int64), np.ones(len(gross), dtype=bool)
        for index in np.flatnonzero(undecided & ~several).tolist():
            computed[index] = gross_vat(int(gross[index]), rate, step)
        out.update(entries_of[several | (computed != booked)].tolist())
    return out


def _changed_by_sums(lines: pa.Table, plan: VatPlan, step: int) -> set[str]:
    """`_changed_entries` by `reconcile.sums_by`, whose sums never wrap (for amounts whose sums might)."""
    from migrator.reconcile import sums_by

    if not lines.num_rows or not plan.rates:
        return set()
    codes = lines.column("vat_code").fill_null("")
    lines = lines.filter(pc.is_in(codes, pa.array(sorted(plan.rates), pa.string())))
    if not lines.num_rows:
        return set()
    flag = pc.fill_null(lines.column("vat_line"), False)
    amount = lines.column("amount").fill_null(0)
    zero = pa.scalar(0, pa.int64())
    one = pa.scalar(1, pa.int64())
    sums = pa.table({
        "entry": lines.column("entry"), "code": lines.column("vat_code"),
        "base": pc.if_else(flag, zero, one), "vat": pc.if_else(flag, one, zero),
        "base_amount": pc.if_else(flag, zero, amount), "vat_amount": pc.if_else(flag, amount, zero),
        "zero": pc.if_else(pc.and_(flag, pc.equal(amount, 0)), one, zero),
    })  # fmt: skip
    out: set[str] = set()
    values = ["base", "vat", "base_amount", "vat_amount", "zero"]
    for (entry, code), (bases, vats, base, booked, zeros) in sums_by(sums, ["entry", "code"], values).items():
        if not bases:
            continue
        if bases > 1 or vats > 1 or zeros or gross_vat(base + booked, plan.rates[code], step) != booked:
            out.add(entry)
    return out


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
        checks.append(N_("{currency} {format_cents} × {rate} is not {format_cents_b}; written in {base}").format(currency=line['currency'], format_cents=format_cents(foreign), rate=rate, format_cents_b=format_cents(row.amount), base=base))  # fmt: skip
    return {"amount": _number(sign * row.amount), "currency_id": base, "currency_factor": _NUMBER + "1"}


def _in_foreign(line: dict[str, Any], base: str, amount: int) -> bool:
    """Whether a line goes to bexio in its own currency: a foreign amount and a rate that give `amount`."""
    foreign, rate = line["amount_currency"], line["rate"]
    if not (line["currency"] and line["currency"] != base and foreign is not None and rate):
        return False
    product = Decimal(foreign) * Decimal(rate)  # cents × factor, rounded as the reader (and bexio) does
    return int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP)) == amount


def _sheet(body: dict[str, Any]) -> list[list[str]]:
    """The rows of ``manual_entries.csv`` for one body, in the order of `CSV_COLUMNS`."""
    reference, date, kind = inert(body["reference_nr"]), body["date"], body["type"]
    return [
        [reference, date, kind, inert(item["debit_account_id"] or ""), inert(item["credit_account_id"] or ""),
         item["amount"].removeprefix(_NUMBER), inert(item["currency_id"]),
         item["currency_factor"].removeprefix(_NUMBER), inert(item["tax_id"] or ""),
         inert(item["tax_account_id"] or ""), inert(item["description"])]
        for item in body["entries"]
    ]  # fmt: skip


def _csv(columns: tuple[str, ...], rows: Sequence[dict[str, str] | Sequence[str]]) -> str:
    """``;``-separated text of `rows` (dicts by column name, or rows in the order of `columns`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")  # CRLF: a CR in a text is quoted
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] if isinstance(row, dict) else row for row in rows)
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
    return [out[code] for code in sorted(out)]


def _name_parts(partner: dict[str, Any]) -> tuple[str, str]:
    """name_1 and name_2 of a bexio contact: the company name, or a person's last and first name."""
    if partner["kind"] == "person" and partner["last_name"]:
        return partner["last_name"], partner["first_name"]
    return partner["name"], ""


def contact_body(partner: dict[str, Any]) -> dict[str, Any]:
    """The body of ``POST /2.0/contact`` for a partner, ISO codes where bexio wants the ids of its
    country and language lists and no user (`migrator.push` fills in ids). ``nr`` is the contact
    number bexio shows (*assumed* field name: FORMATS.md does not list it): the partner's code."""
    name_1, name_2 = _name_parts(partner)
    return {
        "nr": partner["id"], "contact_type_id": 2 if partner["kind"] == "person" else 1, "name_1": name_1,
        "name_2": name_2 or None, "street_name": partner["street"] or None,
        "house_number": partner["building_number"] or None, "address_addition": partner["address_line2"] or None,
        "postcode": partner["zip"] or None, "city": partner["city"] or None, "country_id": partner["country"] or None,
        "mail": partner["email"] or None, "phone_fixed": partner["phone"] or None,
        "phone_mobile": partner["mobile"] or None, "url": partner["website"] or None,
        "remarks": partner["notes"] or None, "language_id": partner["language"] or None, "user_id": None,
        "owner_id": None,
    }  # fmt: skip


def contact_rows(ledger: Ledger) -> list[list[Any]]:
    """The rows of ``Kontakte.xlsx`` (`CONTACT_COLUMNS`)."""
    rows = []
    for partner in ledger.partners.to_pylist():
        name_1, name_2 = _name_parts(partner)
        rows.append([partner["id"], KONTAKTART.get(partner["kind"], "Firma"), name_1, name_2, partner["street"],
                     partner["building_number"], partner["address_line2"], partner["zip"], partner["city"],
                     partner["country"], partner["language"], partner["email"], partner["phone"], partner["mobile"],
                     partner["website"], partner["notes"]])  # fmt: skip
    return rows


def partner_losses(ledger: Ledger) -> list[Problem]:
    """The partner fields a bexio contact does not hold (`PARTNER_LEFT_OUT`; a company's contact
    person; a person's name other than first and last name; the active flag), in one declaration."""
    counts: Counter[str] = Counter()
    for partner in ledger.partners.to_pylist():
        for column in PARTNER_LEFT_OUT:
            if partner[column] not in ("", None):
                counts[column] += 1
        if partner["kind"] != "person":
            counts[N_("contact person of a company")] += bool(partner["first_name"]) + bool(partner["last_name"])
        if (
            partner["kind"] == "person"
            and partner["last_name"]
            and partner["name"] != " ".join(n for n in (partner["first_name"], partner["last_name"]) if n)
        ):
            counts[N_("name other than first and last name")] += 1
        if partner["kind"] not in ("person", "company"):
            counts[N_("kind (taken as company)")] += 1
        if not partner["active"]:
            counts[N_("inactive flag")] += 1
    shown = ", ".join(f"{what} ({n})" for what, n in counts.items())
    return lost(
        N_("partner fields"),
        sum(counts.values()),
        N_("a bexio contact has no field for them here: {shown}").format(shown=shown),
    )


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text not in ("", None) else None


def _decimal_number(text: str) -> str | None:
    return _NUMBER + decimal_text(Decimal(text)) if text not in ("", None) else None


def article_body(item: dict[str, Any], plan: VatPlan, base: str) -> dict[str, Any]:
    """The body of ``POST /2.0/article`` for an item: codes where bexio wants ids (VAT codes, unit name,
    account numbers, currency code, the supplier's partner code in ``contact_id``; `migrator.push`
    maps them). A service (``article_type_id`` 2) is an item kept in hours and not in stock."""
    service = item["unit"] in ("h", "Std", "heure", "hour") and item["stock"] in ("", None)
    return {
        "user_id": None, "article_type_id": 2 if service else 1, "intern_code": item["code"],
        "intern_name": item["name"] or item["code"], "intern_description": item["description"] or None,
        "purchase_price": _number(item["purchase_price"]) if item["purchase_price"] is not None else None,
        "sale_price": _number(item["sale_price"]) if item["sale_price"] is not None else None,
        "currency_id": item["currency"] or base,
        "tax_income_id": plan.codes.get(item["sale_vat_code"], item["sale_vat_code"]) or None,
        "tax_expense_id": plan.codes.get(item["purchase_vat_code"], item["purchase_vat_code"]) or None,
        "unit_id": item["unit"] or None, "is_stock": item["stock"] not in ("", None),
        "stock_nr": _decimal_number(item["stock"]), "stock_min_nr": _decimal_number(item["stock_min"]),
        "deliverer_code": item["supplier_ref"] or None, "contact_id": item["supplier"] or None,
        "account_id": item["revenue_account"] or None, "expense_account_id": item["expense_account"] or None,
    }  # fmt: skip


def product_rows(ledger: Ledger, plan: VatPlan) -> list[list[Any]]:
    """The rows of ``Produkte.xlsx`` (`PRODUCT_COLUMNS`); prices and stock as numbers (Decimals: Excel
    keeps 15 digits, the reader takes them back exactly)."""
    base = ledger.company.base_currency or "CHF"
    rows = []
    for item in ledger.items.to_pylist():
        price = {k: to_decimal(item[k]) if item[k] is not None else None for k in ("purchase_price", "sale_price")}
        rows.append([item["code"], item["group"], item["name"], item["description"], price["purchase_price"],
                     price["sale_price"], item["currency"] or base, item["unit"], item["revenue_account"],
                     item["expense_account"], plan.codes.get(item["sale_vat_code"], item["sale_vat_code"]),
                     plan.codes.get(item["purchase_vat_code"], item["purchase_vat_code"]), _decimal(item["stock"]),
                     _decimal(item["stock_min"])])  # fmt: skip
    return rows


def item_losses(ledger: Ledger, files: bool) -> list[Problem]:
    """Item fields bexio's product import (`files`) or its article API does not hold, in one declaration:
    the import has no supplier columns; the API names groups by id (not posted); neither has an
    inactive flag."""
    counts: Counter[str] = Counter()
    for item in ledger.items.to_pylist():
        for column in ("supplier", "supplier_ref") if files else ("group",):
            if item[column]:
                counts[column] += 1
        if not item["active"]:
            counts[N_("inactive flag")] += 1
    shown = ", ".join(f"{what} ({n})" for what, n in counts.items())
    where = N_("bexio's product import") if files else N_("a bexio article as posted")
    return lost(
        N_("item fields"),
        sum(counts.values()),
        N_("{where} has no field for them: {shown}").format(where=where, shown=shown),
    )


def _sheet_file(path: Path, title: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    """A one-sheet workbook; text stays text, exactly (never a formula)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(columns))
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(FORMULA_STARTS)
    sheet.freeze_panes = "A2"
    book.save(path)


def _currencies(ledger: Ledger, step: int) -> list[dict[str, str]]:
    """The base currency with the rounding the VAT of the entries was computed with (the reader needs it)."""
    return [{"code": ledger.company.base_currency or "CHF", "round_factor": _factor_text(step)}]


# Kontoart from the Swiss SME chart's classes (KMU/PME) where an account's type is not known.
_CLASS_KONTOART = {"1": "Aktiv", "2": "Passiv", "3": "Ertrag", "4": "Aufwand", "5": "Aufwand", "6": "Aufwand",
                   "7": "Ertrag", "8": "Aufwand", "9": "Abschluss"}  # fmt: skip


def kontoart(account_type: str, code: str) -> str:
    """The Kontoart of an account: from its type, else from its code's class in the Swiss SME chart
    (a code not starting with a digit is taken as an asset)."""
    return KONTOART.get(account_type) or _CLASS_KONTOART.get(code[:1], "Aktiv")


def chart_rows(ledger: Ledger, plan: VatPlan) -> tuple[list[list[str]], list[Problem]]:
    """The rows of ``Kontenplan.xlsx``: every group an account refers to (and the groups above it) as
    a row of its own (bexio's chart import needs it, FORMATS.md), then the accounts; every row with a
    Kontoart. Groups no account refers to cannot be told from accounts on reading: left out, declared."""
    accounts = ledger.accounts.to_pylist()
    codes = {a["code"] for a in accounts}
    parents = {a["code"]: a["parent"] for a in accounts}
    groups = {g["code"]: g for g in ledger.groups.to_pylist() if g["code"] not in codes}
    kinds: dict[str, str] = {}
    needed: list[str] = []
    under_account = 0
    for account in accounts:
        parent, seen = _group_of(account["code"], parents), set()
        under_account += account["parent"] in codes
        art = kontoart(account["type"], account["code"])
        while parent and parent not in seen and parent not in codes:
            seen.add(parent)
            kinds.setdefault(parent, art)
            if parent not in needed:
                needed.append(parent)
            parent = groups.get(parent, {}).get("parent", "")
    rows = [[code, groups.get(code, {}).get("name", ""), groups.get(code, {}).get("parent", ""), kinds[code], "", "",
             ""] for code in sorted(needed, key=lambda c: (len(c), c))]  # fmt: skip
    for account in accounts:
        rows.append([account["code"], account["name"], _group_of(account["code"], parents),
                     kontoart(account["type"], account["code"]), "", "",
                     plan.codes.get(account["vat_code"], account["vat_code"])])  # fmt: skip
    unused = sorted(set(groups) - set(needed))
    problems = lost(
        N_("groups"),
        len(unused),
        N_("left out: no account refers to them ({unused})").format(unused=", ".join(unused[:10])),
    )
    problems += lost(N_("account parents"), under_account, N_("an account under another account (GnuCash sub-accounts) "
                     "is placed in that account's group: in bexio an account is never the group of another"))  # fmt: skip
    return rows, problems


def _group_of(code: str, parents: dict[str, str]) -> str:
    """The group an account goes under in bexio's chart: its parent, or where that is an account (a
    sub-account), the first group above it."""
    parent, seen = parents.get(code, ""), {code}
    while parent in parents and parent not in seen:
        seen.add(parent)
        parent = parents[parent]
    return parent


def _chart(ledger: Ledger, plan: VatPlan, path: Path, added: Sequence[str] = ()) -> list[Problem]:
    """``Kontenplan.xlsx``; `added`: transition accounts of open invoices the chart lacks (`TRANSITION_NAME`,
    Abschluss, in the longest group of the chart whose code begins theirs)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Kontenplan"
    sheet.append(list(CHART_COLUMNS))
    rows, problems = chart_rows(ledger, plan)
    groups = [row[0] for row in rows if row[0] not in set(ledger.accounts.column("code").to_pylist())]
    for code in added:
        group = max((g for g in groups if code.startswith(g) and g != code), key=len, default="")
        rows.append([code, TRANSITION_NAME, group, "Abschluss", "", "", ""])
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):  # text stays text, exactly: never a formula (see module doc)
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(FORMULA_STARTS)
    for column, width in zip("ABCDEFG", (14, 40, 14, 12, 12, 18, 12), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return problems


FORMAT = BexioWriter


# ------------------------------------------------------------------ the gross search over whole columns


def _vat_columns(amounts: np.ndarray, numerator: int, denominator: int, step: int, net: bool
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """VAT of int64 `amounts` as `gross_vat` (gross: half up, an exact half undecided) or `computed_vat`
    (net: half up) compute it in integers with the ratio `numerator` / `denominator`, and which values
    are undecided (an exact half of the gross computation, or an amount outside the bounds)."""
    size = np.abs(amounts)
    product = size * numerator
    whole, rest = np.divmod(product, denominator)
    twice = 2 * rest
    if net:
        undecided = size >= _EXACT
        value = (whole + (twice >= denominator)) * step
    else:
        undecided = (twice == denominator) | (size >= _GROSS_EXACT)
        value = (whole + (twice > denominator)) * step
    return np.where(amounts < 0, -value, value), undecided


def _gross_columns(base: np.ndarray, share: np.ndarray, ratio: tuple[int, int], step: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """`_gross_for` of each (base, share) pair at once: the gross amounts, which were found, and which
    need the scalar search (a candidate before the one found, or none, is undecided in integers)."""
    reach = 4 * step + 3
    start = base + share
    offset = share % step  # as Python's %: start - below
    below = start - offset
    reach_k = reach // step + 1
    candidates, keys = [], []
    for k in range(reach_k):
        distance = offset + k * step
        candidates.append(below - k * step)
        keys.append(np.where(distance <= reach, 2 * distance, np.iinfo(np.int64).max))
        distance = step - offset + k * step
        candidates.append(below + step + k * step)
        keys.append(np.where(distance <= reach, 2 * distance + 1, np.iinfo(np.int64).max))
    cand = np.stack(candidates, axis=1)
    key = np.stack(keys, axis=1)
    order = np.argsort(key, axis=1, kind="stable")
    cand = np.take_along_axis(cand, order, axis=1)
    valid = np.take_along_axis(key, order, axis=1) != np.iinfo(np.int64).max
    vat_values, undecided = _vat_columns(cand, ratio[0], ratio[1], step, net=False)
    match = valid & (vat_values == cand - base[:, None])
    stop = valid & (match | undecided)
    first = np.argmax(stop, axis=1)
    any_stop = stop.any(axis=1)
    rows = np.arange(len(base))
    open_ = any_stop & undecided[rows, first] & valid[rows, first]
    found = any_stop & ~open_ & match[rows, first]
    return cand[rows, first], found, open_


Known = dict[tuple[Decimal, int, int], "list[tuple[int, int]] | None"]
"""`_grosses` of one-base-line code groups by (rate, base amount, VAT booked): the parts written, or None."""


def known_grosses(lines: pa.Table, plan: VatPlan, step: int) -> Known:
    """`_grosses` of every code group of `lines` that has one base line (per entry and VAT code of a
    known rate), worked out over whole columns; groups the integers cannot decide are left out."""
    if not lines.num_rows or not plan.rates:
        return {}
    codes = lines.column("vat_code").fill_null("")
    lines = lines.filter(pc.is_in(codes, pa.array(sorted(plan.rates), pa.string())))
    if not lines.num_rows:
        return {}
    flag = pc.fill_null(lines.column("vat_line"), False)
    amount = lines.column("amount").fill_null(0)
    zero = pa.scalar(0, pa.int64())
    one = pa.scalar(1, pa.int64())
    sums = (
        pa.table({
            "entry": lines.column("entry"), "code": lines.column("vat_code"), "base": pc.if_else(flag, zero, one),
            "base_amount": pc.if_else(flag, zero, amount), "vat_amount": pc.if_else(flag, amount, zero),
        })
        .group_by(["entry", "code"], use_threads=False)
        .aggregate([("base", "sum"), ("base_amount", "sum"), ("vat_amount", "sum")])
    )  # fmt: skip
    sums = sums.filter(pc.equal(sums.column("base_sum"), 1))
    out: Known = {}
    for code in pc.unique(sums.column("code")).to_pylist():
        rate = plan.rates[code]
        chosen = sums.filter(pc.equal(sums.column("code"), code))
        amounts, totals = chosen.column("base_amount_sum").to_pylist(), chosen.column("vat_amount_sum").to_pylist()
        found = _single_grosses(amounts, totals, rate, step)
        if found:
            out.update({(rate, a, t): parts for (a, t), parts in found.items()})
    return out


def _single_grosses(amounts: list[int], totals: list[int], rate: Decimal, step: int
                    ) -> dict[tuple[int, int], list[tuple[int, int]] | None] | None:  # fmt: skip
    """`_grosses` of code groups of one base line (`amounts`, their `totals` booked; the share is the
    total then), computed over whole columns: per (amount, total) the parts written, None where nothing
    fits; pairs left for the scalar path are not in it. None where the rate or step leave integers."""
    gross_ratio = _gross_ratio(rate, step)
    net_ratio = _net_ratio(rate, step)
    if gross_ratio is None or net_ratio is None or not amounts:
        return None
    base = np.array(amounts, dtype=object)
    total = np.array(totals, dtype=object)
    largest = max(int(np.abs(base).max()), int(np.abs(total).max())) + 100 * step + 10**4
    if largest * max(gross_ratio[0], net_ratio[0]) * 4 >= 2**62 or largest >= _GROSS_EXACT:
        return None
    base, total = base.astype(np.int64), total.astype(np.int64)
    net_ratio = (net_ratio[0], net_ratio[1])
    most = step * (1 + 8)

    def fits(computed: np.ndarray, booked: np.ndarray) -> np.ndarray:
        same_side = (computed == 0) | (booked == 0) | ((computed > 0) == (booked > 0))
        return same_side & (np.abs(computed) <= np.abs(booked)) & (np.abs(booked - computed) <= most)

    out: dict[tuple[int, int], list[tuple[int, int]] | None] = {}
    gross, found, open_ = _gross_columns(base, total, gross_ratio, step)
    computed = gross - base
    whole = found & fits(computed, total)
    for a, t, g in zip(base[whole].tolist(), total[whole].tolist(), gross[whole].tolist(), strict=True):
        out[(a, t)] = [(a, g)]
    for a, t in zip(base[~found & ~open_].tolist(), total[~found & ~open_].tolist(), strict=True):
        out[(a, t)] = None
    pending = found & ~whole  # to split: the largest (the only) line into a rest and small parts
    amount, booked = base[pending], total[pending]
    tiny = _tiny(rate, step)
    sign = np.where(amount < 0, -1, 1)
    vat_of = _gross_vat_of(rate, step)
    tiny_vat = np.where(sign < 0, vat_of(-tiny), vat_of(tiny))
    for count in range(1, 9):
        for small in range(1, tiny + 1):
            if not len(amount):
                return out
            rest = np.abs(amount) - small - tiny * (count - 1)
            gone = rest <= 0
            for a, t in zip(amount[gone].tolist(), booked[gone].tolist(), strict=True):
                out[(a, t)] = None
            keep = ~gone
            amount, booked, sign, tiny_vat, rest = amount[keep], booked[keep], sign[keep], tiny_vat[keep], rest[keep]
            signed = sign * rest
            net, net_open = _vat_columns(signed, *net_ratio, step, net=True)
            gross, found, open_ = _gross_columns(signed, net, gross_ratio, step)
            small_vat, small_open = _vat_columns(sign * small, *gross_ratio, step, net=False)
            open_ |= net_open | (found & small_open)
            ok = found & ~open_ & fits((gross - signed) + small_vat + (count - 1) * tiny_vat, booked)
            for a, t, s, r, g in zip(amount[ok].tolist(), booked[ok].tolist(), sign[ok].tolist(), rest[ok].tolist(),
                                     gross[ok].tolist(), strict=True):  # fmt: skip
                out[(a, t)] = [(s * r, g), (s * small, s * small)] + [(s * tiny, s * tiny)] * (count - 1)
            keep = ~ok & ~open_
            amount, booked, sign, tiny_vat = amount[keep], booked[keep], sign[keep], tiny_vat[keep]
    for a, t in zip(amount.tolist(), booked.tolist(), strict=True):
        out[(a, t)] = None
    return out


# ------------------------------------------------------------------ manual entries written from the columns


_ITEM_KEYS = ("debit_account_id", "credit_account_id", "amount", "currency_id", "currency_factor", "description",
              "tax_id", "tax_account_id")  # fmt: skip


@dataclass
class Written:
    """What `_batch_entries` makes of a batch of entries: each entry's body as the text `entries_json`
    lays out and its rows of ``manual_entries.csv``, the warnings `entry_bodies` gives, and the number
    of lines with a VAT code written plain and of VAT rounding lines."""

    texts: list[str]
    sheet_rows: list[Any]
    problems: list[Problem]
    plain: int = 0
    rounded: int = 0


def write_entries(
    ledger: Ledger, step: int, plan: VatPlan, json_file: TextIO, csv_file: TextIO
) -> tuple[int, list[Problem]]:
    """`entry_bodies` written to ``manual_entries.json`` and ``manual_entries.csv`` (`json_file` and
    `csv_file`, open; the list's bracket and the header written, each entry written after a line
    break, with a comma but the first) as they lay them out, a batch of whole entries at a time (`_batch_entries`);
    the number of entries, and the warnings and declarations `entry_bodies` gives."""
    problems = list(plan.problems)
    base = ledger.company.base_currency or "CHF"
    sheet = csv.writer(csv_file, delimiter=";", lineterminator="\r\n")
    count = plain = rounded = 0
    for lines, starts in entry_batches(ledger.lines):
        known = known_grosses(lines, plan, step)
        batch = _batch_entries(lines, starts, plan, step, base, known)
        problems += batch.problems
        plain, rounded = plain + batch.plain, rounded + batch.rounded
        for text in batch.texts:
            json_file.write(",\n  " + text if count else "\n  " + text)
            count += 1
        sheet.writerows(batch.sheet_rows)
    problems += lost(N_("VAT codes on lines"), plain, N_("written as booked without a tax_id where bexio would compute "
                     "other VAT (see the warnings per entry)"))  # fmt: skip
    problems += lost(N_("VAT codes of lines"), rounded, N_("VAT rounding differences: bexio computes the VAT of each line rounded to {factor_text}; where the books hold other VAT, the difference is a line of its own on the VAT account, without a VAT code, so bexio's VAT report per code shows the VAT it computed").format(factor_text=_factor_text(step)))  # fmt: skip
    return count, problems


def _batch_entries(lines: pa.Table, starts: np.ndarray, plan: VatPlan, step: int, base: str, known: Known) -> Written:
    """The entries of `lines` (in the order of `writers.base.entries`, each starting at `starts`) laid
    out as ``manual_entries.json`` and ``manual_entries.csv`` lay out `entry_bodies`, without a dict per
    line where it can: entries without a VAT code, and entries whose one VAT code has one base line and
    one VAT line on its account (`_fast_rows`), all in the base currency, from the columns; any other
    through `fold` and `_body` as `entry_bodies` does, put back in entry order."""
    problems: list[Problem] = []
    count = lines.num_rows
    codes, flags, amounts, accounts, texts, foreign = _line_lists(lines)
    rates = lines.column("rate").to_pylist()
    amounts_currency = lines.column("amount_currency").to_pylist()
    odd = pc.fill_null(pc.starts_with(lines.column("description"), "\x00"), False)
    for name in ("doc", "account", "vat_code"):  # a text starting like a number placeholder: as `dumps` writes it
        odd = pc.or_(odd, pc.fill_null(pc.starts_with(lines.column(name), "\x00"), False))
    odd_lines = odd.to_pylist()
    bounds = [*starts.tolist(), count]
    items: list[tuple[int, str | None, str | None, int, str, str | None, str | None]] = []
    """per line written: entry position, debit and credit account, amount, text, tax_id, tax_account_id"""
    single: list[bool] = []
    heads: list[int] = []  # per entry: the line its head (date, reference) is taken from, as `_body` takes it
    slow: dict[int, tuple[str, list[list[str]]]] = {}
    plain = rounded = 0
    for position in range(len(starts)):
        first, last = bounds[position], bounds[position + 1]
        coded = [i for i in range(first, last) if codes[i]]
        rows: list[tuple[int, int, str, str, str, bool]] | None = None  # line, amount, tax_id, account, text, …
        if (len(coded) == 2 or not coded) and not any(foreign[first:last]) and not any(odd_lines[first:last]):
            if not coded:
                rows = [(i, amounts[i], "", accounts[i], texts[i], False) for i in range(first, last)]
            else:
                rows = _fast_rows(coded, first, last, codes, flags, amounts, accounts, texts, plan, step, known)
                rounded += sum(1 for row in rows if row[5]) if rows is not None else 0
        if rows is None:
            body, warnings, plain_lines, rounding_lines = _folded_body(
                model.rows(lines.slice(first, last - first)), plan, step, known, base
            )
            problems += warnings
            plain += plain_lines
            rounded += rounding_lines
            slow[position] = (entries_json([body])[4:-2], _sheet(body))
            single.append(False)
            heads.append(first)
            continue
        heads.append(rows[0][0])
        tax_rows = [row for row in rows if row[2]]
        if len(rows) == 2 and not tax_rows and _pair_lines(rows[0][0], rows[1][0], amounts, rates, amounts_currency):
            debit, credit = sorted(rows, key=lambda r: r[1] < 0)
            items.append((position, debit[3], credit[3], debit[1], debit[4], None, None))
            single.append(True)
        elif len(rows) == 2 and rows[0][1] == -rows[1][1] and len(tax_rows) == 1:
            debit, credit = sorted(rows, key=lambda r: r[1] < 0)
            taxed = tax_rows[0]
            items.append((position, debit[3], credit[3], debit[1], taxed[4], taxed[2], taxed[3]))
            single.append(True)
        else:
            for _, amount, tax, account, text, _ in rows:
                side = amount >= 0
                items.append((position, account if side else None, None if side else account,
                              amount if side else -amount, text, tax or None, account if tax else None))  # fmt: skip
            single.append(False)
    written = _laid_out(lines, heads, items, single, slow, base, problems)
    written.plain, written.rounded = plain, rounded
    return written


def _fast_rows(
    coded: list[int], first: int, last: int, codes: list[str], flags: list[bool], amounts: list[int],
    accounts: list[str], texts: list[str], plan: VatPlan, step: int, known: Known,
) -> list[tuple[int, int, str, str, str, bool]] | None:  # fmt: skip
    """The rows `fold` gives an entry of one VAT code with one base line and one VAT line on the code's
    account whose gross `known` holds (`coded`: their positions): per row its line, amount, tax_id,
    account, text and whether it is a rounding row; None for any other entry."""
    base, vat_line = coded if flags[coded[1]] else coded[::-1]
    code = codes[base]
    rate = plan.rates.get(code)
    account = plan.accounts.get(code, "")
    tax = plan.codes.get(code, "")
    if not (rate is not None and tax and codes[vat_line] == code and flags[vat_line] and not flags[base]
            and account and accounts[vat_line] == account):  # fmt: skip
        return None
    parts = known.get((rate, amounts[base], amounts[vat_line]))
    if parts is None:
        return None
    rows: list[tuple[int, int, str, str, str, bool]] = []
    for i in range(first, last):
        if i == vat_line:
            difference = amounts[i] - sum(gross_vat(gross, rate, step) for _, gross in parts)
            if difference:  # in place of the VAT line, plain (see `fold`)
                rows.append((i, difference, "", account, f"VAT rounding {tax}: {texts[i]}"[:255], True))
        elif i == base:
            rows += [(i, gross, tax, accounts[i], texts[i], False) for _, gross in parts]
        else:
            rows.append((i, amounts[i], "", accounts[i], texts[i], False))
    return rows


def _pair_lines(a: int, b: int, amounts: list[int], rates: list[str], foreign: list[int | None]) -> bool:
    """`is_pair` of two plain lines in the base currency (their positions)."""
    matched = (foreign[a], foreign[b]) == (None, None) or (
        foreign[a] is not None and foreign[b] is not None and foreign[a] == -foreign[b]  # type: ignore[operator]
    )
    return amounts[a] == -amounts[b] and rates[a] == rates[b] and matched


def _json_texts(values: list[str | None]) -> list[str]:
    """``json.dumps(value, ensure_ascii=False)`` of each text (``null`` for None): each distinct text
    encoded in one call of the C encoder, split apart at the ``", "`` between two strings (a quote
    inside a string is escaped, so that sequence is never inside one)."""
    encoded = pc.dictionary_encode(pa.array(values, pa.string()))
    distinct = encoded.dictionary.to_pylist()
    text = json.dumps(distinct, ensure_ascii=False)
    parts = ['"' + part + '"' for part in text[2:-2].split('", "')] if distinct else []
    return pa.array(parts, pa.string()).take(encoded.indices).fill_null("null").to_pylist()


def _inert_texts(values: list[str]) -> list[str]:
    """`inert` of each text, over the column."""
    column = pa.array(values, pa.string())
    formula = pc.match_substring_regex(column, "^[=+\\-@\\t\\r]")
    return pc.if_else(formula, pc.binary_join_element_wise("'", column, ""), column).to_pylist()


def _laid_out(
    lines: pa.Table, firsts: list[int],
    items: list[tuple[int, str | None, str | None, int, str, str | None, str | None]], single: list[bool],
    slow: dict[int, tuple[str, list[list[str]]]], base: str, problems: list[Problem],
) -> Written:  # fmt: skip
    """The body texts and ``manual_entries.csv`` rows of `_batch_entries`: heads and lines of the
    entries laid out from the columns (`items`; per entry the line of its head, `firsts`, and whether
    it is a single entry, `single`), the others (`slow`) as laid out already, in entry order."""
    heads = lines.take(pa.array(firsts, pa.int64()))
    kinds = ["manual_single_entry" if one else "manual_compound_entry" for one in single]
    days = pc.cast(heads.column("date"), pa.string()).to_pylist()
    docs = heads.column("doc").to_pylist()
    head_texts = [
        f'"type": "{kind}",\n    "date": {day},\n    "reference_nr": {doc}'
        for kind, day, doc in zip(kinds, _json_texts(days), _json_texts(docs), strict=True)
    ]
    positions, debits, credits, amounts, texts, taxes, tax_accounts = (
        [list(column) for column in zip(*items, strict=True)] if items else [[] for _ in range(7)]
    )
    money = columns.cents_text(np.asarray(amounts, dtype=np.int64)).to_pylist() if items else []
    currency = json.dumps(base, ensure_ascii=False)
    item_texts = [
        f'"debit_account_id": {d},\n        "credit_account_id": {c},\n        "amount": {a},\n        '
        f'"currency_id": {currency},\n        "currency_factor": 1,\n        "description": {t},\n        '
        f'"tax_id": {x},\n        "tax_account_id": {y}'
        for d, c, a, t, x, y in zip(_json_texts(debits), _json_texts(credits), money, _json_texts(texts),
                                    _json_texts(taxes), _json_texts(tax_accounts), strict=True)
    ]  # fmt: skip
    inert_base = inert(base)
    sheet_items = list(zip(
        _inert_texts([docs[p] for p in positions]), [days[p] for p in positions], [kinds[p] for p in positions],
        _inert_texts([d or "" for d in debits]), _inert_texts([c or "" for c in credits]), money,
        [inert_base] * len(items), ["1"] * len(items), _inert_texts([x or "" for x in taxes]),
        _inert_texts([y or "" for y in tax_accounts]), _inert_texts(texts), strict=True,
    ))  # fmt: skip
    between = "\n      },\n      {\n        "
    where = np.asarray(positions, dtype=np.int64)
    entries_at = np.arange(len(firsts))
    starts = np.searchsorted(where, entries_at, "left").tolist()
    ends = np.searchsorted(where, entries_at, "right").tolist()
    bodies = [
        slow[position][0] if position in slow else
        f'{{\n    {head},\n    "entries": [\n      {{\n        {between.join(item_texts[start:end])}\n      }}\n    ]\n  }}'
        for position, head, start, end in zip(entries_at.tolist(), head_texts, starts, ends, strict=True)
    ]  # fmt: skip
    if not slow:
        return Written(bodies, sheet_items, problems)
    sheet: list[Any] = []
    for position, start, end in zip(entries_at.tolist(), starts, ends, strict=True):
        sheet += slow[position][1] if position in slow else sheet_items[start:end]
    return Written(bodies, sheet, problems)
