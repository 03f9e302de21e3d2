"""Experts are told (issue 17): when an order is assigned to them, when a plan puts them on circuits, and the day
before each circuit with its orders.

Through the public interfaces: people type and press buttons in the real conversation, the command line runs as
an operator runs it, the worker's own sweep runs on a fake clock. Messages to others are delivered from the
outbox as the sender would deliver them; nothing sleeps.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from bot.jobs.worker import make_sweep
from domain.circuits import Circuit, CircuitStatus
from domain.staff import Role
from handlers.services.announcements import Announcer
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import (
    REMINDER_AT,
    ROOT,
    Clock,
    add_account,
    china,
    make_circuit,
    scheduled_order,
    worker_env,
)
from tests.conftest import ALSO_ON_POSTGRES, FIXED_NOW
from tests.handlers.test_order_lifecycle import file_order

DOCTOR, TOWNSHIP, HOSPITAL, EXPERT = "S0006", "S0005", "S0002", "S0003"  # 廖德福, 曾丽芳, 邱建华, 罗志明
NEED_WITH_PHONE = "老人心口疼，胸闷气短，走路就喘，家属电话13912345678"


def outbox(app, platform=None, chat_id=None):
    with app.uow() as uow:
        rows = uow.outbox.rows()
    return [r for r in rows
            if (platform is None or r.platform == platform) and (chat_id is None or r.chat_id == chat_id)]


def audit(app, action):
    with app.uow() as uow:
        return uow.audit.recent(200, action=action)


def _reviews_on_telegram(telegram, app, clock, need=NEED_WITH_PHONE) -> str:
    """The village doctor files an order, the township approves it; all on Telegram. Returns its number."""
    for user, code, role in (("doctor", DOCTOR, Role.VILLAGE_DOCTOR), ("township", TOWNSHIP, Role.TOWNSHIP_REVIEWER),
                             ("hospital", HOSPITAL, Role.HOSPITAL_REVIEWER)):
        telegram.login(user, code, role, app.uow, clock())
    number = file_order(telegram, need=need)
    telegram.say("township", "/pending")
    telegram.press("township", "批准")
    telegram.say("hospital", "/pending")
    telegram.press("hospital", "安排巡诊")
    return number


# --- 1. assignment ------------------------------------------------------------------------------------------------
@ALSO_ON_POSTGRES
def test_assigning_an_order_tells_the_expert_on_wecom_while_the_reviewer_is_on_telegram(telegram, wecom, app, clock):
    wecom.login("luozhiming", EXPERT, Role.EXPERT, app.uow, clock())
    number = _reviews_on_telegram(telegram, app, clock)
    telegram.press("hospital", "罗志明")

    assert "已通知专家：罗志明" in telegram.texts("hospital")
    assert all(o.platform == "telegram" for o in telegram.last_out)  # WeCom's message is not a Telegram reply
    [text] = wecom.deliver_outbox(app.uow, clock())
    assert text.startswith("【新指派】明溪县总医院指派您接诊订单 " + number)
    for shown in ("城东村", "心血管内科", "常规", "胸闷气短", "巡诊时间和地点排定后会再通知您"):
        assert shown in text, shown
    # No phone number, not even masked; no name before it is needed.
    assert "13912345678" not in text and "****" not in text and "5678" not in text and "邱瑞鹏" not in text
    # The sender's next turn (or a second sender) finds nothing more for the expert.
    assert wecom.deliver_outbox(app.uow, clock()) == []


def test_an_expert_with_no_chat_account_is_not_claimed_told_and_the_reviewer_is_asked_to_phone(telegram, app, clock):
    number = _reviews_on_telegram(telegram, app, clock)
    telegram.press("hospital", "罗志明")

    texts = telegram.texts("hospital")
    assert "专家 罗志明 未绑定聊天账号，系统无法通知，请电话告知。" in texts
    assert not any("已通知专家" in t for t in texts)
    assert not any("新指派" in r.text for r in outbox(app))  # nothing queued that could pass for "sent"
    [event] = audit(app, "expert_unreachable")
    assert event.entity_id == number and event.detail["expert"] == EXPERT and event.detail["about"] == "assigned"


def test_a_circuit_made_by_hand_tells_its_expert_and_an_order_added_to_it_tells_the_expert_who_will_see_it(
        chat, app, clock):
    """Not only an accepted plan: a circuit the reviewer makes with /plan new, and an order added to a circuit,
    reach the expert at once (queued, on the platform they are bound to), as the issue asks of every route."""
    with app.uow() as uow:
        o = scheduled_order(uow, None, FIXED_NOW)  # awaiting a circuit, assigned to 罗志明
        number = o.number
        add_account(uow, "wecom", "luozhiming", FIXED_NOW, staff=EXPERT)
        uow.commit()
    chat.login("hospital", HOSPITAL, Role.HOSPITAL_REVIEWER, app.uow, clock())
    chat.say("hospital", f"/plan new 350421101 2026-11-27 上午 {EXPERT}")
    assert "已新建巡诊" in chat.last("hospital") and "已通知专家：罗志明" in chat.last("hospital")
    [made] = [r.text for r in outbox(app, "wecom", "luozhiming")]
    assert "【巡诊安排】" in made and "11月27日（周五）上午｜雪峰镇" in made

    chat.press("hospital", "添加订单")
    chat.press("hospital", number)
    assert "已排入巡诊" in chat.last("hospital") and "已通知专家：罗志明" in chat.last("hospital")
    added = [r.text for r in outbox(app, "wecom", "luozhiming") if number in r.text]
    assert len(added) == 1 and "巡诊：11月27日（周五）上午，雪峰镇" in added[0], added


def test_an_order_added_to_a_circuit_of_an_expert_nobody_can_reach_names_them_to_the_reviewer(chat, app, clock):
    with app.uow() as uow:
        o = scheduled_order(uow, None, FIXED_NOW)
        number = o.number
        uow.commit()
    chat.login("hospital", HOSPITAL, Role.HOSPITAL_REVIEWER, app.uow, clock())
    chat.say("hospital", f"/plan new 350421101 2026-11-27 上午 {EXPERT}")
    chat.press("hospital", "添加订单")
    chat.press("hospital", number)
    assert "罗志明" in chat.last("hospital") and "未绑定聊天账号" in chat.last("hospital")
    assert outbox(app, "wecom") == []
    assert any(e.detail.get("about") == "order_added" for e in audit(app, "expert_unreachable"))


# --- 2. an accepted plan: chat and command line tell the same people ----------------------------------------------
def _awaiting_order_with_people(uow) -> None:
    """An order awaiting a circuit; its doctor and the expert on WeCom, the resident on the Official Account."""
    o = scheduled_order(uow, None, FIXED_NOW)
    add_account(uow, "wecom", "liaodefu", FIXED_NOW, staff=DOCTOR)
    add_account(uow, "wechat", "openid-qiu", FIXED_NOW, resident_id=o.resident_id)
    add_account(uow, "wecom", "luozhiming", FIXED_NOW, staff=EXPERT)


def _told(rows) -> dict[str, str]:
    return {f"{r.platform}:{r.chat_id}": r.text for r in rows}


def test_plan_accepted_in_chat_and_on_the_command_line_tells_the_same_people(chat, app, clock, templates, tmp_path,
                                                                              cipher):
    # In chat: the hospital reviewer accepts the proposal for the weeks ahead.
    with app.uow() as uow:
        _awaiting_order_with_people(uow)
        uow.commit()
    chat.login("hospital", HOSPITAL, Role.HOSPITAL_REVIEWER, app.uow, clock())
    chat.say("hospital", "/plan")
    chat.press("hospital", "接受建议")
    answer = chat.last("hospital")
    assert "已接受排班建议" in answer and "已通知专家：罗志明" in answer
    assert "未绑定聊天账号" in answer  # the plan's other experts have no chat account: named, not claimed told
    in_chat = _told(outbox(app))

    # On the command line, on a database in the same state.
    engine = templates.sqlite_engine(True, tmp_path / "cli.db")
    with SqlUnitOfWork(engine, cipher) as uow:
        _awaiting_order_with_people(uow)
        uow.commit()
    env = worker_env(str(engine.url), None, FIXED_NOW, PYTHONIOENCODING="utf-8")
    run = subprocess.run([sys.executable, "-m", "bot", "plan", "--hospital", "CH350421", "--accept"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"experts_told": 1' in run.stderr and "未能通知专家" in run.stderr
    with SqlUnitOfWork(engine, cipher) as uow:
        on_cli = _told(uow.outbox.rows())
        assert any(e.detail.get("about") == "plan" for e in uow.audit.recent(200, action="expert_unreachable"))
    engine.dispose()

    assert sorted(in_chat) == sorted(on_cli) == ["wechat:openid-qiu", "wecom:liaodefu", "wecom:luozhiming"]
    for told in (in_chat, on_cli):
        expert = told["wecom:luozhiming"]
        assert expert.startswith("【巡诊安排】") and "订单 1 个" in expert and "/circuits" in expert
        assert "邱瑞鹏" not in expert
    assert in_chat["wecom:luozhiming"] == on_cli["wecom:luozhiming"]


# --- 3. the day before --------------------------------------------------------------------------------------------
def _circuit_with_order(app, *, expert_on: str | None = "wecom"):
    """12月4日上午 at 雪峰镇 with 罗志明 and one order of 邱瑞鹏; the expert on WeCom unless ``expert_on`` is None."""
    with app.uow() as uow:
        c = make_circuit(uow)
        o = scheduled_order(uow, c, FIXED_NOW)
        if expert_on:
            add_account(uow, expert_on, "luozhiming", FIXED_NOW, staff=EXPERT)
        uow.commit()
    return c, o


def sweep_at(app, when) -> None:
    """The worker's sweep, once, as a freshly started worker would run it at ``when``."""
    clock = Clock(when)
    make_sweep(app, Announcer(app.uow, clock), clock)()


def briefings(app):
    return [r for r in outbox(app, "wecom", "luozhiming") if "巡诊名单" in r.text]


@ALSO_ON_POSTGRES
def test_the_day_before_the_expert_gets_the_list_once_across_sweeps_and_restarts(app):
    c, o = _circuit_with_order(app)
    sweep_at(app, REMINDER_AT - timedelta(minutes=1))
    assert briefings(app) == []  # not yet: the day-before reminder's time, 09:00 Sanming

    sweep_at(app, REMINDER_AT + timedelta(minutes=1))
    [row] = briefings(app)
    assert row.text.startswith("【巡诊名单】明天 12月4日（周五）上午，雪峰镇，您的订单 1 个：")
    for shown in (o.number, "邱瑞鹏", "城东村", "心血管内科", "胸闷气短"):
        assert shown in row.text, shown
    assert row.expires_at is not None  # a briefing not delivered by the start of the circuit is dropped

    # Another sweep, then a restarted worker in the evening: nothing new.
    sweep_at(app, REMINDER_AT + timedelta(minutes=2))
    sweep_at(app, china("2026-12-03 20:00"))
    assert len(briefings(app)) == 1
    with app.uow() as uow:
        [ann] = [a for a in uow.schedule.announcements(c.id) if a.kind == "briefing"]
        assert ann.fanned_out_at is not None and ann.recipients == 1
        disclosed = uow.audit.recent(50, action="disclosed")
    assert [e.entity_id for e in disclosed] == [str(o.resident_id)]  # the name sent is on the resident's trail


def test_a_briefing_missed_while_the_worker_was_down_goes_out_once_when_it_comes_back(app):
    _circuit_with_order(app)
    # Down from before 09:00 the day before until late that evening: the first sweep catches up, once.
    sweep_at(app, china("2026-12-03 22:30"))
    sweep_at(app, china("2026-12-03 22:31"))
    assert len(briefings(app)) == 1


def test_no_briefing_once_the_circuit_has_started(app):
    _circuit_with_order(app)
    sweep_at(app, china("2026-12-04 08:05"))  # down all day before, back after the start
    assert briefings(app) == []


def test_a_cancelled_circuit_gets_no_briefing(app):
    c, _o = _circuit_with_order(app)
    with app.uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                        before.expert_ids, CircuitStatus.CANCELLED, before.id)
        uow.schedule.save_circuit(after)
        Announcer.record_change(uow, before, after, None, china("2026-12-02 15:00"))
        uow.commit()
    sweep_at(app, REMINDER_AT + timedelta(minutes=1))
    sweep_at(app, china("2026-12-03 20:00"))
    assert briefings(app) == []
    assert outbox(app, "wecom", "luozhiming") == []  # nor anything else: they were never told of it


def test_an_expert_briefed_then_cancelled_hears_of_the_cancellation(app):
    c, _o = _circuit_with_order(app)
    sweep_at(app, REMINDER_AT + timedelta(minutes=1))
    with app.uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                        before.expert_ids, CircuitStatus.CANCELLED, before.id)
        uow.schedule.save_circuit(after)
        Announcer.record_change(uow, before, after, None, REMINDER_AT + timedelta(hours=1))
        uow.commit()
    sweep_at(app, REMINDER_AT + timedelta(hours=1, minutes=1))
    texts = [r.text for r in outbox(app, "wecom", "luozhiming")]
    assert len(texts) == 2 and "取消" in texts[1]


def test_an_unreachable_expert_gets_no_claimed_briefing_and_the_hospital_reviewer_is_told(app):
    c, _o = _circuit_with_order(app, expert_on=None)
    with app.uow() as uow:
        add_account(uow, "telegram", "qiujianhua", FIXED_NOW, staff=HOSPITAL)
        uow.commit()
    sweep_at(app, REMINDER_AT + timedelta(minutes=1))
    [row] = [r for r in outbox(app) if r.chat_id == "qiujianhua"]
    assert "【巡诊名单未送达】专家 罗志明 未绑定聊天账号" in row.text and "12月4日" in row.text
    assert "邱瑞鹏" not in row.text  # the reviewer gets the problem, not the patient list
    assert not any("【巡诊名单】" in r.text for r in outbox(app))
    [event] = audit(app, "expert_unreachable")
    assert event.entity_id == str(c.id) and event.detail["about"] == "briefing"
    assert audit(app, "disclosed") == []  # no resident's name went anywhere
    sweep_at(app, REMINDER_AT + timedelta(minutes=2))
    assert len([r for r in outbox(app) if r.chat_id == "qiujianhua"]) == 1
