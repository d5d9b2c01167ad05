"""How a `Ledger` shows itself in a console and a notebook: company, years, counts and problems,
never the tables themselves (`repr(ledger)`, and `_repr_html_` for Jupyter)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrator.model import Ledger

SHOWN_PROBLEMS = 5
"""Problems listed in a notebook's view; the rest are counted."""


def _years(ledger: Ledger) -> str:
    from migrator.model import years_of

    spans = years_of(ledger)
    if not spans:
        return "no years"
    first, last = spans[0], spans[-1]
    return f"{first.start.isoformat()} to {last.end.isoformat()} ({len(spans)} fiscal year{'s' * (len(spans) != 1)})"


def _problem_counts(ledger: Ledger) -> str:
    errors = sum(p.severity == "error" for p in ledger.problems)
    return f"{errors} errors, {len(ledger.problems) - errors} warnings/notes"


def short(ledger: Ledger) -> str:
    """``<Ledger 'Garage Muster AG' CHF, winbiz, 2023-01-01 to 2024-12-31 (2 fiscal years): 41 accounts, …>``"""
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in ledger.counts().items() if n)
    origin = f" {ledger.format}," if ledger.format else ""
    name = ledger.company.name or "(no company name)"
    return (f"<Ledger {name!r} {ledger.company.base_currency},{origin} {_years(ledger)}: "
            f"{counts or 'empty'}; {_problem_counts(ledger)}>")  # fmt: skip


def html(ledger: Ledger) -> str:
    """A small table for Jupyter: company, format, years, counts and the first problems."""
    rows = [
        ("company", ledger.company.name or "(no company name)"),
        ("currency", ledger.company.base_currency),
        ("read from", ledger.format or "(built in Python)"),
        ("years", _years(ledger)),
    ]
    rows += [(name.replace("_", " "), f"{n:,}".replace(",", "'")) for name, n in ledger.counts().items()]
    rows.append(("problems", _problem_counts(ledger)))
    body = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    problems = "".join(f"<li>{escape(str(p))}</li>" for p in ledger.problems[:SHOWN_PROBLEMS])
    more = len(ledger.problems) - SHOWN_PROBLEMS
    if more > 0:
        problems += f"<li>… and {more} more (<code>ledger.problems</code>)</li>"
    listed = f"<ul>{problems}</ul>" if problems else ""
    return f"<div class='migrator-ledger'><strong>Ledger</strong><table>{body}</table>{listed}</div>"
