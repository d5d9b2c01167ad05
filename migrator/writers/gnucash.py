"""GnuCash book: gzip-compressed XML (``gnc-v2``), the file GnuCash itself saves and opens.

Layout as GnuCash 4 writes it (checked against a book saved by GnuCash 4.13): a book with its
options (company name, address, id), the currencies, the account tree under a root account, the
transactions with splits as exact rationals (``50000/100``), then customers and vendors.

* Groups become placeholder accounts, accounts sit under their group (an account whose code is also
  a group's is one GnuCash account); codes are GnuCash account codes. Types: asset ASSET, liability
  LIABILITY, equity EQUITY, income INCOME, expense EXPENSE; untyped and off-balance accounts and
  the groups take the type their first digit gives in a Swiss chart (or their first account's).
* Every account is kept in the base currency. An entry whose lines all carry amounts in one foreign
  currency becomes a transaction in that currency (split value = foreign amount, quantity = base
  amount), which is how GnuCash records a foreign bill on base-currency accounts.
* Dates are written at 10:59 UTC (GnuCash's "neutral time"); opening entries carry a
  ``migrator-opening`` slot, the book a ``migrator-fiscal-years`` slot (``2023-01-01/2023-12-31 …``).
* VAT codes become tax tables (one percentage entry on the VAT account), the rest of each code in
  ``migrator-*`` slots of the table. GUIDs are UUID5s of the company and the item, so the same ledger
  always gives the same file (the gzip header has no time stamp either).

Several fiscal years: a GnuCash book is one continuous file (GnuCash's own *Close Book* closes
income and expenses into equity in the same way; only the first year's opening carries the
``migrator-opening`` slot). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Verification reads the book back with `years.per_year`.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from lxml import etree

from migrator import years
from migrator.model import Ledger, Problem
from migrator.writers.base import entries, lost

GNC_TYPES = {"asset": "ASSET", "liability": "LIABILITY", "equity": "EQUITY", "income": "INCOME", "expense": "EXPENSE"}
BY_FIRST_DIGIT = {"1": "ASSET", "2": "LIABILITY", "3": "INCOME", "4": "EXPENSE", "5": "EXPENSE", "6": "EXPENSE",
                  "7": "INCOME", "8": "EXPENSE", "9": "EQUITY"}  # fmt: skip
NAMESPACES = ("gnc", "act", "book", "cd", "cmdty", "price", "slot", "split", "sx", "trn", "ts", "fs", "bgt",
              "recurrence", "lot", "addr", "billterm", "bt-days", "bt-prox", "cust", "employee", "entry",
              "invoice", "job", "order", "owner", "taxtable", "tte", "vendor")  # fmt: skip
NSMAP = {n: f"http://www.gnucash.org/XML/{n}" for n in NAMESPACES}
FISCAL_YEARS_SLOT = "migrator-fiscal-years"
"""Book slot holding the fiscal years, ``start/end`` ISO dates separated by spaces."""


def _q(name: str) -> str:
    prefix, _, local = name.partition(":")
    return f"{{{NSMAP[prefix]}}}{local}" if local else name


def _sub(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    node = etree.SubElement(parent, _q(name), {(_q(k.replace("_", ":")) if "_" in k else k): v
                                               for k, v in attributes.items()})  # fmt: skip
    if text is not None:
        node.text = text
    return node


def _rational(cents: int) -> str:
    return f"{cents}/100"


def _timestamp(day: Any) -> str:
    return f"{day.isoformat()} 10:59:00 +0000"


class _Ids:
    """Deterministic GUIDs: the same company and item always give the same GUID."""

    def __init__(self, ledger: Ledger) -> None:
        company = ledger.company
        self.space = uuid.uuid5(uuid.NAMESPACE_URL, f"migrator:gnucash:{company.name}:{company.base_currency}")

    def __call__(self, *parts: str) -> str:
        return uuid.uuid5(self.space, "\x1f".join(parts)).hex


def _slot(parent: etree._Element, key: str, value: str, kind: str = "string") -> None:
    slot = _sub(parent, "slot")
    _sub(slot, "slot:key", key)
    if kind == "gdate":
        holder = _sub(slot, "slot:value", type="gdate")
        _sub(holder, "gdate", value)
    else:
        _sub(slot, "slot:value", value, type=kind)


def _frame(parent: etree._Element, key: str) -> etree._Element:
    slot = _sub(parent, "slot")
    _sub(slot, "slot:key", key)
    return _sub(slot, "slot:value", type="frame")


def _commodity(parent: etree._Element, name: str, currency: str) -> None:
    node = _sub(parent, name)
    _sub(node, "cmdty:space", "CURRENCY")
    _sub(node, "cmdty:id", currency)


class GnucashWriter:
    name = "gnucash"
    extension = ".gnucash"
    output = "file"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        root, problems = _document(ledger)
        data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
        with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            out.write(data)
        return problems


def _document(ledger: Ledger) -> tuple[etree._Element, list[Problem]]:
    ids = _Ids(ledger)
    base = ledger.company.base_currency or "CHF"
    problems: list[Problem] = []
    doc = etree.Element("gnc-v2", nsmap=NSMAP)  # type: ignore[arg-type]
    _sub(doc, "gnc:count-data", "1", cd_type="book")
    book = _sub(doc, "gnc:book", version="2.0.0")
    _sub(book, "book:id", ids("book"), type="guid")
    _options(book, ledger)
    tree = _tree(ledger, ids, problems)
    groups = list(entries(ledger.lines))
    partners = ledger.partners.to_pylist()
    customers = [p for p in partners if p["roles"] != "supplier"]
    vendors = [p for p in partners if p["roles"] in ("supplier", "both")]
    currencies = sorted({base, *(r["currency"] for r in ledger.lines.to_pylist() if r["currency"])})
    counts = (("commodity", len(currencies)), ("account", len(tree) + 1), ("transaction", len(groups)),
              ("gnc:GncCustomer", len(customers)), ("gnc:GncTaxTable", ledger.vat_codes.num_rows),
              ("gnc:GncVendor", len(vendors)))  # fmt: skip
    for kind, count in counts:
        if count:
            _sub(book, "gnc:count-data", str(count), cd_type=kind)
    for currency in currencies:
        node = _sub(book, "gnc:commodity", version="2.0.0")
        _sub(node, "cmdty:space", "CURRENCY")
        _sub(node, "cmdty:id", currency)
        _sub(node, "cmdty:get_quotes")
        _sub(node, "cmdty:quote_source", "currency")
        _sub(node, "cmdty:quote_tz")
    root_id = ids("account", "")
    _account(book, {"name": "Root Account", "guid": root_id, "type": "ROOT"}, base)
    for account in tree:
        _account(book, account, base)
    guids = {n["code"]: n["guid"] for n in tree}
    foreign_lost = split_dates = 0
    for rows in groups:
        lost_here, dates_here = _transaction(book, rows, guids, ids, base)
        foreign_lost += lost_here
        split_dates += dates_here
    for person in customers:
        _owner(book, "customer", person, ids, base)
    _tax_tables(book, ledger, guids, ids)  # GnuCash saves them between customers and vendors
    for person in vendors:
        _owner(book, "vendor", person, ids, base)
    problems += lost("foreign amounts (entries mixing currencies)", foreign_lost, "written in base currency only")
    problems += lost("line dates differing from their entry's first line", split_dates,
                     "a GnuCash transaction has one date: the first line's")  # fmt: skip
    problems += lost("open items", ledger.open_items.num_rows, "left out (GnuCash invoices are not written)")
    currencies_kept = sum(1 for c in ledger.accounts.column("currency").to_pylist() if c and c != base)
    problems += lost("account currencies", currencies_kept, f"every account is kept in {base}")
    return doc, problems


def _options(book: etree._Element, ledger: Ledger) -> None:
    """The company in GnuCash's Business options; the fiscal years in a ``migrator-fiscal-years`` slot
    (GnuCash has no per-book fiscal years: its accounting period is a user preference)."""
    company = ledger.company
    values = (("Company Name", company.name), ("Company Address", company.address), ("Company ID", company.vat_number))
    spans = " ".join(f"{y.start.isoformat()}/{y.end.isoformat()}" for y in company.fiscal_years)
    if not any(v for _, v in values) and not spans:
        return
    slots = _sub(book, "book:slots")
    if spans:
        _slot(slots, FISCAL_YEARS_SLOT, spans)
    if not any(v for _, v in values):
        return
    business = _frame(_frame(slots, "options"), "Business")
    for key, value in values:
        if value:
            _slot(business, key, value)


def _tree(ledger: Ledger, ids: _Ids, problems: list[Problem]) -> list[dict[str, Any]]:
    """Account nodes, parents before children: groups as placeholders, then accounts."""
    nodes: dict[str, dict[str, Any]] = {}
    for group in ledger.groups.to_pylist():
        nodes[group["code"]] = {"code": group["code"], "name": group["name"], "parent": group["parent"],
                                "type": "", "placeholder": True, "hidden": False}  # fmt: skip
    guessed = 0
    for account in ledger.accounts.to_pylist():
        kind = GNC_TYPES.get(account["type"])
        if kind is None:
            guessed += 1
            kind = BY_FIRST_DIGIT.get(account["code"][:1], "ASSET")
        node = nodes.setdefault(account["code"], {"code": account["code"], "parent": account["parent"]})
        node.update({"name": account["name"] or account["code"], "type": kind, "placeholder": False,
                     "hidden": not account["active"]})  # fmt: skip
    problems += lost("account types (off-balance or unknown)", guessed, "typed from the Swiss chart's first digit")
    children: dict[str, list[str]] = {}
    for code, node in nodes.items():
        parent = node["parent"] if node["parent"] in nodes and node["parent"] != code else ""
        children.setdefault(parent, []).append(code)
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def visit(code: str, parent_guid: str) -> Iterator[dict[str, Any]]:
        if code in placed:
            return
        placed.add(code)
        node = nodes[code]
        node["guid"], node["parent_guid"] = ids("account", code), parent_guid
        yield node
        for child in children.get(code, []):
            yield from visit(child, node["guid"])

    for top in children.get("", []):
        ordered.extend(visit(top, ids("account", "")))
    for code in nodes:  # groups whose parents form a loop: put them under the root
        ordered.extend(visit(code, ids("account", "")))
    for node in reversed(ordered):  # groups take their first account's type
        if not node["type"]:
            below = [nodes[c]["type"] for c in children.get(node["code"], []) if nodes[c]["type"]]
            node["type"] = below[0] if below else BY_FIRST_DIGIT.get(node["code"][:1], "ASSET")
    return ordered


def _account(book: etree._Element, node: dict[str, Any], base: str) -> None:
    account = _sub(book, "gnc:account", version="2.0.0")
    _sub(account, "act:name", node["name"])
    _sub(account, "act:id", node["guid"], type="guid")
    _sub(account, "act:type", node["type"])
    _commodity(account, "act:commodity", base)
    _sub(account, "act:commodity-scu", "100")
    if node.get("code"):
        _sub(account, "act:code", node["code"])
    if node.get("placeholder") or node.get("hidden"):
        slots = _sub(account, "act:slots")
        if node.get("hidden"):
            _slot(slots, "hidden", "true")
        if node.get("placeholder"):
            _slot(slots, "placeholder", "true")
    if node.get("parent_guid"):
        _sub(account, "act:parent", node["parent_guid"], type="guid")


def _currency_of(rows: list[dict[str, Any]], base: str) -> str:
    """The foreign currency every line of the entry is in, else the base currency."""
    currencies = {r["currency"] for r in rows}
    if len(currencies) != 1 or "" in currencies or base in currencies:
        return base
    if any(r["amount_currency"] is None or (r["amount_currency"] > 0) != (r["amount"] > 0) for r in rows):
        return base
    if any(r["amount_currency"] == 0 and r["amount"] for r in rows):
        return base
    return next(iter(currencies)) if sum(r["amount_currency"] for r in rows) == 0 else base


def _transaction(book: etree._Element, rows: list[dict[str, Any]], guids: dict[str, str], ids: _Ids,
                 base: str) -> tuple[int, int]:  # fmt: skip
    first = rows[0]
    currency = _currency_of(rows, base)
    txn = _sub(book, "gnc:transaction", version="2.0.0")
    _sub(txn, "trn:id", ids("transaction", first["entry"]), type="guid")
    _commodity(txn, "trn:currency", currency)
    if first["doc"]:
        _sub(txn, "trn:num", first["doc"])
    _sub(_sub(txn, "trn:date-posted"), "ts:date", _timestamp(first["date"]))
    _sub(_sub(txn, "trn:date-entered"), "ts:date", _timestamp(first["date"]))
    _sub(txn, "trn:description", first["description"])
    slots = _sub(txn, "trn:slots")
    _slot(slots, "date-posted", first["date"].isoformat(), "gdate")
    if any(r["opening"] for r in rows):
        _slot(slots, "migrator-opening", "true")
    if first["journal"]:
        _slot(slots, "migrator-journal", first["journal"])
    splits = _sub(txn, "trn:splits")
    for row in rows:
        split = _sub(splits, "trn:split")
        _sub(split, "split:id", ids("split", first["entry"], str(row["line"])), type="guid")
        if row["description"] != first["description"] and row["description"]:
            _sub(split, "split:memo", row["description"])
        _sub(split, "split:reconciled-state", "n")
        value = row["amount_currency"] if currency != base else row["amount"]
        _sub(split, "split:value", _rational(value))
        _sub(split, "split:quantity", _rational(row["amount"]))
        _sub(split, "split:account", guids[row["account"]], type="guid")
        _split_slots(split, row)
    foreign = sum(1 for r in rows if r["currency"] and r["currency"] != base) if currency == base else 0
    dates = sum(1 for r in rows if r["date"] != first["date"])
    return foreign, dates


def _split_slots(split: etree._Element, row: dict[str, Any]) -> None:
    """What GnuCash has no field for, as KVP slots GnuCash keeps: VAT code and amount, partner, cost centre."""
    values = [(f"migrator-{key.replace('_', '-')}", row[key]) for key in ("vat_code", "partner", "cost_centre")]
    values = [(k, v) for k, v in values if v]
    if row["vat_line"]:
        values.append(("migrator-vat-line", "true"))
    if not values and row["vat_amount"] is None:
        return
    slots = _sub(split, "split:slots")
    for key, value in values:
        _slot(slots, key, value)
    if row["vat_amount"] is not None:
        _slot(slots, "migrator-vat-amount", str(row["vat_amount"]), "integer")


def _tax_tables(book: etree._Element, ledger: Ledger, guids: dict[str, str], ids: _Ids) -> None:
    """One GnuCash tax table per VAT code: named by the code (a repeated code gets a suffix, GnuCash
    wants unique names), one percentage entry at the rate on the VAT account; every column of the
    VAT code also in ``migrator-*`` slots, which GnuCash keeps (checked with GnuCash 4.13). An entry
    without an account is allowed; a table without entries is not (GnuCash 4.13 drops it on loading)."""
    names: set[str] = set()
    for n, vat in enumerate(ledger.vat_codes.to_pylist()):
        name, k = vat["code"], 1
        while name in names:
            k += 1
            name = f"{vat['code']} ({k})"
        names.add(name)
        node = _sub(book, "gnc:GncTaxTable", version="2.0.0")
        _sub(node, "taxtable:guid", ids("taxtable", vat["code"], str(n)), type="guid")
        _sub(node, "taxtable:name", name)
        _sub(node, "taxtable:refcount", "0")
        _sub(node, "taxtable:invisible", "0")
        entry = _sub(_sub(node, "taxtable:entries"), "gnc:GncTaxTableEntry")
        if vat["account"] in guids:
            _sub(entry, "tte:acct", guids[vat["account"]], type="guid")
        _sub(entry, "tte:amount", _percent(vat["rate"]))
        _sub(entry, "tte:type", "PERCENT")
        slots = _sub(node, "taxtable:slots")
        values = [("code", vat["code"] if name != vat["code"] else ""), ("rate", vat["rate"]),
                  ("kind", vat["kind"]), ("method", vat["method"]),
                  ("account", vat["account"] if vat["account"] not in guids else ""),
                  ("valid-from", vat["valid_from"].isoformat() if vat["valid_from"] else ""),
                  ("valid-to", vat["valid_to"].isoformat() if vat["valid_to"] else ""),
                  ("form-box", vat["form_box"]), ("description", vat["description"])]  # fmt: skip
        # the rate as written ("8.10" stays "8.10"), always: the entry's amount is a rational
        for key, value in values:
            if value or key == "rate":
                _slot(slots, f"migrator-{key}", value)


def _percent(rate: str) -> str:
    """A rate in percent ("8.1") as GnuCash's rational ("81/10"); "0/1" when it is not a number."""
    try:
        value = Fraction(Decimal(rate.strip()))
    except (InvalidOperation, ValueError):
        return "0/1"
    return f"{value.numerator}/{value.denominator}"


def _owner(book: etree._Element, kind: str, person: dict[str, Any], ids: _Ids, base: str) -> None:
    tag, prefix = ("gnc:GncCustomer", "cust") if kind == "customer" else ("gnc:GncVendor", "vendor")
    node = _sub(book, tag, version="2.0.0")
    _sub(node, f"{prefix}:guid", ids(kind, person["id"]), type="guid")
    _sub(node, f"{prefix}:name", person["name"] or person["id"])
    _sub(node, f"{prefix}:id", person["id"])
    address = _sub(node, f"{prefix}:addr", version="2.0.0")
    town = " ".join(p for p in (person["zip"], person["city"]) if p)
    for key, value in (("name", person["contact"]), ("addr1", person["street"]), ("addr2", town),
                       ("addr3", person["country"]), ("phone", person["phone"]), ("email", person["email"])):  # fmt: skip
        if value:
            _sub(address, f"addr:{key}", value)
    if kind == "customer":
        _sub(node, "cust:shipaddr", version="2.0.0")
    _sub(node, f"{prefix}:taxincluded", "USEGLOBAL")
    _sub(node, f"{prefix}:active", "1")
    if kind == "customer":
        _sub(node, "cust:discount", "0/1")
        _sub(node, "cust:credit", "0/1")
    _commodity(node, f"{prefix}:currency", base)
    _sub(node, f"{prefix}:use-tt", "0")


FORMAT = GnucashWriter
