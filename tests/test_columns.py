"""The column-wise parsers agree with the scalar ones: on every value the fast path decides, the
result is the scalar function's, and it never decides a value the scalar function refuses."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator import columns
from migrator.money import format_cents
from migrator.parsing import (
    ParseError,
    decide_date_layout,
    decide_decimal_mark,
    parse_cents,
    parse_date,
)

PAD = st.sampled_from(["", " ", "\t", "\u00a0", "\u3000", "\x1c"])
DIGITS = st.text("0123456789", min_size=1, max_size=20)


@st.composite
def plain_amounts(draw: st.DrawFn) -> str:
    """Amounts as writers write them, with the odd variant the fast path must leave alone."""
    whole = draw(st.one_of(st.integers(0, 99_999), st.integers(0, 10**17)))
    text = f"{whole:,}".replace(",", draw(st.sampled_from(["", "'", ",", ".", "’", " "])))
    if draw(st.booleans()):
        text += draw(st.sampled_from([".", ","])) + draw(st.text("0123456789", max_size=4))
    sign = draw(st.sampled_from(["", "-", "+", "(", "--"]))
    text = sign + text + (")" if sign == "(" else draw(st.sampled_from(["", "", "-"])))
    return draw(PAD) + text + draw(PAD)


AMOUNT_TEXTS = st.one_of(
    plain_amounts(),
    st.from_regex(r"\A[-+ ]?[0-9'.,]{0,10}\Z"),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
    st.sampled_from(["", "  ", "-0", "-0.00", "0'000.5", "1'23.45", "١٢.٣٤", "00000000000000000001.00"]),
)


def scalar_or_error(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except ParseError as exc:
        return exc


def test_strip_is_python_strip_for_every_code_point() -> None:
    values = [chr(c) + "a" + chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    assert columns.strip(values).to_pylist() == [v.strip() for v in values]


def _decided_alike(values: list[str], fast: Any, undecided: Any, scalar: Callable[[str], Any]) -> None:
    """Each value the column parser decided equals the scalar parser's; the others are left empty."""
    left = set(undecided.tolist())
    for index, (text, value) in enumerate(zip(values, fast.to_pylist(), strict=True)):
        if index in left:
            assert value is None
            continue
        assert scalar(text) == value, text


@given(st.lists(AMOUNT_TEXTS, max_size=30), st.sampled_from([".", ","]))
def test_cents_equal_the_scalar_parser_where_decided(values: list[str], mark: str) -> None:
    # never decides what the scalar parser refuses
    _decided_alike(values, *columns.cents(values, mark), lambda text: parse_cents(text, mark))


def _completed_alike(values: list[str], fast: Any, undecided: Any, scalar: Callable[[str], Any]) -> None:
    """With the scalar parser run on the undecided values, every value and every error is the scalar one."""
    filled, errors = columns.complete(fast, undecided, values, scalar)
    for index, (text, value) in enumerate(zip(values, filled.to_pylist(), strict=True)):
        expected = scalar_or_error(scalar, text)
        if isinstance(expected, ParseError):
            assert str(errors[index]) == str(expected)
            assert value is None
        else:
            assert index not in errors
            assert value == expected


@given(st.lists(AMOUNT_TEXTS, max_size=30), st.sampled_from([".", ","]))
def test_cents_with_the_fallback_equal_the_scalar_parser_everywhere(values: list[str], mark: str) -> None:
    _completed_alike(values, *columns.cents(values, mark), lambda text: parse_cents(text, mark))


@given(st.lists(AMOUNT_TEXTS, max_size=30), st.sampled_from([".", ","]))
def test_decimal_mark_is_the_scalar_decision(values: list[str], default: str) -> None:
    assert columns.decimal_mark(values, default) == decide_decimal_mark(values, default)


def test_plain_amounts_are_decided_column_wise() -> None:
    values = ["1'234.50", "-0.05", "12", "  7.1 ", "", "9999999999999999.99", "1.500", "1.234"]
    fast, undecided = columns.cents(values, ".")
    assert fast.to_pylist() == [123450, -5, 1200, 710, None, 999999999999999999, None, None]
    assert undecided.tolist() == [6, 7]
    fast, undecided = columns.cents(["1.234,50", "1'234,5", "(5)"], ",")
    assert fast.to_pylist() == [None, 123450, None]
    assert undecided.tolist() == [0, 2]


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    day, month = draw(st.integers(0, 32)), draw(st.integers(0, 13))
    year = draw(st.one_of(st.integers(0, 99), st.integers(0, 9999)))
    layout = draw(
        st.sampled_from(["{d}.{m}.{y}", "{d:02}.{m:02}.{y:04}", "{d}.{m}.{y:02}", "{y:04}-{m}-{d}", "{y:04}-{m:02}-{d:02}T10:00Z",
                         "{d}/{m}/{y:04}", "{y:04}{m:02}{d:02}", "{y}", "{y}.0", "{y}.{m}", "{d}-{m}-{y}"])
    )  # fmt: skip
    return draw(PAD) + layout.format(d=day, m=month, y=year) + draw(PAD)


DATE_TEXTS = st.one_of(
    date_texts(),
    st.from_regex(r"\A[0-9./\-T: ]{0,12}\Z"),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
    st.sampled_from(["", "٣.١.٢٠٢٤", "29.02.2023", "29.2.24", "0.1.2024", "1.1.0000", "45294", "99999.00"]),
)
LAYOUTS = st.sampled_from([None, "iso", "dmy", "dmy2", "dmy/", "ymd", "serial"])


@given(st.lists(DATE_TEXTS, max_size=30), LAYOUTS)
def test_dates_equal_the_scalar_parser_where_decided(values: list[str], layout: str | None) -> None:
    _decided_alike(values, *columns.dates(values, layout), lambda text: parse_date(text, layout))


@given(st.lists(DATE_TEXTS, max_size=30), LAYOUTS)
def test_dates_with_the_fallback_equal_the_scalar_parser_everywhere(values: list[str], layout: str | None) -> None:
    _completed_alike(values, *columns.dates(values, layout), lambda text: parse_date(text, layout))


@given(st.lists(DATE_TEXTS, max_size=30))
def test_date_layout_is_the_scalar_decision(values: list[str]) -> None:
    assert columns.date_layout(values) == decide_date_layout(values)


def test_day_first_dates_are_decided_column_wise() -> None:
    fast, undecided = columns.dates(["3.1.2024", "31.12.99", "29.2.2024", "30.2.2024", "", "2024-01-03"])
    assert fast.to_pylist() == [dt.date(2024, 1, 3), dt.date(1999, 12, 31), dt.date(2024, 2, 29), None, None,
                                dt.date(2024, 1, 3)]  # fmt: skip
    assert undecided.tolist() == [3]
    assert columns.date_layout(["1.2.24", "31.12.23", "2024-01-01"]) == "dmy2"


@pytest.mark.parametrize("chunked", [False, True])
def test_chunked_columns_read_like_plain_ones(chunked: bool) -> None:
    values = pa.array(["1.50", "2"])
    column = pa.chunked_array([values[:1], values[1:]]) if chunked else values
    assert columns.cents(column, ".")[0].to_pylist() == [150, 200]


@given(st.text(st.sampled_from('ab\r\n\t,"é\u2028\x85 ')))
def test_physical_lines_are_python_split(text: str) -> None:
    assert columns.physical_lines(text).to_pylist() == text.split("\n")


@given(st.lists(st.text(st.sampled_from("ab\t é")), max_size=8), st.integers(0, 6))
def test_fields_are_python_split(lines: list[str], index: int) -> None:
    fields = columns.Fields(lines, "\t")
    split = [line.split("\t") for line in lines]
    assert fields.counts.tolist() == [len(parts) for parts in split]
    assert fields.column(index).to_pylist() == [parts[index] if len(parts) > index else "" for parts in split]


@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-1000, 1000)), max_size=20))
def test_cents_text_is_format_cents(values: list[int]) -> None:
    assert columns.cents_text(pa.array(values, pa.int64())).to_pylist() == [format_cents(v) for v in values]
    assert columns.cents_text(values, ",").to_pylist() == [format_cents(v, ",") for v in values]


@given(st.lists(st.one_of(st.none(), st.text(st.sampled_from("ab \t\n\u00a0\u2028\x1cé"))), max_size=10))
def test_one_line_is_python_split_and_join(values: list[str | None]) -> None:
    assert columns.one_line(pa.array(values, pa.string())).to_pylist() == [" ".join((v or "").split()) for v in values]


@given(
    st.lists(st.tuples(st.sampled_from(["1", "2", "B", None]), st.one_of(st.none(), st.integers(0, 3))), max_size=12)
)
def test_entry_order_is_the_writers_order(rows: list[tuple[str | None, int | None]]) -> None:
    lines = pa.table(
        {"entry": pa.array([e for e, _ in rows], pa.string()), "line": pa.array([n for _, n in rows], pa.int32())}
    )
    groups: dict[str | None, list[int]] = {}
    for index, (entry, _) in enumerate(rows):
        groups.setdefault(entry, []).append(index)
    expected = [i for group in groups.values() for i in sorted(group, key=lambda i: rows[i][1] or 0)]
    order, starts = columns.entry_order(lines)
    assert order.tolist() == expected
    sizes = [len(group) for group in groups.values()]
    assert starts.tolist() == list(itertools.accumulate([0, *sizes[:-1]]))[: len(sizes)]


@given(
    st.lists(st.one_of(st.integers(-(10**18) + 1, 10**18 - 1), st.integers(-999, 999), st.just(None)), max_size=20),
    st.sampled_from([".", ","]),
)
def test_cents_of_written_amounts(values: list[int | None], mark: str) -> None:
    texts = ["" if v is None else format_cents(v, mark) for v in values]
    fast, undecided = columns.cents(texts, mark)
    assert undecided.tolist() == []
    assert fast.to_pylist() == [parse_cents(t, mark) for t in texts] == values
