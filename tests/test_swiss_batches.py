"""The Crésus and Infoniqa writers write a batch of whole entries at a time (`ROWS_AT_ONCE` lines):
the file is the same whatever the batch size, and what runs across entries (Crésus's compound-entry
numbers, Infoniqa's voucher numbers, the characters Windows-1252 cannot hold) runs across batches."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks import generate
from migrator import years
from migrator.model import Ledger
from migrator.pipeline import for_target
from migrator.writers import cresus, infoniqa


def _books(fmt: str) -> Ledger:
    books = generate.ledger(300, seed=5, years=2)
    lines = books.lines
    # one entry's text Windows-1252 cannot hold: written with '?' and counted once
    texts = lines.column("description").to_pylist()
    texts[7] = "Zahlung ☃"
    lines = lines.set_column(lines.column_names.index("description"), "description", pa.array(texts, pa.string()))
    return years.continuous(for_target(books.replace(lines=lines), fmt)[0])[0]


@pytest.mark.parametrize("module", [cresus, infoniqa], ids=["cresus", "infoniqa"])
def test_same_file_whatever_the_batch(module: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    books = _books(module.FORMAT.name)  # type: ignore[attr-defined]
    whole = tmp_path / "whole"
    problems = module.FORMAT().write(books, whole)  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "ROWS_AT_ONCE", 4)
    small = tmp_path / "small"
    assert module.FORMAT().write(books, small) == problems  # type: ignore[attr-defined]
    assert small.read_bytes() == whole.read_bytes()
    assert sum("Windows-1252" in p.message and p.message.startswith("1 ") for p in problems) == 1
    assert b"Zahlung ?" in whole.read_bytes()


def test_cresus_compound_numbers_run_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cresus, "ROWS_AT_ONCE", 4)
    out = tmp_path / "j.txt"
    cresus.FORMAT().write(_books("cresus"), out)
    numbers = [r.split("\t")[8] for r in out.read_text("cp1252").splitlines() if len(r.split("\t")) > 8]
    numbered = [int(n) for n in numbers if n]
    # each compound entry's records share a number; the numbers go 1, 2, 3, … through the whole file
    assert numbered[0] == 1
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(numbered))
    assert len(set(numbered)) == numbered[-1] > 10


def test_infoniqa_entry_numbers_run_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infoniqa, "ROWS_AT_ONCE", 4)
    out = tmp_path / "j.csv"
    infoniqa.FORMAT().write(_books("infoniqa"), out)
    blg = [int(r.split(",")[0]) for r in out.read_text("cp1252").splitlines()[1:]]
    assert blg[0] == 1 and all(b - a in (0, 1) for a, b in itertools.pairwise(blg))
    assert len(set(blg)) == blg[-1] >= 300  # every entry numbered once, none skipped
