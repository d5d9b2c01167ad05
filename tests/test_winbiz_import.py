"""Winbiz DocumentImport: addresses, items and open invoices (opening balances) written and read back."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from conftest import golden
from odd_partners import ITEMS, OPEN_ITEMS, PARTNERS, ledger

from migrator import pipeline
from migrator.model import table
from migrator.readers.winbiz import documentimport
from migrator.writers.winbiz import WinbizWriter, kept_item, kept_open_item, kept_partner


def written(tmp_path: Path) -> tuple[Path, list]:  # type: ignore[type-arg]
    out = tmp_path / "winbiz"
    out.mkdir()
    return out, WinbizWriter().write(ledger(), out)


def fields(line: str) -> dict[int, str]:
    """The non-empty numbered fields of a record (1-based), for asserting by position."""
    cells = next(csv.reader([line], delimiter=";"))
    assert len(cells) == 159
    return {n: c for n, c in enumerate(cells, start=1) if c}


def test_files_field_by_field(tmp_path: Path) -> None:
    out, _ = written(tmp_path)
    names = ("bizexdoc_adresses.csv", "bizexdoc_articles.csv", "bizexdoc_soldes.csv")
    for name in names:
        golden(f"winbiz/{name}", (out / name).read_bytes())
    addresses = (out / names[0]).read_bytes().decode("cp1252").split("\r\n")
    assert addresses[-1] == "" and len(addresses) == 7  # one record per partner, CRLF, no header
    # a company with its contact: code in 20, company 22, last 23, first 24, street with number 25, update 47 = 1
    assert fields(addresses[0]) == {2: "00", 6: "0.00", 19: "Zahlt spät; immer anrufen, nie faxen", 20: "1001",
                                    22: "Müller & Söhne AG", 23: "Müller", 24: "Hans", 25: "Bahnhofstrasse 12a",
                                    27: "8001", 28: "Zürich", 47: "1"}  # fmt: skip
    # a person, no postcode; a blank code stays blank
    assert fields(addresses[1]) == {2: "00", 6: "0.00", 20: "1002", 23: "Favre-Bühler", 24: "Élodie",
                                    25: "Chemin des Vignes 4", 28: "Lutry", 47: "1"}  # fmt: skip
    assert fields(addresses[4]) == {2: "00", 6: "0.00", 22: "Anonyme Kundschaft", 47: "1"}
    assert ';"Garage ""Zum Löwen"" GmbH";' in addresses[3]  # quoted: a " inside a field
    assert fields(addresses[3])[22] == 'Garage "Zum Löwen" GmbH'
    articles = (out / names[1]).read_bytes().decode("cp1252").split("\r\n")
    assert fields(articles[0]) == {2: "00", 6: "0.00", 50: "P-100", 51: "Ölfilter Bosch", 54: "24.50", 74: "1"}
    assert fields(articles[2]) == {2: "00", 6: "0.00", 50: "P-200", 51: "Pneu hiver 205/55 R16", 74: "1"}
    balances = (out / names[2]).read_bytes().decode("cp1252").split("\r\n")
    # a customer invoice partly paid: a debtor opening balance (17) of the 200.00 still open
    assert fields(balances[1]) == {1: "<NEW>", 2: "17", 3: "15.12.2024", 5: "R24-007", 6: "200.00", 20: "1002",
                                   48: "1", 49: "1", 51: "Reifenwechsel, Teilzahlung", 53: "1", 54: "200.00",
                                   61: "0", 62: "2"}  # fmt: skip
    # a supplier's bill in euros: creditor opening balance (43), currency and foreign total, local total left empty
    assert fields(balances[2]) == {1: "<NEW>", 2: "43", 3: "20.12.2024", 5: "F-8841", 7: "EUR", 9: "980.00",
                                   20: "2001", 48: "1", 49: "1", 51: "Lieferung Filter", 53: "1", 54: "980.00",
                                   61: "0", 62: "2"}  # fmt: skip
    readme = (out / "README.txt").read_text("utf-8")
    assert "1. bizexdoc_adresses.csv" in readme and "never overwritten" in readme
    assert "3. bizexdoc_soldes.csv" in readme and "debtor opening balances (type 17)" in readme


def test_read_back_equals_what_the_files_carry(tmp_path: Path) -> None:
    out, problems = written(tmp_path)
    back = pipeline.read(out, "winbiz")
    partners = table("partners", PARTNERS).to_pylist()
    assert back.partners.to_pylist() == table("partners", [kept_partner(p) for p in partners]).to_pylist()
    assert (
        back.items.to_pylist() == table("items", [kept_item(i) for i in table("items", ITEMS).to_pylist()]).to_pylist()
    )
    opens = table("open_items", OPEN_ITEMS).to_pylist()
    assert back.open_items.to_pylist() == table("open_items", [kept_open_item(o) for o in opens]).to_pylist()
    assert back.open_items.column("open_amount").to_pylist() == [162150, 20000, 98000]
    assert back.open_items.column("date").to_pylist()[0] == dt.date(2024, 11, 28)
    declared = {p.message.split(" not carried")[0] for p in problems}
    # counted by hand from odd_partners: everything but code, names, street, postcode, town and notes
    assert "6 partner details (kind 1, roles 5, street 4, building number 4, address line2 1, country 5, email 1, " \
        "phone 1, mobile 1, fax 1, website 1, vat number 1, iban 1, language 2, currency 1, payment terms 2, " \
        "account 3, notes 1, active 1)" in declared  # fmt: skip
    assert "3 open items (due date 3, amount 1, account 3)" in declared
    assert back.errors == []


def test_other_document_types_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "bizexdoc_x.csv"
    row = [""] * 159
    row[0], row[1], row[2], row[5], row[44] = "12", "20", "01.02.2024", "100.00", "Madame"
    bad = list(row)
    bad[1], bad[5] = "17", "1'00.0.0"
    path.write_bytes((";".join(row) + "\r\n" + ";".join(bad) + "\r\n").encode("cp1252"))
    found = documentimport.read([(path, "bizexdoc_x.csv")])
    assert [(p.severity, p.row) for p in found.problems] == [("warning", 1), ("error", 2)]
    assert found.open_items == [] and found.partners == []
    # field 45 (salutation) is read by no column: kept
    assert [{k: v for k, v in e.items() if k.startswith("field_")} for e in found.extras] == [
        {"field_45": "Madame"}
    ] * 2


def test_garage_to_winbiz_verifies(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "winbiz", out, dossier="garage")
    assert result.verified, result.verification and result.verification.differences
    assert result.reread is not None
    before = result.written
    assert result.reread.partners.column("id").to_pylist() == before.partners.column("id").to_pylist()
    assert result.reread.items.column("code").to_pylist() == before.items.column("code").to_pylist()
    kept = [kept_open_item(o) for o in before.open_items.to_pylist()]
    assert result.reread.open_items.to_pylist() == table("open_items", kept).to_pylist()
