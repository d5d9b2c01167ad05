"""XML parsing that cannot be turned against the user: no entities, no DTD, no network.

Accounting files come from anywhere. A document that declares entities (the vehicle of external
entity reads and "billion laughs" bombs) is refused outright with a clear message; everything else
is parsed by lxml with entity resolution, DTD loading and network access switched off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from migrator.errors import SourceError

_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?<!ENTITY", re.S | re.I)
_HEAD = 1 << 16


def _parser(**options: Any) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False, **options
    )


def check(head: bytes, name: str) -> None:
    """Refuse a document whose prologue declares entities."""
    if _DECLARATION.search(head[:_HEAD]) or (b"<!ENTITY" in head[:_HEAD].upper()):
        raise SourceError("XML that declares entities is refused (possible external-entity or entity-bomb attack)",
                          name)  # fmt: skip


def parse(path: Path, name: str = "", **options: Any) -> etree._Element:
    """The root element of the XML file at `path`, parsed safely."""
    label = name or str(path)
    with path.open("rb") as handle:
        check(handle.read(_HEAD), label)
    try:
        return etree.parse(str(path), _parser(**options)).getroot()
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"not well-formed XML: {exc.msg}", label, exc.lineno) from None
    except OSError as exc:  # lxml reports undecodable bytes this way when reading from a path
        raise SourceError(f"not readable as XML: {exc}", label) from None


def parse_bytes(data: bytes, name: str = "", **options: Any) -> etree._Element:
    check(data, name)
    try:
        return etree.fromstring(data, _parser(**options))
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"not well-formed XML: {exc.msg}", name, exc.lineno) from None


def iterparse(path: Path, name: str = "", **options: Any) -> Iterator[tuple[str, etree._Element]]:
    """Stream (event, element) pairs from a large XML file, safely (lxml iterparse)."""
    label = name or str(path)
    with path.open("rb") as handle:
        check(handle.read(_HEAD), label)
    try:
        yield from etree.iterparse(str(path), resolve_entities=False, no_network=True, load_dtd=False,
                                   huge_tree=False, **options)  # fmt: skip
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"not well-formed XML: {exc.msg}", label, exc.lineno) from None
    except OSError as exc:
        raise SourceError(f"not readable as XML: {exc}", label) from None
