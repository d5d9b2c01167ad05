"""The demo garage as a Crésus Comptabilité journal: ``journal.txt`` (the extended import layout,
which the reader reads like an export: tab text, compound entries with ``...``)."""

from __future__ import annotations

from pathlib import Path

from migrator.model import Ledger
from migrator.pipeline import write


def generate(ledger: Ledger, folder: Path) -> None:
    write(ledger, "cresus", folder / "journal.txt")
