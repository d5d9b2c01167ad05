"""Hostile and broken input, for every reader: a clear message or a correct result, never a traceback."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from migrator import pipeline, registry, years
from migrator.errors import MigratorError, SourceError
from migrator.model import Ledger, years_of
from migrator.parsing import detect_encoding
from migrator.reconcile import trial_balance
from migrator.sources import Source
from migrator.writers.base import FORMULA_STARTS
from migrator.writers.bexio import OFFSET_PREFIX

READERS = [f.name for f in registry.readable()]
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE AuditFile [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<AuditFile xmlns="urn:StandardAuditFile-Taxation-Financial:NO"><Header>&secret;</Header></AuditFile>
"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE VFPData [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<VFPData><c_tmpexport libelle="&d;&d;&d;&d;&d;&d;&d;&d;"/></VFPData>
"""


def read_directly(fmt: str, path: Path) -> None:
    """Read with the format's own reader: only a ledger or a MigratorError may come out."""
    reader = registry.get(fmt).reader()
    with contextlib.suppress(MigratorError):
        reader.read(Source(path), pipeline.ReadOptions())


def xml_readers() -> list[str]:
    return [f.name for f in registry.readable() if ".xml" in f.extensions or f.name in ("gnucash", "winbiz")]


@pytest.mark.parametrize("fmt", xml_readers())
@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["external-entity", "entity-bomb"])
def test_xml_entities_are_refused(tmp_path: Path, fmt: str, payload: bytes) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(payload)
    with pytest.raises(SourceError, match="entities"):
        pipeline.read(path, fmt)


@pytest.mark.parametrize("fmt", READERS)
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("zero.bin", b""),
        ("header-only.csv", b"date;account;amount\n"),
        ("utf16-no-bom.csv", "date,account,amount\n2024-01-01,1000,1.00\n".encode("utf-16-le")),
        ("random.bin", bytes((i * 7919) % 256 for i in range(4096))),
        ("long-line.txt", b"x" * (10 << 20) + b"\n"),
        ("nul.txt", b"\x00" * 1000),
    ],
)
def test_junk_gives_a_message_or_a_result(tmp_path: Path, fmt: str, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    read_directly(fmt, path)


@pytest.mark.parametrize("fmt", READERS)
def test_an_empty_folder(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(MigratorError):
        pipeline.read(tmp_path, fmt)


def _sample_inputs() -> Iterator[Path]:
    samples = Path(__file__).resolve().parent.parent / "samples"
    for path in sorted(samples.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".md", ".sh") and "__pycache__" not in path.parts:
            yield path


def test_no_command_modifies_its_inputs(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = list(_sample_inputs())
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    modes = {p: p.stat().st_mode for p in inputs}
    for folder in sorted({p.parent for p in inputs if p.parent != samples}):
        for path in [folder, *sorted(p for p in folder.iterdir() if p.is_file())]:
            run_cli("detect", path)
            run_cli("inspect", path, "--json")
            run_cli("convert", path, "--to", "csv", "-o", tmp_path / "out.csv", "--allow-problems")
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs} == before
    assert {p: p.stat().st_mode for p in inputs} == modes


# ------------------------------------------------------------------------------ per format, for finished formats
# For each text format: the file its reader reads, as its writer writes it for the demo company (bexio: the
# journal export sample). Folder formats name the file of the folder that carries the journal.

TEXT_FORMATS = {
    "infoniqa": None, "cresus": None, "sie": None, "csv": None, "runmyaccounts": "journal.csv",
    "banana": "transactions.txt", "datev": "EXTF_Buchungsstapel_2024.csv",
}  # fmt: skip
BEXIO_HEADER = ("Datum;Referenz;Soll;Haben;Beschreibung;Betrag;Buchungswährung;Umrechnungsfaktor;"
                "Betrag in Basiswährung;Währung in Basiswährung;MWST")  # fmt: skip
LONG = "Langer Text " * ((10 << 20) // 12)  # a field (and so a line) of 10 MB


def _written(ledger: Ledger, fmt: str, folder: Path) -> tuple[Path, Path]:
    """Write `ledger` as `fmt` into `folder`: (what to read, the journal file in it)."""
    target = folder / f"books{registry.get(fmt).default_extension}"
    pipeline.write(ledger, fmt, target)
    pick = TEXT_FORMATS[fmt]
    return target, (min(target.rglob(pick)) if pick else target)


def _with_description(ledger: Ledger, text: str, index: int | None = None) -> Ledger:
    """`ledger` with `text` as the description of one line (the first that is not an opening), or of all."""
    lines = ledger.lines
    values = lines.column("description").to_pylist()
    if index is None:
        values = [text] * len(values)
    else:
        values[index] = text
    return ledger.replace(lines=lines.set_column(lines.schema.get_field_index("description"), "description",
                                                 pa.array(values, pa.string())))  # fmt: skip


def _no_errors(ledger: Ledger) -> None:
    assert not [p for p in ledger.problems if p.severity == "error"]


# Formats that carry a description of any length (DATEV's Buchungstext holds 60 characters).
WHOLE_TEXT = ("infoniqa", "cresus", "sie", "csv", "runmyaccounts", "banana")


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_a_line_of_10_mb_is_read(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    index = garage.lines.column("opening").to_pylist().index(False)
    source, _ = _written(_with_description(garage, LONG, index), fmt, tmp_path)
    ledger = pipeline.read(source, fmt)
    _no_errors(ledger)
    assert trial_balance(_per_year(ledger, garage, fmt)) == trial_balance(garage)
    longest = max(len(d) for d in ledger.lines.column("description").to_pylist())
    if fmt in WHOLE_TEXT:
        assert longest in (len(LONG), len(LONG.rstrip()))  # whole (some formats trim the trailing blank)
    else:
        assert 0 < longest <= 60


def test_a_bexio_row_of_10_mb_is_read(tmp_path: Path) -> None:
    path = tmp_path / "journal.csv"
    row = f"31.01.2024;R1;1100 - Debitoren;3400 - Ertrag;{LONG};1250.50;CHF;1;1250.50;CHF;"
    path.write_text(f"{BEXIO_HEADER}\n{row}\n", "utf-8")
    ledger = pipeline.read(path, "bexio")
    assert ledger.lines.column("amount").to_pylist() == [125050, -125050]
    assert ledger.lines.column("description").to_pylist() == [LONG.strip()] * 2


def _utf16_without_bom(path: Path) -> None:
    """Re-encode the text file at `path` (or every file of the folder) as UTF-16 LE without a BOM."""
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            data = file.read_bytes()
            text = data.decode(detect_encoding(data)[0]).lstrip("\ufeff")
            file.write_bytes(text.encode("utf-16-le"))


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_utf16_without_bom_reads_like_the_original(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    source, _ = _written(garage, fmt, tmp_path)
    original = pipeline.read(source, fmt)
    _utf16_without_bom(source)
    ledger = pipeline.read(source, fmt)
    assert ledger.lines.num_rows == original.lines.num_rows
    assert ledger.lines.column("description").to_pylist() == original.lines.column("description").to_pylist()
    assert trial_balance(ledger) == trial_balance(original)


def test_bexio_utf16_without_bom(samples: Path, tmp_path: Path) -> None:
    path = tmp_path / "journal.csv"
    path.write_bytes((samples / "bexio" / "journal.csv").read_text("utf-8-sig").encode("utf-16-le"))
    ledger = pipeline.read(path, "bexio")
    assert trial_balance(ledger) == trial_balance(pipeline.read(samples / "bexio" / "journal.csv", "bexio"))


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, "bexio"])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty{registry.get(fmt).extensions[0]}"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        registry.get(fmt).reader().read(Source(path), pipeline.ReadOptions())


@pytest.mark.parametrize("fmt", [f for f in TEXT_FORMATS if f != "cresus"])  # Crésus files have no header
def test_a_file_of_only_a_header_is_an_empty_ledger(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    _, journal = _written(garage, fmt, tmp_path)
    lines = journal.read_bytes().split(b"\n")
    # DATEV: the EXTF line and the column names; SIE: the identification records before the first #KONTO
    keep = (
        2 if fmt == "datev" else next(i for i, x in enumerate(lines) if x.startswith(b"#KONTO")) if fmt == "sie" else 1
    )
    path = tmp_path / f"header{journal.suffix}"
    path.write_bytes(b"\n".join(lines[:keep]) + b"\n")
    ledger = registry.get(fmt).reader().read(Source(path), pipeline.ReadOptions())
    assert ledger.lines.num_rows == 0
    _no_errors(ledger)


def test_a_bexio_header_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.csv"
    path.write_text(BEXIO_HEADER + "\n", "utf-8")
    assert pipeline.read(path, "bexio").lines.num_rows == 0


# ---------------------------------------------------------------------------------------------- formulas
HOSTILE = ('=HYPERLINK("http://x";"y")', "+41 Rabatt", "-5 % Skonto", "@SUM(A1)", "\tTab", "\rCR")


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_import_files_keep_formula_like_text_exact(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    """Import files are read by the target program, not a spreadsheet: their text stays exact (module docs)."""
    text = "=1+1 -5 @x"
    source, _ = _written(_with_description(garage, text), fmt, tmp_path)
    ledger = _per_year(pipeline.read(source, fmt), garage, fmt)
    kept = {d for d, o in zip(ledger.lines.column("description").to_pylist(),
                              ledger.lines.column("opening").to_pylist(), strict=True) if not o}  # fmt: skip
    assert kept == {text}
    assert trial_balance(ledger) == trial_balance(garage)


def _per_year(ledger: Ledger, source: Ledger, fmt: str) -> Ledger:
    """A continuous target's books read back per year, like verification reads them (`migrator.years`)."""
    return years.per_year(ledger, years_of(source)) if registry.get(fmt).years == "continuous" else ledger


def _hostile_bexio(garage: Ledger) -> Ledger:
    accounts = garage.accounts
    names = [HOSTILE[i % len(HOSTILE)] for i in range(accounts.num_rows)]
    accounts = accounts.set_column(accounts.schema.get_field_index("name"), "name", pa.array(names))
    vat_codes = garage.vat_codes
    descriptions = [HOSTILE[i % len(HOSTILE)] for i in range(vat_codes.num_rows)]
    vat_codes = vat_codes.set_column(vat_codes.schema.get_field_index("description"), "description",
                                     pa.array(descriptions))  # fmt: skip
    lines = garage.lines
    docs = [HOSTILE[i % len(HOSTILE)] + str(i) for i in range(lines.num_rows)]
    ledger = _with_description(garage.replace(accounts=accounts, vat_codes=vat_codes), "=cmd|' /C calc'!A0")
    return ledger.replace(lines=ledger.lines.set_column(lines.schema.get_field_index("doc"), "doc", pa.array(docs)))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _added(reference: str) -> bool:
    """An entry the bexio writer adds: a year-end closing, or the offset of an open invoice."""
    return years.added_voucher(reference) or reference.startswith(OFFSET_PREFIX)


def test_bexio_csv_files_are_inert_and_the_chart_holds_text(garage: Ledger, tmp_path: Path) -> None:
    ledger = _hostile_bexio(garage)
    pipeline.write(ledger, "bexio", tmp_path / "out")
    pipeline.write(garage, "bexio", tmp_path / "plain")
    for name in ("manual_entries.csv", "taxes.csv"):
        rows = _rows(tmp_path / "out" / name)
        assert rows
        for row in rows:
            for column, value in row.items():
                assert not value.startswith(FORMULA_STARTS), (name, column, value)
    entries = [r for r in _rows(tmp_path / "out" / "manual_entries.csv") if not _added(r["reference_nr"])]
    assert {r["description"] for r in entries} == {"'=cmd|' /C calc'!A0"}
    assert {r["reference_nr"][:3] for r in entries} == {"'" + h[:2] for h in HOSTILE}
    plain = [r for r in _rows(tmp_path / "plain" / "manual_entries.csv") if not _added(r["reference_nr"])]
    assert [r["amount"] for r in entries] == [r["amount"] for r in plain]  # amounts untouched
    sheet = openpyxl.load_workbook(tmp_path / "out" / "Kontenplan.xlsx").active
    assert sheet is not None
    codes = set(ledger.accounts.column("code").to_pylist())  # the chart's other rows are the garage's groups
    cells = {row[1].value: row[1] for row in sheet.iter_rows(min_row=2) if row[0].value in codes}
    assert set(cells) == set(HOSTILE)  # the names exactly, not prefixed
    for cell in cells.values():
        assert cell.data_type == "s"
        assert cell.quotePrefix
    # the reader gets the texts back (trimmed, as it reads every bexio text): names from the chart, VAT
    # descriptions from taxes.csv without the quote that made them inert
    back = _per_year(pipeline.read(tmp_path / "out", "bexio"), garage, "bexio")
    assert set(back.accounts.column("name").to_pylist()) == {h.strip() for h in HOSTILE}
    assert set(back.vat_codes.column("description").to_pylist()) <= set(HOSTILE)
    kept = {d for d, o in zip(back.lines.column("description").to_pylist(), back.lines.column("opening").to_pylist(),
                              strict=True) if not o}  # fmt: skip
    assert kept == {"=cmd|' /C calc'!A0"}
    assert trial_balance(back) == trial_balance(garage)


# ----------------------------------------------------------------------------------- workbooks and folders


def _bexio_workbook(path: Path, amount: object = 100) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(BEXIO_HEADER.split(";"))
    sheet.append(["01.01.2024", "R1", "1000 - Kasse", "3400 - Ertrag", "Text", amount, "CHF", 1, amount, "CHF", ""])
    book.save(path)


def _rewrite_member(path: Path, member: str, change: Callable[[bytes], bytes]) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[member] = change(parts[member])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("fmt", ["bexio", "banana"])
@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["external-entity", "entity-bomb"])
def test_workbook_xml_with_entities_is_refused(tmp_path: Path, fmt: str, payload: bytes) -> None:
    path = tmp_path / "journal.xlsx"
    _bexio_workbook(path)
    prologue = payload.split(b"<AuditFile")[0].split(b"<VFPData")[0]  # the XML declaration and the DOCTYPE
    _rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: prologue + xml.split(b"?>", 1)[-1])
    with pytest.raises(SourceError, match="entities"):
        registry.get(fmt).reader().read(Source(path), pipeline.ReadOptions())


def test_a_workbook_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.xlsx"
    _bexio_workbook(path)
    padding = b" " * (8 << 20)  # 8 MB of blanks pack to a few kB: more than 200 times smaller
    _rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<sheetData>", padding + b"<sheetData>"))
    with pytest.raises(SourceError, match="zip bomb"):
        pipeline.read(path, "bexio")


@pytest.mark.parametrize("fmt", ["bexio", "banana"])
def test_an_encrypted_workbook_says_so(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "journal.xlsx"  # Excel saves a password-protected xlsx as an OLE compound file
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(SourceError, match="password"):
        registry.get(fmt).reader().read(Source(path), pipeline.ReadOptions())


def test_a_huge_excel_number_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "journal.xlsx"
    _bexio_workbook(path, 1e300)  # float-ok: the cell under test
    ledger = pipeline.read(path, "bexio")
    assert ledger.lines.num_rows == 0
    assert [p.row for p in ledger.problems if "too large" in p.message] == [2]


def test_banana_vat_rate_of_minus_100(tmp_path: Path) -> None:
    (tmp_path / "vatcodes.txt").write_text("VatCode\tVatRate\tVatAccount\nX\t-100\t2200\n", "utf-8")
    (tmp_path / "transactions.txt").write_text(
        "Date\tDoc\tDescription\tAccountDebit\tAccountCredit\tAmount\tVatCode\n"
        "2024-01-01\tA1\tText\t1100\t3400\t100.00\tX\n", "utf-8")  # fmt: skip
    ledger = pipeline.read(tmp_path, "banana")
    assert any("VatRate -100" in p.message for p in ledger.problems)
    assert any(p.row == 2 and "X" in p.message for p in ledger.problems if p.severity == "error")


def test_datev_dates_without_a_year_in_a_long_period(garage: Ledger, tmp_path: Path) -> None:
    """A period of 9999 years and a DDMM that exists in none (30 February): one problem per row, no hang."""
    _, journal = _written(garage, "datev", tmp_path)
    lines = journal.read_bytes().decode("cp1252").split("\r\n")
    header = lines[0].split(";")
    header[12], header[14], header[15] = "00010101", "00010101", "99991231"  # WJ-Beginn, Datum vom, Datum bis
    columns = lines[1].split(";")
    row = lines[2].split(";")
    row[columns.index("Belegdatum")] = "3002"
    path = tmp_path / "EXTF_long.csv"
    path.write_bytes("\r\n".join([";".join(header), lines[1], *[";".join(row)] * 2000, ""]).encode("cp1252"))
    ledger = pipeline.read(path, "datev")
    assert ledger.lines.num_rows == 0
    assert sum("3002" in p.message for p in ledger.problems) == 2000
