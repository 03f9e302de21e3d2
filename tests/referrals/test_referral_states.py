"""The referral and follow-up state machines: every allowed transition, every refused one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from domain.circuits import HalfDay
from domain.errors import DomainError, IllegalTransition
from domain.followups import (
    TEMPLATES,
    FollowupAction,
    FollowupStatus,
    FollowupTask,
    describe,
    lapses_at,
    parse_plan,
)
from domain.orders import Urgency
from domain.referrals import (
    TRANSITIONS,
    Referral,
    ReferralAction,
    ReferralStatus,
    Slot,
    check_slot,
    pick_slots,
    reminder_due,
    window,
)
from domain.staff import Role

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # Monday 10:30 in Sanming
ALLOWED = {(a, s) for a, (sources, _) in TRANSITIONS.items() for s in sources}
SLOT = Slot("CH350421", "03.04", date(2026, 11, 26), HalfDay.AM, 3, id=7)


def referral(status: ReferralStatus) -> Referral:
    return Referral(1, 2, "CH350421", "03.04", Urgency.ROUTINE, "VP1", NOW, status=status, id=5)


@pytest.mark.parametrize("action", list(ReferralAction))
@pytest.mark.parametrize("status", list(ReferralStatus))
def test_every_referral_transition_is_allowed_or_refused_as_the_table_says(action, status):
    r = referral(status)
    if (action, status) in ALLOWED:
        event = r.apply(action, actor_staff_id=1, actor_role=Role.HOSPITAL_REVIEWER, now=NOW, slot=SLOT)
        assert r.status is TRANSITIONS[action][1]
        assert (event.from_status, event.to_status) == (status.value, r.status.value)
    else:
        with pytest.raises(IllegalTransition):
            r.apply(action, actor_staff_id=1, actor_role=Role.HOSPITAL_REVIEWER, now=NOW, slot=SLOT)
        assert r.status is status and not r.events


def test_the_referral_path_from_waiting_to_discharged():
    r = referral(ReferralStatus.WAITING)
    for action in (ReferralAction.BOOK, ReferralAction.ARRIVE, ReferralAction.SEE, ReferralAction.ADMIT,
                   ReferralAction.DISCHARGE):
        r.apply(action, actor_staff_id=1, actor_role="hospital_reviewer", now=NOW, slot=SLOT, plan="7天 测血压")
    assert r.status is ReferralStatus.DISCHARGED and r.slot_id == 7 and r.plan == "7天 测血压"
    assert [e.action for e in r.events] == ["referral_book", "referral_arrive", "referral_see", "referral_admit",
                                            "referral_discharge"]


def test_an_outpatient_who_is_seen_may_go_down_without_admission_but_a_booking_needs_a_slot():
    r = referral(ReferralStatus.SEEN)
    r.apply(ReferralAction.DISCHARGE, actor_staff_id=1, actor_role="x", now=NOW)
    assert r.status is ReferralStatus.DISCHARGED
    with pytest.raises(DomainError):
        referral(ReferralStatus.WAITING).apply(ReferralAction.BOOK, actor_staff_id=1, actor_role="x", now=NOW)


def test_the_urgency_window_and_the_earliest_free_slot_of_the_specialty():
    assert window(date(2026, 11, 23), Urgency.SOON) == (date(2026, 11, 24), date(2026, 11, 26))
    assert window(date(2026, 11, 23), Urgency.ROUTINE)[1] == date(2026, 12, 7)
    slots = [
        Slot("H", "03.04", date(2026, 11, 25), HalfDay.PM, 2, id=1),
        Slot("H", "03.04", date(2026, 11, 25), HalfDay.AM, 1, booked=1, id=2),  # full
        Slot("H", "03", date(2026, 11, 24), HalfDay.AM, 5, id=3),  # the parent department, earlier
        Slot("H", "10", date(2026, 11, 24), HalfDay.AM, 5, id=4),  # another department
        Slot("H", "03.04", date(2026, 11, 23), HalfDay.PM, 5, id=5),  # today: not after the disposition day
        Slot("H", "03.04", date(2026, 11, 30), HalfDay.AM, 5, id=6),  # outside a SOON window
    ]
    first, last = window(date(2026, 11, 23), Urgency.SOON)
    assert [s.id for s in pick_slots(slots, "03.04", first, last, NOW)] == [1, 3]
    assert pick_slots(slots, "15", first, last, NOW) == []


def test_the_reminder_is_the_day_before_at_nine_unless_booked_after_that():
    due = reminder_due(SLOT, NOW)
    assert due is not None and due.astimezone(UTC) == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert reminder_due(SLOT, datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) is None


def test_a_slot_is_checked_before_it_is_published():
    assert check_slot(Slot("H", "03.04", date(2026, 11, 26), HalfDay.AM, 3, start=time(8, 30)))
    for bad in (Slot("H", "03.04", date(2026, 11, 26), HalfDay.AM, 0),
                Slot("H", "03.04", date(2026, 11, 26), HalfDay.AM, 3, start=time(15, 0)),
                Slot("H", "03.04", date(2026, 11, 26), HalfDay.AM, 3, beds=-1)):
        with pytest.raises(DomainError):
            check_slot(bad)


FA = FollowupAction
F_ALLOWED = {(FA.COMPLETE, FollowupStatus.DUE), (FA.COMPLETE, FollowupStatus.OVERDUE), (FA.LAPSE, FollowupStatus.DUE),
             (FA.CANCEL, FollowupStatus.DUE), (FA.CANCEL, FollowupStatus.OVERDUE)}


@pytest.mark.parametrize("action", list(FollowupAction))
@pytest.mark.parametrize("status", list(FollowupStatus))
def test_every_followup_transition_is_allowed_or_refused(action, status):
    task = FollowupTask(1, "VP1", "测血压", date(2026, 11, 30), "referral", NOW, status=status)
    if (action, status) in F_ALLOWED:
        task.apply(action, now=NOW, staff_id=3, result="135/85")
        assert task.status is {FA.COMPLETE: FollowupStatus.DONE, FA.LAPSE: FollowupStatus.OVERDUE,
                               FA.CANCEL: FollowupStatus.CANCELLED}[action]
    else:
        with pytest.raises(IllegalTransition):
            task.apply(action, now=NOW, staff_id=3, result="135/85")
        assert task.status is status


def test_a_followup_is_done_only_with_a_short_result():
    task = FollowupTask(1, "VP1", "测血压", date(2026, 11, 30), "referral", NOW)
    with pytest.raises(DomainError):
        task.apply(FA.COMPLETE, now=NOW, result="  ")
    with pytest.raises(DomainError):
        task.apply(FA.COMPLETE, now=NOW, result="x" * 201)
    assert task.status is FollowupStatus.DUE
    task.apply(FA.COMPLETE, now=NOW, staff_id=3, result="135/85，无不适")
    assert (task.result, task.done_by_staff_id) == ("135/85，无不适", 3)


def test_typed_plans_and_templates():
    items = parse_plan("7天 测血压；30天 测血压、查血脂")
    assert [(i.days, i.what) for i in items] == [(7, "测血压"), (30, "测血压、查血脂")]
    assert [(i.days, i.what) for i in parse_plan("测血糖 7天、30天")] == [(7, "测血糖"), (30, "测血糖")]
    assert describe(TEMPLATES["bp"][1]) == "7天后测血压；30天后测血压"
    for bad in ("", "测血压", "7天", "500天 测血压"):
        with pytest.raises(DomainError):
            parse_plan(bad)
    assert lapses_at(date(2026, 11, 30)).date() == date(2026, 12, 4)
