"""Run my Accounts: the GL import CSV, alone or in a folder beside the chart CSV.

Journal (``../shared/FORMATS.md``): a header naming at least ``reference, transdate, accno,
debit, credit`` (also ``department, description, notes, currency, exchangerate, source, memo,
projectnumber``), ``,`` ``;`` or tab; consecutive rows with one reference form one entry. Dates and
numbers follow the user's settings, so each column's layout is decided from all its values
(``03.01.19``, ``03.01.2019``; ``275,12``, ``1'275.12``). A row in another currency than the base
(the currency of rows at rate 1, else CHF) is converted at its exchange rate, rounded half up to
the cent. ``description`` is the entry's text, ``memo`` a line's own; ``department`` is read as
the cost centre; ``notes``, ``source`` and ``projectnumber`` are kept as extras.

Chart (``accno, description, charttype, category, link``): ``A`` rows are accounts (category A
asset, L liability, Q equity, I income, E expense), ``H`` rows headings, each account belonging
to the last heading above it.

Customers and vendors (``customers.csv``, ``vendors.csv`` beside the journal: a header with
``customernumber`` or ``vendornumber`` and ``name``): partners, see `_partners`.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any, cast

import pyarrow as pa

from migrator import columns
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import SCHEMAS, Company, Ledger, Problem, conform, pylist, table
from migrator.parsing import (
    MAX_CENTS,
    ParseError,
    codec_name,
    csv_records,
    decode,
    detect_encoding,
    head_text,
    parse_cents,
    parse_date,
    parse_rate,
)
from migrator.readers.base import ReadOptions, Rows, accounts_from_lines, merge_accounts
from migrator.rowwise import collector_paused
from migrator.sources import Source

REQUIRED = ("reference", "transdate", "accno", "debit", "credit")
CHART_REQUIRED = ("accno", "description", "charttype")
EXTRAS = ("notes", "source", "projectnumber")
TYPES = {"A": "asset", "L": "liability", "Q": "equity", "I": "income", "E": "expense"}


def _header(head: bytes) -> tuple[str, list[str]]:
    first = head_text(head).split("\n", 1)[0].strip()
    separator = max((",", ";", "\t"), key=first.count)
    return separator, [n.strip().strip('"').strip().lower() for n in first.split(separator)]


def _is_journal(head: bytes) -> bool:
    return all(r in _header(head)[1] for r in REQUIRED)


def _is_chart(head: bytes) -> bool:
    return all(r in _header(head)[1] for r in CHART_REQUIRED)


class RunMyAccountsReader:
    name = "runmyaccounts"
    extensions = (".csv",)

    def sniff(self, source: Source) -> float:
        if not source.is_dir:
            return 0.9 if _is_journal(source.head()) else 0.0
        files = [source.child(p) for p in sorted(source.path.iterdir()) if p.is_file()]
        return 0.9 if any(_is_journal(f.head()) for f in files) else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        journal, chart, contacts = source, None, []
        if source.is_dir:
            files = [source.child(p) for p in sorted(source.path.iterdir()) if p.is_file()]
            journals = [f for f in files if _is_journal(f.head())]
            if len(journals) != 1:
                raise SourceError(N_("expected one GL import CSV (header reference, transdate, accno, debit, credit), found {count}").format(count=len(journals)), source.name)  # fmt: skip
            journal = journals[0]
            chart = next((f for f in files if f is not journal and _is_chart(f.head())), None)
            contacts = [f for f in files if _contacts_kind(f.head())]
        header, records, encoding = _table(journal, options, REQUIRED)
        out = _Lines(journal.name)
        with collector_paused():
            currencies = _column(header, records, "currency")
            rates = _column(header, records, "exchangerate")
            base = _base_currency(currencies, rates, _rates(rates))
            extras = _lines(header, records, out, base)
        lines = out.lines()
        problems: list[Problem] = list(out.problems)
        groups = table("groups")
        if chart is not None:
            accounts, groups, chart_problems = _chart(chart, options)
            accounts, added = merge_accounts(accounts, lines, chart.name)
            problems += chart_problems + added
        else:
            accounts, notes = accounts_from_lines(lines, journal.name)
            problems += notes
        partners, contact_problems, contact_extras = _partners(contacts, options)
        problems += contact_problems
        return Ledger(
            company=Company(base_currency=base, source_system="Run my Accounts"),
            accounts=accounts,
            groups=groups,
            partners=partners,
            lines=lines,
            problems=tuple(problems),
            extras={"lines": extras, **({"partners": _extras_table(contact_extras)} if contact_extras else {})},
            format=self.name,
            encoding=codec_name(encoding),
        )


def _table(source: Source, options: ReadOptions, required: tuple[str, ...]) -> tuple[list[str], list[Any], str]:
    data = source.read_bytes()
    if not data:
        raise SourceError(
            N_("the file is empty; expected a header with {required}").format(required=", ".join(required)), source.name
        )
    encoding = options.encoding or detect_encoding(data)[0]
    try:
        text, encoding = decode(data, encoding, source.name)
        text = text.lstrip("\ufeff")
        separator, _ = _header(text[:4096].encode("utf-8"))
        records = []
        header: list[str] = []
        for line, values in csv_records(text, separator, source.name):
            if not header:
                header = [v.strip().lower() for v in values]
                continue
            if "".join(values).strip():
                records.append((line, values))
    except ParseError as exc:
        raise SourceError(str(exc)) from None
    missing = [r for r in required if r not in header]
    if missing:
        raise SourceError(N_("the header lacks {missing}").format(missing=", ".join(missing)), source.name, 1)
    return header, records, encoding


def _fields(header: list[str], values: list[str]) -> dict[str, str]:
    return {name: value.strip() for name, value in zip(header, values, strict=False)}


class _Lines(Rows):
    """The journal's lines, kept as columns (`_lines` fills `columns`)."""

    columns: dict[str, list[Any]]

    def lines(self) -> pa.Table:
        lines = dict(self.columns)
        seen: dict[str, int] = {}
        numbers = []
        for entry in lines["entry"]:
            seen[entry] = seen.get(entry, 0) + 1
            numbers.append(seen[entry])
        lines["line"] = numbers
        lines["source_file"] = [self.file] * len(numbers)
        schema = SCHEMAS["lines"]
        return conform("lines", {k: pa.array(v, schema.field(k).type) for k, v in lines.items()})


def _columns(header: list[str], records: list[Any], names: tuple[str, ...]) -> dict[str, list[str]]:
    """`_column` of each name, a whole row at a time where every row is as long as the header."""
    width = len(header)
    if not records or any(len(values) != width for _, values in records):
        return {name: _column(header, records, name) for name in names}
    where = [(name, width - 1 - header[::-1].index(name)) for name in names if name in header]
    columns = zip(*(itemgetter(*(i for _, i in where))(values) for _, values in records), strict=True)
    found = {name: list(map(str.strip, column)) for (name, _), column in zip(where, columns, strict=True)}
    return {name: found.get(name, [""] * len(records)) for name in names}


def _column(header: list[str], records: list[Any], name: str) -> list[str]:
    """The stripped values of column `name` of every record ("" where a row is too short or the header
    lacks it); a name the header repeats is its last column, as in `_fields`."""
    if name not in header:
        return [""] * len(records)
    index = len(header) - 1 - header[::-1].index(name)
    return [values[index].strip() if index < len(values) else _fields(header, values).get(name, "")
            for _, values in records]  # fmt: skip


def _rates(texts: list[str]) -> dict[str, str | ParseError]:
    """`parse_rate` of each distinct text and of "1" (or the error it raises)."""
    found: dict[str, str | ParseError] = {}
    for text in {*texts, "1"}:
        try:
            found[text] = parse_rate(text)
        except ParseError as exc:
            found[text] = exc
    return found


def _base_currency(currencies: list[str], rates: list[str], parsed: dict[str, str | ParseError]) -> str:
    """The currency of rows at exchange rate 1 (or none), by majority; CHF if the file never says."""
    votes: Counter[str] = Counter()
    for currency, text in zip(currencies, rates, strict=True):
        if not currency:
            continue
        rate = parsed[text or "1"]
        if not isinstance(rate, ParseError) and rate in ("1", ""):  # an error: the row itself reports it
            votes[currency.upper()] += 1
    return votes.most_common(1)[0][0] if votes else "CHF"


def _amounts(header: list[str], records: list[Any], texts: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Cents (or the `ParseError`) of each debit and credit, the decimal mark decided from both columns
    (only from the rows that have the column)."""
    present: list[str] = []
    for name in ("debit", "credit"):
        index = len(header) - 1 - header[::-1].index(name)
        present += [v for v, (_, values) in zip(texts[name], records, strict=True)
                    if index < len(values) or name in header[: len(values)]]  # fmt: skip
    mark = columns.decimal_mark(present, ".")
    out: dict[str, list[Any]] = {}
    for name in ("debit", "credit"):
        fast, undecided = columns.cents(texts[name], mark)
        cents, errors = columns.complete(fast, undecided, texts[name], lambda t: parse_cents(t, mark))
        found: list[Any] = cents.to_pylist()
        for index, exc in errors.items():
            found[index] = exc
        out[name] = found
    return out


def _lines(header: list[str], records: list[Any], out: _Lines, base: str) -> pa.Table:
    """The lines (in `out`'s rows as columns) and the extras table; problems go to `out`."""
    names = ("reference", "transdate", "accno", "debit", "credit", "exchangerate", "currency", "memo",
             "description", "department", *EXTRAS)  # fmt: skip
    texts = _columns(header, records, names)
    day_texts = texts["transdate"]
    layout = columns.date_layout(day_texts)
    fast, undecided = columns.dates(day_texts, layout)
    days, day_errors = columns.complete(fast, undecided, day_texts, lambda t: parse_date(t, layout))
    dates = pylist(days)
    amounts = _amounts(header, records, texts)
    rates = _rates(texts["exchangerate"])
    kept: list[int] = []
    made: dict[str, list[Any]] = {k: [] for k in ("entry", "amount", "currency", "amount_currency", "rate")}
    foreign_rows: list[int] = []
    entry, previous = 0, None
    for i, (number, values) in enumerate(records):
        if len(values) != len(header):
            out.problem(
                number,
                N_("{count} fields where the header has {count_b}; row left out").format(
                    count=len(values), count_b=len(header)
                ),
            )
            continue
        date, debit, credit, rate = dates[i], amounts["debit"][i], amounts["credit"][i], rates[texts["exchangerate"][i]]
        failed = day_errors.get(i) if day_errors else None
        for value in (debit, credit, rate):
            if failed is None and isinstance(value, ParseError):
                failed = value
        if failed is not None:
            out.problem(number, N_("{exc}; row left out").format(exc=failed))
            continue
        debit, credit, rate = debit or 0, credit or 0, cast(str, rate)
        account, reference = texts["accno"][i], texts["reference"][i]
        if date is None or not account:
            out.problem(
                number, N_("{value} is empty; row left out").format(value="transdate" if date is None else "accno")
            )
            continue
        if reference != previous:
            entry, previous = entry + 1, reference
        amount, currency, foreign = debit - credit, texts["currency"][i].upper(), None
        if currency and currency != base:
            if not rate or Decimal(rate) <= 0:
                out.problem(
                    number, N_("{currency} row without an exchange rate; row left out").format(currency=currency)
                )
                continue
            try:
                converted = (Decimal(debit - credit) * Decimal(rate)).quantize(Decimal(1), ROUND_HALF_UP)
            except ArithmeticError:  # more digits than a Decimal holds
                converted = Decimal(MAX_CENTS + 1)
            if abs(converted) > MAX_CENTS:
                out.problem(
                    number,
                    N_("{currency} amount × exchange rate {rate} is too large; row left out").format(
                        currency=currency, rate=rate
                    ),
                )
                continue
            amount, foreign = int(converted), debit - credit
        else:
            currency, rate = "", ""
        kept.append(i)
        made["entry"].append(str(entry))
        made["amount"].append(amount)
        if currency:
            made["currency"].append(currency)
            made["amount_currency"].append(foreign)
            made["rate"].append(rate)
            foreign_rows.append(len(kept) - 1)
    lines: dict[str, list[Any]] = dict(made)
    lines["date"] = [dates[i] for i in kept]
    lines["doc"] = [texts["reference"][i] for i in kept]
    lines["account"] = [texts["accno"][i] for i in kept]
    lines["description"] = [texts["memo"][i] or texts["description"][i] for i in kept]
    lines["cost_centre"] = [texts["department"][i] for i in kept]
    lines["source_row"] = [records[i][0] for i in kept]
    for name, blank in (("currency", ""), ("amount_currency", None), ("rate", "")):
        column: list[Any] = [blank] * len(kept)
        for at, value in zip(foreign_rows, made[name], strict=True):
            column[at] = value
        lines[name] = column
    out.columns = lines
    extras = {"source_row": lines["source_row"], **{name: [texts[name][i] for i in kept] for name in EXTRAS}}
    return pa.table({k: pa.array(v, pa.int64() if k == "source_row" else pa.string()) for k, v in extras.items()})


def _chart(source: Source, options: ReadOptions) -> tuple[pa.Table, pa.Table, list[Problem]]:
    header, records, _ = _table(source, options, CHART_REQUIRED)
    accounts, groups, problems = [], [], []
    heading = ""
    for number, values in records:
        if len(values) != len(header):
            problems.append(Problem("error", N_("{count} fields where the header has {count_b}; row left out").format(count=len(values), count_b=len(header)),
                                    source.name, number))  # fmt: skip
            continue
        row = _fields(header, values)
        kind = row["charttype"].upper()
        if not row["accno"] or kind not in ("A", "H"):
            problems.append(Problem("error", N_("chart row needs an accno and charttype A or H (got {accno!r}, {charttype!r}); row left out").format(accno=row['accno'], charttype=row['charttype']), source.name, number))  # fmt: skip
            continue
        if kind == "H":
            heading = row["accno"]
            groups.append({"code": row["accno"], "name": row["description"]})
        else:
            accounts.append({"code": row["accno"], "name": row["description"], "parent": heading, "active": True,
                             "type": TYPES.get(row.get("category", "").upper(), "")})  # fmt: skip
    return table("accounts", accounts), table("groups", groups), problems


NUMBERS = {"customernumber": "customer", "vendornumber": "supplier"}
CONTACT_FIELDS = {
    "name": "name", "firstname": "first_name", "lastname": "last_name", "address1": "street",
    "address2": "address_line2", "zipcode": "zip", "city": "city", "country": "country", "phone": "phone",
    "mobile": "mobile", "email": "email", "language_code": "language", "arap_accno": "account", "notes": "notes",
}  # fmt: skip


def _extras_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Extras rows as a table: ``source_file``, ``source_row``, ``id`` and a text column per other name."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name, None if name == "source_row" else "") for row in rows],
                                    pa.int64() if name == "source_row" else pa.string()) for name in names})  # fmt: skip


def _contacts_kind(head: bytes) -> str:
    """``customer`` or ``supplier`` for a customers or vendors CSV (header with ``customernumber`` or
    ``vendornumber`` and ``name``), else ""."""
    names = _header(head)[1]
    return next((role for column, role in NUMBERS.items() if column in names and "name" in names), "")


def _partners(sources: list[Source], options: ReadOptions) -> tuple[pa.Table, list[Problem], list[dict[str, Any]]]:
    """Customers and vendors (the fields of Run my Accounts' API, FORMATS.md): one partner per row; a
    vendor whose number is a customer's (the first of that number) makes that partner both. ``typeofcontact`` company or person,
    ``address1`` the street as written, ``terms`` the payment terms in days. Other columns that hold
    something (``salutation``, ``payment_accno``…) are returned as extras rows."""
    found: list[dict[str, Any]] = []
    first: dict[tuple[str, str], dict[str, Any]] = {}  # (code, file's role) -> its first partner
    problems: list[Problem] = []
    extras: list[dict[str, Any]] = []
    for source in sources:
        role = _contacts_kind(source.head())
        number = next(column for column, r in NUMBERS.items() if r == role)
        header, records, _ = _table(source, options, (number, "name"))
        for line, values in records:
            if len(values) != len(header):
                problems.append(Problem("error", N_("{count} fields where the header has {count_b}; row left out").format(count=len(values), count_b=len(header)), source.name, line))  # fmt: skip
                continue
            row = _fields(header, values)
            code = row[number]
            other = next((p for (c, r), p in first.items() if c == code and r != role), None)
            if other is not None and other["roles"] != "both":
                other["roles"] = "both"  # the same number among customers and vendors: one partner
                first[(code, role)] = other
                continue
            if (code, role) in first:
                problems.append(Problem("warning", N_("{number} {code!r} is on an earlier row too; both kept").format(number=number, code=code),
                                        source.name, line))  # fmt: skip
            partner: dict[str, Any] = {"id": code, "roles": role}
            partner.update({column: row.get(field, "") for field, column in CONTACT_FIELDS.items()})
            kind = row.get("typeofcontact", "").lower()
            partner["kind"] = kind if kind in ("company", "person") else ""
            terms = row.get("terms", "")
            if terms:
                if terms.lstrip("-").isdigit() and abs(int(terms)) < 2**31:
                    partner["payment_terms"] = int(terms)
                else:
                    problems.append(Problem("error", N_("terms {terms!r} is not a number of days; left empty").format(terms=terms),
                                            source.name, line))  # fmt: skip
            first.setdefault((code, role), partner)
            found.append(partner)
            used = {number, "typeofcontact", "terms", *CONTACT_FIELDS}
            rest = {k: v for k, v in row.items() if k not in used and v}
            if rest:
                extras.append({"source_file": source.name, "source_row": line, "id": code, **rest})
    return table("partners", found), problems, extras


FORMAT = RunMyAccountsReader
