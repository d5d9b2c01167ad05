"""DBF and Winbiz data-folder edge cases: year folders without a journal, files that are not files,
headers whose record count disagrees with the file, and flag bytes other than a space or '*'.

Counts by hand from samples/winbiz/DAT/garage: 2023/ecriture.dbf holds 30 records of 353 bytes after
a 1217-byte header, the 4th flagged deleted ('*'); 2024/ecriture.dbf 28 records, none deleted."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import dbf, pipeline
from migrator.errors import SourceError
from migrator.model import Problem

GARAGE = Path(__file__).resolve().parent.parent / "samples" / "winbiz" / "DAT" / "garage"
HEADER, RECORD = 1217, 353


@pytest.fixture
def dossier(tmp_path: Path) -> Path:
    target = tmp_path / "garage"
    shutil.copytree(GARAGE, target)
    return target


def _about(problems: tuple[Problem, ...], text: str) -> list[Problem]:
    return [p for p in problems if text in p.message]


def _read_in_a_child(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`migrator inspect PATH ARGS` in another process, so that a read that blocks fails the test."""
    command = [sys.executable, "-c", "from migrator.cli import cli; cli()", "inspect", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


# ------------------------------------------------------------------------- years without a journal


def test_a_year_without_its_journal_beside_a_year_with_one_is_an_error(dossier: Path) -> None:
    (dossier / "2023" / "ecriture.dbf").unlink()
    ledger = pipeline.read(dossier)
    missing = _about(ledger.problems, "year 2023")
    assert len(missing) == 1 and missing[0].severity == "error"
    assert missing[0].message == ("year 2023 has no journal (ecriture.dbf): its entries are missing, while other "
                                  "years of the dossier have theirs")  # fmt: skip
    assert missing[0].file == f"{dossier}/2023"
    assert ledger.lines.num_rows > 0  # 2024 is read


def test_a_year_folder_holding_no_table_at_all_is_reported(dossier: Path) -> None:
    empty = dossier / "2022"
    empty.mkdir()
    (empty / "notes.txt").write_text("moved to the new server")
    ledger = pipeline.read(dossier)
    missing = _about(ledger.problems, "year 2022")
    assert [p.severity for p in missing] == ["error"]
    assert "has no journal (ecriture.dbf)" in missing[0].message


def test_a_lone_year_without_its_journal_is_a_warning(dossier: Path) -> None:
    shutil.rmtree(dossier / "2024")
    (dossier / "2023" / "ecriture.dbf").unlink()
    ledger = pipeline.read(dossier)
    missing = _about(ledger.problems, "year 2023")
    assert len(missing) == 1 and missing[0].severity == "warning"
    assert missing[0].message == "year 2023 has no journal (ecriture.dbf): no entries were read for it"
    assert ledger.lines.num_rows == 0


def test_a_folder_in_place_of_the_journal(dossier: Path) -> None:
    (dossier / "2023" / "ecriture.dbf").unlink()
    (dossier / "2023" / "ECRITURE.DBF").mkdir()
    ledger = pipeline.read(dossier)
    missing = _about(ledger.problems, "year 2023")
    assert [p.severity for p in missing] == ["error"]
    assert "has a folder named ECRITURE.DBF where its journal should be" in missing[0].message
    with pytest.raises(SourceError, match=r"ECRITURE\.DBF: a folder, where a dBASE/FoxPro table was expected"):
        dbf.read(dossier / "2023" / "ECRITURE.DBF", f"{dossier}/2023/ECRITURE.DBF")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_in_place_of_the_journal_is_never_opened(dossier: Path) -> None:
    journal = dossier / "2023" / "ecriture.dbf"
    journal.unlink()
    os.mkfifo(journal)  # opening it for reading would wait for a writer forever
    done = _read_in_a_child(dossier, "--json")
    assert done.returncode == 0, done.stderr
    assert "year 2023 has a ecriture.dbf that is not a regular file (a pipe, socket or device); it was not " \
           "opened: its entries are missing" in done.stdout  # fmt: skip
    # the same year folder alone, and the FIFO named directly
    shutil.rmtree(dossier / "2024")
    alone = _read_in_a_child(dossier / "2023", "--json")
    assert alone.returncode == 0 and '"severity": "warning"' in alone.stdout and "not a regular file" in alone.stdout
    direct = _read_in_a_child(journal)
    assert direct.returncode == 2 and "not a regular file" in direct.stderr + direct.stdout
    script = f"from pathlib import Path\nfrom migrator import dbf\ntry:\n    dbf.read(Path({str(journal)!r}))\n" \
             "except Exception as e:\n    print(e)"  # fmt: skip
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert "not a regular file (a pipe, socket or device), where a dBASE/FoxPro table was expected" in child.stdout


# ---------------------------------------------------------------------- record counts that disagree


def _set_count(path: Path, count: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, count)
    path.write_bytes(bytes(data))


def test_a_record_count_too_low_is_reconciled_from_the_file_size(dossier: Path) -> None:
    journal = dossier / "2024" / "ecriture.dbf"
    _set_count(journal, 20)  # the file still holds 28 records
    table = dbf.read(journal)
    assert table.num_rows == 28 and table.records.tolist() == list(range(1, 29)) and table.header_count == 20
    ledger = pipeline.read(dossier)
    counted = _about(ledger.problems, "the header counts")
    assert len(counted) == 1 and counted[0].severity == "warning" and counted[0].file == f"{dossier}/2024/ecriture.dbf"
    assert counted[0].message.startswith("the header counts 20 records but the file holds 28: all 28 were read")
    assert ledger.lines.num_rows == pipeline.read(GARAGE).lines.num_rows  # nothing dropped


def test_a_record_count_too_high_reads_every_whole_record_and_is_an_error(dossier: Path) -> None:
    journal = dossier / "2024" / "ecriture.dbf"
    _set_count(journal, 40)
    table = dbf.read(journal)
    assert table.num_rows == 28 and table.truncated == 29
    ledger = pipeline.read(dossier)
    cut = _about(ledger.problems, "cut off")
    assert len(cut) == 1 and cut[0].severity == "error" and cut[0].row == 29
    assert cut[0].message.startswith("the file is cut off: the header counts 40 records but the file holds 28 whole "
                                     "ones; record 29 and the following are missing")  # fmt: skip


# ---------------------------------------------------------------------------------------- flag bytes


@pytest.mark.parametrize("flag", [b"\x00", b"?"])
def test_a_flag_byte_other_than_space_or_star_is_deleted_and_counted(dossier: Path, flag: bytes) -> None:
    journal = dossier / "2023" / "ecriture.dbf"
    data = bytearray(journal.read_bytes())
    assert data[HEADER + 3 * RECORD] == ord("*") and data[HEADER + 6 * RECORD] == ord(" ")
    data[HEADER + 6 * RECORD] = flag[0]  # record 7
    journal.write_bytes(bytes(data))
    table = dbf.read(journal)
    assert table.num_rows == 28 and table.deleted == 2 and table.odd_flags == 1
    assert 7 not in table.records.tolist() and 4 not in table.records.tolist()
    ledger = pipeline.read(dossier)
    file = f"{dossier}/2023/ecriture.dbf"
    assert [(p.severity, p.message) for p in _about(ledger.problems, "deleted record(s) skipped")] == [
        ("info", "2 deleted record(s) skipped")
    ]
    odd = _about(ledger.problems, "deletion flag")
    assert len(odd) == 1 and odd[0].file == file and odd[0].severity == "warning"
    assert odd[0].message == (f"1 record(s) carry a deletion flag other than a space or '*' (0x{flag[0]:02X}; the "
                              "first is record 7): they were treated as deleted")  # fmt: skip
