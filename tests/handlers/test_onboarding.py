"""Onboarding with invite codes, residents' subscriptions, their data, and withdrawing consent."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from domain.staff import Role
from handlers.onboarding import create_invite
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_order_lifecycle import file_order, stored


def invite(app, clock, role=Role.TOWNSHIP_REVIEWER, institution="TC350421101", staff=None) -> str:
    with app.uow() as uow:
        code = create_invite(uow, role, institution, staff, clock())
        uow.commit()
    return code


def test_an_invite_binds_a_new_person_who_gives_their_name(chat, app, clock):
    code = invite(app, clock)
    chat.say("newbie", f"/start {code}")
    assert "请回复您的真实姓名" in chat.last("newbie")
    chat.say("newbie", "林晓燕")
    assert "绑定成功：林晓燕，雪峰镇卫生院，卫生院审核员" in chat.last("newbie")
    chat.say("newbie", "/pending")
    assert "没有待处理的订单" in chat.last("newbie")


def test_an_invite_works_only_once(chat, app, clock):
    code = invite(app, clock, staff="S0005")
    chat.say("first", f"/start {code}")
    assert "绑定成功" in chat.last("first")
    chat.say("second", f"/start {code}")
    assert "已经使用过了" in chat.last("second")
    with app.uow() as uow:
        assert uow.audit.recent(5, action="refused")[0].reason == "already_used"


def test_an_expired_or_wrong_invite_is_refused(chat, app, clock):
    code = invite(app, clock, staff="S0005")
    clock.now += timedelta(days=15)
    chat.say("late", f"/start {code}")
    assert "已过期" in chat.last("late")
    chat.say("guesser", "/start AAAAAAAAAA")
    assert "邀请码无效" in chat.last("guesser")


def test_only_the_hash_of_an_invite_code_is_stored(app, clock):
    code = invite(app, clock)
    with app.uow() as uow:
        stored_hash = uow.session.exec(sa.text("SELECT code_hash FROM invite")).scalar_one()
    assert code not in stored_hash


@ALSO_ON_POSTGRES
def test_resident_subscribes_by_county_township_village_buttons(chat, app):
    chat.say("villager", "/start")
    assert "选择您所在的县" in chat.texts("villager")[-1]
    chat.press("villager", "明溪县")
    chat.press("villager", "雪峰镇")
    chat.press("villager", "城东村")
    assert "订阅成功：明溪县雪峰镇城东村（示例）" in chat.last("villager")
    with app.uow() as uow:
        acc = uow.chat.account("test", "villager")
        assert uow.chat.subscriptions(acc.id) == ["350421101001"]


@ALSO_ON_POSTGRES
def test_paging_through_a_long_list(chat):
    chat.say("villager", "/start")
    chat.press("villager", "下一页")
    labels = [b.label for row in chat.screens["villager"][-1].buttons for b in row]
    assert "« 上一页" in labels and len(labels) <= 10


@ALSO_ON_POSTGRES
def test_village_deep_link_and_several_villages_and_unsubscribe(chat, app):
    chat.say("villager", "/start v_350421101001")
    chat.say("villager", "/start v_350421101002")
    assert "订阅成功" in chat.last("villager")
    chat.say("villager", "/start v_350421101002")
    assert "已经订阅了" in chat.last("villager")
    chat.say("villager", "/start v_999")
    assert "没有找到这个村" in chat.last("villager")
    chat.say("villager", "/unsubscribe")
    chat.press("villager", "城东村")
    with app.uow() as uow:
        acc = uow.chat.account("test", "villager")
        assert uow.chat.subscriptions(acc.id) == ["350421101002"]
    chat.say("villager", "/unsubscribe")
    chat.press("villager", "全部取消")
    assert "已取消全部订阅" in chat.last("villager")


def test_a_townships_code_offers_its_villages_and_a_countys_its_townships(chat, app):
    """What a township's printed week carries (v_<township>): scanning it leads to choosing one's own village."""
    chat.say("villager", "/start v_350421101")
    assert "选择" in chat.last("villager") and "村" in chat.last("villager")
    chat.press("villager", "渔塘村")
    assert "订阅成功：明溪县雪峰镇渔塘村（示例）" in chat.last("villager")
    chat.say("villager", "/start v_350421")
    chat.press("villager", "雪峰镇")
    chat.press("villager", "城东村")
    with app.uow() as uow:
        acc = uow.chat.account("test", "villager")
        assert sorted(uow.chat.subscriptions(acc.id)) == ["350421101001", "350421101002"]


def issued_link(chat, user: str = "doctor") -> str:
    """The newest resident link the village doctor was shown (after filing, or re-issued)."""
    found = [m for text in chat.texts(user) for m in re.findall(r"/start r_([A-Z0-9]+)", text)]
    assert found, chat.texts(user)[-3:]
    return found[-1]


def resident_linked(chat, app, cast) -> tuple[str, int]:
    number = file_order(chat)
    order = stored(app, number)
    chat.say("grandpa", f"/start r_{issued_link(chat)}")
    assert "已关联到居民 邱瑞鹏" in chat.last("grandpa")
    return number, order.resident_id


def test_resident_link_must_not_be_forgeable(chat, app, cast):
    number = file_order(chat)
    rid = stored(app, number).resident_id
    chat.say("stranger", f"/start r_{rid}-000000000000")
    assert "链接无效" in chat.last("stranger")


def test_mydata_shows_a_resident_their_own_data_and_is_audited(chat, app, cast):
    number, rid = resident_linked(chat, app, cast)
    chat.say("grandpa", "/mydata")
    text = chat.last("grandpa")
    assert "邱瑞鹏" in text and number in text and "139****3001" in text
    with app.uow() as uow:
        assert uow.audit.recent(5, action="read_own_data")[0].entity_id == str(rid)


def test_forget_erases_the_resident_everywhere_but_keeps_counts(chat, app, cast):
    number, rid = resident_linked(chat, app, cast)
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "确定撤回并删除")
    assert "村医核实并确认后才会删除" in chat.last("grandpa")  # the village doctor confirms first
    chat.press("doctor", "确认删除")
    assert "已撤回同意" in chat.last("grandpa")
    with app.uow() as uow:
        r = uow.residents.get(rid)
        assert r.name == "已注销" and r.phone is None and not r.has_consent
        order = uow.orders.by_number(number)
        assert order.need_text == "" and order.confirmed_specialty == "03.04"  # counts stay
        acc = uow.chat.account("test", "grandpa")
        assert acc.blocked and acc.resident_id is None and uow.chat.subscriptions(acc.id) == []
        raw = uow.session.exec(sa.text("SELECT name, phone_enc FROM resident WHERE id = :i"), params={"i": rid}).one()
        assert raw == ("已注销", None)


def test_forget_can_be_declined(chat, app, cast):
    _, rid = resident_linked(chat, app, cast)
    chat.say("grandpa", "/forget")
    chat.press("grandpa", "否")
    with app.uow() as uow:
        assert uow.residents.get(rid).name == "邱瑞鹏"


def test_help_depends_on_the_role(chat, cast):
    chat.say("doctor", "/help")
    assert "/new" in chat.last("doctor")
    chat.say("township", "/help")
    assert "/pending" in chat.last("township") and "/new" not in chat.last("township")
    chat.say("nobody", "/help")
    assert "/unsubscribe" in chat.last("nobody")


@ALSO_ON_POSTGRES
def test_a_person_with_two_roles_switches(chat, app, clock):
    with app.uow() as uow:
        both = next(s for s in (uow.staff.get(i) for i in range(1, 700)) if s and len(s.roles) > 1)
        first = sorted(both.roles)[0]
    chat.login("dual", both.code, first, app.uow, clock())
    chat.say("dual", "/role")
    other = next(r for r in both.roles if r != first)
    from handlers.onboarding import role_name

    chat.press("dual", role_name(other))
    assert f"已切换为：{role_name(other)}" in chat.last("dual")


def test_cancel_anywhere_returns_to_a_clean_state(chat, cast):
    chat.say("doctor", "/new")
    chat.say("doctor", "/cancel")
    assert "已取消" in chat.last("doctor")
    chat.say("doctor", "/cancel")
    assert "没有进行中的操作" in chat.last("doctor")


@ALSO_ON_POSTGRES
def test_admin_reads_status_but_has_no_order_commands(chat, cast):
    chat.say("admin", "/status")
    assert "乡镇" in chat.last("admin")
    chat.say("admin", "/pending")
    assert "不适用于您当前的身份" in chat.last("admin")


def test_staff_accounts_are_not_erased_by_forget(chat, cast, app):
    chat.say("doctor", "/forget")
    assert "联系管理员" in chat.last("doctor")
    with app.uow() as uow:
        assert not uow.chat.account("test", "doctor").blocked
