"""Follow-up tasks: stored per village post, listed for /tasks, reminded on their day, lapsed when overdue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.followups import OPEN, FollowupStatus, FollowupTask
from domain.privacy import mask_free_text
from storage.repositories.base import Repository, affected
from storage.tables import FollowupTaskRow


def _task(row: FollowupTaskRow) -> FollowupTask:
    return FollowupTask(
        resident_id=row.resident_id or 0, post_code=row.post_code, what=row.what, due=row.due_day, source=row.source,
        created_at=row.created_at, order_id=row.order_id, source_id=row.source_id, status=FollowupStatus(row.status),
        result=row.result, done_at=row.done_at, done_by_staff_id=row.done_by_staff_id, id=row.id,
    )


class FollowupRepository(Repository):
    """Follow-up tasks of village posts."""

    def add(self, t: FollowupTask, *, staff_id: int | None) -> int:
        """Store a new task; returns its id."""
        row = FollowupTaskRow(resident_id=t.resident_id, post_code=t.post_code, order_id=t.order_id, source=t.source,
                              source_id=t.source_id, what=mask_free_text(t.what) or "", due_day=t.due,
                              status=t.status.value,
                              created_at=t.created_at, created_by_staff_id=staff_id)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        t.id = row.id
        return row.id

    def get(self, task_id: int, *, for_update: bool = False) -> FollowupTask | None:
        """One task, or None."""
        q = select(FollowupTaskRow).where(col(FollowupTaskRow.id) == task_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q.execution_options(populate_existing=True)).first()
        return _task(row) if row else None

    def save(self, t: FollowupTask) -> None:
        """Write a task's state."""
        assert t.id is not None
        row = self.s.get(FollowupTaskRow, t.id)
        assert row is not None
        row.status, row.result, row.done_at, row.done_by_staff_id = t.status.value, mask_free_text(t.result), \
            t.done_at, t.done_by_staff_id
        self.s.add(row)

    def of_posts(self, post_codes: Iterable[str], *, open_only: bool = True, until: date | None = None,
                 limit: int = 100) -> list[FollowupTask]:
        """Tasks of these posts (open ones due by ``until``), earliest first."""
        q = select(FollowupTaskRow).where(col(FollowupTaskRow.post_code).in_(list(post_codes)))
        if open_only:
            q = q.where(col(FollowupTaskRow.status).in_([s.value for s in OPEN]))
        if until is not None:
            q = q.where(col(FollowupTaskRow.due_day) <= until)
        q = q.order_by(col(FollowupTaskRow.due_day), col(FollowupTaskRow.id)).limit(limit)
        return [_task(r) for r in self.s.exec(q)]

    def of_source(self, source: str, source_id: int) -> list[FollowupTask]:
        """The tasks one plan made (a referral's discharge …)."""
        q = select(FollowupTaskRow).where(col(FollowupTaskRow.source) == source,
                                          col(FollowupTaskRow.source_id) == source_id)
        return [_task(r) for r in self.s.exec(q.order_by(col(FollowupTaskRow.due_day), col(FollowupTaskRow.id)))]

    def due_reminders(self, today: date, limit: int = 500) -> list[int]:
        """Open tasks due by ``today`` not yet reminded."""
        q = (select(col(FollowupTaskRow.id))
             .where(col(FollowupTaskRow.status) == FollowupStatus.DUE.value, col(FollowupTaskRow.reminded_at).is_(None),
                    col(FollowupTaskRow.due_day) <= today)
             .order_by(col(FollowupTaskRow.due_day), col(FollowupTaskRow.id)).limit(limit))
        if self._pg:
            q = q.with_for_update(skip_locked=True)
        return [int(i) for i in self.s.execute(q).scalars()]

    def claim_reminder(self, task_id: int, now: datetime) -> bool:
        """Mark the reminder sent; False if another sweep was first."""
        res = self.s.execute(sa.update(FollowupTaskRow)
                             .where(col(FollowupTaskRow.id) == task_id, col(FollowupTaskRow.reminded_at).is_(None))
                             .values(reminded_at=now))
        return bool(affected(res))

    def lapse(self, due_before: date) -> list[int]:
        """Tasks still due whose day is before ``due_before`` become overdue; returns their ids."""
        res = self.s.execute(
            sa.update(FollowupTaskRow)
            .where(col(FollowupTaskRow.status) == FollowupStatus.DUE.value, col(FollowupTaskRow.due_day) < due_before)
            .values(status=FollowupStatus.OVERDUE.value)
            .returning(col(FollowupTaskRow.id))
        )
        return [int(r[0]) for r in res]

    def next_due_day(self) -> date | None:
        """The earliest day an open task is due (not yet reminded or still due)."""
        return self.s.exec(select(sa.func.min(FollowupTaskRow.due_day)).where(
            col(FollowupTaskRow.status) == FollowupStatus.DUE.value)).one()

    def forget_resident(self, resident_id: int) -> None:
        """Erasure: what was checked and the typed results go, open tasks are cancelled (nobody is reminded of an
        erased resident); the tasks stay as anonymous counts."""
        mine = col(FollowupTaskRow.resident_id) == resident_id
        self.s.execute(sa.update(FollowupTaskRow).where(mine, col(FollowupTaskRow.status).in_([s.value for s in OPEN]))
                       .values(status=FollowupStatus.CANCELLED.value))
        self.s.execute(sa.update(FollowupTaskRow).where(mine).values(result=None, what=""))
