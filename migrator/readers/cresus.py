"""Crésus Comptabilité (Epsitec): the journal as tab-separated text, which is also its import format.

One record per line, TAB, CR LF, no header, Windows-1252 (UTF-8 is accepted too): (1) date
dd.mm.yy or dd.mm.yyyy, (2) debit account, (3) credit account, (4) voucher, (5) text, (6) amount
(``1'000.00``; a negative amount books the other way round). Extended records add (7) the foreign
amount, (8) the exchange rate and (9) the number of the compound entry the record belongs to;
Epsitec's own import reads a VAT code from field 13 (fields 10–12 *unverified*). Source:
``../shared/FORMATS.md``.

A record with both accounts is two canonical lines. A compound entry is written one line per
record with ``...`` as the other account; its records are those sharing a compound number (9), or,
without one, consecutive ``...`` records of one date and voucher (of one date, while they do not yet
balance, when the voucher is empty). Every other record is an entry of its own.

Not placed, kept as extras: fields 7–12, because the journal does not name the currency of a
foreign amount (Crésus takes it from the account). ``VAT`` in field 7 is no amount but a tag: the
record books VAT (the reference export, ``vendors/cresus/oca_cresus_export.txt`` row 10, tags the
line ``2200 / ...  13.17  VAT`` of a compound entry whose base line says "TVA = 13.17"), so its line
is read as the entry's VAT line (``vat_line``). Any other text in field 7 is noted as info.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger
from migrator.parsing import AmountColumn, ParseError, codec_name, decode, detect_encoding, head_text, parse_date
from migrator.readers.base import ReadOptions, Rows, accounts_from_lines
from migrator.sources import Source

OTHER = "..."  # the counter-account of a compound-entry line
VAT_TAG = "VAT"  # field 7 of a line that books VAT (reference export, row 10)
DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})$")
EXTRA_FIELDS = ("field7", "field8", "field9", "field10", "field11", "field12", "field13")


@dataclass
class _Record:
    row: int
    date: Any
    debit: str
    credit: str
    voucher: str
    text: str
    amount: int
    fields: list[str]

    @property
    def compound(self) -> bool:
        return OTHER in (self.debit, self.credit)

    @property
    def number(self) -> str:
        return self.fields[8].strip() if len(self.fields) > 8 else ""

    @property
    def vat_tag(self) -> bool:
        return len(self.fields) > 6 and self.fields[6].strip().upper() == VAT_TAG


class CresusReader:
    name = "cresus"
    extensions = (".txt", ".csv")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = head_text(source.head())
        first = next((line for line in head.splitlines() if line.strip()), "")
        fields = first.split("\t")
        if len(fields) < 6 or not DATE.match(fields[0].strip()):
            return 0.0
        return 0.85 if re.match(r"^-?[\d' .,]+$", fields[5].strip()) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        data = source.read_bytes()
        encoding = options.encoding or detect_encoding(data)[0]
        try:
            text, encoding = decode(data, encoding, source.name)
        except ParseError as exc:
            raise SourceError(str(exc)) from None
        physical = text.lstrip("\ufeff").split("\n")
        records = [(n, line.rstrip("\r").split("\t")) for n, line in enumerate(physical, start=1) if line.strip()]
        if not records and not options.for_verification:
            raise SourceError(N_("the file is empty; expected one booking per line"), source.name)
        # (read back for verification, an empty journal is what the writer makes of books without bookings)
        out = Rows(source.name)
        parsed = _records(records, out)
        extras = _lines(parsed, out)
        lines = out.lines()
        accounts, notes = accounts_from_lines(lines, source.name)
        return Ledger(
            company=Company(base_currency="CHF", source_system="Crésus Comptabilité"),
            accounts=accounts,
            lines=lines,
            problems=tuple(out.problems + notes),
            extras={"lines": extras},
            format=self.name,
            encoding=codec_name(encoding),
        )


def _records(records: list[tuple[int, list[str]]], out: Rows) -> list[_Record]:
    amounts = AmountColumn([fields[5] for _, fields in records if len(fields) > 5])
    parsed = []
    for row, fields in records:
        if len(fields) < 6:
            out.problem(row, N_("{count} fields where a booking has at least 6 (date, debit, credit, voucher, text, amount); row left out").format(count=len(fields)))  # fmt: skip
            continue
        date_text, debit, credit, voucher, text, amount_text = (f.strip() for f in fields[:6])
        try:
            date = parse_date(date_text)
            amount = amounts.cents(amount_text)
        except ParseError as exc:
            out.problem(row, N_("{exc}; row left out").format(exc=exc))
            continue
        if date is None or amount is None:
            out.problem(row, N_("{value} is empty; row left out").format(value="date" if date is None else "amount"))
            continue
        if not debit or not credit or debit == credit == OTHER:
            out.problem(row, N_("needs a debit and a credit account, one of them at most {other!r} (got {debit!r} and {credit!r}); row left out").format(other=OTHER, debit=debit, credit=credit))  # fmt: skip
            continue
        parsed.append(_Record(row, date, debit, credit, voucher, text, amount, fields))
    return parsed


def _lines(records: list[_Record], out: Rows) -> pa.Table:
    extras: dict[str, list[Any]] = {"source_row": [], **{name: [] for name in EXTRA_FIELDS}}
    entry, key, balance = 0, None, 0
    for record in records:
        if record.number:
            this: tuple[Any, ...] | None = ("number", record.number)
        elif record.compound:
            this = ("compound", record.date, record.voucher)
        else:
            this = None
        same = this is not None and this == key and not (this[0] == "compound" and not record.voucher and balance == 0)
        if not same:
            entry, balance = entry + 1, 0
        key = this
        common = {"entry": str(entry), "date": record.date, "doc": record.voucher, "description": record.text,
                  "source_row": record.row}  # fmt: skip
        vat_code = record.fields[12].strip() if len(record.fields) > 12 else ""
        tags = {"vat_code": vat_code, "vat_line": record.vat_tag} if record.compound else {}
        if record.debit != OTHER:
            out.add(account=record.debit, amount=record.amount, **tags, **common)
        if record.credit != OTHER:
            out.add(account=record.credit, amount=-record.amount, **tags, **common)
        if vat_code and not record.compound:
            out.problem(record.row, N_("VAT code {vat_code!r} on a record with two accounts: it is not clear which line it belongs to; kept as extra").format(vat_code=vat_code), "warning")  # fmt: skip
        if record.vat_tag and not record.compound:
            out.problem(record.row, N_("{vat_tag!r} in field 7 of a record with two accounts: it is not clear which line books the VAT; both are read as plain lines").format(vat_tag=VAT_TAG), "warning")  # fmt: skip
        balance += record.amount * ((record.debit != OTHER) - (record.credit != OTHER))
        _foreign(record, out)
        extras["source_row"].append(record.row)
        for index, name in enumerate(EXTRA_FIELDS, start=6):
            extras[name].append(record.fields[index].strip() if len(record.fields) > index else "")
    return pa.table({k: pa.array(v, pa.int64() if k == "source_row" else pa.string()) for k, v in extras.items()})


def _foreign(record: _Record, out: Rows) -> None:
    value = record.fields[6].strip() if len(record.fields) > 6 else ""
    if record.vat_tag:
        return
    try:
        amount = AmountColumn([value]).cents(value) if value else None
    except ParseError:
        out.problem(
            record.row, N_("field 7 {value!r} is not a foreign amount; kept as extra").format(value=value), "info"
        )
        return
    if amount:
        out.problem(record.row, N_("foreign amount in field 7, but the journal does not name its currency; "
                    "kept as extra, the lines are in base currency"), "warning")  # fmt: skip


FORMAT = CresusReader
