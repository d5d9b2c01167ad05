"""Bulk: how a root is split into clients, as a fiduciary lays one out, and the names clients get."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from migrator import bulk

HEADER = "entry,line,date,doc,description,account,account_name,amount,currency\n"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def books(folder: Path, marker: str, cents: int = 1234) -> None:
    """One client's journal: one entry whose texts carry `marker`."""
    folder.mkdir(parents=True)
    amount = f"{cents // 100}.{cents % 100:02d}"
    (folder / "journal.csv").write_text(
        HEADER
        + f"1,1,2024-01-05,{marker},Vente {marker},1020,Banque,{amount},CHF\n"
        + f"1,2,2024-01-05,{marker},Vente {marker},3200,Ventes,-{amount},CHF\n",
        encoding="utf-8",
    )


def mixed_root(root: Path) -> None:
    """Two Winbiz dossiers side by side with client folders of exports, and entries that are no client."""
    for dossier in ("garage", "boulangerie"):
        shutil.copytree(SAMPLES / "winbiz" / "DAT" / dossier, root / dossier)
    shutil.copytree(SAMPLES / "garage", root / "lac-csv")
    books(root / "rochat", "MARKER-ROCHAT")
    (root / "photos").mkdir()
    (root / "photos" / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    books(root / ".trash", "MARKER-TRASH")
    (root / "empty").mkdir()
    with zipfile.ZipFile(root / "favre.zip", "w") as archive:  # a client sent as a zip of its exports
        archive.write(SAMPLES / "garage" / "journal.csv", "export/journal.csv")


def distinct_entries(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return len({row["entry"] for row in csv.DictReader(handle)})


def test_a_mixed_root_converts_every_client_and_lists_the_rest(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    mixed_root(root)
    out = tmp_path / "out"
    result = run_cli("bulk", root, "--to", "sqlite", "-o", out, "--jobs", "2")
    assert result.exit_code == 0, result.output
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    statuses = {r["name"]: r["status"] for r in overview["results"]}
    assert statuses == {"boulangerie": "ok", "favre": "ok", "garage": "ok", "lac-csv": "ok", "rochat": "ok"}
    counts = {r["name"]: r["counts"]["entries"] for r in overview["results"]}
    assert counts["garage"] == 40  # the Winbiz garage dossier, as `migrator inspect` shows it (README)
    assert counts["lac-csv"] == counts["favre"] == distinct_entries(SAMPLES / "garage" / "journal.csv")
    assert counts["rochat"] == 1
    assert b"MARKER-ROCHAT" in (out / "rochat" / "rochat.sqlite").read_bytes()
    skipped = {Path(s["path"]).name: s["reason"] for s in overview["skipped"]}
    assert set(skipped) == {".trash", "empty", "photos"}
    assert "hidden" in skipped[".trash"]
    assert "empty folder" in skipped["empty"]
    assert "no reader recognises" in skipped["photos"]
    assert not (out / "photos").exists() and not (out / "trash").exists()
    # The terminal says the same: every skipped entry with its reason, and the count.
    for name, reason in skipped.items():
        assert f"{root / name}: {reason}" in result.output
    assert "5 of 5 clients converted; 3 entries skipped" in result.output
    html = (out / "overview.html").read_text(encoding="utf-8")
    assert "Not taken as clients" in html and "3 entries of the root were not taken as clients" in html
    sheet = load_workbook(out / "overview.xlsx")["Skipped"]
    assert sorted(Path(row[0]).name for row in sheet.iter_rows(min_row=2, values_only=True)) == sorted(skipped)


def test_a_dat_folder_among_clients_gives_one_client_per_dossier(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    shutil.copytree(SAMPLES / "winbiz" / "DAT", root / "winbiz")
    books(root / "rochat", "MARKER-ROCHAT")
    (root / "notes.txt").write_bytes(b"")
    found = bulk.survey(root)
    assert [(c.name, Path(c.source)) for c in found.clients] == [
        ("rochat", root / "rochat" / "journal.csv"),
        ("winbiz-boulangerie", root / "winbiz" / "boulangerie"),
        ("winbiz-garage", root / "winbiz" / "garage"),
    ]
    assert found.skipped == [bulk.Skipped(str(root / "notes.txt"), "an empty file")]
    # A root that is itself a DAT folder: each dossier a client, named after it.
    assert [c.name for c in bulk.survey(SAMPLES / "winbiz" / "DAT").clients] == ["boulangerie", "garage"]


def test_dry_run_shows_what_would_happen_and_writes_nothing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    mixed_root(root)
    out = tmp_path / "out"
    result = run_cli("bulk", root, "--to", "banana", "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert not out.exists()
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:] if line[:1].isalnum()}
    assert rows["garage"][1:] == ["winbiz", str(root / "garage"), "->", str(out / "garage")]
    assert rows["rochat"][1:] == ["csv", str(root / "rochat" / "journal.csv"), "->", str(out / "rochat")]
    assert rows["favre"][1:] == ["csv", str(root / "favre.zip"), "->", str(out / "favre")]
    assert "dossier garage (Garage du Lac Sàrl)" in result.output
    assert "dossier boulangerie (Boulangerie Rochat SA)" in result.output
    assert f"{root / 'photos'}: " in result.output and "no reader recognises" in result.output
    assert f"{root / '.trash'}: hidden" in result.output
    assert "dry run: 5 clients would be converted to banana, 3 entries skipped; nothing was written" in result.output


def _suffix(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()[:8]


def collision_root(root: Path) -> dict[str, str]:
    """Folders whose names differ only in characters that are replaced; returns folder -> marker."""
    markers = {"a?b": "MARKER-QUESTION", "a*b": "MARKER-STAR", "a_b-2": "MARKER-REAL-2", "a_b": "MARKER-REAL"}
    for name, marker in markers.items():
        books(root / name, marker)
    return markers


def check_collisions(root: Path, out: Path, result: bulk.BulkRun, markers: dict[str, str]) -> None:
    expected = {"a?b": f"a_b-{_suffix('a?b')}", "a*b": f"a_b-{_suffix('a*b')}", "a_b-2": "a_b-2", "a_b": "a_b"}
    assert result.ok
    assert {Path(r.source).parent.name: r.name for r in result.results} == expected
    all_markers = set(markers.values())
    for source, folder in expected.items():
        text = (out / folder / f"{folder}.csv").read_text(encoding="utf-8")
        assert markers[source] in text
        assert not [m for m in all_markers - {markers[source]} if f"{m}," in text], f"{folder} holds another's books"
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    assert {r["source"]: r["folder"] for r in overview["results"]} == {
        str(root / name / "journal.csv"): folder for name, folder in expected.items()
    }


def test_names_that_clash_once_cleaned_get_separate_outputs(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    markers = collision_root(root)
    out = tmp_path / "out"
    check_collisions(root, out, bulk.run(root, "csv", out, jobs=2), markers)
    # The suffix comes from the path, not the order: the same names again, from a list in another order.
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"clients/{n}\n" for n in reversed(markers)), encoding="utf-8")
    names = {c.origin: c.name for c in bulk.discover(listing)}
    assert names["clients/a?b"] == f"a_b-{_suffix('clients/a?b')}"
    assert names["clients/a_b"] == "a_b"


def test_names_that_clash_once_cleaned_stay_apart_under_dask(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed")
    root = tmp_path / "clients"
    markers = collision_root(root)
    out = tmp_path / "out"
    umask = os.umask(0o022)  # the tasks run in this process and set it
    try:
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster:
            result = bulk.run(root, "csv", out, scheduler=cluster.scheduler_address)
    finally:
        os.umask(umask)
    check_collisions(root, out, result, markers)


def test_clients_cannot_take_the_names_of_the_runs_own_files(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    names = ["overview.html", "catalog.sqlite", "Stale", "nul"]
    for number, name in enumerate(names):
        books(root / name, f"MARKER-{number}")
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=2)
    assert result.ok
    folders = {r.name for r in result.results}
    assert folders == {f"{name}-{_suffix(name)}" for name in names}
    assert (out / "overview.html").is_file() and (out / "catalog.sqlite").is_file()
    for number, name in enumerate(names):
        folder = f"{name}-{_suffix(name)}"
        assert f"MARKER-{number}" in (out / folder / f"{folder}.csv").read_text(encoding="utf-8")
    assert bulk.reserved(".migrator-bulk.lock") and bulk.reserved("OVERVIEW.JSON") and not bulk.reserved("overview")


def test_the_overview_escapes_names_paths_and_messages(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    name = "<img src=x onerror=alert(1)>"
    (root / name).mkdir(parents=True)
    (root / name / "journal.csv").write_text(HEADER + '1,1,2024-01-01,"<b>",x,1020,Bank,10.00,CHF\n', encoding="utf-8")
    books(root / "a&b", "MARKER-AMP")
    (root / ".<script>").mkdir()
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=2)
    statuses = {r.name: r.status for r in result.results}
    assert statuses == {"a_b": "ok", "_img src_x onerror_alert_1_": "problems"}
    html = (out / "overview.html").read_text(encoding="utf-8")
    assert "<img" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and ".&lt;script&gt;" in html
    assert 'href="a_b/a_b-report.html"' in html


def test_a_file_as_root_must_be_a_list_of_paths(tmp_path: Path) -> None:
    archive = tmp_path / "clients.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("alpha/journal.csv", HEADER)
    with pytest.raises(bulk.SourceError, match="a zip as ROOT: unpack it"):
        bulk.survey(archive)
    binary = tmp_path / "clients.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(bulk.SourceError, match="must list one path per line"):
        bulk.survey(binary)


def test_a_root_with_no_client_says_why(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    books(root / ".old", "MARKER-OLD")
    (root / "empty").mkdir()
    result = run_cli("bulk", root, "--to", "csv", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "no client folders or files found (.old: hidden (the name starts with '.'); empty: an empty folder)" in (
        result.output
    )
    assert not (tmp_path / "out").exists()
