"""Winbiz import files: ``ecritures.csv`` (entries) and ``plan.csv`` (chart), in one folder.

``ecritures.csv`` follows the documented EntriesImport layout (FORMATS.md, Winbiz helpcenter):
``;``-separated, Windows-1252, dates dd.mm.yyyy, one header row, fields ``Date; Voucher (10);
Text (100); Cpt_debit (12); Cpt_credit (12); Montant (15,2); Journal (d s a v i m o b x);
ME_cours (12,6); ME_mnt; TVA_taux; TVA_mnt; TVA_cpt (d/c); TVA_typ (1 none, 2 due, 3 input,
4 excluded)``. ``plan.csv`` has ``no_class;numero;libelle`` (class 1 assets, 2 liabilities,
3 expenses, 4 income, 5 non-operating, 6 closing), groups and accounts in number order.

Entries are folded the way the layout allows, since it has no entry number and no ``Multiple``
flag: an entry of one debit and one credit line is one row with both accounts; every other entry
(compound, or with a VAT line) is written as one row per line with the other account empty,
consecutive rows sharing the entry's date and voucher (the first line's, on every row, even where
the source gave its lines vouchers of their own: the voucher is what joins the rows), debit lines
first, so that the rows of an entry balance only at its last row (this is how migrator's reader
groups them back: consecutive one-sided rows of one date and voucher, until they balance). This
carries any entry exactly, including several debits against several credits, which a ``Multiple``
header (one common account) cannot. In Winbiz itself each imported row is booked as it stands
(a one-sided row against no account, *unverified* whether the import accepts it); the shared voucher
is what a Winbiz user sees joining them.

VAT is written as booked, never left for Winbiz to compute: the base row carries rate, VAT amount,
side and type; the VAT line is a row of its own with ``TVA_typ`` −1, Winbiz's own mark for a VAT
booking line (``ecr_tvatyp`` −1 in its journal). *Unverified*: whether Winbiz's import accepts −1
there; the layout documents only 1–4. The currency code of foreign amounts has no field (Winbiz
takes it from the account), nor do partners, open items, cost centres or VAT code names: each is
reported as not carried.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from migrator.model import Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.parsing import decimal_text
from migrator.writers.base import lines_with, lost

ENTRIES = "ecritures.csv"
CHART = "plan.csv"
HEADER = ("Date", "Voucher", "Text", "Cpt_debit", "Cpt_credit", "Montant", "Journal", "ME_cours", "ME_mnt",
          "TVA_taux", "TVA_mnt", "TVA_cpt", "TVA_typ")  # fmt: skip
LIMITS = {"Voucher": 10, "Text": 100}
ACCOUNT_LIMIT = 12
JOURNALS = set("dsavimobx")
VAT_TYPES = {"sales": "2", "input_material": "3", "input_investment": "3", "exempt": "4"}
TYPE_CLASSES = {"asset": 1, "liability": 2, "equity": 2, "expense": 3, "income": 4}
DIGIT_CLASSES = {"1": 1, "2": 2, "3": 4, "4": 3, "5": 3, "6": 3, "7": 5, "8": 5, "9": 6}
"""Class of a group (or of an account without a type) from its first digit (Swiss SME chart)."""
ENCODING = "cp1252"


class WinbizWriter:
    name = "winbiz"
    extension = ""
    output = "folder"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        notes = _Notes()
        vat = _vat_meanings(ledger, notes)
        flat: list[tuple[str, ...]] = [HEADER]
        for entry in _entries(ledger):
            flat += _entry_rows(entry, vat, notes)
        _write_csv(target / ENTRIES, flat, notes, ENTRIES)
        _write_csv(target / CHART, _chart_rows(ledger), notes, CHART)
        return notes.problems + _not_carried(ledger, notes)


class _Notes:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.journals: dict[str, int] = {}
        self.currencies = 0
        self.uncoded = 0
        self.mixed_dates = 0

    def warn(self, message: str, file: str = ENTRIES) -> None:
        self.problems.append(Problem("warning", message, file))


def _vat_meanings(ledger: Ledger, notes: _Notes) -> dict[str, tuple[str, str]]:
    """VAT type and rate of each code the lines use."""
    from migrator.vat import meaning

    out: dict[str, tuple[str, str]] = {}
    for code in sorted({c for c in ledger.lines.column("vat_code").to_pylist() if c}):
        known = meaning(ledger, code)
        if known is None or known[0] not in VAT_TYPES:
            what = f"kind {known[0]}" if known else "kind and rate unknown"
            notes.warn(f"VAT code {code} ({what}) has no Winbiz VAT type: its lines are written without VAT type")
            out[code] = ("1", decimal_text(known[1]) if known else "")
            continue
        out[code] = (VAT_TYPES[known[0]], decimal_text(Decimal(known[1])))
    return out


def _entries(ledger: Ledger) -> Iterator[list[dict[str, Any]]]:
    names = ("entry", "line", "date", "doc", "description", "account", "amount", "amount_currency", "rate",
             "currency", "vat_code", "vat_amount", "vat_line", "journal", "opening")  # fmt: skip
    columns = {n: ledger.lines.column(n).to_pylist() for n in names}
    order: dict[str, list[int]] = {}
    for index, entry in enumerate(columns["entry"]):
        order.setdefault(entry, []).append(index)
    for indexes in order.values():
        lines = [{n: columns[n][i] for n in names} for i in indexes]
        yield sorted(lines, key=lambda line: line["line"] or 0)


def _journal(line: dict[str, Any], notes: _Notes) -> str:
    if line["opening"]:
        return "o"
    code = (line["journal"] or "").lower()
    if code in JOURNALS or not code:  # no journal in the source: d (divers)
        return code or "d"
    notes.journals[line["journal"] or ""] = notes.journals.get(line["journal"] or "", 0) + 1
    return "d"


def _text(entry: dict[str, Any], field: str, value: str, notes: _Notes) -> str:
    limit = LIMITS[field]
    if len(value) <= limit:
        return value
    notes.warn(f"entry {entry['entry']} (voucher {entry['doc']!r}, {entry['date']}): {field} longer than {limit} "
               f"characters, cut to {value[:limit]!r}")  # fmt: skip
    return value[:limit]


def _entry_rows(lines: list[dict[str, Any]], vat: dict[str, tuple[str, str]], notes: _Notes) -> list[tuple[str, ...]]:
    first = lines[0]
    for line in lines:
        if len(line["account"]) > ACCOUNT_LIMIT:
            notes.warn(f"entry {line['entry']}: account {line['account']} is longer than {ACCOUNT_LIMIT} characters; "
                       "written in full, Winbiz may refuse it")  # fmt: skip
    bases = [line for line in lines if line["vat_code"] and not line["vat_line"]]
    simple = (len(lines) == 2 and not any(line["vat_line"] for line in lines) and len(bases) <= 1
              and lines[0]["amount"] == -lines[1]["amount"])  # fmt: skip
    if simple:
        debit, credit = sorted(lines, key=lambda line: -line["amount"])
        return [_row(first, debit["account"], credit["account"], abs(debit["amount"]), _foreign(lines, notes),
                     _vat(bases[0] if bases else None, vat, notes), notes)]  # fmt: skip
    ordered = sorted(lines, key=lambda line: (line["amount"] != 0, line["amount"] < 0))
    if any(line["date"] != first["date"] for line in lines):
        notes.mixed_dates += 1
    rows = []
    for line in ordered:
        debit_side = line["amount"] >= 0
        # every row carries the entry's date and voucher: the rows of an entry are joined by them
        whole = {**line, "date": first["date"], "doc": first["doc"]}
        rows.append(_row(whole, line["account"] if debit_side else "", "" if debit_side else line["account"],
                         abs(line["amount"]), _foreign([line], notes), _vat(line, vat, notes), notes))  # fmt: skip
    return rows


def _foreign(lines: list[dict[str, Any]], notes: _Notes) -> tuple[str, str]:
    for line in lines:
        if line["currency"] and line["amount_currency"] is not None:
            notes.currencies += 1
            return line["rate"] or "", format_cents(abs(line["amount_currency"]))
    return "", ""


def _vat(line: dict[str, Any] | None, vat: dict[str, tuple[str, str]], notes: _Notes) -> tuple[str, str, str, str]:
    """TVA_taux, TVA_mnt, TVA_cpt, TVA_typ of a base line or a VAT line."""
    if line is None or not line["vat_code"]:
        return "", "", "", ""
    kind, rate = vat.get(line["vat_code"], ("1", ""))
    side = "d" if line["amount"] >= 0 else "c"
    if line["vat_line"]:
        return rate, "", side, "-1"
    if kind == "1":
        notes.uncoded += 1
        return "", "", "", ""
    amount = format_cents(abs(line["vat_amount"])) if line["vat_amount"] is not None else "0.00"
    return rate, amount, side, kind


def _row(line: dict[str, Any], debit: str, credit: str, amount: int, foreign: tuple[str, str],
         vat: tuple[str, str, str, str], notes: _Notes) -> tuple[str, ...]:  # fmt: skip
    date = line["date"].strftime("%d.%m.%Y") if line["date"] else ""
    voucher = _text(line, "Voucher", line["doc"] or "", notes)
    text = _text(line, "Text", (line["description"] or "").replace("\r", " ").replace("\n", " "), notes)
    return (date, voucher, text, debit, credit, format_cents(amount), _journal(line, notes), *foreign, *vat)


def _chart_rows(ledger: Ledger) -> list[tuple[str, ...]]:
    rows: dict[str, tuple[str, ...]] = {}
    for code, name in zip(ledger.groups.column("code").to_pylist(), ledger.groups.column("name").to_pylist(),
                          strict=True):  # fmt: skip
        rows[code] = (str(DIGIT_CLASSES.get(code[:1], 0)), code, name)
    accounts = ledger.accounts
    for code, name, kind in zip(accounts.column("code").to_pylist(), accounts.column("name").to_pylist(),
                                accounts.column("type").to_pylist(), strict=True):  # fmt: skip
        klass = TYPE_CLASSES.get(kind) or DIGIT_CLASSES.get(code[:1], 0)
        rows[code] = (str(klass), code, name)
    return [("no_class", "numero", "libelle"), *(rows[c] for c in sorted(rows))]


def _write_csv(path: Path, rows: list[tuple[str, ...]], notes: _Notes, file: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerows(rows)
    text = buffer.getvalue()
    try:
        data = text.encode(ENCODING)
    except UnicodeEncodeError:
        bad = sorted({c for c in text if not _encodable(c)})
        notes.warn(f"characters Windows-1252 cannot hold were written as '?': {''.join(bad)}", file)
        data = text.encode(ENCODING, errors="replace")
    path.write_bytes(data)


def _encodable(char: str) -> bool:
    try:
        char.encode(ENCODING)
        return True
    except UnicodeEncodeError:
        return False


def _not_carried(ledger: Ledger, notes: _Notes) -> list[Problem]:
    problems = lost("partners", ledger.partners.num_rows, "left out (the import CSV has no address fields)")
    problems += lost("company name", 1 if ledger.company.name else 0, "left out (the import CSV has no company fields)")
    days = [d for d in ledger.lines.column("date").unique().to_pylist() if d is not None]
    empty = sum(1 for year in years_of(ledger) if not any(year.contains(d) for d in days))
    problems += lost("fiscal years without entries", empty, "left out (the import CSV has rows, not fiscal years)")
    problems += lost("open items", ledger.open_items.num_rows, "left out (the import CSV has no invoice fields)")
    problems += lost(
        "currencies of lines (foreign-currency rows' currency codes)",
        notes.currencies,
        "rate and foreign amount written; Winbiz takes the currency from the account",
    )
    problems += lost(
        "VAT code names",
        ledger.vat_codes.num_rows,
        "VAT written as type, rate and amount; the reader derives codes from those",
    )
    problems += lost("lines with a VAT code of no Winbiz VAT type", notes.uncoded, "written without VAT type")
    problems += lost("entries with lines on several dates", notes.mixed_dates, "all rows dated like the first line")
    for column, what in (("cost_centre", "lines with a cost centre"), ("partner", "lines with a partner")):
        count = lines_with(ledger.lines, column)
        problems += lost(what, count, "written without it")
    for journal, count in sorted(notes.journals.items()):
        problems.append(Problem("warning", f"journal {journal!r} is not a Winbiz journal (d s a v i m o b x): "
                                f"{count} rows written in journal d", ENTRIES))  # fmt: skip
    return problems


FORMAT = WinbizWriter
