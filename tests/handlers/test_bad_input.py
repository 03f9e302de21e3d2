"""Bad input of every kind gets a clear Chinese answer, an audit entry where refused, and no half-written order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.orders import OrderStatus
from handlers import FloodGuard, Inbound, split_text
from tests.handlers.test_order_lifecycle import file_order, stored


def order_count(app) -> int:
    with app.uow() as uow:
        return sum(uow.orders.count_by_status().values())


def refusals(app) -> list:
    with app.uow() as uow:
        return uow.audit.recent(50, action="refused")


def start_need(chat):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.press("doctor", "居民已同意")


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_message_gets_a_polite_answer(chat, cast, text):
    chat.say("doctor", text)
    assert "没有收到文字内容" in chat.last("doctor")


def test_a_5000_character_message_is_refused_without_storing_anything(chat, cast, app):
    start_need(chat)
    chat.say("doctor", "胸口疼" * 1700)
    assert "太长" in chat.last("doctor")
    assert order_count(app) == 0
    chat.say("doctor", "胸口疼，走路喘")  # still on the same step: the flow goes on
    assert "建议以下科室" in chat.last("doctor")


def test_emoji_only_need_is_not_accepted(chat, cast, app):
    start_need(chat)
    chat.say("doctor", "😷🤒🤕")
    assert "没看懂" in chat.last("doctor")
    assert order_count(app) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chest pain when walking uphill", "科"),  # Latin: the matcher falls back, the flow continues
        ("目がかすんで字が見えにくい", "科"),  # Japanese
        ("老人心口疼，胸悶氣短，走路就喘", "心血管内科"),  # traditional characters are normalised
    ],
)
def test_other_scripts_get_an_answer_not_a_traceback(chat, cast, text, expected):
    start_need(chat)
    chat.say("doctor", text)
    last = chat.screens["doctor"][-1]
    labels = " ".join(b.label for row in last.buttons for b in row)
    assert expected in last.text + labels
    assert "系统繁忙" not in last.text


def test_sql_and_html_looking_text_is_stored_verbatim_and_harmlessly(chat, cast, app):
    evil = "'); DROP TABLE care_order; -- <script>alert(1)</script> 头疼"
    number = file_order(chat, evil, None)
    assert stored(app, number).need_text == evil
    assert order_count(app) == 1


def test_unknown_command(chat, cast):
    chat.say("doctor", "/launch_missiles now")
    assert "没有这个命令：/launch_missiles" in chat.last("doctor")


def test_command_of_another_role_is_refused_and_audited(chat, cast, app):
    chat.say("doctor", "/pending")
    assert "不适用于您当前的身份" in chat.last("doctor")
    assert any(e.entity_id == "/pending" for e in refusals(app))


def test_a_button_pressed_twice_acts_once(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    shown, approve = chat.find_button("township", "批准")
    press = Inbound("test", "township", "township", button=approve.data, update_id="p1", message_id=shown.message_id)
    chat.send(press)
    chat.send(Inbound("test", "township", "township", button=approve.data, update_id="p2", message_id=shown.message_id))
    assert "已经处理过了" in chat.last("township")
    with app.uow() as uow:
        trail = [e.action for e in uow.audit.for_entity("order", number)]
    assert trail.count("township_approve") == 1


def test_the_same_update_delivered_twice_has_one_effect(chat, cast, app):
    chat.say("doctor", "/new", update_id="dup-1")
    chat.say("doctor", "邱瑞鹏", update_id="dup-2")
    before = chat.texts("doctor")
    out = chat.say("doctor", "邱瑞鹏", update_id="dup-2")
    assert out == [] and chat.texts("doctor") == before


def test_forged_button_data_is_refused_and_audited(chat, cast, app):
    chat.send(Inbound("test", "doctor", "doctor", button="forged-0000000", update_id="f1"))
    assert "按钮已失效" in chat.last("doctor")
    assert any(e.reason == "unknown_button" for e in refusals(app))


def test_another_users_button_cannot_be_pressed(chat, cast, app):
    number = file_order(chat)
    chat.say("township", "/pending")
    _, approve = chat.find_button("township", "批准")
    # The village doctor replays the township reviewer's token as if it were theirs.
    chat.send(Inbound("test", "doctor", "doctor", button=approve.data, update_id="x1"))
    assert "不属于您" in chat.last("doctor")
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert any(e.reason == "not_owner" for e in refusals(app))


def test_a_reviewer_of_another_township_cannot_act_on_the_order(chat, cast, app, clock):
    from domain.staff import Role

    number = file_order(chat)
    # 盖洋镇卫生院's reviewer is bound through a real invite.
    with app.uow() as uow:
        other = next(s for s in uow.staff.at_institution("TC350421102", Role.TOWNSHIP_REVIEWER))
    chat.login("other_township", other.code, Role.TOWNSHIP_REVIEWER, app.uow, clock())
    chat.say("other_township", "/pending")
    assert "没有待处理的订单" in chat.last("other_township")
    # Forge a button for them that names our order (as a compromised client could build if ids were exposed).
    with app.uow() as uow:
        acc = uow.chat.account("test", "other_township")
        order = uow.orders.by_number(number)
        token = uow.chat.new_button(acc.id, "tw.approve", {"id": order.id}, clock())
        uow.commit()
    chat.send(Inbound("test", "other_township", "other_township", button=token, update_id="o1"))
    assert "不在本卫生院辖区" in chat.last("other_township")
    assert stored(app, number).status is OrderStatus.SUBMITTED
    assert any(e.reason == "perm.outside_township" and e.detail.get("order") == number for e in refusals(app))


def test_a_village_doctor_cannot_open_another_posts_order(chat, cast, app, clock):
    from domain.staff import Role

    number = file_order(chat)
    with app.uow() as uow:
        other = next(s for s in uow.staff.at_institution("VP350421101002", Role.VILLAGE_DOCTOR))
    chat.login("other_doctor", other.code, Role.VILLAGE_DOCTOR, app.uow, clock())
    with app.uow() as uow:
        acc = uow.chat.account("test", "other_doctor")
        token = uow.chat.new_button(acc.id, "order.cancel", {"id": uow.orders.by_number(number).id}, clock())
        uow.commit()
    chat.send(Inbound("test", "other_doctor", "other_doctor", button=token, update_id="o2"))
    assert "不属于您的村卫生所" in chat.last("other_doctor")
    assert stored(app, number).status is OrderStatus.SUBMITTED


def test_a_button_of_another_roles_action_is_refused(chat, cast, app, clock):
    number = file_order(chat)
    with app.uow() as uow:
        acc = uow.chat.account("test", "doctor")
        token = uow.chat.new_button(acc.id, "hs.local", {"id": uow.orders.by_number(number).id}, clock())
        uow.commit()
    chat.send(Inbound("test", "doctor", "doctor", button=token, update_id="o3"))
    assert "操作未执行" in chat.last("doctor") or "不能执行" in chat.last("doctor")
    assert stored(app, number).status is OrderStatus.SUBMITTED


def test_a_button_from_an_old_flow_step_is_harmless(chat, cast, app):
    chat.say("doctor", "/new")
    chat.say("doctor", "邱瑞鹏")
    chat.press("doctor", "邱瑞鹏")
    chat.say("doctor", "/cancel")
    chat.press("doctor", "居民已同意")  # the consent button of the abandoned flow
    assert "按钮已失效" in chat.last("doctor")
    assert order_count(app) == 0


def test_a_button_survives_a_restart(chat, cast, app, clock):
    """A new Conversation (as after a restart) still understands buttons sent before."""
    from bot.bootstrap import build_conversation
    from tests.handlers.harness import ChatHarness

    number = file_order(chat)
    chat.say("township", "/pending")
    shown, approve = chat.find_button("township", "批准")
    restarted = ChatHarness(build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000)))
    restarted.send(
        Inbound("test", "township", "township", button=approve.data, update_id="r1", message_id=shown.message_id)
    )
    assert stored(app, number).status is OrderStatus.TOWNSHIP_APPROVED


def test_a_flood_is_answered_once_politely(app, clock):
    from bot.bootstrap import build_conversation
    from tests.handlers.harness import ChatHarness

    ticks = iter(i * 0.1 for i in range(100))  # 20 messages within 2 seconds
    chat = ChatHarness(
        build_conversation(app, clock=clock, flood=FloodGuard(limit=8, window=2.0, clock=lambda: next(ticks)))
    )
    for i in range(20):
        chat.say("spammer", f"你好{i}")
    texts = chat.texts("spammer")
    assert texts.count("您发送得太快了，请稍等几秒再发。") == 1
    assert len(texts) == 9  # 8 answered, then one polite warning, the rest dropped


def test_a_database_failure_gets_a_busy_answer_and_nothing_half_written(chat, cast, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    start_need(chat)

    def broken(*a, **k):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("storage.uow.OrderRepository.add", broken)
    chat.say("doctor", "胸口疼，走路喘")
    chat.press("doctor", "心血管内科")
    chat.press("doctor", "常规")
    chat.press("doctor", "完成")
    chat.press("doctor", "确认提交")
    assert "系统繁忙" in chat.last("doctor")
    assert order_count(app) == 0
    monkeypatch.undo()
    chat.press("doctor", "确认提交")  # the draft survived: the same button works once the database is back
    assert any("已提交" in t for t in chat.texts("doctor"))
    assert order_count(app) == 1


def test_long_outgoing_text_is_split_on_line_boundaries():
    text = "\n".join(f"第{i}行：" + "字" * 50 for i in range(200))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert all(p.startswith("第") for p in parts)


def test_drafts_get_one_reminder_then_expire(chat, cast, clock):
    chat.say("doctor", "/new")
    clock.now += timedelta(hours=23, minutes=5)
    outs = chat.conv.sweep_drafts()
    assert [o.text[:8] for o in outs] == ["您有一条未完成的"]
    assert chat.conv.sweep_drafts() == []  # only one reminder
    clock.now += timedelta(hours=1)
    outs = chat.conv.sweep_drafts()
    assert len(outs) == 1 and "已自动清除" in outs[0].text
    chat.say("doctor", "邱瑞鹏")
    assert "如需办理业务" in chat.last("doctor")  # the step is gone
