"""Grouping lines by entry (`Ledger.entries`) against a plain Python grouping of the same ids."""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from migrator.model import EntryGroups, conform, rows

ids = st.one_of(
    st.integers(0, 30).map(str),  # numeric ids, in any order, some repeated apart
    st.sampled_from(["A", "B", "01", "1", " 1", "-3", "", "10"]),
)


def _lines(entries: list[str], amounts: list[int]) -> pa.Table:
    return conform("lines", {"entry": pa.array(entries, pa.string()), "amount": pa.array(amounts, pa.int64())})


def _expected(entries: list[str], amounts: list[int]) -> dict[str, tuple[int, int]]:
    """First line and sum of each id, in order of first appearance."""
    out: dict[str, tuple[int, int]] = {}
    for index, (entry, amount) in enumerate(zip(entries, amounts, strict=True)):
        first, total = out.get(entry, (index, 0))
        out[entry] = (first, total + amount)
    return out


@given(st.lists(st.tuples(ids, st.integers(-(10**12), 10**12)), max_size=60))
def test_groups_match_a_python_grouping(rows: list[tuple[str, int]]) -> None:
    entries = [r[0] for r in rows]
    amounts = [r[1] for r in rows]
    groups = EntryGroups.of(_lines(entries, amounts))
    expected = _expected(entries, amounts)
    assert groups.count == len(expected)
    assert [entries[i] for i in groups.first_lines()] == list(expected)
    assert groups.first_lines().tolist() == [first for first, _ in expected.values()]
    assert groups.sums(pa.array(amounts, pa.int64())).tolist() == [total for _, total in expected.values()]
    numbers = groups.numbers().tolist()
    assert [list(expected).index(e) for e in entries] == numbers


def test_adjacent_lines_are_grouped_without_reordering() -> None:
    groups = EntryGroups.of(_lines(["1", "1", "2", "3", "3", "3"], [1, -1, 0, 5, -2, -3]))
    assert groups.order is None
    assert groups.starts.tolist() == [0, 2, 3]


def test_an_entry_split_apart_is_one_entry() -> None:
    groups = EntryGroups.of(_lines(["7", "8", "7"], [5, 0, -5]))
    assert groups.order is not None
    assert groups.count == 2
    assert groups.sums(pa.array([5, 0, -5], pa.int64())).tolist() == [0, 0]


def test_numbers_that_repeat_in_another_spelling_are_different_entries() -> None:
    groups = EntryGroups.of(_lines(["1", "01", "1"], [1, 2, 3]))
    assert groups.count == 2
    assert groups.sums(pa.array([1, 2, 3], pa.int64())).tolist() == [4, 2]


voucher = st.tuples(st.sampled_from(["", "B", "RE-", "b"]), st.sampled_from(["", "0", "00"]), st.integers(0, 40)).map(
    lambda t: f"{t[0]}{t[1]}{t[2]}"
)


@given(st.lists(st.one_of(voucher, st.sampled_from(["", " 1", "1 ", "+1", "x"])), max_size=30))
def test_distinct_is_set_distinctness(ids: list[str]) -> None:
    from migrator.model import distinct

    assert distinct(pa.array(ids, pa.string())) == (len(set(ids)) == len(ids))


def test_rising_numbers_after_a_shared_prefix_are_distinct() -> None:
    from migrator.model import distinct

    assert distinct(pa.array([f"B{i}" for i in range(1, 2000)]))
    assert not distinct(pa.array([*(f"B{i}" for i in range(1, 2000)), "B7"]))


@given(
    st.lists(st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))), max_size=200),
    st.integers(1, 5),
)
def test_rows_equal_arrow_to_pylist(days: list[dt.date | None], chunks: int) -> None:
    """`model.rows` (dates through their distinct days) gives what Arrow's `to_pylist` gives, chunked or not."""
    size = len(days)
    cut = [size * i // chunks for i in range(chunks + 1)]
    dates = pa.chunked_array([pa.array(days[a:b], pa.date32()) for a, b in itertools.pairwise(cut)],
                             pa.date32())  # fmt: skip
    data = pa.table({"date": dates, "n": pa.array(range(size), pa.int64())})
    assert rows(data) == data.to_pylist()
    assert rows(data, ["n"]) == data.select(["n"]).to_pylist()


def _grouped_by_hand(data: pa.Table) -> list[list[dict[str, object]]]:
    groups: dict[object, list[dict[str, object]]] = {}
    for row in data.to_pylist():
        groups.setdefault(row["entry"], []).append(row)
    return [sorted(g, key=lambda r: r["line"] or 0) for g in groups.values()]


@given(
    st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["1", "2", "3", "A", "10"])), st.integers(0, 4)),
             max_size=40),
    st.integers(1, 6),
)  # fmt: skip
def test_writer_entries_in_batches_equal_the_grouping_by_hand(pairs: list[tuple[str | None, int]], batch: int) -> None:
    """`writers.base.entries` (batches of adjacent entries, or all lines at once) groups as a dict would."""
    from migrator.writers import base

    data = conform("lines", {"entry": pa.array([e for e, _ in pairs], pa.string()),
                             "line": pa.array([n or None for _, n in pairs], pa.int32())})  # fmt: skip
    original = base.ROWS_AT_ONCE
    base.ROWS_AT_ONCE = batch
    try:
        assert list(base.entries(data)) == _grouped_by_hand(data)
    finally:
        base.ROWS_AT_ONCE = original
