"""One Winbiz table as read from any route (DBF, XML, Excel, CSV), before interpretation.

Every route yields a `Raw`: columns keyed by the normalised field name (lower case, accents
removed: ``CPT_DÉBIT``, ``cpt_débit`` and ``Cpt_debit`` are all ``cpt_debit``), the source row of
each record (DBF record number, XML line, spreadsheet or CSV row) and the original field names
for the extras. Value parsing is shared here so every route reads a value the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import money
from migrator.i18n import N_
from migrator.model import Problem
from migrator.parsing import ParseError, cents_of, dates_of, parse_rate, strict_dates

_TRUE = ["true", "t", "1", "y", "yes", ".t.", "oui", "vrai", "x", "-1"]
_PLAIN_AMOUNT = r"^-?\d{1,16}(\.\d{1,2})?$"
_MAX_LISTED = 200
_SAMPLE = 1024


def _data_size(text: pa.Array) -> int:
    """Bytes of text held by the values of a string array."""
    if not len(text):
        return 0
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32 if text.type == pa.string() else np.int64)
    return int(offsets[text.offset + len(text)] - offsets[text.offset])


def _spread(values: pa.Array, indices: pa.Array | None) -> pa.Array:
    """Per-row values from per-distinct-value ones (`Raw._distinct`)."""
    return values if indices is None else pc.take(values, indices)


def normalise(name: str) -> str:
    """Field name as matched: accents removed, lower case, spaces as ``_`` (``CPT_DÉBIT`` → ``cpt_debit``)."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", "_", plain.lower())


@dataclass
class Raw:
    """The records of one source table with the field names normalised."""

    file: str
    columns: dict[str, pa.Array]
    rows: np.ndarray
    names: dict[str, str] = field(default_factory=dict)
    """Normalised name → name as written in the source."""
    problems: list[Problem] = field(default_factory=list)
    _texts: dict[str | None, pa.Array] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, file: str, columns: dict[str, pa.Array], rows: np.ndarray) -> Raw:
        out: dict[str, pa.Array] = {}
        names: dict[str, str] = {}
        for name, column in columns.items():
            key = normalise(name)
            if key and key not in out:
                out[key] = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
                names[key] = name
        return cls(file, out, np.asarray(rows, dtype=np.int64), names)

    @property
    def size(self) -> int:
        return len(self.rows)

    def has(self, *names: str) -> bool:
        return all(n in self.columns for n in names)

    def first(self, *names: str) -> str | None:
        """The first of `names` this table has."""
        return next((n for n in names if n in self.columns), None)

    def text(self, name: str | None) -> pa.Array:
        """Column `name` as trimmed text (``""`` where empty or absent)."""
        if name in self._texts:
            return self._texts[name]
        if name is None or name not in self.columns:
            text = pa.repeat("", self.size)
        else:
            column = self.columns[name]
            if column.type != pa.string():
                column = pc.cast(column, pa.string())
            text = pc.utf8_trim_whitespace(column.fill_null(""))
            if not column.null_count and _data_size(text) == _data_size(column):
                text = column  # nothing was trimmed: keep one copy of the column
        self._texts[name] = text
        return text

    def error(self, mask: np.ndarray, name: str, message: str, bad: np.ndarray) -> None:
        """An error for each row of `mask` not already reported (the row is left out)."""
        fresh = np.flatnonzero(mask & ~bad)
        column = self.text(name)
        for index in fresh[:_MAX_LISTED]:
            value = column[int(index)].as_py()
            self.problems.append(Problem("error", f"{self.names.get(name, name)} {value!r}: {message}", self.file,
                                         int(self.rows[index])))  # fmt: skip
        if len(fresh) > _MAX_LISTED:
            self.problems.append(
                Problem(
                    "error",
                    N_("{count} more rows: {name} {message}").format(
                        count=len(fresh) - _MAX_LISTED, name=name, message=message
                    ),
                    self.file,
                )
            )
        bad |= mask

    # ------------------------------------------------------------------------------- typed values

    def cents(self, name: str | None, bad: np.ndarray) -> pa.Array:
        """Exact cents (null where empty); values with more than two non-zero decimals are errors."""
        text, indices = self._distinct(self.text(name))
        empty = pc.equal(text, "")
        try:  # one exact cast for the whole column when every value is a plain number
            fast = money.decimal_array_to_cents(pc.cast(pc.if_else(empty, "0", text), money.DECIMAL_TYPE))
            return _spread(pc.if_else(empty, pa.scalar(None, pa.int64()), fast), indices)
        except (pa.ArrowInvalid, OverflowError):
            pass
        text = pc.replace_substring_regex(text, r"^\+", "")
        text = pc.replace_substring_regex(text, r"^(-?\d+\.\d\d)0+$", r"\1")
        text = pc.replace_substring_regex(text, r"^(-?\d+)\.0*$", r"\1")
        plain = pc.match_substring_regex(text, _PLAIN_AMOUNT)
        fast = money.decimal_array_to_cents(pc.cast(pc.if_else(plain, text, "0"), money.DECIMAL_TYPE))
        values = _spread(pc.if_else(empty, pa.scalar(None, pa.int64()), fast), indices)
        slow = _spread(pc.invert(pc.or_(plain, empty)), indices).to_numpy(zero_copy_only=False)
        if not slow.any():
            return values
        text = _spread(text, indices)
        result = values.to_pylist()
        indexes = np.flatnonzero(slow)
        errors = np.zeros(self.size, dtype=bool)
        for i, cents in zip(indexes, cents_of([text[int(i)].as_py() for i in indexes]), strict=True):
            result[i] = cents
            errors[i] = cents is None
        self.error(errors, name or "", N_("is not an amount (two decimals, ±9999999999999999.99 at most)"), bad)
        return pa.array(result, pa.int64())

    def _distinct(self, text: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        """(distinct values, each row's index among them) when `text` repeats its values, judged on its
        first rows (each value is then parsed once); else (`text`, None)."""
        if len(text) >= 4 * _SAMPLE and len(pc.unique(text.slice(0, _SAMPLE))) * 4 <= _SAMPLE:
            encoded = text.dictionary_encode()
            return encoded.dictionary, encoded.indices
        return text, None

    def dates(self, name: str, bad: np.ndarray) -> pa.Array:
        """Dates from date cells, ISO text, dd.mm.yyyy, yyyymmdd or Excel serials; empty → error."""
        column = self.columns.get(name)
        if column is not None and pa.types.is_date(column.type):
            missing = pc.is_null(column).to_numpy(zero_copy_only=False)
            self.error(missing, name, N_("is not a date"), bad)
            return column.cast(pa.date32())
        text = self.text(name)
        iso = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}")
        head = pc.utf8_slice_codeunits(text, 0, 10)
        parsed = strict_dates(pc.if_else(iso, head, None), "%Y-%m-%d")
        slow = pc.is_null(parsed).to_numpy(zero_copy_only=False)
        if not slow.any():
            return parsed
        mask = pa.array(slow)
        distinct, indices = self._distinct(pc.filter(text, mask))
        dmy = _spread(strict_dates(distinct, "%d.%m.%Y"), indices)
        if not dmy.null_count:  # every other value a real dd.mm.yyyy date: the layout `dates_of` decides on
            return pc.replace_with_mask(parsed, mask, dmy)
        values = parsed.to_pylist()
        indexes = np.flatnonzero(slow)
        errors = np.zeros(self.size, dtype=bool)
        for i, day in zip(indexes, dates_of([text[int(i)].as_py() for i in indexes]), strict=True):
            values[i] = day
            errors[i] = day is None
        self.error(errors, name, N_("is not a date (expected dd.mm.yyyy, yyyy-mm-dd or yyyymmdd)"), bad)
        return pa.array(values, pa.date32())

    def flags(self, name: str | None) -> np.ndarray:
        """Logical fields: true, .T., T, 1, yes… (Winbiz exports write ``true``/``false`` or 1/0)."""
        column = self.columns.get(name or "")
        if column is not None and pa.types.is_boolean(column.type):
            return column.fill_null(False).to_numpy(zero_copy_only=False)
        lowered = pc.utf8_lower(self.text(name))
        return pc.is_in(lowered, pa.array(_TRUE)).to_numpy(zero_copy_only=False)

    def integers(self, name: str | None, bad: np.ndarray) -> np.ndarray:
        """Small whole numbers such as ``ecr_tvatyp`` (``-1``, ``2``, ``2.00``); empty → 0."""
        text, indices = self._distinct(self.text(name))
        text = pc.replace_substring_regex(text, r"^(-?\d+)\.0*$", r"\1")
        plain = pc.match_substring_regex(text, r"^-?\d{1,9}$")
        errors = pc.invert(pc.or_(plain, pc.equal(text, "")))
        self.error(
            _spread(errors, indices).to_numpy(zero_copy_only=False), name or "", N_("is not a whole number"), bad
        )
        return _spread(pc.cast(pc.if_else(plain, text, "0"), pa.int64()), indices).to_numpy(zero_copy_only=False)

    def rates(self, name: str | None, bad: np.ndarray) -> pa.Array:
        """Rates as shortest decimal text (``7.700000`` → ``7.7``; ``0.00`` and empty → ``""``)."""
        text = self.text(name)
        encoded = text.dictionary_encode()
        out = []
        errors = []
        for value in encoded.dictionary.to_pylist():
            try:
                rate = parse_rate(value)
                errors.append(False)
            except ParseError:
                rate = ""
                errors.append(True)
            out.append("" if rate in ("", "0") else rate)
        mask = pc.take(pa.array(errors, pa.bool_()), encoded.indices).to_numpy(zero_copy_only=False)
        self.error(mask, name or "", N_("is not a rate"), bad)
        return pc.take(pa.array(out, pa.string()), encoded.indices)

    def extras(self, used: set[str]) -> pa.Table | None:
        """The columns not placed in the ledger, as text, keyed by source file and row."""
        left = [n for n in self.columns if n not in used]
        if not left:
            return None
        columns = {"source_file": pa.repeat(self.file, self.size), "source_row": pa.array(self.rows)}
        for name in left:
            columns[self.names.get(name, name)] = pc.cast(self.columns[name], pa.string())
        return pa.table(columns)
