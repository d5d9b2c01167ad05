"""Balances, VAT totals and the comparison of two ledgers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ledgers

from migrator.model import Ledger, table
from migrator.reconcile import compare, trial_balance, vat_totals, years


def books(lines: list[tuple[str, str, int, bool]], **extra: Any) -> Ledger:
    rows = [{"entry": e, "account": a, "amount": m, "opening": o, "date": dt.date(2024, 1, 1)} for e, a, m, o in lines]
    codes = sorted({r["account"] for r in rows})
    return Ledger(accounts=table("accounts", ({"code": c} for c in codes)), lines=table("lines", rows), **extra)


OPENING_AS_PAIRS = [("1", "1000", 100, True), ("1", "9100", -100, True), ("2", "1020", 50, True),
                    ("2", "9100", -50, True), ("3", "6000", 10, False), ("3", "1020", -10, False)]  # fmt: skip
OPENING_MERGED = [("1", "1000", 100, True), ("1", "1020", 50, True), ("1", "9100", -150, True),
                  ("3", "6000", 10, False), ("3", "1020", -10, False)]  # fmt: skip


def test_identical_books_compare_clean(garage: Ledger) -> None:
    assert compare(garage, garage, ("lines", "entries", "accounts")).ok


def test_a_balance_difference_is_always_a_difference() -> None:
    before = books([("1", "1000", 100, False), ("1", "3200", -100, False)])
    after = books([("1", "1000", 101, False), ("1", "3200", -101, False)])
    result = compare(before, after, ())
    assert result.verdict == "failed"
    assert result.differences == [
        "2024-01-01–2024-12-31 account 1000: debit 1.00 before, 1.01 after; closing 1.00 before, 1.01 after",
        "2024-01-01–2024-12-31 account 3200: credit -1.00 before, -1.01 after; closing -1.00 before, -1.01 after",
    ]


def test_lines_merged_within_an_entry_are_a_difference() -> None:
    before = books([("1", "1000", 100, False), ("1", "3200", -60, False), ("1", "3200", -40, False)])
    after = books([("1", "1000", 100, False), ("1", "3200", -100, False)])
    result = compare(before, after, ("entries",))
    assert not result.ok
    assert result.entries == ["- (no voucher) 2024-01-01: 1000 1.00, 3200 -0.60, 3200 -0.40",
                              "+ (no voucher) 2024-01-01: 1000 1.00, 3200 -1.00"]  # fmt: skip
    assert compare(before, after, ()).ok  # a format that keeps no entries: the balances agree


def test_merged_opening_entries_verify_only_under_the_targets_stated_rule() -> None:
    assert not compare(books(OPENING_AS_PAIRS), books(OPENING_MERGED), ("entries",)).ok

    def one_opening(ledger: Ledger) -> Ledger:
        """The opening entries merged into one, one line per account."""
        lines = ledger.lines
        opening = lines.filter(lines.column("opening"))
        rows = [{"entry": "1", "account": a, "amount": v, "opening": True, "date": dt.date(2024, 1, 1)}
                for a, v in trial_balance(ledger.replace(lines=opening)).items()]  # fmt: skip
        others = lines.filter(pc.invert(lines.column("opening")))
        return ledger.replace(lines=pa.concat_tables([table("lines", rows), others]))

    result = compare(books(OPENING_AS_PAIRS), books(OPENING_MERGED), ("entries",), kept=one_opening)
    assert result.ok and result.verdict == "verified"
    assert result.notes == ["entries and VAT codes compared as the target keeps them: The opening entries merged into "
                            "one, one line per account."]  # fmt: skip
    lost_entry = books(OPENING_MERGED[:3])
    assert not compare(books(OPENING_AS_PAIRS), lost_entry, ("entries",), kept=one_opening).ok


def test_trial_balance_sorts_codes_numerically_then_text() -> None:
    ledger = books([("1", "10000", 1, False), ("1", "9", 1, False), ("1", "Kasse", -2, False)])
    assert list(trial_balance(ledger)) == ["9", "10000", "Kasse"]


def test_vat_totals_split_base_booked_and_declared(garage: Ledger) -> None:
    totals = vat_totals(garage)
    # By hand from samples/garage.py, 2024 sales at 8.1 %: bases 2000 + 800 + 4000, VAT 162 + 64.80 + 324.
    assert totals["V81"] == {"base": -680000, "vat": -55080, "declared": -55080}
    assert totals["I81"] == {"base": 1200000, "vat": 97200, "declared": 97200}


def test_years_split_opening_from_movements(garage: Ledger) -> None:
    first, second = years(garage)
    assert first.opening["1020"] == 4830000
    assert second.opening["2970"] + first.opening["2970"] < 0
    opening_2024 = garage.lines.filter(pc.and_(garage.lines.column("opening"),
                                               pc.equal(garage.lines.column("doc"), "OUV24")))  # fmt: skip
    assert sum(second.opening.values()) == pc.sum(opening_2024.column("amount")).as_py() == 0
    assert second.closing == {k: second.opening.get(k, 0) + second.movements.get(k, 0) for k in second.closing}


@given(st.lists(st.tuples(st.sampled_from(["1000", "2000", "", None]), st.booleans(),
                          st.one_of(st.none(), st.integers(-(10**15), 10**15))), max_size=40))  # fmt: skip
def test_sums_by_matches_python_sums(rows: list[tuple[str | None, bool, int | None]]) -> None:
    import pyarrow as pa

    from migrator.reconcile import sums_by

    table = pa.table({"code": pa.array([r[0] for r in rows], pa.string()), "flag": [r[1] for r in rows],
                      "amount": pa.array([r[2] for r in rows], pa.int64())})  # fmt: skip
    expected: dict[tuple[str | None, bool], list[int]] = {}
    for code, flag, amount in rows:
        expected.setdefault((code, flag), [0])[0] += amount or 0
    got = sums_by(table, ["code", "flag"], ["amount"])
    assert got == expected
    codes, flags = list(dict.fromkeys(r[0] for r in rows)), list(dict.fromkeys(r[1] for r in rows))
    assert list(got) == sorted(expected, key=lambda k: (codes.index(k[0]), flags.index(k[1])))
    single: dict[str | None, list[int]] = {}
    for code, _flag, amount in rows:
        single.setdefault(code, [0])[0] += amount or 0
    assert sums_by(table, ["code"], ["amount"]) == single
    assert list(sums_by(table, ["code"], ["amount"])) == list(single)  # first appearance


def test_sums_by_many_combinations_uses_a_hash_group_by() -> None:
    import pyarrow as pa

    from migrator.reconcile import sums_by

    n = 1100  # 1100 × 1000 key combinations: more slots than the direct way allows
    table = pa.table({"a": [str(i) for i in range(n)], "b": [str(i % 1000) for i in range(n)], "v": list(range(n))})
    got = sums_by(table, ["a", "b"], ["v"])
    assert got == {(str(i), str(i % 1000)): [i] for i in range(n)}


@settings(max_examples=60, deadline=None)
@given(ledgers())
def test_monthly_totals_count_lines_and_sum_debits_per_month(ledger: Ledger) -> None:
    from migrator.reconcile import monthly_totals

    expected: dict[str | None, dict[str, int]] = {}
    for day, amount in zip(ledger.lines.column("date").to_pylist(), ledger.lines.column("amount").to_pylist(),
                           strict=True):  # fmt: skip
        month = expected.setdefault(day.strftime("%Y-%m") if day else None, {"lines": 0, "debit": 0})
        month["lines"] += 1
        month["debit"] += max(amount or 0, 0)
    assert monthly_totals(ledger) == dict(sorted(expected.items(), key=lambda item: item[0] or ""))


@settings(max_examples=60, deadline=None)
@given(ledgers())
def test_years_split_opening_and_movements_per_account(ledger: Ledger) -> None:
    for summary in years(ledger):
        opening: dict[str, int] = {}
        movements: dict[str, int] = {}
        for day, account, amount, is_opening in zip(*(ledger.lines.column(c).to_pylist() for c in
                                                      ("date", "account", "amount", "opening")), strict=True):  # fmt: skip
            if day is not None and summary.year.start <= day <= summary.year.end:
                into = opening if is_opening else movements
                into[account] = into.get(account, 0) + (amount or 0)
        assert summary.opening == opening and summary.movements == movements


def test_surplus_names_the_extra_copies_by_position() -> None:
    from migrator.reconcile import _surplus

    mine = np.array([7, 3, 7, 7, 5], dtype=np.uint64)
    assert _surplus(mine, np.array([7, 5, 9], dtype=np.uint64)).tolist() == [1, 2, 3]  # 3 once, 7 twice more
    assert _surplus(mine, np.array([], dtype=np.uint64)).tolist() == [0, 1, 2, 3, 4]  # nothing read back
    assert _surplus(np.array([], dtype=np.uint64), mine).tolist() == []


@given(st.lists(st.integers(0, 6), max_size=30), st.lists(st.integers(0, 6), max_size=30))
def test_surplus_is_the_multiset_difference(mine: list[int], theirs: list[int]) -> None:
    from collections import Counter

    from migrator.reconcile import _surplus

    found = _surplus(np.array(mine, dtype=np.uint64), np.array(theirs, dtype=np.uint64)).tolist()
    assert found == sorted(found)
    assert Counter(mine[i] for i in found) == Counter(mine) - Counter(theirs)
