"""The benchmark harness (benchmarks/run.py): its cases and its table, without timing anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import run
from migrator import registry


def test_every_writer_has_a_case_at_100k_and_200k_and_1m_where_its_target_holds_it() -> None:
    cases = {c.name: c for c in run.CASES}
    for fmt in registry.writable():
        case = cases[f"csv-{fmt.name}"]
        expected = (100_000, 200_000) if fmt.name in run.NOT_AT_1M else (100_000, 200_000, 1_000_000)
        assert case.sizes == expected, fmt.name
    assert set(run.NOT_AT_1M) <= {f.name for f in registry.writable()}
    # the floor and hledger run at the writers' speed sizes, so each row has its ratios from the same run
    assert {100_000, 200_000} <= set(cases["floor-pyarrow"].sizes)
    assert {100_000, 200_000} <= set(cases["hledger-print"].sizes)


def test_a_writer_case_converts_the_generated_books_as_a_user_does(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(run, "_csv", lambda entries: f"books-{entries}.csv")
    gnucash = next(c for c in run.CASES if c.name == "csv-gnucash")
    banana = next(c for c in run.CASES if c.name == "csv-banana")
    assert gnucash.command(100, tmp_path) == [
        run.MIGRATOR, "convert", "books-100.csv", "--to", "gnucash", "-o", str(tmp_path / "out.gnucash"),
    ]  # fmt: skip
    assert banana.command(100, tmp_path)[-1] == str(tmp_path / "out")  # a folder format: -o names a new folder


def _measures() -> list[run.Measure]:
    return [
        run.Measure("floor-pyarrow", 100_000, 280_000, [0.5]),
        run.Measure("floor-pyarrow", 200_000, 560_000, [1.0]),
        run.Measure("hledger-print", 100_000, 280_000, [8.0]),
        run.Measure("csv-gnucash", 100_000, 280_000, [2.0, 2.5, 3.0], 400.0),
        run.Measure("csv-gnucash", 200_000, 560_000, [4.4], 700.0),
        run.Measure("csv-xlsx", 1_000_000, 2_800_000, failed="migrator convert failed: exit 4 | verification"),
    ]


def test_ratios_to_the_floor_and_hledger_and_growth_come_from_the_same_run() -> None:
    results = _measures()
    # 2.5 s (the median) against the floor's 0.5 s and hledger's 8.0 s at 100k entries
    assert run._ratios(results[3], results) == ("5.0×", "3.2×", "", "")
    # 4.4 s at 200k against the floor's 1.0 s at 200k; 1.76× the 100k time (2.5 s) for 2× the entries
    assert run._ratios(results[4], results) == ("4.4×", "", "", "1.76× for 2×")
    assert run._ratios(results[5], results) == ("", "", "", "")


def test_results_table_has_a_row_per_measure_and_says_which_failed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(run, "HERE", tmp_path)
    (tmp_path / "NOTES.md").write_text("# Notes\n", encoding="utf-8")
    run.write_results(_measures(), 3, "2026-12-07 22:00", 1.5)
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| csv-gnucash | 100,000 | 280,000 | 2.50 | 112,000 | 400 | 5.0× | 3.2× |  |  |" in text
    assert "| csv-gnucash | 200,000 | 560,000 | 4.40 | 127,273 | 700 | 4.4× |  |  | 1.76× for 2× |" in text
    assert "| csv-xlsx | 1,000,000 | 2,800,000 | failed: migrator convert failed: exit 4 / verification |" in text
    assert text.endswith("# Notes\n")


def test_a_failing_case_is_reported_and_the_run_goes_on(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    fails = run.Case("fails", (5,), lambda n, work: [sys.executable, "-c", "import sys; sys.exit('broken books')"])
    works = run.Case("works", (5,), lambda n, work: [sys.executable, "-c", "pass"])
    monkeypatch.setattr(run, "CASES", [fails, works])
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "LAST", tmp_path / "last-run.json")
    assert run.main(["--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "fails" in out and "FAILED" in out and "broken books" in out
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| fails | 5 | 14 | failed: " in text and "broken books" in text
    assert "| works | 5 | 14 |" in text


@pytest.mark.parametrize("name", ["csv", "xlsx", "gnucash"])
def test_writer_cases_run_once_each_except_csv(name: str) -> None:
    case = next(c for c in run.CASES if c.name == f"csv-{name}")
    assert case.runs == (0 if name == "csv" else 1)


def test_a_run_past_its_time_is_stopped_and_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"stopped after 1 s"):
        run._run([sys.executable, "-c", "import time; time.sleep(30)"], 1, tmp_path, timeout=1)


def test_merge_keeps_the_last_runs_other_rows_and_replaces_the_remeasured(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = run.Case("first", (5,), lambda n, work: [sys.executable, "-c", "pass"])
    second = run.Case("second", (5, 7), lambda n, work: [sys.executable, "-c", "pass"])
    monkeypatch.setattr(run, "CASES", [first, second])
    monkeypatch.setattr(run, "HERE", tmp_path)
    monkeypatch.setattr(run, "LAST", tmp_path / "last-run.json")
    assert run.main(["--runs", "1"]) == 0
    assert run.main(["--runs", "1", "--case", "second", "--size", "7", "--merge"]) == 0
    kept = json.loads((tmp_path / "last-run.json").read_text(encoding="utf-8"))
    assert [(m["case"], m["entries"]) for m in kept["results"]] == [("first", 5), ("second", 5), ("second", 7)]
    assert " and " in kept["when"]
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert text.count("| second | ") == 2 and text.count("| first | ") == 1
