"""bexio: journal and statement exports read, manual entries / chart written, and read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import golden

from migrator import pipeline, vat, years
from migrator.errors import SourceError
from migrator.model import years_of
from migrator.outputs import MANIFEST
from migrator.reconcile import trial_balance, vat_totals

REF = "vendors/bexio/bexio_journal_export_20221223.csv"
HEADER = "Datum;Referenz;Soll;Haben;Beschreibung;Betrag;Buchungswährung;Umrechnungsfaktor;Betrag in Basiswährung;Währung in Basiswährung;MWST"

# The garage's VAT in bexio codes, added up by hand from samples/garage.py (cents, debit positive).
GARAGE_VAT = {
    "UN77": {"base": -505000, "vat": -38885, "declared": -38885},  # 1200+1500+1000+500+850; 92.40+192.50+38.50+65.45
    "UN81": {"base": -680000, "vat": -55080, "declared": -55080},  # 2000+800+4000; 162.00+64.80+324.00
    "VB81": {"base": 1200000, "vat": 97200, "declared": 97200},
    "VM77": {"base": 200000, "vat": 15400, "declared": 15400},
    "VM81": {"base": 450000, "vat": 36450, "declared": 36450},  # 3000+1500; 243.00+121.50
}


def test_reference_export(reference: Path) -> None:
    ledger = pipeline.read(reference / REF)
    assert ledger.format == "bexio"
    # 219 rows under the header, each one booking of two lines.
    assert ledger.lines.num_rows == 2 * 219
    balances = trial_balance(ledger)
    # Soll minus Haben of "Betrag in Basiswährung", added by hand (awk) from the file.
    assert balances["1020"] == 5420061
    assert balances["2200"] == -884697
    assert balances["1100"] == 6044165
    assert balances["8910"] == 393087
    # Accounts written "1020 - PostFinance AG" give code and name.
    names = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )
    assert names["1020"] == "PostFinance AG"
    assert names["2200"] == "Geschuldete Mehrwertsteuer"
    # Seven invoices with UN77: a base row and a VAT row each (2050 × 7.7 % = 157.85 …).
    totals = vat_totals(ledger)
    assert totals["UN77"] == {"base": -2805000, "vat": -215985, "declared": -215985}
    # The one UN80 row has no VAT row: kept as it is, no VAT invented.
    assert totals["UN80"] == {"base": 1800, "vat": 0, "declared": 0}
    codes = {r["code"]: r for r in ledger.vat_codes.to_pylist()}
    assert (codes["UN77"]["rate"], codes["UN77"]["kind"], codes["UN77"]["account"]) == ("7.7", "sales", "2200")
    assert codes["UR25"]["rate"] == "2.5"
    # Rows with the same date and Referenz form one entry: 219 rows, 159 distinct (date, Referenz).
    assert ledger.counts()["entries"] == 159
    assert not ledger.errors


def test_reference_betrag_total(reference: Path) -> None:
    ledger = pipeline.read(reference / REF)
    betrag = 0
    seen = set()
    for r in ledger.lines.to_pylist():  # the debit line of each row comes first
        if r["source_row"] not in seen:
            seen.add(r["source_row"])
            betrag += r["amount_currency"] if r["currency"] else r["amount"]
    assert len(seen) == 219
    assert betrag == 92837117  # the sum of the Betrag column (booking currency), by awk


@pytest.mark.parametrize("name", ["journal.csv", "journal_id.csv", "journal.xlsx", "statements"])
def test_samples(samples: Path, garage, name: str) -> None:  # type: ignore[no-untyped-def]
    ledger = pipeline.read(samples / "bexio" / name)
    assert pipeline.detect(samples / "bexio" / name).format == "bexio"
    assert trial_balance(ledger) == trial_balance(garage)
    assert ledger.counts()["entries"] == 23
    assert vat_totals(ledger) == GARAGE_VAT
    assert not ledger.errors


def test_statements_count_a_booking_once(samples: Path, tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for account in ("1020", "1100"):
        shutil.copy(samples / "bexio" / "statements" / f"konto_{account}.csv", folder)
    ledger = pipeline.read(folder, "bexio")
    # konto_1020.csv has 14 rows, konto_1100.csv 15; two of them (B23-010, B24-010: 1100 with GK 1020) are the
    # same bookings seen from both accounts, so they count once.
    assert ledger.lines.num_rows == 2 * (14 + 15 - 2)
    notes = [p for p in ledger.problems if "counted once" in p.message]
    assert len(notes) == 2
    assert all(p.file.endswith("konto_1100.csv") and "konto_1020.csv row" in p.message for p in notes)


def test_thousands_separators(tmp_path: Path) -> None:
    rows = [f"01.02.2024;R1;1020 - Bank;3400 - Ertrag;t;{a};CHF;1;{a};CHF;"
            for a in ("1'234.50", "1\ufffd234.50", "1’234.50", "1\u00a0234.50", "1 234.50")]  # fmt: skip
    path = tmp_path / "j.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    ledger = pipeline.read(path)
    assert trial_balance(ledger) == {"1020": 5 * 123450, "3400": -5 * 123450}


def test_bad_inputs(tmp_path: Path) -> None:
    unknown = tmp_path / "x.csv"
    unknown.write_text("Date;Account;Amount\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        pipeline.read(unknown, "bexio")
    assert "unknown header" in str(info.value) and "x.csv" in str(info.value)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n01.02.2024;R1;1020;3400;t;12x.00;CHF;1;12x.00;CHF;\n"
                   f"31.02.2024;R2;1020;3400;t;5.00;CHF;1;5.00;CHF;\n", encoding="utf-8")  # fmt: skip
    ledger = pipeline.read(bad)
    errors = sorted((p.row, p.message) for p in ledger.errors)
    assert [row for row, _ in errors] == [2, 3]
    assert "12x.00" in errors[0][1] and "31.02.2024" in errors[1][1]
    assert all(p.file.endswith("bad.csv") for p in ledger.errors)
    assert ledger.lines.num_rows == 0


def test_vat_translation(garage) -> None:  # type: ignore[no-untyped-def]
    codes, problems = vat.translate(garage, "bexio")
    assert codes == {"V77": "UN77", "M77": "VM77", "V81": "UN81", "M81": "VM81", "I81": "VB81"}
    assert not problems


def test_round_trip(garage, tmp_path: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = pipeline.convert(samples / "garage" / "journal.csv", "bexio", tmp_path / "out")
    assert result.verified, result.verification.differences if result.verification else None
    back = result.reread
    assert back is not None
    assert back.counts()["entries"] == 23 and back.counts()["accounts"] == 19 and back.counts()["vat_codes"] == 5
    assert vat_totals(back) == GARAGE_VAT
    # bexio carries balances into 2024 itself: read back per year, every balance is the garage's
    assert trial_balance(years.per_year(back, years_of(garage))) == trial_balance(garage)
    # R23-002: two revenue lines of V77 with one VAT line of 192.50 in the books; bexio books the VAT
    # of each gross line itself, so one VAT line per base line comes back (1500 and 1000 at 7.7 %)
    r23 = [r for r in back.lines.to_pylist() if r["doc"] == "R23-002"]
    assert sorted((r["account"], r["amount"], r["vat_line"]) for r in r23) == [
        ("1100", 269250, False), ("2200", -11550, True), ("2200", -7700, True),
        ("3200", -150000, False), ("3400", -100000, False)]  # fmt: skip


def test_company_declared_groups_carried(samples: Path, tmp_path: Path) -> None:
    """bexio's import files hold no company: the Winbiz garage's name is declared lost. Its 23 groups are
    rows of the chart (bexio's chart import needs every group an account names) and come back."""
    result = pipeline.convert(samples / "winbiz" / "DAT", "bexio", tmp_path / "out", dossier="garage")
    assert result.verification is not None
    assert result.verification.verdict == "verified with declared losses"
    losses = result.verification.losses
    assert any(loss.startswith("company name: 'Garage du Lac Sàrl' before, '' after") for loss in losses)
    assert not any("groups" in loss for loss in losses)
    assert result.reread is not None and result.reread.groups.num_rows == 23
    sheet = openpyxl.load_workbook(tmp_path / "out" / "Kontenplan.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    numbers = {row[0] for row in rows}
    assert {row[2] for row in rows if row[2]} <= numbers  # every Kontengruppe named is a row
    assert all(row[3] in ("Aktiv", "Passiv", "Aufwand", "Ertrag", "Abschluss") for row in rows)
    # 9100 Bilan d'ouverture has no type in Winbiz: class 9 of the Swiss SME chart, Abschluss
    assert ("9100", "Bilan d'ouverture", "910", "Abschluss") in [row[:4] for row in rows]
    assert ("910", "Bilans", "9", "Abschluss") in [row[:4] for row in rows]
    assert [row[0] for row in rows[:7]] == ["1", "2", "3", "4", "5", "6", "9"]  # groups before their accounts


def test_writer_layout(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    problems = pipeline.write(garage, "bexio", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == [
        "Kontakte.xlsx", "Kontenplan.xlsx", "Produkte.xlsx", "README.md", "articles.json", "contacts.json",
        "currencies.csv", "invoices.json", "manual_entries.csv", "manual_entries.json", "taxes.csv"]  # fmt: skip
    for name in ("manual_entries.json", "manual_entries.csv", "taxes.csv", "README.md"):
        golden(f"bexio/{name}", (out / name).read_text("utf-8"))
    sheet = openpyxl.load_workbook(out / "Kontenplan.xlsx").active
    assert sheet is not None
    chart = "\n".join(";".join("" if c is None else str(c) for c in row) for row in sheet.iter_rows(values_only=True))
    golden("bexio/Kontenplan.txt", chart + "\n")
    bodies = json.loads((out / "manual_entries.json").read_text("utf-8"))
    assert len(bodies) == 23 + 1  # the entries, then the offset of the open invoice R24-002 (4324.00)
    assert bodies[-1] == {"type": "manual_single_entry", "date": "2024-09-12", "reference_nr": "OP-Übertrag R24-002",
                          "entries": [{"debit_account_id": "9990", "credit_account_id": "1100", "amount": 4324,
                                       "currency_id": "CHF", "currency_factor": 1, "description":
                                       "Übertrag offene Posten R24-002: Facture Carrosserie Weber, réparation",
                                       "tax_id": None, "tax_account_id": None}]}  # fmt: skip
    # R23-001: receivable against revenue, the VAT folded in: bexio books 92.40 from the gross 1292.40.
    invoice = next(b for b in bodies if b["reference_nr"] == "R23-001")
    assert invoice["type"] == "manual_single_entry"
    assert invoice["entries"] == [{
        "debit_account_id": "1100", "credit_account_id": "3400", "amount": 1292.4, "currency_id": "CHF",
        "currency_factor": 1, "description": "Facture Müller Transport, service camion", "tax_id": "UN77",
        "tax_account_id": "3400"}]  # fmt: skip
    # L23-04: compound, one side per line.
    wages = next(b for b in bodies if b["reference_nr"] == "L23-04")
    assert wages["type"] == "manual_compound_entry"
    assert [(e["debit_account_id"], e["credit_account_id"]) for e in wages["entries"]] == [
        ("5000", None), (None, "1020"), (None, "2270")]  # fmt: skip
    assert any("opening-entry flags" in p.message for p in problems)


def test_formula_text_is_inert(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    lines = garage.lines
    text = pa.array(["=HYPERLINK(1)"] * lines.num_rows)
    ledger = garage.replace(lines=lines.set_column(lines.schema.get_field_index("description"), "description", text))
    pipeline.write(ledger, "bexio", tmp_path / "out")
    assert ";'=HYPERLINK(1)" in (tmp_path / "out" / "manual_entries.csv").read_text("utf-8-sig")
    assert '"=HYPERLINK(1)"' in (tmp_path / "out" / "manual_entries.json").read_text("utf-8")


CARRIED_PARTNER = ("kind", "name", "first_name", "last_name", "street", "building_number", "address_line2", "zip",
                   "city", "country", "email", "phone", "mobile", "website", "language", "notes")  # fmt: skip
CARRIED_ITEM = ("name", "description", "unit", "sale_price", "purchase_price", "currency", "sale_vat_code",
                "purchase_vat_code", "revenue_account", "expense_account", "group", "stock", "stock_min")  # fmt: skip


def test_contacts_and_products(samples: Path, tmp_path: Path) -> None:
    """The Winbiz garage's customers, suppliers and parts in bexio's contact and product imports (and the
    API bodies), read back equal in every field bexio holds; the others declared."""
    result = pipeline.convert(samples / "winbiz" / "DAT", "bexio", tmp_path / "out", dossier="garage")
    assert result.verification is not None and result.verification.ok, result.verification.differences
    out = tmp_path / "out"
    contacts = openpyxl.load_workbook(out / "Kontakte.xlsx").active
    assert contacts is not None
    rows = {r[0]: r for r in contacts.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 11
    assert rows["C001"][:10] == ("C001", "Firma", "Müller Transport AG", None, "Bahnhofstrasse", "4", None, "3000",
                                 "Bern", "CH")  # fmt: skip
    assert rows["C004"][:10] == ("C004", "Person", "Sarbach-Zürcher", "Anna", "rue du Lac", "8", "c/o Zürcher", "1815",
                                 "Clarens", "CH")  # fmt: skip
    assert rows["S002"][4:11] == ("Hafenstraße", "17a", None, "78462", "Konstanz", "DE", "de")
    products = openpyxl.load_workbook(out / "Produkte.xlsx").active
    assert products is not None
    items = {r[0]: r for r in products.iter_rows(min_row=2, values_only=True)}
    # PNEU-H: bought at 200.00, sold at 250.00, V81/M81 in bexio codes, 12 in stock (minimum 8)
    assert items["PNEU-H"] == ("PNEU-H", "Pneus", "Pneu hiver 205/55 R16", "Pneu hiver 205/55 R16 91H\nMarque Nordika",
                               200, 250, "CHF", "pce", "3200", "4200", "UN81", "VM81", 12, 8)  # fmt: skip
    assert items["HUILE"][12:] == (137.5, 50)
    bodies = {b["nr"]: b for b in json.loads((out / "contacts.json").read_text("utf-8"))}
    assert (bodies["C003"]["contact_type_id"], bodies["C003"]["name_1"], bodies["C003"]["name_2"]) == (
        2,
        "Favre",
        "Jean",
    )
    articles = {a["intern_code"]: a for a in json.loads((out / "articles.json").read_text("utf-8"))}
    assert (articles["MO"]["article_type_id"], articles["MO"]["sale_price"], articles["MO"]["is_stock"]) == (
        2,
        125,
        False,
    )
    assert articles["FILTRE"]["contact_id"] == "S002" and articles["FILTRE"]["purchase_price"] == 21.8
    before, back = result.written, result.reread
    assert back is not None
    for table, key, fields in (("partners", "id", CARRIED_PARTNER), ("items", "code", CARRIED_ITEM)):
        mine = {r[key]: r for r in getattr(before, table).to_pylist()}
        theirs = {r[key]: r for r in getattr(back, table).to_pylist()}
        assert set(mine) == set(theirs)
        for code, row in mine.items():
            kept = [f for f in fields if row.get("kind") != "company" or f not in ("first_name", "last_name")]
            assert {f: row[f] or None for f in kept} == {f: theirs[code][f] or None for f in kept}, code
    declared = [p.message for p in result.not_carried]
    assert any(m.startswith("44 partner fields not carried") and "roles (11)" in m for m in declared)
    assert any(m.startswith("16 item fields not carried") and "supplier (8)" in m for m in declared)


def test_contact_and_product_exports(tmp_path: Path) -> None:
    """bexio contacts and products in its import columns, written by hand: a company, a person (Name 1
    the last name), a country and a language by name, exact prices."""
    (tmp_path / "kontakte.csv").write_text(
        "Kontaktnummer;Kontaktart;Name 1;Name 2;Strasse;Hausnummer;Adresszusatz;PLZ;Ort;Land;Sprache;E-Mail;Telefon;"
        "Mobile;Website;Bemerkungen\n"
        "1001;Firma;Bäckerei Rochat SA;;Rue Centrale;5;;1003;Lausanne;Schweiz;Französisch;info@rochat.example;"
        "+41 21 555 00 00;;;\n"
        "1002;Person;Keller;Ruth;Dorfstrasse;12a;Postfach 4;8400;Winterthur;CH;de;;;+41 79 555 44 33;;Stammkundin\n",
        "utf-8",
    )  # fmt: skip
    (tmp_path / "produkte.csv").write_text(
        "Produktcode;Gruppe;Produktname;Produktbeschreibung;Einkaufspreis;Verkaufspreis;Währung;Einheit;Ertragskonto;"
        "Aufwandkonto;MwSt Umsatzsteuer;MwSt Vorsteuer;Lagerbestand;Mindestbestand\n"
        "BR-1;Brot;Zopf 500 g;;2.10;5.50;CHF;Stk;3200;4200;UN26;VM26;40;10\n", "utf-8",
    )  # fmt: skip
    assert pipeline.detect(tmp_path / "kontakte.csv").format == "bexio"
    ledger = pipeline.read(tmp_path)
    assert not ledger.problems and ledger.lines.num_rows == 0
    partners = {p["id"]: p for p in ledger.partners.to_pylist()}
    assert (partners["1001"]["kind"], partners["1001"]["name"], partners["1001"]["country"],
            partners["1001"]["language"]) == ("company", "Bäckerei Rochat SA", "CH", "fr")  # fmt: skip
    ruth = partners["1002"]
    assert (ruth["kind"], ruth["name"], ruth["first_name"], ruth["last_name"], ruth["building_number"],
            ruth["address_line2"], ruth["notes"]) == ("person", "Ruth Keller", "Ruth", "Keller", "12a", "Postfach 4",
                                                      "Stammkundin")  # fmt: skip
    (item,) = ledger.items.to_pylist()
    assert (item["code"], item["purchase_price"], item["sale_price"], item["currency"], item["unit"],
            item["sale_vat_code"], item["stock"], item["stock_min"]) == ("BR-1", 210, 550, "", "Stk", "UN26", "40", "10")  # fmt: skip
