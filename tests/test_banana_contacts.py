"""Banana: partners and items as the Contacts and Items tables, written and read back."""

from __future__ import annotations

from pathlib import Path

from conftest import golden
from odd_partners import ITEMS, PARTNERS, ledger

from migrator import pipeline
from migrator.model import table
from migrator.readers.banana import BananaReader
from migrator.readers.base import ReadOptions
from migrator.sources import Source
from migrator.writers.banana import BananaWriter, kept_partner


def written(tmp_path: Path) -> tuple[Path, list]:  # type: ignore[type-arg]
    out = tmp_path / "banana"
    out.mkdir()
    problems = BananaWriter().write(ledger(), out)
    return out, problems


def test_contacts_and_items_files(tmp_path: Path) -> None:
    out, _ = written(tmp_path)
    contacts = (out / "contacts.txt").read_text("utf-8")
    items = (out / "items.txt").read_text("utf-8")
    golden("banana/contacts.txt", contacts)
    golden("banana/items.txt", items)
    header, first, second, *_ = contacts.split("\n")
    assert header.split("\t")[:4] == ["RowId", "OrganisationName", "FirstName", "FamilyName"]
    # a company with a contact person; the line break of the note becomes a space (a tab file has no other way)
    assert first.split("\t") == [
        "1001", "Müller & Söhne AG", "Hans", "Müller", "Bahnhofstrasse 12a", "", "8001", "Zürich", "CH", "de",
        "044 123 45 67", "079 765 43 21", "", "info@mueller-soehne.example", "", "customer",
        "Zahlt spät; immer anrufen, nie faxen",
    ]  # fmt: skip
    # a person: names only; the street keeps its number; no postcode
    assert second.split("\t")[:9] == ["1002", "", "Élodie", "Favre-Bühler", "Chemin des Vignes 4", "", "", "Lutry",
                                      "CH"]  # fmt: skip
    assert items.split("\n")[1].split("\t") == ["P-100", "Ölfilter Bosch", "24.50", "pce", "14", "12.80",
                                                "Ölfilter für VW Golf; 1.4 TSI"]  # fmt: skip
    # no sale price, a fractional stock; an empty price stays empty (not 0.00)
    assert items.split("\n")[3].split("\t") == ["P-200", "Pneu hiver 205/55 R16", "", "pce", "3.5", "67.90", ""]
    readme = (out / "README.txt").read_text("utf-8")
    assert "contacts.txt has the customers and suppliers" in readme and "items.txt has the articles" in readme


def test_read_back_is_what_banana_keeps(tmp_path: Path) -> None:
    out, problems = written(tmp_path)
    back = BananaReader().read(Source(out), ReadOptions())
    expected = table("partners", [kept_partner(p) for p in table("partners", PARTNERS).to_pylist()]).to_pylist()
    assert back.partners.to_pylist() == expected
    assert len(expected) == 6 and expected[0]["building_number"] == "" and expected[0]["street"] == "Bahnhofstrasse 12a"
    assert expected[4]["kind"] == "company"  # a name without kind is an organisation name
    kept_items = [{k: i[k] for k in ("code", "name", "description", "unit", "sale_price", "purchase_price")}
                  for i in table("items", ITEMS).to_pylist()]  # fmt: skip
    assert [{k: i[k] for k in kept_items[0]} for i in back.items.to_pylist()] == kept_items
    assert back.items.column("stock").to_pylist() == ["14", "", "3.5"]
    # what the tables do not hold is declared, column by column, with the number of rows
    declared = {p.message.split(" not carried")[0] for p in problems}
    # counted by hand from odd_partners: the four with a building number, 1001's IBAN, terms…
    assert "6 partner details (kind 1, street 4, building number 4, vat number 1, iban 1, currency 1, " \
        "payment terms 2, account 3, notes 1, active 1)" in declared  # fmt: skip
    assert "3 items (sale vat code 2, purchase vat code 1, revenue account 1, expense account 1, group 1, " \
        "supplier 1, supplier ref 1, stock min 1, active 1)" in declared  # fmt: skip
    assert not any(d.endswith(" partners") for d in declared)


def test_banana_export_columns(tmp_path: Path) -> None:
    """A Contacts table as Banana's own importers write it (other columns, a country name, no RowId order)."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "contacts.txt").write_text(
        "RowId\tNamePrefix\tFirstName\tFamilyName\tOrganisationName\tStreet\tAddress2Street\tPostalCode\tLocality\t"
        "Country\tLanguage\tPhoneWork\tEmailHome\tGroupsId\n"
        "K-7\tFrau\tAnna\tBrunner\t\tIm Grund 3\tPostfach 12\t6003\tLuzern\tSchweiz\tDeutsch\t041 1\ta@b.example\t"
        "supplier\n"
        "K-8\t\t\t\tBrunner Holz AG\tSägestrasse\t\t\tEmmen\tAtlantis\tde\t\t\tVIP\n",
        encoding="utf-8",
    )
    anna, holz = BananaReader().read(Source(folder), ReadOptions()).partners.to_pylist()
    assert (anna["id"], anna["kind"], anna["name"], anna["address_line2"], anna["country"], anna["language"]) == (
        "K-7", "person", "Anna Brunner", "Postfach 12", "CH", "de")  # fmt: skip
    assert (anna["phone"], anna["email"], anna["roles"]) == ("041 1", "a@b.example", "supplier")
    assert (holz["kind"], holz["name"], holz["zip"], holz["country"], holz["roles"], holz["notes"]) == (
        "company", "Brunner Holz AG", "", "Atlantis", "", "GroupsId: VIP")  # fmt: skip
    assert pipeline.detect(folder).format == "banana"


def test_garage_contacts_verify(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "banana", out, dossier="garage")
    assert result.verified, result.verification and result.verification.differences
    assert result.reread is not None
    before = result.written.partners.to_pylist()
    assert result.reread.partners.to_pylist() == table("partners", [kept_partner(p) for p in before]).to_pylist()
    assert len(before) >= 6
