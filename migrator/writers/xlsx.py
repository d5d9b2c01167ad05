"""Excel workbook an accountant opens: company, accounts, journal, trial balance, VAT, partners, open items.

One sheet per canonical table, headed by the canonical column names, so the workbook reads back
(`migrator.readers.xlsx`) to the same ledger. Amounts are real numbers whose XML text is the exact
decimal (``1234.56``, never a float's ``1234.559999…``), shown with a number format; dates are
dates; every sheet has a frozen header row, an autofilter and column widths fitted to its values.
Text that a spreadsheet would run as a formula (``= + - @``, tab, CR at the start) is stored as a
string with Excel's quote prefix, so it shows and reads back exactly as written and never runs.

The sheets' XML is built from whole Arrow columns, a batch of rows at a time (one string per cell
made by Arrow's string kernels, one string per row joined from them), and streamed into the zip:
no Python object per cell, and memory bounded by the batch. A table longer than an Excel sheet
holds (1,048,576 rows, the header included: Excel specifications and limits) goes on several
sheets, "Journal", "Journal (2)", …, each with the header row; the reader joins them back.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import money
from migrator.ahead import ahead
from migrator.i18n import N_
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
MAX_ROWS = 1_048_576
"""Rows of an Excel sheet, the header row included (Excel specifications and limits)."""
MAX_WIDTH = 60
# Characters XML 1.0 cannot carry at all (lxml refuses them; Excel reports the file as damaged).
XML_ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_XML_ILLEGAL_RE = re.compile(XML_ILLEGAL)
BATCH = 32_768
"""Rows turned into XML at a time."""


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
    Sheet("items", "Items", ("sale_price", "purchase_price")),
    Sheet("documents", "Documents", ("net", "vat", "gross", "paid")),
    Sheet("document_lines", "Document lines", ("unit_price", "amount")),
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


def part_titles(title: str, rows: int) -> list[str]:
    """Titles of the sheets that hold `rows` rows of the sheet called `title`: the title itself,
    then "title (2)", "title (3)" … past Excel's rows per sheet."""
    parts = max(1, -(-rows // (MAX_ROWS - 1)))
    return [title, *(f"{title} ({n})" for n in range(2, parts + 1))]


# --------------------------------------------------------------------------------------- package

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLE_DATE, _STYLE_AMOUNT, _STYLE_QUOTED = 1, 2, 3
_STYLES = (
    f'{_DECLARATION}<styleSheet xmlns="{_MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
    '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill '
    'patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/>'
    '</border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
"""Cell styles: 0 general, 1 date (dd.mm.yyyy), 2 amount (`AMOUNT_FORMAT`, ``#,##0.00``, is format 4
of those ECMA-376 builds in, 18.8.30), 3 text with the quote prefix."""


class _Package:
    """The workbook's zip: sheets added one by one, the parts that list them written at the end."""

    def __init__(self, target: Path) -> None:
        # Level 1: the sheets are long runs of similar XML; level 6 (zlib's default) took 3.8 times as long
        # (4.1 s against 1.1 s for the 150 MB journal of 100k entries) for a file a quarter smaller.
        self.zip = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets: list[tuple[str, str | None]] = []  # title, autofilter range

    def sheet(self, title: str, autofilter: str | None) -> IO[bytes]:
        self.sheets.append((title, autofilter))
        return self.zip.open(f"xl/worksheets/sheet{len(self.sheets)}.xml", "w", force_zip64=True)

    def close(self) -> None:
        sheets = "".join(
            f'<sheet name="{_escape_attribute(title)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, (title, _) in enumerate(self.sheets, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
            f"{_escape(_quoted_title(title))}!{_absolute(ref)}</definedName>"
            for n, (title, ref) in enumerate(self.sheets)
            if ref
        )
        self.zip.writestr(
            "xl/workbook.xml",
            f'{_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/><bookViews><workbookView '
            f'activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="/xl/worksheets/sheet{n}.xml"/>'
            for n in range(1, len(self.sheets) + 1)
        )
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_DECLARATION}<Relationships xmlns="{_PKG_REL}">{rels}<Relationship Id="rId{len(self.sheets) + 1}" '
            f'Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        self.zip.writestr("xl/styles.xml", _STYLES)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT}.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(self.sheets) + 1)
        )
        self.zip.writestr(
            "[Content_Types].xml",
            f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.spreadsheetml.styles+xml"/>'
            f'{overrides}<Override PartName="/docProps/app.xml" ContentType="{_CT}.extended-properties+xml"/></Types>',
        )
        self.zip.writestr(
            "_rels/.rels",
            f'{_DECLARATION}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
            'Target="xl/workbook.xml"/><Relationship Id="rId2" Type="{_REL}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'.replace("{_REL}", _REL),
        )
        self.zip.writestr(
            "docProps/app.xml",
            f'{_DECLARATION}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>migrator</Application></Properties>',
        )
        self.zip.close()


def _quoted_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    return re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref)


def column_letter(index: int) -> str:
    """The letters of the 1-based column `index` (1 → A, 27 → AA)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


# ---------------------------------------------------------------------------------------- writer


class XlsxWriter:
    name = "xlsx"
    extension = ".xlsx"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        problems: list[Problem] = []
        package = _Package(target)
        try:
            _company_sheet(package, ledger, problems)
            for sheet in SHEETS:
                data: pa.Table = getattr(ledger, sheet.table)
                if data.num_rows or sheet is JOURNAL:  # the journal stays, even empty: it marks the format
                    _table_sheet(package, sheet, data, problems)
                if sheet is JOURNAL and data.num_rows:
                    _table_sheet(package, *_trial_balance(ledger), problems)
            _source_sheets(package, ledger, problems)
        finally:
            package.close()
        extras = sum(t.num_columns - ("source_row" in t.column_names) for t in ledger.extras.values())
        problems += lost(
            N_("unplaced source columns"), extras, N_("left out (the workbook holds canonical columns only)")
        )
        return problems


SOURCE_INDEX = "Source tables"
"""The sheet naming each whole source table (`Ledger.source_tables`), its sheet and its column types."""
SOURCE_TYPES = {"string": pa.string(), "int64": pa.int64(), "date32[day]": pa.date32(), "bool": pa.bool_()}
"""Column types a source table sheet holds as they are; others are written as text (and said so)."""


def source_title(number: int) -> str:
    return f"Source {number}"


def _source_sheets(package: _Package, ledger: Ledger, problems: list[Problem]) -> None:
    """Each source table on a sheet of its own ("Source 1", …), listed with its name and column types on
    the "Source tables" sheet, so that the reader brings them back as they were."""
    if not ledger.source_tables:
        return
    names, titles, types = [], [], []
    tables = []
    for number, (name, data) in enumerate(ledger.source_tables.items(), start=1):
        kinds = []
        for index, fld in enumerate(data.schema):
            if str(fld.type) not in SOURCE_TYPES:
                problems.append(
                    Problem(
                        "info",
                        N_("source table {name}, column {name_b}: type {type} kept as text").format(
                            name=name, name_b=fld.name, type=fld.type
                        ),
                    )
                )
                data = data.set_column(index, fld.name, data.column(index).cast(pa.string()))
            kinds.append(f"{fld.name}:{data.schema.field(index).type}")
        names.append(name)
        titles.append(source_title(number))
        types.append("\n".join(kinds))
        tables.append(data)
    index = pa.table({"name": names, "sheet": titles, "columns": types})
    _table_sheet(package, Sheet("source_tables", SOURCE_INDEX), index, problems)
    for title, data in zip(titles, tables, strict=True):
        _table_sheet(package, Sheet("source", title), data, problems)


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


def _head(header: list[str], widths: list[int], rows: int, shown: list[str] | None = None) -> str:
    """A sheet's XML up to its first data row: size, frozen header, column widths, and the header
    row (`shown`, else the column names)."""
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(max(len(name), width) + 2, MAX_WIDTH)}" customWidth="1"/>'
        for i, (name, width) in enumerate(zip(header, widths, strict=True), start=1)
    )
    names = "".join(
        f'<c r="{column_letter(i)}1" t="inlineStr"><is><t>{_escape(name)}</t></is></c>'
        for i, name in enumerate(header if shown is None else shown, start=1)
        if name
    )
    return (
        f'{_DECLARATION}<worksheet xmlns="{_MAIN}"><dimension ref="A1:{column_letter(len(header))}{rows + 1}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData><row r="1">{names}</row>'
    )


def _tail(autofilter: str | None) -> str:
    ref = f'<autoFilter ref="{autofilter}"/>' if autofilter else ""
    return f'</sheetData>{ref}<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>' \
        "</worksheet>"  # fmt: skip


def _company_sheet(package: _Package, ledger: Ledger, problems: list[Problem]) -> None:
    company = ledger.company
    rows: list[list[Any]] = [[label, getattr(company, field)] for label, field in COMPANY_FIELDS]
    rows += [[FISCAL_YEAR, year.start, year.end] for year in company.fiscal_years]
    rows += [[SOURCE_FILE, f.path, f.sha256, f.size, f.encoding, f.format] for f in company.source_files]
    used = max(len(row) for row in rows)
    widths = [max(len(str(row[i])) if i < len(row) else 0 for row in rows) for i in range(used)]
    header = ["field", "value", *[""] * (used - 2)]
    head = _head(header, widths, len(rows), shown=["Field", "Value"])
    body = []
    for number, row in enumerate(rows, start=2):
        cells = "".join(_cell(f"{column_letter(i)}{number}", value, problems) for i, value in enumerate(row, start=1))
        body.append(f'<row r="{number}">{cells}</row>')
    with package.sheet(COMPANY_SHEET, None) as out:
        out.write((head + "".join(body) + _tail(None)).encode("utf-8"))


def _cell(ref: str, value: Any, problems: list[Problem]) -> str:
    """One cell of the Company sheet (a few rows: made one by one)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{_STYLE_DATE}" t="n"><v>{_serial(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}" t="n"><v>{value}</v></c>'
    text = str(value)
    if _XML_ILLEGAL_RE.search(text):
        text = _XML_ILLEGAL_RE.sub("", text)
        problems.append(
            Problem(
                "warning",
                N_("sheet {company_sheet}: control characters a workbook cannot hold were removed").format(
                    company_sheet=COMPANY_SHEET
                ),
            )
        )
    if not text:
        return ""
    style = f' s="{_STYLE_QUOTED}"' if text.startswith(FORMULA_STARTS) else ""
    return f'<c r="{ref}"{style} t="inlineStr">{_inline(text)}</c>'


def _inline(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{_escape(text)}</t></is>"


def _serial(day: dt.date) -> int:
    """Excel's day number (1900 system, with its 29 February 1900 that never was)."""
    days = (day - dt.date(1899, 12, 30)).days
    return days - 1 if 0 < days <= 60 else days


def _table_sheet(package: _Package, sheet: Sheet, data: pa.Table, problems: list[Problem]) -> None:
    names = list(data.column_names)
    columns = [_column(sheet, i, name, data.column(name), problems) for i, name in enumerate(names, start=1)]
    widths = [c.width for c in columns]
    titles = part_titles(sheet.title, data.num_rows)
    if len(titles) > 1:
        problems.append(Problem(
            "warning",
            N_("sheet {title}: {num_rows:,} rows are more than an Excel sheet holds ({max_rows:,} under the header); written on {count} sheets: {titles}").format(title=sheet.title, num_rows=data.num_rows, max_rows=MAX_ROWS - 1, count=len(titles), titles=', '.join(titles)),
        ))  # fmt: skip
    per_sheet = MAX_ROWS - 1
    for n, title in enumerate(titles):
        start, stop = n * per_sheet, min(data.num_rows, (n + 1) * per_sheet)
        last = f"{column_letter(len(names))}{stop - start + 1}"
        with package.sheet(title, f"A1:{last}") as out:
            out.write(_head(names, widths, stop - start).encode("utf-8"))
            batches = (
                _rows_xml(columns, lo, min(stop, lo + BATCH), lo - start + 2) for lo in range(start, stop, BATCH)
            )
            for chunk in ahead(batches, name="xlsx-rows"):  # the next rows made while these are compressed
                out.write(chunk)
            out.write(_tail(f"A1:{last}").encode("utf-8"))


_NULL = pa.scalar(None, pa.string())


class _Column:
    """One column's cells as XML, made from the whole Arrow column a batch of rows at a time.

    `parts` are the pieces of each cell's XML around its reference's row number: the cell is
    ``<c r="E`` + row + ``" t="inlineStr"><is><t>`` + text + ``</t></is></c>``; an empty value (null)
    is no cell at all."""

    def __init__(self, letter: str, values: pa.ChunkedArray, width: int, middle: str | pa.ChunkedArray,
                 end: str) -> None:  # fmt: skip
        self.letter = letter
        self.values = values
        self.width = width
        self.middle = middle
        self.end = end

    def cells(self, lo: int, hi: int, rows: pa.Array) -> pa.Array:
        values = self.values.slice(lo, hi - lo)
        middle = self.middle if isinstance(self.middle, str) else self.middle.slice(lo, hi - lo)
        return pc.binary_join_element_wise(f'<c r="{self.letter}', rows, middle, values, self.end, "")


def _rows_xml(columns: list[_Column], lo: int, hi: int, first: int) -> memoryview:
    """The rows lo..hi (of the table) as sheet XML, the first numbered `first` in its sheet: the
    bytes of one Arrow string array of rows, taken straight from its data buffer."""
    rows = pc.cast(pa.array(np.arange(first, first + hi - lo, dtype=np.int64)), pa.string())
    cells = [c.cells(lo, hi, rows) for c in columns]
    joined = pc.binary_join_element_wise('<row r="', rows, '">', *cells, "</row>", "", null_handling="skip")
    if isinstance(joined, pa.ChunkedArray):
        joined = pa.concat_arrays(joined.chunks)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    start, stop = int(offsets[joined.offset]), int(offsets[joined.offset + len(joined)])
    return memoryview(joined.buffers()[2])[start:stop]


def _column(sheet: Sheet, index: int, name: str, column: pa.ChunkedArray, problems: list[Problem]) -> _Column:
    letter = column_letter(index)
    kind = column.type
    if name in sheet.money:
        if len(column) and (pc.max(pc.abs(column)).as_py() or 0) >= 10**15:
            problems.append(Problem("warning", N_("sheet {title}, column {name}: amounts of more than 15 digits; Excel keeps only 15 significant digits of a number").format(title=sheet.title, name=name)))  # fmt: skip
        text = money.format_cents_array(column)
        width = _max_length(text) * 4 // 3  # room for thousands separators
        return _Column(letter, _chunked(text), width, f'" s="{_STYLE_AMOUNT}" t="n"><v>', "</v></c>")
    if kind == pa.date32():
        days = pc.cast(pc.cast(column, pa.int32()), pa.int64())
        serial = pc.add(days, 25569)  # 1970-01-01 is day 25,569 of Excel's 1900 system
        early = pc.and_(pc.greater(serial, 0), pc.less_equal(serial, 60))  # before Excel's 29 February 1900
        serial = pc.if_else(early, pc.subtract(serial, 1), serial)
        return _Column(letter, _chunked(pc.cast(serial, pa.string())), 10, f'" s="{_STYLE_DATE}" t="n"><v>', "</v></c>")
    if kind == pa.bool_():
        values = pc.if_else(column, "1", "0")
        if (sheet.table, name) in _FLAGS_WRITTEN_WHEN_TRUE:
            values = pc.if_else(column, values, _NULL)
        return _Column(letter, _chunked(values), 5, '" t="b"><v>', "</v></c>")
    if pa.types.is_integer(kind):
        width = len(str(pc.max(column).as_py() or "")) if len(column) else 0
        return _Column(letter, _chunked(pc.cast(column, pa.string())), width, '" t="n"><v>', "</v></c>")
    if kind != pa.string():  # anything else a table may hold (large text, decimals…) goes as its text
        column = pc.cast(column, pa.string())
    column = _clean(column, N_("sheet {title}, column {name}").format(title=sheet.title, name=name), problems)
    width = _max_length(column)
    escaped = column
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if pc.any(pc.match_substring(escaped, char)).as_py():
            escaped = pc.replace_substring(escaped, char, entity)
    escaped = pc.if_else(pc.equal(column, ""), _NULL, escaped)
    plain, quoted = '" t="inlineStr"><is><t>', f'" s="{_STYLE_QUOTED}" t="inlineStr"><is><t>'
    spaced = pc.match_substring_regex(column, r"^\s|\s$")
    risky = pc.match_substring_regex(column, r"^[=+\-@\t\r]")
    if not pc.any(spaced).as_py() and not pc.any(risky).as_py():
        return _Column(letter, _chunked(escaped), width, plain, "</t></is></c>")
    space = pc.if_else(spaced, ' xml:space="preserve">', ">")
    style = pc.if_else(risky, quoted[: -len(' t="inlineStr"><is><t>')], '"')
    middle = pc.binary_join_element_wise(style, ' t="inlineStr"><is><t', space, "")
    return _Column(letter, _chunked(escaped), width, _chunked(middle), "</t></is></c>")


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


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
        problems.append(
            Problem(
                "warning",
                N_("{where}: {count} texts had control characters a workbook cannot hold").format(
                    where=where, count=count
                ),
            )
        )
    long = pc.greater(pc.utf8_length(column), MAX_CELL_TEXT)
    count = pc.sum(long).as_py() or 0
    if count:
        column = pc.if_else(long, pc.utf8_slice_codeunits(column, 0, MAX_CELL_TEXT), column)
        problems.append(
            Problem(
                "warning",
                N_("{where}: {count} texts longer than {max_cell_text} characters were cut").format(
                    where=where, count=count, max_cell_text=MAX_CELL_TEXT
                ),
            )
        )
    return column


FORMAT = XlsxWriter
