"""The Winbiz sample: the garage as a local Winbiz installation and as every export route.

``DAT/`` is a data folder with two dossiers: ``garage`` (the demo garage of ``samples/garage.py``,
dBASE III tables) and ``boulangerie`` (a small made-up bakery, Visual FoxPro tables with a memo
file). Each has ``dos_info.dbf``, ``adresses.dbf`` and one folder per fiscal year (2023, 2024) with
``plan.dbf``, ``ecriture.dbf`` and ``document.dbf``. The garage also has its articles
(``articles.dbf`` with the memo file ``articles.fpt``), its customers' vehicles (``vehicule.dbf``,
a table no canonical one holds) and the lines of its documents (``detail.dbf`` per year); its
address book has a repeated and a blank code, an address without postcode, a foreign one, a street
written "8, rue du Lac" and an IBAN that fails its check, as real files have. ``exports/`` holds the garage's journal
and chart exported as XML (attributes, child elements), Excel (.xlsx, legacy .xls) and CSV, and its
addresses, articles, documents and document lines as CSV and Excel (.xlsx).

Booked the way Winbiz books: an amount with VAT is a base row and a VAT row (``ecr_tvatyp`` −1)
sharing one entry number; several lines against one account form a compound entry with a
``Multiple`` header row; each opening balance is its own row against 9100 (opening balance sheet).
The 2023 journal holds one deleted record. ``document.dbf`` holds the garage's invoices (type 20)
and its suppliers' bills (type 44) but not the foreign-currency bill.

Run ``python samples/make_samples.py`` (needs ``xlwt`` for the .xls route, a test dependency).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dbfwrite  # noqa: E402

sys.path.insert(0, str(HERE.parent))
import garage  # noqa: E402

from migrator.model import Ledger  # noqa: E402
from migrator.money import format_cents  # noqa: E402

OPENING_ACCOUNT = ("9100", "Bilan d'ouverture")
COLUMNS = [
    # name, DBF type, length, decimals (the 37 journal columns of a Winbiz export, in order)
    ("multiple", "L", 1, 0), ("ecr_numero", "N", 10, 0), ("numéro", "N", 10, 0), ("ecr_noline", "N", 4, 0),
    ("date", "D", 8, 0), ("pièce", "C", 10, 0), ("libellé", "C", 100, 0), ("cpt_débit", "C", 12, 0),
    ("cpt_crédit", "C", 12, 0), ("montant", "N", 15, 2), ("journal", "C", 1, 0), ("ecr_monnai", "C", 3, 0),
    ("ecr_cours", "N", 12, 6), ("ecr_monmnt", "N", 15, 2), ("ecr_monqte", "N", 10, 0), ("ecr_tvatyp", "N", 2, 0),
    ("ecr_tvatx", "N", 5, 2), ("ecr_tvamnt", "N", 15, 4), ("ecr_tvabn", "N", 1, 0), ("ecr_tvadc", "C", 1, 0),
    ("ecr_tvapt", "N", 6, 2), ("ecr_tvaarr", "N", 1, 0), ("ecr_tvamod", "N", 1, 0), ("ecr_ana", "N", 10, 0),
    ("ecr_diver1", "N", 10, 0), ("ecr_verrou", "L", 1, 0), ("ecr_ref1", "C", 20, 0), ("ecr_ref2", "C", 20, 0),
    ("ecr_ref1dc", "N", 1, 0), ("ecr_ref2dc", "N", 1, 0), ("ecr_type_d", "C", 1, 0), ("ecr_type_c", "C", 1, 0),
    ("ecr_mon_op", "N", 1, 0), ("ecr_diver2", "N", 10, 0), ("ecr_vtnum", "N", 10, 0), ("ecr_vtcode", "C", 10, 0),
    ("ecr_ext", "N", 1, 0),
]  # fmt: skip
CHART_FIELDS = [("CLASSE", "N", 1, 0), ("NUMERO", "C", 12, 0), ("COMPTE", "C", 60, 0), ("PL_BUDGET", "N", 15, 2)]
ADDRESS_FIELDS = [("AD_NUMERO", "N", 10, 0), ("AD_CODE", "C", 10, 0), ("AD_SOCIETE", "C", 60, 0),
                  ("AD_NOM", "C", 40, 0), ("AD_PRENOM", "C", 30, 0), ("AD_RUE_1", "C", 60, 0), ("AD_RUE_2", "C", 60, 0),
                  ("AD_NPA", "C", 10, 0), ("AD_VILLE", "C", 40, 0), ("AD_PAYS", "C", 3, 0), ("AD_LANGUE", "C", 1, 0),
                  ("AD_EMAIL", "C", 60, 0), ("AD_TEL1", "C", 20, 0), ("AD_TEL3", "C", 20, 0), ("AD_TVA", "C", 30, 0),
                  ("AD_IBAN", "C", 34, 0), ("AD_MONNAIE", "C", 3, 0), ("AD_DELAI", "N", 4, 0),
                  ("AD_COMPTE", "C", 12, 0), ("AD_CLIENT", "L", 1, 0), ("AD_FOURNIS", "L", 1, 0),
                  ("AD_INACTIF", "L", 1, 0), ("AD_REMARQ", "C", 80, 0), ("AD_TITRE2", "C", 20, 0)]  # fmt: skip
DOCUMENT_FIELDS = [("DO_NUMERO", "C", 12, 0), ("DO_TYPE", "N", 2, 0), ("DO_DATE1", "D", 8, 0), ("DO_DATE2", "D", 8, 0),
                   ("DO_ADR1", "N", 10, 0), ("DO_ADR2", "N", 10, 0), ("DO_ADR3", "N", 10, 0), ("DO_MNTHT", "N", 15, 2),
                   ("DO_TVA", "N", 15, 2), ("DO_TOTAL", "N", 15, 2), ("DO_PAYE", "N", 15, 2), ("DO_ECHEANC", "D", 8, 0),
                   ("DO_COMPTE", "C", 12, 0), ("DO_TITRE", "C", 60, 0)]  # fmt: skip
LINE_FIELDS = [("DL_NUMERO", "C", 12, 0), ("DL_LIGNE", "N", 4, 0), ("DL_ARTICLE", "C", 20, 0), ("DL_DESC", "C", 80, 0),
               ("DL_QTE", "N", 12, 3), ("DL_UNITE", "C", 10, 0), ("DL_PRIX", "N", 15, 2), ("DL_RABAIS", "N", 6, 2),
               ("DL_TVA_TX", "N", 5, 2), ("DL_TVA_CO", "C", 10, 0), ("DL_MONTANT", "N", 15, 2),
               ("DL_TVA_MNT", "N", 15, 2), ("DL_COMPTE", "C", 12, 0)]  # fmt: skip
ARTICLE_FIELDS = [("AR_NUMERO", "N", 10, 0), ("AR_CODE", "C", 20, 0), ("AR_ABREGE", "C", 40, 0), ("AR_DESC", "M", 4, 0),
                  ("AR_UNIT", "C", 10, 0), ("AR_GROUPE", "C", 20, 0), ("PRIXVNT", "N", 12, 2), ("PRIXACH", "N", 12, 2),
                  ("AR_TVAV", "C", 10, 0), ("AR_TVAA", "C", 10, 0), ("AR_CPTV", "C", 12, 0), ("AR_CPTA", "C", 12, 0),
                  ("AR_FOURN", "N", 10, 0), ("AR_FN_REF", "C", 20, 0), ("AR_STOCK", "N", 12, 3),
                  ("AR_STOCKMI", "N", 12, 3), ("AR_QTEINI", "N", 12, 3), ("AR_MARQUE", "C", 20, 0),
                  ("AR_INACTIF", "L", 1, 0)]  # fmt: skip
VEHICLE_FIELDS = [("DJ_NUMERO", "N", 10, 0), ("DJ_ADR", "N", 10, 0), ("DJ_TEXTE1", "C", 30, 0),
                  ("DJ_TEXTE2", "C", 30, 0), ("DJ_TEXTE3", "C", 20, 0), ("DJ_TEXTE4", "C", 20, 0),
                  ("DJ_TEXTE5", "C", 20, 0), ("DJ_NBRE1", "N", 10, 0), ("DJ_DATE1", "D", 8, 0)]  # fmt: skip
"""Garage vehicle fields (FORMATS.md: dj_texte, dj_nbre, dj_date); which field holds what, and the
table's file name, are not documented: make, model, plate, chassis and engine number, mileage, first
registration here."""
WINBIZ_TYPES = {"invoice": 20, "credit_note": 22, "bill": 44, "bill_credit_note": 47}
LANGUAGES = {"fr": "F", "de": "D", "it": "I", "en": "E"}
TYPE_CLASSES = {"asset": 1, "liability": 2, "equity": 2, "expense": 3, "income": 4}
DIGIT_CLASSES = {"1": 1, "2": 2, "3": 4, "4": 3, "5": 3, "6": 3, "9": 6}
VAT_TYPES = {"sales": 2, "input_material": 3, "input_investment": 3}


def generate(ledger: Ledger, folder: Path) -> None:
    for name in ("DAT", "exports"):
        shutil.rmtree(folder / name, ignore_errors=True)
    garage = _books(ledger)
    _dossier(folder / "DAT" / "garage", "GARAGE", ledger.company.name, garage, foxpro=False)
    _dossier(folder / "DAT" / "boulangerie", "BOULANG", BAKERY_NAME, _bakery(), foxpro=True)
    _exports(folder / "exports", garage)
    _business_exports(folder / "exports", garage)


# ------------------------------------------------------------------------------- books as Winbiz rows


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name, *_ in COLUMNS}
    row.update(multiple=False, ecr_monnai="", ecr_cours=Decimal(0), ecr_monmnt=Decimal(0), ecr_monqte=0,
               ecr_tvatyp=1, ecr_tvatx=Decimal(0), ecr_tvamnt=Decimal(0), ecr_tvabn=0, ecr_tvadc="",
               ecr_tvapt=Decimal(0), ecr_tvaarr=1, ecr_tvamod=0, ecr_ana=0, ecr_diver1=0, ecr_verrou=False,
               ecr_ref1="", ecr_ref2="", ecr_ref1dc=0, ecr_ref2dc=0, ecr_type_d="", ecr_type_c="", ecr_mon_op=0,
               ecr_diver2=0, ecr_vtnum=0, ecr_vtcode="", ecr_ext=0)  # fmt: skip
    row.update(values)
    return row


def _money(cents: int) -> Decimal:
    return Decimal(format_cents(abs(cents)))


def _entry_rows(lines: list[dict[str, Any]], rates: dict[str, tuple[str, str]]) -> list[list[dict[str, Any]]]:
    """The Winbiz rows of one canonical entry, as groups of rows that share one entry number."""
    first = lines[0]
    base = {"date": first["date"], "pièce": first["doc"], "journal": first["journal"].lower()}
    if first["opening"]:
        return [[_row(**base, libellé=first["description"], montant=_money(line["amount"]),
                      **({"cpt_débit": line["account"], "cpt_crédit": OPENING_ACCOUNT[0]} if line["amount"] > 0 else
                         {"cpt_débit": OPENING_ACCOUNT[0], "cpt_crédit": line["account"]}))]
                for line in lines]  # fmt: skip
    debits = [line for line in lines if line["amount"] > 0]
    credits = [line for line in lines if line["amount"] < 0]
    common, others = (debits[0], credits) if len(debits) == 1 else (credits[0], debits)
    assert len(debits) == 1 or len(credits) == 1, "the sample books only 1:n entries"
    on_debit = common["amount"] > 0
    compound = len([o for o in others if not o.get("vat_line")]) >= 2
    rows = []
    if compound:
        rows.append(_row(**base, multiple=True, libellé=first["description"], montant=Decimal(0), ecr_tvatyp=0,
                         **({"cpt_débit": common["account"], "cpt_crédit": "Multiple"} if on_debit else
                            {"cpt_débit": "Multiple", "cpt_crédit": common["account"]})))  # fmt: skip
    for other in others:
        accounts = ({"cpt_débit": common["account"], "cpt_crédit": other["account"]} if on_debit else
                    {"cpt_débit": other["account"], "cpt_crédit": common["account"]})  # fmt: skip
        vat: dict[str, Any] = {}
        if other.get("vat_line"):
            vat = {"ecr_tvatyp": -1}
        elif other.get("vat_code"):
            kind, rate = rates[other["vat_code"]]
            vat = {"ecr_tvatyp": VAT_TYPES[kind], "ecr_tvatx": Decimal(rate), "ecr_tvamnt": _money(other["vat_amount"]),
                   "ecr_tvabn": 1, "ecr_tvadc": "d" if other["amount"] > 0 else "c", "ecr_tvapt": Decimal(100)}  # fmt: skip
        foreign = {}
        if other.get("currency"):
            foreign = {"ecr_monnai": other["currency"], "ecr_cours": Decimal(other["rate"]),
                       "ecr_monmnt": _money(other["amount_currency"])}  # fmt: skip
        text = other["description"] if not other.get("vat_line") else f"TVA {other['description']}"
        rows.append(_row(**base, multiple=compound, libellé=text, montant=_money(other["amount"]), **accounts, **vat,
                         **foreign))  # fmt: skip
    return [rows]


def _books(ledger: Ledger) -> dict[str, Any]:
    """The garage as Winbiz tables: per year the journal (groups of rows per entry) and the documents."""
    rates = {c["code"]: (c["kind"], c["rate"]) for c in ledger.vat_codes.to_pylist()}
    entries: dict[str, list[dict[str, Any]]] = {}
    for line in ledger.lines.to_pylist():
        entries.setdefault(line["entry"], []).append(line)
    years: dict[int, list[list[dict[str, Any]]]] = {}
    for lines in entries.values():
        years.setdefault(lines[0]["date"].year, []).extend(_entry_rows(lines, rates))
    numbers = {p["id"]: n for n, p in enumerate(ledger.partners.to_pylist(), start=1)}
    payments = {}
    for lines in entries.values():
        if lines[0]["journal"] == "B":
            for doc in ledger.documents.column("id").to_pylist():
                if doc in lines[0]["description"]:
                    payments[doc] = lines[0]["date"]
    by_document: dict[str, list[dict[str, Any]]] = {}
    for row in ledger.document_lines.to_pylist():
        by_document.setdefault(row["document"], []).append(row)
    invoices: dict[int, list[dict[str, Any]]] = {}
    detail: dict[int, list[dict[str, Any]]] = {}
    for doc in ledger.documents.to_pylist():
        year = doc["date"].year
        paid = None
        if doc["status"] == "paid":  # paid by a payment entry, or settled outside these two years
            paid = payments.get(doc["id"], doc["date"] + dt.timedelta(days=40))
        invoices.setdefault(year, []).append({
            "DO_NUMERO": doc["id"], "DO_TYPE": WINBIZ_TYPES[doc["type"]], "DO_DATE1": doc["date"], "DO_DATE2": paid,
            "DO_ADR1": numbers[doc["partner"]], "DO_ADR2": 0, "DO_ADR3": 0, "DO_MNTHT": _money(doc["net"]),
            "DO_TVA": _money(doc["vat"]), "DO_TOTAL": _money(doc["gross"]), "DO_PAYE": _money(doc["paid"]),
            "DO_ECHEANC": doc["due_date"], "DO_COMPTE": doc["account"], "DO_TITRE": doc["title"],
        })  # fmt: skip
        for line in by_document.get(doc["id"], []):
            rate = Decimal(line["vat_rate"] or 0)
            net = Decimal(format_cents(line["amount"]))
            vat = (net * rate / 100).quantize(Decimal("0.01"))
            detail.setdefault(year, []).append({
                "DL_NUMERO": doc["id"], "DL_LIGNE": line["line"], "DL_ARTICLE": line["item"],
                "DL_DESC": line["description"], "DL_QTE": Decimal(line["quantity"] or 0), "DL_UNITE": line["unit"],
                "DL_PRIX": _money(line["unit_price"]), "DL_RABAIS": Decimal(line["discount"] or 0), "DL_TVA_TX": rate,
                "DL_TVA_CO": line["vat_code"], "DL_MONTANT": net + vat, "DL_TVA_MNT": vat, "DL_COMPTE": line["account"],
            })  # fmt: skip
    addresses = [_address(p, numbers[p["id"]], ledger) for p in ledger.partners.to_pylist()]
    articles = [_article(item, number, numbers) for number, item in enumerate(ledger.items.to_pylist(), start=1)]
    vehicles = [{"DJ_NUMERO": n, "DJ_ADR": numbers[v["owner"]], "DJ_TEXTE1": v["make"], "DJ_TEXTE2": v["model"],
                 "DJ_TEXTE3": v["plate"], "DJ_TEXTE4": v["chassis"], "DJ_TEXTE5": v["engine"],
                 "DJ_NBRE1": v["mileage"], "DJ_DATE1": v["first"]} for n, v in enumerate(garage.VEHICLES, start=1)]  # fmt: skip
    chart = [(DIGIT_CLASSES[g["code"][0]], g["code"], g["name"]) for g in ledger.groups.to_pylist()]
    chart += [(TYPE_CLASSES[a["type"]], a["code"], a["name"]) for a in ledger.accounts.to_pylist()]
    chart += [(6, "9", "Clôture"), (6, "910", "Bilans"), (6, *OPENING_ACCOUNT)]
    return {"years": years, "chart": sorted(chart, key=lambda c: c[1]), "addresses": addresses,
            "documents": invoices, "detail": detail, "articles": articles, "vehicles": vehicles}  # fmt: skip


def _address(partner: dict[str, Any], number: int, ledger: Ledger) -> dict[str, Any]:
    """An address row as Winbiz keeps it: one street line (number inside: after the street, or before it
    in the French way for one customer), one-letter language, company or person names."""
    street = " ".join(p for p in (partner["street"], partner["building_number"]) if p)
    if partner["id"] == "C004":
        street = f"{partner['building_number']}, {partner['street']}"
    company = partner["name"] if partner["kind"] == "company" else ""
    roles = partner["roles"]
    return {
        "AD_NUMERO": number, "AD_CODE": garage.WINBIZ_CODES.get(partner["id"], partner["id"]), "AD_SOCIETE": company,
        "AD_NOM": partner["last_name"], "AD_PRENOM": partner["first_name"], "AD_RUE_1": street,
        "AD_RUE_2": partner["address_line2"], "AD_NPA": partner["zip"], "AD_VILLE": partner["city"],
        "AD_PAYS": partner["country"], "AD_LANGUE": LANGUAGES.get(partner["language"], ""),
        "AD_EMAIL": partner["email"], "AD_TEL1": partner["phone"], "AD_TEL3": partner["mobile"],
        "AD_TVA": partner["vat_number"], "AD_IBAN": partner["iban"], "AD_MONNAIE": partner["currency"],
        "AD_DELAI": partner["payment_terms"], "AD_COMPTE": partner["account"],
        "AD_CLIENT": roles in ("customer", "both"), "AD_FOURNIS": roles in ("supplier", "both"),
        "AD_INACTIF": not partner["active"], "AD_REMARQ": partner["notes"],
        "AD_TITRE2": "Madame" if partner["first_name"] == "Anna" else ("Monsieur" if partner["kind"] == "person" else ""),
    }  # fmt: skip


def _article(item: dict[str, Any], number: int, numbers: dict[str, int]) -> dict[str, Any]:
    def quantity(text: str) -> Decimal | None:
        return Decimal(text) if text else None

    return {
        "AR_NUMERO": number, "AR_CODE": item["code"], "AR_ABREGE": item["name"], "AR_DESC": item["description"],
        "AR_UNIT": item["unit"], "AR_GROUPE": item["group"], "PRIXVNT": _money(item["sale_price"]),
        "PRIXACH": _money(item["purchase_price"]), "AR_TVAV": item["sale_vat_code"],
        "AR_TVAA": item["purchase_vat_code"], "AR_CPTV": item["revenue_account"], "AR_CPTA": item["expense_account"],
        "AR_FOURN": numbers.get(item["supplier"], 0), "AR_FN_REF": item["supplier_ref"],
        "AR_STOCK": quantity(item["stock"]), "AR_STOCKMI": quantity(item["stock_min"]),
        "AR_QTEINI": quantity(item["stock"]), "AR_MARQUE": "Nordika" if item["code"] == "PNEU-H" else "",
        "AR_INACTIF": not item["active"],
    }  # fmt: skip


def _numbered(groups: Iterable[list[dict[str, Any]]], start: int = 1) -> list[dict[str, Any]]:
    """Rows with entry numbers (numéro), record ids (ecr_numero) and line numbers (ecr_noline)."""
    out = []
    for number, rows in enumerate(groups, start=start):
        for line, row in enumerate(rows, start=1):
            out.append({**row, "numéro": number, "ecr_numero": 1000 + len(out), "ecr_noline": line})
    return out


# --------------------------------------------------------------------------------------- DAT folder


def _dossier(folder: Path, code: str, name: str, books: dict[str, Any], foxpro: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    dbfwrite.write(folder / "dos_info.dbf", [("DOS_NUMERO", "C", 9, 0), ("DOS_NOM", "C", 100, 0),
                                             ("DOS_MONNAI", "C", 3, 0)],
                   [{"DOS_NUMERO": code, "DOS_NOM": name, "DOS_MONNAI": "CHF"}], foxpro=foxpro)  # fmt: skip
    journal_fields = [(n.upper(), t, length, d) for n, t, length, d in COLUMNS]
    chart_fields = CHART_FIELDS + ([("REMARQUE", "M", 4, 0)] if foxpro else [])
    for year, groups in sorted(books["years"].items()):
        target = folder / str(year)
        target.mkdir(exist_ok=True)
        rows = [{k.upper(): v for k, v in row.items()} for row in _numbered(groups)]
        deleted = []
        if year == 2023:  # a booking entered by mistake and deleted in Winbiz
            rows.insert(3, {k.upper(): v for k, v in _row(date=dt.date(2023, 3, 1), **{
                "numéro": 99, "pièce": "ERR", "libellé": "Saisie erronée (supprimée)", "cpt_débit": "1000",
                "cpt_crédit": "3200", "montant": Decimal("999.00"), "journal": "d"}).items()})  # fmt: skip
            deleted = [3]
        dbfwrite.write(target / "ecriture.dbf", journal_fields, rows, foxpro=foxpro, deleted=deleted)
        chart = [{"CLASSE": k, "NUMERO": c, "COMPTE": n, "PL_BUDGET": None,
                  "REMARQUE": "Compte de résultat principal\r\nvoir budget" if c == "3000" else ""}
                 for k, c, n in books["chart"]]  # fmt: skip
        dbfwrite.write(target / "plan.dbf", chart_fields, chart, foxpro=foxpro)
        dbfwrite.write(target / "document.dbf", DOCUMENT_FIELDS, books["documents"].get(year, []), foxpro=foxpro)
        if books.get("detail") is not None:
            dbfwrite.write(target / "detail.dbf", LINE_FIELDS, books["detail"].get(year, []), foxpro=foxpro)
    # the address book, the articles and the vehicles belong to the dossier, not to a year
    dbfwrite.write(folder / "adresses.dbf", ADDRESS_FIELDS, books["addresses"], foxpro=foxpro)
    if books.get("articles") is not None:  # Visual FoxPro table with its memo file, whatever the dossier
        dbfwrite.write(folder / "articles.dbf", ARTICLE_FIELDS, books["articles"], foxpro=True)
    if books.get("vehicles") is not None:
        dbfwrite.write(folder / "vehicule.dbf", VEHICLE_FIELDS, books["vehicles"], foxpro=foxpro)


# ------------------------------------------------------------------------------------------ exports


def _export_value(value: Any, name: str, route: str) -> Any:
    """A journal value as the route writes it (text for XML and CSV, typed cells for Excel)."""
    kind, decimals = next((t, d) for n, t, _, d in COLUMNS if n == name)
    if route in ("xlsx", "xls"):
        if kind == "L":
            return bool(value) if route == "xlsx" else int(bool(value))
        if kind == "N":
            return float(value or 0)  # float-ok: Excel cells hold floats; the reader brings them back exact
        if kind == "D":
            return value
        return value or ""
    if kind == "L":
        return ("true" if value else "false") if route.startswith("xml") else ("1" if value else "0")
    if kind == "N":
        return f"{Decimal(value or 0):.{decimals}f}"
    if kind == "D":
        return value.isoformat() if route.startswith("xml") else value.strftime("%d.%m.%Y")
    if name == "ecr_monnai" and not value:
        return "0"
    return value or ""


def _exports(folder: Path, books: dict[str, Any]) -> None:
    groups = [group for _, year in sorted(books["years"].items()) for group in year]
    journal = _numbered(groups)
    names = [n for n, *_ in COLUMNS]
    chart_names = ["no_class", "numero", "libelle"]
    for route in ("xml-attributes", "xml-elements", "xlsx", "xls", "csv"):
        target = folder / route
        target.mkdir(parents=True, exist_ok=True)
        rows = [[_export_value(row[n], n, route) for n in names] for row in journal]
        chart = [[k, c, n] for k, c, n in books["chart"]]
        if route.startswith("xml"):
            _xml(target / "ecritures.xml", names, rows, route == "xml-attributes")
            _xml(target / "plan.xml", chart_names, [[str(v) for v in r] for r in chart], route == "xml-attributes")
        elif route == "xlsx":
            _xlsx(target / "ecritures.xlsx", names, rows)
            _xlsx(target / "plan.xlsx", chart_names, chart)
        elif route == "xls":
            _xls(target / "ecritures.xls", names, rows)
            _xls(target / "plan.xls", chart_names, chart)
        else:
            _csv(target / "ecritures.csv", names, rows)
            _csv(target / "plan.csv", chart_names, chart)


def _business_value(value: Any, kind: str, decimals: int, route: str) -> Any:
    """An address, article or document value as the CSV or Excel export writes it."""
    if route == "xlsx":
        if kind == "N":
            return float(value or 0)  # float-ok: Excel cells hold floats; the reader brings them back exact
        if kind == "L":
            return bool(value)
        return value if kind == "D" else (value or "")
    if kind == "N":
        return f"{Decimal(value or 0):.{decimals}f}"
    if kind == "D":
        return value.strftime("%d.%m.%Y") if value else ""
    if kind == "L":
        return "1" if value else "0"
    return value or ""


def _business_exports(folder: Path, books: dict[str, Any]) -> None:
    """The address book, articles, documents and document lines exported as CSV and Excel (``ad_*``,
    ``ar_*``, ``do_*``, ``dl_*`` columns, as public importers of Winbiz exports read them)."""
    tables = (("adresses", ADDRESS_FIELDS, books["addresses"]), ("articles", ARTICLE_FIELDS, books["articles"]),
              ("documents", DOCUMENT_FIELDS, [d for _, year in sorted(books["documents"].items()) for d in year]),
              ("detail", LINE_FIELDS, [d for _, year in sorted(books["detail"].items()) for d in year]))  # fmt: skip
    for route in ("csv", "xlsx"):
        for name, fields, rows in tables:
            names = [n.lower() for n, *_ in fields]
            values = [[_business_value(row.get(n), t, d, route) for n, t, _, d in fields] for row in rows]
            if route == "csv":
                _csv(folder / route / f"{name}.csv", names, values)
            else:
                _xlsx(folder / route / f"{name}.xlsx", names, values)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _xml(path: Path, names: list[str], rows: list[list[Any]], attributes: bool) -> None:
    out = ['<?xml version="1.0" encoding="Windows-1252" standalone="yes"?>', "<VFPData>"]
    for row in rows:
        if attributes:
            fields = " ".join(f'{n}="{_escape(str(v))}"' for n, v in zip(names, row, strict=True))
            out.append(f"    <c_tmpexport {fields}/>")
        else:
            out.append("    <c_tmpexport>")
            out += [f"        <{n}>{_escape(str(v))}</{n}>" for n, v in zip(names, row, strict=True)]
            out.append("    </c_tmpexport>")
    out.append("</VFPData>")
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("cp1252"))


def _xlsx(path: Path, names: list[str], rows: list[list[Any]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(names)
    for row in rows:
        sheet.append(row)
    book.save(path)


def _xls(path: Path, names: list[str], rows: list[list[Any]]) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="cp1252")
    sheet = book.add_sheet("export")
    dates = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    for c, name in enumerate(names):
        sheet.write(0, c, name)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, dates)
            else:
                sheet.write(r, c, value)
    book.save(str(path))


def _csv(path: Path, names: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows([[str(v) for v in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode("cp1252"))


# ------------------------------------------------------------------------------- the second dossier

BAKERY_NAME = "Boulangerie Rochat SA"


def _bakery() -> dict[str, Any]:
    """A small made-up bakery: reduced-rate sales entered VAT included, flour bought with VAT, rent."""

    def sale(day: dt.date, doc: str, gross: str, rate: str, vat: str) -> list[dict[str, Any]]:
        net = Decimal(gross) - Decimal(vat)
        base = {"date": day, "pièce": doc, "journal": "v"}
        return [_row(**base, libellé="Ventes du jour", **{"cpt_débit": "1000", "cpt_crédit": "3000"}, montant=net,
                     ecr_tvatyp=2, ecr_tvatx=Decimal(rate), ecr_tvamnt=Decimal(vat), ecr_tvabn=2, ecr_tvadc="c"),
                _row(**base, libellé="TVA Ventes du jour", **{"cpt_débit": "1000", "cpt_crédit": "2200"},
                     montant=Decimal(vat), ecr_tvatyp=-1)]  # fmt: skip

    def flour(day: dt.date, doc: str, net: str, rate: str, vat: str) -> list[dict[str, Any]]:
        base = {"date": day, "pièce": doc, "journal": "a"}
        return [_row(**base, libellé="Farine Moulin de Granges", **{"cpt_débit": "4000", "cpt_crédit": "2000"},
                     montant=Decimal(net), ecr_tvatyp=3, ecr_tvatx=Decimal(rate), ecr_tvamnt=Decimal(vat),
                     ecr_tvabn=1, ecr_tvadc="d"),
                _row(**base, libellé="TVA Farine Moulin de Granges", **{"cpt_débit": "1170", "cpt_crédit": "2000"},
                     montant=Decimal(vat), ecr_tvatyp=-1)]  # fmt: skip

    def plain(day: dt.date, doc: str, text: str, debit: str, credit: str, amount: str, journal: str = "d"):  # type: ignore[no-untyped-def]
        return [_row(date=day, pièce=doc, libellé=text, journal=journal, montant=Decimal(amount),
                     **{"cpt_débit": debit, "cpt_crédit": credit})]  # fmt: skip

    years = {
        2023: [
            plain(dt.date(2023, 1, 1), "OUV", "Solde initial caisse", "1000", "9100", "800.00", "o"),
            plain(dt.date(2023, 1, 1), "OUV", "Solde initial banque", "1020", "9100", "15200.00", "o"),
            plain(dt.date(2023, 1, 1), "OUV", "Capital-actions", "9100", "2800", "16000.00", "o"),
            sale(dt.date(2023, 3, 31), "V23-03", "4100.00", "2.5", "100.00"),
            flour(dt.date(2023, 4, 5), "A23-11", "1200.00", "2.5", "30.00"),
            plain(dt.date(2023, 5, 1), "L23-05", "Loyer boulangerie mai", "6000", "1020", "2400.00"),
        ],
        2024: [
            plain(dt.date(2024, 1, 1), "OUV", "Solde initial caisse", "1000", "9100", "4900.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "Solde initial banque", "1020", "9100", "12800.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "Fournisseurs", "9100", "2000", "1230.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "Impôt préalable", "1170", "9100", "30.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "TVA due", "9100", "2200", "100.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "Capital-actions", "9100", "2800", "16000.00", "o"),
            plain(dt.date(2024, 1, 1), "OUV", "Bénéfice reporté", "9100", "2970", "400.00", "o"),
            sale(dt.date(2024, 3, 31), "V24-03", "5130.00", "2.6", "130.00"),
            flour(dt.date(2024, 4, 8), "A24-09", "1500.00", "2.6", "39.00"),
        ],
    }
    chart = [(1, "1", "Actifs"), (1, "1000", "Caisse"), (1, "1020", "Banque"), (1, "1170", "Impôt préalable"),
             (2, "2", "Passifs"), (2, "2000", "Fournisseurs"), (2, "2200", "TVA due"), (2, "2800", "Capital-actions"),
             (2, "2970", "Bénéfice reporté"), (4, "3", "Produits"), (4, "3000", "Ventes de pain"),
             (3, "4", "Charges"), (3, "4000", "Achats de farine"), (3, "6000", "Loyer"), (6, "9", "Clôture"),
             (6, *OPENING_ACCOUNT)]  # fmt: skip
    address = {"AD_NUMERO": 1, "AD_CODE": "F01", "AD_SOCIETE": "Moulin de Granges SA", "AD_RUE_1": "Route du Moulin 2",
               "AD_NPA": "1614", "AD_VILLE": "Granges", "AD_PAYS": "CH", "AD_LANGUE": "F", "AD_DELAI": 30,
               "AD_COMPTE": "2000"}  # fmt: skip
    return {"years": years, "chart": chart, "addresses": [address], "documents": {}}
