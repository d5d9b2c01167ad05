"""Winbiz route a column at a time: the writer's plan and the reader's import-CSV steps give what the
row-by-row code gives (`_entry_rows`, `csv_rows` + `_table`, `dates_of`, `parse_cents`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from strategies import ledgers

from migrator.model import Company, FiscalYear, Ledger, table
from migrator.pipeline import for_target, read
from migrator.readers.winbiz import _group_keys, _vat_rows, files
from migrator.readers.winbiz.raw import Raw
from migrator.writers.winbiz import LINE_COLUMNS, WinbizWriter, _Notes, _plan, _slow_plan, _vat_meanings

YEAR = FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
DAY = dt.date(2024, 3, 5)
VAT_CODES = [
    {"code": "V81", "rate": "8.1", "kind": "sales", "account": "2200"},
    {"code": "M81", "rate": "8.1", "kind": "input_material", "account": "1170", "method": "gross"},
]


def _books(lines: list[dict[str, object]]) -> Ledger:
    accounts = sorted({str(line["account"]) for line in lines})
    return Ledger(
        company=Company(name="Atelier Vert", base_currency="CHF", fiscal_years=(YEAR,)),
        accounts=table("accounts", [{"code": a, "name": f"Compte {a}", "type": "asset"} for a in accounts]),
        lines=table("lines", lines),
        vat_codes=table("vat_codes", VAT_CODES),
    )


def _line(entry: str, line: int, account: str, amount: int, **more: object) -> dict[str, object]:
    return {"entry": entry, "line": line, "date": DAY, "doc": f"B{entry}", "description": f"Écriture {entry}",
            "account": account, "amount": amount, **more}  # fmt: skip


def _row_by_row(ledger: Ledger) -> tuple[dict[str, list[object]], _Notes]:
    """The plan of every entry through `_entry_rows`, and the notes it leaves."""
    notes = _Notes()
    vat = _vat_meanings(ledger, notes)
    plan = _slow_plan(ledger.lines.select(LINE_COLUMNS).to_pylist(), vat, notes, None)
    plan.columns.pop("_entry_index")
    return {k: v.to_pylist() for k, v in plan.columns.items()}, notes


def _same_plan(ledger: Ledger) -> None:
    notes = _Notes()
    columns = {k: v.to_pylist() for k, v in _plan(ledger, notes).columns.items()}
    expected, expected_notes = _row_by_row(ledger)
    assert columns == expected
    assert notes.problems == expected_notes.problems
    counted = {f: v for f, v in vars(notes).items() if f != "problems"}
    assert counted == {f: v for f, v in vars(expected_notes).items() if f != "problems"}


def test_plan_of_mixed_entries(tmp_path: Path) -> None:
    lines = [
        # two lines: one row; E2 is written in line-number order although its lines come reversed
        _line("E1", 1, "1020", 10_000), _line("E1", 2, "3200", -10_000),
        _line("E2", 2, "1020", -2_550), _line("E2", 1, "6500", 2_550),
        # the VAT line first, then base and counter line: the VAT goes onto the base row (sales, due)
        _line("E3", 1, "2200", -810, vat_code="V81", vat_line=True),
        _line("E3", 2, "3200", -10_000, vat_code="V81", vat_amount=-810), _line("E3", 3, "1100", 10_810),
        # compound: row by row (one row per split)
        _line("E4", 1, "1020", 5_000), _line("E4", 2, "3200", -3_000), _line("E4", 3, "3400", -2_000),
        # an account longer than Winbiz's 12 characters: written, with a warning
        _line("E5", 1, "1020", 100), _line("E5", 2, "ACCOUNT-LONGER-THAN-12", -100),
        # a zero line: left out
        _line("E6", 1, "1020", 700), _line("E6", 2, "6500", 0), _line("E6", 3, "3200", -700),
        # only the credit line is foreign: its rate and amount go on the row
        _line("E7", 1, "1020", 5_000), _line("E7", 2, "2000", -5_000, currency="EUR", amount_currency=-5_200,
                                             rate="0.9615"),
    ]  # fmt: skip
    ledger = _books(lines)
    _same_plan(ledger)
    problems = WinbizWriter().write(ledger, tmp_path)
    rows = (tmp_path / "ecritures.csv").read_bytes().decode("cp1252").split("\r\n")
    assert rows[1:-1] == [
        "05.03.2024;BE1;Écriture E1;1020;3200;100.00;d;;;;;;;;;;;;;",
        "05.03.2024;BE2;Écriture E2;6500;1020;25.50;d;;;;;;;;;;;;;",
        "05.03.2024;BE3;Écriture E3;1100;3200;108.10;d;;;8.1;8.10;c;2;1;;;;;;V81",
        "05.03.2024;BE4;Écriture E4;1020;3200;30.00;d;;;;;;;;;;;;;",
        "05.03.2024;BE4;Écriture E4;1020;3400;20.00;d;;;;;;;;;;;;;",
        "05.03.2024;BE5;Écriture E5;1020;ACCOUNT-LONGER-THAN-12;1.00;d;;;;;;;;;;;;;",
        "05.03.2024;BE6;Écriture E6;1020;3200;7.00;d;;;;;;;;;;;;;",
        "05.03.2024;BE7;Écriture E7;1020;2000;50.00;d;0.9615;52.00;;;;;;;;;;;",
    ]
    said = [p.message for p in problems]
    assert any("account ACCOUNT-LONGER-THAN-12 is longer than 12 characters" in m for m in said)
    assert any(m.startswith("1 zero-amount lines not carried") for m in said)
    kept = WinbizWriter().as_kept(ledger).lines
    e3 = [(r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"])
          for r in kept.to_pylist() if r["entry"] == "E3/1"]  # fmt: skip
    assert e3 == [("1100", 10_810, "", None, False), ("3200", -10_000, "V81", -810, False),
                  ("2200", -810, "V81", None, True)]  # fmt: skip


def test_plan_quotes_and_cuts_like_csv_writer(tmp_path: Path) -> None:
    long_text = "Facture; « Müller » " + "x" * 100
    lines = [_line("E1", 1, "1020", 500, description=long_text, doc='N°"12";345678'),
             _line("E1", 2, "3200", -500, description="")]  # fmt: skip
    problems = WinbizWriter().write(_books(lines), tmp_path)
    row = (tmp_path / "ecritures.csv").read_bytes().decode("cp1252").split("\r\n")[1]
    assert row.startswith('05.03.2024;"N°""12"";345";"Facture; « Müller » xxx')
    cut = [p.message for p in problems if "characters, cut to" in p.message]
    assert [m.split(":")[1].strip().split(" ")[0] for m in cut] == ["Voucher", "Text"]  # row by row, voucher first


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(ledgers())
def test_plan_is_the_row_by_row_plan(ledger: Ledger) -> None:
    _same_plan(for_target(ledger, "winbiz")[0])


# ------------------------------------------------------------------------------------------ reader

TEXTS = [
    "Date;Voucher;Text;Cpt_debit;Cpt_credit;Montant\r\n01.02.2024;A1;Loyer;6000;1020;1200.00\r\n",
    "Date;Voucher;Text;Cpt_debit;Cpt_credit;Montant\n\n01.02.2024;A1;Loyer;6000;1020;1200.00\n  ;  ; \n"
    "02.02.2024;A2;Café;6500;1020;4.50",
    'Date;Voucher;Text;Cpt_debit;Cpt_credit;Montant\n01.02.2024;A1;"Loyer; mars";6000;1020;1200.00\n',
    "Date;Voucher;Text;Cpt_debit;Cpt_credit;Montant\n01.02.2024;A1;Loyer;6000;1020\n",
    "Date;Voucher;Text;Cpt_debit;Cpt_credit;Montant\n01.02.2024;A1;Loyer;6000;1020;1.00;;\n"
    "01.02.2024;A2;Loyer;6000;1020;2.00;surplus\n",
    "Date;Voucher;Text;Text;Cpt_debit;Cpt_credit;Montant;\n01.02.2024;A1;un;deux;6000;1020;1.00;\n",
    "\ufeffDate;Voucher\r\n01.02.2024;A1\r02.02.2024;A2\r\n",
    "Date;Voucher\n",
    "Date; Text ;Text;Cpt_debit\r\n01.02.2024; un ;deux;6000\r\n\r\n;;;\r\n02.02.2024;;trois;\u00a0\r\n",
    "\ufeffDate;Voucher\n01.02.2024;A1\n\u2003;\n02.02.2024;\x1f\n",
]


def test_csv_table_reads_like_csv_rows() -> None:
    for text in TEXTS:
        data = text.encode("utf-8")
        encoding = files.text_encoding(data, None)
        fast = files._csv_table(data, encoding, "e.csv")
        slow = files._table(files.csv_rows(data, encoding, "e.csv"), "e.csv")
        assert {k: v.to_pylist() for k, v in fast.columns.items()} == {
            k: v.to_pylist() for k, v in slow.columns.items()
        }, text
        assert fast.rows.tolist() == slow.rows.tolist() and fast.problems == slow.problems, text
        assert fast.names == slow.names, text


def _raw(columns: dict[str, list[str]]) -> Raw:
    return Raw.build("ecritures.csv", {k: pa.array(v, pa.string()) for k, v in columns.items()},
                     np.arange(2, 2 + len(next(iter(columns.values())))))  # fmt: skip


def test_dates_column_wise_or_as_dates_of() -> None:
    bad = np.zeros(3, dtype=bool)
    raw = _raw({"date": ["05.01.2024", "2024-01-06", "31.12.2023"]})
    assert raw.dates("date", bad).to_pylist() == [dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2023, 12, 31)]
    raw = _raw({"date": ["05.01.2024", "5.1.2024", "31.02.2024"]})  # not all dd.mm.yyyy: value by value
    assert raw.dates("date", bad).to_pylist() == [dt.date(2024, 1, 5), dt.date(2024, 1, 5), None]
    assert [(p.row, p.message) for p in raw.problems] == [
        (4, "date '31.02.2024': is not a date (expected dd.mm.yyyy, yyyy-mm-dd or yyyymmdd)")
    ]
    assert bad.tolist() == [False, False, True]


def test_group_keys_and_vat_rows() -> None:
    two_sided = _raw({"date": ["01.02.2024"] * 3, "cpt_debit": ["6000", "1100", "1020"],
                      "cpt_credit": ["1020", "3200", "1100"], "montant": ["10.00", "108.10", "1'000.00"],
                      "ecr_tvatyp": ["", "2", "3"], "ecr_tvamnt": ["", "8.10", "7.40"],
                      "ecr_tvadc": ["", "", "D"]})  # fmt: skip
    keys = _group_keys(two_sided)
    assert keys.to_pylist() == ["1", "2", "3"]
    raw, keys = _vat_rows(two_sided, keys)
    assert keys.to_pylist() == ["1", "2", "2", "3", "3"]
    assert raw.text("montant").to_pylist() == ["10.00", "100.00", "8.10", "992.60", "7.40"]
    assert raw.text("ecr_tvatyp").to_pylist() == ["", "2", "-1", "3", "-1"]
    assert raw.text("cpt_debit").to_pylist() == ["6000", "1100", "1100", "1020", "1170"]
    assert raw.text("cpt_credit").to_pylist() == ["1020", "3200", "2200", "1100", "1100"]
    assert raw.rows.tolist() == [2, 3, 3, 4, 4]
    one_sided = _raw({"date": ["01.02.2024"] * 3, "cpt_debit": ["6000", "", "1020"],
                      "cpt_credit": ["", "1020", "1100"], "montant": ["10.00", "10.00", "5.00"]})  # fmt: skip
    assert _group_keys(one_sided).to_pylist() == ["1", "1", "2"]


def test_convert_reads_back_what_was_written(tmp_path: Path) -> None:
    lines = [_line("E1", 1, "1020", 10_000), _line("E1", 2, "3200", -10_000),
             _line("E3", 1, "2200", -810, vat_code="V81", vat_line=True),
             _line("E3", 2, "3200", -10_000, vat_code="V81", vat_amount=-810), _line("E3", 3, "1100", 10_810)]  # fmt: skip
    ledger = _books(lines)
    WinbizWriter().write(ledger, tmp_path)
    back = read(tmp_path / "ecritures.csv", "winbiz", for_verification=True)
    got = [(r["entry"], r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"])
           for r in back.lines.to_pylist()]  # fmt: skip
    assert got == [("1", "1020", 10_000, "", None, False), ("1", "3200", -10_000, "", None, False),
                   ("2", "1100", 10_810, "", None, False), ("2", "3200", -10_000, "V81", -810, False),
                   ("2", "2200", -810, "V81", None, True)]  # fmt: skip
