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
Rounding: each year's file rounds VAT to the cent or to 0.05, whichever reproduces more of the year's
entry/code groups (Winbiz and Infoniqa books round to 0.05); ``fileinfo.txt`` states it (Banana's
property "VAT/Sales tax rounding", ``AccountingDataBase``/``VatRounding`` in its scripts, FORMATS.md)
and the README tells the user to set it. Where Banana's computation at that rounding differs from the
VAT booked (an entry rounded otherwise, a VAT amount set by hand), a row of VAT amount type 2 (100 %
VAT) books the difference with the code ``<code>-2`` (Banana's documented way to book rounding
differences, FORMATS.md): so every code is carried and the VAT per code stays exact. A base row booked
against the code's usual side (a sales credit note: sales account in debit) gets the code with a
minus, ``-V81``, as Banana's documentation on credit notes asks; rows of VAT due normally sit in credit,
others in debit.
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
which takes text columns as text (*assumed*), not for a spreadsheet; nothing is made inert. A text
starting with ``"`` would open a quoted field and swallow the rows after it: it is written quoted
(``"`` doubled inside), as CSV does.
Partners go to the Contacts table, or with the option ``partner_accounts`` to a customers/suppliers
register in the accounts table (`register_rows`); then the open invoices and bills are carried the way
Banana users keep them, in the register: the last year's transactions end with one row per open item
that moves its open amount from the receivable (payable) account to the partner's register account on
the last day of the year, with its number in ``DocInvoice`` (`open_item_rows`). Without the option
the open items are declared not carried.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import vat
from migrator.i18n import N_, guide  # the import guide in the user's language (issue 17)
from migrator.model import EntryGroups, FiscalYear, Ledger, Problem, table, years_of
from migrator.model import rows as model_rows
from migrator.money import format_cents, format_cents_array
from migrator.parsing import decimal_text
from migrator.vatfold import Row, VatChecks, VatPlan, computed_vat, fold_entry, is_pair, vat_check_table, vat_plan
from migrator.writers.base import entries, lines_with, lost, lost_columns

ACCOUNT_COLUMNS = (
    "Section", "Group", "Account", "Description", "BClass", "Gr", "Opening", "Currency", "VatCode", "Disable",
)  # fmt: skip
VAT_COLUMNS = ("Group", "VatCode", "Description", "VatRate", "Gr1", "IsDue", "AmountType", "VatAccount")
INFO_COLUMNS = ("Section", "Id", "Description", "Value")
ROUNDING_SUFFIX = "-2"  # Banana's documented code for rounding differences of a code: M81-2 (FORMATS.md)
TRANSACTION_COLUMNS = (
    "Date", "Doc", "Description", "AccountDebit", "AccountCredit", "Amount", "VatCode", "VatAmountType",
    "AmountCurrency", "ExchangeCurrency", "ExchangeRate",
)  # fmt: skip
# Banana BClass: 1 assets, 2 liabilities (and equity), 3 expenses, 4 income, 5 off-balance (FORMATS.md).
BCLASS = {"asset": "1", "liability": "2", "equity": "2", "expense": "3", "income": "4", "off_balance": "5"}
# Class digit of the Swiss SME chart, for accounts whose source gives no type.
BCLASS_BY_DIGIT = {"1": "1", "2": "2", "3": "4", "4": "3", "5": "3", "6": "3", "7": "4", "8": "3", "9": "3"}
DUE_KINDS = ("sales", "acquisition")

README = N_("""Banana Accounting import files written by migrator
==================================================

{layout}

In Banana (one accounting file per fiscal year, with the period of that year):
1. Accounts: open the Accounts table and import accounts.txt
   (Actions > Import into accounting > Text file with column headers), or copy its rows into the table.
   The Opening column holds the opening balances of the year (credit balances negative).
2. VAT codes: import vatcodes.txt into the VAT codes table the same way. Check each code's VatAccount,
   IsDue and Gr1 (VAT form figures) against your VAT setup: these columns are not verified.
3. VAT rounding: fileinfo.txt is not imported; it states the file property "VAT/Sales tax rounding"
   (VatRounding) the transactions were written for. Set it (File > File and accounting properties > VAT)
   before step 4.
4. Transactions: Actions > Import into accounting > Text file with column headers, file transactions.txt.

VAT: rows with a VatCode carry the NET amount (VatAmountType 1); Banana computes the VAT and books it
to the code's VatAccount. The VAT lines of the source books are therefore not in the file (they would
be counted twice). Rows without a VatCode are written exactly as booked.
{rounding}
Where Banana would compute other VAT than the books hold, a row with the code <code>-2 and
VatAmountType 2 (100 % VAT) books the difference, as Banana's documentation books rounding
differences; vatcodes.txt has these codes (AmountType 2). A code with a minus (-V81) books the VAT
in reverse, as on a credit note.
Compound entries are several rows with the same date and Doc, one account per row.
""")


def _text(value: str) -> str:
    """A cell of Banana's tab file: tabs and line breaks would break the row, so they become spaces;
    a leading ``"`` would open a quoted field, so such a cell is quoted."""
    if value.isprintable() and not value.startswith('"'):
        return value  # no tab or line boundary (none is printable): the cell as it is
    text = " ".join(value.replace("\t", " ").splitlines())
    return '"' + text.replace('"', '""') + '"' if text.startswith('"') else text


def _table(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = ["\t".join(columns)]
    tabs = len(columns) - 1
    for row in rows:
        line = "\t".join([row.get(c, "") for c in columns])
        # no cell holds a tab, a line boundary or anything else unprintable, and none starts with a
        # quote: every cell is written as it is (`_text` would return it unchanged)
        if line.count("\t") == tabs and line.replace("\t", " ").isprintable() and '\t"' not in line \
                and not line.startswith('"'):  # fmt: skip
            lines.append(line)
        else:
            lines.append("\t".join(_text(row.get(c, "")) for c in columns))
    return "\n".join(lines) + "\n"


def _decimal(value: str) -> str:
    try:
        return decimal_text(Decimal(value)) if value else ""
    except ArithmeticError:
        return value


class BananaWriter:
    """`partner_accounts`: customers and suppliers as accounts of a customers/suppliers register in
    the accounts table (`write_register`) instead of the Contacts table."""

    name = "banana"
    extension = ".txt"
    output = "folder"

    def __init__(self, partner_accounts: bool = False) -> None:
        self.partner_accounts = partner_accounts

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        plan = _plan(ledger)
        problems = list(plan.problems)
        years = years_of(ledger) or ()
        journal = _Journal(ledger.lines)
        folders: list[tuple[Path, FiscalYear | None]]
        if len(years) <= 1:
            folders = [(target, None)]
            layout = guide(N_("accounts.txt, vatcodes.txt and transactions.txt: one Banana file."))
        else:
            folders = [(target / _folder_name(y.start), y) for y in years]
            names = ", ".join(f.name for f, _ in folders)
            layout = guide(N_("One folder per fiscal year ({names}), each for its own Banana file."), names=names)
        checks = _checks(ledger)
        due = {code: _due(ledger, code) for code in plan.codes}
        written = 0
        fives: list[str] = []
        rounded: set[str] = set()
        transfers: list[dict[str, str]] = []
        if self.partner_accounts:
            transfers, notes = open_item_rows(ledger, years[-1].end if years else None)
            problems += notes
        within = [journal.within(year) for _, year in folders]
        year_checks = _checks_by_year(checks, journal, within) if len(folders) > 1 else [checks]
        for (folder, year), chosen, its_checks in zip(folders, within, year_checks, strict=True):
            folder.mkdir(exist_ok=True)
            label = folder.name if year is not None else "the books"
            step = its_checks.rounding_step()
            opening = journal.opening(chosen)
            if int(np.count_nonzero(chosen & journal.first_opening)) > 1:
                problems.append(
                    Problem(
                        "warning",
                        N_("{label}: several opening entries; Banana keeps one Opening per account").format(
                            label=label
                        ),
                    )
                )
            (folder / "accounts.txt").write_text(
                _table(ACCOUNT_COLUMNS, self._accounts(ledger, plan, opening)), "utf-8"
            )
            cells, notes = self._transactions(journal, chosen & ~journal.all_opening, plan, step, due, checks)
            problems += notes
            kinds, codes = cells["VatAmountType"], cells["VatCode"]
            rounded |= {code.lstrip("-") for code in pc.filter(codes, pc.equal(kinds, "2")).to_pylist()}
            columns: tuple[str, ...] = TRANSACTION_COLUMNS
            if transfers and folder == folders[-1][0]:  # the open items at the cut-over, after the journal
                columns = (*TRANSACTION_COLUMNS, *OPEN_ITEM_COLUMNS)
                cells = {name: pa.concat_arrays([cells.get(name, pa.array(np.full(len(kinds), ""), pa.string())),
                                                 pa.array([row.get(name, "") for row in transfers], pa.string())])
                         for name in columns}  # fmt: skip
            (folder / "transactions.txt").write_text(_column_table(columns, cells), "utf-8")
            (folder / "fileinfo.txt").write_text(_table(INFO_COLUMNS, [_rounding_info(step)]), "utf-8")
            if step == 5:
                fives.append(label if year is not None else "this file")
            written += int(journal.sizes[chosen].sum())
        vat_rows = self._vat_codes(ledger, plan, rounded)
        for folder, _ in folders:
            (folder / "vatcodes.txt").write_text(_table(VAT_COLUMNS, vat_rows), "utf-8")
        outside = ledger.lines.num_rows - written
        if outside:
            problems.append(
                Problem(
                    "warning",
                    N_("{outside} lines dated outside the fiscal years were not written").format(outside=outside),
                )
            )
        problems += write_address_book(ledger, folders[-1][0], contacts=not self.partner_accounts)
        if self.partner_accounts:
            problems += write_register(ledger, folders[-1][0])
        (target / "README.txt").write_text(guide(README, layout=layout, rounding=_rounding_text(fives))
                                           + address_book_readme(ledger, folders[-1][0], target,
                                                                 self.partner_accounts, transfers), "utf-8")  # fmt: skip
        return problems + _not_carried(ledger, register=self.partner_accounts)

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

    def _vat_codes(self, ledger: Ledger, plan: VatPlan, rounded: set[str]) -> list[dict[str, str]]:
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
            extra = target + ROUNDING_SUFFIX
            if extra in rounded:
                rows.setdefault(extra, {**rows[target], "VatCode": extra, "AmountType": "2",
                                        "Description": f"Rounding differences {target}"})  # fmt: skip
        return list(rows.values())

    def _transactions(self, journal: _Journal, chosen: np.ndarray, plan: VatPlan, step: int, due: dict[str, bool],
                      checks: VatChecks) -> tuple[dict[str, pa.Array], list[Problem]]:  # fmt: skip
        """The transactions table's cells (one Arrow column per column name) of the `chosen` entries, and
        the notes. An entry `journal.plain` finds folding alike by whole columns is written column-wise;
        every other one goes through `fold_entry` on its own, in entry order."""
        problems: list[Problem] = []
        plain = journal.plain(plan, step, checks) & chosen
        folded: dict[int, tuple[list[Row], bool]] = {}
        uncoded = 0
        for index, lines in journal.groups(np.flatnonzero(chosen & ~plain)):
            rows, notes = fold_entry(lines, plan, gross=False, step=step, adjust=True)
            uncoded += sum(1 for row in rows if row.line["vat_code"] and not row.tax)
            first = lines[0]
            where = f"entry {first['doc'] or first['entry']} of {first['date']}"
            problems += [Problem("warning", f"{where}: {n}", first["source_file"], first["source_row"]) for n in notes]
            folded[index] = (rows, is_pair(rows))
        simple = journal.simple_rows(plain, plan, due)
        pair = simple.pair.copy()
        for index, (_, whole) in folded.items():
            pair[index] = whole
        docs, renamed = journal.docs(chosen & ~pair)
        out: list[dict[str, str]] = []
        keys: list[tuple[int, int]] = []
        for index, (rows, whole) in folded.items():
            common = {"Date": journal.first_date(index).isoformat(), "Doc": docs[index].as_py()}
            if whole:
                debit, credit = sorted(rows, key=lambda r: r.amount < 0)
                out.append({**common, **_currency(debit), "Description": debit.line["description"],
                            "AccountDebit": debit.line["account"], "AccountCredit": credit.line["account"],
                            "Amount": format_cents(abs(debit.amount))})  # fmt: skip
                keys.append((index, 0))
                continue
            for number, row in enumerate(rows):
                side = "AccountDebit" if row.amount >= 0 else "AccountCredit"
                code = row.tax
                if code:
                    # against the code's usual side (VAT due in credit, else debit): a minus (-V81)
                    reverse = (row.amount > 0) == due.get(row.line["vat_code"], False)
                    code = ("-" if reverse else "") + code + (ROUNDING_SUFFIX if row.rounding else "")
                kind = ("2" if row.rounding else "1") if row.tax else ""
                account = plan.accounts[row.line["vat_code"]] if row.rounding else row.line["account"]
                out.append({**common, **_currency(row), "Description": row.line["description"],
                            side: account, "Amount": format_cents(abs(row.amount)),
                            "VatCode": code, "VatAmountType": kind})  # fmt: skip
                keys.append((index, number))
        cells = simple.cells(docs)
        if out:
            entry_key = np.concatenate([simple.entry, np.array([k[0] for k in keys], dtype=np.int64)])
            part_key = np.concatenate([simple.part, np.array([k[1] for k in keys], dtype=np.int64)])
            order = pa.array(np.lexsort((part_key, entry_key)))
            cells = {name: pa.concat_arrays([values, pa.array([row.get(name, "") for row in out], pa.string())])
                     .take(order) for name, values in cells.items()}  # fmt: skip
        problems += lost(N_("VAT codes on lines"), uncoded, N_("written as booked, without VAT code, where Banana would "
                         "not compute the same VAT (see the warnings)"))  # fmt: skip
        if renamed:
            problems.append(Problem("info", N_("{renamed} compound entries share date and Doc with another one, which would join them: ' (2)', ' (3)', … added to their Doc").format(renamed=renamed)))  # fmt: skip
        return cells, problems

    def as_kept(self, ledger: Ledger) -> Ledger:
        """the opening entries of each fiscal year merged into one opening balance per account.

        The ledger as Banana keeps it: Banana holds opening balances only as the accounts table's
        ``Opening`` column, one per account and year, so the opening entries of a year (the file the
        writer writes for it) become one opening entry of the nonzero sums per account, dated as the
        reader dates it (the start of the year folder, or 1 January of the year's first transaction
        in a file of one year); where the writer writes a folder per year, entries dated outside the
        fiscal years are left out, as the writer leaves them; an entry with several base lines of a
        VAT code Banana computes, or whose VAT Banana computes otherwise at the year's rounding, gets
        one VAT line per base line as Banana computes it (Banana books VAT per row) and one more for
        the difference (the rounding row). Every other entry is kept as it is (its Doc may get a
        suffix, see `_Docs`).
        Column-wise: per-account sums with `reconcile.sums_by`.
        """
        return ledger.replace(lines=_kept_lines(ledger))


class _Journal:
    """A ledger's lines grouped by entry, entries in the order they first appear and lines in line
    number order (as `writers.base.entries` gives them), and what the writer asks of each entry."""

    def __init__(self, lines: pa.Table) -> None:
        lines = lines.combine_chunks()
        size = lines.num_rows
        number = np.asarray(EntryGroups.of(lines).numbers(), dtype=np.int64) if size else np.zeros(0, np.int64)
        line = np.asarray(pc.fill_null(lines.column("line"), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        order = np.lexsort((line, number))
        if size and not (order == np.arange(size)).all():
            lines = lines.take(pa.array(order))
        self.lines = lines = lines.combine_chunks()
        ordered = number[order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if size else np.zeros(0, np.int64)
        self.sizes = np.diff(np.r_[self.starts, size])
        self.entry = np.repeat(np.arange(len(self.starts)), self.sizes)
        """Entry (index) of each line."""
        at = pa.array(self.starts)
        self.ids = self._column("entry").take(at)
        self.dates = self._column("date").take(at)
        opening = np.asarray(pc.fill_null(lines.column("opening"), False).to_numpy(zero_copy_only=False), dtype=bool)
        self.first_opening = opening[self.starts]
        self.all_opening = np.logical_and.reduceat(opening, self.starts) if size else np.zeros(0, bool)
        self._plain: dict[int, np.ndarray] = {}

    @functools.cached_property
    def first_docs(self) -> pa.Array:
        """Each entry's first line's Doc."""
        return self._column("doc").take(pa.array(self.starts))

    @functools.cached_property
    def date_texts(self) -> pa.Array:
        """Each entry's first line's date, yyyy-mm-dd."""
        return self.dates.cast(pa.string())

    @functools.cached_property
    def codes(self) -> pa.Array:
        return self._column("vat_code").fill_null("")

    @functools.cached_property
    def coded(self) -> np.ndarray:
        return np.asarray(pc.not_equal(self.codes, "").to_numpy(zero_copy_only=False), dtype=bool)

    @functools.cached_property
    def vat_line(self) -> np.ndarray:
        return np.asarray(pc.fill_null(self._column("vat_line"), False).to_numpy(zero_copy_only=False), dtype=bool)

    @functools.cached_property
    def amounts(self) -> np.ndarray:
        return np.asarray(pc.fill_null(self._column("amount"), 0).to_numpy(zero_copy_only=False), dtype=np.int64)

    def first_date(self, index: int) -> dt.date:
        return self.dates[index].as_py()

    def within(self, year: FiscalYear | None) -> np.ndarray:
        """Entries whose first line is dated in `year` (all of them for None)."""
        if year is None:
            return np.ones(len(self.starts), dtype=bool)
        inside = pc.and_(pc.greater_equal(self.dates, pa.scalar(year.start, pa.date32())),
                         pc.less_equal(self.dates, pa.scalar(year.end, pa.date32())))  # fmt: skip
        return np.asarray(pc.fill_null(inside, False).to_numpy(zero_copy_only=False), dtype=bool)

    def opening(self, chosen: np.ndarray) -> dict[str, int]:
        """The sum per account of the chosen entries all of whose lines are opening lines."""
        mask = (chosen & self.all_opening)[self.entry]
        taken = self.lines.filter(pa.array(mask))
        out: dict[str, int] = {}
        for account, cents in zip(taken.column("account").to_pylist(), taken.column("amount").to_pylist(),
                                  strict=True):  # fmt: skip
            out[account] = out.get(account, 0) + cents
        return out

    def groups(self, indices: np.ndarray) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """(index, lines as dicts) of the entries at `indices`, in order."""
        if not len(indices):
            return
        mask = np.zeros(len(self.starts), dtype=bool)
        mask[indices] = True
        rows = model_rows(self.lines.filter(pa.array(mask[self.entry])))
        at = 0
        for index in indices.tolist():
            yield index, rows[at : at + int(self.sizes[index])]
            at += int(self.sizes[index])

    def _column(self, name: str) -> pa.Array:
        return self.lines.column(name).combine_chunks()

    def plain(self, plan: VatPlan, step: int, checks: VatChecks) -> np.ndarray:
        """`_plain` at `step`, worked out once per step."""
        if step not in self._plain:
            self._plain[step] = self._plain_entries(plan, step, checks)
        return self._plain[step]

    def _plain_entries(self, plan: VatPlan, step: int, checks: VatChecks) -> np.ndarray:
        """Entries `fold_entry` writes line by line without rounding row or split and without a note,
        found column-wise: no VAT code, or for each code one base line and one VAT line on the code's VAT
        account (`VatPlan.accounts`), in the base currency, whose VAT Banana computes alike at `step`
        (`vat_checks`). Entries with a missing date, amount or text go through `fold_entry` too."""
        count = len(self.starts)
        if not count:
            return np.zeros(0, dtype=bool)
        bad = np.zeros(len(self.entry), dtype=bool)
        for name in ("account", "amount", "currency", "rate", "description", "vat_code", "doc", "entry"):
            bad |= np.asarray(pc.is_null(self._column(name)).to_numpy(zero_copy_only=False), dtype=bool)
        codes, coded, vat_line = self.codes, self.coded, self.vat_line
        foreign = np.asarray(pc.not_equal(self._column("currency").fill_null(""), "").to_numpy(zero_copy_only=False),
                             dtype=bool)  # fmt: skip
        bad |= coded & foreign
        expected = _mapped(codes, plan.accounts)
        on_account = pc.equal(self._column("account").fill_null(""), expected)
        bad |= coded & vat_line & ~np.asarray(on_account.to_numpy(zero_copy_only=False), dtype=bool)
        out = ~np.logical_or.reduceat(bad, self.starts)
        out &= np.asarray(pc.is_valid(self.dates).to_numpy(zero_copy_only=False), dtype=bool)
        coded_lines = np.add.reduceat(coded.astype(np.int64), self.starts)
        counted = np.zeros(count, dtype=np.int64)
        alike = np.ones(count, dtype=bool)
        if len(checks):
            bases, vats, booked, cent, five, zero = checks.sums
            where = np.asarray(pc.fill_null(pc.index_in(checks.entry, value_set=self.ids), -1)
                               .to_numpy(zero_copy_only=False))  # fmt: skip
            found = where >= 0
            same = (bases == 1) & (vats == 1) & (zero == 0) & (booked == (five if step == 5 else cent))
            np.add.at(counted, where[found], (bases + vats)[found].astype(np.int64))
            np.logical_and.at(alike, where[found], same[found].astype(bool))
        return out & alike & (counted == coded_lines)

    def simple_rows(self, plain: np.ndarray, plan: VatPlan, due: dict[str, bool]) -> _Simple:
        """The rows of the `plain` entries (`fold_entry` drops their VAT lines and gives their base lines
        the code), column-wise."""
        codes, coded, vat_line = self.codes, self.coded, self.vat_line
        keep = plain[self.entry] & ~(coded & vat_line)
        rows = np.flatnonzero(keep)
        entry = self.entry[rows]
        count = np.bincount(entry, minlength=len(self.starts))
        first = np.full(len(self.starts), -1, dtype=np.int64)
        first[entry[::-1]] = rows[::-1]  # each entry's first row
        amounts = self.amounts
        foreign = self._column("amount_currency")
        pair = plain & (count == 2)
        candidates = np.flatnonzero(pair)
        if len(candidates):
            a = first[candidates]
            b = _next_rows(rows, a)
            at_a, at_b = pa.array(a), pa.array(b)
            same = np.asarray(pc.and_(
                pc.equal(self._column("currency").take(at_a), self._column("currency").take(at_b)),
                pc.equal(self._column("rate").take(at_a), self._column("rate").take(at_b)),
            ).to_numpy(zero_copy_only=False), dtype=bool)  # fmt: skip
            fa, fb = foreign.take(at_a), foreign.take(at_b)
            both_null = np.asarray(pc.and_(pc.is_null(fa), pc.is_null(fb)).to_numpy(zero_copy_only=False), dtype=bool)
            opposite = np.asarray(pc.fill_null(pc.equal(fa, pc.negate(fb)), False).to_numpy(zero_copy_only=False),
                                  dtype=bool)  # fmt: skip
            untaxed = ~coded[a] & ~coded[b]
            pair[candidates] = untaxed & same & (both_null | opposite) & (amounts[a] == -amounts[b])
        return _Simple(self, rows, entry, first, pair, coded & ~vat_line, codes, plan, due, amounts)

    def docs(self, chosen: np.ndarray) -> tuple[pa.Array, int]:
        """Each entry's Doc, made unique per date among the `chosen` entries (`_Docs`, in entry order),
        and how many were renamed."""
        docs = self.first_docs
        picked = np.flatnonzero(chosen)
        if not len(picked):
            return docs, 0
        at = pa.array(picked)
        keys = pa.table({"date": self.dates.take(at), "doc": docs.take(at)})
        if keys.group_by(["date", "doc"]).aggregate([]).num_rows == len(picked):
            return docs, 0  # no date and Doc twice: none renamed
        unique = _Docs()
        days, texts = self.dates.take(at).to_pylist(), docs.take(at).to_pylist()
        renamed = [unique.unique(day, doc) for day, doc in zip(days, texts, strict=True)]
        mask = np.zeros(len(docs), dtype=bool)
        mask[picked] = True
        return pc.replace_with_mask(docs, pa.array(mask), pa.array(renamed, pa.string())), unique.renamed


def _next_rows(rows: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """The row after each of `firsts` in `rows` (sorted)."""
    return rows[np.searchsorted(rows, firsts, side="right")]


class _Simple:
    """The rows of the entries written column-wise: `rows` (line indexes), their `entry`, each entry's
    `first` row and whether it is a `pair` (one debit/credit row)."""

    def __init__(self, journal: _Journal, rows: np.ndarray, entry: np.ndarray, first: np.ndarray, pair: np.ndarray,
                 taxed: np.ndarray, codes: pa.Array, plan: VatPlan, due: dict[str, bool], amounts: np.ndarray
                 ) -> None:  # fmt: skip
        self.journal, self.rows, self.entry_of, self.first, self.pair = journal, rows, entry, first, pair
        self.taxed, self.codes, self.plan, self.due, self.amounts = taxed, codes, plan, due, amounts
        single = ~pair[entry]
        self.singles = rows[single]
        paired = np.flatnonzero(pair)
        position = np.arange(len(rows)) - np.searchsorted(rows, first[entry])
        entries = np.concatenate([entry[single], paired])
        parts = np.concatenate([position[single], np.zeros(len(paired), dtype=np.int64)])
        self.order = np.lexsort((parts, entries))
        self.entry, self.part = entries[self.order], parts[self.order]
        """Entry and position in it of each row `cells` gives, in its order."""
        self.pairs = paired

    def cells(self, docs: pa.Array) -> dict[str, pa.Array]:
        """The transactions table's cells of these rows: one row per line of an entry, then one per pair."""
        journal, lines = self.journal, self.journal.lines
        doc_of = docs
        rows, pairs = self.singles, self.pairs
        a = self.first[pairs]
        b = _next_rows(self.rows, a)
        debit_first = self.amounts[a] >= 0
        debit = np.where(debit_first | (self.amounts[b] < 0), a, b)
        credit = np.where(debit == a, b, a)
        at = pa.array(rows)
        amount = self.amounts[rows]
        date_text = journal.date_texts
        entries = journal.entry[rows]
        accounts = journal._column("account")
        empty = pa.array(np.full(len(rows), ""), pa.string())
        debit_side = pa.array(amount >= 0)
        taxed = self.taxed[rows]
        codes = self.codes.take(at)
        target = _mapped(codes, self.plan.codes)
        due = _mapped(codes, {c: "1" for c, d in self.due.items() if d})
        reverse = (amount > 0) == np.asarray(pc.equal(due, "1").to_numpy(zero_copy_only=False), dtype=bool)
        signed = pc.if_else(pa.array(reverse), pc.binary_join_element_wise("-", target, ""), target)
        single = {
            "Date": date_text.take(pa.array(entries)), "Doc": doc_of.take(pa.array(entries)),
            "Description": journal._column("description").take(at),
            "AccountDebit": pc.if_else(debit_side, accounts.take(at), empty),
            "AccountCredit": pc.if_else(debit_side, empty, accounts.take(at)),
            "Amount": format_cents_array(pa.array(np.abs(amount))),
            "VatCode": pc.if_else(pa.array(taxed), signed, empty),
            "VatAmountType": pc.if_else(pa.array(taxed), "1", empty),
            **_currency_cells(lines, at),
        }  # fmt: skip
        at_debit, at_credit = pa.array(debit), pa.array(credit)
        double = {
            "Date": date_text.take(pa.array(pairs)), "Doc": doc_of.take(pa.array(pairs)),
            "Description": journal._column("description").take(at_debit),
            "AccountDebit": accounts.take(at_debit), "AccountCredit": accounts.take(at_credit),
            "Amount": format_cents_array(pa.array(np.abs(self.amounts[debit]))),
            "VatCode": pa.array(np.full(len(pairs), ""), pa.string()),
            "VatAmountType": pa.array(np.full(len(pairs), ""), pa.string()),
            **_currency_cells(lines, at_debit),
        }  # fmt: skip
        order = pa.array(self.order)
        return {name: pa.concat_arrays([_flat(single[name]), _flat(double[name])]).take(order)
                for name in TRANSACTION_COLUMNS}  # fmt: skip


def _flat(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One string array."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return values.cast(pa.string())


def _mapped(keys: pa.Array, mapping: dict[str, str]) -> pa.Array:
    """`mapping[key]` of each key, "" where it has none."""
    names = list(mapping)
    where = pc.index_in(keys, value_set=pa.array(names, pa.string()))
    values = pa.array([mapping[n] for n in names] or [""], pa.string()).take(pc.fill_null(where, 0))
    return pc.if_else(pc.is_valid(where), values, "")


def _currency_cells(lines: pa.Table, at: pa.Array) -> dict[str, pa.Array]:
    """`_currency` of the lines at `at`: AmountCurrency, ExchangeCurrency, ExchangeRate ("" for a line in
    the base currency or without a foreign amount)."""
    currency = lines.column("currency").combine_chunks().take(at)
    foreign = lines.column("amount_currency").combine_chunks().take(at)
    shown = pc.and_(pc.not_equal(currency, ""), pc.is_valid(foreign))
    empty = pa.array(np.full(len(at), ""), pa.string())
    if not pc.any(shown).as_py():
        return {"AmountCurrency": empty, "ExchangeCurrency": empty, "ExchangeRate": empty}
    rates = lines.column("rate").combine_chunks().take(at)
    distinct = pc.unique(rates).to_pylist()
    written = _mapped(rates, {r: _decimal(r) for r in distinct if r is not None})
    amount = format_cents_array(pc.abs(pc.fill_null(foreign, 0)))
    return {"AmountCurrency": pc.if_else(shown, amount, empty), "ExchangeCurrency": pc.if_else(shown, currency, empty),
            "ExchangeRate": pc.if_else(shown, written, empty)}  # fmt: skip


_PLAIN_CELL = r"^(?:[ !#-~\x{A1}-\x{AC}\x{AE}-\x{17F}][ -~\x{A1}-\x{AC}\x{AE}-\x{17F}]*)?$"
"""A cell `_text` leaves as it is, for sure: printable ASCII, Latin-1 and Latin Extended-A letters and signs
(printable in every Unicode version; not the no-break space U+00A0 nor the soft hyphen U+00AD), no
leading quote."""


def _column_table(columns: tuple[str, ...], cells: dict[str, pa.Array]) -> str:
    """`_table` of rows given column-wise: each cell through `_text` (only those that are not plain
    printable ASCII without a leading quote can change), joined by tabs, a line per row."""
    texts = []
    for name in columns:
        values = cells[name]
        odd = np.flatnonzero(~np.asarray(pc.match_substring_regex(values, _PLAIN_CELL)
                                          .to_numpy(zero_copy_only=False), dtype=bool))  # fmt: skip
        if len(odd):
            fixed = [_text(v) for v in values.take(pa.array(odd)).to_pylist()]
            mask = np.zeros(len(values), dtype=bool)
            mask[odd] = True
            values = pc.replace_with_mask(values, pa.array(mask), pa.array(fixed, pa.string()))
        texts.append(values)
    if not texts or not len(texts[0]):
        return "\t".join(columns) + "\n"
    joined = pc.binary_join_element_wise(*texts, "\t")
    return "\t".join(columns) + "\n" + "\n".join(joined.to_pylist()) + "\n"


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
    if not flat and pc.min(year).as_py() < 0:  # (no copy of the books when every line is inside)
        lines = lines.filter(pc.greater_equal(year, 0))
        first_date = first_date.filter(pc.greater_equal(year, 0))
        year = year.filter(pc.greater_equal(year, 0))
    opening = _whole_opening(lines)
    moving = pc.invert(opening)
    openings = lines.filter(opening).append_column("year", year.filter(opening))
    moving_dates = first_date.filter(pc.invert(opening))
    moving_lines = lines.filter(moving) if pc.any(opening).as_py() else lines
    del lines  # a copy of the books (one chunk): let go before the VAT rows are rebuilt
    kept = _vat_per_row(ledger, moving_lines, year.filter(moving), flat)
    del moving_lines
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


def _vat_per_row(ledger: Ledger, lines: pa.Table, year: pa.Array, flat: bool) -> pa.Table:
    """Banana books the VAT of every row with a code itself, one VAT booking per row, at its file's
    rounding, and the writer books the rest in a rounding row: where an entry has several base lines
    (or several VAT lines) of a code the writer writes as a code, or VAT other than Banana computes,
    its VAT lines become one per base line and one for the difference, as Banana and the reader book
    them. Only such entries are looked at line by line; they are found column-wise (`vat_checks`)."""
    if not lines.num_rows:
        return lines
    plan = _plan(ledger)
    checks = _checks(ledger)
    if lines.num_rows != ledger.lines.num_rows:  # it drops whole entries: their checks go too
        present = pc.is_in(checks.entry, value_set=pc.unique(lines.column("entry")))
        checks = checks.filter(np.asarray(present.to_numpy(zero_copy_only=False), dtype=bool))
    if not len(checks):
        return lines
    step_of: dict[str, int] = {}
    bases, vats, booked, cent, five, zero = checks.sums
    if flat:  # one file, one rounding
        only = checks.rounding_step()
        steps = np.full(len(checks), only)
    else:  # each year's rounding, from its entries' checks (every line of an entry is in its year)
        first = pc.index_in(checks.entry, value_set=lines.column("entry"))
        year_of = np.asarray(year.take(first).to_numpy(zero_copy_only=False), dtype=np.int64)
        steps = np.ones(len(checks), dtype=np.int64)
        for index in np.unique(year_of).tolist():
            mine = year_of == index
            steps[mine] = checks.filter(mine).rounding_step()
        step_of = dict(zip(checks.entry.to_pylist(), steps.tolist(), strict=True))
        only = 0
    odd = (bases > 1) | (vats > 1) | (zero != 0) | (booked != np.where(steps == 5, five, cent))
    candidates = pc.unique(checks.entry.filter(pa.array(odd)))
    if not candidates:
        return lines
    chosen_lines = pc.is_in(lines.column("entry"), value_set=candidates)
    rebuilt: list[dict[str, Any]] = []
    for entry_lines in entries(lines.filter(chosen_lines)):
        step = only or step_of[entry_lines[0]["entry"]]
        rows, _ = fold_entry(entry_lines, plan, gross=False, step=step, adjust=True)
        out: list[dict[str, Any]] = []
        for row in rows:  # each row as the reader reads it: its line (split parts apart), then its VAT
            code = row.line["vat_code"]
            vat_line = {**row.line, "account": plan.accounts.get(code, ""), "vat_amount": None, "vat_line": True}
            if row.rounding:
                out.append({**vat_line, "amount": row.amount})
                continue
            out.append({**row.line, "amount": row.amount})
            share = computed_vat(row.amount, plan.rates[code], gross=False, step=step) if row.tax else 0
            if share:
                out.append({**vat_line, "amount": share})
        rebuilt += [{**line, "line": number} for number, line in enumerate(out, start=1)]
    return pa.concat_tables([lines.filter(pc.invert(chosen_lines)), table("lines", rebuilt)])


def _year_index(dates: pa.ChunkedArray | pa.Array, years: tuple[FiscalYear, ...]) -> pa.Array:
    """Index of the fiscal year each date falls in; -1 outside them (or undated)."""
    out = pa.array(np.full(len(dates), -1, dtype=np.int64))
    for index, span in enumerate(years):
        inside = pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                         pc.less_equal(dates, pa.scalar(span.end, pa.date32()))).fill_null(False)  # fmt: skip
        out = pc.if_else(inside, index, out)
    return out


def _checks_by_year(checks: VatChecks, journal: _Journal, within: list[np.ndarray]) -> list[VatChecks]:
    """`checks` split by the year (`within`: its entries) each entry is written in."""
    year = np.full(len(journal.starts), -1, dtype=np.int64)
    for index, chosen in enumerate(within):
        year[chosen & (year < 0)] = index
    at = np.asarray(pc.fill_null(pc.index_in(checks.entry, value_set=journal.ids), -1).to_numpy(zero_copy_only=False))
    of = np.where(at >= 0, year[np.maximum(at, 0)], -1)
    return [checks.filter(of == index) for index in range(len(within))]


def _plan(ledger: Ledger) -> VatPlan:
    """`vat_plan` of `ledger` for Banana, worked out once per ledger (the writer and `as_kept` both need it)."""
    return ledger.memo("banana_vat_plan", lambda: vat_plan(ledger, "banana"))


def _checks(ledger: Ledger) -> VatChecks:
    """`vat_checks` of all of `ledger`'s lines as columns, worked out once per ledger (the writer and
    `as_kept`); read only."""
    return ledger.memo("banana_vat_checks", lambda: vat_check_table(ledger.lines, _plan(ledger)))


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


def _due(ledger: Ledger, code: str) -> bool:
    """Whether `code` is VAT due (written IsDue): its VAT sits in credit, a base row of it in credit."""
    known = vat.meaning(ledger, code)
    return bool(known and known[0] in DUE_KINDS)


def _rounding_info(step: int) -> dict[str, str]:
    return {"Section": "AccountingDataBase", "Id": "VatRounding", "Description": "VAT/Sales tax rounding",
            "Value": "0.05" if step == 5 else "0.01"}  # fmt: skip


def _rounding_text(fives: list[str]) -> str:
    if not fives:
        return guide(N_("VAT is rounded to the cent (fileinfo.txt: VatRounding 0.01), Banana's default."))
    return guide(
        N_(
            "VAT ROUNDING: the books round VAT to 0.05 in {years}. There set\n"
            "File > File and accounting properties > VAT > 'VAT/Sales tax rounding' to 0.05 BEFORE importing\n"
            "transactions.txt (fileinfo.txt: VatRounding), or Banana computes other VAT. Other files keep\n"
            "Banana's default, 0.01."
        ),
        years=", ".join(fives),
    )


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


def _not_carried(ledger: Ledger, register: bool = False) -> list[Problem]:
    """What Banana's files leave out (the open items only without the register: `open_item_rows`)."""
    problems = lost(N_("company name"), 1 if ledger.company.name else 0,
                     N_("left out (Banana keeps it in the file properties, which are not imported)"))  # fmt: skip
    if not register:
        problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out: their amounts stay in the "
                         "receivable and payable accounts (the option partner_accounts=yes carries them into a "
                         "customers/suppliers register)"))  # fmt: skip
    problems += lost(N_("documents"), ledger.documents.num_rows, N_("left out (invoices are not imported here)"))
    problems += lost(N_("document lines"), ledger.document_lines.num_rows, N_("left out"))
    with_partner = lines_with(ledger.lines, "partner")
    problems += lost(N_("line partner references"), with_partner, N_("left out"))
    with_centre = lines_with(ledger.lines, "cost_centre")
    problems += lost(N_("line cost centres"), with_centre, N_("left out (Banana's Cc1-Cc3 need cost-centre accounts)"))
    return problems


# ------------------------------------------------------------------------ contacts and items tables

CONTACT_COLUMNS = (
    "RowId", "OrganisationName", "FirstName", "FamilyName", "Street", "AddressExtra", "PostalCode", "Locality",
    "CountryCode", "Language", "PhoneMain", "PhoneMobile", "Fax", "EmailWork", "Website", "GroupsId", "Notes",
)  # fmt: skip
ITEM_COLUMNS = ("ItemsId", "Description", "UnitPrice", "Unit", "QuantityBegin", "Cost", "Notes")
CONTACTS = "contacts.txt"
ITEMS = "items.txt"
PARTNER_KEPT = ("id", "kind", "roles", "name", "first_name", "last_name", "street", "building_number",
                "address_line2", "zip", "city", "country", "email", "phone", "mobile", "fax", "website", "language",
                "notes")  # fmt: skip
"""Partner columns the Contacts table holds (the building number inside Street)."""


def contact_row(partner: dict[str, Any]) -> dict[str, str]:
    """A partner as a row of Banana's Contacts table (column names: FORMATS.md, Banana's own importers).

    The building number goes inside ``Street`` (``Rue du Lac 12``): the Contacts table of Banana
    Accounting+ 10.2 has a building-number column, but its name is not documented where migrator looked.
    A person's name is FirstName and FamilyName; a company's, or any name that is not a person's first
    and family name, is OrganisationName. ``GroupsId`` holds the roles (customer, supplier, both).
    """
    person = partner["kind"] == "person" and bool(partner["first_name"] or partner["last_name"])
    return {
        "RowId": partner["id"], "OrganisationName": "" if person else partner["name"],
        "FirstName": partner["first_name"], "FamilyName": partner["last_name"],
        "Street": " ".join(p for p in (partner["street"], partner["building_number"]) if p),
        "AddressExtra": partner["address_line2"], "PostalCode": partner["zip"], "Locality": partner["city"],
        "CountryCode": partner["country"], "Language": partner["language"], "PhoneMain": partner["phone"],
        "PhoneMobile": partner["mobile"], "Fax": partner["fax"], "EmailWork": partner["email"],
        "Website": partner["website"], "GroupsId": partner["roles"], "Notes": partner["notes"],
    }  # fmt: skip


def kept_partner(partner: dict[str, Any]) -> dict[str, Any]:
    """The partner as Banana's Contacts table keeps it and the reader reads it back: the columns of
    `PARTNER_KEPT` (building number inside the street; a person's name as first and family name;
    a name without kind a company's), every other column empty. Line breaks in text become spaces."""
    from migrator.partners import partner_kind

    row = contact_row(partner)
    cells = {k: " ".join(v.replace("\t", " ").splitlines()).strip() for k, v in row.items()}
    first, last, org = cells["FirstName"], cells["FamilyName"], cells["OrganisationName"]
    kept: dict[str, Any] = {column: None for column in partner}
    kept.update({
        "id": cells["RowId"], "kind": partner_kind(org, first, last), "roles": cells["GroupsId"],
        "name": org or " ".join(p for p in (first, last) if p), "first_name": first, "last_name": last,
        "street": cells["Street"], "building_number": "", "address_line2": cells["AddressExtra"],
        "zip": cells["PostalCode"], "city": cells["Locality"], "country": cells["CountryCode"],
        "email": cells["EmailWork"], "phone": cells["PhoneMain"], "mobile": cells["PhoneMobile"],
        "fax": cells["Fax"], "website": cells["Website"], "language": cells["Language"], "notes": cells["Notes"],
    })  # fmt: skip
    return kept


def item_row(item: dict[str, Any]) -> dict[str, str]:
    """An item as a row of Banana's Items table (``ItemsId`` in an accounting file, FORMATS.md):
    Description the name, Notes the longer text, UnitPrice the sale price, Cost the purchase price,
    QuantityBegin the stock."""
    return {
        "ItemsId": item["code"], "Description": item["name"], "Notes": item["description"], "Unit": item["unit"],
        "UnitPrice": format_cents(item["sale_price"]) if item["sale_price"] is not None else "",
        "Cost": format_cents(item["purchase_price"]) if item["purchase_price"] is not None else "",
        "QuantityBegin": _decimal(item["stock"]),
    }  # fmt: skip


def write_address_book(ledger: Ledger, folder: Path, contacts: bool = True) -> list[Problem]:
    """``contacts.txt`` (unless not `contacts`) and ``items.txt`` (where the ledger has partners or
    items) in `folder`, and what they do not carry, column by column."""
    problems: list[Problem] = []
    partners = ledger.partners.to_pylist()
    if partners and contacts:
        (folder / CONTACTS).write_text(_table(CONTACT_COLUMNS, [contact_row(p) for p in partners]), "utf-8")
        problems += _partner_losses(partners)
    items = ledger.items.to_pylist()
    if items:
        (folder / ITEMS).write_text(_table(ITEM_COLUMNS, [item_row(i) for i in items]), "utf-8")
        kept = table("items", [kept_item(i) for i in items]).to_pylist()
        problems += lost_columns(N_("items"), items, kept, N_("the Items table has no column for them, an inactive item is written as active ({items})").format(items=ITEMS))  # fmt: skip
    return problems


def _partner_losses(partners: list[dict[str, Any]]) -> list[Problem]:
    """How many partners the Contacts table changes, and in which columns (as `kept_partner` says)."""
    kept = table("partners", [kept_partner(p) for p in partners]).to_pylist()
    return lost_columns(N_("partner details"), partners, kept, N_("the Contacts table has no column for them (IBAN, terms, account…), the building number is inside Street, a name without kind is a company ({contacts})").format(contacts=CONTACTS))  # fmt: skip


def kept_item(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the Items table keeps it and the reader reads it back: code, name, description,
    unit, prices and stock (text on one line); every other column empty, the item active."""

    def one_line(text: str) -> str:
        return " ".join(text.replace("\t", " ").splitlines()).strip()

    return {"code": one_line(item["code"]), "name": one_line(item["name"]),
            "description": one_line(item["description"]), "unit": one_line(item["unit"]),
            "sale_price": item["sale_price"], "purchase_price": item["purchase_price"],
            "stock": _decimal(item["stock"])}  # fmt: skip


def address_book_readme(ledger: Ledger, folder: Path, target: Path, register: bool = False,
                        transfers: list[dict[str, str]] | None = None) -> str:  # fmt: skip
    """What the README says about contacts.txt (or the register and the open items' `transfers`) and items.txt."""
    where = folder.relative_to(target).as_posix() + "/" if folder != target else ""
    parts = []
    if ledger.partners.num_rows and register:
        parts.append(guide(N_("5. Customers and suppliers: {where}accounts.txt ends with a customers register (section 01,\n"
                              "   accounts totalled in group {customers}) and a suppliers register (section 02, group "
                              "{suppliers}),\n   one account per partner with its address. They are imported with "
                              "the accounts (step 1)."), where=where, customers=CUSTOMER_GROUP, suppliers=SUPPLIER_GROUP))  # fmt: skip
        if transfers:
            parts.append(guide(N_("   Open invoices and bills: the last rows of {where}transactions.txt (Doc {doc},\n"
                                  "   dated {day}) move each open amount from the receivable or payable account to\n"
                                  "   the partner's account, with the invoice number in DocInvoice and its date in\n"
                                  "   DateDocument, so the register lists them by invoice number and 'Create new year'\n"
                                  "   carries them on. The invoices themselves are in the journal: not booked twice."),
                               where=where, doc=transfers[0]["Doc"], day=transfers[0]["Date"]))  # fmt: skip
    elif ledger.partners.num_rows:
        parts.append(guide(N_("5. Contacts: {where}{contacts} has the customers and suppliers (GroupsId: customer,\n"
                              "   supplier or both). Add the Contacts table to the accounting file if it has none, then\n"
                              "   import the file into it like the accounts (the columns are Banana's)."), where=where, contacts=CONTACTS))  # fmt: skip
    if ledger.items.num_rows:
        parts.append(guide(N_("{step}. Items: {where}{items} has the articles (UnitPrice the sale price, Cost the\n"
                              "   purchase price, QuantityBegin the stock). Add the Items table if the file has none, then\n"
                              "   import it the same way."), step=6 if parts else 5, where=where, items=ITEMS))  # fmt: skip
    return ("\n" + "\n".join(parts) + "\n") if parts else ""


# ------------------------------------------------------------------ customers and suppliers register

CUSTOMER_SECTION, SUPPLIER_SECTION = "01", "02"
CUSTOMER_GROUP, SUPPLIER_GROUP = "DEB", "CRE"
REGISTER_COLUMNS = (
    "OrganisationName", "FirstName", "FamilyName", "Street", "AddressExtra", "PostalCode", "Locality", "CountryCode",
    "Language", "PhoneMain", "PhoneMobile", "Fax", "EmailWork", "Website", "BankIban", "PaymentTermInDays",
)  # fmt: skip
"""Address columns of an account row (FORMATS.md: accounts can carry OrganisationName, FirstName,
FamilyName, PostalCode, CountryCode, EmailWork, BankIban, PaymentTermInDays…; the others as in the
Contacts table)."""


def register_rows(ledger: Ledger) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The rows a customers/suppliers register adds to the accounts table, and the partners left
    out (a blank code, or a code an account, a group or an earlier partner already has).

    A customer's account is its code in section ``01``, class 1 (assets), totalled in group ``DEB``
    (Description "Customers"), whose own total goes to the group of the customers' receivable
    account (the account most of them name), so the register appears in the balance sheet beside it;
    suppliers likewise in section ``02``, class 2, group ``CRE``. A partner with both roles is in the
    customers register. Openings stay on the collective accounts; the open items move to the register
    at the cut-over (`open_item_rows`)."""
    taken = set(ledger.accounts.column("code").to_pylist()) | set(ledger.groups.column("code").to_pylist())
    taken |= {CUSTOMER_GROUP, SUPPLIER_GROUP}
    parents = {a["code"]: a["parent"] for a in ledger.accounts.to_pylist()}
    base = ledger.company.base_currency
    rows: list[dict[str, str]] = []
    skipped: list[dict[str, Any]] = []
    partners = ledger.partners.to_pylist()
    for section, group, title, roles, bclass in (
        (CUSTOMER_SECTION, CUSTOMER_GROUP, "Customers", ("customer", "both", ""), "1"),
        (SUPPLIER_SECTION, SUPPLIER_GROUP, "Suppliers", ("supplier",), "2"),
    ):
        chosen = [p for p in partners if p["roles"] in roles]
        if not chosen:
            continue
        accounts = [p["account"] for p in chosen if p["account"]]
        collective = max(set(accounts), key=accounts.count) if accounts else ""
        rows.append({"Section": section, "Description": f"{title} register"})
        for partner in chosen:
            code = partner["id"].strip()
            if not code or code in taken:
                skipped.append(partner)
                continue
            taken.add(code)
            contact = contact_row(partner)
            rows.append({
                "Account": code, "Description": partner["name"] or display_name(partner), "BClass": bclass,
                "Gr": group, "Currency": partner["currency"] or base, "Disable": "" if partner["active"] else "1",
                **{c: contact.get(c, "") for c in REGISTER_COLUMNS}, "BankIban": partner["iban"],
                "PaymentTermInDays": "" if partner["payment_terms"] is None else str(partner["payment_terms"]),
            })  # fmt: skip
        rows.append({"Group": group, "Description": title, "Gr": parents.get(collective, "")})
    return rows, skipped


def display_name(partner: dict[str, Any]) -> str:
    return " ".join(p for p in (partner["first_name"], partner["last_name"]) if p) or partner["id"]


def write_register(ledger: Ledger, folder: Path) -> list[Problem]:
    """The customers/suppliers register at the end of `folder`'s accounts.txt (its header gains the
    address columns), and what it does not carry."""
    rows, skipped = register_rows(ledger)
    if not rows:
        return []
    path = folder / "accounts.txt"
    header, *lines = path.read_text("utf-8").rstrip("\n").split("\n")
    columns = (*header.split("\t"), *REGISTER_COLUMNS)
    extra = "\t" * len(REGISTER_COLUMNS)
    body = "".join(line + extra + "\n" for line in lines)
    register = _table(columns, rows).split("\n", 1)[1]
    path.write_text("\t".join(columns) + "\n" + body + register, "utf-8")
    from migrator.readers.banana import register_partner  # what the reader makes of a row

    base = ledger.company.base_currency
    cleaned = [{k: " ".join(v.replace("\t", " ").splitlines()).strip() for k, v in r.items()} for r in rows]
    kept = {p["id"]: p for p in (register_partner(r, base) for r in cleaned if r.get("Account"))}
    placed = [p for p in ledger.partners.to_pylist() if p not in skipped]
    after = table("partners", [kept[p["id"].strip()] for p in placed]).to_pylist()
    problems = lost_columns(N_("partner details"), placed, after, N_("an account row of the register holds the address, "
                            "IBAN and terms only; the building number is inside Street; the partner's account is its "
                            "register account"))  # fmt: skip
    problems += lost(N_("partners"), len(skipped), N_("left out of the register: a blank code, or a code an account or "
                     "another partner already has"))  # fmt: skip
    return problems


# ---------------------------------------------------------------- open items in the register

OPEN_ITEM_COLUMNS = ("DateDocument", "DocInvoice")
"""Transactions columns of an open item's transfer (FORMATS.md: recommended import columns)."""


def open_item_rows(ledger: Ledger, cut_over: dt.date | None) -> tuple[list[dict[str, str]], list[Problem]]:
    """The open items as transactions rows into the customers/suppliers register, and what is not carried.

    Banana users keep open invoices in the register: each customer's account holds what he owes, with
    the invoice number in ``DocInvoice`` (Banana's customer reports list the open invoices by it) and
    "create new year" carries these balances on. The invoices themselves are already in the journal
    (receivable against revenue), so an open item is not booked again: on `cut_over` (the last day of
    the last fiscal year) one row moves its open amount from the receivable account to the customer's
    register account (a bill: from the supplier's register account to the payable account), Doc
    `OPEN_ITEMS_DOC`, ``DateDocument`` the issue date. The register's groups total into the group of
    the collective account (`register_rows`), so the balance sheet's group totals stay as they were.
    Carried are items of a partner with an account in the right register (customers for invoices,
    suppliers for bills) in the base currency, with a number, a positive open amount and a receivable
    or payable account (the item's, else the partner's) of the chart in the group the register totals
    into; the rest is declared, reason by reason. The due date has no Transactions column (FORMATS.md
    names none) and only the open amount is written: `kept_open_item` says what reads back."""
    from migrator.readers.banana import OPEN_ITEMS_DOC

    items = ledger.open_items.to_pylist()
    if cut_over is None:
        return [], lost(N_("open items"), len(items), N_("left out: the books have no fiscal year to date their "
                        "transfer in; their amounts stay in the receivable and payable accounts"))  # fmt: skip
    if not items:
        return [], []
    register, skipped = register_rows(ledger)
    group_of = {r["Account"]: r["Gr"] for r in register if r.get("Account")}
    total_of = {r["Group"]: r["Gr"] for r in register if r.get("Group")}
    placed = {p["id"]: p for p in ledger.partners.to_pylist() if p not in skipped}
    parents = {a["code"]: a["parent"] for a in ledger.accounts.to_pylist()}
    base = ledger.company.base_currency
    reasons: dict[str, int] = {}
    rows: list[dict[str, str]] = []
    carried: list[dict[str, Any]] = []
    for item in items:
        wanted = {"invoice": CUSTOMER_GROUP, "bill": SUPPLIER_GROUP}.get(item["kind"])
        partner = placed.get(item["partner"])
        code = partner["id"].strip() if partner else ""
        account = item["account"] or (partner["account"] if partner else "")
        amount = _open_amount(item)
        reason = ""
        if wanted is None:
            reason = N_("neither an invoice nor a bill")
        elif item["currency"] not in ("", base):
            reason = N_("in a foreign currency: their amount in the base currency at the cut-over is not known")
        elif not item["id"].strip():
            reason = N_("without a number")
        elif amount is None or amount <= 0:
            reason = N_("their open amount is not positive")
        elif partner is None or group_of.get(code) != wanted:
            reason = N_("their partner has no account in the customers (invoices) or suppliers (bills) register")
        elif partner["currency"] not in ("", base):
            reason = N_("their partner's register account is in a foreign currency")
        elif account not in parents or parents[account] != total_of.get(wanted):
            reason = N_("their receivable or payable account is not in the chart, or not in the group the register "
                        "totals into")  # fmt: skip
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
            continue
        pair = (code, account) if wanted == CUSTOMER_GROUP else (account, code)
        rows.append({"Date": cut_over.isoformat(), "Doc": OPEN_ITEMS_DOC, "Description": item["description"],
                     "AccountDebit": pair[0], "AccountCredit": pair[1], "Amount": format_cents(amount or 0),
                     "DateDocument": item["date"].isoformat() if item["date"] else "",
                     "DocInvoice": item["id"]})  # fmt: skip
        carried.append(item)
    problems: list[Problem] = []
    for reason, count in reasons.items():
        problems += lost(N_("open items"), count, N_("left out ({reason}): their amounts stay in the receivable "
                         "and payable accounts").format(reason=reason))  # fmt: skip
    kept = table("open_items", [kept_open_item(i, placed[i["partner"]]) for i in carried]).to_pylist()
    problems += lost_columns(N_("open items"), carried, kept, N_("a transfer into the register at the "
                             "cut-over carries number, partner, issue date, open amount, account and text; no due "
                             "date, the open amount as the total"))  # fmt: skip
    return rows, problems


def _open_amount(item: dict[str, Any]) -> int | None:
    """What is still open: the open amount, else the total."""
    return item["open_amount"] if item["open_amount"] is not None else item["amount"]


def kept_open_item(item: dict[str, Any], partner: dict[str, Any]) -> dict[str, Any]:
    """The open item as its transfer row carries it and the reader reads it back: number, the partner's
    register account, kind, issue date, the open amount (as total too), the account (the item's, else
    the partner's) and the text on one line; no due date, the base currency."""

    def one_line(text: str) -> str:
        return " ".join(text.replace("\t", " ").splitlines()).strip()

    amount = _open_amount(item)
    return {"id": one_line(item["id"]), "partner": partner["id"].strip(), "kind": item["kind"], "date": item["date"],
            "due_date": None, "currency": "", "amount": amount, "open_amount": amount,
            "account": item["account"] or partner["account"], "description": one_line(item["description"])}  # fmt: skip


FORMAT = BananaWriter
