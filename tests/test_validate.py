"""Validation shared by every format: errors stop a conversion, warnings do not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.compute as pc

from migrator.model import Company, FiscalYear, Ledger, table
from migrator.validate import validate


def ledger(lines: list[dict[str, Any]], **changes: Any) -> Ledger:
    rows = [{"source_file": "t.csv", "source_row": i + 2, "line": 1, **line} for i, line in enumerate(lines)]
    codes = sorted({r["account"] for r in rows if r.get("account")})
    base = Ledger(accounts=table("accounts", ({"code": c} for c in codes)), lines=table("lines", rows))
    return base.replace(**changes)


def line(entry: str, account: str, amount: int, day: dt.date = dt.date(2024, 5, 1), **extra: Any) -> dict[str, Any]:
    return {"entry": entry, "account": account, "amount": amount, "date": day, **extra}


def test_balanced_books_have_no_problems(garage: Ledger) -> None:
    assert validate(garage) == []


def test_unbalanced_entry_names_the_first_row() -> None:
    problems = validate(
        ledger([line("1", "1000", 100), line("1", "3200", -90), line("2", "1000", 5), line("2", "3200", -5)])
    )
    assert [(p.severity, p.row, p.message) for p in problems] == [
        ("error", 2, "entry 1 does not balance: 0.10 more debit")
    ]


def test_missing_account_and_date_are_errors() -> None:
    books = ledger([line("1", "", 100), line("1", "3200", -100, None)])
    messages = sorted(p.message for p in validate(books))
    assert messages == ["line has no account", "line has no date"]


def test_account_missing_from_the_chart_is_an_error() -> None:
    books = ledger([line("1", "1000", 100), line("1", "9999", -100)])
    books = books.replace(accounts=table("accounts", [{"code": "1000"}]))
    [problem] = validate(books)
    assert problem.severity == "error"
    assert problem.message == "account 9999 is not in the chart of accounts (1 lines)"
    assert problem.row == 3


def test_dates_outside_the_fiscal_years_are_warnings() -> None:
    year = FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    books = ledger([line("1", "1000", 1, dt.date(2025, 1, 1)), line("1", "3200", -1, dt.date(2025, 1, 1))],
                   company=Company(fiscal_years=(year,)))  # fmt: skip
    problems = validate(books)
    assert [p.severity for p in problems] == ["warning", "warning"]
    assert "outside the fiscal years" in problems[0].message


def test_duplicated_voucher_is_a_warning() -> None:
    books = ledger([line("1", "1000", 1, doc="R1"), line("1", "3200", -1, doc="R1"),
                    line("2", "1000", 1, doc="R1"), line("2", "3200", -1, doc="R1")])  # fmt: skip
    [problem] = validate(books)
    assert (problem.severity, problem.message) == ("warning", "voucher 'R1' is used by 2 entries")


def test_non_standard_vat_rate_is_a_warning_once_per_code_and_period() -> None:
    vat = table("vat_codes", [{"code": "S65", "rate": "6.5", "kind": "sales"}, {"code": "V81", "rate": "8.1"}])
    books = ledger(
        [
            line("1", "1100", 100, dt.date(2023, 3, 1)),
            line("1", "3200", -100, dt.date(2023, 3, 1), vat_code="S65"),
            line("2", "1100", 100, dt.date(2023, 4, 1)),
            line("2", "3200", -100, dt.date(2023, 4, 1), vat_code="S65"),
            line("3", "1100", 100, dt.date(2024, 4, 1)),
            line("3", "3200", -100, dt.date(2024, 4, 1), vat_code="V81"),
        ],
        vat_codes=vat,
    )
    problems = validate(books)
    assert len(problems) == 1
    assert problems[0].severity == "warning"
    assert "S65 has rate 6.5 %" in problems[0].message and "net tax rate" in problems[0].message


def test_old_rates_are_standard_in_their_period() -> None:
    vat = table("vat_codes", [{"code": "V77", "rate": "7.7"}, {"code": "V80", "rate": "8.0"}])
    books = ledger(
        [line("1", "1100", 1, dt.date(2023, 1, 1)), line("1", "3200", -1, dt.date(2023, 1, 1), vat_code="V77"),
         line("2", "1100", 1, dt.date(2016, 1, 1)), line("2", "3200", -1, dt.date(2016, 1, 1), vat_code="V80"),
         line("3", "1100", 1, dt.date(2024, 1, 1)), line("3", "3200", -1, dt.date(2024, 1, 1), vat_code="V77")],
        vat_codes=vat,
    )  # fmt: skip
    problems = validate(books)
    assert len(problems) == 1 and "V77 has rate 7.7 %" in problems[0].message and "2024-01-01" in problems[0].message


def test_no_chart_at_all_is_an_error() -> None:
    books = ledger([line("1", "1000", 1), line("1", "3200", -1)]).replace(accounts=table("accounts"))
    assert [p.message for p in validate(books)] == ["the ledger has no chart of accounts"]


def test_many_unbalanced_entries_are_summarised() -> None:
    rows = [line(str(i), "1000", 1) for i in range(250)]
    problems = validate(ledger(rows))
    assert len(problems) == 201
    assert problems[-1].message == "50 more entries do not balance"


def test_garage_is_balanced_per_entry(garage: Ledger) -> None:
    totals = garage.lines.group_by("entry").aggregate([("amount", "sum")])
    assert pc.all(pc.equal(totals.column("amount_sum"), 0)).as_py()


def test_opening_entries_may_share_a_voucher() -> None:
    books = ledger([line("1", "1000", 1, doc="OUV", opening=True), line("1", "9100", -1, doc="OUV", opening=True),
                    line("2", "1020", 1, doc="OUV", opening=True), line("2", "9100", -1, doc="OUV", opening=True)])  # fmt: skip
    assert validate(books) == []
