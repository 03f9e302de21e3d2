"""Resident link codes (one-time, short-lived, stored hashed) and confirmations that wait for a second person.

Using a code and deciding a confirmation are conditional UPDATEs (``… WHERE used_at IS NULL``), so of two
accounts racing with one code, or two doctors pressing at once, exactly one wins.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from domain.staff import Role
from storage.repositories.base import Repository, as_model
from storage.tables import ConfirmationRow, ResidentLinkRow, StaffRoleRow

_LINKS: sa.Table = ResidentLinkRow.__table__  # type: ignore[attr-defined]
_CONFIRMATIONS: sa.Table = ConfirmationRow.__table__  # type: ignore[attr-defined]
_ROLES: sa.Table = StaffRoleRow.__table__  # type: ignore[attr-defined]
_LINK_INSERT = _LINKS.insert()
_LINKS_REVOKE = (
    _LINKS.update()
    .where(_LINKS.c.resident_id == sa.bindparam("resident"), _LINKS.c.used_at.is_(None),
           _LINKS.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"))
)


class LinkRepository(Repository):
    """Issue, find and use resident link codes; ask for, find and decide confirmations."""

    # --- resident link codes ----------------------------------------------------------------------------------
    def issue(self, resident_id: int, code_hash: str, staff_id: int | None, now: datetime,
              expires_at: datetime) -> None:
        """Store a new code for a resident (its hash); every earlier unused code of theirs stops working."""
        self.revoke(resident_id, now)
        self.c.execute(_LINK_INSERT, {"code_hash": code_hash, "resident_id": resident_id,
                                      "issued_by_staff_id": staff_id, "created_at": now, "expires_at": expires_at})

    def revoke(self, resident_id: int, now: datetime) -> None:
        """Every unused code of this resident stops working."""
        self.c.execute(_LINKS_REVOKE, {"resident": resident_id, "now": now})

    def by_hash(self, code_hash: str) -> ResidentLinkRow | None:
        """The code with this hash, or None."""
        row = self.c.execute(sa.select(_LINKS).where(_LINKS.c.code_hash == code_hash)).first()
        return as_model(ResidentLinkRow, row)

    def use(self, link_id: int, account_id: int, now: datetime) -> bool:
        """Mark a code used by this account; False if it was used, revoked or expired meanwhile."""
        result = self.c.execute(
            _LINKS.update()
            .where(_LINKS.c.id == link_id, _LINKS.c.used_at.is_(None), _LINKS.c.revoked_at.is_(None),
                   _LINKS.c.expires_at > now)
            .values(used_at=now, used_by_account_id=account_id)
        )
        return result.rowcount == 1

    # --- confirmations --------------------------------------------------------------------------------------
    def ask(self, kind: str, account_id: int, now: datetime, *, resident_id: int | None = None,
            staff_id: int | None = None, invite_id: int | None = None) -> int:
        """Store a request that waits for someone's decision; returns its id."""
        return int(self.c.execute(
            _CONFIRMATIONS.insert()
            .values(kind=kind, account_id=account_id, resident_id=resident_id, staff_id=staff_id,
                    invite_id=invite_id, created_at=now)
            .returning(_CONFIRMATIONS.c.id)
        ).scalar_one())

    def confirmation(self, confirmation_id: int) -> ConfirmationRow | None:
        """One request by id, or None."""
        row = self.c.execute(sa.select(_CONFIRMATIONS).where(_CONFIRMATIONS.c.id == confirmation_id)).first()
        return as_model(ConfirmationRow, row)

    def waiting(self, kind: str, *, account_id: int | None = None,
                resident_id: int | None = None) -> list[ConfirmationRow]:
        """Undecided requests of this kind from this account or about this resident, oldest first."""
        c = _CONFIRMATIONS.c
        q = sa.select(_CONFIRMATIONS).where(c.kind == kind, c.decided_at.is_(None))
        if account_id is not None:
            q = q.where(c.account_id == account_id)
        if resident_id is not None:
            q = q.where(c.resident_id == resident_id)
        return [ConfirmationRow(**r._mapping) for r in self.c.execute(q.order_by(c.id))]

    def decide(self, confirmation_id: int, outcome: str, staff_id: int | None, now: datetime) -> bool:
        """Record the decision; False if the request was decided already (the first decision stands)."""
        result = self.c.execute(
            _CONFIRMATIONS.update()
            .where(_CONFIRMATIONS.c.id == confirmation_id, _CONFIRMATIONS.c.decided_at.is_(None))
            .values(decided_at=now, decided_by_staff_id=staff_id, outcome=outcome)
        )
        return result.rowcount == 1

    def void_for_resident(self, resident_id: int, now: datetime) -> None:
        """An erased resident: their codes stop working and nothing about them waits any more."""
        self.revoke(resident_id, now)
        self.c.execute(
            _CONFIRMATIONS.update()
            .where(_CONFIRMATIONS.c.resident_id == resident_id, _CONFIRMATIONS.c.decided_at.is_(None))
            .values(decided_at=now, outcome="void")
        )

    def admin_ids(self) -> list[int]:
        """Every member of staff holding the administrator role."""
        q = sa.select(_ROLES.c.staff_id).where(_ROLES.c.role == Role.ADMIN.value).order_by(_ROLES.c.staff_id)
        return list(self.c.execute(q).scalars())
