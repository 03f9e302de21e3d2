"""Two-way referral through the chat, as the people see it: the hospital publishes slots and refers up, the resident
and the village doctor are told where and when (and reminded the day before), the hospital marks the states, the
discharge goes down as follow-up tasks the village doctor records done."""

from __future__ import annotations

from datetime import timedelta

from domain.referrals import ReferralStatus
from handlers import Inbound
from handlers.services.followups import sweep_followups
from handlers.services.referrals import send_due_reminders
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order


def referred(chat, app, *, slots: str | None = "2026-11-25 上午 心血管内科 2 08:30 门诊楼2层心内科") -> str:
    """Grandpa is linked; the township approves; the hospital (with a slot published) refers him up."""
    number = file_order(chat)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    assert "已关联到居民 邱瑞鹏" in chat.last("grandpa")
    chat.say("township", "/pending")
    chat.press("township", "批准")
    if slots:
        chat.say("hospital", f"/slots {slots}")
        assert "已发布号源" in chat.last("hospital"), chat.texts("hospital")[-2:]
    chat.say("hospital", "/pending")
    chat.press("hospital", "上转")
    chat.say("hospital", "心电图提示ST段改变，需做心脏彩超")
    return number


def referral_of(app, number):
    with app.uow() as uow:
        return uow.referrals.of_order(uow.orders.by_number(number).id)


@ALSO_ON_POSTGRES
def test_a_referral_from_order_to_follow_up_done(chat, cast, app, clock):
    number = referred(chat, app)
    assert any("已为 邱瑞鹏 预约：11月25日（周三）上午 08:30" in x for x in chat.texts("hospital"))
    notice = next(x for x in chat.texts("doctor") if "【上转预约】" in x)
    for words in ("11月25日（周三）上午 08:30", "明溪县总医院", "心血管内科", "门诊楼2层心内科", "医保卡", number):
        assert words in notice, notice
    got = chat.deliver_outbox(app.uow, clock())
    assert any("【上转预约】" in x and "医保卡" in x for x in got)
    assert any("【上转预约】" in x for x in chat.texts("grandpa"))

    # The day before at 09:00 the reminder goes out, once, however often the sweep runs.
    clock.now = clock.now.replace(day=24, hour=1, minute=0)  # 09:00 Sanming, Tuesday
    assert send_due_reminders(app.uow, clock).reminded == 1
    assert send_due_reminders(app.uow, clock).reminded == 0
    got = chat.deliver_outbox(app.uow, clock())
    assert sum("【明天就诊提醒】" in x for x in got) == 2  # grandpa and his village doctor
    assert any("【明天就诊提醒】" in x for x in chat.texts("grandpa"))

    clock.now = clock.now.replace(day=25, hour=0, minute=40)
    chat.say("hospital", "/referrals")
    assert any("邱瑞鹏" in x and "已预约" in x for x in chat.texts("hospital"))
    chat.press("hospital", "到院")
    chat.press("hospital", "已就诊")
    chat.press("hospital", "住院")
    assert any("已在 明溪县总医院 住院" in x for x in chat.texts("doctor"))
    chat.press("hospital", "出院下转")
    chat.press("hospital", "血压复查")
    assert "已下转" in chat.last("hospital")
    assert referral_of(app, number).status is ReferralStatus.DISCHARGED
    down = next(x for x in chat.texts("doctor") if "【下转】" in x)
    assert "7天后测血压；30天后测血压" in down

    chat.say("doctor", "/tasks")
    assert "今后 7 天：12月2日 邱瑞鹏 测血压" in chat.last("doctor")  # nothing due yet: the week ahead

    # Seven days later at 08:00 the task is due: the doctor is reminded, and records it done with a short result.
    clock.now = clock.now + timedelta(days=7)
    clock.now = clock.now.replace(hour=0, minute=5)  # 08:05 Sanming
    assert sweep_followups(app.uow, clock).reminded == 1
    assert sweep_followups(app.uow, clock).reminded == 0
    got = chat.deliver_outbox(app.uow, clock())
    assert any("【随访提醒】" in x and "邱瑞鹏" in x and "测血压" in x for x in got)
    chat.say("doctor", "/tasks")
    assert any("邱瑞鹏｜测血压" in x for x in chat.texts("doctor")[-3:])
    chat.press("doctor", "已完成")
    chat.say("doctor", "血压 135/85，无不适")
    assert "已记录：邱瑞鹏 测血压 — 血压 135/85，无不适" in chat.last("doctor")

    # The 30-day check is never done: four days after its day it is overdue, and the list says so.
    clock.now = clock.now + timedelta(days=23 + 4)
    assert sweep_followups(app.uow, clock).lapsed == 1
    chat.say("doctor", "/tasks")
    assert any("已逾期" in x for x in chat.texts("doctor")[-3:])
    with app.uow() as uow:
        trail = [e.action for e in uow.audit.for_entity("referral", str(referral_of(app, number).id))]
    assert trail == ["referral_book", "referral_arrive", "referral_see", "referral_admit", "referral_discharge"]


def test_with_no_free_slot_the_hospital_is_asked_and_picks_a_date(chat, cast, app, clock):
    number = referred(chat, app, slots=None)
    assert "没有空余的转诊号源" in chat.last("hospital")
    assert referral_of(app, number).status is ReferralStatus.WAITING
    assert any("医院正在安排号源" in x for x in chat.texts("doctor"))
    chat.press("hospital", "11月24日")
    assert "已为 邱瑞鹏 预约：11月24日（周二）上午" in chat.last("hospital")
    assert referral_of(app, number).status is ReferralStatus.BOOKED
    assert any("【上转预约】" in x and "11月24日" in x for x in chat.texts("doctor"))


def test_after_publishing_a_slot_the_hospital_books_the_waiting_referral_again(chat, cast, app):
    number = referred(chat, app, slots=None)
    chat.press("hospital", "重新预约")
    assert "还是没有空余号源" in chat.last("hospital")
    chat.say("hospital", "/slots 2026-11-26 下午 03.04 1")
    chat.say("hospital", "/referrals")
    chat.press("hospital", "重新预约")
    assert "11月26日（周四）下午" in chat.last("hospital")
    assert referral_of(app, number).status is ReferralStatus.BOOKED


def test_a_no_show_is_counted_and_the_village_doctor_told(chat, cast, app, clock):
    referred(chat, app)  # booked for 25 November
    chat.say("hospital", "/referrals")
    chat.press("hospital", "未到")  # a slip two days early: refused, nobody told
    assert "还没到" in chat.last("hospital"), chat.last("hospital")
    assert not any("没有按预约" in x for x in chat.texts("doctor"))
    clock.now = clock.now.replace(day=25, hour=6)  # 14:00 Sanming on the day
    chat.say("hospital", "/referrals")
    chat.press("hospital", "未到")
    assert any("没有按预约到 明溪县总医院 就诊" in x for x in chat.texts("doctor"))
    chat.say("hospital", "/referrals")
    assert "爽约累计 1 人次" in chat.last("hospital")


def test_forged_buttons_of_referrals_and_tasks_are_refused(chat, cast, app, clock):
    number = referred(chat, app)
    rid = referral_of(app, number).id
    chat.login("other_hospital", "S0010", cast["hospital"][1], app.uow, clock())
    with app.uow() as uow:
        acc = uow.chat.account("test", "other_hospital")
        mark = uow.chat.new_button(acc.id, "rf.mark", {"id": rid, "a": "cancel", "v": 1}, clock())
        doctor_acc = uow.chat.account("test", "doctor")
        as_doctor = uow.chat.new_button(doctor_acc.id, "rf.mark", {"id": rid, "a": "arrive", "v": 1}, clock())
        uow.commit()
    chat.send(Inbound("test", "other_hospital", "other_hospital", button=mark, update_id="forged-1"))
    assert "不属于本院" in chat.last("other_hospital")
    chat.send(Inbound("test", "doctor", "doctor", button=as_doctor, update_id="forged-2"))
    assert referral_of(app, number).status is ReferralStatus.BOOKED
    assert "不属于本院" in chat.last("doctor")
    with app.uow() as uow:
        refused = [e.reason for e in uow.audit.recent(50) if e.action == "refused"]
    assert refused.count("referral.not_yours") == 2


def test_slots_typed_wrong_get_a_polite_answer(chat, cast):
    chat.say("hospital", "/slots 明天 上午 心内科 5")
    assert "号源写法看不懂" in chat.last("hospital")
    chat.say("hospital", "/slots 2026-11-25 上午 火星科 5")
    assert "没有科室“火星科”" in chat.last("hospital")
    chat.say("hospital", "/slots")
    assert "还没有号源" in chat.last("hospital")


def test_a_task_of_another_village_post_cannot_be_recorded(chat, cast, app, clock):
    from domain.followups import PlanItem
    from handlers.services.followups import plan_followups
    from tests.referrals.helpers import referred_order, reviewer

    with app.uow() as uow:
        order = referred_order(uow)
        task = plan_followups(uow, reviewer(uow), order.id, (PlanItem("测血压", 0 + 7),), clock(), source="referral")[0]
        uow.commit()
    chat.login("other_doctor", "S0244", cast["doctor"][1], app.uow, clock())
    with app.uow() as uow:
        token = uow.chat.new_button(uow.chat.account("test", "other_doctor").id, "fu.done", {"id": task.id}, clock())
        uow.commit()
    chat.send(Inbound("test", "other_doctor", "other_doctor", button=token, update_id="forged-task"))
    assert "不属于您的村卫生所" in chat.last("other_doctor")
    chat.say("other_doctor", "血压 120/80")  # no step was started: nothing is recorded
    with app.uow() as uow:
        assert uow.followups.get(task.id).status.value == "due"
