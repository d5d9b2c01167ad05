"""SQLite archive: write, read back exactly; the file answers plain SQL on its own."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from strategies import ledgers

from migrator import pipeline
from migrator.errors import SourceError
from migrator.model import Company, FiscalYear, Ledger, Problem, SourceFile, table
from migrator.readers.base import ReadOptions
from migrator.readers.sqlite import SqliteReader
from migrator.reconcile import trial_balance
from migrator.sources import Source


def _read(path: Path) -> Ledger:
    return SqliteReader().read(Source(path), ReadOptions())


def _assert_same(before: Ledger, after: Ledger) -> None:
    assert after.format == "sqlite"
    assert dataclasses.replace(after, format=before.format) == before
    for name in ("accounts", "groups", "vat_codes", "lines", "partners", "open_items", "items", "documents",
                 "document_lines"):  # fmt: skip
        assert getattr(after, name).equals(getattr(before, name)), name
    assert set(after.source_tables) == set(before.source_tables)
    for name, kept in before.source_tables.items():
        assert after.source_tables[name].equals(kept), name
    assert after.company == before.company
    assert after.problems == before.problems


def _odd_ledger() -> Ledger:
    """Nulls, empty text, unicode, quotes, big amounts, problems without rows, typed extras."""
    lines = table("lines", [
        {"entry": "A'1", "line": 1, "date": dt.date(1999, 12, 31), "doc": 'say "hi"', "description": "Zürich\nzweite Zeile",
         "account": "1020", "amount": 9_000_000_000_000_000, "currency": "EUR", "amount_currency": 1, "rate": "0.000001",
         "opening": True, "source_file": "a.csv", "source_row": None},
        {"entry": "A'1", "line": 2, "date": None, "account": "2000", "amount": -9_000_000_000_000_000,
         "vat_code": "V81", "vat_amount": -5, "vat_line": True, "source_row": 3},
    ])  # fmt: skip
    extras = {
        "lines": pa.table({"source_row": pa.array([2, 3], pa.int64()), "Kst.-Stelle \"x\"": ["a", None],
                           "flag": pa.array([True, None]), "when": pa.array([dt.date(2024, 2, 29), None])}),
        "kunden table": pa.table({"n": pa.array([], pa.int32())}),
    }  # fmt: skip
    company = Company(
        name="Café «Zur Sonne» GmbH", base_currency="CHF", vat_number="CHE-1", address="",
        fiscal_years=(FiscalYear(dt.date(2023, 7, 1), dt.date(2024, 6, 30)),),
        source_files=(SourceFile("in/ü.csv", "ab" * 32, 12, "cp1252", "csv"),),
    )  # fmt: skip
    problems = (Problem("error", "bad; row", "x.csv", 7), Problem("info", "no row"))
    partners = table("partners", [{"id": "C1", "name": "Ä", "payment_terms": None}, {"id": "C2", "payment_terms": 30}])
    return Ledger(company=company, lines=lines, partners=partners, problems=problems, extras=extras,
                  format="csv", encoding="cp1252")  # fmt: skip


@pytest.mark.parametrize("make", [lambda: Ledger(), _odd_ledger], ids=["empty", "odd"])
def test_hand_made_ledgers_read_back_exactly(make, tmp_path):
    ledger = make()
    out = tmp_path / "a.sqlite"
    assert pipeline.write(ledger, "sqlite", out) == []
    _assert_same(ledger, _read(out))


def test_garage_reads_back_exactly(garage, tmp_path):
    ledger = garage.replace(company=dataclasses.replace(garage.company, source_files=(
        SourceFile("garage.csv", "0" * 64, 1234, "utf-8", "csv"),)))  # fmt: skip
    out = tmp_path / "garage.sqlite"
    pipeline.write(ledger, "sqlite", out)
    _assert_same(ledger, pipeline.read(out))  # detected by sniffing
    assert pipeline.detect(out).format == "sqlite"


def test_tables_read_a_batch_of_rows_at_a_time_read_back_exactly(garage, tmp_path, monkeypatch):
    """Rows fetched a few at a time (batches of 3, so the garage's lines span many) give the same books."""
    from migrator.readers import sqlite as reader

    out = tmp_path / "garage.sqlite"
    pipeline.write(garage, "sqlite", out)
    monkeypatch.setattr(reader, "ROWS_AT_ONCE", 3)
    _assert_same(garage, _read(out))


def test_plain_sql_gives_the_trial_balance(garage, tmp_path):
    """Any SQL tool can compute the balances: amounts are integer cents, nothing to decode."""
    out = tmp_path / "garage.sqlite"
    pipeline.write(garage, "sqlite", out)
    db = sqlite3.connect(out)
    rows = db.execute("SELECT account, SUM(amount) FROM lines GROUP BY account").fetchall()
    assert dict(rows) == trial_balance(garage)
    # 2 opening entries + 12 entries in 2023 + 9 in 2024, as samples/garage.py lists them
    assert db.execute("SELECT COUNT(DISTINCT entry) FROM lines").fetchone() == (23,)
    assert db.execute("SELECT typeof(amount), typeof(date) FROM lines LIMIT 1").fetchone() == ("integer", "text")
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    documented = {(t, c) for t, c in db.execute("SELECT table_name, column_name FROM schema_doc")}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for column in db.execute(f'PRAGMA table_info("{name}")').fetchall():
            assert (name, column[1]) in documented
    assert "-- amount in base currency" in db.execute("SELECT sql FROM sqlite_master WHERE name='lines'").fetchone()[0]
    db.close()


def test_other_sqlite_files_are_not_claimed(tmp_path, reference):
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()
    assert SqliteReader().sniff(Source(other)) == 0
    assert SqliteReader().sniff(Source(reference / "gnucash" / "simple_sample.sqlite.gnucash")) == 0
    with pytest.raises(Exception, match=r"not a migrator archive|no such table"):
        _read(other)


def test_input_is_not_modified(garage, tmp_path):
    out = tmp_path / "g.sqlite"
    pipeline.write(garage, "sqlite", out)
    before = out.read_bytes()
    _read(out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".g.sqlite.migrator.json", "g.sqlite"]


@settings(max_examples=25, deadline=None)
@given(ledger=ledgers())
def test_hypothesis_round_trip_is_exact(ledger):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "books.sqlite"
        pipeline.write(ledger, "sqlite", out)
        _assert_same(ledger, _read(out))


WINBIZ_GARAGE = Path(__file__).resolve().parents[1] / "samples" / "winbiz" / "DAT" / "garage"


def test_the_whole_winbiz_data_folder_is_archived(tmp_path: Path) -> None:
    """Partners, items, documents and their lines, and the tables migrator does not understand (the
    garage's vehicles, dos_info.dbf) all come back from the archive, and plain SQL finds them."""
    source = pipeline.read(WINBIZ_GARAGE)
    out = tmp_path / "garage.sqlite"
    assert pipeline.write(source, "sqlite", out) == []
    back = _read(out)
    _assert_same(source, back)
    assert back.documents.num_rows == 9 and back.document_lines.num_rows == 16 and back.items.num_rows == 9
    with sqlite3.connect(out) as db:
        [(table_name,)] = db.execute("SELECT table_name FROM source_tables_index WHERE name = 'vehicule.dbf'")
        plates = db.execute(f'SELECT "DJ_TEXTE3", "DJ_DATE1" FROM {table_name} ORDER BY position').fetchall()
        assert plates[0] == ("BE 123 456", "2017-03-14") and len(plates) == 4
        assert db.execute("SELECT open_amount FROM open_items WHERE id = 'R24-002'").fetchone() == (432400,)
        assert db.execute("SELECT sale_price, stock FROM items WHERE code = 'PNEU-H'").fetchone() == (25000, "12")


def test_an_archive_from_before_the_business_tables_still_reads(tmp_path: Path) -> None:
    out = tmp_path / "old.sqlite"
    pipeline.write(_odd_ledger(), "sqlite", out)
    with sqlite3.connect(out) as db:
        for name in ("items", "documents", "document_lines", "source_tables_index", "source_tables_columns"):
            db.execute(f"DROP TABLE {name}")
    back = _read(out)
    assert back.items.num_rows == back.documents.num_rows == 0 and back.source_tables == {}
    assert back.lines.equals(_odd_ledger().lines)


def test_a_column_of_one_value_but_one_row_reads_back_as_it_is(garage, tmp_path: Path) -> None:
    """The reader takes a column holding one value on every row without fetching it row by row: a row in
    the middle holding another value (or the same text in another case, or the number as text) is seen."""
    out = tmp_path / "garage.sqlite"
    pipeline.write(garage, "sqlite", out)
    with sqlite3.connect(out) as db:
        db.execute("UPDATE lines SET journal = 'X', cost_centre = 'ab', partner = '' ")
        db.execute("UPDATE lines SET journal = 'Y', cost_centre = 'AB' WHERE position = 5")
        db.execute("UPDATE lines SET partner = 'P1' WHERE position = 6")
    lines = _read(out).lines
    assert lines.column("journal").to_pylist() == ["X"] * 4 + ["Y"] + ["X"] * (lines.num_rows - 5)
    assert lines.column("cost_centre").to_pylist() == ["ab"] * 4 + ["AB"] + ["ab"] * (lines.num_rows - 5)
    assert lines.column("partner").to_pylist() == [""] * 5 + ["P1"] + [""] * (lines.num_rows - 6)


def test_a_column_of_one_value_is_stored_as_binding_it_would(tmp_path: Path) -> None:
    """Columns of one value go into the INSERT as literals: same storage classes and values as bound ones."""
    ledger = _odd_ledger()
    out = tmp_path / "odd.sqlite"
    pipeline.write(ledger, "sqlite", out)
    with sqlite3.connect(out) as db:
        rows = db.execute(
            "SELECT position, entry, typeof(entry), partner, currency, typeof(amount_currency) FROM lines ORDER BY 1"
        ).fetchall()
    assert rows == [(1, "A'1", "text", "", "EUR", "integer"), (2, "A'1", "text", "", "", "null")]


@pytest.mark.parametrize(("column", "value"), [("amount", 12.5), ("line", 1.25), ("vat_line", 0.5)])
def test_decimals_in_a_column_of_whole_numbers_are_refused(garage, tmp_path: Path, column: str, value: float) -> None:
    """An archive edited by hand with 12.5 in a column of cents is refused, naming the column and row:
    Arrow would have read 12 (whole REALs such as 12.0 read as the number they are)."""
    out = tmp_path / "garage.sqlite"
    pipeline.write(garage, "sqlite", out)
    with sqlite3.connect(out) as db:
        db.execute(f"UPDATE lines SET {column} = ? WHERE position = 7", (value,))
        db.execute("UPDATE lines SET amount = 1250.0 WHERE position = 3")
    with pytest.raises(SourceError, match=rf"lines\.{column} holds a number with decimals at position 7"):
        _read(out)


def test_whole_reals_in_a_column_of_cents_read_as_their_number(garage, tmp_path: Path) -> None:
    out = tmp_path / "garage.sqlite"
    pipeline.write(garage, "sqlite", out)
    with sqlite3.connect(out) as db:
        db.execute("UPDATE lines SET amount = 1250.0 WHERE position = 3")
    assert _read(out).lines.column("amount")[2].as_py() == 1250
