"""SAF-T Financial, Norway: versions 1.30, 1.20 and 1.10, streamed with lxml's iterparse.

Elements are matched by local name, so any namespace (or none) reads the same; versions differ in
a few places that are all read: 1.20 customers and suppliers have ``AccountID`` and balances directly,
1.30 a ``BalanceAccount``; 1.20 lines have ``TaxAmount``, 1.30 ``DebitTaxAmount``/``CreditTaxAmount``.

* Accounts: ``GeneralLedgerAccounts``; the type comes from ``GroupingCategory`` (1.30, via
  ``mappings/saft-no/categories.csv``) or the first digit of ``StandardAccountID`` (1.20).
* Customers and suppliers become partners (an id in both lists is one partner of kind ``both``).
* ``TaxTable`` becomes ``vat_codes``; the kind comes from ``StandardTaxCode``
  (``mappings/saft-no/standard_kinds.csv``).
* Each ``Transaction`` is one entry; lines are debit positive, credit negative. The voucher is the
  ``TransactionID`` ("the number of the accounting document/voucher" in the XSD).
  ``TransactionType`` ``Opening`` marks an opening entry (migrator's own convention). A line with
  ``TaxInformation`` is a VAT base (``vat_code``, ``vat_amount``); a line without it whose amount
  equals the VAT its entry declares for a code is the line booking that VAT (``vat_line``), as in
  Skatteetaten's examples.
* Opening balances: the accounts' Opening balances are the balances at the start of the selection
  period, so they become one opening entry (``opening=True``) dated on that day, unless the file
  already books them as transactions: when, for every account with an opening balance, the closing
  balance equals the transactions alone, no entry is added (no double counting). Closing balances
  that differ from opening + transactions, and stated totals (``NumberOfEntries``, ``TotalDebit``,
  ``TotalCredit``) that differ from what was read, are warnings.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from lxml import etree

from migrator.errors import SourceError
from migrator.model import Company, FiscalYear, Ledger, Problem, table
from migrator.money import NotCents, format_cents, to_cents
from migrator.parsing import parse_rate
from migrator.readers.base import ReadOptions, merge_accounts
from migrator.sources import Source
from migrator.xmlsafe import iterparse

OPENING_TYPE = "Opening"
"""``TransactionType`` of opening entries written by migrator (not a value the standard defines)."""
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "saft-no"
CHUNK = 1 << 16
NAMESPACE = b"urn:StandardAuditFile-Taxation-Financial:NO"
_ENCODING = re.compile(rb"""encoding=["']([A-Za-z0-9_.:-]+)["']""")
_STANDARD_ACCOUNT_TYPES = {"1": "asset", "3": "income", "4": "expense", "5": "expense", "6": "expense",
                           "7": "expense", "8": "expense"}  # fmt: skip


def vat_line_codes(
    amounts: Sequence[int], codes: Sequence[str], vat_amounts: Sequence[int | None], tagged: Sequence[bool]
) -> list[str]:
    """For each line of one entry, the VAT code it books ("" for none): an untagged line whose amount
    equals the VAT declared for a code by the entry's tagged (base) lines.

    >>> vat_line_codes([-1000, -81, 1081], ["V81", "", ""], [-81, None, None], [True, False, False])
    ['', 'V81', '']
    """
    declared: dict[str, int] = {}
    for code, vat, is_base in zip(codes, vat_amounts, tagged, strict=True):
        if is_base and code and vat is not None:
            declared[code] = declared.get(code, 0) + vat
    found = [""] * len(amounts)
    for code, total in declared.items():
        if total == 0:
            continue
        for index, amount in enumerate(amounts):
            if not tagged[index] and not found[index] and amount == total:
                found[index] = code
                break
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


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


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


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child.tag) == name]


def _row(element: etree._Element) -> int | None:
    """The physical line of `element` in the file."""
    line = element.sourceline
    return line if isinstance(line, int) else None


def _cents(text: str) -> int:
    try:
        return to_cents(Decimal(text))
    except (InvalidOperation, NotCents):
        raise ValueError(f"not an amount with at most two decimals: {text!r}") from None


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"not a date (expected yyyy-mm-dd): {text!r}") from None


def _balance(element: etree._Element, prefix: str) -> int | None:
    """Debit minus credit balance (``OpeningDebitBalance`` …) in cents; None when neither is given."""
    debit, credit = _text(element, f"{prefix}DebitBalance"), _text(element, f"{prefix}CreditBalance")
    if not debit and not credit:
        return None
    return (_cents(debit) if debit else 0) - (_cents(credit) if credit else 0)


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
        return _Read(source).ledger()


class _Read:
    """One pass over the file; each master record and transaction is dropped once read."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.file = source.name
        self.problems: list[Problem] = []
        self.company = Company()
        self.selection: tuple[dt.date | None, dt.date | None] = (None, None)
        self.accounts: list[dict[str, Any]] = []
        self.balances: dict[str, tuple[int | None, int | None, int]] = {}
        self.partners: dict[str, dict[str, Any]] = {}
        self.vat_codes: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.chunks: list[pa.Table] = []
        self.movements: dict[str, int] = {}
        self.debit = self.credit = 0
        self.first_day: dt.date | None = None
        self.stated: dict[str, str] = {}
        self.journal = ""
        self.entry_ids: dict[str, int] = {}
        self.transactions = 0
        self.dropped_analyses = 0
        self.dropped_taxes = 0

    def problem(self, message: str, row: int | None, severity: str = "error") -> None:
        self.problems.append(Problem(severity, message, self.file, row))  # type: ignore[arg-type]

    def ledger(self) -> Ledger:
        seen_root = False
        for _, element in iterparse(self.source.path, self.file, events=("end",)):
            name = _local(element.tag)
            parent = element.getparent()
            within = _local(parent.tag) if parent is not None else ""
            if parent is None:
                seen_root = name == "AuditFile"
                continue
            handler = _HANDLERS.get((within, name))
            if handler is None:
                continue
            try:
                handler(self, element)
            except ValueError as exc:
                self.problem(str(exc), _row(element))
            if name in _DROPPED:
                element.clear()
                while element.getprevious() is not None:
                    del parent[0]
        if not seen_root:
            raise SourceError("not a SAF-T file: the root element is not AuditFile", self.file)
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
            raise ValueError(f"{kind} without an id")
        account = _text(element, "BalanceAccount", "AccountID") or _text(element, "AccountID")
        place = _child(element, "Address")
        person = _child(element, "Contact", "ContactPerson")
        contact = ""
        if person is not None:
            contact = " ".join(n for n in (_text(person, "FirstName"), _text(person, "LastName")) if n and n != "NA")
        days = _text(element, "PartyInfo", "PaymentTerms", "Days")
        row = {
            "id": pid, "kind": kind, "name": _text(element, "Name"),
            "street": " ".join(t for t in (_text(place, "StreetName"), _text(place, "Number")) if t) if place is not None else "",
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
        elif known["kind"] != kind:
            known["kind"] = "both"
            if known["name"] != row["name"]:
                self.problem(f"customer and supplier {pid} have different names; the customer's kept",
                             _row(element), "warning")  # fmt: skip
        else:
            self.problem(f"{kind} {pid} is listed twice; the first kept", _row(element), "warning")

    def tax_entry(self, element: etree._Element) -> None:
        for details in _children(element, "TaxCodeDetails"):
            code = _text(details, "TaxCode")
            if not code:
                self.problem("tax code without TaxCode", _row(details))
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
        tid = _text(element, "TransactionID")
        day = _date(_text(element, "TransactionDate"))
        if day is None:
            raise ValueError(f"transaction {tid}: no TransactionDate")
        entry = self._entry_id(tid or f"{self.journal}#{self.transactions}")
        opening = _text(element, "TransactionType").lower().startswith(OPENING_TYPE.lower())
        text = _text(element, "Description")
        rows: list[dict[str, Any]] = []
        tagged: list[bool] = []
        for line in _children(element, "Line"):
            try:
                row, is_base = self._line(line)
            except ValueError as exc:
                self.problem(f"transaction {tid}: {exc}", _row(line))
                continue
            row.update(entry=entry, date=day, journal=self.journal, opening=opening, source_file=self.file)
            row["doc"] = tid
            row["description"] = row["description"] or text
            rows.append(row)
            tagged.append(is_base)
        found = vat_line_codes([r["amount"] for r in rows], [r["vat_code"] for r in rows],
                               [r["vat_amount"] for r in rows], tagged)  # fmt: skip
        for row, code in zip(rows, found, strict=True):
            if code:
                row.update(vat_code=code, vat_line=True)
        for position, row in enumerate(rows, start=1):
            row["line"] = position
            self.movements[row["account"]] = self.movements.get(row["account"], 0) + row["amount"]
            self.debit += max(row["amount"], 0)
            self.credit += max(-row["amount"], 0)
        self.first_day = min(day, self.first_day or day)
        self.pending.extend(rows)
        if len(self.pending) >= CHUNK:  # Arrow columns take far less memory than row dicts
            self.chunks.append(table("lines", self.pending))
            self.pending = []

    def _entry_id(self, tid: str) -> str:
        count = self.entry_ids.get(tid, 0) + 1
        self.entry_ids[tid] = count
        return tid if count == 1 else f"{tid}#{count}"

    def _line(self, line: etree._Element) -> tuple[dict[str, Any], bool]:
        account = _text(line, "AccountID")
        if not account:
            raise ValueError("line without AccountID")
        debit, credit = _child(line, "DebitAmount"), _child(line, "CreditAmount")
        side = debit if debit is not None else credit
        if side is None or not _text(side, "Amount"):
            raise ValueError(f"line on account {account} has neither DebitAmount nor CreditAmount")
        sign = 1 if debit is not None else -1
        row: dict[str, Any] = {"account": account, "amount": sign * _cents(_text(side, "Amount")),
                               "source_row": _row(line)}  # fmt: skip
        currency = _text(side, "CurrencyCode")
        foreign = _text(side, "CurrencyAmount")
        if currency and foreign and currency != self.company.base_currency:
            row.update(currency=currency, amount_currency=sign * _cents(foreign), rate=_text(side, "ExchangeRate"))
        analyses = _children(line, "Analysis")
        if analyses:
            chosen = next((a for a in analyses if _text(a, "AnalysisType") == "A"), analyses[0])
            row["cost_centre"] = _text(chosen, "AnalysisID")
            self.dropped_analyses += len(analyses) - 1
        row["partner"] = _text(line, "CustomerID") or _text(line, "SupplierID")
        row["description"] = _text(line, "Description")
        taxes = _children(line, "TaxInformation")
        if not taxes or not _text(taxes[0], "TaxCode"):
            row.update(vat_code="", vat_amount=None)
            return row, False
        self.dropped_taxes += len(taxes) - 1
        tax = taxes[0]
        vat: int | None = None
        for tag, tax_sign in (("DebitTaxAmount", 1), ("CreditTaxAmount", -1), ("TaxAmount", sign)):
            amount = _text(tax, tag, "Amount")
            if amount:
                vat = tax_sign * _cents(amount)
                break
        row.update(vat_code=_text(tax, "TaxCode"), vat_amount=vat)
        return row, True

    # ------------------------------------------------------------------------------------- finish

    def _finish(self) -> Ledger:
        self._check_totals()
        opening = self._opening_entry()
        lines = pa.concat_tables([table("lines", opening), *self.chunks, table("lines", self.pending)])
        accounts, notes = merge_accounts(table("accounts", self.accounts), lines, self.file)
        self.problems += notes
        if self.dropped_analyses:
            self.problem(f"{self.dropped_analyses} further analysis codes on lines were left out (one cost centre "
                         "per line is kept, AnalysisType A first)", None, "info")  # fmt: skip
        if self.dropped_taxes:
            self.problem(f"{self.dropped_taxes} further TaxInformation elements on lines were left out (one VAT "
                         "code per line is kept)", None, "info")  # fmt: skip
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
                self.problem(f"GeneralLedgerEntries states {name} {stated}, but the transactions read give {value}",
                             None, "warning")  # fmt: skip

    def _opening_entry(self) -> list[dict[str, Any]]:
        """The opening entry made from the accounts' Opening balances (see the module docstring)."""
        movements = self.movements
        openings = {code: (o, where) for code, (o, _, where) in self.balances.items() if o}
        included = bool(openings) and all(
            self.balances[code][1] is not None and self.balances[code][1] == movements.get(code, 0) for code in openings
        )
        if included:
            self.problem("the accounts' closing balances equal their transactions alone, so the opening balances "
                         "are already booked as transactions; no opening entry added", None, "info")  # fmt: skip
        for code, (opening, closing, where) in self.balances.items():
            expected = (0 if included else opening or 0) + movements.get(code, 0)
            if closing is not None and closing != expected:
                self.problem(f"account {code}: closing balance {format_cents(closing)} differs from opening balance "
                             f"plus transactions {format_cents(expected)}", where, "warning")  # fmt: skip
        if not openings or included:
            return []
        day = self.selection[0] or self.first_day
        if day is None:
            self.problem("opening balances without a selection period or any transaction to date them: left out",
                         None)  # fmt: skip
            return []
        total = sum(o for o, _ in openings.values())
        if total:
            side = "debit" if total > 0 else "credit"
            self.problem(f"the accounts' opening balances do not balance: {format_cents(abs(total))} more {side}",
                         None, "warning")  # fmt: skip
        entry = self._entry_id("opening")
        return [
            {"entry": entry, "line": line, "date": day, "account": code, "amount": amount,
             "description": "Opening balance", "opening": True, "source_file": self.file, "source_row": where}
            for line, (code, (amount, where)) in enumerate(openings.items(), start=1)
        ]  # fmt: skip


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

FORMAT = SaftReader
