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
from migrator.i18n import N_
from migrator.model import Problem, conform
from migrator.readers.winbiz.raw import Raw

REQUIRED = ("date", "montant", "cpt_debit", "cpt_credit")
USED = {
    "multiple", "numero", "date", "piece", "libelle", "cpt_debit", "cpt_credit", "montant", "journal",
    "ecr_monnai", "ecr_cours", "ecr_monmnt", "ecr_tvatyp", "ecr_tvatx", "ecr_tvamnt", "ecr_tvabn", "ecr_tvadc",
}  # fmt: skip
KIND_LETTERS = {"sales": "V", "input_material": "M", "input_investment": "I", "exempt": "X"}
KINDS = ("sales", "input_material", "input_investment", "exempt")
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
        raise SourceError(
            N_("not a Winbiz journal: the field(s) {expected} are missing").format(expected=expected), raw.file
        )


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
    raw.error(no_account & ~header, "cpt_debit", N_("the row has neither a debit nor a credit account"), bad)
    no_amount = pc.is_null(amount).to_numpy(zero_copy_only=False) & ~header
    raw.error(no_amount, "montant", N_("is empty"), bad)
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
        raw.problems.append(Problem("warning", N_("the 'Multiple' header row carries an amount; the amounts of its lines "
                                    "were booked and the header's ignored"), raw.file, int(raw.rows[index])))  # fmt: skip

    good = np.flatnonzero(~bad) if bad.any() else None
    take = None if good is None else pa.array(good)

    def pick(column: pa.Array) -> pa.Array:
        return column if take is None else pc.take(column, take)

    def keep(values: np.ndarray) -> np.ndarray:
        return values if good is None else values[good]

    rows = keep(raw.rows)
    cols = {
        "key": pick(keys), "date": pick(date), "doc": pick(raw.text(raw.first("piece"))),
        "description": pick(raw.text(raw.first("libelle"))),
        "journal": pick(raw.text(raw.first("journal"))), "currency": pick(currency),
        "fx_rate": pick(fx_rate), "fx_amount": pick(fx_amount),
    }  # fmt: skip
    debit, credit = pick(debit), pick(credit)
    amount_np, header = keep(amount_np), keep(header)
    deb_multi, cred_multi = keep(deb_multi), keep(cred_multi)
    tvatyp, tvabn = keep(tvatyp), keep(tvabn)
    tvamnt_np = keep(tvamnt.fill_null(0).to_numpy(zero_copy_only=False))
    tvatx = pick(tvatx)
    tvadc = pick(pc.utf8_lower(raw.text(raw.first("ecr_tvadc"))))
    size = len(rows)

    entry = cols["key"].dictionary_encode()
    e = entry.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    m = len(entry.dictionary)
    ids = pa.concat_arrays([debit, credit]).dictionary_encode()
    all_ids = ids.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    debit_id, credit_id = all_ids[:size], all_ids[size:]
    empty_matches = np.flatnonzero(pc.equal(ids.dictionary, "").to_numpy(zero_copy_only=False))
    empty_id = int(empty_matches[0]) if len(empty_matches) else -1

    # the side common to every line of an entry: from the header, else the one all rows share
    body = ~header
    is_base = body & np.isin(tvatyp, (2, 3, 4))
    on_debit = pc.equal(tvadc, "d").to_numpy(zero_copy_only=False)
    on_credit = pc.equal(tvadc, "c").to_numpy(zero_copy_only=False)
    base_side = np.where(on_debit, DEBIT, np.where(on_credit, CREDIT, np.where(tvatyp == 3, DEBIT, CREDIT)))
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
    side_e, common_e = side[e], common[e]
    vat_side = _vat_side(is_vat, link, base_side, side_e, debit_id, credit_id, empty_id)
    codes, code_names, vat_codes = _codes(is_base, is_vat, link, vat_side, tvatyp, tvabn, tvatx, ids.dictionary,
                                          debit_id, credit_id)  # fmt: skip

    # the lines, as journal rows: each row's own accounts, and per entry and side one line for the
    # common account (`first` gives its account, currency and rate; `row` its date and texts)
    fx = cols["fx_amount"]
    fx_np = fx.fill_null(0).to_numpy(zero_copy_only=False)
    fx_valid = fx.is_valid().to_numpy(zero_copy_only=False)
    parts = []
    for this, account_id in ((DEBIT, debit_id), (CREDIT, credit_id)):
        present = body & (account_id != empty_id)
        folded = present & (side_e == this) & (common_e == account_id)
        own = np.flatnonzero(present & ~folded)
        parts.append(_Part(this, True, own, own, amount_np[own], fx_np[own], fx_valid[own]))
        fold = np.flatnonzero(folded)
        if len(fold):
            parts.append(_folded(fold, e, this, amount_np, fx_np, fx_valid, header_row))
    row = np.concatenate([p.row for p in parts])
    line_side = np.concatenate([np.full(len(p.row), p.side, dtype=np.int8) for p in parts])
    own_line = np.concatenate([np.full(len(p.row), p.own) for p in parts])
    # sorted by entry, then the common account's line before the rows' lines, in row order, debit first
    key = e[row] * (2 * size + 2) + np.where(own_line, row + 1, 0) * 2 + (line_side == CREDIT)
    order = np.argsort(key, kind="stable")
    del key
    row, line_side, own_line = row[order], line_side[order], own_line[order]
    first = np.concatenate([p.first for p in parts])[order]
    sign = np.where(line_side == DEBIT, 1, -1)
    amount_line = sign * np.concatenate([p.amount for p in parts])[order]
    fx_line = sign * np.concatenate([p.fx for p in parts])[order]
    fx_line_valid = np.concatenate([p.fx_valid for p in parts])[order]
    del parts, order, fx_np, amount_np, side_e, common_e, link  # memory: the table below is built next
    account_line = np.where(line_side == DEBIT, debit_id[first], credit_id[first])
    vat_line = own_line & is_vat[row] & (vat_side[row] == line_side)
    base_line = own_line & is_base[row] & (base_side[row] == line_side)
    e_sorted = e[row]
    starts = np.r_[0, np.flatnonzero(np.diff(e_sorted)) + 1] if len(e_sorted) else np.zeros(0, dtype=np.int64)
    line_first = np.repeat(starts, np.diff(np.r_[starts, len(e_sorted)]))
    number = (np.arange(len(e_sorted)) - line_first + 1).astype(np.int32)
    journal_text = cols["journal"]
    opening = pc.equal(pc.utf8_lower(journal_text), "o").to_numpy(zero_copy_only=False)
    entry_ids = entry.dictionary if not prefix else pc.binary_join_element_wise(prefix, entry.dictionary, "")
    taken = pa.array(row)
    from_first = pa.array(first)
    table = conform("lines", {
        "entry": pc.take(entry_ids, pa.array(e_sorted)), "line": pa.array(number),
        "date": pc.take(cols["date"], taken), "doc": pc.take(cols["doc"], taken),
        "description": pc.take(cols["description"], taken),
        "account": pc.take(ids.dictionary, pa.array(account_line)), "amount": pa.array(amount_line),
        "currency": pc.take(cols["currency"], from_first),
        "amount_currency": pa.array(fx_line, pa.int64(), mask=~fx_line_valid),
        "rate": pc.take(cols["fx_rate"], from_first),
        "vat_code": pc.take(code_names, pa.array(np.where(vat_line | base_line, codes[row], 0))),
        "vat_amount": pa.array(sign * tvamnt_np[row], pa.int64(), mask=~base_line),
        "vat_line": pa.array(vat_line), "partner": pa.repeat("", len(row)), "cost_centre": pa.repeat("", len(row)),
        "journal": pc.take(journal_text, taken),
        "opening": pa.array(opening[row]), "source_file": pa.repeat(raw.file, len(row)),
        "source_row": pa.array(rows[row], pa.int64()),
    })  # fmt: skip
    return Journal(table, vat_codes, raw.extras(used))


def _note_foreign(raw: Raw) -> None:
    foreign = pc.invert(pc.is_in(raw.text(raw.first("ecr_monmnt")), pa.array(["", "0", "0.00"])))
    count = pc.sum(foreign).as_py() or 0
    if count:
        raw.problems.append(Problem("info", N_("{count} rows have a foreign amount and rate (ME_mnt, ME_cours) but the file names no currency: kept aside in the extras").format(count=count), raw.file))  # fmt: skip


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
    if not is_vat.any():
        return np.full(n, -1, dtype=np.int64)
    order = None if not (np.diff(e) < 0).any() else np.argsort(e, kind="stable")  # rows are usually in entry order
    es, base = (e, is_base) if order is None else (e[order], is_base[order])
    position = np.arange(n)
    before = np.maximum.accumulate(np.where(base, position, -1))
    after = np.minimum.accumulate(np.where(base, position, n)[::-1])[::-1]
    ok_before = (before >= 0) & (es[np.clip(before, 0, n - 1)] == es)
    ok_after = (after < n) & (es[np.clip(after, 0, n - 1)] == es)
    link = np.where(ok_before, before, np.where(ok_after, after, -1))
    if order is not None:
        link[order] = np.where(link >= 0, order[np.clip(link, 0, n - 1)], -1)
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


def _codes(is_base, is_vat, link, vat_side, tvatyp, tvabn, tvatx, accounts, debit_id, credit_id):  # type: ignore[no-untyped-def]  # fmt: skip
    """VAT code of every base row and of every VAT row (the code of its base row) as an index into
    the names returned (0: no code), and the codes' table, in order of first use."""
    n = len(is_base)
    codes = np.zeros(n, dtype=np.int64)
    base_rows = np.flatnonzero(is_base)
    if not len(base_rows):
        return codes, pa.array([""], pa.string()), []
    names = [*accounts.to_pylist(), ""]  # account names by id, then "no account"
    # a base row's VAT account: the account booking the VAT in the first VAT row linked to it
    vat_rows = np.flatnonzero(is_vat & (link >= 0))
    booked = np.where(vat_side[vat_rows] == DEBIT, debit_id[vat_rows], credit_id[vat_rows])
    targets, first_vat = np.unique(link[vat_rows], return_index=True)
    vat_account = np.full(n, len(names) - 1, dtype=np.int64)
    vat_account[targets] = booked[first_vat]
    account = vat_account[base_rows]
    investment = np.array([a.startswith(INVESTMENT_VAT_ACCOUNT) for a in names])[account]
    kind = np.select([tvatyp[base_rows] == 2, tvatyp[base_rows] == 3], [0, 1], 3)
    kind = np.where((kind == 1) & investment, 2, kind)
    rates = pc.take(tvatx, pa.array(base_rows)).dictionary_encode()
    rate_names = [r or "0" for r in rates.dictionary.to_pylist()]
    rate = rates.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    gross = tvabn[base_rows] == 2
    # the code of each distinct (kind, rate, gross), spelled once; rows spelled alike share a code
    combos, combo_of_row = np.unique((kind * len(rate_names) + rate) * 2 + gross, return_inverse=True)
    spelled: dict[str, int] = {}
    label_of_combo = []
    for combo in combos.tolist():
        k, r, g = combo // 2 // len(rate_names), combo // 2 % len(rate_names), combo % 2
        text = f"{KIND_LETTERS[KINDS[k]]}{rate_names[r].replace('.', '')}{'G' if g else ''}"
        label_of_combo.append(spelled.setdefault(text, len(spelled)))
    label = np.array(label_of_combo, dtype=np.int64)[combo_of_row]
    # each code as its first row describes it, with the first VAT account any of its rows names
    _, first_use = np.unique(label, return_index=True)
    with_account = np.flatnonzero(np.array([a != "" for a in names])[account])
    labelled, first_account = np.unique(label[with_account], return_index=True)
    account_of = dict(zip(labelled.tolist(), account[with_account][first_account].tolist(), strict=True))
    by_use = np.argsort(first_use)
    spellings = list(spelled)
    table = []
    for j in by_use.tolist():
        p = first_use[j]
        table.append({"code": spellings[j], "rate": rate_names[rate[p]], "kind": KINDS[kind[p]],
                      "method": "gross" if gross[p] else "net", "account": names[account_of.get(j, -1)]})  # fmt: skip
    rank = np.empty(len(by_use), dtype=np.int64)
    rank[by_use] = np.arange(1, len(by_use) + 1)
    codes[base_rows] = rank[label]
    codes[vat_rows] = codes[link[vat_rows]]
    return codes, pa.array(["", *(t["code"] for t in table)], pa.string()), table


@dataclass
class _Part:
    """Lines of one side as journal rows, before sorting: `row` gives a line's date, texts, journal and
    source row, `first` its account, currency and rate; `own` lines book a row's own account."""

    side: int
    own: bool
    row: np.ndarray
    first: np.ndarray
    amount: np.ndarray
    fx: np.ndarray
    fx_valid: np.ndarray


def _folded(fold: np.ndarray, e: np.ndarray, side: int, amount: np.ndarray, fx: np.ndarray, fx_valid: np.ndarray,
            header_row: np.ndarray) -> _Part:  # fmt: skip
    """One line per entry for the rows of `fold` that book the entry's common account: amounts summed,
    dated and described like the entry's header row, else like the first of those rows."""
    by_entry = fold[np.argsort(e[fold], kind="stable")]
    entries = e[by_entry]
    starts = np.r_[0, np.flatnonzero(np.diff(entries)) + 1]
    first = by_entry[starts]
    heads = header_row[entries[starts]]
    return _Part(side, False, np.where(heads >= 0, heads, first), first, np.add.reduceat(amount[by_entry], starts),
                 np.add.reduceat(fx[by_entry], starts), np.logical_or.reduceat(fx_valid[by_entry], starts))  # fmt: skip
