"""What a person reads, in their language: English, French, German or Italian (gettext catalogs).

The language is, first, the one set with `set_language` (the command line's ``--lang``, or a web
request's `using`), then the environment's ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` (in POSIX
order), else English. The web page takes the browser's ``Accept-Language`` (`from_accept_language`).

Messages are marked with `_` (or `N_` where they are translated later) on a template with named
placeholders, filled after translation: ``_("{count} warnings").format(count=n)``.

Numbers and dates a person reads follow the locale (``1'234.50`` and ``31.12.2024`` in Switzerland);
data files never do: writers keep their formats' own, whatever the language.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

DOMAIN = "migrator"
LOCALEDIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch", "it": "Italiano"}
"""The languages migrator speaks, by code, each named in itself."""

_chosen: ContextVar[str] = ContextVar("migrator_language", default="")
_default = [""]


def normalise(tag: str) -> str:
    """A locale tag as gettext names it: ``fr-ch`` and ``fr_CH.UTF-8`` → ``fr_CH``; ``C`` → ``en``."""
    tag = tag.strip().split(".")[0].split("@")[0].replace("-", "_")
    if not tag or tag in ("C", "POSIX"):
        return "en"
    lang, _, region = tag.partition("_")
    return f"{lang.lower()}_{region.upper()}" if region else lang.lower()


def from_environment() -> str:
    """The locale of the environment: ``MIGRATOR_LANG`` (what ``--lang`` hands the processes a command
    starts), then ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, else ``en``."""
    for name in ("MIGRATOR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return normalise(value)
    return "en"


def supported(tag: str) -> bool:
    return normalise(tag).split("_")[0] in LANGUAGES


def from_accept_language(header: str, fallback: str = "en") -> str:
    """The best language of a browser's ``Accept-Language`` that migrator speaks, with its region."""
    weighted: list[tuple[float, int, str]] = []  # float-ok: quality weights, not money
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0  # float-ok
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])  # float-ok
            except ValueError:
                quality = 0.0  # float-ok
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    for _quality, _index, tag in sorted(weighted):
        if supported(tag):
            return normalise(tag)
    return fallback


def set_language(tag: str | None) -> None:
    """Speak `tag` (``fr``, ``de_CH``…) from now on in this process; None: as the environment says."""
    _default[0] = normalise(tag) if tag else ""


def chosen() -> str:
    """The language set with `set_language` (``--lang``), or ``""``."""
    return _default[0]


def language() -> str:
    """The locale in use, such as ``fr_CH`` or ``en``."""
    return _chosen.get() or _default[0] or from_environment()


@contextmanager
def using(tag: str) -> Iterator[None]:
    """Speak `tag` inside the block (in this thread or task only)."""
    token = _chosen.set(normalise(tag))
    try:
        yield
    finally:
        _chosen.reset(token)


@functools.lru_cache(maxsize=32)
def _catalog(tag: str) -> gettext.NullTranslations:
    lang = tag.split("_")[0]
    return gettext.translation(DOMAIN, str(LOCALEDIR), languages=[tag, lang], fallback=True)


def _(message: str) -> str:
    """`message` in the current language (itself where no translation exists)."""
    return _catalog(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return _catalog(language()).ngettext(singular, plural, n)


_ATOMIC = frozenset({"before", "after", "what", "code", "entry", "amount", "label", "side", "value", "total", "largest",
                     "rate", "day", "standard", "format", "kind", "first", "second", "name", "file"})  # fmt: skip
"""Placeholders that hold a number, a name or a short phrase, never a list joined by ``;``: so a
template does not match a longer message made of several (`shown`)."""
_NUMERIC = frozenset({"count", "row", "year", "size", "packed", "ratio", "num", "n", "done", "mb"})
_NUMBER = r"-?\d[\d'.,]*"
_WRAPPING = frozenset({"difference", "message"})
"""Placeholders that hold a whole other message: their templates are tried first, so the outer
message is split before its parts are."""
_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}")
_FULL_FIELD = re.compile(r"(?<!\{)\{(\w+)(![rsa])?(:[^{}]*)?\}")
_REPR = r"'[^'\n]*'|\"[^\"\n]*\""
"""A placeholder written with ``!r`` holds a quoted text (`repr` of a string)."""
_FEW_LETTERS = 6
"""Fixed letters a template needs when it has two or more free-text placeholders: fewer (``{name}
{text} is not {what}``) would take unrelated messages for its own."""


@functools.lru_cache(maxsize=8)
def _templates(tag: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The catalog's messages with placeholders, as patterns matching the English they make, most
    specific (longest fixed text) first, each with its translation."""
    from babel.messages.mofile import read_mo

    lang = tag.split("_")[0]
    path = LOCALEDIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if lang == "en" or not path.is_file():
        return ()
    with path.open("rb") as f:
        catalog = read_mo(f)
    found = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not message.string or "{" not in message.id:
            continue
        fields = list(_FULL_FIELD.finditer(message.id))
        bounds = [0, *(x for f in fields for x in f.span()), len(message.id)]
        texts = [message.id[bounds[k] : bounds[k + 1]] for k in range(0, len(bounds), 2)]
        texts = [t.replace("{{", "{").replace("}}", "}") for t in texts]
        letters = len(re.findall(r"[^\W\d_]", "".join(texts)))
        if not fields or not letters:
            continue  # no placeholder, or only punctuation around them ("{where}: {message}"): no pattern
        regex, free = [re.escape(texts[0])], 0
        seen: dict[str, str] = {}
        for field, text in zip(fields, texts[1:], strict=True):
            name, conversion = field.group(1), field.group(2)
            if seen.get(name) == field.group(0):
                regex.append(f"(?P={name})")
            elif name in seen:  # the same value shown otherwise ({code} and {code!r}): matched on its own
                regex.append(f"(?:{_REPR})" if conversion == "!r" else "(?:.+?)")
            else:
                seen[name] = field.group(0)
                if conversion == "!r":
                    regex.append(f"(?P<{name}>{_REPR})")
                elif name in _NUMERIC:
                    regex.append(f"(?P<{name}>{_NUMBER})")
                elif name in _ATOMIC:
                    regex.append(f"(?P<{name}>[^;\n]+?)")
                else:
                    regex.append(f"(?P<{name}>.+?)")
                    free += 1
            regex.append(re.escape(text))
        if free >= 2 and letters < _FEW_LETTERS:
            continue
        fixed = sum(len(t) for t in texts) + (10_000 if _WRAPPING & set(seen) else 0)
        quoted = {name for name, field in seen.items() if "!r}" in field}

        def filled(m: re.Match[str], quoted: set[str] = quoted) -> str:
            # a value matched with its quotes is put as it is; one matched bare gets them where asked
            conversion = "!r" if m.group(2) == "!r" and m.group(1) not in quoted else ""
            return "{" + m.group(1) + conversion + "}"

        found.append((fixed, re.compile("".join(regex) + r"\Z", re.S), _FULL_FIELD.sub(filled, str(message.string))))
    found.sort(key=lambda item: -item[0])
    return tuple((pattern, string) for _fixed, pattern, string in found)


def shown(message: str) -> str:
    """A finished English message (a problem, a "not carried" line, an error) in the current language,
    for display only: the message whose template made it is found in the catalog and its translation
    filled with the same values, themselves translated where the catalog has them. Data keep the
    English (verification reads the "not carried" declarations); unknown messages stay as they are."""
    tag = language()
    if tag.split("_")[0] == "en" or not message:
        return message
    exact = _catalog(tag).gettext(message)
    if exact != message:
        return exact
    if "\n" in message:  # a message of several lines (a list under a heading): each line on its own
        lines = message.split("\n")
        return "\n".join(line[: len(line) - len(line.lstrip())] + shown(line.lstrip()) for line in lines)
    for pattern, translated in _templates(tag):
        match = pattern.match(message)
        if match:
            return translated.format(**{k: _value(k, v) for k, v in match.groupdict().items()})
    listed = _LISTED.fullmatch(message)
    if listed:  # "partner details (street 11, iban 4)", as `writers.base.lost_columns` makes it
        head, inner = listed.group(1), listed.group(2)
        return f"{shown(head)} ({', '.join(f'{column(m[1])} {m[2]}' for m in _COLUMN_COUNT.finditer(inner))})"
    head, colon, tail = message.partition(": ")
    if colon and tail and head.strip() and "\n" not in head:  # "<file or field>: <message>"
        rest = shown(tail)
        if rest != tail:
            return f"{shown(head)}: {rest}"
    return message


_COLUMN_COUNT = re.compile(r"([a-z][a-z0-9 ]*?) (\d+)(?:, |\Z)")
_LISTED = re.compile(r"(.+?) \(((?:[a-z][a-z0-9 ]*? \d+, )*[a-z][a-z0-9 ]*? \d+)\)")


def column(name: str) -> str:
    """A column of the canonical tables (``building_number`` or ``building number``) named for a person."""
    spaced = name.replace("_", " ")
    translated = _catalog(language()).gettext(spaced)
    return translated if translated != spaced else name


_COUNTED = re.compile(r"[a-z][\w ()]*? \(\d+\)(?:, [a-z][\w ()]*? \(\d+\))*")
_COUNTED_PART = re.compile(r"([a-z][\w ()]*?) \((\d+)\)(?:, |\Z)")
_CENTS = re.compile(r"-?\d+\.\d\d")
_ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def _value(name: str, value: str) -> str:
    """A placeholder's value for display: an amount or a day in the locale's form, a count grouped,
    other text through `shown`."""
    money_names = ("amount", "total", "largest", "expected", "value", "before", "after")
    if (name in money_names or name.startswith("format_cents")) and _CENTS.fullmatch(value):
        return money(int(value.replace(".", "")))
    if name == "day" and _ISO_DAY.fullmatch(value):
        return date(dt.date.fromisoformat(value))
    if name in ("count", "size", "packed") and value.isdigit():
        return count(int(value))
    if name == "column":
        return column(value)
    if name == "shown" and _COUNTED.fullmatch(value):  # "iban (4), payment_terms (11)" (bexio's fields)
        return ", ".join(f"{shown(column(m[1]))} ({m[2]})" for m in _COUNTED_PART.finditer(value))
    if name in ("fields", "changes"):  # several differences joined by "; " (reconcile)
        return "; ".join(shown(part) for part in value.split("; "))
    return shown(value)


def N_(message: str) -> str:
    """Marks `message` for translation where it is defined; `_` translates it where it is shown."""
    return message


SEVERITIES = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}

COLUMNS = (
    N_("account"), N_("active"), N_("address line2"), N_("amount"), N_("amount currency"), N_("building number"),
    N_("city"), N_("code"), N_("contact"), N_("cost centre"), N_("country"), N_("currency"), N_("date"),
    N_("description"), N_("discount"), N_("doc"), N_("document"), N_("due date"), N_("email"), N_("entry"),
    N_("expense account"), N_("fax"), N_("first name"), N_("form box"), N_("gross"), N_("group"), N_("iban"),
    N_("id"), N_("item"), N_("journal"), N_("kind"), N_("language"), N_("last name"), N_("line"), N_("method"),
    N_("mobile"), N_("name"), N_("net"), N_("notes"), N_("open amount"), N_("opening"), N_("paid"), N_("parent"),
    N_("partner"), N_("payment terms"), N_("phone"), N_("purchase price"), N_("purchase vat code"), N_("quantity"),
    N_("rate"), N_("reference"), N_("revenue account"), N_("roles"), N_("sale price"), N_("sale vat code"),
    N_("source file"), N_("source row"), N_("status"), N_("stock"), N_("stock min"), N_("street"), N_("supplier"),
    N_("supplier ref"), N_("title"), N_("type"), N_("unit"), N_("unit price"), N_("valid from"), N_("valid to"),
    N_("vat"), N_("vat amount"), N_("vat code"), N_("vat line"), N_("vat number"), N_("vat rate"), N_("website"),
    N_("zip"),
)  # fmt: skip
"""The columns of the canonical tables, as the "not carried" lines and the reconciliation name them."""


def problem(found: Any) -> str:
    """A `Problem` for reading: severity, file and row, message, in the current language."""
    where = found.file or ""
    if found.row is not None:
        where = (
            _("{file}, row {row}").format(file=where, row=found.row) if where else _("row {row}").format(row=found.row)
        )
    severity = _(SEVERITIES.get(found.severity, found.severity))
    text = shown(found.message)
    if where:
        return _("{severity}: {where}: {message}").format(severity=severity, where=where, message=text)
    return _("{severity}: {message}").format(severity=severity, message=text)


def _babel_locale(tag: str) -> str:
    # Switzerland writes 1'234.50 in every language (the spec of issue 17; CLDR gives fr_CH a comma).
    return "de_CH" if tag.endswith("_CH") else (tag if supported(tag) else "en")


def number(value: Decimal | int, places: int = 2) -> str:
    """`value` as a person of the current locale reads it: ``1'234.50`` (CH), ``1.234,50`` (de)…"""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * places if places else "")
    tag = language()
    if tag.endswith("_CH"):
        # Swiss: 1'234'567.89 (Babel 2.19 leaves de_CH numbers of seven digits or more ungrouped).
        return format_decimal(Decimal(value), format=pattern, locale="en").replace(",", "'")
    return format_decimal(Decimal(value), format=pattern, locale=_babel_locale(tag))


def money(cents: int) -> str:
    """An amount in cents for reading (``-1'234.50``); never used in data files."""
    return number(Decimal(cents).scaleb(-2), 2)


def count(n: int) -> str:
    """A whole number for reading (``12'345``)."""
    return number(n, 0)


def date(day: dt.date) -> str:
    """A date for reading: dd.mm.yyyy in Switzerland and Germany, the locale's short form with four
    year digits elsewhere, ISO in English."""
    from babel.dates import format_date

    tag = language()
    if tag.endswith("_CH") or tag.startswith("de"):
        return day.strftime("%d.%m.%Y")
    if tag.split("_")[0] == "en":
        return day.isoformat()
    from babel import Locale

    pattern = Locale.parse(_babel_locale(tag)).date_formats["short"].pattern
    if "yyyy" not in pattern:
        pattern = pattern.replace("yy", "yyyy")
    return format_date(day, pattern, locale=_babel_locale(tag))


def error(exc: BaseException) -> str:
    """A `MigratorError` for reading: its file and row, and its message through `shown`."""
    detail = getattr(exc, "detail", None)
    if detail is None:
        return shown(str(exc))
    file, row = getattr(exc, "file", ""), getattr(exc, "row", None)
    where = file
    if row is not None:
        where = _("{file}, row {row}").format(file=file, row=row) if file else _("row {row}").format(row=row)
    return _("{where}: {message}").format(where=where, message=shown(detail)) if where else shown(detail)


ELSEWHERE = (
    N_("{count} {what} not carried by this format: {action}"),
    N_("partners"), N_("open items"), N_("items"), N_("documents"), N_("document lines"), N_("company name"),
    N_("left out"), N_("accounts"), N_("entries"), N_("groups"), N_("verified with declared losses"),
    N_("verified"), N_("failed"), N_("not verified"),
    N_("missing: {keys}"), N_("new: {keys}"), N_("accounts differ in a year"), N_("VAT codes differ in a year"),
    N_("{count} missing after, {added} not there before; first missing: {first}"),
    N_("{count} missing after, {added} not there before; first added: {first}"),
    N_("{label} account {account}: {changes}"),
)  # fmt: skip
"""Templates and words of messages made where nothing is marked yet (`writers.base.lost`, the differences
`reconcile` lists), written here as those modules make them, so that `shown` finds them."""

KEPT_RULES = (
    N_("the opening entries of each fiscal year merged into one opening balance per account."),
    N_("one VAT line per base line with a tax_id, of the VAT bexio computes in it (rounded as the base currency); "
       "rounding differences on the VAT account; later years' openings carried."),
    N_("each later year's opening as one entry of the balances carried into it."),
    N_("each compound entry split into the Konto/Gegenkonto pairs the writer books, one entry per pair."),
    N_("the opening entries of each fiscal year merged into one opening entry per year (its #IB)."),
    N_("each entry split into the debit/credit rows the writer books, one entry per row, VAT as Winbiz books it."),
)  # fmt: skip
"""The first line of each writer's `as_kept` docstring, which verification's note quotes (`reconcile`);
`tests/test_i18n.py` checks that every writer's is here."""


def guide(template: str, **values: Any) -> str:
    """An import guide (the README a writer puts beside its files) in the current language: `template`
    is the English text, marked with `N_` where it is defined, with named placeholders."""
    return _(template).format(**values)


def extract_click_help(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Any:
    """Babel extraction method for the command line (``babel.cfg``): the messages of the Python
    extractor, then the help of every click command, its docstring as `inspect.cleandoc` gives it."""
    import ast

    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        commands = [d for d in node.decorator_list if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                    and d.func.attr in ("command", "group")]  # fmt: skip
        doc = ast.get_docstring(node, clean=True)
        if commands and doc:
            yield node.lineno, "", doc, []
