"""Two-way referral: the slots a supporting hospital reserves for grassroots referrals, each referral up, and the
follow-up tasks a discharge (or a remote consultation) leaves with the village post."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class ReferralSlotRow(SQLModel, table=True):
    """Reserved places (号源) for referrals: one department of one hospital on one half-day (and start time).

    ``booked`` only grows by a conditional ``UPDATE … SET booked = booked + 1 WHERE booked < capacity``, so two
    bookers can never both take the last place."""

    __tablename__ = "referral_slot"
    __table_args__ = (sa.UniqueConstraint("hospital_code", "specialty", "day", "half_day", "start_time",
                                          name="uq_referral_slot"),)
    id: int | None = Field(default=None, primary_key=True)
    hospital_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    specialty: str = Field(foreign_key="specialty.code", max_length=16)
    day: date = Field(index=True)
    half_day: str = Field(max_length=2)
    start_time: str = Field(default="", max_length=5)  # "08:30", or "" for the half-day's start
    place: str = Field(default="", max_length=100)
    capacity: int
    booked: int = 0
    beds: int = 0
    created_at: datetime = utc_field()
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")


class ReferralRow(SQLModel, table=True):
    """One resident referred up for one order; ``note`` and ``plan`` are free text erased with the resident."""

    __tablename__ = "referral"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="care_order.id", unique=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    hospital_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    specialty: str = Field(max_length=16)
    urgency: str = Field(max_length=16)
    post_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    status: str = Field(max_length=16, index=True)
    slot_id: int | None = Field(default=None, foreign_key="referral_slot.id", index=True)
    note: str | None = Field(default=None, max_length=500)
    plan: str | None = Field(default=None, max_length=500)
    booked_at: datetime | None = utc_field(nullable=True)
    reminder_due_at: datetime | None = utc_field(nullable=True, index=True)
    reminded_at: datetime | None = utc_field(nullable=True)
    discharged_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field(index=True)
    updated_at: datetime = utc_field()
    version: int = 0


class FollowupTaskRow(SQLModel, table=True):
    """One check a village post does for a resident on a day; ``result`` is erased with the resident."""

    __tablename__ = "followup_task"
    id: int | None = Field(default=None, primary_key=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    post_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    order_id: int | None = Field(default=None, foreign_key="care_order.id", index=True)
    source: str = Field(max_length=16)  # referral | remote
    source_id: int | None = Field(default=None)
    what: str = Field(max_length=60)
    due_day: date = Field(index=True)
    status: str = Field(max_length=16, index=True)
    result: str | None = Field(default=None, max_length=200)
    done_at: datetime | None = utc_field(nullable=True)
    done_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    reminded_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
