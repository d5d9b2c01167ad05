"""The xlsx workbook: layout (golden), exact amounts, formula-safe text, round trips, bad cells, CLI."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from conftest import golden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ledgers, texts

from migrator import pipeline
from migrator.errors import SourceError
from migrator.model import TABLES, Company, Ledger, table
from migrator.readers.xlsx import XlsxReader
from migrator.reconcile import trial_balance
from migrator.sources import Source

JOURNAL_HEADER = [
    "entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency", "rate",
    "vat_code", "vat_amount", "vat_line", "partner", "cost_centre", "journal", "opening", "source_file", "source_row",
]  # fmt: skip


def _without_source_files(company: Company) -> Company:
    return Company(**{**company.__dict__, "source_files": ()})


def assert_same_books(before: Ledger, after: Ledger) -> None:
    for name in TABLES:
        a, b = getattr(before, name), getattr(after, name)
        assert a.num_rows == b.num_rows, name
        for row_a, row_b in zip(a.to_pylist(), b.to_pylist(), strict=True):
            assert row_a == row_b, name
        assert a.equals(b), name
    assert _without_source_files(after.company) == _without_source_files(before.company)


@pytest.fixture(scope="module")
def garage_book(garage, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "garage.xlsx"
    assert pipeline.write(garage, "xlsx", path) == []
    return path


def _sheet_xml(path: Path, title: str) -> str:
    """The XML of the sheet called `title`."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        titles = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook)
        return archive.read(f"xl/worksheets/sheet{titles.index(title) + 1}.xml").decode()


def _dump(path: Path) -> str:
    """Every sheet's layout and cells (value, type, number format) as text, for the golden file."""
    book = openpyxl.load_workbook(path)
    out = []
    for ws in book.worksheets:
        widths = " ".join(f"{k}={v.width:g}" for k, v in sorted(ws.column_dimensions.items()))
        out.append(f"== {ws.title} | freeze {ws.freeze_panes} | filter {ws.auto_filter.ref} | widths {widths}")
        for row in ws.iter_rows():
            cells = [f"{c.coordinate}={c.value!r}:{c.data_type}:{c.number_format}" for c in row if c.value is not None]
            out.append("  ".join(cells))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------ layout


def test_garage_workbook_matches_golden(garage_book: Path) -> None:
    golden("xlsx/garage.txt", _dump(garage_book))


def test_sheets_in_order_with_frozen_header_and_autofilter(garage_book: Path) -> None:
    book = openpyxl.load_workbook(garage_book)
    assert book.sheetnames == [
        "Company", "Accounts", "Groups", "Journal", "Trial balance", "VAT", "Partners", "Open items", "Items",
        "Documents", "Document lines",
    ]  # fmt: skip
    journal = book["Journal"]
    assert [c.value for c in journal[1]] == JOURNAL_HEADER
    assert journal.freeze_panes == "A2"
    assert journal.auto_filter.ref == "A1:S76"  # 75 garage lines under the header
    assert book["Accounts"].auto_filter.ref == "A1:G20"  # 19 accounts
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2"
        assert all(4 <= d.width <= 62 for d in ws.column_dimensions.values())


def test_amounts_are_numbers_and_dates_are_dates(garage_book: Path) -> None:
    journal = openpyxl.load_workbook(garage_book)["Journal"]
    # row 2: the first opening line, 1000 Caisse 2500.00 on 01.01.2023
    assert journal["C2"].value == dt.datetime(2023, 1, 1)
    assert journal["C2"].number_format == "dd.mm.yyyy"
    assert journal["G2"].value == 2500
    assert journal["G2"].data_type == "n"
    assert journal["G2"].number_format == "#,##0.00"


def test_empty_sheets_are_left_out(tmp_path: Path, garage: Ledger) -> None:
    bare = garage.replace(
        groups=table("groups"),
        partners=table("partners"),
        open_items=table("open_items"),
        items=table("items"),
        documents=table("documents"),
        document_lines=table("document_lines"),
    )
    pipeline.write(bare, "xlsx", tmp_path / "bare.xlsx")
    names = openpyxl.load_workbook(tmp_path / "bare.xlsx").sheetnames
    assert names == ["Company", "Accounts", "Journal", "Trial balance", "VAT"]


def test_trial_balance_sheet_is_the_journal_summed(garage_book: Path, garage: Ledger) -> None:
    rows = list(openpyxl.load_workbook(garage_book)["Trial balance"].values)
    assert rows[0] == ("account", "name", "balance")
    shown = {code: balance for code, _, balance in rows[1:]}
    # 1000 Caisse: opening 2500.00 + 538.50 (2023), opening 2024 3038.50 + 864.80 = 6941.80
    assert shown["1000"] == pytest.approx(6941.80)
    assert len(shown) == len(trial_balance(garage))


# ----------------------------------------------------------------------------------- exact amounts


def test_amount_text_in_the_xml_is_the_exact_decimal(tmp_path: Path, garage: Ledger) -> None:
    # 9834882.54 is a value openpyxl's own number printing ("%.16g" of a float) writes as
    # 9834882.539999999; the sheet must hold the decimal itself.
    lines = garage.lines.to_pylist()[:2]
    lines[0].update(amount=983488254, vat_amount=-5)
    lines[1].update(amount=-983488254, amount_currency=None)
    ledger = garage.replace(lines=table("lines", lines))
    path = tmp_path / "exact.xlsx"
    pipeline.write(ledger, "xlsx", path)
    xml = _sheet_xml(path, "Journal")
    assert re.search(r'<c r="G2" s="\d+" t="n"><v>9834882.54</v></c>', xml)
    assert "<v>-9834882.54</v>" in xml
    assert "<v>-0.05</v>" in xml
    assert "9834882.539" not in xml
    back = pipeline.read(path)
    assert back.lines.column("amount").to_pylist() == [983488254, -983488254]
    assert back.lines.column("vat_amount").to_pylist() == [-5, None]


# ---------------------------------------------------------------------------------- formula safety


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path, garage: Ledger) -> None:
    lines = garage.lines.to_pylist()
    risky = ["=1+1", "+41 21 555 00 00", "-rabais", "@SUM(A1)", "\tindent", "\rstart"]
    for line, text in zip(lines, risky, strict=False):
        line["description"] = text
    partners = garage.partners.to_pylist()
    partners[0]["name"] = '=HYPERLINK("http://x","y")'
    ledger = garage.replace(lines=table("lines", lines), partners=table("partners", partners))
    path = tmp_path / "formula.xlsx"
    pipeline.write(ledger, "xlsx", path)
    journal = _sheet_xml(path, "Journal")
    assert "<f>" not in journal and "<f " not in journal
    assert re.search(r'<c r="E2" s="\d+" t="inlineStr"><is><t>=1\+1</t></is></c>', journal)
    assert "<f>" not in _sheet_xml(path, "Partners")
    book = openpyxl.load_workbook(path)
    cell = book["Journal"]["E2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)
    assert book["Partners"]["C2"].data_type == "s"
    back = pipeline.read(path)
    assert back.lines.column("description").to_pylist()[: len(risky)] == risky
    assert back.partners.column("name")[0].as_py() == '=HYPERLINK("http://x","y")'


def test_characters_a_workbook_cannot_hold_are_removed_with_a_warning(tmp_path: Path, garage: Ledger) -> None:
    lines = garage.lines.to_pylist()
    lines[0]["description"] = "Bilan\x01 d'ouverture\x1f"
    problems = pipeline.write(garage.replace(lines=table("lines", lines)), "xlsx", tmp_path / "c.xlsx")
    assert [p.severity for p in problems] == ["warning"]
    assert problems[0].message.startswith("sheet Journal, column description: 1 texts had control characters")
    assert pipeline.read(tmp_path / "c.xlsx").lines.column("description")[0].as_py() == "Bilan d'ouverture"


# -------------------------------------------------------------------------------------- round trips


def test_garage_round_trip(garage_book: Path, garage: Ledger) -> None:
    back = pipeline.read(garage_book)
    assert back.format == "xlsx"
    assert back.problems == ()
    assert_same_books(garage, back)
    assert [f.path for f in back.company.source_files] == [str(garage_book)]


_WILD = st.one_of(
    texts(),
    texts().map(lambda t: "=" + t),
    st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), max_size=20),
    st.sampled_from([" leading", "trailing ", "two\nlines", "tab\there", "\rcr", "-5", "+1", "@x", "'quoted"]),
)
"""Texts as a workbook must carry them: formula starts, spaces at the ends, line breaks, tabs."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers(text=_WILD))
def test_any_ledger_round_trips(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "any.xlsx"
    assert pipeline.write(ledger, "xlsx", path, force=True) == []  # hypothesis runs every example in one folder
    back = pipeline.read(path, "xlsx")
    assert back.problems == ()
    assert_same_books(ledger, back)


# ---------------------------------------------------------------------------------------- bad cells


def _edit(path: Path, sheet: str, cells: dict[str, Any], out: Path) -> Path:
    book = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        book[sheet][ref] = value
    book.save(out)
    return out


def test_bad_cells_are_problems_with_sheet_and_row(garage_book: Path, tmp_path: Path) -> None:
    bad = _edit(
        garage_book, "Journal", {"G5": "abc", "C7": "2024-13-45", "F9": None, "Q10": "maybe"}, tmp_path / "book.xlsx"
    )
    ledger = XlsxReader().read(Source(bad, "book.xlsx"), pipeline.ReadOptions())
    errors = [(p.file, p.row) for p in ledger.problems if p.severity == "error"]
    assert errors == [("book.xlsx, sheet Journal", row) for row in (5, 7, 9, 10)]
    messages = [p.message for p in ledger.problems if p.severity == "error"]
    assert "amount" in messages[0] and "abc" in messages[0]
    assert "date" in messages[1] and "2024-13-45" in messages[1]
    assert "account" in messages[2] and "empty" in messages[2]
    assert "opening" in messages[3] and "maybe" in messages[3]
    assert ledger.lines.num_rows == 75 - 4  # the bad rows are in the problem list, not the ledger
    assert set(ledger.lines.column("source_row").to_pylist()).isdisjoint({4, 6, 8, 9})  # garage rows of 5,7,9,10


def test_bad_cells_stop_a_conversion(garage_book: Path, tmp_path: Path, run_cli) -> None:
    bad = _edit(garage_book, "Journal", {"G5": "abc"}, tmp_path / "book.xlsx")
    result = run_cli("convert", bad, "--to", "csv", "-o", tmp_path / "out.csv")
    assert result.exit_code == 3
    assert "sheet Journal, row 5" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_rows_typed_in_excel_are_read(garage_book: Path, tmp_path: Path) -> None:
    # a two-line entry typed by hand at rows 77-78: text amounts, a dd.mm.yyyy date, no origin
    typed = {"A77": "99", "B77": 1, "C77": "31.12.2024", "F77": 6900, "G77": "12.50",
             "A78": "99", "B78": 2, "C78": dt.date(2024, 12, 31), "F78": "1020", "G78": -12.5}  # fmt: skip
    book = _edit(garage_book, "Journal", typed, tmp_path / "typed.xlsx")
    ledger = pipeline.read(book)
    added = [r for r in ledger.lines.to_pylist() if r["entry"] == "99"]
    assert [(r["date"], r["account"], r["amount"], r["source_row"]) for r in added] == [
        (dt.date(2024, 12, 31), "6900", 1250, 77),
        (dt.date(2024, 12, 31), "1020", -1250, 78),
    ]
    assert {r["source_file"] for r in added} == {f"{book}, sheet Journal"}
    # the Trial balance sheet was not updated: the reader says so, and keeps the journal
    stale = [p for p in ledger.problems if "Trial balance" in p.file]
    assert [p.message.split(":")[0] for p in stale] == ["account 1020", "account 6900"]
    assert all(p.severity == "warning" for p in stale)


def test_unknown_journal_columns_are_kept_as_extras(garage_book: Path, tmp_path: Path) -> None:
    book = _edit(garage_book, "Journal", {"T1": "Kostenträger", "T2": "K1"}, tmp_path / "extra.xlsx")
    extras = pipeline.read(book).extras["lines"]
    assert extras.column_names == ["source_row", "Kostenträger"]
    assert extras.column("Kostenträger").to_pylist()[:2] == ["K1", ""]
    assert extras.column("source_row").to_pylist()[:2] == [2, 3]


def test_missing_required_column_is_a_source_error(garage_book: Path, tmp_path: Path) -> None:
    book = _edit(garage_book, "Journal", {"G1": "Betrag"}, tmp_path / "nocol.xlsx")
    with pytest.raises(SourceError, match="sheet Journal, row 1: no column 'amount'"):
        pipeline.read(book, "xlsx")


def test_not_a_workbook_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    with pytest.raises(SourceError, match="not a readable Excel workbook"):
        pipeline.read(junk, "xlsx")


# -------------------------------------------------------------------------------------------- sniff


def test_sniff_claims_its_own_workbooks_only(garage_book: Path, tmp_path: Path) -> None:
    reader = XlsxReader()
    assert reader.sniff(Source(garage_book)) == 0.95
    other = openpyxl.Workbook()
    other.active.append(["Datum", "Beleg", "Konto", "Betrag"])
    other.save(tmp_path / "other.xlsx")
    assert reader.sniff(Source(tmp_path / "other.xlsx")) == 0.0
    vendor = openpyxl.Workbook()
    vendor.active.title = "Journal"  # a sheet of that name, but another vendor's columns
    vendor.active.append(["date", "account", "amount", "Beleg", "Text"])
    vendor.save(tmp_path / "vendor.xlsx")
    assert reader.sniff(Source(tmp_path / "vendor.xlsx")) == 0.0
    csv = tmp_path / "journal.csv"
    csv.write_text("entry,line,date,account,amount\n", encoding="utf-8")
    assert reader.sniff(Source(csv)) == 0.0
    assert reader.sniff(Source(tmp_path)) == 0.0


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_csv_to_xlsx_and_back(samples: Path, tmp_path: Path, run_cli) -> None:
    source = samples / "garage" / "journal.csv"
    book, back = tmp_path / "out.xlsx", tmp_path / "back.csv"
    first = run_cli("convert", source, "--to", "xlsx", "-o", book)
    assert first.exit_code == 0, first.output
    assert "verified" in first.output
    assert pipeline.detect(book).format == "xlsx"
    second = run_cli("convert", book, "--to", "csv", "-o", back)
    assert second.exit_code == 0, second.output
    assert "verified" in second.output
    original, returned = pipeline.read(source), pipeline.read(back)
    keep = [n for n in original.lines.column_names if n not in ("source_file", "source_row")]
    assert returned.lines.select(keep).equals(original.lines.select(keep))
    assert trial_balance(returned) == trial_balance(original)
    assert back.read_bytes() == source.read_bytes()  # the canonical CSV survives the workbook byte for byte


def test_workbook_without_journal_is_refused(tmp_path: Path) -> None:
    empty = openpyxl.Workbook()
    empty.save(tmp_path / "empty.xlsx")
    with pytest.raises(SourceError, match="no sheet 'Journal'"):
        pipeline.read(tmp_path / "empty.xlsx", "xlsx")


def test_empty_ledger_round_trips(tmp_path: Path) -> None:
    empty = Ledger(company=Company(name="Leer GmbH"))
    pipeline.write(empty, "xlsx", tmp_path / "empty.xlsx")
    back = pipeline.read(tmp_path / "empty.xlsx")
    assert back.lines.num_rows == 0 and back.company.name == "Leer GmbH"
    assert back.lines.schema.equals(empty.lines.schema)


def test_journal_without_entry_and_line_columns_groups_by_date_and_doc(
    garage_book: Path, garage: Ledger, tmp_path: Path
) -> None:
    book = openpyxl.load_workbook(garage_book)
    book["Journal"].delete_cols(1, 2)  # entry, line
    book.save(tmp_path / "bare.xlsx")
    ledger = pipeline.read(tmp_path / "bare.xlsx", "xlsx")
    assert ledger.errors == []
    # every garage voucher has its own date+doc, so the 23 entries and their line numbers come back
    assert ledger.lines.select(["entry", "line"]).equals(garage.lines.select(["entry", "line"]))


def test_repeated_column_is_a_source_error(garage_book: Path, tmp_path: Path) -> None:
    book = _edit(garage_book, "Journal", {"D1": "account"}, tmp_path / "twice.xlsx")
    with pytest.raises(SourceError, match="column names repeat: account"):
        pipeline.read(book, "xlsx")


def test_amounts_past_fifteen_digits_are_warned_about(tmp_path: Path, garage: Ledger) -> None:
    lines = garage.lines.to_pylist()[:2]
    lines[0]["amount"], lines[1]["amount"] = 10**15, -(10**15)  # 10'000'000'000'000.00: 16 digits
    problems = pipeline.write(garage.replace(lines=table("lines", lines)), "xlsx", tmp_path / "big.xlsx")
    assert [(p.severity, p.message.split(":")[0]) for p in problems] == [
        ("warning", "sheet Journal, column amount"),
        ("warning", "sheet Trial balance, column balance"),
    ]
    assert "<v>10000000000000.00</v>" in _sheet_xml(tmp_path / "big.xlsx", "Journal")


def test_a_workbook_named_without_extension_is_written_and_verified(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`-o books` is a workbook all the same: it is read back as one, not unpacked as a zip archive."""
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "xlsx", "-o", tmp_path / "books")
    assert result.exit_code == 0 and "verified" in result.output, result.output
    assert run_cli("detect", tmp_path / "books").output.endswith("xlsx (confidence 0.95)\n")


# ----------------------------------------------------------------------- the layout, from the ledger


def _expected_dump(ledger: Ledger) -> str:
    """What `_dump` must show for a ledger's workbook, worked out from the ledger and the layout the
    module docstring describes (not from the writer): sheets in order, a frozen header row, filters
    over the used range, widths fitted to the values, amounts as numbers in #,##0.00, dates in
    dd.mm.yyyy, flags of the journal only where true, empty texts as no cell, formula-like text as text."""
    from migrator.writers.xlsx import COMPANY_FIELDS, SHEETS, column_letter

    def text_width(values: list[Any]) -> int:
        return max((len(v) for v in values if isinstance(v, str)), default=0)

    def cell(ref: str, value: Any, money: bool = False) -> str | None:
        if value is None or value == "":
            return None
        if money:
            return f"{ref}={value / 100!r}:n:#,##0.00"
        if isinstance(value, bool):
            return f"{ref}={value!r}:b:General"
        if isinstance(value, dt.date):
            return f"{ref}={dt.datetime.combine(value, dt.time())!r}:d:dd.mm.yyyy"
        if isinstance(value, int):
            return f"{ref}={value!r}:n:General"
        return f"{ref}={value!r}:s:General"

    out = []
    company = ledger.company
    rows: list[list[Any]] = [[label, getattr(company, field)] for label, field in COMPANY_FIELDS]
    rows += [["Fiscal year", y.start, y.end] for y in company.fiscal_years]
    rows += [["Source file", f.path, f.sha256, f.size, f.encoding, f.format] for f in company.source_files]
    used = max(len(r) for r in rows)
    widths = [max(len(str(r[i])) if i < len(r) else 0 for r in rows) for i in range(used)]
    names = ["field", "value", *[""] * (used - 2)]
    shown = [min(max(len(n), w) + 2, 60) for n, w in zip(names, widths, strict=True)]
    out.append("== Company | freeze A2 | filter None | widths " + " ".join(
        f"{column_letter(i)}={w}" for i, w in enumerate(shown, start=1)))  # fmt: skip
    out.append("A1='Field':s:General  B1='Value':s:General")
    for number, row in enumerate(rows, start=2):
        out.append("  ".join(c for i, v in enumerate(row, 1) if (c := cell(f"{column_letter(i)}{number}", v))))
    tables = []
    for sheet in SHEETS:
        data = getattr(ledger, sheet.table)
        if data.num_rows or sheet.table == "lines":
            tables.append((sheet.title, sheet.table, sheet.money, data))
        if sheet.table == "lines" and data.num_rows:
            accounts = ledger.accounts
            names_of = dict(zip(accounts.column("code").to_pylist(), accounts.column("name").to_pylist(), strict=True))
            balances = trial_balance(ledger)
            tb = pa.table({"account": list(balances), "name": [names_of.get(c, "") for c in balances],
                           "balance": pa.array(list(balances.values()), pa.int64())})  # fmt: skip
            tables.append(("Trial balance", "trial_balance", ("balance",), tb))
    for title, name, money, data in tables:
        columns = data.column_names
        values = {c: data.column(c).to_pylist() for c in columns}
        widths = []
        for c in columns:
            kind = data.schema.field(c).type
            if c in money:
                w = max((len(f"{v / 100:.2f}") for v in values[c] if v is not None), default=0) * 4 // 3
            elif kind == pa.date32():
                w = 10
            elif kind == pa.bool_():
                w = 5
            elif kind == pa.string():
                w = text_width(values[c])
            else:
                w = max((len(str(v)) for v in values[c] if v is not None), default=0)
            widths.append(min(max(len(c), w) + 2, 60))
        last = f"{column_letter(len(columns))}{data.num_rows + 1}"
        out.append(f"== {title} | freeze A2 | filter A1:{last} | widths " + " ".join(
            f"{column_letter(i)}={w}" for i, w in enumerate(widths, start=1)))  # fmt: skip
        out.append("  ".join(f"{column_letter(i)}1={c!r}:s:General" for i, c in enumerate(columns, start=1)))
        for r in range(data.num_rows):
            cells = []
            for i, c in enumerate(columns, start=1):
                v = values[c][r]
                if name == "lines" and c in ("opening", "vat_line") and not v:
                    continue
                if (shown_cell := cell(f"{column_letter(i)}{r + 2}", v, c in money)) is not None:
                    cells.append(shown_cell)
            out.append("  ".join(cells))
    return "\n".join(out) + "\n"


_PLAIN = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers(text=st.one_of(texts(), _PLAIN.map(lambda t: "=" + t), _PLAIN)))
def test_any_workbook_shows_what_the_layout_says(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "layout.xlsx"
    pipeline.write(ledger, "xlsx", path, force=True)
    assert _dump(path) == _expected_dump(ledger)


def test_the_garage_workbook_shows_what_the_layout_says(garage_book: Path, garage: Ledger) -> None:
    from migrator.model import TABLES as ALL

    carried = garage.replace(**{t: table(t) for t in ALL if t not in ("accounts", "groups", "lines", "vat_codes",
                                                                      "partners", "open_items")})  # fmt: skip
    path = garage_book.with_name("carried.xlsx")
    pipeline.write(carried, "xlsx", path, force=True)
    assert _dump(path) == _expected_dump(carried)


# ------------------------------------------------------------------ journals past Excel's row limit


def test_a_journal_past_the_row_limit_goes_on_several_sheets(
    tmp_path: Path, garage: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrator.writers.xlsx as writer

    monkeypatch.setattr(writer, "MAX_ROWS", 31)  # 30 lines under each header: the 75 garage lines on 3 sheets
    path = tmp_path / "split.xlsx"
    problems = pipeline.write(garage, "xlsx", path)
    splits = [p for p in problems if "rows are more than an Excel sheet holds" in p.message]
    assert [(p.severity, p.message) for p in splits] == [(
        "warning",
        "sheet Journal: 75 rows are more than an Excel sheet holds (30 under the header); "
        "written on 3 sheets: Journal, Journal (2), Journal (3)",
    )]  # fmt: skip
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[3:6] == ["Journal", "Journal (2)", "Journal (3)"]
    assert book.sheetnames[6] == "Trial balance"
    for title, last in (("Journal", 31), ("Journal (2)", 31), ("Journal (3)", 16)):
        ws = book[title]
        assert [c.value for c in ws[1]] == JOURNAL_HEADER
        assert (ws.freeze_panes, ws.auto_filter.ref, ws.max_row) == ("A2", f"A1:S{last}", last)
    # line 31 of the ledger is the first row under the header of the second sheet: entry 12, 2023-12-15
    assert [book["Journal (2)"][f"{c}2"].value for c in "ABF"] == [garage.lines.column("entry")[30].as_py(),
                                                                     garage.lines.column("line")[30].as_py(),
                                                                     garage.lines.column("account")[30].as_py()]  # fmt: skip
    monkeypatch.undo()
    back = pipeline.read(path)
    assert back.lines.equals(garage.lines)
    assert back.problems == ()


def test_rows_typed_on_a_later_journal_sheet_name_that_sheet(
    tmp_path: Path, garage: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrator.writers.xlsx as writer

    monkeypatch.setattr(writer, "MAX_ROWS", 51)
    path = tmp_path / "split.xlsx"
    pipeline.write(garage, "xlsx", path)
    typed = {"A27": "99", "B27": 1, "C27": "31.12.2024", "F27": "6900", "G27": "12.50",
             "A28": "99", "B28": 2, "C28": "31.12.2024", "F28": "1020", "G28": "-12.5x"}  # fmt: skip
    edited = _edit(path, "Journal (2)", typed, tmp_path / "typed.xlsx")
    ledger = XlsxReader().read(Source(edited, "typed.xlsx"), pipeline.ReadOptions())
    errors = [(p.file, p.row, p.message.split(":")[0]) for p in ledger.problems if p.severity == "error"]
    assert errors == [("typed.xlsx, sheet Journal (2)", 28, "amount")]
    added = [r for r in ledger.lines.to_pylist() if r["entry"] == "99"]
    assert [(r["account"], r["amount"], r["source_file"], r["source_row"]) for r in added] == [
        ("6900", 1250, "typed.xlsx, sheet Journal (2)", 27)
    ]
    assert ledger.lines.num_rows == 76


# ------------------------------------------------------------------------------- cells read exactly


def test_amount_cells_are_read_at_excels_fifteen_digits(garage_book: Path, tmp_path: Path) -> None:
    # 0.1 + 0.2 as a formula leaves 0.30000000000000004 in the cell: Excel shows 0.30, and so is it read;
    # 12.345 is not a whole number of cents: an error on its row, as any bad cell
    book = _edit(garage_book, "Journal", {"G2": 0.1 + 0.2, "G3": -0.30000000000000004, "G4": 12.345},
                 tmp_path / "floats.xlsx")  # fmt: skip
    ledger = XlsxReader().read(Source(book, "floats.xlsx"), pipeline.ReadOptions())
    assert [(p.row, p.message) for p in ledger.problems if p.severity == "error"] == [
        (4, "amount: 12.345 has more than 2 decimals")
    ]
    assert ledger.lines.column("amount").to_pylist()[:2] == [30, -30]


def test_text_typed_into_a_column_of_numbers_with_blanks_is_read_cell_by_cell(
    garage_book: Path, tmp_path: Path
) -> None:
    # vat_amount is blank on most journal rows: a typed "3.10" is read as the amount it says, "abc" is a bad cell
    book = _edit(garage_book, "Journal", {"L2": "3.10", "L3": "abc"}, tmp_path / "typed.xlsx")
    ledger = XlsxReader().read(Source(book, "typed.xlsx"), pipeline.ReadOptions())
    assert [(p.row, p.message.split(":")[0]) for p in ledger.problems if p.severity == "error"] == [(3, "vat_amount")]
    assert ledger.lines.column("vat_amount").to_pylist()[0] == 310
    assert ledger.lines.num_rows == 74


# ------------------------------------------------------------------- as a spreadsheet program reads it

SOFFICE = shutil.which("soffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (Debian package libreoffice-calc-nogui)")
def test_libreoffice_reads_the_workbook_as_migrator_does(tmp_path: Path, garage: Ledger) -> None:
    """LibreOffice opens the workbook and saves it again: the cells it understood (text that looks
    like a formula kept as text, spaces and line breaks, dates, amounts, flags) read back to the same books."""
    lines = garage.lines.to_pylist()
    odd = ["=1+1", "+41 21 555 00 00", "-rabais", "@SUM(A1)", " leading", "trailing ", "a & b <c>", "two\nlines",
           "\tindent"]  # fmt: skip
    for line, text in zip(lines, odd, strict=False):
        line["description"] = text
    lines[9]["amount"], lines[10]["amount"] = lines[9]["amount"] + 98348825401, lines[10]["amount"] - 98348825401
    ledger = garage.replace(lines=table("lines", lines))
    ours = tmp_path / "books.xlsx"
    pipeline.write(ledger, "xlsx", ours)
    saved = tmp_path / "saved"
    done = subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(saved), str(ours)],
                          capture_output=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr
    mine, theirs = pipeline.read(ours), pipeline.read(saved / "books.xlsx", "xlsx")
    assert theirs.problems == ()
    for name in TABLES:
        assert getattr(theirs, name).equals(getattr(mine, name)), name
    assert theirs.lines.column("description").to_pylist()[: len(odd)] == odd
    assert theirs.lines.column("amount").to_pylist()[9] == lines[9]["amount"]  # 13 digits, exact


def test_an_unknown_column_on_one_journal_sheet_is_kept_for_every_line_in_order(
    tmp_path: Path, garage: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrator.writers.xlsx as writer

    monkeypatch.setattr(writer, "MAX_ROWS", 31)  # Journal, Journal (2), Journal (3): 30, 30 and 15 lines
    path = tmp_path / "split.xlsx"
    pipeline.write(garage, "xlsx", path)
    monkeypatch.undo()
    book = openpyxl.load_workbook(path)
    book["Journal (2)"]["T1"] = "Kostenträger"
    book["Journal (2)"]["T3"] = "K7"
    book.save(tmp_path / "extra.xlsx")
    extras = pipeline.read(tmp_path / "extra.xlsx").extras["lines"]
    assert extras.column_names == ["source_row", "Kostenträger"]
    assert extras.num_rows == 75  # a value for every line, blank on the sheets without the column
    assert extras.column("Kostenträger").to_pylist() == [""] * 31 + ["K7"] + [""] * 43
    assert extras.column("source_row").to_pylist() == [*range(2, 32), *range(2, 32), *range(2, 17)]
