"""`pipeline.convert`: validation runs beside the writer, and decides what becomes the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator import pipeline
from migrator.errors import ProblemsFound
from migrator.writers.csv import CsvWriter

HEADER = "entry,line,date,doc,description,account,amount,currency\n"


def _books(tmp_path: Path, balanced: bool) -> Path:
    source = tmp_path / "books.csv"
    credit = "-10.00" if balanced else "-9.00"
    source.write_text(f"{HEADER}1,1,2024-01-01,A,x,1000,10.00,CHF\n1,2,2024-01-01,A,x,3200,{credit},CHF\n")
    return source


def _failing_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    def write(self: CsvWriter, ledger: object, target: Path) -> list[object]:
        target.write_text("half")
        raise ValueError("the writer broke")

    monkeypatch.setattr(CsvWriter, "write", write)


def test_errors_in_the_books_are_reported_even_when_the_writer_fails(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    source = _books(tmp_path, balanced=False)
    _failing_writer(monkeypatch)
    with pytest.raises(ProblemsFound, match="1 error"):
        pipeline.convert(source, "csv", tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.csv"]


def test_a_writer_failing_on_sound_books_fails_the_conversion(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    source = _books(tmp_path, balanced=True)
    _failing_writer(monkeypatch)
    with pytest.raises(ValueError, match="the writer broke"):
        pipeline.convert(source, "csv", tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.csv"]


def test_sources_are_hashed_while_read(tmp_path: Path) -> None:
    import hashlib

    source = _books(tmp_path, balanced=True)
    result = pipeline.convert(source, "csv", tmp_path / "out.csv")
    [listed] = result.source.company.source_files
    assert listed.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (listed.path, listed.size, listed.format, listed.encoding) == (
        str(source),
        source.stat().st_size,
        "csv",
        "utf-8",
    )
    assert result.verified


@pytest.mark.parametrize("to", ["sqlite", "xlsx", "csv"])
def test_outputs_that_list_their_inputs_carry_the_inputs_sha256(tmp_path: Path, to: str) -> None:
    import hashlib

    source = _books(tmp_path, balanced=True)
    out = tmp_path / f"out.{to}"
    result = pipeline.convert(source, to, out)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert [f.sha256 for f in result.source.company.source_files] == [digest]
    if to == "sqlite":  # the archive lists its inputs and reads them back
        back = pipeline.read(out, to)
        assert [(f.path, f.sha256) for f in back.company.source_files] == [(str(source), digest)]
    if to == "xlsx":  # the Company sheet lists them
        from openpyxl import load_workbook

        cells = [c for row in load_workbook(out, read_only=True)["Company"].iter_rows(values_only=True) for c in row]
        assert digest in cells and str(source) in cells
