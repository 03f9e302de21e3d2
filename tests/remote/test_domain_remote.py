"""The remote consultation's state machine, its reminders and the times people type (pure domain, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import DomainError, IllegalTransition
from domain.remote import (
    CHINA,
    SESSION_TRANSITIONS,
    RemoteSession,
    SessionAction,
    SessionStatus,
    due_reminder,
    next_reminder_at,
    parse_when,
    wall_clock,
)

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Sanming
STARTS = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 15:00 on the 25th
AFTER = STARTS + timedelta(hours=1)


def session(status: SessionStatus = SessionStatus.SCHEDULED) -> RemoteSession:
    s = RemoteSession.schedule(order_id=1, resident_id=2, hospital_code="CH", expert_id=3, site_code="TC",
                               county_code="350421", starts_at=STARTS, room="腾讯会议 1", actor_staff_id=9,
                               actor_role="hospital_reviewer", now=NOW)
    s.status = status
    return s


def act(s: RemoteSession, action: SessionAction, now: datetime = AFTER):
    if action is SessionAction.HOLD:
        return s.hold(advice="继续用药", refer_up=False, followup_plan=None, actor_staff_id=3, actor_role="expert",
                      now=now)
    if action is SessionAction.MOVE:
        return s.move(starts_at=STARTS + timedelta(days=2), reason="专家出诊", actor_staff_id=9,
                      actor_role="hospital_reviewer", now=NOW)
    if action is SessionAction.CANCEL:
        return s.cancel(reason="居民住院", actor_staff_id=9, actor_role="hospital_reviewer", now=NOW)
    return s.mark_no_show(actor_staff_id=3, actor_role="expert", now=now)


ALL = [(status, action) for status in SessionStatus for action in SessionAction]


@pytest.mark.parametrize(("status", "action"), ALL, ids=[f"{s.value}-{a.value}" for s, a in ALL])
def test_every_transition_is_allowed_from_scheduled_only_and_refused_from_every_other_state(status, action):
    s = session(status)
    sources, target = SESSION_TRANSITIONS[action]
    if status in sources:
        act(s, action)
        assert s.status is target
        assert s.events[-1].from_status == status.value and s.events[-1].to_status == target.value
    else:
        with pytest.raises(IllegalTransition):
            act(s, action)
        assert s.status is status


def test_the_states_are_scheduled_then_held_moved_cancelled_or_no_show():
    assert {t for _, t in SESSION_TRANSITIONS.values()} == {SessionStatus.HELD, SessionStatus.MOVED,
                                                            SessionStatus.CANCELLED, SessionStatus.NO_SHOW}
    assert all(sources == {SessionStatus.SCHEDULED} for sources, _ in SESSION_TRANSITIONS.values())


@pytest.mark.parametrize("action", [SessionAction.HOLD, SessionAction.MARK_NO_SHOW])
def test_an_outcome_or_a_no_show_before_the_time_is_refused(action):
    s = session()
    with pytest.raises(DomainError) as e:
        act(s, action, now=STARTS - timedelta(minutes=1))
    assert e.value.key == "remote.not_started" and s.status is SessionStatus.SCHEDULED


def test_a_move_makes_a_new_scheduled_session_and_keeps_the_reason_on_the_old():
    s = session()
    s.id = 7
    new = act(s, SessionAction.MOVE)
    assert s.status is SessionStatus.MOVED and s.reason == "专家出诊"
    assert new.status is SessionStatus.SCHEDULED and new.previous_id == 7 and new.starts_at == STARTS + timedelta(2)
    assert new.room == s.room and new.reminded is None


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_move_or_cancel_needs_a_reason_of_sensible_length(reason):
    s = session()
    with pytest.raises(DomainError):
        s.cancel(reason=reason, actor_staff_id=9, actor_role="hospital_reviewer", now=NOW)
    with pytest.raises(DomainError):
        s.move(starts_at=STARTS + timedelta(days=1), reason=reason, actor_staff_id=9, actor_role="h", now=NOW)
    assert s.status is SessionStatus.SCHEDULED


def test_a_move_to_the_same_time_or_the_past_is_refused():
    s = session()
    with pytest.raises(DomainError, match="same_time"):
        s.move(starts_at=STARTS, reason="x", actor_staff_id=9, actor_role="h", now=NOW)
    with pytest.raises(DomainError, match="in_the_past"):
        s.move(starts_at=NOW - timedelta(hours=1), reason="x", actor_staff_id=9, actor_role="h", now=NOW)
    assert s.status is SessionStatus.SCHEDULED


@pytest.mark.parametrize("room", ["", " ", "r" * 201])
def test_a_session_needs_a_link_or_room(room):
    with pytest.raises(DomainError):
        RemoteSession.schedule(order_id=1, resident_id=2, hospital_code="CH", expert_id=3, site_code="TC",
                               county_code="C", starts_at=STARTS, room=room, actor_staff_id=9, actor_role="h", now=NOW)


def test_the_outcome_keeps_advice_refer_up_and_plan():
    s = session()
    s.hold(advice=" 加用氨氯地平 ", refer_up=True, followup_plan="两周后复测", actor_staff_id=3, actor_role="expert",
           now=AFTER)
    assert (s.advice, s.refer_up, s.followup_plan, s.outcome_at) == ("加用氨氯地平", True, "两周后复测", AFTER)


# --- reminders ----------------------------------------------------------------------------------------------------
def test_the_day_before_then_the_hour_before_each_once():
    s = session()
    assert due_reminder(s, NOW) is None
    assert next_reminder_at(s, NOW) == STARTS - timedelta(days=1)
    r = due_reminder(s, STARTS - timedelta(hours=23))
    assert r is not None and r.label == "1d"
    s.reminded = "1d"
    assert due_reminder(s, STARTS - timedelta(hours=2)) is None
    assert next_reminder_at(s, STARTS - timedelta(hours=2)) == STARTS - timedelta(hours=1)
    r = due_reminder(s, STARTS - timedelta(minutes=59))
    assert r is not None and r.label == "1h"
    s.reminded = "1h"
    assert due_reminder(s, STARTS - timedelta(minutes=1)) is None
    assert next_reminder_at(s, STARTS - timedelta(minutes=1)) is None


def test_after_downtime_over_both_reminders_only_the_hour_before_goes_and_none_once_started():
    s = session()
    r = due_reminder(s, STARTS - timedelta(minutes=20))
    assert r is not None and r.label == "1h"
    assert due_reminder(s, STARTS + timedelta(minutes=1)) is None


@pytest.mark.parametrize("status", [s for s in SessionStatus if s is not SessionStatus.SCHEDULED])
def test_no_reminder_for_a_session_no_longer_scheduled(status):
    assert due_reminder(session(status), STARTS - timedelta(minutes=30)) is None


# --- typed times --------------------------------------------------------------------------------------------------
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("text", "expected"), [
    ("11月25日 15:00", (2026, 11, 25, 15, 0)),
    ("11月25日15:00", (2026, 11, 25, 15, 0)),
    ("2026-11-25 15:00", (2026, 11, 25, 15, 0)),
    ("2026年11月25日 9:05", (2026, 11, 25, 9, 5)),
    ("11/25 15：30", (2026, 11, 25, 15, 30)),
    ("明天下午3点", (2026, 11, 24, 15, 0)),
    ("后天上午九点半", (2026, 11, 25, 9, 30)),
    ("十二月三日 下午两点", (2026, 12, 3, 14, 0)),
    ("12月3日上午9点30分", (2026, 12, 3, 9, 30)),
    ("1月5日 10:00", (2027, 1, 5, 10, 0)),  # January typed in November: the coming one
    ("9月1日 10:00", (2027, 9, 1, 10, 0)),  # more than two months past: next year
    ("11月20日 9:00", (2026, 11, 20, 9, 0)),  # a few days past: this year's (the caller refuses it as past)
])
def test_times_as_people_type_them(text, expected):
    assert parse_when(text, TODAY) == datetime(*expected, tzinfo=CHINA)


@pytest.mark.parametrize("text", ["", "   ", "下周", "next tuesday at noon", "😀", "13月45日 25:99", "11月25日",
                                  "11月31日 10:00", "11月25日 24:00", "明天 9:60", "明" * 100])
def test_times_that_cannot_be_read_are_refused(text):
    with pytest.raises(DomainError) as e:
        parse_when(text, TODAY)
    assert e.value.key == "remote.bad_when"


def test_a_time_is_written_back_in_sanmings_wall_clock():
    assert wall_clock(STARTS) == "11月25日 15:00"
    assert wall_clock(datetime(2026, 11, 24, 17, 5, tzinfo=UTC)) == "11月25日 01:05"
