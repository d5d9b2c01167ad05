"""The reconciliation report as an Excel workbook: one sheet per part, amounts as exact numbers.

Amounts are number cells whose stored text is the exact decimal (openpyxl would print a `Decimal`
through a float: 9834882.54 becomes 9834882.539999999), with a two-decimal number format; free text goes through `inert` so no cell can run as a formula.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from migrator.report_html import CLASS_NAMES
from migrator.writers.base import inert

MONEY = "#,##0.00;[Red]-#,##0.00"
BOLD = Font(bold=True)


def _money(text: str) -> Decimal | None:
    """Placeholder value; `_exact` then stores the decimal text itself in the cell."""
    return Decimal(text) if text else None


def _exact(cell: Any) -> None:
    if isinstance(cell.value, Decimal):
        text = format(cell.value, "f")
        cell.value = text
        cell.data_type = "n"


def _text(value: Any) -> Any:
    return inert(value) if isinstance(value, str) else value


def _sheet(book: Workbook, title: str, head: list[str], rows: list[list[Any]], money: set[int],
           widths: list[int]) -> Worksheet:  # fmt: skip
    sheet = book.create_sheet(title)
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = BOLD
        cell.fill = PatternFill("solid", fgColor="DDE3EA")
    for row in rows:
        sheet.append([_money(v) if i in money else _text(v) for i, v in enumerate(row)])
    for column in money:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = MONEY
            _exact(cell)
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddFooter.right.text = "Page &P of &N"
    sheet.oddHeader.left.text = "Reconciliation report"
    return sheet


def _summary(book: Workbook, data: dict[str, Any]) -> None:
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    verdict = data["verdict"]
    details = data.get("company_details", {})
    rows: list[list[Any]] = [
        ["Reconciliation report"],
        ["Company", details.get("name") or data["company"]],
        ["Address", details.get("address", "")],
        ["VAT number", details.get("vat_number", "")],
        ["Verdict", verdict["status"]],
        ["Source format", data["source"]["format"]],
        ["Target format", data["target"]["format"]],
        ["Mapping", data.get("mapping") or "none (accounts kept)"],
        ["Created", data["created"]],
        ["migrator", data["migrator"]],
        ["Input set SHA-256", data.get("input_fingerprint", "")],
        [],
        ["Prepared by (name, date, signature)"],
        [],
        ["Reviewed by (name, date, signature)"],
        [],
    ]
    rows += [["Difference", d] for d in verdict["differences"]]
    rows += [["Entry", d] for d in verdict.get("entries", [])]
    rows += [["Declared loss", d] for d in verdict.get("losses", [])]
    rows += [["Note", n] for n in verdict["notes"]]
    rows += [[], ["Count", "before", "after"]]
    rows += [[k.replace("_", " "), v, data["counts"]["after"].get(k, 0)] for k, v in data["counts"]["before"].items()]
    for row in rows:
        sheet.append([_text(v) for v in row])
    sheet["A1"].font = Font(bold=True, size=14)
    colour = ("8A5A00" if verdict.get("losses") else "1E6B3A") if verdict["ok"] else "A4161A"
    sheet["B5"].font = Font(bold=True, color=colour)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 60
    sheet.column_dimensions["C"].width = 14
    for (cell,) in sheet.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")


YEAR_COLUMNS = ("opening", "debit", "credit", "closing")


def _year_accounts(book: Workbook, data: dict[str, Any]) -> None:
    """Per fiscal year and account: before, after and the difference as a formula (after − before)."""
    head = ["year", "account", "name"]
    for column in YEAR_COLUMNS:
        head += [f"{column} before", f"{column} after", f"{column} difference"]
    head.append("reason")
    rows = []
    for r in data.get("year_accounts", []):
        row: list[Any] = [f"{r['start']} – {r['end']}" if r["start"] else "outside the fiscal years", r["account"],
                          r["name"]]  # fmt: skip
        for column in YEAR_COLUMNS:
            row += [r[column], r[f"{column}_after"], ""]
        row.append(r["reason"])
        rows.append(row)
    money = {3 + 3 * i + j for i in range(len(YEAR_COLUMNS)) for j in (0, 1)}
    sheet = _sheet(book, "Years by account", head, rows, money, [24, 10, 30] + [14] * 12 + [60])
    differs = PatternFill("solid", fgColor="FBEEEE")
    for number, r in enumerate(data.get("year_accounts", []), start=2):
        for i, column in enumerate(YEAR_COLUMNS):
            if not r[f"{column}_after"]:
                continue
            before, after = (sheet.cell(number, 4 + 3 * i + j).coordinate for j in (0, 1))
            cell = sheet.cell(number, 6 + 3 * i)
            cell.value = f"={after}-{before}"  # the accountant can follow it: after − before
            cell.number_format = MONEY
            if r[f"{column}_difference"] not in ("0.00", ""):
                cell.fill = differs


def render_xlsx(data: dict[str, Any]) -> Workbook:
    """The workbook for `data` (as `report.report_data` makes it)."""
    book = Workbook()
    _summary(book, data)
    files = [["source", f["path"], f["size"], f["sha256"]] for f in data["source"]["files"]]
    files += [["target", f["path"], f["size"], f["sha256"]] for f in data["target"]["files"]]
    _sheet(book, "Files", ["", "file", "bytes", "SHA-256"], files, set(), [8, 50, 12, 70])
    accounts = [[a["account"], a["name"], a["balance"], a["rule"], a["target"], a["target_name"], a["target_balance"]]
                for a in data["accounts"]]  # fmt: skip
    t = data["totals"]
    accounts += [["", "sum of debit balances", t["before"], "", "", "", t["after"]],
                 ["", "sum of credit balances", t["before_credit"], "", "", "", t["after_credit"]],
                 ["", "net", t["balance_before"], "", "", "", t["balance_after"]]]  # fmt: skip
    sheet = _sheet(book, "Accounts", ["account", "name", "balance", "rule", "target", "target name", "target balance"],
                   accounts, {2, 6}, [10, 36, 16, 40, 10, 36, 16])  # fmt: skip
    for row in sheet.iter_rows(min_row=sheet.max_row - 2):
        for cell in row:
            cell.font = BOLD
    targets = [[a["account"], a["name"], ", ".join(a["sources"]), a["expected"], a["balance"], a["difference"]]
               for a in data["target_accounts"]]  # fmt: skip
    _sheet(book, "Target accounts", ["account", "name", "from", "sum of sources", "balance after", "difference"],
           targets, {3, 4, 5}, [10, 36, 24, 16, 16, 14])  # fmt: skip
    classes = [[c["class"], CLASS_NAMES.get(c["class"], ""), c["before"], c["after"]] for c in data["classes"]]
    _sheet(book, "Classes", ["class", "", "before", "after"], classes, {2, 3}, [8, 30, 16, 16])
    vat = [[r["code"], r["base"], r["vat"], r["target"], r["base_after"], r["vat_after"]] for r in data["vat_rows"]]
    _sheet(book, "VAT", ["code", "base before", "VAT before", "code after", "base after", "VAT after"], vat,
           {1, 2, 4, 5}, [10, 16, 16, 10, 16, 16])  # fmt: skip
    years = [[f"{y['start']} – {y['end']}", y["opening"], y["opening_after"], y["movements"], y["movements_after"]]
             for y in data["years"]]  # fmt: skip
    _sheet(book, "Years", ["year", "opening before", "opening after", "movements before", "movements after"], years,
           {1, 2, 3, 4}, [26, 16, 16, 16, 16])  # fmt: skip
    _year_accounts(book, data)
    months = [[m, t["lines"], t["debit"], t["lines_after"], t["debit_after"]] for m, t in data["months"].items()]
    _sheet(book, "Months", ["month", "lines before", "debits before", "lines after", "debits after"], months, {2, 4},
           [10, 12, 16, 12, 16])  # fmt: skip
    problems = [[p["severity"], p["file"], p["row"], p["message"]] for p in data["problems"]]
    _sheet(book, "Problems", ["severity", "file", "row", "message"], problems, set(), [10, 30, 8, 100])
    lost = [[p["severity"], p["file"], p["row"], p["message"]] for p in data["not_carried"]]
    _sheet(book, "Not carried", ["severity", "file", "row", "message"], lost, set(), [10, 30, 8, 100])
    return book


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    render_xlsx(data).save(path)
