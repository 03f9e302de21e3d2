"""Remote consultations (远程会诊, issue 20) through the chat, as the people who use them see it.

The hospital reviewer disposes an order as remote, chooses the expert, the place where the resident will sit, the
date and time and the meeting link; everyone concerned is told through the outbox; a reminder goes out the day
before and an hour before; the expert records the outcome and the village doctor reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.orders import OrderStatus
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored

# The step's own words, or the chat's for empty or huge text.
POLITE = ("没看懂", "请输入", "请用文字回复", "内容太长", "过长")


def polite(answer: str) -> bool:
    return any(p in answer for p in POLITE) and "Traceback" not in answer


# 25 November 2026, 15:00 in Sanming (07:00 UTC); the fixed clock stands at 23 November 10:30.
STARTS = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def approved_order(chat, app) -> str:
    """A routine order filed, its resident's grandson linked, approved by the township."""
    number = file_order(chat)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("township", "/pending")
    chat.press("township", "批准")
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED
    return number


def schedule_remote(chat, when: str = "11月25日 15:00", room: str = "腾讯会议 888-123-456") -> None:
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    assert "专家" in chat.last("hospital"), chat.last("hospital")
    chat.press("hospital", "罗志明")
    assert "在哪里" in chat.last("hospital"), chat.last("hospital")
    chat.press("hospital", "雪峰镇卫生院")
    assert "日期和时间" in chat.last("hospital"), chat.last("hospital")
    chat.say("hospital", when)
    assert "链接" in chat.last("hospital"), chat.last("hospital")
    chat.say("hospital", room)


def sweep(app, now) -> int:
    from handlers.services import remote

    return remote.send_due_reminders(app.uow, now).queued


def told(chat, app, now) -> list[str]:
    return chat.deliver_outbox(app.uow, now)


@ALSO_ON_POSTGRES
def test_a_remote_consultation_from_disposal_to_the_doctor_reading_the_advice(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    assert "已安排远程会诊" in chat.replies(), chat.replies()
    assert stored(app, number).status is OrderStatus.REMOTE_CONSULT

    texts = told(chat, app, clock())
    for user in ("cardiologist", "township", "doctor", "grandpa"):
        mine = [t for t in chat.texts(user) if "远程会诊" in t and "11月25日" in t and "15:00" in t]
        assert mine, (user, chat.texts(user)[-3:])
    assert any("腾讯会议 888-123-456" in t for t in chat.texts("cardiologist"))
    assert any("雪峰镇卫生院" in t for t in chat.texts("grandpa"))
    assert texts

    # Nothing is due yet; the day before (at 16:00 on the 24th, 23 hours ahead) the reminder goes out once.
    assert sweep(app, clock()) == 0
    clock.now = STARTS - timedelta(hours=23)
    assert sweep(app, clock()) > 0
    assert sweep(app, clock()) == 0  # a second sweep (or one after a restart) doubles nothing
    told(chat, app, clock())
    for user in ("cardiologist", "township", "doctor", "grandpa"):
        assert "会诊提醒" in chat.last(user) and "明天" in chat.last(user), (user, chat.last(user))
    # The hour-before reminder, once.
    clock.now = STARTS - timedelta(minutes=50)
    assert sweep(app, clock()) > 0
    told(chat, app, clock())
    assert "会诊提醒" in chat.last("cardiologist") and "15:00" in chat.last("cardiologist")
    assert sweep(app, STARTS + timedelta(minutes=5)) == 0

    # After the consultation the expert records the outcome.
    clock.now = STARTS + timedelta(hours=1)
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    chat.say("cardiologist", "血压控制不佳，建议加用氨氯地平")
    chat.press("cardiologist", "需要上转")
    chat.say("cardiologist", "两周后村卫生所复测血压")
    assert "已记录" in chat.last("cardiologist"), chat.last("cardiologist")
    told(chat, app, clock())
    doctor = chat.texts("doctor")[-1]
    assert "血压控制不佳，建议加用氨氯地平" in doctor and "两周后村卫生所复测血压" in doctor and "上转" in doctor

    with app.uow() as uow:
        (s,) = uow.remote.for_order(stored(app, number).id)
    assert s.status.value == "held" and s.refer_up is True and s.followup_plan == "两周后村卫生所复测血压"
    # The order's card says it too, when the doctor looks it up later.
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    card = chat.last("doctor")
    assert "已会诊" in card and "建议加用氨氯地平" in card and "需要上转" in card, card


def test_a_moved_consultation_tells_everyone_and_the_old_reminder_never_goes(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    told(chat, app, clock())
    chat.say("hospital", "/remote")
    chat.press("hospital", "改期")
    chat.say("hospital", "11月27日 9:30")
    chat.say("hospital", "专家临时出诊")
    assert "已改期" in chat.last("hospital"), chat.last("hospital")
    told(chat, app, clock())
    for user in ("cardiologist", "township", "doctor", "grandpa"):
        last = chat.last(user)
        assert "改期" in last and "11月27日" in last and "09:30" in last and "专家临时出诊" in last, (user, last)
    # The day before the old time nothing goes; the day before the new time the reminder names the new time.
    assert sweep(app, STARTS - timedelta(hours=23)) == 0
    assert sweep(app, STARTS + timedelta(days=2) - timedelta(hours=20)) > 0
    told(chat, app, STARTS + timedelta(days=2) - timedelta(hours=20))
    assert "09:30" in chat.last("grandpa") and "会诊提醒" in chat.last("grandpa")


def test_a_cancelled_consultation_tells_everyone_the_reason_and_sends_no_reminder(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    told(chat, app, clock())
    chat.say("hospital", "/remote")
    chat.press("hospital", "取消")
    chat.say("hospital", "居民已住院")
    assert "已取消" in chat.last("hospital")
    told(chat, app, clock())
    for user in ("cardiologist", "township", "doctor", "grandpa"):
        assert "取消" in chat.last(user) and "居民已住院" in chat.last(user), (user, chat.last(user))
    assert sweep(app, STARTS - timedelta(hours=23)) == 0
    assert sweep(app, STARTS - timedelta(minutes=30)) == 0
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    assert "已取消" in chat.last("doctor") and "居民已住院" in chat.last("doctor"), chat.last("doctor")


def test_a_resident_who_did_not_come_is_recorded_as_no_show(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    clock.now = STARTS + timedelta(minutes=40)
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "未到场")
    assert "未到场" in chat.last("cardiologist")
    with app.uow() as uow:
        (s,) = uow.remote.for_order(stored(app, number).id)
    assert s.status.value == "no_show"


@pytest.mark.parametrize("bad", ["", "   ", "明" * 5000, "😀😀", "next tuesday at noon", "13月45日 25:99"])
def test_a_time_that_cannot_be_read_is_asked_again_politely(chat, cast, app, bad):
    approved_order(chat, app)
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", bad)
    answer = chat.last("hospital")
    assert polite(answer), answer
    with app.uow() as uow:
        assert uow.remote.upcoming(limit=10) == []
    chat.say("hospital", "11月25日 15:00")  # still on the step: a good answer goes on
    assert "链接" in chat.last("hospital")


def test_a_time_in_the_past_is_refused(chat, cast, app):
    approved_order(chat, app)
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", "11月20日 9:00")
    assert "已经过去" in chat.last("hospital"), chat.last("hospital")


@pytest.mark.parametrize("bad", ["", "   ", "会" * 5000, "😀", "https://meeting.example/abc" + "x" * 300])
def test_a_meeting_link_that_is_empty_or_too_long_is_asked_again(chat, cast, app, bad):
    approved_order(chat, app)
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", "11月25日 15:00")
    chat.say("hospital", bad)
    answer = chat.last("hospital")
    assert polite(answer), answer
    with app.uow() as uow:
        assert uow.remote.upcoming(limit=10) == []


def test_an_english_or_emoji_link_is_a_room_like_any_other(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat, room="Room 3 📹")
    assert "已安排远程会诊" in chat.replies()


@pytest.mark.parametrize("bad", ["", "建" * 5000])
def test_advice_that_is_empty_or_huge_is_asked_again(chat, cast, app, clock, bad):
    approved_order(chat, app)
    schedule_remote(chat)
    clock.now = STARTS + timedelta(hours=1)
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    chat.say("cardiologist", bad)
    answer = chat.last("cardiologist")
    assert polite(answer), answer
    chat.say("cardiologist", "Continue amlodipine 😀")  # English and emoji are advice too
    assert "上转" in chat.last("cardiologist")


def test_the_outcome_cannot_be_recorded_before_the_consultation(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    assert "尚未开始" in chat.last("cardiologist"), chat.last("cardiologist")


def test_a_reminder_queued_but_not_yet_sent_is_withdrawn_when_the_consultation_moves(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    told(chat, app, clock())
    clock.now = STARTS - timedelta(hours=23)
    assert sweep(app, clock()) > 0  # queued; the sender has not got to it yet
    chat.say("hospital", "/remote")
    chat.press("hospital", "改期")
    chat.say("hospital", "11月27日 9:30")
    chat.say("hospital", "专家临时出诊")
    delivered = told(chat, app, clock())
    assert not any("会诊提醒" in t for t in delivered), delivered
    assert any("改期" in t and "09:30" in t for t in delivered)


# --- bad input at every typed step ----------------------------------------------------------------------------------
def to_move_when(chat):
    chat.say("hospital", "/remote")
    chat.press("hospital", "改期")


def to_move_reason(chat):
    to_move_when(chat)
    chat.say("hospital", "11月27日 9:30")


def to_cancel(chat):
    chat.say("hospital", "/remote")
    chat.press("hospital", "取消")


def to_plan(chat):
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    chat.say("cardiologist", "继续用药")
    chat.press("cardiologist", "不需上转")


STEPS = {
    # step: (who types, how to get there, English accepted?, what a good answer looks like, what it leads to)
    "move_when": ("hospital", to_move_when, False, "11月27日 9:30", "原因"),
    "move_reason": ("hospital", to_move_reason, True, "专家出诊", "已改期"),
    "cancel": ("hospital", to_cancel, True, "居民已住院", "已取消"),
    "plan": ("cardiologist", to_plan, False, "两周后复测", "已记录"),  # a plan names its days: asked again
}
BAD = {"empty": "   ", "huge": "字" * 4097, "emoji": "😀😀", "english": "see you next week"}


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("step", sorted(STEPS))
def test_bad_input_at_each_typed_step_is_answered_politely_and_asked_again(chat, cast, app, clock, step, kind):
    user, reach, english_ok, good, leads_to = STEPS[step]
    number = approved_order(chat, app)
    schedule_remote(chat)
    if user == "cardiologist":
        clock.now = STARTS + timedelta(hours=1)
    reach(chat)
    with app.uow() as uow:
        before = [(s.status, s.reason, s.advice) for s in uow.remote.for_order(stored(app, number).id)]
    chat.say(user, BAD[kind])
    if kind == "english" and english_ok:
        assert leads_to in chat.last(user), chat.last(user)  # English is a reason or a plan like any other
        return
    assert polite(chat.last(user)), chat.last(user)
    with app.uow() as uow:
        after = [(s.status, s.reason, s.advice) for s in uow.remote.for_order(stored(app, number).id)]
    assert after == before  # nothing half-written
    chat.say(user, good)  # still on the same step
    assert leads_to in chat.last(user), chat.last(user)


def test_an_unreadable_time_is_audited(chat, cast, app):
    approved_order(chat, app)
    chat.say("hospital", "/pending")
    chat.press("hospital", "远程会诊")
    chat.press("hospital", "罗志明")
    chat.press("hospital", "雪峰镇卫生院")
    chat.say("hospital", "next tuesday")
    with app.uow() as uow:
        assert any(e.reason == "remote.bad_when" and e.entity == "remote" for e in uow.audit.recent(20))


def test_a_reviewer_halfway_through_the_old_one_line_question_is_asked_for_the_expert(chat, cast, app):
    number = approved_order(chat, app)
    with app.uow() as uow:  # the draft an earlier version left: "请输入远程会诊时间和方式"
        acc = uow.chat.account("test", "hospital")
        order = uow.orders.by_number(number)
        acc.start("hs.remote", chat.conv.services.clock(), id=order.id, v=order.version)
        uow.chat.save(acc)
        uow.commit()
    chat.say("hospital", "12月3日上午 视频会诊")
    assert "请选择远程会诊的专家" in chat.last("hospital"), chat.last("hospital")
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED


def test_one_consultation_whose_reminder_fails_holds_back_no_other_and_is_retried(chat, cast, app, clock,
                                                                                   monkeypatch, caplog):
    """Each session's reminder is its own transaction: a fault on one (here an injected one, as a bug or a broken
    row would raise) is logged, the others are queued, and the next sweep sends the one that failed, once."""
    from handlers.services import remote

    approved_order(chat, app)
    schedule_remote(chat, "11月25日 15:00")
    approved_order(chat, app)
    schedule_remote(chat, "11月25日 16:00")
    told(chat, app, clock())
    with app.uow() as uow:
        first, _later = sorted(uow.remote.upcoming(), key=lambda s: s.starts_at)
    real_tell = remote._tell

    def broken_for_the_first(uow, actor, now, s, order, event, **kw):
        if s.id == first.id:
            raise RuntimeError("a fault on one session")
        return real_tell(uow, actor, now, s, order, event, **kw)

    monkeypatch.setattr(remote, "_tell", broken_for_the_first)
    day_before = STARTS + timedelta(hours=1) - timedelta(hours=23)  # both are due their day-before reminder
    def reminders() -> list[str]:
        told(chat, app, day_before)
        return [("15:00" if "15:00" in m else "16:00" if "16:00" in m else m)
                for m in chat.texts("grandpa") if "会诊提醒" in m]

    assert sweep(app, day_before) > 0
    assert reminders() == ["16:00"]  # the other one went
    assert "failed; the next sweep retries" in caplog.text
    monkeypatch.setattr(remote, "_tell", real_tell)
    assert sweep(app, day_before) > 0  # the one that failed goes now
    assert reminders() == ["16:00", "15:00"]
    assert sweep(app, day_before) == 0  # and nothing twice
