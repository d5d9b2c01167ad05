"""What every reader is, and the helpers readers share.

A reader is a small class: `name`, `extensions`, `sniff(source) -> confidence` (0 means "not mine")
and `read(source, options) -> Ledger`. It knows one vendor's files and nothing about targets.
Data problems go into the ledger's `problems` with file and row; `SourceError` is raised only when
the source cannot be read at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from migrator.i18n import N_
from migrator.model import Ledger, Problem, table
from migrator.sources import Source


@dataclass(frozen=True)
class ReadOptions:
    """Choices a user can make about reading."""

    encoding: str | None = None
    """Text encoding to use instead of detecting it."""
    year: int | None = None
    """Keep only the fiscal year starting in this calendar year (multi-year sources)."""
    dossier: str | None = None
    """Which company of a multi-company source (a Winbiz DAT folder)."""
    for_verification: bool = False
    """The read only checks a written output: counts, account balances and VAT totals are compared,
    so a reader may leave other columns empty to read faster."""


class Reader(Protocol):
    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]

    def sniff(self, source: Source) -> float:
        """How sure the reader is that `source` is its format: 0 (no) to 1 (certain)."""
        ...

    def read(self, source: Source, options: ReadOptions) -> Ledger: ...


class Rows:
    """Collects journal lines row by row (for small vendor files) and builds the `lines` table.

    Keeps each line's source file and row, and the problems met, so nothing is dropped silently.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.rows: list[dict[str, Any]] = []
        self.problems: list[Problem] = []

    def add(self, **values: Any) -> None:
        values.setdefault("source_file", self.file)
        self.rows.append(values)

    def problem(self, row: int | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(severity, message, self.file, row))  # type: ignore[arg-type]

    def lines(self) -> pa.Table:
        numbered = number_lines(self.rows)
        return table("lines", numbered)


def number_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give lines without a `line` number their position within their entry (from 1)."""
    seen: dict[str, int] = {}
    for row in rows:
        entry = str(row.get("entry", ""))
        seen[entry] = seen.get(entry, 0) + 1
        if row.get("line") is None:
            row["line"] = seen[entry]
    return rows


def accounts_from_lines(lines: pa.Table, file: str = "") -> tuple[pa.Table, list[Problem]]:
    """A chart for a lines-only source: one account per code used, and a warning that says so."""
    return accounts_from_codes(pc.unique(lines.column("account")).to_pylist(), file)


def accounts_from_codes(used: Iterable[str], file: str = "") -> tuple[pa.Table, list[Problem]]:
    """`accounts_from_lines` from the codes the lines use."""
    codes = sorted(c for c in used if c)
    if not codes:
        return table("accounts"), []
    accounts = table("accounts", ({"code": c, "name": "", "active": True} for c in codes))
    note = Problem(
        "warning",
        N_("the source has no chart of accounts; {count} accounts were created from the codes its lines use").format(
            count=len(codes)
        ),
        file,
    )
    return accounts, [note]


def merge_accounts(known: pa.Table, lines: pa.Table, file: str = "") -> tuple[pa.Table, list[Problem]]:
    """`known` plus an account for every code the lines use that the chart lacks (with a warning each)."""
    have = set(known.column("code").to_pylist())
    missing = sorted(c for c in pc.unique(lines.column("account")).to_pylist() if c and c not in have)
    if not missing:
        return known, []
    added = table("accounts", ({"code": c, "active": True} for c in missing))
    problems = [
        Problem(
            "warning",
            N_("account {c} is used by the journal but missing from the chart; it was added").format(c=c),
            file,
        )
        for c in missing
    ]
    return pa.concat_tables([known, added]), problems


def date_or_none(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None
