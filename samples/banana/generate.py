"""The demo garage as Banana files: ``garage/`` is what migrator's Banana writer makes (one folder per
year, the import columns), ``export/`` the 2024 year as Banana exports its tables: two-account rows
with the VAT code on the gross amount (VatAmountType 0) and the VAT Banana computed in ``VatAmount``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from migrator.model import Ledger
from migrator.money import format_cents
from migrator.pipeline import write

COLUMNS = ("Date", "Doc", "Description", "AccountDebit", "AccountCredit", "Amount", "VatCode", "VatAmountType",
           "VatAmount", "AmountCurrency", "ExchangeCurrency", "ExchangeRate")  # fmt: skip


def _export_rows(ledger: Ledger, year: int) -> list[list[str]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in ledger.lines.to_pylist():
        if line["date"].year == year and not line["opening"]:
            grouped.setdefault(line["entry"], []).append(line)
    rows = []
    for lines in grouped.values():
        first = lines[0]
        common = [first["date"].isoformat(), first["doc"], first["description"]]
        bases = [x for x in lines if x["vat_code"] and not x["vat_line"]]
        plain = [x for x in lines if not x["vat_code"]]
        if len(bases) == 1 and len(plain) == 1 and len(lines) == 3:
            base, other = bases[0], plain[0]
            gross = -other["amount"]
            debit, credit = (other, base) if other["amount"] > 0 else (base, other)
            rows.append([*common, debit["account"], credit["account"], format_cents(abs(gross)), base["vat_code"], "0",
                         format_cents(abs(base["vat_amount"])), "", "", ""])  # fmt: skip
            continue
        if len(lines) == 2 and not bases and lines[0]["amount"] == -lines[1]["amount"]:
            debit, credit = sorted(lines, key=lambda x: x["amount"] < 0)
            rows.append([*common, debit["account"], credit["account"], format_cents(debit["amount"]), "", "", "",
                         format_cents(abs(debit["amount_currency"])) if debit["currency"] else "", debit["currency"],
                         debit["rate"]])  # fmt: skip
            continue
        for x in lines:
            debit = x["amount"] >= 0
            rows.append([*common, x["account"] if debit else "", "" if debit else x["account"],
                         format_cents(abs(x["amount"])), "", "", "", "", "", ""])  # fmt: skip
    return rows


def generate(ledger: Ledger, folder: Path) -> None:
    garage = folder / "garage"
    shutil.rmtree(garage, ignore_errors=True)
    write(ledger, "banana", garage)
    export = folder / "export"
    shutil.rmtree(export, ignore_errors=True)
    export.mkdir()
    for name in ("accounts.txt", "vatcodes.txt"):
        shutil.copy(garage / "2024" / name, export / name)
    rows = [list(COLUMNS), *_export_rows(ledger, 2024)]
    (export / "transactions.txt").write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
