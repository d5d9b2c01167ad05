"""Balances, counts and VAT totals of a ledger, and the comparison of two ledgers.

Everything here works on `Ledger`s only, so it holds for every pair of formats. Sums are exact
integer cents computed with Arrow group-bys (no Python object per line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.model import FiscalYear, Ledger, years_of
from migrator.money import format_cents


def _sums(lines: pa.Table, keys: list[str], value: str = "amount") -> dict[Any, int]:
    """Exact sum of `value` (nulls count as 0) per distinct value of `keys` (a tuple for several)."""
    return {key: sums[0] for key, sums in sums_by(lines, keys, [value]).items()}


def sums_by(lines: pa.Table, keys: list[str], values: list[str]) -> dict[Any, list[int]]:
    """Exact int64 sums of each of `values` (nulls count as 0) per distinct value of `keys` (a tuple
    for several), ordered by the keys' first appearance, the first key first. Each key is hashed
    once; sums are integer additions into one slot per combination of keys (no float, no sort)."""
    if not lines.num_rows:
        return {}
    encoded = [lines.column(name).dictionary_encode(null_encoding="encode") for name in keys]
    dictionaries = [e.chunk(0).dictionary.to_pylist() for e in encoded]
    sizes = [len(d) for d in dictionaries]
    if float(np.prod(sizes, dtype=np.float64)) > max(lines.num_rows, 1 << 20):  # float-ok: a count
        return _sums_hashed(lines, keys, values)
    slots = int(np.prod(sizes))
    sums = np.zeros((len(values), slots), dtype=np.int64)
    seen = np.zeros(slots, dtype=bool)
    table = pa.table(
        [*encoded, *(lines.column(v) for v in values)], names=[*keys, *(f"v{i}" for i in range(len(values)))]
    )
    for batch in table.to_batches():  # chunks aligned across columns
        codes = batch.column(0).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        for i in range(1, len(keys)):
            codes = codes * sizes[i] + batch.column(i).indices.to_numpy(zero_copy_only=False)
        seen[codes] = True
        for j in range(len(values)):
            column = batch.column(len(keys) + j)
            numbers = column.fill_null(0) if column.null_count else column
            np.add.at(sums[j], codes, numbers.to_numpy(zero_copy_only=False).astype(np.int64, copy=False))
    out: dict[Any, list[int]] = {}
    for slot in np.flatnonzero(seen).tolist():
        parts = []
        for dictionary in reversed(dictionaries):
            slot, index = divmod(slot, len(dictionary))
            parts.append(dictionary[index])
        out[parts[0] if len(keys) == 1 else tuple(reversed(parts))] = []
    for j in range(len(values)):
        for key, total in zip(out, sums[j][seen].tolist(), strict=True):
            out[key].append(total)
    return out


def _sums_hashed(lines: pa.Table, keys: list[str], values: list[str]) -> dict[Any, list[int]]:
    """`sums_by` for very many combinations of keys: Arrow's hash group-by."""
    grouped = lines.select([*keys, *values]).group_by(keys, use_threads=False).aggregate([(v, "sum") for v in values])
    rows = zip(*(grouped.column(k).to_pylist() for k in keys), strict=True)
    totals = zip(*(grouped.column(f"{v}_sum").to_pylist() for v in values), strict=True)
    return {
        (k[0] if len(keys) == 1 else tuple(k)): [int(t or 0) for t in ts] for k, ts in zip(rows, totals, strict=True)
    }


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
    totals: dict[str, dict[str, int]] = {}
    key: Any
    for key, (amount, declared) in sums_by(lines, ["vat_code", "vat_line"],
                                                        ["amount", "vat_amount"]).items():  # fmt: skip
        code, vat_line = key
        if not code:
            continue
        sums = totals.setdefault(code, {"base": 0, "vat": 0, "declared": 0})
        if vat_line:
            sums["vat"] += amount
        else:
            sums["base"] += amount
            sums["declared"] += declared
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
        of_year = lines if pc.all(in_year.fill_null(False)).as_py() else lines.filter(in_year)  # a one-year file: all
        opening: dict[str, int] = {}
        movements: dict[str, int] = {}
        for (account, is_opening), (total,) in sums_by(of_year, ["account", "opening"], ["amount"]).items():
            (opening if is_opening else movements)[account] = total
        out.append(YearSummary(year, opening, movements))
    return out


def monthly_totals(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Per month (``yyyy-mm``): number of lines and total debits, in cents."""
    lines = ledger.lines
    if not lines.num_rows:
        return {}
    amount = lines.column("amount")
    table = pa.table({
        "date": lines.column("date"),
        "debit": pc.if_else(pc.greater(amount, 0), amount, 0).fill_null(0),
        "lines": pa.array(np.ones(lines.num_rows, dtype=np.int64)),
    })  # fmt: skip
    months: dict[Any, dict[str, int]] = {}
    for day, (debit, count) in sums_by(table, ["date"], ["debit", "lines"]).items():  # a few hundred days
        month = months.setdefault(day.strftime("%Y-%m") if day else None, {"lines": 0, "debit": 0})
        month["lines"] += count
        month["debit"] += debit
    return dict(sorted(months.items(), key=lambda item: item[0] or ""))


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
