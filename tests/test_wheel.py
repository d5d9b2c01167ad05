"""The wheel is what users install: built from the repository, installed into a fresh virtual
environment, it converts books with a shipped map from a folder outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)  # fmt: skip
    [built] = out.glob("migrator-*.whl")
    return built


def test_the_wheel_ships_the_mappings(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.removeprefix("migrator/mappings/") for n in names if n.startswith("migrator/mappings/")}
    expected = {p.relative_to(ROOT / "mappings").as_posix() for p in (ROOT / "mappings").rglob("*") if p.is_file()}
    assert shipped == expected
    assert "migrator/py.typed" in names and "migrator/cli.py" in names
    assert not [n for n in names if n.startswith(("tests/", "samples/", "benchmarks/"))]


def test_installed_wheel_converts_with_a_shipped_map_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    # The dependencies come from the test environment (no network); migrator itself only from the wheel.
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(purelib),
                    str(wheel)], check=True, capture_output=True, timeout=300)  # fmt: skip
    dependencies = sysconfig.get_paths()["purelib"]
    (purelib / "dependencies.pth").write_text(dependencies + "\n")  # appended after the venv's own packages
    work = tmp_path / "elsewhere"
    work.mkdir()
    source = work / "journal.csv"
    source.write_bytes((ROOT / "samples" / "garage" / "journal.csv").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import migrator, migrator.shipped as s; print(migrator.__file__); print(s.MAPPINGS)"],
                           check=True, capture_output=True, text=True, cwd=work, env=env).stdout.split()  # fmt: skip
    assert where[0].startswith(str(purelib)) and where[1] == str(purelib / "migrator" / "mappings")
    done = subprocess.run([python, "-m", "migrator.cli", "convert", "journal.csv", "--to", "xlsx", "--map",
                           "winbiz-bexio", "-o", "out.xlsx", "--report", "report.json"],
                          capture_output=True, text=True, cwd=work, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    report = (work / "report.json").read_text(encoding="utf-8")
    assert '"mapping": "winbiz-bexio"' in report or "winbiz-bexio" in report
    assert (work / "out.xlsx").is_file()
