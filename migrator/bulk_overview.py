"""The overview of a bulk run, for the fiduciary to check and sign: HTML and xlsx, one row per client,
then the entries of ROOT that were not taken as clients, with the reason. Every value that reaches the
HTML is escaped for where it goes (text, attribute, or link)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from migrator import i18n
from migrator.i18n import N_, _

_IN_F_STRINGS = (
    N_("yes"),
    N_("Not taken as clients"),
    N_("entry"),
    N_("reason"),
    N_("Prepared by, date"),
    N_("Reviewed by, date"),
)
"""Messages used inside f-strings, marked here for extraction (Babel on Python 3.11 does not look into
f-strings)."""

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
STATUSES = {"ok": N_("ok"), "unchanged": N_("unchanged"), "problems": N_("problems"), "failed": N_("failed"),
            "unrecognised": N_("unrecognised")}  # fmt: skip
"""A client's status as the overview shows it (the catalog keeps the English word)."""


def _status(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def _link(relative: str, label: str) -> str:
    """A link to a file inside OUTDIR: the path quoted as a URL, then escaped as an attribute."""
    return f'<a href="{html.escape(quote(relative), quote=True)}">{html.escape(label)}</a>'


def _verdict(data: dict[str, Any]) -> tuple[str, str]:
    skipped = len(data.get("skipped") or [])
    note = " " + _("{count} entries of the root were not taken as clients: see the list below.").format(
        count=skipped) if skipped else ""  # fmt: skip
    if data["failed"]:
        return "bad", _("{failed} of {total} clients need attention.").format(failed=data["failed"],
                                                                           total=data["clients"]) + note  # fmt: skip
    return ("warn" if skipped else "ok"), _("All {total} clients converted and verified.").format(
        total=data["clients"]) + note  # fmt: skip


HEADS = (N_("client (output folder)"), N_("source"), N_("status"), N_("entries"), N_("lines"), N_("verified"),
         N_("errors"), N_("warnings"), N_("seconds"), N_("message"), "", N_("earlier output"))  # fmt: skip


def write_html(data: dict[str, Any], path: Path) -> None:
    """One self-contained page: no scripts, no fonts or images from elsewhere."""
    e = html.escape
    rows = []
    for r in data["results"]:
        counts = r.get("counts") or {}
        done = r["status"] in _DONE
        report = r.get("report") or ""
        link = _link(report, _("report")) if done and report.endswith(".html") else ""
        stale = _link(r["stale"], r["stale"]) if r.get("stale") else ""
        rows.append(
            f'<tr class="{e(r["status"], quote=True)}"><td>{e(r["name"])}</td><td class="path">{e(r["source"])}</td>'
            f"<td>{e(_status(r['status']))}</td>"
            f'<td class="n">{_number(counts.get("entries"))}</td><td class="n">{_number(counts.get("lines"))}</td>'
            f"<td>{e(_('yes')) if r['verified'] and done else ''}</td>"
            f'<td class="n">{_number(r["errors"])}</td><td class="n">{_number(r["warnings"])}</td>'
            f'<td class="n">{float(r["seconds"]):.1f}</td><td>{e(i18n.shown(r["message"]))}</td><td>{link}</td>'  # float-ok: seconds
            f"<td>{stale}</td></tr>"
        )
    skipped = "".join(
        f'<tr><td class="path">{e(s["path"])}</td><td>{e(i18n.shown(s["reason"]))}</td></tr>'
        for s in data.get("skipped") or []
    )
    skipped_section = (
        f"<h2>{e(_('Not taken as clients'))}</h2>\n<table><thead><tr><th>{e(_('entry'))}</th>"
        f"<th>{e(_('reason'))}</th></tr></thead>"
        f"<tbody>{skipped}</tbody></table>"
        if skipped
        else ""
    )
    kind, verdict = _verdict(data)
    title = e(_("Bulk migration overview"))
    heads = "".join(f"<th>{e(_(h))}</th>" for h in HEADS)
    line = _("Target format: {target} · created {created} · {count} clients").format(
        target="\0", created=data["created"], count=int(data["clients"]))  # fmt: skip
    line = e(line).replace("\0", f"<b>{e(data['target'])}</b>")
    lang = e(i18n.language().split("_")[0])
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style></head>
<body>
<h1>{title}</h1>
<p>{line}</p>
<div class="verdict {kind}">{e(verdict)}</div>
<table><thead><tr>{heads}</tr>
</thead>
<tbody>{"".join(rows)}</tbody></table>
{skipped_section}
<div class="sign"><div>{e(_("Prepared by, date"))}</div><div>{e(_("Reviewed by, date"))}</div></div>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def write_xlsx(data: dict[str, Any], path: Path) -> None:
    """The same rows in a workbook (Clients, and Skipped when entries were skipped)."""
    from openpyxl import Workbook

    from migrator.writers.base import inert

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Clients")[:31])
    sheet.freeze_panes = "A2"
    header = [N_("client"), N_("source"), N_("status"), N_("entries"), N_("lines"), N_("verified"), N_("errors"),
              N_("warnings"), N_("seconds"), N_("message"), N_("report"), N_("earlier output")]  # fmt: skip
    sheet.append([_(h) for h in header])
    for r in data["results"]:
        counts = r.get("counts") or {}
        done = r["status"] in _DONE
        sheet.append([
            inert(r["name"]), inert(r["source"]), _status(r["status"]), counts.get("entries"), counts.get("lines"),
            bool(r["verified"] and done), r["errors"], r["warnings"], r["seconds"],
            inert(i18n.shown(r["message"])), inert(r["report"]) if done else "", inert(r.get("stale") or ""),
        ])  # fmt: skip
    sheet.auto_filter.ref = f"A1:L{len(data['results']) + 1}"
    if data.get("skipped"):
        skipped = book.create_sheet(_("Skipped")[:31])
        skipped.freeze_panes = "A2"
        skipped.append([_("entry"), _("reason")])
        for s in data["skipped"]:
            skipped.append([inert(s["path"]), inert(i18n.shown(s["reason"]))])
    book.save(path)
