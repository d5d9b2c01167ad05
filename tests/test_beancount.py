"""Beancount writer: bean-check accepts the ledger; Beancount's loader and bean-query give migrator's balances."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import tempfile
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import given, settings
from strategies import ledgers
from test_hledger import _odd

from migrator import pipeline, years
from migrator.money import to_cents
from migrator.reconcile import trial_balance
from migrator.writers.beancount import ascii_words, component

BIN = Path(sys.executable).parent
BEAN_CHECK = shutil.which("bean-check", path=str(BIN)) or shutil.which("bean-check")
BEAN_QUERY = shutil.which("bean-query", path=str(BIN)) or shutil.which("bean-query")


def _cents(number: Decimal) -> int:
    """Beancount turns ``@@ total`` into a unit price, so a weight can be 0.00999… for 0.01: round to cents."""
    return to_cents(number.quantize(Decimal("0.01"), ROUND_HALF_EVEN))


def _code(account: str) -> str:
    return account.split(":")[-1].split("-")[0]


def test_transliteration():
    assert ascii_words("Débiteurs clients") == "Debiteurs-clients"
    assert ascii_words("Müller & Söhne AG") == "Mueller-Soehne-AG"
    assert ascii_words("Straße Œuvre Ærø Łódź") == "Strasse-OEuvre-AEro-Lodz"
    assert ascii_words("Impôt préalable — 8.1 %") == "Impot-prealable-8-1"
    assert component("a1", "caisse") == "A1-caisse"
    assert component("", "") == "X"


def test_garage_ledger_golden(garage, tmp_path):
    out = tmp_path / "garage.beancount"
    pipeline.write(garage, "beancount", out)
    golden("beancount/garage.beancount", out.read_text(encoding="utf-8"))


@pytest.mark.skipif(BEAN_CHECK is None, reason="bean-check is not installed (pip install beancount)")
@pytest.mark.parametrize("which", ["garage", "odd"])
def test_bean_check_accepts(which, garage, tmp_path):
    out = tmp_path / "books.beancount"
    pipeline.write(garage if which == "garage" else _odd(), "beancount", out)
    done = subprocess.run([BEAN_CHECK, str(out)], capture_output=True, text=True, timeout=120)  # type: ignore[list-item]
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("which", ["garage", "odd"])
def test_loader_weights_give_the_trial_balance(which, garage, tmp_path):
    loader = pytest.importorskip("beancount.loader", reason="beancount is not installed (pip install beancount)")
    from beancount.core import convert, data

    ledger = garage if which == "garage" else _odd()
    out = tmp_path / "books.beancount"
    pipeline.write(ledger, "beancount", out)
    entries, errors, _options = loader.load_file(str(out))
    assert errors == []
    sums: dict[str, int] = {}
    opening = 0
    for entry in entries:
        if isinstance(entry, data.Transaction):
            opening += "opening" in entry.tags
            for posting in entry.postings:
                weight = convert.get_weight(posting)
                assert weight.currency == "CHF"
                code = _code(posting.account)
                sums[code] = sums.get(code, 0) + _cents(weight.number)
    # the ledger runs on from year to year (migrator.years): only the first year's opening stays an opening
    assert {k: v for k, v in sums.items() if v} == {
        k: v for k, v in trial_balance(years.continuous(ledger)[0]).items() if v
    }
    assert opening == 1


@pytest.mark.skipif(BEAN_QUERY is None, reason="bean-query is not installed (pip install beanquery)")
def test_bean_query_balances(garage, tmp_path):
    out = tmp_path / "garage.beancount"
    pipeline.write(garage, "beancount", out)
    query = "SELECT account, sum(weight) AS total GROUP BY account ORDER BY account"
    done = subprocess.run([BEAN_QUERY, "-f", "csv", str(out), query], capture_output=True, text=True, timeout=120)  # type: ignore[list-item]
    assert done.returncode == 0, done.stderr
    balances = {}
    for account, total in list(csv.reader(io.StringIO(done.stdout)))[1:]:
        if not total.strip():  # an account the year-end closing brought to zero
            continue
        number, currency = total.split()  # bean-query pads numbers with spaces
        assert currency == "CHF"
        balances[_code(account)] = to_cents(Decimal(number))
    continuous = years.continuous(garage)[0]
    assert balances == {k: v for k, v in trial_balance(continuous).items() if v}
    assert balances["4200"] == to_cents(Decimal("4500.00"))  # 2024's goods only: 3000 + 1500 (2023 closed to equity)


@settings(max_examples=10, deadline=None)
@given(ledger=ledgers())
def test_hypothesis_beancount_agrees(ledger):
    loader = pytest.importorskip("beancount.loader", reason="beancount is not installed (pip install beancount)")
    from beancount.core import convert, data

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "books.beancount"
        pipeline.write(ledger, "beancount", out)
        entries, errors, _options = loader.load_file(str(out))
    assert errors == []
    sums: dict[str, int] = {}
    for entry in entries:
        for posting in entry.postings if isinstance(entry, data.Transaction) else ():
            code = _code(posting.account)
            sums[code] = sums.get(code, 0) + _cents(convert.get_weight(posting).number)
    assert sums == trial_balance(ledger)
