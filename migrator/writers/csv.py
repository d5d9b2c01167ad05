"""Canonical postings CSV: UTF-8, ``,``, ISO dates, amounts signed with ``.`` (see the reader).

Text is written exactly as it is, so the file reads back to the same ledger; it is a data file,
not a spreadsheet (use ``xlsx`` for that).

`CsvFolderWriter` (format ``csvfolder``) writes the journal as ``journal.csv`` and, beside it, one
file per other canonical table that has rows: ``accounts.csv``, ``groups.csv``, ``vat_codes.csv``,
``partners.csv``, ``open_items.csv``, ``items.csv``, ``documents.csv``, ``document_lines.csv``, with
the model's column names; money as amounts (``-1234.50``), dates ISO, flags ``true``/``false``,
everything else as text.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from migrator import guides, money
from migrator.ahead import ahead
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.writers.base import lost

COLUMNS = (
    "entry", "line", "date", "doc", "description", "account", "amount", "currency", "account_name",
    "amount_currency", "rate", "vat_code", "vat_rate", "vat_amount", "vat_line", "partner", "cost_centre",
    "journal", "opening",
)  # fmt: skip
CHUNK = 1 << 16


class CsvWriter:
    name = "csv"
    extension = ".csv"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        names = _pairs(ledger.accounts, "code", "name")
        rates = _pairs(ledger.vat_codes, "code", "rate")
        base = ledger.company.base_currency
        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        rows = (_rows(pa.Table.from_batches([b]), names, rates, base) for b in ledger.lines.to_batches(CHUNK))
        with pacsv.CSVWriter(target, _schema(), write_options=options) as out:
            # the next rows are formatted while these are written; books of one chunk need no second thread
            for table in ahead(rows, name="csv-format") if ledger.lines.num_rows > CHUNK else rows:
                out.write_table(table)
            if not ledger.lines.num_rows:
                out.write_table(_schema().empty_table())
        return _not_carried(ledger)


def _pairs(table: pa.Table, key: str, value: str) -> dict[str, str]:
    return dict(zip(table.column(key).to_pylist(), table.column(value).to_pylist(), strict=True))


def _schema() -> pa.Schema:
    types = {"line": pa.int32(), "date": pa.date32()}
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


def _lookup(keys: pa.ChunkedArray, pairs: dict[str, str]) -> pa.Array:
    """The value `pairs` gives each key (``""`` where none), computed once per distinct key."""
    encoded = keys.combine_chunks().dictionary_encode()
    values = pa.array([pairs.get(k, "") or "" for k in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(values, encoded.indices)


def _rows(lines: pa.Table, names: dict[str, str], rates: dict[str, str], base: str) -> pa.Table:
    currency = lines.column("currency")
    columns = {name: lines.column(name) for name in COLUMNS if name in lines.column_names}
    columns["currency"] = pc.if_else(pc.equal(currency, ""), base, currency)
    for name in ("amount", "amount_currency", "vat_amount"):
        columns[name] = money.format_cents_array(lines.column(name))
    columns["opening"] = pc.if_else(lines.column("opening"), "true", "")
    columns["vat_line"] = pc.if_else(lines.column("vat_line"), "true", "")
    columns["account_name"] = _lookup(lines.column("account"), names)
    columns["vat_rate"] = _lookup(lines.column("vat_code"), rates)
    return pa.table([columns[name] for name in COLUMNS], schema=_schema())


def _not_carried(ledger: Ledger) -> list[Problem]:
    problems = lost(N_("partners"), ledger.partners.num_rows, N_("left out (use xlsx or sqlite to keep them)"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out (use xlsx or sqlite to keep them)"))
    problems += lost(
        N_("VAT code details (kind, account, validity)"),
        ledger.vat_codes.num_rows,
        N_("codes and rates kept on the lines, the rest left out"),
    )
    problems += lost(
        N_("company name"), 1 if ledger.company.name else 0, N_("left out (a postings file has no header)")
    )
    problems += lost(
        N_("groups"), ledger.groups.num_rows, N_("left out (use xlsx or sqlite to keep the chart's groups)")
    )
    problems += lost(
        N_("fiscal years"),
        len(ledger.company.fiscal_years),
        N_("left out: read back as calendar years from the lines' dates"),
    )
    unused = ledger.accounts.num_rows - len(pc.unique(ledger.lines.column("account")))
    problems += lost(
        N_("accounts without lines"), max(unused, 0), N_("left out (a postings file lists used accounts only)")
    )
    return problems + base_currency_lost(ledger)


def base_currency_lost(ledger: Ledger) -> list[Problem]:
    """The base currency, when no line carries it: the reader takes the currency of the lines without a
    foreign amount, CHF when there are none."""
    base = ledger.company.base_currency
    lines = ledger.lines
    plain = pc.is_null(lines.column("amount_currency")) if lines.num_rows else None
    return lost(N_("base currency"), int(base not in ("", "CHF") and (plain is None or not pc.any(plain).as_py())),
                N_("no line is in {base} without a foreign amount, and it reads back as CHF").format(base=base))  # fmt: skip


TABLE_FILES = ("accounts", "groups", "vat_codes", "partners", "open_items", "items", "documents", "document_lines")
"""The canonical tables written beside ``journal.csv``, one file each (``<table>.csv``)."""
JOURNAL_FILE = "journal.csv"


def table_text(table: pa.Table) -> pa.Table:
    """A canonical table as text columns: int64 money as amounts, dates ISO, flags true/false."""
    columns = []
    for fld in table.schema:
        column = table.column(fld.name)
        if fld.type == pa.int64():
            column = money.format_cents_array(column)
        elif pa.types.is_boolean(fld.type):
            column = pc.if_else(column, "true", "false")
        elif fld.type != pa.string():
            column = column.cast(pa.string())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_table(table: pa.Table, path: Path) -> None:
    """One canonical table as a CSV file with a header row (`table_text`)."""
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    pacsv.write_csv(table_text(table), path, write_options=options)


class CsvFolderWriter:
    """The whole canonical ledger as a folder of CSV files: ``journal.csv`` and one file per table."""

    name = "csvfolder"
    extension = ""
    output = "folder"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        CsvWriter().write(ledger, target / JOURNAL_FILE)
        for name in TABLE_FILES:
            table = getattr(ledger, name)
            if table.num_rows:
                write_table(table, target / f"{name}.csv")
        guides.write("csvfolder", target)  # what the files are, in the user's language (issue 17)
        problems = lost(
            N_("company name"), 1 if ledger.company.name else 0, N_("left out (the files have no header for it)")
        )
        problems += lost(N_("fiscal years"), len(ledger.company.fiscal_years),
                         N_("left out: read back as calendar years from the lines' dates"))  # fmt: skip
        problems += lost(
            N_("source tables"), len(ledger.source_tables), N_("left out (use sqlite or xlsx to keep them)")
        )
        return problems + base_currency_lost(ledger)


FORMAT = CsvWriter
