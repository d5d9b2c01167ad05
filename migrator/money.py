"""Exact money: integer minor units (cents) to and from `Decimal`, text and Arrow decimals.

The canonical ledger keeps every amount as ``int64`` cents. Conversions here never pass through a
binary float, so a value read as ``1234.56`` is written back as ``1234.56``, whatever the size.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SCALE = 2
"""Decimal places of the minor unit; every currency migrator meets (CHF, EUR, SEK, NOK) has two."""
_QUANTUM = Decimal(1).scaleb(-SCALE)
DECIMAL_TYPE = pa.decimal128(20, SCALE)


class NotCents(ValueError):
    """A value with more decimals than the minor unit can hold exactly."""


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
    """Exact sum of a cents column (0 for an empty or all-null column)."""
    total = pc.sum(cents).as_py()
    return int(total or 0)
