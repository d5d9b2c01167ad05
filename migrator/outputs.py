"""Where outputs go: the one module that decides what migrator may create, replace or remove.

The people who run migrator have often lost their books once already; the folder they point it at
may be the only copy they have. So:

- an output is written under a temporary name and put in place only when complete;
- an output path that is, contains or lies inside a source is refused, always;
- two outputs of one command (``-o`` and ``--report``) may not be the same path or lie inside
  each other;
- an existing non-empty folder or an existing file is refused unless ``force`` is given, and even
  then only an earlier migrator output is replaced: one recognised by the manifest migrator leaves
  with every output (``.migrator-manifest.json`` inside an output folder, ``.<name>.migrator.json``
  beside an output file), listing its files with their SHA-256. Only the files a manifest lists are
  ever removed, and only while they are unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from migrator import __version__
from migrator.errors import MigratorError
from migrator.i18n import N_
from migrator.sources import sha256_file

PathLike = str | os.PathLike[str]

MANIFEST = ".migrator-manifest.json"
"""The manifest inside an output folder."""
PART = ".migrator-part-"
"""The prefix of the temporary folder migrator writes into inside an existing output folder."""
HOW_TO_PROCEED = N_("choose a new or empty folder or file name, or replace an earlier migrator output")


class OutputError(MigratorError, FileExistsError):
    """An output path migrator must not write to: it holds what migrator did not write, or a source."""


def _refused(message: str, force_helps: bool = False) -> OutputError:
    """The error; where replacing an earlier output (``force=True``, ``--force``) would do, it says so."""
    error = OutputError(message)
    error.option = "force" if force_helps else ""
    return error


def sidecar(path: PathLike) -> Path:
    """The manifest of a one-file output: a hidden file beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.migrator.json")


def _real(path: PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check(out: PathLike, *, folder: bool, sources: Iterable[PathLike | None] = (),
          others: Iterable[PathLike | None] = (), force: bool = False) -> None:  # fmt: skip
    """Refuse `out` (an `OutputError`, exit 2) where writing it could destroy what migrator did not write.

    `sources` are the command's inputs; `others` the command's other outputs (the report beside
    ``-o``). An output folder that exists must be empty, or (with `force`) an earlier migrator output
    whose every file its manifest lists unchanged; an output file that exists must (with `force`) be
    an earlier migrator output, unchanged since.
    """
    out = Path(out)
    if str(out) in ("", "-"):
        raise OutputError(N_("{path!r} is not a path to write to").format(path=str(out)))
    target = _real(out)
    for source in sources:
        if source is None:
            continue
        real = _real(source)
        if target == real:
            raise OutputError(N_("{out} is the source {source}: migrator never writes over its inputs").format(
                out=out, source=source))  # fmt: skip
        if _within(target, real):
            raise OutputError(N_("{out} lies inside the source {source}: write the output somewhere else").format(
                out=out, source=source))  # fmt: skip
        if _within(real, target):
            raise OutputError(N_("{out} contains the source {source}: write the output somewhere else").format(
                out=out, source=source))  # fmt: skip
    for other in others:
        if other is None:
            continue
        real = _real(other)
        if target == real:
            raise OutputError(N_("{out} is named for two outputs (the output and the report): give each its own "
                                 "path").format(out=out))  # fmt: skip
        if _within(real, target) or _within(target, real):
            raise OutputError(N_("{out} and {other} lie inside each other: give each output its own place").format(
                out=out, other=other))  # fmt: skip
    if folder:
        _check_folder(out, force)
    else:
        _check_file(out, force)


def _check_folder(out: Path, force: bool) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise _refused(N_("{out} exists and is not a folder; this format writes a folder: {how}").format(
            out=out, how=HOW_TO_PROCEED), force_helps=True)  # fmt: skip
    if not out.exists():
        return
    present = [p for p in out.iterdir() if not p.name.startswith(PART)]
    if not present:
        return
    manifest = read_manifest(out / MANIFEST)
    names = ", ".join(sorted(p.name for p in present)[:5]) + (", …" if len(present) > 5 else "")
    if not force:
        template = (N_("{out} already holds {count} file(s) or folder(s) (an earlier migrator output): {names}; {how}")
                    if manifest is not None else N_("{out} already holds {count} file(s) or folder(s): {names}; {how}"))  # fmt: skip
        raise _refused(template.format(out=out, count=len(present), names=names, how=HOW_TO_PROCEED),
                       force_helps=True)  # fmt: skip
    if manifest is None:
        raise OutputError(N_("{out} holds files migrator did not write ({names}); only an earlier migrator output "
                             "can be replaced: choose a new or empty folder").format(out=out, names=names))  # fmt: skip
    listed = manifest["files"]
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if relative == MANIFEST or relative.split("/")[0].startswith(PART):
            continue
        if path.is_symlink() or (path.is_file() and relative not in listed):
            raise OutputError(N_("{out} holds {relative}, which migrator did not write; move it away first").format(
                out=out, relative=relative))  # fmt: skip
        if path.is_dir() and not any(name.startswith(relative + "/") for name in listed):
            if any(path.iterdir()):
                continue  # its files are checked one by one
            raise OutputError(N_("{out} holds the folder {relative}, which migrator did not write; move it away "
                                 "first").format(out=out, relative=relative))  # fmt: skip
    _check_unchanged(out, listed)


def _check_file(out: Path, force: bool) -> None:
    if out.is_dir():
        raise OutputError(N_("{out} is a folder; this format writes one file: give a file name").format(out=out))
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise _refused(N_("{out} already exists: {how}").format(out=out, how=HOW_TO_PROCEED), force_helps=True)
    manifest = read_manifest(sidecar(out))
    if out.is_symlink() or manifest is None or list(manifest["files"]) != [out.name]:
        raise OutputError(N_("{out} exists and migrator did not write it (no manifest {manifest} beside it); only an "
                             "earlier migrator output can be replaced: choose another name").format(
            out=out, manifest=sidecar(out).name))  # fmt: skip
    _check_unchanged(out.parent, manifest["files"])


def _check_unchanged(folder: Path, listed: dict[str, str]) -> None:
    for relative, digest in listed.items():
        path = folder / relative
        if path.is_file() and not path.is_symlink() and sha256_file(path) != digest:
            raise OutputError(N_("{path} was changed after migrator wrote it; only an unchanged earlier output can be "
                                 "replaced: move it away first").format(path=path))  # fmt: skip


def read_manifest(path: Path) -> dict[str, dict[str, str]] | None:
    """The manifest at `path`, or None when there is none or it is not migrator's."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 64 << 20:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) and data.get("tool") == "migrator" else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    if any(k.startswith("/") or ".." in k.split("/") for k in files):
        return None
    return {"files": files}


def written_with(out: PathLike) -> dict[str, str]:
    """The writer options an earlier migrator output at `out` was written with (empty if none or unknown)."""
    out = Path(out)
    path = out / MANIFEST if out.is_dir() else sidecar(out)
    if read_manifest(path) is None:
        return {}
    options = json.loads(path.read_text(encoding="utf-8")).get("options")
    if not isinstance(options, dict):
        return {}
    return {str(k): str(v) for k, v in options.items()}


def _manifest_text(files: dict[str, str], options: Mapping[str, str] | None = None) -> str:
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    data: dict[str, object] = {"tool": "migrator", "version": __version__, "created": created, "files": files}
    if options:
        data["options"] = dict(options)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _listing(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


@contextlib.contextmanager
def placed(out: PathLike, *, folder: bool, sources: Iterable[PathLike | None] = (),
           others: Iterable[PathLike | None] = (), force: bool = False,
           options: Mapping[str, str] | None = None) -> Iterator[Path]:  # fmt: skip
    """A temporary path to write the output into; put in place at `out` with its manifest only if the
    block completes (checked by `check` before and again just before anything is replaced). The
    manifest keeps the writer `options` too, so that a later verification declares what they did."""
    out = Path(out)
    sources, others = list(sources), list(others)
    check(out, folder=folder, sources=sources, others=others, force=force)
    if folder and out.is_dir():
        temp = Path(tempfile.mkdtemp(prefix=PART, dir=out))  # same file system, and no write rights needed above
    elif folder:
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        os.close(handle)
        temp = Path(name)
    try:
        yield temp
        check(out, folder=folder, sources=sources, others=others, force=force)  # the world may have moved on
        if folder:
            _install_folder(temp, out, options)
        else:
            _install_file(temp, out, options)
    finally:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        elif temp.exists():
            temp.unlink()


def write_manifest(folder: Path, options: Mapping[str, str] | None = None) -> None:
    """List every file of a complete output folder, with its SHA-256, in its manifest."""
    (folder / MANIFEST).write_text(_manifest_text(_listing(folder), options), encoding="utf-8")


def _install_folder(temp: Path, out: Path, options: Mapping[str, str] | None = None) -> None:
    write_manifest(temp, options)
    if not out.exists():
        temp.rename(out)
        return
    earlier = read_manifest(out / MANIFEST)
    if earlier is not None:
        remove_listed(out, earlier["files"])
    for entry in sorted(temp.iterdir()):
        if entry.name != MANIFEST:
            _move_into(entry, out / entry.name)
    os.replace(temp / MANIFEST, out / MANIFEST)  # last: a manifest names a complete output


def _move_into(entry: Path, target: Path) -> None:
    if entry.is_dir() and target.is_dir():
        for child in sorted(entry.iterdir()):
            _move_into(child, target / child.name)
    else:
        os.replace(entry, target)


def remove_listed(folder: Path, files: dict[str, str]) -> None:
    """Remove the unchanged files a manifest lists (and the folders they leave empty); nothing else."""
    emptied: set[Path] = set()
    for relative, digest in files.items():
        path = folder / relative
        if path.is_file() and not path.is_symlink() and sha256_file(path) == digest:
            path.unlink()
            emptied.update(p for p in path.parents if _within(p, folder) and p != folder)
    for parent in sorted(emptied, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            parent.rmdir()  # only when empty
    (folder / MANIFEST).unlink(missing_ok=True)


def _install_file(temp: Path, out: Path, options: Mapping[str, str] | None = None) -> None:
    manifest = sidecar(out)
    pending = manifest.with_name(manifest.name + ".part")
    pending.write_text(_manifest_text({out.name: sha256_file(temp)}, options), encoding="utf-8")
    try:
        os.replace(temp, out)
        os.replace(pending, manifest)
    finally:
        pending.unlink(missing_ok=True)
