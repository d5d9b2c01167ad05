"""Fuzzing every reader with mutated samples: only a ledger or a clear MigratorError may come out.

A bounded number of examples runs in the normal suite; `make fuzz` runs many more
(MIGRATOR_FUZZ_EXAMPLES). A crash found is fixed and its input kept in tests/fuzz-regressions/.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator import registry
from migrator.errors import MigratorError
from migrator.readers.base import ReadOptions
from migrator.sources import Source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("MIGRATOR_FUZZ_EXAMPLES", "25"))
REGRESSIONS = Path(__file__).resolve().parent / "fuzz-regressions"
MAX_SAMPLE = 64 << 10


def seeds() -> list[tuple[str, Path]]:
    """(format, sample file) pairs: every small sample file a reader claims."""
    from migrator.pipeline import detect

    pairs = []
    for path in sorted((ROOT / "samples").rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".sh", ".md") or path.stat().st_size > MAX_SAMPLE:
            continue
        try:
            found = detect(path)
        except MigratorError:
            continue
        pairs.append((found.format, path))
    return pairs


def read(fmt: str, data: bytes, suffix: str) -> None:
    reader = registry.get(fmt).reader()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(MigratorError):
            reader.read(Source(path), ReadOptions())


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not buffer:
            break
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, len(buffer) - 1))
        if action == "flip":
            buffer[at] = draw(st.integers(0, 255))
        elif action == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del buffer[at : at + draw(st.integers(1, 32))]
        elif action == "truncate":
            del buffer[at:]
        else:
            end = min(len(buffer), at + draw(st.integers(1, 64)))
            buffer[at:at] = buffer[at:end]
    return bytes(buffer)


SEEDS = seeds()


def fuzz(fmt: str, data: bytes, suffix: str) -> None:
    """Read EXAMPLES mutations of `data` as format `fmt`."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(mutated(data))
    def check(fuzzed: bytes) -> None:
        read(fmt, fuzzed, suffix)

    check()


@pytest.mark.parametrize(("fmt", "sample"), SEEDS, ids=[f"{f}-{p.name}" for f, p in SEEDS])
def test_mutated_samples_never_crash(fmt: str, sample: Path) -> None:
    fuzz(fmt, sample.read_bytes(), sample.suffix)


# Real files of formats whose samples folder lacks them (or holds only generated ones); small ones only.
REFERENCE_SEEDS = [
    ("datev", "datev/EXTF_Buchungsstapel_v510_fmt7_sample_DAMAGED-ENCODING.csv"),
    ("sie", "sie/BL0001_typ4I.SI"),
    ("sie", "sie/magenta_bokforing_SIE4E.se"),
    ("cresus", "vendors/cresus/oca_cresus_export.txt"),
    ("bexio", "vendors/bexio/bexio_journal_export_20221223.csv"),
]


@pytest.mark.parametrize(("fmt", "relative"), REFERENCE_SEEDS, ids=[f"{f}-{Path(r).name}" for f, r in REFERENCE_SEEDS])
def test_mutated_reference_files_never_crash(reference: Path, fmt: str, relative: str) -> None:
    path = reference / relative
    fuzz(fmt, path.read_bytes(), path.suffix)


# Readable formats without a sample file: their writer's output for the demo company is the seed.
WRITTEN_SEEDS = ("datev", "sie")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    import garage

    from migrator import pipeline

    ledger = garage.ledger()
    out: dict[str, list[Path]] = {}
    for fmt in WRITTEN_SEEDS:
        target = tmp_path_factory.mktemp(fmt) / f"garage{registry.get(fmt).default_extension}"
        pipeline.write(ledger, fmt, target)
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        out[fmt] = [p for p in files if p.suffix.lower() in registry.get(fmt).extensions]
    return out


@pytest.mark.parametrize("fmt", WRITTEN_SEEDS)
def test_mutated_written_files_never_crash(written: dict[str, list[Path]], fmt: str) -> None:
    assert written[fmt], f"the {fmt} writer wrote no file its reader reads"
    for path in written[fmt]:
        fuzz(fmt, path.read_bytes(), path.suffix)


@pytest.mark.parametrize("case", sorted(REGRESSIONS.glob("*")) if REGRESSIONS.is_dir() else [], ids=lambda p: p.name)
def test_regressions(case: Path) -> None:
    fmt = case.name.split("--", 1)[0]
    read(fmt, case.read_bytes(), case.suffix)
