"""Property tests: generated ledgers are valid books, and the canonical CSV reads back what it wrote."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.compute as pc
from hypothesis import given, settings
from strategies import SOURCE_FILE, ledgers

from migrator import pipeline
from migrator.model import Ledger
from migrator.reconcile import entry_totals, trial_balance
from migrator.validate import validate

ORIGIN = ("source_file", "source_row")


@settings(max_examples=50, deadline=None)
@given(ledgers())
def test_generated_ledgers_always_balance(ledger: Ledger) -> None:
    lines = ledger.lines
    assert lines.num_rows >= 2
    assert set(entry_totals(lines).values()) == {0}
    assert sum(trial_balance(ledger).values()) == 0
    assert [p for p in validate(ledger) if p.severity == "error"] == []
    assert set(lines.column("source_file").to_pylist()) == {SOURCE_FILE}
    assert lines.column("source_row").null_count == 0
    # lines are numbered from 1 within each entry
    for entry in pc.unique(lines.column("entry")).to_pylist():
        numbers = lines.filter(pc.equal(lines.column("entry"), entry)).column("line").to_pylist()
        assert numbers == list(range(1, len(numbers) + 1))


@settings(max_examples=25, deadline=None)
@given(ledgers())
def test_csv_reads_back_what_it_wrote(ledger: Ledger) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.csv"
        pipeline.write(ledger, "csv", path)
        back = pipeline.read(path, "csv")
    assert back.errors == []
    keep = [n for n in ledger.lines.column_names if n not in ORIGIN]
    for before, after in zip(ledger.lines.select(keep).to_pylist(), back.lines.select(keep).to_pylist(), strict=True):
        assert after == before
    assert back.lines.select(keep).equals(ledger.lines.select(keep))
    assert trial_balance(back) == trial_balance(ledger)
    # the CSV's own rows: the header is row 1, lines follow in order
    assert back.lines.column("source_row").to_pylist() == list(range(2, ledger.lines.num_rows + 2))
