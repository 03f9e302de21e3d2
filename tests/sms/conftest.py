"""SMS tests: the conversation fixtures (a seeded database, the demo cast), a fake provider of each kind, and the
web server that takes the provider's pushes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web

from bot.bootstrap import build_conversation
from bot.delivery.sender import Sender
from bot.testing.fake_sms import (
    ALIYUN_KEY,
    ALIYUN_SECRET,
    SIGN,
    TENCENT_APP,
    TENCENT_ID,
    TENCENT_KEY,
    FakeAliyunSms,
    FakeTencentSms,
)
from bot.transports.sms.aliyun import AliyunSms
from bot.transports.sms.callbacks import SmsCallbacks
from bot.transports.sms.channel import SmsChannel
from bot.transports.sms.template import DEFAULT_TEXT, PARAM_LIMIT, SmsTemplate
from bot.transports.sms.tencent import TencentSms
from bot.web.dashboard import DashboardServices, make_app
from handlers import FloodGuard
from handlers.services.announcements import Announcer
from tests.circuits.circuit_helpers import REMINDER_AT, Clock, make_circuit
from tests.handlers.conftest import app, cast, clock  # noqa: F401  (the conversation fixtures)
from tests.handlers.harness import ChatHarness


@pytest.fixture
def chat(app, clock):  # noqa: F811
    """The conversation as it runs with SMS_PROVIDER set (the provider itself is the fake of each test)."""
    conv = build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000))
    conv.services.sms = True
    return ChatHarness(conv)


TOKEN = "cb-token-for-tests-0001"
TEMPLATE_CODE = {"aliyun": "SMS_480000001", "tencent": "2000001"}
PHONE = "13900003001"  # 邱瑞鹏 of 城东村 in the demo data


@dataclass
class Provider:
    """One fake provider and how to build our channel against it."""

    name: str
    fake: FakeAliyunSms | FakeTencentSms
    template: SmsTemplate

    def channel(self, app, clock, *, secret: str | None = None) -> SmsChannel:  # noqa: F811
        """Our SMS channel pointed at the fake (``secret``: a wrong one, to be refused)."""
        return SmsChannel(self.client(secret), app.uow, self.template, clock)

    def client(self, secret: str | None = None) -> AliyunSms | TencentSms:
        """The provider's client (the official SDK) pointed at the fake."""
        if self.name == "aliyun":
            provider: AliyunSms | TencentSms = AliyunSms(ALIYUN_KEY, secret or ALIYUN_SECRET, SIGN,
                                                         TEMPLATE_CODE["aliyun"], endpoint=self.fake.root_url,
                                                         timeout=5)
        else:
            provider = TencentSms(TENCENT_ID, secret or TENCENT_KEY, TENCENT_APP, SIGN, TEMPLATE_CODE["tencent"],
                                  endpoint=self.fake.root_url, timeout=5)
        return provider

    async def push_reply(self, base: str, phone: str, text: str, at: float) -> tuple[int, dict]:
        """The provider forwards a reply to our push address."""
        if isinstance(self.fake, FakeAliyunSms):
            return await self.fake.push_reply(base + "aliyun/up", phone, text)
        return await self.fake.push_reply(base + "tencent/reply", phone, text, at=at)

    async def push_receipt(self, base: str, message_id: str, delivered: bool) -> tuple[int, dict]:
        """The provider pushes a delivery receipt."""
        if isinstance(self.fake, FakeAliyunSms):
            return await self.fake.push_report(base + "aliyun/report", message_id, delivered)
        return await self.fake.push_status(base + "tencent/status", message_id, delivered)


@pytest.fixture(params=["aliyun", "tencent"])
async def provider(request) -> AsyncIterator[Provider]:
    name = request.param
    template = SmsTemplate.parse(DEFAULT_TEXT[name], SIGN, PARAM_LIMIT[name])
    if name == "aliyun":
        fake: FakeAliyunSms | FakeTencentSms = FakeAliyunSms({TEMPLATE_CODE[name]: template.text})
    else:
        fake = FakeTencentSms({TEMPLATE_CODE[name]: template.tencent_text()})
    async with fake:
        yield Provider(name, fake, template)


@pytest.fixture
async def pushes(app, clock) -> AsyncIterator[str]:  # noqa: F811
    """The web server (the dashboard app) with the SMS push addresses; yields their base URL."""
    services = DashboardServices(uow=app.uow, clock=clock,
                                 callbacks=SmsCallbacks(app.uow, clock, token=TOKEN, sign_name=SIGN).routes())
    runner = web.AppRunner(make_app(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/callback/sms/{TOKEN}/"
    await runner.cleanup()


def register_by_chat(chat, name: str = "邱瑞鹏") -> None:
    """The village doctor registers a resident's number on record, the resident having agreed."""
    chat.say("doctor", f"/sms {name}")
    assert "未登记" in chat.last("doctor"), chat.texts("doctor")[-2:]
    chat.press("doctor", "登记短信通知")
    chat.press("doctor", "使用已登记的电话")
    assert "回复 TD" in chat.last("doctor")  # the consent read out names how to stop
    chat.press("doctor", "居民已同意")
    assert "已登记" in chat.last("doctor"), chat.texts("doctor")[-2:]


def announce(app, *, day_offset: int = 0) -> int:  # noqa: F811
    """A circuit in 雪峰镇 (with 罗志明, cardiology) whose 1-day reminder falls due; returns the reminder's id."""
    from tests.circuits.circuit_helpers import CIRCUIT_DAY, CREATED

    with app.uow() as uow:
        c = make_circuit(uow, day=CIRCUIT_DAY + timedelta(days=day_offset),
                         created=CREATED + timedelta(days=day_offset))
        uow.commit()
    res = Announcer(app.uow, Clock(REMINDER_AT + timedelta(days=day_offset, minutes=1)), sms=True).sweep()
    assert res.fanned_out >= 1, res
    with app.uow() as uow:
        return next(a.id for a in uow.schedule.announcements(c.id or 0) if a.kind == "reminder")


async def drain(app, channel, *, day_offset: int = 0, clock=None, timeout: float = 10.0):  # noqa: F811
    """The outbox sender delivers what is queued for SMS."""
    sender = Sender(app.uow, [channel], clock=clock or Clock(REMINDER_AT + timedelta(days=day_offset, minutes=2)))
    return await sender.drain(timeout=timeout)


def sms_rows(app):  # noqa: F811
    with app.uow() as uow:
        return [r for r in uow.outbox.rows() if r.platform == "sms"]
