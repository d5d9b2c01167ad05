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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, conform, repeated_text
from migrator.parsing import (
    AmountColumn,
    ParseError,
    codec_name,
    decode,
    detect_encoding,
    head_text,
    parse_cents,
    parse_date,
)
from migrator.readers.base import ReadOptions, accounts_from_lines
from migrator.sources import Source

OTHER = "..."  # the counter-account of a compound-entry line
VAT_TAG = "VAT"  # field 7 of a line that books VAT (reference export, row 10)
DATE = re.compile(r"^\d{1,2}\.\d{1,2}\.(\d{2}|\d{4})$")
EXTRA_FIELDS = ("field7", "field8", "field9", "field10", "field11", "field12", "field13")


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
        del data  # each copy of the text is let go as soon as the next one is made
        physical = columns.physical_lines(text.lstrip("\ufeff"))
        del text
        kept = pc.not_equal(columns.strip(physical), "")
        rows = np.flatnonzero(kept.to_numpy(zero_copy_only=False)) + 1
        if not len(rows) and not options.for_verification:
            raise SourceError(N_("the file is empty; expected one booking per line"), source.name)
        # (read back for verification, an empty journal is what the writer makes of books without bookings)
        fields = columns.Fields(pc.utf8_rtrim(physical.filter(kept), "\r"), "\t")
        del physical, kept
        records, problems = _records(fields, rows, source.name)
        del fields
        lines, extras, more = _lines(records, source.name)
        accounts, notes = accounts_from_lines(lines, source.name)
        return Ledger(
            company=Company(base_currency="CHF", source_system="Crésus Comptabilité"),
            accounts=accounts,
            lines=lines,
            problems=tuple(problems + more + notes),
            extras={"lines": extras},
            format=self.name,
            encoding=codec_name(encoding),
        )


def _parsed(values: pa.Array, fast: tuple[pa.Array, np.ndarray], scalar: Any) -> tuple[pa.Array, dict[int, str]]:
    """The column-wise values with the undecided ones parsed by `scalar`, and each one's error."""
    parsed, errors = columns.complete(*fast, values, scalar)
    return parsed, {index: str(exc) for index, exc in errors.items()}


def _records(fields: columns.Fields, rows: np.ndarray, file: str) -> tuple[dict[str, Any], list[Problem]]:
    """The bookings as columns (one value per accepted record), and the problems of the others."""
    refused: dict[int, str] = {}
    for index in np.flatnonzero(fields.counts < 6).tolist():
        refused[index] = N_("{count} fields where a booking has at least 6 (date, debit, credit, voucher, text, amount); row left out").format(count=int(fields.counts[index]))  # fmt: skip
    full = pa.array(fields.counts >= 6)
    date_text, debit, credit, voucher, text, amount_text = (columns.strip(fields.column(i)) for i in range(6))
    mark = columns.decimal_mark(fields.column(5).filter(full))  # decided from every booking's amount
    dates, date_errors = _parsed(date_text, columns.dates(date_text), parse_date)
    amounts, amount_errors = _parsed(amount_text, columns.cents(amount_text, mark), lambda t: parse_cents(t, mark))
    for index, message in {**amount_errors, **date_errors}.items():  # the date's error first, as read
        refused.setdefault(index, N_("{exc}; row left out").format(exc=message))
    missing = pc.or_(pc.is_null(dates), pc.is_null(amounts)).to_numpy(zero_copy_only=False)
    no_date = pc.is_null(dates).to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(missing).tolist():
        refused.setdefault(index, N_("{value} is empty; row left out").format(value="date" if no_date[index] else "amount"))  # fmt: skip
    both_other = pc.and_(pc.equal(debit, OTHER), pc.equal(credit, OTHER))
    bad = pc.or_(pc.or_(pc.equal(debit, ""), pc.equal(credit, "")), both_other).to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(bad).tolist():
        if index not in refused:
            refused[index] = N_("needs a debit and a credit account, one of them at most {other!r} (got {debit!r} and {credit!r}); row left out").format(other=OTHER, debit=debit[index].as_py(), credit=credit[index].as_py())  # fmt: skip
    problems = [Problem("error", refused[index], file, int(rows[index])) for index in sorted(refused)]
    keep = np.ones(len(rows), dtype=bool)
    keep[list(refused)] = False
    take = pa.array(np.flatnonzero(keep))
    extra = [columns.strip(fields.column(i)).take(take) for i in range(6, 6 + len(EXTRA_FIELDS))]
    records = {"row": rows[keep], "date": dates.take(take), "debit": debit.take(take), "credit": credit.take(take),
               "voucher": voucher.take(take), "text": text.take(take), "amount": amounts.take(take),
               "extra": extra}  # fmt: skip
    return records, problems


def _entries(records: dict[str, Any], compound: np.ndarray, signed: np.ndarray) -> np.ndarray:
    """Entry number (from 1) of each record: a record joins the entry of the one before it when both
    carry the same compound number, or both are compound-entry records of one date and voucher, and
    with an empty voucher only while that entry does not yet balance."""
    size = len(compound)
    number = records["extra"][2]  # field 9
    numbered = pc.not_equal(number, "").to_numpy(zero_copy_only=False)
    plain = compound & ~numbered  # keyed by (date, voucher)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    same = np.zeros(size, dtype=bool)
    dates = pc.fill_null(records["date"].cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
    same_number = pc.equal(number[1:], number[:-1]).to_numpy(zero_copy_only=False)
    same_place = pc.and_(pc.equal(records["voucher"][1:], records["voucher"][:-1]), pa.array(dates[1:] == dates[:-1]))
    same_place = same_place.to_numpy(zero_copy_only=False)
    same[1:] = (numbered[1:] & numbered[:-1] & same_number) | (plain[1:] & plain[:-1] & same_place)
    unvouchered = plain & pc.equal(records["voucher"], "").to_numpy(zero_copy_only=False)
    if unvouchered.any():
        same &= ~_balanced_before(same, unvouchered, signed)
    return np.cumsum(~same)


def _balanced_before(same: np.ndarray, unvouchered: np.ndarray, signed: np.ndarray) -> np.ndarray:
    """Records without voucher that follow one of the same run whose entry already balances: they
    start a new entry. Within a run every entry starts where the run's running sum is zero."""
    out = np.zeros(len(same), dtype=bool)
    chosen = np.flatnonzero(unvouchered)
    steps = signed[chosen]
    first = ~same[chosen]  # each run of one date without voucher starts here
    largest = int(np.abs(steps).max()) if len(steps) else 0
    if largest * len(steps) < 2**62:
        sums = np.cumsum(steps)
        starts = np.maximum.accumulate(np.where(first, np.arange(len(chosen)), 0))
        before = sums - steps - (sums[starts] - steps[starts])  # the run's sum before each record
        out[chosen] = ~first & (before == 0)
        return out
    total = 0  # sums beyond int64: exact Python integers
    for position, (index, step) in enumerate(zip(chosen.tolist(), steps.tolist(), strict=True)):
        if first[position]:
            total = 0
        elif total == 0:
            out[index] = True
        total += step
    return out


def _lines(records: dict[str, Any], file: str) -> tuple[pa.Table, pa.Table, list[Problem]]:
    debit, credit, amount = records["debit"], records["credit"], records["amount"]
    size = len(records["row"])
    debit_other = pc.equal(debit, OTHER).to_numpy(zero_copy_only=False)
    credit_other = pc.equal(credit, OTHER).to_numpy(zero_copy_only=False)
    compound = debit_other | credit_other
    cents = amount.to_numpy(zero_copy_only=False).astype(np.int64) if size else np.zeros(0, dtype=np.int64)
    field7, vat_code = records["extra"][0], records["extra"][6]
    vat_tag = _is_vat_tag(field7)
    entries = _entries(records, compound, np.where(debit_other, -cents, cents))
    problems = _problems(records, compound, vat_tag, file)
    # one line for each named account: the debit (amount) first, then the credit (-amount)
    per_record = (~debit_other).astype(np.int64) + (~credit_other)
    record = np.repeat(np.arange(size), per_record)
    first_line = np.concatenate(([0], np.cumsum(per_record)[:-1])) if size else np.zeros(0, dtype=np.int64)
    is_debit = ((np.arange(len(record)) - np.repeat(first_line, per_record)) == 0) & ~debit_other[record]
    take = pa.array(record)
    entry_of_line = entries[record]
    new_entry = np.ones(len(record), dtype=bool)
    new_entry[1:] = entry_of_line[1:] != entry_of_line[:-1]
    starts = np.maximum.accumulate(np.where(new_entry, np.arange(len(record)), 0))
    line_amounts = np.where(is_debit, cents[record], -cents[record])
    tagged = compound[record]
    lines = conform(
        "lines",
        {
            "entry": pc.cast(pa.array(entry_of_line), pa.string()),
            "line": pa.array(np.arange(len(record)) - starts + 1, pa.int32()),
            "date": records["date"].take(take),
            "doc": records["voucher"].take(take),
            "description": records["text"].take(take),
            "account": pc.if_else(pa.array(is_debit), debit.take(take), credit.take(take)),
            "amount": pa.array(line_amounts, pa.int64()),
            "vat_code": pc.if_else(pa.array(tagged), vat_code.take(take), ""),
            "vat_line": pa.array(tagged & vat_tag[record]),
            "source_file": repeated_text(file, len(record)),
            "source_row": pa.array(records["row"][record], pa.int64()),
        },
    )
    extras = pa.table(
        {"source_row": pa.array(records["row"], pa.int64()), **dict(zip(EXTRA_FIELDS, records["extra"], strict=True))}
    )
    return lines, extras, problems


def _is_vat_tag(field7: pa.Array) -> np.ndarray:
    """Field 7 says ``VAT`` (any case, as ``str.upper`` sees it)."""
    ascii_ = pc.string_is_ascii(field7)
    tag = pc.equal(pc.ascii_upper(field7), VAT_TAG).to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(~ascii_.to_numpy(zero_copy_only=False)).tolist():
        tag[index] = field7[index].as_py().upper() == VAT_TAG
    return tag


def _problems(records: dict[str, Any], compound: np.ndarray, vat_tag: np.ndarray, file: str) -> list[Problem]:
    """Per record, in order: a VAT code or tag on a record with two accounts, an odd field 7."""
    found: list[tuple[int, int, Problem]] = []
    rows = records["row"]
    field7, vat_code = records["extra"][0], records["extra"][6]
    coded = pc.not_equal(vat_code, "").to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(coded & ~compound).tolist():
        message = N_("VAT code {vat_code!r} on a record with two accounts: it is not clear which line it belongs to; kept as extra").format(vat_code=vat_code[index].as_py())  # fmt: skip
        found.append((index, 0, Problem("warning", message, file, int(rows[index]))))
    for index in np.flatnonzero(vat_tag & ~compound).tolist():
        message = N_("{vat_tag!r} in field 7 of a record with two accounts: it is not clear which line books the VAT; both are read as plain lines").format(vat_tag=VAT_TAG)  # fmt: skip
        found.append((index, 1, Problem("warning", message, file, int(rows[index]))))
    # field 7 as a foreign amount, its decimal mark decided from itself alone (the fast path's "."
    # reads exactly the values whose own evidence is "." or none)
    foreign, errors = columns.complete(*columns.cents(field7, "."), field7, lambda t: AmountColumn([t]).cents(t))
    for index in errors:
        if not vat_tag[index]:
            message = N_("field 7 {value!r} is not a foreign amount; kept as extra").format(value=field7[index].as_py())
            found.append((index, 2, Problem("info", message, file, int(rows[index]))))
    nonzero = pc.fill_null(pc.not_equal(foreign, 0), False).to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(nonzero & ~vat_tag).tolist():
        message = N_("foreign amount in field 7, but the journal does not name its currency; "
                     "kept as extra, the lines are in base currency")  # fmt: skip
        found.append((index, 2, Problem("warning", message, file, int(rows[index]))))
    return [problem for _, _, problem in sorted(found, key=lambda item: item[:2])]


FORMAT = CresusReader
