"""`make bench`: time migrator as a user runs it, beside its peers and the raw floor, on the same books.

Each case runs as a separate process (`migrator convert …`, validation and verification on) several
times; the median wall time and the peak memory (max RSS of the child and its children) are reported,
with lines per second and the ratio to the pyarrow floor and to the peers. Results go to
benchmarks/results.md (with benchmarks/NOTES.md appended). Timings are never asserted in the test suite.

    python -m benchmarks.run                 # the default cases
    python -m benchmarks.run --quick         # small sizes only (20k entries, small bulk), one run each
    python -m benchmarks.run --case csv-csv  # one case (repeat --case for several)
    python -m benchmarks.run --case csv-csv --size 10000000 --runs 1   # a size by hand
    python -m benchmarks.run --case csv-gnucash --size 1000000 --merge  # add rows to the last run's table

There is a case per writer (`csv-<format>`: the canonical CSV converted to that format, verification on
where the format has a reader) at 100k and 200k entries, and at 1M where the target holds it; the floor
and hledger run at the same sizes, so every writer's row has its ratio to both from the same run.
A case that fails is reported as failed, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
MIGRATOR = str(Path(sys.executable).with_name("migrator"))
K, M = 1_000, 1_000_000
PEERS = ("hledger-print", "ledger-csv")
LAST = DATA / "last-run.json"


@dataclass
class Measure:
    case: str
    entries: int
    lines: int
    seconds: list[float] = field(default_factory=list)  # float-ok: wall-clock seconds
    peak_mib: float = 0.0  # float-ok: memory in MiB
    failed: str = ""
    """Why the case failed (the end of its error output), or empty."""

    @property
    def median(self) -> float:  # float-ok: seconds
        return statistics.median(self.seconds) if self.seconds else float("nan")  # float-ok

    @property
    def lines_per_second(self) -> float:  # float-ok
        return self.lines / self.median if self.seconds and self.lines else 0.0


TIMEOUT = 1800
"""Seconds a run may take before it is stopped and reported as failed (`--timeout`)."""


def _run(command: list[str], runs: int, work: Path, timeout: float = TIMEOUT) -> tuple[list[float], float]:  # float-ok
    """Wall times of `runs` runs of `command` and the largest peak RSS of any run. Each run starts
    from an empty `work` folder, as the first does (deleting a previous output is not timed). A run
    still going after `timeout` seconds is stopped: a RuntimeError, as for a run that fails."""
    times = []
    peak = 0.0  # float-ok
    for _ in range(runs):
        for old in work.iterdir():
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        started = time.perf_counter()
        with tempfile.TemporaryFile() as errors:
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            stopper = threading.Timer(timeout, child.kill)
            stopper.start()
            try:
                _pid, status, usage = os.wait4(child.pid, 0)
            finally:
                stopper.cancel()
            elapsed = time.perf_counter() - started
            if elapsed >= timeout and os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{' '.join(command)} stopped after {timeout:.0f} s")
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise RuntimeError(f"{' '.join(command)} failed: {errors.read().decode()[-500:]}")
        times.append(elapsed)
        peak = max(peak, usage.ru_maxrss / 1024)
    return times, peak


# ------------------------------------------------------------------------------------------- cases


def _generated(function: str, *args: int) -> str:
    """The input `benchmarks.generate.<function>` makes (once, cached in benchmarks/data).

    Generated in a child process: this process stays small, because a child that the kernel starts
    from it inherits its peak memory as the child's own starting peak."""
    code = (
        "import sys; from pathlib import Path; from benchmarks import generate; "
        f"print(generate.{function}(*map(int, sys.argv[1:]), Path({str(DATA)!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=HERE.parent, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def _csv(entries: int) -> str:
    return _generated("write_csv", entries)


def _convert(to: str, suffix: str, *options: str) -> Callable[[int, Path], list[str]]:
    def command(entries: int, work: Path) -> list[str]:
        return [MIGRATOR, "convert", _csv(entries), "--to", to, "-o", str(work / f"out{suffix}"), *options]

    return command


def _floor(entries: int, work: Path) -> list[str]:
    """pyarrow reading and writing the same CSV with no checks at all."""
    code = "import pyarrow.csv as c, sys; c.write_csv(c.read_csv(sys.argv[1]), sys.argv[2])"
    return [sys.executable, "-c", code, _csv(entries), str(work / "floor.csv")]


def _journal(entries: int) -> str:
    return _generated("write_journal", entries)


def _winbiz(rows: int, work: Path) -> list[str]:
    return [MIGRATOR, "convert", _generated("write_winbiz", rows), "--to", "csv", "-o", str(work / "out.csv")]


def _bulk(jobs: int) -> Callable[[int, Path], list[str]]:
    def command(clients: int, work: Path) -> list[str]:
        root = _generated("write_clients", clients, BULK_ENTRIES)
        return [MIGRATOR, "bulk", str(root), "--to", "csv", "-o", str(work / "out"), "--jobs", str(jobs)]

    return command


BULK_ENTRIES = 500


def _entries_lines(case: str, size: int) -> tuple[int, int]:
    """Entries and journal lines of a case at `size` (entries, Winbiz rows or clients)."""
    if case.startswith("bulk"):
        return size * BULK_ENTRIES, size * BULK_ENTRIES * 14 // 5
    if case == "winbiz-csv":
        entries = -(-size * 5 // 9)
        return entries, size + entries  # every row is a line against the entry's common account
    return size, size * 14 // 5


@dataclass
class Case:
    name: str
    sizes: tuple[int, ...]
    command: Callable[[int, Path], list[str]]
    needs: str = ""  # a program that must be installed
    quick: tuple[int, ...] = (100 * K,)  # sizes in --quick mode
    runs: int = 0  # 0: the --runs default


SIZES = (100 * K, 200 * K, M)
"""Entries of each writer's case: 100k and 200k for the targets on speed and growth, 1M for memory."""
QUICK = (20 * K,)
NOT_AT_1M = {
    "xlsx": "2.8M journal lines: 3 sheets and a 2 GB workbook, past the reader's 1 GB bound (MIGRATOR_MAX_XLSX_MB)"
}
"""Writers whose target cannot hold the 1M-entry books, and why (noted in NOTES.md)."""


def _writer_cases() -> list[Case]:
    """A case per writer of the registry: the canonical CSV converted to it, as a user runs it."""
    from migrator import registry

    cases = []
    for fmt in registry.writable():
        suffix = (fmt.extensions[0] if fmt.extensions else "") if fmt.output == "file" else ""
        sizes = SIZES if fmt.name not in NOT_AT_1M else SIZES[:-1]
        runs = 0 if fmt.name == "csv" else 1  # csv→csv: the default runs, for its target against the floor
        cases.append(Case(f"csv-{fmt.name}", sizes, _convert(fmt.name, suffix), quick=QUICK, runs=runs))
    return cases


CASES = [
    Case("startup-help", (0,), lambda n, work: [MIGRATOR, "--help"], quick=(0,)),
    Case("startup-formats", (0,), lambda n, work: [MIGRATOR, "formats"], quick=(0,)),
    Case("floor-pyarrow", SIZES, _floor, quick=QUICK),
    *_writer_cases(),
    Case("csv-saft-noverify", (100 * K, 200 * K, M), _convert("saft", ".xml", "--no-verify"), quick=QUICK),
    Case("winbiz-csv", (M,), _winbiz, quick=(100 * K,)),
    Case("bulk-jobs1", (1000,), _bulk(1), quick=(50,), runs=1),
    Case("bulk-jobs2", (1000,), _bulk(2), quick=(50,), runs=1),
    Case(
        "hledger-print",
        (100 * K, 200 * K),
        lambda n, work: ["hledger", "-f", _journal(n), "print", "-O", "csv", "-o", str(work / "h.csv")],
        needs="hledger",
        quick=QUICK,
    ),
    Case(
        "ledger-csv",
        (100 * K,),
        lambda n, work: ["ledger", "-f", _journal(n), "csv", "--output", str(work / "l.csv")],
        needs="ledger",
        quick=QUICK,
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only, one run each")
    parser.add_argument("--case", action="append", help="run only these cases")
    parser.add_argument("--size", type=int, action="append", help="run these sizes instead of the case's")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds before a run is stopped as failed")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    parser.add_argument("--rewrite", action="store_true", help="rewrite results.md from the last run (new NOTES.md)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the last run's rows of the cases and sizes this run does not measure")  # fmt: skip
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    if args.rewrite:
        last = json.loads(LAST.read_text(encoding="utf-8"))
        write_results([Measure(**m) for m in last["results"]], last["runs"], last["when"], last["load"])
        return 0
    load, when = os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M")
    results: list[Measure] = []
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        if case.needs and not shutil.which(case.needs):
            print(f"skip {case.name}: {case.needs} is not installed")
            continue
        for size in args.size or (case.quick if args.quick else case.sizes):
            entries, lines = _entries_lines(case.name, size)
            with tempfile.TemporaryDirectory(prefix="migrator-bench-") as work:
                command = case.command(size, Path(work))  # generates the input first, outside the timing
                try:
                    seconds, peak = _run(command, 1 if args.quick else case.runs or runs, Path(work), args.timeout)
                except RuntimeError as exc:
                    results.append(Measure(case.name, entries, lines, failed=" ".join(str(exc).split())[-300:]))
                    print(f"{case.name:<24} {entries:>9} entries  FAILED: {results[-1].failed}", flush=True)
                    continue
            results.append(Measure(case.name, entries, lines, seconds, peak))
            m = results[-1]
            print(f"{m.case:<24} {m.entries:>9} entries  {m.median:7.2f} s  {m.lines_per_second:>12,.0f} lines/s  "
                  f"{peak:7.0f} MiB", flush=True)  # fmt: skip
    if args.merge and LAST.exists():
        last = json.loads(LAST.read_text(encoding="utf-8"))
        measured = {(m.case, m.entries) for m in results}
        kept = [Measure(**m) for m in last["results"] if (m["case"], m["entries"]) not in measured]
        order = {case.name: i for i, case in enumerate(CASES)}
        results = sorted(kept + results, key=lambda m: (order.get(m.case, len(order)), m.entries))
        when, load = f"{last['when']} and {when}", max(load, last["load"])
    if not args.no_write:
        LAST.write_text(json.dumps({"runs": runs, "when": when, "load": load, "results": [asdict(m) for m in results]}))
        write_results(results, runs, when, load)
    return 0


def _ratios(m: Measure, results: list[Measure]) -> tuple[str, str, str, str]:
    """× the pyarrow floor, how many times faster than hledger and ledger (same entries), and the time
    against the same case's smallest size scaled to these entries (1.0× is linear)."""
    if m.failed:
        return "", "", "", ""
    same = {r.case: r.median for r in results if r.entries == m.entries and not r.failed}
    floor = f"{m.median / same['floor-pyarrow']:.1f}×" if "floor-pyarrow" in same and m.case.startswith("csv") else ""
    peers = []
    for peer in PEERS:
        if peer in same and m.case.startswith("csv"):
            peers.append(f"{same[peer] / m.median:.1f}×")
        else:
            peers.append("")
    smaller = [r for r in results if r.case == m.case and not r.failed and 0 < r.entries < m.entries]
    growth = ""
    if smaller:
        first = min(smaller, key=lambda r: r.entries)
        growth = f"{m.median / first.median:.2f}× for {m.entries / first.entries:.0f}×"
    return floor, peers[0], peers[1], growth


def write_results(results: list[Measure], runs: int, when: str, load: float) -> None:  # float-ok: load average
    rows = []
    for m in results:
        floor, hledger, ledger, growth = _ratios(m, results)
        size = f"{m.entries:,}" if m.entries else ""
        lines = f"{m.lines:,}" if m.lines else ""
        if m.failed:
            rows.append(f"| {m.case} | {size} | {lines} | failed: {m.failed.replace('|', '/')} | | | | | | |")
            continue
        speed = f"{m.lines_per_second:,.0f}" if m.lines else ""
        rows.append(f"| {m.case} | {size} | {lines} | {m.median:.2f} | {speed} | {m.peak_mib:,.0f} | {floor} | "
                    f"{hledger} | {ledger} | {growth} |")  # fmt: skip
    cpu = _cpu_name()
    machine = (f"{cpu}, {os.cpu_count()} cores, {_memory_gib()} GiB RAM, Python {platform.python_version()}, "
               f"{platform.system()} {platform.release()}")  # fmt: skip
    text = [
        "# Benchmark results",
        "",
        f"Machine: {machine}. Run on {when}, load average before the run {load:.1f} (the machine is shared). "
        f"Median of {runs} run(s) each (bulk and the writers' cases `csv-<format>`: one run), as a user runs it "
        "(`migrator convert`, validation and verification on, unless the case says `noverify`). Peak memory is "
        "the largest resident set size of the process (for bulk: of any one process). Growth: the time against "
        "the case's smallest size (linear growth from 100k to 200k is 2.00×; the target allows 2.3×).",
        "",
        "| case | entries | lines | seconds | lines/s | peak MiB | × pyarrow floor | × faster than hledger "
        "| × faster than ledger | growth |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    notes = HERE / "NOTES.md"
    if notes.exists():
        text += ["", notes.read_text(encoding="utf-8")]
    (HERE / "results.md").write_text("\n".join(text), encoding="utf-8")
    print(f"wrote {HERE / 'results.md'}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> int:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (ValueError, OSError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
