"""The reconciliation of a conversion, as data, written as JSON, HTML or Excel.

`report_data` gathers everything an accountant needs to sign off a conversion: files with sizes and
SHA-256, counts before and after, every account's balance before and after (and through which
mapping rule), VAT totals, totals per fiscal year and month, every problem and every item the
target could not carry, and a verdict. The renderers (`report_html`, `report_xlsx`) only lay out
these data; they compute nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.i18n import N_
from migrator.model import Ledger, years_of
from migrator.money import format_cents
from migrator.pipeline import Conversion, output_files
from migrator.reconcile import (
    FAILED,
    VERIFIED,
    YearSummary,
    _code_key,
    monthly_totals,
    trial_balance,
    vat_totals,
    year_balances,
    years,
)
from migrator.sources import sha256_file


def _mapping_differences(conversion: Conversion) -> list[str]:
    """Target accounts whose balance after is not the exact sum of their source accounts' balances."""
    if conversion.mapping is None:
        return []
    before = trial_balance(conversion.source)
    after = trial_balance(conversion.compared or conversion.written)
    expected: dict[str, int] = {}
    for code, rule in conversion.mapping.rules_for(before).items():
        expected[rule.target] = expected.get(rule.target, 0) + before[code]
    return [
        N_("target account {code}: sources sum to {expected}, balance after {after}").format(
            code=code, expected=format_cents(expected.get(code, 0)), after=format_cents(after.get(code, 0))
        )
        for code in sorted(set(expected) | set(after), key=_code_key)
        if expected.get(code, 0) != after.get(code, 0)
    ]


def verdict(conversion: Conversion) -> dict[str, Any]:
    """The verdict: ``verified``, ``verified with declared losses`` (listed) or ``failed``; or
    ``not verified`` when the target has no reader."""
    errors = [p for p in conversion.problems if p.severity == "error"]
    balanced = not any("does not balance" in p.message for p in errors)
    mapping = _mapping_differences(conversion)
    check = conversion.verification
    if check is None:
        state = NOT_VERIFIED
        status = N_("written, not verified (the target format has no reader)")
        ok = not errors and not mapping
    else:
        state = FAILED if mapping else check.verdict
        status = {VERIFIED: N_("balanced and verified"), FAILED: N_("differences found")}.get(state, state)
        if errors and state != FAILED:
            status = N_("{status}, with errors allowed by --allow-problems").format(status=status)
        ok = state != FAILED and not errors
    return {
        "state": state,
        "ok": ok,
        "status": status,
        "balanced": balanced,
        "verified": conversion.verified,
        "differences": (check.differences if check else []) + mapping,
        "losses": check.losses if check else [],
        "notes": check.notes if check else [],
        "entries": check.entries if check else [],
    }


NOT_VERIFIED = "not verified"


def input_fingerprint(ledger: Ledger) -> str:
    """One SHA-256 of the whole input set: over the sorted lines ``name<TAB>sha256`` of its files."""
    import hashlib

    lines = sorted(f"{f.path}\t{f.sha256}\n" for f in ledger.company.source_files)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _year_accounts(conversion: Conversion) -> list[dict[str, Any]]:
    """Per fiscal year and account: opening, debit, credit and closing before and after, side by
    side, with the difference and its reason (empty after when the output was not read back)."""
    source = conversion.written
    names = _names(source)
    check = conversion.verification
    if check is not None:
        rows = check.years
    else:
        spans = years_of(source)
        rows = []
        for (year, account), sums in sorted(year_balances(source, spans).items(),
                                            key=lambda i: (i[0][0], _code_key(i[0][1]))):  # fmt: skip
            values = dict(zip(("opening", "debit", "credit", "closing"), [*sums, sum(sums)], strict=True))
            rows.append({"start": spans[year].start.isoformat() if year >= 0 else "",
                         "end": spans[year].end.isoformat() if year >= 0 else "", "account": account,
                         "before": values, "after": None, "reason": ""})  # fmt: skip
    out = []
    for row in rows:
        before, after = row["before"], row["after"]
        item: dict[str, Any] = {"start": row["start"], "end": row["end"], "account": row["account"],
                                "name": names.get(row["account"], ""), "reason": row["reason"]}  # fmt: skip
        for column in ("opening", "debit", "credit", "closing"):
            item[column] = format_cents(before[column])
            item[f"{column}_after"] = format_cents(after[column]) if after is not None else ""
            item[f"{column}_difference"] = format_cents(after[column] - before[column]) if after is not None else ""
        out.append(item)
    return out


def _files(ledger: Ledger) -> list[dict[str, Any]]:
    return [{"path": f.path, "size": f.size, "sha256": f.sha256, "encoding": f.encoding}
            for f in ledger.company.source_files]  # fmt: skip


def _names(ledger: Ledger) -> dict[str, str]:
    return dict(
        zip(ledger.accounts.column("code").to_pylist(), ledger.accounts.column("name").to_pylist(), strict=True)
    )


def _accounts(conversion: Conversion) -> list[dict[str, Any]]:
    before = trial_balance(conversion.source)
    after = trial_balance(conversion.compared or conversion.written)
    names, target_names = _names(conversion.source), _names(conversion.written)
    rules = conversion.mapping.rules_for(before) if conversion.mapping is not None else {}
    rows = []
    for code, cents in before.items():
        rule = rules.get(code)
        target = rule.target if rule else code
        rows.append({
            "account": code,
            "name": names.get(code, ""),
            "balance": format_cents(cents),
            "rule": rule.describe() if rule else "",
            "target": target,
            "target_name": target_names.get(target, ""),
            "target_balance": format_cents(after.get(target, 0)),
        })  # fmt: skip
    return rows


def _target_accounts(conversion: Conversion) -> list[dict[str, Any]]:
    """Per target account: the source accounts carried onto it, their sum, and the balance after."""
    before = trial_balance(conversion.source)
    after = trial_balance(conversion.compared or conversion.written)
    rules = conversion.mapping.rules_for(before) if conversion.mapping is not None else {}
    sources: dict[str, list[str]] = {}
    for code in before:
        sources.setdefault(rules[code].target if code in rules else code, []).append(code)
    names = _names(conversion.written)
    rows = []
    for target in sorted(set(sources) | set(after), key=_code_key):
        expected = sum(before[c] for c in sources.get(target, []))
        rows.append({
            "account": target,
            "name": names.get(target, ""),
            "sources": sources.get(target, []),
            "expected": format_cents(expected),
            "balance": format_cents(after.get(target, 0)),
            "difference": format_cents(after.get(target, 0) - expected),
        })  # fmt: skip
    return rows


def _account_class(code: str) -> str:
    return code[0] if code[:1].isdigit() else "other"


def _classes(before: dict[str, int], after: dict[str, int]) -> list[dict[str, Any]]:
    sums: dict[str, list[int]] = {}
    for side, balances in enumerate((before, after)):
        for code, cents in balances.items():
            sums.setdefault(_account_class(code), [0, 0])[side] += cents
    return [{"class": c, "before": format_cents(b), "after": format_cents(a)}
            for c, (b, a) in sorted(sums.items(), key=lambda i: (i[0] == "other", i[0]))]  # fmt: skip


def _vat_rows(conversion: Conversion, source: Ledger, after: Ledger) -> list[dict[str, Any]]:
    """Per source VAT code: base and VAT before, and under its target code after (moved by the map, then
    translated for the target program: `Conversion.vat_codes`)."""
    moves: dict[str, str] = {}
    if conversion.mapping is not None and conversion.mapping.vat:
        for code in vat_totals(source):
            rule = conversion.mapping.vat.find(code)
            if rule is not None:
                moves[code] = rule.target_for(code)
    translated = conversion.vat_codes
    moves = {code: translated.get(moves.get(code, code), moves.get(code, code)) for code in vat_totals(source)}
    totals_before, totals_after = vat_totals(source), vat_totals(after)
    rows = []
    for code, sums in totals_before.items():
        target = moves.get(code, code)
        got = totals_after.get(target, {"base": 0, "vat": 0, "declared": 0})
        rows.append({
            "code": code, "base": format_cents(sums["base"]), "vat": format_cents(sums["vat"]),
            "target": target, "base_after": format_cents(got["base"]), "vat_after": format_cents(got["vat"]),
        })  # fmt: skip
    return rows


def _year(before: YearSummary, after: YearSummary | None) -> dict[str, Any]:
    return {
        "start": before.year.start.isoformat(),
        "end": before.year.end.isoformat(),
        "opening": format_cents(_positive(before.opening)),
        "movements": format_cents(_positive(before.movements)),
        "opening_after": format_cents(_positive(after.opening)) if after else "",
        "movements_after": format_cents(_positive(after.movements)) if after else "",
    }


def _positive(balances: dict[str, int]) -> int:
    return sum(v for v in balances.values() if v > 0)


def report_data(conversion: Conversion) -> dict[str, Any]:
    """The whole reconciliation as JSON-ready data."""
    source, written = conversion.source, conversion.written
    after = conversion.compared or written
    outputs = output_files(conversion.output)
    tb_before, tb_after = trial_balance(source), trial_balance(after)
    months_before, months_after = monthly_totals(source), monthly_totals(after)
    years_after = {(y.year.start, y.year.end): y for y in years(after)}
    company = source.company
    return {
        "migrator": __version__,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "company": company.name,
        "company_details": {
            "name": company.name,
            "vat_number": company.vat_number,
            "address": company.address,
            "base_currency": company.base_currency,
        },
        "mapping": conversion.mapping.name if conversion.mapping is not None else "",
        "verdict": verdict(conversion),
        "input_fingerprint": input_fingerprint(source),
        "source": {"format": source.format, "encoding": source.encoding, "files": _files(source)},
        "target": {
            "format": conversion.target_format,
            "files": [{"path": str(p), "size": p.stat().st_size, "sha256": sha256_file(p)} for p in outputs],
        },
        "counts": {"before": source.counts(), "after": after.counts()},
        "accounts": _accounts(conversion),
        "target_accounts": _target_accounts(conversion),
        "totals": {
            "before": format_cents(_positive(tb_before)),
            "after": format_cents(_positive(tb_after)),
            "before_credit": format_cents(_positive({k: -v for k, v in tb_before.items()})),
            "after_credit": format_cents(_positive({k: -v for k, v in tb_after.items()})),
            "balance_before": format_cents(sum(tb_before.values())),
            "balance_after": format_cents(sum(tb_after.values())),
        },
        "classes": _classes(tb_before, tb_after),
        "vat": {
            "before": {c: {k: format_cents(v) for k, v in t.items()} for c, t in vat_totals(source).items()},
            "after": {c: {k: format_cents(v) for k, v in t.items()} for c, t in vat_totals(after).items()},
        },
        "vat_rows": _vat_rows(conversion, source, after),
        "years": [_year(y, years_after.get((y.year.start, y.year.end))) for y in years(source)],
        "year_accounts": _year_accounts(conversion),
        "months": {
            m: {
                "lines": t["lines"],
                "debit": format_cents(t["debit"]),
                "lines_after": months_after.get(m, {}).get("lines", 0),
                "debit_after": format_cents(months_after.get(m, {}).get("debit", 0)),
            }
            for m, t in months_before.items()
        },
        "problems": [p.as_dict() for p in conversion.problems],
        "not_carried": [p.as_dict() for p in conversion.not_carried],
        "timings": {k: round(v, 3) for k, v in conversion.timings.items()},  # float-ok: seconds
    }


def write_report(conversion: Conversion, path: str | Path, *, sources: Iterable[Any] = (),
                 others: Iterable[Any] = (), force: bool = False) -> Path:  # fmt: skip
    """Write the report; the extension chooses the form: ``.json``, ``.html`` or ``.xlsx``.

    Like every output, it never replaces a source or a file migrator did not write (`migrator.outputs`).
    """
    from migrator import outputs

    path = Path(path)
    renderers = _renderers()
    suffix = path.suffix.lower()
    if suffix not in renderers:
        from migrator.errors import UnsupportedOperation

        raise UnsupportedOperation(f"report {path.name}: use one of {', '.join(sorted(renderers))}")
    data = report_data(conversion)
    with outputs.placed(path, folder=False, sources=sources, others=others, force=force) as temp:
        renderers[suffix](data, temp)
    return path


def write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_html(data: dict[str, Any], path: Path) -> None:
    from migrator.report_html import write_html

    write_html(data, path)


def _write_xlsx(data: dict[str, Any], path: Path) -> None:
    from migrator.report_xlsx import write_xlsx  # openpyxl is loaded only for an xlsx report

    write_xlsx(data, path)


def _renderers() -> dict[str, Callable[[dict[str, Any], Path], None]]:
    return {".json": write_json, ".html": _write_html, ".htm": _write_html, ".xlsx": _write_xlsx}
