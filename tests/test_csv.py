"""The canonical postings CSV: reading every accepted layout, writing, and bad inputs."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import pipeline
from migrator.errors import SourceError
from migrator.reconcile import trial_balance

HEADER = "entry,line,date,doc,description,account,amount,currency"


def write(tmp_path: Path, text: str, name: str = "journal.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_the_sample_by_hand(samples: Path) -> None:
    path = samples / "garage" / "journal.csv"
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    ledger = pipeline.read(path)
    assert ledger.format == "csv"
    assert ledger.lines.num_rows == len(rows) == 75
    assert ledger.counts()["entries"] == 23
    # The 2023 opening entry, written by hand in samples/garage.py: cash 2'500.00, bank 48'300.00.
    opening = ledger.lines.filter(pc.equal(ledger.lines.column("entry"), "1"))
    assert opening.column("opening").to_pylist() == [True] * 8
    assert opening.column("amount").to_pylist()[:2] == [250000, 4830000]
    assert sum(trial_balance(ledger).values()) == 0
    names = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )
    assert names["3400"] == "Prestations d'atelier"
    rates = dict(
        zip(ledger.vat_codes.column("code").to_pylist(), ledger.vat_codes.column("rate").to_pylist(), strict=True)
    )
    assert rates == {"I81": "8.1", "M77": "7.7", "M81": "8.1", "V77": "7.7", "V81": "8.1"}
    foreign = ledger.lines.filter(pc.equal(ledger.lines.column("currency"), "EUR"))
    assert foreign.column("amount_currency").to_pylist() == [100000, -100000]
    assert foreign.column("rate").to_pylist() == ["0.965", "0.965"]


def test_semicolon_swiss_amounts_and_dates_without_entry_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "date;doc;description;account;amount\n"
        "31.01.2024;A1;Loyer;6000;1'800.00\n"
        "31.01.2024;A1;Loyer;1020;-1'800.00\n"
        "01.02.2024;A2;Vente;1000;(250.50)\n"
        "01.02.2024;A2;Vente;3200;250.50\n",
        encoding="cp1252",
    )
    ledger = pipeline.read(path)
    assert ledger.counts()["entries"] == 2
    assert ledger.lines.column("date").to_pylist()[0] == dt.date(2024, 1, 31)
    assert ledger.lines.column("line").to_pylist() == [1, 2, 1, 2]
    assert trial_balance(ledger) == {"1000": -25050, "1020": -180000, "3200": 25050, "6000": 180000}


def test_tab_separator_bom_and_extra_columns_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffentry\tline\tdate\tdoc\tdescription\taccount\tamount\tcurrency\tmandate\n"
        "1\t1\t2024-03-01\tX\tÉcriture\t1000\t10.00\tCHF\tM-7\n"
        "1\t2\t2024-03-01\tX\tÉcriture\t3200\t-10.00\tCHF\tM-7\n",
    )
    ledger = pipeline.read(path)
    assert ledger.lines.column("description").to_pylist() == ["Écriture", "Écriture"]
    assert ledger.extras["lines"].column("mandate").to_pylist() == ["M-7", "M-7"]
    assert ledger.extras["lines"].column("source_row").to_pylist() == [2, 3]


def test_every_bad_row_is_a_problem_naming_file_and_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "1,1,2024-13-45,A,x,1000,10.00,CHF\n"
        "1,2,2024-01-01,A,x,3200,1x0.00,CHF\n"
        "2,1,2024-01-02,B,x,,5.00,CHF\n"
        "2,2,2024-01-02,B,x,3200,-5.00,CHF\n",
    )
    ledger = pipeline.read(path)
    messages = {(p.row, p.message.split(":")[0]) for p in ledger.problems if p.severity == "error"}
    assert messages == {(2, "date"), (3, "amount"), (4, "account")}
    assert all(p.file == str(path) for p in ledger.problems if p.row)
    assert ledger.lines.num_rows == 1  # the three bad rows are in the problem list, not in the ledger


def test_more_than_two_decimals_is_an_error_not_a_rounding(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n1,1,2024-01-01,A,x,1000,10.005,CHF\n1,2,2024-01-01,A,x,3200,-10.005,CHF\n")
    ledger = pipeline.read(path)
    assert [p.row for p in ledger.errors] == [2, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("a,b,c\n1,2,3\n", "not a canonical header"),
        ("date,account,amount,amount\n", "repeat"),
    ],
)
def test_unreadable_files_raise_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        pipeline.read(write(tmp_path, content), "csv")


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n1,1,2024-01-01,A,x,1000,10.00,CHF,extra\n")
    with pytest.raises(SourceError, match="fields"):
        pipeline.read(path, "csv")


def test_header_only_reads_as_empty_books(tmp_path: Path) -> None:
    ledger = pipeline.read(write(tmp_path, HEADER + "\n"), "csv")
    assert ledger.lines.num_rows == 0
    assert ledger.counts()["entries"] == 0


def test_write_read_is_identical_text(tmp_path: Path, samples: Path) -> None:
    first = samples / "garage" / "journal.csv"
    out = tmp_path / "again.csv"
    result = pipeline.convert(first, "csv", out)
    assert result.verified
    assert out.read_bytes() == first.read_bytes()


def test_base_currency_is_the_currency_of_plain_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"{HEADER},amount_currency\n1,1,2024-01-01,A,x,1000,10.00,EUR,\n1,2,2024-01-01,A,x,3200,-10.00,EUR,\n"
    )
    ledger = pipeline.read(path)
    assert ledger.company.base_currency == "EUR"
    assert ledger.lines.column("currency").to_pylist() == ["", ""]


def test_garage_ledger_writes_and_reads_back(tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "garage.csv"
    pipeline.write(garage, "csv", out)
    back = pipeline.read(out)
    assert trial_balance(back) == trial_balance(garage)
    columns = ["entry", "line", "date", "doc", "description", "account", "amount", "currency", "amount_currency",
               "rate", "vat_code", "vat_amount", "vat_line", "partner", "cost_centre", "journal", "opening"]  # fmt: skip
    assert back.lines.select(columns).equals(garage.lines.select(columns))


def test_quoted_line_breaks_and_separators_in_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'{HEADER}\n1,1,2024-01-01,A,"Ligne 1\nLigne 2, avec ""guillemets""",1000,10.00,CHF\n'
        "1,2,2024-01-01,A,x,3200,-10.00,CHF\n",
    )
    ledger = pipeline.read(path)
    assert ledger.lines.column("description").to_pylist()[0] == 'Ligne 1\nLigne 2, avec "guillemets"'
    out = tmp_path / "out.csv"
    assert pipeline.convert(path, "csv", out).verified
    assert pipeline.read(out).lines.column("description").to_pylist()[0] == 'Ligne 1\nLigne 2, avec "guillemets"'


def test_windows_1252_after_a_long_ascii_start_falls_back_to_decoding(tmp_path: Path) -> None:
    rows = "".join(f"{i},1,2024-01-01,A{i},plain,1000,1.00,CHF\n{i},2,2024-01-01,A{i},plain,3200,-1.00,CHF\n"
                   for i in range(1, 3000))  # fmt: skip
    path = write(tmp_path, f"{HEADER}\n{rows}3000,1,2024-01-02,Z,Müller,1000,2.00,CHF\n"
                           "3000,2,2024-01-02,Z,Müller,3200,-2.00,CHF\n", encoding="cp1252")  # fmt: skip
    assert len(path.read_bytes().split(b"M\xfc")[0]) > 1 << 16  # the first accent lies past the sniffed head
    ledger = pipeline.read(path)
    assert ledger.encoding == "cp1252"
    assert ledger.lines.column("description").to_pylist()[-1] == "Müller"
    assert ledger.lines.num_rows == 6000


@settings(max_examples=300)
@given(st.lists(st.text(alphabet="0123456789.-+eE '", max_size=8), min_size=1, max_size=12))
def test_the_one_cast_amount_path_agrees_with_the_general_parser(values: list[str]) -> None:
    """Where the fast path takes a column, each value is what the general parser makes of it alone."""
    import numpy as np

    from migrator.parsing import cents_of
    from migrator.readers.csv import _plain_cents

    values = [v.strip(" ") for v in values]
    empty = np.array([v == "" for v in values])
    fast = _plain_cents(pa.array(values, pa.string()), empty)
    if fast is None:
        return
    for value, got in zip(values, fast.tolist(), strict=True):
        assert got == (cents_of([value])[0] if value else 0), value


@pytest.mark.parametrize("value", ["1.000", "1.5e3", "1E2", "1'000.00", "1,50", "12.345"])
def test_ambiguous_amounts_are_left_to_the_general_parser(value: str) -> None:
    import numpy as np

    from migrator.readers.csv import _plain_cents

    assert _plain_cents(pa.array(["10.00", value]), np.zeros(2, dtype=bool)) is None


def test_blanks_around_text_are_trimmed_and_inner_ones_kept(tmp_path: Path) -> None:
    source = tmp_path / "blanks.csv"
    source.write_text(
        "entry,line,date,doc,description,account,amount,currency\n"
        " 1 ,1,2024-01-01,\tA 1 , kept as written ,1000 ,10.00,CHF\n"
        "1,2,2024-01-01,A 1,x,\t3200\t,-10.00, CHF\n",
        encoding="utf-8",
    )
    lines = pipeline.read(source).lines
    assert lines.column("entry").to_pylist() == ["1", "1"]
    assert lines.column("doc").to_pylist() == ["A 1", "A 1"]
    assert lines.column("account").to_pylist() == ["1000", "3200"]
    assert lines.column("description").to_pylist() == [" kept as written ", "x"]


def _odd_books(path: Path) -> None:
    """300 entries with odd cells spread over the file: Swiss amounts late, bad cells early and late."""
    rows = ["entry,line,date,doc,description,account,amount,currency,account_name,vat_code,vat_amount"]
    for n in range(1, 301):
        amount = f"{n}.50"
        if n > 250:
            amount = f"1'{n:03d}.50"  # the general parser, decided for the whole column
        date = "2024-02-30" if n == 290 else ("31.01.2024" if n == 120 else "2024-01-31")
        name = f"Name {n}" if n in (1, 200) else ""
        rows.append(f'{n},1,{date},D{n},"text, {n}",1000,{amount},CHF,{name},V81,{"x" if n == 7 else ""}')
        rows.append(f"{n},2,{date},D{n},text {n},3200,-{amount},CHF,,,")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize("block", [1 << 10, 1 << 12, 1 << 22])
def test_the_same_books_whatever_the_block_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Blocks are converted apart and merged: row numbers, problems and layouts are the whole file's."""
    from migrator.readers import csv as reader

    source = tmp_path / "odd.csv"
    _odd_books(source)
    monkeypatch.setattr(reader, "BLOCK", block)
    ledger = pipeline.read(source)
    problems = [(p.row, p.message.split(":")[0]) for p in ledger.problems if p.severity == "error"]
    # entry 7's VAT amount, entry 290's date (rows 14 and 580, 581), as written in the file
    assert problems == [(580, "date"), (581, "date"), (14, "vat_amount")]
    lines = ledger.lines
    assert lines.num_rows == 600 - 3
    amounts = dict(zip(lines.column("source_row").to_pylist(), lines.column("amount").to_pylist(), strict=True))
    assert amounts[2] == 150 and amounts[3] == -150
    assert amounts[2 + 2 * 259] == 126050  # entry 260: 1'260.50, in the Swiss layout
    days = dict(zip(lines.column("source_row").to_pylist(), lines.column("date").to_pylist(), strict=True))
    assert days[2 + 2 * 119] == dt.date(2024, 1, 31)  # 31.01.2024
    names = dict(zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(),
                     strict=True))  # fmt: skip
    assert names["1000"] == "Name 1"


def test_a_file_of_one_block_is_read_on_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file smaller than a block is parsed and converted without starting threads (a bulk run reads
    thousands of small files), into the same books as blocks converted on other threads."""
    from migrator.readers import csv as reader

    source = tmp_path / "odd.csv"
    _odd_books(source)
    monkeypatch.setattr(reader, "BLOCK", 1 << 10)
    threaded = pipeline.read(source)

    def no_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread was started for a file of one block")

    pool = reader.concurrent.futures.ThreadPoolExecutor

    def no_convert_pool(*args: Any, **kwargs: Any) -> Any:  # other pools (the source's SHA-256) may run
        if kwargs.get("thread_name_prefix") == "csv-convert":
            no_thread()
        return pool(*args, **kwargs)

    monkeypatch.setattr(reader, "BLOCK", 1 << 22)
    monkeypatch.setattr(reader, "ahead", no_thread)
    monkeypatch.setattr(reader.concurrent.futures, "ThreadPoolExecutor", no_convert_pool)
    alone = pipeline.read(source)
    assert alone.lines.equals(threaded.lines)
    assert alone.accounts.equals(threaded.accounts) and alone.vat_codes.equals(threaded.vat_codes)
    assert [(p.row, p.message) for p in alone.problems] == [(p.row, p.message) for p in threaded.problems]


# ----------------------------------------------------------------------------- the canonical CSV folder

TABLES = ("accounts", "groups", "vat_codes", "partners", "open_items", "items", "documents", "document_lines")


def test_the_folder_carries_every_table_and_reads_back_equal(tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "garage"
    said = pipeline.write(garage, "csvfolder", out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        ["README.txt", "journal.csv", *(f"{t}.csv" for t in TABLES)])  # fmt: skip
    assert [p.message.split(" not carried")[0] for p in said] == ["1 company name", "2 fiscal years"]
    # written by hand from samples/garage.py: Anna Sarbach-Zürcher, her street and number apart
    partners = list(csv.reader((out / "partners.csv").open(encoding="utf-8", newline="")))
    assert partners[0][:10] == ["id", "kind", "roles", "name", "first_name", "last_name", "street",
                                "building_number", "address_line2", "zip"]  # fmt: skip
    assert partners[4][:12] == ["C004", "person", "customer", "Anna Sarbach-Zürcher", "Anna", "Sarbach-Zürcher",
                                "rue du Lac", "8", "c/o Zürcher", "1815", "Clarens", "CH"]  # fmt: skip
    items = list(csv.reader((out / "items.csv").open(encoding="utf-8", newline="")))
    assert items[2][:6] == ["PNEU-H", "Pneu hiver 205/55 R16", "Pneu hiver 205/55 R16 91H\nMarque Nordika", "pce",
                            "250.00", "200.00"]  # fmt: skip
    documents = list(csv.reader((out / "documents.csv").open(encoding="utf-8", newline="")))
    assert documents[5][:12] == ["R24-002", "invoice", "2024-09-12", "2024-10-12", "C002", "", "4000.00", "324.00",
                                 "4324.00", "0.00", "open", "1100"]  # fmt: skip
    back = pipeline.read(out)
    assert back.format == "csvfolder" and back.errors == [] and back.problems == ()
    for name in TABLES:
        assert getattr(back, name).equals(getattr(garage, name)), name
    source = ["source_file", "source_row"]
    assert back.lines.drop(source).equals(garage.lines.drop(source))


def test_the_winbiz_garage_converts_to_the_folder_and_verifies(tmp_path: Path, samples: Path) -> None:
    result = pipeline.convert(samples / "winbiz" / "DAT" / "garage", "csvfolder", tmp_path / "out")
    assert result.verified and result.verification.differences == []
    assert {t["table"]: (t["before"], t["after"], t["differing"]) for t in result.verification.tables} == {
        "partners": (11, 11, 0), "open_items": (2, 2, 0), "items": (9, 9, 0), "documents": (9, 9, 0), "document_lines": (16, 16, 0)}  # fmt: skip


def test_a_table_file_with_bad_values_names_file_row_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    write(folder, f"{HEADER}\n1,1,2024-01-31,R1,Sale,1100,10.00,CHF\n1,2,2024-01-31,R1,Sale,3200,-10.00,CHF\n")
    write(folder, "id,name,zip,payment_terms,active,Kundengruppe\nC1,Keller AG,0815,30,false,A\nC2,Huber,,30 Tage,"
                  "vielleicht,B\n", "partners.csv")  # fmt: skip
    write(folder, "code,name,sale_price\nP1,Pneu,12.345\n", "items.csv")
    ledger = pipeline.read(folder)
    assert ledger.format == "csvfolder"
    partners = ledger.partners.to_pylist()
    assert [(p["id"], p["zip"], p["payment_terms"], p["active"]) for p in partners] == [
        ("C1", "0815", 30, False), ("C2", "", None, True)]  # fmt: skip
    errors = [(p.file.rsplit("/", 1)[-1], p.row, p.message) for p in ledger.errors]
    assert errors == [
        ("partners.csv", 3, "payment_terms '30 Tage' is not a whole number"),
        ("partners.csv", 3, "active 'vielleicht' is not a flag (true or false)"),
        ("items.csv", 2, "sale_price '12.345' is not an amount (e.g. -1234.50)"),
    ]
    assert ledger.extras["partners"].column("Kundengruppe").to_pylist() == ["A", "B"]


def test_a_folder_with_the_journal_alone_is_read_as_that_file(tmp_path: Path) -> None:
    folder = tmp_path / "client"
    folder.mkdir()
    write(folder, f"{HEADER}\n1,1,2024-01-31,R1,Sale,1100,10.00,CHF\n1,2,2024-01-31,R1,Sale,3200,-10.00,CHF\n")
    assert pipeline.detect(folder).format == "csv"
    write(folder, "code,name\nP1,Pneu\n", "items.csv")
    assert pipeline.detect(folder).format == "csvfolder"
