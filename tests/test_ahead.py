"""`ahead`: items made by a second thread, in order, errors and early stops handled."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from migrator.ahead import ahead


def test_batches_parsed_ahead_arrive_in_order_and_errors_reach_the_reader() -> None:
    def numbers(fail_at: int | None):  # type: ignore[no-untyped-def]
        for i in range(20):
            if i == fail_at:
                raise pa.ArrowInvalid("bad block")
            yield i

    assert list(ahead(numbers(None))) == list(range(20))
    got = []
    with pytest.raises(pa.ArrowInvalid, match="bad block"):
        for item in ahead(numbers(7)):
            got.append(item)
    assert got == list(range(7))


def test_a_reader_that_stops_early_stops_the_parsing_thread() -> None:
    stream = ahead(iter(range(1000)), depth=1)
    assert next(stream) == 0
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "ahead"]
