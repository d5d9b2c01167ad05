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
* Several fiscal years: an audit file is meant to cover one fiscal year, and ``--year`` writes one.
  Books of several years written to one file span them all as continuous books (the registry marks
  SAF-T continuous): the pipeline hands the writer `years.continuous(ledger)`, so the file holds the
  first year's opening, a closing entry on each year's last day (``CLOSING-<year>``: income and
  expenses to zero, the result into equity as the next opening shows it, other differences as
  ``ADJUST-<year>``, reported) and no later opening entries; each account's Closing balance is the
  last year's closing, never a sum of several years' openings. The writer says so as an info.
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
import itertools
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

from migrator import __version__, money, shipped, years
from migrator.i18n import N_
from migrator.model import Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.readers.saft import OPENING_TYPE, category_types, vat_line_codes
from migrator.vat import meaning
from migrator.writers.base import dates_up_to, lost, lost_columns

NS = "urn:StandardAuditFile-Taxation-Financial:NO"
MAPPINGS = shipped.MAPPINGS / "saft-no"
BATCH = 1 << 16
# Text lengths of the XSD's simple types: SAFshorttext, SAFmiddle1text, SAFmiddle2text, SAFlongtext.
SHORT, MIDDLE1, MIDDLE2, LONG = 18, 35, 70, 256
COLUMNS = ("entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency",
           "rate", "vat_code", "vat_amount", "vat_line", "partner", "cost_centre", "opening")  # fmt: skip
COST_CENTRE = "A"  # AnalysisType "Avdeling" (department) in Skatteetaten's examples
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NOT_XML_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"  # the same for Arrow (UTF-8 has no surrogates)
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
    """Grouping category and code of an account: the longest matching prefix, a typed rule first; never
    a category of another account type than the account's (the reader gives the account the type of its
    category: an asset under short-term liabilities would read back as a liability)."""
    best: GroupingRule | None = None
    best_key = (-1, -1)
    types = category_types()
    for rule in grouping_rules():
        if not code.startswith(rule.prefix) or (rule.account_type and rule.account_type != account_type):
            continue
        if account_type and types.get(rule.category, account_type) != account_type:
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

    def __init__(self, xf: Any, handle: Any) -> None:
        self.xf = xf
        self.handle = handle
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

    def raw(self, xml: memoryview) -> None:
        """Markup made elsewhere (well-formed, escaped), written at the current position."""
        self.xf.flush()
        self.handle.write(xml)


LAST_DATE = dt.date(9998, 12, 31)
"""The last date written: a year-9999 date (a typo, or a placeholder for "no date") leaves no room."""


class SaftWriter:
    name = "saft"
    extension = ".xml"
    output = "file"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        return write_saft(ledger, target)


def write_saft(ledger: Ledger, target: Path, created: dt.date | None = None) -> list[Problem]:
    """Write `ledger` as a Norwegian SAF-T Financial 1.30 file at `target`; return what was not carried."""
    dates_up_to(ledger, LAST_DATE, "SAF-T", N_("the selection period is worked out from the day after its last day "
                "and from whole calendar years, and dates end on 9999-12-31"))  # fmt: skip
    plan = _Plan(ledger)
    with target.open("wb") as handle, etree.xmlfile(handle, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NS}}}AuditFile", nsmap={None: NS}):
            out = _Out(xf, handle)
            out.depth = 1
            _header(out, ledger, plan, created or dt.date.today())
            with out.node("MasterFiles"):
                _accounts(out, ledger, plan)
                _partners(out, ledger, plan)
                _tax_table(out, ledger, plan)
                _cost_centres(out, ledger)
            _entries(out, ledger, plan)
            xf.write("\n")
    return plan.problems + _not_carried(ledger, plan, out.cut + plan.cut)


class _Plan:
    """What goes where: the selection period, the balances brought forward, the transaction order."""

    def __init__(self, ledger: Ledger) -> None:
        lines = ledger.lines
        self.problems: list[Problem] = []
        self.start, self.end = _selection(ledger)
        self.country = _country(ledger.company.vat_number, ledger.company.base_currency)
        self.brought_forward = _brought_forward(lines, self.start)
        forward = pa.array(self.brought_forward)
        sums = lines.select(["partner", "account", "amount"])  # filters copy only what they sum
        self.opening = _sums(sums.filter(forward), ["account"])
        self.closing = _sums(sums, ["account"])
        with_partner = pc.not_equal(lines.column("partner"), "")
        self.partner_opening = _sums(sums.filter(pc.and_(with_partner, forward)), ["partner", "account"])
        self.partner_closing = _sums(sums.filter(with_partner), ["partner", "account"])
        numbers = ledger.entries().numbers()
        self.entries = int(np.count_nonzero(np.bincount(numbers[~self.brought_forward], minlength=1)))
        amounts = lines.column("amount").filter(pc.invert(forward))
        self.total_debit = int(pc.sum(pc.if_else(pc.greater(amounts, 0), amounts, 0)).as_py() or 0)
        self.total_credit = -int(pc.sum(pc.if_else(pc.less(amounts, 0), amounts, 0)).as_py() or 0)
        self.order, self.journals, self.entry_codes = _order(ledger, numbers, self.brought_forward)
        self.vouchers = _vouchers_identify_entries(ledger)
        self.kinds = dict(zip(ledger.partners.column("id").to_pylist(), ledger.partners.column("roles").to_pylist(),
                              strict=True))  # fmt: skip
        self.rates = _rates(ledger)
        self.mixed_journal = (
            int(pc.sum(pc.not_equal(lines.column("journal"), self.journals)).as_py() or 0) if lines.num_rows else 0
        )
        self.mixed_date = self.bad_currency = self.cut = 0
        self.vat_unmarked = _vat_unmarked(ledger, ~self.brought_forward) if lines.num_rows else 0


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


def _order(ledger: Ledger, entries: np.ndarray, brought_forward: np.ndarray) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Row order of the transaction lines (journals, then entries, in order of first appearance) and
    each line's journal (that of its entry's first line, since a Transaction sits in one Journal), and
    each line's entry as a number."""
    lines = ledger.lines
    if not lines.num_rows:
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string()), np.zeros(0, dtype=np.int32)
    journal = lines.column("journal").combine_chunks()
    line_journal = journal.take(pa.array(ledger.entries().first_lines()[entries]))
    rank = line_journal.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(~brought_forward)
    if not rank.any() and not np.any(entries[rows][1:] < entries[rows][:-1]):
        return rows, line_journal, entries  # one journal, entries in file order: nothing to sort
    order = rows[np.lexsort((rows, entries[rows], rank[rows]))]
    return order, line_journal, entries


def _vouchers_identify_entries(ledger: Ledger) -> bool:
    """True when every entry has one voucher of its own (non-empty, at most 70 characters)."""
    lines = ledger.lines
    if not lines.num_rows:
        return False
    groups = ledger.entries()
    docs = lines.column("doc") if groups.order is None else lines.column("doc").take(pa.array(groups.order))
    inside = np.ones(lines.num_rows, dtype=bool)
    inside[groups.starts] = False  # a line that is not its entry's first (in entry order)
    same = pc.equal(docs.slice(1), docs.slice(0, lines.num_rows - 1)).to_numpy(zero_copy_only=False)
    if not np.all(same[inside[1:]]):
        return False  # an entry with two vouchers
    firsts = docs.take(pa.array(groups.starts))
    return (
        len(pc.unique(firsts)) == groups.count
        and pc.min(pc.utf8_length(firsts)).as_py() > 0
        and pc.max(pc.utf8_length(firsts)).as_py() <= MIDDLE2
    )


def _rates(ledger: Ledger) -> dict[str, list[tuple[dt.date | None, dt.date | None, str]]]:
    rates: dict[str, list[tuple[dt.date | None, dt.date | None, str]]] = {}
    table = ledger.vat_codes
    for code, rate, start, end in zip(*(table.column(c).to_pylist() for c in ("code", "rate", "valid_from",
                                                                             "valid_to")), strict=True):  # fmt: skip
        rates.setdefault(code, []).append((start, end, rate))
    return rates


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


def _place(street: str, city: str, zip_code: str) -> tuple[str, str, str]:
    """Street, city and postcode; a one-line address ``street, zip city`` is split into its parts."""
    if street and not city and not zip_code:
        place = _PLACE.match(street)
        if place:
            return place["street"], place["city"], place["zip"]
    return street, city, zip_code


def _address(out: _Out, street: str, city: str, zip_code: str = "", country: str = "", number: str = "") -> None:
    """An Address element (``Number`` the building number)."""
    street, city, zip_code = _place(street, city, zip_code)
    if not (street or city or zip_code or country or number):
        return
    with out.node("Address"):
        out.maybe("StreetName", street, LONG)
        out.maybe("Number", number, SHORT)
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
                        N_(
                            "account {code}: no SAF-T grouping code in mappings/saft-no/grouping.csv; NA written"
                        ).format(code=code),
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
    customers = [p for p in partners if p["roles"] != "supplier"]
    suppliers = [p for p in partners if p["roles"] in ("supplier", "both")]
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
    _address(out, partner["street"], partner["city"], partner["zip"], partner["country"], partner["building_number"])
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
                plan.problems.append(
                    Problem("warning", N_("VAT code {code} is defined twice; the first kept").format(code=row["code"]))
                )
                continue
            seen.add(row["code"])
            known = meaning(ledger, row["code"])
            standard = standard_tax_code(row["code"], *known) if known else None
            if standard is None:
                plan.problems.append(
                    Problem(
                        "warning",
                        N_("VAT code {code}: no StandardTaxCode in mappings/saft-no/tax_codes.csv; NA written").format(
                            code=row["code"]
                        ),
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
        for journal, text in _transactions(ledger.lines, plan):
            if journal != current:
                if journal_node is not None:
                    journal_node.close()
                journal_node = contextlib.ExitStack()
                journal_node.enter_context(out.node("Journal"))
                out.leaf("JournalID", journal or "GL", SHORT)
                out.leaf("Description", f"Journal {journal}" if journal else "General ledger", LONG)
                out.leaf("Type", "GL")
                current = journal
            out.raw(text)
        if journal_node is not None:
            journal_node.close()


def _transactions(lines: pa.Table, plan: _Plan) -> Iterator[tuple[str, memoryview]]:
    """(journal, XML of consecutive lines of that journal) in transaction order, in Arrow batches.

    Column-wise: each line's XML is joined from whole columns, with its Transaction's opening tags
    before an entry's first line and the closing tag after its last one; no Python object per line.
    """
    table = lines.select(list(COLUMNS))
    order = plan.order
    if not len(order):
        return
    entry = plan.entry_codes[order]
    first = np.r_[True, entry[1:] != entry[:-1]]
    last = np.r_[first[1:], True]
    days = pc.cast(table.column("date"), pa.int32()).fill_null(np.iinfo(np.int32).min).to_numpy()[order]
    plan.mixed_date += int(np.count_nonzero(days != days[np.flatnonzero(first)][np.cumsum(first) - 1]))
    journals = plan.journals.take(pa.array(order))
    for start in range(0, len(order), BATCH):
        stop = min(start + BATCH, len(order))
        batch = table.take(pa.array(order[start:stop])).combine_chunks().to_batches()[0]
        text = _join(
            _if(first[start:stop], _transaction_head(batch, plan, first[start:stop])),
            _lines(batch, plan),
            _if(last[start:stop], "\n\t\t\t</Transaction>"),
        )
        journal = journals.slice(start, stop - start).dictionary_encode()
        codes = journal.indices.to_numpy(zero_copy_only=False)
        cuts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), len(codes)]
        for a, b in itertools.pairwise(cuts):
            yield journal.dictionary[int(codes[a])].as_py(), _bytes(text.slice(a, b - a))


def _transaction_head(batch: pa.RecordBatch, plan: _Plan, first: np.ndarray) -> pa.Array:
    """The Transaction's opening tag and its fields, from each line (kept for an entry's `first` line)."""
    dates = batch.column("date").fill_null(pa.scalar(plan.start, pa.date32()))
    day = pc.cast(dates, pa.string())
    ids = batch.column("doc" if plan.vouchers else "entry")
    kind = pc.if_else(batch.column("opening"), OPENING_TYPE, "Normal")
    return _join(
        "\n\t\t\t<Transaction>",
        _leaf(4, "TransactionID", _text(ids, MIDDLE2, plan, first)),
        _leaf(4, "Period", pc.cast(pc.month(dates), pa.string())),
        _leaf(4, "PeriodYear", pc.cast(pc.year(dates), pa.string())),
        _leaf(4, "TransactionDate", day),
        _leaf(4, "TransactionType", kind),
        _leaf(4, "Description", _text(batch.column("description"), LONG, plan, first)),
        _leaf(4, "SystemEntryDate", day),
        _leaf(4, "GLPostingDate", day),
    )


def _lines(batch: pa.RecordBatch, plan: _Plan) -> _Cat:
    """Each line's ``Line`` element (as `_Out` would write it, indented in the Transaction)."""
    amount = batch.column("amount").fill_null(0)
    debit = pc.greater_equal(amount, 0)
    side = pc.if_else(debit, "DebitAmount", "CreditAmount")
    centre = pc.not_equal(batch.column("cost_centre"), "")
    partner = batch.column("partner")
    supplier = pc.is_in(partner, pa.array(sorted(p for p, k in plan.kinds.items() if k == "supplier"), pa.string()))
    partner_tag = pc.if_else(supplier, "SupplierID", "CustomerID")
    currency = batch.column("currency")
    foreign = pc.and_(pc.not_equal(currency, ""), pc.is_valid(batch.column("amount_currency")))
    iso = pc.match_substring_regex(currency, r"^\pL{3}$")  # three letters (str.isalpha)
    plan.bad_currency += _count(pc.and_(foreign, pc.invert(iso)))
    foreign = pc.and_(foreign, iso)
    rate = _mapped(batch.column("rate"), lambda r: _decimal(r, 8, 18))
    vat_code = batch.column("vat_code")
    base = pc.and_(pc.not_equal(vat_code, ""), pc.invert(batch.column("vat_line")))
    vat = batch.column("vat_amount").fill_null(0)
    vat_debit = pc.or_(pc.greater(vat, 0), pc.and_(pc.equal(vat, 0), debit))
    vat_side = pc.if_else(vat_debit, "DebitTaxAmount", "CreditTaxAmount")
    vat_rate = _mapped(_vat_rates(batch, plan), lambda r: _decimal(r, 6, 18))
    return _cat(
        "\n\t\t\t\t<Line>",
        _leaf(5, "RecordID", _text(pc.cast(batch.column("line"), pa.string()), SHORT, plan)),
        _leaf(5, "AccountID", _text(batch.column("account"), MIDDLE2, plan)),
        _if(centre, _cat("\n\t\t\t\t\t<Analysis>", _leaf(6, "AnalysisType", COST_CENTRE),
                          _leaf(6, "AnalysisID", _text(batch.column("cost_centre"), MIDDLE1, plan, centre)),
                          "\n\t\t\t\t\t</Analysis>")),
        _if(pc.not_equal(partner, ""), _leaf(5, partner_tag, _text(partner, MIDDLE1, plan, pc.not_equal(partner, "")))),
        _leaf(5, "Description", _text(batch.column("description"), LONG, plan)),
        "\n\t\t\t\t\t<", side, ">",
        _leaf(6, "Amount", money.format_cents_array(pc.abs(amount))),
        _if(foreign, _cat(_leaf(6, "CurrencyCode", pc.utf8_upper(currency)),
                           _leaf(6, "CurrencyAmount", money.format_cents_array(pc.abs(batch.column("amount_currency")).fill_null(0))),
                           _if(pc.not_equal(rate, ""), _leaf(6, "ExchangeRate", rate)))),
        "\n\t\t\t\t\t</", side, ">",
        _if(base, _cat("\n\t\t\t\t\t<TaxInformation>", _leaf(6, "TaxType", "MVA"),
                        _leaf(6, "TaxCode", _text(vat_code, MIDDLE2, plan, base)),
                        _if(pc.not_equal(vat_rate, ""), _leaf(6, "TaxPercentage", vat_rate)),
                        _leaf(6, "TaxBase", money.format_cents_array(pc.abs(amount))),
                        "\n\t\t\t\t\t\t<", vat_side, ">",
                        _leaf(7, "Amount", money.format_cents_array(pc.abs(vat))),
                        "\n\t\t\t\t\t\t</", vat_side, ">",
                        "\n\t\t\t\t\t</TaxInformation>")),
        "\n\t\t\t\t</Line>",
    )  # fmt: skip


# Column-wise XML text: the helpers below build one string per line from whole columns.


class _Cat(tuple):  # type: ignore[type-arg]
    """Text columns and constants to concatenate, kept apart until `_join` joins them all in one pass."""


def _cat(*parts: Any) -> _Cat:
    return _Cat(parts)


def _flat(parts: Any, out: list[Any]) -> list[Any]:
    for part in parts:
        if isinstance(part, _Cat):
            _flat(part, out)
        elif isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return out


def _join(*parts: Any) -> pa.Array:
    """Concatenate text columns and constants element-wise (nested `_cat` parts in the same pass)."""
    return pc.binary_join_element_wise(*_flat(parts, []), "")


def _if(condition: Any, text: Any) -> pa.Array:
    """`text` where `condition` holds, else nothing."""
    return pc.if_else(condition, _join(text) if isinstance(text, _Cat) else text, "")


def _leaf(depth: int, tag: Any, text: Any) -> _Cat:
    """An element on a line of its own, as `_Out.leaf` writes it (`tag` may be a column of tag names)."""
    if isinstance(tag, str):
        return _cat("\n" + "\t" * depth + f"<{tag}>", text, f"</{tag}>")
    return _cat("\n" + "\t" * depth + "<", tag, ">", text, "</", tag, ">")


def _text(values: Any, limit: int, plan: _Plan, written: Any = None) -> pa.Array:
    """XML text of a column: characters XML cannot hold dropped, cut to `limit` (counting the
    written values cut, like `_Out.leaf`), then escaped as lxml escapes text."""
    values = values.fill_null("") if values.null_count else values
    if _count(pc.match_substring_regex(values, _NOT_XML_RE2)):
        values = pc.replace_substring_regex(values, _NOT_XML_RE2, "")
    long = pc.greater(pc.utf8_length(values), limit)
    if _count(long):
        plan.cut += _count(long if written is None else pc.and_(long, written))
        values = pc.utf8_slice_codeunits(values, 0, limit)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if _count(pc.match_substring(values, char)):
            values = pc.replace_substring(values, char, entity)
    return values


def _count(mask: Any) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _mapped(values: Any, function: Any) -> pa.Array:
    """`function` of each value, computed once per distinct value."""
    encoded = pc.dictionary_encode(values.fill_null(""))
    mapped = pa.array([function(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, encoded.indices)


def _vat_rates(batch: pa.RecordBatch, plan: _Plan) -> pa.Array:
    """The rate of each line's VAT code on its date: the first period of the code that holds the date,
    else the code's first period."""
    codes, dates = batch.column("vat_code"), batch.column("date")
    rates = pa.nulls(batch.num_rows, pa.string())
    for code, periods in plan.rates.items():
        of_code = pc.equal(codes, code)
        rates = pc.if_else(of_code, periods[0][2], rates)
        for start, end, rate in reversed(periods):
            inside = pc.and_(of_code, pc.is_valid(dates))
            if start is not None:
                inside = pc.and_(inside, pc.greater_equal(dates, pa.scalar(start, pa.date32())))
            if end is not None:
                inside = pc.and_(inside, pc.less_equal(dates, pa.scalar(end, pa.date32())))
            rates = pc.if_else(inside.fill_null(False), rate, rates)
    return rates.fill_null("")


def _bytes(text: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string column's values, one after the other (no copy)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + len(text) + 1]
    return memoryview(text.buffers()[2])[offsets[0] : offsets[-1]]


def _vat_unmarked(ledger: Ledger, moved: np.ndarray) -> int:
    """Lines whose VAT role the reader cannot tell from the amounts: where `vat_line_codes` (applied
    to each entry) finds another VAT code than the line books, or one for a line that books none.
    Worked out a block of whole entries at a time, so memory does not grow with the books."""
    lines = ledger.lines
    dictionary = pc.unique(lines.column("vat_code"))
    index = pc.index_in(lines.column("vat_code"), dictionary).to_numpy(zero_copy_only=False)
    books = np.where(pc.and_(lines.column("vat_line"), pc.not_equal(lines.column("vat_code"), "")), index, -1)
    found = np.full(lines.num_rows, -1, dtype=books.dtype)
    groups = ledger.entries()
    numbers = groups.numbers()
    columns = lines.select(["amount", "vat_code", "vat_amount", "vat_line"])
    bounds = [*groups.starts[:: max(1, BATCH // 4)].tolist(), lines.num_rows]
    for a, b in itertools.pairwise(bounds):
        rows = np.arange(a, b) if groups.order is None else groups.order[a:b]
        rows = rows[moved[rows]]
        if len(rows):
            block = columns.take(pa.array(rows)).append_column("entry", pa.array(numbers[rows]))
            _find_vat_lines(block.append_column("row", pa.array(rows)), dictionary, found)
    return int(np.count_nonzero(books != found))


def _find_vat_lines(t: pa.Table, dictionary: pa.Array, found: np.ndarray) -> None:
    """Set `found[row]` to the VAT code (its index in `dictionary`) the reader will take each VAT line of
    the whole entries in `t` for."""
    tagged = pc.and_(pc.not_equal(t.column("vat_code"), ""), pc.invert(t.column("vat_line")))
    declared = t.filter(pc.and_(tagged, pc.is_valid(t.column("vat_amount"))))
    declared = declared.group_by(["entry", "vat_code"], use_threads=False).aggregate([("vat_amount", "sum")])
    declared = declared.filter(pc.not_equal(declared.column("vat_amount_sum"), 0))
    # Two codes declaring the same total in one entry compete for the same line, and a code whose
    # total no line books has its VAT on several lines (or none): those entries go through
    # `vat_line_codes` itself; in every other entry a code takes the first line of its amount.
    ties = declared.group_by(["entry", "vat_amount_sum"], use_threads=False).aggregate([("vat_code", "count")])
    tied = ties.filter(pc.greater(ties.column("vat_code_count"), 1)).column("entry")
    candidates = t.filter(pc.invert(tagged)).select(["entry", "amount", "row"])
    matches = declared.filter(pc.invert(pc.is_in(declared.column("entry"), tied))).join(
        candidates, ["entry", "vat_amount_sum"], ["entry", "amount"], join_type="inner"
    )
    first = matches.group_by(["entry", "vat_code"], use_threads=False).aggregate([("row", "min")])
    found[first.column("row_min").to_numpy()] = pc.index_in(first.column("vat_code"), dictionary).to_numpy()
    unmatched = declared.join(first, ["entry", "vat_code"], join_type="left anti").column("entry")
    slow = pa.array(sorted(set(tied.to_pylist()) | set(unmatched.to_pylist())), t.schema.field("entry").type)
    by_entry: dict[int, list[dict[str, Any]]] = {}
    for row in t.filter(pc.is_in(t.column("entry"), slow)).to_pylist() if len(slow) else []:
        by_entry.setdefault(row["entry"], []).append(row)
    for rows_of in by_entry.values():
        codes = vat_line_codes([r["amount"] for r in rows_of], [r["vat_code"] for r in rows_of],
                               [r["vat_amount"] or 0 for r in rows_of],
                               [bool(r["vat_code"]) and not r["vat_line"] for r in rows_of])  # fmt: skip
        for r, code in zip(rows_of, codes, strict=True):
            found[r["row"]] = pc.index_in(pa.array([code]), dictionary)[0].as_py() if code else -1


# ------------------------------------------------------------------------------------------ not carried


def _several_years(ledger: Ledger) -> list[Problem]:
    spans = years_of(ledger)
    if not spans:  # no fiscal year and no dated line: the selection period is this calendar year
        return [Problem("info", N_("fiscal years not carried by this format: the books have none, and the selection "
                                "period a SAF-T file must state (read back as the fiscal year) is this calendar year"))]  # fmt: skip
    if len(spans) < 2:
        return []
    # Not "N fiscal years …": verification would take that for a declared loss of the fiscal years.
    return [Problem("info", N_("one audit file for {count} fiscal years ({start} to {end}), with a closing entry at each year end; for one audit file per fiscal year, convert with --year").format(count=len(spans), start=spans[0].start.isoformat(), end=spans[-1].end.isoformat()))]  # fmt: skip


def _kept_partner(partner: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    """`partner` as a SAF-T file keeps it and the reader reads it back (`_party`)."""
    street, city, zip_code = _place(partner["street"], partner["city"], partner["zip"])
    first, _, last = (partner["contact"] or "").rpartition(" ")
    accounts = sorted(account for pid, account in plan.partner_closing if pid == partner["id"])
    kept: dict[str, Any] = {column: None if isinstance(value, int) and not isinstance(value, bool) else "" for
                            column, value in partner.items()}  # fmt: skip
    terms = partner["payment_terms"]
    kept.update(
        id=partner["id"], roles=partner["roles"] if partner["roles"] in ("supplier", "both") else "customer",
        name=partner["name"][:LONG], street=street[:LONG], building_number=(partner["building_number"] or "")[:SHORT],
        city=city[:LONG], zip=zip_code[:MIDDLE2], country=partner["country"].upper() if len(partner["country"]) == 2
        else "", contact=" ".join(n for n in (first[:MIDDLE1], last[:MIDDLE2]) if n), email=partner["email"][:MIDDLE2],
        phone=partner["phone"][:SHORT], vat_number=partner["vat_number"][:MIDDLE1], iban=partner["iban"][:MIDDLE1],
        payment_terms=terms if terms is not None and terms >= 0 else None,
        account=accounts[0] if accounts else partner["account"], active=True,
    )  # fmt: skip
    return kept


def _not_carried(ledger: Ledger, plan: _Plan, cut: int) -> list[Problem]:
    problems = _several_years(ledger)
    partners = ledger.partners.to_pylist()
    problems += lost_columns(N_("partner details"), partners, [_kept_partner(p, plan) for p in partners],
                             N_("SAF-T's Customer and Supplier have no element for them (a partner without a role "
                             "is written as a customer)"))  # fmt: skip
    problems += lost(N_("groups"), ledger.groups.num_rows, N_("left out (SAF-T has grouping codes, not a group tree)"))
    problems += lost(
        N_("open items"), ledger.open_items.num_rows, N_("left out (SAF-T Financial has no open-item list)")
    )
    problems += lost(
        N_("account details (type, parent group, currency, default VAT code, active flag)"),
        ledger.accounts.num_rows,
        N_("codes, names and balances kept; the type is read back from the grouping category"),
    )
    problems += lost(
        N_("VAT code details (kind, method, account, VAT form box)"),
        ledger.vat_codes.num_rows,
        N_("code, rate, validity and the standard tax code kept"),
    )
    problems += lost(N_("lines in a different journal from their entry"), plan.mixed_journal,
                     N_("written in the journal of the entry's first line"))  # fmt: skip
    if not plan.vouchers:
        problems += lost(N_("vouchers"), len(pc.unique(ledger.lines.column("doc"))) if ledger.lines.num_rows else 0,
                         N_("left out: they do not identify the entries one to one, so TransactionID is the entry id"))  # fmt: skip
    problems += lost(
        N_("lines dated differently from their entry"), plan.mixed_date, N_("written with the entry's date")
    )
    problems += lost(N_("lines with a currency code that is not 3 letters"), plan.bad_currency,
                     N_("the foreign amount left out"))  # fmt: skip
    if plan.vat_unmarked:
        problems.append(
            Problem(
                "warning",
                N_(
                    "{vat_unmarked} lines: whether the line books VAT cannot be told from its amount (SAF-T marks only VAT bases); they will read back differently"
                ).format(vat_unmarked=plan.vat_unmarked),
            )
        )
    if cut:
        problems.append(
            Problem("warning", N_("{cut} texts were longer than SAF-T allows and were cut").format(cut=cut))
        )
    if plan.brought_forward.any():
        problems.append(
            Problem(
                "info",
                N_("the opening entry of {start} is carried as the accounts' opening balances").format(
                    start=plan.start
                ),
            )
        )
    return problems


FORMAT = SaftWriter
