"""Legacy .xls exports: xlrd's warnings never reach stdout, so `inspect --json` stays valid JSON."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

xlwt = pytest.importorskip("xlwt")


def legacy_export(path: Path) -> Path:
    """A Winbiz import-layout journal of two entries as .xls, with 4 stray bytes after the compound file.

    The stray bytes make xlrd warn "file size (…) not 512 + multiple of sector size (512)", as it does
    on real exports that some programs pad or truncate; the workbook itself reads normally.
    """
    book = xlwt.Workbook(encoding="cp1252")
    sheet = book.add_sheet("export")
    dates = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    rows: list[list[object]] = [
        ["Date", "Voucher", "Text", "Cpt_debit", "Cpt_credit", "Montant"],
        [dt.date(2024, 3, 1), "B1", "Achat fournitures", "6500", "1020", 120.5],
        [dt.date(2024, 3, 4), "B2", "Vente comptant", "1000", "3200", 80.0],  # float-ok: an Excel cell
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, dates)
            else:
                sheet.write(r, c, value)
    book.save(str(path))
    with path.open("ab") as handle:
        handle.write(b"JUNK")
    return path


def test_xlrd_warns_on_this_file(tmp_path: Path) -> None:
    """The fixture provokes a warning indeed (else the next test would prove nothing)."""
    import io

    import xlrd

    log = io.StringIO()
    xlrd.open_workbook(str(legacy_export(tmp_path / "journal.xls")), logfile=log)
    assert "WARNING *** file size" in log.getvalue()


def test_inspect_json_of_a_legacy_xls_is_valid_json(tmp_path: Path) -> None:
    path = legacy_export(tmp_path / "journal.xls")
    script = "import sys; from migrator.cli import cli; cli(sys.argv[1:])"
    done = subprocess.run([sys.executable, "-c", script, "inspect", str(path), "--json"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # nothing but the JSON object on stdout
    assert report["format"] == "winbiz"
    assert report["counts"]["entries"] == 2 and report["counts"]["lines"] == 4
    # by hand from the rows above: 6500 +120.50, 1020 -120.50, 1000 +80.00, 3200 -80.00
    assert report["trial_balance"] == {"1000": "80.00", "1020": "-120.50", "3200": "-80.00", "6500": "120.50"}
    assert "WARNING" not in done.stderr + done.stdout


def test_the_workbook_is_opened_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlrd

    from migrator import pipeline

    path = legacy_export(tmp_path / "journal.xls")
    opened: list[str] = []
    real = xlrd.open_workbook

    def counting(filename: str, *args: object, **kwargs: object) -> object:
        opened.append(filename)
        return real(filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xlrd, "open_workbook", counting)
    ledger = pipeline.read(path)  # detection sniffs the header, then the reader reads every row
    assert ledger.format == "winbiz" and ledger.lines.num_rows == 4
    assert len(opened) == 1
