"""Health workers, their roles and specialties."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from domain.privacy import normalise_phone
from domain.staff import Role, Staff, TitleLevel
from storage.repositories.base import Repository, chunks
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

# An import writes what differs from what is stored, set-wise: the people of a batch are read with their roles and
# specialties in three statements per few hundred codes, the changes written with one ``executemany`` each.
_STAFF_TABLE = StaffRow.__table__  # type: ignore[attr-defined]
_ROLE_TABLE = StaffRoleRow.__table__  # type: ignore[attr-defined]
_SPECIALTY_TABLE = StaffSpecialtyRow.__table__  # type: ignore[attr-defined]
_STAFF_T, _ROLE_T, _SPECIALTY_T = _STAFF_TABLE.c, _ROLE_TABLE.c, _SPECIALTY_TABLE.c
_STAFF_FIELDS = ("name", "institution_code", "title", "active")
_STAFF_BY_CODES = sa.select(
    _STAFF_T.code, _STAFF_T.id, *(_STAFF_T[f] for f in _STAFF_FIELDS), _STAFF_T.phone_enc, _STAFF_T.phone_hash
).where(_STAFF_T.code.in_(sa.bindparam("codes", expanding=True)))
_ROLES_OF = sa.select(_ROLE_T.staff_id, _ROLE_T.role).where(_ROLE_T.staff_id.in_(sa.bindparam("ids", expanding=True)))
_SPECIALTIES_OF = sa.select(_SPECIALTY_T.staff_id, _SPECIALTY_T.specialty_code).where(
    _SPECIALTY_T.staff_id.in_(sa.bindparam("ids", expanding=True))
)
_INSERT_STAFF = sa.insert(_STAFF_TABLE)
_UPDATE_STAFF = sa.update(_STAFF_TABLE).where(_STAFF_T.id == sa.bindparam("id_"))
_INSERT_ROLE = sa.insert(_ROLE_TABLE)
_DELETE_ROLES = sa.delete(_ROLE_TABLE).where(_ROLE_T.staff_id == sa.bindparam("id_"))
_INSERT_SPECIALTY = sa.insert(_SPECIALTY_TABLE)
_DELETE_SPECIALTIES = sa.delete(_SPECIALTY_TABLE).where(_SPECIALTY_T.staff_id == sa.bindparam("id_"))


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
        return self.upsert_many([st])[0]

    def upsert_many(self, people: Sequence[Staff]) -> list[bool]:
        """Insert or update people by staff code, in order, with their roles and specialties (as one at a time
        would: a later row of the same code sees what an earlier one gave). Per person, True if anything changed;
        each gets its ``id``."""
        if not people:
            return []
        c, cipher = self.c, self.uow.cipher
        codes = list(dict.fromkeys(st.code for st in people))
        state: dict[str, dict[str, Any]] = {}
        for part in chunks(codes):
            for code, staff_id, *fields, phone_enc, phone_hash in c.execute(_STAFF_BY_CODES, {"codes": list(part)}):
                phone = cipher.decrypt(phone_enc, context="staff.phone") if phone_enc else None
                state[code] = {
                    "id": staff_id, **dict(zip(_STAFF_FIELDS, fields, strict=True)), "phone": phone,
                    "roles": set(), "specialties": set(),
                    # Written back as it is while the number stays the same (no new ciphertext for nothing).
                    "stored_phone": (phone, phone_enc, phone_hash),
                }
        by_id = {v["id"]: v for v in state.values()}
        for part in chunks(list(by_id)):
            for staff_id, role in c.execute(_ROLES_OF, {"ids": list(part)}):
                by_id[staff_id]["roles"].add(role)
            for staff_id, code in c.execute(_SPECIALTIES_OF, {"ids": list(part)}):
                by_id[staff_id]["specialties"].add(code)
        new: dict[str, None] = {}
        rows_changed: dict[str, None] = {}
        roles_changed: dict[str, None] = {}
        specialties_changed: dict[str, None] = {}
        out = []
        for st in people:
            given = {"name": st.name, "institution_code": st.institution_code, "title": st.title.value,
                     "active": st.active, "phone": st.phone}
            roles, specialties = {r.value for r in st.roles}, set(st.specialties)
            current = state.get(st.code)
            if current is None:
                state[st.code] = {"id": None, **given, "roles": roles, "specialties": specialties}
                new[st.code] = None
                out.append(True)
                continue
            changed = False
            if any(current[f] != v for f, v in given.items()):
                current.update(given)
                rows_changed[st.code] = None
                changed = True
            if current["roles"] != roles:
                current["roles"] = roles
                roles_changed[st.code] = None
                changed = True
            if current["specialties"] != specialties:
                current["specialties"] = specialties
                specialties_changed[st.code] = None
                changed = True
            out.append(changed)

        def stored(code: str) -> dict[str, Any]:
            v = state[code]
            phone, enc, lookup = v.get("stored_phone", (None, None, None))
            if v["phone"] != phone:
                enc = cipher.encrypt(v["phone"], context="staff.phone")
                lookup = cipher.lookup_hash(v["phone"], context="phone")
            return {**{f: v[f] for f in _STAFF_FIELDS}, "phone_enc": enc, "phone_hash": lookup}

        if new:
            c.execute(_INSERT_STAFF, [{"code": code, **stored(code)} for code in new])
            for part in chunks(list(new)):
                for r in c.execute(_STAFF_BY_CODES, {"codes": list(part)}):
                    state[r.code]["id"] = r.id
        updated = [code for code in rows_changed if code not in new]
        if updated:
            c.execute(_UPDATE_STAFF, [{"id_": state[code]["id"], **stored(code)} for code in updated])
        for key, changes, delete, insert, column in (
            ("roles", roles_changed, _DELETE_ROLES, _INSERT_ROLE, "role"),
            ("specialties", specialties_changed, _DELETE_SPECIALTIES, _INSERT_SPECIALTY, "specialty_code"),
        ):
            replaced = [state[code]["id"] for code in changes if code not in new]
            if replaced:
                c.execute(delete, [{"id_": i} for i in replaced])
            values = [
                {"staff_id": state[code]["id"], column: value}
                for code in (*new, *(code for code in changes if code not in new))
                for value in sorted(state[code][key])
            ]
            if values:
                c.execute(insert, values)
        for st in people:
            st.id = state[st.code]["id"]
        if rows_changed or roles_changed or specialties_changed:
            self._written(StaffRow, StaffRoleRow, StaffSpecialtyRow)
        return out

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
