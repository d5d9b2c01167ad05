"""Bulk workers that convert many clients each: nothing of one client reaches the next, whatever worker
and order they run in; a client that crashes, fails or hangs its worker does not take the others down."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from migrator import bulk, registry
from migrator.errors import ProblemsFound
from migrator.pipeline import convert

HEADER = "entry,line,date,doc,description,account,account_name,amount,currency,vat_code,vat_rate,partner\n"
MARKER = re.compile(r"MARKER-\d{3}-[0-9a-f]{6}")
REAL_CONVERT = bulk.convert_client


def make_client(root: Path, number: int, *, balanced: bool = True) -> tuple[str, str]:
    """A client whose folder name, texts, accounts, VAT code, rate and partner all carry its own marker and
    number; returns (folder name, marker). An unbalanced client's second entry is off by its number in cents."""
    marker = f"MARKER-{number:03d}-{os.urandom(3).hex()}"
    name = f"c{number:03d}-{marker}"
    folder = root / name
    folder.mkdir(parents=True)
    rate = f"{number % 9}.{number:03d}"
    rows = [HEADER]
    for entry in (1, 2):
        cents = 1000 * number + entry
        credit = cents + (number if entry == 2 and not balanced else 0)
        day = f"2024-{1 + number % 12:02d}-{entry + number % 20:02d}"
        common = f"{day},{marker}-{entry},Vente {marker}"
        rows.append(
            f"{entry},1,{common},1{number:03d},Banque {marker},{cents // 100}.{cents % 100:02d},CHF,,,P-{marker}\n"
        )
        rows.append(
            f"{entry},2,{common},3{number:03d},Ventes {marker},-{credit // 100}.{credit % 100:02d},CHF,"
            f"V{number:03d},{rate},P-{marker}\n"
        )
    (folder / "journal.csv").write_text("".join(rows), encoding="utf-8")
    return name, marker


def note_worker(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """The real conversion, leaving a file that names the worker process it ran in."""
    pids = Path(str(args[1])).parent / "pids"
    pids.mkdir(exist_ok=True)
    (pids / f"{client.name}.{os.getpid()}").touch()
    return REAL_CONVERT(client, *args, **kwargs)  # type: ignore[arg-type]


def crash_fail_or_convert(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """A client named ``crash`` kills its own process, one named ``bug`` raises; the others convert."""
    if "crash" in client.name:
        os.kill(os.getpid(), signal.SIGKILL)
    if "bug" in client.name:
        raise RuntimeError("a bug in one client")
    return note_worker(client, *args, **kwargs)


def leave_a_thread_or_convert(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """A client named ``thread`` leaves a thread running when its conversion returns."""
    if "thread" in client.name:
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
    return note_worker(client, *args, **kwargs)


def workers(out: Path) -> dict[str, str]:
    """Client name → pid of the worker that converted it (from `note_worker`'s files)."""
    return dict(p.name.rsplit(".", 1) for p in (out.parent / "pids").iterdir())


def check_isolation(out: Path, result: bulk.BulkRun, markers: dict[str, str]) -> None:
    """Each client's files, report, problems, catalog row and overview row hold its marker and no other."""
    everyone = set(markers.values())
    db = sqlite3.connect(out / bulk.CATALOG)
    rows = {row[0]: " ".join(map(str, row)) for row in db.execute("SELECT * FROM clients")}
    db.close()
    overview = {row["name"]: json.dumps(row) for row in json.loads((out / "overview.json").read_text())["results"]}
    for outcome in result.results:
        own = markers[outcome.name]
        texts = [outcome.message, rows[outcome.name], overview[outcome.name]]
        if (out / outcome.name).exists():
            texts += [p.read_text(encoding="utf-8") for p in (out / outcome.name).rglob("*") if p.is_file()]
        text = "\n".join(texts)
        assert own in text, outcome.name
        assert set(MARKER.findall(text)) == {own}, f"{outcome.name} holds another client's data"
    assert set(markers) == {r.name for r in result.results} and len(everyone) == len(markers)


def test_clients_sharing_a_worker_keep_nothing_of_each_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "clients"
    made = [make_client(root, n, balanced=n % 4 != 0) for n in range(1, 25)]
    markers = dict(made)
    listing = tmp_path / "clients.txt"
    monkeypatch.setattr(bulk, "convert_client", note_worker)
    # one worker, in name order: each client runs right after another in the same process
    listing.write_text("".join(f"clients/{name}\n" for name, _ in made), encoding="utf-8")
    out = tmp_path / "run1" / "out"
    result = bulk.run(listing, "csv", out, jobs=1)
    statuses = Counter(r.status for r in result.results)
    assert statuses == {"ok": 18, "problems": 6}
    assert len(set(workers(out).values())) == 1, "one worker converted every client"
    check_isolation(out, result, markers)
    for outcome in result.results:
        if outcome.status == "problems":  # the problem names this client's file and entry, nobody else's
            number = int(outcome.name[1:4])
            assert f"{outcome.name}/journal.csv, row 4: entry 2 does not balance: 0.{number:02d} more credit" in (
                outcome.message
            )
        else:
            report = json.loads((out / outcome.name / f"{outcome.name}-report.json").read_text(encoding="utf-8"))
            assert report["verdict"]["verified"] is True
            assert [f["path"] for f in report["target"]["files"]] == [str(out / outcome.name / f"{outcome.name}.csv")]
    # two workers, in the reverse order, over the first run's outputs
    shutil.rmtree(out.parent / "pids")
    listing.write_text("".join(f"clients/{name}\n" for name, _ in reversed(made)), encoding="utf-8")
    again = bulk.run(listing, "csv", out, jobs=2, force=True)
    assert Counter(r.status for r in again.results) == statuses
    used = Counter(workers(out).values())
    assert len(used) == 2 and min(used.values()) > 2, f"clients spread over two long-lived workers: {used}"
    check_isolation(out, again, markers)


def test_a_crash_a_bug_or_a_hang_costs_one_client_and_its_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "clients"
    names = [make_client(root, n)[0] for n in range(1, 7)]
    crash, bug = names[1], names[3]
    (root / crash).rename(root / f"{crash}-crash")
    (root / bug).rename(root / f"{bug}-bug")
    monkeypatch.setattr(bulk, "convert_client", crash_fail_or_convert)
    out = tmp_path / "run" / "out"
    result = bulk.run(root, "csv", out, jobs=1)
    outcome = {r.name: (r.status, r.message) for r in result.results}
    assert outcome.pop(f"{crash}-crash") == ("failed", "the client's process was killed by signal SIGKILL; it may "
                                             "have used more than 8192 MiB (--client-memory)")  # fmt: skip
    assert outcome.pop(f"{bug}-bug") == ("failed", "internal error: RuntimeError('a bug in one client')")
    assert set(outcome.values()) == {("ok", "")} and len(outcome) == 4
    pids = workers(out)
    order = [n for n in names if n in pids]
    # one worker before the crash; a fresh one for the two clients until the bug; a fresh one after it
    assert [pids[n] for n in order].count(pids[names[0]]) == 1
    assert pids[names[2]] != pids[names[0]] and pids[names[4]] not in {pids[names[0]], pids[names[2]]}
    assert pids[names[4]] == pids[names[5]]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a temporary folder was left behind"
    assert not (out / f"{crash}-crash").exists()


def test_a_client_that_leaves_a_thread_behind_gets_its_worker_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "clients"
    names = [make_client(root, n)[0] for n in range(1, 4)]
    (root / names[1]).rename(root / f"{names[1]}-thread")
    monkeypatch.setattr(bulk, "convert_client", leave_a_thread_or_convert)
    out = tmp_path / "run" / "out"
    result = bulk.run(root, "csv", out, jobs=1)
    assert [r.status for r in result.results] == ["ok", "ok", "ok"]
    pids = workers(out)
    assert pids[names[0]] == pids[f"{names[1]}-thread"] != pids[names[2]]


def _every_format_once(tmp_path: Path, number: int) -> None:
    """Convert one marker client to every writer, in this process (what a worker runs), then read each
    output back with its reader."""
    name, _marker = make_client(tmp_path / f"src{number}", number)
    source = tmp_path / f"src{number}" / name / "journal.csv"
    for fmt in registry.writable():
        target = tmp_path / f"out{number}" / f"{fmt.name}{fmt.default_extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(ProblemsFound):
            convert(source, fmt.name, target)


def _module_state() -> dict[str, int]:
    """The size of every mutable container held by a migrator module: where a memo would keep data."""
    import sys

    sizes = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("migrator"):
            continue
        for name, value in list(vars(module).items()):
            if isinstance(value, (dict, list, set, bytearray)) and not name.startswith("__"):
                sizes[f"{module_name}.{name}"] = len(value)
    return sizes


def test_a_worker_forgets_every_cache_a_client_can_fill(tmp_path: Path) -> None:
    _every_format_once(tmp_path, 1)
    bulk.forget()
    kept_before = {name: f.cache_info().currsize for name, f in bulk.caches().items() if name in bulk.KEPT_CACHES}
    state = _module_state()
    for number in (2, 3):  # other dates, rates, accounts, texts: nothing kept may grow with them
        _every_format_once(tmp_path, number)
        found = bulk.caches()
        filled = {name for name, f in found.items() if name not in bulk.KEPT_CACHES and f.cache_info().currsize}
        assert filled, "the clients filled no cache that a worker clears: this test no longer tests anything"
        assert bulk.MEMOS and all(_module_state()[name] for name in bulk.MEMOS), "a memo left unused: still needed?"
        bulk.forget()
        assert _module_state() == state
        assert set(found) >= bulk.KEPT_CACHES, "a kept cache was renamed: the list no longer says what is kept"
        sizes = {name: f.cache_info().currsize for name, f in found.items()}
        assert {name: size for name, size in sizes.items() if name in bulk.KEPT_CACHES} == kept_before
        assert not {name for name, size in sizes.items() if size and name not in bulk.KEPT_CACHES}


SEEN: list[str] = []


def leaky(client: bulk.Client, *args: object, **kwargs: object) -> bulk.ClientResult:
    """A conversion that keeps each client's name in module state and puts the earlier ones in its message."""
    result = REAL_CONVERT(client, *args, **kwargs)  # type: ignore[arg-type]
    result.message = " ".join(SEEN)
    SEEN.append(client.name)
    return result


def test_the_isolation_check_sees_a_worker_that_keeps_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "clients"
    markers = dict(make_client(root, n) for n in range(1, 4))
    monkeypatch.setattr(bulk, "convert_client", leaky)
    out = tmp_path / "out"
    result = bulk.run(root, "csv", out, jobs=1)
    with pytest.raises(AssertionError, match="holds another client's data"):
        check_isolation(out, result, markers)


def _written(folder: Path) -> dict[str, bytes]:
    """A client's output files but the reports and manifests (they carry the time they were made)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "report" not in path.name and not path.name.startswith("."):
            data = path.read_bytes()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            files[path.name] = re.sub(rb"(?m)^#GEN .*$", b"#GEN", data)  # SIE's #GEN line: the day it was written
    return files


@pytest.mark.parametrize("target", ["csv", "sie", "gnucash", "fec"])
def test_a_clients_output_does_not_depend_on_who_ran_before_it_in_the_worker(tmp_path: Path, target: str) -> None:
    made = [make_client(tmp_path / "clients", n) for n in range(1, 7)]
    outputs = []
    for run, order in (("forward", made), ("reversed", made[::-1])):
        listing = tmp_path / f"{run}.txt"
        listing.write_text("".join(f"clients/{name}\n" for name, _ in order), encoding="utf-8")
        result = bulk.run(listing, target, tmp_path / run, jobs=1)
        assert {r.status for r in result.results} == {"ok"}
        outputs.append({name: _written(tmp_path / run / name) for name, _ in made})
    assert outputs[0] == outputs[1]
    assert all(outputs[0][name] for name, _ in made)
