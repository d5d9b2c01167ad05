"""Winbiz reader: the reference export, every route of the sample, and damaged files."""

from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest

from migrator import dbf
from migrator.errors import SourceError
from migrator.money import to_cents
from migrator.pipeline import detect, read
from migrator.readers.winbiz import dossiers
from migrator.reconcile import trial_balance, vat_totals, years
from migrator.validate import validate

ROOT = Path(__file__).resolve().parents[2]
WINBIZ = ROOT / "samples" / "winbiz"
GARAGE = WINBIZ / "DAT" / "garage"
EXPORTS = WINBIZ / "exports"
ROUTES = ["xml-attributes", "xml-elements", "xlsx", "xls", "csv"]
REFERENCE = "vendors/winbiz/oca_winbiz_export_attribute-oriented.xml"


def _lines_of(ledger, **where):  # type: ignore[no-untyped-def]
    rows = ledger.lines.to_pylist()
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


# ------------------------------------------------------------------------------ the reference export


def _reference_rows(path: Path) -> list[dict[str, str]]:
    """The rows of the reference export, taken apart with a regular expression (not the reader)."""
    text = path.read_bytes().decode("cp1252")
    return [dict(re.findall(r'(\S+?)="([^"]*)"', row)) for row in re.findall(r"<c_tmpexport ([^>]*)/>", text)]


def test_reference_export_counts_and_balances(reference: Path) -> None:
    path = reference / REFERENCE
    rows = _reference_rows(path)
    assert len(rows) == 43
    ledger = read(path)
    assert ledger.format == "winbiz"
    numbers = {r["numéro"] for r in rows}
    assert ledger.counts()["entries"] == len(numbers) == 20
    # every row books its amount from cpt_débit to cpt_crédit; 'Multiple' is a header, not an account
    expected: dict[str, int] = {}
    for r in rows:
        cents = to_cents(Decimal(r["montant"]))
        for account, sign in ((r["cpt_débit"], 1), (r["cpt_crédit"], -1)):
            if account != "Multiple":
                expected[account] = expected.get(account, 0) + sign * cents
    assert trial_balance(ledger) == dict(sorted(expected.items()))
    debit = sum(to_cents(Decimal(r["montant"])) for r in rows)
    assert pc.sum(pc.if_else(pc.greater(ledger.lines.column("amount"), 0), ledger.lines.column("amount"), 0)).as_py() \
        == debit == 22_452_505  # fmt: skip
    # by hand: 14 entries of one row (2 lines), entry 2 and the VAT sales 24 and 82 (3 lines each),
    # compound 7 (header + 10 rows = 11), 84 (header + 4 = 5), 96 (header + 6 = 7)
    assert ledger.counts()["lines"] == 14 * 2 + 3 * 3 + 11 + 5 + 7 == 60
    assert ledger.errors == []
    assert not [p for p in validate(ledger) if p.severity == "error" and "chart" not in p.message]


def test_reference_export_vat_compound_opening(reference: Path) -> None:
    ledger = read(reference / REFERENCE)
    # the VAT lines (ecr_tvatyp -1) stay lines of their own, with the code of the line they belong to
    vat = _lines_of(ledger, vat_line=True)
    assert len(vat) == 7
    assert sum(v["amount"] for v in vat if v["account"] == "1061") == 305 + 2291 + 3639 + 2320 + 2125
    assert {v["vat_code"] for v in vat} == {"M65G", "V75G", "V76G"}
    codes = {c["code"]: c for c in ledger.vat_codes.to_pylist()}
    assert codes["M65G"]["kind"] == "input_material" and codes["M65G"]["method"] == "gross"
    assert codes["V75G"]["rate"] == "7.5" and codes["V75G"]["account"] == "2010"
    # VAT is taken as booked: ecr_tvamnt on the base line, never recomputed (58139.55 * 7.5 % is 4360.47)
    sale = _lines_of(ledger, account="6200")[0]
    assert sale["vat_amount"] == -436045 and sale["vat_code"] == "V75G"
    # the compound entry BA-0020: one line for the bank (the header's account) and one per row
    payments = _lines_of(ledger, doc="BA-0020")
    assert len(payments) == 11
    bank = [p for p in payments if p["account"] == "1020"]
    assert len(bank) == 1 and bank[0]["amount"] == -(65000 + 35254 + 2291 + 55991 + 3639 + 15000 + 35680 + 2320
                                                       + 32700 + 2125)  # fmt: skip
    assert bank[0]["description"] == "Paiements divers"
    opening = _lines_of(ledger, opening=True)
    assert len(opening) == 16 and {o["journal"] for o in opening} == {"o"}
    assert "ecr_verrou" in ledger.extras["lines"].column_names


# ------------------------------------------------------------------------------ the sample, every route


@pytest.fixture(scope="module")
def dat_garage():  # type: ignore[no-untyped-def]
    return read(GARAGE)


def test_dat_dossier_is_the_garage(dat_garage, garage) -> None:  # type: ignore[no-untyped-def]
    assert dat_garage.company.name == "Garage du Lac Sàrl"
    assert [(y.start.year, y.end.month) for y in dat_garage.company.fiscal_years] == [(2023, 12), (2024, 12)]
    tb = trial_balance(dat_garage)
    assert tb.pop("9100") == 0  # each opening balance booked against the opening balance sheet account
    assert tb == {k: v for k, v in trial_balance(garage).items()}
    assert vat_totals(dat_garage) == vat_totals(garage)
    for ours, theirs in zip(years(dat_garage), years(garage), strict=True):
        opening, closing = dict(ours.opening), ours.closing
        assert opening.pop("9100") == 0 and closing.pop("9100") == 0
        assert (opening, closing) == (theirs.opening, theirs.closing)
    assert dat_garage.errors == []
    assert not [p for p in validate(dat_garage) if p.severity == "error"]


def test_dat_details(dat_garage) -> None:  # type: ignore[no-untyped-def]
    ledger = dat_garage
    foreign = _lines_of(ledger, doc="F23-102")
    assert {(f["account"], f["currency"], f["amount_currency"], f["rate"]) for f in foreign} == {
        ("4200", "EUR", 100000, "0.965"), ("2000", "EUR", -100000, "0.965")}  # fmt: skip
    weber = _lines_of(ledger, doc="R23-002")  # compound: two VAT bases and one VAT line
    assert sorted((w["account"], w["amount"], w["vat_code"], w["vat_line"]) for w in weber) == [
        ("1100", 269250, "", False), ("2200", -19250, "V77", True), ("3200", -150000, "V77", False),
        ("3400", -100000, "V77", False)]  # fmt: skip
    assert len({w["entry"] for w in weber}) == 1 and weber[0]["entry"].startswith("2023/")
    salaries = _lines_of(ledger, doc="L24-04")
    assert sorted(s["amount"] for s in salaries) == [-612000, -68000, 680000]
    assert {c["code"]: c["kind"] for c in ledger.vat_codes.to_pylist()} == {
        "V77": "sales",
        "M77": "input_material",
        "V81": "sales",
        "M81": "input_material",
        "I81": "input_investment",
    }
    opening = _lines_of(ledger, opening=True)
    assert {o["journal"] for o in opening} == {"o"} and len(opening) == 2 * (8 + 11)
    deleted = [p for p in ledger.problems if "deleted" in p.message]
    assert len(deleted) == 1 and deleted[0].severity == "info"
    assert deleted[0].file.endswith("garage/2023/ecriture.dbf") and deleted[0].message.startswith("1 deleted")
    assert "ERR" not in set(ledger.lines.column("doc").to_pylist())
    partners = {p["id"]: p for p in ledger.partners.to_pylist()}
    assert len(partners) == 11 and partners["C002"]["name"] == "Carrosserie Weber"
    assert partners["C002"]["city"] == "Bulle" and partners["C002"]["street"] == "Route de Thoune"
    assert [(o["id"], o["partner"], o["amount"], o["open_amount"]) for o in ledger.open_items.to_pylist()] == [
        ("R24-002", "C002", 432400, 432400),
        ("F24-202", "S001", 162150, 162150),
    ]
    accounts = {a["code"]: a for a in ledger.accounts.to_pylist()}
    assert accounts["2800"]["type"] == "equity" and accounts["2000"]["type"] == "liability"
    assert accounts["3400"]["type"] == "income" and accounts["4200"]["type"] == "expense"
    assert accounts["1170"]["parent"] == "110" and accounts["9100"]["parent"] == "910"
    groups = {g["code"]: g for g in ledger.groups.to_pylist()}
    assert groups["110"]["parent"] == "1" and groups["1"]["parent"] == "" and len(groups) == 21 + 2
    assert {"PL_BUDGET"} <= set(ledger.extras["accounts"].column_names)
    assert {"AD_NUMERO", "AD_TITRE2"} <= set(ledger.extras["partners"].column_names)
    assert {"ECR_VERROU", "ECR_REF1"} <= set(ledger.extras["lines"].column_names)


def _key_figures(ledger):  # type: ignore[no-untyped-def]
    counts = {k: v for k, v in ledger.counts().items() if k not in ("partners", "open_items", "items", "documents")}
    return counts, trial_balance(ledger), vat_totals(ledger), [(y.opening, y.movements) for y in years(ledger)]


@pytest.mark.parametrize("route", ROUTES)
def test_every_export_route_reads_the_same_books(route: str, dat_garage) -> None:  # type: ignore[no-untyped-def]
    ledger = read(EXPORTS / route)
    assert ledger.format == "winbiz" and ledger.errors == []
    assert _key_figures(ledger) == _key_figures(dat_garage)
    foreign = sorted(
        (r["account"], r["currency"], r["amount_currency"], r["rate"]) for r in _lines_of(ledger, doc="F23-102")
    )
    assert foreign == sorted((r["account"], r["currency"], r["amount_currency"], r["rate"])
                             for r in _lines_of(dat_garage, doc="F23-102"))  # fmt: skip
    assert {a["code"]: a["name"] for a in ledger.accounts.to_pylist()} == \
        {a["code"]: a["name"] for a in dat_garage.accounts.to_pylist()}  # fmt: skip


def test_zip_of_the_dossier_and_of_the_year(tmp_path: Path, dat_garage) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "garage.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(GARAGE.rglob("*")):
            zf.write(path, Path("garage") / path.relative_to(GARAGE))
    assert detect(archive).format == "winbiz"
    assert _key_figures(read(archive)) == _key_figures(dat_garage)
    year = tmp_path / "2024.zip"
    with zipfile.ZipFile(year, "w") as zf:
        for path in sorted((GARAGE / "2024").iterdir()):
            zf.write(path, path.name)
    ledger = read(year)
    assert ledger.counts()["entries"] == read(GARAGE, year=2024).counts()["entries"] == 20


def test_inspect_json_is_identical_on_every_route(run_cli) -> None:  # type: ignore[no-untyped-def]
    seen = []
    for source in [GARAGE, *(EXPORTS / r for r in ROUTES)]:
        result = run_cli("inspect", source, "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        counts = {k: v for k, v in data["counts"].items() if k not in ("partners", "open_items", "items", "documents")}
        seen.append((counts, data["trial_balance"], data["vat"]))
    assert all(s == seen[0] for s in seen)


def test_detect_each_route() -> None:
    for source in [WINBIZ / "DAT", GARAGE, GARAGE / "2023", GARAGE / "2023" / "ecriture.dbf",
                   *(p for r in ROUTES for p in (EXPORTS / r).iterdir())]:  # fmt: skip
        assert detect(source).format == "winbiz", source


def test_dat_with_several_dossiers() -> None:
    assert dossiers(WINBIZ / "DAT") == [("boulangerie", "Boulangerie Rochat SA"), ("garage", "Garage du Lac Sàrl")]
    assert dossiers(GARAGE) == [("garage", "Garage du Lac Sàrl")]
    with pytest.raises(SourceError, match=r"2 dossiers: boulangerie \(Boulangerie Rochat SA\); garage .*choose one"):
        read(WINBIZ / "DAT")
    with pytest.raises(SourceError, match="no dossier 'nope'"):
        read(WINBIZ / "DAT", dossier="nope")
    bakery = read(WINBIZ / "DAT", dossier="boulangerie")
    assert bakery.company.name == "Boulangerie Rochat SA"
    assert read(WINBIZ / "DAT", dossier="Garage du Lac Sàrl").counts() == read(GARAGE).counts()
    # Visual FoxPro tables (0x30) with a memo file: the memo text is kept with the chart's extras
    assert dbf.read(WINBIZ / "DAT" / "boulangerie" / "2023" / "plan.dbf").version == 0x30
    memos = [m for m in bakery.extras["accounts"].column("REMARQUE").to_pylist() if m]
    assert memos == ["Compte de résultat principal\r\nvoir budget"] * 2
    # sales entered VAT included at the reduced rates: gross codes, VAT as booked
    assert {c["code"]: c["method"] for c in bakery.vat_codes.to_pylist()} == {
        "V25G": "gross",
        "M25": "net",
        "V26G": "gross",
        "M26": "net",
    }
    assert vat_totals(bakery)["V26G"] == {"base": -500000, "vat": -13000, "declared": -13000}


def test_year_option() -> None:
    ledger = read(GARAGE, year=2024)
    assert [y.start.year for y in ledger.company.fiscal_years] == [2024]
    assert {d.year for d in ledger.lines.column("date").to_pylist()} == {2024}
    assert {e.split("/")[0] for e in ledger.lines.column("entry").to_pylist()} != {"2024"}  # one year: plain numbers
    with pytest.raises(SourceError, match="no fiscal year starting in 2019; the years here: 2023, 2024"):
        read(GARAGE, year=2019)
    exported = read(EXPORTS / "csv", year=2023)
    assert exported.counts()["entries"] == read(GARAGE, year=2023).counts()["entries"]


# ------------------------------------------------------------------------------ tolerance


def test_other_names_cases_and_flags(tmp_path: Path) -> None:
    """A CSV export with upper-case names, no entry numbers, no VAT columns, 0/1 flags and an extra column."""
    path = tmp_path / "export.csv"
    path.write_bytes(
        "MULTIPLE;DATE;PIÈCE;LIBELLÉ;CPT_DÉBIT;CPT_CRÉDIT;MONTANT;JOURNAL;REMARQUE\r\n"
        "0;05.01.2024;A1;Achat café;6500;1000;12.50;a;x\r\n"
        "1;06.01.2024;S1;Salaires;5000;Multiple;0.00;s;\r\n"
        "1;06.01.2024;S1;Net;5000;1020;900.00;s;\r\n"
        "1;06.01.2024;S1;AVS;5000;2270;100.00;s;y\r\n".encode("cp1252")
    )
    ledger = read(path)
    assert ledger.counts()["entries"] == 2 and ledger.counts()["lines"] == 2 + 3
    assert trial_balance(ledger) == {"1000": -1250, "1020": -90000, "2270": -10000, "5000": 100000, "6500": 1250}
    assert ledger.extras["lines"].column("REMARQUE").to_pylist() == ["x", "", "", "y"]


def test_xlsx_typed_cells_are_exact() -> None:
    ledger = read(EXPORTS / "xlsx" / "ecritures.xlsx")
    assert set(ledger.lines.column("amount").to_pylist()) >= {129240, -129240, 269250, 91545}
    assert ledger.lines.column("date").null_count == 0


# ------------------------------------------------------------------------------ bad files


def _copy_year(tmp_path: Path) -> Path:
    target = tmp_path / "2024"
    shutil.copytree(GARAGE / "2024", target)
    return target


def test_truncated_dbf(tmp_path: Path) -> None:
    year = _copy_year(tmp_path)
    path = year / "ecriture.dbf"
    data = path.read_bytes()
    count, header, size = struct.unpack_from("<IHH", data, 4)
    path.write_bytes(data[: header + 10 * size + 17])  # ten records and a piece of the eleventh
    ledger = read(year)
    cut = [p for p in ledger.errors if "cut off" in p.message]
    assert len(cut) == 1 and cut[0].file.endswith("2024/ecriture.dbf") and cut[0].row == 11
    assert "record 11" in cut[0].message and count > 11


def test_wrong_header(tmp_path: Path) -> None:
    year = _copy_year(tmp_path)
    path = year / "ecriture.dbf"
    path.write_bytes(b"PK\x03\x04 this is not a table" + bytes(40))
    with pytest.raises(SourceError, match=r"ecriture\.dbf: not a dBASE/FoxPro table: unknown version byte 0x50"):
        read(year)
    path.write_bytes(bytes([0x03]) + bytes(40))
    with pytest.raises(SourceError, match=r"ecriture\.dbf: .*(end marker|damaged|header)"):
        read(year)


def test_required_field_missing(tmp_path: Path) -> None:
    source = EXPORTS / "xml-elements" / "ecritures.xml"
    text = source.read_bytes().decode("cp1252")
    broken = tmp_path / "ecritures.xml"
    broken.write_bytes(re.sub(r"\s*<montant>[^<]*</montant>", "", text).encode("cp1252"))
    with pytest.raises(SourceError, match=r"ecritures\.xml: not a Winbiz (journal|export)"):
        read(broken, "winbiz")


def test_bad_values_name_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "numéro;date;pièce;libellé;cpt_débit;cpt_crédit;montant\r\n"
        "1;05.01.2024;A1;ok;6500;1000;12.50\r\n"
        "2;32.01.2024;A2;bad date;6500;1000;1.00\r\n"
        "3;05.01.2024;A3;bad amount;6500;1000;1.005\r\n".encode("cp1252")
    )
    ledger = read(path)
    assert [(p.row, p.severity) for p in ledger.errors] == [(3, "error"), (4, "error")]
    assert "date" in ledger.errors[0].message and "montant" in ledger.errors[1].message
    assert ledger.counts()["entries"] == 1


def test_account_missing_from_the_chart_is_not_added(tmp_path: Path) -> None:
    year = _copy_year(tmp_path)
    path = year / "plan.dbf"
    table = dbf.read(path)
    import sys

    sys.path.insert(0, str(WINBIZ))
    import dbfwrite

    fields = [(f.name, f.type, f.length, f.decimals) for f in table.fields]
    rows = [
        dict(zip(table.columns, values, strict=True))
        for values in zip(*(c.to_pylist() for c in table.columns.values()), strict=True)
    ]
    dbfwrite.write(path, fields, [r for r in rows if r["NUMERO"] != "6000"])
    ledger = read(year)
    assert "6000" not in set(ledger.accounts.column("code").to_pylist())
    unknown = [p for p in validate(ledger) if p.severity == "error"]
    assert len(unknown) == 1 and "account 6000 is not in the chart" in unknown[0].message
    assert unknown[0].file.endswith("ecriture.dbf") and unknown[0].row is not None
