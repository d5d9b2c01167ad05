"""DATEV EXTF: writing the folder, reading it and the old sample, round trips and bad rows."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest
from conftest import golden
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import pipeline
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.outputs import MANIFEST
from migrator.reconcile import compare, trial_balance
from migrator.validate import validate
from migrator.writers.datev import COLUMNS, DatevWriter

SAMPLE = "datev/EXTF_Buchungsstapel_v510_fmt7_sample_DAMAGED-ENCODING.csv"
NOW = dt.datetime(2025, 1, 31, 9, 30, 15, 123000)


def sample_rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    """The data rows of a batch, split on ';' by hand (no field of it holds a ';')."""
    return [line.split(";") for line in path.read_bytes().decode(encoding).split("\r\n")[2:] if line]


def test_reads_the_old_sample_by_hand(reference: Path) -> None:
    path = reference / SAMPLE
    rows = sample_rows(path)
    assert len(rows) == 38 and {len(r) for r in rows} == {116}
    ledger = pipeline.read(path)
    assert ledger.format == "datev" and ledger.company.base_currency == "EUR"
    assert ledger.lines.num_rows == 2 * len(rows)
    # Konto balance by hand: S debits Konto, H credits it; the Gegenkonto gets the opposite.
    expected = Counter[str]()
    for r in rows:
        amount = int(Decimal(r[0].replace(",", ".")) * 100)
        if r[2] not in ('""', '"EUR"'):  # foreign Umsatz: the base amount is the Basis-Umsatz
            amount = int(Decimal(r[4].replace(",", ".")) * 100)
        sign = 1 if r[1] == '"S"' else -1
        expected[r[6]] += sign * amount
        expected[r[7]] -= sign * amount
    assert trial_balance(ledger) == dict(expected)
    assert expected["1000"] == -11855 - 2687 + 46000  # rows 18-20: Test-Shop, Schreibwaren, Kasseneinlage
    chf = ledger.lines.filter(pc.equal(ledger.lines.column("currency"), "CHF"))
    assert chf.column("amount").to_pylist() == [-10000, 10000]
    assert chf.column("amount_currency").to_pylist() == [-12400, 12400]
    assert chf.column("rate").to_pylist() == ["0.80619", "0.80619"]  # 1 / 1,240402
    assert chf.column("date").to_pylist()[0] == dt.date(2016, 2, 27)  # 2702 within 20160101-20160331
    assert ledger.company.fiscal_years == (FiscalYear(dt.date(2016, 1, 1), dt.date(2016, 12, 31)),)
    # Each row is one booking balanced on its own: one entry per row, even where rows share a Belegfeld 1.
    assert ledger.counts()["entries"] == 38
    # AR-2013 (file rows 37-39): wrong debtor, its correction, right debtor: three bookings, none merged.
    ar2013 = ledger.lines.filter(pc.equal(ledger.lines.column("doc"), "AR-2013")).to_pylist()
    booked = sorted((r["source_row"], r["account"], r["amount"]) for r in ar2013)
    assert booked == [(37, "10001", 3500), (37, "8400", -3500), (38, "10001", -3500), (38, "8400", 3500),
                      (39, "10100", 3500), (39, "8400", -3500)]  # fmt: skip
    assert len({r["entry"] for r in ar2013}) == 3
    messages = [p.message for p in ledger.problems]
    assert any("U+FFFD" in m for m in messages)
    assert any("8 rows have a BU-Schlüssel" in m for m in messages)
    assert any("1 rows have a Skonto" in m for m in messages)
    assert not [p for p in validate(ledger) if p.severity == "error"]
    assert set(ledger.extras["Buchungsstapel"].column("BU-Schl\ufffdssel").to_pylist()) >= {"9", "3", "40", "20"}


OFFICIAL = {
    # position: (the v510 sample's name, DATEV's official format-13 name; FORMATS.md)
    40: ("EU-Land u. UStID", "EU-Land u. UStID (Bestimmung)"),
    41: ("EU-Steuersatz", "EU-Steuersatz (Bestimmung)"),
    97: ("Ust-Schl\ufffdssel (Anzahlungen)", "USt-Schlüssel (Anzahlungen)"),
    103: ("Leerfeld", "Buchungs GUID"),
    105: ("Mandatsreferenz", "SEPA-Mandatsreferenz"),
    116: ("Datum Zuord.Steuerperiode", "Datum Zuord. Steuerperiode"),
}


def test_columns_follow_the_sample(reference: Path) -> None:
    names = (reference / SAMPLE).read_bytes().decode("utf-8").split("\r\n")[1].split(";")
    assert len(names) == 116 and len(COLUMNS) == 125
    for position, (old, new) in OFFICIAL.items():
        assert names[position - 1] == old and COLUMNS[position - 1] == new
    assert COLUMNS[122] == "EU-Land u. UStID (Ursprung)"
    for position, (written, damaged) in enumerate(zip(COLUMNS, names, strict=False), start=1):
        if position in OFFICIAL:
            continue
        pattern = "".join("[äöüÄÖÜß]" if c == "\ufffd" else re.escape(c) for c in damaged)
        assert re.fullmatch(pattern, written), (written, damaged)


def test_garage_round_trip(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "datev"
    notes = pipeline.write(garage, "datev", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == [
        "EXTF_Buchungsstapel_2023.csv", "EXTF_Buchungsstapel_2024.csv", "EXTF_Kontenbeschriftungen.csv",
        "README.txt",
    ]  # fmt: skip
    assert any("BU-Schlüssel" in p.message and p.severity == "info" for p in notes)
    back = pipeline.read(out)
    assert compare(garage, back, ("accounts", "entries"), declared=notes).differences == []
    # every row reads back as an entry of its own: the entries as_kept says DATEV keeps, line for line
    kept = DatevWriter().as_kept(garage)
    assert back.counts()["entries"] == kept.counts()["entries"] and back.counts()["lines"] == kept.counts()["lines"]
    assert by_entry(back) == by_entry(kept)
    assert back.counts()["entries"] > garage.counts()["entries"]  # the garage has compound entries
    assert back.company.fiscal_years == garage.company.fiscal_years
    names = dict(zip(back.accounts.column("code").to_pylist(), back.accounts.column("name").to_pylist(), strict=True))
    assert names["1170"] == "Impôt préalable matériel et services"
    opening = back.lines.filter(back.lines.column("opening"))
    assert sorted(pc.unique(opening.column("doc")).to_pylist()) == ["OUV23", "OUV24"]
    eur = back.lines.filter(pc.equal(back.lines.column("currency"), "EUR"))
    assert eur.column("amount_currency").to_pylist() == [100000, -100000]
    assert eur.column("rate").to_pylist() == ["0.965", "0.965"]
    atelier = back.lines.filter(pc.equal(back.lines.column("cost_centre"), "ATELIER"))
    assert sorted(atelier.column("amount").to_pylist()) == [-400000, -200000, -120000, -100000, -85000]
    raw = (out / "EXTF_Buchungsstapel_2023.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") and b"M\xfcller" in raw  # CRLF, Windows-1252
    header = raw.split(b"\r\n")[0].decode("cp1252").split(";")
    assert len(header) == 31 and header[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert header[12:16] == ["20230101", "4", "20230101", "20231231"]
    # fields 24-31 as version 700 quotes them; 27 (Sachkontenrahmen) quoted digits (FORMATS.md)
    assert header[23:31] == ['""', "", "", '""', "", "", '""', '""']
    assert re.fullmatch(r'["](\d{2}){0,2}["]', header[26])
    assert len(raw.split(b"\r\n")[1].split(b";")) == 125


def test_fields_datev_computes_from_are_declared(reference: Path, tmp_path: Path) -> None:
    """The sample's BU-Schlüssel (8 rows) and Skonto (1 row) are written empty: said, not dropped silently."""
    problems = pipeline.write(pipeline.read(reference / SAMPLE), "datev", tmp_path / "d")
    said = [p.message for p in problems]
    assert any(m.startswith("8 BU-Schlüssel values of source rows not carried") for m in said)
    assert any(m.startswith("1 Skonto values of source rows not carried") for m in said)
    assert not any("Generalumkehr" in m for m in said)


FIELDS = ("date", "doc", "description", "account", "amount", "currency", "amount_currency", "rate", "cost_centre",
          "opening")  # fmt: skip


def by_entry(ledger: Ledger) -> dict[str, list[tuple[object, ...]]]:
    """Each entry's lines (the fields a DATEV row carries), in line order."""
    out: dict[str, list[tuple[object, ...]]] = {}
    for row in ledger.lines.to_pylist():
        out.setdefault(row["entry"], []).append(tuple(row[f] for f in FIELDS))
    return out


def books(rows: list[dict[str, object]]) -> Ledger:
    accounts = sorted({str(r["account"]) for r in rows})
    return Ledger(company=Company(name="K", base_currency="EUR"),
                  accounts=table("accounts", ({"code": c, "name": f"Konto {c}"} for c in accounts)),
                  lines=table("lines", rows))  # fmt: skip


def test_purchase_and_its_reversal_come_back_as_two_bookings(tmp_path: Path) -> None:
    day = dt.date(2024, 3, 1)
    ledger = books([
        {"entry": "P", "date": day, "doc": "R1", "account": "4000", "amount": 10000, "description": "Kauf"},
        {"entry": "P", "date": day, "doc": "R1", "account": "1200", "amount": -10000, "description": "Kauf"},
        {"entry": "P", "date": day, "doc": "R1", "account": "1200", "amount": 10000, "description": "Storno"},
        {"entry": "P", "date": day, "doc": "R1", "account": "4000", "amount": -10000, "description": "Storno"},
    ])  # fmt: skip
    notes = pipeline.write(ledger, "datev", tmp_path / "out")
    rows = sample_rows(tmp_path / "out" / "EXTF_Buchungsstapel_2024.csv", "cp1252")
    assert [r[:2] + r[6:8] for r in rows] == [["100,00", '"S"', "4000", "1200"], ["100,00", '"S"', "1200", "4000"]]
    back = pipeline.read(tmp_path / "out")
    assert by_entry(back) == {
        "P/1": [(day, "R1", "Kauf", "4000", 10000, "", None, "", "", False),
                (day, "R1", "Kauf", "1200", -10000, "", None, "", "", False)],
        "P/2": [(day, "R1", "Storno", "1200", 10000, "", None, "", "", False),
                (day, "R1", "Storno", "4000", -10000, "", None, "", "", False)],
    }  # fmt: skip
    assert 0 not in back.lines.column("amount").to_pylist()
    assert by_entry(DatevWriter().as_kept(ledger)) == by_entry(back)
    assert compare(ledger, back, ("accounts", "entries"), declared=notes).differences == []


def test_compound_entry_pairs_equal_as_kept(tmp_path: Path) -> None:
    day = dt.date(2024, 3, 2)
    ledger = books([
        {"entry": "C", "date": day, "doc": "R2", "account": "4000", "amount": 7000, "description": "Material"},
        {"entry": "C", "date": day, "doc": "R2", "account": "4400", "amount": 3000, "description": "Werkstatt",
         "cost_centre": "K1"},
        {"entry": "C", "date": day, "doc": "R2", "account": "1200", "amount": -6000, "description": "Bank"},
        {"entry": "C", "date": day, "doc": "R2", "account": "1000", "amount": -4000, "description": "Kasse"},
        {"entry": "Z", "date": day, "doc": "R3", "account": "1000", "amount": 0},
    ])  # fmt: skip
    # By hand: debits 4000 70.00, 4400 30.00 against credits 1200 60.00, 1000 40.00, in order:
    # 4000/1200 60.00, 4000/1000 10.00, 4400/1000 30.00 (KOST1 K1); the zero entry has no row.
    expected = {
        "C/1": [(day, "R2", "Material", "4000", 6000, "", None, "", "", False),
                (day, "R2", "Material", "1200", -6000, "", None, "", "", False)],
        "C/2": [(day, "R2", "Material", "4000", 1000, "", None, "", "", False),
                (day, "R2", "Material", "1000", -1000, "", None, "", "", False)],
        "C/3": [(day, "R2", "Werkstatt", "4400", 3000, "", None, "", "K1", False),
                (day, "R2", "Werkstatt", "1000", -3000, "", None, "", "", False)],
    }  # fmt: skip
    kept = DatevWriter().as_kept(ledger)
    assert by_entry(kept) == expected
    notes = pipeline.write(ledger, "datev", tmp_path / "out")
    assert by_entry(pipeline.read(tmp_path / "out")) == expected
    assert any("1 zero-amount lines" in p.message for p in notes)
    assert kept.lines.column("line").to_pylist() == [1, 2] * 3


def test_trailing_row_without_amount_is_skipped_with_a_note(tmp_path: Path) -> None:
    day = dt.date(2024, 5, 6)
    ledger = books([
        {"entry": "1", "date": day, "doc": "B1", "account": "1000", "amount": 2550, "description": "Einlage"},
        {"entry": "1", "date": day, "doc": "B1", "account": "1800", "amount": -2550, "description": "Einlage"},
    ])  # fmt: skip
    out = tmp_path / "out"
    pipeline.write(ledger, "datev", out)
    path = out / "EXTF_Buchungsstapel_2024.csv"
    data = path.read_bytes()
    path.write_bytes(data + b';"";"";;;"";;;"";;"";"";;"Summe"\r\n')  # no Umsatz, no accounts: a totals row
    back = pipeline.read(out)
    assert trial_balance(back) == {"1000": 2550, "1800": -2550}
    notes = [p for p in back.problems if "without Umsatz" in p.message]
    assert [(p.severity, p.file, p.row) for p in notes] == [("info", str(path), 4)]
    assert not back.errors
    # a row without Umsatz before other rows is still an error: it is not trailing
    lines = data.split(b"\r\n")
    path.write_bytes(b"\r\n".join([*lines[:2], b';"S";"";;;"";1000;1800;"";0605;"";"";;"x"', *lines[2:]]))
    damaged = pipeline.read(out)
    assert [(p.row, p.message) for p in damaged.errors] == [(3, "Umsatz is empty")]


def test_convert_verifies(samples: Path, tmp_path: Path) -> None:
    result = pipeline.convert(samples / "garage" / "journal.csv", "datev", tmp_path / "out")
    assert result.verified, result.verification


def test_golden(garage: Ledger, tmp_path: Path) -> None:
    DatevWriter(now=NOW).write(garage, tmp_path)
    for path in sorted(tmp_path.iterdir()):
        golden(f"datev/{path.name}", path.read_bytes())


def test_fiscal_year_across_new_year_and_bad_rows(tmp_path: Path) -> None:
    year = FiscalYear(dt.date(2023, 7, 1), dt.date(2024, 6, 30))
    lines = table("lines", [
        {"entry": "1", "date": dt.date(2023, 12, 31), "account": "1000", "amount": 100, "description": "a;b\"c"},
        {"entry": "1", "date": dt.date(2023, 12, 31), "account": "3000", "amount": -100},
        {"entry": "2", "date": dt.date(2024, 1, 1), "account": "1000", "amount": -55},
        {"entry": "2", "date": dt.date(2024, 1, 1), "account": "3000", "amount": 55},
    ])  # fmt: skip
    accounts = table("accounts", [{"code": "1000", "name": "Kasse"}, {"code": "3000", "name": "Erlöse"}])
    ledger = Ledger(
        company=Company(name="K", base_currency="EUR", fiscal_years=(year,)), accounts=accounts, lines=lines
    )
    out = tmp_path / "books"
    pipeline.write(ledger, "datev", out)
    assert (out / "EXTF_Buchungsstapel_2023.csv").exists()
    back = pipeline.read(out)
    assert back.lines.column("date").to_pylist() == [dt.date(2023, 12, 31)] * 2 + [dt.date(2024, 1, 1)] * 2
    assert back.lines.column("description").to_pylist()[0] == 'a;b"c'
    assert back.company.fiscal_years == (year,)
    # now damage two rows: a flag that is neither S nor H, and a day outside the batch period
    path = out / "EXTF_Buchungsstapel_2023.csv"
    text = path.read_bytes().decode("cp1252").split("\r\n")
    text[2] = text[2].replace('"S"', '"X"', 1).replace('"H"', '"X"', 1)
    text[3] = text[3].replace(";0101;", ";3102;", 1)
    path.write_bytes("\r\n".join(text).encode("cp1252"))
    damaged = pipeline.read(out)
    errors = [p for p in damaged.problems if p.severity == "error"]
    assert [p.row for p in errors] == [3, 4]
    assert "neither S nor H" in errors[0].message and "3102" in errors[1].message
    assert damaged.lines.num_rows == 0


def test_junk_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "EXTF_x.csv"
    path.write_bytes(b'"EXTF";700;21;"Buchungsstapel";13\r\n')
    with pytest.raises(Exception, match="column names"):
        pipeline.read(path, "datev")


words = st.text(alphabet='abcXYZäöüß"; ', min_size=1, max_size=8).map(lambda s: " ".join(s.split()) or "x")


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    accounts = ["1000", "1200", "1600", "8400", "4400"]
    rows = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        date = draw(st.dates(dt.date(2023, 1, 1), dt.date(2024, 12, 31)))
        text = draw(words)
        opening = number == 1 and draw(st.booleans())
        amounts = draw(st.lists(st.integers(-(10**9), 10**9).filter(bool), min_size=1, max_size=3))
        if sum(amounts) == 0:
            amounts.append(1)
        amounts.append(-sum(amounts))
        for amount in amounts:
            rows.append({"entry": f"E{number}", "date": date, "account": draw(st.sampled_from(accounts)),
                         "amount": amount, "description": text, "doc": f"B-{number}", "opening": opening,
                         "cost_centre": draw(st.sampled_from(["", "K1"]))})  # fmt: skip
    return Ledger(company=Company(name="Test GmbH", base_currency="EUR"),
                  accounts=table("accounts", ({"code": c, "name": f"Konto {c}"} for c in accounts)),
                  lines=table("lines", rows))  # fmt: skip


def sums(ledger: Ledger) -> dict[tuple[str, str, bool], int]:
    """Net amount per entry, account and opening flag."""
    out: Counter[tuple[str, str, bool]] = Counter()
    for row in ledger.lines.to_pylist():
        out[(row["entry"], row["account"], row["opening"])] += row["amount"]
    return {k: v for k, v in out.items() if v}


@settings(max_examples=20, deadline=None)
@given(ledgers())
def test_hypothesis_round_trip(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> None:
    out = tmp_path_factory.mktemp("datev") / "books"
    notes = pipeline.write(ledger, "datev", out)
    back = pipeline.read(out)
    assert trial_balance(back) == trial_balance(ledger)
    kept = DatevWriter().as_kept(ledger)
    assert back.counts()["entries"] == kept.counts()["entries"]
    assert sums(back) == sums(kept)
    assert by_entry(back) == by_entry(kept)
    assert compare(ledger, back, ("accounts", "entries"), declared=notes).differences == []
    assert set(back.lines.column("description").to_pylist()) <= set(ledger.lines.column("description").to_pylist())
    assert not [p for p in validate(back) if p.severity == "error"]
