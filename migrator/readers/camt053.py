"""ISO 20022 camt.053 bank-to-customer statements (Swiss Payment Standards: camt.053.001.08; also .04).

Each booked entry (``Ntry`` with status BOOK) becomes one entry: a line on the bank account (code
= the statement account's IBAN, or its other id) signed by ``CdtDbtInd`` (CRDT = money in = debit
of the bank account, positive), and the opposite line(s) on the clearing account ``1099``
"Compte d'attente / Transitorisches Konto", where a bookkeeper assigns them during
reconciliation. A batch entry whose transaction details (``TxDtls``) carry amounts adding up to the
entry gets one clearing line per transaction. Date = booking date (``BookgDt``), voucher = the
structured creditor reference (QR/SCOR), else the end-to-end id, else the bank's reference;
description = counterparty name and remittance information.

Opening and closing booked balances (``OPBD``/``PRCD`` and ``CLBD``) are checked: opening plus the
booked entries must give the closing balance, else an error. Entries not booked (PDNG, INFO) are
left out with a note, since they do not move the balance. Facts: ISO 20022 camt.053 message
definition (XSDs in reference/camt053/), Swiss Payment Standards camt implementation guidelines.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from migrator import xmlsafe
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, table
from migrator.money import NotCents, format_cents, to_cents
from migrator.readers.base import ReadOptions, Rows
from migrator.sources import Source

CLEARING = "1099"
CLEARING_NAME = "Compte d'attente / Transitorisches Konto"
_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d)")
KNOWN_VERSIONS = ("04", "08")
# ISODate and ISODateTime are xs:date and xs:dateTime (camt.053.001.08 XSD): a time-zone offset or Z may follow
_ZONE = r"(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?"
_ISO_DATE = re.compile(r"(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)" + _ZONE)
_ISO_DATETIME = re.compile(r"(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
                           + _ZONE)  # fmt: skip


class Camt053Reader:
    name = "camt053"
    extensions = (".xml",)

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        match = _NAMESPACE.search(source.head(8192))
        if not match:
            return 0.0
        return 0.95 if match.group(1).decode() in KNOWN_VERSIONS else 0.7

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        root = xmlsafe.parse(source.path, source.name)
        match = re.match(r"\{(urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d))\}Document$", str(root.tag))
        if not match:
            raise SourceError(N_("not a camt.053 statement (root is not a camt.053 Document)"), source.name)
        statement = _Statement(root, match.group(1), source.name)
        rows = Rows(source.name)
        if match.group(2) not in KNOWN_VERSIONS:
            rows.problem(None, N_("camt.053.001.{group}: read like .04/.08 (the versions this reader knows)").format(group=match.group(2)),
                         "warning")  # fmt: skip
        accounts: dict[str, dict[str, Any]] = {}
        base = ""
        for stmt in statement.all("BkToCstmrStmt/Stmt"):
            base = statement.read(stmt, rows, accounts, base)
        accounts[CLEARING] = {"code": CLEARING, "name": CLEARING_NAME, "type": "asset", "active": True}
        company = Company(name=statement.text(root, "BkToCstmrStmt/Stmt/Acct/Ownr/Nm"), base_currency=base or "CHF",
                          source_system=f"ISO 20022 camt.053.001.{match.group(2)}")  # fmt: skip
        return Ledger(company=company, accounts=table("accounts", accounts.values()), lines=rows.lines(),
                      problems=tuple(rows.problems), format=self.name, encoding="utf-8")  # fmt: skip


def _line(node: etree._Element) -> int | None:
    """The element's line in the file, for messages."""
    line = node.sourceline
    return line if isinstance(line, int) else None


class _Statement:
    """Namespace-aware look-ups and the reading of one ``Stmt``."""

    def __init__(self, root: etree._Element, namespace: str, file: str) -> None:
        self.ns = {"c": namespace}
        self.root = root
        self.file = file
        self.entries = 0

    def _path(self, path: str) -> str:
        return "/".join(f"c:{part}" for part in path.split("/"))

    def all(self, path: str, node: etree._Element | None = None) -> list[etree._Element]:
        return (self.root if node is None else node).findall(self._path(path), self.ns)

    def find(self, node: etree._Element, path: str) -> etree._Element | None:
        return node.find(self._path(path), self.ns)

    def text(self, node: etree._Element, path: str) -> str:
        found = self.find(node, path)
        return " ".join((found.text or "").split()) if found is not None else ""

    def amount(self, node: etree._Element, rows: Rows, what: str) -> tuple[int, str] | None:
        """Signed cents and currency of ``Amt``/``CdtDbtInd`` under `node` (credit positive), or None."""
        found = self.find(node, "Amt")
        sign = self.text(node, "CdtDbtInd")
        if found is None or sign not in ("CRDT", "DBIT"):
            rows.problem(_line(node), N_("{what} without amount or credit/debit indicator").format(what=what))
            return None
        try:
            cents = to_cents(Decimal((found.text or "").strip()))
        except (InvalidOperation, NotCents) as exc:
            rows.problem(
                _line(node),
                N_("{what}: amount {text!r} is not exact cents ({exc})").format(what=what, text=found.text, exc=exc),
            )
            return None
        return (cents if sign == "CRDT" else -cents), found.get("Ccy", "")

    def date(self, node: etree._Element, path: str, rows: Rows) -> dt.date | None:
        """The calendar day of ``Dt`` (ISODate) or ``DtTm`` (ISODateTime) under `path`, as the bank wrote it.

        Both are XML Schema dates that may carry a time-zone offset (``2017-04-01+02:00``,
        ``2017-04-01T10:00:00Z``): the day is the one written, in the bank's own zone, not moved to UTC.
        """
        found = self.find(node, f"{path}/Dt")
        kind, pattern = ("Dt", _ISO_DATE) if found is not None else ("DtTm", _ISO_DATETIME)
        value = self.text(node, f"{path}/{kind}")
        if not value:
            return None
        match = pattern.fullmatch(value)
        try:
            if match is None:
                raise ValueError(N_("not an ISO 8601 date"))
            return dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            expected = "YYYY-MM-DD" if kind == "Dt" else "YYYY-MM-DDThh:mm:ss"
            rows.problem(_line(node), N_("{path}/{kind} {value!r} is not a date ({expected}, with an optional time-zone offset such as +02:00 or Z)").format(path=path, kind=kind, value=value, expected=expected), "warning")  # fmt: skip
            return None

    def read(self, stmt: etree._Element, rows: Rows, accounts: dict[str, dict[str, Any]], base: str) -> str:
        acct = self.find(stmt, "Acct")
        code = self.text(stmt, "Acct/Id/IBAN") or self.text(stmt, "Acct/Id/Othr/Id")
        if acct is None or not code:
            rows.problem(_line(stmt), N_("statement without account IBAN or id: its entries are left out"))
            return base
        currency = self.text(stmt, "Acct/Ccy")
        label = self.text(stmt, "Acct/Nm") or self.text(stmt, "Acct/Svcr/FinInstnId/Nm") or "Bank"
        accounts.setdefault(code, {"code": code, "name": f"{label} {code}", "type": "asset", "active": True,
                                   "currency": ""})  # fmt: skip
        opening, closing = self._balances(stmt, rows)
        total = 0
        for entry in self.all("Ntry", stmt):
            moved = self._entry(entry, code, currency, base, rows)
            if moved is not None:
                total += moved
                base = base or currency or self._currency(entry)
        statement_id = self.text(stmt, "Id")
        if opening is not None and closing is not None:
            message = (N_("statement {statement_id} ({code}): opening {format_cents} + entries {format_cents_b} = {format_cents_c}").format(statement_id=statement_id, code=code, format_cents=format_cents(opening), format_cents_b=format_cents(total), format_cents_c=format_cents(opening + total)))  # fmt: skip
            if opening + total != closing:
                rows.problem(
                    _line(stmt),
                    N_("{message}, but the closing balance is {format_cents}").format(
                        message=message, format_cents=format_cents(closing)
                    ),
                )
            else:
                rows.problem(_line(stmt), N_("{message}, the closing balance: checked").format(message=message), "info")
        else:
            rows.problem(_line(stmt), N_("statement {statement_id}: no opening and closing booked balance (OPBD/PRCD, CLBD) to check the entries against").format(statement_id=statement_id), "warning")  # fmt: skip
        return base or currency

    def _currency(self, entry: etree._Element) -> str:
        found = self.find(entry, "Amt")
        return found.get("Ccy", "") if found is not None else ""

    def _balances(self, stmt: etree._Element, rows: Rows) -> tuple[int | None, int | None]:
        found: dict[str, int] = {}
        for bal in self.all("Bal", stmt):
            kind = self.text(bal, "Tp/CdOrPrtry/Cd")
            value = self.amount(bal, rows, f"balance {kind}")
            if value is not None and kind in ("OPBD", "PRCD", "CLBD"):
                found.setdefault(kind, value[0])
        return found.get("OPBD", found.get("PRCD")), found.get("CLBD")

    def _entry(self, entry: etree._Element, code: str, currency: str, base: str, rows: Rows) -> int | None:
        """Add the entry's lines; return the amount it moves the bank balance by (None if left out)."""
        row = _line(entry)
        status = self.text(entry, "Sts/Cd") or self.text(entry, "Sts")
        if status != "BOOK":
            rows.problem(
                row, N_("entry with status {value} is not booked: left out").format(value=status or "none"), "info"
            )
            return None
        value = self.amount(entry, rows, "entry")
        if value is None:
            return None
        amount, entry_currency = value
        if (currency and entry_currency != currency) or (base and entry_currency != base):
            rows.problem(
                row,
                N_("entry in {entry_currency}, account or books in {value}: left out").format(
                    entry_currency=entry_currency, value=currency or base
                ),
            )
            return None
        day = self.date(entry, "BookgDt", rows) or self.date(entry, "ValDt", rows)
        if day is None:
            rows.problem(row, N_("entry without booking or value date: left out"))
            return None
        details = self.all("NtryDtls/TxDtls", entry)
        reversal = " (reversal)" if self.text(entry, "RvslInd") == "true" else ""
        self.entries += 1
        number = str(self.entries)
        first = details[0] if details else None
        parts = self._parts(details, amount, rows)
        if parts is None:
            common = {"entry": number, "date": day, "doc": self._doc(entry, first), "source_row": row}
            text = self._description(entry, first, amount) + reversal
        else:  # a batch: the bank line speaks for the whole entry
            common = {"entry": number, "date": day, "doc": self._doc(entry, None), "source_row": row}
            text = self.text(entry, "AddtlNtryInf") or f"{len(parts)} transactions"
        rows.add(**common, account=code, amount=amount, description=text)
        if parts is None:
            rows.add(**common, account=CLEARING, amount=-amount, description=text)
        else:
            for detail, part in parts:
                text = self._description(entry, detail, part) + reversal
                line = {**common, "doc": self._doc(entry, detail), "source_row": _line(detail)}
                rows.add(**line, account=CLEARING, amount=-part, description=text)
        return amount

    def _parts(self, details: list[etree._Element], amount: int, rows: Rows) -> list[tuple[Any, int]] | None:
        """Per-transaction amounts of a batch entry, if every detail has one and they add up."""
        if len(details) < 2:
            return None
        parts = []
        for detail in details:
            if self.find(detail, "Amt") is None:
                return None
            value = self.amount(detail, rows, "transaction detail")
            if value is None:
                return None
            parts.append((detail, value[0]))
        return parts if sum(p for _, p in parts) == amount else None

    def _doc(self, entry: etree._Element, detail: etree._Element | None) -> str:
        if detail is not None:
            for path in ("RmtInf/Strd/CdtrRefInf/Ref", "Refs/EndToEndId"):
                value = self.text(detail, path)
                if value and value != "NOTPROVIDED":
                    return value
            if self.text(detail, "Refs/AcctSvcrRef"):
                return self.text(detail, "Refs/AcctSvcrRef")
        return self.text(entry, "AcctSvcrRef") or self.text(entry, "NtryRef")

    def _description(self, entry: etree._Element, detail: etree._Element | None, amount: int) -> str:
        """Counterparty (the debtor of money in, the creditor of money out) and remittance text."""
        name = remittance = ""
        if detail is not None:
            party = "Dbtr" if amount > 0 else "Cdtr"
            # .08 wraps the party in Pty; .04 has the name directly
            name = self.text(detail, f"RltdPties/{party}/Pty/Nm") or self.text(detail, f"RltdPties/{party}/Nm")
            lines = [" ".join((u.text or "").split()) for u in self.all("RmtInf/Ustrd", detail)]
            remittance = " ".join(lines) or self.text(detail, "AddtlTxInf")
        remittance = remittance or self.text(entry, "AddtlNtryInf")
        return ": ".join(p for p in (name, remittance) if p)


FORMAT = Camt053Reader
