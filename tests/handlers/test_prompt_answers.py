"""Replies typed instead of pressed (issue 17, part 2), through the conversation as people use it.

Each prompt sent without being asked for (the rating after a served visit, the township's question, a confirmation,
an emergency alert) is answerable by typing, on every platform; the most recent question wins; a reply that fits
only an older or expired prompt is explained. Messages to others arrive as the sender would deliver them.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import Action, OrderStatus
from domain.staff import Role
from storage.tables import RatingRow
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_emergency_alerts import DOCTOR, TOWNSHIP, bind, deliver, report_emergency
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored


def scheduled(chat, app, clock) -> str:
    """An order filed, approved and put on a circuit held today with the cardiologist."""
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    chat.press("hospital", "安排巡诊")
    chat.press("hospital", "罗志明")
    with app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        circuit = Circuit("CH350421", "350421101", date(2026, 11, 23), HalfDay.AM, CircuitLevel.TOWNSHIP,
                          frozenset({expert.id}))
        uow.circuits.add(circuit)
        o = uow.orders.by_number(number)
        o.apply(Action.SCHEDULE, actor_staff_id=uow.staff.by_code("S0002").id, actor_role=Role.HOSPITAL_REVIEWER,
                now=clock(), circuit_id=circuit.id)
        uow.orders.save(o)
        uow.commit()
    return number


def mark_served(chat, clock) -> None:
    """The cardiologist marks the visit served: the doctor is asked to rate it."""
    chat.say("cardiologist", "/circuits")
    chat.press("cardiologist", "已诊")
    chat.press("cardiologist", "跳过")
    assert "请为这次巡诊服务打分" in chat.last("doctor")
    clock.now += timedelta(minutes=10)


def serve(chat, app, clock) -> str:
    """An order filed, approved, sent to a circuit held today and served: the doctor is asked to rate it."""
    number = scheduled(chat, app, clock)
    mark_served(chat, clock)
    return number


def return_with_question(chat, number: str, question: str) -> None:
    chat.say("township", "/pending")
    shown, _ = chat.find_button("township", "退回补充")
    assert number in shown.text
    chat.press("township", "退回补充")
    chat.say("township", question)


def ratings(app) -> list[tuple[str, int]]:
    with app.uow() as uow:
        rows = uow.session.exec(select(RatingRow))
        return [(uow.orders.get(r.order_id).number, r.score) for r in rows]


def test_a_number_meant_for_the_form_is_not_taken_by_an_older_prompt(chat, cast, app, clock):
    served = serve(chat, app, clock)
    asked = file_order(chat, "孩子发烧咳嗽三天", None)
    clock.now += timedelta(hours=1)
    return_with_question(chat, asked, "孩子几岁？")
    assert "孩子几岁" in chat.last("doctor") and chat.find_button("doctor", "回复补充")
    clock.now += timedelta(hours=1)
    chat.say("doctor", "1")  # the question's own choice: answer it
    assert "请回复卫生院的问题：孩子几岁" in chat.last("doctor")
    chat.say("doctor", "5")  # five years old, not five points for the visit
    order = stored(app, asked)
    assert order.status is OrderStatus.SUBMITTED and order.answer == "5"
    assert ratings(app) == []
    chat.say("doctor", "5")  # nothing else is asked now: the rating still is
    assert "已选择 5 分" in chat.last("doctor")
    chat.say("doctor", "跳过")
    assert ratings(app) == [(served, 5)]


@ALSO_ON_POSTGRES
def test_a_reply_that_fits_only_an_older_prompt_is_explained_until_the_newer_one_is_answered(chat, cast, app, clock):
    serve(chat, app, clock)
    asked = file_order(chat, "孩子发烧咳嗽三天", None)
    return_with_question(chat, asked, "孩子几岁？")
    chat.say("doctor", "5分")
    text = chat.last("doctor")
    assert "「5分」" in text and "巡诊服务评分邀请" in text and "/rate" in text, text
    assert ratings(app) == []
    with app.uow() as uow:
        [refused] = uow.audit.recent(1, action="refused")
    assert (refused.entity, refused.reason, refused.detail["topic"]) == ("prompt", "superseded", "rate")
    chat.say("doctor", "回复补充")  # the newest question, by its label
    chat.say("doctor", "三岁半")
    assert stored(app, asked).answer == "三岁半"
    chat.say("doctor", "5分")
    assert "已选择 5 分" in chat.last("doctor")


def test_a_rating_typed_in_the_middle_of_a_form_is_stored_and_the_form_goes_on(chat, cast, app, clock):
    number = scheduled(chat, app, clock)
    chat.say("doctor", "/new")
    chat.say("doctor", "邱")
    chat.press("doctor", "邱瑞鹏")
    assert "请描述" in chat.last("doctor")
    clock.now += timedelta(minutes=1)
    mark_served(chat, clock)  # the rating is asked after the form's question: the most recent question wins
    chat.say("doctor", "4")
    assert "评价已记录（4 分）" in "\n".join(chat.texts("doctor")[-2:])
    assert "没有中断" in chat.last("doctor") and "填写需求" in chat.last("doctor")
    assert ratings(app) == [(number, 4)]
    chat.say("doctor", "心口疼，走路就喘")  # the order being filed goes on where it was
    assert "心血管内科" in " ".join(b.label for row in chat.screens["doctor"][-1].buttons for b in row)


def test_the_township_question_is_answered_by_typing_its_label(chat, cast, app):
    asked = file_order(chat)
    return_with_question(chat, asked, "胸痛持续多久？")
    shown = chat.screens["doctor"][-1]
    assert "胸痛持续多久" in shown.text and [b.label for row in shown.buttons for b in row] == ["回复补充"]
    chat.say("doctor", "回复补充")
    chat.say("doctor", "两周了")
    assert stored(app, asked).status is OrderStatus.SUBMITTED and stored(app, asked).answer == "两周了"


def test_an_emergency_alert_on_another_platform_is_acknowledged_by_typing_收到(chat, wecom, app, clock):
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(wecom, "township", TOWNSHIP, Role.TOWNSHIP_REVIEWER, app, clock)
    report_emergency(chat)
    deliver(app, clock, wecom)
    assert "收到，我来处理" in " ".join(b.label for row in wecom.screens["township"][-1].buttons for b in row)
    clock.now += timedelta(minutes=2)
    wecom.say("township", "收到")
    assert "已确认收到" in wecom.last("township")
    deliver(app, clock, chat)
    assert "曾丽芳 已收到急症提醒" in chat.last("doctor"), chat.texts("doctor")[-2:]
    with app.uow() as uow:
        [acked] = uow.audit.recent(1, action="emergency_ack")
    assert acked.detail["typed"] is True and acked.detail["platform"] == "wecom"


def test_a_second_link_is_confirmed_by_the_doctor_typing_好(chat, cast, app):
    number = file_order(chat)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "居民关联链接")
    chat.say("daughter", f"/start r_{issued_link(chat)}")
    assert "需要村医确认" in chat.last("daughter")
    chat.say("doctor", "好")
    assert "已关联到居民 邱瑞鹏" in chat.last("daughter")


def test_a_prompt_is_never_answerable_longer_than_its_buttons_live():
    from handlers.core import BUTTON_TTL
    from handlers.prompts import PROACTIVE_VALID

    assert PROACTIVE_VALID == BUTTON_TTL
