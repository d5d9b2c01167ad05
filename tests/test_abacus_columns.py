"""The Abacus writer's column-wise entries give the bytes its entry-by-entry code gives: every book is
written twice, once as it is and once with every entry through `_entry` (no entry column-wise)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from strategies import ledgers, texts

from benchmarks.generate import ledger as generated
from migrator import years
from migrator.model import Ledger, Problem, table
from migrator.writers import abacus

HOSTILE = texts(alphabet="aZé & <>\"'\t\n\r\x0b\u00a0\u2003\u0085\x1c;", max_size=100)


def both(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[Problem], int]:
    """The file and problems written as usual, checked against the entry-by-entry writing; the number
    of entries written column-wise."""
    plain = 0
    chooser = abacus._plain_entries

    def counting(part: pa.RecordBatch, bounds: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        nonlocal plain
        chosen, roles = chooser(part, bounds)
        plain += int(chosen.sum())
        return chosen, roles

    def nothing(part: pa.RecordBatch, bounds: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.zeros(len(bounds) - 1, bool), {}

    books = years.continuous(ledger)[0]  # as the pipeline hands it to the writer
    with monkeypatch.context() as patch:
        patch.setattr(abacus, "_plain_entries", counting)
        problems = abacus.AbacusWriter().write(books, tmp_path / "columns.xml")
    with monkeypatch.context() as patch:
        patch.setattr(abacus, "_plain_entries", nothing)
        expected = abacus.AbacusWriter().write(books, tmp_path / "entries.xml")
    data = (tmp_path / "columns.xml").read_bytes()
    assert data == (tmp_path / "entries.xml").read_bytes()
    assert problems == expected
    return data, problems, plain


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers(text=HOSTILE))
def test_hostile_books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Ledger) -> None:
    both(ledger, tmp_path, monkeypatch)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers())
def test_random_books(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Ledger) -> None:
    both(ledger, tmp_path, monkeypatch)


def test_generated_books_mostly_column_wise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = generated(3000, seed=11, years=2)
    _, _, plain = both(ledger, tmp_path, monkeypatch)
    assert plain > 0.9 * ledger.entries().count


def test_garage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garage: Ledger) -> None:
    both(garage, tmp_path, monkeypatch)


def test_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ties, lines out of order or unnumbered, foreign amounts, long and odd texts and vouchers, VAT
    lines that fold and that do not, zero and huge amounts."""
    day = dt.date(2024, 3, 1)
    long = "Lieferung  " + "x" * 90
    rows: list[dict[str, Any]] = [
        # a tie: the first line (in line order) carries the collective information
        {"entry": "1", "line": 2, "account": "1000", "amount": -500, "description": " a\u00a0b "},
        {"entry": "1", "line": 1, "account": "2000", "amount": 500, "doc": "VOUCHER-0001-LONG"},
        # unnumbered lines, a foreign single line, odd characters
        {"entry": "2", "line": None, "account": "1&0", "amount": 700, "description": long, "doc": "<&>"},
        {"entry": "2", "line": None, "account": "3000", "amount": -700, "currency": "EUR", "amount_currency": -650,
         "rate": "1.0769", "description": "x\ry"},
        # VAT folded, and the same with the VAT line first
        {"entry": "3", "line": 1, "account": "1100", "amount": 10810, "doc": "R1"},
        {"entry": "3", "line": 2, "account": "3200", "amount": -10000, "vat_code": "V81", "vat_amount": -810},
        {"entry": "3", "line": 3, "account": "2200", "amount": -810, "vat_code": "V81", "vat_line": True},
        {"entry": "4", "line": 1, "account": "2200", "amount": 81, "vat_code": "LONGCODE", "vat_line": True},
        {"entry": "4", "line": 2, "account": "4000", "amount": 1000, "vat_code": "LONGCODE", "vat_amount": 81},
        {"entry": "4", "line": 3, "account": "1020", "amount": -1081},
        # VAT that does not fold, zero amounts, a huge amount
        {"entry": "5", "line": 1, "account": "1100", "amount": 10800},
        {"entry": "5", "line": 2, "account": "3200", "amount": -10000, "vat_code": "V81", "vat_amount": -799},
        {"entry": "5", "line": 3, "account": "2200", "amount": -800, "vat_code": "V81", "vat_line": True},
        {"entry": "6", "line": 1, "account": "1000", "amount": 0},
        {"entry": "6", "line": 2, "account": "2000", "amount": 0},
        {"entry": "7", "line": 1, "account": "1000", "amount": 922337203685477580},
        {"entry": "7", "line": 2, "account": "2000", "amount": -922337203685477580},
    ]  # fmt: skip
    vat_codes = table("vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales"},
                                    {"code": "LONGCODE", "rate": "8.1", "kind": "input_material"}])  # fmt: skip
    ledger = Ledger(lines=table("lines", [{"date": day, **row} for row in rows]), vat_codes=vat_codes)
    data, problems, plain = both(ledger, tmp_path, monkeypatch)
    assert plain == 6  # all but entry 5
    text = data.decode()
    first = text.split('<Transaction id="1">')[1].split("</Transaction>")[0]
    collective, single = first.split("<SingleInformation")
    assert "<Account>2000</Account>" in collective and "<DocumentNumber>VOUCHER-00</DocumentNumber>" in collective
    assert "<Text1>a b</Text1>" in single and "<DebitCredit>C</DebitCredit>" in single
    assert "<TaxCode>T00</TaxCode>" in text and "<TaxAccount>2200</TaxAccount>" in text
    assert any("voucher numbers longer than" in p.message for p in problems)
    assert any("texts longer than 80" in p.message for p in problems)


def test_python_whitespace_is_the_column_class() -> None:
    """The characters the column-wise Text1 check treats as spaces are those `str.split` splits at."""
    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    column = pa.array(characters, pa.string())
    matched = pc.match_substring_regex(column, f"[{abacus._PYTHON_SPACE}]").to_pylist()
    spaces = {c for c, hit in zip(characters, matched, strict=True) if hit}
    assert spaces | {" "} == {c for c in characters if c.isspace()}
