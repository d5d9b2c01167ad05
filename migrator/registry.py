"""Every format migrator knows, listed once.

Adding a format means writing `readers/<name>.py` and/or `writers/<name>.py` and one line below.
Modules are imported only when used, so `migrator formats` stays fast.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from migrator.errors import UnknownFormat, UnsupportedOperation

if TYPE_CHECKING:
    from migrator.readers.base import Reader
    from migrator.writers.base import Writer

Aspect = Literal[
    "accounts", "vat_codes", "lines", "entries", "partners", "open_items", "items", "documents", "document_lines"
]


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
    years: Literal["per-year", "continuous"] = "per-year"
    """How books of several fiscal years are carried: each year with its own opening balances
    (per-year), or one opening and a closing entry at each year end (continuous: `migrator.years`)."""

    def reader(self) -> Reader:
        if not self.reads:
            raise UnsupportedOperation(f"format {self.name!r} can be written but not read")
        return _load(f"migrator.readers.{self.name}")

    def writer(self, options: Mapping[str, str] | None = None) -> Writer:
        """The format's writer; `options` (name to text, as typed on the command line) set the keyword
        arguments its class takes, e.g. Banana's ``partner_accounts``."""
        if not self.writes:
            raise UnsupportedOperation(f"format {self.name!r} can be read but not written")
        writer = _load(f"migrator.writers.{self.name}")
        if not options:
            return writer
        known = self.writer_options()
        arguments = {}
        for name, text in options.items():
            if name not in known:
                offered = ", ".join(sorted(known)) or "none"
                raise UnsupportedOperation(
                    f"format {self.name!r} has no writer option {name!r} (its options: {offered})"
                )
            arguments[name] = _option_value(self.name, name, text, known[name])
        return type(writer)(**arguments)  # type: ignore[no-any-return]

    def writer_options(self) -> dict[str, object]:
        """The writer's options with their defaults (the keyword arguments of its class)."""
        if not self.writes:
            return {}
        signature = inspect.signature(type(_load(f"migrator.writers.{self.name}")).__init__)
        return {p.name: p.default for p in signature.parameters.values()
                if p.name != "self" and p.default is not inspect.Parameter.empty}  # fmt: skip

    @property
    def default_extension(self) -> str:
        return self.extensions[0] if self.extensions else ""


_TRUE = ("1", "true", "yes", "on", "oui", "ja")
_FALSE = ("0", "false", "no", "off", "non", "nein")


def _option_value(fmt: str, name: str, text: str | bool, default: object) -> object:
    """`text` as the type of the option's default: a flag (yes/no), a whole number or text."""
    if isinstance(default, bool):
        if isinstance(text, bool):
            return text
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise UnsupportedOperation(f"writer option {name!r} of {fmt!r} is yes or no, not {text!r}")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise UnsupportedOperation(f"writer option {name!r} of {fmt!r} is a whole number, not {text!r}") from None
    return text


@cache
def _load(module_name: str):  # type: ignore[no-untyped-def]
    module = importlib.import_module(module_name)
    return module.FORMAT()


_ALL: tuple[Aspect, ...] = (
    "accounts", "vat_codes", "lines", "entries", "partners", "open_items", "items", "documents", "document_lines",
)  # fmt: skip

FORMATS: tuple[Format, ...] = (
    # canonical forms
    Format("csv", "canonical postings CSV (one row per line)", (".csv", ".tsv", ".txt"), True, True,
           keeps=("lines", "entries")),
    Format("csvfolder", "canonical CSV folder: journal.csv and one CSV per table (partners, items, documents…)",
           (), True, True, output="folder", keeps=_ALL),
    Format("xlsx", "Excel workbook: accounts, journal, trial balance, VAT, partners, open items", (".xlsx",),
           True, True, keeps=_ALL),
    Format("sqlite", "SQLite archive of the canonical ledger (lossless)", (".sqlite", ".db"), True, True, keeps=_ALL),
    # Swiss accounting programs
    Format("winbiz", "Winbiz (data folder, XML/Excel/CSV exports; import CSV)",
           (".xml", ".csv", ".xls", ".xlsx", ".dbf"), True, True, output="folder", keeps=("accounts", "entries")),
    Format("banana", "Banana Accounting (import/export text files)", (".txt", ".tsv", ".csv"), True, True,
           output="folder", keeps=("accounts", "vat_codes", "entries")),
    Format("bexio", "bexio (journal and account exports; manual entries JSON, chart Excel)",
           (".csv", ".xlsx", ".json"), True, True, output="folder", keeps=("accounts", "vat_codes", "entries"),
           years="continuous"),
    Format("cresus", "Crésus Comptabilité (journal text export and import)", (".txt", ".csv"), True, True,
           keeps=("entries",), years="continuous"),
    Format("infoniqa", "Infoniqa ONE 50 / Sage 50 Switzerland (journal export and import)", (".csv",), True, True,
           keeps=("lines", "entries"), years="continuous"),
    Format("runmyaccounts", "Run my Accounts (GL import CSV and chart)", (".csv",), True, True, output="folder",
           keeps=("accounts", "entries"), years="continuous"),
    Format("abacus", "Abacus AbaConnect FIBU XML Buchungen", (".xml",), False, True, years="continuous"),
    # open standards and archive formats
    Format("saft", "SAF-T Financial (Norway 1.30, OECD SAF-T 2.0)", (".xml",), True, True,
           keeps=("accounts", "vat_codes", "lines", "entries", "partners"), years="continuous"),
    Format("fec", "FEC, Fichier des écritures comptables (France)", (".txt", ".csv"), True, True, keeps=("entries",)),
    Format("datev", "DATEV EXTF Buchungsstapel and Kontenbeschriftungen (Germany)", (".csv",), True, True,
           output="folder", keeps=("accounts", "entries")),
    Format("sie", "SIE 4 (Sweden)", (".se", ".si", ".sie"), True, True, keeps=("accounts", "entries")),
    Format("gnucash", "GnuCash book (compressed XML; reads SQLite books and .gnucash-xea chart templates)",
           (".gnucash", ".xea", ".gnucash-xea"), True, True, keeps=("accounts", "lines", "entries", "partners"),
           years="continuous"),
    Format("hledger", "hledger journal", (".journal", ".hledger"), False, True, years="continuous"),
    Format("beancount", "Beancount ledger", (".beancount",), False, True, years="continuous"),
    Format("vcard", "vCard 4.0 address book: partners only (reads vCard 3.0 too)", (".vcf", ".vcard"), True, True,
           keeps=("partners",)),
    Format("camt053", "ISO 20022 camt.053 bank statement (Swiss Payment Standards)", (".xml",), True, False),
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
