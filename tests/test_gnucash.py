"""GnuCash: the reference books (XML, SQLite, SQL dump), Debian's Swiss chart templates, and books
migrator writes, checked by reading them back and, where the Debian packages are installed, by GnuCash."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import sqlite3
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import golden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ledgers, texts

from migrator import pipeline, registry, years
from migrator.errors import SourceError
from migrator.model import table, years_of
from migrator.readers.gnucash import Account, Book, Split, Transaction, to_ledger
from migrator.reconcile import compare, trial_balance
from migrator.reconcile import years as years_summary

TEMPLATES = Path("/usr/share/gnucash/accounts")
SYSTEM_PYTHON = "/usr/bin/python3"
KEEPS = registry.get("gnucash").keeps


def _gnucash_bindings() -> bool:
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import gnucash"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


needs_gnucash = pytest.mark.skipif(not _gnucash_bindings(),
                                   reason="GnuCash's Python bindings are not installed (Debian packages gnucash, "
                                   "python3-gnucash)")  # fmt: skip


# ------------------------------------------------------------------------------------ reference books


@pytest.mark.parametrize("name", ["simple_sample.xml.gnucash", "simple_sample.sqlite.gnucash"])
def test_simple_sample(reference, name):
    ledger = pipeline.read(reference / "gnucash" / name)
    assert ledger.format == "gnucash" and ledger.company.base_currency == "EUR"
    assert ledger.counts()["entries"] == 5 and ledger.lines.num_rows == 11
    # by hand from the XML: Asset +500 +1000 -200 +150 -130; Liability -1000 +100; Expense 200 + 30
    assert trial_balance(ledger) == {"Asset": 132000, "Equity:Opening Balances - EUR": -50000, "Expense": 23000,
                                     "Income": -15000, "Liability": -90000}  # fmt: skip
    dates = sorted(set(ledger.lines.column("date").to_pylist()))
    assert dates == [dt.date(2014, 11, 30), dt.date(2014, 12, 24)]  # posted at 10:59 UTC
    loan = [r for r in ledger.lines.to_pylist() if r["amount"] == 3000]
    assert loan[0]["description"] == "interest" and loan[0]["account"] == "Expense"  # the split memo
    assert not ledger.problems


def test_xml_and_sqlite_books_read_alike(reference):
    for stem in ("simple_sample", "complex_sample"):
        xml = pipeline.read(reference / "gnucash" / f"{stem}.xml.gnucash")
        db = pipeline.read(reference / "gnucash" / f"{stem}.sqlite.gnucash")
        assert trial_balance(xml) == trial_balance(db)
        assert xml.counts() == db.counts()
        assert xml.accounts.equals(db.accounts) and xml.groups.equals(db.groups)


def test_complex_sample_stock_and_trading_accounts(reference):
    ledger = pipeline.read(reference / "gnucash" / "complex_sample.sqlite.gnucash")
    # 21 accounts: 2 roots, 6 placeholders (groups), 13 others
    assert ledger.counts()["accounts"] == 13 and ledger.groups.num_rows == 6
    kinds = dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("type").to_pylist(), strict=True)
    )
    assert kinds["Mouvements:NASDAQ:FOO"] == "equity" and kinds["Asset:Broker:Foo stock"] == "asset"
    balances = trial_balance(ledger)
    assert balances["Asset:Broker:Foo stock"] == 120000  # "buy foo": 130 shares for EUR 1200.00
    shares = ledger.extras["splits"].to_pylist()
    assert sorted(s["quantity"] for s in shares) == [
        "-130",
        "130",
    ]  # 1300000/10000 on the stock and its trading account


def test_old_timestamps_are_local_midnight(reference):
    """GnuCash 2.6 wrote posted dates as local midnight in UTC: 20141224230000 is 25 December in Europe."""
    ledger = pipeline.read(reference / "gnucash" / "all_account_types.sqlite.gnucash")
    # 12 transactions posted 20141224230000, one 20141225230000
    dates = [r["date"] for r in ledger.lines.to_pylist() if r["line"] == 1]
    assert sorted(dates) == [dt.date(2014, 12, 25)] * 12 + [dt.date(2014, 12, 26)]
    assert ledger.counts()["entries"] == 13 and ledger.lines.num_rows == 25


def test_scheduled_transaction_templates_are_left_out(reference):
    ledger = pipeline.read(reference / "gnucash" / "book_schtx.sqlite.gnucash")
    # 76 transactions with 217 splits in the file, 2 of them (5 splits) scheduled-transaction templates
    assert ledger.counts()["entries"] == 74 and ledger.lines.num_rows == 212
    assert ledger.partners.num_rows == 13


@pytest.mark.parametrize("name", ["invoices.xml.gnucash", "invoices.sqlite.gnucash"])
def test_customers_vendors_and_an_unposted_invoice(reference, name):
    ledger = pipeline.read(reference / "gnucash" / name)
    partners = {p["id"]: (p["roles"], p["name"]) for p in ledger.partners.to_pylist()}
    # customer Mickey 123456 and vendor Mickey 123456 are one partner; vendors 223456 Mickey and 000001 Looney
    assert partners == {"123456": ("both", "Mickey"), "223456": ("supplier", "Mickey"),
                        "000001": ("supplier", "Looney")}  # fmt: skip
    assert ledger.open_items.num_rows == 0
    assert [p.message for p in ledger.problems] == ["1 invoice(s) or bill(s) not posted: not in the books, left out"]


def test_sql_dump_of_an_empty_book(reference):
    ledger = pipeline.read(reference / "gnucash" / "default_3_0_0_full_options.gnucash.sql")
    assert ledger.company.name == "Woozie Inc" and ledger.company.vat_number == "SIREN 123 456 789"
    assert ledger.counts()["entries"] == 0 and ledger.company.base_currency == "EUR"


def test_every_reference_file_reads(reference):
    for path in sorted((reference / "gnucash").iterdir()):
        ledger = pipeline.read(path)
        assert ledger.format == "gnucash", path
        assert not ledger.errors, path


def test_value_not_in_cents_is_an_error(reference, tmp_path):
    xml = gzip.decompress((reference / "gnucash" / "simple_sample.xml.gnucash").read_bytes())
    bad = xml.replace(b"<split:value>20000/100</split:value>", b"<split:value>20001/1000</split:value>", 1)
    path = tmp_path / "bad.gnucash"
    path.write_bytes(gzip.compress(bad))
    ledger = pipeline.read(path)
    assert ledger.counts()["entries"] == 4  # "expense 1" is left out, named in the problem
    assert len(ledger.errors) == 1 and "'expense 1'" in ledger.errors[0].message
    assert "20001/1000" in ledger.errors[0].message and ledger.errors[0].row is not None


# ------------------------------------------------------------------------------------------ templates


@pytest.mark.skipif(
    not TEMPLATES.is_dir(), reason="GnuCash chart templates not installed (Debian package gnucash-common)"
)
@pytest.mark.parametrize("path", ["de_CH/acctchrt_kmu.gnucash-xea", "fr_CH/acctchrt_pme-19.gnucash-xea"])
def test_swiss_chart_templates(path):
    file = TEMPLATES / path
    text = file.read_text(encoding="utf-8")
    every = text.count("<gnc:account ")
    placeholders = len(re.findall(r"<slot:key>placeholder</slot:key>\s*<slot:value type=\"string\">true", text))
    ledger = pipeline.read(file)
    assert ledger.company.base_currency == "CHF" and ledger.counts()["entries"] == 0
    assert ledger.groups.num_rows == placeholders  # 36 in both files
    assert ledger.accounts.num_rows == every - 1 - placeholders  # not the root
    accounts = {a["code"]: a for a in ledger.accounts.to_pylist()}
    assert accounts["1020"]["type"] == "asset" and accounts["1020"]["parent"] == "100"
    assert {g["code"]: g["parent"] for g in ledger.groups.to_pylist()}["100"] == "10"


# ------------------------------------------------------------------------------------------ the writer


def _garage_book(garage, tmp_path: Path) -> Path:
    out = tmp_path / "garage.gnucash"
    pipeline.write(garage, "gnucash", out)
    return out


def _compared(ledger, back, declared):
    """As `pipeline.convert` compares: the continuous book read back per year, with the writer's declarations."""
    return compare(ledger, years.per_year(back, years_of(ledger)), KEEPS, declared=declared)


def test_garage_round_trip(garage, tmp_path):
    out = tmp_path / "garage.gnucash"
    declared = pipeline.write(garage, "gnucash", out)
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip, as GnuCash saves
    back = pipeline.read(out)
    result = _compared(garage, back, declared)
    assert result.ok, result.differences
    # open items and partner fields are declared; items and documents are no GnuCash table (registry)
    assert result.verdict == "verified with declared losses" and len(result.losses) == 5
    assert result.losses[0].startswith("open items: 2 before, 0 after")
    assert (
        result.losses[1].startswith("partners: ")
        and "(declared: 11 partner fields (company or person" in result.losses[1]
    )
    assert [loss.split(":")[0] for loss in result.losses[2:]] == ["items", "documents", "document lines"]
    assert back.vat_codes.equals(garage.vat_codes)  # tax tables, with migrator's slots, in the same order
    assert back.company.fiscal_years == garage.company.fiscal_years
    # one continuous book: the 2024 opening (entry 14) replaced by a closing entry on 31.12.2023
    closing = [(r["account"], r["amount"]) for r in back.lines.to_pylist() if r["doc"] == "CLOSING-2023"]
    assert all(r["date"] == dt.date(2023, 12, 31) for r in back.lines.to_pylist() if r["doc"] == "CLOSING-2023")
    assert sum(a for _, a in closing) == 0 and ("2970", 976060) in closing  # the 2023 result, 9760.60, into 2970
    per_year = years.per_year(back, years_of(garage))
    assert trial_balance(per_year) == trial_balance(garage)
    # 75 lines, less the 11 of the 2024 opening, plus the closing entry's
    assert back.counts() | {"open_items": 2, "lines": 75, "items": 9, "documents": 9} == garage.counts()
    assert back.lines.num_rows == 75 - 11 + len(closing)
    eur = [r for r in back.lines.to_pylist() if r["currency"]]
    assert [(r["account"], r["amount"], r["amount_currency"], r["rate"]) for r in eur] == [
        ("4200", 96500, 100000, "0.965"), ("2000", -96500, -100000, "0.965")]  # fmt: skip
    assert sum(back.lines.column("opening").to_pylist()) == 8  # the 2023 opening, entry 1
    assert back.company.name == "Garage du Lac Sàrl"
    assert back.groups.num_rows == garage.groups.num_rows


def test_output_is_reproducible_and_golden(garage, tmp_path):
    first = _garage_book(garage, tmp_path).read_bytes()
    second = tmp_path / "again.gnucash"
    pipeline.write(garage, "gnucash", second)
    assert second.read_bytes() == first
    golden("gnucash/garage.xml", gzip.decompress(first).decode("utf-8"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers())
def test_hypothesis_round_trip(ledger, tmp_path_factory):
    out = tmp_path_factory.mktemp("gnc") / "books.gnucash"
    declared = pipeline.write(ledger, "gnucash", out)
    back = pipeline.read(out)
    result = _compared(ledger, back, declared)
    assert result.ok, result.differences


@needs_gnucash
def test_gnucash_opens_the_book(garage, tmp_path):
    """GnuCash itself (Python bindings of Debian's gnucash 4.13) loads the file: 23 transactions (the 2024
    opening replaced by the 2023 closing entry), every account at its 2024 closing (income and expenses
    closed into equity at the end of 2023)."""
    out = _garage_book(garage, tmp_path)
    probe = (
        "import json, sys\n"
        "from gnucash import Session, SessionOpenMode\n"
        "s = Session('xml://' + sys.argv[1], SessionOpenMode.SESSION_READ_ONLY)\n"
        "accounts, txns = {}, set()\n"
        "for a in s.book.get_root_account().get_descendants():\n"
        "    b = a.GetBalance()\n"
        "    accounts[a.GetCode()] = [b.num(), b.denom(), a.GetPlaceholder()]\n"
        "    txns.update(x.GetParent().GetGUID().to_string() for x in a.GetSplitList())\n"
        "s.end()\n"
        "print(json.dumps({'accounts': accounts, 'transactions': len(txns)}))\n"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", probe, str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["transactions"] == 23
    balances = {code: int(Fraction(num, den) * 100) for code, (num, den, placeholder) in seen["accounts"].items()
                if not placeholder}  # fmt: skip
    assert {c: v for c, v in balances.items() if v} == {c: v for c, v in years_summary(garage)[-1].closing.items() if v}
    assert sum(1 for *_, placeholder in seen["accounts"].values() if placeholder) == garage.groups.num_rows


@needs_gnucash
def test_gnucash_saves_it_again_and_we_read_that(garage, tmp_path):
    """GnuCash loads migrator's book and saves it again; migrator reads GnuCash's own file back to the
    same books, with the VAT codes, partners and opening flags it keeps in KVP slots."""
    out = tmp_path / "garage.gnucash"
    declared = pipeline.write(garage, "gnucash", out)
    saved = tmp_path / "saved.gnucash"
    resave = (
        "import sys\n"
        "from gnucash import Session, SessionOpenMode\n"
        "source = Session('xml://' + sys.argv[1], SessionOpenMode.SESSION_READ_ONLY)\n"
        "target = Session(sys.argv[2], SessionOpenMode.SESSION_NEW_STORE)\n"
        "target.swap_data(source)\n"
        "root = target.book.get_root_account()\n"
        "root.BeginEdit(); root.SetDescription('x'); root.SetDescription(''); root.CommitEdit()\n"
        "target.save(); target.end(); source.end()\n"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", resave, str(out), f"xml://{saved}"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert saved.read_bytes() != out.read_bytes()  # a file GnuCash wrote itself
    back = pipeline.read(saved)
    result = _compared(garage, back, declared)
    assert result.ok, result.differences
    assert back.company.fiscal_years == garage.company.fiscal_years  # the book slot survives GnuCash's save
    # so do the tax tables and their slots (GnuCash saves them in another order)
    assert back.vat_codes.sort_by("code").equals(garage.vat_codes.sort_by("code"))
    assert sum(back.lines.column("opening").to_pylist()) == 8  # the 2023 opening (2024's is the closing entry)


@needs_gnucash
def test_tax_table_gnucash_made(tmp_path):
    """Tax tables made by GnuCash itself (8.1 % on account 2200, a fixed CHF 5.00) read as VAT codes."""
    book_path = tmp_path / "tax.gnucash"
    make = (
        "import sys\n"
        "from gnucash import Session, SessionOpenMode, Account, GncNumeric\n"
        "from gnucash.gnucash_business import TaxTable, TaxTableEntry\n"
        "s = Session(sys.argv[1], SessionOpenMode.SESSION_NEW_STORE)\n"
        "root = s.book.get_root_account()\n"
        "chf = s.book.get_table().lookup('CURRENCY', 'CHF')\n"
        "a = Account(s.book); a.SetName('TVA due'); a.SetType(4); a.SetCommodity(chf); a.SetCode('2200')\n"
        "root.append_child(a)\n"
        "TaxTable(s.book, 'V81', TaxTableEntry(a, True, GncNumeric(81, 10)))\n"
        "TaxTable(s.book, 'FIX', TaxTableEntry(a, False, GncNumeric(500, 100)))\n"
        "s.save(); s.end()\n"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", make, f"xml://{book_path}"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    ledger = pipeline.read(book_path)
    codes = {r["code"]: (r["rate"], r["account"], r["kind"]) for r in ledger.vat_codes.to_pylist()}
    assert codes == {"V81": ("8.1", "2200", ""), "FIX": ("", "2200", "")}  # a fixed amount has no rate


def test_tax_tables_of_an_sqlite_book(reference, tmp_path):
    """Tax tables in GnuCash's SQL schema (the reference book's own empty tables, filled here): a visible
    7.7 % table on Liability, and the invisible copy GnuCash keeps for an invoice, left out."""
    path = tmp_path / "tax.sqlite.gnucash"
    path.write_bytes((reference / "gnucash" / "simple_sample.sqlite.gnucash").read_bytes())
    liability = "96ed7a45459fb5fe570e48fcd46f05d0"  # the account named Liability in the book
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO taxtables VALUES (?, ?, 0, ?, ?)",
                       [("t1", "UN77", 0, None), ("t2", "UN77", 1, "t1")])  # fmt: skip
        # type 2: GNC_AMT_TYPE_PERCENT (gncTaxTable.h)
        db.executemany("INSERT INTO taxtable_entries (taxtable, account, amount_num, amount_denom, type) "
                       "VALUES (?, ?, 77, 10, 2)", [("t1", liability), ("t2", liability)])  # fmt: skip
    db.close()
    ledger = pipeline.read(path)
    assert [(r["code"], r["rate"], r["account"]) for r in ledger.vat_codes.to_pylist()] == [
        ("UN77", "7.7", "Liability")
    ]


# ---------------------------------------------------------------------- currencies and invoices (units)


def _book(txn_currency: str, splits: list[tuple[str, Fraction, Fraction]], prices=()) -> Book:
    book = Book(root="root")
    book.accounts["root"] = Account("root", "Root Account", "ROOT", "CURRENCY:CHF", "", "", "", False, False, 1)
    for guid, commodity, kind in (("bank", "CURRENCY:CHF", "BANK"), ("usd", "CURRENCY:USD", "BANK"),
                                  ("exp", "CURRENCY:CHF", "EXPENSE"), ("ar", "CURRENCY:CHF", "RECEIVABLE")):  # fmt: skip
        book.accounts[guid] = Account(guid, guid.upper(), kind, commodity, "root", guid, "", False, False, 2)
    txn = Transaction("t1", txn_currency, "D1", dt.date(2024, 5, 2), "", "test", 3)
    txn.splits = [Split(a, "", v, q, 4 + i) for i, (a, v, q) in enumerate(splits)]
    book.transactions.append(txn)
    book.prices.extend(prices)
    return book


def test_foreign_transaction_with_a_base_split():
    """USD 100.00 paid from the CHF bank (CHF 88.12): the USD account line gets CHF 88.12."""
    book = _book("CURRENCY:USD", [("exp", Fraction(100), Fraction(8812, 100)), ("usd", Fraction(-100), Fraction(-100))])
    ledger = to_ledger(book, "t", "test")
    rows = ledger.lines.to_pylist()
    assert [(r["account"], r["amount"], r["currency"], r["amount_currency"]) for r in rows] == [
        ("exp", 8812, "USD", 10000), ("usd", -8812, "USD", -10000)]  # fmt: skip
    assert rows[0]["rate"] == "0.8812" and not ledger.problems


def test_foreign_transaction_converted_with_the_price_database():
    """USD 10.00 split three ways between USD accounts: converted at 0.9, cents allocated so the entry balances."""
    thirds = [("usd", Fraction(10), Fraction(10)), ("usd", Fraction(-333, 100), Fraction(-333, 100)),
              ("usd", Fraction(-667, 100), Fraction(-667, 100))]  # fmt: skip
    prices = [("CURRENCY:USD", "CURRENCY:CHF", dt.date(2024, 1, 1), Fraction(9, 10)),
              ("CURRENCY:USD", "CURRENCY:CHF", dt.date(2024, 6, 1), Fraction(1, 2))]  # fmt: skip
    ledger = to_ledger(_book("CURRENCY:USD", thirds, prices), "t", "test")
    amounts = ledger.lines.column("amount").to_pylist()
    assert amounts == [900, -300, -600] and sum(amounts) == 0  # -2.997 and -6.003 round to -3.00 and -6.00
    assert [p.severity for p in ledger.problems] == ["warning"] and "0.9" in ledger.problems[0].message
    none = to_ledger(_book("CURRENCY:USD", thirds), "t", "test")
    assert none.lines.num_rows == 0 and "no CHF split and no USD/CHF price" in none.errors[0].message


def test_posted_invoice_partly_paid_is_an_open_item():
    book = _book("CURRENCY:CHF", [("ar", Fraction(1000), Fraction(1000)), ("exp", Fraction(-1000), Fraction(-1000))])
    book.transactions[0].splits[0].lot = "lot1"
    book.transactions[0].slots["trans-date-due"] = "2024-06-01 10:59:00"
    payment = Transaction("t2", "CURRENCY:CHF", "", dt.date(2024, 5, 20), "", "payment", 9)
    payment.splits = [Split("bank", "", Fraction(400), Fraction(400), 10),
                      Split("ar", "", Fraction(-400), Fraction(-400), 11, lot="lot1")]  # fmt: skip
    book.transactions.append(payment)
    book.owners["c1"] = {"kind": "customer", "id": "K7", "name": "Kunde", "row": 12}
    book.invoices.append({"id": "INV-1", "owner": "c1", "post_txn": "t1", "post_lot": "lot1", "post_acc": "ar",
                          "currency": "CURRENCY:CHF", "notes": "", "row": 13})  # fmt: skip
    ledger = to_ledger(book, "t", "test")
    assert ledger.open_items.to_pylist() == [{
        "id": "INV-1", "partner": "K7", "kind": "invoice", "date": dt.date(2024, 5, 2), "due_date": dt.date(2024, 6, 1),
        "currency": "", "amount": 100000, "open_amount": 60000, "account": "ar", "description": "test"}]  # fmt: skip


def test_repeated_vat_code_and_account_outside_the_chart(garage, tmp_path):
    """GnuCash wants unique tax table names: a code repeated with another validity gets "V81 (2)" as its
    name and its own code back from the slot; a VAT account missing from the chart is kept in a slot."""
    rows = garage.vat_codes.to_pylist()
    again = rows[1] | {"valid_from": dt.date(2030, 1, 1), "valid_to": None, "rate": "8.10", "account": "9999"}
    ledger = garage.replace(vat_codes=table("vat_codes", [*rows, again]))
    out = tmp_path / "codes.gnucash"
    pipeline.write(ledger, "gnucash", out)
    text = gzip.decompress(out.read_bytes()).decode("utf-8")
    assert f"<taxtable:name>{rows[1]['code']} (2)</taxtable:name>" in text
    assert pipeline.read(out).vat_codes.equals(ledger.vat_codes)


def test_bad_fiscal_years_slot_is_a_warning(garage, tmp_path):
    out = tmp_path / "garage.gnucash"
    pipeline.write(garage, "gnucash", out)
    xml = gzip.decompress(out.read_bytes())
    bad = xml.replace(b"2023-01-01/2023-12-31 ", b"2023-13-01/2023-12-31 ", 1)
    assert bad != xml
    path = tmp_path / "bad.gnucash"
    path.write_bytes(gzip.compress(bad))
    ledger = pipeline.read(path)
    assert ledger.company.fiscal_years == ()  # the calendar years of the lines are used instead
    assert [p.message for p in ledger.problems] == [
        "book slot migrator-fiscal-years: '2023-13-01/2023-12-31' is not a fiscal year "
        "(expected yyyy-mm-dd/yyyy-mm-dd): fiscal years left out"
    ]


# --------------------------------------------------------- transactions as a tree of elements would print


def _reference_transactions(ledger) -> list[str]:  # type: ignore[no-untyped-def]
    """Each transaction of `ledger` as lxml prints a `gnc:transaction` element of a book built whole in
    memory, built here element by element from GnuCash's layout (the writer streams them as text)."""
    import uuid

    from lxml import etree

    from migrator.writers.gnucash import NSMAP

    def sub(parent, name, text=None, **attributes):  # type: ignore[no-untyped-def]
        prefix, _, local = name.partition(":")
        node = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}" if local else name, attributes)
        if text is not None:
            node.text = text
        return node

    def slot(parent, key, value, kind="string"):  # type: ignore[no-untyped-def]
        node = sub(parent, "slot")
        sub(node, "slot:key", key)
        if kind == "gdate":
            sub(sub(node, "slot:value", type="gdate"), "gdate", value)
        else:
            sub(node, "slot:value", value, type=kind)

    company = ledger.company
    space = uuid.uuid5(uuid.NAMESPACE_URL, f"migrator:gnucash:{company.name}:{company.base_currency}")
    base = company.base_currency or "CHF"
    accounts = {a: uuid.uuid5(space, f"account\x1f{a}").hex for a in ledger.accounts.column("code").to_pylist()}
    groups: dict[str, list[dict]] = {}
    for row in ledger.lines.to_pylist():
        groups.setdefault(row["entry"], []).append(row)
    doc = etree.Element("gnc-v2", nsmap=NSMAP)  # type: ignore[arg-type]
    book = sub(doc, "gnc:book", version="2.0.0")
    for rows in groups.values():
        rows.sort(key=lambda r: r["line"] or 0)
        first = rows[0]
        currency = base
        kinds = {r["currency"] for r in rows}
        if len(kinds) == 1 and not kinds & {"", base}:
            signs = all(r["amount_currency"] is not None and (r["amount_currency"] > 0) == (r["amount"] > 0)
                        and not (r["amount_currency"] == 0 and r["amount"]) for r in rows)  # fmt: skip
            if signs and sum(r["amount_currency"] for r in rows) == 0:
                currency = first["currency"]
        txn = sub(book, "gnc:transaction", version="2.0.0")
        sub(txn, "trn:id", uuid.uuid5(space, f"transaction\x1f{first['entry']}").hex, type="guid")
        held = sub(txn, "trn:currency")
        sub(held, "cmdty:space", "CURRENCY")
        sub(held, "cmdty:id", currency)
        if first["doc"]:
            sub(txn, "trn:num", first["doc"])
        for when in ("trn:date-posted", "trn:date-entered"):
            sub(sub(txn, when), "ts:date", f"{first['date'].isoformat()} 10:59:00 +0000")
        sub(txn, "trn:description", first["description"])
        slots = sub(txn, "trn:slots")
        slot(slots, "date-posted", first["date"].isoformat(), "gdate")
        if any(r["opening"] for r in rows):
            slot(slots, "migrator-opening", "true")
        if first["journal"]:
            slot(slots, "migrator-journal", first["journal"])
        splits = sub(txn, "trn:splits")
        for row in rows:
            split = sub(splits, "trn:split")
            sub(split, "split:id", uuid.uuid5(space, f"split\x1f{first['entry']}\x1f{row['line']}").hex, type="guid")
            if row["description"] and row["description"] != first["description"]:
                sub(split, "split:memo", row["description"])
            sub(split, "split:reconciled-state", "n")
            sub(split, "split:value", f"{row['amount_currency'] if currency != base else row['amount']}/100")
            sub(split, "split:quantity", f"{row['amount']}/100")
            sub(split, "split:account", accounts[row["account"]], type="guid")
            kept = [(f"migrator-{k.replace('_', '-')}", row[k]) for k in ("vat_code", "partner", "cost_centre")]
            kept = [(k, v) for k, v in kept if v] + ([("migrator-vat-line", "true")] if row["vat_line"] else [])
            if kept or row["vat_amount"] is not None:
                holder = sub(split, "split:slots")
                for key, value in kept:
                    slot(holder, key, value)
                if row["vat_amount"] is not None:
                    slot(holder, "migrator-vat-amount", str(row["vat_amount"]), "integer")
    text = etree.tostring(doc, encoding="utf-8", pretty_print=True).decode("utf-8")
    return re.findall(r"    <gnc:transaction .*?\n    </gnc:transaction>\n", text, re.S)


def _written_transactions(path: Path) -> list[str]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    return re.findall(r"    <gnc:transaction .*?\n    </gnc:transaction>\n", text, re.S)


_XML_HOSTILE = st.sampled_from(["a & b", "<tag>", "c\rd", "e\nf", " g ", "h\ti", "ü€😀", "]]>", "'\"", "x"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers(text=st.one_of(texts(), _XML_HOSTILE)))
def test_transactions_print_as_the_tree_of_elements_would(ledger, tmp_path_factory):
    out = tmp_path_factory.mktemp("gnc") / "books.gnucash"
    pipeline.write(ledger, "gnucash", out)
    continuous = years.continuous(ledger)[0]  # what the pipeline handed the writer
    assert _written_transactions(out) == _reference_transactions(continuous)


def test_transactions_in_a_foreign_currency_shuffled_and_unnumbered(garage, tmp_path, monkeypatch):
    import migrator.writers.gnucash as writer

    rows = garage.lines.to_pylist()[::-1]  # an entry's lines out of order: written in line order
    for i, row in enumerate(rows):
        if i % 7 == 0:
            row["line"] = None  # counts as line 0, the entry's first
        if i % 5 == 0:
            row["description"] += " & <more>\r"  # a memo where a line's text is not the entry's
    first = rows[0]
    rows += [
        first | {"entry": "F1", "line": 1, "account": "1020", "amount": 1000, "currency": "EUR", "amount_currency": 900},
        first | {"entry": "F1", "line": 2, "account": "3200", "amount": -1000, "currency": "EUR", "amount_currency": -900},
        # one line in the base currency: the transaction stays in CHF and the EUR amount is declared lost
        first | {"entry": "F2", "line": 1, "account": "1020", "amount": 1000, "currency": "EUR", "amount_currency": 900},
        first | {"entry": "F2", "line": 2, "account": "3200", "amount": -1000, "currency": "", "amount_currency": None},
        # foreign amounts that do not sum to zero, or run against the base amount's sign: CHF
        first | {"entry": "F3", "line": 1, "account": "1020", "amount": 1000, "currency": "USD", "amount_currency": 900},
        first | {"entry": "F3", "line": 2, "account": "3200", "amount": -1000, "currency": "USD", "amount_currency": -800},
        first | {"entry": "F4", "line": 1, "account": "1020", "amount": 5, "currency": "EUR", "amount_currency": -5},
        first | {"entry": "F4", "line": 2, "account": "3200", "amount": -5, "currency": "EUR", "amount_currency": 5},
    ]  # fmt: skip
    ledger = garage.replace(lines=table("lines", rows), company=garage.company.__class__(
        **{**garage.company.__dict__, "fiscal_years": ()}))  # fmt: skip
    monkeypatch.setattr(writer, "BATCH", 4)  # entries in several batches
    out = tmp_path / "shuffled.gnucash"
    declared = writer.GnucashWriter().write(ledger, out)
    written = _written_transactions(out)
    assert written == _reference_transactions(ledger)
    assert len(written) == 23 + 4
    f1 = next(t for t in written if "<trn:num>" in t and "900/100" in t and "EUR" in t)
    assert "<cmdty:id>EUR</cmdty:id>" in f1 and "<split:value>-900/100</split:value>" in f1
    assert any("<split:memo>" in t and "&amp; &lt;more&gt;&#13;</split:memo>" in t for t in written)
    # F2's EUR line, F3's two USD lines and F4's two EUR lines are written in CHF only
    assert (
        "5 foreign amounts (entries mixing currencies) not carried by this format: written in base currency only"
        in [p.message for p in declared]
    )
    assert sum("USD" in t for t in written) == 0


# ------------------------------------------------------------------------------ reading a large book


def test_a_compressed_book_streamed_reads_as_the_same_book_uncompressed(garage, tmp_path):
    """A compressed book's transactions are read while it is parsed and dropped from the tree; a plain
    XML book is parsed whole first: both give the same ledger."""
    packed = tmp_path / "garage.gnucash"
    pipeline.write(garage, "gnucash", packed)
    plain = tmp_path / "plain.gnucash"
    plain.write_bytes(gzip.decompress(packed.read_bytes()))
    streamed, whole = pipeline.read(packed), pipeline.read(plain)
    for name in ("accounts", "groups", "vat_codes", "partners", "open_items"):
        assert getattr(streamed, name).equals(getattr(whole, name)), name
    assert streamed.lines.drop_columns(["source_file"]).equals(whole.lines.drop_columns(["source_file"]))
    assert set(streamed.lines.column("source_file").to_pylist()) == {str(packed)}
    assert streamed.lines.num_rows == 75 - 11 + 8  # the 2024 opening's 11 lines replaced by a closing entry's 8
    assert streamed.problems == whole.problems


def test_a_split_value_that_is_no_number_stops_the_streamed_read(garage, tmp_path):
    packed = tmp_path / "garage.gnucash"
    pipeline.write(garage, "gnucash", packed)
    text = gzip.decompress(packed.read_bytes()).decode("utf-8")
    broken = tmp_path / "broken.gnucash"
    broken.write_bytes(gzip.compress(text.replace("<split:value>250000/100<", "<split:value>abc/100<", 1).encode()))
    with pytest.raises(SourceError, match=r"broken\.gnucash: not a readable GnuCash XML book: invalid literal"):
        pipeline.read(broken)
