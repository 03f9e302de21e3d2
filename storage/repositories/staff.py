"""Health workers, their roles and specialties."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import col, select

from domain.privacy import normalise_phone
from domain.staff import Role, Staff, TitleLevel
from storage.repositories.base import Repository
from storage.tables import (
    StaffRoleRow,
    StaffRow,
    StaffSpecialtyRow,
)

# Statements built once, at import, so that SQLAlchemy's compiled cache finds them without walking them again.
_STAFF_STANDING = (
    sa.select(col(StaffRow.active), col(StaffRoleRow.role))
    .select_from(StaffRow)
    .join(StaffRoleRow, col(StaffRoleRow.staff_id) == col(StaffRow.id), isouter=True)
    .where(col(StaffRow.id) == sa.bindparam("id"))
)


class StaffRepository(Repository):
    """Health workers, their roles and specialties."""

    def get(self, staff_id: int) -> Staff | None:
        """One person by id, or None."""
        row = self.s.get(StaffRow, staff_id)
        return self._load(row) if row else None

    def standing(self, staff_id: int) -> tuple[bool, frozenset[Role]] | None:
        """(active, roles) of one person, in one query (what a chat menu depends on), or None."""
        rows = self.c.execute(_STAFF_STANDING, {"id": staff_id}).all()
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
