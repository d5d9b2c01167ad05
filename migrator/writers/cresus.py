"""Crésus Comptabilité (Epsitec): the extended journal import text.

TAB, CR LF, no header, Windows-1252 (``../shared/FORMATS.md``): (1) date dd.mm.yyyy, (2) debit
account, (3) credit account, (4) voucher, (5) text, (6) amount. An entry of one debit and one credit
line in base currency is one record of these six fields. Every other entry is written in the
extended format, one record per line with ``...`` as the other account, (7) the foreign amount
(``0`` if none), (8) the exchange rate and (9) a compound-entry number shared by its records; a
two-line foreign entry is one record with fields 7–8 and an empty field 9. Crésus keeps foreign
amounts only on accounts held in a foreign currency (FORMATS.md: it takes the currency from the
account), so fields 7–8 are set only where the line's account (for a two-line entry, one of its two
accounts) is kept in the line's currency in the ledger's chart; any other foreign amount is written
in base currency alone and reported.

Amounts are written plain (``1234.50``, always positive: the side says debit or credit) rather
than with the ``1'000.00`` of exports, so no locale setting can misread them. Tabs and line breaks
in texts become spaces. VAT codes are not written: Crésus's import reads one from field 13 and
then books the VAT itself as a line of its own, while the ledger's VAT lines are already booked;
writing both would book the VAT twice. The VAT lines are written as ordinary lines and the codes
are reported as not carried.
Other text is written exactly, formula-like text included: the file is for Crésus's import, not a
spreadsheet, so nothing is made inert.

Several fiscal years: one import file holds every year, so the openings of later years are not
booked (they would count twice). The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported. Verification reads the file back with `years.per_year`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator import years
from migrator.i18n import N_
from migrator.model import Ledger, Problem
from migrator.money import format_cents
from migrator.writers.base import entries, lines_with, lost, off_calendar_years, unbooked_years

ENCODING = "cp1252"
OTHER = "..."


class CresusWriter:
    name = "cresus"
    extension = ".txt"
    output = "file"
    as_kept = staticmethod(years.as_kept)  # how verification reads the years back (migrator.years)

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        records: list[list[str]] = []
        compound = 0
        held = {code: currency for code, currency in zip(ledger.accounts.column("code").to_pylist(),
                ledger.accounts.column("currency").to_pylist(), strict=True) if currency}  # fmt: skip
        dropped = 0
        for whole in entries(ledger.lines):
            lines = [_in_account_currency(line, held) for line in whole]
            dropped += sum(1 for a, b in zip(whole, lines, strict=True) if a is not b)
            simple = _simple(lines)
            if simple is not None:
                records.append(simple)
                continue
            compound += 1
            for line in lines:
                records.append(_compound_record(line, compound))
        text_lines, replaced = ["\t".join(record) for record in records], 0
        try:
            data = "".join(line + "\r\n" for line in text_lines).encode(ENCODING)
        except UnicodeEncodeError:  # records Windows-1252 cannot hold: each counted and written with '?'
            safe = [text.encode(ENCODING, errors="replace").decode(ENCODING) for text in text_lines]
            replaced = sum(s != text for s, text in zip(safe, text_lines, strict=True))
            data = "".join(line + "\r\n" for line in safe).encode(ENCODING)
        target.write_bytes(data)
        problems = []
        if replaced:
            problems.append(Problem("warning", N_("{replaced} records hold characters Windows-1252 cannot encode; written as '?'").format(replaced=replaced)))  # fmt: skip
        problems += lost(N_("foreign amounts of lines on accounts not kept in that currency"), dropped,
                         N_("written in base currency only (Crésus keeps foreign amounts on foreign-currency "
                         "accounts)"))  # fmt: skip
        return problems + _not_carried(ledger)


def _in_account_currency(line: dict[str, Any], held: dict[str, str]) -> dict[str, Any]:
    """`line`, or a copy without its foreign amount when its account is not kept in that currency."""
    if not line["currency"] or line["amount_currency"] is None or held.get(line["account"]) == line["currency"]:
        return line
    return {**line, "currency": "", "amount_currency": None, "rate": ""}


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _head(line: dict[str, Any], debit: str, credit: str, amount: int) -> list[str]:
    day = line["date"]
    date = f"{day.day:02d}.{day.month:02d}.{day.year}"
    return [date, debit, credit, _clean(line["doc"]), _clean(line["description"]), format_cents(amount)]


def _simple(lines: list[dict[str, Any]]) -> list[str] | None:
    """One record for an entry of one debit and one credit line, else None."""
    if len(lines) != 2:
        return None
    debit, credit = sorted(lines, key=lambda line: -line["amount"])
    if debit["amount"] != -credit["amount"] or debit["amount"] < 0:
        return None
    record = _head(debit, debit["account"], credit["account"], debit["amount"])
    foreign = [line for line in lines if line["currency"] and line["amount_currency"] is not None]
    if foreign:
        record += [format_cents(abs(foreign[0]["amount_currency"])), foreign[0]["rate"] or "", ""]
    return record


def _compound_record(line: dict[str, Any], number: int) -> list[str]:
    amount = line["amount"]
    debit, credit = (line["account"], OTHER) if amount >= 0 else (OTHER, line["account"])
    record = _head(line, debit, credit, abs(amount))
    foreign = line["amount_currency"] if line["currency"] and line["amount_currency"] is not None else None
    record += [format_cents(abs(foreign)) if foreign is not None else "0", (line["rate"] or "") if foreign else "",
               str(number)]  # fmt: skip
    return record


def _not_carried(ledger: Ledger) -> list[Problem]:
    lines = ledger.lines
    problems = lost(N_("VAT codes on lines"), lines_with(lines, "vat_code"),
                    N_("VAT lines written as ordinary lines (Crésus would book a coded line's VAT a second time)"))  # fmt: skip
    problems += lost(
        N_("VAT code definitions"), ledger.vat_codes.num_rows, N_("left out (Crésus keeps its own VAT codes)")
    )
    problems += lost(N_("accounts (chart)"), ledger.accounts.num_rows, N_("the journal holds bookings only; "
                     "create the accounts in Crésus first"))  # fmt: skip
    problems += lost(N_("company name"), 1 if ledger.company.name else 0, N_("the journal holds bookings only; "
                     "the company is the Crésus file the journal is imported into"))  # fmt: skip
    problems += lost(
        N_("groups"), ledger.groups.num_rows, N_("the journal holds bookings only; create the groups in Crésus")
    )
    problems += lost(
        N_("fiscal years without bookings"),
        unbooked_years(ledger),
        N_("left out: the years are read back from the bookings' dates"),
    )
    problems += lost(N_("fiscal years other than calendar years"), off_calendar_years(ledger),
                     N_("the years are read back as calendar years from the bookings' dates: set them in Crésus"))  # fmt: skip
    base = ledger.company.base_currency
    problems += lost(N_("base currency"), int(base not in ("", "CHF")), N_("the file holds amounts only and reads back as CHF: the amounts are in {base}, set it as the base currency in Crésus").format(base=base))  # fmt: skip
    problems += lost(N_("partners"), ledger.partners.num_rows, N_("left out"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("opening-balance lines"), lines_with(lines, "opening"), N_("written as ordinary bookings"))
    problems += lost(N_("currency names of foreign lines"), lines_with(lines, "currency"),
                     N_("foreign amount and rate written to fields 7-8; Crésus takes the currency from the account"))  # fmt: skip
    problems += lost(N_("cost centres of lines"), lines_with(lines, "cost_centre"), N_("left out"))
    return problems


FORMAT = CresusWriter
