"""VAT codes across vendors: what a code means (kind and rate) and its equivalent in another program.

The table is data, `mappings/vat/vendor_codes.csv`, so a fiduciary can add a client's own codes
without touching code. Translation goes through the canonical meaning: a code is carried to the
target code with the same kind and rate that is valid on the dates the code is used (so 2023 lines
at 7.7 % get the 7.7 % code, 2024 lines the 8.1 % code). A code with no equivalent is a problem
that names it, never a silent blank.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import pyarrow.compute as pc

from migrator import shipped
from migrator.model import Ledger, Problem

MAPPINGS = shipped.MAPPINGS
TABLE = MAPPINGS / "vat" / "vendor_codes.csv"


@dataclass(frozen=True)
class VendorCode:
    """One VAT code of one program, with its canonical meaning."""

    vendor: str
    code: str
    kind: str
    rate: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    verified: bool
    description: str

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@cache
def vendor_codes(vendor: str | None = None) -> tuple[VendorCode, ...]:
    """The known codes of `vendor` (all vendors if None)."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    codes = tuple(
        VendorCode(
            vendor=row["vendor"],
            code=row["code"],
            kind=row["kind"],
            rate=Decimal(row["rate"]),
            valid_from=dt.date.fromisoformat(row["valid_from"]),
            valid_to=dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            verified=row["verified"] == "yes",
            description=row["description"],
        )
        for row in rows
    )
    return codes if vendor is None else tuple(c for c in codes if c.vendor == vendor)


def identify(code: str, vendor: str | None = None) -> VendorCode | None:
    """What a vendor code means, looked up by its name (``UN81`` → sales 8.1 %)."""
    wanted = code.strip().upper()
    for candidate in vendor_codes(vendor):
        if candidate.code.upper() == wanted:
            return candidate
    return None


def meaning(ledger: Ledger, code: str) -> tuple[str, Decimal] | None:
    """Kind and rate of `code` in `ledger`: from its VAT table, else from the vendors' tables."""
    table = ledger.vat_codes
    for row_code, kind, rate in zip(
        table.column("code").to_pylist(),
        table.column("kind").to_pylist(),
        table.column("rate").to_pylist(),
        strict=True,
    ):
        if row_code != code:
            continue
        try:
            value = Decimal(rate) if rate else None
        except InvalidOperation:
            value = None
        if kind and value is not None:
            return kind, value
        known = identify(code)
        if known:
            return (kind or known.kind), (value if value is not None else known.rate)
        return None
    known = identify(code)
    return (known.kind, known.rate) if known else None


def _usage(ledger: Ledger) -> dict[str, tuple[dt.date, dt.date]]:
    """First and last date each VAT code is used on."""
    lines = ledger.lines.filter(pc.not_equal(ledger.lines.column("vat_code"), ""))
    if not lines.num_rows:
        return {}
    grouped = lines.group_by("vat_code", use_threads=False).aggregate([("date", "min"), ("date", "max")])
    return {
        code: (low, high)
        for code, low, high in zip(
            grouped.column("vat_code").to_pylist(),
            grouped.column("date_min").to_pylist(),
            grouped.column("date_max").to_pylist(),
            strict=True,
        )
    }


def translate(ledger: Ledger, vendor: str) -> tuple[dict[str, str], list[Problem]]:
    """For every VAT code the ledger uses or defines, the `vendor` code with the same meaning.

    Returns the translation and a problem (error) for each code without an equivalent.
    """
    usage = _usage(ledger)
    codes = sorted(set(usage) | set(ledger.vat_codes.column("code").to_pylist()))
    targets = vendor_codes(vendor)
    result: dict[str, str] = {}
    problems: list[Problem] = []
    for code in codes:
        if any(t.code == code for t in targets):
            result[code] = code
            continue
        known = meaning(ledger, code)
        if known is None:
            problems.append(
                Problem("error", f"VAT code {code}: kind or rate unknown, so it has no {vendor} equivalent")
            )
            continue
        kind, rate = known
        same = [t for t in targets if t.kind == kind and t.rate == rate]
        if code in usage:
            first, last = usage[code]
            dated = [t for t in same if t.valid_on(first) and t.valid_on(last)]
            same = dated or same
        if not same:
            problems.append(Problem("error", f"VAT code {code} ({kind} {rate} %) has no {vendor} equivalent"))
            continue
        result[code] = same[0].code
    return result, problems
