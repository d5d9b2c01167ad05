"""The Python API as the README shows it: the README's example runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import migrator

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    os.symlink(ROOT / "samples", tmp_path / "samples")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "out.csv").exists()


def test_public_names_resolve() -> None:
    for name in migrator.__all__:
        assert getattr(migrator, name) is not None, name
    with pytest.raises(AttributeError):
        migrator.no_such_thing  # noqa: B018


def test_a_ledger_shows_itself_briefly_in_a_console_and_a_notebook() -> None:
    ledger = migrator.read(ROOT / "samples" / "winbiz" / "DAT", dossier="garage")
    shown = repr(ledger)
    assert shown.startswith("<Ledger 'Garage du Lac Sàrl' CHF, winbiz, 2023-01-01 to 2024-12-31 (2 fiscal years): ")
    assert "20 accounts" in shown and "40 entries" in shown and "94 lines" in shown
    assert "pyarrow" not in shown and len(shown) < 400
    html = ledger._repr_html_()
    assert "<td>Garage du Lac Sàrl</td>" in html and "<th style='text-align:left'>entries</th><td>40</td>" in html
    assert "pyarrow" not in html and "<script" not in html
    empty = repr(migrator.Ledger())
    assert empty == "<Ledger '(no company name)' CHF, no years: empty; 0 errors, 0 warnings/notes>"


def test_dir_lists_the_public_names() -> None:
    names = dir(migrator)
    for name in ("read", "write", "convert", "verify", "detect", "dossiers", "Ledger", "trial_balance"):
        assert name in names
    assert "_API" not in names and "annotations" not in names


def test_trial_balance_in_cents_or_decimals() -> None:
    from decimal import Decimal

    ledger = migrator.read(ROOT / "samples" / "garage" / "journal.csv")
    cents = migrator.trial_balance(ledger)
    decimals = migrator.trial_balance(ledger, decimals=True)
    assert list(cents) == list(decimals)
    assert cents["1020"] == 7248105 and decimals["1020"] == Decimal("72481.05")
    assert all(isinstance(v, Decimal) and v == Decimal(cents[k]) / 100 for k, v in decimals.items())
    assert sum(decimals.values()) == 0


def test_convert_writes_the_report_it_is_asked_for(tmp_path: Path) -> None:
    result = migrator.convert(ROOT / "samples" / "garage" / "journal.csv", "csv", tmp_path / "out.csv",
                              report=tmp_path / "report.json")  # fmt: skip
    assert result.verified
    import json

    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["state"] == "verified" and report["counts"]["after"]["entries"] == 23


def test_validate_stays_callable_once_its_module_is_imported() -> None:
    import migrator.validate  # sets migrator.validate to the submodule, as any import of it does

    ledger = migrator.read(ROOT / "samples" / "garage" / "journal.csv")
    assert migrator.validate(ledger) == []
