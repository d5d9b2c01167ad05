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
PARTNERS = [
    ("C001", "customer", "Müller Transport AG", "Bahnhofstrasse 4", "3000", "Bern", "CH", "de", "1100"),
    ("C002", "customer", "Carrosserie Weber", "Route de Thoune 8", "1630", "Bulle", "CH", "fr", "1100"),
    ("C003", "customer", "Jean Favre", "Avenue de la Gare 21", "1800", "Vevey", "CH", "fr", "1100"),
    ("S001", "supplier", "Pneus Léman SA", "Chemin des Pneus 3", "1000", "Lausanne", "CH", "fr", "2000"),
    ("S002", "supplier", "Autoteile Schmidt GmbH", "Hafenstraße 17", "78462", "Konstanz", "DE", "de", "2000"),
    ("S003", "supplier", "Hebetechnik AG", "Industriestrasse 9", "8005", "Zürich", "CH", "de", "2000"),
]


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
        {"id": i, "roles": k, "name": n, "street": s, "zip": z, "city": c, "country": co, "language": la,
         "payment_terms": 30, "account": a} for i, k, n, s, z, c, co, la, a in PARTNERS))  # fmt: skip
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
        partners=partners, open_items=open_items, format="garage", encoding="utf-8",
    )  # fmt: skip
