"""Hostile and broken input, for every reader: a clear message or a correct result, never a traceback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import pipeline, registry
from migrator.errors import MigratorError, SourceError
from migrator.sources import Source

READERS = [f.name for f in registry.readable()]
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE AuditFile [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<AuditFile xmlns="urn:StandardAuditFile-Taxation-Financial:NO"><Header>&secret;</Header></AuditFile>
"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE VFPData [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<VFPData><c_tmpexport libelle="&d;&d;&d;&d;&d;&d;&d;&d;"/></VFPData>
"""


def read_directly(fmt: str, path: Path) -> None:
    """Read with the format's own reader: only a ledger or a MigratorError may come out."""
    reader = registry.get(fmt).reader()
    try:
        reader.read(Source(path), pipeline.ReadOptions())
    except MigratorError:
        pass


def xml_readers() -> list[str]:
    return [f.name for f in registry.readable() if ".xml" in f.extensions or f.name in ("gnucash", "winbiz")]


@pytest.mark.parametrize("fmt", xml_readers())
@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["external-entity", "entity-bomb"])
def test_xml_entities_are_refused(tmp_path: Path, fmt: str, payload: bytes) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(payload)
    with pytest.raises(SourceError, match="entities"):
        pipeline.read(path, fmt)


@pytest.mark.parametrize("fmt", READERS)
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("zero.bin", b""),
        ("header-only.csv", b"date;account;amount\n"),
        ("utf16-no-bom.csv", "date,account,amount\n2024-01-01,1000,1.00\n".encode("utf-16-le")),
        ("random.bin", bytes((i * 7919) % 256 for i in range(4096))),
        ("long-line.txt", b"x" * (10 << 20) + b"\n"),
        ("nul.txt", b"\x00" * 1000),
    ],
)
def test_junk_gives_a_message_or_a_result(tmp_path: Path, fmt: str, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    read_directly(fmt, path)


@pytest.mark.parametrize("fmt", READERS)
def test_an_empty_folder(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(MigratorError):
        pipeline.read(tmp_path, fmt)


def _sample_inputs() -> Iterator[Path]:
    samples = Path(__file__).resolve().parent.parent / "samples"
    for path in sorted(samples.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".md", ".sh") and "__pycache__" not in path.parts:
            yield path


def test_no_command_modifies_its_inputs(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs = list(_sample_inputs())
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    modes = {p: p.stat().st_mode for p in inputs}
    for folder in sorted({p.parent for p in inputs if p.parent != samples}):
        for path in [folder, *sorted(p for p in folder.iterdir() if p.is_file())]:
            run_cli("detect", path)
            run_cli("inspect", path, "--json")
            run_cli("convert", path, "--to", "csv", "-o", tmp_path / "out.csv", "--allow-problems")
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs} == before
    assert {p: p.stat().st_mode for p in inputs} == modes
