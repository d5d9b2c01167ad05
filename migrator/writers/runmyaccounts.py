"""Run my Accounts: a folder with the GL import CSV (``journal.csv``) and the chart CSV (``chart.csv``).

Journal (``../shared/FORMATS.md``): header ``reference,department,description,transdate,notes,
currency,exchangerate,accno,debit,credit,source,memo,projectnumber``, one row per line;
consecutive rows with one reference form one entry, and Run my Accounts refuses an entry unless
its debits equal its credits. There are no VAT columns, so VAT codes are not carried (the VAT lines
are ordinary lines). Dates and numbers follow the user's settings; this writer uses dd.mm.yyyy and
a plain ``1234.50``, the settings to choose before importing (the reader accepts ``03.01.19`` and
``275,12`` as well). Amounts are in base currency with exchange rate 1, so no rounding of a foreign
amount can unbalance an entry; the foreign amounts are reported as not carried.

Chart: ``accno,description,charttype,category,link``: headings (``H``, from the ledger's groups)
and accounts (``A``) in account-number order, so every heading precedes its accounts; ``category``
is A asset, L liability, Q equity, I income, E expense (the categories of Run my Accounts'
open-source base). ``link`` says in which screens an account appears; an account with an empty
link is missing from them. Written: bank and cash ``AR_paid:AP_paid`` (payments), debtors ``AR``,
creditors ``AP``, the VAT accounts of sales codes ``AR_tax`` and of input and acquisition codes
``AP_tax`` (both where one account serves both); every other account empty. FORMATS.md lists the
column but not its values: these are the link keywords of the open-source base (SQL-Ledger), and
which accounts are bank, debtors and creditors is read from the Swiss SME chart (FORMATS.md, Swiss
facts: 1000-1099 liquid funds, 1100-1199 receivables except 1170/1171 input VAT, 2000-2099
payables) and the VAT accounts from the ledger's VAT codes (*unverified* against Run my Accounts
itself).

Both files are ISO-8859-1, as the service's help says: a character outside it (``œ``, ``€``,
curly quotes) is replaced by its nearest spelling (``oe``, ``EUR``, ``'``) or ``?``, and reported.
Formula-like text (``=…``, ``-…``) is written as it is: the files are for the service's import, not a
spreadsheet, so nothing is made inert.

Several fiscal years: Run my Accounts carries balances into the next year itself, so the
openings of later years are not booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Verification reads the journal back with `years.per_year`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, guides, years
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.rowwise import collector_paused
from migrator.writers.base import fiscal_year_losses, lines_with, lost, lost_columns

ENCODING = "iso-8859-1"
BATCH = 1 << 16
JOURNAL = "journal.csv"
CHART = "chart.csv"
COLUMNS = ("reference", "department", "description", "transdate", "notes", "currency", "exchangerate", "accno",
           "debit", "credit", "source", "memo", "projectnumber")  # fmt: skip
CHART_COLUMNS = ("accno", "description", "charttype", "category", "link")
CATEGORIES = {"asset": "A", "liability": "L", "equity": "Q", "income": "I", "expense": "E"}
NEAREST = str.maketrans({"œ": "oe", "Œ": "OE", "€": "EUR", "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"',
                         "„": '"', "–": "-", "—": "-", "…": "...", "\u2009": " ", "\u202f": " "})  # fmt: skip


class RunMyAccountsWriter:
    name = "runmyaccounts"
    extension = ""
    output = "folder"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        with collector_paused():
            return self._write(ledger, target)

    def _write(self, ledger: Ledger, target: Path) -> list[Problem]:
        encoder = _Encoder()
        renamed = _write_journal(ledger, target / JOURNAL, encoder)
        _write(target / CHART, CHART_COLUMNS, _chart(ledger), encoder)
        contacts = write_contacts(ledger, target, encoder)
        guides.write("runmyaccounts", target)  # the import guide, in the user's language (issue 17)
        problems = encoder.problems() + contacts
        if renamed:
            problems.append(Problem("info", N_("{renamed} entries share the reference of the entry before them, which would merge them: ' (2)', ' (3)', … added to their reference").format(renamed=renamed)))  # fmt: skip
        return problems + _not_carried(ledger)


class _Encoder:
    """ISO-8859-1 text: nearest spelling or ``?`` for what it lacks, counted per character."""

    def __init__(self) -> None:
        self.replaced: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        try:
            text.encode(ENCODING)
            return text
        except UnicodeEncodeError:
            pass
        out = []
        for char in text:
            try:
                char.encode(ENCODING)
                out.append(char)
            except UnicodeEncodeError:
                self.replaced[char] += 1
                near = char.translate(NEAREST)
                out.append(near if near != char else "?")
        return "".join(out)

    def problems(self) -> list[Problem]:
        return [
            Problem("warning", N_("{char!r} (U+{ord:04X}) is not in ISO-8859-1: written as {translate!r} ({count}×)").format(char=char, ord=ord(char), translate=char.translate(NEAREST) if char.translate(NEAREST) != char else '?', count=count))
            for char, count in sorted(self.replaced.items())
        ]  # fmt: skip


def _write(path: Path, header: tuple[str, ...], rows: list[list[str]], encode: _Encoder) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    known: dict[str, str] = {}  # values that need no replacement, as written

    def cell(value: str) -> str:
        found = known.get(value)
        if found is not None:
            return found
        text = " ".join(value.split())
        try:
            text.encode(ENCODING)
        except UnicodeEncodeError:
            return encode(text)  # counted at each use
        known[value] = text
        return text

    writer.writerows([[cell(value) for value in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode(ENCODING))


def _cells(values: pa.Array, encode: _Encoder) -> pa.Array:
    """Each value as `_write` writes it: spaces and line breaks as one space, ISO-8859-1 (`encode`, which
    counts what it replaces at each use), quoted where the csv module quotes (a comma or a quote in it).
    Worked out once per distinct value."""
    encoded = pc.dictionary_encode(pc.fill_null(columns.texts(values), ""))
    indices = encoded.indices
    text = columns.one_line(encoded.dictionary)
    foreign = np.flatnonzero(pc.match_substring_regex(text, "[^\\x00-\\xff]").to_numpy(zero_copy_only=False))
    if len(foreign):
        uses = np.bincount(indices.to_numpy(zero_copy_only=False), minlength=len(text))
        replaced = []
        for at in foreign.tolist():
            value = text[at].as_py()
            replaced.append(encode(value))
            for _ in range(int(uses[at]) - 1):
                encode(value)  # counted at each use
        mask = np.zeros(len(text), dtype=bool)
        mask[foreign] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(replaced, pa.string()))
    quoted = pc.match_substring_regex(text, '[,"\r\n]')
    if pc.any(quoted).as_py():
        text = pc.if_else(
            quoted, pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', ""), text
        )
    return text.take(indices)


def _write_journal(ledger: Ledger, path: Path, encode: _Encoder) -> int:
    """journal.csv, written from the ledger's columns a batch of lines at a time, as `_write` writes rows:
    one row per line, entries as they first appear, each one's lines by number, the entry's reference,
    text and date on each. Returns how many entries' references got a suffix."""
    lines = ledger.lines
    order, starts = columns.entry_order(lines)
    size = len(order)
    entry = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, size]).astype(np.int64))
    first = lines.select(["entry", "doc", "date", "description"]).take(pa.array(order[starts]))
    doc = pc.fill_null(first.column("doc"), "")
    reference = columns.one_line(pc.if_else(pc.equal(doc, ""), pc.fill_null(first.column("entry"), ""), doc))
    renamed = 0
    if len(reference) and (
        reference[0].as_py() == ""
        or pc.any(pc.equal(reference.slice(1), reference.slice(0, len(reference) - 1))).as_py()
    ):
        names, previous = reference.to_pylist(), ""
        for at, name in enumerate(names):
            unique, count = name, 1
            while unique == previous:
                count += 1
                unique = f"{name} ({count})"
            renamed += unique != name
            previous = names[at] = unique
        reference = pa.array(names, pa.string())
    days = pc.dictionary_encode(first.column("date").combine_chunks())
    dates = pa.array([f"{d.day:02d}.{d.month:02d}.{d.year}" for d in days.dictionary.to_pylist()], pa.string())
    date = dates.take(days.indices)
    texts = first.column("description").combine_chunks()
    base = ledger.company.base_currency or "CHF"
    fields = lines.select(["cost_centre", "account", "amount", "description"])
    with path.open("wb") as handle:
        handle.write((",".join(COLUMNS) + "\r\n").encode(ENCODING))
        for start in range(0, size, BATCH):
            rows = pa.array(order[start : start + BATCH])
            at = pa.array(entry[start : start + BATCH])
            batch = fields.take(rows)
            amount = batch.column("amount").to_numpy()
            description = batch.column("description").combine_chunks()
            memo = pc.if_else(pc.equal(description, texts.take(at)), "", description)
            empty = pa.array([""] * len(rows), pa.string())
            # every cell goes through `_cells` (characters ISO-8859-1 lacks are counted at each use)
            row = (
                _cells(reference.take(at), encode), _cells(batch.column("cost_centre").combine_chunks(), encode),
                _cells(texts.take(at), encode), date.take(at), empty, _cells(pa.array([base] * len(rows)), encode), "1",
                _cells(batch.column("account").combine_chunks(), encode), columns.cents_text(np.maximum(amount, 0)),
                columns.cents_text(np.maximum(-amount, 0)), empty, _cells(memo, encode), empty,
            )  # fmt: skip
            text = pc.binary_join_element_wise(pc.binary_join_element_wise(*row, ","), "\r\n", "")
            offsets = np.frombuffer(text.buffers()[1], np.int32)[text.offset : text.offset + len(text) + 1]
            data = text.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
            handle.write(data.decode("utf-8").encode(ENCODING))
    return renamed


def _category(code: str, kind: str) -> str:
    if kind in CATEGORIES:
        return CATEGORIES[kind]
    # Swiss SME chart (FORMATS.md, Swiss facts): 1 assets, 2 liabilities (28/29 equity), 3 income, 4-8 expenses
    if code[:2] in ("28", "29"):
        return "Q"
    return {"1": "A", "2": "L", "3": "I"}.get(code[:1], "E" if code[:1] in "45678" and code[:1] else "")


SALES_VAT = {"sales"}
INPUT_VAT = {"input_material", "input_investment", "acquisition"}


def _links(ledger: Ledger) -> dict[str, str]:
    """The ``link`` of each account that has one (see the module docstring)."""
    tax: dict[str, set[str]] = {}
    for code in ledger.vat_codes.to_pylist():
        if code["account"] and code["kind"] in SALES_VAT | INPUT_VAT:
            tax.setdefault(code["account"], set()).add("AR_tax" if code["kind"] in SALES_VAT else "AP_tax")
    links = {account: ":".join(sorted(kinds)) for account, kinds in tax.items()}
    for code in ledger.accounts.column("code").to_pylist():
        if code in links or not (code.isdigit() and len(code) == 4):
            continue
        if code.startswith("10"):
            links[code] = "AR_paid:AP_paid"
        elif code.startswith("11") and code not in ("1170", "1171"):
            links[code] = "AR"
        elif code.startswith("20"):
            links[code] = "AP"
    return links


def _chart(ledger: Ledger) -> list[list[str]]:
    links = _links(ledger)
    rows = [
        (g["code"], 0, [g["code"], g["name"], "H", _category(g["code"], ""), ""]) for g in ledger.groups.to_pylist()
    ]
    rows += [(a["code"], 1, [a["code"], a["name"], "A", _category(a["code"], a["type"]), links.get(a["code"], "")])
             for a in ledger.accounts.to_pylist()]  # fmt: skip
    return [row for _, _, row in sorted(rows, key=lambda item: (item[0], item[1]))]


def _not_carried(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    problems = lost(N_("VAT codes on lines"), lines_with(lines, "vat_code"),
                    N_("the GL import has no VAT columns; VAT lines written as ordinary lines"))  # fmt: skip
    problems += lost(N_("VAT code definitions"), ledger.vat_codes.num_rows, N_("left out"))
    problems += lost(N_("foreign amounts"), lines_with(lines, "currency"),
                     N_("lines written in base currency with exchange rate 1"))  # fmt: skip
    problems += lost(N_("company name"), 1 if ledger.company.name else 0, N_("the journal and chart hold none; "
                     "the company is the Run my Accounts client the files are imported into"))  # fmt: skip
    problems += fiscal_year_losses(ledger, "Run my Accounts")
    base = ledger.company.base_currency
    problems += lost(N_("base currency"), int(not lines.num_rows and base not in ("", "CHF")), N_("the journal has no row to carry it in its currency column: set {base} as the client's currency").format(base=base))  # fmt: skip
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out (the GL import has no invoices)"))
    problems += lost(N_("items"), ledger.items.num_rows, N_("left out (no article import here)"))
    problems += lost(N_("documents"), ledger.documents.num_rows, N_("left out (the GL import has no invoices)"))
    problems += lost(N_("document lines"), ledger.document_lines.num_rows, N_("left out"))
    problems += lost(N_("opening-balance lines"), lines_with(lines, "opening"), N_("written as ordinary bookings"))
    problems += lost(N_("journal codes of lines"), lines_with(lines, "journal"), N_("left out"))
    return problems


# ----------------------------------------------------------------------------- customers and vendors

CUSTOMERS = "customers.csv"
VENDORS = "vendors.csv"
CONTACT_COLUMNS = ("name", "typeofcontact", "salutation", "firstname", "lastname", "address1", "address2", "zipcode",
                   "city", "country", "phone", "mobile", "email", "language_code", "arap_accno", "notes", "terms")  # fmt: skip
"""After the number column (``customernumber`` or ``vendornumber``): the customer fields of Run my
Accounts' API (FORMATS.md). The vendor number column's name is the one of Run my Accounts' open-source
base (SQL-Ledger), *inferred*, as is the use of the API's field names as the import's column names."""
CONTACT_KEPT = ("id", "kind", "roles", "name", "first_name", "last_name", "street", "address_line2", "zip", "city",
                "country", "phone", "mobile", "email", "language", "account", "notes", "payment_terms")  # fmt: skip


def contact_row(partner: dict[str, Any]) -> list[str]:
    """A partner as a row of customers.csv or vendors.csv (number first, then `CONTACT_COLUMNS`):
    ``address1`` the street with the building number, ``typeofcontact`` company or person,
    ``arap_accno`` the receivable or payable account, ``terms`` the payment terms in days."""
    street = " ".join(p for p in (partner["street"], partner["building_number"]) if p)
    terms = "" if partner["payment_terms"] is None else str(partner["payment_terms"])
    return [partner["id"], partner["name"], partner["kind"], "", partner["first_name"], partner["last_name"], street,
            partner["address_line2"], partner["zip"], partner["city"], partner["country"], partner["phone"],
            partner["mobile"], partner["email"], partner["language"], partner["account"], partner["notes"], terms]  # fmt: skip


def files_of(partner: dict[str, Any]) -> tuple[str, ...]:
    """Customers go to customers.csv, suppliers to vendors.csv, both to both; a partner without roles
    to customers.csv."""
    return {"supplier": (VENDORS,), "both": (CUSTOMERS, VENDORS)}.get(partner["roles"], (CUSTOMERS,))


def kept_partner(partner: dict[str, Any], encode: Any = None) -> dict[str, Any]:
    """The partner as customers.csv and vendors.csv carry it and the reader reads it back: the columns
    of `CONTACT_KEPT` (the building number inside the street; roles from the files it is in; spaces
    and line breaks as one space, ISO-8859-1), every other column empty."""
    encode = encode or _Encoder()
    cells = [encode(" ".join(value.split())) for value in contact_row(partner)]
    names = files_of(partner)
    roles = "both" if len(names) == 2 else "supplier" if names == (VENDORS,) else "customer"
    keys = ("id", "name", "kind", "", "first_name", "last_name", "street", "address_line2", "zip", "city", "country",
            "phone", "mobile", "email", "language", "account", "notes")  # fmt: skip
    kept: dict[str, Any] = {key: value for key, value in zip(keys, cells, strict=False) if key}
    kept.update(roles=roles, payment_terms=partner["payment_terms"],
                kind=kept["kind"] if kept["kind"] in ("company", "person") else "")  # fmt: skip
    return kept


def write_contacts(ledger: Ledger, target: Path, encoder: _Encoder) -> list[Problem]:
    """customers.csv and vendors.csv (each where it has rows), and what they do not carry."""
    from migrator import model

    partners = ledger.partners.to_pylist()
    for name, number in ((CUSTOMERS, "customernumber"), (VENDORS, "vendornumber")):
        rows = [contact_row(p) for p in partners if name in files_of(p)]
        if rows:
            _write(target / name, (number, *CONTACT_COLUMNS), rows, encoder)
    kept = model.table("partners", [kept_partner(p, _Encoder()) for p in partners]).to_pylist()
    return lost_columns(N_("partner details"), partners, kept, N_("{customers} and {vendors} have no column for them (fax, VAT number, IBAN…), the building number is inside address1, a partner without roles is a customer").format(customers=CUSTOMERS, vendors=VENDORS))  # fmt: skip


FORMAT = RunMyAccountsWriter
