"""FEC, Fichier des écritures comptables (France, article A47 A-1 of the Livre des procédures fiscales).

One line per journal line, the 18 columns in their legal order with a header line of their names
(``COLUMNS``), tab-separated, dates ``yyyymmdd``, amounts with a decimal comma in ``Debit`` and
``Credit``, UTF-8. ``write_fec(ledger, path, separator="|", encoding="iso-8859-15")`` writes the
other forms the article allows.

**File name**: the administration expects ``<SIREN>FEC<closing date yyyymmdd>.txt``, e.g.
``123456789FEC20241231.txt`` for the year closing on 31 December 2024. ``-o`` names the file, so
give it that name; the writer warns when the name does not follow the pattern.

Entries are numbered 1, 2, … (``EcritureNum``) in date order; every line of an entry gets the
entry's journal and date. Opening entries get the journal label ``A nouveaux``, which the reader
recognises. Partners go to ``CompAuxNum``/``CompAuxLib`` on the lines that carry one: a FEC has no
partners table, so partners without lines are left out and every partner a line names comes back as
one. A foreign line gets ``Montantdevise`` (unsigned) and ``Idevise``. A FEC has no field for the
company name or the base currency (it is kept in euros): both are declared as not carried, and so are
lines in euros of books kept in another currency (they read back as base-currency lines).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns
from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, years_of
from migrator.rowwise import collector_paused
from migrator.writers.base import lost

COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
OPENING_LABEL = "A nouveaux"
BATCH = 1 << 16
_NAME = re.compile(r"^(\d{9})FEC(\d{8})\.txt$", re.IGNORECASE)
_TEMPORARY = re.compile(r"^\.(.+)\.[^.]+\.part$")  # pipeline._atomic's temporary name for the output
_FIELDS = ("entry", "date", "doc", "description", "account", "amount", "currency", "amount_currency", "partner",
           "opening")  # fmt: skip


class FecWriter:
    name = "fec"
    extension = ".txt"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        return write_fec(ledger, target)


def write_fec(ledger: Ledger, target: Path, separator: str = "\t", encoding: str = "utf-8") -> list[Problem]:
    """Write `ledger` as a FEC at `target` (`separator` tab or ``|``; `encoding` UTF-8 or ISO-8859-15)."""
    if separator not in ("\t", "|"):
        raise ValueError(N_("a FEC is separated by tabs or by '|'"))
    state = _State(ledger, separator)
    with collector_paused(), target.open("w", encoding=encoding, errors="replace", newline="") as handle:
        handle.write(_check(separator.join(COLUMNS) + "\r\n", encoding, state))
        for start in range(0, len(state.order), BATCH):
            chunk = state.lines(start)
            handle.write(_check(chunk, encoding, state))
    return _name_problems(ledger, target) + _not_carried(ledger, state)


class _State:
    """Entry numbers, order and per-entry journal and date, computed once with Arrow and numpy."""

    def __init__(self, ledger: Ledger, separator: str) -> None:
        lines = ledger.lines
        self.lines_table = lines.select(list(_FIELDS))
        self.separator = separator
        self.unsafe = re.compile(r"[\t\r\n|]" if separator == "|" else r"[\t\r\n]")
        self.days: dict[Any, str] = {None: ""}
        self.account_names = dict(zip(ledger.accounts.column("code").to_pylist(),
                                      ledger.accounts.column("name").to_pylist(), strict=True))  # fmt: skip
        self.partner_names = dict(zip(ledger.partners.column("id").to_pylist(),
                                      ledger.partners.column("name").to_pylist(), strict=True))  # fmt: skip
        self.cleaned = self.unencodable = 0
        self.bad: set[str] = set()
        if not lines.num_rows:
            self.order = np.zeros(0, dtype=np.int64)
            self.number = self.journal = self.day = np.zeros(0, dtype=np.int64)
            self.mixed = 0
            return
        codes = lines.column("entry").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
        _, first = np.unique(codes, return_index=True)
        dates = pc.cast(lines.column("date"), pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        entry_dates = dates[first]
        ranked = np.lexsort((np.arange(len(first)), entry_dates))  # entries by date, then first appearance
        number = np.empty(len(first), dtype=np.int64)
        number[ranked] = np.arange(1, len(first) + 1)
        self.number = number[codes]
        rows = np.arange(lines.num_rows)
        self.order = rows[np.lexsort((rows, self.number))]
        journal = lines.column("journal").combine_chunks()
        self.journal = journal.take(pa.array(first)).take(pa.array(codes))
        self.day = lines.column("date").combine_chunks().take(pa.array(first)).take(pa.array(codes))
        self.mixed = int(pc.sum(pc.not_equal(journal, self.journal)).as_py() or 0)
        self.mixed += int(pc.sum(pc.not_equal(lines.column("date"), self.day)).as_py() or 0)

    def text(self, values: pa.Array) -> pa.Array:
        """Free text without the separator, tabs or line breaks (each becomes a space), counted."""
        found = pc.match_substring_regex(values, self.unsafe.pattern)
        count = int(pc.sum(found).as_py() or 0)
        if not count:
            return values
        self.cleaned += count
        return pc.replace_substring_regex(values, self.unsafe.pattern, " ")

    def names(self, codes: pa.Array, names: dict[Any, str]) -> pa.Array:
        """The name `names` gives each code (``""`` for codes it lacks)."""
        if not names:
            return pa.array([""] * len(codes), pa.string())
        keys = pa.array(list(names), pa.string())
        at = pc.index_in(codes, value_set=keys)
        return pc.fill_null(pa.array(list(names.values()), pa.string()).take(at), "")

    def dates(self, days: pa.Array) -> pa.Array:
        """``yyyymmdd`` of each day (``""`` for none), formatted once per distinct day."""
        encoded = pc.dictionary_encode(days)
        texts = []
        for day in encoded.dictionary.to_pylist():
            text = self.days.get(day)
            if text is None:
                text = self.days[day] = day.strftime("%Y%m%d")
            texts.append(text)
        return pc.fill_null(pa.array(texts, pa.string()).take(encoded.indices), "")

    def lines(self, start: int) -> str:
        """The lines of the batch of lines starting at `start` (in entry order), as one text."""
        index = pa.array(self.order[start : start + BATCH])
        if not len(index):
            return ""
        batch = self.lines_table.take(index)
        column = {name: batch.column(name).combine_chunks() for name in _FIELDS}
        code = self.journal.take(index)
        code = pc.if_else(pc.equal(pc.fill_null(code, ""), ""), "OD", code)
        opening = pc.fill_null(column["opening"], False)
        journal = self.text(code)
        # JournalLib is the journal again (cleaned, and counted, again) where the line is not an opening
        unsafe = pc.match_substring_regex(code, self.unsafe.pattern)
        self.cleaned += int(pc.sum(pc.and_(pc.invert(opening), unsafe)).as_py() or 0)
        label = pc.if_else(opening, OPENING_LABEL, journal)
        numbers = pc.cast(pa.array(self.number[self.order[start : start + BATCH]]), pa.string())
        date = self.dates(self.day.take(index))
        amount = pc.fill_null(column["amount"], 0).to_numpy(zero_copy_only=False)
        account, partner, currency = column["account"], column["partner"], column["currency"]
        empty = pa.array([""] * len(index), pa.string())
        foreign = pc.and_(pc.not_equal(pc.fill_null(currency, ""), ""), pc.is_valid(column["amount_currency"]))
        foreign_amount = foreign_currency = empty
        if pc.any(foreign).as_py():
            magnitude = np.abs(pc.fill_null(column["amount_currency"], 0).to_numpy(zero_copy_only=False))
            foreign_amount = pc.if_else(foreign, columns.cents_text(magnitude, ","), "")
            foreign_currency = self.text(pc.if_else(foreign, currency, ""))
        fields = (
            journal, label, numbers, date, self.text(account), self.text(self.names(account, self.account_names)),
            self.text(partner), self.text(self.names(partner, self.partner_names)), self.text(column["doc"]), date,
            self.text(column["description"]), columns.cents_text(np.maximum(amount, 0), ","),
            columns.cents_text(np.maximum(-amount, 0), ","), empty, empty, date, foreign_amount, foreign_currency,
        )  # fmt: skip
        joined = pc.binary_join_element_wise(*fields, self.separator)
        text = pc.binary_join_element_wise(joined, "\r\n", "")
        offsets = np.frombuffer(text.buffers()[1], np.int32)[text.offset : text.offset + len(text) + 1]
        return text.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]].decode("utf-8")


def _check(text: str, encoding: str, state: _State) -> str:
    """`text`, noting characters the encoding lacks (they are written as ``?``)."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        missing = {ch for ch in set(text) if not _encodable(ch, encoding)}
        state.bad |= missing
        state.unencodable += sum(text.count(ch) for ch in missing)
    return text


def _encodable(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def final_name(target: Path) -> str:
    """The name the output will have: `target`'s, or the one hidden in the pipeline's temporary name."""
    temporary = _TEMPORARY.match(target.name)
    return temporary.group(1) if temporary else target.name


def _name_problems(ledger: Ledger, target: Path) -> list[Problem]:
    name = final_name(target)
    years = years_of(ledger)
    closing = years[-1].end.strftime("%Y%m%d") if years else "yyyymmdd"
    match = _NAME.match(name)
    if match is None:
        siren = re.sub(r"\D", "", ledger.company.vat_number)[-9:] if ledger.company.vat_number.upper().startswith(
            "FR") else ""  # fmt: skip
        example = f"{siren or '<SIREN>'}FEC{closing}.txt"
        return [Problem("warning", N_("a FEC must be named <SIREN>FEC<closing date yyyymmdd>.txt (here {example}); {name!r} does not follow that pattern").format(example=example, name=name))]  # fmt: skip
    if years and match.group(2) != closing:
        return [Problem("warning", N_("the file name gives the closing date {group}, but the books close on {closing}").format(group=match.group(2), closing=closing))]  # fmt: skip
    return []


def _not_carried(ledger: Ledger, state: _State) -> list[Problem]:
    lines = ledger.lines
    problems = lost(N_("VAT codes"), ledger.vat_codes.num_rows, N_("left out (a FEC has no VAT columns)"))
    problems += lost(N_("lines with a VAT code"), int(pc.sum(pc.not_equal(lines.column("vat_code"), "")).as_py() or 0),
                     N_("written without it"))  # fmt: skip
    problems += lost(N_("lines with a cost centre"), int(pc.sum(pc.not_equal(lines.column("cost_centre"), "")).as_py()
                     or 0), N_("written without it"))  # fmt: skip
    problems += lost(N_("groups"), ledger.groups.num_rows, N_("left out"))
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    named = set(pc.unique(lines.column("partner")).to_pylist()) - {"", None}
    listed = set(ledger.partners.column("id").to_pylist())
    problems += lost(N_("partner details (address, VAT number, terms…)"), len(listed & named),
                     N_("only the id and name are kept, on the lines"))  # fmt: skip
    problems += lost(N_("partners without lines"), len(listed - named),
                     N_("left out (a FEC names partners only on its lines, in CompAuxNum)"))  # fmt: skip
    problems += lost(N_("partners named on lines without a partner record"), len(named - listed),
                     N_("written in CompAuxNum; read back, each becomes a partner (a FEC has no partners table: its "
                     "partners are the CompAuxNum of its lines)"))  # fmt: skip
    problems += lost(N_("company name"), 1 if ledger.company.name else 0,
                     N_("a FEC has no field for it (its file name carries the SIREN)"))  # fmt: skip
    problems += lost(N_("unused accounts"), max(ledger.accounts.num_rows - len(pc.unique(lines.column("account"))), 0),
                     N_("left out (a FEC lists the accounts its lines use)"))  # fmt: skip
    problems += lost(N_("lines whose journal or date differ from their entry's"), state.mixed,
                     N_("written with the entry's journal and date"))  # fmt: skip
    problems += lost(N_("texts with tabs, line breaks or the separator"), state.cleaned, N_("those became spaces"))
    base = ledger.company.base_currency
    if base != "EUR":
        # A FEC has no field for the base currency: article A47 A-1 LPF has it kept in euros.
        problems.append(Problem("info", N_("base currency {value} not carried by this format: a FEC has no field for it and is read as kept in euros, as the French administration expects; the amounts are written as they are").format(value=base or '(none given)')))  # fmt: skip
        euros = int(pc.sum(pc.equal(lines.column("currency"), "EUR")).as_py() or 0)
        problems += lost(N_("currencies of lines in EUR"), euros,
                         N_("their euro amount is written in Montantdevise/Idevise, but a FEC is read as kept in euros, "
                         "so they read back as lines in the base currency"))  # fmt: skip
    problems += lost(
        N_("fiscal years"),
        len(years_of(ledger)) if _read_years(ledger) != years_of(ledger) else 0,
        N_("a FEC has no field for them: read back, its years are the calendar years its lines span"),
    )
    if len(years_of(ledger)) > 1:
        problems.append(Problem("info", N_("the file holds {count} fiscal years; the administration expects one FEC per fiscal year").format(count=len(years_of(ledger)))))  # fmt: skip
    if state.unencodable:
        shown = " ".join(sorted(state.bad))
        problems.append(Problem("warning", N_("{unencodable} characters ({shown}) do not exist in the chosen encoding and were written as '?'").format(unencodable=state.unencodable, shown=shown)))  # fmt: skip
    return problems


def _read_years(ledger: Ledger) -> tuple[FiscalYear, ...]:
    """The fiscal years a reader gives the written file: the calendar years its lines span."""
    return years_of(ledger.replace(company=dataclasses.replace(ledger.company, fiscal_years=())))


FORMAT = FecWriter
