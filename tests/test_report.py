"""The reconciliation report: its numbers against the ledger, its three forms, and its page in Chromium.

Expected figures are added by hand from samples/garage.py (every entry is listed there line by line).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import golden

from migrator import pipeline, registry
from migrator.mapping import apply_mapping, load_mapping
from migrator.pipeline import Conversion
from migrator.reconcile import compare, trial_balance
from migrator.report import report_data, write_report
from migrator.report_html import amount, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)


def mapped_conversion(garage: Any, tmp_path: Path) -> Conversion:
    """The garage through the demo map onto bexio's chart, written as a SQLite archive and read back."""
    mapping = load_mapping("winbiz-bexio")
    written = apply_mapping(garage, mapping)
    out = tmp_path / "garage-bexio.sqlite"
    not_carried = pipeline.write(written, "sqlite", out)
    reread = pipeline.read(out, "sqlite")
    conversion = Conversion(garage, written, "sqlite", out, list(written.problems), not_carried, mapping=mapping)
    conversion.reread = reread
    conversion.verification = compare(written, reread, registry.get("sqlite").keeps, declared=not_carried)
    return conversion


def fixed(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without what changes from run to run (time, temporary paths, output bytes)."""
    data = json.loads(json.dumps(data))
    data["created"] = "2025-01-15T09:30:00+00:00"
    data["timings"] = {}
    for side in ("source", "target"):
        for f in data[side]["files"]:
            f["path"], f["size"], f["sha256"] = Path(f["path"]).name, 12345, "0" * 64
    return data


def by_account(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["account"]: row for row in data["accounts"]}


# -------------------------------------------------------------------------------------------- numbers


def test_report_numbers_for_the_garage(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = samples / "garage" / "journal.csv"
    report = tmp_path / "garage.json"
    result = run_cli("convert", source, "--to", "csv", "-o", tmp_path / "out.csv", "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["verdict"]["ok"] and data["verdict"]["status"] == "balanced and verified"
    assert data["counts"]["before"]["lines"] == data["counts"]["after"]["lines"] == 75
    assert data["counts"]["before"]["entries"] == 23 and data["counts"]["before"]["accounts"] == 19
    accounts = by_account(data)
    # 1000 Caisse: opening 2'500.00, sale 538.50, 2024 opening 3'038.50, sale 864.80.
    assert accounts["1000"]["balance"] == accounts["1000"]["target_balance"] == "6941.80"
    assert accounts["6900"]["balance"] == "45.60"
    assert accounts["2270"]["balance"] == "-1980.00"  # -650.00, -650.00 carried into 2024, -680.00
    assert accounts["1500"]["balance"] == "75000.00"  # 35'000 - 3'500, 31'500 carried, + 12'000
    ledger = trial_balance(pipeline.read(source))
    assert {code: row["balance"] for code, row in accounts.items()} == {
        c: f"{v / 100:.2f}" for c, v in ledger.items()
    }  # float-ok: small exact values
    assert data["totals"]["balance_before"] == data["totals"]["balance_after"] == "0.00"
    assert data["totals"]["before"] == data["totals"]["after"] == data["totals"]["before_credit"]
    classes = {c["class"]: c for c in data["classes"]}
    assert classes["6"]["before"] == classes["6"]["after"] == "7145.60"  # rent 1'800 ×2, depreciation 3'500, fees 45.60
    vat = {r["code"]: r for r in data["vat_rows"]}
    assert vat["V77"]["base"] == "-5050.00"  # 1'200 + 1'500 + 1'000 + 500 + 850
    assert vat["V77"]["vat"] == "-388.85"  # 92.40 + 192.50 + 38.50 + 65.45
    assert vat["V77"]["base_after"] == "-5050.00"
    assert data["months"]["2023-02"] == {"lines": 6, "debit": "3446.40", "lines_after": 6, "debit_after": "3446.40"}
    year = data["years"][0]
    assert (year["start"], year["opening"]) == ("2023-01-01", "110000.00")  # 2'500 + 48'300 + 6'200 + 18'000 + 35'000


def test_report_numbers_for_a_mapped_conversion(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = report_data(mapped_conversion(garage, tmp_path))
    assert data["verdict"]["ok"], data["verdict"]
    assert data["mapping"] == "winbiz-bexio"
    accounts = by_account(data)
    assert (accounts["6800"]["target"], accounts["6800"]["target_balance"]) == ("6920", "3500.00")
    assert (accounts["6900"]["target"], accounts["6900"]["target_balance"]) == ("6800", "45.60")
    assert accounts["6900"]["rule"] == "6900-6949 → 6800 (accounts.csv:9)"
    assert (accounts["2270"]["target"], accounts["2270"]["target_name"]) == ("2271", "Kontokorrent AHV, IV, EO, ALV")
    targets = {row["account"]: row for row in data["target_accounts"]}
    assert targets["6920"]["sources"] == ["6800"] and targets["6920"]["difference"] == "0.00"
    assert all(row["difference"] == "0.00" for row in data["target_accounts"])
    vat = {r["code"]: r for r in data["vat_rows"]}
    # V81 in 2024: 2'000 + 800 + 4'000 base, 162.00 + 64.80 + 324.00 VAT; now bexio's UN81.
    assert vat["V81"] == {"code": "V81", "base": "-6800.00", "vat": "-550.80", "target": "UN81",
                          "base_after": "-6800.00", "vat_after": "-550.80"}  # fmt: skip
    assert data["company"] == "Garage du Lac Sàrl"


def test_a_map_that_loses_money_is_a_difference(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversion = mapped_conversion(garage, tmp_path)
    conversion.reread = conversion.compared = garage  # as if the output still had the source's accounts
    data = report_data(conversion)
    assert not data["verdict"]["ok"]
    assert "target account 6920: sources sum to 3500.00, balance after 0.00" in data["verdict"]["differences"]
    assert "✗ Differences found" in render_html(data)


def test_verify_report_shows_the_differences(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    changed = tmp_path / "changed.csv"
    text = (samples / "garage" / "journal.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace('"6900","45.60"', '"6900","45.70"').replace('"1020","-45.60"', '"1020","-45.70"'),
                       encoding="utf-8")  # fmt: skip
    report = tmp_path / "verify.html"
    result = run_cli("verify", samples / "garage" / "journal.csv", changed, "--report", report)
    assert result.exit_code == 4
    page = report.read_text(encoding="utf-8")
    assert 'class="verdict bad"' in page
    assert (
        "2023-01-01–2023-12-31 account 6900: debit 45.60 before, 45.70 after; closing 45.60 before, 45.70 after" in page
    )
    assert "closing 0.10</span>: not declared" in page  # the per-year table: difference and reason


# ------------------------------------------------------------------------------------------- the forms


def test_three_forms_through_the_cli(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = samples / "garage" / "journal.csv"
    for suffix in ("json", "html", "xlsx"):
        report = tmp_path / f"report.{suffix}"
        result = run_cli("convert", source, "--to", "csv", "-o", tmp_path / "out.csv", "--map", "winbiz-bexio",
                         "--report", report, "--force")  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"report: {report}" in result.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["Summary", "Files", "Accounts", "Target accounts", "Classes", "VAT", "Years",
                               "Years by account", "Months", "Problems", "Not carried"]  # fmt: skip
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Verdict"] == "balanced and verified" and summary["Mapping"] == "winbiz-bexio"
    rows = list(book["Accounts"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(data["accounts"]) + 3
    cash = next(r for r in rows if r[0] == "1000")
    assert cash[2] == Decimal("6941.80") or cash[2] == pytest.approx(
        6941.80
    )  # float-ok: Excel reads numbers back as floats
    assert (cash[4], cash[5]) == ("1000", "Kasse")
    assert book["Accounts"]["C2"].number_format.startswith("#,##0.00")
    assert rows[-1][1] == "net" and rows[-1][2] == 0
    with pytest.raises(Exception, match="use one of"):
        write_report(mapped_conversion_stub(), tmp_path / "report.pdf")


def mapped_conversion_stub() -> Conversion:
    from migrator.model import Ledger

    return Conversion(Ledger(), Ledger(), "csv", Path("nowhere.csv"))


def test_html_is_self_contained(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = render_html(report_data(mapped_conversion(garage, tmp_path)))
    lowered = page.lower()
    for forbidden in ("http://", "https://", "<script", " src=", "url(", "@import", "<link"):
        assert forbidden not in lowered, forbidden
    assert "@page" in page and "counter(pages)" in page and "size: A4" in page
    assert "Prepared by" in page and "Reviewed by" in page
    assert page.count("<svg") == 1


def test_html_golden(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = fixed(report_data(mapped_conversion(garage, tmp_path)))
    golden("report/garage-bexio.html", render_html(data))
    golden("report/garage-bexio.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def test_amounts_use_swiss_grouping() -> None:
    assert amount("-1234567.50") == "-1’234’567.50"
    assert amount("45.60") == "45.60"
    assert amount("") == ""


# ---------------------------------------------------------------------------------------- in Chromium


def chromium(page: Path, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={work / 'profile'}",
        "--enable-logging=stderr", "--v=0", *extra, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_the_page_renders_in_chromium_without_console_errors(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "report.html"
    write_report(mapped_conversion(garage, tmp_path), page)
    shot = tmp_path / "report.png"
    run = chromium(page, tmp_path, "--window-size=900,1400", f"--screenshot={shot}")
    assert shot.is_file(), run.stderr[-2000:]
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 900
    assert shot.stat().st_size > 20_000, "the screenshot is nearly empty"
    assert console_messages(run.stderr) == []
    dom = chromium(page, tmp_path, "--dump-dom").stdout
    assert "Reconciliation report" in dom and "Garage du Lac Sàrl" in dom and "<svg" in dom
    assert "Balanced and verified" in dom
    # The same check catches a page that tries to reach the network (blocked by the page's policy).
    control = tmp_path / "control.html"
    control.write_text(page.read_text(encoding="utf-8").replace("</main>", '<img src="http://example.invalid/x.png"></main>'),
                       encoding="utf-8")  # fmt: skip
    assert console_messages(chromium(control, tmp_path, "--screenshot=" + str(tmp_path / "c.png")).stderr)


def test_report_workbook_stores_exact_decimals(tmp_path: Path) -> None:
    import zipfile

    from openpyxl import Workbook

    from migrator.report_xlsx import _sheet

    book = Workbook()
    _sheet(book, "Check", ["account", "balance"], [["1020", "9834882.54"], ["1000", "-0.10"]], {1}, [10, 14])
    book.save(tmp_path / "check.xlsx")
    with zipfile.ZipFile(tmp_path / "check.xlsx") as archive:
        xml = next(archive.read(n) for n in archive.namelist() if n.endswith("sheet2.xml"))
    assert b"<v>9834882.54</v>" in xml and b"<v>-0.10</v>" in xml


# ------------------------------------------------------------------- per year, verdict, input fingerprint


def test_each_account_per_year_before_and_after(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = report_data(mapped_conversion(garage, tmp_path))
    rows = {(r["start"], r["account"]): r for r in data["year_accounts"]}
    # samples/garage.py: Cash opens 2023 at 2'500.00 and takes 538.50; 2024 opens at 3'038.50 and takes 864.80.
    cash_2023, cash_2024 = rows[("2023-01-01", "1000")], rows[("2024-01-01", "1000")]
    assert (cash_2023["opening"], cash_2023["debit"], cash_2023["credit"], cash_2023["closing"]) == (
        "2500.00", "538.50", "0.00", "3038.50")  # fmt: skip
    assert (cash_2024["opening"], cash_2024["closing"], cash_2024["closing_after"]) == ("3038.50", "3903.30", "3903.30")
    assert cash_2024["closing_difference"] == "0.00" and cash_2024["reason"] == ""
    assert cash_2024["name"] == "Kasse"  # the mapped chart's name
    assert data["verdict"]["state"] == "verified"


def test_declared_losses_give_the_amber_verdict(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversion = mapped_conversion(garage, tmp_path)
    assert conversion.reread is not None
    conversion.reread = conversion.reread.replace(partners=conversion.reread.partners.slice(0, 0))
    declared = [pipeline.Problem("info", "11 partners not carried by this format: left out")]
    conversion.not_carried = declared
    conversion.verification = compare(conversion.written, conversion.reread, ("entries",), declared=declared)
    data = report_data(conversion)
    assert data["verdict"]["state"] == "verified with declared losses" and data["verdict"]["ok"]
    assert data["verdict"]["losses"] == ["partners: 11 before, 0 after (missing: 11, C001, C002, C003, C003-10, "
                                         "C004, C005, S001, S002, S003 …) (declared: 11 partners not carried by "
                                         "this format: left out)"]  # fmt: skip
    page = render_html(data)
    assert 'class="verdict loss"' in page and "declared loss: partners: 11 before, 0 after" in page
    assert page.index("Prepared by") < page.index("<h2>1. Files</h2>")  # the signature block on the first page
    conversion.verification = compare(conversion.written, conversion.reread, ("entries",))
    assert report_data(conversion)["verdict"]["state"] == "failed"


def test_the_input_fingerprint_hashes_the_sorted_names_and_hashes(tmp_path: Path) -> None:
    import dataclasses
    import hashlib

    from migrator.model import Company, Ledger, SourceFile
    from migrator.report import input_fingerprint

    files = (SourceFile("b/ecriture.dbf", "bb" * 32, 10), SourceFile("a/compte.dbf", "aa" * 32, 20))
    ledger = Ledger(company=dataclasses.replace(Company(), source_files=files))
    by_hand = hashlib.sha256(f"a/compte.dbf\t{'aa' * 32}\nb/ecriture.dbf\t{'bb' * 32}\n".encode()).hexdigest()
    assert input_fingerprint(ledger) == by_hand
    swapped = Ledger(company=dataclasses.replace(Company(), source_files=files[::-1]))
    assert input_fingerprint(swapped) == by_hand


def test_workbook_differences_are_formulas(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    conversion = mapped_conversion(garage, tmp_path)
    write_report(conversion, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    sheet = book["Years by account"]
    head = [c.value for c in sheet[1]]
    assert head[:9] == ["year", "account", "name", "opening before", "opening after", "opening difference",
                        "debit before", "debit after", "debit difference"]  # fmt: skip
    cash = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "1000" and "2024" in row[0].value)
    assert cash[5].value == f"=E{cash[0].row}-D{cash[0].row}"  # opening: after − before
    assert cash[14].value == f"=N{cash[0].row}-M{cash[0].row}"  # closing
    assert Decimal(str(cash[12].value)) == Decimal(str(cash[13].value)) == Decimal("3903.30")
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Input set SHA-256"] == report_data(conversion)["input_fingerprint"]
    first = [row[0] for row in book["Summary"].iter_rows(max_row=20, values_only=True)]
    assert "Prepared by (name, date, signature)" in first  # above the differences and counts


def test_the_report_of_a_continuous_target_with_a_map_agrees_with_the_verification(
    samples: Path, tmp_path: Path
) -> None:
    """The report compares the output read back per fiscal year, as verification does: two years written
    to GnuCash through a map are not 'differences found' because the closing entry replaced an opening."""
    result = pipeline.convert(samples / "winbiz" / "DAT", "gnucash", tmp_path / "g.gnucash", dossier="garage",
                              mapping="winbiz-kmu", report=tmp_path / "r.json")  # fmt: skip
    assert result.verification is not None and result.verification.verdict == "verified with declared losses"
    verdict = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"]
    assert (verdict["state"], verdict["differences"]) == ("verified with declared losses", [])
