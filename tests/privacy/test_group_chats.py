"""Group chats get "请私聊我" and nothing else; a person's notifications never follow them into a group.

Played as an attacker would: through the real Telegram libraries against the fake Bot API (both adapters), a
WeCom group message as a signed, encrypted callback, and the conversation itself; on both databases.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest

from bot.testing.fake_telegram import FakeTelegram
from handlers import Inbound
from tests.conftest import FIXED_NOW
from tests.handlers.test_order_lifecycle import file_order
from tests.telegram.test_telegram_adapters import USERS, Driver
from tests.wechat.wechat_driver import Driver as WeChatDriver
from tests.wechat.wechat_driver import make_app, settings_for

GROUP = -100777  # a Telegram group both the township reviewer and the bot are in
PRIVATE_ONLY = "请私聊我"
RESIDENT = "邱瑞鹏"


@pytest.fixture
async def telegram(fake, seeded_engine, tmp_path, matcher) -> AsyncIterator[Driver]:
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    yield d
    await d.stop()


def group_texts(fake: FakeTelegram) -> list[str]:
    return [html.unescape(m.text) for m in fake.sent(GROUP)]


async def in_group(d: Driver, user: str, text: str) -> None:
    d.fake.user_message(USERS[user], text, chat_id=GROUP, first_name=user, chat_title="雪峰镇工作群")
    await d.settle()


async def file_over_telegram(d: Driver) -> str:
    """The village doctor files an order for 邱瑞鹏 in their private chat; returns its number."""
    await d.say("doctor", "/new")
    await d.say("doctor", "邱")
    await d.press("doctor", RESIDENT)
    if "居民是否同意" in d.last("doctor"):
        await d.press("doctor", "居民已同意")
    await d.say("doctor", "膝盖疼了两个月，上下楼梯加重，想看骨科")
    if "120" in d.last("doctor"):
        await d.press("doctor", "不是急症")
    first = d.fake.sent(USERS["doctor"])[-1].buttons[0]["text"]
    await d.press("doctor", first)
    await d.press("doctor", "常规")
    await d.press("doctor", "完成")
    await d.press("doctor", "确认提交")
    text = d.last("doctor")
    assert "订单号 " in text, text
    return text.split("订单号 ")[1].split("。")[0]


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_command_in_a_telegram_group_gets_only_private_only_and_notifications_stay_private(
        telegram: Driver, fake: FakeTelegram, kind):
    d = telegram
    await d.start(kind, "polling")
    await d.bind("doctor", "township")
    await in_group(d, "township", "/pending")
    await in_group(d, "township", "/pending@xunzhen_bot")
    await in_group(d, "township", "/help")
    assert group_texts(fake) == [group_texts(fake)[0]] * 3 and PRIVATE_ONLY in group_texts(fake)[0]
    # The group message did not move where the township reviewer's notifications go.
    assert d.account("township").chat_id == str(USERS["township"])

    number = await file_over_telegram(d)
    private = d.texts("township")
    assert any(number in t and "待初审" in t for t in private), private
    assert all(number not in t and RESIDENT not in t for t in group_texts(fake))
    assert len(group_texts(fake)) == 3

    with d.app.uow() as uow:
        refused = [e for e in uow.audit.recent(50, action="refused") if e.reason == "not_private_chat"]
    assert len(refused) == 3 and all(e.entity_id == str(GROUP) for e in refused)
    assert {e.detail.get("chat_type") for e in refused} == {"supergroup"} or {
        e.detail.get("chat_type") for e in refused} == {"group"}


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_pending_in_a_group_shows_no_resident_and_a_pressed_group_button_does_nothing(
        telegram: Driver, fake: FakeTelegram, kind):
    d = telegram
    await d.start(kind, "polling")
    await d.bind("doctor", "township")
    number = await file_over_telegram(d)
    await in_group(d, "township", "/pending")
    assert all(RESIDENT not in t and number not in t for t in group_texts(fake))
    # The bot's one message in the group has no buttons; a forged press from the group is refused the same way.
    assert all(not m.buttons for m in fake.sent(GROUP))
    await d.say("township", "/pending")
    msg, data = d.find("township", "批准")
    fake.inject_update({"callback_query": {
        "id": "77", "from": {"id": USERS["township"], "is_bot": False, "first_name": "township"},
        "chat_instance": "1", "data": data,
        "message": {"message_id": msg.message_id, "date": 0, "text": "x",
                    "chat": {"id": GROUP, "type": "supergroup", "title": "雪峰镇工作群"}}}})
    await d.settle()
    assert d.order(number).status.value == "submitted"
    assert [t for t in group_texts(fake) if PRIVATE_ONLY not in t] == []


def test_a_group_message_through_the_conversation_creates_no_account_and_runs_no_handler(chat, cast, app):
    outs = chat.send(Inbound("test", "stranger", "-42", text="/start v_350421101001", update_id="g1",
                             chat_type="group"))
    assert [o.text for o in outs] == [outs[0].text] and PRIVATE_ONLY in outs[0].text
    with app.uow() as uow:
        assert uow.chat.account("test", "stranger") is None
    # A chat labelled private but not addressed by the user's own id is not trusted as private either.
    outs = chat.send(Inbound("test", "township", "-42", text="/pending", update_id="g2"))
    assert len(outs) == 1 and PRIVATE_ONLY in outs[0].text
    with app.uow() as uow:
        assert uow.chat.account("test", "township").chat_id == "township"


def test_a_notification_goes_to_the_private_chat_even_if_an_old_row_points_at_a_group(chat, cast, app):
    # Before the fix a group message moved the stored chat id; such a row must not carry data to the group.
    with app.uow() as uow:
        acc = uow.chat.account("test", "township")
        acc.chat_id = "-42"
        uow.chat.save(acc)
        uow.commit()
    number = file_order(chat)
    assert any(number in t for t in chat.texts("township"))
    assert chat.texts("-42") == []


@pytest.fixture
async def wecom(seeded_engine, tmp_path, matcher) -> AsyncIterator[WeChatDriver]:
    from bot.bootstrap import build_conversation
    from bot.testing.fake_wechat import FakeWeChat
    from handlers import FloodGuard

    async with FakeWeChat() as fake:
        app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
        conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
        async with WeChatDriver("wecom", app, conv, fake) as d:
            yield d


async def test_a_wecom_group_message_gets_only_private_only(wecom: WeChatDriver):
    from tests.wechat.wechat_driver import STAFF

    d = wecom
    await d.login("township", *STAFF["township"])
    before = len(d.fake.sent)
    b = d.builder
    fields = b.base("township", "text") | {"Content": "/pending", "MsgId": 990001, "ChatId": "wrGroup001",
                                            "ChatType": "group"}
    r = await d.post(*b.seal(b.inner_xml(fields)))
    await d.settle()
    assert r.status == 200
    replies = [d.builder.open_reply(r.body, r.query)["Content"]] if r.body not in ("", "success") else []
    replies += [s.text for s in d.fake.sent[before:]]
    assert replies and all(PRIVATE_ONLY in t for t in replies), replies
    assert not any(s.to == "township" for s in d.fake.sent[before:])
    with d.app.uow() as uow:
        assert uow.chat.account("wecom", "township").chat_id == "township"
        refused = [e for e in uow.audit.recent(20, action="refused") if e.reason == "not_private_chat"]
    assert refused and refused[0].detail["platform"] == "wecom"
