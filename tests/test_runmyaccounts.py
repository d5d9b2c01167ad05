"""Run my Accounts: GL import CSV and chart, both ways."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import pipeline
from migrator.errors import SourceError
from migrator.model import Ledger, table
from migrator.outputs import MANIFEST
from migrator.reconcile import trial_balance
from migrator.validate import validate
from migrator.writers.runmyaccounts import RunMyAccountsWriter, kept_partner
from migrator.years import per_year

HEADER = "reference,department,description,transdate,notes,currency,exchangerate,accno,debit,credit,source,memo,projectnumber"


def write_text(path: Path, text: str, encoding: str = "iso-8859-1") -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


# --------------------------------------------------------------------------------------- the sample


def test_sample_folder_reads_to_the_garage(samples: Path, garage: Ledger) -> None:
    folder = samples / "runmyaccounts" / "garage"
    with (folder / "journal.csv").open(encoding="iso-8859-1", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 75
    assert len({r["reference"] for r in rows}) == 23
    assert (
        sum(Decimal(r["debit"]) for r in rows)
        == sum(Decimal(r["credit"]) for r in rows)
        == Decimal(sum(a for a in garage.lines.column("amount").to_pylist() if a > 0)).scaleb(-2)
    )
    ledger = pipeline.read(folder, "runmyaccounts")
    assert ledger.counts()["entries"] == 23 and ledger.lines.num_rows == 75
    assert trial_balance(ledger) == trial_balance(garage)
    accounts = {a["code"]: (a["name"], a["type"], a["parent"]) for a in ledger.accounts.to_pylist()}
    assert len(accounts) == 19
    assert accounts["1020"] == ("Banque Raiffeisen", "asset", "100")
    assert accounts["2970"] == ("Bénéfice reporté", "equity", "290")
    assert accounts["3400"] == ("Prestations d'atelier", "income", "340")
    assert ledger.groups.num_rows == 21
    atelier = {r["account"] for r in ledger.lines.to_pylist() if r["cost_centre"] == "ATELIER"}
    assert atelier == {"3400"}
    assert not ledger.problems


def test_sniff(samples: Path) -> None:
    from migrator.readers.runmyaccounts import RunMyAccountsReader
    from migrator.sources import Source

    reader = RunMyAccountsReader()
    assert reader.sniff(Source(samples / "runmyaccounts" / "garage")) >= 0.9
    assert reader.sniff(Source(samples / "runmyaccounts" / "garage" / "journal.csv")) >= 0.9
    assert reader.sniff(Source(samples / "runmyaccounts" / "garage" / "chart.csv")) == 0
    assert reader.sniff(Source(samples / "garage" / "journal.csv")) == 0


# --------------------------------------------------------------------------------------------- writer


def test_writer_layout_golden(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "rma"
    problems = pipeline.write(garage, "runmyaccounts", out)
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == [
        "README.txt", "chart.csv", "customers.csv", "journal.csv", "vendors.csv"]  # fmt: skip
    journal = (out / "journal.csv").read_bytes()
    chart = (out / "chart.csv").read_bytes()
    assert journal.startswith(HEADER.encode() + b"\r\n")
    assert (
        b'R24-001,ATELIER,"Facture M\xfcller Transport, service camion",25.01.2024,,CHF,1,3400,0.00,2000.00,,,'
        in journal
    )
    assert chart.startswith(b"accno,description,charttype,category,link\r\n1,Actifs,H,A,\r\n100,Liquidit\xe9s,H,A,\r\n")
    # œ is not ISO-8859-1: replaced by oe, and said so
    assert b"main-d'oeuvre" in journal
    assert [p.message for p in problems if p.severity == "warning"] == [
        "'œ' (U+0153) is not in ISO-8859-1: written as 'oe' (4×)"
    ]
    assert any("VAT codes on lines" in p.message and p.severity == "info" for p in problems)
    golden("runmyaccounts/journal.csv", journal)
    golden("runmyaccounts/chart.csv", chart)


def test_unrepresentable_characters_never_crash(tmp_path: Path) -> None:
    lines = table("lines", [
        {"entry": "1", "line": 1, "date": dt.date(2024, 3, 1), "account": "1020", "amount": 1000, "doc": "€1",
         "description": "Zahlung 😀 “OK”"},
        {"entry": "1", "line": 2, "date": dt.date(2024, 3, 1), "account": "3000", "amount": -1000, "doc": "€1",
         "description": "Zahlung 😀 “OK”"},
    ])  # fmt: skip
    problems = pipeline.write(Ledger(lines=lines), "runmyaccounts", tmp_path / "o")
    text = (tmp_path / "o" / "journal.csv").read_text(encoding="iso-8859-1")
    assert 'EUR1,,"Zahlung ? ""OK""",01.03.2024,,CHF,1,1020,10.00,0.00,,,' in text
    assert sorted(p.message.split(" (U+")[0] for p in problems if p.severity == "warning") == [
        "'“'",
        "'”'",
        "'€'",
        "'😀'",
    ]


def test_consecutive_entries_with_one_reference_are_kept_apart(tmp_path: Path) -> None:
    rows = []
    for entry in ("1", "2"):
        rows += [{"entry": entry, "line": 1, "date": dt.date(2024, 3, 1), "account": "1020", "amount": 500, "doc": "B"},
                 {"entry": entry, "line": 2, "date": dt.date(2024, 3, 1), "account": "3000", "amount": -500, "doc": "B"}]  # fmt: skip
    problems = pipeline.write(Ledger(lines=table("lines", rows)), "runmyaccounts", tmp_path / "o")
    assert any("(2)" in p.message for p in problems)
    back = pipeline.read(tmp_path / "o", "runmyaccounts")
    assert back.counts()["entries"] == 2
    assert sorted(set(back.lines.column("doc").to_pylist())) == ["B", "B (2)"]


def test_garage_round_trip_through_convert(samples: Path, tmp_path: Path) -> None:
    result = pipeline.convert(samples / "garage" / "journal.csv", "runmyaccounts", tmp_path / "o", from_format="csv")
    assert result.verified, result.verification
    # a continuous target: the 2024 opening (11 lines) is replaced by the 2023 closing entry (8 lines: the
    # seven income and expense accounts and 2970); read back per year, the 75 lines of the source again
    assert result.reread is not None and result.reread.lines.num_rows == 72
    assert per_year(result.reread, result.source.company.fiscal_years).lines.num_rows == 75


def test_sample_round_trip_keeps_the_chart(samples: Path, tmp_path: Path) -> None:
    result = pipeline.convert(samples / "runmyaccounts" / "garage", "runmyaccounts", tmp_path / "o",
                              from_format="runmyaccounts")  # fmt: skip
    assert result.verified, result.verification
    assert result.reread is not None and result.reread.counts()["accounts"] == 19


# ------------------------------------------------------------------------------- user-setting layouts


def test_reads_swiss_settings_and_foreign_rows(tmp_path: Path) -> None:
    # the layout of Run my Accounts' own samples: dd.mm.yy and a decimal comma, ; separated
    path = write_text(tmp_path / "gl.csv", HEADER.replace(",", ";") + "\n"
        + "A1;;Miete;03.01.19;;CHF;1;6000;275,12;;;;\n"
        + "A1;;Miete;03.01.19;;CHF;1;1020;;275,12;;;\n"
        + "A2;VERKAUF;Rechnung EUR;04.01.19;;EUR;1,0856;1100;1'000,00;0;;Kunde;\n"
        + "A2;VERKAUF;Rechnung EUR;04.01.19;;EUR;1,0856;3200;0;1'000,00;;;P7\n")  # fmt: skip
    ledger = pipeline.read(path, "runmyaccounts")
    rows = ledger.lines.to_pylist()
    assert [(r["entry"], r["date"], r["account"], r["amount"]) for r in rows] == [
        ("1", dt.date(2019, 1, 3), "6000", 27512), ("1", dt.date(2019, 1, 3), "1020", -27512),
        ("2", dt.date(2019, 1, 4), "1100", 108560), ("2", dt.date(2019, 1, 4), "3200", -108560),
    ]  # fmt: skip
    assert (rows[2]["currency"], rows[2]["amount_currency"], rows[2]["rate"]) == ("EUR", 100000, "1.0856")
    assert rows[2]["description"] == "Kunde" and rows[3]["description"] == "Rechnung EUR"
    assert rows[2]["cost_centre"] == "VERKAUF"
    assert ledger.company.base_currency == "CHF"
    assert ledger.extras["lines"].column("projectnumber").to_pylist() == ["", "", "", "P7"]


# ------------------------------------------------------------------------------------------ bad input


def test_bad_rows_are_named_by_file_and_row(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.csv", HEADER + "\n"
        + "R1,,ok,03.01.2024,,CHF,1,1000,10.00,0.00,,,\n"
        + "R1,,ok,03.01.2024,,CHF,1,2000,0.00,10.00,,,\n"
        + "R2,,bad date,32.01.2024,,CHF,1,1000,10.00,0.00,,,\n"
        + "R3,,bad amount,03.01.2024,,CHF,1,1000,ten,0.00,,,\n"
        + "R4,,short,03.01.2024\n"
        + "R5,,no rate,03.01.2024,,EUR,,1000,10.00,0.00,,,\n"
        + "R6,,unbalanced,03.01.2024,,CHF,1,1000,10.00,0.00,,,\n"
        + "R6,,unbalanced,03.01.2024,,CHF,1,2000,0.00,9.00,,,\n")  # fmt: skip
    ledger = pipeline.read(path, "runmyaccounts")
    errors = {p.row: p.message for p in ledger.errors}
    assert set(errors) == {4, 5, 6, 7}
    assert "32.01.2024" in errors[4] and "ten" in errors[5] and "4 fields" in errors[6] and "EUR" in errors[7]
    assert all(p.file == str(path) for p in ledger.errors)
    unbalanced = [p for p in validate(ledger) if "does not balance" in p.message]
    assert [(p.file, p.row) for p in unbalanced] == [(str(path), 8)]


def test_amounts_and_dates_as_the_user_wrote_them(tmp_path: Path) -> None:
    """Amounts in the Swiss and the other forms (grouping, trailing minus, brackets) and dates with a
    two-digit year: the column's decimal mark and date layout decided from all rows, odd cells read
    one by one, bad ones named with their row."""
    path = write_text(tmp_path / "odd.csv", HEADER + "\n"
        + "R1,,a,03.01.24,,CHF,1,1000,1'234.50,0.00,,,\n"
        + "R1,,a,03.01.24,,CHF,1,2000,0.00,1’234.50,,,\n"
        + "R2,,b,4.1.24,,CHF,1,1000,(5.00),0.00,,,\n"
        + "R2,,b,4.1.24,,CHF,1,2000,5.00-,0.00,,,\n"
        + "R3,,c,31.12.23,,CHF,1,1000,+7.1,,,,\n"
        + "R3,,c,31.12.23,,CHF,1,2000,,7.10,,,\n"
        + "R4,,d,30.02.24,,CHF,1,1000,1.2.3,0.00,,,\n"
        + "R5,,e,05.01.24,,CHF,8.1%,1000,1.005,0.00,,,\n", "utf-8")  # fmt: skip
    ledger = pipeline.read(path, "runmyaccounts")
    rows = ledger.lines.to_pylist()
    assert [(r["doc"], r["date"], r["account"], r["amount"]) for r in rows] == [
        ("R1", dt.date(2024, 1, 3), "1000", 123450), ("R1", dt.date(2024, 1, 3), "2000", -123450),
        ("R2", dt.date(2024, 1, 4), "1000", -500), ("R2", dt.date(2024, 1, 4), "2000", -500),
        ("R3", dt.date(2023, 12, 31), "1000", 710), ("R3", dt.date(2023, 12, 31), "2000", -710),
    ]  # fmt: skip
    assert [r["line"] for r in rows] == [1, 2, 1, 2, 1, 2]
    assert [r["entry"] for r in rows] == ["1", "1", "2", "2", "3", "3"]
    errors = {p.row: p.message for p in ledger.errors}
    assert set(errors) == {8, 9}
    assert "30.02.24" in errors[8] and "1.005" in errors[9] and "row left out" in errors[9]


def test_no_exchange_rate_anywhere_means_rate_one(tmp_path: Path) -> None:
    """Rows without an exchange rate are at rate 1: their currency is the base currency."""
    path = write_text(tmp_path / "eur.csv", HEADER + "\n"
        + "R1,,a,03.01.2024,,EUR,,1000,10.00,0.00,,,\n"
        + "R1,,a,03.01.2024,,EUR,,2000,0.00,10.00,,,\n")  # fmt: skip
    ledger = pipeline.read(path, "runmyaccounts")
    assert ledger.company.base_currency == "EUR" and not ledger.errors
    assert ledger.lines.column("currency").to_pylist() == ["", ""]
    assert ledger.lines.column("amount").to_pylist() == [1000, -1000]


def test_not_a_gl_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "x.csv", "reference,transdate,accno\nR1,03.01.2024,1000\n")
    with pytest.raises(SourceError, match=r"x\.csv, row 1: the header lacks debit, credit"):
        pipeline.read(path, "runmyaccounts")


def test_chart_links_bank_debtor_creditor_and_vat_accounts(garage: Ledger, tmp_path: Path) -> None:
    """An account with an empty link is missing from Run my Accounts' screens: the garage's cash and
    bank, debtors, creditors and VAT accounts carry theirs, the others none."""
    out = tmp_path / "rma"
    pipeline.write(garage, "runmyaccounts", out)
    rows = list(csv.DictReader((out / "chart.csv").read_text("latin-1").splitlines()))
    links = {r["accno"]: r["link"] for r in rows if r["link"]}
    assert links == {"1000": "AR_paid:AP_paid", "1020": "AR_paid:AP_paid", "1100": "AR", "1170": "AP_tax",
                     "1171": "AP_tax", "2000": "AP", "2200": "AR_tax"}  # fmt: skip
    assert all(r["link"] == "" for r in rows if r["charttype"] == "H")
    assert {r["link"] for r in rows if r["accno"] in ("3400", "4200", "6000")} == {""}


def test_bad_chart_row(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    write_text(
        folder / "gl.csv", HEADER + "\nR1,,x,03.01.2024,,CHF,1,1000,1.00,0,,,\nR1,,x,03.01.2024,,CHF,1,9999,0,1.00,,,\n"
    )
    write_text(folder / "kontenplan.csv", "accno,description,charttype,category,link\n1000,Kasse,A,A,\n,Leer,X,,\n")
    ledger = pipeline.read(folder, "runmyaccounts")
    messages = [(p.severity, p.file.rsplit("/", 1)[-1], p.row, p.message) for p in ledger.problems]
    assert (
        "error",
        "kontenplan.csv",
        3,
        "chart row needs an accno and charttype A or H (got '', 'X'); row left out",
    ) in messages
    assert any(m[0] == "warning" and "9999" in m[3] for m in messages)


# ------------------------------------------------------------------------------------- property test


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    rows = []
    for number in range(1, draw(st.integers(1, 6)) + 1):
        debits = draw(st.lists(st.integers(0, 10**9), min_size=1, max_size=3))
        parts = draw(st.integers(1, 3))
        split = [sum(debits) // parts] * (parts - 1)
        values = debits + [-p for p in split] + [-(sum(debits) - sum(split))]
        date = dt.date(2023, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
        doc = draw(st.sampled_from(["", "R", f"R{number}"]))
        text = draw(st.text('aéœ€, "', max_size=10))
        for position, amount in enumerate(values, start=1):
            rows.append({"entry": str(number), "line": position, "date": date, "doc": doc, "amount": amount,
                         "description": text, "account": draw(st.sampled_from(["1000", "1020", "3200"]))})  # fmt: skip
    return Ledger(lines=table("lines", rows))


@settings(max_examples=20, deadline=None)
@given(ledgers())
def test_write_read_keeps_entries_and_balances(tmp_path_factory: pytest.TempPathFactory, ledger: Ledger) -> None:
    out = tmp_path_factory.mktemp("rma") / "o"
    pipeline.write(ledger, "runmyaccounts", out)
    back = pipeline.read(out, "runmyaccounts")
    assert not back.errors
    assert back.counts()["entries"] == ledger.counts()["entries"]
    assert back.lines.num_rows == ledger.lines.num_rows
    assert trial_balance(back) == trial_balance(ledger)


def test_company_name_declared(samples: Path, tmp_path: Path) -> None:
    """The GL import and chart hold no company name (declared lost); the groups come back as headings."""
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "runmyaccounts", out, dossier="garage")
    assert result.verification is not None
    assert result.verification.verdict == "verified with declared losses"
    losses = result.verification.losses
    assert any(loss.startswith("company name: 'Garage du Lac Sàrl' before, '' after") for loss in losses)
    assert result.reread is not None and result.reread.groups.num_rows == 23
    assert not any(loss.startswith("groups") for loss in losses)


# ------------------------------------------------------------------------------- customers and vendors


def test_customers_and_vendors_files(tmp_path: Path) -> None:
    from odd_partners import ledger

    out = tmp_path / "rma"
    out.mkdir()
    problems = RunMyAccountsWriter().write(ledger(), out)
    customers, vendors = (out / "customers.csv").read_bytes(), (out / "vendors.csv").read_bytes()
    golden("runmyaccounts/customers.csv", customers)
    golden("runmyaccounts/vendors.csv", vendors)
    rows = list(csv.reader(customers.decode("iso-8859-1").splitlines()))
    assert rows[0] == ["customernumber", "name", "typeofcontact", "salutation", "firstname", "lastname", "address1",
                       "address2", "zipcode", "city", "country", "phone", "mobile", "email", "language_code",
                       "arap_accno", "notes", "terms"]  # fmt: skip
    assert rows[1] == ["1001", "Müller & Söhne AG", "company", "", "Hans", "Müller", "Bahnhofstrasse 12a", "", "8001",
                       "Zürich", "CH", "044 123 45 67", "079 765 43 21", "info@mueller-soehne.example", "de", "1100",
                       "Zahlt spät; immer anrufen, nie faxen", "30"]  # fmt: skip
    # customers: 1001, 1002, 2002 (both), the blank code (no roles), 2002 again (Zoë); vendors: 2001 and 2002
    assert [r[0] for r in rows[1:]] == ["1001", "1002", "2002", "", "2002"]
    vendor_rows = list(csv.reader(vendors.decode("iso-8859-1").splitlines()))
    assert vendor_rows[0][0] == "vendornumber" and [r[0] for r in vendor_rows[1:]] == ["2001", "2002"]
    assert vendor_rows[1][6:11] == ["rue de la Paix 12", "c/o Dupont", "75002", "Paris", "FR"]
    declared = {p.message.split(" not carried")[0] for p in problems}
    # counted by hand: the four building numbers (inside address1), fax, website, VAT number, IBAN,
    # currency, the note's line break, 1002 inactive, the blank code's missing roles
    assert "6 partner details (roles 1, street 4, building number 4, fax 1, website 1, vat number 1, iban 1, " \
        "currency 1, notes 1, active 1)" in declared  # fmt: skip
    assert "3 items" in declared and "3 open items" in declared


def test_customers_and_vendors_read_back(tmp_path: Path) -> None:
    from odd_partners import PARTNERS, ledger

    out = tmp_path / "rma"
    out.mkdir()
    RunMyAccountsWriter().write(ledger(), out)
    back = pipeline.read(out, "runmyaccounts")
    expected = table("partners", [kept_partner(p) for p in table("partners", PARTNERS).to_pylist()]).to_pylist()

    def order(rows: list) -> list:  # type: ignore[type-arg]
        return sorted(rows, key=lambda r: (r["id"], r["name"]))

    assert order(back.partners.to_pylist()) == order(expected)
    roles = {(p["id"], p["name"]): p["roles"] for p in back.partners.to_pylist()}
    assert roles[("2002", 'Garage "Zum Löwen" GmbH')] == "both" and roles[("2002", "Zoë Keller")] == "customer"
    assert roles[("", "Anonyme Kundschaft")] == "customer"
    assert [p.message for p in back.problems if "earlier row" in p.message] == [
        "customernumber '2002' is on an earlier row too; both kept"]  # fmt: skip


def test_bad_contact_rows(tmp_path: Path) -> None:
    folder = tmp_path / "rma"
    folder.mkdir()
    write_text(folder / "journal.csv", HEADER + "\nR1,,x,03.01.2024,,CHF,1,1000,10.00,0.00,,,\n"
               "R1,,x,03.01.2024,,CHF,1,3000,0.00,10.00,,,\n")  # fmt: skip
    write_text(folder / "vendors.csv", "vendornumber,name,terms,typeofcontact,payment_accno\n"
               "V1,Holz AG,dreissig,Company,1020\nV2,Kurz\n")  # fmt: skip
    back = pipeline.read(folder, "runmyaccounts")
    assert back.extras["partners"].to_pylist() == [{"source_file": back.extras["partners"].to_pylist()[0]["source_file"],
                                                    "source_row": 2, "id": "V1", "payment_accno": "1020"}]  # fmt: skip
    assert back.partners.to_pylist()[0] | {} == table("partners", [
        {"id": "V1", "name": "Holz AG", "roles": "supplier", "kind": "company"}]).to_pylist()[0]  # fmt: skip
    assert [(p.severity, p.file.rsplit("/", 1)[-1], p.row) for p in back.problems if p.severity == "error"] == [
        ("error", "vendors.csv", 2), ("error", "vendors.csv", 3)]  # fmt: skip
    assert back.partners.num_rows == 1


def test_garage_partners_verify(samples: Path, tmp_path: Path) -> None:
    result = pipeline.convert(samples / "winbiz" / "DAT", "runmyaccounts", tmp_path / "out", dossier="garage")
    assert result.verified, result.verification and result.verification.differences
    assert result.reread is not None
    before = {p["id"]: kept_partner(p) for p in result.written.partners.to_pylist()}
    after = {p["id"]: p for p in result.reread.partners.to_pylist()}
    assert after == {k: table("partners", [v]).to_pylist()[0] for k, v in before.items()}
