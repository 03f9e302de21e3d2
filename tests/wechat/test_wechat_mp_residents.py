"""Residents over the Official Account: follow, subscribe with numbered replies, receive an announcement."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.bootstrap import build_conversation
from bot.delivery.sender import Sender
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.wechat.mp import NOT_DELIVERABLE, WeChatMpChannel
from bot.transports.wechat.template import fit, parse_fields
from bot.web.notices import page_ref
from handlers import FloodGuard
from handlers.services.announcements import Announcer
from tests.circuits.circuit_helpers import REMINDER_AT, VILLAGE, make_circuit
from tests.conftest import FIXED_NOW
from tests.wechat.wechat_driver import Driver, make_app, settings_for

OPENID = "oRESIDENT_fake_openid_000001"


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class _NoMatcher:
    def classify(self, *args, **kwargs):
        return []


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


async def _driver(fake, engine, tmp_path, **settings) -> Driver:
    app = make_app(settings_for(fake, engine, tmp_path, **settings), engine)
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=_NoMatcher(), flood=FloodGuard(limit=10_000))
    return Driver("wechat", app, conv, fake)


async def subscribe(d: Driver) -> None:
    await d.event(OPENID, "subscribe")  # following the account is /start
    assert d.saw(OPENID, "回复 1 ")
    await d.press(OPENID, "明溪县")
    await d.press(OPENID, "雪峰镇")
    await d.press(OPENID, "城东村")
    assert d.saw(OPENID, "订阅成功")
    with d.app.uow() as uow:
        acc = uow.chat.account("wechat", OPENID)
        assert uow.chat.subscriptions(acc.id) == [VILLAGE]


async def announce(d: Driver, channel: WeChatMpChannel) -> list:
    with d.app.uow() as uow:
        make_circuit(uow)
        uow.commit()
    res = Announcer(d.app.uow, Clock(REMINDER_AT + timedelta(minutes=1))).sweep()
    assert res.fanned_out == 1
    sender = Sender(d.app.uow, [channel], clock=Clock(REMINDER_AT + timedelta(minutes=2)))
    await sender.drain(timeout=15)
    with d.app.uow() as uow:
        return [r for r in uow.outbox.rows() if r.platform == "wechat"]


async def test_inside_48_hours_a_subscribed_resident_gets_the_whole_announcement_even_with_a_template(
        fake, seeded_engine, tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path, wechat_template_announcement="TPL-ANNOUNCE") as d:
        await subscribe(d)
        rows = await announce(d, WeChatMpChannel(d.bridge.deliverers["wechat"]))
    assert [r.status for r in rows] == ["sent"]
    assert not fake.to(OPENID, "mp_template")
    [msg] = [m for m in fake.to(OPENID, "mp_custom") if "坐诊预告" in m.text]
    for shown in ("罗志明", "副主任医师", "心血管内科", "明溪县总医院", "就诊请带", "/unsubscribe"):
        assert shown in msg.text, shown


async def test_outside_48_hours_the_template_shows_expert_and_specialty_within_wechat_limits(
        fake, seeded_engine, tmp_path):
    """What a resident sees of a template since 2023: no first, no remark, typed fields with their own limits (the
    fake refuses a value over its field's limit with 47003, as WeChat does)."""
    settings = {"wechat_template_announcement": "TPL-ANNOUNCE", "public_url": "https://xz.example.cn"}
    async with await _driver(fake, seeded_engine, tmp_path, **settings) as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        mp.clock = lambda: time.time() + 49 * 3600  # two days and one hour after the resident last wrote
        rows = await announce(d, WeChatMpChannel(mp))
        cipher = d.app.settings.cipher()
        with d.app.uow() as uow:
            [aid] = {r.announcement_id for r in uow.outbox.rows()}
    assert [r.status for r in rows] == ["sent"]
    [tpl] = fake.to(OPENID, "mp_template")
    assert set(tpl.body["data"]) == {"thing1", "thing2", "time3", "thing4", "thing5"}
    for shown in ("罗志明 副主任医师", "心血管内科", "明溪县总医院", "雪峰镇"):
        assert shown in tpl.text, (shown, tpl.text)
    assert tpl.body["url"] == f"https://xz.example.cn/a/{page_ref(cipher, aid)}"


async def test_long_values_are_cut_at_a_word_boundary_and_the_link_is_left_out_without_a_public_url(
        fake, seeded_engine, tmp_path):
    fields = parse_fields("keyword1=title,thing2=expert,thing3=bring,date4=start,thing5=note")
    settings = {"wechat_template_announcement": "TPL-ANNOUNCE", "wechat_template_fields": fields}
    async with await _driver(fake, seeded_engine, tmp_path, **settings) as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        mp.clock = lambda: time.time() + 49 * 3600
        with d.app.uow() as uow:
            make_circuit(uow, experts=("S0003", "S0002", "S0001"))
            uow.commit()
        assert Announcer(d.app.uow, Clock(REMINDER_AT + timedelta(minutes=1))).sweep().fanned_out == 1
        await Sender(d.app.uow, [WeChatMpChannel(mp)], clock=Clock(REMINDER_AT + timedelta(minutes=2))).drain(15)
        with d.app.uow() as uow:
            rows = [r for r in uow.outbox.rows() if r.platform == "wechat"]
    assert [r.status for r in rows] == ["sent"]
    [tpl] = fake.to(OPENID, "mp_template")
    data = {k: v["value"] for k, v in tpl.body["data"].items()}
    assert data["keyword1"] == "坐诊预告" and data["thing3"] == "身份证、医保卡、病历、药盒"
    assert data["thing2"].endswith("等") and len(data["thing2"]) <= 20 and data["thing2"].startswith("周文静 ")
    assert data["thing5"] == "—"  # nothing changed: the field is not left empty
    assert "url" not in tpl.body or not tpl.body["url"]


def test_template_values_are_cut_after_a_whole_item():
    assert fit("罗志明 副主任医师、邱建华 主任医师、张三 主治医师", 20) == "罗志明 副主任医师、邱建华 主任医师等"
    assert len(fit("明溪县雪峰镇城东村卫生所（村委会旁边老祠堂二楼）", 20)) == 20
    assert fit("心血管内科", 20) == "心血管内科"
    with pytest.raises(ValueError, match="first"):
        parse_fields("first=title")
    with pytest.raises(ValueError, match="part"):
        parse_fields("thing1=resident_name")
    with pytest.raises(ValueError, match="cannot hold"):
        parse_fields("character_string1=hospital")
    with pytest.raises(ValueError, match="cannot hold"):
        parse_fields("thing1=start")


async def test_without_a_template_the_announcement_is_a_customer_service_message_inside_48_hours(
        fake, seeded_engine, tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path) as d:
        await subscribe(d)
        before = len(fake.to(OPENID, "mp_custom"))
        rows = await announce(d, WeChatMpChannel(d.bridge.deliverers["wechat"]))
    assert [r.status for r in rows] == ["sent"]
    assert len(fake.to(OPENID, "mp_custom")) == before + 1


async def test_outside_48_hours_the_outbox_records_not_deliverable_on_this_channel(fake, seeded_engine, tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path) as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        mp.clock = lambda: time.time() + 49 * 3600  # two days and one hour after the resident last wrote
        rows = await announce(d, WeChatMpChannel(mp))
    assert [(r.status, r.last_error) for r in rows] == [("permanent", NOT_DELIVERABLE)]
    assert not fake.to(OPENID, "mp_template")


async def test_a_typed_number_without_choices_shown_is_plain_text_and_a_reply_is_passive(fake, seeded_engine,
                                                                                          tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path) as d:
        r = await d.say(OPENID, "/help")
        assert "<Encrypt>" in r.body and d.screens[OPENID][-1].kind == "passive"
        await d.say(OPENID, "1")  # no numbered choices on screen: the handlers get the text "1"
        assert not d.saw(OPENID, "订阅成功")
        await d.event(OPENID, "unsubscribe")
        with d.app.uow() as uow:
            assert uow.chat.account("wechat", OPENID).blocked


async def test_the_public_page_behind_the_link_shows_the_whole_notice_to_anyone_and_nothing_personal(
        fake, seeded_engine, tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web.dashboard import DashboardServices, make_app

    async with await _driver(fake, seeded_engine, tmp_path) as d:
        await subscribe(d)
        await announce(d, WeChatMpChannel(d.bridge.deliverers["wechat"]))
        cipher = d.app.settings.cipher()
        with d.app.uow() as uow:
            [aid] = {r.announcement_id for r in uow.outbox.rows()}
        services = DashboardServices(uow=d.app.uow, clock=Clock(REMINDER_AT), cipher=cipher)
        async with TestClient(TestServer(make_app(services))) as client:
            page = await client.get(f"/a/{page_ref(cipher, aid)}", allow_redirects=False)  # no login
            text = await page.text()
            forged = await client.get(f"/a/{aid}-{'0' * 20}", allow_redirects=False)
            other = await client.get(f"/a/{page_ref(cipher, aid + 1000)}", allow_redirects=False)
            briefing = await client.get(f"/a/{page_ref(cipher, aid + 1)}", allow_redirects=False)
            dashboard = await client.get("/", allow_redirects=False)
    assert page.status == 200, text
    for shown in ("坐诊预告", "罗志明", "心血管内科", "明溪县总医院", "就诊请带"):
        assert shown in text, shown
    assert "/unsubscribe" not in text and "您的订单" not in text
    assert forged.status == 404 and other.status == 404  # a guessed or forged address shows nothing
    assert briefing.status == 404  # the experts' briefing of the same circuit (the next number) is no public notice
    assert dashboard.status == 303  # the rest of the server still needs a login


async def test_outside_48_hours_a_personal_question_rings_the_notice_template_and_comes_when_the_resident_writes(
        fake, seeded_engine, tmp_path):
    """A rating question a week after the resident last wrote: WeChat refuses a customer-service message then, so
    the notice template tells them something waits (typed fields, within their limits), and the question itself,
    with its numbered answers, arrives the moment they write back. Nothing is lost and nothing is sent twice."""
    import json

    async with await _driver(fake, seeded_engine, tmp_path, wechat_template_notice="TPL-NOTICE") as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        later = time.time() + 7 * 24 * 3600
        mp.clock = lambda: later
        question = "订单 XZ-20261123-0001 已就诊。请为这次巡诊服务打分（1 很差 … 5 很好）："
        with d.app.uow() as uow:
            acc = uow.chat.account("wechat", OPENID)
            buttons = json.dumps([[{"label": str(i), "data": f"t{i}"} for i in range(1, 6)]])
            uow.outbox.enqueue("wechat", OPENID, question, buttons, priority="reply", dedupe_key="rate:1",
                               account_id=acc.id, now=FIXED_NOW)
            uow.commit()
        before = len(fake.to(OPENID, "mp_custom"))
        await Sender(d.app.uow, [WeChatMpChannel(mp)], clock=Clock(FIXED_NOW)).drain(timeout=5)
        [bell] = fake.to(OPENID, "mp_template")
        assert bell.body["template_id"] == "TPL-NOTICE"
        data = {k: v["value"] for k, v in bell.body["data"].items()}
        assert data["thing1"].startswith("订单") and len(data["thing1"]) <= 20, data
        assert data["thing3"] == "回复任意文字查看全文"
        assert len(fake.to(OPENID, "mp_custom")) == before  # the window is shut: nothing else was tried
        with d.app.uow() as uow:
            assert [r.status for r in uow.outbox.rows() if r.dedupe_key == "rate:1"] == ["sent"]

        await d.say(OPENID, "你好")
        held = [m.text for m in fake.to(OPENID, "mp_custom")[before:]]
        assert held and held[0].startswith(question) and "回复 5" in held[0], held
        await d.say(OPENID, "在吗")
        assert sum(question in m.text for m in fake.to(OPENID, "mp_custom")) == 1  # once, not at every message


async def test_without_a_notice_template_a_personal_message_outside_48_hours_is_settled_not_deliverable(
        fake, seeded_engine, tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path) as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        mp.clock = lambda: time.time() + 7 * 24 * 3600
        with d.app.uow() as uow:
            acc = uow.chat.account("wechat", OPENID)
            uow.outbox.enqueue("wechat", OPENID, "您的就医需求已安排。", None, priority="reply", dedupe_key="n:1",
                               account_id=acc.id, now=FIXED_NOW)
            uow.commit()
        await Sender(d.app.uow, [WeChatMpChannel(mp)], clock=Clock(FIXED_NOW)).drain(timeout=5)
        with d.app.uow() as uow:
            [row] = [r for r in uow.outbox.rows() if r.dedupe_key == "n:1"]
    assert (row.status, row.last_error) == ("permanent", NOT_DELIVERABLE)
    assert not fake.to(OPENID, "mp_template")
