"""The reconciliation report as one self-contained HTML page, laid out to be printed on A4 and signed.

No script, no font, no image and no link leaves the file: styles are inline, the chart is inline
SVG, fonts are the reader's own. Print CSS (`@page`) numbers the pages and repeats the company.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import Any

from migrator import i18n
from migrator.i18n import N_, _

_IN_F_STRINGS = (
    N_("none"),
    N_("Balance per account class, before and after"),
    N_("before (source)"),
    N_("after (target, read back)"),
    N_("Reconciliation report"),
    N_("declared loss: {loss}"),
    N_("Fiscal years: each account before and after"),
    N_("1. Files"),
    N_("2. Counts"),
    N_("3. Balances by class"),
    N_("4. Accounts: source balance, rule, target"),
    N_("Target accounts: each balance is the exact sum of its sources"),
    N_("differs"),
    N_("5. VAT"),
    N_("6. Fiscal years and months"),
    N_("Fiscal years (sum of debits)"),
    N_("Months"),
    N_("7. Problems found while reading, mapping and checking"),
    N_("8. What the target format could not carry, and what was done"),
)
"""Messages used inside f-strings, marked here for extraction (Babel on Python 3.11 does not look into
f-strings)."""

CLASS_NAMES = {
    "1": N_("Assets"),
    "2": N_("Liabilities and equity"),
    "3": N_("Operating income"),
    "4": N_("Material and goods"),
    "5": N_("Personnel"),
    "6": N_("Other operating expenses"),
    "7": N_("Ancillary results"),
    "8": N_("Non-operating results, taxes"),
    "9": N_("Closing"),
    "other": N_("Other codes"),
}
"""Classes of the Swiss SME chart (KMU/PME), by first digit (English; `class_name` translates)."""


def class_name(code: str) -> str:
    """The name of an account class in the current language."""
    return _(CLASS_NAMES[code]) if code in CLASS_NAMES else ""


def cents(text: str) -> int:
    """Cents of an amount the report wrote with `format_cents` (``-1234.50`` → ``-123450``)."""
    return int(text.replace(".", "")) if text else 0


def amount(text: str) -> str:
    """``-1234.50`` as a person of the current locale reads it (``-1'234.50`` in Switzerland); in plain
    English ``-1’234.50``, the Swiss grouping this report was first written with; empty stays empty."""
    if not text:
        return ""
    if i18n.language() != "en":
        return i18n.money(cents(text))
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, part = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{'’'.join(groups)}.{part}"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _size(n: int) -> str:
    if i18n.language() != "en":
        return _("{size} bytes").format(size=i18n.count(n))
    return f"{n:,} bytes".replace(",", "’")


def _span(start: str, end: str) -> str:
    """A fiscal year's dates, in the current locale's form."""
    if i18n.language() == "en" or not start:
        return f"{start} – {end}"
    return f"{i18n.date(dt.date.fromisoformat(start))} – {i18n.date(dt.date.fromisoformat(end))}"


def _table(head: list[str], rows: list[list[str]], numeric: set[int], foot: list[str] | None = None,
           css: str = "") -> str:  # fmt: skip
    """A table; cells are already escaped HTML; columns in `numeric` are right-aligned figures."""

    def cells(values: list[str], tag: str) -> str:
        return "".join(f"<{tag}{' class=num' if i in numeric else ''}>{v}</{tag}>" for i, v in enumerate(values))

    body = "".join(f"\n<tr>{cells(r, 'td')}</tr>" for r in rows) or (
        f'<tr><td colspan="{len(head)}" class="none">{_e(_("none"))}</td></tr>'
    )
    foot_html = f"<tfoot><tr>{cells(foot, 'td')}</tr></tfoot>" if foot else ""
    return (
        f'\n<table class="{css}"><thead><tr>{cells(head, "th")}</tr></thead><tbody>{body}</tbody>{foot_html}</table>\n'
    )


def _money(text: str) -> str:
    value = _e(amount(text))
    return f'<span class="neg">{value}</span>' if value.startswith("-") else value


def chart_svg(classes: list[dict[str, str]]) -> str:
    """Horizontal bars of the balance per class, before (light) and after (dark), around a zero axis."""
    width, label_w, value_w, row_h = 640, 190, 110, 34
    half = (width - label_w - value_w) // 2
    axis = label_w + half
    biggest = max([abs(cents(c[k])) for c in classes for k in ("before", "after")] + [1])
    height = row_h * len(classes) + 30
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_e(_("Balance per account class, before and after"))}">',
        f'<line x1="{axis}" y1="4" x2="{axis}" y2="{height - 26}" class="axis"/>',
    ]
    for i, row in enumerate(classes):
        top = 6 + i * row_h
        label = f"{row['class']} {class_name(row['class'])}".strip()
        parts.append(f'<text x="0" y="{top + 19}" class="label">{_e(label)}</text>')
        for j, key in enumerate(("before", "after")):
            value = cents(row[key])
            length = abs(value) * half // biggest
            x = axis if value >= 0 else axis - length
            y = top + j * 13
            parts.append(f'<rect x="{x}" y="{y}" width="{max(length, 1)}" height="11" class="bar {key}"/>')
            parts.append(f'<text x="{width}" y="{y + 9}" class="value">{_e(amount(row[key]))}</text>')
    legend = height - 10
    parts.append(f'<rect x="{label_w}" y="{legend - 9}" width="10" height="10" class="bar before"/>')
    parts.append(f'<text x="{label_w + 14}" y="{legend}" class="legend">{_e(_("before (source)"))}</text>')
    parts.append(f'<rect x="{label_w + 130}" y="{legend - 9}" width="10" height="10" class="bar after"/>')
    parts.append(f'<text x="{label_w + 144}" y="{legend}" class="legend">{_e(_("after (target, read back)"))}</text>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """
@page { size: A4; margin: 20mm 15mm 20mm 15mm;
  @top-left { content: "%(company)s"; font: 8pt system-ui, sans-serif; color: #555; }
  @top-right { content: "Reconciliation report"; font: 8pt system-ui, sans-serif; color: #555; }
  @bottom-left { content: "migrator %(version)s · %(created)s"; font: 8pt system-ui, sans-serif; color: #555; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt system-ui, sans-serif; color: #555; }
}
:root { --ink: #1b2430; --muted: #5b6573; --rule: #c9d0d8; --ok: #1e6b3a; --bad: #a4161a; --before: #9fb3c8; --after: #1f3a5f; }
* { box-sizing: border-box; }
html { background: #e8ebef; }
body { font: 9.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); margin: 0; }
.page { background: #fff; max-width: 210mm; margin: 12mm auto; padding: 16mm 15mm; box-shadow: 0 1px 6px rgba(0,0,0,.15); }
header.doc { border-bottom: 2px solid var(--ink); padding-bottom: 4mm; margin-bottom: 5mm; display: flex;
  justify-content: space-between; gap: 8mm; }
header.doc h1 { font-size: 17pt; margin: 0 0 1mm; letter-spacing: .01em; }
header.doc .company { font-size: 11pt; font-weight: 600; }
header.doc .muted, .muted { color: var(--muted); }
dl.meta { display: grid; grid-template-columns: auto auto; gap: 0 4mm; margin: 0; font-size: 8.5pt; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; font-weight: 500; }
.verdict { border: 2px solid; border-radius: 2mm; padding: 3mm 4mm; margin: 0 0 6mm; break-inside: avoid; }
.verdict.ok { border-color: var(--ok); background: #eef7f0; } .verdict.bad { border-color: var(--bad); background: #fbeeee; }
.verdict .status { font-size: 14pt; font-weight: 700; }
.verdict.ok .status { color: var(--ok); } .verdict.bad .status { color: var(--bad); }
.verdict.loss { border-color: #8a5a00; background: #fdf6e3; } .verdict.loss .status { color: #8a5a00; }
.verdict .fingerprint { margin-top: 1.5mm; font-size: 8pt; }
table.years { font-size: 6.8pt; table-layout: auto; } table.years th, table.years td { padding: .6mm .7mm; }
table.years th { white-space: nowrap; }
.verdict ul { margin: 1.5mm 0 0; padding-left: 5mm; }
h2 { font-size: 11.5pt; margin: 7mm 0 2mm; padding-bottom: 1mm; border-bottom: 1px solid var(--rule); break-after: avoid; }
h3 { font-size: 10pt; margin: 4mm 0 1.5mm; break-after: avoid; }
table { width: 100%%; border-collapse: collapse; font-size: 8.5pt; margin-bottom: 2mm; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--ink); padding: 1mm 1.5mm; }
td { padding: .8mm 1.5mm; border-bottom: 1px solid #eef0f3; vertical-align: top; }
tr { break-inside: avoid; }
table.accounts td:nth-child(4) { font-size: 7.5pt; color: var(--muted); }
tfoot td { font-weight: 700; border-top: 1px solid var(--ink); border-bottom: 3px double var(--ink); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.neg { color: #7a1d1d; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 7.5pt; word-break: break-all; }
.none { color: var(--muted); font-style: italic; }
.diff { color: var(--bad); font-weight: 700; }
.sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: #8a5a00; } .sev-info { color: var(--muted); }
figure { margin: 2mm 0 3mm; break-inside: avoid; }
svg .axis { stroke: var(--ink); stroke-width: 1; } svg .label, svg .legend { font-size: 11px; fill: var(--ink); }
svg .value { font-size: 10px; fill: var(--muted); text-anchor: end; font-variant-numeric: tabular-nums; }
svg .bar.before { fill: var(--before); } svg .bar.after { fill: var(--after); }
.signatures { display: grid; grid-template-columns: 1fr 1fr; gap: 12mm; margin-top: 12mm; break-inside: avoid; }
.signatures .box { border-top: 1px solid var(--ink); padding-top: 1.5mm; font-size: 8.5pt; }
.signatures .line { margin-top: 9mm; border-top: 1px dotted var(--muted); padding-top: 1mm; color: var(--muted); }
@media print {
  html { background: #fff; }
  .page { box-shadow: none; margin: 0; padding: 0; max-width: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _css_string(text: str) -> str:
    """`text` for inside a double-quoted CSS string in a `<style>` element: every character but ASCII
    letters, digits, space and ``.,:-_`` becomes a six-digit CSS escape and a space (``<`` is
    ``\\00003c ``), so no quote, backslash, ``<`` or line break can end the string, rule or element."""
    return "".join(c if c.isascii() and (c.isalnum() or c in " .,:-_") else f"\\{ord(c):06x} " for c in text)


def _header(data: dict[str, Any]) -> str:
    details = data.get("company_details", {})
    company = details.get("name") or data.get("company") or _("(company not named in the source)")
    lines = [f'<div class="company">{_e(company)}</div>']
    for key in ("address", "vat_number"):
        if details.get(key):
            lines.append(f'<div class="muted">{_e(details[key])}</div>')
    meta = [
        (
            _("Source"),
            f"{data['source']['format']}" + (f" ({data['source']['encoding']})" if data["source"]["encoding"] else ""),
        ),
        (_("Target"), data["target"]["format"]),
        (_("Mapping"), data.get("mapping") or _("none (accounts kept)")),
        (_("Currency"), details.get("base_currency", "")),
        (_("Created"), _created(data["created"])),
        ("migrator", data["migrator"]),
    ]
    meta_html = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
    return (
        f'<header class="doc"><div><h1>{_e(_("Reconciliation report"))}</h1>{"".join(lines)}</div>'
        f'<dl class="meta">{meta_html}</dl></header>'
    )


def _created(stamp: str) -> str:
    """When the report was made: ``2024-03-01 10:15 UTC``, the date in the locale's form."""
    text = stamp.replace("T", " ").replace("+00:00", " UTC")
    if i18n.language() == "en" or len(stamp) < 10:
        return text
    return i18n.date(dt.date.fromisoformat(stamp[:10])) + text[10:]


def _verdict(data: dict[str, Any]) -> str:
    v = data["verdict"]
    losses = v.get("losses", [])
    css = ("loss" if losses else "ok") if v["ok"] else "bad"
    mark = ("!" if losses else "✓") if v["ok"] else "✗"
    shown = i18n.shown(v["status"])
    status = shown[:1].upper() + shown[1:]
    counts = data["counts"]["after"]
    summary = _("{entries} entries, {lines} lines on {accounts} accounts; debits {debits} = credits {credits}").format(
        entries=_number(counts["entries"]), lines=_number(counts["lines"]), accounts=_number(counts["accounts"]),
        debits=amount(data["totals"]["after"]), credits=amount(data["totals"]["after_credit"]))  # fmt: skip
    items = "".join(f"<li>{_e(i18n.shown(d))}</li>" for d in v["differences"])
    items += "".join(f"<li>{_e(d)}</li>" for d in v.get("entries", []))
    items += "".join(f"<li>{_e(_('declared loss: {loss}').format(loss=i18n.shown(d)))}</li>" for d in losses)
    notes = "".join(f"<li class=muted>{_e(i18n.shown(n))}</li>" for n in v["notes"])
    listing = f"<ul>{items}{notes}</ul>" if items or notes else ""
    fingerprint = ""
    if data.get("input_fingerprint"):
        label = _("Input set SHA-256 (over the sorted names and SHA-256 of the source files):")
        fingerprint = (f'<div class="fingerprint">{_e(label)} <span class="mono">{_e(data["input_fingerprint"])}'
                       "</span></div>")  # fmt: skip
    return (f'<section class="verdict {css}"><div class="status">{mark} {_e(status)}</div><div>{_e(summary)}</div>'
            f"{listing}{fingerprint}</section>")  # fmt: skip


YEAR_COLUMNS = (N_("opening"), N_("debit"), N_("credit"), N_("closing"))


def _year_accounts(data: dict[str, Any]) -> str:
    """Per fiscal year, each account's opening, debit, credit and closing before and after."""
    html = f"<h2>{_e(_('Fiscal years: each account before and after'))}</h2>"
    by_year: dict[str, list[dict[str, Any]]] = {}
    for row in data.get("year_accounts", []):
        by_year.setdefault(_span(row["start"], row["end"]) if row["start"] else _("outside the fiscal years"),
                           []).append(row)  # fmt: skip
    head = [_e(_("account")), _e(_("name"))]
    for column in YEAR_COLUMNS:
        head += [_e(_(column)), _e(_("after"))]
    head.append(_e(_("difference: reason")))
    numeric = set(range(2, 10))
    for label, rows in by_year.items():
        body = []
        for r in rows:
            cells = [_e(r["account"]), _e(r["name"])]
            differs = []
            for column in YEAR_COLUMNS:
                after = r[f"{column}_after"]
                changed = bool(after) and cents(r[f"{column}_difference"]) != 0
                cells += [
                    _money(r[column]),
                    f'<span class="diff">{_e(amount(after))}</span>' if changed else _money(after),
                ]
                if changed:
                    differs.append(f"{_(column)} {amount(r[column + '_difference'])}")
            reason = (f'<span class="diff">{_e("; ".join(differs))}</span>: {_e(i18n.shown(r["reason"]))}'
                      if differs else "")  # fmt: skip
            cells.append(reason)
            body.append(cells)
        html += f"<h3>{_e(label)}</h3>" + _table(head, body, numeric, css="years")
    return html


def _h(text: str) -> str:
    return _e(_(text))


def _number(n: int) -> str:
    return str(n) if i18n.language() == "en" else i18n.count(n)


def _files(data: dict[str, Any]) -> str:
    rows = [[_h("source"), _e(f["path"]), _e(_size(f["size"])), f'<span class="mono">{_e(f["sha256"])}</span>']
            for f in data["source"]["files"]]  # fmt: skip
    rows += [[_h("target"), _e(f["path"]), _e(_size(f["size"])), f'<span class="mono">{_e(f["sha256"])}</span>']
             for f in data["target"]["files"]]  # fmt: skip
    return f"<h2>{_h('1. Files')}</h2>" + _table(["", _h("file"), _h("size"), "SHA-256"], rows, {2})


COUNT_NAMES = {"accounts": N_("accounts"), "entries": N_("entries"), "lines": N_("lines"), "partners": N_("partners"),
               "open_items": N_("open items"), "items": N_("items"), "documents": N_("documents"),
               "document_lines": N_("document lines"), "vat_codes": N_("vat codes")}  # fmt: skip


def _counts(data: dict[str, Any]) -> str:
    before, after = data["counts"]["before"], data["counts"]["after"]
    rows = []
    for key in before:
        a, b = before[key], after.get(key, 0)
        change = "" if a == b else f'<span class="diff">{b - a:+d}</span>'
        name = _(COUNT_NAMES[key]) if key in COUNT_NAMES else key.replace("_", " ")
        rows.append([_e(name), _number(a), _number(b), change])
    return f"<h2>{_h('2. Counts')}</h2>" + _table(["", _h("before"), _h("after"), _h("change")], rows, {1, 2, 3})


def _classes(data: dict[str, Any]) -> str:
    rows = [[_e(f"{c['class']} {class_name(c['class'])}"), _money(c["before"]), _money(c["after"])]
            for c in data["classes"]]  # fmt: skip
    return f"<h2>{_h('3. Balances by class')}</h2><figure>{chart_svg(data['classes'])}</figure>" + _table(
        [_h("class"), _h("before"), _h("after")], rows, {1, 2}
    )


def _accounts(data: dict[str, Any]) -> str:
    rows = []
    for a in data["accounts"]:
        rows.append([_e(a["account"]), _e(a["name"]), _money(a["balance"]), _e(a["rule"] or _("kept")),
                     _e(a["target"]), _e(a["target_name"]), _money(a["target_balance"])])  # fmt: skip
    t = data["totals"]
    foot = ["", _h("debit balances"), _money(t["before"]), "", "", _h("debit balances"), _money(t["after"])]
    html = f"<h2>{_h('4. Accounts: source balance, rule, target')}</h2>"
    html += _table([_h("account"), _h("name"), _h("balance"), _h("rule"), _h("target"), _h("target name"),
                    _h("target balance")], rows, {2, 6}, foot, "accounts")  # fmt: skip
    html += _table(
        ["", _h("before"), _h("after")],
        [[_h("sum of debit balances"), _money(t["before"]), _money(t["after"])],
         [_h("sum of credit balances"), _money(t["before_credit"]), _money(t["after_credit"])],
         [_h("net (must be zero)"), _money(t["balance_before"]), _money(t["balance_after"])]],
        {1, 2},
    )  # fmt: skip
    if data.get("mapping"):
        rows = []
        for a in data["target_accounts"]:
            diff = a["difference"]
            rows.append([_e(a["account"]), _e(a["name"]), _e(", ".join(a["sources"])), _money(a["expected"]),
                         _money(a["balance"]), f'<span class="diff">{amount(diff)}</span>' if cents(diff) else amount("0.00")])  # fmt: skip
        html += f"<h3>{_h('Target accounts: each balance is the exact sum of its sources')}</h3>"
        html += _table([_h("target"), _h("name"), _h("from"), _h("sum of sources"), _h("balance after"),
                        _h("difference")], rows, {3, 4, 5})  # fmt: skip
    return html


def _vat(data: dict[str, Any]) -> str:
    rows = []
    for r in data["vat_rows"]:
        same = r["base"] == r["base_after"] and r["vat"] == r["vat_after"]
        flag = "" if same else f'<span class="diff">{_h("differs")}</span>'
        rows.append([_e(r["code"]), _money(r["base"]), _money(r["vat"]), _e(r["target"]), _money(r["base_after"]),
                     _money(r["vat_after"]), flag])  # fmt: skip
    head = [_h("code"), _h("base before"), _h("VAT before"), _h("code after"), _h("base after"), _h("VAT after"), ""]
    return f"<h2>{_h('5. VAT')}</h2>" + _table(head, rows, {1, 2, 4, 5})


def _periods(data: dict[str, Any]) -> str:
    years = [[_e(_span(y["start"], y["end"])), _money(y["opening"]), _money(y["opening_after"]),
              _money(y["movements"]), _money(y["movements_after"])] for y in data["years"]]  # fmt: skip
    months = []
    for month, t in data["months"].items():
        flag = (
            ""
            if (t["lines"], t["debit"]) == (t["lines_after"], t["debit_after"])
            else f'<span class="diff">{_h("differs")}</span>'
        )
        months.append([_e(month), _number(t["lines"]), _money(t["debit"]), _number(t["lines_after"]),
                       _money(t["debit_after"]), flag])  # fmt: skip
    return (
        f"<h2>{_h('6. Fiscal years and months')}</h2><h3>{_h('Fiscal years (sum of debits)')}</h3>"
        + _table(
            [_h("year"), _h("opening before"), _h("opening after"), _h("movements before"), _h("movements after")],
            years,
            {1, 2, 3, 4},
        )
        + f"<h3>{_h('Months')}</h3>"
        + _table(
            [_h("month"), _h("lines before"), _h("debits before"), _h("lines after"), _h("debits after"), ""],
            months,
            {1, 2, 3, 4},
        )
    )


def _problems(data: dict[str, Any]) -> str:
    def rows(items: list[dict[str, Any]]) -> list[list[str]]:
        severity = i18n.SEVERITIES
        return [[f'<span class="sev-{_e(p["severity"])}">{_e(_(severity.get(p["severity"], p["severity"])))}</span>',
                 _e(p["file"]), "" if p["row"] is None else str(p["row"]), _e(i18n.shown(p["message"]))]
                for p in items]  # fmt: skip

    head = ["", _h("file"), _h("row"), _h("message")]
    return (
        f"<h2>{_h('7. Problems found while reading, mapping and checking')}</h2>"
        + _table(head, rows(data["problems"]), {2})
        + f"<h2>{_h('8. What the target format could not carry, and what was done')}</h2>"
        + _table(head, rows(data["not_carried"]), {2})
    )


def _signatures() -> str:
    lines = "".join(f'<div class="line">{_h(word)}</div>' for word in (N_("Name"), N_("Date"), N_("Signature")))
    boxes = "".join(f'<div class="box"><strong>{_h(who)}</strong>{lines}</div>'
                    for who in (N_("Prepared by"), N_("Reviewed by")))  # fmt: skip
    return f'<section class="signatures">{boxes}</section>'


def render_html(data: dict[str, Any]) -> str:
    """The report page for `data` (as `report.report_data` makes it)."""
    company = data.get("company") or "migrator"
    css = CSS % {
        "company": _css_string(company),
        "version": _css_string(data["migrator"]),
        "created": _css_string(data["created"][:10]),
    }
    body = "\n".join(
        (_header(data), _verdict(data), _signatures(), _files(data), _counts(data), _classes(data), _accounts(data),
         _year_accounts(data), _vat(data), _periods(data), _problems(data))
    )  # fmt: skip
    title = _("Reconciliation report — {company}").format(company=company)
    lang = i18n.language().split("_")[0]
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{css}</style></head>"
        f'<body><main class="page">{body}</main></body></html>\n'
    )


def write_html(data: dict[str, Any], path: Path) -> None:
    path.write_text(render_html(data), encoding="utf-8")
