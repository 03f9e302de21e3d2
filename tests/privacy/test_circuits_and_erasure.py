"""Issue 15, holes 4, 6, 10 (parts) and 12, played as an attacker would through the chat and the command line.

A hospital reviewer announced circuits anywhere in the city; /forget left the resident in the SQLite WAL and a phone
typed into a need was stored as typed; an expert marked next month's circuit served today; an absence was recorded
for an expert who served; an expert no longer active could still be assigned.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from datetime import date
from pathlib import Path

from sqlmodel import col, select

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import OrderStatus
from storage.tables import AbsenceRow, AuditRow, ChatAccountRow, OrderRow
from tests.circuits.circuit_helpers import scheduled_order
from tests.cli_runner import run_bot
from tests.conftest import ALSO_ON_POSTGRES, ON_SHARED_DATABASES, ON_SQLITE_FILES, TEST_KEY
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored

OUTSIDE = "350423101"  # 龙津镇, 清流县: 明溪县总医院 (S0002's hospital) supports nothing there


def refusals(app, reason: str) -> int:
    with app.uow() as uow:
        q = select(AuditRow.id).where(col(AuditRow.action) == "refused", col(AuditRow.reason) == reason)
        return len(uow.session.exec(q).all())


def circuits_at(app, place: str) -> list[int]:
    from storage.tables import CircuitRow

    with app.uow() as uow:
        return list(uow.session.exec(select(CircuitRow.id).where(col(CircuitRow.place_code) == place)))


# --- hole 4: circuits only where the hospital supports ---------------------------------------------------------
def test_plan_new_at_a_village_outside_the_hospitals_support_is_refused_and_nothing_is_announced(chat, cast, app):
    chat.say("hospital", f"/plan new {OUTSIDE}001 2026-12-08 上午 S0003")
    assert "不在本院的支援范围内" in chat.last("hospital"), chat.last("hospital")
    assert circuits_at(app, f"{OUTSIDE}001") == []
    with app.uow() as uow:
        assert uow.outbox.rows() == []  # no announcement, no reminder queued for that village's residents
    assert refusals(app, "plan.outside_support") == 1


def test_after_forget_nothing_held_for_the_resident_on_the_official_account_waits_to_be_sent(chat, cast, app):
    """A message held for a resident outside WeChat's 48-hour window (it goes out when they next write) names their
    order; their erasure takes it with everything else, so it is never sent to a resident who asked to be forgotten."""
    from storage.repositories.wechat import WeChatRepository
    from tests.circuits.circuit_helpers import add_account

    file_order(chat, "老人心口疼，胸闷气短，走路就喘，想看看心脏")
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    with app.uow() as uow:
        resident_id = uow.chat.account(chat.platform, "grandpa").resident_id
        add_account(uow, "wechat", "oGRANDPA_openid", clock_now(app), resident_id=resident_id)
        WeChatRepository(uow).hold("wechat", "oGRANDPA_openid", ['{"text": {"content": "请为巡诊打分"}}'],
                                   clock_now(app))
        uow.commit()
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    if any("确认删除" in b.label for s in chat.screens["doctor"][-3:] for row in s.buttons for b in row):
        chat.press("doctor", "确认删除")
    with app.uow() as uow:
        assert WeChatRepository(uow).take_held("wechat", "oGRANDPA_openid") == []


def clock_now(app):
    """Now, for rows written by hand beside the conversation."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


@ALSO_ON_POSTGRES
def test_plan_move_to_a_place_outside_the_support_is_refused_and_the_circuit_stays(chat, cast, app):
    chat.say("hospital", "/plan new 350421101 2026-12-08 上午 S0003")
    assert "已新建巡诊" in chat.last("hospital")
    (circuit_id,) = circuits_at(app, "350421101")
    chat.say("hospital", "/plan list")
    chat.press("hospital", "改期")
    chat.say("hospital", f"2026-12-09 上午 {OUTSIDE}")
    assert "不在本院的支援范围内" in chat.last("hospital")
    with app.uow() as uow:
        c = uow.circuits.get(circuit_id)
        assert c.place_code == "350421101" and c.day == date(2026, 12, 8)
        assert not any(OUTSIDE in (r.text or "") or "龙津镇" in (r.text or "") for r in uow.outbox.rows())
    assert refusals(app, "plan.outside_support") == 1


# --- hole 6: nothing left under the data directory after /forget; phones masked in free text -------------------
def _data_files(app) -> list[Path]:
    """Every file of the service's data directory and of its database's folder (the test database lives apart
    from the data directory: the fixtures reuse one database file per worker)."""
    folders = {Path(app.settings.var_dir), Path(app.engine.url.database).parent}
    files = {p for folder in folders for p in folder.rglob("*") if p.is_file()}
    assert any(p.name.endswith(".db") for p in files)  # the database itself is among them
    return sorted(files)


@ON_SQLITE_FILES
def test_after_forget_no_file_in_the_data_directory_holds_the_resident_while_the_service_runs(chat, cast, app):
    need = "老人心口疼，胸闷气短，走路就喘，想看看心脏"
    number = file_order(chat, need)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    if any("确认删除" in b.label for s in chat.screens["doctor"][-3:] for row in s.buttons for b in row):
        chat.press("doctor", "确认删除")  # /forget from a linked account asks the village doctor to confirm
    with app.uow() as uow:
        assert uow.orders.by_number(number).need_text == ""
    # The engine stays open (no dispose, no restart): the erasure itself must have cleared the WAL.
    files = _data_files(app)
    assert any(p.name.endswith("-wal") for p in files) or files
    raw = {p: p.read_bytes() for p in files}
    for trace in ("邱瑞鹏", need, "13900003001"):
        holders = [p.name for p, b in raw.items() if trace.encode() in b]
        assert holders == [], (trace, holders)


@ON_SQLITE_FILES
def test_after_forget_the_local_consoles_remembered_screens_no_longer_name_the_resident(chat, cast, app):
    """The console keeps each persona's screen (questions and buttons) so a restart loses nothing; those screens
    named the resident ("请描述 邱瑞鹏 的就医需求", a button "邱瑞鹏（男，1942年生）") and must not after /forget."""
    from bot.transports.console import ConsoleSession

    console = ConsoleSession(app, chat.conv)
    console.switch("廖德福")
    shown = console.handle_line("/new") + console.handle_line("邱瑞鹏")
    assert "邱瑞鹏（男，1942年生）" in shown
    file_order(chat, "老人心口疼，胸闷气短，走路就喘，想看看心脏")
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    if any("确认删除" in b.label for s in chat.screens["doctor"][-3:] for row in s.buttons for b in row):
        chat.press("doctor", "确认删除")
    holders = [p.name for p in _data_files(app) if "邱瑞鹏".encode() in p.read_bytes()]
    assert holders == []
    assert "邱瑞鹏" not in ConsoleSession(app, chat.conv).switch("廖德福")  # a restart shows no name either


@ALSO_ON_POSTGRES
def test_a_phone_and_an_id_number_typed_into_a_need_are_stored_masked(chat, cast, app):
    number = file_order(chat, "老人心口疼，胸闷气短，儿子电话13912345678，身份证350421194001011234")
    with app.uow() as uow:
        text = uow.session.exec(select(OrderRow.need_text).where(col(OrderRow.number) == number)).one()
        drafts = " ".join(uow.session.exec(select(ChatAccountRow.draft)))
    assert "13912345678" not in text and "139****5678" in text
    assert "350421194001011234" not in text and "350421********1234" in text
    assert "13912345678" not in drafts
    assert stored(app, number).status is OrderStatus.SUBMITTED


@ALSO_ON_POSTGRES
def test_a_phone_in_a_return_question_and_answer_is_stored_masked(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "退回补充")
    chat.say("township", "请家属打 13800138000 联系卫生院")
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "撤销订单")
    chat.say("doctor", "家属说改天再来，电话 13700001111")
    with app.uow() as uow:
        row = uow.session.exec(select(OrderRow.question, OrderRow.reason).where(col(OrderRow.number) == number)).one()
        reasons = [r for r in uow.session.exec(select(AuditRow.reason)) if r]
    assert "13800138000" not in (row[0] or "") and "13700001111" not in (row[1] or "")
    assert not any("13800138000" in r or "13700001111" in r for r in reasons)


# --- hole 12: served before it happened --------------------------------------------------------------------------
def _circuit_with_order(app, day: date):
    with app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        c = Circuit("CH350421", "350421101", day, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({expert.id}))
        uow.circuits.add(c)
        o = scheduled_order(uow, c, app_now())
        uow.commit()
    return c, o


def app_now():
    from tests.conftest import FIXED_NOW

    return FIXED_NOW


def test_marking_a_circuit_dated_next_month_served_today_is_refused(chat, cast, app):
    _c, o = _circuit_with_order(app, date(2026, 12, 20))
    chat.say("cardiologist", "/circuits")
    chat.press("cardiologist", "已诊")
    assert "还没有到日子" in chat.last("cardiologist"), chat.last("cardiologist")
    chat.press("cardiologist", "未到")
    assert "还没有到日子" in chat.last("cardiologist")
    chat.press("cardiologist", "记录其他工作")
    assert "还没有到日子" in chat.last("cardiologist")
    with app.uow() as uow:
        assert uow.orders.get(o.id).status is OrderStatus.SCHEDULED
    assert refusals(app, "perm.circuit_not_held") == 3


def _cli(app, tmp_path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNZHEN_", "DATABASE_URL"))}
    env.update(DATABASE_URL=app.engine.url.render_as_string(hide_password=False), XUNZHEN_SECRET_KEY=TEST_KEY,
               XUNZHEN_VAR_DIR=str(tmp_path / "cli-var"), XUNZHEN_FAKE_NOW="2026-11-23T18:00:00+08:00")
    return run_bot(list(argv), env)


@ON_SHARED_DATABASES
def test_an_absence_for_an_expert_who_served_on_the_circuit_is_refused_on_the_command_line(chat, cast, app, tmp_path):
    c, _o = _circuit_with_order(app, date(2026, 11, 23))
    chat.say("cardiologist", "/circuits")
    chat.press("cardiologist", "已诊")
    assert "已记录" in chat.replies() or "已诊" in chat.replies()
    served = _cli(app, tmp_path, "absence", "--circuit", str(c.id), "--staff", "S0003")
    assert served.returncode == 2 and "不能登记为缺席" in served.stderr, served.stderr
    later, _ = _circuit_with_order(app, date(2026, 12, 20))
    future = _cli(app, tmp_path, "absence", "--circuit", str(later.id), "--staff", "S0003")
    assert future.returncode == 2 and "还没有举行" in future.stderr, future.stderr
    with app.uow() as uow:
        assert uow.session.exec(select(AbsenceRow)).all() == []


# --- hole 10: an expert no longer active cannot be assigned ------------------------------------------------------
@ALSO_ON_POSTGRES
def test_an_expert_no_longer_active_cannot_be_assigned(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    chat.press("township", "批准")
    chat.say("hospital", "/pending")
    chat.press("hospital", "安排巡诊")
    with app.uow() as uow:  # between the list and the press, the expert leaves the hospital
        st = uow.staff.by_code("S0003")
        uow.staff.upsert(dataclasses.replace(st, active=False))
        uow.commit()
    chat.press("hospital", "罗志明")
    assert "不在岗" in chat.last("hospital"), chat.last("hospital")
    order = stored(app, number)
    assert order.status is OrderStatus.TOWNSHIP_APPROVED and order.assigned_expert_id is None
    assert refusals(app, "perm.expert_inactive") == 1
