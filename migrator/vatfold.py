"""Folding booked VAT lines back into base rows, for programs that compute VAT from a code.

Banana and bexio book the VAT themselves when they import a row with a VAT code. Our ledgers already
hold the VAT as its own line, so writing both would count it twice. `fold_entry` gives a base line the
vendor's code (and, where the program expects gross amounts, its VAT added) and leaves its VAT line
out, but only where the program's own computation gives exactly the VAT the books hold on the code's
VAT account; otherwise the lines stay as booked, and the reason is returned for a warning.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from migrator import vat
from migrator.model import Ledger, Problem
from migrator.money import format_cents


@dataclass
class Row:
    """One line to write: the ledger line, the amount to write and the vendor VAT code it carries."""

    line: dict[str, Any]
    amount: int
    tax: str = ""


@dataclass
class VatPlan:
    """How a vendor that computes VAT from a code sees a ledger: codes, rates, accounts."""

    codes: dict[str, str]
    rates: dict[str, Decimal]
    accounts: dict[str, str]
    problems: list[Problem] = field(default_factory=list)


def vat_plan(ledger: Ledger, vendor: str) -> VatPlan:
    """The vendor code, rate and VAT account of each VAT code of `ledger`."""
    codes, problems = vat.translate(ledger, vendor)
    warnings = [Problem("warning", f"{p.message}; written as it is") for p in problems]
    rates: dict[str, Decimal] = {}
    accounts: dict[str, str] = {}
    used: dict[str, Counter[str]] = {}
    lines = ledger.lines
    for code, account, is_vat in zip(
        lines.column("vat_code").to_pylist(), lines.column("account").to_pylist(),
        lines.column("vat_line").to_pylist(), strict=True,
    ):  # fmt: skip
        if code and is_vat:
            used.setdefault(code, Counter())[account] += 1
    for row in ledger.vat_codes.to_pylist():
        if row["account"]:
            accounts[row["code"]] = row["account"]
    every = set(codes) | set(used) | set(ledger.vat_codes.column("code").to_pylist())
    every |= set(ledger.lines.column("vat_code").to_pylist())
    for code in sorted(c for c in every if c):
        codes.setdefault(code, code)
        known = vat.meaning(ledger, code)
        if known is not None:
            rates[code] = known[1]
        if code not in accounts and code in used:
            accounts[code] = used[code].most_common(1)[0][0]
    return VatPlan(codes, rates, accounts, warnings)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def computed_vat(amount: int, rate: Decimal, gross: bool) -> int:
    """The VAT in cents a vendor computes on `amount` (net: rate × amount; gross: the VAT inside it)."""
    share = rate / (100 + rate) if gross else rate / 100
    value = _round(abs(Decimal(amount)) * share)
    return -value if amount < 0 else value


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` split over `weights` in proportion, to the cent (largest remainder); sums to `total`."""
    sizes = [abs(w) for w in weights]
    whole = sum(sizes)
    if not weights:
        return []
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    sign = -1 if total < 0 else 1
    shares = [abs(total) * s // whole for s in sizes]
    rest = abs(total) - sum(shares)
    order = sorted(range(len(sizes)), key=lambda i: -((abs(total) * sizes[i]) % whole))
    for i in order[:rest]:
        shares[i] += 1
    return [sign * s for s in shares]


def fold_entry(lines: list[dict[str, Any]], plan: VatPlan, gross: bool) -> tuple[list[Row], list[str]]:
    """The rows a vendor that books VAT from a code must import for one entry, and why some are plain.

    A base line carries the vendor code (and, when `gross`, its VAT added to its amount) and its VAT
    line is left out, when the vendor's own computation gives exactly that VAT on the code's account.
    """
    rows = {id(line): Row(line, line["amount"]) for line in lines}
    dropped: set[int] = set()
    notes: list[str] = []
    for code in sorted({line["vat_code"] for line in lines if line["vat_code"]}):
        bases = [line for line in lines if line["vat_code"] == code and not line["vat_line"]]
        vat_lines = [line for line in lines if line["vat_code"] == code and line["vat_line"]]
        rate = plan.rates.get(code)
        if not bases:
            notes.append(f"VAT line(s) of {code} without a base line: written as booked, without VAT code")
            continue
        total = sum(line["amount"] for line in vat_lines)
        declared = [line["vat_amount"] for line in bases]
        if all(d is not None for d in declared) and sum(declared) == total:
            shares = [int(d) for d in declared]
        else:
            shares = allocate(total, [line["amount"] for line in bases])
        account = plan.accounts.get(code, "")
        why = ""
        if rate is None:
            why = "its rate is unknown"
        elif any(line["account"] != account for line in vat_lines):
            why = f"its VAT lines are not all on its VAT account {account}"
        elif any(line["currency"] for line in bases + vat_lines):
            why = "its lines are in a foreign currency"
        else:
            for line, share in zip(bases, shares, strict=True):
                amount = line["amount"] + share if gross else line["amount"]
                if computed_vat(amount, rate, gross) != share:
                    why = f"the program would compute other VAT at {rate} % than the {format_cents(share)} booked"
        if why:
            notes.append(f"VAT code {code}: {why}; written as booked, without VAT code")
            continue
        for line, share in zip(bases, shares, strict=True):
            rows[id(line)] = Row(line, line["amount"] + share if gross else line["amount"], plan.codes[code])
        dropped |= {id(line) for line in vat_lines}
    return [rows[id(line)] for line in lines if id(line) not in dropped], notes


def is_pair(rows: list[Row]) -> bool:
    """Two plain lines that a single debit/credit row can carry."""
    if len(rows) != 2 or any(r.tax for r in rows):
        return False
    a, b = rows[0], rows[1]
    same = (a.line["currency"], a.line["rate"]) == (b.line["currency"], b.line["rate"])
    foreign = a.line["amount_currency"], b.line["amount_currency"]
    matched = foreign == (None, None) or (None not in foreign and foreign[0] == -foreign[1])
    return a.amount == -b.amount and same and matched
