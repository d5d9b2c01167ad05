"""SQLite archive (see `migrator.writers.sqlite`): read back exactly the ledger that was written.

The file is opened read-only (``mode=ro``, `sources.sqlite_reading`) within the SQL time bound;
only real tables are read, never a view named like one. A SQLite file without the archive's
``meta`` table is not claimed (GnuCash SQLite books are read by the ``gnucash`` format).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from migrator import limits
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import SCHEMAS, Company, FiscalYear, Ledger, Problem, SourceFile
from migrator.readers.base import ReadOptions
from migrator.sources import Source, sqlite_reading, tables_only
from migrator.writers.sqlite import COMPANY, EXTRA_TYPES, KIND, SCHEMA_VERSION, quote

MAGIC = b"SQLite format 3\x00"


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection: the input is never written, not even a journal."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _meta(db: sqlite3.Connection) -> dict[str, str]:
    if "meta" not in tables_only(db):  # a view named meta is never run
        return {}
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


class SqliteReader:
    name = "sqlite"
    extensions = (".sqlite", ".db")

    def sniff(self, source: Source) -> float:
        if source.is_dir or not source.head(16).startswith(MAGIC):
            return 0.0
        try:
            seconds = limits.current().sniff_seconds
            with sqlite_reading(source.path, source.name, N_("not a readable SQLite file"), seconds) as db:
                return 1.0 if _meta(db).get("kind") == KIND else 0.0
        except SourceError:
            return 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        if not source.head(16).startswith(MAGIC):
            raise SourceError(N_("not an SQLite file"), source.name)
        with sqlite_reading(source.path, source.name, N_("not a readable migrator archive")) as db:
            return _read(db, source.name)


def _read(db: sqlite3.Connection, name: str) -> Ledger:
    meta = _meta(db)
    if meta.get("kind") != KIND:
        raise SourceError(N_("an SQLite file, but not a migrator archive (no meta kind)"), name)
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise SourceError(N_("archive schema version {get!r}; this migrator reads {schema_version}").format(get=meta.get('schema_version'), schema_version=SCHEMA_VERSION), name)  # fmt: skip
    real = tables_only(db)
    wanted = {"company", "fiscal_years", "source_files", "problems", "extras_index", "extras_columns", *SCHEMAS}
    wanted -= {name for name in LATER_TABLES if name not in real and not _named(db, name)}
    views = sorted(wanted - real)
    if views:  # a view (or nothing) under a table's name: never run
        raise SourceError(N_("not a migrator archive: no table {views}").format(views=", ".join(views)), name)
    row = db.execute("SELECT " + ", ".join(quote(c[0]) for c in COMPANY) + " FROM company").fetchone()
    years = tuple(
        FiscalYear(dt.date.fromisoformat(s), dt.date.fromisoformat(e))
        for s, e in db.execute('SELECT start, "end" FROM fiscal_years ORDER BY position')
    )
    files = tuple(
        SourceFile(*r)
        for r in db.execute("SELECT path, sha256, size, encoding, format FROM source_files ORDER BY position")
    )
    company = Company(**dict(zip((c[0] for c in COMPANY), row or (), strict=False)), fiscal_years=years,
                      source_files=files)  # fmt: skip
    tables = {n: _table(db, n, SCHEMAS[n], name) for n in SCHEMAS if n in real}
    problems = tuple(
        Problem(*r) for r in db.execute("SELECT severity, message, file, row FROM problems ORDER BY position")
    )
    extras = _free_tables(db, "extras", real, name)
    source_tables = _free_tables(db, "source_tables", real, name) if "source_tables_index" in real else {}
    return Ledger(company=company, **tables, problems=problems, extras=extras, source_tables=source_tables,
                  format="sqlite",
                  encoding=meta.get("ledger_encoding", ""))  # fmt: skip


LATER_TABLES = ("items", "documents", "document_lines")
"""Canonical tables an archive written before they existed lacks: read as empty."""


def _named(db: sqlite3.Connection, name: str) -> bool:
    """Whether anything (a view, say) has `name` in the archive's schema."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _free_tables(db: sqlite3.Connection, kind: str, real: set[str], name: str) -> dict[str, pa.Table]:
    """The extras or source tables listed in ``<kind>_index``, with the column types of ``<kind>_columns``."""
    out = {}
    for extra_name, table_name in db.execute(f"SELECT name, table_name FROM {kind}_index ORDER BY position"):
        columns = db.execute(
            f"SELECT column_name, arrow_type FROM {kind}_columns WHERE table_name = ? ORDER BY column_position",
            (table_name,),
        ).fetchall()
        unknown = [t for _, t in columns if t not in EXTRA_TYPES]
        if unknown:
            raise SourceError(
                N_("not a migrator archive: column type {unknown!r} in {kind}_columns").format(
                    unknown=unknown[0], kind=kind
                ),
                name,
            )
        schema = pa.schema([(c, EXTRA_TYPES[t]) for c, t in columns])
        if table_name not in real:
            raise SourceError(
                N_("not a migrator archive: no table {table_name} (listed in {kind}_index)").format(
                    table_name=table_name, kind=kind
                ),
                name,
            )
        out[extra_name] = _table(db, table_name, schema, name)
    return out


ROWS_AT_ONCE = 65_536
"""Rows fetched and turned into Arrow columns at once (a million-entry journal fetched whole held a
Python tuple per row: gigabytes)."""


def _table(db: sqlite3.Connection, table: str, schema: pa.Schema, name: str) -> pa.Table:
    if not len(schema):
        return pa.table([], schema=schema)
    constant = _constant_columns(db, table, schema)
    varying = [f for f in schema if f.name not in constant]
    _refuse_fractions(db, table, [f.name for f in varying if pa.types.is_integer(f.type) or
                                  pa.types.is_boolean(f.type)], name)  # fmt: skip
    parts: dict[str, list[pa.Array]] = {f.name: [] for f in varying}
    count = 0
    if varying:
        names = ", ".join(quote(f.name) for f in varying)
        cursor = db.execute(f"SELECT {names} FROM {quote(table)} ORDER BY position")
        while rows := cursor.fetchmany(ROWS_AT_ONCE):
            count += len(rows)
            for fld, array in zip(varying, _batch(rows, varying), strict=True):
                parts[fld.name].append(array)
            del rows
    else:
        count = db.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()[0]
    arrays = []
    for fld in schema:
        if fld.name in constant:
            arrays.append(_repeated(constant[fld.name], count))
        else:  # one column at a time, its batches let go once joined
            arrays.append(pa.concat_arrays(parts.pop(fld.name)) if count else pa.array([], fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _refuse_fractions(db: sqlite3.Connection, table: str, columns: list[str], name: str) -> None:
    """A SourceError where a column of whole numbers (cents, counts, flags) holds a REAL with a fraction:
    Arrow would take 12.5 as 12 without a word (an archive edited by hand: the writer stores INTEGERs)."""
    if not columns:
        return
    tests = [f"(typeof({quote(c)}) = 'real' AND {quote(c)} <> CAST({quote(c)} AS INTEGER))" for c in columns]
    found = db.execute(
        f"SELECT position, {', '.join(tests)} FROM {quote(table)} WHERE {' OR '.join(tests)} LIMIT 1"
    ).fetchone()
    if found is not None:
        column = columns[found[1:].index(1)]
        raise SourceError(
            N_("{table}.{column} holds a number with decimals at position {position}; the archive keeps whole "
               "numbers there (amounts in cents)").format(table=table, column=column, position=found[0]),
            name,
        )  # fmt: skip


def _repeated(value: pa.Array, count: int) -> pa.Array:
    if value.null_count:
        return pa.nulls(count, value.type)
    return pa.repeat(value[0], count)


def _constant_columns(db: sqlite3.Connection, table: str, schema: pa.Schema) -> dict[str, pa.Array]:
    """The columns whose every row holds the same value (NULL, an INTEGER, or a TEXT byte for byte),
    each as that value converted as `_array` converts a column: these need not be fetched row by row
    (a Python object per cell). A value `_array` refuses leaves its column to be read like any other."""
    names = ", ".join(quote(f.name) for f in schema)
    head = db.execute(f"SELECT {names} FROM {quote(table)} ORDER BY position LIMIT 1").fetchone()
    if head is None:
        return {}
    tail = db.execute(f"SELECT {names} FROM {quote(table)} ORDER BY position DESC LIMIT 1").fetchone()
    tests: dict[str, tuple[str, tuple[Any, ...], pa.Array]] = {}
    for fld, value, last in zip(schema, head, tail, strict=True):
        if type(value) is not type(last) or value != last:
            continue
        try:
            converted = _array((value,), fld.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError, TypeError):
            continue
        column = quote(fld.name)
        # Storage class and value both: an INTEGER column compares equal to a REAL or, by its affinity, to
        # a numeric TEXT; a declared collation (NOCASE…) would compare unequal texts equal.
        if value is None:
            tests[fld.name] = (f"{column} IS NULL", (), converted)
        elif type(value) is int:
            tests[fld.name] = (f"(typeof({column}) = 'integer' AND {column} = ?)", (value,), converted)
        elif type(value) is str:
            tests[fld.name] = (f"(typeof({column}) = 'text' AND {column} COLLATE BINARY = ?)", (value,), converted)
    if not tests:
        return {}

    alike = list(tests)
    while alike:  # one pass when the columns hold one value throughout, one more per row found otherwise
        tested = [tests[n][0] for n in alike]
        values = tuple(v for n in alike for v in tests[n][1])
        other = db.execute(
            f"SELECT {', '.join(tested)} FROM {quote(table)} WHERE NOT ({' AND '.join(tested)}) LIMIT 1",
            values + values,
        ).fetchone()
        if other is None:
            break
        alike = [n for n, same in zip(alike, other, strict=True) if same]
    return {n: tests[n][2] for n in alike}


def _batch(rows: list[tuple[Any, ...]], fields: list[pa.Field]) -> list[pa.Array]:
    """Fetched rows as one Arrow array per field: the rows at once as an Arrow struct (Arrow converts each
    value to its field's type as `pa.array` does a column's), column by column where that is refused."""
    stored = pa.struct([(f.name, _STORED.get(f.type, f.type)) for f in fields])
    try:
        whole = pa.array(rows, stored)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        columns = list(zip(*rows, strict=True))
        return [_array(values, f.type) for values, f in zip(columns, fields, strict=True)]
    out = []
    for index, fld in enumerate(fields):
        column = whole.field(index)
        if pa.types.is_boolean(fld.type):
            column = column.cast(fld.type)
        elif pa.types.is_date(fld.type):
            column = _dates(column, fld.type)
        out.append(column)
    return out


_STORED = {pa.bool_(): pa.int64(), pa.date32(): pa.string()}
"""Arrow types of what the writer stores for a column of these types (0/1, yyyy-mm-dd)."""


def _array(values: tuple[Any, ...], kind: pa.DataType) -> pa.Array:
    if pa.types.is_boolean(kind):
        try:  # the whole column at once when it holds integers (or nulls), as the writer stores them
            return pa.array(values, pa.int64()).cast(kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return pa.array([None if v is None else bool(v) for v in values], kind)
    if pa.types.is_date(kind):
        return _dates(values, kind)
    return pa.array(list(values), kind)


ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _dates(values: tuple[Any, ...] | pa.Array, kind: pa.DataType) -> pa.Array:
    """yyyy-mm-dd texts (or their Arrow array) as dates, the whole column at once; anything else value by
    value (so a wrong value fails as `date.fromisoformat` says)."""
    text: pa.Array | None
    if isinstance(values, pa.Array):
        text = values
    else:
        try:
            text = pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            text = None
    if text is not None and pc.all(pc.match_substring_regex(text, ISO_DATE)).as_py() is not False:
        try:
            return text.cast(kind)
        except pa.ArrowInvalid:  # 2024-02-30: refused below, with Python's message
            pass
    cells = values.to_pylist() if isinstance(values, pa.Array) else values
    return pa.array([None if v is None else dt.date.fromisoformat(v) for v in cells], kind)


FORMAT = SqliteReader
