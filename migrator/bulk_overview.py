"""The overview of a bulk run, for the fiduciary to check and sign: HTML and xlsx, one row per client,
then the entries of ROOT that were not taken as clients, with the reason. Every value that reaches the
HTML is escaped for where it goes (text, attribute, or link)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

_STYLE = """
@page { size: A4 landscape; margin: 14mm; }
body { font: 10pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 270mm; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; }
.verdict { padding: 3mm 4mm; border-radius: 2mm; font-weight: bold; margin: 4mm 0; }
.ok { background: #e6f4ea; border: 1px solid #2e7d32; } .bad { background: #fdecea; border: 1px solid #c62828; }
.warn { background: #fff8e1; border: 1px solid #f9a825; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.path { word-break: break-all; font-size: 8.5pt; min-width: 35mm; }
tr.failed td, tr.problems td { background: #fff4f2; }
.sign { margin-top: 12mm; display: flex; gap: 20mm; } .sign div { border-top: 1px solid #333; width: 70mm; padding-top: 1mm; }
"""

_DONE = ("ok", "unchanged")


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def _link(relative: str, label: str) -> str:
    """A link to a file inside OUTDIR: the path quoted as a URL, then escaped as an attribute."""
    return f'<a href="{html.escape(quote(relative), quote=True)}">{html.escape(label)}</a>'


def _verdict(data: dict[str, Any]) -> tuple[str, str]:
    skipped = len(data.get("skipped") or [])
    note = f" {skipped} entries of the root were not taken as clients: see the list below." if skipped else ""
    if data["failed"]:
        return "bad", f"{data['failed']} of {data['clients']} clients need attention.{note}"
    return ("warn" if skipped else "ok"), f"All {data['clients']} clients converted and verified.{note}"


def write_html(data: dict[str, Any], path: Path) -> None:
    """One self-contained page: no scripts, no fonts or images from elsewhere."""
    e = html.escape
    rows = []
    for r in data["results"]:
        counts = r.get("counts") or {}
        done = r["status"] in _DONE
        report = r.get("report") or ""
        link = _link(report, "report") if done and report.endswith(".html") else ""
        stale = _link(r["stale"], r["stale"]) if r.get("stale") else ""
        rows.append(
            f'<tr class="{e(r["status"], quote=True)}"><td>{e(r["name"])}</td><td class="path">{e(r["source"])}</td>'
            f"<td>{e(r['status'])}</td>"
            f'<td class="n">{_number(counts.get("entries"))}</td><td class="n">{_number(counts.get("lines"))}</td>'
            f"<td>{'yes' if r['verified'] and done else ''}</td>"
            f'<td class="n">{_number(r["errors"])}</td><td class="n">{_number(r["warnings"])}</td>'
            f'<td class="n">{float(r["seconds"]):.1f}</td><td>{e(r["message"])}</td><td>{link}</td>'  # float-ok: seconds
            f"<td>{stale}</td></tr>"
        )
    skipped = "".join(
        f'<tr><td class="path">{e(s["path"])}</td><td>{e(s["reason"])}</td></tr>' for s in data.get("skipped") or []
    )
    skipped_section = (
        f"<h2>Not taken as clients</h2>\n<table><thead><tr><th>entry</th><th>reason</th></tr></thead>"
        f"<tbody>{skipped}</tbody></table>"
        if skipped
        else ""
    )
    kind, verdict = _verdict(data)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bulk migration overview</title><style>{_STYLE}</style></head>
<body>
<h1>Bulk migration overview</h1>
<p>Target format: <b>{e(data["target"])}</b> · created {e(data["created"])} · {int(data["clients"])} clients</p>
<div class="verdict {kind}">{e(verdict)}</div>
<table><thead><tr><th>client (output folder)</th><th>source</th><th>status</th><th>entries</th><th>lines</th>
<th>verified</th><th>errors</th><th>warnings</th><th>seconds</th><th>message</th><th></th><th>earlier output</th></tr>
</thead>
<tbody>{"".join(rows)}</tbody></table>
{skipped_section}
<div class="sign"><div>Prepared by, date</div><div>Reviewed by, date</div></div>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    """The same rows in a workbook (Clients, and Skipped when entries were skipped)."""
    from openpyxl import Workbook

    from migrator.writers.base import inert

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Clients")
    sheet.freeze_panes = "A2"
    header = ["client", "source", "status", "entries", "lines", "verified", "errors", "warnings", "seconds",
              "message", "report", "earlier output"]  # fmt: skip
    sheet.append(header)
    for r in data["results"]:
        counts = r.get("counts") or {}
        done = r["status"] in _DONE
        sheet.append([
            inert(r["name"]), inert(r["source"]), r["status"], counts.get("entries"), counts.get("lines"),
            bool(r["verified"] and done), r["errors"], r["warnings"], r["seconds"],
            inert(r["message"]), inert(r["report"]) if done else "", inert(r.get("stale") or ""),
        ])  # fmt: skip
    sheet.auto_filter.ref = f"A1:L{len(data['results']) + 1}"
    if data.get("skipped"):
        skipped = book.create_sheet("Skipped")
        skipped.freeze_panes = "A2"
        skipped.append(["entry", "reason"])
        for s in data["skipped"]:
            skipped.append([inert(s["path"]), inert(s["reason"])])
    book.save(path)
