"""The operations, as plain functions: detect, read, write, convert, verify.

Data flows one way: reader → ledger → mapping → validation → writer → verification. The command
line is a thin layer over these; they are also migrator's Python API.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator import outputs, registry, years
from migrator.errors import MigratorError, ProblemsFound, SourceError, UnknownFormat
from migrator.i18n import N_
from migrator.model import Ledger, Problem, SourceFile, years_of
from migrator.readers.base import ReadOptions
from migrator.reconcile import Comparison, compare, expect
from migrator.sources import Source, opened, sha256_file
from migrator.validate import validate

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Detection:
    format: str
    confidence: float
    encoding: str = ""
    path: str = ""


def _candidates(source: Source) -> list[tuple[float, registry.Format]]:
    """The readers that recognise `source`, surest first. The formats that claim its extension are
    asked first; when one of them is sure, the others are not asked (nor imported)."""
    claiming = [f for f in registry.readable() if source.suffix in f.extensions and not source.is_dir]
    scored = _sniffed(source, claiming, bonus=0.01)
    if not scored or scored[0][0] < SURE:
        scored = sorted(scored + _sniffed(source, [f for f in registry.readable() if f not in claiming]),
                        key=lambda item: -item[0])  # fmt: skip
    return scored


SURE = 0.95
"""A sniff this confident ends the search among the formats claiming a file's extension."""


def _sniffed(source: Source, formats: list[registry.Format], bonus: float = 0.0) -> list[tuple[float, registry.Format]]:
    scored = []
    for fmt in formats:
        try:
            confidence = fmt.reader().sniff(source)
        except (OSError, ValueError, UnicodeError):
            confidence = 0.0
        if confidence > 0:
            scored.append((confidence + bonus, fmt))
    return sorted(scored, key=lambda item: -item[0])


def _choose(source: Source, format: str | None) -> tuple[registry.Format, Source, float]:
    """The format to read `source` with: the one named, else the best sniff."""
    if format:
        fmt = registry.get(format)
        reader = fmt.reader()  # raises if the format cannot be read
        if source.is_dir and not reader.sniff(source):
            files = [p for p in source.path.iterdir() if p.is_file() and not p.name.startswith(".")]
            if len(files) != 1:
                raise SourceError(N_("this is a folder, and {format} reads a file: name the file").format(format=fmt.name),
                                  source.name)  # fmt: skip
            return fmt, source.child(files[0]), 1.0
        return fmt, source, 1.0
    scored = _candidates(source)
    if not scored and source.is_dir:
        files = [p for p in source.path.iterdir() if p.is_file() and not p.name.startswith(".")]
        if len(files) == 1:
            return _choose(source.child(files[0]), None)
    if not scored:
        template = (N_("{name}: no reader recognises this folder; name its format (see `migrator.formats()`)")
                    if source.is_dir else N_("{name}: no reader recognises this file; name its format (see `migrator.formats()`)"))  # fmt: skip
        error = UnknownFormat(template.format(name=source.name))
        error.option = "from_format"
        raise error
    confidence, fmt = scored[0]
    return fmt, source, min(confidence, 1.0)


def detect(path: PathLike) -> Detection:
    """Which format `path` is in, how sure migrator is, and the text encoding of a file."""
    from migrator.parsing import codec_name, detect_encoding

    with opened(path) as source:
        fmt, chosen, confidence = _choose(source, None)
        encoding = ""
        if not chosen.is_dir and not chosen.head(4).startswith(b"PK"):
            encoding = codec_name(detect_encoding(chosen.head(1 << 16))[0])
        return Detection(fmt.name, round(confidence, 2), encoding, str(path))


def dossiers(path: PathLike, format: str | None = None) -> list[tuple[str, str]]:
    """The companies of a multi-company source (e.g. a Winbiz DAT folder): (dossier, company name).

    Empty for a source of one company. A reader module offers this with a `dossiers(path)` function.
    """
    import importlib

    with opened(path) as source:
        fmt, _chosen, _ = _choose(source, format)
    module = importlib.import_module(f"migrator.readers.{fmt.name}")
    lister = getattr(module, "dossiers", None)
    return list(lister(path)) if lister else []


def read(
    path: PathLike,
    format: str | None = None,
    *,
    encoding: str | None = None,
    year: int | None = None,
    dossier: str | None = None,
    for_verification: bool = False,
) -> Ledger:
    """Read the books at `path` (a file, folder or zip) into a `Ledger`."""
    options = ReadOptions(encoding=encoding, year=year, dossier=dossier, for_verification=for_verification)
    with opened(path) as source, concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        fmt, chosen, _ = _choose(source, format)
        inputs = _dossier_folder(chosen, fmt.name, dossier) if dossier and chosen.is_dir else chosen
        # The report names every input file with its SHA-256: hashed while the reader reads.
        hashing = None if for_verification else pool.submit(_hashed_files, inputs)
        try:
            ledger = fmt.reader().read(chosen, options)
        except MigratorError:
            raise
        except (UnicodeError, ValueError, KeyError, IndexError, OSError, TypeError, ArithmeticError) as exc:
            raise SourceError(N_("cannot be read as {format}: {reason}").format(format=fmt.name, reason=exc),
                              chosen.name) from exc  # fmt: skip
        if year is not None:
            ledger = only_year(ledger, year, chosen.name)
        if hashing is None or ledger.company.source_files:
            return ledger
        files = tuple(dataclasses.replace(f, encoding=ledger.encoding, format=fmt.name) for f in hashing.result())
        return ledger.replace(company=dataclasses.replace(ledger.company, source_files=files))


def only_year(ledger: Ledger, year: int, name: str = "") -> Ledger:
    """The fiscal year that starts in `year` (a reader may have restricted itself already)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from migrator.model import years_of

    chosen = [y for y in years_of(ledger) if y.start.year == year]
    if not chosen:
        known = ", ".join(str(y.start.year) for y in years_of(ledger)) or "none"
        raise SourceError(N_("no fiscal year starts in {year}; the books hold: {known}").format(year=year, known=known),
                          name)  # fmt: skip
    span = chosen[0]
    dates = ledger.lines.column("date")
    inside = pc.and_(pc.greater_equal(dates, pa.scalar(span.start, pa.date32())),
                     pc.less_equal(dates, pa.scalar(span.end, pa.date32())))  # fmt: skip
    lines = ledger.lines.filter(inside.fill_null(False))
    company = dataclasses.replace(ledger.company, fiscal_years=(span,) if ledger.company.fiscal_years else ())
    return ledger.replace(lines=lines, company=company)


def _dossier_folder(source: Source, format: str, dossier: str) -> Source:
    """The folder of the chosen company in a multi-company source, so only its files are listed."""
    import importlib

    lister = getattr(importlib.import_module(f"migrator.readers.{format}"), "dossiers", None)
    for folder, company in lister(source.path) if lister else []:
        if dossier.casefold() in (folder.casefold(), company.casefold()) and (source.path / folder).is_dir():
            return source.child(source.path / folder)
    return source


def _hashed_files(source: Source) -> list[SourceFile]:
    """Each file of `source`, named as messages name it, with its size and SHA-256."""
    paths = sorted(p for p in source.path.rglob("*") if p.is_file()) if source.is_dir else [source.path]
    names = [source.child(p).name if source.is_dir else source.name for p in paths]
    return [SourceFile(name, sha256_file(p), p.stat().st_size, "", "") for name, p in zip(names, paths, strict=True)]


@contextlib.contextmanager
def _atomic(out: Path, folder: bool) -> Iterator[Path]:
    """A temporary path beside `out`, put in place only if the block completes (see `migrator.outputs`)."""
    with outputs.placed(out, folder=folder) as temp:
        yield temp


def write(
    ledger: Ledger, to: str, out: PathLike, *, force: bool = False, options: Mapping[str, str] | None = None
) -> list[Problem]:
    """Write `ledger` as format `to` at `out`, atomically; return what the format could not carry.

    An existing `out` is replaced only with `force`, and only if migrator wrote it (`migrator.outputs`).
    `options` are the writer's own (`registry.Format.writer_options`), e.g. Banana's ``partner_accounts``.
    """
    fmt = registry.get(to)
    writer = fmt.writer(options)
    ledger = for_target(ledger, to)[0]
    carried, year_problems = years.continuous(ledger) if fmt.years == "continuous" else (ledger, [])
    with outputs.placed(Path(out), folder=fmt.output == "folder", force=force, options=options) as temp:
        return [*year_problems, *writer.write(carried, temp)]


def mapped_for(ledger: Ledger, to: str, mapping: PathLike | None) -> tuple[Ledger, Any, dict[str, str]]:
    """The books as the writer of `to` gets them: carried through `mapping` (if any), then given the
    target's VAT codes (`for_target`); with the mapping applied and which VAT code became which."""
    applied = None
    if mapping is not None:
        from migrator.mapping import apply_mapping, load_mapping

        applied = load_mapping(mapping)
        ledger = apply_mapping(ledger, applied)
    ledger, vat_moves = for_target(ledger, to)
    return ledger, applied, vat_moves


def for_target(ledger: Ledger, to: str) -> tuple[Ledger, dict[str, str]]:
    """The ledger as the writer of `to` gets it: with the target program's VAT codes, and which source
    code became which target code (`migrator.mapping.translate_vat`). Verification compares the output
    with this ledger, so it never needs to know the target's codes itself."""
    from migrator.mapping import translate_vat

    return translate_vat(ledger, registry.get(to).name)


def output_files(out: PathLike) -> list[Path]:
    out = Path(out)
    return sorted(p for p in out.rglob("*") if p.is_file()) if out.is_dir() else [out]


@dataclass
class Conversion:
    """Everything a conversion did and found: the report is made from this."""

    source: Ledger
    written: Ledger
    """The books handed to the writer: mapped, with the target's VAT codes (`for_target`)."""
    target_format: str
    output: Path
    problems: list[Problem] = field(default_factory=list)
    """Problems of reading, mapping and validation."""
    not_carried: list[Problem] = field(default_factory=list)
    """What the target format could not carry, as its writer said."""
    verification: Comparison | None = None
    reread: Ledger | None = None
    """The output as read back."""
    compared: Ledger | None = None
    """The output read back per fiscal year (a continuous target's books through `years.per_year`):
    what verification and the report compare with the source."""
    mapping: Any = None
    vat_codes: dict[str, str] = field(default_factory=dict)
    """The VAT codes translated for the target program: the code in the (mapped) books → its code in `written`."""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.verification is not None and self.verification.ok


Progress = Callable[[str], None]


def convert(
    source: PathLike,
    to: str,
    out: PathLike,
    *,
    from_format: str | None = None,
    encoding: str | None = None,
    year: int | None = None,
    dossier: str | None = None,
    mapping: PathLike | None = None,
    allow_problems: bool = False,
    verify_output: bool = True,
    progress: Progress | None = None,
    report: PathLike | None = None,
    force: bool = False,
    options: Mapping[str, str] | None = None,
) -> Conversion:
    """Read, map, validate, write and verify; raise `ProblemsFound` (nothing written) on errors.

    `options` are the writer's own (`registry.Format.writer_options`), e.g. Banana's ``partner_accounts``.

    `report` names a reconciliation report to write too (``.html``, ``.xlsx`` or ``.json``). Neither
    `out` nor `report` may be, hold or lie inside the source or the mapping; an existing one is replaced
    only with `force`, and only if migrator wrote it (`migrator.outputs`).
    """
    step = progress or (lambda _message: None)
    fmt = registry.get(to)
    writer = fmt.writer(options)  # an unknown option stops here, before anything is read
    sources = [source, mapping if mapping is not None and Path(mapping).exists() else None]
    outputs.check(out, folder=fmt.output == "folder", sources=sources, others=[report], force=force)
    if report is not None:
        outputs.check(report, folder=False, sources=sources, others=[out], force=force)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    step("reading")
    original = read(source, from_format, encoding=encoding, year=year, dossier=dossier)
    timings["read"] = time.perf_counter() - started
    if mapping is not None:
        step("mapping")
    ledger, applied, vat_moves = mapped_for(original, to, mapping)
    step("validating and writing")
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="validate") as pool:
        # Validation (and the totals verification will compare) runs while the output is written to a
        # temporary file, which becomes the output only if validation finds no error.
        checking = pool.submit(_check, ledger)
        # A continuous target gets one opening and a closing entry at each year end (migrator.years).
        carried, year_problems = years.continuous(ledger) if fmt.years == "continuous" else (ledger, [])
        with outputs.placed(out, folder=fmt.output == "folder", sources=sources, others=[report], force=force,
                            options=options) as temp:  # fmt: skip
            try:
                not_carried = year_problems + list(writer.write(carried, temp))
            except Exception:
                _stop_on_errors(checking.result(), allow_problems)  # errors in the books explain it better
                raise
            problems = checking.result()
            _stop_on_errors(problems, allow_problems)
    timings["validate and write"] = time.perf_counter() - t
    reopened = carried is not ledger
    del carried  # the books as written (a copy of the lines where years were carried on): not needed to verify
    result = Conversion(
        original, ledger, to, Path(out), problems, not_carried, mapping=applied, vat_codes=vat_moves, timings=timings
    )
    if verify_output and fmt.reads:
        step("verifying")
        t = time.perf_counter()
        # The source's side first: the books as the target keeps them are let go before the output
        # is read back (at a million lines, a whole copy of the lines less alive at once).
        expected = expect(ledger, fmt.keeps, target=to, declared=not_carried)
        result.reread = read(out, to, for_verification=True)
        reread = years.per_year(result.reread, years_of(ledger)) if reopened else result.reread
        result.compared = reread
        result.verification = compare(ledger, reread, fmt.keeps, declared=not_carried, expected=expected)
        timings["verify"] = time.perf_counter() - t
    if report is not None:
        from migrator.report import write_report

        write_report(result, Path(report), sources=sources, others=[out], force=force)
    timings["total"] = time.perf_counter() - started
    return result


def _check(ledger: Ledger) -> list[Problem]:
    """Problems of reading, mapping and validation; also works out the source's totals (for the summary and report)."""
    from migrator.reconcile import trial_balance, vat_totals

    problems = list(ledger.problems) + validate(ledger)
    if not any(p.severity == "error" for p in problems):
        ledger.counts(), trial_balance(ledger), vat_totals(ledger)  # kept on the ledger for the summary and report
    return problems


def _stop_on_errors(problems: list[Problem], allow_problems: bool) -> None:
    if any(p.severity == "error" for p in problems) and not allow_problems:
        raise ProblemsFound(problems)


def verify(source: PathLike, out: PathLike, *, from_format: str | None = None, to_format: str | None = None,
           mapping: PathLike | None = None, report: PathLike | None = None, force: bool = False,
           options: Mapping[str, str] | None = None) -> Conversion:  # fmt: skip
    """Read `source` and an earlier output `out` and compare them; raise nothing, report everything.
    `options` are the writer options `out` was written with (they change what it declares lost); by
    default those its manifest names.

    `report` names a reconciliation report to write (never over `source`, `out` or the mapping)."""
    sources = [source, out, mapping if mapping is not None and Path(mapping).exists() else None]
    if report is not None:
        outputs.check(report, folder=False, sources=sources, force=force)
    ledger = read(source, from_format)
    original = ledger
    applied = None
    if mapping is not None:
        from migrator.mapping import apply_mapping, load_mapping

        applied = load_mapping(mapping)
        ledger = apply_mapping(ledger, applied)
    reread = read(out, to_format)
    fmt = registry.get(reread.format)
    ledger, vat_moves = for_target(ledger, fmt.name)
    result = Conversion(
        original, ledger, fmt.name, Path(out), list(ledger.problems), mapping=applied, vat_codes=vat_moves
    )
    result.reread = reread
    if fmt.years == "continuous" and years.reopens(ledger):
        reread = years.per_year(reread, years_of(ledger))
    result.compared = reread
    result.not_carried = _not_carried(ledger, fmt, outputs.written_with(out) if options is None else options)
    result.verification = compare(ledger, reread, fmt.keeps, declared=result.not_carried)
    if report is not None:
        from migrator.report import write_report

        write_report(result, Path(report), sources=sources, force=force)
    return result


def _not_carried(ledger: Ledger, fmt: registry.Format, options: Mapping[str, str] | None = None) -> list[Problem]:
    """What `fmt`'s writer declares it cannot carry of `ledger` (written to a temporary place, then
    dropped): verification matches each difference to these declarations."""
    import tempfile

    if not fmt.writes:
        return []
    carried, problems = years.continuous(ledger) if fmt.years == "continuous" else (ledger, [])
    with tempfile.TemporaryDirectory(prefix="migrator-declared-") as folder:
        target = Path(folder) / ("out" + ("" if fmt.output == "folder" else fmt.default_extension))
        if fmt.output == "folder":
            target.mkdir()
        try:
            return list(problems) + list(fmt.writer(options).write(carried, target))
        except MigratorError:
            return list(problems)
