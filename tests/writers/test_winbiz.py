"""Winbiz writer: import CSV and chart CSV, read back by the Winbiz reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.model import Ledger, table
from migrator.outputs import MANIFEST
from migrator.pipeline import convert, detect, read, write
from migrator.readers.winbiz import files
from migrator.reconcile import trial_balance, vat_totals
from migrator.writers.winbiz import WinbizWriter

ROOT = Path(__file__).resolve().parents[2]


def test_garage_round_trip(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "winbiz"
    problems = write(garage, "winbiz", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == [
        "README.txt", "bizexdoc_adresses.csv", "bizexdoc_articles.csv", "bizexdoc_soldes.csv", "ecritures.csv",
        "plan.csv"]  # fmt: skip
    back = read(out)
    assert back.format == "winbiz" and back.errors == []
    assert detect(out / "ecritures.csv").format == "winbiz" and detect(out / "plan.csv").format == "winbiz"
    kept = WinbizWriter().as_kept(garage)
    assert back.counts()["accounts"] == garage.counts()["accounts"]
    for what in ("entries", "lines"):
        assert back.counts()[what] == kept.counts()[what], what
    assert trial_balance(back) == trial_balance(garage)
    # I81 books its VAT to 1171, which the import cannot name: written without VAT type (declared)
    before = {code: totals for code, totals in vat_totals(garage).items() if code != "I81"}
    assert vat_totals(back) == before
    assert len(back.groups) == len(garage.groups)
    assert not any(back.lines.column("opening").to_pylist())  # journal d only: openings are ordinary rows
    said = " ".join(p.message for p in problems)
    assert (
        "partner details (" in said  # the addresses are written (tests/test_winbiz_import.py), not all columns
        and "currencies of lines (foreign-currency rows' currency codes)" in said
        and "2 opening-entry flags not carried" in said
        and "choose not to import the first record" in said
    )
    assert any("journal 'C': 2 entries written in journal d" in p.message for p in problems)


def test_garage_convert_verifies(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "garage.csv"
    write(garage, "csv", source)
    result = convert(source, "winbiz", tmp_path / "out")
    assert result.verified, result.verification


def test_golden_files(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(garage, "winbiz", tmp_path / "w")
    for name in ("ecritures.csv", "plan.csv"):
        data = (tmp_path / "w" / name).read_bytes()
        text = data.decode("cp1252")  # Windows-1252: the accents survive as single bytes
        assert "é".encode("cp1252") in data and "\r\n" in text
        golden(f"winbiz/{name}", text.replace("\r\n", "\n"))


def test_layout_by_hand(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(garage, "winbiz", tmp_path / "w")
    rows = [line.split(";") for line in (tmp_path / "w" / "ecritures.csv").read_text("cp1252").splitlines()]
    assert tuple(rows[0]) == files.IMPORT_HEADER and len(rows[0]) == 20
    body = rows[1:]
    # EntriesImport: both accounts required on every row, TVA_typ 1-4 only, journal d only
    assert all(len(r) == 20 and r[3] and r[4] for r in body)
    assert {r[12] for r in body} <= {"", "1", "2", "3", "4"}
    assert {r[6] for r in body} == {"d"}
    # a simple payment: one row, both accounts
    assert ["05.03.2023", "B23-010", "Paiement Müller Transport R23-001", "1020", "1100", "1292.40", "d"] in [
        r[:7] for r in body]  # fmt: skip
    # an invoice with VAT: one row, VAT included, rate, VAT amount, side, type and code on it
    invoice = [r for r in body if r[1] == "R24-001"]
    assert invoice == [
        ["25.01.2024", "R24-001", "Facture Müller Transport, service camion", "1100", "3400", "2162.00", "d", "", "",
         "8.1", "162.00", "c", "2", "1", "", "", "", "", "", "V81"],
    ]  # fmt: skip
    purchase = [r for r in body if r[1] == "F24-201"]
    assert [r[3:7] + r[9:14] + r[19:] for r in purchase] == [
        ["4200", "2000", "3243.00", "d", "8.1", "243.00", "d", "3", "1", "M81"]]  # fmt: skip
    # two sales lines of one invoice, each with its own VAT: one row per split, the customer on each
    weber = [r[3:6] + r[10:13] for r in body if r[1] == "R23-002"]
    assert weber == [["1100", "3200", "1615.50", "115.50", "c", "2"], ["1100", "3400", "1077.00", "77.00", "c", "2"]]
    # a compound entry without VAT: each detail row carries the split and the common account
    assert [r[3:6] for r in body if r[1] == "L23-04"] == [["5000", "1020", "5850.00"], ["5000", "2270", "650.00"]]
    foreign = [r for r in body if r[1] == "F23-102"]
    assert [r[3:9] for r in foreign] == [["4200", "2000", "965.00", "d", "0.965", "1000.00"]]
    chart = (tmp_path / "w" / "plan.csv").read_text("cp1252").splitlines()
    assert (
        chart[0] == "no_class;numero;libelle"
        and "2;2800;Capital social" in chart
        and "4;3400;Prestations d'atelier" in chart
    )


def _invoice(vat_account: str = "2200") -> Ledger:
    day = dt.date(2024, 3, 5)
    lines = table("lines", [
        {"entry": "9", "line": 1, "date": day, "doc": "R-9", "account": "1100", "amount": 108100},
        {"entry": "9", "line": 2, "date": day, "doc": "R-9", "account": "3200", "amount": -100000,
         "vat_code": "V81", "vat_amount": -8100},
        {"entry": "9", "line": 3, "date": day, "doc": "R-9", "account": vat_account, "amount": -8100,
         "vat_code": "V81", "vat_line": True},
    ])  # fmt: skip
    codes = table("vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"}])
    accounts = table("accounts", [{"code": c} for c in ("1100", "3200", vat_account)])
    return Ledger(accounts=accounts, lines=lines, vat_codes=codes)


def test_vat_on_the_base_row_reads_back_as_booked(tmp_path: Path) -> None:
    write(_invoice(), "winbiz", tmp_path / "w")
    rows = (tmp_path / "w" / "ecritures.csv").read_text("cp1252").splitlines()
    assert rows[1:] == ["05.03.2024;R-9;;1100;3200;1081.00;d;;;8.1;81.00;c;2;1;;;;;;V81"]
    back = read(tmp_path / "w")
    lines = sorted((r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"])
                   for r in back.lines.to_pylist())  # fmt: skip
    assert lines == [("1100", 108100, "", None, False), ("2200", -8100, "V81", None, True),
                     ("3200", -100000, "V81", -8100, False)]  # fmt: skip
    assert back.counts()["entries"] == 1


def test_vat_on_another_account_stays_a_row_of_its_own(tmp_path: Path) -> None:
    """Winbiz books a base row's VAT to the account of its own VAT code: VAT on 2201 cannot be said so."""
    problems = write(_invoice("2201"), "winbiz", tmp_path / "w")
    rows = [r.split(";") for r in (tmp_path / "w" / "ecritures.csv").read_text("cp1252").splitlines()[1:]]
    assert [r[3:6] + r[9:13] for r in rows] == [["1100", "3200", "1000.00", "", "", "", ""],
                                               ["1100", "2201", "81.00", "", "", "", ""]]  # fmt: skip
    assert any("lines with a VAT code of no Winbiz VAT type" in p.message for p in problems)
    assert any("booking VAT that cannot go on its base row" in p.message for p in problems)
    result = convert_ledger(_invoice("2201"), tmp_path)
    assert result.ok, result.differences


def convert_ledger(ledger: Ledger, tmp_path: Path):  # type: ignore[no-untyped-def]
    from migrator.reconcile import compare

    out = tmp_path / "c"
    declared = write(ledger, "winbiz", out)
    return compare(ledger, read(out, "winbiz"), declared=declared, target="winbiz")


def test_real_winbiz_export_converts_to_importable_rows(reference: Path, tmp_path: Path) -> None:
    """The OCA Winbiz export (compound `Multiple` entries, VAT rows of type -1, journal o) written back
    as import rows: both accounts on every row, no -1, journal d, and verified."""
    source = reference / "vendors" / "winbiz" / "oca_winbiz_export_attribute-oriented.xml"
    result = convert(source, "winbiz", tmp_path / "out")
    assert result.verified, result.verification
    body = [r.split(";") for r in (tmp_path / "out" / "ecritures.csv").read_text("cp1252").splitlines()[1:]]
    assert body and all(r[3] and r[4] and r[3].lower() != "multiple" and r[4].lower() != "multiple" for r in body)
    assert {r[6] for r in body} == {"d"} and "-1" not in {r[12] for r in body}
    # the export's SOLDINIT opening entry against 8100 (journal o): one row per account, 8100 on the other side
    opening = [r[3:6] for r in body if r[1] == "SOLDINIT"]
    assert ["1000", "8100", "250.00"] in opening and ["8100", "2200", "50000.00"] in opening


def _one_entry(description: str, doc: str = "X1") -> Ledger:
    lines = [
        {"entry": "1", "line": 1, "date": dt.date(2024, 5, 1), "doc": doc, "description": description,
         "account": "1000", "amount": 1000},
        {"entry": "1", "line": 2, "date": dt.date(2024, 5, 1), "doc": doc, "description": description,
         "account": "3000", "amount": -1000},
    ]  # fmt: skip
    accounts = table("accounts", [{"code": "1000", "type": "asset"}, {"code": "3000", "type": "income"}])
    return Ledger(accounts=accounts, lines=table("lines", lines))


def test_long_text_is_cut_with_a_warning(tmp_path: Path) -> None:
    problems = write(_one_entry("x" * 130, doc="VOUCHER-2024-0001"), "winbiz", tmp_path / "w")
    warnings = [p for p in problems if p.severity == "warning"]
    assert len(warnings) == 2
    assert all("entry 1 (voucher 'VOUCHER-2024-0001'" in p.message for p in warnings)
    assert {"Voucher longer than 10", "Text longer than 100"} == {
        next(part for part in ("Voucher longer than 10", "Text longer than 100") if part in p.message) for p in warnings
    }
    row = (tmp_path / "w" / "ecritures.csv").read_text("cp1252").splitlines()[1].split(";")
    assert row[1] == "VOUCHER-20" and row[2] == "x" * 100


def test_characters_outside_windows_1252(tmp_path: Path) -> None:
    problems = write(_one_entry("Zahlung ✓ erhalten"), "winbiz", tmp_path / "w")
    assert any("Windows-1252" in p.message and "✓" in p.message for p in problems)
    assert read(tmp_path / "w").lines.column("description")[0].as_py() == "Zahlung ? erhalten"


def test_bakery_gross_codes_stay_gross(tmp_path: Path) -> None:
    """TVA_meth carries 'VAT included' (2): the bakery's gross codes come back gross."""
    bakery = read(ROOT / "samples" / "winbiz" / "DAT", dossier="boulangerie")
    result = convert(ROOT / "samples" / "winbiz" / "DAT", "winbiz", tmp_path / "out", dossier="boulangerie")
    assert result.verified, result.verification
    back = result.reread
    assert back is not None
    assert back.counts()["lines"] == WinbizWriter().as_kept(bakery).counts()["lines"]
    assert vat_totals(back)["V26G"] == vat_totals(bakery)["V26G"]


accounts = st.sampled_from(["1000", "1020", "2000", "3200", "4200", "6000"])


@st.composite
def _entries(draw):  # type: ignore[no-untyped-def]
    rows = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        amounts = draw(st.lists(st.integers(-(10**9), 10**9).filter(bool), min_size=1, max_size=4))
        amounts.append(-sum(amounts))
        doc = draw(st.sampled_from(["A", "B", ""]))
        for position, amount in enumerate(amounts, start=1):
            rows.append({"entry": str(number), "line": position, "date": dt.date(2024, 1, 1 + number % 28),
                         "doc": doc, "description": "é", "account": draw(accounts), "amount": amount})  # fmt: skip
    return rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_entries())
def test_any_balanced_entries_round_trip(rows, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(accounts=table("accounts", [{"code": c} for c in ("1000", "1020", "2000", "3200", "4200", "6000")]),
                    lines=table("lines", rows))  # fmt: skip
    out = tmp_path_factory.mktemp("w") / "w"
    write(ledger, "winbiz", out)
    back = read(out, "winbiz")
    assert trial_balance(back) == trial_balance(ledger)
    kept = WinbizWriter().as_kept(ledger)
    assert back.counts()["lines"] == kept.counts()["lines"]
    assert back.counts()["entries"] == kept.counts()["entries"]


@pytest.mark.parametrize(("amounts", "rows"), [([0, 500, -500], [["1000", "3000", "5.00"]]),
                                               ([500, -500, 300, -300], [["1000", "3000", "5.00"], ["1000", "3000", "3.00"]]),
                                               ([500, 300, -200, -600], [["1000", "3000", "2.00"], ["1000", "3000", "3.00"],
                                                                         ["1000", "3000", "3.00"]])])  # fmt: skip
def test_entries_are_written_as_pairs(amounts: list[int], rows: list[list[str]], tmp_path: Path) -> None:
    """Several debits against several credits: laid side by side in order, one row per overlap."""
    lines = [{"entry": "1", "line": i, "date": dt.date(2024, 1, 2), "doc": "D", "account": "1000" if a >= 0 else "3000",
              "amount": a} for i, a in enumerate(amounts, start=1)]  # fmt: skip
    ledger = Ledger(accounts=table("accounts", [{"code": "1000"}, {"code": "3000"}]), lines=table("lines", lines))
    problems = write(ledger, "winbiz", tmp_path / "w")
    written = [r.split(";")[3:6] for r in (tmp_path / "w" / "ecritures.csv").read_text("cp1252").splitlines()[1:]]
    assert written == rows
    assert (0 in amounts) == any("1 zero-amount lines not carried" in p.message for p in problems)
    back = read(tmp_path / "w")
    assert back.counts()["entries"] == len(rows) and trial_balance(back) == trial_balance(ledger)


def test_compound_entry_keeps_its_voucher_on_every_row(tmp_path: Path) -> None:
    """Lines of one entry with vouchers of their own (as a line-style source gives them): every row
    carries the entry's voucher and date, and both accounts."""
    day = dt.date(2024, 4, 3)
    lines = table("lines", [
        {"entry": "E1", "line": 1, "date": day, "doc": "F-17", "account": "1100", "amount": 32400, "description": "Facture"},
        {"entry": "E1", "line": 2, "date": day, "doc": "F-17a", "account": "3200", "amount": -20000, "description": "Atelier"},
        {"entry": "E1", "line": 3, "date": day, "doc": "F-17b", "account": "3400", "amount": -12400, "description": "Pièces"},
        {"entry": "E2", "line": 1, "date": day, "doc": "F-17", "account": "1020", "amount": 32400, "description": "Paiement"},
        {"entry": "E2", "line": 2, "date": day, "doc": "F-17", "account": "1100", "amount": -12400, "description": "Paiement"},
        {"entry": "E2", "line": 3, "date": day, "doc": "F-17", "account": "1100", "amount": -20000, "description": "Paiement"},
    ])  # fmt: skip
    out = tmp_path / "w"
    ledger = Ledger(accounts=table("accounts", [{"code": c} for c in ("1020", "1100", "3200", "3400")]), lines=lines)
    declared = write(ledger, "winbiz", out)
    rows = [r.split(";") for r in (out / "ecritures.csv").read_text("cp1252").splitlines()[1:]]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("03.04.2024", "F-17", "1100", "3200", "200.00"), ("03.04.2024", "F-17", "1100", "3400", "124.00"),
        ("03.04.2024", "F-17", "1020", "1100", "124.00"), ("03.04.2024", "F-17", "1020", "1100", "200.00"),
    ]  # fmt: skip
    from migrator.reconcile import compare

    assert compare(ledger, read(out), declared=declared, target="winbiz").ok
