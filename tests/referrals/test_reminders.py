"""Referral and follow-up reminders with a fake clock, through the worker's own sweep: the day before at 09:00, once;
after downtime late but once; never after the visit began; follow-ups on their day and overdue after the grace."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.jobs.worker import make_sweep
from domain.followups import PlanItem
from handlers.services.announcements import Announcer
from handlers.services.followups import plan_followups
from handlers.services.referrals import publish_slots, refer_up
from tests.referrals.helpers import HOSPITAL, NOW, referred_order, reviewer, slot


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A November/December 2026 time given in Sanming hours."""
    month, day = (11, day) if day <= 30 else (12, day - 30)
    return datetime(2026, month, day, hour - 8, minute, tzinfo=UTC) if hour >= 8 else \
        datetime(2026, month, day - 1, hour + 16, minute, tzinfo=UTC)


@pytest.fixture
def sweep(app, clock):
    return make_sweep(app, Announcer(app.uow, clock), clock)


def book(app, when=NOW, day=date(2026, 11, 25)):
    with app.uow() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(day)], when)
        done = refer_up(uow, reviewer(uow), referred_order(uow, now=when), when)
        uow.commit()
    assert done.booked
    return done


def reminders(app) -> list[str]:
    with app.uow() as uow:
        return [r.text for r in uow.outbox.rows() if "【明天就诊提醒】" in r.text]


def test_the_reminder_waits_for_the_day_before_and_goes_once(app, cast, clock, sweep):
    book(app)
    clock.now = at(24, 8, 59)
    assert sweep() == at(24, 9, 0)  # the scheduler is told when to wake up
    assert reminders(app) == []
    clock.now = at(24, 9, 0)
    sweep()
    sweep()
    assert len(reminders(app)) == 1  # the village doctor (the resident is not linked here)


def test_after_downtime_the_reminder_goes_late_but_once(app, cast, clock, sweep):
    book(app)
    clock.now = at(25, 7, 30)  # the worker was down from Monday until the morning of the visit
    sweep()
    sweep()
    assert len(reminders(app)) == 1 and "11月25日（周三）上午" in reminders(app)[0]


def test_a_reminder_found_only_after_the_visit_began_is_never_sent(app, cast, clock, sweep):
    book(app)
    clock.now = at(25, 9, 0)
    sweep()
    assert reminders(app) == []


def test_a_booking_made_after_the_reminder_time_gets_no_reminder(app, cast, clock, sweep):
    book(app, when=at(24, 15, 0))  # booked Tuesday afternoon for Wednesday: the booking notice is the reminder
    clock.now = at(24, 16, 0)
    sweep()
    assert reminders(app) == []


def test_follow_up_tasks_are_reminded_on_their_day_once_and_lapse_after_the_grace_days(app, cast, clock, sweep):
    with app.uow() as uow:
        order = referred_order(uow)
        plan_followups(uow, reviewer(uow), order.id, (PlanItem("测血压", 7),), NOW, source="referral")
        uow.commit()
    clock.now = at(30, 7, 59)
    sweep()
    clock.now = at(30, 8, 0)  # 11月30日, seven days after 11月23日
    sweep()
    sweep()
    with app.uow() as uow:
        texts = [r.text for r in uow.outbox.rows() if "【随访提醒】" in r.text]
        assert len(texts) == 1 and "测血压" in texts[0]
        assert uow.followups.of_posts(["VP350421101001"])[0].status.value == "due"
    clock.now = at(30 + 3, 23, 59)  # 12月3日: still within the grace days
    sweep()
    with app.uow() as uow:
        assert uow.followups.of_posts(["VP350421101001"])[0].status.value == "due"
    clock.now = at(30 + 4, 8, 0)
    sweep()
    with app.uow() as uow:
        assert uow.followups.of_posts(["VP350421101001"])[0].status.value == "overdue"
