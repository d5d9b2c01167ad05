"""`model.table` (columns collected only for the keys the rows carry) is the table built row by row
over every column; `rowwise.collector_paused` leaves the collector as it was."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from migrator.model import _by_rows, table
from migrator.rowwise import collector_paused

DAY = dt.date(2024, 3, 1)
FULL = {"entry": "1", "line": 1, "date": DAY, "account": "1000", "amount": 500, "description": None, "opening": None}
OTHER = {"entry": "2", "account": "2000", "amount": None, "currency": "EUR", "amount_currency": -400, "opening": True}


@pytest.mark.parametrize(
    "rows",
    [
        [FULL, FULL],  # the same keys: one pass
        [FULL, OTHER],  # other keys: every key any row has
        [OTHER, FULL, OTHER],
        [{"amount": 1}, {"amount": None}],  # one key
        [{"unknown": 1}],  # no column of the table: a row of defaults
        [],
    ],
)
def test_table_from_the_keys_rows_carry_is_the_table_built_row_by_row(rows: list[dict[str, object]]) -> None:
    made, expected = table("lines", rows), _by_rows("lines", rows)
    assert made.schema.equals(expected.schema, check_metadata=True)
    assert made.equals(expected)
    assert made.num_rows == len(rows)


def test_collector_paused_and_restored() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_flags_true_by_default_stay_true_where_rows_say_nothing() -> None:
    rows = [{"id": "C1", "active": None, "payment_terms": 30}, {"id": "C2", "active": False, "payment_terms": None}]
    for given in (rows, [{"id": "C3"}], [{"id": "C1", "active": None}, {"id": "C2"}]):
        made, expected = table("partners", given), _by_rows("partners", given)
        assert made.equals(expected) and made.schema.equals(expected.schema, check_metadata=True)
    assert table("partners", rows).column("active").to_pylist() == [True, False]
