"""GnuCash books: compressed (or plain) XML, SQLite books, and ``.gnucash-xea`` account-chart templates.

Both storage back ends are first read into the same small `Book` (GnuCash's own objects: commodities,
accounts, transactions with splits, customers, vendors, jobs, invoices, lots, prices), then turned
into a ledger by one function, so XML and SQLite books of the same data read alike.

* Split values and quantities are exact rationals (``value_num/value_denom``, XML ``50000/100``);
  one that is not a whole number of cents makes its transaction an error (the transaction is left
  out, named in the problem list).
* Base currency: the root account's currency, else the currency most transactions use.
  A split's base amount is its quantity where the account is kept in the base currency, else its
  value where the transaction is in the base currency; a transaction in another currency with no
  base-currency split is converted with the price database, the last rounding cent going to the
  largest line so the entry still balances (with a warning). Foreign amounts become ``currency``,
  ``amount_currency`` and ``rate``; share quantities of stock accounts are kept in extras.
* Accounts: code = the GnuCash account code, else the full colon-joined name; GnuCash types map to
  asset (ASSET BANK CASH RECEIVABLE STOCK MUTUAL CURRENCY), liability (LIABILITY CREDIT PAYABLE
  CREDITLINE), equity (EQUITY, and TRADING), income, expense. Placeholder accounts become groups.
  The root and the scheduled-transaction templates are left out.
* Dates: GnuCash stores a posted date as a timestamp, 10:59 UTC since 2.6.?, local midnight
  before; the date is that of the timestamp moved 12 hours forward in UTC, right for either kind
  in time zones UTC−11 to UTC+12. A split's memo, where it has one, is that line's description.
* Tax tables become VAT codes (name = code, percentage = rate, entry account = VAT account; the
  rest from migrator's ``migrator-*`` slots where it wrote the book).
* Customers and vendors become partners (address line 1 = street, lines 2–4 = town); posted,
  unpaid invoices and bills become open items, their open amount the balance of the invoice's lot.
* Opening entries: transactions on an equity account marked ``equity-type: opening-balance``
  (GnuCash's opening-balance account) or carrying migrator's ``migrator-opening`` slot.
* Fiscal years: those of migrator's ``migrator-fiscal-years`` book slot, else none (GnuCash keeps
  its accounting period as a user preference, not in the book).
"""

from __future__ import annotations

import bisect
import contextvars
import datetime as dt
import functools
import gzip
import re
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import pyarrow as pa
from lxml import etree

from migrator import limits, sources, xmlsafe
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import SCHEMAS, Company, FiscalYear, Ledger, table
from migrator.parsing import decimal_text
from migrator.readers.base import ReadOptions, Rows
from migrator.sources import Source

SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
CURRENCY_SPACES = ("CURRENCY", "ISO4217")  # ISO4217 is the old name, still used in the .gnucash-xea templates
TYPES = {
    "ASSET": "asset", "BANK": "asset", "CASH": "asset", "RECEIVABLE": "asset", "STOCK": "asset",
    "MUTUAL": "asset", "CURRENCY": "asset", "LIABILITY": "liability", "CREDIT": "liability",
    "PAYABLE": "liability", "CREDITLINE": "liability", "EQUITY": "equity", "TRADING": "equity",
    "INCOME": "income", "EXPENSE": "expense",
}  # fmt: skip
FISCAL_YEARS = "migrator-fiscal-years"  # book slot migrator's writer adds (writers/gnucash.py)
OWNER_KINDS = {2: "customer", 3: "job", 4: "vendor", 5: "employee"}  # GncOwnerType in gncOwner.h
NS = {
    n: f"http://www.gnucash.org/XML/{n}"
    for n in ("gnc", "act", "book", "cmdty", "slot", "split", "trn", "ts", "cust", "vendor", "addr", "invoice",
              "owner", "job", "lot", "price", "employee", "taxtable", "tte")
}  # fmt: skip


@dataclass(slots=True)
class Split:
    account: str
    memo: str
    value: Fraction
    quantity: Fraction
    row: int | None
    lot: str = ""
    action: str = ""
    guid: str = ""
    slots: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Transaction:
    guid: str
    currency: str
    num: str
    posted: dt.date | None
    entered: str
    description: str
    row: int | None
    splits: list[Split] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)


@dataclass
class Account:
    guid: str
    name: str
    type: str
    commodity: str
    parent: str
    code: str
    description: str
    hidden: bool
    placeholder: bool
    row: int | None
    slots: dict[str, str] = field(default_factory=dict)


@dataclass
class Book:
    """What both back ends hold, in GnuCash's terms. Commodities are keyed ``SPACE:MNEMONIC``."""

    root: str = ""
    templates: set[str] = field(default_factory=set)
    accounts: dict[str, Account] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Customers, vendors, employees and jobs by GUID: kind, id, name, address…, owner (jobs)."""
    invoices: list[dict[str, Any]] = field(default_factory=list)
    taxtables: list[dict[str, Any]] = field(default_factory=list)
    """Tax tables: name, invisible, entries [(account GUID, amount, percent?)], slots, row."""
    prices: list[tuple[str, str, dt.date | None, Fraction]] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    version: str = ""
    template_file: bool = False


def is_currency(commodity: str) -> bool:
    return commodity.split(":", 1)[0] in CURRENCY_SPACES


def mnemonic(commodity: str) -> str:
    return commodity.split(":", 1)[-1]


@functools.lru_cache(maxsize=4096)  # a book's transactions share a few hundred days
def timestamp_date(text: str) -> dt.date | None:
    """The date GnuCash means by a posted timestamp (see the module docstring)."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 14 and text.isdigit():  # SQLite books before 2.6.20: yyyymmddhhmmss, UTC
        stamp = dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    elif len(text) > 19:  # XML: "2014-12-24 10:59:00 +0000"
        stamp = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    else:  # SQLite: "2014-12-24 10:59:00", UTC
        stamp = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    return (stamp.astimezone(dt.UTC) + dt.timedelta(hours=12)).date()


def rational(text: str) -> Fraction:
    num, _, denom = text.strip().partition("/")
    return Fraction(int(num), int(denom or 1))


# ------------------------------------------------------------------------------------------------- XML


@functools.lru_cache(maxsize=512)
def _path(path: str) -> str:
    """A ``prefix:name/…`` path in Clark notation (``{uri}name/…``): lxml compiles and caches such a
    path once, where a path with a namespaces map is compiled again on every call (8 µs a call, most of
    a large book's reading time)."""
    return "/".join(
        f"{{{NS[step.split(':', 1)[0]]}}}{step.split(':', 1)[1]}" if ":" in step else step for step in path.split("/")
    )


def _t(node: etree._Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(_path(path))
    return (found.text or "").strip() if found is not None else ""


def _line(node: etree._Element) -> int | None:
    line = node.sourceline
    if not isinstance(line, int):
        return None
    shifts = _SHIFTS.get()
    if shifts is None or not shifts.at or line >= _BIG_LINE:
        return shifts.true(line) if shifts is not None else line
    line = shifts.true(line)
    if line < _BIG_LINE:
        return line
    # lxml saw this element before line 65535, GnuCash's file has it after: what lxml reports there
    text = node.text  # (`_big_line`)
    return line + text.count("\n") if text else line


_BIG_LINE = 65535
"""From this line on, libxml2 keeps no line number in an element: lxml's `sourceline` (xmlGetLineNo)
is then the line where the element's first child, its leading blanks as a rule, ends (libxml2
tree.c, xmlGetLineNoInternal)."""


def _big_line(text: str, tag_end: int, line: int) -> int | None:
    """The line lxml reports for an element whose start tag ends at `tag_end` on `line` (>= 65535):
    where its leading blanks end, else where the text of its first child ends (None where that is
    empty: not worked out here)."""
    end = text.find("<", tag_end)
    if end > tag_end:
        return line + text.count("\n", tag_end, end)
    close = text.find("<", text.find(">", end) + 1)
    inner = text.find(">", end) + 1
    return line + text.count("\n", tag_end, close) if close > inner else None


def _commodity(node: etree._Element | None) -> str:
    if node is None or node.find(_path("cmdty:id")) is None:
        return ""
    return f"{_t(node, 'cmdty:space')}:{_t(node, 'cmdty:id')}"


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    """Children called `name` in no namespace or, in .gnucash-xea templates, the default one."""
    return [c for c in node if c.tag == name  # no namespace: the common case, without a QName per child
            or (isinstance(c.tag, str) and c.prefix is None and etree.QName(c).localname == name)]  # fmt: skip


_SLOT_KEY = _path("slot:key")
_SLOT_VALUE = _path("slot:value")


def _slots(node: etree._Element | None, prefix: str = "") -> dict[str, str]:
    """KVP slots flattened to ``frame/key`` paths; dates as ISO text."""
    out: dict[str, str] = {}
    if node is None:
        return out
    for slot in _children(node, "slot"):
        key_node = value = None
        for child in slot:  # one pass over a slot's two children instead of a `find` for each
            if child.tag == _SLOT_KEY:
                key_node = key_node if key_node is not None else child
            elif child.tag == _SLOT_VALUE and value is None:
                value = child
        key = sys.intern(prefix + ((key_node.text or "").strip() if key_node is not None else ""))
        if value is None:
            continue
        kind = value.get("type", "")
        if kind == "frame":
            out.update(_slots(value, key + "/"))
        elif kind == "timespec":
            out[key] = _t(value, "ts:date")
        elif kind == "gdate":
            out[key] = next(((g.text or "").strip() for g in _children(value, "gdate")), "")
        else:
            out[key] = (value.text or "").strip()
    return out


def _address(node: etree._Element | None) -> dict[str, str]:
    names = ("addr1", "addr2", "addr3", "addr4", "phone", "email")
    return {"contact": _t(node, "addr:name"), **{n: _t(node, f"addr:{n}") for n in names}}


_TRN = {name: _path(f"trn:{name}") for name in ("id", "currency", "num", "date-posted", "date-entered",
                                                 "description", "slots", "splits", "split")}  # fmt: skip
_SPLIT = {name: _path(f"split:{name}") for name in ("account", "memo", "value", "quantity", "lot", "action", "id",
                                                    "slots")}  # fmt: skip
_TS_DATE = _path("ts:date")


def _first_children(node: etree._Element) -> dict[Any, etree._Element]:
    """Each child tag's first element (a dict is built once per element: `find` parses its path on every call)."""
    out: dict[Any, etree._Element] = {}
    for child in node:
        out.setdefault(child.tag, child)
    return out


def _text(children: dict[Any, etree._Element], tag: str) -> str:
    found = children.get(tag)
    return (found.text or "").strip() if found is not None else ""


_NO_SLOTS: dict[str, str] = {}
"""The slots of every split that has none (one dict shared: slots are only read)."""


def _transaction(node: etree._Element) -> Transaction:
    """A transaction and its splits; what nothing reads (the entered date, the splits' GUIDs) is left
    out, to keep a large book's transactions small while they stream in."""
    kids = _first_children(node)
    posted_node = kids.get(_TRN["date-posted"])
    posted = _t(posted_node, "ts:date") if posted_node is not None else ""
    txn = Transaction(
        guid=_text(kids, _TRN["id"]), currency=_commodity(kids.get(_TRN["currency"])), num=_text(kids, _TRN["num"]),
        posted=timestamp_date(posted) if posted else None, entered="",
        description=_text(kids, _TRN["description"]), row=_line(node), slots=_slots(kids.get(_TRN["slots"])),
    )  # fmt: skip
    splits = kids.get(_TRN["splits"])
    for split in splits.iterchildren(_TRN["split"]) if splits is not None else ():
        parts = _first_children(split)
        txn.splits.append(Split(
            account=sys.intern(_text(parts, _SPLIT["account"])), memo=_text(parts, _SPLIT["memo"]),
            value=rational(_text(parts, _SPLIT["value"]) or "0"),
            quantity=rational(_text(parts, _SPLIT["quantity"]) or "0"), row=_line(split),
            lot=_text(parts, _SPLIT["lot"]), action=_text(parts, _SPLIT["action"]),
            slots=_slots(parts.get(_SPLIT["slots"])) if _SPLIT["slots"] in parts else _NO_SLOTS,
        ))  # fmt: skip
    return txn


def read_xml(root: etree._Element, streamed: list[Transaction] | None = None) -> Book:
    """The book under `root`; `streamed`: its transactions, read (and taken out of the tree) while it
    was parsed."""
    book = Book(template_file=etree.QName(root).localname == "gnc-account-example")
    book.transactions = list(streamed or ())
    holder = root.find(_path("gnc:book"))
    holder = root if holder is None else holder
    book.options = _slots(holder.find(_path("book:slots")))
    for node in holder.findall(_path("gnc:account")):
        slots = _slots(node.find(_path("act:slots")))
        account = Account(
            guid=_t(node, "act:id"), name=_t(node, "act:name"), type=_t(node, "act:type"),
            commodity=_commodity(node.find(_path("act:commodity"))), parent=_t(node, "act:parent"),
            code=_t(node, "act:code"), description=_t(node, "act:description"),
            hidden=slots.get("hidden") == "true", placeholder=slots.get("placeholder") == "true",
            row=_line(node), slots=slots,
        )  # fmt: skip
        book.accounts[account.guid] = account
        if account.type == "ROOT" and not account.parent and not book.root:
            book.root = account.guid
    for node in holder.findall(_path("gnc:transaction")):
        book.transactions.append(_transaction(node))
    for tag, kind in (("GncCustomer", "customer"), ("GncVendor", "vendor"), ("GncEmployee", "employee")):
        prefix = {"customer": "cust", "vendor": "vendor", "employee": "employee"}[kind]
        for node in holder.findall(_path(f"gnc:{tag}")):
            name = _t(node, f"{prefix}:name") or _t(node, f"{prefix}:username")
            book.owners[_t(node, f"{prefix}:guid")] = {
                "kind": kind, "id": _t(node, f"{prefix}:id"), "name": name, "row": _line(node),
                "active": _t(node, f"{prefix}:active") != "0", **_address(node.find(_path(f"{prefix}:addr"))),
            }  # fmt: skip
    for node in holder.findall(_path("gnc:GncJob")):
        book.owners[_t(node, "job:guid")] = {"kind": "job", "id": _t(node, "job:id"), "name": _t(node, "job:name"),
                                             "owner": _t(node, "job:owner/owner:id")}  # fmt: skip
    for node in holder.findall(_path("gnc:GncInvoice")):
        owner_type = _t(node, "invoice:owner/owner:type")
        book.invoices.append({
            "id": _t(node, "invoice:id"), "owner": _t(node, "invoice:owner/owner:id"),
            "owner_type": owner_type.removeprefix("gnc").lower(), "posted": _t(node, "invoice:posted/ts:date"),
            "post_txn": _t(node, "invoice:posttxn"), "post_lot": _t(node, "invoice:postlot"),
            "post_acc": _t(node, "invoice:postacc"), "currency": _commodity(node.find(_path("invoice:currency"))),
            "notes": _t(node, "invoice:notes"), "row": _line(node),
        })  # fmt: skip
    for node in holder.findall(_path("gnc:GncTaxTable")):
        book.taxtables.append({
            "name": _t(node, "taxtable:name"), "invisible": _t(node, "taxtable:invisible") == "1",
            "entries": [(_t(e, "tte:acct"), rational(_t(e, "tte:amount") or "0"), _t(e, "tte:type") == "PERCENT")
                        for e in node.findall(_path("taxtable:entries/gnc:GncTaxTableEntry"))],
            "slots": _slots(node.find(_path("taxtable:slots"))), "row": _line(node),
        })  # fmt: skip
    pricedb = holder.find(_path("gnc:pricedb"))
    for node in _children(pricedb, "price") if pricedb is not None else []:
        when = _t(node, "price:time/ts:date")
        book.prices.append((_commodity(node.find(_path("price:commodity"))), _commodity(node.find(_path("price:currency"))),
                            timestamp_date(when) if when else None, rational(_t(node, "price:value") or "0")))  # fmt: skip
    for node in holder.findall(_path("gnc:template-transactions/gnc:account")):
        book.templates.add(_t(node, "act:id"))
    return book


# ---------------------------------------------------------------------------------------------- SQLite


def _query(db: sqlite3.Connection, sql: str, *args: Any) -> list[sqlite3.Row]:
    return db.execute(sql, args).fetchall()


def _tables(db: sqlite3.Connection) -> set[str]:
    """The real tables (a view named like a GnuCash table is never read: it could run without end)."""
    return sources.tables_only(db)


def read_sqlite(db: sqlite3.Connection) -> Book:
    db.row_factory = sqlite3.Row
    book = Book()
    tables = _tables(db)
    commodities = {r["guid"]: f"{r['namespace']}:{r['mnemonic']}" for r in _query(db, "SELECT * FROM commodities")}
    books = _query(db, "SELECT * FROM books")
    if books:
        book.root = books[0]["root_account_guid"]
        book.templates = _descendants(db, {r["root_template_guid"] for r in books})
    slots: dict[str, dict[str, str]] = {}
    # slot_type: 1 int64, 4 string, 5 guid, 6 time, 9 frame (guid_val), 10 gdate (GnuCash kvp-value.hpp)
    columns = {1: "int64_val", 4: "string_val", 5: "guid_val", 6: "timespec_val", 9: "guid_val", 10: "gdate_val"}
    for r in _query(db, "SELECT * FROM slots") if "slots" in tables else ():
        column = columns.get(r["slot_type"])
        value = r[column] if column else None
        slots.setdefault(r["obj_guid"], {})[r["name"]] = "" if value is None else str(value)
    # book options are frames whose slots carry their full path: 'options/Business/Company Name'
    for values in slots.values():
        book.options.update({k: v for k, v in values.items() if k.startswith("options/") or k == FISCAL_YEARS})
    for r in _query(db, "SELECT rowid, * FROM accounts"):
        own = slots.get(r["guid"], {})
        book.accounts[r["guid"]] = Account(
            guid=r["guid"], name=r["name"], type=r["account_type"], commodity=commodities.get(r["commodity_guid"], ""),
            parent=r["parent_guid"] or "", code=r["code"] or "", description=r["description"] or "",
            hidden=bool(r["hidden"]), placeholder=bool(r["placeholder"]) or own.get("placeholder") == "true",
            row=r["rowid"], slots=own,
        )  # fmt: skip
    transactions = {}
    for r in _query(db, "SELECT rowid, * FROM transactions ORDER BY post_date, enter_date, guid"):
        txn = Transaction(guid=r["guid"], currency=commodities.get(r["currency_guid"], ""), num=r["num"] or "",
                          posted=timestamp_date(r["post_date"] or ""), entered=r["enter_date"] or "",
                          description=r["description"] or "", row=r["rowid"], slots=slots.get(r["guid"], {}))  # fmt: skip
        transactions[txn.guid] = txn
        book.transactions.append(txn)
    for r in _query(db, "SELECT rowid, * FROM splits ORDER BY rowid"):
        owner = transactions.get(r["tx_guid"])
        if owner is not None:
            owner.splits.append(Split(
                account=r["account_guid"], memo=r["memo"] or "", row=r["rowid"], lot=r["lot_guid"] or "",
                value=Fraction(r["value_num"], r["value_denom"]), quantity=Fraction(r["quantity_num"], r["quantity_denom"]),
                action=r["action"] or "", guid=r["guid"], slots=slots.get(r["guid"], {}),
            ))  # fmt: skip
    for name, kind in (("customers", "customer"), ("vendors", "vendor")):
        if name in tables:
            for r in _query(db, f"SELECT rowid, * FROM {name}"):
                book.owners[r["guid"]] = {
                    "kind": kind, "id": r["id"], "name": r["name"], "row": r["rowid"], "active": bool(r["active"]),
                    "contact": r["addr_name"] or "",
                    **{k: r[f"addr_{k}"] or "" for k in ("addr1", "addr2", "addr3", "addr4", "phone", "email")},
                }  # fmt: skip
    if "employees" in tables:
        for r in _query(db, "SELECT rowid, * FROM employees"):
            book.owners[r["guid"]] = {"kind": "employee", "id": r["id"], "name": r["addr_name"] or r["username"],
                                      "row": r["rowid"], "active": bool(r["active"])}  # fmt: skip
    if "jobs" in tables:
        for r in _query(db, "SELECT * FROM jobs"):
            book.owners[r["guid"]] = {"kind": "job", "id": r["id"], "name": r["name"], "owner": r["owner_guid"]}
    if "invoices" in tables:
        for r in _query(db, "SELECT rowid, * FROM invoices"):
            book.invoices.append({
                "id": r["id"], "owner": r["owner_guid"] or "", "owner_type": OWNER_KINDS.get(r["owner_type"], ""),
                "posted": r["date_posted"] or "", "post_txn": r["post_txn"] or "", "post_lot": r["post_lot"] or "",
                "post_acc": r["post_acc"] or "", "currency": commodities.get(r["currency"], ""), "notes": r["notes"] or "",
                "row": r["rowid"],
            })  # fmt: skip
    if "taxtables" in tables and "taxtable_entries" in tables:
        entries: dict[str, list[tuple[str, Fraction, bool]]] = {}
        for r in _query(db, "SELECT * FROM taxtable_entries ORDER BY id"):
            # type: GncAmountType in gncTaxTable.h, 1 value, 2 percent
            entries.setdefault(r["taxtable"], []).append((r["account"] or "", Fraction(r["amount_num"],
                                                          r["amount_denom"]), r["type"] == 2))  # fmt: skip
        for r in _query(db, "SELECT rowid, * FROM taxtables"):
            book.taxtables.append({"name": r["name"], "invisible": bool(r["invisible"]),
                                   "entries": entries.get(r["guid"], []), "slots": slots.get(r["guid"], {}),
                                   "row": r["rowid"]})  # fmt: skip
    if "prices" in tables:
        for r in _query(db, "SELECT * FROM prices"):
            book.prices.append((commodities.get(r["commodity_guid"], ""), commodities.get(r["currency_guid"], ""),
                                timestamp_date(r["date"] or ""), Fraction(r["value_num"], r["value_denom"])))  # fmt: skip
    if "versions" in tables:
        versions = {r[0]: r[1] for r in _query(db, "SELECT table_name, table_version FROM versions")}
        book.version = str(versions.get("Gnucash", ""))
    return book


def _descendants(db: sqlite3.Connection, roots: set[str]) -> set[str]:
    found = set(roots)
    frontier = set(roots)
    while frontier:
        marks = ",".join("?" * len(frontier))
        children = {
            r[0] for r in db.execute(f"SELECT guid FROM accounts WHERE parent_guid IN ({marks})", list(frontier))
        }
        frontier = children - found
        found |= children
    return found


# ---------------------------------------------------------------------------------------- book → ledger


def _cents(value: Fraction) -> int | None:
    """The value in whole cents, or None. A value in lowest terms is whole cents exactly when its
    denominator divides 100 (the common case, without Fraction arithmetic)."""
    denominator = value.denominator
    if 100 % denominator == 0:
        return value.numerator * (100 // denominator)
    return None


def _rate_text(value: Fraction) -> str:
    with localcontext() as context:
        context.prec = 12
        return decimal_text(Decimal(value.numerator) / Decimal(value.denominator))


def allocate(raw: list[Fraction], total: int) -> list[int]:
    """Whole cents near `raw` (cents as fractions) that add up exactly to `total` (largest remainders)."""
    floors = [r.numerator // r.denominator for r in raw]
    rest = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[: max(rest, 0)]:
        floors[i] += 1
    return floors


class _ColumnRows(Rows):
    """`Rows` keeping a list per column instead of a dict per line (a million splits: about a
    gigabyte less); `lines()` builds the same table as `Rows.lines()`."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.columns: dict[str, list[Any]] = {name: [] for name in SCHEMAS["lines"].names}

    def add(self, **values: Any) -> None:
        values.setdefault("source_file", self.file)
        for name, column in self.columns.items():
            column.append(values.get(name))

    def lines(self) -> pa.Table:
        columns = self.columns
        if any(v is None for v in columns["line"]):  # numbered within their entry, as `number_lines` does
            seen: dict[str, int] = {}
            for i, entry in enumerate(columns["entry"]):
                key = str(entry if entry is not None else "")
                seen[key] = seen.get(key, 0) + 1
                if columns["line"][i] is None:
                    columns["line"][i] = seen[key]
        schema = SCHEMAS["lines"]
        defaults = table("lines", [{}]).to_pylist()[0]  # what `table` puts where a row has no value
        arrays = []
        for fld in schema:
            values = columns.pop(fld.name)
            default = defaults[fld.name]
            if default is not None:
                values = [default if v is None else v for v in values]
            arrays.append(pa.array(values, type=fld.type))
            del values
        self.columns = {name: [] for name in schema.names}
        return pa.Table.from_arrays(arrays, schema=schema)


_NO_FIELDS: tuple[str, int | None, bool, str, str] = ("", None, False, "", "")


class _Converter:
    """Turns a `Book` into canonical tables."""

    def __init__(self, book: Book, file: str) -> None:
        self.book = book
        self.file = file
        self.rows = _ColumnRows(file)
        self.base = self._base_currency()
        self.codes: dict[str, str] = {}
        self.extras: list[dict[str, Any]] = []

    def _base_currency(self) -> str:
        root = self.book.accounts.get(self.book.root)
        if root is not None and is_currency(root.commodity):
            return mnemonic(root.commodity)
        used = Counter(t.currency for t in self.book.transactions if is_currency(t.currency))
        if not used:
            used = Counter(a.commodity for a in self.book.accounts.values() if is_currency(a.commodity))
        return mnemonic(used.most_common(1)[0][0]) if used else "CHF"

    def in_book(self, account: Account) -> bool:
        return account.type != "ROOT" and account.guid not in self.book.templates and self._root_of(account) not in \
            self.book.templates  # fmt: skip

    def _root_of(self, account: Account) -> str:
        seen = set()
        while account.parent in self.book.accounts and account.parent not in seen:
            seen.add(account.parent)
            account = self.book.accounts[account.parent]
        return account.guid

    def full_name(self, account: Account) -> str:
        names = []
        seen: set[str] = set()
        node: Account | None = account
        while node is not None and node.type != "ROOT" and node.guid not in seen:
            seen.add(node.guid)
            names.append(node.name)
            node = self.book.accounts.get(node.parent)
        return ":".join(reversed(names))

    def chart(self, used: set[str]) -> tuple[pa.Table, pa.Table]:
        accounts, groups = [], []
        taken: dict[str, str] = {}
        for account in self.book.accounts.values():
            if not self.in_book(account):
                continue
            code = account.code or self.full_name(account)
            if code in taken:
                self.rows.problem(account.row, N_("account code {code!r} is used twice; {full_name!r} keeps its full name as code").format(code=code, full_name=self.full_name(account)), "warning")  # fmt: skip
                code = self.full_name(account)
            taken[code] = account.guid
            self.codes[account.guid] = code
        for account in self.book.accounts.values():
            if account.guid not in self.codes:
                continue
            parent = self.codes.get(account.parent, "")
            code = self.codes[account.guid]
            if account.placeholder:
                groups.append({"code": code, "name": account.name, "parent": parent})
            if not account.placeholder or account.guid in used:
                currency = mnemonic(account.commodity) if is_currency(account.commodity) else ""
                accounts.append({
                    "code": code, "name": account.name, "type": TYPES.get(account.type, ""), "parent": parent,
                    "currency": "" if currency == self.base else currency, "active": not account.hidden,
                })  # fmt: skip
                if account.type not in TYPES:
                    self.rows.problem(account.row, N_("account {code}: GnuCash type {type!r} is unknown").format(code=code, type=account.type),
                                      "warning")  # fmt: skip
        return table("accounts", accounts), table("groups", groups)

    def opening_accounts(self) -> set[str]:
        return {a.guid for a in self.book.accounts.values() if a.slots.get("equity-type") == "opening-balance"}

    def lines(self) -> None:
        opening_accounts = self.opening_accounts()
        number = 0
        codes, file = self.codes, self.file
        columns = [self.rows.columns[name] for name in SCHEMAS["lines"].names]  # in `batch`'s order below
        batch: list[tuple[Any, ...]] = []
        for txn in self._transactions():
            splits = [s for s in txn.splits if s.account in self.codes]
            if len(splits) != len(txn.splits):
                if not splits:
                    continue  # a scheduled-transaction template
                self.rows.problem(
                    txn.row,
                    N_("transaction {description!r} uses accounts outside the book: left out").format(
                        description=txn.description
                    ),
                )
                continue
            if txn.posted is None:
                self.rows.problem(
                    txn.row,
                    N_("transaction {description!r} has no posted date: left out").format(description=txn.description),
                )
                continue
            amounts = self._amounts(txn, splits)
            if amounts is None:
                continue
            number += 1
            entry = str(number)
            opening = txn.slots.get("migrator-opening") == "true" or any(s.account in opening_accounts for s in splits)
            journal = txn.slots.get("migrator-journal", "")
            for position, (split, (amount, currency, foreign, rate)) in enumerate(zip(splits, amounts, strict=True), 1):
                batch.append((entry, position, txn.posted, txn.num, split.memo or txn.description,
                              codes[split.account], amount, currency, foreign, rate, *self._migrator_slots(split),
                              journal, opening, file, split.row))  # fmt: skip
            if len(batch) >= 65_536:  # lines as rows, moved into the columns a batch at a time
                for column, values in zip(columns, zip(*batch, strict=True), strict=True):
                    column.extend(values)
                batch.clear()
        for column, values in zip(columns, zip(*batch, strict=True), strict=True) if batch else ():
            column.extend(values)

    def _transactions(self) -> Iterator[Transaction]:
        """The book's transactions in order; in a book without invoices (nothing reads them again: open
        items come from invoices) each is let go once converted, so that a book's objects and its lines
        are not held side by side."""
        transactions = self.book.transactions
        if self.book.invoices:
            yield from transactions
            return
        transactions.reverse()
        while transactions:
            yield transactions.pop()

    def _migrator_slots(self, split: Split) -> tuple[str, int | None, bool, str, str]:
        """Line fields migrator's GnuCash writer keeps in split slots: VAT code, VAT amount, VAT line,
        partner, cost centre."""
        slots = split.slots
        if not slots:
            return _NO_FIELDS
        amount = slots.get("migrator-vat-amount", "")
        return (slots.get("migrator-vat-code", ""), int(amount) if amount.lstrip("-").isdigit() else None,
                slots.get("migrator-vat-line") == "true", slots.get("migrator-partner", ""),
                slots.get("migrator-cost-centre", ""))  # fmt: skip

    def _amounts(self, txn: Transaction, splits: list[Split]) -> list[tuple[int, str, int | None, str]] | None:
        """(base cents, foreign currency, foreign cents, rate) per split, or None (with a problem)."""
        if txn.currency in self.base_commodities and all(s.account in self.base_accounts for s in splits):
            # the common case, as below without the currency lookups: every value, then every quantity
            for split in splits:
                if 100 % split.value.denominator:
                    break
            else:
                out: list[tuple[int, str, int | None, str]] = []
                for split in splits:
                    quantity = split.quantity
                    if 100 % quantity.denominator:
                        self.rows.problem(split.row, N_("split quantity {quantity} is not a whole number of cents").format(quantity=quantity))  # fmt: skip
                        return None
                    out.append((quantity.numerator * (100 // quantity.denominator), "", None, ""))
                return out
        return self._other_amounts(txn, splits)

    @functools.cached_property
    def base_commodities(self) -> set[str]:
        """The base currency as a commodity (``CURRENCY:CHF``, ``ISO4217:CHF``)."""
        return {f"{space}:{self.base}" for space in CURRENCY_SPACES}

    @functools.cached_property
    def base_accounts(self) -> set[str]:
        """GUIDs of the accounts kept in the base currency."""
        return {guid for guid, account in self.book.accounts.items()
                if is_currency(account.commodity) and mnemonic(account.commodity) == self.base}  # fmt: skip

    def _other_amounts(self, txn: Transaction, splits: list[Split]) -> list[tuple[int, str, int | None, str]] | None:
        currency = mnemonic(txn.currency)
        if not is_currency(txn.currency):
            self.rows.problem(
                txn.row,
                N_("transaction {description!r} is in {currency!r}, not a currency").format(
                    description=txn.description, currency=txn.currency
                ),
            )
            return None
        for split in splits:
            if _cents(split.value) is None:
                self.rows.problem(split.row, N_("transaction {description!r}: split value {value} is not a whole number of cents; the transaction is left out").format(description=txn.description, value=split.value))  # fmt: skip
                return None
        out: list[tuple[int, str, int | None, str] | None] = []
        for split in splits:
            commodity = self.book.accounts[split.account].commodity
            value = _cents(split.value)
            assert value is not None
            if is_currency(commodity) and mnemonic(commodity) == self.base:
                quantity = _cents(split.quantity)
                if quantity is None:
                    self.rows.problem(
                        split.row,
                        N_("split quantity {quantity} is not a whole number of cents").format(quantity=split.quantity),
                    )
                    return None
                if currency == self.base:
                    out.append((quantity, "", None, ""))
                else:
                    rate = _rate_text(split.quantity / split.value) if split.value else ""
                    out.append((quantity, currency, value, rate))
            elif currency == self.base:
                out.append((value, *self._other_commodity(split, commodity, value)))
            else:
                out.append(None)
        if any(o is None for o in out):
            return self._converted(txn, splits, out)
        return [o for o in out if o is not None]

    def _other_commodity(self, split: Split, commodity: str, value: int) -> tuple[str, int | None, str]:
        if is_currency(commodity):
            quantity = _cents(split.quantity)
            if quantity is not None:
                rate = _rate_text(split.value / split.quantity) if split.quantity else ""
                return mnemonic(commodity), quantity, rate
        self.extras.append({"source_row": split.row, "commodity": commodity, "quantity": str(split.quantity)})
        return "", None, ""

    def _converted(self, txn: Transaction, splits: list[Split], out: list[Any]) -> list[Any] | None:
        """Base amounts for the splits of a foreign-currency transaction that have none yet."""
        known = sum(o[0] for o in out if o is not None)
        known_value = sum((s.value for s, o in zip(splits, out, strict=True) if o is not None), Fraction(0))
        missing = [i for i, o in enumerate(out) if o is None]
        currency = mnemonic(txn.currency)
        if known_value:
            rate = Fraction(known) / 100 / known_value
        else:
            price = self._price(currency, txn.posted)
            if price is None:
                self.rows.problem(txn.row, N_("transaction {description!r} is in {currency} with no {base} split and no {currency}/{base} price: left out").format(description=txn.description, currency=currency, base=self.base))  # fmt: skip
                return None
            rate = price
            self.rows.problem(txn.row, N_("transaction {description!r} in {currency} converted to {base} at the price-database rate {rate_text}").format(description=txn.description, currency=currency, base=self.base, rate_text=_rate_text(price)), "warning")  # fmt: skip
        cents = allocate([splits[i].value * rate * 100 for i in missing], -known)
        for i, amount in zip(missing, cents, strict=True):
            split = splits[i]
            commodity = self.book.accounts[split.account].commodity
            foreign = _cents(split.value)
            out[i] = (amount, currency, foreign, _rate_text(rate))
            if not is_currency(commodity) or mnemonic(commodity) != currency:
                self.extras.append({"source_row": split.row, "commodity": commodity, "quantity": str(split.quantity)})
        return out

    def _price(self, currency: str, day: dt.date | None) -> Fraction | None:
        """Value of one unit of `currency` in base currency: the last price on or before `day`, else the first."""
        found = []
        for commodity, quoted_in, when, value in self.book.prices:
            if is_currency(commodity) and mnemonic(commodity) == currency and mnemonic(quoted_in) == self.base:
                found.append((when or dt.date.min, value))
            elif (
                value
                and is_currency(quoted_in)
                and mnemonic(quoted_in) == currency
                and mnemonic(commodity) == self.base
            ):
                found.append((when or dt.date.min, 1 / value))
        if not found:
            return None
        found.sort(key=lambda item: item[0])
        before = [v for w, v in found if day is None or w <= day]
        return before[-1] if before else found[0][1]

    def vat_codes(self) -> pa.Table:
        """Tax tables as VAT codes: the name is the code, the percentage the rate, the first entry's
        account the VAT account; what migrator keeps in ``migrator-*`` slots (kind, method, validity,
        VAT form box, description, the rate as written) wins. Invisible tables (the copies GnuCash
        keeps for invoices that used a table) are left out."""
        rows: list[dict[str, Any]] = []
        for tax in self.book.taxtables:
            if tax["invisible"]:
                continue
            slots = tax["slots"]
            percent = [amount for _, amount, is_percent in tax["entries"] if is_percent]
            accounts = [self.codes.get(guid, "") for guid, *_ in tax["entries"] if guid]
            days = {}
            for key in ("valid_from", "valid_to"):
                text = slots.get(f"migrator-{key.replace('_', '-')}", "")
                try:
                    days[key] = dt.date.fromisoformat(text) if text else None
                except ValueError:
                    self.rows.problem(tax["row"], N_("tax table {name!r}: {key} {text!r} is not a date (expected yyyy-mm-dd): left empty").format(name=tax['name'], key=key, text=text), "warning")  # fmt: skip
                    days[key] = None
            rows.append({
                "code": slots.get("migrator-code") or tax["name"],
                "rate": slots["migrator-rate"] if "migrator-rate" in slots else
                        (_rate_text(sum(percent, Fraction(0))) if percent else ""),
                "kind": slots.get("migrator-kind", ""), "method": slots.get("migrator-method", ""),
                "account": slots["migrator-account"] if "migrator-account" in slots else
                           (accounts[0] if accounts else ""),
                **days, "form_box": slots.get("migrator-form-box", ""),
                "description": slots.get("migrator-description", ""),
            })  # fmt: skip
        return table("vat_codes", rows)

    def fiscal_years(self, text: str) -> tuple[FiscalYear, ...]:
        """The fiscal years of migrator's book slot (``start/end`` ISO dates separated by spaces)."""
        spans: list[FiscalYear] = []
        for part in text.split():
            start, _, end = part.partition("/")
            try:
                span = FiscalYear(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
                if span.end < span.start:
                    raise ValueError(part)
                spans.append(span)
            except ValueError:
                self.rows.problem(None, N_("book slot {fiscal_years}: {part!r} is not a fiscal year (expected yyyy-mm-dd/yyyy-mm-dd): fiscal years left out").format(fiscal_years=FISCAL_YEARS, part=part), "warning")  # fmt: skip
                return ()
        return tuple(spans)

    def partners(self) -> pa.Table:
        rows: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        for owner in self.book.owners.values():
            if owner["kind"] not in ("customer", "vendor"):
                continue
            kind = "customer" if owner["kind"] == "customer" else "supplier"
            pid = owner["id"]
            if pid in seen:
                match = next(r for r in rows if r["id"] == pid)
                if match["name"] == owner["name"] and match["roles"] != kind:
                    match["roles"] = "both"
                    continue
                pid = f"{kind[0].upper()}-{pid}"
                self.rows.problem(owner.get("row"), N_("{kind} id {id!r} is also used by another customer or vendor; this one is {pid!r}").format(kind=owner['kind'], id=owner['id'], pid=pid), "warning")  # fmt: skip
            seen[pid] = kind
            contact = owner.get("contact", "")
            contact = "" if contact == owner["name"] else contact
            town = ", ".join(owner.get(k, "") for k in ("addr2", "addr3", "addr4") if owner.get(k))
            rows.append({"id": pid, "roles": kind, "name": owner["name"], "street": owner.get("addr1", ""), "city": town,
                         "contact": contact, "email": owner.get("email", ""), "phone": owner.get("phone", "")})  # fmt: skip
            owner["partner"] = pid
        return table("partners", rows)

    def open_items(self) -> pa.Table:
        lots: dict[str, Fraction] = {}
        for txn in self.book.transactions:
            for split in txn.splits:
                if split.lot:
                    lots[split.lot] = lots.get(split.lot, Fraction(0)) + split.quantity
        by_guid = {t.guid: t for t in self.book.transactions}
        rows: list[dict[str, Any]] = []
        unposted = 0
        for invoice in self.book.invoices:
            posted = by_guid.get(invoice["post_txn"])
            if posted is None or posted.posted is None:
                unposted += 1
                continue
            owner = self.book.owners.get(invoice["owner"], {})
            if owner.get("kind") == "job":
                owner = self.book.owners.get(owner.get("owner", ""), {})
            posting = [s for s in posted.splits if s.account == invoice["post_acc"]]
            total = _cents(abs(sum((s.value for s in posting), Fraction(0))))
            still = _cents(abs(lots.get(invoice["post_lot"], Fraction(0))))
            if total is None or still is None:
                self.rows.problem(
                    invoice["row"], N_("invoice {id}: amount not in whole cents: left out").format(id=invoice["id"])
                )
                continue
            if still == 0:
                continue  # paid
            currency = mnemonic(invoice["currency"]) or mnemonic(posted.currency)
            due = posted.slots.get("trans-date-due", "")
            rows.append({
                "id": invoice["id"], "partner": owner.get("partner", owner.get("id", "")),
                "kind": "invoice" if owner.get("kind") == "customer" else "bill", "date": posted.posted,
                "due_date": timestamp_date(due) if due else None, "currency": "" if currency == self.base else currency,
                "amount": total, "open_amount": still, "account": self.codes.get(invoice["post_acc"], ""),
                "description": invoice["notes"] or posted.description,
            })  # fmt: skip
        if unposted:
            self.rows.problem(
                None,
                N_("{unposted} invoice(s) or bill(s) not posted: not in the books, left out").format(unposted=unposted),
                "info",
            )
        return table("open_items", rows)


def to_ledger(book: Book, file: str, system: str) -> Ledger:
    convert = _Converter(book, file)
    used = {s.account for t in book.transactions for s in t.splits}
    accounts, groups = convert.chart(used)
    convert.lines()
    partners = convert.partners()
    open_items = convert.open_items()
    vat_codes = convert.vat_codes()
    name = book.options.get("options/Business/Company Name", "")
    address = book.options.get("options/Business/Company Address", "")
    company = Company(name=name, base_currency=convert.base, address=address, source_system=system,
                      source_version=book.version, vat_number=book.options.get("options/Business/Company ID", ""),
                      fiscal_years=convert.fiscal_years(book.options.get(FISCAL_YEARS, "")))  # fmt: skip
    extras = {}
    if convert.extras:
        extras["splits"] = pa.table(
            {k: [e[k] for e in convert.extras] for k in ("source_row", "commodity", "quantity")}
        )
    return Ledger(company=company, accounts=accounts, groups=groups, vat_codes=vat_codes, lines=convert.rows.lines(),
                  partners=partners, open_items=open_items, problems=tuple(convert.rows.problems), extras=extras, format="gnucash",
                  encoding="utf-8")  # fmt: skip


# ------------------------------------------------------------------------------------------------ reader


TAGS_FREE = 1_000_000
"""Tags (``<``) a compressed book may hold whatever its size (half a million elements or more)."""
TAGS_PER_PACKED_BYTE = 2
"""Tags a compressed book may hold per byte of the file, at the default ratio bound (200), beyond
`TAGS_FREE`. Real books hold about 0.4: one tag per 22 to 48 bytes of XML (measured on the reference
books, Debian's templates and migrator's own), packed 6 to 12 times. lxml keeps about 130 bytes per
element (measured: 2.1 GB for 16 million ``<a/>``), so a bomb of small elements, which passes the
byte bounds while filling the memory 30 times faster than it decompresses, is stopped by this count."""


class _Shifts:
    """Lines lxml does not see. The transactions `_fast_transaction` reads from the text are never fed to
    lxml, so lxml numbers the lines after them as if they were not there; `true` gives a line
    lxml reports its number in the file."""

    def __init__(self) -> None:
        self.at: list[int] = []  # lxml's line where lines were taken out (ascending)
        self.total: list[int] = []  # the lines taken out up to there

    def add(self, line: int, count: int) -> None:
        if count:
            self.at.append(line)
            self.total.append((self.total[-1] if self.total else 0) + count)

    def true(self, line: int) -> int:
        k = bisect.bisect_right(self.at, line)
        return line + (self.total[k - 1] if k else 0)


_SHIFTS: contextvars.ContextVar[_Shifts | None] = contextvars.ContextVar("gnucash_line_shifts", default=None)

# The transactions of a compressed XML book are read from its text, without an lxml element per
# value, wherever they are laid out as GnuCash and migrator write them; the text must then be
# well-formed XML that lxml would read to the same values: only the five predefined entities (no
# character reference, no CDATA, comment or processing instruction in the rest of the book), no
# character XML refuses, no carriage return (XML turns it into a line feed), no "]]>". Anything else
# (another order, a frame slot, another attribute…) is read by lxml, transaction by transaction.
_W = "[ \t\n]*"
_C = r"\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff"
_TEXT = rf"[^<&\]{_C}]*(?:(?:&(?:amp|lt|gt|quot|apos);|\](?!\]>))[^<&\]{_C}]*)*"


def _slot_re(group: str) -> str:
    """A slot whose value is text, a gdate or a timespec (`group`: ``(`` captures, ``(?:`` not)."""
    return (rf"<slot>{_W}<slot:key>{group}{_TEXT})</slot:key>{_W}"
            rf'(?:<slot:value type="{group}[a-z0-9-]+)">{group}{_TEXT})</slot:value>'
            rf'|<slot:value type="gdate">{_W}<gdate>{group}{_TEXT})</gdate>{_W}</slot:value>'
            rf'|<slot:value type="timespec">{_W}<ts:date>{group}{_TEXT})</ts:date>{_W}</slot:value>){_W}</slot>{_W}')  # fmt: skip


def _split_re(group: str) -> str:
    return (rf'<trn:split>{_W}<split:id type="guid">{_TEXT}</split:id>{_W}'
            rf"(?:<split:memo>{group}{_TEXT})</split:memo>{_W})?"
            rf"(?:<split:action>{group}{_TEXT})</split:action>{_W})?"
            rf"<split:reconciled-state>{_TEXT}</split:reconciled-state>{_W}"
            rf"(?:<split:reconcile-date>{_W}<ts:date>{_TEXT}</ts:date>{_W}</split:reconcile-date>{_W})?"
            rf"<split:value>{group}{_TEXT})</split:value>{_W}<split:quantity>{group}{_TEXT})</split:quantity>{_W}"
            rf'<split:account type="guid">{group}{_TEXT})</split:account>{_W}'
            rf'(?:<split:lot type="guid">{group}{_TEXT})</split:lot>{_W})?'
            rf"(?:<split:slots>{_W}{group}(?:{_slot_re('(?:')})*)</split:slots>{_W})?"
            rf"</trn:split>{_W}")  # fmt: skip


_FAST_SLOT = re.compile(_slot_re("("))
_FAST_SPLIT = re.compile(_split_re("("))
_FAST_HEAD = re.compile(
    rf'<gnc:transaction version="2\.0\.0">{_W}<trn:id type="guid">({_TEXT})</trn:id>{_W}'
    rf"<trn:currency>{_W}<cmdty:space>({_TEXT})</cmdty:space>{_W}<cmdty:id>({_TEXT})</cmdty:id>{_W}</trn:currency>{_W}"
    rf"(?:<trn:num>({_TEXT})</trn:num>{_W})?"
    rf"<trn:date-posted>{_W}<ts:date>({_TEXT})</ts:date>{_W}</trn:date-posted>{_W}"
    rf"(?:<trn:date-entered>{_W}<ts:date>{_TEXT}</ts:date>{_W}</trn:date-entered>{_W})?"
    rf"(?:<trn:description>({_TEXT})</trn:description>{_W})?"
    rf"(?:<trn:slots>{_W}((?:{_slot_re('(?:')})*)</trn:slots>{_W})?"
    rf"<trn:splits>{_W}"
)  # fmt: skip
_FAST_TAIL = re.compile(rf"</trn:splits>{_W}</gnc:transaction>{_W}")
_FAST_START = b'<gnc:transaction version="2.0.0">'
_FAST_END = b"</gnc:transaction>"
_FAST_PREFIXES = ("gnc", "trn", "split", "ts", "cmdty", "slot")
_FAST_MOST = 1 << 20
"""Bytes a transaction read from the text may take (lxml, without `huge_tree`, refuses a text of
10 MB: such a transaction goes to lxml)."""
_FAST_WAIT = 1 << 24
"""Bytes held while waiting for the end of a transaction; past them lxml reads it."""
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _unescaped(text: str) -> str:
    """The text lxml gives for an element's text in the form `_TEXT` matches, stripped as `_t` strips."""
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
        text = text.replace("&amp;", "&")
    return text.strip()


def _fast_slots(text: str) -> dict[str, str]:
    """`_slots` of slots `_FAST_SLOT` matches one after another."""
    out: dict[str, str] = {}
    for key, kind, value, gdate, stamp in _FAST_SLOT.findall(text):
        key = sys.intern(_unescaped(key))
        if not kind:
            out[key] = _unescaped(gdate or stamp)
        elif kind != "frame":  # a frame without slots adds nothing
            out[key] = "" if kind in ("gdate", "timespec") else _unescaped(value)
    return out


def _shared_slots(text: str, known: dict[str, dict[str, str]]) -> dict[str, str]:
    """`_fast_slots`, one dict for slots of the same text (only read): a book's transactions mostly
    carry the same few (the posted day, a VAT code)."""
    slots = known.get(text)
    if slots is None:
        if len(known) >= 65_536:
            known.clear()
        slots = known[text] = _fast_slots(text)
    return slots


def _fast_transaction(
    text: str, pos: int, line: int, known: dict[str, dict[str, str]]
) -> tuple[Transaction, int] | None:
    """`_transaction` of the transaction at `pos` (on `line`) and where it ends, if `_FAST_HEAD`,
    `_FAST_SPLIT` and `_FAST_TAIL` read the whole of it, one after another; else None. `known`:
    slots read so far (`_shared_slots`)."""
    head = _FAST_HEAD.match(text, pos)
    if head is None:
        return None
    at = head.end()
    splits = []
    while (split := _FAST_SPLIT.match(text, at)) is not None:
        splits.append(split)
        at = split.end()
    tail = _FAST_TAIL.match(text, at)
    if tail is None or tail.end() - pos > _FAST_MOST:
        return None
    guid, space, mnemonic_, num, posted, description, slots = head.groups()
    clean = _unescaped if text.find("&", pos, tail.end()) >= 0 else str.strip
    posted = clean(posted)
    row = _big_line(text, pos + len(_FAST_START), line) if line >= _BIG_LINE else line
    if row is None:
        return None
    txn = Transaction(
        guid=clean(guid), currency=sys.intern(f"{clean(space)}:{clean(mnemonic_)}"), num=clean(num) if num else "",
        posted=timestamp_date(posted) if posted else None, entered="", description=clean(description or ""),
        row=row, slots=_shared_slots(slots, known) if slots else {},
    )  # fmt: skip
    cursor = pos
    for split in splits:
        at = split.start()
        line += text.count("\n", cursor, at)
        cursor = at
        row = _big_line(text, at + len("<trn:split>"), line) if line >= _BIG_LINE else line
        if row is None:
            return None
        memo, action, value, quantity, account, lot, split_slots = split.groups()
        amount = rational(clean(value) or "0")
        txn.splits.append(Split(
            account=sys.intern(clean(account)), memo=clean(memo) if memo else "", value=amount,
            quantity=amount if quantity == value else rational(clean(quantity) or "0"), row=row,  # one Fraction
            lot=clean(lot) if lot else "", action=clean(action) if action else "",
            slots=_shared_slots(split_slots, known) if split_slots is not None else _NO_SLOTS,
        ))  # fmt: skip
    return txn, tail.end()


class _XmlStream:
    """A compressed book's XML fed block by block to lxml's pull parser, its transactions read as
    they come: from the text where `_fast_transaction` reads them (never fed to lxml), else from lxml's
    elements, each taken out of the tree once read."""

    def __init__(self, name: str, head: bytes) -> None:
        self.name = name
        # the settings of xmlsafe.parse; comments and processing instructions (which a book does not use)
        # are dropped, so that a stream of them cannot fill the memory within the bounds
        self.parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                          load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                                          remove_pis=True)  # fmt: skip
        self.stack: list[etree._Element] = []  # the open elements, as lxml has parsed them
        self.streamed: list[Transaction] = []
        self.shifts = _SHIFTS.get() or _Shifts()
        self.lxml_line = 1  # the line lxml has reached: 1 + the line feeds fed to it
        self.line_start = False  # whether what was read so far ends in a line feed and blanks
        declared = _ENCODING.match(head)
        self.fast = declared is None or declared.group(1).lower() == b"utf-8"
        self.pending = b""
        self.known: dict[str, dict[str, str]] = {}  # `_shared_slots`
        self.seen = 0
        self.last = b""

    def syntax_error(self, exc: etree.XMLSyntaxError) -> SourceError:
        """lxml's error, its line numbers (in the message too) those of the file."""
        line = self.shifts.true(exc.lineno) if isinstance(exc.lineno, int) else exc.lineno
        message = _LINE_IN_MESSAGE.sub(lambda m: f"line {self.shifts.true(int(m.group(1)))}", exc.msg)
        return SourceError(N_("not well-formed XML: {msg}").format(msg=message), self.name, line)

    def push(self, chunk: bytes, final: bool = False) -> None:
        """The next block of the text."""
        if self.fast:
            probe = self.last + chunk
            # a comment, CDATA section, DOCTYPE or processing instruction (the XML declaration aside):
            # lxml reads the rest
            if b"<!" in probe or probe.find(b"<?", 1 if self.seen == 0 else 0) >= 0:
                self.fast = False
            self.last = chunk[-1:]
        self.seen += len(chunk)
        data = self.pending + chunk if self.pending else chunk
        pos = 0
        while True:
            if not self.fast:
                self.feed(data[pos:])
                pos = len(data)
                break
            i = data.find(_FAST_START, pos)
            if i < 0:
                cut = len(data) if final else max(pos, len(data) - len(_FAST_START) + 1)
                self.feed(data[pos:cut])
                pos = cut
                break
            self.feed(data[pos:i])
            pos = i
            end = data.rfind(_FAST_END, i)
            if end < 0 and not final and len(data) - i < _FAST_WAIT:
                break  # the rest of the transaction is still to come
            taken = self.read_text(data, i, end + len(_FAST_END)) if end >= 0 else i
            if taken == i:  # not in the form read from the text: lxml reads it
                taken = i + 1
                self.feed(data[i:taken])
            pos = taken
        self.pending = data[pos:]

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.lxml_line += data.count(b"\n")
        self._blank_end(data)
        try:
            self.parser.feed(data)
        except etree.XMLSyntaxError as exc:
            raise self.syntax_error(exc) from None
        self.take()

    def _blank_end(self, data: bytes) -> None:
        feed = data.rfind(b"\n")
        if feed >= 0:
            self.line_start = not data[feed + 1 :].strip(b" \t")
        elif data.strip(b" \t"):
            self.line_start = False

    def take(self) -> None:
        """The transactions lxml has parsed under the book (not the templates'), taken out of the tree."""
        book_tag = _path("gnc:book")
        for event, node in self.parser.read_events():
            assert isinstance(node, etree._Element)
            if event == "start":
                self.stack.append(node)
                continue
            self.stack.pop()
            if node.tag != _TRN_TAG:
                continue
            parent = node.getparent()
            if parent is None or (parent.tag != book_tag and parent.getparent() is not None):  # a template's
                continue
            try:
                self.streamed.append(_transaction(node))
            except (ValueError, ZeroDivisionError) as exc:
                raise SourceError(N_("not a readable GnuCash XML book: {exc}").format(exc=exc), self.name) from None
            parent.remove(node)

    def read_text(self, data: bytes, start: int, end: int) -> int:
        """Transactions read from the text from `start` (where one begins) up to `end` at most; where
        the text read ends (`start` if it read none)."""
        stack = self.stack
        if not stack or (len(stack) > 1 and stack[-1].tag != _path("gnc:book")):
            return start  # not among the book's transactions (a template's, or inside something else)
        namespaces = stack[-1].nsmap
        if any(namespaces.get(prefix) != NS[prefix] for prefix in _FAST_PREFIXES):
            return start
        before = data.rfind(b"\n", 0, start)
        if data[before + 1 : start].strip(b" \t") or (before < 0 and not self.line_start):
            return start  # the transaction does not begin a line (see `_Shifts`)
        first = data.find(_FAST_END, start) + len(_FAST_END)
        line = self.shifts.true(self.lxml_line)
        whole = True
        try:
            # the first transaction alone, then (if it is read) the rest: a book lxml reads is decoded once
            if _fast_transaction(data[start:first].decode("utf-8"), 0, line, self.known) is None:
                return start
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:  # lxml reports it when it gets there
            text, whole = data[start : start + exc.start].decode("utf-8"), False
        except (ValueError, ZeroDivisionError) as exc:
            raise SourceError(N_("not a readable GnuCash XML book: {exc}").format(exc=exc), self.name) from None
        pos = cursor = 0
        read: list[Transaction] = []
        while pos < len(text):
            line += text.count("\n", cursor, pos)
            cursor = pos
            try:
                found = _fast_transaction(text, pos, line, self.known)
            except (ValueError, ZeroDivisionError) as exc:
                raise SourceError(N_("not a readable GnuCash XML book: {exc}").format(exc=exc), self.name) from None
            if found is None:
                break
            read.append(found[0])
            pos = found[1]
        if not pos:
            return start
        self.streamed.extend(read)
        self.shifts.add(self.lxml_line, text.count("\n", 0, pos))
        feed = text.rfind("\n", 0, pos)
        self.line_start = feed >= 0 and not text[feed + 1 : pos].strip(" \t")
        if pos == len(text) and whole:
            return end
        return start + len(text[:pos].encode("utf-8"))


_TRN_TAG = _path("gnc:transaction")
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")


def _xml_root(source: Source) -> tuple[etree._Element, list[Transaction]]:
    """The root element of a gzip-compressed or plain XML book, and the transactions of a compressed
    one. A compressed book is decompressed and parsed block by block within the bounds of
    `migrator.limits` (`sources.gunzip`) and a bound on its tags (`TAGS_PER_PACKED_BYTE`), so that
    neither a decompression bomb nor the decompressed text is ever held whole; each of the book's
    transactions is read as soon as it is parsed (`_XmlStream`), so the tree holds the rest of the
    book only (a transaction's elements take about 40 times the memory of what is read)."""
    if not source.head(2).startswith(GZIP_MAGIC):
        return xmlsafe.parse_bytes(source.read_bytes(), source.name), []
    packed = source.path.stat().st_size
    most = max(TAGS_FREE, TAGS_PER_PACKED_BYTE * packed * limits.current().max_ratio // 200)
    tags = 0
    head: bytes | None = b""
    stream: _XmlStream | None = None
    for chunk in sources.gunzip(source.path, source.name):
        tags += chunk.count(b"<")
        if tags > most:
            raise SourceError(N_("the compressed book holds more than {most} XML tags for its {packed} bytes (real books hold under one per byte packed): refusing a decompression bomb (raise the bound with MIGRATOR_MAX_RATIO)").format(most=most, packed=packed), source.name)  # fmt: skip
        if head is not None:
            head += chunk
            if len(head) < 1 << 16:
                continue
            xmlsafe.check(head, source.name)
            chunk, head = head, None
            stream = _XmlStream(source.name, chunk)
        assert stream is not None
        stream.push(chunk)
    if head is not None:  # a book shorter than the prologue checked
        xmlsafe.check(head, source.name)
        stream = _XmlStream(source.name, head)
        stream.push(head, final=True)
    else:
        assert stream is not None
        stream.push(b"", final=True)
    try:
        root = stream.parser.close()
    except etree.XMLSyntaxError as exc:
        raise stream.syntax_error(exc) from None
    stream.take()
    return root, stream.streamed


def _xml_head(source: Source) -> bytes:
    head = source.head(4096)
    if head.startswith(GZIP_MAGIC):
        try:
            with gzip.open(source.path, "rb") as handle:
                return handle.read(4096)
        except (OSError, EOFError):
            return b""
    return head


def _gnucash_sqlite(source: Source) -> bool:
    if not source.head(16).startswith(SQLITE_MAGIC):
        return False
    try:
        seconds = limits.current().sniff_seconds
        with sources.sqlite_reading(source.path, source.name, N_("not an SQLite file"), seconds) as db:
            return {"books", "accounts", "transactions", "splits", "commodities"} <= _tables(db)
    except SourceError:
        return False


def _sql_dump(head: bytes) -> bool:
    """A text SQL dump of a GnuCash SQLite book (``sqlite3 book.gnucash .dump``)."""
    text = head.decode("utf-8", errors="replace")
    return "CREATE TABLE" in text and "accounts" in text and ("gnclock" in text or "billterms" in text)


_DUMP_ACTIONS = {sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_READ,
                 sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_TRANSACTION,
                 sqlite3.SQLITE_REINDEX}  # fmt: skip
_PAGE = 4096


def _dump_authorizer(action: int, arg1: str | None, *_: object) -> int:
    """Only table statements, and the ``PRAGMA foreign_keys=OFF`` the sqlite3 shell's ``.dump`` begins with."""
    if action in _DUMP_ACTIONS or (action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "foreign_keys"):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _read_dump(source: Source) -> Book:
    """The dump loaded into a private in-memory database and read; only table statements may run (no
    ATTACH, no PRAGMA). Loading and reading together stop at the SQL time bound, the text at the input
    size bound, and the database at the input size bound and the ratio bound (a dump that grows
    past 200 times its size when loaded is treated like a decompression bomb)."""
    bounds = limits.current()
    size = source.path.stat().st_size
    if size > bounds.max_input_bytes:
        raise limits.refusal(source.name, N_("the SQL dump holds {size} bytes").format(size=size), "max_input_bytes")
    grown = min(bounds.max_input_bytes, bounds.unpacked_bound(size))
    db = sqlite3.connect(":memory:")
    clock = sources.Deadline(bounds.sql_seconds)
    try:
        db.execute(f"PRAGMA page_size = {_PAGE}")
        db.execute(f"PRAGMA max_page_count = {grown // _PAGE + 1}")
        db.set_progress_handler(clock.passed, 10_000)
        db.set_authorizer(_dump_authorizer)
        try:
            db.executescript(source.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SourceError(N_("not a loadable GnuCash SQL dump: {exc}").format(exc=exc), source.name) from None
        db.set_authorizer(None)
        return read_sqlite(db)
    except sqlite3.Error as exc:
        if clock.hit:
            raise limits.refusal(source.name, N_("loading and reading the SQL dump took longer than {sql_seconds:g} s").format(sql_seconds=bounds.sql_seconds), "sql_seconds") from None  # fmt: skip
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            key = "max_input_bytes" if grown == bounds.max_input_bytes else "max_ratio"
            what = N_("the SQL dump grows past {grown} bytes when loaded").format(grown=grown)
            if key == "max_ratio":
                raise limits.ratio_refusal(source.name, what, size) from None
            raise limits.refusal(source.name, what, key) from None
        raise SourceError(N_("not a loadable GnuCash SQL dump: {exc}").format(exc=exc), source.name) from None
    except (IndexError, KeyError) as exc:
        raise SourceError(N_("not a readable GnuCash SQL dump: {exc}").format(exc=exc), source.name) from None
    finally:
        db.close()


class GnucashReader:
    name = "gnucash"
    extensions = (".gnucash", ".xea", ".gnucash-xea")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = _xml_head(source)
        if b"<gnc-v2" in head or b"<gnc-account-example" in head:
            return 1.0
        if _sql_dump(source.head(8192)):
            return 0.9
        return 1.0 if _gnucash_sqlite(source) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        if source.head(16).startswith(SQLITE_MAGIC):
            if not _gnucash_sqlite(source):
                raise SourceError(N_("an SQLite file, but not a GnuCash book (no books/accounts/splits tables)"),
                                  source.name)  # fmt: skip
            with sources.sqlite_reading(source.path, source.name, N_("not a readable GnuCash SQLite book")) as db:
                try:
                    book = read_sqlite(db)
                except (IndexError, KeyError) as exc:
                    raise SourceError(
                        N_("not a readable GnuCash SQLite book: {exc}").format(exc=exc), source.name
                    ) from None
            return to_ledger(book, source.name, "GnuCash (SQLite)")
        if _sql_dump(source.head(8192)):
            return to_ledger(_read_dump(source), source.name, "GnuCash (SQL dump)")
        shifts = _SHIFTS.set(_Shifts())  # the lines of the book lxml did not see (`_XmlStream`)
        try:
            root, streamed = _xml_root(source)
            tag = etree.QName(root).localname
            if tag not in ("gnc-v2", "gnc-account-example"):
                raise SourceError(N_("not a GnuCash XML book (root element {tag!r})").format(tag=tag), source.name)
            try:
                book = read_xml(root, streamed)
            except (ValueError, ZeroDivisionError) as exc:
                raise SourceError(N_("not a readable GnuCash XML book: {exc}").format(exc=exc), source.name) from None
        finally:
            _SHIFTS.reset(shifts)
        system = "GnuCash account template (.gnucash-xea)" if book.template_file else "GnuCash (XML)"
        return to_ledger(book, source.name, system)


FORMAT = GnucashReader
