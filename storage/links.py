"""Resident link codes (one-time, short-lived, stored hashed) and confirmations that wait for a second person.

Using a code and deciding a confirmation are conditional UPDATEs (``… WHERE used_at IS NULL``), so of two
accounts racing with one code, or two doctors pressing at once, exactly one wins.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.staff import Role
from storage.repository import Repository
from storage.tables import StaffRoleRow
from storage.tables_links import ConfirmationRow, ResidentLinkRow


class LinkRepository(Repository):
    """Issue, find and use resident link codes; ask for, find and decide confirmations."""

    # --- resident link codes ----------------------------------------------------------------------------------
    def issue(self, resident_id: int, code_hash: str, staff_id: int | None, now: datetime,
              expires_at: datetime) -> None:
        """Store a new code for a resident (its hash); every earlier unused code of theirs stops working."""
        self.revoke(resident_id, now)
        self.s.add(ResidentLinkRow(code_hash=code_hash, resident_id=resident_id, issued_by_staff_id=staff_id,
                                   created_at=now, expires_at=expires_at))
        self.s.flush()

    def revoke(self, resident_id: int, now: datetime) -> None:
        """Every unused code of this resident stops working."""
        self.s.exec(
            sa.update(ResidentLinkRow)
            .where(col(ResidentLinkRow.resident_id) == resident_id, col(ResidentLinkRow.used_at).is_(None),
                   col(ResidentLinkRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )

    def by_hash(self, code_hash: str) -> ResidentLinkRow | None:
        """The code with this hash, or None."""
        return self.s.exec(select(ResidentLinkRow).where(col(ResidentLinkRow.code_hash) == code_hash)).first()

    def use(self, link_id: int, account_id: int, now: datetime) -> bool:
        """Mark a code used by this account; False if it was used, revoked or expired meanwhile."""
        result = self.s.exec(
            sa.update(ResidentLinkRow)
            .where(col(ResidentLinkRow.id) == link_id, col(ResidentLinkRow.used_at).is_(None),
                   col(ResidentLinkRow.revoked_at).is_(None), col(ResidentLinkRow.expires_at) > now)
            .values(used_at=now, used_by_account_id=account_id)
        )
        return result.rowcount == 1

    # --- confirmations --------------------------------------------------------------------------------------
    def ask(self, kind: str, account_id: int, now: datetime, *, resident_id: int | None = None,
            staff_id: int | None = None, invite_id: int | None = None) -> int:
        """Store a request that waits for someone's decision; returns its id."""
        row = ConfirmationRow(kind=kind, account_id=account_id, resident_id=resident_id, staff_id=staff_id,
                              invite_id=invite_id, created_at=now)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id

    def confirmation(self, confirmation_id: int) -> ConfirmationRow | None:
        """One request by id, or None."""
        return self.s.get(ConfirmationRow, confirmation_id)

    def waiting(self, kind: str, *, account_id: int | None = None,
                resident_id: int | None = None) -> list[ConfirmationRow]:
        """Undecided requests of this kind from this account or about this resident, oldest first."""
        q = select(ConfirmationRow).where(col(ConfirmationRow.kind) == kind, col(ConfirmationRow.decided_at).is_(None))
        if account_id is not None:
            q = q.where(col(ConfirmationRow.account_id) == account_id)
        if resident_id is not None:
            q = q.where(col(ConfirmationRow.resident_id) == resident_id)
        return list(self.s.exec(q.order_by(col(ConfirmationRow.id))))

    def decide(self, confirmation_id: int, outcome: str, staff_id: int | None, now: datetime) -> bool:
        """Record the decision; False if the request was decided already (the first decision stands)."""
        result = self.s.exec(
            sa.update(ConfirmationRow)
            .where(col(ConfirmationRow.id) == confirmation_id, col(ConfirmationRow.decided_at).is_(None))
            .values(decided_at=now, decided_by_staff_id=staff_id, outcome=outcome)
        )
        return result.rowcount == 1

    def void_for_resident(self, resident_id: int, now: datetime) -> None:
        """An erased resident: their codes stop working and nothing about them waits any more."""
        self.revoke(resident_id, now)
        self.s.exec(
            sa.update(ConfirmationRow)
            .where(col(ConfirmationRow.resident_id) == resident_id, col(ConfirmationRow.decided_at).is_(None))
            .values(decided_at=now, outcome="void")
        )

    def admin_ids(self) -> list[int]:
        """Every member of staff holding the administrator role."""
        q = select(StaffRoleRow.staff_id).where(col(StaffRoleRow.role) == Role.ADMIN.value)
        return list(self.s.exec(q.order_by(col(StaffRoleRow.staff_id))))
