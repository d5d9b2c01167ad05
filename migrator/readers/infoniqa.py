"""Infoniqa ONE 50 (formerly Sage 50 Switzerland): the journal export, which is also its import format.

``,``-separated, CR LF, quoted texts, Windows-1252, dates d.m.yyyy, header
``Blg,Datum,Kto,S/H,Grp,GKto,SId,SIdx,KIdx,BTyp,MTyp,Code,Netto,Steuer,FW-Betrag,Tx1,Tx2,PkKey,OpId,Flag``.
One row per account side: ``S`` debits ``Kto``, ``H`` credits it, ``GKto`` is the counter account
(``div`` in collective entries, ``MTyp`` 2). A simple entry appears once from each side, so every
row is one canonical line; the rows of one voucher (consecutive rows with the same ``Blg`` and date)
form one entry.

VAT (*inference* from the reference export, ``../shared/reference/vendors/infoniqa``): a row with a
code in ``SId`` is a VAT base whose ``Netto`` is the **net** amount and ``Steuer`` the VAT on it;
the VAT itself is a row of its own with ``BTyp`` 2, no ``SId``, ``Netto`` the VAT and ``Steuer``
the base it was computed on. Evidence: in voucher 8, ``1021 S 646.20`` faces ``3230 H 597.80``
(``USt77``, ``Steuer`` 48.40) and ``2200 H 48.40`` (``BTyp`` 2, ``Steuer`` 597.80); every one of
the 442 vouchers balances only when ``Netto`` is read as the row's own amount. The VAT row is
linked to its base by those mirrored amounts and takes the base's code.

``FW-Betrag`` is a foreign amount, but the export does not name its currency (Infoniqa takes it
from the account), so non-zero values stay in the extras with a warning. A code's kind comes from the Infoniqa code table (``mappings/vat``), else from its prefix; its
rate is checked against the amounts, because a code keeps its name when the rate changes (the
reference books 2024 sales at 8.1 % under ``USt77``). ``Tx2``, ``Grp``,
``SIdx``, ``KIdx``, ``Code``, ``PkKey``, ``OpId``, ``Flag`` (meaning *unverified*) are kept as extras.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pyarrow as pa

from migrator import vat
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, table
from migrator.parsing import (
    AmountColumn,
    DateColumn,
    ParseError,
    codec_name,
    csv_records,
    decimal_text,
    decode,
    detect_encoding,
    head_text,
)
from migrator.readers.base import ReadOptions, Rows, accounts_from_lines
from migrator.sources import Source
from migrator.validate import SWISS_RATES

HEADER = ("Blg", "Datum", "Kto", "S/H", "Grp", "GKto", "SId", "SIdx", "KIdx", "BTyp", "MTyp", "Code",
          "Netto", "Steuer", "FW-Betrag", "Tx1", "Tx2", "PkKey", "OpId", "Flag")  # fmt: skip
REQUIRED = ("Blg", "Datum", "Kto", "S/H", "Netto")
EXTRAS = ("Grp", "GKto", "SIdx", "KIdx", "BTyp", "MTyp", "Code", "FW-Betrag", "Tx2", "PkKey", "OpId", "Flag")
VAT_ROW = "2"  # BTyp of the row that books the VAT (inference, see module docstring)
# Kind of a code the Infoniqa table lacks, from its prefix (inference from the codes in FORMATS.md
# and the reference export: USN/USt sales, VSM/VSB input VAT on material/investments, VDL acquisition).
KIND_PREFIXES = (("US", "sales"), ("VSM", "input_material"), ("VSB", "input_investment"), ("VDL", "acquisition"))


class InfoniqaReader:
    name = "infoniqa"
    extensions = (".csv",)

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        first = head_text(source.head()).split("\n", 1)[0]
        names = [n.strip().strip('"') for n in first.strip().split(",")]
        if names[:4] == ["Blg", "Datum", "Kto", "S/H"]:
            return 0.95
        return 0.8 if all(r in names for r in REQUIRED) and "GKto" in names else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        data = source.read_bytes()
        encoding = options.encoding or detect_encoding(data)[0]
        try:
            text, encoding = decode(data, encoding, source.name)
            records = list(csv_records(text.lstrip("\ufeff"), ",", source.name))
        except ParseError as exc:
            raise SourceError(str(exc)) from None
        if not records or not any(records[0][1]):
            raise SourceError(N_("the file is empty; expected the header Blg,Datum,Kto,S/H,…"), source.name)
        header = [n.strip() for n in records[0][1]]
        missing = [r for r in REQUIRED if r not in header]
        if missing:
            raise SourceError(
                N_("not an Infoniqa journal: the header lacks {missing}").format(missing=", ".join(missing)),
                source.name,
                1,
            )
        rows = [
            (number, dict(zip(header, (v.strip() for v in values), strict=False)), len(values))
            for number, values in records[1:]
            if any(v.strip() for v in values)
        ]
        lines, vat_codes, extras = _lines(rows, len(header), source.name)
        ledger_lines = lines.lines()
        accounts, notes = accounts_from_lines(ledger_lines, source.name)
        return Ledger(
            company=Company(base_currency="CHF", source_system="Infoniqa ONE 50 / Sage 50"),
            accounts=accounts,
            vat_codes=vat_codes,
            lines=ledger_lines,
            problems=tuple(lines.problems + notes),
            extras={"lines": extras},
            format=self.name,
            encoding=codec_name(encoding),
        )


def _lines(rows: list[tuple[int, dict[str, str], int]], width: int, file: str) -> tuple[Rows, pa.Table, pa.Table]:
    out = Rows(file)
    dates = DateColumn([r.get("Datum", "") for _, r, _ in rows])
    amounts = AmountColumn([r.get(c, "") for _, r, _ in rows for c in ("Netto", "Steuer", "FW-Betrag")])
    extras: dict[str, list[Any]] = {"source_row": [], **{c: [] for c in EXTRAS}}
    entry, previous, foreign = 0, None, 0
    for number, row, count in rows:
        if count != width:
            out.problem(
                number, N_("{count} fields where the header has {width}; row left out").format(count=count, width=width)
            )
            continue
        try:
            date = dates.date(row["Datum"])
            net = amounts.cents(row["Netto"])
            tax = amounts.cents(row.get("Steuer", "")) or 0
            fw = amounts.cents(row.get("FW-Betrag", "")) or 0
        except ParseError as exc:
            out.problem(number, N_("{exc}; row left out").format(exc=exc))
            continue
        side = row["S/H"].upper()
        if date is None or net is None or side not in ("S", "H") or not row["Kto"]:
            what = "date" if date is None else "Netto" if net is None else "account" if not row["Kto"] else "S/H"
            out.problem(
                number, N_("{what} missing or not S/H ({row!r}); row left out").format(what=what, row=row["S/H"])
            )
            continue
        key = (row["Blg"], date)
        if key != previous:
            entry, previous = entry + 1, key
        sign = 1 if side == "S" else -1
        foreign += fw != 0
        out.add(entry=str(entry), date=date, doc=row["Blg"], description=row.get("Tx1", ""), account=row["Kto"],
                amount=sign * net, vat_code=row.get("SId", ""), source_row=number,
                _tax=tax, _vat_row=row.get("BTyp") == VAT_ROW)  # fmt: skip
        extras["source_row"].append(number)
        for column in EXTRAS:
            extras[column].append(row.get(column, ""))
    _link_vat(out)
    vat_codes, notes = _vat_codes(out.rows, file)
    out.problems += notes
    if foreign:
        out.problem(None, N_("{foreign} rows carry a foreign amount (FW-Betrag) without naming its currency; kept as extras, the lines are in base currency").format(foreign=foreign), "warning")  # fmt: skip
    for row in out.rows:
        del row["_tax"], row["_vat_row"]
    return (
        out,
        vat_codes,
        pa.table({k: pa.array(v, pa.int64() if k == "source_row" else pa.string()) for k, v in extras.items()}),
    )


def _link_vat(out: Rows) -> None:
    """Give each VAT row (BTyp 2) its base's code, and each base the VAT booked for it.

    A VAT row mirrors its base: its ``Netto`` is the base's ``Steuer`` and its ``Steuer`` the base's
    ``Netto``; several bases of one code may share one VAT row (their sums mirror it).
    """
    by_entry: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in out.rows:
        by_entry[row["entry"]].append(row)
    for rows in by_entry.values():
        bases = [r for r in rows if r["vat_code"] and not r["_vat_row"]]
        for vat_row in (r for r in rows if r["_vat_row"]):
            vat_row["vat_line"] = True
            linked = _match(vat_row, [b for b in bases if "vat_amount" not in b])
            if not linked:
                if not vat_row["vat_code"]:
                    out.problem(vat_row["source_row"], N_("VAT row (BTyp 2) matches no VAT base of its voucher; "
                                "read as a line without VAT code"), "warning")  # fmt: skip
                    vat_row["vat_line"] = False
                continue
            sign = 1 if vat_row["amount"] >= 0 else -1
            vat_row["vat_code"] = vat_row["vat_code"] or linked[0]["vat_code"]
            for base in linked:
                base["vat_amount"] = sign * abs(base["_tax"])
        for base in bases:
            if "vat_amount" not in base:  # no VAT row: the VAT is signed like its base
                base["vat_amount"] = (1 if base["amount"] >= 0 else -1) * abs(base["_tax"])


def _match(vat_row: dict[str, Any], bases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    vat_amount, base_amount = abs(vat_row["amount"]), abs(vat_row["_tax"])
    for base in bases:
        if abs(base["_tax"]) == vat_amount and abs(base["amount"]) == base_amount:
            return [base]
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for base in bases:
        by_code[base["vat_code"]].append(base)
    for group in by_code.values():
        if sum(abs(b["_tax"]) for b in group) == vat_amount and sum(abs(b["amount"]) for b in group) == base_amount:
            return group
    return []


def _vat_codes(rows: list[dict[str, Any]], file: str) -> tuple[pa.Table, list[Problem]]:
    """The codes the rows use, with kind and rate: from the Infoniqa code table, else from the
    code's prefix; the rate checked against the amounts (a code keeps its name when the rate changes)."""
    accounts: dict[str, str] = {}
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        code = row["vat_code"]
        if not code:
            continue
        accounts.setdefault(code, "")
        if row.get("vat_line"):
            accounts[code] = accounts[code] or row["account"]
        else:
            pairs[code].append((abs(row["amount"]), abs(row["_tax"])))
    out, problems = [], []
    for code, account in sorted(accounts.items()):
        known = vat.identify(code, "infoniqa")
        kind = known.kind if known else next((k for p, k in KIND_PREFIXES if code.upper().startswith(p)), "")
        named = known.rate if known else None
        rate = _rate(pairs[code], named)
        if rate is not None and named is not None and rate != named:
            problems.append(Problem("info", N_("VAT code {code}: its amounts are {percent} of their bases, not the {named} its name suggests; read as {percent}").format(code=code, percent=f"{rate} %", named=f"{named} %"), file))  # fmt: skip
        rate = rate if rate is not None else named
        out.append({"code": code, "account": account, "method": "net", "kind": kind,
                    "rate": decimal_text(rate) if rate is not None else "",
                    "description": known.description if known and rate == named else ""})  # fmt: skip
    return table("vat_codes", out), problems


def _rate(pairs: list[tuple[int, int]], named: Decimal | None) -> Decimal | None:
    """The rate every (base, VAT) pair fits to within 5 centimes: the named rate if it fits, else the
    one Swiss rate that does; None when the amounts do not decide."""
    pairs = [(base, tax) for base, tax in pairs if base and tax]
    if not pairs:
        return None

    def fits(rate: Decimal) -> bool:
        return all(abs(Decimal(tax) - Decimal(base) * rate / 100) <= 5 for base, tax in pairs)

    if named is not None and fits(named):
        return named
    swiss = sorted({r for _, _, rates in SWISS_RATES for r in rates})
    matching = [r for r in swiss if fits(r)]
    return matching[0] if len(matching) == 1 else None


FORMAT = InfoniqaReader
