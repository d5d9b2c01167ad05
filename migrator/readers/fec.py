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

import datetime as dt
import re
from typing import Any

import pyarrow as pa

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, pylist, table
from migrator.parsing import DateColumn, ParseError, parse_cents, parse_date
from migrator.readers.base import ReadOptions, number_lines
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
        try:
            text, encoding = _decode(source.read_bytes(), options.encoding)
        except UnicodeDecodeError as exc:
            raise SourceError(
                N_("not valid {encoding} at byte {start}; use --encoding").format(
                    encoding=options.encoding, start=exc.start
                ),
                source.name,
            ) from None
        lines = text.split("\n") if "\n" in text else text.split("\r")
        del text  # the lines hold it now
        header = _header(lines[0].rstrip("\r")) if lines else None
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
        del lines[0]
        return _Read(source.name, names, encoding, closing).read(lines, separator)


def _value(found: Any) -> Any:
    """A parsed value, or raise the `ParseError` kept in its place."""
    if isinstance(found, ParseError):
        raise found
    return found


def _cents(texts: list[str]) -> list[Any]:
    """What `AmountColumn(texts, ",").cents` gives for each text (cents or None), or the `ParseError` it
    raises, worked out a column at a time."""
    mark = columns.decimal_mark(texts, ",")
    fast, undecided = columns.cents(texts, mark)
    cents, errors = columns.complete(fast, undecided, texts, lambda text: parse_cents(text, mark))
    found: list[Any] = cents.to_pylist()
    for index, exc in errors.items():
        found[index] = exc
    return found


def _dates(texts: list[str], layout: str | None) -> list[Any]:
    """`parse_date(text, layout)` of each text (a date or None), or the `ParseError` it raises."""
    fast, undecided = columns.dates(texts, layout)
    days, errors = columns.complete(fast, undecided, texts, lambda text: parse_date(text, layout))
    found: list[Any] = pylist(days)
    for index, exc in errors.items():
        found[index] = exc
    return found


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

    def read(self, physical: list[str], separator: str) -> Ledger:
        with collector_paused():
            return self._read(physical, separator)

    def _read(self, physical: list[str], separator: str) -> Ledger:
        records = self._records(physical, separator)
        physical.clear()  # the lines are in the records now: let them go
        amounts = {c: _cents([r[c] for _, r in records]) for c in ("Debit", "Credit", "Montant", "Montantdevise")}
        layout = DateColumn([r["EcritureDate"] for _, r in records[:2000]], None).layout
        dates = _dates([r["EcritureDate"] for _, r in records], layout)
        rows = [
            row
            for row in (self._line(i, number, record, amounts, dates) for i, (number, record) in enumerate(records))
            if row
        ]
        self._openings_on_first_day(rows)
        self._entries(rows)
        lines = table("lines", number_lines(rows))
        accounts = self._accounts(records)
        partners = self._partners(records)
        extras = self._extras(records)
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

    def _records(self, physical: list[str], separator: str) -> list[tuple[int, dict[str, str]]]:
        """(row number, column → stripped value) of every non-empty line after the header."""
        width = len(self.names)
        records = []
        blank = {name: "" for name in OPTIONAL if name not in self.names}  # columns the file does not have
        for index, raw in enumerate(physical, start=2):
            line = raw.strip("\r")
            if not line.strip():
                continue
            fields = list(map(str.strip, line.split(separator)))
            while len(fields) > width and not fields[-1]:
                fields.pop()  # trailing separator
            if len(fields) != width:
                self.problem(
                    N_("{count} fields, expected {width} as in the header").format(count=len(fields), width=width),
                    index,
                )
                continue
            record = dict(zip(self.names, fields, strict=True))
            if blank:
                record.update(blank)
            records.append((index, record))
        return records

    def _line(
        self, i: int, number: int, record: dict[str, str], amounts: dict[str, list[Any]], dates: list[Any]
    ) -> dict[str, Any] | None:
        try:
            day = _value(dates[i])
            if day is None:
                raise ParseError(N_("EcritureDate is empty"))
            if record["Montant"] or record["Sens"]:
                value = _value(amounts["Montant"][i]) or 0
                sens = record["Sens"].upper()
                if sens not in ("D", "C", "+1", "-1", "1"):
                    raise ParseError(N_("Sens {sens!r} is neither D nor C").format(sens=record["Sens"]))
                amount = value if sens in ("D", "+1", "1") else -value
            else:
                amount = (_value(amounts["Debit"][i]) or 0) - (_value(amounts["Credit"][i]) or 0)
            foreign = _value(amounts["Montantdevise"][i])
        except ParseError as exc:
            self.problem(str(exc), number)
            return None
        if not record["CompteNum"]:
            self.problem(N_("CompteNum is empty: every line needs an account"), number)
            return None
        journal = record["JournalCode"]
        row: dict[str, Any] = {
            "entry": f"{journal}/{record['EcritureNum']}", "date": day, "doc": record["PieceRef"],
            "description": record["EcritureLib"], "account": record["CompteNum"], "amount": amount,
            "partner": record["CompAuxNum"], "journal": journal, "source_file": self.file, "source_row": number,
            "opening": journal.upper() in OPENING_JOURNALS or "nouveau" in record["JournalLib"].lower(),
        }  # fmt: skip
        currency = record["Idevise"].upper()
        if currency and foreign and currency != BASE_CURRENCY:
            row.update(currency=currency, amount_currency=abs(foreign) if amount >= 0 else -abs(foreign))
        return row

    def _openings_on_first_day(self, rows: list[dict[str, Any]]) -> None:
        """Date on the exercise's first day the opening lines dated before it (detailed à-nouveaux), when
        the file name gives the closing date and every other line lies in the twelve months ending then."""
        if self.closing is None:
            return
        end = self.closing
        try:
            start = end.replace(year=end.year - 1) + dt.timedelta(days=1)
        except ValueError:  # 29 February
            start = dt.date(end.year - 1, 3, 1)
        if any(not row["opening"] and not start <= row["date"] <= end for row in rows):
            return
        early = [row for row in rows if row["opening"] and row["date"] < start]
        by_day: dict[dt.date, int] = {}
        for row in early:
            by_day[row["date"]] = by_day.get(row["date"], 0) + row["amount"]
        if not any(by_day.values()):  # balanced on their own dates: openings of earlier years (a multi-year file)
            return
        for row in early:
            row["date"] = start
        self.redated = len(early)
        if early:
            self.problem(N_("{count} à-nouveaux lines are dated before the exercise {start} to {end} (the closing date in the file name): dated on its first day as its opening; their own dates are kept aside (EcritureDate)").format(count=len(early), start=start.isoformat(), end=end.isoformat()), early[0]["source_row"], "warning")  # fmt: skip

    def _entries(self, rows: list[dict[str, Any]]) -> None:
        """Cut entries whose number spans several dates where their running balance returns to zero."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(row["entry"], []).append(row)
        for key, members in groups.items():
            if len({r["date"] for r in members}) < 2:
                continue
            part, balance = 1, 0
            for row in members:
                row["entry"] = f"{key}-{part}"
                balance += row["amount"]
                if balance == 0:
                    part += 1
            parts = part - 1 + (balance != 0)
            self.problem(N_("entry {key} spans several dates (EcritureNum does not identify entries): cut into {parts} entries where the balance returns to zero").format(key=key, parts=parts), members[0]["source_row"], "warning")  # fmt: skip

    def _accounts(self, records: list[tuple[int, dict[str, str]]]) -> pa.Table:
        names: dict[str, str] = {}
        for _, record in records:
            code = record["CompteNum"]
            if code and not names.get(code):
                names[code] = record["CompteLib"]
        return table("accounts", ({"code": c, "name": n, "active": True} for c, n in names.items()))

    def _partners(self, records: list[tuple[int, dict[str, str]]]) -> pa.Table:
        partners: dict[str, dict[str, Any]] = {}
        for _, record in records:
            pid = record["CompAuxNum"]
            if not pid:
                continue
            account = record["CompteNum"]
            # French chart (PCG): class 40 suppliers, 41 customers.
            kind = "supplier" if account.startswith("40") else "customer" if account.startswith("41") else ""
            known = partners.setdefault(
                pid, {"id": pid, "name": record["CompAuxLib"], "roles": kind, "account": account}
            )
            known["name"] = known["name"] or record["CompAuxLib"]
            if kind and known["roles"] and kind != known["roles"]:
                known["roles"] = "both"
            known["roles"] = known["roles"] or kind
        return table("partners", partners.values())

    def _extras(self, records: list[tuple[int, dict[str, str]]]) -> pa.Table | None:
        names = [n for n in self.names if (n not in PLACED or (n == "EcritureDate" and self.redated))
                 and any(r[n] for _, r in records)]  # fmt: skip
        if not names:
            return None
        columns: dict[str, Any] = {"source_row": pa.array([n for n, _ in records], pa.int64())}
        for name in names:
            columns[name] = pa.array([r[name] for _, r in records], pa.string())
        return pa.table(columns)


FORMAT = FecReader
