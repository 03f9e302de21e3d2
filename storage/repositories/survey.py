"""Pending survey imports (issue 19): stored between upload and confirmation, their rows encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from storage.repositories.base import Repository, affected
from storage.tables.survey import SurveyImportRow

CONTEXT = "survey.rows"  # the rows are encrypted bound to this context


@dataclass
class SurveyImport:
    """A survey sheet as checked: who sent it for which post, and its rows (plain dicts, see
    ``handlers.services.survey``)."""

    staff_id: int
    post_code: str
    village_code: str
    file_name: str
    rows: list[dict[str, Any]]
    created_at: datetime
    status: str = "pending"
    id: int | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SurveyRepository(Repository):
    """Survey imports waiting for (or past) the doctor's confirmation."""

    def _seal(self, imp: SurveyImport) -> str:
        body = json.dumps({"rows": imp.rows, "extra": imp.extra}, ensure_ascii=False, separators=(",", ":"))
        sealed = self.uow.cipher.encrypt(body, context=CONTEXT)
        assert sealed is not None
        return sealed

    def _load(self, row: SurveyImportRow) -> SurveyImport:
        body = json.loads(self.uow.cipher.decrypt(row.rows_enc, context=CONTEXT) or "{}")
        return SurveyImport(row.staff_id, row.post_code, row.village_code, row.file_name, body.get("rows", []),
                            row.created_at, row.status, row.id, row.updated_at, body.get("extra", {}))

    def add(self, imp: SurveyImport) -> int:
        """Store a new import; returns its id."""
        row = SurveyImportRow(staff_id=imp.staff_id, post_code=imp.post_code, village_code=imp.village_code,
                              file_name=imp.file_name[:200], status=imp.status, rows_enc=self._seal(imp),
                              created_at=imp.created_at, updated_at=imp.created_at)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        imp.id = row.id
        return row.id

    def get(self, import_id: int, *, for_update: bool = False) -> SurveyImport | None:
        """One import (locked for update on PostgreSQL when asked), or None."""
        q = select(SurveyImportRow).where(col(SurveyImportRow.id) == import_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return None if row is None else self._load(row)

    def save(self, imp: SurveyImport, now: datetime) -> None:
        """Store an import's status and rows as they are now."""
        assert imp.id is not None
        self.s.execute(sa.update(SurveyImportRow).where(col(SurveyImportRow.id) == imp.id)
                       .values(status=imp.status, rows_enc=self._seal(imp), updated_at=now))
        imp.updated_at = now

    def pending_of(self, staff_id: int) -> list[SurveyImport]:
        """The imports a member of staff has not confirmed or dropped yet, newest first."""
        rows = self.s.exec(select(SurveyImportRow).where(col(SurveyImportRow.staff_id) == staff_id,
                                                         col(SurveyImportRow.status) == "pending")
                           .order_by(col(SurveyImportRow.id).desc())).all()
        return [self._load(r) for r in rows]

    def purge(self, older_than: datetime, limit: int) -> int:
        """Delete up to ``limit`` imports last touched before ``older_than`` (their rows hold health data)."""
        old = select(SurveyImportRow.id).where(col(SurveyImportRow.updated_at) < older_than).limit(limit)
        return affected(self.s.execute(sa.delete(SurveyImportRow).where(col(SurveyImportRow.id).in_(old))))

    def forget_resident(self, name: str, village_code: str, birth_year: int) -> int:
        """Erasure: drop the rows naming this resident from every import of their village; returns how many."""
        dropped = 0
        for row in self.s.exec(select(SurveyImportRow).where(col(SurveyImportRow.village_code) == village_code)):
            imp = self._load(row)
            keep = [r for r in imp.rows if not (r.get("name") == name and r.get("birth_year") == birth_year)]
            if len(keep) != len(imp.rows):
                dropped += len(imp.rows) - len(keep)
                imp.rows = keep
                self.s.execute(sa.update(SurveyImportRow).where(col(SurveyImportRow.id) == imp.id)
                               .values(rows_enc=self._seal(imp)))
        return dropped
