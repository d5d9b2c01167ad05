"""Excel workbook written by `migrator.writers.xlsx`, read back to the same ledger.

Sheets are found by title, columns by the canonical names in each sheet's first row, so an
accountant may reorder columns, add rows or leave sheets out. Amounts are read exactly: Excel
keeps 15 significant digits, so a cell's float is taken at those digits (`parsing.excel_number`)
and turned into cents; amounts typed as text are parsed like any other source's. The "Trial
balance" sheet is derived from the journal: it is not read into the ledger, only checked against
it. The "Source file" rows of the Company sheet describe where the workbook's books came from;
the workbook itself is now the source, so they are not carried.
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from migrator import money, xmlsafe
from migrator.errors import SourceError
from migrator.model import SCHEMAS, Company, FiscalYear, Ledger, Problem, conform, table
from migrator.parsing import ParseError, decimal_text, excel_number, excel_serial_to_date, parse_cents, parse_date
from migrator.readers.base import ReadOptions, accounts_from_lines, merge_accounts
from migrator.reconcile import trial_balance
from migrator.sources import Source, check_workbook

if TYPE_CHECKING:  # openpyxl (also imported by the writer's layout) loads only when a workbook is read
    from openpyxl.workbook.workbook import Workbook

    from migrator.writers.xlsx import Sheet

REQUIRED = {"lines": ("date", "account", "amount")}
"""Columns a sheet cannot do without; every other column may be left out."""
SNIFFED = ("entry", "line", "date", "account", "amount")
"""Journal columns that mark a workbook as this format's (other vendors' sheets lack some)."""
NOT_EMPTY = {"lines": ("date", "account", "amount")}
MAX_PROBLEMS = 1000
"""Bad rows listed one by one per sheet; beyond that one problem says how many more."""
_TRUE = {"true", "1", "yes", "y", "x", "oui", "ja", "wahr"}
_FALSE = {"false", "0", "no", "n", "", "non", "nein", "falsch"}
_BROKEN = (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, TypeError, IndexError, AttributeError,
           SyntaxError, zlib.error)  # fmt: skip
"""What a broken workbook raises when loaded or while its sheets are read, besides openpyxl's
InvalidFileException: zipfile's errors, zlib.error, XML syntax errors (xml.etree's ParseError and
lxml's XMLSyntaxError are SyntaxError subclasses), and the KeyError, ValueError, TypeError,
IndexError and AttributeError openpyxl meets in parts that lack what it expects."""


def journal_header(book: Workbook) -> list[str] | None:
    """Column names of the Journal sheet, if the workbook has one."""
    from migrator.writers.xlsx import JOURNAL

    if JOURNAL.title not in book.sheetnames:
        return None
    for row in book[JOURNAL.title].iter_rows(min_row=1, max_row=1, values_only=True):
        return [_name(v) for v in row]
    return None


class XlsxReader:
    name = "xlsx"
    extensions = (".xlsx",)

    def sniff(self, source: Source) -> float:
        if source.is_dir or not source.head(4).startswith(b"PK"):
            return 0.0
        check_workbook(source.path, source.name)  # a SourceError: not sniffed (pipeline._sniffed)
        if not _has_journal_sheet(source):
            return 0.0
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(_opened(source), read_only=True, data_only=True)
        except (InvalidFileException, *_BROKEN):
            return 0.0
        try:
            header = journal_header(book)
        except (InvalidFileException, *_BROKEN):
            return 0.0
        finally:
            book.close()
        if header is None:
            return 0.0
        return 0.95 if all(name in header for name in SNIFFED) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        from migrator.writers.xlsx import JOURNAL, SHEETS

        check_workbook(source.path, source.name)
        try:
            book = load_workbook(_opened(source), read_only=True, data_only=True)
        except (InvalidFileException, *_BROKEN) as exc:
            raise SourceError(f"not a readable Excel workbook ({type(exc).__name__}: {exc})", source.name) from None
        try:
            if journal_header(book) is None:
                raise SourceError(f"the workbook has no sheet {JOURNAL.title!r} with a header row", source.name)
            problems: list[Problem] = []
            tables: dict[str, pa.Table] = {}
            extras: dict[str, pa.Table] = {}
            for sheet in SHEETS:
                if sheet.title in book.sheetnames:
                    tables[sheet.table], extra = _read_sheet(book, sheet, source.name, problems)
                    if extra is not None:
                        extras[sheet.table] = extra
            company = _company(book, source.name, problems)
            shown = _shown_trial_balance(book, source.name, problems)
        except SourceError:
            raise
        except (InvalidFileException, *_BROKEN) as exc:  # sheets are parsed as they are read (read-only mode)
            raise SourceError(f"not a readable Excel workbook ({type(exc).__name__}: {exc})", source.name) from None
        finally:
            book.close()
        lines = tables.get("lines", table("lines"))
        if "accounts" in tables:
            accounts, notes = merge_accounts(tables.pop("accounts"), lines, source.name)
        else:
            accounts, notes = accounts_from_lines(lines, source.name)
        ledger = Ledger(company=company, accounts=accounts, **tables, extras=extras, format=self.name)
        if not any(p.severity == "error" for p in problems):  # dropped rows would explain any difference
            problems += _check_trial_balance(ledger, shown, source.name)
        problems += notes
        return ledger.replace(problems=tuple(problems))


def _has_journal_sheet(source: Source) -> bool:
    """Whether the workbook lists a Journal sheet: a cheap look at xl/workbook.xml only, since
    loading a workbook parses every sheet that does not state its dimension."""
    from migrator.writers.xlsx import JOURNAL

    try:
        with zipfile.ZipFile(source.path) as archive:
            root = xmlsafe.parse_bytes(archive.read("xl/workbook.xml"), source.name)
    except (zipfile.BadZipFile, KeyError, OSError, SourceError):
        return False
    return any(sheet.get("name") == JOURNAL.title for sheet in root.iter("{*}sheet"))


def _name(value: Any) -> str:
    return str(value).strip().lower() if value is not None else ""


def _where(file: str, title: str) -> str:
    return f"{file}, sheet {title}"


# ------------------------------------------------------------------------------------------ cells


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return decimal_text(excel_number(value))
    return str(value)


def _whole(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParseError(f"not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    number = excel_number(value) if isinstance(value, float | str) else None
    if number is None or number != number.to_integral_value():
        raise ParseError(f"not a whole number: {value!r}")
    return int(number)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ParseError(f"not a date: {value!r}")
    if isinstance(value, int | float):  # a day number in a cell without a date format
        return excel_serial_to_date(value)
    if isinstance(value, str):
        return parse_date(value)
    raise ParseError(f"not a date: {value!r}")


def _cents(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"not an amount: {value!r}")
    if isinstance(value, int | float):
        try:
            return money.to_cents(excel_number(value))
        except money.NotCents as exc:
            raise ParseError(str(exc)) from None
    if isinstance(value, str):
        return parse_cents(value)
    raise ParseError(f"not an amount: {value!r}")


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParseError(f"not true or false: {value!r}")


def _converters(sheet: Sheet) -> dict[str, Callable[[Any], Any]]:
    out: dict[str, Callable[[Any], Any]] = {}
    for fld in SCHEMAS[sheet.table]:
        if fld.name in sheet.money:
            out[fld.name] = _cents
        elif fld.type == pa.date32():
            out[fld.name] = _date
        elif fld.type == pa.bool_():
            out[fld.name] = _flag
        elif pa.types.is_integer(fld.type):
            out[fld.name] = _whole
        else:
            out[fld.name] = _text
    return out


# ----------------------------------------------------------------------------------------- sheets


def _rows(book: Workbook, title: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(spreadsheet row number, values) of every row with a value in it."""
    for number, row in enumerate(book[title].iter_rows(values_only=True), start=1):
        if any(v is not None and v != "" for v in row):
            yield number, row


def _read_sheet(book: Workbook, sheet: Sheet, file: str, problems: list[Problem]) -> tuple[pa.Table, pa.Table | None]:
    """The canonical table a sheet holds, and its unknown columns (with the row they came from)."""
    from openpyxl.utils import get_column_letter

    where = _where(file, sheet.title)
    rows = _rows(book, sheet.title)
    first = next(rows, None)
    if first is None:
        return table(sheet.table), None
    header = [_name(v) for v in first[1]]
    for name in REQUIRED.get(sheet.table, ()):
        if name not in header:
            raise SourceError(f"no column {name!r} in the header row", where, first[0])
    converters = _converters(sheet)
    known = [(i, n, converters[n]) for i, n in enumerate(header) if n in converters]
    repeated = sorted({n for _, n, _ in known if header.count(n) > 1})
    if repeated:
        raise SourceError(f"column names repeat: {', '.join(repeated)}", where, first[0])
    titles = [str(v).strip() if v is not None else "" for v in first[1]]
    unknown = [
        (i, titles[i] or f"column {get_column_letter(i + 1)}") for i, n in enumerate(header) if n not in converters
    ]
    required = NOT_EMPTY.get(sheet.table, ())
    columns: dict[str, list[Any]] = {n: [] for _, n, _ in known}
    kept_rows: list[int] = []
    extra: dict[str, list[str]] = {n: [] for _, n in unknown}
    bad = 0
    for number, row in rows:
        values, errors = {}, []
        for index, name, convert in known:
            cell = row[index] if index < len(row) else None
            try:
                values[name] = convert(cell)
            except (ParseError, ArithmeticError) as exc:
                errors.append(f"{name}: {exc}")
                continue
            if name in required and values[name] in (None, ""):
                errors.append(f"{name}: the cell is empty; every journal line needs one")
        if errors:
            bad += 1
            if bad <= MAX_PROBLEMS:
                problems.append(Problem("error", "; ".join(errors), where, number))
            continue
        for name, value in values.items():
            columns[name].append(value)
        for index, name in unknown:
            extra[name].append(_text(row[index]) if index < len(row) else "")
        kept_rows.append(number)
    if bad > MAX_PROBLEMS:
        problems.append(Problem("error", f"{bad - MAX_PROBLEMS} more rows with bad cells", where))
    if sheet.table == "lines":
        _complete_lines(columns, kept_rows, where)
    data = conform(sheet.table, {n: pa.array(v, SCHEMAS[sheet.table].field(n).type) for n, v in columns.items()})
    if data.num_rows != len(kept_rows):  # a sheet with none of the canonical columns
        data = table(sheet.table, [{}] * len(kept_rows))
    extras = None
    if unknown and any(any(v for v in values) for values in extra.values()):
        extras = pa.table(
            {"source_row": pa.array(kept_rows, pa.int64()), **{n: pa.array(v, pa.string()) for n, v in extra.items()}}
        )
    return data, extras


def _complete_lines(columns: dict[str, list[Any]], rows: list[int], where: str) -> None:
    """Fill what a hand-made journal may lack, as the canonical CSV does: without an entry column
    lines with the same date and doc form one entry; without line numbers lines are numbered in
    sheet order; lines without a recorded origin (added in Excel) come from this sheet and row."""
    if "entry" not in columns:
        docs = columns.get("doc", [""] * len(rows))
        keys: dict[tuple[Any, str], int] = {}
        columns["entry"] = [str(keys.setdefault(k, len(keys) + 1)) for k in zip(columns["date"], docs, strict=True)]
    if "line" not in columns:
        seen: dict[str, int] = {}
        numbers = []
        for entry in columns["entry"]:
            seen[entry] = seen.get(entry, 0) + 1
            numbers.append(seen[entry])
        columns["line"] = numbers
    files = columns.setdefault("source_file", [""] * len(rows))
    origin_rows = columns.setdefault("source_row", [None] * len(rows))
    for i, file in enumerate(files):
        if not file:
            files[i] = where
            origin_rows[i] = rows[i]


def _company(book: Workbook, file: str, problems: list[Problem]) -> Company:
    from migrator.writers.xlsx import COMPANY_FIELDS, COMPANY_SHEET, FISCAL_YEAR, SOURCE_FILE

    if COMPANY_SHEET not in book.sheetnames:
        return Company()
    where = _where(file, COMPANY_SHEET)
    fields = {label.lower(): name for label, name in COMPANY_FIELDS}
    values: dict[str, Any] = {}
    years: list[FiscalYear] = []
    for number, row in _rows(book, COMPANY_SHEET):
        label = _name(row[0])
        cells = [*row[1:], None, None]
        if number == 1 or label in ("field", SOURCE_FILE.lower()):
            continue
        try:
            if label in fields:
                values[fields[label]] = _text(cells[0])
            elif label == FISCAL_YEAR.lower():
                start, end = _date(cells[0]), _date(cells[1])
                if start is None or end is None:
                    raise ParseError("a fiscal year needs a start and an end date")
                years.append(FiscalYear(start, end))
            else:
                problems.append(Problem("warning", f"unknown field {row[0]!r}; ignored", where, number))
        except ParseError as exc:
            problems.append(Problem("error", str(exc), where, number))
    if not values.get("base_currency"):
        values.pop("base_currency", None)
    return Company(**values, fiscal_years=tuple(years))


def _shown_trial_balance(book: Workbook, file: str, problems: list[Problem]) -> dict[str, int] | None:
    """Balances the Trial balance sheet shows, per account (None without the sheet)."""
    from migrator.writers.xlsx import TRIAL_BALANCE_SHEET

    if TRIAL_BALANCE_SHEET not in book.sheetnames:
        return None
    where = _where(file, TRIAL_BALANCE_SHEET)
    shown: dict[str, int] = {}
    rows = _rows(book, TRIAL_BALANCE_SHEET)
    header = [_name(v) for v in next(rows, (0, ()))[1]]
    if "account" not in header or "balance" not in header:
        return None
    account, balance = header.index("account"), header.index("balance")
    for number, row in rows:
        try:
            shown[_text(row[account])] = _cents(row[balance]) or 0
        except (ParseError, IndexError) as exc:
            problems.append(Problem("warning", f"balance: {exc}", where, number))
    return shown


def _check_trial_balance(ledger: Ledger, shown: dict[str, int] | None, file: str) -> list[Problem]:
    """A warning for each account whose shown balance is not what the journal adds up to."""
    from migrator.writers.xlsx import TRIAL_BALANCE_SHEET

    if shown is None:
        return []
    where = _where(file, TRIAL_BALANCE_SHEET)
    actual = trial_balance(ledger)
    out = []
    for code in sorted(set(shown) | set(actual)):
        if shown.get(code, 0) != actual.get(code, 0):
            out.append(Problem(
                "warning",
                f"account {code}: the sheet shows {money.format_cents(shown.get(code, 0))} but the journal adds up "
                f"to {money.format_cents(actual.get(code, 0))}; the journal is what was read",
                where,
            ))  # fmt: skip
    return out


FORMAT = XlsxReader


def _opened(source: Source) -> Any:
    """The workbook file, opened for openpyxl: by handle, since openpyxl refuses a file name without an
    Excel extension, and `-o books` (no extension) is a workbook all the same."""
    return source.path.open("rb")
