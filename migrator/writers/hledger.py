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
tagged ``opening:``. Helpers here are shared with the beancount writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from migrator.model import Ledger, Problem
from migrator.money import format_cents
from migrator.writers.base import lost

TOP_LEVEL = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
             "expense": "Expenses"}  # fmt: skip
HLEDGER_TYPE = {"Assets": "A", "Liabilities": "L", "Equity": "E", "Income": "R", "Expenses": "X"}
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
    return lost("account types (off-balance or unknown)", count,
                "placed under a top level chosen from the Swiss chart's first digit (1 Assets, 2 Liabilities, "
                "3/7 Income, 4-6/8 Expenses, 9 Equity)")  # fmt: skip


def entries(lines: pa.Table) -> Iterator[list[dict[str, Any]]]:
    """The lines of each entry, in the order entries first appear, lines in line-number order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in lines.to_pylist():
        groups.setdefault(row["entry"], []).append(row)
    for rows in groups.values():
        yield sorted(rows, key=lambda r: r["line"] or 0)


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


def not_carried(ledger: Ledger, dropped: int) -> list[Problem]:
    problems = guessed_types(ledger)
    problems += lost("foreign amounts with a sign unlike the base amount", dropped, "written in base currency only")
    problems += lost("partners", ledger.partners.num_rows, "left out (their ids stay on the lines as partner)")
    problems += lost("open items", ledger.open_items.num_rows, "left out")
    problems += lost("VAT code details", ledger.vat_codes.num_rows, "codes kept on the lines as vat, the rest left out")
    problems += lost("groups", ledger.groups.num_rows, "left out (accounts sit directly under their type)")
    return problems


FORMAT = HledgerWriter
