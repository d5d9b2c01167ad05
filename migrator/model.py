"""The canonical ledger: one company's books as typed Arrow tables.

Every reader produces a `Ledger`, every writer consumes one; nothing else crosses between formats.
Tables rather than objects so that a million journal lines stay fast. Conventions:

* money is ``int64`` in minor units (cents: 1/100 of the currency), never a binary float;
  `migrator.money` converts to and from text and `Decimal`;
* rates (exchange, VAT) are decimal text such as ``"8.1"`` or ``"1.085600"``;
* debit is positive, credit negative; the lines of one entry sum to zero in base currency;
* account codes are text, exactly as the source wrote them.

A `Ledger` is immutable: functions take one and return a new one (`dataclasses.replace`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

Severity = Literal["error", "warning", "info"]
T = TypeVar("T")
_MISSING = object()

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense", "off_balance", "")
"""Account types; ``""`` where the source does not say."""

VAT_KINDS = ("sales", "input_material", "input_investment", "acquisition", "exempt", "none")
"""VAT kinds: sales VAT due, input VAT on material/services, on investments/overheads,
acquisition tax (reverse charge), exempt supplies, and outside the scope of VAT."""


@dataclass(frozen=True)
class Problem:
    """Something met while reading, mapping, validating or writing, with where it was met."""

    severity: Severity
    message: str
    file: str = ""
    row: int | None = None
    """1-based row (or record) number in `file`; for text files the physical line number."""

    def __str__(self) -> str:
        where = self.file or ""
        if self.row is not None:
            where = f"{where}, row {self.row}" if where else f"row {self.row}"
        return f"{self.severity}: {where}: {self.message}" if where else f"{self.severity}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "row": self.row, "message": self.message}


@dataclass(frozen=True)
class FiscalYear:
    """One fiscal year; most Swiss firms use the calendar year."""

    start: dt.date
    end: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class SourceFile:
    """An input file the ledger was read from, kept for the report and the archive."""

    path: str
    sha256: str
    size: int
    encoding: str = ""
    format: str = ""


@dataclass(frozen=True)
class Company:
    """Who the books belong to and where they came from."""

    name: str = ""
    base_currency: str = "CHF"
    fiscal_years: tuple[FiscalYear, ...] = ()
    vat_number: str = ""
    address: str = ""
    source_system: str = ""
    source_version: str = ""
    source_files: tuple[SourceFile, ...] = ()


def _schema(*fields: tuple[str, pa.DataType, str]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, metadata={"doc": doc}) for name, kind, doc in fields])


ACCOUNTS = _schema(
    ("code", pa.string(), "account number or code, exactly as in the source"),
    ("name", pa.string(), "account name"),
    ("type", pa.string(), "asset, liability, equity, income, expense, off_balance or empty"),
    ("parent", pa.string(), "code of the group the account belongs to (see `groups`)"),
    ("currency", pa.string(), "currency the account is kept in; empty means base currency"),
    ("vat_code", pa.string(), "default VAT code of the account"),
    ("active", pa.bool_(), "false for accounts disabled or hidden in the source"),
)

GROUPS = _schema(
    ("code", pa.string(), "group code (e.g. Winbiz 1-3 digit headings, Banana Gr)"),
    ("name", pa.string(), "group title"),
    ("parent", pa.string(), "code of the enclosing group"),
)

VAT_CODES = _schema(
    ("code", pa.string(), "VAT code as in the source (V81, UN81, USN81, or derived for Winbiz)"),
    ("rate", pa.string(), "rate in percent as decimal text, e.g. 8.1"),
    ("kind", pa.string(), "one of VAT_KINDS"),
    ("method", pa.string(), "gross (VAT included in the amount) or net (excluded)"),
    ("account", pa.string(), "account the VAT is booked to"),
    ("valid_from", pa.date32(), "first day the code applies"),
    ("valid_to", pa.date32(), "last day the code applies"),
    ("form_box", pa.string(), "box (figure) of the VAT return"),
    ("description", pa.string(), "label"),
)

LINES = _schema(
    ("entry", pa.string(), "entry id; the lines of one entry balance"),
    ("line", pa.int32(), "line number within the entry, from 1"),
    ("date", pa.date32(), "booking date"),
    ("doc", pa.string(), "voucher / document number"),
    ("description", pa.string(), "booking text"),
    ("account", pa.string(), "account code"),
    ("amount", pa.int64(), "amount in base currency, minor units, debit positive"),
    ("currency", pa.string(), "currency of the foreign amount; empty for base currency"),
    ("amount_currency", pa.int64(), "amount in that currency, minor units, same sign as amount"),
    ("rate", pa.string(), "exchange rate as decimal text"),
    ("vat_code", pa.string(), "VAT code this line belongs to"),
    ("vat_amount", pa.int64(), "on a base line: the VAT due on it (minor units, signed like the VAT line)"),
    ("vat_line", pa.bool_(), "true for a line that books the VAT itself (Winbiz ecr_tvatyp -1), not a base"),
    ("partner", pa.string(), "partner id (see `partners`)"),
    ("cost_centre", pa.string(), "cost centre / analytic object"),
    ("journal", pa.string(), "journal code as in the source"),
    ("opening", pa.bool_(), "true for opening-balance entries"),
    ("source_file", pa.string(), "file the line was read from"),
    ("source_row", pa.int64(), "row or record number in that file"),
)

PARTNERS = _schema(
    ("id", pa.string(), "partner code in the source (address number, customer or supplier number)"),
    ("kind", pa.string(), "company, person or empty"),
    ("roles", pa.string(), "customer, supplier, both or empty"),
    ("name", pa.string(), "company name, or the person's full name"),
    ("first_name", pa.string(), "first name of a person (or of the contact of a company)"),
    ("last_name", pa.string(), "last name of a person (or of the contact of a company)"),
    ("street", pa.string(), "street; with the building number inside when the source does not split them"),
    ("building_number", pa.string(), "building number (Swiss QR-bill structured address)"),
    ("address_line2", pa.string(), "second address line: c/o, post box, floor"),
    ("zip", pa.string(), "postal code"),
    ("city", pa.string(), "town"),
    ("country", pa.string(), "ISO 3166 alpha-2 country code"),
    ("contact", pa.string(), "contact person"),
    ("email", pa.string(), "e-mail"),
    ("phone", pa.string(), "telephone"),
    ("mobile", pa.string(), "mobile telephone"),
    ("fax", pa.string(), "fax"),
    ("website", pa.string(), "web address"),
    ("vat_number", pa.string(), "VAT / UID number"),
    ("iban", pa.string(), "bank account (IBAN, checked)"),
    ("language", pa.string(), "correspondence language, ISO 639-1 (de, fr, it, en)"),
    ("currency", pa.string(), "currency of the partner's documents; empty for base currency"),
    ("payment_terms", pa.int32(), "payment terms in days"),
    ("account", pa.string(), "receivable or payable account"),
    ("notes", pa.string(), "remarks"),
    ("active", pa.bool_(), "false for partners disabled or archived in the source"),
)

OPEN_ITEMS = _schema(
    ("id", pa.string(), "invoice or bill number"),
    ("partner", pa.string(), "partner id"),
    ("kind", pa.string(), "invoice (receivable) or bill (payable)"),
    ("date", pa.date32(), "issue date"),
    ("due_date", pa.date32(), "due date"),
    ("currency", pa.string(), "currency; empty for base currency"),
    ("amount", pa.int64(), "total, minor units"),
    ("open_amount", pa.int64(), "still unpaid, minor units"),
    ("account", pa.string(), "receivable or payable account"),
    ("description", pa.string(), "text"),
)

ITEMS = _schema(
    ("code", pa.string(), "article, part or service number"),
    ("name", pa.string(), "short name"),
    ("description", pa.string(), "longer text"),
    ("unit", pa.string(), "unit of quantity (pce, h, l, kg)"),
    ("sale_price", pa.int64(), "sale price per unit, minor units"),
    ("purchase_price", pa.int64(), "purchase price per unit, minor units"),
    ("currency", pa.string(), "currency of the prices; empty for base currency"),
    ("sale_vat_code", pa.string(), "VAT code on sales"),
    ("purchase_vat_code", pa.string(), "VAT code on purchases"),
    ("revenue_account", pa.string(), "account sales are booked to"),
    ("expense_account", pa.string(), "account purchases are booked to"),
    ("group", pa.string(), "article group or category"),
    ("supplier", pa.string(), "partner id of the usual supplier"),
    ("supplier_ref", pa.string(), "the supplier's own article number"),
    ("stock", pa.string(), "quantity in stock, decimal text"),
    ("stock_min", pa.string(), "minimum stock, decimal text"),
    ("active", pa.bool_(), "false for articles disabled or archived in the source"),
)

DOCUMENT_TYPES = ("invoice", "credit_note", "order", "offer", "delivery_note", "payment", "bill", "bill_credit_note")
"""Document types: sales invoices and credit notes, orders, offers, delivery notes, payments, and the
supplier side (bills and their credit notes)."""

DOCUMENTS = _schema(
    ("id", pa.string(), "document number"),
    ("type", pa.string(), "one of DOCUMENT_TYPES"),
    ("date", pa.date32(), "issue date"),
    ("due_date", pa.date32(), "due date"),
    ("partner", pa.string(), "partner id"),
    ("currency", pa.string(), "currency; empty for base currency"),
    ("net", pa.int64(), "total without VAT, minor units"),
    ("vat", pa.int64(), "VAT, minor units"),
    ("gross", pa.int64(), "total with VAT, minor units"),
    ("paid", pa.int64(), "amount paid so far, minor units"),
    ("status", pa.string(), "draft, open, partly_paid, paid or cancelled"),
    ("account", pa.string(), "receivable or payable account"),
    ("title", pa.string(), "title or subject"),
    ("reference", pa.string(), "payment reference (QR or ISR reference)"),
)

DOCUMENT_LINES = _schema(
    ("document", pa.string(), "document id"),
    ("line", pa.int32(), "line number within the document, from 1"),
    ("item", pa.string(), "item code; empty for a free text line"),
    ("description", pa.string(), "line text"),
    ("quantity", pa.string(), "quantity, decimal text"),
    ("unit", pa.string(), "unit of quantity"),
    ("unit_price", pa.int64(), "price per unit, minor units"),
    ("discount", pa.string(), "discount in percent, decimal text"),
    ("vat_code", pa.string(), "VAT code"),
    ("vat_rate", pa.string(), "VAT rate in percent, decimal text"),
    ("amount", pa.int64(), "line total as the document shows it, minor units"),
    ("account", pa.string(), "revenue or expense account"),
)

SCHEMAS: dict[str, pa.Schema] = {
    "accounts": ACCOUNTS,
    "groups": GROUPS,
    "vat_codes": VAT_CODES,
    "lines": LINES,
    "partners": PARTNERS,
    "open_items": OPEN_ITEMS,
    "items": ITEMS,
    "documents": DOCUMENTS,
    "document_lines": DOCUMENT_LINES,
}
TABLES = tuple(SCHEMAS)

_DEFAULTS: dict[pa.DataType, Any] = {pa.string(): "", pa.bool_(): False}
_TRUE_BY_DEFAULT = {("partners", "active"), ("items", "active")}
"""Flags that are true where a source does not say: a partner or an article is in use unless marked."""


def _default(name: str, fld: pa.Field) -> Any:
    return True if (name, fld.name) in _TRUE_BY_DEFAULT else _DEFAULTS.get(fld.type)


def table(name: str, rows: Iterable[Mapping[str, Any]] = ()) -> pa.Table:
    """Build table `name` from row dicts; missing text is ``""``, missing flags false, others null.

    Only the columns the rows carry are collected (all of them in one pass when the rows share their
    keys); `conform` makes the others whole."""
    schema = SCHEMAS[name]
    rows = list(rows)
    if not rows:
        return _by_rows(name, rows)
    keys = rows[0].keys()
    names = [fld.name for fld in schema if fld.name in keys]
    if len(names) > 1 and all(row.keys() == keys for row in rows):
        values = dict(zip(names, zip(*map(itemgetter(*names), rows), strict=True), strict=True))
    else:
        present = {key for row in rows for key in row}
        values = {fld.name: [row.get(fld.name) for row in rows] for fld in schema if fld.name in present}
    if not values:  # no column of the table at all: rows of defaults
        return _by_rows(name, rows)
    return conform(name, {n: pa.array(v, type=schema.field(n).type) for n, v in values.items()})


def _by_rows(name: str, rows: list[Mapping[str, Any]]) -> pa.Table:
    """`table`, column after column over every row."""
    schema = SCHEMAS[name]
    columns = {}
    for fld in schema:
        default = _default(name, fld)
        values = [row.get(fld.name) for row in rows]
        if default is not None:
            values = [default if v is None else v for v in values]
        columns[fld.name] = pa.array(values, type=fld.type)
    return pa.table(columns, schema=schema)


def conform(name: str, data: pa.Table | Mapping[str, Sequence[Any] | pa.Array]) -> pa.Table:
    """Give `data` exactly the schema of table `name`: add missing columns, cast, order."""
    schema = SCHEMAS[name]
    if isinstance(data, pa.Table):
        size = data.num_rows
        present = {n: data.column(n) for n in data.column_names}
    else:
        present = {n: v if isinstance(v, pa.Array | pa.ChunkedArray) else pa.array(v) for n, v in data.items()}
        size = len(next(iter(present.values()))) if present else 0
    columns = []
    for fld in schema:
        column = present.get(fld.name)
        if column is None:
            default = _default(name, fld)
            column = pa.nulls(size, fld.type) if default is None else pa.array([default] * size, fld.type)
        elif column.type != fld.type:
            column = column.cast(fld.type)
        if fld.type in _DEFAULTS and column.null_count:
            column = column.fill_null(_default(name, fld))
        if fld.name == "source_file":
            column = _shared_if_one(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


_SHARED_RUN = 1 << 16


def _shared_if_one(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A long text column holding one value throughout as slices of one short array.

    Readers name the file of every line: one file name per line of a million-line journal is about
    100 MiB of text, and the slices share the bytes of 65,536 copies."""
    if len(column) <= _SHARED_RUN or column.null_count or not pa.types.is_string(column.type):
        return column
    first = column[0]
    if not pc.all(pc.equal(column, first)).as_py():
        return column
    return repeated_text(first.as_py(), len(column))


def repeated_text(text: str, size: int) -> pa.ChunkedArray:
    """`text` `size` times, as slices of one array of at most 65,536 copies (a reader naming the file of
    each of a million lines spends no more than that)."""
    run = pa.repeat(pa.scalar(text, pa.string()), min(size, _SHARED_RUN))
    return pa.chunked_array([run.slice(0, min(_SHARED_RUN, size - start)) for start in range(0, size, _SHARED_RUN)],
                            pa.string())  # fmt: skip


@dataclass(frozen=True)
class Ledger:
    """One company's books: the canonical form every format is read into and written from."""

    company: Company = field(default_factory=Company)
    accounts: pa.Table = field(default_factory=lambda: table("accounts"))
    groups: pa.Table = field(default_factory=lambda: table("groups"))
    vat_codes: pa.Table = field(default_factory=lambda: table("vat_codes"))
    lines: pa.Table = field(default_factory=lambda: table("lines"))
    partners: pa.Table = field(default_factory=lambda: table("partners"))
    open_items: pa.Table = field(default_factory=lambda: table("open_items"))
    items: pa.Table = field(default_factory=lambda: table("items"))
    documents: pa.Table = field(default_factory=lambda: table("documents"))
    document_lines: pa.Table = field(default_factory=lambda: table("document_lines"))
    problems: tuple[Problem, ...] = ()
    """Problems met while reading (and later mapping/validating)."""
    extras: Mapping[str, pa.Table] = field(default_factory=dict)
    """Source columns the reader could not place, per source table, keyed by source row."""
    source_tables: Mapping[str, pa.Table] = field(default_factory=dict)
    """Whole source tables that fit none of the canonical tables (Winbiz's garage vehicles, any DBF
    table of a data folder migrator does not understand), keyed by the table's path in the source
    (``2024/vehicule.dbf``), every column as read. Only the archives (SQLite, xlsx) carry them."""
    format: str = ""
    """Name of the format the ledger was read from."""
    encoding: str = ""
    """Text encoding the main source file was read with."""

    def __post_init__(self) -> None:
        for name in TABLES:
            got = getattr(self, name)
            if not got.schema.equals(SCHEMAS[name]):
                object.__setattr__(self, name, conform(name, got))

    def __repr__(self) -> str:
        """Company, years, counts and problems, not the tables (`migrator.display`)."""
        from migrator.display import short

        return short(self)

    def _repr_html_(self) -> str:
        from migrator.display import html

        return html(self)

    def replace(self, **changes: Any) -> Ledger:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def with_problems(self, problems: Iterable[Problem]) -> Ledger:
        return self.replace(problems=self.problems + tuple(problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()`, worked out once per ledger: its tables never change, so neither does what is
        derived from them (a second thread computing the same key at once only wastes time)."""
        known = self.__dict__.get(f"_memo_{key}", _MISSING)
        if known is _MISSING:
            known = compute()
            object.__setattr__(self, f"_memo_{key}", known)
        return known  # type: ignore[no-any-return]

    def entries(self) -> EntryGroups:
        """The lines of each entry."""
        return self.memo("entries", lambda: EntryGroups.of(self.lines))

    def counts(self) -> dict[str, int]:
        """Number of accounts, entries, lines, VAT codes, partners, open items, items and documents."""
        return dict(self.memo("counts", lambda: {
            "accounts": self.accounts.num_rows,
            "entries": self.entries().count,
            "lines": self.lines.num_rows,
            "partners": self.partners.num_rows,
            "open_items": self.open_items.num_rows,
            "items": self.items.num_rows,
            "documents": self.documents.num_rows,
            "vat_codes": self.vat_codes.num_rows,
        }))  # fmt: skip


@dataclass(frozen=True)
class EntryGroups:
    """The lines of each entry: `order` puts them side by side (None when the file already has them
    so), entry k's lines are ``order[starts[k]:starts[k + 1]]``.

    Entry ids are hashed only when the lines of an entry are not adjacent; books nearly always list
    an entry's lines together, and then grouping is one comparison of neighbouring ids.
    """

    order: Any  # np.ndarray of line indexes, or None
    starts: Any  # np.ndarray: first position of each entry, in `order`
    lines: int

    @property
    def count(self) -> int:
        return len(self.starts)

    def first_lines(self) -> Any:
        """Index of each entry's first line in the table."""
        return self.starts if self.order is None else self.order[self.starts]

    def numbers(self) -> Any:
        """Entry number (0, 1, …) of each line."""
        import numpy as np

        first = np.zeros(self.lines, dtype=np.int32)
        first[self.starts] = 1
        ids = np.cumsum(first, dtype=np.int32) - 1
        if self.order is None:
            return ids
        out = np.empty(self.lines, dtype=ids.dtype)
        out[self.order] = ids
        return out

    def sums(self, values: pa.ChunkedArray | pa.Array, exact: bool = False) -> Any:
        """Exact int64 sum per entry of an int64 column (nulls count as 0); `money.SumTooLarge` (with the
        entry numbers) where a sum does not fit int64. With `exact`, sums that do not fit are returned
        as Python integers (a list) instead."""
        import numpy as np

        from migrator import money

        numbers = _int64s(values)
        if self.order is not None:
            numbers = numbers[self.order]
        if not self.lines:
            return np.zeros(0, dtype=np.int64)
        if not money.may_wrap(numbers, int(np.diff(np.r_[self.starts, self.lines]).max())):
            return np.add.reduceat(numbers, self.starts)
        high, low = money.split(numbers)
        totals = money.joined(np.add.reduceat(high, self.starts), np.add.reduceat(low, self.starts))
        too_large = [k for k, total in enumerate(totals) if not money.fits(total)]
        if not too_large:
            return np.array(totals, dtype=np.int64)
        if exact:
            return totals
        raise money.SumTooLarge(
            f"{len(too_large)} entries sum beyond the ±{money.format_cents(money.INT64_MAX)} that 64-bit cents hold",
            too_large,
        )

    @staticmethod
    def of(lines: pa.Table) -> EntryGroups:
        import numpy as np
        import pyarrow.compute as pc

        n = lines.num_rows
        if not n:
            return EntryGroups(None, np.zeros(0, dtype=np.int64), 0)
        ids = lines.column("entry")
        changes = pc.not_equal(ids.slice(1), ids.slice(0, n - 1))
        starts = np.r_[0, np.flatnonzero(changes.to_numpy(zero_copy_only=False)) + 1]
        if distinct(pc.take(ids, pa.array(starts))):
            return EntryGroups(None, starts, n)
        codes = ids.combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
        return EntryGroups(order, starts, n)


def pylist(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    """`column.to_pylist()`, faster for dates: Arrow makes a `date` object per value (0.4 s for 280k
    lines), so a date column is converted through its distinct days, which the rows then share."""
    if not pa.types.is_date(column.type) or len(column) < 64:
        return column.to_pylist()
    encoded = pc.dictionary_encode(column)
    encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    days = encoded.dictionary.to_pylist()
    return [None if i is None else days[i] for i in encoded.indices.to_pylist()]


def rows(data: pa.Table, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """`data.to_pylist()` (one dict per row), of the `columns` named or all, built column by column."""
    names = list(columns) if columns is not None else data.column_names
    values = [pylist(data.column(name)) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def distinct(ids: pa.ChunkedArray | pa.Array) -> bool:
    """Whether no id repeats. Ids numbered in rising order after a prefix of non-digits they all share
    (``17``, ``B17``, ``RE-17``) are checked without hashing: different numbers make different ids."""
    import numpy as np
    import pyarrow.compute as pc

    if len(ids) < 2:
        return True
    first = str(ids[0].as_py())
    prefix = first[: next((i for i, c in enumerate(first) if c.isdigit()), len(first))]
    numbered = ids
    if prefix and pc.all(pc.starts_with(ids, prefix)).as_py():
        numbered = pc.utf8_slice_codeunits(ids, len(prefix))
    if pc.all(pc.ascii_is_decimal(numbered)).as_py():  # digits only (and none empty)
        try:
            numbers = pc.cast(numbered, pa.int64()).to_numpy(zero_copy_only=False)
            if bool(np.all(numbers[1:] > numbers[:-1])):
                return True
        except pa.ArrowInvalid:  # more digits than 64 bits hold
            pass
    return len(pc.unique(ids)) == len(ids)


def _int64s(values: pa.ChunkedArray | pa.Array) -> Any:
    import numpy as np

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        values = values.fill_null(0)
    return values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def years_of(ledger: Ledger) -> tuple[FiscalYear, ...]:
    """The fiscal years the source declares, else the calendar years its lines span."""
    if ledger.company.fiscal_years:
        return tuple(sorted(ledger.company.fiscal_years, key=lambda y: y.start))
    import pyarrow.compute as pc

    dates = ledger.lines.column("date")
    if not len(dates) or dates.null_count == len(dates):
        return ()
    bounds = pc.min_max(dates).as_py()
    return tuple(
        FiscalYear(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(bounds["min"].year, bounds["max"].year + 1)
    )
