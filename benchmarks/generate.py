"""Deterministic books of N entries over a Swiss SME chart, built column-wise (no object per line).

One entry in five has two lines, four in five have three (a sale with its VAT line),
so N entries make about 2.8 N lines. The same seed always gives the same books.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from migrator.model import Company, FiscalYear, Ledger, conform, table

ACCOUNTS = [
    ("1000", "Caisse", "asset"), ("1020", "Banque", "asset"), ("1100", "Débiteurs", "asset"),
    ("1170", "Impôt préalable", "asset"), ("2000", "Créanciers", "liability"), ("2200", "TVA due", "liability"),
    ("3200", "Ventes de marchandises", "income"), ("3400", "Prestations de services", "income"),
    ("4200", "Achats de marchandises", "expense"), ("5000", "Salaires", "expense"), ("6000", "Loyer", "expense"),
    ("6500", "Frais d'administration", "expense"), ("6570", "Informatique", "expense"),
    ("6900", "Frais financiers", "expense"),
]  # fmt: skip
_DEBITS = np.array(["1020", "1100", "4200", "5000", "6000", "6500", "6570", "6900"])
_CREDITS = np.array(["1020", "2000", "3200", "3400", "1000"])


def ledger(entries: int, seed: int = 42, start_year: int = 2024) -> Ledger:
    """Books of `entries` entries spread over the years needed (about 100k entries a year)."""
    rng = np.random.default_rng(seed)
    three = (np.arange(entries) % 5) != 0
    sizes = np.where(three, 3, 2)
    total = int(sizes.sum())
    entry_of_line = np.repeat(np.arange(1, entries + 1), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    line_no = np.arange(total) - np.repeat(starts, sizes) + 1
    years = max(1, -(-entries // 100_000))
    day0 = dt.date(start_year, 1, 1)
    days = (np.arange(entries) * (365 * years) // max(entries, 1)).astype("int64")
    net = rng.integers(100, 500_000, entries)  # cents
    vat = (net * 81 + 500) // 1000  # 8.1 %, rounded to the cent
    amount = np.empty(total, dtype=np.int64)
    account = np.empty(total, dtype=object)
    vat_code = np.full(total, "", dtype=object)
    vat_line = np.zeros(total, dtype=bool)
    vat_amount = np.zeros(total, dtype=np.int64)
    no_vat = np.ones(total, dtype=bool)
    first = starts
    two = ~three
    # two-line entries: some expense or asset debited, a liquidity/liability/income account credited
    amount[first[two]] = net[two]
    amount[first[two] + 1] = -net[two]
    account[first[two]] = _DEBITS[rng.integers(0, len(_DEBITS), int(two.sum()))]
    account[first[two] + 1] = _CREDITS[rng.integers(0, len(_CREDITS), int(two.sum()))]
    # three-line entries: a sale on credit with its VAT line
    gross = net[three] + vat[three]
    amount[first[three]] = gross
    amount[first[three] + 1] = -net[three]
    amount[first[three] + 2] = -vat[three]
    account[first[three]] = "1100"
    account[first[three] + 1] = np.where(rng.integers(0, 2, int(three.sum())) == 0, "3200", "3400")
    account[first[three] + 2] = "2200"
    vat_code[first[three] + 1] = "V81"
    vat_code[first[three] + 2] = "V81"
    vat_line[first[three] + 2] = True
    vat_amount[first[three] + 1] = -vat[three]
    no_vat[first[three] + 1] = False
    dates = np.datetime64(day0, "D") + np.repeat(days, sizes).astype("timedelta64[D]")
    entry_text = np.char.add("Écriture ", np.arange(1, entries + 1).astype(str))
    doc = np.char.add("B", np.arange(1, entries + 1).astype(str))
    lines = conform(
        "lines",
        {
            "entry": pa.array(entry_of_line.astype(str)),
            "line": pa.array(line_no.astype(np.int32)),
            "date": pa.array(dates, pa.date32()),
            "doc": pa.array(np.repeat(doc, sizes)),
            "description": pa.array(np.repeat(entry_text, sizes)),
            "account": pa.array(account.astype(str)),
            "amount": pa.array(amount),
            "vat_code": pa.array(vat_code.astype(str)),
            "vat_amount": pa.array(vat_amount, pa.int64(), mask=no_vat),
            "vat_line": pa.array(vat_line),
            "source_file": pa.repeat(pa.scalar("generated"), total),
            "source_row": pa.array(np.arange(1, total + 1)),
        },
    )
    company = Company(
        name=f"Benchmark SA ({entries} entries)",
        fiscal_years=tuple(
            FiscalYear(dt.date(start_year + y, 1, 1), dt.date(start_year + y, 12, 31)) for y in range(years)
        ),  # fmt: skip
    )
    accounts = table("accounts", ({"code": c, "name": n, "type": t, "active": True} for c, n, t in ACCOUNTS))
    vat_codes = table(
        "vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"}]
    )
    return Ledger(company=company, accounts=accounts, vat_codes=vat_codes, lines=lines)


def write_csv(entries: int, folder: Path) -> Path:
    """The canonical CSV of `entries` entries, generated once and cached in `folder`."""
    from migrator.pipeline import write

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"books-{entries}.csv"
    if not path.exists():
        write(ledger(entries), "csv", path)
    return path
