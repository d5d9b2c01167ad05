"""The canonical model's own rules: tables conformed to their schemas."""

from __future__ import annotations

import pyarrow as pa

from migrator import model


def _lines(files: list[str]) -> pa.Table:
    return model.conform("lines", {"source_file": pa.array(files, pa.string()), "source_row": list(range(len(files)))})


def test_one_file_name_per_line_is_held_once() -> None:
    size = 200_000
    column = _lines(["/books/journal of the garage.csv"] * size).column("source_file")
    assert column.to_pylist() == ["/books/journal of the garage.csv"] * size
    data = {chunk.buffers()[2].address for chunk in column.chunks}
    assert len(data) == 1  # every slice shares the bytes of one short array
    assert sum(chunk.buffers()[2].size for chunk in column.chunks[:1]) < 4 * 1024 * 1024


def test_several_file_names_stay_as_they_are() -> None:
    files = ["a.csv"] * 100_000 + ["b.csv"] * 100_000
    column = _lines(files).column("source_file")
    assert column.to_pylist() == files
    assert column.num_chunks == 1


def test_short_columns_stay_as_they_are() -> None:
    column = _lines(["a.csv"] * 10).column("source_file")
    assert column.num_chunks == 1 and column.to_pylist() == ["a.csv"] * 10
