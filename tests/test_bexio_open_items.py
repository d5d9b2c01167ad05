"""bexio: open customer invoices carried as bexio invoices (invoices.json) with an offset entry each.

Expectations are written by hand from the Winbiz garage sample: at the end of 2024 it has two open
items, invoice R24-002 (customer C002, 4,324.00 on 1100, issued 12.09.2024, due 12.10.2024, "Facture
Carrosserie Weber, réparation") and bill F24-202 (supplier S001, 1,621.50 on 2000). Both are booked in
the journal already (R24-002: 1100 4324.00 against 3400 4000.00 and 2200 324.00).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from migrator import pipeline, registry, years
from migrator.errors import UnsupportedOperation
from migrator.model import Ledger, table, years_of
from migrator.reconcile import compare
from migrator.reconcile import years as year_summaries

ROOT = Path(__file__).resolve().parent.parent
DAT = ROOT / "samples" / "winbiz" / "DAT"
R24_002 = {
    "id": "R24-002", "partner": "C002", "kind": "invoice", "date": dt.date(2024, 9, 12),
    "due_date": dt.date(2024, 10, 12), "currency": "", "amount": 432400, "open_amount": 432400, "account": "1100",
    "description": "Facture Carrosserie Weber, réparation",
}  # fmt: skip


@pytest.fixture(scope="module")
def garage_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[pipeline.Conversion, Path]:
    out = tmp_path_factory.mktemp("bexio") / "out"
    return pipeline.convert(DAT, "bexio", out, dossier="garage"), out


def test_garage_open_invoice_reads_back_equal(garage_out: tuple[pipeline.Conversion, Path]) -> None:
    """R24-002 goes to invoices.json and reads back field by field; the bill F24-202 is declared; the
    journal reads back as the source's (the offset entry is paired away): no undeclared difference."""
    result, out = garage_out
    assert result.verification is not None
    assert result.verification.ok, result.verification.differences
    assert result.reread is not None
    assert result.reread.open_items.to_pylist() == [R24_002]
    assert [r["id"] for r in result.written.open_items.to_pylist()] == ["R24-002", "F24-202"]
    declared = [p.message for p in result.not_carried if "open items" in p.message]
    assert declared == ["1 open items not carried by this format: supplier bills (F24-202): bexio's purchase API is "
                        "not in the documentation migrator follows; left out, their amounts stay in the payable "
                        "account's balance"]  # fmt: skip
    losses = [loss for loss in result.verification.losses if loss.startswith("open items")]
    assert losses and losses[0].startswith("open items: 2 before, 1 after (missing: F24-202)")
    # the offset is not an entry of the books read back, nor is the transition account an account
    assert not [r for r in result.reread.lines.to_pylist() if r["doc"].startswith("OP-")]
    assert "9990" not in result.reread.accounts.column("code").to_pylist()
    assert result.reread.lines.num_rows and not [p for p in result.reread.problems if p.severity != "info"]
    (body,) = json.loads((out / "invoices.json").read_text("utf-8"), parse_float=Decimal)
    assert (body["api_reference"], body["contact_id"], body["is_valid_from"], body["is_valid_to"], body["mwst_type"],
            body["currency_id"], body["title"]) == ("R24-002", "C002", "2024-09-12", "2024-10-12", 2, "CHF",
                                                    "Facture Carrosserie Weber, réparation")  # fmt: skip
    (position,) = body["positions"]
    assert (position["account_id"], position["amount"], position["unit_price"], position["tax_id"]) == (
        "9990", 1, Decimal("4324.00"), None)  # fmt: skip


def test_transition_account_added_to_the_chart(garage_out: tuple[pipeline.Conversion, Path]) -> None:
    import openpyxl

    _, out = garage_out
    sheet = openpyxl.load_workbook(out / "Kontenplan.xlsx").active
    assert sheet is not None
    rows = [row[:4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ("9990", "Übertrag offene Posten", "9", "Abschluss") in rows  # in class 9's group, a closing account
    assert "invoices.json" in (out / "README.md").read_text("utf-8")


def _bexio_view(out: Path, tmp_path: Path) -> Ledger:
    """The books as bexio holds them once everything in `out` is loaded: every manual entry of
    manual_entries.json, the offsets included (read without invoices.json, so none is paired away), and
    the booking each issued invoice of invoices.json makes on its date: its total to the receivable
    (bexio's debtors account, 1100 as in the books), against the positions' account."""
    plain = tmp_path / "entries-only"
    shutil.copytree(out, plain, ignore=shutil.ignore_patterns("invoices.json", ".migrator*"))
    ledger = pipeline.read(plain, "bexio")
    assert [p.message for p in ledger.problems if p.severity == "warning"] == [
        "entry OP-Übertrag R24-002 looks like the offset of an open invoice, but no issued invoice of the same "
        "number, date, amount and account pairs with it: kept as a journal entry"]  # fmt: skip
    rows = ledger.lines.to_pylist()
    for number, invoice in enumerate(json.loads((out / "invoices.json").read_text("utf-8"), parse_float=Decimal)):
        day = dt.date.fromisoformat(invoice["is_valid_from"])
        for position in invoice["positions"]:
            cents = int(Decimal(position["amount"]) * Decimal(position["unit_price"]) * 100)
            entry = f"invoice-{number}-{position['account_id']}"
            rows += [{"entry": entry, "line": 1, "date": day, "account": "1100", "amount": cents},
                     {"entry": entry, "line": 2, "date": day, "account": position["account_id"], "amount": -cents}]  # fmt: skip
    return ledger.replace(lines=table("lines", rows))


def test_bexio_view_keeps_every_balance_and_the_transition_account_at_zero(
    garage_out: tuple[pipeline.Conversion, Path], tmp_path: Path
) -> None:
    """In bexio's own books (journal + issued invoice + offset) every account closes each year as in the
    source, and the transition account 9990 is 0 on every date."""
    result, out = garage_out
    view = _bexio_view(out, tmp_path)
    transition = sorted((r["date"], r["amount"]) for r in view.lines.to_pylist() if r["account"] == "9990")
    assert transition == [(dt.date(2024, 9, 12), -432400), (dt.date(2024, 9, 12), 432400)]
    running: dict[dt.date, int] = {}
    for day, amount in transition:
        running[day] = running.get(day, 0) + amount
    assert all(total == 0 for total in running.values())
    source = result.written
    per_year = years.per_year(view, years_of(source))
    for before, after in zip(year_summaries(source), year_summaries(per_year), strict=True):
        assert before.year == after.year
        assert {a: v for a, v in before.closing.items() if v} == {a: v for a, v in after.closing.items() if v}
    last = year_summaries(per_year)[-1].closing
    assert last["1100"] == year_summaries(source)[-1].closing["1100"] and not last.get("9990")


def test_offset_without_its_invoice_stays_an_entry(garage_out: tuple[pipeline.Conversion, Path],
                                                   tmp_path: Path) -> None:  # fmt: skip
    """Without invoices.json the offset is a journal entry (with a warning), and verification fails on it."""
    result, out = garage_out
    plain = tmp_path / "out"
    shutil.copytree(out, plain)
    (plain / "invoices.json").unlink()
    ledger = pipeline.read(plain, "bexio")
    offset = [(r["account"], r["amount"]) for r in ledger.lines.to_pylist() if r["doc"] == "OP-Übertrag R24-002"]
    assert offset == [("9990", 432400), ("1100", -432400)]
    assert not ledger.open_items.num_rows
    assert "9990" in ledger.accounts.column("code").to_pylist()  # nothing pairs: the account stays
    compared = compare(result.written, years.per_year(ledger, years_of(result.written)),
                       registry.get("bexio").keeps, declared=result.not_carried)  # fmt: skip
    assert not compared.ok
    assert any("OP-Übertrag R24-002" in d for d in compared.differences)


def _ledger_with_odd_invoices(garage: Ledger) -> Ledger:
    """The demo garage with: R24-002 partly paid (2,324.00 paid on 15.10.2024, 2,000.00 open), R24-900 in
    EUR (1,000.00 at 1.05 = 1,050.00 booked on 1100), R24-901 in EUR partly paid, R22-050 issued before the
    books begin (500.00, in the opening of 1100), and R24-902 without a customer."""
    lines = garage.lines.to_pylist()
    common = {"description": "", "vat_code": "", "opening": False, "source_file": "", "source_row": 0}
    lines += [
        {**common, "entry": "900", "line": 1, "date": dt.date(2024, 11, 5), "doc": "R24-900", "account": "1100",
         "amount": 105000, "currency": "EUR", "amount_currency": 100000, "rate": "1.05"},
        {**common, "entry": "900", "line": 2, "date": dt.date(2024, 11, 5), "doc": "R24-900", "account": "3400",
         "amount": -105000, "currency": "EUR", "amount_currency": -100000, "rate": "1.05"},
        {**common, "entry": "901", "line": 1, "date": dt.date(2024, 10, 15), "doc": "Z24-002", "account": "1020",
         "amount": 232400},
        {**common, "entry": "901", "line": 2, "date": dt.date(2024, 10, 15), "doc": "Z24-002", "account": "1100",
         "amount": -232400},
    ]  # fmt: skip
    items = [
        {**R24_002, "open_amount": 200000},
        {"id": "R24-900", "partner": "C005", "kind": "invoice", "date": dt.date(2024, 11, 5),
         "due_date": dt.date(2024, 12, 5), "currency": "EUR", "amount": 100000, "open_amount": 100000,
         "account": "1100", "description": "Fattura Bernasconi"},
        {"id": "R24-901", "partner": "C005", "kind": "invoice", "date": dt.date(2024, 11, 6), "due_date": None,
         "currency": "EUR", "amount": 50000, "open_amount": 20000, "account": "1100", "description": ""},
        {"id": "R22-050", "partner": "C001", "kind": "invoice", "date": dt.date(2022, 12, 1),
         "due_date": dt.date(2022, 12, 31), "currency": "", "amount": 50000, "open_amount": 50000,
         "account": "1100", "description": "Service 2022"},
        {"id": "R24-902", "partner": "", "kind": "invoice", "date": dt.date(2024, 12, 1), "due_date": None,
         "currency": "", "amount": 1000, "open_amount": 1000, "account": "1100", "description": ""},
        {"id": "F24-202", "partner": "S001", "kind": "bill", "date": dt.date(2024, 10, 1),
         "due_date": dt.date(2024, 10, 31), "currency": "", "amount": 162150, "open_amount": 162150,
         "account": "2000", "description": "Pneus Léman, jantes"},
    ]  # fmt: skip
    return garage.replace(lines=table("lines", lines), open_items=table("open_items", items))


def test_partly_paid_foreign_and_early_invoices(garage: Ledger, tmp_path: Path) -> None:
    """What can be carried exactly is (the open amount; a fully open EUR invoice at the CHF booked); the
    rest is declared, and the conversion verifies with those declarations only."""
    source = tmp_path / "odd.sqlite"
    pipeline.write(_ledger_with_odd_invoices(garage), "sqlite", source)
    result = pipeline.convert(source, "bexio", tmp_path / "out")
    assert result.verification is not None
    assert result.verification.ok, result.verification.differences
    assert result.reread is not None
    back = {r["id"]: r for r in result.reread.open_items.to_pylist()}
    assert sorted(back) == ["R22-050", "R24-002", "R24-900"]
    assert back["R24-002"] == {**R24_002, "amount": 200000, "open_amount": 200000}
    assert (back["R24-900"]["currency"], back["R24-900"]["open_amount"], back["R24-900"]["account"],
            back["R24-900"]["partner"]) == ("", 105000, "1100", "C005")  # fmt: skip
    assert (back["R22-050"]["date"], back["R22-050"]["due_date"], back["R22-050"]["open_amount"]) == (
        dt.date(2023, 1, 1), dt.date(2022, 12, 31), 50000)  # fmt: skip
    declared = {p.message.split(": ", 1)[1].split(" (")[0] for p in result.not_carried if "open items" in p.message}
    assert declared == {
        "supplier bills", "invoices without partner, receivable account or date", "invoices in a foreign currency, "
        "partly paid or not booked on their account in that currency", "invoices in a foreign currency",
        "partly paid invoices", "invoices issued before the books begin"}  # fmt: skip
    partly = next(p.message for p in result.not_carried if "partly paid invoices" in p.message)
    assert "R24-002 4324.00" in partly
    offsets = [b for b in json.loads((tmp_path / "out" / "manual_entries.json").read_text("utf-8"),
                                     parse_float=Decimal) if b["reference_nr"].startswith("OP-")]  # fmt: skip
    assert [(b["reference_nr"], b["date"], b["entries"][0]["amount"]) for b in offsets] == [
        ("OP-Übertrag R24-002", "2024-09-12", Decimal("2000.00")), ("OP-Übertrag R24-900", "2024-11-05",
        Decimal("1050.00")), ("OP-Übertrag R22-050", "2023-01-01", Decimal("500.00"))]  # fmt: skip


def test_open_items_account_option(garage: Ledger, tmp_path: Path) -> None:
    """`--option open_items_account=9910` carries the invoices through 9910 (added to the chart); the
    invoices' receivable account itself is refused."""
    result = pipeline.convert(
        _sqlite(garage, tmp_path), "bexio", tmp_path / "out", options={"open_items_account": "9910"}
    )
    assert result.verification is not None
    assert result.verification.ok, result.verification.differences
    (body,) = json.loads((tmp_path / "out" / "invoices.json").read_text("utf-8"))
    assert body["positions"][0]["account_id"] == "9910"
    assert result.reread is not None and result.reread.open_items.column("id").to_pylist() == ["R24-002"]
    with pytest.raises(UnsupportedOperation, match="open_items_account is empty"):
        pipeline.convert(_sqlite(garage, tmp_path), "bexio", tmp_path / "none", options={"open_items_account": " "})
    with pytest.raises(UnsupportedOperation, match="open_items_account=1100: that is the receivable account"):
        pipeline.convert(_sqlite(garage, tmp_path), "bexio", tmp_path / "other", options={"open_items_account": "1100"})


def _sqlite(ledger: Ledger, tmp_path: Path) -> Path:
    path = tmp_path / "garage.sqlite"
    if not path.exists():
        pipeline.write(ledger, "sqlite", path)
    return path


def test_existing_account_is_used_not_added(garage: Ledger, tmp_path: Path) -> None:
    """An open_items_account the chart has already is used as it is: no row is added, and it comes back."""
    extra = {"code": "9900", "name": "Durchlaufkonto", "type": "", "parent": "", "active": True}
    accounts = [*garage.accounts.to_pylist(), extra]
    ledger = garage.replace(accounts=table("accounts", accounts))
    source = tmp_path / "with9900.sqlite"
    pipeline.write(ledger, "sqlite", source)
    result = pipeline.convert(source, "bexio", tmp_path / "out", options={"open_items_account": "9900"})
    assert result.verification is not None
    assert result.verification.ok, result.verification.differences
    assert result.reread is not None
    names = dict(zip(result.reread.accounts.column("code").to_pylist(), result.reread.accounts.column("name").to_pylist(),
                     strict=True))  # fmt: skip
    assert names["9900"] == "Durchlaufkonto" and "9990" not in names


def test_an_unreadable_invoice_is_an_error(garage_out: tuple[pipeline.Conversion, Path], tmp_path: Path) -> None:
    _, out = garage_out
    broken = tmp_path / "out"
    shutil.copytree(out, broken)
    bodies: list[dict[str, Any]] = json.loads((broken / "invoices.json").read_text("utf-8"))
    bodies.append({"api_reference": "X", "positions": []})
    (broken / "invoices.json").write_text(json.dumps(bodies), "utf-8")
    ledger = pipeline.read(broken, "bexio")
    errors = [p for p in ledger.problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].row == 2 and errors[0].file.endswith("invoices.json")
    assert ledger.open_items.column("id").to_pylist() == ["R24-002"]
