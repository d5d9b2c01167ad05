"""Infoniqa ONE 50 (Sage 50): reader on the reference export and the sample, writer layout, round trips."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import pipeline
from migrator.errors import SourceError
from migrator.model import Ledger, table
from migrator.readers import infoniqa as infoniqa_reader
from migrator.reconcile import trial_balance, vat_totals
from migrator.validate import validate
from migrator.years import per_year

REF = "vendors/infoniqa/infoniqa_journal_export_2024.csv"


def lines_of(ledger: Ledger, doc: str) -> list[tuple[str, int, str, int | None, bool]]:
    rows = [r for r in ledger.lines.to_pylist() if r["doc"] == doc]
    return [(r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"]) for r in rows]


# --------------------------------------------------------------------------------- reference export


@pytest.fixture(scope="module")
def ref(reference: Path) -> Ledger:
    return pipeline.read(reference / REF, "infoniqa")


def test_reference_counts_match_the_file(reference: Path, ref: Ledger) -> None:
    with (reference / REF).open(encoding="cp1252", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1295  # wc -l says 1295 lines; the last has no newline, the first is the header
    assert ref.lines.num_rows == 1295
    assert ref.counts()["entries"] == len({r["Blg"] for r in rows}) == 442
    assert ref.counts()["accounts"] == 53
    debit = sum(Decimal(r["Netto"]) for r in rows if r["S/H"] == "S")
    credit = sum(Decimal(r["Netto"]) for r in rows if r["S/H"] == "H")
    assert debit == credit == Decimal("355190.72")
    assert sum(a for a in ref.lines.column("amount").to_pylist() if a > 0) == 35519072
    assert not ref.errors


def test_reference_balances(ref: Ledger) -> None:
    # summed by hand (awk over the Netto column, S +, H -)
    balances = trial_balance(ref)
    assert balances["1021"] == -1892629
    assert balances["3230"] == -8535325
    assert balances["5200"] == 4046635
    assert balances["1700"] == 2217945
    assert balances["2200"] == 0  # VAT settled to 2201 within the year
    assert sum(balances.values()) == 0


def test_reference_vat_rows_are_separate_lines_and_netto_is_net(ref: Ledger) -> None:
    # voucher 8: 1021 S 646.20 | 3230 H 597.80 USt77 Steuer 48.40 | 2200 H 48.40 BTyp 2 Steuer 597.80
    assert lines_of(ref, "8") == [
        ("1021", 64620, "", None, False),
        ("3230", -59780, "USt77", -4840, False),
        ("2200", -4840, "USt77", None, True),
    ]
    # voucher 15: the VAT row comes after the counter row and is found all the same
    assert lines_of(ref, "15") == [
        ("6640", 5015, "VSB77", 405, False),
        ("1021", -5420, "", None, False),
        ("1171", 405, "VSB77", None, True),
    ]


def test_reference_collective_entry_with_div(ref: Ledger) -> None:
    # voucher 22: MTyp 2, every GKto div: 5200 1200.00 + 6700 100.00 = 63.30 + 13.20 + 70.95 + 1152.55
    assert [(a, n) for a, n, *_ in lines_of(ref, "22")] == [
        ("5200", 120000), ("6700", 10000), ("5270", -6330), ("5270", -1320), ("5272", -7095), ("1021", -115255),
    ]  # fmt: skip
    entries = {r["entry"] for r in ref.lines.to_pylist() if r["doc"] == "22"}
    assert len(entries) == 1


def test_reference_vat_codes_and_rates(ref: Ledger) -> None:
    codes = {r["code"]: (r["kind"], r["rate"], r["account"]) for r in ref.vat_codes.to_pylist()}
    # 2024 amounts are 8.1 % of their bases although the codes are named ...77 (48.40 / 597.80)
    assert codes == {
        "USt77": ("sales", "8.1", "2200"),
        "VSB77": ("input_investment", "8.1", "1171"),
        "VSM25": ("input_material", "2.6", "1170"),
        "VSM77": ("input_material", "8.1", "1170"),
    }
    totals = vat_totals(ref)
    assert totals["VSM25"] == {"base": 118520, "vat": 3080, "declared": 3080}  # 385.30+279.25+111.10+129.80+279.75
    assert all(t["vat"] == t["declared"] for t in totals.values())


def test_reference_converts_to_itself_verified(reference: Path, tmp_path: Path) -> None:
    result = pipeline.convert(reference / REF, "infoniqa", tmp_path / "out.csv", from_format="infoniqa")
    assert result.verified, result.verification
    assert result.reread is not None
    assert sorted(result.reread.vat_codes.column("code").to_pylist()) == ["USt77", "VSB77", "VSM25", "VSM77"]


# --------------------------------------------------------------------------------------- the sample


def test_sample_reads_to_the_garage(samples: Path, garage: Ledger) -> None:
    ledger = pipeline.read(samples / "infoniqa" / "buchungen.csv", "infoniqa")
    assert ledger.counts()["entries"] == 23
    assert ledger.lines.num_rows == 75
    assert trial_balance(ledger) == trial_balance(garage)
    assert lines_of(ledger, "15") == [  # R24-001 is the 15th entry (OUV23, 12 of 2023, OUV24, then it)
        ("1100", 216200, "", None, False),
        ("3400", -200000, "USN81", -16200, False),
        ("2200", -16200, "USN81", None, True),
    ]
    assert ledger.encoding == "cp1252"


def test_sample_is_detected(samples: Path) -> None:
    from migrator.readers.infoniqa import InfoniqaReader
    from migrator.sources import Source

    assert InfoniqaReader().sniff(Source(samples / "infoniqa" / "buchungen.csv")) >= 0.9
    assert InfoniqaReader().sniff(Source(samples / "garage" / "journal.csv")) == 0


# --------------------------------------------------------------------------------------------- writer


def test_writer_layout_golden(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    pipeline.write(garage, "infoniqa", out)
    data = out.read_bytes()
    assert data.startswith(b"Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,")
    # header + 72 lines, CR LF only: the 11 lines of the 2024 opening (OUV24) are not booked, Infoniqa
    # carries the balances; the 8 lines of the 2023 closing entry (CLOSING-2023) are
    assert data.count(b"\r\n") == 73 and data.count(b"\n") == 73
    assert "Léman".encode("cp1252") in data
    golden("infoniqa/garage.csv", data)


def test_writer_single_collective_and_vat_rows(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    problems = pipeline.write(garage, "infoniqa", out)
    rows = list(csv.DictReader(out.read_text(encoding="cp1252").splitlines()))
    salary = [r for r in rows if r["Tx2"] == "L23-04"]
    assert [(r["Kto"], r["S/H"], r["GKto"], r["MTyp"], r["Netto"]) for r in salary] == [
        ("5000", "S", "div", "2", "6500.00"), ("1020", "H", "5000", "2", "5850.00"), ("2270", "H", "5000", "2", "650.00"),
    ]  # fmt: skip
    invoice = [r for r in rows if r["Tx2"] == "R24-001"]
    assert [(r["Kto"], r["S/H"], r["GKto"], r["SId"], r["BTyp"], r["MTyp"], r["Netto"], r["Steuer"]) for r in invoice] == [
        ("1100", "S", "3400", "", "0", "1", "2162.00", "0.00"),
        ("3400", "H", "1100", "USN81", "0", "1", "2000.00", "162.00"),
        ("2200", "H", "1100", "", "2", "1", "162.00", "2000.00"),
    ]  # fmt: skip
    assert {r["Datum"] for r in invoice} == {"25.1.2024"}
    assert any("Tx2" in p.message for p in problems)


def test_vat_codes_translated_by_date(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    pipeline.write(garage, "infoniqa", out)
    rows = list(csv.DictReader(out.read_text(encoding="cp1252").splitlines()))
    used = {(r["Datum"][-4:], r["SId"]) for r in rows if r["SId"]}
    # V77/M77 (2023) → USt77/VSM77 (USt77 as the reference export writes it); V81/M81/I81 (2024) → USN81/VSM81/VSB81
    assert used == {("2023", "USt77"), ("2023", "VSM77"), ("2024", "USN81"), ("2024", "VSM81"), ("2024", "VSB81")}


def sidx_positions(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(Blg, SIdx, what sits at that position of the entry) for every row: for a coded row, whether the
    row SIdx points to books VAT (BTyp 2) on a base (Steuer) equal to the Netto of the coded rows
    pointing to it."""
    by_blg: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_blg.setdefault(row["Blg"], []).append(row)
    out = []
    for blg, entry in by_blg.items():
        for row in entry:
            if not row["SId"]:
                out.append((blg, row["SIdx"], "uncoded"))
                continue
            target = entry[int(row["SIdx"]) - 1] if row["SIdx"].isdigit() and int(row["SIdx"]) > 0 else None
            base = sum(Decimal(r["Netto"]) for r in entry if r["SId"] and r["SIdx"] == row["SIdx"])
            ok = target is not None and target["BTyp"] == "2" and Decimal(target["Steuer"]) == base
            out.append((blg, row["SIdx"], "its VAT row" if ok else "elsewhere"))
    return out


def test_sidx_is_the_position_of_the_vat_row(reference: Path, garage: Ledger, tmp_path: Path) -> None:
    """In the real export every coded row's SIdx (3 or 5) is the position in its entry of the row that
    books its VAT, and uncoded rows have 0; the writer writes SIdx the same way."""
    with (reference / REF).open(encoding="cp1252", newline="") as handle:
        real = sidx_positions(list(csv.DictReader(handle)))
    assert {(sidx, what) for _, sidx, what in real} == {("0", "uncoded"), ("3", "its VAT row"), ("5", "its VAT row")}
    out = tmp_path / "g.csv"
    pipeline.write(garage, "infoniqa", out)
    written = sidx_positions(list(csv.DictReader(out.read_text(encoding="cp1252").splitlines())))
    assert {what for _, _, what in written} == {"uncoded", "its VAT row"}
    assert {sidx for _, sidx, what in written if what == "uncoded"} == {"0"}
    # R23-002 (Blg 8): two sales lines sharing one VAT row (the fourth row): both point to it
    assert [(sidx, what) for blg, sidx, what in written if blg == "8" and what != "uncoded"] == [
        ("4", "its VAT row"), ("4", "its VAT row")]  # fmt: skip


def test_code_without_equivalent_is_named(tmp_path: Path) -> None:
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": dt.date(2024, 3, 1), "account": "1020", "amount": 1000, "doc": "1"},
        {"entry": "1", "line": 2, "date": dt.date(2024, 3, 1), "account": "3000", "amount": -1000, "doc": "1",
         "vat_code": "EXPORT0"},
    ])  # fmt: skip
    vat_codes = table("vat_codes", [{"code": "EXPORT0", "kind": "exempt", "rate": "0"}])
    problems = pipeline.write(Ledger(lines=lines, vat_codes=vat_codes), "infoniqa", tmp_path / "x.csv")
    assert any("EXPORT0" in p.message and "no infoniqa equivalent" in p.message for p in problems)
    assert ",EXPORT0," in (tmp_path / "x.csv").read_text(encoding="cp1252")


def test_garage_round_trip_through_convert(samples: Path, tmp_path: Path) -> None:
    result = pipeline.convert(samples / "garage" / "journal.csv", "infoniqa", tmp_path / "o.csv", from_format="csv")
    assert result.verified, result.verification
    assert result.reread is not None
    # a continuous target: the 2024 opening (11 lines) is replaced by the 2023 closing entry (8 lines: the
    # seven income and expense accounts and 2970); read back per year, the 75 lines of the source again
    back = per_year(result.reread, result.source.company.fiscal_years)
    assert back.counts()["entries"] == result.source.counts()["entries"] == 23
    assert result.reread.lines.num_rows == 72
    assert back.lines.num_rows == result.source.lines.num_rows == 75


# ------------------------------------------------------------------------------------------ bad input


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    return path


HEAD = "Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,Tx1,Tx2,PkKey,OpId,Flag\n"


def test_bad_rows_are_named_by_file_and_row(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.csv", HEAD
        + '1,1.1.2024,1000,S, ,2000,,0,0,0,1,,10.00,0.00,0.00,"a","",0,,0\n'
        + '1,1.1.2024,2000,H, ,1000,,0,0,0,1,,10.00,0.00,0.00,"a","",0,,0\n'
        + '2,31.2.2024,1000,S, ,2000,,0,0,0,1,,5.00,0.00,0.00,"bad date","",0,,0\n'
        + '3,2.1.2024,1000,X, ,2000,,0,0,0,1,,5.00,0.00,0.00,"bad side","",0,,0\n'
        + '4,2.1.2024,1000,S, ,2000,,0,0,0,1,,abc,0.00,0.00,"bad amount","",0,,0\n'
        + '5,2.1.2024,1000,S\n')  # fmt: skip
    ledger = pipeline.read(path, "infoniqa")
    assert ledger.lines.num_rows == 2
    errors = {p.row: p.message for p in ledger.errors}
    assert set(errors) == {4, 5, 6, 7}
    assert "31.2.2024" in errors[4] and "S/H" in errors[5] and "abc" in errors[6] and "fields" in errors[7]
    assert all(p.file == str(path) for p in ledger.errors)


ODD_ROWS = (
    '1,1.1.2024,1000,S, ,2000,,0,0,0,1,,10.00,0.00,0.00,"say ""hi"", ok","",0,,0\n'
    + "\n"
    + '1,1.1.2024,2000,H, ,1000,,0,0,0,1,,10.00,0.00,0.00,"","{tx2}",0,,0\n'
    + ",,,,,,,,,,,,,,,,,,,\n"
    + '2,2.1.2024,1000,S, ,3200,,0,0,0,1,,1\'077.00,0.00,0.00,ab,"",0,,0\n'
    + '2,2.1.2024,3200,H, ,1000,USt77,0,0,0,1,,1000.00,77.00,0.00,"x","",0,,0\n'
    + "3,3.1.2024,1000,S\n"
)


def test_rows_read_alike_by_arrow_and_by_pythons_csv_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the same rows, once in plain CSV lines (read by Arrow) and once with a line break inside a
    # quoted extra of row 4 (which sends the whole file through Python's csv module)
    by_python: list[str] = []
    python_journal = infoniqa_reader._python_journal

    def recorded(text: str, file: str) -> object:
        by_python.append(file)
        return python_journal(text, file)

    monkeypatch.setattr(infoniqa_reader, "_python_journal", recorded)
    plain = pipeline.read(write_text(tmp_path / "plain.csv", HEAD + ODD_ROWS.format(tx2="")), "infoniqa")
    broken = pipeline.read(write_text(tmp_path / "broken.csv", HEAD + ODD_ROWS.format(tx2="two\nlines")), "infoniqa")
    assert [Path(f).name for f in by_python] == ["broken.csv"]
    assert plain.lines.column("description").to_pylist() == ['say "hi", ok', "", "ab", "x"]
    assert plain.lines.column("amount").to_pylist() == [1000, -1000, 107700, -100000]
    assert plain.lines.column("source_row").to_pylist() == [2, 4, 6, 7]
    assert [(p.row, p.message) for p in plain.errors] == [(8, "4 fields where the header has 20; row left out")]
    assert broken.extras["lines"].column("Tx2").to_pylist() == ["", "two\r\nlines", "", ""]
    # the rows after the line break end one line further down
    assert broken.lines.column("source_row").to_pylist() == [2, 5, 7, 8]
    assert [p.row for p in broken.errors] == [9]
    same = ["entry", "line", "date", "doc", "description", "account", "amount", "vat_code", "vat_amount", "vat_line"]
    assert broken.lines.select(same).equals(plain.lines.select(same))
    assert broken.vat_codes.equals(plain.vat_codes)


def test_unbalanced_voucher_is_reported(tmp_path: Path) -> None:
    path = write_text(tmp_path / "unbalanced.csv", HEAD
        + '7,1.1.2024,1000,S, ,2000,,0,0,0,1,,10.00,0.00,0.00,"a","",0,,0\n'
        + '7,1.1.2024,2000,H, ,1000,,0,0,0,1,,9.00,0.00,0.00,"a","",0,,0\n')  # fmt: skip
    problems = validate(pipeline.read(path, "infoniqa"))
    assert [(p.file, p.row) for p in problems if "does not balance: 1.00 more debit" in p.message] == [(str(path), 2)]


def test_not_an_infoniqa_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "other.csv", "date,account,amount\n2024-01-01,1000,5\n")
    with pytest.raises(SourceError, match=r"other\.csv, row 1: .*lacks Blg"):
        pipeline.read(path, "infoniqa")
    empty = write_text(tmp_path / "empty.csv", "")
    with pytest.raises(SourceError, match="empty"):
        pipeline.read(empty, "infoniqa")


def test_unencodable_text_is_replaced_and_reported(tmp_path: Path) -> None:
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": dt.date(2024, 3, 1), "account": "1020", "amount": 1000, "doc": "1",
         "description": "Zahlung 😀 \"OK\", danke"},
        {"entry": "1", "line": 2, "date": dt.date(2024, 3, 1), "account": "3000", "amount": -1000, "doc": "1",
         "description": "Zahlung 😀 \"OK\", danke"},
    ])  # fmt: skip
    problems = pipeline.write(Ledger(lines=lines), "infoniqa", tmp_path / "x.csv")
    assert any("Windows-1252" in p.message for p in problems)
    back = pipeline.read(tmp_path / "x.csv", "infoniqa")
    assert back.lines.column("description").to_pylist() == ['Zahlung ? "OK", danke'] * 2
    assert back.lines.column("doc").to_pylist() == ["1", "1"]  # whole-number vouchers are kept


# ------------------------------------------------------------------------------------- property test

amounts = st.integers(min_value=1, max_value=10**9)


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    rows = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        debits = draw(st.lists(amounts, min_size=1, max_size=3))
        credit_count = draw(st.integers(1, 3))
        total = sum(debits)
        parts = [total // credit_count] * (credit_count - 1)
        parts.append(total - sum(parts))
        values = debits + [-p for p in parts]
        date = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 365)))
        for position, amount in enumerate(values, start=1):
            account = draw(st.sampled_from(["1000", "1020", "2000", "3200", "6000"]))
            rows.append({"entry": str(number), "line": position, "date": date, "doc": f"B{number}",
                         "description": draw(st.text("abcäé ,\"'", max_size=12)), "account": account, "amount": amount})  # fmt: skip
    return Ledger(lines=table("lines", rows))


@settings(max_examples=20, deadline=None)
@given(ledgers())
def test_write_read_keeps_entries_and_balances(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> None:
    out = tmp_path_factory.mktemp("inq") / "x.csv"
    pipeline.write(ledger, "infoniqa", out)
    back = pipeline.read(out, "infoniqa")
    assert not back.errors
    assert back.counts()["entries"] == ledger.counts()["entries"]
    assert back.lines.num_rows == ledger.lines.num_rows
    assert trial_balance(back) == trial_balance(ledger)
    assert back.lines.column("description").to_pylist() == [
        " ".join(d.split()) for d in ledger.lines.column("description").to_pylist()
    ]


def test_company_and_groups_declared(samples: Path, tmp_path: Path) -> None:
    """The booking import holds no company and no groups: the Winbiz garage's are declared lost."""
    out = tmp_path / "out.csv"
    result = pipeline.convert(samples / "winbiz" / "DAT", "infoniqa", out, dossier="garage")
    assert result.verification is not None
    assert result.verification.verdict == "verified with declared losses"
    losses = result.verification.losses
    assert any(loss.startswith("company name: 'Garage du Lac Sàrl' before, '' after") for loss in losses)
    assert any(loss.startswith("groups: 23 before, 0 after") for loss in losses)
