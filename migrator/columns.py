"""Column-wise versions of the scalar parsers in `migrator.parsing`, for readers of large files.

Each function works on a whole Arrow string column and decides the common, plainly written values
with pyarrow.compute and NumPy; the values it cannot decide (odd signs, other grouping characters,
non-ASCII digits, impossible dates, anything that would be an error) come back as row indices, and
the caller runs the scalar function on those, so odd inputs give the same values and the same
messages as before. `complete` does that last step. On every value the fast path decides, the result
equals the scalar function's (``tests/test_columns.py`` checks it with hypothesis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.money import SCALE, format_cents
from migrator.parsing import EXCEL_EPOCH, ParseError, decimal_mark_evidence, parse_date

Strings: TypeAlias = Any
"""An Arrow string array or chunked array."""

_EPOCH = dt.date(1970, 1, 1)
_EXCEL_DAYS = (EXCEL_EPOCH - _EPOCH).days


def texts(values: Strings | Sequence[str]) -> pa.Array:
    """`values` as one Arrow string array (a chunked array is combined)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not isinstance(values, pa.Array):
        return pa.array(values, pa.string())
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values


def strip(values: Strings | Sequence[str]) -> pa.Array:
    """Python's ``str.strip()`` on every value (Arrow's unicode whitespace is the same set as
    ``str.isspace``; ``tests/test_columns.py`` checks every code point)."""
    return pc.utf8_trim_whitespace(texts(values))


def _distinct(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct values (in order of first appearance) and each value's index among them: a
    column's work is done once per distinct value (dates and zero amounts repeat a lot)."""
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _indices(mask: Any) -> np.ndarray:
    """Row numbers where a boolean Arrow array is true (null counts as false)."""
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


# --------------------------------------------------------------------------------------------- amounts

# A plainly written amount: optional minus, digits (optionally grouped by ASCII apostrophes), and an
# optional decimal part. Anything else (other grouping characters, trailing or bracketed signs,
# the other mark as grouping) is left to `parsing.parse_cents`.
_EVIDENCE = r"^-?[0-9]+(?:'[0-9]{3})*(?:[.,]([0-9]+))?$"


def decimal_mark(values: Strings | Sequence[str], default: str = ".") -> str:
    """`parsing.decide_decimal_mark` of a column, counted column-wise."""
    distinct, index = _distinct(strip(values))
    counts = np.bincount(index, minlength=len(distinct))
    votes = {".": 0, ",": 0}
    plain = np.asarray(pc.match_substring_regex(distinct, _EVIDENCE).to_numpy(zero_copy_only=False), dtype=bool)
    fraction = pc.extract_regex(distinct, r"(?P<mark>[.,])(?P<digits>[0-9]+)$")
    marks = pc.struct_field(fraction, "mark")
    proves = plain & pc.fill_null(pc.not_equal(pc.utf8_length(pc.struct_field(fraction, "digits")), 3), False).to_numpy(zero_copy_only=False)  # fmt: skip
    for mark in votes:
        said = pc.fill_null(pc.equal(marks, mark), False).to_numpy(zero_copy_only=False)
        votes[mark] += int(counts[proves & said].sum())
    empty = np.asarray(pc.equal(distinct, "").to_numpy(zero_copy_only=False), dtype=bool)
    for at in np.flatnonzero(~plain & ~empty).tolist():
        evidence = decimal_mark_evidence(distinct[at].as_py())
        if evidence:
            votes[evidence] += int(counts[at])
    if votes["."] == votes[","]:
        return default
    return "." if votes["."] > votes[","] else ","


def cents(values: Strings | Sequence[str], mark: str = ".") -> tuple[pa.Array, np.ndarray]:
    """Exact cents (int64) of each value written with decimal mark `mark`, null for an empty one, and
    the indices of the values left undecided (null in the array): give those to `parsing.parse_cents`.
    """
    distinct, index = _distinct(strip(values))
    amount = _distinct_cents(distinct, mark)
    empty = np.asarray(pc.equal(distinct, "").to_numpy(zero_copy_only=False), dtype=bool)
    open_ = np.asarray(pc.is_null(amount).to_numpy(zero_copy_only=False), dtype=bool) & ~empty
    return amount.take(pa.array(index)), np.flatnonzero(open_[index])


def _distinct_cents(distinct: pa.Array, mark: str) -> pa.Array:
    """`cents` of distinct stripped values (null where empty or undecided)."""
    escaped = re_escape(mark)
    simple = pc.match_substring_regex(distinct, r"^-?[0-9]{1,16}" + escaped + r"[0-9]{2}$")
    if pc.all(pc.or_(simple, pc.equal(distinct, ""))).as_py():
        # every value as writers write them (``-1234.50``) or empty: the digits without the mark are the cents
        digits = pc.if_else(simple, pc.replace_substring(distinct, mark, ""), pa.scalar(None, pa.string()))
        return pc.cast(digits, pa.int64())
    pattern = r"^(?P<sign>-?)(?P<whole>[0-9]+(?:'[0-9]{3})*)(?:" + escaped + r"(?P<part>[0-9]{1,2}))?$"
    parts = pc.extract_regex(distinct, pattern)
    whole = pc.replace_substring(pc.struct_field(parts, "whole"), "'", "")
    fraction = pc.utf8_rpad(pc.fill_null(pc.struct_field(parts, "part"), ""), 2, "0")
    digits = pc.binary_join_element_wise(whole, fraction, "")
    # 16 digits before the mark at most (`money.MAX_CENTS`); longer ones (leading zeros) go the slow way
    fits = pc.less_equal(pc.utf8_length(digits), 18)
    digits = pc.if_else(fits, digits, pa.scalar(None, pa.string()))
    amount = pc.cast(digits, pa.int64())
    return pc.if_else(pc.equal(pc.struct_field(parts, "sign"), "-"), pc.negate(amount), amount)


def re_escape(mark: str) -> str:
    """`mark` as a literal in an RE2 pattern."""
    return "\\" + mark if mark in ".\\^$|?*+()[]{}" else mark


# ----------------------------------------------------------------------------------------------- dates

_ISO = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})(?:[T ][0-9:.]+Z?)?$"
_DMY = r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})$"
_DMY2 = r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{2})$"
_DMY_SLASH = r"^(?P<d>[0-9]{1,2})/(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})$"
_YMD = r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$"
_SERIAL = r"^(?P<n>[0-9]{4,5})(?:\.0+)?$"
# the layouts of `parsing._DATE_LAYOUTS`, in its order, with ASCII digits only (RE2's \d is ASCII
# but Python's is not: a value with other characters goes the slow way)
_LAYOUTS = (("iso", _ISO), ("dmy", _DMY), ("dmy2", _DMY2), ("dmy/", _DMY_SLASH), ("ymd", _YMD), ("serial", _SERIAL))


def _numbers(parts: Any, name: str) -> np.ndarray:
    return pc.fill_null(pc.cast(pc.struct_field(parts, name), pa.int64()), 0).to_numpy(zero_copy_only=False)


def _layout_days(stripped: pa.Array, layout: str, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matches, valid, days since 1970) of each value in one layout."""
    matches = pc.match_substring_regex(stripped, pattern).to_numpy(zero_copy_only=False)
    matches = np.asarray(matches, dtype=bool)
    if not matches.any():
        zeros = np.zeros(len(stripped), dtype=np.int64)
        return matches, matches.copy(), zeros
    parts = pc.extract_regex(stripped, pattern)
    if layout == "serial":
        days = _numbers(parts, "n") + _EXCEL_DAYS
        return matches, matches.copy(), days
    year, month, day = _numbers(parts, "y"), _numbers(parts, "m"), _numbers(parts, "d")
    if layout == "dmy2":
        year = year + np.where(year < 70, 2000, 1900)
    valid = matches & (year >= dt.MINYEAR) & (year <= dt.MAXYEAR) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(valid, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    length = ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
    valid &= day <= length
    days = np.where(valid, first.astype(np.int64) + day - 1, 0)
    return matches, valid, days


def date_layout(values: Strings | Sequence[str]) -> str | None:
    """`parsing.decide_date_layout` of a column, counted column-wise."""
    distinct, index = _distinct(strip(values))
    counts = np.bincount(index, minlength=len(distinct))
    scores = {}
    for layout, pattern in _LAYOUTS:
        _, valid, _ = _layout_days(distinct, layout, pattern)
        scores[layout] = int(counts[valid].sum())
    others = np.flatnonzero(~np.asarray(pc.string_is_ascii(distinct).to_numpy(zero_copy_only=False), dtype=bool))
    for at in others.tolist():  # Python's \d reads other digits: score these the scalar way
        text = distinct[at].as_py()
        for layout, _ in _LAYOUTS:
            scores[layout] += int(counts[at]) * _fits(text, layout)
    best = max(scores.values())
    if best == 0:
        return None
    return next(name for name, score in scores.items() if score == best)


def _fits(text: str, layout: str) -> bool:
    """Whether the scalar parser reads `text` in `layout` (a real date)."""
    try:
        return parse_date(text, layout) is not None
    except ParseError:
        return False


def dates(values: Strings | Sequence[str], layout: str | None = None) -> tuple[pa.Array, np.ndarray]:
    """Dates (date32) of each value as `parsing.parse_date(value, layout)` reads it, null for an empty
    one, and the indices of the values left undecided (null in the array): give those to `parse_date`.
    """
    distinct, index = _distinct(strip(values))
    size = len(distinct)
    decided = np.zeros(size, dtype=bool)
    claimed = np.zeros(size, dtype=bool)  # a layout's pattern matched first: parse_date stops there
    days = np.zeros(size, dtype=np.int64)
    for name, pattern in _LAYOUTS:
        if layout not in (None, name):
            continue
        matches, valid, these = _layout_days(distinct, name, pattern)
        take = valid & ~claimed
        days = np.where(take, these, days)
        decided |= take
        claimed |= matches
    array = pa.array(days[index].astype(np.int32), pa.int32(), mask=~decided[index]).view(pa.date32())
    empty = np.asarray(pc.equal(distinct, "").to_numpy(zero_copy_only=False), dtype=bool)
    return array, np.flatnonzero((~decided & ~empty)[index])


# ---------------------------------------------------------------------------------------- the fallback


def complete(
    fast: pa.Array, undecided: np.ndarray, values: Strings | Sequence[str], scalar: Callable[[str], Any]
) -> tuple[pa.Array, dict[int, ParseError]]:
    """`fast` with each undecided value parsed by `scalar` (the exact scalar parser), and the
    `ParseError` of each value it refuses, by index (those stay null)."""
    if not len(undecided):
        return fast, {}
    column = texts(values)
    found: list[Any] = []
    errors: dict[int, ParseError] = {}
    for index in undecided.tolist():
        try:
            found.append(scalar(column[index].as_py()))
        except ParseError as exc:
            errors[index] = exc
            found.append(None)
    mask = np.zeros(len(fast), dtype=bool)
    mask[undecided] = True  # replace_with_mask takes the replacements in row order
    return pc.replace_with_mask(fast, pa.array(mask), pa.array(found, fast.type)), errors


# ----------------------------------------------------------------------------------- delimited text


def physical_lines(text: str) -> pa.Array:
    """The lines of `text` as ``text.split("\\n")`` gives them, as one Arrow string array."""
    data = text.encode("utf-8")
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    # each line with its line break, then the break trimmed: one buffer, no Python string per line
    offsets = np.concatenate(([0], ends + 1, [len(data)]))
    kind, width = (pa.string(), np.int32) if len(data) < 2**31 else (pa.large_string(), np.int64)
    lines = pa.Array.from_buffers(
        kind, len(offsets) - 1, [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(data)]
    )
    return pc.utf8_rtrim(lines, "\n").cast(pa.string())


class Fields:
    """The `separator`-separated fields of each line (no quoting), taken out column by column."""

    def __init__(self, lines: Strings, separator: str) -> None:
        lists = pc.split_pattern(texts(lines), separator)
        offsets = lists.offsets.to_numpy()
        self.values = pc.list_flatten(lists)
        self.starts = offsets[:-1] - offsets[0]
        self.counts = np.diff(offsets)
        """How many fields each line has."""

    def column(self, index: int) -> pa.Array:
        """Field `index` of every line, ``""`` where a line has fewer fields."""
        has = self.counts > index
        if not has.any():
            return pa.array([""] * len(self.counts), pa.string())
        taken = self.values.take(pa.array(np.where(has, self.starts + index, 0)))
        return pc.if_else(pa.array(has), taken, "")


# ---------------------------------------------------------------------------------------- for writers


def one_line(values: Strings) -> pa.Array:
    """``" ".join(text.split())`` of each value, ``""`` for a null (Arrow's whitespace is Python's)."""
    text = pc.fill_null(texts(values), "")
    return pc.binary_join(pc.utf8_split_whitespace(pc.utf8_trim_whitespace(text)), " ")


def cents_text(cents: Any, decimal_mark: str = ".") -> pa.Array:
    """`money.format_cents` of each value of an int64 column (no nulls): ``-1234.50``."""
    values = np.asarray(cents.to_numpy(zero_copy_only=False) if hasattr(cents, "to_numpy") else cents, np.int64)
    magnitude = np.abs(values)
    scale = 10**SCALE
    signed = pc.binary_join_element_wise(
        pc.if_else(pa.array(values < 0), "-", ""), pc.cast(pa.array(magnitude // scale), pa.string()), ""
    )
    text = pc.binary_join_element_wise(
        signed, pc.utf8_lpad(pc.cast(pa.array(magnitude % scale), pa.string()), SCALE, "0"), decimal_mark
    )
    wrapped = np.flatnonzero(magnitude < 0)  # -2**63 has no positive int64
    if len(wrapped):
        mask = np.zeros(len(values), dtype=bool)
        mask[wrapped] = True
        text = pc.replace_with_mask(
            text, pa.array(mask), pa.array([format_cents(int(values[i]), decimal_mark) for i in wrapped])
        )
    return text


def entry_order(lines: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The order `writers.base.entries` gives the lines (entries as they first appear, each one's lines
    by line number, ties as they stand), and the position where each entry starts in that order."""
    size = lines.num_rows
    if not size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    entry = (
        lines.column("entry").combine_chunks()
        if isinstance(lines.column("entry"), pa.ChunkedArray)
        else lines.column("entry")
    )
    codes = pc.dictionary_encode(entry, null_encoding="encode").indices.to_numpy(zero_copy_only=False)
    number = pc.fill_null(lines.column("line"), 0).to_numpy(zero_copy_only=False)
    order = np.lexsort((number, codes))
    grouped = codes[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    return order, starts
