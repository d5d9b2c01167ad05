"""VAT codes translated for the target program as a pipeline step before writing (`pipeline.for_target`):
the writer gets the target's codes, verification compares plainly, the report shows old code → new code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc

from migrator import pipeline
from migrator.mapping import translate_vat
from migrator.model import Company, Ledger, table
from migrator.reconcile import compare, vat_totals

# The garage's codes and Infoniqa's of the same kind and rate (mappings/vat/vendor_codes.csv): 7.7 % until
# 2023, 8.1 % from 2024; Infoniqa writes 7.7 % sales USt77 as its real export does.
GARAGE_TO_INFONIQA = {"V77": "USt77", "V81": "USN81", "M77": "VSM77", "M81": "VSM81", "I81": "VSB81"}


def test_the_step_renames_every_code_and_nothing_else(garage: Ledger) -> None:
    written, moves = translate_vat(garage, "infoniqa")
    assert moves == GARAGE_TO_INFONIQA
    lines, before = written.lines, garage.lines
    assert lines.column("vat_code").to_pylist() == [GARAGE_TO_INFONIQA.get(c, c) for c in
                                                    before.column("vat_code").to_pylist()]  # fmt: skip
    for name in ("entry", "account", "amount", "vat_amount", "vat_line", "date"):
        assert lines.column(name).equals(before.column(name))
    assert written.vat_codes.column("code").to_pylist() == ["USt77", "USN81", "VSM77", "VSM81", "VSB81"]
    assert written.vat_codes.column("rate").to_pylist() == ["7.7", "8.1", "7.7", "8.1", "8.1"]
    # the same totals per code, under the new names
    assert vat_totals(written) == {GARAGE_TO_INFONIQA[c]: t for c, t in vat_totals(garage).items()}
    accounts = dict(zip(written.accounts.column("code").to_pylist(), written.accounts.column("vat_code").to_pylist(),
                        strict=True))  # fmt: skip
    assert (accounts["3200"], accounts["3400"], accounts["4200"], accounts["1000"]) == ("USN81", "USN81", "VSM81", "")
    items = {r["code"]: (r["sale_vat_code"], r["purchase_vat_code"]) for r in written.items.to_pylist()}
    assert items["PNEU-H"] == ("USN81", "VSM81") and items["MO"] == ("USN81", "") and items["CHAINE"] == ("", "VSM81")
    assert set(written.document_lines.column("vat_code").to_pylist()) == {"USt77", "USN81", "VSM77", "VSM81",
                                                                          "VSB81", ""}  # fmt: skip


def test_codes_meeting_on_one_target_code_keep_the_first_definition() -> None:
    day = dt.date(2024, 5, 2)
    rows = [{"entry": e, "line": n, "date": day, "account": a, "amount": m, "vat_code": c, "vat_amount": v,
             "vat_line": t} for e, n, a, m, c, v, t in (
                ("1", 1, "1100", 10810, "", None, False), ("1", 2, "3200", -10000, "UN81", -810, False),
                ("1", 2, "2200", -810, "UN81", None, True),
                ("2", 1, "1100", 21620, "", None, False), ("2", 2, "3400", -20000, "USN81", -1620, False),
                ("2", 3, "2200", -1620, "USN81", None, True))]  # fmt: skip
    ledger = Ledger(
        company=Company(base_currency="CHF"),
        vat_codes=table("vat_codes", [{"code": "UN81", "rate": "8.1", "kind": "sales", "description": "bexio"},
                                      {"code": "USN81", "rate": "8.1", "kind": "sales", "description": "Infoniqa"}]),
        lines=table("lines", rows),
    )  # fmt: skip
    written, moves = translate_vat(ledger, "banana")
    assert moves == {"UN81": "V81", "USN81": "V81"}
    assert written.vat_codes.select(["code", "description"]).to_pylist() == [{"code": "V81", "description": "bexio"}]
    assert vat_totals(written) == {"V81": {"base": -30000, "vat": -2430, "declared": -2430}}


def test_books_of_the_target_itself_and_targets_without_codes_are_left_alone(garage: Ledger) -> None:
    own = garage.replace(format="infoniqa")
    assert translate_vat(own, "infoniqa") == (own, {})
    assert translate_vat(garage, "saft") == (garage, {})
    assert translate_vat(garage, "banana") == (garage, {})  # the garage's codes are Banana's own


def test_convert_hands_the_writer_the_target_codes_and_reports_each(samples: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "garage.csv", tmp_path / "report.json"
    result = pipeline.convert(samples / "garage" / "journal.csv", "infoniqa", out, report=report)
    assert result.verification is not None and result.verification.ok, result.verification
    assert result.vat_codes == GARAGE_TO_INFONIQA
    used = set(pc.unique(result.written.lines.column("vat_code")).to_pylist()) - {""}
    assert used == {"USt77", "USN81", "VSM77", "VSM81", "VSB81"}
    assert set(pc.unique(result.reread.lines.column("vat_code")).to_pylist()) - {""} == used
    # verification compared the translated books plainly: the source's own codes differ from the output's
    plain = compare(result.source, result.compared, ("lines", "entries"), declared=result.not_carried)
    assert not plain.ok and any(d.startswith("VAT V81 2024") for d in plain.differences)
    rows = {r["code"]: r for r in json.loads(report.read_text(encoding="utf-8"))["vat_rows"]}
    assert {code: r["target"] for code, r in rows.items()} == GARAGE_TO_INFONIQA
    assert all((r["base"], r["vat"]) == (r["base_after"], r["vat_after"]) for r in rows.values())
    # e.g. V81 in the garage journal: sales at 8.1 % in 2024
    assert rows["V81"]["base"] == rows["V81"]["base_after"] != "0.00"
