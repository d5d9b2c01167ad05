"""Winbiz: everything Winbiz leaves behind, read into one canonical ledger.

SOURCE may be:

* the ``DAT`` folder of a local installation (one sub-folder per dossier; choose with ``--dossier``,
  `dossiers()` lists them), a dossier folder (``dos_info.dbf`` plus one folder per fiscal year), one
  year folder (``plan.dbf``, ``ecriture.dbf``, ``adresses.dbf``, ``document.dbf``), one such DBF file,
  or a zip of any of them;
* a journal or chart export as Visual FoxPro XML (fields as attributes or as child elements),
  Excel (.xls, .xlsx) or ``;`` CSV, or a folder of such exports (journal and chart read together);
* the Winbiz import CSV (``Date;Voucher;Text;Cpt_debit;…``, as migrator's ``winbiz`` writer makes);
* exports of addresses, articles, documents and document lines (``ad_*``, ``ar_*``, ``do_*``,
  ``dl_*`` columns) as CSV, Excel or XML, alone or in a folder with the journal's.

A dossier with several years becomes one ledger with several fiscal years (entry ids are prefixed
with the year folder's name); ``--year`` keeps one. How journal rows become entries, VAT lines and
VAT codes is in `journal`; chart, addresses, articles, documents and their lines in `tables`. Open
items are the invoices and bills not fully paid. Fields the reader does not place are kept in the
ledger's extras; every other DBF table of a dossier (``dos_info.dbf``, the garage module's vehicles,
tables migrator does not understand) is kept whole in `Ledger.source_tables`. When the source has a chart, accounts missing from it are
left for validation to report, never added silently.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import dbf, money
from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, FiscalYear, Ledger, Problem, table
from migrator.money import format_cents
from migrator.parsing import ParseError, parse_cents
from migrator.readers.base import ReadOptions, accounts_from_lines
from migrator.readers.winbiz import files, journal, tables
from migrator.readers.winbiz.raw import Raw
from migrator.sources import Source, opened

SYSTEM = "Winbiz"


@dataclass
class _Books:
    """The tables gathered from one source before they become a ledger."""

    journals: list[tuple[Raw, pa.Array, str]] = field(default_factory=list)
    charts: list[Raw] = field(default_factory=list)
    addresses: list[Raw] = field(default_factory=list)
    documents: list[Raw] = field(default_factory=list)
    details: list[Raw] = field(default_factory=list)
    articles: list[Raw] = field(default_factory=list)
    others: list[Raw] = field(default_factory=list)
    source_tables: dict[str, pa.Table] = field(default_factory=dict)
    company: str = ""
    years: list[FiscalYear] = field(default_factory=list)
    encoding: str = "cp1252"


class WinbizReader:
    name = "winbiz"
    extensions = (".xml", ".csv", ".xls", ".xlsx", ".dbf")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            kind = _layout(source.path)[0]
            return {"dat": 1.0, "dossier": 1.0, "year": 1.0, "exports": 0.9}.get(kind, 0.0)
        suffix = source.suffix
        if suffix == ".dbf":
            if source.head(1)[:1] not in tuple(bytes([v]) for v in dbf.VERSIONS):
                return 0.0
            names = files.dbf_field_names(source.path)
            if files.kind_of(names) or files.business_kind(names):
                return 0.95
            return 0.5
        if suffix == ".xml":
            head = source.head(65536)
            if b"<vfpdata" not in head.lower():
                return 0.0
            return 0.95 if files.kind_of(files.xml_field_names(head)) else 0.3
        if suffix in (".csv", ".txt", ".xls", ".xlsx"):
            names = files.header_names(source.path)
            return 0.95 if files.kind_of(names) or files.business_kind(names) else 0.0
        return 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        books = _Books()
        if source.is_dir:
            kind, found = _layout(source.path)
            if kind == "dat":
                folder = _choose_dossier(found, options.dossier, source.name)
                _read_dossier(folder, source.child(folder).name, options, books)
            elif kind == "dossier":
                _read_dossier(source.path, source.name, options, books)
            elif kind == "year":
                _read_years([source.path], source.name, options, books)
            elif kind == "exports":
                _read_exports([source.child(p) for p in found], options, books)
            else:
                raise SourceError(
                    N_("not a Winbiz folder: no dos_info.dbf, ecriture.dbf or plan.dbf, and no Winbiz export"),
                    source.name,
                )
        elif source.suffix == ".dbf":
            _read_dbf(source, options, books)
        else:
            _read_exports([source], options, books)
        ledger = _ledger(books, options)
        if not source.is_dir:
            return ledger
        from migrator.readers.winbiz import documentimport  # addresses, items, opening balances (B2)

        return documentimport.merge(ledger, source, options.encoding)


def dossiers(path: str | Path) -> list[tuple[str, str]]:
    """The dossiers of a Winbiz DAT or dossier folder (or zip): (folder name, company name)."""
    with opened(path) as source:
        if not source.is_dir:
            return []
        kind, found = _layout(source.path)
        if kind == "dossier":
            return [(source.path.name, _company(source.path, source.name, []))]
        if kind == "dat":
            return [(f.name, _company(f, f.name, [])) for f in found]
        return []


# ------------------------------------------------------------------------------------------ layout


def _is_year(folder: Path) -> bool:
    return _entry(folder, "ecriture.dbf") is not None or files.find(folder, "plan.dbf") is not None


_YEAR_NAME = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")


def _looks_like_year(folder: Path) -> bool:
    """A dossier sub-folder that should be a fiscal year: with a chart or journal, or named after a year."""
    return _is_year(folder) or _YEAR_NAME.search(folder.name) is not None


def _entry(folder: Path, name: str) -> Path | None:
    """The entry `name` in `folder` whatever its case and kind (file, folder, pipe…); never opened."""
    wanted = name.lower()
    try:
        return next((p for p in sorted(folder.iterdir()) if p.name.lower() == wanted), None)
    except OSError:
        return None


def _missing_journal(folder: Path, label: str, others: bool) -> Problem:
    """The problem of a year folder without a readable journal: an error when other years have theirs
    (the books would lack a year of entries), else a warning."""
    found = _entry(folder, "ecriture.dbf")
    if found is None:
        why = N_("has no journal (ecriture.dbf)")
    elif found.is_dir():
        why = N_("has a folder named {name} where its journal should be").format(name=found.name)
    else:
        why = N_("has a {name} that is not a regular file (a pipe, socket or device); it was not opened").format(
            name=found.name
        )
    if others:
        return Problem("error", N_("year {name} {why}: its entries are missing, while other years of the dossier have theirs").format(name=folder.name, why=why), label)  # fmt: skip
    return Problem(
        "warning", N_("year {name} {why}: no entries were read for it").format(name=folder.name, why=why), label
    )


def _is_dossier(folder: Path) -> bool:
    return files.find(folder, "dos_info.dbf") is not None


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX")))


def _layout(folder: Path) -> tuple[str, list[Path]]:
    """What a folder is: dat (with its dossiers), dossier, year, exports (with the files), or ''."""
    if _is_dossier(folder):
        return "dossier", [folder]
    if _is_year(folder):
        return "year", [folder]
    found = [sub for sub in _subfolders(folder) if _is_dossier(sub)]
    if found:
        return "dat", found
    exports = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in files.EXPORT_SUFFIXES and _export_kind(path):
            exports.append(path)
    return ("exports", exports) if exports else ("", [])


def _export_kind(path: Path) -> str | None:
    try:
        if path.suffix.lower() == ".xml":
            with path.open("rb") as handle:
                head = handle.read(65536)
            if b"<vfpdata" not in head.lower():
                return None
            names = files.xml_field_names(head)
        else:
            names = files.header_names(path)
        return files.kind_of(names) or files.business_kind(names)
    except (OSError, ValueError, UnicodeError):
        return None


def _company(folder: Path, label: str, problems: list[Problem]) -> str:
    path = files.find(folder, "dos_info.dbf")
    if path is None:
        return ""
    try:
        info = dbf.read(path, f"{label}/{path.name}")
    except SourceError as exc:
        problems.append(Problem("warning", N_("company name not read: {exc}").format(exc=exc), f"{label}/{path.name}"))
        return ""
    raw = Raw.build(f"{label}/{path.name}", info.columns, info.records)
    offsets = {files.normalise(f.name): f.offset for f in info.fields}
    return tables.company_name(raw, offsets)


def _choose_dossier(found: list[Path], wanted: str | None, label: str) -> Path:
    names = [(f, _company(f, f.name, [])) for f in found]
    listing = "; ".join(f"{f.name} ({company})" if company else f.name for f, company in names)
    if wanted:
        match = [f for f, company in names if wanted.casefold() in (f.name.casefold(), company.casefold())]
        if match:
            return match[0]
        raise SourceError(
            N_("no dossier {wanted!r} in this Winbiz DAT folder; it holds: {listing}").format(
                wanted=wanted, listing=listing
            ),
            label,
        )
    if len(found) == 1:
        return found[0]
    raise SourceError(
        N_("this Winbiz DAT folder holds {count} dossiers: {listing}; choose one").format(
            count=len(found), listing=listing
        ),
        label,
        option="dossier",
    )


# ----------------------------------------------------------------------------------------- routes


def _read_dossier(folder: Path, label: str, options: ReadOptions, books: _Books) -> None:
    problems: list[Problem] = []
    books.company = _company(folder, label, problems)
    books.others.append(Raw(label, {}, np.zeros(0, dtype=np.int64), problems=problems))
    years = [sub for sub in _subfolders(folder) if _looks_like_year(sub)]
    if not years and _is_year(folder):
        years = [folder]
    if not years:
        raise SourceError(N_("this Winbiz dossier has no year folder (with ecriture.dbf or plan.dbf)"), label)
    _read_years(years, label, options, books, single=False)
    if folder not in years:
        _keep_tables(folder, label, "", books)


KNOWN_TABLES = ("ecriture.dbf", "plan.dbf", "adresses.dbf", "document.dbf", "detail.dbf", "articles.dbf")
"""The tables read into canonical tables; every other DBF table of a data folder is kept whole."""


def _keep_tables(folder: Path, label: str, prefix: str, books: _Books) -> None:
    """Every DBF table of `folder` that is not one of `KNOWN_TABLES` (``dos_info.dbf``, the garage
    vehicles, tables migrator does not understand), whole, in `books.source_tables` under
    ``<prefix><file name>``; an unreadable one is a warning naming it."""
    try:
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".dbf")
    except OSError:
        return
    for path in found:
        if path.name.lower() in KNOWN_TABLES:
            continue
        name = f"{label}/{path.name}"
        try:
            raw = files.load_dbf(path, name)
        except SourceError as exc:
            books.others.append(Raw(name, {}, np.zeros(0, dtype=np.int64), problems=[
                Problem("warning", N_("table not kept: {exc}").format(exc=exc), name)]))  # fmt: skip
            continue
        columns = {"source_row": pa.array(raw.rows, pa.int64())}
        columns.update((raw.names.get(n, n), column) for n, column in raw.columns.items())
        books.source_tables[f"{prefix}{path.name}"] = pa.table(columns)
        books.others.append(Raw(name, {}, np.zeros(0, dtype=np.int64), problems=raw.problems))


def _dbf(folder: Path, name: str, label: str, fallback: Path | None = None, fallback_label: str = "") -> Raw | None:
    """Table `name` of a year folder, else of the dossier folder above it (`fallback`, called
    `fallback_label` in messages: the same table met from two years is then one file)."""
    path = files.find(folder, name)
    if path is None and fallback is not None:
        path = files.find(fallback, name)
    if path is None:
        return None
    inside = path.parent == folder
    return files.load_dbf(path, f"{label}/{path.name}" if inside else f"{fallback_label or label + '/..'}/{path.name}")


def _read_years(folders: list[Path], label: str, options: ReadOptions, books: _Books, single: bool = True) -> None:
    loaded = []
    for folder in folders:
        name = label if single else f"{label}/{folder.name}"
        parent = folder.parent if not single or _is_dossier(folder.parent) else None
        entries = _dbf(folder, "ecriture.dbf", name)
        year = _fiscal_year(folder, entries)
        loaded.append((year, folder, name, entries, parent))
    loaded.sort(key=lambda item: (item[0].start if item[0] else dt.date.min, item[1].name))
    if options.year is not None:
        chosen = [item for item in loaded if item[0] and item[0].start.year == options.year]
        if not chosen:
            have = ", ".join(str(item[0].start.year) for item in loaded if item[0]) or "none"
            raise SourceError(
                N_("no fiscal year starting in {year}; the years here: {have}").format(year=options.year, have=have),
                label,
            )
        loaded = chosen
    several = len(loaded) > 1
    with_journal = sum(item[3] is not None for item in loaded)
    missing = [_missing_journal(folder, name, with_journal > 0) for _, folder, name, entries, _ in loaded
               if entries is None]  # fmt: skip
    if missing:
        books.others.append(Raw(label, {}, np.zeros(0, dtype=np.int64), problems=missing))
    for year, folder, name, entries, parent in loaded:
        if entries is not None:
            check = files.kind_of(set(entries.columns))
            if check not in ("journal", "import"):
                journal.check_fields(entries)
            books.journals.append((entries, _keys(entries), f"{folder.name}/" if several else ""))
        chart = _dbf(folder, "plan.dbf", name)
        if chart is not None:
            books.charts.append(chart)
        for target, file_name in ((books.addresses, "adresses.dbf"), (books.documents, "document.dbf"),
                                  (books.details, "detail.dbf"), (books.articles, "articles.dbf")):  # fmt: skip
            if any(r.file == f"{label}/{file_name}" for r in target) and files.find(folder, file_name) is None:
                continue  # the dossier's table, read already with an earlier year
            found = _dbf(folder, file_name, name, parent, label if not single else "")
            if found is not None and all(r.file != found.file for r in target):
                target.append(found)
        _keep_tables(folder, name, f"{folder.name}/" if not single else "", books)
        if year:
            books.years.append(year)
        if single and not books.company and parent is not None:
            books.company = _company(parent, f"{label}/..", [])


def _fiscal_year(folder: Path, entries: Raw | None) -> FiscalYear | None:
    """The fiscal year of a year folder: the calendar year its name gives, when its journal fits in it;
    else the year from the first opening entry (or 1 January of the first date) to a year later."""
    dates: list[dt.date] = []
    opening: list[dt.date] = []
    if entries is not None and "date" in entries.columns and pa.types.is_date(entries.columns["date"].type):
        column = entries.columns["date"]
        dates = [d for d in pc.min_max(column).as_py().values() if d]
        if "journal" in entries.columns:
            mask = pc.equal(pc.utf8_lower(entries.text("journal")), "o")
            low = pc.min(pc.filter(column, mask)).as_py()
            opening = [low] if low else []
    match = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", folder.name)
    if match:
        year = int(match.group(0))
        span = FiscalYear(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if all(span.contains(d) for d in dates):
            return span
    if not dates:
        return None
    start = opening[0] if opening else dt.date(min(dates).year, 1, 1)
    try:
        end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        end = dt.date(start.year + 1, 2, 28)
    return FiscalYear(start, end)


def _read_dbf(source: Source, options: ReadOptions, books: _Books) -> None:
    raw = files.load_dbf(source.path, source.name, options.encoding)
    names = set(raw.columns)
    kind = files.kind_of(names)
    if kind == "journal":
        books.journals.append((raw, _keys(raw), ""))
    elif kind == "chart" or "numero" in names:
        books.charts.append(raw)
    elif files.business_kind(names):
        _business(raw, files.business_kind(names), books)
    else:
        raise SourceError(N_("not a Winbiz table: no journal (cpt_débit, cpt_crédit, montant), chart (numero), "
                          "address (ad_numero), article (ar_code), document (do_numero) or document line "
                          "(dl_numero) fields"), source.name)  # fmt: skip


def _business(raw: Raw, kind: str | None, books: _Books) -> None:
    target = {"addresses": books.addresses, "articles": books.articles, "documents": books.documents,
              "lines": books.details}[kind or ""]  # fmt: skip
    target.append(raw)


def _read_exports(sources: list[Source], options: ReadOptions, books: _Books) -> None:
    journals = []
    for source in sources:
        raw, kind, encoding = files.load_export(source.path, source.name, options.encoding)
        books.encoding = encoding
        if kind == "chart":
            books.charts.append(raw)
        elif kind in files.BUSINESS_KINDS:
            _business(raw, kind, books)
        else:
            journals.append((raw, kind))
    for raw, kind in journals:
        keys = _group_keys(raw) if kind == "import" else _keys(raw)
        if kind == "import":
            raw, keys = _vat_rows(raw, keys)
        prefix = f"{Path(raw.file).stem}/" if len(journals) > 1 else ""
        books.journals.append((raw, keys, prefix))
    if not journals and not books.charts and not (books.addresses or books.articles or books.documents
                                                  or books.details):  # fmt: skip
        raise SourceError(
            N_("no Winbiz journal, chart, address, article or document export found"),
            sources[0].name if sources else "",
        )


# ------------------------------------------------------------------------------------------ entries


def _keys(raw: Raw) -> pa.Array:
    """Entry key of each row: ``numéro`` (rows without one are entries of their own), or, in files
    without that field, the groups `_group_keys` finds."""
    if "numero" not in raw.columns:
        return _group_keys(raw)
    text = pc.replace_substring_regex(raw.text("numero"), r"^(-?\d+)\.0*$", r"\1")
    missing = pc.is_in(text, pa.array(["", "0"]))
    if not pc.any(missing).as_py():
        return text
    alone = pc.binary_join_element_wise("r", pc.cast(pa.array(raw.rows), pa.string()), "")
    return pc.if_else(missing, alone, text)


def _group_keys(raw: Raw) -> pa.Array:
    """Entries of a file without entry numbers (the import CSV), in file order:

    * a row with the account ``Multiple`` opens a compound entry; the rows that follow with the same
      date and voucher and the header's other account on the same side belong to it;
    * consecutive one-sided rows (the other account empty) with the same date and voucher form one
      entry, which closes when they balance (rows of zero never close it);
    * every other row is an entry of its own.
    """
    if "cpt_debit" in raw.columns and "cpt_credit" in raw.columns:
        debit, credit = raw.text("cpt_debit"), raw.text("cpt_credit")
        multiple = pc.or_(pc.equal(pc.utf8_lower(debit), "multiple"), pc.equal(pc.utf8_lower(credit), "multiple"))
        one_sided = pc.or_(pc.equal(debit, ""), pc.equal(credit, ""))
        if not pc.any(pc.or_(multiple, one_sided)).as_py():  # every row books both accounts: an entry each
            return pc.cast(pa.array(np.arange(1, raw.size + 1, dtype=np.int64)), pa.string())
    dates = raw.text("date").to_pylist()
    docs = raw.text(raw.first("piece")).to_pylist()
    debits = raw.text("cpt_debit").to_pylist() if "cpt_debit" in raw.columns else [""] * raw.size
    credits = raw.text("cpt_credit").to_pylist() if "cpt_credit" in raw.columns else [""] * raw.size
    amounts = raw.text("montant").to_pylist() if "montant" in raw.columns else [""] * raw.size
    keys: list[str] = []
    number = 0
    state: tuple[Any, ...] | None = None
    balance = 0
    for date, doc, debit, credit, amount in zip(dates, docs, debits, credits, amounts, strict=True):
        try:
            cents = parse_cents(amount) or 0
        except ParseError:
            cents = 0
        if "multiple" in (debit.lower(), credit.lower()):
            number += 1
            common = ("d", debit) if credit.lower() == "multiple" else ("c", credit)
            state = ("compound", date, doc, common)
        elif state and state[0] == "compound" and state[1:3] == (date, doc) and \
                (debit if state[3][0] == "d" else credit) == state[3][1]:  # fmt: skip
            pass
        elif not debit or not credit:
            signed = cents if debit else -cents
            if not (state and state[0] == "run" and state[1:3] == (date, doc) and not state[3]):
                number += 1
                balance = 0
            balance += signed
            state = ("run", date, doc, balance == 0 and signed != 0)
        else:
            number += 1
            state = None
        keys.append(str(number))
    return pa.array(keys, pa.string())


IMPORT_VAT_ACCOUNTS = {"2": "2200", "3": "1170"}
"""Where Winbiz books the VAT of an import row, by TVA_typ, as read back: the Swiss SME chart's VAT due
and input VAT accounts. Winbiz takes the account from the dossier's VAT code; FORMATS.md does not say
which, and the import file has no field for it."""


def _vat_rows(raw: Raw, keys: pa.Array) -> tuple[Raw, pa.Array]:
    """The import CSV gives the VAT on its base row (TVA_typ 2 or 3, TVA_mnt, TVA_cpt) and Winbiz books
    it (FORMATS.md, EntriesImport). A file without VAT rows of its own (no TVA_typ −1) gets, for each
    such row, what Winbiz's journal then holds: the base row less its VAT, and a VAT row (−1) in the
    same entry booking the VAT on the TVA_cpt side (empty: credit for 2, debit for 3) to the account of
    `IMPORT_VAT_ACCOUNTS`, the other side unchanged."""
    if "ecr_tvatyp" not in raw.columns or "ecr_tvamnt" not in raw.columns:
        return raw, keys
    types = raw.text("ecr_tvatyp")
    if pc.any(pc.equal(types, "-1")).as_py():
        return raw, keys
    vats, amounts = raw.text("ecr_tvamnt"), raw.text("montant")
    candidate = pc.and_(pc.is_in(types, pa.array(list(IMPORT_VAT_ACCOUNTS))), pc.not_equal(vats, ""))
    rows = np.flatnonzero(candidate.to_numpy(zero_copy_only=False))
    if not len(rows):
        return raw, keys
    at = pa.array(rows)
    tax, total, parsed = _plain_cents(pc.take(vats, at)), _plain_cents(pc.take(amounts, at)), []
    for i in np.flatnonzero(pc.or_(pc.is_null(tax), pc.is_null(total)).to_numpy(zero_copy_only=False)).tolist():
        try:  # what the regex does not read: parse_cents, as the journal reader does
            parsed.append((i, parse_cents(vats[int(rows[i])].as_py()), parse_cents(amounts[int(rows[i])].as_py())))
        except ParseError:
            parsed.append((i, None, None))  # journal.read reports the bad value
    tax_np = tax.fill_null(0).to_numpy(zero_copy_only=False).copy()
    total_np = total.fill_null(0).to_numpy(zero_copy_only=False).copy()
    has_total = np.ones(len(rows), dtype=bool)
    for i, one_tax, one_total in parsed:
        tax_np[i], total_np[i], has_total[i] = one_tax or 0, one_total or 0, one_total is not None
    changed = has_total & (tax_np != 0)
    if not changed.any():
        return raw, keys
    rows, tax_np, total_np = rows[changed], tax_np[changed], total_np[changed]
    kind = pc.take(types, pa.array(rows))
    written = pc.utf8_lower(raw.text(raw.first("ecr_tvadc")))
    side = pc.take(written, pa.array(rows))
    side = pc.if_else(pc.is_in(side, pa.array(["d", "c"])), side, pc.if_else(pc.equal(kind, "2"), "c", "d"))
    extra = np.zeros(raw.size, dtype=np.int64)
    extra[rows] = 1
    take = np.repeat(np.arange(raw.size), 1 + extra)  # each base row followed by its VAT row
    position = np.cumsum(1 + extra) - 1 - extra  # where each row went
    base_at, vat_at = position[rows], position[rows] + 1
    indices = pa.array(take, pa.int64())
    columns = {name: pc.take(column, indices) for name, column in raw.columns.items()}
    moved = np.concatenate([base_at, vat_at])
    mask = np.zeros(len(take), dtype=bool)
    mask[moved] = True
    order = np.argsort(moved, kind="stable")  # replace_with_mask takes the new values in row order

    def put(name: str, at: np.ndarray, values: pa.Array) -> None:
        spot = np.zeros(len(take), dtype=bool)
        spot[at] = True
        columns[name] = pc.replace_with_mask(pc.take(raw.text(name), indices), pa.array(spot), values)

    amounts_new = pa.concat_arrays([_cents_texts(total_np - tax_np), _cents_texts(tax_np)])
    columns["montant"] = pc.replace_with_mask(pc.take(raw.text("montant"), indices), pa.array(mask),
                                              pc.take(amounts_new, pa.array(order)))  # fmt: skip
    put("ecr_tvatyp", vat_at, pa.array(["-1"] * len(rows), pa.string()))
    accounts = pc.if_else(pc.equal(kind, "2"), IMPORT_VAT_ACCOUNTS["2"], IMPORT_VAT_ACCOUNTS["3"])
    for name, letter in (("cpt_debit", "d"), ("cpt_credit", "c")):
        on_side = pc.equal(side, letter).to_numpy(zero_copy_only=False)
        put(name, vat_at[on_side], pc.filter(accounts, pa.array(on_side)))
    out = Raw(raw.file, columns, raw.rows[take], dict(raw.names), raw.problems)
    return out, pc.take(keys, indices)


def _plain_cents(text: pa.Array) -> pa.Array:
    """Cents of plain amounts (``-1234.5``, ``12.05``), null for any other text."""
    plain = pc.match_substring_regex(text, r"^-?\d{1,16}(\.\d{1,2})?$")
    return pc.if_else(
        plain, money.decimal_array_to_cents(pc.cast(pc.if_else(plain, text, "0"), money.DECIMAL_TYPE)), None
    )


def _cents_texts(cents: np.ndarray) -> pa.Array:
    """`format_cents` of each value, a column at a time."""
    values = np.asarray(cents, dtype=np.int64)
    if len(values) and values.min() == np.iinfo(np.int64).min:  # no absolute value in int64
        return pa.array([format_cents(c) for c in values.tolist()], pa.string())
    whole = pc.cast(pa.array(np.abs(values) // 100), pa.string())
    part = pc.utf8_lpad(pc.cast(pa.array(np.abs(values) % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(whole, part, ".")
    return pc.if_else(pa.array(values < 0), pc.binary_join_element_wise("-", text, ""), text)


# ------------------------------------------------------------------------------------------- ledger


def _ledger(books: _Books, options: ReadOptions) -> Ledger:
    problems: list[Problem] = []
    pieces: list[pa.Table] = []
    extras_lines: list[pa.Table] = []
    vat_codes: dict[str, dict[str, str]] = {}
    for raw, keys, prefix in books.journals:
        result = journal.read(raw, keys, prefix)
        pieces.append(result.lines)
        if result.extras is not None:
            extras_lines.append(result.extras)
        for code in result.vat_codes:
            known = vat_codes.setdefault(code["code"], code)
            if not known["account"]:
                known["account"] = code["account"]
    lines = pa.concat_tables(pieces) if pieces else table("lines")
    if options.year is not None and not books.years:
        in_year = pc.equal(pc.year(lines.column("date")), options.year)
        lines = lines.filter(in_year.fill_null(False))
    accounts: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    extras: dict[str, pa.Table] = {}
    chart_extras = []
    for raw in books.charts:
        found, headings, used = tables.chart(raw)
        accounts.update((a["code"], a) for a in found)
        groups.update((g["code"], g) for g in headings)
        left = raw.extras(used)
        if left is not None:
            chart_extras.append(left)
    partners: dict[str, dict[str, Any]] = {}
    numbers: dict[str, str] = {}
    business_extras: dict[str, list[pa.Table]] = {}

    def keep(name: str, raw: Raw, used: set[str]) -> None:
        left = raw.extras(used)
        if left is not None:
            business_extras.setdefault(name, []).append(left)

    for raw in books.addresses:
        found_partners, used, by_number = tables.partners(raw)
        _merge(partners, found_partners, "id")
        for number, ident in by_number.items():
            numbers.setdefault(number, ident)
        keep("partners", raw, used)
    items: dict[str, dict[str, Any]] = {}
    for raw in books.articles:
        found_items, used = tables.items(raw, numbers)
        _merge(items, found_items, "code")
        keep("items", raw, used)
    documents: dict[str, dict[str, Any]] = {}
    for raw in books.documents:
        found_documents, used = tables.documents(raw, numbers, partners)
        _merge(documents, found_documents, "id")
        keep("documents", raw, used)
    document_lines: list[dict[str, Any]] = []
    for raw in books.details:
        found_lines, used = tables.document_lines(raw, set(documents))
        document_lines += found_lines
        keep("document_lines", raw, used)
    problems += _check_totals(documents, document_lines, books.documents)
    open_items = tables.open_items(list(documents.values()))
    paid = sum(1 for d in documents.values() if d["type"] in ("invoice", "bill") and d["status"] == "paid")
    if paid:
        problems.append(Problem("info", N_("{paid} paid invoice(s) and bill(s) are not open items (their payment is in the journal)").format(paid=paid), books.documents[0].file))  # fmt: skip
    for doc in documents.values():
        partner = partners.get(doc["partner"])
        if partner is None or partner.get("roles") == "both":
            continue
        side = {"invoice": "customer", "credit_note": "customer", "bill": "supplier",
                "bill_credit_note": "supplier"}.get(doc["type"])  # fmt: skip
        if side and not partner.get("roles"):
            partner["roles"] = side
        elif side and partner["roles"] != side:
            partner["roles"] = "both"
    for name, parts in (("lines", extras_lines), ("accounts", chart_extras)):
        if parts:
            extras[name] = pa.concat_tables(parts, promote_options="permissive")
    for name, parts in business_extras.items():
        extras[name] = pa.concat_tables(parts, promote_options="permissive")
    for raw in [*(j[0] for j in books.journals), *books.charts, *books.addresses, *books.articles, *books.documents,
                *books.details, *books.others]:  # fmt: skip
        problems += raw.problems
    account_table = table("accounts", accounts.values())
    if not accounts and lines.num_rows:
        account_table, notes = accounts_from_lines(lines, books.journals[0][0].file if books.journals else "")
        problems += notes
    company = Company(name=books.company, base_currency="CHF", fiscal_years=tuple(books.years),
                      source_system=SYSTEM)  # fmt: skip
    return Ledger(
        company=company,
        accounts=account_table,
        groups=table("groups", groups.values()),
        vat_codes=table("vat_codes", (_describe(c) for c in vat_codes.values())),
        lines=lines,
        partners=table("partners", partners.values()),
        open_items=table("open_items", open_items),
        items=table("items", items.values()),
        documents=table("documents", documents.values()),
        document_lines=table("document_lines", document_lines),
        problems=tuple(problems),
        extras=extras,
        source_tables=dict(books.source_tables),
        format="winbiz",
        encoding=books.encoding,
    )


def _merge(known: dict[str, dict[str, Any]], found: list[dict[str, Any]], key: str) -> None:
    """Rows of one more table (another year's copy of ``adresses.dbf``, say) into `known`: a later
    copy of the same row replaces the earlier one."""
    for row in found:
        known[row[key]] = row


def _check_totals(documents: dict[str, dict[str, Any]], lines: list[dict[str, Any]], raws: list[Raw]
                  ) -> list[Problem]:  # fmt: skip
    """A warning for each document whose lines do not add up to its total without VAT."""
    sums: dict[str, int] = {}
    for line in lines:
        sums[line["document"]] = sums.get(line["document"], 0) + line["amount"]
    problems = []
    for ident, total in sums.items():
        doc = documents.get(ident)
        if doc is not None and total != doc["net"]:
            problems.append(
                Problem(
                    "warning",
                    N_(
                        "document {ident}: its lines add up to {format_cents}, its total without VAT is {format_cents_b}"
                    ).format(ident=ident, format_cents=format_cents(total), format_cents_b=format_cents(doc["net"])),
                    raws[0].file if raws else "",
                )
            )
    return problems


def _describe(code: dict[str, str]) -> dict[str, str]:
    label = {"sales": "TVA due", "input_material": "Impôt préalable", "input_investment": "Impôt préalable "
             "investissements", "exempt": "Exclu de la TVA"}.get(code["kind"], "TVA")  # fmt: skip
    included = ", TVA incluse" if code["method"] == "gross" else ""
    return {**code, "description": f"{label} {code['rate']} %{included} (code derived from Winbiz)"}


FORMAT = WinbizReader
