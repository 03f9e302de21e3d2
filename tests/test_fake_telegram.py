"""The fake Telegram Bot API server, driven by the real python-telegram-bot and aiogram clients."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import telegram
from aiogram import Bot as AiogramBot
from aiogram import Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import InlineKeyboardButton as AgButton
from aiogram.types import InlineKeyboardMarkup as AgMarkup
from aiogram.types import Message as AgMessage
from aiohttp import ClientSession, FormData, web
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.testing.fake_telegram import FakeTelegram, ManualClock, RateLimits

USER = 4201
OTHER = 4202
GROUP = -1001234


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) whenever RetryAfter is built unless durations are opted in to timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=clock, known_chats={USER, OTHER, GROUP}) as server:
        yield server


@pytest.fixture
async def ptb(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    # PTB appends the token to base_url itself, so the base ends in "/bot".
    async with telegram.Bot(fake.token, base_url=f"{fake.root_url}/bot") as bot:
        yield bot


@pytest.fixture
async def ag(fake: FakeTelegram) -> AsyncIterator[AiogramBot]:
    bot = AiogramBot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.root_url)))
    yield bot
    await bot.session.close()


async def raw(fake: FakeTelegram, method: str, token: str | None = None, **params: Any) -> tuple[int, dict]:
    """A plain JSON POST, for protocol details the libraries hide."""
    async with (
        ClientSession() as http,
        http.post(f"{fake.root_url}/bot{token or fake.token}/{method}", json=params) as resp,
    ):
        return resp.status, await resp.json()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


# ---------------------------------------------------------------- python-telegram-bot Bot


async def test_ptb_sends_a_message_with_buttons_and_edits_it_in_place(fake: FakeTelegram, ptb: telegram.Bot):
    first = await ptb.send_message(
        USER, "<b>新订单</b> 123", parse_mode="HTML", reply_markup=keyboard(("确认", "ok:1"))
    )
    second = await ptb.send_message(USER, "123")  # form-encoded: text must stay a string
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == USER and first.from_user.id == ptb.id and first.text == "新订单 123"
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "ok:1"
    assert second.text == "123"

    edited = await ptb.edit_message_text("已确认", chat_id=USER, message_id=first.message_id)
    assert edited.text == "已确认" and edited.edit_date is not None
    await ptb.edit_message_reply_markup(USER, first.message_id, reply_markup=keyboard(("撤销", "undo:1")))

    record = fake.sent(USER)[0]
    assert record.text == "已确认" and record.callback_data_for("撤销") == "undo:1"
    assert [(v.text, v.parse_mode) for v in record.edits] == [("<b>新订单</b> 123", "HTML"), ("已确认", None)]
    assert [m.text for m in fake.sent(USER)] == ["已确认", "123"]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        same = keyboard(("撤销", "undo:1"))
        await ptb.edit_message_text("已确认", chat_id=USER, message_id=first.message_id, reply_markup=same)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await ptb.edit_message_text("x", chat_id=USER, message_id=99)


async def test_ptb_get_updates_confirms_with_offset_and_answers_a_button_press(fake: FakeTelegram, ptb: telegram.Bot):
    sent = await ptb.send_message(USER, "选择", reply_markup=keyboard(("是", "yes"), ("否", "no")))
    first = fake.user_message(USER, "/start village-7", username="doc")
    second = fake.press_button(USER, sent.message_id, "yes")
    assert second == first + 1

    updates = await ptb.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message.text == "/start village-7" and updates[0].message.entities[0].length == len("/start")
    query = updates[1].callback_query
    assert query.data == "yes" and query.message.message_id == sent.message_id and query.message.text == "选择"
    assert await ptb.answer_callback_query(query.id, text="好的")
    assert [(a.user_id, a.text) for a in fake.answered_callbacks] == [(USER, "好的")]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await ptb.answer_callback_query(query.id)

    assert [u.update_id for u in await ptb.get_updates(offset=second)] == [second]  # confirms only `first`
    assert await ptb.get_updates(offset=second + 1) == ()
    assert fake.pending_updates == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(fake: FakeTelegram, ptb: telegram.Bot):
    poll = asyncio.create_task(ptb.get_updates(timeout=5))
    await fake.wait_for_calls("getUpdates", 1)
    started = time.monotonic()
    fake.user_message(USER, "你好")
    updates = await poll
    assert [u.message.text for u in updates] == ["你好"]
    assert time.monotonic() - started < 1.0


async def test_get_updates_limit_and_negative_offset(fake: FakeTelegram):
    ids = [fake.user_message(USER, f"m{i}") for i in range(5)]
    status, body = await raw(fake, "getUpdates", limit=2)
    assert status == 200 and [u["update_id"] for u in body["result"]] == ids[:2]
    _, body = await raw(fake, "getUpdates", offset=-1)
    assert [u["update_id"] for u in body["result"]] == ids[-1:]
    assert len(fake.pending_updates) == 1


async def test_a_forged_duplicate_update_is_delivered_again(fake: FakeTelegram, ptb: telegram.Bot):
    first = fake.user_message(USER, "一")
    [update] = await ptb.get_updates()
    await ptb.get_updates(offset=first + 1)
    assert fake.inject_update(update.to_dict()) == first
    assert [u.update_id for u in await ptb.get_updates(offset=first + 1)] == [first]
    assert await ptb.get_updates(offset=first + 1) == ()
    assert fake.inject_update({"message": {"bogus": True}}) == first + 1  # forged payloads go through as-is


async def test_commands_are_stored_per_scope_and_language(fake: FakeTelegram, ptb: telegram.Bot):
    await ptb.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await ptb.set_my_commands([BotCommand("approve", "审批")], scope=BotCommandScopeChat(USER), language_code="zh")

    assert [c.command for c in await ptb.get_my_commands()] == ["start", "help"]
    assert [c.command for c in await ptb.get_my_commands(scope=BotCommandScopeChat(USER), language_code="zh")] == [
        "approve"
    ]
    assert await ptb.get_my_commands(scope=BotCommandScopeChat(USER)) == ()
    assert fake.commands_for({"type": "chat", "chat_id": USER}, "zh") == [{"command": "approve", "description": "审批"}]
    assert set(fake.commands) == {(("default",), ""), (("chat", USER), "zh")}

    await ptb.delete_my_commands(scope=BotCommandScopeChat(USER), language_code="zh")
    assert set(fake.commands) == {(("default",), "")}
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await ptb.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chat_action_and_harmless_close(ptb: telegram.Bot, fake: FakeTelegram):
    assert await ptb.send_chat_action(USER, "typing")
    assert await ptb.log_out() and await ptb.close()
    assert [c.method for c in fake.all_calls][-3:] == ["sendChatAction", "logOut", "close"]


# ---------------------------------------------------------------- frameworks polling


async def test_ptb_application_polls_and_replies(fake: FakeTelegram):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"欢迎 {' '.join(context.args or [])}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"收到: {update.message.text}")

    app = Application.builder().token(fake.token).base_url(f"{fake.root_url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.user_message(OTHER, "/start village-7")
        fake.user_message(OTHER, "头痛三天")
        messages = await fake.wait_for_messages(OTHER, 2)
        await app.updater.stop()
        await app.stop()
    assert [m.text for m in messages] == ["欢迎 village-7", "收到: 头痛三天"]
    assert fake.calls("deleteWebhook") and fake.calls("getMe")


async def test_aiogram_dispatcher_polls_and_replies(fake: FakeTelegram):
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: AgMessage, command: CommandObject) -> None:
        markup = AgMarkup(inline_keyboard=[[AgButton(text="确认", callback_data="ok:1")]])
        await message.answer(f"欢迎 {command.args}", reply_markup=markup)

    bot = AiogramBot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.root_url)))
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        fake.user_message(OTHER, "/start 7")
        [message] = await fake.wait_for_messages(OTHER, 1)
    finally:
        await dp.stop_polling()
        await polling  # closes the bot session
    assert message.text == "欢迎 7" and message.callback_data_for("确认") == "ok:1"


# ---------------------------------------------------------------- webhook


async def test_webhook_delivers_with_secret_retries_and_blocks_get_updates(fake: FakeTelegram, ptb: telegram.Bot):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(received) == 1:
            return web.Response(status=500)  # Telegram retries non-2xx answers
        # A method call in the reply body is executed, as Telegram does.
        return web.json_response({"method": "sendMessage", "chat_id": USER, "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await ptb.set_webhook(url, secret_token="s3cr3t-token")
        update_id = fake.user_message(USER, "ping")
        await fake.wait_for_messages(USER, 1)

        assert [secret for secret, _ in received] == ["s3cr3t-token", "s3cr3t-token"]
        assert {body["update_id"] for _, body in received} == {update_id}
        assert [(d.attempt, d.status) for d in fake.webhook_deliveries] == [(1, 500), (2, 200)]
        assert fake.last_message(USER).text == "pong"
        info = await ptb.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0 and "500" in info.last_error_message
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await ptb.get_updates()

        assert await ptb.delete_webhook()
        fake.user_message(USER, "after")
        assert [u.message.text for u in await ptb.get_updates()] == ["after"]
    finally:
        await runner.cleanup()


async def test_webhook_gives_up_after_the_configured_attempts(fake: FakeTelegram, ag: AiogramBot):
    await ag.set_webhook("http://127.0.0.1:9/unreachable")  # discard port: connection refused
    fake.user_message(USER, "lost")
    assert await fake.wait_for(lambda: not fake.pending_updates, 5)
    assert [d.attempt for d in fake.webhook_deliveries] == [1, 2, 3]
    assert (await ag.get_webhook_info()).last_error_message.startswith("Connection failed")


# ---------------------------------------------------------------- faults


async def test_retry_after_surfaces_in_both_libraries(fake: FakeTelegram, ptb: telegram.Bot, ag: AiogramBot):
    fake.fail_next("sendMessage", chat_id=USER, retry_after=7)
    with pytest.raises(RetryAfter) as ptb_error:
        await ptb.send_message(USER, "一")
    assert ptb_error.value.retry_after == timedelta(seconds=7)

    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as ag_error:
        await ag.send_message(OTHER, "二")
    assert ag_error.value.retry_after == 3
    assert fake.sent() == []


async def test_retrying_before_retry_after_elapsed_is_recorded(
    fake: FakeTelegram, ptb: telegram.Bot, clock: ManualClock
):
    fake.fail_next("sendMessage", chat_id=USER, retry_after=5)
    with pytest.raises(RetryAfter):
        await ptb.send_message(USER, "一")
    await ptb.send_message(OTHER, "别的聊天不受影响")
    clock.advance(2)
    await ptb.send_message(USER, "太早")
    clock.advance(3)
    await ptb.send_message(USER, "可以了")
    [early] = fake.early_retries()
    assert (early.chat_id, early.retry_after, early.allowed_at - early.at) == (USER, 5, 3)
    assert "before retry_after=5 elapsed" in str(early)


async def test_blocked_user_is_forbidden_in_both_libraries(fake: FakeTelegram, ptb: telegram.Bot, ag: AiogramBot):
    fake.block(USER)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await ptb.send_message(USER, "hi")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await ag.send_message(USER, "hi")
    fake.unblock(USER)
    assert (await ag.send_message(USER, "hi")).message_id == 1


async def test_unknown_chat_is_a_bad_request_until_it_writes_to_the_bot(
    fake: FakeTelegram, ptb: telegram.Bot, ag: AiogramBot
):
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):  # PTB capitalises descriptions
        await ptb.send_message(777, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await ag.send_message(777, "hi")
    fake.user_message(777, "你好")
    assert (await ptb.send_message(777, "hi")).chat.id == 777


async def test_server_errors_and_slow_responses(fake: FakeTelegram, ptb: telegram.Bot, ag: AiogramBot):
    fake.fail_next("sendMessage", error_code=502, times=2)
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await ptb.send_message(USER, "hi")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await ag.send_message(USER, "hi")
    fake.delay("getMe", 0.2)
    started = time.monotonic()
    await ag.get_me()
    assert time.monotonic() - started >= 0.2


async def test_callback_data_over_64_bytes_is_rejected(ptb: telegram.Bot, ag: AiogramBot, fake: FakeTelegram):
    too_long = "订" * 22  # 66 bytes in UTF-8
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await ptb.send_message(USER, "x", reply_markup=keyboard(("a", too_long)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        markup = AgMarkup(inline_keyboard=[[AgButton(text="a", callback_data=too_long)]])
        await ag.send_message(USER, "x", reply_markup=markup)
    await ptb.send_message(USER, "x", reply_markup=keyboard(("a", "订" * 21)))  # 63 bytes is fine


async def test_text_validation(ptb: telegram.Bot):
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await ptb.send_message(USER, "字" * 4097)
    await ptb.send_message(USER, "<b>" + "字" * 4096 + "</b>", parse_mode="HTML")  # tags do not count
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await ptb.send_message(USER, "血压 <140/90>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await ptb.send_message(USER, "   ")


async def test_wrong_token_unknown_method_and_request_encodings(fake: FakeTelegram, ag: AiogramBot):
    with pytest.raises(InvalidToken):
        async with telegram.Bot("1:wrong", base_url=f"{fake.root_url}/bot"):
            pass
    bad = AiogramBot("1:wrong", session=AiohttpSession(api=TelegramAPIServer.from_base(fake.root_url)))
    with pytest.raises(TelegramUnauthorizedError):
        await bad.get_me()
    await bad.session.close()

    assert await raw(fake, "noSuchMethod") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert (await raw(fake, "getMe", token="1:wrong"))[0] == 401
    status, body = await raw(fake, "sendmessage", chat_id=str(USER), text="json", reply_markup={"inline_keyboard": []})
    assert status == 200 and body["result"]["text"] == "json"
    async with ClientSession() as http, http.get(f"{fake.root_url}/bot{fake.token}/getMe?x=1") as resp:
        assert (await resp.json())["result"]["username"] == "xunzhen_fake_bot"
    await ag.send_message(
        USER, "form", reply_markup=AgMarkup(inline_keyboard=[[AgButton(text="a", callback_data="b")]])
    )
    assert fake.last_message(USER).reply_markup == {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}

    form = FormData({"chat_id": str(USER), "text": "multipart", "reply_markup": '{"inline_keyboard": []}'})
    form.add_field("thumbnail", b"\x89PNG", filename="t.png")  # a file part forces multipart/form-data
    async with ClientSession() as http, http.post(f"{fake.root_url}/bot{fake.token}/sendMessage", data=form) as resp:
        assert resp.status == 200 and (await resp.json())["result"]["text"] == "multipart"
    assert fake.all_calls[-1].params["thumbnail"] == {"file": "t.png"}


async def test_send_photo_takes_an_uploaded_png_or_jpg_with_a_caption_from_either_library(fake, ptb, ag):
    from aiogram.types import BufferedInputFile

    from bot.delivery.qr import draw_png

    png = draw_png("http://weixin.qq.com/q/02abc")
    sent = await ptb.send_photo(USER, png, caption="<b>二维码</b>", parse_mode="HTML", filename="qr.png")
    assert sent.caption == "二维码" and sent.photo[-1].width == sent.photo[-1].height > 0
    await ag.send_photo(OTHER, BufferedInputFile(png, filename="qr.png"), caption="扫一扫")  # attach://
    assert fake.last_message(USER).photo == png and fake.last_message(OTHER).photo == png
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await ptb.send_photo(USER, b"GIF89a not a png", filename="x.gif")
    with pytest.raises(BadRequest, match="caption is too long"):
        await ptb.send_photo(USER, png, caption="长" * 1025)
    with pytest.raises(TelegramBadRequest, match="no photo"):
        await ag.send_photo(USER, "http://example.com/a.png")  # a URL or file_id is not modelled
    state = json.loads(json.dumps(fake.state()))  # the control API's state stays JSON
    assert f"<{len(png)} bytes>" in [m["photo"] for m in state["sent"]]


# ---------------------------------------------------------------- rate limits


async def test_three_quick_sends_to_one_chat_are_violations(fake: FakeTelegram, ptb: telegram.Bot, clock: ManualClock):
    for _ in range(3):
        await ptb.send_message(USER, "快")
        clock.advance(0.3)
    violations = fake.violations()
    assert [(v.rule, v.chat_id) for v in violations] == [("private_chat", USER)] * 2
    assert violations[0].span == pytest.approx(0.3)
    assert str(violations[0]).startswith(f"private_chat: 2 sends in chat {USER} within 0.300 s (limit 1 per 1 s)")


async def test_properly_spaced_sends_are_no_violation(fake: FakeTelegram, ptb: telegram.Bot, clock: ManualClock):
    sent = await ptb.send_message(USER, "一")
    clock.advance(1.0)
    await ptb.edit_message_text("二", chat_id=USER, message_id=sent.message_id)
    clock.advance(1.0)
    await ptb.send_message(USER, "三")
    fake.add_known_chats(*range(10_000, 10_029))
    for chat in range(10_000, 10_029):  # with "三", 30 sends in one instant: the overall maximum
        await ptb.send_message(chat, "广播")
    assert fake.violations() == []
    assert len(fake.send_log) == 32


async def test_overall_and_group_limits(fake: FakeTelegram, ptb: telegram.Bot, clock: ManualClock):
    fake.add_known_chats(*range(20_000, 20_031))
    for chat in range(20_000, 20_031):
        await ptb.send_message(chat, "广播")
    assert [v.rule for v in fake.violations()] == ["global"]

    clock.advance(10)
    for _ in range(21):
        await ptb.send_message(GROUP, "群")
        clock.advance(2.0)  # 21 sends in 40 s
    assert [v.rule for v in fake.violations()][1:] == ["group_chat"]


async def test_tolerance_forgives_clock_jitter(clock: ManualClock):
    async with FakeTelegram(clock=clock, known_chats={USER}, limits=RateLimits(tolerance=0.05)) as fake:
        await raw(fake, "sendMessage", chat_id=USER, text="一")
        clock.advance(0.97)
        await raw(fake, "sendMessage", chat_id=USER, text="二")
        assert fake.violations() == []


async def test_enforced_limits_answer_429_instead_of_accepting(clock: ManualClock):
    async with FakeTelegram(clock=clock, known_chats={USER}, enforce_limits=True) as fake:
        assert (await raw(fake, "sendMessage", chat_id=USER, text="一"))[0] == 200
        clock.advance(0.2)
        status, body = await raw(fake, "sendMessage", chat_id=USER, text="二")
        assert (status, body["parameters"]["retry_after"]) == (429, 1)
        clock.advance(1.0)  # retry_after is whole seconds: waiting only the 0.8 s needed would be early
        assert (await raw(fake, "sendMessage", chat_id=USER, text="二"))[0] == 200
        assert fake.violations() == [] and fake.early_retries() == []


async def test_429_storm_is_a_token_bucket(fake: FakeTelegram, ag: AiogramBot, clock: ManualClock):
    fake.storm(rate=0.5, burst=2)
    await ag.send_message(USER, "一")
    await ag.send_message(OTHER, "二")
    with pytest.raises(TelegramRetryAfter) as error:
        await ag.send_message(USER, "三")
    assert error.value.retry_after == 2
    clock.advance(2)
    await ag.send_message(USER, "三")
    fake.calm()
    await ag.send_message(OTHER, "四")
    assert len(fake.sent()) == 4


# ---------------------------------------------------------------- other ways to run it


async def test_control_api_for_a_fake_in_another_process(fake: FakeTelegram, ptb: telegram.Bot):
    async with ClientSession() as http:
        async with http.post(f"{fake.root_url}/_fake/user_message", json={"user_id": USER, "text": "远程"}) as resp:
            update_id = (await resp.json())["result"]
        await ptb.send_message(USER, "回复")
        async with http.get(f"{fake.root_url}/_fake/state") as resp:
            state = await resp.json()
    assert state["pending_updates"][0]["update_id"] == update_id
    assert [m["text"] for m in state["sent"]] == ["回复"]


def test_run_in_thread_serves_synchronous_clients():
    with FakeTelegram.run_in_thread(known_chats={USER}) as handle:
        request = urllib.request.Request(
            f"{handle.root_url}/bot{handle.fake.token}/sendMessage",
            data=json.dumps({"chat_id": USER, "text": "同步"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["result"]["message_id"] == 1
        assert [m.text for m in handle.wait_for_messages(USER, 1)] == ["同步"]
        handle.fake.user_message(USER, "hi")
        assert len(handle.fake.pending_updates) == 1


def test_runs_standalone_as_a_module():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.testing.fake_telegram", "--port", "0", "--known-chat", str(USER)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"on (\S+)\s+token=(\S+)", proc.stdout.readline())
        assert match is not None
        root, token = match.groups()
        with urllib.request.urlopen(f"{root}/bot{token}/getMe", timeout=5) as response:
            assert json.load(response)["ok"] is True
    finally:
        proc.terminate()
        proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
