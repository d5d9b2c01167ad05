"""The demo garage as bexio exports it: journal CSV (without and with ``Id``), journal xlsx, and account
statements (one CSV per account, in ``statements/``).

bexio's journal has one row per booking (a debit and a credit account), so each entry is split into
pairs: the one line of a side against each line of the other side (an invoice: receivable against
revenue and against VAT, as bexio exports invoices), or debits and credits matched in order.
VAT codes are the bexio codes (``UN77 (7.70%)``); the statements write amounts with ``'`` thousands.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl

from migrator import vat
from migrator.model import Ledger
from migrator.money import format_cents

JOURNAL = ["Datum", "Referenz", "Soll", "Haben", "Beschreibung", "Betrag", "Buchungswährung", "Umrechnungsfaktor",
           "Betrag in Basiswährung", "Währung in Basiswährung", "MWST"]  # fmt: skip
STATEMENT = ["Kontonummer", "Datum", "Referenz", "Kontakt", "Beschreibung", "GK", "GK Beschreibung", "Code",
             "Prozentsatz", "Ziffer", "Währung", "Soll", "Haben", "Saldo", "Fremdwährung", "Kurs", "FW-Betrag"]  # fmt: skip


def _pairs(lines: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any], int]]:
    """(debit line, credit line, amount) bookings that add up to the entry."""
    debits = [line for line in lines if line["amount"] >= 0]
    credits = [line for line in lines if line["amount"] < 0]
    if len(debits) == 1:
        return [(debits[0], c, -c["amount"]) for c in credits]
    if len(credits) == 1:
        return [(d, credits[0], d["amount"]) for d in debits]
    out = []
    left = [[d, d["amount"]] for d in debits]
    for credit in credits:
        need = -credit["amount"]
        while need:
            debit = next(item for item in left if item[1])
            take = min(need, debit[1])
            out.append((debit[0], credit, take))
            debit[1] -= take
            need -= take
    return out


def bookings(ledger: Ledger) -> list[dict[str, Any]]:
    """The garage's entries as bexio booking rows (base currency CHF)."""
    codes, _ = vat.translate(ledger, "bexio")
    rates = dict(
        zip(ledger.vat_codes.column("code").to_pylist(), ledger.vat_codes.column("rate").to_pylist(), strict=True)
    )
    names = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )
    boxes = dict(
        zip(ledger.vat_codes.column("code").to_pylist(), ledger.vat_codes.column("form_box").to_pylist(), strict=True)
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in ledger.lines.to_pylist():
        grouped.setdefault(line["entry"], []).append(line)
    out = []
    for lines in grouped.values():
        for debit, credit, amount in _pairs(lines):
            code = debit["vat_code"] or credit["vat_code"]
            foreign = debit["currency"] and credit["currency"] == debit["currency"]
            out.append({
                "date": debit["date"], "ref": debit["doc"], "text": debit["description"],
                "debit": debit["account"], "debit_name": names[debit["account"]],
                "credit": credit["account"], "credit_name": names[credit["account"]], "amount": amount,
                "currency": debit["currency"] if foreign else "CHF",
                "foreign": debit["amount_currency"] if foreign else amount,
                "rate": debit["rate"] if foreign else "1",
                "vat": f"{codes[code]} ({Decimal(rates[code]):.2f}%)" if code else "",
                "code": codes.get(code, ""), "percent": f"{Decimal(rates[code]):.2f}" if code else "",
                "box": boxes.get(code, ""),
            })  # fmt: skip
    return out


def _journal_row(b: dict[str, Any]) -> list[str]:
    return [b["date"].strftime("%d.%m.%Y"), b["ref"], f"{b['debit']} - {b['debit_name']}",
            f"{b['credit']} - {b['credit_name']}", b["text"], format_cents(b["foreign"]), b["currency"], b["rate"],
            format_cents(b["amount"]), "CHF", b["vat"]]  # fmt: skip


def _swiss(cents: int) -> str:
    """1'292.40: the apostrophe thousands separator of Swiss exports."""
    text = format_cents(abs(cents))
    whole, part = text.split(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return ("-" if cents < 0 else "") + "'".join([whole, *groups]) + "." + part


def _write(path: Path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")


def _statement(ledger: Ledger, account: str, rows: list[dict[str, Any]]) -> list[list[str]]:
    balance = 0
    out = [STATEMENT]
    for b in rows:
        if account not in (b["debit"], b["credit"]):
            continue
        debit = b["debit"] == account
        balance += b["amount"] if debit else -b["amount"]
        other, other_name = (b["credit"], b["credit_name"]) if debit else (b["debit"], b["debit_name"])
        foreign = b["currency"] != "CHF"
        out.append([
            account, b["date"].strftime("%d.%m.%Y"), b["ref"], "", b["text"], other, other_name, b["code"],
            b["percent"], b["box"], "CHF", _swiss(b["amount"]) if debit else "", "" if debit else _swiss(b["amount"]),
            _swiss(balance), b["currency"] if foreign else "", b["rate"] if foreign else "",
            _swiss(b["foreign"]) if foreign else "",
        ])  # fmt: skip
    return out


def generate(ledger: Ledger, folder: Path) -> None:
    rows = bookings(ledger)
    journal = [_journal_row(b) for b in rows]
    _write(folder / "journal.csv", [JOURNAL, *journal])
    _write(folder / "journal_id.csv", [["Id", *JOURNAL], *([str(i), *r] for i, r in enumerate(journal, start=1))])
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(JOURNAL)
    for b, text in zip(rows, journal, strict=True):
        sheet.append([b["date"], *text[1:5], Decimal(format_cents(b["foreign"])), b["currency"], Decimal(b["rate"]),
                      Decimal(format_cents(b["amount"])), "CHF", b["vat"]])  # fmt: skip
    book.properties.created = dt.datetime(2025, 1, 1)
    book.save(folder / "journal.xlsx")
    statements = folder / "statements"
    shutil.rmtree(statements, ignore_errors=True)
    statements.mkdir()
    for account in ledger.accounts.column("code").to_pylist():
        _write(statements / f"konto_{account}.csv", _statement(ledger, account, rows))
