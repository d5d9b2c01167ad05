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

ROOT = Path(__file__).resolve().parents[2]


def test_garage_round_trip(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "winbiz"
    problems = write(garage, "winbiz", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == ["ecritures.csv", "plan.csv"]
    back = read(out)
    assert back.format == "winbiz" and back.errors == []
    assert detect(out / "ecritures.csv").format == "winbiz" and detect(out / "plan.csv").format == "winbiz"
    for what in ("accounts", "entries", "lines", "vat_codes"):
        assert back.counts()[what] == garage.counts()[what], what
    assert trial_balance(back) == trial_balance(garage)
    assert vat_totals(back) == vat_totals(garage)
    assert len(back.groups) == len(garage.groups)
    opening = [line for line in back.lines.to_pylist() if line["opening"]]
    assert len(opening) == sum(garage.lines.column("opening").to_pylist())
    said = " ".join(p.message for p in problems)
    assert (
        "6 partners" in said
        and "2 open items" in said
        and "currencies of lines (foreign-currency rows' currency codes)" in said
    )
    assert any("journal 'C'" in p.message for p in problems)


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
    assert tuple(rows[0]) == files.IMPORT_HEADER
    # a simple payment: one row, both accounts
    assert ["05.03.2023", "B23-010", "Paiement Müller Transport R23-001", "1020", "1100", "1292.40", "b"] in [
        r[:7] for r in rows]  # fmt: skip
    # an invoice with VAT: one row per line, the VAT line marked -1, VAT never left to compute
    invoice = [r for r in rows if r[1] == "R24-001"]
    assert invoice == [
        ["25.01.2024", "R24-001", "Facture Müller Transport, service camion", "1100", "", "2162.00", "v", "", "", "",
         "", "", ""],
        ["25.01.2024", "R24-001", "Facture Müller Transport, service camion", "", "3400", "2000.00", "v", "", "",
         "8.1", "162.00", "c", "2"],
        ["25.01.2024", "R24-001", "Facture Müller Transport, service camion", "", "2200", "162.00", "v", "", "",
         "8.1", "", "c", "-1"],
    ]  # fmt: skip
    foreign = [r for r in rows if r[1] == "F23-102"]
    assert [r[3:9] for r in foreign] == [["4200", "2000", "965.00", "a", "0.965", "1000.00"]]
    chart = (tmp_path / "w" / "plan.csv").read_text("cp1252").splitlines()
    assert (
        chart[0] == "no_class;numero;libelle"
        and "2;2800;Capital social" in chart
        and "4;3400;Prestations d'atelier" in chart
    )


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


def test_bakery_gross_codes_become_net_codes(tmp_path: Path) -> None:
    """The import layout has no 'VAT included' flag: balances and VAT amounts are kept, codes renamed."""
    bakery = read(ROOT / "samples" / "winbiz" / "DAT", dossier="boulangerie")
    result = convert(ROOT / "samples" / "winbiz" / "DAT", "winbiz", tmp_path / "out", dossier="boulangerie")
    assert result.verified, result.verification
    back = result.reread
    assert back is not None
    assert back.counts()["lines"] == bakery.counts()["lines"]
    assert vat_totals(back)["V26"] == vat_totals(bakery)["V26G"]


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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_entries())
def test_any_balanced_entries_round_trip(rows, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger(accounts=table("accounts", [{"code": c} for c in ("1000", "1020", "2000", "3200", "4200", "6000")]),
                    lines=table("lines", rows))  # fmt: skip
    out = tmp_path_factory.mktemp("w") / "w"
    write(ledger, "winbiz", out)
    back = read(out, "winbiz")
    assert trial_balance(back) == trial_balance(ledger)
    assert back.counts()["lines"] == ledger.counts()["lines"]
    assert back.counts()["entries"] == ledger.counts()["entries"]


@pytest.mark.parametrize("amounts", [[0, 500, -500], [500, -500, 300, -300]])
def test_entries_that_balance_midway_stay_one(amounts: list[int], tmp_path: Path) -> None:
    rows = [{"entry": "1", "line": i, "date": dt.date(2024, 1, 2), "doc": "D", "account": "1000" if a >= 0 else "3000",
             "amount": a} for i, a in enumerate(amounts, start=1)]  # fmt: skip
    ledger = Ledger(accounts=table("accounts", [{"code": "1000"}, {"code": "3000"}]), lines=table("lines", rows))
    write(ledger, "winbiz", tmp_path / "w")
    back = read(tmp_path / "w")
    assert back.counts()["entries"] == 1 and back.counts()["lines"] == len(amounts)


def test_compound_entry_keeps_its_voucher_on_every_row(tmp_path: Path) -> None:
    """Lines of one entry with vouchers of their own (as a line-style source gives them) come back as
    one entry: every row carries the entry's voucher and date."""
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
    write(Ledger(lines=lines), "winbiz", out)
    rows = [r.split(";") for r in (out / "ecritures.csv").read_text("cp1252").splitlines()[1:]]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("03.04.2024", "F-17", "1100", "", "324.00"), ("03.04.2024", "F-17", "", "3200", "200.00"),
        ("03.04.2024", "F-17", "", "3400", "124.00"),
        ("03.04.2024", "F-17", "1020", "", "324.00"), ("03.04.2024", "F-17", "", "1100", "124.00"),
        ("03.04.2024", "F-17", "", "1100", "200.00"),
    ]  # fmt: skip
    back = read(out)
    assert back.counts()["entries"] == 2
    entries: dict[str, list[tuple[str, int]]] = {}
    for line in back.lines.to_pylist():
        entries.setdefault(line["entry"], []).append((line["account"], line["amount"]))
    assert sorted(entries.values()) == [
        [("1020", 32400), ("1100", -12400), ("1100", -20000)],
        [("1100", 32400), ("3200", -20000), ("3400", -12400)],
    ]
    assert set(back.lines.column("description").to_pylist()) == {"Facture", "Atelier", "Pièces", "Paiement"}
