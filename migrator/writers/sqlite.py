"""SQLite archive: the whole canonical ledger in one file any SQL tool can read, losslessly.

One table per canonical table (``accounts``, ``groups``, ``vat_codes``, ``lines``, ``partners``,
``open_items``, ``items``, ``documents``, ``document_lines``) with the model's column names, plus
``company``, ``fiscal_years``, ``source_files`` (each input's SHA-256), ``problems``,
``extras_index`` with one ``extra_N`` table per extras table, ``source_tables_index`` with one
``source_N`` table per whole source table the ledger keeps (a Winbiz data folder's vehicles and
other tables, `Ledger.source_tables`; their column types in ``source_tables_columns``), ``meta``
(schema version, what wrote the file) and ``schema_doc`` (one row per column: table, column, SQL
type, meaning). Every ``CREATE TABLE`` also carries the
meanings as SQL comments, so ``.schema`` in the sqlite3 shell documents itself.

Conventions: amounts are INTEGER minor units (cents, debit positive), dates ISO ``yyyy-mm-dd``
TEXT, flags INTEGER 0/1, rates decimal TEXT; each table has ``position`` (1-based row order).
Only the standard library's `sqlite3` is used; no extension, no STRICT tables (SQLite ≥ 3.8 reads it).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

import migrator
from migrator.i18n import N_
from migrator.model import SCHEMAS, Ledger, Problem

SCHEMA_VERSION = "1"
KIND = "migrator-ledger-archive"
BATCH = 50_000

COMPANY = (
    ("name", "TEXT", "company name"),
    ("base_currency", "TEXT", "ISO currency of all `amount` columns"),
    ("vat_number", "TEXT", "VAT / UID number"),
    ("address", "TEXT", "postal address"),
    ("source_system", "TEXT", "program the books came from"),
    ("source_version", "TEXT", "version of that program"),
)
FISCAL_YEARS = (
    ("position", "INTEGER", "order of the year"),
    ("start", "TEXT", "first day, yyyy-mm-dd"),
    ("end", "TEXT", "last day, yyyy-mm-dd"),
)
SOURCE_FILES = (
    ("position", "INTEGER", "order of the file"),
    ("path", "TEXT", "file name as the user gave it"),
    ("sha256", "TEXT", "SHA-256 of the file's bytes, hex"),
    ("size", "INTEGER", "size in bytes"),
    ("encoding", "TEXT", "text encoding it was read with"),
    ("format", "TEXT", "migrator format it was read as"),
)
PROBLEMS = (
    ("position", "INTEGER", "order of the problem"),
    ("severity", "TEXT", "error, warning or info"),
    ("message", "TEXT", "what was found"),
    ("file", "TEXT", "file it was found in"),
    ("row", "INTEGER", "1-based row or record in that file; NULL if none"),
)
META = (("key", "TEXT", "setting"), ("value", "TEXT", "its value"))
EXTRAS_INDEX = (
    ("position", "INTEGER", "order of the extras table"),
    ("name", "TEXT", "source table the columns came from"),
    ("table_name", "TEXT", "SQL table holding them (extra_N)"),
)
SOURCE_TABLES_INDEX = (
    ("position", "INTEGER", "order of the source table"),
    ("name", "TEXT", "the table's path in the source (e.g. vehicule.dbf)"),
    ("table_name", "TEXT", "SQL table holding it (source_N)"),
)
EXTRAS_COLUMNS = (
    ("table_name", "TEXT", "SQL table (extra_N)"),
    ("column_position", "INTEGER", "column order within the table"),
    ("column_name", "TEXT", "column name"),
    ("arrow_type", "TEXT", "Arrow type the column is read back as"),
)
SCHEMA_DOC = (
    ("table_name", "TEXT", "table"),
    ("column_name", "TEXT", "column"),
    ("sql_type", "TEXT", "SQLite type"),
    ("doc", "TEXT", "meaning"),
)

# Arrow types an extras column may have; anything else is stored as text (and said so).
EXTRA_TYPES: dict[str, pa.DataType] = {
    str(t): t
    for t in (pa.string(), pa.large_string(), pa.bool_(), pa.int8(), pa.int16(), pa.int32(), pa.int64(),
              pa.uint8(), pa.uint16(), pa.uint32(), pa.date32(), pa.float64(), pa.binary())  # float-ok: extras, not money
}  # fmt: skip


def sql_type(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "INTEGER"
    if pa.types.is_floating(kind):
        return "REAL"
    if pa.types.is_binary(kind):
        return "BLOB"
    return "TEXT"


def canonical_columns(name: str) -> tuple[tuple[str, str, str], ...]:
    """(column, SQL type, doc) of a canonical table, `position` first."""
    fields = SCHEMAS[name]
    docs = [(f.name, sql_type(f.type), _doc(f)) for f in fields]
    return (("position", "INTEGER", "row order, from 1"), *docs)


def quote(name: str) -> str:
    """An SQL identifier for `name`, whatever characters it has."""
    return '"' + name.replace('"', '""') + '"'


def _create(db: sqlite3.Connection, table: str, columns: tuple[tuple[str, str, str], ...], doc: list[tuple]) -> None:
    """CREATE TABLE with each column's meaning as an SQL comment (kept in sqlite_master)."""
    lines = []
    for index, (name, kind, text) in enumerate(columns):
        key = " PRIMARY KEY" if name == "position" else ""
        comma = "," if index < len(columns) - 1 else ""
        comment = " ".join(text.split())  # a newline would end the comment early
        lines.append(f"  {quote(name)} {kind}{key}{comma} -- {comment}")
    db.execute(f"CREATE TABLE {quote(table)} (\n" + "\n".join(lines) + "\n)")
    doc.extend((table, name, kind, text) for name, kind, text in columns)


def _doc(fld: pa.Field) -> str:
    text = (fld.metadata or {}).get(b"doc", b"").decode()
    if pa.types.is_date(fld.type):
        return f"{text} (yyyy-mm-dd)"
    return f"{text} (0 or 1)" if pa.types.is_boolean(fld.type) else text


def _sql_column(column: pa.Array) -> list[Any]:
    """A column as the Python values SQLite stores: booleans as 0/1, dates as yyyy-mm-dd text,
    converted over the whole column (Arrow's date-to-text cast is the ISO form)."""
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    elif pa.types.is_date(column.type):
        column = column.cast(pa.string())
    return column.to_pylist()


def _insert(db: sqlite3.Connection, table: str, width: int, rows: Iterator[tuple[Any, ...]] | list) -> None:
    marks = ", ".join("?" * width)
    db.executemany(f"INSERT INTO {quote(table)} VALUES ({marks})", rows)


def _literal(value: Any) -> str | None:
    """`value` as an SQL literal that stores exactly what binding it would (None where unsure)."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62:
        return str(value)  # (-2**63 would be the literal 2**63, a REAL, negated)
    if isinstance(value, str) and "\x00" not in value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: binding reports it, as before
            return None
        return "'" + value.replace("'", "''") + "'"
    return None


def _constant(column: pa.ChunkedArray) -> str | None:
    """The SQL literal of the value every row of `column` holds, if they all hold one."""
    if not len(column):
        return None
    if column.null_count == len(column):
        return "NULL"
    if column.null_count or len({column[i] for i in (0, len(column) // 2, len(column) - 1)}) > 1:
        return None  # (three looks settle most columns)
    if pc.count_distinct(column).as_py() != 1:
        return None
    return _literal(_sql_column(column.slice(0, 1).combine_chunks())[0])


def _insert_table(db: sqlite3.Connection, name: str, data: pa.Table) -> None:
    """The rows of `data` after their 1-based `position`. Only the columns whose values vary are bound
    row by row (binding is most of the time of an insert): a column holding one value throughout is a
    literal of the statement, and `position` is left to SQLite, which numbers the rows of an empty table
    from 1 in the order they come when an INTEGER PRIMARY KEY is given no value (sqlite.org/autoinc.html).
    The stored values are the same as when every value is bound."""
    values = ["NULL"]  # position
    varying = []
    for index in range(data.num_columns):
        literal = _constant(data.column(index))
        values.append("?" if literal is None else literal)
        if literal is None:
            varying.append(index)
    statement = f"INSERT INTO {quote(name)} VALUES ({', '.join(values)})"
    if not varying:
        db.executemany(statement, itertools.repeat((), data.num_rows))
        return
    for batch in data.select(varying).to_batches(BATCH):
        columns = [_sql_column(batch.column(i)) for i in range(batch.num_columns)]
        db.executemany(statement, zip(*columns, strict=True))


class SqliteWriter:
    name = "sqlite"
    extension = ".sqlite"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        if target.exists():
            target.unlink()  # the pipeline hands an empty temporary file; SQLite wants its own
        db = sqlite3.connect(target)
        # A new file of ours at a temporary path, renamed when complete: no rollback journal, no fsync.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        try:
            problems = self._fill(db, ledger)
            db.commit()
        finally:
            db.close()
        return problems

    def _fill(self, db: sqlite3.Connection, ledger: Ledger) -> list[Problem]:
        doc: list[tuple] = []
        notes: list[Problem] = []
        _create(db, "meta", META, doc)
        meta = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "written_by": f"migrator {migrator.__version__}",
            "ledger_format": ledger.format,
            "ledger_encoding": ledger.encoding,
            "money": "INTEGER minor units (cents) of base_currency, debit positive",
            "dates": "TEXT yyyy-mm-dd",
        }
        _insert(db, "meta", 2, list(meta.items()))
        company = ledger.company
        _create(db, "company", COMPANY, doc)
        _insert(db, "company", len(COMPANY), [tuple(getattr(company, c[0]) for c in COMPANY)])
        _create(db, "fiscal_years", FISCAL_YEARS, doc)
        years = [(i, y.start.isoformat(), y.end.isoformat()) for i, y in enumerate(company.fiscal_years, 1)]
        _insert(db, "fiscal_years", 3, years)
        _create(db, "source_files", SOURCE_FILES, doc)
        files = [(i, f.path, f.sha256, f.size, f.encoding, f.format) for i, f in enumerate(company.source_files, 1)]
        _insert(db, "source_files", 6, files)
        for name in SCHEMAS:
            columns = canonical_columns(name)
            _create(db, name, columns, doc)
            _insert_table(db, name, getattr(ledger, name))
        _create(db, "problems", PROBLEMS, doc)
        found = [(i, p.severity, p.message, p.file, p.row) for i, p in enumerate(ledger.problems, 1)]
        _insert(db, "problems", 5, found)
        notes += self._extras(db, ledger.extras, doc, "extras", "extra", EXTRAS_INDEX)
        notes += self._extras(db, ledger.source_tables, doc, "source_tables", "source", SOURCE_TABLES_INDEX)
        _create(db, "schema_doc", SCHEMA_DOC, doc)
        doc.extend(("schema_doc", n, k, t) for n, k, t in SCHEMA_DOC)
        _insert(db, "schema_doc", 4, doc)
        return notes

    def _extras(self, db: sqlite3.Connection, tables: Mapping[str, pa.Table], doc: list[tuple], kind: str,
                prefix: str, index: tuple[tuple[str, str, str], ...]) -> list[Problem]:  # fmt: skip
        """Free-form tables (extras, source tables): ``<kind>_index`` names them, ``<kind>_columns`` gives
        each column's Arrow type, ``<prefix>_N`` holds the rows."""
        notes: list[Problem] = []
        _create(db, f"{kind}_index", index, doc)
        columns_table = f"{kind}_columns"
        _create(db, columns_table, tuple((n, t, d.replace("extra_N", f"{prefix}_N")) for n, t, d in EXTRAS_COLUMNS),
                doc)  # fmt: skip
        for number, (name, extra) in enumerate(tables.items(), 1):
            table_name = f"{prefix}_{number}"
            _insert(db, f"{kind}_index", 3, [(number, name, table_name)])
            columns = []
            for position, fld in enumerate(extra.schema, 1):
                kind_name = str(fld.type)
                if kind_name not in EXTRA_TYPES:
                    notes.append(
                        Problem(
                            "info",
                            N_("{kind} {name}.{name_b}: type {kind_name} kept as text").format(
                                kind=kind, name=name, name_b=fld.name, kind_name=kind_name
                            ),
                        )
                    )
                    extra = extra.set_column(position - 1, fld.name, extra.column(position - 1).cast(pa.string()))
                    kind_name = "string"
                _insert(db, columns_table, 4, [(table_name, position, fld.name, kind_name)])
                columns.append((fld.name, sql_type(EXTRA_TYPES[kind_name]), f"source column {fld.name} ({kind_name})"))
            _create(db, table_name, (("position", "INTEGER", "row order, from 1"), *columns), doc)
            _insert_table(db, table_name, extra)
        return notes


FORMAT = SqliteWriter
