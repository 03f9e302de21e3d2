"""Regression tests for holes found in review: each names what a user could do before the fix."""

from __future__ import annotations

from domain.orders import OrderStatus
from domain.staff import Role
from handlers import Inbound
from handlers.onboarding import create_invite
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored


def test_a_forgotten_resident_cannot_be_picked_again_nor_their_link_reused(chat, cast, app):
    number = file_order(chat)
    rid = stored(app, number).resident_id
    link = issued_link(chat)
    chat.say("grandpa", f"/start r_{link}")
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    chat.say("doctor", "/new")
    chat.say("doctor", "已注销")
    assert "没有找到" in chat.last("doctor")  # not offered for a new order
    with app.uow() as uow:  # a forged pick of the old record is refused too
        acc = uow.chat.account("test", "doctor")
        token = uow.chat.new_button(acc.id, "new.pick", {"rid": rid}, chat.conv.services.clock())
        uow.commit()
    chat.send(Inbound("test", "doctor", "doctor", button=token, update_id="fp-1"))
    assert "不属于您的村卫生所" in chat.last("doctor")
    chat.say("stranger", f"/start r_{link}")
    assert "已经使用过了" in chat.last("stranger")  # one-time: spent by grandpa, and void once he was erased
    with app.uow() as uow:
        assert uow.chat.account("test", "stranger").resident_id is None


def test_an_invite_does_not_hand_over_a_person_with_more_roles(chat, app, clock):
    with app.uow() as uow:
        dual = next(s for s in (uow.staff.get(i) for i in range(1, 700))
                    if s and s.roles == {Role.EXPERT, Role.HOSPITAL_REVIEWER})
        code = create_invite(uow, Role.EXPERT, dual.institution_code, None, clock())
        uow.commit()
    chat.say("intruder", f"/start {code}")
    chat.say("intruder", dual.name)
    assert "绑定成功" in chat.last("intruder")
    chat.say("intruder", "/role")
    assert not any("医院审核员" in b.label for row in chat.screens["intruder"][-1].buttons for b in row)
    with app.uow() as uow:
        acc = uow.chat.account("test", "intruder")
        assert acc.staff_id != dual.id  # a new record of their own, with only the invited role


def test_only_the_filing_post_may_edit_an_orders_need(chat, cast, app, clock):
    number = file_order(chat)
    order_id = stored(app, number).id
    with app.uow() as uow:
        acc = uow.chat.account("test", "township")
        token = uow.chat.new_button(acc.id, "order.edit", {"id": order_id}, clock())
        uow.commit()
    chat.send(Inbound("test", "township", "township", button=token, update_id="ed-1"))
    assert "不属于您的村卫生所" in chat.last("township")
    assert stored(app, number).need_text.startswith("老人心口疼")


def test_approve_all_approves_only_the_orders_that_were_shown(chat, cast, app):
    first = file_order(chat, "腰杆疼得直不起来", None)
    second = file_order(chat, "眼睛花看不清字", None)
    chat.say("township", "/pending")
    late = file_order(chat, "娃娃拉肚子三天了", None)  # filed after the list was shown
    chat.press("township", "批准本村全部常规订单")
    assert stored(app, first).status is OrderStatus.TOWNSHIP_APPROVED
    assert stored(app, second).status is OrderStatus.TOWNSHIP_APPROVED
    assert stored(app, late).status is OrderStatus.SUBMITTED


def test_unusual_digits_get_a_polite_answer(chat, cast):
    chat.say("doctor", "/new")
    chat.press("doctor", "新建居民")
    chat.say("doctor", "林阿婆")
    chat.press("doctor", "女")
    chat.say("doctor", "①⑨⑤⓪")
    assert "出生年份应为" in chat.last("doctor")
    chat.say("stranger", "/start r_①-x")
    assert "链接无效" in chat.last("stranger")


def test_a_menu_is_not_taken_from_an_update_whose_commit_failed(chat, app, monkeypatch):
    """An invitee's /start whose commit fails binds nobody: the Telegram menu must not switch to the role."""
    from sqlalchemy.exc import OperationalError

    from bot.transports.handler_pool import run_update
    from bot.transports.telegram.bridge import read_menu
    from storage.uow import SqlUnitOfWork
    from tests.conftest import FIXED_NOW

    with app.uow() as uow:
        st = uow.staff.by_code("S0006")
        code = create_invite(uow, Role.VILLAGE_DOCTOR, st.institution_code, "S0006", FIXED_NOW)
        uow.commit()

    def disk_error(self):  # the database refuses the commit (as a full disk would)
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with monkeypatch.context() as m:
        m.setattr(SqlUnitOfWork, "commit", disk_error)
        outs, menu = run_update(chat.conv, Inbound("test", "u9", "u9", text=f"/start {code}", update_id="m1"),
                                read_menu)
    assert "繁忙" in outs[0].text and menu is None
    with app.uow() as uow:
        assert uow.chat.account("test", "u9") is None
    outs, menu = run_update(chat.conv, Inbound("test", "u9", "u9", text=f"/start {code}", update_id="m2"),
                            read_menu)
    assert "绑定成功" in outs[-1].text and menu == "village_doctor", (outs, menu)


def test_staff_answers_read_while_staff_data_change_uncommitted_are_not_kept(app):
    """A binding rolled back must not leave its new role holder in the notification cache."""
    from handlers.core import ReferenceCache

    cache, loads = ReferenceCache(), []

    def load():
        loads.append(1)
        return (1, 2)

    with app.uow() as uow:
        uow.next_value("reference_version")  # as a binding does, in the same transaction
        assert cache.memo(uow, ("k",), load) == (1, 2) and cache.memo(uow, ("k",), load) == (1, 2)
        assert len(loads) == 2
        uow.rollback()
    with app.uow() as uow:
        cache.memo(uow, ("k",), load)
        cache.memo(uow, ("k",), load)
    assert len(loads) == 3  # kept from a clean read on
