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
grow with the books; entries of two lines, and of a base, its VAT line and one counter line, are written
from whole Arrow columns, the others entry by entry (the same text either way).

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
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.i18n import N_
from migrator.model import Ledger, Problem, rows
from migrator.money import format_cents, format_cents_array
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
            for part, bounds in _batches(ledger):
                texts, number = _batch_text(part, bounds, number, base, notes)
                out.write(_bytes(texts))
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


def _batches(ledger: Ledger) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """The lines of BATCH entries at a time (in the order entries first appear), each entry's lines side
    by side in line-number order (a missing number counts as 0, ties in book order), with the bounds of
    the entries; only the columns the writer reads."""
    lines = ledger.lines.select(list(COLUMNS))
    groups = ledger.entries()
    starts = np.r_[groups.starts, lines.num_rows]
    for k in range(0, groups.count, BATCH):
        first, last = int(starts[k]), int(starts[min(k + BATCH, groups.count)])
        if groups.order is None:
            part = lines.slice(first, last - first)
        else:
            part = lines.take(pa.array(groups.order[first:last]))
        bounds = starts[k : k + BATCH + 1] - first
        owner = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
        numbers = part.column("line").fill_null(0).to_numpy()
        order = np.lexsort((np.arange(len(owner)), numbers, owner))
        if (order != np.arange(len(order))).any():
            part = part.take(pa.array(order))
        yield pa.RecordBatch.from_arrays([c.combine_chunks() for c in part.columns], schema=part.schema), bounds


def _batch_text(
    part: pa.RecordBatch, bounds: np.ndarray, number: int, base: str, notes: _Notes
) -> tuple[pa.Array, int]:
    """The Transactions of a batch of entries (in order), and the last Transaction number written.

    Entries of two lines without VAT, and of three lines where a base's VAT is booked by one VAT line
    (folded into the base's tax data), are written from whole columns (`_plain`); every other entry
    line by line (`_entry`)."""
    count = len(bounds) - 1
    plain, roles = _plain_entries(part, bounds)
    transactions = np.ones(count, np.int64)
    slow = np.flatnonzero(~plain)
    wholes: dict[int, list[dict[str, Any]]] = {}
    parts: dict[int, list[list[dict[str, Any]]]] = {}
    if len(slow):
        positions = np.concatenate([np.arange(bounds[e], bounds[e + 1]) for e in slow])
        flat = rows(pa.Table.from_batches([part.take(pa.array(positions))]), COLUMNS)
        at = 0
        for e in slow.tolist():
            size = int(bounds[e + 1] - bounds[e])
            wholes[e] = flat[at : at + size]
            at += size
            parts[e] = _parts(wholes[e])
            transactions[e] = len(parts[e])
    firsts = number + np.cumsum(transactions) - transactions  # each entry's first Transaction number, minus 1
    texts = pa.nulls(count, pa.large_string())
    if plain.any():
        written = _plain(part, roles, firsts[plain] + 1, base, notes).cast(pa.large_string())
        texts = pc.replace_with_mask(texts, pa.array(plain), written)
    slow_texts: list[str] = []
    for e in slow.tolist():
        text: list[str] = []
        numbered = int(firsts[e])
        notes.split += len(parts[e]) > 1
        for lines in parts[e]:
            numbered += 1
            collective = _collective(lines)
            folded = _fold(lines, collective) if len(parts[e]) == 1 else {}
            notes.unfolded += sum(1 for line in lines if line["vat_line"] and id(line) not in folded)
            text.append(f'    <Transaction id="{numbered}">\n      <Entry mode="SAVE">\n')
            _entry(text, lines, collective, folded, base, notes)
            text.append("      </Entry>\n    </Transaction>\n")
        slow_texts.append("".join(text))
    if slow_texts:
        texts = pc.replace_with_mask(texts, pa.array(~plain), pa.array(slow_texts, pa.large_string()))
    return texts, number + int(transactions.sum())


def _bytes(text: pa.Array) -> memoryview:
    """The UTF-8 bytes of a large string column's values, one after the other (no copy)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    return memoryview(text.buffers()[2])[offsets[0] : offsets[-1]]


# Entries written from whole columns: the same text `_entry` writes for them.

_INT64_MIN = -(1 << 63)
_SPECIAL_RE2 = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x{FFFE}\\x{FFFF}&<>\\r]"
_PYTHON_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
"""The characters `str.split()` splits at, but the space (``tests/test_abacus_columns.py`` checks the set)."""
_TEXT1_ODD = f"[\\x00-\\x08\\x0e-\\x1f\\x{{FFFE}}\\x{{FFFF}}&<>{_PYTHON_SPACE}]|  |^ | $"
"""A text `_text1` would change (other than cutting it)."""
PAD = " " * 10


def _plain_entries(part: pa.RecordBatch, bounds: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which entries `_plain` writes, and the positions of their lines by role: ``first`` (the entry's
    date, voucher and fallback text), ``collective``, ``single`` and ``vat`` (-1: none).

    Two lines without VAT (the collective line is the larger, the first on a tie, as `_collective`);
    or three lines: one without VAT (the collective line), a VAT base (the single line) and one VAT
    line of the base's code booking exactly the VAT the base declares (folded, as `_fold`)."""
    count = len(bounds) - 1
    sizes = np.diff(bounds)
    owner = np.repeat(np.arange(count), sizes)
    amount = part.column("amount")
    amounts = amount.fill_null(0).to_numpy()
    coded = pc.fill_null(pc.not_equal(part.column("vat_code"), ""), False).to_numpy(zero_copy_only=False)
    vat_line = part.column("vat_line").fill_null(False).to_numpy(zero_copy_only=False)
    foreign = part.column("amount_currency")
    sound = (
        pc.and_(pc.is_valid(amount), pc.is_valid(part.column("account"))).to_numpy(zero_copy_only=False)
        & pc.is_valid(part.column("date")).to_numpy(zero_copy_only=False)
        & (amounts != _INT64_MIN)
        & (foreign.fill_null(0).to_numpy() != _INT64_MIN)
    )
    plain_line = ~coded & ~vat_line
    unsound = np.bincount(owner, ~sound, minlength=count) > 0
    plains = np.bincount(owner, plain_line, minlength=count)
    first = bounds[:-1]
    two = (sizes == 2) & (plains == 2) & ~unsound
    three = (sizes == 3) & (plains == 1) & ~unsound
    three &= np.bincount(owner, vat_line, minlength=count) == 1
    three &= np.bincount(owner, vat_line & coded, minlength=count) == 1
    collective = np.where(np.abs(amounts[first]) >= np.abs(amounts[np.minimum(first + 1, len(amounts) - 1)]),
                          first, first + 1)  # fmt: skip
    single = 2 * first + 1 - collective
    vat = np.full(count, -1, np.int64)
    entries = np.flatnonzero(three)
    if len(entries):
        at = np.flatnonzero(plain_line & three[owner])
        collective[owner[at]] = at
        at = np.flatnonzero(vat_line & three[owner])
        vat[owner[at]] = at
        single[entries] = 3 * first[entries] + 3 - collective[entries] - vat[entries]
        base, booked = single[entries], vat[entries]
        codes = part.column("vat_code")
        declared = part.column("vat_amount").take(pa.array(base))
        folds = pc.and_(
            pc.equal(codes.take(pa.array(base)), codes.take(pa.array(booked))),
            pc.equal(declared, pa.array(amounts[booked])),
        )
        three[entries] = pc.fill_null(folds, False).to_numpy(zero_copy_only=False)
    plain = two | three
    vat[~three] = -1
    return plain, {"first": first[plain], "collective": collective[plain], "single": single[plain],
                   "vat": vat[plain]}  # fmt: skip


def _esc_column(values: Any) -> pa.Array:
    """`_esc` of every value of a string column (nulls as "")."""
    values = values.fill_null("") if values.null_count else values
    if not pc.any(pc.match_substring_regex(values, _SPECIAL_RE2)).as_py():
        return values
    return pa.array([_esc(v) for v in values.to_pylist()], pa.string())


def _text1_column(values: Any, notes: _Notes) -> pa.Array:
    """`_text1`'s text of every value (nulls as ""), counting the texts cut."""
    values = values.fill_null("") if values.null_count else values
    odd = pc.or_(pc.match_substring_regex(values, _TEXT1_ODD), pc.greater(pc.utf8_length(values), TEXT1))
    if not pc.any(odd).as_py():
        return values
    texts = values.to_pylist()
    for index in np.flatnonzero(odd.to_numpy(zero_copy_only=False)).tolist():
        clean = " ".join(_UNSAFE.sub("", texts[index]).split())
        notes.cut += len(clean) > TEXT1
        texts[index] = _esc(clean[:TEXT1])
    return pa.array(texts, pa.string())


def _document_column(values: Any, notes: _Notes) -> pa.Array:
    """`_document`'s text of every value (nulls as ""), noting the long voucher numbers."""
    values = values.fill_null("") if values.null_count else values
    long = pc.greater(pc.utf8_length(values), DOCUMENT)
    if pc.any(long).as_py():
        notes.long_documents.update(pc.unique(values.filter(long)).to_pylist())
        values = pc.utf8_slice_codeunits(values, 0, DOCUMENT)
    return _esc_column(values)


def _amounts_column(part: pa.RecordBatch, at: pa.Array, base: str) -> pa.Array:
    """`_amounts` of the lines at `at`."""
    currency, foreign, amount = (part.column(c).take(at) for c in ("currency", "amount_currency", "amount"))
    is_foreign = pc.fill_null(pc.and_(pc.not_equal(currency, ""), pc.is_valid(foreign)), False)
    shown_currency = pc.if_else(is_foreign, _esc_column(currency), base)
    shown = format_cents_array(pc.abs(pc.if_else(is_foreign, foreign, amount)))
    text = _join(
        f'{PAD}<AmountData mode="SAVE">\n{PAD}  <Currency>', shown_currency, f"</Currency>\n{PAD}  <Amount>", shown,
        f"</Amount>\n{PAD}</AmountData>\n{PAD}<KeyAmount>", format_cents_array(pc.abs(amount)), "</KeyAmount>\n",
    )  # fmt: skip
    if pc.any(is_foreign).as_py():
        rate = _esc_column(part.column("rate").take(at))
        exchange = _join(
            f"{PAD}<ExchangeRateData>\n{PAD}  <FromCurrency>", shown_currency, f"</FromCurrency>\n{PAD}  <ToCurrency>",
            base, f"</ToCurrency>\n{PAD}  <ExchangeRate>", rate, f"</ExchangeRate>\n{PAD}</ExchangeRateData>\n",
        )  # fmt: skip
        text = _join(text, pc.if_else(is_foreign, exchange, ""))
    return text


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _plain(part: pa.RecordBatch, roles: dict[str, np.ndarray], ids: np.ndarray, base: str, notes: _Notes) -> pa.Array:
    """The Transaction of each entry `_plain_entries` chose, numbered `ids`."""
    first, collective, single = (pa.array(roles[r]) for r in ("first", "collective", "single"))
    taxed = roles["vat"] >= 0
    vat = pa.array(roles["vat"], mask=~taxed)
    days = pc.dictionary_encode(part.column("date").take(first))
    date = pa.array([d.isoformat() for d in days.dictionary.to_pylist()], pa.string()).take(days.indices)
    amount = part.column("amount")
    own = part.column("description").take(collective)
    text = pc.if_else(pc.fill_null(pc.not_equal(own, ""), False), own, part.column("description").take(first))
    head = _join(
        '    <Transaction id="', pa.array(ids).cast(pa.string()), '">\n      <Entry mode="SAVE">\n'
        f'        <CollectiveInformation mode="SAVE">\n{PAD}<EntryLevel>A</EntryLevel>\n{PAD}<EntryType>S</EntryType>\n'
        f"{PAD}<Type>Normal</Type>\n{PAD}<DebitCredit>",
        pc.if_else(pc.greater_equal(amount.take(collective), 0), "D", "C"),
        f"</DebitCredit>\n{PAD}<Client>{MANDANT}</Client>\n{PAD}<Division>0</Division>\n{PAD}<KeyCurrency>{base}"
        f"</KeyCurrency>\n{PAD}<EntryDate>", date, f"</EntryDate>\n{PAD}<ValueDate>", date, "</ValueDate>\n",
        _amounts_column(part, collective, base),
        f"{PAD}<Account>", _esc_column(part.column("account").take(collective)), f"</Account>\n{PAD}<Text1>",
        _text1_column(text, notes), f"</Text1>\n{PAD}<DocumentNumber>",
        _document_column(part.column("doc").take(first), notes),
        f"</DocumentNumber>\n{PAD}<SingleCount>1</SingleCount>\n        </CollectiveInformation>\n",
    )  # fmt: skip
    tax_account = tax = pa.repeat(pa.scalar("", pa.string()), len(ids))
    if taxed.any():
        tax_account = pc.if_else(taxed, _join(f"{PAD}<TaxAccount>", _esc_column(part.column("account").take(vat)),
                                              "</TaxAccount>\n"), "")  # fmt: skip
        codes = pc.dictionary_encode(part.column("vat_code").take(single).fill_null(""))
        meanings = [notes.tax(c) if c else ("", "") for c in codes.dictionary.to_pylist()]
        kinds = pa.array([m[0] for m in meanings], pa.string()).take(codes.indices)
        rates = pa.array([m[1] for m in meanings], pa.string()).take(codes.indices)
        short = pa.array([_esc(notes.codes.get(c, "")) for c in codes.dictionary.to_pylist()], pa.string())
        declared = format_cents_array(pc.abs(part.column("vat_amount").take(single).fill_null(0)))
        pad = PAD + "  "
        tax = pc.if_else(taxed, _join(
            f"{PAD}<TaxData>\n{pad}<TaxIncluded>E</TaxIncluded>\n{pad}<TaxType>", kinds,
            f'</TaxType>\n{pad}<UseCode>1</UseCode>\n{pad}<AmountData mode="SAVE">\n{pad}  <Currency>{base}'
            f"</Currency>\n{pad}  <Amount>", declared, f"</Amount>\n{pad}</AmountData>\n{pad}<KeyAmount>", declared,
            f"</KeyAmount>\n{pad}<TaxRate>", rates, f"</TaxRate>\n{pad}<TaxCoefficient>100</TaxCoefficient>\n"
            f"{pad}<Country>CH</Country>\n{pad}<TaxCode>", short.take(codes.indices), f"</TaxCode>\n{PAD}</TaxData>\n",
        ), "")  # fmt: skip
    body = _join(
        f'        <SingleInformation mode="SAVE">\n{PAD}<Type>Normal</Type>\n{PAD}<DebitCredit>',
        pc.if_else(pc.greater_equal(amount.take(single), 0), "D", "C"),
        f"</DebitCredit>\n{PAD}<EntryDate>", date, f"</EntryDate>\n{PAD}<ValueDate>", date, "</ValueDate>\n",
        _amounts_column(part, single, base),
        f"{PAD}<Account>", _esc_column(part.column("account").take(single)), "</Account>\n", tax_account,
        f"{PAD}<Text1>", _text1_column(part.column("description").take(single), notes),
        f"</Text1>\n{PAD}<DocumentNumber>", _document_column(part.column("doc").take(single), notes),
        "</DocumentNumber>\n", tax, "        </SingleInformation>\n      </Entry>\n    </Transaction>\n",
    )  # fmt: skip
    return _join(head, body)


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
