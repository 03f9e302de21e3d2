"""WeCom (企业微信) for staff: a self-built app's callbacks in, ``message/send`` out.

Text becomes an ``Inbound``; a press on a template card's button (``template_card_event``) becomes an
``Inbound`` whose ``button`` is the opaque token we put in the button's ``key`` and whose ``message_id`` is the
card's ``task_id``. Replies with buttons are ``button_interaction`` template cards (at most six buttons a card);
an edit of a pressed card greys its buttons (``update_template_card`` with the event's ``ResponseCode``) and
sends the new text as a message, once (``handlers.core.without_edits``: not where the rest of the answer repeats
it). A reply's QR code (where the Official Account makes them) follows its text as an image (``media/upload``, then
an ``image`` message) with its caption after it; a page to print (a poster) as a PDF file
(``media/upload?type=file``, then a ``file`` message) after its caption. Everything else is in
:mod:`bot.transports.wechat.bridge`.

Configuration: ``WECOM_CORP_ID``, ``WECOM_AGENT_ID``, ``WECOM_SECRET``, ``WECOM_TOKEN``, ``WECOM_AES_KEY``,
``WECOM_API_BASE_URL``, ``WECHAT_LISTEN``; the callback path is ``/wecom/callback``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.delivery.channels import BaseChannel, ChannelLimits, SendResult
from bot.delivery.poster import Posters
from bot.delivery.qr import QrImages
from bot.transports.wechat.bridge import (
    Callback,
    DbTokenMixin,
    Deliverer,
    Delivery,
    TokenStore,
    cdata,
    chat_of,
    errcode_of,
    split_bytes,
)
from handlers.core import Attachment, Button, Inbound, Outbound, Printable, QrCode, without_edits

log = logging.getLogger(__name__)

PLATFORM = "wecom"
PATH = "/wecom/callback"
CARD_BUTTONS = 6  # WeCom's limit per button_interaction card
TITLE_LIMIT = 36  # characters of main_title.title
SUBTITLE_LIMIT = 160  # characters of sub_title_text
MEMBER_LIMIT = (30, 60.0)  # WeCom: an app sends one member at most 30 messages a minute (replies and outbox alike)
LABEL_LIMIT = 10  # characters WeCom recommends for a card button's text
CHOOSE = "请选择："
MORE = "更多选项："
HANDLED = "已处理"
RATE_LIMITED = frozenset({45009, 45033, 45011})
NO_SUCH_USER = frozenset({40003, 60111, 81013, 82001})


_SENTENCE_END = "。！？"


def card_title(text: str) -> tuple[str, str]:
    """A card's title and body from a message: its first line, or, when that is longer than a title may be, the
    first sentences of it that fit (the rest of the line opens the body). A question whose first line runs long
    ("订单 … 已就诊。请为这次巡诊服务打分……") stays one card instead of a text and a bare "请选择：" card."""
    first, _, rest = text.strip().partition("\n")
    if len(first) > TITLE_LIMIT:
        cut = max(first.rfind(mark, 0, TITLE_LIMIT) for mark in _SENTENCE_END)
        if cut > 0:
            rest = (first[cut + 1 :].strip() + "\n" + rest).strip()
            first = first[: cut + 1]
    return first, rest


def update_id_of(user: str, create_time: str, event: str, key: str = "") -> str:
    """``user:CreateTime:Event`` (plus the button key for card events), hashed if over 64 characters."""
    raw = f"{user}:{create_time}:{event}" + (f":{key}" if key else "")
    return raw if len(raw) <= 64 else "h:" + hashlib.sha256(raw.encode()).hexdigest()[:60]


def _client_class():
    from wechatpy.enterprise.client import WeChatClient

    class WeComClient(DbTokenMixin, WeChatClient):
        """wechatpy's WeCom client with the access_token shared through the database."""

    return WeComClient


def make_client(corp_id: str, secret: str, store: TokenStore, base_url: str, agent_id: str) -> Any:
    """A wechatpy WeCom client against ``base_url`` whose token comes from ``store``."""
    client = _client_class()(corp_id, secret, auto_retry=False, timeout=10)
    base = base_url.rstrip("/")
    client.API_BASE_URL = f"{base}/cgi-bin/"
    client._store, client._token_key = store, f"wecom:{corp_id}:{agent_id}"
    client._token_url, client._token_params = f"{base}/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": secret}
    return client


class WeComDeliverer(Deliverer):
    """Plans and sends WeCom app messages: text, template cards, card updates, QR code images."""

    platform = PLATFORM
    member_limit = MEMBER_LIMIT

    def __init__(self, client: Any, corp_id: str, agent_id: str, images: QrImages | None = None,
                 posters: Posters | None = None):
        self.client, self.corp_id, self.agent_id = client, corp_id, int(agent_id)
        self.images = images  # None: no Official Account to make QR codes, the text goes alone
        self.posters = posters  # None: pages to print cannot be made here (the user is told so)
        self._codes: OrderedDict[tuple[str, str], str] = OrderedDict()  # (user, task_id) → ResponseCode
        self._lock = threading.Lock()

    def remember_press(self, user: str, task_id: str, response_code: str) -> None:
        """Keep the ResponseCode of a card press: it lets us grey the card's buttons once (72 h)."""
        with self._lock:
            self._codes[(user, task_id)] = response_code
            while len(self._codes) > 10_000:
                self._codes.popitem(last=False)

    def plan(self, outs: list[Outbound], inbound: Inbound | None) -> list[Delivery]:
        """Text messages, cards for buttons; the pressed card greyed out (edited or not: a card answered once
        cannot be pressed again, as on every other platform)."""
        result: list[Delivery] = []
        if inbound is not None and inbound.button is not None and inbound.message_id:
            result += self._grey(inbound.chat_id, inbound.message_id)
        for o in outs:
            if o.edit_message_id:
                result += self._grey(o.chat_id, o.edit_message_id)
        for o in without_edits(outs):  # a card's text cannot change: its new text is a message, sent once
            buttons = [b for row in o.buttons for b in row]
            if not buttons:
                result.extend(self._texts(o.chat_id, o.text))
                result.extend(self._image(o.chat_id, o.qr))
                result.extend(self._file(o.chat_id, o.document))
                result.extend(self._attachment(o.chat_id, o.attachment))
                continue
            first, rest = card_title(o.text)
            buttons, details = short_labels(buttons)
            if details:  # the whole of a label cut short goes into the card's body
                rest = (rest.strip() + "\n" + "\n".join(details)).strip()
            fits = len(first) <= TITLE_LIMIT and len(rest) <= SUBTITLE_LIMIT
            if not fits:
                result.extend(self._texts(o.chat_id, o.text))
            for i in range(0, len(buttons), CARD_BUTTONS):
                title = (first if fits else CHOOSE) if i == 0 else MORE
                result.append(self._card(o.chat_id, title, rest.strip() if fits and i == 0 else "",
                                         buttons[i : i + CARD_BUTTONS]))
            result.extend(self._image(o.chat_id, o.qr))
            result.extend(self._file(o.chat_id, o.document))
            result.extend(self._attachment(o.chat_id, o.attachment))
        return result

    def _file(self, user: str, doc: Printable | None) -> list[Delivery]:
        """A page to print: its caption, then the PDF as a file message (laid out and uploaded when it is sent)."""
        if doc is None:
            return []
        return [*self._texts(user, doc.caption),
                Delivery(PLATFORM, user, "file", {"touser": user, "msgtype": "file", "agentid": self.agent_id},
                         document=doc)]

    def _attachment(self, user: str, sent: Attachment | None) -> list[Delivery]:
        """A ready-made file (the survey template): its caption, then the file message (uploaded when it is sent)."""
        if sent is None:
            return []
        return [*self._texts(user, sent.caption),
                Delivery(PLATFORM, user, "file", {"touser": user, "msgtype": "file", "agentid": self.agent_id},
                         attachment=sent)]

    def _image(self, user: str, qr: QrCode | None) -> list[Delivery]:
        """A QR code as an image message, then its caption (sent only if the image was)."""
        if qr is None or self.images is None:
            return []
        image = Delivery(PLATFORM, user, "image", {"touser": user, "msgtype": "image", "agentid": self.agent_id},
                         qr=qr)
        return [image, *(replace(d, requires=image) for d in self._texts(user, qr.caption))]

    def _grey(self, user: str, task_id: str) -> list[Delivery]:
        """The update that greys a pressed card's buttons ("已处理"), once: nothing if it was greyed already."""
        with self._lock:
            code = self._codes.pop((user, task_id), None)
        if not code:
            return []
        return [Delivery(PLATFORM, user, "card_update", {"userids": [user], "agentid": self.agent_id,
                                                         "response_code": code, "button": {"replace_name": HANDLED}})]

    def _texts(self, user: str, text: str) -> list[Delivery]:
        return [Delivery(PLATFORM, user, "text", {"touser": user, "msgtype": "text", "agentid": self.agent_id,
                                                   "text": {"content": part}}, part)
                for part in split_bytes(text)]

    def _card(self, user: str, title: str, subtitle: str, buttons: list[Button]) -> Delivery:
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "source": {"desc": "巡诊"},
            "main_title": {"title": title},
            "task_id": "xz" + secrets.token_hex(12),
            "button_list": [{"text": b.label, "style": 1, "key": b.data} for b in buttons],
        }
        if subtitle:
            card["sub_title_text"] = subtitle
        body = {"touser": user, "msgtype": "template_card", "agentid": self.agent_id, "template_card": card}
        return Delivery(PLATFORM, user, "card", body, title)

    def passive_xml(self, d: Delivery, cb: Callback) -> str | None:
        """A passive text reply (the callback's own user only)."""
        if d.kind != "text":
            return None
        from wechatpy.enterprise.replies import TextReply

        return TextReply(source=self.corp_id, target=d.chat_id, content=cdata(d.text), agent=self.agent_id,
                         time=int(time.time())).render()

    async def send(self, d: Delivery) -> None:
        """Send, logging what failed."""
        result = await self.send_result(d)
        d.sent = result.outcome == "ok"
        if not d.sent:
            log.warning("wecom %s to %s not sent: %s", d.kind, d.chat_id, result.reason)

    async def send_result(self, d: Delivery) -> SendResult:
        """Send one message in a worker thread and map WeCom's errcode to an outcome."""
        endpoint = "message/update_template_card" if d.kind == "card_update" else "message/send"
        body = d.body
        try:
            if d.kind == "image":
                media_id = await asyncio.to_thread(self._upload, d.qr)
                if media_id is None:
                    return SendResult.permanent("no_image")
                body = body | {"image": {"media_id": media_id}}
            elif d.kind == "file" and d.document is not None:
                body = await self._file_body(d.document, body)
            elif d.kind == "file" and d.attachment is not None:
                sent = d.attachment
                res = await asyncio.to_thread(self.client.call_api, lambda: self.client.media.upload(
                    "file", (sent.filename, io.BytesIO(sent.data), "application/octet-stream")))
                body = body | {"file": {"media_id": str(res["media_id"])}}
            res = await asyncio.to_thread(self.client.call_api, lambda: self.client.post(endpoint, data=body))
        except Exception as e:
            return classify(e)
        if isinstance(res, dict) and (res.get("invaliduser") or res.get("invalid_userids")):
            return SendResult.permanent("chat_not_found")
        return SendResult.ok()


    async def _file_body(self, doc: Printable, body: dict[str, Any]) -> dict[str, Any]:
        """The file message's body with the uploaded PDF (``media/upload?type=file``, kept 3 days by WeCom); a text
        saying why instead when the page cannot be made here (no Chinese font: logged for the operator)."""
        try:
            if self.posters is None:
                raise RuntimeError("no poster renderer")
            page = await asyncio.to_thread(self.posters.pdf, doc.sheet)
        except Exception as e:
            log.error("poster for %s not made: %s", body.get("touser"), e)
            return {"touser": body["touser"], "msgtype": "text", "agentid": self.agent_id,
                    "text": {"content": doc.unavailable}}
        name = doc.filename + ".pdf"
        res = await asyncio.to_thread(self.client.call_api, lambda: self.client.media.upload(
            "file", (name, io.BytesIO(page.data), "application/pdf")))
        return body | {"file": {"media_id": str(res["media_id"])}}

    def _upload(self, qr: QrCode | None) -> str | None:
        """In a worker thread: the QR code drawn and uploaded as a temporary image (``media/upload``, kept 3 days by
        WeCom); its ``media_id``, or None if the Official Account made no code."""
        png = self.images.png(qr) if self.images is not None and qr is not None else None
        if png is None:
            return None
        res = self.client.call_api(lambda: self.client.media.upload("image", ("qr.png", io.BytesIO(png), "image/png")))
        return str(res["media_id"])


def classify(e: Exception) -> SendResult:
    """WeCom's errors as send outcomes."""
    code = errcode_of(e)
    if code is None:
        return SendResult.transient(type(e).__name__)
    if code in RATE_LIMITED:
        return SendResult.wait(60)
    if code in NO_SUCH_USER:
        return SendResult.permanent("chat_not_found")
    if code == -1:
        return SendResult.transient("system busy")
    if 40000 <= code < 50000:
        return SendResult.permanent(f"bad_request: {code}")
    return SendResult.transient(f"errcode {code}")


def make_translate(deliverer: WeComDeliverer) -> Callable[[dict[str, str]], Inbound | None]:
    """The callback message → ``Inbound`` translation (card presses remember their ResponseCode)."""

    def translate(m: dict[str, str]) -> Inbound | None:
        user = m.get("FromUserName", "")
        if not user or len(user) > 64:
            return None
        kind, ct = m.get("MsgType", ""), m.get("CreateTime", "")
        chat, chat_type = chat_of(m, user)
        if kind == "event":
            event = m.get("Event", "")
            if event != "template_card_event":
                return None  # enter_agent, subscribe …: nothing to answer
            key, task = m.get("EventKey", ""), m.get("TaskId", "")
            if m.get("ResponseCode") and chat_type == "private":
                deliverer.remember_press(user, task, m["ResponseCode"])
            return Inbound(PLATFORM, user, chat, button=key, update_id=update_id_of(user, ct, event, key),
                           message_id=task or None, chat_type=chat_type)
        update_id = m.get("MsgId") or update_id_of(user, ct, kind)
        if kind == "text":
            return Inbound(PLATFORM, user, chat, text=m.get("Content", ""), update_id=update_id, chat_type=chat_type)
        # images, voice (WeCom gives no speech recognition to an app): ask for text
        return Inbound(PLATFORM, user, chat, text=None, voice=kind == "voice", update_id=update_id,
                       chat_type=chat_type)

    return translate


def build(app: Any, *, store: TokenStore | None = None, images: QrImages | None = None,
          posters: Posters | None = None) -> WeComDeliverer | None:
    """The WeCom sender for ``app.settings`` (None if WeCom is not configured); ``images`` draws QR codes,
    ``posters`` lays out pages to print."""
    s = app.settings
    if not (s.wecom_corp_id and s.wecom_secret and s.wecom_agent_id):
        return None
    store = store or TokenStore(app.uow)
    client = make_client(s.wecom_corp_id, s.wecom_secret, store, s.wecom_api_base_url, s.wecom_agent_id)
    return WeComDeliverer(client, s.wecom_corp_id, s.wecom_agent_id, images, posters)


class WeComChannel(BaseChannel):
    """WeCom for the outbox sender (announcements and notices to staff)."""

    platform = PLATFORM

    def __init__(self, deliverer: WeComDeliverer, limits: ChannelLimits | None = None):
        self.deliverer = deliverer
        # WeCom: 30 messages a minute to one member; the app's overall quota is generous.
        self.limits = limits or ChannelLimits(global_count=20, global_window=1.0, private_count=MEMBER_LIMIT[0],
                                              private_window=MEMBER_LIMIT[1])

    def is_group(self, chat_id: str) -> bool:
        """WeCom user ids are never groups here."""
        return False

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """Text, or a template card when there are buttons."""
        rows = tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in buttons or [])
        deliveries = await asyncio.to_thread(self.deliverer.plan, [Outbound(PLATFORM, chat_id, text, rows)], None)
        for d in deliveries:
            result = await self.deliverer.send_result(d)
            if result.outcome != "ok":
                return result
        return SendResult.ok()


def short_labels(buttons: list[Button]) -> tuple[list[Button], list[str]]:
    """Button labels within WeCom's 10 characters: a label with details in brackets keeps its name
    ("邱瑞鹏（男，1942年生）" → "邱瑞鹏"), and its whole text comes back as a line for the card's body; labels that
    would then be the same are numbered ("1 邱瑞鹏", "2 邱瑞鹏")."""
    short = []
    for b in buttons:
        label = b.label
        if len(label) > LABEL_LIMIT:
            head = re.split(r"[（(]", label, maxsplit=1)[0].strip()
            label = head if 0 < len(head) <= LABEL_LIMIT else label[:LABEL_LIMIT - 1] + "…"
        short.append(label)
    numbered = len(set(short)) < len(short)
    if numbered:
        short = [f"{i} {s}"[:LABEL_LIMIT] for i, s in enumerate(short, start=1)]
    details = [f"· {i} {b.label}" if numbered else f"· {b.label}"
               for i, (s, b) in enumerate(zip(short, buttons, strict=True), start=1) if s != b.label]
    return [replace(b, label=s) for s, b in zip(short, buttons, strict=True)], details
