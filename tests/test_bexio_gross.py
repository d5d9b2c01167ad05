"""bexio writer: the gross amount computed directly is the one the former search found, cent for cent;
manual_entries.json laid out by the C encoder byte for byte as before."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator.vatfold import computed_vat
from migrator.writers.bexio import (
    _PLACEHOLDER,
    _grosses,
    _single_grosses,
    _unquote,
    dumps,
    entries_json,
    gross_for,
    gross_vat,
)


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


def searched_grosses(
    bases: list[dict[str, Any]], shares: list[int], total: int, rate: Decimal, step: int
) -> dict[int, list[tuple[int, int]]]:
    """The writer's former `_grosses`: every trial's VAT summed anew, grosses by `searched_gross`."""

    def fits(parts: dict[int, list[tuple[int, int]]]) -> bool:
        computed = sum(computed_vat(gross, rate, True, step) for pieces in parts.values() for _, gross in pieces)
        same_side = computed == 0 or total == 0 or (computed > 0) == (total > 0)
        return same_side and abs(computed) <= abs(total) and abs(total - computed) <= step * (len(parts) + 8)

    parts: dict[int, list[tuple[int, int]]] = {}
    for line, share in zip(bases, shares, strict=True):
        gross = searched_gross(line["amount"], share, rate, step)
        if gross is None:
            return {}
        parts[id(line)] = [(line["amount"], gross)]
    if fits(parts):
        return parts
    largest = max(bases, key=lambda b: abs(b["amount"]))
    amount, sign = largest["amount"], (-1 if largest["amount"] < 0 else 1)
    tiny = int(Decimal(step) * (100 + rate) / (2 * rate)) if rate else 0
    while tiny and computed_vat(tiny, rate, True, step):
        tiny -= 1
    for count in range(1, 9):
        for small in range(1, tiny + 1):
            pieces = [small] + [tiny] * (count - 1)
            rest = abs(amount) - sum(pieces)
            if rest <= 0:
                return {}
            split = [(sign * p, sign * p) for p in pieces]
            gross = searched_gross(sign * rest, computed_vat(sign * rest, rate, False, step), rate, step)
            if gross is None:
                continue
            trial = {**parts, id(largest): [(sign * rest, gross), *split]}
            if fits(trial):
                return trial
    return {}


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.integers(-5_000_00, 5_000_00), min_size=1, max_size=4),
    st.sampled_from([Decimal(r) for r in ("8.1", "7.7", "2.6", "3.8", "12", "20")]),
    st.sampled_from([1, 5]),
    st.integers(-3, 3),
    st.booleans(),
)
@example([10030], Decimal("8.1"), 5, 0, False)
@example([10030, 2515, 7], Decimal("8.1"), 5, 1, False)
def test_grosses_are_the_former_search(
    amounts: list[int], rate: Decimal, step: int, offset: int, proportional: bool
) -> None:
    """Base lines with the VAT the books hold (to the cent, give or take `offset` cents): the parts and
    grosses (split lines included) are those the former search gave."""
    bases = [{"amount": a} for a in amounts]
    shares = [computed_vat(a, rate, False, 1) for a in amounts]
    shares[0] += offset
    total = sum(shares) if not proportional else sum(shares) + offset
    assert _grosses(bases, shares, total, rate, step) == searched_grosses(bases, shares, total, rate, step)


PLACEHOLDER_TEXT = st.lists(
    st.sampled_from(['"\\u0000number:', "12.50", '"', "\\", "\\u0000number:", ",", "x", '\\"', "é"]), max_size=12
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(PLACEHOLDER_TEXT)
@example('[1, "\\u0000number:12.50", "\\u0000number:-3"]')
@example('"\\u0000number:1"\\u0000number:2"')
@example('"\\u0000number:12')
def test_unquote_is_the_regular_expression(text: str) -> None:
    assert _unquote(text) == _PLACEHOLDER.sub(r"\1", text)


TEXTS = st.one_of(st.text(max_size=8), st.sampled_from(["\x00number:12.50", "\x00number:-0.05", "}, {", '"\n']))
LINES = st.dictionaries(
    st.sampled_from(["debit_account_id", "credit_account_id", "amount", "description", "tax_id"]),
    st.none() | TEXTS,
    max_size=5,
)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"type": TEXTS, "date": TEXTS, "reference_nr": st.none() | TEXTS, "entries": st.lists(LINES, max_size=3)}
    ),
    st.fixed_dictionaries({"type": TEXTS, "entries": st.lists(st.none() | st.integers() | LINES, max_size=2)}),
    st.dictionaries(st.text(max_size=3), JSON_VALUES, max_size=3),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(BODIES, max_size=5))
def test_entries_json_is_dumps(bodies: list[dict[str, Any]]) -> None:
    """manual_entries.json from the heads and lines encoded in bulk: byte for byte the indented JSON."""
    assert entries_json(bodies) == dumps(bodies, indent=2)


def former_cents(amount: Decimal, factor: Decimal) -> tuple[int, int] | str:
    """The reader's amount and foreign amount of a manual entry line as it computed them for every line."""
    from decimal import ROUND_HALF_UP

    from migrator.parsing import ParseError, exact_cents

    try:
        return exact_cents((amount * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)), exact_cents(amount)
    except (ParseError, ArithmeticError) as exc:
        return f"{type(exc).__name__}: {exc}"


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**16), max_value=10**16),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.integers(-(10**18), 10**18).map(Decimal),
    ),
    st.sampled_from([Decimal(1), Decimal("1.0"), Decimal("0.92"), Decimal("1.5")]),
)
@example(Decimal("123456789012345.67"), Decimal(1))
@example(Decimal("1E+999"), Decimal(1))
@example(Decimal("0.005"), Decimal(1))
def test_reader_amounts_as_before(amount: Decimal, factor: Decimal) -> None:
    """A written line's amounts read back (`_entry`, whole cents in the base currency taken at once)
    as the decimal computation gave them, errors included."""
    from collections import Counter

    from migrator.readers.bexio import _entry

    body = {"date": "2024-01-01", "entries": [{"amount": amount, "currency_factor": factor, "currency_id": "EUR",
                                                "debit_account_id": "1020"}]}  # fmt: skip
    try:
        lines = _entry(body, 1, "manual_entries.json", {}, Counter())
        got: tuple[int, int] | str = (lines[0]["amount"], lines[0]["amount_currency"])
    except Exception as exc:  # compared with the former computation's error
        got = f"{type(exc).__name__}: {exc}"
    assert got == former_cents(amount, factor)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.integers(-5_000_00, 5_000_00), st.integers(-40, 40), st.integers(-(10**13), 10**13)),
                       st.integers(-12, 12)), min_size=1, max_size=30),
    RATES,
    st.sampled_from([1, 5]),
)  # fmt: skip
@example([(10030, 0), (14, 0), (-42, 0), (3, 1)], Decimal("12"), 1)
@example([(10030, 0), (7, 0), (1, 0)], Decimal("8.1"), 5)
def test_column_grosses_are_the_scalar_ones(pairs: list[tuple[int, int]], rate: Decimal, step: int) -> None:
    """One base line per group, its VAT near what the books would book: the parts `_single_grosses`
    works out over whole columns are those `_grosses` gives one group at a time (and where the integers
    cannot decide, it leaves the group to `_grosses`)."""
    amounts = [a for a, _ in pairs]
    totals = [computed_vat(a, rate, False, 1) + offset for a, offset in pairs]
    found = _single_grosses(amounts, totals, rate, step)
    if found is None:
        return
    for amount, total in zip(amounts, totals, strict=True):
        if (amount, total) in found:
            line = {"amount": amount}
            parts = _grosses([line], [total], total, rate, step)
            assert found[(amount, total)] == (list(parts[id(line)]) if parts else None)
