"""Remote consultations played by people who should not get through: someone else's session, forged or foreign
buttons, another hospital; and the resident's erasure (PIPL), which takes the consultation's notes with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.jobs.worker import make_sweep
from domain.errors import DomainError, PermissionDenied
from domain.staff import Role
from handlers import Inbound
from handlers.services import Actor, remote
from handlers.services.announcements import Announcer
from storage.tables import OutboxRow
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import STARTS, approved_order, schedule_remote


def session_of(app, number):
    with app.uow() as uow:
        return uow.remote.for_order(stored(app, number).id)[-1]


def actor(app, code: str, role: Role) -> Actor:
    with app.uow() as uow:
        return Actor(uow.staff.by_code(code), role, uow.reference.jurisdiction(), {"via": "test"})


def refusals(app, reason: str) -> int:
    with app.uow() as uow:
        return sum(1 for e in uow.audit.recent(500) if e.reason == reason)


def test_another_expert_of_the_same_hospital_cannot_record_the_outcome_or_see_the_session(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    chat.login("ophthalmologist", "S0004", Role.EXPERT, app.uow, clock())
    chat.say("ophthalmologist", "/remote")
    assert "没有待进行的远程会诊" in chat.last("ophthalmologist")
    s = session_of(app, number)
    colleague = actor(app, "S0004", Role.EXPERT)
    with app.uow() as uow, pytest.raises(PermissionDenied):
        remote.record_outcome(uow, colleague, STARTS + timedelta(hours=1), s.id, "x", False, None)
    assert session_of(app, number).status.value == "scheduled"


def test_another_hospitals_reviewer_cannot_move_or_cancel_it(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    s = session_of(app, number)
    other = actor(app, "S0010", Role.HOSPITAL_REVIEWER)  # the reviewer of another county's hospital (CH350404)
    with app.uow() as uow:
        with pytest.raises(PermissionDenied):
            remote.cancel(uow, other, clock(), s.id, "不需要了")
        with pytest.raises(PermissionDenied):
            remote.move(uow, other, clock(), s.id, STARTS + timedelta(days=1), "改期")
    assert session_of(app, number).status.value == "scheduled"


def test_an_expert_cannot_cancel_and_a_reviewer_cannot_record_advice(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    s = session_of(app, number)
    expert, reviewer = actor(app, "S0003", Role.EXPERT), actor(app, "S0002", Role.HOSPITAL_REVIEWER)
    with app.uow() as uow:
        with pytest.raises(PermissionDenied):
            remote.cancel(uow, expert, clock(), s.id, "不去了")
        with pytest.raises(PermissionDenied):
            remote.record_outcome(uow, reviewer, STARTS + timedelta(hours=1), s.id, "x", False, None)


def test_a_button_pressed_by_someone_it_was_not_shown_to_is_refused(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    chat.say("hospital", "/remote")
    shown, cancel = chat.find_button("hospital", "取消")
    # The village doctor replays the hospital's button token in their own chat.
    chat.send(Inbound("test", "doctor", "doctor", button=cancel.data, update_id="forged-1",
                      message_id=shown.message_id))
    assert "不属于您" in chat.last("doctor"), chat.last("doctor")
    # A made-up token is refused too, and audited.
    before = refusals(app, "unknown_button")
    chat.send(Inbound("test", "hospital", "hospital", button="rc.cancel:999", update_id="forged-2"))
    assert "失效" in chat.last("hospital") or "无效" in chat.last("hospital"), chat.last("hospital")
    assert refusals(app, "unknown_button") == before + 1
    chat.say("township", "/remote")  # not a township reviewer's command
    assert "取消" not in [b.label for row in chat.screens["township"][-1].buttons for b in row]


def test_a_session_id_that_does_not_exist_is_a_polite_refusal(chat, cast, app, clock):
    reviewer = actor(app, "S0002", Role.HOSPITAL_REVIEWER)
    with app.uow() as uow:
        for bad in ("RC999", "abc", "-1", "9" * 30, None):
            with pytest.raises(DomainError) as e:
                remote.cancel(uow, reviewer, clock(), bad, "x")
            assert e.value.key == "remote.unknown", bad


def test_an_expert_of_another_hospital_cannot_be_chosen(chat, cast, app, clock):
    number = approved_order(chat, app)
    reviewer, order_id = actor(app, "S0002", Role.HOSPITAL_REVIEWER), stored(app, number).id
    with app.uow() as uow:
        foreign = uow.staff.by_code("S0011")  # an expert of CH350404
        with pytest.raises(PermissionDenied):
            remote.schedule(uow, reviewer, clock(), order_id, foreign.id, "TC350421101", STARTS, "room")
        with pytest.raises(PermissionDenied):  # a site that is not the resident's township center or village post
            remote.schedule(uow, reviewer, clock(), order_id, uow.staff.by_code("S0003").id, "TC350421102", STARTS,
                            "room")
    assert stored(app, number).status.value == "township_approved"


# --- the worker's sweep -------------------------------------------------------------------------------------------
@ALSO_ON_POSTGRES
def test_the_workers_sweep_after_downtime_sends_one_reminder_not_two_and_none_after_a_restart(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    chat.deliver_outbox(app.uow, clock())
    # The service was down from before the day-before reminder until 40 minutes before the consultation.
    clock.now = STARTS - timedelta(minutes=40)
    make_sweep(app, Announcer(app.uow, clock), clock)()
    make_sweep(app, Announcer(app.uow, clock), clock)()  # a restarted worker sweeps again
    chat.deliver_outbox(app.uow, clock())
    reminders = [t for t in chat.texts("grandpa") if "会诊提醒" in t]
    assert len(reminders) == 1 and "今天" in reminders[0], reminders


# --- erasure ------------------------------------------------------------------------------------------------------
def forget(chat, user: str = "grandpa") -> None:
    """The resident asks to be forgotten; their village doctor confirms."""
    chat.say(user, "/forget")
    chat.press(user, "确定撤回并删除")
    chat.press("doctor", "确认删除")


def press_on(chat, user: str, showing: str, label: str) -> None:
    """``user`` presses ``label`` on the newest message that shows ``showing``."""
    for shown in reversed(chat.screens[user]):
        found = [b for row in shown.buttons for b in row if label in b.label]
        if showing in shown.text and found:
            chat.send(Inbound("test", user, user, button=found[0].data, update_id=f"p{len(chat.screens[user])}",
                              message_id=shown.message_id))
            return
    raise AssertionError(f"no {label!r} on a message showing {showing!r}")


@ALSO_ON_POSTGRES
def test_the_residents_erasure_takes_the_consultations_advice_and_plan_and_stops_its_reminders(chat, cast, app, clock):
    held = approved_order(chat, app)
    schedule_remote(chat)
    # A second consultation of the same resident, not yet held when they ask to be forgotten.
    second = approved_order(chat, app)
    schedule_remote(chat, when="11月28日 10:00")
    clock.now = STARTS + timedelta(hours=1)
    chat.say("cardiologist", "/remote")
    press_on(chat, "cardiologist", "11月25日 15:00", "记录结果")
    chat.say("cardiologist", "血压偏高，建议加药")
    chat.press("cardiologist", "不需上转")
    chat.say("cardiologist", "两周后复测血压")
    assert "已记录" in chat.last("cardiologist")
    chat.deliver_outbox(app.uow, clock())  # the advice reached the village doctor: sent, kept in the outbox
    upcoming = session_of(app, second)
    clock.now = upcoming.starts_at - timedelta(minutes=30)
    assert remote.send_due_reminders(app.uow, clock()).queued > 0  # its reminder is queued, not yet sent

    forget(chat)

    orders = [stored(app, held).id, stored(app, second).id]
    with app.uow() as uow:
        sessions = uow.remote.for_order(orders[0]) + uow.remote.for_order(orders[1])
        pending = [m.text for m in uow.outbox.claim("t", ["test"], clock(), limit=1000)]
    assert [(s.advice, s.followup_plan, s.reason) for s in sessions] == [(None, None, None)] * 2
    assert [s.status.value for s in sessions] == ["held", "cancelled"]  # still counted, but anonymous
    assert not any("邱瑞鹏" in t or "血压偏高" in t for t in pending), pending
    with app.uow() as uow:  # what was sent is not kept either
        kept = uow.session.execute(sa.select(OutboxRow.text).where(OutboxRow.dedupe_key.like("remote:%"))).scalars()
        assert not [t for t in kept if "血压偏高" in t or "心口疼" in t]
    assert remote.send_due_reminders(app.uow, clock()).queued == 0
