"""Support relations (支援关系) and the review jurisdiction derived from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class SupportRelation:
    """``supporter`` supports ``supported`` from ``start`` to ``end`` (inclusive, open-ended if None)."""

    supporter_code: str
    supported_code: str
    start: date
    end: date | None = None

    def active_on(self, day: date) -> bool:
        """True if the relation is in force on ``day``."""
        return self.start <= day and (self.end is None or day <= self.end)


class SupportNetwork:
    """Who supports whom on a given day, directly or through a chain (city → county → township → village).

    Edges are built once per day asked about and walks are memoised: every button press asks these
    questions, and a city has hundreds of relations.
    """

    def __init__(self, relations: Iterable[SupportRelation]):
        self._relations = list(relations)
        self._day: date | None = None
        self._down: dict[str, set[str]] = {}
        self._up: dict[str, set[str]] = {}
        self._reach: dict[str, frozenset[str]] = {}
        self._supporters: dict[str, frozenset[str]] = {}

    def _at(self, day: date) -> None:
        if day == self._day:
            return
        down: dict[str, set[str]] = defaultdict(set)
        up: dict[str, set[str]] = defaultdict(set)
        for r in self._relations:
            if r.active_on(day):
                down[r.supporter_code].add(r.supported_code)
                up[r.supported_code].add(r.supporter_code)
        self._day, self._down, self._up = day, dict(down), dict(up)
        self._reach, self._supporters = {}, {}

    @staticmethod
    def _walk(edges: dict[str, set[str]], start: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = list(edges.get(start, ()))
        while stack:
            code = stack.pop()
            if code in seen or code == start:
                continue
            seen.add(code)
            stack.extend(edges.get(code, ()))
        return frozenset(seen)

    def directly_supported(self, supporter_code: str, day: date) -> set[str]:
        """Institutions ``supporter_code`` supports directly on ``day``."""
        self._at(day)
        return set(self._down.get(supporter_code, ()))

    def reachable(self, supporter_code: str, day: date) -> set[str]:
        """Every institution ``supporter_code`` supports on ``day``, directly or down a chain."""
        self._at(day)
        if supporter_code not in self._reach:
            self._reach[supporter_code] = self._walk(self._down, supporter_code)
        return set(self._reach[supporter_code])

    def supports(self, supporter_code: str, supported_code: str, day: date, *, direct: bool = False) -> bool:
        """True if ``supporter_code`` supports ``supported_code`` on ``day`` (directly if ``direct``)."""
        self._at(day)
        if direct:
            return supported_code in self._down.get(supporter_code, ())
        return supporter_code in self.supporters_of(supported_code, day)

    def supporters_of(self, supported_code: str, day: date) -> set[str]:
        """Institutions that support ``supported_code`` on ``day``, directly or down a chain."""
        self._at(day)
        if supported_code not in self._supporters:
            self._supporters[supported_code] = self._walk(self._up, supported_code)
        return set(self._supporters[supported_code])
