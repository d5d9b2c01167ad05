"""Winbiz chart (``plan.dbf`` or chart export), addresses (``adresses.dbf``), invoices
(``document.dbf``) and company (``dos_info.dbf``) → canonical rows.

Facts (FORMATS.md): ``plan.dbf`` has ``CLASSE``, ``NUMERO``, ``COMPTE``; numbers of 1–3 digits are
group headings, longer ones accounts; classes 1 assets, 2 liabilities, 3 expenses, 4 income,
5 non-operating (supplement 1 charge, 2 income), 6 closing. ``adresses.dbf`` is keyed by
``AD_NUMERO``; ``document.dbf`` has ``DO_NUMERO``, ``DO_DATE1`` (issued), ``DO_DATE2`` (paid) and
``DO_ADR1..3`` pointing at ``AD_NUMERO``; ``dos_info.dbf`` holds the company name at byte 10 of
its first record. *Assumed* (not documented; other names are tolerated and unplaced fields kept
in the extras): which of ``NUMERO``/``COMPTE`` is the number is decided from the values; address
fields ``AD_SOCIETE``, ``AD_NOM``, ``AD_PRENOM``, ``AD_RUE_1``, ``AD_NPA``, ``AD_VILLE``,
``AD_PAYS``, ``AD_EMAIL``, ``AD_TEL1``, ``AD_TVA``, ``AD_IBAN``, ``AD_LANGUE``, ``AD_DELAI``,
``AD_COMPTE``; invoice fields ``DO_TOTAL`` (or ``DO_MONTANT``), ``DO_ECHEANC(E)``, ``DO_MONNAIE``,
``DO_TITRE``. Class 2 accounts 28xx/29xx are equity (Swiss SME chart).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.errors import SourceError
from migrator.model import Problem
from migrator.readers.winbiz.raw import Raw

NUMBER = ("numero", "number", "no_compte", "compte", "account")
NAME = ("libelle", "compte", "nom", "name", "titre", "intitule", "designation", "description")
CLASS = ("classe", "no_class", "class")
CURRENCY = ("monnaie", "devise", "currency")
CLASS_TYPES = {1: "asset", 2: "liability", 3: "expense", 4: "income"}
PARTNER_FIELDS: dict[str, tuple[str, ...]] = {
    "street": ("ad_rue_1", "ad_rue", "ad_adresse", "ad_adresse1"),
    "zip": ("ad_npa", "ad_cp", "ad_zip", "ad_codepos"),
    "city": ("ad_ville", "ad_localite"),
    "country": ("ad_pays",),
    "contact": ("ad_contact",),
    "email": ("ad_email", "ad_mail"),
    "phone": ("ad_tel1", "ad_tel", "ad_telephon"),
    "vat_number": ("ad_tva", "ad_notva", "ad_ide"),
    "iban": ("ad_iban",),
    "language": ("ad_langue",),
    "account": ("ad_compte",),
}
PARTNER_NAME = ("ad_societe", "ad_nom", "ad_prenom")
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
        raise SourceError("not a Winbiz chart: no account number field (NUMERO)", raw.file)
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
            raw.problems.append(Problem("error", "chart row without an account number; left out", raw.file, row))
            continue
        if code in seen:
            raw.problems.append(Problem("warning", f"account {code} appears twice in the chart (also row "
                                        f"{seen[code]}); the later row was kept", raw.file, row))  # fmt: skip
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


def partners(raw: Raw) -> tuple[list[dict[str, Any]], set[str]]:
    """Partners of ``adresses.dbf`` (problems go to `raw.problems`)."""
    if "ad_numero" not in raw.columns:
        raw.problems.append(Problem("warning", "no AD_NUMERO field: the addresses were not read", raw.file))
        return [], set()
    used = {"ad_numero"}
    columns = {}
    for target, names in PARTNER_FIELDS.items():
        found = raw.first(*names)
        if found:
            used.add(found)
            columns[target] = raw.text(found).to_pylist()
    present = [n for n in PARTNER_NAME if n in raw.columns]
    used.update(present)
    name_parts = {n: raw.text(n).to_pylist() for n in present}
    terms_field = raw.first(*PARTNER_TERMS)
    if terms_field:
        used.add(terms_field)
    terms = raw.text(terms_field).to_pylist()
    out = []
    for i, ident in enumerate(raw.text("ad_numero").to_pylist()):
        if not ident:
            raw.problems.append(Problem("warning", "address without AD_NUMERO; left out", raw.file, int(raw.rows[i])))
            continue
        company = name_parts.get("ad_societe", [""] * raw.size)[i]
        person = " ".join(p for p in (name_parts.get("ad_prenom", [""] * raw.size)[i],
                                      name_parts.get("ad_nom", [""] * raw.size)[i]) if p)  # fmt: skip
        row: dict[str, Any] = {"id": ident, "name": company or person}
        if company and person:
            row["contact"] = person
        for target, values in columns.items():
            if values[i]:
                row[target] = values[i]
        row["payment_terms"] = _integer(terms[i]) if terms[i] else None
        out.append(row)
    return out, used


def open_items(raw: Raw, known: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """Invoices of ``document.dbf`` without a payment date (``DO_DATE2``), linked to their address."""
    missing = [n for n in ("do_numero", "do_date1", "do_date2") if n not in raw.columns]
    amount_field = raw.first("do_total", "do_montant", "do_totttc", "do_ttc", "do_mntttc")
    if missing or amount_field is None:
        wanted = ", ".join(n.upper() for n in missing) or "DO_TOTAL (or DO_MONTANT)"
        raw.problems.append(Problem("warning", f"no {wanted} field: the open invoices were not read", raw.file))
        return [], set()
    bad = np.zeros(raw.size, dtype=bool)
    issued = raw.dates("do_date1", bad).to_pylist()
    paid_text = raw.text("do_date2")
    paid = pc.invert(pc.equal(paid_text, "")).to_numpy(zero_copy_only=False) if raw.columns["do_date2"].type == \
        pa.string() else pc.is_valid(raw.columns["do_date2"]).to_numpy(zero_copy_only=False)  # fmt: skip
    amounts = raw.cents(amount_field, bad).to_pylist()
    paid_field = raw.first("do_paye", "do_acompte", "do_mntpaye")
    paid_amounts = raw.cents(paid_field, bad).to_pylist() if paid_field else [None] * raw.size
    due_field = raw.first("do_echeance", "do_echeanc")
    due = raw.dates(due_field, np.zeros(raw.size, dtype=bool)).to_pylist() if due_field else [None] * raw.size
    partner_fields = [n for n in ("do_adr1", "do_adr2", "do_adr3") if n in raw.columns]
    links = [raw.text(n).to_pylist() for n in partner_fields]
    currency_field = raw.first("do_monnaie", "do_monnai")
    currencies = raw.text(currency_field).to_pylist()
    text_field = raw.first("do_titre", "do_libelle", "do_objet", "do_texte")
    texts = raw.text(text_field).to_pylist()
    used = {"do_numero", "do_date1", "do_date2", amount_field, *partner_fields}
    used.update(n for n in (paid_field, due_field, currency_field, text_field) if n)
    out = []
    settled = 0
    for i, ident in enumerate(raw.text("do_numero").to_pylist()):
        row = int(raw.rows[i])
        if bad[i]:
            continue
        if paid[i]:
            settled += 1
            continue
        partner = next((values[i] for values in links if values[i] and values[i] != "0"), "")
        if partner and partner not in known:
            raw.problems.append(Problem("warning", f"invoice {ident}: address {partner} is not in the addresses",
                                        raw.file, row))  # fmt: skip
        total = amounts[i] or 0
        out.append({
            "id": ident, "partner": partner, "kind": "invoice", "date": issued[i], "due_date": due[i],
            "currency": "" if currencies[i] in ("", "0") else currencies[i], "amount": total,
            "open_amount": total - (paid_amounts[i] or 0), "account": known.get(partner, {}).get("account", ""),
            "description": texts[i],
        })  # fmt: skip
    if settled:
        raw.problems.append(Problem("info", f"{settled} paid document(s) are not open items (their payment is in "
                                    "the journal)", raw.file))  # fmt: skip
    return out, used
