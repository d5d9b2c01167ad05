"""Pipelining: one thread makes the next items while the caller works on the current one."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def ahead(items: Iterator[T], depth: int = 2, name: str = "ahead") -> Iterator[T]:
    """The items of `items`, made by a second thread up to `depth` items ahead of the caller.

    Worth it where making an item runs mostly outside Python's lock (Arrow parsing, casting, writing):
    the two threads then share the cores.
    """
    waiting: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the caller stopped reading

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(done)
        except BaseException as exc:  # handed to the caller, raised there
            offer(exc)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
