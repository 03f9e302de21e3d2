"""What the python-telegram-bot and aiogram adapters share: rendering, menus, ordering, the webhook guard.

Neither adapter holds a business rule. Each translates its library's ``Update`` into an ``Inbound``, hands it
to :class:`TelegramBridge`, and implements :class:`TelegramApi` (five Bot API calls plus an error
classifier). The bridge does the rest the same way for both:

* updates of one chat are handled one after the other (:class:`ChatQueues`), different chats in parallel;
  the synchronous handlers run in worker threads so the event loop keeps polling (one thread on SQLite,
  which takes one writer at a time, eight on PostgreSQL);
* replies are HTML with every handler-produced character escaped (the handlers produce plain text), split
  at 4096 visible characters, buttons become inline keyboards whose callback_data is the opaque token; a reply's
  QR code (where an Official Account makes them) follows its text as a photo with the code's caption, and a
  page to print (a poster) as a PDF document;
* a 429 is waited out (``retry_after``) and retried; a 403 (blocked by the user) marks the account
  blocked, so notifications skip it until the user writes again;
* after each update the chat's role is looked up and, when it changed, the chat's command menu is replaced
  (``setMyCommands`` with a chat scope);
* webhook calls must carry ``X-Telegram-Bot-Api-Secret-Token``, compared in constant time.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web

from bot.delivery.poster import Posters
from bot.delivery.qr import QrImages
from bot.delivery.sender import end_turn, process_budget, shared_budget, take_turn
from bot.transports.handler_pool import HandlerProcesses, run_update
from bot.transports.serving import ChatQueues, listen_address
from domain.staff import Role
from handlers.core import ROLE_PREFERENCE, Attachment, Button, Inbound, Outbound, Printable, split_text

log = logging.getLogger(__name__)

PLATFORM = "telegram"  # both adapters: the same bot and user may move between them, state is in the DB
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024  # characters of a photo's caption
CALLBACK_DATA_LIMIT = 64  # bytes
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_SEND_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0  # a longer ban is not waited out inside an update; the reply is dropped and logged
ALLOWED_UPDATES = ["message", "callback_query"]

# Command menus per role (Telegram: a-z, 0-9, _; descriptions 1-256 characters). Residents and people not
# yet bound share the default menu. Kept here, not in the text catalogue, because only Telegram shows them.
MENUS: dict[str, tuple[tuple[str, str], ...]] = {
    "anonymous": (
        ("start", "选择村庄，订阅坐诊预告"),
        ("unsubscribe", "取消订阅"),
        ("mydata", "查看我的信息"),
        ("forget", "撤回同意并删除我的信息"),
        ("help", "帮助"),
    ),
    "village_doctor": (("new", "登记一条需求订单"), ("orders", "查看本村的订单"), ("qr", "本村订阅坐诊预告的二维码"),
                       ("visits", "本村近期巡诊和海报"), ("tasks", "随访任务"), ("survey", "摸底导入（发送摸底表）"),
                       ("cancel", "取消当前操作"), ("help", "帮助")),
    "township_reviewer": (("pending", "待初审的订单"), ("cancel", "取消当前操作"), ("help", "帮助")),
    "hospital_reviewer": (("pending", "待处理的订单"), ("referrals", "上转病人"), ("slots", "转诊号源"),
                          ("remote", "远程会诊：改期、取消"), ("cancel", "取消当前操作"), ("help", "帮助")),
    "expert": (("circuits", "我的巡诊安排"), ("remote", "我的远程会诊，登记结果"), ("cancel", "取消当前操作"),
               ("help", "帮助")),
    "admin": (("status", "数据概况"), ("help", "帮助")),
}
ROLE_SWITCH = ("role", "切换身份")
DEFAULT_MENU = "anonymous"


# ---------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class Rendered:
    """One Bot API message: escaped HTML text and inline keyboard rows of (label, callback_data)."""

    chat_id: int
    html: str
    keyboard: tuple[tuple[tuple[str, str], ...], ...] = ()
    edit_message_id: int | None = None
    photo: bytes | None = None  # a photo (PNG) with ``html`` as its caption
    document: bytes | None = None  # a file (a poster's PDF) named ``filename``, with ``html`` as its caption
    filename: str = ""


def escape(text: str) -> str:
    """Escape plain handler text for ``parse_mode=HTML`` (``&``, ``<``, ``>``; quotes are harmless outside tags)."""
    return html.escape(text, quote=False)


def keyboard_rows(buttons: Sequence[Sequence[Button]]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Inline keyboard rows; a button whose token would not fit callback_data is left out (and logged)."""
    rows = []
    for row in buttons:
        kept = []
        for b in row:
            if 1 <= len(b.data.encode()) <= CALLBACK_DATA_LIMIT:
                kept.append((b.label, b.data))
            else:
                log.error("button %r dropped: callback_data of %d bytes", b.label, len(b.data.encode()))
        if kept:
            rows.append(tuple(kept))
    return tuple(rows)


def render(out: Outbound) -> list[Rendered]:
    """The Bot API messages for one Outbound: split at 4096 visible characters, then escaped.

    Telegram counts the limit after entity parsing, so escaping (``<`` → ``&lt;``) does not lengthen the
    text as Telegram counts it: split the plain text, then escape each part. Buttons go on the last part;
    an edit replaces the old message with the first part and sends the rest as new messages.
    """
    try:
        chat_id = int(out.chat_id)
    except ValueError:
        log.error("outbound to a non-numeric telegram chat id %r dropped", out.chat_id)
        return []
    chunks = [c for c in split_text(out.text, TEXT_LIMIT) if c.strip()]
    if not chunks:
        return []
    rows = keyboard_rows(out.buttons)
    edit = int(out.edit_message_id) if out.edit_message_id and out.edit_message_id.isdigit() else None
    result = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        result.append(Rendered(chat_id, escape(chunk), rows if last else (), edit if i == 0 else None))
    return result


# ---------------------------------------------------------------------------------------------- webhook guard


def secret_status(expected: str, got: str | None) -> int:
    """200 if the webhook secret matches (constant-time), 401 if missing, 403 if wrong."""
    if not got:
        return 401
    return 200 if hmac.compare_digest(got.encode(), expected.encode()) else 403


def webhook_path(url: str) -> str:
    """The path part of the public webhook URL, which is where the local server listens."""
    return urlsplit(url).path or "/"


def new_webhook_secret() -> str:
    """A secret_token Telegram accepts (1-256 of A-Z a-z 0-9 _ -), for when none is configured."""
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------------------------------------- the bridge


class Failure(enum.Enum):
    """How a Bot API error is treated."""

    RETRY_AFTER = "retry_after"  # 429: wait, then try again
    BLOCKED = "blocked"  # 403: the user blocked the bot or left the chat
    NOT_MODIFIED = "not_modified"  # 400 on an edit that changes nothing: harmless
    EDIT_FAILED = "edit_failed"  # 400 on an edit (message gone, too old): send it as a new message
    OTHER = "other"


def bad_request_failure(message: str) -> Failure:
    """A 400's kind from its description (both libraries pass Telegram's text through)."""
    text = message.lower()
    if "not modified" in text:
        return Failure.NOT_MODIFIED
    if "edit" in text:
        return Failure.EDIT_FAILED
    return Failure.OTHER


class TelegramApi(Protocol):
    """The few Bot API calls the bridge needs, implemented once per library."""

    async def send(self, msg: Rendered) -> None:
        """sendMessage (or editMessageText when ``msg.edit_message_id`` is set, sendPhoto when ``msg.photo`` is,
        sendDocument when ``msg.document`` is) with parse_mode HTML."""

    async def answer_callback(self, query_id: str) -> None:
        """answerCallbackQuery without text: the client stops its spinner."""

    async def set_menu(self, chat_id: int | None, commands: Sequence[tuple[str, str]]) -> None:
        """setMyCommands for one private chat, or the default scope when ``chat_id`` is None."""

    async def delete_menu(self, chat_id: int) -> None:
        """deleteMyCommands for one chat (it falls back to the default menu)."""

    async def fetch_file(self, file_id: str) -> bytes:
        """A file a user sent, whole (getFile, then its URL)."""
        ...

    def classify(self, error: Exception) -> tuple[Failure, float]:
        """What kind of failure ``error`` is, with retry_after seconds for a 429."""


async def _nothing() -> None:
    return None


def menu_name(acc: Any, standing: tuple[bool, frozenset[Role]] | None) -> str:
    """The menu for an account: its acting role (as the handlers resolve it) given the staff member's
    (active, roles), with the role switch when they hold several; the default menu otherwise."""
    if acc is None or standing is None or not standing[0]:
        return DEFAULT_MENU
    roles = standing[1]
    role = acc.acting_role if acc.acting_role in roles else next((r for r in ROLE_PREFERENCE if r in roles), None)
    if role is None or role.value not in MENUS:
        return DEFAULT_MENU
    return role.value + ("+role" if len(roles) > 1 else "")


def read_menu(uow: Any, acc: Any) -> str:
    """The menu an account should see, read once its update is stored (a module function: it is pickled to
    handler processes by reference)."""
    return menu_name(acc, uow.staff.standing(acc.staff_id) if acc.staff_id else None)


class TelegramBridge:
    """Hands updates to the conversation in per-chat order and sends what it answers; shared by both adapters."""

    def __init__(self, app: Any, conversation: Any, api: TelegramApi, *, workers: int | None = None,
                 images: QrImages | None = None, posters: Posters | None = None) -> None:
        self.app = app
        self.conversation = conversation
        self.api = api
        self.images = images  # None: no Official Account to make QR codes, the text goes alone
        self.posters = posters  # None: pages to print cannot be made here (the user is told so)
        settings = getattr(app, "settings", None)  # unit tests drive the bridge without an app
        rate = settings.send_rate if settings is not None else 30
        self.budget = process_budget(PLATFORM, rate)
        # Every process replying or broadcasting on this token draws on one budget, through the database.
        self.shared = (shared_budget(app.uow, str(settings.database_url), PLATFORM, settings.telegram_token, rate)
                       if settings is not None else None)
        # SQLite takes one writer at a time and its busy handler sleeps: more threads only add waiting.
        # PostgreSQL runs transactions side by side, so several threads pay off there.
        self.workers = workers or (1 if str(app.settings.database_url).startswith("sqlite") else 8)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="telegram-handler")
        n = settings.handler_processes if settings is not None else 0
        self.processes = HandlerProcesses(settings, n) if n > 0 else None
        self.queues = ChatQueues()
        self._menus: dict[int, str] = {}  # chat id → menu in effect, as far as this process knows

    # --- inbound ------------------------------------------------------------------------------------------

    def submit(self, inbound: Inbound | None, callback_query_id: str | None = None) -> asyncio.Future[None]:
        """Queue one translated update (None: nothing to handle, but a button press is still answered)."""
        if inbound is None:
            query_id = callback_query_id
            return self.queues.submit(f"q{query_id}", lambda: self._answer(query_id) if query_id else _nothing())
        return self.queues.submit(inbound.chat_id, lambda: self._process(inbound, callback_query_id))

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def close(self) -> None:
        """Release the worker threads and processes (after the queues drained)."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.processes is not None:
            self.processes.close()

    async def _answer(self, query_id: str) -> None:
        try:
            await self.api.answer_callback(query_id)
        except Exception as e:  # a late answer ("query is too old") must not stop the update
            log.warning("answerCallbackQuery failed: %s", e)

    async def _process(self, inbound: Inbound, callback_query_id: str | None) -> None:
        # Answer the press at once so the spinner stops, whatever the handler then does.
        answering = asyncio.create_task(self._answer(callback_query_id)) if callback_query_id else None
        # A document is fetched only for someone who may send one: anybody else's is refused unread.
        if inbound.attachment is not None and inbound.attachment.ref \
                and await self._in_thread(self.conversation.takes_file, inbound):
            inbound = await self._fetched(inbound)
        try:
            # The conversation, and the menu this user should now see, read on the update's own unit of work.
            read = self._menu_reader(inbound)
            if self.processes is not None:
                outs, menu = await self.processes.run(inbound, read)
            else:
                outs, menu = await self._in_thread(run_update, self.conversation, inbound, read)
        finally:
            if answering is not None:
                await answering
        for out in outs:
            if out.platform == PLATFORM:
                await self.deliver(out)
        if menu is not None:
            await self._update_menu(int(inbound.chat_id), menu)

    async def _fetched(self, inbound: Inbound) -> Inbound:
        """The inbound with its document's bytes (empty if Telegram would not give them: the handlers say the file
        could not be read)."""
        att = inbound.attachment
        assert att is not None
        try:
            data = await self.api.fetch_file(att.ref)
        except Exception as e:
            log.warning("document from chat %s not fetched: %s", inbound.chat_id, e)
            data = b""
        return replace(inbound, attachment=replace(att, data=data, ref=""))

    def _menu_reader(self, inbound: Inbound) -> Callable[[Any, Any], str] | None:
        """``read_menu`` when this update may change the user's menu (group chats keep the default one)."""
        if inbound.chat_id != inbound.user_id or not self._menu_may_change(inbound):
            return None
        return read_menu

    def _menu_may_change(self, inbound: Inbound) -> bool:
        """Whether to look the role up again: always for a chat new to this process, then only after updates
        that can bind or switch a role: /start, /role, button presses, and free text from someone not yet bound
        (an invitee typing their name). Other updates cannot change the role, so they skip the lookup."""
        known = self._menus.get(int(inbound.chat_id))
        if known is None or inbound.button is not None:
            return True
        text = (inbound.text or "").strip()
        if not text.startswith("/") or len(text) == 1:
            return known == DEFAULT_MENU
        return text[1:].split(maxsplit=1)[0].split("@")[0].lower() in ("start", "role")

    # --- menus --------------------------------------------------------------------------------------------

    @staticmethod
    def menu_commands(menu: str) -> tuple[tuple[str, str], ...]:
        """The commands of a menu name as returned by ``menu_name``."""
        role, _, switch = menu.partition("+")
        return MENUS[role] + ((ROLE_SWITCH,) if switch else ())

    async def start(self) -> None:
        """Start the handler processes (if configured) and register the default menu."""
        if self.processes is not None:
            await self.processes.start()
        await self.set_default_menu()

    async def set_default_menu(self) -> None:
        """Register the residents' menu for every chat (called once at start)."""
        try:
            await self.api.set_menu(None, self.menu_commands(DEFAULT_MENU))
        except Exception as e:
            log.warning("setMyCommands (default) failed: %s", e)

    async def _update_menu(self, chat_id: int, menu: str) -> None:
        current = self._menus.get(chat_id)  # None: never set by this process, so the default (or stale) one
        if menu == current or (menu == DEFAULT_MENU and current is None):
            self._menus[chat_id] = menu
            return
        try:
            if menu == DEFAULT_MENU:
                await self.api.delete_menu(chat_id)
            else:
                await self.api.set_menu(chat_id, self.menu_commands(menu))
            self._menus[chat_id] = menu
        except Exception as e:
            log.warning("setMyCommands for chat %s failed: %s", chat_id, e)

    # --- outbound -----------------------------------------------------------------------------------------

    async def deliver(self, out: Outbound) -> None:
        """Send one Outbound (edits included), then its QR code as a photo and its page as a document; never raises."""
        for msg in render(out):
            await self._send(msg)
        if not out.chat_id.lstrip("-").isdigit():
            return
        if out.qr is not None and self.images is not None:
            png = await asyncio.to_thread(self.images.png, out.qr)  # the Official Account's API: not the handlers'
            if png is not None:
                await self._send(Rendered(int(out.chat_id), escape(out.qr.caption[:CAPTION_LIMIT]), photo=png))
        if out.document is not None:
            await self._send(await self._document(int(out.chat_id), out.document))
        if out.attachment is not None:
            await self._send(Rendered(int(out.chat_id), escape(out.attachment.caption[:CAPTION_LIMIT]),
                                      document=out.attachment.data, filename=out.attachment.filename))

    async def _document(self, chat_id: int, doc: Printable) -> Rendered:
        """The page as a PDF document (laid out in a thread), or the sentence saying it cannot be made here."""
        try:
            if self.posters is None:
                raise RuntimeError("no poster renderer")
            page = await asyncio.to_thread(self.posters.pdf, doc.sheet)
        except Exception as e:  # no Chinese font, no QR code: logged for the operator, the user hears why
            log.error("poster for chat %s not made: %s", chat_id, e)
            return Rendered(chat_id, escape(doc.unavailable))
        return Rendered(chat_id, escape(doc.caption[:CAPTION_LIMIT]), document=page.data,
                        filename=doc.filename + ".pdf")

    async def _send(self, msg: Rendered) -> None:
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            # Replies share the bot's overall budget with the outbox sender and every other process on the token;
            # the turn is taken just before the request and held until its answer came back.
            await take_turn(self.budget, self.shared)
            try:
                await self.api.send(msg)
                return
            except Exception as e:
                error = e
            finally:
                end_turn(self.budget)
            kind, wait = self.api.classify(error)
            if kind is Failure.RETRY_AFTER and attempt < MAX_SEND_ATTEMPTS and wait <= MAX_RETRY_AFTER:
                log.info("429 for chat %s: retrying after %.0f s", msg.chat_id, wait)
                await asyncio.sleep(wait)
                continue
            if kind is Failure.NOT_MODIFIED:
                return
            if kind is Failure.EDIT_FAILED and msg.edit_message_id is not None:
                msg = Rendered(msg.chat_id, msg.html, msg.keyboard, None)
                continue
            if kind is Failure.BLOCKED:
                log.info("chat %s blocked the bot: marked blocked", msg.chat_id)
                await self._in_thread(self._mark_blocked, msg.chat_id)
                return
            log.warning("message to chat %s not sent: %s", msg.chat_id, error)
            return

    def _mark_blocked(self, chat_id: int) -> None:
        """Record on the account that Telegram refuses messages to it (it is cleared when the user writes /start)."""
        if chat_id <= 0:
            return  # a group: no single account behind it
        try:
            with self.app.uow() as uow:
                acc = uow.chat.account(PLATFORM, str(chat_id))
                if acc is not None and not acc.blocked:
                    acc.blocked = True
                    uow.chat.save(acc)
                    uow.commit()
        except Exception:
            log.exception("could not mark chat %s blocked", chat_id)


# ---------------------------------------------------------------------------------------------- webhook server


class WebhookServer:
    """A small aiohttp server receiving Telegram's POSTs; the adapter's ``feed`` runs only after the secret matched.

    The answer (200) is given after the update was handled, so an update lost to a crash is redelivered by
    Telegram; the conversation's update_id dedupe makes that redelivery harmless.
    """

    def __init__(self, listen: str, path: str, secret: str, feed: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.host, self.port = listen_address(listen)
        self.path = path
        self.secret = secret
        self.feed = feed
        self.rejected = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``listen``; with port 0, ``self.port`` is the port chosen."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        status = secret_status(self.secret, request.headers.get(SECRET_HEADER))
        if status != 200:
            self.rejected += 1
            log.warning("webhook call refused (%d) from %s", status, request.remote)
            return web.Response(status=status)
        data = parse_json_body(await request.read())
        if data is None:
            return web.Response(status=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400)
        try:
            await self.feed(data)
        except Exception:
            log.exception("webhook update %s could not be parsed", data.get("update_id"))
        return web.Response(status=200)


def parse_json_body(body: bytes) -> Any:
    """A webhook body as JSON, or None for anything hostile: invalid UTF-8, invalid JSON, nesting deep enough to
    exhaust the parser's recursion (a ``RecursionError``, not a ``ValueError``, which would otherwise be a 500)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def to_inbound(update: Any) -> tuple[Inbound | None, str | None]:
    """Translate a Telegram update (python-telegram-bot's or aiogram's: the same fields) into an ``Inbound``
    (None: nothing to handle) and the callback query id."""
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        msg = query.message
        if msg is None or query.data is None:
            return None, query.id
        return Inbound(PLATFORM, str(query.from_user.id), str(msg.chat.id), button=query.data, update_id=update_id,
                       message_id=str(msg.message_id), display_name=query.from_user.full_name,
                       chat_type=chat_type_of(msg.chat)), query.id
    message = update.message
    if message is None or message.from_user is None:
        return None, None  # edits, channel posts, anything we did not ask for
    voice = getattr(message, "voice", None) is not None  # Telegram gives bots no transcription: ask to type
    document = getattr(message, "document", None)
    # A document's bytes are fetched by the bridge (getFile) before the handlers see it; its caption is its text.
    attachment = (Attachment(document.file_name or "file", b"", ref=document.file_id) if document is not None
                  else None)
    text = message.text if document is None else getattr(message, "caption", None)
    return Inbound(PLATFORM, str(message.from_user.id), str(message.chat.id), text=text,
                   update_id=update_id, display_name=message.from_user.full_name,
                   chat_type=chat_type_of(message.chat), voice=voice, attachment=attachment), None


def chat_type_of(chat: Any) -> str:
    """Telegram's chat type as plain text ("private", "group", "supergroup", "channel"); unknown is not private."""
    kind = getattr(chat, "type", None)
    kind = getattr(kind, "value", kind)  # python-telegram-bot gives an enum, aiogram a string
    return str(kind) if kind else "unknown"
