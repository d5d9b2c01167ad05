"""Abacus AbaConnect FIBU XML Buchungen (write only): exact layout and structure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import golden
from lxml import etree

from migrator import pipeline, registry, years
from migrator.errors import UnsupportedOperation
from migrator.model import Ledger, table
from migrator.xmlsafe import parse


def written(ledger: Ledger, tmp_path: Path) -> tuple[etree._Element, list]:
    out = tmp_path / "abacus.xml"
    problems = pipeline.write(ledger, "abacus", out)
    return parse(out), problems


def amount(element: etree._Element, path: str) -> Decimal:
    return Decimal(element.findtext(path))


def sides(entry: etree._Element) -> dict[str, Decimal]:
    """Debit and credit totals of an entry in base currency, VAT booked on top of excluded-tax singles."""
    totals = {"D": Decimal(0), "C": Decimal(0)}
    for part in entry:
        side = part.findtext("DebitCredit")
        totals[side] += amount(part, "KeyAmount")
        if part.find("TaxData") is not None and part.findtext("TaxData/TaxIncluded") == "E":
            totals[side] += amount(part, "TaxData/KeyAmount")
    return totals


def test_golden(garage: Ledger, tmp_path: Path) -> None:
    pipeline.write(garage, "abacus", tmp_path / "g.xml")
    data = (tmp_path / "g.xml").read_bytes()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<AbaConnectContainer>")
    golden("abacus/garage.xml", data)


def test_container_and_parameters(garage: Ledger, tmp_path: Path) -> None:
    root, problems = written(garage, tmp_path)
    assert root.tag == "AbaConnectContainer" and root.nsmap == {}
    assert [child.tag for child in root] == ["TaskCount", "Task"]
    assert root.findtext("TaskCount") == "1"
    parameter = root.find("Task/Parameter")
    assert {c.tag: c.text for c in parameter} == {
        "Application": "FIBU", "Id": "XML Buchungen", "MapId": "AbaDefault", "Version": "2022.00", "Mandant": "1",
    }  # fmt: skip
    assert any("Mandant" in p.message for p in problems)


def test_every_entry_balances_and_counts_match(garage: Ledger, tmp_path: Path) -> None:
    root, _ = written(garage, tmp_path)
    transactions = root.findall("Task/Transaction")
    # the garage's 23 entries, the 2024 opening replaced by the 2023 closing entry (migrator.years); the
    # 2023 opening (5 debit lines) and the closing (3: 3200, 3400 and the loss on 2970) against several
    # credits become one Abacus entry per debit line: 23 - 2 + 5 + 3
    assert [t.get("id") for t in transactions] == [str(n) for n in range(1, 30)]
    assert all([child.tag for child in t] == ["Entry"] for t in transactions)
    entries = root.findall("Task/Transaction/Entry")
    assert all(a.get("mode") == "SAVE" for a in root.iter("AmountData"))
    for entry in entries:
        assert entry.get("mode") == "SAVE"
        head, *singles = list(entry)
        assert head.tag == "CollectiveInformation" and head.get("mode") == "SAVE"
        assert all(s.tag == "SingleInformation" and s.get("mode") == "SAVE" for s in singles)
        assert head.findtext("SingleCount") == str(len(singles))
        assert head.findtext("EntryType") == ("S" if len(singles) == 1 else "C")
        totals = sides(entry)
        assert totals["D"] == totals["C"], head.findtext("DocumentNumber")
        # the collective amount is the entry's total
        assert amount(head, "KeyAmount") == totals["D"], head.findtext("DocumentNumber")
        assert head.findtext("Client") == "1"
        assert all(len(e.text or "") <= 10 for e in entry.iter("DocumentNumber"))
    # 72 lines (75, the 2024 opening's 11 replaced by the closing entry's 8): 21 entries carried by
    # collective information, 11 VAT lines folded into their bases' tax data; the 2023 opening's 8 lines
    # and the closing's 8 give 7 singles each (one per debit/credit overlap)
    assert len(root.findall(".//SingleInformation")) == 72 - 21 - 11 - 8 - 8 + 7 + 7
    assert len(root.findall(".//TaxData")) == 12  # R23-002 has two bases sharing one VAT line
    total_debit = sum(sides(e)["D"] for e in entries)
    carried = years.continuous(garage)[0].lines.column("amount").to_pylist()
    assert total_debit == Decimal(sum(a for a in carried if a > 0)).scaleb(-2)


def test_vat_entry(garage: Ledger, tmp_path: Path) -> None:
    root, _ = written(garage, tmp_path)
    entry = next(e for e in root.iter("Entry") if e.findtext("CollectiveInformation/DocumentNumber") == "R24-001")
    head = entry.find("CollectiveInformation")
    assert (head.findtext("Account"), head.findtext("DebitCredit"), head.findtext("KeyAmount")) == (
        "1100",
        "D",
        "2162.00",
    )
    assert (head.findtext("EntryDate"), head.findtext("ValueDate")) == ("2024-01-25", "2024-01-25")
    (single,) = entry.findall("SingleInformation")
    assert (single.findtext("Account"), single.findtext("DebitCredit"), single.findtext("KeyAmount")) == (
        "3400",
        "C",
        "2000.00",
    )
    assert single.findtext("TaxAccount") == "2200"
    tax = {c.tag: c.text for c in single.find("TaxData") if c.tag != "AmountData"}
    assert tax == {"TaxIncluded": "E", "TaxType": "1", "UseCode": "1", "KeyAmount": "162.00", "TaxRate": "8.1",
                   "TaxCoefficient": "100", "Country": "CH", "TaxCode": "V81"}  # fmt: skip
    assert single.findtext("TaxData/AmountData/Amount") == "162.00"


def test_foreign_currency_entry(garage: Ledger, tmp_path: Path) -> None:
    root, _ = written(garage, tmp_path)
    entry = next(e for e in root.iter("Entry") if e.findtext("CollectiveInformation/DocumentNumber") == "F23-102")
    head = entry.find("CollectiveInformation")
    assert head.findtext("AmountData/Currency") == "EUR" and head.findtext("AmountData/Amount") == "1000.00"
    assert head.findtext("KeyAmount") == "965.00" and head.findtext("KeyCurrency") == "CHF"
    assert {c.tag: c.text for c in head.find("ExchangeRateData")} == {
        "FromCurrency": "EUR", "ToCurrency": "CHF", "ExchangeRate": "0.965",
    }  # fmt: skip


def test_vat_line_that_does_not_match_stays_a_line(tmp_path: Path) -> None:
    day = dt.date(2024, 5, 1)
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": day, "account": "1100", "amount": 10800, "doc": "X"},
        {"entry": "1", "line": 2, "date": day, "account": "3200", "amount": -10000, "doc": "X", "vat_code": "V81",
         "vat_amount": -799},
        {"entry": "1", "line": 3, "date": day, "account": "2200", "amount": -800, "doc": "X", "vat_code": "V81",
         "vat_line": True},
    ])  # fmt: skip
    root, problems = written(Ledger(lines=lines), tmp_path)
    (entry,) = root.iter("Entry")
    assert len(entry.findall("SingleInformation")) == 2 and entry.find(".//TaxData") is None
    assert sides(entry)["D"] == sides(entry)["C"] == Decimal("108.00")
    assert any("1 VAT lines do not match" in p.message for p in problems)


def test_several_debits_against_several_credits_are_split(tmp_path: Path) -> None:
    day = dt.date(2024, 1, 1)
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": day, "account": "1000", "amount": 30000, "doc": "OUVERTURE-2024"},
        {"entry": "1", "line": 2, "date": day, "account": "1020", "amount": 20000, "doc": "OUVERTURE-2024"},
        {"entry": "1", "line": 3, "date": day, "account": "2000", "amount": -10000, "doc": "OUVERTURE-2024"},
        {"entry": "1", "line": 4, "date": day, "account": "2800", "amount": -40000, "doc": "OUVERTURE-2024"},
    ])  # fmt: skip
    root, problems = written(Ledger(lines=lines), tmp_path)
    got = []
    for entry in root.iter("Entry"):
        head = entry.find("CollectiveInformation")
        got.append((head.findtext("Account"), head.findtext("DebitCredit"), head.findtext("KeyAmount"),
                    [(s.findtext("Account"), s.findtext("DebitCredit"), s.findtext("KeyAmount"))
                     for s in entry.findall("SingleInformation")]))  # fmt: skip
    assert got == [
        ("1000", "D", "300.00", [("2000", "C", "100.00"), ("2800", "C", "200.00")]),
        ("1020", "D", "200.00", [("2800", "C", "200.00")]),
    ]
    assert {e.text for e in root.iter("DocumentNumber")} == {"OUVERTURE-"}
    assert any("1 voucher numbers longer than 10 characters" in p.message for p in problems)
    assert any("1 entries with several debit and several credit lines" in p.message for p in problems)


def test_tax_codes_longer_than_three_characters_are_replaced(tmp_path: Path) -> None:
    day = dt.date(2024, 5, 1)
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": day, "account": "1100", "amount": 10260, "doc": "X"},
        {"entry": "1", "line": 2, "date": day, "account": "3200", "amount": -10000, "doc": "X", "vat_code": "V26G",
         "vat_amount": -260},
        {"entry": "1", "line": 3, "date": day, "account": "2200", "amount": -260, "doc": "X", "vat_code": "V26G",
         "vat_line": True},
    ])  # fmt: skip
    root, problems = written(Ledger(lines=lines), tmp_path)
    assert [e.text for e in root.iter("TaxCode")] == ["T00"]
    assert any("VAT code V26G is longer than 3 characters: written as TaxCode T00" in p.message for p in problems)


def test_text_is_escaped_cleaned_and_cut(tmp_path: Path) -> None:
    day = dt.date(2024, 5, 1)
    text = "Müller & Söhne <AG> \x01\x0b" + "x" * 100
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": day, "account": "1000", "amount": 500, "doc": "A&B", "description": text},
        {"entry": "1", "line": 2, "date": day, "account": "2000", "amount": -500, "doc": "A&B", "description": text},
    ])  # fmt: skip
    root, problems = written(Ledger(lines=lines), tmp_path)
    head = root.find(".//CollectiveInformation")
    assert head.findtext("Text1") == ("Müller & Söhne <AG> " + "x" * 100)[:80]
    assert head.findtext("DocumentNumber") == "A&B"
    assert any("cut to fit Text1" in p.message for p in problems)


def test_write_only(tmp_path: Path) -> None:
    fmt = registry.get("abacus")
    assert fmt.writes and not fmt.reads
    with pytest.raises(UnsupportedOperation):
        fmt.reader()


def test_text_the_xml_reader_gets_back(tmp_path: Path) -> None:
    """Characters XML escapes or cannot hold, in every text field: an XML parser (lxml, as AbaConnect
    reads the file) gets back the text as written, without the characters XML 1.0 lacks."""
    day = dt.date(2024, 5, 1)
    hostile = "a&b <c> \"d\" 'e' ]]> f\rg \ufffe\uffff\x07 é ✓ 😀"
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": day, "account": "1<0>0&", "amount": 500, "doc": "&<\r>",
         "description": hostile, "currency": "E&R", "amount_currency": 400, "rate": "1<2"},
        {"entry": "1", "line": 2, "date": day, "account": "2000", "amount": -500, "doc": "&<\r>", "description": "x"},
    ])  # fmt: skip
    root, _ = written(Ledger(lines=lines), tmp_path)
    head = root.find(".//CollectiveInformation")
    assert head.findtext("Account") == "1<0>0&"
    assert head.findtext("Text1") == "a&b <c> \"d\" 'e' ]]> f g é ✓ 😀"  # CR and the run of blanks become one blank
    assert head.findtext("DocumentNumber") == "&<\r>"
    assert head.findtext("AmountData/Currency") == "E&R"
    assert head.findtext("ExchangeRateData/ExchangeRate") == "1<2"
    assert b"&#13;" in (tmp_path / "abacus.xml").read_bytes()  # the CR kept as a character reference


def test_batches_do_not_change_the_file(garage: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are written a batch at a time: batches of 3 entries give the same bytes as one batch."""
    from migrator.writers import abacus

    pipeline.write(garage, "abacus", tmp_path / "one.xml")
    monkeypatch.setattr(abacus, "BATCH", 3)
    pipeline.write(garage, "abacus", tmp_path / "many.xml")
    assert (tmp_path / "many.xml").read_bytes() == (tmp_path / "one.xml").read_bytes()
    ids = [t.get("id") for t in parse(tmp_path / "many.xml").findall("Task/Transaction")]
    assert ids == [str(n) for n in range(1, len(ids) + 1)]
