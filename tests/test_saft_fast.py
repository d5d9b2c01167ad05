"""The SAF-T reader's fast path (files of the plain shape): on every file it reads, the same ledger as the
full reader (every table, problem, row, company field); on every file it does not take, the reader's
result is the full reader's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest
from conftest import REFERENCE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from strategies import ledgers, texts

from benchmarks.generate import ledger as generated
from migrator import pipeline
from migrator.model import Ledger
from migrator.readers import saft
from migrator.readers.base import ReadOptions
from migrator.sources import opened

TABLES = ("accounts", "vat_codes", "lines", "partners")


def full(path: Path, verify: bool) -> Ledger | str:
    """The full reader's ledger, or its error."""
    try:
        with opened(path) as source:
            return saft._Read(source, ReadOptions(for_verification=verify)).ledger()
    except Exception as exc:  # the message is what is compared
        return f"{type(exc).__name__}: {exc}"


def fast(path: Path, verify: bool) -> Ledger | None:
    """The fast path's ledger, or None where it leaves the file to the full reader."""
    with opened(path) as source:
        try:
            return saft._read_fast(saft._Read(source, ReadOptions(for_verification=verify)))
        except saft._NotPlain:
            return None


def read(path: Path, verify: bool) -> Ledger | str:
    try:
        with opened(path) as source:
            return saft.SaftReader().read(source, ReadOptions(for_verification=verify))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def assert_same(a: Ledger | str, b: Ledger | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        assert left.schema == right.schema, name
        assert left.combine_chunks().equals(right.combine_chunks()), name
    # the lines come in the same batches as the full reader's
    assert [len(c) for c in a.lines.column("entry").chunks] == [len(c) for c in b.lines.column("entry").chunks]
    assert a.problems == b.problems
    assert a.company == b.company
    assert (a.format, a.encoding) == (b.format, b.encoding)


def assert_fast(path: Path) -> None:
    """The file takes the fast path, and reads as the full reader reads it (both kinds of read)."""
    for verify in (False, True):
        quick = fast(path, verify)
        assert quick is not None, f"{path.name} left the fast path"
        assert_same(quick, full(path, verify))


def assert_reads_as_full(path: Path) -> bool:
    """The reader gives the full reader's result; whether the fast path took the file."""
    for verify in (False, True):
        assert_same(read(path, verify), full(path, verify))
    return fast(path, False) is not None


HOSTILE = texts(alphabet="aZé & <>\"'\t\n\r\u00a0\u2003\u0085;#x1", max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(ledgers(), ledgers(text=HOSTILE)))
def test_written_books_take_the_fast_path(tmp_path: Path, ledger: Ledger) -> None:
    out = tmp_path / "random.xml"
    pipeline.write(ledger, "saft", out, force=True)
    assert_fast(out)


def test_generated_books_past_line_65535(tmp_path: Path) -> None:
    """Several years, journals, VAT lines; rows past line 65535, where lxml's sourceline of a
    ``Line`` is the line of its first child, and lines tables cut as the full reader cuts them."""
    out = tmp_path / "books.xml"
    pipeline.write(generated(3000, seed=7, years=2), "saft", out)
    assert out.read_bytes().count(b"\n") > 70_000
    assert_fast(out)
    rows = fast(out, False).lines.column("source_row").to_pylist()  # type: ignore[union-attr]
    text = out.read_text(encoding="utf-8").split("\n")
    first = next(r for r in rows if r and r > 70_000)
    assert text[first - 2].strip() == "<Line>"  # the line before the one lxml names


def test_garage_and_several_journals_take_the_fast_path(tmp_path: Path, garage: Ledger) -> None:
    out = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", out)
    assert out.read_text(encoding="utf-8").count("<Journal>") > 1
    assert_fast(out)


@pytest.mark.parametrize("name", ["ExampleFile_SAF-T_Financial_888888888_20180228235959.xml",
                                  "ExampleFile_SAF-T_Financial_999999999_20161125213512.xml",
                                  "generated_auditfile_formatted_v_1.30.xml"])  # fmt: skip
def test_reference_files_read_as_before(name: str) -> None:
    path = REFERENCE / "saft-no" / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    assert_reads_as_full(path)


# (what is replaced, by what, whether the fast path still reads the file)
MUTATIONS = [
    ("<Amount>", "<Amount> ", False),  # an amount with a space: left to the full reader
    ("<Amount>", "<Amount>x", False),  # not an amount: a problem with its row
    ("<AccountID>", "<AccountID> ", True),  # stripped as lxml's text is
    ("<AccountID>", "<AccountID>&#13;", True),
    ("<AccountID>", "<AccountID>&#65;", False),
    ("<AccountID>", "<AccountID>&amp;", True),
    ("<AccountID>", "<AccountID>\u00a0", True),
    ("<AccountID>", "<AccountID>&bogus;", False),  # not well-formed XML
    ("</TransactionType>\n\t\t\t\t<Description>", "</TransactionType>\n\t\t\t\t<Description>a>b", False),
    ("<Description>", "<Description><![CDATA[x]]>", False),
    ("<Line>", "<!-- note --><Line>", False),
    ("<Line>", '<Line id="1">', False),
    ("<Line>", "<Line>\r\n", False),
    ("<Line>", "<Line>\x01", False),  # not XML
    ("<Line>", "<Line>text", False),
    ("<Line>", "<Line><Extra>1</Extra>", False),
    ("</Transaction>", "<Extra/></Transaction>", False),
    ("<TransactionDate>", "<TransactionDate>2024-02-30", False),
    ("<TransactionDate>2023-", "<TransactionDate>", False),
    ("<TransactionDate>2023", "<TransactionDate>", False),
    ("<TransactionID>", "<TransactionID> ", True),
    ("<TransactionType>Normal", "<TransactionType>OPENING", True),
    ("</Transaction>", "</Transaction><!-- <Transaction> -->", False),
    ("</Journal>", "</Jornal>", False),  # not well-formed
    ("<Transaction>", "<Transaction >", False),
    ("<CreditAmount>", "<CreditAmount >", False),
    ("</AccountID>", "</AccountId>", False),
    # foreign amounts: one that is not an amount is a problem for every kind of read
    (
        "</Amount>\n\t\t\t\t\t</DebitAmount>",
        "</Amount><CurrencyCode>EUR</CurrencyCode><CurrencyAmount>1.555</CurrencyAmount></DebitAmount>",
        False,
    ),
    (
        "</Amount>\n\t\t\t\t\t</DebitAmount>",
        "</Amount><CurrencyCode>EUR</CurrencyCode><CurrencyAmount>1.50</CurrencyAmount></DebitAmount>",
        True,
    ),
]


@pytest.mark.parametrize(("old", "new", "plain"), MUTATIONS)
@pytest.mark.parametrize("where", ["first", "every", "last"])
def test_mutated_files_read_as_the_full_reader(tmp_path: Path, garage: Ledger, old: str, new: str, plain: bool,
                                               where: str) -> None:  # fmt: skip
    """Changes to the transactions (the master files are lxml's either way)."""
    written = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", written)
    masters, _, text = written.read_text(encoding="utf-8").partition("<GeneralLedgerEntries>")
    assert old in text
    if where == "first":
        text = text.replace(old, new, 1)
    elif where == "every":
        text = text.replace(old, new)
    else:
        head, _, tail = text.rpartition(old)
        text = head + new + tail
    out = tmp_path / "mutated.xml"
    out.write_bytes(f"{masters}<GeneralLedgerEntries>{text}".encode())
    assert assert_reads_as_full(out) is plain


def test_transaction_outside_a_journal_is_not_read(tmp_path: Path, garage: Ledger) -> None:
    written = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", written)
    text = written.read_text(encoding="utf-8")
    start, end = text.index("<Transaction>"), text.index("</Transaction>") + len("</Transaction>")
    moved = text[:start] + text[end:]
    moved = moved.replace("</GeneralLedgerEntries>", "<Other>" + text[start:end] + "</Other></GeneralLedgerEntries>")
    out = tmp_path / "moved.xml"
    out.write_text(moved, encoding="utf-8")
    assert not assert_reads_as_full(out)
    back = read(out, False)
    assert not isinstance(back, str)
    assert back.lines.num_rows < pipeline.read(written, "saft").lines.num_rows


def test_a_transaction_split_over_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garage: Ledger) -> None:
    """Reads of a few hundred bytes cut the file inside transactions, tags and characters."""
    out = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", out)
    expected = full(out, False)
    for size in (97, 256, 1000):
        monkeypatch.setattr(saft, "_READ", size)
        quick = fast(out, False)
        assert quick is not None
        assert_same(quick, expected)


def test_dates_as_lxml_reads_them(tmp_path: Path, garage: Ledger) -> None:
    written = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", written)
    text = written.read_text(encoding="utf-8")
    day = text.split("<TransactionDate>", 2)[1].split("<", 1)[0]
    out = tmp_path / "dated.xml"
    out.write_text(text.replace(f"<TransactionDate>{day}", f"<TransactionDate>{day}T10:00:00", 1), encoding="utf-8")
    assert assert_reads_as_full(out)
    back = read(out, False)
    assert not isinstance(back, str)
    first = text.split("<TransactionID>", 2)[1].split("<", 1)[0]
    lines = back.lines.filter(pc.equal(back.lines.column("doc"), first))
    assert set(lines.column("date").to_pylist()) == {dt.date.fromisoformat(day)}


@pytest.mark.parametrize(
    ("old", "new"),
    [("<MasterFiles>", "<MasterFiles><!-- <Transaction> -->"), ("<Header>", "<Header>\r"), ("\n", "\r\n")],
)
def test_odd_master_files_leave_the_fast_path(tmp_path: Path, garage: Ledger, old: str, new: str) -> None:
    """A comment or a carriage return anywhere: the file is the full reader's, and reads the same."""
    written = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", written)
    out = tmp_path / "odd.xml"
    out.write_bytes(written.read_text(encoding="utf-8").replace(old, new, 1).encode())
    assert not assert_reads_as_full(out)


def test_line_breaks_of_long_runs_stay_under_libxml2_limits(tmp_path: Path) -> None:
    """The line breaks that stand for runs of transactions (12 million here, past libxml2's 10 MB for
    one text node) keep lxml's rows right and leave nothing behind in the tree."""
    path = tmp_path / "empty.xml"
    path.write_bytes(b"<AuditFile/>")
    with opened(path) as source:
        read = saft._Read(source, ReadOptions())
        parser = etree.XMLPullParser(events=("start", "end"))
        skeleton = saft._Skeleton(read, parser)
        skeleton.feed(b"<AuditFile>\n<GeneralLedgerEntries>\n<Journal>\n")
        for _ in range(3):
            skeleton.skip(4_000_000)
        skeleton.feed(b"<JournalID>GL</JournalID>\n")
        (journal,) = [e for e in skeleton.elements if e.tag == "Journal"]
        assert [child.tag for child in journal] == ["JournalID"]  # no comment left
        assert journal[0].sourceline == 12_000_004
        skeleton.feed(b"</Journal>\n</GeneralLedgerEntries>\n</AuditFile>\n")
        parser.close()
        skeleton.drain()
        assert read.journal == "GL" and skeleton.seen_root


def test_header_after_the_transactions(tmp_path: Path, garage: Ledger) -> None:
    written = tmp_path / "garage.xml"
    pipeline.write(garage, "saft", written)
    text = written.read_text(encoding="utf-8")
    start, end = text.index("<Header>"), text.index("</Header>") + len("</Header>")
    moved = text[:start] + text[end:]
    moved = moved.replace("</GeneralLedgerEntries>", "</GeneralLedgerEntries>" + text[start:end])
    out = tmp_path / "late.xml"
    out.write_text(moved, encoding="utf-8")
    assert not assert_reads_as_full(out)
