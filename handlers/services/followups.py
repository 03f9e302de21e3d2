"""Follow-up tasks (随访任务), each use case once: plan them, list a post's, record one done, and the sweep that
reminds on the day and marks overdue ones.

Plans come from a down-referral at discharge (``services.referrals.discharge``) and, later, from a remote
consultation's advice: both call :func:`plan_followups`. Tasks belong to the village post that filed the order;
any village doctor of that post may record one done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from domain.errors import DomainError, PermissionDenied
from domain.followups import (
    CHINA,
    GRACE_DAYS,
    FollowupAction,
    FollowupStatus,
    FollowupTask,
    PlanItem,
    due_day,
    reminder_at,
)
from domain.orders import AuditEvent
from domain.staff import Role
from handlers.services import Actor, Notice, queue, today_of
from handlers.texts_referrals import t
from storage.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
VD = Role.VILLAGE_DOCTOR


def plan_followups(uow: UnitOfWork, actor: Actor | None, order_id: int, items: tuple[PlanItem, ...], now: datetime,
                   *, source: str, source_id: int | None = None) -> list[FollowupTask]:
    """Create one follow-up task per plan item for the order's resident at the village post that filed it; each is
    due ``item.days`` after today (Sanming time). The caller has authorised the plan (a discharge, an advice)."""
    order = uow.orders.get(order_id)
    if order is None:
        raise DomainError("order.unknown")
    start = today_of(now)
    tasks = []
    for item in items:
        task = FollowupTask(order.resident_id, order.post_code, item.what, due_day(start, item), source, now,
                            order_id=order_id, source_id=source_id)
        uow.followups.add(task, staff_id=actor.staff_id if actor else None)
        tasks.append(task)
    uow.audit.append(AuditEvent(actor.staff_id if actor else None, actor.role.value if actor else "system",
                                "followups_planned", "order", order.number or str(order_id), None, None, None, now,
                                {"tasks": [x.id for x in tasks], "source": source, "source_id": source_id}))
    return tasks


def _posts(actor: Actor) -> list[str]:
    if actor.role is not VD:
        raise PermissionDenied("followup.not_yours")
    return [actor.staff.institution_code]


@dataclass(frozen=True, slots=True)
class TaskList:
    """A post's open tasks: due by today (overdue first) and those due within the week."""

    due: list[FollowupTask]
    soon: list[FollowupTask]

    @property
    def overdue(self) -> int:
        """How many are overdue."""
        return sum(1 for x in self.due if x.status is FollowupStatus.OVERDUE)


def tasks_of(uow: UnitOfWork, actor: Actor, now: datetime) -> TaskList:
    """The acting village doctor's post's open tasks."""
    today = today_of(now)
    found = uow.followups.of_posts(_posts(actor), until=today + timedelta(days=7), limit=200)
    due = sorted((x for x in found if x.due <= today), key=lambda x: (x.status is not FollowupStatus.OVERDUE, x.due))
    return TaskList(due, [x for x in found if x.due > today])


def load_task(uow: UnitOfWork, actor: Actor, task_id: object) -> FollowupTask:
    """A task of the actor's post, named by a button; else a refusal."""
    try:
        tid = int(str(task_id))
    except ValueError:
        raise DomainError("followup.unknown") from None
    task = uow.followups.get(tid, for_update=True) if 0 < tid < 2**62 else None
    if task is None:
        raise DomainError("followup.unknown")
    if task.post_code not in _posts(actor):
        raise PermissionDenied("followup.not_yours", task=tid)
    return task


def complete(uow: UnitOfWork, actor: Actor, task_id: object, result: str, now: datetime) -> FollowupTask:
    """Record a task done with its short result (late if it was overdue)."""
    task = load_task(uow, actor, task_id)
    before, _ = task.apply(FollowupAction.COMPLETE, now=now, staff_id=actor.staff_id, result=result)
    uow.followups.save(task)
    actor.audit(uow, now, "followup_done", "followup", str(task.id),
                detail={"from": before.value, "late": before is FollowupStatus.OVERDUE})
    return task


@dataclass(slots=True)
class FollowupSweep:
    """What one follow-up sweep did."""

    reminded: int = 0
    lapsed: int = 0
    next_due: datetime | None = None


def sweep_followups(uow_factory: UnitOfWorkFactory, clock: Callable[[], datetime], limit: int = 500) -> FollowupSweep:
    """Remind the village doctors of the tasks due today (once each, with the outbox rows in one transaction), and
    mark overdue those ``GRACE_DAYS`` past their day. Downtime delays a reminder; it never loses or doubles it."""
    now = clock()
    today = today_of(now)
    res = FollowupSweep()
    # Today's tasks from 08:00; a task of an earlier day at once (the worker was down over its morning): it is
    # reminded before the lapse below can mark it overdue unannounced.
    through = today if now >= reminder_at(today) else today - timedelta(days=1)
    with uow_factory() as uow:
        due = uow.followups.due_reminders(through, limit)
    for tid in due:
        try:
            with uow_factory() as uow:
                task = uow.followups.get(tid, for_update=True)
                if task is None or not uow.followups.claim_reminder(tid, now):
                    continue
                resident = uow.residents.get(task.resident_id)
                text = t("tasks.reminder", resident=resident.name if resident else "", what=task.what,
                         source=t(f"tasks.source.{task.source}"))
                accounts = uow.chat.accounts_of_staff(uow.staff.ids_at([task.post_code], VD))
                res.reminded += queue(uow, [Notice(a, text, f"followup:{tid}:remind:s{a.id}") for a in accounts],
                                      now)
                uow.commit()
        except Exception:
            log.exception("follow-up reminder %s failed; the next sweep retries", tid)
    with uow_factory() as uow:
        lapsed = uow.followups.lapse(today - timedelta(days=GRACE_DAYS))
        for tid in lapsed:
            uow.audit.append(AuditEvent(None, "system", "followup_overdue", "followup", str(tid), "due", "overdue",
                                        None, now, {}))
        uow.commit()
        res.lapsed = len(lapsed)
        first = uow.followups.next_due_day()
    if first is not None:
        at = reminder_at(first)
        res.next_due = at if at > now else datetime.combine(today + timedelta(days=1), time(0, 0), CHINA)
    return res
