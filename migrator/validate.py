"""Checks every ledger passes before it is written, whatever its format.

Errors stop a conversion: an entry that does not balance, a line without an account or with an
account missing from the chart, a line without a date. Warnings do not: dates outside the fiscal
years, a voucher number used by several entries, VAT rates that are not the standard Swiss rates
for the date of supply (firms on the net tax rate method book other rates, and old books are
carried as they are, never corrected). Every problem names file and row.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import money
from migrator.i18n import N_
from migrator.model import Ledger, Problem, distinct
from migrator.money import MAX_CENTS, format_cents

MAX_PER_KIND = 200
_EPOCH = dt.date(1970, 1, 1)
"""Problems of one kind listed row by row; beyond that one line says how many more there are."""

# Standard Swiss VAT rates by date of supply (normal, reduced, accommodation), in percent.
# Source: ESTV / AFC, rates valid 2011-2017, 2018-2023 and from 2024-01-01.
SWISS_RATES: tuple[tuple[dt.date, dt.date, frozenset[Decimal]], ...] = (
    (dt.date(2011, 1, 1), dt.date(2017, 12, 31), frozenset(Decimal(r) for r in ("8.0", "2.5", "3.8"))),
    (dt.date(2018, 1, 1), dt.date(2023, 12, 31), frozenset(Decimal(r) for r in ("7.7", "2.5", "3.7"))),
    (dt.date(2024, 1, 1), dt.date(9999, 12, 31), frozenset(Decimal(r) for r in ("8.1", "2.6", "3.8"))),
)


def validate(ledger: Ledger) -> list[Problem]:
    """All problems of `ledger` found by the shared checks (the reader's own are not repeated)."""
    lines = ledger.lines
    problems: list[Problem] = []
    if not lines.num_rows:
        return problems
    problems += _too_large(lines)
    problems += _unbalanced(ledger)
    problems += _totals_fit(lines)
    problems += _missing(lines, pc.equal(lines.column("account"), ""), N_("line has no account"))
    problems += _missing(lines, pc.is_null(lines.column("date")), N_("line has no date"))
    problems += _unknown_accounts(ledger)
    problems += _outside_years(ledger)
    problems += _duplicate_vouchers(ledger)
    problems += _vat_rates(ledger)
    return problems


def _where(lines: pa.Table, index: int) -> tuple[str, int | None]:
    row = lines.column("source_row")[index].as_py()
    return lines.column("source_file")[index].as_py() or "", row


def _listed(lines: pa.Table, indexes: np.ndarray, severity: str, message: str) -> list[Problem]:
    out = []
    for index in indexes[:MAX_PER_KIND]:
        file, row = _where(lines, int(index))
        out.append(Problem(severity, message, file, row))  # type: ignore[arg-type]
    if len(indexes) > MAX_PER_KIND:
        more = N_("{count} more lines: {message}").format(count=len(indexes) - MAX_PER_KIND, message=message)
        out.append(Problem(severity, more))  # type: ignore[arg-type]
    return out


def _numpy(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.to_numpy(zero_copy_only=False)


def _missing(lines: pa.Table, mask: pa.Array, message: str) -> list[Problem]:
    return _listed(lines, np.flatnonzero(mask.to_numpy(zero_copy_only=False)), "error", message)


def _first_rows(lines: pa.Table, key: str) -> dict[str, int]:
    """Index of the first line of each value of `key`."""
    values = lines.column(key).combine_chunks().dictionary_encode()
    indices = values.indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(indices, return_index=True)
    return dict(zip(values.dictionary.to_pylist(), first.tolist(), strict=True))


_AMOUNTS = (
    ("amount", N_("amount")),
    ("amount_currency", N_("amount in foreign currency")),
    ("vat_amount", N_("VAT amount")),
)


def _too_large(lines: pa.Table) -> list[Problem]:
    """Amounts beyond `money.MAX_CENTS` (readers refuse them; a ledger built otherwise may hold them)."""
    out: list[Problem] = []
    for column, label in _AMOUNTS:
        values = lines.column(column)
        if money.largest(values) <= MAX_CENTS:
            continue
        beyond = pc.or_(pc.greater(values, MAX_CENTS), pc.less(values, -MAX_CENTS)).fill_null(False)
        indexes = np.flatnonzero(_numpy(beyond))
        for index in indexes[:MAX_PER_KIND]:
            file, row = _where(lines, int(index))
            value = format_cents(values[int(index)].as_py())
            out.append(Problem("error", N_("{label} {value} is beyond the largest migrator carries (±{largest})").format(
                label=label, value=value, largest=format_cents(MAX_CENTS)), file, row))  # fmt: skip
        if len(indexes) > MAX_PER_KIND:
            out.append(Problem("error", N_("{count} more lines: {label} beyond ±{largest}").format(
                count=len(indexes) - MAX_PER_KIND, label=label, largest=format_cents(MAX_CENTS))))  # fmt: skip
    return out


def _totals_fit(lines: pa.Table) -> list[Problem]:
    """An error when the debits or the credits of all lines sum beyond int64 cents: then some total
    (of an account, a month, a VAT code) might not fit; when both fit, every sum of a subset fits too."""
    out: list[Problem] = []
    for column, label in _AMOUNTS:
        values = lines.column(column)
        if not money.may_wrap(values, lines.num_rows):
            continue
        numbers = _numpy(values.fill_null(0)).astype(np.int64, copy=False)
        for side, chosen, pick in ((N_("debits"), numbers > 0, np.argmax), (N_("credits"), numbers < 0, np.argmin)):
            high, low = money.split(numbers[chosen])
            total = money.joined(high.sum(keepdims=True), low.sum(keepdims=True))[0]
            if money.fits(total):
                continue
            largest = int(np.flatnonzero(chosen)[pick(numbers[chosen])])
            file, row = _where(lines, largest)
            out.append(Problem("error", N_(
                "the {label} {side} of the books sum to {total}, beyond the ±{largest} that 64-bit cents hold (the "
                "largest line is here); no total over them could be exact").format(
                label=label, side=side, total=format_cents(total), largest=format_cents(money.INT64_MAX)), file, row))  # fmt: skip
    return out


def _unbalanced(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    entries = ledger.entries()
    try:
        totals = entries.sums(lines.column("amount"))
    except money.SumTooLarge:  # unbalanced by more than int64 holds: the exact totals say by how much
        totals = np.array(entries.sums(lines.column("amount"), exact=True), dtype=object)
    off = np.flatnonzero(totals)
    firsts = entries.first_lines()
    out: list[Problem] = []
    for k in off[:MAX_PER_KIND]:
        first = int(firsts[k])
        file, row = _where(lines, first)
        entry = lines.column("entry")[first].as_py()
        total = int(totals[k])
        template = N_("entry {entry} does not balance: {amount} more debit") if total > 0 else N_(
            "entry {entry} does not balance: {amount} more credit")  # fmt: skip
        out.append(Problem("error", template.format(entry=entry, amount=format_cents(abs(total))), file, row))
    if len(off) > MAX_PER_KIND:
        out.append(Problem("error", N_("{count} more entries do not balance").format(count=len(off) - MAX_PER_KIND)))
    return out


def _unknown_accounts(ledger: Ledger) -> list[Problem]:
    if not ledger.accounts.num_rows:
        return [Problem("error", N_("the ledger has no chart of accounts"))]
    lines = ledger.lines
    unknown = pc.invert(pc.is_in(lines.column("account"), ledger.accounts.column("code")))
    unknown = pc.and_(unknown, pc.not_equal(lines.column("account"), ""))
    if not pc.any(unknown).as_py():
        return []
    subset = lines.filter(unknown)
    first = _first_rows(subset, "account")
    out = []
    for code, index in sorted(first.items()):
        file, row = _where(subset, index)
        count = pc.sum(pc.equal(subset.column("account"), code)).as_py()
        message = N_("account {code} is not in the chart of accounts ({count} lines)").format(code=code, count=count)
        out.append(Problem("error", message, file, row))
    return out


def _outside_years(ledger: Ledger) -> list[Problem]:
    years = ledger.company.fiscal_years
    if not years:
        return []
    dates = ledger.lines.column("date")
    inside = pa.array(np.zeros(len(dates), dtype=bool))
    for year in years:
        span = pc.and_(
            pc.greater_equal(dates, pa.scalar(year.start, pa.date32())),
            pc.less_equal(dates, pa.scalar(year.end, pa.date32())),
        )
        inside = pc.or_(inside, span.fill_null(True))
    outside = np.flatnonzero(~inside.to_numpy(zero_copy_only=False))
    return _listed(ledger.lines, outside, "warning", N_("date is outside the fiscal years of the books"))


def _duplicate_vouchers(ledger: Ledger) -> list[Problem]:
    """A voucher shared by several entries (opening entries, often booked one per account, excepted)."""
    lines = ledger.lines
    docs = lines.column("doc")
    keep = pc.and_(pc.not_equal(docs, ""), pc.invert(lines.column("opening"))).to_numpy(zero_copy_only=False)
    if not keep.any():
        return []
    entries = ledger.entries()
    numbers = entries.numbers()
    if entries.order is None and len(numbers) > 1:
        # the lines of an entry are adjacent: one row per run of the same voucher in an entry is enough
        changes = pc.not_equal(docs.slice(1), docs.slice(0, len(numbers) - 1)).to_numpy(zero_copy_only=False)
        keep &= np.r_[True, changes | (numbers[1:] != numbers[:-1])]
    rows = pa.array(np.flatnonzero(keep))
    pairs = pa.table({"doc": pc.take(docs, rows), "entry": pa.array(numbers).take(rows)})
    if distinct(pairs.column("doc")):
        return []
    grouped = pairs.group_by("doc", use_threads=False).aggregate([("entry", "count_distinct")])
    repeated = grouped.filter(pc.greater(grouped.column("entry_count_distinct"), 1))
    if not repeated.num_rows:
        return []
    first = _first_rows(lines, "doc")
    out = []
    shared = repeated.column("doc").to_pylist()
    counts = repeated.column("entry_count_distinct").to_pylist()
    for doc, count in list(zip(shared, counts, strict=True))[:MAX_PER_KIND]:
        file, row = _where(lines, first[doc])
        out.append(Problem("warning", N_("voucher {doc!r} is used by {count} entries").format(doc=doc, count=count),
                           file, row))  # fmt: skip
    if len(shared) > MAX_PER_KIND:
        more = N_("{count} more vouchers are used by several entries").format(count=len(shared) - MAX_PER_KIND)
        out.append(Problem("warning", more))
    return out


def _vat_rates(ledger: Ledger) -> list[Problem]:
    """One warning per VAT code and rate period whose rate is not a standard Swiss rate."""
    if ledger.company.base_currency not in ("CHF", "") or not ledger.vat_codes.num_rows:
        return []
    rates: dict[str, Decimal] = {}
    for code, rate in zip(ledger.vat_codes.column("code").to_pylist(),
                          ledger.vat_codes.column("rate").to_pylist(), strict=True):  # fmt: skip
        try:
            if rate and Decimal(rate) != 0:
                rates[code] = Decimal(rate)
        except ArithmeticError:
            continue
    if not rates:
        return []
    lines = ledger.lines
    codes = list(rates)
    bounds = pc.min_max(lines.column("date")).as_py()
    if bounds["min"] is None:
        return []
    code_of_line = days = None
    # The first line of each code in each rate period whose standard rates do not include the code's rate.
    found = []
    for k, code in enumerate(codes):
        rows = None
        for number, (start, end, allowed) in enumerate(SWISS_RATES):
            if rates[code] in allowed or end < bounds["min"] or start > bounds["max"]:
                continue
            if code_of_line is None or days is None:
                code_of_line = _numpy(pc.index_in(lines.column("vat_code"), pa.array(codes, pa.string())).fill_null(-1))
                days = _numpy(pc.cast(lines.column("date"), pa.int32()).fill_null(np.iinfo(np.int32).min))
            if rows is None:
                rows = np.flatnonzero(code_of_line == k)
            on = days[rows]
            inside = (on >= (start - _EPOCH).days) & (on <= (end - _EPOCH).days)
            if inside.any():
                found.append((int(rows[int(np.argmax(inside))]), code, number))
    out = []
    for index, code, number in sorted(found):
        allowed = SWISS_RATES[number][2]
        rate = rates[code]
        file, row = _where(lines, index)
        day = lines.column("date")[index].as_py()
        standard = "/".join(str(r) for r in sorted(allowed, reverse=True))
        out.append(
            Problem(
                "warning",
                N_(
                    "VAT code {code} has rate {rate} %, not a standard Swiss rate on {day} ({standard} %): fine for "
                    "the net tax rate method or old books; carried as it is"
                ).format(code=code, rate=rate, day=day, standard=standard),
                file,
                row,
            )
        )
    return out


class _Callable(types.ModuleType):
    """`migrator.validate(ledger)` is the function even once this module is imported: importing a
    submodule sets the package's attribute of that name to the module, hiding the API's function."""

    def __call__(self, ledger: Ledger) -> list[Problem]:
        return validate(ledger)


sys.modules[__name__].__class__ = _Callable
