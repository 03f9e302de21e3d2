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
