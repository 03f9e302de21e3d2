"""Tables for circuit announcements, the outbox, leave days, expert profiles and the circuit change log."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field

__all__ = [
    "AnnouncementRow",
    "CircuitChangeRow",
    "ExpertProfileRow",
    "LeaveRow",
    "OutboxRow",
]


class AnnouncementRow(SQLModel, table=True):
    """One announcement of a circuit (a reminder, an update or a cancellation); fanned out once."""

    __tablename__ = "announcement"
    __table_args__ = (sa.UniqueConstraint("circuit_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", index=True)
    kind: str = Field(max_length=16)  # reminder | update | cancel
    key: str = Field(max_length=96)  # e.g. "reminder:3d@2026-12-05am:P1" or "change:4"
    due_at: datetime = utc_field(index=True)
    created_at: datetime = utc_field()
    fanned_out_at: datetime | None = utc_field(nullable=True, index=True)
    skipped: str | None = Field(default=None, max_length=32)  # why it was not fanned out (started, cancelled…)
    recipients: int = 0
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))


class OutboxRow(SQLModel, table=True):
    """A message waiting to be sent; ``dedupe_key`` (announcement, recipient, channel) makes a re-run harmless."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_ready", "status", "priority", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=160, unique=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    account_id: int | None = Field(default=None, index=True)
    announcement_id: int | None = Field(default=None, index=True)
    priority: int = 1  # 0: replies and personal notices, 1: bulk announcements
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    buttons_json: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed | permanent | void | expired
    attempts: int = 0
    next_attempt_at: datetime | None = utc_field(nullable=True)  # None: ready now
    expires_at: datetime | None = utc_field(nullable=True)  # nothing goes out after this (circuit started)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
    sent_at: datetime | None = utc_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=200)


class LeaveRow(SQLModel, table=True):
    """A day a member of staff is not available for circuits."""

    __tablename__ = "staff_leave"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    day: date = Field(primary_key=True)
    reason: str | None = Field(default=None, max_length=100)


class ExpertProfileRow(SQLModel, table=True):
    """The short profile shown in announcements (坐诊预告)."""

    __tablename__ = "expert_profile"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    profile: str = Field(max_length=300)


class CircuitChangeRow(SQLModel, table=True):
    """What happened to a circuit: created, moved, experts changed, orders added, cancelled."""

    __tablename__ = "circuit_change"
    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", index=True)
    at: datetime = utc_field()
    actor_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    kind: str = Field(max_length=16)
    before: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
    after: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
