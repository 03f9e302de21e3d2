"""First-diagnosis catalogues: dated entries per center, the target tier, and the entry each order matched."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from domain.catalogue import CatalogueEntry, CatalogueMatch, Tier
from storage.repositories.base import Repository
from storage.repositories.ledgers import china_bounds
from storage.tables import CatalogueEntryRow, CatalogueTierRow, OrderCatalogueMatchRow, OrderRow

WORDS_SEPARATOR = "、"


def _entry(row: Any) -> CatalogueEntry:
    return CatalogueEntry(row.institution_code, row.disease, row.icd10, row.added_on, row.removed_on, row.id)


class CatalogueRepository(Repository):
    """Catalogue entries (never deleted: a removal is dated), tiers and order matches."""

    def entries(self, institution_code: str) -> list[CatalogueEntry]:
        """Every entry a center's catalogue has ever had, current and removed."""
        return [_entry(r) for r in self.c.execute(_ENTRIES, {"code": institution_code})]

    def entries_of(self, institution_codes: Iterable[str]) -> dict[str, list[CatalogueEntry]]:
        """Every entry of these centers, by center."""
        codes = sorted(set(institution_codes))
        out: dict[str, list[CatalogueEntry]] = {c: [] for c in codes}
        if codes:
            q = select(CatalogueEntryRow).where(col(CatalogueEntryRow.institution_code).in_(codes))
            for r in self.s.exec(q.order_by(col(CatalogueEntryRow.id))):
                out[r.institution_code].append(_entry(r))
        return out

    def add(self, entry: CatalogueEntry, source: str, staff_id: int | None) -> CatalogueEntry:
        """Store a new entry; returns it with its id."""
        row = CatalogueEntryRow(institution_code=entry.institution_code, disease=entry.disease, icd10=entry.icd10,
                                added_on=entry.added_on, removed_on=entry.removed_on, source=source,
                                added_by_staff_id=staff_id)
        self.s.add(row)
        self.s.flush()
        return _entry(row)

    def remove(self, entry_id: int, day: date, staff_id: int | None) -> None:
        """Date an entry's removal (it stays, so the past can be read back)."""
        self.s.exec(sa.update(CatalogueEntryRow).where(col(CatalogueEntryRow.id) == entry_id)
                    .values(removed_on=day, removed_by_staff_id=staff_id))

    def tiers(self) -> dict[str, Tier]:
        """The tier an administrator set for each center that has one."""
        return {code: Tier(tier) for code, tier in self.s.exec(select(CatalogueTierRow.institution_code,
                                                                      CatalogueTierRow.tier))}

    def set_tier(self, institution_code: str, tier: Tier, now: datetime) -> None:
        """Hold a center's catalogue to ``tier``'s target."""
        row = self.s.get(CatalogueTierRow, institution_code)
        if row is None:
            row = CatalogueTierRow(institution_code=institution_code, tier=tier.value, updated_at=now)
        row.tier, row.updated_at = tier.value, now
        self.s.add(row)

    def save_match(self, order_id: int, institution_code: str, match: CatalogueMatch, now: datetime) -> None:
        """Remember which entry an order's need matched (replacing an earlier match of the same order)."""
        self.s.exec(sa.delete(OrderCatalogueMatchRow).where(col(OrderCatalogueMatchRow.order_id) == order_id))
        self.s.add(OrderCatalogueMatchRow(order_id=order_id, institution_code=institution_code,
                                          disease=match.disease, icd10=match.icd10,
                                          words=WORDS_SEPARATOR.join(match.words)[:200], matched_at=now))
        self.s.flush()

    def clear_match(self, order_id: int) -> None:
        """Forget an order's match (its need, edited, no longer names a catalogue disease)."""
        self.s.exec(sa.delete(OrderCatalogueMatchRow).where(col(OrderCatalogueMatchRow.order_id) == order_id))

    def match_of(self, order_id: int | None) -> CatalogueMatch | None:
        """The entry an order matched when filed, or None."""
        return self.matches_of([order_id] if order_id else []).get(order_id or 0)

    def matched_by(self, order_id: int | None) -> str | None:
        """The center whose catalogue an order's need matched, or None."""
        if not order_id:
            return None
        row = self.c.execute(_MATCHES, {"ids": [order_id]}).first()
        return None if row is None else str(row.institution_code)

    def matches_of(self, order_ids: Iterable[int]) -> dict[int, CatalogueMatch]:
        """The matches of these orders, by order id (orders without one are absent)."""
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        return {r.order_id: CatalogueMatch(r.disease, r.icd10, tuple(w for w in r.words.split(WORDS_SEPARATOR) if w))
                for r in self.c.execute(_MATCHES, {"ids": ids})}

    def forget_orders(self, order_ids: sa.Select) -> None:
        """Erase the matches of these orders (a resident's erasure: what their need matched is health data)."""
        self.s.exec(sa.delete(OrderCatalogueMatchRow).where(col(OrderCatalogueMatchRow.order_id).in_(order_ids)))

    def match_counts(self, institution_codes: Iterable[str], first: date, last: date) -> dict[str, tuple[int, int]]:
        """Orders filed from ``first`` to ``last`` (Sanming days) that matched each center's catalogue, and how
        many of those were handled locally: ``{center: (matched, handled locally)}``."""
        codes = sorted(set(institution_codes))
        if not codes:
            return {}
        start, end = china_bounds(first, last)
        local = sa.func.sum(sa.case((col(OrderRow.status) == "handled_locally", 1), else_=0))
        q = (
            select(OrderCatalogueMatchRow.institution_code, sa.func.count(), local)
            .join(OrderRow, col(OrderRow.id) == col(OrderCatalogueMatchRow.order_id))
            .where(col(OrderCatalogueMatchRow.institution_code).in_(codes),
                   col(OrderRow.created_at) >= start, col(OrderRow.created_at) < end)
            .group_by(col(OrderCatalogueMatchRow.institution_code))
        )
        return {code: (int(n), int(k or 0)) for code, n, k in self.s.exec(q)}


# Read on every order filed and every township card: Core statements built once (the compiled cache keeps them).
_ENTRY_TABLE: sa.Table = CatalogueEntryRow.__table__  # type: ignore[attr-defined]
_MATCH_TABLE: sa.Table = OrderCatalogueMatchRow.__table__  # type: ignore[attr-defined]
_ENTRIES = (sa.select(_ENTRY_TABLE).where(_ENTRY_TABLE.c.institution_code == sa.bindparam("code"))
            .order_by(_ENTRY_TABLE.c.id))
_MATCHES = sa.select(_MATCH_TABLE).where(_MATCH_TABLE.c.order_id.in_(sa.bindparam("ids", expanding=True)))
