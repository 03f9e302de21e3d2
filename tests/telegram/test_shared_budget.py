"""Replies and the outbox sender in one process share the bot's overall Telegram budget."""

from __future__ import annotations

from bot.channels import InMemoryChannel
from bot.sender import Sender, process_budget
from bot.telegram_common import PLATFORM, TelegramBridge


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

    from bot.sender import ChannelLimiter, SlidingWindow, take_turn

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
