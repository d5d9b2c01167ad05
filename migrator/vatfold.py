"""Folding booked VAT lines back into base rows, for programs that compute VAT from a code.

Banana and bexio book the VAT themselves when they import a row with a VAT code. Our ledgers already
hold the VAT as its own line, so writing both would count it twice. `fold_entry` gives a base line the
vendor's code (and, where the program expects gross amounts, its VAT added) and leaves its VAT line
out, but only where the program's own computation gives exactly the VAT the books hold on the code's
VAT account; otherwise the lines stay as booked, and the reason is returned for a warning. A program
that books rounding differences as rows of 100 % VAT (Banana's amount type 2) gets such a row for the
difference instead (`adjust`), so that every code is carried and its VAT stays exact.

VAT may be rounded to the cent or to 5 centimes (`step` 1 or 5): Swiss books (Winbiz, Infoniqa and
many invoices) round VAT to 0.05, which the Swiss tax administration allows (FORMATS.md, Winbiz 6).
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.money import format_cents


@dataclass
class Row:
    """One line to write: the ledger line, the amount to write and the vendor VAT code it carries."""

    line: dict[str, Any]
    amount: int
    tax: str = ""
    rounding: bool = False  # a row of 100 % VAT: the difference between the VAT booked and computed


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
    coded = pc.not_equal(lines.column("vat_code").fill_null(""), "")
    vat_lines = lines.filter(pc.and_(coded, lines.column("vat_line").fill_null(False)))  # in line order
    for code, account in zip(vat_lines.column("vat_code").to_pylist(), vat_lines.column("account").to_pylist(),
                             strict=True):  # fmt: skip
        used.setdefault(code, Counter())[account] += 1
    for row in ledger.vat_codes.to_pylist():
        if row["account"]:
            accounts[row["code"]] = row["account"]
    every = set(codes) | set(used) | set(ledger.vat_codes.column("code").to_pylist())
    every |= set(pc.unique(ledger.lines.column("vat_code")).to_pylist())
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


def computed_vat(amount: int, rate: Decimal, gross: bool, step: int = 1) -> int:
    """The VAT in cents a vendor computes on `amount` (net: rate × amount; gross: the VAT inside it),
    rounded half up to a multiple of `step` cents (1, or 5 for 0.05 rounding)."""
    ratio = _net_ratio(rate, step) if not gross and -_EXACT < amount < _EXACT else None
    if ratio is not None:  # in integers: what the decimal computation below gives exactly here
        numerator, denominator = ratio
        whole, rest = divmod(abs(amount) * numerator, denominator)
        value = (whole + (2 * rest >= denominator)) * step
    else:
        share = rate / (100 + rate) if gross else rate / 100
        value = _round(abs(Decimal(amount)) * share / step) * step
    return -value if amount < 0 else value


_EXACT = 10**15
"""Amounts (cents) below which net VAT at a rate of up to 10 digits is exact in 28-digit decimals."""


@functools.lru_cache(maxsize=256)
def _net_ratio(rate: Decimal, step: int) -> tuple[int, int] | None:
    """Net VAT per `step` cents as numerator and denominator of a cent amount, where the decimal
    computation of `computed_vat` is exact (a positive rate of up to 10 digits, step 1 or 5); else None."""
    if step not in (1, 5) or not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
        return None
    if len(rate.as_tuple().digits) > 10:
        return None
    numerator, denominator = rate.as_integer_ratio()
    return numerator, denominator * 100 * step


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


@dataclass
class CodeGroup:
    """The lines of one VAT code in one entry: its base lines, its VAT lines, the VAT they book and
    each base line's share of it (its own `vat_amount` where they add up, else in proportion)."""

    code: str
    bases: list[dict[str, Any]]
    vat_lines: list[dict[str, Any]]
    rate: Decimal | None
    account: str
    total: int
    shares: list[int]

    def first_reason(self) -> str:
        """Why the code cannot be carried whatever the vendor computes ("" if nothing stops it)."""
        if self.rate is None:
            return N_("its rate is unknown")
        if any(line["account"] != self.account for line in self.vat_lines):
            return N_("its VAT lines are not all on its VAT account {account}").format(account=self.account)
        return ""


def code_groups(lines: list[dict[str, Any]], plan: VatPlan, notes: list[str]) -> list[CodeGroup]:
    """The VAT codes of one entry's lines, in code order; a code with VAT lines but no base line is
    written as booked, with a note."""
    groups = []
    found: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}  # code: base lines, VAT lines
    for line in lines:
        if line["vat_code"]:
            found.setdefault(line["vat_code"], ([], []))[1 if line["vat_line"] else 0].append(line)
    for code in sorted(found):
        bases, vat_lines = found[code]
        if not bases:
            notes.append(
                N_("VAT line(s) of {code} without a base line: written as booked, without VAT code").format(code=code)
            )
            continue
        total = sum(line["amount"] for line in vat_lines)
        declared = [line["vat_amount"] for line in bases]
        if all(d is not None for d in declared) and sum(declared) == total:
            shares = [int(d) for d in declared]
        else:
            shares = allocate(total, [line["amount"] for line in bases])
        groups.append(
            CodeGroup(code, bases, vat_lines, plan.rates.get(code), plan.accounts.get(code, ""), total, shares)
        )
    return groups


def assembled(
    lines: list[dict[str, Any]], rows: dict[int, list[Row]], dropped: set[int], rounding: dict[int, Row]
) -> list[Row]:
    """The rows of an entry in line order: each line's rows (none for a dropped VAT line), a rounding
    row after the line it is anchored to."""
    out: list[Row] = []
    for line in lines:
        if id(line) not in dropped:
            out += rows[id(line)]
        if id(line) in rounding:
            out.append(rounding[id(line)])
    return out


def fold_entry(
    lines: list[dict[str, Any]], plan: VatPlan, gross: bool, step: int = 1, adjust: bool = False
) -> tuple[list[Row], list[str]]:
    """The rows a vendor that books VAT from a code must import for one entry, and why some are plain.

    A base line carries the vendor code (and, when `gross`, its VAT added to its amount) and its VAT
    line is left out, when the vendor's own computation (rounded to `step` cents) gives exactly that
    VAT on the code's account. With `adjust` (net only) another VAT is no reason to write the lines
    plain: a `rounding` row of the difference follows, in place of the code's first VAT line.
    """
    if not any(line["vat_code"] for line in lines):
        return [Row(line, line["amount"]) for line in lines], []  # nothing to fold: every line as booked
    rows = {id(line): [Row(line, line["amount"])] for line in lines}
    dropped: set[int] = set()
    rounding: dict[int, Row] = {}
    notes: list[str] = []
    for group in code_groups(lines, plan, notes):
        code, bases, vat_lines, rate, total, shares = (
            group.code, group.bases, group.vat_lines, group.rate, group.total, group.shares
        )  # fmt: skip
        why = group.first_reason()
        pieces = {id(line): [line["amount"]] for line in bases}
        difference = 0
        if why or rate is None:
            pass  # first_reason says why
        elif any(line["currency"] for line in bases + vat_lines):
            why = "its lines are in a foreign currency"
        elif not adjust:
            for line, share in zip(bases, shares, strict=True):
                amount = line["amount"] + share if gross else line["amount"]
                if computed_vat(amount, rate, gross, step) != share:
                    why = f"the program would compute other VAT at {rate} % than the {format_cents(share)} booked"
        else:
            difference = total - sum(computed_vat(line["amount"], rate, False, step) for line in bases)
            if difference and (total == 0 or (difference > 0) != (total > 0)):
                # the program would book more VAT than the books: a difference row of the other sign would
                # put turnover on the other side of the VAT account, so a base line is split first
                split = _split(bases, total, rate, step)
                if split is None:
                    why = f"the program would compute more VAT at {rate} % than the {format_cents(total)} booked"
                else:
                    pieces = split
                    difference = total - sum(computed_vat(a, rate, False, step) for p in pieces.values() for a in p)
        if why or rate is None:
            notes.append(f"VAT code {code}: {why}; written as booked, without VAT code")
            continue
        for line, share in zip(bases, shares, strict=True):
            if gross:
                rows[id(line)] = [Row(line, line["amount"] + share, plan.codes[code])]
            else:
                rows[id(line)] = [Row(line, amount, plan.codes[code]) for amount in pieces[id(line)]]
        dropped |= {id(line) for line in vat_lines}
        if difference:  # in place of the code's first VAT line, or after its last base line
            anchor = vat_lines[0] if vat_lines else bases[-1]
            rounding[id(anchor)] = Row(anchor, difference, plan.codes[code], rounding=True)
    return assembled(lines, rows, dropped, rounding), notes


def _split(
    bases: list[dict[str, Any]], total: int, rate: Decimal, step: int, tries: int = 100, most: int = 8
) -> dict[int, list[int]] | None:
    """Parts (by base line id) some base lines split into whose VAT, computed per part, is no more
    than `total` and of its sign, so that a rounding row of the rest tops it up on the same side: one
    small part off the largest line (the first of up to `tries` cents that does), else up to `most`
    parts per line too small to carry VAT (each lowers the VAT by up to half a rounding step), line
    after line from the largest; None if neither does."""
    order = sorted(bases, key=lambda b: -abs(b["amount"]))
    parts = {id(b): [b["amount"]] for b in bases}

    def fits() -> bool:
        vat_sum = sum(computed_vat(part, rate, False, step) for amounts in parts.values() for part in amounts)
        # none of the other sign, and no more than booked: the rounding row adds the rest on the same side
        return (vat_sum == 0 or (vat_sum > 0) == (total > 0)) and abs(vat_sum) <= abs(total)

    line = order[0]
    amount, sign = line["amount"], (-1 if line["amount"] < 0 else 1)
    for cents in range(1, min(abs(amount), tries)):
        parts[id(line)] = [amount - sign * cents, sign * cents]
        if fits():
            return parts
    parts[id(line)] = [amount]
    tiny = int(Decimal(50 * step) / rate) if rate else 0
    while tiny and computed_vat(tiny, rate, False, step):
        tiny -= 1
    if not tiny:
        return None
    for line in order:
        amount, sign = line["amount"], (-1 if line["amount"] < 0 else 1)
        for count in range(1, min(most, (abs(amount) - 1) // tiny) + 1):
            parts[id(line)] = [amount - sign * tiny * count] + [sign * tiny] * count
            if fits():
                return parts
    return None


def is_pair(rows: list[Row]) -> bool:
    """Two plain lines that a single debit/credit row can carry."""
    if len(rows) != 2 or any(r.tax for r in rows):
        return False
    a, b = rows[0], rows[1]
    same = (a.line["currency"], a.line["rate"]) == (b.line["currency"], b.line["rate"])
    foreign = a.line["amount_currency"], b.line["amount_currency"]
    matched = foreign == (None, None) or (None not in foreign and foreign[0] == -foreign[1])
    return a.amount == -b.amount and same and matched


def vat_checks(lines: pa.Table, plan: VatPlan) -> dict[tuple[str, str], list[int]]:
    """Per entry and VAT code with base lines and a known rate, column-wise: ``[base lines, VAT lines,
    VAT booked, VAT computed net to the cent, VAT computed net to 0.05, VAT lines of 0.00]`` (cents), the computation
    one per base line as `computed_vat` does it. Tells which entries a program computing VAT per row
    books alike, and which rounding fits the books. (`vat_check_table` gives the same as columns.)"""
    from migrator.reconcile import sums_by

    table = _check_lines(lines, plan)
    if table is None:
        return {}
    return {key: sums for key, sums in sums_by(table, ["entry", "code"], CHECKS).items() if sums[0]}


CHECKS = ["base", "vat", "booked", "cent", "five", "zero"]
"""The sums of `vat_checks`, in order."""


def _check_lines(lines: pa.Table, plan: VatPlan) -> pa.Table | None:
    """Per line of a VAT code with a known rate: its entry and code and what it adds to each of `CHECKS`."""
    if not lines.num_rows or not plan.rates:
        return None
    codes = lines.column("vat_code").fill_null("")
    known = pc.is_in(codes, pa.array(sorted(plan.rates), pa.string()))
    lines = lines.filter(known)
    if not lines.num_rows:
        return None
    encoded = lines.column("vat_code").combine_chunks().dictionary_encode()
    codes = encoded.dictionary.to_pylist()  # each code once; `at` is each line's
    at = encoded.indices.to_numpy(zero_copy_only=False)
    flag = np.asarray(lines.column("vat_line").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    amounts = np.asarray(lines.column("amount").fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    fractions = {code: rate.as_integer_ratio() for code, rate in plan.rates.items()}
    largest = max(int(amounts.max()), -int(amounts.min())) if len(amounts) else 0
    widest = max(max(n, d * 100) for n, d in fractions.values())
    # int64 where every product (and twice a remainder) fits, else Python integers: exact either way
    exact: Any = np.int64 if largest * widest * 10 < 2**62 else object
    num = np.array([fractions[c][0] for c in codes], dtype=object).astype(exact)[at]
    den = np.array([fractions[c][1] * 100 for c in codes], dtype=object).astype(exact)[at]
    product = np.abs(amounts).astype(exact) * num
    sign = np.where(amounts < 0, -1, 1)

    def rounded(step: int) -> np.ndarray:
        whole = den * step
        quotient, rest = product // whole, product % whole
        value = (quotient + (2 * rest >= whole)) * step
        return np.where(flag, 0, (value * sign).astype(np.int64))

    return pa.table({
        "entry": lines.column("entry"), "code": lines.column("vat_code"), "base": (~flag).astype(np.int64),
        "vat": flag.astype(np.int64), "booked": np.where(flag, amounts, 0), "cent": rounded(1), "five": rounded(5),
        "zero": (flag & (amounts == 0)).astype(np.int64),
    })  # fmt: skip


@dataclass(frozen=True)
class VatChecks:
    """`vat_checks` as columns: one row per entry and VAT code (those with base lines), in the dict's
    order; `sums` holds the six sums of `CHECKS` (int64), one row each."""

    entry: pa.Array
    code: pa.Array
    sums: np.ndarray

    def __len__(self) -> int:
        return len(self.entry)

    def filter(self, mask: np.ndarray) -> VatChecks:
        """The rows where `mask` is true."""
        return VatChecks(self.entry.filter(pa.array(mask)), self.code.filter(pa.array(mask)), self.sums[:, mask])

    def as_dict(self) -> dict[tuple[str, str], list[int]]:
        """As `vat_checks` gives them."""
        keys = zip(self.entry.to_pylist(), self.code.to_pylist(), strict=True)
        return dict(zip(keys, (list(row) for row in zip(*self.sums.tolist(), strict=True)), strict=True))

    def rounding_step(self) -> int:
        """`rounding_step` of these checks, column-wise."""
        booked, cent, five = self.sums[2], self.sums[3], self.sums[4]
        if len(booked) and min(int(booked.min()), int(cent.min()), int(five.min())) == -(2**63):
            booked, cent, five = (values.astype(object) for values in (booked, cent, five))  # abs() wraps there

        def over(computed: np.ndarray) -> int:
            beyond = (abs(computed) > abs(booked)) | ((computed > 0) != (booked > 0))
            return int(np.count_nonzero((booked != computed) & beyond))

        by_cent, by_five = int(np.count_nonzero(booked == cent)), int(np.count_nonzero(booked == five))
        return 5 if (by_five, -over(five)) > (by_cent, -over(cent)) else 1


def vat_check_table(lines: pa.Table, plan: VatPlan) -> VatChecks:
    """`vat_checks` as `VatChecks`, grouped with NumPy (no dict per entry and code)."""
    from migrator import money

    table = _check_lines(lines, plan)
    if table is None:
        return VatChecks(pa.array([], pa.string()), pa.array([], pa.string()), np.zeros((6, 0), dtype=np.int64))
    if any(money.may_wrap(table.column(name), table.num_rows) for name in CHECKS):  # exact sums (or their error)
        found = vat_checks(lines, plan)
        return VatChecks(pa.array([e for e, _ in found], pa.string()), pa.array([c for _, c in found], pa.string()),
                         np.array(list(found.values()), dtype=np.int64).reshape(-1, 6).T.copy())  # fmt: skip
    # groups ordered as `reconcile.sums_by` orders them: by entry, then code, each as it first appears
    entries = table.column("entry").combine_chunks().dictionary_encode(null_encoding="encode")
    codes = table.column("code").combine_chunks().dictionary_encode(null_encoding="encode")
    width = len(codes.dictionary)
    key = entries.indices.to_numpy(zero_copy_only=False).astype(np.int64) * width + codes.indices.to_numpy(
        zero_copy_only=False
    )
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sums = np.stack([
        np.add.reduceat(table.column(name).to_numpy().astype(np.int64, copy=False)[order], starts) for name in CHECKS
    ])  # fmt: skip
    groups = ordered[starts]
    kept = sums[0] != 0
    return VatChecks(entries.dictionary.take(pa.array(groups[kept] // width)),
                     codes.dictionary.take(pa.array(groups[kept] % width)), sums[:, kept])  # fmt: skip


def rounding_step(checks: dict[tuple[str, str], list[int]], entries: set[str] | None = None) -> int:
    """The VAT rounding (cents) that reproduces more entry/code groups of `checks` (of `entries`, if
    given): 5 where 0.05 rounding fits more of them than cent rounding, else 1; on a tie the one that
    computes more VAT than booked in fewer groups (those need a base line split, see `fold_entry`)."""
    cent = five = cent_over = five_over = 0
    for (entry, _), (_, _, booked, by_cent, by_five, _) in checks.items():
        if entries is None or entry in entries:
            cent += booked == by_cent
            five += booked == by_five
            cent_over += booked != by_cent and (abs(by_cent) > abs(booked) or (by_cent > 0) != (booked > 0))
            five_over += booked != by_five and (abs(by_five) > abs(booked) or (by_five > 0) != (booked > 0))
    return 5 if (five, -five_over) > (cent, -cent_over) else 1
