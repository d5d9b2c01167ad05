"""Excel workbook an accountant opens: company, accounts, journal, trial balance, VAT, partners, open items.

One sheet per canonical table, headed by the canonical column names, so the workbook reads back
(`migrator.readers.xlsx`) to the same ledger. Amounts are real numbers whose XML text is the exact
decimal (``1234.56``, never a float's ``1234.559999…``), shown with a number format; dates are
dates; every sheet has a frozen header row, an autofilter and column widths fitted to its values.
Text that a spreadsheet would run as a formula (``= + - @``, tab, CR at the start) is stored as a
string with Excel's quote prefix, so it shows and reads back exactly as written and never runs.
Written in openpyxl's streaming (write-only) mode: rows go to disk as they are made.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from migrator import money
from migrator.model import SCHEMAS, Ledger, Problem
from migrator.reconcile import trial_balance
from migrator.writers.base import FORMULA_STARTS, lost

AMOUNT_FORMAT = "#,##0.00"
DATE_FORMAT = "dd.mm.yyyy"
COMPANY_SHEET = "Company"
TRIAL_BALANCE_SHEET = "Trial balance"
TRIAL_BALANCE_COLUMNS = ("account", "name", "balance")
MAX_CELL_TEXT = 32767
"""Excel holds at most 32,767 characters in a cell (Excel specifications and limits)."""
MAX_WIDTH = 60
# Characters XML 1.0 cannot carry at all (lxml refuses them; Excel reports the file as damaged).
XML_ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_XML_ILLEGAL_RE = re.compile(XML_ILLEGAL)


@dataclass(frozen=True)
class Sheet:
    """A canonical table and the sheet that holds it."""

    table: str
    title: str
    money: tuple[str, ...] = ()
    """Columns holding cents, written as amounts."""

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(SCHEMAS[self.table].names)


SHEETS = (
    Sheet("accounts", "Accounts"),
    Sheet("groups", "Groups"),
    Sheet("lines", "Journal", ("amount", "amount_currency", "vat_amount")),
    Sheet("vat_codes", "VAT"),
    Sheet("partners", "Partners"),
    Sheet("open_items", "Open items", ("amount", "open_amount")),
)
"""Sheets in workbook order; the trial balance goes after the journal."""
JOURNAL = next(s for s in SHEETS if s.table == "lines")
COMPANY_FIELDS = (
    ("Name", "name"),
    ("Base currency", "base_currency"),
    ("VAT number", "vat_number"),
    ("Address", "address"),
    ("Source system", "source_system"),
    ("Source version", "source_version"),
)
"""Labels of the one-value rows of the Company sheet, and the `Company` field each holds."""
FISCAL_YEAR = "Fiscal year"
SOURCE_FILE = "Source file"
_FLAGS_WRITTEN_WHEN_TRUE = {("lines", "opening"), ("lines", "vat_line")}
"""Flags shown only where true, so the journal is not a wall of FALSE."""


class XlsxWriter:
    name = "xlsx"
    extension = ".xlsx"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        book = Workbook(write_only=True)
        problems: list[Problem] = []
        _company_sheet(book, ledger, problems)
        for sheet in SHEETS:
            data: pa.Table = getattr(ledger, sheet.table)
            if data.num_rows or sheet is JOURNAL:  # the journal stays, even empty: it marks the format
                _table_sheet(book, sheet, data, problems)
            if sheet is JOURNAL and data.num_rows:
                _table_sheet(book, *_trial_balance(ledger), problems)
        book.save(target)
        extras = sum(t.num_columns - ("source_row" in t.column_names) for t in ledger.extras.values())
        problems += lost("unplaced source columns", extras, "left out (the workbook holds canonical columns only)")
        return problems


def _trial_balance(ledger: Ledger) -> tuple[Sheet, pa.Table]:
    names = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )
    balances = trial_balance(ledger)
    data = pa.table({
        "account": pa.array(list(balances), pa.string()),
        "name": pa.array([names.get(code, "") for code in balances], pa.string()),
        "balance": pa.array(list(balances.values()), pa.int64()),
    })  # fmt: skip
    return Sheet("trial_balance", TRIAL_BALANCE_SHEET, ("balance",)), data


def _company_sheet(book: Workbook, ledger: Ledger, problems: list[Problem]) -> None:
    company = ledger.company
    rows: list[list[Any]] = [[label, getattr(company, field)] for label, field in COMPANY_FIELDS]
    rows += [[FISCAL_YEAR, year.start, year.end] for year in company.fiscal_years]
    rows += [[SOURCE_FILE, f.path, f.sha256, f.size, f.encoding, f.format] for f in company.source_files]
    sheet = book.create_sheet(COMPANY_SHEET)
    assert isinstance(sheet, WriteOnlyWorksheet)
    used = max(len(row) for row in rows)
    widths = [max(len(str(row[i])) if i < len(row) else 0 for row in rows) for i in range(used)]
    _layout(sheet, ["field", "value", *[""] * (used - 2)], widths, len(rows), autofilter=False)
    sheet.append(["Field", "Value"])
    for row in rows:
        sheet.append([_DateCell(sheet)(v) if isinstance(v, dt.date) else _text_cell(sheet, v, problems) for v in row])


def _layout(
    sheet: WriteOnlyWorksheet, header: list[str], widths: list[int], rows: int, autofilter: bool = True
) -> None:
    """Frozen header, autofilter, column widths and the sheet's size, set before the first row.

    A write-only sheet does not state its size (<dimension>) unless asked; without it openpyxl's
    reader parses the whole sheet once more just to learn it, on every load.
    """
    last = f"{get_column_letter(len(header))}{rows + 1}"
    sheet.calculate_dimension = lambda: f"A1:{last}"  # type: ignore[attr-defined]
    sheet.freeze_panes = "A2"
    for index, (name, width) in enumerate(zip(header, widths, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(len(name), width) + 2, MAX_WIDTH)
    if autofilter:
        sheet.auto_filter.ref = f"A1:{last}"


def _table_sheet(book: Workbook, sheet: Sheet, data: pa.Table, problems: list[Problem]) -> None:
    ws = book.create_sheet(sheet.title)
    assert isinstance(ws, WriteOnlyWorksheet)
    names = list(data.column_names)
    columns = [_column(ws, sheet, name, data.column(name), problems) for name in names]
    _layout(ws, names, [c.width for c in columns], data.num_rows)
    ws.append(names)
    for row in zip(*(c.cells() for c in columns), strict=True):
        ws.append(row)


class _Column:
    """One column's cells, made from whole Arrow columns (texts cleaned and checked at once)."""

    def __init__(self, values: list[Any], width: int, make: Any = None) -> None:
        self.values = values
        self.width = width
        self.make = make

    def cells(self) -> Iterator[Any]:
        if self.make is None:
            return iter(self.values)
        make = self.make
        return (None if v is None else make(v) for v in self.values)


def _column(
    ws: WriteOnlyWorksheet, sheet: Sheet, name: str, column: pa.ChunkedArray, problems: list[Problem]
) -> _Column:
    kind = column.type
    if name in sheet.money:
        if len(column) and (pc.max(pc.abs(column)).as_py() or 0) >= 10**15:
            problems.append(Problem("warning", f"sheet {sheet.title}, column {name}: amounts of more than 15 digits; "
                                    "Excel keeps only 15 significant digits of a number"))  # fmt: skip
        text = money.format_cents_array(column)
        width = _max_length(text) * 4 // 3  # room for thousands separators
        return _Column(text.to_pylist(), width, _AmountCell(ws))
    if kind == pa.date32():
        return _Column(column.to_pylist(), 10, _DateCell(ws))
    if kind == pa.bool_():
        values = column.to_pylist()
        if (sheet.table, name) in _FLAGS_WRITTEN_WHEN_TRUE:
            values = [True if v else None for v in values]
        return _Column(values, 5)
    if kind != pa.string():
        return _Column(column.to_pylist(), len(str(pc.max(column).as_py() or "")))
    column = _clean(column, f"sheet {sheet.title}, column {name}", problems)
    risky = pc.match_substring_regex(column, r"^[=+\-@\t\r]")
    values = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column).to_pylist()
    if pc.any(risky).as_py():
        flags = risky.to_pylist()
        values = [_text_cell(ws, v, problems) if flag else v for v, flag in zip(values, flags, strict=True)]
    return _Column(values, _max_length(column))


def _max_length(text: pa.ChunkedArray | pa.Array) -> int:
    if not len(text):
        return 0
    return int(pc.max(pc.utf8_length(text)).as_py() or 0)


def _clean(column: pa.ChunkedArray, where: str, problems: list[Problem]) -> pa.ChunkedArray:
    """Text Excel can hold: characters XML cannot carry removed (with a warning), cells cut at
    Excel's limit."""
    illegal = pc.match_substring_regex(column, XML_ILLEGAL)
    count = pc.sum(illegal).as_py() or 0
    if count:
        column = pc.replace_substring_regex(column, XML_ILLEGAL, "")
        problems.append(Problem("warning", f"{where}: {count} texts had control characters a workbook cannot hold"))
    long = pc.greater(pc.utf8_length(column), MAX_CELL_TEXT)
    count = pc.sum(long).as_py() or 0
    if count:
        column = pc.if_else(long, pc.utf8_slice_codeunits(column, 0, MAX_CELL_TEXT), column)
        problems.append(Problem("warning", f"{where}: {count} texts longer than {MAX_CELL_TEXT} characters were cut"))
    return column


def _text_cell(ws: WriteOnlyWorksheet, value: Any, problems: list[Problem]) -> Any:
    """A text cell that is never a formula; other values as they are."""
    if not isinstance(value, str):
        return value
    if not value:
        return None
    if _XML_ILLEGAL_RE.search(value):
        value = _XML_ILLEGAL_RE.sub("", value)
        problems.append(Problem("warning", f"sheet {ws.title}: control characters a workbook cannot hold were removed"))
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula
    cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    return cell


class _AmountCell:
    """Amount cells whose XML value is the exact decimal text: openpyxl prints numbers with
    ``%.16g`` of a float (``1234.57`` can come out as ``1234.569999999999``), so the cell holds the
    text and is typed as a number. One cell per column, refilled for each row: a write-only sheet
    writes a row out before the next is made."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.cell = WriteOnlyCell(ws)
        self.cell.number_format = AMOUNT_FORMAT

    def __call__(self, text: str) -> WriteOnlyCell:
        self.cell.value = text
        self.cell.data_type = "n"
        return self.cell


class _DateCell:
    """Date cells shown as dd.mm.yyyy; one cell per column, refilled for each row."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.cell = WriteOnlyCell(ws)
        self.cell.number_format = DATE_FORMAT

    def __call__(self, day: Any) -> WriteOnlyCell:
        self.cell.value = day
        return self.cell


FORMAT = XlsxWriter
