"""Unit of work and repositories: the only way the rest of the code touches the database."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlmodel import Session, col, select

from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from domain.errors import DomainError, PermissionDenied
from domain.orders import (
    AuditEvent,
    Disposition,
    Order,
    OrderStatus,
    SpecialPopulation,
    Urgency,
    order_number,
)
from domain.permissions import Jurisdiction
from domain.places import Gazetteer, Institution, InstitutionKind, Place, PlaceLevel
from domain.privacy import mask_free_text, normalise_phone
from domain.specialties import Specialty
from domain.staff import Consent, Resident, Role, Sex, Staff, TitleLevel
from domain.support import SupportNetwork, SupportRelation
from storage.alerts import EmergencyAlertRepository
from storage.chat import ChatRepository
from storage.circuits import ScheduleRepository
from storage.crypto import FieldCipher
from storage.db import begin_transaction, checkpoint_wal
from storage.links import LinkRepository
from storage.outbox import OutboxRepository
from storage.prepared import Prepared, Rows
from storage.repository import Repository, dialect_insert
from storage.send_budget import SendBudgetRepository
from storage.tables import (
    AuditRow,
    CircuitExpertRow,
    CircuitRow,
    CounterRow,
    InstitutionRow,
    OrderRow,
    PlaceRow,
    ResidentRow,
    SpecialtyRow,
    StaffRoleRow,
    StaffRow,
    StaffSpecialtyRow,
    SupportRow,
)

CHINA = ZoneInfo("Asia/Shanghai")
# Tables and statements of the hot path (every chat update reads or writes these): prepared (storage.prepared).
_ORDERS: sa.Table = OrderRow.__table__  # type: ignore[attr-defined]
_ORDER_SELECT = sa.select(_ORDERS).where(_ORDERS.c.id == sa.bindparam("id"))
_ORDER_BY_ID = Prepared(_ORDER_SELECT)
_ORDER_INSERT = Prepared(_ORDERS.insert().returning(_ORDERS.c.id), columns_from_params=True)
_ORDER_BY_ID_FOR_UPDATE = Prepared(_ORDER_SELECT.with_for_update())
_RESIDENT_BY_ID = Prepared(sa.select(ResidentRow.__table__).where(  # type: ignore[attr-defined]
    ResidentRow.__table__.c.id == sa.bindparam("id")  # type: ignore[attr-defined]
))
_COUNTER_VALUE = Prepared(sa.select(CounterRow.__table__.c.value).where(  # type: ignore[attr-defined]
    CounterRow.__table__.c.name == sa.bindparam("name")  # type: ignore[attr-defined]
))
_AUDIT_INSERT = Prepared(AuditRow.__table__.insert(), columns_from_params=True)  # type: ignore[attr-defined]
_STAFF_STANDING = Prepared(
    sa.select(col(StaffRow.active), col(StaffRoleRow.role))
    .select_from(StaffRow)
    .join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id), isouter=True)
    .where(col(StaffRow.id) == sa.bindparam("id"))
)
_RESIDENTS: sa.Table = ResidentRow.__table__  # type: ignore[attr-defined]
_RESIDENTS_IN_SELECT = (
    sa.select(_RESIDENTS)
    .where(_RESIDENTS.c.village_code.in_(sa.bindparam("villages", expanding=True)),
           _RESIDENTS.c.consent_withdrawn_at.is_(None))
    .order_by(_RESIDENTS.c.name, _RESIDENTS.c.id)
)
_RESIDENTS_IN = Prepared(_RESIDENTS_IN_SELECT, expanding=["villages"])
_RESIDENTS_BY_IDS = Prepared(sa.select(_RESIDENTS).where(_RESIDENTS.c.id.in_(sa.bindparam("ids", expanding=True))),
                             expanding=["ids"])
_RESIDENTS_NAMED_IN = Prepared(
    _RESIDENTS_IN_SELECT.where(_RESIDENTS.c.name.like(sa.bindparam("pattern"), escape="/")), expanding=["villages"]
)


@functools.cache
def _order_list(filters: tuple[str, ...], newest_first: bool) -> Prepared:
    """The SELECT behind ``OrderRepository.list`` for one combination of filters (built once each)."""
    o = _ORDERS.c
    conditions = {
        "resident": o.resident_id == sa.bindparam("resident"),
        "posts": o.post_code.in_(sa.bindparam("posts", expanding=True)),
        "statuses": o.status.in_(sa.bindparam("statuses", expanding=True)),
        "circuit": o.circuit_id == sa.bindparam("circuit"),
    }
    order = (o.id.desc(),) if newest_first else (o.created_at, o.id)
    return Prepared(sa.select(_ORDERS).where(*(conditions[f] for f in filters)).order_by(*order)
                    .limit(sa.bindparam("limit", type_=sa.Integer)),
                    expanding=[f for f in filters if f in ("posts", "statuses")])


@functools.cache
def _next_value(dialect_name: str) -> Prepared:
    """Increment a named counter, creating it at 1, and return the new value."""
    return Prepared(
        dialect_insert(dialect_name, CounterRow)
        .values(name=sa.bindparam("name"), value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": col(CounterRow.value) + 1})
        .returning(col(CounterRow.value))
    )


_EXPERT_LOAD = Prepared(
    sa.select(_ORDERS.c.assigned_expert_id, sa.func.count())
    .where(_ORDERS.c.assigned_expert_id.in_(sa.bindparam("experts", expanding=True)),
           _ORDERS.c.status.in_(sa.bindparam("open", expanding=True)))
    .group_by(_ORDERS.c.assigned_expert_id),
    expanding=["experts", "open"],
)
_ORDER_UPDATE = Prepared(
    _ORDERS.update()
    .where(_ORDERS.c.id == sa.bindparam("order_id"), _ORDERS.c.version == sa.bindparam("old_version"))
    .values(
        {
            **{c.name: sa.bindparam(c.name) for c in _ORDERS.c if c.name not in ("id", "number", "version")},
            "version": sa.bindparam("new_version"),
        }
    )
)
ERASED = "（内容已按居民要求删除）"
AUDIT_REDACTED = "（已删除）"  # the only value the audit trigger lets a reason be changed to (migration 0006)


class ConcurrentUpdate(DomainError):
    """Someone else changed the record between our read and our write."""


_Repo = Repository


class ReferenceRepository(_Repo):
    """Places, institutions, support relations and the specialty table."""

    def gazetteer(self) -> Gazetteer:
        """Every place, as a hierarchy."""
        return Gazetteer(_place(r) for r in self.s.exec(select(PlaceRow)))

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
        q = select(InstitutionRow).order_by(col(InstitutionRow.code))
        if kind is not None:
            q = q.where(col(InstitutionRow.kind) == kind.value)
        return [_institution(r) for r in self.s.exec(q)]

    def relations(self) -> list[SupportRelation]:
        """Every support relation, current or not."""
        return [
            SupportRelation(r.supporter_code, r.supported_code, r.start_date, r.end_date)
            for r in self.s.exec(select(SupportRow).order_by(col(SupportRow.id)))
        ]

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
        value = self.run(_COUNTER_VALUE, {"name": "reference_version"}).scalar()
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


def _place(r: PlaceRow) -> Place:
    return Place(r.code, r.name, PlaceLevel(r.level), r.parent_code, r.market_days)


def _institution(r: InstitutionRow) -> Institution:
    return Institution(r.code, r.name, InstitutionKind(r.kind), r.place_code, r.phone)


class StaffRepository(_Repo):
    """Health workers, their roles and specialties."""

    def get(self, staff_id: int) -> Staff | None:
        """One person by id, or None."""
        row = self.s.get(StaffRow, staff_id)
        return self._load(row) if row else None

    def standing(self, staff_id: int) -> tuple[bool, frozenset[Role]] | None:
        """(active, roles) of one person, in one query (what a chat menu depends on), or None."""
        rows = self.run(_STAFF_STANDING, {"id": staff_id}).all()
        if not rows:
            return None
        return bool(rows[0].active), frozenset(Role(r.role) for r in rows if r.role is not None)

    def by_code(self, code: str) -> Staff | None:
        """One person by staff code, or None."""
        row = self.s.exec(select(StaffRow).where(col(StaffRow.code) == code)).first()
        return self._load(row) if row else None

    def by_name(self, name: str) -> list[Staff]:
        """Everyone with this exact name."""
        return [self._load(r) for r in self.s.exec(select(StaffRow).where(col(StaffRow.name) == name))]

    def at_institution(self, code: str, role: Role | None = None) -> list[Staff]:
        """Staff of one institution (holding ``role``), by code."""
        q = select(StaffRow).where(col(StaffRow.institution_code) == code, col(StaffRow.active).is_(True))
        if role is not None:
            q = q.join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id)).where(
                col(StaffRoleRow.role) == role.value
            )
        return [self._load(r) for r in self.s.exec(q.order_by(col(StaffRow.code)))]

    def ids_at(self, institution_codes: Iterable[str], role: Role) -> list[int]:
        """Ids of active staff holding ``role`` at these institutions (for notifications: no full load)."""
        q = (
            sa.select(col(StaffRow.id))
            .join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id))
            .where(
                col(StaffRow.institution_code).in_(list(institution_codes)),
                col(StaffRow.active).is_(True),
                col(StaffRoleRow.role) == role.value,
            )
        )
        return [i for i in self.c.execute(q).scalars() if i is not None]

    def experts_with_specialty(self, hospital_codes: Iterable[str], specialty: str) -> list[Staff]:
        """Active experts at these hospitals whose specialty is ``specialty`` or lies under/over it."""
        top = specialty.split(".")[0]
        q = (
            select(StaffRow)
            .join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id))
            .join(StaffSpecialtyRow, col(StaffSpecialtyRow.staff_id) == col(StaffRow.id))
            .where(
                col(StaffRoleRow.role) == Role.EXPERT.value,
                col(StaffRow.active).is_(True),
                col(StaffRow.institution_code).in_(list(hospital_codes)),
                sa.or_(
                    col(StaffSpecialtyRow.specialty_code) == specialty,
                    col(StaffSpecialtyRow.specialty_code) == top,
                    col(StaffSpecialtyRow.specialty_code).startswith(specialty + "."),
                ),
            )
            .distinct()
            .order_by(col(StaffRow.code))
        )
        return [self._load(r) for r in self.s.exec(q)]

    def find_by_phone(self, phone: str) -> Staff | None:
        """The person with this mobile number (looked up by keyed hash), or None."""
        h = self.uow.cipher.lookup_hash(normalise_phone(phone), context="phone")
        row = self.s.exec(select(StaffRow).where(col(StaffRow.phone_hash) == h)).first()
        return self._load(row) if row else None

    def upsert(self, st: Staff) -> bool:
        """Insert or update by staff code, including roles and specialties; True if anything changed."""
        row = self.s.exec(select(StaffRow).where(col(StaffRow.code) == st.code)).first()
        changed = False
        if row is None:
            row = StaffRow(code=st.code, name=st.name, institution_code=st.institution_code, title=st.title.value)
            changed = True
        else:
            for k, v in (
                ("name", st.name),
                ("institution_code", st.institution_code),
                ("title", st.title.value),
                ("active", st.active),
            ):
                if getattr(row, k) != v:
                    setattr(row, k, v)
                    changed = True
        cipher = self.uow.cipher
        current_phone = cipher.decrypt(row.phone_enc, context="staff.phone") if row.phone_enc else None
        if current_phone != st.phone:
            row.phone_enc = cipher.encrypt(st.phone, context="staff.phone")
            row.phone_hash = cipher.lookup_hash(st.phone, context="phone")
            changed = True
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        st.id = row.id
        roles = set(self.s.exec(select(col(StaffRoleRow.role)).where(col(StaffRoleRow.staff_id) == row.id)))
        if roles != {r.value for r in st.roles}:
            for rr in self.s.exec(select(StaffRoleRow).where(col(StaffRoleRow.staff_id) == row.id)):
                self.s.delete(rr)
            self.s.flush()
            self.s.add_all(StaffRoleRow(staff_id=row.id, role=r.value) for r in st.roles)
            changed = True
        specs = set(
            self.s.exec(select(col(StaffSpecialtyRow.specialty_code)).where(col(StaffSpecialtyRow.staff_id) == row.id))
        )
        if specs != set(st.specialties):
            for sr in self.s.exec(select(StaffSpecialtyRow).where(col(StaffSpecialtyRow.staff_id) == row.id)):
                self.s.delete(sr)
            self.s.flush()
            self.s.add_all(StaffSpecialtyRow(staff_id=row.id, specialty_code=c) for c in st.specialties)
            changed = True
        return changed

    def count(self, role: Role | None = None) -> int:
        """How many active staff (holding ``role``)."""
        q = (
            select(sa.func.count(sa.distinct(col(StaffRow.id))))
            .select_from(StaffRow)
            .where(col(StaffRow.active).is_(True))
        )
        if role is not None:
            q = q.join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id)).where(
                col(StaffRoleRow.role) == role.value
            )
        return self.s.exec(q).one()

    def _load(self, row: StaffRow) -> Staff:
        roles = frozenset(
            Role(r) for r in self.s.exec(select(col(StaffRoleRow.role)).where(col(StaffRoleRow.staff_id) == row.id))
        )
        specs = frozenset(
            self.s.exec(select(col(StaffSpecialtyRow.specialty_code)).where(col(StaffSpecialtyRow.staff_id) == row.id))
        )
        return Staff(
            code=row.code,
            name=row.name,
            institution_code=row.institution_code,
            title=TitleLevel(row.title),
            specialties=specs,
            roles=roles,
            id=row.id,
            active=row.active,
            phone=self.uow.cipher.decrypt(row.phone_enc, context="staff.phone"),
        )


class ResidentRepository(_Repo):
    """Residents; phone and ID numbers are encrypted at rest with a keyed hash for lookups."""

    def add(self, r: Resident) -> int:
        """Store a new resident and return the id. Health data needs consent, so it must be recorded."""
        row = ResidentRow(name=r.name, sex=r.sex.value, birth_year=r.birth_year, village_code=r.village_code)
        self._write(row, r)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        r.id = row.id
        return row.id

    def save(self, r: Resident) -> None:
        """Write back a changed resident."""
        row = self.s.get(ResidentRow, r.id)
        if row is None:
            raise DomainError("resident.unknown")
        row.name, row.sex, row.birth_year, row.village_code = r.name, r.sex.value, r.birth_year, r.village_code
        self._write(row, r)
        self.s.add(row)

    def _write(self, row: ResidentRow, r: Resident) -> None:
        c = self.uow.cipher
        row.phone_enc = c.encrypt(r.phone, context="resident.phone")
        row.phone_hash = c.lookup_hash(r.phone, context="phone")
        row.id_number_enc = c.encrypt(r.id_number, context="resident.id_number")
        row.id_number_hash = c.lookup_hash(r.id_number.upper() if r.id_number else None, context="id_number")
        if r.consent:
            row.consent_version = r.consent.version
            row.consent_at = r.consent.recorded_at
            row.consent_by_staff_id = r.consent.recorded_by_staff_id
        row.consent_withdrawn_at = r.consent_withdrawn_at

    def get(self, resident_id: int) -> Resident | None:
        """One resident, or None."""
        row = self.run(_RESIDENT_BY_ID, {"id": resident_id}).first()
        return self._load(row) if row else None

    def get_many(self, resident_ids: Iterable[int]) -> dict[int, Resident]:
        """Residents by id (those that exist), in one query."""
        ids = sorted(set(resident_ids))
        if not ids:
            return {}
        return {r.id: self._load(r) for r in self.run(_RESIDENTS_BY_IDS, {"ids": ids})}

    def in_villages(self, village_codes: Iterable[str], name_like: str | None = None) -> list[Resident]:
        """Residents of these villages (not those who withdrew), optionally whose name contains ``name_like``."""
        params: dict[str, object] = {"villages": list(village_codes)}
        if name_like:
            params["pattern"] = "%" + re.sub(r"([/%_])", r"/\1", name_like) + "%"
        rows = self.run(_RESIDENTS_NAMED_IN if name_like else _RESIDENTS_IN, params)
        return [self._load(r) for r in rows]

    def find(self, name: str, village_code: str, birth_year: int) -> Resident | None:
        """The resident with exactly this name, village and birth year, or None."""
        row = self.s.exec(
            select(ResidentRow).where(
                col(ResidentRow.name) == name,
                col(ResidentRow.village_code) == village_code,
                col(ResidentRow.birth_year) == birth_year,
            )
        ).first()
        return self._load(row) if row else None

    def find_by_phone(self, phone: str) -> list[Resident]:
        """Residents with this mobile number (keyed-hash lookup)."""
        h = self.uow.cipher.lookup_hash(normalise_phone(phone), context="phone")
        return [self._load(r) for r in self.s.exec(select(ResidentRow).where(col(ResidentRow.phone_hash) == h))]

    def forget(self, resident_id: int, now: datetime) -> None:
        """Withdrawal of consent: erase identifying data and need texts, keep anonymous counts."""
        row = self.s.get(ResidentRow, resident_id)
        if row is None:
            return
        self._erase_traces(resident_id, row.name)
        self.uow.alerts.forget_resident(resident_id)
        row.name = "已注销"
        row.phone_enc = row.phone_hash = row.id_number_enc = row.id_number_hash = None
        row.consent_withdrawn_at = now
        self.s.add(row)
        self.s.exec(
            sa.update(OrderRow)
            .where(col(OrderRow.resident_id) == resident_id)
            .values(need_text="", question=None, answer=None, reason=None, disposition_note=None,
                    version=OrderRow.version + 1)  # a card shown before the erasure decides nothing now
        )
        from storage.tables import OrderOutcomeRow

        order_ids = select(OrderRow.id).where(col(OrderRow.resident_id) == resident_id)
        self.s.exec(sa.update(OrderOutcomeRow).where(col(OrderOutcomeRow.order_id).in_(order_ids)).values(outcome=""))
        self.uow.checkpoint_after_commit()

    def _erase_traces(self, resident_id: int, name: str) -> None:
        """Erase the resident from messages (sent or queued), ratings, leads and drafts that name them."""
        from storage.tables import ChatAccountRow
        from storage.tables_circuits import OutboxRow
        from storage.tables_ledgers import LeadRow, RatingRow

        accounts = select(ChatAccountRow.id).where(col(ChatAccountRow.resident_id) == resident_id)
        orders = select(OrderRow.id).where(col(OrderRow.resident_id) == resident_id)
        # Messages to the resident themselves: nothing more goes out, and what went out is not kept.
        self.s.exec(
            sa.update(OutboxRow)
            .where(col(OutboxRow.account_id).in_(accounts), col(OutboxRow.status) == "pending")
            .values(status="void")
        )
        self.s.exec(
            sa.update(OutboxRow).where(col(OutboxRow.account_id).in_(accounts)).values(text=ERASED, buttons_json=None)
        )
        # Notices to staff that named them keep their order number but lose the name.
        if len(name) >= 2:
            self.s.exec(
                sa.update(OutboxRow)
                .where(col(OutboxRow.text).contains(name, autoescape=True))
                .values(text=sa.func.replace(col(OutboxRow.text), name, "***"))
            )
        self.s.exec(sa.update(RatingRow).where(col(RatingRow.order_id).in_(orders)).values(comment=None))
        # The audit trail keeps who did what and when; only the free-text reasons about this resident go
        # (the append-only trigger allows exactly this redaction and nothing else).
        numbers = select(OrderRow.number).where(col(OrderRow.resident_id) == resident_id)
        self.uow.audit.write()  # this update's own events about them are redacted too
        self.s.exec(
            sa.update(AuditRow)
            .where(col(AuditRow.entity) == "order", col(AuditRow.entity_id).in_(numbers),
                   col(AuditRow.reason).is_not(None), col(AuditRow.reason) != AUDIT_REDACTED)
            .values(reason=AUDIT_REDACTED)
        )
        self.s.exec(sa.update(LeadRow).where(col(LeadRow.order_id).in_(orders)).values(summary=ERASED))
        # A village doctor halfway through filing for them: that draft goes.
        for acc in self.s.exec(select(ChatAccountRow).where(col(ChatAccountRow.step).is_not(None))):
            draft = json.loads(acc.draft or "{}")
            if draft.get("rid") == resident_id:
                acc.step, acc.draft, acc.draft_updated_at = None, "{}", None
                self.s.add(acc)

    def count(self) -> int:
        """How many residents are stored."""
        return self.s.exec(select(sa.func.count()).select_from(ResidentRow)).one()

    def _load(self, row: ResidentRow | sa.Row) -> Resident:
        c = self.uow.cipher
        consent = (
            Consent(row.consent_version, row.consent_at, row.consent_by_staff_id)
            if row.consent_version and row.consent_at
            else None
        )
        return Resident(
            name=row.name,
            sex=Sex(row.sex),
            birth_year=row.birth_year,
            village_code=row.village_code,
            phone=c.decrypt(row.phone_enc, context="resident.phone"),
            id_number=c.decrypt(row.id_number_enc, context="resident.id_number"),
            consent=consent,
            id=row.id,
            consent_withdrawn_at=row.consent_withdrawn_at,
        )


class OrderRepository(_Repo):
    """Orders; saving one also appends its audit events, in the same transaction."""

    def add(self, order: Order) -> Order:
        """Store a new order, giving it its number (``XZ-YYYYMMDD-NNNN``, per day in China time)."""
        day = order.created_at.astimezone(CHINA).date()
        order.number = order_number(day, self.uow.next_value(f"order:{day:%Y%m%d}"))
        values = {"number": order.number, "version": 0, **_order_values(order)}
        order.id = int(self.run(_ORDER_INSERT, values).scalar_one())
        self._flush_events(order)
        return order

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        """One order by id (locked for update where the backend supports it), or None."""
        row = self.run(_ORDER_BY_ID_FOR_UPDATE if for_update else _ORDER_BY_ID, {"id": order_id}).first()
        return _order(row) if row else None

    def by_number(self, number: str) -> Order | None:
        """One order by its human-readable number, or None."""
        row = self.c.execute(sa.select(_ORDERS).where(_ORDERS.c.number == number)).first()
        return _order(row) if row else None

    def save(self, order: Order) -> None:
        """Write back a changed order; raises ``ConcurrentUpdate`` if it changed since it was read.

        An order is never newly assigned to someone no longer active (whoever assigns: chat button, command line,
        dashboard): such an assignment raises ``PermissionDenied`` and nothing is written.
        """
        self._check_assigned_experts(order)
        values = _order_values(order)
        result = self.run(_ORDER_UPDATE, {**values, "order_id": order.id, "old_version": order.version,
                                          "new_version": order.version + 1})
        if result.rowcount != 1:
            raise ConcurrentUpdate("order.changed_meanwhile")
        order.version += 1
        self._flush_events(order)

    def _check_assigned_experts(self, order: Order) -> None:
        for e in order.events:
            expert_id = e.detail.get("expert_id")
            if expert_id is None:
                continue
            standing = self.uow.staff.standing(int(str(expert_id)))
            if standing is None or not standing[0]:
                raise PermissionDenied("perm.expert_inactive", order=order.number or "")

    def list(
        self,
        *,
        post_codes: Iterable[str] | None = None,
        statuses: Iterable[OrderStatus] | None = None,
        circuit_id: int | None = None,
        resident_id: int | None = None,
        limit: int = 200,
        newest_first: bool = False,
    ) -> list[Order]:
        """Orders filtered by filing post, status, circuit or resident (oldest first unless ``newest_first``)."""
        params = {"resident": resident_id, "posts": None if post_codes is None else list(post_codes),
                  "statuses": None if statuses is None else [s.value for s in statuses], "circuit": circuit_id,
                  "limit": limit}
        q = _order_list(tuple(k for k, v in params.items() if v is not None and k != "limit"), newest_first)
        return [_order(r) for r in self.run(q, {k: v for k, v in params.items() if v is not None})]

    def expert_load(self, expert_ids: Iterable[int]) -> dict[int, int]:
        """Open orders (awaiting a circuit or scheduled) assigned to each expert."""
        expert_ids = [*expert_ids]
        if not expert_ids:
            return {}
        rows = self.run(_EXPERT_LOAD, {"experts": expert_ids,
                                       "open": [OrderStatus.AWAITING_CIRCUIT.value, OrderStatus.SCHEDULED.value]})
        return {int(k): int(v) for k, v in rows if k is not None}

    def purge_free_text(self, closed_before: datetime) -> int:
        """Retention: erase the free text of orders closed before ``closed_before``; returns how many."""
        from storage.tables import OrderOutcomeRow

        final = [st.value for st in OrderStatus if not st.is_open]
        ids = [
            *self.s.exec(
                select(OrderRow.id).where(
                    col(OrderRow.status).in_(final),
                    col(OrderRow.updated_at) < closed_before,
                    col(OrderRow.need_text) != "",
                )
            )
        ]
        if not ids:
            return 0
        self.s.exec(
            sa.update(OrderRow)
            .where(col(OrderRow.id).in_(ids))
            .values(need_text="", question=None, answer=None, reason=None, disposition_note=None)
        )
        self.s.exec(sa.update(OrderOutcomeRow).where(col(OrderOutcomeRow.order_id).in_(ids)).values(outcome=""))
        return len(ids)

    def count_by_status(self) -> dict[str, int]:
        """How many orders are in each status."""
        return dict(self.s.exec(select(col(OrderRow.status), sa.func.count()).group_by(col(OrderRow.status))).all())

    def confirmed_examples(self) -> Iterator[tuple[str, str, int | None]]:
        """(need text, confirmed specialty, age at filing) for orders whose specialty a person confirmed."""
        q = (
            select(
                col(OrderRow.need_text),
                col(OrderRow.confirmed_specialty),
                col(OrderRow.created_at),
                col(ResidentRow.birth_year),
            )
            .join(ResidentRow, col(ResidentRow.id) == col(OrderRow.resident_id), isouter=True)
            .where(col(OrderRow.confirmed_specialty).is_not(None), col(OrderRow.need_text) != "")
            .order_by(col(OrderRow.id))
        )
        for text, code, created, birth_year in self.s.exec(q):
            assert code is not None
            age = created.year - birth_year if birth_year else None
            yield text, code, age

    def _flush_events(self, order: Order) -> None:
        for e in order.events:
            self.uow.audit.append(e if e.entity_id == order.entity_id else _renamed(e, order.entity_id))
        order.events.clear()


def _renamed(e: AuditEvent, entity_id: str) -> AuditEvent:
    return AuditEvent(
        e.actor_staff_id,
        e.actor_role,
        e.action,
        e.entity,
        entity_id,
        e.from_status,
        e.to_status,
        e.reason,
        e.at,
        e.detail,
    )


def _order_values(o: Order) -> dict:
    return dict(
        resident_id=o.resident_id,
        post_code=o.post_code,
        village_code=o.village_code,
        filed_by_staff_id=o.filed_by_staff_id,
        # Free text is stored with phone and ID numbers masked: whatever was typed, the database never holds them.
        need_text=mask_free_text(o.need_text),
        suggested_specialty=o.suggested_specialty,
        confirmed_specialty=o.confirmed_specialty,
        urgency=o.urgency.value,
        special_populations=",".join(sorted(p.value for p in o.special_populations)),
        status=o.status.value,
        disposition=o.disposition.value if o.disposition else None,
        disposition_note=mask_free_text(o.disposition_note),
        assigned_expert_id=o.assigned_expert_id,
        circuit_id=o.circuit_id,
        question=mask_free_text(o.question),
        answer=mask_free_text(o.answer),
        reason=mask_free_text(o.reason),
        merged_into_id=o.merged_into_id,
        emergency_override=o.emergency_override,
        emergency_reasons=o.emergency_reasons[:200] if o.emergency_reasons else None,
        created_at=o.created_at,
        updated_at=o.updated_at or o.created_at,
    )


def _order(r: OrderRow | sa.Row) -> Order:
    return Order(
        id=r.id,
        number=r.number,
        resident_id=r.resident_id or 0,
        post_code=r.post_code,
        village_code=r.village_code,
        filed_by_staff_id=r.filed_by_staff_id,
        need_text=r.need_text,
        created_at=r.created_at,
        updated_at=r.updated_at,
        suggested_specialty=r.suggested_specialty,
        confirmed_specialty=r.confirmed_specialty,
        urgency=Urgency(r.urgency),
        special_populations=frozenset(SpecialPopulation(p) for p in r.special_populations.split(",") if p),
        status=OrderStatus(r.status),
        disposition=Disposition(r.disposition) if r.disposition else None,
        disposition_note=r.disposition_note,
        assigned_expert_id=r.assigned_expert_id,
        circuit_id=r.circuit_id,
        question=r.question,
        answer=r.answer,
        reason=r.reason,
        merged_into_id=r.merged_into_id,
        emergency_override=r.emergency_override,
        emergency_reasons=r.emergency_reasons,
        version=r.version,
    )


class CircuitRepository(_Repo):
    """Circuit visits and their experts."""

    def add(self, c: Circuit) -> int:
        """Store a new circuit and return its id."""
        row = CircuitRow(
            hospital_code=c.hospital_code,
            place_code=c.place_code,
            day=c.day,
            half_day=c.half_day.value,
            level=c.level.value,
            status=c.status.value,
        )
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        self.s.add_all(CircuitExpertRow(circuit_id=row.id, staff_id=e) for e in c.expert_ids)
        c.id = row.id
        return row.id

    def get(self, circuit_id: int) -> Circuit | None:
        """One circuit, or None."""
        row = self.s.get(CircuitRow, circuit_id)
        if row is None:
            return None
        experts = frozenset(
            self.s.exec(select(col(CircuitExpertRow.staff_id)).where(col(CircuitExpertRow.circuit_id) == circuit_id))
        )
        return Circuit(
            row.hospital_code,
            row.place_code,
            row.day,
            HalfDay(row.half_day),
            CircuitLevel(row.level),
            experts,
            CircuitStatus(row.status),
            row.id,
        )

    def for_expert(self, staff_id: int, from_day: date) -> list[Circuit]:
        """Circuits this expert is on, from ``from_day``, soonest first."""
        ids = self.s.exec(
            select(col(CircuitRow.id))
            .join(CircuitExpertRow, col(CircuitExpertRow.circuit_id) == col(CircuitRow.id))
            .where(col(CircuitExpertRow.staff_id) == staff_id, col(CircuitRow.day) >= from_day)
            .order_by(col(CircuitRow.day), col(CircuitRow.half_day))
        )
        return [c for i in ids if i is not None and (c := self.get(i)) is not None]


class AuditRepository(_Repo):
    """The append-only audit log.

    Events are written in one batch when the unit of work commits (a list of fifteen residents' orders is
    fifteen access events), and before anything reads or redacts the log in the same unit of work.
    """

    def __init__(self, uow: Any):
        super().__init__(uow)
        self._pending: list[dict[str, Any]] = []

    def write(self) -> None:
        """Insert the events appended so far."""
        if self._pending:
            rows, self._pending = self._pending, []
            self.run(_AUDIT_INSERT, rows)

    def discard(self) -> None:
        """After a rollback: the events of the discarded work go with it."""
        self._pending.clear()

    def append(self, e: AuditEvent) -> None:
        """Add one event (it is written with the rest of the transaction)."""
        self._pending.append(
            {
                "at": e.at,
                "actor_staff_id": e.actor_staff_id,
                "actor_role": e.actor_role,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "reason": mask_free_text(e.reason),
                "detail": json.dumps(_masked_detail(e.detail), ensure_ascii=False, default=str),
            }
        )

    def for_entity(self, entity: str, entity_id: str) -> list[AuditEvent]:
        """Every event about one record, oldest first."""
        self.write()
        self.s.flush()
        rows = self.s.exec(
            select(AuditRow)
            .where(col(AuditRow.entity) == entity, col(AuditRow.entity_id) == entity_id)
            .order_by(col(AuditRow.id))
        )
        return [_event(r) for r in rows]

    def for_resident(self, resident_id: int) -> list[AuditEvent]:
        """Every event about a resident or their orders, oldest first (who read or changed what)."""
        self.write()
        self.s.flush()
        numbers = select(OrderRow.number).where(col(OrderRow.resident_id) == resident_id)
        q = select(AuditRow).where(
            sa.or_(
                sa.and_(col(AuditRow.entity) == "resident", col(AuditRow.entity_id) == str(resident_id)),
                sa.and_(col(AuditRow.entity) == "order", col(AuditRow.entity_id).in_(numbers)),
            )
        )
        return [_event(r) for r in self.s.exec(q.order_by(col(AuditRow.id)))]

    def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEvent]:
        """The latest events, newest first."""
        self.write()
        self.s.flush()
        q = select(AuditRow)
        if action:
            q = q.where(col(AuditRow.action) == action)
        return [_event(r) for r in self.s.exec(q.order_by(col(AuditRow.id).desc()).limit(limit))]


def _masked_detail(detail: dict[str, object]) -> dict[str, object]:
    """An audit event's detail as stored: a free-text note in it is masked like the order's own fields."""
    note = detail.get("note")
    return {**detail, "note": mask_free_text(note)} if isinstance(note, str) and note else detail


def _event(r: AuditRow) -> AuditEvent:
    return AuditEvent(
        r.actor_staff_id,
        r.actor_role,
        r.action,
        r.entity,
        r.entity_id,
        r.from_status,
        r.to_status,
        r.reason,
        r.at,
        json.loads(r.detail),
    )


class SqlUnitOfWork:
    """One transaction: ``with uow: ...; uow.commit()``. Leaving without commit rolls back."""

    def __init__(self, engine: Engine, cipher: FieldCipher):
        self.engine = engine
        self.cipher = cipher
        self.committed = False

    def __enter__(self) -> SqlUnitOfWork:
        # The transaction lives on a pooled driver connection. Prepared statements (every chat update's few)
        # run on it directly; a SQLAlchemy Connection, and an ORM session on that, adopt it only when something
        # asks for them. SQLAlchemy's connection and transaction bookkeeping cost an update with nothing else
        # to do 30 µs, more than SQLite spent on its begin and commit.
        self._pooled: PoolProxiedConnection | None = None
        self._in_transaction = False  # on ``_pooled`` while no Connection has adopted it
        self._connection: Connection | None = None
        self._session: Session | None = None
        self.committed = False
        self._after_commit: list[Callable[[], None]] = []
        self.reference_version_seen: int | None = None
        self.reference_changed = False  # this unit of work changed staff or reference data (not yet committed)
        self.reference = ReferenceRepository(self)
        self.staff = StaffRepository(self)
        self.residents = ResidentRepository(self)
        self.orders = OrderRepository(self)
        self.circuits = CircuitRepository(self)
        self.audit = AuditRepository(self)
        self.chat = ChatRepository(self)
        self.outbox = OutboxRepository(self)
        self.schedule = ScheduleRepository(self)
        self.alerts = EmergencyAlertRepository(self)
        self.links = LinkRepository(self)
        self.send_budget = SendBudgetRepository(self)
        return self

    @property
    def connection(self) -> Connection:
        """The unit of work's SQLAlchemy connection, on the same driver connection and transaction as the prepared
        statements; its transaction begins with the first statement (BEGIN IMMEDIATE on SQLite, see
        ``storage.db``)."""
        if self._connection is None:
            if self._pooled is None:
                self._connection = self.engine.connect()
                self._pooled = self._connection.connection
            else:
                self._connection = Connection(self.engine, connection=self._pooled)
                if self._in_transaction:
                    self._connection.begin()  # bookkeeping only: the driver is in the transaction already
                self._in_transaction = False
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session inside the same transaction (created on first use)."""
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False,
                                    join_transaction_mode="control_fully")
        return self._session

    def flush(self) -> None:
        """Write the ORM session's pending changes (if there is a session), so Core statements come after them."""
        if self._session is not None:
            self._session.flush()

    def run(self, statement: Prepared, params: Any = None) -> Rows:
        """Execute a prepared statement in this unit of work's transaction, after the ORM's pending changes."""
        self.flush()
        if self._connection is not None:
            if not self._connection.in_transaction():
                self._connection.begin()
            pooled = self._connection.connection
        else:
            if self._pooled is None:
                self._pooled = self._driver_call("connect", self.engine.raw_connection)
            pooled = self._pooled
            if not self._in_transaction:
                begin_transaction(self.engine, pooled)
                self._in_transaction = True
        try:
            return statement.run(pooled.dbapi_connection, self.engine.dialect, params)
        except sa.exc.DBAPIError as e:
            self._lost_if_disconnected(e)
            raise

    def _driver_call(self, what: str, call: Callable[[], Any]) -> Any:
        """A call on the driver, its failures raised as SQLAlchemy's (callers answer "busy" on those)."""
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            return call()
        except dbapi.Error as e:
            wrapped = sa.exc.DBAPIError.instance(what.upper(), None, e, dbapi.Error, hide_parameters=True,
                                                 dialect=self.engine.dialect)
            self._lost_if_disconnected(wrapped)
            raise wrapped from e

    def _lost_if_disconnected(self, e: sa.exc.StatementError) -> None:
        """After a lost connection: invalidate it, so the pool never hands it out again."""
        pooled = self._connection.connection if self._connection is not None else self._pooled
        if pooled is not None and self.engine.dialect.is_disconnect(e.orig, pooled.dbapi_connection, None):  # type: ignore[arg-type]
            (self._connection or pooled).invalidate(e)
            self._in_transaction = False

    def __exit__(self, *exc) -> None:
        try:
            if self._session is not None:
                if not self.committed:
                    self._session.rollback()
                self._session.close()
        finally:
            # Back to the pool, which rolls back whatever was left open.
            if self._connection is not None:
                self._connection.close()
            elif self._pooled is not None:
                self._pooled.close()

    def commit(self) -> None:
        """Make everything done in this unit of work permanent, atomically."""
        self.chat.write_buttons()
        self.audit.write()
        if self._session is not None:
            self._session.commit()
        self._end("commit")
        self.committed = True
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once this unit of work has committed (never after a rollback)."""
        self._after_commit.append(hook)

    def checkpoint_after_commit(self) -> None:
        """After the commit, copy SQLite's WAL into the database file and truncate it to zero bytes.

        An erasure is only on disk in the database file, over the old rows (``secure_delete``): until the WAL is
        checkpointed, the old pages with the erased data stay in ``-wal``. PostgreSQL needs nothing here.
        """
        if self.engine.dialect.name == "sqlite":
            self.after_commit(lambda: checkpoint_wal(self.engine))

    def rollback(self) -> None:
        """Discard everything done in this unit of work."""
        if self._session is not None:
            self._session.rollback()
        self._end("rollback")
        self._after_commit.clear()
        self.chat.forget_reads()
        self.audit.discard()
        self.reference_version_seen = None
        self.reference_changed = False

    def _end(self, how: str) -> None:
        """Commit or roll back the transaction where it lives: on the adopted Connection, or on the driver.

        Core statements after a session's rollback run in a transaction the session has not joined, so the
        Connection is asked too. A failed commit leaves the driver's transaction open for the rollback that
        follows; after a rollback, failed or not, the next statement begins a new one.
        """
        if self._connection is not None and self._connection.in_transaction():
            getattr(self._connection, how)()
        elif self._in_transaction:
            assert self._pooled is not None
            if how == "rollback":
                self._in_transaction = False
            self._driver_call(how, getattr(self._pooled.dbapi_connection, how))
            self._in_transaction = False

    def next_value(self, name: str) -> int:
        """Atomically increment the named counter and return its new value."""
        self.flush()
        if name == "reference_version":
            self.reference_changed = True
        return int(self.run(_next_value(self.engine.dialect.name), {"name": name}).scalar_one())


UnitOfWorkFactory = Callable[[], SqlUnitOfWork]


def uow_factory(engine: Engine, cipher: FieldCipher) -> UnitOfWorkFactory:
    """A callable that opens a fresh unit of work on ``engine``."""
    return lambda: SqlUnitOfWork(engine, cipher)
