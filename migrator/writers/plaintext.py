"""Helpers shared by the plain-text journal writers (hledger and beancount).

Both name accounts by type and code (``Assets:1020 …``), write foreign lines as ``units @@ total``
and say the same things about what a journal does not carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.compute as pc

from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.writers.base import entries, entry_batches, lost

TOP_LEVEL = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
             "expense": "Expenses"}  # fmt: skip
# Swiss charts (KMU/PME, Käfer) by first digit, for accounts the source gives no type
BY_FIRST_DIGIT = {"1": "Assets", "2": "Liabilities", "3": "Income", "4": "Expenses", "5": "Expenses",
                  "6": "Expenses", "7": "Income", "8": "Expenses", "9": "Equity"}  # fmt: skip


def top_level(kind: str, code: str) -> str:
    """Top-level account of a canonical type; untyped and off-balance accounts by Swiss code."""
    if kind in TOP_LEVEL:
        return TOP_LEVEL[kind]
    return BY_FIRST_DIGIT.get(code[:1], "Equity")


def guessed_types(ledger: Ledger) -> list[Problem]:
    kinds = ledger.accounts.column("type").to_pylist()
    count = sum(1 for k in kinds if k not in TOP_LEVEL)
    return lost(N_("account types (off-balance or unknown)"), count,
                N_("placed under a top level chosen from the Swiss chart's first digit (1 Assets, 2 Liabilities, "
                "3/7 Income, 4-6/8 Expenses, 9 Equity)"))  # fmt: skip


def used_codes(ledger: Ledger) -> list[str]:
    """Chart codes plus any code the lines use that the chart lacks."""
    codes = ledger.accounts.column("code").to_pylist()
    seen = set(codes)
    extra = sorted(c for c in pc.unique(ledger.lines.column("account")).to_pylist() if c not in seen)
    return codes + extra


def foreign(row: dict[str, Any], base: str) -> bool:
    """Whether a line's foreign amount can be written as ``units @@ total base price``."""
    amount, units = row["amount"], row["amount_currency"]
    if not row["currency"] or row["currency"] == base or units is None:
        return False
    if units == 0:
        return amount == 0
    return (amount > 0) == (units > 0) and amount != 0


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def not_carried(ledger: Ledger, dropped: int) -> list[Problem]:
    problems = guessed_types(ledger)
    problems += lost(
        N_("foreign amounts with a sign unlike the base amount"), dropped, N_("written in base currency only")
    )
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out (their ids stay on the lines as partner)"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(
        N_("VAT code details"), ledger.vat_codes.num_rows, N_("codes kept on the lines as vat, the rest left out")
    )
    problems += lost(N_("groups"), ledger.groups.num_rows, N_("left out (accounts sit directly under their type)"))
    return problems


TEXTS = ("entry", "doc", "description", "account", "currency", "vat_code", "partner", "cost_centre", "journal")
BATCH = 65_536
"""Lines written a batch of whole entries at a time."""


def plain(lines: pa.Table) -> bool:
    """Whether a writer's column-wise form writes these lines: no missing text, amount or date (the
    per-entry form writes a missing text as "None"; the others it does not take)."""
    return not any(lines.column(name).null_count for name in (*TEXTS, "amount", "date"))


def write_entries(out: TextIO, lines: pa.Table, per_entry: Callable[[list[dict[str, Any]]], tuple[str, int]],
                  per_batch: Callable[[pa.Table, Any], tuple[str, int]]) -> int:  # fmt: skip
    """Every entry's text written to `out` (column by column where the lines allow it, else entry by
    entry); the number of foreign amounts that could not be written."""
    dropped = 0
    if plain(lines):
        for taken, starts in entry_batches(lines, BATCH):
            text, dropped_here = per_batch(taken, starts)
            dropped += dropped_here
            out.write(text)
        return dropped
    for rows in entries(lines):
        text, dropped_here = per_entry(rows)
        dropped += dropped_here
        out.write("\n" + text)
    return dropped
