"""SIE 1–4 (Sweden, SIE-gruppen): tagged text records, one per line, CP437 (``#FORMAT PC8``).

A record is a label (``#VER``) and fields separated by blanks or tabs: bare words, quoted strings
(``\\"`` and ``\\\\`` escape a quote and a backslash) and object lists in braces (``{1 "2" 6 "P1"}``,
pairs of dimension and object). Amounts use ``.``, debit positive, credit negative; dates yyyymmdd.
``#RAR 0`` is the current fiscal year, ``#RAR -1`` the one before. The reader follows what the
reference files in ``reference/sie`` do, including their quirks: tabs and runs of blanks, ``{ }``,
blank lines, a ``#VER`` closed by ``}`` without a body, text that is not CP437 although ``#FORMAT PC8``
says so: UTF-8 when it is valid UTF-8 (with a warning for U+FFFD letters), else ISO-8859-15 or
Windows-1252 when Swedish letters decode there and not in CP437 (`decode_sie`); an info problem says so.

What becomes of each record:

* ``#VER``/``#TRANS``: one entry per voucher (``entry`` "series number", ``doc`` series and number,
  ``journal`` the series); the object of dimension 1 (Kostnadsställe) is the line's cost centre,
  objects of other dimensions are kept in ``extras["lines"]``. ``#RTRANS`` (a later addition, always
  repeated by the ``#TRANS`` after it, SIE 4B §5) and ``#BTRANS`` (a removed transaction) are not
  booked; they are kept in ``extras["sie"]``.
* ``#IB`` of a year becomes that year's opening entry (``opening=True``, dated the first day of the
  ``#RAR`` year), so a file written from a ledger reads back to the same balances.
* A year with ``#IB``/``#UB``/``#RES`` but no voucher (SIE 1–3, and the previous year of most
  SIE 4 files) also gets one entry dated the last day of the year that books the year's movement:
  ``#UB − #IB`` for balance accounts and ``#RES`` for result accounts. Its text says it was
  computed from balances, so nothing in the file is dropped and every year closes at its ``#UB``.
* For a year with vouchers, ``#UB`` and ``#RES`` are checked against ``#IB`` plus the vouchers; a
  difference is a warning.
* ``#PSALDO``, ``#PBUDGET``, ``#OIB``, ``#OUB``, ``#SRU`` and other records the canonical ledger has no
  place for are kept row by row in ``extras["sie"]`` and counted in one info problem per label.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, FiscalYear, Ledger, Problem, conform, repeated_text, table
from migrator.money import format_cents
from migrator.parsing import ParseError, codec_name, detect_encoding, parse_cents, parse_date
from migrator.readers.base import ReadOptions, Rows, merge_accounts
from migrator.rowwise import collector_paused
from migrator.sources import Source

Field = str | list[str]

KTYP = {"T": "asset", "S": "liability", "K": "expense", "I": "income"}
"""#KTYP: tillgång, skuld (liabilities and equity alike), kostnad, intäkt (SIE 4B, #KTYP)."""

USED = {
    "#FLAGGA", "#FORMAT", "#SIETYP", "#PROGRAM", "#GEN", "#FNAMN", "#ORGNR", "#ADRESS", "#RAR", "#VALUTA",
    "#KONTO", "#KTYP", "#DIM", "#OBJEKT", "#IB", "#UB", "#RES", "#VER", "#TRANS",
}  # fmt: skip


def tokens(line: str, inner: bool = False) -> list[Field]:
    """The fields of one record line: words, unescaped quoted strings, and brace lists.

    A ``{`` inside a brace list starts a nested list, which SIE does not have: it is dropped (without
    recursion, so a line of a million braces costs one pass).

    >>> tokens('#TRANS 3010 {1 "2" 6 "a b"} -1.50 20240101 "say \\\\"hi\\\\""')
    ['#TRANS', '3010', ['1', '2', '6', 'a b'], '-1.50', '20240101', 'say "hi"']
    """
    if not inner and _SIMPLE_LINE.fullmatch(line):
        return _simple_tokens(line)
    out: list[Field] = []
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char in " \t\r\n":
            i += 1
        elif char == '"':
            text, i = _quoted(line, i + 1)
            out.append(text)
        elif char == "{":
            end = _closing_brace(line, i + 1)
            if not inner:
                out.append([t for t in tokens(line[i + 1 : end], inner=True) if isinstance(t, str)])
            i = end + 1
        else:
            end = _WORD.match(line, i).end()  # type: ignore[union-attr]  # matches at least one character
            out.append(line[i:end])
            i = end
    return out


_WORD = re.compile(r"[^ \t\r\n{]+")
# Most lines hold only words and quoted texts without backslashes, braces or inner quotes, apart by
# blanks, and brace lists of those: their fields are found with one regex (same fields as the loop).
_SIMPLE_ITEM = r'(?:[^ \t\r\n{}"\\]+|"[^"\\{}]*")'
_SIMPLE_FIELD = rf"(?:{_SIMPLE_ITEM}|\{{[ \t\r\n]*(?:{_SIMPLE_ITEM}(?:[ \t\r\n]+{_SIMPLE_ITEM})*)?[ \t\r\n]*\}})"
_SIMPLE_LINE = re.compile(rf"{_SIMPLE_FIELD}(?:[ \t\r\n]+{_SIMPLE_FIELD})*")
_SIMPLE_TOKEN = re.compile(r'"([^"]*)"|\{([^}]*)\}|([^ \t\r\n{}"]+)')
_SIMPLE_INNER = re.compile(r'"([^"]*)"|([^ \t\r\n"]+)')


def _simple_tokens(line: str) -> list[Field]:
    """`tokens` of a line `_SIMPLE_LINE` matches."""
    out: list[Field] = []
    for match in _SIMPLE_TOKEN.finditer(line):
        if match.lastindex == 2:
            out.append([m.group(m.lastindex or 0) for m in _SIMPLE_INNER.finditer(match.group(2))])
        else:
            out.append(match.group(match.lastindex or 0))
    return out


_ESCAPE = re.compile(r'\\(["\\])')


def _quoted(line: str, i: int) -> tuple[str, int]:
    """The text of a quoted string starting after its opening quote, and the index after it."""
    end = line.find('"', i)
    while end != -1:
        start = end
        while start > i and line[start - 1] == "\\":
            start -= 1
        if (end - start) % 2 == 0:  # an odd run of backslashes ends in one that escapes this quote
            return _ESCAPE.sub(r"\1", line[i:end]), end + 1
        end = line.find('"', end + 1)
    return _ESCAPE.sub(r"\1", line[i:]), len(line)  # unterminated: the rest of the line


def _closing_brace(line: str, i: int) -> int:
    quoted = False
    while i < len(line):
        char = line[i]
        if char == "\\" and quoted:
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "}" and not quoted:
            return i
        i += 1
    return len(line)


HEADER_CODECS = {"PC8": "cp437"}
"""#FORMAT values and their codecs: SIE 4B knows only PC8, the IBM PC 8-bit set (code page 437)."""
CANDIDATES = ("cp437", "iso8859-15", "cp1252")
"""Single-byte encodings SIE files are found in: PC8 as the spec says, and the Latin sets of Windows
programs that write ``#FORMAT PC8`` all the same."""
SWEDISH = "åäöÅÄÖ"
CODEC_NAMES = {"cp437": "CP437", "iso8859-15": "ISO-8859-15", "cp1252": "Windows-1252"}
_ASCII = bytes(range(0x80))
_FORMAT = re.compile(rb"^[ \t]*#FORMAT[ \t]+\"?([^\s\"]*)", re.MULTILINE)


@dataclass(frozen=True)
class Decoded:
    """A SIE file's text, the codec it was read with, and a note when that is not what its header says."""

    text: str
    encoding: str
    note: str = ""
    note_row: int | None = None


def decode_sie(data: bytes, encoding: str | None) -> Decoded:
    """Text of a SIE file: in the given encoding, else UTF-8 if it is valid UTF-8, else the single-byte
    encoding under which its letters read most plausibly (`plausibility`), CP437 (``#FORMAT PC8``) on a
    tie. UTF-16 (with or without a BOM: never SIE's, but what some editors save) is read as such. A
    choice that differs from the header's is explained in `Decoded.note`."""
    if encoding:
        return Decoded(data.decode(encoding), encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        return Decoded(data[3:].decode("utf-8"), "utf-8")
    guess = detect_encoding(data[: 1 << 16])[0]
    if guess.startswith("utf-16"):
        return Decoded(data.decode(guess).lstrip("\ufeff"), guess)
    header = _FORMAT.search(data[: 1 << 16])
    declared = header.group(1).decode("ascii", "replace").upper() if header else ""
    said = HEADER_CODECS.get(declared, "cp437")
    if declared in HEADER_CODECS:
        claim = N_("#FORMAT {declared} says CP437").format(declared=declared)
    else:
        claim = (
            N_("#FORMAT {declared!r} is no SIE format; SIE's PC8 is CP437").format(declared=declared)
            if header
            else N_("no #FORMAT: SIE's PC8 is CP437")
        )
    row = data.count(b"\n", 0, header.start()) + 1 if header else None
    if data.isascii():
        return Decoded(data.decode("ascii"), said)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return Decoded(text, "utf-8", N_("{claim}, but the file is valid UTF-8 with letters beyond ASCII: read as UTF-8").format(claim=claim),
                       row)  # fmt: skip
    high = data.translate(None, _ASCII)  # the bytes beyond ASCII only: few, so counting them is cheap
    counts = np.bincount(np.frombuffer(high, dtype=np.uint8), minlength=256).tolist()
    scores = {codec: score for codec in CANDIDATES if (score := plausibility(counts, codec)) is not None}
    best = max(scores, key=lambda codec: (scores[codec], codec == said))  # CP437 decodes every byte
    text = data.decode(best)
    if best == said:
        return Decoded(text, best)
    letters, before = (_swedish(counts, codec) for codec in (best, said))
    name = CODEC_NAMES[best]
    note = (N_("{claim}, but the text reads as {name}: {letters} letters {swedish} there, {before} under {codec_names}, where its letters would be symbols or control codes; read as {name}").format(claim=claim, name=name, letters=letters, swedish=', '.join(SWEDISH), before=before, codec_names=CODEC_NAMES[said]))  # fmt: skip
    return Decoded(text, best, note, row)


def _swedish(counts: list[int], codec: str) -> int:
    """How many of the letters åäöÅÄÖ the bytes counted in `counts` give in `codec`."""
    return sum(counts[b] for b in range(0x80, 0x100) if bytes([b]).decode(codec, errors="replace") in SWEDISH)


def plausibility(counts: list[int], codec: str) -> int | None:
    """How plausibly the bytes beyond ASCII read as text in `codec` (higher is better); `counts[b]` is how
    often byte `b` occurs.

    Swedish letters count most, other Latin letters count, punctuation and currency signs are neutral;
    Greek letters, box drawing and mathematical signs (what Latin letters become in CP437) count against,
    control codes (what CP437 letters become in ISO-8859) count most against. None if a byte has no
    character in `codec` (0x81 in Windows-1252, say): the file cannot be in it.
    """
    score = 0
    for byte in range(0x80, 0x100):
        count = counts[byte]
        if not count:
            continue
        try:
            char = bytes([byte]).decode(codec)
        except UnicodeDecodeError:
            return None
        category = unicodedata.category(char)
        if char in SWEDISH:
            score += 2 * count
        elif category.startswith("L") and unicodedata.name(char, "").startswith("LATIN"):
            score += count
        elif category in ("Cc", "Cn", "Co"):
            score -= 3 * count
        elif category.startswith("L") or category in ("So", "Sm"):
            score -= count
    return score


@dataclass
class _Voucher:
    row: int
    series: str
    number: str
    date: dt.date | None
    text: str
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _State:
    file: str
    company: dict[str, str] = field(default_factory=dict)
    years: dict[int, FiscalYear] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, dict[tuple[int, str], tuple[int, int]]] = field(
        default_factory=lambda: {"#IB": {}, "#UB": {}, "#RES": {}}
    )
    vouchers: list[_Voucher | _Block] = field(default_factory=list)
    plain: Any = None
    """The plain vouchers (`_Plain`), read column-wise."""
    extras: list[dict[str, Any]] = field(default_factory=list)
    object_lists: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, row: int | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(severity, message, self.file, row))  # type: ignore[arg-type]


class SieReader:
    name = "sie"
    extensions = (".se", ".si", ".sie")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = source.head(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"#FLAGGA") or head.startswith(b"#PROGRAM"):
            return 0.95
        return 0.6 if b"#SIETYP" in head and b"#FNAMN" in head else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        with collector_paused():
            return self._read(source, options)

    def _read(self, source: Source, options: ReadOptions) -> Ledger:
        data = source.read_bytes()
        if not data:
            raise SourceError(N_("the file is empty; expected SIE records (#FLAGGA, #SIETYP, #VER …)"), source.name)
        try:
            decoded = decode_sie(data, options.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(
                N_("cannot be decoded ({exc}); give the encoding with --encoding").format(exc=exc), source.name
            ) from None
        text, encoding = decoded.text, decoded.encoding
        state = _State(source.name)
        if decoded.note:
            state.problem(decoded.note_row, decoded.note, "info")
        _parse(text.split("\n"), state)  # not splitlines(): CP437 text may hold \x1c-\x1e
        if not state.company.get("#SIETYP") and not state.vouchers and not state.balances["#IB"]:
            raise SourceError(N_("no SIE records (#SIETYP, #VER, #IB) found: not a SIE file"), source.name)
        if "\ufffd" in text:
            state.problem(
                None,
                N_(
                    "{count} characters were already damaged (U+FFFD) in the file; names and texts are read as they are"
                ).format(count=text.count(chr(0xFFFD))),
                "warning",
            )
        rows = Rows(source.name)
        parts = _vouchers(state, rows)
        _balances(state, rows)
        if rows.rows:
            parts.append(table("lines", rows.rows))
        lines = _numbered(parts)
        accounts = table("accounts", ({"code": c, **a, "active": True} for c, a in state.accounts.items()))
        accounts, notes = merge_accounts(accounts, lines, source.name)
        extras: dict[str, pa.Table] = {}
        if state.extras:
            extras["sie"] = pa.Table.from_pylist(state.extras)
            state.problems += _extras_notes(state.extras, source.name)
        if state.object_lists:
            extras["lines"] = pa.Table.from_pylist(state.object_lists)
        company = Company(
            name=state.company.get("#FNAMN", ""),
            base_currency=state.company.get("#VALUTA", "") or "SEK",
            fiscal_years=tuple(state.years[i] for i in sorted(state.years)),
            vat_number=state.company.get("#ORGNR", ""),
            address=state.company.get("#ADRESS", ""),
            source_system=state.company.get("#PROGRAM", ""),
            source_version=f"SIE {state.company.get('#SIETYP', '')}".strip(),
        )
        return Ledger(
            company=company,
            accounts=accounts,
            lines=lines,
            problems=tuple(state.problems + rows.problems + notes),
            extras=extras,
            format=self.name,
            encoding=codec_name(encoding),
        )


@dataclass
class _Block:
    """A plain voucher (`_Plain`), read column-wise: its lines are `_Plain.lines` from `first` on."""

    row: int
    series: str
    number: str
    date: dt.date | None
    text: str
    first: int
    size: int


def _parse(lines: list[str], state: _State) -> None:
    plain = _plain_vouchers(lines)
    state.plain = plain
    voucher: _Voucher | None = None
    in_body = False
    at, size, first = 0, len(lines), 0
    while at < size:
        number, raw = at + 1, lines[at]
        at += 1
        if plain is not None and number - 1 in plain.starts:  # a plain voucher: #VER, {, #TRANS…, }
            k = plain.starts[number - 1]
            if voucher is not None:
                _close(voucher, state)
                voucher, in_body = None, False
            if in_body:  # a stray "{" before: the record loop warns at this voucher's "{" too
                state.problem(number + 1, N_("'{' without a #VER before it"), "warning")
            in_body = False
            count = int(plain.sizes[k])
            state.vouchers.append(_Block(int(plain.row[k]), plain.series[k], plain.number[k], plain.date[k],
                                         plain.text[k], first, count))  # fmt: skip
            first += count
            at = int(plain.ends[k])
            continue
        line = raw.strip()
        if not line:
            continue
        if line == "{":
            if voucher is None or in_body:
                state.problem(number, N_("'{' without a #VER before it"), "warning")
            in_body = True
            continue
        if line == "}":
            if voucher is None:
                state.problem(number, N_("'}' without a #VER before it"), "warning")
            else:
                _close(voucher, state)
            voucher, in_body = None, False
            continue
        fields = tokens(line)
        label = str(fields[0]).upper() if fields else ""
        if not label.startswith("#"):
            state.problem(number, N_("not a SIE record: {line!r}").format(line=line[:60]))
            continue
        args = fields[1:]
        if voucher is not None and not in_body and label != "#TRANS":
            _close(voucher, state)  # a #VER without a body
            voucher = None
        if label in ("#TRANS", "#RTRANS", "#BTRANS"):
            if voucher is None:
                state.problem(number, N_("{label} outside a voucher (#VER … {{ }}): not booked").format(label=label))
            elif label == "#TRANS":
                _trans(voucher, args, number, state)
            else:
                _extra(state, number, label, args)
            continue
        if voucher is not None:
            _close(voucher, state)
            voucher, in_body = None, False
        if label == "#VER":
            voucher = _ver(args, number, state)
        else:
            _record(label, args, number, state)
    if voucher is not None:
        state.problem(voucher.row, N_("the last voucher is not closed with '}'"), "warning")
        _close(voucher, state)


# A voucher written plainly (as migrator and most programs write one) is read column-wise: its
# #VER line, "{", one or more #TRANS lines and "}", with bare series, number and account, a plain
# amount, a valid yyyymmdd date, texts without backslashes, quotes or braces, and no objects but a
# cost centre (dimension 1). Every other line goes through the record loop.
_BARE = r"[\x21\x23-\x5b\x5d-\x7a\x7c\x7e]+"  # printable ASCII but blank, quote, backslash and braces
_PLAIN_TEXT = r'[^"\\{}]*'
_GAP = r"[ \t\r\n]+"
_PLAIN_VER = rf'^#VER{_GAP}(?P<series>{_BARE}){_GAP}(?P<number>{_BARE}){_GAP}(?P<date>[0-9]{{8}}){_GAP}"(?P<text>{_PLAIN_TEXT})"$'
_PLAIN_TRANS = (
    rf'^#TRANS{_GAP}(?P<account>{_BARE}){_GAP}\{{[ \t\r\n]*(?:1{_GAP}"(?P<centre>{_PLAIN_TEXT})"[ \t\r\n]*)?\}}{_GAP}'
    rf'(?P<amount>-?[0-9]{{1,16}}(?:\.[0-9]{{1,2}})?){_GAP}(?P<date>[0-9]{{8}}){_GAP}"(?P<text>{_PLAIN_TEXT})"$'
)


@dataclass
class _Plain:
    """The plainly written vouchers of a file (see `_PLAIN_VER`), found column-wise."""

    starts: dict[int, int]
    """Index of each plain voucher's #VER line → its number among them."""
    ends: np.ndarray
    """Index after each one's closing brace."""
    row: np.ndarray
    series: list[str]
    number: list[str]
    date: list[dt.date]
    text: list[str]
    sizes: np.ndarray
    lines: pa.Table
    """Their #TRANS lines, voucher after voucher: account, amount, date, description, cost_centre, source_row."""


def _plain_vouchers(lines: list[str]) -> _Plain | None:
    """The plain vouchers among `lines` (None when there are none)."""
    if len(lines) < 4:
        return None
    stripped = pc.utf8_trim_whitespace(pa.array(lines, pa.string()))
    ver = _matches(stripped, _PLAIN_VER)
    if not ver.any():
        return None
    trans = _matches(stripped, _PLAIN_TRANS)
    opening = _matches_text(stripped, "{")
    closing = _matches_text(stripped, "}")
    # dates: valid ones only (an invalid one is the record loop's problem to report)
    ver_at, trans_at = np.flatnonzero(ver), np.flatnonzero(trans)
    ver_parts = pc.extract_regex(stripped.take(pa.array(ver_at)), _PLAIN_VER)
    trans_parts = pc.extract_regex(stripped.take(pa.array(trans_at)), _PLAIN_TRANS)
    del stripped
    ver_fields = [pc.struct_field(ver_parts, n) for n in ("series", "number", "date", "text")]
    trans_fields = [pc.struct_field(trans_parts, n) for n in ("account", "centre", "amount", "date", "text")]
    ver_days, ver_ok = _plain_dates(ver_fields[2])
    trans_days, trans_ok = _plain_dates(trans_fields[3])
    ver[ver_at[~ver_ok]] = False
    trans[trans_at[~trans_ok]] = False
    # the index of the first line at or after each index that is no plain #TRANS line
    size = len(lines)
    not_trans = np.r_[np.flatnonzero(~trans), size]
    following = not_trans[np.searchsorted(not_trans, np.arange(size + 1))]
    starts: dict[int, int] = {}
    ends: list[int] = []
    for at in np.flatnonzero(ver[: size - 3]).tolist():
        if not opening[at + 1]:
            continue
        end = int(following[at + 2]) if at + 2 < size else size
        if end > at + 2 and end < size and closing[end]:
            starts[at] = len(ends)
            ends.append(end + 1)
    if not starts:
        return None
    begin = np.fromiter(starts, dtype=np.int64, count=len(starts))
    stop = np.array(ends, dtype=np.int64)
    sizes = stop - begin - 3
    total = int(sizes.sum())
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    line_index = np.repeat(begin + 2 - offsets, sizes) + np.arange(total)  # the #TRANS lines, in order
    where_trans = np.full(size, -1, dtype=np.int64)
    where_trans[trans_at] = np.arange(len(trans_at))
    picked = pa.array(where_trans[line_index])
    where_ver = np.full(size, -1, dtype=np.int64)
    where_ver[ver_at] = np.arange(len(ver_at))
    vers = pa.array(where_ver[begin])
    ver_day = ver_days.take(vers)
    ver_text = ver_fields[3].take(vers)
    owner = pa.array(np.repeat(np.arange(len(begin)), sizes))
    text = trans_fields[4].take(picked)
    amounts, undecided = columns.cents(trans_fields[2].take(picked), ".")
    if len(undecided):  # not expected for plain amounts: the record loop reads the file
        return None
    return _Plain(
        starts=starts,
        ends=stop,
        row=begin + 1,
        series=ver_fields[0].take(vers).to_pylist(),
        number=ver_fields[1].take(vers).to_pylist(),
        date=ver_day.to_pylist(),
        text=ver_text.to_pylist(),
        sizes=sizes,
        lines=pa.table(
            {
                "account": trans_fields[0].take(picked),
                "amount": amounts,
                "date": trans_days.take(picked),
                "description": pc.if_else(pc.equal(text, ""), ver_text.take(owner), text),
                "cost_centre": pc.fill_null(trans_fields[1].take(picked), ""),
                "source_row": pa.array(line_index + 1, pa.int64()),
            }
        ),
    )


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return np.array(
        pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(zero_copy_only=False), dtype=bool
    )


def _matches_text(values: pa.Array, text: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.equal(values, text), False).to_numpy(zero_copy_only=False), dtype=bool)


def _plain_dates(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The dates of yyyymmdd texts (`_ymd`, once per text), and which are valid."""
    encoded = pc.dictionary_encode(texts)
    days: list[dt.date | None] = []
    for text in encoded.dictionary.to_pylist():
        try:
            days.append(_ymd(text))
        except ParseError:
            days.append(None)
    found = pa.array(days, pa.date32()).take(encoded.indices)
    return found, ~np.asarray(pc.is_null(found).to_numpy(zero_copy_only=False), dtype=bool)


def _text(args: list[Field], index: int) -> str:
    value = args[index] if index < len(args) else ""
    return value if isinstance(value, str) else ""


@lru_cache(maxsize=4096)
def _ymd(text: str) -> dt.date | None:
    """`parse_date(text, "ymd")`, once per text (a `ParseError` is not kept: raised at each use)."""
    return parse_date(text, "ymd")


def _date(text: str, row: int, state: _State, what: str) -> dt.date | None:
    try:
        return _ymd(text) if text else None
    except ParseError as exc:
        state.problem(row, f"{what}: {exc}")
        return None


_PLAIN_AMOUNT = re.compile(r"(-?)([0-9]{1,16})(?:\.([0-9]{1,2}))?")


def _cents(text: str, row: int, state: _State, what: str) -> int | None:
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain:  # what parse_cents gives a plain amount (16 digits at most before the point)
        sign, whole, part = plain.groups()
        number = int(whole) * 100 + int((part or "").ljust(2, "0"))
        return -number if sign else number
    try:
        cents = parse_cents(text, ".")
    except ParseError as exc:
        state.problem(row, f"{what}: {exc}")
        return None
    if cents is None:
        state.problem(row, N_("{what}: the amount is missing").format(what=what))
    return cents


def _record(label: str, args: list[Field], row: int, state: _State) -> None:
    if label in ("#FNAMN", "#ORGNR", "#VALUTA", "#SIETYP", "#FORMAT", "#FLAGGA"):
        state.company[label] = _text(args, 0).strip()
    elif label == "#PROGRAM":
        state.company[label] = " ".join(a for a in args if isinstance(a, str)).strip()
    elif label == "#ADRESS":
        state.company[label] = ", ".join(a.strip() for a in args if isinstance(a, str) and a.strip())
    elif label == "#GEN":
        state.company[label] = _text(args, 0)
    elif label == "#RAR":
        _rar(args, row, state)
    elif label == "#KONTO":
        state.accounts.setdefault(_text(args, 0), {"name": "", "type": ""})["name"] = _text(args, 1).strip()
    elif label == "#KTYP":
        kind = KTYP.get(_text(args, 1).upper())
        if kind is None:
            state.problem(
                row,
                N_("#KTYP {text!r} is not T, S, K or I; the type is left empty").format(text=_text(args, 1)),
                "warning",
            )
        state.accounts.setdefault(_text(args, 0), {"name": "", "type": ""})["type"] = kind or ""
    elif label in ("#IB", "#UB", "#RES"):
        _balance(label, args, row, state)
    else:
        _extra(state, row, label, args)


def _rar(args: list[Field], row: int, state: _State) -> None:
    try:
        index = int(_text(args, 0))
    except ValueError:
        state.problem(row, N_("#RAR year number {text!r} is not a whole number").format(text=_text(args, 0)))
        return
    start = _date(_text(args, 1), row, state, "#RAR start")
    end = _date(_text(args, 2), row, state, "#RAR end")
    if start and end:
        state.years[index] = FiscalYear(start, end)
    else:
        state.problem(
            row, N_("#RAR {index} has no dates; the year is taken from the voucher dates").format(index=index), "info"
        )


def _balance(label: str, args: list[Field], row: int, state: _State) -> None:
    try:
        index = int(_text(args, 0))
    except ValueError:
        state.problem(
            row, N_("{label} year number {text!r} is not a whole number").format(label=label, text=_text(args, 0))
        )
        return
    account = _text(args, 1)
    cents = _cents(_text(args, 2), row, state, f"{label} {account}")
    if cents is None:
        return
    known = state.balances[label].get((index, account))
    if known is not None:
        state.problem(
            row,
            N_("{label} {index} {account} repeats the record of row {known}; the last one is used").format(
                label=label, index=index, account=account, known=known[1]
            ),
            "warning",
        )
    state.balances[label][(index, account)] = (cents, row)


def _ver(args: list[Field], row: int, state: _State) -> _Voucher:
    date = _date(_text(args, 2), row, state, "#VER date")
    return _Voucher(row, _text(args, 0).strip(), _text(args, 1).strip(), date, _text(args, 3))


def _trans(voucher: _Voucher, args: list[Field], row: int, state: _State) -> None:
    account = _text(args, 0)
    objects = args[1] if len(args) > 1 and isinstance(args[1], list) else []
    rest = args[2:] if len(args) > 1 and isinstance(args[1], list) else args[1:]
    cents = _cents(_text(rest, 0), row, state, f"#TRANS {account}")
    if cents is None:
        return
    date = _date(_text(rest, 1), row, state, "#TRANS date") or voucher.date
    pairs = dict(zip(objects[0::2], objects[1::2], strict=False))
    if any(dim != "1" for dim in pairs):
        state.object_lists.append({"source_row": row, "objects": " ".join(f"{d} {o!r}" for d, o in pairs.items())})
    voucher.lines.append(
        {
            "account": account,
            "amount": cents,
            "date": date,
            "description": _text(rest, 2) or voucher.text,
            "cost_centre": pairs.get("1", ""),
            "source_row": row,
        }
    )


def _close(voucher: _Voucher, state: _State) -> None:
    if not voucher.lines:
        state.problem(
            voucher.row,
            N_("voucher {series} {number} has no transactions").format(series=voucher.series, number=voucher.number),
            "info",
        )
        return
    state.vouchers.append(voucher)


def _extra(state: _State, row: int, label: str, args: list[Field]) -> None:
    text = " ".join(a if isinstance(a, str) else "{" + " ".join(a) + "}" for a in args)
    state.extras.append({"source_row": row, "record": label, "fields": text})


def _extras_notes(extras: list[dict[str, Any]], file: str) -> list[Problem]:
    counts: dict[str, int] = {}
    for row in extras:
        counts[row["record"]] = counts.get(row["record"], 0) + 1
    return [
        Problem(
            "info",
            N_("{label}: {n} records kept in extras only (the canonical ledger has no place for them)").format(
                label=label, n=n
            ),
            file,
        )
        for label, n in sorted(counts.items())
    ]


def _vouchers(state: _State, rows: Rows) -> list[pa.Table]:
    """The voucher lines in voucher order: a table per run of plain vouchers (their lines column-wise),
    the others' rows as before (a run of them becomes a table of its own)."""
    seen: set[str] = set()
    parts: list[pa.Table] = []
    plain: list[tuple[str, str, str, int, int]] = []  # entry, doc, journal, first line, size

    def flush_plain() -> None:
        if plain:
            parts.append(_plain_lines(state.plain, plain, rows.file))
            plain.clear()

    def flush_rows() -> None:
        if rows.rows:
            parts.append(table("lines", rows.rows))
            rows.rows = []

    for position, voucher in enumerate(state.vouchers, start=1):
        entry = f"{voucher.series} {voucher.number}".strip() or str(position)
        if entry in seen:
            entry = f"{entry} ({position})"
        seen.add(entry)
        if isinstance(voucher, _Block):
            flush_rows()
            plain.append((entry, f"{voucher.series}{voucher.number}", voucher.series, voucher.first, voucher.size))
            continue
        flush_plain()
        for line in voucher.lines:
            rows.add(entry=entry, doc=f"{voucher.series}{voucher.number}", journal=voucher.series, **line)
    flush_plain()
    flush_rows()
    return parts


def _plain_lines(found: _Plain, vouchers: list[tuple[str, str, str, int, int]], file: str) -> pa.Table:
    """The lines of consecutive plain vouchers, with their entry, voucher number and series."""
    sizes = np.array([v[4] for v in vouchers], dtype=np.int64)
    start, stop = vouchers[0][3], vouchers[-1][3] + vouchers[-1][4]
    owner = pa.array(np.repeat(np.arange(len(vouchers)), sizes))
    lines = found.lines.slice(start, stop - start)
    extra = {
        name: pa.array([v[k] for v in vouchers], pa.string()).take(owner)
        for k, name in enumerate(("entry", "doc", "journal"))
    }
    return conform("lines", {**{n: lines.column(n) for n in lines.column_names}, **extra,
                             "source_file": repeated_text(file, stop - start)})  # fmt: skip


def _numbered(parts: list[pa.Table]) -> pa.Table:
    """The lines of `parts`, each numbered by its place among its entry's lines (from 1)."""
    lines = pa.concat_tables([conform("lines", p) for p in parts]).combine_chunks() if parts else table("lines")
    codes = pc.dictionary_encode(lines.column("entry").combine_chunks()).indices.to_numpy(zero_copy_only=False)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
    number = np.empty(len(order), dtype=np.int32)
    number[order] = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
    return conform("lines", lines.drop_columns(["line"]).append_column("line", pa.array(number, pa.int32())))


def _balances(state: _State, rows: Rows) -> None:
    """Opening entries from #IB; a movement entry for years without vouchers; #UB checks for the rest."""
    indexes = sorted({i for table_ in state.balances.values() for i, _ in table_})
    booked = _voucher_years(state)
    for index in indexes:
        year = state.years.get(index)
        ib, ub, res = (_of_year(state.balances[k], index) for k in ("#IB", "#UB", "#RES"))
        if year is None:
            for cents, row in [*ib.values(), *ub.values(), *res.values()]:
                if cents:
                    state.problem(
                        row,
                        N_("no #RAR {index} gives the dates of this year; the balance is not booked").format(
                            index=index
                        ),
                    )
            continue
        opening = ib
        for account, (cents, row) in sorted(opening.items()):
            if cents:
                rows.add(
                    entry=f"IB {year.start.year}",
                    date=year.start,
                    account=account,
                    amount=cents,
                    description=f"Ingående balans {year.start.isoformat()} (#IB {index})",
                    opening=True,
                    source_row=row,
                )
        _unbooked_result(state, rows, index, year, opening)
        movements = _movements(opening, ub, res)
        if index in booked:
            _check_closing(state, index, movements)
            continue
        text = f"Årets förändring {year.start.year}: #UB − #IB och #RES (saldofil utan verifikationer)"
        for account, (cents, row) in sorted(movements.items()):
            if cents:
                rows.add(
                    entry=f"UB {year.start.year}",
                    date=year.end,
                    account=account,
                    amount=cents,
                    description=text,
                    source_row=row,
                )


def _of_year(records: dict[tuple[int, str], tuple[int, int]], index: int) -> dict[str, tuple[int, int]]:
    return {account: value for (i, account), value in records.items() if i == index}


def _movements(
    opening: dict[str, tuple[int, int]], ub: dict[str, tuple[int, int]], res: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    """Movement of the year per account: #RES for result accounts, #UB − #IB for the others.

    Where a year has #UB records, a balance account with #IB but no #UB closed at zero.
    """
    out: dict[str, tuple[int, int]] = dict(res)
    if not ub:
        return out
    for account in sorted(set(opening) | set(ub)):
        if account in res:
            continue
        start, row = opening.get(account, (0, 0))
        end, end_row = ub.get(account, (0, row))
        out[account] = (end - start, end_row or row)
    return out


# BAS kontoplan: 2099 "Årets resultat". SIE files carry #IB as the balance accounts stood, so where
# the previous year's result was not yet booked to equity the #IB do not sum to zero (the official
# Övningsbolaget files: the difference is #RES -1; BL Administration writes such files before the
# year-end closing, SIE 4B §#IB). #IB hold balance accounts only, so whatever makes them not sum to
# zero is equity the file does not show: results not yet closed to equity.
RESULT_ACCOUNT = "2099"
RESULT_NAME = "Årets resultat"


def _unbooked_result(
    state: _State, rows: Rows, index: int, year: FiscalYear, opening: dict[str, tuple[int, int]]
) -> None:
    """Book to 2099 the difference that keeps a year's #IB from summing to zero, with a warning."""
    total = sum(cents for cents, _ in opening.values())
    if not total:
        return
    previous = _of_year(state.balances["#RES"], index - 1)
    result = sum(c for c, _ in previous.values())
    first_row = min(row for _, row in opening.values())
    explained = bool(previous) and result == -total
    if explained:
        text = f"Föregående års resultat, ej bokat i #IB {index} (motsvarar #RES {index - 1})"
        why = N_("is the previous year's result (#RES {index}) not yet booked to equity").format(index=index - 1)
    else:
        text = f"Ej avslutat resultat, ej bokat i #IB {index} (skillnaden i #IB)"
        told = (
            N_("#RES {index} sum to {format_cents}").format(index=index - 1, format_cents=format_cents(result))
            if previous
            else N_("the file has no #RES {index}").format(index=index - 1)
        )
        why = N_(
            "is taken for results not yet closed to equity ({told}, so check it against the previous year's books)"
        ).format(told=told)
    if RESULT_ACCOUNT not in state.accounts:
        state.accounts[RESULT_ACCOUNT] = {"name": RESULT_NAME, "type": "equity"}
    rows.add(
        entry=f"IB {year.start.year}",
        date=year.start,
        account=RESULT_ACCOUNT,
        amount=-total,
        opening=True,
        description=text,
        source_row=first_row,
    )
    state.problem(
        first_row,
        N_(
            "the #IB of year {index} do not sum to zero: {format_cents} {why}; the opening entry books it to {result_account} (BAS: {result_name})"
        ).format(
            index=index,
            format_cents=format_cents(-total),
            why=why,
            result_account=RESULT_ACCOUNT,
            result_name=RESULT_NAME,
        ),
        "warning",
    )


def _voucher_years(state: _State) -> set[int]:
    found = set()
    for voucher in state.vouchers:
        for index, year in state.years.items():
            if voucher.date and year.contains(voucher.date):
                found.add(index)
    return found


def _booked(lines: pa.Table, year: FiscalYear) -> dict[str, int]:
    """Sum per account of the lines dated within `year` (exact: Python integers where int64 could overflow)."""
    dates = lines.column("date")
    inside = pc.and_(pc.greater_equal(dates, pa.scalar(year.start, pa.date32())),
                     pc.less_equal(dates, pa.scalar(year.end, pa.date32()))).fill_null(False)  # fmt: skip
    chosen = lines.filter(inside)
    amounts = chosen.column("amount").to_numpy()
    if float(np.abs(amounts.astype(np.float64)).sum()) < 2.0**62:  # float-ok: a bound, not money
        summed = chosen.group_by("account", use_threads=False).aggregate([("amount", "sum")])
        return dict(zip(summed.column("account").to_pylist(), summed.column("amount_sum").to_pylist(), strict=True))
    out: dict[str, int] = {}
    for account, cents in zip(chosen.column("account").to_pylist(), amounts.tolist(), strict=True):
        out[account] = out.get(account, 0) + cents
    return out


def _check_closing(state: _State, index: int, expected: dict[str, tuple[int, int]]) -> None:
    """Warn where #UB − #IB or #RES of a year differs from what its vouchers book."""
    year = state.years[index]
    booked: dict[str, int] = {}
    for voucher in state.vouchers:
        if isinstance(voucher, _Block):
            continue
        for line in voucher.lines:
            if line["date"] and year.contains(line["date"]):
                booked[line["account"]] = booked.get(line["account"], 0) + line["amount"]
    if state.plain is not None:  # the plain vouchers' lines, column-wise
        for account, cents in _booked(state.plain.lines, year).items():
            booked[account] = booked.get(account, 0) + cents
    for account, (cents, row) in sorted(expected.items()):
        got = booked.get(account, 0)
        if got != cents:
            state.problem(
                row,
                N_(
                    "account {account}: #UB/#RES of year {index} say a movement of {format_cents}, the vouchers book {format_cents_b}"
                ).format(
                    account=account, index=index, format_cents=format_cents(cents), format_cents_b=format_cents(got)
                ),
                "warning",
            )


FORMAT = SieReader
