"""Bulk migration: isolation between clients, the catalog, resume after a kill, Dask."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator import bulk

HEADER = "entry,line,date,doc,description,account,account_name,amount,currency\n"


def make_client(folder: Path, number: int, entries: int = 3) -> tuple[str, int]:
    """A client whose every text carries its own marker; returns the marker and its bank balance in cents."""
    marker = f"MARKER-{number:03d}-{os.urandom(3).hex()}"
    folder.mkdir(parents=True)
    rows = [HEADER]
    bank = 0
    for entry in range(1, entries + 1):
        cents = 1000 * number + entry
        bank += cents
        amount = f"{cents // 100}.{cents % 100:02d}"
        rows.append(
            f"{entry},1,2024-01-{entry:02d},{marker}-{entry},Vente {marker},1020,Banque {marker},{amount},CHF\n"
        )
        rows.append(
            f"{entry},2,2024-01-{entry:02d},{marker}-{entry},Vente {marker},3200,Ventes {marker},-{amount},CHF\n"
        )
    (folder / "journal.csv").write_text("".join(rows), encoding="utf-8")
    return marker, bank


def test_fifty_clients_stay_isolated(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    expected = {f"client{n:02d}": make_client(root / f"client{n:02d}", n) for n in range(1, 53)}
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=2)
    assert result.ok and len(result.results) == 52
    markers = {marker for marker, _ in expected.values()}
    for name, (marker, bank) in expected.items():
        files = sorted(p for p in (out / name).iterdir() if not p.name.startswith("."))  # not the manifests
        assert [f.name for f in files] == [f"{name}-report.html", f"{name}-report.json", f"{name}.csv"]
        text = "".join(f.read_text(encoding="utf-8") for f in files)
        assert marker in text
        assert not (markers - {marker}) & set(_markers(text)), f"{name} holds another client's data"
        report = json.loads((out / name / f"{name}-report.json").read_text(encoding="utf-8"))
        balances = {row["account"]: row["target_balance"] for row in report["accounts"]}
        assert balances["1020"] == f"{bank // 100}.{bank % 100:02d}"
        assert report["verdict"]["verified"] is True
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "a temporary folder was left behind"


def _markers(text: str) -> list[str]:
    import re

    return re.findall(r"MARKER-\d{3}-[0-9a-f]{6}", text)


def test_outputs_are_private_and_catalog_records_everything(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    make_client(root / "alpha", 1)
    (root / "broken").mkdir()
    (root / "broken" / "journal.csv").write_text(HEADER + "1,1,2024-01-01,A,x,1020,,10.00,CHF\n", encoding="utf-8")
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=1)
    assert not result.ok
    statuses = {r.name: r.status for r in result.results}
    assert statuses == {"alpha": "ok", "broken": "problems"}
    assert stat.S_IMODE((out / "alpha").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "alpha" / "alpha.csv").stat().st_mode) == 0o600
    assert not (out / "broken").exists()
    with sqlite3.connect(out / "catalog.sqlite") as db:
        rows = {r[0]: r for r in db.execute("SELECT name, status, inputs, outputs, errors FROM clients")}
    assert rows["alpha"][1] == "ok"
    inputs = json.loads(rows["alpha"][2])
    assert list(inputs) == [str(root / "alpha" / "journal.csv")]
    assert {p for p in json.loads(rows["alpha"][3]) if not Path(p).name.startswith(".")} == {
        "alpha/alpha.csv",
        "alpha/alpha-report.html",
        "alpha/alpha-report.json",
    }
    assert rows["broken"][1:2] == ("problems",) and rows["broken"][4] == 1
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    assert (overview["succeeded"], overview["failed"]) == (1, 1)
    html = (out / "overview.html").read_text(encoding="utf-8")
    assert "1 of 2 clients need attention" in html and 'href="alpha/alpha-report.html"' in html


def test_resume_skips_only_unchanged_clients(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    for n in range(1, 4):
        make_client(root / f"c{n}", n)
    out = tmp_path / "out"
    bulk.run(root, "csv", out, jobs=1)
    make_client(root / "c4", 4)
    journal = root / "c2" / "journal.csv"
    journal.write_text(journal.read_text(encoding="utf-8").replace("-01,", "-02,"), encoding="utf-8")
    (out / "c3" / "c3.csv").write_text("tampered", encoding="utf-8")
    again = bulk.run(root, "csv", out, jobs=1, resume=True)
    statuses = {r.name: r.status for r in again.results}
    # an output changed by hand is never replaced: the client waits until the file is moved away
    assert statuses == {"c1": "unchanged", "c2": "ok", "c3": "failed", "c4": "ok"}
    c3 = next(r for r in again.results if r.name == "c3")
    assert "changed after migrator wrote it" in c3.message and "c3.csv" in c3.message
    assert (out / "c3" / "c3.csv").read_text(encoding="utf-8") == "tampered"
    (out / "c3" / "c3.csv").rename(tmp_path / "kept.csv")
    statuses = {r.name: r.status for r in bulk.run(root, "csv", out, jobs=1, resume=True).results}
    assert statuses == {"c1": "unchanged", "c2": "unchanged", "c3": "ok", "c4": "unchanged"}
    assert (out / "c3" / "c3.csv").read_text(encoding="utf-8") != "tampered"


def test_a_killed_run_resumes_without_redoing_finished_clients(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    for n in range(1, 31):
        make_client(root / f"c{n:02d}", n, entries=20)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "migrator.cli", "bulk", str(root), "--to", "csv", "-o", str(out), "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    catalog = out / "catalog.sqlite"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and process.poll() is None:
        if catalog.exists():
            with sqlite3.connect(catalog) as db:
                done = db.execute("SELECT count(*) FROM clients WHERE status = 'ok'").fetchone()[0]
            if done >= 3:
                break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 3 <= done < 30, "the run was not stopped part-way"
    with sqlite3.connect(catalog) as db:
        finished = {r[0] for r in db.execute("SELECT name FROM clients WHERE status = 'ok'")}
    stamps = {name: (out / name / f"{name}.csv").stat().st_mtime_ns for name in finished}
    assert all((out / name).is_dir() for name in finished)
    # No half-written client: every client folder present is complete.
    for folder in (p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assert (folder / f"{folder.name}.csv").exists() and (folder / f"{folder.name}-report.json").exists()
    resumed = bulk.run(root, "csv", out, jobs=2, resume=True)
    assert resumed.ok and len(resumed.results) == 30
    statuses = {r.name: r.status for r in resumed.results}
    assert {n for n, s in statuses.items() if s == "unchanged"} == finished
    assert all(statuses[n] == "ok" for n in statuses if n not in finished)
    assert {name: (out / name / f"{name}.csv").stat().st_mtime_ns for name in finished} == stamps
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_list_file_and_name_clashes(tmp_path: Path) -> None:
    make_client(tmp_path / "a" / "books", 1)
    make_client(tmp_path / "b" / "books", 2)
    listing = tmp_path / "clients.txt"
    listing.write_text("# two clients with the same folder name\na/books\nb/books/journal.csv\n", encoding="utf-8")
    clients = bulk.discover(listing)
    assert [c.name for c in clients] == ["books", "journal"]
    listing.write_text("a/books\nb/books\n", encoding="utf-8")
    # Neither keeps the bare name: each gets the start of the SHA-256 of the path as listed.
    first, second = (hashlib.sha256(p.encode()).hexdigest()[:8] for p in ("a/books", "b/books"))
    assert [c.name for c in bulk.discover(listing)] == [f"books-{first}", f"books-{second}"]
    listing.write_text("b/books\na/books\n", encoding="utf-8")
    assert [c.name for c in bulk.discover(listing)] == [f"books-{second}", f"books-{first}"]
    listing.write_text("missing/folder\n", encoding="utf-8")
    with pytest.raises(bulk.SourceError, match="row 1"):
        bulk.discover(listing)


@pytest.mark.parametrize("name", ["../escape", "/etc", "..", ".hidden", "a/b"])
def test_client_names_cannot_escape_the_output_folder(name: str) -> None:
    cleaned = bulk.safe_name(name)
    assert "/" not in cleaned and not cleaned.startswith(".")


def test_cli_bulk_summary_and_exit_code(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    make_client(root / "one", 1)
    result = run_cli("bulk", root, "--to", "csv", "-o", tmp_path / "out", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "1 of 1 clients converted" in result.output
    (root / "two").mkdir()  # books with an entry that does not balance
    (root / "two" / "x.csv").write_text(HEADER + "1,1,2024-01-01,A,x,1020,Bank,10.00,CHF\n", encoding="utf-8")
    result = run_cli("bulk", root, "--to", "csv", "-o", tmp_path / "out", "--jobs", "1", "--resume")
    assert result.exit_code == 5
    lines = result.output.splitlines()
    assert [line.split()[:2] for line in lines[1:3]] == [["one", "unchanged"], ["two", "problems"]]
    assert "1 of 2 clients converted" in result.output


def test_dask_local_cluster_runs_the_same_tasks(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed")
    root = tmp_path / "clients"
    expected = {f"d{n}": make_client(root / f"d{n}", n) for n in range(1, 5)}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = bulk.run(root, "csv", tmp_path / "out", scheduler=cluster.scheduler_address)
    assert result.ok and len(result.results) == 4
    for name, (marker, _bank) in expected.items():
        assert marker in (tmp_path / "out" / name / f"{name}.csv").read_text(encoding="utf-8")
