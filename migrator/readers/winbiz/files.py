"""Loading Winbiz tables from each route into `Raw`: DBF, Visual FoxPro XML, Excel (.xls, .xlsx), CSV.

Exports (Outils → Importer, exporter → Exporter, FORMATS.md): CSV with ``;`` and ``"``, dd.mm.yyyy,
Windows-1252 by default; Excel with typed cells; XML with root ``<VFPData>``, one element per row
and the fields either as attributes or as child elements. The import CSV (``Date;Voucher;Text;
Cpt_debit;…``) is recognised too and its fields renamed to the journal's.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import dbf
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Problem
from migrator.parsing import MAX_FIELD, ParseError, codec_name, csv_records, decimal_text, excel_number
from migrator.readers.winbiz.raw import Raw, normalise

EXPORT_SUFFIXES = (".xml", ".csv", ".txt", ".xls", ".xlsx")
IMPORT_NAMES = {
    "voucher": "piece", "text": "libelle", "me_cours": "ecr_cours", "me_mnt": "ecr_monmnt",
    "tva_taux": "ecr_tvatx", "tva_mnt": "ecr_tvamnt", "tva_cpt": "ecr_tvadc", "tva_typ": "ecr_tvatyp",
    "tva_meth": "ecr_tvabn",
}  # fmt: skip
IMPORT_HEADER = ("Date", "Voucher", "Text", "Cpt_debit", "Cpt_credit", "Montant", "Journal", "ME_cours", "ME_mnt",
                 "TVA_taux", "TVA_mnt", "TVA_cpt", "TVA_typ", "TVA_meth", "TVA_soum", "Ecr_monnai", "Ecr_monqte",
                 "Comment", "Ecr_ana", "Ecr_vtcode")  # fmt: skip


def kind_of(names: set[str]) -> str | None:
    """What a table with these (normalised) field names is: import, journal, chart, or None."""
    if {"cpt_debit", "cpt_credit", "montant"} <= names:
        return "import" if "voucher" in names or "tva_typ" in names else "journal"
    if "numero" in names and ({"no_class", "classe", "class"} & names):
        return "chart"
    return None


BUSINESS_KINDS = ("addresses", "articles", "documents", "lines")


def business_kind(names: set[str]) -> str | None:
    """What a table of addresses, articles, documents or document lines is (by its ``ad_``, ``ar_``,
    ``do_``, ``dl_`` key fields, FORMATS.md), or None."""
    if "ad_numero" in names or "ad_code" in names:
        return "addresses"
    if "ar_code" in names or "ar_numero" in names:
        return "articles"
    if "do_numero" in names:
        return "documents"
    if "dl_numero" in names or "dl_nodoc" in names:
        return "lines"
    return None


def find(folder: Path, name: str) -> Path | None:
    """The file `name` in `folder`, whatever its case (Winbiz on Windows writes ``ECRITURE.DBF``)."""
    wanted = name.lower()
    try:
        return next((p for p in sorted(folder.iterdir()) if p.is_file() and p.name.lower() == wanted), None)
    except OSError:
        return None


def load_dbf(path: Path, label: str, encoding: str | None = None) -> Raw:
    table = dbf.read(path, label, encoding)
    raw = Raw.build(label, table.columns, table.records)
    if table.deleted:
        raw.problems.append(
            Problem("info", N_("{deleted} deleted record(s) skipped").format(deleted=table.deleted), label)
        )
    if table.truncated is not None:
        raw.problems.append(Problem("error", N_("the file is cut off: the header counts {header_count} records but the file holds {truncated} whole ones; record {truncated_b} and the following are missing; the complete records before it were read").format(header_count=table.header_count, truncated=table.truncated - 1, truncated_b=table.truncated),
                                    label, table.truncated))  # fmt: skip
    raw.problems += [Problem("warning", note, label) for note in table.notes]
    return raw


def dbf_field_names(path: Path) -> set[str]:
    """Normalised field names of a DBF file, from its header only (for sniffing)."""
    with path.open("rb") as handle:
        head = handle.read(32 * 256)
    names = set()
    for position in range(32, len(head) - 31, 32):
        if head[position] == 0x0D:
            break
        names.add(normalise(head[position : position + 11].split(b"\0")[0].decode("cp1252", errors="replace")))
    return names


def _columns(records: list[dict[str, str]]) -> dict[str, pa.Array]:
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return {name: pa.array([r.get(name, "") for r in records], pa.string()) for name in names}


def load_xml(path: Path, label: str) -> Raw:
    from migrator import xmlsafe  # lxml only where an XML export is read

    root = xmlsafe.parse(path, label)
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag.split("}")[-1].lower() != "vfpdata":
        raise SourceError(
            N_("not a Winbiz XML export: the root element is <{tag}>, expected <VFPData>").format(tag=tag), label
        )
    records: list[dict[str, str]] = []
    rows: list[int] = []
    for element in root:
        if not isinstance(element.tag, str) or "}" in element.tag:  # comments, inline xsd:schema
            continue
        values = {str(k): str(v) for k, v in element.attrib.items()}
        for child in element:
            if isinstance(child.tag, str):
                values[child.tag] = child.text or ""
        records.append(values)
        line = element.sourceline
        rows.append(line if isinstance(line, int) else len(rows) + 1)
    return Raw.build(label, _columns(records), np.array(rows, dtype=np.int64))


def cell_text(value: Any) -> str:
    """A typed spreadsheet cell as the text the other routes hold (exact numbers, ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return decimal_text(excel_number(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def excel_rows(path: Path, label: str, limit: int | None = None) -> list[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet of an .xls or .xlsx file."""
    out: list[tuple[int, list[str]]] = []
    try:
        if path.suffix.lower() == ".xls":
            status = path.stat()
            rows = xls_rows(path.resolve(), status.st_size, status.st_mtime_ns)
            return [(number, list(cells)) for number, cells in rows[:limit]]
        import openpyxl

        from migrator.sources import check_workbook

        check_workbook(path, label)
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                out.append((number, [cell_text(v) for v in values]))
                if limit is not None and number >= limit:
                    break
        finally:
            book.close()
    except SourceError:
        raise
    except Exception as exc:  # xlrd and openpyxl raise many kinds on damaged files
        raise SourceError(
            N_("not a readable Excel file ({name}: {exc})").format(name=type(exc).__name__, exc=exc), label
        ) from None
    return out


@functools.lru_cache(maxsize=2)
def xls_rows(path: Path, size: int, mtime_ns: int) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """(row number, cells as text) of the first sheet of a legacy .xls file, opened once per version of it.

    Sniffing and reading both ask for the rows; `size` and `mtime_ns` key the cache so a changed file
    is opened again. xlrd prints its warnings (odd file sizes, missing CODEPAGE records) to
    ``sys.stdout`` unless given a log file, which would break ``--json`` output: they go to a sink.
    """
    import xlrd

    book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
    try:
        sheet = book.sheet_by_index(0)
        out = []
        for r in range(sheet.nrows):
            cells = []
            for cell in sheet.row(r):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    cells.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode).date().isoformat())
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    cells.append("true" if cell.value else "false")
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    cells.append("")
                else:
                    cells.append(cell_text(cell.value))
            out.append((r + 1, tuple(cells)))
        return tuple(out)
    finally:
        book.release_resources()


def _table(rows: list[tuple[int, list[str]]], label: str) -> Raw:
    """A `Raw` from rows whose first non-empty row is the header."""
    rows = [(n, cells) for n, cells in rows if "".join(cells).strip()]  # a cell with more than blanks
    if not rows:
        raise SourceError(N_("the file is empty: expected a header row with the Winbiz field names"), label)
    header = rows[0][1]
    names = [h.strip() for h in header]
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    problems = []
    kept: list[list[str]] = []
    numbers: list[int] = []
    for number, cells in rows[1:]:
        if len(cells) != width:
            if len(cells) > width and "".join(cells[width:]).strip():
                problems.append(Problem("error", N_("{count} fields where the header has {width}; row left out").format(count=len(cells), width=width),
                                        label, number))  # fmt: skip
                continue
            cells = (cells + [""] * (width - len(cells)))[:width]
        kept.append(cells)
        numbers.append(number)
    last = {name: i for i, name in enumerate(names[:width]) if name}  # a repeated name: its last field
    if kept:
        fields = list(zip(*kept, strict=True))
        columns = {
            name: pa.array(fields[last[name]], pa.string()) for name in dict.fromkeys(n for n in names[:width] if n)
        }
    else:
        columns = {n: pa.array([], pa.string()) for n in names[:width]}
    raw = Raw.build(label, columns, np.array(numbers, dtype=np.int64))
    raw.problems += problems
    return raw


def text_encoding(data: bytes, encoding: str | None) -> str:
    """The encoding of an export: the one given, UTF-8 when the bytes are valid UTF-8, else Windows-1252
    (Winbiz's default for exports, FORMATS.md)."""
    if encoding:
        return encoding
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def csv_rows(data: bytes, encoding: str, label: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of a delimited export, the separator taken from the header line."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            N_("not valid {encoding} at byte {start}; use --encoding").format(encoding=encoding, start=exc.start), label
        ) from None
    first = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=first.count)
    out = []
    start = 1
    try:
        for end, cells in csv_records(text, separator, label):
            out.append((start, cells))
            start = end + 1
    except ParseError as exc:  # its message names the file and line already
        raise SourceError(str(exc)) from None
    return out


_NOT_BLANK = "[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character `str.strip` keeps (`str.isspace` is false for it)."""


def _csv_table(data: bytes, encoding: str, label: str) -> Raw:
    """`_table` of `csv_rows`, a column at a time for a file without quotes in which every row has as
    many fields as the header (lines split at the separator are then exactly what `csv.reader` reads)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return _table(csv_rows(data, encoding, label), label)  # which reports it
    if '"' in text or "\0" in text or text.count("\r") != text.count("\r\n"):
        return _table(csv_rows(data, encoding, label), label)
    separator = max((";", ",", "\t"), key=text.split("\n", 1)[0].count)
    # the lines as one Arrow column, split by Arrow (no Python string per line)
    column = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    del text
    if len(column) and column[len(column) - 1].as_py() == "":
        column = column.slice(0, len(column) - 1)  # the line end of the last row
    if (pc.sum(pc.binary_length(column)).as_py() or 0) >= 2**31 - 1:  # past a string column: the old way
        return _table(csv_rows(data, encoding, label), label)
    column = pc.utf8_rtrim(column.cast(pa.string()), "\r")  # CR only ever comes before LF (checked above)
    filled = np.flatnonzero(pc.match_substring_regex(pc.replace_substring(column, separator, ""), _NOT_BLANK)
                            .to_numpy(zero_copy_only=False))  # fmt: skip
    if not len(filled) or pc.max(pc.utf8_length(column)).as_py() > MAX_FIELD:
        return _table(csv_rows(data, encoding, label), label)
    names = [h.strip() for h in column[int(filled[0])].as_py().split(separator)]
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    body = filled[1:]
    cells = pc.split_pattern(pc.take(column, pa.array(body)), separator)
    if not width or width != len(names) or not pc.all(pc.equal(pc.list_value_length(cells), width)).as_py():
        return _table(csv_rows(data, encoding, label), label)
    last = {name: i for i, name in enumerate(names) if name}  # a repeated name: its last field
    columns = {name: pc.list_element(cells, last[name]) for name in dict.fromkeys(n for n in names if n)}
    return Raw.build(label, columns, (body + 1).astype(np.int64))


def header_names(path: Path) -> set[str]:
    """Normalised names of the header of an export file (cheap: for sniffing)."""
    suffix = path.suffix.lower()
    if suffix in (".xls", ".xlsx"):
        rows = excel_rows(path, str(path), limit=5)
    else:
        with path.open("rb") as handle:
            head = handle.read(8192)
        rows = csv_rows(head.split(b"\n", 1)[0], text_encoding(head.split(b"\n", 1)[0], None), str(path))
    for _, cells in rows:
        if any(c.strip() for c in cells):
            return {normalise(c) for c in cells if c.strip()}
    return set()


def xml_field_names(head: bytes) -> set[str]:
    """Normalised attribute and element names seen in the first bytes of an XML export."""
    text = head.decode("cp1252", errors="replace")
    return {normalise(n) for n in re.findall(r"[<\s]([^\s=<>/\"']+)(?:=|>)", text)}


def load_export(path: Path, label: str, encoding: str | None = None) -> tuple[Raw, str, str]:
    """An export file as (`Raw`, kind, encoding); import-format names are renamed to the journal's."""
    suffix = path.suffix.lower()
    if suffix == ".xml":
        with path.open("rb") as handle:
            declared = re.search(rb"encoding=[\"']([\w.-]+)", handle.read(200))
        raw, used = load_xml(path, label), codec_name(declared.group(1).decode("ascii")) if declared else "utf-8"
    elif suffix in (".xls", ".xlsx"):
        raw, used = _table(excel_rows(path, label), label), ""
    else:
        data = path.read_bytes()
        used = text_encoding(data, encoding)
        raw = _csv_table(data, used, label)
    kind = kind_of(set(raw.columns)) or business_kind(set(raw.columns))
    if kind is None:
        raise SourceError(
            N_(
                "not a Winbiz export: the header has neither the journal fields (cpt_débit, cpt_crédit, montant), "
                "the chart fields (no_class, numero), nor address, article, document or document line fields "
                "(ad_numero, ar_code, do_numero, dl_numero)"
            ),
            label,
        )
    if kind == "import":
        raw.columns = {IMPORT_NAMES.get(k, k): v for k, v in raw.columns.items()}
        raw.names = {IMPORT_NAMES.get(k, k): v for k, v in raw.names.items()}
        if "ecr_monnai" in raw.columns and not pc.any(pc.not_equal(raw.text("ecr_monnai"), "")).as_py():
            # an empty Ecr_monnai (field 16) names no currency: rate and foreign amount go to the extras
            del raw.columns["ecr_monnai"]
            raw.names.pop("ecr_monnai", None)
            raw._texts.pop("ecr_monnai", None)
    return raw, kind, "utf-8" if used == "utf-8-sig" else used
