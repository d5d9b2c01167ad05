"""Balances, counts and VAT totals of a ledger, and the comparison of two ledgers.

Everything here works on `Ledger`s only, so it holds for every pair of formats. Sums are exact
integer cents computed with Arrow group-bys (no Python object per line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import money
from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, years_of
from migrator.money import format_cents


def _sums(lines: pa.Table, keys: list[str], value: str = "amount") -> dict[Any, int]:
    """Exact sum of `value` (nulls count as 0) per distinct value of `keys` (a tuple for several)."""
    return {key: sums[0] for key, sums in sums_by(lines, keys, [value]).items()}


def sums_by(lines: pa.Table, keys: list[str], values: list[str], exact: bool = False) -> dict[Any, list[int]]:
    """Exact int64 sums of each of `values` (nulls count as 0) per distinct value of `keys` (a tuple
    for several), ordered by the keys' first appearance, the first key first. Each key is hashed
    once; sums are integer additions into one slot per combination of keys (no float, no sort).

    A sum never wraps: `money.SumTooLarge` names the key whose total does not fit int64 (with
    `exact`, such totals are returned as they are, Python integers)."""
    if not lines.num_rows:
        return {}
    wraps = [money.may_wrap(lines.column(v), lines.num_rows) for v in values]
    encoded = [lines.column(name).dictionary_encode(null_encoding="encode") for name in keys]
    dictionaries = [e.chunk(0).dictionary.to_pylist() for e in encoded]
    sizes = [len(d) for d in dictionaries]
    if float(np.prod(sizes, dtype=np.float64)) > max(lines.num_rows, 1 << 20):  # float-ok: a count
        return _sums_hashed(lines, keys, values, wraps, exact)
    slots = int(np.prod(sizes))
    # one row of slots per value; a value that might wrap is summed in two halves (money.split)
    sums = np.zeros((len(values) + sum(wraps), slots), dtype=np.int64)
    seen = np.zeros(slots, dtype=bool)
    table = pa.table(
        [*encoded, *(lines.column(v) for v in values)], names=[*keys, *(f"v{i}" for i in range(len(values)))]
    )
    for batch in table.to_batches():  # chunks aligned across columns
        codes = batch.column(0).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        for i in range(1, len(keys)):
            codes = codes * sizes[i] + batch.column(i).indices.to_numpy(zero_copy_only=False)
        seen[codes] = True
        extra = len(values)
        for j in range(len(values)):
            column = batch.column(len(keys) + j)
            numbers = column.fill_null(0) if column.null_count else column
            numbers = numbers.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            if wraps[j]:
                high, low = money.split(numbers)
                np.add.at(sums[j], codes, high)
                np.add.at(sums[extra], codes, low)
                extra += 1
            else:
                np.add.at(sums[j], codes, numbers)
    out: dict[Any, list[int]] = {}
    for slot in np.flatnonzero(seen).tolist():
        parts = []
        for dictionary in reversed(dictionaries):
            slot, index = divmod(slot, len(dictionary))
            parts.append(dictionary[index])
        out[parts[0] if len(keys) == 1 else tuple(reversed(parts))] = []
    extra = len(values)
    for j in range(len(values)):
        if wraps[j]:
            totals = money.joined(sums[j][seen], sums[extra][seen])
            extra += 1
        else:
            totals = sums[j][seen].tolist()
        for key, total in zip(out, totals, strict=True):
            out[key].append(total)
    if any(wraps) and not exact:
        _check_fit(out, keys, values)
    return out


def _sums_hashed(
    lines: pa.Table, keys: list[str], values: list[str], wraps: list[bool], exact: bool
) -> dict[Any, list[int]]:
    """`sums_by` for very many combinations of keys: Arrow's hash group-by (its sums wrap silently,
    so a value that might wrap is summed in two halves)."""
    columns = {k: lines.column(k) for k in keys}
    sums: list[tuple[str, str]] = []
    for j, v in enumerate(values):
        if wraps[j]:
            numbers = lines.column(v).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            high, low = money.split(numbers)
            columns[f"h{j}"], columns[f"l{j}"] = pa.array(high), pa.array(low)
            sums += [(f"h{j}", "sum"), (f"l{j}", "sum")]
        else:
            columns[f"v{j}"] = lines.column(v)
            sums.append((f"v{j}", "sum"))
    grouped = pa.table(columns).group_by(keys, use_threads=False).aggregate(sums)
    rows = list(zip(*(grouped.column(k).to_pylist() for k in keys), strict=True))
    per_value = []
    for j in range(len(values)):
        if wraps[j]:
            high = grouped.column(f"h{j}_sum").to_numpy(zero_copy_only=False)
            low = grouped.column(f"l{j}_sum").to_numpy(zero_copy_only=False)
            per_value.append(money.joined(high, low))
        else:
            per_value.append([int(t or 0) for t in grouped.column(f"v{j}_sum").to_pylist()])
    out = {(k[0] if len(keys) == 1 else tuple(k)): list(ts) for k, ts in zip(rows, zip(*per_value, strict=True),
                                                                               strict=True)}  # fmt: skip
    if any(wraps) and not exact:
        _check_fit(out, keys, values)
    return out


def _check_fit(sums: dict[Any, list[int]], keys: list[str], values: list[str]) -> None:
    """`money.SumTooLarge` naming the first key whose total of a value does not fit int64."""
    for key, totals in sums.items():
        for value, total in zip(values, totals, strict=True):
            if not money.fits(total):
                raise money.SumTooLarge(
                    f"the {value} of {', '.join(keys)} {key!r} sums to {format_cents(total)}, beyond the "
                    f"±{format_cents(money.INT64_MAX)} that 64-bit cents hold"
                )


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
        return {c: _fitting(self.opening.get(c, 0) + self.movements.get(c, 0), f"the closing of account {c}")
                for c in codes}  # fmt: skip


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
    for month_name, month in months.items():
        _fitting(month["debit"], f"the debits of {month_name}")
    return dict(sorted(months.items(), key=lambda item: item[0] or ""))


def _fitting(total: int, what: str) -> int:
    """`total`, or `money.SumTooLarge` naming `what` when it does not fit int64 cents."""
    if not money.fits(total):
        raise money.SumTooLarge(
            f"{what} sums to {format_cents(total)}, beyond the ±{format_cents(money.INT64_MAX)} that 64-bit cents hold"
        )
    return total


# ------------------------------------------------------------------------------------ verification

VERIFIED = "verified"
VERIFIED_WITH_LOSSES = "verified with declared losses"
FAILED = "failed"

FIRST_ENTRIES = 10
"""How many differing entries a comparison lists (with voucher and date)."""

_ASPECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # aspect, words of a writer's declaration (`writers.base.lost`: "N <what> not carried …") naming it
    ("line_vat", ("vat codes on lines", "lines with a vat code", "vat codes of lines")),
    ("vat_codes", ("vat code", "vat codes", "tax tables")),
    ("partners", ("partners", "partner details", "partner fields", "contacts", "addresses")),
    ("items", ("items", "item fields", "articles", "products")),
    ("documents", ("documents", "document fields", "invoices")),
    ("document_lines", ("document lines", "lines of documents")),
    ("open_items", ("open items",)),
    ("groups", ("groups",)),
    ("accounts", ("accounts (chart)", "unused accounts", "accounts without lines", "accounts not")),
    ("opening", ("opening-balance lines", "opening-entry flags", "opening entries", "opening balances")),
    ("currency", ("foreign amounts", "currency names", "currencies of lines")),
    ("undated", ("entries without a date",)),
    ("zero_lines", ("empty entries", "zero-amount lines")),
    ("dates", ("lines on several dates", "line dates differing", "journal or date differ")),
    ("company", ("company name",)),
    ("base_currency", ("base currency",)),
    ("fiscal_years", ("fiscal years",)),
    ("journal", ("journal lines",)),  # a target holding no books at all (an address book)
)


def declared_aspects(problem: Problem) -> set[str]:
    """What a writer's "not carried" declaration covers (aspects verification compares).

    >>> sorted(declared_aspects(Problem("info", "6 partners not carried by this format: left out")))
    ['partners']
    """
    text = problem.message.casefold()
    what = text.split(" not carried", 1)[0].lstrip("0123456789 ") if " not carried" in text else text
    found: set[str] = set()
    for aspect, words in _ASPECTS:
        if aspect == "vat_codes" and "line_vat" in found:
            continue
        if any(what == w or what.startswith(w + " ") or (len(w) > 12 and w in what) for w in words):
            found.add(aspect)
    return found


@dataclass
class Comparison:
    """What differs between the books before and after a write-and-read, and the verdict.

    `differences` are the undeclared ones (the verification fails); `losses` are differences the
    writer declared as not carried (each with its declaration); `notes` say under which rules
    things were compared. `years` holds, per fiscal year and account, opening, debit, credit and
    closing before and after (cents) with the reason of a difference.
    """

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    years: list[dict[str, Any]] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    """The first differing entries (voucher, date, lines), before (-) and after (+)."""
    tables: list[dict[str, Any]] = field(default_factory=list)
    """Per business table (partners, items, documents, document lines): rows before and after, rows
    matched by key, missing, added and differing by field (`compare_tables`)."""

    @property
    def verdict(self) -> str:
        """``verified``, ``verified with declared losses`` or ``failed``."""
        if self.differences:
            return FAILED
        return VERIFIED_WITH_LOSSES if self.losses else VERIFIED

    @property
    def ok(self) -> bool:
        """Not failed (declared losses allowed)."""
        return self.verdict != FAILED

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "ok": self.ok, "differences": list(self.differences),
                "losses": list(self.losses), "notes": list(self.notes), "entries": list(self.entries),
                "tables": list(self.tables)}  # fmt: skip


class _Found:
    """Collects differences into a `Comparison`, matching each to the declarations that cover it."""

    def __init__(self, result: Comparison, declared: Sequence[Problem]) -> None:
        self.result = result
        self.covers: dict[str, list[Problem]] = {}
        self.tallies: dict[tuple[str, str], list[str]] = {}
        for problem in declared:
            for aspect in declared_aspects(problem):
                self.covers.setdefault(aspect, []).append(problem)

    def declaration(self, aspects: Sequence[str]) -> Problem | None:
        for aspect in aspects:
            if self.covers.get(aspect):
                return self.covers[aspect][0]
        return None

    def __call__(self, aspects: Sequence[str], message: str, tally: str = "") -> str:
        """Record a difference; returns its reason (the declaration, or "not declared"). Declared
        differences with a `tally` (what they are) are listed as one loss per declaration."""
        problem = self.declaration(aspects)
        if problem is None:
            self.result.differences.append(message)
            return "not declared"
        if tally:
            self.tallies.setdefault((tally, problem.message), []).append(message)
        else:
            self.result.losses.append(N_("{difference} (declared: {declaration})").format(difference=message,
                                                                                          declaration=problem.message))  # fmt: skip
        return problem.message

    def close(self) -> None:
        for (what, declaration), messages in self.tallies.items():
            example = messages[0] if len(messages) == 1 else N_("{count} {what}, first {first}").format(
                count=len(messages), what=what, first=messages[0])  # fmt: skip
            self.result.losses.append(N_("{difference} (declared: {declaration})").format(difference=example,
                                                                                          declaration=declaration))  # fmt: skip


@dataclass
class Expected:
    """What the comparison needs of the books before a write, worked out before the output is read
    back (`expect`): the as-kept books (a copy of the lines for writers that reshape them) need not
    be alive beside the books read back. Only a failing comparison works them out again, to name
    the entries that differ."""

    before: Ledger
    keeps: tuple[str, ...]
    target: str | None
    kept: Callable[[Ledger], Ledger] | None
    spans: tuple[FiscalYear, ...]
    balances: dict[tuple[int, str], list[int]]
    with_opening: set[tuple[int, str]]
    vat: dict[tuple[int, str], list[int]]
    prints: _Prints | None
    """Fingerprints of the as-kept entries (None where the format keeps no entries)."""
    relaxed: frozenset[str] = frozenset()
    relaxed_prints: _Prints | None = None
    """Fingerprints leaving out the aspects the writer declared lost (`relaxed`), if it declared any."""

    def source(self) -> Ledger:
        """The books as the target keeps them (worked out again)."""
        return self.kept(self.before) if self.kept is not None else self.before


def expect(
    before: Ledger,
    keeps: tuple[str, ...] = ("entries",),
    *,
    target: str | None = None,
    kept: Callable[[Ledger], Ledger] | None = None,
    declared: Sequence[Problem] = (),
) -> Expected:
    """The part of `compare` that looks only at the books before the write (see `compare`); with the
    writer's `declared` losses, also the fingerprints `compare` falls back on when entries differ."""
    if kept is None and target is not None:
        kept = _as_kept(target)
    spans = years_of(before)
    source = kept(before) if kept is not None else before
    prints = relaxed_prints = None
    relaxed = _relaxed(_Found(Comparison(), declared))
    if "entries" in keeps:
        prints = _entry_prints(source, set())
        relaxed_prints = _entry_prints(source, set(relaxed)) if relaxed else None
    return Expected(before, keeps, target, kept, spans, year_balances(before, spans), _opening_accounts(before, spans),
                    _vat_year_totals(source, spans), prints, relaxed, relaxed_prints)  # fmt: skip


def compare(
    before: Ledger,
    after: Ledger,
    keeps: tuple[str, ...] = ("entries",),
    *,
    declared: Sequence[Problem] = (),
    target: str | None = None,
    kept: Callable[[Ledger], Ledger] | None = None,
    expected: Expected | None = None,
) -> Comparison:
    """Compare the books before a write with the books read back, as an accountant compares them.

    `before` is the ledger the writer was handed, with the target's VAT codes (`pipeline.for_target`):
    codes are compared as they are, never looked up in the target's tables here.
    Per fiscal year and account: opening, debit, credit and closing. Per entry (where the format
    `keeps` entries): the same lines (account, amount, currency, VAT code) on the same dates. VAT base
    and tax per code and year. Entries and VAT are compared after applying to `before` the target
    writer's `as_kept` (how the target keeps books by nature; found from `target`, by default the
    format `after` was read as, unless `kept` is given), and the rule is stated in the notes; base currency, company name and fiscal years; accounts, VAT codes, groups,
    partners and open items by key. A difference the writer `declared` as not carried is a declared
    loss; any other fails the verification.

    `expected` is `expect(before, keeps, target=…)` worked out earlier (before `after` was read, so
    the as-kept books were let go); without it, it is worked out here.
    """
    if expected is None:
        expected = expect(before, keeps, target=target if target is not None else after.format, kept=kept)
    result = Comparison()
    found = _Found(result, declared)
    base = before.company.base_currency
    company_after = after.company
    if before.company.name != company_after.name:
        found(["company"], N_("company name: {before!r} before, {after!r} after").format(before=before.company.name,
                                                                                            after=company_after.name))  # fmt: skip
    if base != company_after.base_currency:
        found(["base_currency"], N_("base currency: {before} before, {after} after").format(
            before=base, after=company_after.base_currency))  # fmt: skip
    spans_before, spans_after = expected.spans, years_of(after)
    if spans_before != spans_after:
        found(["fiscal_years"], N_("fiscal years: {before} before, {after} after").format(
            before=_spans(spans_before), after=_spans(spans_after)))  # fmt: skip
    _compare_years(expected, after, found)
    if expected.kept is not None:
        kept = expected.kept
        rule = (getattr(kept, "__doc__", None) or "").strip().splitlines()
        who = expected.target or after.format or N_("the target")
        result.notes.append(N_("entries and VAT codes compared as {target} keeps them: {rule}").format(target=who, rule=rule[0])
                            if rule and rule[0] else N_("entries and VAT codes compared as {target} keeps them").format(target=who))  # fmt: skip
    _compare_vat(expected.vat, after, spans_before, found)
    if expected.prints is not None:
        _compare_entries(expected, after, found)
    _compare_keys(found, "accounts", ["accounts"], _keys(before.accounts, "code"), _keys(after.accounts, "code"))
    _compare_keys(found, "VAT codes", ["vat_codes"], _keys(before.vat_codes, "code"), _keys(after.vat_codes, "code"))
    _compare_keys(found, "groups", ["groups"], _keys(before.groups, "code"), _keys(after.groups, "code"))
    _compare_keys(found, "partners", ["partners"], _keys(before.partners, "id"), _keys(after.partners, "id"))
    _compare_keys(found, "open items", ["open_items"], _keys(before.open_items, "id"), _keys(after.open_items, "id"))
    result.tables = compare_tables(before, after, found, keeps, expected.target or after.format)
    found.close()
    return result


def _spans(spans: Sequence[FiscalYear]) -> str:
    return ", ".join(f"{y.start.isoformat()}–{y.end.isoformat()}" for y in spans) or "none"


def _as_kept(target: str) -> Callable[[Ledger], Ledger] | None:
    """The target writer's `as_kept(ledger)` hook, if it has one."""
    from migrator import registry
    from migrator.errors import MigratorError

    try:
        writer = registry.get(target).writer() if target else None
    except MigratorError:
        return None
    hook = getattr(writer, "as_kept", None)
    return hook if callable(hook) else None


def _keys(table: pa.Table, column: str) -> list[str]:
    return [str(v) for v in table.column(column).fill_null("").to_pylist()]


def _compare_keys(found: _Found, what: str, aspects: list[str], before: list[str], after: list[str]) -> None:
    """Rows of a table compared by key: counts, then which keys are missing or new."""
    from collections import Counter

    counted_before, counted_after = Counter(before), Counter(after)
    if counted_before == counted_after:
        return
    missing = sorted((counted_before - counted_after).elements(), key=_code_key)
    added = sorted((counted_after - counted_before).elements(), key=_code_key)
    detail = "; ".join(
        f"{label}: {', '.join(keys[:10])}{' …' if len(keys) > 10 else ''}"
        for label, keys in (("missing", missing), ("new", added))
        if keys
    )
    found(aspects, N_("{what}: {before} before, {after} after ({detail})").format(what=what, before=len(before),
                                                                                   after=len(after), detail=detail))  # fmt: skip


def _day_numbers(dates: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970 of a date32 column; a missing date is the smallest int32."""
    if isinstance(dates, pa.ChunkedArray):
        dates = dates.combine_chunks() if dates.num_chunks != 1 else dates.chunk(0)
    days = dates.cast(pa.int32())
    if days.null_count:
        days = days.fill_null(_NO_DATE)
    return np.asarray(days.to_numpy(zero_copy_only=False), dtype=np.int64)


_NO_DATE = -(2**31)
_EPOCH = dt.date(1970, 1, 1)


def _year_numbers(ledger: Ledger, spans: Sequence[FiscalYear]) -> pa.Array:
    """Index in `spans` of the fiscal year each line falls in; -1 outside them (or undated). Worked out
    once per ledger and years (the balances, the openings and the VAT totals each need it)."""
    key = "year_numbers " + " ".join(f"{y.start}/{y.end}" for y in spans)
    return ledger.memo(key, lambda: pa.array(_years_of_days(_day_numbers(ledger.lines.column("date")), spans)))


def _years_of_days(days: np.ndarray, spans: Sequence[FiscalYear]) -> np.ndarray:
    starts = np.array([(y.start - _EPOCH).days for y in spans], dtype=np.int64)
    ends = np.array([(y.end - _EPOCH).days for y in spans], dtype=np.int64)
    if not len(starts):
        return np.full(len(days), -1, dtype=np.int32)
    index = np.searchsorted(starts, days, side="right") - 1
    inside = (index >= 0) & (days <= ends[np.maximum(index, 0)]) & (days != _NO_DATE)
    return np.where(inside, index, -1).astype(np.int32)


def year_balances(ledger: Ledger, spans: Sequence[FiscalYear]) -> dict[tuple[int, str], list[int]]:
    """Per (index of the fiscal year in `spans`, account): [opening, debit, credit] in cents.

    Opening is the sum of the year's opening lines; debit and credit are the sums of its other
    positive and negative lines (credit negative). Lines outside every year are under index -1.
    """
    lines = ledger.lines
    if not lines.num_rows:
        return {}
    amount = lines.column("amount").fill_null(0)
    opening = lines.column("opening").fill_null(False)
    zero = pa.scalar(0, pa.int64())
    moving = pc.invert(opening)
    table = pa.table({
        "year": _year_numbers(ledger, spans),
        "account": lines.column("account"),
        "opening": pc.if_else(opening, amount, zero),
        "debit": pc.if_else(pc.and_(moving, pc.greater(amount, 0)), amount, zero),
        "credit": pc.if_else(pc.and_(moving, pc.less(amount, 0)), amount, zero),
    })  # fmt: skip
    return {key: sums for key, sums in sums_by(table, ["year", "account"], ["opening", "debit", "credit"]).items()}


_COLUMNS = ("opening", "debit", "credit", "closing")


def _opening_accounts(ledger: Ledger, spans: Sequence[FiscalYear]) -> set[tuple[int, str]]:
    """(year index, account) of the opening lines (an opening that nets to zero has some too)."""
    lines = ledger.lines
    if not lines.num_rows:
        return set()
    opening = lines.column("opening").fill_null(False)
    if not pc.any(opening).as_py():
        return set()
    table = pa.table({"year": _year_numbers(ledger, spans), "account": lines.column("account")})
    return set(sums_by(table.filter(opening), ["year", "account"], []))


def _compare_years(expected: Expected, after: Ledger, found: _Found) -> None:
    """Per fiscal year and account: opening, debit, credit and closing before and after."""
    spans = expected.spans
    sums_before, sums_after = expected.balances, year_balances(after, spans)
    with_opening = expected.with_opening
    keys = sorted(set(sums_before) | set(sums_after), key=lambda k: (k[0], _code_key(k[1])))
    for year, account in keys:
        b = sums_before.get((year, account), [0, 0, 0])
        a = sums_after.get((year, account), [0, 0, 0])
        row_before = [*b, sum(b)]
        row_after = [*a, sum(a)]
        label = (
            f"{spans[year].start.isoformat()}–{spans[year].end.isoformat()}" if year >= 0 else N_("outside the years")
        )
        reason = ""
        if row_before != row_after:
            changed = [
                N_("{name} {before} before, {after} after").format(
                    name=name, before=format_cents(x), after=format_cents(y)
                )
                for name, x, y in zip(_COLUMNS, row_before, row_after, strict=True)
                if x != y
            ]
            # A changed closing is explained only by entries the writer declared it left out; the
            # opening/movement split also by opening lines it declared it writes as ordinary ones.
            # Debits and credits that change alone are lines netted together: never by declaration.
            if row_before[3] != row_after[3]:
                aspects = ["undated", "journal"]
            elif row_before[0] != row_after[0] or (year, account) in with_opening:
                aspects = ["opening", "journal"]
            else:
                aspects = ["journal"]
            reason = found(
                aspects,
                N_("{label} account {account}: {changes}").format(
                    label=label, account=account, changes="; ".join(changed)
                ),
                "accounts differ in a year",
            )
        found.result.years.append({
            "start": spans[year].start.isoformat() if year >= 0 else "",
            "end": spans[year].end.isoformat() if year >= 0 else "",
            "account": account,
            "before": dict(zip(_COLUMNS, row_before, strict=True)),
            "after": dict(zip(_COLUMNS, row_after, strict=True)),
            "reason": reason,
        })  # fmt: skip


def _vat_year_totals(ledger: Ledger, spans: Sequence[FiscalYear]) -> dict[tuple[int, str], list[int]]:
    """Per (index of the fiscal year in `spans`, VAT code): [base, VAT] in cents."""
    lines = ledger.lines
    if not lines.num_rows:
        return {}
    table = pa.table({
        "year": _year_numbers(ledger, spans), "code": lines.column("vat_code").fill_null(""),
        "vat_line": lines.column("vat_line").fill_null(False), "amount": lines.column("amount"),
    })  # fmt: skip
    out: dict[tuple[int, str], list[int]] = {}
    for (year, code, vat_line), (amount,) in sums_by(table, ["year", "code", "vat_line"], ["amount"]).items():
        if code:
            out.setdefault((year, code), [0, 0])[1 if vat_line else 0] += amount
    return out


def _compare_vat(vat_before: dict[tuple[int, str], list[int]], after: Ledger, spans: Sequence[FiscalYear],
                 found: _Found) -> None:  # fmt: skip
    """VAT base and tax per code and fiscal year."""
    vat_after = _vat_year_totals(after, spans)
    for year, code in sorted(set(vat_before) | set(vat_after)):
        b, a = vat_before.get((year, code), [0, 0]), vat_after.get((year, code), [0, 0])
        if b != a:
            label = str(spans[year].start.year) if year >= 0 else N_("outside the years")
            found(["line_vat"], tally="VAT codes differ in a year", message=N_("VAT {code} {label}: base {base_before}/{base_after}, VAT {vat_before}/{vat_after} before/after").format(
                code=code, label=label, base_before=format_cents(b[0]), base_after=format_cents(a[0]), vat_before=format_cents(b[1]), vat_after=format_cents(a[1])))  # fmt: skip


# Entry fingerprints: one 64-bit hash per line from its columns (each distinct text hashed once), an
# entry's fingerprint the wrapping sum of its lines' hashes (a multiset hash: line order does not
# matter) mixed with its date. The two books' fingerprints are compared as multisets with NumPy.

_K = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9),
      np.uint64(0xD6E8FEB86659FD93), np.uint64(0xFF51AFD7ED558CCD))  # fmt: skip


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, on a whole array (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _text_hashes(column: pa.ChunkedArray, mapping: dict[str, str] | None = None) -> np.ndarray:
    """A stable 64-bit hash of each value of a text column (each distinct value hashed once)."""
    import hashlib

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = array.fill_null("").dictionary_encode()
    words = encoded.dictionary.to_pylist()
    if mapping:
        words = [mapping.get(w, w) for w in words]
    table = np.array([int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little") if w else 0
                      for w in words], dtype=np.uint64)  # fmt: skip
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return table[indices] if len(table) else np.zeros(len(array), dtype=np.uint64)


@dataclass(frozen=True)
class _Prints:
    prints: np.ndarray  # uint64, one per kept entry
    entries: np.ndarray  # the entry number (in `groups`) of each
    groups: Any  # EntryGroups


def _entry_prints(ledger: Ledger, relaxed: set[str]) -> _Prints:
    """Fingerprints of the entries of `ledger`: its first date, and its lines' date, account, amount,
    currency and VAT code; aspects in `relaxed` (declared as not carried) are left out of them."""
    lines = ledger.lines
    groups = ledger.entries()
    if not lines.num_rows:
        return _Prints(np.zeros(0, np.uint64), np.zeros(0, np.int64), groups)
    amounts = lines.column("amount").fill_null(0).to_numpy().astype(np.int64)
    with np.errstate(over="ignore"):
        hashes = _text_hashes(lines.column("account")) * _K[0]
        hashes += _mix(amounts.view(np.uint64) + _K[1]) * _K[2]
        if "currency" not in relaxed:
            base = ledger.company.base_currency
            hashes += _text_hashes(lines.column("currency"), {base: ""}) * _K[3]
        if "line_vat" not in relaxed:
            hashes += _text_hashes(lines.column("vat_code")) * _K[4]
    days = _day_numbers(lines.column("date"))
    with np.errstate(over="ignore"):
        if "dates" not in relaxed:  # each line's own date; else only the entry's first date counts
            hashes += _mix(days.view(np.uint64) + _K[4]) * _K[0]
        hashes = _mix(hashes)
    nonzero = amounts != 0
    if "zero_lines" in relaxed:
        hashes[~nonzero] = 0
    order, starts = groups.order, groups.starts
    if order is not None:
        hashes, days, nonzero = hashes[order], days[order], nonzero[order]
    sums = np.add.reduceat(hashes, starts)
    first_day = np.minimum.reduceat(days, starts)
    with np.errstate(over="ignore"):
        prints = _mix(sums + _mix(first_day.view(np.uint64)) * _K[1])
    keep = np.ones(len(starts), dtype=bool)
    if "zero_lines" in relaxed:
        keep &= np.add.reduceat(nonzero.astype(np.int64), starts) > 0
    if "undated" in relaxed:
        keep &= first_day != _NO_DATE
    numbers = np.flatnonzero(keep)
    return _Prints(prints[numbers], numbers, groups)


def _relaxed(found: _Found) -> frozenset[str]:
    """The aspects of an entry left out of its fingerprint because the writer declared them lost."""
    return frozenset(a for a in ("currency", "line_vat", "zero_lines", "undated", "dates") if found.declaration([a]))


def _surplus(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Positions in `mine` of the fingerprints it holds more often than `theirs` (the extra copies)."""
    order = np.argsort(mine, kind="stable")
    ordered = mine[order]
    values, first, counts = np.unique(ordered, return_index=True, return_counts=True)
    other_values, other_counts = np.unique(theirs, return_counts=True)
    have = np.zeros(len(values), dtype=np.int64)  # copies of each value in `theirs`
    if len(other_values):
        at = np.minimum(np.searchsorted(other_values, values), len(other_values) - 1)
        have = np.where(other_values[at] == values, other_counts[at], 0)
    group = np.repeat(np.arange(len(values)), counts)  # of each fingerprint in `ordered`
    rank = np.arange(len(ordered)) - first[group]  # its copy number among the equal ones
    return np.sort(order[rank >= have[group]]).astype(np.int64, copy=False)


def _describe(ledger: Ledger, prints: _Prints, positions: np.ndarray, sign: str) -> list[str]:
    """The entries at `positions` (of `prints`) as text: voucher, date and lines."""
    groups = prints.groups
    out = []
    ends = np.r_[groups.starts[1:], groups.lines]
    for position in positions[:FIRST_ENTRIES].tolist():
        k = int(prints.entries[position])
        rows = np.arange(groups.starts[k], ends[k])
        if groups.order is not None:
            rows = groups.order[rows]
        lines = ledger.lines.take(pa.array(rows)).select(["doc", "date", "account", "amount", "currency", "vat_code"])
        first = lines.slice(0, 1).to_pylist()[0]
        parts = [
            f"{r['account']} {format_cents(r['amount'] or 0)}"
            + (f" {r['currency']}" if r["currency"] else "")
            + (f" [{r['vat_code']}]" if r["vat_code"] else "")
            for r in lines.to_pylist()
        ]
        voucher = first["doc"] or "(no voucher)"
        out.append(f"{sign} {voucher} {first['date'] or '(no date)'}: {', '.join(parts)}")
    return out


def _compare_entries(expected: Expected, after: Ledger, found: _Found) -> None:
    """The same entries, line for line, on both sides: a merge, a split or a changed line differs."""
    assert expected.prints is not None
    strict_before, strict_after = expected.prints, _entry_prints(after, set())
    missing = _surplus(strict_before.prints, strict_after.prints)
    added = _surplus(strict_after.prints, strict_before.prints)
    if not len(missing) and not len(added):
        return
    relaxed = _relaxed(found)
    prints_before, prints_after = strict_before, strict_after
    if relaxed:
        known = expected.relaxed_prints if expected.relaxed == relaxed else None
        prints_before = known or _entry_prints(expected.source(), set(relaxed))
        prints_after = _entry_prints(after, set(relaxed))
        missing = _surplus(prints_before.prints, prints_after.prints)
        added = _surplus(prints_after.prints, prints_before.prints)
    counts = N_("{before} before, {after} after").format(
        before=len(strict_before.prints), after=len(strict_after.prints)
    )
    if not len(missing) and not len(added):
        found(sorted(relaxed), N_("entries differ only in what the writer declared ({aspects}); entries: {counts}").format(aspects=', '.join(sorted(relaxed)), counts=counts))  # fmt: skip
        return
    listed = _describe(expected.source(), prints_before, missing, "-") + _describe(after, prints_after, added, "+")
    found.result.entries.extend(listed)
    found(["journal"], N_("entries: {counts}; {missing} not found after, {added} not found before (first: {first})").format(counts=counts, missing=len(missing), added=len(added), first=listed[0]))  # fmt: skip


# ------------------------------------------------------------------ partners, items, documents (B1)

BUSINESS_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("partners", "partners", ("id",)),
    ("open_items", "open items", ("kind", "id")),
    ("items", "items", ("code",)),
    ("documents", "documents", ("id",)),
    ("document_lines", "document lines", ("document", "line")),
)
"""Table, what the report calls its rows, and the columns that key a row."""
KEYS_COMPARED = ("partners", "open_items")
"""Tables whose keys `compare` checks already (a missing row needs the writer's declaration)."""
FIRST_FIELDS = 5
"""How many differing fields a table's difference message shows."""


def _same(a: Any, b: Any) -> bool:
    """Equal values; an empty text and a missing value are the same."""
    return a == b or (a in ("", None) and b in ("", None))


def compare_tables(before: Ledger, after: Ledger, found: Any = None, keeps: Sequence[str] = (), target: str = ""
                   ) -> list[dict[str, Any]]:  # fmt: skip
    """Partners, open items, items, documents and document lines compared by key and, for rows both sides have,
    field by field. Returns per table the rows before and after, matched, missing (before only),
    added (after only) and differing; each difference is recorded with `found` (a `_Found`: declared
    losses honoured, e.g. "3 partner fields not carried by this format: …"). Items, documents or
    document lines a target format does not keep at all (not in its registry `keeps`) that come back
    empty are a loss that registry entry declares; missing partners are `compare`'s (they need the
    writer's declaration). Rows with the same key on one side are compared in order."""
    out = []
    for name, what, keys in BUSINESS_TABLES:
        mine, theirs = getattr(before, name), getattr(after, name)
        if not mine.num_rows and not theirs.num_rows:
            continue
        rows_before = _keyed(mine, keys)
        rows_after = _keyed(theirs, keys)
        missing = [k for k in rows_before if k not in rows_after]
        added = [k for k in rows_after if k not in rows_before]
        fields = [n for n in mine.column_names if n in theirs.column_names and n not in keys]
        differing: list[str] = []
        for key, row in rows_before.items():
            other = rows_after.get(key)
            if other is None:
                continue
            for column in fields:
                if not _same(row[column], other[column]):
                    differing.append(N_("{key} {column}: {before} before, {after} after").format(key='/'.join(map(str, key)), column=column, before=_shown(row[column]), after=_shown(other[column])))  # fmt: skip
        counts = {"table": name, "before": mine.num_rows, "after": theirs.num_rows,
                  "matched": len(rows_before) - len(missing), "missing": len(missing), "added": len(added),
                  "differing": len(differing)}  # fmt: skip
        out.append(counts)
        if found is None:
            continue
        if (missing or added) and name not in KEYS_COMPARED:
            first = ", ".join("/".join(map(str, k)) for k in (missing or added)[:FIRST_KEYS])
            message = (f"{what}: {mine.num_rows} before, {theirs.num_rows} after ({len(missing)} missing after, "
                       f"{len(added)} not there before; first {'missing' if missing else 'added'}: {first})")  # fmt: skip
            if found.declaration([name]) is None and name not in keeps and not theirs.num_rows:
                found.result.losses.append(N_("{message} (declared: {target} keeps no {what}, as its registry entry says)").format(message=message, target=target or N_("the target"), what=what))  # fmt: skip
            else:
                found([name], message)
        if differing:
            shown = "; ".join(differing[:FIRST_FIELDS])
            if len(differing) > FIRST_FIELDS:
                found(
                    [name],
                    N_("{what}: {count} field(s) differ: {fields} (and {more} more)").format(
                        what=what, count=len(differing), fields=shown, more=len(differing) - FIRST_FIELDS
                    ),
                )
            else:
                found(
                    [name],
                    N_("{what}: {count} field(s) differ: {fields}").format(
                        what=what, count=len(differing), fields=shown
                    ),
                )
    return out


FIRST_KEYS = 5


def _keyed(table: pa.Table, keys: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows by key; a key met again gets a running number so no row is hidden."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in table.to_pylist():
        key = tuple(row[k] for k in keys)
        n = 1
        while key in out:
            n += 1
            key = (*tuple(row[k] for k in keys), f"#{n}")
        out[key] = row
    return out


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr("" if value is None else value)


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
        "counts": {**ledger.counts(), "groups": ledger.groups.num_rows},
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
