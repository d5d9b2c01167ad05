"""Banana: import files written per year, read back; Banana's own export layout read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import golden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator import pipeline, vat
from migrator.errors import SourceError
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.outputs import MANIFEST
from migrator.reconcile import compare, trial_balance, vat_totals

# The garage's VAT (cents), added up by hand from samples/garage.py.
GARAGE_VAT = {
    "V77": {"base": -505000, "vat": -38885, "declared": -38885},
    "V81": {"base": -680000, "vat": -55080, "declared": -55080},
    "M77": {"base": 200000, "vat": 15400, "declared": 15400},
    "M81": {"base": 450000, "vat": 36450, "declared": 36450},
    "I81": {"base": 1200000, "vat": 97200, "declared": 97200},
}
HEADER = "Date\tDoc\tDescription\tAccountDebit\tAccountCredit\tAmount\tVatCode\tVatAmountType"


def test_sample_folder(samples: Path, garage) -> None:  # type: ignore[no-untyped-def]
    ledger = pipeline.read(samples / "banana" / "garage")
    assert pipeline.detect(samples / "banana" / "garage").format == "banana"
    assert trial_balance(ledger) == trial_balance(garage)
    assert vat_totals(ledger) == GARAGE_VAT
    counts = ledger.counts()
    assert (counts["accounts"], counts["entries"], counts["vat_codes"]) == (19, 23, 5)
    # R23-002 has two base rows; Banana books VAT on each: one VAT line more than the garage's 75.
    assert counts["lines"] == 76
    opening = [r for r in ledger.lines.to_pylist() if r["opening"]]
    assert {r["date"] for r in opening} == {dt.date(2023, 1, 1), dt.date(2024, 1, 1)}
    # 2023 Opening column of accounts.txt: 1000 2500.00, 1020 48300.00, 2000 -9400.00 …
    first = {r["account"]: r["amount"] for r in opening if r["date"].year == 2023}
    assert first == {"1000": 250000, "1020": 4830000, "1100": 620000, "1200": 1800000, "1500": 3500000,
                     "2000": -940000, "2800": -5000000, "2970": -5060000}  # fmt: skip
    assert not ledger.errors


def test_export_layout(samples: Path) -> None:
    """Two-account rows with the VAT code on the gross amount and Banana's VatAmount (the 2024 year)."""
    ledger = pipeline.read(samples / "banana" / "export")
    rows = {r["doc"]: r for r in ledger.lines.to_pylist() if r["doc"] == "R24-001" and r["vat_line"]}
    assert rows["R24-001"]["account"] == "2200" and rows["R24-001"]["amount"] == -16200
    balances = trial_balance(ledger)
    # By hand from the files: 3400 = -(2000 + 4000); 2200 = Opening -388.85 - (162.00 + 64.80 + 324.00);
    # 1170 = Opening 154.00 + 243.00 + 121.50.
    assert balances["3400"] == -600000
    assert balances["2200"] == -38885 - 55080
    assert balances["1170"] == 15400 + 36450
    totals = vat_totals(ledger)
    assert totals["V81"] == GARAGE_VAT["V81"] and totals["M81"] == GARAGE_VAT["M81"]
    assert totals["I81"] == GARAGE_VAT["I81"]
    assert ledger.counts()["entries"] == 10  # the opening entry and the 9 entries of 2024


def test_round_trip(samples: Path, tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    result = pipeline.convert(samples / "garage" / "journal.csv", "banana", tmp_path / "out")
    assert result.verified, result.verification.differences if result.verification else None
    assert result.reread is not None and vat_totals(result.reread) == GARAGE_VAT


def test_writer_layout(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    pipeline.write(garage, "banana", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == ["2023", "2024", "README.txt"]
    golden("banana/README.txt", (out / "README.txt").read_text("utf-8"))
    for year in ("2023", "2024"):
        for name in ("accounts.txt", "vatcodes.txt", "transactions.txt", "fileinfo.txt"):
            golden(f"banana/{year}/{name}", (out / year / name).read_text("utf-8"))
    text = (out / "2023" / "transactions.txt").read_text("utf-8")
    # No VAT line of its own: Banana books it from the code (R23-001 credits 3400 net 1200.00 with V77).
    assert "2023-02-10\tR23-001\tFacture Müller Transport, service camion\t\t3400\t1200.00\tV77\t1" in text
    assert "\t2200\t" not in text


def test_vat_translation(garage) -> None:  # type: ignore[no-untyped-def]
    codes, problems = vat.translate(garage, "banana")
    assert codes == {"V77": "V77", "M77": "M77", "V81": "V81", "M81": "M81", "I81": "I81"}
    assert not problems
    bexio = pipeline.read(Path(__file__).parent.parent / "samples" / "bexio" / "journal.csv")
    codes, problems = vat.translate(bexio, "banana")
    assert codes == {"UN77": "V77", "VM77": "M77", "UN81": "V81", "VM81": "M81", "VB81": "I81"}


def test_vat_not_computed_alike_is_written_plain(tmp_path: Path) -> None:
    """VAT Banana cannot reach (7.7 % of 100.00 is 7.70, the books say 7.65): a rounding row books only
    VAT of the same sign, and no split of the line brings Banana's VAT down by 0.05: booked as it is."""
    rows = [
        {"entry": "1", "line": 1, "date": dt.date(2023, 5, 1), "doc": "X", "account": "1100", "amount": 10765},
        {"entry": "1", "line": 2, "date": dt.date(2023, 5, 1), "doc": "X", "account": "3400", "amount": -10000,
         "vat_code": "V77", "vat_amount": -765},
        {"entry": "1", "line": 3, "date": dt.date(2023, 5, 1), "doc": "X", "account": "2200", "amount": -765,
         "vat_code": "V77", "vat_line": True},
    ]  # fmt: skip
    ledger = Ledger(
        lines=table("lines", rows), accounts=table("accounts", [{"code": c} for c in ("1100", "2200", "3400")])
    )
    problems = pipeline.write(ledger, "banana", tmp_path / "out")
    assert any("V77" in p.message and "more VAT" in p.message and "without VAT code" in p.message for p in problems)
    back = pipeline.read(tmp_path / "out", "banana")
    assert trial_balance(back) == trial_balance(ledger)
    assert "V77" not in vat_totals(back)


def test_bad_inputs(tmp_path: Path) -> None:
    unknown = tmp_path / "x.txt"
    unknown.write_text("Datum\tKonto\tBetrag\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        pipeline.read(unknown, "banana")
    assert "unknown header" in str(info.value) and "x.txt" in str(info.value)
    bad = tmp_path / "t.txt"
    bad.write_text(f"{HEADER}\n2024-01-05\t1\tx\t1020\t3400\t1O0.00\t\t\n2024-13-40\t2\ty\t1020\t3400\t5.00\t\t\n"
                   f"2024-01-06\t3\tz\t1020\t3400\t7.00\tQ99\t\n", encoding="utf-8")  # fmt: skip
    ledger = pipeline.read(bad, "banana")
    errors = sorted((p.row, p.message) for p in ledger.errors)
    assert [row for row, _ in errors] == [2, 3, 4]
    assert "1O0.00" in errors[0][1] and "2024-13-40" in errors[1][1] and "Q99" in errors[2][1]
    assert all(p.file.endswith("t.txt") for p in ledger.errors)
    assert ledger.lines.num_rows == 0


amounts = st.integers(min_value=1, max_value=10**9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(amounts, amounts, st.sampled_from(["1020", "1100", "6000"])), min_size=1, max_size=6))
def test_hypothesis_round_trip(tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[int, int, str]]) -> None:
    """Compound and two-line entries of any size read back to the same balances and entries."""
    rows: list[dict[str, Any]] = []
    for number, (a, b, account) in enumerate(entries, start=1):
        lines = [(account, a + b), ("3400", -a), ("2000", -b)] if number % 2 else [(account, a), ("3400", -a)]
        for position, (code, cents) in enumerate(lines, start=1):
            rows.append({"entry": str(number), "line": position, "date": dt.date(2024, 3, 1), "doc": f"D{number}",
                         "account": code, "amount": cents})  # fmt: skip
    codes = sorted({r["account"] for r in rows})
    ledger = Ledger(
        lines=table("lines", rows), accounts=table("accounts", [{"code": c, "active": True} for c in codes])
    )
    out = tmp_path_factory.mktemp("banana") / "out"
    pipeline.write(ledger, "banana", out)
    back = pipeline.read(out, "banana")
    assert compare(ledger, back, ("accounts", "vat_codes", "entries", "lines")).ok


def entry_lines(ledger: Ledger) -> list[tuple[str, list[tuple[str, int]]]]:
    """Each entry as (Doc, its lines' accounts and amounts), entries and lines sorted."""
    out: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    for line in ledger.lines.to_pylist():
        out.setdefault(line["entry"], (line["doc"], []))[1].append((line["account"], line["amount"]))
    return sorted((doc, sorted(lines)) for doc, lines in out.values())


def test_entries_sharing_date_and_doc_come_back_apart(tmp_path: Path) -> None:
    """Two compound entries of one date and Doc (a FEC file's, say) stay two; so do two two-line ones."""
    day = dt.date(2024, 2, 29)
    rows: list[dict[str, Any]] = []
    for entry, lines in (
        ("A", [("4000", 30000), ("1170", 2430), ("2000", -32430)]),  # a purchase with input VAT, as lines
        ("B", [("2000", 32430), ("1020", -30000), ("6900", -2430)]),  # another booking of the same voucher
        ("C", [("1000", 5000), ("3400", -5000)]),
        ("D", [("1000", 7000), ("3400", -7000)]),
    ):
        for number, (account, cents) in enumerate(lines, start=1):
            rows.append({"entry": entry, "line": number, "date": day, "doc": "AC-17", "account": account,
                         "amount": cents, "description": f"{entry}{number}"})  # fmt: skip
    codes = sorted({r["account"] for r in rows})
    ledger = Ledger(lines=table("lines", rows), accounts=table("accounts", [{"code": c} for c in codes]))
    notes = pipeline.write(ledger, "banana", tmp_path / "out")
    assert any("1 compound entries share date and Doc" in p.message for p in notes)
    text = (tmp_path / "out" / "transactions.txt").read_text("utf-8")
    assert "2024-02-29\tAC-17\tA1\t4000\t\t300.00" in text and "2024-02-29\tAC-17 (2)\tB1\t2000\t\t324.30" in text
    assert "2024-02-29\tAC-17\tC1\t1000\t3400\t50.00" in text  # a two-line row is an entry by itself: unchanged
    back = pipeline.read(tmp_path / "out", "banana")
    assert back.counts()["entries"] == 4
    assert entry_lines(back) == [
        ("AC-17", [("1000", 5000), ("3400", -5000)]),
        ("AC-17", [("1000", 7000), ("3400", -7000)]),
        ("AC-17", [("1170", 2430), ("2000", -32430), ("4000", 30000)]),
        ("AC-17 (2)", [("1020", -30000), ("2000", 32430), ("6900", -2430)]),
    ]
    assert compare(ledger, back, ("entries",), declared=notes).differences == []


def test_chf_books_stay_chf(tmp_path: Path) -> None:
    """A CHF ledger whose only currency-named rows are in EUR, at rate 1 or with no rate, reads back in CHF."""
    day = dt.date(2024, 6, 3)
    rows = [
        {"entry": "1", "line": 1, "date": day, "doc": "E1", "account": "4200", "amount": 10000, "currency": "EUR",
         "amount_currency": 10000, "rate": "1"},
        {"entry": "1", "line": 2, "date": day, "doc": "E1", "account": "2000", "amount": -10000, "currency": "EUR",
         "amount_currency": -10000, "rate": "1"},
        {"entry": "2", "line": 1, "date": day, "doc": "E2", "account": "4200", "amount": 9650, "currency": "EUR",
         "amount_currency": 10000},
        {"entry": "2", "line": 2, "date": day, "doc": "E2", "account": "2000", "amount": -9650, "currency": "EUR",
         "amount_currency": -10000},
    ]  # fmt: skip
    accounts = table("accounts", [{"code": "2000"}, {"code": "4200"}])
    ledger = Ledger(company=Company(name="Garage", base_currency="CHF"), lines=table("lines", rows), accounts=accounts)
    out = tmp_path / "out"
    pipeline.write(ledger, "banana", out)
    assert "2000\t\t2\t\t\tCHF" in (out / "accounts.txt").read_text("utf-8")  # the base currency, stated
    back = pipeline.read(out, "banana")
    assert back.company.base_currency == "CHF"
    assert set(back.lines.column("currency").to_pylist()) == {"EUR"}
    assert not [p for p in back.problems if "base currency" in p.message]
    # The same transactions without the accounts table: nothing states the base; the guess is said aloud.
    (out / "accounts.txt").unlink()
    guessed = pipeline.read(out, "banana")
    assert guessed.company.base_currency == "EUR"
    warning = [p for p in guessed.problems if "base currency is not stated" in p.message]
    assert (
        len(warning) == 1 and "taken as EUR" in warning[0].message and "1 rows at exchange rate 1" in warning[0].message
    )
    # Only rows with no rate: they are never taken for the base; CHF, with a warning naming EUR.
    text = (out / "transactions.txt").read_text("utf-8").splitlines()
    (out / "transactions.txt").write_text("\n".join([text[0], *text[2:]]) + "\n", "utf-8")
    assumed = pipeline.read(out, "banana")
    assert assumed.company.base_currency == "CHF"
    assert any("taken as CHF; rows name EUR" in p.message for p in assumed.problems)


def test_eur_books_stay_eur(tmp_path: Path) -> None:
    """Books kept in EUR (a French FEC, say) are not read back as CHF."""
    rows = [
        {"entry": "1", "line": 1, "date": dt.date(2024, 1, 8), "account": "512", "amount": 120000},
        {"entry": "1", "line": 2, "date": dt.date(2024, 1, 8), "account": "706", "amount": -120000},
    ]  # fmt: skip
    ledger = Ledger(company=Company(base_currency="EUR"), lines=table("lines", rows),
                    accounts=table("accounts", [{"code": "512"}, {"code": "706"}]))  # fmt: skip
    pipeline.write(ledger, "banana", tmp_path / "out")
    assert pipeline.read(tmp_path / "out", "banana").company.base_currency == "EUR"


def test_as_kept_merges_opening_entries_per_account(tmp_path: Path) -> None:
    """Two opening entries of one year: Banana keeps one Opening per account, as_kept says so."""
    from migrator.writers.banana import BananaWriter

    rows: list[dict[str, Any]] = []
    for entry, day, opening, lines in (
        ("O1", dt.date(2024, 1, 1), True, [("1000", 50000), ("2800", -50000)]),
        ("O2", dt.date(2024, 1, 1), True, [("1000", 30000), ("2970", -30000)]),
        ("M1", dt.date(2024, 3, 4), False, [("1000", -1200), ("6500", 1200)]),
    ):
        for number, (account, cents) in enumerate(lines, start=1):
            rows.append({"entry": entry, "line": number, "date": day, "doc": entry, "account": account,
                         "amount": cents, "opening": opening})  # fmt: skip
    codes = sorted({r["account"] for r in rows})
    year = FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    ledger = Ledger(company=Company(base_currency="CHF", fiscal_years=(year,)), lines=table("lines", rows),
                    accounts=table("accounts", [{"code": c} for c in codes]))  # fmt: skip
    kept = BananaWriter().as_kept(ledger)
    merged = [(r["date"], r["account"], r["amount"]) for r in kept.lines.to_pylist() if r["opening"]]
    # by hand: 1000 500.00 + 300.00, 2800 -500.00, 2970 -300.00, in one entry dated 1 January
    assert sorted(merged) == [(dt.date(2024, 1, 1), "1000", 80000), (dt.date(2024, 1, 1), "2800", -50000),
                               (dt.date(2024, 1, 1), "2970", -30000)]  # fmt: skip
    assert len({r["entry"] for r in kept.lines.to_pylist() if r["opening"]}) == 1
    assert kept.counts()["entries"] == 2
    notes = pipeline.write(ledger, "banana", tmp_path / "out")
    assert "1000\t\t1\t\t800.00\tCHF" in (tmp_path / "out" / "accounts.txt").read_text("utf-8")
    back = pipeline.read(tmp_path / "out", "banana")
    assert entry_lines(back) == entry_lines(kept)
    result = compare(ledger, back, ("entries",), declared=notes)
    assert not [d for d in result.differences if d.startswith("entries")]


MIXED = [
    "Date\tDoc\tDescription\tAccountDebit\tAccountCredit\tAmount\tVatCode\tVatAmountType\tAmountCurrency\t"
    "ExchangeCurrency\tExchangeRate",
    "2024-03-01\tA1\tRent\t6000\t1020\t1500.00",
    "2024-03-02\tA2\tSale\t1100\t\t1081.00",
    "2024-03-02\tA2\tSale net\t\t3400\t1000.00\tV81\t1",
    "2024-03-03\tA3\tGross sale\t1020\t3400\t108.10\tV81\t0",
    "2024-03-04\tA4\tBad amount\t1020\t3400\t12,3,4",
    "",
    "2024-03-05\tA5\tEuro\t1020\t3400\t95.00\t\t\t100.00\tEUR\t0.95",
    "2024-03-06\tA6\tGross tiny\t1020\t3400\t0.03\tV20\t0",
    "2024-03-07\tA7\tCredit note\t3400\t1100\t200.00\t-V81\t1",
]
MIXED_VAT = (
    "Group\tVatCode\tDescription\tVatRate\tGr1\tIsDue\tVatAccount\n\tV81\tx\t8.1\t\t1\t2200\n\tV20\ty\t20\t\t1\t2200\n"
)
# By hand from MIXED: (entry, account, amount, VAT code, VAT amount, VAT line, currency, foreign amount, row)
MIXED_LINES = [
    ("1", "6000", 150000, "", None, False, "", None, 2),
    ("1", "1020", -150000, "", None, False, "", None, 2),
    # A2: a one-account row and a net V81 row of the same date and Doc: one entry; VAT 8.1 % of 1000.00
    ("2", "1100", 108100, "", None, False, "", None, 3),
    ("2", "3400", -100000, "V81", -8100, False, "", None, 4),
    ("2", "2200", -8100, "V81", None, True, "", None, 4),
    # A3: gross, VAT due: 108.10 × 8.1 / 108.1 = 8.10 inside, the base 100.00 on the credit side
    ("3", "3400", -10000, "V81", -810, False, "", None, 5),
    ("3", "2200", -810, "V81", None, True, "", None, 5),
    ("3", "1020", 10810, "", None, False, "", None, 5),
    # A4 is refused (row 6); row 7 is blank; A5 in EUR
    ("4", "1020", 9500, "", None, False, "EUR", 10000, 8),
    ("4", "3400", -9500, "", None, False, "EUR", -10000, 8),
    # A6: 0.03 × 20 / 120 = 0.005 exactly, rounded half up to 0.01
    ("5", "3400", -2, "V20", -1, False, "", None, 9),
    ("5", "2200", -1, "V20", None, True, "", None, 9),
    ("5", "1020", 3, "", None, False, "", None, 9),
    # A7: -V81 reverses the due side: the base 200.00 in debit, VAT 16.20 in debit, 216.20 credited
    ("6", "3400", 20000, "V81", 1620, False, "", None, 10),
    ("6", "2200", 1620, "V81", None, True, "", None, 10),
    ("6", "1100", -21620, "", None, False, "", None, 10),
]


def _mixed_lines(ledger: Ledger) -> list[tuple[Any, ...]]:
    names = ("entry", "account", "amount", "vat_code", "vat_amount", "vat_line", "currency", "amount_currency",
             "source_row")  # fmt: skip
    return [tuple(r[n] for n in names) for r in ledger.lines.to_pylist()]


@pytest.mark.parametrize("variant", ["plain", "quoted", "crlf", "semicolons"])
def test_transactions_read_column_wise_and_row_by_row_alike(tmp_path: Path, variant: str) -> None:
    """Plain rows (read by whole columns) and odd ones (a bad amount, a foreign currency: read row by row)
    in one file, whose text is split column-wise or, with a quoted cell, by Python's csv reader."""
    rows = list(MIXED)
    if variant == "quoted":
        rows[1] = rows[1].replace("\tRent\t", '\t"Rent ""March"""\t')
    text = "\n".join(rows) + "\n"
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    if variant == "semicolons":
        text = text.replace("\t", ";")
    (tmp_path / "transactions.txt").write_text(text, "utf-8")
    (tmp_path / "vatcodes.txt").write_text(MIXED_VAT, "utf-8")
    ledger = pipeline.read(tmp_path, "banana")
    assert _mixed_lines(ledger) == MIXED_LINES
    assert [r["line"] for r in ledger.lines.to_pylist()] == [1, 2, 1, 2, 3, 1, 2, 3, 1, 2, 1, 2, 3, 1, 2, 3]
    assert ledger.lines.column("date").to_pylist()[:3] == [dt.date(2024, 3, 1)] * 2 + [dt.date(2024, 3, 2)]
    assert ledger.lines.column("description").to_pylist()[0] == ('Rent "March"' if variant == "quoted" else "Rent")
    assert [(p.row, p.message) for p in ledger.errors] == [(6, "not an amount: '12,3,4' (misplaced ',')")]
    assert trial_balance(ledger)["2200"] == -8100 - 810 - 1 + 1620


def test_writer_rows_plain_and_folded_in_entry_order(tmp_path: Path) -> None:
    """Entries Banana computes alike are written by whole columns, the others (VAT to round) one by one:
    the rows come out in entry order, Docs made unique across both."""
    day = dt.date(2024, 5, 2)
    rows: list[dict[str, Any]] = []
    for entry, when, doc, text, lines in (
        ("E1", dt.date(2024, 5, 1), "P1", "pair", [("1020", 10000, "", False), ("3400", -10000, "", False)]),
        ("E2", day, "S1", "sale", [("1100", 108100, "", False), ("3400", -100000, "V81", False),
                                   ("2200", -8100, "V81", True)]),
        # 8.1 % of 100.00 is 8.10; the books hold 8.15: a rounding row of 0.05 books the rest
        ("E3", dt.date(2024, 5, 3), "S2", "sale2", [("1100", 10815, "", False), ("3400", -10000, "V81", False),
                                                    ("2200", -815, "V81", True)]),
        ("E4", day, "S1", "split", [("1000", 500, "", False), ("6000", -300, "", False), ("6500", -200, "", False)]),
    ):  # fmt: skip
        for number, (account, cents, code, vat_line) in enumerate(lines, start=1):
            base = code and not vat_line
            rows.append({"entry": entry, "line": number, "date": when, "doc": doc, "description": text,
                         "account": account, "amount": cents, "vat_code": code, "vat_line": vat_line,
                         "vat_amount": {"E2": -8100, "E3": -815}[entry] if base else None})  # fmt: skip
    codes = sorted({r["account"] for r in rows})
    ledger = Ledger(lines=table("lines", rows), accounts=table("accounts", [{"code": c} for c in codes]),
                    vat_codes=table("vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales", "account": "2200"}]))  # fmt: skip
    notes = pipeline.write(ledger, "banana", tmp_path / "out")
    body = (tmp_path / "out" / "transactions.txt").read_text("utf-8").split("\n")[1:]
    assert body == [
        "2024-05-01\tP1\tpair\t1020\t3400\t100.00\t\t\t\t\t",
        "2024-05-02\tS1\tsale\t1100\t\t1081.00\t\t\t\t\t",
        "2024-05-02\tS1\tsale\t\t3400\t1000.00\tV81\t1\t\t\t",
        "2024-05-03\tS2\tsale2\t1100\t\t108.15\t\t\t\t\t",
        "2024-05-03\tS2\tsale2\t\t3400\t100.00\tV81\t1\t\t\t",
        "2024-05-03\tS2\tsale2\t\t2200\t0.05\tV81-2\t2\t\t\t",
        "2024-05-02\tS1 (2)\tsplit\t1000\t\t5.00\t\t\t\t\t",
        "2024-05-02\tS1 (2)\tsplit\t\t6000\t3.00\t\t\t\t\t",
        "2024-05-02\tS1 (2)\tsplit\t\t6500\t2.00\t\t\t\t\t",
        "",
    ]
    assert any(p.message.startswith("1 compound entries share date and Doc") for p in notes)
    back = pipeline.read(tmp_path / "out", "banana")
    assert trial_balance(back) == trial_balance(ledger)
    assert vat_totals(back)["V81"]["vat"] == -8100 - 815
