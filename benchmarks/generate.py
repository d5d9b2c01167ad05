"""Deterministic books of N entries over a Swiss SME chart, built column-wise (no object per line).

One entry in five has two lines, four in five have three (a sale with its VAT line),
so N entries make about 2.8 N lines. The same seed always gives the same books.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def ledger(entries: int, seed: int = 42, start_year: int = 2024, years: int = 0, first: int = 1) -> Ledger:
    """Books of `entries` entries (numbered from `first`) over `years` years (default: about 100k a year)."""
    rng = np.random.default_rng(seed)
    three = (np.arange(entries) % 5) != 0
    sizes = np.where(three, 3, 2)
    total = int(sizes.sum())
    numbers = np.arange(first, first + entries)
    entry_of_line = np.repeat(numbers, sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    line_no = np.arange(total) - np.repeat(starts, sizes) + 1
    years = years or max(1, -(-entries // 100_000))
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
    entry_text = np.char.add("Écriture ", numbers.astype(str))
    doc = np.char.add("B", numbers.astype(str))
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
        ),
    )
    accounts = table("accounts", ({"code": c, "name": n, "type": t, "active": True} for c, n, t in ACCOUNTS))
    vat_codes = table(
        "vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales", "method": "net", "account": "2200"}]
    )
    return Ledger(company=company, accounts=accounts, vat_codes=vat_codes, lines=lines)


def write_csv(entries: int, folder: Path) -> Path:
    """The canonical CSV of `entries` entries, generated once and cached in `folder`. Beyond a million
    entries it is written a million at a time (ten years each), so that generating stays in memory."""
    from migrator.pipeline import write

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"books-{entries}.csv"
    if path.exists():
        return path
    if entries <= CHUNK:
        write(ledger(entries), "csv", path)
        return path
    part = path.with_suffix(".part")
    with part.open("wb") as out:
        for index, first in enumerate(range(1, entries + 1, CHUNK)):
            chunk = folder / "chunk.csv"
            size = min(CHUNK, entries - first + 1)
            write(ledger(size, seed=42 + index, start_year=2024 + 10 * index, first=first), "csv", chunk)
            with chunk.open("rb") as text:
                header = text.readline()
                if index == 0:
                    out.write(header)
                shutil.copyfileobj(text, out)
            chunk.unlink()
    part.rename(path)
    return path


CHUNK = 1_000_000


def write_journal(entries: int, folder: Path) -> Path:
    """The same books as an hledger journal (for the hledger and ledger peers), cached in `folder`."""
    from migrator.pipeline import write

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"books-{entries}.journal"
    if not path.exists():
        write(ledger(entries), "hledger", path)
    return path


def write_clients(clients: int, entries: int, folder: Path) -> Path:
    """A folder of `clients` client folders, each with the canonical CSV of its own small books."""
    from migrator.pipeline import write

    root = folder / f"clients-{clients}x{entries}"
    if not root.exists():
        part = root.with_name(root.name + ".part")
        for number in range(1, clients + 1):
            client = part / f"client-{number:04d}"
            client.mkdir(parents=True, exist_ok=True)
            write(ledger(entries, seed=number), "csv", client / "books.csv")
        part.rename(root)
    return root


def write_winbiz(rows: int, folder: Path) -> Path:
    """A Winbiz year folder (``ecriture.dbf`` of `rows` journal rows, ``plan.dbf``), written by the
    sample's DBF writer. Winbiz books a two-line entry as one row (debit and credit account) and a
    sale with VAT as a base row and a VAT row (``ecr_tvatyp`` -1), so 1.8 rows make an entry."""
    root = folder / f"winbiz-{rows}" / "2024"
    if (root / "ecriture.dbf").exists():
        return root
    import sys
    from decimal import Decimal

    samples = Path(__file__).resolve().parents[1] / "samples" / "winbiz"
    sys.path.insert(0, str(samples))
    import dbfwrite  # type: ignore[import-not-found]
    from generate import CHART_FIELDS, COLUMNS, TYPE_CLASSES, _row  # type: ignore[import-not-found]

    books = ledger(-(-rows * 5 // 9), years=1)  # 1.8 rows per entry, one year
    lines = books.lines
    entry = np.asarray(lines.column("entry").to_numpy(zero_copy_only=False).astype(np.int64))
    first = np.r_[0, np.flatnonzero(np.diff(entry)) + 1]
    size = np.diff(np.r_[first, len(entry)])
    # one row per line after the first: the first line is the common (debit) side of every entry
    other = np.flatnonzero(np.r_[False, np.diff(entry) == 0])[:rows]
    common = np.repeat(first, size - 1)[:rows]
    account = lines.column("account").to_numpy(zero_copy_only=False)
    amount = lines.column("amount").to_numpy()
    vat_amount = lines.column("vat_amount").fill_null(0).to_numpy()
    vat_line = lines.column("vat_line").to_numpy(zero_copy_only=False)
    tagged = (lines.column("vat_code").to_numpy(zero_copy_only=False) == "V81") & ~vat_line
    dates = lines.column("date").to_pylist()
    docs = lines.column("doc").to_numpy(zero_copy_only=False)
    texts = lines.column("description").to_numpy(zero_copy_only=False)
    base = _row()

    def records() -> Iterator[dict[str, Any]]:
        for number, (c, o) in enumerate(zip(common.tolist(), other.tolist(), strict=True), start=1):
            row = {**base, "numéro": int(entry[c]), "ecr_numero": number, "ecr_noline": int(o - c), "date": dates[c],
                   "pièce": docs[c], "libellé": texts[c], "cpt_débit": account[c], "cpt_crédit": account[o],
                   "montant": Decimal(int(-amount[o])).scaleb(-2), "journal": "d"}  # fmt: skip
            if vat_line[o]:
                row.update(ecr_tvatyp=-1, libellé=f"TVA {texts[c]}")
            elif tagged[o]:
                row.update(ecr_tvatyp=2, ecr_tvatx=Decimal("8.1"), ecr_tvamnt=Decimal(int(-vat_amount[o])).scaleb(-2),
                           ecr_tvabn=1, ecr_tvadc="c", ecr_tvapt=Decimal(100))  # fmt: skip
            yield {k.upper(): v for k, v in row.items()}

    root.mkdir(parents=True, exist_ok=True)
    chart = [{"CLASSE": TYPE_CLASSES[t], "NUMERO": c, "COMPTE": n, "PL_BUDGET": None} for c, n, t in ACCOUNTS]
    dbfwrite.write(root / "plan.dbf", CHART_FIELDS, chart)
    fields = [(n.upper(), t, length, d) for n, t, length, d in COLUMNS]
    dbfwrite.write(root / "ecriture.part", fields, records())
    (root / "ecriture.part").rename(root / "ecriture.dbf")
    return root
