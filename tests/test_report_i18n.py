"""The reports a person reads speak the user's language, with the locale's numbers and dates; the
JSON report (data for programs) stays the same in every language."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook

import migrator
from migrator import i18n

ROOT = Path(__file__).resolve().parent.parent
JOURNAL = ROOT / "samples" / "garage" / "journal.csv"


def _convert(tmp_path: Path, lang: str, report: str) -> Path:
    folder = tmp_path / lang
    folder.mkdir(exist_ok=True)
    with i18n.using(lang):
        migrator.convert(JOURNAL, "csv", folder / "out.csv", report=folder / report)
    return folder / report


def test_the_html_report_in_swiss_french(tmp_path: Path) -> None:
    page = _convert(tmp_path, "fr_CH", "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "<h1>Rapport de rapprochement</h1>" in page
    assert "Équilibré et vérifié" in page
    assert "<h2>2. Nombres</h2>" in page and "<td>écritures</td>" in page
    assert "72&#x27;481.05" in page  # account 1020's balance, Swiss grouping (the apostrophe escaped)
    assert "01.01.2023 – 31.12.2023" in page
    assert "avertissement" in page and "Préparé par" in page


def test_the_html_report_in_german_and_english(tmp_path: Path) -> None:
    german = _convert(tmp_path, "de_CH", "report.html").read_text(encoding="utf-8")
    assert "<h1>Abstimmungsbericht</h1>" in german and "Ausgeglichen und verifiziert" in german
    assert "72&#x27;481.05" in german and "01.01.2024 – 31.12.2024" in german
    english = _convert(tmp_path, "en", "report.html").read_text(encoding="utf-8")
    assert (
        "<h1>Reconciliation report</h1>" in english and "72’481.05" in english and "2024-01-01 – 2024-12-31" in english
    )


def test_the_xlsx_report_in_german(tmp_path: Path) -> None:
    book = load_workbook(_convert(tmp_path, "de_CH", "report.xlsx"))
    assert book.sheetnames[:4] == ["Zusammenfassung", "Dateien", "Konten", "Zielkonten"]
    summary = {row[0]: row[1] for row in book["Zusammenfassung"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Ergebnis"] == "ausgeglichen und verifiziert"
    assert [c.value for c in book["Konten"][1]][:3] == ["Konto", "Name", "Saldo"]


def test_the_json_report_is_the_same_in_every_language(tmp_path: Path) -> None:
    reports = {}
    for lang in ("en", "fr_CH", "de_CH"):
        data = json.loads(_convert(tmp_path, lang, "report.json").read_text(encoding="utf-8"))
        data.pop("created")
        data.pop("timings")
        for side in ("source", "target"):
            for f in data[side]["files"]:
                f["path"] = Path(f["path"]).name
        reports[lang] = data
    assert reports["fr_CH"] == reports["en"] and reports["de_CH"] == reports["en"]
    assert reports["en"]["verdict"]["status"] == "balanced and verified"


def test_the_bulk_overview_in_french(tmp_path: Path) -> None:
    from migrator.bulk_overview import write_html

    data = {"target": "banana", "created": "2025-01-15 09:30", "clients": 2, "failed": 1, "skipped": [],
            "results": [{"name": "garage", "source": "clients/garage", "status": "ok", "counts": {"entries": 40},
                         "verified": True, "errors": 0, "warnings": 1, "seconds": 1.5, "message": "", "report": "garage/report.html"},
                        {"name": "bakery", "source": "clients/bakery", "status": "failed", "counts": {}, "verified": False,
                         "errors": 1, "warnings": 0, "seconds": 0.5, "message": "no such file or folder", "report": ""}]}  # fmt: skip
    with i18n.using("fr_CH"):
        write_html(data, tmp_path / "overview.html")
    page = (tmp_path / "overview.html").read_text(encoding="utf-8")
    assert "<h1>Vue d&#x27;ensemble de la migration groupée</h1>" in page
    assert "1 clients sur 2 demandent votre attention." in page
    assert "<td>échoué</td>" in page and "aucun fichier ni dossier de ce nom" in page
    assert "Format cible : <b>banana</b>" in page
