"""Bulk migration for fiduciaries: many client companies, each converted in isolation.

How a root is split into clients (`survey`):

- ROOT is a text file: one path per line (relative to the file's folder; ``#`` starts a comment). A
  listed path that does not exist is an error naming its line; each listed path is then taken as a
  top-level entry below.
- ROOT is a Winbiz dossier folder (it holds ``dos_info.dbf``): it is one client.
- ROOT is any other folder: every top-level entry is looked at, in name order, and becomes clients or
  is listed as skipped with its reason:

  - a name starting with ``.`` (hidden): skipped;
  - a symbolic link: skipped, never followed (list its target in a list file to include it);
  - a Winbiz dossier folder (holds ``dos_info.dbf``): one client;
  - a Winbiz DAT data folder (sub-folders holding ``dos_info.dbf``): one client per dossier, named
    ``<folder>-<dossier>`` (so a ROOT that *is* a DAT folder gives one client per dossier, each named
    after its dossier, beside any other client folders);
  - any other folder: one client, its format detected per client (a folder holding one file is read
    as that file); an empty folder (or one holding only hidden files) is skipped;
  - a file (an export, a zip of a client's files): one client named after the file without its
    extension; an empty file is skipped;
  - a client whose files no reader recognises is skipped with that reason when the run (or
    ``--dry-run``) detects it.

Skipped entries never fail a run, but the terminal output and the overview list every one with its
reason.

Output names are unique by construction: the entry's name with anything but letters, digits, ``.``,
``-``, ``_`` and spaces replaced by ``_``. Names that still clash (compared without case, since
shared drives often ignore it), and names reserved for the run's own files (`RESERVED`, and anything
starting with ``.``), get ``-`` and 8 hex digits of the SHA-256 of the entry's path relative to ROOT:
stable from run to run and independent of the order of entries. A clash group's one member whose
name needed no change keeps it.

Clients run in ``--jobs`` worker processes (forked from a fork server that has migrator loaded),
each converting one client at a time as the coordinator hands them out, each client limited to
``--client-timeout`` seconds (the coordinator kills the worker, reports the client and starts a new
worker) and each worker to ``--client-memory`` MiB of address space (``RLIMIT_AS``); or as tasks on a
Dask distributed cluster (where the cluster's own limits apply). A worker keeps nothing of one client
for the next: a conversion holds its data in its own objects, and after each client the worker clears
every cache of migrator's modules that a client's data can reach (`forget`; the few caches kept hold
only what is fixed by the code: formats, catalogs of messages, lookup tables shipped with migrator),
and collects what is left. A worker whose client failed, or that still runs a thread the client
started, is replaced by a fresh one, as is each worker after `CLIENTS_PER_WORKER` clients. Its output is written
to a private temporary folder and renamed to ``OUTDIR/<client>/`` only when complete, so a run stopped
at any moment leaves no half client behind. Links inside a client's folder that point outside it
fail that client (like links in a zip); they are never followed.

A lock file (``OUTDIR/.migrator-bulk.lock``, held with ``flock``) keeps a second run off the same
OUTDIR; the system releases it when the process holding it ends, however it ends.

A SQLite catalog (``OUTDIR/catalog.sqlite``) records every client's inputs and outputs with SHA-256,
status, timings, counts, verification and problem counts; ``resume`` skips clients whose inputs are
unchanged and whose outputs are still complete and intact, and shows them in the overview with what
the catalog recorded. A client that fails after an earlier success has its earlier output moved to
``OUTDIR/stale/<client>-<UTC time>/``, named in the overview and the catalog (and one that no reader
recognises any more is failed, not skipped).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import gc
import hashlib
import importlib.util
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import shutil
import signal
import sqlite3
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from migrator import registry
from migrator.errors import MigratorError, ProblemsFound, SourceError, UnknownFormat
from migrator.sources import sha256_file

CATALOG = "catalog.sqlite"
LOCK = ".migrator-bulk.lock"
STALE = "stale"
OVERVIEWS = ("overview.html", "overview.json", "overview.xlsx")
RESERVED = frozenset({*OVERVIEWS, CATALOG, f"{CATALOG}-journal", f"{CATALOG}-wal", f"{CATALOG}-shm", STALE})
"""Names in OUTDIR that belong to the run itself (compared without case); no client may take one."""
_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))})
"""Names Windows refuses for any file (with any extension): outputs often go to a shared drive."""
DEFAULT_TIMEOUT = 3600
"""Seconds one client may take (``--client-timeout``)."""
DEFAULT_MEMORY = 8192
"""MiB of address space the worker process converting a client may use (``--client-memory``); a worker
with pyarrow loaded starts at about 1.4 GiB of address space, most of it reserved and never touched."""
OK_STATUSES = ("ok", "unchanged")
CLIENTS_PER_WORKER = 100
"""Clients one worker converts before a fresh one takes over (what a long run may leave in memory is
bounded by that: fragments of the allocator, anything a cache not cleared would keep)."""
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


class OutdirInUse(MigratorError):
    """Another bulk run holds the lock of this OUTDIR."""


@dataclass(frozen=True)
class Client:
    """One client company to convert: a name (its output folder) and the source to read."""

    name: str
    source: str
    folder: str = ""
    """The client's folder, whose links are checked ('' when the client is one file)."""
    origin: str = ""
    """The entry's path relative to ROOT (or as listed): what a name's suffix is derived from."""
    dossier: str = ""
    """The Winbiz dossier folder this client is, if it is one."""


@dataclass(frozen=True)
class Skipped:
    """A top-level entry of ROOT that is no client, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Survey:
    """What ROOT holds: the clients, and the entries skipped with their reasons."""

    clients: list[Client]
    skipped: list[Skipped]


@dataclass
class ClientResult:
    """What converting one client gave; stored in the catalog."""

    name: str
    source: str
    status: str  # ok, unchanged (resume), problems (errors found, nothing written), failed, unrecognised
    inputs: dict[str, str] = field(default_factory=dict)  # path -> sha256
    outputs: dict[str, str] = field(default_factory=dict)  # path relative to OUTDIR -> sha256
    message: str = ""
    seconds: float = 0.0  # float-ok: wall-clock seconds
    errors: int = 0
    warnings: int = 0
    verified: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    report: str = ""
    stale: str = ""
    """Where an earlier output of this client was moved when this run failed it (relative to OUTDIR)."""

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


def safe_name(name: str) -> str:
    """A folder name that cannot climb out of OUTDIR or clash with hidden files."""
    cleaned = _SAFE_NAME.sub("_", name).strip(" .") or "client"
    return cleaned[:120]


def reserved(name: str) -> bool:
    """True when `name` belongs to the run's own files (or to no file at all on Windows)."""
    folded = name.casefold()
    return folded in RESERVED or folded.startswith(".") or folded.split(".")[0] in _DEVICES


# ------------------------------------------------------------------------------------------- discovery


def survey(root: str | os.PathLike[str]) -> Survey:
    """The clients under `root` and the entries skipped, with reasons (see the module docstring)."""
    root = Path(root)
    if not root.exists() and not root.is_symlink():
        raise SourceError("no such file or folder", str(root))
    clients: list[Client] = []
    skipped: list[Skipped] = []
    if root.is_file():
        for origin, path in _listed(root):
            found, reason = _entry(path, origin, listed=True)
            clients += found
            if reason:
                skipped.append(Skipped(str(path), reason))
    elif _is_dossier(root):
        clients.append(Client(root.name, str(root), str(root), root.name, root.name))
    else:
        for path in sorted(root.iterdir()):
            found, reason = _entry(path, path.name, listed=False)
            clients += found
            if reason:
                skipped.append(Skipped(str(path), reason))
    return Survey(_unique(clients), skipped)


def discover(root: str | os.PathLike[str]) -> list[Client]:
    """The clients under `root` (see `survey`); an error when there is none."""
    found = survey(root)
    if not found.clients:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in found.skipped[:5])
        raise SourceError(f"no client folders or files found{' (' + reasons + ')' if reasons else ''}", str(root))
    return found.clients


def _listed(path: Path) -> list[tuple[str, Path]]:
    entries = []
    if zipfile.is_zipfile(path):
        raise SourceError("a zip as ROOT: unpack it, or put it in a folder to convert it as one client", str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError("a file as ROOT must list one path per line (UTF-8 text)", str(path)) from None
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        source = Path(entry) if Path(entry).is_absolute() else path.parent / entry
        if not source.exists():
            raise SourceError(f"listed path {entry!r} does not exist", str(path), number)
        entries.append((entry, source))
    return entries


def _has_dos_info(folder: Path) -> bool:
    try:
        return any(p.name.lower() == "dos_info.dbf" and p.is_file() for p in folder.iterdir())
    except OSError:
        return False


def _is_dossier(folder: Path) -> bool:
    return folder.is_dir() and _has_dos_info(folder)


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".")]


def _entry(path: Path, origin: str, *, listed: bool) -> tuple[list[Client], str]:
    """The clients one entry gives, or none and the reason it is skipped."""
    if not listed and path.name.startswith("."):
        return [], "hidden (the name starts with '.')"
    if not listed and path.is_symlink():
        return [], "a symbolic link: not followed (name its target in a list file to include it)"
    try:
        if path.is_file():
            if path.stat().st_size == 0:
                return [], "an empty file"
            return [Client(path.stem, str(path), "", origin)], ""
        if not path.is_dir():
            return [], "neither a file nor a folder"
        files = _visible(path)
        if _has_dos_info(path):
            return [Client(path.name, str(path), str(path), origin, path.name)], ""
        dossiers = sorted(p for p in files if p.is_dir() and not p.is_symlink() and _has_dos_info(p))
        if dossiers:
            return [Client(f"{path.name}-{d.name}", str(d), str(d), f"{origin}/{d.name}", d.name) for d in dossiers], ""
    except OSError as exc:
        return [], f"cannot be read: {exc.strerror or exc}"
    if not files:
        return [], "an empty folder" if not any(path.iterdir()) else "holds only hidden files"
    single = files[0] if len(files) == 1 and files[0].is_file() and not files[0].is_symlink() else None
    return [Client(path.name, str(single or path), str(path), origin)], ""


def _suffix(client: Client, digits: int) -> str:
    return hashlib.sha256((client.origin or client.source).encode("utf-8", "surrogateescape")).hexdigest()[:digits]


def _unique(clients: list[Client]) -> list[Client]:
    """Clients with output names unique without regard to case and free of reserved names."""
    bases = [safe_name(c.name) for c in clients]
    groups: dict[str, list[int]] = defaultdict(list)
    for index, base in enumerate(bases):
        groups[base.casefold()].append(index)
    names = []
    for client, base in zip(clients, bases, strict=True):
        group = groups[base.casefold()]
        unchanged = [i for i in group if bases[i] == clients[i].name]
        keeps = not reserved(base) and (len(group) == 1 or (base == client.name and len(unchanged) == 1))
        names.append(base if keeps else f"{base[:111]}-{_suffix(client, 8)}")
    folded = defaultdict(list)
    for index, name in enumerate(names):
        folded[name.casefold()].append(index)
    for group in folded.values():  # a suffixed name met a real one: the full digest settles it
        if len(group) > 1:
            for i in group:
                names[i] = f"{bases[i][:103]}-{_suffix(clients[i], 16)}"
    return [Client(n, c.source, c.folder, c.origin, c.dossier) for n, c in zip(names, clients, strict=True)]


def outside_links(folder: Path) -> list[tuple[Path, Path]]:
    """The links inside `folder` that point outside it (or nowhere): (link, target)."""
    base = folder.resolve()
    found = []
    for top, dirs, files in os.walk(folder):  # does not descend into linked folders
        for name in dirs + files:
            path = Path(top, name)
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(base) or not target.exists():
                    found.append((path, target))
    return found


def _inputs(source: Path) -> dict[str, str]:
    paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    return {str(p): sha256_file(p) for p in paths}


def _outputs(folder: Path, outdir: Path) -> dict[str, str]:
    return {str(p.relative_to(outdir)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _memory_message(memory_mib: int | None) -> str:
    return f"used more than {memory_mib} MiB (--client-memory); stopped" if memory_mib else "ran out of memory"


def convert_client(
    client: Client, to: str, outdir: str, mapping: str | None = None, memory_mib: int | None = None
) -> ClientResult:
    """Convert one client into ``outdir/<client>/``, atomically; never raises (failures are results)."""
    from migrator import outputs
    from migrator.pipeline import convert
    from migrator.report import report_data, write_json
    from migrator.report_html import write_html

    os.umask(0o077)
    started = time.perf_counter()
    out_root = Path(outdir)
    final = out_root / client.name
    temp = out_root / f".{client.name}.part-{os.getpid()}"
    result = ClientResult(client.name, client.source, "failed")
    try:
        if client.folder:
            links = outside_links(Path(client.folder))
            if links:
                link, target = links[0]
                raise SourceError(
                    f"is a link to {target}, outside the client's folder; refusing it (copy the file in instead)",
                    str(link),
                )
        _replaceable(final)  # before any work: an earlier output changed by hand stops this client
        result.inputs = _inputs(Path(client.source))
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(mode=0o700)
        fmt = registry.get(to)
        target = temp if fmt.output == "folder" else temp / f"{client.name}{fmt.default_extension}"
        conversion = convert(client.source, to, target, mapping=mapping)
        result.errors = sum(p.severity == "error" for p in conversion.problems)
        result.warnings = len(conversion.problems) - result.errors
        result.verified = conversion.verified or conversion.verification is None
        result.counts = conversion.source.counts()
        data = report_data(conversion)  # once for both forms (what `write_report` does per form)
        for written in data["target"]["files"]:  # where the file will be, not the temporary folder it is in now
            if Path(written["path"]).is_relative_to(temp):
                written["path"] = str(final / Path(written["path"]).relative_to(temp))
        for suffix, render in ((".json", write_json), (".html", write_html)):
            with (
                contextlib.suppress(MigratorError),
                outputs.placed(temp / f"{client.name}-report{suffix}", folder=False) as part,
            ):
                render(data, part)
        result.report = f"{client.name}/{client.name}-report.html"
        if conversion.verification is not None and not conversion.verification.ok:
            result.status = "failed"
            result.message = "verification failed: " + "; ".join(conversion.verification.differences[:5])
        else:
            result.status = "ok"
        for path in temp.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        outputs.write_manifest(temp)
        earlier = out_root / f".{client.name}.old-{os.getpid()}"
        _replaceable(final)
        if final.exists():
            final.rename(earlier)
        temp.rename(final)
        shutil.rmtree(earlier, ignore_errors=True)
        result.outputs = _outputs(final, out_root)
    except ProblemsFound as exc:
        result.status = "problems"
        errors = [p for p in exc.problems if p.severity == "error"]
        result.errors = len(errors)
        result.warnings = len(exc.problems) - len(errors)
        result.message = f"{len(errors)} errors, nothing written; first: {errors[0] if errors else ''}"
    except UnknownFormat:
        result.status = "unrecognised"
        source = Path(client.source)
        what = "this folder" if source.is_dir() else "this file" if not client.folder else source.name
        result.message = f"no reader recognises {what} (see `migrator formats`)"
    except MigratorError as exc:
        result.status = "failed"
        result.message = str(exc)
    except MemoryError:
        result.message = _memory_message(memory_mib)
    except Exception as exc:  # one client's bug must not stop the others
        if memory_mib and isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
            result.message = _memory_message(memory_mib)
        else:
            result.message = f"internal error: {type(exc).__name__}: {exc}"
            result.report = traceback.format_exc(limit=5)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        result.seconds = round(time.perf_counter() - started, 3)
    return result


# --------------------------------------------------------------------------------------------- catalog

_COLUMNS = ("name", "source", "status", "inputs", "outputs", "message", "seconds", "errors", "warnings", "verified",
            "counts", "report", "target", "finished", "stale")  # fmt: skip


class Catalog:
    """The SQLite record of a bulk run, written only by the coordinating process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(
            """CREATE TABLE IF NOT EXISTS clients (
                name TEXT PRIMARY KEY, source TEXT NOT NULL, status TEXT NOT NULL,
                inputs TEXT NOT NULL, outputs TEXT NOT NULL, message TEXT NOT NULL,
                seconds REAL NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
                verified INTEGER NOT NULL, counts TEXT NOT NULL, report TEXT NOT NULL,
                target TEXT NOT NULL, finished TEXT NOT NULL, stale TEXT NOT NULL DEFAULT '')"""
        )
        if "stale" not in {row[1] for row in self.db.execute("PRAGMA table_info(clients)")}:  # an older catalog
            self.db.execute("ALTER TABLE clients ADD COLUMN stale TEXT NOT NULL DEFAULT ''")
        self.db.commit()
        path.chmod(0o600)

    def record(self, result: ClientResult, target: str) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO clients ({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
            (result.name, result.source, result.status, json.dumps(result.inputs), json.dumps(result.outputs),
             result.message, result.seconds, result.errors, result.warnings, int(result.verified),
             json.dumps(result.counts), result.report, target,
             dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(), result.stale),
        )  # fmt: skip
        self.db.commit()

    def previous(self, name: str) -> dict[str, Any] | None:
        """The recorded row of client `name` (JSON columns decoded), or None."""
        row = self.db.execute(f"SELECT {','.join(_COLUMNS)} FROM clients WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        found = dict(zip(_COLUMNS, row, strict=True))
        for key in ("inputs", "outputs", "counts"):
            found[key] = json.loads(found[key])
        found["verified"] = bool(found["verified"])
        return found

    def close(self) -> None:
        self.db.close()


def is_done(previous: dict[str, Any] | None, client: Client, to: str, outdir: Path) -> bool:
    """True when a finished client needs no work: same inputs, same target, outputs intact."""
    if not previous or previous["status"] != "ok" or previous["target"] != to or previous["source"] != client.source:
        return False
    if _inputs(Path(client.source)) != previous["inputs"]:
        return False
    outputs: dict[str, str] = previous["outputs"]
    if not outputs:
        return False
    for relative, digest in outputs.items():
        path = outdir / relative
        if not path.is_file() or sha256_file(path) != digest:
            return False
    return _outputs(outdir / client.name, outdir) == outputs


def _unchanged(client: Client, previous: dict[str, Any]) -> ClientResult:
    """A client skipped by resume, shown with everything its last conversion recorded."""
    return ClientResult(client.name, client.source, "unchanged", previous["inputs"], previous["outputs"],
                        "unchanged since the last run", previous["seconds"], previous["errors"],
                        previous["warnings"], previous["verified"], previous["counts"], previous["report"])  # fmt: skip


def set_aside(result: ClientResult, outdir: Path) -> None:
    """Move the earlier output of a client that now failed to ``stale/``, and say so in `result`."""
    folder = outdir / result.name
    if result.ok or result.outputs or not folder.is_dir():  # outputs: this run delivered them (unverified)
        return
    try:
        _replaceable(folder)
    except MigratorError as exc:
        result.message = f"{result.message} (its earlier folder was left in place: {exc})".strip()
        return
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = outdir / STALE / f"{result.name}-{stamp}"
    number = 1
    while target.exists():
        number += 1
        target = outdir / STALE / f"{result.name}-{stamp}-{number}"
    target.parent.mkdir(mode=0o700, exist_ok=True)
    folder.rename(target)
    result.stale = str(target.relative_to(outdir))
    result.message = f"{result.message} (earlier output moved to {result.stale})".strip()


@contextlib.contextmanager
def locked(outdir: Path) -> Iterator[Path]:
    """Hold OUTDIR's lock file for a run; `OutdirInUse` (exit 2) when another run holds it.

    The lock is ``flock`` on the file, so the system releases it when the holder ends, however it
    ends: a lock file left by a process that died is taken over. The file is removed at the end of
    the run (while still locked); a run that locked a file just removed tries again on the new one.
    """
    path = outdir / LOCK
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(handle)
            raise OutdirInUse(
                f"{outdir} is in use by another bulk run (process {holder} holds the lock {path}); "
                "wait for it to finish or choose another output folder"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(handle)
    try:
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(handle)


# ------------------------------------------------------------------------------------------------- run


@dataclass
class BulkRun:
    """The outcome of a bulk run."""

    outdir: Path
    target: str
    results: list[ClientResult]
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def _preload(to: str) -> list[str]:
    """What every worker imports, loaded once in the fork server so that each fork starts warm:
    detection sniffs with every reader, the report needs its renderers, and pyarrow loads pandas (if
    installed) on its first conversion of a numpy array. Measured: 0.5 s less per client."""
    readers = [f"migrator.readers.{f.name}" for f in registry.readable()]
    writer = [f"migrator.writers.{to}"] if registry.get(to).writes else []
    pandas = ["pandas"] if importlib.util.find_spec("pandas") else []
    return [*pandas, "pyarrow.csv", "pyarrow.acero", "migrator.pipeline", "migrator.report", "migrator.report_html",
            "migrator.bulk", *readers, *writer]  # fmt: skip


def _worker(
    pipe: multiprocessing.connection.Connection,
    task: Callable[..., ClientResult],
    args: tuple[Any, ...],
    memory_mib: int | None,
) -> None:
    """A worker process: limit its address space, then convert each client the coordinator sends (None
    ends it) and send back ``(result, retiring)``; it retires after a failed client, when a thread of the
    client still runs, or after `CLIENTS_PER_WORKER` clients. Between clients it keeps nothing of them
    (`forget`)."""
    if memory_mib:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mib << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))
    gc.freeze()  # the preloaded modules' objects: never scanned by the collector between clients
    threads = threading.active_count()
    for done in range(1, CLIENTS_PER_WORKER + 1):
        try:
            client: Client | None = pipe.recv()
        except (EOFError, OSError):
            break
        if client is None:
            break
        try:
            result = task(client, *args, memory_mib=memory_mib)
        except MemoryError:
            result = ClientResult(client.name, client.source, "failed", message=_memory_message(memory_mib))
        except Exception as exc:
            result = ClientResult(client.name, client.source, "failed", message=f"internal error: {exc!r}")
        del client
        retiring = result.status == "failed" or done == CLIENTS_PER_WORKER or threading.active_count() > threads
        try:
            pipe.send((result, retiring))
        except OSError:  # the coordinator is gone (a run killed part-way): nothing to report to
            break
        del result
        forget()
        if retiring:
            break
    pipe.close()


KEPT_CACHES = frozenset({
    "migrator.i18n._catalog",  # a message catalog per language tag
    "migrator.i18n._templates",  # the catalog's patterns per language tag
    "migrator.limits.current",  # the bounds set in the environment
    "migrator.readers.gnucash._path",  # XPath expressions written in the reader
    "migrator.readers.saft.category_types",  # mappings/saft-no/categories.csv
    "migrator.readers.saft.standard_kinds",  # mappings/saft-no/standard_kinds.csv
    "migrator.registry._load",  # a format's description per module name
    "migrator.vat.vendor_codes",  # the VAT code table shipped with migrator, per vendor name
    "migrator.writers.bexio._flat_encoder",  # a JSON encoder per indent and depth
    "migrator.writers.saft.grouping_rules",  # mappings/saft-no/grouping.csv
    "migrator.writers.saft.tax_rules",  # mappings/saft-no/tax_codes.csv
})  # fmt: skip
"""The caches a worker keeps from client to client: keyed and filled only by what the code and the files
shipped with it fix, never by a client's books (tests/test_bulk_workers.py converts different clients and
checks they do not grow). Every other cache of migrator's modules is cleared after each client."""


MEMOS = ("migrator.readers.saft._DAYS",)
"""Module-level dictionaries a reader or writer fills from a client's books to save work (the SAF-T reader's
dates by their bytes): emptied after each client. tests/test_bulk_workers.py checks that no other container
of migrator's modules changes size from one client to the next."""


_found_caches: tuple[int, dict[str, Any]] = (0, {})


def caches() -> dict[str, Any]:
    """Every ``functools`` cache of migrator's loaded modules, by qualified name (looked for again only
    when modules were loaded since)."""
    global _found_caches
    loaded, found = _found_caches
    if loaded == len(sys.modules):
        return found
    found = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or (module_name != "migrator" and not module_name.startswith("migrator.")):
            continue
        for name, value in list(vars(module).items()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == module_name:
                found[f"{module_name}.{name}"] = value
    _found_caches = (len(sys.modules), found)
    return found


def forget() -> None:
    """Drop what one client left in the process: every cache but `KEPT_CACHES`, the `MEMOS`, the compiled
    patterns of `re` (a pattern may have been built from a client's text), and the objects left in
    reference cycles."""
    for name, cached in caches().items():
        if name not in KEPT_CACHES:
            cached.cache_clear()
    for name in MEMOS:
        module_name, _dot, attribute = name.rpartition(".")
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, attribute).clear()
    re.purge()
    gc.collect()


def _died(client: Client, code: int | None, memory_mib: int | None) -> ClientResult:
    if code is not None and code < 0:
        try:
            how = f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with code {code}"
    hint = f"; it may have used more than {memory_mib} MiB (--client-memory)" if memory_mib else ""
    return ClientResult(client.name, client.source, "failed", message=f"the client's process {how}{hint}")


@dataclass
class _Worker:
    """A worker process and the coordinator's end of its pipe."""

    process: Any
    pipe: Any


def _local(
    clients: list[Client],
    to: str,
    outdir: Path,
    mapping: str | None,
    jobs: int,
    timeout: float | None = DEFAULT_TIMEOUT,  # float-ok: seconds
    memory_mib: int | None = DEFAULT_MEMORY,
) -> Iterator[ClientResult]:
    """The clients handed one at a time to at most `jobs` worker processes forked from a server that has
    migrator loaded (`_worker`). A client that runs past `timeout` seconds has its worker killed and is
    reported; one whose worker dies is reported with how it died. A worker killed, died or retired is
    replaced by a fresh one while clients wait."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_preload(to))
    waiting = list(reversed(clients))
    idle: list[_Worker] = []
    busy: dict[Any, tuple[_Worker, Client, float]] = {}  # float-ok: monotonic deadline
    exiting: list[tuple[Any, float]] = []  # float-ok: monotonic deadline
    task, args = convert_client, (to, str(outdir), mapping)

    def hand_out() -> None:
        while waiting and len(busy) < jobs:
            if idle:
                worker = idle.pop()
            else:
                receiver, sender = context.Pipe()
                process = context.Process(target=_worker, name="migrator-bulk-worker", daemon=True,
                                          args=(sender, task, args, memory_mib))  # fmt: skip
                process.start()
                sender.close()
                worker = _Worker(process, receiver)
            client = waiting.pop()
            try:
                worker.pipe.send(client)
            except OSError:  # it died while idle: the client goes to a fresh one
                waiting.append(client)
                retire(worker)
                continue
            busy[worker.pipe] = (worker, client, time.monotonic() + timeout if timeout else math.inf)

    def retire(worker: _Worker) -> None:
        worker.pipe.close()
        exiting.append((worker.process, time.monotonic() + 10))

    try:
        while waiting or busy:
            hand_out()
            soonest = min([deadline for _w, _c, deadline in busy.values()] + [d for _p, d in exiting])
            wait = None if soonest == math.inf else max(0.0, soonest - time.monotonic())
            finished: list[ClientResult] = []
            for ready in multiprocessing.connection.wait(list(busy), timeout=wait):
                worker, client, _deadline = busy.pop(ready)
                try:
                    result, retiring = worker.pipe.recv()
                except (EOFError, OSError):
                    worker.process.join(10)
                    result, retiring = _died(client, worker.process.exitcode, memory_mib), True
                if retiring:
                    retire(worker)
                else:
                    idle.append(worker)
                finished.append(result)
            hand_out()  # the next clients start before the results are recorded
            yield from finished
            now = time.monotonic()
            for process, deadline in list(exiting):
                if process.exitcode is not None or now >= deadline:
                    exiting.remove((process, deadline))
                    _end(process)
            for receiver, (worker, client, deadline) in list(busy.items()):
                if now >= deadline:
                    del busy[receiver]
                    _end(worker.process, at_once=True)
                    receiver.close()
                    _tidy(outdir, client.name, worker.process.pid)
                    yield ClientResult(client.name, client.source, "failed",
                                       message=f"stopped after {timeout:g} s (--client-timeout)", seconds=timeout or 0.0)  # fmt: skip
        for worker in idle:
            with contextlib.suppress(OSError):
                worker.pipe.send(None)
            retire(worker)
        idle.clear()
        for process, _deadline in exiting:
            _end(process)
    finally:
        for receiver, (worker, client, _deadline) in busy.items():
            _end(worker.process, at_once=True)
            receiver.close()
            _tidy(outdir, client.name, worker.process.pid)
        for worker in idle:
            _end(worker.process, at_once=True)
            worker.pipe.close()


def _end(process: Any, at_once: bool = False) -> None:
    """Reap a worker's process; kill it first if it is to stop at once, or still runs a moment on."""
    if at_once:
        process.kill()
    process.join(0 if at_once else 2)
    if process.exitcode is None:
        process.kill()
    process.join()


_PART = re.compile(r"^\.(?P<name>.+)\.(?P<kind>part|old)-(?P<pid>\d+)$")


def _tidy(outdir: Path, name: str | None = None, pid: int | None = None) -> None:
    """Remove what a killed client process left (all such leftovers when `name` is None): its
    temporary folder, and its earlier output put back if it was caught between the two renames."""
    for path in outdir.glob(".*"):
        match = _PART.match(path.name)
        if not match or (name is not None and (match["name"], int(match["pid"])) != (name, pid)):
            continue
        final = outdir / match["name"]
        if match["kind"] == "old" and not final.exists():
            path.rename(final)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _dask(clients: list[Client], to: str, outdir: Path, mapping: str | None, address: str) -> Iterator[ClientResult]:
    """The same per-client tasks on a Dask distributed cluster (scheduler at `address`)."""
    try:
        from distributed import Client as DaskClient
        from distributed import as_completed
    except ImportError:
        raise MigratorError("--scheduler needs Dask distributed: pip install 'migrator[dask]'") from None
    run_id = uuid.uuid4().hex[:12]  # two runs on one cluster never share a task
    with DaskClient(address) as dask:
        futures = {
            dask.submit(_dask_task, c, to, str(outdir), mapping, key=f"migrator-{run_id}-{c.name}", pure=False): c
            for c in clients
        }
        for future in as_completed(futures):
            client = futures[future]
            try:
                yield future.result()
            except Exception as exc:
                yield ClientResult(client.name, client.source, "failed", message=f"task failed on the cluster: {exc}")


def _dask_task(client: Client, to: str, outdir: str, mapping: str | None) -> ClientResult:
    """One client on a Dask worker, which runs many clients: nothing of it is kept for the next (`forget`)."""
    try:
        return convert_client(client, to, outdir, mapping)
    finally:
        forget()


def run(
    root: str | os.PathLike[str],
    to: str,
    outdir: str | os.PathLike[str],
    *,
    mapping: str | None = None,
    jobs: int | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    client_timeout: float | None = DEFAULT_TIMEOUT,  # float-ok: seconds
    client_memory: int | None = DEFAULT_MEMORY,
    progress: Callable[[ClientResult, int, int], None] | None = None,
    force: bool = False,
) -> BulkRun:
    """Convert every client under `root` to format `to` into `outdir`; see the module docstring.

    OUTDIR must be new, empty, or an earlier run's (with `resume`, or `force` to convert every client
    again); it may not be, hold or lie inside ROOT or a client's source (`check_outdir`)."""
    registry.get(to)
    if mapping is not None:
        from migrator.mapping import load_mapping

        load_mapping(mapping)  # a broken map fails once, before any client runs
    found = survey(root)
    clients = found.clients
    if not clients:
        discover(root)  # raises, naming why
    out = Path(outdir)
    check_outdir(out, [root, *(c.folder or c.source for c in clients)], resume=resume, force=force)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    with locked(out):
        _tidy(out)  # what a run killed part-way left
        results = _convert_all(clients, to, out, mapping, jobs, resume, scheduler, client_timeout, client_memory,
                               progress)  # fmt: skip
        skipped = list(found.skipped)
        entries = {c.name: c.folder or c.source for c in clients}
        for result in [r for r in results if r.status == "unrecognised"]:
            results.remove(result)
            skipped.append(Skipped(entries.get(result.name, result.source), result.message))
        order = {c.name: i for i, c in enumerate(clients)}
        results.sort(key=lambda r: order.get(r.name, 0))
        bulk = BulkRun(out, to, results, skipped)
        write_overview(bulk)
    return bulk


def check_outdir(out: Path, sources: list[Any], *, resume: bool, force: bool) -> None:
    """Refuse an OUTDIR that could destroy what migrator did not write (`outputs.OutputError`, exit 2):
    one that is, holds or lies inside ROOT or a client's source; one that holds files but no catalog of
    an earlier run; an earlier run's without `resume` or `force`."""
    from migrator import outputs

    for source in sources:
        real_out, real_source = Path(os.path.realpath(out)), Path(os.path.realpath(source))
        if real_out == real_source or real_source in real_out.parents or real_out in real_source.parents:
            where = (
                "is" if real_out == real_source else "lies inside" if real_source in real_out.parents else "contains"
            )
            raise outputs.OutputError(f"{out} {where} the client books at {source}: give bulk an OUTDIR of its own")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise outputs.OutputError(f"{out} exists and is not a folder: give bulk a new or empty OUTDIR")
    present = [p for p in out.iterdir() if p.name != LOCK] if out.is_dir() else []
    if not present:
        return
    if not _is_catalog(out / CATALOG):
        names = ", ".join(sorted(p.name for p in present)[:5]) + (", …" if len(present) > 5 else "")
        raise outputs.OutputError(
            f"{out} already holds files that are not an earlier bulk run ({names}): give bulk a new or empty OUTDIR"
        )
    if not (resume or force):
        raise outputs.OutputError(
            f"{out} holds an earlier bulk run: add --resume to go on with it, or --force to convert every client "
            "again (only migrator's own client outputs are replaced), or choose a new OUTDIR"
        )


def _is_catalog(path: Path) -> bool:
    """True when `path` is the SQLite catalog of an earlier bulk run."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clients'").fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def _replaceable(folder: Path) -> None:
    """Refuse (`outputs.OutputError`) to replace or move a client folder migrator did not write whole."""
    from migrator import outputs

    if folder.exists() or folder.is_symlink():
        outputs.check(folder, folder=True, force=True)


def _convert_all(
    clients: list[Client],
    to: str,
    out: Path,
    mapping: str | None,
    jobs: int | None,
    resume: bool,
    scheduler: str | None,
    client_timeout: float | None,  # float-ok: seconds
    client_memory: int | None,
    progress: Callable[[ClientResult, int, int], None] | None,
) -> list[ClientResult]:
    """Convert (or, resuming, keep) each client, recording each in the catalog as it finishes."""
    catalog = Catalog(out / CATALOG)
    results: list[ClientResult] = []
    try:
        todo = []
        for client in clients:
            previous = catalog.previous(client.name) if resume else None
            if previous is not None and is_done(previous, client, to, out):
                results.append(_unchanged(client, previous))
                if progress:
                    progress(results[-1], len(results), len(clients))
            else:
                todo.append(client)
        workers = jobs or os.cpu_count() or 1
        stream = (
            _dask(todo, to, out, mapping, scheduler)
            if scheduler
            else _local(todo, to, out, mapping, workers, client_timeout, client_memory)
        )
        for result in stream:
            set_aside(result, out)
            if result.status == "unrecognised" and result.stale:  # it was a client: unreadable now is a failure
                result.status = "failed"
            catalog.record(result, to)
            results.append(result)
            if progress:
                progress(result, len(results), len(clients))
    finally:
        catalog.close()
    return results


# ------------------------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class Planned:
    """What a dry run says of one client: where it goes and what was detected."""

    client: Client
    output: Path
    format: str
    detail: str


def plan(root: str | os.PathLike[str], to: str, outdir: str | os.PathLike[str]) -> tuple[list[Planned], list[Skipped]]:
    """What `run` would do, writing nothing: each client with its format (and dossier) detected and
    its output folder, and every entry skipped with its reason."""
    from migrator.pipeline import detect

    registry.get(to)
    found = survey(root)
    planned = []
    skipped = list(found.skipped)
    for client in found.clients:
        try:
            detection = detect(client.source)
        except UnknownFormat:
            source = Path(client.source)
            what = "this folder" if source.is_dir() else "this file" if not client.folder else source.name
            skipped.append(
                Skipped(client.folder or client.source, f"no reader recognises {what} (see `migrator formats`)")
            )
            continue
        except MigratorError as exc:
            planned.append(Planned(client, Path(outdir) / client.name, "?", f"will fail: {exc}"))
            continue
        detail = ""
        if client.dossier:
            detail = f"dossier {client.dossier}"
            with contextlib.suppress(MigratorError, OSError, ValueError, ImportError):
                from migrator.readers.winbiz import dossiers

                detail += "".join(f" ({company})" for _name, company in dossiers(client.source)[:1])
        if client.folder and outside_links(Path(client.folder)):
            link, target = outside_links(Path(client.folder))[0]
            detail = f"will fail: {link} links to {target}, outside the client's folder"
        planned.append(Planned(client, Path(outdir) / client.name, detection.format, detail))
    return planned, skipped


# -------------------------------------------------------------------------------------------- overview


def overview_data(bulk: BulkRun) -> dict[str, Any]:
    """The overview as plain data (overview.json), read by the HTML and xlsx writers."""
    rows = [{**asdict(r), "folder": r.name} for r in bulk.results]
    return {
        "target": bulk.target,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "clients": len(rows),
        "succeeded": sum(r.ok for r in bulk.results),
        "failed": sum(not r.ok for r in bulk.results),
        "results": rows,
        "skipped": [asdict(s) for s in bulk.skipped],
    }


def write_overview(bulk: BulkRun) -> None:
    """overview.json, overview.html and overview.xlsx in OUTDIR: one row per client."""
    from migrator.bulk_overview import write_html, write_xlsx

    data = overview_data(bulk)
    (bulk.outdir / "overview.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_html(data, bulk.outdir / "overview.html")
    write_xlsx(data, bulk.outdir / "overview.xlsx")
    for name in OVERVIEWS:
        (bulk.outdir / name).chmod(0o600)
