"""Progress on stderr for long command-line work (imports, planning, reports, benchmarks)."""

from __future__ import annotations

import sys
import time
from collections import Counter


class Progress:
    """Counts items per label; on a terminal, redraws one status line at most ten times a second.

    A pipe or a log file gets no redraws (a carriage return and ``ESC [K`` there are noise): only the final line.
    """

    def __init__(self, title: str, total: int | None = None, stream=None):
        self.title = title
        self.total = total
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.counts: Counter[str] = Counter()
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, label: str = "", n: int = 1) -> None:
        self.counts[label] += n
        now = time.monotonic()
        if self.live and now - self._last >= 0.1:
            self._last = now
            self.stream.write(f"\r{self._line()}\x1b[K")
            self.stream.flush()

    def _line(self) -> str:
        done = sum(self.counts.values())
        parts = " ".join(f"{k} {v}" for k, v in self.counts.items() if k)
        bar = ""
        if self.total:
            filled = int(30 * min(done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} "
        return f"{self.title} {bar}{parts}".rstrip()

    def finish(self) -> float:
        """Write the final line (over the status line on a terminal) and return the elapsed seconds."""
        self.stream.write(("\r" if self.live else "") + self._line() + ("\x1b[K" if self.live else "") + "\n")
        self.stream.flush()
        return time.monotonic() - self._started
