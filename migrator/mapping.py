"""Account and VAT mapping: rules an accountant keeps in Excel, applied to a ledger exactly.

A map is a folder (or one CSV file) of rules: ``accounts.csv`` and ``vat.csv`` with the columns
``source,target`` and optionally ``target_name,comment``. A source is an exact code (``1020``), a
numeric range (``4000-4999``) or a prefix (``5*``); an exact rule beats a range, a range beats a
prefix, and two rules of one kind that overlap are an error naming both rows. A target ``*`` keeps
the source's own code. A ``chart.csv`` beside the rules (``code,name,type,parent``, or ``name_fr``/
``name_de``; rows of type ``group`` are headings) gives the target accounts their names.

Applying a map moves every line to its target account (many-to-one and one-to-one; amounts are
never touched, so every balance is the exact sum of its sources), translates VAT codes and rebuilds
the chart for the target. An account with lines that no rule covers stops the run.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from migrator import shipped
from migrator.errors import MappingError, UnmappedAccounts
from migrator.i18n import N_
from migrator.model import Ledger, Problem, table
from migrator.money import format_cents
from migrator.parsing import ParseError, decode

MAPPINGS = shipped.MAPPINGS
KEEP = "*"
"""A target of ``*`` keeps the source's own code."""

Kind = Literal["exact", "range", "prefix"]
_PRECEDENCE: tuple[Kind, ...] = ("exact", "range", "prefix")
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@dataclass(frozen=True)
class Rule:
    """One row of ``accounts.csv`` or ``vat.csv``."""

    source: str
    target: str
    target_name: str = ""
    comment: str = ""
    file: str = ""
    row: int = 0

    @property
    def kind(self) -> Kind:
        if self.source.endswith("*"):
            return "prefix"
        return "range" if _RANGE.match(self.source) else "exact"

    @property
    def bounds(self) -> tuple[int, int]:
        match = _RANGE.match(self.source)
        assert match is not None
        return int(match.group(1)), int(match.group(2))

    def matches(self, code: str) -> bool:
        if self.kind == "exact":
            return code == self.source
        if self.kind == "prefix":
            return code.startswith(self.source[:-1])
        low, high = self.bounds
        return code.isdigit() and low <= int(code) <= high

    def target_for(self, code: str) -> str:
        return code if self.target == KEEP else self.target

    def where(self) -> str:
        return f"{self.file} row {self.row}" if self.file else f"row {self.row}"

    def overlaps(self, other: Rule) -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "exact":
            return self.source == other.source
        if self.kind == "prefix":
            a, b = self.source[:-1], other.source[:-1]
            return a.startswith(b) or b.startswith(a)
        (a_low, a_high), (b_low, b_high) = self.bounds, other.bounds
        return a_low <= b_high and b_low <= a_high


@dataclass(frozen=True)
class Applied:
    """The rule that carries one source code, and the target it gives that code."""

    rule: Rule
    source: str
    target: str

    def describe(self) -> str:
        target = "same number" if self.rule.target == KEEP else self.rule.target
        where = f"{self.rule.file}:{self.rule.row}" if self.rule.file else "no accounts.csv"
        return f"{self.rule.source} → {target} ({where})"


@dataclass(frozen=True)
class RuleSet:
    """Rules of one file, looked up by precedence: exact, then range, then prefix."""

    rules: tuple[Rule, ...] = ()

    def find(self, code: str) -> Rule | None:
        for kind in _PRECEDENCE:
            for rule in self.rules:
                if rule.kind == kind and rule.matches(code):
                    return rule
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: str = ""
    parent: str = ""
    names: tuple[str, ...] = ()
    """Every name the chart gives (each language), for matching."""


@dataclass(frozen=True)
class Chart:
    """A chart of accounts: accounts and group headings."""

    accounts: dict[str, ChartAccount] = field(default_factory=dict)
    groups: dict[str, ChartAccount] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A loaded map: account rules, VAT rules and (optionally) the target chart."""

    name: str
    accounts: RuleSet
    vat: RuleSet = field(default_factory=RuleSet)
    chart: Chart = field(default_factory=Chart)
    identity_accounts: bool = False
    """True for a folder with only ``vat.csv``: every account keeps its code."""

    def account(self, code: str) -> Applied | None:
        if self.identity_accounts:
            return Applied(Rule(KEEP, KEEP, comment="no accounts.csv: codes kept"), code, code)
        rule = self.accounts.find(code)
        return Applied(rule, code, rule.target_for(code)) if rule else None

    def rules_for(self, codes: Iterable[str]) -> dict[str, Applied]:
        """The rule applied to each code (codes no rule covers are left out)."""
        found = {}
        for code in codes:
            applied = self.account(code)
            if applied is not None:
                found[code] = applied
        return found


# ------------------------------------------------------------------------------------------- loading


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV as Excel writes it: ``,`` ``;`` or tab, UTF-8 (with or without BOM) or Windows-1252.

    Keys are the lower-cased header names; each row also has ``_row``, its line number in the file.
    """
    try:
        text, _ = decode(path.read_bytes(), file=path.name)
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read: {exc.strerror}") from exc
    except ParseError as exc:
        raise MappingError(str(exc)) from exc
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    out = []
    for number, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values) or values[0].strip().startswith("#"):
            continue
        row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        row["_row"] = str(number)
        out.append(row)
    return out


def _rules(path: Path) -> RuleSet:
    rows = read_table(path)
    problems = []
    rules = []
    for row in rows:
        if "source" not in row or "target" not in row:
            raise MappingError(f"{path.name}: needs the columns source and target (found: {', '.join(row)})")
        number = int(row["_row"])
        if not row["source"]:
            problems.append(f"{path.name} row {number}: no source")
            continue
        if not row["target"]:
            problems.append(f"{path.name} row {number}: {row['source']} has no target (fill it in or delete the row)")
            continue
        rule = Rule(row["source"], row["target"], row.get("target_name", ""), row.get("comment", ""), path.name, number)
        if rule.kind == "range":
            low, high = rule.bounds
            if low > high:
                problems.append(f"{path.name} row {number}: range {rule.source} runs backwards")
                continue
        elif rule.kind == "exact" and ("*" in rule.source or " " in rule.source):
            problems.append(
                f"{path.name} row {number}: {rule.source!r} is not a code, a range 4000-4999 or a prefix 5*"
            )
            continue
        if rule.target == KEEP and rule.target_name:
            problems.append(f"{path.name} row {number}: target * keeps each code, so it cannot carry one target_name")
            continue
        rules.append(rule)
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.overlaps(b):
                problems.append(f"{a.where()} ({a.source}) overlaps {b.where()} ({b.source})")
    if problems:
        raise MappingError(f"{path}: " + "; ".join(problems))
    return RuleSet(tuple(rules))


def load_chart(path: Path) -> Chart:
    """A chart CSV: ``code``, ``name`` (or ``name_fr``, ``name_de``…), ``type``, ``parent``."""
    accounts: dict[str, ChartAccount] = {}
    groups: dict[str, ChartAccount] = {}
    for row in read_table(path):
        code = row.get("code", "")
        if not code:
            continue
        names = tuple(v for k, v in row.items() if (k == "name" or k.startswith("name_")) and v)
        entry = ChartAccount(code, names[0] if names else "", row.get("type", ""), row.get("parent", ""), names)
        (groups if entry.type == "group" else accounts)[code] = entry
    if not accounts and not groups:
        raise MappingError(f"{path}: no accounts (a chart needs a code column)")
    return Chart(accounts, groups)


def resolve(path: str | os.PathLike[str]) -> Path:
    """A map given as a CSV file, a folder, or a name under ``mappings/``."""
    given = Path(path)
    if given.exists():
        return given
    shipped = MAPPINGS / str(path)
    if shipped.is_dir():
        return shipped
    raise MappingError(f"mapping {path}: no such file or folder, and no map of that name in {MAPPINGS}")


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Load a map: a CSV of account rules, a folder with ``accounts.csv``/``vat.csv``, or a shipped name."""
    where = resolve(path)
    if where.is_file():
        if where.name.lower() == "vat.csv":
            return Mapping(where.stem, RuleSet(), _rules(where), identity_accounts=True)
        return Mapping(where.stem, _rules(where))
    accounts, vat, chart = where / "accounts.csv", where / "vat.csv", where / "chart.csv"
    if not accounts.is_file() and not vat.is_file():
        raise MappingError(f"mapping {path}: the folder has neither accounts.csv nor vat.csv")
    return Mapping(
        name=where.name,
        accounts=_rules(accounts) if accounts.is_file() else RuleSet(),
        vat=_rules(vat) if vat.is_file() else RuleSet(),
        chart=load_chart(chart) if chart.is_file() else Chart(),
        identity_accounts=not accounts.is_file(),
    )


# ------------------------------------------------------------------------------------------ applying


def _usage(lines: pa.Table) -> dict[str, tuple[int, int]]:
    """Line count and balance (cents) per account code."""
    if not lines.num_rows:
        return {}
    grouped = lines.group_by("account", use_threads=False).aggregate([("amount", "count"), ("amount", "sum")])
    return {
        code: (int(n), int(s or 0))
        for code, n, s in zip(
            grouped.column("account").to_pylist(),
            grouped.column("amount_count").to_pylist(),
            grouped.column("amount_sum").to_pylist(),
            strict=True,
        )
    }


def _replace(column: pa.ChunkedArray | pa.Array, translation: MappingType[str, str]) -> pa.Array:
    """`column` with each value replaced through `translation` (values not in it kept)."""
    if not translation:
        return column
    keys = pa.array(list(translation), pa.string())
    values = pa.array(list(translation.values()), pa.string())
    index = pc.index_in(column, value_set=keys)
    return pc.if_else(pc.is_valid(index), pc.take(values, index.fill_null(0)), column)


def _code_key(code: str) -> tuple[int, str]:
    return (0, code.zfill(20)) if code.isdigit() else (1, code)


def _agreed(values: Iterable[str]) -> str:
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else ""


def _vat_translation(ledger: Ledger, mapping: Mapping) -> tuple[dict[str, str], list[Problem]]:
    if not mapping.vat:
        return {}, []
    used = set(pc.unique(ledger.lines.column("vat_code")).to_pylist()) | set(
        ledger.vat_codes.column("code").to_pylist()
    )
    translation: dict[str, str] = {}
    problems = []
    for code in sorted(c for c in used if c):
        rule = mapping.vat.find(code)
        if rule is None:
            problems.append(Problem("warning", N_("VAT code {code}: no rule in the map's vat.csv; kept as {code}")
                                    .format(code=code)))  # fmt: skip
        else:
            translation[code] = rule.target_for(code)
    return translation, problems


def _unmapped_message(mapping: Mapping, missing: list[tuple[str, str, int, int]]) -> str:
    listed = "; ".join(
        f"{code} {name or '(no name)'}: {count} line{'s' * (count != 1)}, balance {format_cents(balance)}"
        for code, name, count, balance in missing
    )
    return (
        f"mapping {mapping.name}: {len(missing)} account{'s' * (len(missing) != 1)} with lines but no rule, "
        f"nothing was written: {listed}"
    )


def apply_mapping(ledger: Ledger, mapping: Mapping) -> Ledger:
    """The ledger on the target chart; raise `UnmappedAccounts` if an account with lines has no rule."""
    usage = _usage(ledger.lines)
    source_accounts = ledger.accounts.to_pylist()
    names = {a["code"]: a["name"] for a in source_accounts}
    missing = [
        (code, names.get(code, ""), count, balance)
        for code, (count, balance) in sorted(usage.items(), key=lambda i: _code_key(i[0]))
        if mapping.account(code) is None
    ]
    if missing:
        error = UnmappedAccounts(_unmapped_message(mapping, missing))
        error.accounts = missing  # type: ignore[attr-defined]
        raise error
    problems: list[Problem] = []
    codes = {a["code"] for a in source_accounts} | set(usage)
    applied = mapping.rules_for(sorted(codes, key=_code_key))
    dropped = sorted((c for c in codes if c not in applied), key=_code_key)
    if dropped:
        problems.append(Problem("info", N_("mapping {name}: {count} accounts without lines and without a rule were "
                                           "left out of the target chart: {codes}")
                                .format(name=mapping.name, count=len(dropped), codes=", ".join(dropped))))  # fmt: skip
    moves = {code: a.target for code, a in applied.items()}
    vat_moves, vat_problems = _vat_translation(ledger, mapping)
    problems += vat_problems
    lines = ledger.lines
    lines = lines.set_column(
        lines.schema.get_field_index("account"), "account", _replace(lines.column("account"), moves)
    )
    if vat_moves:
        i = lines.schema.get_field_index("vat_code")
        lines = lines.set_column(i, "vat_code", _replace(lines.column("vat_code"), vat_moves))
    accounts, groups = _target_chart(ledger, mapping, applied, vat_moves)
    vat_codes, vat_notes = _target_vat_codes(ledger, moves, vat_moves)
    notes = vat_notes
    moved: dict[str, pa.Table] = {}
    for name, column_name, table_moves in _BUSINESS_CODES:
        tab = moved.get(name, getattr(ledger, name))
        replacing = moves if table_moves == "accounts" else vat_moves
        if table_moves == "accounts":
            for code in sorted({c for c in tab.column(column_name).to_pylist() if c and c not in moves}):
                notes.append(Problem("warning", N_("{table}: account {code} has no rule in the map; kept as {code}")
                                     .format(table=name, code=code)))  # fmt: skip
        if replacing:
            i = tab.schema.get_field_index(column_name)
            tab = tab.set_column(i, column_name, _replace(tab.column(column_name), replacing))
        moved[name] = tab
    targets = {a.target for c, a in applied.items() if c in usage}
    problems.append(Problem("info", N_("mapping {name}: {count} accounts with lines carried onto {targets} target "
                                       "accounts").format(name=mapping.name, count=len(usage), targets=len(targets))))  # fmt: skip
    return ledger.replace(
        accounts=accounts, groups=groups, lines=lines, vat_codes=vat_codes, **moved,
        problems=ledger.problems + tuple(problems + notes),
    )  # fmt: skip


_BUSINESS_CODES: tuple[tuple[str, str, Literal["accounts", "vat"]], ...] = (
    ("partners", "account", "accounts"),
    ("open_items", "account", "accounts"),
    ("items", "revenue_account", "accounts"),
    ("items", "expense_account", "accounts"),
    ("items", "sale_vat_code", "vat"),
    ("items", "purchase_vat_code", "vat"),
    ("documents", "account", "accounts"),
    ("document_lines", "account", "accounts"),
    ("document_lines", "vat_code", "vat"),
)
"""Account and VAT code columns of the tables beside the journal that a map carries too."""


def translate_vat(ledger: Ledger, target: str) -> tuple[Ledger, dict[str, str]]:
    """The ledger with the VAT codes of the program `target` (the step before writing, after the map).

    Banana, bexio and Infoniqa book VAT from their own codes: each code the ledger uses or defines is
    carried to the target's code of the same kind and rate, valid on the dates it is used
    (`migrator.vat.translate`), on the lines, in the VAT table (codes meeting on one target code keep
    the first one's definition), as the accounts' and items' default codes and on document lines.
    Returns the ledger and what changed (source code → target code; empty when nothing did). A code
    without an equivalent stays as it is (the writer says so); books read from `target` itself keep
    their codes, and a target without a code table takes the ledger unchanged.
    """
    from migrator import vat

    if not target or ledger.format == target or not vat.vendor_codes(target):
        return ledger, {}
    translation, _unknown = vat.translate(ledger, target)
    moves = {code: new for code, new in translation.items() if code and new != code}
    if not moves:
        return ledger, {}

    def renamed(tab: pa.Table, *columns: str) -> pa.Table:
        for name in columns:
            if name in tab.column_names and tab.num_rows:
                tab = tab.set_column(tab.schema.get_field_index(name), name, _replace(tab.column(name), moves))
        return tab

    rows: dict[str, dict[str, Any]] = {}
    for row in ledger.vat_codes.to_pylist():
        rows.setdefault(moves.get(row["code"], row["code"]), {**row, "code": moves.get(row["code"], row["code"])})
    vat_codes = table("vat_codes", list(rows.values())) if len(rows) < ledger.vat_codes.num_rows else renamed(
        ledger.vat_codes, "code")  # fmt: skip
    return ledger.replace(
        lines=renamed(ledger.lines, "vat_code"), vat_codes=vat_codes, accounts=renamed(ledger.accounts, "vat_code"),
        items=renamed(ledger.items, "sale_vat_code", "purchase_vat_code"),
        document_lines=renamed(ledger.document_lines, "vat_code"),
    ), moves  # fmt: skip


def _target_chart(
    ledger: Ledger, mapping: Mapping, applied: dict[str, Applied], vat_moves: dict[str, str]
) -> tuple[pa.Table, pa.Table]:
    """Accounts of the target: one per target code, named by the rule, the chart or the source."""
    by_code = {a["code"]: a for a in ledger.accounts.to_pylist()}
    sources: dict[str, list[str]] = {}
    for code, a in applied.items():
        sources.setdefault(a.target, []).append(code)
    chart = mapping.chart
    rows = []
    for target in sorted(sources, key=_code_key):
        from_codes = sources[target]
        known = [by_code[c] for c in from_codes if c in by_code]
        same = by_code.get(target) if target in from_codes else None
        given = next((applied[c].rule.target_name for c in from_codes if applied[c].rule.target_name), "")
        in_chart = chart.accounts.get(target)
        name = given or (in_chart.name if in_chart else "") or (same or (known[0] if known else {})).get("name", "")
        rows.append({
            "code": target,
            "name": name,
            "type": (in_chart.type if in_chart and in_chart.type else _agreed(a["type"] for a in known)),
            "parent": (in_chart.parent if in_chart and in_chart.parent else _agreed(a["parent"] for a in known)),
            "currency": _agreed(a["currency"] for a in known),
            "vat_code": _agreed(vat_moves.get(a["vat_code"], a["vat_code"]) for a in known),
            "active": any(a["active"] for a in known) or not known,
        })  # fmt: skip
    accounts = table("accounts", rows)
    if not chart.groups:
        return accounts, ledger.groups
    needed: set[str] = set()
    for row in rows:
        parent = row["parent"]
        while parent and parent not in needed and parent in chart.groups:
            needed.add(parent)
            parent = chart.groups[parent].parent
    groups = table("groups", (
        {"code": g.code, "name": g.name, "parent": g.parent}
        for g in sorted((chart.groups[c] for c in needed), key=lambda g: g.code.ljust(8, "0") + str(len(g.code)))
    ))  # fmt: skip
    return accounts, groups


def _target_vat_codes(
    ledger: Ledger, moves: dict[str, str], vat_moves: dict[str, str]
) -> tuple[pa.Table, list[Problem]]:
    rows: dict[str, dict[str, Any]] = {}
    notes = []
    for row in ledger.vat_codes.to_pylist():
        code = vat_moves.get(row["code"], row["code"])
        account = moves.get(row["account"], row["account"])
        if row["account"] and row["account"] not in moves:
            notes.append(Problem("warning", N_("VAT code {code}: account {account} has no rule; kept")
                                 .format(code=row["code"], account=row["account"])))  # fmt: skip
        if code in rows:
            if rows[code]["rate"] != row["rate"] or rows[code]["kind"] != row["kind"]:
                notes.append(Problem("warning", N_("VAT codes {first} and {second} both map to {code} but differ in rate "
                                                   "or kind; the first one's definition was kept")
                                     .format(first=rows[code]["_from"], second=row["code"], code=code)))  # fmt: skip
            continue
        rows[code] = {**row, "code": code, "account": account, "_from": row["code"]}
    return table("vat_codes", list(rows.values())), notes


# ------------------------------------------------------------------------------------------- suggest


def normalise(name: str) -> frozenset[str]:
    """The words of a name without accents, case, punctuation or order (``Débiteurs clients`` → {clients, debiteurs})."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    return frozenset(w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in _STOP_WORDS)


# Little words of French and German account names that say nothing about the account.
_STOP_WORDS = frozenset(
    [
        "de",
        "des",
        "du",
        "la",
        "le",
        "les",
        "l",
        "d",
        "et",
        "a",
        "au",
        "aux",
        "en",
        "sur",
        "s",
        "pour",
        "und",
        "der",
        "die",
        "das",
        "des",
        "aus",
        "fur",
        "von",
        "mit",
        "im",
        "in",
    ]
)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:  # float-ok: a score, not money
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    shared = len(a & b)
    words = shared / len(a | b)
    contained = 0.8 * shared / min(len(a), len(b))
    text = SequenceMatcher(None, " ".join(sorted(a)), " ".join(sorted(b))).ratio()
    return max(words, contained, text * 0.9)


@dataclass(frozen=True)
class Suggestion:
    source: str
    source_name: str
    target: str
    target_name: str
    how: str
    review: bool


def _names(account: ChartAccount) -> list[frozenset[str]]:
    return [normalise(n) for n in (account.names or (account.name,)) if n]


def _best_name(name: frozenset[str], chart: Chart) -> tuple[float, ChartAccount | None]:  # float-ok: a score
    best: tuple[float, ChartAccount | None] = (0.0, None)
    for account in chart.accounts.values():
        score = max((_similarity(name, n) for n in _names(account)), default=0.0)
        if score > best[0]:
            best = (score, account)
    return best


def suggest(source: Iterable[tuple[str, str]], chart: Chart) -> list[Suggestion]:
    """A draft map from source (code, name) pairs onto `chart`: same number, then name, then class."""
    out = []
    for code, name in source:
        words = normalise(name)
        same = chart.accounts.get(code)
        if same is not None:
            score = max((_similarity(words, n) for n in _names(same)), default=0.0)
            if not words or score >= 0.5:
                out.append(Suggestion(code, name, code, same.name, "same number", False))
            else:
                out.append(Suggestion(code, name, code, same.name, "same number, but the names differ", True))
            continue
        score, best = _best_name(words, chart)
        if best is not None and score == 1.0:
            review = best.code[:1] != code[:1]
            how = "same name" + (", in another class" if review else "")
            out.append(Suggestion(code, name, best.code, best.name, how, review))
            continue
        if best is not None and score >= 0.6:
            out.append(Suggestion(code, name, best.code, best.name, f"similar name ({score:.0%})", True))
            continue
        near = _nearest_in_class(code, chart)
        if near is not None:
            out.append(Suggestion(code, name, near.code, near.name, f"same class {code[:1]}, nearest number", True))
        else:
            out.append(Suggestion(code, name, "", "", "no match: choose a target", True))
    return out


def _nearest_in_class(code: str, chart: Chart) -> ChartAccount | None:
    """The account of the same class (first digit) sharing the longest leading digits, then the closest number."""
    same_class = [a for a in chart.accounts.values() if a.code[:1] == code[:1] and code[:1].isdigit()]
    if not same_class:
        return None

    def closeness(account: ChartAccount) -> tuple[int, int]:
        shared = next((i for i, (a, b) in enumerate(zip(account.code, code, strict=False)) if a != b),
                      min(len(account.code), len(code)))  # fmt: skip
        distance = abs(int(account.code) - int(code)) if account.code.isdigit() and code.isdigit() else 10**9
        return (-shared, distance)

    return min(same_class, key=closeness)


def chart_of(path: str | os.PathLike[str]) -> Chart:
    """The chart at `path`: a chart CSV, a map folder or shipped name with a ``chart.csv``, or any ledger migrator reads."""
    where = Path(path)
    if not where.exists() and (MAPPINGS / str(path)).is_dir():
        where = MAPPINGS / str(path)
    if where.is_dir() and (where / "chart.csv").is_file():
        return load_chart(where / "chart.csv")
    if where.is_file() and where.suffix.lower() == ".csv":
        header = read_table_header(where)
        if "code" in header:
            return load_chart(where)
    if not where.exists():
        raise MappingError(f"chart {path}: no such file or folder, and no map of that name in {MAPPINGS}")
    from migrator.pipeline import read

    ledger = read(where)
    return Chart({code: ChartAccount(code, name, kind, parent, (name,)) for code, name, kind, parent in _pairs(ledger)})


def read_table_header(path: Path) -> list[str]:
    rows = read_table(path)
    return [k for k in rows[0] if k != "_row"] if rows else []


def _pairs(ledger: Ledger) -> list[tuple[str, str, str, str]]:
    accounts = {a["code"]: (a["name"], a["type"], a["parent"]) for a in ledger.accounts.to_pylist()}
    for code in pc.unique(ledger.lines.column("account")).to_pylist():
        if code and code not in accounts:
            accounts[code] = ("", "", "")
    return [(c, *accounts[c]) for c in sorted(accounts, key=_code_key)]


def source_accounts(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """(code, name) of every account of a source: a chart CSV, or the chart and lines of any ledger."""
    chart_like = Path(path)
    if chart_like.is_file() and chart_like.suffix.lower() == ".csv" and "code" in read_table_header(chart_like):
        chart = load_chart(chart_like)
        return [(a.code, a.name) for a in sorted(chart.accounts.values(), key=lambda a: _code_key(a.code))]
    from migrator.pipeline import read

    return [(code, name) for code, name, _, _ in _pairs(read(path))]


def write_suggestions(suggestions: list[Suggestion], out: str | os.PathLike[str], *,
                      sources: Iterable[str | os.PathLike[str]] = (), force: bool = False) -> Path:  # fmt: skip
    """Write a draft ``accounts.csv`` (UTF-8 with BOM, so Excel shows the accents); never over `sources`
    or a file migrator did not write (`migrator.outputs`)."""
    from migrator import outputs

    path = Path(out)
    with outputs.placed(path, folder=False, sources=sources, force=force) as temp, \
            temp.open("w", encoding="utf-8-sig", newline="") as handle:  # fmt: skip
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["source", "source_name", "target", "target_name", "comment", "review"])
        for s in suggestions:
            writer.writerow([s.source, _inert(s.source_name), s.target, _inert(s.target_name), s.how,
                             "yes" if s.review else ""])  # fmt: skip
    return path


def _inert(text: str) -> str:
    from migrator.writers.base import inert

    return inert(text)
