"""vCard 4.0 (RFC 6350): the partners as one ``.vcf`` file, a card per partner, for any address book.

Each card has ``VERSION:4.0``, ``KIND`` (``org`` for a company, ``individual`` for a person), ``FN``
(the name; vCard requires one), ``N`` (last and first name, where known), ``ORG`` (a company's name),
``ADR;TYPE=work`` with the Swiss structured address, ``TEL`` (``TYPE=work,voice``, ``cell``,
``fax``), ``EMAIL``, ``URL``, ``LANG``, ``NOTE`` and ``CATEGORIES`` (Customer, Supplier: how address
books group cards). What vCard has no property for is kept in ``X-MIGRATOR-*`` properties (RFC 6350
6.10: private properties, ignored by programs that do not know them): the partner code
(``X-MIGRATOR-CODE``), roles, contact person, VAT number, IBAN, currency, payment terms, account and
an inactive flag. ``UID`` is not written: it must be unique worldwide, and partner codes repeat in
real books.

ADR (RFC 6350 6.3.1): post office box; extended address (the second address line: c/o, floor);
street; locality; region; postal code; country. The street component holds street and building
number together (``Rue du Lac 12``), as every address book shows it; the building number and the
street name alone follow as RFC 9554's ``street number`` and ``street name`` components (the 11th and
12th: room, apartment and floor come before them) where the partner has a building number, so a
program that knows RFC 9554 gets the structured form and one that does not reads the first seven. The country component holds the ISO
3166 code as the model has it, repeated in RFC 8605's ``CC`` parameter.

Text values are escaped as RFC 6350 3.4 says (``\\`` ``,`` ``;`` and line breaks as ``\\n``; in
compound values each component on its own), lines are folded at 75 octets (a CRLF and a space,
never inside a UTF-8 sequence, RFC 6350 3.2), the file is UTF-8 with CRLF line ends.

A vCard file holds addresses only: the chart, journal, VAT codes, items, documents and open items
are declared as not carried.

vobject (PyPI) is the well-known Python vCard library; it is not used: it implements vCard 3.0
(its serialiser writes 3.0's forms and has no 4.0 behaviour), and the escaping and folding rules
needed here are a few lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from migrator.i18n import N_
from migrator.model import Ledger, Problem, years_of
from migrator.writers.base import lines_with, lost

FOLD_AT = 75
"""Octets per line before folding (RFC 6350 3.2), line break excluded."""
KINDS = {"company": "org", "person": "individual"}
ROLE_CATEGORIES = {"customer": ("Customer",), "supplier": ("Supplier",), "both": ("Customer", "Supplier")}
EXTRA = (  # model column, private property
    ("roles", "X-MIGRATOR-ROLES"),
    ("contact", "X-MIGRATOR-CONTACT"),
    ("vat_number", "X-MIGRATOR-VAT-NUMBER"),
    ("iban", "X-MIGRATOR-IBAN"),
    ("currency", "X-MIGRATOR-CURRENCY"),
    ("account", "X-MIGRATOR-ACCOUNT"),
)


def escape(text: str) -> str:
    """A text value as RFC 6350 3.4 writes it: backslash, comma, semicolon and line breaks escaped."""
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def compound(*components: str) -> str:
    """A structured value (N, ADR): components escaped one by one and joined by ``;``."""
    return ";".join(escape(c) for c in components)


def fold(line: str) -> str:
    """`line` folded at 75 octets (RFC 6350 3.2): CRLF and a space, never within a UTF-8 character."""
    out: list[str] = []
    current: list[str] = []
    size, limit = 0, FOLD_AT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [], 0, FOLD_AT - 1  # the leading space of a continuation counts
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out)


def street_line(street: str, number: str) -> str:
    """The street as address books show it: ``Rue du Lac 12`` (street, then building number)."""
    return " ".join(part for part in (street, number) if part)


def card(partner: dict[str, Any]) -> list[str]:
    """The content lines of one partner's card, unfolded."""
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    kind = KINDS.get(partner["kind"])
    if kind:
        lines.append(f"KIND:{kind}")
    lines.append("FN:" + escape(display_name(partner)))
    if partner["first_name"] or partner["last_name"]:
        lines.append("N:" + compound(partner["last_name"], partner["first_name"], "", "", ""))
    if partner["kind"] == "company" and partner["name"]:
        lines.append("ORG:" + escape(partner["name"]))
    address = [partner[k] for k in ("street", "building_number", "address_line2", "zip", "city", "country")]
    if any(address):
        street, number, line2, zip_code, city, country = address
        parts = ["", line2, street_line(street, number), city, "", zip_code, country]
        if number:  # RFC 9554: room, apartment, floor, street number, street name
            parts += ["", "", "", number, street]
        value = compound(*parts)
        params = ";TYPE=work" + (f";CC={country}" if country.isalpha() and len(country) == 2 else "")
        lines.append(f"ADR{params}:{value}")
    for column, params in (("phone", ";TYPE=work,voice"), ("mobile", ";TYPE=cell"), ("fax", ";TYPE=fax")):
        if partner[column]:
            lines.append(f"TEL{params}:{escape(partner[column])}")
    if partner["email"]:
        lines.append("EMAIL;TYPE=work:" + escape(partner["email"]))
    if partner["website"]:
        lines.append("URL:" + escape(partner["website"]))
    if partner["language"]:
        lines.append("LANG:" + escape(partner["language"]))
    if partner["notes"]:
        lines.append("NOTE:" + escape(partner["notes"]))
    categories = ROLE_CATEGORIES.get(partner["roles"], ())
    if categories:
        lines.append("CATEGORIES:" + ",".join(categories))
    lines.append("X-MIGRATOR-CODE:" + escape(partner["id"]))
    for column, name in EXTRA:
        if partner[column]:
            lines.append(f"{name}:{escape(partner[column])}")
    if partner["payment_terms"] is not None:
        lines.append(f"X-MIGRATOR-PAYMENT-TERMS:{partner['payment_terms']}")
    if not partner["name"]:
        lines.append("X-MIGRATOR-NAME:")  # FN was made up from the names or the code: the name is empty
    if not partner["active"]:
        lines.append("X-MIGRATOR-ACTIVE:false")
    lines.append("END:VCARD")
    return lines


def display_name(partner: dict[str, Any]) -> str:
    """FN: the name, else first and last name, else the code (a card must have a name)."""
    return partner["name"] or " ".join(p for p in (partner["first_name"], partner["last_name"]) if p) or partner["id"]


def write_cards(partners: Iterable[dict[str, Any]]) -> bytes:
    """The ``.vcf`` file of `partners`: UTF-8, CRLF, folded."""
    text = "".join(fold(line) + "\r\n" for partner in partners for line in card(partner))
    return text.encode("utf-8")


class VcardWriter:
    name = "vcard"
    extension = ".vcf"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        target.write_bytes(write_cards(ledger.partners.to_pylist()))
        return not_carried(ledger)


def not_carried(ledger: Ledger) -> list[Problem]:
    """Everything of the ledger but its partners."""
    why = N_("a vCard file holds addresses only")
    company = ledger.company
    problems = lost(N_("company name"), 1 if company.name else 0, why)
    problems += lost(
        N_("base currency"), 1 if company.base_currency != "CHF" else 0, N_("{why}; read back as CHF").format(why=why)
    )
    problems += lost(N_("fiscal years"), len(years_of(ledger)), why)
    problems += lost(N_("accounts (chart)"), ledger.accounts.num_rows, why)
    problems += lost(N_("groups"), ledger.groups.num_rows, why)
    problems += lost(N_("VAT codes"), ledger.vat_codes.num_rows, why)
    problems += lost(N_("VAT codes on lines"), lines_with(ledger.lines, "vat_code"), why)
    problems += lost(N_("journal lines"), ledger.lines.num_rows, why)
    problems += lost(N_("open items"), ledger.open_items.num_rows, why)
    problems += lost(N_("items"), ledger.items.num_rows, why)
    problems += lost(N_("documents"), ledger.documents.num_rows, why)
    problems += lost(N_("document lines"), ledger.document_lines.num_rows, why)
    return problems


FORMAT = VcardWriter
