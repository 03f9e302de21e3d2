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
from handlers import FloodGuard
from handlers.announcements import Announcer
from tests.circuits.circuit_helpers import REMINDER_AT, VILLAGE, make_circuit
from tests.conftest import FIXED_NOW, _engine_for
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


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database, SQLite only here."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


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


async def test_a_resident_subscribes_with_numbered_replies_and_gets_the_announcement_as_template(
        fake, seeded_engine, tmp_path):
    async with await _driver(fake, seeded_engine, tmp_path, wechat_template_announcement="TPL-ANNOUNCE") as d:
        await subscribe(d)
        mp = d.bridge.deliverers["wechat"]
        rows = await announce(d, WeChatMpChannel(mp))
    assert [r.status for r in rows] == ["sent"]
    [tpl] = fake.to(OPENID, "mp_template")
    assert tpl.body["template_id"] == "TPL-ANNOUNCE"
    assert "巡诊" in tpl.text or "坐诊" in tpl.text, tpl.text


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
