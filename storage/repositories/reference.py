"""Places, institutions, support relations and the specialty table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.permissions import Jurisdiction
from domain.places import Gazetteer, Institution, InstitutionKind, Place, PlaceLevel
from domain.specialties import Specialty
from domain.support import SupportNetwork, SupportRelation
from storage.repositories.base import Repository
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
        return _upsert(
            self.s,
            PlaceRow,
            p.code,
            name=p.name,
            level=p.level.value,
            parent_code=p.parent_code,
            market_days=p.market_days,
        )

    def upsert_institution(self, i: Institution, *, keep_phone: bool = False) -> bool:
        """Insert or update an institution; True if anything changed. ``keep_phone``: leave the stored phone
        alone (the file had no phone column)."""
        values: dict[str, str | None] = dict(name=i.name, kind=i.kind.value, place_code=i.place_code)
        if not keep_phone:
            values["phone"] = i.phone
        return _upsert(self.s, InstitutionRow, i.code, **values)

    def upsert_relation(self, r: SupportRelation) -> bool:
        """Insert a relation or update its end date; True if anything changed."""
        row = self.s.exec(
            select(SupportRow).where(
                col(SupportRow.supporter_code) == r.supporter_code,
                col(SupportRow.supported_code) == r.supported_code,
                col(SupportRow.start_date) == r.start,
            )
        ).first()
        if row is None:
            self.s.add(
                SupportRow(
                    supporter_code=r.supporter_code, supported_code=r.supported_code, start_date=r.start, end_date=r.end
                )
            )
            return True
        if row.end_date != r.end:
            row.end_date = r.end
            self.s.add(row)
            return True
        return False

    def sync_specialties(self, specialties: Iterable[Specialty]) -> int:
        """Make the specialty table match the catalogue; returns the number of rows changed."""
        return sum(
            _upsert(self.s, SpecialtyRow, sp.code, name=sp.name, parent_code=sp.parent_code) for sp in specialties
        )

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


def _upsert(s: Session, table, key: str, **values) -> bool:
    row = s.get(table, key)
    if row is None:
        s.add(table(**{table.__mapper__.primary_key[0].name: key}, **values))
        s.flush()
        return True
    changed = False
    for k, v in values.items():
        if getattr(row, k) != v:
            setattr(row, k, v)
            changed = True
    if changed:
        s.add(row)
    return changed


def _place(r: Any) -> Place:
    return Place(r.code, r.name, PlaceLevel(r.level), r.parent_code, r.market_days)


def _institution(r: Any) -> Institution:
    return Institution(r.code, r.name, InstitutionKind(r.kind), r.place_code, r.phone)
