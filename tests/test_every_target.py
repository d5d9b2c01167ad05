"""The demo company, from Winbiz and from the canonical CSV, into every target migrator writes.

Where the target has a reader, `convert` reads its own output back and must prove that counts and
every account balance are unchanged; where it has none, the output must exist and the writer must
have said what it could not carry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator import pipeline, registry, years
from migrator.model import Ledger, years_of
from migrator.reconcile import trial_balance


def balances(ledger: Ledger) -> dict[str, int]:
    """Non-zero balances (an account that nets to zero, like Winbiz's 9100, may vanish in a target)."""
    return {code: cents for code, cents in trial_balance(ledger).items() if cents}


TARGETS = [f.name for f in registry.writable() if "entries" in f.keeps]  # books: vcard (addresses) has its own tests
BOOKS_READ = [f for f in TARGETS if registry.get(f).reads]
SOURCES = {
    "winbiz-dat": ("winbiz/DAT", {"dossier": "garage"}),
    "winbiz-xml": ("winbiz/exports/xml-attributes", {}),
    "canonical-csv": ("garage/journal.csv", {}),
}


def _target(tmp_path: Path, fmt: str) -> Path:
    fmt_info = registry.get(fmt)
    return tmp_path / ("out" if fmt_info.output == "folder" else f"out{fmt_info.default_extension}")


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("fmt", TARGETS)
def test_convert_into_every_target(samples: Path, tmp_path: Path, source: str, fmt: str) -> None:
    path, options = SOURCES[source]
    out = _target(tmp_path, fmt)
    result = pipeline.convert(samples / path, fmt, out, **options)
    assert out.exists()
    if registry.get(fmt).reads:
        assert result.verification is not None
        assert result.verified, result.verification.differences
        assert result.reread is not None
        if registry.get(fmt).years == "continuous":  # one opening, then a closing entry at each year end
            assert balances(result.reread) == balances(years.continuous(result.written)[0])
            assert balances(years.per_year(result.reread, years_of(result.written))) == balances(result.written)
        else:
            assert balances(result.reread) == balances(result.written)
    else:
        assert result.verification is None


@pytest.mark.parametrize("fmt", BOOKS_READ)
def test_second_generation_is_stable(samples: Path, tmp_path: Path, fmt: str) -> None:
    """Winbiz → format → canonical CSV → format again: the same balances all the way."""
    first = _target(tmp_path / "1", fmt)
    pipeline.convert(samples / "winbiz" / "DAT", fmt, first, dossier="garage")
    middle = tmp_path / "middle.csv"
    assert pipeline.convert(first, "csv", middle, from_format=fmt).verified
    second = _target(tmp_path / "2", fmt)
    assert pipeline.convert(middle, fmt, second).verified
    winbiz = pipeline.read(samples / "winbiz" / "DAT", dossier="garage")
    back = pipeline.read(second, fmt)
    if registry.get(fmt).years == "continuous":  # read back per year (migrator.years)
        back = years.per_year(back, years_of(winbiz))
    assert balances(back) == balances(winbiz)


COMPARED = ["entry", "date", "account", "amount", "vat_code", "vat_line", "vat_amount", "opening"]


@pytest.mark.parametrize("fmt", BOOKS_READ)
def test_a_verification_read_sees_what_a_full_read_sees(garage: Ledger, tmp_path: Path, fmt: str) -> None:
    """Readers may skip columns when they only verify; what verification compares must not change."""
    out = _target(tmp_path, fmt)
    pipeline.write(garage, fmt, out)
    full = pipeline.read(out, fmt)
    quick = pipeline.read(out, fmt, for_verification=True)
    assert quick.counts() == full.counts()
    assert quick.lines.select(COMPARED).equals(full.lines.select(COMPARED))
