"""Sources: zips unpacked safely, folders, atomic outputs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from migrator import pipeline
from migrator.errors import MigratorError, SourceError
from migrator.sources import opened, unpack_zip


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zipped_file_reads_like_the_file(tmp_path: Path, samples: Path) -> None:
    journal = samples / "garage" / "journal.csv"
    archive = make_zip(tmp_path / "books.zip", {"export/journal.csv": journal.read_bytes()})
    assert pipeline.detect(archive).format == "csv"
    assert pipeline.read(archive).counts() == pipeline.read(journal).counts()


@pytest.mark.parametrize("name", ["../evil.csv", "/abs/evil.csv", "a/../../evil.csv", "C:/evil.csv"])
def test_members_outside_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo(name)
        zf.writestr(info, b"x")
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError, match="outside the archive"):
        unpack_zip(archive, target)
    assert not (tmp_path / "evil.csv").exists()


def test_links_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError, match="is a link"):
        unpack_zip(archive, target)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.csv": b"0" * (50 << 20)})
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError, match="zip bomb"):
        unpack_zip(archive, target)


def test_corrupt_zip(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "c.zip", {"a.csv": b"date,account,amount\n" * 100})
    data = bytearray(archive.read_bytes())
    data[40:60] = b"\x00" * 20
    archive.write_bytes(bytes(data))
    target = tmp_path / "unpack"
    target.mkdir()
    with pytest.raises(SourceError):
        unpack_zip(archive, target)


def test_temporary_unpack_folder_is_removed(tmp_path: Path, samples: Path) -> None:
    archive = make_zip(tmp_path / "books.zip", {"journal.csv": (samples / "garage" / "journal.csv").read_bytes()})
    with opened(archive) as source:
        unpacked = source.path
        assert unpacked.exists()
    assert not unpacked.exists()


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        pipeline.read(tmp_path / "nothing.csv")


def test_failed_write_leaves_no_file(tmp_path: Path, garage, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from migrator.writers import csv as csv_writer

    def explode(self, ledger, target):  # type: ignore[no-untyped-def]
        target.write_text("half a file")
        raise OSError("disk full")

    monkeypatch.setattr(csv_writer.CsvWriter, "write", explode)
    out = tmp_path / "out.csv"
    with pytest.raises(OSError, match="disk full"):
        pipeline.write(garage, "csv", out)
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_output_is_replaced_whole_with_force(tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.csv"
    pipeline.write(garage, "csv", out)
    pipeline.write(garage.replace(lines=garage.lines.slice(0, 3)), "csv", out, force=True)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.csv.migrator.json", "out.csv"]


def test_one_file_format_refuses_a_folder(tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MigratorError, match="is a folder"):
        pipeline.write(garage, "csv", tmp_path)


@pytest.mark.parametrize("names, words", [
    (["j.csv", "j.csv"], "two members named 'j.csv'"),
    (["Journal.csv", "journal.CSV"], "two members named"),
    (["x", "x/journal.csv"], "'x' is a file where 'x/journal.csv' needs a folder"),
])  # fmt: skip
def test_zip_members_that_clash_are_a_clear_message(run_cli, tmp_path: Path, names: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    import warnings
    import zipfile

    archive = tmp_path / "books.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(archive, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it is asked to write
        for number, name in enumerate(names):
            zf.writestr(name, f"member {number}")
    result = run_cli("inspect", archive)
    assert result.exit_code == 2 and words in result.output and "books.zip" in result.output, result.output
