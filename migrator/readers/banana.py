"""Banana Accounting: the Transactions, Accounts and VAT codes tables as text (tab, ``;`` or ``,``) or xlsx.

Columns are Banana's English XML names, the same as its import (FORMATS.md): transactions ``Date, Doc,
Description, AccountDebit, AccountCredit, Amount, VatCode, VatAmountType, AmountCurrency,
ExchangeCurrency, ExchangeRate`` (``VatAmount`` used when present); accounts ``Section, Group, Account,
Description, BClass, Gr, Opening, VatCode, Disable``; VAT codes ``Group, VatCode, Description, VatRate,
Gr1, IsDue, VatAccount``. A folder with these files reads as one ledger; a folder of year folders
(what the writer makes for several years) reads each year and joins them.

* Entries: a row with both accounts is an entry; rows with one account and the same date and Doc form
  one compound entry (FORMATS.md). Two compound entries with the same date and Doc read as one: the
  writer gives each its own Doc.
* VAT: Banana books the VAT of a row with a ``VatCode`` itself, to the code's ``VatAccount``. A row
  carries the VAT as ``VatAmount`` in Banana's own exports; where that column is absent (Banana's import
  files, and what migrator writes) the VAT is computed as Banana does: rate × amount for
  ``VatAmountType`` 1 (net, FORMATS.md inference), the VAT inside the amount otherwise (gross, assumed
  Banana's default), rounded to the cent, or to 0.05 where the book's ``fileinfo.txt`` (what migrator's
  writer writes beside the tables) gives ``VatRounding`` 0.05, Banana's file property "VAT/Sales tax
  rounding". ``VatAmountType`` 2 (or a code whose ``AmountType`` is 2) is 100 % VAT: the whole amount
  is VAT, on the code's ``VatAccount``; a code ``<code>-2`` of amount type 2 is Banana's documented
  code for the rounding differences of ``<code>`` (FORMATS.md), read as ``<code>`` (and not listed as a
  code of its own). The VAT goes on the row's side for one-account rows; on
  two-account rows to the credit side for codes of VAT due (``IsDue``, else sales and acquisition
  kinds), the debit side otherwise, reversed by a leading ``-``. ``[V81]`` only labels a row.
* Opening balances (the accounts table's ``Opening``) become one opening entry dated at the start of the
  year: the year folder's name (``2024`` or ``2024-07-01``), else 1 January of the first transaction.
* Base currency: the one the accounts table states (its ``Currency`` column: the currency of most
  accounts; migrator's writer writes it on every account). A file without it: the currency of most
  rows at exchange rate exactly 1, with a warning; else CHF (Banana's home), with a warning when rows
  name currencies. A foreign row whose rate is empty is never taken for the base.
* Customers/suppliers register: account rows in section ``01`` (customers) or ``02`` (suppliers) of the
  accounts table are partners, not accounts of the chart (`split_register`). Open items: a transactions
  row is an open item carried into the register (what migrator's writer writes at the cut-over, see
  `writers.banana.open_item_rows`), not a journal line, exactly when its Doc is `OPEN_ITEMS_DOC`, it has a
  ``DocInvoice``, no VAT code, no foreign currency and a positive amount, and its pair of accounts is a
  customer's register account in debit and an account of the chart in credit (an invoice: number
  ``DocInvoice``, partner the register account, account the credited one, issue date ``DateDocument``,
  open amount and total the Amount) or an account of the chart in debit and a supplier's register
  account in credit (a bill). Every other row is journal, one that names a register account too: that
  account is then not in the chart, and the reader says so (`readers.base.merge_accounts`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns, vat
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, FiscalYear, Ledger, Problem, conform, repeated_text, table
from migrator.parsing import (
    MAX_FIELD,
    AmountColumn,
    DateColumn,
    ParseError,
    cell_cents,
    csv_records,
    decode,
    excel_number,
    head_text,
    parse_rate,
    workbook_rows,
)
from migrator.readers.base import ReadOptions, Rows, accounts_from_lines, date_or_none, merge_accounts
from migrator.sources import Source

BCLASS_TYPES = {"1": "asset", "2": "liability", "3": "expense", "4": "income"}
OFF_BALANCE = {str(n) for n in range(5, 11)}  # BClass 5 to 10
PREFIX_KINDS = {"V": "sales", "M": "input_material", "I": "input_investment", "B": "acquisition", "Z": "none"}
DUE_KINDS = ("sales", "acquisition")
TEXT_SUFFIXES = (".txt", ".tsv", ".csv")
TRANSACTION_FIELDS = (
    "Date", "Doc", "Description", "AccountDebit", "AccountCredit", "Amount", "VatCode", "VatAmountType",
    "AmountCurrency", "ExchangeCurrency", "ExchangeRate", "VatAmount", "DateDocument", "DocInvoice",
)  # fmt: skip
EPOCH = dt.date(1970, 1, 1)
OPEN_ITEMS_DOC = "OPEN-ITEMS"
"""The Doc of the rows that carry open items into the customers/suppliers register (see the module doc)."""


@dataclass
class Sheet:
    """One table of a Banana file: which table, the number of each of its rows in the file, and its
    cells by column name: the raw text of a text file as one Arrow column per name, the cell values of
    a workbook as one list per name ("" where a row has no cell)."""

    file: str
    kind: str
    numbers: np.ndarray
    columns: dict[str, Any]
    folder: Path

    @property
    def size(self) -> int:
        return len(self.numbers)

    @functools.cached_property
    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        """(row number, cells) of each row, for the small tables read row by row."""
        return self.cells(range(self.size))

    def cells(self, indices: Iterable[int]) -> list[tuple[int, dict[str, Any]]]:
        """(row number, cells) of the rows at `indices`."""
        chosen = list(indices)
        if len(chosen) * 8 > self.size:
            values = {n: c.to_pylist() if isinstance(c, pa.Array) else c for n, c in self.columns.items()}
            return [(int(self.numbers[i]), {n: v[i] for n, v in values.items()}) for i in chosen]
        return [(int(self.numbers[i]), {n: c[i].as_py() if isinstance(c, pa.Array) else c[i]
                                        for n, c in self.columns.items()}) for i in chosen]  # fmt: skip

    def texts(self, name: str) -> pa.Array:
        """`_text` of each cell of column `name` ("" where the table has no such column)."""
        column = self.columns.get(name)
        if column is None:
            return pa.array(np.full(self.size, ""), pa.string())
        if isinstance(column, pa.Array):
            return columns.strip(column)
        return pa.array([_text(v) for v in column], pa.string())

    def plain(self, names: Iterable[str]) -> np.ndarray:
        """Whether each row's cells in `names` are all text (a workbook's numbers and dates are not)."""
        out = np.ones(self.size, dtype=bool)
        for name in names:
            column = self.columns.get(name)
            if column is not None and not isinstance(column, pa.Array):
                out &= np.array([isinstance(v, str) for v in column], dtype=bool)
        return out

    def dated(self, name: str) -> np.ndarray:
        """Whether each cell of column `name` is a date (a workbook's date cell)."""
        column = self.columns.get(name)
        if column is None or isinstance(column, pa.Array):
            return np.zeros(self.size, dtype=bool)
        return np.array([date_or_none(v) is not None for v in column], dtype=bool)


@dataclass
class VatCode:
    code: str
    rate: Decimal | None
    kind: str
    due: bool
    account: str
    amount_type: str = ""


@dataclass
class Book:
    """The tables of one Banana file (one fiscal year)."""

    folder: Path
    sheets: list[Sheet] = field(default_factory=list)


def table_kind(names: list[str]) -> str:
    """Which Banana table a header belongs to ("" if none)."""
    have = set(names)
    if have & {"RowId", "ContactsId"} and have & {"OrganisationName", "FamilyName", "FirstName"}:
        return "contacts"
    if have & {"ItemsId", "RowId"} and have & {"UnitPrice", "QuantityBegin", "Cost"}:
        return "items"
    if "Date" in have and have & {"AccountDebit", "AccountCredit"}:
        return "transactions"
    if "Account" in have and have & {"BClass", "Group", "Opening", "Gr"}:
        return "accounts"
    if {"VatCode", "VatRate"} <= have and "Date" not in have:
        return "vatcodes"
    if {"Section", "Id", "Value"} <= have:
        return "fileinfo"
    return ""


def _header(text: str) -> tuple[str, list[str]]:
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    separator = "\t" if "\t" in first else max((";", ","), key=first.count)
    return separator, [n.strip().strip('"').strip() for n in first.split(separator)]


def _text_sheet(path: Path, name: str, encoding: str | None) -> Sheet | None:
    try:
        text, _ = decode(path.read_bytes(), encoding, name)
    except ParseError as exc:
        raise SourceError(str(exc), name) from None
    separator, names = _header(text)
    kind = table_kind(names)
    if not kind:
        return None
    text = text.lstrip("\ufeff")
    lines = _plain_lines(text)
    if lines is not None:
        del text  # the lines hold it now, as UTF-8
        split = _split_fields(lines, separator)
        if split is not None:
            numbers, fields = split
            cells = {n: fields.column(i) for i, n in enumerate(names) if n}  # a repeated name: its last column
            return Sheet(name, kind, numbers, cells, path.parent)
        text = decode(path.read_bytes(), encoding, name)[0].lstrip("\ufeff")  # a huge field: csv says so
    found: list[int] = []
    records: list[list[str]] = []
    try:
        for number, row in csv_records(text, separator, name):
            if number > 1 and any(c.strip() for c in row):
                found.append(number)
                records.append(row)
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    positions = {n: i for i, n in enumerate(names) if n}  # a repeated name: its last column, as a dict keeps it
    cells = {
        n: pa.array([row[i] if i < len(row) else "" for row in records], pa.string()) for n, i in positions.items()
    }
    return Sheet(name, kind, np.array(found, dtype=np.int64), cells, path.parent)


def _plain_lines(text: str) -> pa.Array | None:
    """The physical lines of `text` (CRLF or LF), if Python's csv reader would split them alike: no
    quote, no NUL, every CR part of a CRLF; else None (the caller reads `text` with `parsing.csv_records`)."""
    if '"' in text or "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    lines = columns.physical_lines(text)
    return pc.utf8_rtrim(lines, characters="\r") if "\r" in text else lines


def _split_fields(lines: pa.Array, separator: str) -> tuple[np.ndarray, columns.Fields] | None:
    """The line number and fields of each non-blank line after the header, split column-wise; None
    where a field is longer than `parsing.MAX_FIELD` (Python's csv reader refuses it)."""
    blank = pc.equal(columns.strip(pc.replace_substring(lines, separator, "")), "").to_numpy(zero_copy_only=False)
    keep = ~np.asarray(blank, dtype=bool)
    keep[:1] = False  # the header
    numbers = np.flatnonzero(keep) + 1
    fields = columns.Fields(lines.filter(pa.array(keep)), separator)
    if len(fields.values) and (pc.max(pc.utf8_length(fields.values)).as_py() or 0) > MAX_FIELD:
        return None
    return numbers.astype(np.int64), fields


def _xlsx_sheet(path: Path, name: str, limit: int | None = None) -> Sheet | None:
    for _, sheet_rows in workbook_rows(path, name, limit):
        rows = iter(sheet_rows)
        header = next(rows, None)
        names = [str(c).strip() if c is not None else "" for c in header or ()]
        kind = table_kind(names)
        if not kind:
            continue
        numbers: list[int] = []
        kept: list[dict[str, Any]] = []
        for number, cells in enumerate(rows, start=2):
            values = {n: cells[i] for i, n in enumerate(names) if n and i < len(cells)}
            if any(v not in (None, "") for v in values.values()):
                numbers.append(number)
                kept.append({k: "" if v is None else v for k, v in values.items()})
        order = dict.fromkeys(n for n in names if n)
        cells_by_name = {n: [row.get(n, "") for row in kept] for n in order}
        return Sheet(name, kind, np.array(numbers, dtype=np.int64), cells_by_name, path.parent)
    return None


def load(source: Source, child: Path, encoding: str | None) -> Sheet | None:
    name = source.child(child).name if source.is_dir else source.name
    if child.suffix.lower() == ".xlsx":
        return _xlsx_sheet(child, name)
    return _text_sheet(child, name, encoding)


def _text(value: Any) -> str:
    if isinstance(value, float):  # float-ok: an Excel cell, made exact at once
        return str(excel_number(value))
    return str(value).strip() if value is not None else ""


def _cents(value: Any, column: AmountColumn) -> int | None:
    return cell_cents(value, column)


def _date(value: Any, column: DateColumn) -> dt.date | None:
    day = date_or_none(value)
    return day if day is not None else column.date(_text(value))


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _year_end(start: dt.date) -> dt.date:
    """The day before the same date a year later (a 29 February start ends on 28 February; 31.12.9999 at most)."""
    if start.year == dt.MAXYEAR:
        return dt.date.max
    try:
        following = start.replace(year=start.year + 1)
    except ValueError:
        following = dt.date(start.year + 1, 3, 1)
    return following - dt.timedelta(days=1)


def _year_start(folder: Path) -> dt.date | None:
    name = folder.name
    try:
        if len(name) == 4 and name.isdigit():
            return dt.date(int(name), 1, 1)
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


class BananaReader:
    name = "banana"
    extensions = (".txt", ".tsv", ".csv", ".xlsx")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            files = [p for p in sorted(source.path.rglob("*")) if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES]
            kinds = {table_kind(_header(head_text(p.read_bytes()[:4096]))[1]) for p in files[:20]}
            if "transactions" in kinds or "accounts" in kinds:
                return 0.9
            return 0.8 if kinds & {"contacts", "items"} else 0.0
        if source.suffix == ".xlsx":
            try:
                sheet = _xlsx_sheet(source.path, source.name, limit=2)
            except (OSError, SourceError):
                return 0.0
            return 0.85 if sheet else 0.0
        kind = table_kind(_header(head_text(source.head()))[1])
        return {"transactions": 0.9, "accounts": 0.8, "vatcodes": 0.6, "contacts": 0.6, "items": 0.6}.get(kind, 0.0)

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        if not source.is_dir and source.path.stat().st_size == 0:
            raise SourceError(
                N_(
                    "the file is empty; expected a Banana table with its header (Date, AccountDebit, AccountCredit, Amount…)"
                ),
                source.name,
            )
        problems: list[Problem] = []
        books: dict[Path, Book] = {}
        paths = sorted(p for p in source.path.rglob("*") if p.is_file()) if source.is_dir else [source.path]
        for path in paths:
            if path.name.startswith(".") or path.name.lower().startswith("readme"):
                continue
            if path.suffix.lower() not in (*TEXT_SUFFIXES, ".xlsx"):
                continue
            sheet = load(source, path, options.encoding)
            if sheet is None:
                name = source.child(path).name if source.is_dir else source.name
                if not source.is_dir:
                    raise SourceError(
                        N_("unknown header: expected Banana's XML column names (Date, AccountDebit, AccountCredit, "
                        "Amount… or Account, BClass… or VatCode, VatRate…)"), name, 1,
                    )  # fmt: skip
                problems.append(Problem("warning", N_("not a Banana table (unknown header); ignored"), name, 1))
                continue
            books.setdefault(path.parent, Book(path.parent)).sheets.append(sheet)
        if not books:
            raise SourceError(
                N_("no Banana transactions, accounts, VAT codes, contacts or items table found"), source.name
            )
        state = _State(problems)
        for book in books.values():
            state.read_book(book)
        return state.ledger(source.name)


class _State:
    """What the books of a source add up to, read one book (year) after the other."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.accounts: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.vat: dict[str, VatCode] = {}
        self.vat_rows: dict[str, dict[str, Any]] = {}
        self.lines: list[pa.Table] = []  # in reading order, without line numbers (`ledger` numbers them)
        self.entries = 0
        self.years: list[FiscalYear] = []
        self.base = "CHF"
        self.step = 1  # the VAT rounding of the book being read, in cents
        self.alias: dict[str, str] = {}  # rounding-difference code (V81-2) -> the code it rounds (V81)
        self.partners: list[dict[str, Any]] = []
        self.extras: dict[str, list[dict[str, Any]]] = {}  # Contacts and Items columns not read, per table
        self.items: list[dict[str, Any]] = []
        self.register: dict[str, str] = {}  # register account -> customer or supplier
        self.open_items: list[dict[str, Any]] = []

    def read_book(self, book: Book) -> None:
        transactions = [s for s in book.sheets if s.kind == "transactions"]
        self.base = self._base_currency(book, transactions)
        self.step = 1
        for sheet in book.sheets:
            if sheet.kind == "fileinfo":
                self._file_info(sheet)
        for sheet in book.sheets:
            if sheet.kind == "vatcodes":
                self._vat_codes(sheet)
            elif sheet.kind == "contacts":
                self.partners += contacts(sheet, self.problems, self.extras.setdefault("contacts", []))
            elif sheet.kind == "items":
                self.items += items(sheet, self.problems, self.extras.setdefault("items", []))
        opening: list[tuple[Sheet, int, str, int]] = []
        for sheet in book.sheets:
            if sheet.kind == "accounts":
                opening += self._accounts(sheet)
        first = [day for day in (self._transactions(sheet) for sheet in transactions) if day is not None]
        start = _year_start(book.folder)
        if start is not None:
            self.years.append(FiscalYear(start, _year_end(start)))
        elif first:
            start = dt.date(min(first).year, 1, 1)
        if opening and start is None:
            sheet = opening[0][0]
            self.problems.append(Problem("warning", N_("opening balances without a date (no transactions, no year "
                                         "folder): not read"), sheet.file))  # fmt: skip
            return
        if opening:
            self.entries += 1
            self.lines.append(table("lines", (
                {"entry": f"O{self.entries}", "date": start, "doc": "", "account": account,
                 "description": "Opening balance", "amount": cents, "opening": True, "source_file": sheet.file,
                 "source_row": row} for sheet, row, account, cents in opening)))  # fmt: skip

    def _base_currency(self, book: Book, transactions: list[Sheet]) -> str:
        """The base currency of a book: stated by its accounts table, else guessed from the transactions
        with a warning, else the one of the book before (CHF for the first)."""
        stated = _accounts_currency([s for s in book.sheets if s.kind == "accounts"])
        if stated:
            return stated
        guessed, rows = _rate_one_currency(transactions)
        named = sorted({c for s in transactions for c in pc.unique(s.texts("ExchangeCurrency")).to_pylist()} - {""})
        if guessed:
            self.problems.append(Problem("warning", N_("the base currency is not stated (no Currency column in the accounts table): taken as {guessed}, the currency of {rows} rows at exchange rate 1").format(guessed=guessed, rows=rows), transactions[0].file))  # fmt: skip
            return guessed
        if named:
            self.problems.append(Problem("warning", N_("the base currency is not stated (no Currency column in the accounts table, no row at exchange rate 1): taken as {base}; rows name {named}").format(base=self.base, named=', '.join(named)), transactions[0].file))  # fmt: skip
        return self.base

    def _file_info(self, sheet: Sheet) -> None:
        """The file properties the reader needs: the VAT rounding (``AccountingDataBase``/``VatRounding``)."""
        for number, cells in sheet.rows:
            if (_text(cells.get("Section")), _text(cells.get("Id"))) != ("AccountingDataBase", "VatRounding"):
                continue
            value = _text(cells.get("Value"))
            try:
                rounding = Decimal(parse_rate(value)) if value else Decimal(0)
            except (ParseError, ArithmeticError):
                rounding = Decimal(-1)
            if rounding in (0, Decimal("0.01"), Decimal("0.05")):
                self.step = 5 if rounding == Decimal("0.05") else 1
            else:
                self.problems.append(Problem("error", N_("VatRounding {value!r}: expected 0.01 or 0.05").format(value=value), sheet.file,
                                             number))  # fmt: skip

    def _vat_codes(self, sheet: Sheet) -> None:
        skipped = 0
        for number, cells in sheet.rows:
            code = _text(cells.get("VatCode"))
            if not code:
                skipped += 1
                continue
            try:
                rate_text = parse_rate(_text(cells.get("VatRate")))
            except ParseError as exc:
                self.problems.append(Problem("error", N_("VatRate: {exc}").format(exc=exc), sheet.file, number))
                continue
            if rate_text and not 0 <= Decimal(rate_text) < 100:
                self.problems.append(Problem("error", N_("VatRate {rate_text} is not a percentage from 0 to 100").format(rate_text=rate_text),
                                             sheet.file, number))  # fmt: skip
                continue
            known = vat.identify(code, "banana")
            kind = known.kind if known else PREFIX_KINDS.get(code[:1].upper(), "")
            due_text = _text(cells.get("IsDue")).lower()
            due = due_text in ("1", "yes", "true") if due_text else kind in DUE_KINDS
            account = _text(cells.get("VatAccount"))
            amount_type = _text(cells.get("AmountType"))
            self.vat.setdefault(
                code, VatCode(code, Decimal(rate_text) if rate_text else None, kind, due, account, amount_type)
            )
            stem = code[: -len("-2")]
            if amount_type == "2" and code.endswith("-2") and stem:
                self.alias[code] = stem  # Banana's code for the rounding differences of `stem`
                continue
            self.vat_rows.setdefault(code, {
                "code": code, "rate": rate_text, "kind": kind, "method": "", "account": account,
                "valid_from": known.valid_from if known else None, "valid_to": known.valid_to if known else None,
                "form_box": _text(cells.get("Gr1")), "description": _text(cells.get("Description")),
            })  # fmt: skip
        if skipped:
            self.problems.append(
                Problem(
                    "info",
                    N_("{skipped} group or heading rows of the VAT codes table skipped").format(skipped=skipped),
                    sheet.file,
                )
            )

    def _accounts(self, sheet: Sheet) -> list[tuple[Sheet, int, str, int]]:
        opening = []
        skipped = 0
        amounts = AmountColumn([_text(c.get("Opening")) for _, c in sheet.rows])
        rows, partners = split_register(sheet, self.base)
        self.partners += partners
        self.register.update((p["account"], p["roles"]) for p in partners)
        for number, cells in rows:
            code, group = _text(cells.get("Account")), _text(cells.get("Group"))
            name, parent = _text(cells.get("Description")), _text(cells.get("Gr"))
            if code:
                bclass = _text(cells.get("BClass"))
                kind = BCLASS_TYPES.get(bclass, "off_balance" if bclass in OFF_BALANCE else "")
                currency = _text(cells.get("Currency"))
                self.accounts.setdefault(code, {
                    "code": code, "name": name, "type": kind, "parent": parent,
                    "currency": "" if currency in ("", self.base) else currency,
                    "vat_code": _text(cells.get("VatCode")).lstrip("-"),
                    "active": _text(cells.get("Disable")) not in ("1", "2"),
                })  # fmt: skip
                try:
                    cents = _cents(cells.get("Opening"), amounts)
                except ParseError as exc:
                    self.problems.append(Problem("error", N_("Opening: {exc}").format(exc=exc), sheet.file, number))
                    continue
                if cents:
                    opening.append((sheet, number, code, cents))
            elif group:
                self.groups.setdefault(group, {"code": group, "name": name, "parent": parent})
            else:
                skipped += 1
        if skipped:
            self.problems.append(
                Problem(
                    "info",
                    N_("{skipped} section or title rows of the accounts table skipped").format(skipped=skipped),
                    sheet.file,
                )
            )
        return opening

    def _transactions(self, sheet: Sheet) -> dt.date | None:
        """Read a transactions table into `lines` and `problems`; the earliest date of its entries.

        Column-wise: the rows `_plain_rows` can book from whole columns are booked so; every other row
        (an open item's transfer, an odd or bad cell, a foreign currency, a VAT code not in the VAT
        codes table…) goes through `_open_item` and `_row` one by one, in file order, so it reads and
        fails exactly as it always has. Rows then form entries as `_row` says: a two-account row is
        one, one-account rows of the same date and Doc in a row are one."""
        text = {name: sheet.texts(name) for name in TRANSACTION_FIELDS}
        mark = {n: columns.decimal_mark(text[n]) for n in ("Amount", "AmountCurrency", "VatAmount")}
        dated = sheet.dated("Date")
        layout = columns.date_layout(text["Date"].filter(pa.array(~dated)) if dated.any() else text["Date"])
        days, _ = columns.dates(text["Date"], layout)
        amounts, _ = columns.cents(text["Amount"], mark["Amount"])
        plan = self._plain_rows(text, days, amounts, sheet.plain(TRANSACTION_FIELDS))
        # every other row, in file order
        open_doc = np.asarray(pc.equal(text["Doc"], OPEN_ITEMS_DOC).to_numpy(zero_copy_only=False), dtype=bool)
        issued = DateColumn([_text(c.get("DateDocument")) for _, c in sheet.cells(np.flatnonzero(open_doc).tolist())
                             if not date_or_none(c.get("DateDocument"))])  # fmt: skip
        dates_col = DateColumn([], layout)
        amount_cols = {n: AmountColumn([], m) for n, m in mark.items()}
        rows = Rows(sheet.file)
        booked = plan.booked.copy()
        complete = plan.complete.copy()
        day_of = np.asarray(pc.fill_null(days.cast(pa.int32()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        slow: list[dict[str, Any]] = []
        for index, (number, cells) in zip(np.flatnonzero(~plan.booked).tolist(),
                                          sheet.cells(np.flatnonzero(~plan.booked).tolist()), strict=True):  # fmt: skip
            if self._open_item(sheet, number, cells, amount_cols["Amount"], issued):
                continue
            try:
                parsed = self._row(cells, dates_col, amount_cols)
            except ParseError as exc:
                rows.problem(number, str(exc))
                continue
            if parsed is None:
                rows.problem(number, N_("a text row without accounts or amount; skipped"), "info")
                continue
            day, lines, whole = parsed
            booked[index], complete[index] = True, whole
            day_of[index] = (day - EPOCH).days
            slow += [{**line, "source_row": number, "position": index, "part": part} for part, line in enumerate(lines)]
        self.problems += rows.problems
        if not booked.any():
            return None
        # entries: a complete row is one; a one-account row joins the one before if that is incomplete
        # and has the same date and Doc
        order = np.flatnonzero(booked)
        docs = text["Doc"].take(pa.array(order))
        same = np.zeros(len(order), dtype=bool)
        if len(order) > 1:
            same_doc = pc.equal(docs.slice(1), docs.slice(0, len(order) - 1)).to_numpy(zero_copy_only=False)
            same[1:] = np.asarray(same_doc, dtype=bool) & (day_of[order[1:]] == day_of[order[:-1]])
            same[1:] &= ~complete[order[:-1]]
        starts = ~same | complete[order]
        numbers = self.entries + np.cumsum(starts)
        self.entries = int(numbers[-1])
        entry_of = np.zeros(sheet.size, dtype=np.int64)
        entry_of[order] = numbers
        self.lines.append(_booked_lines(sheet, text, plan, slow, entry_of, day_of))
        return EPOCH + dt.timedelta(days=int(day_of[order].min()))

    def _plain_rows(self, text: dict[str, pa.Array], days: pa.Array, amounts: pa.Array, plain: np.ndarray) -> _Plan:
        """Which rows are booked column-wise, and their lines: rows of text cells with a date and an
        amount written plainly (`columns.dates`, `columns.cents`), one or two accounts, no foreign
        currency, no ``VatAmount``, Doc not `OPEN_ITEMS_DOC`, and no VAT code or one of the VAT codes
        table whose VAT `_row` computes here in integers (a rate, a VAT account, an amount type of
        0, 1 or 2)."""

        def array(values: Any) -> np.ndarray:
            return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)

        debit, credit = text["AccountDebit"], text["AccountCredit"]
        has_debit, has_credit = array(pc.not_equal(debit, "")), array(pc.not_equal(credit, ""))
        currency = text["ExchangeCurrency"]
        fast = plain & (has_debit | has_credit) & array(pc.is_valid(days)) & array(pc.is_valid(amounts))
        fast &= array(pc.not_equal(text["Doc"], OPEN_ITEMS_DOC))
        fast &= array(pc.or_(pc.equal(currency, ""), pc.equal(currency, self.base)))
        raw = text["VatCode"]
        reverse = array(pc.starts_with(raw, "-"))
        code = pc.if_else(pc.starts_with(raw, "["), "", pc.utf8_ltrim(raw, characters="-"))
        coded = array(pc.not_equal(code, ""))
        known = sorted(self.vat)
        index = np.asarray(pc.fill_null(pc.index_in(code, value_set=pa.array(known, pa.string())), -1)
                           .to_numpy(zero_copy_only=False), dtype=np.int64)  # fmt: skip
        fast &= ~coded | (index >= 0)
        cents = np.asarray(pc.fill_null(amounts, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        size = len(cents)
        tax = np.zeros(size, dtype=np.int64)
        net = np.ones(size, dtype=bool)  # the amount is the base: VatAmountType 1, or no VAT code
        whole_vat = np.zeros(size, dtype=bool)  # VatAmountType 2: the whole amount is VAT
        due = np.zeros(size, dtype=bool)
        vat_account = np.full(size, "", dtype=object)
        if coded.any():
            types_text = text["VatAmountType"]
            vat_text = array(pc.not_equal(text["VatAmount"], ""))
            for position, name in enumerate(known):
                rows = coded & (index == position) & fast
                if not rows.any():
                    continue
                info = self.vat[name]
                given = np.asarray(types_text.filter(pa.array(rows)).to_numpy(zero_copy_only=False), dtype=object)
                kinds = np.where(given == "", info.amount_type or "0", given)
                picked = np.flatnonzero(rows)
                ok = np.isin(kinds, ("0", "1", "2")) & ~(vat_text[picked] & (kinds != "2"))
                whole = kinds == "2"
                computed, exact = _computed_vat(cents[picked], info.rate, kinds == "0", self.step)
                ok &= whole | exact
                found = np.where(whole, cents[picked], computed)
                ok &= (found == 0) | (info.account != "")
                fast[picked[~ok]] = False
                keep = picked[ok]
                tax[keep], net[keep], whole_vat[keep] = found[ok], kinds[ok] == "1", whole[ok]
                due[keep] = info.due
                vat_account[keep] = info.account
        both = has_debit & has_credit
        side = np.where(both, np.where(due != reverse, -1, 1), np.where(has_debit, 1, -1))
        side = np.where(coded, side, np.where(has_debit, 1, -1))
        base = np.where(net, cents, cents - tax)
        total = np.where(net, cents + tax, cents)
        aliased = pc.if_else(coded, code, "")
        if self.alias:
            alias_keys = pa.array(list(self.alias), pa.string())
            where = pc.index_in(aliased, value_set=alias_keys)
            target = pa.array(list(self.alias.values()), pa.string()).take(pc.fill_null(where, 0))
            aliased = pc.if_else(pc.is_valid(where), target, aliased)
        debit_side = pa.array(side == 1)
        return _Plan(
            booked=fast, complete=fast & both, side=side, base=base, tax=tax, total=total, coded=coded,
            whole_vat=whole_vat, code=aliased, base_account=pc.if_else(debit_side, debit, credit),
            other=pc.if_else(debit_side, credit, debit), vat_account=pa.array(vat_account, pa.string()),
        )  # fmt: skip

    def _open_item(self, sheet: Sheet, number: int, cells: dict[str, Any], amounts: AmountColumn,
                   issued: DateColumn) -> bool:  # fmt: skip
        """Whether the row is an open item carried into the register (the module doc's rule); if so it is
        added to the open items (a bad issue date is an error naming the row, the item kept without it)."""
        if _text(cells.get("Doc")) != OPEN_ITEMS_DOC or _text(cells.get("VatCode")):
            return False
        invoice = _text(cells.get("DocInvoice"))
        if not invoice or _text(cells.get("ExchangeCurrency")) not in ("", self.base):
            return False
        debit, credit = _text(cells.get("AccountDebit")), _text(cells.get("AccountCredit"))
        if self.register.get(debit) == "customer" and credit in self.accounts:
            kind, partner, account = "invoice", debit, credit
        elif self.register.get(credit) == "supplier" and debit in self.accounts:
            kind, partner, account = "bill", credit, debit
        else:
            return False
        try:
            amount = _cents(cells.get("Amount"), amounts)
        except ParseError:
            return False  # read as a journal row, whose reading names the bad amount
        if amount is None or amount <= 0:
            return False
        try:
            day = _date(cells.get("DateDocument"), issued)
        except ParseError as exc:
            self.problems.append(Problem("error", N_("DateDocument: {exc}").format(exc=exc), sheet.file, number))
            day = None
        self.open_items.append({
            "id": invoice, "partner": partner, "kind": kind, "date": day, "amount": amount, "open_amount": amount,
            "account": account, "description": _text(cells.get("Description")),
        })  # fmt: skip
        return True

    def _row(
        self, cells: dict[str, Any], dates: DateColumn, amounts: dict[str, AmountColumn]
    ) -> tuple[dt.date, list[dict[str, Any]], bool] | None:
        debit, credit = _text(cells.get("AccountDebit")), _text(cells.get("AccountCredit"))
        amount = _cents(cells.get("Amount"), amounts["Amount"])
        if not debit and not credit:
            if amount:
                raise ParseError(
                    N_("Amount {text} without AccountDebit or AccountCredit").format(text=_text(cells.get("Amount")))
                )
            return None
        day = _date(cells.get("Date"), dates)
        if day is None:
            raise ParseError(N_("Date is empty: every transaction needs one"))
        if amount is None:
            raise ParseError(N_("Amount is empty"))
        raw_code = _text(cells.get("VatCode"))
        reversed_ = raw_code.startswith("-")
        code = "" if raw_code.startswith("[") else raw_code.lstrip("-")
        currency = _text(cells.get("ExchangeCurrency"))
        foreign = (
            _cents(cells.get("AmountCurrency"), amounts["AmountCurrency"]) if currency not in ("", self.base) else None
        )
        extra = (
            {"currency": currency, "amount_currency": foreign, "rate": parse_rate(_text(cells.get("ExchangeRate")))}
            if foreign is not None
            else {}
        )

        def signed(value: int | None, sign: int) -> dict[str, Any]:
            return {**extra, "amount_currency": sign * value} if extra and value is not None else {}

        if not code:
            if debit and credit:
                return day, [{"account": debit, "amount": amount, **signed(foreign, 1)},
                             {"account": credit, "amount": -amount, **signed(foreign, -1)}], True  # fmt: skip
            sign = 1 if debit else -1
            return day, [{"account": debit or credit, "amount": sign * amount, **signed(foreign, sign)}], False
        info = self.vat.get(code) or self._known(code)
        amount_type = _text(cells.get("VatAmountType")) or info.amount_type or "0"
        if amount_type not in ("0", "1", "2"):
            raise ParseError(
                N_("VatAmountType {amount_type!r} is not supported (0 gross, 1 net or 2 VAT only)").format(
                    amount_type=amount_type
                )
            )
        code = self.alias.get(code, code)
        if debit and credit:
            due = info.due != reversed_
            side = -1 if due else 1
        else:
            side = 1 if debit else -1
        base_account = debit if side == 1 else credit
        other = credit if side == 1 else debit
        vat_text = _text(cells.get("VatAmount"))
        if amount_type == "2":
            tax = amount  # 100 % VAT: no base, the whole amount on the VAT account
        elif vat_text:
            tax = abs(amounts["VatAmount"].cents(vat_text) or 0) * (1 if amount >= 0 else -1)
        elif info.rate is None:
            raise ParseError(N_("VatCode {code}: rate unknown (not in the VAT codes table)").format(code=code))
        else:
            share = info.rate / (100 + info.rate) if amount_type == "0" else info.rate / 100
            tax = _round(abs(Decimal(amount)) * share / self.step) * self.step * (1 if amount >= 0 else -1)
        base, total = (amount, amount + tax) if amount_type == "1" else (amount - tax, amount)
        lines = []
        if amount_type != "2":
            lines.append({"account": base_account, "amount": side * base, "vat_code": code, "vat_amount": side * tax})
        if tax:
            if not info.account:
                raise ParseError(
                    N_("VatCode {code}: its VAT account is unknown (VatAccount of the VAT codes table)").format(
                        code=code
                    )
                )
            lines.append({"account": info.account, "amount": side * tax, "vat_code": code, "vat_line": True})
        if other:
            lines.append({"account": other, "amount": -side * total, **signed(foreign, -side)})
        return day, lines, bool(other)

    def _known(self, code: str) -> VatCode:
        known = vat.identify(code, "banana")
        if known is None:
            raise ParseError(
                N_("VatCode {code} is neither in the VAT codes table nor a known Banana code").format(code=code)
            )
        self.problems.append(Problem("warning", N_("VAT code {code} is not in the VAT codes table; its rate is taken from Banana's standard codes and its VAT account is unknown").format(code=code)))  # fmt: skip
        self.vat[code] = VatCode(code, known.rate, known.kind, known.kind in DUE_KINDS, "")
        self.vat_rows[code] = {"code": code, "rate": str(known.rate), "kind": known.kind}
        return self.vat[code]

    def ledger(self, name: str) -> Ledger:
        lines = _numbered(pa.concat_tables(self.lines) if self.lines else table("lines"))
        notes: list[Problem] = []
        if self.accounts:
            accounts, notes = merge_accounts(table("accounts", self.accounts.values()), lines, name)
        else:
            accounts, notes = accounts_from_lines(lines, name)
        company = Company(base_currency=self.base, fiscal_years=tuple(sorted(self.years, key=lambda y: y.start)),
                          source_system="Banana Accounting")  # fmt: skip
        return Ledger(
            company=company, accounts=accounts, groups=table("groups", self.groups.values()),
            vat_codes=table("vat_codes", self.vat_rows.values()), lines=lines,
            partners=table("partners", self.partners), items=table("items", self.items),
            open_items=table("open_items", self.open_items),
            problems=tuple(self.problems + notes), format="banana", encoding="utf-8",
            extras={name: _extras_table(rows) for name, rows in self.extras.items() if rows},
        )  # fmt: skip


def _extras_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of cells as one table: ``source_file``, ``source_row`` and a text column per other name met
    (empty where a row lacks it)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name, None if name == "source_row" else "") for row in rows],
                                    pa.int64() if name == "source_row" else pa.string()) for name in names})  # fmt: skip


def _numbered(lines: pa.Table) -> pa.Table:
    """`lines` with each line's position in its entry (from 1), in table order."""
    size = lines.num_rows
    if not size:
        return lines
    codes = np.asarray(pc.dictionary_encode(lines.column("entry").combine_chunks()).indices
                       .to_numpy(zero_copy_only=False), dtype=np.int64)  # fmt: skip
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, size]))
    line = np.empty(size, dtype=np.int32)
    line[order] = np.arange(size) - first + 1
    at = lines.schema.get_field_index("line")
    return lines.set_column(at, lines.schema.field(at), pa.array(line, pa.int32()))


@dataclass
class _Plan:
    """The rows `_State._plain_rows` books column-wise (`booked`) and, for each, its lines: the base
    line (``side`` × ``base`` on ``base_account``; none for ``whole_vat``), the VAT line (``side`` ×
    ``tax`` on ``vat_account``, where ``tax`` is not 0) and the other account's line (−``side`` ×
    ``total`` on ``other``, where there is one: the row is then ``complete``, an entry of its own)."""

    booked: np.ndarray
    complete: np.ndarray
    side: np.ndarray
    base: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    coded: np.ndarray
    whole_vat: np.ndarray
    code: pa.Array
    base_account: pa.Array
    other: pa.Array
    vat_account: pa.Array


def _booked_lines(sheet: Sheet, text: dict[str, pa.Array], plan: _Plan, slow: list[dict[str, Any]],
                  entry_of: np.ndarray, day_of: np.ndarray) -> pa.Table:  # fmt: skip
    """The lines of a transactions table in file order: those `plan` books and those `_row` gave
    (`slow`, each with its row's ``position`` and its ``part`` in the row)."""
    rows = np.flatnonzero(plan.booked)
    has_other = np.asarray(pc.not_equal(plan.other, "").to_numpy(zero_copy_only=False), dtype=bool)
    base = rows[~plan.whole_vat[rows]]
    vat = rows[(plan.tax[rows] != 0) & plan.coded[rows]]
    other = rows[has_other[rows]]
    no_vat = pa.nulls(len(other), pa.int64())
    parts = [
        _part(base, 0, plan.base_account, plan.side[base] * plan.base[base], plan.code,
              pa.array(plan.side[base] * plan.tax[base], pa.int64(), mask=~plan.coded[base]), False),
        _part(vat, 1, plan.vat_account, plan.side[vat] * plan.tax[vat], plan.code, pa.nulls(len(vat), pa.int64()),
              True),
        _part(other, 2, plan.other, -plan.side[other] * plan.total[other], None, no_vat, False),
    ]  # fmt: skip
    if slow:
        extra = table("lines", slow).select(["account", "amount", "vat_code", "vat_amount", "vat_line", "currency",
                                             "amount_currency", "rate"])  # fmt: skip
        parts.append(extra.append_column("position", pa.array([line["position"] for line in slow], pa.int64()))
                     .append_column("part", pa.array([line["part"] for line in slow], pa.int64())))  # fmt: skip
    lines = pa.concat_tables(parts, promote_options="default")
    position = np.asarray(lines.column("position").to_numpy(), dtype=np.int64)
    order = np.lexsort((np.asarray(lines.column("part").to_numpy(), dtype=np.int64), position))
    lines = lines.take(pa.array(order)).drop_columns(["position", "part"])
    position = position[order]
    at = pa.array(position)
    return conform("lines", {
        "entry": pa.array(entry_of[position]).cast(pa.string()),
        "date": pa.array(day_of[position].astype(np.int32)).view(pa.date32()),
        "doc": text["Doc"].take(at), "description": text["Description"].take(at),
        **{name: lines.column(name) for name in lines.column_names},
        "source_file": repeated_text(sheet.file, len(position)),
        "source_row": pa.array(sheet.numbers[position], pa.int64()),
    })  # fmt: skip


def _part(rows: np.ndarray, part: int, accounts: pa.Array, amounts: np.ndarray, codes: pa.Array | None,
          vat_amounts: pa.Array, vat_line: bool) -> pa.Table:  # fmt: skip
    """One kind of line (`part` of its row) of the `rows` booked column-wise."""
    at = pa.array(rows, pa.int64())
    return pa.table({
        "account": accounts.take(at), "amount": pa.array(amounts, pa.int64()),
        "vat_code": codes.take(at) if codes is not None else pa.array(np.full(len(rows), ""), pa.string()),
        "vat_amount": vat_amounts, "vat_line": pa.array(np.full(len(rows), vat_line), pa.bool_()),
        "position": at, "part": pa.array(np.full(len(rows), part), pa.int64()),
    })  # fmt: skip


def _computed_vat(cents: np.ndarray, rate: Decimal | None, gross: np.ndarray, step: int
                  ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The VAT `_State._row` computes on each amount at `rate` (the VAT inside it where `gross`, else
    rate × amount), and whether this integer computation is sure to equal its decimal one: for a rate
    of up to 10 digits and amounts below 10^15 cents (and small enough for int64 products) the 28-digit decimals
    are exact (net) or off by far less than the distance to a rounding boundary (gross), except for a
    gross VAT exactly half a step from two roundings: those are left to `_row`."""
    size = len(cents)
    if rate is None or not rate.is_finite() or rate < 0 or len(rate.as_tuple().digits) > 10:
        return np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
    numerator, denominator = rate.as_integer_ratio()
    magnitude = np.abs(cents)
    fits = (magnitude < 10**15) & (magnitude <= 2**61 // max(numerator, 1))  # twice the product fits int64
    divisor = np.where(gross, (100 * denominator + numerator) * step, 100 * denominator * step)
    product = np.where(fits, magnitude, 0) * numerator
    value = (2 * product + divisor) // (2 * divisor) * step
    half = (2 * product) % (2 * divisor) == divisor
    return np.where(cents < 0, -value, value), fits & ~(gross & half)


def _accounts_currency(sheets: list[Sheet]) -> str:
    """The base currency an accounts table states: the currency of most of its accounts (Banana's
    multi-currency accounts table names every account's currency; migrator's writer writes the base
    currency on every account kept in it); "" when no account names one."""
    counts: Counter[str] = Counter()
    for sheet in sheets:
        for _, cells in sheet.rows:
            currency = _text(cells.get("Currency"))
            if currency and _text(cells.get("Account")):
                counts[currency] += 1
    return counts.most_common(1)[0][0] if counts else ""


def _rate_one_currency(sheets: list[Sheet]) -> tuple[str, int]:
    """The currency of most rows with an exchange rate of exactly 1 (Banana's own multi-currency
    exports name the base currency on every base row), and how many rows; ("", 0) when none. A row
    without a rate says nothing: a foreign amount whose rate is unknown is not at rate 1."""
    counts: Counter[str] = Counter()
    for sheet in sheets:
        currencies, rates = sheet.texts("ExchangeCurrency"), sheet.texts("ExchangeRate")
        named = pc.and_(pc.not_equal(currencies, ""), pc.not_equal(rates, ""))
        for currency, rate in zip(currencies.filter(named).to_pylist(), rates.filter(named).to_pylist(), strict=True):
            try:
                at_one = bool(rate) and Decimal(parse_rate(rate)) == 1
            except (ParseError, ArithmeticError):
                at_one = False
            if currency and at_one:
                counts[currency] += 1
    return counts.most_common(1)[0] if counts else ("", 0)


# ------------------------------------------------------------------------ contacts and items tables

REGISTER_SECTIONS = {"01": "customer", "02": "supplier"}
"""Sections of the accounts table that hold a customers (01) or suppliers (02) register (FORMATS.md)."""


def split_register(sheet: Sheet, base: str) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """The rows of an accounts table outside a customers/suppliers register, and the partners of its
    register (`register_partner`); the register's section and group rows are left out too."""
    rows: list[tuple[int, dict[str, Any]]] = []
    partners: list[dict[str, Any]] = []
    section = ""
    for number, cells in sheet.rows:
        marker = _text(cells.get("Section"))
        if marker:
            section = marker
            if marker in REGISTER_SECTIONS:
                continue
        if section in REGISTER_SECTIONS:
            if _text(cells.get("Account")):
                partners.append({**register_partner({k: _text(v) for k, v in cells.items()}, base),
                                 "roles": REGISTER_SECTIONS[section]})  # fmt: skip
            continue
        rows.append((number, cells))
    return rows, partners


def register_partner(cells: dict[str, str], base: str) -> dict[str, Any]:
    """A partner from an account row of a customers/suppliers register: the account code is its code
    and its account; Description the name; address columns as in the Contacts table plus
    ``BankIban`` and ``PaymentTermInDays``; the account's Currency (empty when the base currency)."""
    from migrator.partners import partner_kind

    first, last, org = cells.get("FirstName", ""), cells.get("FamilyName", ""), cells.get("OrganisationName", "")
    terms = cells.get("PaymentTermInDays", "")
    currency = cells.get("Currency", "")
    return {
        "id": cells["Account"], "kind": partner_kind(org, first, last),
        "roles": "customer" if cells.get("Gr") == "DEB" else "supplier",
        "name": cells.get("Description", ""), "first_name": first, "last_name": last,
        "street": cells.get("Street", ""), "address_line2": cells.get("AddressExtra", ""),
        "zip": cells.get("PostalCode", ""), "city": cells.get("Locality", ""), "country": cells.get("CountryCode", ""),
        "language": cells.get("Language", ""), "phone": cells.get("PhoneMain", ""),
        "mobile": cells.get("PhoneMobile", ""), "fax": cells.get("Fax", ""), "email": cells.get("EmailWork", ""),
        "website": cells.get("Website", ""), "iban": cells.get("BankIban", ""), "account": cells["Account"],
        "payment_terms": int(terms) if terms.lstrip("-").isdigit() and abs(int(terms)) < 2**31 else None,
        "currency": "" if currency == base else currency, "active": cells.get("Disable", "") not in ("1", "2"),
    }  # fmt: skip


def contacts(sheet: Sheet, problems: list[Problem], extras: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Partners from Banana's Contacts table (``RowId``, ``OrganisationName``, ``FirstName``,
    ``FamilyName``, ``Street``, ``AddressExtra`` (else ``Address2Street``), ``PostalCode``,
    ``Locality``, ``CountryCode`` (else ``Country``), ``Language``, ``PhoneMain`` (else ``PhoneWork``,
    ``PhoneHome``), ``PhoneMobile``, ``Fax``, ``EmailWork`` (else ``EmailHome``, ``EmailOther``),
    ``Website``, ``GroupsId``, ``Notes``). A contact with an organisation name is a company, one with
    names only a person (`partners.partner_kind`); ``GroupsId`` customer, supplier or both gives the
    roles. Street is kept as written (with its building number). Country and language names become
    codes (`partners.country_code`, `language_code`); unknown ones are kept with a warning. The other
    columns of a row that hold something (NamePrefix, Gender, a second phone…) go to `extras`."""
    from migrator.partners import country_code, language_code, partner_kind

    out = []
    for number, cells in sheet.rows:
        cell = _Cells(cells)
        org, first, last = cell("OrganisationName"), cell("FirstName"), cell("FamilyName")
        country_text, language_text = cell("CountryCode", "Country"), cell("Language")
        country, language = country_code(country_text), language_code(language_text)
        for what, text, code in (("country", country_text, country), ("language", language_text, language)):
            if code is None:
                problems.append(Problem("warning", N_("{what} {text!r} is not one migrator knows; kept as written").format(what=what, text=text),
                                        sheet.file, number))  # fmt: skip
        groups = cell("GroupsId").lower()
        out.append({
            "id": cell("RowId", "ContactsId"), "kind": partner_kind(org, first, last),
            "roles": groups if groups in ("customer", "supplier", "both") else "",
            "name": org or " ".join(p for p in (first, last) if p), "first_name": first, "last_name": last,
            "street": cell("Street"), "address_line2": cell("AddressExtra", "Address2Street"),
            "zip": cell("PostalCode"), "city": cell("Locality"),
            "country": country_text if country is None else country,
            "language": language_text if language is None else language,
            "phone": cell("PhoneMain", "PhoneWork", "PhoneHome"), "mobile": cell("PhoneMobile"), "fax": cell("Fax"),
            "email": cell("EmailWork", "EmailHome", "EmailOther"),
            "website": cell("Website"), "notes": cell("Notes"),
        })  # fmt: skip
        if groups and not out[-1]["roles"]:
            out[-1]["notes"] = "; ".join(p for p in (out[-1]["notes"], f"GroupsId: {cell('GroupsId')}") if p)
        _keep_rest(sheet, number, cells, cell.used, extras)
    return out


def _keep_rest(sheet: Sheet, number: int, cells: dict[str, Any], used: set[str], extras: list[dict[str, Any]] | None
               ) -> None:  # fmt: skip
    """The cells of a row no column was read from, as one extras row (none when all are empty)."""
    rest = {name: _text(value) for name, value in cells.items() if name not in used and _text(value)}
    if rest and extras is not None:
        extras.append({"source_file": sheet.file, "source_row": number, **rest})


class _Cells:
    """``cell(*names)``: the first of these columns that is not empty in `cells`; `used` the columns
    looked at."""

    def __init__(self, cells: dict[str, Any]) -> None:
        self.cells = cells
        self.used: set[str] = set()

    def __call__(self, *names: str) -> str:
        self.used.update(names)
        return next((_text(self.cells.get(n)) for n in names if _text(self.cells.get(n))), "")


def items(sheet: Sheet, problems: list[Problem], extras: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Items from Banana's Items table (``ItemsId`` or ``RowId``, ``Description`` the name, ``Notes``
    the longer text, ``UnitPrice`` the sale price, ``Cost`` the purchase price, ``Unit``,
    ``QuantityBegin`` the stock). A price that is not an amount in cents is an error naming the row;
    the item is kept without it. The other columns that hold something go to `extras`."""
    prices = {n: AmountColumn([_text(c.get(n)) for _, c in sheet.rows]) for n in ("UnitPrice", "Cost")}
    out = []
    for number, cells in sheet.rows:
        row: dict[str, Any] = {
            "code": _text(cells.get("ItemsId")) or _text(cells.get("RowId")), "name": _text(cells.get("Description")),
            "description": _text(cells.get("Notes")), "unit": _text(cells.get("Unit")),
        }  # fmt: skip
        for column, name in (("sale_price", "UnitPrice"), ("purchase_price", "Cost")):
            try:
                row[column] = _cents(cells.get(name), prices[name])
            except ParseError as exc:
                problems.append(Problem("error", f"{name}: {exc}", sheet.file, number))
        stock = _text(cells.get("QuantityBegin"))
        try:
            row["stock"] = parse_rate(stock) if stock else ""
        except ParseError as exc:
            problems.append(Problem("error", N_("QuantityBegin: {exc}").format(exc=exc), sheet.file, number))
        out.append(row)
        used = {"ItemsId", "RowId", "Description", "Notes", "Unit", "UnitPrice", "Cost", "QuantityBegin"}
        _keep_rest(sheet, number, cells, used, extras)
    return out


FORMAT = BananaReader
