"""Helpers for address books, shared by every reader and writer of partners.

* `split_street`: a street with the building number inside ("Route de Thoune 8", "8, rue du Lac")
  split into street and building number, as the Swiss QR-bill structured address wants them
  (Swiss Payment Standards, Implementation Guidelines for the QR-bill: street ``StrtNm`` up to 70
  characters, building number ``BldgNb`` up to 16, both optional);
* `check_iban`: the ISO 13616 check (move the first four characters to the end, letters to numbers
  A=10 … Z=35, the whole number mod 97 must be 1); a bad IBAN is kept and warned about;
* `country_code`: country names (French, German, Italian, English) and codes to ISO 3166 alpha-2;
* `language_code`: Winbiz's one-letter codes (F, D, I, E) and language names to ISO 639-1;
* `partner_kind`: a company or a person;
* `unique_codes`: blank and repeated codes made unique and stable, each change a warning.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from migrator.i18n import N_
from migrator.model import Problem

# ----------------------------------------------------------------------------------------- streets

_NUMBER = r"\d{1,5}(?:\s?[a-zA-Z](?![a-zA-Z]))?(?:\s?(?:bis|ter))?(?:\s?[-/]\s?\d{1,5}[a-zA-Z]?)?"
_TRAILING = re.compile(rf"^(?P<street>.*?\D)[\s,]+(?P<number>{_NUMBER})\s*$")
_LEADING = re.compile(rf"^(?P<number>{_NUMBER})\s*,?\s+(?P<street>\D.*)$")
_POST_BOX = re.compile(r"^(case postale|postfach|casella postale|c\.?\s?p\.?|p\.?\s?o\.?\s?box|cp)\b", re.I)


def split_street(text: str) -> tuple[str, str]:
    """(street, building number) of an address line; the number is ``""`` when none can be told apart.

    >>> split_street("Route de Thoune 8"), split_street("8, rue du Lac"), split_street("Hafenstraße 17a")
    (('Route de Thoune', '8'), ('rue du Lac', '8'), ('Hafenstraße', '17a'))

    A post box ("Case postale 12", "Postfach 45") is not a street and is left whole; so is a street
    whose only digits belong to its name ("Rue du 1er-Mars").
    """
    line = " ".join(text.split())
    if not line or _POST_BOX.match(line):
        return line, ""
    match = _TRAILING.match(line)
    if match and any(c.isalpha() for c in match.group("street")):
        return match.group("street").rstrip(" ,"), match.group("number").replace(" ", "")
    match = _LEADING.match(line)
    if match and any(c.isalpha() for c in match.group("street")):
        return match.group("street").strip(), match.group("number").replace(" ", "")
    return line, ""


# -------------------------------------------------------------------------------------------- IBAN


def normalise_iban(text: str) -> str:
    """An IBAN without spaces, in capitals (``ch93 0076 2011 …`` → ``CH9300762011…``)."""
    return re.sub(r"[\s-]", "", text).upper()


def iban_ok(text: str) -> bool:
    """Whether `text` is an IBAN whose ISO 13616 check digits hold (mod 97 == 1)."""
    iban = normalise_iban(text)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def check_iban(text: str, where: str, file: str = "", row: int | None = None) -> tuple[str, list[Problem]]:
    """The IBAN as kept (spaces removed, capitals) and a warning if it fails its check; never dropped.

    `where` names the partner in the warning."""
    if not text.strip():
        return "", []
    iban = normalise_iban(text)
    if iban_ok(iban):
        return iban, []
    return iban, [Problem("warning", N_("{where}: IBAN {text!r} fails its check (ISO 13616 mod 97); kept as written, check it before paying").format(where=where, text=text.strip()), file, row)]  # fmt: skip


# -------------------------------------------------------------------------------------- countries

_ISO = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW "
    "BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI "
    "FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN "
    "IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF "
    "PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE "
    "YT ZA ZM ZW"
)
ISO_COUNTRIES = frozenset(_ISO.split())
"""ISO 3166-1 alpha-2 codes."""

_COUNTRY_NAMES = {
    "CH": ("suisse", "schweiz", "svizzera", "switzerland", "svizra", "confederation suisse", "helvetia"),
    "DE": ("allemagne", "deutschland", "germania", "germany"),
    "FR": ("france", "frankreich", "francia"),
    "IT": ("italie", "italien", "italia", "italy"),
    "AT": ("autriche", "osterreich", "oesterreich", "austria"),
    "LI": ("liechtenstein", "furstentum liechtenstein"),
    "LU": ("luxembourg", "luxemburg", "lussemburgo"),
    "BE": ("belgique", "belgien", "belgio", "belgium"),
    "NL": ("pays-bas", "niederlande", "paesi bassi", "netherlands", "holland"),
    "ES": ("espagne", "spanien", "spagna", "spain", "espana"),
    "PT": ("portugal", "portogallo"),
    "GB": (
        "royaume-uni",
        "grossbritannien",
        "vereinigtes konigreich",
        "regno unito",
        "united kingdom",
        "great britain",
    ),
    "US": ("etats-unis", "vereinigte staaten", "stati uniti", "united states", "united states of america"),
    "PL": ("pologne", "polen", "polonia", "poland"),
    "CZ": ("republique tcheque", "tschechien", "repubblica ceca", "czech republic", "czechia"),
    "HU": ("hongrie", "ungarn", "ungheria", "hungary"),
    "SE": ("suede", "schweden", "svezia", "sweden"),
    "DK": ("danemark", "danimarca", "denmark"),
    "NO": ("norvege", "norwegen", "norvegia", "norway"),
    "FI": ("finlande", "finnland", "finlandia", "finland"),
    "MC": ("monaco",),
    "SI": ("slovenie", "slowenien", "slovenia"),
    "HR": ("croatie", "kroatien", "croazia", "croatia"),
    "RS": ("serbie", "serbien", "serbia"),
    "GR": ("grece", "griechenland", "grecia", "greece"),
    "TR": ("turquie", "turkei", "turchia", "turkey", "turkiye"),
    "IE": ("irlande", "irland", "irlanda", "ireland"),
    "CN": ("chine", "china", "cina"),
    "JP": ("japon", "japan", "giappone"),
}
"""Names of the countries Swiss address books mostly hold, without accents, in French, German, Italian
and English."""
_ALIASES = {"D": "DE", "F": "FR", "I": "IT", "A": "AT", "FL": "LI", "L": "LU", "B": "BE", "E": "ES", "UK": "GB",
            "CHE": "CH", "DEU": "DE", "FRA": "FR", "ITA": "IT", "AUT": "AT", "LIE": "LI", "USA": "US"}  # fmt: skip
"""Vehicle plate codes (D, F, I, A, FL…) and common alpha-3 codes seen in Swiss address files."""


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace(".", " ").split())


_BY_NAME = {name: code for code, names in _COUNTRY_NAMES.items() for name in names}


def country_code(text: str) -> str | None:
    """ISO 3166 alpha-2 code of a country name or code; ``""`` for empty text, None when unknown.

    >>> country_code("Suisse"), country_code("ch"), country_code("Schweiz"), country_code("D")
    ('CH', 'CH', 'CH', 'DE')
    """
    plain = _plain(text)
    if not plain:
        return ""
    upper = plain.upper().replace(" ", "")
    if len(upper) == 2 and upper in ISO_COUNTRIES:
        return upper
    if upper in _ALIASES:
        return _ALIASES[upper]
    return _BY_NAME.get(plain)


# -------------------------------------------------------------------------------------- languages

_LANGUAGES = {
    "fr": ("f", "fr", "fra", "fre", "francais", "franzosisch", "francese", "french"),
    "de": ("d", "de", "deu", "ger", "allemand", "deutsch", "tedesco", "german", "a"),
    "it": ("i", "it", "ita", "italien", "italienisch", "italiano", "italian"),
    "en": ("e", "en", "eng", "anglais", "englisch", "inglese", "english"),
    "rm": ("rm", "roh", "romanche", "ratoromanisch", "romancio", "romansh", "rumantsch"),
}
_LANGUAGE_OF = {_plain(n): code for code, names in _LANGUAGES.items() for n in names}


def language_code(text: str) -> str | None:
    """ISO 639-1 code of a language code or name; ``""`` for empty text, None when unknown.

    Winbiz writes one capital letter (F, D, I, E); others write ``fr``, ``de-CH``, ``Deutsch``, ``français``.
    In German address files ``A`` may mean *allemand* in a French program; it is read as German.

    >>> language_code("F"), language_code("français"), language_code("de-CH"), language_code("")
    ('fr', 'fr', 'de', '')
    """
    plain = _plain(text)
    if not plain:
        return ""
    if plain in _LANGUAGE_OF:
        return _LANGUAGE_OF[plain]
    head = re.split(r"[-_ ]", plain, maxsplit=1)[0]
    return _LANGUAGE_OF.get(head) if head != plain else None


# ---------------------------------------------------------------------------------- person/company

_LEGAL_FORMS = re.compile(
    r"(?:^|[\s,.&])(ag|sa|s\.a\.|sàrl|sarl|s\.à\s?r\.l\.|s\.a\.r\.l\.|gmbh|kg|ohg|kig|gen(?:ossenschaft)?|"
    r"ltd|llc|inc|plc|co\.|cie|& cie|stiftung|fondation|fondazione|verein|association|sagl|scrl|srl|spa|"
    r"s\.p\.a\.|bv|nv|oy|ab|as|se|ug|e\.v\.|coop(?:érative)?|société|gesellschaft|genossenschaft|"
    r"holding|group|gruppe|groupe)(?=$|[\s,.])",
    re.I,
)


def partner_kind(company: str, first_name: str = "", last_name: str = "") -> str:
    """``company`` when a company name is given, ``person`` when only a person's names are (unless they
    carry a legal form such as AG, SA, Sàrl, GmbH: a company typed in the name fields), ``""`` when there
    is no name at all.

    >>> partner_kind("Pneus Léman SA"), partner_kind("", "Jean", "Favre"), partner_kind("", "", "Weber AG")
    ('company', 'person', 'company')
    """
    if company.strip():
        return "company"
    names = f"{first_name} {last_name}".strip()
    if not names:
        return ""
    return "company" if _LEGAL_FORMS.search(names) else "person"


# ------------------------------------------------------------------------------------------- codes


def unique_codes(
    codes: Sequence[str], fallbacks: Sequence[str], what: str, file: str = "", rows: Sequence[int] | None = None
) -> tuple[list[str], list[Problem]]:
    """Codes made unique, every row kept: a blank code becomes ``<fallback>`` (the row's own key, e.g.
    its address number), a code seen before becomes ``<code>-<fallback>``; if that is taken too,
    ``-2``, ``-3``… is added. The result is the same each time the same file is read. Each change is a
    warning naming the row (`what` names the kind of row, e.g. "address").

    >>> unique_codes(["C1", "", "C1"], ["1", "2", "3"], "address")[0]
    ['C1', '2', 'C1-3']
    """
    taken = {c.strip() for c in codes if c.strip()}
    out: list[str] = []
    seen: set[str] = set()
    problems: list[Problem] = []
    for index, (raw, fallback) in enumerate(zip(codes, fallbacks, strict=True)):
        code = raw.strip()
        row = rows[index] if rows is not None else index + 1
        if code and code not in seen:
            out.append(code)
            seen.add(code)
            continue
        wanted = (f"{code}-{fallback}" if code else fallback.strip()) or f"{what}-{row}"
        candidate, n = wanted, 1
        while candidate in seen or candidate in taken:  # never another row's own code
            n += 1
            candidate = f"{wanted}-{n}"
        why = (
            N_("its code {code!r} is used by an earlier {what}").format(code=code, what=what)
            if code
            else N_("it has no code")
        )
        problems.append(Problem("warning", N_("{what} {candidate}: {why}; kept with the derived code {candidate!r}").format(what=what, candidate=candidate, why=why),
                                file, row))  # fmt: skip
        out.append(candidate)
        seen.add(candidate)
    return out, problems
