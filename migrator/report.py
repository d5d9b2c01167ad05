"""The reconciliation of a conversion, as data, and written as JSON.

`report_data` gathers everything an accountant needs to sign off a conversion: files with sizes and
SHA-256, counts before and after, every account's balance before and after, VAT totals, totals per
fiscal year and month, every problem and every item the target could not carry, and a verdict.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.model import Ledger
from migrator.money import format_cents
from migrator.pipeline import Conversion, output_files
from migrator.reconcile import monthly_totals, trial_balance, vat_totals, years
from migrator.sources import sha256_file


def verdict(conversion: Conversion) -> dict[str, Any]:
    errors = [p for p in conversion.problems if p.severity == "error"]
    balanced = not any("does not balance" in p.message for p in errors)
    if conversion.verification is None:
        status = "written, not verified (the target format has no reader)"
        ok = not errors
    elif conversion.verification.ok:
        status = "balanced and verified" if not errors else "verified, with errors allowed by --allow-problems"
        ok = not errors
    else:
        status = "differences found"
        ok = False
    return {
        "ok": ok,
        "status": status,
        "balanced": balanced,
        "verified": conversion.verified,
        "differences": conversion.verification.differences if conversion.verification else [],
        "notes": conversion.verification.notes if conversion.verification else [],
    }


def _files(ledger: Ledger) -> list[dict[str, Any]]:
    return [{"path": f.path, "size": f.size, "sha256": f.sha256, "encoding": f.encoding}
            for f in ledger.company.source_files]  # fmt: skip


def _accounts(conversion: Conversion) -> list[dict[str, Any]]:
    before = trial_balance(conversion.source)
    after = trial_balance(conversion.reread or conversion.written)
    names = dict(zip(conversion.source.accounts.column("code").to_pylist(),
                     conversion.source.accounts.column("name").to_pylist(), strict=True))  # fmt: skip
    target_names = dict(zip(conversion.written.accounts.column("code").to_pylist(),
                            conversion.written.accounts.column("name").to_pylist(), strict=True))  # fmt: skip
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


def report_data(conversion: Conversion) -> dict[str, Any]:
    """The whole reconciliation as JSON-ready data."""
    source, written = conversion.source, conversion.written
    after = conversion.reread or written
    outputs = output_files(conversion.output)
    tb_before, tb_after = trial_balance(source), trial_balance(after)
    return {
        "migrator": __version__,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "company": source.company.name,
        "verdict": verdict(conversion),
        "source": {"format": source.format, "encoding": source.encoding, "files": _files(source)},
        "target": {
            "format": conversion.target_format,
            "files": [{"path": str(p), "size": p.stat().st_size, "sha256": sha256_file(p)} for p in outputs],
        },
        "counts": {"before": source.counts(), "after": after.counts()},
        "accounts": _accounts(conversion),
        "totals": {
            "before": format_cents(sum(v for v in tb_before.values() if v > 0)),
            "after": format_cents(sum(v for v in tb_after.values() if v > 0)),
        },
        "vat": {
            "before": {c: {k: format_cents(v) for k, v in t.items()} for c, t in vat_totals(source).items()},
            "after": {c: {k: format_cents(v) for k, v in t.items()} for c, t in vat_totals(after).items()},
        },
        "years": [
            {
                "start": y.year.start.isoformat(),
                "end": y.year.end.isoformat(),
                "opening": format_cents(sum(v for v in y.opening.values() if v > 0)),
                "movements": format_cents(sum(v for v in y.movements.values() if v > 0)),
            }
            for y in years(source)
        ],
        "months": {
            m: {"lines": t["lines"], "debit": format_cents(t["debit"])} for m, t in monthly_totals(source).items()
        },
        "problems": [p.as_dict() for p in conversion.problems],
        "not_carried": [p.as_dict() for p in conversion.not_carried],
        "timings": {k: round(v, 3) for k, v in conversion.timings.items()},  # float-ok: seconds
    }


def write_report(conversion: Conversion, path: str | Path) -> Path:
    """Write the report; the extension chooses the form (``.json``, and where available ``.html``, ``.xlsx``)."""
    from migrator.pipeline import _atomic

    path = Path(path)
    data = report_data(conversion)
    renderers = _renderers()
    suffix = path.suffix.lower()
    if suffix not in renderers:
        from migrator.errors import UnsupportedOperation

        raise UnsupportedOperation(f"report {path.name}: use one of {', '.join(sorted(renderers))}")
    with _atomic(path, folder=False) as temp:
        renderers[suffix](data, temp)
    return path


def _write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _renderers() -> dict[str, Any]:
    return {".json": _write_json}
