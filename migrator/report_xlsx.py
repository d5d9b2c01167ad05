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

from migrator import i18n
from migrator.i18n import N_, _
from migrator.report_html import COUNT_NAMES, class_name
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
    sheet = book.create_sheet(_(title)[:31])
    sheet.append([_(h) if h else h for h in head])
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
    sheet.oddFooter.right.text = _("Page &P of &N")
    sheet.oddHeader.left.text = _("Reconciliation report")
    return sheet


def _summary(book: Workbook, data: dict[str, Any]) -> None:
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Summary")[:31]
    verdict = data["verdict"]
    details = data.get("company_details", {})
    rows: list[list[Any]] = [
        [_("Reconciliation report")],
        [_("Company"), details.get("name") or data["company"]],
        [_("Address"), details.get("address", "")],
        [_("VAT number"), details.get("vat_number", "")],
        [_("Verdict"), i18n.shown(verdict["status"])],
        [_("Source format"), data["source"]["format"]],
        [_("Target format"), data["target"]["format"]],
        [_("Mapping"), data.get("mapping") or _("none (accounts kept)")],
        [_("Created"), data["created"]],
        ["migrator", data["migrator"]],
        [_("Input set SHA-256"), data.get("input_fingerprint", "")],
        [],
        [_("Prepared by (name, date, signature)")],
        [],
        [_("Reviewed by (name, date, signature)")],
        [],
    ]
    rows += [[_("Difference"), i18n.shown(d)] for d in verdict["differences"]]
    rows += [[_("Entry"), d] for d in verdict.get("entries", [])]
    rows += [[_("Declared loss"), i18n.shown(d)] for d in verdict.get("losses", [])]
    rows += [[_("Note"), i18n.shown(n)] for n in verdict["notes"]]
    rows += [[], [_("Count"), _("before"), _("after")]]
    rows += [[_(COUNT_NAMES[k]) if k in COUNT_NAMES else k.replace("_", " "), v, data["counts"]["after"].get(k, 0)]
             for k, v in data["counts"]["before"].items()]  # fmt: skip
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
YEAR_HEADS = {
    "opening": (N_("opening before"), N_("opening after"), N_("opening difference")),
    "debit": (N_("debit before"), N_("debit after"), N_("debit difference")),
    "credit": (N_("credit before"), N_("credit after"), N_("credit difference")),
    "closing": (N_("closing before"), N_("closing after"), N_("closing difference")),
}


def _year_accounts(book: Workbook, data: dict[str, Any]) -> None:
    """Per fiscal year and account: before, after and the difference as a formula (after − before)."""
    head = [N_("year"), N_("account"), N_("name")]
    for column in YEAR_COLUMNS:
        head += list(YEAR_HEADS[column])
    head.append(N_("reason"))
    rows = []
    for r in data.get("year_accounts", []):
        row: list[Any] = [f"{r['start']} – {r['end']}" if r["start"] else _("outside the fiscal years"), r["account"],
                          r["name"]]  # fmt: skip
        for column in YEAR_COLUMNS:
            row += [r[column], r[f"{column}_after"], ""]
        row.append(i18n.shown(r["reason"]))
        rows.append(row)
    money = {3 + 3 * i + j for i in range(len(YEAR_COLUMNS)) for j in (0, 1)}
    sheet = _sheet(book, N_("Years by account"), head, rows, money, [24, 10, 30] + [14] * 12 + [60])
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
    files = [[_("source"), f["path"], f["size"], f["sha256"]] for f in data["source"]["files"]]
    files += [[_("target"), f["path"], f["size"], f["sha256"]] for f in data["target"]["files"]]
    _sheet(book, N_("Files"), ["", N_("file"), N_("bytes"), "SHA-256"], files, set(), [8, 50, 12, 70])
    accounts = [[a["account"], a["name"], a["balance"], a["rule"], a["target"], a["target_name"], a["target_balance"]]
                for a in data["accounts"]]  # fmt: skip
    t = data["totals"]
    accounts += [["", _("sum of debit balances"), t["before"], "", "", "", t["after"]],
                 ["", _("sum of credit balances"), t["before_credit"], "", "", "", t["after_credit"]],
                 ["", _("net"), t["balance_before"], "", "", "", t["balance_after"]]]  # fmt: skip
    sheet = _sheet(book, N_("Accounts"), [N_("account"), N_("name"), N_("balance"), N_("rule"), N_("target"),
                                          N_("target name"), N_("target balance")],
                   accounts, {2, 6}, [10, 36, 16, 40, 10, 36, 16])  # fmt: skip
    for row in sheet.iter_rows(min_row=sheet.max_row - 2):
        for cell in row:
            cell.font = BOLD
    targets = [[a["account"], a["name"], ", ".join(a["sources"]), a["expected"], a["balance"], a["difference"]]
               for a in data["target_accounts"]]  # fmt: skip
    _sheet(book, N_("Target accounts"), [N_("account"), N_("name"), N_("from"), N_("sum of sources"),
                                         N_("balance after"), N_("difference")],
           targets, {3, 4, 5}, [10, 36, 24, 16, 16, 14])  # fmt: skip
    classes = [[c["class"], class_name(c["class"]), c["before"], c["after"]] for c in data["classes"]]
    _sheet(book, N_("Classes"), [N_("class"), "", N_("before"), N_("after")], classes, {2, 3}, [8, 30, 16, 16])
    vat = [[r["code"], r["base"], r["vat"], r["target"], r["base_after"], r["vat_after"]] for r in data["vat_rows"]]
    _sheet(book, N_("VAT"), [N_("code"), N_("base before"), N_("VAT before"), N_("code after"), N_("base after"),
                             N_("VAT after")], vat,
           {1, 2, 4, 5}, [10, 16, 16, 10, 16, 16])  # fmt: skip
    years = [[f"{y['start']} – {y['end']}", y["opening"], y["opening_after"], y["movements"], y["movements_after"]]
             for y in data["years"]]  # fmt: skip
    _sheet(book, N_("Years"), [N_("year"), N_("opening before"), N_("opening after"), N_("movements before"),
                               N_("movements after")], years,
           {1, 2, 3, 4}, [26, 16, 16, 16, 16])  # fmt: skip
    _year_accounts(book, data)
    months = [[m, t["lines"], t["debit"], t["lines_after"], t["debit_after"]] for m, t in data["months"].items()]
    _sheet(book, N_("Months"), [N_("month"), N_("lines before"), N_("debits before"), N_("lines after"),
                                N_("debits after")], months, {2, 4},
           [10, 12, 16, 12, 16])  # fmt: skip
    severity = i18n.SEVERITIES
    problems = [[_(severity.get(p["severity"], p["severity"])), p["file"], p["row"], i18n.shown(p["message"])]
                for p in data["problems"]]  # fmt: skip
    head = [N_("severity"), N_("file"), N_("row"), N_("message")]
    _sheet(book, N_("Problems"), head, problems, set(), [10, 30, 8, 100])
    lost = [[_(severity.get(p["severity"], p["severity"])), p["file"], p["row"], i18n.shown(p["message"])]
            for p in data["not_carried"]]  # fmt: skip
    _sheet(book, N_("Not carried"), head, lost, set(), [10, 30, 8, 100])
    return book


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    render_xlsx(data).save(path)
