"""The xlsx reader's two ways through a sheet: fastexcel's Arrow columns for sheets laid out as the writer
lays them out, python-calamine's cells otherwise. Both must give the same books."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import ledgers

from migrator import pipeline
from migrator.model import Ledger
from migrator.readers import xlsx
from migrator.readers.base import ReadOptions
from migrator.sources import Source
from migrator.writers.xlsx import JOURNAL


def _read(path: Path, columnar: bool, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    with monkeypatch.context() as patch:
        if not columnar:
            patch.setattr(xlsx, "_columnar_book", lambda source: None)
        return xlsx.XlsxReader().read(Source(path, "book.xlsx"), ReadOptions())


def _same(a: Ledger, b: Ledger) -> None:
    assert a == b
    for name in ("accounts", "groups", "vat_codes", "lines", "partners", "open_items"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.problems == b.problems
    assert set(a.extras) == set(b.extras) and all(a.extras[k].equals(b.extras[k]) for k in a.extras)


def _taken(path: Path, title: str = "Journal") -> bool:
    """Whether the sheet `title` is read as Arrow columns."""
    book = xlsx._columnar_book(Source(path))
    assert book is not None
    return xlsx._columns_at_once(book, JOURNAL, title) is not None


@pytest.fixture(scope="module")
def book(garage, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("columnar") / "garage.xlsx"
    pipeline.write(garage, "xlsx", path)
    return path


def _edit(path: Path, cells: dict[str, Any], out: Path, blank_row: int | None = None) -> Path:
    wb = openpyxl.load_workbook(path)
    sheet = wb["Journal"]
    if blank_row:
        sheet.insert_rows(blank_row)
    for ref, value in cells.items():
        sheet[ref] = value
    wb.save(out)
    return out


def test_the_writers_workbook_is_read_as_columns_and_as_cells_alike(book: Path, monkeypatch) -> None:
    assert _taken(book)
    _same(_read(book, True, monkeypatch), _read(book, False, monkeypatch))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(ledger=ledgers())
def test_any_ledgers_workbook_is_read_as_columns_and_as_cells_alike(tmp_path_factory, monkeypatch, ledger) -> None:
    path = tmp_path_factory.mktemp("any") / "book.xlsx"
    pipeline.write(ledger, "xlsx", path)
    assert _taken(path)
    _same(_read(path, True, monkeypatch), _read(path, False, monkeypatch))


# Row 3 of the garage journal: entry 1, line 2, 1 January 2023, account 1020, 48,300.00, from row 2 of
# samples/garage.py. Each edit below but the last is laid out otherwise than the writer lays out a sheet.
@pytest.mark.parametrize(
    ("cells", "blank_row", "expected", "columns"),
    [
        ({"C3": dt.datetime(2023, 1, 1, 13, 30)}, None, (dt.date(2023, 1, 1), 4830000, 2), False),  # a time of day
        ({"C3": dt.date(1900, 2, 27)}, None, (dt.date(1900, 2, 27), 4830000, 2), False),  # before 29.2.1900
        ({"G3": "48300.05"}, None, (dt.date(2023, 1, 1), 4830005, 2), False),  # an amount typed as text
        ({"G3": 48300.055}, None, None, False),  # not whole cents: an error, on its row
        ({}, 3, (dt.date(2023, 1, 1), 4830000, 2), False),  # a blank row before it
        ({"T1": "Note", "T3": "checked"}, None, (dt.date(2023, 1, 1), 4830000, 2), False),  # a column of the user's
        ({"R3": None, "S3": None}, None, (dt.date(2023, 1, 1), 4830000, 3), True),  # no origin: the sheet's row
    ],
    ids=["time-of-day", "before-march-1900", "text-amount", "fraction-of-cent", "blank-row", "unknown-column",
         "no-origin"],
)  # fmt: skip
def test_edited_sheets_read_as_columns_or_cell_by_cell_alike(
    book: Path, tmp_path: Path, monkeypatch, cells: dict[str, Any], blank_row: int | None, expected: tuple | None,
    columns: bool,
) -> None:  # fmt: skip
    edited = _edit(book, cells, tmp_path / "edited.xlsx", blank_row)
    assert _taken(edited) is columns
    ledger = _read(edited, True, monkeypatch)
    _same(ledger, _read(edited, False, monkeypatch))
    lines = ledger.lines.to_pylist()
    if expected is None:
        assert [(p.severity, p.row) for p in ledger.problems if p.severity == "error"] == [("error", 3)]
        assert not [r for r in lines if r["entry"] == "1" and r["line"] == 2]
        return
    line = next(r for r in lines if r["entry"] == "1" and r["line"] == 2)
    day, amount, source_row = expected
    assert (line["date"], line["account"], line["amount"], line["source_row"]) == (day, "1020", amount, source_row)
    if "R3" in cells:
        assert line["source_file"] == "book.xlsx, sheet Journal"
