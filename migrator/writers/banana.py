"""Banana Accounting: a folder of text files that Banana imports (accounts, VAT codes, transactions).

Files are tab-separated UTF-8 with a header of Banana's English XML column names, dates yyyy-mm-dd,
``.`` decimals, no thousands separator (FORMATS.md, Banana import). One fiscal year is one Banana
file, so a ledger of several years is written as one subfolder per year (``2023/``, ``2024/``), each
with its own three files; a single year is written flat. Opening entries become the accounts table's
``Opening`` column of their year (credit balances negative).

VAT: Banana computes the VAT itself from ``VatCode`` when it imports a row, so a row with a VAT code
and the VAT line of our ledger would count the VAT twice. Base lines are written with the Banana code
and ``VatAmountType`` 1 (the amount is net: FORMATS.md's inference), and their VAT lines are left out:
Banana books them again, to the ``VatAccount`` of the VAT codes table. This is done only where Banana's
computation (rate × net, rounded to the cent) gives exactly the VAT our books hold and the VAT line is
on that account; otherwise the lines are written as they are, without a code, and a warning says so.
Compound entries are one row per line with the other account empty; two-line entries one row.
Banana keeps no entry id: the rows of a compound entry are joined only by their date and ``Doc``
(FORMATS.md), which is what a Banana user sees joining them and what migrator's reader groups by
(whether Banana groups rows by Doc beyond display is not documented); Banana books each row on its
own, so the balances do not depend on it. Two compound entries of one
date and Doc (a FEC or DATEV voucher split over several bookings) would therefore become one: the
second gets ``Doc (2)``, the third ``Doc (3)``…, in file order (stable; the Run my Accounts writer does
the same), and an info says how many. Two-account rows stand alone and keep their Doc. The only change
in Banana is the Doc text the user sees on those rows.
The accounts table has a ``Currency`` column (Banana's multi-currency column; a single-currency file
has none and ignores it, *assumed*): each account's currency, the base currency for the others, so that
the base currency is stated in the files (the reader takes it from there).
Text is written exactly, formula-like text included (``=…``, ``-…``): the files are for Banana's import,
which takes text columns as text (*assumed*), not for a spreadsheet; nothing is made inert.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.model import EntryGroups, FiscalYear, Ledger, Problem, table, years_of
from migrator.money import format_cents
from migrator.parsing import decimal_text
from migrator.vatfold import Row, VatPlan, computed_vat, fold_entry, is_pair, vat_plan
from migrator.writers.base import entries, lines_with, lost

ACCOUNT_COLUMNS = (
    "Section", "Group", "Account", "Description", "BClass", "Gr", "Opening", "Currency", "VatCode", "Disable",
)  # fmt: skip
VAT_COLUMNS = ("Group", "VatCode", "Description", "VatRate", "Gr1", "IsDue", "VatAccount")
TRANSACTION_COLUMNS = (
    "Date", "Doc", "Description", "AccountDebit", "AccountCredit", "Amount", "VatCode", "VatAmountType",
    "AmountCurrency", "ExchangeCurrency", "ExchangeRate",
)  # fmt: skip
# Banana BClass: 1 assets, 2 liabilities (and equity), 3 expenses, 4 income, 5 off-balance (FORMATS.md).
BCLASS = {"asset": "1", "liability": "2", "equity": "2", "expense": "3", "income": "4", "off_balance": "5"}
# Class digit of the Swiss SME chart, for accounts whose source gives no type.
BCLASS_BY_DIGIT = {"1": "1", "2": "2", "3": "4", "4": "3", "5": "3", "6": "3", "7": "4", "8": "3", "9": "3"}
DUE_KINDS = ("sales", "acquisition")

README = """Banana Accounting import files written by migrator
==================================================

{layout}

In Banana (one accounting file per fiscal year, with the period of that year):
1. Accounts: open the Accounts table and import accounts.txt
   (Actions > Import into accounting > Text file with column headers), or copy its rows into the table.
   The Opening column holds the opening balances of the year (credit balances negative).
2. VAT codes: import vatcodes.txt into the VAT codes table the same way. Check each code's VatAccount,
   IsDue and Gr1 (VAT form figures) against your VAT setup: these columns are not verified.
3. Transactions: Actions > Import into accounting > Text file with column headers, file transactions.txt.

VAT: rows with a VatCode carry the NET amount (VatAmountType 1); Banana computes the VAT and books it
to the code's VatAccount. The VAT lines of the source books are therefore not in the file (they would
be counted twice). Rows without a VatCode are written exactly as booked.
Compound entries are several rows with the same date and Doc, one account per row.
"""


def _text(value: str) -> str:
    """A cell of Banana's tab file: tabs and line breaks would break the row, so they become spaces."""
    return " ".join(value.replace("\t", " ").splitlines())


def _table(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(_text(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _decimal(value: str) -> str:
    try:
        return decimal_text(Decimal(value)) if value else ""
    except ArithmeticError:
        return value


class BananaWriter:
    name = "banana"
    extension = ".txt"
    output = "folder"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        plan = vat_plan(ledger, "banana")
        problems = list(plan.problems)
        years = years_of(ledger) or ()
        groups = list(entries(ledger.lines))
        folders: list[tuple[Path, FiscalYear | None]]
        if len(years) <= 1:
            folders = [(target, None)]
            layout = "accounts.txt, vatcodes.txt and transactions.txt: one Banana file."
        else:
            folders = [(target / _folder_name(y.start), y) for y in years]
            names = ", ".join(f.name for f, _ in folders)
            layout = f"One folder per fiscal year ({names}), each for its own Banana file."
        vat_rows = self._vat_codes(ledger, plan)
        written = 0
        for folder, year in folders:
            folder.mkdir(exist_ok=True)
            chosen = [g for g in groups if year is None or _in_year(g[0]["date"], year.start, year.end)]
            opening, others = _opening(chosen)
            if len({g[0]["entry"] for g in chosen if g[0]["opening"]}) > 1:
                problems.append(
                    Problem("warning", f"{folder.name}: several opening entries; Banana keeps one Opening per account")
                )
            (folder / "accounts.txt").write_text(
                _table(ACCOUNT_COLUMNS, self._accounts(ledger, plan, opening)), "utf-8"
            )
            (folder / "vatcodes.txt").write_text(_table(VAT_COLUMNS, vat_rows), "utf-8")
            rows, notes = self._transactions(others, plan)
            problems += notes
            (folder / "transactions.txt").write_text(_table(TRANSACTION_COLUMNS, rows), "utf-8")
            written += sum(len(g) for g in chosen)
        outside = ledger.lines.num_rows - written
        if outside:
            problems.append(Problem("warning", f"{outside} lines dated outside the fiscal years were not written"))
        (target / "README.txt").write_text(README.format(layout=layout), "utf-8")
        return problems + _not_carried(ledger)

    def _accounts(self, ledger: Ledger, plan: VatPlan, opening: dict[str, int]) -> list[dict[str, str]]:
        """Accounts grouped under their group rows (Banana totals a group in the row after its members)."""
        accounts = ledger.accounts.to_pylist()
        groups = {g["code"]: g for g in ledger.groups.to_pylist()}
        children: dict[str, list[dict[str, Any]]] = {}
        for group in groups.values():
            parent = group["parent"] if group["parent"] in groups else ""
            children.setdefault(parent, []).append({"group": group})
        for account in accounts:
            parent = account["parent"] if account["parent"] in groups else ""
            children.setdefault(parent, []).append({"account": account})
        rows: list[dict[str, str]] = []

        def block(parent: str) -> None:
            for item in sorted(children.get(parent, []), key=lambda i: ("group" in i, _code(i))):
                if "account" in item:
                    a = item["account"]
                    rows.append({
                        "Account": a["code"], "Description": a["name"], "BClass": _bclass(a), "Gr": a["parent"],
                        "Opening": format_cents(opening[a["code"]]) if opening.get(a["code"]) else "",
                        "Currency": a["currency"] or ledger.company.base_currency,
                        "VatCode": plan.codes.get(a["vat_code"], a["vat_code"]), "Disable": "" if a["active"] else "1",
                    })  # fmt: skip
                else:
                    g = item["group"]
                    block(g["code"])
                    rows.append({"Group": g["code"], "Description": g["name"], "Gr": g["parent"]})

        block("")
        return rows

    def _vat_codes(self, ledger: Ledger, plan: VatPlan) -> list[dict[str, str]]:
        described = {row["code"]: row for row in ledger.vat_codes.to_pylist()}
        rows: dict[str, dict[str, str]] = {}
        for code, target in sorted(plan.codes.items()):
            source = described.get(code, {})
            known = vat.meaning(ledger, code)
            rows.setdefault(target, {
                "VatCode": target, "Description": source.get("description", ""),
                "VatRate": decimal_text(plan.rates[code]) if code in plan.rates else _decimal(source.get("rate", "")),
                "Gr1": source.get("form_box", ""), "IsDue": "1" if known and known[0] in DUE_KINDS else "",
                "VatAccount": plan.accounts.get(code, ""),
            })  # fmt: skip
        return list(rows.values())

    def _transactions(
        self, groups: list[list[dict[str, Any]]], plan: VatPlan
    ) -> tuple[list[dict[str, str]], list[Problem]]:
        out: list[dict[str, str]] = []
        problems: list[Problem] = []
        docs = _Docs()
        uncoded = 0
        for lines in groups:
            rows, notes = fold_entry(lines, plan, gross=False)
            uncoded += sum(1 for row in rows if row.line["vat_code"] and not row.tax)
            first = lines[0]
            where = f"entry {first['doc'] or first['entry']} of {first['date']}"
            problems += [Problem("warning", f"{where}: {n}", first["source_file"], first["source_row"]) for n in notes]
            pair = is_pair(rows)
            doc = first["doc"] if pair else docs.unique(first["date"], first["doc"])
            common = {"Date": first["date"].isoformat(), "Doc": doc}
            if pair:
                debit, credit = sorted(rows, key=lambda r: r.amount < 0)
                out.append({**common, **_currency(debit), "Description": debit.line["description"],
                            "AccountDebit": debit.line["account"], "AccountCredit": credit.line["account"],
                            "Amount": format_cents(abs(debit.amount))})  # fmt: skip
                continue
            for row in rows:
                side = "AccountDebit" if row.amount >= 0 else "AccountCredit"
                out.append({**common, **_currency(row), "Description": row.line["description"],
                            side: row.line["account"], "Amount": format_cents(abs(row.amount)),
                            "VatCode": row.tax, "VatAmountType": "1" if row.tax else ""})  # fmt: skip
        problems += lost("VAT codes on lines", uncoded, "written as booked, without VAT code, where Banana would "
                         "not compute the same VAT (see the warnings)")  # fmt: skip
        if docs.renamed:
            problems.append(Problem("info", f"{docs.renamed} compound entries share date and Doc with another one, "
                                    "which would join them: ' (2)', ' (3)', … added to their Doc"))  # fmt: skip
        return out, problems

    def as_kept(self, ledger: Ledger) -> Ledger:
        """the opening entries of each fiscal year merged into one opening balance per account.

        The ledger as Banana keeps it: Banana holds opening balances only as the accounts table's
        ``Opening`` column, one per account and year, so the opening entries of a year (the file the
        writer writes for it) become one opening entry of the nonzero sums per account, dated as the
        reader dates it (the start of the year folder, or 1 January of the year's first transaction
        in a file of one year); where the writer writes a folder per year, entries dated outside the
        fiscal years are left out, as the writer leaves them; an entry with several base lines of a
        VAT code Banana computes gets one VAT line per base line (Banana books VAT per row). Every other entry is kept as it is (its Doc may get a suffix, see `_Docs`).
        Column-wise: per-account sums with `reconcile.sums_by`.
        """
        return ledger.replace(lines=_kept_lines(ledger))


class _Docs:
    """Unique Doc per compound entry and date: Banana joins one-account rows by date and Doc."""

    def __init__(self) -> None:
        self.taken: set[tuple[dt.date, str]] = set()
        self.renamed = 0

    def unique(self, day: dt.date, doc: str) -> str:
        """`doc`, or ``doc (2)``, ``doc (3)``… when an earlier compound entry of the day has it."""
        candidate, count = doc, 1
        while (day, candidate) in self.taken:
            count += 1
            candidate = f"{doc} ({count})" if doc else f"({count})"
        self.renamed += candidate != doc
        self.taken.add((day, candidate))
        return candidate


def _kept_lines(ledger: Ledger) -> pa.Table:
    """The lines of `BananaWriter.as_kept`."""
    from migrator.reconcile import sums_by

    lines = ledger.lines.combine_chunks()  # one chunk: filtering and taking from many chunks is slow
    if not lines.num_rows:
        return lines
    groups = ledger.entries()
    firsts = pa.array(groups.first_lines())
    numbers = pa.array(groups.numbers())
    first_date = pc.take(pc.take(lines.column("date"), firsts), numbers)
    years = years_of(ledger) or ()
    flat = len(years) <= 1
    # the year (its index) each entry is written in, by its first line's date; -1 outside every year
    year = pa.array(np.zeros(lines.num_rows, dtype=np.int64)) if flat else _year_index(first_date, years)
    if not flat:
        lines = lines.filter(pc.greater_equal(year, 0))
        first_date = first_date.filter(pc.greater_equal(year, 0))
        year = year.filter(pc.greater_equal(year, 0))
    opening = _whole_opening(lines)
    kept = _vat_per_row(ledger, lines.filter(pc.invert(opening)))
    openings = lines.filter(opening).append_column("year", year.filter(opening))
    moving_dates = first_date.filter(pc.invert(opening))
    merged: list[dict[str, Any]] = []
    for (index, account), (cents,) in sums_by(openings, ["year", "account"], ["amount"]).items():
        if not cents:
            continue
        if flat:
            if not len(moving_dates):
                continue  # the reader cannot date an opening without transactions (it says so)
            day = dt.date(pc.min(moving_dates).as_py().year, 1, 1)
        else:
            day = years[index].start
        merged.append({"entry": f"opening {day.isoformat()}", "date": day, "account": account, "amount": cents,
                       "description": "Opening balance", "opening": True})  # fmt: skip
    if not merged:
        return kept
    numbered: dict[str, int] = {}
    for row in merged:
        numbered[row["entry"]] = row["line"] = numbered.get(row["entry"], 0) + 1
    return pa.concat_tables([kept, table("lines", merged)])


def _vat_per_row(ledger: Ledger, lines: pa.Table) -> pa.Table:
    """Banana books the VAT of every row with a code itself, one VAT booking per row: where an entry
    has several base lines (or several VAT lines) of a code that the writer writes as a code, its VAT
    lines become one per base line, as Banana and the reader book them. Only such entries are looked
    at line by line; they are found column-wise."""
    from migrator.reconcile import sums_by

    if not lines.num_rows:
        return lines
    coded = pc.not_equal(lines.column("vat_code").fill_null(""), "")
    if not pc.any(coded).as_py():
        return lines
    flag = lines.column("vat_line").fill_null(False)
    counted = pa.table({
        "entry": lines.column("entry"), "code": lines.column("vat_code"),
        "base": pc.cast(pc.and_(coded, pc.invert(flag)), pa.int64()), "vat": pc.cast(pc.and_(coded, flag), pa.int64()),
    }).filter(coded)  # fmt: skip
    counts = sums_by(counted, ["entry", "code"], ["base", "vat"])
    candidates = sorted({entry for (entry, _), (bases, vats) in counts.items() if bases > 1 or vats > 1})
    if not candidates:
        return lines
    plan = vat_plan(ledger, "banana")
    chosen = pc.is_in(lines.column("entry"), pa.array(candidates, pa.string()))
    rebuilt: list[dict[str, Any]] = []
    for entry_lines in entries(lines.filter(chosen)):
        rows, _ = fold_entry(entry_lines, plan, gross=False)
        written = {id(row.line) for row in rows}
        out = [line for line in entry_lines if id(line) in written]
        for row in rows:
            code = row.line["vat_code"]
            share = computed_vat(row.line["amount"], plan.rates[code], gross=False) if row.tax else 0
            if share:
                out.append({**row.line, "account": plan.accounts[code], "amount": share, "vat_amount": None,
                            "vat_line": True})  # fmt: skip
        rebuilt += [{**line, "line": number} for number, line in enumerate(out, start=1)]
    return pa.concat_tables([lines.filter(pc.invert(chosen)), table("lines", rebuilt)])


def _year_index(dates: pa.ChunkedArray | pa.Array, years: tuple[FiscalYear, ...]) -> pa.Array:
    """Index of the fiscal year each date falls in; -1 outside them (or undated)."""
    out = pa.array(np.full(len(dates), -1, dtype=np.int64))
    for index, span in enumerate(years):
        inside = pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                         pc.less_equal(dates, pa.scalar(span.end, pa.date32()))).fill_null(False)  # fmt: skip
        out = pc.if_else(inside, index, out)
    return out


def _whole_opening(lines: pa.Table) -> pa.Array:
    """True on each line of an entry all of whose lines are opening lines (what `_opening` takes)."""
    flags = lines.column("opening").fill_null(False)
    if not lines.num_rows:
        return pa.array([], pa.bool_())
    groups = EntryGroups.of(lines)
    closing = groups.sums(pc.cast(pc.invert(flags), pa.int64()))
    return pa.array(np.asarray(closing)[np.asarray(groups.numbers())] == 0)


def _folder_name(start: dt.date) -> str:
    return str(start.year) if (start.month, start.day) == (1, 1) else start.isoformat()


def _in_year(day: dt.date | None, start: dt.date, end: dt.date) -> bool:
    return day is not None and start <= day <= end


def _opening(groups: list[list[dict[str, Any]]]) -> tuple[dict[str, int], list[list[dict[str, Any]]]]:
    opening: dict[str, int] = {}
    others = []
    for group in groups:
        if all(line["opening"] for line in group):
            for line in group:
                opening[line["account"]] = opening.get(line["account"], 0) + line["amount"]
        else:
            others.append(group)
    return opening, others


def _currency(row: Row) -> dict[str, str]:
    line = row.line
    if not line["currency"] or line["amount_currency"] is None:
        return {}
    return {"AmountCurrency": format_cents(abs(line["amount_currency"])), "ExchangeCurrency": line["currency"],
            "ExchangeRate": _decimal(line["rate"])}  # fmt: skip


def _code(item: dict[str, Any]) -> str:
    code = (item.get("account") or item.get("group") or {}).get("code", "")
    return code.zfill(12) if code.isdigit() else code


def _bclass(account: dict[str, Any]) -> str:
    return BCLASS.get(account["type"]) or BCLASS_BY_DIGIT.get(account["code"][:1], "")


def _not_carried(ledger: Ledger) -> list[Problem]:
    problems = lost("partners", ledger.partners.num_rows, "left out (Banana's address book is not imported here)")
    problems += lost("company name", 1 if ledger.company.name else 0,
                     "left out (Banana keeps it in the file properties, which are not imported)")  # fmt: skip
    problems += lost("open items", ledger.open_items.num_rows, "left out")
    with_partner = lines_with(ledger.lines, "partner")
    problems += lost("line partner references", with_partner, "left out")
    with_centre = lines_with(ledger.lines, "cost_centre")
    problems += lost("line cost centres", with_centre, "left out (Banana's Cc1-Cc3 need cost-centre accounts)")
    return problems


FORMAT = BananaWriter
