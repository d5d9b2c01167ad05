"""camt.053 reader: a made-up Swiss statement (valid against the ISO XSD) read as bank lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from migrator import pipeline
from migrator.errors import SourceError
from migrator.reconcile import trial_balance

FIXTURE = Path(__file__).parent / "fixtures" / "camt053" / "garage_2024-04.xml"
IBAN = "CH9300762011623852957"


def test_fixture_is_valid_against_the_iso_schema(reference):
    schema = etree.XMLSchema(etree.parse(str(reference / "camt053" / "camt.053.001.08.xsd")))
    assert schema.validate(etree.parse(str(FIXTURE))), schema.error_log


def test_detected_and_read():
    assert pipeline.detect(FIXTURE).format == "camt053"
    ledger = pipeline.read(FIXTURE)
    # five booked entries; the pending one (99.00) is left out with a note
    assert ledger.counts()["entries"] == 5
    assert ledger.lines.num_rows == 11  # 2 lines each, the salary batch 3
    # by hand: +1292.40 -1800.00 -3000.00 -12.50 +250.00
    assert trial_balance(ledger) == {"1099": 327010, IBAN: -327010}
    assert not ledger.errors
    messages = [p.message for p in ledger.problems]
    assert any("PDNG" in m for m in messages)
    assert any("opening 10000.00 + entries -3270.10 = 6729.90, the closing balance: checked" in m for m in messages)
    assert ledger.company.base_currency == "CHF"
    assert set(ledger.accounts.column("code").to_pylist()) == {IBAN, "1099"}


def test_lines_carry_reference_text_and_date():
    rows = pipeline.read(FIXTURE).lines.to_pylist()
    qr = [r for r in rows if r["entry"] == "1"]
    assert [r["amount"] for r in qr] == [129240, -129240]
    assert qr[0]["account"] == IBAN and qr[0]["date"] == dt.date(2024, 4, 2)
    assert qr[0]["doc"] == "210000000003139471430009017" and qr[0]["description"] == "Müller Transport AG"
    rent = next(r for r in rows if r["entry"] == "2")
    assert rent["doc"] == "E2E-LOYER-0424" and rent["description"] == "Immobilière Vevey SA: Loyer atelier avril 2024"
    batch = [r for r in rows if r["entry"] == "3"]
    assert [(r["account"], r["amount"]) for r in batch] == [(IBAN, -300000), ("1099", 175000), ("1099", 125000)]
    assert batch[2]["description"] == "Anne Dubois: Salaire avril 2024 (temps partiel)"
    fees = next(r for r in rows if r["entry"] == "4")
    assert fees["description"] == "Frais de tenue de compte avril" and fees["doc"] == "20240430-FEES"
    assert [r["date"] for r in rows if r["entry"] == "5"] == [dt.date(2024, 4, 30)] * 2  # from BookgDt/DtTm
    assert all(r["source_row"] for r in rows)


def test_closing_balance_mismatch_is_an_error(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(FIXTURE.read_bytes().replace(b">6729.90<", b">6729.95<"))
    ledger = pipeline.read(bad)
    assert [p.message for p in ledger.errors] == [
        f"statement STMT-2024-04-1020 ({IBAN}): opening 10000.00 + entries -3270.10 = 6729.90, "
        "but the closing balance is 6729.95"
    ]


V04 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2023-01-31T20:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S1</Id><CreDtTm>2023-01-31T20:00:00</CreDtTm>
   <Acct><Id><IBAN>CH5604835012345678009</IBAN></Id><Ccy>CHF</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="CHF">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <Dt><Dt>2022-12-31</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CHF">400.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2023-01-31</Dt></Dt></Bal>
   <Ntry><Amt Ccy="CHF">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2023-01-10</Dt></BookgDt><ValDt><Dt>2023-01-10</Dt></ValDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><EndToEndId>INV-9</EndToEndId></Refs><Amt Ccy="CHF">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
     <RltdPties><Dbtr><Nm>Kunde AG</Nm></Dbtr></RltdPties><RmtInf><Ustrd>Rechnung 9</Ustrd></RmtInf>
    </TxDtls></NtryDtls></Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_version_04(tmp_path, reference):
    path = tmp_path / "old.xml"
    path.write_text(V04, encoding="utf-8")
    schema = etree.XMLSchema(etree.parse(str(reference / "camt053" / "camt.053.001.04.xsd")))
    assert schema.validate(etree.parse(str(path))), schema.error_log
    ledger = pipeline.read(path)
    rows = ledger.lines.to_pylist()
    assert [(r["account"], r["amount"]) for r in rows] == [("CH5604835012345678009", 50000), ("1099", -50000)]
    assert rows[0]["description"] == "Kunde AG: Rechnung 9" and rows[0]["doc"] == "INV-9"
    assert not ledger.errors  # -100.00 (debit balance) + 500.00 = 400.00


def test_bad_input_gives_problems_not_crashes(tmp_path):
    junk = tmp_path / "junk.xml"
    junk.write_text(V04.replace('<Amt Ccy="CHF">500.00</Amt>', '<Amt Ccy="CHF">5.001</Amt>'), encoding="utf-8")
    ledger = pipeline.read(junk, "camt053")
    assert ledger.lines.num_rows == 0
    assert any("not exact cents" in p.message for p in ledger.errors)
    other = tmp_path / "other.xml"
    other.write_text("<a/>", encoding="utf-8")
    with pytest.raises(SourceError, match=r"not a camt\.053"):
        pipeline.read(other, "camt053")
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<!DOCTYPE d [<!ENTITY e "x">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"/>')
    with pytest.raises(SourceError, match="entities"):
        pipeline.read(bomb, "camt053")


# Dates with a time-zone offset: ISODate and ISODateTime are xs:date and xs:dateTime in the .08 XSD, so a bank
# may write 2017-04-01+02:00, 2017-04-03T10:00:00+02:00 or 2017-04-04T23:30:00Z. Made up by hand; the day is
# the one written. Opening 1000.00 + 200.00 - 50.25 + 10.00 = 1159.75 closing.
ZONED = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>Z1</MsgId><CreDtTm>2017-04-30T20:00:00+02:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>ZONED-1</Id><CreDtTm>2017-04-30T20:00:00+02:00</CreDtTm>
   <Acct><Id><IBAN>CH5604835012345678009</IBAN></Id><Ccy>CHF</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CHF">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2017-03-31+02:00</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CHF">1159.75</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Dt><Dt>2017-04-30+02:00</Dt></Dt></Bal>
   <Ntry><Amt Ccy="CHF">200.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2017-04-01+02:00</Dt></BookgDt><ValDt><Dt>2017-04-01+02:00</Dt></ValDt>
    <AcctSvcrRef>R1</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CHF">50.25</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2017-04-03T10:00:00+02:00</DtTm></BookgDt><ValDt><Dt>2017-04-03Z</Dt></ValDt>
    <AcctSvcrRef>R2</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
   <Ntry><Amt Ccy="CHF">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2017-04-04T23:30:00.5Z</DtTm></BookgDt><ValDt><Dt>2017-04-05-05:00</Dt></ValDt>
    <AcctSvcrRef>R3</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_dates_with_time_zone_offsets(tmp_path, reference):
    path = tmp_path / "zoned.xml"
    path.write_text(ZONED, encoding="utf-8")
    schema = etree.XMLSchema(etree.parse(str(reference / "camt053" / "camt.053.001.08.xsd")))
    assert schema.validate(etree.parse(str(path))), schema.error_log
    ledger = pipeline.read(path)
    bank = [(r["date"], r["doc"], r["amount"]) for r in ledger.lines.to_pylist() if r["account"] != "1099"]
    assert bank == [
        (dt.date(2017, 4, 1), "R1", 20000),
        (dt.date(2017, 4, 3), "R2", -5025),
        (dt.date(2017, 4, 4), "R3", 1000),  # 23:30 UTC is 5 April in Zurich, but the statement says the 4th
    ]
    assert not ledger.errors
    assert [p.message for p in ledger.problems] == [
        "statement ZONED-1 (CH5604835012345678009): opening 1000.00 + entries 159.75 = 1159.75, the closing "
        "balance: checked"
    ]


def test_a_date_that_is_no_date_is_named(tmp_path):
    path = tmp_path / "bad-date.xml"
    path.write_text(
        ZONED.replace("<Dt>2017-04-01+02:00</Dt></BookgDt>", "<Dt>2017-04-31+02:00</Dt></BookgDt>").replace(
            "<ValDt><Dt>2017-04-01+02:00</Dt>", "<ValDt><Dt>1.4.2017</Dt>"
        ),
        encoding="utf-8",
    )
    ledger = pipeline.read(path)
    messages = [(p.severity, p.row, p.message) for p in ledger.problems]
    assert messages[:3] == [
        (
            "warning",
            12,
            "BookgDt/Dt '2017-04-31+02:00' is not a date (YYYY-MM-DD, with an optional time-zone "
            "offset such as +02:00 or Z)",
        ),
        (
            "warning",
            12,
            "ValDt/Dt '1.4.2017' is not a date (YYYY-MM-DD, with an optional time-zone offset such as +02:00 or Z)",
        ),
        ("error", 12, "entry without booking or value date: left out"),
    ]
    assert ledger.lines.num_rows == 4
