"""`vatfold.vat_check_table`: the sums of `vat_checks` per entry and VAT code as columns, without a
dict per entry and code; and its `rounding_step`, the choice `vatfold.rounding_step` makes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import ledgers

from migrator.model import Ledger, table
from migrator.money import SumTooLarge
from migrator.vatfold import VatPlan, computed_vat, rounding_step, vat_check_table, vat_checks, vat_plan

PLAN = VatPlan(codes={"V81": "V81"}, rates={"V81": Decimal("8.1")}, accounts={"V81": "2200"})


def _lines(rows: list[tuple[str, str, bool, int]]) -> object:
    """Lines of (entry, VAT code, VAT line, amount), numbered within their entry."""
    numbered: dict[str, int] = {}
    out = []
    for entry, code, vat_line, amount in rows:
        numbered[entry] = numbered.get(entry, 0) + 1
        out.append({"entry": entry, "line": numbered[entry], "account": "2200" if vat_line else "3000",
                    "amount": amount, "vat_code": code, "vat_line": vat_line})  # fmt: skip
    return table("lines", out)


def test_sums_per_entry_and_code_by_hand() -> None:
    lines = _lines([
        ("A", "V81", False, 10_000), ("A", "V81", True, 810), ("A", "", False, -10_810),
        # two base lines: 250.047 + 252.558 to the cent is 503, to 0.05 it is 250 + 255
        ("B", "V81", False, 3_087), ("B", "V81", False, 3_118), ("B", "V81", True, 502),
        ("C", "V81", False, 100), ("C", "V81", True, 0),  # 8.1 cents: 8, or 10 at 0.05
        ("D", "V81", True, 50),  # a VAT line without base line: no check
        ("E", "XX", False, 100),  # a code of unknown rate: no check
        ("F", "V81", False, 3_117), ("F", "V81", True, 250),  # 252.477: 252, or 250 at 0.05
    ])  # fmt: skip
    found = vat_check_table(lines, PLAN)
    assert found.as_dict() == {
        ("A", "V81"): [1, 1, 810, 810, 810, 0],
        ("B", "V81"): [2, 1, 502, 503, 505, 0],
        ("C", "V81"): [1, 1, 0, 8, 10, 1],
        ("F", "V81"): [1, 1, 250, 252, 250, 0],
    }
    assert found.entry.to_pylist() == ["A", "B", "C", "F"]
    assert found.as_dict() == vat_checks(lines, PLAN)
    # 0.05 fits A and F, the cent A alone
    assert found.rounding_step() == rounding_step(found.as_dict()) == 5
    assert found.filter(found.sums[0] == 1).entry.to_pylist() == ["A", "C", "F"]
    # without F, a tie (A alone each way): both over in B and C, so the cent
    assert found.filter(found.sums[2] != 250).rounding_step() == 1


def test_sums_that_might_pass_int64_are_exact() -> None:
    big = 2**62
    lines = _lines([("A", "V81", False, big), ("A", "V81", False, big - 1), ("A", "V81", True, -5)])
    rate = Decimal("8.1")
    cent = computed_vat(big, rate, False) + computed_vat(big - 1, rate, False)
    five = computed_vat(big, rate, False, 5) + computed_vat(big - 1, rate, False, 5)
    # 2**62 × 8.1 % is 373546567492618420.224 (one less cent: .143): each …420, a multiple of 5 too
    assert cent == five == 747_093_134_985_236_840
    assert vat_check_table(lines, PLAN).as_dict() == {("A", "V81"): [2, 1, -5, cent, five, 0]}
    too_large = _lines([("A", "V81", True, big), ("A", "V81", True, big), ("A", "V81", False, 1)])
    with pytest.raises(SumTooLarge):
        vat_check_table(too_large, PLAN)


def test_no_lines_or_no_rates() -> None:
    assert len(vat_check_table(_lines([]), PLAN)) == 0
    assert vat_check_table(_lines([("A", "V81", False, 100)]), VatPlan({}, {}, {})).as_dict() == {}
    assert vat_check_table(_lines([]), PLAN).rounding_step() == 1


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(ledgers())
def test_same_as_vat_checks(ledger: Ledger) -> None:
    plan = vat_plan(ledger, "banana")
    found = vat_check_table(ledger.lines, plan)
    expected = vat_checks(ledger.lines, plan)
    assert found.as_dict() == expected
    assert list(found.as_dict()) == list(expected)
    assert found.rounding_step() == rounding_step(expected)
