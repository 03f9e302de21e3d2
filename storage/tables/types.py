"""Column types every table module shares."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from sqlmodel import Field


class UtcDateTime(sa.types.TypeDecorator):
    """Stores naive UTC on every backend and hands back timezone-aware UTC datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utc_field(nullable: bool = False, index: bool = False):
    """A timestamp column stored as UTC."""
    return Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))
