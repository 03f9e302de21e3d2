"""A fake WeChat API server (WeCom and Official Account) on 127.0.0.1, and a builder of real encrypted callbacks.

Tests, the benchmark and demos point ``WECOM_API_BASE_URL``/``WECHAT_API_BASE_URL`` at it, so wechatpy's own
HTTP code runs unchanged (style rule 6: fake the transport at its lowest layer). It serves the access_token
endpoints, WeCom ``message/send`` (text, template cards, images, files), ``message/update_template_card`` and
``media/upload``, OA ``message/custom/send``, ``message/template/send`` and ``qrcode/create``; it checks tokens
(``expire_tokens`` makes every issued token answer 42001), the limits that bite (text ≤ 2048 bytes, ≤ 6 card
buttons, unique task ids, single-use response codes; an image PNG or JPG of 6 bytes to 2 MB, a file of 6 bytes
to 20 MB, its media_id known, of the message's type and under 3 days old; a QR scene of 1-64 characters, a
temporary code at most 30 days, 100,000 permanent codes an account), and can close a user's 48-hour window
(45015) or have them unfollow (43004). ``qr_codes`` maps each URL the OA issued to its scene, as WeChat's own
servers know which scene a scanned code stands for.
:class:`CallbackBuilder` encrypts and signs callbacks the way WeChat does, with wechatpy's crypto.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.transports.wechat.bridge import parse_xml

TASK_ID = re.compile(r"^[A-Za-z0-9_@-]{1,128}$")


@dataclass
class Sent:
    """One message the fake accepted: ``kind`` wecom_text | wecom_card | wecom_card_update | wecom_image | wecom_file
    | mp_custom | mp_template; an image's bytes (as uploaded) in ``image``, a file's in ``file`` with its name."""

    kind: str
    to: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    image: bytes | None = None
    file: bytes | None = None
    filename: str = ""

    @property
    def text(self) -> str:
        """The visible text (card title and subtitle; template fields; "[图片]" for an image)."""
        b = self.body
        if self.kind in ("wecom_text", "mp_custom", "passive"):
            return str(b.get("text", {}).get("content", ""))
        if self.kind == "wecom_card":
            c = b["template_card"]
            return c["main_title"].get("title", "") + ("\n" + c["sub_title_text"] if c.get("sub_title_text") else "")
        if self.kind == "wecom_image":
            return "[图片]"
        if self.kind == "wecom_file":
            return f"[文件] {self.filename}"
        if self.kind == "mp_template":
            # What a resident sees since 2023-05-04: no first, no remark, an old-style keyword cut at 20 characters.
            return "\n".join(str(v.get("value", ""))[:20] if k.startswith("keyword") else str(v.get("value", ""))
                             for k, v in b.get("data", {}).items() if v.get("value") and k not in ("first", "remark"))
        return json.dumps(b, ensure_ascii=False)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, key) of a card's buttons."""
        if self.kind != "wecom_card":
            return []
        return [(x["text"], x["key"]) for x in self.body["template_card"]["button_list"]]


@dataclass(frozen=True)
class IssuedQr:
    """A parametric QR code the fake Official Account issued (``qrcode/create``)."""

    scene: str
    action_name: str
    ticket: str
    url: str
    expire_seconds: int | None  # None: permanent
    issued_at: float

    @property
    def permanent(self) -> bool:
        """A ``QR_LIMIT_*`` code: it never expires."""
        return self.expire_seconds is None

    def expired(self, now: float | None = None) -> bool:
        """WeChat no longer answers a scan of it (a temporary code past its time)."""
        return not self.permanent and (now or time.time()) >= self.issued_at + (self.expire_seconds or 0)


@dataclass(frozen=True)
class Media:
    """A temporary file uploaded to WeCom (``media/upload``): usable in messages for 3 days."""

    kind: str
    filename: str
    content: bytes
    uploaded_at: float


QR_SCENE_LIMIT = 64  # characters of scene_str
QR_TEMPORARY_MAX = 2_592_000  # seconds: 30 days
QR_TEMPORARY_DEFAULT = 60  # seconds, when a temporary code names no expire_seconds
QR_PERMANENT_LIMIT = 100_000  # permanent codes an account may have
MEDIA_TTL = 3 * 24 * 3600  # seconds a WeCom media_id stays usable
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes: WeCom's documented limit for an image (its docs also say 10 MB; the lower)
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPG: the formats WeCom takes for an image
FILE_LIMIT = 20 * 1024 * 1024  # bytes: WeCom's limit for an uploaded file


_TEMPLATE_LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32}
_TEMPLATE_TIME = re.compile(r"^(\d{4}年)?\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?$|^\d{1,2}:\d{2}$")


def template_value_problem(key: str, value: str) -> str | None:
    """Why WeChat refuses a typed field's value (the documented limits of category templates), or None."""
    kind = re.sub(r"\d+$", "", key)
    limit = _TEMPLATE_LIMITS.get(kind)
    if limit is not None and len(value) > limit:
        return f"exceeds {limit} characters"
    if kind == "phrase" and not re.fullmatch(r"[\u4e00-\u9fff]*", value):
        return "must be Chinese characters"
    if kind in ("character_string", "number") and not value.isascii():
        return "must be letters, digits or symbols"
    if kind in ("time", "date") and not _TEMPLATE_TIME.match(value):
        return "is not a time"
    return None


class FakeWeChat:
    """The fake API server; ``async with FakeWeChat() as fake`` starts it, ``fake.root_url`` is its base URL."""

    def __init__(self, *, corp_id: str = "wwfakecorp0001", corp_secret: str = "corp-secret", agent_id: str = "1000002",
                 app_id: str = "wxfakeapp0000001", app_secret: str = "app-secret",
                 templates: tuple[str, ...] = ("TPL-ANNOUNCE", "TPL-NOTICE"), token_ttl: int = 7200,
                 latency: float = 0.0):
        self.corp_id, self.corp_secret, self.agent_id = corp_id, corp_secret, agent_id
        self.app_id, self.app_secret = app_id, app_secret
        self.templates = set(templates)
        self.token_ttl, self.latency = token_ttl, latency
        self.sent: list[Sent] = []
        self.token_fetches: Counter[str] = Counter()
        self.errors: Counter[int] = Counter()
        self.closed_window: set[str] = set()
        self.unfollowed: set[str] = set()
        self.qr_codes: dict[str, IssuedQr] = {}  # URL → code; what a phone reads from the image is the URL
        self.media: dict[str, Media] = {}
        self.qr_limit = QR_PERMANENT_LIMIT
        self._valid: dict[str, str] = {}  # token → "wecom" | "wechat"
        self._expired: set[str] = set()
        self._task_ids: set[str] = set()
        self._codes_used: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.root_url = ""
        self.changed = asyncio.Event()

    async def __aenter__(self) -> FakeWeChat:
        app = web.Application(client_max_size=21 * 1024 * 1024)  # media/upload takes files up to 20 MB
        app.router.add_get("/cgi-bin/gettoken", self._wecom_token)
        app.router.add_get("/cgi-bin/token", self._mp_token)
        app.router.add_post("/cgi-bin/message/send", self._wecom_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._wecom_update)
        app.router.add_post("/cgi-bin/message/custom/send", self._mp_custom)
        app.router.add_post("/cgi-bin/message/template/send", self._mp_template)
        app.router.add_post("/cgi-bin/qrcode/create", self._mp_qrcode)
        app.router.add_post("/cgi-bin/media/upload", self._wecom_upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- faults -------------------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 (expired) from now on."""
        self._expired.update(self._valid)
        self._valid.clear()

    # --- inspection ---------------------------------------------------------------------------------------
    def to(self, user: str, kind: str | None = None) -> list[Sent]:
        """Messages sent to ``user`` (of one kind), oldest first."""
        return [s for s in self.sent if s.to == user and (kind is None or s.kind == kind)]

    async def wait_for(self, pred, timeout: float = 10.0) -> bool:
        """Wait until ``pred()`` holds (messages arrive from the transport's background sends)."""
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.05)
        return True

    # --- endpoints ----------------------------------------------------------------------------------------
    def _err(self, code: int, msg: str) -> web.Response:
        self.errors[code] += 1
        return web.json_response({"errcode": code, "errmsg": msg})

    def _issue(self, platform: str) -> web.Response:
        self.token_fetches[platform] += 1
        token = f"{platform}-{secrets.token_hex(16)}"
        self._valid[token] = platform
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl})

    async def _wecom_token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("corpid") != self.corp_id or q.get("corpsecret") != self.corp_secret:
            return self._err(40013, "invalid corpid or secret")
        return self._issue("wecom")

    async def _mp_token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.app_id:
            return self._err(40013, "invalid appid")
        if q.get("secret") != self.app_secret:
            return self._err(40001, "invalid credential, secret")
        return self._issue("wechat")

    def _token_error(self, request: web.Request, platform: str) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self._expired:
            return self._err(42001, "access_token expired")
        if self._valid.get(token) != platform:
            return self._err(40014, "invalid access_token")
        return None

    async def _check(self, request: web.Request, platform: str) -> tuple[dict[str, Any] | None, web.Response | None]:
        if self.latency:
            await asyncio.sleep(self.latency)
        error = self._token_error(request, platform)
        if error is not None:
            return None, error
        try:
            body = json.loads(await request.read())
        except ValueError:
            return None, self._err(47001, "data format error")
        return body, None

    def _record(self, kind: str, to: str, body: dict[str, Any], image: bytes | None = None) -> web.Response:
        self.sent.append(Sent(kind, to, body, image=image))
        self.changed.set()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": str(next(self._ids))})

    async def _wecom_send(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "wecom")
        if error or body is None:
            return error or self._err(47001, "bad body")
        if str(body.get("agentid")) != self.agent_id:
            return self._err(40056, "invalid agentid")
        to = str(body.get("touser", ""))
        if not to:
            return self._err(40031, "invalid user list")
        kind = body.get("msgtype")
        if kind == "text":
            content = str(body.get("text", {}).get("content", ""))
            if not content:
                return self._err(44004, "empty content")
            if len(content.encode()) > 2048:
                return self._err(45002, "content size out of limit")
            return self._record("wecom_text", to, body)
        if kind == "template_card":
            card = body.get("template_card", {})
            buttons = card.get("button_list", [])
            if card.get("card_type") != "button_interaction" or not card.get("main_title", {}).get("title"):
                return self._err(40058, "invalid template_card")
            if not 1 <= len(buttons) <= 6 or any(len(str(b.get("key", "")).encode()) > 1024 for b in buttons):
                return self._err(40058, "invalid button_list")
            task = str(card.get("task_id", ""))
            if not TASK_ID.match(task) or task in self._task_ids:
                return self._err(40058, "invalid or repeated task_id")
            self._task_ids.add(task)
            return self._record("wecom_card", to, body)
        if kind == "image":
            media = self.media.get(str(body.get("image", {}).get("media_id", "")))
            if media is None or media.kind != "image" or time.time() - media.uploaded_at > MEDIA_TTL:
                return self._err(40007, "invalid media_id")
            return self._record("wecom_image", to, body, media.content)
        if kind == "file":
            media = self.media.get(str(body.get("file", {}).get("media_id", "")))
            if media is None or media.kind != "file" or time.time() - media.uploaded_at > MEDIA_TTL:
                return self._err(40007, "invalid media_id")
            self.sent.append(Sent("wecom_file", to, body, file=media.content, filename=media.filename))
            self.changed.set()
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": str(next(self._ids))})
        return self._err(40008, "invalid message type")

    async def _wecom_upload(self, request: web.Request) -> web.Response:
        """``media/upload?type=image|file``: multipart with the file in ``media``; answers a media_id."""
        error = self._token_error(request, "wecom")
        if error is not None:
            return error
        kind = request.query.get("type", "")
        if kind not in ("image", "voice", "video", "file"):
            return self._err(40004, "invalid media type")
        if request.content_type != "multipart/form-data":
            return self._err(41005, "media data missing")
        form = await request.post()
        part = form.get("media")
        if not isinstance(part, web.FileField):
            return self._err(41005, "media data missing")
        content = part.file.read()
        if kind == "image":
            if not 5 < len(content) <= IMAGE_LIMIT:
                return self._err(40006, "invalid file size")
            if not content.startswith(IMAGE_SIGNATURES):
                return self._err(40005, "invalid file type")
        elif kind == "file" and not 5 < len(content) <= FILE_LIMIT:
            return self._err(40006, "invalid file size")
        media_id = f"media-{secrets.token_hex(12)}"
        self.media[media_id] = Media(kind, str(part.filename or ""), content, time.time())
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id,
                                  "created_at": str(int(time.time()))})

    async def _wecom_update(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "wecom")
        if error or body is None:
            return error or self._err(47001, "bad body")
        code = str(body.get("response_code", ""))
        if not code or code in self._codes_used:
            return self._err(40094, "invalid response_code")
        self._codes_used.add(code)
        return self._record("wecom_card_update", ",".join(body.get("userids", [])), body)

    async def _mp_custom(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "wechat")
        if error or body is None:
            return error or self._err(47001, "bad body")
        to = str(body.get("touser", ""))
        if to in self.unfollowed:
            return self._err(43004, "require subscribe")
        if to in self.closed_window:
            return self._err(45015, "response out of time limit or subscription is canceled")
        content = str(body.get("text", {}).get("content", ""))
        if body.get("msgtype") != "text" or not content:
            return self._err(44004, "empty content")
        if len(content.encode()) > 2048:
            return self._err(45002, "content size out of limit")
        return self._record("mp_custom", to, body)

    async def _mp_template(self, request: web.Request) -> web.Response:
        body, error = await self._check(request, "wechat")
        if error or body is None:
            return error or self._err(47001, "bad body")
        if body.get("template_id") not in self.templates:
            return self._err(40037, "invalid template_id")
        to = str(body.get("touser", ""))
        if to in self.unfollowed:
            return self._err(43004, "require subscribe")
        for key, value in (body.get("data") or {}).items():
            problem = template_value_problem(key, str((value or {}).get("value", "")))
            if problem:
                return self._err(47003, f"argument invalid! data.{key}.value {problem}")
        return self._record("mp_template", to, body)


    async def _mp_qrcode(self, request: web.Request) -> web.Response:
        """``qrcode/create`` with a scene string: temporary (``QR_STR_SCENE``) or permanent (``QR_LIMIT_STR_SCENE``,
        each call a new one counted against the account's ``qr_limit``, 45029 beyond it)."""
        body, error = await self._check(request, "wechat")
        if error or body is None:
            return error or self._err(47001, "bad body")
        action = body.get("action_name")
        if action not in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):  # the integer scenes are not modelled
            return self._err(40035, "invalid action_name")
        scene = (body.get("action_info") or {}).get("scene", {}).get("scene_str")
        if not isinstance(scene, str) or not 1 <= len(scene) <= QR_SCENE_LIMIT:
            return self._err(40035, "invalid scene_str: 1 to 64 characters")
        if action == "QR_LIMIT_STR_SCENE":
            if sum(q.permanent for q in self.qr_codes.values()) >= self.qr_limit:
                return self._err(45029, "qrcode count out of limit")
            seconds = None
        else:
            seconds = body.get("expire_seconds", QR_TEMPORARY_DEFAULT)
            if not isinstance(seconds, int) or not 0 < seconds <= QR_TEMPORARY_MAX:
                return self._err(40035, "invalid expire_seconds: at most 2592000")
        token = secrets.token_urlsafe(16)
        code = IssuedQr(scene, action, f"gQ{token}==", f"http://weixin.qq.com/q/02{token}", seconds, time.time())
        self.qr_codes[code.url] = code
        answer: dict[str, Any] = {"ticket": code.ticket, "url": code.url}
        if seconds is not None:
            answer["expire_seconds"] = seconds
        return web.json_response(answer)


class CallbackBuilder:
    """Builds callbacks as WeChat sends them: inner XML encrypted and signed with wechatpy's crypto."""

    def __init__(self, *, enterprise: bool, token: str, aes_key: str, receiver_id: str, account: str,
                 agent_id: str = "", clock=time.time):
        if enterprise:
            from wechatpy.enterprise.crypto import WeChatCrypto
        else:
            from wechatpy.crypto import WeChatCrypto
        self.enterprise, self.token, self.account, self.agent_id = enterprise, token, account, agent_id
        self.crypto = WeChatCrypto(token, aes_key, receiver_id)
        self.clock = clock
        self._msg_ids = itertools.count(int(time.time() * 1000) * 1000)

    @staticmethod
    def inner_xml(fields: dict[str, Any]) -> str:
        """A flat ``<xml>`` with text in CDATA and numbers bare."""
        parts = [f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
                 for k, v in fields.items()]
        return "<xml>" + "".join(parts) + "</xml>"

    def base(self, user: str, kind: str) -> dict[str, Any]:
        """The fields every message has."""
        fields: dict[str, Any] = {"ToUserName": self.account, "FromUserName": user,
                                  "CreateTime": int(self.clock()), "MsgType": kind}
        if self.enterprise:
            fields["AgentID"] = int(self.agent_id)
        return fields

    def text(self, user: str, content: str, msg_id: int | None = None, **kw: Any) -> tuple[dict[str, str], bytes]:
        """A text message from ``user``."""
        fields = self.base(user, "text") | {"Content": content, "MsgId": msg_id or next(self._msg_ids)}
        return self.seal(self.inner_xml(fields), **kw)

    def voice(self, user: str, recognition: str | None = None, **kw: Any) -> tuple[dict[str, str], bytes]:
        """A voice message from ``user``, with the speech recognition result where the account has it on."""
        fields = self.base(user, "voice") | {"MediaId": "media-" + secrets.token_hex(8), "Format": "amr",
                                              "MsgId": next(self._msg_ids)}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.seal(self.inner_xml(fields), **kw)

    def event(self, user: str, event: str, **extra: Any) -> tuple[dict[str, str], bytes]:
        """An event from ``user`` (``template_card_event`` with EventKey/TaskId/ResponseCode, subscribe …)."""
        seal_kw = {k: extra.pop(k) for k in ("timestamp", "nonce") if k in extra}
        fields = self.base(user, "event") | {"Event": event} | extra
        return self.seal(self.inner_xml(fields), **seal_kw)

    def seal(self, inner: str, *, timestamp: int | None = None,
             nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """(query, body) of a safe-mode callback carrying ``inner``."""
        ts = str(timestamp if timestamp is not None else int(self.clock()))
        nonce = nonce or str(secrets.randbelow(10**10))
        envelope = parse_xml(self.crypto.encrypt_message(inner, nonce, ts))
        encrypted = envelope["Encrypt"]
        q = {"msg_signature": envelope["MsgSignature"], "timestamp": ts, "nonce": nonce}
        if self.enterprise:
            body = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                    f"<AgentID><![CDATA[{self.agent_id}]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        else:
            q |= {"signature": hashlib.sha1("".join(sorted([self.token, ts, nonce])).encode()).hexdigest(),
                  "encrypt_type": "aes"}
            body = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return q, body.encode()

    def open_reply(self, body: str, q: dict[str, str]) -> dict[str, str]:
        """Decrypt a passive reply (checking its signature) into its fields."""
        envelope = parse_xml(body)
        plain = self.crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return parse_xml(plain)
