"""Digests of what the Swiss writers write, to compare a writer's bytes before and after a change.

    python -m benchmarks.same_bytes before.json            # record
    python -m benchmarks.same_bytes after.json before.json # record again and compare
    python -m benchmarks.same_bytes --formats fec,sie before.json  # other writers than the default five

Books written: the garage sample, generated books (`benchmarks.generate`, three seeds, one spanning
two years) and 60 hypothesis ledgers (`tests/strategies.ledgers`, derandomized, so the same ones every
run), to Banana, Winbiz, Crésus, Infoniqa and the canonical CSV; also each writer's `as_kept` ledger
(what verification compares), as the digest of its Arrow IPC bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("banana", "winbiz", "cresus", "infoniqa", "csv")


def _books() -> list[tuple[str, object]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from hypothesis import HealthCheck, given, settings
    from strategies import ledgers

    from benchmarks import generate
    from migrator import pipeline

    os.chdir(ROOT)  # the lines name their source file by the path given: the same in every copy of the tree
    books: list[tuple[str, object]] = [("garage", pipeline.read(Path("samples") / "garage"))]
    books += [(f"generated-{seed}", generate.ledger(3_000, seed=seed)) for seed in (1, 2)]
    books.append(("generated-2y", generate.ledger(4_000, seed=3, years=2)))
    found: list[object] = []

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(ledgers())
    def collect(ledger: object) -> None:
        found.append(ledger)

    collect()
    books += [(f"hypothesis-{i}", ledger) for i, ledger in enumerate(found)]
    return books


def digests(formats: tuple[str, ...] = FORMATS) -> dict[str, str]:
    """Name → SHA-256 of every file each writer writes for each book, and of its `as_kept` lines."""
    from migrator import registry
    from migrator.pipeline import for_target

    out: dict[str, str] = {}
    for name, ledger in _books():
        for fmt in formats:
            writer = registry.get(fmt).writer({})
            books = for_target(ledger, fmt)[0]  # type: ignore[arg-type]
            with tempfile.TemporaryDirectory() as folder:
                target = Path(folder) / ("out" + writer.extension)
                if writer.output == "folder":
                    target.mkdir()
                try:
                    problems = writer.write(books, target)
                except Exception as error:  # a book the writer refuses: its message is compared
                    out[f"{name}/{fmt}/error"] = f"{type(error).__name__}: {error}"
                    continue
                out[f"{name}/{fmt}/problems"] = hashlib.sha256(repr(problems).replace(folder, "").encode()).hexdigest()
                for path in sorted(Path(folder).rglob("*")):
                    if path.is_file():
                        out[f"{name}/{fmt}/{path.relative_to(folder)}"] = hashlib.sha256(path.read_bytes()).hexdigest()
            kept = getattr(writer, "as_kept", None)
            if kept is not None:
                sink = pa.BufferOutputStream()
                lines = kept(books).lines
                with pa.ipc.new_stream(sink, lines.schema) as stream:
                    stream.write_table(lines)
                out[f"{name}/{fmt}/as_kept"] = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    return out


def main() -> int:
    args = sys.argv[1:]
    formats = FORMATS
    if args and args[0].startswith("--formats"):
        value = args[0].partition("=")[2] or args[1]
        args = args[1:] if "=" in args[0] else args[2:]
        formats = tuple(value.split(","))
    now = digests(formats)
    Path(args[0]).write_text(json.dumps(now, indent=1, sort_keys=True))
    if len(args) > 1:
        before = json.loads(Path(args[1]).read_text())
        before = {k: v for k, v in before.items() if k.split("/")[1] in formats}
        differ = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        print("\n".join(differ) or f"same bytes: {len(now)} digests")
        return 1 if differ else 0
    print(f"{len(now)} digests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
