"""SAF-T Financial (Norway): the official examples by hand, XSD validation of everything written,
golden output, opening balances without double counting, and round trips."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest
from conftest import REFERENCE, golden
from hypothesis import HealthCheck, given, settings
from lxml import etree
from strategies import ledgers

from migrator import pipeline, registry, years
from migrator.errors import SourceError
from migrator.model import Ledger, Problem, table, years_of
from migrator.reconcile import compare, trial_balance, vat_totals
from migrator.reconcile import years as years_summary
from migrator.validate import validate
from migrator.writers.saft import grouping, standard_tax_code, write_saft

SAFT = REFERENCE / "saft-no"
XSD = SAFT / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
KEEPS = registry.get("saft").keeps


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    if not XSD.exists():
        pytest.skip(f"SAF-T 1.30 XSD not found at {XSD}")
    return etree.XMLSchema(etree.parse(str(XSD)))


def assert_valid(schema: etree.XMLSchema, path: Path) -> None:
    document = etree.parse(str(path))
    assert schema.validate(document), "\n".join(str(e) for e in schema.error_log)


def element_texts(text: str, name: str) -> list[str]:
    """Texts of every element `name` (any namespace prefix), by a plain regular expression."""
    return re.findall(rf"<(?:\w+:)?{name}>([^<]*)</(?:\w+:)?{name}>", text)


def amounts(text: str, side: str) -> list[Decimal]:
    """Amounts of every line's DebitAmount or CreditAmount (not tax or analysis amounts)."""
    found = re.findall(rf"<(?:\w+:)?{side}>\s*<(?:\w+:)?Amount>([^<]*)<", text)
    return [Decimal(a) for a in found]


def cents(value: Decimal) -> int:
    return int(value * 100)


def compared(ledger: Ledger, back: Ledger, declared: list[Problem]):
    """As `pipeline.convert` compares: the continuous file read back per year, with the writer's declarations."""
    return compare(ledger, years.per_year(back, years_of(ledger)), KEEPS, declared=declared)


# ------------------------------------------------------------------------------------ official examples


def test_official_1_30_example_by_hand(reference: Path) -> None:
    path = reference / "saft-no" / "generated_auditfile_formatted_v_1.30.xml"
    text = path.read_text(encoding="utf-8")
    # stated in the file, and counted here by hand: 3 transactions of 3, 3 and 2 lines
    assert element_texts(text, "NumberOfEntries") == ["3"]
    assert element_texts(text, "TotalDebit") == ["37500.00"]
    assert len(re.findall(r"<Transaction>", text)) == 3
    assert len(re.findall(r"<Line>", text)) == 8
    assert sum(amounts(text, "DebitAmount")) == Decimal("37500.00") == sum(amounts(text, "CreditAmount"))

    ledger = pipeline.read(path)
    assert ledger.format == "saft"
    assert ledger.counts() == {"accounts": 7, "entries": 3, "lines": 8, "partners": 2, "open_items": 0, "items": 0, "documents": 0,
                               "vat_codes": 2}  # fmt: skip
    assert not ledger.problems  # every opening balance is 0.00: no opening entry, nothing to warn about
    assert not [p for p in validate(ledger) if p.severity == "error"]
    lines = ledger.lines.to_pylist()
    debit = sum(r["amount"] for r in lines if r["amount"] > 0)
    assert debit == 3_750_000
    first = [r for r in lines if r["entry"] == "A1001"]
    assert [(r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"]) for r in first] == [
        ("4000", 1_000_000, "10", 250_000, False),  # base, DebitTaxAmount 2500.00
        ("2710", 250_000, "10", None, True),  # the input VAT line, recognised by its amount
        ("2400", -1_250_000, "", None, False),
    ]
    assert first[2]["partner"] == "24000"
    sale = [r for r in lines if r["entry"] == "A1002"]
    assert (sale[0]["vat_amount"], sale[1]["vat_line"], sale[2]["partner"]) == (-250_000, True, "15000")
    assert [r["doc"] for r in lines[:1]] == ["A1001"]
    assert first[0]["cost_centre"] == "2000"  # the line's only Analysis (type P)
    codes = {r["code"]: (r["rate"], r["kind"]) for r in ledger.vat_codes.to_pylist()}
    assert codes == {"30": ("25", "sales"), "10": ("25", "input_material")}  # StandardTaxCode 3 and 1
    kinds = {r["id"]: r["roles"] for r in ledger.partners.to_pylist()}
    assert kinds == {"15000": "customer", "24000": "supplier"}
    types = {r["code"]: r["type"] for r in ledger.accounts.to_pylist()}
    assert (types["1500"], types["2400"], types["3000"], types["4000"]) == ("asset", "liability", "income", "expense")
    assert ledger.company.name == "Company INC"
    assert ledger.company.base_currency == "NOK"
    assert [(y.start, y.end) for y in ledger.company.fiscal_years] == [(dt.date(2025, 1, 1), dt.date(2025, 12, 31))]
    # the closing balances the file states are what the transactions give
    assert trial_balance(ledger) == {"1500": 1_250_000, "1920": -1_250_000, "2400": 0, "2700": -250_000,
                                     "2710": 250_000, "3000": -1_000_000, "4000": 1_000_000}  # fmt: skip


def test_official_1_20_example_888888888_by_hand(reference: Path) -> None:
    path = reference / "saft-no" / "ExampleFile_SAF-T_Financial_888888888_20180228235959.xml"
    text = path.read_text(encoding="utf-8-sig")
    assert element_texts(text, "NumberOfEntries") == ["53"]
    assert element_texts(text, "TotalDebit") == ["9487049.35"] == element_texts(text, "TotalCredit")
    transactions, line_count = len(re.findall(r"<n1:Transaction>", text)), len(re.findall(r"<n1:Line>", text))
    assert (transactions, line_count) == (53, 170)
    debit = sum(amounts(text, "DebitAmount"))
    assert debit == Decimal("9487049.35") == sum(amounts(text, "CreditAmount"))
    # opening balances of the chart (1.20: directly in each Account), counted by hand
    accounts = re.findall(r"<n1:Account>(.*?)</n1:Account>", text, re.S)
    openings = {}
    for block in accounts:
        code = element_texts(block, "AccountID")[0]
        value = sum(Decimal(v) for v in element_texts(block, "OpeningDebitBalance")) - sum(
            Decimal(v) for v in element_texts(block, "OpeningCreditBalance")
        )
        if value:
            openings[code] = cents(value)
    assert len(accounts) == 22 and len(openings) == 11
    assert sum(openings.values()) == 254_541_000  # the example's opening balances do not balance

    ledger = pipeline.read(path)
    counts = ledger.counts()
    assert (counts["entries"], counts["lines"]) == (53 + 1, 170 + 11)
    assert (counts["accounts"], counts["partners"], counts["vat_codes"]) == (22, 12, 9)
    opening = ledger.lines.filter(ledger.lines.column("opening")).to_pylist()
    assert {r["account"]: r["amount"] for r in opening} == openings
    assert {r["date"] for r in opening} == {dt.date(2017, 1, 1)}  # SelectionCriteria: periods 1-4 of 2017
    moved = ledger.lines.filter(pc.invert(ledger.lines.column("opening"))).column("amount").to_pylist()
    assert sum(a for a in moved if a > 0) == cents(debit)
    messages = [p.message for p in ledger.problems]
    assert "the accounts' opening balances do not balance: 2545410.00 more debit" in messages
    closing = [m for m in messages if m.startswith("account ") and "closing balance" in m]
    assert sorted(m.split(":")[0] for m in closing) == ["account 1920", "account 2711", "account 2740"]
    errors = [p for p in validate(ledger) if p.severity == "error"]
    assert [p.message for p in errors] == ["entry opening does not balance: 2545410.00 more debit"]


def test_official_1_20_example_999999999_by_hand(reference: Path) -> None:
    path = reference / "saft-no" / "ExampleFile_SAF-T_Financial_999999999_20161125213512.xml"
    ledger = pipeline.read(path)
    # 2 transactions (3 + 2 lines) and the opening entry of the three accounts with an opening balance
    assert (ledger.counts()["entries"], ledger.counts()["lines"]) == (3, 8)
    invoice = [r for r in ledger.lines.to_pylist() if r["entry"] == "4567"]
    assert [(r["account"], r["amount"], r["vat_code"], r["vat_amount"], r["vat_line"]) for r in invoice] == [
        ("4000", 1_000_000, "14", 250_000, False),  # 1.20 TaxAmount, signed like its debit line
        ("2740", 250_000, "14", None, True),
        ("2400", -1_250_000, "", None, False),
    ]
    assert invoice[0]["cost_centre"] == "100"  # AnalysisType A chosen among B, A and P
    assert invoice[2]["partner"] == "20000"
    assert invoice[0]["date"] == dt.date(2015, 10, 31)
    partners = {r["id"]: (r["roles"], r["account"]) for r in ledger.partners.to_pylist()}
    assert partners == {"12000": ("customer", "1500"), "20000": ("supplier", "2400")}


@pytest.mark.parametrize("name", sorted(p.name for p in SAFT.glob("*.xml") if "Tax_Codes" not in p.name) or ["none"])
def test_every_reference_example_reads_and_states_its_totals(reference: Path, name: str) -> None:
    path = reference / "saft-no" / name
    assert pipeline.detect(path).format == "saft"
    ledger = pipeline.read(path)
    assert not [p for p in ledger.problems if "GeneralLedgerEntries states" in p.message]


# ------------------------------------------------------------------------------------------- writing


def test_garage_validates_and_matches_golden(garage: Ledger, tmp_path: Path, schema: etree.XMLSchema) -> None:
    out = tmp_path / "garage.xml"
    written, _ = years.continuous(garage)  # what the pipeline hands the writer (SAF-T is continuous)
    problems = write_saft(written, out, created=dt.date(2025, 1, 31))
    assert_valid(schema, out)
    golden("saft/garage.xml", out.read_text(encoding="utf-8"))
    assert not [p for p in problems if p.severity != "info"]
    text = out.read_text(encoding="utf-8")
    # the 2023 opening entry is the accounts' opening balances; the other 22 entries are transactions, the
    # 2024 opening (entry 14) replaced by the closing entry of 2023
    assert element_texts(text, "NumberOfEntries") == ["22"]
    assert "<TransactionID>CLOSING-2023</TransactionID>" in text and "OUV24" not in text
    moved = [r["amount"] for r in garage.lines.to_pylist() if r["entry"] not in ("1", "14")]
    closing = [r["amount"] for r in written.lines.to_pylist() if r["doc"] == "CLOSING-2023"]
    assert element_texts(text, "TotalDebit") == [f"{Decimal(sum(a for a in moved + closing if a > 0)) / 100:.2f}"]
    assert "<OpeningDebitBalance>48300.00</OpeningDebitBalance>" in text  # 1020 Banque, OPENING_2023
    assert "<TransactionType>Opening</TransactionType>" not in text
    # 1020 Banque closes at its 2024 closing, not at a sum of both years' openings
    bank = re.search(r"<AccountID>1020</AccountID>.*?</Account>", text, re.S)
    assert bank is not None
    closing_1020 = years_summary(garage)[-1].closing["1020"]
    assert f"<ClosingDebitBalance>{Decimal(closing_1020) / 100:.2f}</ClosingDebitBalance>" in bank.group(0)


def test_garage_round_trip(garage: Ledger, tmp_path: Path, schema: etree.XMLSchema) -> None:
    out = tmp_path / "garage.xml"
    declared = pipeline.write(garage, "saft", out)
    assert_valid(schema, out)
    back = pipeline.read(out)
    comparison = compared(garage, back, declared)
    assert comparison.ok, comparison.differences
    # groups, open items, the partner fields SAF-T has no element for, items and documents are declared,
    # nothing else is lost
    assert comparison.verdict == "verified with declared losses"
    assert [loss.split(":")[0] for loss in comparison.losses] == ["groups", "open items", "partners", "items",
                                                                  "documents", "document lines"]  # fmt: skip
    partners = {p["id"]: p for p in back.partners.to_pylist()}
    assert (partners["C001"]["street"], partners["C001"]["building_number"]) == ("Bahnhofstrasse", "4")
    # one file for 2023 and 2024: the 2024 opening (11 lines, entry 14) replaced by a closing entry on 31.12.2023
    closing = [r for r in back.lines.to_pylist() if r["doc"] == "CLOSING-2023"]
    assert {r["date"] for r in closing} == {dt.date(2023, 12, 31)} and sum(r["amount"] for r in closing) == 0
    assert ("2970", 976060) in [(r["account"], r["amount"]) for r in closing]  # the 2023 result into 2970
    assert back.counts() == {**garage.counts(), "open_items": 0, "items": 0, "documents": 0,
                             "lines": 75 - 11 + len(closing)}  # fmt: skip
    assert trial_balance(years.per_year(back, years_of(garage))) == trial_balance(garage)
    opening = back.lines.filter(back.lines.column("opening"))
    assert opening.num_rows == 8  # the 2023 opening entry, one line per account
    assert pc.sum(back.lines.column("vat_line")).as_py() == pc.sum(garage.lines.column("vat_line")).as_py()
    # vouchers are the TransactionIDs; the 2023 opening entry (OUV23) became the accounts' opening balances
    assert set(back.lines.column("doc").to_pylist()) - {""} == (
        set(garage.lines.column("doc").to_pylist()) - {"OUV23", "OUV24"} | {"CLOSING-2023"}
    )
    foreign = back.lines.filter(pc.equal(back.lines.column("currency"), "EUR")).to_pylist()
    assert [(r["amount"], r["amount_currency"], r["rate"]) for r in foreign] == [(96500, 100000, "0.965"),
                                                                                 (-96500, -100000, "0.965")]  # fmt: skip


def test_convert_from_csv_verifies(garage: Ledger, tmp_path: Path, schema: etree.XMLSchema) -> None:
    source = tmp_path / "garage.csv"
    pipeline.write(garage, "csv", source)
    result = pipeline.convert(source, "saft", tmp_path / "garage.xml")
    assert result.verified, result.verification and result.verification.differences
    assert_valid(schema, tmp_path / "garage.xml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledgers())
def test_hypothesis_round_trip(tmp_path: Path, schema: etree.XMLSchema, ledger: Ledger) -> None:
    out = tmp_path / "random.xml"
    problems = pipeline.write(ledger, "saft", out, force=True)  # hypothesis runs every example in one folder
    assert not [p for p in problems if p.severity == "warning"], problems
    assert_valid(schema, out)
    back = pipeline.read(out, "saft")
    comparison = compared(ledger, back, problems)
    assert comparison.ok, comparison.differences
    written = years.continuous(ledger)[0]  # what a continuous target is handed: later openings become closings
    assert pc.sum(back.lines.column("opening")).as_py() == pc.sum(written.lines.column("opening")).as_py()


def test_unmapped_account_and_vat_code_are_named(tmp_path: Path, schema: etree.XMLSchema) -> None:
    ledger = Ledger(
        accounts=table("accounts", [{"code": "ZZ", "name": "Odd"}, {"code": "1020", "name": "Bank"}]),
        vat_codes=table("vat_codes", [{"code": "X1", "rate": "5", "kind": ""}]),
        lines=table("lines", [
            {"entry": "1", "line": 1, "date": dt.date(2024, 5, 1), "account": "ZZ", "amount": 500, "doc": "A"},
            {"entry": "1", "line": 2, "date": dt.date(2024, 5, 1), "account": "1020", "amount": -500, "doc": "A"},
        ]),
    )  # fmt: skip
    out = tmp_path / "odd.xml"
    problems = write_saft(ledger, out)
    assert_valid(schema, out)
    warnings = [p.message for p in problems if p.severity == "warning"]
    assert any(m.startswith("account ZZ: no SAF-T grouping code") for m in warnings)
    assert any(m.startswith("VAT code X1: no StandardTaxCode") for m in warnings)
    assert "<StandardTaxCode>NA</StandardTaxCode>" in out.read_text(encoding="utf-8")


def test_mapping_files() -> None:
    # Swiss KMU chart → Norwegian grouping codes (mappings/saft-no/grouping.csv)
    assert grouping("1000", "asset") == ("balanseverdiForOmloepsmiddel", "1900")
    assert grouping("1020", "asset") == ("balanseverdiForOmloepsmiddel", "1920")
    # input VAT is an asset in the KMU chart: a receivable, never under short-term liabilities (it
    # would read back as a liability); typed as a liability it goes where Norwegian charts keep it
    assert grouping("1170", "asset") == ("balanseverdiForOmloepsmiddel", "1570")
    assert grouping("1170", "liability") == ("kortsiktigGjeld", "2740")
    assert grouping("2000", "asset") == ("balanseverdiForOmloepsmiddel", "1570")  # not the 200 row's kortsiktigGjeld
    assert grouping("2000", "liability") == ("kortsiktigGjeld", "2400")
    assert grouping("6950", "income") == ("finansinntekt", "8050")
    assert grouping("A7", "expense") == ("annenDriftskostnad", "7700")  # not a KMU code: by type
    assert grouping("A7", "") is None
    # canonical kind and rate → StandardTaxCode (mappings/saft-no/tax_codes.csv)
    assert standard_tax_code("V81", "sales", Decimal("8.1")) == "3"
    assert standard_tax_code("V26", "sales", Decimal("2.6")) == "33"
    assert standard_tax_code("I81", "input_investment", Decimal("8.1")) == "1"
    assert standard_tax_code("B26", "acquisition", Decimal("2.6")) == "88"
    assert standard_tax_code("X", "unknown", None) is None


# ---------------------------------------------------------------------------- reading: opening balances

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<AuditFile xmlns="{ns}"><Header><AuditFileVersion>1.30</AuditFileVersion><AuditFileCountry>NO</AuditFileCountry>
<AuditFileDateCreated>2025-01-01</AuditFileDateCreated><SoftwareCompanyName>T</SoftwareCompanyName>
<SoftwareID>T</SoftwareID><SoftwareVersion>1</SoftwareVersion><Company><RegistrationNumber>1</RegistrationNumber>
<Name>Test AS</Name><Contact><ContactPerson><FirstName>A</FirstName><LastName>B</LastName></ContactPerson>
<Telephone>1</Telephone></Contact></Company><DefaultCurrencyCode>NOK</DefaultCurrencyCode><SelectionCriteria>
<PeriodStart>1</PeriodStart><PeriodStartYear>2024</PeriodStartYear><PeriodEnd>12</PeriodEnd>
<PeriodEndYear>2024</PeriodEndYear></SelectionCriteria><TaxAccountingBasis>A</TaxAccountingBasis></Header>
<MasterFiles><GeneralLedgerAccounts>{accounts}</GeneralLedgerAccounts></MasterFiles>
<GeneralLedgerEntries><NumberOfEntries>{count}</NumberOfEntries><TotalDebit>{total}</TotalDebit>
<TotalCredit>{total}</TotalCredit><Journal><JournalID>GL</JournalID><Description>d</Description><Type>GL</Type>
{transactions}</Journal></GeneralLedgerEntries></AuditFile>"""


def account(code: str, opening: str, closing: str) -> str:
    def side(kind: str, value: str) -> str:
        amount = Decimal(value)
        name = f"{kind}{'Debit' if amount >= 0 else 'Credit'}Balance"
        return f"<{name}>{abs(amount)}</{name}>"

    return (f"<Account><AccountID>{code}</AccountID><AccountDescription>x</AccountDescription><GroupingCategory>"
            f"egenkapital</GroupingCategory><GroupingCode>2000</GroupingCode><AccountType>GL</AccountType>"
            f"{side('Opening', opening)}{side('Closing', closing)}</Account>")  # fmt: skip


def transaction(tid: str, day: str, *lines: tuple[str, str]) -> str:
    body = "".join(
        f"<Line><RecordID>{n}</RecordID><AccountID>{a}</AccountID><Description>l</Description>"
        f"<{'DebitAmount' if Decimal(v) >= 0 else 'CreditAmount'}><Amount>{abs(Decimal(v))}</Amount>"
        f"</{'DebitAmount' if Decimal(v) >= 0 else 'CreditAmount'}></Line>"
        for n, (a, v) in enumerate(lines, start=1)
    )
    return (f"<Transaction><TransactionID>{tid}</TransactionID><Period>1</Period><PeriodYear>2024</PeriodYear>"
            f"<TransactionDate>{day}</TransactionDate><Description>t</Description><SystemEntryDate>{day}"
            f"</SystemEntryDate><GLPostingDate>{day}</GLPostingDate>{body}</Transaction>")  # fmt: skip


def saft_file(tmp_path: Path, accounts: str, transactions: list[str], total: str, ns: str = "urn:StandardAuditFile-Taxation-Financial:NO") -> Path:  # fmt: skip
    path = tmp_path / "hand.xml"
    text = HEAD.format(ns=ns, accounts=accounts, count=len(transactions), total=total,
                       transactions="".join(transactions))  # fmt: skip
    path.write_text(text, encoding="utf-8")
    return path


def test_opening_balances_become_an_opening_entry(tmp_path: Path, schema: etree.XMLSchema) -> None:
    accounts = account("1920", "1000", "1100") + account("2000", "-1000", "-1100")
    path = saft_file(tmp_path, accounts, [transaction("T1", "2024-03-01", ("1920", "100"), ("2000", "-100"))], "100")
    assert_valid(schema, path)
    ledger = pipeline.read(path)
    opening = ledger.lines.filter(ledger.lines.column("opening")).to_pylist()
    assert [(r["account"], r["amount"], r["date"]) for r in opening] == [
        ("1920", 100000, dt.date(2024, 1, 1)), ("2000", -100000, dt.date(2024, 1, 1))]  # fmt: skip
    assert trial_balance(ledger) == {"1920": 110000, "2000": -110000}  # the stated closing balances
    assert not [p for p in ledger.problems if p.severity != "info"]


def test_opening_balances_already_booked_are_not_counted_twice(tmp_path: Path, schema: etree.XMLSchema) -> None:
    # the closing balances equal the transactions alone: the opening transaction T0 is the opening balance
    accounts = account("1920", "1000", "1100") + account("2000", "-1000", "-1100")
    transactions = [transaction("T0", "2024-01-01", ("1920", "1000"), ("2000", "-1000")),
                    transaction("T1", "2024-03-01", ("1920", "100"), ("2000", "-100"))]  # fmt: skip
    path = saft_file(tmp_path, accounts, transactions, "1100")
    assert_valid(schema, path)
    ledger = pipeline.read(path)
    assert ledger.counts()["entries"] == 2
    assert trial_balance(ledger) == {"1920": 110000, "2000": -110000}
    assert any("already booked as transactions" in p.message for p in ledger.problems)


def test_other_namespaces_read_the_same(tmp_path: Path) -> None:
    accounts = account("1920", "0", "100") + account("2000", "0", "-100")
    path = saft_file(tmp_path, accounts, [transaction("T1", "2024-03-01", ("1920", "100"), ("2000", "-100"))], "100",
                     ns="urn:OECD:StandardAuditFile-Taxation/2.00")  # fmt: skip
    ledger = pipeline.read(path)
    assert ledger.format == "saft"
    assert trial_balance(ledger) == {"1920": 10000, "2000": -10000}


def test_bad_lines_are_problems_with_rows(tmp_path: Path) -> None:
    broken = transaction("T1", "2024-03-01", ("1920", "100"), ("2000", "-100")).replace(
        "<DebitAmount><Amount>100</Amount></DebitAmount>", ""
    )
    path = saft_file(tmp_path, account("1920", "0", "0") + account("2000", "0", "0"), [broken], "100")
    ledger = pipeline.read(path)
    errors = [p for p in ledger.problems if p.severity == "error"]
    assert len(errors) == 1 and "neither DebitAmount nor CreditAmount" in errors[0].message
    assert errors[0].row == HEAD.count("\n", 0, HEAD.index("{transactions}")) + 1  # the physical line of <Line>
    assert ledger.lines.num_rows == 1
    assert any("states TotalDebit 100" in p.message for p in ledger.problems)


def test_not_a_saft_file(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<Root><AuditFile/></Root>", encoding="utf-8")
    with pytest.raises(SourceError):
        pipeline.read(path, "saft")
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><AuditFile>&x;</AuditFile>')
    with pytest.raises(SourceError):
        pipeline.read(bomb, "saft")


# ----------------------------------------------------------------------- VAT lines and account types


def _invoice(entry: str, day: dt.date, lines: list[tuple[str, int, str, int | None, bool]]) -> list[dict]:
    return [{"entry": entry, "line": n, "date": day, "doc": entry, "account": account, "amount": amount,
             "vat_code": code, "vat_amount": vat, "vat_line": is_vat}
            for n, (account, amount, code, vat, is_vat) in enumerate(lines, start=1)]  # fmt: skip


def test_several_vat_lines_of_one_code_read_back_per_code(tmp_path: Path, schema: etree.XMLSchema) -> None:
    # R1: two items at 8.1 %, each with its own VAT line (as Winbiz, Infoniqa and Banana book them);
    # R2: two items, one VAT line for both; P1: a purchase of two items with a VAT line each, and a
    # sale at 2.6 % in the same entry
    day = dt.date(2024, 3, 4)
    rows = _invoice("R1", day, [("1100", 162150, "", None, False), ("3200", -100000, "V81", -8100, False),
                                ("2200", -8100, "V81", None, True), ("3400", -50000, "V81", -4050, False),
                                ("2200", -4050, "V81", None, True)])  # fmt: skip
    rows += _invoice("R2", day, [("1100", 54050, "", None, False), ("3200", -30000, "V81", -2430, False),
                                 ("3400", -20000, "V81", -1620, False), ("2200", -4050, "V81", None, True)])  # fmt: skip
    rows += _invoice("P1", day, [("4200", 20000, "M81", 1620, False), ("1170", 1620, "M81", None, True),
                                 ("4200", 10000, "M81", 810, False), ("1170", 810, "M81", None, True),
                                 ("3200", -10000, "V26", -260, False), ("2200", -260, "V26", None, True),
                                 ("2000", -22170, "", None, False)])  # fmt: skip
    ledger = Ledger(
        accounts=table("accounts", [{"code": c, "name": c, "type": t} for c, t in (
            ("1100", "asset"), ("1170", "asset"), ("2000", "liability"), ("2200", "liability"),
            ("3200", "income"), ("3400", "income"), ("4200", "expense"))]),
        vat_codes=table("vat_codes", [{"code": "V81", "rate": "8.1", "kind": "sales"},
                                      {"code": "V26", "rate": "2.6", "kind": "sales"},
                                      {"code": "M81", "rate": "8.1", "kind": "input_material"}]),
        lines=table("lines", rows),
    )  # fmt: skip
    assert not [p for p in validate(ledger) if p.severity == "error"]
    out = tmp_path / "invoices.xml"
    problems = write_saft(ledger, out)
    assert_valid(schema, out)
    assert not [p.message for p in problems if p.severity == "warning"]  # every VAT line is recognised
    back = pipeline.read(out, "saft")
    # by hand: V81 base -2000.00, VAT -162.00 (81.00 + 40.50 + 40.50); M81 300.00 / 24.30; V26 -100.00 / -2.60
    assert vat_totals(back) == {"M81": {"base": 30000, "vat": 2430, "declared": 2430},
                                "V26": {"base": -10000, "vat": -260, "declared": -260},
                                "V81": {"base": -200000, "vat": -16200, "declared": -16200}}  # fmt: skip
    vat_rows = back.lines.filter(back.lines.column("vat_line")).select(["entry", "account", "amount"]).to_pylist()
    assert [(r["entry"], r["amount"]) for r in vat_rows] == [("R1", -8100), ("R1", -4050), ("R2", -4050),
                                                             ("P1", 1620), ("P1", 810), ("P1", -260)]  # fmt: skip
    assert compare(ledger, back, KEEPS, declared=problems).ok


def test_accounts_keep_their_type_through_the_grouping(garage: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", out)
    back = pipeline.read(out)
    types = dict(zip(back.accounts.column("code").to_pylist(), back.accounts.column("type").to_pylist(), strict=True))
    # input VAT (1170 material, 1171 investments) is an asset in the garage's KMU chart
    assert types["1170"] == types["1171"] == "asset"
    assert types == dict(zip(garage.accounts.column("code").to_pylist(), garage.accounts.column("type").to_pylist(),
                             strict=True))  # fmt: skip
