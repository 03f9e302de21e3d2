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
    """Who supports whom on a given day, directly or through a chain (city → county → township → village)."""

    def __init__(self, relations: Iterable[SupportRelation]):
        self._relations = list(relations)

    def _edges(self, day: date) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = defaultdict(set)
        for r in self._relations:
            if r.active_on(day):
                edges[r.supporter_code].add(r.supported_code)
        return edges

    def directly_supported(self, supporter_code: str, day: date) -> set[str]:
        """Institutions ``supporter_code`` supports directly on ``day``."""
        return set(self._edges(day).get(supporter_code, ()))

    def reachable(self, supporter_code: str, day: date) -> set[str]:
        """Every institution ``supporter_code`` supports on ``day``, directly or down a chain."""
        edges = self._edges(day)
        seen: set[str] = set()
        stack = list(edges.get(supporter_code, ()))
        while stack:
            code = stack.pop()
            if code in seen or code == supporter_code:
                continue
            seen.add(code)
            stack.extend(edges.get(code, ()))
        return seen

    def supports(self, supporter_code: str, supported_code: str, day: date, *, direct: bool = False) -> bool:
        """True if ``supporter_code`` supports ``supported_code`` on ``day`` (directly if ``direct``)."""
        if direct:
            return supported_code in self.directly_supported(supporter_code, day)
        return supported_code in self.reachable(supporter_code, day)

    def supporters_of(self, supported_code: str, day: date) -> set[str]:
        """Institutions that support ``supported_code`` on ``day``, directly or down a chain."""
        return {
            r.supporter_code
            for r in self._relations
            if r.active_on(day) and supported_code in self.reachable(r.supporter_code, day)
        }
