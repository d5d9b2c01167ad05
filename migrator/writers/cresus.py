"""Crésus Comptabilité (Epsitec): the extended journal import text.

TAB, CR LF, no header, Windows-1252 (``../shared/FORMATS.md``): (1) date dd.mm.yyyy, (2) debit
account, (3) credit account, (4) voucher, (5) text, (6) amount. An entry of one debit and one credit
line in base currency is one record of these six fields. Every other entry is written in the
extended format, one record per line with ``...`` as the other account, (7) the foreign amount
(``0`` if none), (8) the exchange rate and (9) a compound-entry number shared by its records; a
two-line foreign entry is one record with fields 7–8 and an empty field 9. Crésus keeps foreign
amounts only on accounts held in a foreign currency (FORMATS.md: it takes the currency from the
account), so fields 7–8 are set only where the line's account (for a two-line entry, one of its two
accounts) is kept in the line's currency in the ledger's chart; any other foreign amount is written
in base currency alone and reported.

Amounts are written plain (``1234.50``, always positive: the side says debit or credit) rather
than with the ``1'000.00`` of exports, so no locale setting can misread them. Tabs and line breaks
in texts become spaces. VAT codes are not written: Crésus's import reads one from field 13 and
then books the VAT itself as a line of its own, while the ledger's VAT lines are already booked;
writing both would book the VAT twice. The VAT lines are written as ordinary lines and the codes
are reported as not carried.
Other text is written exactly, formula-like text included: the file is for Crésus's import, not a
spreadsheet, so nothing is made inert.

Several fiscal years: one import file holds every year, so the openings of later years are not
booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Verification reads the file back with `years.per_year`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, years
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.writers.base import (
    ROWS_AT_ONCE,
    amounts_only_currency_loss,
    entry_runs,
    fiscal_year_losses,
    lines_with,
    lost,
)

ENCODING = "cp1252"
OTHER = "..."


class CresusWriter:
    name = "cresus"
    extension = ".txt"
    output = "file"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        replaced = dropped = 0
        with target.open("wb") as out:  # a batch of entries at a time: the whole text is never in memory
            for text_lines, left_out in _records(ledger):
                dropped += left_out
                try:
                    data = text_lines.encode(ENCODING)
                except UnicodeEncodeError:  # records Windows-1252 cannot hold: each counted and written with '?'
                    records = text_lines.split("\r\n")[:-1]
                    safe = [text.encode(ENCODING, errors="replace").decode(ENCODING) for text in records]
                    replaced += sum(s != text for s, text in zip(safe, records, strict=True))
                    data = "".join(line + "\r\n" for line in safe).encode(ENCODING)
                out.write(data)
        problems = []
        if replaced:
            problems.append(Problem("warning", N_("{replaced} records hold characters Windows-1252 cannot encode; written as '?'").format(replaced=replaced)))  # fmt: skip
        problems += lost(N_("foreign amounts of lines on accounts not kept in that currency"), dropped,
                         N_("written in base currency only (Crésus keeps foreign amounts on foreign-currency "
                         "accounts)"))  # fmt: skip
        return problems + _not_carried(ledger)


def _records(ledger: Ledger) -> Iterator[tuple[str, int]]:
    """The journal's text (each record ending in CR LF) and how many foreign amounts were left out, a
    batch of whole entries at a time, in the order `writers.base.entries` gives the lines."""
    order, starts = columns.entry_order(ledger.lines)
    if not len(order):
        return
    held = {code: currency for code, currency in zip(ledger.accounts.column("code").to_pylist(),
            ledger.accounts.column("currency").to_pylist(), strict=True) if currency}  # fmt: skip
    chosen = ledger.lines.select(["date", "doc", "description", "account", "amount", "currency", "amount_currency",
                                  "rate"])  # fmt: skip
    bounds = [*starts.tolist(), len(order)]
    compound = 0  # compound entries numbered across batches
    for first, last in entry_runs(bounds, ROWS_AT_ONCE):
        lines = chosen.take(pa.array(order[bounds[first] : bounds[last]])).combine_chunks()
        text, dropped, compound = _batch(lines, starts[first:last] - bounds[first], held, compound)
        yield text, dropped


def _batch(lines: pa.Table, starts: np.ndarray, held: dict[str, str], compound: int) -> tuple[str, int, int]:
    """The records of whole entries (`lines` in entry order, each entry's first line at `starts`), how
    many foreign amounts were left out, and the last compound-entry number (numbering from `compound`).

    An entry of one debit and one credit line of opposite amounts is one record (its debit line's
    date and texts); every other entry is one record per line, numbered as a compound entry.
    Column by column.
    """
    size = lines.num_rows
    amount = lines.column("amount").to_numpy().astype(np.int64)
    account = columns.texts(lines.column("account"))
    currency = pc.fill_null(columns.texts(lines.column("currency")), "")
    foreign_amount = (
        columns.texts(lines.column("amount_currency")) if False else lines.column("amount_currency").chunk(0)
    )
    rate = pc.fill_null(columns.texts(lines.column("rate")), "")
    # a foreign amount is kept only on an account held in that currency (module docstring)
    held_currency = pc.take(pa.array(list(held.values()), pa.string()), pc.index_in(account, pa.array(list(held), pa.string())))  # fmt: skip
    foreign = pc.and_(pc.not_equal(currency, ""), pc.is_valid(foreign_amount)).to_numpy(zero_copy_only=False)
    kept = pc.fill_null(pc.equal(held_currency, currency), False).to_numpy(zero_copy_only=False)
    dropped = foreign & ~kept
    foreign &= kept
    foreign_cents = np.abs(pc.fill_null(foreign_amount, 0).to_numpy(zero_copy_only=False).astype(np.int64))
    # entries of two lines that are one debit and one credit of the same amount: one record each
    ends = np.r_[starts[1:], size]
    first, second = starts, np.minimum(starts + 1, size - 1)
    debit = np.where(amount[first] >= amount[second], first, second)  # sorted by -amount, ties as they stand
    credit = np.where(debit == first, second, first)
    simple = (ends - starts == 2) & (amount[debit] == -amount[credit]) & (amount[debit] >= 0)
    entry = np.repeat(np.arange(len(starts)), ends - starts)
    at_start = np.zeros(size, dtype=bool)
    at_start[starts] = True
    record = ~simple[entry] | at_start  # positions that write a record
    positions = np.flatnonzero(record)
    owner = entry[positions]
    is_simple = simple[owner]
    source = np.where(is_simple, debit[owner], positions)  # the line whose date and texts the record takes
    take = pa.array(source)
    signed = amount[positions]
    own = account.take(pa.array(positions))
    debit_account = pc.if_else(pa.array(is_simple), account.take(pa.array(debit[owner])),
                               pc.if_else(pa.array(signed >= 0), own, OTHER))  # fmt: skip
    credit_account = pc.if_else(pa.array(is_simple), account.take(pa.array(credit[owner])),
                                pc.if_else(pa.array(signed >= 0), OTHER, own))  # fmt: skip
    dates = lines.column("date").chunk(0).take(take)
    day = pc.binary_join_element_wise(
        pc.utf8_lpad(pc.cast(pc.day(dates), pa.string()), 2, "0"),
        pc.utf8_lpad(pc.cast(pc.month(dates), pa.string()), 2, "0"),
        pc.cast(pc.year(dates), pa.string()),
        ".",
    )
    head = pc.binary_join_element_wise(
        day, debit_account, credit_account, columns.one_line(lines.column("doc").chunk(0).take(take)),
        columns.one_line(lines.column("description").chunk(0).take(take)),
        columns.cents_text(np.where(is_simple, amount[debit[owner]], np.abs(signed))), "\t",
    )  # fmt: skip
    # fields 7-9: a compound record's foreign amount (0 if none), rate and entry number; a simple
    # record's foreign amount and rate (of its first foreign line) with field 9 empty, if it has one
    a_foreign, b_foreign = foreign[first[owner]], foreign[second[owner]]
    simple_foreign = np.where(a_foreign, first[owner], second[owner])
    which = np.where(is_simple, simple_foreign, positions)
    with_foreign = np.where(is_simple, a_foreign | b_foreign, foreign[positions])
    compound_number = compound + np.cumsum(~simple)[owner]
    amount7 = pc.if_else(pa.array(with_foreign), columns.cents_text(foreign_cents[which]), "0")
    rate8 = rate.take(pa.array(which))
    rate8 = pc.if_else(pa.array(with_foreign & (is_simple | (foreign_cents[which] != 0))), rate8, "")
    number9 = pc.if_else(pa.array(is_simple), "", pc.cast(pa.array(compound_number), pa.string()))
    extended = pc.binary_join_element_wise(head, amount7, rate8, number9, "\t")
    text = pc.if_else(pa.array(~is_simple | with_foreign), extended, head)
    ended = pc.binary_join_element_wise(text, "", "\r\n")
    text_lines = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(ended)], pa.int32()), ended), "")[0]
    return text_lines.as_py(), int(dropped.sum()), compound + int((~simple).sum())


def _not_carried(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    problems = lost(N_("VAT codes on lines"), lines_with(lines, "vat_code"),
                    N_("VAT lines written as ordinary lines (Crésus would book a coded line's VAT a second time)"))  # fmt: skip
    problems += lost(
        N_("VAT code definitions"), ledger.vat_codes.num_rows, N_("left out (Crésus keeps its own VAT codes)")
    )
    problems += lost(N_("accounts (chart)"), ledger.accounts.num_rows, N_("the journal holds bookings only; "
                     "create the accounts in Crésus first"))  # fmt: skip
    problems += lost(N_("company name"), 1 if ledger.company.name else 0, N_("the journal holds bookings only; "
                     "the company is the Crésus file the journal is imported into"))  # fmt: skip
    problems += lost(
        N_("groups"), ledger.groups.num_rows, N_("the journal holds bookings only; create the groups in Crésus")
    )
    problems += fiscal_year_losses(ledger, "Crésus")
    problems += amounts_only_currency_loss(ledger, "Crésus")
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("opening-balance lines"), lines_with(lines, "opening"), N_("written as ordinary bookings"))
    problems += lost(N_("currency names of foreign lines"), lines_with(lines, "currency"),
                     N_("foreign amount and rate written to fields 7-8; Crésus takes the currency from the account"))  # fmt: skip
    problems += lost(N_("cost centres of lines"), lines_with(lines, "cost_centre"), N_("left out"))
    return problems


FORMAT = CresusWriter
