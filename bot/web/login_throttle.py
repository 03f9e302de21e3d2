"""Growing delays after failed dashboard logins, per client and account: never a lock on the account itself.

A lock on the account (five failures, fifteen minutes, for everyone) let anyone who knows a staff code, and codes
are sequential, keep that administrator out. Here failures count against the pair (client address, code typed) and,
more loosely, against the client alone (one address trying many codes); the real administrator logging in from
another client is never held back. Codes are counted as typed, known or not, so being throttled reveals nothing
about which codes exist. Failures are forgotten an hour after the last one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_PER_ACCOUNT = 3  # failures on one code from one client before the first delay
FREE_PER_CLIENT = 10  # failures on any codes from one client before the first delay
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)
MAX_TRACKED = 50_000  # entries kept at most; the oldest go first (a flood of addresses cannot fill the memory)


def delay_after(failures: int, free: int) -> timedelta:
    """The wait after ``failures`` consecutive failures: none up to ``free``, then 30 s doubling to 15 minutes."""
    if failures <= free:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - free - 1, 20), MAX_DELAY)


@dataclass(slots=True)
class _Failures:
    count: int
    last: datetime


class LoginThrottle:
    """In-memory failure counts of one dashboard process (thread-safe: logins are checked in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, ...], _Failures] = {}

    @staticmethod
    def _keys(client: str, code: str) -> tuple[tuple[tuple[str, ...], int], ...]:
        return ((("account", client, code.strip().casefold()), FREE_PER_ACCOUNT), (("client", client), FREE_PER_CLIENT))

    def wait(self, client: str, code: str, now: datetime) -> timedelta | None:
        """How long this client must wait before trying ``code`` again, or None when it may try now."""
        longest = timedelta(0)
        with self._lock:
            for key, free in self._keys(client, code):
                f = self._seen.get(key)
                if f is None:
                    continue
                if now - f.last >= FORGET_AFTER:
                    del self._seen[key]
                    continue
                longest = max(longest, f.last + delay_after(f.count, free) - now)
        return longest if longest > timedelta(0) else None

    def note(self, client: str, code: str, ok: bool, now: datetime) -> None:
        """Count a failure against the client and the pair, or clear the pair's count after a success."""
        with self._lock:
            if ok:
                self._seen.pop(self._keys(client, code)[0][0], None)
                return
            for key, _free in self._keys(client, code):
                f = self._seen.get(key)
                if f is None or now - f.last >= FORGET_AFTER:
                    self._seen[key] = _Failures(1, now)
                else:
                    f.count, f.last = f.count + 1, now
            if len(self._seen) > MAX_TRACKED:
                for key in sorted(self._seen, key=lambda k: self._seen[k].last)[: len(self._seen) - MAX_TRACKED]:
                    del self._seen[key]


def wait_text(wait: timedelta) -> str:
    """``2分30秒`` / ``45秒``: a wait in words, rounded up to the second."""
    seconds = max(1, int(-(-wait.total_seconds() // 1)))
    minutes, seconds = divmod(seconds, 60)
    return (f"{minutes}分" if minutes else "") + (f"{seconds}秒" if seconds or not minutes else "")
