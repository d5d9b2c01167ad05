"""Winbiz chart (``plan.dbf`` or chart export), addresses (``adresses.dbf``), articles
(``articles.dbf`` with its memo file), documents (``document.dbf``) and their lines (``detail.dbf``),
and company (``dos_info.dbf``) → canonical rows.

Facts (FORMATS.md): ``plan.dbf`` has ``CLASSE``, ``NUMERO``, ``COMPTE``; numbers of 1–3 digits are
group headings, longer ones accounts; classes 1 assets, 2 liabilities, 3 expenses, 4 income,
5 non-operating (supplement 1 charge, 2 income), 6 closing. ``adresses.dbf`` is keyed by
``AD_NUMERO`` with the import code ``AD_CODE`` (real files hold blank and repeated codes); the
names seen in public code: ``ad_societe``, ``ad_nom``, ``ad_prenom``, ``ad_rue_1``, ``ad_rue_2``,
``ad_npa``, ``ad_ville``, ``ad_codpays``, ``ad_email``, ``ad_tel1``, ``ad_tel3`` (mobile),
``AB_IBAN``; articles ``ar_code``, ``ar_numero``, ``ar_abrege``, ``ar_desc``, ``ar_unit``,
``ar_groupe``, ``ar_fn_ref``, ``prixvnt``, ``prixach``; ``document.dbf`` has ``DO_NUMERO``,
``DO_TYPE`` (DocumentImport's types), ``DO_DATE1`` (issued), ``DO_DATE2`` (paid) and ``DO_ADR1..3``
pointing at ``AD_NUMERO``; document lines ``dl_numero``, ``dl_article``, ``dl_desc``, ``dl_qte``,
``dl_unite``, ``dl_prix``, ``dl_montant``, ``dl_tva_mnt`` (net = montant − VAT); ``dos_info.dbf``
holds the company name at byte 10 of its first record. *Assumed* (not documented; other names are
tolerated and unplaced fields kept in the extras): which of ``NUMERO``/``COMPTE`` is the number is
decided from the values; ``AD_PAYS``, ``AD_TVA``, ``AD_IBAN``, ``AD_LANGUE``, ``AD_DELAI``,
``AD_COMPTE``, ``AD_CLIENT``/``AD_FOURNIS`` (roles), ``AD_INACTIF``, ``AD_REMARQ``; articles'
VAT codes ``AR_TVAV``/``AR_TVAA``, accounts ``AR_CPTV``/``AR_CPTA``, supplier ``AR_FOURN`` (an
address number), stock ``AR_STOCK``/``AR_STOCKMI``; documents' ``DO_TOTAL`` (or ``DO_MONTANT``),
``DO_MNTHT``, ``DO_TVA``, ``DO_PAYE``, ``DO_ECHEANC(E)``, ``DO_MONNAIE``, ``DO_COMPTE``,
``DO_TITRE``; lines' ``DL_LIGNE``, ``DL_RABAIS``, ``DL_TVA_TX``, ``DL_TVA_CO``, ``DL_COMPTE``.
Class 2 accounts 28xx/29xx are equity (Swiss SME chart).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.errors import SourceError
from migrator.i18n import N_
from migrator.model import Problem
from migrator.parsing import ParseError, parse_rate
from migrator.partners import check_iban, country_code, language_code, partner_kind, split_street, unique_codes
from migrator.readers.winbiz.raw import Raw

NUMBER = ("numero", "number", "no_compte", "compte", "account")
NAME = ("libelle", "compte", "nom", "name", "titre", "intitule", "designation", "description")
CLASS = ("classe", "no_class", "class")
CURRENCY = ("monnaie", "devise", "currency")
CLASS_TYPES = {1: "asset", 2: "liability", 3: "expense", 4: "income"}
PARTNER_FIELDS: dict[str, tuple[str, ...]] = {
    "company": ("ad_societe", "ad_raison", "ad_firme"),
    "first_name": ("ad_prenom",),
    "last_name": ("ad_nom",),
    "street": ("ad_rue_1", "ad_rue", "ad_adresse", "ad_adresse1"),
    "address_line2": ("ad_rue_2", "ad_adresse2", "ad_case"),
    "zip": ("ad_npa", "ad_cp", "ad_zip", "ad_codepos"),
    "city": ("ad_ville", "ad_localite"),
    "country": ("ad_codpays", "ad_pays"),
    "contact": ("ad_contact",),
    "email": ("ad_email", "ad_mail"),
    "phone": ("ad_tel1", "ad_tel", "ad_telephon"),
    "mobile": ("ad_tel3", "ad_natel", "ad_mobile"),
    "fax": ("ad_fax",),
    "website": ("ad_web", "ad_internet", "ad_www"),
    "vat_number": ("ad_tva", "ad_notva", "ad_ide"),
    "iban": ("ad_iban", "ab_iban"),
    "language": ("ad_langue",),
    "currency": ("ad_monnaie", "ad_monnai"),
    "account": ("ad_compte",),
    "notes": ("ad_remarq", "ad_remarque", "ad_notes", "ad_memo"),
}
PARTNER_TERMS = ("ad_delai", "ad_echeance")


def _digits_share(raw: Raw, name: str) -> float:  # float-ok: a proportion, not money
    values = [v for v in raw.text(name).to_pylist() if v]
    return sum(v.isdigit() for v in values) / len(values) if values else 0.0


def _integer(text: str) -> int | None:
    match = re.match(r"^\s*(-?\d+)(?:\.0*)?\s*$", text)
    return int(match.group(1)) if match else None


def account_type(code: str, klass: int | None, supplement: int | None) -> str:
    if klass is None:  # no class field: the Swiss SME chart's classes
        first = code[:1]
        klass = {"1": 1, "2": 2, "3": 4, "4": 3, "5": 3, "6": 3}.get(first)
    if klass == 2 and code[:2] in ("28", "29"):
        return "equity"
    if klass == 5:
        return {1: "expense", 2: "income"}.get(supplement or 0, "")
    return CLASS_TYPES.get(klass or 0, "")


def chart(raw: Raw) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """Accounts and groups of a chart table, and the fields used (problems go to `raw.problems`)."""
    candidates = [n for n in NUMBER if n in raw.columns]
    if not candidates:
        raise SourceError(N_("not a Winbiz chart: no account number field (NUMERO)"), raw.file)
    number = max(candidates, key=lambda n: (_digits_share(raw, n), -candidates.index(n)))
    name = next((n for n in NAME if n in raw.columns and n != number), None)
    klass = raw.first(*CLASS)
    supplement = next((n for n in raw.columns if "suppl" in n), None)
    currency = raw.first(*CURRENCY)
    used = {n for n in (number, name, klass, supplement, currency) if n}
    codes = raw.text(number).to_pylist()
    names = raw.text(name).to_pylist()
    classes = raw.text(klass).to_pylist()
    supplements = raw.text(supplement).to_pylist()
    currencies = raw.text(currency).to_pylist()
    entries = []
    seen: dict[str, int] = {}
    for i, code in enumerate(codes):
        row = int(raw.rows[i])
        if not code:
            raw.problems.append(Problem("error", N_("chart row without an account number; left out"), raw.file, row))
            continue
        if code in seen:
            raw.problems.append(Problem("warning", N_("account {code} appears twice in the chart (also row {seen}); the later row was kept").format(code=code, seen=seen[code]), raw.file, row))  # fmt: skip
        seen[code] = row
        entries.append((code, names[i], _integer(classes[i]), _integer(supplements[i]), currencies[i]))
    kept = {code: (code, *rest) for code, *rest in entries}
    accounts, groups = [], []
    heading: list[str] = []  # the group headings above the current row, outermost first
    for code, title, klass_value, supplement_value, money in sorted(kept.values(), key=lambda r: r[0]):
        is_group = code.isdigit() and len(code) <= 3
        while heading and (heading[-1][:1] != code[:1] or (is_group and len(heading[-1]) >= len(code))):
            heading.pop()
        parent = heading[-1] if heading else ""
        if is_group:
            groups.append({"code": code, "name": title, "parent": parent})
            heading.append(code)
        else:
            accounts.append({
                "code": code, "name": title, "type": account_type(code, klass_value, supplement_value),
                "parent": parent, "currency": "" if money in ("", "0") else money, "active": True,
            })  # fmt: skip
    return accounts, groups, used


def company_name(raw: Raw, offsets: dict[str, int]) -> str:
    """The company name of ``dos_info.dbf``: a name field, else the field at byte 10 of the record."""
    if not raw.size:
        return ""
    for candidate in ("dos_nom", "do_nom", "nom", "raison", "societe", "name", "firma"):
        if candidate in raw.columns:
            return str(raw.text(candidate)[0].as_py())
    at_ten = next((n for n, offset in offsets.items() if offset == 10), None)
    if at_ten is not None and at_ten in raw.columns:
        return str(raw.text(at_ten)[0].as_py())
    return ""


def _texts(raw: Raw, fields: dict[str, tuple[str, ...]], used: set[str]) -> dict[str, list[str]]:
    """The first present field of each target, as trimmed text per row (``""`` where absent)."""
    out = {}
    for target, names in fields.items():
        found = raw.first(*names)
        if found:
            used.add(found)
        out[target] = raw.text(found).to_pylist()
    return out


def _flag(raw: Raw, names: tuple[str, ...], used: set[str]) -> np.ndarray | None:
    found = raw.first(*names)
    if found is None:
        return None
    used.add(found)
    return raw.flags(found)


def _quantity(text: str, raw: Raw, name: str, row: int) -> str:
    """Decimal text of a quantity (``12.000`` → ``12``); a value that is no number is kept as written, with
    a warning."""
    try:
        return parse_rate(text) if text else ""
    except ParseError:
        raw.problems.append(
            Problem(
                "warning",
                N_("{name} {text!r} is not a number; kept as text").format(name=name, text=text),
                raw.file,
                row,
            )
        )
        return text


def _currency(text: str, base: str) -> str:
    return "" if text.upper() in ("", "0", base) else text.upper()


def partners(raw: Raw, base: str = "CHF") -> tuple[list[dict[str, Any]], set[str], dict[str, str]]:
    """Partners of ``adresses.dbf`` (or an ``ad_*`` export), the fields used, and each address number's
    partner id (documents and articles point at ``AD_NUMERO``). Problems go to `raw.problems`.

    The partner id is the address code ``AD_CODE`` (what Winbiz's DocumentImport matches addresses by);
    a blank or repeated code gets a stable derived one (`partners.unique_codes`, from ``AD_NUMERO``),
    with a warning. Every row is kept; ``AD_NUMERO`` stays in the extras."""
    number_field = raw.first("ad_numero")
    code_field = raw.first("ad_code")
    if number_field is None and code_field is None:
        raw.problems.append(
            Problem("warning", N_("no AD_NUMERO or AD_CODE field: the addresses were not read"), raw.file)
        )
        return [], set(), {}
    used: set[str] = set()
    rows = [int(r) for r in raw.rows]
    numbers = [_whole(v) for v in raw.text(number_field).to_pylist()]
    fallbacks = [n or f"row{row}" for n, row in zip(numbers, rows, strict=True)]
    if code_field:
        used.add(code_field)
        ids, notes = unique_codes(raw.text(code_field).to_pylist(), fallbacks, N_("address"), raw.file, rows)
        raw.problems += notes
    else:
        ids = fallbacks
        used.add(number_field or "")
    text = _texts(raw, PARTNER_FIELDS, used)
    terms_field = raw.first(*PARTNER_TERMS)
    if terms_field:
        used.add(terms_field)
    terms = raw.text(terms_field).to_pylist()
    customer = _flag(raw, ("ad_client", "ad_debiteur"), used)
    supplier = _flag(raw, ("ad_fournis", "ad_fourniss", "ad_creancier", "ad_fourn"), used)
    inactive = _flag(raw, ("ad_inactif", "ad_archive", "ad_bloque"), used)
    out = []
    by_number: dict[str, str] = {}
    for i, ident in enumerate(ids):
        row = rows[i]
        if numbers[i]:
            by_number.setdefault(numbers[i], ident)
        company, first, last = text["company"][i], text["first_name"][i], text["last_name"][i]
        street, building = split_street(text["street"][i])
        entry: dict[str, Any] = {
            "id": ident, "kind": partner_kind(company, first, last), "name": company or " ".join(p for p in
            (first, last) if p), "first_name": first, "last_name": last, "street": street,
            "building_number": building, "payment_terms": _integer(terms[i]) if terms[i] else None,
        }  # fmt: skip
        for target in ("address_line2", "zip", "city", "contact", "email", "phone", "mobile", "fax", "website",
                       "vat_number", "account", "notes"):  # fmt: skip
            entry[target] = text[target][i]
        country = country_code(text["country"][i])
        if country is None:
            raw.problems.append(Problem("warning", N_("address {ident}: country {country!r} is not a country name or ISO code; kept as written").format(ident=ident, country=text['country'][i]), raw.file, row))  # fmt: skip
            country = text["country"][i]
        entry["country"] = country
        language = language_code(text["language"][i])
        if language is None:
            raw.problems.append(Problem("warning", N_("address {ident}: language {language!r} not recognised; left empty (the value stays in the extras)").format(ident=ident, language=text['language'][i]), raw.file, row))  # fmt: skip
            language = ""
        entry["language"] = language
        entry["currency"] = _currency(text["currency"][i], base)
        entry["iban"], notes = check_iban(text["iban"][i], N_("address {ident}").format(ident=ident), raw.file, row)
        raw.problems += notes
        roles = (customer is not None and bool(customer[i]), supplier is not None and bool(supplier[i]))
        entry["roles"] = {(True, True): "both", (True, False): "customer", (False, True): "supplier"}.get(roles, "")
        entry["active"] = not bool(inactive[i]) if inactive is not None else True
        if not (street or entry["city"] or entry["zip"]):
            raw.problems.append(Problem("warning", N_("address {ident} ({value}) has no postal address").format(ident=ident, value=entry['name'] or 'no name'), raw.file, row))  # fmt: skip
        elif not entry["zip"]:
            raw.problems.append(
                Problem(
                    "warning",
                    N_("address {ident} ({name}) has no postcode").format(ident=ident, name=entry["name"]),
                    raw.file,
                    row,
                )
            )
        out.append(entry)
    if text["language"] and not any(language_code(v) is None for v in text["language"]):
        used.add(raw.first(*PARTNER_FIELDS["language"]) or "")
    else:
        used.discard(raw.first(*PARTNER_FIELDS["language"]) or "")
    return out, used, by_number


def _whole(text: str) -> str:
    """A record number as text without decimals (``12.0`` → ``12``); ``0`` counts as none."""
    number = _integer(text)
    return str(number) if number else ("" if number == 0 else text)


ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("ar_abrege", "ar_design", "ar_nom", "ar_libelle", "ar_titre"),
    "description": ("ar_desc", "ar_descr", "ar_memo", "ar_texte"),
    "unit": ("ar_unit", "ar_unite"),
    "group": ("ar_groupe", "ar_famille"),
    "sale_vat_code": ("ar_tvav", "ar_tva_v", "ar_tvacode", "ar_tva"),
    "purchase_vat_code": ("ar_tvaa", "ar_tva_a"),
    "revenue_account": ("ar_cptv", "ar_cpt_v", "ar_compte"),
    "expense_account": ("ar_cpta", "ar_cpt_a"),
    "supplier": ("ar_fourn", "ar_fournis", "ar_fn_adr"),
    "supplier_ref": ("ar_fn_ref", "ar_reffour"),
    "currency": ("ar_monnaie", "ar_monnai"),
    "stock": ("ar_stock", "ar_qte", "ar_qtestock"),
    "stock_min": ("ar_stockmi", "ar_stock_mi", "ar_qtemin"),
}
ITEM_PRICES = {"sale_price": ("prixvnt", "ar_prixvnt", "ar_prix_v", "ar_prix"),
               "purchase_price": ("prixach", "ar_prixach", "ar_prix_a")}  # fmt: skip


def items(raw: Raw, numbers: dict[str, str], base: str = "CHF") -> tuple[list[dict[str, Any]], set[str]]:
    """Articles of ``articles.dbf`` (memo ``articles.fpt``) or an ``ar_*`` export. The item code is
    ``AR_CODE`` (blank or repeated codes made unique from ``AR_NUMERO``, with a warning); the supplier
    field holds an address number, turned into the partner's id."""
    code_field = raw.first("ar_code", "ar_numero")
    if code_field is None:
        raw.problems.append(Problem("warning", N_("no AR_CODE field: the articles were not read"), raw.file))
        return [], set()
    used = {code_field}
    rows = [int(r) for r in raw.rows]
    fallbacks = [_whole(v) or f"row{row}" for v, row in zip(raw.text(raw.first("ar_numero")).to_pylist(), rows,
                                                            strict=True)]  # fmt: skip
    codes, notes = unique_codes(raw.text(code_field).to_pylist(), fallbacks, N_("article"), raw.file, rows)
    raw.problems += notes
    text = _texts(raw, ITEM_FIELDS, used)
    bad = np.zeros(raw.size, dtype=bool)
    prices = _cents_columns(raw, ITEM_PRICES, used, bad)
    inactive = _flag(raw, ("ar_inactif", "ar_bloque", "ar_archive"), used)
    out = []
    for i, code in enumerate(codes):
        row = rows[i]
        supplier = _whole(text["supplier"][i])
        if supplier and supplier not in numbers:
            raw.problems.append(Problem("warning", N_("article {code}: supplier address {supplier} is not in the addresses; kept as written").format(code=code, supplier=supplier), raw.file, row))  # fmt: skip
        entry: dict[str, Any] = {
            "code": code, "supplier": numbers.get(supplier, supplier), "currency": _currency(text["currency"][i], base),
            "stock": _quantity(text["stock"][i], raw, "stock", row),
            "stock_min": _quantity(text["stock_min"][i], raw, "minimum stock", row),
            "active": not bool(inactive[i]) if inactive is not None else True,
            "sale_price": prices["sale_price"][i], "purchase_price": prices["purchase_price"][i],
        }  # fmt: skip
        for target in ("name", "description", "unit", "group", "sale_vat_code", "purchase_vat_code",
                       "revenue_account", "expense_account", "supplier_ref"):  # fmt: skip
            entry[target] = text[target][i]
        if entry["active"] and not entry["sale_price"] and not bad[i]:
            raw.problems.append(
                Problem(
                    "warning",
                    N_("article {code} ({name}) has no sale price").format(code=code, name=entry["name"]),
                    raw.file,
                    row,
                )
            )
        out.append(entry)
    return out, used


DOCUMENT_TYPES = {
    10: "offer", 12: "order", 14: "order", 16: "delivery_note", 17: "invoice", 18: "invoice", 20: "invoice",
    22: "credit_note", 24: "payment", 40: "order", 41: "offer", 42: "delivery_note", 43: "bill", 44: "bill",
    46: "payment", 47: "bill_credit_note", 50: "delivery_note",
}  # fmt: skip
"""Winbiz document types (DocumentImport field 2, FORMATS.md) as canonical types: 17 and 43 are the
debtor and creditor opening balances (open invoices and bills carried into the year), 18 a cash sale,
14 a worksheet, 41 a call for tender, 50 a goods return."""
DOCUMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("do_titre", "do_libelle", "do_objet", "do_texte"),
    "currency": ("do_monnaie", "do_monnai"),
    "account": ("do_compte", "do_cpt"),
    "reference": ("do_refqr", "do_bvr", "do_reference"),
}
DOCUMENT_AMOUNTS = {
    "gross": ("do_total", "do_montant", "do_totttc", "do_ttc", "do_mntttc"),
    "net": ("do_mntht", "do_totht", "do_ht"),
    "vat": ("do_tva", "do_mnttva", "do_tvamnt"),
    "paid": ("do_paye", "do_acompte", "do_mntpaye"),
}


def documents(raw: Raw, numbers: dict[str, str], known: dict[str, dict[str, Any]], base: str = "CHF"
              ) -> tuple[list[dict[str, Any]], set[str]]:  # fmt: skip
    """Documents of ``document.dbf`` (or a ``do_*`` export) and the fields used. ``DO_ADR1..3`` hold address numbers (the first one set is the partner); ``DO_DATE2`` is the
    payment date: without a paid-amount field, a document with one is paid in full."""
    missing = [n for n in ("do_numero", "do_date1") if n not in raw.columns]
    gross_field = raw.first(*DOCUMENT_AMOUNTS["gross"])
    if missing or gross_field is None:
        wanted = ", ".join(n.upper() for n in missing) or "DO_TOTAL (or DO_MONTANT)"
        raw.problems.append(
            Problem("warning", N_("no {wanted} field: the documents were not read").format(wanted=wanted), raw.file)
        )
        return [], set()
    used = {"do_numero", "do_date1"}
    bad = np.zeros(raw.size, dtype=bool)
    issued = raw.dates("do_date1", bad).to_pylist()
    due_field = raw.first("do_echeance", "do_echeanc")
    due = raw.dates(due_field, np.zeros(raw.size, dtype=bool)).to_pylist() if due_field else [None] * raw.size
    paid_on = raw.first("do_date2")
    settled = [False] * raw.size
    if paid_on:
        used.add(paid_on)
        column = raw.columns[paid_on]
        settled = (pc.is_valid(column) if pa.types.is_date(column.type) else pc.not_equal(raw.text(paid_on), "")
                   ).to_pylist()  # fmt: skip
    amounts: dict[str, list[int | None]] = {}
    for target, names in DOCUMENT_AMOUNTS.items():
        found = raw.first(*names)
        if found:
            used.add(found)
        amounts[target] = raw.cents(found, bad).to_pylist() if found else [None] * raw.size
    kinds_field = raw.first("do_type")
    if kinds_field:
        used.add(kinds_field)
    kinds = raw.text(kinds_field).to_pylist()
    partner_fields = [n for n in ("do_adr1", "do_adr2", "do_adr3") if n in raw.columns]
    used.update(partner_fields)
    links = [raw.text(n).to_pylist() for n in partner_fields]
    text = _texts(raw, DOCUMENT_FIELDS, used)
    if due_field:
        used.add(due_field)
    rows = [int(r) for r in raw.rows]
    ids, notes = unique_codes(raw.text("do_numero").to_pylist(), [f"row{r}" for r in rows], N_("document"), raw.file,
                              rows)  # fmt: skip
    raw.problems += notes
    out = []
    for i, ident in enumerate(ids):
        row = rows[i]
        if bad[i]:
            continue  # its date or an amount is unreadable: reported by `raw`
        number = _integer(kinds[i]) if kinds[i] else 20
        kind = DOCUMENT_TYPES.get(number or 0, "")
        if not kind:
            raw.problems.append(Problem("warning", N_("document {ident}: type {kinds!r} is not a Winbiz document type; kept without a type").format(ident=ident, kinds=kinds[i]), raw.file, row))  # fmt: skip
        address = next((_whole(values[i]) for values in links if _whole(values[i])), "")
        partner = numbers.get(address, address)
        if address and address not in numbers:
            raw.problems.append(Problem("warning", N_("document {ident}: address {address} is not in the addresses").format(ident=ident, address=address),
                                        raw.file, row))  # fmt: skip
        gross = amounts["gross"][i] or 0
        vat = amounts["vat"][i]
        net = amounts["net"][i]
        if net is None:
            net = gross - (vat or 0)
        if vat is None:
            vat = gross - net
        paid = amounts["paid"][i]
        if paid is None:
            paid = gross if settled[i] else 0
        status = "paid" if gross and paid >= gross else ("partly_paid" if paid else "open")
        if not gross and settled[i]:
            status = "paid"
        out.append({
            "id": ident, "type": kind, "date": issued[i], "due_date": due[i], "partner": partner,
            "currency": _currency(text["currency"][i], base), "net": net, "vat": vat, "gross": gross, "paid": paid,
            "status": status, "account": text["account"][i] or known.get(partner, {}).get("account", ""),
            "title": text["title"][i], "reference": text["reference"][i],
        })  # fmt: skip
    return out, used


LINE_FIELDS: dict[str, tuple[str, ...]] = {
    "item": ("dl_article", "dl_code", "dl_ar_code"),
    "description": ("dl_desc", "dl_design", "dl_texte", "dl_libelle"),
    "unit": ("dl_unite", "dl_unit"),
    "vat_code": ("dl_tva_co", "dl_tvacode", "dl_tva_code"),
    "account": ("dl_compte", "dl_cpt"),
}


LINE_AMOUNTS: dict[str, tuple[str, ...]] = {
    "unit_price": ("dl_prix", "dl_prixunit"),
    "amount": ("dl_montant", "dl_total"),
    "vat": ("dl_tva_mnt", "dl_tvamnt"),
}
LINE_DECIMALS: dict[str, tuple[str, ...]] = {
    "quantity": ("dl_qte", "dl_qte1", "dl_quantite"),
    "discount": ("dl_rabais", "dl_remise"),
    "vat_rate": ("dl_tva_tx", "dl_tvatx", "dl_tva_taux"),
}


def document_lines(raw: Raw, documents: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
    """Lines of the document lines table (``detail``, ``dl_*`` fields): ``DL_NUMERO`` the document,
    ``DL_MONTANT`` the line total with VAT and ``DL_TVA_MNT`` its VAT (net = the difference, FORMATS.md)."""
    link = raw.first("dl_numero", "dl_nodoc", "dl_document", "dl_do_numero")
    if link is None:
        raw.problems.append(Problem("warning", N_("no DL_NUMERO field: the document lines were not read"), raw.file))
        return [], set()
    used = {link}
    text = _texts(raw, LINE_FIELDS, used)
    bad = np.zeros(raw.size, dtype=bool)
    cents = _cents_columns(raw, LINE_AMOUNTS, used, bad)
    decimals = {}
    for target, names in LINE_DECIMALS.items():
        found = raw.first(*names)
        if found:
            used.add(found)
        decimals[target] = raw.text(found).to_pylist()
    number_field = raw.first("dl_ligne", "dl_noline", "dl_ordre")
    if number_field:
        used.add(number_field)
    numbers = raw.text(number_field).to_pylist()
    out = []
    counters: dict[str, int] = {}
    for i, document in enumerate(raw.text(link).to_pylist()):
        row = int(raw.rows[i])
        if bad[i]:
            continue
        if document not in documents:
            raw.problems.append(Problem("warning", N_("line of document {document!r}, which is not in the documents; kept").format(document=document), raw.file, row))  # fmt: skip
        counters[document] = counters.get(document, 0) + 1
        quantity = _quantity(decimals["quantity"][i], raw, "quantity", row)
        discount = _quantity(decimals["discount"][i], raw, "discount", row)
        rate = _quantity(decimals["vat_rate"][i], raw, "VAT rate", row)
        total = cents["amount"][i] or 0
        entry: dict[str, Any] = {
            "document": document, "line": _integer(numbers[i]) or counters[document],
            "quantity": "" if quantity == "0" and not total else quantity, "unit_price": cents["unit_price"][i] or 0,
            "discount": "" if discount == "0" else discount, "vat_rate": "" if rate == "0" else rate,
            "amount": total - (cents["vat"][i] or 0),
        }  # fmt: skip
        for target in ("item", "description", "unit", "vat_code", "account"):
            entry[target] = text[target][i]
        out.append(entry)
    return out, used


def open_items(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open items: invoices and bills (and their opening-balance forms) not fully paid."""
    out = []
    for doc in documents:
        if doc["type"] not in ("invoice", "bill") or doc["status"] in ("paid", "cancelled"):
            continue
        out.append({
            "id": doc["id"], "partner": doc["partner"], "kind": doc["type"], "date": doc["date"],
            "due_date": doc["due_date"], "currency": doc["currency"], "amount": doc["gross"],
            "open_amount": doc["gross"] - doc["paid"], "account": doc["account"], "description": doc["title"],
        })  # fmt: skip
    return out


def _cents_columns(
    raw: Raw, spec: dict[str, tuple[str, ...]], used: set[str], bad: np.ndarray
) -> dict[str, list[int | None]]:
    """Each money field of `spec` (target → source names, first found wins) in cents; None where the
    table has none of the names. Fields read are added to `used`, bad values marked in `bad`."""
    out: dict[str, list[int | None]] = {}
    for target, names in spec.items():
        found = raw.first(*names)
        if found:
            used.add(found)
        out[target] = raw.cents(found, bad).to_pylist() if found else [None] * raw.size
    return out
