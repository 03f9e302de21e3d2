"""Resident links and open invites, played as an attacker would through the chat, on both databases.

A resident's link code used to be a bearer password that never expired (any number of accounts could read and erase
the resident), and an open invite let anyone who typed an unbound colleague's name become them.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.jobs.privacy import access_report
from domain.staff import Role
from handlers import Inbound
from handlers.onboarding import create_invite
from storage.tables import ConfirmationRow
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_onboarding import issued_link
from tests.handlers.test_order_lifecycle import file_order, stored

NAME, PHONE_MASKED = "邱瑞鹏", "139****3001"


def linked_resident(chat, app) -> tuple[str, int]:
    """The village doctor files an order; grandpa opens the link he was given."""
    number = file_order(chat)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    assert f"已关联到居民 {NAME}" in chat.last("grandpa")
    return number, stored(app, number).resident_id


def reissue(chat, number: str) -> str:
    """The village doctor opens the order's card and presses the link button."""
    chat.say("doctor", "/orders")
    chat.press("doctor", number)
    chat.press("doctor", "居民关联链接")
    assert "新关联链接" in chat.last("doctor"), chat.last("doctor")
    return issued_link(chat)


def resident_of(app, user: str) -> int | None:
    with app.uow() as uow:
        acc = uow.chat.account("test", user)
        return acc.resident_id if acc else None


def sees_nothing(chat, user: str) -> None:
    chat.say(user, "/mydata")
    text = chat.last(user)
    assert NAME not in text and PHONE_MASKED not in text and "XZ-" not in text, text


# --- resident links -------------------------------------------------------------------------------------------
def test_a_second_account_with_a_used_link_is_refused_and_sees_no_data(chat, app, cast):
    number, _ = linked_resident(chat, app)
    chat.say("stranger", f"/start r_{issued_link(chat)}")
    assert "已经使用过了" in chat.last("stranger")
    assert resident_of(app, "stranger") is None
    sees_nothing(chat, "stranger")
    chat.say("stranger", "/forget")
    chat.press("stranger", "确定撤回并删除")
    assert stored(app, number).need_text  # nothing of grandpa's was erased


def test_an_expired_link_is_refused(chat, app, cast, clock):
    file_order(chat)
    link = issued_link(chat)
    clock.now += timedelta(days=7, minutes=1)
    chat.say("grandpa", f"/start r_{link}")
    assert "已过期" in chat.last("grandpa")
    assert resident_of(app, "grandpa") is None


def test_a_link_of_the_old_derived_kind_no_longer_works(chat, app, cast):
    number = file_order(chat)
    rid = stored(app, number).resident_id
    with app.uow() as uow:  # what links looked like before: the id and a MAC of it, valid forever
        mac = uow.cipher.lookup_hash(str(rid), context="resident-link")
    chat.say("stranger", f"/start r_{rid}-{mac[:12]}")
    assert "链接无效" in chat.last("stranger")
    assert resident_of(app, "stranger") is None


def test_only_the_hash_of_a_link_is_stored(chat, app, cast):
    file_order(chat)
    link = issued_link(chat)
    with app.uow() as uow:
        hashes = list(uow.session.exec(sa.text("SELECT code_hash FROM resident_link")).scalars())
    assert hashes and all(link not in h and link.lower() not in h for h in hashes)


@ALSO_ON_POSTGRES
def test_reissue_works_and_the_old_code_stops_working(chat, app, cast):
    number = file_order(chat)
    old = issued_link(chat)
    new = reissue(chat, number)
    assert new != old
    chat.say("grandpa", f"/start r_{old}")
    assert "已作废" in chat.last("grandpa") and resident_of(app, "grandpa") is None
    chat.say("grandpa", f"/start r_{new}")
    assert f"已关联到居民 {NAME}" in chat.last("grandpa")
    chat.say("doctor", f"/link {number}")  # the command does the same
    newer = issued_link(chat)
    assert newer not in (old, new)


def test_another_post_cannot_reissue_a_link(chat, app, cast, clock):
    order_id = stored(app, file_order(chat)).id
    with app.uow() as uow:
        acc = uow.chat.account("test", "township")
        token = uow.chat.new_button(acc.id, "order.link", {"id": order_id}, clock())
        uow.commit()
    chat.send(Inbound("test", "township", "township", button=token, update_id="forged-link"))
    assert "不属于您的村卫生所" in chat.last("township")
    assert "/start r_" not in chat.last("township")


def test_a_second_binding_waits_for_the_doctor_whose_refusal_keeps_the_stranger_out(chat, app, cast):
    number, rid = linked_resident(chat, app)
    link = reissue(chat, number)  # e.g. a leaked re-issued link
    chat.say("stranger", f"/start r_{link}")
    assert "需要村医确认" in chat.last("stranger")
    assert resident_of(app, "stranger") is None
    sees_nothing(chat, "stranger")
    assert "新的聊天账号" in chat.last("doctor") and NAME in chat.last("doctor")
    _, confirm = chat.find_button("doctor", "确认关联")
    chat.press("doctor", "拒绝")
    assert "已拒绝" in chat.last("doctor")
    assert "没有确认这次关联" in chat.last("stranger")
    assert resident_of(app, "stranger") is None
    sees_nothing(chat, "stranger")
    chat.send(Inbound("test", "doctor", "doctor", button=confirm.data, update_id="late-confirm"))  # decided already
    assert "已经处理过了" in chat.last("doctor")
    assert resident_of(app, "stranger") is None
    assert resident_of(app, "grandpa") == rid


def test_a_second_binding_the_doctor_confirms_sees_the_data(chat, app, cast):
    number, rid = linked_resident(chat, app)
    chat.say("daughter", f"/start r_{reissue(chat, number)}")
    chat.press("doctor", "确认关联")
    assert f"已关联到居民 {NAME}" in chat.last("daughter")
    assert resident_of(app, "daughter") == rid
    chat.say("daughter", "/mydata")
    assert NAME in chat.last("daughter")


def test_only_the_residents_village_doctor_may_confirm(chat, app, cast, clock):
    number, _ = linked_resident(chat, app)
    chat.say("stranger", f"/start r_{reissue(chat, number)}")
    with app.uow() as uow:  # the question's button, forged for the township reviewer
        cid = uow.session.exec(select(ConfirmationRow.id)).first()
        acc = uow.chat.account("test", "township")
        token = uow.chat.new_button(acc.id, "link.decide", {"id": cid, "yes": True}, clock())
        uow.commit()
    chat.send(Inbound("test", "township", "township", button=token, update_id="forged-decide"))
    assert resident_of(app, "stranger") is None


@ALSO_ON_POSTGRES
def test_forget_from_a_linked_account_erases_nothing_until_the_doctor_confirms(chat, app, cast):
    number, rid = linked_resident(chat, app)
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    assert "确认后才会删除" in chat.last("grandpa")
    with app.uow() as uow:
        assert uow.residents.get(rid).name == NAME and uow.orders.by_number(number).need_text
    assert "申请撤回同意并删除" in chat.last("doctor")
    chat.press("doctor", "拒绝")
    assert "信息仍然保留" in chat.last("grandpa")
    with app.uow() as uow:
        assert uow.residents.get(rid).name == NAME
        assert not uow.chat.account("test", "grandpa").blocked
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa")
    with app.uow() as uow:
        assert uow.residents.get(rid).name == "已注销"
        acc = uow.chat.account("test", "grandpa")
        assert acc.blocked and acc.resident_id is None


@ALSO_ON_POSTGRES
def test_audit_rows_name_the_chat_account_that_bound_tried_and_read(chat, app, cast):
    _, rid = linked_resident(chat, app)
    chat.say("stranger", f"/start r_{issued_link(chat)}")  # spent: refused
    chat.say("grandpa", "/mydata")
    with app.uow() as uow:
        grandpa, stranger = uow.chat.account("test", "grandpa").id, uow.chat.account("test", "stranger").id
        events = uow.audit.for_resident(rid)
    by_action = {(e.action, e.detail.get("account")) for e in events if e.actor_staff_id is None}
    assert ("link_resident", grandpa) in by_action
    assert ("refused", stranger) in by_action
    assert ("read_own_data", grandpa) in by_action
    report = "\n".join(access_report(app, rid))
    assert "居民本人/系统" not in report
    assert f"聊天账号 test:stranger（账号#{stranger}）" in report
    assert f"聊天账号 test:grandpa（账号#{grandpa}）" in report


# --- open invites ---------------------------------------------------------------------------------------------
def unbound_colleague(app):
    """An existing member of staff with one role (not administrator) whom no chat account holds."""
    with app.uow() as uow:
        for i in range(1, 700):
            s = uow.staff.get(i)
            if (s and len(s.roles) == 1 and Role.ADMIN not in s.roles and s.active
                    and not uow.chat.accounts_of_staff([s.id])):
                return s
    raise AssertionError("no unbound colleague in the demo data")


def open_invite(app, clock, colleague) -> str:
    with app.uow() as uow:
        code = create_invite(uow, next(iter(colleague.roles)), colleague.institution_code, None, clock())
        uow.commit()
    return code


def staff_of(app, user: str) -> int | None:
    with app.uow() as uow:
        acc = uow.chat.account("test", user)
        return acc.staff_id if acc else None


@ALSO_ON_POSTGRES
def test_an_open_invite_typing_a_colleagues_name_does_not_become_them(chat, app, cast, clock):
    colleague = unbound_colleague(app)
    code = open_invite(app, clock, colleague)
    chat.say("intruder", f"/start {code}")
    chat.say("intruder", colleague.name)
    assert "需要管理员确认" in chat.last("intruder") and "没有任何角色" in chat.last("intruder")
    assert staff_of(app, "intruder") is None
    chat.say("intruder", "/help")
    assert "/pending" not in chat.last("intruder") and "/new" not in chat.last("intruder")
    assert colleague.code in chat.last("admin") and "确认绑定" in str(chat.screens["admin"][-1].buttons)
    chat.press("admin", "拒绝")
    assert "没有确认您的身份" in chat.last("intruder")
    assert staff_of(app, "intruder") is None
    chat.say("intruder2", f"/start {code}")  # the invite is spent
    assert "已经使用过了" in chat.last("intruder2")


def test_an_open_invite_binds_an_existing_person_once_an_admin_confirms(chat, app, cast, clock):
    colleague = unbound_colleague(app)
    chat.say("colleague", f"/start {open_invite(app, clock, colleague)}")
    chat.say("colleague", colleague.name)
    assert staff_of(app, "colleague") is None
    chat.press("admin", "确认绑定")
    assert "绑定成功" in chat.last("colleague")
    assert staff_of(app, "colleague") == colleague.id
    with app.uow() as uow:
        assert uow.audit.recent(5, action="bind_account")[0].entity_id == colleague.code


def test_only_an_administrator_may_confirm_a_claim(chat, app, cast, clock):
    colleague = unbound_colleague(app)
    chat.say("intruder", f"/start {open_invite(app, clock, colleague)}")
    chat.say("intruder", colleague.name)
    with app.uow() as uow:
        cid = uow.session.exec(select(ConfirmationRow.id)).first()
        acc = uow.chat.account("test", "doctor")
        token = uow.chat.new_button(acc.id, "claim.decide", {"id": cid, "yes": True}, clock())
        uow.commit()
    chat.send(Inbound("test", "doctor", "doctor", button=token, update_id="forged-claim"))
    assert staff_of(app, "intruder") is None


def test_an_open_invite_with_a_new_name_creates_a_new_person(chat, app, cast, clock):
    colleague = unbound_colleague(app)
    chat.say("newbie", f"/start {open_invite(app, clock, colleague)}")
    chat.say("newbie", "林晓燕")
    assert "绑定成功：林晓燕" in chat.last("newbie")
    assert staff_of(app, "newbie") not in (None, colleague.id)
