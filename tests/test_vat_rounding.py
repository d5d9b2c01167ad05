"""VAT rounded to 5 centimes, rounding differences and credit notes, through Banana."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator import pipeline
from migrator.model import Company, Ledger, table
from migrator.reconcile import VERIFIED, compare, vat_totals
from migrator.vatfold import computed_vat, vat_checks, vat_plan

DAY = dt.date(2024, 3, 1)
Line = tuple[str, int, str, int | None, bool]  # account, amount, VAT code, VAT amount, is a VAT line
CODES = [
    {"code": "V81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"},
    {"code": "M81", "rate": "8.1", "kind": "input_material", "method": "net", "account": "1170"},
]


def books(entries: dict[str, list[Line]]) -> Ledger:
    """A CHF ledger of one day's entries, each a list of `Line`."""
    rows: list[dict[str, Any]] = []
    for doc, lines in entries.items():
        for number, (account, cents, code, tax, is_vat) in enumerate(lines, start=1):
            rows.append({"entry": doc, "line": number, "date": DAY, "doc": doc, "description": f"{doc} {number}",
                         "account": account, "amount": cents, "vat_code": code, "vat_amount": tax,
                         "vat_line": is_vat})  # fmt: skip
    codes = sorted({r["account"] for r in rows})
    return Ledger(company=Company(base_currency="CHF"), lines=table("lines", rows),
                  accounts=table("accounts", [{"code": c, "active": True} for c in codes]),
                  vat_codes=table("vat_codes", CODES))  # fmt: skip


def sale(nets: list[tuple[int, int]]) -> list[Line]:
    """A sale to 1100 of net amounts (cents) with the VAT each line's invoice booked, on V81."""
    total = sum(tax for _, tax in nets)
    lines: list[Line] = [("1100", sum(n + t for n, t in nets), "", None, False)]
    lines += [("3400", -net, "V81", -tax, False) for net, tax in nets]
    return [*lines, ("2200", -total, "V81", None, True)]


def through_banana(ledger: Ledger, out: Path) -> tuple[list[str], Ledger]:
    """Write `ledger` as Banana files, check it verifies with every VAT code kept, return the rows."""
    notes = pipeline.write(ledger, "banana", out)
    assert not [p.message for p in notes if "without VAT code" in p.message]
    back = pipeline.read(out, "banana")
    written, codes = pipeline.for_target(ledger, "banana")  # the books with Banana's codes, as the writer got them
    result = compare(written, back, ("entries",), declared=notes)
    assert result.verdict == VERIFIED, result.differences + result.losses
    before: dict[str, tuple[int, int]] = {}
    for code, sums in vat_totals(ledger).items():  # the source's codes, added up under their Banana codes
        base, tax = before.get(codes.get(code, code), (0, 0))
        before[codes.get(code, code)] = (base + sums["base"], tax + sums["vat"])
    assert {code: (t["base"], t["vat"]) for code, t in vat_totals(back).items()} == before
    return (out / "transactions.txt").read_text("utf-8").splitlines(), back


def test_computed_vat_rounds_to_five_centimes() -> None:
    # FORMATS.md, Winbiz 6: 62,500.00 gross at 7.5 % books 4,360.45 (4,360.4651… inside the gross).
    assert computed_vat(6250000, Decimal("7.5"), gross=True, step=5) == 436045
    assert computed_vat(6250000, Decimal("7.5"), gross=True) == 436047
    assert computed_vat(-11955, Decimal("8.1"), gross=False, step=5) == -970  # 9.68355 -> 9.70
    assert computed_vat(2000, Decimal("8.1"), gross=False, step=5) == 160  # 1.62 -> 1.60
    assert computed_vat(2500, Decimal("8.1"), gross=False, step=5) == 205  # 2.025: half up, 2.05


def test_infoniqa_books_round_to_five_centimes(reference: Path, tmp_path: Path) -> None:
    """Infoniqa's journal (VAT on the net, rounded to 0.05): every code carried, VAT per code exact."""
    ledger = pipeline.read(reference / "vendors" / "infoniqa" / "infoniqa_journal_export_2024.csv")
    checks = vat_checks(ledger.lines, vat_plan(ledger, "banana"))
    by_cent = sum(1 for c in checks.values() if c[2] == c[3])
    by_five = sum(1 for c in checks.values() if c[2] == c[4])
    assert by_five > by_cent
    rows, _ = through_banana(ledger, tmp_path / "out")
    assert "VatRounding\tVAT/Sales tax rounding\t0.05" in (tmp_path / "out" / "fileinfo.txt").read_text("utf-8")
    readme = (tmp_path / "out" / "README.txt").read_text("utf-8")
    assert "'VAT/Sales tax rounding' to 0.05" in readme
    # Blg 8 of 4.1.2024: 3230 credit 597.80 net, VAT 48.40 (8.1 % is 48.4218; 0.05 rounding): no VAT row.
    assert "2024-01-04\t8\tTest\t\t3230\t597.80\tV81\t1\t\t\t" in rows
    assert not [r for r in rows if r.startswith("2024-01-04\t8\t") and "\t2200\t" in r]


def test_winbiz_entry_rounded_to_five_centimes(reference: Path, tmp_path: Path) -> None:
    """The Winbiz sample's monthly sales: 58,139.55 net on V75G with 4,360.45 VAT (0.05 rounding)."""
    ledger = pipeline.read(reference / "vendors" / "winbiz" / "oca_winbiz_export_attribute-oriented.xml")
    rows, back = through_banana(ledger, tmp_path / "out")
    assert "2016-01-31\t\tVentes du mois\t\t6200\t58139.55\tV75G\t1\t\t\t" in rows
    vat = [r for r in back.lines.to_pylist() if r["vat_code"] == "V75G" and r["vat_line"]]
    assert [(r["account"], r["amount"]) for r in vat] == [("2010", -436045)]


def test_mixed_rounding_entry_gets_a_rounding_row(tmp_path: Path) -> None:
    """One entry, one line rounded to 0.05 and one to the cent, in books that round to 0.05."""
    ledger = books({
        "E1": sale([(59780, 4840)]),  # 597.80 at 8.1 % = 48.4218: 48.40 at 0.05
        # 100.30 at 8.1 % = 8.1243: 8.10 at 0.05, but this invoice booked 8.12 (cent)
        "E2": sale([(59780, 4840), (10030, 812)]),
    })  # fmt: skip
    rows, back = through_banana(ledger, tmp_path / "out")
    e2 = [r for r in rows if "\tE2\t" in r]
    # Banana computes 48.40 + 8.10 = 56.50; the books hold 56.52: 0.02 more VAT due, in credit.
    assert e2 == [
        "2024-03-01\tE2\tE2 1\t1100\t\t754.62\t\t\t\t\t",
        "2024-03-01\tE2\tE2 2\t\t3400\t597.80\tV81\t1\t\t\t",
        "2024-03-01\tE2\tE2 3\t\t3400\t100.30\tV81\t1\t\t\t",
        "2024-03-01\tE2\tE2 4\t\t2200\t0.02\tV81-2\t2\t\t\t",
    ]
    assert "\tV81-2\tRounding differences V81\t8.1\t\t1\t2\t2200" in (tmp_path / "out" / "vatcodes.txt").read_text()
    vat = sorted(r["amount"] for r in back.lines.to_pylist() if r["doc"] == "E2" and r["vat_line"])
    assert vat == [-4840, -810, -2]
    assert "V81-2" not in set(back.vat_codes.column("code").to_pylist())


def test_more_vat_than_booked_splits_a_line(tmp_path: Path) -> None:
    """Banana at 0.05 would book 9.70 on 119.55 where the books hold 9.68: the base row is split so
    that Banana books less (0.11 has no VAT; 119.44 gives 9.6746, 9.65), a rounding row adds 0.03."""
    ledger = books({"E1": sale([(59780, 4840)]), "E2": sale([(59780, 4840)]),
                    "E3": sale([(11955, 968)])})  # fmt: skip
    rows, back = through_banana(ledger, tmp_path / "out")
    assert [r for r in rows if "\tE3\t" in r][1:] == [
        "2024-03-01\tE3\tE3 2\t\t3400\t119.44\tV81\t1\t\t\t",
        "2024-03-01\tE3\tE3 2\t\t3400\t0.11\tV81\t1\t\t\t",
        "2024-03-01\tE3\tE3 3\t\t2200\t0.03\tV81-2\t2\t\t\t",
    ]
    lines = back.lines.to_pylist()
    assert sorted(r["amount"] for r in lines if r["doc"] == "E3" and r["account"] == "2200") == [-965, -3]


def test_credit_notes_get_the_minus_code(tmp_path: Path) -> None:
    """A sales credit note (3400 in debit) is written -V81; a supplier's credit note (4000 in credit) -M81."""
    ledger = books({
        "GS1": [("3400", 20000, "V81", 1620, False), ("2200", 1620, "V81", None, True), ("1100", -21620, "", None, False)],
        "GS2": [("2000", 10810, "", None, False), ("4000", -10000, "M81", -810, False),
                ("1170", -810, "M81", None, True)],
        "R1": [("1100", 10810, "", None, False), ("3400", -10000, "V81", -810, False), ("2200", -810, "V81", None, True)],
    })  # fmt: skip
    rows, back = through_banana(ledger, tmp_path / "out")
    assert "2024-03-01\tGS1\tGS1 1\t3400\t\t200.00\t-V81\t1\t\t\t" in rows
    assert "2024-03-01\tGS2\tGS2 2\t\t4000\t100.00\t-M81\t1\t\t\t" in rows
    assert "2024-03-01\tR1\tR1 2\t\t3400\t100.00\tV81\t1\t\t\t" in rows  # an invoice keeps the plain code
    vat = {(r["doc"], r["account"]): r["amount"] for r in back.lines.to_pylist() if r["vat_line"]}
    assert vat == {("GS1", "2200"): 1620, ("GS2", "1170"): -810, ("R1", "2200"): -810}


def test_text_starting_with_a_quote_keeps_the_rows_after_it(tmp_path: Path) -> None:
    ledger = books({"Q1": [("1000", 500, "", None, False), ("3400", -500, "", None, False)],
                    "Q2": [("1000", 700, "", None, False), ("3400", -700, "", None, False)]})  # fmt: skip
    rows = ledger.lines.to_pylist()
    rows[0]["description"] = '"Le Lac" Sàrl\t, 5 "x'
    ledger = ledger.replace(lines=table("lines", rows))
    pipeline.write(ledger, "banana", tmp_path / "out")
    text = (tmp_path / "out" / "transactions.txt").read_text("utf-8")
    assert '\t"""Le Lac"" Sàrl , 5 ""x"\t' in text
    back = pipeline.read(tmp_path / "out", "banana")
    assert back.counts()["entries"] == 2 and not back.errors
    assert back.lines.column("description").to_pylist()[0] == '"Le Lac" Sàrl , 5 "x'


def test_reader_takes_rounding_rows_and_the_rounding_property(tmp_path: Path) -> None:
    """A Banana file made by hand: 0.05 rounding, a rounding row of M81-2, a credit note with -V81."""
    (tmp_path / "fileinfo.txt").write_text(
        "Section\tId\tDescription\tValue\nAccountingDataBase\tVatRounding\tVAT/Sales tax rounding\t0.05\n", "utf-8"
    )
    (tmp_path / "vatcodes.txt").write_text(
        "VatCode\tVatRate\tIsDue\tAmountType\tVatAccount\nV81\t8.1\t1\t\t2200\nM81\t8.1\t\t\t1170\n"
        "M81-2\t8.1\t\t2\t1170\n", "utf-8",
    )  # fmt: skip
    (tmp_path / "transactions.txt").write_text(
        "Date\tDoc\tDescription\tAccountDebit\tAccountCredit\tAmount\tVatCode\tVatAmountType\n"
        "2024-05-02\tA1\tflour\t4000\t\t20.00\tM81\t1\n"  # 1.62 -> 1.60 at 0.05
        "2024-05-02\tA1\trounding\t1170\t\t0.03\tM81-2\t\n"  # amount type 2 from the VAT codes table
        "2024-05-02\tA1\tsupplier\t\t2000\t21.63\t\t\n"
        "2024-05-03\tC1\tcredit note\t3400\t1100\t100.00\t-V81\t1\n", "utf-8",
    )  # fmt: skip
    back = pipeline.read(tmp_path, "banana")
    assert not back.errors
    lines = [(r["doc"], r["account"], r["amount"], r["vat_code"], r["vat_line"]) for r in back.lines.to_pylist()]
    assert lines == [
        ("A1", "4000", 2000, "M81", False), ("A1", "1170", 160, "M81", True), ("A1", "1170", 3, "M81", True),
        ("A1", "2000", -2163, "", False),
        ("C1", "3400", 10000, "V81", False), ("C1", "2200", 810, "V81", True), ("C1", "1100", -10810, "", False),
    ]  # fmt: skip
    assert sorted(back.vat_codes.column("code").to_pylist()) == ["M81", "V81"]


nets = st.integers(min_value=1, max_value=5_000_000)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(nets, min_size=1, max_size=3), st.booleans(), st.booleans()), min_size=1,
                max_size=5))  # fmt: skip
def test_any_rounding_verifies(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[list[int], bool, bool]]
) -> None:
    """Sales and credit notes whose VAT each invoice rounded to 0.05 or to the cent read back exactly."""
    ledger_entries: dict[str, list[Line]] = {}
    for number, (amounts, five, credit) in enumerate(entries, start=1):
        step = 5 if five else 1
        lines = sale([(n, computed_vat(n, Decimal("8.1"), gross=False, step=step)) for n in amounts])
        sign = -1 if credit else 1
        ledger_entries[f"E{number}"] = [(a, sign * c, code, None if t is None else sign * t, v)
                                        for a, c, code, t, v in lines]  # fmt: skip
    ledger = books(ledger_entries)
    rows, _ = through_banana(ledger, tmp_path_factory.mktemp("rounding") / "out")
    assert all("\t-V81\t" in r for r in rows if "\t3400\t" in r and r.split("\t")[3] == "3400")


@pytest.mark.parametrize("big", [0, 10**14, 2**62])
def test_vat_checks_compute_as_computed_vat(big: int) -> None:
    """vat_checks' column-wise computation (int64 for ordinary amounts, Python integers for amounts too
    large for it) gives per entry what `computed_vat` gives line by line, to the cent and to 0.05."""
    nets = [1, 5, 6, 17, 185, 186, 61_729, 4_999_995, big]
    ledger = books({f"E{i}": [("1100", net, "", None, False), ("3400", -net, "V81", None, False),
                              ("2200", -(net * 81 // 1000), "V81", None, True)]
                    for i, net in enumerate(nets)})  # fmt: skip
    checks = vat_checks(ledger.lines, vat_plan(ledger, "banana"))
    for i, net in enumerate(nets):
        base, vat_lines, booked, cent, five, _ = checks[(f"E{i}", "V81")]
        assert (base, vat_lines, booked) == (1, 1, -(net * 81 // 1000))
        assert cent == computed_vat(-net, Decimal("8.1"), False, 1)
        assert five == computed_vat(-net, Decimal("8.1"), False, 5)
