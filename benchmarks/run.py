"""`make bench`: time migrator as a user runs it, beside its peers and the raw floor, on the same books.

Each case runs as a separate process (`migrator convert …`, validation and verification on) several
times; the median wall time and the peak memory (max RSS of the child) are reported, with lines per
second and the ratio to the pyarrow floor and to the peers. Results go to benchmarks/results.md.
Timings are never asserted in the test suite.

    python -m benchmarks.run                 # the default cases
    python -m benchmarks.run --quick         # 100k entries only, one run each
    python -m benchmarks.run --case csv-csv  # one case
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MIGRATOR = str(Path(sys.executable).with_name("migrator"))


@dataclass
class Measure:
    case: str
    entries: int
    lines: int
    seconds: list[float] = field(default_factory=list)  # float-ok: wall-clock seconds
    peak_mib: float = 0.0  # float-ok: memory in MiB
    note: str = ""

    @property
    def median(self) -> float:  # float-ok: seconds
        return statistics.median(self.seconds) if self.seconds else float("nan")  # float-ok

    @property
    def lines_per_second(self) -> float:  # float-ok
        return self.lines / self.median if self.seconds else 0.0


def _run(command: list[str], runs: int) -> tuple[list[float], float]:  # float-ok: seconds and MiB
    """Wall times of `runs` runs of `command` and the largest peak RSS of any run."""
    times = []
    peak = 0.0  # float-ok
    for _ in range(runs):
        started = time.perf_counter()
        with tempfile.TemporaryFile() as errors:
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _pid, status, usage = os.wait4(child.pid, 0)
            elapsed = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise RuntimeError(f"{' '.join(command)} failed: {errors.read().decode()[-500:]}")
        times.append(elapsed)
        peak = max(peak, usage.ru_maxrss / 1024)
    return times, peak


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def floor_command(entries: int, work: Path) -> list[str]:
    """pyarrow reading and writing the same CSV with no checks at all."""
    from benchmarks.generate import write_csv

    code = "import pyarrow.csv as c, sys; t = c.read_csv(sys.argv[1]); c.write_csv(t, sys.argv[2])"
    return [*_python(code), str(write_csv(entries, DATA)), str(work / "floor.csv")]


def hledger_journal(entries: int) -> Path:
    from benchmarks.generate import ledger
    from migrator.pipeline import write

    path = DATA / f"books-{entries}.journal"
    if not path.exists():
        write(ledger(entries), "hledger", path)
    return path


@dataclass
class Case:
    name: str
    sizes: tuple[int, ...]
    command: Callable[[int, Path], list[str]]
    needs: str = ""  # a program or format that must exist


def _convert(to: str, suffix: str) -> Callable[[int, Path], list[str]]:
    def command(entries: int, work: Path) -> list[str]:
        from benchmarks.generate import write_csv

        return [MIGRATOR, "convert", str(write_csv(entries, DATA)), "--to", to, "-o", str(work / f"out{suffix}")]

    return command


CASES = [
    Case("csv-csv", (100_000, 1_000_000), _convert("csv", ".csv")),
    Case("floor-pyarrow", (100_000, 1_000_000), floor_command),
    Case("csv-xlsx", (100_000,), _convert("xlsx", ".xlsx"), needs="format:xlsx"),
    Case("csv-saft", (100_000, 1_000_000), _convert("saft", ".xml"), needs="format:saft"),
    Case("csv-banana", (100_000, 1_000_000), _convert("banana", ""), needs="format:banana"),
    Case("hledger-print", (100_000,), lambda n, work: ["hledger", "-f", str(hledger_journal(n)), "print", "-O", "csv",
                                                       "-o", str(work / "h.csv")], needs="hledger"),  # fmt: skip
    Case("ledger-csv", (100_000,), lambda n, work: ["ledger", "-f", str(hledger_journal(n)), "csv",
                                                    "--output", str(work / "l.csv")], needs="ledger"),  # fmt: skip
]  # fmt: skip


def _available(need: str) -> bool:
    if not need:
        return True
    if need.startswith("format:"):
        from migrator import registry

        return any(f.name == need.split(":", 1)[1] for f in registry.formats())
    return shutil.which(need) is not None and _available("format:hledger")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k entries only, one run each")
    parser.add_argument("--case", action="append", help="run only these cases")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    results: list[Measure] = []
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        if not _available(case.needs):
            print(f"skip {case.name}: {case.needs} not available")
            continue
        for size in case.sizes:
            if args.quick and size > 100_000:
                continue
            with tempfile.TemporaryDirectory(prefix="migrator-bench-") as work:
                command = case.command(size, Path(work))
                lines = size * 14 // 5
                seconds, peak = _run(command, runs)
                results.append(Measure(case.name, size, lines, seconds, peak))
                print(f"{case.name:<14} {size:>9} entries  {results[-1].median:7.2f} s  "
                      f"{results[-1].lines_per_second:>12,.0f} lines/s  {peak:7.0f} MiB")  # fmt: skip
    write_results(results, runs)
    return 0


def write_results(results: list[Measure], runs: int) -> None:
    floor = {m.entries: m.median for m in results if m.case == "floor-pyarrow"}
    peers = {(m.case, m.entries): m.median for m in results if m.case in ("hledger-print", "ledger-csv")}
    rows = []
    for m in results:
        ratio_floor = f"{m.median / floor[m.entries]:.1f}×" if m.entries in floor else ""
        hledger = peers.get(("hledger-print", m.entries))
        vs_hledger = f"{hledger / m.median:.1f}× faster" if hledger and m.case.startswith("csv") else ""
        rows.append(f"| {m.case} | {m.entries:,} | {m.lines:,} | {m.median:.2f} | {m.lines_per_second:,.0f} | "
                    f"{m.peak_mib:,.0f} | {ratio_floor} | {vs_hledger} |")  # fmt: skip
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    text = [
        "# Benchmark results",
        "",
        f"Machine: {machine}. Median of {runs} run(s) each, as a user runs it (`migrator convert`, validation and",
        "verification on). Peak memory is the child process's maximum resident set size.",
        "",
        "| case | entries | lines | seconds | lines/s | peak MiB | × pyarrow floor | vs hledger |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    notes = HERE / "NOTES.md"
    if notes.exists():
        text += ["", notes.read_text(encoding="utf-8")]
    (HERE / "results.md").write_text("\n".join(text), encoding="utf-8")
    print(f"wrote {HERE / 'results.md'}")


if __name__ == "__main__":
    sys.exit(main())
