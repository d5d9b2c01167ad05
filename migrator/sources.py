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
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from migrator.errors import SourceError

MAX_MEMBERS = 20_000
MAX_UNPACKED_BYTES = 4 << 30
MAX_RATIO = 200  # a member that unpacks to more than 200× its packed size is treated as a bomb


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
        raise SourceError(f"archive member {info.filename!r} points outside the archive; refusing it", archive)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise SourceError(f"archive member {info.filename!r} is a link; refusing it", archive)
    if info.flag_bits & 0x1:
        raise SourceError("the archive is encrypted; unpack it with its password first", archive)
    if info.compress_size and info.file_size > MAX_RATIO * info.compress_size and info.file_size > 1 << 20:
        raise SourceError(
            f"archive member {info.filename!r} unpacks to {info.file_size} bytes: refusing a zip bomb",
            archive,
        )
    return name


def unpack_zip(archive: Path, into: Path, name: str = "") -> None:
    """Unpack `archive` into the folder `into`, refusing anything unsafe (see module docstring)."""
    label = name or str(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise SourceError(f"archive has {len(members)} members, more than {MAX_MEMBERS}", label)
            total = 0
            for info in members:
                member = _check_member(info, label)
                total += info.file_size
                if total > MAX_UNPACKED_BYTES:
                    raise SourceError(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes", label)
                target = into.joinpath(*member.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with zf.open(info) as src, target.open("wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        written += len(block)
                        if written > info.file_size:
                            raise SourceError(f"archive member {info.filename!r} is larger than declared", label)
                        dst.write(block)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"not a readable zip archive ({exc})", label) from None
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        raise SourceError(f"cannot unpack the archive: {exc}", label) from None


@contextlib.contextmanager
def opened(path: str | os.PathLike[str]) -> Iterator[Source]:
    """A `Source` for `path`; a zip is unpacked into a temporary folder removed afterwards."""
    path = Path(path)
    if not path.exists():
        raise SourceError("no such file or folder", str(path))
    if path.is_file() and zipfile.is_zipfile(path) and path.suffix.lower() not in (".xlsx", ".xlsm"):
        workdir = Path(tempfile.mkdtemp(prefix="migrator-zip-"))
        try:
            unpack_zip(path, workdir, str(path))
            entries = [p for p in workdir.iterdir() if not p.name.startswith("__MACOSX")]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else workdir
            yield Source(root, str(path))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    else:
        yield Source(path)
