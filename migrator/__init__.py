"""migrator: move a company's books from one accounting program to another, and prove nothing was lost.

>>> import migrator
>>> ledger = migrator.read("samples/garage/journal.csv")        # doctest: +SKIP
>>> migrator.convert("samples/garage/journal.csv", "xlsx", "out.xlsx")  # doctest: +SKIP

Heavy modules (pyarrow, openpyxl, lxml) load on first use, so the command line starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "read": "migrator.pipeline",
    "write": "migrator.pipeline",
    "convert": "migrator.pipeline",
    "verify": "migrator.pipeline",
    "detect": "migrator.pipeline",
    "validate": "migrator.validate",
    "Ledger": "migrator.model",
    "Problem": "migrator.model",
    "formats": "migrator.registry",
    "summary": "migrator.reconcile",
    "trial_balance": "migrator.reconcile",
}

if TYPE_CHECKING:
    from migrator.model import Ledger, Problem
    from migrator.pipeline import convert, detect, read, verify, write
    from migrator.reconcile import summary, trial_balance
    from migrator.registry import formats
    from migrator.validate import validate

__all__ = [
    "Ledger", "Problem", "convert", "detect", "formats", "read", "summary", "trial_balance", "validate", "verify",
    "write",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'migrator' has no attribute {name!r}")
