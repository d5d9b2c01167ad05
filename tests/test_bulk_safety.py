"""Bulk: one OUTDIR per run, links, resume that keeps the overview whole, stale outputs, time and memory."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from migrator import bulk

HEADER = "entry,line,date,doc,description,account,account_name,amount,currency\n"
REAL_CONVERT = bulk.convert_client


def books(folder: Path, marker: str, balanced: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    credit = "-12.34" if balanced else "-12.00"
    (folder / "journal.csv").write_text(
        HEADER
        + f"1,1,2024-01-05,{marker},Vente {marker},1020,Banque,12.34,CHF\n"
        + f"1,2,2024-01-05,{marker},Vente {marker},3200,Ventes,{credit},CHF\n",
        encoding="utf-8",
    )


def test_a_second_run_on_the_same_outdir_is_refused(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom migrator.bulk import locked\n"
         "with locked(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(60)\n", str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = run_cli("bulk", root, "--to", "csv", "-o", out, "--jobs", "1")
        assert result.exit_code == 2
        assert f"is in use by another bulk run (process {holder.pid} holds the lock {out / '.migrator-bulk.lock'})" in (
            result.output
        )
        assert not (out / "alpha").exists() and not (out / "overview.html").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without a word: its lock file is still there, and the next run takes it over.
    assert (out / ".migrator-bulk.lock").read_text(encoding="ascii").strip() == str(holder.pid)
    result = run_cli("bulk", root, "--to", "csv", "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "MARKER-A" in (out / "alpha" / "alpha.csv").read_text(encoding="utf-8")
    assert not (out / ".migrator-bulk.lock").exists()


def test_a_link_out_of_a_client_folder_fails_that_client_only(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    (root / "bravo").mkdir()
    (root / "bravo" / "journal.csv").symlink_to(root / "alpha" / "journal.csv")
    books(root / "charlie", "MARKER-C")
    (root / "charlie" / "old").symlink_to(tmp_path)  # a folder link, never walked into
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=2)
    outcome = {r.name: (r.status, r.message) for r in result.results}
    assert outcome["alpha"] == ("ok", "")
    assert outcome["bravo"] == (
        "failed",
        f"{root / 'bravo' / 'journal.csv'}: is a link to {root / 'alpha' / 'journal.csv'}, outside the client's "
        "folder; refusing it (copy the file in instead)",
    )
    assert (
        outcome["charlie"][0] == "failed"
        and f"{root / 'charlie' / 'old'}: is a link to {tmp_path}," in (outcome["charlie"][1])
    )
    assert not (out / "bravo").exists() and not (out / "charlie").exists()
    assert "MARKER-A" in (out / "alpha" / "alpha.csv").read_text(encoding="utf-8")


def test_resume_keeps_what_the_catalog_recorded_in_the_overview(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    books(root / "bravo", "MARKER-B")
    out = tmp_path / "out"
    first = json.loads(_overview_after(bulk.run(root, "csv", out, jobs=2)))
    books(root / "bravo", "MARKER-B2")
    again = bulk.run(root, "csv", out, jobs=2, resume=True)
    assert {r.name: r.status for r in again.results} == {"alpha": "unchanged", "bravo": "ok"}
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    before = next(r for r in first["results"] if r["name"] == "alpha")
    after = next(r for r in overview["results"] if r["name"] == "alpha")
    assert after["status"] == "unchanged" and after["message"] == "unchanged since the last run"
    for key in ("counts", "errors", "warnings", "verified", "report", "outputs", "inputs", "seconds"):
        assert after[key] == before[key], key
    assert after["counts"]["entries"] == 1 and after["verified"] is True
    html = (out / "overview.html").read_text(encoding="utf-8")
    assert 'href="alpha/alpha-report.html"' in html and 'href="bravo/bravo-report.html"' in html
    assert overview["succeeded"] == 2 and overview["failed"] == 0


def _overview_after(run: bulk.BulkRun) -> str:
    return (run.outdir / "overview.json").read_text(encoding="utf-8")


def test_a_client_that_fails_after_a_success_has_its_old_output_moved_aside(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    books(root / "bravo", "MARKER-B")
    out = tmp_path / "out"
    bulk.run(root, "csv", out, jobs=2)
    books(root / "bravo", "MARKER-B2", balanced=False)
    again = bulk.run(root, "csv", out, jobs=2, resume=True)
    bravo = next(r for r in again.results if r.name == "bravo")
    assert bravo.status == "problems"
    assert bravo.stale.startswith("stale/bravo-") and bravo.message.endswith(f"(earlier output moved to {bravo.stale})")
    assert not (out / "bravo").exists()
    assert '"MARKER-B"' in (out / bravo.stale / "bravo.csv").read_text(encoding="utf-8")
    with sqlite3.connect(out / "catalog.sqlite") as db:
        assert db.execute("SELECT status, stale FROM clients WHERE name = 'bravo'").fetchone() == (
            "problems",
            bravo.stale,
        )
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    assert next(r for r in overview["results"] if r["name"] == "bravo")["stale"] == bravo.stale
    assert f'href="{bravo.stale}"' in (out / "overview.html").read_text(encoding="utf-8")
    assert {r.name: r.status for r in again.results}["alpha"] == "unchanged"


def stuck_or_convert(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """A client process that hangs when its client is named "stuck" (as on a hung network drive)."""
    if client.name == "stuck":
        time.sleep(120)
    return REAL_CONVERT(client, *args, **kwargs)  # type: ignore[arg-type]


def hog_or_convert(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """A client process that asks for 6 GiB when its client is named "hog"."""
    if client.name == "hog":
        bytearray(6 << 30)
    return REAL_CONVERT(client, *args, **kwargs)  # type: ignore[arg-type]


def test_a_stuck_client_is_stopped_and_the_run_goes_on(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    for name in ("alpha", "stuck", "zulu"):
        books(root / name, f"MARKER-{name}")
    monkeypatch.setattr(bulk, "convert_client", stuck_or_convert)
    out = tmp_path / "out"
    started = time.monotonic()
    result = bulk.run(root, "csv", out, jobs=2, client_timeout=3)
    assert time.monotonic() - started < 30
    outcome = {r.name: (r.status, r.message) for r in result.results}
    assert outcome == {"alpha": ("ok", ""), "stuck": ("failed", "stopped after 3 s (--client-timeout)"),
                       "zulu": ("ok", "")}  # fmt: skip
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert not (out / "stuck").exists()
    assert "stopped after 3 s" in (out / "overview.html").read_text(encoding="utf-8")


def test_a_client_past_its_memory_is_stopped_and_the_run_goes_on(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    for name in ("alpha", "hog"):
        books(root / name, f"MARKER-{name}")
    monkeypatch.setattr(bulk, "convert_client", hog_or_convert)
    result = bulk.run(root, "csv", tmp_path / "out", jobs=2, client_memory=4096)
    outcome = {r.name: (r.status, r.message) for r in result.results}
    assert outcome == {"alpha": ("ok", ""), "hog": ("failed", "used more than 4096 MiB (--client-memory); stopped")}


def test_the_limits_are_options_of_the_command(run_cli) -> None:  # type: ignore[no-untyped-def]
    text = run_cli("bulk", "--help").output
    assert "--client-timeout SECONDS" in text and "[default: 3600" in text
    assert "--client-memory MIB" in text and "[default: 8192" in text


def test_memory_limit_lets_a_real_conversion_through(tmp_path: Path) -> None:
    """The default limit is well above what a worker with pyarrow and numpy loaded reserves."""
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    result = bulk.run(root, "xlsx", tmp_path / "out", jobs=1, client_memory=bulk.DEFAULT_MEMORY)
    assert [(r.status, r.verified) for r in result.results] == [("ok", True)]
    assert os.path.getsize(tmp_path / "out" / "alpha" / "alpha.xlsx") > 0


def test_a_client_no_reader_recognises_any_more_is_a_failure_not_a_skip(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    books(root / "alpha", "MARKER-A")
    out = tmp_path / "out"
    bulk.run(root, "csv", out, jobs=1)
    (root / "alpha" / "journal.csv").write_bytes(b"\x00\x01 not books")
    again = bulk.run(root, "csv", out, jobs=1, resume=True)
    assert [(r.name, r.status) for r in again.results] == [("alpha", "failed")] and not again.skipped
    assert again.results[0].message.startswith("no reader recognises journal.csv")
    assert (out / again.results[0].stale / "alpha.csv").is_file() and not (out / "alpha").exists()
