"""Drop duplicates within a window: Canvas delivers at least once, and so do we after a crash."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class DedupWindow:
    """The ids seen in the last `seconds` (at most `size` of them, the oldest forgotten first)."""

    def __init__(self, seconds: float = 600.0, size: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        self._forget_old()
        return key in self._seen

    def add(self, key: str) -> None:
        """Remember `key` (once its event was delivered: a failed delivery must not mark it seen)."""
        self._seen[key] = self._clock()
        self._seen.move_to_end(key)
        self._forget_old()

    def _forget_old(self) -> None:
        now = self._clock()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at <= self.seconds and len(self._seen) <= self.size:
                return
            del self._seen[oldest]
