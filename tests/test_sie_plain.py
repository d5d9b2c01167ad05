"""The SIE reader's column-wise path for plainly written vouchers reads every file as the record loop
alone does: same ledger, problems and extras, on reference, written and generated/mutated files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.model import Ledger
from migrator.readers import sie as reader
from migrator.readers.base import ReadOptions
from migrator.sources import Source
from migrator.writers.sie import SieWriter


def _ipc(table: pa.Table) -> bytes:
    table = table.combine_chunks()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return sink.getvalue()


def _read(path: Path) -> object:
    try:
        ledger = reader.SieReader().read(Source(path), ReadOptions())
    except Exception as exc:  # the same refusal is part of reading alike
        return type(exc).__name__, str(exc)
    extras = {k: _ipc(v) for k, v in ledger.extras.items()}
    return _ipc(ledger.lines), _ipc(ledger.accounts), ledger.problems, extras, ledger.encoding, ledger.company


def _record_loop(monkeypatch: pytest.MonkeyPatch, path: Path) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(reader, "_plain_vouchers", lambda _lines: None)
        return _read(path)


def test_reference_and_written_files_read_alike(
    monkeypatch: pytest.MonkeyPatch, garage: Ledger, reference: Path, tmp_path: Path
) -> None:
    written = tmp_path / "garage.se"
    SieWriter(today=dt.date(2026, 1, 2)).write(garage, written)
    files = [written, *sorted((reference / "sie").iterdir())]
    assert [_read(p) for p in files] == [_record_loop(monkeypatch, p) for p in files]
    text = written.read_bytes().decode("cp437").split("\n")
    found = reader._plain_vouchers(text)
    assert found is not None
    assert len(found.starts) == text.count("}\r")  # every voucher migrator writes is plain


VOUCHER = '#VER A {n} 20240105 "Rechnung {n}"\r\n{{\r\n\t#TRANS 1020 {{}} 100.50 20240105 "Bank"\r\n\t#TRANS 3200 {{1 "K1"}} -100.50 20240105 ""\r\n}}'
HEAD = '#FLAGGA 0\r\n#FORMAT PC8\r\n#SIETYP 4\r\n#FNAMN "Test AB"\r\n#RAR 0 20240101 20241231\r\n#KONTO 1020 "Bank"'
odd = st.sampled_from(['"', "\\", "{", "}", "{}", '{2 "P"}', "#TRANS", "#trans", "1,5", "x", "", "20241301",
                       "-0.5", "1.234", "Å", "\x1c", "\t", "#VER", '"a b"'])  # fmt: skip


@st.composite
def files(draw: st.DrawFn) -> bytes:
    lines = HEAD.split("\r\n")
    for n in range(1, draw(st.integers(1, 6)) + 1):
        lines += VOUCHER.format(n=n).split("\r\n")
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        words = lines[at].split(" ")
        how = draw(st.sampled_from(["word", "drop", "insert", "append"]))
        if how == "word":
            words[draw(st.integers(0, len(words) - 1))] = draw(odd)
            lines[at] = " ".join(words)
        elif how == "drop":
            del lines[at]
        elif how == "insert":
            lines.insert(at, draw(st.sampled_from(["", "{", "}", '#VER B 1 20240101 "t"'])))
        else:
            lines[at] += " " + draw(odd)
    return "\r\n".join(lines).encode("cp437")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=files())
def test_generated_and_mutated_files_read_alike(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "books.se"
    path.write_bytes(data)
    assert _read(path) == _record_loop(monkeypatch, path)
