"""SAF-T Financial, Norway: versions 1.30, 1.20 and 1.10, streamed with lxml's iterparse.

Elements are matched by local name, so any namespace (or none) reads the same; versions differ in
a few places that are all read: 1.20 customers and suppliers have ``AccountID`` and balances directly,
1.30 a ``BalanceAccount``; 1.20 lines have ``TaxAmount``, 1.30 ``DebitTaxAmount``/``CreditTaxAmount``.

* Accounts: ``GeneralLedgerAccounts``; the type comes from ``GroupingCategory`` (1.30, via
  ``mappings/saft-no/categories.csv``) or the first digit of ``StandardAccountID`` (1.20).
* Customers and suppliers become partners (an id in both lists is one partner with the roles ``both``).
* ``TaxTable`` becomes ``vat_codes``; the kind comes from ``StandardTaxCode``
  (``mappings/saft-no/standard_kinds.csv``).
* Each ``Transaction`` is one entry; lines are debit positive, credit negative. The voucher is the
  ``TransactionID`` ("the number of the accounting document/voucher" in the XSD).
  ``TransactionType`` ``Opening`` marks an opening entry (migrator's own convention). A line with
  ``TaxInformation`` is a VAT base (``vat_code``, ``vat_amount``); a line without it whose amount
  equals the VAT its entry declares for a code is the line booking that VAT (``vat_line``), as in
  Skatteetaten's examples; where no line books the whole VAT of a code, one line per base of that
  base's VAT amount (invoices of several items, `vat_line_codes`).
* Opening balances: the accounts' Opening balances are the balances at the start of the selection
  period, so they become one opening entry (``opening=True``) dated on that day, unless the file
  already books them as transactions: when, for every account with an opening balance, the closing
  balance equals the transactions alone, no entry is added (no double counting). Closing balances
  that differ from opening + transactions, and stated totals (``NumberOfEntries``, ``TotalDebit``,
  ``TotalCredit``) that differ from what was read, are warnings.

Only the elements read come back from lxml (its tag filter runs in C); each record is cleared once
read, and lines gather in column lists that become Arrow columns every CHUNK lines, so memory beyond
the ledger itself does not grow with the file.
A file of the plain shape migrator writes (and any file laid out alike) takes a fast path that reads its
transactions column by column without lxml, and gives the same ledger (see "fast path" below).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from migrator import columns, shipped
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import LINES, Company, FiscalYear, Ledger, Problem, table
from migrator.money import NotCents, format_cents, to_cents
from migrator.parsing import parse_rate
from migrator.readers.base import ReadOptions, merge_accounts
from migrator.sources import Source
from migrator.xmlsafe import check, iterparse

OPENING_TYPE = "Opening"
"""``TransactionType`` of opening entries written by migrator (not a value the standard defines)."""
MAPPINGS = shipped.MAPPINGS / "saft-no"
CHUNK = 1 << 16
"""Lines gathered in Python lists before they become Arrow columns (a batch)."""
NAMESPACE = b"urn:StandardAuditFile-Taxation-Financial:NO"
_ENCODING = re.compile(rb"""encoding=["']([A-Za-z0-9_.:-]+)["']""")
_STANDARD_ACCOUNT_TYPES = {"1": "asset", "3": "income", "4": "expense", "5": "expense", "6": "expense",
                           "7": "expense", "8": "expense"}  # fmt: skip


def vat_line_codes(
    amounts: Sequence[int], codes: Sequence[str], vat_amounts: Sequence[int | None], tagged: Sequence[bool]
) -> list[str]:
    """For each line of one entry, the VAT code it books ("" for none): the untagged lines that book the
    VAT declared for a code by the entry's tagged (base) lines. Either one line books the whole VAT of a
    code (its amount equals the sum the bases declare), or each base has a VAT line of its own (one
    line per base, of that base's VAT amount), as Winbiz, Infoniqa and Banana book invoices of several
    items.

    >>> vat_line_codes([-1000, -81, 1081], ["V81", "", ""], [-81, None, None], [True, False, False])
    ['', 'V81', '']
    >>> vat_line_codes([-1500, -116, -1000, -77, 2693], ["V77", "", "V77", "", ""], [-116, None, -77, None, None],
    ...                [True, False, True, False, False])
    ['', 'V77', '', 'V77', '']
    """
    declared: dict[str, list[int]] = {}
    for code, vat, is_base in zip(codes, vat_amounts, tagged, strict=True):
        if is_base and code and vat:
            declared.setdefault(code, []).append(vat)
    found = [""] * len(amounts)

    def first_free(amount: int, taken: Sequence[int] = ()) -> int | None:
        for index, value in enumerate(amounts):
            if value == amount and not tagged[index] and not found[index] and index not in taken:
                return index
        return None

    for code, vats in declared.items():
        total = sum(vats)
        if not total:
            continue
        whole = first_free(total)
        if whole is not None:
            found[whole] = code
            continue
        picks: list[int] = []
        for vat in vats:
            pick = first_free(vat, picks)
            if pick is None:
                break
            picks.append(pick)
        else:
            for pick in picks:
                found[pick] = code
    return found


def _csv(name: str, key: str, value: str) -> dict[str, str]:
    with (MAPPINGS / name).open(encoding="utf-8", newline="") as handle:
        return {row[key]: row[value] for row in csv.DictReader(handle)}


@cache
def category_types() -> dict[str, str]:
    """`mappings/saft-no/categories.csv`: GroupingCategory → account type."""
    return _csv("categories.csv", "grouping_category", "account_type")


@cache
def standard_kinds() -> dict[str, str]:
    """`mappings/saft-no/standard_kinds.csv`: StandardTaxCode → canonical VAT kind."""
    return _csv("standard_kinds.csv", "standard_tax_code", "kind")


_LOCAL_NAMES: dict[Any, str] = {}


def _local(tag: Any) -> str:
    """The tag's name without its namespace ("" for comments and processing instructions)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < 4096:  # a file with endless tag names cannot grow the cache without bound
            _LOCAL_NAMES[tag] = name
    return name


def _child(element: etree._Element, *path: str) -> etree._Element | None:
    for name in path:
        found = None
        for child in element:
            if _local(child.tag) == name:
                found = child
                break
        if found is None:
            return None
        element = found
    return element


def _text(element: etree._Element, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _stripped(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child.tag) == name]


def _row(element: etree._Element) -> int | None:
    """The physical line of `element` in the file."""
    line = element.sourceline
    return line if isinstance(line, int) else None


_INT64 = 1 << 63


def _cents(text: str) -> int:
    whole, _, fraction = text.partition(".")
    if len(fraction) == 2 and len(whole) < 17 and text.isascii() and whole.isdigit() and fraction.isdigit():
        return int(whole) * 100 + int(fraction)  # the usual "1234.50", without a Decimal
    try:
        cents = to_cents(Decimal(text))
    except (InvalidOperation, NotCents):
        raise ValueError(N_("not an amount with at most two decimals: {text!r}").format(text=text)) from None
    if not -_INT64 < cents < _INT64:
        raise ValueError(N_("amount too large for 64-bit cents: {text!r}").format(text=text))
    return cents


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(N_("not a date (expected yyyy-mm-dd): {text!r}").format(text=text)) from None


def _balance(element: etree._Element, prefix: str) -> int | None:
    """Debit minus credit balance (``OpeningDebitBalance`` …) in cents; None when neither is given."""
    debit, credit = _text(element, f"{prefix}DebitBalance"), _text(element, f"{prefix}CreditBalance")
    if not debit and not credit:
        return None
    return (_cents(debit) if debit else 0) - (_cents(credit) if credit else 0)


def _side(side: etree._Element) -> tuple[str, str, str, str]:
    """``Amount``, ``CurrencyCode``, ``CurrencyAmount`` and ``ExchangeRate`` of a Debit/CreditAmount."""
    amount = currency = foreign = rate = None
    for child in side:
        name = _local(child.tag)
        if name == "Amount":
            amount = child if amount is None else amount
        elif name == "CurrencyCode":
            currency = child if currency is None else currency
        elif name == "CurrencyAmount":
            foreign = child if foreign is None else foreign
        elif name == "ExchangeRate":
            rate = child if rate is None else rate
    return _stripped(amount), _stripped(currency), _stripped(foreign), _stripped(rate)


def _tax(tax: etree._Element) -> tuple[str, dict[str, etree._Element]]:
    """``TaxCode`` of a ``TaxInformation`` and its first ``DebitTaxAmount``, ``CreditTaxAmount``, ``TaxAmount``."""
    code = None
    amounts: dict[str, etree._Element] = {}
    for child in tax:
        name = _local(child.tag)
        if name == "TaxCode":
            code = child if code is None else code
        elif name in _TAX_AMOUNTS:
            amounts.setdefault(name, child)
    return _stripped(code), amounts


_TAX_AMOUNTS = ("DebitTaxAmount", "CreditTaxAmount", "TaxAmount")


class SaftReader:
    name = "saft"
    extensions = (".xml",)

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = source.head(4096)
        if b"AuditFile" not in head:
            return 0.0
        if NAMESPACE in head:
            return 0.95
        return 0.6 if b"urn:OECD:StandardAuditFile-Taxation/2.0" in head else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        try:
            return _read_fast(_Read(source, options))
        except _NotPlain:
            return _Read(source, options).ledger()


class _Sparse:
    """A column that few lines fill: positions and values, spread into a whole column once built."""

    __slots__ = ("positions", "values")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.values: list[Any] = []

    def add(self, position: int, value: Any) -> None:
        self.positions.append(position)
        self.values.append(value)

    def column(self, blank: pa.Array, default: Any) -> pa.Array:
        """The whole column: `blank` (of the batch's size and type) with the values set, or `blank` itself."""
        if not self.positions:
            return blank  # one array shared by every column left blank in the batch
        values = [default] * len(blank)
        for position, value in zip(self.positions, self.values, strict=True):
            values[position] = value
        return pa.array(values, blank.type)


class _Batch:
    """Up to CHUNK lines as column lists, with their transactions' fields once per transaction."""

    def __init__(self) -> None:
        self.keys: list[str] = []  # entry ids as read (repeated TransactionIDs are numbered at the end)
        self.docs: list[str] = []
        self.dates: list[dt.date] = []
        self.journals: list[str] = []
        self.openings: list[bool] = []
        self.texts: list[str] = []
        self.owner: list[int] = []  # per line: its transaction's index in the lists above
        self.numbers: list[int] = []
        self.accounts: list[str] = []
        self.amounts: list[int] = []
        self.rows: list[int | None] = []
        self.descriptions: list[str] = []
        self.partner, self.cost_centre = _Sparse(), _Sparse()
        self.currency, self.amount_currency, self.rate = _Sparse(), _Sparse(), _Sparse()
        self.vat_code, self.vat_amount, self.vat_line = _Sparse(), _Sparse(), _Sparse()

    def transaction(self, key: str, doc: str, day: dt.date, journal: str, opening: bool, text: str) -> int:
        self.keys.append(key)
        self.docs.append(doc)
        self.dates.append(day)
        self.journals.append(journal)
        self.openings.append(opening)
        self.texts.append(text)
        return len(self.keys) - 1

    def table(self, file: str, full: bool) -> tuple[pa.Table, pa.Array, pa.Array]:
        """The batch's `lines` table, its transactions' entry ids and each line's transaction."""
        size = len(self.amounts)
        owner = pa.array(self.owner, pa.int32())
        keys = pa.array(self.keys, pa.string())
        empty, nothing = pa.repeat(pa.scalar("", pa.string()), size), pa.nulls(size, pa.int64())
        description, doc, journal, rows = empty, empty, empty, nothing
        if full:
            own = pa.array(self.descriptions, pa.string())
            description = pc.if_else(pc.equal(own, ""), pa.array(self.texts, pa.string()).take(owner), own)
            doc = pa.array(self.docs, pa.string()).take(owner)
            journal = pa.array(self.journals, pa.string()).take(owner)
            rows = pa.array(self.rows, pa.int64())
        columns = {
            "entry": keys.take(owner),
            "line": pa.array(self.numbers, pa.int32()),
            "date": pa.array(self.dates, pa.date32()).take(owner),
            "doc": doc,
            "description": description,
            "account": pa.array(self.accounts, pa.string()),
            "amount": pa.array(self.amounts, pa.int64()),
            "currency": self.currency.column(empty, ""),
            "amount_currency": self.amount_currency.column(nothing, None),
            "rate": self.rate.column(empty, ""),
            "vat_code": self.vat_code.column(empty, ""),
            "vat_amount": self.vat_amount.column(nothing, None),
            "vat_line": self.vat_line.column(pa.repeat(pa.scalar(False), size), False),
            "partner": self.partner.column(empty, ""),
            "cost_centre": self.cost_centre.column(empty, ""),
            "journal": journal,
            "opening": pa.array(self.openings, pa.bool_()).take(owner),
            "source_file": pa.repeat(pa.scalar(file, pa.string()), size) if full else empty,
            "source_row": rows,
        }
        return pa.Table.from_arrays([columns[f.name] for f in LINES], schema=LINES), keys, owner


class _Read:
    """One pass over the file; each master record and transaction is dropped once read.

    Lines are gathered in a `_Batch` and become Arrow columns every CHUNK lines, so no Python object
    per line outlives its batch. A read for verification skips what verification does not compare
    (descriptions, vouchers, journals, partners, cost centres, foreign amounts, source files and rows).
    """

    def __init__(self, source: Source, options: ReadOptions) -> None:
        self.source = source
        self.file = source.name
        self.full = not options.for_verification
        self.problems: list[Problem] = []
        self.company = Company()
        self.selection: tuple[dt.date | None, dt.date | None] = (None, None)
        self.accounts: list[dict[str, Any]] = []
        self.balances: dict[str, tuple[int | None, int | None, int]] = {}
        self.partners: dict[str, dict[str, Any]] = {}
        self.vat_codes: list[dict[str, Any]] = []
        self.batch = _Batch()
        self.chunks: list[tuple[pa.Table, pa.Array, pa.Array]] = []  # from `_Batch.table`
        self.movements: dict[str, int] = {}
        self.debit = self.credit = 0
        self.first_day: dt.date | None = None
        self.stated: dict[str, str] = {}
        self.journal = ""
        self.transactions = 0
        self.dropped_analyses = 0
        self.dropped_taxes = 0

    def problem(self, message: str, row: int | None, severity: str = "error") -> None:
        self.problems.append(Problem(severity, message, self.file, row))  # type: ignore[arg-type]

    def ledger(self) -> Ledger:
        seen_root = False
        # the tag filter runs inside lxml: only the elements read below come back to Python
        for _, element in iterparse(self.source.path, self.file, events=("end",), tag=_TAGS):
            name = _local(element.tag)
            parent = element.getparent()
            if parent is None:
                seen_root = name == "AuditFile"
                continue
            handler = _HANDLERS.get((_local(parent.tag), name))
            if handler is None:
                continue
            _apply(self, handler, element, parent, name)
        if not seen_root:
            raise SourceError(N_("not a SAF-T file: the root element is not AuditFile"), self.file)
        return self._finish()

    # ----------------------------------------------------------------------------------- records

    def header(self, element: etree._Element) -> None:
        company = _child(element, "Company")
        name = vat = address = ""
        if company is not None:
            name = _text(company, "Name")
            vat = _text(company, "TaxRegistration", "TaxRegistrationNumber") or _text(company, "RegistrationNumber")
            vat = "" if vat == "NA" else vat  # "NA": Skatteetaten's value for an unknown mandatory field
            place = _child(company, "Address")
            if place is not None:
                address = _address_text(place)
        criteria = _child(element, "SelectionCriteria")
        if criteria is not None:
            self.selection = _selection(criteria)
        software = " ".join(t for t in (_text(element, "SoftwareCompanyName"), _text(element, "SoftwareID")) if t)
        self.company = Company(
            name=name,
            base_currency=_text(element, "DefaultCurrencyCode") or "NOK",
            vat_number=vat,
            address=address,
            source_system=f"SAF-T {_text(element, 'AuditFileVersion')} from {software}".strip(),
            source_version=_text(element, "SoftwareVersion"),
        )

    def account(self, element: etree._Element) -> None:
        code = _text(element, "AccountID")
        if not code:
            raise ValueError("account without AccountID")
        category = _text(element, "GroupingCategory")
        account_type = category_types().get(category, "")
        if not category:
            account_type = _STANDARD_ACCOUNT_TYPES.get(_text(element, "StandardAccountID")[:1], "")
        self.accounts.append({"code": code, "name": _text(element, "AccountDescription"), "type": account_type,
                              "active": True})  # fmt: skip
        self.balances[code] = (_balance(element, "Opening"), _balance(element, "Closing"), _row(element) or 0)

    def party(self, element: etree._Element) -> None:
        kind = "customer" if _local(element.tag) == "Customer" else "supplier"
        pid = _text(element, "CustomerID" if kind == "customer" else "SupplierID")
        if not pid:
            raise ValueError(N_("{kind} without an id").format(kind=kind))
        account = _text(element, "BalanceAccount", "AccountID") or _text(element, "AccountID")
        place = _child(element, "Address")
        person = _child(element, "Contact", "ContactPerson")
        contact = ""
        if person is not None:
            contact = " ".join(n for n in (_text(person, "FirstName"), _text(person, "LastName")) if n and n != "NA")
        days = _text(element, "PartyInfo", "PaymentTerms", "Days")
        row = {
            "id": pid, "roles": kind, "name": _text(element, "Name"),
            "street": _text(place, "StreetName") if place is not None else "",
            "building_number": _text(place, "Number") if place is not None else "",
            "zip": _text(place, "PostalCode") if place is not None else "",
            "city": _text(place, "City") if place is not None else "",
            "country": _text(place, "Country") if place is not None else "",
            "contact": contact, "email": _text(element, "Contact", "Email"),
            "phone": _text(element, "Contact", "Telephone"),
            "vat_number": _text(element, "TaxRegistration", "TaxRegistrationNumber"),
            "iban": _text(element, "BankAccount", "IBANNumber"),
            "payment_terms": int(days) if days.isdigit() else None, "account": account,
        }  # fmt: skip
        known = self.partners.get(pid)
        if known is None:
            self.partners[pid] = row
        elif known["roles"] != kind:
            known["roles"] = "both"
            if known["name"] != row["name"]:
                self.problem(N_("customer and supplier {pid} have different names; the customer's kept").format(pid=pid),
                             _row(element), "warning")  # fmt: skip
        else:
            self.problem(
                N_("{kind} {pid} is listed twice; the first kept").format(kind=kind, pid=pid), _row(element), "warning"
            )

    def tax_entry(self, element: etree._Element) -> None:
        for details in _children(element, "TaxCodeDetails"):
            code = _text(details, "TaxCode")
            if not code:
                self.problem(N_("tax code without TaxCode"), _row(details))
                continue
            self.vat_codes.append({
                "code": code, "rate": parse_rate(_text(details, "TaxPercentage")),
                "kind": standard_kinds().get(_text(details, "StandardTaxCode"), ""),
                "valid_from": _date(_text(details, "EffectiveDate")),
                "valid_to": _date(_text(details, "ExpirationDate")),
                "description": _text(details, "Description"),
            })  # fmt: skip

    def journal_id(self, element: etree._Element) -> None:
        self.journal = (element.text or "").strip()

    def total(self, element: etree._Element) -> None:
        self.stated[_local(element.tag)] = (element.text or "").strip()

    def transaction(self, element: etree._Element) -> None:
        self.transactions += 1
        lines = []
        number = date = kind = description = None
        local = _LOCAL_NAMES.get
        for child in element:
            tag = child.tag
            name = local(tag) or _local(tag)
            if name == "Line":
                lines.append(child)
            elif name == "TransactionID":
                number = child if number is None else number
            elif name == "TransactionDate":
                date = child if date is None else date
            elif name == "TransactionType":
                kind = child if kind is None else kind
            elif name == "Description":
                description = child if description is None else description
        tid = _stripped(number)
        day = _date(_stripped(date))
        if day is None:
            raise ValueError(N_("transaction {tid}: no TransactionDate").format(tid=tid))
        opening = _stripped(kind).lower().startswith(_OPENING)
        text = _stripped(description) if self.full else ""
        batch = self.batch
        owner = batch.transaction(tid or f"{self.journal}#{self.transactions}", tid, day, self.journal, opening, text)
        first = len(batch.amounts)
        bases: list[tuple[int, str, int | None]] = []  # (line in the batch, VAT code, VAT amount)
        for line in lines:
            try:
                base = self._line(line, owner, len(batch.amounts) - first + 1)
            except ValueError as exc:
                self.problem(f"transaction {tid}: {exc}", _row(line))
                continue
            if base is not None:
                bases.append((len(batch.amounts) - 1, *base))
        if bases:
            self._vat_lines(first, bases)
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if len(batch.amounts) >= CHUNK:
            self._flush()

    def _line(self, line: etree._Element, owner: int, number: int) -> tuple[str, int | None] | None:
        """Add a ``Line`` to the batch (or raise ValueError); its VAT code and amount if it is a VAT base."""
        local = _LOCAL_NAMES.get
        account = debit = credit = description = customer = supplier = None
        analyses: list[etree._Element] = []
        taxes: list[etree._Element] = []
        for child in line:
            tag = child.tag
            name = local(tag) or _local(tag)
            if name == "AccountID":
                account = child if account is None else account
            elif name == "DebitAmount":
                debit = child if debit is None else debit
            elif name == "CreditAmount":
                credit = child if credit is None else credit
            elif name == "Description":
                description = child if description is None else description
            elif name == "TaxInformation":
                taxes.append(child)
            elif name == "Analysis":
                analyses.append(child)
            elif name == "CustomerID":
                customer = child if customer is None else customer
            elif name == "SupplierID":
                supplier = child if supplier is None else supplier
        code = (account.text or "").strip() if account is not None else ""
        if not code:
            raise ValueError("line without AccountID")
        side = debit if debit is not None else credit
        text = currency = foreign = rate = ""
        if side is not None:
            first = side[0] if len(side) == 1 else None
            if first is not None and local(first.tag) == "Amount":  # the usual side: an Amount alone
                text = (first.text or "").strip()
            else:
                text, currency, foreign, rate = _side(side)
        if not text:
            raise ValueError(N_("line on account {code} has neither DebitAmount nor CreditAmount").format(code=code))
        sign = 1 if debit is not None else -1
        amount = sign * _cents(text)
        foreign_cents = None
        if currency and foreign and currency != self.company.base_currency:
            foreign_cents = sign * _cents(foreign)
        cost_centre = ""
        if analyses and self.full:
            chosen = next((a for a in analyses if _text(a, "AnalysisType") == "A"), analyses[0])
            cost_centre = _text(chosen, "AnalysisID")
            self.dropped_analyses += len(analyses) - 1
        base = None
        if taxes:
            vat_code, vat_amounts = _tax(taxes[0])
            if vat_code:
                self.dropped_taxes += len(taxes) - 1
                vat = None
                for tag, tax_sign in (("DebitTaxAmount", 1), ("CreditTaxAmount", -1), ("TaxAmount", sign)):
                    found = vat_amounts.get(tag)
                    vat_text = _text(found, "Amount") if found is not None else ""
                    if vat_text:
                        vat = tax_sign * _cents(vat_text)
                        break
                base = (vat_code, vat)
        batch = self.batch  # nothing below raises: the line is added whole or not at all
        position = len(batch.amounts)
        batch.owner.append(owner)
        batch.numbers.append(number)
        batch.accounts.append(code)
        batch.amounts.append(amount)
        if self.full:
            batch.rows.append(_row(line))
            batch.descriptions.append(_stripped(description))
            partner = _stripped(customer) or _stripped(supplier)
            if partner:
                batch.partner.add(position, partner)
            if cost_centre:
                batch.cost_centre.add(position, cost_centre)
            if foreign_cents is not None:
                batch.amount_currency.add(position, foreign_cents)
                batch.rate.add(position, rate)
        if foreign_cents is not None:  # verification compares each line's currency
            batch.currency.add(position, currency)
        if base is not None:
            batch.vat_code.add(position, base[0])
            batch.vat_amount.add(position, base[1])
        return base

    def _vat_lines(self, first: int, bases: list[tuple[int, str, int | None]]) -> None:
        """Mark the lines from `first` on (one transaction) that book the VAT their base lines declare."""
        batch = self.batch
        if len(bases) == 1:  # the usual entry, one base line: its VAT is booked by the first other line of that amount
            base, code, vat = bases[0]
            if vat:
                amounts = batch.amounts
                for position in range(first, len(amounts)):
                    if amounts[position] == vat and position != base:
                        batch.vat_code.add(position, code)
                        batch.vat_line.add(position, True)
                        break
            return
        size = len(batch.amounts) - first
        codes: list[str] = [""] * size
        vats: list[int | None] = [None] * size
        tagged = [False] * size
        for position, code, vat in bases:
            codes[position - first], vats[position - first], tagged[position - first] = code, vat, True
        for offset, code in enumerate(vat_line_codes(batch.amounts[first:], codes, vats, tagged)):
            if code:
                batch.vat_code.add(first + offset, code)
                batch.vat_line.add(first + offset, True)

    def _flush(self) -> None:
        """Turn the batch into Arrow columns and add its lines to the balances and totals."""
        if not self.batch.keys:
            return
        lines, keys, owner = self.batch.table(self.file, self.full)
        self.batch = _Batch()
        self.chunks.append((lines, keys, owner))
        self.add_sums(lines)

    def add_sums(self, lines: pa.Table) -> None:
        """Add a batch's lines to the accounts' movements and the debit and credit totals."""
        accounts, amounts = lines.column("account"), lines.column("amount")
        if not len(amounts):
            return
        if pc.max(pc.abs(amounts)).as_py() * len(amounts) >= _INT64:  # Arrow's sums would wrap: add in Python
            for code, amount in zip(accounts.to_pylist(), amounts.to_pylist(), strict=True):
                self.movements[code] = self.movements.get(code, 0) + amount
                self.debit += max(amount, 0)
                self.credit += max(-amount, 0)
            return
        sums = pa.table({"account": accounts, "amount": amounts}).group_by("account", use_threads=False)
        sums = sums.aggregate([("amount", "sum")])
        for code, total in zip(sums.column("account").to_pylist(), sums.column("amount_sum").to_pylist(), strict=True):
            self.movements[code] = self.movements.get(code, 0) + total
        self.debit += pc.sum(pc.max_element_wise(amounts, 0)).as_py()
        self.credit -= pc.sum(pc.min_element_wise(amounts, 0)).as_py()

    def _entry_ids(self) -> str:
        """Number repeated entry ids in file order (the second T1 becomes T1#2); the opening entry's id."""
        keys = pa.chunked_array([k for _, k, _ in self.chunks], pa.string())
        if pc.count_distinct(keys).as_py() == len(keys):
            return "opening#2" if pc.any(pc.equal(keys, "opening")).as_py() else "opening"
        seen: dict[str, int] = {}
        chunks = []
        for lines, ids, owner in self.chunks:
            numbered = []
            for key in ids.to_pylist():
                seen[key] = seen.get(key, 0) + 1
                numbered.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
            entry = pa.array(numbered, pa.string()).take(owner)
            chunks.append((lines.set_column(LINES.get_field_index("entry"), LINES.field("entry"), entry), ids, owner))
        self.chunks = chunks
        count = seen.get("opening", 0) + 1
        return "opening" if count == 1 else f"opening#{count}"

    # ------------------------------------------------------------------------------------- finish

    def _finish(self) -> Ledger:
        self._flush()
        opening_id = self._entry_ids()
        self._check_totals()
        opening = self._opening_entry(opening_id)
        lines = pa.concat_tables([table("lines", opening), *(chunk for chunk, _, _ in self.chunks)])
        self.chunks = []
        accounts, notes = merge_accounts(table("accounts", self.accounts), lines, self.file)
        self.problems += notes
        if self.dropped_analyses:
            self.problem(N_("{dropped_analyses} further analysis codes on lines were left out (one cost centre per line is kept, AnalysisType A first)").format(dropped_analyses=self.dropped_analyses), None, "info")  # fmt: skip
        if self.dropped_taxes:
            self.problem(N_("{dropped_taxes} further TaxInformation elements on lines were left out (one VAT code per line is kept)").format(dropped_taxes=self.dropped_taxes), None, "info")  # fmt: skip
        start, end = self.selection
        company = self.company
        if start and end:
            company = Company(**{**company.__dict__, "fiscal_years": _years(start, end)})
        return Ledger(
            company=company,
            accounts=accounts,
            vat_codes=table("vat_codes", self.vat_codes),
            lines=lines,
            partners=table("partners", self.partners.values()),
            problems=tuple(self.problems),
            format="saft",
            encoding=_encoding(self.source.head(200)),
        )

    def _check_totals(self) -> None:
        try:
            self._compare_totals()
        except ValueError as exc:
            self.problem(f"GeneralLedgerEntries totals: {exc}", None, "warning")

    def _compare_totals(self) -> None:
        debit, credit = self.debit, self.credit
        read = {"NumberOfEntries": str(self.transactions), "TotalDebit": format_cents(debit),
                "TotalCredit": format_cents(credit)}  # fmt: skip
        for name, value in read.items():
            stated = self.stated.get(name)
            if stated is None:
                continue
            same = stated == value if name == "NumberOfEntries" else _cents(stated) == _cents(value)
            if not same:
                self.problem(N_("GeneralLedgerEntries states {name} {stated}, but the transactions read give {value}").format(name=name, stated=stated, value=value),
                             None, "warning")  # fmt: skip

    def _opening_entry(self, entry: str) -> list[dict[str, Any]]:
        """The opening entry made from the accounts' Opening balances (see the module docstring)."""
        movements = self.movements
        openings = {code: (o, where) for code, (o, _, where) in self.balances.items() if o}
        included = bool(openings) and all(
            self.balances[code][1] is not None and self.balances[code][1] == movements.get(code, 0) for code in openings
        )
        if included:
            self.problem(N_("the accounts' closing balances equal their transactions alone, so the opening balances "
                         "are already booked as transactions; no opening entry added"), None, "info")  # fmt: skip
        for code, (opening, closing, where) in self.balances.items():
            expected = (0 if included else opening or 0) + movements.get(code, 0)
            if closing is not None and closing != expected:
                self.problem(N_("account {code}: closing balance {format_cents} differs from opening balance plus transactions {format_cents_b}").format(code=code, format_cents=format_cents(closing), format_cents_b=format_cents(expected)), where, "warning")  # fmt: skip
        if not openings or included:
            return []
        day = self.selection[0] or self.first_day
        if day is None:
            self.problem(N_("opening balances without a selection period or any transaction to date them: left out"),
                         None)  # fmt: skip
            return []
        total = sum(o for o, _ in openings.values())
        if total:
            side = "debit" if total > 0 else "credit"
            self.problem(N_("the accounts' opening balances do not balance: {format_cents} more {side}").format(format_cents=format_cents(abs(total)), side=side),
                         None, "warning")  # fmt: skip
        return [
            {"entry": entry, "line": line, "date": day, "account": code, "amount": amount,
             "description": "Opening balance", "opening": True, "source_file": self.file, "source_row": where}
            for line, (code, (amount, where)) in enumerate(openings.items(), start=1)
        ]  # fmt: skip


_OPENING = OPENING_TYPE.lower()


def _address_text(place: etree._Element) -> str:
    street = " ".join(t for t in (_text(place, "StreetName"), _text(place, "Number")) if t)
    town = " ".join(t for t in (_text(place, "PostalCode"), _text(place, "City")) if t)
    return ", ".join(t for t in (street, town) if t)


def _selection(criteria: etree._Element) -> tuple[dt.date | None, dt.date | None]:
    start, end = _date(_text(criteria, "SelectionStartDate")), _date(_text(criteria, "SelectionEndDate"))
    if start and end:
        return start, end
    numbers = [_text(criteria, n) for n in ("PeriodStart", "PeriodStartYear", "PeriodEnd", "PeriodEndYear")]
    if not all(n.isdigit() for n in numbers):
        return None, None
    # Periods are months: period 1 is January (Skatteetaten's examples); 13+ are closing periods.
    first, first_year, last, last_year = (int(n) for n in numbers)
    first, last = min(max(first, 1), 12), min(max(last, 1), 12)
    after = dt.date(last_year + (last == 12), last % 12 + 1, 1)
    return dt.date(first_year, first, 1), after - dt.timedelta(days=1)


def _years(start: dt.date, end: dt.date) -> tuple[FiscalYear, ...]:
    """The selection period cut into years of twelve months from its start."""
    years = []
    while start <= end:
        try:
            following = start.replace(year=start.year + 1)
        except ValueError:  # 29 February
            following = start.replace(year=start.year + 1, day=28)
        years.append(FiscalYear(start, min(end, following - dt.timedelta(days=1))))
        start = following
    return tuple(years)


def _encoding(head: bytes) -> str:
    match = _ENCODING.search(head)
    return match.group(1).decode("ascii").lower() if match else "utf-8"


# ------------------------------------------------------------------------------------- fast path
#
# Files of the plain shape migrator's writer gives (and any file laid out alike) are read without an
# lxml element per value. Runs of ``Transaction`` elements are cut into tags and texts with NumPy (the
# positions of ``<`` and ``>``), their tag sequence is checked against the plain shape by one regular
# expression, and the values are taken column by column with Arrow. Everything else (header, master
# files, totals, the nesting) goes through lxml's pull parser and `_HANDLERS` as before, each run of
# transactions replaced by as many line breaks, so rows, handlers and the well-formedness of the rest are
# lxml's own. Anything outside the plain shape (other elements, attributes, order, prefixes, comments,
# character references other than the five entities and &#9; &#10; &#13;, carriage returns, odd amounts
# or dates, a line the full reader would report) stops the fast path, and the full reader reads the file
# again from the start.


class _NotPlain(Exception):
    """The file leaves the plain shape: read it with the full reader."""


_HEAD = 1 << 16
_READ = 1 << 23
_TRANSACTION_OPEN, _TRANSACTION_CLOSE = b"<Transaction>", b"</Transaction>"
_LEAVES = {"TransactionID": "iI", "Period": "pP", "PeriodYear": "qQ", "TransactionDate": "dD",
           "TransactionType": "yY", "Description": "hH", "SystemEntryDate": "sS", "GLPostingDate": "gG",
           "RecordID": "rR", "AccountID": "aA", "AnalysisType": "kK", "AnalysisID": "jJ", "CustomerID": "cC",
           "SupplierID": "oO", "Amount": "mM", "CurrencyCode": "wW", "CurrencyAmount": "fF", "ExchangeRate": "zZ",
           "TaxType": "1!", "TaxCode": "2@", "TaxPercentage": "3#", "TaxBase": "4$"}  # fmt: skip
_NODES = {"Transaction": "()", "Line": "[]", "Analysis": "{}", "DebitAmount": "<>", "CreditAmount": "5%",
          "TaxInformation": "6^", "DebitTaxAmount": "7&", "CreditTaxAmount": "8*"}  # fmt: skip
_TOKENS = {f"<{name}>": pair[0] for name, pair in (_LEAVES | _NODES).items()} | {
    f"</{name}>": pair[1] for name, pair in (_LEAVES | _NODES).items()
}
"""One character per tag of the plain shape; any other tag is "?", which the shape refuses."""
_LEAF_STARTS = np.frombuffer("".join(pair[0] for pair in _LEAVES.values()).encode(), np.uint8)
_SIDE = rb"(?:mM(?:wWfF(?:zZ)?)?)"
_SHAPE = re.compile(
    rb"\(iI(?:pP)?(?:qQ)?dD(?:yY)?(?:hH)?(?:sS)?(?:gG)?"
    rb"(?:\[(?:rR)?aA(?:\{kKjJ\})?(?:cC|oO)?(?:hH)?(?:<" + _SIDE + rb">|5" + _SIDE + rb"%)"
    rb"(?:6(?:1!)?2@(?:3#)?(?:4\$)?(?:7mM&|8mM\*)\^)?\])+\)"
)
"""A transaction of the plain shape, as tag characters (`_TOKENS`)."""
_AMOUNT = re.compile(r"[0-9]{1,16}\.[0-9]{2}")  # what `_cents` reads without a Decimal
_ENTITIES = re.compile(r"(?:[^&]|&(?:amp|lt|gt|quot|apos|#9|#10|#13);)*", re.S)
_UNESCAPE = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&#9;", "\t"), ("&#10;", "\n"),
             ("&#13;", "\r"), ("&amp;", "&"))  # fmt: skip
_NOT_TEXT = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\r\\x{FFFE}\\x{FFFF}]|]]>"
"""What an element's text in a plain file never holds: characters XML refuses, a carriage return (XML
turns it into a line feed), "]]>" (refused in text)."""


def _column(values: Any) -> pa.Array:
    """Element texts (Arrow binary as in the file, null where absent) as lxml and `_stripped` give
    them: entities replaced, stripped; absent is ""."""
    try:
        column = values.cast(pa.large_string()).cast(pa.string())  # the cast checks UTF-8
    except pa.ArrowInvalid:
        raise _NotPlain from None
    column = column.fill_null("") if column.null_count else column
    if pc.any(pc.match_substring(column, "&")).as_py():
        texts = column.to_pylist()
        for index, text in enumerate(texts):
            if "&" in text:
                if not _ENTITIES.fullmatch(text):
                    raise _NotPlain
                for entity, char in _UNESCAPE:
                    text = text.replace(entity, char)
                texts[index] = text
        column = pa.array(texts, pa.string())
    return columns.strip(column)


def _read_fast(read: _Read) -> Ledger:
    """`read.ledger()` for a file of the plain shape; raises `_NotPlain` as soon as it is not one."""
    path = read.source.path
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD)
        check(head, read.file)
    except (OSError, SourceError):
        raise _NotPlain from None  # the full reader says what is wrong
    if _encoding(head[:200]) not in ("utf-8", "utf8") or head.startswith((b"\xef\xbb\xbf", b"\xff", b"\xfe")):
        raise _NotPlain
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)  # fmt: skip
    skeleton = _Skeleton(read, parser)
    plain = _Plain(read)
    line = 1  # the file's line at the start of `region`
    try:
        with path.open("rb") as handle:
            rest = b""
            while True:
                data = handle.read(_READ)
                region = rest + data
                if data:
                    cut = region.rfind(_TRANSACTION_CLOSE)
                    if cut >= 0:
                        cut += len(_TRANSACTION_CLOSE)
                    else:  # before a transaction that has not ended, else before a tag (no markup cut in two)
                        opened = region.find(_TRANSACTION_OPEN)
                        cut = opened if opened >= 0 else max(region.rfind(b"<"), 0)
                    rest, region = region[cut:], region[:cut]
                line = _region(skeleton, plain, region, line)
                if not data:
                    break
        parser.close()
        skeleton.drain()
    except (etree.LxmlError, OSError):
        raise _NotPlain from None
    plain.flush(everything=True)
    if not skeleton.seen_root:
        raise _NotPlain
    return read._finish()


class _Skeleton:
    """lxml's pull parser over everything but the runs of transactions, calling `_HANDLERS` as
    `_Read.ledger` does, and knowing the innermost open element."""

    def __init__(self, read: _Read, parser: etree.XMLPullParser) -> None:
        self.read, self.parser = read, parser
        self.open: list[str] = []
        self.elements: list[etree._Element] = []  # the open elements, innermost last
        self.seen_root = False
        self.fed = 0

    def feed(self, data: bytes) -> None:
        """Parse `data`, which holds no comment, CDATA, processing instruction or DOCTYPE after the XML
        declaration (a ``<Transaction>`` inside one is not a transaction) and no carriage return (lxml
        counts a lone one as a line break)."""
        declaration = re.match(rb"<\?xml[^>]*\?>", data) if not self.fed else None
        rest = data[declaration.end() :] if declaration else data
        if b"<!" in rest or b"<?" in rest or b"\r" in rest:
            raise _NotPlain
        self.fed += len(data)
        self.parser.feed(data)
        self.drain()

    def skip(self, breaks: int) -> None:
        """Line breaks in place of a run of transactions read apart (in a comment, taken out of the tree
        at once: as text they would add up to one text node past libxml2's 10 MB limit)."""
        if not breaks:
            return
        self.parser.feed(b"<!--" + b"\n" * breaks + b"-->")
        self.fed += breaks + 7
        self.drain()
        if self.elements:
            holder = self.elements[-1]
            for child in list(holder):
                if child.tag is etree.Comment:
                    holder.remove(child)

    def drain(self) -> None:
        read = self.read
        for event, item in self.parser.read_events():
            element = cast(etree._Element, item)
            name = _local(element.tag)
            if event == "start":
                self.open.append(name)
                self.elements.append(element)
                continue
            self.open.pop()
            self.elements.pop()
            parent = element.getparent()
            if parent is None:
                self.seen_root = name == "AuditFile"
                continue
            handler = _HANDLERS.get((_local(parent.tag), name))
            if handler is None:
                continue
            if handler is _Read.transaction or (handler is _Read.header and read.transactions):
                raise _NotPlain  # a header after transactions: their base currency was the default
            _apply(read, handler, element, parent, name)


def _apply(read: _Read, handler: Callable[[_Read, Any], None], element: Any, parent: Any, name: str) -> None:
    """`handler` on `element` (a ValueError is a problem on the element's row); then, for an element
    whose content is read, the element and the siblings before it let go."""
    try:
        handler(read, element)
    except ValueError as exc:
        read.problem(str(exc), _row(element))
    if name in _DROPPED:
        element.clear()
        while element.getprevious() is not None:
            del parent[0]


def _region(skeleton: _Skeleton, plain: _Plain, region: bytes, line: int) -> int:
    """Read a stretch of the file (cut after a ``</Transaction>``); the file's line after it. Runs of
    transactions end where a journal ends."""
    position = 0
    while True:
        first = region.find(_TRANSACTION_OPEN, position)
        if first < 0:
            break
        skeleton.feed(region[position:first])
        line += region.count(b"\n", position, first)
        if skeleton.open[-1:] != ["Journal"]:
            raise _NotPlain
        journal_end = region.find(b"</Journal>", first)
        last = region.rfind(_TRANSACTION_CLOSE, first, journal_end if journal_end >= 0 else len(region))
        if last < 0:
            raise _NotPlain
        end = last + len(_TRANSACTION_CLOSE)
        plain.run(region[first:end], line)
        breaks = region.count(b"\n", first, end)
        skeleton.skip(breaks)
        line += breaks
        position = end
    skeleton.feed(region[position:])
    return line + region.count(b"\n", position)


_LINE_START, _TRANSACTION_START = ord("["), ord("(")


class _Plain:
    """Runs of plain transactions read, as Arrow columns of raw texts, until they make a lines table
    (cut where `_Read.transaction` cuts its batches: after the transaction that brings one to CHUNK lines)."""

    def __init__(self, read: _Read) -> None:
        self.read = read
        self.transactions: list[pa.Table] = []
        self.lines: list[pa.Table] = []
        self.count = 0  # lines gathered

    def run(self, run: bytes, line: int) -> None:
        """Read a run of ``Transaction`` elements (whitespace between them) starting on the file's `line`."""
        raw = np.frombuffer(run, np.uint8)
        opens, closes = np.flatnonzero(raw == ord("<")), np.flatnonzero(raw == ord(">"))
        if len(opens) != len(closes) or not (opens < closes).all() or not (closes[:-1] < opens[1:]).all():
            raise _NotPlain  # a ">" in a text (lxml writes "&gt;"), or worse
        bounds = np.empty(2 * len(opens), np.int64)
        bounds[0::2], bounds[1::2] = opens, closes + 1
        pieces = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(bounds) - 1,
                                                  [None, pa.py_buffer(bounds), pa.py_buffer(run)])  # fmt: skip
        tags = pc.dictionary_encode(pieces.take(pa.array(np.arange(0, len(bounds) - 1, 2))))
        table = np.frombuffer(
            "".join(_TOKENS.get(tag, "?") for tag in tags.dictionary.cast(pa.large_string()).to_pylist()).encode(),
            np.uint8,
        )
        tokens = table[tags.indices.to_numpy(zero_copy_only=False)]
        if tokens[0] != _TRANSACTION_START:
            raise _NotPlain
        # each transaction's tags, checked once per distinct sequence
        cuts = np.r_[np.flatnonzero(tokens == _TRANSACTION_START), len(tokens)].astype(np.int64)
        shapes = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(cuts) - 1,
                                                  [None, pa.py_buffer(cuts), pa.py_buffer(tokens.tobytes())])  # fmt: skip
        for shape in pc.unique(shapes).to_pylist():
            if not _SHAPE.fullmatch(shape):
                raise _NotPlain
        leaf = np.isin(tokens[:-1], _LEAF_STARTS)  # the text after tag k is an element's value
        leaves = np.flatnonzero(leaf)
        try:  # piece 2k + 1 is the text after tag k
            values = pieces.take(pa.array(2 * leaves + 1)).cast(pa.large_string())  # the cast checks UTF-8
        except pa.ArrowInvalid:
            raise _NotPlain from None
        if pc.any(pc.match_substring_regex(values, _NOT_TEXT)).as_py():
            raise _NotPlain
        # between elements, nothing but spaces, tabs and line feeds
        other = (raw != ord(" ")) & (raw != ord("\t")) & (raw != ord("\n"))
        before = np.zeros(len(raw) + 1, np.int32 if len(raw) < 1 << 31 else np.int64)
        np.cumsum(other, out=before[1:])
        between = np.flatnonzero(~leaf)
        if (before[opens[between + 1]] != before[closes[between] + 1]).any():
            raise _NotPlain
        rank = np.full(len(tokens), -1, np.int64)
        rank[leaves] = np.arange(len(leaves))
        read = self.read
        transaction = np.cumsum(tokens == _TRANSACTION_START) - 1
        line_of = np.cumsum(tokens == _LINE_START) - 1
        in_line = line_of - (np.cumsum(tokens == ord("]")) - 1) > 0
        in_tax = np.cumsum(tokens == ord("6")) - np.cumsum(tokens == ord("^")) > 0
        count = int(transaction[-1]) + 1
        starts = np.flatnonzero(tokens == _LINE_START)
        lines = len(starts)

        def at(char: str, where: Any = None) -> np.ndarray:
            mask = tokens == ord(char)
            return np.flatnonzero(mask if where is None else mask & where)

        def field(positions: np.ndarray, owners: np.ndarray, size: int) -> pa.Array:
            """The texts of the leaves at `positions`, one per owner (null where an owner has none)."""
            index = np.full(size, -1, np.int64)
            index[owners[positions]] = rank[positions]
            return values.take(pa.array(index, mask=index < 0))

        numbers = np.arange(read.transactions + 1, read.transactions + count + 1)
        read.transactions += count
        self.transactions.append(pa.table({
            "id": field(at("i"), transaction, count), "date": field(at("d"), transaction, count),
            "kind": field(at("y"), transaction, count), "text": field(at("h", ~in_line), transaction, count),
            "journal": pa.repeat(pa.scalar(read.journal, pa.string()), count), "number": pa.array(numbers),
        }))  # fmt: skip
        side = np.zeros(lines, bool)
        side[line_of[at("<")]] = True
        tax_side = np.zeros(lines, bool)
        tax_side[line_of[at("7")]] = True
        rows = np.zeros(lines, np.int64)
        if read.full:
            breaks = np.flatnonzero(raw == ord("\n"))
            rows = line + np.searchsorted(breaks, opens[starts])
            # libxml2 keeps an element's line in 16 bits: from line 65535 on, lxml's sourceline is the
            # line of the element's first child (xmlGetLineNo in libxml2's tree.c), here the text after
            # <Line>, which ends where the next tag starts.
            rows = np.where(rows >= 65535, line + np.searchsorted(breaks, opens[starts + 1]), rows)
        self.lines.append(pa.table({
            "owner": pa.array(transaction[starts] + sum(len(t) for t in self.transactions[:-1])),
            "account": field(at("a"), line_of, lines), "debit": pa.array(side),
            "amount": field(at("m", ~in_tax), line_of, lines), "currency": field(at("w"), line_of, lines),
            "foreign": field(at("f"), line_of, lines), "rate": field(at("z"), line_of, lines),
            "code": field(at("2"), line_of, lines), "tax_debit": pa.array(tax_side),
            "tax": field(at("m", in_tax), line_of, lines), "centre": field(at("j"), line_of, lines),
            "customer": field(at("c"), line_of, lines), "supplier": field(at("o"), line_of, lines),
            "description": field(at("h", in_line), line_of, lines), "row": pa.array(rows, pa.int64()),
        }))  # fmt: skip
        self.count += lines
        if self.count >= CHUNK:
            self.flush()

    def flush(self, everything: bool = False) -> None:
        """Make lines tables of the transactions gathered (all of them with `everything`)."""
        read = self.read
        while self.transactions:
            if self.count < CHUNK and not everything:
                return
            heads = pa.concat_tables(self.transactions).combine_chunks()
            lines = pa.concat_tables(self.lines).combine_chunks()
            sizes = np.bincount(lines.column("owner").to_numpy(), minlength=heads.num_rows)
            total = np.cumsum(sizes)
            count = int(np.searchsorted(total, CHUNK)) + 1 if total[-1] >= CHUNK else heads.num_rows
            size = int(total[count - 1])
            self.transactions = [heads.slice(count)] if count < heads.num_rows else []
            rest = lines.slice(size)
            self.lines = (
                [rest.set_column(0, "owner", pc.subtract(rest.column("owner"), count))] if self.transactions else []
            )
            self.count = rest.num_rows
            chunk = _plain_table(read, heads.slice(0, count), lines.slice(0, size), sizes[:count])
            read.chunks.append(chunk)
            read.add_sums(chunk[0])


_DAYS: dict[str, dt.date] = {}


def _plain_cents(values: pa.Array) -> np.ndarray:
    """Cents of amounts written as digits, a point and two digits (else not plain)."""
    if not pc.all(pc.match_substring_regex(values, _AMOUNT.pattern.join("^$"))).as_py():
        raise _NotPlain
    return pc.cast(pc.replace_substring(values, ".", ""), pa.int64()).to_numpy(zero_copy_only=False)


def _plain_table(read: _Read, heads: pa.Table, lines: pa.Table, sizes: np.ndarray) -> tuple[pa.Table, pa.Array, pa.Array]:  # fmt: skip
    """`_Batch.table` of plain transactions."""
    ids = _column(heads.column("id").combine_chunks())
    numbers = heads.column("number").to_pylist()
    journals = heads.column("journal").to_pylist()
    keys = pa.array([own or f"{journal}#{number}" for own, journal, number in
                     zip(ids.to_pylist(), journals, numbers, strict=True)], pa.string())  # fmt: skip
    days = pc.dictionary_encode(_column(heads.column("date").combine_chunks()))
    distinct = []
    for written in days.dictionary.to_pylist():
        day = _DAYS.get(written)
        if day is None:
            try:
                day = dt.date.fromisoformat(written[:10])
            except ValueError:
                raise _NotPlain from None  # a problem, which the full reader reports
            if len(_DAYS) < 4096:
                _DAYS[written] = day
        distinct.append(day)
    if distinct and (read.first_day is None or min(distinct) < read.first_day):
        read.first_day = min(distinct)
    dates = pa.array(distinct, pa.date32()).take(days.indices)
    owner = pa.array(np.repeat(np.arange(len(sizes), dtype=np.int32), sizes), pa.int32())
    size = lines.num_rows

    def text(name: str) -> pa.Array:
        return _column(lines.column(name).combine_chunks())

    accounts = text("account")
    if size and not pc.all(pc.not_equal(accounts, "")).as_py():
        raise _NotPlain  # "line without AccountID"
    sign = np.where(lines.column("debit").to_numpy(), 1, -1)
    amount = lines.column("amount").combine_chunks()
    if amount.null_count:
        raise _NotPlain
    amounts = _plain_cents(amount.cast(pa.string())) * sign
    currencies = text("currency")
    foreign_mask = pc.and_(pc.and_(pc.not_equal(currencies, ""), pc.not_equal(text("foreign"), "")),
                           pc.not_equal(currencies, read.company.base_currency))  # fmt: skip
    foreign = foreign_mask.to_numpy(zero_copy_only=False)
    empty, nothing = pa.repeat(pa.scalar("", pa.string()), size), pa.nulls(size, pa.int64())
    currency = pc.if_else(foreign_mask, currencies, "") if foreign.any() else empty
    amount_currency, rate = nothing, empty
    if foreign.any():  # parsed for every read, as `_Read._line` does (an odd one is a problem there)
        chosen = np.flatnonzero(foreign)
        cents = np.zeros(size, np.int64)
        cents[chosen] = _plain_cents(lines.column("foreign").combine_chunks().take(chosen).cast(pa.string()))
        if read.full:
            amount_currency = pa.array(cents * sign, pa.int64(), mask=~foreign)
            rate = pc.if_else(foreign_mask, text("rate"), "")
    codes = text("code")
    base = pc.not_equal(codes, "").to_numpy(zero_copy_only=False)
    vat_code, vat_amount, vat_line = empty, nothing, pa.repeat(pa.scalar(False), size)
    if base.any():
        chosen = np.flatnonzero(base)
        tax = lines.column("tax").combine_chunks().take(chosen)
        if tax.null_count:
            raise _NotPlain  # a base without a tax amount: left to the full reader
        vats = np.zeros(size, np.int64)
        vats[chosen] = _plain_cents(tax.cast(pa.string())) * np.where(
            lines.column("tax_debit").to_numpy()[chosen], 1, -1
        )
        code_list = codes.to_pylist()
        booked = _plain_vat_lines(amounts, sizes, base, code_list, vats)
        vat_code = pa.array([code_list[i] if base[i] else booked.get(i, "") for i in range(size)], pa.string())
        vat_amount = pa.array(vats, pa.int64(), mask=~base)
        flags = np.zeros(size, bool)
        flags[list(booked)] = True
        vat_line = pa.array(flags, pa.bool_())
    first = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    number = (np.arange(size, dtype=np.int64) - np.repeat(first, sizes) + 1).astype(np.int32)
    kinds = pc.dictionary_encode(_column(heads.column("kind").combine_chunks()))
    opening = pa.array([kind.lower().startswith(_OPENING) for kind in kinds.dictionary.to_pylist()], pa.bool_())
    doc = journal = description = partner = cost_centre = empty
    rows = nothing
    if read.full:
        doc = ids.take(owner)
        journal = heads.column("journal").combine_chunks().take(owner)
        rows = lines.column("row").combine_chunks()
        own = text("description")
        description = pc.if_else(pc.equal(own, ""), _column(heads.column("text").combine_chunks()).take(owner), own)
        customers = text("customer")
        partner = pc.if_else(pc.not_equal(customers, ""), customers, text("supplier"))
        cost_centre = text("centre")
    built = {
        "entry": keys.take(owner), "line": pa.array(number, pa.int32()), "date": dates.take(owner), "doc": doc,
        "description": description, "account": accounts, "amount": pa.array(amounts, pa.int64()),
        "currency": currency, "amount_currency": amount_currency, "rate": rate, "vat_code": vat_code,
        "vat_amount": vat_amount, "vat_line": vat_line, "partner": partner, "cost_centre": cost_centre,
        "journal": journal, "opening": opening.take(kinds.indices).take(owner),
        "source_file": pa.repeat(pa.scalar(read.file, pa.string()), size) if read.full else empty,
        "source_row": rows,
    }  # fmt: skip
    return pa.Table.from_arrays([built[f.name] for f in LINES], schema=LINES), keys, owner


def _plain_vat_lines(amounts: np.ndarray, sizes: np.ndarray, base: np.ndarray, codes: list[str],
                     vats: np.ndarray) -> dict[int, str]:  # fmt: skip
    """The lines that book their transaction's VAT (position → code), as `_Read._vat_lines` finds them."""
    count = len(sizes)
    owner = np.repeat(np.arange(count), sizes)
    starts = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    bases = np.flatnonzero(base)
    per_transaction = np.bincount(owner[bases], minlength=count)
    found: dict[int, str] = {}
    # one base: the first other line of the transaction whose amount is the base's VAT
    single = bases[per_transaction[owner[bases]] == 1]
    single = single[vats[single] != 0]
    if len(single):
        vat_of = np.zeros(count, np.int64)
        base_of = np.full(count, -1, np.int64)
        vat_of[owner[single]] = vats[single]
        base_of[owner[single]] = single
        hit = (base_of[owner] >= 0) & (amounts == vat_of[owner]) & (np.arange(len(amounts)) != base_of[owner])
        hits = np.flatnonzero(hit)
        _, first = np.unique(owner[hits], return_index=True)
        for position in hits[first].tolist():
            found[position] = codes[int(base_of[owner[position]])]
    # several bases: `vat_line_codes`
    for transaction in np.flatnonzero(per_transaction > 1).tolist():
        a, b = int(starts[transaction]), int(starts[transaction + 1])
        tagged = base[a:b].tolist()
        line_codes = [code if is_base else "" for code, is_base in zip(codes[a:b], tagged, strict=True)]
        line_vats = [int(v) if is_base else None for v, is_base in zip(vats[a:b], tagged, strict=True)]
        for offset, code in enumerate(vat_line_codes(amounts[a:b].tolist(), line_codes, line_vats, tagged)):
            if code:
                found[a + offset] = code
    return found


_HANDLERS = {
    ("AuditFile", "Header"): _Read.header,
    ("GeneralLedgerAccounts", "Account"): _Read.account,
    ("Customers", "Customer"): _Read.party,
    ("Suppliers", "Supplier"): _Read.party,
    ("TaxTable", "TaxTableEntry"): _Read.tax_entry,
    ("Journal", "JournalID"): _Read.journal_id,
    ("Journal", "Transaction"): _Read.transaction,
    ("GeneralLedgerEntries", "NumberOfEntries"): _Read.total,
    ("GeneralLedgerEntries", "TotalDebit"): _Read.total,
    ("GeneralLedgerEntries", "TotalCredit"): _Read.total,
}
_DROPPED = frozenset(("Account", "Customer", "Supplier", "TaxTableEntry", "Transaction"))
_TAGS = tuple(f"{{*}}{name}" for name in sorted({"AuditFile", *(name for _, name in _HANDLERS)}))
"""What iterparse reports: the root and the elements `_HANDLERS` read, in any namespace."""

FORMAT = SaftReader
