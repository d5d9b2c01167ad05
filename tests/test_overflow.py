"""Sums of cents never wrap, amounts beyond the largest line are refused, and dates a writer cannot
hold are a clear error (issue 12)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import money, pipeline, registry
from migrator.errors import MigratorError, UnsupportedOperation
from migrator.model import EntryGroups, Ledger, table
from migrator.parsing import AmountColumn, ParseError, cell_cents, cents_of, parse_cents
from migrator.reconcile import _sums_hashed, monthly_totals, sums_by, trial_balance, vat_totals, years
from migrator.validate import validate

INT64_MAX = 2**63 - 1
HEADER = "entry,line,date,doc,description,account,amount,currency\n"


def books(lines: list[tuple[str, str, int]], **extra: Any) -> Ledger:
    """A ledger built directly (no reader): (entry, account, cents) per line, rows from 2 in t.csv."""
    rows = [
        {"entry": e, "line": i + 1, "date": dt.date(2024, 5, 1), "account": a, "amount": cents,
         "source_file": "t.csv", "source_row": i + 2, **extra}
        for i, (e, a, cents) in enumerate(lines)
    ]  # fmt: skip
    codes = sorted({a for _, a, _ in lines})
    return Ledger(accounts=table("accounts", ({"code": c} for c in codes)), lines=table("lines", rows))


# ------------------------------------------------------------------------------- the issue's case


def test_the_issue_case_is_refused_and_never_verified(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "big.csv"
    source.write_text(
        HEADER
        + "1,1,2024-01-05,A1,x,1000,92233720368547758.07,\n"
        + "1,2,2024-01-05,A1,x,1000,92233720368547758.07,\n"
        + "1,3,2024-01-05,A1,x,2000,0.02,\n",
        encoding="utf-8",
    )
    out, report = tmp_path / "out.csv", tmp_path / "report.html"
    result = run_cli("convert", source, "--to", "csv", "-o", out, "--report", report)
    assert result.exit_code == 3
    text = result.output + result.stderr
    assert "verified" not in text
    # both huge lines are named with file and row (header is row 1) and the limit
    assert "big.csv, row 2: amount: '92233720368547758.07' is not an amount" in text
    assert "big.csv, row 3: amount: '92233720368547758.07' is not an amount" in text
    assert "9999999999999999.99" in text
    assert not out.exists() and not report.exists()


def test_the_issue_case_built_directly_is_caught_by_validation() -> None:
    ledger = books([("1", "1000", INT64_MAX), ("1", "1000", INT64_MAX), ("1", "2000", 2)])
    # int64 arithmetic would call this entry balanced: 2 * (2**63 - 1) + 2 = 2**64 wraps to 0
    assert int(np.add.reduce(np.array([INT64_MAX, INT64_MAX, 2], dtype=np.int64))) == 0
    errors = [(p.row, p.message) for p in validate(ledger) if p.severity == "error"]
    limit = "(±9999999999999999.99)"
    assert (2, f"amount 92233720368547758.07 is beyond the largest migrator carries {limit}") in errors
    assert (3, f"amount 92233720368547758.07 is beyond the largest migrator carries {limit}") in errors
    assert (2, "entry 1 does not balance: 184467440737095516.16 more debit") in errors  # 2**64 cents, exact
    assert any(row == 2 and "amount debits of the books sum to 184467440737095516.16" in m for row, m in errors)


def test_lines_within_the_limit_whose_account_sum_does_not_fit_are_an_error() -> None:
    big = money.MAX_CENTS  # 9999999999999999.99, the largest line
    ledger = books([(str(k), code, sign * big) for k in range(10) for code, sign in (("1000", 1), ("2000", -1))])
    errors = [(p.row, p.message) for p in validate(ledger) if p.severity == "error"]
    # every line and every entry is fine; account 1000 holds 10 * (10**18 - 1) cents > 2**63 - 1
    assert errors == [
        (2, "the amount debits of the books sum to 99999999999999999.90, beyond the ±92233720368547758.07 that "
            "64-bit cents hold (the largest line is here); no total over them could be exact"),
        (3, "the amount credits of the books sum to -99999999999999999.90, beyond the ±92233720368547758.07 that "
            "64-bit cents hold (the largest line is here); no total over them could be exact"),
    ]  # fmt: skip
    # and every total past validation raises instead of wrapping: a MigratorError, exit 2
    for total in (trial_balance, monthly_totals, years):
        with pytest.raises(money.SumTooLarge) as caught:
            total(ledger)
        assert isinstance(caught.value, MigratorError) and caught.value.exit_code == 2
    with pytest.raises(money.SumTooLarge, match=r"account .1000. sums to 99999999999999999\.90"):
        sums_by(ledger.lines, ["account"], ["amount"])


def test_vat_totals_do_not_wrap() -> None:
    big = money.MAX_CENTS
    ledger = books([(str(k), code, sign * big) for k in range(10) for code, sign in (("3200", -1), ("1000", 1))])
    sales = [code == "3200" for code in ledger.lines.column("account").to_pylist()]
    codes = pa.array(["V81" if s else "" for s in sales])
    ledger = ledger.replace(lines=ledger.lines.set_column(ledger.lines.schema.get_field_index("vat_code"), "vat_code",
                                                          codes))  # fmt: skip
    with pytest.raises(money.SumTooLarge, match="'V81'"):
        vat_totals(ledger)


# ------------------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("text", ["92233720368547758.07", "10000000000000000", "-10'000'000'000'000'000.00"])
def test_parsers_refuse_amounts_past_the_limit_naming_value_and_limit(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_cents(text)
    assert repr(text) in str(caught.value) and "±9999999999999999.99" in str(caught.value)
    with pytest.raises(ParseError, match=r"9999999999999999\.99"):
        AmountColumn([text]).cents(text)
    assert cents_of([text, "1.50"]) == [None, 150]


def test_the_largest_amount_is_read() -> None:
    assert parse_cents("9999999999999999.99") == 999_999_999_999_999_999
    assert parse_cents("-9'999'999'999'999'999.99") == -999_999_999_999_999_999


def test_excel_numbers_past_the_limit_are_refused() -> None:
    column = AmountColumn([])
    with pytest.raises(ParseError, match=r"9999999999999999\.99"):
        cell_cents(1e17, column)  # float-ok: an Excel cell
    with pytest.raises(ParseError, match=r"9999999999999999\.99"):
        cell_cents(Decimal("10000000000000000.00"), column)
    assert cell_cents(1234.5, column) == 123450  # float-ok: an Excel cell


def test_the_one_cast_column_path_refuses_past_the_limit() -> None:
    fits = pa.array(["9999999999999999.99", "-9999999999999999.99"]).cast(money.DECIMAL_TYPE)
    assert money.decimal_array_to_cents(fits).to_pylist() == [10**18 - 1, -(10**18 - 1)]
    beyond = pa.array(["10000000000000000.00"]).cast(money.DECIMAL_TYPE)
    with pytest.raises(OverflowError, match=r"9999999999999999\.99"):
        money.decimal_array_to_cents(beyond)


def test_a_canonical_csv_with_the_largest_amounts_reads_and_balances(tmp_path: Path) -> None:
    source = tmp_path / "edge.csv"
    source.write_text(HEADER + "1,1,2024-01-05,A1,x,1000,9999999999999999.99,\n"
                      "1,2,2024-01-05,A1,x,2000,-9999999999999999.99,\n", encoding="utf-8")  # fmt: skip
    ledger = pipeline.read(source)
    assert ledger.lines.column("amount").to_pylist() == [10**18 - 1, -(10**18 - 1)]
    assert [p for p in validate(ledger) if p.severity == "error"] == []


# --------------------------------------------------------------------------------- checked sums


def test_sum_cents_is_exact_or_raises() -> None:
    assert money.sum_cents(pa.array([INT64_MAX, -INT64_MAX, 5, None])) == 5
    assert money.sum_cents(pa.array([INT64_MAX, 1, -2])) == INT64_MAX - 1  # an int64 partial sum would wrap
    with pytest.raises(money.SumTooLarge, match=r"92233720368547758\.08"):
        money.sum_cents(pa.array([INT64_MAX, 1]))


def test_entry_sums_raise_or_are_exact() -> None:
    lines = books([("1", "1000", INT64_MAX), ("1", "1000", INT64_MAX), ("1", "2000", 2), ("2", "1000", 7)]).lines
    groups = EntryGroups.of(lines)
    with pytest.raises(money.SumTooLarge) as caught:
        groups.sums(lines.column("amount"))
    assert caught.value.groups == (0,)
    assert groups.sums(lines.column("amount"), exact=True) == [2**64, 7]


int64s = st.integers(-(2**63), 2**63 - 1)
amounts = st.one_of(int64s, st.integers(-1000, 1000), st.sampled_from([-(2**63), 2**63 - 1, 2**62, -(2**62)]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("xy"), amounts, amounts), max_size=12))
def test_sums_by_equals_python_sums_or_raises(rows: list[tuple[str, str, int, int]]) -> None:
    lines = pa.table({
        "k1": pa.array([r[0] for r in rows], pa.string()), "k2": pa.array([r[1] for r in rows], pa.string()),
        "v1": pa.array([r[2] for r in rows], pa.int64()), "v2": pa.array([r[3] for r in rows], pa.int64()),
    })  # fmt: skip
    expected: dict[Any, list[int]] = {}
    for k1, k2, v1, v2 in rows:
        sums = expected.setdefault((k1, k2), [0, 0])
        sums[0] += v1
        sums[1] += v2
    fits = all(-(2**63) <= s <= 2**63 - 1 for sums in expected.values() for s in sums)
    wraps = [money.may_wrap(lines.column(v), lines.num_rows) for v in ("v1", "v2")]
    for run in (
        lambda exact: sums_by(lines, ["k1", "k2"], ["v1", "v2"], exact=exact),
        lambda exact: _sums_hashed(lines, ["k1", "k2"], ["v1", "v2"], wraps, exact),
    ):
        assert run(True) == expected  # exact: Python integers, whatever the size
        if fits:
            assert run(False) == expected
        else:
            with pytest.raises(money.SumTooLarge):
                run(False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("pqr"), amounts), min_size=1, max_size=12))
def test_entry_sums_equal_python_sums_or_raise(rows: list[tuple[str, int]]) -> None:
    lines = table("lines", [{"entry": e, "amount": v} for e, v in rows])
    groups = EntryGroups.of(lines)
    expected: dict[str, int] = {}
    for e, v in rows:
        expected[e] = expected.get(e, 0) + v
    first = [lines.column("entry")[int(i)].as_py() for i in groups.first_lines()]
    assert list(groups.sums(lines.column("amount"), exact=True)) == [expected[e] for e in first]
    if all(-(2**63) <= s < 2**63 for s in expected.values()):
        assert groups.sums(lines.column("amount")).tolist() == [expected[e] for e in first]
    else:
        with pytest.raises(money.SumTooLarge):
            groups.sums(lines.column("amount"))


# --------------------------------------------------------------------- dates a writer cannot hold


def _dated_9999(garage: Ledger) -> Ledger:
    rows = garage.lines.to_pylist()
    first = rows[0]["entry"]
    for row in rows:
        if row["entry"] == first:
            row["date"] = dt.date(9999, 12, 31)
    return garage.replace(lines=table("lines", rows))


@pytest.mark.parametrize(("fmt", "allows"), [("saft", "SAF-T takes dates up to 9998-12-31"),
                                             ("datev", "DATEV takes dates up to 9998-12-31")])  # fmt: skip
def test_a_year_9999_date_is_a_clear_error_in_saft_and_datev(garage: Ledger, tmp_path: Path, fmt: str,
                                                             allows: str) -> None:  # fmt: skip
    ledger = _dated_9999(garage)
    first = ledger.lines.slice(0, 1).to_pylist()[0]
    count = sum(1 for e in ledger.lines.column("entry").to_pylist() if e == first["entry"])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(UnsupportedOperation) as caught:
        registry.get(fmt).writer().write(ledger, target / "out.xml" if fmt == "saft" else target)
    message = str(caught.value)
    where = f"{first['source_file']}, row {first['source_row']}: entry {first['entry']} is dated 9999-12-31"
    assert message.startswith(f"{where} (and {count - 1} more line")
    assert allows in message
    assert caught.value.exit_code == 2


def test_a_fiscal_year_ending_in_9999_is_a_clear_error(garage: Ledger, tmp_path: Path) -> None:
    from migrator.model import Company, FiscalYear

    ledger = garage.replace(company=Company(name="x", fiscal_years=(FiscalYear(dt.date(9999, 1, 1),
                                                                               dt.date(9999, 12, 31)),)))  # fmt: skip
    with pytest.raises(UnsupportedOperation, match="the fiscal year 9999-01-01 to 9999-12-31 ends after 9998-12-31"):
        registry.get("datev").writer().write(ledger, tmp_path)


def test_year_9999_through_the_cli_exits_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "late.csv"
    source.write_text(HEADER + "1,1,9999-12-31,A1,x,1000,10.00,\n1,2,9999-12-31,A1,x,2000,-10.00,\n", "utf-8")
    for fmt, out in (("saft", tmp_path / "o.xml"), ("datev", tmp_path / "datev")):
        result = run_cli("convert", source, "--to", fmt, "-o", out)
        assert result.exit_code == 2, result.output
        assert "late.csv, row 2: entry 1 is dated 9999-12-31 (and 1 more line)" in result.output + result.stderr
        assert "internal error" not in result.output + result.stderr
        assert not out.exists()


@pytest.mark.parametrize("fmt", [f.name for f in registry.writable() if f.name not in ("saft", "datev")])
def test_other_writers_take_a_year_9999_date(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    spec = registry.get(fmt)
    target = tmp_path / ("out" + spec.extensions[0] if spec.output == "file" else "out")
    if spec.output == "folder":
        target.mkdir()
    spec.writer().write(_dated_9999(garage), target)
    assert target.exists()
