"""A local fake of the Telegram Bot API HTTP server, for end-to-end tests, benchmarks and demos.

It speaks the real wire protocol, so unmodified python-telegram-bot 22.x and aiogram 3.x run against it
(style rule 6: fake the transport at its lowest layer). Only stdlib and aiohttp are imported.

Pointing the libraries at it (``root = fake.root_url``, e.g. ``http://127.0.0.1:40123``)::

    # python-telegram-bot: base_url is a *prefix* to which PTB appends the token itself
    # (``_parse_base_url`` returns ``value + token``; a "{token}" placeholder also works).
    app = Application.builder().token(fake.token).base_url(f"{root}/bot").build()
    bot = telegram.Bot(fake.token, base_url=f"{root}/bot")
    # (add .base_file_url(f"{root}/file/bot") if file downloads are ever exercised)

    # aiogram: TelegramAPIServer.from_base appends "/bot{token}/{method}" itself.
    bot = aiogram.Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(root)))

Requests go to ``{root}/bot{token}/{method}`` (GET or POST; method names case-insensitive like Telegram's).
Bodies may be JSON, ``application/x-www-form-urlencoded`` (what PTB sends: httpx ``data=`` with every
non-string value JSON-encoded; also aiogram without files) or ``multipart/form-data`` (either library
with files). Form values are typed per parameter name, as the real server does: ``reply_markup`` or
``scope`` are JSON, ``chat_id`` an integer, ``text`` stays a string even if it looks like a number.

Test-facing use::

    async with FakeTelegram() as fake:              # 127.0.0.1, random free port
        fake.user_message(42, "/start village-7")   # returns the update_id
        msgs = await fake.wait_for_messages(42, 1)  # what the bot answered
        fake.press_button(42, msgs[0].message_id, msgs[0].callback_data_for("确认"))
        assert fake.violations() == [] and fake.early_retries() == []

    handle = FakeTelegram.run_in_thread()           # own loop in a daemon thread, for sync code
    handle.fake.user_message(42, "hi"); handle.wait_for_messages(42, 1); handle.stop()

    python -m bot.testing.fake_telegram --port 8081         # standalone; see the control API below

Modelled faithfully enough for the libraries' parsing: getMe, getUpdates (offset confirms every update
below it, negative offset keeps the last N, ``timeout`` long-polls and returns as soon as an update
arrives, ``limit``; a second concurrent getUpdates ends the first with 409 like Telegram),
setWebhook / deleteWebhook / getWebhookInfo (while a webhook is set, updates are POSTed to it with
``X-Telegram-Bot-Api-Secret-Token``, retried on non-2xx ``webhook_attempts`` times, then dropped and
reported in ``last_error_message``; a method call in the webhook's reply body, JSON or aiogram's
multipart, is executed; getUpdates answers 409), sendMessage, sendPhoto (an uploaded PNG or JPG of at most
10 MB, width and height adding up to 10,000 at most, caption up to 1024 characters; kept in ``photo``),
sendDocument (an uploaded file of 1 byte to 50 MB, the most a bot may upload, with its name; caption up to 1024
characters; kept in ``document`` and ``document_name``),
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, setMyCommands /
getMyCommands / deleteMyCommands (stored per scope and language), sendChatAction, close, logOut.
Unknown method: 404 "Not Found"; wrong token: 401.

Faults: ``fail_next`` (any code, e.g. 429 with retry_after, 502, 403), ``block`` (403 "bot was
blocked by the user"; "kicked from the group chat" for groups), unknown chats (400 "chat not found";
a chat is known once it sent an update or was added with ``add_known_chats``), ``delay`` (slow
method), ``storm`` (token bucket over sends answering 429), ``enforce_limits`` (429 instead of
accepting a send that would break a rate limit). Validation: callback_data 1-64 bytes
("BUTTON_DATA_INVALID"), text 1-4096 characters after stripping HTML tags, HTML tags must be
supported and balanced, edits must change something ("message is not modified").

Rate-limit accounting: every accepted send (sendMessage, editMessageText, editMessageReplyMarkup) is
logged with the injected ``clock`` (default ``time.monotonic``). A rule "at most N sends per W
seconds" is violated by send i when the N-th previous send in the same scope lies less than
``W - tolerance`` seconds before it (i.e. N+1 sends inside a half-open window shorter than W):
overall N=30, W=1 s; private chat (positive id) N=1, W=1 s, so two sends to one user less than one
second apart are a violation; group chat (negative id) both N=1, W=1 s (Telegram's per-chat "one message
a second" holds in groups too; rule ``group_chat_second``) and N=20, W=60 s. Telegram says it tolerates
short bursts in a chat; we do not, because a sender that is safe here is safe there. Every 429 we
answer opens a ban until its retry_after elapsed (per chat, or bot-wide for calls without chat_id,
per method family: all sends form one family); a call in the family before that is an early retry,
recorded by ``early_retries()`` (and answered normally unless ``reject_early_retries``). retry_after
is whole seconds, rounded up, so a client that waits only the fraction it computed itself is early.

Caveats: the injected clock drives only the accounting (limits, bans, storm bucket); long-poll
timeouts, ``delay`` and webhook retries use real time and message ``date`` is wall time. An update
injected with an update_id not above earlier ones (a forged redelivery) is handed out once more even
if the client's offset already covers it, then confirmed as usual. Webhook deliveries are sequential
(Telegram may use up to max_connections in parallel). PTB 22 emits a deprecation warning whenever it
builds a RetryAfter unless ``PTB_TIMEDELTA=true`` is set; under ``filterwarnings = error`` set it.

Control API (for a fake in another process): ``POST {root}/_fake/{action}`` with a JSON object of
keyword arguments, actions: user_message, press_button, inject_update, block, unblock,
add_known_chats, fail_next, delay, storm, calm (answer ``{"result": ...}``); ``GET {root}/_fake/state``
returns sent messages, calls, violations and early retries as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, MultipartReader, web

DEFAULT_TOKEN = "123456789:AAFakeTokenForXunzhenTests_0123456789"
JsonDict = dict[str, Any]
Clock = Callable[[], float]

# Methods that put or change a message in a chat: the ones Telegram rate-limits and we account for.
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagereplymarkup"})
# Methods addressed to a chat, so subject to the known-chat and blocked checks.
CHAT_METHODS = SEND_METHODS | {"sendchataction", "deletemessage"}

# Form fields arrive as strings; Telegram types them by parameter, so do we.
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "scope", "commands", "allowed_updates", "entities", "caption_entities",
        "link_preview_options", "reply_parameters", "message_ids",
    }
)  # fmt: skip
_INT_PARAMS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "max_connections",
        "user_id", "message_thread_id", "reply_to_message_id",
    }
)  # fmt: skip
_BOOL_PARAMS = frozenset(
    {
        "drop_pending_updates", "show_alert", "disable_notification", "protect_content",
        "disable_web_page_preview", "allow_sending_without_reply", "allow_paid_broadcast",
    }
)  # fmt: skip
_PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
PHOTO_LIMIT = 10 * 1024 * 1024  # bytes of an uploaded photo
DOCUMENT_LIMIT = 50 * 1024 * 1024  # bytes of a file a bot uploads (sendDocument)
CAPTION_LIMIT = 1024  # characters of a caption after entity parsing
_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
        "pre", "blockquote", "tg-emoji", "br",
    }
)  # fmt: skip
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional retry_after."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        """The JSON body Telegram sends for this error."""
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class MessageVersion:
    """A former state of a bot message, kept when an edit replaces it."""

    text: str
    parse_mode: str | None
    reply_markup: JsonDict | None
    at: float


@dataclass
class RecordedMessage:
    """A message the bot sent, with edits applied in place and the former versions in ``edits``."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JsonDict | None
    date: int
    sent_at: float
    edit_date: int | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    photo: bytes | None = None  # a photo's uploaded bytes; ``text`` is then its caption
    document: bytes | None = None  # a document's uploaded bytes; ``text`` is then its caption
    document_name: str | None = None

    @property
    def buttons(self) -> list[JsonDict]:
        """Inline keyboard buttons in reading order."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def callback_data_for(self, label: str) -> str:
        """The callback_data of the inline button whose text is ``label`` (KeyError if absent)."""
        for button in self.buttons:
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no button {label!r} on message {self.message_id}: {[b.get('text') for b in self.buttons]}")


@dataclass
class Call:
    """One Bot API request as received (status filled in once answered)."""

    method: str
    params: JsonDict
    at: float
    http_method: str = "POST"
    status: int | None = None


@dataclass
class AnsweredCallback:
    """An answerCallbackQuery the bot made."""

    callback_query_id: str
    user_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    at: float


@dataclass(frozen=True)
class Violation:
    """A send that broke one of Telegram's documented rate limits."""

    rule: str  # "global", "private_chat", "group_chat_second" (1/s in a group) or "group_chat" (20/min)
    chat_id: int | None
    method: str
    at: float
    span: float  # seconds between the oldest and newest of the limit + 1 sends
    limit: int
    window: float

    def __str__(self) -> str:
        where = "overall" if self.chat_id is None else f"in chat {self.chat_id}"
        return (
            f"{self.rule}: {self.limit + 1} sends {where} within {self.span:.3f} s "
            f"(limit {self.limit} per {self.window:g} s), {self.method} at t={self.at:.3f}"
        )


@dataclass(frozen=True)
class EarlyRetry:
    """A call made before a previously answered retry_after had elapsed."""

    method: str
    chat_id: int | None
    at: float
    allowed_at: float
    retry_after: int

    def __str__(self) -> str:
        where = "bot-wide" if self.chat_id is None else f"chat {self.chat_id}"
        return (
            f"{self.method} to {where} at t={self.at:.3f}, {self.allowed_at - self.at:.3f} s before "
            f"retry_after={self.retry_after} elapsed"
        )


@dataclass(frozen=True)
class RateLimits:
    """Telegram's documented limits as (count, window seconds); tolerance shortens every window."""

    global_count: int = 30
    global_window: float = 1.0
    private_count: int = 1  # per chat: private chats, and groups as well (besides the group minute below)
    private_window: float = 1.0
    group_count: int = 20
    group_window: float = 60.0
    tolerance: float = 0.0


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook, with its outcome."""

    update_id: int
    attempt: int
    status: int | None
    error: str | None = None


@dataclass
class _FailRule:
    method: str
    chat_id: int | None
    error: ApiError
    times: int


@dataclass
class _Pending:
    update: JsonDict
    redelivery: bool  # injected with an update_id not above earlier ones: a forged duplicate
    returned: bool = False


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    last: float


class ManualClock:
    """A clock for the rate-limit accounting that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class _HtmlChecker(HTMLParser):
    """Approximates Telegram's HTML entity parser: supported tags only, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        elif tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unexpected end tag "{tag}"'
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)


def _visible_text(text: str, parse_mode: str | None) -> str:
    """The text after entity parsing, approximately; raises ApiError on HTML Telegram would refuse."""
    if (parse_mode or "").lower() != "html":
        return text
    # Telegram wants every "<" that does not open a tag escaped; HTMLParser would take "<140/90>" as text.
    for match in re.finditer("<", text):
        if not _TAG_RE.match(text, match.start()):
            fragment = text[match.start() + 1 :].split(">", 1)[0].split(" ", 1)[0]
            offset = len(text[: match.start()].encode("utf-8"))
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{fragment}" at byte offset {offset}'
            )
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.error is None and checker.stack:
        checker.error = f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"'
    if checker.error:
        raise ApiError(400, f"Bad Request: can't parse entities: {checker.error}")
    return html.unescape("".join(checker.plain))


class _Upload(dict):
    """A file part of a multipart request: reads as ``{"file": <its name>}`` in a call's parameters, with the bytes
    in ``content`` for the methods that look at them (sendPhoto)."""

    def __init__(self, *args: Any, content: bytes = b"", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content = content


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or baseline/progressive JPG, None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content) and content[i] == 0xFF:
            marker, length = content[i + 1], int.from_bytes(content[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(content[i + 7 : i + 9], "big"), int.from_bytes(content[i + 5 : i + 7], "big")
            i += 2 + length
    return None


def _json_ready(value: Any) -> Any:
    """``value`` with bytes (an uploaded file, a photo) replaced by their length, for the control API."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _coerce(name: str, value: Any) -> Any:
    """Type one parameter the way Telegram does for form-encoded requests."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if name in _INT_PARAMS:
        with contextlib.suppress(ValueError):
            return int(value)
        return value  # "@channelusername" is a valid chat_id
    if name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _scope_key(scope: JsonDict | None) -> tuple[Any, ...]:
    """A hashable key for a BotCommandScope: (type,), (type, chat_id) or (type, chat_id, user_id)."""
    scope = scope or {"type": "default"}
    key: tuple[Any, ...] = (scope.get("type", "default"),)
    if "chat_id" in scope:
        key += (scope["chat_id"],)
    if "user_id" in scope:
        key += (scope["user_id"],)
    return key


def _command_entity(text: str) -> list[JsonDict]:
    """A bot_command entity when the text starts with one, as Telegram clients produce."""
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    return [{"type": "bot_command", "offset": 0, "length": match.end()}] if match else []


class FakeTelegram:
    """A fake Telegram Bot API server on localhost, with injection, records, faults and rate-limit checks."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.monotonic,
        limits: RateLimits | None = None,
        enforce_limits: bool = False,
        reject_early_retries: bool = False,
        known_chats: Iterable[int] = (),
        strict_chats: bool = True,
        bot_username: str = "xunzhen_fake_bot",
        bot_first_name: str = "巡诊测试",
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.clock = clock
        self.limits = limits or RateLimits()
        self.enforce_limits = enforce_limits
        self.reject_early_retries = reject_early_retries
        self.strict_chats = strict_chats
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456789
        self.bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        # One lock guards all state: the server loop and test threads both touch it.
        self._lock = threading.RLock()
        self.known_chats: set[int] = set(known_chats)
        self._chats: dict[int, JsonDict] = {}
        self._blocked: set[int] = set()
        self._pending: list[_Pending] = []
        self._last_update_id = 0
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], RecordedMessage] = {}
        self._user_messages: dict[tuple[int, int], JsonDict] = {}
        self._open_callbacks: dict[str, int] = {}
        self._calls: list[Call] = []
        self._downloads: list[str] = []  # file paths fetched from /file/bot<token>/..., in order
        self._answered: list[AnsweredCallback] = []
        self._commands: dict[tuple[tuple[Any, ...], str], list[JsonDict]] = {}
        self._fail_rules: list[_FailRule] = []
        self._delays: dict[str, float] = {}
        self._bucket: _Bucket | None = None
        self._send_log: list[tuple[str, int, float]] = []
        self._by_scope: dict[Any, list[float]] = {}
        self._violations: list[Violation] = []
        self._bans: list[tuple[str, int | None, float, int]] = []  # (family, chat or None, until, retry_after)
        self._early: list[EarlyRetry] = []
        self._webhook: _Webhook | None = None
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes) of documents users sent
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._methods: dict[str, Callable[[JsonDict], Any]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "getfile": self._get_file,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendchataction": self._send_chat_action,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "close": lambda _p: True,
            "logout": lambda _p: True,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def root_url(self) -> str:
        """Base address, e.g. ``http://127.0.0.1:40123`` (PTB: ``f"{root_url}/bot"``; aiogram: from_base)."""
        if self._runner is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def ptb_base_url(self) -> str:
        """The value for PTB's ``base_url``: PTB appends the token to it."""
        return f"{self.root_url}/bot"

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API and the control API."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/_fake/{action}", self._handle_control)
        return app

    async def start(self) -> FakeTelegram:
        """Start listening (a random free port unless one was given)."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        # handler_cancellation: a client that gives up a long poll must not keep our handler alive.
        self._runner = web.AppRunner(self.make_app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        self._client = ClientSession(timeout=ClientTimeout(total=self.webhook_timeout))
        self._worker = asyncio.create_task(self._webhook_worker())
        return self

    async def stop(self) -> None:
        """Stop the server, ending pending long polls and webhook deliveries."""
        self._closing = True
        self._changed()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    def run_in_thread(cls, **kwargs: Any) -> ThreadedFakeTelegram:
        """Start a fake on its own event loop in a daemon thread; returns a handle with ``.stop()``."""
        return ThreadedFakeTelegram(cls(**kwargs))

    # ------------------------------------------------------------------ change notification

    def _changed(self) -> None:
        """Wake every waiter (long polls, the webhook worker, wait_for_*), whatever loop or thread it is on."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                event.set()
            else:
                with contextlib.suppress(RuntimeError):  # loop closed in between
                    loop.call_soon_threadsafe(event.set)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds (True) or ``timeout`` real seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = asyncio.Event()
            entry = (loop, event)
            with self._lock:
                self._waiters.add(entry)  # registered before checking, so no wake-up is lost
            try:
                with self._lock:
                    if predicate():
                        return True
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                with self._lock:
                    self._waiters.discard(entry)

    async def wait_for_messages(self, chat_id: int, n: int = 1, timeout: float = 5.0) -> list[RecordedMessage]:
        """Wait until the bot sent at least ``n`` messages to ``chat_id``; TimeoutError otherwise."""
        if not await self.wait_for(lambda: len(self.sent(chat_id)) >= n, timeout):
            texts = [m.text for m in self.sent(chat_id)]
            raise TimeoutError(f"chat {chat_id}: expected {n} bot messages within {timeout} s, got {texts}")
        return self.sent(chat_id)

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called at least ``n`` times; TimeoutError otherwise."""
        if not await self.wait_for(lambda: len(self.calls(method)) >= n, timeout):
            raise TimeoutError(f"expected {n} calls of {method} within {timeout} s, got {len(self.calls(method))}")
        return self.calls(method)

    # ------------------------------------------------------------------ injecting user input

    def _next_update_id(self, wanted: int | None) -> tuple[int, bool]:
        if wanted is None:
            self._last_update_id += 1
            return self._last_update_id, False
        redelivery = wanted <= self._last_update_id
        self._last_update_id = max(self._last_update_id, wanted)
        return wanted, redelivery

    def _user(self, user_id: int, first_name: str, username: str | None, language_code: str | None) -> JsonDict:
        user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat_for(self, chat_id: int) -> JsonDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        # Private chats share one id sequence between both sides, as in Telegram.
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def inject_update(self, update: JsonDict) -> int:
        """Queue an arbitrary Update (a forged payload, or a duplicate update_id); returns its update_id."""
        with self._lock:
            update = dict(update)
            update_id, redelivery = self._next_update_id(update.get("update_id"))
            update["update_id"] = update_id
            self._remember_chats(update)
            self._pending.append(_Pending(update, redelivery))
        self._changed()
        return update_id

    def _remember_chats(self, update: JsonDict) -> None:
        for value in update.values():
            if not isinstance(value, dict):
                continue
            message = value.get("message") if "data" in value else value
            chat = (message or {}).get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                self.known_chats.add(chat["id"])
                self._chats.setdefault(chat["id"], chat)
            sender = value.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                self.known_chats.add(sender["id"])

    def user_message(
        self,
        user_id: int,
        text: str | None,
        chat_id: int | None = None,
        *,
        first_name: str = "测试用户",
        username: str | None = None,
        language_code: str | None = "zh-hans",
        chat_title: str | None = None,
        extra: JsonDict | None = None,
    ) -> int:
        """Queue a text message from a user (private chat unless chat_id given; ``text`` None: a message without
        text, such as a document); returns the update_id."""
        with self._lock:
            chat_id = user_id if chat_id is None else chat_id
            user = self._user(user_id, first_name, username, language_code)
            if chat_id == user_id:
                chat: JsonDict = {"id": chat_id, "type": "private", "first_name": first_name}
                if username:
                    chat["username"] = username
                self._chats[chat_id] = chat
            else:
                chat = self._chat_for(chat_id)
                if chat_title:
                    chat["title"] = chat_title
                self._chats[chat_id] = chat
            message: JsonDict = {
                "message_id": self._new_message_id(chat_id),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
            }
            if text is not None:
                message["text"] = text
            if text is not None and (entities := _command_entity(text)):
                message["entities"] = entities
            message.update(extra or {})
            self._user_messages[(chat_id, message["message_id"])] = message
            return self.inject_update({"message": message})

    def user_document(self, user_id: int, file_name: str, data: bytes, *, caption: str | None = None,
                      first_name: str = "测试用户", mime_type: str = "application/octet-stream") -> int:
        """Queue a document a user sends in their private chat (its bytes served by getFile and the file URL);
        returns the update_id."""
        with self._lock:
            file_id = f"BQACuser{user_id}_{len(self._files) + 1}"
            self._files[file_id] = (f"documents/file_{len(self._files) + 1}", data)
            document = {"file_id": file_id, "file_unique_id": f"AgADuser{len(self._files)}", "file_name": file_name,
                        "mime_type": mime_type, "file_size": len(data)}
        extra: JsonDict = {"document": document}
        if caption:
            extra["caption"] = caption
        return self.user_message(user_id, None, first_name=first_name, extra=extra)

    def _get_file(self, params: JsonDict) -> JsonDict:
        """getFile: where a document a user sent can be downloaded (``/file/bot<token>/<file_path>``)."""
        found = self._files.get(str(params.get("file_id")))
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = found
        return {"file_id": params["file_id"], "file_unique_id": "AgAD" + str(params["file_id"])[-8:],
                "file_size": len(data), "file_path": path}

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._respond(401, ApiError(401, "Unauthorized").payload())
        for path, data in list(self._files.values()):
            if path == request.match_info["path"]:
                with self._lock:
                    self._downloads.append(path)
                return web.Response(body=data, content_type="application/octet-stream")
        return self._respond(404, ApiError(404, "Not Found").payload())

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        chat_id: int | None = None,
        *,
        first_name: str = "测试用户",
        username: str | None = None,
        strict: bool = True,
    ) -> int:
        """Queue a callback_query for a button on a bot message as the server remembers it; returns update_id.

        With ``strict`` the message must exist and carry a button with that callback_data (a real client
        cannot press anything else; forge such presses with ``inject_update``).
        """
        with self._lock:
            chat_id = user_id if chat_id is None else chat_id
            record = self._messages.get((chat_id, message_id))
            if strict:
                if record is None or record.deleted:
                    raise LookupError(f"no bot message {message_id} in chat {chat_id}")
                if callback_data not in [b.get("callback_data") for b in record.buttons]:
                    raise LookupError(f"message {message_id} has no button with callback_data {callback_data!r}")
            query_id = str(secrets.randbits(63))
            self._open_callbacks[query_id] = user_id
            query: JsonDict = {
                "id": query_id,
                "from": self._user(user_id, first_name, username, "zh-hans"),
                "chat_instance": str(abs(hash((chat_id, self.bot_user["id"])))),
                "data": callback_data,
            }
            if record is not None:
                query["message"] = self._message_json(record)
            return self.inject_update({"callback_query": query})

    # ------------------------------------------------------------------ records

    def sent(self, chat_id: int | None = None) -> list[RecordedMessage]:
        """Messages the bot sent (to one chat, or all), in order; deleted ones included, flagged."""
        with self._lock:
            # The dict keeps insertion order, which is send order even when an injected clock stands still.
            return [m for m in self._messages.values() if chat_id is None or m.chat_id == chat_id]

    def last_message(self, chat_id: int) -> RecordedMessage:
        """The newest message the bot sent to a chat (IndexError if none)."""
        return self.sent(chat_id)[-1]

    @property
    def all_calls(self) -> list[Call]:
        """Every Bot API request received, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def downloads(self) -> list[str]:
        """The paths of the files the bot downloaded (a user's documents), in order."""
        with self._lock:
            return list(self._downloads)

    def calls(self, method: str) -> list[Call]:
        """The requests for one method (case-insensitive)."""
        return [c for c in self.all_calls if c.method.lower() == method.lower()]

    @property
    def answered_callbacks(self) -> list[AnsweredCallback]:
        """Every answerCallbackQuery accepted."""
        with self._lock:
            return list(self._answered)

    @property
    def commands(self) -> dict[tuple[tuple[Any, ...], str], list[JsonDict]]:
        """Command lists by (scope key, language_code); scope key e.g. ("default",) or ("chat", 42)."""
        with self._lock:
            return {k: list(v) for k, v in self._commands.items()}

    def commands_for(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The commands stored for exactly this scope and language."""
        with self._lock:
            return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates offset or delivered to the webhook."""
        with self._lock:
            return [p.update for p in self._pending]

    @property
    def webhook_url(self) -> str | None:
        """The webhook currently set, if any."""
        return self._webhook.url if self._webhook else None

    def violations(self) -> list[Violation]:
        """Rate-limit violations by accepted sends (see the module docstring for the windows)."""
        with self._lock:
            return list(self._violations)

    def early_retries(self) -> list[EarlyRetry]:
        """Calls made before a retry_after we answered had elapsed."""
        with self._lock:
            return list(self._early)

    @property
    def send_log(self) -> list[tuple[str, int, float]]:
        """(method, chat_id, clock time) of every accepted send."""
        with self._lock:
            return list(self._send_log)

    # ------------------------------------------------------------------ faults

    def add_known_chats(self, *chat_ids: int) -> None:
        """Make chats addressable without them having sent an update."""
        with self._lock:
            self.known_chats.update(chat_ids)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot (or the bot was kicked from the group): sends get 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo ``block``."""
        with self._lock:
            self._blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        chat_id: int | None = None,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*": any), optionally only to ``chat_id``, with an error."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
            )
        with self._lock:
            self._fail_rules.append(
                _FailRule(method.lower(), chat_id, ApiError(error_code, description, retry_after), times)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` ("*" for any) wait ``seconds`` real seconds before answering; 0 removes."""
        with self._lock:
            if seconds > 0:
                self._delays[method.lower()] = seconds
            else:
                self._delays.pop(method.lower(), None)

    def storm(self, rate: float = 1.0, burst: int = 1) -> None:
        """429 storm: sends draw from a token bucket (``rate`` per second, ``burst`` deep); empty → 429."""
        with self._lock:
            self._bucket = _Bucket(rate, float(burst), float(burst), self.clock())

    def calm(self) -> None:
        """End the 429 storm."""
        with self._lock:
            self._bucket = None

    # ------------------------------------------------------------------ HTTP layer

    async def _read_params(self, request: web.Request) -> JsonDict:
        params: JsonDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: request body must be a JSON object")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    # An uploaded file reads as its name; sendPhoto looks at its bytes.
                    params[key] = value if isinstance(value, str) else _Upload(
                        file=getattr(value, "filename", None), content=value.file.read() if hasattr(value, "file")
                        else bytes(value))
        return {key: _coerce(key, value) for key, value in params.items()}

    @staticmethod
    def _respond(status: int, body: JsonDict) -> web.Response:
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._respond(401, ApiError(401, "Unauthorized").payload())
        try:
            params = await self._read_params(request)
        except ApiError as error:
            return self._respond(error.code, error.payload())
        status, body = await self.call_api(request.match_info["method"], params, request.method)
        return self._respond(status, body)

    async def call_api(self, method: str, params: JsonDict, http_method: str = "POST") -> tuple[int, JsonDict]:
        """Run one Bot API method as the HTTP endpoint would; returns (status, JSON body)."""
        key = method.lower()
        if key != "getupdates" and key not in self._methods:
            return 404, ApiError(404, "Not Found").payload()
        call = Call(method, params, self.clock(), http_method)
        with self._lock:
            self._calls.append(call)
            delay = self._delays.get(key, self._delays.get("*", 0.0))
        self._changed()
        if delay:
            await asyncio.sleep(delay)
        try:
            with self._lock:
                self._check_early_retry(key, params, call.at)
                self._check_fail_rules(key, params)
            if key == "getupdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = self._methods[key](params)
        except ApiError as error:
            with self._lock:
                call.status = error.code
                if error.retry_after is not None:
                    self._open_ban(key, params, call.at, error.retry_after)
            self._changed()
            return error.code, error.payload()
        call.status = 200
        self._changed()
        body: JsonDict = {"ok": True, "result": result}
        if key == "setwebhook":
            body["description"] = "Webhook was set" if params.get("url") else "Webhook was deleted"
        elif key == "deletewebhook":
            body["description"] = "Webhook was deleted"
        return 200, body

    # ------------------------------------------------------------------ rate limits, bans, faults

    @staticmethod
    def _family(key: str) -> str:
        return "send" if key in SEND_METHODS else key

    @staticmethod
    def _chat_of(params: JsonDict) -> int | None:
        chat_id = params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None

    def _open_ban(self, key: str, params: JsonDict, at: float, retry_after: int) -> None:
        self._bans.append((self._family(key), self._chat_of(params), at + retry_after, retry_after))

    def _check_early_retry(self, key: str, params: JsonDict, now: float) -> None:
        family, chat_id = self._family(key), self._chat_of(params)
        self._bans = [b for b in self._bans if b[2] > now]
        for ban_family, ban_chat, until, retry_after in self._bans:
            if ban_family == family and (ban_chat is None or ban_chat == chat_id):
                self._early.append(EarlyRetry(key, chat_id, now, until, retry_after))
                if self.reject_early_retries:
                    left = max(1, math.ceil(until - now))
                    raise ApiError(429, f"Too Many Requests: retry after {left}", left)
                return

    def _check_fail_rules(self, key: str, params: JsonDict) -> None:
        chat_id = self._chat_of(params)
        for rule in self._fail_rules:
            if rule.method in (key, "*") and (rule.chat_id is None or rule.chat_id == chat_id):
                rule.times -= 1
                if rule.times <= 0:
                    self._fail_rules.remove(rule)
                raise rule.error

    def _check_chat(self, key: str, params: JsonDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or (self.strict_chats and chat_id not in self.known_chats):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked and key != "deletemessage":
            if chat_id < 0:
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _scopes(self, chat_id: int) -> list[tuple[Any, str, int, float]]:
        """(scope key, rule name, count, window) for the limits a send to chat_id counts against."""
        lim = self.limits
        scopes: list[tuple[Any, str, int, float]] = [("global", "global", lim.global_count, lim.global_window)]
        if chat_id < 0:  # a group: one a second like any chat, and 20 a minute
            scopes.append((("chat", chat_id), "group_chat_second", lim.private_count, lim.private_window))
            scopes.append((("group", chat_id), "group_chat", lim.group_count, lim.group_window))
        else:
            scopes.append((("chat", chat_id), "private_chat", lim.private_count, lim.private_window))
        return scopes

    def _admit_send(self, key: str, chat_id: int) -> None:
        """Storm bucket and limit enforcement; called before a send is performed."""
        now = self.clock()
        if self._bucket is not None:
            bucket = self._bucket
            bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.last) * bucket.rate)
            bucket.last = now
            if bucket.tokens < 1.0:
                wait = max(1, math.ceil((1.0 - bucket.tokens) / bucket.rate))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)
            bucket.tokens -= 1.0
        if self.enforce_limits:
            for scope, _rule, count, window in self._scopes(chat_id):
                times = self._by_scope.get(scope, [])
                if len(times) >= count and now - times[-count] < window - self.limits.tolerance:
                    wait = max(1, math.ceil(times[-count] + window - self.limits.tolerance - now))
                    raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    def _record_send(self, key: str, chat_id: int) -> None:
        now = self.clock()
        self._send_log.append((key, chat_id, now))
        for scope, rule, count, window in self._scopes(chat_id):
            times = self._by_scope.setdefault(scope, [])
            times.append(now)
            if len(times) > count:
                span = now - times[-count - 1]
                if span < window - self.limits.tolerance:
                    self._violations.append(
                        Violation(rule, None if scope == "global" else chat_id, key, now, span, count, window)
                    )

    # ------------------------------------------------------------------ methods

    def _get_me(self, params: JsonDict) -> JsonDict:
        return dict(self.bot_user)

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        with self._lock:
            if self._webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                    "the webhook first",
                )
            offset = params.get("offset")
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
            self._confirm(offset)
            # A newer getUpdates ends an older one still waiting, as Telegram does with two bot instances.
            self._poll_generation += 1
            generation = self._poll_generation
        self._changed()
        if timeout:
            await self.wait_for(lambda: bool(self._pending) or self._poll_generation != generation, timeout)
        with self._lock:
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            batch = self._pending[:limit]
            for item in batch:
                item.returned = True
            return [item.update for item in batch]

    def _confirm(self, offset: Any) -> None:
        if not isinstance(offset, int) or offset == 0:
            return
        if offset < 0:
            self._pending = self._pending[offset:]  # keep only the last -offset updates
            return
        # A forged duplicate (update_id not above earlier ones) is confirmed only once it was handed out,
        # otherwise the offset already sent by the client would swallow it before anyone saw it.
        self._pending = [
            p for p in self._pending if p.update["update_id"] >= offset or (p.redelivery and not p.returned)
        ]

    def _validate_markup(self, markup: Any) -> JsonDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is not None:
            if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
                raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            for button in (b for row in keyboard for b in row):
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _validate_text(self, text: Any, parse_mode: Any) -> tuple[str, str | None]:
        if parse_mode is not None and str(parse_mode).lower() not in _PARSE_MODES:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        visible = _visible_text(text, parse_mode)
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text, parse_mode

    def _message_json(self, record: RecordedMessage) -> JsonDict:
        message: JsonDict = {
            "message_id": record.message_id,
            "from": dict(self.bot_user),
            "chat": self._chat_for(record.chat_id),
            "date": record.date,
            "text": _visible_text(record.text, record.parse_mode),
        }
        if record.photo is not None:
            width, height = image_size(record.photo) or (0, 0)
            del message["text"]
            message["photo"] = [{"file_id": f"AgACfake{record.chat_id}_{record.message_id}",
                                 "file_unique_id": f"AQADfake{record.message_id}", "width": width, "height": height,
                                 "file_size": len(record.photo)}]
            if record.text:
                message["caption"] = _visible_text(record.text, record.parse_mode)
        if record.document is not None:
            del message["text"]
            mime = ("application/pdf" if record.document.startswith(b"%PDF") else
                    "image/png" if record.document.startswith(b"\x89PNG") else "application/octet-stream")
            message["document"] = {"file_id": f"BQACfake{record.chat_id}_{record.message_id}",
                                   "file_unique_id": f"AgADfake{record.message_id}", "file_name": record.document_name,
                                   "mime_type": mime, "file_size": len(record.document)}
            if record.text:
                message["caption"] = _visible_text(record.text, record.parse_mode)
        if record.edit_date is not None:
            message["edit_date"] = record.edit_date
        if record.reply_markup and "inline_keyboard" in record.reply_markup:
            message["reply_markup"] = record.reply_markup  # only inline keyboards are echoed by Telegram
        return message

    def _send_message(self, params: JsonDict) -> JsonDict:
        text, parse_mode = self._validate_text(params.get("text"), params.get("parse_mode"))
        return self._new_message("sendmessage", params, text, parse_mode)

    def _new_message(self, method: str, params: JsonDict, text: str, parse_mode: str | None,
                     **attached: Any) -> JsonDict:
        """Check the keyboard and the chat, count the send against the limits, record the message and answer it."""
        markup = self._validate_markup(params.get("reply_markup"))
        chat_id = self._check_chat(method, params)
        self._admit_send(method, chat_id)
        record = RecordedMessage(chat_id, self._new_message_id(chat_id), text, parse_mode, markup, int(time.time()),
                                 self.clock(), **attached)
        self._messages[(chat_id, record.message_id)] = record
        self._record_send(method, chat_id)
        return self._message_json(record)

    @staticmethod
    def _upload(params: JsonDict, field: str) -> Any:
        """The uploaded file of ``field`` (aiogram names the part holding it: ``attach://<part>``)."""
        found = params.get(field)
        if isinstance(found, str) and found.startswith("attach://"):
            found = params.get(found.removeprefix("attach://"))
        return found

    @staticmethod
    def _caption(params: JsonDict) -> tuple[str, str | None]:
        """A photo's or document's caption and its parse mode, within Telegram's limits."""
        caption, parse_mode = params.get("caption") or "", params.get("parse_mode")
        if parse_mode is not None and str(parse_mode).lower() not in _PARSE_MODES:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if not isinstance(caption, str) or len(_visible_text(caption, parse_mode)) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        return caption, parse_mode

    def _send_photo(self, params: JsonDict) -> JsonDict:
        """sendPhoto with an uploaded file (a file_id or URL is not modelled) and an optional caption."""
        photo = self._upload(params, "photo")
        if not isinstance(photo, _Upload) or not photo.content:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if len(photo.content) > PHOTO_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        size = image_size(photo.content)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if sum(size) > 10_000:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption, parse_mode = self._caption(params)
        return self._new_message("sendphoto", params, caption, parse_mode, photo=photo.content)

    def _send_document(self, params: JsonDict) -> JsonDict:
        """sendDocument with an uploaded file (a file_id or URL is not modelled), its name and an optional caption."""
        document = self._upload(params, "document")
        if not isinstance(document, _Upload) or not document.content:
            raise ApiError(400, "Bad Request: there is no document in the request")
        if len(document.content) > DOCUMENT_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        caption, parse_mode = self._caption(params)
        return self._new_message("senddocument", params, caption, parse_mode, document=document.content,
                                 document_name=str(document.get("file") or "document"))

    def _find_editable(self, key: str, params: JsonDict) -> RecordedMessage:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")  # inline mode is not modelled
        chat_id = self._check_chat(key, params)
        message_id = params.get("message_id")
        record = self._messages.get((chat_id, message_id))  # type: ignore[arg-type]
        if record is None or record.deleted:
            if (chat_id, message_id) in self._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return record

    def _apply_edit(
        self, key: str, record: RecordedMessage, text: str, parse_mode: str | None, markup: JsonDict | None
    ) -> JsonDict:
        if (text, markup) == (record.text, record.reply_markup) and parse_mode == record.parse_mode:
            raise ApiError(400, _NOT_MODIFIED)
        self._admit_send(key, record.chat_id)
        record.edits.append(MessageVersion(record.text, record.parse_mode, record.reply_markup, self.clock()))
        record.text, record.parse_mode, record.reply_markup = text, parse_mode, markup
        record.edit_date = int(time.time())
        self._record_send(key, record.chat_id)
        return self._message_json(record)

    def _edit_message_text(self, params: JsonDict) -> JsonDict:
        text, parse_mode = self._validate_text(params.get("text"), params.get("parse_mode"))
        markup = self._validate_markup(params.get("reply_markup"))
        record = self._find_editable("editmessagetext", params)
        return self._apply_edit("editmessagetext", record, text, parse_mode, markup)

    def _edit_message_reply_markup(self, params: JsonDict) -> JsonDict:
        markup = self._validate_markup(params.get("reply_markup"))
        record = self._find_editable("editmessagereplymarkup", params)
        return self._apply_edit("editmessagereplymarkup", record, record.text, record.parse_mode, markup)

    def _delete_message(self, params: JsonDict) -> bool:
        chat_id = self._check_chat("deletemessage", params)
        record = self._messages.get((chat_id, params.get("message_id")))  # type: ignore[arg-type]
        if record is None or record.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        record.deleted = True
        return True

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise ApiError(400, _QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        user_id = self._open_callbacks.pop(query_id)  # a query can be answered once
        self._answered.append(
            AnsweredCallback(
                query_id, user_id, text, bool(params.get("show_alert")), params.get("url"),
                params.get("cache_time"), self.clock(),
            )
        )  # fmt: skip
        return True

    def _set_my_commands(self, params: JsonDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JsonDict) -> list[JsonDict]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return list(self._commands.get(key, []))

    def _delete_my_commands(self, params: JsonDict) -> bool:
        self._commands.pop((_scope_key(params.get("scope")), str(params.get("language_code") or "")), None)
        return True

    def _send_chat_action(self, params: JsonDict) -> bool:
        self._check_chat("sendchataction", params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _set_webhook(self, params: JsonDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = _Webhook(url, secret, int(params.get("max_connections") or 40), params.get("allowed_updates"))
        return True

    def _delete_webhook(self, params: JsonDict) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, params: JsonDict) -> JsonDict:
        info: JsonDict = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        hook = self._webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections)
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    # ------------------------------------------------------------------ webhook delivery

    async def _webhook_worker(self) -> None:
        """Deliver pending updates one at a time, in order, while a webhook is set."""
        while not self._closing:
            await self.wait_for(lambda: self._webhook is not None and bool(self._pending), 3600)
            with self._lock:
                hook = self._webhook
                item = self._pending[0] if self._pending and hook else None
            if hook is None or item is None:
                continue
            delivered = await self._deliver(hook, item.update)
            with self._lock:
                if item in self._pending and (delivered or self._webhook is hook):
                    self._pending.remove(item)  # delivered, or given up after the attempts
            self._changed()

    async def _deliver(self, hook: _Webhook, update: JsonDict) -> bool:
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(1, self.webhook_attempts + 1):
            status: int | None = None
            error: str | None = None
            reply: tuple[str, JsonDict] | None = None
            try:
                async with self._client.post(hook.url, data=body, headers=headers) as response:
                    status = response.status
                    if 200 <= status < 300:
                        reply = await self._webhook_reply(response)
                    else:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
            except (ClientError, TimeoutError, ValueError) as exc:
                error = f"Connection failed: {exc!r}"
            with self._lock:
                self.webhook_deliveries.append(WebhookDelivery(update["update_id"], attempt, status, error))
                if error is not None:
                    hook.last_error_date, hook.last_error_message = int(time.time()), error
            if error is None:
                if reply is not None:
                    await self.call_api(*reply)
                return True
            if self._webhook is not hook or self._closing:
                return False
            await asyncio.sleep(self.webhook_retry_delay * attempt)
        return False

    @staticmethod
    async def _webhook_reply(response: Any) -> tuple[str, JsonDict] | None:
        """A Bot API call carried in the webhook's answer (JSON, or aiogram's multipart), if any."""
        fields: JsonDict = {}
        if response.content_type == "application/json":
            with contextlib.suppress(ValueError):
                data = await response.json()
                fields = data if isinstance(data, dict) else {}
        elif response.content_type == "multipart/form-data":
            reader = MultipartReader.from_response(response)
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.name:
                    fields[part.name] = await part.text()
        method = fields.pop("method", None)
        if not isinstance(method, str):
            return None
        return method, {key: _coerce(key, value) for key, value in fields.items()}

    # ------------------------------------------------------------------ control API

    _CONTROL_ACTIONS = frozenset(
        {
            "user_message", "press_button", "inject_update", "block", "unblock", "fail_next", "delay",
            "storm", "calm",
        }
    )  # fmt: skip

    def state(self) -> JsonDict:
        """Everything recorded, as JSON-ready data."""
        return {
            "sent": [_json_ready(asdict(m)) for m in self.sent()],
            "calls": [_json_ready(asdict(c)) for c in self.all_calls],
            "answered_callbacks": [asdict(a) for a in self.answered_callbacks],
            "violations": [str(v) for v in self.violations()],
            "early_retries": [str(e) for e in self.early_retries()],
            "pending_updates": self.pending_updates,
            "webhook_url": self.webhook_url,
        }

    async def _handle_control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "state":
            return self._respond(200, self.state())
        kwargs = await request.json() if request.can_read_body else {}
        if action == "add_known_chats":
            self.add_known_chats(*kwargs.get("chat_ids", []))
            return self._respond(200, {"result": True})
        if action not in self._CONTROL_ACTIONS:
            return self._respond(404, {"error": f"unknown action {action}"})
        try:
            result = self.inject_update(kwargs) if action == "inject_update" else getattr(self, action)(**kwargs)
        except (TypeError, LookupError, ValueError) as exc:
            return self._respond(400, {"error": str(exc)})
        return self._respond(200, {"result": result})


class ThreadedFakeTelegram:
    """A FakeTelegram serving from its own event loop in a daemon thread (for sync code and benchmarks)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(fake.start())
            except BaseException as exc:  # reported to the starting thread below
                failure.append(exc)
                started.set()
                return
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self.thread.start()
        started.wait()
        if failure:
            self.loop.close()
            raise failure[0]

    @property
    def root_url(self) -> str:
        """See FakeTelegram.root_url."""
        return self.fake.root_url

    def wait_for_messages(self, chat_id: int, n: int = 1, timeout: float = 5.0) -> list[RecordedMessage]:
        """Blocking version of FakeTelegram.wait_for_messages."""
        future = asyncio.run_coroutine_threadsafe(self.fake.wait_for_messages(chat_id, n, timeout), self.loop)
        return future.result(timeout + 1)

    def stop(self) -> None:
        """Stop the server, its loop and the thread."""
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def __enter__(self) -> ThreadedFakeTelegram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server for tests and demos")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--known-chat", type=int, action="append", default=[], help="chat id the bot may address")
    parser.add_argument("--lenient-chats", action="store_true", help="accept sends to any chat id")
    parser.add_argument("--enforce-limits", action="store_true", help="answer 429 instead of accepting violations")
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = FakeTelegram(
            args.token, host=args.host, port=args.port, known_chats=args.known_chat,
            strict_chats=not args.lenient_chats, enforce_limits=args.enforce_limits,
        )  # fmt: skip
        async with fake:
            root = fake.root_url
            print(f"Fake Telegram Bot API on {root}  token={fake.token}", flush=True)
            print(f'  PTB:     Application.builder().token(TOKEN).base_url("{root}/bot")', flush=True)
            print(f'  aiogram: AiohttpSession(api=TelegramAPIServer.from_base("{root}"))', flush=True)
            print(f'  control: POST {root}/_fake/user_message {{"user_id": 42, "text": "/start"}}', flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
