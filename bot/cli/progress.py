"""Progress on stderr for long command-line work (imports, planning, reports, benchmarks)."""

from __future__ import annotations

import sys
import time
from collections import Counter


class Progress:
    """Counts items per label and redraws one status line at most ten times a second."""

    def __init__(self, title: str, total: int | None = None, stream=None):
        self.title = title
        self.total = total
        self.stream = stream or sys.stderr
        self.counts: Counter[str] = Counter()
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, label: str = "", n: int = 1) -> None:
        self.counts[label] += n
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self, end: str = "") -> None:
        done = sum(self.counts.values())
        parts = " ".join(f"{k} {v}" for k, v in self.counts.items() if k)
        bar = ""
        if self.total:
            filled = int(30 * min(done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} "
        self.stream.write(f"\r{self.title} {bar}{parts}\x1b[K{end}")
        self.stream.flush()

    def finish(self) -> float:
        """Draw the final line and return the elapsed seconds."""
        self._draw(end="\n")
        return time.monotonic() - self._started
