"""The whole lifecycle over WeChat alone, played the way the people in it would, and what each of them received.

Staff on WeCom (village doctor, township and hospital reviewers, the expert), the resident on the Official Account:
the doctor files an order, the resident links their account with the code the doctor was given, the township
approves, the hospital sends the order to a circuit with an expert and accepts the month's plan in chat, the day
before the visit the announcement goes out through the outbox, the expert marks the patient served. Only real
signed, encrypted callbacks in and the fake WeChat APIs out; the clock is the only thing the test moves.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.bootstrap import build_conversation
from bot.delivery.sender import Sender
from bot.testing.fake_wechat import FakeWeChat
from bot.transports.wechat.mp import WeChatMpChannel
from bot.transports.wechat.work import WeComChannel
from domain.orders import OrderStatus
from handlers import FloodGuard
from handlers.services.announcements import Announcer
from tests.circuits.circuit_helpers import CHINA
from tests.conftest import FIXED_NOW, _engine_for
from tests.wechat.wechat_driver import STAFF, Driver, make_app, settings_for

RESIDENT = "oRESIDENT_whole_lifecycle_01"


class Clock:
    """The one clock of the test: the conversation, the announcer and the sender all read it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database (SQLite: this is about the platforms, the storage contract covers PostgreSQL)."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture(params=["window_open", "a_week_later"])
async def world(request, seeded_engine, tmp_path, matcher) -> AsyncIterator[tuple[Driver, Driver, Clock]]:
    """``window_open``: the resident wrote to the Official Account just now (its clock is the real one), so every
    message may be a customer-service message. ``a_week_later``: its clock is the test's, as in life, so the
    announcement and the rating question come after the 48-hour window has shut: templates, configured here."""
    clock = Clock(FIXED_NOW)
    later = request.param == "a_week_later"
    extra = dict(wechat_template_announcement="TPL-ANNOUNCE", wechat_template_notice="TPL-NOTICE",
                 public_url="https://xz.example.cn") if later else {}
    async with FakeWeChat() as fake:
        app = make_app(settings_for(fake, seeded_engine, tmp_path, **extra), seeded_engine)
        conv = build_conversation(app, clock=clock, matcher=matcher, flood=FloodGuard(limit=10_000))
        oa_clock = (lambda: clock.now.timestamp()) if later else time.time
        async with Driver("wecom", app, conv, fake) as wecom, Driver("wechat", app, conv, fake, clock=oa_clock) as oa:
            yield wecom, oa, clock


async def deliver(wecom: Driver, oa: Driver, clock: Clock) -> None:
    """What the outbox holds goes out on both channels (the worker's sender), and both drivers look."""
    channels = [WeComChannel(wecom.bridge.deliverers["wecom"]), WeChatMpChannel(oa.bridge.deliverers["wechat"])]
    await Sender(wecom.app.uow, channels, clock=clock, cold_start=False).drain(timeout=15)
    await wecom.settle()
    await oa.settle()


def order_status(d: Driver, number: str) -> OrderStatus:
    with d.app.uow() as uow:
        return uow.orders.by_number(number).status


async def test_an_order_filed_on_wecom_reaches_a_resident_on_the_official_account_with_expert_and_specialty(world):
    wecom, oa, clock = world
    for user, (code, role) in STAFF.items():
        await wecom.login(user, code, role)

    # The village doctor files an order for 邱瑞鹏 and is given the resident's link code.
    await wecom.say("doctor", "/new")
    await wecom.say("doctor", "邱")
    await wecom.press("doctor", "邱瑞鹏")
    if wecom.saw("doctor", "居民是否同意"):
        await wecom.press("doctor", "居民已同意")
    await wecom.say("doctor", "老人心口疼，胸闷气短，走路就喘")
    await wecom.press("doctor", "心血管内科")
    await wecom.press("doctor", "常规")
    await wecom.press("doctor", "完成")
    await wecom.press("doctor", "确认提交")
    submitted = next(t for t in reversed(wecom.texts("doctor")) if "订单号" in t)
    number = re.search(r"XZ-\d{8}-\d+", submitted).group(0)
    code = re.search(r"/start (r_[A-Z0-9]+)", submitted).group(1)

    # The resident follows the Official Account and sends the code the doctor read out.
    await oa.event(RESIDENT, "subscribe")
    await oa.say(RESIDENT, f"/start {code}")
    assert oa.saw(RESIDENT, "邱瑞鹏"), oa.texts(RESIDENT)

    await wecom.say("township", "/pending")
    await wecom.press("township", "批准")
    await wecom.say("hospital", "/pending")
    await wecom.press("hospital", "安排巡诊")
    await wecom.press("hospital", "罗志明")
    assert order_status(wecom, number) is OrderStatus.AWAITING_CIRCUIT
    await deliver(wecom, oa, clock)
    # The expert is told on the platform they are bound to, at once.
    assert any(number in t for t in wecom.texts("cardiologist")), wecom.texts("cardiologist")

    await wecom.say("hospital", "/plan 2026-12")
    await wecom.press("hospital", "接受")
    assert order_status(wecom, number) is OrderStatus.SCHEDULED
    with wecom.app.uow() as uow:
        order = uow.orders.by_number(number)
        circuit = uow.circuits.get(order.circuit_id)
    await deliver(wecom, oa, clock)

    # The day before the visit, at the reminder's hour, the announcement and the expert's list go out.
    clock.now = datetime.combine(circuit.day - timedelta(days=1), datetime.min.time(), CHINA).replace(hour=9, minute=1)
    Announcer(wecom.app.uow, clock).sweep()
    await deliver(wecom, oa, clock)
    window_shut = bool(oa.bridge.deliverers["wechat"].template_id)
    if window_shut:  # a week after the resident last wrote: the template, its typed fields within their limits
        notice = [s.text for s in oa.screens[RESIDENT] if s.kind == "mp_template"]
    else:
        notice = [t for t in oa.texts(RESIDENT) if "坐诊预告" in t]
    assert len(notice) == 1, oa.texts(RESIDENT)
    for shown in ("罗志明", "心血管内科", f"{circuit.day.month}月{circuit.day.day}日"):
        assert shown in notice[0], (shown, notice[0])
    briefing = [t for t in wecom.texts("cardiologist") if number in t and "明天" in t]
    assert len(briefing) == 1, wecom.texts("cardiologist")

    # On the day, the expert marks the patient served.
    clock.now = datetime.combine(circuit.day, datetime.min.time(), CHINA).replace(hour=10)
    await wecom.say("cardiologist", "/circuits")
    await wecom.press("cardiologist", "已诊")
    await wecom.say("cardiologist", "血压偏高，调整用药，一月后复查")
    assert order_status(wecom, number) is OrderStatus.SERVED
    await deliver(wecom, oa, clock)

    # The resident answers the rating prompt with the bare number it offered (a week on, the notice template told
    # them a message waits; their "5" brings the question and answers it).
    if window_shut:
        bell = [s for s in oa.screens[RESIDENT] if s.kind == "mp_template"][-1]
        assert bell.body["template_id"] == "TPL-NOTICE" and "打分" not in oa.texts(RESIDENT)[-1]
    await oa.say(RESIDENT, "5")
    await oa.say(RESIDENT, "罗医生很耐心")
    with wecom.app.uow() as uow:
        rating = uow.ledgers.rating_of(uow.orders.by_number(number).id)
        score = rating.score if rating else None
    assert score == 5, oa.texts(RESIDENT)[-3:]

    # What each person received: nobody is told the same thing twice, and each heard what concerns them.
    for user in (*STAFF, RESIDENT):
        d = oa if user == RESIDENT else wecom
        texts = [s.text for s in d.screens[user] if s.kind != "wecom_card_update"]
        repeated = {t for t in texts if texts.count(t) > 1}
        assert not repeated, (user, repeated)
    resident = oa.texts(RESIDENT)
    scheduled = [t for t in resident if "已安排" in t and "坐诊预告" not in t]
    assert len(scheduled) == 1 and all(w in scheduled[0] for w in ("心血管内科", "罗志明", "周")), scheduled
    if not window_shut:
        assert f"您的订单 {number}" in notice[0]  # the resident's own line travels with the whole notice
    assert sum("打分" in t for t in resident) == 1
    # On WeCom a question whose first line is long is still one card, not a text followed by a bare "请选择：".
    assert not any(s.kind == "wecom_card" and s.text == "请选择：" for s in wecom.screens["doctor"])
    expert = wecom.texts("cardiologist")
    assert sum("新指派" in t for t in expert) == 1 and sum("【巡诊安排】" in t for t in expert) == 1, expert
    with wecom.app.uow() as uow:
        statuses = {r.status for r in uow.outbox.rows()}
    assert statuses == {"sent"}, statuses
