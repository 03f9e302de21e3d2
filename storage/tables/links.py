"""Resident link codes and confirmations a second person must give (a second link, an erasure, a claimed name)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class ResidentLinkRow(SQLModel, table=True):
    """A one-time, short-lived code a village doctor hands a resident: only its keyed hash is stored."""

    __tablename__ = "resident_link"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    issued_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)
    used_by_account_id: int | None = Field(default=None, foreign_key="chat_account.id")
    revoked_at: datetime | None = utc_field(nullable=True)  # a newer code was issued, or the resident was erased


class ConfirmationRow(SQLModel, table=True):
    """A request from a chat account that waits for another person's yes or no (decided once)."""

    __tablename__ = "confirmation"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # resident_link | resident_forget | staff_claim
    account_id: int = Field(foreign_key="chat_account.id", index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    invite_id: int | None = Field(default=None, foreign_key="invite.id")
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True)
    decided_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str | None = Field(default=None, max_length=16)  # confirmed | refused | void
