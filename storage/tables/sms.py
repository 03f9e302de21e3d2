"""SMS announcements for residents without a smartphone: who registered which number, with whose consent, and
what the provider said about each message sent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class SmsRegistrationRow(SQLModel, table=True):
    """A resident's mobile number registered for their village's announcements, with their separate consent.

    The number is stored only encrypted (``phone_enc``) with a keyed hash (``phone_hash``) to find every
    registration of a number when it replies "TD"; ``opted_out_at`` set means nothing more goes to it.
    """

    __tablename__ = "sms_registration"
    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", unique=True)
    village_code: str = Field(foreign_key="place.code", max_length=32, index=True)
    phone_enc: str = Field(max_length=200)
    phone_hash: str = Field(max_length=64, index=True)
    consent_version: str = Field(max_length=32)
    consent_at: datetime = utc_field()
    registered_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    source: str = Field(max_length=16)  # chat | import
    created_at: datetime = utc_field()
    opted_out_at: datetime | None = utc_field(nullable=True, index=True)
    opt_out_source: str | None = Field(default=None, max_length=32)  # reply | doctor | provider


class SmsMessageRow(SQLModel, table=True):
    """One SMS the provider accepted for an outbox row, and its delivery receipt when the provider pushes one."""

    __tablename__ = "sms_message"
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int | None = Field(default=None, index=True)
    registration_id: int | None = Field(default=None, index=True)
    announcement_id: int | None = Field(default=None)
    provider: str = Field(max_length=16)  # aliyun | tencent
    provider_id: str = Field(max_length=64, index=True)  # Alibaba BizId, Tencent SerialNo
    submitted_at: datetime = utc_field()
    status: str = Field(default="submitted", max_length=16)  # submitted | delivered | failed
    report_code: str | None = Field(default=None, max_length=64)
    reported_at: datetime | None = utc_field(nullable=True)
