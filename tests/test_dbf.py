"""migrator's own DBF reader: exact values, encodings, and headers that lie."""

from __future__ import annotations

import datetime as dt
import struct
import sys
from pathlib import Path

from migrator import dbf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples" / "winbiz"))
import dbfwrite

FIELDS = [("NUMERO", "N", 6, 0), ("LIBELLE", "C", 30, 0), ("MONTANT", "N", 15, 2), ("DATE", "D", 8, 0)]
ROWS = [
    {"NUMERO": 1, "LIBELLE": "Café crème", "MONTANT": "1234.50", "DATE": dt.date(2024, 1, 31)},
    {"NUMERO": 2, "LIBELLE": "Müller AG", "MONTANT": "-0.05", "DATE": dt.date(2024, 2, 29)},
    {"NUMERO": 3, "LIBELLE": "Gelöscht", "MONTANT": "99999999999.99", "DATE": dt.date(2024, 3, 1)},
]


def test_values_are_exact_and_deleted_records_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "t.dbf"
    dbfwrite.write(path, FIELDS, ROWS, deleted=[2])
    table = dbf.read(path)
    assert table.num_rows == 2 and table.deleted == 1
    assert table.records.tolist() == [1, 2]
    assert table.columns["LIBELLE"].to_pylist() == ["Café crème", "Müller AG"]
    assert table.columns["MONTANT"].to_pylist() == ["1234.50", "-0.05"]  # numbers stay text: no float on the way
    assert table.columns["DATE"].to_pylist() == [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]


def test_utf8_tables_decode_with_the_encoding_given(tmp_path: Path) -> None:
    path = tmp_path / "u.dbf"
    dbfwrite.write(path, FIELDS, ROWS[:2], encoding="utf-8")
    table = dbf.read(path, encoding="utf-8")
    assert table.columns["LIBELLE"].to_pylist() == ["Café crème", "Müller AG"]


def test_a_header_that_counts_too_many_records(tmp_path: Path) -> None:
    path = tmp_path / "cut.dbf"
    dbfwrite.write(path, FIELDS, ROWS)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 5)
    path.write_bytes(bytes(data))
    table = dbf.read(path)
    assert table.num_rows == 3 and table.truncated == 4


def test_a_header_that_counts_too_few_records(tmp_path: Path) -> None:
    path = tmp_path / "more.dbf"
    dbfwrite.write(path, FIELDS, ROWS)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 1)
    path.write_bytes(bytes(data))
    table = dbf.read(path)
    assert table.num_rows == 3  # every whole record the file holds is read (tests/test_dbf_edges.py)
    assert table.notes == [
        "the header counts 1 records but the file holds 3: all 3 were read (the header may be damaged: "
        "check the file in Winbiz)"
    ]
