"""Staff over WeCom end to end: encrypted callbacks in, template cards and texts out through the fake API.

SQLite only (the storage contract suite covers PostgreSQL; this is about the transport).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import date

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.orders import Action, OrderStatus
from domain.staff import Role
from tests.conftest import FIXED_NOW
from tests.wechat.wechat_driver import STAFF, Driver


def stored(app, number):
    with app.uow() as uow:
        return uow.orders.by_number(number)


async def file_order(d: Driver) -> str:
    await d.say("doctor", "/new")
    await d.say("doctor", "邱")
    await d.press("doctor", "邱瑞鹏")
    if d.saw("doctor", "居民是否同意"):
        await d.press("doctor", "居民已同意")
    assert d.saw("doctor", "请描述")
    await d.say("doctor", "老人心口疼，胸闷气短，走路就喘")
    await d.press("doctor", "心血管内科")
    await d.press("doctor", "常规")
    await d.press("doctor", "完成")
    assert d.saw("doctor", "请核对")
    await d.press("doctor", "确认提交")
    text = next(t for t in reversed(d.texts("doctor")) if "订单号" in t)
    assert "已提交，订单号 XZ-20261123-" in text, text
    return text.split("订单号 ")[1].split("。")[0]


async def test_cards_keep_to_wecoms_ten_character_buttons_and_every_pressed_card_is_greyed_out_once(wecom: Driver):
    d = wecom
    await d.login("doctor", *STAFF["doctor"])
    await file_order(d)
    cards = d.fake.to("doctor", "wecom_card")
    labels = [label for card in cards for label, _ in card.buttons]
    assert labels and all(len(label) <= 10 for label in labels), labels
    resident_card = next(c for c in cards if any(label == "邱瑞鹏" for label, _ in c.buttons))
    assert "邱瑞鹏（" in resident_card.text and "年生" in resident_card.text  # the whole label, in the card's body
    updates = d.fake.to("doctor", "wecom_card_update")
    codes = [u.body["response_code"] for u in updates]
    assert len(codes) == len(set(codes))  # each card once
    # Every press of the flow (resident, consent where asked, specialty, urgency, flags, confirm) greyed its card.
    presses = 5 + any("居民是否同意" in t for t in d.texts("doctor"))
    assert len(updates) == presses, (len(updates), presses)


async def test_direct_replies_and_the_outbox_share_a_members_thirty_messages_a_minute(wecom: Driver):
    """WeCom lets an app send one member 30 messages a minute. What the chat sends a village doctor while filing an
    order counts against the same minute as what the outbox sender sends them from the same process."""
    from bot.delivery.sender import Sender
    from bot.transports.wechat.work import WeComChannel
    from tests.circuits.circuit_helpers import RunningClock

    d = wecom
    await d.login("doctor", *STAFF["doctor"])
    await file_order(d)
    active = [s for s in d.fake.to("doctor") if s.kind != "passive"]
    assert active  # cards and texts went through the API
    with d.app.uow() as uow:
        for i in range(30):
            uow.outbox.enqueue("wecom", "doctor", f"通知 {i}", None, priority="bulk", dedupe_key=f"n:{i}",
                               account_id=None, now=FIXED_NOW)
        uow.commit()
    channel = WeComChannel(d.bridge.deliverers["wecom"])
    sender = Sender(d.app.uow, [channel], clock=RunningClock(FIXED_NOW), share_budget=True, cold_start=False)
    stats = await sender.drain(timeout=2)  # 20 a second: what the minute allows goes out in the first second
    assert stats.sent == 30 - len(active)  # the rest waits for the minute to pass
    assert len([s for s in d.fake.to("doctor") if s.kind != "passive"]) == 30


async def test_full_order_lifecycle_for_staff_over_wecom(wecom: Driver):
    d = wecom
    for user, (code, role) in STAFF.items():
        await d.login(user, code, role)
    number = await file_order(d)
    assert stored(d.app, number).status is OrderStatus.SUBMITTED
    assert any(number in t and "待初审" in t for t in d.texts("township"))

    await d.say("township", "/pending")
    cards = [s for s in d.screens["township"] if s.kind == "wecom_card"]
    assert cards and all(len(s.buttons) <= 6 for s in cards)
    await d.press("township", "批准")
    assert stored(d.app, number).status is OrderStatus.TOWNSHIP_APPROVED
    # The pressed card's buttons were greyed with the event's ResponseCode, and the doctor was told.
    assert d.fake.to("township", "wecom_card_update")
    assert any(number in t and "已批准" in t for t in d.texts("doctor"))
    assert any(number in t for t in d.texts("hospital"))

    await d.say("hospital", "/pending")
    await d.press("hospital", "安排巡诊")
    await d.press("hospital", "罗志明")
    order = stored(d.app, number)
    assert order.status is OrderStatus.AWAITING_CIRCUIT
    assert any(number in t and "已安排巡诊" in t for t in d.texts("doctor"))

    with d.app.uow() as uow:  # the circuit (held today: a later one cannot be marked yet) goes on the order
        expert = uow.staff.by_code("S0003")
        circuit = Circuit("CH350421", "350421101", date(2026, 11, 23), HalfDay.AM, CircuitLevel.TOWNSHIP,
                          frozenset({expert.id}))
        uow.circuits.add(circuit)
        o = uow.orders.by_number(number)
        o.apply(Action.SCHEDULE, actor_staff_id=uow.staff.by_code("S0002").id, actor_role=Role.HOSPITAL_REVIEWER,
                now=FIXED_NOW, circuit_id=circuit.id)
        uow.orders.save(o)
        uow.commit()
    await d.say("cardiologist", "/circuits")
    assert any("11月23日上午" in t for t in d.texts("cardiologist"))
    await d.press("cardiologist", "已诊")
    await d.say("cardiologist", "血压偏高，调整用药，一月后复查")
    assert stored(d.app, number).status is OrderStatus.SERVED
    with d.app.uow() as uow:
        trail = [e.action for e in uow.audit.for_entity("order", number)]
    assert trail == ["file", "township_approve", "dispose_circuit", "schedule", "mark_served"]
    assert d.bridge.stats.rejected == {}


async def test_a_plain_reply_goes_back_passively_encrypted_and_buttons_go_as_cards(wecom: Driver):
    r = await wecom.say("someone", "/help")
    assert r.status == 200 and r.body.startswith("<xml>") and "<Encrypt>" in r.body
    assert wecom.screens["someone"][-1].kind == "passive" and "/start" in wecom.texts("someone")[-1]
    assert wecom.bridge.stats.passive == 1


async def test_wechat_retries_are_handled_once_by_msgid(wecom: Driver):
    await wecom.login("doctor", *STAFF["doctor"])
    before = len(wecom.fake.sent)
    await wecom.say("doctor", "/new", msg_id=777001)
    sent_once = len(wecom.fake.sent) + len(wecom.screens["doctor"])
    await wecom.say("doctor", "/new", msg_id=777001)  # the same message again, as WeChat's retry (new nonce)
    assert len(wecom.fake.sent) + len(wecom.screens["doctor"]) == sent_once
    assert len(wecom.fake.sent) >= before


async def test_an_expired_token_is_refreshed_once_and_the_message_still_arrives(wecom: Driver):
    await wecom.login("doctor", *STAFF["doctor"])
    await wecom.say("doctor", "/new")  # a card: goes through message/send
    assert wecom.fake.token_fetches["wecom"] == 1
    wecom.fake.expire_tokens()
    await wecom.say("doctor", "/cancel")
    await wecom.say("doctor", "/new")  # message/send answers 42001 once; the token is refreshed and it is resent
    assert wecom.fake.token_fetches["wecom"] == 2
    assert wecom.fake.errors[42001] == 1
    assert len(wecom.fake.to("doctor", "wecom_card")) == 2


async def test_a_handler_slowed_by_a_locked_database_still_answers_within_4_5_seconds(wecom: Driver):
    await wecom.login("doctor", *STAFF["doctor"])
    db = wecom.app.engine.url.database
    blocker = sqlite3.connect(db, timeout=1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        t0 = time.monotonic()
        r = await wecom.post(*wecom.builder.text("doctor", "/new"))
        assert r.status == 200 and r.seconds < 4.5, r
        await asyncio.sleep(5.0 - (time.monotonic() - t0))
        assert not wecom.fake.to("doctor", "wecom_card")  # nothing could be handled yet
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await wecom.settle()
    assert wecom.fake.to("doctor", "wecom_card")  # the answer came afterwards, through message/send


async def test_a_callback_replayed_to_another_worker_is_dropped_before_the_handlers(wecom: Driver):
    async with Driver("wecom", wecom.app, wecom.conversation, wecom.fake) as other_worker:
        q, body = wecom.builder.text("doctor", "/help")
        assert (await wecom.post(q, body)).status == 200
        await wecom.settle()
        r = await other_worker.post(q, body)  # its own memory never saw the nonce; the database did
        await other_worker.settle()
    assert r.status == 200 and other_worker.bridge.stats.rejected["replayed_nonce"] == 1
    assert other_worker.bridge.stats.passive == 0 and not other_worker.screens["doctor"]
