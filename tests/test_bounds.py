"""Bounded resources on every input: bombs are refused within their bound, with the peak memory
measured, and slow SQL is stopped by the time bound (migrator.limits)."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import limits, pipeline
from migrator.errors import MigratorError, SourceError
from migrator.sources import unpack_zip

MiB = 1 << 20
PEAK_MIB = 400
"""The most memory (maximum resident set) a refused bomb may cost the whole command, interpreter
and libraries included (they take about 150 MiB alone)."""


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set MIGRATOR_* variables for one test; the bounds are read again before and after it."""
    limits.current.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    limits.current.cache_clear()


def run_measured(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 60) -> dict:
    """Run `migrator ARGS` in a fresh interpreter; its exit code, output, seconds and peak memory (MiB)."""
    script = (
        "import sys, time\n"
        "from click.testing import CliRunner\n"
        "from migrator.cli import cli\n"
        "start = time.monotonic()\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large pytest process
        # would report its parent's peak (proc(5), getrusage(2)).
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "result = CliRunner().invoke(cli, sys.argv[1:])\n"
        "import json\n"
        "print(json.dumps({'code': result.exit_code, 'output': result.output, 'seconds': time.monotonic() - start,\n"
        "    'peak': peak()}))\n"
    )
    environment = {**os.environ, **(env or {})}
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=environment, check=False)  # fmt: skip
    assert done.stdout, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


# ---------------------------------------------------------------------------------------------- gzip


def _gzip_stream(path: Path, head: bytes, filler: bytes, total: int) -> None:
    block = filler * (MiB // len(filler))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(head)
        for _ in range(total // len(block)):
            out.write(block)


def test_a_gnucash_gzip_bomb_is_stopped_at_its_bound(tmp_path: Path) -> None:
    # Well-formed so far, comments only: lxml would go on parsing (and keep every comment, 2.7 GB at
    # 300 MiB, before the reader dropped them) until the bytes run out.
    bomb = tmp_path / "bomb.gnucash"
    _gzip_stream(bomb, b'<?xml version="1.0" encoding="utf-8" ?>\n<gnc-v2>\n', b"<!---->", 200 * MiB)
    assert bomb.stat().st_size < limits.RATIO_FREE_MB * MiB // 200  # so the bound is 64 MiB
    result = run_measured("inspect", bomb)
    assert result["code"] == 2, result
    message = result["output"]
    assert str(bomb) in message and "refusing a decompression bomb" in message, message
    assert "MIGRATOR_MAX_RATIO" in message
    assert result["peak"] < PEAK_MIB, result
    assert result["seconds"] < 10, result


@pytest.mark.parametrize("element", [b"<a/>", b"<a>xxxxxxxxxxxxxxxxx</a>"])
def test_a_gnucash_bomb_of_small_elements_is_stopped_by_its_tags(tmp_path: Path, element: bytes) -> None:
    # Within the byte bounds (64 MiB) lxml would build 16 million elements: 2.1 GB before this bound.
    bomb = tmp_path / "elements.gnucash"
    _gzip_stream(bomb, b"<?xml version='1.0'?>\n<gnc-v2>\n", element, 200 * MiB)
    result = run_measured("inspect", bomb)
    assert result["code"] == 2, result
    assert str(bomb) in result["output"] and re.search(r"more than \d+ XML tags", result["output"]), result
    assert "MIGRATOR_MAX_RATIO" in result["output"]
    assert result["peak"] < PEAK_MIB and result["seconds"] < 10, result


def test_a_gzip_of_zeros_is_refused_at_once(tmp_path: Path) -> None:
    bomb = tmp_path / "zeros.gnucash"
    _gzip_stream(bomb, b"", b"\0", 256 * MiB)
    result = run_measured("inspect", bomb, "--from", "gnucash")
    assert result["code"] == 2 and str(bomb) in result["output"], result
    assert result["peak"] < PEAK_MIB and result["seconds"] < 10, result


def test_the_gzip_bounds_and_the_variables_that_raise_them(tmp_path: Path, bounds: pytest.MonkeyPatch) -> None:
    from migrator.sources import gunzip

    blanks = tmp_path / "blanks.gz"
    _gzip_stream(blanks, b"", b" ", 80 * MiB)
    produced = []
    with pytest.raises(SourceError, match=r"blanks\.gz: the gzip file unpacks to more than 67108864 bytes, more than "
                                          r"200× its packed size .*MIGRATOR_MAX_RATIO"):  # fmt: skip
        for chunk in gunzip(blanks, str(blanks)):
            produced.append(len(chunk))
    assert sum(produced) == 64 * MiB  # stopped at the bound, in 1 MiB blocks
    # ratio raised: now the total bound stops it, and says which variable raises that
    bounds.setenv("MIGRATOR_MAX_RATIO", "100000")
    bounds.setenv("MIGRATOR_MAX_INPUT_MB", "16")
    limits.current.cache_clear()
    with pytest.raises(SourceError, match=r"blanks\.gz: .*the bound is 16 MB; raise it with MIGRATOR_MAX_INPUT_MB"):
        sum(len(chunk) for chunk in gunzip(blanks, str(blanks)))
    # both raised: every byte comes out
    bounds.setenv("MIGRATOR_MAX_INPUT_MB", "200")
    limits.current.cache_clear()
    assert sum(len(chunk) for chunk in gunzip(blanks, str(blanks))) == 80 * MiB


def test_a_real_compressed_gnucash_book_is_read(reference: Path) -> None:
    books = sorted((reference / "gnucash").glob("*.gnucash"))
    compressed = [b for b in books if b.read_bytes()[:2] == b"\x1f\x8b"]
    if not compressed:
        pytest.skip("no compressed GnuCash book among the reference files")
    ledger = pipeline.read(compressed[0])
    assert ledger.format == "gnucash" and ledger.lines.num_rows > 0


def test_a_bad_variable_is_a_clear_error(bounds: pytest.MonkeyPatch) -> None:
    bounds.setenv("MIGRATOR_MAX_RATIO", "lots")
    with pytest.raises(MigratorError, match="MIGRATOR_MAX_RATIO='lots': expected a positive"):
        limits.current()


# ----------------------------------------------------------------------------------------------- zip


def _stored_zip(path: Path, members: int, size: int, declared: int | None = None) -> None:
    """A zip of `members` members of `size` zero bytes each, the deflated member built once and
    repeated (the layout of the zip application note: local headers, then the central directory);
    each member declares `declared` bytes (by default its true size)."""
    plain = bytes(size)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(plain) + packer.flush()
    crc = zlib.crc32(plain)
    size = size if declared is None else declared
    central = bytearray()
    with path.open("wb") as out:
        for index in range(members):
            name = f"t/{index:05}.csv".encode()
            offset = out.tell()
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0))
            out.write(name + data)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                   len(name), 0, 0, 0, 0, 0o100644 << 16, offset) + name  # fmt: skip
        start = out.tell()
        out.write(central)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, len(central), start, 0))


def test_many_small_members_are_counted_together(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    _stored_zip(archive, 4000, MiB)  # 4,000 members of 1 MiB (ratio about 1000), 4 GiB in all
    assert archive.stat().st_size < 8 * MiB
    with zipfile.ZipFile(archive) as zf:  # a valid archive
        assert len(zf.infolist()) == 4000 and zf.read("t/00000.csv") == bytes(MiB)
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError, match=r"many\.zip: the archive unpacks to 4194304000 bytes, more than 200×"):
        unpack_zip(archive, target, str(archive))
    assert list(target.iterdir()) == []  # refused before a byte was written


def test_many_small_members_from_the_command_line(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    _stored_zip(archive, 4000, MiB)
    result = run_measured("detect", archive)
    assert result["code"] == 2 and "MIGRATOR_MAX_RATIO" in result["output"], result
    assert result["peak"] < PEAK_MIB and result["seconds"] < 10, result


def test_an_archive_past_the_input_bound_is_refused_unwritten(tmp_path: Path, bounds: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "many.zip"
    _stored_zip(archive, 100, MiB)
    bounds.setenv("MIGRATOR_MAX_RATIO", "100000")
    bounds.setenv("MIGRATOR_MAX_INPUT_MB", "30")
    with pytest.raises(SourceError, match=r"104857600 bytes: refusing it \(the bound is 30 MB; raise it with "
                                          r"MIGRATOR_MAX_INPUT_MB\)"):  # fmt: skip
        unpack_zip(archive, tmp_path, str(archive))
    assert not (tmp_path / "t").exists()


def test_a_member_larger_than_declared_is_never_written_past_its_declared_size(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    _stored_zip(archive, 3, 50 * MiB, declared=1000)  # each declares 1,000 bytes and holds 50 MiB
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError, match=r"liar\.zip: (not a readable zip archive|.*larger than declared)"):
        unpack_zip(archive, target, str(archive))
    assert sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) <= 1000


def test_an_archive_of_real_books_within_the_bounds_unpacks(tmp_path: Path, samples: Path) -> None:
    archive = tmp_path / "dat.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((samples / "winbiz" / "DAT").rglob("*")):
            zf.write(path, path.relative_to(samples / "winbiz"))
    assert pipeline.read(archive, dossier="garage").lines.num_rows == 94


def test_too_many_members(tmp_path: Path, bounds: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "many.zip"
    _stored_zip(archive, 50, 10)
    bounds.setenv("MIGRATOR_MAX_MEMBERS", "40")
    with pytest.raises(SourceError, match=r"50 members: refusing it .*MIGRATOR_MAX_MEMBERS"):
        pipeline.detect(archive)


# ---------------------------------------------------------------------------------------------- xlsx


def _workbook(path: Path, sheet: bytes | None = None, blob: int = 0) -> Path:
    """A workbook migrator writes, its Journal sheet replaced by `sheet`, or followed by `blob` bytes
    of blank cells' padding (written in blocks, never held whole)."""
    from migrator.writers.xlsx import FORMAT as Writer

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))
    import garage

    plain = path.with_suffix(".plain.xlsx")
    Writer().write(garage.ledger(), plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        journal = _journal_part(source)
        for info in source.infolist():
            data = source.read(info)
            if info.filename == journal and sheet is not None:
                data = sheet
            if info.filename == journal and blob:
                end = data.rindex(b"</worksheet>")
                with out.open(info.filename, "w", force_zip64=True) as member:
                    member.write(data[:end])
                    for _ in range(blob // MiB):
                        member.write(b" " * MiB)
                    member.write(data[end:])
                continue
            out.writestr(info.filename, data)
    plain.unlink()
    return path


def _journal_part(book: zipfile.ZipFile) -> str:
    from migrator import xmlsafe

    root = xmlsafe.parse_bytes(book.read("xl/workbook.xml"))
    rels = xmlsafe.parse_bytes(book.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    for sheet in root.iter("{*}sheet"):
        if sheet.get("name") == "Journal":
            rid = sheet.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
            return "xl/" + str(target[rid]).removeprefix("/xl/")
    raise AssertionError("no Journal sheet")


def test_an_xlsx_bomb_is_refused_before_openpyxl_reads_it(tmp_path: Path) -> None:
    bomb = _workbook(tmp_path / "bomb.xlsx", blob=300 * MiB)
    assert bomb.stat().st_size < 2 * MiB
    for args in (("inspect", bomb), ("inspect", bomb, "--from", "xlsx"), ("detect", bomb)):
        result = run_measured(*args)
        assert result["code"] == 2, result
        assert str(bomb) in result["output"] and "MIGRATOR_MAX_RATIO" in result["output"], result
        assert result["peak"] < PEAK_MIB and result["seconds"] < 10, result


def test_an_xlsx_bomb_in_a_folder_of_exports_is_refused(tmp_path: Path, bounds: pytest.MonkeyPatch) -> None:
    # A folder reaches the readers without `sources.opened` checking its files: each reader checks.
    folder = tmp_path / "exports"
    folder.mkdir()
    bomb = _workbook(folder / "ecritures.xlsx", blob=100 * MiB)
    from migrator.readers.bexio import _xlsx_table
    from migrator.readers.winbiz.files import excel_rows

    for read in (lambda: excel_rows(bomb, "ecritures.xlsx"), lambda: _xlsx_table(bomb, "ecritures.xlsx")):
        with pytest.raises(SourceError, match=r"ecritures\.xlsx: .*unpacks to .*MIGRATOR_MAX_RATIO"):
            read()
    bounds.setenv("MIGRATOR_MAX_XLSX_MB", "1")
    bounds.setenv("MIGRATOR_MAX_RATIO", "100000")
    limits.current.cache_clear()
    plain = _workbook(tmp_path / "plain.xlsx", blob=2 * MiB)
    with pytest.raises(SourceError, match=r"plain\.xlsx: .*the bound is 1 MB; raise it with MIGRATOR_MAX_XLSX_MB"):
        pipeline.read(plain, "xlsx")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("not-a-workbook.xlsx", "zip"),
        ("bad-xml.xlsx", "xml"),
        ("cut.xlsx", "cut"),
        ("text.xlsx", "text"),
    ],
)
def test_a_corrupt_workbook_is_a_clear_message(tmp_path: Path, run_cli, name: str, make: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    if make == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "no workbook here")
    elif make == "xml":  # a Journal sheet whose XML breaks after its header row
        good = _workbook(tmp_path / "good.xlsx")
        with zipfile.ZipFile(good) as zf:
            sheet = zf.read(_journal_part(zf))
        cut = sheet.index(b"</row>", sheet.index(b"</row>") + 1)
        _workbook(path, sheet=sheet[:cut] + b'<row><c r="A3"><v>1</v></c></rowx></sheetData></worksheet>')
    elif make == "cut":
        whole = _workbook(tmp_path / "good.xlsx").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    else:
        path.write_text("date,account,amount\n")
    result = run_cli("inspect", path, "--from", "xlsx")
    assert str(path) in result.output and "internal error" not in result.output
    if make == "xml":  # calamine reads past the wrong end tag: the row it makes of it is a bad row, named
        assert "sheet Journal, row 3: date: the cell is empty" in result.output, result.output
        return
    assert result.exit_code == 2, result.output
    assert "not a readable Excel workbook" in result.output or "not a zip" in result.output, result.output


# -------------------------------------------------------------------------------------- SQLite, SQL


RECURSIVE = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n AS {columns} FROM r"


def test_a_recursive_view_named_like_the_archive_meta_table(tmp_path: Path) -> None:
    path = tmp_path / "trap.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE VIEW meta AS WITH RECURSIVE r(key, value) AS (SELECT 'kind', 'migrator' "
               "UNION ALL SELECT key, value FROM r) SELECT key, value FROM r")  # fmt: skip
    db.commit()
    db.close()
    result = run_measured("detect", path, timeout=30)
    assert result["code"] == 2 and "no reader recognises" in result["output"], result
    assert result["seconds"] < 3, result
    with pytest.raises(SourceError, match=r"trap\.sqlite: an SQLite file, but not a migrator archive"):
        pipeline.read(path, "sqlite")


def _gnucash_tables(db: sqlite3.Connection, view: str = "") -> None:
    """The GnuCash SQLite tables the reader reads (empty), one of them (`view`) a recursive view."""
    tables = {
        "books": "guid, root_account_guid, root_template_guid",
        "commodities": "guid, namespace, mnemonic",
        "accounts": "guid, name, account_type, commodity_guid, parent_guid, code, description, hidden, placeholder",
        "transactions": "guid, currency_guid, num, post_date, enter_date, description",
        "splits": "guid, tx_guid, account_guid, memo, action, value_num, value_denom, quantity_num, quantity_denom, "
        "lot_guid",
        "slots": "obj_guid, name, slot_type, int64_val, string_val, guid_val, timespec_val, gdate_val",
    }
    for name, columns in tables.items():
        if name == view:
            first = columns.split(", ")
            select = ", ".join(f"n AS {c}" for c in first)
            db.execute(f"CREATE VIEW {name} AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                       f"SELECT {select} FROM r")  # fmt: skip
        else:
            db.execute(f"CREATE TABLE {name} ({columns})")


def test_a_recursive_view_named_like_a_gnucash_table(tmp_path: Path) -> None:
    path = tmp_path / "trap.gnucash"
    db = sqlite3.connect(path)
    _gnucash_tables(db, view="transactions")
    db.commit()
    db.close()
    result = run_measured("detect", path, timeout=30)
    assert result["code"] == 2 and result["seconds"] < 3, result
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"trap\.gnucash: an SQLite file, but not a GnuCash book"):
        pipeline.read(path, "gnucash")
    assert time.monotonic() - started < 3


def test_a_recursive_view_in_place_of_an_optional_table_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "book.gnucash"
    db = sqlite3.connect(path)
    _gnucash_tables(db, view="slots")
    db.execute("INSERT INTO commodities VALUES ('c1', 'CURRENCY', 'CHF')")
    db.execute("INSERT INTO books VALUES ('b1', 'root', 'troot')")
    db.execute("INSERT INTO accounts VALUES ('root', 'Root Account', 'ROOT', 'c1', NULL, '', '', 0, 0)")
    for guid, code, kind in (("a1", "1000", "BANK"), ("a2", "3000", "INCOME")):
        db.execute(
            "INSERT INTO accounts VALUES (?, ?, ?, 'c1', 'root', ?, '', 0, 0)", (guid, f"Acc {code}", kind, code)
        )
    db.execute("INSERT INTO transactions VALUES ('t1', 'c1', '1', '2024-03-01 10:59:00', '2024-03-01', 'Sale')")
    db.execute("INSERT INTO splits VALUES ('s1', 't1', 'a1', '', '', 12345, 100, 12345, 100, NULL)")
    db.execute("INSERT INTO splits VALUES ('s2', 't1', 'a2', '', '', -12345, 100, -12345, 100, NULL)")
    db.commit()
    db.close()
    assert pipeline.detect(path).format == "gnucash"
    ledger = pipeline.read(path)
    assert sorted(ledger.lines.column("amount").to_pylist()) == [-12345, 12345]


def test_a_slow_query_on_a_real_table_is_stopped(tmp_path: Path, bounds: pytest.MonkeyPatch) -> None:
    # The reader's own queries are cheap; the bound is what stops whatever a crafted file makes slow.
    from migrator.sources import sqlite_reading

    path = tmp_path / "big.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE a (x)")
    db.executemany("INSERT INTO a VALUES (?)", [(i,) for i in range(1000)])
    db.commit()
    db.close()
    bounds.setenv("MIGRATOR_SQL_SECONDS", "0.5")
    started = time.monotonic()
    expected = (r"big\.sqlite: reading: reading took longer than 0\.5 s: refusing it \(the bound is 0\.5 s; raise it "
                r"with MIGRATOR_SQL_SECONDS\)")  # fmt: skip
    with pytest.raises(SourceError, match=expected), sqlite_reading(path, str(path), "reading") as slow:
        slow.execute("SELECT count(*) FROM a, a AS b, a AS c").fetchall()
    assert time.monotonic() - started < 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sqlite"]  # nothing written beside the input


DUMP_HEAD = """PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE gnclock ( Hostname varchar(255), PID int );
CREATE TABLE a (x integer);
"""


def _dump(path: Path, body: str) -> Path:
    rows = "".join(f"INSERT INTO a VALUES({i});\n" for i in range(1000))
    buf = sqlite3.connect(":memory:")
    _gnucash_tables(buf)
    schema = "".join(f"{line};\n" for (line,) in buf.execute("SELECT sql FROM sqlite_master"))
    path.write_text(DUMP_HEAD + schema + rows + body + "COMMIT;\n")
    return path


def test_a_sql_dump_with_a_cross_join_is_stopped_by_the_time_bound(tmp_path: Path) -> None:
    dump = _dump(
        tmp_path / "slow.gnucash", "SELECT a.x FROM a, a AS b, a AS c, a AS d WHERE a.x + b.x + c.x + d.x < 0;\n"
    )
    assert pipeline.detect(dump).format == "gnucash"
    result = run_measured("inspect", dump, env={"MIGRATOR_SQL_SECONDS": "1"}, timeout=30)
    assert result["code"] == 2, result
    assert str(dump) in result["output"] and "longer than 1 s" in result["output"], result
    assert "MIGRATOR_SQL_SECONDS" in result["output"] and result["seconds"] < 5, result


def test_a_sql_dump_that_grows_when_loaded_is_stopped(tmp_path: Path) -> None:
    dump = _dump(tmp_path / "grows.gnucash", "CREATE TABLE big AS SELECT a.x, b.x AS y FROM a, a AS b, a AS c;\n")
    result = run_measured("inspect", dump, timeout=60)
    assert result["code"] == 2, result
    assert str(dump) in result["output"] and "grows past 67108864 bytes when loaded" in result["output"], result
    assert "MIGRATOR_MAX_RATIO" in result["output"]
    assert result["peak"] < PEAK_MIB and result["seconds"] < 20, result


def test_a_corrupt_xls_export_is_a_clear_message(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ecritures.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"not the rest of an OLE file")  # xlrd's CompDocError
    result = run_cli("inspect", path, "--from", "winbiz")
    assert result.exit_code == 2 and "internal error" not in result.output
    assert f"{path}: not a readable Excel file" in result.output
