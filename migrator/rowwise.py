"""For readers and writers that make a Python object per row of a large file (FEC, DATEV, Run my
Accounts, SIE, Excel): the cycle collector paused while they work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused: a reader that keeps a list or dict per row makes no cycles,
    but every full collection walks all of them again (1.7 of 7 s for a 180,000-row DATEV file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
