"""Abacus: AbaConnect "FIBU – XML Buchungen" (write only; migrator does not read it back).

Structure from ``../shared/FORMATS.md``: no namespace; ``AbaConnectContainer`` > ``TaskCount``,
``Task`` > ``Parameter`` (``Application`` FIBU, ``Id`` "XML Buchungen", ``MapId`` AbaDefault,
``Version``, ``Mandant``) and ``Transaction`` > one ``Entry mode="SAVE"`` per entry, holding a
``CollectiveInformation mode="SAVE"`` and one ``SingleInformation mode="SAVE"`` per other line. As
real producers write it (FORMATS.md): one ``Transaction id="n"`` per entry (n from 1),
``AmountData mode="SAVE"``, ``Client`` present, ``DocumentNumber`` at most 10 characters (longer
vouchers cut, reported) and ``TaxCode`` at most 3 (a longer code is written as ``T00``, ``T01``…
and reported with the code it stands for). ``Client`` is written like ``Mandant`` (Abacus's English
word for a Mandant is client: an inference; the secondary summary only says it is mandatory).

How an entry is laid out (migrator's choice): the collective information carries one line, the
largest line that is neither a VAT base nor a VAT line (``EntryType`` S when one single line faces
it, C otherwise); each other line is a single information with its own ``DebitCredit``
(``TaxAccount`` only on VAT bases). The collective amount is the entry's total: an entry where
several debit lines face several credit lines (no one line faces all the others) is written as one
Abacus entry per debit line, holding the parts of the credit lines laid against it in order (the
pairing of `writers.datev.fold`); its VAT lines are then plain singles (reported). A VAT line is folded into the ``TaxData`` of its base when the bases of that code in the
entry declare exactly its amount (``TaxIncluded`` E: the single's amount is net, the VAT is booked
on top to ``TaxAccount``); otherwise it stays a single information of its own. Amounts are
positive with two decimals; ``KeyAmount`` is in base currency; ``AmountData`` is in the line's
currency, with ``ExchangeRateData`` for foreign lines.

*Unverified* (taken from the element list, not from a file Abacus produced or accepted): every
field's type and length; ``Version`` (written 2022.00); ``Mandant`` (written 1: set it to the
client's number); ``Division`` (written 0); ``Type`` Normal for every entry, opening balances
included; ``TaxType`` (1 sales VAT, 2 input VAT, written from the VAT kind), ``UseCode`` (1),
``TaxCoefficient`` (100), ``Country`` (CH); ``TaxCode`` (the ledger's code where it fits: Abacus tax
codes are each client's own); ``Text1`` cut at 80 characters, ``Text2`` not written.
XML for AbaConnect, not a spreadsheet: text is written exactly (escaped by lxml), never made inert.

Several fiscal years: Abacus carries balances into the next fiscal year itself, so the openings of
later years are not booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from migrator import vat
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.money import format_cents
from migrator.writers.base import entries, lines_with, lost

VERSION = "2022.00"
MANDANT = "1"
TEXT1 = 80
DOCUMENT = 10
TAX_CODE = 3
TAX_TYPES = {"sales": "1", "input_material": "2", "input_investment": "2", "acquisition": "2"}


class AbacusWriter:
    name = "abacus"
    extension = ".xml"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        root = etree.Element("AbaConnectContainer")
        _text(root, "TaskCount", "1")
        task = etree.SubElement(root, "Task")
        parameter = etree.SubElement(task, "Parameter")
        for tag, value in (("Application", "FIBU"), ("Id", "XML Buchungen"), ("MapId", "AbaDefault"),
                           ("Version", VERSION), ("Mandant", MANDANT)):  # fmt: skip
            _text(parameter, tag, value)
        base = ledger.company.base_currency or "CHF"
        notes = _Notes(ledger)
        number = 0
        for whole in entries(ledger.lines):
            parts = _parts(whole)
            notes.split += len(parts) > 1
            for lines in parts:
                number += 1
                transaction = etree.SubElement(task, "Transaction", id=str(number))
                collective = _collective(lines)
                folded = _fold(lines, collective) if len(parts) == 1 else {}
                notes.unfolded += sum(1 for line in lines if line["vat_line"] and id(line) not in folded)
                _entry(transaction, lines, collective, folded, base, ledger, notes)
        etree.ElementTree(root).write(str(target), xml_declaration=True, encoding="UTF-8", pretty_print=True)
        problems = [
            Problem(
                "info",
                N_("Mandant and Client written as {mandant}: set them to the client's Abacus number").format(
                    mandant=MANDANT
                ),
            )
        ]
        if notes.unfolded:
            problems.append(Problem("warning", N_("{unfolded} VAT lines do not match the VAT their bases declare (or sit in a split entry): written as ordinary single lines, outside the tax data").format(unfolded=notes.unfolded)))  # fmt: skip
        if notes.split:
            problems.append(Problem("info", N_("{split} entries with several debit and several credit lines written as one Abacus entry per debit line (its credit parts as single lines), so that each collective amount is its entry's total").format(split=notes.split)))  # fmt: skip
        if notes.cut:
            problems.append(
                Problem(
                    "info",
                    N_("{cut} texts longer than {text} characters cut to fit Text1").format(cut=notes.cut, text=TEXT1),
                )
            )
        if notes.long_documents:
            problems.append(Problem("warning", N_("{count} voucher numbers longer than {document} characters cut to fit DocumentNumber").format(count=len(notes.long_documents), document=DOCUMENT)))  # fmt: skip
        for code, short in sorted(notes.codes.items()):
            if code != short:
                problems.append(Problem("warning", N_("VAT code {code} is longer than {tax_code} characters: written as TaxCode {short}; map it to the client's Abacus tax code").format(code=code, tax_code=TAX_CODE, short=short)))  # fmt: skip
        return problems + _not_carried(ledger)


class _Notes:
    """What the writer had to change, and the TaxCode of each VAT code."""

    def __init__(self, ledger: Ledger) -> None:
        self.unfolded = self.cut = self.split = 0
        self.long_documents: set[str] = set()
        used = sorted({c for c in ledger.lines.column("vat_code").to_pylist() if c})
        self.codes = {code: code for code in used if len(code) <= TAX_CODE}
        free = (f"T{n:02d}" for n in range(100))
        for code in used:
            if code not in self.codes:
                self.codes[code] = next(c for c in free if c not in self.codes.values())


def _parts(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The Abacus entries of one entry: itself when one line faces all the others (the collective
    information then carries the entry total); else one per debit line, holding that line and the parts
    of the credit lines laid against it in order (as `writers.datev.fold` pairs them)."""
    debits = [line for line in lines if line["amount"] > 0]
    credits = [line for line in lines if line["amount"] < 0]
    if len(debits) <= 1 or len(credits) <= 1:
        return [lines]
    parts: list[list[dict[str, Any]]] = []
    left = [[line, -line["amount"]] for line in credits]
    c = 0
    for debit in debits:
        part, need = [debit], debit["amount"]
        while need and c < len(left):
            line, rest = left[c]
            cents = min(need, rest)
            whole = cents == -line["amount"]
            part.append({**line, "amount": -cents, "amount_currency": line["amount_currency"] if whole else None,
                         "vat_code": "" if line["vat_line"] else line["vat_code"], "vat_line": False,
                         "vat_amount": None})  # fmt: skip
            need -= cents
            left[c][1] -= cents
            c += left[c][1] == 0
        parts.append(part)
    zero = [line for line in lines if not line["amount"]]
    parts[0] += zero
    return parts


def _collective(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The line the collective information carries: the largest without VAT, else the largest base."""
    plain = [line for line in lines if not line["vat_code"] and not line["vat_line"]]
    bases = [line for line in lines if not line["vat_line"]]
    return max(plain or bases or lines, key=lambda line: abs(line["amount"]))


def _fold(lines: list[dict[str, Any]], collective: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """VAT lines (by id) that fold into the tax data of their bases (single lines), with those bases."""
    folded: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        if not (line["vat_line"] and line["vat_code"]):
            continue
        code = line["vat_code"]
        same_code = [other for other in lines if other["vat_code"] == code and other["vat_line"]]
        bases = [b for b in lines if b["vat_code"] == code and not b["vat_line"] and b["vat_amount"] is not None]
        if any(b is collective for b in bases) or line is collective:
            continue
        if len(same_code) == 1 and bases and sum(b["vat_amount"] for b in bases) == line["amount"]:
            folded[id(line)] = bases
    return folded


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = _xml_safe(value)
    return element


def _amounts(parent: etree._Element, line: dict[str, Any], base: str, amount: int) -> None:
    foreign = bool(line["currency"]) and line["amount_currency"] is not None
    data = etree.SubElement(parent, "AmountData", mode="SAVE")
    _text(data, "Currency", line["currency"] if foreign else base)
    _text(data, "Amount", format_cents(abs(line["amount_currency"] if foreign else amount)))
    _text(parent, "KeyAmount", format_cents(abs(amount)))
    if foreign:
        rate = etree.SubElement(parent, "ExchangeRateData")
        _text(rate, "FromCurrency", line["currency"])
        _text(rate, "ToCurrency", base)
        _text(rate, "ExchangeRate", line["rate"] or "")


def _entry(transaction: etree._Element, lines: list[dict[str, Any]], collective: dict[str, Any],
           folded: dict[int, list[dict[str, Any]]], base: str, ledger: Ledger, notes: _Notes) -> None:  # fmt: skip
    """Write one entry."""
    taxed = {id(b): v for v, bases in folded.items() for b in bases}
    vat_of = {id(line): line for line in lines}
    rest = [line for line in lines if id(line) not in folded]
    singles = [line for line in rest if line is not collective]
    entry = etree.SubElement(transaction, "Entry", mode="SAVE")
    head = etree.SubElement(entry, "CollectiveInformation", mode="SAVE")
    first = lines[0]
    date = first["date"].isoformat()
    _text(head, "EntryLevel", "A")
    _text(head, "EntryType", "S" if len(singles) == 1 else "C")
    _text(head, "Type", "Normal")
    _text(head, "DebitCredit", "D" if collective["amount"] >= 0 else "C")
    _text(head, "Client", MANDANT)
    _text(head, "Division", "0")
    _text(head, "KeyCurrency", base)
    _text(head, "EntryDate", date)
    _text(head, "ValueDate", date)
    _amounts(head, collective, base, collective["amount"])
    _text(head, "Account", collective["account"])
    notes.cut += _text1(head, collective["description"] or first["description"])
    _document(head, first["doc"] or "", notes)
    _text(head, "SingleCount", str(len(singles)))
    for line in singles:
        single = etree.SubElement(entry, "SingleInformation", mode="SAVE")
        _text(single, "Type", "Normal")
        _text(single, "DebitCredit", "D" if line["amount"] >= 0 else "C")
        _text(single, "EntryDate", date)
        _text(single, "ValueDate", date)
        _amounts(single, line, base, line["amount"])
        _text(single, "Account", line["account"])
        vat_line = vat_of.get(taxed.get(id(line), -1))
        if vat_line:
            _text(single, "TaxAccount", vat_line["account"])
        notes.cut += _text1(single, line["description"] or "")
        _document(single, line["doc"] or "", notes)
        if vat_line:
            _tax(single, line, base, ledger, notes.codes[line["vat_code"]])


def _document(parent: etree._Element, doc: str, notes: _Notes) -> None:
    if len(doc) > DOCUMENT:
        notes.long_documents.add(doc)
    _text(parent, "DocumentNumber", doc[:DOCUMENT])


def _tax(single: etree._Element, line: dict[str, Any], base: str, ledger: Ledger, code: str) -> None:
    known = vat.meaning(ledger, line["vat_code"])
    kind, rate = known if known else ("", None)
    data = etree.SubElement(single, "TaxData")
    _text(data, "TaxIncluded", "E")
    _text(data, "TaxType", TAX_TYPES.get(kind, "0"))
    _text(data, "UseCode", "1")
    amount = etree.SubElement(data, "AmountData", mode="SAVE")
    _text(amount, "Currency", base)
    _text(amount, "Amount", format_cents(abs(line["vat_amount"])))
    _text(data, "KeyAmount", format_cents(abs(line["vat_amount"])))
    _text(data, "TaxRate", str(rate) if rate is not None else "")
    _text(data, "TaxCoefficient", "100")
    _text(data, "Country", "CH")
    _text(data, "TaxCode", code)


def _text1(parent: etree._Element, text: str) -> int:
    clean = " ".join(_xml_safe(text).split())
    _text(parent, "Text1", clean[:TEXT1])
    return int(len(clean) > TEXT1)


def _xml_safe(text: str) -> str:
    """Text without the control characters XML 1.0 cannot hold."""
    return "".join(c for c in text if c in "\t\n\r" or (ord(c) >= 0x20 and c not in "\ufffe\uffff"))


def _not_carried(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    problems = lost(
        N_("accounts (chart)"), ledger.accounts.num_rows, N_("bookings only: the accounts must exist in Abacus")
    )
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("opening-balance lines"), lines_with(lines, "opening"), N_("written as Normal entries"))
    problems += lost(N_("cost centres of lines"), lines_with(lines, "cost_centre"), N_("left out"))
    problems += lost(N_("VAT codes"), ledger.vat_codes.num_rows,
                     N_("written as they are in TaxCode; map them to the client's Abacus tax codes"))  # fmt: skip
    return problems


FORMAT = AbacusWriter
