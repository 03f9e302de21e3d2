"""What the WeCom (企业微信) and Official Account (公众号) transports share.

* **Callback security.** Bodies over 1 MB are refused before parsing; XML is parsed only after any
  ``<!DOCTYPE``/``<!ENTITY`` (anything ``<!`` but CDATA) was refused, so no entity can be expanded; signatures
  (``signature``, ``msg_signature``) are compared in constant time; the ciphertext is decoded strictly (base64,
  block size, PKCS#7 padding, length prefix) before the receiver id (CorpID/AppID) inside it is checked.
  wechatpy has no replay check: :class:`ReplayGuard` refuses timestamps outside ±5 minutes and nonces seen
  before (in this process at once; across workers through the database, before the handlers run).
* **The 5-second rule.** A callback is answered after at most :data:`PASSIVE_WAIT` of handling: a short
  encrypted passive reply when the whole answer is one plain message ready by then, else ``success``; the rest
  goes through the active send API. Updates of one user are handled in order, users in parallel.
* **access_token.** One token per app in the database; a lease elects the single refresher, so workers never
  invalidate each other's tokens; refreshed 5 minutes before expiry and when the API says 40001/40014/42001.
* wechatpy is synchronous (requests): every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from aiohttp import web

from bot.delivery.sender import chat_windows
from bot.transports.serving import ChatQueues, listen_address
from handlers.core import Attachment, Inbound, Outbound, Printable, QrCode
from storage.repositories.wechat import WeChatRepository

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes; WeChat's own messages are a few KB
REPLAY_WINDOW = 300  # seconds either side of our clock
NONCE_TTL = timedelta(seconds=2 * REPLAY_WINDOW + 60)
CALLBACK_DEADLINE = 4.5  # WeChat gives up after 5 s and retries
PASSIVE_WAIT = 0.3  # how long a callback waits for the answer before saying "success"
TEXT_LIMIT_BYTES = 2000  # text messages: 2048 bytes on both platforms, kept a little below
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
_NOT_CDATA = re.compile(r"<!(?!\[CDATA\[)")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class CallbackRejected(Exception):
    """A callback refused before any handler ran; ``reason`` is logged, ``status`` answered."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason, self.status = reason, status


# ---------------------------------------------------------------------------------------------- XML


def parse_xml(data: bytes | str, limit: int = MAX_BODY) -> dict[str, str]:
    """The children of a flat ``<xml>`` document as ``{tag: text}``; refuses DTDs, entities and oversize input."""
    if len(data) > limit:
        raise CallbackRejected("body_too_large", 413)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise CallbackRejected("bad_encoding") from None
    # A NUL means UTF-16/32 in disguise: the text check below would not see its "<!" but the parser would.
    if "\x00" in text:
        raise CallbackRejected("bad_encoding")
    if _NOT_CDATA.search(text):  # <!DOCTYPE, <!ENTITY, comments: WeChat sends none of them
        raise CallbackRejected("xml_declaration_refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise CallbackRejected("bad_xml") from None
    if root.tag != "xml":
        raise CallbackRejected("bad_xml")
    return {child.tag: (child.text or "").strip() if len(child) == 0 else "" for child in root}


def chat_of(m: dict[str, str], user: str) -> tuple[str, str]:
    """(chat id, chat type) of a callback message: one-to-one unless it names a chat of its own.

    A WeCom group (an app chat, a group robot) adds ``ChatId`` and ``ChatType`` ("group"; "single" for one to
    one). Such a message is answered in its chat, where it came from, and never treated as private.
    """
    chat, kind = m.get("ChatId", "").strip(), m.get("ChatType", "").strip().lower()
    if not chat and kind in ("", "single"):
        return user, "private"
    return (chat or f"group:{user}")[:64], (kind if kind and kind != "single" else "group")[:32]


def cdata(text: str) -> str:
    """Text safe inside ``<![CDATA[...]]>`` (wechatpy's replies do not split ``]]>``)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


# ---------------------------------------------------------------------------------------------- signatures, AES


def signature(*parts: str) -> str:
    """WeChat's SHA-1 signature: the parts sorted, joined, hashed."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(expected: str, got: str | None) -> bool:
    """Constant-time comparison of hex signatures."""
    return bool(got) and hmac.compare_digest(expected.encode(), (got or "").encode())


class AesCipher:
    """WeChat's AES-256-CBC message envelope (safe mode), decoded strictly; encryption through wechatpy."""

    def __init__(self, token: str, encoding_aes_key: str, receiver_id: str, *, enterprise: bool):
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters of base64 (32 bytes)")
        from wechatpy.crypto.cryptography import WeChatCipher

        if enterprise:
            from wechatpy.enterprise.crypto import WeChatCrypto
        else:
            from wechatpy.crypto import WeChatCrypto
        self._cipher = WeChatCipher(key)
        self._crypto = WeChatCrypto(token, encoding_aes_key, receiver_id)
        self.receiver_id = receiver_id.encode()

    def decrypt(self, encrypted: str) -> bytes:
        """The plaintext XML of ``Encrypt``; raises ``CallbackRejected`` on any malformed or foreign ciphertext."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected("bad_base64") from None
        if not raw or len(raw) % 32:
            raise CallbackRejected("bad_ciphertext_length")
        plain = self._cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("bad_padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise CallbackRejected("bad_length")
        (n,) = struct.unpack(">I", content[:4])
        if 4 + n > len(content):
            raise CallbackRejected("bad_length")
        if not hmac.compare_digest(content[4 + n :], self.receiver_id):
            raise CallbackRejected("wrong_receiver", 403)
        return content[4 : 4 + n]

    def seal(self, reply_xml: str, nonce: str, timestamp: str) -> str:
        """An encrypted passive reply (wechatpy builds and signs the envelope)."""
        return self._crypto.encrypt_message(reply_xml, nonce, timestamp)


# ---------------------------------------------------------------------------------------------- replay guard


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class ReplayGuard:
    """Refuses stale timestamps and seen nonces: in this process at once, across workers through the database.

    The database check runs in the update's worker thread before the conversation sees it (see
    :meth:`CallbackBridge._handle`), never on the callback's critical path: a locked database must not make
    WeChat wait. A nonce another worker already accepted is dropped there, before any side effect.
    """

    def __init__(self, uow: Callable[[], Any] | None, *, clock: Callable[[], float] = time.time,
                 window: int = REPLAY_WINDOW, memory: int = 100_000):
        self.uow, self.clock, self.window, self.memory = uow, clock, window, memory
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._last_purge = 0.0

    def check_timestamp(self, timestamp: str | None) -> None:
        """Refuse a missing, malformed or stale (or future) timestamp."""
        if not timestamp or not _DIGITS.match(timestamp):
            raise CallbackRejected("bad_timestamp")
        if abs(self.clock() - int(timestamp)) > self.window:
            raise CallbackRejected("stale_timestamp", 403)

    def check_nonce(self, channel: str, nonce: str | None) -> None:
        """Refuse a malformed nonce or one this process saw in the window (call after the signature checked out)."""
        if not nonce or not _NONCE.match(nonce):
            raise CallbackRejected("bad_nonce")
        now = self.clock()
        while self._seen and next(iter(self._seen.values())) < now - NONCE_TTL.total_seconds():
            self._seen.popitem(last=False)
        key = (channel, nonce)
        if key in self._seen:
            raise CallbackRejected("replayed_nonce", 403)
        self._seen[key] = now
        if len(self._seen) > self.memory:
            self._seen.popitem(last=False)

    def record(self, channel: str, nonce: str) -> bool:
        """In a worker thread: store the nonce for every worker; False if another worker accepted it already."""
        if self.uow is None or not nonce:
            return True
        now = self.clock()
        try:
            with self.uow() as uow:
                repo = WeChatRepository(uow)
                first = repo.first_nonce(channel, nonce, _utc(now))
                if now - self._last_purge > 60:
                    self._last_purge = now
                    repo.purge_nonces(_utc(now) - NONCE_TTL)
                uow.commit()
                return first
        except Exception:
            log.exception("nonce store failed: accepted on the local replay check")
            return True

    def close(self) -> None:
        """Nothing to release (kept for symmetry with the transports' closers)."""


# ---------------------------------------------------------------------------------------------- callback endpoint


@dataclass
class Callback:
    """A verified, decrypted callback: the inner message and what a passive reply needs."""

    message: dict[str, str]
    nonce: str
    timestamp: str


class CallbackEndpoint:
    """Verification and decryption of one app's callbacks (WeCom: ``msg_signature``; OA: both signatures)."""

    def __init__(self, platform: str, token: str, aes_key: str | None, receiver_id: str, guard: ReplayGuard,
                 *, enterprise: bool):
        self.platform, self.token, self.enterprise, self.guard = platform, token, enterprise, guard
        self.cipher = AesCipher(token, aes_key, receiver_id, enterprise=enterprise) if aes_key else None
        self.receiver_id = receiver_id

    def verify_url(self, q: dict[str, str]) -> str:
        """The answer to the URL check (GET with ``echostr``)."""
        self.guard.check_timestamp(q.get("timestamp"))
        ts, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
        if not echostr:
            raise CallbackRejected("no_echostr")
        if self.enterprise:  # WeCom: msg_signature over the encrypted echostr, answer its plaintext
            if not signature_ok(signature(self.token, ts, nonce, echostr), q.get("msg_signature")):
                raise CallbackRejected("bad_msg_signature", 403)
            if self.cipher is None:
                raise CallbackRejected("no_aes_key", 500)
            # Without this, a captured callback replayed here as echostr would be decrypted for anyone.
            self.guard.check_nonce(self.platform, nonce)
            plain = self.cipher.decrypt(echostr).decode("utf-8", "replace")
            if len(plain) > 64 or plain.lstrip().startswith("<"):
                raise CallbackRejected("bad_echostr", 403)
            return plain
        if not signature_ok(signature(self.token, ts, nonce), q.get("signature")):  # OA: plain echo
            raise CallbackRejected("bad_signature", 403)
        return echostr

    def open(self, q: dict[str, str], body: bytes) -> Callback:
        """Check size, time, signatures, nonce and receiver, then decrypt and parse the message."""
        if len(body) > MAX_BODY:
            raise CallbackRejected("body_too_large", 413)
        ts, nonce = q.get("timestamp", ""), q.get("nonce", "")
        self.guard.check_timestamp(ts)
        outer = parse_xml(body)
        if not self.enterprise and not signature_ok(signature(self.token, ts, nonce), q.get("signature")):
            raise CallbackRejected("bad_signature", 403)
        encrypted = outer.get("Encrypt")
        if self.cipher is not None:
            if not encrypted:
                raise CallbackRejected("not_encrypted")
            if not signature_ok(signature(self.token, ts, nonce, encrypted), q.get("msg_signature")):
                raise CallbackRejected("bad_msg_signature", 403)
        elif encrypted:
            raise CallbackRejected("no_aes_key", 500)
        self.guard.check_nonce(self.platform, nonce)
        message = parse_xml(self.cipher.decrypt(encrypted)) if self.cipher and encrypted else outer
        return Callback(message, nonce, ts)

    def seal(self, reply_xml: str, cb: Callback) -> str:
        """The passive reply body (encrypted in safe mode)."""
        return self.cipher.seal(reply_xml, cb.nonce, cb.timestamp) if self.cipher else reply_xml


# ---------------------------------------------------------------------------------------------- access tokens


class TokenStore:
    """access_tokens in the database, with a lease so that only one worker fetches a new one at a time."""

    def __init__(self, uow: Callable[[], Any], *, clock: Callable[[], float] = time.time, margin: float = 300,
                 lease: float = 30, wait: float = 15, holder: str | None = None):
        self.uow, self.clock, self.margin, self.lease, self.wait = uow, clock, margin, lease, wait
        self.holder = holder or f"{socket.gethostname()[:40]}:{os.getpid()}:{id(self) % 10_000}"
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, key: str, fetch: Callable[[], tuple[str, int]]) -> str:
        """A token valid for a while yet, refreshing it first if it is about to expire."""
        cached = self._cache.get(key)
        if cached and cached[1] - self.clock() > self.margin:
            return cached[0]
        with self._lock:  # one thread per process asks the database; the lease sorts out the processes
            cached = self._cache.get(key)
            if cached and cached[1] - self.clock() > self.margin:
                return cached[0]
            return self._refresh(key, fetch)

    def invalidate(self, key: str, token: str) -> None:
        """The platform refused ``token``: forget it here and in the database (unless already replaced)."""
        if self._cache.get(key, ("",))[0] == token:
            self._cache.pop(key, None)
        with self.uow() as uow:
            WeChatRepository(uow).invalidate_token(key, token, _utc(self.clock()))
            uow.commit()

    def _refresh(self, key: str, fetch: Callable[[], tuple[str, int]]) -> str:
        deadline = self.clock() + self.wait
        while True:
            now = self.clock()
            with self.uow() as uow:
                repo = WeChatRepository(uow)
                token, expires, _holder, _until = repo.token(key)
                exp = expires.timestamp() if expires else 0.0
                if token and exp - now > self.margin:
                    self._cache[key] = (token, exp)
                    return token
                got = repo.take_lease(key, self.holder, _utc(now), _utc(now + self.lease), _utc(now + self.margin))
                uow.commit()
            if got:
                return self._fetch(key, fetch)
            if token and exp > now:  # someone else is refreshing; the current token still works meanwhile
                return token
            if now > deadline:
                raise TimeoutError(f"no access_token for {key}: another worker holds the refresh lease")
            time.sleep(0.1)

    def _fetch(self, key: str, fetch: Callable[[], tuple[str, int]]) -> str:
        try:
            token, ttl = fetch()
        except BaseException:
            with self.uow() as uow:
                WeChatRepository(uow).release_lease(key, self.holder)
                uow.commit()
            raise
        self.fetches += 1
        now = self.clock()
        with self.uow() as uow:
            WeChatRepository(uow).store_token(key, token, _utc(now + ttl), self.holder, _utc(now))
            uow.commit()
        self._cache[key] = (token, now + ttl)
        log.info("access_token for %s refreshed (valid %d s)", key.split(":")[0], ttl)
        return token


class DbTokenMixin:
    """Makes a wechatpy client take its access_token from a :class:`TokenStore` (mixed in before the client)."""

    _store: TokenStore
    _token_key: str
    _token_url: str
    _token_params: dict[str, str]
    _http: Any
    timeout: Any

    @property
    def access_token(self) -> str:
        """The shared token (wechatpy reads this for every call)."""
        return self._store.get(self._token_key, self._fetch_token)

    def fetch_access_token(self) -> dict:
        """Force a refresh (wechatpy calls this only with auto_retry, which is off: see :func:`call_api`)."""
        token = self._store.get(self._token_key, self._fetch_token)
        self._store.invalidate(self._token_key, token)
        return {"access_token": self._store.get(self._token_key, self._fetch_token)}

    def _fetch_token(self) -> tuple[str, int]:
        from wechatpy.exceptions import WeChatClientException

        res = self._http.get(self._token_url, params=self._token_params, timeout=self.timeout or 10)
        try:
            data = res.json()
        except ValueError:
            raise WeChatClientException(None, f"token endpoint answered {res.status_code}") from None
        if data.get("errcode"):
            raise WeChatClientException(data["errcode"], data.get("errmsg", ""))
        return data["access_token"], int(data.get("expires_in", 7200))

    def call_api(self, fn: Callable[[], dict]) -> dict:
        """Run one API call; a refused token is invalidated and the call made once more with a fresh one."""
        from wechatpy.exceptions import WeChatClientException

        token = self.access_token
        try:
            return fn()
        except WeChatClientException as e:
            if e.errcode not in TOKEN_ERRORS:
                raise
            log.info("access_token refused (%s): refreshing", e.errcode)
            self._store.invalidate(self._token_key, token)
            return fn()


def errcode_of(e: Exception) -> int | None:
    """The WeChat errcode of an API exception (None for transport errors)."""
    code = getattr(e, "errcode", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------- text


def split_bytes(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Split text into parts of at most ``limit`` UTF-8 bytes, on line boundaries where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut = max(1, cut * limit // len(line[:cut].encode()) - 1)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") for p in parts if p.strip()]


# ---------------------------------------------------------------------------------------------- delivery


@dataclass
class Delivery:
    """One API message to send: ``kind`` text | card | card_update | image | file, the JSON ``body`` part, and plain
    text.

    An image is a handler's QR code (``qr``), drawn and uploaded when it is sent; a file is a handler's page to print
    (``document``), laid out and uploaded when it is sent. A message that only makes sense after another one (an
    image's caption) names it in ``requires`` and is left out unless that one was sent.
    """

    platform: str
    chat_id: str
    kind: str
    body: dict[str, Any]
    text: str = ""
    qr: QrCode | None = None
    document: Printable | None = None
    attachment: Attachment | None = None  # a ready-made file (the survey template), uploaded when it is sent
    requires: Delivery | None = None
    sent: bool | None = None  # set once sent (True) or given up (False)


class Deliverer(Protocol):
    """One platform's sending side (the WeCom app, the Official Account)."""

    platform: str
    member_limit: tuple[int, float] | None  # (messages, seconds) to one person, shared with the outbox sender

    def plan(self, outs: list[Outbound], inbound: Inbound | None) -> list[Delivery]:
        """In a worker thread: the API messages for ``outs`` (and for the press in ``inbound``, if any)."""

    async def send(self, d: Delivery) -> None:
        """Send one message through the active API, setting ``d.sent``; never raises."""

    def passive_xml(self, d: Delivery, cb: Callback) -> str | None:
        """The plaintext passive reply for ``d`` (a text message), or None if it cannot go passively."""

    async def send_result(self, d: Delivery) -> Any:
        """Send one message and say how it went (``bot.delivery.channels.SendResult``)."""


@dataclass
class _Pending:
    future: asyncio.Future[Delivery | None]
    open: bool = True


@dataclass
class BridgeStats:
    """Counts since start (tests and the benchmark read them)."""

    accepted: int = 0
    passive: int = 0
    active: int = 0
    forwarded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class CallbackBridge:
    """Callback in, ``Inbound`` to the conversation (per user, in order, in a thread), replies out."""

    def __init__(self, app: Any, conversation: Any, endpoint: CallbackEndpoint,
                 translate: Callable[[dict[str, str]], Inbound | None], deliverers: dict[str, Deliverer],
                 *, prepare: Callable[[Inbound], Inbound | None] | None = None, passive_wait: float = PASSIVE_WAIT):
        self.app, self.conversation, self.endpoint = app, conversation, endpoint
        self.platform = endpoint.platform
        self.translate, self.prepare = translate, prepare
        self.deliverers = deliverers
        self.passive_wait = passive_wait
        self.queues = ChatQueues()
        self.stats = BridgeStats()
        self._inflight: set[str] = set()

    # --- HTTP ---------------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler of this app's callback path."""
        q = {k: v for k, v in request.query.items()}
        try:
            if request.method == "GET":
                return web.Response(text=self.endpoint.verify_url(q))
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise CallbackRejected("body_too_large", 413)
            body = await request.content.read(MAX_BODY + 1)
            cb = self.endpoint.open(q, body)
        except CallbackRejected as e:
            self.stats.rejected[e.reason] += 1
            log.warning("%s callback rejected: %s (from %s)", self.platform, e.reason, request.remote)
            return web.Response(status=e.status, text="")
        except Exception:
            self.stats.rejected["error"] += 1
            log.exception("%s callback failed", self.platform)
            return web.Response(status=400, text="")
        self.stats.accepted += 1
        return await self.accept(cb)

    async def accept(self, cb: Callback) -> web.Response:
        """Queue the message, wait a moment for a passive answer, else say success."""
        success = web.Response(text="success" if not self.endpoint.enterprise else "")
        try:
            inbound = self.translate(cb.message)
        except Exception:
            log.exception("%s message not understood", self.platform)
            return success
        if inbound is None:
            return success
        if inbound.update_id and inbound.update_id in self._inflight:
            return success  # WeChat's retry of a message still being handled
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future())
        if inbound.update_id:
            self._inflight.add(inbound.update_id)
        self.queues.submit(inbound.user_id, lambda: self._process(inbound, pending, cb.nonce))
        if cb.message.get("MsgType") != "text":
            pending.open = False  # events (button presses …) are answered at once; replies go through the API
            return success
        try:
            d = await asyncio.wait_for(asyncio.shield(pending.future), self.passive_wait)
        except TimeoutError:
            d = pending.future.result() if pending.future.done() else None
        pending.open = False
        if d is None:
            return success
        xml = self.deliverers[self.platform].passive_xml(d, cb)
        if xml is None:  # cannot happen: checked before the future was set
            return success
        self.stats.passive += 1
        return web.Response(text=self.endpoint.seal(xml, cb), content_type="application/xml")

    # --- handling -----------------------------------------------------------------------------------------
    async def _process(self, inbound: Inbound, pending: _Pending, nonce: str = "") -> None:
        try:
            deliveries, forwarded = await asyncio.to_thread(self._handle, inbound, nonce)
        except Exception:
            log.exception("%s update failed", self.platform)
            deliveries, forwarded = [], 0
        finally:
            if inbound.update_id:
                self._inflight.discard(inbound.update_id)
        self.stats.forwarded += forwarded
        own = [d for d in deliveries if d.platform == self.platform and d.chat_id == inbound.chat_id]
        if pending.open and len(own) == 1 and own[0].kind == "text" and not pending.future.done():
            pending.future.set_result(own[0])
            deliveries = [d for d in deliveries if d is not own[0]]
        elif not pending.future.done():
            pending.future.set_result(None)
        pending.open = False
        for d in deliveries:
            if d.requires is not None and not d.requires.sent:
                continue  # an image's caption without its image
            deliverer = self.deliverers[d.platform]
            limit = deliverer.member_limit
            if limit is None:
                await deliverer.send(d)
            else:  # the member's minute, counted with what the outbox sender sends them (WeCom: 30 a minute)
                window = chat_windows(d.platform, d.chat_id, *limit)
                while (wait := window.wait(time.monotonic())) > 0:
                    await asyncio.sleep(wait)
                await deliverer.send(d)
                window.record(time.monotonic())
            self.stats.active += 1

    def _handle(self, inbound: Inbound, nonce: str = "") -> tuple[list[Delivery], int]:
        """In a worker thread: the shared nonce check, prepare, the conversation, then plan what to send."""
        if not self.endpoint.guard.record(self.platform, nonce):
            self.stats.rejected["replayed_nonce"] += 1
            log.warning("%s callback dropped: replayed_nonce (accepted by another worker)", self.platform)
            return [], 0
        if self.prepare is not None:
            prepared = self.prepare(inbound)
            if prepared is None:
                return [], 0
            inbound = prepared
        outs = self.conversation.handle(inbound)
        by_platform: dict[str, list[Outbound]] = {}
        for o in outs:
            by_platform.setdefault(o.platform, []).append(o)
        deliveries: list[Delivery] = []
        others: list[Outbound] = []
        for platform, group in by_platform.items():
            d = self.deliverers.get(platform)
            if d is None:
                others.extend(group)
            else:
                deliveries.extend(d.plan(group, inbound if platform == self.platform else None))
        if self.platform not in by_platform and self.platform in self.deliverers:
            deliveries.extend(self.deliverers[self.platform].plan([], inbound))  # e.g. grey a pressed WeCom card
        if others:
            self._forward(inbound, others)
        return deliveries, len(others)

    def _forward(self, inbound: Inbound, outs: list[Outbound]) -> None:
        """Messages for platforms this process does not serve (Telegram …) go through the outbox."""
        now = self.conversation.services.clock()
        with self.app.uow() as uow:
            for i, o in enumerate(outs):
                buttons = json.dumps([[{"label": b.label, "data": b.data} for b in row] for row in o.buttons],
                                     ensure_ascii=False) if o.buttons else None
                key = f"fwd:{self.platform}:{inbound.update_id or id(inbound)}:{i}"
                uow.outbox.enqueue(o.platform, o.chat_id, o.text, buttons, priority="reply", dedupe_key=key,
                                   account_id=None, now=now)
            uow.commit()

    def mark_blocked(self, user_id: str) -> None:
        """In a worker thread: the user unfollowed; notifications skip the account until they write again."""
        with self.app.uow() as uow:
            acc = uow.chat.account(self.platform, user_id)
            if acc is not None and not acc.blocked:
                acc.blocked = True
                uow.chat.save(acc)
                uow.commit()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued update was handled and answered (tests, shutdown)."""
        await self.queues.drain(timeout)


# ---------------------------------------------------------------------------------------------- HTTP server


class CallbackServer:
    """One aiohttp server per listen address, shared by the transports of a process (``wecom,wechat``).

    Kept in a class-level table because each transport's ``serve`` is started on its own; the second one to
    start adds its path to the server the first one opened.
    """

    _servers: ClassVar[dict[tuple[str, int], CallbackServer]] = {}

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        self._runner: web.AppRunner | None = None
        self._starting: asyncio.Future[None] | None = None

    @classmethod
    async def attach(cls, listen: str, path: str,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> CallbackServer:
        """Serve ``path`` on ``listen`` (``host:port``; port 0 picks one), opening the server if needed."""
        host, port = listen_address(listen)
        server = cls._servers.get((host, port)) if port else None
        if server is None:
            server = cls(host, port)
            if port:  # registered before starting: a second transport starting meanwhile waits for this one
                cls._servers[(host, port)] = server
            server._starting = asyncio.ensure_future(server._start())
            try:
                await server._starting
            except BaseException:
                cls._servers.pop((host, port), None)
                raise
        elif server._starting is not None:
            await asyncio.shield(server._starting)
        if path in server.routes:
            raise RuntimeError(f"{path} is served twice on {listen}")
        server.routes[path] = handler
        return server

    async def detach(self, path: str) -> None:
        """Stop serving ``path``; the server closes with its last path."""
        self.routes.pop(path, None)
        if not self.routes and self._runner is not None:
            self._servers.pop((self.host, self.port), None)
            await self._runner.cleanup()
            self._runner = None

    async def _start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY + 1)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self.routes.get(request.path)
        if handler is None or request.method not in ("GET", "POST"):
            return web.Response(status=404)
        try:
            async with asyncio.timeout(CALLBACK_DEADLINE):
                return await handler(request)
        except TimeoutError:  # never reached in practice (the bridge answers after PASSIVE_WAIT)
            log.error("callback on %s took longer than %.1f s", request.path, CALLBACK_DEADLINE)
            return web.Response(text="success")


async def serve_bridge(bridge: CallbackBridge, listen: str, path: str, stop: asyncio.Event,
                       closers: Iterable[Callable[[], Any]] = ()) -> None:
    """Serve ``bridge`` on ``listen``/``path`` until ``stop``; then finish queued updates."""
    server = await CallbackServer.attach(listen, path, bridge.handle)
    log.info("%s callbacks on http://%s:%d%s", bridge.platform, server.host, server.port, path)
    print(f"{bridge.platform} callback ready: http://{server.host}:{server.port}{path}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.detach(path)
        await bridge.drain(10.0)
        for close in closers:
            with contextlib.suppress(Exception):
                close()
