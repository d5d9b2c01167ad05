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
from migrator.reconcile import compare, trial_balance
from migrator.validate import validate
from migrator.writers.datev import COLUMNS, DatevWriter

SAMPLE = "datev/EXTF_Buchungsstapel_v510_fmt7_sample_DAMAGED-ENCODING.csv"
NOW = dt.datetime(2025, 1, 31, 9, 30, 15, 123000)


def sample_rows(path: Path) -> list[list[str]]:
    """The data rows of the sample, split on ';' by hand (no field of it holds a ';')."""
    return [line.split(";") for line in path.read_bytes().decode("utf-8").split("\r\n")[2:] if line]


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
    # Split bookings (consecutive rows of one Belegfeld 1 and date) are one entry: AR1234, AR2345, …
    assert ledger.counts()["entries"] == 38 - 2 - 2 - 1 - 1 - 2
    messages = [p.message for p in ledger.problems]
    assert any("U+FFFD" in m for m in messages)
    assert any("8 rows have a BU-Schlüssel" in m for m in messages)
    assert any("1 rows have a Skonto" in m for m in messages)
    assert not [p for p in validate(ledger) if p.severity == "error"]
    assert set(ledger.extras["Buchungsstapel"].column("BU-Schl\ufffdssel").to_pylist()) >= {"9", "3", "40", "20"}


def test_columns_follow_the_sample(reference: Path) -> None:
    names = (reference / SAMPLE).read_bytes().decode("utf-8").split("\r\n")[1].split(";")
    assert len(names) == 116 and len(COLUMNS) == 125
    for written, damaged in zip(COLUMNS, names, strict=False):
        pattern = "".join("[äöüÄÖÜß]" if c == "\ufffd" else re.escape(c) for c in damaged)
        assert re.fullmatch(pattern, written), (written, damaged)


def test_garage_round_trip(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "datev"
    notes = pipeline.write(garage, "datev", out)
    assert sorted(p.name for p in out.iterdir()) == [
        "EXTF_Buchungsstapel_2023.csv", "EXTF_Buchungsstapel_2024.csv", "EXTF_Kontenbeschriftungen.csv",
    ]  # fmt: skip
    assert any("BU-Schlüssel" in p.message and p.severity == "info" for p in notes)
    back = pipeline.read(out)
    assert compare(garage, back, ("accounts", "entries")).differences == []
    # folding into pairs and merging back gives the garage's lines again (each account once per entry)
    assert back.counts()["lines"] == garage.counts()["lines"] == 75
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
    assert len(raw.split(b"\r\n")[1].split(b";")) == 125


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
    out: Counter[tuple[str, str, bool]] = Counter()
    for row in ledger.lines.to_pylist():
        out[(row["entry"], row["account"], row["opening"])] += row["amount"]
    return {k: v for k, v in out.items() if v}


@settings(max_examples=25, deadline=None)
@given(ledgers())
def test_hypothesis_round_trip(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> None:
    out = tmp_path_factory.mktemp("datev") / "books"
    pipeline.write(ledger, "datev", out)
    back = pipeline.read(out)
    assert trial_balance(back) == trial_balance(ledger)
    assert back.counts()["entries"] == ledger.counts()["entries"]
    assert sums(back) == sums(ledger)
    assert set(back.lines.column("description").to_pylist()) <= set(ledger.lines.column("description").to_pylist())
    assert not [p for p in validate(back) if p.severity == "error"]
