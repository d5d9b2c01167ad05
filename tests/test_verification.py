"""Verification compares what an accountant compares: per fiscal year and account, per entry, per VAT
code, the company and every table; its verdict is verified, verified with declared losses, or failed.

Expected figures are written by hand from samples/garage.py (the Winbiz sample holds the same books).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from strategies import LATIN, ledgers, texts

from migrator import pipeline, registry
from migrator.model import FiscalYear, Ledger, Problem, table, years_of
from migrator.reconcile import FAILED, VERIFIED, VERIFIED_WITH_LOSSES, compare, declared_aspects, year_balances

WINBIZ = Path(__file__).resolve().parent.parent / "samples" / "winbiz" / "DAT"


@pytest.fixture(scope="module")
def winbiz_garage() -> Ledger:
    return pipeline.read(WINBIZ, dossier="garage")


# ------------------------------------------------------------------------ per fiscal year and account


def test_cash_per_year_is_opening_debit_credit_and_closing(winbiz_garage: Ledger) -> None:
    spans = years_of(winbiz_garage)
    assert [(y.start, y.end) for y in spans] == [(dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
                                                 (dt.date(2024, 1, 1), dt.date(2024, 12, 31))]  # fmt: skip
    sums = year_balances(winbiz_garage, spans)
    # samples/garage.py: Cash opens 2023 at 2500.00, takes 538.50 in June 2023 and 864.80 in 2024.
    assert sums[(0, "1000")] == [250000, 53850, 0]
    assert sum(sums[(0, "1000")]) == 303850
    assert sums[(1, "1000")] == [303850, 86480, 0]
    assert sum(sums[(1, "1000")]) == 390330
    # The all-year trial balance adds both years, openings included: no year's balance.
    assert sum(sums[(0, "1000")]) + sum(sums[(1, "1000")]) == 694180


def test_identical_books_are_verified_with_a_row_per_year_and_account(winbiz_garage: Ledger) -> None:
    result = compare(winbiz_garage, winbiz_garage, target="")  # not a Winbiz output: no writer's as_kept
    assert result.verdict == VERIFIED and result.ok
    cash = [row for row in result.years if row["account"] == "1000"]
    assert [(r["start"], r["before"]["closing"], r["after"]["closing"], r["reason"]) for r in cash] == [
        ("2023-01-01", 303850, 303850, ""),
        ("2024-01-01", 390330, 390330, ""),
    ]


def test_inspect_json_closing_per_year_and_groups_count(run_cli: Any) -> None:
    import json

    result = run_cli("inspect", WINBIZ, "--dossier", "garage", "--json")
    data = json.loads(result.stdout)
    assert [y["closing"]["1000"] for y in data["years"]] == ["3038.50", "3903.30"]
    assert data["trial_balance"]["1000"] == "6941.80"
    assert data["counts"]["groups"] > 0
    assert "accountant" in run_cli("inspect", "--help").stdout


# ------------------------------------------------------------------------ small books, changed by hand


def _books(entries: list[tuple[str, str, str, list[tuple[str, int]]]], **company: Any) -> Ledger:
    """Entries of (entry id, date, voucher, [(account, amount)])."""
    rows: list[dict[str, Any]] = []
    for entry, day, doc, lines in entries:
        for number, (account, amount) in enumerate(lines, start=1):
            rows.append({"entry": entry, "line": number, "date": dt.date.fromisoformat(day), "doc": doc,
                         "account": account, "amount": amount})  # fmt: skip
    codes = sorted({str(r["account"]) for r in rows})
    years = (FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),)
    return Ledger(
        company=dataclasses.replace(_COMPANY, fiscal_years=years, **company),
        accounts=table("accounts", ({"code": c} for c in codes)),
        lines=table("lines", rows),
    )


_COMPANY = Ledger().company.__class__(name="Garage du Lac Sàrl", base_currency="CHF")
TWO_SALES = [
    ("1", "2024-03-01", "R-1", [("1100", 10000), ("3200", -10000)]),
    ("2", "2024-03-01", "R-1", [("1100", 5000), ("3200", -5000)]),
    ("3", "2024-04-02", "B-7", [("6000", 2000), ("1020", -2000)]),
]


def test_two_entries_merged_into_one_fail() -> None:
    merged = [("1", "2024-03-01", "R-1", [("1100", 10000), ("3200", -10000), ("1100", 5000), ("3200", -5000)]),
              TWO_SALES[2]]  # fmt: skip
    result = compare(_books(TWO_SALES), _books(merged))
    assert result.verdict == FAILED and not result.ok
    assert any(
        d.startswith("entries: 3 before, 2 after; 2 not found after, 1 not found before") for d in result.differences
    )
    assert result.entries[0] == "- R-1 2024-03-01: 1100 100.00, 3200 -100.00"


def test_merged_lines_of_one_account_fail_though_balances_agree() -> None:
    netted = [("1", "2024-03-01", "R-1", [("1100", 10000), ("3200", -10000)]),
              ("2", "2024-03-01", "R-1", [("1100", 5000), ("3200", -5000)]),
              ("3", "2024-04-02", "B-7", [("6000", 2000), ("1020", -2000)])]  # fmt: skip
    purchase_and_reversal = [
        ("9", "2024-05-05", "B-8", [("4200", 3000), ("2000", -3000), ("4200", -3000), ("2000", 3000)])
    ]
    collapsed = [("9", "2024-05-05", "B-8", [("4200", 0), ("2000", 0)])]
    result = compare(_books(netted + purchase_and_reversal), _books(netted + collapsed))
    assert result.verdict == FAILED
    # The year's closing is the same; its debits and credits are not.
    assert "2024-01-01–2024-12-31 account 4200: debit 30.00 before, 0.00 after; credit -30.00 before, 0.00 after" in (
        result.differences
    )


def test_one_entry_split_in_two_fails() -> None:
    split = [("3a", "2024-04-02", "B-7", [("6000", 1500), ("1020", -1500)]),
             ("3b", "2024-04-02", "B-7", [("6000", 500), ("1020", -500)])]  # fmt: skip
    result = compare(_books(TWO_SALES), _books(TWO_SALES[:2] + split))
    assert result.verdict == FAILED
    assert "- B-7 2024-04-02: 6000 20.00, 1020 -20.00" in result.entries
    assert "+ B-7 2024-04-02: 6000 15.00, 1020 -15.00" in result.entries


def test_a_line_moved_to_another_day_fails() -> None:
    moved = [TWO_SALES[0], TWO_SALES[1], ("3", "2024-04-02", "B-7", [("6000", 2000), ("1020", -2000)])]
    moved_rows = _books(moved)
    lines = moved_rows.lines
    dates = pc.if_else(pc.equal(lines.column("account"), "1020"), pa.scalar(dt.date(2024, 4, 9)), lines.column("date"))
    after = moved_rows.replace(lines=lines.set_column(lines.schema.get_field_index("date"), "date", dates))
    assert compare(_books(TWO_SALES), after).verdict == FAILED


def test_base_currency_flipped_fails_unless_declared() -> None:
    before, after = _books(TWO_SALES), _books(TWO_SALES, base_currency="EUR")
    result = compare(before, after)
    assert result.verdict == FAILED
    assert result.differences == ["base currency: CHF before, EUR after"]
    declared = [Problem("info", "1 base currency not carried by this format: the file states none")]
    assert compare(before, after, declared=declared).verdict == VERIFIED_WITH_LOSSES


def _with_partners(ledger: Ledger, count: int) -> Ledger:
    return ledger.replace(partners=table("partners", ({"id": f"C{n:03d}", "name": f"client {n}"}
                                                      for n in range(1, count + 1))))  # fmt: skip


def test_partners_dropped_without_a_declaration_fail() -> None:
    before, after = _with_partners(_books(TWO_SALES), 6), _books(TWO_SALES)
    result = compare(before, after)
    assert result.verdict == FAILED
    assert result.differences == ["partners: 6 before, 0 after (missing: C001, C002, C003, C004, C005, C006)"]


def test_partners_declared_as_not_carried_are_a_declared_loss() -> None:
    before, after = _with_partners(_books(TWO_SALES), 6), _books(TWO_SALES)
    declared = [Problem("info", "6 partners not carried by this format: left out")]
    result = compare(before, after, declared=declared)
    assert result.verdict == VERIFIED_WITH_LOSSES
    assert result.ok  # bulk and other callers: not failed
    assert result.differences == []
    assert result.losses == ["partners: 6 before, 0 after (missing: C001, C002, C003, C004, C005, C006) "
                             "(declared: 6 partners not carried by this format: left out)"]  # fmt: skip


def test_a_declaration_covers_only_its_own_aspect() -> None:
    before = _with_partners(_books(TWO_SALES), 2)
    after = _books([*TWO_SALES[:2], ("3", "2024-04-02", "B-7", [("6000", 2500), ("1020", -2500)])])
    result = compare(before, after, declared=[Problem("info", "2 partners not carried by this format: left out")])
    assert result.verdict == FAILED
    reasons = {row["account"]: row["reason"] for row in result.years}
    assert reasons["6000"] == "not declared" and reasons["1100"] == ""


def test_open_items_and_company_name_compared_by_key() -> None:
    before = _books(TWO_SALES).replace(open_items=table("open_items", [{"id": "R-1", "amount": 15000}]))
    after = _books(TWO_SALES, name="")
    assert compare(before, after).differences == [
        "company name: 'Garage du Lac Sàrl' before, '' after",
        "open items: 1 before, 0 after (missing: R-1)",
    ]


def test_declarations_name_their_aspects() -> None:
    def aspects(message: str) -> list[str]:
        return sorted(declared_aspects(Problem("info", message)))

    assert aspects("23 VAT codes on lines not carried by this format: VAT lines written as plain bookings") == [
        "line_vat"
    ]
    assert aspects("5 VAT codes not carried by this format: left out") == ["vat_codes"]
    assert aspects("19 opening-balance lines not carried by this format: written as ordinary bookings") == ["opening"]
    assert aspects("2 open items not carried by this format: left out") == ["open_items"]
    assert aspects("3 partner references on lines not carried by this format: left out") == []


def test_the_writer_hook_states_how_the_target_keeps_entries() -> None:
    pairs = [("1", "2024-01-01", "OUV", [("1000", 100), ("9100", -100)]),
             ("2", "2024-01-01", "OUV", [("1020", 50), ("9100", -50)])]  # fmt: skip
    one = [("1", "2024-01-01", "OUV", [("1000", 100), ("9100", -100), ("1020", 50), ("9100", -50)])]

    def as_kept(ledger: Ledger) -> Ledger:
        """One opening entry for the whole year."""
        return ledger.replace(lines=ledger.lines.set_column(0, "entry", pa.array(["1"] * ledger.lines.num_rows)))

    assert compare(_books(pairs), _books(one)).verdict == FAILED
    kept = compare(_books(pairs), _books(one), kept=as_kept)
    assert kept.verdict == VERIFIED
    assert kept.notes == [
        "entries and VAT codes compared as the target keeps them: One opening entry for the whole year."
    ]


# ---------------------------------------------------------------------- the command line's three states


def test_cli_verdicts(run_cli: Any, tmp_path: Path) -> None:
    journal = Path(__file__).resolve().parent.parent / "samples" / "garage" / "journal.csv"
    out = tmp_path / "garage.sqlite"
    done = run_cli("convert", journal, "--to", "sqlite", "-o", out)
    assert done.exit_code == 0, done.output
    assert "verified: the output reads back to the same books" in done.stdout
    checked = run_cli("verify", journal, out)
    assert checked.exit_code == 0 and "verified:" in checked.stdout
    other = tmp_path / "other.sqlite"
    ledger = pipeline.read(journal)
    lines = ledger.lines
    amounts = lines.column("amount").to_pylist()
    amounts[0], amounts[1] = amounts[0] + 100, amounts[1] - 100  # still balanced: only the balances differ
    pipeline.write(ledger.replace(lines=lines.set_column(lines.schema.get_field_index("amount"), "amount",
                                                         pa.array(amounts, pa.int64()))), "sqlite", other)  # fmt: skip
    failed = run_cli("verify", journal, other)
    assert failed.exit_code == 4
    assert "VERIFICATION FAILED" in failed.stderr


# --------------------------------------------------------------------- every writer with a reader, random


ROUTES = [f.name for f in registry.writable() if f.reads]


@pytest.mark.parametrize("name", ROUTES)
def test_random_books_verify_through_every_writer_with_a_reader(name: str) -> None:
    fmt = registry.get(name)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
        phases=(Phase.explicit, Phase.generate),
        derandomize=True,
    )  # the same books each run, no shrinking: a few seconds per writer
    @given(ledgers(texts(LATIN), max_entries=8))
    def round_trip(ledger: Ledger) -> None:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / ("out" + ("" if fmt.output == "folder" else fmt.default_extension))
            declared = pipeline.write(ledger, name, out)
            reread = pipeline.read(out, name, for_verification=True)
            written = pipeline.for_target(ledger, name)[0]  # with the target's VAT codes, as convert compares
            result = compare(written, reread, fmt.keeps, declared=declared)
            assert result.ok, "\n".join(result.differences + result.entries)

    round_trip()


_FIELDS = ("amount", "account", "date", "vat_code", "currency")


@settings(max_examples=25, deadline=None, database=None)
@given(line=st.integers(min_value=0, max_value=10**6), field=st.sampled_from(_FIELDS), data=st.data())
def test_any_single_line_change_to_a_written_csv_fails_verification(garage: Ledger, line: int, field: str,
                                                                    data: st.DataObject) -> None:  # fmt: skip
    import csv
    import io
    from decimal import Decimal

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "garage.csv"
        declared = pipeline.write(garage, "csv", out)
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        header = rows[0]
        row = 1 + line % (len(rows) - 1)
        column = header.index(field)
        old = rows[row][column]
        draw = data.draw
        if field == "amount":
            new = str(Decimal(old) + Decimal(draw(st.integers(min_value=1, max_value=10**6))).scaleb(-2))
        elif field == "date":
            new = (dt.date.fromisoformat(old) + dt.timedelta(days=draw(st.integers(1, 200)))).isoformat()
        else:
            choices = {"account": ("1000", "1020", "2000", "6000", "9999"), "vat_code": ("V81", "M81", "XX", ""),
                       "currency": ("USD", "GBP", "")}[field]  # fmt: skip
            same = {old, ""} if field == "currency" and old == garage.company.base_currency else {old}
            new = draw(st.sampled_from([c for c in choices if c not in same]))  # an empty currency is the base one
        rows[row][column] = new
        changed = io.StringIO()
        csv.writer(changed, lineterminator="\n").writerows(rows)
        out.write_text(changed.getvalue(), encoding="utf-8")
        reread = pipeline.read(out, "csv", for_verification=True)
        result = compare(garage, reread, registry.get("csv").keeps, declared=declared)
        assert result.verdict == FAILED, f"row {row}: {field} {old!r} → {new!r}"


def test_verify_json_gives_the_three_state_verdict(run_cli: Any, tmp_path: Path) -> None:
    import json

    journal = Path(__file__).resolve().parent.parent / "samples" / "garage" / "journal.csv"
    out = tmp_path / "garage.xlsx"
    assert run_cli("convert", journal, "--to", "xlsx", "-o", out).exit_code == 0
    done = run_cli("verify", journal, out, "--json")
    assert done.exit_code == 0
    data = json.loads(done.stdout)
    assert (data["verdict"], data["ok"], data["differences"], data["losses"]) == ("verified", True, [], [])


def test_opening_lines_written_as_bookings_are_a_declared_loss_even_where_they_net_to_zero() -> None:
    opening = [("1", "2024-01-01", "OUV", [("1000", 100), ("9100", -100)]),
               ("2", "2024-01-01", "OUV", [("9100", 100), ("2000", -100)])]  # fmt: skip
    before = _books(opening)
    before = before.replace(lines=before.lines.set_column(before.lines.schema.get_field_index("opening"), "opening",
                                                          pa.array([True] * 4)))  # fmt: skip
    after = _books(opening)  # the same lines, booked as ordinary ones
    result = compare(before, after)
    assert result.verdict == FAILED
    # 9100's opening nets to zero: only its debit and credit change, and the reason is the same.
    assert "2024-01-01–2024-12-31 account 9100: debit 0.00 before, 1.00 after; credit 0.00 before, -1.00 after" in (
        result.differences
    )
    declared = [Problem("info", "4 opening-balance lines not carried by this format: written as ordinary bookings")]
    assert compare(before, after, declared=declared).verdict == VERIFIED_WITH_LOSSES
