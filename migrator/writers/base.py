"""What every writer is, and the helpers writers share.

A writer is a small class: `name`, `extension`, `output` ("file" or "folder") and
`write(ledger, target) -> problems`. It knows one target format and nothing about sources.
`target` is a temporary path the pipeline renames when the writer returns, so a writer never
leaves half a file behind; for folder formats it is an empty, existing folder.
The problems a writer returns name what the format could not carry (severity "info" or
"warning"), so the report can say item by item what was not moved.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from migrator import model
from migrator.errors import UnsupportedOperation
from migrator.i18n import N_
from migrator.model import Ledger, Problem

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Writer(Protocol):
    name: ClassVar[str]
    extension: ClassVar[str]
    output: ClassVar[Literal["file", "folder"]]

    def write(self, ledger: Ledger, target: Path) -> list[Problem]: ...


def inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading ``'`` before ``= + - @`` tab or CR.

    Only for free text (names, descriptions), never for amounts.

    >>> inert("=HYPERLINK(1)"), inert("Garage")
    ("'=HYPERLINK(1)", 'Garage')
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lost(what: str, count: int, action: str) -> list[Problem]:
    """One info problem saying that `count` items of `what` could not be carried, and what was done."""
    if not count:
        return []
    return [
        Problem(
            "info",
            N_("{count} {what} not carried by this format: {action}").format(count=count, what=what, action=action),
        )
    ]


def lost_columns(what: str, before: list[dict[str, Any]], kept: list[dict[str, Any]], action: str) -> list[Problem]:
    """One declaration for the rows of a table that a format changes: ``N <what> (<column> <count>, …)
    not carried by this format: <action>``. `kept` holds each row of `before` (same order, all columns)
    as the format keeps it and its reader reads it back; an empty text and a missing value are the same."""
    counts: dict[str, int] = {}
    changed = 0
    for old, new in zip(before, kept, strict=True):
        columns = [c for c, v in old.items() if v != new[c] and not (v in ("", None) and new[c] in ("", None))]
        changed += bool(columns)
        for column in columns:
            counts[column] = counts.get(column, 0) + 1
    order = list(before[0]) if before else []
    listed = ", ".join(f"{column.replace('_', ' ')} {counts[column]}" for column in order if column in counts)
    return lost(f"{what} ({listed})", changed, action)


def unbooked_years(ledger: Ledger) -> int:
    """The fiscal years no line is dated in: a journal of bookings cannot say they exist."""
    dates = ledger.lines.column("date")
    if not ledger.company.fiscal_years:
        return 0
    if not len(dates) or dates.null_count == len(dates):
        return len(ledger.company.fiscal_years)
    booked = {d for d in pc.unique(dates.drop_null()).to_pylist()}
    return sum(1 for year in ledger.company.fiscal_years if not any(year.contains(d) for d in booked))


def off_calendar_years(ledger: Ledger) -> int:
    """The fiscal years that are not calendar years: a journal of bookings reads back as calendar years."""
    return sum(1 for y in ledger.company.fiscal_years if (y.start.month, y.start.day, y.end.month, y.end.day,
                                                           y.end.year) != (1, 1, 12, 31, y.start.year))  # fmt: skip


def fiscal_year_losses(ledger: Ledger, program: str) -> list[Problem]:
    """What a journal of bookings alone loses of the fiscal years: those without bookings, and that a
    year is not a calendar year (`program`'s own settings hold them)."""
    problems = lost(N_("fiscal years without bookings"), unbooked_years(ledger),
                    N_("left out: the years are read back from the bookings' dates"))  # fmt: skip
    return problems + lost(N_("fiscal years other than calendar years"), off_calendar_years(ledger),
                           N_("the years are read back as calendar years from the bookings' dates: set them in "
                              "{program}").format(program=program))  # fmt: skip


def amounts_only_currency_loss(ledger: Ledger, program: str) -> list[Problem]:
    """A base currency other than CHF, which a file of bare amounts cannot say (`program` reads CHF)."""
    base = ledger.company.base_currency
    return lost(N_("base currency"), int(base not in ("", "CHF")), N_("the file holds amounts only and reads back "
                "as CHF: the amounts are in {base}, set it as the base currency in {program}").format(base=base,
                program=program))  # fmt: skip


def dates_up_to(ledger: Ledger, last: dt.date, fmt: str, why: str) -> None:
    """`UnsupportedOperation` (exit 2) naming the first line (file, row, entry) or fiscal year that ends
    after `last`, the last day writer `fmt` can hold (`why` says why)."""
    dates = ledger.lines.column("date")
    late = pc.greater(dates, pa.scalar(last, pa.date32())).fill_null(False)
    count = int(pc.sum(late).as_py() or 0)
    allowed = N_("{fmt} takes dates up to {last} ({why})").format(fmt=fmt, last=last.isoformat(), why=why)
    if count:
        index = pc.index(late, True).as_py()
        row = ledger.lines.slice(index, 1).to_pylist()[0]
        where = ", ".join(str(p) for p in (row["source_file"], row["source_row"] and f"row {row['source_row']}") if p)
        others = f" (and {count - 1} more line{'s' if count > 2 else ''})" if count > 1 else ""
        raise UnsupportedOperation(N_("{where}entry {entry} is dated {date}{others}; {allowed}").format(where=where + ': ' if where else '', entry=row['entry'], date=row['date'].isoformat(), others=others, allowed=allowed))  # fmt: skip
    for year in ledger.company.fiscal_years:
        if year.end > last:
            raise UnsupportedOperation(N_("the fiscal year {start} to {end} ends after {last}; {allowed}").format(start=year.start.isoformat(), end=year.end.isoformat(), last=last.isoformat(), allowed=allowed))  # fmt: skip


def lines_with(lines: pa.Table, column: str) -> int:
    """How many lines have something in `column`: text that is not empty, a flag that is set."""
    values = lines.column(column)
    filled = values if pa.types.is_boolean(values.type) else pc.not_equal(values, "")
    return int(pc.sum(filled).as_py() or 0)


def entries(lines: pa.Table) -> Iterator[list[dict[str, Any]]]:
    """The lines of each entry, in the order entries first appear, lines in line-number order; turned
    into dicts a batch of whole entries at a time (a dict per line of a million-entry book at once took
    gigabytes)."""
    for taken, starts in entry_batches(lines, ROWS_AT_ONCE):
        rows = model.rows(taken)
        bounds = [*starts.tolist(), len(rows)]
        for start, end in itertools.pairwise(bounds):
            yield rows[start:end]


ROWS_AT_ONCE = 65_536
"""Lines turned into dicts (or columns into text) at once."""


def entry_runs(bounds: list[int], size: int) -> Iterator[tuple[int, int]]:
    """Runs ``first, last`` of whole entries (entry k spans ``bounds[k]:bounds[k + 1]``) of at most
    `size` lines each, or one entry when it alone is longer."""
    first = 0
    while first < len(bounds) - 1:
        last = first + 1
        while last < len(bounds) - 1 and bounds[last + 1] - bounds[first] <= size:
            last += 1
        yield first, last
        first = last


def entry_batches(lines: pa.Table, size: int = ROWS_AT_ONCE) -> Iterator[tuple[pa.Table, Any]]:
    """The lines in the order `entries` gives them, a batch of whole entries at a time: each batch's
    lines and the position where each of its entries starts (for writers that work column by column)."""
    from migrator import columns

    order, starts = columns.entry_order(lines)
    bounds = [*starts.tolist(), lines.num_rows]
    for first, last in entry_runs(bounds, size):
        taken = lines.take(pa.array(order[bounds[first] : bounds[last]]))
        yield taken, starts[first:last] - bounds[first]
