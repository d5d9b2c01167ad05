"""Markup in the books (company, account names, descriptions, VAT codes, file names) stays text in the
HTML report: it cannot add elements, hide the verdict or end the style sheet (issue 12)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from migrator import pipeline, registry
from migrator.model import Ledger, Problem, SourceFile
from migrator.pipeline import Conversion
from migrator.reconcile import compare
from migrator.report import report_data
from migrator.report_html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

HIDE = "</style><style>.verdict{display:none}</style>"
IMG = '"><img src=x onerror=alert(1)>'
SCRIPT = "<script>alert(2)</script>"
COMPANY = f"Garage */ {HIDE}{IMG}</title>{SCRIPT}\\\n'"
ACCOUNT = f"Caisse {IMG}{HIDE}"
DESCRIPTION = f"Vente {SCRIPT} */"
VAT_CODE = f'V81"{IMG}'
FILE = f"journal{IMG}.csv"


class Dom(HTMLParser):
    """Elements, attributes and text of a page, as an HTML parser builds them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style: list[str] = []
        self.title: list[str] = []
        self.verdicts: list[str] = []
        self._open: list[str] = []
        self._verdict_depth: int | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "section" and "verdict" in (dict(attrs).get("class") or "").split():
            self._verdict_depth = len(self._open)
            self.verdicts.append("")
        if tag not in ("meta", "br", "img", "rect", "line", "input", "link"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass
        if self._verdict_depth is not None and len(self._open) <= self._verdict_depth:
            self._verdict_depth = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        inside = self._open[-1] if self._open else ""
        if inside == "style":
            self.style.append(data)
        elif inside == "title":
            self.title.append(data)
        else:
            self.text.append(data)
        if self._verdict_depth is not None:
            self.verdicts[-1] += data

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def _books(garage: Ledger) -> Ledger:
    """The garage with markup in its company name, an account name, descriptions, a VAT code and file names."""
    accounts = garage.accounts.to_pylist()
    for row in accounts:
        if row["code"] == "1000":
            row["name"] = ACCOUNT
    lines = garage.lines.to_pylist()
    for row in lines:
        row["description"] = DESCRIPTION
        row["source_file"] = FILE
        if row["vat_code"] == "V81":
            row["vat_code"] = VAT_CODE
    codes = garage.vat_codes.to_pylist()
    for row in codes:
        if row["code"] == "V81":
            row["code"] = VAT_CODE
    company = dataclasses.replace(
        garage.company, name=COMPANY, address=SCRIPT,
        source_files=(SourceFile(FILE, "0" * 64, 100, "utf-8", "csv"),),
    )  # fmt: skip
    return garage.replace(
        company=company,
        accounts=pa.Table.from_pylist(accounts, garage.accounts.schema),
        lines=pa.Table.from_pylist(lines, garage.lines.schema),
        vat_codes=pa.Table.from_pylist(codes, garage.vat_codes.schema),
    )


def _page(garage: Ledger, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    books = _books(garage)
    out = tmp_path / "out.csv"
    not_carried = pipeline.write(books, "csv", out)
    reread = pipeline.read(out, "csv")
    problems = [Problem("warning", f"description {DESCRIPTION!r} {HIDE}", FILE, 2)]
    conversion = Conversion(books, books, "csv", out, problems, not_carried)
    conversion.reread = reread
    conversion.verification = compare(books, reread, registry.get("csv").keeps)
    data = report_data(conversion)
    return render_html(data), data


def _css_string_after(css: str, marker: str) -> str:
    """The CSS string that follows `marker`, unescaped as a CSS parser reads it (CSS Syntax §4.3.5)."""
    start = css.index(marker) + len(marker)
    assert css[start] == '"'
    out, i = [], start + 1
    while css[i] != '"':
        assert css[i] not in "\n<", "the string leaks"
        if css[i] == "\\":
            hexa = re.match(r"[0-9a-fA-F]{1,6}", css[i + 1 :])
            if hexa:
                out.append(chr(int(hexa.group(), 16)))
                i += 1 + len(hexa.group())
                i += 1 if css[i] in " \t\n" else 0
                continue
            out.append(css[i + 1])
            i += 2
            continue
        out.append(css[i])
        i += 1
    return "".join(out)


def _check(dom: Dom, data: dict[str, Any]) -> None:
    assert dom.count("img") == 0 and dom.count("script") == 0
    assert dom.count("style") == 1 and dom.count("title") == 1
    assert not any(name.startswith("on") for _, attrs in dom.tags for name in attrs)
    status = data["verdict"]["status"]
    assert len(dom.verdicts) == 1
    assert (status[:1].upper() + status[1:]) in dom.verdicts[0]
    assert "".join(dom.title) == f"Reconciliation report — {COMPANY}"
    text = "".join(dom.text)
    for value in (COMPANY.strip(), ACCOUNT, VAT_CODE, FILE, SCRIPT, repr(DESCRIPTION)):
        assert value in text, value


def test_markup_stays_text_for_an_html_parser(garage: Ledger, tmp_path: Path) -> None:
    html, data = _page(garage, tmp_path)
    dom = Dom(html)
    _check(dom, data)
    # the company in the print header is one CSS string that reads back as the name, whole
    css = "".join(dom.style)
    assert _css_string_after(css, "@top-left { content: ") == COMPANY
    assert "<" not in css


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_markup_stays_text_in_chromium(garage: Ledger, tmp_path: Path) -> None:
    html, data = _page(garage, tmp_path)
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert "<section" in run.stdout, run.stderr[-2000:]
    _check(Dom(run.stdout), data)  # the DOM Chromium built from the page
