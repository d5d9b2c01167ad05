"""The overview of a bulk run, for the fiduciary to check and sign: HTML and xlsx, one row per client."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

_STYLE = """
@page { size: A4 landscape; margin: 14mm; }
body { font: 10pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 0 auto; max-width: 270mm; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
.verdict { padding: 3mm 4mm; border-radius: 2mm; font-weight: bold; margin: 4mm 0; }
.ok { background: #e6f4ea; border: 1px solid #2e7d32; } .bad { background: #fdecea; border: 1px solid #c62828; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td, tr.problems td { background: #fff4f2; }
.sign { margin-top: 12mm; display: flex; gap: 20mm; } .sign div { border-top: 1px solid #333; width: 70mm; padding-top: 1mm; }
"""


def write_html(data: dict[str, Any], path: Path) -> None:
    """One self-contained page: no scripts, no fonts or images from elsewhere."""
    e = html.escape
    ok = data["failed"] == 0
    rows = []
    for r in data["results"]:
        counts = r.get("counts") or {}
        report = r.get("report") or ""
        link = f'<a href="{e(report)}">report</a>' if r["status"] == "ok" and report.endswith(".html") else ""
        rows.append(
            f'<tr class="{e(r["status"])}"><td>{e(r["name"])}</td><td>{e(r["status"])}</td>'
            f'<td class="n">{counts.get("entries", "")}</td><td class="n">{counts.get("lines", "")}</td>'
            f"<td>{'yes' if r['verified'] and r['status'] == 'ok' else ''}</td>"
            f'<td class="n">{r["errors"]}</td><td class="n">{r["warnings"]}</td>'
            f'<td class="n">{r["seconds"]:.1f}</td><td>{e(r["message"])}</td><td>{link}</td></tr>'
        )
    verdict = (
        f"All {data['clients']} clients converted and verified."
        if ok
        else f"{data['failed']} of {data['clients']} clients need attention."
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bulk migration overview</title><style>{_STYLE}</style></head>
<body>
<h1>Bulk migration overview</h1>
<p>Target format: <b>{e(data["target"])}</b> · created {e(data["created"])} · {data["clients"]} clients</p>
<div class="verdict {"ok" if ok else "bad"}">{e(verdict)}</div>
<table><thead><tr><th>client</th><th>status</th><th>entries</th><th>lines</th><th>verified</th><th>errors</th>
<th>warnings</th><th>seconds</th><th>message</th><th></th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<div class="sign"><div>Prepared by, date</div><div>Reviewed by, date</div></div>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook

    from migrator.writers.base import inert

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Clients")
    sheet.freeze_panes = "A2"
    header = ["client", "status", "entries", "lines", "verified", "errors", "warnings", "seconds", "message", "report"]
    sheet.append(header)
    for r in data["results"]:
        counts = r.get("counts") or {}
        sheet.append([
            inert(r["name"]), r["status"], counts.get("entries"), counts.get("lines"),
            bool(r["verified"] and r["status"] == "ok"), r["errors"], r["warnings"], r["seconds"],
            inert(r["message"]), r["report"] if r["status"] == "ok" else "",
        ])  # fmt: skip
    sheet.auto_filter.ref = f"A1:J{len(data['results']) + 1}"
    book.save(path)
