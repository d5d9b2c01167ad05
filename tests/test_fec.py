"""FEC (France): every reference file with counts and sums made here by plain Python, the written
layout (golden), the file-name rule, an unbalanced entry, and round trips."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import golden
from hypothesis import HealthCheck, given, settings
from strategies import LATIN, ledgers, texts

from migrator import pipeline, registry
from migrator.model import FiscalYear, Ledger, years_of
from migrator.model import table as model_table
from migrator.reconcile import compare, trial_balance
from migrator.validate import validate
from migrator.writers.fec import COLUMNS, write_fec

KEEPS = registry.get("fec").keeps
HEADER = "\t".join(COLUMNS)


def plain_rows(path: Path, encoding: str, separator: str) -> list[list[str]]:
    """Every data row's fields, stripped, split by hand (no migrator code)."""
    text = path.read_bytes().decode(encoding)
    rows = [line.rstrip("\r") for line in text.split("\n")[1:]]
    return [[field.strip() for field in row.split(separator)] for row in rows if row.strip()]


def plain_cents(text: str) -> int:
    return int(Decimal(text.replace(",", ".") or "0") * 100)


# (file, encoding, separator, data lines, debit total as the file writes it, entries)
REFERENCES = [
    ("0000000001FEC20220831.txt", "utf-8-sig", "\t", 5422, "10186219,81", 2033),
    ("000000000FEC20231231.txt", "utf-8", "\t", 2102, "1265350,82", None),
    ("111111111FEC20221231.TXT", "iso-8859-15", "|", 934, "225682,23", 248),
    ("123456789FEC20500930.txt", "utf-8", "\t", 10756, "8258083,73", 4001),
]


@pytest.mark.parametrize(("name", "encoding", "separator", "count", "debit", "entries"), REFERENCES)
def test_reference_files_by_hand(
    reference: Path, name: str, encoding: str, separator: str, count: int, debit: str, entries: int | None
) -> None:
    path = reference / "fec" / name
    rows = plain_rows(path, encoding, separator)
    assert len(rows) == count
    assert sum(plain_cents(r[11]) for r in rows) == plain_cents(debit) == sum(plain_cents(r[12]) for r in rows)
    if entries is None:  # EcritureNum is "0" on every line: entries end where each journal's balance is zero
        assert {r[2] for r in rows} == {"0"}
        balances: dict[str, int] = {}
        entries = 0
        for r in rows:
            balances[r[0]] = balances.get(r[0], 0) + plain_cents(r[11]) - plain_cents(r[12])
            entries += balances[r[0]] == 0
        assert entries == 666
    else:
        assert len({(r[0], r[2]) for r in rows}) == entries

    assert pipeline.detect(path).format == "fec"
    ledger = pipeline.read(path)
    assert ledger.format == "fec"
    assert (ledger.lines.num_rows, ledger.counts()["entries"]) == (count, entries)
    amounts = ledger.lines.column("amount").to_pylist()
    assert sum(a for a in amounts if a > 0) == plain_cents(debit)
    assert not [p for p in ledger.problems if p.severity == "error"]
    assert not [p for p in validate(ledger) if p.severity == "error"]  # every entry balances
    assert ledger.accounts.num_rows == len({r[4] for r in rows})
    assert ledger.partners.num_rows == len({r[6] for r in rows if r[6]})
    assert not any("\ufffd" in t for t in ledger.lines.column("description").to_pylist())


def test_quirks_of_the_reference_files(reference: Path) -> None:
    latin = pipeline.read(reference / "fec" / "111111111FEC20221231.TXT")
    assert latin.encoding == "iso-8859-15"
    first = latin.lines.to_pylist()[0]  # "VE  |VE11|00000001|20230109|70100000|…|0000000000,00|0000000069,60|"
    assert (first["journal"], first["entry"], first["date"], first["account"], first["amount"], first["doc"]) == (
        "VE", "VE/00000001", dt.date(2023, 1, 9), "70100000", -6960, "VE  0123")  # fmt: skip
    assert "CREATø MAQUETTE ETIQ" in " ".join(latin.lines.column("description").to_pylist())  # byte F8
    bom = pipeline.read(reference / "fec" / "0000000001FEC20220831.txt")
    assert bom.encoding == "utf-8-sig"
    opening = bom.lines.filter(bom.lines.column("opening"))
    assert set(opening.column("journal").to_pylist()) == {"ANO"}  # "A nouveaux"
    wide = pipeline.read(reference / "fec" / "000000000FEC20231231.txt")
    assert {"DateRglt", "ModeRglt"} <= set(wide.extras["lines"].column_names)  # the 22-column variant
    assert set(wide.lines.filter(wide.lines.column("opening")).column("journal").to_pylist()) == {"AD"}
    crcrlf = pipeline.read(reference / "fec" / "123456789FEC20500930.txt")
    assert not any("\r" in t for t in crcrlf.lines.column("description").to_pylist())


def test_detailed_a_nouveaux_open_the_exercise_of_the_file_name(reference: Path) -> None:
    # journal AD "A Nouveaux Détaillés": 456 lines, 7 dated in 2021, 415 in 2022 and 34 on 2023-01-01,
    # counted by hand with awk; every other line is dated in 2023, the exercise the name closes (20231231)
    books = pipeline.read(reference / "fec" / "000000000FEC20231231.txt")
    opening = books.lines.filter(books.lines.column("opening"))
    assert opening.num_rows == 456 and set(opening.column("date").to_pylist()) == {dt.date(2023, 1, 1)}
    assert [y.start.year for y in years_of(books)] == [2023]
    warned = [p for p in books.problems if "à-nouveaux" in p.message]
    assert len(warned) == 1 and warned[0].message.startswith("422 à-nouveaux lines are dated before the exercise "
                                                             "2023-01-01 to 2023-12-31")  # fmt: skip
    kept = books.extras["lines"].select(["source_row", "EcritureDate"]).to_pylist()
    own = {r["source_row"]: r["EcritureDate"] for r in kept}
    first = opening.sort_by("source_row").to_pylist()[0]
    assert own[first["source_row"]] != "20230101"  # the line's own date, kept aside
    assert sum(1 for r in opening.to_pylist() if own[r["source_row"]][:4] in ("2021", "2022")) == 422
    assert pc.sum(opening.column("amount")).as_py() == 0  # the à-nouveaux balance as one opening


# ------------------------------------------------------------------------------------------- writing


def test_garage_matches_golden(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "123456789FEC20241231.txt"
    problems = write_fec(garage, out)
    golden("fec/123456789FEC20241231.txt", out.read_bytes())
    assert not [p for p in problems if p.severity != "info"]
    lines = out.read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == HEADER
    assert lines[1].split("\t") == ["O", "A nouveaux", "1", "20230101", "1000", "Caisse", "", "", "OUV23", "20230101",
                                    "Bilan d'ouverture 2023", "2500,00", "0,00", "", "", "20230101", "", ""]  # fmt: skip
    foreign = [line for line in lines if line.endswith("\tEUR")]
    assert [f.split("\t")[11:13] + f.split("\t")[16:] for f in foreign] == [
        ["965,00", "0,00", "1000,00", "EUR"], ["0,00", "965,00", "1000,00", "EUR"]]  # fmt: skip
    partner = next(line for line in lines if "\tC001\t" in line).split("\t")
    assert partner[6:8] == ["C001", "Müller Transport AG"]


def test_pipe_and_latin9(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "123456789FEC20241231.txt"
    write_fec(garage, out, separator="|", encoding="iso-8859-15")
    golden("fec/123456789FEC20241231_pipe_latin9.txt", out.read_bytes())
    assert "Débiteurs".encode("iso-8859-15") in out.read_bytes()
    back = pipeline.read(out)
    assert back.encoding == "iso-8859-15"
    assert trial_balance(back) == trial_balance(garage)


def test_garage_round_trip(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "123456789FEC20241231.txt"
    declared = pipeline.write(garage, "fec", out)
    back = pipeline.read(out)
    comparison = compare(garage, back, KEEPS, declared=declared)
    assert comparison.ok, comparison.differences
    # a FEC has no company name, no base currency (it is kept in euros) and no partners table
    assert (back.company.name, back.company.base_currency) == ("", "EUR")
    lost = " ".join(comparison.losses)
    assert "company name: 'Garage du Lac Sàrl' before, '' after" in lost
    assert "base currency: CHF before, EUR after" in lost
    assert "2 currencies of lines in EUR not carried" in lost  # F23-102's EUR lines read back in the base
    counts = back.counts()
    assert (counts["entries"], counts["lines"], counts["accounts"], counts["partners"]) == (23, 75, 19, 6)
    assert trial_balance(back) == trial_balance(garage)
    assert pc.sum(back.lines.column("opening")).as_py() == pc.sum(garage.lines.column("opening")).as_py()
    # kinds come from the French chart (40 suppliers, 41 customers); the Swiss 1100/2000 say nothing
    assert {r["id"]: r["roles"] for r in back.partners.to_pylist()} == {p: "" for p in ("C001", "C002", "C003",
                                                                                       "S001", "S002", "S003")}  # fmt: skip


def test_convert_from_csv_verifies(garage: Ledger, tmp_path: Path) -> None:
    source = tmp_path / "garage.csv"
    pipeline.write(garage, "csv", source)
    result = pipeline.convert(source, "fec", tmp_path / "123456789FEC20241231.txt")
    assert result.verified, result.verification and result.verification.differences


def test_foreign_amounts_round_trip(garage: Ledger, tmp_path: Path) -> None:
    """Montantdevise and Idevise carry a line's currency and foreign amount (signed like the line)."""
    usd = pc.if_else(pc.equal(garage.lines.column("currency"), "EUR"), "USD", garage.lines.column("currency"))
    ledger = garage.replace(lines=garage.lines.set_column(garage.lines.schema.get_field_index("currency"), "currency",
                                                          usd))  # fmt: skip
    out = tmp_path / "123456789FEC20241231.txt"
    declared = pipeline.write(ledger, "fec", out)
    assert not [p for p in declared if "currencies of lines" in p.message]
    assert any(line.endswith("\t1000,00\tUSD") for line in out.read_bytes().decode("utf-8").split("\r\n"))
    back = pipeline.read(out)
    foreign = back.lines.filter(pc.equal(back.lines.column("currency"), "USD"))
    assert sorted(zip(foreign.column("amount").to_pylist(), foreign.column("amount_currency").to_pylist(),
                      strict=True)) == [(-96500, -100000), (96500, 100000)]  # fmt: skip
    comparison = compare(ledger, back, KEEPS, declared=declared)
    assert comparison.ok, comparison.differences
    # entries are compared with their currencies; only the VAT codes (no FEC column) are excused
    (entries,) = [loss for loss in comparison.losses if loss.startswith("entries")]
    assert entries.startswith("entries differ only in what the writer declared (line_vat);")


def test_partners_come_from_the_lines(garage: Ledger, tmp_path: Path) -> None:
    """A FEC has no partners table: partners without lines are declared lost, partners that lines
    name without a record are declared as coming back (the reader makes them from CompAuxNum)."""
    named = garage.partners.filter(pc.is_in(garage.partners.column("id"), pa.array(["C001", "S001"])))
    ledger = garage.replace(partners=named)
    out = tmp_path / "123456789FEC20241231.txt"
    declared = pipeline.write(ledger, "fec", out)
    messages = [p.message for p in declared]
    assert any(m.startswith("4 partners named on lines without a partner record not carried") for m in messages)
    back = pipeline.read(out)
    assert sorted(back.partners.column("id").to_pylist()) == ["C001", "C002", "C003", "S001", "S002", "S003"]
    comparison = compare(ledger, back, KEEPS, declared=declared)
    assert comparison.ok, comparison.differences
    assert any(loss.startswith("partners: 2 before, 6 after (new: C002, C003, S002, S003)")
               for loss in comparison.losses)  # fmt: skip
    unused = ledger.partners.to_pylist()[0] | {"id": "X999"}
    with_unused = ledger.replace(partners=pa.concat_tables([ledger.partners, model_table("partners", [unused])]))
    messages = [p.message for p in pipeline.write(with_unused, "fec", out, force=True)]
    assert any(m.startswith("1 partners without lines not carried") for m in messages)


def test_file_name_rule(garage: Ledger, tmp_path: Path) -> None:
    def name_warnings(name: str) -> list[str]:
        problems = pipeline.write(garage, "fec", tmp_path / name)
        return [p.message for p in problems if p.severity == "warning"]

    assert name_warnings("123456789FEC20241231.txt") == []
    (wrong,) = name_warnings("garage.txt")
    assert "<SIREN>FEC<closing date yyyymmdd>.txt" in wrong and "'garage.txt'" in wrong and "FEC20241231" in wrong
    (late,) = name_warnings("123456789FEC20231231.txt")
    assert "closing date 20231231" in late and "20241231" in late


def test_unbalanced_entry_is_an_error(tmp_path: Path) -> None:
    rows = [
        ["VT", "Ventes", "1", "20240105", "411000", "Clients", "C1", "Client 1", "F1", "20240105", "Facture 1",
         "120,00", "0,00", "", "", "20240105", "", ""],
        ["VT", "Ventes", "1", "20240105", "706000", "Prestations", "", "", "F1", "20240105", "Facture 1", "0,00",
         "100,00", "", "", "20240105", "", ""],
    ]  # fmt: skip
    path = tmp_path / "123456789FEC20241231.txt"
    path.write_text("\n".join("\t".join(r) for r in [list(COLUMNS), *rows]) + "\n", encoding="utf-8")
    ledger = pipeline.read(path)
    errors = [p for p in validate(ledger) if p.severity == "error"]
    assert [(p.message, p.row) for p in errors] == [("entry VT/1 does not balance: 20.00 more debit", 2)]


def test_bad_rows_are_problems(tmp_path: Path) -> None:
    good = ["OD", "Divers", "7", "20240301", "512000", "Banque", "", "", "P7", "20240301", "x", "5,00", "0,00", "", "",
            "", "", ""]  # fmt: skip
    counter = [*good[:4], "627000", "Frais", *good[6:11], "0,00", "5,00", *good[13:]]
    bad_amount = [*good[:11], "5,0,0", *good[12:]]
    path = tmp_path / "bad.txt"
    lines = [list(COLUMNS), good, counter, good[:10], bad_amount]
    path.write_text("\n".join("\t".join(r) for r in lines) + "\n", encoding="utf-8")
    ledger = pipeline.read(path, "fec")
    assert ledger.lines.num_rows == 2
    assert [(p.severity, p.row) for p in ledger.problems] == [("error", 4), ("error", 5)]
    assert "10 fields, expected 18" in ledger.problems[0].message


def test_montant_sens_variant(tmp_path: Path) -> None:
    names = [c for c in COLUMNS if c not in ("Debit", "Credit")] + ["Montant", "Sens"]
    row = {
        "JournalCode": "BQ",
        "EcritureNum": "1",
        "EcritureDate": "20240102",
        "CompteNum": "512000",
        "Montant": "12,50",
    }
    lines = ["|".join(names)]
    for account, sens in (("512000", "D"), ("627000", "C")):
        values = {**row, "CompteNum": account, "Sens": sens}
        lines.append("|".join(values.get(n, "") for n in names) + "|")
    path = tmp_path / "sens.txt"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    ledger = pipeline.read(path, "fec")
    assert trial_balance(ledger) == {"512000": 1250, "627000": -1250}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledgers())
def test_hypothesis_round_trip(tmp_path: Path, ledger: Ledger) -> None:
    out = tmp_path / "123456789FEC20241231.txt"
    declared = pipeline.write(ledger, "fec", out, force=True)  # hypothesis runs every example in one folder
    back = pipeline.read(out, "fec")
    comparison = compare(ledger, back, KEEPS, declared=declared)
    assert comparison.ok, comparison.differences
    assert back.lines.num_rows == ledger.lines.num_rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledgers(text=texts(LATIN)))
def test_hypothesis_round_trip_pipe_latin9(tmp_path: Path, ledger: Ledger) -> None:
    out = tmp_path / "123456789FEC20241231.txt"
    problems = write_fec(ledger, out, separator="|", encoding="iso-8859-15")
    assert not [p for p in problems if "encoding" in p.message]
    back = pipeline.read(out, "fec")
    comparison = compare(ledger, back, KEEPS, declared=problems)
    assert comparison.ok, comparison.differences
    names = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )
    for row in back.accounts.to_pylist():
        assert row["name"] == names[row["code"]].replace("|", " ")


def test_sniff_refuses_other_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("date;account;amount\n2024-01-01;1000;5\n", encoding="utf-8")
    assert pipeline.detect(path).format != "fec"


def test_fiscal_years_without_lines_are_declared(garage: Ledger, tmp_path: Path) -> None:
    """A FEC has no fiscal-year field: read back, the years are the calendar years of its lines."""
    out = tmp_path / "123456789FEC20241231.txt"
    assert not [p for p in pipeline.write(garage, "fec", out) if "fiscal years not carried" in p.message]
    years = (*garage.company.fiscal_years, FiscalYear(dt.date(2025, 1, 1), dt.date(2025, 12, 31)))
    longer = garage.replace(company=dataclasses.replace(garage.company, fiscal_years=years))
    declared = pipeline.write(longer, "fec", out, force=True)
    assert any(p.message.startswith("3 fiscal years not carried") for p in declared)
    comparison = compare(longer, pipeline.read(out), KEEPS, declared=declared)
    assert comparison.ok, comparison.differences
    assert any(loss.startswith("fiscal years: ") for loss in comparison.losses)
