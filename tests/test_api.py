"""The Python API as the README shows it: the README's example runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import migrator

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    os.symlink(ROOT / "samples", tmp_path / "samples")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "out.csv").exists()


def test_public_names_resolve() -> None:
    for name in migrator.__all__:
        assert getattr(migrator, name) is not None, name
    with pytest.raises(AttributeError):
        migrator.no_such_thing  # noqa: B018
