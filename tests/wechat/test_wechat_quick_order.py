"""The one-message order (issue 18) through the WeChat transports: WeCom cards and the Official Account's numbered
lines, and the Official Account's voice messages (WeChat's speech recognition, shown back before it counts).

SQLite only: this is about the transports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import build_conversation
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.wechat.work import LABEL_LIMIT
from handlers import FloodGuard
from tests.conftest import FIXED_NOW, _engine_for
from tests.wechat.wechat_driver import STAFF, Driver, make_app, settings_for

LINE = "邱瑞鹏 男 1942 胸闷气短两周，想看心内科"


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


def _conversation(fake, engine, tmp_path, matcher):
    app = make_app(settings_for(fake, engine, tmp_path), engine)
    return app, build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))


def order_count(app) -> int:
    with app.uow() as uow:
        return sum(uow.orders.count_by_status().values())


async def test_a_wecom_village_doctor_files_in_one_line_and_two_presses_with_short_labels(fake, seeded_engine,
                                                                                         tmp_path, matcher):
    app, conv = _conversation(fake, seeded_engine, tmp_path, matcher)
    async with Driver("wecom", app, conv, fake) as d:
        await d.login("doctor", *STAFF["doctor"])
        await d.say("doctor", LINE)
        shown = d.screens["doctor"]
        assert any("心血管内科（依据：胸闷气短）" in s.text for s in shown)
        labels = [label for s in shown for label, _key in s.buttons]
        assert "居民已同意" in labels and all(len(label) <= LABEL_LIMIT for label in labels), labels
        await d.press("doctor", "居民已同意")
        await d.press("doctor", "确认提交")
        assert d.saw("doctor", "已提交，订单号")
        assert order_count(app) == 1


async def test_an_official_account_voice_message_is_shown_back_then_filed(fake, seeded_engine, tmp_path, matcher):
    app, conv = _conversation(fake, seeded_engine, tmp_path, matcher)
    async with Driver("wechat", app, conv, fake) as d:
        await d.login("doctor", *STAFF["doctor"])
        await d.voice("doctor", LINE)
        assert d.saw("doctor", "语音识别为") and d.saw("doctor", LINE) and d.saw("doctor", "回复 1 对，就是这样")
        assert order_count(app) == 0  # nothing acted on until the doctor says the words are right
        await d.press("doctor", "对，就是这样")
        assert d.saw("doctor", "心血管内科（依据：胸闷气短）")
        await d.press("doctor", "居民已同意")
        await d.press("doctor", "确认提交")
        assert d.saw("doctor", "已提交，订单号") and order_count(app) == 1


async def test_a_voice_message_without_recognition_asks_to_type(fake, seeded_engine, tmp_path, matcher):
    app, conv = _conversation(fake, seeded_engine, tmp_path, matcher)
    async with Driver("wechat", app, conv, fake) as d:
        await d.login("doctor", *STAFF["doctor"])
        await d.voice("doctor", None)
        assert d.saw("doctor", "请直接打字")
    async with Driver("wecom", app, conv, fake) as w:
        await w.login("doctor", *STAFF["doctor"])
        await w.voice("doctor", None)
        assert w.saw("doctor", "请直接打字")
