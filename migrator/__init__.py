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
    "dossiers": "migrator.pipeline",
    "Conversion": "migrator.pipeline",
    "MigratorError": "migrator.errors",
    "SourceError": "migrator.errors",
    "ProblemsFound": "migrator.errors",
}

if TYPE_CHECKING:
    from migrator.errors import MigratorError, ProblemsFound, SourceError
    from migrator.model import Ledger, Problem
    from migrator.pipeline import Conversion, convert, detect, dossiers, read, verify, write
    from migrator.reconcile import summary
    from migrator.registry import formats
    from migrator.validate import validate

__all__ = [
    "Conversion", "Ledger", "MigratorError", "Problem", "ProblemsFound", "SourceError", "convert", "detect",
    "dossiers", "formats", "read", "summary", "trial_balance", "validate", "verify", "write",
]  # fmt: skip


def trial_balance(ledger: Ledger, *, decimals: bool = False) -> dict[str, Any]:
    """Net amount per account over all lines, debit positive, accounts in code order: in cents
    (``int``), or with ``decimals=True`` as exact ``Decimal`` amounts (``Decimal('1234.50')``)."""
    from migrator.money import to_decimal
    from migrator.reconcile import trial_balance as cents

    sums = cents(ledger)
    return {code: to_decimal(value) for code, value in sums.items()} if decimals else sums


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'migrator' has no attribute {name!r}")
