"""Beancount ledger: plain-text books that `bean-check` accepts (Beancount v2 and v3 syntax).

``option`` lines (title, operating currency), one ``open`` per account on the first day of the
books, then one transaction per entry, with metadata for what Beancount has no field for::

    2024-01-25 * "Facture Müller Transport, service camion"
      doc: "R24-001"
      entry: "14"
      Assets:1100-Debiteurs-clients         2162.00 CHF
        partner: "C001"
      Income:3400-Prestations-d-atelier    -2000.00 CHF
        vat: "V81"
        vat_amount: -162.00 CHF

Account names: the top level from the account type (Assets, Liabilities, Equity, Income,
Expenses; untyped accounts by the Swiss chart's first digit), then one component ``CODE-Name``.
Beancount wants each component to start with a capital letter or digit and to hold only letters,
digits and dashes; to keep names portable migrator writes them in ASCII: German umlauts become
``ae oe ue`` (Müller → Mueller), ``ß`` becomes ``ss``, other accents are dropped (Débiteurs →
Debiteurs), ``Æ Ø Œ Ł`` become ``AE O OE L``, anything else becomes ``-``. Foreign-currency lines
carry the base amount as total price (``1000.00 EUR @@ 965.00 CHF``; Beancount keeps it as a unit
price, so its weight of such a line can differ from the cents by a tiny fraction that bean-check's
tolerance absorbs). Opening entries are
ordinary transactions tagged ``#opening``.

Several fiscal years: a Beancount ledger keeps running balances, so a ``bean-query`` up to a year
end gives that year's balances. The pipeline hands the writer `years.continuous(ledger)`: the
first year's opening entries, then on the last day of each year a closing entry (voucher
``CLOSING-<year>``, text ``Year-end closing <year> (migrator)``) that brings the income and expense
accounts to zero and carries the result into equity as the next year's opening shows it, so every
balance-sheet account runs on into the next opening; an opening that differs otherwise is booked
as a dated adjustment (``ADJUST-<year>``) and reported.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator import columns
from migrator.model import Ledger, Problem
from migrator.money import format_cents
from migrator.writers.plaintext import foreign, not_carried, one_line, top_level, used_codes, write_entries

_SPECIAL = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                          "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L",
                          "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th"})  # fmt: skip


def ascii_words(text: str) -> str:
    """`text` transliterated to ASCII letters and digits joined by single dashes.

    >>> ascii_words("Débiteurs clients"), ascii_words("Müller & Söhne AG"), ascii_words("Prestations d'atelier")
    ('Debiteurs-clients', 'Mueller-Soehne-AG', 'Prestations-d-atelier')
    """
    plain = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")


def component(code: str, name: str) -> str:
    """One Beancount account component ``CODE-Name`` starting with a capital letter or digit."""
    text = ascii_words(f"{code} {name}") or "X"
    return text[0].upper() + text[1:]


def account_names(ledger: Ledger) -> dict[str, str]:
    """Beancount account name per code, made unique if two codes transliterate alike."""
    codes = ledger.accounts.column("code").to_pylist()
    kinds = dict(zip(codes, ledger.accounts.column("type").to_pylist(), strict=True))
    titles = dict(zip(codes, ledger.accounts.column("name").to_pylist(), strict=True))
    names: dict[str, str] = {}
    taken: set[str] = set()
    for code in used_codes(ledger):
        name = f"{top_level(kinds.get(code, ''), code)}:{component(code, titles.get(code, ''))}"
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate)
        names[code] = candidate
    return names


def string(text: Any) -> str:
    """A Beancount string literal."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def currency_code(text: str) -> str:
    return re.sub(r"[^A-Z0-9'._-]", "", text.upper()) or "XXX"


class BeancountWriter:
    name = "beancount"
    extension = ".beancount"
    output = "file"

    def write(self, ledger: Ledger, target: Path) -> list[Problem]:
        base = currency_code(ledger.company.base_currency or "CHF")
        names = account_names(ledger)
        dates = ledger.lines.column("date")
        starts = [y.start for y in ledger.company.fiscal_years]
        if ledger.lines.num_rows:
            starts.append(pc.min(dates).as_py())
        opened = min(starts) if starts else dt.date(2000, 1, 1)
        with target.open("w", encoding="utf-8", newline="\n") as out:
            out.write(f"; written by migrator; base currency {base}\n")
            out.write(f'option "title" {string(one_line(ledger.company.name) or "books")}\n')
            out.write(f'option "operating_currency" "{base}"\n\n')
            for code in used_codes(ledger):
                out.write(f"{opened.isoformat()} open {names[code]}\n")
            dropped = write_entries(out, ledger.lines, lambda rows: _transaction(rows, names, base),
                                    lambda taken, starts: _batch(taken, starts, names, base))  # fmt: skip
        return not_carried(ledger, dropped)


def _transaction(rows: list[dict[str, Any]], names: dict[str, str], base: str) -> tuple[str, int]:
    first = rows[0]
    tags = " #opening" if any(r["opening"] for r in rows) else ""
    out = [f"{first['date'].isoformat()} * {string(one_line(first['description']))}{tags}"]
    for key in ("doc", "entry", "journal"):
        if first[key]:
            out.append(f"  {key}: {string(first[key])}")
    dropped = 0
    for row in rows:
        amount = f"{format_cents(row['amount'])} {base}"
        currency = currency_code(row["currency"]) if row["currency"] else ""
        if foreign(row, base):
            amount = f"{format_cents(row['amount_currency'])} {currency} @@ {format_cents(abs(row['amount']))} {base}"
        elif currency and currency != base and row["amount_currency"] is not None:
            dropped += 1
        out.append(f"  {names[row['account']]}  {amount}")
        meta = []
        if row["date"] != first["date"]:
            meta.append(f"date: {row['date'].isoformat()}")
        for key in ("vat_code", "partner", "cost_centre"):
            if row[key]:
                meta.append(f"{key.replace('_code', '')}: {string(row[key])}")
        if row["vat_amount"] is not None:
            meta.append(f"vat_amount: {format_cents(row['vat_amount'])} {base}")
        if row["vat_line"]:
            meta.append("vat_line: TRUE")
        if row["description"] != first["description"] and row["description"]:
            meta.append(f"text: {string(one_line(row['description']))}")
        out.extend(f"    {m}" for m in meta)
    return "\n".join(out) + "\n", dropped


def _strings(values: Any) -> pa.Array:
    """`string` of each value."""
    text = pc.replace_substring(pc.replace_substring(columns.texts(values), "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', text, '"', "")


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _batch(lines: pa.Table, starts: np.ndarray, names: dict[str, str], base: str) -> tuple[str, int]:
    """What `_transaction` writes for each entry of `lines` (in entry order, entry k starting at
    ``starts[k]``), a column at a time, and the foreign amounts it could not write."""
    size = lines.num_rows
    firsts = pa.array(np.repeat(starts, np.diff(np.r_[starts, size])))
    col = {name: lines.column(name).combine_chunks() for name in lines.column_names}
    amount, units, raw = col["amount"], col["amount_currency"], col["currency"]
    encoded = raw.dictionary_encode()
    coded = pc.take(pa.array([currency_code(c) if c else "" for c in encoded.dictionary.to_pylist()], pa.string()),
                    encoded.indices)  # fmt: skip
    amount_np = amount.to_numpy(zero_copy_only=False)
    units_np = pc.fill_null(units, 0).to_numpy(zero_copy_only=False)
    valid = units.is_valid().to_numpy(zero_copy_only=False)
    same_sign = np.where(units_np == 0, amount_np == 0, ((amount_np > 0) == (units_np > 0)) & (amount_np != 0))
    is_foreign = (pc.not_equal(raw, "").to_numpy(zero_copy_only=False)
                  & pc.not_equal(raw, base).to_numpy(zero_copy_only=False) & valid & same_sign)  # fmt: skip
    others = pc.not_equal(coded, "").to_numpy(zero_copy_only=False) & pc.not_equal(coded, base).to_numpy(
        zero_copy_only=False) & valid  # fmt: skip
    dropped = int(np.count_nonzero(others & ~is_foreign))
    plain = _join(columns.cents_text(amount), f" {base}")
    priced = _join(columns.cents_text(units_np), " ", coded, " @@ ", columns.cents_text(np.abs(amount_np)), f" {base}")
    amounts = pc.if_else(pa.array(is_foreign), priced, plain)
    accounts = col["account"].dictionary_encode()
    account_names = pc.take(pa.array([names[c] for c in accounts.dictionary.to_pylist()], pa.string()),
                            accounts.indices)  # fmt: skip
    first_date, first_text = pc.take(col["date"], firsts), pc.take(col["description"], firsts)
    meta = "\n    "
    parts = [
        pc.if_else(pc.not_equal(col["date"], first_date), _join(f"{meta}date: ", col["date"].cast(pa.string())), ""),
        *(pc.if_else(pc.not_equal(col[key], ""), _join(f"{meta}{label}: ", _strings(col[key])), "")
          for key, label in (("vat_code", "vat"), ("partner", "partner"), ("cost_centre", "cost_centre"))),
        pc.if_else(col["vat_amount"].is_valid(),
                   _join(f"{meta}vat_amount: ", columns.cents_text(pc.fill_null(col["vat_amount"], 0)), f" {base}"), ""),
        pc.if_else(pc.fill_null(col["vat_line"], False), f"{meta}vat_line: TRUE", ""),
        pc.if_else(pc.and_(pc.not_equal(col["description"], first_text), pc.not_equal(col["description"], "")),
                   _join(f"{meta}text: ", _strings(columns.one_line(col["description"]))), ""),
    ]  # fmt: skip
    postings = _join("  ", account_names, "  ", amounts, *parts).to_pylist()
    heads = _heads(lines.take(pa.array(starts)), np.maximum.reduceat(
        pc.fill_null(col["opening"], False).to_numpy(zero_copy_only=False), starts) if size else [])  # fmt: skip
    texts = []
    for head, start, end in zip(heads, starts.tolist(), [*starts.tolist()[1:], size], strict=True):
        texts.append("\n" + head + "\n" + "\n".join(postings[start:end]) + "\n")
    return "".join(texts), dropped


def _heads(first: pa.Table, opening: Any) -> list[str]:
    """Each entry's head: date, flag, text, the opening tag, then doc, entry and journal metadata."""
    head = _join(first.column("date").combine_chunks().cast(pa.string()), " * ",
                 _strings(columns.one_line(first.column("description"))),
                 pc.if_else(pa.array(np.asarray(opening, dtype=bool)), " #opening", ""))  # fmt: skip
    for key in ("doc", "entry", "journal"):
        values = first.column(key).combine_chunks()
        head = _join(head, pc.if_else(pc.not_equal(values, ""), _join(f"\n  {key}: ", _strings(values)), ""))
    return head.to_pylist()


FORMAT = BeancountWriter
