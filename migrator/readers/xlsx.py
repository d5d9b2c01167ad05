"""Excel workbook written by `migrator.writers.xlsx`, read back to the same ledger.

Sheets are found by title, columns by the canonical names in each sheet's first row, so an
accountant may reorder columns, add rows or leave sheets out. Amounts are read exactly: Excel
keeps 15 significant digits, so a cell's float is taken at those digits (`parsing.excel_number`)
and turned into cents; amounts typed as text are parsed like any other source's. The "Trial
balance" sheet is derived from the journal: it is not read into the ledger, only checked against
it. The "Source file" rows of the Company sheet describe where the workbook's books came from;
the workbook itself is now the source, so they are not carried. A table longer than an Excel sheet
holds comes on several sheets ("Journal", "Journal (2)", …): they are read one after the other.

A sheet laid out as the writer lays it out (a header of canonical names, each column one type of cell)
is read by fastexcel, calamine's cells put into Arrow columns in Rust, without a Python object per
cell (`_columns_at_once` says when). Other sheets are read with python-calamine (Rust), and their
cells converted a whole column at a time: where every cell of a column has the type the column expects
(numbers in an amount column, dates in a date column), the column is converted at once; a column with
other cells (amounts typed as text, dates typed by hand, bad cells) is converted cell by cell, so bad
cells are problems naming their row.
openpyxl is used only to sniff (it reads the Journal's first row without parsing the whole sheet).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import money, xmlsafe
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import SCHEMAS, Company, FiscalYear, Ledger, Problem, conform, table
from migrator.parsing import ParseError, decimal_text, excel_number, excel_serial_to_date, parse_cents, parse_date
from migrator.readers.base import ReadOptions, accounts_from_lines, merge_accounts
from migrator.reconcile import trial_balance
from migrator.rowwise import collector_paused
from migrator.sources import Source, check_workbook

if TYPE_CHECKING:  # openpyxl, calamine and fastexcel load only when a workbook is read
    from fastexcel import ExcelReader
    from openpyxl.workbook.workbook import Workbook
    from python_calamine import CalamineWorkbook

    from migrator.writers.xlsx import Sheet

REQUIRED = {"lines": ("date", "account", "amount")}
"""Columns a sheet cannot do without; every other column may be left out."""
SNIFFED = ("entry", "line", "date", "account", "amount")
"""Journal columns that mark a workbook as this format's (other vendors' sheets lack some)."""
NOT_EMPTY = {"lines": ("date", "account", "amount")}
BATCH = 65_536
"""Rows of a sheet turned into columns at a time."""
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
        import python_calamine

        from migrator.writers.xlsx import JOURNAL, SHEETS

        check_workbook(source.path, source.name)
        try:
            with source.path.open("rb") as handle:  # by handle: a workbook named without .xlsx is one all the same
                book = python_calamine.CalamineWorkbook.from_filelike(handle)
            columnar = _columnar_book(source)
            titles = set(book.sheet_names)
            if JOURNAL.title not in titles:
                raise SourceError(
                    N_("the workbook has no sheet {title!r} with a header row").format(title=JOURNAL.title), source.name
                )
            problems: list[Problem] = []
            tables: dict[str, pa.Table] = {}
            extras: dict[str, pa.Table] = {}
            with collector_paused():
                for sheet in SHEETS:
                    parts = _parts(sheet.title, titles)
                    if parts:
                        tables[sheet.table], extra = _read_parts(book, sheet, parts, source.name, problems, columnar)
                        if extra is not None:
                            extras[sheet.table] = extra
            company = _company(book, source.name, problems)
            shown = _shown_trial_balance(book, source.name, problems)
            source_tables = _source_tables(book, titles, source.name, problems)
        except SourceError:
            raise
        except (python_calamine.CalamineError, *_BROKEN) as exc:
            raise SourceError(
                N_("not a readable Excel workbook ({name}: {exc})").format(name=type(exc).__name__, exc=exc),
                source.name,
            ) from None
        lines = tables.get("lines", table("lines"))
        if "accounts" in tables:
            accounts, notes = merge_accounts(tables.pop("accounts"), lines, source.name)
        else:
            accounts, notes = accounts_from_lines(lines, source.name)
        ledger = Ledger(
            company=company, accounts=accounts, **tables, extras=extras, source_tables=source_tables, format=self.name
        )
        if not any(p.severity == "error" for p in problems):  # dropped rows would explain any difference
            problems += _check_trial_balance(ledger, shown, source.name)
        problems += notes
        return ledger.replace(problems=tuple(problems))


def _parts(title: str, titles: set[str]) -> list[str]:
    """The sheets holding the table of the sheet `title`: itself, then "title (2)", "title (3)" …
    as long as they follow on (the writer's `part_titles`)."""
    parts: list[str] = []
    while (name := title if not parts else f"{title} ({len(parts) + 1})") in titles:
        parts.append(name)
    return parts


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
        raise ParseError(N_("not a whole number: {value!r}").format(value=value))
    if isinstance(value, int):
        return value
    number = excel_number(value) if isinstance(value, float | str) else None
    if number is None or number != number.to_integral_value():
        raise ParseError(N_("not a whole number: {value!r}").format(value=value))
    return int(number)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ParseError(N_("not a date: {value!r}").format(value=value))
    if isinstance(value, int | float):  # a day number in a cell without a date format
        return excel_serial_to_date(value)
    if isinstance(value, str):
        return parse_date(value)
    raise ParseError(N_("not a date: {value!r}").format(value=value))


def _cents(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(N_("not an amount: {value!r}").format(value=value))
    if isinstance(value, int | float):
        try:
            return money.to_cents(excel_number(value))
        except money.NotCents as exc:
            raise ParseError(str(exc)) from None
    if isinstance(value, str):
        return parse_cents(value)
    raise ParseError(N_("not an amount: {value!r}").format(value=value))


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
    raise ParseError(N_("not true or false: {value!r}").format(value=value))


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


def _source_tables(book: CalamineWorkbook, titles: set[str], file: str, problems: list[Problem]) -> dict[str, pa.Table]:
    """The whole source tables the "Source tables" sheet lists, each from its sheet with its column types."""
    from migrator.writers.xlsx import SOURCE_INDEX, SOURCE_TYPES

    if SOURCE_INDEX not in titles:
        return {}
    out: dict[str, pa.Table] = {}
    rows = list(_rows(book, SOURCE_INDEX))
    for number, (name, title, kinds, *_) in rows[1:]:
        where = _where(file, SOURCE_INDEX)
        if title not in titles:
            problems.append(
                Problem(
                    "error",
                    N_("source table {name}: no sheet {title!r}; left out").format(name=name, title=title),
                    where,
                    number,
                )
            )
            continue
        columns = [k.rpartition(":") for k in str(kinds or "").split("\n") if k]
        data = list(_rows(book, str(title)))
        values: dict[str, list[Any]] = {n: [] for n, _, _ in columns}
        for _, row in data[1:]:
            for (column, _, kind), value in zip(columns, (*row, *([None] * len(columns))), strict=False):
                values[column].append(_source_value(value, kind))
        try:
            out[str(name)] = pa.table({n: pa.array(values[n], SOURCE_TYPES.get(k, pa.string())) for n, _, k in columns})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            problems.append(
                Problem(
                    "error",
                    N_("source table {name}: {exc}; left out").format(name=name, exc=exc),
                    _where(file, str(title)),
                )
            )
    return out


def _source_value(value: Any, kind: str) -> Any:
    """A cell of a source table sheet as its column's type."""
    if value is None:
        return "" if kind == "string" else None
    if kind == "int64":
        return int(value) if isinstance(value, int | float) and float(value).is_integer() else value  # float-ok: a cell
    if kind == "date32[day]":
        return value.date() if isinstance(value, dt.datetime) else value
    if kind == "bool":
        return bool(value)
    return value if isinstance(value, str) else _text(value)


def _sheet(book: CalamineWorkbook, title: str) -> list[list[Any]]:
    """Every row of the sheet from A1 on (calamine gives an empty cell as "")."""
    return book.get_sheet_by_name(title).to_python(skip_empty_area=False)


def _rows(book: CalamineWorkbook, title: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(spreadsheet row number, values, None for an empty cell) of every row with a value in it."""
    for number, row in enumerate(_sheet(book, title), start=1):
        if any(v != "" for v in row):
            yield number, tuple(None if v == "" else v for v in row)


def _read_parts(
    book: CalamineWorkbook, sheet: Sheet, parts: list[str], file: str, problems: list[Problem],
    columnar: ExcelReader | None = None,
) -> tuple[pa.Table, pa.Table | None]:  # fmt: skip
    """The canonical table held by the sheets `parts`, one after the other, and their unknown columns
    (with the row each value came from), if any holds a value."""
    read = [_read_sheet(book, sheet, title, file, problems, columnar) for title in parts]
    data = read[0][0] if len(read) == 1 else pa.concat_tables([t for t, _ in read])
    extras = read[0][1] if len(read) == 1 else pa.concat_tables([e for _, e in read], promote_options="default")
    columns = [c.fill_null("") for c in extras.columns[1:]]  # a part without a column has it blank
    if not any(pc.any(pc.not_equal(c, "")).as_py() for c in columns):
        return data, None
    return data, pa.Table.from_arrays([extras.column(0), *columns], names=extras.column_names)


def _read_sheet(
    book: CalamineWorkbook, sheet: Sheet, title: str, file: str, problems: list[Problem],
    columnar: ExcelReader | None = None,
) -> tuple[pa.Table, pa.Table]:  # fmt: skip
    """The canonical table a sheet holds, and its unknown columns (after ``source_row``, the sheet's
    row each value came from; none but that one where the header names no other column)."""
    where = _where(file, title)
    whole = _columns_at_once(columnar, sheet, title) if columnar is not None else None
    if whole is not None:
        return _finish(sheet, where, whole, np.arange(2, 2 + _length(whole)), {}, {}, problems)
    rows = iter(book.get_sheet_by_name(title).iter_rows())
    start = 0  # rows before the header row
    for first in rows:
        if any(v != "" for v in first):
            break
        start += 1
    else:
        if sheet.table == "lines" and not title.endswith(")"):
            raise SourceError(N_("the workbook has no sheet {title!r} with a header row").format(title=title), file)
        return table(sheet.table), pa.table({"source_row": pa.array([], pa.int64())})
    header = [_name(v) for v in first]
    for name in REQUIRED.get(sheet.table, ()):
        if name not in header:
            raise SourceError(N_("no column {name!r} in the header row").format(name=name), where, start + 1)
    converters = _converters(sheet)
    known = [(i, n) for i, n in enumerate(header) if n in converters]
    repeated = sorted({n for _, n in known if header.count(n) > 1})
    if repeated:
        raise SourceError(N_("column names repeat: {repeated}").format(repeated=", ".join(repeated)), where, start + 1)
    titles = [_text(v).strip() for v in first]
    unknown = [(i, titles[i] or f"column {_letter(i + 1)}") for i, n in enumerate(header) if n not in converters]
    required = NOT_EMPTY.get(sheet.table, ())
    parts: dict[str, list[pa.Array]] = {name: [] for _, name in known}
    unknown_parts: dict[int, list[pa.Array]] = {index: [] for index, _ in unknown}
    numbered: list[np.ndarray] = []
    errors: dict[int, list[str]] = {}
    done, number = 0, start + 2  # rows converted; the spreadsheet row number of the next row
    # A batch of rows at a time: calamine keeps the sheet's cells in Rust; Python objects exist for
    # one batch only
    while batch := list(itertools.islice(rows, BATCH)):
        columns: list[tuple[Any, ...]] = list(zip(*batch, strict=True))
        del batch
        numbers = np.arange(number, number + len(columns[0]))
        number += len(columns[0])
        if any("" in values for values in columns):  # rows without a value are skipped (the journal has none)
            filled = np.zeros(len(numbers), dtype=bool)
            for values in columns:
                if "" not in values:
                    filled[:] = True
                    break
                filled |= np.fromiter((v != "" for v in values), bool, len(values))
            if not filled.all():
                numbers = numbers[filled]
                columns = [tuple(itertools.compress(values, filled)) for values in columns]
        for index, name in known:
            convert = converters[name]
            parts[name].append(_convert(sheet, name, convert, columns[index], name in required, errors, done))
        for index, _ in unknown:
            unknown_parts[index].append(_texts(columns[index]))
        numbered.append(numbers)
        done += len(numbers)
    numbers = np.concatenate(numbered) if numbered else np.zeros(0, np.int64)
    converted = {name: _joined(parts[name], SCHEMAS[sheet.table].field(name).type) for _, name in known}
    extra_columns = {name: _joined(unknown_parts[index], pa.string()) for index, name in unknown}
    return _finish(sheet, where, converted, numbers, errors, extra_columns, problems)


def _finish(sheet: Sheet, where: str, converted: dict[str, pa.Array], numbers: np.ndarray,
            errors: dict[int, list[str]], extra_columns: dict[str, pa.Array],
            problems: list[Problem]) -> tuple[pa.Table, pa.Table]:  # fmt: skip
    """The table of a sheet's converted columns, without the rows with bad cells (each a problem)."""
    keep = np.ones(len(numbers), dtype=bool)
    for bad, (position, messages) in enumerate(sorted(errors.items()), start=1):
        keep[position] = False
        if bad <= MAX_PROBLEMS:
            problems.append(Problem("error", "; ".join(messages), where, int(numbers[position])))
    if len(errors) > MAX_PROBLEMS:
        problems.append(
            Problem("error", N_("{count} more rows with bad cells").format(count=len(errors) - MAX_PROBLEMS), where)
        )
    mask = pa.array(keep)
    kept_rows = numbers[keep]
    data_columns = {n: (v.filter(mask) if errors else v) for n, v in converted.items()}
    if sheet.table == "lines":
        _complete_lines(data_columns, kept_rows, where)
    data = conform(sheet.table, data_columns)
    if data.num_rows != len(kept_rows):  # a sheet with none of the canonical columns
        data = table(sheet.table, [{}] * len(kept_rows))
    extra = {name: column.filter(mask) for name, column in extra_columns.items()}
    return data, pa.table({"source_row": pa.array(kept_rows, pa.int64()), **extra})


def _columnar_book(source: Source) -> ExcelReader | None:
    """The workbook opened for fastexcel (calamine's cells straight into Arrow columns, in Rust)."""
    import fastexcel

    # fastexcel logs a warning for each column without a value (typed as text): a blank column is no news
    logging.getLogger("fastexcel.types.dtype").setLevel(logging.ERROR)
    try:
        return fastexcel.read_excel(source.path.read_bytes())
    except (fastexcel.FastExcelError, OSError):
        return None


def _length(columns: dict[str, pa.Array]) -> int:
    return len(next(iter(columns.values())))


def _columns_at_once(columnar: ExcelReader, sheet: Sheet, title: str) -> dict[str, pa.Array] | None:
    """A sheet read the way the workbook's writer lays it out, in Arrow columns without a Python object
    per cell; None where it is laid out otherwise, so that `_read_sheet` reads it cell by cell.

    Taken only where the result is the one of the cell-by-cell reading without a bad cell: the header
    (first row of the sheet's cells) holds only canonical names of the table, once each; no row is blank;
    every column holds one type of cell (fastexcel's strict guess over all rows), the type its canonical
    column expects (text, numbers, dates at midnight, true/false); required columns are full; amounts and
    whole numbers pass `_fast`'s test for exact cents and integers."""
    import fastexcel

    expected = SCHEMAS[sheet.table]
    try:
        loaded = columnar.load_sheet(title, schema_sample_rows=None, dtype_coercion="strict", eager=True)
    except (fastexcel.FastExcelError, pa.ArrowException):
        return None
    names = loaded.schema.names
    if not names or len(set(names)) != len(names) or not set(names) <= set(expected.names):
        return None
    if not set(REQUIRED.get(sheet.table, ())) <= set(names):  # refused, with its message, cell by cell
        return None
    converters = _converters(sheet)
    required = NOT_EMPTY.get(sheet.table, ())
    count = loaded.num_rows
    filled = np.zeros(count, dtype=bool)
    out: dict[str, pa.Array] = {}
    for name, column in zip(names, loaded.columns, strict=True):
        kind = expected.field(name).type
        blank = pc.is_null(column)
        if pa.types.is_string(column.type):
            blank = pc.fill_null(pc.equal(column, ""), True)
        blanks = pc.sum(blank).as_py() or 0
        if blanks < count:
            filled |= np.invert(blank.to_numpy(zero_copy_only=False))
        if name in required and blanks:
            return None
        converted = _arrow_column(converters[name], kind, column, blanks == count)
        if converted is None:
            return None
        out[name] = converted
    if not filled.all():  # blank rows are left out, and the rows after them numbered on: cell by cell
        return None
    return out


def _arrow_column(convert: Callable[[Any], Any], kind: pa.DataType, column: pa.Array, blank: bool) -> pa.Array | None:
    """A column fastexcel read as `_fast` converts the same cells (None where it would not)."""
    count = len(column)
    if convert is _text:
        return column.fill_null("") if pa.types.is_string(column.type) else None
    if blank:  # no value at all (fastexcel types such a column as text)
        return pa.array([False] * count, pa.bool_()) if convert is _flag else pa.nulls(count, kind)
    if convert is _flag:
        return column.fill_null(False) if pa.types.is_boolean(column.type) else None
    if convert is _date:
        if not pa.types.is_timestamp(column.type):
            return None
        days = pc.cast(column, pa.date32(), safe=False)
        # Whole days only (a time of day is read cell by cell), and none before 1 March 1900: Excel's day
        # numbers count a 29 February 1900 that never was (ECMA-376 18.17.4.1), which readers treat apart.
        if pc.all(pc.equal(pc.cast(days, column.type), column)).as_py() is False:
            return None
        first = pc.min(days).as_py()
        if first is not None and first < dt.date(1900, 3, 1):
            return None
        return days
    if not pa.types.is_floating(column.type):
        return None
    # float-ok: the doubles Excel stores, taken as exact cents or integers by `_exact` (else cell by cell)
    return _exact(convert, kind, column.to_numpy(zero_copy_only=False), column.null_count > 0)


def _letter(index: int) -> str:
    from migrator.writers.xlsx import column_letter

    return column_letter(index)


def _joined(parts: list[pa.Array], kind: pa.DataType) -> pa.Array:
    return pa.concat_arrays(parts) if parts else pa.array([], kind)


def _texts(values: tuple[Any, ...]) -> pa.Array:
    if set(map(type, values)) <= {str}:
        return pa.array(values, pa.string())
    return pa.array([_text(None if v == "" else v) for v in values], pa.string())


def _convert(sheet: Sheet, name: str, convert: Callable[[Any], Any], values: tuple[Any, ...], required: bool,
             errors: dict[int, list[str]], offset: int) -> pa.Array:  # fmt: skip
    """A column's cells as an Arrow column: at once where every cell has the type the column
    expects, else cell by cell (a bad cell's message goes to `errors` under its position in the
    sheet: `offset` + its position in `values`)."""
    kind = SCHEMAS[sheet.table].field(name).type
    empty = values.count("")
    if not (required and empty):
        fast = _fast(convert, kind, values, empty)
        if fast is not None:
            return fast
    out: list[Any] = []
    for position, cell in enumerate(values):
        try:
            value = convert(None if cell == "" else cell)
        except (ParseError, ArithmeticError) as exc:
            errors.setdefault(offset + position, []).append(f"{name}: {exc}")
            value = None
        else:
            if required and value in (None, ""):
                errors.setdefault(offset + position, []).append(
                    N_("{name}: the cell is empty; every journal line needs one").format(name=name)
                )
        out.append(value)
    if kind == pa.bool_():
        out = [bool(v) for v in out]
    elif kind == pa.string():
        out = ["" if v is None else v for v in out]
    return pa.array(out, kind)


def _fast(convert: Callable[[Any], Any], kind: pa.DataType, values: tuple[Any, ...], empty: int) -> pa.Array | None:
    """The column converted at once, or None where some cell needs a look of its own. `empty`:
    how many cells are empty ("")."""
    kinds = set(map(type, values))
    if convert is _text:
        return pa.array(values, pa.string()) if kinds <= {str} else None
    if empty:  # text other than empty cells stays in `cells`, and Arrow refuses it below
        kinds.discard(str)
        cells: Any = [None if v == "" else v for v in values]
    else:
        cells = values
    try:
        if convert is _flag:
            return pa.array(cells, pa.bool_()).fill_null(False) if kinds <= {bool} else None
        if convert is _date:  # datetimes (a time of day) and day numbers: cell by cell
            return pa.array(cells, pa.date32()) if kinds <= {dt.date} else None
        if not kinds <= {float, int}:
            return None
        # float-ok: the doubles Excel stores, turned into exact cents below (or the column is refused)
        numbers = pa.array(cells, pa.float64())  # float-ok
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return _exact(convert, kind, numbers.to_numpy(zero_copy_only=False), bool(empty))


def _exact(convert: Callable[[Any], Any], kind: pa.DataType, floats: np.ndarray, empty: bool) -> pa.Array | None:
    """Cells' doubles (NaN where empty) as exact cents or whole numbers, or None where some cell needs a
    look of its own."""  # float-ok: cells' doubles, never kept
    missing = np.isnan(floats)
    floats = np.where(missing, 0.0, floats)
    if convert is _cents:
        # A cell's float is the nearest double to its decimal; where that decimal has two decimals and
        # fewer than 15 digits, cents*100 rounds back to the very same double (Excel's 15 digits, as
        # `excel_number` takes them). Anything else is looked at cell by cell.
        whole = np.round(floats * 100)
        if not (np.all(np.abs(whole) < 1e15) and np.all(whole / 100 == floats)):
            return None
    elif convert is _whole:
        whole = floats
        if not (np.all(np.abs(whole) < 2**53) and np.all(np.floor(whole) == whole)):
            return None
    else:
        return None
    return pa.array(whole.astype(np.int64), kind, mask=missing if empty else None)


def _complete_lines(columns: dict[str, pa.Array], rows: np.ndarray, where: str) -> None:
    """Fill what a hand-made journal may lack, as the canonical CSV does: without an entry column
    lines with the same date and doc form one entry; without line numbers lines are numbered in
    sheet order; lines without a recorded origin (added in Excel) come from this sheet and row."""
    count = len(rows)
    if "entry" not in columns:
        docs = columns["doc"].to_pylist() if "doc" in columns else [""] * count
        keys: dict[tuple[Any, str], int] = {}
        entries = [str(keys.setdefault(k, len(keys) + 1)) for k in zip(columns["date"].to_pylist(), docs, strict=True)]
        columns["entry"] = pa.array(entries, pa.string())
    if "line" not in columns:
        seen: dict[str, int] = {}
        numbers = []
        for entry in columns["entry"].to_pylist():
            seen[entry] = seen.get(entry, 0) + 1
            numbers.append(seen[entry])
        columns["line"] = pa.array(numbers, pa.int32())
    files = columns.get("source_file", pa.array([""] * count, pa.string()))
    origin = columns.get("source_row", pa.nulls(count, pa.int64()))
    unknown = pc.equal(files, "")
    if pc.any(unknown).as_py():
        columns["source_file"] = pc.if_else(unknown, where, files)
        columns["source_row"] = pc.if_else(unknown, pa.array(rows, pa.int64()), pc.cast(origin, pa.int64()))
    else:
        columns["source_file"], columns["source_row"] = files, origin


def _company(book: CalamineWorkbook, file: str, problems: list[Problem]) -> Company:
    from migrator.writers.xlsx import COMPANY_FIELDS, COMPANY_SHEET, FISCAL_YEAR, SOURCE_FILE

    if COMPANY_SHEET not in book.sheet_names:
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
                    raise ParseError(N_("a fiscal year needs a start and an end date"))
                years.append(FiscalYear(start, end))
            else:
                problems.append(
                    Problem("warning", N_("unknown field {row!r}; ignored").format(row=row[0]), where, number)
                )
        except ParseError as exc:
            problems.append(Problem("error", str(exc), where, number))
    if not values.get("base_currency"):
        values.pop("base_currency", None)
    return Company(**values, fiscal_years=tuple(years))


def _shown_trial_balance(book: CalamineWorkbook, file: str, problems: list[Problem]) -> dict[str, int] | None:
    """Balances the Trial balance sheet shows, per account (None without the sheet)."""
    from migrator.writers.xlsx import TRIAL_BALANCE_SHEET

    if TRIAL_BALANCE_SHEET not in book.sheet_names:
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
            problems.append(Problem("warning", N_("balance: {exc}").format(exc=exc), where, number))
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
                N_("account {code}: the sheet shows {format_cents} but the journal adds up to {format_cents_b}; the journal is what was read").format(code=code, format_cents=money.format_cents(shown.get(code, 0)), format_cents_b=money.format_cents(actual.get(code, 0))),
                where,
            ))  # fmt: skip
    return out


FORMAT = XlsxReader


def _opened(source: Source) -> Any:
    """The workbook file, opened for openpyxl: by handle, since openpyxl refuses a file name without an
    Excel extension, and `-o books` (no extension) is a workbook all the same."""
    return source.path.open("rb")
