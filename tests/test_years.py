"""Books of several years: per-year books made continuous (closing entries) and read back per year."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from migrator import pipeline, registry
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


CARRIED = (
    "the 2024 opening is not booked on top of 2023: the closing entry CLOSING-2023 on 2023-12-31 carries the "
    "balances into 2024 (income and expenses to zero, the result into equity), as a ledger that runs on from "
    "year to year keeps them"
)


def test_the_result_is_carried_into_equity_as_the_next_opening_shows_it() -> None:
    source = books([OPENING_23, SALE_23, COST_23,
                    (dt.date(2024, 1, 1), True, {"1000": "1500.00", "2800": "-1000.00", "2970": "-500.00"}),
                    SALE_24])  # fmt: skip
    carried, problems = continuous(source)
    assert [(p.severity, p.message) for p in problems] == [("info", CARRIED)]
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
        ("info", CARRIED),
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
        "carried): 50.00 booked" in problems[2].message
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
    assert [(p.severity, p.message) for p in problems] == [("info", CARRIED)]
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
    # the closing entry stands where the 2024 opening stood: after 2023's entries, before 2024's
    dates, entries = carried.lines.column("date").to_pylist(), carried.lines.column("entry").to_pylist()
    first = entries.index("CLOSING-2023")
    assert entries[first : first + 8] == ["CLOSING-2023"] * 8
    assert max(dates[:first]) <= Y23.end < Y24.start <= min(dates[first + 8 :])
    back = per_year(carried, garage.company.fiscal_years)
    dates, entries = back.lines.column("date").to_pylist(), back.lines.column("entry").to_pylist()
    first = entries.index("OPENING-2024")
    assert entries[first : first + 11] == ["OPENING-2024"] * 11
    assert max(dates[:first]) <= Y23.end < Y24.start <= min(dates[first:])
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
    """Two to four calendar years; each may open with any balanced opening (or none after the first);
    entries in date order or not."""
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
    if draw(st.booleans()):  # a line dated before the first year, as some exports have
        value = Decimal(draw(amounts)) / 100
        entries.append((years[0].start - dt.timedelta(days=draw(st.integers(1, 40))), False,
                        {"1000": str(value), "3000": str(-value)}))  # fmt: skip
    if draw(st.booleans()):  # books need not list their entries in date order
        entries = draw(st.permutations(entries))
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


# -------------------------------------------- the garage (2023 and 2024) converted to each continuous target
# Balances of the Winbiz sample at each year end, read by hand from `migrator inspect samples/winbiz/DAT
# --dossier garage --json`: 2023 closes with 2970 at -50,600.00 and a loss of 9,760.60; the 2024 opening
# carries it (2970 -40,839.40); every other balance-sheet account opens 2024 with its 2023 closing.
END_2023 = {"1000": "3038.50", "1020": "39742.80", "1100": "9807.95", "1170": "154.00", "1200": "18000.00",
            "1500": "31500.00", "2000": "-10365.00", "2200": "-388.85", "2270": "-650.00", "2800": "-50000.00",
            "2970": "-40839.40"}  # fmt: skip
END_2024 = {"1000": "3903.30", "1020": "32738.25", "1100": "15378.50", "1170": "518.50", "1171": "972.00",
            "1200": "18000.00", "1500": "43500.00", "2000": "-28201.50", "2200": "-939.65", "2270": "-1330.00",
            "2800": "-50000.00", "2970": "-40839.40"}  # fmt: skip
BALANCE_SHEET = ("1", "2")  # the Swiss chart: classes 1 (assets) and 2 (liabilities and equity)
YEAR_ENDS = (Y23.end, Y24.end)


def expected_year_ends() -> list[dict[str, int]]:
    return [{a: cents(v) for a, v in end.items()} for end in (END_2023, END_2024)]


def balance_sheet(balances: dict[str, int]) -> dict[str, int]:
    return {a: v for a, v in balances.items() if a.startswith(BALANCE_SHEET) and v}


def garage_to(target: str, folder: Path, **options: Any) -> tuple[Path, pipeline.Conversion]:
    fmt = registry.get(target)
    out = folder / (target + ("" if fmt.output == "folder" else fmt.default_extension))
    result = pipeline.convert(SAMPLES / "winbiz" / "DAT", target, out, dossier="garage", **options)
    return out, result


def test_the_sample_numbers_are_the_sources(samples: Path) -> None:
    """END_2023 and END_2024 are the source's 2024 opening and 2024 closing of the balance-sheet accounts."""
    source = pipeline.read(samples / "winbiz" / "DAT", dossier="garage")
    first, second = year_summaries(source)
    assert balance_sheet(second.opening) == expected_year_ends()[0]
    assert balance_sheet(second.closing) == expected_year_ends()[1]
    # 2023's own closing differs from the 2024 opening only by the result carried into 2970
    assert {a: v for a, v in balance_sheet(first.closing).items() if a != "2970"} == {
        a: v for a, v in expected_year_ends()[0].items() if a != "2970"}  # fmt: skip
    assert first.closing["2970"] == cents("-50600.00")


def assert_years_verified(result: pipeline.Conversion) -> None:
    """Verification saw each account's closing of each year unchanged; the all-year sums agree both ways:
    the file read back against the continuous books, and read back per year against the source."""
    assert result.verification is not None and result.reread is not None

    def nonzero(balances: dict[str, int]) -> dict[str, int]:
        return {a: v for a, v in balances.items() if v}

    assert nonzero(trial_balance(result.reread)) == nonzero(trial_balance(continuous(result.written)[0]))
    back = per_year(result.reread, result.written.company.fiscal_years or (Y23, Y24))
    assert nonzero(trial_balance(back)) == nonzero(trial_balance(result.written))
    rows = result.verification.years
    assert {row["start"] for row in rows} == {"2023-01-01", "2024-01-01"}
    assert [row for row in rows if row["before"]["closing"] != row["after"]["closing"]] == []


@pytest.mark.skipif(shutil.which("hledger") is None, reason="hledger is not installed (Debian package hledger)")
def test_hledger_balances_at_each_year_end(tmp_path: Path) -> None:
    out, result = garage_to("hledger", tmp_path)
    assert not [p for p in result.not_carried if p.severity == "warning"]
    for end, want in zip(YEAR_ENDS, expected_year_ends(), strict=True):
        text = subprocess.run(
            ["hledger", "-f", str(out), "bal", "-B", "-E", "--no-total", "-O", "csv", "-e",
             (end + dt.timedelta(days=1)).isoformat()],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        seen = {}
        for name, balance in list(csv.reader(io.StringIO(text)))[1:]:
            currency, _, number = balance.rpartition(" ")
            assert currency in ("CHF", ""), balance
            seen[name.split(":")[-1].split(" ")[0]] = cents(number)
        assert balance_sheet(seen) == want, end
    journal = out.read_text(encoding="utf-8")
    tagged = [line for line in journal.splitlines() if "opening:" in line]
    assert tagged and all(line.startswith("2023-01-01") for line in tagged)  # the 2023 opening only
    assert "2023-12-31 (CLOSING-2023) Year-end closing 2023 (migrator)" in journal


BEAN_QUERY = shutil.which("bean-query", path=str(Path(sys.executable).parent)) or shutil.which("bean-query")


@pytest.mark.skipif(BEAN_QUERY is None, reason="bean-query is not installed (pip install beanquery)")
def test_bean_query_balances_at_each_year_end(tmp_path: Path) -> None:
    out, _ = garage_to("beancount", tmp_path)
    for end, want in zip(YEAR_ENDS, expected_year_ends(), strict=True):
        query = f"SELECT account, sum(weight) AS total WHERE date <= {end.isoformat()} GROUP BY account"
        done = subprocess.run([str(BEAN_QUERY), "-f", "csv", str(out), query], capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        seen = {}
        for account, total in list(csv.reader(io.StringIO(done.stdout)))[1:]:
            if not total.strip():  # an account whose balance is nothing (the closed P&L accounts)
                continue
            number, currency = total.split()
            assert currency == "CHF"
            seen[account.split(":")[-1].split("-")[0]] = to_cents(Decimal(number).quantize(Decimal("0.01")))
        assert balance_sheet(seen) == want, end


def _gnucash_bindings() -> bool:
    try:
        return (
            subprocess.run(["/usr/bin/python3", "-c", "import gnucash"], capture_output=True, timeout=60).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


GNUCASH_PROBE = """
import datetime, json, sys
from gnucash import Session, SessionOpenMode
session = Session("xml://" + sys.argv[1], SessionOpenMode.SESSION_READ_ONLY)
out = {}
for account in session.book.get_root_account().get_descendants():
    if not account.GetPlaceholder():
        ends = [account.GetBalanceAsOfDate(datetime.datetime.fromisoformat(day + "T23:59:59")) for day in sys.argv[2:]]
        out[account.GetCode()] = [[b.num(), b.denom()] for b in ends]
session.end()
print(json.dumps(out))
"""


@pytest.mark.skipif(not _gnucash_bindings(), reason="GnuCash's Python bindings are not installed (python3-gnucash)")
def test_gnucash_itself_shows_each_year_end(tmp_path: Path) -> None:
    """The issue's numbers: GnuCash showed Capital -100,000 and Cash 6,941.80; now -50,000.00 and 3,903.30."""
    out, result = garage_to("gnucash", tmp_path)
    assert_years_verified(result)
    done = subprocess.run(["/usr/bin/python3", "-c", GNUCASH_PROBE, str(out), *(d.isoformat() for d in YEAR_ENDS)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    for k, want in enumerate(expected_year_ends()):
        balances = {code: to_cents(Decimal(num) / Decimal(den)) for code, ends in seen.items()
                    for num, den in [ends[k]]}  # fmt: skip
        assert balance_sheet(balances) == want
    assert seen["2800"][1] == [-5000000, 100] and seen["1000"][1] == [390330, 100]


@pytest.mark.parametrize("target", ["bexio", "runmyaccounts", "infoniqa", "cresus"])
def test_swiss_programs_get_one_opening_and_a_closing(target: str, tmp_path: Path) -> None:
    """No tool of these vendors runs here: their files read back (migrator's readers) give each year end."""
    out, result = garage_to(target, tmp_path)
    assert_years_verified(result)
    back = pipeline.read(out, target)
    for end, want in zip(YEAR_ENDS, expected_year_ends(), strict=True):
        assert balance_sheet(balances_until(back, end)) == want, end
    on_new_year = back.lines.filter(pc.equal(back.lines.column("date"), Y24.start))
    assert on_new_year.num_rows == 0  # the 2024 opening is not booked on top of 2023
    texts = set(back.lines.column("description").to_pylist())
    assert "Year-end closing 2023 (migrator)" in texts


def text(element: Any, path: str, namespaces: dict[str, str] | None = None) -> str:
    """The text at `path` under `element`, which must be there."""
    found = element.findtext(path, namespaces=namespaces)
    assert found is not None, path
    return str(found)


def test_abacus_gets_one_opening_and_a_closing(tmp_path: Path) -> None:
    """Abacus has no reader: the XML's own lines (side, KeyAmount, VAT booked on top) give each year end."""
    out, _ = garage_to("abacus", tmp_path)
    root = etree.parse(str(out)).getroot()
    for end, want in zip(YEAR_ENDS, expected_year_ends(), strict=True):
        seen: dict[str, int] = {}
        for part in root.iterfind("Task/Transaction/Entry/*"):
            if dt.date.fromisoformat(text(part, "EntryDate")) > end:
                continue
            sign = 1 if text(part, "DebitCredit") == "D" else -1
            account = text(part, "Account")
            seen[account] = seen.get(account, 0) + sign * cents(text(part, "KeyAmount"))
            if part.findtext("TaxData/TaxIncluded") == "E":
                tax = text(part, "TaxAccount")
                seen[tax] = seen.get(tax, 0) + sign * cents(text(part, "TaxData/KeyAmount"))
        assert balance_sheet(seen) == want, end
    assert [e.findtext("EntryDate") for e in root.iterfind(".//CollectiveInformation")].count("2024-01-01") == 0


def saft_closing(path: Path) -> dict[str, int]:
    """ClosingDebitBalance / -ClosingCreditBalance of each account of a SAF-T file."""
    ns = {"n": "urn:StandardAuditFile-Taxation-Financial:NO"}
    out = {}
    for account in etree.parse(str(path)).getroot().iterfind(".//n:GeneralLedgerAccounts/n:Account", ns):
        debit = account.findtext("n:ClosingDebitBalance", namespaces=ns)
        closing = cents(debit) if debit else -cents(text(account, "n:ClosingCreditBalance", ns))
        out[text(account, "n:AccountID", ns)] = closing
    return out


def test_saft_closing_balances_are_each_years(tmp_path: Path, reference: Path) -> None:
    """One file over both years closes with 2024's balances (ClosingCreditBalance 50,000.00 for capital, not
    100,000.00); with --year each file closes with its own year's."""
    xsd = reference / "saft-no" / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
    if not xsd.exists():
        pytest.skip(f"SAF-T 1.30 XSD not found at {xsd}")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    out, result = garage_to("saft", tmp_path)
    assert schema.validate(etree.parse(str(out))), schema.error_log
    assert_years_verified(result)
    closing = saft_closing(out)
    assert balance_sheet(closing) == expected_year_ends()[1]
    assert closing["2800"] == cents("-50000.00")
    (tmp_path / "2023").mkdir()
    one, result = garage_to("saft", tmp_path / "2023", year=2023)
    assert schema.validate(etree.parse(str(one))), schema.error_log
    closing_2023 = saft_closing(one)
    # A file of 2023 alone: its own closing, the loss still in the P&L accounts and 2970 at -50,600.00.
    assert balance_sheet(closing_2023) == {**expected_year_ends()[0], "2970": cents("-50600.00")}
    assert closing_2023["5000"] == cents("6500.00")


@pytest.mark.parametrize("target", ["gnucash", "saft", "bexio"])
def test_verify_reads_a_continuous_output_per_year(target: str, tmp_path: Path) -> None:
    """`migrator verify SOURCE OUT` on an earlier continuous output compares each year's closing too."""
    source = SAMPLES / "garage" / "journal.csv"
    fmt = registry.get(target)
    out = tmp_path / (target + ("" if fmt.output == "folder" else fmt.default_extension))
    pipeline.convert(source, target, out, from_format="csv")
    result = pipeline.verify(source, out, from_format="csv", to_format=target)
    assert_years_verified(result)
    assert result.reread is not None and "Year-end closing 2023 (migrator)" in set(
        result.reread.lines.column("description").to_pylist())  # fmt: skip


def test_books_already_continuous_are_written_and_compared_as_they_are(garage: Ledger, tmp_path: Path) -> None:
    """A second conversion of migrator's continuous output: its closing entries are ordinary entries of
    the source now, written and verified as they are (not turned into openings on reading back)."""
    carried, _ = continuous(garage)
    assert as_kept(carried) is carried and continuous(carried) == (carried, [])
    middle = tmp_path / "continuous.csv"
    pipeline.write(carried, "csv", middle)
    result = pipeline.convert(middle, "gnucash", tmp_path / "again.gnucash", from_format="csv")
    assert result.verification is not None and result.reread is not None
    rows = result.verification.years
    assert rows and [row for row in rows if row["before"]["closing"] != row["after"]["closing"]] == []
    assert "Year-end closing 2023 (migrator)" in set(result.reread.lines.column("description").to_pylist())
    assert trial_balance(result.reread)["2970"] == cents("-40839.40")


def test_infoniqa_keeps_whole_number_vouchers_beside_the_closing_entry(tmp_path: Path) -> None:
    """Blg takes whole numbers: the closing entry takes the one after the highest voucher, and the books'
    own vouchers 1-4 stay (instead of every entry being renumbered)."""
    source = books([OPENING_23, SALE_23, COST_23,
                    (dt.date(2024, 1, 1), True, {"1000": "1500.00", "2800": "-1000.00", "2970": "-500.00"}),
                    SALE_24])  # fmt: skip
    doc = source.lines.schema.get_field_index("doc")  # vouchers 1, 2, …: the entry numbers
    numbered = source.replace(lines=source.lines.set_column(doc, "doc", source.lines.column("entry")))
    out = tmp_path / "books.csv"
    problems = pipeline.write(continuous(numbered)[0], "infoniqa", out)
    assert not [p for p in problems if "voucher numbers" in p.message]
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("cp1252"))))
    assert [(r["Blg"], r["Datum"], r["Kto"]) for r in rows if r["Tx1"].startswith("Year-end")] == [
        ("6", "31.12.2023", "3000"), ("6", "31.12.2023", "4000"), ("6", "31.12.2023", "2970")]  # fmt: skip
    assert sorted({r["Blg"] for r in rows}, key=int) == ["1", "2", "3", "5", "6"]  # 4 was the 2024 opening
