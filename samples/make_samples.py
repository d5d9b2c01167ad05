"""Regenerate every sample from the one demo ledger in `garage.py`.

Run from the repository root: ``python samples/make_samples.py``. Each vendor folder may hold a
``generate.py`` with a ``generate(ledger, folder)`` function; it is called with the garage ledger.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import garage  # noqa: E402

from migrator.pipeline import write  # noqa: E402


def main() -> None:
    ledger = garage.ledger()
    (HERE / "garage").mkdir(exist_ok=True)
    write(ledger, "csv", HERE / "garage" / "journal.csv")
    for generator in sorted(HERE.glob("*/generate.py")):
        spec = importlib.util.spec_from_file_location(f"samples_{generator.parent.name}", generator)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.generate(ledger, generator.parent)
        print(f"wrote samples/{generator.parent.name}/")
    print("wrote samples/garage/journal.csv")


if __name__ == "__main__":
    main()
