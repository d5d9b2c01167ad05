"""bexio writer: linear time, VAT rounded to 0.05 carried with its code, a chart bexio's import takes."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from migrator.model import Ledger
from migrator.writers.bexio import BexioWriter

ROOT = Path(__file__).resolve().parent.parent


def generated(entries: int) -> Ledger:
    """The benchmark's books of `entries` entries (four in five a sale with its VAT line)."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ledger(entries)  # type: ignore[no-any-return]


def cpu_seconds_to_write(ledger: Ledger, folder: Path) -> float:  # float-ok: seconds
    """The least CPU time of this process (not wall time: the machine is shared) over two writes."""
    best = float("inf")  # float-ok: seconds
    for attempt in range(2):
        target = folder / f"w{attempt}"
        target.mkdir(parents=True)
        started = time.process_time()
        BexioWriter().write(ledger, target)
        best = min(best, time.process_time() - started)
    return best


def test_writer_time_grows_linearly(tmp_path: Path) -> None:
    """24k entries take about twice as long as 12k (the old placeholder loop took 5 times as long)."""
    small = cpu_seconds_to_write(generated(12_000), tmp_path / "small")
    large = cpu_seconds_to_write(generated(24_000), tmp_path / "large")
    assert large < 3.5 * small, (small, large)
