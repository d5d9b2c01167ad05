"""Every format migrator knows, listed once.

Adding a format means writing `readers/<name>.py` and/or `writers/<name>.py` and one line below.
Modules are imported only when used, so `migrator formats` stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from migrator.errors import UnknownFormat, UnsupportedOperation

if TYPE_CHECKING:
    from migrator.readers.base import Reader
    from migrator.writers.base import Writer

Aspect = Literal["accounts", "vat_codes", "lines", "entries", "partners", "open_items"]


@dataclass(frozen=True)
class Format:
    """What the registry knows about a format without importing it."""

    name: str
    title: str
    extensions: tuple[str, ...] = ()
    reads: bool = False
    writes: bool = False
    output: Literal["file", "folder"] = "file"
    """A writer makes one file (`-o` names it) or a folder of files (`-o` names the folder)."""
    keeps: tuple[Aspect, ...] = ("accounts", "vat_codes", "lines", "entries", "partners", "open_items")
    """What a write-then-read keeps; verification compares only these (balances always)."""

    def reader(self) -> Reader:
        if not self.reads:
            raise UnsupportedOperation(f"format {self.name!r} can be written but not read")
        return _load(f"migrator.readers.{self.name}")

    def writer(self) -> Writer:
        if not self.writes:
            raise UnsupportedOperation(f"format {self.name!r} can be read but not written")
        return _load(f"migrator.writers.{self.name}")

    @property
    def default_extension(self) -> str:
        return self.extensions[0] if self.extensions else ""


@cache
def _load(module_name: str):  # type: ignore[no-untyped-def]
    module = importlib.import_module(module_name)
    return module.FORMAT()


_ALL: tuple[Aspect, ...] = ("accounts", "vat_codes", "lines", "entries", "partners", "open_items")

FORMATS: tuple[Format, ...] = (
    Format("csv", "canonical postings CSV (one row per line)", (".csv", ".tsv", ".txt"), True, True,
           keeps=("lines", "entries")),
    Format("sqlite", "SQLite archive of the canonical ledger (lossless)", (".sqlite", ".db"), True, True, keeps=_ALL),
    Format("hledger", "hledger journal", (".journal", ".hledger"), False, True),
    Format("beancount", "Beancount ledger", (".beancount",), False, True),
)  # fmt: skip


def formats() -> tuple[Format, ...]:
    return FORMATS


def get(name: str) -> Format:
    """The format called `name` (case-insensitive)."""
    for fmt in FORMATS:
        if fmt.name == name.lower():
            return fmt
    known = ", ".join(f.name for f in FORMATS)
    raise UnknownFormat(f"unknown format {name!r}; known formats: {known}")


def readable() -> list[Format]:
    return [f for f in FORMATS if f.reads]


def writable() -> list[Format]:
    return [f for f in FORMATS if f.writes]
