"""Emergency alerts reach a person, or the village doctor is told the truth (issue 14, part 4).

Everything goes through the conversation as people use it; messages to others are delivered from the outbox,
as the sender would deliver them. Time moves on a fake clock; nothing sleeps.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.jobs.worker import make_sweep
from domain.staff import Role
from handlers import Inbound
from handlers.services.alerts import escalate_due_alerts
from handlers.services.announcements import Announcer
from storage.tables import EmergencyAlertRow
from tests.conftest import ALSO_ON_POSTGRES

EMERGENCY = "突然胸口剧痛，满头大汗，喘不上气"
DOCTOR, TOWNSHIP, HOSPITAL = "S0006", "S0005", "S0002"  # 廖德福 (城东村), 曾丽芳 (雪峰镇卫生院), 邱建华 (明溪县总医院)


def bind(harness, user, code, role, app, clock):
    harness.login(user, code, role, app.uow, clock())


def bind_all(chat, app, clock) -> None:
    """The village doctor, the township reviewer and the hospital reviewer, each with a chat account."""
    for user, code, role in (("doctor", DOCTOR, Role.VILLAGE_DOCTOR), ("township", TOWNSHIP, Role.TOWNSHIP_REVIEWER),
                             ("hospital", HOSPITAL, Role.HOSPITAL_REVIEWER)):
        bind(chat, user, code, role, app, clock)


def report_emergency(h, user="doctor", story=EMERGENCY) -> str:
    """The doctor starts an order for 邱瑞鹏 and describes an emergency; returns the answer shown."""
    h.say(user, "/new")
    h.say(user, "邱瑞鹏")
    h.press(user, "邱瑞鹏")
    if "居民是否同意" in h.last(user):
        h.press(user, "居民已同意")
    h.say(user, story)
    text = h.last(user)
    assert "120" in text, text
    return text


def deliver(app, clock, *harnesses):
    """The sender's turn: each platform's queued messages reach their chats."""
    for h in harnesses:
        h.deliver_outbox(app.uow, clock())


def alert_rows(app):
    with app.uow() as uow:
        rows = list(uow.session.exec(select(EmergencyAlertRow).order_by(EmergencyAlertRow.id)))
        for r in rows:
            uow.session.expunge(r)
    return rows


def outbox(app, platform=None):
    with app.uow() as uow:
        rows = uow.outbox.rows()
    return [r for r in rows if platform is None or r.platform == platform]


def sweep(app, clock):
    """The worker's periodic housekeeping sweep, once."""
    make_sweep(app, Announcer(app.uow, clock), clock)()


def test_nobody_bound_the_doctor_is_told_to_phone_the_center_and_nothing_is_claimed_sent(chat, app, clock):
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    text = report_emergency(chat)
    assert "没有可通知的审核人，请立即电话联系雪峰镇卫生院：0598-6600112" in text
    assert "已通知" not in text
    assert outbox(app) == []  # nothing queued for anyone
    [row] = alert_rows(app)
    assert row.level == "none" and row.acknowledged_at is None
    # The alert is kept, its personal data encrypted at rest.
    assert row.resident_name_enc and "邱瑞鹏" not in row.resident_name_enc
    assert row.callback_phone_enc and "13900001006" not in row.callback_phone_enc


def test_a_reviewer_only_on_wecom_is_reached_through_the_outbox_and_named(telegram, wecom, app, clock):
    bind(telegram, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(wecom, "zenglifang", TOWNSHIP, Role.TOWNSHIP_REVIEWER, app, clock)
    text = report_emergency(telegram)
    assert "已通知：雪峰镇卫生院 曾丽芳" in text
    assert all(o.platform == "telegram" for o in telegram.last_out)  # nothing for WeCom came back as a reply
    [row] = outbox(app, "wecom")
    assert row.chat_id == "zenglifang" and row.priority == 0  # the reply lane
    for shown in ("邱瑞鹏", "城东村", "城东村卫生所", "廖德福", "13900001006"):
        assert shown in row.text, shown
    assert EMERGENCY not in row.text  # reasons, not the villager's words
    assert "收到，我来处理" in row.buttons_json

    # The reviewer sees it on WeCom and acknowledges; the doctor hears who has it.
    deliver(app, clock, wecom)
    assert "急症提醒" in wecom.last("zenglifang")
    wecom.press("zenglifang", "收到，我来处理")
    assert "已确认收到" in wecom.last("zenglifang")
    deliver(app, clock, telegram)
    assert "雪峰镇卫生院 曾丽芳 已收到急症提醒" in telegram.last("doctor")
    wecom.press("zenglifang", "收到，我来处理")
    assert "已由 雪峰镇卫生院 曾丽芳" in wecom.last("zenglifang") and "无需重复确认" in wecom.last("zenglifang")
    deliver(app, clock, telegram)
    assert sum("已收到急症提醒" in t for t in telegram.texts("doctor")) == 1  # told once


def test_a_story_in_words_no_rule_lists_still_stops_the_order_and_alerts_the_township(chat, app, clock):
    """Shock told in Min words (from a blind set): no rule lists them; the second reader raises the alarm, and the
    doctor and the township both read that it is the system's overall judgement, not a named rule."""
    bind_all(chat, app, clock)
    text = report_emergency(chat, story="阮老爸规身冷吱吱，手脚冰冰，面白死死，叫伊都袂应")
    assert "描述与以往的急症相似" in text and "已通知：雪峰镇卫生院 曾丽芳" in text
    deliver(app, clock, chat)
    alert = chat.last("township")
    assert "急症提醒" in alert and "邱瑞鹏" in alert and "描述与以往的急症相似" in alert
    assert "冷吱吱" not in alert  # reasons, not the villager's words
    chat.press("doctor", "结束")
    with app.uow() as uow:
        assert sum(uow.orders.count_by_status().values()) == 0  # no order was filed
        [event] = uow.audit.recent(5, action="emergency_detected")
        assert "描述与以往的急症相似" in str(event.detail)


def test_no_township_reviewer_the_hospital_reviewer_is_alerted_and_named(chat, app, clock):
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(chat, "hospital", HOSPITAL, Role.HOSPITAL_REVIEWER, app, clock)
    text = report_emergency(chat)
    assert "已通知：明溪县总医院 邱建华" in text
    deliver(app, clock, chat)
    assert "急症提醒" in chat.last("hospital") and "邱瑞鹏" in chat.last("hospital")
    assert chat.find_button("hospital", "收到，我来处理")
    [row] = alert_rows(app)
    assert row.level == "hospital"


def test_a_blocked_account_does_not_count_as_reachable(chat, app, clock):
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(chat, "township", TOWNSHIP, Role.TOWNSHIP_REVIEWER, app, clock)
    with app.uow() as uow:
        acc = uow.chat.account("test", "township")
        acc.blocked = True
        uow.chat.save(acc)
        uow.commit()
    text = report_emergency(chat)
    assert "没有可通知的审核人" in text and "曾丽芳" not in text


@ALSO_ON_POSTGRES
def test_unacknowledged_for_ten_minutes_it_goes_to_the_hospital_and_the_doctor_is_told(chat, app, clock):
    bind_all(chat, app, clock)
    start = clock.now
    report_emergency(chat)
    deliver(app, clock, chat)
    assert "急症提醒" in chat.last("township")
    hospital_before = list(chat.texts("hospital"))

    clock.now = start + timedelta(minutes=9, seconds=59)
    sweep(app, clock)
    deliver(app, clock, chat)
    assert chat.texts("hospital") == hospital_before  # not yet

    clock.now = start + timedelta(minutes=10)
    sweep(app, clock)
    sweep(app, clock)  # a second worker's sweep (or a repeated wake-up) changes nothing
    assert escalate_due_alerts(app.uow, clock).escalated == 0
    deliver(app, clock, chat)
    new = chat.texts("hospital")[len(hospital_before):]
    assert len(new) == 1 and "雪峰镇卫生院10分钟内无人确认" in new[0] and "邱瑞鹏" in new[0]
    assert "已上报：明溪县总医院 邱建华" in chat.last("doctor")
    [row] = alert_rows(app)
    assert row.level == "hospital" and row.escalated_at is not None

    # The hospital reviewer takes it; the township's earlier button now says it is taken.
    chat.press("hospital", "收到，我来处理")
    deliver(app, clock, chat)
    assert "明溪县总医院 邱建华 已收到急症提醒" in chat.last("doctor")
    chat.press("township", "收到，我来处理")
    assert "已由 明溪县总医院 邱建华" in chat.last("township")


@ALSO_ON_POSTGRES
def test_escalation_with_nobody_at_the_hospital_tells_the_doctor_whom_to_phone(chat, app, clock):
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(chat, "township", TOWNSHIP, Role.TOWNSHIP_REVIEWER, app, clock)
    start = clock.now
    report_emergency(chat)
    clock.now = start + timedelta(minutes=10)
    sweep(app, clock)
    deliver(app, clock, chat)
    last = chat.last("doctor")
    assert "10分钟内无人确认" in last and "请立即电话联系" in last
    assert "雪峰镇卫生院 0598-6600112" in last and "明溪县总医院 0598-6500231" in last


def test_acknowledged_within_ten_minutes_it_is_not_escalated(chat, app, clock):
    bind_all(chat, app, clock)
    start = clock.now
    report_emergency(chat)
    deliver(app, clock, chat)
    clock.now = start + timedelta(minutes=5)
    chat.press("township", "收到，我来处理")
    hospital_before = list(chat.texts("hospital"))
    clock.now = start + timedelta(minutes=30)
    sweep(app, clock)
    deliver(app, clock, chat)
    assert chat.texts("hospital") == hospital_before
    assert not any("已上报" in t for t in chat.texts("doctor"))
    [row] = alert_rows(app)
    assert row.escalated_at is None and row.acknowledged_at is not None


def test_someone_elses_button_and_a_forged_token_are_refused_and_audited(chat, app, clock):
    bind_all(chat, app, clock)
    report_emergency(chat)
    deliver(app, clock, chat)
    shown, button = chat.find_button("township", "收到，我来处理")
    # The hospital reviewer presses the township reviewer's button.
    chat.send(Inbound("test", "hospital", "hospital", button=button.data, update_id="steal-1",
                      message_id=shown.message_id))
    assert "这个按钮不属于您" in chat.last("hospital")
    # A made-up token.
    chat.send(Inbound("test", "hospital", "hospital", button="FORGEDtoken1", update_id="forge-1"))
    assert "按钮已失效" in chat.last("hospital")
    [row] = alert_rows(app)
    assert row.acknowledged_at is None
    with app.uow() as uow:
        refused = [(e.reason, e.entity_id) for e in uow.audit.recent(10, action="refused")]
    assert ("not_owner", button.data) in refused and ("unknown_button", "FORGEDtoken1") in refused
    deliver(app, clock, chat)
    assert not any("已收到急症提醒" in t for t in chat.texts("doctor"))


def test_the_press_is_reauthorised_a_reviewer_moved_elsewhere_cannot_acknowledge(chat, app, clock):
    from storage.reference import import_files

    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    bind(chat, "township", TOWNSHIP, Role.TOWNSHIP_REVIEWER, app, clock)
    report_emergency(chat)
    deliver(app, clock, chat)
    with app.uow() as uow:  # 曾丽芳 moves to 盖洋镇卫生院 before pressing her (own) button
        import_files(uow, {"staff.csv": ("code,name,institution_code,title,specialties,roles,phone\n"
                                         f"{TOWNSHIP},曾丽芳,TC350421102,中级,02,township_reviewer,13900001005\n"
                                         ).encode()}, clock().date())
    chat.press("township", "收到，我来处理")
    assert "不是发给您所在机构和身份的" in chat.last("township")
    [row] = alert_rows(app)
    assert row.acknowledged_at is None
    with app.uow() as uow:
        assert uow.audit.recent(1, action="refused")[0].reason == "perm.emergency_not_alerted"


def file_after_override(chat) -> tuple[str, str]:
    """File an order for 邱瑞鹏 after pressing "不是急症，继续"; returns (order number, reasons shown)."""
    text = report_emergency(chat)
    reasons = re.search(r"疑似急症：(.+?)。", text).group(1)
    chat.press("doctor", "不是急症，继续")
    chat.press("doctor", "其他科室")
    chat.press("doctor", "内科")
    chat.press("doctor", "心血管内科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    chat.press("doctor", "确认提交")
    number = chat.last("doctor").split("订单号 ")[1].split("。")[0]
    return number, reasons


@ALSO_ON_POSTGRES
def test_an_order_filed_after_override_shows_the_mark_everywhere(chat, cast, app, clock):
    number, reasons = file_after_override(chat)
    mark = f"⚠️ 村医判断非急症（系统曾提示：{reasons}）"
    # The township's new-order notice and its review card.
    assert any(number in t and mark in t for t in chat.texts("township"))
    chat.say("township", "/pending")
    assert any(number in t and mark in t for t in chat.texts("township")[-3:])
    # The doctor's /orders line and the order card.
    chat.say("doctor", "/orders")
    _, line = chat.find_button("doctor", number)
    assert "⚠️非急症确认" in line.label
    chat.press("doctor", number)
    assert mark in chat.last("doctor")
    # The hospital's card once the township approves it.
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    assert any(number in t and mark in t for t in chat.texts("hospital")[-3:])
    with app.uow() as uow:
        order = uow.orders.by_number(number)
    assert order.emergency_override and order.emergency_reasons == reasons


def test_an_ordinary_order_carries_no_mark(chat, cast, app):
    from tests.handlers.test_order_lifecycle import file_order

    number = file_order(chat, "眼睛花，看不清字，眼睛干涩", "眼科")
    chat.say("doctor", "/orders")
    _, line = chat.find_button("doctor", number)
    assert "⚠️" not in line.label
    chat.say("township", "/pending")
    assert not any("村医判断非急症" in t for t in chat.texts("township"))


@pytest.mark.parametrize("story", [
    "my father has chest pain and is sweating a lot",
    "xiong kou teng, chu leng han",
    "wo ba shuo hua bu qing chu, zui wai le",
])
def test_a_description_in_english_or_pinyin_is_checked_for_red_flags_too(chat, app, clock, story):
    """The bot accepts English and toneless pinyin at the description step, so it checks them."""
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    if "居民是否同意" in chat.last("doctor"):
        chat.press("doctor", "居民已同意")
    chat.say("doctor", story)
    assert "120" in chat.last("doctor"), story
    assert len(alert_rows(app)) == 1


def test_after_not_an_emergency_the_story_keeps_the_specialty_it_points_to(chat, app, clock):
    """"喝了百草枯" names no specialty the lexicon knows; the red flag does: 急诊医学科, not 全科."""
    bind(chat, "doctor", DOCTOR, Role.VILLAGE_DOCTOR, app, clock)
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    if "居民是否同意" in chat.last("doctor"):
        chat.press("doctor", "居民已同意")
    chat.say("doctor", "刚才喝了一口百草枯")
    chat.press("doctor", "不是急症，继续登记")
    assert chat.find_button("doctor", "急诊医学科") is not None
    assert "暂定「全科医疗科」" not in chat.last("doctor")


def without_phone(app, code: str) -> None:
    """``code`` has no phone on record (380 of the demo's 384 village doctors have none)."""
    from dataclasses import replace

    with app.uow() as uow:
        st = uow.staff.by_code(code)
        uow.staff.upsert(replace(st, phone=None))
        uow.next_value("reference_version")
        uow.commit()


def test_a_doctor_without_a_phone_still_gets_a_number_to_call_and_the_reviewer_knows_how_to_answer(chat, app, clock):
    """Issue 18: the alert said "回拨电话：未登记，请通过卫生院联系" to the 卫生院 itself, and nobody got a number."""
    without_phone(app, DOCTOR)
    bind_all(chat, app, clock)
    text = report_emergency(chat)
    assert "已通知：雪峰镇卫生院 曾丽芳" in text and "0598-6600112" in text  # the doctor can call the center now
    deliver(app, clock, chat)
    alert = chat.last("township")
    assert "廖德福" in alert and "邱瑞鹏" in alert
    assert "请通过卫生院联系" not in alert and "收到，我来处理" in alert  # it says what to do instead
    chat.press("township", "收到，我来处理")
    deliver(app, clock, chat)
    told = chat.last("doctor")
    assert "曾丽芳" in told and "已收到急症提醒" in told and "0598-6600112" in told, told


def test_the_doctor_hears_whom_to_call_back_when_the_reviewer_acknowledges(chat, app, clock):
    bind_all(chat, app, clock)
    report_emergency(chat)
    deliver(app, clock, chat)
    chat.press("township", "收到，我来处理")
    deliver(app, clock, chat)
    assert "13900001005" in chat.last("doctor") and "0598-6600112" in chat.last("doctor")  # hers, the center's
