"""`vatfold.computed_vat` in integers (net VAT) gives what the decimal computation gives: half a cent
rounds up, away from zero, and 0.05 rounding rounds half a step up."""

from __future__ import annotations

from decimal import Decimal

from migrator.vatfold import computed_vat


def test_net_vat_rounds_half_up() -> None:
    assert computed_vat(20, Decimal("2.5"), False) == 1  # 0.5 cent
    assert computed_vat(-20, Decimal("2.5"), False) == -1
    assert computed_vat(19, Decimal("2.5"), False) == 0  # 0.475 cent
    assert computed_vat(10_000, Decimal("8.1"), False) == 810
    assert computed_vat(10_000, Decimal("8.10"), False) == 810
    assert computed_vat(12_345, Decimal("7.7"), False) == 951  # 950.565


def test_net_vat_to_five_centimes() -> None:
    assert computed_vat(3_087, Decimal("8.1"), False, 5) == 250  # 250.047 → 250
    assert computed_vat(3_117, Decimal("8.1"), False, 5) == 250  # 252.477 → 250
    assert computed_vat(3_118, Decimal("8.1"), False, 5) == 255  # 252.558 → 255
    assert computed_vat(-3_118, Decimal("8.1"), False, 5) == -255


def test_gross_and_very_large_amounts() -> None:
    assert computed_vat(10_810, Decimal("8.1"), True) == 810
    assert computed_vat(10**16, Decimal("8.1"), False) == 81 * 10**13
    assert computed_vat(10**15 + 7, Decimal("8.1"), False) == 81 * 10**12 + 1  # 81000000000000.567
    assert computed_vat(100, Decimal("0"), False) == 0
