"""Both Telegram adapters end to end: real PTB and aiogram code, real HTTP to the fake Bot API, real handlers.

Runs on SQLite only (the storage contract suite covers PostgreSQL; these tests are about the adapters):
``seeded_engine`` is overridden here with the "sqlite" parameter only.
"""

from __future__ import annotations

import asyncio
import html
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.bootstrap import App, build_conversation
from bot.config import Settings
from bot.testing.fake_telegram import FakeTelegram, RecordedMessage
from bot.transports.serving import ChatQueues
from bot.transports.telegram.aiogram import AiogramAdapter
from bot.transports.telegram.bridge import (
    MENUS,
    SECRET_HEADER,
    escape,
    render,
    secret_status,
)
from bot.transports.telegram.ptb import PtbAdapter
from domain.orders import OrderStatus
from domain.staff import Role
from handlers import Button, FloodGuard, Outbound
from handlers.onboarding import create_invite
from storage.uow import uow_factory
from tests.conftest import FIXED_NOW, TEST_KEY, _engine_for

USERS = {"doctor": 1001, "township": 1002, "hospital": 1003, "cardiologist": 1004, "admin": 1005,
         "resident": 2001}
STAFF = {
    "doctor": ("S0006", Role.VILLAGE_DOCTOR),
    "township": ("S0005", Role.TOWNSHIP_REVIEWER),
    "hospital": ("S0002", Role.HOSPITAL_REVIEWER),
    "cardiologist": ("S0003", Role.EXPERT),
    "admin": ("S0001", Role.ADMIN),
}
VILLAGE = "350421101001"
# Characters that must be escaped for parse_mode=HTML; the fake refuses unescaped "<" like Telegram does.
NEED = "老人心口疼，胸闷气短，走路就喘，血压<160/95> & 心慌"
ADAPTERS: dict[str, Callable[..., Any]] = {"ptb": PtbAdapter, "aiogram": AiogramAdapter}
COMBOS = [("ptb", "polling"), ("ptb", "webhook"), ("aiogram", "polling"), ("aiogram", "webhook")]


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) whenever RetryAfter is built unless durations are opted in to timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database, SQLite only here (the storage contract suite covers PostgreSQL)."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    """Users typing and pressing in the fake's chats; waits until the adapter has handled each update."""

    def __init__(self, fake: FakeTelegram, engine: Any, tmp_path: Any, matcher: Any, **settings: Any) -> None:
        self.fake = fake
        self.settings = Settings(var_dir=tmp_path, database_url=str(engine.url), secret_key=TEST_KEY, log_level="INFO",
                                 transport="ptb", telegram_token=fake.token, telegram_api_base_url=fake.root_url,
                                 **settings)
        self.app = App(self.settings, engine, uow_factory(engine, self.settings.cipher()))
        self.conversation = build_conversation(self.app, clock=lambda: FIXED_NOW, matcher=matcher,
                                               flood=FloodGuard(limit=10_000))
        self.adapter: Any = None
        self.presses = 0

    async def start(self, kind: str, mode: str) -> Any:
        """Start an adapter of library ``kind`` in ``mode`` (polling or webhook) on the same database."""
        settings = self.settings
        if mode == "webhook":
            port = free_port()
            settings = replace(settings, webhook_url=f"http://127.0.0.1:{port}/tg/hook",
                               webhook_secret="s3cret-hook", webhook_listen=f"127.0.0.1:{port}")
        app = App(settings, self.app.engine, self.app.uow)
        self.adapter = ADAPTERS[kind](app, self.conversation)
        await self.adapter.start()
        return self.adapter

    async def stop(self) -> None:
        """Stop the running adapter."""
        if self.adapter is not None:
            await self.adapter.stop()
            self.adapter = None

    async def settle(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` more updates were handled and every reply was sent."""
        queues = self.adapter.bridge.queues
        target = self._seen + count
        deadline = time.monotonic() + timeout
        while queues.completed < target or queues.busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{queues.completed}/{target} updates handled")
            await asyncio.sleep(0.005)
        self._seen = queues.completed

    @property
    def _seen(self) -> int:
        return getattr(self.adapter, "_test_seen", 0)

    @_seen.setter
    def _seen(self, value: int) -> None:
        self.adapter._test_seen = value

    async def say(self, user: str, text: str) -> int:
        """``user`` sends ``text``; returns the update_id."""
        update_id = self.fake.user_message(USERS[user], text, first_name=user)
        await self.settle()
        return update_id

    def find(self, user: str, label: str) -> tuple[RecordedMessage, str]:
        """The newest message of ``user`` with a button whose label contains ``label``, and its callback_data."""
        for msg in reversed(self.fake.sent(USERS[user])):
            for b in msg.buttons:
                if label in b["text"]:
                    return msg, b["callback_data"]
        raise AssertionError(f"no button {label!r} for {user}; last texts: {self.texts(user)[-3:]}")

    async def press(self, user: str, label: str) -> None:
        """``user`` presses the newest button labelled ``label``."""
        msg, data = self.find(user, label)
        self.fake.press_button(USERS[user], msg.message_id, data)
        self.presses += 1
        await self.settle()

    def texts(self, user: str) -> list[str]:
        """What ``user``'s chat shows (edits applied), as the user reads it."""
        return [html.unescape(m.text) for m in self.fake.sent(USERS[user])]

    def last(self, user: str) -> str:
        """The newest bot message in ``user``'s chat."""
        texts = self.texts(user)
        return texts[-1] if texts else ""

    def invite(self, user: str) -> str:
        """An invite code an administrator made for ``user``'s staff record."""
        code, role = STAFF[user]
        with self.app.uow() as uow:
            st = uow.staff.by_code(code)
            invite = create_invite(uow, role, st.institution_code, code, FIXED_NOW)
            uow.commit()
        return invite

    async def bind(self, *users: str) -> None:
        """Each user redeems an invite code through the deep link /start <code>."""
        for user in users:
            await self.say(user, f"/start {self.invite(user)}")
            assert "绑定成功" in self.last(user), self.texts(user)

    def account(self, user: str) -> Any:
        with self.app.uow() as uow:
            return uow.chat.account("telegram", str(USERS[user]))

    def order(self, number: str) -> Any:
        with self.app.uow() as uow:
            return uow.orders.by_number(number)


@pytest.fixture
async def driver(fake, seeded_engine, tmp_path, matcher) -> AsyncIterator[Driver]:
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    yield d
    await d.stop()


async def file_order(d: Driver, need: str = NEED, numbered: str = "XZ-20261123-") -> str:
    """The village doctor files an order for 邱瑞鹏 and confirms it; returns the order number (which starts with
    ``numbered``: the fixed test day, unless the handlers run on the real clock)."""
    await d.say("doctor", "/new")
    await d.say("doctor", "邱")
    await d.press("doctor", "邱瑞鹏")
    if "居民是否同意" in d.last("doctor"):
        await d.press("doctor", "居民已同意")
    assert "请描述" in d.last("doctor")
    await d.say("doctor", need)
    await d.press("doctor", "心血管内科")
    await d.press("doctor", "常规")
    await d.press("doctor", "完成")
    assert "请核对" in d.last("doctor")
    await d.press("doctor", "确认提交")
    text = next((t for t in reversed(d.texts("doctor")) if "已提交" in t), d.last("doctor"))  # a QR code may follow
    assert "已提交，订单号 " + numbered in text, text
    return text.split("订单号 ")[1].split("。")[0]


def menu(fake: FakeTelegram, user: str | None) -> list[str]:
    scope = {"type": "chat", "chat_id": USERS[user]} if user else None
    return [c["command"] for c in fake.commands_for(scope)]


# ---------------------------------------------------------------------------------------------- the scenario


@pytest.mark.parametrize(("kind", "mode"), COMBOS)
async def test_the_order_lifecycle_across_roles_through_the_adapter(driver: Driver, fake: FakeTelegram, kind, mode):
    await driver.start(kind, mode)
    if mode == "webhook":
        assert fake.webhook_url and fake.webhook_url.endswith("/tg/hook")
    assert menu(fake, None) == [c for c, _ in MENUS["anonymous"]]

    # Staff bind through invite codes in deep links; each gets the command menu of their role.
    await driver.bind("doctor", "township", "hospital", "cardiologist")
    assert menu(fake, "doctor") == ["new", "orders", "qr", "visits", "tasks", "survey", "cancel", "help"]
    assert menu(fake, "township") == ["pending", "cancel", "help"]
    assert menu(fake, "hospital") == ["pending", "referrals", "slots", "remote", "cancel", "help"]
    assert menu(fake, "cardiologist") == ["circuits", "remote", "cancel", "help"]
    set_calls = len(fake.calls("setMyCommands"))
    await driver.say("doctor", "/help")
    assert len(fake.calls("setMyCommands")) == set_calls  # cached: not set again

    # A resident subscribes by choosing county, township and village with buttons.
    await driver.say("resident", "/start")
    await driver.press("resident", "明溪县")
    await driver.press("resident", "雪峰镇")
    await driver.press("resident", "城东村")
    assert "订阅成功" in driver.last("resident")
    assert menu(fake, "resident") == []  # residents keep the default menu
    with driver.app.uow() as uow:
        assert uow.chat.subscriptions(driver.account("resident").id) == [VILLAGE]

    # The village doctor files an order; its text is escaped HTML and reads back verbatim.
    number = await file_order(driver)
    order = driver.order(number)
    assert order.status is OrderStatus.SUBMITTED and order.need_text == NEED
    assert any(number in t and "待初审" in t for t in driver.texts("township"))

    # Township approves from /pending; the card is edited to show the decision, without buttons.
    await driver.say("township", "/pending")
    assert any(NEED in t for t in driver.texts("township"))
    card, _ = driver.find("township", "批准")
    await driver.press("township", "批准")
    card = next(m for m in fake.sent(USERS["township"]) if m.message_id == card.message_id)
    assert card.edits and card.buttons == [] and number in html.unescape(card.text)
    assert driver.order(number).status is OrderStatus.TOWNSHIP_APPROVED
    assert any(number in t and "已批准" in t for t in driver.texts("doctor"))

    # The county hospital sends it to a circuit with the cardiologist.
    await driver.say("hospital", "/pending")
    await driver.press("hospital", "安排巡诊")
    await driver.press("hospital", "罗志明")
    order = driver.order(number)
    assert order.status is OrderStatus.AWAITING_CIRCUIT
    with driver.app.uow() as uow:
        assert order.assigned_expert_id == uow.staff.by_code("S0003").id
        trail = [e.action for e in uow.audit.for_entity("order", number)]
    assert trail == ["file", "township_approve", "dispose_circuit"]
    assert any(number in t and "已安排巡诊" in t for t in driver.texts("doctor"))

    # Every press was answered, every message was valid HTML for Telegram (the fake would have refused).
    assert len(fake.answered_callbacks) == driver.presses
    assert all(m.parse_mode == "HTML" for m in fake.sent())
    assert all(c.status == 200 for c in fake.all_calls if c.method != "getUpdates")


# ---------------------------------------------------------------------------------------------- faults


def message_update(user: str, text: str, update_id: int, message_id: int = 900) -> dict[str, Any]:
    """A raw Update for a private text message (for duplicates and webhook calls)."""
    uid = USERS[user]
    message: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()), "text": text,
        "from": {"id": uid, "is_bot": False, "first_name": user},
        "chat": {"id": uid, "type": "private", "first_name": user},
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


@pytest.mark.parametrize(("kind", "mode"), COMBOS)
async def test_a_duplicate_update_id_has_one_effect(driver: Driver, fake: FakeTelegram, kind, mode):
    await driver.start(kind, mode)
    update = message_update("resident", f"/start v_{VILLAGE}", 500)
    fake.inject_update(update)
    await driver.settle()
    fake.inject_update(update)  # Telegram redelivers (or a forged replay)
    await driver.settle()
    assert len(driver.texts("resident")) == 1 and "订阅成功" in driver.last("resident")
    with driver.app.uow() as uow:
        assert len(uow.audit.recent(10, action="subscribe")) == 1


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_webhook_call_without_the_right_secret_is_refused_and_runs_no_handler(
    driver: Driver, fake: FakeTelegram, kind
):
    adapter = await driver.start(kind, "webhook")
    fake.add_known_chats(USERS["resident"])  # posted by hand below, not through the fake
    url = adapter.settings.webhook_url
    body = message_update("resident", "/start", 700)
    async with ClientSession() as http:
        async with http.post(url, json=body) as missing:
            assert missing.status == 401
        async with http.post(url, json=body, headers={SECRET_HEADER: "s3cret-hooK"}) as wrong:
            assert wrong.status == 403
        assert driver.account("resident") is None and adapter.bridge.queues.completed == 0
        assert adapter.webhook.rejected == 2
        async with http.post(url, json=body, headers={SECRET_HEADER: "s3cret-hook"}) as right:
            assert right.status == 200  # answered after handling: the reply is already out
    assert driver.account("resident") is not None and "您好" in driver.texts("resident")[0]


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_forged_callback_data_is_refused_politely_audited_and_changes_nothing(
    driver: Driver, fake: FakeTelegram, kind
):
    await driver.start(kind, "polling")
    await driver.bind("doctor", "township")
    await driver.say("doctor", "/new")
    await driver.say("doctor", "邱")
    _, doctors_token = driver.find("doctor", "邱瑞鹏")
    with driver.app.uow() as uow:
        before = uow.orders.count_by_status()
    township_msg = fake.last_message(USERS["township"])

    fake.press_button(USERS["township"], township_msg.message_id, "Zm9yZ2VkLWJ1dHRvbg", strict=False)
    await driver.settle()
    assert "按钮已失效" in driver.last("township")
    fake.press_button(USERS["township"], township_msg.message_id, doctors_token, strict=False)
    await driver.settle()
    assert "不属于您" in driver.last("township")

    with driver.app.uow() as uow:
        reasons = [e.reason for e in uow.audit.recent(10, action="refused")]
        assert uow.orders.count_by_status() == before
    assert reasons[:2] == ["not_owner", "unknown_button"]
    assert driver.account("doctor").step is not None  # the doctor's flow was not touched
    assert len(fake.answered_callbacks) == 2  # both presses answered: no spinner left


@pytest.mark.parametrize(("first", "second"), [("ptb", "ptb"), ("ptb", "aiogram"), ("aiogram", "ptb")])
async def test_a_button_sent_before_a_restart_still_works(driver: Driver, fake: FakeTelegram, first, second):
    await driver.start(first, "polling")
    await driver.say("resident", "/start")
    await driver.stop()
    await driver.start(second, "webhook" if first == second else "polling")
    await driver.press("resident", "明溪县")  # a button from the message the first process sent
    assert "请选择乡镇" in driver.last("resident")
    await driver.press("resident", "雪峰镇")
    await driver.press("resident", "城东村")
    assert "订阅成功" in driver.last("resident")


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_resident_who_blocked_the_bot_is_marked_and_the_adapter_carries_on(
    driver: Driver, fake: FakeTelegram, kind
):
    await driver.start(kind, "polling")
    await driver.say("resident", f"/start v_{VILLAGE}")
    fake.block(USERS["resident"])
    await driver.say("resident", "/help")  # the reply gets 403 "bot was blocked by the user"
    assert driver.account("resident").blocked
    assert [c.status for c in fake.calls("sendMessage")][-1] == 403
    await driver.say("doctor", "/help")
    assert "可用命令" in driver.last("doctor")
    fake.unblock(USERS["resident"])
    await driver.say("resident", "/start")  # writing again lifts the mark
    assert not driver.account("resident").blocked


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_429_on_a_reply_is_retried_after_retry_after(driver: Driver, fake: FakeTelegram, kind):
    await driver.start(kind, "polling")
    fake.fail_next("sendMessage", chat_id=USERS["doctor"], retry_after=1)
    started = time.monotonic()
    await driver.say("doctor", "/help")
    assert time.monotonic() - started >= 1.0
    assert "可用命令" in driver.last("doctor")
    assert [c.status for c in fake.calls("sendMessage")] == [429, 200]
    assert fake.early_retries() == []


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_updates_of_one_chat_are_handled_in_order(driver: Driver, fake: FakeTelegram, kind):
    await driver.start(kind, "polling")
    for text in ("/help", "/cancel", "/mydata", "/unsubscribe"):
        fake.user_message(USERS["resident"], text)
    await driver.settle(4)
    texts = driver.texts("resident")
    assert [texts[0][:4], texts[1], texts[2][:8], texts[3][:11]] == [
        "可用命令", "当前没有进行中的操作。", "您的个人信息（仅", "您还没有订阅任何村庄。"], texts


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_press_is_answered_even_when_handling_fails(driver: Driver, fake: FakeTelegram, kind):
    adapter = await driver.start(kind, "polling")
    await driver.say("resident", "/start")

    class Broken:
        def handle(self, inbound, after=None):
            raise RuntimeError("database on fire")

    adapter.bridge.conversation = Broken()
    await driver.press("resident", "明溪县")
    assert len(fake.answered_callbacks) == 1
    adapter.bridge.conversation = driver.conversation
    await driver.say("resident", "/help")  # still serving
    assert "可用命令" in driver.last("resident")


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_long_text_is_split_at_4096_visible_characters(driver: Driver, fake: FakeTelegram, kind):
    adapter = await driver.start(kind, "polling")
    fake.add_known_chats(USERS["doctor"])
    text = "<b>" * 2000  # 6000 characters, each "<" escaped to "&lt;"
    await adapter.bridge.deliver(Outbound("telegram", str(USERS["doctor"]), text, ((Button("好", "tok"),),)))
    parts = fake.sent(USERS["doctor"])
    assert [len(html.unescape(m.text)) for m in parts] == [4096, 6000 - 4096]
    assert "".join(html.unescape(m.text) for m in parts) == text
    assert parts[0].buttons == [] and parts[1].callback_data_for("好") == "tok"


# ---------------------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize("library", ["ptb", "aiogram"])
def test_a_voice_message_is_handed_on_as_voice_without_text(library):
    """Telegram gives a bot no transcription: the handlers are told it was a voice message, so they can say to
    type (issue 18)."""
    import telegram
    from aiogram.types import Update as AiogramUpdate

    from bot.transports.telegram.bridge import to_inbound

    data = {"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
                                        "from": {"id": 7, "is_bot": False, "first_name": "邱"},
                                        "voice": {"file_id": "x", "file_unique_id": "y", "duration": 3}}}
    update = telegram.Update.de_json(data, None) if library == "ptb" else AiogramUpdate.model_validate(data)
    inbound, _ = to_inbound(update)
    assert inbound is not None and inbound.voice and inbound.text is None


def test_every_character_of_handler_text_is_escaped():
    [msg] = render(Outbound("telegram", "42", "a<b> & <i>c</i>"))
    assert msg.html == "a&lt;b&gt; &amp; &lt;i&gt;c&lt;/i&gt;" == escape("a<b> & <i>c</i>")
    assert render(Outbound("telegram", "not-a-number", "x")) == []


def test_an_edit_keeps_its_target_and_drops_the_old_keyboard():
    [msg] = render(Outbound("telegram", "42", "已批准", (), "17"))
    assert msg.edit_message_id == 17 and msg.keyboard == ()


def test_a_token_too_long_for_callback_data_is_left_out():
    [msg] = render(Outbound("telegram", "42", "x", ((Button("ok", "a" * 64), Button("bad", "b" * 65)),)))
    assert msg.keyboard == ((("ok", "a" * 64),),)


def test_the_webhook_secret_check():
    assert secret_status("s3cret", "s3cret") == 200
    assert secret_status("s3cret", None) == 401 and secret_status("s3cret", "") == 401
    assert secret_status("s3cret", "s3creT") == 403 and secret_status("s3cret", "s3cret2") == 403


async def test_chat_queues_keep_order_per_chat_and_run_chats_in_parallel():
    queues = ChatQueues()
    log: list[str] = []
    gate = asyncio.Event()

    def job(name: str, wait: bool = False):
        async def run() -> None:
            if wait:
                await gate.wait()
            log.append(name)
        return run

    a1 = queues.submit("a", job("a1", wait=True))
    queues.submit("a", job("a2"))
    b1 = queues.submit("b", job("b1"))
    await b1
    assert log == ["b1"] and not a1.done()  # chat b is not held up by chat a
    gate.set()
    await queues.drain()
    assert log == ["b1", "a1", "a2"] and queues.completed == 3 and not queues.busy


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_serve_runs_the_transport_until_stop_is_set(driver: Driver, fake: FakeTelegram, kind):
    from bot import transports

    stop = asyncio.Event()
    serving = asyncio.create_task(transports.load(kind)(driver.app, driver.conversation, stop))
    fake.user_message(USERS["resident"], "/help")
    [reply] = await fake.wait_for_messages(USERS["resident"], 1)
    assert "可用命令" in html.unescape(reply.text)
    stop.set()
    await asyncio.wait_for(serving, 10)


# ---------------------------------------------------------------------------------------------- handler processes
# XUNZHEN_HANDLER_PROCESSES: the same flows with the handlers in a worker process, and a worker killed mid-service
# replaced without losing the chat. The worker builds its own app from the settings (as production does), so it
# runs on the real clock: invites are made at the real time, and order numbers are not compared with a date.


async def start_with_a_worker(d: Driver, kind: str):
    from bot.bootstrap import App

    settings = replace(d.settings, handler_processes=1, flood_limit=10_000)
    d.adapter = ADAPTERS[kind](App(settings, d.app.engine, d.app.uow), d.conversation)
    assert d.adapter.bridge.processes is not None
    await d.adapter.start()
    return d.adapter


async def bind_now(d: Driver, user: str) -> None:
    code, role = STAFF[user]
    with d.app.uow() as uow:
        st = uow.staff.by_code(code)
        invite = create_invite(uow, role, st.institution_code, code, datetime.now(UTC))
        uow.commit()
    await d.say(user, f"/start {invite}")
    assert "绑定成功" in d.last(user), d.texts(user)


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_an_order_is_filed_and_reviewed_through_a_handler_process(driver: Driver, fake, kind):
    await start_with_a_worker(driver, kind)
    assert menu(fake, None) == [c for c, _ in MENUS["anonymous"]]
    await bind_now(driver, "doctor")
    await bind_now(driver, "township")
    # The menu is read in the worker once the update is stored, and comes back with the replies.
    assert menu(fake, "doctor") == ["new", "orders", "qr", "visits", "tasks", "survey", "cancel", "help"]
    assert menu(fake, "township") == ["pending", "cancel", "help"]

    number = await file_order(driver, "老人心口疼，胸闷气短，走路就喘", numbered="XZ-")
    assert any(number in t for t in driver.texts("township")), "the township reviewer was notified"

    await driver.say("township", "/pending")
    await driver.press("township", "批准")
    assert driver.order(number).status is OrderStatus.TOWNSHIP_APPROVED
    assert fake.answered_callbacks, "button presses are answered by the transport, not the worker"


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_killed_handler_process_is_replaced_and_the_chat_goes_on(driver: Driver, fake, kind):
    adapter = await start_with_a_worker(driver, kind)
    await bind_now(driver, "doctor")
    await driver.say("doctor", "/new")
    assert "居民" in driver.last("doctor")

    pool = adapter.bridge.processes._pool
    for pid in list(pool._processes):  # a stop signal is for the service: the worker carries on
        os.kill(pid, signal.SIGTERM)
    await driver.say("doctor", "/cancel")
    await driver.say("doctor", "/new")
    assert "居民" in driver.last("doctor") and adapter.bridge.processes.restarts == 0
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    await driver.say("doctor", "邱")
    assert "系统繁忙" in driver.last("doctor"), driver.texts("doctor")[-2:]
    assert adapter.bridge.processes.restarts == 1

    # A new worker serves the same chat; the draft survived in the database. (Waited for until it has loaded, as
    # at start: a busy machine may take longer than an update's time to spawn it.)
    await asyncio.wait_for(adapter.bridge.processes.start(), 60)
    await driver.say("doctor", "邱")
    assert any("邱瑞鹏" in b["text"] for b in fake.sent(USERS["doctor"])[-1].buttons), driver.texts("doctor")[-2:]


async def test_a_handler_process_whose_fork_server_died_ends_and_the_chat_goes_on(driver: Driver, fake):
    """The fork server killed (the OOM killer's likeliest pick: it holds a whole matcher): the pool counts its workers
    dead (their exit status came from it) and starts new ones, so the old worker must end, not run on orphaned
    with the database open."""
    import multiprocessing.forkserver

    adapter = await start_with_a_worker(driver, "ptb")
    await bind_now(driver, "doctor")
    await driver.say("doctor", "/new")
    assert "居民" in driver.last("doctor")
    [worker] = list(adapter.bridge.processes._pool._processes)
    os.kill(multiprocessing.forkserver._forkserver._forkserver_pid, signal.SIGKILL)

    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if running(worker):
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the worker of a dead fork server runs on")
    await driver.say("doctor", "/cancel")  # answered "busy" or by a new worker: either way the chat goes on
    await asyncio.wait_for(adapter.bridge.processes.start(), 60)
    await driver.say("doctor", "/new")
    assert "居民" in driver.last("doctor"), driver.texts("doctor")[-2:]


async def test_the_real_service_serves_telegram_with_a_handler_process(fake: FakeTelegram, tmp_path, templates):
    """``python -m bot run`` as deployed, handlers in a worker process (which imports the entry point again). It is
    stopped as systemd stops a service, SIGTERM to every process of it, and leaves no process behind."""
    import subprocess
    import sys

    from tests.circuits.circuit_helpers import ROOT, worker_env

    templates.sqlite_engine(True, tmp_path / "svc.db").dispose()  # a deployment's database: the demo data loaded
    env = worker_env(f"sqlite:///{tmp_path / 'svc.db'}", fake.root_url, datetime.now(UTC),
                     XUNZHEN_TRANSPORT="ptb", XUNZHEN_HANDLER_PROCESSES="1", XUNZHEN_VAR_DIR=str(tmp_path))
    env.pop("XUNZHEN_FAKE_NOW")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # its own process group

    def group() -> list[str]:  # the service's processes still running (zombies are gone already)
        ps = subprocess.run(["ps", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True).stdout
        return [line for line in ps.splitlines() if line.split()[1] == str(proc.pid) and "Z" not in line.split()[2]]

    try:
        fake.user_message(USERS["resident"], "/help", first_name="resident")
        deadline = time.monotonic() + 60
        while not fake.sent(USERS["resident"]):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            await asyncio.sleep(0.1)
        assert "可用命令" in html.unescape(fake.sent(USERS["resident"])[-1].text)
        assert len(group()) >= 3  # the service, its fork server and the handler process (and resource tracker)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # systemd's stop: every process of the service is sent SIGTERM
        try:  # waited for off the event loop: the fake must go on answering the bot while it shuts down
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired as e:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("no stop on SIGTERM:\n" + log.read_text(errors="replace")[-3000:]) from e
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
    deadline = time.monotonic() + 10  # the helpers see the service gone and end too
    while (left := group()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, left
