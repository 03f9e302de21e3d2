"""Tables for ledgers: ratings, problem leads, yearly targets, absences, key physicians, dashboard logins."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field

__all__ = [
    "AbsenceRow",
    "DashboardCredentialRow",
    "DashboardSessionRow",
    "KeyPhysicianRow",
    "LeadRow",
    "RatingRow",
    "YearlyTargetRow",
]


class RatingRow(SQLModel, table=True):
    """A resident's 1–5 rating of a served visit (given by them or by their village doctor for them)."""

    __tablename__ = "visit_rating"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="care_order.id", unique=True)
    score: int
    comment: str | None = Field(default=None, max_length=500)
    complaint: bool = False
    source: str = Field(max_length=16)  # resident | village_doctor
    account_id: int | None = Field(default=None, foreign_key="chat_account.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = utc_field(index=True)


class LeadRow(SQLModel, table=True):
    """A problem lead (问题线索): low ratings, complaints, 12345 hotline tickets; rectified by an owner."""

    __tablename__ = "problem_lead"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, index=True)
    order_id: int | None = Field(default=None, foreign_key="care_order.id", index=True)
    rating_id: int | None = Field(default=None, foreign_key="visit_rating.id")
    place_code: str | None = Field(default=None, foreign_key="place.code", max_length=32, index=True)
    institution_code: str | None = Field(default=None, foreign_key="institution.code", max_length=32)
    summary: str = Field(max_length=500)
    hotline_ticket: str | None = Field(default=None, max_length=64)
    owner_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    status: str = Field(max_length=16, index=True)
    resolution: str | None = Field(default=None, max_length=500)
    due_date: date | None = None
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = utc_field(index=True)
    updated_at: datetime = utc_field()
    resolved_at: datetime | None = utc_field(nullable=True)


class YearlyTargetRow(SQLModel, table=True):
    """One yearly target figure for a city or county (missing figures fall back to the defaults)."""

    __tablename__ = "yearly_target"
    place_code: str = Field(foreign_key="place.code", primary_key=True, max_length=32)
    year: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=32)
    value: float


class AbsenceRow(SQLModel, table=True):
    """A physician planned on a circuit who did not come; an empty reason counts as absence without reason."""

    __tablename__ = "circuit_absence"
    circuit_id: int = Field(foreign_key="circuit.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, index=True)
    reason: str | None = Field(default=None, max_length=200)
    recorded_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = utc_field()


class KeyPhysicianRow(SQLModel, table=True):
    """A key physician (骨干医师) for a year: at least 30 days at the grassroots."""

    __tablename__ = "key_physician"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    year: int = Field(primary_key=True)


class DashboardCredentialRow(SQLModel, table=True):
    """A dashboard password (argon2 hash) for a member of staff, with a lockout after repeated failures."""

    __tablename__ = "dashboard_credential"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    password_hash: str = Field(max_length=200)
    set_at: datetime = utc_field()
    failed_attempts: int = 0
    locked_until: datetime | None = utc_field(nullable=True)


class DashboardSessionRow(SQLModel, table=True):
    """A dashboard login; only the SHA-256 of the cookie token is stored."""

    __tablename__ = "dashboard_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field(index=True)
    last_seen_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)
