"""Telegram through python-telegram-bot 22.x (the default Telegram transport): translation only.

``PtbAdapter(app, conversation).start()`` polls (``WEBHOOK_URL`` unset) or serves a webhook on
``WEBHOOK_LISTEN`` after ``setWebhook(WEBHOOK_URL, secret_token=WEBHOOK_SECRET)``; ``stop()`` ends either.
Requests go to ``{TELEGRAM_API_BASE_URL}/bot{token}/{method}``. Everything else (ordering per chat,
HTML, splitting, retries, menus, the webhook secret) is in :mod:`bot.transports.telegram.bridge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.bootstrap import build_posters, build_qr_images
from bot.logging_setup import register_secret
from bot.transports.telegram.bridge import (
    ALLOWED_UPDATES,
    Failure,
    Rendered,
    TelegramBridge,
    WebhookServer,
    bad_request_failure,
    new_webhook_secret,
    to_inbound,
    webhook_path,
)

log = logging.getLogger(__name__)


def _markup(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows])


class PtbApi:
    """The bridge's Bot API calls through a PTB ``Bot``."""

    def __init__(self, application: Application) -> None:
        self.application = application

    async def send(self, msg: Rendered) -> None:
        """sendMessage, editMessageText for an edit (no markup: the old keyboard goes away), sendPhoto for a photo,
        sendDocument for a file."""
        bot = self.application.bot
        if msg.photo is not None:
            await bot.send_photo(msg.chat_id, msg.photo, caption=msg.html, parse_mode="HTML", filename="qr.png")
        elif msg.document is not None:
            await bot.send_document(msg.chat_id, msg.document, caption=msg.html, parse_mode="HTML",
                                    filename=msg.filename)
        elif msg.edit_message_id is not None:
            await bot.edit_message_text(msg.html, chat_id=msg.chat_id, message_id=msg.edit_message_id,
                                        parse_mode="HTML", reply_markup=_markup(msg.keyboard))
        else:
            await bot.send_message(msg.chat_id, msg.html, parse_mode="HTML", reply_markup=_markup(msg.keyboard))

    async def answer_callback(self, query_id: str) -> None:
        """answerCallbackQuery."""
        await self.application.bot.answer_callback_query(query_id)

    async def set_menu(self, chat_id: int | None, commands: Sequence[tuple[str, str]]) -> None:
        """setMyCommands, per chat or default."""
        scope = BotCommandScopeChat(chat_id) if chat_id is not None else None
        await self.application.bot.set_my_commands([BotCommand(c, d) for c, d in commands], scope=scope)

    async def delete_menu(self, chat_id: int) -> None:
        """deleteMyCommands for one chat."""
        await self.application.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))

    async def fetch_file(self, file_id: str) -> bytes:
        """getFile, then the file's bytes."""
        found = await self.application.bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    def classify(self, error: Exception) -> tuple[Failure, float]:
        """PTB exceptions → failure kinds."""
        if isinstance(error, RetryAfter):
            wait = error.retry_after
            return Failure.RETRY_AFTER, wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        if isinstance(error, Forbidden):
            return Failure.BLOCKED, 0.0
        if isinstance(error, BadRequest):
            return bad_request_failure(error.message), 0.0
        return Failure.OTHER, 0.0


class PtbAdapter:
    """One bot on python-telegram-bot: ``await start()``, ``await stop()``; polling or webhook per settings.

    Args:
        app: the composition root (``bot.bootstrap.App``): settings and the unit of work.
        conversation: the handlers' ``Conversation``.
        poll_timeout: long-poll seconds of getUpdates.
    """

    def __init__(self, app: Any, conversation: Any, *, poll_timeout: float = 10.0) -> None:
        settings = app.settings
        if not settings.telegram_token:
            raise SystemExit("TELEGRAM_TOKEN 未设置 / TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.poll_timeout = poll_timeout
        # PTB appends the token to base_url itself: {root}/bot + token + /method.
        self.application = (
            Application.builder()
            .token(settings.telegram_token)
            .base_url(f"{settings.telegram_api_base_url}/bot")
            .base_file_url(f"{settings.telegram_api_base_url}/file/bot")
            .build()
        )
        # One catch-all handler that only queues: PTB handles updates one by one (its default), so the queue
        # order is the update order, and the per-chat queues do the work concurrently.
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.bridge = TelegramBridge(app, conversation, PtbApi(self.application), images=build_qr_images(app),
                                     posters=build_posters(app))
        self.webhook: WebhookServer | None = None
        self.webhook_secret = settings.webhook_secret or new_webhook_secret()
        register_secret(self.webhook_secret)
        self._started = False

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.feed(update)

    def feed(self, update: Update) -> asyncio.Future[None]:
        """Queue one PTB update; the future completes once it was handled and answered."""
        inbound, query_id = to_inbound(update)
        return self.bridge.submit(inbound, query_id)

    async def _feed_json(self, data: dict[str, Any]) -> None:
        update = Update.de_json(data, self.application.bot)
        await self.feed(update)

    async def start(self) -> None:
        """Connect, register the default menu, then poll or open the webhook."""
        await self.application.initialize()
        me = self.application.bot.bot
        services = getattr(self.bridge.conversation, "services", None)
        if services is not None and services.bot_username is None:
            services.bot_username = me.username
        await self.bridge.start()
        await self.application.start()
        self._started = True
        if self.settings.webhook_url is None:
            assert self.application.updater is not None
            await self.application.updater.start_polling(  # also deletes a webhook left behind
                poll_interval=0, timeout=timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES)
            log.info("polling Telegram as @%s (python-telegram-bot)", me.username)
            return
        self.webhook = WebhookServer(self.settings.webhook_listen, webhook_path(self.settings.webhook_url),
                                     self.webhook_secret, self._feed_json)
        await self.webhook.start()
        await self.application.bot.set_webhook(self.settings.webhook_url, secret_token=self.webhook_secret,
                                               allowed_updates=ALLOWED_UPDATES)
        log.info("webhook for @%s on %s (python-telegram-bot)", me.username, self.settings.webhook_listen)

    async def stop(self) -> None:
        """Stop receiving, finish queued updates, close connections (the webhook stays set for other workers)."""
        if not self._started:
            return
        self._started = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        await self.bridge.queues.drain()
        self.bridge.close()
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.application.stop()
        await self.application.shutdown()


async def serve(app: Any, conversation: Any, stop: asyncio.Event) -> None:
    """Run the python-telegram-bot transport until ``stop`` is set."""
    adapter = PtbAdapter(app, conversation)
    await adapter.start()
    try:
        await stop.wait()
    finally:
        await adapter.stop()
