"""The demo garage for Run my Accounts: ``garage/journal.csv`` (GL import) and ``garage/chart.csv``."""

from __future__ import annotations

from pathlib import Path

from migrator.model import Ledger
from migrator.pipeline import write


def generate(ledger: Ledger, folder: Path) -> None:
    write(ledger, "runmyaccounts", folder / "garage")
