"""The resource bounds every input is read within, in one place, and how to raise them.

Accounting files come from anywhere: a small file must not be able to take gigabytes of memory or
disk, or hours of time. Every compressed input (zip, xlsx, gzip) has a bound on what it unpacks to,
in total and in ratio to its packed size; SQLite books and SQL dumps have a time bound. A source
that passes a bound is refused with a `SourceError` (exit 2) naming the file, the bound and the
environment variable that raises it.

The defaults are generous for real books (a 20-year Winbiz data folder, a GnuCash book of a million
transactions). They are read from the environment once, on first use:

=========================  ======================================================  =========
variable                   bound                                                   default
=========================  ======================================================  =========
``MIGRATOR_MAX_INPUT_MB``  what one input may unpack to (zip, gzip, SQL dump)      4096
``MIGRATOR_MAX_XLSX_MB``   what one Excel workbook may unpack to                   1024
``MIGRATOR_MAX_RATIO``     unpacked ÷ packed size, past ``RATIO_FREE_MB`` (64);    200
                           also scales the GnuCash tag bound
                           (`migrator.readers.gnucash.TAGS_PER_PACKED_BYTE`)
``MIGRATOR_MAX_MEMBERS``   members of one archive or workbook                      20000
``MIGRATOR_SQL_SECONDS``   time to read one SQLite book or load one SQL dump      600
=========================  ======================================================  =========
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, fields

from migrator.errors import MigratorError, SourceError

MB = 1 << 20
RATIO_FREE_MB = 64
"""An input that unpacks to less than this is never refused for its ratio (small tables of blanks
compress a thousandfold and are harmless)."""


@dataclass(frozen=True)
class Limits:
    """The bounds, in bytes, seconds or counts (see the module docstring for the variables)."""

    max_input_bytes: int = 4096 * MB
    max_xlsx_bytes: int = 1024 * MB
    max_ratio: int = 200
    ratio_free_bytes: int = RATIO_FREE_MB * MB
    max_members: int = 20_000
    sql_seconds: float = 600.0
    sniff_seconds: float = 2.0
    """Time a format guess (``detect``) may spend on one SQLite file; not configurable."""

    def unpacked_bound(self, packed: int) -> int:
        """The most an input of `packed` bytes may unpack to, in ratio only (not in total)."""
        return max(self.ratio_free_bytes, self.max_ratio * max(packed, 1))


VARIABLES = {
    "max_input_bytes": ("MIGRATOR_MAX_INPUT_MB", MB),
    "max_xlsx_bytes": ("MIGRATOR_MAX_XLSX_MB", MB),
    "max_ratio": ("MIGRATOR_MAX_RATIO", 1),
    "max_members": ("MIGRATOR_MAX_MEMBERS", 1),
    "sql_seconds": ("MIGRATOR_SQL_SECONDS", 1),
}
"""Each configurable bound: its environment variable and the unit the variable counts in."""


@functools.cache
def current() -> Limits:
    """The bounds in force: the defaults, raised (or lowered) by the environment, read once."""
    values: dict[str, int | float] = {}
    kinds = {f.name: f.type for f in fields(Limits)}
    for key, (variable, unit) in VARIABLES.items():
        text = os.environ.get(variable, "").strip()
        if not text:
            continue
        try:
            number = float(text) if kinds[key] == "float" else int(text)  # float-ok: a ratio or seconds, not money
        except ValueError:
            number = 0
        if number <= 0:
            raise MigratorError(f"{variable}={text!r}: expected a positive {'number' if unit == 1 else 'whole number'}")
        values[key] = number * unit
    return Limits(**values)  # type: ignore[arg-type]


def _shown(key: str, value: float) -> str:
    unit = VARIABLES[key][1]
    if unit == MB:
        return f"{value / MB:g} MB"
    return f"{value:g} s" if key == "sql_seconds" else f"{value:g}"


def refusal(file: str, what: str, key: str, bound: float | None = None) -> SourceError:
    """The error for a source past a bound: `what` happened; names the bound and its variable."""
    value = getattr(current(), key) if bound is None else bound
    variable = VARIABLES[key][0]
    return SourceError(f"{what}: refusing it (the bound is {_shown(key, value)}; raise it with {variable})", file)


def ratio_refusal(file: str, what: str, packed: int) -> SourceError:
    """The error for an input that unpacks to more than the ratio bound allows for its packed size."""
    bounds = current()
    return SourceError(
        f"{what}, more than {bounds.max_ratio}× its packed size of {packed} bytes: refusing a decompression bomb "
        f"(raise the ratio with MIGRATOR_MAX_RATIO)",
        file,
    )
