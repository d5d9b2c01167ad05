"""FEC, Fichier des écritures comptables (France, article A47 A-1 LPF): the 18 columns and the
21/22-column variants (``DateRglt``, ``ModeRglt``, ``NatOp``, ``IdClient``), and ``Montant``/``Sens``
in place of ``Debit``/``Credit``.

Read as exports really are (``reference/fec/SOURCES.md``): tab or ``|`` separator, a trailing
separator, space-padded fields, zero-padded amounts (``0000000069,60``), UTF-8 with or without BOM
or ISO-8859-15, LF, CRLF or CR CR LF. Column names are matched without regard to case.

* An entry is a ``JournalCode`` + ``EcritureNum``. Some exports write the same number on every line
  (``000000000FEC20231231.txt``: ``0`` throughout); where one number spans several dates, its lines
  are cut, in file order, into entries that each end where the running balance returns to zero.
* ``CompAuxNum``/``CompAuxLib`` become partners (``40…`` accounts: suppliers, ``41…``: customers).
* Opening entries: journal ``AN``/``ANO``/``RAN`` or a journal label with "nouveau" (à-nouveaux).
  Detailed à-nouveaux keep each open item's own date (``000000000FEC20231231.txt``: "A Nouveaux
  Détaillés" dated 2021 and 2022 in the file of the exercise that ends 2023-12-31): where the file
  is named ``<SIREN>FEC<yyyymmdd>`` (the exercise's closing date, article A47 A-1), every other
  line lies in the twelve months ending then and the opening lines dated before them do not balance
  day by day (open items, not the openings of earlier years), those are dated on the exercise's first
  day, with a warning; their own dates stay in the extras (``EcritureDate``).
* ``JournalLib``, ``PieceDate``, ``EcritureLet``, ``DateLet``, ``ValidDate`` and any further columns are
  kept as extras. Amounts are in euros unless ``Idevise``/``Montantdevise`` give a foreign amount.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, conform, repeated_text, table
from migrator.parsing import DateColumn, ParseError, parse_cents, parse_date
from migrator.readers.base import ReadOptions
from migrator.rowwise import collector_paused
from migrator.sources import Source

COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
    "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
    "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
REQUIRED = ("JournalCode", "EcritureNum", "EcritureDate", "CompteNum")
PLACED = {"JournalCode", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum", "CompAuxLib",
          "PieceRef", "EcritureLib", "Debit", "Credit", "Montant", "Sens", "Montantdevise", "Idevise"}  # fmt: skip
OPTIONAL = ("Montant", "Sens", "Debit", "Credit", "Montantdevise", "Idevise", "JournalLib", "CompteLib", "CompAuxNum",
            "CompAuxLib", "PieceRef", "EcritureLib")  # fmt: skip
"""Columns read as empty where a file does not have them."""
OPENING_JOURNALS = frozenset(("AN", "ANO", "RAN"))
BASE_CURRENCY = "EUR"
BATCH = 1 << 16
_CANONICAL = {name.lower(): name for name in (*COLUMNS, "Montant", "Sens")}


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """Text and encoding: the one asked for, else UTF-8 (with or without BOM), else ISO-8859-15."""
    if encoding:
        return data.decode(encoding), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-15"), "iso-8859-15"


def _header(line: str) -> tuple[str, list[str]] | None:
    """Separator and canonical column names of a FEC header line, or None."""
    separator = "\t" if "\t" in line else "|" if "|" in line else ""
    if not separator:
        return None
    names = [n.strip().lstrip("\ufeff") for n in line.split(separator)]
    while names and not names[-1]:
        names.pop()  # a trailing separator
    names = [_CANONICAL.get(n.lower(), n) for n in names]
    return (separator, names) if all(r in names for r in REQUIRED) else None


class FecReader:
    name = "fec"
    extensions = (".txt", ".csv")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        head = source.head(4096)
        first = _decode(head[: head.find(b"\n")] if b"\n" in head else head, None)[0] if head else ""
        if _header(first.strip("\r\ufeff")) is None:
            return 0.0
        return 1.0 if re.match(r"^\d{9}FEC\d{8}\.txt$", source.path.name, re.IGNORECASE) else 0.95

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        encoding = None if options.encoding else _utf8(source.path)
        if encoding is not None:  # UTF-8 with line feeds: read a block of lines at a time
            skip = 3 if encoding == "utf-8-sig" else 0
            first = _first_line(source.path, skip)
            pieces: Iterable[pa.Array] = _blocks(source.path, skip + len(first) + 1)
        else:  # not UTF-8, another encoding asked for, or CR line breaks: decoded whole by Python
            try:
                text, encoding = _decode(source.read_bytes(), options.encoding)
            except UnicodeDecodeError as exc:
                raise SourceError(
                    N_("not valid {encoding} at byte {start}; use --encoding").format(
                        encoding=options.encoding, start=exc.start
                    ),
                    source.name,
                ) from None
            data = text.encode("utf-8")
            del text
            if b"\n" not in data:
                data = data.replace(b"\r", b"\n")
            end = data.find(b"\n")
            first = data if end < 0 else data[:end]
            pieces = [_lines_of(data)[1:]] if end >= 0 else []
            del data
        header = _header(first.decode("utf-8").rstrip("\r"))
        if header is None:
            raise SourceError(N_("the first line is not a FEC header: it needs the columns {required}, separated by tabs or '|'").format(required=', '.join(REQUIRED)), source.name, 1)  # fmt: skip
        separator, names = header
        if not ({"Debit", "Credit"} <= set(names) or {"Montant", "Sens"} <= set(names)):
            raise SourceError(N_("the header has neither Debit and Credit nor Montant and Sens"), source.name, 1)
        named = re.search(r"FEC(\d{8})", source.path.name, re.IGNORECASE)
        try:
            closing = dt.datetime.strptime(named.group(1), "%Y%m%d").date() if named else None
        except ValueError:
            closing = None
        reading = _Read(source.name, names, encoding, closing)
        with collector_paused():
            found = reading.records(pieces, separator)
            del pieces
            return reading.ledger(*found)


BLOCK = 1 << 24


def _utf8(path: Path) -> str | None:
    """``utf-8-sig`` or ``utf-8`` if the file is valid UTF-8 with or without a BOM (as `_decode` finds
    it) and holds a line feed, else None; checked a block at a time, without holding the whole text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    newline = False
    with path.open("rb") as handle:
        block = handle.read(3)
        bom = block == b"\xef\xbb\xbf"
        block = b"" if bom else block
        try:
            decoder.decode(block)
            newline = b"\n" in block
            block = handle.read(BLOCK)
            while block:
                decoder.decode(block)
                newline = newline or b"\n" in block
                block = handle.read(BLOCK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    if not newline:
        return None
    return "utf-8-sig" if bom else "utf-8"


def _first_line(path: Path, skip: int) -> bytes:
    """The bytes of the file's first line (after `skip` bytes), without its line feed."""
    found = b""
    with path.open("rb") as handle:
        handle.seek(skip)
        while b"\n" not in found:
            block = handle.read(1 << 16)
            if not block:
                break
            found += block
    return found.split(b"\n", 1)[0]


def _blocks(path: Path, skip: int) -> Iterator[pa.Array]:
    """The lines of the file after `skip` bytes (`_lines_of`), a block of about `BLOCK` bytes at a time."""
    rest = b""
    with path.open("rb") as handle:
        handle.seek(skip)
        while True:
            block = handle.read(BLOCK)
            if not block:
                break
            data = rest + block
            end = data.rfind(b"\n") + 1
            if not end:
                rest = data
                continue
            rest = data[end:]
            yield _lines_of(data[:end])[:-1]  # the empty piece after its last line feed
    if rest:
        yield _lines_of(rest)


def _lines_of(data: bytes) -> pa.Array:
    """The lines of UTF-8 `data` as ``split("\\n")`` gives them but each with its line break, as one Arrow
    string array over `data` itself (the breaks are whitespace: stripping the fields drops them)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    offsets = np.concatenate(([0], ends + 1, [len(data)]))
    kind, width = (pa.string(), np.int32) if len(data) < 2**31 else (pa.large_string(), np.int64)
    return pa.Array.from_buffers(
        kind, len(offsets) - 1, [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(data)]
    )


def _cents(texts: pa.Array) -> tuple[pa.Array, dict[int, ParseError]]:
    """What `AmountColumn(texts, ",").cents` gives for each text (cents or null), and the `ParseError` it
    raises for each text it refuses, by index, worked out a column at a time."""
    mark = columns.decimal_mark(texts, ",")
    fast, undecided = columns.cents(texts, mark)
    return columns.complete(fast, undecided, texts, lambda text: parse_cents(text, mark))


def _per_distinct(values: pa.Array, function: Any, kind: pa.DataType) -> pa.Array:
    """`function` of each value, called once per distinct value."""
    encoded = pc.dictionary_encode(values)
    return pa.array([function(v) for v in encoded.dictionary.to_pylist()], kind).take(encoded.indices)


def _first_nonempty(keys: np.ndarray, values: pa.Array, size: int) -> list[str]:
    """For each of `size` keys (codes 0…size-1 per row), the first non-empty value of its rows, or ``""``."""
    rows = np.flatnonzero(pc.not_equal(values, "").to_numpy(zero_copy_only=False))
    found, first = np.unique(keys[rows], return_index=True)
    names = [""] * size
    for key, text in zip(found.tolist(), values.take(pa.array(rows[first])).to_pylist(), strict=True):
        names[key] = text
    return names


_DAY0 = dt.date(1970, 1, 1)


class _Read:
    def __init__(self, file: str, names: list[str], encoding: str, closing: dt.date | None = None) -> None:
        self.file = file
        self.names = names
        self.encoding = encoding
        self.closing = closing
        self.redated = 0
        self.problems: list[Problem] = []

    def problem(self, message: str, row: int | None, severity: str = "error") -> None:
        self.problems.append(Problem(severity, message, self.file, row))  # type: ignore[arg-type]

    def ledger(self, numbers: np.ndarray, record: dict[str, pa.Array]) -> Ledger:
        """The ledger of the records (`records`)."""
        accounts = self._accounts(record)
        partners = self._partners(record)
        good, amount, foreign = self._lines(numbers, record)
        for name in ("CompteLib", "CompAuxLib", "Debit", "Credit", "Montant", "Sens", "Montantdevise"):
            record[name] = pa.array([], pa.string())  # used: let go (placed, so never extras)
        mask = pa.array(good)
        days = pc.cast(record["EcritureDate_day"].filter(mask), pa.int32()).to_numpy(zero_copy_only=False).copy()
        amount = amount[good]
        kept = {name: record[name].filter(mask) for name in ("JournalCode", "EcritureNum", "JournalLib", "PieceRef",
                                                               "EcritureLib", "CompteNum", "CompAuxNum", "Idevise")}  # fmt: skip
        for name in ("JournalCode", "EcritureNum", "PieceRef", "EcritureLib", "CompteNum", "CompAuxNum", "Idevise",
                     "EcritureDate_day"):  # fmt: skip
            record[name] = pa.array([], pa.string())  # copied into `kept`: let go (placed, so never extras)
        rows = numbers[good]
        journal = kept["JournalCode"]
        opening = pc.or_(
            _per_distinct(journal, lambda j: j.upper() in OPENING_JOURNALS, pa.bool_()),
            _per_distinct(kept["JournalLib"], lambda lib: "nouveau" in lib.lower(), pa.bool_()),
        ).to_numpy(zero_copy_only=False)
        self._openings_on_first_day(days, opening, amount, rows)
        entry = self._entries(pc.binary_join_element_wise(journal, kept["EcritureNum"], "/"), days, amount, rows)
        codes = pc.dictionary_encode(entry).indices.to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=int(codes.max()) + 1 if len(codes) else 0)
        line = np.empty(len(codes), dtype=np.int64)
        line[order] = np.arange(len(codes)) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
        currency = _per_distinct(kept["Idevise"], str.upper, pa.string())
        foreign = foreign.filter(mask)
        has = pc.and_(pc.and_(pc.not_equal(currency, ""), pc.fill_null(pc.not_equal(foreign, 0), False)),
                      pc.not_equal(currency, BASE_CURRENCY))  # fmt: skip
        magnitude = pc.abs_checked(foreign.filter(has)) if pc.any(has).as_py() else pa.array([], pa.int64())
        signed = np.where(amount[has.to_numpy(zero_copy_only=False)] >= 0, 1, -1) * magnitude.to_numpy(
            zero_copy_only=False
        )
        amount_currency = pc.replace_with_mask(pa.nulls(len(rows), pa.int64()), has, pa.array(signed, pa.int64()))
        lines = conform("lines", {
            "entry": entry, "line": pa.array(line), "date": pa.array(days, pa.int32()).cast(pa.date32()),
            "doc": kept["PieceRef"], "description": kept["EcritureLib"], "account": kept["CompteNum"],
            "amount": pa.array(amount, pa.int64()), "currency": pc.if_else(has, currency, ""),
            "amount_currency": amount_currency, "partner": kept["CompAuxNum"], "journal": journal,
            "source_file": repeated_text(self.file, len(rows)), "source_row": pa.array(rows, pa.int64()),
            "opening": pa.array(opening, pa.bool_()),
        })  # fmt: skip
        extras = self._extras(numbers, record)
        return Ledger(
            company=Company(base_currency=BASE_CURRENCY, source_system="FEC"),
            accounts=accounts,
            lines=lines,
            partners=partners,
            problems=tuple(self.problems),
            extras={"lines": extras} if extras is not None else {},
            format="fec",
            encoding=self.encoding,
        )

    def records(self, pieces: Iterable[pa.Array], separator: str) -> tuple[np.ndarray, dict[str, pa.Array]]:
        """Row numbers and columns (name → stripped values) of the non-empty lines after the header that
        have as many fields as the header (a trailing separator allowed); the others are problems.
        Taken `BATCH` lines at a time, so that only the columns of the whole file are held."""
        parts: dict[str, list[pa.Array]] = {name: [] for name in self.names}
        numbers: list[np.ndarray] = []
        row = 2
        for piece in pieces:
            for start in range(0, len(piece), BATCH):
                batch = piece.slice(start, BATCH)
                filled = pc.not_equal(pc.utf8_trim_whitespace(batch), "").to_numpy(zero_copy_only=False)
                rows = np.arange(row, row + len(batch), dtype=np.int64)[filled]
                row += len(batch)
                self._batch(batch.filter(pa.array(filled)), rows, separator, parts, numbers)
        record: dict[str, pa.Array] = {}
        for name in list(parts):  # one column at a time, its pieces let go as it is put together
            chunks = parts.pop(name)
            record[name] = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
            del chunks
        found = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
        for name in OPTIONAL:
            if name not in record:  # columns the file does not have
                record[name] = pa.array([""] * len(found), pa.string())
        return found, record

    def _batch(
        self,
        lines: pa.Array,
        rows: np.ndarray,
        separator: str,
        parts: dict[str, list[pa.Array]],
        numbers: list[np.ndarray],
    ) -> None:
        """Add the fields of `lines` (not empty, numbered `rows`) to `parts`, their numbers to `numbers`."""
        width = len(self.names)
        fields = columns.Fields(lines, separator)
        counts = fields.counts
        count = counts.copy()
        more = np.flatnonzero(counts > width)
        if len(more):  # fields kept once the empty trailing ones are dropped
            extra = counts[more] - width
            owner = np.repeat(np.arange(len(more)), extra)
            position = np.arange(int(extra.sum())) - np.repeat(np.cumsum(extra) - extra, extra) + width
            value = columns.strip(fields.values.take(pa.array(np.repeat(fields.starts[more], extra) + position)))
            used = pc.not_equal(value, "").to_numpy(zero_copy_only=False)
            kept = np.full(len(more), width, dtype=np.int64)
            np.maximum.at(kept, owner[used], position[used] + 1)
            count[more] = kept
        for at in np.flatnonzero(count != width).tolist():
            self.problem(
                N_("{count} fields, expected {width} as in the header").format(count=int(count[at]), width=width),
                int(rows[at]),
            )
        good = count == width
        taken = fields.starts[good]
        for index, name in enumerate(self.names):  # a repeated name: its last column
            if self.names[::-1].index(name) == width - 1 - index:
                parts[name].append(columns.strip(fields.values.take(pa.array(taken + index))))
        numbers.append(rows[good])

    def _lines(self, numbers: np.ndarray, record: dict[str, pa.Array]) -> tuple[np.ndarray, np.ndarray, pa.Array]:
        """Which records are lines (the others are problems), the amount of each and its foreign amount."""
        amounts = {c: _cents(record[c]) for c in ("Debit", "Credit", "Montant", "Montantdevise")}
        layout = DateColumn(record["EcritureDate"].slice(0, 2000).to_pylist(), None).layout
        fast, undecided = columns.dates(record["EcritureDate"], layout)
        days, day_errors = columns.complete(
            fast, undecided, record["EcritureDate"], lambda text: parse_date(text, layout)
        )
        record["EcritureDate_day"] = days
        signed = pc.or_(pc.not_equal(record["Montant"], ""), pc.not_equal(record["Sens"], "")).to_numpy(
            zero_copy_only=False
        )
        sens = record["Sens"]
        debit = _per_distinct(sens, lambda text: text.upper() in ("D", "+1", "1"), pa.bool_())
        known = _per_distinct(sens, lambda text: text.upper() in ("D", "C", "+1", "-1", "1"), pa.bool_())
        value = {
            c: pc.fill_null(amounts[c][0], 0).to_numpy(zero_copy_only=False) for c in ("Debit", "Credit", "Montant")
        }
        amount = np.where(
            signed,
            np.where(debit.to_numpy(zero_copy_only=False), value["Montant"], -value["Montant"]),
            value["Debit"] - value["Credit"],
        )
        bad = np.zeros(len(numbers), dtype=bool)
        for errors in (day_errors, amounts["Montantdevise"][1]):
            bad[list(errors)] = True
        for name, where in (("Montant", signed), ("Debit", ~signed), ("Credit", ~signed)):
            failed = np.zeros(len(numbers), dtype=bool)
            failed[list(amounts[name][1])] = True
            bad |= failed & where  # Debit and Credit are not read where Montant or Sens is given
        bad |= pc.is_null(days).to_numpy(zero_copy_only=False)
        bad |= signed & ~known.to_numpy(zero_copy_only=False)
        bad |= pc.equal(record["CompteNum"], "").to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(bad).tolist():
            self.problem(self._refused(i, record, amounts, day_errors, bool(signed[i])), int(numbers[i]))
        return ~bad, amount, amounts["Montantdevise"][0]

    def _refused(
        self, i: int, record: dict[str, pa.Array], amounts: dict[str, Any], day_errors: dict[int, ParseError],
        signed: bool,
    ) -> str:  # fmt: skip
        """Why record `i` is not a line: the first fault in the order the fields are read."""
        if i in day_errors:
            return str(day_errors[i])
        if not record["EcritureDate_day"][i].is_valid:
            return N_("EcritureDate is empty")
        for name in ("Montant",) if signed else ("Debit", "Credit"):
            if i in amounts[name][1]:
                return str(amounts[name][1][i])
        if signed:
            sens = record["Sens"][i].as_py()
            if sens.upper() not in ("D", "C", "+1", "-1", "1"):
                return N_("Sens {sens!r} is neither D nor C").format(sens=sens)
        if i in amounts["Montantdevise"][1]:
            return str(amounts["Montantdevise"][1][i])
        return N_("CompteNum is empty: every line needs an account")

    def _openings_on_first_day(
        self, days: np.ndarray, opening: np.ndarray, amount: np.ndarray, rows: np.ndarray
    ) -> None:
        """Date on the exercise's first day the opening lines dated before it (detailed à-nouveaux), when
        the file name gives the closing date and every other line lies in the twelve months ending then."""
        if self.closing is None:
            return
        end = self.closing
        try:
            start = end.replace(year=end.year - 1) + dt.timedelta(days=1)
        except ValueError:  # 29 February
            start = dt.date(end.year - 1, 3, 1)
        first, last = (start - _DAY0).days, (end - _DAY0).days
        if np.any(~opening & ((days < first) | (days > last))):
            return
        early = np.flatnonzero(opening & (days < first))
        by_day: dict[int, int] = {}
        for day, value in zip(days[early].tolist(), amount[early].tolist(), strict=True):
            by_day[day] = by_day.get(day, 0) + value
        if not any(by_day.values()):  # balanced on their own dates: openings of earlier years (a multi-year file)
            return
        days[early] = first
        self.redated = len(early)
        if len(early):
            self.problem(N_("{count} à-nouveaux lines are dated before the exercise {start} to {end} (the closing date in the file name): dated on its first day as its opening; their own dates are kept aside (EcritureDate)").format(count=len(early), start=start.isoformat(), end=end.isoformat()), int(rows[early[0]]), "warning")  # fmt: skip

    def _entries(self, entry: pa.Array, days: np.ndarray, amount: np.ndarray, rows: np.ndarray) -> pa.Array:
        """Cut entries whose number spans several dates where their running balance returns to zero."""
        if not len(entry):
            return entry
        codes = pc.dictionary_encode(entry).indices.to_numpy(zero_copy_only=False)
        size = int(codes.max()) + 1
        low = np.full(size, np.iinfo(np.int64).max)
        high = np.full(size, np.iinfo(np.int64).min)
        np.minimum.at(low, codes, days)
        np.maximum.at(high, codes, days)
        spanning = np.flatnonzero(low != high)  # in order of first appearance, as the entries are
        if not len(spanning):
            return entry
        names = entry.to_pylist()
        for code in spanning.tolist():
            members = np.flatnonzero(codes == code).tolist()
            key = names[members[0]]
            part, balance = 1, 0
            for at, value in zip(members, amount[members].tolist(), strict=True):
                names[at] = f"{key}-{part}"
                balance += value
                if balance == 0:
                    part += 1
            parts = part - 1 + (balance != 0)
            self.problem(N_("entry {key} spans several dates (EcritureNum does not identify entries): cut into {parts} entries where the balance returns to zero").format(key=key, parts=parts), int(rows[members[0]]), "warning")  # fmt: skip
        return pa.array(names, pa.string())

    def _accounts(self, record: dict[str, pa.Array]) -> pa.Table:
        code = record["CompteNum"]
        used = pc.not_equal(code, "")
        encoded = pc.dictionary_encode(code.filter(used))
        keys = encoded.indices.to_numpy(zero_copy_only=False)
        codes = encoded.dictionary.to_pylist()
        names = _first_nonempty(keys, record["CompteLib"].filter(used), len(codes))
        return table("accounts", ({"code": c, "name": n, "active": True} for c, n in zip(codes, names, strict=True)))

    def _partners(self, record: dict[str, pa.Array]) -> pa.Table:
        named = pc.not_equal(record["CompAuxNum"], "")
        encoded = pc.dictionary_encode(record["CompAuxNum"].filter(named))
        keys = encoded.indices.to_numpy(zero_copy_only=False)
        ids = encoded.dictionary.to_pylist()
        if not ids:
            return table("partners")
        account = record["CompteNum"].filter(named)
        names = _first_nonempty(keys, record["CompAuxLib"].filter(named), len(ids))
        _, first = np.unique(keys, return_index=True)
        accounts = account.take(pa.array(first)).to_pylist()
        # French chart (PCG): class 40 suppliers, 41 customers.
        supplier = np.bincount(keys, pc.starts_with(account, "40").to_numpy(zero_copy_only=False), len(ids)) > 0
        customer = np.bincount(keys, pc.starts_with(account, "41").to_numpy(zero_copy_only=False), len(ids)) > 0
        roles = np.where(
            supplier & customer, "both", np.where(supplier, "supplier", np.where(customer, "customer", ""))
        )
        return table("partners", (
            {"id": pid, "name": name, "roles": str(role), "account": code}
            for pid, name, role, code in zip(ids, names, roles.tolist(), accounts, strict=True)
        ))  # fmt: skip

    def _extras(self, numbers: np.ndarray, record: dict[str, pa.Array]) -> pa.Table | None:
        names = [n for n in self.names if (n not in PLACED or (n == "EcritureDate" and self.redated))
                 and pc.any(pc.not_equal(record[n], "")).as_py()]  # fmt: skip
        if not names:
            return None
        found: dict[str, Any] = {"source_row": pa.array(numbers, pa.int64())}
        for name in names:
            found[name] = record[name]
        return pa.table(found)


FORMAT = FecReader
