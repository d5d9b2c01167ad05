"""Infoniqa ONE 50 (formerly Sage 50 Switzerland): the file *Extras → Buchungen importieren* takes.

The issue asked for "its ``;`` import CSV", but ``../shared/FORMATS.md`` records that the import
takes the export format back, and the only real file we have (the reference export) is
``,``-separated. Writing exactly what the program exports is the one layout known to import, so
this writer writes the export layout: ``,``, CR LF, Windows-1252, texts quoted, dates d.m.yyyy,
header ``Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,Tx1,Tx2,
PkKey,OpId,Flag``, one row per line (``S`` debit, ``H`` credit, ``Netto`` unsigned).

Entries of two lines (plus VAT) are single entries (``MTyp`` 1, each row's ``GKto`` the other
account); larger ones are collective (``MTyp`` 2): the one line alone on its side gets ``GKto``
``div`` and the others its account, or all get ``div`` when both sides have several lines, as in
the reference export. A VAT base carries its code in ``SId`` (translated by kind, rate and date
through ``mappings/vat``, except for books read from Infoniqa, which keep their own; a code without
equivalent is written unchanged and reported) and its VAT in ``Steuer``;
the VAT line is a row of ``BTyp`` 2 with ``Netto`` the VAT and ``Steuer`` the base (*inference*
from the reference export, see the reader). ``Blg`` holds whole numbers only in the reference
(whether text vouchers import is *unverified*): the vouchers are kept when every entry has its own
whole number, else entries are numbered 1, 2, … and the original voucher goes to ``Tx2``.
``KIdx``, ``PkKey`` and ``Flag`` are written as 0, ``Grp`` as a space and ``Code``/``OpId`` empty, as
in every row of the reference (meaning *unverified*). ``SIdx``: in the reference every row with a
code has 3 or 5 and every other row 0; in each of its entries that number is the position (from 1)
of the row booking that base's VAT (entry 43: base rows 2 and 4, VAT rows 3 and 5), so a base row
gets the position of its VAT row in the entry, the others 0 (*inference* from the reference; a
coded row without a VAT row, which the reference never has, gets 0). Sales at 7.7 % are ``USt77``,
as the reference writes them (``mappings/vat``).
Text is written exactly, formula-like text included: the file is for Infoniqa's import, not a
spreadsheet, so nothing is made inert.

Several fiscal years: Infoniqa carries balances into the next fiscal year itself, so the openings
of later years are not booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Where the vouchers are whole numbers, these
entries take the numbers after the highest in ``Blg``. Verification reads the file back with
`years.per_year`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, vat, years
from migrator.i18n import N_
from migrator.model import Ledger, Problem, rows
from migrator.money import format_cents
from migrator.writers.base import (
    ROWS_AT_ONCE,
    amounts_only_currency_loss,
    entry_runs,
    fiscal_year_losses,
    lines_with,
    lost,
)

HEADER = "Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,Tx1,Tx2,PkKey,OpId,Flag"
ENCODING = "cp1252"


class InfoniqaWriter:
    name = "infoniqa"
    extension = ".csv"
    output = "file"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        # books read from Infoniqa keep the client's own codes; others are translated by kind, rate and date
        codes, untranslated = ({}, []) if ledger.format == self.name else vat.translate(ledger, "infoniqa")
        problems = [Problem("warning", N_("{message}; written unchanged: create it in Infoniqa or map it").format(message=p.message))
                    for p in untranslated]  # fmt: skip
        chunks, entry_count, renumbered = _texts(ledger, codes)
        replaced = 0
        with target.open("wb") as out:  # a batch of entries at a time: the whole text is never in memory
            out.write((HEADER + "\r\n").encode(ENCODING))
            for rows in chunks:
                try:
                    data = rows.encode(ENCODING)
                except UnicodeEncodeError:  # rows Windows-1252 cannot hold: each such row counted and written with '?'
                    each = rows.split("\r\n")[:-1]
                    safe = [text.encode(ENCODING, errors="replace").decode(ENCODING) for text in each]
                    replaced += sum(s != text for s, text in zip(safe, each, strict=True))
                    data = "".join(text + "\r\n" for text in safe).encode(ENCODING)
                out.write(data)
        if renumbered and entry_count:
            problems.append(Problem("info", N_("voucher numbers are not all distinct whole numbers, which Blg needs: "
                                    "entries numbered 1, 2, … and each original voucher written to Tx2")))  # fmt: skip
        if replaced:
            problems.append(Problem("warning", N_("{replaced} rows hold characters Windows-1252 cannot encode; written as '?'").format(replaced=replaced)))  # fmt: skip
        return problems + _not_carried(ledger)


def _voucher_numbers(docs: list[str]) -> list[str] | None:
    """The vouchers (each entry's first), when they are distinct whole numbers; the year-end entries
    `years.continuous` adds (``CLOSING-2023``) take the numbers after the highest, so that they do not
    cost the others theirs."""
    added = [years.added_voucher(d) for d in docs]
    own = [d for d, a in zip(docs, added, strict=True) if not a]
    if not all(d.isdigit() and int(d) > 0 for d in own) or len(set(own)) != len(own):
        return None
    following = itertools.count(max((int(d) for d in own), default=0) + 1)
    return [str(next(following)) if a else d for d, a in zip(docs, added, strict=True)]


def _first(values: np.ndarray, groups: np.ndarray, count: int, fill: int = -1) -> np.ndarray:
    """Per group (0..count-1), the first position where `values` is true, else `fill`."""
    out = np.full(count, fill, dtype=np.int64)
    where = np.flatnonzero(values)
    found, first = np.unique(groups[where], return_index=True)
    out[found] = where[first]
    return out


def _texts(ledger: Ledger, codes: dict[str, str]) -> tuple[Iterator[str], int, bool]:
    """The rows after the header (each ending in CR LF), a batch of whole entries at a time; the number
    of entries, and whether they were renumbered. Entries in the order `writers.base.entries` gives."""
    order, starts = columns.entry_order(ledger.lines)
    size, count = len(order), len(starts)
    if not size:
        return iter(()), 0, _voucher_numbers([]) is None
    first_doc = ledger.lines.column("doc").take(pa.array(order[starts])).combine_chunks()
    numbers = _voucher_numbers([d.strip() for d in pc.fill_null(first_doc, "").to_pylist()])
    renumbered = numbers is None
    number = pa.array([str(n) for n in range(1, count + 1)] if numbers is None else numbers, pa.string())
    extra = _quote(columns.one_line(first_doc) if renumbered else pa.array([""] * count, pa.string()))
    del first_doc

    def batches() -> Iterator[str]:
        bounds = [*starts.tolist(), size]
        for first, last in entry_runs(bounds, ROWS_AT_ONCE):
            lines = ledger.lines.take(pa.array(order[bounds[first] : bounds[last]])).combine_chunks()
            yield _text(lines, starts[first:last] - bounds[first], number[first:last], extra[first:last], codes,
                        renumbered)  # fmt: skip

    return batches(), count, renumbered


def _text(lines: pa.Table, starts: np.ndarray, number: pa.Array, extra: pa.Array, codes: dict[str, str],
          renumbered: bool) -> str:  # fmt: skip
    """The rows of whole entries (`lines` in entry order, each entry's first line at `starts`; its
    number and Tx2 given). Column by column; an entry with several VAT lines of one code goes
    through `_rows`, line by line."""
    size, count = lines.num_rows, len(starts)
    column = {name: lines.column(name).chunk(0) for name in lines.column_names}
    entry = np.repeat(np.arange(count), np.diff(np.r_[starts, size]))
    position = np.arange(size) - starts[entry] + 1
    amount = column["amount"].to_numpy(zero_copy_only=False).astype(np.int64)
    vat_code = pc.fill_null(column["vat_code"], "")
    coded = pc.not_equal(vat_code, "").to_numpy(zero_copy_only=False)
    flagged = pc.fill_null(column["vat_line"], False).to_numpy(zero_copy_only=False)
    is_vat = flagged & coded
    debit = amount >= 0
    principal = ~is_vat
    account = pc.fill_null(column["account"], "")
    # the counter account of a principal line: the other side's account when it has one line, else div
    n_debit = np.bincount(entry, weights=principal & debit, minlength=count).astype(np.int64)
    n_credit = np.bincount(entry, weights=principal & ~debit, minlength=count).astype(np.int64)
    first_debit = _first(principal & debit, entry, count, 0)
    first_credit = _first(principal & ~debit, entry, count, 0)
    other_one = np.where(debit, n_credit[entry] == 1, n_debit[entry] == 1)
    other_first = np.where(debit, first_credit[entry], first_debit[entry])
    counter = pc.if_else(pa.array(other_one), account.take(pa.array(other_first)), "div")
    single = (n_debit == 1) & (n_credit == 1)
    # VAT lines and their bases, by entry and code: the bases are the code's lines that are not VAT lines
    code_index = pc.dictionary_encode(vat_code).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = entry * (int(code_index.max()) + 1) + code_index
    bases = coded & ~flagged
    base_keys, first_base, base_counts = np.unique(key[bases], return_index=True, return_counts=True)
    first_base = np.flatnonzero(bases)[first_base]
    magnitude = np.abs(amount)
    base_sums = np.add.reduceat(magnitude[bases][np.argsort(key[bases], kind="stable")], np.r_[0, np.cumsum(base_counts)[:-1]]) if len(base_keys) else np.zeros(0, dtype=np.int64)  # fmt: skip
    vat_keys, vat_counts = np.unique(key[is_vat], return_counts=True)
    hard = np.zeros(count, dtype=bool)
    hard[(vat_keys[vat_counts > 1] // (int(code_index.max()) + 1))] = True  # several VAT lines of one code
    if len(base_keys) and int(magnitude.max()) * int(base_counts.max()) >= 2**62:  # sums beyond int64
        hard[base_keys // (int(code_index.max()) + 1)] = True
    # each VAT line's bases (found by its key); each base's SIdx: the position of its key's VAT line
    found = np.searchsorted(base_keys, key)
    found_ok = (found < len(base_keys)) & (base_keys[np.minimum(found, max(len(base_keys) - 1, 0))] == key) if len(base_keys) else np.zeros(size, dtype=bool)  # fmt: skip
    found = np.minimum(found, max(len(base_keys) - 1, 0))
    vat_of = np.searchsorted(vat_keys, key)
    vat_ok = (vat_of < len(vat_keys)) & (vat_keys[np.minimum(vat_of, max(len(vat_keys) - 1, 0))] == key) if len(vat_keys) else np.zeros(size, dtype=bool)  # fmt: skip
    vat_position = np.zeros(size, dtype=np.int64)
    vat_position[is_vat] = position[is_vat]
    position_of_key = np.zeros(len(vat_keys), dtype=np.int64)
    position_of_key[np.searchsorted(vat_keys, key[is_vat])] = position[is_vat]
    translated = pc.if_else(pa.array(coded), _translate(vat_code, codes), "")
    has_code = pc.not_equal(translated, "").to_numpy(zero_copy_only=False)
    sidx = np.where(bases & vat_ok & has_code, position_of_key[np.minimum(vat_of, max(len(vat_keys) - 1, 0))], 0) if len(vat_keys) else np.zeros(size, dtype=np.int64)  # fmt: skip
    vat_amount = np.abs(pc.fill_null(column["vat_amount"], 0).to_numpy(zero_copy_only=False).astype(np.int64))
    base_first = np.where(found_ok, first_base[found] if len(base_keys) else 0, 0)
    vat_counter = pc.if_else(pa.array(found_ok), counter.take(pa.array(base_first)), "div")
    steuer = np.where(is_vat, np.where(found_ok, base_sums[found] if len(base_keys) else 0, 0), np.where(has_code, vat_amount, 0))  # fmt: skip
    vat_rows = pa.array(is_vat)
    # the entry's date
    first_date = column["date"].take(pa.array(starts))
    day = pc.binary_join_element_wise(*(pc.cast(f(first_date), pa.string()) for f in (pc.day, pc.month, pc.year)), ".")
    take = pa.array(entry)
    currency = pc.not_equal(pc.fill_null(column["currency"], ""), "").to_numpy(zero_copy_only=False)
    foreign = np.where(currency, np.abs(pc.fill_null(column["amount_currency"], 0).to_numpy(zero_copy_only=False).astype(np.int64)), 0)  # fmt: skip
    fields = [
        number.take(take), day.take(take), account, pc.if_else(pa.array(debit), "S", "H"), " ",
        pc.if_else(vat_rows, vat_counter, counter), pc.if_else(vat_rows, "", translated),
        pc.cast(pa.array(np.where(is_vat, 0, sidx)), pa.string()), "0", pc.if_else(vat_rows, "2", "0"),
        pc.if_else(pa.array(single[entry]), "1", "2"), "", columns.cents_text(magnitude), columns.cents_text(steuer),
        columns.cents_text(foreign), _quote(columns.one_line(column["description"])), extra.take(take), "0", "", "0",
    ]  # fmt: skip
    written = pc.binary_join_element_wise(*fields, ",")
    difficult = np.flatnonzero(hard[entry])
    if len(difficult):
        written = pc.replace_with_mask(written, pa.array(hard[entry]), pa.array(_hard_rows(lines, entry, difficult, number, codes, renumbered)))  # fmt: skip
    ended = pc.binary_join_element_wise(written, "", "\r\n")
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(ended)], pa.int32()), ended), "")[0].as_py()
    return text


def _hard_rows(lines: pa.Table, entry: np.ndarray, positions: np.ndarray, number: pa.Array, codes: dict[str, str],
               renumbered: bool) -> list[str]:  # fmt: skip
    """The rows of the entries at `positions` (whole entries, in order) by `_rows`, line by line."""
    out: list[str] = []
    chosen = rows(lines.take(pa.array(positions)))
    for _, group in itertools.groupby(zip(entry[positions].tolist(), chosen, strict=True), key=lambda pair: pair[0]):
        pairs = list(group)
        out += [",".join(row) for row in _rows([line for _, line in pairs], number[pairs[0][0]].as_py(), codes, renumbered)]  # fmt: skip
    return out


def _translate(codes: pa.Array, table: dict[str, str]) -> pa.Array:
    """Each code as `table` translates it (unchanged when it has no entry)."""
    if not table:
        return codes
    known = pa.array(list(table), pa.string())
    index = pc.index_in(codes, known)
    return pc.if_else(pc.is_valid(index), pc.take(pa.array(list(table.values()), pa.string()), index), codes)


def _quote(texts: pa.Array) -> pa.Array:
    """`_quoted` of each value."""
    return pc.binary_join_element_wise('"', pc.replace_substring(texts, '"', '""'), '"', "")


def _rows(lines: list[dict[str, Any]], number: str, codes: dict[str, str], renumbered: bool) -> Iterator[list[str]]:
    principal = [line for line in lines if not _is_vat(line)]
    debits = [line for line in principal if line["amount"] >= 0]
    credits = [line for line in principal if line["amount"] < 0]
    single = len(debits) == 1 and len(credits) == 1
    counter: dict[int, str] = {}
    for side, other in ((debits, credits), (credits, debits)):
        for line in side:
            if single:
                counter[id(line)] = other[0]["account"]
            elif len(side) == 1:
                counter[id(line)] = "div"
            else:
                counter[id(line)] = other[0]["account"] if len(other) == 1 else "div"
    first = lines[0]
    extra = _quoted(_one_line(first["doc"] or "") if renumbered else "")
    date = first["date"]
    day = f"{date.day}.{date.month}.{date.year}"
    # SIdx of a base row: the position (from 1) of the row booking its VAT
    positions: dict[int, int] = {}
    for position, line in enumerate(lines, start=1):
        if _is_vat(line):
            for owner in _bases(line, lines):
                positions.setdefault(id(owner), position)
    for line in lines:
        code = codes.get(line["vat_code"], line["vat_code"]) if line["vat_code"] else ""
        if _is_vat(line):
            base = _bases(line, lines)
            account = counter.get(id(base[0]), "div") if base else "div"
            tax = sum(abs(b["amount"]) for b in base)
            fields = ("", "0", "2", format_cents(abs(line["amount"])), format_cents(tax))
        else:
            account = counter[id(line)]
            tax = abs(line["vat_amount"] or 0) if code else 0
            sidx = str(positions.get(id(line), 0)) if code else "0"
            fields = (code, sidx, "0", format_cents(abs(line["amount"])), format_cents(tax))
        sid, sidx, btyp, netto, steuer = fields
        foreign = format_cents(abs(line["amount_currency"] or 0)) if line["currency"] else "0.00"
        yield [number, day, line["account"], "S" if line["amount"] >= 0 else "H", " ", account, sid, sidx, "0",
               btyp, "1" if single else "2", "", netto, steuer, foreign, _quoted(_one_line(line["description"] or "")), extra, "0", "", "0"]  # fmt: skip


def _is_vat(line: dict[str, Any]) -> bool:
    return bool(line["vat_line"] and line["vat_code"])


def _bases(vat_line: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The base lines a VAT line was computed on: those of its code (the one whose VAT it equals
    when its entry has several VAT lines of that code)."""
    code = vat_line["vat_code"]
    bases = [line for line in lines if line["vat_code"] == code and not line["vat_line"]]
    siblings = [line for line in lines if line["vat_code"] == code and line["vat_line"]]
    if len(siblings) > 1:
        return [b for b in bases if (b["vat_amount"] or 0) == vat_line["amount"]][:1]
    return bases


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _not_carried(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    problems = lost(N_("accounts (chart)"), ledger.accounts.num_rows, N_("the import file holds bookings only; "
                    "create the accounts in Infoniqa first"))  # fmt: skip
    problems += lost(N_("company name"), 1 if ledger.company.name else 0, N_("the import file holds bookings only; "
                     "the company is the Infoniqa mandate the file is imported into"))  # fmt: skip
    problems += lost(N_("groups"), ledger.groups.num_rows, N_("the import file holds bookings only; "
                     "create the groups in Infoniqa"))  # fmt: skip
    problems += fiscal_year_losses(ledger, "Infoniqa")
    problems += amounts_only_currency_loss(ledger, "Infoniqa")
    problems += lost(N_("VAT code definitions"), ledger.vat_codes.num_rows,
                     N_("left out (Infoniqa keeps its own VAT codes; each line carries its code)"))  # fmt: skip
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("opening-balance lines"), lines_with(lines, "opening"), N_("written as ordinary bookings"))
    problems += lost(N_("currency names and rates of foreign lines"), lines_with(lines, "currency"),
                     N_("the foreign amount is written to FW-Betrag; Infoniqa takes the currency from the account"))  # fmt: skip
    problems += lost(N_("cost centres of lines"), lines_with(lines, "cost_centre"), N_("left out"))
    return problems


FORMAT = InfoniqaWriter
