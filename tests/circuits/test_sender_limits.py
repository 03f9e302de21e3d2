"""The sender against the fake Telegram server through python-telegram-bot: limits, 429 storms, failures, lanes."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from bot.delivery.channels import ChannelLimits, InMemoryChannel, PtbChannel, SendResult
from bot.delivery.sender import Sender, SlidingWindow
from bot.testing.fake_telegram import FakeTelegram
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import CREATED, RunningClock, add_account
from tests.conftest import TEST_KEY

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22 warns on building RetryAfter otherwise (warnings are errors)


@pytest.fixture
def uow(templates, tmp_path):
    from storage.crypto import FieldCipher

    engine = templates.sqlite_engine(True, tmp_path / "sender.db")
    yield lambda: SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY))
    engine.dispose()


def _enqueue(uow, chats, *, lane="bulk", tag="a", platform="telegram"):
    with uow() as u:
        for c in chats:
            u.outbox.enqueue(platform, str(c), f"消息 {tag} {c}", None, priority=lane, dedupe_key=f"{tag}:{c}",
                             account_id=None, now=CREATED)
        u.commit()


def _status(uow):
    with uow() as u:
        return u.outbox.counts()


def test_the_sliding_window_counts_from_when_sends_finished():
    w = SlidingWindow(2, 1.0)
    assert w.wait(0.0) == 0
    w.record(0.1)
    w.record(0.3)
    assert w.wait(0.5) == pytest.approx(0.6)
    assert w.wait(1.2) == 0


async def test_a_429_storm_loses_nothing_retries_no_earlier_than_told_and_never_breaks_a_limit(uow):
    chats = list(range(1, 31))
    async with FakeTelegram(known_chats=chats) as fake:
        fake.storm(rate=10, burst=5)  # the platform suddenly allows only 10 a second
        _enqueue(uow, chats)
        channel = PtbChannel(fake.token, fake.root_url)
        sender = Sender(uow, [channel], clock=RunningClock(CREATED))
        stats = await sender.drain(timeout=40)
        await channel.close()
        assert stats.rate_limited > 0  # the storm did hit
        assert _status(uow) == {"sent": 30}
        got = [m.chat_id for m in fake.sent()]
        assert sorted(got) == chats  # every one, once
        assert fake.early_retries() == []
        assert fake.violations() == []


async def test_the_sender_stays_within_every_limit_when_the_server_enforces_them(uow):
    chats = [7, 8, -100]  # two users and a group, many messages each
    async with FakeTelegram(known_chats=chats, enforce_limits=True) as fake:
        with uow() as u:
            for i in range(4):
                for c in chats:
                    u.outbox.enqueue("telegram", str(c), f"第{i}条", None, priority="bulk", dedupe_key=f"{c}:{i}",
                                     account_id=None)
            u.commit()
        channel = PtbChannel(fake.token, fake.root_url, limits=ChannelLimits(group_count=3, group_window=2.0))
        sender = Sender(uow, [channel], clock=RunningClock(CREATED))
        stats = await sender.drain(timeout=30)
        await channel.close()
        assert stats.rate_limited == 0 and stats.sent == 12
        assert fake.violations() == []


async def test_a_blocked_user_is_permanent_and_unsubscribed_transient_errors_are_retried(uow):
    with uow() as u:
        acc = add_account(u, "telegram", "42", CREATED, villages=("350421101001",))
        u.commit()
    async with FakeTelegram(known_chats=[42, 43]) as fake:
        fake.block(42)
        fake.fail_next("sendMessage", chat_id=43, error_code=502, times=2)
        _enqueue(uow, [42, 43, 44])  # 44: chat not found
        channel = PtbChannel(fake.token, fake.root_url)
        sender = Sender(uow, [channel], clock=RunningClock(CREATED), backoff_base=0.0, cold_start=False)
        await sender.drain(timeout=20)
        await channel.close()
    assert _status(uow) == {"permanent": 2, "sent": 1}
    with uow() as u:
        assert u.chat.account_by_id(acc).blocked
        assert u.chat.subscriptions(acc) == []
        row = next(r for r in u.outbox.rows() if r.chat_id == "43")
        assert row.attempts == 3 and row.status == "sent"


async def test_transient_failures_end_as_failed_after_the_last_attempt_visible_not_lost(uow):
    channel = InMemoryChannel(platform="telegram", script=lambda chat, text: SendResult.transient("502"))
    _enqueue(uow, [5])
    sender = Sender(uow, [channel], clock=RunningClock(CREATED), max_attempts=3, backoff_base=0.0,
                    cold_start=False)
    await sender.drain(timeout=10)
    with uow() as u:
        row = u.outbox.rows()[0]
    assert row.status == "failed" and row.attempts == 3


async def test_replies_go_before_a_bulk_announcement_already_queued(uow):
    channel = InMemoryChannel(platform="telegram", limits=ChannelLimits(global_count=1000, private_count=1000))
    _enqueue(uow, range(100, 140), tag="bulk")
    sender = Sender(uow, [channel], clock=RunningClock(CREATED), batch=10, reply_poll=0.0, cold_start=False)
    for _ in range(5):
        await sender.step()
    _enqueue(uow, [1], lane="reply", tag="reply")
    await sender.step()
    assert channel.sent[-1][0] == "1"  # the reply jumped the rest of the broadcast
    await sender.drain(timeout=10)
    assert len(channel.sent) == 41


async def test_a_message_for_a_circuit_already_started_expires_instead_of_going_out(uow):
    channel = InMemoryChannel(platform="telegram")
    with uow() as u:
        u.outbox.enqueue("telegram", "9", "预告", None, priority="bulk", dedupe_key="x", account_id=None,
                         expires_at=CREATED - timedelta(minutes=1))
        u.commit()
    await Sender(uow, [channel], clock=RunningClock(CREATED), cold_start=False).drain(timeout=5)
    assert channel.sent == [] and _status(uow) == {"expired": 1}


async def test_messages_withdrawn_after_the_sender_claimed_them_are_not_sent(uow):
    # One chat, rate limited: the sender claims all five at once and sends them one by one.
    channel = InMemoryChannel(platform="telegram", limits=ChannelLimits(private_count=1, private_window=0.3))
    with uow() as u:
        for i in range(5):
            u.outbox.enqueue("telegram", "5", f"提醒{i}", None, priority="bulk", dedupe_key=f"w:{i}",
                             account_id=None, announcement_id=7, now=CREATED)
        u.outbox.enqueue("telegram", "6", "别的", None, priority="bulk", dedupe_key="other", account_id=None,
                         now=CREATED)
        u.commit()
    sender = Sender(uow, [channel], clock=RunningClock(CREATED), cold_start=False)
    while len(channel.sent) < 2:
        await sender.step()
    assert any(m.chat_id == "5" for m, _ in sender.buffer)  # copies still held in memory
    with uow() as u:
        assert u.outbox.void_pending([7], "circuit cancelled") == 5 - sum(c == "5" for c, _ in channel.sent)
        u.commit()
    stats = await sender.drain(timeout=10)
    sent_to_5 = [c for c, _ in channel.sent if c == "5"]
    assert len(sent_to_5) < 5 and stats.withdrawn == 5 - len(sent_to_5)
    assert ("6", "别的") in channel.sent
    with uow() as u:
        assert u.outbox.counts() == {"sent": len(sent_to_5) + 1, "void": 5 - len(sent_to_5)}


async def test_a_group_gets_at_most_one_message_a_second_as_well_as_twenty_a_minute(uow):
    async with FakeTelegram(known_chats=[-100, -200]) as fake:
        # The fake counts two sends to a group within a second as a violation (Telegram's per-chat limit) …
        bot = PtbChannel(fake.token, fake.root_url, limits=ChannelLimits(private_count=1000))
        assert (await bot.send("-200", "一", None)).outcome == "ok"
        assert (await bot.send("-200", "二", None)).outcome == "ok"
        await bot.close()
        assert [(v.rule, v.chat_id) for v in fake.violations()] == [("group_chat_second", -200)]
        # … and the sender, though well within the group's 20 a minute, spaces them a second apart.
        with uow() as u:
            for i in range(3):
                u.outbox.enqueue("telegram", "-100", f"群{i}", None, priority="bulk", dedupe_key=f"g:{i}",
                                 account_id=None, now=CREATED)
            u.commit()
        channel = PtbChannel(fake.token, fake.root_url)
        stats = await Sender(uow, [channel], clock=RunningClock(CREATED), cold_start=False).drain(timeout=10)
        await channel.close()
        assert stats.sent == 3
        assert [v for v in fake.violations() if v.chat_id == -100] == []


async def test_a_restarted_sender_counts_what_the_outbox_sent_instead_of_waiting_a_whole_minute(uow):
    """WeCom allows 30 messages a minute per member. A sender started 10 s after its predecessor sent member A
    their whole minute's worth holds A back until the minute is over, and sends to member B at once (it used to
    hold every member back for a minute)."""
    from sqlmodel import select

    from storage.tables import OutboxRow

    clock = RunningClock(CREATED)
    with uow() as u:
        for i in range(3):
            u.outbox.enqueue("wecom", "A", f"早先{i}", None, priority="bulk", dedupe_key=f"old:{i}", account_id=None,
                             now=CREATED - timedelta(seconds=20))
        u.commit()
        for row in u.session.exec(select(OutboxRow)):
            row.status, row.sent_at = "sent", clock() - timedelta(seconds=10)
            u.session.add(row)
        u.commit()
    _enqueue(uow, ["A", "B"], tag="new", platform="wecom")
    channel = InMemoryChannel(platform="wecom", limits=ChannelLimits(private_count=3, private_window=60.0))
    sender = Sender(uow, [channel], clock=clock)  # a cold start, as after a restart
    await sender.drain(timeout=2)  # the overall second, then B
    assert [c for c, _ in channel.sent] == ["B"]  # A's minute is full for another 50 seconds
    with uow() as u:
        assert u.outbox.counts() == {"sent": 4, "pending": 1}
