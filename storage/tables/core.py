"""The core tables: places, institutions, staff, residents, orders, circuits, audit, chat."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class PlaceRow(SQLModel, table=True):
    __tablename__ = "place"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16, index=True)
    parent_code: str | None = Field(default=None, foreign_key="place.code", max_length=32, index=True)
    market_days: str | None = Field(default=None, max_length=64)


class InstitutionRow(SQLModel, table=True):
    __tablename__ = "institution"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=32, index=True)
    place_code: str = Field(foreign_key="place.code", max_length=32, index=True)
    phone: str | None = Field(default=None, max_length=40)  # public number, kept as given (not encrypted)


class SupportRow(SQLModel, table=True):
    __tablename__ = "support_relation"
    __table_args__ = (sa.UniqueConstraint("supporter_code", "supported_code", "start_date"),)
    id: int | None = Field(default=None, primary_key=True)
    supporter_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    supported_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    start_date: date
    end_date: date | None = None


class SpecialtyRow(SQLModel, table=True):
    __tablename__ = "specialty"
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=50)
    parent_code: str | None = Field(default=None, max_length=16)


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=50)
    institution_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    title: str = Field(max_length=8)
    phone_enc: str | None = Field(default=None, max_length=200)
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    active: bool = True


class StaffSpecialtyRow(SQLModel, table=True):
    __tablename__ = "staff_specialty"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    specialty_code: str = Field(foreign_key="specialty.code", primary_key=True, max_length=16, index=True)


class StaffRoleRow(SQLModel, table=True):
    __tablename__ = "staff_role"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=32, index=True)


class ResidentRow(SQLModel, table=True):
    __tablename__ = "resident"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    sex: str = Field(max_length=1)
    birth_year: int
    village_code: str = Field(foreign_key="place.code", max_length=32, index=True)
    phone_enc: str | None = Field(default=None, max_length=200)
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    id_number_enc: str | None = Field(default=None, max_length=200)
    id_number_hash: str | None = Field(default=None, max_length=64, index=True)
    consent_version: str | None = Field(default=None, max_length=32)
    consent_at: datetime | None = utc_field(nullable=True)
    consent_by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    consent_withdrawn_at: datetime | None = utc_field(nullable=True)
    # After an erasure: a keyed hash of the name, village and birth year (never the name itself), so that an old
    # survey sheet cannot register the person again with a consent older than their withdrawal.
    erased_key: str | None = Field(default=None, max_length=64, index=True)


class OrderRow(SQLModel, table=True):
    __tablename__ = "care_order"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    post_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    village_code: str = Field(foreign_key="place.code", max_length=32, index=True)
    filed_by_staff_id: int = Field(foreign_key="staff.id")
    need_text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    suggested_specialty: str | None = Field(default=None, foreign_key="specialty.code", max_length=16)
    confirmed_specialty: str | None = Field(default=None, foreign_key="specialty.code", max_length=16, index=True)
    urgency: str = Field(max_length=16)
    special_populations: str = Field(default="", max_length=100)
    status: str = Field(max_length=32, index=True)
    disposition: str | None = Field(default=None, max_length=16)
    disposition_note: str | None = Field(default=None, max_length=500)
    assigned_expert_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    circuit_id: int | None = Field(default=None, foreign_key="circuit.id", index=True)
    question: str | None = Field(default=None, max_length=500)
    answer: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=500)
    merged_into_id: int | None = Field(default=None, foreign_key="care_order.id")
    emergency_override: bool = False
    emergency_reasons: str | None = Field(default=None, max_length=200)  # what the system flagged, if overridden
    created_at: datetime = utc_field(index=True)
    updated_at: datetime = utc_field()
    version: int = 0


class CircuitRow(SQLModel, table=True):
    __tablename__ = "circuit"
    id: int | None = Field(default=None, primary_key=True)
    hospital_code: str = Field(foreign_key="institution.code", max_length=32, index=True)
    place_code: str = Field(foreign_key="place.code", max_length=32, index=True)
    day: date = Field(index=True)
    half_day: str = Field(max_length=2)
    level: str = Field(max_length=16)
    status: str = Field(max_length=16)


class CircuitExpertRow(SQLModel, table=True):
    __tablename__ = "circuit_expert"
    circuit_id: int = Field(foreign_key="circuit.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, index=True)


class AuditRow(SQLModel, table=True):
    """Append-only: triggers refuse UPDATE and DELETE on every backend."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(index=True)
    actor_staff_id: int | None = Field(default=None, index=True)
    actor_role: str = Field(max_length=32)
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64, index=True)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))


class CounterRow(SQLModel, table=True):
    """Named sequences, e.g. one per day for order numbers."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=64)
    value: int = 0


class ChatAccountRow(SQLModel, table=True):
    """A person's account on one chat platform, with their conversation state (a restart loses nothing)."""

    __tablename__ = "chat_account"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=100)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    acting_role: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=64)
    draft: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
    draft_updated_at: datetime | None = utc_field(nullable=True, index=True)
    reminded_at: datetime | None = utc_field(nullable=True)
    blocked: bool = False  # the user blocked the bot or withdrew: send nothing more
    created_at: datetime = utc_field()
    # The choices last put to the person in answer to their own message (storage.repositories.prompts), and until
    # when a reply can pick one; older and proactive prompts are rows of chat_prompt.
    prompt: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    prompt_until: datetime | None = utc_field(nullable=True)


class SubscriptionRow(SQLModel, table=True):
    """A chat account follows a village's circuit announcements."""

    __tablename__ = "subscription"
    chat_account_id: int = Field(foreign_key="chat_account.id", primary_key=True)
    village_code: str = Field(foreign_key="place.code", primary_key=True, max_length=32, index=True)
    created_at: datetime = utc_field()


class InviteRow(SQLModel, table=True):
    """A one-time code an administrator hands to a member of staff to bind their chat account."""

    __tablename__ = "invite"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=32)
    institution_code: str = Field(foreign_key="institution.code", max_length=32)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    used_at: datetime | None = utc_field(nullable=True)
    used_by_account_id: int | None = Field(default=None, foreign_key="chat_account.id")


class ButtonRow(SQLModel, table=True):
    """What a button means: the platform only ever sees the opaque token."""

    __tablename__ = "button"
    token: str = Field(primary_key=True, max_length=24)
    chat_account_id: int = Field(foreign_key="chat_account.id", index=True)
    action: str = Field(max_length=32)
    payload: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
    created_at: datetime = utc_field(index=True)
    # The prompt (chat_prompt) that offered this button, if one did: a press marks that prompt answered by its key.
    # No foreign key: prompts and buttons are purged on their own clocks, and a stale id matches nothing (the
    # answer also checks the account and the time the two were made together).
    prompt_id: int | None = Field(default=None)


class PromptRow(SQLModel, table=True):
    """Choices put to a chat account (``domain.prompts.Prompt``): what a typed reply to them means, until when."""

    __tablename__ = "chat_prompt"
    # The prompts still open, per account: a press or a typed reply reads only these (answered ones pile up until
    # the hourly purge), whatever the account's history.
    __table_args__ = (
        sa.Index("ix_chat_prompt_open", "chat_account_id", "id", sqlite_where=sa.text("answered_at IS NULL"),
                 postgresql_where=sa.text("answered_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    chat_account_id: int = Field(foreign_key="chat_account.id", index=True)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field(index=True)
    answered_at: datetime | None = utc_field(nullable=True)
    topic: str | None = Field(default=None, max_length=16)
    again: str | None = Field(default=None, max_length=32)
    proactive: bool = False
    # JSON [[token, [key, …]], …]: the buttons in the order they were shown, each with keyed hashes of the words
    # that pick it (never the label itself: a label may be a resident's name).
    choices: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))


class ProcessedUpdateRow(SQLModel, table=True):
    """Platform update ids already handled, so a webhook retry or polling replay has no second effect."""

    __tablename__ = "processed_update"
    platform: str = Field(primary_key=True, max_length=16)
    update_id: str = Field(primary_key=True, max_length=64)
    at: datetime = utc_field(index=True)


class CircuitWorkRow(SQLModel, table=True):
    """Other work done on a circuit visit: lectures, training, home visits, special-population consultations."""

    __tablename__ = "circuit_work"
    id: int | None = Field(default=None, primary_key=True)
    circuit_id: int = Field(foreign_key="circuit.id", index=True)
    kind: str = Field(max_length=32)
    count: int = 1
    note: str | None = Field(default=None, max_length=200)
    recorded_by_staff_id: int = Field(foreign_key="staff.id")
    at: datetime = utc_field()


class OrderOutcomeRow(SQLModel, table=True):
    """What the expert recorded for an order seen (or missed) on a circuit."""

    __tablename__ = "order_outcome"
    order_id: int = Field(foreign_key="care_order.id", primary_key=True)
    outcome: str = Field(max_length=500)
    recorded_by_staff_id: int = Field(foreign_key="staff.id")
    at: datetime = utc_field()

