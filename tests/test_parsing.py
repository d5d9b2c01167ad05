"""Amounts, dates and encodings as accounting programs write them: table-driven cases."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal

import pytest

from migrator.parsing import (
    AmountColumn,
    DateColumn,
    ParseError,
    decide_date_layout,
    decide_decimal_mark,
    decimal_text,
    decode,
    detect_encoding,
    excel_number,
    parse_cents,
    parse_date,
    parse_decimal,
    parse_rate,
)

AMOUNTS = [
    ("1234.50", ".", 123450),
    ("1'234.50", ".", 123450),
    ("1’234.50", ".", 123450),
    ("1 234,50", ",", 123450),
    ("1\u00a0234,50", ",", 123450),
    ("1\u2009234,50", ",", 123450),
    ("1\u202f234,50", ",", 123450),
    ("1.234,50", ",", 123450),
    ("1,234.50", ".", 123450),
    ("-1'234.50", ".", -123450),
    ("(1'234.50)", ".", -123450),
    ("1'234.50-", ".", -123450),
    ("+1234.50", ".", 123450),
    ("1234", ".", 123400),
    ("0.05", ".", 5),
    ("-0.05", ".", -5),
    (".5", ".", 50),
    ("1'000'000.00", ".", 100000000),
    ("1\ufffd234.50", ".", 123450),
    ("  42.10  ", ".", 4210),
    ("0000000069,60", ",", 6960),
    ("12345678901234.56", ".", 1234567890123456),
]


@pytest.mark.parametrize(("text", "mark", "cents"), AMOUNTS)
def test_amounts(text: str, mark: str, cents: int) -> None:
    assert parse_cents(text, mark) == cents


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_amount_is_none(text: str) -> None:
    assert parse_cents(text) is None
    assert parse_decimal(text) is None


@pytest.mark.parametrize("text", ["1x0.00", "abc", "1.2.3", "12-3", "--5", "1,23,4.00", "€", "1e5", "NaN"])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cents(text)


def test_more_than_two_decimals_is_refused_not_rounded() -> None:
    with pytest.raises(ParseError, match="more than 2 decimals"):
        parse_cents("1.005")
    assert parse_decimal("1.005") == Decimal("1.005")


def test_large_amount_is_exact() -> None:
    assert parse_decimal("98765432109876543.21") == Decimal("98765432109876543.21")


@pytest.mark.parametrize(
    ("values", "default", "mark"),
    [
        (["1.234", "1.234,50"], ".", ","),
        (["1.234", "12.50"], ",", "."),
        (["1.234", "2.345"], ".", "."),
        (["1.234", "2.345"], ",", ","),
        (["1,5", "2,25", "1.000"], ".", ","),
        (["1'234.50", "7.10"], ",", "."),
        ([], ".", "."),
    ],
)
def test_decimal_mark_is_decided_per_column(values: list[str], default: str, mark: str) -> None:
    assert decide_decimal_mark(values, default) == mark


def test_ambiguous_value_follows_its_column() -> None:
    assert AmountColumn(["1.234", "1.234,50"]).cents("1.234") == 123400
    with pytest.raises(ParseError):
        AmountColumn(["1.234", "0.50"]).cents("1.234")


DATES = [
    ("2024-01-31", dt.date(2024, 1, 31)),
    ("2024-1-3", dt.date(2024, 1, 3)),
    ("2024-01-31T00:00:00", dt.date(2024, 1, 31)),
    ("31.01.2024", dt.date(2024, 1, 31)),
    ("31.01.24", dt.date(2024, 1, 31)),
    ("3.1.2024", dt.date(2024, 1, 3)),
    ("01.01.02", dt.date(2002, 1, 1)),
    ("31.12.99", dt.date(1999, 12, 31)),
    ("20240131", dt.date(2024, 1, 31)),
    ("45322", dt.date(2024, 1, 31)),
    ("45322.0", dt.date(2024, 1, 31)),
    ("31/01/2024", dt.date(2024, 1, 31)),
]


@pytest.mark.parametrize(("text", "day"), DATES)
def test_dates(text: str, day: dt.date) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["2024-13-45", "32.01.2024", "29.02.2023", "hello", "2024/01/31x", "20241301"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ParseError):
        parse_date(text)


def test_empty_date_is_none() -> None:
    assert parse_date("  ") is None


def test_date_layout_is_decided_per_column() -> None:
    assert decide_date_layout(["01.02.24", "31.12.23"]) == "dmy2"
    assert decide_date_layout(["2024-02-01", "garbage"]) == "iso"
    assert decide_date_layout(["x"]) is None
    column = DateColumn(["20240101", "20241231"])
    assert column.layout == "ymd"
    with pytest.raises(ParseError):
        column.date("31.12.2024")  # not the column's layout


@pytest.mark.parametrize(
    ("text", "rate"),
    [("8.10%", "8.1"), ("7.7", "7.7"), ("8,1 %", "8.1"), ("0.00", "0"), ("", ""), ("100", "100"), ("2.50", "2.5")],
)
def test_rates(text: str, rate: str) -> None:
    assert parse_rate(text) == rate


def test_decimal_text() -> None:
    assert decimal_text(Decimal("8.10")) == "8.1"
    assert decimal_text(Decimal("0E-7")) == "0"
    assert decimal_text(Decimal("1.085600")) == "1.0856"


@pytest.mark.parametrize(
    ("value", "exact"),
    [(1234.56, "1234.56"), (0.1 + 0.2, "0.3"), (3, "3"), (-0.05, "-0.05"), ("1'234.50", "1234.50"), (True, "1")],
)
def test_excel_number(value: object, exact: str) -> None:
    assert excel_number(value) == Decimal(exact)  # type: ignore[arg-type]


TEXT = "Écriture n° 12: Müller & Söhne, 1'234.50 CHF — «Garage»"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_encodings_with_certainty(data: bytes, encoding: str) -> None:
    assert detect_encoding(data)[0] == encoding
    assert decode(data)[0].lstrip("\ufeff") == TEXT


@pytest.mark.parametrize("codec", ["cp1252", "iso-8859-1", "iso-8859-15"])
def test_western_single_byte_encodings_decode_to_the_same_text(codec: str) -> None:
    text = "Solde à nouveau Caisse; Réserve générale; Müller; Gebühren für Überweisung\n" * 20
    data = text.encode(codec)
    assert decode(data)[0] == text


def test_cp437_and_cp850_decode_when_named() -> None:
    text = "Kassa och bank; Ränteintäkter; Övningsbolaget AB"
    for codec in ("cp437", "cp850"):
        assert decode(text.encode(codec), codec)[0] == text


def test_wrong_encoding_names_the_file_and_suggests_the_option() -> None:
    with pytest.raises(ParseError, match=r"journal\.csv is not valid utf-8.*--encoding"):
        decode("Müller".encode("cp1252"), "utf-8", "journal.csv")


def test_dos_code_page_is_recognised_without_being_named() -> None:
    text = '#KONTO 3740 "Öres- och kronutjämning"\n#KONTO 8300 "Ränteintäkter"\n' * 5
    assert detect_encoding(text.encode("cp437"))[0] == "cp437"
    assert detect_encoding(text.encode("cp1252"))[0] == "cp1252"


@pytest.mark.parametrize(
    ("layout", "texts", "days"),
    [
        ("%Y-%m-%d", ["2024-01-31", "2024-02-30", "2023-02-29", "2024-02-29", None],
         [dt.date(2024, 1, 31), None, None, dt.date(2024, 2, 29), None]),
        ("%Y%m%d", ["20240131", "20240230", "20241301", "20240431"], [dt.date(2024, 1, 31), None, None, None]),
    ],
)  # fmt: skip
def test_strict_dates_refuse_days_a_month_does_not_have(layout: str, texts: list[str | None], days: list) -> None:  # type: ignore[type-arg]
    import pyarrow as pa

    from migrator.parsing import strict_dates

    assert strict_dates(pa.array(texts, pa.string()), layout).to_pylist() == days


def test_a_dbf_date_that_does_not_exist_is_not_rolled_over() -> None:
    import numpy as np

    from migrator.dbf import _dates

    raw = np.frombuffer(b"2024013120240230", dtype=np.uint8).reshape(2, 8)
    assert _dates(raw).to_pylist() == [dt.date(2024, 1, 31), None]
