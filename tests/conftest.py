"""Shared fixtures: the demo ledger, the public reference files, and a CLI runner."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
REFERENCE = Path(os.environ.get("MIGRATOR_REFERENCE", ROOT.parent / "shared" / "reference"))
GOLDEN = Path(__file__).resolve().parent / "golden"

sys.path.insert(0, str(SAMPLES))

# The tests read messages, guides and golden files in English whatever the developer's own locale;
# the tests of other languages set theirs explicitly (--lang, LANG in a subprocess, monkeypatch).
for _name in ("MIGRATOR_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(scope="session")
def garage():
    """The demo company's books (samples/garage.py) as a canonical Ledger."""
    import garage as garage_module

    return garage_module.ledger()


@pytest.fixture(scope="session")
def reference() -> Path:
    """The public reference files (../shared/reference); tests skip visibly if they are absent."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference files not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Run `migrator ARGS…` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from migrator.cli import cli

    def run(*args: str | os.PathLike[str]) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return run


def golden(name: str, actual: str | bytes) -> None:
    """Compare with tests/golden/NAME; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(actual, bytes):
            path.write_bytes(actual)
        else:
            path.write_text(actual, encoding="utf-8", newline="")
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"golden file {name} did not exist; it was written: check it and commit it")
    expected = path.read_bytes() if isinstance(actual, bytes) else path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from tests/golden/{name} (UPDATE_GOLDEN=1 to accept)"
