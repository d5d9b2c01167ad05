"""What a reader is handed: a file or a folder, opened read-only, archives unpacked safely.

Inputs are never opened for writing. A zip is unpacked into a private temporary folder with every
member checked: no absolute paths, no ``..``, no links, bounded count and size.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from migrator import limits
from migrator.errors import SourceError
from migrator.i18n import N_

if TYPE_CHECKING:  # loaded where a gzip or SQLite input is read
    import sqlite3

MEMBER_RATIO_FREE = 1 << 20
"""A single member smaller than this is not checked for its own ratio (the whole archive is)."""


@dataclass
class Source:
    """A file or folder to read; `name` is what messages call it (the path the user gave)."""

    path: Path
    name: str = ""
    _head: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.name:
            self.name = str(self.path)

    @property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()

    def head(self, size: int = 4096) -> bytes:
        """The first bytes of a file source (empty for a folder)."""
        if self.is_dir:
            return b""
        if self._head is None or len(self._head) < size:
            with self.path.open("rb") as handle:
                self._head = handle.read(max(size, 4096))
        return self._head[:size]

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def child(self, path: Path) -> Source:
        """A source for a file inside this folder, named relative to it in messages."""
        relative = path.relative_to(self.path) if self.is_dir else path.name
        return Source(path, f"{self.name.rstrip('/')}/{relative}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_member(info: zipfile.ZipInfo, archive: str) -> PurePosixPath:
    name = PurePosixPath(info.filename.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or (name.parts and name.parts[0].endswith(":")):
        raise SourceError(N_("archive member {name!r} points outside the archive; refusing it").format(name=info.filename),
                          archive)  # fmt: skip
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SourceError(N_("archive member {name!r} is a link; refusing it").format(name=info.filename), archive)
    if info.flag_bits & 0x1:
        raise SourceError(N_("the archive is encrypted; unpack it with its password first"), archive)
    bounds = limits.current()
    if info.file_size > MEMBER_RATIO_FREE and info.file_size > bounds.max_ratio * max(info.compress_size, 1):
        raise SourceError(
            N_(
                "archive member {name!r} unpacks to {size} bytes from {packed}, more than {ratio}× its packed size: "
                "refusing a zip bomb (raise the ratio with MIGRATOR_MAX_RATIO)"
            ).format(name=info.filename, size=info.file_size, packed=info.compress_size, ratio=bounds.max_ratio),
            archive,
        )
    return name


def check_archive(
    zf: zipfile.ZipFile, label: str, packed: int, total_key: str = "max_input_bytes"
) -> list[zipfile.ZipInfo]:
    """The members of an open zip (an archive or an xlsx), once each is checked and their declared sizes
    fit the bounds: member count, total unpacked size, and ratio over the whole archive (small members
    count too); `packed` is the archive's size. Declared sizes bound what can be read: Python's zipfile stops each member at its
    declared size and fails its CRC check (CPython ``zipfile.ZipExtFile._read1``)."""
    bounds = limits.current()
    members = zf.infolist()
    if len(members) > bounds.max_members:
        raise limits.refusal(label, N_("the archive has {count} members").format(count=len(members)), "max_members")
    total = 0
    for info in members:
        _check_member(info, label)
        total += info.file_size
    if total > getattr(bounds, total_key):
        raise limits.refusal(label, N_("the archive unpacks to {size} bytes").format(size=total), total_key)
    if total > bounds.unpacked_bound(packed):
        raise limits.ratio_refusal(label, N_("the archive unpacks to {size} bytes").format(size=total), packed)
    return members


def unpack_zip(archive: Path, into: Path, name: str = "") -> None:
    """Unpack `archive` into the folder `into`, refusing anything unsafe (see module docstring).

    The bounds are checked on the declared sizes before anything is written, and again on the bytes
    actually written, member after member, so that a lying archive is stopped at the bound."""
    label = name or str(archive)
    bounds = limits.current()
    packed = archive.stat().st_size
    allowed = min(bounds.max_input_bytes, bounds.unpacked_bound(packed))
    try:
        with zipfile.ZipFile(archive) as zf:
            written = 0
            members = check_archive(zf, label, packed)
            _check_names(members, label)
            for info in members:
                member = _check_member(info, label)
                target = into.joinpath(*member.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                size = 0
                with zf.open(info) as src, target.open("wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        size += len(block)
                        written += len(block)
                        if size > info.file_size:
                            raise SourceError(N_("archive member {name!r} is larger than declared").format(
                                name=info.filename), label)  # fmt: skip
                        if written > allowed:
                            raise limits.refusal(label, f"the archive unpacks to more than {allowed} bytes",
                                                 "max_input_bytes")  # fmt: skip
                        dst.write(block)
    except zipfile.BadZipFile as exc:
        raise SourceError(N_("not a readable zip archive ({reason})").format(reason=exc), label) from None
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        raise SourceError(N_("cannot unpack the archive: {reason}").format(reason=exc), label) from None


def _check_names(members: list[zipfile.ZipInfo], archive: str) -> None:
    """Refuse members that would land on one another: one name twice (also differing by case only, as
    on Windows and macOS disks), or a file where another member needs a folder."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for info in members:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        for depth in range(1, len(parts) + (1 if info.is_dir() else 0)):
            folders.setdefault("/".join(parts[:depth]).casefold(), info.filename)
        if not info.is_dir():
            key = "/".join(parts).casefold()
            if key in files:
                raise SourceError(N_("archive holds two members named {first!r} and {second!r}: one would replace the "
                                     "other; unpack it by hand and keep the right one").format(
                    first=files[key], second=info.filename), archive)  # fmt: skip
            files[key] = info.filename
    for key, filename in files.items():
        if key in folders:
            raise SourceError(N_("archive member {name!r} is a file where {folder!r} needs a folder").format(
                name=filename, folder=folders[key]), archive)  # fmt: skip


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_workbook(path: Path, name: str = "") -> None:
    """Refuse an xlsx before openpyxl reads it: not a zip, too many parts, parts that unpack past the
    bounds (declared sizes, which bound what zipfile reads: see `check_archive`), links, and XML parts
    that declare entities. Every reader that opens an xlsx calls this first."""
    from migrator import xmlsafe

    label = name or str(path)
    with path.open("rb") as handle:
        if handle.read(8) == _OLE:  # an OLE file: encrypted xlsx, or old .xls
            raise SourceError(N_("a password-protected workbook or an old .xls: save it as .xlsx without a password"),
                              label)  # fmt: skip
    try:
        with zipfile.ZipFile(path) as archive:
            for member in check_archive(archive, label, path.stat().st_size, "max_xlsx_bytes"):
                if member.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(member) as handle:
                        xmlsafe.check(handle.read(1 << 16), label)
    except SourceError:
        raise
    except zipfile.BadZipFile as exc:
        raise SourceError(N_("not a readable Excel workbook (not a zip archive: {reason})").format(reason=exc),
                          label) from None  # fmt: skip
    except Exception as exc:  # zipfile raises OSError, EOFError, zlib.error… on a damaged member
        raise SourceError(N_("not a readable Excel workbook ({kind}: {reason})").format(kind=type(exc).__name__,
                                                                                      reason=exc), label) from None  # fmt: skip


def gunzip(path: Path, name: str = "", block: int = 1 << 20) -> Iterator[bytes]:
    """The decompressed blocks of the gzip file at `path`, stopped at the bounds (total and ratio)
    as they are passed, so that a bomb is refused having produced at most the bound."""
    import gzip
    import zlib

    label = name or str(path)
    bounds = limits.current()
    packed = path.stat().st_size
    ratio_bound = bounds.unpacked_bound(packed)
    size = 0
    try:
        with gzip.open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(block), b""):
                size += len(chunk)
                if size > bounds.max_input_bytes:
                    raise limits.refusal(label, f"the gzip file unpacks to more than {bounds.max_input_bytes} bytes",
                                         "max_input_bytes")  # fmt: skip
                if size > ratio_bound:
                    raise limits.ratio_refusal(label, f"the gzip file unpacks to more than {ratio_bound} bytes",
                                               packed)  # fmt: skip
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(N_("not a readable gzip file ({reason})").format(reason=exc), label) from None


@contextlib.contextmanager
def sqlite_reading(path: Path, name: str, what: str, seconds: float | None = None) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file at `path`, closed afterwards, whose queries stop
    once `seconds` (by default the SQL time bound) have passed since it was opened.

    An ``sqlite3.Error`` inside the block becomes a `SourceError` beginning with `what`; one caused by
    the time bound names the bound. The file is opened ``mode=ro`` and, when no write-ahead log or
    rollback journal lies beside it, ``immutable=1`` (no lock, no -shm file next to the input)."""
    import sqlite3

    label = name or str(path)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists():
        uri += "&immutable=1"
    bound = limits.current().sql_seconds if seconds is None else seconds
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"{what}: {exc}", label) from None
    with contextlib.closing(db):
        clock = Deadline(bound)
        db.set_progress_handler(clock.passed, 10_000)
        try:
            yield db
        except sqlite3.Error as exc:
            if clock.hit:
                raise limits.refusal(label, f"{what}: reading took longer than {bound:g} s", "sql_seconds",
                                     bound) from None  # fmt: skip
            raise SourceError(f"{what}: {exc}", label) from None


class Deadline:
    """A SQLite progress handler that interrupts the query running once the time is up."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.hit = False

    def passed(self) -> int:
        if time.monotonic() > self.end:
            self.hit = True
            return 1
        return 0


def tables_only(db: sqlite3.Connection) -> set[str]:
    """The names of the real tables of a database (never a view named like a table)."""
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _is_workbook(path: Path) -> bool:
    """An Excel workbook (a zip of XML parts), whatever its name: not an archive to unpack."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and "xl/workbook.xml" in names


@contextlib.contextmanager
def opened(path: str | os.PathLike[str]) -> Iterator[Source]:
    """A `Source` for `path`; a zip is unpacked into a temporary folder removed afterwards."""
    path = Path(path)
    if not path.exists():
        raise SourceError(N_("no such file or folder"), str(path))
    if not path.is_file() and not path.is_dir():
        raise SourceError(N_("not a regular file or folder (a pipe, socket or device is never read)"), str(path))
    workbook = path.is_file() and zipfile.is_zipfile(path) and _is_workbook(path)
    if path.is_file() and zipfile.is_zipfile(path) and not workbook:
        workdir = Path(tempfile.mkdtemp(prefix="migrator-zip-"))
        try:
            unpack_zip(path, workdir, str(path))
            entries = [p for p in workdir.iterdir() if not p.name.startswith("__MACOSX")]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else workdir
            yield Source(root, str(path))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        if workbook:
            check_workbook(path, str(path))  # a bomb is named as such, not left for detection to fail on
        yield Source(path)
