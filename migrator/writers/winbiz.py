"""Winbiz import files: ``ecritures.csv`` (entries) and ``plan.csv`` (chart), in one folder.

``ecritures.csv`` follows Winbiz's EntriesImport rules (FORMATS.md, helpcenter article 115001603574):
``;``-separated, Windows-1252, dates dd.mm.yyyy, fields ``1 Date; 2 Voucher (10); 3 Text (100);
4 Cpt_debit (12); 5 Cpt_credit (12); 6 Montant (15,2); 7 Journal; 8 ME_cours; 9 ME_mnt; 10 TVA_taux;
11 TVA_mnt; 12 TVA_cpt (d/c); 13 TVA_typ (1 none, 2 due, 3 input, 4 excluded)``, then fields 14–20 as
one public producer writes them (``TVA_meth; TVA_soum; Ecr_monnai; Ecr_monqte; Comment; Ecr_ana;
Ecr_vtcode``, field 20 the VAT code). ``plan.csv`` has ``no_class;numero;libelle`` (class 1 assets,
2 liabilities, 3 expenses, 4 income, 5 non-operating, 6 closing), groups and accounts in number order.

The rules the import sets, and how they are kept:

* **Both accounts on every row** (Cpt_debit and Cpt_credit are required). Every entry is written as
  the debit/credit pairs it splits into (the pairing `writers.datev.fold` makes: debit and credit lines
  laid side by side in order), one row per pair, each booking its amount from its debit to its credit
  account. A simple entry is one row; a compound entry of one account against several is one row per
  split, each carrying the split account and the common counter account, as Winbiz's own exports hold
  the detail rows of a ``Multiple`` entry. The ``Multiple`` header row itself is not written: whether
  the import accepts it is *not documented* (FORMATS.md). The import has no entry number, so each row
  is an entry of its own in Winbiz and on reading back (`as_kept` states the rule); the rows of one
  entry share its date and voucher.
* **VAT on the base row, booked by Winbiz.** A base line whose VAT line(s) sit in the same entry is
  written as one amount including its VAT, with ``TVA_taux`` (rate), ``TVA_mnt`` (the VAT as booked,
  never recomputed), ``TVA_cpt`` (the side of the base account), ``TVA_typ`` 2 (due) or 3 (input),
  ``TVA_meth`` (2 VAT included, 1 excluded: the ledger code's method, spelled like the export's
  ``ecr_tvabn``; the import's own values are *not documented*, an inference) and the code in field 20.
  No VAT row of its own is written (Winbiz would book the VAT twice) and ``TVA_typ`` −1 never is.
  Winbiz books the VAT to the account its VAT code names in the dossier; FORMATS.md has no way to say
  which, so VAT is folded onto the base row only where the VAT line's account is the Swiss SME
  chart's (2200 VAT due, 1170 input VAT), the accounts the reader books it to on reading back. Every
  other VAT (another account, a base line split over several rows, VAT lines whose sum is not their base
  lines' VAT amounts)
  is written as plain rows without VAT type and reported.
* **Journal ``d`` only.** Winbiz refuses other journal codes when modules other than accounting are
  active (FORMATS.md): every row goes to journal ``d``; opening entries and other journals are reported.
* **Header row.** The file starts with the field names; Winbiz's import settings have an option for
  whether the first record is imported, which must be set not to import it (reported as a note).

The currency code of foreign amounts (Winbiz takes it from the account) and cost centres have no
field: each is reported as not carried.

Partners, items and open invoices go to DocumentImport files (FORMATS.md, article 115001603714; field
positions in `migrator.readers.winbiz.documentimport`, which reads them back): ``bizexdoc_adresses.csv``
(type 00, address code in field 20, update method 1 in field 47 so that an address Winbiz already has is
never changed), ``bizexdoc_articles.csv`` (type 00, item code in field 50, name 51, sale price 54) and
``bizexdoc_soldes.csv`` (open customer invoices as debtor opening balances, type 17, supplier invoices as
creditor opening balances, type 43, each of its open amount), with ``README.txt`` giving the import
order. Fields the help pages do not place (country, e-mail, phones of an address; unit, VAT codes,
accounts, stock of an item; the due date of a balance) are declared per column as not carried. The
address and item records leave the document number and date (fields 1 and 3) empty: they are no
documents (*inference*).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import guides
from migrator.i18n import N_, guide
from migrator.model import Ledger, Problem, conform, years_of
from migrator.money import format_cents
from migrator.parsing import decimal_text
from migrator.writers.base import lines_with, lost, lost_columns, off_calendar_years

ENTRIES = "ecritures.csv"
CHART = "plan.csv"
HEADER = ("Date", "Voucher", "Text", "Cpt_debit", "Cpt_credit", "Montant", "Journal", "ME_cours", "ME_mnt",
          "TVA_taux", "TVA_mnt", "TVA_cpt", "TVA_typ", "TVA_meth", "TVA_soum", "Ecr_monnai", "Ecr_monqte",
          "Comment", "Ecr_ana", "Ecr_vtcode")  # fmt: skip
LIMITS = {"Voucher": 10, "Text": 100}
ACCOUNT_LIMIT = 12
JOURNAL = "d"
VAT_TYPES = {"sales": "2", "input_material": "3", "input_investment": "3", "exempt": "4"}
ALLOWED_VAT_TYPES = ("1", "2", "3", "4")
VAT_ACCOUNTS = {"2": "2200", "3": "1170"}
"""The VAT account of a base row's VAT, by TVA_typ: the Swiss SME chart's (the reader books it there)."""
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
        _write_text(target / ENTRIES, _entries_text(_plan(ledger, notes), notes), notes, ENTRIES)
        _write_csv(target / CHART, _chart_rows(ledger), notes, CHART)
        documents = write_document_import(ledger, target, notes)
        return notes.problems + documents + _not_carried(ledger, notes)

    def as_kept(self, ledger: Ledger) -> Ledger:
        """each entry split into the debit/credit rows the writer books, one entry per row, VAT as Winbiz books it.

        The ledger as Winbiz's import keeps it: every row of `_plan` an entry of two lines (debit,
        credit) dated like its entry's first line, ids ``<entry>/1``, ``/2``…; where the row carries
        VAT, the line on the ``TVA_cpt`` side less the VAT (with the code and VAT amount) and a VAT
        line of that code on the SME chart's VAT account, codes named as the reader names them (``V81``,
        ``M77G``); zero-amount lines and currencies left out;
        journal ``d``, no opening flags, partners or cost centres.
        """
        plan = _plan(ledger, _Notes())
        c = plan.columns
        size = plan.size
        has_vat = c["vat_code"].is_valid().to_numpy(zero_copy_only=False)
        tax = c["vat_amount"].fill_null(0).to_numpy(zero_copy_only=False)
        on_debit = pc.equal(c["vat_side"], "d").fill_null(False).to_numpy(zero_copy_only=False)
        on_credit = has_vat & ~on_debit
        three = has_vat & (tax != 0)
        count = np.where(three, 3, 2)
        row = np.repeat(np.arange(size), count)  # the row of each kept line
        start = np.cumsum(count) - count
        line = (np.arange(len(row)) - np.repeat(start, count) + 1).astype(np.int32)
        is_debit, is_credit, is_vat = line == 1, line == 2, line == 3
        cents = c["cents"].to_numpy(zero_copy_only=False)[row]
        tax_row, three_row = tax[row], three[row]
        amount = np.where(is_debit, cents - np.where(three_row & on_debit[row], tax_row, 0),
                          np.where(is_credit, -cents + np.where(three_row & on_credit[row], tax_row, 0),
                                   np.where(on_debit[row], tax_row, -tax_row)))  # fmt: skip
        codes = list(plan.vat)
        index = pc.index_in(c["vat_code"], pa.array(codes, pa.string()))
        spelled = [_read_name(_Vat(k, *plan.vat[k], 0, "")) if plan.vat[k][0] in ("2", "3", "4") else "" for k in codes]
        names = pc.take(pa.array(spelled, pa.string()), index).fill_null("")
        vat_account = pc.take(pa.array([VAT_ACCOUNTS.get(plan.vat[k][0], "") for k in codes], pa.string()), index)
        on_side = (is_debit & on_debit[row]) | (is_credit & on_credit[row]) | is_vat
        taken = pa.array(row)
        account_of = np.where(is_debit, 0, np.where(is_credit, 1, 2))
        accounts = pa.chunked_array([c["debit"], c["credit"], vat_account.fill_null("")]).combine_chunks()
        valid = three_row & on_side & ~is_vat
        vat_amount = np.where(valid, np.where(is_debit, tax_row, -tax_row), 0)  # zeros under nulls, as pa.array puts
        columns = {
            "entry": pc.take(c["entry"], taken), "line": pa.array(line), "date": pc.take(c["date"], taken),
            "doc": pc.take(c["doc"], taken), "description": pc.take(c["text"], taken),
            "account": pc.take(accounts, pa.array(account_of * size + row)), "amount": pa.array(amount, pa.int64()),
            "vat_code": pc.if_else(pa.array(on_side), pc.take(names, taken), ""),
            "vat_amount": pa.array(vat_amount, pa.int64(), mask=~valid),
            "vat_line": pa.array(is_vat), "journal": pa.array([JOURNAL] * len(row), pa.string()),
        }  # fmt: skip
        return ledger.replace(lines=conform("lines", columns))


class _Notes:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.journals: dict[str, int] = {}
        self.opening = 0
        self.currencies = 0
        self.uncoded = 0
        self.unfolded_vat = 0
        self.mixed_dates = 0
        self.zero_lines = 0
        self.empty_entries = 0
        self.vat_meanings: dict[str, tuple[str, str, str]] | None = None

    def warn(self, message: str, file: str = ENTRIES) -> None:
        self.problems.append(Problem("warning", message, file))


@dataclass
class _Vat:
    code: str
    kind: str  # TVA_typ: 2, 3 or 4
    rate: str
    method: str  # TVA_meth: 2 included, 1 excluded
    amount: int  # the VAT, positive cents
    side: str  # d or c


def _read_name(vat: _Vat) -> str:
    """The code the reader names a row's VAT by (`readers.winbiz.journal`): V due, M input (booked to
    1170), X excluded; the rate without its point; G when VAT is included."""
    letter = {"2": "V", "3": "M", "4": "X"}[vat.kind]
    return f"{letter}{(vat.rate or '0').replace('.', '')}{'G' if vat.method == '2' else ''}"


@dataclass
class _Row:
    entry: str
    date: Any
    doc: str
    text: str
    debit: str
    credit: str
    cents: int
    journal: str
    foreign: tuple[str, str]
    vat: _Vat | None
    line: dict[str, Any]


def _vat_meanings(ledger: Ledger, notes: _Notes) -> dict[str, tuple[str, str, str]]:
    """VAT type, rate and method (TVA_meth) of each code the lines use."""
    from migrator.vat import meaning

    methods = dict(zip(ledger.vat_codes.column("code").to_pylist(), ledger.vat_codes.column("method").to_pylist(),
                       strict=True))  # fmt: skip
    out: dict[str, tuple[str, str, str]] = {}
    for code in sorted({c for c in pc.unique(ledger.lines.column("vat_code")).to_pylist() if c}):
        known = meaning(ledger, code)
        method = "2" if methods.get(code) == "gross" else "1"
        if known is None or known[0] not in VAT_TYPES:
            what = f"kind {known[0]}" if known else N_("kind and rate unknown")
            notes.warn(
                N_("VAT code {code} ({what}) has no Winbiz VAT type: its lines are written without VAT type").format(
                    code=code, what=what
                )
            )
            out[code] = ("1", decimal_text(known[1]) if known else "", method)
            continue
        out[code] = (VAT_TYPES[known[0]], decimal_text(Decimal(known[1])), method)
    return out


def _entries(lines: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The lines of each entry, in the order entries first appear, each in line-number order."""
    order: dict[str, list[dict[str, Any]]] = {}
    for row in lines:
        order.setdefault(row["entry"], []).append(row)
    for group in order.values():
        numbers = [line["line"] or 0 for line in group]
        if all(a <= b for a, b in pairwise(numbers)):
            yield group  # already in line order (a stable sort would keep it)
        else:
            yield sorted(group, key=lambda line: line["line"] or 0)


LINE_COLUMNS = ("entry", "line", "date", "doc", "description", "account", "amount", "amount_currency", "rate",
                "currency", "vat_code", "vat_amount", "vat_line", "journal", "opening")  # fmt: skip
PLAN_TYPES = {"entry": pa.string(), "first_entry": pa.string(), "first_doc": pa.string(), "date": pa.date32(),
              "doc": pa.string(), "text": pa.string(), "debit": pa.string(), "credit": pa.string(),
              "cents": pa.int64(), "fx_rate": pa.string(), "fx_amount": pa.string(), "vat_code": pa.string(),
              "vat_amount": pa.int64(), "vat_side": pa.string()}  # fmt: skip


@dataclass
class _Plan:
    """The rows of ``ecritures.csv`` as columns (`PLAN_TYPES`), entry by entry: ``entry`` is the row's
    id (``<entry>/<n>``), ``first_entry``, ``first_doc`` and ``date`` those of its entry's first line;
    ``vat_code`` is null on a row without VAT (else with its amount, positive cents, and side d/c);
    `vat` the type, rate and method of each code."""

    columns: dict[str, pa.Array]
    vat: dict[str, tuple[str, str, str]]

    @property
    def size(self) -> int:
        return len(self.columns["cents"])


def _plan(ledger: Ledger, notes: _Notes) -> _Plan:
    """The rows of ``ecritures.csv``, entry by entry.

    Entries of two lines (one debit, one credit of the same amount) and of three (a base line, its
    counter line and the VAT line that folds onto the base) are planned a column at a time; every
    other entry goes through `_entry_rows`, line by line, as do all entries if an entry id is missing.
    """
    vat = _vat_meanings(ledger, notes)
    lines = ledger.lines
    n = lines.num_rows
    entry = lines.column("entry").combine_chunks()
    if entry.null_count or n == 0:
        return _slow_plan(lines.select(LINE_COLUMNS).to_pylist(), vat, notes, None)
    encoded = entry.dictionary_encode()  # indices in order of first appearance
    e = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    number = lines.column("line").fill_null(0).to_numpy().astype(np.int64)
    order = np.lexsort((number, e))  # stable: lines of equal number keep their order, as `sorted` does
    e = e[order]
    m = len(encoded.dictionary)
    taken = pa.array(order)
    in_order = bool(np.all(order == np.arange(n)))  # lines usually come entry by entry, in line order

    def col(name: str) -> pa.Array:
        return lines.column(name).combine_chunks() if in_order else pc.take(lines.column(name), taken).combine_chunks()

    amount_col = col("amount")
    amount = amount_col.fill_null(0).to_numpy(zero_copy_only=False)
    code = col("vat_code").fill_null("")
    is_vat = col("vat_line").fill_null(False).to_numpy(zero_copy_only=False)
    vat_amount = col("vat_amount").fill_null(0).to_numpy(zero_copy_only=False)
    account = col("account")
    codes = list(vat)
    kinds = np.array([0, *(int(vat[c][0]) for c in codes)], dtype=np.int64)  # 0: no code known
    kind = kinds[pc.fill_null(pc.add(pc.index_in(code, pa.array(codes, pa.string())), 1), 0).to_numpy()]
    has_code = pc.not_equal(code, "").to_numpy(zero_copy_only=False)
    counts = np.bincount(e, minlength=m)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    # lines that keep an entry off the fast path: no amount, a zero amount, an account too long (warned)
    odd = (amount == 0) | ~amount_col.is_valid().to_numpy(zero_copy_only=False)
    odd |= pc.greater(pc.utf8_length(account.fill_null("")), ACCOUNT_LIMIT).to_numpy(zero_copy_only=False)
    odd |= account.is_null().to_numpy(zero_copy_only=False)
    plain = np.bincount(e, weights=odd, minlength=m) == 0

    def at(values: np.ndarray, offset: int, where: np.ndarray) -> np.ndarray:
        return values[starts[where] + offset]

    # two lines, no VAT line: a debit and a credit of the same amount
    two = np.flatnonzero(plain & (counts == 2))
    a0, a1 = at(amount, 0, two), at(amount, 1, two)
    ok2 = ~at(is_vat, 0, two) & ~at(is_vat, 1, two) & (a0 == -a1)
    two = two[ok2]
    # three lines: one VAT line, one base line of its code booking that VAT, one line without a code
    three = np.flatnonzero(plain & (counts == 3))
    s3 = starts[three]
    grid = s3[:, None] + np.arange(3)[None, :]
    vat_pos = np.argmax(is_vat[grid], axis=1)
    one_vat = is_vat[grid].sum(axis=1) == 1
    coded = has_code[grid] & ~is_vat[grid]
    base_pos = np.argmax(coded, axis=1)
    one_base = coded.sum(axis=1) == 1
    shaped = one_vat & one_base & (vat_pos != base_pos)
    other_pos = np.where(shaped, 3 - vat_pos - base_pos, 0)
    v, b, o = s3 + vat_pos, s3 + base_pos, s3 + other_pos
    vat_accounts = pa.array(["", "", VAT_ACCOUNTS["2"], VAT_ACCOUNTS["3"], ""], pa.string())

    def same(left: pa.Array, right: pa.Array) -> np.ndarray:
        return pc.equal(left, right).fill_null(False).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]

    v_at, b_at = pa.array(v), pa.array(b)
    b_kind = kind[b]
    ok3 = shaped & ~has_code[o] & ~is_vat[o]
    ok3 &= same(pc.take(code, v_at), pc.take(code, b_at)) & ((b_kind == 2) | (b_kind == 3)) & (vat_amount[b] != 0)
    ok3 &= same(pc.take(account, v_at), pc.take(vat_accounts, pa.array(b_kind)))
    ok3 &= (amount[v] >= 0) == (amount[b] >= 0)
    ok3 &= amount[v] == vat_amount[b]
    ok3 &= amount[b] + vat_amount[b] == -amount[o]
    three, v, b, o = three[ok3], v[ok3], b[ok3], o[ok3]

    # debit and credit line of each fast row (positions in the sorted lines), with the folded amount
    first = np.concatenate([starts[two], starts[three]])
    x = np.concatenate([starts[two], b])  # base line of a three-line entry
    y = np.concatenate([starts[two] + 1, o])
    x_amount = amount[x] + np.r_[np.zeros(len(two), dtype=np.int64), vat_amount[b]]
    x_debit = x_amount > 0
    debit, credit = np.where(x_debit, x, y), np.where(x_debit, y, x)
    cents = np.where(x_debit, x_amount, -x_amount)
    fast_entries = np.concatenate([two, three])
    # VAT: folded from the VAT line (three lines), else kept on a coded line with no VAT booked
    kept = has_code & ~is_vat & ((kind == 4) | (((kind == 2) | (kind == 3)) & (vat_amount == 0)))
    side_d = np.r_[kept[debit[: len(two)]], np.zeros(len(three), dtype=bool)]
    side_c = np.r_[~side_d[: len(two)] & kept[credit[: len(two)]], np.zeros(len(three), dtype=bool)]
    folded = np.r_[np.zeros(len(two), dtype=bool), np.ones(len(three), dtype=bool)]
    tax_line = np.where(side_d, debit, np.where(side_c, credit, np.r_[np.zeros(len(two), dtype=np.int64), b]))
    has_tax = side_d | side_c | folded
    tax_side = np.where(side_d, "d", np.where(side_c, "c", np.where(amount[tax_line] >= 0, "d", "c")))
    tax_amount = np.where(folded, np.abs(vat_amount[tax_line]), 0)
    notes.uncoded += int(np.sum(has_code[first[: len(two)]] & ~kept[first[: len(two)]]))
    notes.uncoded += int(np.sum(has_code[first[: len(two)] + 1] & ~kept[first[: len(two)] + 1]))

    # per entry: the first line's date, journal and opening flag
    dates = col("date")
    day_int = pc.cast(dates, pa.int32()).fill_null(np.iinfo(np.int32).min).to_numpy(zero_copy_only=False)
    first_of_line = np.repeat(starts, counts)
    mixed = np.bincount(e, weights=day_int != day_int[first_of_line], minlength=m) > 0
    notes.mixed_dates += int(np.sum(mixed[fast_entries]))
    journal = col("journal")
    opening = col("opening").fill_null(False).to_numpy(zero_copy_only=False)
    _journal_notes(opening[first], pc.take(journal, pa.array(first)), notes)

    currency = col("currency").fill_null("")
    fx = col("amount_currency")
    has_fx = pc.and_(pc.not_equal(currency, ""), fx.is_valid()).to_numpy(zero_copy_only=False)
    fx_line = np.where(has_fx[debit], debit, credit)
    fx_any = has_fx[debit] | has_fx[credit]
    notes.currencies += int(np.sum(fx_any))
    fx_values = fx.fill_null(0).to_numpy(zero_copy_only=False)
    rate = col("rate").fill_null("")
    description = col("description")
    text = pc.coalesce(*(pc.if_else(pc.equal(t, ""), None, t) for t in (pc.take(description, pa.array(debit)),
                         pc.take(description, pa.array(credit)), pc.take(description, pa.array(first)))), "")  # fmt: skip
    doc = col("doc")
    fast_first = pa.array(first)
    fast = {
        "entry": pc.binary_join_element_wise(pc.take(entry, pa.array(order[first])), "/1", ""),
        "first_entry": pc.take(entry, pa.array(order[first])), "first_doc": pc.take(doc, fast_first),
        "date": pc.take(dates, fast_first), "doc": pc.take(doc, fast_first).fill_null(""), "text": text,
        "debit": pc.take(account, pa.array(debit)), "credit": pc.take(account, pa.array(credit)),
        "cents": pa.array(cents, pa.int64()),
        "fx_rate": pc.if_else(pa.array(fx_any), pc.take(rate, pa.array(fx_line)), ""),
        "fx_amount": pc.if_else(pa.array(fx_any), _cents_text(np.abs(fx_values[fx_line])), ""),
        "vat_code": pc.if_else(pa.array(has_tax), pc.take(code, pa.array(tax_line)), None),
        "vat_amount": pa.array(tax_amount, pa.int64(), mask=~has_tax),
        "vat_side": pc.if_else(pa.array(has_tax), pa.array(tax_side, pa.string()), None),
    }  # fmt: skip
    slow_entries = np.ones(m, dtype=bool)
    slow_entries[fast_entries] = False
    if not slow_entries.any():
        rank = np.argsort(fast_entries, kind="stable")
        return _Plan({k: pc.take(v, pa.array(rank)) for k, v in fast.items()}, vat)
    slow_lines = np.flatnonzero(slow_entries[e])
    rows = pc.take(lines.select(LINE_COLUMNS), pa.array(order[slow_lines])).to_pylist()
    slow = _slow_plan(rows, vat, notes, e[slow_lines])
    both = {k: pa.concat_arrays([fast[k].cast(t), slow.columns[k].cast(t)]) for k, t in PLAN_TYPES.items()}
    keys = np.concatenate([fast_entries, slow.columns.pop("_entry_index").to_numpy()])  # type: ignore[attr-defined]
    rank = np.argsort(keys, kind="stable")  # an entry's rows stay in their order
    return _Plan({k: pc.take(v, pa.array(rank)) for k, v in both.items()}, vat)


def _slow_plan(lines: list[dict[str, Any]], vat: dict[str, tuple[str, str, str]], notes: _Notes,
               index: np.ndarray | None) -> _Plan:  # fmt: skip
    """The rows of the entries of `lines` (sorted by entry and line number when `index`, their
    entries' positions, is given) through `_entry_rows`; ``_entry_index`` holds each row's entry position."""
    rows: list[_Row] = []
    positions: list[int] = []
    if index is None:
        groups: Iterator[list[dict[str, Any]]] = _entries(lines)
    else:
        bounds = np.r_[0, np.flatnonzero(np.diff(index)) + 1, len(index)].tolist() if len(index) else [0]
        groups = (lines[a:b] for a, b in pairwise(bounds))
        entry_of = index[bounds[:-1]].tolist() if len(index) else []
    for number, group in enumerate(groups):
        found = _entry_rows(group, vat, notes)
        rows += found
        positions += [entry_of[number] if index is not None else number] * len(found)
    columns: dict[str, Any] = {
        "entry": [r.entry for r in rows], "first_entry": [r.line["entry"] for r in rows],
        "first_doc": [r.line["doc"] for r in rows], "date": [r.date for r in rows], "doc": [r.doc for r in rows],
        "text": [r.text for r in rows], "debit": [r.debit for r in rows], "credit": [r.credit for r in rows],
        "cents": [r.cents for r in rows], "fx_rate": [r.foreign[0] for r in rows],
        "fx_amount": [r.foreign[1] for r in rows], "vat_code": [r.vat.code if r.vat else None for r in rows],
        "vat_amount": [r.vat.amount if r.vat else None for r in rows],
        "vat_side": [r.vat.side if r.vat else None for r in rows],
    }  # fmt: skip
    out = {k: pa.array(v, PLAN_TYPES[k]) for k, v in columns.items()}
    out["_entry_index"] = pa.array(positions, pa.int64())
    return _Plan(out, vat)


def _journal_notes(opening: np.ndarray, journal: pa.Array, notes: _Notes) -> None:
    """`_journal` for the first lines of many entries at once."""
    notes.opening += int(np.sum(opening))
    lower = pc.utf8_lower(journal.fill_null(""))
    other = ~opening & ~pc.is_in(lower, pa.array(["", JOURNAL])).to_numpy(zero_copy_only=False)
    if other.any():
        for name in pc.take(journal, pa.array(np.flatnonzero(other))).to_pylist():
            notes.journals[name] = notes.journals.get(name, 0) + 1


def _cents_text(cents: np.ndarray) -> pa.Array:
    """`format_cents` of each value, a column at a time."""
    values = np.asarray(cents, dtype=np.int64)
    if len(values) and values.min() == np.iinfo(np.int64).min:
        return pa.array([format_cents(int(c)) for c in values.tolist()], pa.string())
    abs_values = np.abs(values)
    whole = pc.cast(pa.array(abs_values // 100), pa.string())
    part = pc.utf8_lpad(pc.cast(pa.array(abs_values % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, part, ".")
    return pc.if_else(pa.array(values < 0), pc.binary_join_element_wise("-", text, ""), text)


def _folded_vat(lines: list[dict[str, Any]], vat: dict[str, tuple[str, str, str]]
                ) -> tuple[list[dict[str, Any]], dict[int, _Vat]]:  # fmt: skip
    """The entry's lines with each VAT line that can go on its base row added to that base line, and
    the VAT of each such base line (by its position in the list returned)."""
    merged: dict[int, _Vat] = {}
    dropped: set[int] = set()
    foldable: dict[str, list[int] | None] = {}  # the code's VAT lines, where they fold onto its bases
    for index, base in enumerate(lines):
        code = base["vat_code"]
        if not code or base["vat_line"] or not base["vat_amount"]:
            continue
        kind, rate, method = vat.get(code, ("1", "", "1"))
        if kind not in VAT_ACCOUNTS:
            continue
        if code not in foldable:
            foldable[code] = _foldable(lines, code, VAT_ACCOUNTS[kind])
        booked = foldable[code]
        if booked is None:
            continue
        side = "d" if base["amount"] >= 0 else "c"
        merged[index] = _Vat(code, kind, rate, method, abs(base["vat_amount"]), side)
        dropped.update(booked)
    out: list[dict[str, Any]] = []
    vats: dict[int, _Vat] = {}
    for index, line in enumerate(lines):
        if index in dropped:
            continue
        if index in merged:
            line = {**line, "amount": line["amount"] + line["vat_amount"]}
            vats[len(out)] = merged[index]
        out.append(line)
    return out, vats


def _foldable(lines: list[dict[str, Any]], code: str, account: str) -> list[int] | None:
    """The positions of the VAT lines of `code` in an entry, if they can go on its base rows: their sum
    is the base lines' VAT amounts, all on `account`, each of the sign of every base line."""
    bases = [line for line in lines if line["vat_code"] == code and not line["vat_line"]]
    booked = [i for i, line in enumerate(lines) if line["vat_line"] and line["vat_code"] == code]
    if not booked or sum(lines[i]["amount"] for i in booked) != sum(b["vat_amount"] or 0 for b in bases):
        return None
    if any(lines[i]["account"] != account or (lines[i]["amount"] >= 0) != (b["amount"] >= 0)
           for i in booked for b in bases):  # fmt: skip
        return None
    return booked


def _pairs(lines: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """(debit line, credit line, cents) of an entry: debit and credit lines laid side by side in order
    (the pairing of `writers.datev.fold`); the lines of an unbalanced remainder are left unpaired."""
    debits = [[i, line["amount"]] for i, line in enumerate(lines) if line["amount"] > 0]
    credits = [[i, -line["amount"]] for i, line in enumerate(lines) if line["amount"] < 0]
    out = []
    d = c = 0
    while d < len(debits) and c < len(credits):
        cents = min(debits[d][1], credits[c][1])
        out.append((debits[d][0], credits[c][0], cents))
        debits[d][1] -= cents
        credits[c][1] -= cents
        d += debits[d][1] == 0
        c += credits[c][1] == 0
    return out


def _entry_rows(lines: list[dict[str, Any]], vat: dict[str, tuple[str, str, str]], notes: _Notes) -> list[_Row]:
    first = lines[0]
    for line in lines:
        if len(line["account"]) > ACCOUNT_LIMIT:
            notes.warn(N_("entry {entry}: account {account} is longer than {account_limit} characters; written in full, Winbiz may refuse it").format(entry=line['entry'], account=line['account'], account_limit=ACCOUNT_LIMIT))  # fmt: skip
    folded, vats = _folded_vat(lines, vat)
    pairs = _pairs(folded)
    rows_of = {}
    for index in vats:
        rows_of[index] = sum(1 for d, c, _ in pairs if index in (d, c))
    clash = any(d in vats and c in vats for d, c, _ in pairs)
    if clash or any(count != 1 for count in rows_of.values()):
        # a base line split over several rows (or two on one row): its VAT is written as plain rows
        folded, vats = lines, {}
        pairs = _pairs(folded)
    notes.zero_lines += sum(1 for line in lines if not line["amount"])
    if not pairs:
        notes.empty_entries += 1
    for index, line in enumerate(folded):
        if line["vat_code"] and index not in vats and not (line["vat_line"] or _kept_type(line, vat)):
            notes.uncoded += 1
        elif line["vat_line"] and line["vat_code"]:
            notes.unfolded_vat += 1
    if any(line["date"] != first["date"] for line in lines):
        notes.mixed_dates += 1
    journal = _journal(first, notes)
    rows = []
    for number, (d, c, cents) in enumerate(pairs, start=1):
        debit, credit = folded[d], folded[c]
        tax = vats.get(d) or vats.get(c)
        if tax is None:
            tax = _kept_vat(debit, vat, "d") or _kept_vat(credit, vat, "c")
        text = debit["description"] or credit["description"] or first["description"] or ""
        whole = debit["amount"] == cents and -credit["amount"] == cents
        rows.append(_Row(f"{first['entry']}/{number}", first["date"], first["doc"] or "", text, debit["account"],
                         credit["account"], cents, journal, _foreign([debit, credit], notes) if whole else ("", ""),
                         tax, first))  # fmt: skip
    return rows


def _kept_type(line: dict[str, Any], vat: dict[str, tuple[str, str, str]]) -> bool:
    """Whether a base line keeps its VAT type without a VAT amount (exempt, or no VAT booked)."""
    kind = vat.get(line["vat_code"], ("1", "", "1"))[0]
    return kind == "4" or (kind in VAT_ACCOUNTS and not line["vat_amount"])


def _kept_vat(line: dict[str, Any], vat: dict[str, tuple[str, str, str]], side: str) -> _Vat | None:
    if not line["vat_code"] or line["vat_line"] or not _kept_type(line, vat):
        return None
    kind, rate, method = vat[line["vat_code"]]
    return _Vat(line["vat_code"], kind, rate, method, 0, side)


def _journal(line: dict[str, Any], notes: _Notes) -> str:
    """Always ``d``: Winbiz refuses other journals when modules other than accounting are active."""
    if line["opening"]:
        notes.opening += 1
    elif (line["journal"] or "").lower() not in ("", JOURNAL):
        notes.journals[line["journal"]] = notes.journals.get(line["journal"], 0) + 1
    return JOURNAL


def _text(entry: dict[str, Any], field: str, value: str, notes: _Notes) -> str:
    limit = LIMITS[field]
    if len(value) <= limit:
        return value
    notes.warn(N_("entry {entry} (voucher {doc!r}, {date}): {field} longer than {limit} characters, cut to {value!r}").format(entry=entry['entry'], doc=entry['doc'], date=entry['date'], field=field, limit=limit, value=value[:limit]))  # fmt: skip
    return value[:limit]


def _foreign(lines: list[dict[str, Any]], notes: _Notes) -> tuple[str, str]:
    for line in lines:
        if line["currency"] and line["amount_currency"] is not None:
            notes.currencies += 1
            return line["rate"] or "", format_cents(abs(line["amount_currency"]))
    return "", ""


def _entries_text(plan: _Plan, notes: _Notes) -> str:
    """``ecritures.csv`` as text: the header and a row per planned row, quoted as `csv.writer` quotes
    (fields holding ``;``, ``"``, CR or LF), a column at a time."""
    c = plan.columns
    size = plan.size
    date = _date_text(c["date"])
    cut: list[tuple[int, int, str, dict[str, Any], str]] = []
    voucher = _limited(plan, "Voucher", c["doc"], cut)
    text = _limited(plan, "Text", pc.replace_substring(pc.replace_substring(c["text"], "\r", " "), "\n", " "), cut)
    for _, _, field, first, value in sorted(cut, key=lambda found: found[:2]):  # row by row, voucher first
        _text(first, field, value, notes)
    has_vat = pc.is_valid(c["vat_code"])
    if size:
        vat = plan.vat
        codes = [code for code in vat]
        kinds = [vat[code][0] for code in codes]
        used = pc.unique(pc.drop_null(c["vat_code"])).to_pylist()
        assert all(vat[code][0] in ALLOWED_VAT_TYPES for code in used)
        index = pc.index_in(c["vat_code"], pa.array(codes, pa.string()))
        rate = pc.take(pa.array([vat[code][1] for code in codes], pa.string()), index).fill_null("")
        kind = pc.take(pa.array(kinds, pa.string()), index).fill_null("")
        method = pc.take(pa.array([vat[code][2] for code in codes], pa.string()), index).fill_null("")
    else:
        rate = kind = method = pa.array([], pa.string())
    vat_amount = pc.if_else(has_vat, _cents_text(c["vat_amount"].fill_null(0).to_numpy(zero_copy_only=False)), "")
    empty = pa.array([""] * size, pa.string())
    fields = [date, voucher, text, c["debit"], c["credit"], _cents_text(c["cents"].to_numpy(zero_copy_only=False)),
              pa.array([JOURNAL] * size, pa.string()), c["fx_rate"], c["fx_amount"], rate, vat_amount,
              c["vat_side"].fill_null(""), kind, method, empty, empty, empty, empty, empty,
              c["vat_code"].fill_null("")]  # fmt: skip
    fields = [f.fill_null("") for f in fields]
    joined = pc.binary_join_element_wise(*fields, ";")
    # a row needs quotes where a field holds ; " CR or LF: more separators than fields, or one of those
    plain = pc.and_(pc.equal(pc.count_substring(joined, ";"), len(fields) - 1),
                    pc.invert(pc.match_substring_regex(joined, '["\r\n]')))  # fmt: skip
    if size and not pc.all(plain).as_py():
        joined = pc.if_else(plain, joined, pc.binary_join_element_wise(*(_quoted(f) for f in fields), ";"))
    head = ";".join(HEADER) + "\r\n"
    if not size:
        return head
    # the rows with their line ends, one after the other in the array's data: decoded at once
    ended = pc.binary_join_element_wise(joined, pa.scalar("\r\n"), "")
    offsets = np.frombuffer(ended.buffers()[1], dtype=np.int32, count=len(ended) + 1, offset=4 * ended.offset)
    body = ended.buffers()[2]
    return head + str(memoryview(body)[int(offsets[0]) : int(offsets[-1])], "utf-8")


def _quoted(values: pa.Array) -> pa.Array:
    """Each value as `csv.writer` (QUOTE_MINIMAL, ``;``, lines ending CR LF) writes it."""
    values = values.fill_null("")
    needs = pc.match_substring_regex(values, '[;"\r\n]')
    if not pc.any(needs).as_py():
        return values
    wrapped = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, wrapped, values)


def _date_text(dates: pa.Array) -> pa.Array:
    """dd.mm.yyyy of each date, empty where there is none (years before 1000 as `strftime` writes them)."""
    days = dates.dictionary_encode()  # a few hundred distinct days: each formatted once
    text = pc.take(pc.strftime(days.dictionary, "%d.%m.%Y"), days.indices).fill_null("")
    early = pc.less(pc.year(dates), 1000).fill_null(False)
    if pc.any(early).as_py():
        text = pa.array([d.strftime("%d.%m.%Y") if d else "" for d in dates.to_pylist()], pa.string())
    return text


def _limited(plan: _Plan, field: str, values: pa.Array, cut: list[tuple[int, int, str, dict[str, Any], str]]
             ) -> pa.Array:  # fmt: skip
    """`values` cut to the field's limit; each row cut added to `cut` (row, field's place, field, the
    entry's first line and the value), for `_text` to warn about."""
    limit = LIMITS[field]
    values = values.fill_null("")
    long = pc.greater(pc.utf8_length(values), limit)
    if not pc.any(long).as_py():
        return values
    c = plan.columns
    for row in np.flatnonzero(long.to_numpy(zero_copy_only=False)).tolist():
        first = {"entry": c["first_entry"][row].as_py(), "doc": c["first_doc"][row].as_py(),
                 "date": c["date"][row].as_py()}  # fmt: skip
        cut.append((row, list(LIMITS).index(field), field, first, values[row].as_py()))
    return pc.utf8_slice_codeunits(values, 0, limit)


def _chart_rows(ledger: Ledger) -> list[tuple[str, ...]]:
    rows: dict[str, tuple[str, ...]] = {}
    for code, name in zip(ledger.groups.column("code").to_pylist(), ledger.groups.column("name").to_pylist(),
                          strict=True):  # fmt: skip
        if _heading(code):  # other group codes are left out (declared)
            rows[code] = (str(DIGIT_CLASSES.get(code[:1], 0)), code, name)
    accounts = ledger.accounts
    for code, name, kind in zip(accounts.column("code").to_pylist(), accounts.column("name").to_pylist(),
                                accounts.column("type").to_pylist(), strict=True):  # fmt: skip
        klass = TYPE_CLASSES.get(kind) or DIGIT_CLASSES.get(code[:1], 0)
        rows[code] = (str(klass), code, name)
    return [("no_class", "numero", "libelle"), *(rows[c] for c in sorted(rows))]


def _heading(code: str) -> bool:
    """A code Winbiz's chart takes for a group heading: 1 to 3 digits (FORMATS.md, Winbiz 1)."""
    return code.isdigit() and len(code) <= 3


def _write_csv(path: Path, rows: list[tuple[str, ...]], notes: _Notes, file: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerows(rows)
    _write_text(path, buffer.getvalue(), notes, file)


def _write_text(path: Path, text: str, notes: _Notes, file: str) -> None:
    """`text` in Windows-1252; what it cannot hold is written as ``?``, with a warning."""
    try:
        data = text.encode(ENCODING)
    except UnicodeEncodeError:
        bad = sorted({c for c in text if not _encodable(c)})
        notes.warn(N_("characters Windows-1252 cannot hold were written as '?': {bad}").format(bad="".join(bad)), file)
        data = text.encode(ENCODING, errors="replace")
    path.write_bytes(data)


def _encodable(char: str) -> bool:
    try:
        char.encode(ENCODING)
        return True
    except UnicodeEncodeError:
        return False


def _not_carried(ledger: Ledger, notes: _Notes) -> list[Problem]:
    problems = lost(
        N_("company name"), 1 if ledger.company.name else 0, N_("left out (the import CSV has no company fields)")
    )
    days = [d for d in ledger.lines.column("date").unique().to_pylist() if d is not None]
    empty = sum(1 for year in years_of(ledger) if not any(year.contains(d) for d in days))
    problems += lost(
        N_("fiscal years without entries"), empty, N_("left out (the import CSV has rows, not fiscal years)")
    )
    groups = sum(1 for code in ledger.groups.column("code").to_pylist() if not _heading(code))
    problems += lost(N_("groups"), groups, N_("left out: Winbiz's group headings are numbered with 1 to 3 digits"))
    short = sum(1 for code in ledger.accounts.column("code").to_pylist() if _heading(code))
    problems += lost(N_("accounts (chart) numbered with 1 to 3 digits"), short, N_("Winbiz takes such numbers for group "
                     "headings: renumber them in Winbiz's chart (their bookings are kept)"))  # fmt: skip
    problems += lost(
        N_("groups read back from accounts numbered with 1 to 3 digits"), short, N_("see the accounts above")
    )
    problems += lost(N_("fiscal years other than calendar years"), off_calendar_years(ledger),
                     N_("the import CSV has rows, not fiscal years: create the years in Winbiz"))  # fmt: skip
    base = ledger.company.base_currency
    problems += lost(N_("base currency"), int(base not in ("", "CHF")), N_("the import CSV holds amounts only: they are in {base}, the base currency of the Winbiz dossier").format(base=base))  # fmt: skip
    problems += lost(
        N_("currencies of lines (foreign-currency rows' currency codes)"),
        notes.currencies,
        N_("rate and foreign amount written; Winbiz takes the currency from the account"),
    )
    problems += lost(
        N_("VAT code names"),
        ledger.vat_codes.num_rows,
        N_("each code written in field 20 for Winbiz; reading back names codes from type, rate and method"),
    )
    problems += lost(N_("lines with a VAT code of no Winbiz VAT type"), notes.uncoded, N_("written without VAT type"))
    problems += lost(N_("lines with a VAT code booking VAT that cannot go on its base row"), notes.unfolded_vat,
                     N_("written as plain rows without VAT type (another VAT account than 2200/1170, or a base line "
                     "split over several rows)"))  # fmt: skip
    problems += lost(
        N_("entries with lines on several dates"), notes.mixed_dates, N_("all rows dated like the first line")
    )
    problems += lost(
        N_("zero-amount lines"), notes.zero_lines, N_("left out (a row books an amount between two accounts)")
    )
    problems += lost(N_("empty entries"), notes.empty_entries, N_("left out"))
    problems += lost(N_("opening-entry flags"), notes.opening, N_("opening entries written in journal d as ordinary "
                     "bookings (Winbiz refuses journal o when modules other than accounting are active)"))  # fmt: skip
    for column, what in (("cost_centre", N_("lines with a cost centre")), ("partner", N_("lines with a partner"))):
        count = lines_with(ledger.lines, column)
        problems += lost(what, count, N_("written without it"))
    for journal, count in sorted(notes.journals.items()):
        problems.append(Problem("info", N_("journal {journal!r}: {count} entries written in journal d (Winbiz refuses other journals when modules other than accounting are active)").format(journal=journal, count=count), ENTRIES))  # fmt: skip
    problems.append(Problem("info", N_("{entries} starts with a header row: in Winbiz's import settings, choose not to import the first record").format(entries=ENTRIES), ENTRIES))  # fmt: skip
    return problems


# ------------------------------------------------------------------------- DocumentImport files

ADDRESSES = "bizexdoc_adresses.csv"
ARTICLES = "bizexdoc_articles.csv"
OPENING = "bizexdoc_soldes.csv"
README = "README.txt"
ITEM_UPDATE_METHOD = "1"
"""Field 74 of an item record: 0 never, 1 or more add or update (FORMATS.md). 1: the articles are
created; an article of the same code in the dossier is updated."""


def _record(values: dict[int, str]) -> tuple[str, ...]:
    """A DocumentImport row: the 159 numbered fields, `values` filled in (1-based positions)."""
    from migrator.readers.winbiz import documentimport as di

    cells = [""] * di.FIELD_COUNT
    for position, value in values.items():
        cells[position - 1] = " ".join(value.replace("\t", " ").splitlines()).strip()  # one line per record
    return tuple(cells)


def _plain(text: str) -> str:
    """Text as a field holds it: one line, Windows-1252 (what it lacks is ``?``, `_write_csv` warns)."""
    one_line = " ".join(text.replace("\t", " ").splitlines()).strip()
    return one_line.encode(ENCODING, errors="replace").decode(ENCODING)


def address_record(partner: dict[str, Any]) -> tuple[str, ...]:
    """An address (type 00, amount 0): code in field 20, the names, street (with the building number),
    postcode, town, notes; update method 1 in field 47: Winbiz adds the address and never changes one
    it already has under that code."""
    from migrator.readers.winbiz import documentimport as di

    person = partner["kind"] == "person" and bool(partner["first_name"] or partner["last_name"])
    street = " ".join(p for p in (partner["street"], partner["building_number"]) if p)
    return _record({
        di.TYPE: di.RECORD, di.TOTAL: "0.00", di.ADDRESS_CODE: partner["id"],
        di.COMPANY: "" if person else partner["name"], di.LAST_NAME: partner["last_name"],
        di.FIRST_NAME: partner["first_name"], di.STREET: street, di.POSTCODE: partner["zip"],
        di.TOWN: partner["city"], di.NOTES: partner["notes"], di.ADDRESS_UPDATE: "1",
    })  # fmt: skip


def item_record(item: dict[str, Any]) -> tuple[str, ...]:
    """An item (type 00): code in field 50, name in 51, sale price in 54 (the price field of a line,
    taken for the item's price: *inference*, FORMATS.md lists no item fields), update method in 74."""
    from migrator.readers.winbiz import documentimport as di

    price = format_cents(item["sale_price"]) if item["sale_price"] is not None else ""
    return _record({di.TYPE: di.RECORD, di.TOTAL: "0.00", di.ITEM_CODE: item["code"], di.DESCRIPTION: item["name"],
                    di.PRICE: price, di.ITEM_UPDATE: ITEM_UPDATE_METHOD})  # fmt: skip


def opening_record(item: dict[str, Any]) -> tuple[str, ...] | None:
    """An open invoice as a debtor (17) or creditor (43) opening balance of its open amount: Winbiz
    numbers it (``<NEW>``: its number field takes digits only), the invoice number is the reference
    (field 5), one line of quantity 1 at the open amount without VAT (the VAT was booked with the
    invoice in the old books). A foreign invoice has its currency and the amount as foreign total
    (fields 7 and 9); the local amount and rate are left to Winbiz. None for other kinds."""
    from migrator.readers.winbiz import documentimport as di

    kind = {"invoice": di.DEBTOR_OPENING, "bill": di.CREDITOR_OPENING}.get(item["kind"])
    if kind is None:
        return None
    amount = format_cents(item["open_amount"] if item["open_amount"] is not None else item["amount"] or 0)
    foreign = bool(item["currency"])
    day = item["date"].strftime("%d.%m.%Y") if item["date"] else ""
    return _record({
        di.NUMBER: di.NEW, di.TYPE: kind, di.DATE: day, di.REFERENCE: item["id"],
        di.TOTAL: "" if foreign else amount, di.CURRENCY: item["currency"], di.FOREIGN_TOTAL: amount if foreign else "",
        di.ADDRESS_CODE: item["partner"], di.LINE_NUMBER: "1", di.LINE_TYPE: "1", di.DESCRIPTION: item["description"],
        di.QUANTITY: "1", di.PRICE: amount, di.VAT_RATE: "0", di.VAT_INCLUDED: "2",
    })  # fmt: skip


def kept_partner(partner: dict[str, Any]) -> dict[str, Any]:
    """The partner as an address record carries it and the reader reads it back: code, names, street
    (with the building number), postcode, town and notes; every other column empty."""
    from migrator.partners import partner_kind
    from migrator.readers.winbiz import documentimport as di

    cells = [_plain(c) for c in address_record(partner)]

    def f(position: int) -> str:
        return cells[position - 1]

    first, last, company = f(di.FIRST_NAME), f(di.LAST_NAME), f(di.COMPANY)
    return {
        "id": f(di.ADDRESS_CODE), "kind": partner_kind(company, first, last),
        "name": company or " ".join(p for p in (first, last) if p), "first_name": first, "last_name": last,
        "street": f(di.STREET), "zip": f(di.POSTCODE), "city": f(di.TOWN), "notes": f(di.NOTES),
    }  # fmt: skip


def kept_item(item: dict[str, Any]) -> dict[str, Any]:
    """The item as an item record carries it: code, name and sale price."""
    return {"code": _plain(item["code"]), "name": _plain(item["name"]), "sale_price": item["sale_price"]}


def kept_open_item(item: dict[str, Any]) -> dict[str, Any]:
    """The open invoice as an opening balance carries it: number, partner, kind, date, currency, the
    open amount (as amount and open amount) and text."""
    amount = item["open_amount"] if item["open_amount"] is not None else item["amount"] or 0
    return {"id": _plain(item["id"]), "partner": _plain(item["partner"]), "kind": item["kind"], "date": item["date"],
            "currency": item["currency"], "amount": amount, "open_amount": amount,
            "description": _plain(item["description"])}  # fmt: skip


def write_document_import(ledger: Ledger, target: Path, notes: _Notes) -> list[Problem]:
    """The DocumentImport files of the partners, items and open items (each only where there are
    some), the README that tells how to import them, and what they do not carry."""
    from migrator import model
    from migrator.readers.winbiz import documentimport as di

    problems: list[Problem] = []
    partners, items = ledger.partners.to_pylist(), ledger.items.to_pylist()
    opens = [*ledger.open_items.to_pylist(), *_open_documents(ledger)]
    written: list[str] = []
    if partners:
        long = [p["id"] for p in partners if len(p["id"]) > di.ADDRESS_CODE_LENGTH]
        if long:
            notes.warn(N_("{count} address codes longer than {address_code_length} characters (field 20 holds {address_code_length}), first {long!r}: Winbiz may cut them").format(count=len(long), address_code_length=di.ADDRESS_CODE_LENGTH, long=long[0]), ADDRESSES)  # fmt: skip
        _write_csv(target / ADDRESSES, [address_record(p) for p in partners], notes, ADDRESSES)
        problems += _column_losses(N_("partner details"), partners, [kept_partner(p) for p in partners], "partners",
                                   ADDRESSES)  # fmt: skip
        written.append(ADDRESSES)
    if items:
        _write_csv(target / ARTICLES, [item_record(i) for i in items], notes, ARTICLES)
        problems += _column_losses(N_("items"), items, [kept_item(i) for i in items], "items", ARTICLES)
        written.append(ARTICLES)
    records = [(o, opening_record(o)) for o in opens]
    other = [o for o, r in records if r is None]
    problems += lost(N_("open items of another kind than invoice or bill"), len(other), N_("left out"))
    kept = [o for o, r in records if r is not None]
    if kept:
        _write_csv(target / OPENING, [r for _, r in records if r is not None], notes, OPENING)
        before = model.table("open_items", kept).to_pylist()
        problems += _column_losses(N_("open items"), before, [kept_open_item(o) for o in before], "open_items", OPENING)
        written.append(OPENING)
    if written:
        (target / README).write_text(_readme(written), "utf-8")
    else:  # entries and chart only: the short guide (migrator.guides), with Windows line ends as above
        guides.write("winbiz", target, newline="\r\n")
    problems += lost(
        N_("documents"), ledger.documents.num_rows, N_("only open invoices are written, as opening balances")
    )
    problems += lost(N_("document lines"), ledger.document_lines.num_rows, N_("left out"))
    return problems


def _open_documents(ledger: Ledger) -> list[dict[str, Any]]:
    """Invoices and bills of the documents table not fully paid and not among the open items, as open items."""
    listed = set(ledger.open_items.column("id").to_pylist())
    out = []
    for doc in ledger.documents.to_pylist():
        gross, paid = doc["gross"] or 0, doc["paid"] or 0
        if (
            doc["type"] in ("invoice", "bill")
            and gross != paid
            and doc["id"] not in listed
            and doc["status"] != "cancelled"
        ):
            out.append({"id": doc["id"], "partner": doc["partner"], "kind": doc["type"], "date": doc["date"],
                        "due_date": doc["due_date"], "currency": doc["currency"], "amount": gross,
                        "open_amount": gross - paid, "account": doc["account"], "description": doc["title"]})  # fmt: skip
    return out


def _column_losses(what: str, before: list[dict[str, Any]], kept: list[dict[str, Any]], table_name: str,
                   file: str) -> list[Problem]:  # fmt: skip
    """How many rows the file changes or leaves out, per column (`kept` holds what it carries)."""
    from migrator import model

    full = model.table(table_name, kept).to_pylist()
    return lost_columns(
        what, before, full, N_("{file} has no field for them, or holds them otherwise (README)").format(file=file)
    )


README_HEAD = N_("""Winbiz files written by migrator
================================

{entries} and {chart}: the entries (Tools > Import, export > EntriesImport; choose not to import the
first record, a header) and the chart of accounts.

The other files are DocumentImport files (Winbiz help center, article 115001603714): import each
with Tools > Import, export > DocumentImport, in this order:""")
README_STEPS = {
    ADDRESSES: N_("the addresses (type 00, code in field 20). Update method 1 (field 47): an address whose code "
                  "the dossier already has is left as it is, never overwritten; only new codes are added."),
    ARTICLES: N_("the articles (type 00, code in field 50, name, sale price). Update method 1 (field 74): new "
                 "articles are added, an article with the same code is updated."),
    OPENING: N_("the open invoices as opening balances: customer invoices as debtor opening balances (type 17), "
                "supplier invoices as creditor opening balances (type 43), each of its open amount, without "
                "VAT, numbered by Winbiz; the old invoice number is the reference. Import the addresses first: "
                "each balance names its address by code."),
}  # fmt: skip
README_END = N_("The files are ';'-separated, Windows-1252, without header; Winbiz takes them as they are.")


def _readme(written: list[str]) -> str:
    """The import guide, in the user's language (`i18n.guide`), with Windows line ends."""
    lines = guide(README_HEAD, entries=ENTRIES, chart=CHART).split("\n")
    for number, name in enumerate(written, start=1):
        lines += [guide(N_("{number}. {name}: {step}"), number=number, name=name, step=guide(README_STEPS[name]))]
    lines += ["", guide(README_END)]
    return "\r\n".join(lines) + "\r\n"


FORMAT = WinbizWriter
