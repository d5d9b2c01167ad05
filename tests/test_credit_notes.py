"""Credit notes through the Swiss targets that are not Banana or bexio: the VAT of a sales credit note
(sales account in debit) and of a supplier's credit note (purchase account in credit) must land on the
side that reduces the VAT, as the target program books it.

Winbiz gives the side of the VAT with ``TVA_cpt`` (the side of the base account), Infoniqa with each
row's ``S/H``, Abacus with each single's ``DebitCredit`` (the tax booked on top of the single, on its
side): none of them encodes the direction in the code, so a credit note keeps the ordinary code there
(unlike Banana's minus codes). Crésus and Run my Accounts take no VAT codes (the VAT lines are written
as plain lines)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from migrator import pipeline, registry
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.reconcile import vat_totals, years

DAY = dt.date(2024, 3, 1)
# (voucher, account, cents, VAT code, VAT amount, is a VAT line)
ENTRIES = [
    ("R1", "1100", 108100, "", None, False), ("R1", "3200", -100000, "V81", -8100, False),
    ("R1", "2200", -8100, "V81", None, True),
    # sales credit note: sales account in debit, the VAT due reduced (2200 in debit)
    ("G1", "3200", 20000, "V81", 1620, False), ("G1", "2200", 1620, "V81", None, True),
    ("G1", "1100", -21620, "", None, False),
    ("P1", "4200", 50000, "M81", 4050, False), ("P1", "1170", 4050, "M81", None, True),
    ("P1", "2000", -54050, "", None, False),
    # supplier's credit note: purchase account in credit, the input VAT reduced (1170 in credit)
    ("P2", "2000", 10810, "", None, False), ("P2", "4200", -10000, "M81", -810, False),
    ("P2", "1170", -810, "M81", None, True),
]  # fmt: skip
ACCOUNTS = [("1100", "asset"), ("1170", "asset"), ("2000", "liability"), ("2200", "liability"),
            ("3200", "income"), ("4200", "expense")]  # fmt: skip
# by hand: V81 base -1000.00 + 200.00, VAT -81.00 + 16.20; M81 base 500.00 - 100.00, VAT 40.50 - 8.10
SALES = {"base": -80000, "vat": -6480, "declared": -6480}
INPUT = {"base": 40000, "vat": 3240, "declared": 3240}


def books() -> Ledger:
    rows: list[dict[str, Any]] = []
    for doc, account, cents, code, tax, is_vat in ENTRIES:
        number = 1 + sum(1 for r in rows if r["entry"] == doc)
        rows.append({"entry": doc, "line": number, "date": DAY, "doc": doc, "description": f"{doc} {account}",
                     "account": account, "amount": cents, "vat_code": code, "vat_amount": tax, "vat_line": is_vat})  # fmt: skip
    return Ledger(
        company=Company(name="Garage Test SA", base_currency="CHF",
                        fiscal_years=(FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),)),
        accounts=table("accounts", [{"code": c, "name": c, "type": t} for c, t in ACCOUNTS]),
        vat_codes=table("vat_codes", [
            {"code": "V81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"},
            {"code": "M81", "rate": "8.1", "kind": "input_material", "method": "net", "account": "1170"}]),
        lines=table("lines", rows),
    )  # fmt: skip


def converted(tmp_path: Path, target: str) -> pipeline.Conversion:
    source = tmp_path / "books.sqlite"
    pipeline.write(books(), "sqlite", source)
    fmt = registry.get(target)
    out = tmp_path / ("out" + ("" if fmt.output == "folder" else fmt.default_extension))
    return pipeline.convert(source, target, out)


def movements(ledger: Ledger, account: str) -> tuple[int, int]:
    """Debit and credit of `account` in 2024 (cents, credit negative)."""
    (year,) = years(ledger)
    debit = credit = 0
    for line in ledger.lines.to_pylist():
        if line["account"] == account:
            debit += max(line["amount"], 0)
            credit += min(line["amount"], 0)
    assert year.closing.get(account, 0) == debit + credit
    return debit, credit


@pytest.mark.parametrize(("target", "sales", "purchases"), [("infoniqa", "USN81", "VSM81"), ("winbiz", "V81", "M81")])
def test_credit_notes_read_back_with_the_vat_per_code(tmp_path: Path, target: str, sales: str, purchases: str) -> None:
    result = converted(tmp_path, target)
    assert result.verification is not None and result.verification.ok, result.verification.differences
    assert result.compared is not None
    assert vat_totals(result.compared) == {sales: SALES, purchases: INPUT}
    # the credit notes' VAT on the side that reduces it
    assert movements(result.compared, "2200") == (1620, -8100)
    assert movements(result.compared, "1170") == (4050, -810)


def test_infoniqa_rows_of_credit_notes(tmp_path: Path) -> None:
    converted(tmp_path, "infoniqa")
    rows = [line.split(",") for line in (tmp_path / "out.csv").read_text(encoding="cp1252").splitlines()[1:]]
    # Blg, Kto, S/H, SId, BTyp, Netto, Steuer of each row of the sales credit note (voucher G1 → Tx2)
    credit_note = [(r[2], r[3], r[6], r[9], r[12], r[13]) for r in rows if r[16] == '"G1"']
    assert credit_note == [("3200", "S", "USN81", "0", "200.00", "16.20"), ("2200", "S", "", "2", "16.20", "200.00"),
                           ("1100", "H", "", "0", "216.20", "0.00")]  # fmt: skip
    supplier = [(r[2], r[3], r[6], r[9], r[12], r[13]) for r in rows if r[16] == '"P2"']
    assert supplier == [("2000", "S", "", "0", "108.10", "0.00"), ("4200", "H", "VSM81", "0", "100.00", "8.10"),
                        ("1170", "H", "", "2", "8.10", "100.00")]  # fmt: skip


def test_winbiz_rows_of_credit_notes(tmp_path: Path) -> None:
    converted(tmp_path, "winbiz")
    rows = [line.split(";") for line in (tmp_path / "out" / "ecritures.csv").read_text(encoding="cp1252").splitlines()]
    # Cpt_debit, Cpt_credit, Montant, TVA_taux, TVA_mnt, TVA_cpt, TVA_typ, code (field 20) of the credit notes
    picked = {r[1]: (r[3], r[4], r[5], r[9], r[10], r[11], r[12], r[19]) for r in rows if r[1] in ("G1", "P2")}
    assert picked["G1"] == ("3200", "1100", "216.20", "8.1", "16.20", "d", "2", "V81")
    assert picked["P2"] == ("2000", "4200", "108.10", "8.1", "8.10", "c", "3", "M81")


@pytest.mark.parametrize("target", ["cresus", "runmyaccounts"])
def test_targets_without_vat_codes_book_the_credit_notes_vat_as_plain_lines(tmp_path: Path, target: str) -> None:
    result = converted(tmp_path, target)
    assert result.verification is not None and result.verification.ok, result.verification.differences
    assert result.compared is not None
    assert vat_totals(result.compared) == {}  # declared: the codes are not carried
    assert any("VAT codes on lines" in p.message for p in result.not_carried)
    assert movements(result.compared, "2200") == (1620, -8100)
    assert movements(result.compared, "1170") == (4050, -810)


def test_abacus_books_a_credit_notes_tax_on_the_side_of_its_single(tmp_path: Path) -> None:
    result = converted(tmp_path, "abacus")
    root = etree.parse(str(tmp_path / "out.xml")).getroot()
    singles = {}
    for single in root.iter("SingleInformation"):
        tax = single.find("TaxData")
        if tax is not None:
            singles[single.findtext("DocumentNumber")] = (
                single.findtext("Account"), single.findtext("DebitCredit"), single.findtext("KeyAmount"),
                single.findtext("TaxAccount"), tax.findtext("TaxType"), tax.findtext("KeyAmount"), tax.findtext("TaxCode"))  # fmt: skip
    assert singles == {
        "R1": ("3200", "C", "1000.00", "2200", "1", "81.00", "V81"),
        "G1": ("3200", "D", "200.00", "2200", "1", "16.20", "V81"),  # sales credit note: the tax in debit
        "P1": ("4200", "D", "500.00", "1170", "2", "40.50", "M81"),
        "P2": ("4200", "C", "100.00", "1170", "2", "8.10", "M81"),  # supplier's credit note: the tax in credit
    }
    assert result.verification is None  # Abacus is written only
