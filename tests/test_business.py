"""Verification of the business tables: partners, items, documents and document lines compared by key
and by field, declared losses honoured, counts per table in the comparison."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from migrator import pipeline
from migrator.model import Problem
from migrator.reconcile import compare, compare_tables, declared_aspects


def _set(table: pa.Table, key: str, ident: str, column: str, value: object) -> pa.Table:
    """`table` with `column` of the row whose `key` is `ident` set to `value`."""
    rows = table.to_pylist()
    for row in rows:
        if row[key] == ident:
            row[column] = value
    return pa.Table.from_pylist(rows, schema=table.schema)


def test_the_same_books_compare_equal_with_counts_per_table(garage) -> None:  # type: ignore[no-untyped-def]
    result = compare(garage, garage, ("entries",))
    assert result.verdict == "verified"
    assert result.tables == [
        {"table": "partners", "before": 11, "after": 11, "matched": 11, "missing": 0, "added": 0, "differing": 0},
        {"table": "open_items", "before": 2, "after": 2, "matched": 2, "missing": 0, "added": 0, "differing": 0},
        {"table": "items", "before": 9, "after": 9, "matched": 9, "missing": 0, "added": 0, "differing": 0},
        {"table": "documents", "before": 9, "after": 9, "matched": 9, "missing": 0, "added": 0, "differing": 0},
        {"table": "document_lines", "before": 16, "after": 16, "matched": 16, "missing": 0, "added": 0,
         "differing": 0},
    ]  # fmt: skip
    assert result.as_dict()["tables"] == result.tables


def test_a_changed_field_fails_unless_declared(garage) -> None:  # type: ignore[no-untyped-def]
    after = garage.replace(
        partners=_set(garage.partners, "id", "C002", "building_number", ""),
        items=_set(garage.items, "code", "HUILE", "sale_price", 1990),
    )
    result = compare(garage, after, ("entries",))
    assert result.verdict == "failed"
    assert result.differences == [
        "partners: 1 field(s) differ: C002 building_number: '8' before, '' after",
        "items: 1 field(s) differ: HUILE sale_price: 2000 before, 1990 after",
    ]
    counts = {t["table"]: (t["matched"], t["differing"]) for t in result.tables}
    assert counts == {"partners": (11, 1), "open_items": (2, 0), "items": (9, 1), "documents": (9, 0),
                      "document_lines": (16, 0)}  # fmt: skip
    declared = [Problem("info", "11 partner fields not carried by this format: building numbers are in the street"),
                Problem("info", "9 items not carried by this format: prices rounded to 5 centimes")]  # fmt: skip
    result = compare(garage, after, ("entries",), declared=declared)
    assert result.verdict == "verified with declared losses" and result.differences == []
    assert len(result.losses) == 2 and "(declared: 11 partner fields not carried" in result.losses[0]


def test_an_open_amount_read_back_otherwise_fails(garage) -> None:  # type: ignore[no-untyped-def]
    """Open items are compared field by field (an invoice and a bill may share a number: kind and id key them)."""
    after = garage.replace(open_items=_set(garage.open_items, "id", "R24-002", "open_amount", 432000))
    result = compare(garage, after, ("entries",))
    assert result.differences == [
        "open items: 1 field(s) differ: invoice/R24-002 open_amount: 432400 before, 432000 after"
    ]
    bill = garage.replace(open_items=_set(garage.open_items, "id", "F24-202", "id", "R24-002"))  # same number
    assert compare(bill, bill, ("entries",)).verdict == "verified"


def test_missing_and_added_rows_by_key(garage) -> None:  # type: ignore[no-untyped-def]
    keep = pc.not_equal(garage.documents.column("id"), "R24-002")
    lines = garage.document_lines
    after = garage.replace(
        documents=garage.documents.filter(keep),
        document_lines=pa.concat_tables([lines, lines.slice(0, 1)]),  # R23-001 line 1 twice
    )
    result = compare(garage, after, ("entries",))
    assert result.differences == [
        "documents: 9 before, 8 after (1 missing after, 0 not there before; first missing: R24-002)",
        "document lines: 16 before, 17 after (0 missing after, 1 not there before; first added: R23-001/1/#2)",
    ]


def test_a_table_the_target_keeps_not_is_a_loss_the_registry_declares(garage) -> None:  # type: ignore[no-untyped-def]
    empty = garage.items.slice(0, 0)
    after = garage.replace(items=empty)
    kept = compare(garage, after, ("entries", "items"), target="sqlite")
    assert kept.verdict == "failed"  # the archive says it keeps items: losing them is a difference
    dropped = compare(garage, after, ("entries",), target="hledger")
    assert dropped.verdict == "verified with declared losses"
    assert dropped.losses == ["items: 9 before, 0 after (9 missing after, 0 not there before; first missing: MO, "
                              "PNEU-H, PNEU-E, JANTE, HUILE) (declared: hledger keeps no items, as its registry entry "
                              "says)"]  # fmt: skip


@pytest.mark.parametrize(
    ("message", "aspects"),
    [("9 items not carried by this format: left out", {"items"}),
     ("3 partner fields not carried by this format: fax", {"partners"}),
     ("2 open items not carried by this format: left out", {"open_items"}),
     ("5 documents not carried by this format: left out", {"documents"}),
     ("16 document lines not carried by this format: left out", {"document_lines"}),
     ("4 articles not carried by this format: left out", {"items"})],
)  # fmt: skip
def test_declarations_of_the_new_tables(message: str, aspects: set[str]) -> None:
    assert declared_aspects(Problem("info", message)) == aspects


def test_compare_tables_alone_counts_without_judging(garage) -> None:  # type: ignore[no-untyped-def]
    after = garage.replace(partners=garage.partners.slice(0, 3))
    counts = compare_tables(garage, after)
    assert counts[0] == {"table": "partners", "before": 11, "after": 3, "matched": 3, "missing": 8, "added": 0,
                         "differing": 0}  # fmt: skip


def test_winbiz_to_the_archives_verifies_every_table(tmp_path: Path, samples: Path) -> None:
    source = samples / "winbiz" / "DAT" / "garage"
    for target, out in (("sqlite", tmp_path / "garage.sqlite"), ("xlsx", tmp_path / "garage.xlsx")):
        result = pipeline.convert(source, target, out)
        assert result.verification is not None and result.verification.verdict == "verified", target
        assert [(t["table"], t["after"], t["differing"]) for t in result.verification.tables] == [
            ("partners", 11, 0), ("open_items", 2, 0), ("items", 9, 0), ("documents", 9, 0), ("document_lines", 16, 0),
        ], target  # fmt: skip


def test_source_tables_come_back_from_both_archives(tmp_path: Path, samples: Path) -> None:
    import datetime as dt

    source = pipeline.read(samples / "winbiz" / "DAT" / "garage")
    odd = pa.table({"source_row": pa.array([1, 2], pa.int64()), "FLAG": [True, False],
                    "WHEN": pa.array([dt.date(2024, 2, 29), None], pa.date32()), "TEXT": ["=1+1", ""],
                    "CODE": ["007", "8"]})  # fmt: skip
    books = source.replace(source_tables={**source.source_tables, "2024/stock_mvt.dbf": odd})
    for target, out in (("sqlite", tmp_path / "a.sqlite"), ("xlsx", tmp_path / "a.xlsx")):
        pipeline.write(books, target, out)
        back = pipeline.read(out)
        assert list(back.source_tables) == ["dos_info.dbf", "vehicule.dbf", "2024/stock_mvt.dbf"], target
        for name, table in books.source_tables.items():
            assert back.source_tables[name].equals(table), (target, name)
    plates = back.source_tables["vehicule.dbf"].column("DJ_TEXTE3").to_pylist()
    assert plates == ["BE 123 456", "FR 98 765", "VD 45 812", "VD 301 277"]


def test_a_differing_date_is_shown_as_a_date(garage) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    after = garage.replace(open_items=_set(garage.open_items, "id", "F24-202", "due_date", dt.date(2024, 11, 30)))
    assert compare(garage, after, ("entries",)).differences == [
        "open items: 1 field(s) differ: bill/F24-202 due_date: 2024-10-31 before, 2024-11-30 after"
    ]
