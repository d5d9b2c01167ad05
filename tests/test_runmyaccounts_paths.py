"""Run my Accounts journals read by Arrow's CSV parser (plain CSV) and by Python's csv module give the
same ledger and the same problems, row numbers included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.model import Ledger
from migrator.readers import runmyaccounts
from migrator.readers.base import ReadOptions
from migrator.sources import Source

HEADER = ["reference", "department", "description", "transdate", "notes", "currency", "exchangerate", "accno",
          "debit", "credit", "source", "memo", "projectnumber"]  # fmt: skip
CELLS = ["", " ", "B1", "B2", "ATELIER", "Écriture", "a,b", 'say "hi"', "12.50", "0.00", "-5.00", "1'234.50", "1.234,50",
         "abc", "03.01.2024", "2024-01-03", "31.02.2024", "3.1.24", "CHF", "EUR", "usd", "1", "1.1", "0", "x", "1020",
         "6900", " 3400 ", "\u00a0", "multi\nline"]  # fmt: skip


def _read(path: Path) -> Ledger:
    return runmyaccounts.RunMyAccountsReader().read(Source(path), ReadOptions())


def _same(a: Ledger, b: Ledger) -> None:
    assert a.lines.equals(b.lines)
    assert a.accounts.equals(b.accounts)
    assert a.extras["lines"].equals(b.extras["lines"])
    assert a.problems == b.problems
    assert a.company == b.company


def _csv_cell(value: str, separator: str) -> str:
    if any(c in value for c in (separator, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def journals(draw: st.DrawFn) -> tuple[str, str]:
    separator = draw(st.sampled_from([",", ";", "\t"]))
    header = list(HEADER)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, -12]))
        cells = [draw(st.sampled_from(CELLS)) for _ in range(max(width, 0))]
        rows.append(separator.join(_csv_cell(c, separator) for c in cells))
        if draw(st.integers(0, 9)) == 0:
            rows.append(draw(st.sampled_from(["", " ", separator * 3])))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r\n"]))
    end = draw(st.sampled_from(["", newline]))
    return separator.join(header) + newline + newline.join(rows) + end, draw(st.sampled_from(["utf-8", "iso-8859-1"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journal=journals(), batch=st.sampled_from([1, 3, 1 << 16]))
def test_arrow_and_csv_module_read_alike(
    journal: tuple[str, str], batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, encoding = journal
    path = tmp_path / "journal.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    monkeypatch.setattr(runmyaccounts, "BATCH", batch)
    try:
        by_arrow = _read(path)
    except Exception as exc:  # a header without the required columns: both paths say the same
        with monkeypatch.context() as patched:
            patched.setattr(runmyaccounts, "_plain", lambda held, separator: None)
            with pytest.raises(type(exc)) as again:
                _read(path)
        assert str(again.value) == str(exc)
        return
    with monkeypatch.context() as patched:
        patched.setattr(runmyaccounts, "_plain", lambda held, separator: None)
        by_csv_module = _read(path)
    _same(by_arrow, by_csv_module)


def test_plain_journal_is_read_by_arrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal of plain CSV lines takes the Arrow path; a quoted line break sends it to the csv module."""
    plain = "\r\n".join([",".join(HEADER), 'B1,,"Loyer, mars",03.01.2024,,CHF,1,6000,"1,200.00",0.00,,,',
                         "B1,,Loyer,03.01.2024,,CHF,1,1020,0.00,1200.00,,,"]) + "\r\n"  # fmt: skip
    path = tmp_path / "journal.csv"
    path.write_bytes(plain.encode("iso-8859-1"))
    taken: list[object] = []
    original = runmyaccounts._plain

    def recorded(held: list[bytes], separator: str) -> object:
        taken.append(original(held, separator))
        return taken[-1]

    monkeypatch.setattr(runmyaccounts, "_plain", recorded)
    ledger = _read(path)
    assert taken[0] is not None
    assert ledger.lines.column("amount").to_pylist() == [120000, -120000]
    assert ledger.lines.column("description").to_pylist() == ["Loyer, mars", "Loyer"]
    path.write_bytes(plain.replace("Loyer, mars", "Loyer\nmars").encode("iso-8859-1"))
    taken.clear()
    ledger = _read(path)
    assert taken[0] is None
    assert ledger.lines.column("description").to_pylist() == ["Loyer\nmars", "Loyer"]
    assert ledger.lines.column("source_row").to_pylist() == [3, 4]
