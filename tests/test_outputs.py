"""Outputs never replace what migrator did not write: each case as a new user would hit it.

After every refused command the protected files must still be there, byte for byte.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import outputs, pipeline
from migrator.outputs import MANIFEST, OutputError

ROOT = Path(__file__).resolve().parent.parent


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (or the file itself) with its SHA-256."""
    paths = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def books(tmp_path: Path, samples: Path) -> Path:
    """A copy of the Winbiz data folder, as a user's only copy of the books."""
    copy = tmp_path / "DAT"
    shutil.copytree(samples / "winbiz" / "DAT", copy)
    return copy


@pytest.fixture
def journal(tmp_path: Path, samples: Path) -> Path:
    path = tmp_path / "x.csv"
    shutil.copy(samples / "garage" / "journal.csv", path)
    return path


def refused(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_a_folder_holding_the_users_files_is_refused(run_cli, books: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mydocs = tmp_path / "mydocs"
    (mydocs / "sub").mkdir(parents=True)
    (mydocs / "letter.docx").write_bytes(b"PK\x03\x04 a letter")
    (mydocs / "sub" / "photo.jpg").write_bytes(b"\xff\xd8 a photo")
    before = snapshot(mydocs)
    result = run_cli("convert", books, "--dossier", "garage", "--to", "banana", "-o", mydocs)
    refused(result, "already holds 2", "letter.docx", "--force")
    assert snapshot(mydocs) == before
    result = run_cli("convert", books, "--dossier", "garage", "--to", "banana", "-o", mydocs, "--force")
    refused(result, "migrator did not write")
    assert snapshot(mydocs) == before
    assert sorted(p.name for p in mydocs.iterdir()) == ["letter.docx", "sub"]  # no temporary folder left


@pytest.mark.parametrize("where", ["source", "above", "inside"])
def test_an_output_on_above_or_inside_the_source_is_refused(run_cli, books: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    out = {"source": books, "above": books.parent, "inside": books / "garage" / "out"}[where]
    before = snapshot(books)
    for force in ([], ["--force"]):
        result = run_cli("convert", books, "--dossier", "garage", "--to", "banana", "-o", out, *force)
        refused(result, {"source": "is the source", "above": "contains the source", "inside": "lies inside"}[where])
        assert snapshot(books) == before


def test_the_source_file_is_never_overwritten(run_cli, journal: Path) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(journal)
    for force in ([], ["--force"]):
        refused(run_cli("convert", journal, "--to", "infoniqa", "-o", journal, *force), "is the source")
        refused(run_cli("convert", journal, "--to", "csv", "-o", journal.parent / "y.csv", "--report", journal, *force),
                "is the source")  # fmt: skip
    assert snapshot(journal) == before


def test_report_and_output_may_not_share_a_path(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.csv"
    result = run_cli("convert", journal, "--to", "csv", "-o", out, "--report", out)
    refused(result, "two outputs")
    assert not out.exists()
    folder = tmp_path / "banana"
    result = run_cli("convert", journal, "--to", "banana", "-o", folder, "--report", folder / "report.html")
    refused(result, "inside each other")


def test_an_existing_file_is_refused_and_kept(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "books.xlsx"
    out.write_bytes(b"the accountant's own workbook")
    for force in ([], ["--force"]):
        result = run_cli("convert", journal, "--to", "xlsx", "-o", out, *force)
        refused(result, str(out))
        assert out.read_bytes() == b"the accountant's own workbook"
    report = tmp_path / "report.html"
    report.write_text("<p>signed last year</p>")
    refused(
        run_cli("convert", journal, "--to", "csv", "-o", tmp_path / "new.csv", "--report", report), "already exists"
    )
    assert report.read_text() == "<p>signed last year</p>"
    assert not (tmp_path / "new.csv").exists()  # refused before anything was written


def test_force_replaces_an_earlier_output_and_only_its_files(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "banana"
    assert run_cli("convert", journal, "--to", "banana", "-o", out, "--no-verify").exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["tool"] == "migrator" and "README.txt" in manifest["files"]
    listed = {str(out / name): digest for name, digest in manifest["files"].items()}
    assert listed == {path: digest for path, digest in snapshot(out).items() if not path.endswith(MANIFEST)}
    refused(
        run_cli("convert", journal, "--to", "banana", "-o", out, "--no-verify"), "an earlier migrator output", "--force"
    )
    assert run_cli("convert", journal, "--to", "banana", "-o", out, "--force", "--no-verify").exit_code == 0
    # a file the user put into the output folder stops --force, and survives
    (out / "notes.txt").write_text("mine")
    refused(
        run_cli("convert", journal, "--to", "banana", "-o", out, "--force", "--no-verify"), "notes.txt", "did not write"
    )
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    # so does a file of the output changed since
    readme = out / "README.txt"
    readme.write_text(readme.read_text(encoding="utf-8") + "edited", encoding="utf-8")
    refused(
        run_cli("convert", journal, "--to", "banana", "-o", out, "--force", "--no-verify"),
        "changed after migrator wrote it",
    )
    assert readme.read_text(encoding="utf-8").endswith("edited")


def test_force_on_a_file_output(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    assert run_cli("convert", journal, "--to", "csv", "-o", out, "--report", report).exit_code == 0
    assert outputs.read_manifest(outputs.sidecar(out)) is not None
    refused(run_cli("convert", journal, "--to", "csv", "-o", out, "--report", report), "already exists")
    assert run_cli("convert", journal, "--to", "csv", "-o", out, "--report", report, "--force").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.csv.migrator.json",
        ".report.json.migrator.json",
        "out.csv",
        "report.json",
        "x.csv",
    ]


def test_the_current_folder(run_cli, journal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert run_cli("convert", journal, "--to", "banana", "-o", ".", "--no-verify").exit_code == 0
    assert (empty / "README.txt").is_file() and (empty / MANIFEST).is_file()
    assert not [p for p in empty.iterdir() if p.name.startswith(outputs.PART)]
    monkeypatch.chdir(tmp_path)  # holds the source
    refused(run_cli("convert", journal, "--to", "banana", "-o", ".", "--no-verify"), "contains the source")


def test_mapping_suggest_never_overwrites(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    draft = tmp_path / "draft.csv"
    draft.write_text("my own map")
    refused(run_cli("mapping", "suggest", journal, "--to", "kmu", "-o", draft), "already exists")
    refused(run_cli("mapping", "suggest", journal, "--to", "kmu", "-o", journal, "--force"), "is the source")
    assert draft.read_text() == "my own map"


def test_verify_report_never_overwrites_its_inputs(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.xlsx"
    assert run_cli("convert", journal, "--to", "xlsx", "-o", out).exit_code == 0
    before = snapshot(out)
    refused(run_cli("verify", journal, out, "--report", out, "--force"), "is the source")
    assert snapshot(out) == before


def test_a_read_only_output_folder_is_a_clear_message(run_cli, journal: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    refused(run_cli("convert", journal, "--to", "csv", "-o", locked / "out.csv"), "permission denied")


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only"),
                                          (errno.EACCES, "permission denied")])  # fmt: skip
def test_environment_faults_while_writing(run_cli, journal: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          code: int, words: str) -> None:  # fmt: skip
    from migrator.writers import csv as csv_writer

    def failing(self, ledger, target: Path):  # type: ignore[no-untyped-def]
        target.write_text("half")
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(csv_writer.CsvWriter, "write", failing)
    result = run_cli("convert", journal, "--to", "csv", "-o", tmp_path / "out" / "x.csv")
    refused(result, words, "nothing half-written")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_leave_no_part_file(journal: Path, tmp_path: Path, signum: int) -> None:
    """The process is signalled while its writer is half-way: it stops like on Ctrl-C, no `.part` stays."""
    out = tmp_path / "out"
    script = f"""
import os, signal, sys
from migrator.writers import csv as csv_writer
def write(self, ledger, target):
    target.write_text("half")
    os.kill(os.getpid(), {int(signum)})
    raise AssertionError("the signal did not stop the write")
csv_writer.CsvWriter.write = write
sys.argv = ["migrator", "convert", {str(journal)!r}, "--to", "csv", "-o", {str(out / "x.csv")!r}]
from migrator.cli import main
main()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 128 + signum, done.stderr
    assert "nothing half-written" in done.stderr
    assert list(out.iterdir()) == []


def test_library_refuses_like_the_cli(journal: Path, garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OutputError, match="is the source"):
        pipeline.convert(journal, "csv", journal)
    pipeline.write(garage, "csv", tmp_path / "a.csv")
    with pytest.raises(OutputError, match="already exists"):
        pipeline.write(garage, "csv", tmp_path / "a.csv")


# ------------------------------------------------------------------------------------------------ bulk


@pytest.fixture
def clients(tmp_path: Path, samples: Path) -> Path:
    root = tmp_path / "clients"
    for name in ("alpha", "beta"):
        (root / name).mkdir(parents=True)
        shutil.copy(samples / "garage" / "journal.csv", root / name / "journal.csv")
    return root


@pytest.mark.parametrize("where", ["root", "inside", "above"])
def test_bulk_never_writes_on_inside_or_above_the_clients(run_cli, clients: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    out = {"root": clients, "inside": clients / "migrated", "above": clients.parent}[where]
    before = snapshot(clients)
    for flags in ([], ["--force"], ["--resume"]):
        result = run_cli("bulk", clients, "--to", "sqlite", "-o", out, *flags)
        refused(result, {"root": "is the client books", "inside": "lies inside", "above": "contains"}[where])
        assert snapshot(clients) == before
    assert not (clients / "migrated").exists()


def test_bulk_outdir_holding_other_files_is_refused(run_cli, clients: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "migrated"
    out.mkdir()
    (out / "alpha").mkdir()
    (out / "alpha" / "contract.pdf").write_bytes(b"%PDF the client's contract")
    before = snapshot(out)
    for flags in ([], ["--force"], ["--resume"]):
        refused(run_cli("bulk", clients, "--to", "sqlite", "-o", out, *flags), "not an earlier bulk run", "alpha")
        assert snapshot(out) == before


def test_bulk_again_needs_resume_or_force_and_keeps_what_it_did_not_write(
    run_cli, clients: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "migrated"
    assert run_cli("bulk", clients, "--to", "sqlite", "-o", out, "--jobs", "1").exit_code == 0
    manifest = outputs.read_manifest(out / "alpha" / MANIFEST)
    assert manifest is not None and "alpha.sqlite" in manifest["files"]
    refused(run_cli("bulk", clients, "--to", "sqlite", "-o", out), "earlier bulk run", "--resume", "--force")
    (out / "beta" / "notes.txt").write_text("the fiduciary's notes")
    result = run_cli("bulk", clients, "--to", "sqlite", "-o", out, "--force", "--jobs", "1")
    assert result.exit_code == 5, result.output
    assert "alpha" in result.output and "notes.txt" in result.output
    assert (out / "beta" / "notes.txt").read_text() == "the fiduciary's notes"
    assert (out / "beta" / "beta.sqlite").is_file()  # its earlier output is left whole beside the notes
    assert (out / "notes.txt").exists() is False
