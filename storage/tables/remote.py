"""Remote consultations (远程会诊): one row per session; a moved session points at the one that replaced it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field

__all__ = ["RemoteSessionRow"]


class RemoteSessionRow(SQLModel, table=True):
    """A remote consultation of one order: expert, where the resident sits, when, the link or room, the outcome.

    ``advice``, ``followup_plan`` and ``reason`` are about the resident's health: erased with the resident
    (``RemoteRepository.forget_resident``); the row itself stays, anonymous, for the ledgers' counts."""

    __tablename__ = "remote_session"
    __table_args__ = (sa.Index("ix_remote_session_due", "status", "starts_at"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="care_order.id", index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    hospital_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    expert_id: int = Field(foreign_key="staff.id", index=True)
    site_code: str = Field(foreign_key="institution.code", max_length=32)
    county_code: str = Field(max_length=32, index=True)
    starts_at: datetime = utc_field()
    room: str = Field(max_length=200)
    status: str = Field(max_length=16)  # scheduled | held | moved | cancelled | no_show
    reason: str | None = Field(default=None, max_length=500)
    previous_id: int | None = Field(default=None, foreign_key="remote_session.id")
    moved_to_id: int | None = Field(default=None, foreign_key="remote_session.id")
    advice: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    refer_up: bool | None = None
    followup_plan: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    outcome_at: datetime | None = utc_field(nullable=True)
    reminded: str | None = Field(default=None, max_length=8)  # the latest reminder queued: "1d" | "1h"
    created_by_staff_id: int = Field(foreign_key="staff.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    version: int = 0
