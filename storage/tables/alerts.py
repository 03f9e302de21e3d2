"""The emergency alert: a village doctor's suspected emergency, who was alerted, who answered, when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class EmergencyAlertRow(SQLModel, table=True):
    """One alert. The resident's name and the call-back number are encrypted at rest (personal data); the
    reasons are the detector's labels, never the villager's words."""

    __tablename__ = "emergency_alert"
    id: int | None = Field(default=None, primary_key=True)
    post_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    village_code: str = Field(foreign_key="place.code", max_length=32)
    filed_by_staff_id: int = Field(foreign_key="staff.id", index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    resident_name_enc: str | None = Field(default=None, max_length=300)
    reasons: str = Field(max_length=200)
    callback_phone_enc: str | None = Field(default=None, max_length=200)
    level: str = Field(max_length=16)  # township / hospital / none: who was alerted last
    alerted: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))
    created_at: datetime = utc_field(index=True)
    acknowledged_at: datetime | None = utc_field(nullable=True)
    acknowledged_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    escalated_at: datetime | None = utc_field(nullable=True)
