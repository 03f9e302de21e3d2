"""Telegram through aiogram 3.x: translation only.

``AiogramAdapter(app, conversation).start()`` polls (``WEBHOOK_URL`` unset) or serves a webhook on
``WEBHOOK_LISTEN`` after ``setWebhook(WEBHOOK_URL, secret_token=WEBHOOK_SECRET)``; ``stop()`` ends either.
Requests go to ``{TELEGRAM_API_BASE_URL}/bot{token}/{method}``. Everything else (ordering per chat,
HTML, splitting, retries, menus, the webhook secret) is in :mod:`bot.transports.telegram.bridge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

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

# aiogram checks every answer as ``Response[<the method's result type>]``, a pydantic generic model, and pydantic
# keeps those parametrised classes in a *weak* cache: with nothing else holding them they are collected and
# rebuilt, call after call (measured: a quarter of a busy bot's event loop). Holding them here keeps them built.
_RESPONSE_TYPES = tuple(
    Response[m.__returning__]  # type: ignore[name-defined]
    for m in (AnswerCallbackQuery, DeleteMyCommands, DeleteWebhook, EditMessageText, GetMe, GetUpdates, SendMessage,
              SendPhoto, SendDocument, SetMyCommands, SetWebhook)
)


def _markup(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in rows
    ])


class AiogramApi:
    """The bridge's Bot API calls through an aiogram ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, msg: Rendered) -> None:
        """sendMessage, editMessageText for an edit (no markup: the old keyboard goes away), sendPhoto for a photo,
        sendDocument for a file."""
        if msg.photo is not None:
            await self.bot.send_photo(msg.chat_id, BufferedInputFile(msg.photo, filename="qr.png"), caption=msg.html,
                                      parse_mode="HTML")
        elif msg.document is not None:
            await self.bot.send_document(msg.chat_id, BufferedInputFile(msg.document, filename=msg.filename),
                                         caption=msg.html, parse_mode="HTML")
        elif msg.edit_message_id is not None:
            await self.bot.edit_message_text(text=msg.html, chat_id=msg.chat_id, message_id=msg.edit_message_id,
                                             parse_mode="HTML", reply_markup=_markup(msg.keyboard))
        else:
            await self.bot.send_message(msg.chat_id, msg.html, parse_mode="HTML", reply_markup=_markup(msg.keyboard))

    async def answer_callback(self, query_id: str) -> None:
        """answerCallbackQuery."""
        await self.bot.answer_callback_query(query_id)

    async def fetch_file(self, file_id: str) -> bytes:
        """getFile, then the file's bytes."""
        found = await self.bot.download(file_id)
        return found.read() if found is not None else b""

    async def set_menu(self, chat_id: int | None, commands: Sequence[tuple[str, str]]) -> None:
        """setMyCommands, per chat or default."""
        scope = BotCommandScopeChat(chat_id=chat_id) if chat_id is not None else None
        await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands], scope=scope)

    async def delete_menu(self, chat_id: int) -> None:
        """deleteMyCommands for one chat."""
        await self.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=chat_id))

    def classify(self, error: Exception) -> tuple[Failure, float]:
        """aiogram exceptions → failure kinds."""
        if isinstance(error, TelegramRetryAfter):
            return Failure.RETRY_AFTER, float(error.retry_after)
        if isinstance(error, TelegramForbiddenError):
            return Failure.BLOCKED, 0.0
        if isinstance(error, TelegramBadRequest):
            return bad_request_failure(error.message), 0.0
        return Failure.OTHER, 0.0


class AiogramAdapter:
    """One bot on aiogram: ``await start()``, ``await stop()``; polling or webhook per settings.

    Args:
        app: the composition root (``bot.bootstrap.App``): settings and the unit of work.
        conversation: the handlers' ``Conversation``.
        poll_timeout: long-poll seconds of getUpdates.
    """

    def __init__(self, app: Any, conversation: Any, *, poll_timeout: int = 10) -> None:
        settings = app.settings
        if not settings.telegram_token:
            raise SystemExit("TELEGRAM_TOKEN 未设置 / TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.poll_timeout = poll_timeout
        # from_base appends /bot{token}/{method} itself.
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base_url))
        self.bot = Bot(settings.telegram_token, session=session)
        self.dispatcher = Dispatcher()
        self.dispatcher.message.register(self._on_message)
        self.dispatcher.callback_query.register(self._on_callback_query)
        self.bridge = TelegramBridge(app, conversation, AiogramApi(self.bot), images=build_qr_images(app),
                                     posters=build_posters(app))
        self.webhook: WebhookServer | None = None
        self.webhook_secret = settings.webhook_secret or new_webhook_secret()
        register_secret(self.webhook_secret)
        self._polling: asyncio.Task[None] | None = None
        self._started = False

    async def _on_message(self, message: Message, event_update: Update) -> None:
        self.feed(event_update)

    async def _on_callback_query(self, query: CallbackQuery, event_update: Update) -> None:
        self.feed(event_update)

    def feed(self, update: Update) -> asyncio.Future[None]:
        """Queue one aiogram update; the future completes once it was handled and answered."""
        inbound, query_id = to_inbound(update)
        return self.bridge.submit(inbound, query_id)

    async def _feed_json(self, data: dict[str, Any]) -> None:
        update = Update.model_validate(data, context={"bot": self.bot})
        await self.feed(update)

    async def start(self) -> None:
        """Connect, register the default menu, then poll or open the webhook."""
        me = await self.bot.me()
        services = getattr(self.bridge.conversation, "services", None)
        if services is not None and services.bot_username is None:
            services.bot_username = me.username
        await self.bridge.start()
        self._started = True
        if self.settings.webhook_url is None:
            await self.bot.delete_webhook()  # getUpdates answers 409 while a webhook is set
            # handle_as_tasks=False: our handlers only queue, so queueing follows update order; the
            # per-chat queues then work concurrently.
            self._polling = asyncio.create_task(self.dispatcher.start_polling(
                self.bot, polling_timeout=self.poll_timeout, handle_as_tasks=False, handle_signals=False,
                close_bot_session=False, allowed_updates=ALLOWED_UPDATES))
            log.info("polling Telegram as @%s (aiogram)", me.username)
            return
        self.webhook = WebhookServer(self.settings.webhook_listen, webhook_path(self.settings.webhook_url),
                                     self.webhook_secret, self._feed_json)
        await self.webhook.start()
        await self.bot.set_webhook(self.settings.webhook_url, secret_token=self.webhook_secret,
                                   allowed_updates=ALLOWED_UPDATES)
        log.info("webhook for @%s on %s (aiogram)", me.username, self.settings.webhook_listen)

    async def stop(self) -> None:
        """Stop receiving, finish queued updates, close connections (the webhook stays set for other workers)."""
        if not self._started:
            return
        self._started = False
        if self._polling is not None:
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:  # stopped before polling got going
                self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        await self.bridge.queues.drain()
        self.bridge.close()
        await self.bot.session.close()


async def serve(app: Any, conversation: Any, stop: asyncio.Event) -> None:
    """Run the aiogram transport until ``stop`` is set."""
    adapter = AiogramAdapter(app, conversation)
    await adapter.start()
    try:
        await stop.wait()
    finally:
        await adapter.stop()
