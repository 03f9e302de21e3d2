"""Survey sheets imported in bulk (issue 19, 摸底导入): a pending import waits here, between the doctor's upload and
their confirmation, so a restart or a second worker loses nothing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field


class SurveyImportRow(SQLModel, table=True):
    """One uploaded survey sheet, checked and classified; ``rows_enc`` holds its rows (names, phones, needs: the
    residents' health data) encrypted, with what became of each (filed as which order, skipped)."""

    __tablename__ = "survey_import"
    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    post_code: str = Field(max_length=32)
    village_code: str = Field(max_length=32, index=True)
    file_name: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=16)  # pending | done | dropped
    rows_enc: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = utc_field(index=True)
    updated_at: datetime = utc_field()
