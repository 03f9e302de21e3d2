"""Outbound channels: what the sender needs from a chat platform — send one message, say how it went.

``BaseChannel`` is the interface; ``InMemoryChannel`` records (tests), ``ConsoleChannel`` prints, and
``PtbChannel`` sends through python-telegram-bot's ``Bot`` (against Telegram or the local fake server).
A channel never retries: it reports ``SendResult`` and the sender decides.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "retry_after", "permanent", "transient"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one send went: ok, retry after N seconds, permanent (blocked, chat not found …) or transient."""

    outcome: Outcome
    retry_after: float = 0.0
    reason: str = ""
    # retry_after for this chat only (an SMS provider's limit per number): the channel goes on with other chats.
    chat_only: bool = False

    @classmethod
    def ok(cls) -> SendResult:
        """Accepted by the platform."""
        return cls("ok")

    @classmethod
    def wait(cls, seconds: float) -> SendResult:
        """Rate limited: nothing may be sent before ``seconds`` elapsed."""
        return cls("retry_after", retry_after=float(seconds), reason="retry_after")

    @classmethod
    def permanent(cls, reason: str) -> SendResult:
        """Will never succeed: ``blocked``, ``chat_not_found``, ``bad_request`` …"""
        return cls("permanent", reason=reason)

    @classmethod
    def transient(cls, reason: str) -> SendResult:
        """May succeed later (network, 5xx)."""
        return cls("transient", reason=reason)


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """Rate limits of a platform: overall, per private chat, per group, each as (count, window seconds)."""

    global_count: int = 30
    global_window: float = 1.0
    private_count: int = 1
    private_window: float = 1.0
    group_count: int = 20
    group_window: float = 60.0


class BaseChannel:
    """A platform the sender can deliver to."""

    platform: str = "base"
    limits: ChannelLimits = ChannelLimits()

    def is_group(self, chat_id: str) -> bool:
        """Groups have their own limit (Telegram: negative chat ids)."""
        return chat_id.startswith("-")

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """Send one message.

        Args:
            chat_id: the platform's chat id, as text.
            text: the message.
            buttons: rows of ``{"label", "data"}`` or None.

        Returns:
            The outcome; never raises for platform errors.
        """
        raise NotImplementedError

    async def send_announcement(self, chat_id: str, text: str, buttons: list[list[dict]] | None,
                                announcement_id: int) -> SendResult:
        """Send a copy of an announcement; a platform that shows announcements its own way (the Official
        Account's template messages) overrides this. By default it is a message like any other."""
        return await self.send(chat_id, text, buttons)

    async def close(self) -> None:
        """Release connections."""


@dataclass
class InMemoryChannel(BaseChannel):
    """Records what was sent; ``script`` may answer a send with a prepared result (tests)."""

    platform: str = "test"
    limits: ChannelLimits = field(default_factory=ChannelLimits)
    script: Callable[[str, str], SendResult | None] | None = None
    delay: float = 0.0
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """Record (or answer with the script's result)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        result = self.script(chat_id, text) if self.script else None
        if result is not None:
            return result
        self.sent.append((chat_id, text))
        return SendResult.ok()


class ConsoleChannel(BaseChannel):
    """Prints messages (the local console transport and demos).

    With ``screens`` (the console's, ``bot.transports.console_screens.ConsoleScreens``) a message names its
    recipient and its buttons are numbered on the recipient's screen, so they can be pressed by switching to that
    person.
    """

    def __init__(self, platform: str = "console", stream=None, screens=None):
        self.platform = platform
        self.limits = ChannelLimits(global_count=1000, private_count=1000, group_count=1000)
        self.stream = stream or sys.stdout
        self.screens = screens

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """Print the message with its buttons."""
        if self.screens is not None:
            pairs = [(str(b.get("label")), str(b.get("data"))) for row in buttons or [] for b in row]
            shown = await asyncio.to_thread(self.screens.notice, chat_id, text, pairs)
            self.stream.write(shown + "\n")
        else:
            self.stream.write(f"[→ {chat_id}] {text}\n")
            for row in buttons or []:
                self.stream.write("   " + "  ".join(f"[{b.get('label')}]" for b in row) + "\n")
        self.stream.flush()
        return SendResult.ok()


class PtbChannel(BaseChannel):
    """Telegram through python-telegram-bot's ``Bot`` (``base_url`` points at the fake server in tests)."""

    def __init__(self, token: str, base_url: str = "https://api.telegram.org", *, platform: str = "telegram",
                 limits: ChannelLimits | None = None, timeout: float = 10.0):
        from telegram import Bot
        from telegram.request import HTTPXRequest

        self.platform = platform
        self.limits = limits or ChannelLimits()
        # PTB appends the token to base_url itself; Telegram's own rate limiting is our job, not PTB's.
        request = HTTPXRequest(connection_pool_size=8, read_timeout=timeout, write_timeout=timeout,
                               connect_timeout=timeout)
        self.bot = Bot(token, base_url=f"{base_url.rstrip('/')}/bot", request=request)
        self._started = False

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """sendMessage, with Telegram's errors mapped to outcomes."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

        if not self._started:
            await self.bot.initialize()
            self._started = True
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b["label"], callback_data=b["data"]) for b in row] for row in buttons])
        try:
            await self.bot.send_message(chat_id=int(chat_id), text=text, reply_markup=markup)
        except RetryAfter as e:
            ra = e.retry_after
            return SendResult.wait(ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra))
        except Forbidden as e:
            return SendResult.permanent("blocked" if "blocked" in e.message or "kicked" in e.message else "forbidden")
        except BadRequest as e:
            msg = e.message.lower()
            if "chat not found" in msg or "user not found" in msg:
                return SendResult.permanent("chat_not_found")
            return SendResult.permanent(f"bad_request: {e.message[:80]}")
        except (TimedOut, NetworkError) as e:
            return SendResult.transient(type(e).__name__ + ": " + str(e)[:80])
        except TelegramError as e:
            return SendResult.transient(str(e)[:100])
        return SendResult.ok()

    async def close(self) -> None:
        """Shut PTB's HTTP client down."""
        if self._started:
            await self.bot.shutdown()
            self._started = False
