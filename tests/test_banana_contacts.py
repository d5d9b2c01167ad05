"""Banana: partners and items as the Contacts and Items tables, written and read back."""

from __future__ import annotations

from pathlib import Path

from conftest import golden
from odd_partners import ITEMS, PARTNERS, ledger

from migrator import pipeline
from migrator.model import table
from migrator.readers.banana import BananaReader
from migrator.readers.base import ReadOptions
from migrator.reconcile import compare
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
    read = BananaReader().read(Source(folder), ReadOptions())
    anna, holz = read.partners.to_pylist()
    # the columns no partner field takes are kept with their row
    kept = read.extras["contacts"].to_pylist()
    assert [(k["source_row"], k["NamePrefix"]) for k in kept] == [(2, "Frau")]
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


def test_customers_and_suppliers_register(tmp_path: Path) -> None:
    """The writer option: partners as accounts of a customers (01) and a suppliers (02) register."""
    chart = [{"code": "1100", "name": "Débiteurs", "type": "asset", "parent": "110"},
             {"code": "2000", "name": "Créanciers", "type": "liability", "parent": "200"},
             {"code": "2001", "name": "Autres dettes", "type": "liability", "parent": "200"}]  # fmt: skip
    groups = [{"code": "110", "name": "Créances"}, {"code": "200", "name": "Dettes"}]
    books = ledger().replace(accounts=table("accounts", chart), groups=table("groups", groups))
    out = tmp_path / "banana"
    out.mkdir()
    problems = BananaWriter(partner_accounts=True).write(books, out)
    assert not (out / "contacts.txt").exists()
    header, *rows = (out / "accounts.txt").read_text("utf-8").rstrip("\n").split("\n")
    columns = header.split("\t")
    cells = [dict(zip(columns, row.split("\t"), strict=True)) for row in rows]
    shown = [(c["Section"], c["Group"], c["Account"], c["Description"], c["BClass"], c["Gr"]) for c in cells]
    assert shown == [
        ("", "", "1100", "Débiteurs", "1", "110"),
        ("", "110", "", "Créances", "", ""),
        ("", "", "2000", "Créanciers", "2", "200"),
        ("", "", "2001", "Autres dettes", "2", "200"),
        ("", "200", "", "Dettes", "", ""),
        ("01", "", "", "Customers register", "", ""),
        ("", "", "1001", "Müller & Söhne AG", "1", "DEB"),
        ("", "", "1002", "Élodie Favre-Bühler", "1", "DEB"),
        ("", "", "2002", 'Garage "Zum Löwen" GmbH', "1", "DEB"),
        ("", "DEB", "", "Customers", "", "110"),  # beside the receivable account 1100 (the one they name)
        ("02", "", "", "Suppliers register", "", ""),
        ("", "CRE", "", "Suppliers", "", "200"),  # 2001 is taken by an account: that supplier is left out
    ]  # fmt: skip
    muller = cells[6]
    assert (muller["OrganisationName"], muller["Street"], muller["BankIban"], muller["PaymentTermInDays"]) == (
        "Müller & Söhne AG", "Bahnhofstrasse 12a", "CH9300762011623852957", "30")  # fmt: skip
    back = BananaReader().read(Source(out), ReadOptions())
    assert back.accounts.column("code").to_pylist() == ["1100", "2000", "2001"]  # the register is no chart
    assert [(p["id"], p["roles"], p["account"], p["iban"], p["payment_terms"]) for p in back.partners.to_pylist()] == [
        ("1001", "customer", "1001", "CH9300762011623852957", 30), ("1002", "customer", "1002", "", None),
        ("2002", "customer", "2002", "", None)]  # fmt: skip
    declared = {p.message.split(" not carried")[0] for p in problems}
    # the blank code, 2001 (an account's code) and the second 2002 have no account of their own
    assert "3 partners" in declared
    # placed: 1001 (number inside Street, VAT number, a note's line break), 1002 (no account before), 2002 (both roles)
    assert "3 partner details (roles 1, street 2, building number 2, vat number 1, account 3, notes 1)" in declared
    readme = (out / "README.txt").read_text("utf-8")
    assert "customers register (section 01" in readme
    check = compare(books, back, ("accounts", "vat_codes", "entries"), declared=problems, target="banana")
    assert check.ok, check.differences
