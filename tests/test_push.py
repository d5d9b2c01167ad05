"""`migrator push --to bexio` against a bexio stand-in (tests/bexio_standin.py) on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from bexio_standin import READ_ONLY, TOKEN, Standin
from click.testing import CliRunner

from migrator import bexio_api, pipeline
from migrator.cli import cli
from migrator.push import Journal, PushStopped, fingerprint, push

ROOT = Path(__file__).resolve().parent.parent
DAT = ROOT / "samples" / "winbiz" / "DAT"
# The garage (Winbiz sample): 40 source entries; bexio gets 30 manual entries (2023 with its openings and
# the closing entry CLOSING-2023; the 2024 openings are carried by bexio itself, years.continuous), and
# the offset entry of the one open customer invoice, R24-002 (4324.00), created as a bexio invoice.
ENTRIES = 30 + 1
INVOICE_STEPS = 2
"""Journal lines of the open invoice: created, issued."""


@pytest.fixture(scope="module")
def garage_chart() -> dict[str, str]:
    ledger = pipeline.read(DAT, dossier="garage")
    return {a["code"]: a["name"] for a in ledger.accounts.to_pylist()}


@pytest.fixture
def bexio(garage_chart: dict[str, str]) -> Iterator[Standin]:
    standin = Standin()
    standin.chart({**garage_chart, "9990": "Übertrag offene Posten"})  # the open invoices' transition account
    standin.units += [{"id": 90001, "name": "jeu"}, {"id": 90002, "name": "paire"}]  # the garage's own units
    standin.url = standin.start()  # type: ignore[attr-defined]
    yield standin
    standin.stop()


def url(standin: Standin) -> str:
    return standin.url  # type: ignore[attr-defined,no-any-return]


def posts(standin: Standin) -> int:
    return sum(1 for method, path, _ in standin.log if method == "POST")


def run(standin: Standin, journal: Path, waits: list[float] | None = None, **options: Any) -> Any:  # float-ok: seconds
    client = bexio_api.Client(TOKEN, url(standin), sleep=(waits.append if waits is not None else lambda _s: None))
    with client:
        return push(DAT, dossier="garage", token=TOKEN, api_url=url(standin), journal=journal, client=client,
                    **options)  # fmt: skip


def test_full_push_and_read_back(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The garage posted over the CLI, read back from bexio and verified; the token is nowhere printed."""
    monkeypatch.setenv("BEXIO_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url", url(bexio),
                                      "--report", "report.json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"posted to bexio: 11 contacts, 9 articles, {ENTRIES} entries (0 were there already)" in result.output
    assert "created in bexio: open invoice R24-002 of C002, 4324.00 (issued)" in result.output
    assert "verified with declared losses: bexio reads back to the same books" in result.output
    assert TOKEN not in result.output
    assert len(bexio.entries) == ENTRIES
    assert set(bexio.authorizations) == {f"Bearer {TOKEN}"}
    # R23-001 (Winbiz garage): 1200.00 to 3400 with 92.40 VAT V77 → gross 1292.40 with UN77, one line
    accounts = {a["id"]: a["account_no"] for a in bexio.accounts}
    taxes = {t["id"]: t["code"] for t in bexio.taxes}
    invoice = next(e for e in bexio.entries if e["reference_nr"] == "R23-001")
    assert invoice["type"] == "manual_single_entry"
    line = invoice["entries"][0]
    assert (accounts[line["debit_account_id"]], accounts[line["credit_account_id"]], str(line["amount"]),
            taxes[line["tax_id"]], accounts[line["tax_account_id"]]) == ("1100", "3400", "1292.40", "UN77", "3400")  # fmt: skip
    # customers, suppliers and parts as bexio holds them
    contacts = {c["nr"]: c for c in bexio.contacts}
    countries = {c["id"]: c["iso_3166_alpha2"] for c in bexio.countries}
    assert (contacts["C004"]["contact_type_id"], contacts["C004"]["name_1"], contacts["C004"]["name_2"],
            contacts["C004"]["address_addition"], countries[contacts["S002"]["country_id"]]) == (
        2, "Sarbach-Zürcher", "Anna", "c/o Zürcher", "DE")  # fmt: skip
    article = next(a for a in bexio.articles if a["intern_code"] == "PNEU-H")
    assert (str(article["purchase_price"]), str(article["sale_price"]), str(article["stock_nr"]),
            taxes[article["tax_income_id"]], contacts["S001"]["id"]) == ("200.00", "250.00", "12", "UN81",
                                                                        article["contact_id"])  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["verdict"]["state"] == "verified with declared losses"
    assert report["target"]["format"] == "bexio" and report["target"]["files"][0]["path"] == "bexio-push.jsonl"
    assert TOKEN not in (tmp_path / "report.json").read_text("utf-8")
    journal = (tmp_path / "bexio-push.jsonl").read_text("utf-8").splitlines()
    assert len(journal) == 11 + 9 + ENTRIES + INVOICE_STEPS and TOKEN not in "".join(journal)
    # per account and year, as bexio holds them: 1000 Caisse closes 2023 at 3038.50 in both
    # VAT per code as bexio books it from the gross amounts: V77 of the Winbiz garage is bexio's UN77
    vat = {r["code"]: r for r in report["vat_rows"]}
    assert (vat["V77"]["target"], vat["V77"]["vat"], vat["V77"]["vat_after"]) == ("UN77", "-388.85", "-388.85")
    assert (vat["I81"]["target"], vat["I81"]["base_after"], vat["I81"]["vat_after"]) == ("VB81", "12000.00", "972.00")
    rows = {(r["start"], r["account"]): r for r in report["year_accounts"]}
    assert rows[("2023-01-01", "1000")]["closing"] == rows[("2023-01-01", "1000")]["closing_after"] == "3038.50"
    # a second run without --resume refuses the journal; with it, nothing is posted again
    again = CliRunner().invoke(cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url",
                                     url(bexio)])  # fmt: skip
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = CliRunner().invoke(cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url",
                                       url(bexio), "--resume"])  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert (
        f"posted to bexio: 0 contacts, 0 articles, 0 entries ({11 + 9 + ENTRIES} were there already)" in resumed.output
    )
    assert (len(bexio.entries), len(bexio.contacts), len(bexio.articles)) == (ENTRIES, 11, 9)
    assert len(bexio.invoices) == 1 and "created in bexio" not in resumed.output


def test_dry_run_posts_nothing(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEXIO_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url", url(bexio),
                                      "--dry-run"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"manual entries: {ENTRIES} (" in result.output and "dry run: nothing was posted" in result.output
    assert "2023-01-01 to 2023-12-31: debit total" in result.output
    assert posts(bexio) == 0 and not (tmp_path / "bexio-push.jsonl").exists()


def test_dry_run_speaks_german(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEXIO_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--lang", "de", "push", str(DAT), "--dossier", "garage", "--to", "bexio",
                                      "--api-url", url(bexio), "--dry-run"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        f"manuelle Buchungen: {ENTRIES} (" in result.output and "Probelauf: nichts wurde übermittelt" in result.output
    )
    assert "2023-01-01 bis 2023-12-31: Total Soll" in result.output
    assert "Kontakte: 11" in result.output and "dry run" not in result.output


def test_crash_then_resume_posts_each_entry_once(bexio: Standin, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A crash after 7 posts, the 7th saved by bexio but not yet in the journal: --resume finds it in
    bexio's list and posts the 23 others, each entry exactly once."""
    record = Journal.record

    def crashing(self: Journal, key: str, bexio_id: int, what: str) -> None:
        if len(self.ids) == 11 + 9 + 6:  # contacts and articles first, then entries
            raise KeyboardInterrupt  # the power goes out between bexio's answer and the journal
        record(self, key, bexio_id, what)

    monkeypatch.setattr(Journal, "record", crashing)
    journal = tmp_path / "journal.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(bexio, journal)
    assert len(bexio.entries) == 7 and len(journal.read_text("utf-8").splitlines()) == 11 + 9 + 6
    monkeypatch.setattr(Journal, "record", record)
    result = run(bexio, journal, resume=True)
    assert (result.posted, result.already, result.contacts_already, result.articles_already) == (ENTRIES - 7, 7, 11, 9)
    assert len(bexio.entries) == ENTRIES
    listed = Counter(fingerprint(e) for e in bexio.entries)
    planned = Counter(item.key.split(":")[1] for item in result.planned)
    assert listed == planned  # each entry once (identical entries as often as the books hold them)
    assert result.conversion.verification.ok


def test_rate_limit_and_unavailable_are_retried(bexio: Standin, tmp_path: Path) -> None:
    """429 with Retry-After 3 and a 503, on posts: waited for and retried, nothing posted twice."""
    bexio.too_many[10] = "3"  # 1-8: accounts, taxes, currencies, countries, languages, units, user, contacts
    bexio.unavailable.add(13)
    waits: list[float] = []  # float-ok: seconds
    result = run(bexio, tmp_path / "j.jsonl", waits)
    assert [status for _, _, status in bexio.log].count(429) == 1
    assert waits[0] == 3  # Retry-After, more than the 0.5 s backoff
    assert len(waits) == 2 and result.retried[0].endswith("429; tried again after 3 s")
    assert [bexio.log[i][:2] for i in (9, 12)] == [("POST", "/2.0/contact")] * 2
    assert len(bexio.contacts) == 11 and len(bexio.entries) == ENTRIES and result.conversion.verification.ok


def test_dropped_connection_is_not_posted_twice(bexio: Standin, tmp_path: Path) -> None:
    """bexio saves the first contact and the first entry but the connection drops before its answer:
    the retry looks in bexio's list, finds it, and does not post it again."""
    # the first contact POST (9); the first entry POST: after the lookup that found the contact (10), the
    # other contacts, the articles and the lists, request 32
    bexio.dropped |= {9, 32}
    result = run(bexio, tmp_path / "j.jsonl", [])
    assert [bexio.log[i - 1][:2] for i in (9, 32)] == [
        ("POST", "/2.0/contact"),
        ("POST", "/3.0/accounting/manual_entries"),
    ]
    assert len(result.retried) == 2 and "tried again" in result.retried[0]
    assert (len(bexio.contacts), len(bexio.articles), len(bexio.entries)) == (11, 9, ENTRIES)
    assert posts(bexio) == 11 + 9 + ENTRIES + INVOICE_STEPS
    assert result.conversion.verification.ok


def test_unknown_account_stops_before_posting(garage_chart: dict[str, str], tmp_path: Path) -> None:
    """6900 Frais bancaires is not in bexio's chart, nor the open invoices' transition account 9990: nothing
    is posted, the accounts are named; with --create-missing they are created (an expense account, a
    closing account) and the push verifies. Without 1171, bexio's VB81 books its VAT nowhere: named too."""
    chart = {k: v for k, v in garage_chart.items() if k not in ("6900", "1171")}
    standin = Standin()
    standin.chart(chart)
    standin.url = standin.start()  # type: ignore[attr-defined]
    try:
        with pytest.raises(PushStopped) as info:
            run(standin, tmp_path / "j.jsonl")
        assert "account 6900 Frais bancaires: create it in bexio's chart" in str(info.value)
        assert "account 9990 Übertrag offene Posten: create it in bexio's chart" in str(info.value)
        assert "VAT code VB81 books its VAT to no account in bexio and to 1171 in the books" in str(info.value)
        assert "unit jeu (article PLAQ): create it in bexio's settings (units)" in str(info.value)
        assert posts(standin) == 0
        standin.units += [{"id": 90001, "name": "jeu"}, {"id": 90002, "name": "paire"}]
        standin.accounts.append({"id": 99991, "account_no": "1171", "name": "Vorsteuer Investitionen",
                                 "account_type": 3, "is_active": True})  # fmt: skip
        next(t for t in standin.taxes if t["code"] == "VB81")["account_id"] = 99991
        result = run(standin, tmp_path / "j.jsonl", create_missing=True)
        assert result.created == ["account 6900 Frais bancaires", "account 9990 Übertrag offene Posten",
                                  "open invoice R24-002 of C002, 4324.00 (issued)"]  # fmt: skip
        assert [a["account_type"] for a in standin.accounts if a["account_no"] == "6900"] == [2]  # expense
        assert [a["account_type"] for a in standin.accounts if a["account_no"] == "9990"] == [5]  # closing
        assert len(standin.entries) == ENTRIES and result.conversion.verification.ok
    finally:
        standin.stop()


def test_bad_token_and_read_only_token(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token").write_text("wrong-token\n", "utf-8")
    result = CliRunner().invoke(cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url", url(bexio),
                                      "--token-file", str(tmp_path / "token")])  # fmt: skip
    assert result.exit_code == 2
    assert "bexio answered 401" in result.output and "the token is not valid or has expired" in result.output
    assert "wrong-token" not in result.output and posts(bexio) == 0
    monkeypatch.setenv("BEXIO_TOKEN", READ_ONLY)
    result = CliRunner().invoke(
        cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url", url(bexio)]
    )
    assert result.exit_code == 2 and "bexio answered 403" in result.output and "scopes" in result.output
    assert not bexio.entries
    monkeypatch.delenv("BEXIO_TOKEN")
    result = CliRunner().invoke(
        cli, ["push", str(DAT), "--dossier", "garage", "--to", "bexio", "--api-url", url(bexio)]
    )
    assert result.exit_code == 2 and "no bexio token" in result.output


def test_refused_entry_is_reported_with_the_source_row(bexio: Standin, tmp_path: Path) -> None:
    """bexio refuses one entry (422): its message and source row are reported, the others are posted,
    and verification fails on the missing entry."""
    check = bexio._entry

    def strict(data: dict[str, Any]) -> list[str]:
        return ["description: not allowed here"] if data.get("reference_nr") == "R23-001" else check(data)

    bexio._entry = strict  # type: ignore[method-assign]
    result = run(bexio, tmp_path / "j.jsonl")
    assert len(result.rejected) == 1
    problem = result.rejected[0]
    assert "entry R23-001 of 2023-02-10: not posted: bexio refused it (422)" in problem.message
    assert "description: not allowed here" in problem.message
    assert problem.file.endswith("ecriture.dbf") and problem.row
    assert len(bexio.entries) == ENTRIES - 1
    assert not result.conversion.verification.ok


def test_journal_never_inside_the_source(bexio: Standin) -> None:
    from migrator.errors import MigratorError

    with pytest.raises(MigratorError, match="may not be the source, lie inside it"):
        run(bexio, DAT / "garage" / "bexio-push.jsonl")
    assert not bexio.log and not (DAT / "garage" / "bexio-push.jsonl").exists()


def test_a_message_of_several_lines_is_shown_line_by_line() -> None:
    from migrator import i18n

    message = ("1 thing(s) the books need are missing in bexio; nothing was posted:\n"
               "  currency EUR: add it in bexio's currency settings")  # fmt: skip
    with i18n.using("de_CH"):
        assert i18n.shown(message) == ("1 Element(e), die die Buchhaltung braucht, fehlen in bexio; nichts wurde "
                                       "übermittelt:\n  Währung EUR: fügen Sie sie in den Währungseinstellungen von "
                                       "bexio hinzu")  # fmt: skip
    assert i18n.shown(message) == message  # English: as made


def test_open_invoice_created_issued_and_read_back(bexio: Standin, tmp_path: Path) -> None:
    """R24-002 becomes one issued bexio invoice of 4324.00 on 9990 for C002, no VAT; it reads back as the
    garage's open item (its offset entry paired away); a second run creates nothing."""
    result = run(bexio, tmp_path / "j.jsonl")
    assert (result.invoices, result.issued, result.invoices_already) == (1, 1, 0)
    (invoice,) = bexio.invoices
    contacts = {c["id"]: c["nr"] for c in bexio.contacts}
    accounts = {a["id"]: a["account_no"] for a in bexio.accounts}
    (position,) = invoice["positions"]
    assert (contacts[invoice["contact_id"]], invoice["api_reference"], invoice["is_valid_from"], invoice["mwst_type"],
            invoice["kb_item_status_id"], accounts[position["account_id"]], str(position["unit_price"])) == (
        "C002", "R24-002", "2024-09-12", 2, 8, "9990", "4324.00")  # fmt: skip
    offset = next(e for e in bexio.entries if e["reference_nr"] == "OP-Übertrag R24-002")
    (line,) = offset["entries"]
    assert (accounts[line["debit_account_id"]], accounts[line["credit_account_id"]], str(line["amount"])) == (
        "9990", "1100", "4324.00")  # fmt: skip
    back = result.conversion.compared
    assert back.open_items.to_pylist() == [{
        "id": "R24-002", "partner": "C002", "kind": "invoice", "date": dt.date(2024, 9, 12),
        "due_date": dt.date(2024, 10, 12), "currency": "", "amount": 432400, "open_amount": 432400,
        "account": "1100", "description": "Facture Carrosserie Weber, réparation"}]  # fmt: skip
    assert not [r for r in back.lines.to_pylist() if r["doc"].startswith("OP-")]
    assert result.conversion.verification is not None and result.conversion.verification.ok
    again = run(bexio, tmp_path / "j.jsonl", resume=True)
    assert (again.invoices, again.issued, again.invoices_already, len(bexio.invoices)) == (0, 0, 1, 1)
    assert [path for method, path, _ in bexio.log if method == "POST" and "kb_invoice" in path] == [
        "/2.0/kb_invoice", f"/2.0/kb_invoice/{invoice['id']}/issue"]  # fmt: skip


def test_crash_between_creating_and_issuing(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The power goes out after the invoice is created (and journaled) but before it is issued: --resume
    issues it, and creates no second invoice. Until then bexio holds a draft, which bexio does not book:
    read back, it is no open item and its offset stays an entry, so the verification fails."""
    issue = bexio_api.Client.issue

    def crashing(self: bexio_api.Client, invoice_id: int, saved: Any = None) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(bexio_api.Client, "issue", crashing)
    journal = tmp_path / "j.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(bexio, journal)
    assert [i["kb_item_status_id"] for i in bexio.invoices] == [7]
    from migrator.readers.bexio import api_ledger

    draft = api_ledger(bexio.entries, bexio.accounts, bexio.taxes, bexio.currencies, base="CHF", step=5, name="x",
                       invoices=bexio.invoices, contact_numbers={c["id"]: c["nr"] for c in bexio.contacts})  # fmt: skip
    assert not draft.open_items.num_rows
    assert any("R24-002 is a draft in bexio" in p.message for p in draft.problems)
    assert [r["amount"] for r in draft.lines.to_pylist() if r["doc"] == "OP-Übertrag R24-002"] == [432400, -432400]
    monkeypatch.setattr(bexio_api.Client, "issue", issue)
    result = run(bexio, journal, resume=True)
    assert (result.invoices, result.invoices_already, result.issued) == (0, 1, 1)
    assert [i["kb_item_status_id"] for i in bexio.invoices] == [8]
    assert result.conversion.verification is not None and result.conversion.verification.ok


def test_crash_after_bexio_saved_the_invoice(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bexio saved the invoice but the journal never heard of it: --resume finds it in bexio's list by its
    fingerprint, records it, issues it, and creates none again."""
    record = Journal.record

    def crashing(self: Journal, key: str, bexio_id: int, what: str) -> None:
        if key.startswith("invoice:"):
            raise KeyboardInterrupt
        record(self, key, bexio_id, what)

    monkeypatch.setattr(Journal, "record", crashing)
    journal = tmp_path / "j.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(bexio, journal)
    monkeypatch.setattr(Journal, "record", record)
    result = run(bexio, journal, resume=True)
    assert (result.invoices, result.invoices_already, result.issued, len(bexio.invoices)) == (0, 1, 1, 1)
    assert "invoice R24-002 (found in bexio)" in journal.read_text("utf-8")
    assert result.conversion.verification is not None and result.conversion.verification.ok


def test_dry_run_lists_the_open_invoices(bexio: Standin, tmp_path: Path) -> None:
    result = run(bexio, tmp_path / "j.jsonl", dry_run=True)
    assert "open invoices: 1" in result.summary
    assert "  R24-002 of 2024-09-12, customer C002: 4324.00" in result.summary
    assert any("supplier bills (F24-202)" in p.message for p in result.conversion.not_carried)
    assert posts(bexio) == 0 and not bexio.invoices


def test_customer_missing_in_bexio_stops(bexio: Standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An open invoice whose customer is neither among the books' partners nor in bexio: nothing is posted."""
    from migrator import push as push_module

    read = push_module._read

    def without_c002(*args: Any) -> Any:
        original, ledger, *rest = read(*args)
        partners = ledger.partners.filter(pc.not_equal(ledger.partners.column("id"), "C002"))
        return (original, ledger.replace(partners=partners), *rest)

    monkeypatch.setattr(push_module, "_read", without_c002)
    with pytest.raises(PushStopped, match="customer C002 \\(open invoice R24-002\\): neither among the partners"):
        run(bexio, tmp_path / "j.jsonl")
    assert posts(bexio) == 0
    bexio.contacts.append({"id": 4242, "nr": "C002", "name_1": "Carrosserie Weber", "contact_type_id": 1})
    result = run(bexio, tmp_path / "j.jsonl")
    assert [i["contact_id"] for i in bexio.invoices] == [4242] and result.issued == 1
