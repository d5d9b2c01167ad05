"""Exact money: integer minor units (cents) to and from `Decimal`, text and Arrow decimals.

The canonical ledger keeps every amount as ``int64`` cents. Conversions here never pass through a
binary float, so a value read as ``1234.56`` is written back as ``1234.56``, whatever the size.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.errors import MigratorError

SCALE = 2
"""Decimal places of the minor unit; every currency migrator meets (CHF, EUR, SEK, NOK) has two."""
_QUANTUM = Decimal(1).scaleb(-SCALE)
DECIMAL_TYPE = pa.decimal128(20, SCALE)


INT64_MAX = (1 << 63) - 1
"""The largest total an int64 column of cents holds (92'233'720'368'547'758.07)."""

MAX_CENTS = 10**18 - 1
"""The largest amount of one line (16 digits before the decimal mark, 9'999'999'999'999'999.99).

Every reader refuses larger amounts and validation refuses any line beyond it, so a single value
always fits int64 with room: nine such lines still sum without wrapping. Sums over more lines are
proven safe from the data, not from this bound (`may_wrap`: the largest |amount| times the number of
lines), and summed exactly (`split`) when that proof fails."""


class NotCents(ValueError):
    """A value with more decimals than the minor unit can hold exactly."""


class SumTooLarge(MigratorError, OverflowError):
    """A sum of cents beyond what int64 cents hold; `groups` are the positions of the sums concerned."""

    def __init__(self, message: str, groups: Any = ()) -> None:
        super().__init__(message)
        self.groups = tuple(groups)


def to_cents(value: Decimal | int | str) -> int:
    """Exact cents of `value`; raise `NotCents` if that would round.

    >>> to_cents(Decimal("1234.5"))
    123450
    >>> to_cents("-0.05")
    -5
    """
    if isinstance(value, int):
        return value * 10**SCALE
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise NotCents(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise NotCents(f"not a finite number: {value!r}")
    cents = number.scaleb(SCALE)
    if cents != cents.to_integral_value():
        raise NotCents(f"{value} has more than {SCALE} decimals")
    return int(cents)


def to_decimal(cents: int | None) -> Decimal | None:
    """`Decimal` with two places for `cents`; None stays None.

    >>> to_decimal(-5)
    Decimal('-0.05')
    """
    if cents is None:
        return None
    return Decimal(cents).scaleb(-SCALE).quantize(_QUANTUM)


def format_cents(cents: int, decimal_mark: str = ".") -> str:
    """Plain text for `cents`: ``-1234.50``, with the given decimal mark.

    >>> format_cents(-123450, ",")
    '-1234,50'
    """
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 10**SCALE)
    return f"{sign}{whole}{decimal_mark}{part:0{SCALE}d}"


def cents_to_decimal_array(cents: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Reinterpret int64 cents as a decimal128 array with two places (exact, vectorised)."""
    if isinstance(cents, pa.ChunkedArray):
        cents = cents.combine_chunks()
    values = cents.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    pairs = np.empty((len(values), 2), dtype=np.int64)
    pairs[:, 0] = values
    pairs[:, 1] = values >> 63  # sign extension into the high 64 bits
    validity = cents.buffers()[0] if cents.null_count else None
    if validity is not None and cents.offset:
        validity = pc.is_valid(cents).buffers()[1]
    return pa.Array.from_buffers(DECIMAL_TYPE, len(values), [validity, pa.py_buffer(pairs.tobytes())])


def decimal_array_to_cents(decimals: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Exact int64 cents from a decimal array of any scale up to two places."""
    if isinstance(decimals, pa.ChunkedArray):
        decimals = decimals.combine_chunks()
    if decimals.type != DECIMAL_TYPE:
        decimals = decimals.cast(DECIMAL_TYPE)  # raises if a value would lose digits
    raw = np.frombuffer(decimals.buffers()[1], dtype=np.int64).reshape(-1, 2)
    raw = raw[decimals.offset : decimals.offset + len(decimals)]
    low, high = raw[:, 0], raw[:, 1]
    if not np.array_equal(high, low >> 63):
        raise OverflowError("amount too large for 64-bit cents")
    if len(low) and (int(low.max()) > MAX_CENTS or int(low.min()) < -MAX_CENTS):
        raise OverflowError(f"amount beyond the largest migrator reads (±{format_cents(MAX_CENTS)})")
    mask = pc.is_null(decimals).to_numpy(zero_copy_only=False) if decimals.null_count else None
    return pa.array(low.copy(), type=pa.int64(), mask=mask)


def format_cents_array(cents: pa.Array | pa.ChunkedArray, decimal_mark: str = ".") -> pa.Array:
    """Text for a whole column of cents (``"-1234.50"``); nulls stay null."""
    if isinstance(cents, pa.ChunkedArray):
        cents = cents.combine_chunks()
    if cents.null_count * 2 > len(cents):  # mostly empty (VAT amounts): format only the values
        valid = pc.is_valid(cents)
        values = format_cents_array(cents.filter(valid), decimal_mark)
        return pc.replace_with_mask(pa.nulls(len(cents), pa.string()), valid, values)
    text = pc.cast(cents_to_decimal_array(cents), pa.string())
    if decimal_mark != ".":
        text = pc.replace_substring(text, ".", decimal_mark)
    return text


def sum_cents(cents: pa.Array | pa.ChunkedArray) -> int:
    """Exact sum of a cents column (0 for an empty or all-null column); `SumTooLarge` beyond int64."""
    if not may_wrap(cents, len(cents)):
        return int(pc.sum(cents).as_py() or 0)
    numbers = cents.fill_null(0) if cents.null_count else cents
    high, low = split(np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64))
    total = joined(high.sum(keepdims=True), low.sum(keepdims=True))[0]
    if not fits(total):
        raise SumTooLarge(f"a total of {format_cents(total)} is beyond the ±{format_cents(INT64_MAX)} "
                          "that 64-bit cents hold")  # fmt: skip
    return total


# Checked sums. Integer addition in int64 wraps silently (numpy's add, Arrow's sum and group-by
# alike), so every sum of cents first proves it cannot wrap: no partial sum of `count` values can
# pass the largest |value| times `count`. When that proof fails, values are split into a high and a
# low 32-bit half that are summed apart (each half's sum fits int64 for up to 2**31 values) and
# joined as Python integers: exact at any size, and a total that does not fit int64 is found.

_LOW = (1 << 32) - 1


def largest(values: pa.Array | pa.ChunkedArray | np.ndarray) -> int:
    """The largest absolute value of a column of cents (0 when empty or all null)."""
    if isinstance(values, np.ndarray):
        return max(-int(values.min()), int(values.max())) if len(values) else 0
    bounds = pc.min_max(values).as_py()
    if bounds["min"] is None:
        return 0
    return max(-int(bounds["min"]), int(bounds["max"]))


def may_wrap(values: pa.Array | pa.ChunkedArray | np.ndarray, count: int) -> bool:
    """Whether an int64 sum of up to `count` of `values` could pass int64 (cheap: one min/max pass)."""
    return largest(values) * max(count, 1) > INT64_MAX


def split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High (signed) and low (0 to 2**32 - 1) halves of int64 values: value = high * 2**32 + low."""
    return values >> 32, values & _LOW


def joined(high_sums: np.ndarray, low_sums: np.ndarray) -> list[int]:
    """Exact totals (Python integers) from the sums of the halves `split` made."""
    return [(h << 32) + lo for h, lo in zip(high_sums.tolist(), low_sums.tolist(), strict=True)]


def fits(total: int) -> bool:
    """Whether `total` fits int64 cents."""
    return -INT64_MAX - 1 <= total <= INT64_MAX
