"""bexio writer: linear time, VAT rounded to 0.05 carried with its code, a chart bexio's import takes."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl

from migrator import pipeline, vat
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.reconcile import compare, trial_balance, vat_totals
from migrator.writers.bexio import BexioWriter, gross_for

ROOT = Path(__file__).resolve().parent.parent


def generated(entries: int) -> Ledger:
    """The benchmark's books of `entries` entries (four in five a sale with its VAT line)."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ledger(entries)  # type: ignore[no-any-return]


def cpu_seconds_to_write(ledger: Ledger, folder: Path) -> float:  # float-ok: seconds
    """The least CPU time of this process (not wall time: the machine is shared) over two writes."""
    best = float("inf")  # float-ok: seconds
    for attempt in range(2):
        target = folder / f"w{attempt}"
        target.mkdir(parents=True)
        started = time.process_time()
        BexioWriter().write(ledger, target)
        best = min(best, time.process_time() - started)
    return best


def test_writer_time_grows_linearly(tmp_path: Path) -> None:
    """24k entries take about twice as long as 12k (the old placeholder loop took 5 times as long)."""
    small = cpu_seconds_to_write(generated(12_000), tmp_path / "small")
    large = cpu_seconds_to_write(generated(24_000), tmp_path / "large")
    assert large < 3.5 * small, (small, large)


# ------------------------------------------------------------------------------------ VAT rounded to 0.05

DAY = dt.date(2024, 3, 1)
CODES = [{"code": "UN81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"}]  # bexio's own code


def sales(entries: dict[str, list[tuple[int, int]]]) -> Ledger:
    """CHF books of sales to 1100: per voucher, net amounts (cents) on 3400 with the VAT each invoice booked."""
    rows: list[dict[str, Any]] = []
    for doc, nets in entries.items():
        total = sum(tax for _, tax in nets)
        lines = [("1100", sum(n + t for n, t in nets), "", None, False)]
        lines += [("3400", -net, "UN81", -tax, False) for net, tax in nets]
        lines += [("2200", -total, "UN81", None, True)]
        for number, (account, cents, code, tax, is_vat) in enumerate(lines, start=1):
            rows.append({"entry": doc, "line": number, "date": DAY, "doc": doc, "description": f"{doc} {number}",
                         "account": account, "amount": cents, "vat_code": code, "vat_amount": tax,
                         "vat_line": is_vat})  # fmt: skip
    accounts = [{"code": c, "active": True} for c in ("1100", "2200", "3400")]
    return Ledger(company=Company(base_currency="CHF"), lines=table("lines", rows),
                  accounts=table("accounts", accounts), vat_codes=table("vat_codes", CODES))  # fmt: skip


def vat_in_bexio_codes(ledger: Ledger) -> dict[str, tuple[int, int]]:
    codes, _ = vat.translate(ledger, "bexio")
    out: dict[str, tuple[int, int]] = {}
    for code, sums in vat_totals(ledger).items():
        base, tax = out.get(codes.get(code, code), (0, 0))
        out[codes.get(code, code)] = (base + sums["base"], tax + sums["vat"])
    return out


def bodies(folder: Path) -> dict[str, dict[str, Any]]:
    return {b["reference_nr"]: b for b in json.loads((folder / "manual_entries.json").read_text("utf-8"))}


def test_gross_amount_for_a_base() -> None:
    # FORMATS.md, Winbiz 6: 62,500.00 gross at 7.5 % books 4,360.45 (4,360.4651… inside the gross, 0.05).
    assert gross_for(5813955, 436045, Decimal("7.5"), 5) == 6250000
    # 100.30 at 8.1 % booked 8.12 (cent); bexio at 0.05: 108.42 holds 8.1243 → 8.10 and leaves 100.32;
    # 108.40 holds 8.1221 → 8.10 and leaves 100.30, the booked base.
    assert gross_for(10030, 812, Decimal("8.1"), 5) == 10840
    assert gross_for(-10030, -812, Decimal("8.1"), 5) == -10840


def test_winbiz_books_rounded_to_five_centimes(reference: Path, tmp_path: Path) -> None:
    """The Winbiz sample's monthly sales (58,139.55 net, 4,360.45 VAT on V75G) go gross with the code,
    without a rounding line, and come back with the VAT of the books."""
    source = reference / "vendors" / "winbiz" / "oca_winbiz_export_attribute-oriented.xml"
    result = pipeline.convert(source, "bexio", tmp_path / "out")
    assert result.verification is not None and result.verification.ok, result.verification.differences
    assert not [p for p in result.not_carried if "without VAT code" in p.message or "VAT codes" in p.message]
    sale = next(b for b in bodies(tmp_path / "out").values() if b["entries"][0]["description"] == "Ventes du mois")
    assert [(e["credit_account_id"], e["amount"], e["tax_id"]) for e in sale["entries"]] == [("6200", 62500, "V75G")]
    assert "CHF;0.05" in (tmp_path / "out" / "currencies.csv").read_text("utf-8")
    assert result.reread is not None
    back = [r for r in result.reread.lines.to_pylist() if r["vat_code"] == "V75G" and r["vat_line"]]
    assert [(r["account"], r["amount"]) for r in back] == [("2010", -436045)]
    assert vat_in_bexio_codes(result.written) == vat_in_bexio_codes(result.reread)


def test_infoniqa_books_rounded_to_five_centimes(reference: Path, tmp_path: Path) -> None:
    """Infoniqa's journal rounds the VAT of each row to 0.05: every code is carried with tax_id, none
    needs a rounding line, and VAT per code is exact on read-back (it is not to the cent)."""
    source = reference / "vendors" / "infoniqa" / "infoniqa_journal_export_2024.csv"
    result = pipeline.convert(source, "bexio", tmp_path / "out")
    assert result.verification is not None and result.verification.verdict == "verified"
    assert not [p.message for p in result.not_carried if "VAT" in p.message]
    written = bodies(tmp_path / "out")
    # Blg 8 of 4.1.2024: 3230 credit 597.80 net, VAT 48.40 (8.1 % is 48.4218): gross 646.20 with UN81.
    assert written["8"]["entries"] == [{
        "debit_account_id": "1021", "credit_account_id": "3230", "amount": 646.2, "currency_id": "CHF",
        "currency_factor": 1, "description": "Test", "tax_id": "UN81", "tax_account_id": "3230"}]  # fmt: skip
    assert not [b for b in written.values() if any("VAT rounding" in e["description"] for e in b["entries"])]
    assert result.reread is not None
    assert vat_in_bexio_codes(result.written) == vat_in_bexio_codes(result.reread)


def test_mixed_rounding_entry_gets_a_rounding_line(tmp_path: Path) -> None:
    """One invoice rounds to 0.05, one line of another to the cent: the 0.02 bexio does not compute is
    a plain line on the VAT account, declared; balances exact, bexio's VAT per code is what it computes."""
    ledger = sales({
        "E1": [(59780, 4840)],  # 597.80 at 8.1 % = 48.4218: 48.40 at 0.05
        "E2": [(59780, 4840), (10030, 812)],  # 100.30 at 8.1 % = 8.1243: 8.10 at 0.05, booked 8.12
    })  # fmt: skip
    notes = pipeline.write(ledger, "bexio", tmp_path / "out")
    written = bodies(tmp_path / "out")
    assert written["E1"]["type"] == "manual_single_entry"
    assert written["E1"]["entries"][0]["amount"] == 646.2
    e2 = written["E2"]
    assert e2["type"] == "manual_compound_entry"
    assert [(e["debit_account_id"], e["credit_account_id"], e["amount"], e["tax_id"]) for e in e2["entries"]] == [
        ("1100", None, 754.62, None), (None, "3400", 646.2, "UN81"), (None, "3400", 108.4, "UN81"),
        (None, "2200", 0.02, None)]  # fmt: skip
    assert e2["entries"][3]["description"] == "VAT rounding UN81: E2 4"
    declared = [p.message for p in notes if "VAT rounding differences" in p.message]
    assert declared and declared[0].startswith("1 VAT codes of lines not carried by this format")
    back = pipeline.read(tmp_path / "out", "bexio")
    assert trial_balance(back) == trial_balance(ledger)
    lines = [(r["account"], r["amount"], r["vat_code"], r["vat_line"]) for r in back.lines.to_pylist()
             if r["doc"] == "E2"]  # fmt: skip
    assert lines == [("1100", 75462, "", False), ("3400", -59780, "UN81", False), ("2200", -4840, "UN81", True),
                     ("3400", -10030, "UN81", False), ("2200", -810, "UN81", True), ("2200", -2, "", False)]  # fmt: skip
    assert vat_totals(back)["UN81"] == {"base": -129590, "vat": -10490, "declared": -10490}
    result = compare(ledger, back, ("entries",), declared=notes)
    assert result.verdict == "verified with declared losses", result.differences
    losses = sorted(result.losses)
    assert len(losses) == 2
    assert losses[0].startswith("VAT UN81 2024: base -1295.90/-1295.90, VAT -104.92/-104.90 before/after")
    assert losses[1].startswith("entries differ only in what the writer declared (line_vat)")


def test_books_rounded_to_the_cent(tmp_path: Path) -> None:
    """Books that round VAT to the cent: each entry bexio would round otherwise gets its rounding line,
    and the conversion verifies with the differences declared."""
    ledger = sales({"C1": [(10030, 812)], "C2": [(20000, 1620)], "C3": [(11955, 968)]})
    notes = pipeline.write(ledger, "bexio", tmp_path / "out")
    written = bodies(tmp_path / "out")
    assert written["C2"]["type"] == "manual_single_entry"  # 16.20 is a multiple of 0.05: nothing to add
    # 119.55 at 8.1 % booked 9.68; 129.25 holds 9.685, 9.70 at 0.05: bexio would book more VAT than the
    # books. The base is split: 119.44 (gross 129.09 holds 9.6728, 9.65) and 0.11 (0.0082: none), and a
    # rounding line of 0.03 tops the VAT up on its own side, so 2200 gets no debit.
    c3 = [(e["debit_account_id"], e["credit_account_id"], e["amount"], e["tax_id"]) for e in written["C3"]["entries"]]
    assert c3 == [("1100", None, 129.23, None), (None, "3400", 129.09, "UN81"), (None, "3400", 0.11, "UN81"),
                  (None, "2200", 0.03, None)]  # fmt: skip
    back = pipeline.read(tmp_path / "out", "bexio")
    assert trial_balance(back) == trial_balance(ledger)
    result = compare(ledger, back, ("entries",), declared=notes)
    assert result.ok and result.verdict == "verified with declared losses", result.differences
    assert not [y for y in result.years if y["reason"]]  # every account's debit and credit as in the books


def test_sub_accounts_fiscal_years_and_base_currency(tmp_path: Path) -> None:
    """GnuCash-like books: 1020 under the account 1000 (an account is never a group in bexio: it goes
    to 1000's group), a fiscal year from July to June, EUR as base currency, an entry whose lines bear
    two dates. Each is declared, the chart names real groups only, and EUR comes back as the base."""
    rows = [
        {"entry": "1", "line": 1, "date": dt.date(2024, 7, 3), "doc": "A", "account": "1020", "amount": 5000},
        {"entry": "1", "line": 2, "date": dt.date(2024, 7, 9), "doc": "A", "account": "3400", "amount": -5000},
    ]
    accounts = [{"code": "1000", "name": "Bank", "type": "asset", "parent": "10", "active": True},
                {"code": "1020", "name": "Bank EUR", "type": "asset", "parent": "1000", "active": True},
                {"code": "3400", "name": "Sales", "type": "income", "parent": "", "active": True}]  # fmt: skip
    ledger = Ledger(
        company=Company(base_currency="EUR", fiscal_years=(FiscalYear(dt.date(2024, 7, 1), dt.date(2025, 6, 30)),)),
        accounts=table("accounts", accounts), groups=table("groups", [{"code": "10", "name": "Liquid"}]),
        lines=table("lines", rows),
    )  # fmt: skip
    result = pipeline.convert(_saved(ledger, tmp_path), "bexio", tmp_path / "out")
    assert result.verification is not None and result.verification.ok, result.verification.differences
    sheet = openpyxl.load_workbook(tmp_path / "out" / "Kontenplan.xlsx").active
    assert sheet is not None
    assert [row[:4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("10", "Liquid", None, "Aktiv"), ("1000", "Bank", "10", "Aktiv"), ("1020", "Bank EUR", "10", "Aktiv"),
        ("3400", "Sales", None, "Ertrag")]  # fmt: skip
    declared = " | ".join(p.message for p in result.not_carried)
    assert "1 account parents not carried" in declared
    assert "1 fiscal years not carried by this format: not calendar years" in declared
    assert "1 lines on several dates not carried" in declared
    assert result.reread is not None and result.reread.company.base_currency == "EUR"
    assert "EUR;0.01" in (tmp_path / "out" / "currencies.csv").read_text("utf-8")


def _saved(ledger: Ledger, folder: Path) -> Path:
    """`ledger` as migrator's SQLite archive (it keeps the fiscal years and groups), to convert from."""
    path = folder / "books.sqlite"
    pipeline.write(ledger, "sqlite", path)
    return path
