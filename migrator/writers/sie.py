"""SIE 4E (Sweden): the whole ledger as one CP437 text file, ``#FORMAT PC8``, CRLF.

Layout (SIE 4B): identification records (``#ORGNR`` always, empty when the ledger has no number, as
the Specter sample ``SIE_exempelfil.se`` writes it; ``#KPTYP EUBAS97`` after the ``#RAR`` records, as
every reference file that has it writes it: FORMATS.md names neither the record nor its values, so
the value is the reference files', and every account carries its own ``#KTYP`` so no type depends
on it), ``#RAR`` per fiscal year (0 the last, -1 the one before,
…), ``#KONTO``/``#KTYP`` per account (T asset, S liability or equity, I income, K expense; accounts
without a type are typed by their code's first digit, 1 → T, 2 → S, 3 → I, others K),
``#DIM 1 "Kostnadsställe"`` and ``#OBJEKT 1`` per cost centre, then per year ``#IB`` (opening
balance), ``#UB`` (closing balance) of balance accounts and ``#RES`` (result) of result accounts,
computed from the ledger, then one ``#VER`` per entry with its ``#TRANS`` lines (account, ``{1
"cost centre"}``, amount, date, text).

Opening entries are not written as vouchers: they become the ``#IB`` of their year, and the reader
turns ``#IB`` back into one opening entry per year, so balances survive the round trip (the
opening entries' lines are merged per account). Vouchers are numbered 1, 2, … per series (the
journal, ``A`` where it is empty); the ledger's voucher number starts the ``#VER`` text.
Text is written exactly, formula-like text included: SIE is read by accounting programs, not
spreadsheets, so nothing is made inert.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import __version__ as version
from migrator import columns
from migrator.i18n import N_
from migrator.model import FiscalYear, Ledger, Problem, table, years_of
from migrator.money import format_cents
from migrator.rowwise import collector_paused
from migrator.writers.base import lost

CHART_TYPE = "EUBAS97"
"""``#KPTYP`` as the reference files write it (Övningsbolaget, BL0001, Mamut, Magenta)."""

ENCODING = "cp437"
KTYP = {"asset": "T", "liability": "S", "equity": "S", "income": "I", "expense": "K"}


class SieWriter:
    name = "sie"
    extension = ".se"
    output = "file"

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        out = _Out()
        with collector_paused():
            problems = _write(ledger, out, self.today or dt.date.today())
        out.save(target)
        return problems + out.problems()

    def as_kept(self, ledger: Ledger) -> Ledger:
        """the opening entries of each fiscal year merged into one opening entry per year (its #IB).

        The ledger as a SIE file keeps it: SIE holds opening balances only as ``#IB`` records, one per
        account and year, so every entry all of whose lines are opening lines and whose first line
        falls in a fiscal year is merged with the others of that year into one opening entry
        (``IB <year>``, dated the year's first day, as the reader books it) of the nonzero sums per
        account. Every other entry is kept as it is (opening entries outside the years, and opening
        lines in entries with other lines, are written as ordinary vouchers). Column-wise: sums with `reconcile.sums_by`.
        """
        return ledger.replace(lines=_kept_lines(ledger))


class _Out:
    """Lines of the file; counts texts CP437 cannot hold (written without accents, or as ``?``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blocks: list[bytes] = []
        """The vouchers, written after the lines: CP437 bytes, each line with its line break."""
        self.replaced = 0
        self.plain: dict[str, str] = {}  # texts and words written without a replacement, as written

    def add(self, *fields: str) -> None:
        self.lines.append(" ".join(fields))

    def text(self, value: str) -> str:
        """A quoted SIE string: ``"`` and ``\\`` escaped, line breaks as blanks, CP437 only."""
        key = '"' + value
        done = self.plain.get(key)
        if done is not None:
            return done
        done, clean = _quoted(value)
        if clean:
            self.plain[key] = done
        else:
            self.replaced += 1  # counted at each use
        return done

    def word(self, value: str) -> str:
        """A bare field (account numbers, series) where SIE allows one, else a quoted string."""
        done = self.plain.get(value)
        if done is None:
            if not _bare(value):
                return self.text(value)
            done = self.plain[value] = value
        return done

    def save(self, target: Path) -> None:
        """Write the lines, then the vouchers."""
        with target.open("wb") as handle:
            handle.write(("\r\n".join(self.lines) + "\r\n").encode(ENCODING))
            for block in self.blocks:
                handle.write(block)

    def problems(self) -> list[Problem]:
        return lost(N_("texts with characters outside CP437"), self.replaced, N_("written without accents or as '?'"))


def _bare(value: str) -> bool:
    return bool(value) and all(c.isascii() and (c.isalnum() or c in "-_.") for c in value)


def _quoted(value: str) -> tuple[str, bool]:
    """`_Out.text` of `value`, and whether CP437 holds it as it is."""
    value = " ".join(value.split())
    try:
        value.encode(ENCODING)
        clean = True
    except UnicodeEncodeError:
        value = "".join(_cp437(char) for char in value)
        clean = False
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', clean


def _word(value: str) -> tuple[str, bool]:
    """`_Out.word` of `value`, and whether it needed no replacement."""
    return (value, True) if _bare(value) else _quoted(value)


def _values(array: pa.Array) -> bytes:
    """The bytes of a binary array's values, end to end."""
    if not len(array):
        return b""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return array.buffers()[2].to_pybytes()[int(offsets[0]) : int(offsets[-1])]


def _kept_lines(ledger: Ledger) -> pa.Table:
    """The lines of `SieWriter.as_kept`."""
    from migrator.reconcile import sums_by

    lines = ledger.lines.combine_chunks()
    years = list(years_of(ledger))
    if not lines.num_rows or not years:
        return lines
    opening = lines.column("opening").fill_null(False).to_numpy(zero_copy_only=False)
    if not opening.any():
        return lines
    year = np.full(lines.num_rows, -1, dtype=np.int64)
    dates = lines.column("date")
    for index, span in enumerate(years):
        inside = pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                         pc.less_equal(dates, pa.scalar(span.end, pa.date32()))).fill_null(False)  # fmt: skip
        year[inside.to_numpy(zero_copy_only=False)] = index
    groups = ledger.entries()
    numbers = np.asarray(groups.numbers(), dtype=np.int64)
    first = np.asarray(groups.first_lines(), dtype=np.int64)
    whole = np.ones(len(first), dtype=bool)
    np.logical_and.at(whole, numbers, opening)
    entry_year = year[first][numbers]
    as_ib = whole[numbers] & (entry_year >= 0)  # the lines the writer writes as #IB, in their entry's year
    balances = pa.table({"year": pa.array(entry_year[as_ib]), "account": lines.column("account").filter(pa.array(as_ib)),
                         "amount": lines.column("amount").filter(pa.array(as_ib))})  # fmt: skip
    merged: list[dict[str, Any]] = []
    line_numbers: dict[int, int] = {}
    for (index, account), (cents,) in sorted(sums_by(balances, ["year", "account"], ["amount"]).items()):
        if cents:
            line_numbers[index] = line_numbers.get(index, 0) + 1
            span = years[index]
            merged.append({"entry": f"IB {span.start.year}", "line": line_numbers[index], "date": span.start,
                           "account": account, "amount": cents, "opening": True,
                           "description": f"Ingående balans {span.start.isoformat()}"})  # fmt: skip
    kept = lines.filter(pa.array(~as_ib))
    return pa.concat_tables([kept, table("lines", merged)]) if merged else kept


def _cp437(char: str) -> str:
    try:
        char.encode(ENCODING)
        return char
    except UnicodeEncodeError:
        plain = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
        return {"œ": "oe", "Œ": "OE", "€": "EUR", "’": "'"}.get(char, plain or "?")


def _amount(cents: int) -> str:
    return format_cents(cents)


@lru_cache(maxsize=4096)
def _day(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


LINE_COLUMNS = ("entry", "date", "opening", "journal", "doc", "description", "cost_centre", "account", "amount",
                "currency", "vat_code", "partner")  # fmt: skip
"""The columns of the lines the writer reads."""


def _write(ledger: Ledger, out: _Out, today: dt.date) -> list[Problem]:
    company = ledger.company
    years = list(years_of(ledger))
    index = {year: position - len(years) + 1 for position, year in enumerate(years)}
    out.add("#FLAGGA", "0")
    out.add("#PROGRAM", out.text("migrator"), out.text(version))
    out.add("#FORMAT", "PC8")
    out.add("#GEN", _day(today))
    out.add("#SIETYP", "4")
    out.add("#FNAMN", out.text(company.name))
    out.add("#ORGNR", out.text(company.vat_number))  # always there, empty when unknown (as SIE_exempelfil.se has it)
    if company.address:
        out.add("#ADRESS", out.text(""), out.text(company.address), out.text(""), out.text(""))
    for year in reversed(years):
        out.add("#RAR", str(index[year]), _day(year.start), _day(year.end))
    out.add("#KPTYP", CHART_TYPE)
    out.add("#VALUTA", company.base_currency or "SEK")
    types = _types(ledger)
    for row in ledger.accounts.select(["code", "name"]).to_pylist():
        out.add("#KONTO", out.word(row["code"]), out.text(row["name"]))
        out.add("#KTYP", out.word(row["code"]), types[row["code"]])
    centres = sorted(c for c in pc.unique(ledger.lines.column("cost_centre")).to_pylist() if c)
    if centres:
        out.add("#DIM", "1", out.text("Kostnadsställe"))
        for centre in centres:
            out.add("#OBJEKT", "1", out.word(centre), out.text(centre))
    lines = ledger.lines.select(list(LINE_COLUMNS)).combine_chunks()
    book = _Book(lines, years)
    _balances(out, lines, book, years, index, types)
    outside = _vouchers(out, lines, book)
    return _not_carried(ledger, lines, book, outside)


def _types(ledger: Ledger) -> dict[str, str]:
    types = {}
    for code, kind in zip(
        ledger.accounts.column("code").to_pylist(), ledger.accounts.column("type").to_pylist(), strict=True
    ):
        types[code] = KTYP.get(kind) or {"1": "T", "2": "S", "3": "I"}.get(code[:1], "K")
    for code in pc.unique(ledger.lines.column("account")).to_pylist():
        types.setdefault(code, {"1": "T", "2": "S", "3": "I"}.get(code[:1], "K"))
    return types


class _Book:
    """The lines grouped by entry (entries as they first appear, lines in table order) and what the
    writer needs of each entry, column-wise."""

    def __init__(self, lines: pa.Table, years: list[FiscalYear]) -> None:
        size = lines.num_rows
        encoded = pc.dictionary_encode(lines.column("entry").combine_chunks(), null_encoding="encode")
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.order = np.argsort(codes, kind="stable")
        ordered = codes[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if size else np.zeros(0, np.int64)
        self.sizes = np.diff(np.r_[self.starts, size]).astype(np.int64)
        self.entry = codes  # entry number of each line (numbered as they first appear)
        self.first = self.order[self.starts]  # table index of each entry's first line
        self.opening = _flags(lines.column("opening"))
        self.whole = np.logical_and.reduceat(self.opening[self.order], self.starts) if size else np.zeros(0, dtype=bool)
        self.year = _year_index(lines.column("date"), years)
        entry_year = self.year[self.first]
        self.as_ib = (entry_year >= 0) & self.whole  # entries written as #IB, in their first line's year
        self.ib_year = np.where(self.as_ib, entry_year, -1)


def _flags(column: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)


def _year_index(dates: Any, years: list[FiscalYear]) -> np.ndarray:
    """Index in `years` of the first year holding each date (as `_year_of`), -1 for none or no date."""
    out = np.full(len(dates), -1, dtype=np.int64)
    for position, span in enumerate(years):
        inside = _flags(pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                                pc.less_equal(dates, pa.scalar(span.end, pa.date32()))))  # fmt: skip
        out[inside & (out < 0)] = position
    return out


def _sums(accounts: pa.Array, amounts: np.ndarray) -> dict[str, int]:
    """Sum of the amounts per account, exact (Python integers where int64 could overflow)."""
    if not len(amounts):
        return {}
    if float(np.abs(amounts.astype(np.float64)).sum()) < 2.0**62:  # float-ok: a bound, not money
        grouped = pa.table({"account": accounts, "amount": pa.array(amounts, pa.int64())})
        summed = grouped.group_by("account", use_threads=False).aggregate([("amount", "sum")])
        return dict(zip(summed.column("account").to_pylist(), summed.column("amount_sum").to_pylist(), strict=True))
    out: dict[str, int] = {}
    for account, cents in zip(accounts.to_pylist(), amounts.tolist(), strict=True):
        out[account] = out.get(account, 0) + cents
    return out


def _balances(
    out: _Out,
    lines: pa.Table,
    book: _Book,
    years: list[FiscalYear],
    index: dict[FiscalYear, int],
    types: dict[str, str],
) -> None:
    """#IB of the opening entries of each year (`book.as_ib`), #UB and #RES from them and every other line."""
    accounts = lines.column("account").combine_chunks()
    amounts = lines.column("amount").fill_null(0).to_numpy(zero_copy_only=False)
    ib = book.as_ib[book.entry]
    ib_year = book.ib_year[book.entry]
    for position in reversed(range(len(years))):
        year = years[position]
        taken = ib & (ib_year == position)
        opening = _sums(accounts.filter(pa.array(taken)), amounts[taken])
        moved = ~ib & (book.year == position)
        movement = _sums(accounts.filter(pa.array(moved)), amounts[moved])
        codes = sorted(set(opening) | set(movement))
        for code in codes:
            if opening.get(code):
                out.add("#IB", str(index[year]), out.word(code), _amount(opening[code]))
        for code in codes:
            if types.get(code) in ("T", "S"):
                out.add("#UB", str(index[year]), out.word(code), _amount(opening.get(code, 0) + movement.get(code, 0)))
        for code in codes:
            if types.get(code) in ("I", "K"):
                out.add("#RES", str(index[year]), out.word(code), _amount(opening.get(code, 0) + movement.get(code, 0)))


def _one(column: Any) -> Any:
    """A chunked array as one array."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _distinct(column: Any) -> tuple[list[Any], pa.Array]:
    encoded = pc.dictionary_encode(_one(column), null_encoding="encode")
    return encoded.dictionary.to_pylist(), encoded.indices


def _mapped(out: _Out, column: Any, how: str) -> pa.Array:
    """`out.text` (or `out.word`) of every value as bytes of the file (CP437), each use counted."""
    column = _one(column)
    fast = None
    if how == "text" and len(column) > 1024:  # texts CP437 holds as they are, column-wise
        quoted = pc.binary_join_element_wise(
            '"', pc.replace_substring(pc.replace_substring(columns.one_line(column), "\\", "\\\\"), '"', '\\"'), '"', ""
        )  # fmt: skip
        fast = np.asarray(pc.match_substring_regex(quoted, _CP437_TEXT).to_numpy(zero_copy_only=False), dtype=bool)
        if fast.all():
            return _cp437_bytes(quoted)
    rest = column if fast is None else column.filter(pa.array(~fast))
    values, indices = _distinct(rest)
    done = []
    unclean = np.zeros(len(values), dtype=bool)
    for k, value in enumerate(values):
        text, clean = (_word if how == "word" else _quoted)(value)
        done.append(text.encode(ENCODING))
        unclean[k] = not clean
    if unclean.any():
        out.replaced += int(np.count_nonzero(unclean[indices.to_numpy(zero_copy_only=False)]))
    slow = pa.array(done, pa.binary()).take(indices)
    if fast is None or not fast.any():
        return slow
    spread = pa.array(np.maximum(np.cumsum(fast) - 1, 0))  # each fast value in its place (the others replaced)
    return pc.replace_with_mask(_cp437_bytes(quoted.filter(pa.array(fast))).take(spread), pa.array(~fast), slow)


def _cp437_table() -> tuple[str, np.ndarray]:
    """A regex class of the characters below U+0800 CP437 holds, and each one's CP437 byte by code point."""
    byte_of = np.zeros(0x800, dtype=np.uint8)
    chars = []
    for byte in range(0x80, 0x100):
        char = bytes([byte]).decode(ENCODING)
        if ord(char) < 0x800:
            byte_of[ord(char)] = byte
            chars.append(f"\\x{{{ord(char):04x}}}")
    return "^[\\x{00}-\\x{7f}" + "".join(chars) + "]*$", byte_of


_CP437_TEXT, _CP437_BYTE = _cp437_table()


def _cp437_bytes(texts: pa.Array) -> pa.Array:
    """CP437 bytes of texts whose every character CP437 holds and lies below U+0800 (one or two UTF-8
    bytes: a two-byte character becomes its one CP437 byte)."""
    texts = _one(texts)
    if not len(texts):
        return pa.array([], pa.binary())
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4)
    data = texts.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    raw = raw[int(offsets[0]) : int(offsets[-1])]
    offsets = offsets - offsets[0]
    leads = np.flatnonzero(raw >= 0xC0)
    if not len(leads):
        return texts.cast(pa.binary())
    out = raw.copy()
    out[leads] = _CP437_BYTE[((raw[leads].astype(np.int64) & 0x1F) << 6) | (raw[leads + 1] & 0x3F)]
    keep = np.ones(len(raw), dtype=bool)
    keep[leads + 1] = False
    dropped = np.r_[0, np.cumsum(~keep)]
    new_offsets = (offsets - dropped[offsets]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(texts), [None, pa.py_buffer(new_offsets), pa.py_buffer(out[keep].tobytes())]
    )


def _days(column: Any) -> pa.Array:
    """`_day` of every date, ``""`` where there is none."""
    values, indices = _distinct(column)
    return pa.array([_day(v) if v else "" for v in values], pa.string()).take(indices)


def _vouchers(out: _Out, lines: pa.Table, book: _Book) -> int:
    """Write every entry but those written as #IB; return how many opening entries fell outside the years."""
    written = np.flatnonzero(~book.as_ib)
    outside = int(np.count_nonzero(book.whole[written]))
    if not len(written):
        return outside
    journal = lines.column("journal").take(pa.array(book.first[written])).fill_null("")
    series = pc.if_else(pc.equal(journal, ""), "A", journal)
    # vouchers numbered 1, 2, … per series, in entry order
    series_codes = pc.dictionary_encode(_one(series)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
    by_series = np.argsort(series_codes, kind="stable")
    ranked = series_codes[by_series]
    run = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ordinal = np.empty(len(written), dtype=np.int64)
    ordinal[by_series] = np.arange(len(written)) - np.repeat(run, np.diff(np.r_[run, len(written)])) + 1
    for start in range(0, len(written), ENTRIES_AT_ONCE):  # a batch at a time: bounded memory
        part = slice(start, start + ENTRIES_AT_ONCE)
        _voucher_batch(out, lines, book, written[part], ordinal[part])
    return outside


ENTRIES_AT_ONCE = 32_768
"""Vouchers turned into text at a time."""


def _voucher_batch(out: _Out, lines: pa.Table, book: _Book, written: np.ndarray, ordinal: np.ndarray) -> None:
    """The #VER blocks of the entries `written` (numbered `ordinal` in their series), as CP437 bytes."""
    first = lines.take(pa.array(book.first[written])).combine_chunks()
    journal = first.column("journal").fill_null("")
    series = pc.if_else(pc.equal(journal, ""), "A", journal)
    date = _days(first.column("date"))
    doc = first.column("doc").fill_null("")
    description = first.column("description").fill_null("")
    joined = columns.strip(pc.binary_join_element_wise(doc, description, " "))
    text = pc.if_else(pc.equal(doc, ""), description, joined)
    ver = pc.binary_join_element_wise(
        b"#VER", _mapped(out, series, "word"), pa.array(ordinal.astype(str).tolist(), pa.string()).cast(pa.binary()),
        date.cast(pa.binary()), _mapped(out, text, "text"), b" ",
    )  # fmt: skip
    # the lines of the written entries, entry by entry
    sizes = book.sizes[written]
    taken = _spans(book.starts[written], sizes, book.order)
    trans_lines = lines.take(pa.array(taken)).combine_chunks()
    centre = trans_lines.column("cost_centre").fill_null("")
    centre_text = _mapped(out, centre, "text")
    objects = pc.if_else(
        pc.equal(centre, ""), pa.scalar(b"{}", pa.binary()),
        pc.binary_join_element_wise(b"{1 ", centre_text, b"}", b""),
    )  # fmt: skip
    own_day = _days(trans_lines.column("date"))
    entry_day = date.take(pa.array(np.repeat(np.arange(len(written)), sizes)))
    day = pc.if_else(pc.equal(own_day, ""), entry_day, own_day)
    amounts = trans_lines.column("amount").fill_null(0).combine_chunks()
    trans = pc.binary_join_element_wise(
        b"\t#TRANS", _mapped(out, trans_lines.column("account"), "word"), objects,
        columns.cents_text(amounts).cast(pa.binary()), day.cast(pa.binary()),
        _mapped(out, trans_lines.column("description").fill_null(""), "text"), b" ",
    )  # fmt: skip
    # each entry: #VER, "{", its #TRANS lines, "}"
    block = sizes + 3
    begin = np.r_[0, np.cumsum(block)[:-1]]
    total = int(block.sum())
    pick = np.empty(total, dtype=np.int64)
    count, lines_count = len(written), len(taken)
    pick[begin] = np.arange(count)
    pick[begin + 1] = count + lines_count  # "{"
    pick[begin + 2 + sizes] = count + lines_count + 1  # "}"
    inside = np.ones(total, dtype=bool)
    inside[begin] = inside[begin + 1] = inside[begin + 2 + sizes] = False
    pick[inside] = count + np.arange(lines_count)
    everything = pa.concat_arrays([_one(ver), _one(trans), pa.array([b"{", b"}"], pa.binary())]).take(pa.array(pick))
    out.blocks.append(_values(pc.binary_join_element_wise(everything, b"", b"\r\n")))


def _spans(starts: np.ndarray, sizes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`order[start:start + size]` of every span, end to end."""
    total = int(sizes.sum())
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    return order[np.repeat(starts - offsets, sizes) + np.arange(total)]


def _not_carried(ledger: Ledger, lines: pa.Table, book: _Book, outside: int) -> list[Problem]:
    def filled(name: str) -> np.ndarray:
        return _flags(pc.not_equal(lines.column(name).fill_null(""), ""))

    mixed = int(np.count_nonzero(book.opening & ~book.whole[book.entry]))
    foreign = int(np.count_nonzero(filled("currency")))
    tagged = int(np.count_nonzero(filled("vat_code")))
    partners = int(np.count_nonzero(filled("partner")))
    problems = lost(N_("VAT codes on lines"), tagged, N_("amounts kept, codes left out (SIE has no VAT code field)"))
    problems += lost(
        N_("foreign amounts of lines"), foreign, N_("base-currency amounts kept, currency and rate left out")
    )
    problems += lost(N_("partner references on lines"), partners, N_("left out"))
    problems += lost(
        N_("partners"), ledger.partners.num_rows, N_("left out (SIE 4 has no customer or supplier register)")
    )
    problems += lost(N_("open items"), ledger.open_items.num_rows, N_("left out"))
    problems += lost(N_("VAT codes"), ledger.vat_codes.num_rows, N_("left out"))
    problems += lost(N_("groups (account headings)"), ledger.groups.num_rows, N_("left out"))
    name = ledger.company.name
    problems += lost(N_("company name"), int(" ".join(name.split()).encode(ENCODING, "replace").decode(ENCODING) != name),
                     N_("written in #FNAMN without the characters CP437 lacks (accents dropped, others as '?')"))  # fmt: skip
    problems += lost(N_("opening entries outside the fiscal years"), outside, N_("written as ordinary vouchers"))
    problems += lost(N_("opening-entry flags of lines in entries with other lines"), mixed,
                     N_("written as ordinary voucher lines (#IB holds whole opening entries only)"))  # fmt: skip
    with_doc = filled("doc") & ~book.opening
    problems += lost(
        N_("voucher numbers"),
        len(np.unique(book.entry[with_doc])),
        N_("vouchers numbered per series; the number starts the text"),
    )
    equity = pc.sum(pc.equal(ledger.accounts.column("type"), "equity")).as_py() or 0
    problems += lost(
        N_("equity account types"), equity, N_("written as #KTYP S (SIE has one type for debts and equity)")
    )
    return problems


FORMAT = SieWriter
