"""Hypothesis strategies: random valid canonical ledgers, for the round-trip tests of every format.

`ledgers()` draws a company's books over a small Swiss chart: balanced entries of 2 to 4 lines
(plain, with VAT base and VAT lines, in a foreign currency, opening entries), dates across several
years, unicode texts with accents, partners and open items. Every entry sums to zero and every
line has a `source_file` and `source_row`. Formats that cannot hold every character pass their
own `text` strategy (e.g. ``texts(LATIN)``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from migrator.model import Company, FiscalYear, Ledger, table
from migrator.parsing import decimal_text

CHART = (
    # code, name, type, group, default VAT code
    ("1000", "Caisse", "asset", "10", ""),
    ("1020", "Banque", "asset", "10", ""),
    ("1100", "Débiteurs", "asset", "11", ""),
    ("1170", "Impôt préalable", "asset", "11", ""),
    ("2000", "Créanciers", "liability", "20", ""),
    ("2200", "TVA due", "liability", "20", ""),
    ("2800", "Capital", "equity", "28", ""),
    ("3200", "Ventes de pièces", "income", "32", "V81"),
    ("3400", "Prestations d'atelier", "income", "34", "V81"),
    ("4200", "Achats de matériel", "expense", "42", "M81"),
    ("6000", "Loyer", "expense", "60", ""),
    ("6900", "Frais bancaires", "expense", "69", ""),
)
GROUPS = (
    ("1", "Actifs", ""), ("10", "Liquidités", "1"), ("11", "Créances", "1"), ("2", "Passifs", ""),
    ("20", "Dettes", "2"), ("28", "Fonds propres", "2"), ("3", "Produits", ""), ("32", "Ventes", "3"),
    ("34", "Prestations", "3"), ("4", "Charges de matériel", ""), ("42", "Achats", "4"),
    ("6", "Autres charges", ""), ("60", "Locaux", "6"), ("69", "Frais financiers", "6"),
)  # fmt: skip
VAT_CODES = (
    # code, rate, kind, VAT account, valid from, valid to, form box
    ("V77", "7.7", "sales", "2200", dt.date(2018, 1, 1), dt.date(2023, 12, 31), "302"),
    ("V81", "8.1", "sales", "2200", dt.date(2024, 1, 1), None, "303"),
    ("V26", "2.6", "sales", "2200", dt.date(2024, 1, 1), None, "313"),
    ("M77", "7.7", "input_material", "1170", dt.date(2018, 1, 1), dt.date(2023, 12, 31), "400"),
    ("M81", "8.1", "input_material", "1170", dt.date(2024, 1, 1), None, "400"),
)
MONEY = ("1000", "1020")
INCOME = ("3200", "3400")
EXPENSES = ("4200", "6000", "6900")
OTHER = ("1000", "1020", "2800", "6000", "6900")
FOREIGN = ("EUR", "USD", "GBP")
SOURCE_FILE = "generated.csv"
ENTRY_KINDS = ("plain", "plain", "sales", "purchase", "foreign")

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 àâäçéèêëîïôöùûüÀÉÈÜÖÄßñ'.,/&()%"
"""Letters, accents and punctuation every Windows-1252 / Latin-1 format can hold."""


def texts(alphabet: str | None = None, min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    """Free text (names, descriptions): unicode letters with accents, digits, punctuation, symbols
    and spaces (or only `alphabet`); no control characters, no spaces at either end, and no
    leading ``= + - @`` (spreadsheet formula starts have tests of their own)."""
    characters = (
        st.sampled_from(alphabet)
        if alphabet
        else st.one_of(
            st.sampled_from(LATIN),
            st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\ufffe\uffff"),
        )
    )
    return (
        st.text(characters, min_size=min_size, max_size=max_size)
        .map(lambda t: t.strip().lstrip("=+-@").strip())
        .filter(lambda t: len(t) >= min_size)
    )


amounts = st.integers(min_value=1, max_value=10**9)
"""Cents of one line, up to 10 million: well inside the 15 digits a spreadsheet keeps."""


def _rate() -> st.SearchStrategy[str]:
    return st.integers(min_value=5000, max_value=20000).map(lambda n: decimal_text(Decimal(n).scaleb(-4)))


@st.composite
def _entry_lines(draw: st.DrawFn, partners: list[str], kinds: tuple[str, ...] = ENTRY_KINDS) -> list[dict[str, Any]]:
    """The lines of one balanced entry (without entry id, date and texts)."""
    kind = draw(st.sampled_from(kinds))
    partner = draw(st.sampled_from(["", *partners]))
    if kind == "sales" or kind == "purchase":
        code = draw(st.sampled_from([c for c in VAT_CODES if (c[2] == "sales") == (kind == "sales")]))
        base, vat = draw(amounts), draw(st.integers(min_value=1, max_value=10**7))
        sign = -1 if kind == "sales" else 1
        account = draw(st.sampled_from(INCOME if kind == "sales" else EXPENSES))
        counter = "1100" if kind == "sales" else "2000"
        return [
            {"account": account, "amount": sign * base, "vat_code": code[0], "vat_amount": sign * vat},
            {"account": code[3], "amount": sign * vat, "vat_code": code[0], "vat_line": True},
            {"account": counter, "amount": -sign * (base + vat), "partner": partner},
        ]
    if kind == "foreign":
        currency, rate = draw(st.sampled_from(FOREIGN)), draw(_rate())
        amount, foreign = draw(amounts), draw(amounts)
        return [
            {"account": "4200", "amount": amount, "currency": currency, "amount_currency": foreign, "rate": rate},
            {"account": "2000", "amount": -amount, "currency": currency, "amount_currency": -foreign, "rate": rate,
             "partner": partner},
        ]  # fmt: skip
    count = draw(st.integers(min_value=2, max_value=4))
    accounts = draw(st.lists(st.sampled_from([c[0] for c in CHART]), min_size=count, max_size=count))
    values = [draw(amounts) * draw(st.sampled_from((1, -1))) for _ in range(count - 1)]
    if sum(values) == 0:
        values[0] += 1
    values.append(-sum(values))
    centre = draw(st.sampled_from(("", "ATELIER", "Büro")))
    return [{"account": a, "amount": v, "cost_centre": centre} for a, v in zip(accounts, values, strict=True)]


@st.composite
def _partners(draw: st.DrawFn, text: st.SearchStrategy[str]) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=4))
    out = []
    for number in range(1, count + 1):
        kind = draw(st.sampled_from(("customer", "supplier", "both")))
        out.append({
            "id": f"P{number:03d}", "roles": kind, "name": draw(text), "street": draw(text), "zip": "1800",
            "city": draw(text), "country": draw(st.sampled_from(("CH", "DE", "FR"))),
            "email": draw(st.sampled_from(("", f"p{number}@example.ch"))), "language": draw(st.sampled_from(("de", "fr", "it"))),
            "payment_terms": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=90))),
            "account": "1100" if kind != "supplier" else "2000",
        })  # fmt: skip
    return out


@st.composite
def _open_items(draw: st.DrawFn, partners: list[dict[str, Any]], days: st.SearchStrategy[dt.date],
                text: st.SearchStrategy[str]) -> list[dict[str, Any]]:  # fmt: skip
    if not partners:
        return []
    out = []
    for number in range(1, draw(st.integers(min_value=0, max_value=3)) + 1):
        partner = draw(st.sampled_from(partners))
        bill = partner["roles"] == "supplier"
        date, total = draw(days), draw(amounts)
        out.append({
            "id": f"{'F' if bill else 'R'}-{number:04d}", "partner": partner["id"], "kind": "bill" if bill else "invoice",
            "date": date, "due_date": draw(st.sampled_from((None, date + dt.timedelta(days=30)))),
            "currency": draw(st.sampled_from(("", "EUR"))), "amount": total,
            "open_amount": draw(st.integers(min_value=0, max_value=total)), "account": "2000" if bill else "1100",
            "description": draw(text),
        })  # fmt: skip
    return out


@st.composite
def ledgers(draw: st.DrawFn, text: st.SearchStrategy[str] | None = None, max_entries: int = 12) -> Ledger:
    """A random valid ledger (see the module docstring)."""
    text = text if text is not None else texts()
    first = draw(st.integers(min_value=2016, max_value=2026))
    last = draw(st.integers(min_value=first, max_value=min(first + 3, 2027)))
    days = st.dates(min_value=dt.date(first, 1, 1), max_value=dt.date(last, 12, 31))
    partners = draw(_partners(text))
    ids = [p["id"] for p in partners]
    entries = []
    if draw(st.booleans()):  # an opening entry on the first day
        entries.append((dt.date(first, 1, 1), True, draw(_entry_lines([], ("plain",)))))
    for _ in range(draw(st.integers(min_value=1, max_value=max_entries))):
        entries.append((draw(days), False, draw(_entry_lines(ids))))
    rows: list[dict[str, Any]] = []
    for number, (date, opening, lines) in enumerate(entries, start=1):
        doc = f"{'OUV' if opening else 'D'}{number:04d}"
        description, journal = draw(text), draw(st.sampled_from(("", "V", "A", "B")))
        for position, line in enumerate(lines, start=1):
            rows.append({
                "entry": str(number), "line": position, "date": date, "doc": doc, "description": description,
                "journal": "O" if opening else journal, "opening": opening, "source_file": SOURCE_FILE,
                "source_row": len(rows) + 2, **line,
            })  # fmt: skip
    grouped = draw(st.booleans())
    accounts = table("accounts", (
        {"code": c, "name": n, "type": t, "parent": g if grouped else "", "vat_code": v, "active": draw(st.booleans())}
        for c, n, t, g, v in CHART))  # fmt: skip
    groups = table("groups", ({"code": c, "name": n, "parent": p} for c, n, p in GROUPS) if grouped else ())
    vat_codes = table("vat_codes", (
        {"code": c, "rate": r, "kind": k, "method": draw(st.sampled_from(("net", "gross"))), "account": a,
         "valid_from": f, "valid_to": t, "form_box": b, "description": draw(text)}
        for c, r, k, a, f, t, b in VAT_CODES))  # fmt: skip
    company = Company(
        name=draw(text),
        base_currency="CHF",
        fiscal_years=tuple(FiscalYear(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(first, last + 1)),
        vat_number=draw(st.sampled_from(("", "CHE-123.456.788 MWST"))),
        address=draw(text),
        source_system="tests/strategies.py",
    )
    return Ledger(
        company=company, accounts=accounts, groups=groups, vat_codes=vat_codes, lines=table("lines", rows),
        partners=table("partners", partners), open_items=table("open_items", draw(_open_items(partners, days, text))),
        format="generated",
    )  # fmt: skip
