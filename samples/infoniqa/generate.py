"""The demo garage as Infoniqa ONE 50 (Sage 50) exports its journal: ``buchungen.csv``."""

from __future__ import annotations

from pathlib import Path

from migrator.model import Ledger
from migrator.pipeline import write


def generate(ledger: Ledger, folder: Path) -> None:
    write(ledger, "infoniqa", folder / "buchungen.csv")
