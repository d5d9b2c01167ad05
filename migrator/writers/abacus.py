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
XML for AbaConnect, not a spreadsheet: text is written exactly (escaped as lxml escapes text), never made
inert. The file is written as text a batch of entries at a time (no element tree), so memory does not
grow with the books.

Several fiscal years: Abacus carries balances into the next fiscal year itself, so the openings of
later years are not booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.i18n import N_
from migrator.model import Ledger, Problem, rows
from migrator.money import format_cents
from migrator.writers.base import lines_with, lost

VERSION = "2022.00"
MANDANT = "1"
TEXT1 = 80
DOCUMENT = 10
TAX_CODE = 3
TAX_TYPES = {"sales": "1", "input_material": "2", "input_investment": "2", "acquisition": "2"}
BATCH = 8192  # entries turned into Python rows and text at a time
COLUMNS = ("entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency",
           "rate", "vat_code", "vat_amount", "vat_line")  # fmt: skip
HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n<AbaConnectContainer>\n  <TaskCount>1</TaskCount>\n  <Task>\n"
    "    <Parameter>\n      <Application>FIBU</Application>\n      <Id>XML Buchungen</Id>\n"
    f"      <MapId>AbaDefault</MapId>\n      <Version>{VERSION}</Version>\n      <Mandant>{MANDANT}</Mandant>\n"
    "    </Parameter>\n"
)
TAIL = "  </Task>\n</AbaConnectContainer>\n"
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what XML 1.0 cannot hold
_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff&<>\r]")


class AbacusWriter:
    name = "abacus"
    extension = ".xml"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        base = _esc(ledger.company.base_currency or "CHF")
        notes = _Notes(ledger)
        number = 0
        with open(target, "wb") as out:
            out.write(HEAD.encode())
            for batch in _entries(ledger):
                text: list[str] = []
                for whole in batch:
                    parts = _parts(whole)
                    notes.split += len(parts) > 1
                    for lines in parts:
                        number += 1
                        collective = _collective(lines)
                        folded = _fold(lines, collective) if len(parts) == 1 else {}
                        notes.unfolded += sum(1 for line in lines if line["vat_line"] and id(line) not in folded)
                        text.append(f'    <Transaction id="{number}">\n      <Entry mode="SAVE">\n')
                        _entry(text, lines, collective, folded, base, notes)
                        text.append("      </Entry>\n    </Transaction>\n")
                out.write("".join(text).encode())
            out.write(TAIL.encode())
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
    """What the writer had to change, the TaxCode of each VAT code and the tax data each code shares."""

    def __init__(self, ledger: Ledger) -> None:
        self.unfolded = self.cut = self.split = 0
        self.long_documents: set[str] = set()
        used = sorted(c for c in pc.unique(ledger.lines.column("vat_code")).to_pylist() if c)
        self.codes = {code: code for code in used if len(code) <= TAX_CODE}
        free = (f"T{n:02d}" for n in range(100))
        for code in used:
            if code not in self.codes:
                self.codes[code] = next(c for c in free if c not in self.codes.values())
        self.ledger = ledger
        self.meanings: dict[str, tuple[str, str]] = {}

    def tax(self, code: str) -> tuple[str, str]:
        """TaxType and TaxRate of a VAT code of the books."""
        if code not in self.meanings:
            known = vat.meaning(self.ledger, code)
            kind, rate = known if known else ("", None)
            self.meanings[code] = (TAX_TYPES.get(kind, "0"), _esc(str(rate)) if rate is not None else "")
        return self.meanings[code]


def _entries(ledger: Ledger) -> Iterator[list[list[dict[str, Any]]]]:
    """The lines of each entry (in the order entries first appear, lines in line-number order), a batch
    of entries at a time; only the columns the writer reads."""
    lines = ledger.lines
    groups = ledger.entries()
    starts = np.r_[groups.starts, lines.num_rows]
    for k in range(0, groups.count, BATCH):
        first, last = int(starts[k]), int(starts[min(k + BATCH, groups.count)])
        if groups.order is None:
            part = lines.slice(first, last - first)
        else:
            part = lines.take(pa.array(groups.order[first:last]))
        flat = rows(part, COLUMNS)
        bounds = (starts[k : k + BATCH + 1] - first).tolist()
        yield [sorted(flat[a:b], key=lambda r: r["line"] or 0) for a, b in pairwise(bounds)]


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


def _esc(text: str) -> str:
    """Text as lxml writes it in an element: without the characters XML 1.0 cannot hold, ``& < >``
    escaped, and a carriage return as ``&#13;``."""
    if not _SPECIAL.search(text):
        return text
    text = _UNSAFE.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _amounts(text: list[str], pad: str, line: dict[str, Any], base: str, amount: int) -> None:
    foreign = bool(line["currency"]) and line["amount_currency"] is not None
    currency = _esc(line["currency"]) if foreign else base
    shown = format_cents(abs(line["amount_currency"] if foreign else amount))
    text.append(f'{pad}<AmountData mode="SAVE">\n{pad}  <Currency>{currency}</Currency>\n'
                f"{pad}  <Amount>{shown}</Amount>\n{pad}</AmountData>\n"
                f"{pad}<KeyAmount>{format_cents(abs(amount))}</KeyAmount>\n")  # fmt: skip
    if foreign:
        text.append(f"{pad}<ExchangeRateData>\n{pad}  <FromCurrency>{currency}</FromCurrency>\n"
                    f"{pad}  <ToCurrency>{base}</ToCurrency>\n{pad}  <ExchangeRate>{_esc(line['rate'] or '')}"
                    f"</ExchangeRate>\n{pad}</ExchangeRateData>\n")  # fmt: skip


def _entry(text: list[str], lines: list[dict[str, Any]], collective: dict[str, Any],
           folded: dict[int, list[dict[str, Any]]], base: str, notes: _Notes) -> None:  # fmt: skip
    """Write one entry's collective and single informations."""
    taxed = {id(b): v for v, bases in folded.items() for b in bases}
    vat_of = {id(line): line for line in lines}
    rest = [line for line in lines if id(line) not in folded]
    singles = [line for line in rest if line is not collective]
    first = lines[0]
    date = first["date"].isoformat()
    pad = "          "
    text.append(
        '        <CollectiveInformation mode="SAVE">\n'
        f"{pad}<EntryLevel>A</EntryLevel>\n{pad}<EntryType>{'S' if len(singles) == 1 else 'C'}</EntryType>\n"
        f"{pad}<Type>Normal</Type>\n{pad}<DebitCredit>{'D' if collective['amount'] >= 0 else 'C'}</DebitCredit>\n"
        f"{pad}<Client>{MANDANT}</Client>\n{pad}<Division>0</Division>\n{pad}<KeyCurrency>{base}</KeyCurrency>\n"
        f"{pad}<EntryDate>{date}</EntryDate>\n{pad}<ValueDate>{date}</ValueDate>\n"
    )
    _amounts(text, pad, collective, base, collective["amount"])
    text.append(f"{pad}<Account>{_esc(collective['account'])}</Account>\n")
    notes.cut += _text1(text, pad, collective["description"] or first["description"])
    _document(text, pad, first["doc"] or "", notes)
    text.append(f"{pad}<SingleCount>{len(singles)}</SingleCount>\n        </CollectiveInformation>\n")
    for line in singles:
        text.append(
            '        <SingleInformation mode="SAVE">\n'
            f"{pad}<Type>Normal</Type>\n{pad}<DebitCredit>{'D' if line['amount'] >= 0 else 'C'}</DebitCredit>\n"
            f"{pad}<EntryDate>{date}</EntryDate>\n{pad}<ValueDate>{date}</ValueDate>\n"
        )
        _amounts(text, pad, line, base, line["amount"])
        text.append(f"{pad}<Account>{_esc(line['account'])}</Account>\n")
        vat_line = vat_of.get(taxed.get(id(line), -1))
        if vat_line:
            text.append(f"{pad}<TaxAccount>{_esc(vat_line['account'])}</TaxAccount>\n")
        notes.cut += _text1(text, pad, line["description"] or "")
        _document(text, pad, line["doc"] or "", notes)
        if vat_line:
            _tax(text, line, base, notes)
        text.append("        </SingleInformation>\n")


def _document(text: list[str], pad: str, doc: str, notes: _Notes) -> None:
    if len(doc) > DOCUMENT:
        notes.long_documents.add(doc)
    text.append(f"{pad}<DocumentNumber>{_esc(doc[:DOCUMENT])}</DocumentNumber>\n")


def _tax(text: list[str], line: dict[str, Any], base: str, notes: _Notes) -> None:
    kind, rate = notes.tax(line["vat_code"])
    amount = format_cents(abs(line["vat_amount"]))
    pad = "            "
    text.append(
        f"{pad[:-2]}<TaxData>\n{pad}<TaxIncluded>E</TaxIncluded>\n{pad}<TaxType>{kind}</TaxType>\n"
        f'{pad}<UseCode>1</UseCode>\n{pad}<AmountData mode="SAVE">\n{pad}  <Currency>{base}</Currency>\n'
        f"{pad}  <Amount>{amount}</Amount>\n{pad}</AmountData>\n{pad}<KeyAmount>{amount}</KeyAmount>\n"
        f"{pad}<TaxRate>{rate}</TaxRate>\n{pad}<TaxCoefficient>100</TaxCoefficient>\n{pad}<Country>CH</Country>\n"
        f"{pad}<TaxCode>{_esc(notes.codes[line['vat_code']])}</TaxCode>\n{pad[:-2]}</TaxData>\n"
    )


def _text1(text: list[str], pad: str, value: str) -> int:
    clean = " ".join(_UNSAFE.sub("", value).split())
    text.append(f"{pad}<Text1>{_esc(clean[:TEXT1])}</Text1>\n")
    return int(len(clean) > TEXT1)


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
