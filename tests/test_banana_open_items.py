"""Banana: open invoices and bills carried into the customers/suppliers register (option
``partner_accounts``) at the cut-over, read back as open items, and the balances Banana itself shows."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from migrator import pipeline
from migrator.model import Company, FiscalYear, Ledger, table
from migrator.readers.banana import BananaReader
from migrator.readers.base import ReadOptions
from migrator.reconcile import compare, trial_balance, years
from migrator.sources import Source
from migrator.writers.banana import BananaWriter

REGISTER = {"partner_accounts": "yes"}
# The garage's open items at the end of 2024, from samples/winbiz (document.dbf): R24-002 (Carrosserie
# Weber, 4,324.00 on 1100) and F24-202 (Pneus Léman, 1,621.50 on 2000), both unpaid.
GARAGE_OPEN = [
    {"id": "R24-002", "partner": "C002", "kind": "invoice", "date": dt.date(2024, 9, 12), "due_date": None,
     "currency": "", "amount": 432400, "open_amount": 432400, "account": "1100",
     "description": "Facture Carrosserie Weber, réparation"},
    {"id": "F24-202", "partner": "S001", "kind": "bill", "date": dt.date(2024, 10, 1), "due_date": None,
     "currency": "", "amount": 162150, "open_amount": 162150, "account": "2000", "description": "Pneus Léman, jantes"},
]  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    header, *lines = path.read_text("utf-8").rstrip("\n").split("\n")
    names = header.split("\t")
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines]


def _cents(text: str) -> int:
    return int(Decimal(text) * 100) if text else 0


def banana_view(folder: Path) -> tuple[dict[str, int], dict[str, int]]:
    """The year-end balance of each account and the total of each group as Banana computes them from
    the files of one year: accounts.txt's Opening plus every transactions.txt row (debit +, credit -);
    a row with a VAT code books its net Amount to its account and rate × Amount, rounded as
    fileinfo.txt says, to the code's VatAccount on the same side (amount type 2: all of it is VAT);
    each account and group adds into the group its Gr names."""
    accounts = _rows(folder / "accounts.txt")
    codes = {r["VatCode"]: r for r in _rows(folder / "vatcodes.txt")}
    step = 5 if _rows(folder / "fileinfo.txt")[0]["Value"] == "0.05" else 1
    balance = {r["Account"]: _cents(r["Opening"]) for r in accounts if r["Account"]}
    for row in _rows(folder / "transactions.txt"):
        amount, debit, credit = _cents(row["Amount"]), row["AccountDebit"], row["AccountCredit"]
        code = row["VatCode"].lstrip("-")
        if not code:
            if debit:
                balance[debit] = balance.get(debit, 0) + amount
            if credit:
                balance[credit] = balance.get(credit, 0) - amount
            continue
        assert not (debit and credit)  # the writer puts a VAT code on one-account rows only
        side, account, info = (1 if debit else -1), debit or credit, codes[code]
        if row["VatAmountType"] == "2":
            base, tax = 0, amount
        else:
            exact = Decimal(amount) * Decimal(info["VatRate"]) / 100 / step
            base, tax = amount, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step
        balance[account] = balance.get(account, 0) + side * base
        balance[info["VatAccount"]] = balance.get(info["VatAccount"], 0) + side * tax
    parent = {r["Account"] or r["Group"]: r["Gr"] for r in accounts if r["Account"] or r["Group"]}
    return balance, _group_totals(balance, parent)


def _group_totals(balance: dict[str, int], parent: dict[str, str]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for code, cents in balance.items():
        group = parent.get(code, "")
        while group:
            totals[group] = totals.get(group, 0) + cents
            group = parent.get(group, "")
    return totals


def source_view(ledger: Ledger) -> tuple[dict[str, int], dict[str, int]]:
    """The last fiscal year's closing balances and group totals of the books handed to the writer."""
    closing = {code: cents for code, cents in years(ledger)[-1].closing.items() if cents}
    parent = {a["code"]: a["parent"] for a in ledger.accounts.to_pylist()}
    parent.update({g["code"]: g["parent"] for g in ledger.groups.to_pylist()})
    return closing, _group_totals(closing, parent)


def test_garage_open_items_reach_the_register_and_read_back(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "banana", out, dossier="garage", options=REGISTER)
    assert result.verification is not None and not result.verification.differences
    assert result.verified
    # the due dates are the only difference of the open items (declared, and listed where fields are compared)
    assert all("due_date" in loss for loss in result.verification.losses if loss.startswith("open items"))
    assert result.reread is not None
    assert result.reread.open_items.to_pylist() == GARAGE_OPEN
    assert result.written.open_items.num_rows == 2
    # the transfers are no journal: the journal read back balances as the source's
    nonzero = {a: c for a, c in trial_balance(result.written).items() if c}
    assert {a: c for a, c in trial_balance(result.reread).items() if c} == nonzero
    declared = [p.message for p in result.not_carried]
    assert [m.split(" not carried")[0] for m in declared if "open item" in m] == ["2 open items (due date 2)"]
    # Multi-year: the register and the transfers are in the last year's folder only.
    first = (out / "2023" / "transactions.txt").read_text("utf-8")
    last = (out / "2024" / "transactions.txt").read_text("utf-8")
    assert "OPEN-ITEMS" not in first and "DocInvoice" not in first.split("\n", 1)[0]
    transfers = [r for r in _rows(out / "2024" / "transactions.txt") if r["Doc"] == "OPEN-ITEMS"]
    shown = [(r["Date"], r["DateDocument"], r["DocInvoice"], r["AccountDebit"], r["AccountCredit"], r["Amount"],
              r["VatCode"]) for r in transfers]  # fmt: skip
    assert shown == [("2024-12-31", "2024-09-12", "R24-002", "C002", "1100", "4324.00", ""),
                     ("2024-12-31", "2024-10-01", "F24-202", "2000", "S001", "1621.50", "")]  # fmt: skip
    assert last.rstrip("\n").split("\n")[-2:] == [  # after the journal
        "\t".join(("2024-12-31", "OPEN-ITEMS", "Facture Carrosserie Weber, réparation", "C002", "1100", "4324.00",
                   "", "", "", "", "", "2024-09-12", "R24-002")),
        "\t".join(("2024-12-31", "OPEN-ITEMS", "Pneus Léman, jantes", "2000", "S001", "1621.50",
                   "", "", "", "", "", "2024-10-01", "F24-202")),
    ]  # fmt: skip
    readme = (out / "README.txt").read_text("utf-8")
    assert "Doc OPEN-ITEMS" in readme and "DocInvoice" in readme


def test_banana_shows_the_open_amounts_on_the_partners(samples: Path, tmp_path: Path) -> None:
    """Banana's own balances, worked out from the written files, against the source's."""
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "banana", out, dossier="garage", options=REGISTER)
    closing, groups = source_view(result.written)
    balance, totals = banana_view(out / "2024")
    # the collective accounts hold less by exactly the open amounts; the partners' accounts hold them
    assert balance["1100"] == closing["1100"] - 432400
    assert balance["2000"] == closing["2000"] + 162150
    assert balance["C002"] == 432400 and balance["S001"] == -162150
    register = {"C001", "C002", "C003", "C004", "C005", "S004", "C003-10", "11", "S001", "S002", "S003"}
    assert {a for a, c in balance.items() if c} - set(closing) <= register
    assert {a: c for a, c in balance.items() if c and a in register} == {"C002": 432400, "S001": -162150}
    assert {a: c for a, c in balance.items() if c and a not in ("1100", "2000", "C002", "S001")} == {
        a: c for a, c in closing.items() if a not in ("1100", "2000")}  # fmt: skip
    # the register groups total into the collective accounts' groups: every group of the source unchanged
    assert totals["DEB"] == 432400 and totals["CRE"] == -162150
    assert {g: c for g, c in totals.items() if g not in ("DEB", "CRE") and c} == {g: c for g, c in groups.items() if c}
    assert totals["110"] == groups["110"] and totals["200"] == groups["200"]
    # 2023 has no transfer: Banana's 2023 is the source's 2023
    closing_2023 = {code: cents for code, cents in years(result.written)[0].closing.items() if cents}
    assert {a: c for a, c in banana_view(out / "2023")[0].items() if c} == closing_2023


def test_without_the_option_the_declaration_names_it(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = pipeline.convert(samples / "winbiz" / "DAT", "banana", out, dossier="garage")
    assert result.verified
    declared = [p.message for p in result.not_carried if p.message.startswith("2 open items not carried")]
    assert len(declared) == 1 and "partner_accounts=yes" in declared[0]
    assert "OPEN-ITEMS" not in (out / "2024" / "transactions.txt").read_text("utf-8")
    assert result.reread is not None and not result.reread.open_items.num_rows


CHART = [
    {"code": "1020", "name": "Banque", "type": "asset", "parent": "100"},
    {"code": "1100", "name": "Débiteurs", "type": "asset", "parent": "110"},
    {"code": "1109", "name": "Débiteurs douteux", "type": "asset", "parent": "100"},
    {"code": "2000", "name": "Créanciers", "type": "liability", "parent": "200"},
    {"code": "3400", "name": "Prestations", "type": "income", "parent": "300"},
    {"code": "4200", "name": "Achats", "type": "expense", "parent": "400"},
]  # fmt: skip
GROUPS = [{"code": g, "name": f"Groupe {g}"} for g in ("100", "110", "200", "300", "400")]
PARTNERS = [
    {"id": "K1", "kind": "company", "roles": "customer", "name": "Alpenblick AG", "account": "1100"},
    {"id": "K2", "kind": "company", "roles": "customer", "name": "Bäckerei Zünd", "account": "1100"},
    {"id": "L1", "kind": "company", "roles": "supplier", "name": "Ricambi Ticino SA", "account": "2000"},
    {"id": "L2", "kind": "company", "roles": "supplier", "name": "Teile GmbH", "account": "2000", "currency": "EUR"},
]  # fmt: skip
DAY = dt.date(2024, 3, 1)
OPEN = [
    # partly paid: 1,000.00 invoiced, 600.00 paid, 400.00 open
    {"id": "A-1", "partner": "K1", "kind": "invoice", "date": DAY, "due_date": dt.date(2024, 3, 31),
     "amount": 100000, "open_amount": 40000, "account": "1100", "description": "Révision\tcamion"},
    # in euros: its amount in francs at the cut-over is unknown
    {"id": "B-7", "partner": "L2", "kind": "bill", "date": DAY, "currency": "EUR", "amount": 50000,
     "open_amount": 50000, "account": "2000", "description": "Ersatzteile"},
    # a bill of a customer: the customers register cannot hold it
    {"id": "B-8", "partner": "K2", "kind": "bill", "date": DAY, "amount": 10000, "open_amount": 10000,
     "account": "2000"},
    # on an account in another group than the register's
    {"id": "A-2", "partner": "K2", "kind": "invoice", "date": DAY, "amount": 20000, "open_amount": 20000,
     "account": "1109"},
    # no account of its own: the partner's
    {"id": "B-9", "partner": "L1", "kind": "bill", "date": DAY, "amount": 30000, "open_amount": 30000},
]  # fmt: skip
LINES = [
    ("1", "A-1", "1100", 100000), ("1", "A-1", "3400", -100000), ("2", "P-1", "1020", 60000),
    ("2", "P-1", "1100", -60000), ("3", "B-9", "4200", 30000), ("3", "B-9", "2000", -30000),
    ("4", "B-8", "4200", 10000), ("4", "B-8", "2000", -10000), ("5", "A-2", "1109", 20000),
    ("5", "A-2", "3400", -20000),
]  # fmt: skip


def small_books() -> Ledger:
    lines = [{"entry": e, "line": n % 2 + 1, "date": DAY, "doc": doc, "account": account, "amount": cents,
              "description": doc} for n, (e, doc, account, cents) in enumerate(LINES)]  # fmt: skip
    company = Company(name="Atelier Test", base_currency="CHF",
                      fiscal_years=(FiscalYear(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),))  # fmt: skip
    return Ledger(company=company, accounts=table("accounts", CHART), groups=table("groups", GROUPS),
                  lines=table("lines", lines), partners=table("partners", PARTNERS),
                  open_items=table("open_items", OPEN))  # fmt: skip


def test_partly_paid_foreign_and_misplaced_items(tmp_path: Path) -> None:
    books = small_books()
    out = tmp_path / "banana"
    out.mkdir()
    problems = BananaWriter(partner_accounts=True).write(books, out)
    transfers = [r for r in _rows(out / "transactions.txt") if r["Doc"] == "OPEN-ITEMS"]
    assert [(r["DocInvoice"], r["AccountDebit"], r["AccountCredit"], r["Amount"], r["Description"]) for r in transfers] == [
        ("A-1", "K1", "1100", "400.00", "Révision camion"), ("B-9", "2000", "L1", "300.00", "")]  # fmt: skip
    declared = sorted(p.message for p in problems if "open item" in p.message)
    assert declared == [
        "1 open items not carried by this format: left out (in a foreign currency: their amount in the base currency "
        "at the cut-over is not known): their amounts stay in the receivable and payable accounts",
        "1 open items not carried by this format: left out (their partner has no account in the customers (invoices) "
        "or suppliers (bills) register): their amounts stay in the receivable and payable accounts",
        "1 open items not carried by this format: left out (their receivable or payable account is not in the chart, "
        "or not in the group the register totals into): their amounts stay in the receivable and payable accounts",
        "2 open items (due date 1, amount 1, account 1, description 1) not carried by this format: a transfer into the "
        "register at the cut-over carries number, partner, issue date, open amount, account and text; no due date, "
        "the open amount as the total",
    ]  # fmt: skip
    back = BananaReader().read(Source(out), ReadOptions())
    assert [(i["id"], i["partner"], i["kind"], i["date"], i["amount"], i["open_amount"], i["account"], i["currency"])
            for i in back.open_items.to_pylist()] == [
        ("A-1", "K1", "invoice", DAY, 40000, 40000, "1100", ""),
        ("B-9", "L1", "bill", DAY, 30000, 30000, "2000", ""),
    ]  # fmt: skip
    assert trial_balance(back) == trial_balance(books)
    check = compare(books, back, ("accounts", "vat_codes", "entries"), declared=problems, target="banana")
    assert check.ok, check.differences
    balance, _ = banana_view(out)
    # 1100: 1,000.00 invoiced - 600.00 paid - 400.00 moved to K1; 2000: bills of 300.00 and 100.00, 300.00 moved
    assert (balance["1100"], balance["K1"], balance["2000"], balance["L1"]) == (0, 40000, -10000, -30000)


def test_the_option_without_fiscal_years_declares_the_items(tmp_path: Path) -> None:
    books = small_books().replace(lines=table("lines"), company=Company(name="Leer", base_currency="CHF"))
    out = tmp_path / "banana"
    out.mkdir()
    problems = BananaWriter(partner_accounts=True).write(books, out)
    assert "OPEN-ITEMS" not in (out / "transactions.txt").read_text("utf-8")
    assert [p.message.split(":")[0] for p in problems if "open item" in p.message] == [
        "5 open items not carried by this format"
    ]


def test_only_the_exact_transfer_is_an_open_item(tmp_path: Path) -> None:
    """A row that merely touches a register account (another Doc, no DocInvoice, a VAT code, a register
    account on both sides) is journal; its register account is then not in the chart, and the reader
    says so."""
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "accounts.txt").write_text(
        "Section\tGroup\tAccount\tDescription\tBClass\tGr\tOpening\tCurrency\n"
        "\t\t1100\tDébiteurs\t1\t110\t\tCHF\n\t\t3400\tVentes\t4\t300\t\tCHF\n\t\t2000\tCréanciers\t2\t200\t\tCHF\n"
        "01\t\t\tCustomers register\t\t\t\t\n\t\tK1\tAlpenblick AG\t1\tDEB\t\tCHF\n\tDEB\t\tCustomers\t\t110\t\t\n"
        "02\t\t\tSuppliers register\t\t\t\t\n\t\tL1\tRicambi SA\t2\tCRE\t\tCHF\n\tCRE\t\tSuppliers\t\t200\t\t\n",
        "utf-8",
    )  # fmt: skip
    (folder / "transactions.txt").write_text(
        "Date\tDoc\tDescription\tAccountDebit\tAccountCredit\tAmount\tVatCode\tDateDocument\tDocInvoice\n"
        "2024-02-01\tR-1\tInvoice booked to the customer\tK1\t3400\t100.00\t\t2024-02-01\tR-1\n"
        "2024-12-31\tOPEN-ITEMS\tno invoice number\tK1\t1100\t50.00\t\t\t\n"
        "2024-12-31\tOPEN-ITEMS\tcustomer to supplier\tK1\tL1\t20.00\t\t2024-02-01\tR-2\n"
        "2024-12-31\tOPEN-ITEMS\tthe transfer\tK1\t1100\t70.00\t\t2024-02-01\tR-3\n"
        "2024-12-31\tOPEN-ITEMS\ta bill\t2000\tL1\t30.00\t\t2024-01-15\tF-1\n"
        "2024-12-31\tOPEN-ITEMS\ta bill to the wrong side\tL1\t2000\t40.00\t\t2024-01-15\tF-2\n",
        "utf-8",
    )  # fmt: skip
    ledger = BananaReader().read(Source(folder), ReadOptions())
    assert [(i["id"], i["partner"], i["kind"], i["date"], i["open_amount"], i["account"])
            for i in ledger.open_items.to_pylist()] == [
        ("R-3", "K1", "invoice", dt.date(2024, 2, 1), 7000, "1100"),
        ("F-1", "L1", "bill", dt.date(2024, 1, 15), 3000, "2000"),
    ]  # fmt: skip
    journal = {(r["doc"], r["description"], r["account"], r["amount"]) for r in ledger.lines.to_pylist()}
    assert journal == {
        ("R-1", "Invoice booked to the customer", "K1", 10000), ("R-1", "Invoice booked to the customer", "3400", -10000),
        ("OPEN-ITEMS", "no invoice number", "K1", 5000), ("OPEN-ITEMS", "no invoice number", "1100", -5000),
        ("OPEN-ITEMS", "customer to supplier", "K1", 2000), ("OPEN-ITEMS", "customer to supplier", "L1", -2000),
        ("OPEN-ITEMS", "a bill to the wrong side", "L1", 4000), ("OPEN-ITEMS", "a bill to the wrong side", "2000", -4000),
    }  # fmt: skip
    warned = {p.message for p in ledger.problems}
    assert "account K1 is used by the journal but missing from the chart; it was added" in warned
    assert "account L1 is used by the journal but missing from the chart; it was added" in warned
