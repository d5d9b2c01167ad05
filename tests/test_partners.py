"""Address-book helpers: street and building number, IBAN check, countries, languages, kinds, codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.partners import (
    check_iban,
    country_code,
    iban_ok,
    language_code,
    partner_kind,
    split_street,
    unique_codes,
)


@pytest.mark.parametrize(
    ("text", "street", "number"),
    [
        ("Route de Thoune 8", "Route de Thoune", "8"),
        ("Hafenstraße 17a", "Hafenstraße", "17a"),
        ("8, rue du Lac", "rue du Lac", "8"),
        ("12 rue de la Gare", "rue de la Gare", "12"),
        ("Bahnhofstrasse 4-6", "Bahnhofstrasse", "4-6"),
        ("Via Cantonale 12 B", "Via Cantonale", "12B"),
        ("Avenue de la Gare 21bis", "Avenue de la Gare", "21bis"),
        ("Rue du 1er-Mars 5", "Rue du 1er-Mars", "5"),
        ("Rue du 1er-Mars", "Rue du 1er-Mars", ""),
        ("Case postale 12", "Case postale 12", ""),
        ("Postfach 45", "Postfach 45", ""),
        ("Chemin des Vignes", "Chemin des Vignes", ""),
        ("  Route   de Thoune  8 ", "Route de Thoune", "8"),
        ("", "", ""),
    ],
)
def test_split_street(text: str, street: str, number: str) -> None:
    assert split_street(text) == (street, number)


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèäöüßÀÉ", min_size=2, max_size=10)


@given(st.lists(_WORD, min_size=1, max_size=4), st.integers(1, 9999), st.sampled_from(["", "a", "b", "C"]))
def test_a_street_and_its_number_come_apart_either_way(words: list[str], number: int, letter: str) -> None:
    street = " ".join(w.capitalize() for w in words)
    assert split_street(f"{street} {number}{letter}") == (street, f"{number}{letter}")
    assert split_street(f"{number}{letter}, {street}") == (street, f"{number}{letter}")


@given(st.lists(_WORD, min_size=1, max_size=4))
def test_a_street_without_number_stays_whole(words: list[str]) -> None:
    street = " ".join(words)
    assert split_street(street) == (street, "")


def test_iban_check() -> None:
    assert iban_ok("CH93 0076 2011 6238 5295 7")  # the example IBAN of the Swiss banks' documentation
    assert iban_ok("DE89370400440532013000")
    assert not iban_ok("CH93 0076 2011 6238 5295 8")  # last digit changed
    assert not iban_ok("not an iban")
    kept, problems = check_iban("ch93 0076 2011 6238 5295 8", "address C1", "adresses.dbf", 4)
    assert kept == "CH9300762011623852958"
    assert [(p.severity, p.file, p.row) for p in problems] == [("warning", "adresses.dbf", 4)]
    assert "address C1" in problems[0].message and "mod 97" in problems[0].message
    assert check_iban("CH9300762011623852957", "x") == ("CH9300762011623852957", [])
    assert check_iban("  ", "x") == ("", [])


@given(st.text(alphabet="0123456789", min_size=12, max_size=20), st.sampled_from(["CH", "DE", "FR", "LI"]))
def test_iban_check_digits_computed_then_checked(bban: str, country: str) -> None:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    good = f"{country}{check:02d}{bban}"
    assert iban_ok(good)
    wrong = (int(bban[-1]) + 1) % 10
    assert not iban_ok(good[:-1] + str(wrong))  # one changed digit is always caught


@pytest.mark.parametrize(
    ("text", "code"),
    [("CH", "CH"), ("ch", "CH"), ("Suisse", "CH"), ("Schweiz", "CH"), ("Svizzera", "CH"), ("Switzerland", "CH"),
     ("Deutschland", "DE"), ("Allemagne", "DE"), ("D", "DE"), ("Österreich", "AT"), ("FL", "LI"),
     ("France", "FR"), ("Royaume-Uni", "GB"), ("Großbritannien", "GB"), ("", ""), ("Atlantis", None),
     ("XX", None)],
)  # fmt: skip
def test_country_code(text: str, code: str | None) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [("F", "fr"), ("D", "de"), ("I", "it"), ("E", "en"), ("fr", "fr"), ("français", "fr"), ("Deutsch", "de"),
     ("de-CH", "de"), ("italiano", "it"), ("English", "en"), ("", ""), ("Klingon", None), ("x", None)],
)  # fmt: skip
def test_language_code(text: str, code: str | None) -> None:
    assert language_code(text) == code


@pytest.mark.parametrize(
    ("company", "first", "last", "kind"),
    [("Pneus Léman SA", "", "", "company"), ("Carrosserie Weber", "", "", "company"), ("", "Jean", "Favre", "person"),
     ("", "", "Favre", "person"), ("", "Transports", "Weber AG", "company"), ("", "Autoteile", "Schmidt GmbH", "company"),
     ("", "Anna", "Sarbach", "person"), ("Müller Transport AG", "Hans", "Müller", "company"), ("", "", "", "")],
)  # fmt: skip
def test_partner_kind(company: str, first: str, last: str, kind: str) -> None:
    assert partner_kind(company, first, last) == kind


def test_unique_codes_keep_every_row_and_warn() -> None:
    codes, problems = unique_codes(["C1", "", "C1", "C2", " ", "C1"], ["1", "2", "3", "4", "5", "6"], "address",
                                   "adresses.dbf", [1, 2, 3, 4, 5, 6])  # fmt: skip
    assert codes == ["C1", "2", "C1-3", "C2", "5", "C1-6"]
    assert [p.row for p in problems] == [2, 3, 5, 6]
    assert all(p.severity == "warning" and p.file == "adresses.dbf" for p in problems)
    assert "no code" in problems[0].message and "'C1' is used by an earlier address" in problems[1].message


def test_a_derived_code_never_takes_another_rows_code() -> None:
    codes, _ = unique_codes(["", "2", "C1", "C1", "C1-4"], ["2", "9", "3", "4", "5"], "address")
    assert codes == ["2-2", "2", "C1", "C1-4-2", "C1-4"]
    assert len(set(codes)) == len(codes)


@given(st.lists(st.sampled_from(["", "A", "B", "A-2", "2", " "]), max_size=12))
def test_unique_codes_are_unique_stable_and_keep_good_codes(raw: list[str]) -> None:
    fallbacks = [str(i + 1) for i in range(len(raw))]
    codes, problems = unique_codes(raw, fallbacks, "item")
    assert len(codes) == len(raw) and len(set(codes)) == len(codes)
    assert all(c for c in codes)
    assert unique_codes(raw, fallbacks, "item")[0] == codes
    first_seen = {c.strip() for i, c in enumerate(raw) if c.strip() and c.strip() not in {r.strip() for r in raw[:i]}}
    assert first_seen <= set(codes)
    assert len(problems) == sum(1 for a, b in zip(raw, codes, strict=True) if a.strip() != b)
