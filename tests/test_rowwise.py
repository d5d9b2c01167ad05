"""migrator.rowwise: `same_keys_table` is `model.table`; the collector comes back as it was."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from migrator.model import table
from migrator.rowwise import collector_paused, same_keys_table

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
def test_same_keys_table_is_model_table(rows: list[dict[str, object]]) -> None:
    made, expected = same_keys_table("lines", rows), table("lines", rows)
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
