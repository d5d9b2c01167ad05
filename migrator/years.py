"""Books of several fiscal years, carried the way continuous ledgers keep them, and back.

A canonical `Ledger` keeps each fiscal year with its own opening entries (``opening=True``), as Winbiz,
Banana, SIE or FEC do. A continuous ledger (GnuCash, hledger, beancount, bexio, …) has one opening
and balances that run on: adding a later year's opening entries on top of the previous year's
balances would count every balance twice. `continuous` turns per-year books into continuous ones,
`per_year` turns a continuous ledger read back into per-year books again, for verification.

At each year end (the last day of year Y, before year Y+1 that has opening entries), `continuous`
books one closing entry, voucher ``CLOSING-Y``, text ``Year-end closing Y (migrator)``: the
income and expense accounts back to zero, the year's result into the equity account(s) where the
opening of Y+1 puts it. So every balance-sheet account continues and equals the opening of Y+1. Any
other difference between the closing of Y and the opening of Y+1 (an account whose opening differs
from its previous closing) goes into a second entry on the same day, voucher ``ADJUST-Y``, text
``Opening adjustment Y+1 (migrator)``, and is reported as a warning naming the account and both
amounts. `per_year` recognises these entries by their date (a year end) and their text, voucher or
entry id: every continuous target keeps at least one of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, table, years_of
from migrator.money import format_cents
from migrator.reconcile import sums_by

PROFIT_AND_LOSS = ("income", "expense")
# Text, and voucher or entry id, of the entries `continuous` adds; `per_year` recognises them by these.
_MARKER_RE2 = r"^(Year-end closing [0-9]{4}|Opening adjustment [0-9]{4}) \(migrator\)$"
_VOUCHER_RE2 = r"^(CLOSING|ADJUST)-[0-9]{4}(-migrator)*$"
_EPOCH = dt.date(1970, 1, 1)
_VOUCHER = re.compile(r"(CLOSING|ADJUST)-[0-9]{4}(-migrator)*")


def added_voucher(doc: str) -> bool:
    """Whether `doc` is the voucher of a closing or adjustment entry `continuous` added.

    >>> added_voucher("CLOSING-2023"), added_voucher("ADJUST-2023"), added_voucher("R23-002")
    (True, True, False)
    """
    return _VOUCHER.fullmatch(doc) is not None


def _days(day: dt.date) -> int:
    return (day - _EPOCH).days


def _year_index(lines: pa.Table, years: Sequence[FiscalYear]) -> np.ndarray:
    """For each line, the index of the fiscal year its date falls in; -1 before the first year or
    without a date (dates after the last year count to the last year, as they would continue it)."""
    dates = lines.column("date")
    days = pc.cast(dates, pa.int32()).fill_null(np.iinfo(np.int32).min).to_numpy(zero_copy_only=False)
    starts = np.array([_days(y.start) for y in years], dtype=np.int64)
    return (np.searchsorted(starts, days.astype(np.int64), side="right") - 1).astype(np.int32)


def _balances(lines: pa.Table, index: np.ndarray) -> dict[tuple[int, str, bool], int]:
    """Exact sum per (year index, account, opening flag)."""
    keyed = pa.table({"year": pa.array(index), "account": lines.column("account"),
                      "opening": lines.column("opening"), "amount": lines.column("amount")})  # fmt: skip
    return {key: sums[0] for key, sums in sums_by(keyed, ["year", "account", "opening"], ["amount"]).items()}


def reopens(ledger: Ledger) -> bool:
    """Whether a fiscal year after the first has opening entries: what `continuous` replaces. Books
    without (one year, or books already continuous) are written and compared as they are."""
    years = years_of(ledger)
    if len(years) < 2 or not ledger.lines.num_rows:
        return False
    index = _year_index(ledger.lines, years)
    return bool((ledger.lines.column("opening").to_numpy(zero_copy_only=False) & (index >= 1)).any())


def continuous(ledger: Ledger) -> tuple[Ledger, list[Problem]]:
    """The books as a continuous ledger: the first year's opening entries kept, each later year's
    replaced by a closing entry (and, where the opening differs otherwise, an adjustment entry) on the
    previous year's last day; the warnings name each adjusted account. One year: unchanged."""
    years = years_of(ledger)
    lines = ledger.lines
    if len(years) < 2 or not lines.num_rows:
        return ledger, []
    index = _year_index(lines, years)
    opening = lines.column("opening").to_numpy(zero_copy_only=False)
    dropped = opening & (index >= 1)
    if not dropped.any():
        return ledger, []
    sums = _balances(lines, index)
    openings: list[dict[str, int]] = [{} for _ in years]
    movements: list[dict[str, int]] = [{} for _ in years]
    before: dict[str, int] = {}  # lines dated before the first year (or undated) still count in the balances
    for (k, account, is_opening), total in sums.items():
        if k >= 0:
            (openings if is_opening else movements)[k][account] = total
        else:
            before[account] = before.get(account, 0) + total
    opened = np.zeros(len(years), dtype=bool)
    opened[np.unique(index[dropped])] = True
    first_dropped = {int(k): int(np.flatnonzero(dropped & (index == k))[0]) for k in np.flatnonzero(opened)}
    kinds = dict(zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("type").to_pylist(),
                     strict=True))  # fmt: skip
    taken = _Taken(lines.column("entry"))
    rows: list[dict[str, Any]] = []
    positions: list[int] = []
    problems: list[Problem] = []
    balance = _added(_added(before, openings[0]), movements[0])
    for k in range(1, len(years)):
        if opened[k]:
            entries = _closing(years[k - 1], years[k], balance, openings[k], kinds, taken, problems)
            for row in entries:
                rows.append(row)
                positions.append(first_dropped[k])
            balance = dict(openings[k])
        balance = _added(balance, movements[k])
    return ledger.replace(lines=_spliced(lines, dropped, positions, table("lines", rows))), problems


def _added(balance: dict[str, int], movements: dict[str, int]) -> dict[str, int]:
    out = dict(balance)
    for account, amount in movements.items():
        out[account] = out.get(account, 0) + amount
    return out


def _closing(year: FiscalYear, following: FiscalYear, closing: dict[str, int], opening: dict[str, int],
             kinds: dict[str, str], taken: _Taken, problems: list[Problem]) -> list[dict[str, Any]]:  # fmt: skip
    """The lines of the closing entry (and adjustment entry) between `year` and `following`."""
    accounts = list(dict.fromkeys([*closing, *opening]))
    difference = {a: opening.get(a, 0) - closing.get(a, 0) for a in accounts}

    def profit_and_loss(a: str) -> bool:
        kind = kinds.get(a, "")
        # An account of unknown type that the next opening leaves out was closed to the result.
        return kind in PROFIT_AND_LOSS or (not kind and not opening.get(a, 0))

    carried = {a: -closing.get(a, 0) for a in accounts if profit_and_loss(a) and closing.get(a, 0)}
    result = -sum(carried.values())  # the year's result, debit positive (a loss is positive)
    moved = {a: d for a, d in difference.items() if d and not profit_and_loss(a)}
    equity = {a: d for a, d in moved.items() if kinds.get(a, "") == "equity"} or {
        a: d for a, d in moved.items() if not kinds.get(a, "")
    }
    if result and equity:
        if sum(equity.values()) == result:
            carried.update(equity)
        else:  # the opening puts more or less than the result into equity: the nearest account takes it
            nearest = min(equity, key=lambda a: (abs(equity[a] - result), list(equity).index(a)))
            carried[nearest] = result
    elif result:  # no account where the opening shows the result: everything is one closing entry
        carried = {a: d for a, d in difference.items() if d}
    adjusted = {a: difference[a] - carried.get(a, 0) for a in accounts if difference[a] != carried.get(a, 0)}
    label, day = year.end.year, year.end
    if not carried and not adjusted:  # nothing changes; the entry still marks where the opening was
        carried = {a: 0 for a in opening} or {a: 0 for a in list(closing)[:1]}
    rows = _entry(carried, _unique(f"CLOSING-{label}", taken), day, f"CLOSING-{label}",
                  f"Year-end closing {label} (migrator)")  # fmt: skip
    # Worded so that verification does not take it for a declared loss (reconcile.declared_aspects).
    problems.append(Problem("info", N_(
        "the {next_year} opening is not booked on top of {label}: the closing entry CLOSING-{label} on {day} carries "
        "the balances into {next_year} (income and expenses to zero, the result into equity), as a ledger that runs "
        "on from year to year keeps them"
    ).format(next_year=following.start.year, label=label, day=day.isoformat())))  # fmt: skip
    if adjusted:
        rows += _entry(adjusted, _unique(f"ADJUST-{label}", taken), day, f"ADJUST-{label}",
                       f"Opening adjustment {following.start.year} (migrator)")  # fmt: skip
        for account, amount in adjusted.items():
            template = (
                N_("account {account}: opening {opened} {opening} differs from closing {closed} {closing} (after the "
                   "result is carried): {amount} booked as an adjustment (voucher ADJUST-{label}) on {day}")
                if account in carried else
                N_("account {account}: opening {opened} {opening} differs from closing {closed} {closing}: {amount} "
                   "booked as an adjustment (voucher ADJUST-{label}) on {day}")
            )  # fmt: skip
            problems.append(Problem("warning", template.format(
                account=account, opened=following.start.isoformat(), opening=format_cents(opening.get(account, 0)),
                closed=year.end.isoformat(), closing=format_cents(closing.get(account, 0)),
                amount=format_cents(amount), label=label, day=day.isoformat())))  # fmt: skip
    return rows


class _Taken:
    """Entry ids in use: the ledger's (asked one id at a time, without hashing the whole column) and
    those given out."""

    def __init__(self, ids: pa.ChunkedArray) -> None:
        self.ids = ids
        self.given: set[str] = set()

    def __contains__(self, entry: str) -> bool:
        return entry in self.given or bool(pc.any(pc.equal(self.ids, entry)).as_py())

    def add(self, entry: str) -> None:
        self.given.add(entry)


def _unique(entry: str, taken: _Taken) -> str:
    while entry in taken:
        entry += "-migrator"
    taken.add(entry)
    return entry


def _spliced(lines: pa.Table, dropped: np.ndarray, positions: list[int], added: pa.Table) -> pa.Table:
    """`lines` without the `dropped` rows, with row j of `added` placed before original row
    `positions[j]` (positions rise with j). Kept rows are zero-copy slices; no row is copied."""
    n = lines.num_rows
    edges = np.flatnonzero(np.diff(np.r_[0, (~dropped).astype(np.int8), 0])).reshape(-1, 2)
    cuts = np.array(positions, dtype=np.int64)
    pieces: list[tuple[int, int, pa.Table]] = []
    for start, end in edges.tolist():  # one per run of kept rows (runs are few: openings come in blocks)
        inside = cuts[(cuts > start) & (cuts < end)]
        bounds = [start, *np.unique(inside).tolist(), end]
        pieces += [(a, 1, lines.slice(a, b - a)) for a, b in itertools.pairwise(bounds)]
    if len(cuts):
        firsts = np.r_[0, np.flatnonzero(np.diff(cuts)) + 1]
        ends = np.r_[firsts[1:], len(cuts)]
        pieces += [(int(cuts[f]), 0, added.slice(int(f), int(e - f))) for f, e in zip(firsts, ends, strict=True)]
    pieces.sort(key=lambda piece: piece[:2])
    if not pieces:
        return lines.slice(0, 0) if n else lines
    return pa.concat_tables([piece for *_, piece in pieces])


def _entry(amounts: dict[str, int], entry: str, day: dt.date, doc: str, text: str) -> list[dict[str, Any]]:
    return [
        {"entry": entry, "line": n, "date": day, "doc": doc, "description": text, "account": account,
         "amount": amount, "opening": False}
        for n, (account, amount) in enumerate(amounts.items(), start=1)
    ]  # fmt: skip


def _marked(lines: pa.Table, years: Sequence[FiscalYear]) -> np.ndarray:
    """Which lines belong to the entries `continuous` added: dated on a year end, with its text, or
    (for a reader that skips texts when it reads for verification, as SAF-T's does) its voucher or
    entry id."""
    ends = pa.array([y.end for y in years], pa.date32())
    on_year_end = pc.is_in(lines.column("date"), value_set=ends).fill_null(False)
    marked = np.zeros(lines.num_rows, dtype=bool)
    where = np.flatnonzero(on_year_end.to_numpy(zero_copy_only=False))
    if not len(where):
        return marked
    candidates = lines.take(pa.array(where))
    hit = pc.match_substring_regex(candidates.column("description"), _MARKER_RE2)
    for column in ("doc", "entry"):
        hit = pc.or_(hit, pc.match_substring_regex(candidates.column(column), _VOUCHER_RE2))
    marked[where] = hit.fill_null(False).to_numpy(zero_copy_only=False)
    return marked


def per_year(ledger: Ledger, years: Sequence[FiscalYear] | None = None) -> Ledger:
    """A continuous ledger read back as per-year books: the closing and adjustment entries `continuous`
    added are removed, and each year that follows one gets opening entries (dated its first day)
    equal to the balances at the end of the previous year, those entries included. `years` are the
    source's fiscal years, for a reader that does not know them."""
    years = tuple(sorted(years or years_of(ledger), key=lambda y: y.start))
    lines = ledger.lines
    if len(years) < 2 or not lines.num_rows:
        return ledger
    marked_np = _marked(lines, years)
    if not marked_np.any():
        return ledger
    index = _year_index(lines, years)
    closed = sorted({int(k) for k in np.unique(index[marked_np]) if 0 <= k < len(years) - 1})
    per_year_account: dict[int, dict[str, int]] = {}
    for (k, account, _opening), total in _balances(lines, index).items():
        into = per_year_account.setdefault(k, {})
        into[account] = into.get(account, 0) + total
    rows: list[dict[str, Any]] = []
    positions: list[int] = []
    taken = _Taken(lines.column("entry"))
    balance: dict[str, int] = {}
    for k in range(-1, len(years)):
        balance = _added(balance, per_year_account.get(k, {}))
        if k not in closed:
            continue
        start = years[k + 1].start
        entry = _unique(f"OPENING-{start.year}", taken)
        amounts = {a: v for a, v in balance.items() if v}
        rows += [
            {"entry": entry, "line": n, "date": start, "description": f"Opening balances {start.year}",
             "account": account, "amount": amount, "opening": True}
            for n, (account, amount) in enumerate(amounts.items(), start=1)
        ]  # fmt: skip
        later = np.flatnonzero((index >= k + 1) & ~marked_np)  # before the first line of the year it opens
        positions += [int(later[0]) if len(later) else lines.num_rows] * len(amounts)
    return ledger.replace(lines=_spliced(lines, marked_np, positions, table("lines", rows)))


def as_kept(ledger: Ledger) -> Ledger:
    """each later year's opening as one entry of the balances carried into it.

    A continuous ledger has no opening entries after the first year: its closing entries carry the
    balances instead. The books as a continuous target keeps them and `per_year` reads them back:
    `per_year(continuous(ledger))`, or the books as they are where `continuous` leaves them so (the
    closing entries of an earlier conversion are ordinary entries then). Verification compares entries
    with this, and balances per year with the source itself.
    """
    return per_year(continuous(ledger)[0], years_of(ledger)) if reopens(ledger) else ledger
