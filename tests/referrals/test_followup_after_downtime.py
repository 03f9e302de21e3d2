"""Found by a review after the merge (issue 20): a follow-up reminder lost to a restart before 08:00."""

from __future__ import annotations

import pytest

from bot.jobs.worker import make_sweep
from domain.followups import PlanItem
from handlers.services.announcements import Announcer
from handlers.services.followups import plan_followups
from tests.referrals.helpers import NOW, referred_order, reviewer
from tests.referrals.test_reminders import at


@pytest.fixture
def sweep(app, clock):
    return make_sweep(app, Announcer(app.uow, clock), clock)


def test_a_follow_up_is_reminded_when_the_worker_comes_back_before_8_after_days_down(app, cast, clock, sweep):
    with app.uow() as uow:
        order = referred_order(uow)
        plan_followups(uow, reviewer(uow), order.id, (PlanItem("测血压", 7),), NOW, source="referral")  # due 11-30
        uow.commit()
    clock.now = at(29, 12, 0)
    sweep()  # the last sweep before the outage
    clock.now = at(30 + 4, 7, 0)  # back on 4 December at 07:00 Sanming, before the morning's reminders
    sweep()
    with app.uow() as uow:
        texts = [r.text for r in uow.outbox.rows() if "【随访提醒】" in r.text]
    assert len(texts) == 1  # reminded (late) before it was marked overdue
    clock.now = at(30 + 4, 9, 0)
    sweep()
    with app.uow() as uow:
        assert len([r for r in uow.outbox.rows() if "【随访提醒】" in r.text]) == 1  # and only once
