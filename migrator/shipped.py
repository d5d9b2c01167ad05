"""Where the data files migrator ships are: the `mappings/` folder (charts, account and VAT maps).

In a checkout they are the repository's `mappings/`; in an installed wheel the same files sit inside
the package (`migrator/mappings/`, put there by the build: see `pyproject.toml`).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

MAPPINGS = _PACKAGE / "mappings" if (_PACKAGE / "mappings").is_dir() else _PACKAGE.parent / "mappings"
"""The shipped mappings folder."""
