"""The survey template on WeCom (issue 19): the village doctor presses 下载模板 on /survey's card and gets the xlsx as
a WeCom file message (media/upload?type=file, then a file message), through the real adapter and the fake WeCom.

WeCom delivers no files to an app (its received message types are text, image, voice, video, location and link),
so a sheet is sent on Telegram, the local chat or by the administrator's command."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from bot.testing.fake_wechat import FakeWeChat
from handlers import FloodGuard
from tests.conftest import FIXED_NOW
from tests.telegram import test_telegram_adapters as adapters
from tests.wechat.wechat_driver import STAFF
from tests.wechat.wechat_driver import Driver as WeChatDriver

seeded_engine, matcher = adapters.seeded_engine, adapters.matcher


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


async def test_the_template_comes_as_a_wecom_file(wechat, seeded_engine, tmp_path, matcher):
    from openpyxl import load_workbook

    from bot.bootstrap import build_conversation
    from tests.wechat.wechat_driver import make_app, settings_for

    app = make_app(settings_for(wechat, seeded_engine, tmp_path), seeded_engine)
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
    async with WeChatDriver("wecom", app, conv, wechat) as staff:
        await staff.login("doctor", *STAFF["doctor"])
        await staff.say("doctor", "/survey")
        assert staff.saw("doctor", "企业微信应用收不到文件")  # where to send the filled sheet instead
        screens = staff.screens["doctor"]
        card = next(s for s in reversed(screens) if any("下载模板" in label for label, _ in s.buttons))
        key = next(k for label, k in card.buttons if "下载模板" in label)
        await staff.event("doctor", "template_card_event", EventKey=key, TaskId=card.body["template_card"]["task_id"],
                          CardType="button_interaction", ResponseCode="rc" + key[-8:])
    [sent] = wechat.to("doctor", "wecom_file")
    assert sent.filename.endswith(".xlsx")
    ws = load_workbook(io.BytesIO(sent.file)).active
    assert "知情同意日期" in [c.value for c in next(ws.iter_rows(max_row=1))]
