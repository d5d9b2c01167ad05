"""Balances, counts and VAT totals of a ledger, and the comparison of two ledgers.

Everything here works on `Ledger`s only, so it holds for every pair of formats. Sums are exact
integer cents computed with Arrow group-bys (no Python object per line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from migrator.model import FiscalYear, Ledger, years_of
from migrator.money import format_cents


def _sums(lines: pa.Table, keys: list[str], value: str = "amount") -> dict[Any, int]:
    if not lines.num_rows:
        return {}
    grouped = lines.select([*keys, value]).group_by(keys, use_threads=False).aggregate([(value, "sum")])
    sums = grouped.column(f"{value}_sum").to_pylist()
    if len(keys) == 1:
        return {k: int(s or 0) for k, s in zip(grouped.column(keys[0]).to_pylist(), sums, strict=True)}
    key_lists = [grouped.column(k).to_pylist() for k in keys]
    return {tuple(k): int(s or 0) for *k, s in zip(*key_lists, sums, strict=True)}


def trial_balance(ledger: Ledger) -> dict[str, int]:
    """Net amount per account code over all lines, in cents, debit positive (accounts in code order)."""
    sums = ledger.memo("trial_balance", lambda: _sums(ledger.lines, ["account"]))
    return dict(sorted(sums.items(), key=lambda item: _code_key(item[0])))


def _code_key(code: str) -> tuple[int, str]:
    return (0, code.zfill(20)) if code.isdigit() else (1, code)


def entry_totals(lines: pa.Table) -> dict[str, int]:
    """Sum of each entry's lines in cents (zero when it balances)."""
    return _sums(lines, ["entry"])


def vat_totals(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Per VAT code: base (tagged lines that are not VAT lines), booked VAT (the VAT lines) and
    declared VAT (the VAT amounts carried on base lines), in cents."""
    totals = ledger.memo("vat_totals", lambda: _vat_totals(ledger.lines))
    return {code: dict(sums) for code, sums in totals.items()}


def _vat_totals(lines: pa.Table) -> dict[str, dict[str, int]]:
    """One group-by over (code, is VAT line): Arrow's sum leaves out the nulls of `vat_amount`."""
    if not lines.num_rows:
        return {}
    grouped = (
        lines.select(["vat_code", "vat_line", "amount", "vat_amount"])
        .group_by(["vat_code", "vat_line"], use_threads=False)
        .aggregate([("amount", "sum"), ("vat_amount", "sum")])
    )
    totals: dict[str, dict[str, int]] = {}
    rows = zip(*(grouped.column(c).to_pylist() for c in ("vat_code", "vat_line", "amount_sum", "vat_amount_sum")),
               strict=True)  # fmt: skip
    for code, vat_line, amount, declared in rows:
        if not code:
            continue
        sums = totals.setdefault(code, {"base": 0, "vat": 0, "declared": 0})
        if vat_line:
            sums["vat"] += int(amount or 0)
        else:
            sums["base"] += int(amount or 0)
            sums["declared"] += int(declared or 0)
    return dict(sorted(totals.items()))


@dataclass(frozen=True)
class YearSummary:
    year: FiscalYear
    opening: dict[str, int]
    movements: dict[str, int]

    @property
    def closing(self) -> dict[str, int]:
        codes = sorted(set(self.opening) | set(self.movements), key=_code_key)
        return {c: self.opening.get(c, 0) + self.movements.get(c, 0) for c in codes}


def years(ledger: Ledger) -> list[YearSummary]:
    """Opening (opening entries of the year), movements (every other line) and closing per account."""
    out = []
    lines = ledger.lines.select(["date", "account", "amount", "opening"])
    for year in years_of(ledger):
        in_year = pc.and_(
            pc.greater_equal(lines.column("date"), pa.scalar(year.start, pa.date32())),
            pc.less_equal(lines.column("date"), pa.scalar(year.end, pa.date32())),
        )
        of_year = lines.filter(in_year)
        opening = _sums(of_year.filter(of_year.column("opening")), ["account"])
        movements = _sums(of_year.filter(pc.invert(of_year.column("opening"))), ["account"])
        out.append(YearSummary(year, opening, movements))
    return out


def monthly_totals(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Per month (``yyyy-mm``): number of lines and total debits, in cents."""
    lines = ledger.lines
    if not lines.num_rows:
        return {}
    month = pc.strftime(pc.cast(lines.column("date"), pa.timestamp("s")), "%Y-%m")
    debit = pc.if_else(pc.greater(lines.column("amount"), 0), lines.column("amount"), 0)
    table = pa.table({"month": month, "debit": debit})
    grouped = table.group_by("month", use_threads=False).aggregate([("debit", "sum"), ("debit", "count")])
    rows = zip(*(grouped.column(c).to_pylist() for c in ("month", "debit_sum", "debit_count")), strict=True)
    return {m: {"lines": int(n), "debit": int(s)} for m, s, n in sorted(rows, key=lambda r: r[0] or "")}


@dataclass
class Comparison:
    """What differs between the books before and after a write-and-read."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _entries_besides_opening(ledger: Ledger) -> int:
    lines = ledger.lines
    return len(pc.unique(lines.filter(pc.invert(lines.column("opening"))).column("entry"))) if lines.num_rows else 0


def compare(before: Ledger, after: Ledger, keeps: tuple[str, ...]) -> Comparison:
    """Compare what the target format `keeps`; account balances are always compared."""
    result = Comparison()
    counts_before, counts_after = before.counts(), after.counts()
    for what in ("entries", "lines", "accounts", "partners", "open_items", "vat_codes"):
        a, b = counts_before[what], counts_after[what]
        if a == b:
            continue
        message = f"{what}: {a} before, {b} after"
        if what == "entries" and _entries_besides_opening(before) == _entries_besides_opening(after):
            message += " (only opening entries differ: the format keeps one opening balance per account)"
            result.notes.append(message)
            continue
        (result.differences if what in keeps else result.notes).append(message)
    tb_before, tb_after = trial_balance(before), trial_balance(after)
    for code in sorted(set(tb_before) | set(tb_after), key=_code_key):
        a, b = tb_before.get(code, 0), tb_after.get(code, 0)
        if a != b:
            result.differences.append(f"account {code}: balance {format_cents(a)} before, {format_cents(b)} after")
    if "vat_codes" in keeps or "lines" in keeps:
        vb, va = _vat_totals_as(before, after.format), vat_totals(after)
        for code in sorted(set(vb) | set(va)):
            if vb.get(code) != va.get(code):
                b0 = vb.get(code, {"base": 0, "vat": 0})
                a0 = va.get(code, {"base": 0, "vat": 0})
                result.differences.append(
                    f"VAT {code}: base {format_cents(b0['base'])}/{format_cents(a0['base'])}, "
                    f"VAT {format_cents(b0['vat'])}/{format_cents(a0['vat'])} before/after"
                )
    return result


def _vat_totals_as(ledger: Ledger, vendor: str) -> dict[str, dict[str, int]]:
    """`vat_totals` under the codes a writer for `vendor` translated them to (codes it keeps as they are)."""
    from migrator import vat

    totals = vat_totals(ledger)
    if ledger.format == vendor or not vat.vendor_codes(vendor):
        return totals
    codes, _ = vat.translate(ledger, vendor)
    merged: dict[str, dict[str, int]] = {}
    for code, sums in totals.items():
        into = merged.setdefault(codes.get(code, code), {"base": 0, "vat": 0, "declared": 0})
        for key, value in sums.items():
            into[key] += value
    return merged


def summary(ledger: Ledger) -> dict[str, Any]:
    """The JSON-ready description of a ledger that `migrator inspect --json` prints."""
    company = ledger.company
    return {
        "format": ledger.format,
        "encoding": ledger.encoding,
        "company": {
            "name": company.name,
            "base_currency": company.base_currency,
            "vat_number": company.vat_number,
            "source_system": company.source_system,
            "fiscal_years": [{"start": y.start.isoformat(), "end": y.end.isoformat()} for y in company.fiscal_years],
        },
        "counts": {k: v for k, v in ledger.counts().items()},
        "trial_balance": {code: _text(cents) for code, cents in trial_balance(ledger).items()},
        "years": [
            {
                "start": y.year.start.isoformat(),
                "end": y.year.end.isoformat(),
                "opening": {c: _text(v) for c, v in sorted(y.opening.items(), key=lambda i: _code_key(i[0]))},
                "movements": {c: _text(v) for c, v in sorted(y.movements.items(), key=lambda i: _code_key(i[0]))},
                "closing": {c: _text(v) for c, v in y.closing.items()},
            }
            for y in years(ledger)
        ],
        "vat": {code: {k: _text(v) for k, v in t.items()} for code, t in vat_totals(ledger).items()},
        "extras": {name: [c for c in t.column_names if c != "source_row"] for name, t in ledger.extras.items()},
        "problems": [p.as_dict() for p in ledger.problems],
    }


def _text(cents: int) -> str:
    return format_cents(cents)


def date_range(ledger: Ledger) -> tuple[dt.date, dt.date] | None:
    dates = ledger.lines.column("date")
    if not len(dates) or dates.null_count == len(dates):
        return None
    bounds = pc.min_max(dates).as_py()
    return bounds["min"], bounds["max"]
