"""SAF-T Financial, Norway 1.30 (Skatteetaten's reference implementation of OECD SAF-T 2.0), streamed.

Layout (the 1.30 XSD in ``reference/saft-no/``): ``Header`` (company, ``SelectionCriteria``),
``MasterFiles`` (``GeneralLedgerAccounts`` with ``GroupingCategory``/``GroupingCode`` and opening and
closing balances, ``Customers`` and ``Suppliers`` with ``BalanceAccount``, ``TaxTable`` with
``StandardTaxCode``, ``AnalysisTypeTable`` for cost centres) and ``GeneralLedgerEntries``
(``NumberOfEntries``, ``TotalDebit``, ``TotalCredit``, ``Journal/Transaction/Line``).

Choices (the reader undoes each of them):

* The selection period runs from the first fiscal year's start to the last one's end. Opening
  balances are the balances on its first day: when the ledger's opening entries of that day are one
  entry with one plain line per account (the usual balance brought forward), they become the
  accounts' Opening balances and are not repeated as a transaction; otherwise every entry is a
  transaction and the Opening balances are zero. Closing = Opening + transactions.
* One ``Transaction`` per entry. ``TransactionID`` (unique, "the number of the voucher") is the
  voucher when every entry has a voucher of its own, else the entry id (and the vouchers are lost).
  Opening entries have ``TransactionType`` ``Opening`` (migrator's convention).
* VAT: a base line carries ``TaxInformation`` (code, rate, base, VAT amount); the line that books
  the VAT carries none, as in Skatteetaten's 1.30 example, and is recognised by its amount on reading.
* Grouping codes and standard tax codes are data: ``mappings/saft-no/`` (see its README).
* Streaming: lines are visited in journal/entry order through a sort permutation, in Arrow batches,
  and written with lxml's incremental writer (``etree.xmlfile``); no tree of the document is built,
  so memory does not grow with the number of entries.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from migrator import __version__
from migrator.model import Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.readers.saft import OPENING_TYPE, vat_line_codes
from migrator.vat import meaning
from migrator.writers.base import lost

NS = "urn:StandardAuditFile-Taxation-Financial:NO"
MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "saft-no"
BATCH = 1 << 16
# Text lengths of the XSD's simple types: SAFshorttext, SAFmiddle1text, SAFmiddle2text, SAFlongtext.
SHORT, MIDDLE1, MIDDLE2, LONG = 18, 35, 70, 256
COLUMNS = ("entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency",
           "rate", "vat_code", "vat_amount", "vat_line", "partner", "cost_centre", "opening")  # fmt: skip
COST_CENTRE = "A"  # AnalysisType "Avdeling" (department) in Skatteetaten's examples
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PLACE = re.compile(r"^(?P<street>.*?),\s*(?P<zip>[A-Z]{0,2}-?\d{4,5})\s+(?P<city>.+)$")


@dataclass(frozen=True)
class GroupingRule:
    prefix: str
    account_type: str
    category: str
    code: str


@dataclass(frozen=True)
class TaxRule:
    vat_code: str
    kind: str
    rate: Decimal | None
    standard: str


def _rows(name: str) -> list[dict[str, str]]:
    with (MAPPINGS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def grouping_rules() -> tuple[GroupingRule, ...]:
    """`mappings/saft-no/grouping.csv`: account code prefix (and type) → grouping category and code."""
    return tuple(
        GroupingRule(r["account_prefix"], r["account_type"], r["grouping_category"], r["grouping_code"])
        for r in _rows("grouping.csv")
    )


@cache
def tax_rules() -> tuple[TaxRule, ...]:
    """`mappings/saft-no/tax_codes.csv`: VAT code, or kind and rate → Norwegian StandardTaxCode."""
    return tuple(
        TaxRule(r["vat_code"], r["kind"], Decimal(r["rate"]) if r["rate"] else None, r["standard_tax_code"])
        for r in _rows("tax_codes.csv")
    )


def grouping(code: str, account_type: str) -> tuple[str, str] | None:
    """Grouping category and code of an account: the longest matching prefix, a typed rule first."""
    best: GroupingRule | None = None
    best_key = (-1, -1)
    for rule in grouping_rules():
        if not code.startswith(rule.prefix) or (rule.account_type and rule.account_type != account_type):
            continue
        key = (len(rule.prefix), 1 if rule.account_type else 0)
        if key > best_key:
            best, best_key = rule, key
    return (best.category, best.code) if best else None


def standard_tax_code(code: str, kind: str, rate: Decimal | None) -> str | None:
    """StandardTaxCode for a VAT code: by the code itself, else by kind and rate, else by kind."""
    rules = tax_rules()
    for rule in rules:
        if rule.vat_code and rule.vat_code == code:
            return rule.standard
    general = [r for r in rules if not r.vat_code and r.kind == kind]
    for rule in general:
        if rule.rate is not None and rate is not None and rule.rate == rate:
            return rule.standard
    return next((r.standard for r in general if r.rate is None), None)


class _Out:
    """lxml's incremental writer, indented with tabs; counts texts cut to the XSD's lengths."""

    def __init__(self, xf: Any) -> None:
        self.xf = xf
        self.depth = 0
        self.cut = 0

    @contextlib.contextmanager
    def node(self, tag: str) -> Iterator[None]:
        self.xf.write("\n" + "\t" * self.depth)
        self.depth += 1
        with self.xf.element(f"{{{NS}}}{tag}"):
            yield
            self.depth -= 1
            self.xf.write("\n" + "\t" * self.depth)

    def leaf(self, tag: str, text: str, limit: int = 0) -> None:
        if _NOT_XML.search(text):
            text = _NOT_XML.sub("", text)
        if limit and len(text) > limit:
            text, self.cut = text[:limit], self.cut + 1
        self.xf.write("\n" + "\t" * self.depth)
        with self.xf.element(f"{{{NS}}}{tag}"):
            self.xf.write(text)

    def maybe(self, tag: str, text: str | None, limit: int = 0) -> None:
        if text:
            self.leaf(tag, text, limit)


class SaftWriter:
    name = "saft"
    extension = ".xml"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        return write_saft(ledger, target)


def write_saft(ledger: Ledger, target: Path, created: dt.date | None = None) -> list[Problem]:
    """Write `ledger` as a Norwegian SAF-T Financial 1.30 file at `target`; return what was not carried."""
    plan = _Plan(ledger)
    with target.open("wb") as handle, etree.xmlfile(handle, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}AuditFile", nsmap={None: NS}):
            out = _Out(xf)
            out.depth = 1
            _header(out, ledger, plan, created or dt.date.today())
            with out.node("MasterFiles"):
                _accounts(out, ledger, plan)
                _partners(out, ledger, plan)
                _tax_table(out, ledger, plan)
                _cost_centres(out, ledger)
            _entries(out, ledger, plan)
            xf.write("\n")
    return plan.problems + _not_carried(ledger, plan, out.cut)


class _Plan:
    """What goes where: the selection period, the balances brought forward, the transaction order."""

    def __init__(self, ledger: Ledger) -> None:
        lines = ledger.lines
        self.problems: list[Problem] = []
        self.start, self.end = _selection(ledger)
        self.country = _country(ledger.company.vat_number, ledger.company.base_currency)
        self.brought_forward = _brought_forward(lines, self.start)
        forward = pa.array(self.brought_forward)
        self.opening = _sums(lines.filter(forward), ["account"])
        self.closing = _sums(lines, ["account"])
        with_partner = pc.not_equal(lines.column("partner"), "")
        self.partner_opening = _sums(lines.filter(pc.and_(with_partner, forward)), ["partner", "account"])
        self.partner_closing = _sums(lines.filter(with_partner), ["partner", "account"])
        moved = lines.filter(pc.invert(forward))
        self.entries = len(pc.unique(moved.column("entry"))) if moved.num_rows else 0
        amounts = moved.column("amount")
        self.total_debit = int(pc.sum(pc.if_else(pc.greater(amounts, 0), amounts, 0)).as_py() or 0)
        self.total_credit = -int(pc.sum(pc.if_else(pc.less(amounts, 0), amounts, 0)).as_py() or 0)
        self.order, self.journals = _order(lines, self.brought_forward)
        self.vouchers = _vouchers_identify_entries(lines)
        self.kinds = dict(zip(ledger.partners.column("id").to_pylist(), ledger.partners.column("kind").to_pylist(),
                              strict=True))  # fmt: skip
        self.rates = _rates(ledger)
        self.mixed_journal = (
            int(pc.sum(pc.not_equal(lines.column("journal"), self.journals)).as_py() or 0) if lines.num_rows else 0
        )
        self.mixed_date = self.vat_unmarked = self.bad_currency = 0


def _selection(ledger: Ledger) -> tuple[dt.date, dt.date]:
    years = years_of(ledger)
    if years:
        start, end = years[0].start, years[-1].end
    else:
        today = dt.date.today()
        start, end = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    dates = ledger.lines.column("date")
    if len(dates) and dates.null_count < len(dates):
        bounds = pc.min_max(dates).as_py()
        start, end = min(start, bounds["min"]), max(end, bounds["max"])
    return start, end


def _country(vat_number: str, currency: str) -> str:
    """ISO country of the company: the VAT number's prefix (CHE-…, FR…), else the currency's (NOK → NO)."""
    prefix = vat_number.strip()[:2].upper()
    if len(prefix) == 2 and prefix.isalpha():
        return prefix
    return (currency or "CH")[:2].upper()


def _brought_forward(lines: pa.Table, start: dt.date) -> np.ndarray:
    """Lines carried as Opening balances: one opening entry on `start`, one plain nonzero line per account."""
    none = np.zeros(lines.num_rows, dtype=bool)
    if not lines.num_rows:
        return none
    on_start = pc.equal(lines.column("date"), pa.scalar(start, pa.date32())).fill_null(False)
    mask = pc.and_(lines.column("opening"), on_start).to_numpy(zero_copy_only=False)
    if not mask.any():
        return none
    chosen = lines.filter(pa.array(mask))
    entries = pc.unique(chosen.column("entry"))
    if len(entries) != 1:
        return none
    whole_entry = pc.equal(lines.column("entry"), entries[0]).to_numpy(zero_copy_only=False)
    plain = all(not any(chosen.column(c).to_pylist()) for c in ("partner", "vat_code", "currency", "cost_centre"))
    accounts = chosen.column("account").to_pylist()
    if (
        whole_entry.sum() != mask.sum()
        or not plain
        or len(set(accounts)) != len(accounts)
        or not pc.all(pc.not_equal(chosen.column("amount"), 0)).as_py()
    ):
        return none
    return mask


def _sums(lines: pa.Table, keys: list[str]) -> dict[Any, int]:
    if not lines.num_rows:
        return {}
    grouped = lines.select([*keys, "amount"]).group_by(keys, use_threads=False).aggregate([("amount", "sum")])
    sums = grouped.column("amount_sum").to_pylist()
    if len(keys) == 1:
        return dict(zip(grouped.column(keys[0]).to_pylist(), sums, strict=True))
    return dict(zip(zip(*(grouped.column(k).to_pylist() for k in keys), strict=True), sums, strict=True))


def _order(lines: pa.Table, brought_forward: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Row order of the transaction lines (journals, then entries, in order of first appearance) and
    each line's journal (that of its entry's first line, since a Transaction sits in one Journal)."""
    if not lines.num_rows:
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    entries = lines.column("entry").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    _, first = np.unique(entries, return_index=True)
    journal = lines.column("journal").combine_chunks()
    entry_journal = journal.take(pa.array(first))
    line_journal = entry_journal.take(pa.array(entries))
    rank = line_journal.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(~brought_forward)
    order = rows[np.lexsort((rows, entries[rows], rank[rows]))]
    return order, line_journal


def _vouchers_identify_entries(lines: pa.Table) -> bool:
    """True when every entry has one voucher of its own (non-empty, at most 70 characters)."""
    if not lines.num_rows:
        return False
    pairs = lines.select(["entry", "doc"]).group_by(["entry", "doc"], use_threads=False).aggregate([])
    docs = pairs.column("doc")
    return (
        pairs.num_rows == len(pc.unique(lines.column("entry")))
        and len(pc.unique(docs)) == pairs.num_rows
        and pc.min(pc.utf8_length(docs)).as_py() > 0
        and pc.max(pc.utf8_length(docs)).as_py() <= MIDDLE2
    )


def _rates(ledger: Ledger) -> dict[str, list[tuple[dt.date | None, dt.date | None, str]]]:
    rates: dict[str, list[tuple[dt.date | None, dt.date | None, str]]] = {}
    table = ledger.vat_codes
    for code, rate, start, end in zip(*(table.column(c).to_pylist() for c in ("code", "rate", "valid_from",
                                                                             "valid_to")), strict=True):  # fmt: skip
        rates.setdefault(code, []).append((start, end, rate))
    return rates


def _rate_on(plan: _Plan, code: str, day: dt.date | None) -> str:
    periods = plan.rates.get(code, [])
    for start, end, rate in periods:
        if day and (start is None or start <= day) and (end is None or day <= end):
            return rate
    return periods[0][2] if periods else ""


def _decimal(text: str, places: int, digits: int) -> str:
    """`text` if it is a decimal the XSD accepts (at most `places` decimals, `digits` digits), else ``""``."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return ""
    if not value.is_finite():
        return ""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > places or len(value.as_tuple().digits) > digits:
        return ""
    return text.strip()


# ------------------------------------------------------------------------------------------- header


def _header(out: _Out, ledger: Ledger, plan: _Plan, created: dt.date) -> None:
    company = ledger.company
    with out.node("Header"):
        out.leaf("AuditFileVersion", "1.30")
        out.leaf("AuditFileCountry", plan.country)
        out.leaf("AuditFileDateCreated", created.isoformat())
        out.leaf("SoftwareCompanyName", "migrator")
        out.leaf("SoftwareID", "migrator")
        out.leaf("SoftwareVersion", __version__)
        with out.node("Company"):
            out.leaf("RegistrationNumber", company.vat_number or "NA", MIDDLE1)
            out.leaf("Name", company.name, LONG)
            _address(out, company.address, "")
            # Contact, its person's names and telephone are mandatory in the header; "NA" where unknown,
            # as Skatteetaten asks for unmappable mandatory values.
            with out.node("Contact"):
                with out.node("ContactPerson"):
                    out.leaf("FirstName", "NA")
                    out.leaf("LastName", "NA")
                out.leaf("Telephone", "NA")
            if company.vat_number:
                with out.node("TaxRegistration"):
                    out.leaf("TaxRegistrationNumber", company.vat_number, MIDDLE1)
        out.leaf("DefaultCurrencyCode", (company.base_currency or "CHF")[:3])
        with out.node("SelectionCriteria"):
            _selection_criteria(out, plan.start, plan.end)
        if company.source_system:
            out.leaf("HeaderComment", f"Converted by migrator from {company.source_system}", LONG)
        out.leaf("TaxAccountingBasis", "A")


def _selection_criteria(out: _Out, start: dt.date, end: dt.date) -> None:
    whole_months = start.day == 1 and (end + dt.timedelta(days=1)).day == 1
    if whole_months:
        out.leaf("PeriodStart", str(start.month))
        out.leaf("PeriodStartYear", str(start.year))
        out.leaf("PeriodEnd", str(end.month))
        out.leaf("PeriodEndYear", str(end.year))
    else:
        out.leaf("SelectionStartDate", start.isoformat())
        out.leaf("SelectionEndDate", end.isoformat())


def _address(out: _Out, street: str, city: str, zip_code: str = "", country: str = "") -> None:
    """An Address element; a one-line address ``street, zip city`` is split into its parts."""
    if street and not city and not zip_code:
        place = _PLACE.match(street)
        if place:
            street, zip_code, city = place["street"], place["zip"], place["city"]
    if not (street or city or zip_code or country):
        return
    with out.node("Address"):
        out.maybe("StreetName", street, LONG)
        out.maybe("City", city, LONG)
        out.maybe("PostalCode", zip_code, MIDDLE2)
        if len(country) == 2:
            out.leaf("Country", country.upper())


# -------------------------------------------------------------------------------------- master files


def _balance(out: _Out, prefix: str, cents: int) -> None:
    side = "Debit" if cents >= 0 else "Credit"
    out.leaf(f"{prefix}{side}Balance", format_cents(abs(cents)))


def _accounts(out: _Out, ledger: Ledger, plan: _Plan) -> None:
    table = ledger.accounts
    rows = list(zip(*(table.column(c).to_pylist() for c in ("code", "name", "type")), strict=True))
    known = {code for code, _, _ in rows}
    rows += [(code, "", "") for code in sorted(set(plan.closing) - known)]
    if not rows:
        return
    seen: set[str] = set()
    with out.node("GeneralLedgerAccounts"):
        for code, name, account_type in rows:
            if code in seen:
                continue
            seen.add(code)
            group = grouping(code, account_type)
            if group is None:
                plan.problems.append(
                    Problem(
                        "warning",
                        f"account {code}: no SAF-T grouping code in mappings/saft-no/grouping.csv; NA written",
                    )
                )
                group = ("NA", "NA")
            opening = plan.opening.get(code, 0)
            with out.node("Account"):
                out.leaf("AccountID", code, MIDDLE2)
                out.leaf("AccountDescription", name, LONG)
                out.leaf("GroupingCategory", group[0], LONG)
                out.leaf("GroupingCode", group[1], MIDDLE1)
                out.leaf("AccountType", "GL")
                _balance(out, "Opening", opening)
                _balance(out, "Closing", plan.closing.get(code, 0))


def _partners(out: _Out, ledger: Ledger, plan: _Plan) -> None:
    partners = ledger.partners.to_pylist()
    customers = [p for p in partners if p["kind"] != "supplier"]
    suppliers = [p for p in partners if p["kind"] in ("supplier", "both")]
    for group, element, id_tag in (("Customers", "Customer", "CustomerID"), ("Suppliers", "Supplier", "SupplierID")):
        chosen = customers if element == "Customer" else suppliers
        if not chosen:
            continue
        with out.node(group):
            for partner in chosen:
                with out.node(element):
                    _party(out, partner, id_tag, plan)


def _party(out: _Out, partner: dict[str, Any], id_tag: str, plan: _Plan) -> None:
    out.leaf("Name", partner["name"], LONG)
    _address(out, partner["street"], partner["city"], partner["zip"], partner["country"])
    if partner["contact"] or partner["email"] or partner["phone"]:
        first, _, last = (partner["contact"] or "NA NA").rpartition(" ")
        with out.node("Contact"):
            with out.node("ContactPerson"):
                out.leaf("FirstName", first or "NA", MIDDLE1)
                out.leaf("LastName", last, MIDDLE2)
            out.maybe("Telephone", partner["phone"], SHORT)
            out.maybe("Email", partner["email"], MIDDLE2)
    if partner["vat_number"]:
        with out.node("TaxRegistration"):
            out.leaf("TaxRegistrationNumber", partner["vat_number"], MIDDLE1)
    if partner["iban"]:
        with out.node("BankAccount"):
            out.leaf("IBANNumber", partner["iban"], MIDDLE1)
    out.leaf(id_tag, partner["id"], MIDDLE1)
    accounts = sorted(account for pid, account in plan.partner_closing if pid == partner["id"])
    if not accounts and partner["account"]:
        accounts = [partner["account"]]
    for account in accounts:
        with out.node("BalanceAccount"):
            out.leaf("AccountID", account, MIDDLE2)
            _balance(out, "Opening", plan.partner_opening.get((partner["id"], account), 0))
            _balance(out, "Closing", plan.partner_closing.get((partner["id"], account), 0))
    if partner["payment_terms"] is not None and partner["payment_terms"] >= 0:
        with out.node("PartyInfo"), out.node("PaymentTerms"):
            out.leaf("Days", str(partner["payment_terms"]))


def _tax_table(out: _Out, ledger: Ledger, plan: _Plan) -> None:
    rows = ledger.vat_codes.to_pylist()
    if not rows:
        return
    seen: set[str] = set()
    with out.node("TaxTable"), out.node("TaxTableEntry"):
        out.leaf("TaxType", "MVA")
        out.leaf("Description", "Merverdiavgift")
        for row in rows:
            if row["code"] in seen:  # TaxCode is a key of the table (KeyTaxCode in the XSD)
                plan.problems.append(Problem("warning", f"VAT code {row['code']} is defined twice; the first kept"))
                continue
            seen.add(row["code"])
            known = meaning(ledger, row["code"])
            standard = standard_tax_code(row["code"], *known) if known else None
            if standard is None:
                plan.problems.append(
                    Problem(
                        "warning",
                        f"VAT code {row['code']}: no StandardTaxCode in mappings/saft-no/tax_codes.csv; NA written",
                    )
                )
            with out.node("TaxCodeDetails"):
                out.leaf("TaxCode", row["code"], MIDDLE2)
                if row["valid_from"]:
                    out.leaf("EffectiveDate", row["valid_from"].isoformat())
                if row["valid_to"]:
                    out.leaf("ExpirationDate", row["valid_to"].isoformat())
                out.maybe("Description", row["description"], LONG)
                out.maybe("TaxPercentage", _decimal(row["rate"], 6, 18))
                out.leaf("Country", plan.country)
                out.leaf("StandardTaxCode", standard or "NA")
                out.leaf("BaseRate", "100")


def _cost_centres(out: _Out, ledger: Ledger) -> None:
    centres = sorted(c for c in pc.unique(ledger.lines.column("cost_centre")).to_pylist() if c)
    if not centres:
        return
    with out.node("AnalysisTypeTable"):
        for centre in centres:
            with out.node("AnalysisTypeTableEntry"):
                out.leaf("AnalysisType", COST_CENTRE)
                out.leaf("AnalysisTypeDescription", "Cost centre")
                out.leaf("AnalysisID", centre, MIDDLE1)
                out.leaf("AnalysisIDDescription", centre, LONG)


# --------------------------------------------------------------------------------------------- entries


def _entries(out: _Out, ledger: Ledger, plan: _Plan) -> None:
    with out.node("GeneralLedgerEntries"):
        out.leaf("NumberOfEntries", str(plan.entries))
        out.leaf("TotalDebit", format_cents(plan.total_debit))
        out.leaf("TotalCredit", format_cents(plan.total_credit))
        journal_node: contextlib.ExitStack | None = None
        current: str | None = None
        for journal, rows in _grouped(ledger.lines, plan):
            if journal != current:
                if journal_node is not None:
                    journal_node.close()
                journal_node = contextlib.ExitStack()
                journal_node.enter_context(out.node("Journal"))
                out.leaf("JournalID", journal or "GL", SHORT)
                out.leaf("Description", f"Journal {journal}" if journal else "General ledger", LONG)
                out.leaf("Type", "GL")
                current = journal
            _transaction(out, rows, plan)
        if journal_node is not None:
            journal_node.close()


def _grouped(lines: pa.Table, plan: _Plan) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(journal, lines of one entry) in transaction order, reading the lines in Arrow batches."""
    table = lines.select(list(COLUMNS))
    rows: list[dict[str, Any]] = []
    journal = ""
    for start in range(0, len(plan.order), BATCH):
        index = pa.array(plan.order[start : start + BATCH])
        batch = table.take(index)
        journals = plan.journals.take(index).to_pylist()
        columns = [batch.column(c).to_pylist() for c in COLUMNS]
        for position, values in enumerate(zip(*columns, strict=True)):
            row = dict(zip(COLUMNS, values, strict=True))
            if rows and row["entry"] != rows[0]["entry"]:
                yield journal, rows
                rows = []
            journal = journals[position]
            rows.append(row)
    if rows:
        yield journal, rows


def _transaction(out: _Out, rows: list[dict[str, Any]], plan: _Plan) -> None:
    first = rows[0]
    day: dt.date = first["date"] or plan.start
    plan.mixed_date += sum(1 for r in rows if r["date"] != first["date"])
    expected = [r["vat_code"] if r["vat_line"] else "" for r in rows]
    tagged = [bool(r["vat_code"]) and not r["vat_line"] for r in rows]
    found = vat_line_codes(
        [r["amount"] for r in rows], [r["vat_code"] for r in rows], [r["vat_amount"] or 0 for r in rows], tagged
    )
    plan.vat_unmarked += sum(1 for e, f in zip(expected, found, strict=True) if e != f)
    with out.node("Transaction"):
        out.leaf("TransactionID", first["doc"] if plan.vouchers else first["entry"], MIDDLE2)
        out.leaf("Period", str(day.month))
        out.leaf("PeriodYear", str(day.year))
        out.leaf("TransactionDate", day.isoformat())
        out.leaf("TransactionType", OPENING_TYPE if first["opening"] else "Normal")
        out.leaf("Description", first["description"], LONG)
        out.leaf("SystemEntryDate", day.isoformat())
        out.leaf("GLPostingDate", day.isoformat())
        for row, is_base in zip(rows, tagged, strict=True):
            _line(out, row, is_base, plan)


def _line(out: _Out, row: dict[str, Any], is_base: bool, plan: _Plan) -> None:
    amount: int = row["amount"] or 0
    with out.node("Line"):
        out.leaf("RecordID", str(row["line"]), SHORT)
        out.leaf("AccountID", row["account"], MIDDLE2)
        if row["cost_centre"]:
            with out.node("Analysis"):
                out.leaf("AnalysisType", COST_CENTRE)
                out.leaf("AnalysisID", row["cost_centre"], MIDDLE1)
        if row["partner"]:
            tag = "SupplierID" if plan.kinds.get(row["partner"]) == "supplier" else "CustomerID"
            out.leaf(tag, row["partner"], MIDDLE1)
        out.leaf("Description", row["description"], LONG)
        with out.node("DebitAmount" if amount >= 0 else "CreditAmount"):
            out.leaf("Amount", format_cents(abs(amount)))
            currency, foreign = row["currency"], row["amount_currency"]
            if currency and foreign is not None:
                if len(currency) == 3 and currency.isalpha():
                    out.leaf("CurrencyCode", currency.upper())
                    out.leaf("CurrencyAmount", format_cents(abs(foreign)))
                    out.maybe("ExchangeRate", _decimal(row["rate"], 8, 18))
                else:
                    plan.bad_currency += 1
        if is_base:
            vat: int = row["vat_amount"] or 0
            with out.node("TaxInformation"):
                out.leaf("TaxType", "MVA")
                out.leaf("TaxCode", row["vat_code"], MIDDLE2)
                out.maybe("TaxPercentage", _decimal(_rate_on(plan, row["vat_code"], row["date"]), 6, 18))
                out.leaf("TaxBase", format_cents(abs(amount)))
                debit = vat > 0 or (vat == 0 and amount >= 0)
                with out.node("DebitTaxAmount" if debit else "CreditTaxAmount"):
                    out.leaf("Amount", format_cents(abs(vat)))


# ------------------------------------------------------------------------------------------ not carried


def _not_carried(ledger: Ledger, plan: _Plan, cut: int) -> list[Problem]:
    problems = lost("groups", ledger.groups.num_rows, "left out (SAF-T has grouping codes, not a group tree)")
    problems += lost("open items", ledger.open_items.num_rows, "left out (SAF-T Financial has no open-item list)")
    problems += lost(
        "account details (type, parent group, currency, default VAT code, active flag)",
        ledger.accounts.num_rows,
        "codes, names and balances kept; the type is read back from the grouping category",
    )
    problems += lost(
        "VAT code details (kind, method, account, VAT form box)",
        ledger.vat_codes.num_rows,
        "code, rate, validity and the standard tax code kept",
    )
    problems += lost("lines in a different journal from their entry", plan.mixed_journal,
                     "written in the journal of the entry's first line")  # fmt: skip
    if not plan.vouchers:
        problems += lost("vouchers", len(pc.unique(ledger.lines.column("doc"))) if ledger.lines.num_rows else 0,
                         "left out: they do not identify the entries one to one, so TransactionID is the entry id")  # fmt: skip
    problems += lost("lines dated differently from their entry", plan.mixed_date, "written with the entry's date")
    problems += lost("lines with a currency code that is not 3 letters", plan.bad_currency,
                     "the foreign amount left out")  # fmt: skip
    if plan.vat_unmarked:
        problems.append(
            Problem(
                "warning",
                f"{plan.vat_unmarked} lines: whether the line books VAT cannot be told from its "
                "amount (SAF-T marks only VAT bases); they will read back differently",
            )
        )
    if cut:
        problems.append(Problem("warning", f"{cut} texts were longer than SAF-T allows and were cut"))
    if plan.brought_forward.any():
        problems.append(
            Problem("info", f"the opening entry of {plan.start} is carried as the accounts' opening balances")
        )
    return problems


FORMAT = SaftWriter
