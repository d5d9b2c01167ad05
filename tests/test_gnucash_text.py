"""GnuCash XML books whose transactions are read from the text (`readers.gnucash._fast_transaction`)
read exactly as lxml reads them: the same ledger as the same book uncompressed (which lxml parses
whole), the same line numbers (past line 65535 too, where lxml reports an element's first child's
line), and lxml still reads whatever is not in the layout GnuCash and migrator write."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from benchmarks import generate
from migrator import pipeline
from migrator.errors import SourceError
from migrator.model import Ledger
from migrator.readers import gnucash as reader

TABLES = ("accounts", "groups", "vat_codes", "partners", "open_items")


def _book(ledger, tmp_path: Path) -> str:
    packed = tmp_path / "written.gnucash"
    pipeline.write(ledger, "gnucash", packed)
    return gzip.decompress(packed.read_bytes()).decode("utf-8")


def _both(text: str, tmp_path: Path, monkeypatch) -> tuple[Ledger, Ledger, int]:
    """The book read compressed (text where it can) and uncompressed (lxml throughout), and how many
    transactions lxml read in the compressed one."""
    packed, plain = tmp_path / "book.gnucash", tmp_path / "plain" / "book.gnucash"
    plain.parent.mkdir(exist_ok=True)
    packed.write_bytes(gzip.compress(text.encode("utf-8")))
    plain.write_bytes(text.encode("utf-8"))
    whole = pipeline.read(plain)
    by_lxml: list[object] = []
    element_read = reader._transaction

    def counted(node: object) -> reader.Transaction:
        by_lxml.append(node)
        return element_read(node)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "_transaction", counted)
    streamed = pipeline.read(packed)
    return streamed, whole, len(by_lxml)


def _same(streamed: Ledger, whole: Ledger) -> None:
    for name in TABLES:
        assert getattr(streamed, name).equals(getattr(whole, name)), name
    assert streamed.lines.drop_columns(["source_file"]).equals(whole.lines.drop_columns(["source_file"]))
    assert streamed.problems == whole.problems


def test_a_book_migrator_wrote_is_read_from_the_text(garage, tmp_path, monkeypatch):
    streamed, whole, by_lxml = _both(_book(garage, tmp_path), tmp_path, monkeypatch)
    _same(streamed, whole)
    assert by_lxml == 0
    assert streamed.lines.num_rows == 72


def test_entities_carriage_returns_and_odd_layouts(garage, tmp_path, monkeypatch):
    text = _book(garage, tmp_path)
    first = text.index("<trn:description>") + len("<trn:description>")
    # the five predefined entities are read from the text; a character reference goes to lxml
    text = text[:first] + " Meier &amp; Söhne &lt;AG&gt; &quot;x&quot; &apos;y&apos; " + text[first:]
    second = text.index("<trn:description>", first) + len("<trn:description>")
    text = text[:second] + "&#233;t&#xE9;" + text[second:]
    streamed, whole, by_lxml = _both(text, tmp_path, monkeypatch)
    _same(streamed, whole)
    assert by_lxml == 1
    descriptions = streamed.lines.column("description").to_pylist()
    assert any(d.startswith("Meier & Söhne <AG> \"x\" 'y' ") for d in descriptions)
    assert any(d.startswith("été") for d in descriptions)
    # a comment after the first transactions: lxml reads the rest
    cut = text.index('<gnc:transaction version="2.0.0">', text.index("</gnc:transaction>"))
    commented = text[:cut] + "<!-- a note -->\n    " + text[cut:]
    _same(*_both(commented, tmp_path, monkeypatch)[:2])
    # Windows line ends: lxml turns CR LF into LF, so lxml reads every transaction
    streamed, whole, by_lxml = _both(text.replace("\n", "\r\n"), tmp_path, monkeypatch)
    _same(streamed, whole)
    assert by_lxml == len(set(streamed.lines.column("entry").to_pylist()))  # every transaction is an entry
    # no blanks between the elements at all
    _same(*_both(re.sub(r">\s+<", "><", text), tmp_path, monkeypatch)[:2])


def test_a_transaction_lxml_reads_among_those_read_from_the_text(garage, tmp_path, monkeypatch):
    """A frame slot is not in the form read from the text: that transaction goes to lxml, those before
    and after it are read from the text, in order, with their line numbers."""
    text = _book(garage, tmp_path)
    at = text.index("</split:account>", text.index("<gnc:transaction", len(text) // 2))
    frame = ("</split:account>\n          <split:slots>\n            <slot>\n              <slot:key>f</slot:key>\n"
             '              <slot:value type="frame">\n                <slot>\n                  <slot:key>g'
             '</slot:key>\n                  <slot:value type="string">h</slot:value>\n                </slot>\n'
             "              </slot:value>\n            </slot>\n          </split:slots>")  # fmt: skip
    text = text[:at] + frame + text[at + len("</split:account>") :]
    streamed, whole, by_lxml = _both(text, tmp_path, monkeypatch)
    _same(streamed, whole)
    assert by_lxml == 1
    # the source rows are the lines of the splits' start tags: checked against the text
    lines = text.split("\n")
    for row in streamed.lines.column("source_row").to_pylist():
        assert lines[row - 1].strip() == "<trn:split>"


def test_line_numbers_past_65535(tmp_path, monkeypatch):
    """Past line 65535 libxml2 keeps no line in an element; lxml then gives the line where the
    element's first child (here its leading blanks) ends: the next line. The text reader does the same,
    and so do the elements lxml parses after transactions read from the text."""
    ledger = generate.ledger(1_400, seed=5)
    text = _book(ledger, tmp_path)
    assert text.count("\n") > 70_000
    streamed, whole, by_lxml = _both(text, tmp_path, monkeypatch)
    _same(streamed, whole)
    assert by_lxml == 0
    lines = text.split("\n")
    for row in streamed.lines.column("source_row").to_pylist():
        if row < 65535:
            assert lines[row - 1].strip() == "<trn:split>"
        else:
            assert lines[row - 2].strip() == "<trn:split>"  # the line of <split:id>, after the tag's


def test_malformed_xml_after_transactions_read_from_the_text_names_the_files_line(garage, tmp_path):
    text = _book(garage, tmp_path)
    at = text.rindex("</gnc:transaction>") + len("</gnc:transaction>")
    broken = text[:at] + "\n    <gnc:GncCustomer>\n    </gnc:GncVendor>" + text[at:]
    line = broken[: broken.index("</gnc:GncVendor>")].count("\n") + 1
    packed = tmp_path / "broken.gnucash"
    packed.write_bytes(gzip.compress(broken.encode("utf-8")))
    with pytest.raises(SourceError) as caught:
        pipeline.read(packed)
    assert caught.value.row == line
    assert f"line {line}" in str(caught.value) and "Opening and ending tag mismatch" in str(caught.value)


def test_a_bad_value_in_a_transaction_read_from_the_text(garage, tmp_path):
    text = _book(garage, tmp_path)
    packed = tmp_path / "zero.gnucash"
    packed.write_bytes(gzip.compress(text.replace("/100</split:value>", "/0</split:value>", 1).encode("utf-8")))
    with pytest.raises(SourceError, match=r"zero\.gnucash: not a readable GnuCash XML book: Fraction\(\d+, 0\)"):
        pipeline.read(packed)
