"""What migrator's bexio writer and reader share: the open-invoice conventions of the written folder
and the VAT bexio books in a gross amount (`gross_vat`), so the reader needs nothing of the writer.

VAT: bexio books the VAT of a manual entry line itself from its ``tax_id``, out of the gross amount,
rounded to the currency's ``round_factor`` (FORMATS.md: ``GET /3.0/currencies``; see
`migrator.writers.bexio`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from migrator.vatfold import computed_vat

TRANSITION_ACCOUNT = "9990"
"""The account open invoices are carried through (class 9 of the Swiss SME chart, closing accounts)."""
TRANSITION_NAME = "Übertrag offene Posten"
"""Its name where the writer adds it to the chart (the reader takes such a row out again, see there)."""
OFFSET_PREFIX = "OP-Übertrag "
"""The start of the reference of an open invoice's offset entry (the invoice's number follows)."""
DRAFT = 7
"""bexio's ``kb_item_status_id`` of a draft invoice (*assumed*, not in FORMATS.md); issued ones differ."""


def offset_reference(number: str) -> str:
    """The ``reference_nr`` of the offset entry of open invoice `number` (bexio takes 80 characters)."""
    return (OFFSET_PREFIX + number)[:80]


def gross_vat(amount: int, rate: Decimal, step: int) -> int:
    """`computed_vat(amount, rate, True, step)` (the VAT inside a gross amount), in integers where that
    gives the same: away from an exact half step the decimal computation's error (28 digits, under
    10^-12 here) cannot change the rounding; an exact half, or a rate or amount outside the bounds, is
    left to `computed_vat`."""
    return _gross_vat_of(rate, step)(amount)


_GROSS_EXACT = 10**15
"""Amounts (cents) below which `gross_vat` computes in integers."""


@functools.lru_cache(maxsize=256)
def _gross_vat_of(rate: Decimal, step: int) -> Callable[[int], int]:
    """`gross_vat` for one rate and step. In integers: VAT per `step` cents of a gross amount is
    rate / (100 + rate) / step, for a positive rate of up to 10 digits whose fraction has a denominator
    small enough (10^10) that the 28-digit decimal computation never crosses a rounding boundary."""

    def decimal(amount: int) -> int:
        return computed_vat(amount, rate, True, step)

    ratio = _gross_ratio(rate, step)
    if ratio is None:
        return decimal
    numerator, denominator = ratio

    def integer(amount: int) -> int:
        if not -_GROSS_EXACT < amount < _GROSS_EXACT:
            return decimal(amount)
        whole, rest = divmod((amount if amount >= 0 else -amount) * numerator, denominator)
        if 2 * rest == denominator:
            return decimal(amount)
        value = (whole + (2 * rest > denominator)) * step
        return -value if amount < 0 else value

    return integer


@functools.lru_cache(maxsize=256)
def _gross_ratio(rate: Decimal, step: int) -> tuple[int, int] | None:
    """VAT per `step` cents of a gross amount as numerator and denominator, where `gross_vat` computes in
    integers (see `_gross_vat_of`); else None."""
    if step not in (1, 5) or not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
        return None
    if len(rate.as_tuple().digits) > 10:
        return None
    fraction = Fraction(*rate.as_integer_ratio())
    share = fraction / (100 + fraction)
    numerator, denominator = share.numerator, share.denominator * step
    if denominator > 10**10:
        return None
    return numerator, denominator
