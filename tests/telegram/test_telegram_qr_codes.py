"""A village doctor on Telegram gets the Official Account's QR code as a photo (issue 17), through both adapters and
the fake Bot API, with the fake WeChat servers as the Official Account."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest

from bot.testing.fake_wechat import FakeWeChat
from tests.telegram import test_telegram_adapters as adapters
from tests.telegram.test_telegram_adapters import USERS, Driver, file_order
from tests.wechat.test_wechat_qr_codes import decoded

# The adapter tests' fixtures: the fake Bot API, the seeded SQLite database, the matcher, PTB's timedelta switch.
fake, seeded_engine = adapters.fake, adapters.seeded_engine
matcher, ptb_timedelta = adapters.matcher, adapters.ptb_timedelta


@pytest.fixture
async def oa() -> AsyncIterator[FakeWeChat]:
    async with FakeWeChat() as server:
        yield server


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_village_doctor_on_telegram_gets_the_link_as_a_photo_of_the_accounts_qr_code(
        fake, oa, seeded_engine, tmp_path, matcher, kind):
    d = Driver(fake, seeded_engine, tmp_path, matcher, wechat_app_id=oa.app_id, wechat_secret=oa.app_secret,
               wechat_api_base_url=oa.root_url)
    await d.start(kind, "polling")
    try:
        await d.bind("doctor")
        number = await file_order(d)
        await d.say("doctor", f"/link {number}")
        sent = fake.sent(USERS["doctor"])
    finally:
        await d.stop()
    photos = [m for m in sent if m.photo is not None]
    assert len(photos) == 2  # after filing, and the new link
    assert sent[-1] is photos[-1] and "/start r_" in html.unescape(sent[-2].text)  # the text, then its photo
    assert html.unescape(photos[-1].text).startswith("居民关联二维码")  # the caption, without the resident's name
    assert "邱瑞鹏" not in photos[-1].text
    first, second = (oa.qr_codes[decoded(p.photo)] for p in photos)
    assert first.scene != second.scene and second.expire_seconds == 7 * 24 * 3600
    assert second.scene.removeprefix("r_") in html.unescape(sent[-2].text)  # the photo is the link the text names


async def test_without_an_official_account_telegram_gets_text_alone(fake, seeded_engine, tmp_path, matcher):
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    await d.start("ptb", "polling")
    try:
        await d.bind("doctor")
        await d.say("doctor", "/qr")
    finally:
        await d.stop()
    assert not [m for m in fake.sent(USERS["doctor"]) if m.photo is not None]
    text = d.last("doctor")
    assert "https://t.me/xunzhen_fake_bot?start=v_350421101001" in text and "二维码" not in text
