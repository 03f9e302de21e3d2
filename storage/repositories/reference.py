"""Places, institutions, support relations and the specialty table."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from domain.permissions import Jurisdiction
from domain.places import Gazetteer, Institution, InstitutionKind, Place, PlaceLevel
from domain.specialties import Specialty
from domain.support import SupportNetwork, SupportRelation
from storage.repositories.base import KeyedRows, Repository
from storage.tables import (
    CounterRow,
    InstitutionRow,
    PlaceRow,
    SpecialtyRow,
    SupportRow,
)

# Statements built once, at import, so that SQLAlchemy's compiled cache finds them without walking them again.
_PLACE = PlaceRow.__table__.c  # type: ignore[attr-defined]
_INSTITUTION = InstitutionRow.__table__.c  # type: ignore[attr-defined]
_SUPPORT = SupportRow.__table__.c  # type: ignore[attr-defined]
# The whole gazetteer and support network are read as plain rows: a worker reloads them after every import or
# staff binding, and building an ORM object per row cost three times the reading.
_ALL_PLACES = sa.select(_PLACE.code, _PLACE.name, _PLACE.level, _PLACE.parent_code, _PLACE.market_days)
_ALL_INSTITUTIONS = sa.select(
    _INSTITUTION.code, _INSTITUTION.name, _INSTITUTION.kind, _INSTITUTION.place_code, _INSTITUTION.phone
).order_by(_INSTITUTION.code)
_ALL_RELATIONS = sa.select(
    _SUPPORT.supporter_code, _SUPPORT.supported_code, _SUPPORT.start_date, _SUPPORT.end_date
).order_by(_SUPPORT.id)
# An import writes what differs from what is stored, set-wise (``KeyedRows``).
_PLACES = KeyedRows(PlaceRow, ("code",), ("name", "level", "parent_code", "market_days"))
_INSTITUTIONS = KeyedRows(InstitutionRow, ("code",), ("name", "kind", "place_code", "phone"))
_RELATIONS = KeyedRows(SupportRow, ("supporter_code", "supported_code", "start_date"), ("end_date",))
_SPECIALTIES = KeyedRows(SpecialtyRow, ("code",), ("name", "parent_code"))
_COUNTER_VALUE = sa.select(CounterRow.__table__.c.value).where(  # type: ignore[attr-defined]
    CounterRow.__table__.c.name == sa.bindparam("name")  # type: ignore[attr-defined]
)


class ReferenceRepository(Repository):
    """Places, institutions, support relations and the specialty table."""

    def gazetteer(self) -> Gazetteer:
        """Every place, as a hierarchy."""
        return Gazetteer(_place(r) for r in self.c.execute(_ALL_PLACES).all())

    def place(self, code: str) -> Place | None:
        """One place, or None."""
        row = self.s.get(PlaceRow, code)
        return _place(row) if row else None

    def children(self, code: str) -> list[Place]:
        """The direct children of a place, by code."""
        rows = self.s.exec(select(PlaceRow).where(col(PlaceRow.parent_code) == code).order_by(col(PlaceRow.code)))
        return [_place(r) for r in rows]

    def places_at(self, level: PlaceLevel) -> list[Place]:
        """All places of one level, by code."""
        rows = self.s.exec(select(PlaceRow).where(col(PlaceRow.level) == level.value).order_by(col(PlaceRow.code)))
        return [_place(r) for r in rows]

    def institution(self, code: str) -> Institution | None:
        """One institution, or None."""
        row = self.s.get(InstitutionRow, code)
        return _institution(row) if row else None

    def institutions(self, kind: InstitutionKind | None = None) -> list[Institution]:
        """All institutions (of one kind), by code."""
        q = _ALL_INSTITUTIONS if kind is None else _ALL_INSTITUTIONS.where(_INSTITUTION.kind == kind.value)
        return [_institution(r) for r in self.c.execute(q).all()]

    def relations(self) -> list[SupportRelation]:
        """Every support relation, current or not."""
        return [SupportRelation(*r) for r in self.c.execute(_ALL_RELATIONS).all()]

    def jurisdiction(self) -> Jurisdiction:
        """Institutions and support network, for permission checks."""
        return Jurisdiction.build(self.institutions(), SupportNetwork(self.relations()))

    def upsert_place(self, p: Place) -> bool:
        """Insert or update a place; True if anything changed."""
        return self.upsert_places([p])[0]

    def upsert_places(self, places: Sequence[Place]) -> list[bool]:
        """Insert or update places, in order (a parent before its children); per place, True if it changed."""
        rows = [dict(code=p.code, name=p.name, level=p.level.value, parent_code=p.parent_code,
                     market_days=p.market_days) for p in places]
        return self._write(_PLACES, rows)

    def upsert_institutions(self, institutions: Sequence[Institution], keep_phone: Collection[str] = ()
                            ) -> list[bool]:
        """Insert or update institutions; per institution, True if it changed. ``keep_phone``: codes whose stored
        phone is left alone (their file had no phone column)."""
        rows: list[dict[str, str | None]] = []
        for i in institutions:
            row: dict[str, str | None] = dict(code=i.code, name=i.name, kind=i.kind.value, place_code=i.place_code)
            if i.code not in keep_phone:
                row["phone"] = i.phone
            rows.append(row)
        return self._write(_INSTITUTIONS, rows)

    def upsert_relations(self, relations: Sequence[SupportRelation]) -> list[bool]:
        """Insert relations or update their end dates; per relation, True if it changed."""
        rows = [dict(supporter_code=r.supporter_code, supported_code=r.supported_code, start_date=r.start,
                     end_date=r.end) for r in relations]
        return self._write(_RELATIONS, rows)

    def sync_specialties(self, specialties: Iterable[Specialty]) -> int:
        """Make the specialty table match the catalogue; returns the number of rows changed."""
        rows = [dict(code=sp.code, name=sp.name, parent_code=sp.parent_code) for sp in specialties]
        return sum(self._write(_SPECIALTIES, rows))

    def _write(self, table: KeyedRows, rows: list) -> list[bool]:
        if not rows:
            return []
        out = table.write(self.c, rows)
        if any(out):
            self._written(table.model)
        return out

    def version(self) -> int:
        """A number that changes whenever reference data changes (for caches)."""
        if self.uow.reference_version_seen is not None:  # read with the account at the start of this update
            return self.uow.reference_version_seen
        value = self.c.execute(_COUNTER_VALUE, {"name": "reference_version"}).scalar()
        return int(value) if value is not None else 0

    def counts(self) -> dict[str, int]:
        """How many places (per level), institutions and relations are loaded."""
        out: dict[str, int] = {}
        for level, n in self.s.exec(select(col(PlaceRow.level), sa.func.count()).group_by(col(PlaceRow.level))):
            out[f"places.{level}"] = n
        for kind, n in self.s.exec(
            select(col(InstitutionRow.kind), sa.func.count()).group_by(col(InstitutionRow.kind))
        ):
            out[f"institutions.{kind}"] = n
        out["support_relations"] = self.s.exec(select(sa.func.count()).select_from(SupportRow)).one()
        out["specialties"] = self.s.exec(select(sa.func.count()).select_from(SpecialtyRow)).one()
        return out


def _place(r: Any) -> Place:
    return Place(r.code, r.name, PlaceLevel(r.level), r.parent_code, r.market_days)


def _institution(r: Any) -> Institution:
    return Institution(r.code, r.name, InstitutionKind(r.kind), r.place_code, r.phone)
