"""Exact money: cents, decimals, text and Arrow columns, never a binary float."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator import money

CENTS = st.integers(min_value=-(10**17), max_value=10**17)


@pytest.mark.parametrize(
    ("value", "cents"),
    [(Decimal("1234.5"), 123450), ("-0.05", -5), (3, 300), ("0.00", 0), (Decimal("1E+3"), 100000)],
)
def test_to_cents(value: object, cents: int) -> None:
    assert money.to_cents(value) == cents  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1.005", "abc", "NaN", "Infinity"])
def test_to_cents_refuses_what_would_round(value: str) -> None:
    with pytest.raises(money.NotCents):
        money.to_cents(value)


@given(CENTS)
def test_text_round_trip(cents: int) -> None:
    assert money.to_cents(money.format_cents(cents)) == cents
    assert money.to_cents(money.to_decimal(cents)) == cents  # type: ignore[arg-type]


@given(st.lists(st.one_of(CENTS, st.none()), max_size=50), st.integers(0, 5))
def test_arrow_columns_round_trip_exactly(values: list[int | None], offset: int) -> None:
    column = pa.array(values, pa.int64()).slice(min(offset, len(values)))
    decimals = money.cents_to_decimal_array(column)
    assert decimals.to_pylist() == [money.to_decimal(v) for v in column.to_pylist()]
    assert money.decimal_array_to_cents(decimals).to_pylist() == column.to_pylist()
    text = money.format_cents_array(column, ",").to_pylist()
    assert text == [None if v is None else money.format_cents(v, ",") for v in column.to_pylist()]


def test_sum_cents() -> None:
    assert money.sum_cents(pa.array([1, 2, None, -3], pa.int64())) == 0
    assert money.sum_cents(pa.array([], pa.int64())) == 0


def test_format_cents() -> None:
    assert money.format_cents(-123450) == "-1234.50"
    assert money.format_cents(5) == "0.05"
    assert money.format_cents(-5, ",") == "-0,05"


@given(st.lists(st.one_of(st.none(), st.integers(-(10**17), 10**17)), max_size=50))
def test_format_cents_array_formats_each_value_and_keeps_nulls(values: list[int | None]) -> None:
    import pyarrow as pa

    from migrator.money import format_cents, format_cents_array

    got = format_cents_array(pa.array(values, pa.int64())).to_pylist()
    assert got == [None if v is None else format_cents(v) for v in values]
