"""Replies and the outbox sender in one process share the bot's overall Telegram budget."""

from __future__ import annotations

from bot.delivery.channels import InMemoryChannel
from bot.delivery.sender import Sender, process_budget
from bot.transports.telegram.bridge import PLATFORM, TelegramBridge


def test_the_sender_and_the_transport_draw_on_one_budget(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    from datetime import UTC, datetime

    channel = InMemoryChannel(platform=PLATFORM)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    sender = Sender(lambda: None, [channel], clock=clock, share_budget=True, cold_start=False)
    bridge = TelegramBridge(app=None, conversation=None, api=None, workers=1)
    try:
        assert sender.limiters[PLATFORM].global_ is bridge.budget is process_budget(PLATFORM)
        # A worker process of its own has its own budget.
        alone = Sender(lambda: None, [channel], clock=clock, cold_start=False)
        assert alone.limiters[PLATFORM].global_ is not bridge.budget
    finally:
        bridge.close()


async def test_a_reply_takes_the_next_free_slot_before_the_broadcast():
    """During a broadcast the budget is full; a person's reply must not queue behind the whole broadcast."""
    import asyncio
    import time

    from bot.delivery.sender import ChannelLimiter, SlidingWindow, take_turn

    limiter = ChannelLimiter(InMemoryChannel(platform="x"))
    limiter.global_ = budget = SlidingWindow(5, 0.3)
    order: list[str] = []

    async def broadcast() -> None:  # the sender's way of waiting for the global budget
        for _ in range(15):
            while (wait := limiter.wait_global(time.monotonic())) > 0:
                await asyncio.sleep(wait)
            budget.record(time.monotonic())
            order.append("b")

    async def reply() -> None:
        await asyncio.sleep(0.05)  # the first five broadcast slots are taken by now
        await take_turn(budget)
        order.append("r")

    await asyncio.gather(broadcast(), reply())
    assert order.index("r") == 5, order


def test_the_sender_spreads_a_broadcast_so_a_reply_never_waits_behind_a_burst():
    """Each send of the sender takes 5 ms; whenever a person's reply arrives during the broadcast, the shared
    budget has a slot free within one window's share (1 s / 5 here), not after the rest of the second."""
    from collections import deque

    from bot.delivery.sender import ChannelLimiter, SlidingWindow

    limiter = ChannelLimiter(InMemoryChannel(platform="x"))
    limiter.global_ = budget = SlidingWindow(5, 1.0)
    now, finished = 0.0, []
    while len(finished) < 20:  # the sender's loop, on a simulated clock
        if (wait := limiter.wait_global(now)) > 0:
            now += wait
            continue
        limiter.started(now)
        now += 0.005
        budget.record(now)
        finished.append(now)
    for tick in range(int(finished[-1] * 100)):
        arrival = tick / 100
        seen = SlidingWindow(5, 1.0)
        seen.done = deque(f for f in finished if f <= arrival)
        assert seen.wait(arrival) <= 1.0 / 5 + 0.005, arrival
