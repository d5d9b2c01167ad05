"""Books of several years: per-year books made continuous (closing entries) and read back per year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import registry
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.money import to_cents
from migrator.reconcile import trial_balance
from migrator.reconcile import years as year_summaries
from migrator.years import as_kept, continuous, per_year

Y23 = FiscalYear(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
Y24 = FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
ACCOUNTS = [("1000", "asset"), ("1100", "asset"), ("2800", "equity"), ("2970", "equity"), ("3000", "income"),
            ("4000", "expense")]  # fmt: skip


def cents(text: str) -> int:
    return to_cents(Decimal(text))


def books(entries: list[tuple[dt.date, bool, dict[str, str]]], years: tuple[FiscalYear, ...] = (Y23, Y24)) -> Ledger:
    """A ledger of entries (date, opening, {account: amount}), one entry each."""
    rows = [
        {"entry": str(n), "line": i, "date": day, "doc": f"D{n}", "description": f"entry {n}", "account": account,
         "amount": cents(amount), "opening": opening}
        for n, (day, opening, lines) in enumerate(entries, start=1)
        for i, (account, amount) in enumerate(lines.items(), start=1)
    ]  # fmt: skip
    accounts = table("accounts", [{"code": c, "name": c, "type": t} for c, t in ACCOUNTS])
    return Ledger(company=Company(name="T", fiscal_years=years), accounts=accounts, lines=table("lines", rows))


def closing_balances(ledger: Ledger) -> list[dict[str, int]]:
    """Per fiscal year, each account's nonzero closing (opening entries of the year + its other lines)."""
    return [{a: v for a, v in y.closing.items() if v} for y in year_summaries(ledger)]


def balances_until(ledger: Ledger, day: dt.date) -> dict[str, int]:
    """Nonzero balance of each account over all lines up to `day`, as a continuous ledger shows it."""
    lines = ledger.lines.filter(pc.less_equal(ledger.lines.column("date"), day))
    return {a: v for a, v in trial_balance(ledger.replace(lines=lines)).items() if v}


def added(ledger: Ledger, voucher: str) -> list[dict[str, Any]]:
    lines = ledger.lines.filter(pc.equal(ledger.lines.column("doc"), voucher))
    return lines.select(["date", "description", "account", "amount", "opening"]).to_pylist()


# A profit of 500.00 in 2023, carried by the 2024 opening into retained earnings (2970).
OPENING_23 = (dt.date(2023, 1, 1), True, {"1000": "1000.00", "2800": "-1000.00"})
SALE_23 = (dt.date(2023, 5, 1), False, {"1000": "800.00", "3000": "-800.00"})
COST_23 = (dt.date(2023, 6, 1), False, {"4000": "300.00", "1000": "-300.00"})
SALE_24 = (dt.date(2024, 3, 1), False, {"1000": "200.00", "3000": "-200.00"})


def test_the_result_is_carried_into_equity_as_the_next_opening_shows_it() -> None:
    source = books([OPENING_23, SALE_23, COST_23,
                    (dt.date(2024, 1, 1), True, {"1000": "1500.00", "2800": "-1000.00", "2970": "-500.00"}),
                    SALE_24])  # fmt: skip
    carried, problems = continuous(source)
    assert problems == []
    assert added(carried, "CLOSING-2023") == [
        {"date": dt.date(2023, 12, 31), "description": "Year-end closing 2023 (migrator)", "account": a,
         "amount": cents(v), "opening": False}
        for a, v in [("3000", "800.00"), ("4000", "-300.00"), ("2970", "-500.00")]
    ]  # fmt: skip
    assert not pc.any(pc.and_(carried.lines.column("opening"),
                              pc.greater_equal(carried.lines.column("date"), Y24.start))).as_py()  # fmt: skip
    # The balance sheet continues: at the end of 2023 it is the 2024 opening, at the end of 2024 the closing.
    assert balances_until(carried, Y23.end) == {"1000": cents("1500.00"), "2800": cents("-1000.00"),
                                                "2970": cents("-500.00")}  # fmt: skip
    assert balances_until(carried, Y24.end) == {"1000": cents("1700.00"), "2800": cents("-1000.00"),
                                                "2970": cents("-500.00"), "3000": cents("-200.00")}  # fmt: skip
    back = per_year(carried)
    assert closing_balances(back) == closing_balances(source)
    assert [y.opening for y in year_summaries(back)] == [y.opening for y in year_summaries(source)]
    assert trial_balance(back) == trial_balance(source)
    assert back.counts()["entries"] == source.counts()["entries"]


def test_an_opening_that_differs_otherwise_is_an_adjustment_and_a_warning() -> None:
    # The 2024 opening moves 50.00 of cash to receivables (1100): not the result, so an adjustment.
    source = books([OPENING_23, SALE_23, COST_23,
                    (dt.date(2024, 1, 1), True,
                     {"1000": "1450.00", "1100": "50.00", "2800": "-1000.00", "2970": "-500.00"}),
                    SALE_24])  # fmt: skip
    carried, problems = continuous(source)
    assert [r["account"] for r in added(carried, "CLOSING-2023")] == ["3000", "4000", "2970"]
    assert added(carried, "ADJUST-2023") == [
        {"date": dt.date(2023, 12, 31), "description": "Opening adjustment 2024 (migrator)", "account": a,
         "amount": cents(v), "opening": False}
        for a, v in [("1000", "-50.00"), ("1100", "50.00")]
    ]  # fmt: skip
    assert [(p.severity, p.message) for p in problems] == [
        ("warning", "account 1000: opening 2024-01-01 1450.00 differs from closing 2023-12-31 1500.00: -50.00 booked "
                    "as an adjustment (voucher ADJUST-2023) on 2023-12-31"),
        ("warning", "account 1100: opening 2024-01-01 50.00 differs from closing 2023-12-31 0.00: 50.00 booked "
                    "as an adjustment (voucher ADJUST-2023) on 2023-12-31"),
    ]  # fmt: skip
    assert balances_until(carried, Y23.end) == {"1000": cents("1450.00"), "1100": cents("50.00"),
                                                "2800": cents("-1000.00"), "2970": cents("-500.00")}  # fmt: skip
    back = per_year(carried)
    assert closing_balances(back) == closing_balances(source)
    assert trial_balance(back) == trial_balance(source)


def test_more_or_less_than_the_result_in_equity_is_adjusted_too() -> None:
    # The opening puts 450.00 into 2970 and 50.00 less cash: 2970 takes the whole result in the
    # closing entry, the adjustment moves 50.00 back out of it.
    source = books(
        [
            OPENING_23,
            SALE_23,
            COST_23,
            (dt.date(2024, 1, 1), True, {"1000": "1450.00", "2800": "-1000.00", "2970": "-450.00"}),
        ]
    )
    carried, problems = continuous(source)
    assert [(r["account"], r["amount"]) for r in added(carried, "CLOSING-2023")][-1] == ("2970", cents("-500.00"))
    assert [(r["account"], r["amount"]) for r in added(carried, "ADJUST-2023")] == [
        ("1000", cents("-50.00")), ("2970", cents("50.00"))]  # fmt: skip
    assert (
        "account 2970: opening 2024-01-01 -450.00 differs from closing 2023-12-31 0.00 (after the result is "
        "carried): 50.00 booked" in problems[1].message
    )
    assert balances_until(carried, Y23.end)["2970"] == cents("-450.00")
    assert closing_balances(per_year(carried)) == closing_balances(source)


def test_one_year_and_books_without_later_openings_come_back_unchanged() -> None:
    one = books([OPENING_23, SALE_23], years=(Y23,))
    assert continuous(one) == (one, [])
    running = books([OPENING_23, SALE_23, SALE_24])  # already continuous: no opening in 2024
    assert continuous(running) == (running, [])
    assert per_year(running) is running


def test_garage(garage: Ledger) -> None:
    """The garage (samples/garage.py): the 2023 loss of 9,760.60 (P&L accounts 3200 -2,000.00, 3400
    -3,050.00, 4200 2,965.00, 5000 6,500.00, 6000 1,800.00, 6800 3,500.00, 6900 45.60) goes into 2970,
    whose 2024 opening is -50,600.00 + 9,760.60 = -40,839.40; Capital stays -50,000.00 (not -100,000.00),
    Cash ends 2024 at 3,903.30 (not 6,941.80)."""
    carried, problems = continuous(garage)
    assert problems == []
    closing = {r["account"]: r["amount"] for r in added(carried, "CLOSING-2023")}
    assert closing == {"3200": cents("2000.00"), "3400": cents("3050.00"), "4200": cents("-2965.00"),
                       "5000": cents("-6500.00"), "6000": cents("-1800.00"), "6800": cents("-3500.00"),
                       "6900": cents("-45.60"), "2970": cents("9760.60")}  # fmt: skip
    end_2023 = balances_until(carried, Y23.end)
    assert end_2023["2800"] == cents("-50000.00") and end_2023["2970"] == cents("-40839.40")
    assert end_2023["1000"] == cents("3038.50") and "3200" not in end_2023
    end_2024 = trial_balance(carried)
    assert end_2024["2800"] == cents("-50000.00")
    assert end_2024["1000"] == cents("3903.30")
    assert end_2024["2970"] == cents("-40839.40")
    back = per_year(carried, garage.company.fiscal_years)
    assert closing_balances(back) == closing_balances(garage)
    assert trial_balance(back) == trial_balance(garage)
    assert back.counts() == garage.counts()
    assert as_kept(garage).counts() == garage.counts()


def test_continuous_targets_are_registered() -> None:
    continuous_ones = {f.name for f in registry.formats() if f.years == "continuous"}
    assert continuous_ones == {"gnucash", "hledger", "beancount", "bexio", "runmyaccounts", "infoniqa", "abacus",
                               "cresus", "saft"}  # fmt: skip
    assert registry.get("banana").years == registry.get("sie").years == "per-year"


# ------------------------------------------------------------------------------ any books of several years

CODES = [c for c, _ in ACCOUNTS]


@st.composite
def several_years(draw: st.DrawFn) -> Ledger:
    """Two to four calendar years; each may open with any balanced opening (or none after the first)."""
    first = draw(st.integers(2019, 2023))
    count = draw(st.integers(2, 4))
    years = tuple(FiscalYear(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(first, first + count))
    amounts = st.integers(-(10**9), 10**9)
    entries: list[tuple[dt.date, bool, dict[str, str]]] = []
    for k, year in enumerate(years):
        if k == 0 or draw(st.booleans()):
            accounts = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=5, unique=True))
            values = [draw(amounts) for _ in accounts[1:]]
            lines = dict(zip(accounts, [-sum(values), *values], strict=True))
            entries.append((year.start, True, {a: str(Decimal(v) / 100) for a, v in lines.items()}))
        for _ in range(draw(st.integers(0, 4))):
            day = year.start + dt.timedelta(days=draw(st.integers(0, 364)))
            debit, credit = draw(st.lists(st.sampled_from(CODES), min_size=2, max_size=2, unique=True))
            value = Decimal(draw(amounts)) / 100
            entries.append((day, False, {debit: str(value), credit: str(-value)}))
    return books(entries, years)


@settings(max_examples=150, deadline=None)
@given(source=several_years())
def test_hypothesis_per_year_undoes_continuous(source: Ledger) -> None:
    carried, problems = continuous(source)
    years = source.company.fiscal_years
    summaries = year_summaries(source)
    for k in range(1, len(years)):
        if summaries[k].opening:  # a year that opens: the continuous books reach its opening the day before
            want = {a: v for a, v in summaries[k].opening.items() if v}
            assert balances_until(carried, years[k - 1].end) == want
    assert not any(p.severity == "error" for p in problems)
    back = per_year(carried, years)
    assert closing_balances(back) == closing_balances(source)
    assert [{a: v for a, v in y.opening.items() if v} for y in year_summaries(back)] == [
        {a: v for a, v in y.opening.items() if v} for y in summaries
    ]
    assert {a: v for a, v in trial_balance(back).items() if v} == {a: v for a, v in trial_balance(source).items() if v}
