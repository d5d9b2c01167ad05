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
import hashlib
import uuid
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from migrator import money, years
from migrator.ahead import ahead
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.writers.base import lost

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
        root, problems, later, plan = _document(ledger)
        data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
        head, _, tail = data.partition(_MARKER_LINE)
        # zlib's fastest level: for the 238 MB of a 100,000-entry book it takes 0.63 s of CPU against 1.34 s
        # at the default level (6) and 3.3 s at 9, for a file of 17 MB against 13 MB; GnuCash reads any
        # level (zlib), and the XML inside is the same
        with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                    compresslevel=1) as out:  # fmt: skip
            out.write(head)
            for chunk in ahead(plan.xml(), name="gnucash-transactions"):  # made while the last is compressed
                out.write(chunk)
            out.write(tail)
        return problems + plan.problems() + later


def _document(ledger: Ledger) -> tuple[etree._Element, list[Problem], list[Problem], _Transactions]:
    """The book without its transactions (a marker where they go), the losses declared before the
    transactions' and after them, and the transactions to write in the marker's place."""
    ids = _Ids(ledger)
    base = ledger.company.base_currency or "CHF"
    problems: list[Problem] = []
    doc = etree.Element("gnc-v2", nsmap=NSMAP)  # type: ignore[arg-type]
    _sub(doc, "gnc:count-data", "1", cd_type="book")
    book = _sub(doc, "gnc:book", version="2.0.0")
    _sub(book, "book:id", ids("book"), type="guid")
    _options(book, ledger)
    tree = _tree(ledger, ids, problems)
    plan = _Transactions(ledger, ids, base)
    lines = ledger.lines
    partners = ledger.partners.to_pylist()
    customers = [p for p in partners if p["roles"] != "supplier"]
    vendors = [p for p in partners if p["roles"] in ("supplier", "both")]
    used = pc.unique(lines.column("currency")).to_pylist() if lines.num_rows else []
    currencies = sorted({base, *(c for c in used if c)})
    counts = (("commodity", len(currencies)), ("account", len(tree) + 1), ("transaction", plan.count),
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
    book.append(etree.Comment(_MARKER))  # the transactions go here, streamed (`_Transactions`)
    for person in customers:
        _owner(book, "customer", person, ids, base)
    _tax_tables(book, ledger, guids, ids)  # GnuCash saves them between customers and vendors
    for person in vendors:
        _owner(book, "vendor", person, ids, base)
    later = lost(N_("open items"), ledger.open_items.num_rows, N_("left out (GnuCash invoices are not written)"))
    later += _partner_fields(ledger)
    currencies_kept = sum(1 for c in ledger.accounts.column("currency").to_pylist() if c and c != base)
    later += lost(N_("account currencies"), currencies_kept, N_("every account is kept in {base}").format(base=base))
    plan.guids = guids
    return doc, problems, later, plan


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
    problems += lost(
        N_("account types (off-balance or unknown)"), guessed, N_("typed from the Swiss chart's first digit")
    )
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


_MARKER = " transactions "
_MARKER_LINE = b"    <!-- transactions -->\n"
"""The comment `_document` leaves where the transactions go, as lxml prints it among the book's children."""
BATCH = 16_384
"""Entries turned into XML at a time."""
_NOT_XML = "[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _guids(space: uuid.UUID, names: list[str]) -> pa.Array:
    """``uuid.uuid5(space, name).hex`` of every name, the bits of version 5 set on all at once."""
    prefix, sha1 = space.bytes, hashlib.sha1
    digests = b"".join([sha1(prefix + name.encode("utf-8")).digest()[:16] for name in names])
    raw = np.frombuffer(digests, np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5 (RFC 4122, 4.1.3)
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # variant RFC 4122 (4.1.1)
    return pa.array(np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32")).cast(pa.string())


def _escaped(text: pa.Array) -> pa.Array:
    """Text as lxml writes it in an element: ``& < >`` and CR as references; what XML cannot hold
    refused as lxml refuses it."""
    if pc.any(pc.match_substring_regex(text, _NOT_XML)).as_py():
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if pc.any(pc.match_substring(text, char)).as_py():
            text = pc.replace_substring(text, char, entity)
    return text


def _when(condition: Any, *parts: Any) -> pa.Array:
    """The parts joined where `condition` holds, else an empty string."""
    joined = pc.binary_join_element_wise(*parts, "")
    return pc.if_else(condition, joined, "")


def _slot_xml(indent: str, key: str, kind: str = "string") -> tuple[str, str]:
    """The text of a slot before and after its value, as lxml pretty-prints `_slot`."""
    return (f"{indent}<slot>\n{indent}  <slot:key>{key}</slot:key>\n{indent}  <slot:value type=\"{kind}\">",
            f"</slot:value>\n{indent}</slot>\n")  # fmt: skip


_TXN_HEAD = '    <gnc:transaction version="2.0.0">\n      <trn:id type="guid">'
_TXN_CURRENCY = "</trn:id>\n      <trn:currency>\n        <cmdty:space>CURRENCY</cmdty:space>\n        <cmdty:id>"
_TXN_DATES = "</cmdty:id>\n      </trn:currency>\n"
_POSTED = "      <trn:date-posted>\n        <ts:date>"
_ENTERED = " 10:59:00 +0000</ts:date>\n      </trn:date-posted>\n      <trn:date-entered>\n        <ts:date>"
_DESCRIPTION = " 10:59:00 +0000</ts:date>\n      </trn:date-entered>\n      <trn:description>"
_GDATE = ("</trn:description>\n      <trn:slots>\n        <slot>\n          <slot:key>date-posted</slot:key>\n"
          '          <slot:value type="gdate">\n            <gdate>')  # fmt: skip
_SLOTS_END = "</gdate>\n          </slot:value>\n        </slot>\n"
_OPENING = "".join(_slot_xml("        ", "migrator-opening")).replace("</slot:value>", "true</slot:value>")
_JOURNAL = _slot_xml("        ", "migrator-journal")
_SPLITS = "      </trn:slots>\n      <trn:splits>\n"
_TXN_TAIL = "      </trn:splits>\n    </gnc:transaction>\n"
_SPLIT_HEAD = '        <trn:split>\n          <split:id type="guid">'
_MEMO = ("          <split:memo>", "</split:memo>\n")
_SPLIT_VALUE = "          <split:reconciled-state>n</split:reconciled-state>\n          <split:value>"
_SPLIT_QUANTITY = "/100</split:value>\n          <split:quantity>"
_SPLIT_ACCOUNT = '/100</split:quantity>\n          <split:account type="guid">'
_SPLIT_SLOTS = ("          <split:slots>\n", "          </split:slots>\n")
_SPLIT_TAIL = "        </trn:split>\n"
_SPLIT_SLOT_KEYS = (("vat_code", "migrator-vat-code"), ("partner", "migrator-partner"),
                    ("cost_centre", "migrator-cost-centre"))  # fmt: skip


class _Transactions:
    """The transactions, one per entry, built from whole Arrow columns a batch of entries at a time
    and streamed: the text lxml printed for each `gnc:transaction` of the whole book built in memory,
    byte for byte (what the tests compare), without an element per value.

    Entries come in the order they first appear, their lines in line-number order. An entry whose
    lines all carry amounts in one foreign currency (same sign as the base amount, none zero unless
    the base amount is, summing to zero) is a transaction in that currency."""

    COLUMNS = ("entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency",
               "vat_code", "vat_amount", "vat_line", "partner", "cost_centre", "journal", "opening")  # fmt: skip

    def __init__(self, ledger: Ledger, ids: _Ids, base: str) -> None:
        self.lines = ledger.lines.select(list(self.COLUMNS))
        self.space = ids.space
        self.base = base
        self.guids: dict[str, str] = {}
        self.foreign_lost = self.split_dates = 0
        count = self.lines.num_rows
        entries = pc.dictionary_encode(self.lines.column("entry")).combine_chunks()
        numbers = entries.indices.to_numpy(zero_copy_only=False)  # in the order entries first appear
        lines = pc.fill_null(self.lines.column("line"), 0).to_numpy()
        self.order = np.lexsort((np.arange(count), lines, numbers))
        ordered = numbers[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if count else np.zeros(0, np.int64)
        self.count = len(self.starts)

    def problems(self) -> list[Problem]:
        return lost(N_("foreign amounts (entries mixing currencies)"), self.foreign_lost, N_("written in base currency only")) \
            + lost(N_("line dates differing from their entry's first line"), self.split_dates,
                   N_("a GnuCash transaction has one date: the first line's"))  # fmt: skip

    def xml(self) -> Iterator[memoryview]:
        ends = np.r_[self.starts[1:], self.lines.num_rows]
        for first in range(0, self.count, BATCH):
            last = min(self.count, first + BATCH)
            lo, hi = int(self.starts[first]), int(ends[last - 1])
            yield self._batch(self.lines.take(pa.array(self.order[lo:hi])), self.starts[first:last] - lo)

    def _batch(self, rows: pa.Table, starts: np.ndarray) -> memoryview:
        size = rows.num_rows
        lengths = np.diff(np.r_[starts, size])
        entry_of = np.repeat(np.arange(len(starts)), lengths)
        is_first = np.zeros(size, bool)
        is_first[starts] = True
        is_last = np.zeros(size, bool)
        is_last[np.r_[starts[1:], size] - 1] = True
        firsts = pa.array(starts)
        col = {name: rows.column(name).combine_chunks() for name in self.COLUMNS}
        amount = pc.fill_null(col["amount"], 0).to_numpy()
        foreign = self._foreign(col, amount, starts, lengths)
        currency = pc.fill_null(col["currency"], "")
        foreign_line = pc.and_(pc.not_equal(currency, ""), pc.not_equal(currency, self.base)).to_numpy(
            zero_copy_only=False
        )
        self.foreign_lost += int(np.sum(foreign_line & ~foreign[entry_of]))
        dates = col["date"]
        if dates.null_count:
            raise ValueError(N_("a journal line without a date"))
        first_dates = dates.take(firsts)
        self.split_dates += int(
            np.sum(dates.to_numpy(zero_copy_only=False) != first_dates.to_numpy(zero_copy_only=False)[entry_of])
        )
        # what each transaction says, from its first line
        entry_ids = col["entry"].take(firsts).to_pylist()
        lines = [str(v) for v in col["line"].to_pylist()]  # "None" where there is no line number, as str() said
        day = pc.cast(first_dates, pa.string())
        doc = pc.fill_null(col["doc"].take(firsts), "")
        journal = pc.fill_null(col["journal"].take(firsts), "")
        description = pc.fill_null(col["description"], "")
        opening = (
            np.add.reduceat(pc.fill_null(col["opening"], False).to_numpy(zero_copy_only=False).astype(np.int64), starts)
            > 0
        )
        txn_currency = pc.if_else(pa.array(foreign), currency.take(firsts), self.base)
        head = pc.binary_join_element_wise(
            _TXN_HEAD, _guids(self.space, [f"transaction\x1f{e}" for e in entry_ids]), _TXN_CURRENCY,
            _escaped(txn_currency), _TXN_DATES,
            _when(pc.not_equal(doc, ""), "      <trn:num>", _escaped(doc), "</trn:num>\n"),
            _POSTED, day, _ENTERED, day, _DESCRIPTION, _escaped(description.take(firsts)), _GDATE, day, _SLOTS_END,
            pc.if_else(pa.array(opening), _OPENING, ""),
            _when(pc.not_equal(journal, ""), _JOURNAL[0], _escaped(journal), _JOURNAL[1]),
            _SPLITS, "",
        )  # fmt: skip
        # the splits
        value = pc.if_else(pa.array(foreign[entry_of]), col["amount_currency"], col["amount"])
        memo = pc.and_(pc.not_equal(description, description.take(pa.array(starts[entry_of]))),
                       pc.not_equal(description, ""))  # fmt: skip
        accounts = pc.dictionary_encode(col["account"])
        account_guids = pa.array([self.guids[code] for code in accounts.dictionary.to_pylist()], pa.string())
        split_ids = _guids(
            self.space, [f"split\x1f{entry_ids[k]}\x1f{n}" for k, n in zip(entry_of.tolist(), lines, strict=True)]
        )
        slots = self._split_slots(col)
        split = pc.binary_join_element_wise(
            pc.if_else(pa.array(is_first), head.take(pa.array(entry_of)), ""),
            _SPLIT_HEAD, split_ids, "</split:id>\n",
            _when(memo, _MEMO[0], _escaped(description), _MEMO[1]),
            _SPLIT_VALUE, pc.cast(value, pa.string()), _SPLIT_QUANTITY, pc.cast(col["amount"], pa.string()),
            _SPLIT_ACCOUNT, account_guids.take(accounts.indices), "</split:account>\n",
            slots, _SPLIT_TAIL,
            pc.if_else(pa.array(is_last), _TXN_TAIL, ""), "",
        )  # fmt: skip
        offsets = np.frombuffer(split.buffers()[1], dtype=np.int32)
        start, stop = int(offsets[split.offset]), int(offsets[split.offset + len(split)])
        return memoryview(split.buffers()[2])[start:stop]

    def _foreign(self, col: dict[str, pa.Array], amount: np.ndarray, starts: np.ndarray,
                 lengths: np.ndarray) -> np.ndarray:  # fmt: skip
        """Whether each entry is a transaction in a foreign currency (`_Transactions`)."""
        currency = pc.dictionary_encode(pc.fill_null(col["currency"], ""))
        codes = currency.indices.to_numpy(zero_copy_only=False)
        one = np.minimum.reduceat(codes, starts) == np.maximum.reduceat(codes, starts)
        names = np.array(currency.dictionary.to_pylist(), dtype=object)[codes[starts]]
        other = np.array([bool(n) and n != self.base for n in names], dtype=bool)
        missing = col["amount_currency"].is_null().to_numpy(zero_copy_only=False)
        foreign_amount = pc.fill_null(col["amount_currency"], 0).to_numpy()
        wrong = missing | ((foreign_amount > 0) != (amount > 0)) | ((foreign_amount == 0) & (amount != 0))
        bad = np.add.reduceat(wrong.astype(np.int64), starts) > 0
        candidate = one & other & ~bad
        if money.may_wrap(foreign_amount, int(lengths.max())):
            balanced = np.array(
                [sum(int(v) for v in foreign_amount[s : s + n]) == 0 for s, n in zip(starts, lengths, strict=True)]
            )
        else:
            balanced = np.add.reduceat(foreign_amount, starts) == 0
        return candidate & balanced

    @staticmethod
    def _split_slots(col: dict[str, pa.Array]) -> pa.Array:
        """Each split's slots: what GnuCash has no field for (VAT code and amount, partner, cost centre)."""
        parts = []
        present = []
        for column, key in _SPLIT_SLOT_KEYS:
            text = pc.fill_null(col[column], "")
            has = pc.not_equal(text, "")
            before, after = _slot_xml("            ", key)
            parts.append(_when(has, before, _escaped(text), after))
            present.append(has)
        vat_line = pc.fill_null(col["vat_line"], False)
        parts.append(pc.if_else(vat_line, "".join(_slot_xml("            ", "migrator-vat-line")).replace(
            "</slot:value>", "true</slot:value>"), ""))  # fmt: skip
        vat_amount = col["vat_amount"]
        has_amount = pc.is_valid(vat_amount)
        before, after = _slot_xml("            ", "migrator-vat-amount", "integer")
        parts.append(_when(has_amount, before, pc.cast(pc.fill_null(vat_amount, 0), pa.string()), after))
        any_slot = has_amount
        for has in (*present, vat_line):
            any_slot = pc.or_(any_slot, has)
        return _when(any_slot, _SPLIT_SLOTS[0], *parts, _SPLIT_SLOTS[1])


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


PARTNER_FIELDS_LEFT = ("kind", "first_name", "last_name", "building_number", "address_line2", "zip", "city",
                       "country", "mobile", "fax", "website", "vat_number", "iban", "language", "currency",
                       "payment_terms", "account", "notes")  # fmt: skip
"""Partner fields a GnuCash customer or vendor has no slot for here: the address is written as lines
(street and number, postcode and town, country) that read back as the street."""


def _partner_fields(ledger: Ledger) -> list[Problem]:
    """The declaration of the partner fields GnuCash does not keep (partners that have any of them)."""
    rows = ledger.partners.to_pylist()
    count = sum(1 for p in rows if not p["active"] or any(p[f] not in ("", None) for f in PARTNER_FIELDS_LEFT))
    return lost(N_("partner fields (company or person, first and last name, structured address, mobile, fax, web, "
                "VAT number, IBAN, language, currency, terms, account, notes, inactive flag)"), count,
                N_("left out: the address goes as lines read back as the street, the rest has no slot"))  # fmt: skip


def _owner(book: etree._Element, kind: str, person: dict[str, Any], ids: _Ids, base: str) -> None:
    tag, prefix = ("gnc:GncCustomer", "cust") if kind == "customer" else ("gnc:GncVendor", "vendor")
    node = _sub(book, tag, version="2.0.0")
    _sub(node, f"{prefix}:guid", ids(kind, person["id"]), type="guid")
    _sub(node, f"{prefix}:name", person["name"] or person["id"])
    _sub(node, f"{prefix}:id", person["id"])
    address = _sub(node, f"{prefix}:addr", version="2.0.0")
    town = " ".join(p for p in (person["zip"], person["city"]) if p)
    street = " ".join(p for p in (person["street"], person["building_number"]) if p)  # one line, Swiss order
    for key, value in (("name", person["contact"]), ("addr1", street), ("addr2", town),
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
