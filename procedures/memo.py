"""Values read on every request that change only when an administrator changes them: kept
in the process for a few seconds, and forgotten at once in the process that changes them.

Another process (a gunicorn worker, another node) sees a change at the latest after
``seconds``; only values for which that delay is harmless are kept so (procedures.auth,
procedures.selectors).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import transaction

T = TypeVar("T")


class Recent(Generic[T]):
    """``get()``: ``compute()``'s value, computed again when older than ``seconds`` or
    after ``forget()``. Callers must not change the value they get."""

    def __init__(self, compute: Callable[[], T], seconds: float):
        self.compute = compute
        self.seconds = seconds
        self._value: T | None = None
        self._at: float | None = None

    def get(self) -> T:
        now = time.monotonic()
        if self._at is None or now - self._at >= self.seconds:
            self._value = self.compute()
            self._at = now
        return self._value  # type: ignore[return-value]

    def forget(self, *args, **kwargs) -> None:
        """Also a signal receiver: its arguments are ignored. Forgotten now, and again
        once the change commits (a read made in between saw the rows before it)."""
        self._at = None
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(self._clear)

    def _clear(self) -> None:
        self._at = None
