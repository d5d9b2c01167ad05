"""Winbiz reader: the address book, articles, documents and their lines, open items, and every other
table of the data folder kept whole; odd data (blank and repeated codes, no postcode, a foreign
address, a street with the number inside, a bad IBAN)."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest

from migrator.pipeline import read

ROOT = Path(__file__).resolve().parents[2]
GARAGE = ROOT / "samples" / "winbiz" / "DAT" / "garage"
sys.path.insert(0, str(ROOT / "samples" / "winbiz"))

import dbfwrite  # noqa: E402


@pytest.fixture(scope="module")
def garage():  # type: ignore[no-untyped-def]
    return read(GARAGE)


def _by(table, key):  # type: ignore[no-untyped-def]
    return {row[key]: row for row in table.to_pylist()}


def test_address_book(garage) -> None:  # type: ignore[no-untyped-def]
    partners = _by(garage.partners, "id")
    assert sorted(partners) == ["11", "C001", "C002", "C003", "C003-10", "C004", "C005", "S001", "S002", "S003",
                                "S004"]  # fmt: skip
    mueller = partners["C001"]
    assert (mueller["kind"], mueller["roles"], mueller["name"], mueller["first_name"], mueller["last_name"]) == (
        "company", "customer", "Müller Transport AG", "Hans", "Müller")  # fmt: skip
    assert (mueller["street"], mueller["building_number"], mueller["zip"], mueller["city"], mueller["country"]) == (
        "Bahnhofstrasse", "4", "3000", "Bern", "CH")  # fmt: skip
    assert mueller["language"] == "de" and mueller["iban"] == "CH9300762011623852957"
    assert mueller["vat_number"] == "CHE-105.805.080 MWST" and mueller["payment_terms"] == 30
    # "8, rue du Lac" in AD_RUE_1: the number comes first, the French way
    anna = partners["C004"]
    assert (anna["kind"], anna["name"], anna["street"], anna["building_number"], anna["address_line2"]) == (
        "person", "Anna Sarbach-Zürcher", "rue du Lac", "8", "c/o Zürcher")  # fmt: skip
    assert anna["notes"] == "Préfère être appelée le matin"
    schmidt = partners["S002"]  # the foreign supplier
    assert (schmidt["street"], schmidt["building_number"], schmidt["zip"], schmidt["city"]) == (
        "Hafenstraße", "17a", "78462", "Konstanz")  # fmt: skip
    assert (schmidt["country"], schmidt["currency"], schmidt["language"]) == ("DE", "EUR", "de")
    assert partners["S004"]["roles"] == "both" and partners["S001"]["roles"] == "supplier"
    assert partners["C005"]["zip"] == "" and partners["C005"]["language"] == "it"
    assert partners["S003"]["iban"] == "CH1234567890123456789"  # fails its check: kept, warned
    assert partners["C003-10"]["active"] is False and partners["C003-10"]["street"] == "Rue du Simplon"
    assert partners["11"]["name"] == "Luca Rossi"


def test_odd_addresses_are_warnings_naming_the_row(garage) -> None:  # type: ignore[no-untyped-def]
    warnings = {(p.row, p.message) for p in garage.problems if p.file.endswith("garage/adresses.dbf")}
    assert warnings == {
        (10, "address C003-10: its code 'C003' is used by an earlier address; kept with the derived code 'C003-10'"),
        (11, "address 11: it has no code; kept with the derived code '11'"),
        (5, "address C005 (Trasporti Bernasconi Sagl) has no postcode"),
        (8, "address S003: IBAN 'CH1234567890123456789' fails its check (ISO 13616 mod 97); kept as written, "
            "check it before paying"),
    }  # fmt: skip


def test_articles_with_their_memo(garage) -> None:  # type: ignore[no-untyped-def]
    items = _by(garage.items, "code")
    assert len(items) == 9
    tyre = items["PNEU-H"]
    assert tyre["description"] == "Pneu hiver 205/55 R16 91H\nMarque Nordika"  # from articles.fpt
    assert (tyre["sale_price"], tyre["purchase_price"], tyre["unit"], tyre["stock"], tyre["stock_min"]) == (
        25000, 20000, "pce", "12", "8")  # fmt: skip
    assert (tyre["supplier"], tyre["supplier_ref"], tyre["sale_vat_code"], tyre["purchase_vat_code"]) == (
        "S001", "PL-20555-W", "V81", "M81")  # fmt: skip
    assert (tyre["revenue_account"], tyre["expense_account"], tyre["group"]) == ("3200", "4200", "Pneus")
    assert items["HUILE"]["stock"] == "137.5" and items["FILTRE"]["supplier_ref"] == "ÖF-1127"
    assert items["CHAINE"]["active"] is False and items["MO"]["stock"] == ""
    extras = garage.extras["items"].to_pylist()
    assert {r["AR_MARQUE"] for r in extras} == {"Nordika", ""}


def test_documents_lines_and_open_items(garage) -> None:  # type: ignore[no-untyped-def]
    documents = _by(garage.documents, "id")
    assert len(documents) == 9
    weber = documents["R24-002"]
    assert (weber["type"], weber["partner"], weber["date"], weber["due_date"]) == (
        "invoice", "C002", dt.date(2024, 9, 12), dt.date(2024, 10, 12))  # fmt: skip
    assert (weber["net"], weber["vat"], weber["gross"], weber["paid"], weber["status"]) == (
        400000, 32400, 432400, 0, "open")  # fmt: skip
    assert documents["F24-202"]["type"] == "bill" and documents["F24-202"]["account"] == "2000"
    assert documents["R23-001"]["status"] == "paid" and documents["R23-001"]["paid"] == 129240
    lines = [r for r in garage.document_lines.to_pylist() if r["document"] == "R24-002"]
    assert [(r["line"], r["item"], r["quantity"], r["unit_price"], r["discount"], r["amount"]) for r in lines] == [
        (1, "MO", "24", 12500, "", 300000), (2, "BATT", "2", 40000, "12.5", 70000),
        (3, "HUILE", "15", 2000, "", 30000), (4, "", "", 0, "", 0)]  # fmt: skip
    assert lines[0]["vat_rate"] == "8.1" and lines[0]["vat_code"] == "V81" and lines[3]["vat_rate"] == ""
    # every document's lines add up to its net total: no warning
    assert not [p for p in garage.problems if "add up" in p.message]
    assert [(o["id"], o["kind"], o["partner"], o["open_amount"], o["account"]) for o in
            garage.open_items.to_pylist()] == [("R24-002", "invoice", "C002", 432400, "1100"),
                                               ("F24-202", "bill", "S001", 162150, "2000")]  # fmt: skip


def test_the_read_business_tables_are_the_garages(garage) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "samples"))
    import garage as sample

    books = sample.ledger()
    for name, key in (("partners", "id"), ("items", "code"), ("documents", "id"), ("open_items", "id")):
        assert _by(getattr(garage, name), key) == _by(getattr(books, name), key), name
    order = lambda r: (r["document"], r["line"])  # noqa: E731
    assert sorted(garage.document_lines.to_pylist(), key=order) == sorted(books.document_lines.to_pylist(), key=order)


def test_every_other_table_is_kept_whole(garage) -> None:  # type: ignore[no-untyped-def]
    assert sorted(garage.source_tables) == ["dos_info.dbf", "vehicule.dbf"]
    vehicles = garage.source_tables["vehicule.dbf"].to_pylist()
    assert len(vehicles) == 4
    assert vehicles[0] == {
        "source_row": 1, "DJ_NUMERO": "1", "DJ_ADR": "1", "DJ_TEXTE1": "Mercedes-Benz", "DJ_TEXTE2": "Actros 1845",
        "DJ_TEXTE3": "BE 123 456", "DJ_TEXTE4": "WDB9634031L123456", "DJ_TEXTE5": "OM471-884512",
        "DJ_NBRE1": "412350", "DJ_DATE1": dt.date(2017, 3, 14),
    }  # fmt: skip
    assert vehicles[3]["DJ_TEXTE1"] == "Škoda" or vehicles[3]["DJ_TEXTE1"] == "?koda"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "garage"
    shutil.copytree(GARAGE, target)
    return target


def test_an_unknown_table_of_a_year_is_kept_and_lines_that_do_not_add_up_warn(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    dbfwrite.write(folder / "2024" / "stock_mvt.dbf", [("SM_ARTICLE", "C", 20, 0), ("SM_QTE", "N", 10, 2)],
                   [{"SM_ARTICLE": "PNEU-E", "SM_QTE": "-4"}])  # fmt: skip
    detail = [{"DL_NUMERO": "R24-001", "DL_LIGNE": 1, "DL_ARTICLE": "MO", "DL_DESC": "Service", "DL_QTE": 15,
               "DL_PRIX": "125.00", "DL_MONTANT": "2027.00", "DL_TVA_MNT": "151.88"}]  # fmt: skip
    dbfwrite.write(folder / "2024" / "detail.dbf", [("DL_NUMERO", "C", 12, 0), ("DL_LIGNE", "N", 4, 0),
                   ("DL_ARTICLE", "C", 20, 0), ("DL_DESC", "C", 80, 0), ("DL_QTE", "N", 12, 3), ("DL_PRIX", "N", 15, 2),
                   ("DL_MONTANT", "N", 15, 2), ("DL_TVA_MNT", "N", 15, 2)], detail)  # fmt: skip
    ledger = read(folder)
    assert ledger.source_tables["2024/stock_mvt.dbf"].to_pylist() == [
        {"source_row": 1, "SM_ARTICLE": "PNEU-E", "SM_QTE": "-4.00"}]  # fmt: skip
    [warning] = [p for p in ledger.problems if "add up" in p.message]
    assert warning.severity == "warning"
    assert warning.message == "document R24-001: its lines add up to 1875.12, its total without VAT is 2000.00"


def test_addresses_without_codes_or_numbers(tmp_path: Path) -> None:
    path = tmp_path / "adresses.dbf"
    fields = [("AD_NUMERO", "N", 10, 0), ("AD_CODE", "C", 10, 0), ("AD_NOM", "C", 40, 0), ("AD_PRENOM", "C", 30, 0),
              ("AD_RUE_1", "C", 60, 0), ("AD_NPA", "C", 10, 0), ("AD_VILLE", "C", 40, 0), ("AD_PAYS", "C", 20, 0),
              ("AD_LANGUE", "C", 10, 0), ("AD_IBAN", "C", 34, 0)]  # fmt: skip
    rows = [
        {"AD_NUMERO": 7, "AD_CODE": "", "AD_NOM": "Keller", "AD_PRENOM": "Urs", "AD_RUE_1": "Postfach 45",
         "AD_NPA": "8021", "AD_VILLE": "Zürich", "AD_PAYS": "Schweiz", "AD_LANGUE": "D"},
        {"AD_NUMERO": None, "AD_CODE": "", "AD_NOM": "Dubois SA", "AD_PAYS": "France", "AD_LANGUE": "Klingon",
         "AD_IBAN": "FR14 2004 1010 0505 0001 3M02 606"},
        {"AD_NUMERO": 9, "AD_CODE": "7", "AD_NOM": "Rossi", "AD_PRENOM": "Luca", "AD_PAYS": "Atlantis"},
    ]  # fmt: skip
    dbfwrite.write(path, fields, rows)
    ledger = read(path)
    partners = ledger.partners.to_pylist()
    assert [p["id"] for p in partners] == ["7-2", "row2", "7"]  # '7' is the third row's own code
    assert [p["kind"] for p in partners] == ["person", "company", "person"]
    assert (partners[0]["street"], partners[0]["building_number"], partners[0]["country"]) == ("Postfach 45", "", "CH")
    assert partners[1]["country"] == "FR" and partners[1]["iban"] == "FR1420041010050500013M02606"
    assert partners[2]["country"] == "Atlantis"
    messages = {(p.row, p.message) for p in ledger.problems}
    assert (2, "address row2 (Dubois SA) has no postal address") in messages
    assert (2, "address row2: language 'Klingon' not recognised; left empty (the value stays in the extras)") \
        in messages  # fmt: skip
    assert (3, "address 7: country 'Atlantis' is not a country name or ISO code; kept as written") in messages
    assert [r["AD_LANGUE"] for r in ledger.extras["partners"].to_pylist()] == ["D", "Klingon", ""]


@pytest.mark.parametrize("route", ["csv", "xlsx"])
def test_exports_of_addresses_articles_and_documents_read_as_the_data_folder(route: str, garage) -> None:  # type: ignore[no-untyped-def]
    folder = ROOT / "samples" / "winbiz" / "exports" / route
    ledger = read(folder)
    assert ledger.format == "winbiz" and ledger.errors == []
    # the first address row, as the CSV export writes it (row 1 is the header)
    text = (ROOT / "samples" / "winbiz" / "exports" / "csv" / "adresses.csv").read_bytes().decode("cp1252")
    assert text.splitlines()[1].startswith('"1";"C001";"Müller Transport AG";"Müller";"Hans";"Bahnhofstrasse 4";')
    assert _by(ledger.partners, "id") == _by(garage.partners, "id")
    assert _by(ledger.documents, "id") == _by(garage.documents, "id")
    assert _by(ledger.open_items, "id") == _by(garage.open_items, "id")
    order = lambda r: (r["document"], r["line"])  # noqa: E731
    assert sorted(ledger.document_lines.to_pylist(), key=order) == sorted(garage.document_lines.to_pylist(), key=order)
    items, expected = _by(ledger.items, "code"), _by(garage.items, "code")
    # an export writes an empty numeric field as 0: labour has no stock in the DBF, 0 in the export
    assert (items["MO"]["stock"], items["MO"]["stock_min"]) == ("0", "0")
    expected["MO"] = {**expected["MO"], "stock": "0", "stock_min": "0"}
    assert items == expected
    assert ledger.counts()["entries"] == garage.counts()["entries"]  # the journal export beside them
    warned = sorted(p.row for p in ledger.problems if p.file.endswith(f"adresses.{route}"))
    assert warned == [6, 9, 11, 12]  # the DBF's rows 5, 8, 10, 11 one lower, under a header row


def test_an_address_export_as_visual_foxpro_xml(tmp_path: Path) -> None:
    path = tmp_path / "adresses.xml"
    path.write_bytes(
        '<?xml version="1.0" encoding="Windows-1252" standalone="yes"?>\r\n<VFPData>\r\n'
        '<c_tmpexport ad_numero="4" ad_code="K-4" ad_societe="" ad_nom="Zürcher" ad_prenom="Käthi" '
        'ad_rue_1="Seestrasse 112b" ad_npa="8800" ad_ville="Thalwil" ad_codpays="Schweiz" ad_langue="D" '
        'ab_iban="CH93 0076 2011 6238 5295 7"/>\r\n'
        "<c_tmpexport><ad_numero>5</ad_numero><ad_code>K-4</ad_code><ad_societe>Garage Zürcher AG</ad_societe>"
        "<ad_rue_1>Postfach</ad_rue_1><ad_npa></ad_npa><ad_ville>Thalwil</ad_ville></c_tmpexport>\r\n"
        "</VFPData>\r\n".encode("cp1252")
    )
    ledger = read(path)
    partners = ledger.partners.to_pylist()
    assert [(p["id"], p["kind"], p["name"], p["street"], p["building_number"], p["country"], p["language"],
             p["iban"]) for p in partners] == [
        ("K-4", "person", "Käthi Zürcher", "Seestrasse", "112b", "CH", "de", "CH9300762011623852957"),
        ("K-4-5", "company", "Garage Zürcher AG", "Postfach", "", "", "", "")]  # fmt: skip
    assert [(p.row, p.message) for p in ledger.problems if p.severity == "warning"] == [
        (4, "address K-4-5: its code 'K-4' is used by an earlier address; kept with the derived code 'K-4-5'"),
        (4, "address K-4-5 (Garage Zürcher AG) has no postcode")]  # fmt: skip
