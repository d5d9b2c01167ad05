"""Winbiz journal rows → canonical lines and the VAT codes they use, whole columns at a time.

A Winbiz journal row books one amount from ``cpt_débit`` to ``cpt_crédit``; rows with the same
``numéro`` form one entry (FORMATS.md, from OCA l10n_ch_import_winbiz). Rules applied here:

* A compound entry has a header row whose debit or credit account is the word ``Multiple``; its
  other account is the side common to every line, and it carries no amount. Each line row books
  its own account against that common account. The entry becomes one line per line row plus one
  line for the common account with the total (dated and described like the header).
* A plain entry of several rows (an amount and its VAT row) whose rows all share the same account
  on one side is folded the same way: one line for that account, one per other account.
* ``ecr_tvatyp`` 2 (sales VAT) and 3 (input VAT) mark a base row: the line on its ``ecr_tvadc``
  side (d/c) is the base and carries the VAT code and ``ecr_tvamnt``. ``ecr_tvatyp`` −1 marks the
  row that books the VAT itself: its line on that side is kept as a VAT line (``vat_line``) with
  the code of the base row it follows. VAT is never recomputed.
* VAT codes are derived from type, rate and ``ecr_tvabn`` (2 VAT included, 1 excluded): ``V``
  sales, ``M`` input VAT on material and services, ``I`` input VAT booked to account 1171
  (investments, Swiss SME chart), ``X`` exempt (import ``TVA_typ`` 4); then the rate without its
  point, and ``G`` when VAT was included (gross): ``V77``, ``M81``, ``M65G``.
* Journal ``o`` marks opening balances; ``ecr_monnai``/``ecr_cours``/``ecr_monmnt`` are the
  currency, rate and foreign amount (``0`` or empty currency means the base currency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from migrator.errors import SourceError
from migrator.model import Problem, conform
from migrator.readers.winbiz.raw import Raw

REQUIRED = ("date", "montant", "cpt_debit", "cpt_credit")
USED = {
    "multiple", "numero", "date", "piece", "libelle", "cpt_debit", "cpt_credit", "montant", "journal",
    "ecr_monnai", "ecr_cours", "ecr_monmnt", "ecr_tvatyp", "ecr_tvatx", "ecr_tvamnt", "ecr_tvabn", "ecr_tvadc",
}  # fmt: skip
KIND_LETTERS = {"sales": "V", "input_material": "M", "input_investment": "I", "exempt": "X"}
INVESTMENT_VAT_ACCOUNT = "1171"
"""Swiss SME chart: input VAT on investments and other operating costs (1170 is material and services)."""
DEBIT, CREDIT = 1, 2


@dataclass
class Journal:
    lines: pa.Table
    vat_codes: list[dict[str, str]]
    extras: pa.Table | None


def check_fields(raw: Raw) -> None:
    missing = [name for name in REQUIRED if name not in raw.columns]
    if missing:
        expected = ", ".join(missing)
        raise SourceError(f"not a Winbiz journal: the field(s) {expected} are missing", raw.file)


def read(raw: Raw, keys: pa.Array, prefix: str = "", base_currency: str = "CHF") -> Journal:
    """Lines of journal `raw`; `keys` holds each row's entry key (``numéro`` or a computed group)."""
    check_fields(raw)
    n = raw.size
    bad = np.zeros(n, dtype=bool)
    date = raw.dates("date", bad)
    amount = raw.cents("montant", bad)
    debit, credit = raw.text("cpt_debit"), raw.text("cpt_credit")
    deb_multi = pc.equal(pc.utf8_lower(debit), "multiple").to_numpy(zero_copy_only=False)
    cred_multi = pc.equal(pc.utf8_lower(credit), "multiple").to_numpy(zero_copy_only=False)
    header = deb_multi | cred_multi
    no_account = pc.and_(pc.equal(debit, ""), pc.equal(credit, "")).to_numpy(zero_copy_only=False)
    raw.error(no_account & ~header, "cpt_debit", "the row has neither a debit nor a credit account", bad)
    no_amount = pc.is_null(amount).to_numpy(zero_copy_only=False) & ~header
    raw.error(no_amount, "montant", "is empty", bad)
    tvatyp = raw.integers(raw.first("ecr_tvatyp"), bad)
    tvabn = raw.integers(raw.first("ecr_tvabn"), bad)
    tvamnt = raw.cents(raw.first("ecr_tvamnt"), bad)
    tvatx = raw.rates(raw.first("ecr_tvatx"), bad)
    used = set(USED)
    if "ecr_monnai" in raw.columns:
        fx_amount = raw.cents(raw.first("ecr_monmnt"), bad)
        fx_rate = raw.rates(raw.first("ecr_cours"), bad)
    else:  # the import CSV names no currency: its rate and foreign amount stay in the extras
        used -= {"ecr_cours", "ecr_monmnt"}
        fx_amount, fx_rate = pa.nulls(n, pa.int64()), pa.array([""] * n, pa.string())
        _note_foreign(raw)
    currency = raw.text(raw.first("ecr_monnai"))
    is_base_currency = pc.is_in(currency, pa.array(["", "0", base_currency]))
    currency = pc.if_else(is_base_currency, "", pc.utf8_upper(currency))
    fx_amount = pc.if_else(is_base_currency, pa.scalar(None, pa.int64()), fx_amount)
    fx_rate = pc.if_else(is_base_currency, "", fx_rate)
    amount_np = amount.fill_null(0).to_numpy(zero_copy_only=False)
    nonzero_header = header & (amount_np != 0)
    for index in np.flatnonzero(nonzero_header)[:20]:
        raw.problems.append(Problem("warning", "the 'Multiple' header row carries an amount; the amounts of its lines "
                                    "were booked and the header's ignored", raw.file, int(raw.rows[index])))  # fmt: skip

    good = ~bad
    take = pa.array(np.flatnonzero(good)) if bad.any() else None

    def pick(column: pa.Array) -> pa.Array:
        return column if take is None else pc.take(column, take)

    rows = raw.rows[good]
    cols = {
        "key": pick(keys), "date": pick(date), "doc": pick(raw.text(raw.first("piece"))),
        "description": pick(raw.text(raw.first("libelle"))),
        "journal": pick(raw.text(raw.first("journal"))), "currency": pick(currency),
        "fx_rate": pick(fx_rate), "fx_amount": pick(fx_amount),
    }  # fmt: skip
    debit, credit = pick(debit), pick(credit)
    amount_np, header = amount_np[good], header[good]
    deb_multi, cred_multi = deb_multi[good], cred_multi[good]
    tvatyp, tvabn = tvatyp[good], tvabn[good]
    tvamnt_np = tvamnt.fill_null(0).to_numpy(zero_copy_only=False)[good]
    tvatx = pick(tvatx)
    tvadc = pick(pc.utf8_lower(raw.text(raw.first("ecr_tvadc")))).to_numpy(zero_copy_only=False)
    size = len(rows)

    entry = cols["key"].dictionary_encode()
    e = entry.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    m = len(entry.dictionary)
    ids = pa.concat_arrays([debit, credit]).dictionary_encode()
    all_ids = ids.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    debit_id, credit_id = all_ids[:size], all_ids[size:]
    empty_matches = np.flatnonzero(np.array(ids.dictionary.to_pylist(), dtype=object) == "")
    empty_id = int(empty_matches[0]) if len(empty_matches) else -1

    # the side common to every line of an entry: from the header, else the one all rows share
    body = ~header
    is_base = body & np.isin(tvatyp, (2, 3, 4))
    base_side = np.where(tvadc == "d", DEBIT, np.where(tvadc == "c", CREDIT, np.where(tvatyp == 3, DEBIT, CREDIT)))
    count = _per_entry(e[body], m, np.ones(int(body.sum()), dtype=np.int64), "sum", 0)
    d_low, d_high = (_per_entry(e[body], m, debit_id[body], how, -1) for how in ("min", "max"))
    c_low, c_high = (_per_entry(e[body], m, credit_id[body], how, -1) for how in ("min", "max"))
    vat_debit = _per_entry(e[is_base], m, (base_side[is_base] == DEBIT).astype(np.int64), "max", 0)
    d_same = (count >= 2) & (d_low == d_high) & (d_low != empty_id)
    c_same = (count >= 2) & (c_low == c_high) & (c_low != empty_id)
    side = np.where(d_same & ~(c_same & (vat_debit > 0)), DEBIT, np.where(c_same, CREDIT, 0))
    common = np.where(side == DEBIT, d_low, c_low)
    header_row = np.full(m, -1, dtype=np.int64)
    h = np.flatnonzero(header & (deb_multi != cred_multi))
    side[e[h]] = np.where(cred_multi[h], DEBIT, CREDIT)
    common[e[h]] = np.where(cred_multi[h], debit_id[h], credit_id[h])
    header_row[e[h]] = h

    # VAT: link each VAT row (ecr_tvatyp -1) to the base row it follows in its entry
    is_vat = body & (tvatyp == -1)
    link = _link(e, is_base, is_vat)
    codes, vat_codes = _codes(is_base, is_vat, link, base_side, tvatyp, tvabn, tvatx, debit, credit,
                              debit_id, credit_id, side[e], common[e], empty_id)  # fmt: skip

    vat_side = _vat_side(is_vat, link, base_side, side[e], debit_id, credit_id, empty_id)
    pieces = []
    for this, account, account_id in ((DEBIT, debit, debit_id), (CREDIT, credit, credit_id)):
        sign = 1 if this == DEBIT else -1
        present = body & (account_id != empty_id)
        folded = present & (side[e] == this) & (common[e] == account_id)
        own = np.flatnonzero(present & ~folded)
        vat_here = is_vat & (vat_side == this)
        base_here = is_base & (base_side == this)
        code = np.where(vat_here | base_here, codes, "")
        pieces.append(_lines(own, cols, account, sign * amount_np, sign, code,
                             np.where(base_here, sign * tvamnt_np, 0), base_here, vat_here, e, rows))  # fmt: skip
        fold = np.flatnonzero(folded)
        if len(fold):
            pieces.append(_folded(fold, cols, account, sign * amount_np, sign, e, rows, header_row))
    lines = pa.concat_tables(pieces).sort_by([("e", "ascending"), ("order", "ascending"), ("side", "ascending")])
    e_sorted = lines.column("e").to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(e_sorted)) + 1] if len(e_sorted) else np.zeros(0, dtype=np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, len(e_sorted)]))
    number = (np.arange(len(e_sorted)) - first + 1).astype(np.int32)
    opening = pc.equal(pc.utf8_lower(lines.column("journal")), "o")
    entry_id = lines.column("key") if not prefix else pc.binary_join_element_wise(prefix, lines.column("key"), "")
    table = conform("lines", {
        "entry": entry_id, "line": pa.array(number), "date": lines.column("date"), "doc": lines.column("doc"),
        "description": lines.column("description"), "account": lines.column("account"),
        "amount": lines.column("amount"), "currency": lines.column("currency"),
        "amount_currency": lines.column("amount_currency"), "rate": lines.column("rate"),
        "vat_code": lines.column("vat_code"), "vat_amount": lines.column("vat_amount"),
        "vat_line": lines.column("vat_line"), "journal": lines.column("journal"), "opening": opening,
        "source_file": pa.array([raw.file] * lines.num_rows, pa.string()), "source_row": lines.column("source_row"),
    })  # fmt: skip
    return Journal(table, vat_codes, raw.extras(used))


def _note_foreign(raw: Raw) -> None:
    foreign = pc.invert(pc.is_in(raw.text(raw.first("ecr_monmnt")), pa.array(["", "0", "0.00"])))
    count = pc.sum(foreign).as_py() or 0
    if count:
        raw.problems.append(Problem("info", f"{count} rows have a foreign amount and rate (ME_mnt, ME_cours) but the "
                                    "file names no currency: kept aside in the extras", raw.file))  # fmt: skip


def _per_entry(e: np.ndarray, m: int, values: np.ndarray, how: str, fill: int) -> np.ndarray:
    """`how` (sum, min, max) of `values` per entry index `e`; `fill` for entries without values."""
    if how == "sum":
        return np.bincount(e, weights=values, minlength=m).astype(np.int64) if len(e) else np.full(m, fill)
    out = np.full(m, np.iinfo(np.int64).max if how == "min" else np.iinfo(np.int64).min, dtype=np.int64)
    (np.minimum if how == "min" else np.maximum).at(out, e, values.astype(np.int64))
    seen = np.bincount(e, minlength=m) > 0 if len(e) else np.zeros(m, dtype=bool)
    return np.where(seen, out, fill)


def _link(e: np.ndarray, is_base: np.ndarray, is_vat: np.ndarray) -> np.ndarray:
    """For each VAT row the index of the base row before it in its entry (else the one after; else -1)."""
    n = len(e)
    link = np.full(n, -1, dtype=np.int64)
    if not is_vat.any():
        return link
    order = np.lexsort((np.arange(n), e))
    es, base = e[order], is_base[order]
    marks = np.where(base, np.arange(n), -1)
    before = np.maximum.accumulate(marks)
    after = np.minimum.accumulate(np.where(base, np.arange(n), n)[::-1])[::-1]
    ok_before = (before >= 0) & (es[np.clip(before, 0, n - 1)] == es)
    ok_after = (after < n) & (es[np.clip(after, 0, n - 1)] == es)
    chosen = np.where(ok_before, before, np.where(ok_after, after, -1))
    mapped = np.where(chosen >= 0, order[np.clip(chosen, 0, n - 1)], -1)
    link[order] = mapped
    return np.where(is_vat, link, -1)


def _vat_side(is_vat: np.ndarray, link: np.ndarray, base_side: np.ndarray, common_side: np.ndarray,
              debit_id: np.ndarray, credit_id: np.ndarray, empty_id: int) -> np.ndarray:  # fmt: skip
    """The side of each VAT row that books the VAT: its base row's side, else its side that is not
    the entry's common side, else the side it has."""
    linked = np.where(link >= 0, base_side[np.clip(link, 0, None)], 0)
    other = np.where(common_side == DEBIT, CREDIT, np.where(common_side == CREDIT, DEBIT, 0))
    only = np.where(debit_id == empty_id, CREDIT, np.where(credit_id == empty_id, DEBIT, 0))
    fallback = np.where(only > 0, only, np.where(other > 0, other, DEBIT))
    chosen = np.where(linked > 0, linked, fallback)
    has = np.where(chosen == DEBIT, debit_id != empty_id, credit_id != empty_id)
    return np.where(is_vat & has, chosen, np.where(is_vat, fallback, 0))


def _codes(is_base, is_vat, link, base_side, tvatyp, tvabn, tvatx, debit, credit, debit_id, credit_id,
           common_side, common, empty_id):  # type: ignore[no-untyped-def]  # fmt: skip
    """VAT code of every base row and of every VAT row (the code of its base row), and the codes' table."""
    n = len(is_base)
    vat_side = _vat_side(is_vat, link, base_side, common_side, debit_id, credit_id, empty_id)
    vat_rows = np.flatnonzero(is_vat)
    vat_account = np.full(n, "", dtype=object)
    if len(vat_rows):
        accounts = np.where(vat_side[vat_rows] == DEBIT, pc.take(debit, pa.array(vat_rows)).to_numpy(zero_copy_only=False),
                            pc.take(credit, pa.array(vat_rows)).to_numpy(zero_copy_only=False))  # fmt: skip
        linked = link[vat_rows] >= 0
        vat_account[link[vat_rows][linked][::-1]] = accounts[linked][::-1]
    codes = np.full(n, "", dtype=object)
    table: dict[str, dict[str, str]] = {}
    base_rows = np.flatnonzero(is_base)
    rates = pc.take(tvatx, pa.array(base_rows)).to_pylist() if len(base_rows) else []
    for index, rate in zip(base_rows.tolist(), rates, strict=True):
        kind = {2: "sales", 3: "input_material", 4: "exempt"}[int(tvatyp[index])]
        account = str(vat_account[index])
        if kind == "input_material" and account.startswith(INVESTMENT_VAT_ACCOUNT):
            kind = "input_investment"
        rate = rate or "0"
        gross = int(tvabn[index]) == 2
        code = f"{KIND_LETTERS[kind]}{rate.replace('.', '')}{'G' if gross else ''}"
        codes[index] = code
        known = table.setdefault(code, {"code": code, "rate": rate, "kind": kind,
                                        "method": "gross" if gross else "net", "account": account})  # fmt: skip
        if not known["account"] and account:
            known["account"] = account
    linked_vat = vat_rows[link[vat_rows] >= 0] if len(vat_rows) else vat_rows
    codes[linked_vat] = codes[link[linked_vat]]
    return codes, list(table.values())


def _lines(index, cols, account, amount, sign, code, vat_amount, base_here, vat_here, e, rows):  # type: ignore[no-untyped-def]
    take = pa.array(index, pa.int64())
    fx = pc.take(cols["fx_amount"], take)
    return pa.table({
        "e": pa.array(e[index]), "order": pa.array(index.astype(np.int64)),
        "side": pa.array(np.full(len(index), 0 if sign > 0 else 1, dtype=np.int64)),
        "key": pc.take(cols["key"], take), "date": pc.take(cols["date"], take), "doc": pc.take(cols["doc"], take),
        "description": pc.take(cols["description"], take), "account": pc.take(account, take),
        "amount": pa.array(amount[index], pa.int64()), "currency": pc.take(cols["currency"], take),
        "amount_currency": pc.multiply(fx, sign), "rate": pc.take(cols["fx_rate"], take),
        "vat_code": pa.array(code[index].tolist(), pa.string()),
        "vat_amount": pa.array(vat_amount[index], pa.int64(), mask=~base_here[index]),
        "vat_line": pa.array(vat_here[index]), "journal": pc.take(cols["journal"], take),
        "source_row": pa.array(rows[index], pa.int64()),
    })  # fmt: skip


def _folded(index, cols, account, amount, sign, e, rows, header_row):  # type: ignore[no-untyped-def]
    """One line per entry for the rows of `index` that book the entry's common account."""
    part = pa.table({"e": pa.array(e[index]), "i": pa.array(index.astype(np.int64)),
                     "amount": pa.array(amount[index], pa.int64()),
                     "fx": pc.multiply(pc.take(cols["fx_amount"], pa.array(index)), sign)})  # fmt: skip
    grouped = part.group_by("e", use_threads=False).aggregate([("i", "min"), ("amount", "sum"), ("fx", "sum")])
    entries = grouped.column("e").to_numpy()
    first = grouped.column("i_min").to_numpy()
    heads = header_row[entries]
    source = np.where(heads >= 0, heads, first)
    take = pa.array(source)
    return pa.table({
        "e": pa.array(entries), "order": pa.array(np.full(len(entries), -1, dtype=np.int64)),
        "side": pa.array(np.full(len(entries), 0 if sign > 0 else 1, dtype=np.int64)),
        "key": pc.take(cols["key"], take), "date": pc.take(cols["date"], take), "doc": pc.take(cols["doc"], take),
        "description": pc.take(cols["description"], take), "account": pc.take(account, pa.array(first)),
        "amount": grouped.column("amount_sum"), "currency": pc.take(cols["currency"], pa.array(first)),
        "amount_currency": grouped.column("fx_sum"), "rate": pc.take(cols["fx_rate"], pa.array(first)),
        "vat_code": pa.array([""] * len(entries), pa.string()),
        "vat_amount": pa.nulls(len(entries), pa.int64()), "vat_line": pa.array(np.zeros(len(entries), dtype=bool)),
        "journal": pc.take(cols["journal"], take), "source_row": pa.array(rows[source], pa.int64()),
    })  # fmt: skip
