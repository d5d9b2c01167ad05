"""Amounts, dates and text encodings as accounting programs write them; shared by every reader.

A column's conventions (decimal mark, date layout) are decided once per file from all its values,
never guessed row by row: ``1.234`` alone is ambiguous, but not in a column that also holds
``1.234,50``. Parsers return exact values (`Decimal` or int cents) or raise `ParseError` with a
message a user can act on; readers turn those into `Problem`s with file and row.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from migrator.i18n import N_
from migrator.money import MAX_CENTS as MAX_CENTS
from migrator.money import NotCents, format_cents, to_cents


class ParseError(ValueError):
    """A value that cannot be read as what its column holds."""


# --------------------------------------------------------------------------------------------- amounts

# Thousands separators seen in Swiss and European exports: apostrophe, right single quote (U+2019),
# space, no-break space, thin space, narrow no-break space, and U+FFFD where a bad re-encoding
# destroyed one of those (seen in the bexio reference export).
_GROUPING = "'’ \u00a0\u2009\u202f\ufffd"
_GROUPING_RE = re.compile(f"[{_GROUPING}]")
_NUMBER_RE = re.compile(r"^\d[\d.,]*$|^[.,]\d+$")


@dataclass(frozen=True)
class _Shape:
    negative: bool
    digits: str  # digits with only '.' and ',' left


def _shape(text: str) -> _Shape | None:
    """Sign and bare number of `text`, or None when empty."""
    s = text.strip()
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-"):
        negative, s = not negative, s[:-1].strip()
    if s[:1] in ("+", "-"):
        negative, s = (s[0] == "-") != negative, s[1:].strip()
    s = _GROUPING_RE.sub("", s)
    if not _NUMBER_RE.match(s):
        raise ParseError(N_("not an amount: {text!r}").format(text=text))
    return _Shape(negative, s)


def decimal_mark_evidence(text: str) -> str | None:
    """The decimal mark that `text` proves, or None when it is ambiguous or has none.

    >>> decimal_mark_evidence("1.234,50"), decimal_mark_evidence("1,5"), decimal_mark_evidence("1.234")
    (',', ',', None)
    """
    try:
        shape = _shape(text)
    except ParseError:
        return None
    if shape is None:
        return None
    s = shape.digits
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        return "." if s.rfind(".") > s.rfind(",") else ","
    for mark, other in ((".", ","), (",", ".")):
        count = s.count(mark)
        if count > 1:
            return other  # repeated: a thousands separator
        if count == 1 and len(s) - s.rfind(mark) - 1 != 3:
            return mark
    return None


def decide_decimal_mark(values: Iterable[str], default: str = ".") -> str:
    """The decimal mark of a column: what its unambiguous values show, else `default`."""
    votes = {".": 0, ",": 0}
    for value in values:
        mark = decimal_mark_evidence(value)
        if mark:
            votes[mark] += 1
    if votes["."] == votes[","]:
        return default
    return "." if votes["."] > votes[","] else ","


def parse_decimal(text: str, decimal_mark: str = ".") -> Decimal | None:
    """Exact value of `text` written with `decimal_mark`; None for an empty cell.

    >>> parse_decimal("1'234.50-"), parse_decimal("(1 234,50)", ","), parse_decimal("")
    (Decimal('-1234.50'), Decimal('-1234.50'), None)
    """
    shape = _shape(text)
    if shape is None:
        return None
    grouping = "," if decimal_mark == "." else "."
    s = shape.digits
    if s.count(decimal_mark) > 1:
        raise ParseError(
            N_("not an amount: {text!r} (more than one decimal mark {decimal_mark!r})").format(
                text=text, decimal_mark=decimal_mark
            )
        )
    if grouping in s:
        head = s.split(decimal_mark)[0]
        groups = head.split(grouping)
        if any(len(g) != 3 for g in groups[1:]) or not groups[0]:
            raise ParseError(
                N_("not an amount: {text!r} (misplaced {grouping!r})").format(text=text, grouping=grouping)
            )
        s = s.replace(grouping, "")
    s = s.replace(decimal_mark, ".")
    value = Decimal(s)
    return -value if shape.negative else value


def parse_cents(text: str, decimal_mark: str = ".") -> int | None:
    """Exact cents of `text`; None for an empty cell. Raises `ParseError` past two decimals."""
    value = parse_decimal(text, decimal_mark)
    if value is None:
        return None
    return exact_cents(value, text)


def exact_cents(value: Decimal, text: object = None) -> int:
    """Cents of `value`; `ParseError` (quoting `text`, else the value) past two decimals or `MAX_CENTS`."""
    shown = repr(text) if text is not None else str(value)
    try:
        cents = to_cents(value)
    except NotCents as exc:
        raise ParseError(f"{shown}: {exc}") from None
    if abs(cents) > MAX_CENTS:
        raise ParseError(N_("{shown}: too large for an amount (the largest is ±{format_cents}, 16 digits before the decimal mark)").format(shown=shown, format_cents=format_cents(MAX_CENTS)))  # fmt: skip
    return cents


def cell_cents(value: object, column: AmountColumn) -> int | None:
    """Exact cents of a spreadsheet cell: a number as Excel shows it (`excel_number`), text through `column`."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):  # float-ok: an Excel cell
        try:
            number = excel_number(value)
        except (ValueError, ArithmeticError):
            raise ParseError(N_("not an amount: {value!r}").format(value=value)) from None
        return exact_cents(number, value)
    if isinstance(value, dt.datetime | dt.date):
        raise ParseError(N_("a date where an amount was expected: {value}").format(value=value))
    return column.cents("" if value is None else str(value).strip())


class AmountColumn:
    """Parse a whole column with one decimal mark decided from all its values.

    >>> AmountColumn(["1.234", "1.234,50"]).cents("1.234")
    123400
    """

    def __init__(self, values: Sequence[str], default_mark: str = ".") -> None:
        self.decimal_mark = decide_decimal_mark(values, default_mark)

    def cents(self, text: str) -> int | None:
        return parse_cents(text, self.decimal_mark)

    def decimal(self, text: str) -> Decimal | None:
        return parse_decimal(text, self.decimal_mark)


def parse_rate(text: str) -> str:
    """Normalised decimal text of a rate or percentage (``"8.10%"`` → ``"8.1"``); ``""`` if empty."""
    s = text.strip().rstrip("%").strip()
    if not s:
        return ""
    value = parse_decimal(s, "," if "," in s and "." not in s else ".")
    if value is None:
        return ""
    if value.adjusted() > 20 or len(value.as_tuple().digits) > 27:  # beyond Decimal's exact 28 digits
        raise ParseError(N_("not a rate: {text!r} (too many digits)").format(text=text))
    return decimal_text(value)


def decimal_text(value: Decimal) -> str:
    """Shortest exact text of `value`: ``Decimal("8.10")`` → ``"8.1"``, ``Decimal("0E-7")`` → ``"0"``."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


# ----------------------------------------------------------------------------------------------- dates

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's phantom 1900-02-29

_DATE_LAYOUTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iso", re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+Z?)?$")),
    ("dmy", re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")),
    ("dmy2", re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2})$")),
    ("dmy/", re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")),
    ("ymd", re.compile(r"^(\d{4})(\d{2})(\d{2})$")),
    ("serial", re.compile(r"^(\d{4,5})(?:\.0+)?$")),
)


def _build(layout: str, match: re.Match[str]) -> dt.date:
    g = match.groups()
    if layout in ("iso", "ymd"):
        return dt.date(int(g[0]), int(g[1]), int(g[2]))
    if layout == "serial":
        return EXCEL_EPOCH + dt.timedelta(days=int(g[0]))
    year = int(g[2])
    if layout == "dmy2":
        year += 2000 if year < 70 else 1900
    return dt.date(year, int(g[1]), int(g[0]))


def parse_date(text: str, layout: str | None = None) -> dt.date | None:
    """The date in `text` (None if empty), in `layout` or the first layout that fits.

    >>> parse_date("3.1.2024"), parse_date("20240103"), parse_date("45294")
    (datetime.date(2024, 1, 3), datetime.date(2024, 1, 3), datetime.date(2024, 1, 3))
    """
    s = text.strip()
    if not s:
        return None
    layouts = [(n, r) for n, r in _DATE_LAYOUTS if layout in (None, n)]
    for name, pattern in layouts:
        match = pattern.match(s)
        if match:
            try:
                return _build(name, match)
            except (ValueError, OverflowError):
                raise ParseError(N_("not a valid date: {text!r}").format(text=text)) from None
    expected = layout or N_("a date (yyyy-mm-dd, dd.mm.yyyy, dd.mm.yy, yyyymmdd)")
    raise ParseError(N_("not a date: {text!r} (expected {expected})").format(text=text, expected=expected))


def decide_date_layout(values: Iterable[str]) -> str | None:
    """The one layout that reads the most values of a column (ties: the order of `_DATE_LAYOUTS`)."""
    scores = {name: 0 for name, _ in _DATE_LAYOUTS}
    for value in values:
        s = value.strip()
        for name, pattern in _DATE_LAYOUTS:
            match = pattern.match(s)
            if match:
                try:
                    _build(name, match)
                except (ValueError, OverflowError):
                    continue
                scores[name] += 1
    best = max(scores.values())
    if best == 0:
        return None
    return next(name for name, score in scores.items() if score == best)


class DateColumn:
    """Parse a whole column in the one layout that fits it.

    >>> DateColumn(["01.02.24", "31.12.23"]).date("01.02.24")
    datetime.date(2024, 2, 1)
    """

    def __init__(self, values: Sequence[str], layout: str | None = None) -> None:
        self.layout = layout or decide_date_layout(values)

    def date(self, text: str) -> dt.date | None:
        return parse_date(text, self.layout)


def strict_dates(text: Any, layout: str) -> Any:
    """Dates (date32) of a text column in one strptime `layout`, null where a value is not a real
    date: Arrow's strptime rolls ``2024-02-30`` over to 2024-03-01, so a date counts only if it is
    written back exactly as it was read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parsed = pc.strptime(text, layout, "s", error_is_null=True)
    real = pc.equal(pc.strftime(parsed, format=layout), text)
    return pc.if_else(real, pc.cast(parsed, pa.date32()), pa.scalar(None, pa.date32()))


def cents_of(texts: Sequence[str]) -> list[int | None]:
    """Cents of each text, the decimal mark decided from all of them; None where one does not parse."""
    column = AmountColumn(texts)
    return [_or_none(column.cents, text) for text in texts]


def dates_of(texts: Sequence[str]) -> list[dt.date | None]:
    """The date in each text, in the one layout that fits them; None where one does not parse."""
    column = DateColumn(texts)
    return [_or_none(column.date, text) for text in texts]


def _or_none(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ParseError:
        return None


def excel_number(value: int | float | str | Decimal) -> Decimal:  # float-ok: Excel cells arrive as floats
    """The number an Excel cell shows, exactly: Excel keeps 15 significant digits, so the float's
    15-digit text is the value the user typed (``0.1 + 0.2`` stored as 0.30000000000000004 → 0.3).

    >>> excel_number(1234.56), excel_number(3)
    (Decimal('1234.56'), Decimal('3'))
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        parsed = parse_decimal(value)
        if parsed is None:
            raise ParseError(N_("empty cell where a number was expected"))
        return parsed
    return Decimal(format(value, ".15g"))


def excel_serial_to_date(serial: float | int) -> dt.date:  # float-ok: Excel stores day numbers as floats
    """The date of an Excel day number (1900 system)."""
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def workbook_rows(path: Path, name: str = "", limit: int | None = None) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """(title, rows) of every sheet of the xlsx at `path`, at most `limit` rows each (cell values).

    The archive is checked first (`sources.check_workbook`: parts, links, sizes and ratio within
    `migrator.limits`, XML that declares entities). A broken workbook raises `SourceError`: openpyxl
    raises whatever its zip and XML layers meet (BadZipFile, KeyError, zlib.error, XML syntax errors…),
    so any exception from it means the file cannot be read.
    """
    import openpyxl

    from migrator import sources
    from migrator.errors import SourceError

    label = name or str(path)
    sources.check_workbook(path, label)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except SourceError:
        raise
    except Exception as exc:  # openpyxl: any error means unreadable (docstring)
        raise SourceError(
            N_("not a readable Excel workbook ({name}: {exc})").format(name=type(exc).__name__, exc=exc), label
        ) from None
    try:
        out = []
        for sheet in book.worksheets:
            rows: list[tuple[Any, ...]] = []
            for row in sheet.iter_rows(values_only=True):
                if limit is not None and len(rows) >= limit:
                    break
                rows.append(tuple(row))
            out.append((sheet.title, rows))
        return out
    except Exception as exc:  # openpyxl: any error means unreadable (docstring)
        raise SourceError(
            N_("not a readable Excel workbook ({name}: {exc})").format(name=type(exc).__name__, exc=exc), label
        ) from None
    finally:
        book.close()


# ------------------------------------------------------------------------------------------- encodings

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# chardet names → the codec migrator reads with. chardet often says ISO-8859-1 for Windows-1252
# text; Windows-1252 is a superset for every printable character, so prefer it.
_PREFERRED = {"ascii": "utf-8", "iso-8859-1": "cp1252", "windows-1252": "cp1252", "latin-1": "cp1252"}


def detect_encoding(data: bytes) -> tuple[str, float]:
    """Encoding of `data` and a confidence: BOM, then strict UTF-8, then chardet, then cp1252."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, 1.0
    sample = data[: 1 << 20]
    if _looks_utf16_without_bom(sample):
        return ("utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"), 0.8
    try:
        sample.decode("utf-8")
        if sample.isascii() and len(data) > len(sample):
            later = _NON_ASCII.search(data, len(sample))  # the first letters that tell, however far in
            if later:
                return detect_encoding(data[later.start() :])
        return "utf-8", 1.0
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(data) > len(sample):
            return "utf-8", 0.9  # the sample cut a character in half
    return _single_byte(sample[: 1 << 16])


_NON_ASCII = re.compile(rb"[\x80-\xff]")

# Accented letters sit at 0xC0-0xFF in Windows-1252/ISO-8859-1/15 but at 0x80-0xA5 in the DOS code
# pages CP437/CP850 (ä 0x84, ö 0x94, ü 0x81, é 0x82, à 0x85), which SIE files and old exports use.
_DOS_LETTERS = frozenset(range(0x80, 0xA6))
_CP1252_UNDEFINED = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def _single_byte(sample: bytes) -> tuple[str, float]:
    """Windows-1252 or a DOS code page for Western text; chardet for anything else."""
    high = [b for b in sample if b >= 0x80]
    dos = sum(b in _DOS_LETTERS for b in high)
    windows = sum(b >= 0xC0 for b in high)
    if dos > 2 * windows:
        return "cp437", 0.6
    if not any(b in _CP1252_UNDEFINED for b in high):
        return "cp1252", 0.8
    import chardet

    guess = chardet.detect(sample)
    name = (guess.get("encoding") or "cp1252").lower()
    name = _PREFERRED.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        name = "cp1252"
    return name, float(guess.get("confidence") or 0.5)  # float-ok: a confidence, not money


def _looks_utf16_without_bom(sample: bytes) -> bool:
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) // 2
    return max(zeros_even, zeros_odd) > 0.3 * half and min(zeros_even, zeros_odd) < 0.05 * half


def head_text(head: bytes) -> str:
    """The first bytes of a file as text, for sniffing: UTF-16 (with or without BOM) or UTF-8 (a
    character cut at the end dropped), else the detected single-byte encoding; never raises."""
    name = detect_encoding(head)[0]
    if name.startswith("utf-16"):
        return head.decode(name, errors="ignore").lstrip("\ufeff")
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
    try:
        return head.decode(name, errors="replace")
    except LookupError:
        return head.decode("cp1252", errors="replace")


def decode(data: bytes, encoding: str | None = None, file: str = "") -> tuple[str, str]:
    """Text of `data` and the encoding used; `encoding` overrides detection."""
    name = encoding or detect_encoding(data)[0]
    try:
        return data.decode(name), name
    except UnicodeDecodeError as exc:
        raise ParseError(
            N_("{value} is not valid {name} at byte {start}; give the right one with --encoding").format(
                value=file or "input", name=name, start=exc.start
            )
        ) from None
    except LookupError:
        raise ParseError(N_("unknown encoding {name!r}").format(name=name)) from None


def codec_name(encoding: str) -> str:
    """Canonical codec name, as shown to users (``cp1252`` → ``cp1252``, ``latin_1`` → ``iso8859-1``)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


# ----------------------------------------------------------------------------------------- delimited text

MAX_FIELD = 16 << 20
"""The longest field a delimited file may hold (16 MiB); a longer one is a problem, not a crash."""


def csv_rows(text: str, delimiter: str = ",", file: str = "") -> Iterator[list[str]]:
    """Rows of delimited `text` (quotes as in RFC 4180); a malformed row raises `ParseError` with its line."""
    for _, row in csv_records(text, delimiter, file):
        yield row


def csv_records(text: str, delimiter: str = ",", file: str = "") -> Iterator[tuple[int, list[str]]]:
    """`csv_rows` with the line each row ends on (a quoted line break makes a row span lines)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ParseError(
                    N_("{value}, line {line_num}: {exc}").format(
                        value=file or "input", line_num=reader.line_num, exc=exc
                    )
                ) from None
            yield reader.line_num, row
    finally:
        csv.field_size_limit(previous)
