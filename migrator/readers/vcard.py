"""vCard files (``.vcf``): the cards of an address book as partners.

Reads vCard 4.0 (RFC 6350, what migrator's ``vcard`` writer makes) and vCard 3.0 (RFC 2426, what
common address books export; 2.1's bare types and quoted-printable values too). Lines are unfolded
first (a line break followed by a space or tab continues the line before, RFC 6350 3.2), then each
content line is ``[group.]NAME[;param…]:value``; text values are unescaped (``\\n``, ``\\,``,
``\\;``, ``\\\\``; RFC 6350 3.4) component by component.

What becomes of a card:

* ``X-MIGRATOR-*`` properties (the writer's) give the code, roles, contact, VAT number, IBAN,
  currency, payment terms, account and the inactive flag. A card without ``X-MIGRATOR-CODE`` is
  numbered in file order (``1``, ``2``…; an info says how many).
* ``KIND`` ``org`` is a company, ``individual`` a person; without ``KIND`` (vCard 3.0), Apple's
  ``X-ABShowAs:COMPANY`` or a card with ``ORG`` and no person's name is a company, one with a
  person's name in ``N`` a person unless the name carries a legal form (`partners.partner_kind`). The name is a company's ``ORG``, else ``FN``, else ``N``'s names.
* ``ADR``: the ``work`` (or preferred) one, else the first: extended address (or post office box) as
  the second address line, postal code, locality, country (``CC`` parameter, RFC 8605, else the
  country component: a code or a name, made a code by `migrator.partners.country_code`; a country it
  does not know is kept as written, with a warning). ``LANG`` goes through `partners.language_code`
  (``de-CH`` is ``de``).
  Street and building number come from RFC 9554's street name and street number components where a
  card has them, else the street component is the street as written (number inside).
* ``TEL``: ``cell`` the mobile, ``fax`` the fax, the first other (``work`` preferred) the phone;
  ``EMAIL``, ``URL``, ``LANG``, ``NOTE``: the first (``pref``/``work`` preferred). ``CATEGORIES``
  Customer/Supplier (also Kunde/Lieferant, Client/Fournisseur) give the roles when the card has no
  ``X-MIGRATOR-ROLES``.
* Every other property (birthday, photo, other addresses and numbers…) is kept, as written, in the
  ledger's extras (table ``partners``, one row per card: its first line, code and those lines).

Lines outside a card, a card without ``END:VCARD``, a card without any name and payment terms that
are not a number are problems naming the line. The file holds no books: no accounts, no journal.
"""

from __future__ import annotations

import quopri
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Company, Ledger, Problem, table
from migrator.parsing import ParseError, decode, head_text
from migrator.partners import country_code, language_code, partner_kind
from migrator.readers.base import ReadOptions
from migrator.sources import Source

ROLE_WORDS = {
    "customer": "customer", "customers": "customer", "kunde": "customer", "kunden": "customer",
    "client": "customer", "clients": "customer", "cliente": "customer",
    "supplier": "supplier", "suppliers": "supplier", "vendor": "supplier", "lieferant": "supplier",
    "lieferanten": "supplier", "fournisseur": "supplier", "fournisseurs": "supplier", "fornitore": "supplier",
}  # fmt: skip
PRIVATE = {
    "X-MIGRATOR-ROLES": "roles", "X-MIGRATOR-CONTACT": "contact", "X-MIGRATOR-VAT-NUMBER": "vat_number",
    "X-MIGRATOR-IBAN": "iban", "X-MIGRATOR-CURRENCY": "currency", "X-MIGRATOR-ACCOUNT": "account",
}  # fmt: skip
USED = {"BEGIN", "END", "VERSION", "KIND", "FN", "N", "ORG", "ADR", "TEL", "EMAIL", "URL", "LANG", "NOTE",
        "CATEGORIES", "X-MIGRATOR-CODE", "X-MIGRATOR-NAME", "X-MIGRATOR-PAYMENT-TERMS", "X-MIGRATOR-ACTIVE",
        "X-ABSHOWAS", *PRIVATE}  # fmt: skip


@dataclass
class Property:
    """One content line: name (upper case), parameters (upper-case names, values as written), raw value."""

    name: str
    params: dict[str, list[str]]
    value: str
    line: int
    text: str

    @property
    def types(self) -> set[str]:
        return {t.lower() for value in self.params.get("TYPE", []) for t in value.split(",") if t}

    @property
    def preferred(self) -> bool:
        return "pref" in self.types or "PREF" in self.params

    def text_value(self) -> str:
        return unescape(self.value)

    def components(self, count: int) -> list[str]:
        parts = [unescape(p) for p in split_unescaped(self.value, ";")]
        return parts + [""] * (count - len(parts))


@dataclass
class Card:
    line: int
    properties: list[Property] = field(default_factory=list)

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name]

    def first(self, name: str, *prefer: str) -> Property | None:
        found = self.all(name)
        for wanted in prefer:
            chosen = [p for p in found if wanted in p.types or (wanted == "pref" and p.preferred)]
            if chosen:
                return chosen[0]
        return found[0] if found else None


def split_unescaped(value: str, separator: str) -> list[str]:
    """`value` split at each `separator` not preceded by a backslash escape."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    """A text value with RFC 6350 3.4's escapes resolved (``\\n`` and ``\\N`` a line break)."""
    out, escaped = [], False
    for char in value:
        if escaped:
            out.append("\n" if char in "nN" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    if escaped:
        out.append("\\")
    return "".join(out)


def unfold(text: str) -> list[tuple[int, str]]:
    """Logical lines with the physical line number each starts on (RFC 6350 3.2; 2.1's
    quoted-printable soft breaks, a line ending in ``=``, joined too)."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + line[1:])
        elif out and out[-1][1].endswith("=") and "QUOTED-PRINTABLE" in out[-1][1].split(":", 1)[0].upper():
            out[-1] = (out[-1][0], out[-1][1][:-1] + line)
        elif line.strip():
            out.append((number, line))
    return out


def parse_line(number: int, line: str) -> Property:
    """One content line; `ParseError` when it has no ``:``."""
    quoted, colon = False, -1
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            colon = index
            break
    if colon < 0:
        raise ParseError(N_("expected NAME:value, got {line!r}").format(line=line[:40]))
    head, value = line[:colon], line[colon + 1 :]
    pieces = _split_params(head)
    name = pieces[0].split(".")[-1].strip().upper()
    params: dict[str, list[str]] = {}
    for piece in pieces[1:]:
        key, _, val = piece.partition("=")
        if not _:  # vCard 2.1: a bare type (WORK, CELL) or encoding
            key, val = ("ENCODING", piece) if piece.upper() in ("QUOTED-PRINTABLE", "BASE64", "B") else ("TYPE", piece)
        params.setdefault(key.strip().upper(), []).append(val.strip().strip('"'))
    if any(v.upper() == "QUOTED-PRINTABLE" for v in params.get("ENCODING", [])):
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        try:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode(charset, "replace")
        except LookupError:
            value = quopri.decodestring(value.encode("latin-1", "replace")).decode("utf-8", "replace")
    return Property(name, params, value, number, line)


def _split_params(head: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in head:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def cards(text: str, file: str, problems: list[Problem]) -> list[Card]:
    """The cards of a file; lines outside a card and unreadable lines are problems."""
    found: list[Card] = []
    current: Card | None = None
    for number, line in unfold(text):
        try:
            prop = parse_line(number, line)
        except ParseError as exc:
            problems.append(Problem("error", N_("{exc}; line left out").format(exc=exc), file, number))
            continue
        if prop.name == "BEGIN" and prop.value.strip().upper() == "VCARD":
            if current is not None:
                problems.append(
                    Problem(
                        "error", N_("the card of line {line} has no END:VCARD").format(line=current.line), file, number
                    )
                )
                found.append(current)
            current = Card(number)
        elif prop.name == "END" and prop.value.strip().upper() == "VCARD":
            if current is None:
                problems.append(Problem("warning", N_("END:VCARD without BEGIN:VCARD; ignored"), file, number))
            else:
                found.append(current)
                current = None
        elif current is None:
            problems.append(Problem("warning", N_("{name} outside a card (BEGIN:VCARD … END:VCARD); ignored").format(name=prop.name),
                                    file, number))  # fmt: skip
        else:
            current.properties.append(prop)
    if current is not None:
        problems.append(Problem("error", N_("the card of line {line} has no END:VCARD (file ends)").format(line=current.line), file,
                                current.line))  # fmt: skip
        found.append(current)
    return found


def _kind(card: Card, first: str, last: str, coded: bool) -> str:
    kind = card.first("KIND")
    if kind is not None:
        return {"org": "company", "individual": "person"}.get(kind.text_value().strip().lower(), "")
    show = card.first("X-ABSHOWAS")
    if show is not None and show.text_value().strip().upper() == "COMPANY":
        return "company"
    if coded:
        return ""
    org = card.first("ORG")
    return partner_kind("" if first or last or org is None else org.components(1)[0], first, last)


def _phone(value: str) -> str:
    return value[4:] if value.lower().startswith("tel:") else value


def _country(prop: Property, component: str, file: str, problems: list[Problem]) -> str:
    for text in ((prop.params.get("CC") or [""])[0], component):
        code = country_code(text)
        if code:
            return code
    text = component.strip()
    if text:
        problems.append(Problem("warning", N_("country {text!r} is not a country name or ISO 3166 code migrator knows; kept as written").format(text=text), file, prop.line))  # fmt: skip
    return text


def _language(prop: Property | None, file: str, problems: list[Problem]) -> str:
    if prop is None:
        return ""
    text = prop.text_value().strip()
    code = language_code(text)
    if code is None:
        problems.append(Problem("warning", N_("language {text!r} is not one migrator knows; kept as written").format(text=text), file,
                                prop.line))  # fmt: skip
        return text
    return code


def _roles(card: Card) -> str:
    private = card.first("X-MIGRATOR-ROLES")
    if private is not None:
        return private.text_value().strip()
    found = set()
    for prop in card.all("CATEGORIES"):
        for word in split_unescaped(prop.value, ","):
            role = ROLE_WORDS.get(unescape(word).strip().lower())
            if role:
                found.add(role)
    return "both" if len(found) == 2 else (found.pop() if found else "")


def partner(card: Card, file: str, problems: list[Problem]) -> dict[str, Any]:
    """The partner row of one card (its code may be empty: the caller numbers those)."""

    def text(name: str, *prefer: str) -> str:
        prop = card.first(name, *prefer)
        return prop.text_value() if prop is not None else ""

    code_prop = card.first("X-MIGRATOR-CODE")
    names = card.first("N")
    last, first = names.components(5)[:2] if names is not None else ("", "")
    kind = _kind(card, first, last, code_prop is not None)
    org = card.first("ORG")
    org_name = org.components(1)[0] if org is not None else ""
    named = card.first("X-MIGRATOR-NAME")
    if named is not None:
        name = named.text_value()
    elif kind == "company" and org_name:
        name = org_name
    else:
        name = text("FN") or " ".join(p for p in (first, last) if p) or org_name
    if not name and not first and not last:
        problems.append(Problem("warning", N_("card without a name (FN, N or ORG)"), file, card.line))
    row: dict[str, Any] = {"id": code_prop.text_value() if code_prop else "", "kind": kind, "name": name,
                           "first_name": first, "last_name": last, "roles": _roles(card)}  # fmt: skip
    address = card.first("ADR", "work", "pref")
    if address is not None:
        c = address.components(18)
        number, street_name = c[10], c[11]
        row.update(street=street_name if (number or street_name) else c[2], building_number=number,
                   address_line2=c[1] or c[0], zip=c[5], city=c[3],
                   country=_country(address, c[6], file, problems))  # fmt: skip
    phones = card.all("TEL")
    for prop in phones:
        types = prop.types
        column = "mobile" if "cell" in types else "fax" if "fax" in types else "phone"
        if not row.get(column):
            row[column] = _phone(prop.text_value())
    work = next((p for p in phones if "work" in p.types and not p.types & {"cell", "fax"}), None)
    if work is not None:
        row["phone"] = _phone(work.text_value())
    row.update(email=text("EMAIL", "pref", "work"), website=text("URL", "pref", "work"),
               language=_language(card.first("LANG", "pref"), file, problems), notes=text("NOTE"))  # fmt: skip
    for name_, column in PRIVATE.items():
        if column != "roles" and card.first(name_) is not None:
            row[column] = text(name_)
    terms = card.first("X-MIGRATOR-PAYMENT-TERMS")
    if terms is not None:
        value = terms.text_value().strip()
        if value.lstrip("-").isdigit() and abs(int(value)) < 2**31:
            row["payment_terms"] = int(value)
        else:
            problems.append(Problem("warning", N_("X-MIGRATOR-PAYMENT-TERMS {value!r} is not a number of days; left empty").format(value=value), file, terms.line))  # fmt: skip
    active = card.first("X-MIGRATOR-ACTIVE")
    row["active"] = active is None or active.text_value().strip().lower() != "false"
    return row


class VcardReader:
    name = "vcard"
    extensions = (".vcf", ".vcard")

    def sniff(self, source: Source) -> float:
        if source.is_dir:
            return 0.0
        start = head_text(source.head()).lstrip("\ufeff \t\r\n").upper()
        return 1.0 if start.startswith("BEGIN:VCARD") else 0.0

    def read(self, source: Source, options: ReadOptions) -> Ledger:
        data = source.read_bytes()
        try:
            text, encoding = decode(data, options.encoding, source.name)
        except ParseError as exc:
            raise SourceError(str(exc), source.name) from None
        text = text.lstrip("\ufeff")
        problems: list[Problem] = []
        found = cards(text, source.name, problems)
        if not found and text.strip():
            raise SourceError(N_("no vCard in the file: expected BEGIN:VCARD … END:VCARD"), source.name)
        rows, extras, numbered = [], [], 0
        for card in found:
            version = card.first("VERSION")
            if version is not None and version.value.strip() not in ("2.1", "3.0", "4.0"):
                problems.append(Problem("warning", N_("vCard version {value!r}: read as 4.0").format(value=version.value.strip()),
                                        source.name, version.line))  # fmt: skip
            row = partner(card, source.name, problems)
            if card.first("X-MIGRATOR-CODE") is None:
                numbered += 1
                row["id"] = str(numbered)
            rows.append(row)
            others = [p.text for p in card.properties if p.name not in USED]
            if others:
                extras.append({"source_row": card.line, "id": row["id"], "properties": "\n".join(others)})
        if numbered:
            problems.append(Problem("info", N_("{numbered} cards without X-MIGRATOR-CODE: numbered 1 to {numbered} in file order").format(numbered=numbered), source.name))  # fmt: skip
        for code, count in sorted(Counter(r["id"] for r in rows).items()):
            if count > 1:
                problems.append(
                    Problem(
                        "warning",
                        N_("partner code {code!r} is on {count} cards").format(code=code, count=count),
                        source.name,
                    )
                )
        kept = {}
        if extras:
            kept["partners"] = pa.table({
                "source_row": pa.array([e["source_row"] for e in extras], pa.int64()),
                "id": pa.array([e["id"] for e in extras], pa.string()),
                "properties": pa.array([e["properties"] for e in extras], pa.string()),
            })  # fmt: skip
        return Ledger(company=Company(source_system="vCard"), partners=table("partners", rows),
                      problems=tuple(problems), extras=kept, format=self.name, encoding=encoding)  # fmt: skip


FORMAT = VcardReader
