"""A hand-made ledger of partners, items and open invoices with the odd data real books have:
accents and umlauts, no postcode, a foreign address, the building number inside the street, a blank
code, duplicate codes, separators (``;`` ``,`` ``"``) and line breaks in text. Made-up firms."""

from __future__ import annotations

import datetime as dt

from migrator.model import Ledger, table

PARTNERS = [
    {"id": "1001", "kind": "company", "roles": "customer", "name": "Müller & Söhne AG", "first_name": "Hans",
     "last_name": "Müller", "street": "Bahnhofstrasse", "building_number": "12a", "zip": "8001", "city": "Zürich",
     "country": "CH", "email": "info@mueller-soehne.example", "phone": "044 123 45 67", "mobile": "079 765 43 21",
     "language": "de", "notes": "Zahlt spät; immer anrufen,\nnie faxen", "payment_terms": 30, "account": "1100",
     "vat_number": "CHE-123.456.788 MWST", "iban": "CH9300762011623852957"},
    {"id": "1002", "kind": "person", "roles": "customer", "name": "Élodie Favre-Bühler", "first_name": "Élodie",
     "last_name": "Favre-Bühler", "street": "Chemin des Vignes 4", "city": "Lutry", "country": "CH",
     "language": "fr", "active": False},
    {"id": "2001", "kind": "company", "roles": "supplier", "name": "Pièces Auto Européennes SARL",
     "street": "rue de la Paix", "building_number": "12", "address_line2": "c/o Dupont", "zip": "75002",
     "city": "Paris", "country": "FR", "website": "https://pieces.example", "fax": "+33 1 23 45 67 89",
     "currency": "EUR", "payment_terms": 60, "account": "2000"},
    {"id": "2002", "kind": "company", "roles": "both", "name": 'Garage "Zum Löwen" GmbH', "street": "Dorfplatz",
     "building_number": "1", "zip": "", "city": "Oberwil-Lieli", "country": "CH", "account": "1100"},
    {"id": "", "kind": "", "roles": "", "name": "Anonyme Kundschaft"},
    {"id": "2002", "kind": "person", "roles": "customer", "name": "Zoë Keller", "first_name": "Zoë",
     "last_name": "Keller", "street": "Seestrasse", "building_number": "210", "zip": "8800", "city": "Thalwil",
     "country": "CH"},
]  # fmt: skip
"""Code 2002 twice and one blank code, as real Winbiz address files have them."""

ITEMS = [
    {"code": "P-100", "name": "Ölfilter Bosch", "description": "Ölfilter für VW Golf; 1.4 TSI", "unit": "pce",
     "sale_price": 2450, "purchase_price": 1280, "stock": "14", "stock_min": "5", "group": "Filter",
     "sale_vat_code": "V81", "purchase_vat_code": "M81", "revenue_account": "3200", "expense_account": "4200",
     "supplier": "2001", "supplier_ref": "F 026 407 006"},
    {"code": "S-01", "name": "Main-d'œuvre atelier", "unit": "h", "sale_price": 11500, "purchase_price": None,
     "stock": "", "sale_vat_code": "V81"},
    {"code": "P-200", "name": "Pneu hiver 205/55 R16", "unit": "pce", "sale_price": None, "purchase_price": 6790,
     "stock": "3.5", "active": False},
]  # fmt: skip

OPEN_ITEMS = [
    {"id": "R24-002", "partner": "1001", "kind": "invoice", "date": dt.date(2024, 11, 28),
     "due_date": dt.date(2024, 12, 28), "amount": 162150, "open_amount": 162150, "account": "1100",
     "description": "Service Golf ZH 123 456"},
    {"id": "R24-007", "partner": "1002", "kind": "invoice", "date": dt.date(2024, 12, 15),
     "due_date": dt.date(2025, 1, 14), "amount": 50000, "open_amount": 20000, "account": "1100",
     "description": "Reifenwechsel, Teilzahlung"},
    {"id": "F-8841", "partner": "2001", "kind": "bill", "date": dt.date(2024, 12, 20),
     "due_date": dt.date(2025, 2, 18), "currency": "EUR", "amount": 98000, "open_amount": 98000, "account": "2000",
     "description": "Lieferung Filter"},
]  # fmt: skip


def ledger(partners: list[dict] | None = None) -> Ledger:
    """The odd partners, items and open invoices, without books."""
    return Ledger(
        partners=table("partners", PARTNERS if partners is None else partners),
        items=table("items", ITEMS),
        open_items=table("open_items", OPEN_ITEMS),
    )
