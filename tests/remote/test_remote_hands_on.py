"""What follows a held remote consultation (issue 20): the expert's follow-up plan becomes the village doctor's
follow-up tasks, and "refer up" books a reserved slot at the expert's hospital, as the hospital's own 上转 does."""

from __future__ import annotations

from datetime import timedelta

from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import STARTS, approved_order, schedule_remote, told


def hold(chat, clock, *, refer: bool, plan: str) -> None:
    clock.now = STARTS + timedelta(hours=1)  # 25 November, 16:00 in Sanming
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")
    chat.say("cardiologist", "血压控制不佳，建议加用氨氯地平")
    chat.press("cardiologist", "需要上转" if refer else "不需上转")
    chat.say("cardiologist", plan)


def test_the_experts_plan_becomes_the_village_doctors_follow_up_tasks(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    hold(chat, clock, refer=False, plan="一周后复测血压；一个月后查血脂")
    assert "已记录" in chat.last("cardiologist"), chat.last("cardiologist")
    chat.say("doctor", "/tasks")
    tasks = "\n".join(chat.texts("doctor")[-3:])
    assert "12月2日 邱瑞鹏 复测血压" in tasks, tasks  # a week after the 25th
    clock.now += timedelta(days=30)
    chat.say("doctor", "/tasks")
    assert any("查血脂" in x for x in chat.texts("doctor")[-3:]), chat.texts("doctor")[-3:]


def test_a_plan_without_days_is_asked_again_and_nothing_is_recorded(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    hold(chat, clock, refer=False, plan="注意休息，按时吃药")
    assert "没看懂这个随访计划" in chat.last("cardiologist"), chat.last("cardiologist")
    with app.uow() as uow:
        (s,) = uow.remote.for_order(stored(app, number).id)
    assert s.status.value == "scheduled"
    chat.say("cardiologist", "无")
    assert "已记录" in chat.last("cardiologist")
    chat.say("doctor", "/tasks")
    assert "邱瑞鹏" not in chat.last("doctor")


def test_refer_up_after_a_consultation_books_a_reserved_slot_and_tells_the_resident(chat, cast, app, clock):
    number = approved_order(chat, app)
    schedule_remote(chat)
    chat.say("hospital", "/slots 2026-11-27 上午 03.04 2 08:30 门诊楼2层心内科")
    hold(chat, clock, refer=True, plan="无")
    told(chat, app, clock())
    for user in ("grandpa", "doctor"):
        assert any("上转预约" in x and "11月27日" in x and "08:30" in x for x in chat.texts(user)), chat.texts(user)
    chat.say("hospital", "/referrals")
    assert any("邱瑞鹏" in x and "已预约" in x for x in chat.texts("hospital")), chat.texts("hospital")[-3:]
    with app.uow() as uow:
        r = uow.referrals.of_order(stored(app, number).id)
    assert r is not None and r.note == "血压控制不佳，建议加用氨氯地平"


def test_refer_up_with_no_free_slot_asks_the_hospital_to_open_one(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat)
    hold(chat, clock, refer=True, plan="无")
    told(chat, app, clock())
    assert any("暂无空余的转诊号源" in x and "/referrals" in x for x in chat.texts("hospital")), chat.texts("hospital")
    chat.say("hospital", "/referrals")
    assert any("邱瑞鹏" in x for x in chat.texts("hospital")[-3:]), chat.texts("hospital")[-3:]
