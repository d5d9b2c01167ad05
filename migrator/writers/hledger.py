"""hledger journal: plain-text double-entry books that `hledger check` and `hledger bal` accept.

Layout (hledger manual, "Journal format"): ``commodity`` and ``account`` directives first (each
account with its ``type:`` tag, so ``hledger check --strict`` passes), then one transaction per
entry::

    2024-01-25 (R24-001) Facture Müller Transport  ; entry:14, journal:V, partner:C001
        Assets:1100 Débiteurs clients       CHF 2162.00
        Income:3400 Prestations d'atelier   CHF -2000.00  ; vat:V81, vat_amount:-162.00, cost_centre:ATELIER

Account names are the account type's top level (Assets, Liabilities, Equity, Income, Expenses)
and a leaf that starts with the account code: ``Assets:1020 Banque``. Foreign-currency lines are
written in their currency with the base amount as total price (``EUR 1000.00 @@ CHF 965.00``),
so ``hledger bal -B`` gives base-currency balances. Opening entries are ordinary transactions
tagged ``opening:``. Helpers shared with the beancount writer are in `plaintext`.

Several fiscal years: a journal keeps running balances, so ``hledger bal -e`` on the day after a
year end gives that year's balances (as ``hledger close --retain`` would). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from migrator.model import Ledger, Problem
from migrator.money import format_cents
from migrator.writers.base import entries
from migrator.writers.plaintext import foreign, not_carried, one_line, top_level, used_codes

HLEDGER_TYPE = {"Assets": "A", "Liabilities": "L", "Equity": "E", "Income": "R", "Expenses": "X"}


class HledgerWriter:
    name = "hledger"
    extension = ".journal"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        base = ledger.company.base_currency or "CHF"
        names = account_names(ledger)
        dropped = 0
        with target.open("w", encoding="utf-8", newline="\n") as out:
            out.write(f"; {one_line(ledger.company.name) or 'books'}, written by migrator; base currency {base}\n\n")
            currencies = sorted({base, *(c for c in pc.unique(ledger.lines.column("currency")).to_pylist() if c)})
            for currency in currencies:
                out.write(f"commodity {currency} 1000.00\n")
            out.write("\n")
            for code in used_codes(ledger):
                out.write(f"account {names[code]}  ; type:{HLEDGER_TYPE[names[code].split(':')[0]]}\n")
            for rows in entries(ledger.lines):
                text, dropped_here = _transaction(rows, names, base)
                dropped += dropped_here
                out.write("\n" + text)
        return not_carried(ledger, dropped)


def account_names(ledger: Ledger) -> dict[str, str]:
    """hledger account name of every code: ``Assets:1020 Banque Raiffeisen``."""
    kinds = dict(zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("type").to_pylist(),
                     strict=True))  # fmt: skip
    titles = dict(zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(),
                      strict=True))  # fmt: skip
    names = {}
    for code in used_codes(ledger):
        # ':' separates hledger account levels, ';' starts a comment, two spaces end a name
        leaf = one_line(f"{code} {titles.get(code, '')}").replace(":", "-").replace(";", ",")
        names[code] = f"{top_level(kinds.get(code, ''), code)}:{leaf}"
    return names


def _tag(text: Any) -> str:
    """A tag value: one line, no comma (which ends a tag value)."""
    return one_line(text).replace(",", " ")


def _transaction(rows: list[dict[str, Any]], names: dict[str, str], base: str) -> tuple[str, int]:
    first = rows[0]
    code = f" ({first['doc']})" if first["doc"] and ")" not in first["doc"] else ""
    # ';' starts a comment in the description
    description = one_line(first["description"]).replace(";", ",")
    tags = [f"entry:{_tag(first['entry'])}"]
    if first["doc"] and not code:
        tags.append(f"doc:{_tag(first['doc'])}")
    if first["journal"]:
        tags.append(f"journal:{_tag(first['journal'])}")
    if any(r["opening"] for r in rows):
        tags.append("opening:")
    out = [f"{first['date'].isoformat()}{code} {description}  ; {', '.join(tags)}"]
    dropped = 0
    for row in rows:
        amount = f"{base} {format_cents(row['amount'])}"
        if foreign(row, base):
            amount = (
                f"{row['currency']} {format_cents(row['amount_currency'])} @@ {base} {format_cents(abs(row['amount']))}"
            )
        elif row["currency"] and row["currency"] != base and row["amount_currency"] is not None:
            dropped += 1
        notes = []
        if row["date"] != first["date"]:
            notes.append(f"date:{row['date'].isoformat()}")
        for key in ("vat_code", "partner", "cost_centre"):
            if row[key]:
                notes.append(f"{key.replace('_code', '')}:{_tag(row[key])}")
        if row["vat_amount"] is not None:
            notes.append(f"vat_amount:{format_cents(row['vat_amount'])}")
        if row["vat_line"]:
            notes.append("vat_line:")
        if row["description"] != first["description"] and row["description"]:
            notes.append(f"text:{_tag(row['description'])}")
        comment = f"  ; {', '.join(notes)}" if notes else ""
        out.append(f"    {names[row['account']]}  {amount}{comment}")
    return "\n".join(out) + "\n", dropped


FORMAT = HledgerWriter
