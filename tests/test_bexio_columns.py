"""bexio writer and reader over whole columns: the same files, as-kept lines and ledgers as the
per-entry code (`entry_bodies`, `fold`), on ledgers with VAT of every kind (one or several base and
VAT lines, VAT to the cent or to 0.05, off by a few cents, 0.00 VAT lines, VAT on other accounts,
unknown rates, foreign lines, texts that look like formulas or placeholders)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.model import Company, FiscalYear, Ledger, table
from migrator.readers import bexio as reader
from migrator.sources import Source
from migrator.vatfold import vat_plan
from migrator.writers import bexio as writer
from migrator.writers.base import entries

RATES = {"V81": ("8.1", "2200"), "V26": ("2.6", "2200"), "M81": ("8.1", "1170"), "V38": ("3.8", "2201"),
         "Z0": ("0", "2200"), "H100": ("100", "2200"), "X3": ("19.25", "2200")}  # fmt: skip
TEXTS = ["Vente", "=SUM(1)", "Achat é", "", 'a", "b', "\\", "\x00number:1.5", "x\r\ny", "\t=x", "a;b", "-5", "ü€𝄞"]


def _vat(amount: int, code: str, step: int) -> int:
    rate = Decimal(RATES[code][0]) if code in RATES else Decimal(5)
    return int((Decimal(amount) * rate / 100 / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step


@st.composite
def _entry(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One balanced entry: plain, or VAT of one or two codes with one or more base and VAT lines."""
    kind = draw(st.sampled_from(["plain", "one", "one", "one", "bases", "vats", "zero", "two", "other", "foreign"]))
    if kind == "plain":
        amount = draw(st.integers(1, 10**7))
        return [{"account": "6000", "amount": amount}, {"account": "1020", "amount": -amount}]
    lines: list[dict[str, Any]] = []
    for _ in range(2 if kind == "two" else 1):
        code = draw(st.sampled_from([*RATES, "UNK"]))
        step, sign = draw(st.sampled_from([1, 5])), draw(st.sampled_from([1, -1]))
        bases = [sign * draw(st.one_of(st.integers(1, 400), st.integers(1, 10**6), st.integers(1, 10**9)))
                 for _ in range(draw(st.integers(2, 3)) if kind == "bases" else 1)]  # fmt: skip
        total = sum(_vat(b, code, step) for b in bases) + draw(st.sampled_from([0, 0, 1, -1, 2, -3, 5, -5]))
        for amount in bases:
            declared = total if len(bases) == 1 else _vat(amount, code, step)
            lines.append({"account": draw(st.sampled_from(["3200", "4200"])), "amount": amount, "vat_code": code,
                          "vat_amount": declared if draw(st.booleans()) else None})  # fmt: skip
        account = "1020" if kind == "other" else RATES.get(code, ("", "2200"))[1]
        for vat in [total - total // 2, total // 2] if kind == "vats" else [0 if kind == "zero" else total]:
            lines.append({"account": account, "amount": vat, "vat_code": code, "vat_line": True})
    if kind == "foreign":
        lines[0].update(currency="EUR", amount_currency=lines[0]["amount"], rate="1.0")
    rest = sum(line["amount"] for line in lines)
    lines.append({"account": draw(st.sampled_from(["1100", "2000"])), "amount": -rest})
    return draw(st.permutations(lines))


@st.composite
def vat_ledgers(draw: st.DrawFn) -> Ledger:
    rows: list[dict[str, Any]] = []
    for number, lines in enumerate(draw(st.lists(_entry(), min_size=1, max_size=25)), start=1):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 365)))
        for position, line in enumerate(lines, start=1):
            rows.append({"entry": str(number), "line": position, "date": day, "doc": draw(st.sampled_from(TEXTS)),
                         "description": draw(st.sampled_from(TEXTS)), "source_file": "books.csv",
                         "source_row": len(rows) + 2, **line})  # fmt: skip
    accounts = table("accounts", ({"code": c, "name": c, "type": "asset"} for c in
                                  ("1020", "1100", "1170", "2000", "2200", "2201", "3200", "4200", "6000")))  # fmt: skip
    vat_codes = table(
        "vat_codes", ({"code": c, "rate": r, "kind": "sales", "account": a} for c, (r, a) in RATES.items())
    )
    company = Company(name="Muster AG", base_currency="CHF",
                      fiscal_years=(FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),))  # fmt: skip
    return Ledger(company=company, accounts=accounts, vat_codes=vat_codes, lines=table("lines", rows))


def _former_kept(ledger: Ledger, step: int) -> pa.Table:
    """`writer.kept_lines` as it was: every entry bexio books otherwise rebuilt through `fold`."""
    lines, plan = ledger.lines, vat_plan(ledger, "bexio")
    chosen = pc.is_in(lines.column("entry"), pa.array(sorted(writer._changed_by_sums(lines, plan, step)), pa.string()))
    rebuilt: list[dict[str, Any]] = []
    for entry_lines in entries(lines.filter(chosen)):
        rows, _ = writer.fold(entry_lines, plan, step)
        out = writer._kept_rows(rows, plan, step)
        rebuilt += [{**line, "line": number} for number, line in enumerate(out, start=1)]
    return pa.concat_tables([lines.filter(pc.invert(chosen)), table("lines", rebuilt)])


def _messages(problems: list[Any]) -> list[tuple[str, str, str, int | None]]:
    return [(p.severity, p.message, p.file, p.row) for p in problems]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(vat_ledgers(), st.sampled_from([1, 5]))
def test_files_and_kept_lines_are_the_per_entry_ones(tmp_path_factory: Any, ledger: Ledger, step: int) -> None:
    """manual_entries.json and .csv, their warnings, the entries bexio books otherwise and the as-kept
    lines: those the per-entry code gives."""
    plan = vat_plan(ledger, "bexio")
    bodies, problems = writer.entry_bodies(ledger, step)
    folder = Path(tmp_path_factory.mktemp("bexio"))
    with (
        (folder / "e.json").open("w", encoding="utf-8") as json_file,
        (folder / "e.csv").open("w", encoding="utf-8") as csv_file,
    ):
        json_file.write("[")
        count, written = writer.write_entries(ledger, step, plan, json_file, csv_file)
        json_file.write("\n]\n")
    assert (folder / "e.json").read_text("utf-8") == writer.entries_json([body for body, _ in bodies]) + "\n"
    sheet = writer._csv(writer.CSV_COLUMNS, [row for body, _ in bodies for row in writer._sheet(body)])
    assert writer._csv(writer.CSV_COLUMNS, []) + (folder / "e.csv").read_bytes().decode("utf-8") == sheet
    assert (count, _messages(written)) == (len(bodies), _messages(problems))
    assert writer._changed_entries(ledger.lines, plan, step) == writer._changed_by_sums(ledger.lines, plan, step)
    assert writer.kept_lines(ledger, step).equals(_former_kept(ledger, step))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(vat_ledgers(), st.integers(1, 9))
def test_lines_read_in_batches_are_the_lines_read_at_once(tmp_path_factory: Any, ledger: Ledger, size: int) -> None:
    """The reader's lines made columns a few at a time: the same table as all at once."""
    folder = Path(tmp_path_factory.mktemp("bexio"))
    writer.BexioWriter().write(ledger, folder)
    bodies = json.loads((folder / "manual_entries.json").read_text("utf-8"), parse_float=Decimal)
    taxes = reader._read_taxes(Source(folder), reader.Found())
    tables = []
    for batch in (size, None):
        lines = reader._Lines(batch=batch)
        for number, body in enumerate(bodies, start=1):
            lines.entry(body, number, "manual_entries.json", taxes, Counter(), 5)
        tables.append(lines.table("CHF"))
    assert tables[0].equals(tables[1])
    assert tables[0].num_rows >= ledger.lines.num_rows - sum(ledger.lines.column("vat_line").to_pylist())
