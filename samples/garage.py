"""The demo company: Garage du Lac Sàrl, a made-up garage in Vevey, two years of books.

Customers and parts suppliers, VAT at both rate periods (7.7 % in 2023, 8.1 % in 2024), opening
entries, compound entries, a foreign-currency bill, a cost centre, open invoices and bills.
Every vendor sample in `samples/` is generated from this one ledger, so that every route of every
reader must read to the same books. Run ``python samples/make_samples.py`` to regenerate them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from migrator.model import Company, FiscalYear, Ledger, table
from migrator.money import to_cents

NAME = "Garage du Lac Sàrl"

ACCOUNTS = [
    # code, name, type, parent group, vat code
    ("1000", "Caisse", "asset", "100", ""),
    ("1020", "Banque Raiffeisen", "asset", "100", ""),
    ("1100", "Débiteurs clients", "asset", "110", ""),
    ("1170", "Impôt préalable matériel et services", "asset", "110", ""),
    ("1171", "Impôt préalable investissements", "asset", "110", ""),
    ("1200", "Stock de pièces détachées", "asset", "120", ""),
    ("1500", "Machines et outillage", "asset", "150", ""),
    ("2000", "Créanciers fournisseurs", "liability", "200", ""),
    ("2200", "TVA due", "liability", "220", ""),
    ("2270", "Assurances sociales", "liability", "220", ""),
    ("2800", "Capital social", "equity", "280", ""),
    ("2970", "Bénéfice reporté", "equity", "290", ""),
    ("3200", "Ventes de pièces", "income", "320", "V81"),
    ("3400", "Prestations d'atelier", "income", "340", "V81"),
    ("4200", "Achats de pièces", "expense", "420", "M81"),
    ("5000", "Salaires", "expense", "500", ""),
    ("6000", "Loyer atelier", "expense", "600", ""),
    ("6800", "Amortissements", "expense", "680", ""),
    ("6900", "Frais bancaires", "expense", "690", ""),
]
GROUPS = [
    ("1", "Actifs", ""), ("100", "Liquidités", "1"), ("110", "Créances", "1"), ("120", "Stocks", "1"),
    ("150", "Immobilisations", "1"), ("2", "Passifs", ""), ("200", "Dettes à court terme", "2"),
    ("220", "Autres dettes", "2"), ("280", "Capital propre", "2"), ("290", "Réserves", "2"),
    ("3", "Produits", ""), ("320", "Ventes", "3"), ("340", "Prestations", "3"), ("4", "Charges de matériel", ""),
    ("420", "Achats", "4"), ("5", "Charges de personnel", ""), ("500", "Salaires", "5"),
    ("6", "Autres charges", ""), ("600", "Locaux", "6"), ("680", "Amortissements", "6"),
    ("690", "Frais financiers", "6"),
]  # fmt: skip
VAT_CODES = [
    # code, rate, kind, account, valid from, valid to, VAT form box, description
    ("V77", "7.7", "sales", "2200", dt.date(2018, 1, 1), dt.date(2023, 12, 31), "302", "TVA due 7.7 %"),
    ("V81", "8.1", "sales", "2200", dt.date(2024, 1, 1), None, "303", "TVA due 8.1 %"),
    ("M77", "7.7", "input_material", "1170", dt.date(2018, 1, 1), dt.date(2023, 12, 31), "400", "Impôt préalable 7.7 %"),
    ("M81", "8.1", "input_material", "1170", dt.date(2024, 1, 1), None, "400", "Impôt préalable 8.1 %"),
    ("I81", "8.1", "input_investment", "1171", dt.date(2024, 1, 1), None, "405", "Impôt préalable invest. 8.1 %"),
]  # fmt: skip
PARTNERS: list[dict[str, Any]] = [
    # customers: a transport firm, a body shop, two private customers, a Ticino customer without postcode
    {"id": "C001", "roles": "customer", "kind": "company", "name": "Müller Transport AG", "first_name": "Hans",
     "last_name": "Müller", "street": "Bahnhofstrasse", "building_number": "4", "zip": "3000", "city": "Bern",
     "country": "CH", "language": "de", "email": "disposition@mueller-transport.example", "phone": "+41 31 555 12 40",
     "vat_number": "CHE-105.805.080 MWST", "iban": "CH93 0076 2011 6238 5295 7", "account": "1100"},
    {"id": "C002", "roles": "customer", "kind": "company", "name": "Carrosserie Weber", "street": "Route de Thoune",
     "building_number": "8", "zip": "1630", "city": "Bulle", "country": "CH", "language": "fr",
     "email": "atelier@carrosserie-weber.example", "phone": "+41 26 555 08 08", "account": "1100"},
    {"id": "C003", "roles": "customer", "kind": "person", "name": "Jean Favre", "first_name": "Jean",
     "last_name": "Favre", "street": "Avenue de la Gare", "building_number": "21", "zip": "1800", "city": "Vevey",
     "country": "CH", "language": "fr", "mobile": "+41 79 555 21 21", "account": "1100"},
    {"id": "C004", "roles": "customer", "kind": "person", "name": "Anna Sarbach-Zürcher", "first_name": "Anna",
     "last_name": "Sarbach-Zürcher", "street": "rue du Lac", "building_number": "8", "address_line2": "c/o Zürcher",
     "zip": "1815", "city": "Clarens", "country": "CH", "language": "de", "email": "anna.sarbach@example.ch",
     "account": "1100", "notes": "Préfère être appelée le matin"},
    {"id": "C005", "roles": "customer", "kind": "company", "name": "Trasporti Bernasconi Sagl", "street": "Via Cantonale",
     "building_number": "12", "zip": "", "city": "Lugano", "country": "CH", "language": "it", "account": "1100",
     "notes": "NPA manquant dans l'ancien fichier"},
    # suppliers: tyres, parts from Germany, the lift maker, a lubricants supplier who is also a customer
    {"id": "S001", "roles": "supplier", "kind": "company", "name": "Pneus Léman SA", "street": "Chemin des Pneus",
     "building_number": "3", "zip": "1000", "city": "Lausanne", "country": "CH", "language": "fr",
     "iban": "CH56 0483 5012 3456 7800 9", "vat_number": "CHE-116.281.710 TVA", "account": "2000"},
    {"id": "S002", "roles": "supplier", "kind": "company", "name": "Autoteile Schmidt GmbH", "street": "Hafenstraße",
     "building_number": "17a", "zip": "78462", "city": "Konstanz", "country": "DE", "language": "de",
     "currency": "EUR", "iban": "DE89 3704 0044 0532 0130 00", "vat_number": "DE123456788", "account": "2000"},
    {"id": "S003", "roles": "supplier", "kind": "company", "name": "Hebetechnik AG", "street": "Industriestrasse",
     "building_number": "9", "zip": "8005", "city": "Zürich", "country": "CH", "language": "de",
     "iban": "CH12 3456 7890 1234 5678 9", "account": "2000", "notes": "IBAN à vérifier (chiffre de contrôle faux)"},
    {"id": "S004", "roles": "both", "kind": "company", "name": "Lubrifiants Chablais Sàrl", "street": "Route d'Ollon",
     "building_number": "44", "zip": "1860", "city": "Aigle", "country": "CH", "language": "fr", "account": "2000"},
    # two rows as real Winbiz address books have them: a repeated code (an old address of Jean Favre,
    # AD_CODE C003 again) and a blank code; the reader gives them stable derived codes
    {"id": "C003-10", "roles": "customer", "kind": "person", "name": "Jean Favre", "first_name": "Jean",
     "last_name": "Favre", "street": "Rue du Simplon", "building_number": "2", "zip": "1800", "city": "Vevey",
     "country": "CH", "language": "fr", "account": "1100", "active": False},
    {"id": "11", "roles": "customer", "kind": "person", "name": "Luca Rossi", "first_name": "Luca", "last_name": "Rossi",
     "street": "Chemin de la Colline", "building_number": "7", "zip": "1820", "city": "Montreux", "country": "CH",
     "language": "it", "account": "1100"},
]  # fmt: skip
WINBIZ_CODES = {"C003-10": "C003", "11": ""}
"""The address codes (AD_CODE) the Winbiz sample writes where they are not the partner's id."""

ITEMS: list[dict[str, Any]] = [
    # code, name, unit, sale, purchase, VAT sale/purchase, accounts, group, supplier, supplier ref, stock, min
    {"code": "MO", "name": "Main-d'œuvre atelier", "description": "Heure de travail d'un mécanicien qualifié",
     "unit": "h", "sale_price": 12500, "purchase_price": 0, "sale_vat_code": "V81", "revenue_account": "3400",
     "group": "Prestations", "stock": "", "stock_min": ""},
    {"code": "PNEU-H", "name": "Pneu hiver 205/55 R16", "description": "Pneu hiver 205/55 R16 91H\nMarque Nordika",
     "unit": "pce", "sale_price": 25000, "purchase_price": 20000, "sale_vat_code": "V81", "purchase_vat_code": "M81",
     "revenue_account": "3200", "expense_account": "4200", "group": "Pneus", "supplier": "S001",
     "supplier_ref": "PL-20555-W", "stock": "12", "stock_min": "8"},
    {"code": "PNEU-E", "name": "Pneu été 205/55 R16", "unit": "pce", "sale_price": 19500, "purchase_price": 15000,
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "group": "Pneus", "supplier": "S001", "supplier_ref": "PL-20555-S", "stock": "16", "stock_min": "8"},
    {"code": "JANTE", "name": "Jante alu 16\"", "unit": "pce", "sale_price": 32000, "purchase_price": 25000,
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "group": "Pneus", "supplier": "S001", "supplier_ref": "PL-J16", "stock": "6", "stock_min": "4"},
    {"code": "HUILE", "name": "Huile moteur 5W-30", "unit": "l", "sale_price": 2000, "purchase_price": 950,
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "group": "Lubrifiants", "supplier": "S004", "supplier_ref": "LC-5W30-208", "stock": "137.5", "stock_min": "50"},
    {"code": "FILTRE", "name": "Filtre à huile", "unit": "pce", "sale_price": 5000, "purchase_price": 2180,
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "group": "Pièces moteur", "supplier": "S002", "supplier_ref": "ÖF-1127", "stock": "24", "stock_min": "10"},
    {"code": "PLAQ", "name": "Plaquettes de frein avant", "unit": "jeu", "sale_price": 25000,
     "purchase_price": 11850, "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200",
     "expense_account": "4200", "group": "Freins", "supplier": "S002", "supplier_ref": "BK-4471", "stock": "5",
     "stock_min": "4"},
    {"code": "BATT", "name": "Batterie 12V 70Ah", "unit": "pce", "sale_price": 40000, "purchase_price": 21000,
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "group": "Électricité", "supplier": "S002", "supplier_ref": "BT-70", "stock": "3", "stock_min": "2"},
    {"code": "CHAINE", "name": "Chaînes à neige (ancien modèle)", "unit": "paire", "sale_price": 0,
     "purchase_price": 6000, "purchase_vat_code": "M81", "expense_account": "4200", "group": "Pneus",
     "supplier": "S001", "stock": "0", "stock_min": "0", "active": False},
]  # fmt: skip

# id, type, date, partner, account, title, VAT code and rate, paid, lines (item, text, quantity, price, discount)
DOCUMENTS: list[tuple[str, str, dt.date, str, str, str, str, str, bool, list[tuple[str, str, str, int, str]]]] = [
    ("R23-001", "invoice", dt.date(2023, 2, 10), "C001", "1100", "Facture Müller Transport, service camion", "V77",
     "7.7", True, [("MO", "Service camion", "8", 12500, ""), ("HUILE", "Huile moteur 5W-30", "10", 2000, "")]),
    ("R23-002", "invoice", dt.date(2023, 6, 12), "C002", "1100",
     "Facture Carrosserie Weber, pièces et main-d'œuvre", "V77", "7.7", True,
     [("PNEU-H", "Pneus hiver", "4", 25000, ""), ("PLAQ", "Plaquettes de frein avant", "2", 25000, ""),
      ("MO", "Montage et réglages", "8", 12500, "")]),
    ("R23-003", "invoice", dt.date(2023, 11, 20), "C003", "1100", "Facture Jean Favre, service", "V77", "7.7", True,
     [("MO", "Service annuel", "6", 12500, ""), ("FILTRE", "Filtre à huile", "2", 5000, "")]),
    ("R24-001", "invoice", dt.date(2024, 1, 25), "C001", "1100", "Facture Müller Transport, service camion", "V81",
     "8.1", True, [("MO", "Service camion et contrôle freins", "16", 12500, "")]),
    ("R24-002", "invoice", dt.date(2024, 9, 12), "C002", "1100", "Facture Carrosserie Weber, réparation", "V81",
     "8.1", False,
     [("MO", "Réparation boîte de vitesses", "24", 12500, ""), ("BATT", "Batterie 12V 70Ah", "2", 40000, "12.5"),
      ("HUILE", "Huile moteur 5W-30", "15", 2000, ""), ("", "Véhicule rendu lavé", "", 0, "")]),
    ("F23-101", "bill", dt.date(2023, 2, 20), "S001", "2000", "Pneus Léman, pneus hiver", "M77", "7.7", True,
     [("PNEU-H", "Pneus hiver 205/55 R16", "10", 20000, "")]),
    ("F24-201", "bill", dt.date(2024, 2, 14), "S001", "2000", "Pneus Léman, pneus été", "M81", "8.1", True,
     [("PNEU-E", "Pneus été 205/55 R16", "20", 15000, "")]),
    ("I24-001", "bill", dt.date(2024, 3, 10), "S003", "2000", "Hebetechnik, pont élévateur", "I81", "8.1", True,
     [("", "Pont élévateur 2 colonnes, montage compris", "1", 1200000, "")]),
    ("F24-202", "bill", dt.date(2024, 10, 1), "S001", "2000", "Pneus Léman, jantes", "M81", "8.1", False,
     [("JANTE", "Jantes alu 16\"", "6", 25000, "")]),
]  # fmt: skip
"""The garage's invoices and suppliers' bills, the same as its journal books them; VAT is booked per
document as the journal has it (net × rate rounded to the centime)."""

VEHICLES: list[dict[str, Any]] = [
    # owner, make, model, plate, chassis number (VIN), engine number, mileage, first registration
    {"owner": "C001", "make": "Mercedes-Benz", "model": "Actros 1845", "plate": "BE 123 456",
     "chassis": "WDB9634031L123456", "engine": "OM471-884512", "mileage": 412350, "first": dt.date(2017, 3, 14)},
    {"owner": "C002", "make": "Volkswagen", "model": "Transporter T6", "plate": "FR 98 765",
     "chassis": "WV1ZZZ7HZJH012345", "engine": "CXF-553201", "mileage": 98210, "first": dt.date(2018, 6, 1)},
    {"owner": "C003", "make": "Peugeot", "model": "308 SW", "plate": "VD 45 812", "chassis": "VF3LBHNZ6JS123987",
     "engine": "HN05-771234", "mileage": 67400, "first": dt.date(2019, 9, 20)},
    {"owner": "C004", "make": "Škoda", "model": "Octavia Combi 4x4", "plate": "VD 301 277",
     "chassis": "TMBJJ7NE5L0123456", "engine": "DFG-112233", "mileage": 45120, "first": dt.date(2020, 2, 28)},
]  # fmt: skip
"""Vehicles of the garage's customers, as Winbiz's garage module keeps them (no canonical table: the
Winbiz sample writes them to a table of its own, which readers keep whole in the archives)."""


def _line(account: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {"account": account, "amount": to_cents(Decimal(amount)), **extra}


def _vat(code: str, base_account: str, base: str, vat: str, vat_account: str) -> list[dict[str, Any]]:
    """A base line and its VAT line, both tagged with `code`; `vat` is signed like `base`."""
    return [
        _line(base_account, base, vat_code=code, vat_amount=to_cents(Decimal(vat))),
        _line(vat_account, vat, vat_code=code, vat_line=True),
    ]


# date, voucher, text, journal, partner, lines
ENTRIES_2023: list[tuple[dt.date, str, str, str, str, list[dict[str, Any]]]] = [
    (dt.date(2023, 2, 10), "R23-001", "Facture Müller Transport, service camion", "V", "C001",
     [_line("1100", "1292.40"), *_vat("V77", "3400", "-1200.00", "-92.40", "2200")]),
    (dt.date(2023, 2, 20), "F23-101", "Pneus Léman, pneus hiver", "A", "S001",
     [*_vat("M77", "4200", "2000.00", "154.00", "1170"), _line("2000", "-2154.00")]),
    (dt.date(2023, 3, 5), "B23-010", "Paiement Müller Transport R23-001", "B", "C001",
     [_line("1020", "1292.40"), _line("1100", "-1292.40")]),
    (dt.date(2023, 3, 15), "B23-011", "Paiement Pneus Léman F23-101", "B", "S001",
     [_line("2000", "2154.00"), _line("1020", "-2154.00")]),
    (dt.date(2023, 4, 30), "L23-04", "Salaires avril", "D", "",
     [_line("5000", "6500.00"), _line("1020", "-5850.00"), _line("2270", "-650.00")]),
    (dt.date(2023, 5, 2), "B23-020", "Loyer mai", "B", "", [_line("6000", "1800.00"), _line("1020", "-1800.00")]),
    (dt.date(2023, 6, 12), "R23-002", "Facture Carrosserie Weber, pièces et main-d'œuvre", "V", "C002",
     [_line("1100", "2692.50"), _line("3200", "-1500.00", vat_code="V77", vat_amount=-11550),
      _line("3400", "-1000.00", vat_code="V77", vat_amount=-7700), _line("2200", "-192.50", vat_code="V77", vat_line=True)]),
    (dt.date(2023, 7, 20), "F23-102", "Autoteile Schmidt, pièces moteur EUR 1'000.00", "A", "S002",
     [_line("4200", "965.00", currency="EUR", amount_currency=100000, rate="0.965"),
      _line("2000", "-965.00", currency="EUR", amount_currency=-100000, rate="0.965")]),
    (dt.date(2023, 9, 30), "C23-090", "Vente comptoir pièces", "C", "",
     [_line("1000", "538.50"), *_vat("V77", "3200", "-500.00", "-38.50", "2200")]),
    (dt.date(2023, 11, 20), "R23-003", "Facture Jean Favre, service", "V", "C003",
     [_line("1100", "915.45"), *_vat("V77", "3400", "-850.00", "-65.45", "2200")]),
    (dt.date(2023, 12, 31), "OD23-01", "Amortissement outillage", "D", "",
     [_line("6800", "3500.00"), _line("1500", "-3500.00")]),
    (dt.date(2023, 12, 31), "B23-099", "Frais bancaires 2023", "B", "", [_line("6900", "45.60"), _line("1020", "-45.60")]),
]  # fmt: skip

ENTRIES_2024: list[tuple[dt.date, str, str, str, str, list[dict[str, Any]]]] = [
    (dt.date(2024, 1, 25), "R24-001", "Facture Müller Transport, service camion", "V", "C001",
     [_line("1100", "2162.00"), *_vat("V81", "3400", "-2000.00", "-162.00", "2200")]),
    (dt.date(2024, 2, 14), "F24-201", "Pneus Léman, pneus été", "A", "S001",
     [*_vat("M81", "4200", "3000.00", "243.00", "1170"), _line("2000", "-3243.00")]),
    (dt.date(2024, 2, 28), "B24-010", "Paiement Jean Favre R23-003", "B", "C003",
     [_line("1020", "915.45"), _line("1100", "-915.45")]),
    (dt.date(2024, 3, 10), "I24-001", "Hebetechnik, pont élévateur", "A", "S003",
     [*_vat("I81", "1500", "12000.00", "972.00", "1171"), _line("2000", "-12972.00")]),
    (dt.date(2024, 4, 30), "L24-04", "Salaires avril", "D", "",
     [_line("5000", "6800.00"), _line("1020", "-6120.00"), _line("2270", "-680.00")]),
    (dt.date(2024, 5, 15), "C24-050", "Vente comptoir pièces", "C", "",
     [_line("1000", "864.80"), *_vat("V81", "3200", "-800.00", "-64.80", "2200")]),
    (dt.date(2024, 6, 30), "B24-030", "Loyer juin", "B", "", [_line("6000", "1800.00"), _line("1020", "-1800.00")]),
    (dt.date(2024, 9, 12), "R24-002", "Facture Carrosserie Weber, réparation", "V", "C002",
     [_line("1100", "4324.00"), *_vat("V81", "3400", "-4000.00", "-324.00", "2200", )]),
    (dt.date(2024, 10, 1), "F24-202", "Pneus Léman, jantes", "A", "S001",
     [*_vat("M81", "4200", "1500.00", "121.50", "1170"), _line("2000", "-1621.50")]),
]  # fmt: skip

OPENING_2023 = [
    ("1000", "2500.00"), ("1020", "48300.00"), ("1100", "6200.00"), ("1200", "18000.00"), ("1500", "35000.00"),
    ("2000", "-9400.00"), ("2800", "-50000.00"), ("2970", "-50600.00"),
]  # fmt: skip


def _opening_2024(entries: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Closing balances of 2023: balance-sheet accounts carried, the year's result into 2970."""
    balances: dict[str, int] = {}
    for code, amount in OPENING_2023:
        balances[code] = balances.get(code, 0) + to_cents(Decimal(amount))
    for *_, lines in entries:
        for line in lines:
            balances[line["account"]] = balances.get(line["account"], 0) + line["amount"]
    result = sum(v for k, v in balances.items() if k[0] in "3456789")
    carried = {k: v for k, v in balances.items() if k[0] in "12" and v}
    carried["2970"] = carried.get("2970", 0) + result
    return [{"account": k, "amount": v} for k, v in sorted(carried.items())]


def ledger() -> Ledger:
    """The garage's books as a canonical `Ledger`."""
    rows: list[dict[str, Any]] = []
    opening_2023 = [{"account": c, "amount": to_cents(Decimal(a))} for c, a in OPENING_2023]
    opening = [
        (dt.date(2023, 1, 1), "OUV23", "Bilan d'ouverture 2023", "O", "", opening_2023),
        (dt.date(2024, 1, 1), "OUV24", "Bilan d'ouverture 2024", "O", "", _opening_2024(ENTRIES_2023)),
    ]
    ordered = [opening[0], *ENTRIES_2023, opening[1], *ENTRIES_2024]
    for number, (date, doc, text, journal, partner, lines) in enumerate(ordered, start=1):
        for position, line in enumerate(lines, start=1):
            rows.append({
                "entry": str(number), "line": position, "date": date, "doc": doc, "description": text,
                "journal": journal, "partner": partner if line["account"] in ("1100", "2000") else "",
                "opening": journal == "O", "cost_centre": "ATELIER" if line["account"] == "3400" else "",
                "source_file": "samples/garage.py", "source_row": len(rows) + 1, **line,
            })  # fmt: skip
    company = Company(
        name=NAME,
        base_currency="CHF",
        fiscal_years=(FiscalYear(dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
                      FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31))),  # fmt: skip
        vat_number="CHE-123.456.788 TVA",
        address="Rue du Lac 12, 1800 Vevey",
        source_system="samples/garage.py",
    )
    accounts = table("accounts", (
        {"code": c, "name": n, "type": t, "parent": p, "vat_code": v, "active": True} for c, n, t, p, v in ACCOUNTS))  # fmt: skip
    groups = table("groups", ({"code": c, "name": n, "parent": p} for c, n, p in GROUPS))
    vat_codes = table("vat_codes", (
        {"code": c, "rate": r, "kind": k, "method": "net", "account": a, "valid_from": f, "valid_to": t,
         "form_box": b, "description": d} for c, r, k, a, f, t, b, d in VAT_CODES))  # fmt: skip
    partners = table("partners", (
        {"payment_terms": 30, **p, "street": p["street"], "iban": p.get("iban", "").replace(" ", "")}
        for p in PARTNERS))  # fmt: skip
    items = table("items", ITEMS)
    documents, document_lines = _documents()
    open_items = table("open_items", [
        {"id": "R24-002", "partner": "C002", "kind": "invoice", "date": dt.date(2024, 9, 12),
         "due_date": dt.date(2024, 10, 12), "amount": 432400, "open_amount": 432400, "account": "1100",
         "description": "Facture Carrosserie Weber, réparation"},
        {"id": "F24-202", "partner": "S001", "kind": "bill", "date": dt.date(2024, 10, 1),
         "due_date": dt.date(2024, 10, 31), "amount": 162150, "open_amount": 162150, "account": "2000",
         "description": "Pneus Léman, jantes"},
    ])  # fmt: skip
    return Ledger(
        company=company, accounts=accounts, groups=groups, vat_codes=vat_codes, lines=table("lines", rows),
        partners=partners, open_items=open_items, items=items, documents=documents, document_lines=document_lines,
        format="garage", encoding="utf-8",
    )  # fmt: skip


def _documents() -> tuple[Any, Any]:
    """The documents and document lines tables of `DOCUMENTS`."""
    from migrator.money import to_decimal

    documents, lines = [], []
    for ident, kind, date, partner, account, title, vat_code, rate, paid, rows in DOCUMENTS:
        net = 0
        for number, (item, text, quantity, price, discount) in enumerate(rows, start=1):
            amount = Decimal(quantity or 0) * to_decimal(price) * (1 - Decimal(discount or 0) / 100)
            cents = to_cents(amount.quantize(Decimal("0.01")))
            net += cents
            unit = next((i["unit"] for i in ITEMS if i["code"] == item), "")
            revenue = next((i["revenue_account" if kind == "invoice" else "expense_account"] for i in ITEMS
                            if i["code"] == item), "")  # fmt: skip
            lines.append({"document": ident, "line": number, "item": item, "description": text, "quantity": quantity,
                          "unit": unit, "unit_price": price, "discount": discount, "vat_code": vat_code if quantity else "",
                          "vat_rate": rate if quantity else "", "amount": cents,
                          "account": revenue or ("1500" if ident.startswith("I") else "")})  # fmt: skip
        vat = to_cents((to_decimal(net) * Decimal(rate) / 100).quantize(Decimal("0.01")))
        documents.append({
            "id": ident, "type": kind, "date": date, "due_date": date + dt.timedelta(days=30), "partner": partner,
            "net": net, "vat": vat, "gross": net + vat, "paid": net + vat if paid else 0,
            "status": "paid" if paid else "open", "account": account, "title": title,
        })  # fmt: skip
    return table("documents", documents), table("document_lines", lines)
