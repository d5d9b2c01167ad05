"""A UTF-8 FEC read from disk a block of lines at a time gives the same ledger and problems as the same
file decoded whole (the path of other encodings), whatever the block size."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.model import Ledger
from migrator.readers import fec
from migrator.readers.base import ReadOptions
from migrator.sources import Source

HEADER = list(fec.COLUMNS)
CELLS = ["", " ", "OD", "AN", "VT", "1", "2", "20240131", "20230105", "2024-01-31", "20240230", "401000", "411",
         "606", "Fournisseur", "Client é", "12,50", " 0000000069,60 ", "0,00", "-5,00", "1.234,56", "abc", "USD",
         "EUR", "A nouveaux", "x|y"]  # fmt: skip


def _read(path: Path) -> Ledger:
    return fec.FecReader().read(Source(path), ReadOptions())


@st.composite
def fec_files(draw: st.DrawFn) -> bytes:
    separator = draw(st.sampled_from(["\t", "|"]))
    rows = []
    for _ in range(draw(st.integers(0, 15))):
        width = len(HEADER) + draw(st.sampled_from([0, 0, 0, 0, 1, -1, 2]))
        rows.append(separator.join(draw(st.sampled_from(CELLS)) for _ in range(width)))
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.sampled_from(["", "  ", separator * 2])))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r\r\n"]))
    text = separator.join(HEADER) + newline + newline.join(rows) + draw(st.sampled_from(["", newline]))
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=fec_files(), block=st.sampled_from([1, 5, 64, 1 << 24]), batch=st.sampled_from([2, 1 << 16]))
def test_blocks_and_whole_text_read_alike(
    data: bytes, block: int, batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "123456789FEC20241231.txt"
    path.write_bytes(data)
    with monkeypatch.context() as patched:
        patched.setattr(fec, "_utf8", lambda path: None)  # decoded whole, as a file in another encoding is
        whole = _read(path)
    monkeypatch.setattr(fec, "BLOCK", block)
    monkeypatch.setattr(fec, "BATCH", batch)
    assert fec._utf8(path) == ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    blocks = _read(path)
    assert blocks.lines.equals(whole.lines)
    assert blocks.accounts.equals(whole.accounts) and blocks.partners.equals(whole.partners)
    assert blocks.extras.keys() == whole.extras.keys()
    assert all(blocks.extras[k].equals(whole.extras[k]) for k in whole.extras)
    assert blocks.problems == whole.problems
    assert blocks.encoding == whole.encoding


def test_latin9_file_reads_like_its_utf8_twin(tmp_path: Path) -> None:
    """The same lines in ISO-8859-15 (decoded whole) and in UTF-8 (read in blocks): same lines."""
    text = "\t".join(HEADER) + "\r\n" + "\t".join(
        ["AC", "Achats", "1", "20240105", "606", "Fournitures é€", "", "", "F1", "20240105", "Papier €", "12,50",
         "0,00", "", "", "20240105", "", ""]) + "\r\n" + "\t".join(
        ["AC", "Achats", "1", "20240105", "401", "Fournisseurs", "F01", "Papeterie", "F1", "20240105", "Papier €",
         "0,00", "12,50", "", "", "20240105", "", ""]) + "\r\n"  # fmt: skip
    utf8, latin9 = tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"
    utf8.parent.mkdir()
    latin9.parent.mkdir()
    utf8.write_bytes(text.encode("utf-8"))
    latin9.write_bytes(text.encode("iso-8859-15"))
    a, b = _read(utf8), _read(latin9)
    assert (a.encoding, b.encoding) == ("utf-8", "iso-8859-15")
    assert a.lines.drop_columns(["source_file"]).equals(b.lines.drop_columns(["source_file"]))
    assert a.lines.column("description").to_pylist() == ["Papier €", "Papier €"]
    assert a.lines.column("amount").to_pylist() == [1250, -1250]
    assert a.accounts.column("name").to_pylist() == ["Fournitures é€", "Fournisseurs"]
