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
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from migrator import vat
from migrator.model import FiscalYear, Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.parsing import decimal_text
from migrator.writers.base import lost

ACCOUNT_COLUMNS = ("Section", "Group", "Account", "Description", "BClass", "Gr", "Opening", "VatCode", "Disable")
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


@dataclass
class Row:
    """One line to write: the ledger line, the amount to write and the vendor VAT code it carries."""

    line: dict[str, Any]
    amount: int
    tax: str = ""


@dataclass
class VatPlan:
    """How a vendor that computes VAT from a code sees a ledger: codes, rates, accounts."""

    codes: dict[str, str]
    rates: dict[str, Decimal]
    accounts: dict[str, str]
    problems: list[Problem] = field(default_factory=list)


def vat_plan(ledger: Ledger, vendor: str) -> VatPlan:
    """The vendor code, rate and VAT account of each VAT code of `ledger`."""
    codes, problems = vat.translate(ledger, vendor)
    warnings = [Problem("warning", f"{p.message}; written as it is") for p in problems]
    rates: dict[str, Decimal] = {}
    accounts: dict[str, str] = {}
    used: dict[str, Counter[str]] = {}
    lines = ledger.lines
    for code, account, is_vat in zip(
        lines.column("vat_code").to_pylist(), lines.column("account").to_pylist(),
        lines.column("vat_line").to_pylist(), strict=True,
    ):  # fmt: skip
        if code and is_vat:
            used.setdefault(code, Counter())[account] += 1
    for row in ledger.vat_codes.to_pylist():
        if row["account"]:
            accounts[row["code"]] = row["account"]
    every = set(codes) | set(used) | set(ledger.vat_codes.column("code").to_pylist())
    every |= set(ledger.lines.column("vat_code").to_pylist())
    for code in sorted(c for c in every if c):
        codes.setdefault(code, code)
        known = vat.meaning(ledger, code)
        if known is not None:
            rates[code] = known[1]
        if code not in accounts and code in used:
            accounts[code] = used[code].most_common(1)[0][0]
    return VatPlan(codes, rates, accounts, warnings)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def computed_vat(amount: int, rate: Decimal, gross: bool) -> int:
    """The VAT in cents a vendor computes on `amount` (net: rate × amount; gross: the VAT inside it)."""
    share = rate / (100 + rate) if gross else rate / 100
    value = _round(abs(Decimal(amount)) * share)
    return -value if amount < 0 else value


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` split over `weights` in proportion, to the cent (largest remainder); sums to `total`."""
    sizes = [abs(w) for w in weights]
    whole = sum(sizes)
    if not weights:
        return []
    if whole == 0:
        return [total] + [0] * (len(weights) - 1)
    sign = -1 if total < 0 else 1
    shares = [abs(total) * s // whole for s in sizes]
    rest = abs(total) - sum(shares)
    order = sorted(range(len(sizes)), key=lambda i: -((abs(total) * sizes[i]) % whole))
    for i in order[:rest]:
        shares[i] += 1
    return [sign * s for s in shares]


def fold_entry(lines: list[dict[str, Any]], plan: VatPlan, gross: bool) -> tuple[list[Row], list[str]]:
    """The rows a vendor that books VAT from a code must import for one entry, and why some are plain.

    A base line carries the vendor code (and, when `gross`, its VAT added to its amount) and its VAT
    line is left out, when the vendor's own computation gives exactly that VAT on the code's account.
    """
    rows = {id(line): Row(line, line["amount"]) for line in lines}
    dropped: set[int] = set()
    notes: list[str] = []
    for code in sorted({line["vat_code"] for line in lines if line["vat_code"]}):
        bases = [line for line in lines if line["vat_code"] == code and not line["vat_line"]]
        vat_lines = [line for line in lines if line["vat_code"] == code and line["vat_line"]]
        rate = plan.rates.get(code)
        if not bases:
            notes.append(f"VAT line(s) of {code} without a base line: written as booked, without VAT code")
            continue
        total = sum(line["amount"] for line in vat_lines)
        declared = [line["vat_amount"] for line in bases]
        if all(d is not None for d in declared) and sum(declared) == total:
            shares = [int(d) for d in declared]
        else:
            shares = allocate(total, [line["amount"] for line in bases])
        account = plan.accounts.get(code, "")
        why = ""
        if rate is None:
            why = "its rate is unknown"
        elif any(line["account"] != account for line in vat_lines):
            why = f"its VAT lines are not all on its VAT account {account}"
        elif any(line["currency"] for line in bases + vat_lines):
            why = "its lines are in a foreign currency"
        else:
            for line, share in zip(bases, shares, strict=True):
                amount = line["amount"] + share if gross else line["amount"]
                if computed_vat(amount, rate, gross) != share:
                    why = f"the program would compute other VAT at {rate} % than the {format_cents(share)} booked"
        if why:
            notes.append(f"VAT code {code}: {why}; written as booked, without VAT code")
            continue
        for line, share in zip(bases, shares, strict=True):
            rows[id(line)] = Row(line, line["amount"] + share if gross else line["amount"], plan.codes[code])
        dropped |= {id(line) for line in vat_lines}
    return [rows[id(line)] for line in lines if id(line) not in dropped], notes


def entries(ledger: Ledger, lines: Iterable[dict[str, Any]] | None = None) -> list[list[dict[str, Any]]]:
    """The ledger's lines grouped by entry, entries in order of their first line, lines by number."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in ledger.lines.to_pylist() if lines is None else lines:
        grouped.setdefault(line["entry"], []).append(line)
    return [sorted(group, key=lambda line: line["line"]) for group in grouped.values()]


def is_pair(rows: list[Row]) -> bool:
    """Two plain lines that a single debit/credit row can carry."""
    if len(rows) != 2 or any(r.tax for r in rows):
        return False
    a, b = rows[0], rows[1]
    same = (a.line["currency"], a.line["rate"]) == (b.line["currency"], b.line["rate"])
    foreign = a.line["amount_currency"], b.line["amount_currency"]
    matched = foreign == (None, None) or (None not in foreign and foreign[0] == -foreign[1])
    return a.amount == -b.amount and same and matched


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
        groups = entries(ledger)
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
        for lines in groups:
            rows, notes = fold_entry(lines, plan, gross=False)
            first = lines[0]
            where = f"entry {first['doc'] or first['entry']} of {first['date']}"
            problems += [Problem("warning", f"{where}: {n}", first["source_file"], first["source_row"]) for n in notes]
            common = {"Date": first["date"].isoformat(), "Doc": first["doc"]}
            if is_pair(rows):
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
        return out, problems


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
    problems += lost("open items", ledger.open_items.num_rows, "left out")
    with_partner = sum(1 for p in ledger.lines.column("partner").to_pylist() if p)
    problems += lost("line partner references", with_partner, "left out")
    with_centre = sum(1 for c in ledger.lines.column("cost_centre").to_pylist() if c)
    problems += lost("line cost centres", with_centre, "left out (Banana's Cc1-Cc3 need cost-centre accounts)")
    return problems


FORMAT = BananaWriter
