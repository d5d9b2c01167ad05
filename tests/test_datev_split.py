"""The DATEV reader's fast paths (Arrow's CSV parser on the bytes or on the lines) read every file as
the row-wise path (Python's csv module) does: same ledger, problems and extras."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.readers import datev as reader
from migrator.readers.base import ReadOptions
from migrator.sources import Source
from migrator.writers import datev as writer
from migrator.writers.datev import COLUMNS, DatevWriter

HEADER = '"EXTF";700;21;"Buchungsstapel";13;20240102030405000;;"RE";"";"";1001;1;20240101;4;20240101;20241231;"";"";1;0;0;"EUR"'


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue()


def _read(path: Path, encoding: str | None = None) -> object:
    try:
        ledger = reader.DatevReader().read(Source(path), ReadOptions(encoding=encoding))
    except Exception as exc:  # the same refusal is part of reading alike
        return type(exc).__name__, str(exc)
    extras = {k: _ipc(v) for k, v in ledger.extras.items()}
    return _ipc(ledger.lines), _ipc(ledger.accounts), ledger.problems, extras, ledger.encoding, ledger.company


def _row_wise(monkeypatch: pytest.MonkeyPatch, path: Path, encoding: str | None = None) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(reader, "_arrow_bytes", lambda *_: None)
        patch.setattr(reader, "_arrow_file", lambda *_: None)
        return _read(path, encoding)


def _paths(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count which path each file takes."""
    taken = {"bytes": 0, "lines": 0}
    for name, key in (("_arrow_bytes", "bytes"), ("_arrow_file", "lines")):
        original = getattr(reader, name)

        def counted(*args: object, original: object = original, key: str = key) -> object:
            found = original(*args)  # type: ignore[operator]
            taken[key] += found is not None
            return found

        monkeypatch.setattr(reader, name, counted)
    return taken


def test_written_and_reference_files_read_alike(
    monkeypatch: pytest.MonkeyPatch, garage: object, reference: Path, tmp_path: Path
) -> None:
    DatevWriter(now=dt.datetime(2026, 1, 1)).write(garage, tmp_path)  # type: ignore[arg-type]
    sample = reference / "datev" / "EXTF_Buchungsstapel_v510_fmt7_sample_DAMAGED-ENCODING.csv"
    expected = [_row_wise(monkeypatch, tmp_path), _row_wise(monkeypatch, sample)]
    taken = _paths(monkeypatch)
    assert [_read(tmp_path), _read(sample)] == expected
    assert taken["bytes"] == 3  # both files of the written folder and the sample, straight from their bytes
    rows = sum(len(p.read_bytes().splitlines()) - 2 for p in tmp_path.glob("EXTF_Buchungsstapel_*.csv"))
    assert rows > 10
    assert reader.DatevReader().read(Source(tmp_path), ReadOptions()).lines.num_rows == 2 * rows


plain = st.one_of(
    st.sampled_from(["", '""', "1,00", "100,50", "S", "H", "s", "ſ", "1200", "8400", "0101", "3112", "2902",
                     "Buchungs-ID", "Eröffnungsbuchung", "USD", "EUR", "1,5", " ", "x", "é"]),
    st.text(alphabet='ab ;"€äß0,-', max_size=6).map(lambda s: '"' + s.replace('"', '""') + '"'),
)  # fmt: skip
odd = st.text(alphabet='ab ;"\r\n€äß0,-', max_size=6)  # stray quotes, line breaks: Python's csv module only


NAMES = ";".join(COLUMNS[:14]) + ";Beleginfo - Art 1;Beleginfo - Inhalt 1;KOST1 - Kostenstelle"


@st.composite
def files(draw: st.DrawFn) -> bytes:
    width = NAMES.count(";") + 1
    fields = st.one_of(plain, odd) if draw(st.booleans()) else plain
    widths = st.sampled_from([width, width - 3, width + 1, 1]) if draw(st.booleans()) else st.just(width)
    rows = [";".join(draw(fields) for _ in range(draw(widths))) for _ in range(draw(st.integers(0, 8)))]
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    text = newline.join([HEADER, NAMES, *rows]) + draw(st.sampled_from([newline, ""]))
    encoding = draw(st.sampled_from(["cp1252", "utf-8", "utf-8-sig"]))
    return text.encode(encoding, errors="replace")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=files())
def test_generated_and_mutated_files_read_alike(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "EXTF_Buchungsstapel.csv"
    path.write_bytes(data)
    assert _read(path) == _row_wise(monkeypatch, path)
    assert _read(path, "cp1252") == _row_wise(monkeypatch, path, "cp1252")


@given(st.text(alphabet=st.characters(max_codepoint=0x17F, exclude_categories=["Cs"]), max_size=30))
def test_writer_latin1_bytes_are_windows_1252(text: str) -> None:
    found = writer._latin1(pa.py_buffer(text.encode("utf-8")))
    latin = all(ord(c) < 0x80 or 0xA0 <= ord(c) <= 0xFF for c in text)
    assert (found is not None) == latin
    if found is not None:
        assert bytes(found) == text.encode("cp1252")
