"""bexio writer: the gross amount computed directly is the one the former search found, cent for cent;
manual_entries.json laid out by the C encoder byte for byte as before."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator.vatfold import computed_vat
from migrator.writers.bexio import _unquote, dumps, gross_for, gross_vat


def searched_gross(base: int, share: int, rate: Decimal, step: int) -> int | None:
    """The writer's former `gross_for`: every cent outward from base + share, the lower one first."""
    start = base + share
    for distance in range(0, 4 * step + 4):
        for gross in (start - distance, start + distance) if distance else (start,):
            if gross - computed_vat(gross, rate, True, step) == base:
                return gross
    return None


RATES = st.one_of(
    st.sampled_from([Decimal(r) for r in ("8.1", "7.7", "2.6", "2.5", "3.8", "3.7", "0", "4", "100", "20", "12.5")]),
    st.decimals(min_value=0, max_value=200, places=3, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=50, places=10, allow_nan=False, allow_infinity=False),
)
AMOUNTS = st.one_of(st.integers(-100_000_00, 100_000_00), st.integers(-(10**16), 10**16))


@settings(max_examples=3000, deadline=None)
@given(AMOUNTS, RATES, st.sampled_from([1, 5]))
@example(14, Decimal("12"), 1)  # 14 × 12/112 is 1.5 exactly: the decimal computation gives 1.4999…
@example(70, Decimal("12"), 5)
@example(-42, Decimal("12"), 1)
@example(3, Decimal("100"), 1)  # half of 3 cents: exactly 1.5
@example(10**15, Decimal("8.1"), 5)
def test_gross_vat_is_computed_vat(amount: int, rate: Decimal, step: int) -> None:
    assert gross_vat(amount, rate, step) == computed_vat(amount, rate, True, step)


@settings(max_examples=3000, deadline=None)
@given(st.integers(-100_000_00, 100_000_00), st.integers(-2_000, 2_000), RATES, st.sampled_from([1, 5]))
@example(5813955, 436045, Decimal("7.5"), 5)
@example(10030, 812, Decimal("8.1"), 5)
@example(-10030, -812, Decimal("8.1"), 5)
@example(12, 2, Decimal("12"), 1)
@example(60, 10, Decimal("12"), 5)
@example(0, 0, Decimal("8.1"), 5)
def test_gross_for_is_the_search(base: int, share: int, rate: Decimal, step: int) -> None:
    assert gross_for(base, share, rate, step) == searched_gross(base, share, rate, step)


@settings(max_examples=1500, deadline=None)
@given(st.integers(-100_000_00, 100_000_00), RATES, st.sampled_from([1, 5]))
def test_gross_for_of_the_booked_vat_is_the_search(base: int, rate: Decimal, step: int) -> None:
    """Shares as the books hold them: the VAT of the base to the cent."""
    share = computed_vat(base, rate, False, 1)
    assert gross_for(base, share, rate, step) == searched_gross(base, share, rate, step)


def test_exact_halves_follow_the_decimal_computation() -> None:
    # 14 cents gross at 12 %: 14 × 12/112 = 1.5 exactly, but 12/112 in 28 digits is a little less, so
    # computed_vat rounds down to 1 cent; gross_vat leaves exact halves to it and gives 1 too
    assert computed_vat(14, Decimal("12"), True, 1) == 1
    assert gross_vat(14, Decimal("12"), 1) == 1
    assert gross_vat(70, Decimal("12"), 5) == 5
    assert gross_vat(3, Decimal("100"), 1) == 2  # 1.5 exactly, representable: half up
    assert gross_vat(10840, Decimal("8.1"), 5) == 810


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.sampled_from(["\x00number:12.50", 'é\n"\\']),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=1000, deadline=None)
@given(JSON_VALUES, st.sampled_from([1, 2, 4]))
def test_dumps_lays_out_as_json_does(value: object, indent: int) -> None:
    """The indented text built from the C encoder's pieces is byte for byte Python's own."""
    expected = _unquote(json.dumps(value, ensure_ascii=False, indent=indent))
    assert dumps(value, indent=indent) == expected
