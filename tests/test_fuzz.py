"""Fuzzing every reader with mutated samples: only a ledger or a clear MigratorError may come out.

A bounded number of examples runs in the normal suite; `make fuzz` runs many more
(MIGRATOR_FUZZ_EXAMPLES). A crash found is fixed and its input kept in tests/fuzz-regressions/.
"""

from __future__ import annotations

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
        try:
            reader.read(Source(path), ReadOptions())
        except MigratorError:
            pass


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


@pytest.mark.parametrize(("fmt", "sample"), SEEDS, ids=[f"{f}-{p.name}" for f, p in SEEDS])
def test_mutated_samples_never_crash(fmt: str, sample: Path) -> None:
    data = sample.read_bytes()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(mutated(data))
    def check(fuzzed: bytes) -> None:
        read(fmt, fuzzed, sample.suffix)

    check()


@pytest.mark.parametrize("case", sorted(REGRESSIONS.glob("*")) if REGRESSIONS.is_dir() else [], ids=lambda p: p.name)
def test_regressions(case: Path) -> None:
    fmt = case.name.split("--", 1)[0]
    read(fmt, case.read_bytes(), case.suffix)
