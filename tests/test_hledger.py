"""hledger writer: the real hledger accepts the journal and computes migrator's balances."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ledgers

from migrator import pipeline, years
from migrator.model import Ledger, table
from migrator.money import to_cents
from migrator.reconcile import trial_balance

HLEDGER = shutil.which("hledger")
needs_hledger = pytest.mark.skipif(HLEDGER is None, reason="hledger is not installed (Debian package hledger)")


def _hledger(*args: str | Path) -> str:
    done = subprocess.run([HLEDGER, *map(str, args)], capture_output=True, text=True, timeout=60)  # type: ignore[list-item]
    assert done.returncode == 0, done.stderr
    return done.stdout


def _balances(journal: Path) -> dict[str, int]:
    """hledger's own balances at cost (-B), empty ones too (-E), keyed by the code (leaf's first word)."""
    text = _hledger("-f", journal, "bal", "-B", "-E", "--no-total", "-O", "csv")
    out = {}
    for row in list(csv.reader(io.StringIO(text)))[1:]:
        name, balance = row
        code = name.split(":")[-1].split(" ")[0]
        currency, _, number = balance.rpartition(" ")
        assert currency in ("CHF", ""), balance
        out[code] = to_cents(Decimal(number))
    return out


def _odd() -> Ledger:
    """Untyped accounts, names with ':' ';' and double spaces, a negative foreign amount, a zero line."""
    accounts = table("accounts", [
        {"code": "1020", "name": "Bank:  Post; CH", "type": "asset"},
        {"code": "9100", "name": "Eröffnungsbilanz"},
        {"code": "7000", "name": "Nebenerfolg", "type": "off_balance"},
    ])  # fmt: skip
    lines = table("lines", [
        {"entry": "e1", "line": 1, "date": dt.date(2024, 1, 1), "doc": "X(1)", "description": "Start; a, b",
         "account": "1020", "amount": 10_000, "opening": True},
        {"entry": "e1", "line": 2, "date": dt.date(2024, 1, 1), "account": "9100", "amount": -10_000, "opening": True},
        {"entry": "e2", "line": 1, "date": dt.date(2024, 3, 1), "description": "USD sale", "account": "1020",
         "amount": 8_812, "currency": "USD", "amount_currency": 10_000, "rate": "0.8812"},
        {"entry": "e2", "line": 2, "date": dt.date(2024, 3, 2), "description": "other text", "account": "7000",
         "amount": -8_812, "currency": "USD", "amount_currency": -10_000, "rate": "0.8812", "partner": "P,1"},
        {"entry": "e2", "line": 3, "date": dt.date(2024, 3, 1), "account": "1020", "amount": 0},
    ])  # fmt: skip
    return Ledger(accounts=accounts, lines=lines)


def test_garage_journal_golden(garage, tmp_path):
    out = tmp_path / "garage.journal"
    notes = pipeline.write(garage, "hledger", out)
    golden("hledger/garage.journal", out.read_text(encoding="utf-8"))
    assert any("11 partners" in p.message for p in notes)


@needs_hledger
@pytest.mark.parametrize("which", ["garage", "odd"])
def test_hledger_checks_and_balances_match(which, garage, tmp_path):
    ledger = garage if which == "garage" else _odd()
    out = tmp_path / "books.journal"
    pipeline.write(ledger, "hledger", out)
    _hledger("-f", out, "check", "--strict")  # parse, balance, declared accounts and commodities
    # the journal runs on from year to year (migrator.years): each balance is the one at the end of the books
    expected = {code: cents for code, cents in trial_balance(years.continuous(ledger)[0]).items() if cents}
    assert {code: cents for code, cents in _balances(out).items() if cents} == expected
    if which == "garage":  # the bank at the end of 2024, as the garage's 2024 closing (inspect --json) shows it
        assert expected["1020"] == to_cents(Decimal("32738.25"))


@needs_hledger
def test_foreign_amounts_and_opening_tag(tmp_path):
    out = tmp_path / "odd.journal"
    notes = pipeline.write(_odd(), "hledger", out)
    text = out.read_text(encoding="utf-8")
    assert "USD 100.00 @@ CHF 88.12" in text and "USD -100.00 @@ CHF 88.12" in text
    # without -B hledger shows the foreign amounts themselves
    plain = _hledger("-f", out, "bal", "--no-total", "-O", "csv", "tag:opening")
    assert '"CHF 100.00"' in plain and "USD" not in plain
    assert "USD 100.00" in _hledger("-f", out, "bal", "--no-total", "-O", "csv", "not:tag:opening")
    assert any("account types" in p.message for p in notes)
    register = _hledger("-f", out, "reg", "tag:partner=P 1", "-O", "csv")
    assert '"2024-03-02","","USD sale","Income:7000 Nebenerfolg","USD -100.00"' in register  # the posting date


@needs_hledger
@settings(max_examples=10, deadline=None)
@given(ledger=ledgers())
def test_hypothesis_hledger_agrees(ledger):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "books.journal"
        pipeline.write(ledger, "hledger", out)
        _hledger("-f", out, "check", "--strict")
        assert _balances(out) == trial_balance(ledger)


@pytest.mark.parametrize("name", ["hledger", "beancount"])
@settings(max_examples=60, deadline=None)
@given(ledger=ledgers(), batch=st.integers(1, 8))
def test_column_wise_transactions_equal_the_per_entry_ones(name: str, ledger: Ledger, batch: int) -> None:
    """What a plain-text writer writes a column at a time (in batches, here of a few lines) is, entry for
    entry, what its `_transaction` writes from each entry's rows, foreign amounts it drops counted alike."""
    import importlib

    from migrator.writers.base import entries, entry_batches
    from migrator.writers.plaintext import plain

    writer = importlib.import_module(f"migrator.writers.{name}")
    for books in (ledger, years.continuous(ledger)[0]):
        names = writer.account_names(books)
        base = books.company.base_currency or "CHF"
        base = writer.currency_code(base) if name == "beancount" else base
        expected = [writer._transaction(rows, names, base) for rows in entries(books.lines)]
        written = [writer._batch(taken, starts, names, base) for taken, starts in entry_batches(books.lines, batch)]
        assert plain(books.lines)
        assert "".join(text for text, _ in written) == "".join("\n" + text for text, _ in expected)
        assert sum(n for _, n in written) == sum(n for _, n in expected)
