"""The Official Account (公众号) for residents: callbacks in, customer-service and template messages out.

The OA has no buttons: a message's buttons become numbered lines ("回复 1 批准"), numbered across one answer to one user
as the core numbers its prompts, so a "1" typed later is read by the core as the press of that button
(``handlers.prompts``: on every platform, for as long as the prompt is valid; the OA only shows it). Following the
account (``subscribe``) is ``/start``; scanning one of its parametric QR codes is ``/start <scene>`` (``subscribe``
with ``qrscene_<scene>`` for a new follower, ``SCAN`` with the scene for a follower), where the scene is
``v_<village>`` or ``r_<link code>`` (:meth:`MpDeliverer.qr_url` makes the codes); unfollowing marks the account
blocked. The OA cannot edit a message: an edit is sent as a new message, once, and not at all where the
rest of the answer repeats it (``handlers.core.without_edits``). Replies go out as customer-service messages, which
the platform allows within 48 hours of the user's last message. Announcements (the outbox) use a template message
when ``WECHAT_TEMPLATE_ANNOUNCEMENT`` is set, else a customer-service message inside the 48-hour window, else the
outbox row is settled as ``not_deliverable_on_channel``.

Configuration: ``WECHAT_APP_ID``, ``WECHAT_SECRET``, ``WECHAT_TOKEN``, ``WECHAT_AES_KEY``,
``WECHAT_API_BASE_URL``, ``WECHAT_TEMPLATE_ANNOUNCEMENT``, ``WECHAT_LISTEN``; the path is ``/wechat/callback``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.delivery.channels import BaseChannel, ChannelLimits, SendResult
from bot.transports.wechat.bridge import (
    Callback,
    CallbackBridge,
    DbTokenMixin,
    Deliverer,
    Delivery,
    TokenStore,
    cdata,
    chat_of,
    errcode_of,
    split_bytes,
)
from bot.transports.wechat.template import DEFAULT_FIELDS, fit, notice_parts, parse_fields, template_data
from bot.web.notices import page_url
from handlers.core import CHINA, Button, Inbound, Outbound, without_edits
from storage.repositories.wechat import WeChatRepository

log = logging.getLogger(__name__)

PLATFORM = "wechat"
PATH = "/wechat/callback"
SERVICE_WINDOW = timedelta(hours=48)
NOT_DELIVERABLE = "not_deliverable_on_channel"
CHOICE_LINE = "回复 {n} {label}"
NOTICE_HINT = "回复任意文字查看全文"  # the notice template's last field: what to do to read the held message
OUTSIDE_WINDOW = frozenset({45015, 45047})  # reply time limit passed; customer-service quota used up
UNFOLLOWED = frozenset({43004})  # the user no longer follows the account
NO_SUCH_USER = frozenset({40003})
RATE_LIMITED = frozenset({45009})
QR_TEMPORARY_MAX = 2_592_000  # seconds (30 days): the longest a temporary parametric QR code lives


def _client_class():
    from wechatpy.client import WeChatClient

    class MpClient(DbTokenMixin, WeChatClient):
        """wechatpy's Official Account client with the access_token shared through the database."""

    return MpClient


def make_client(app_id: str, secret: str, store: TokenStore, base_url: str) -> Any:
    """A wechatpy Official Account client against ``base_url`` whose token comes from ``store``."""
    client = _client_class()(app_id, secret, auto_retry=False, timeout=10)
    base = base_url.rstrip("/")
    client.API_BASE_URL = f"{base}/cgi-bin/"
    client._store, client._token_key = store, f"wechat:{app_id}"
    client._token_url = f"{base}/cgi-bin/token"
    client._token_params = {"grant_type": "client_credential", "appid": app_id, "secret": secret}
    return client


class MpDeliverer(Deliverer):
    """Plans and sends Official Account messages: text with numbered choices; remembers the choices."""

    platform = PLATFORM
    member_limit = None  # customer-service messages have no per-person minute (the 48-hour window instead)

    def __init__(self, client: Any, uow: Callable[[], Any], *, clock: Callable[[], float] = time.time,
                 template_id: str | None = None, template_fields: tuple[tuple[str, str], ...] = (),
                 page_url: Callable[[int], str] | None = None, notice_template_id: str | None = None):
        self.client, self.uow, self.clock, self.template_id = client, uow, clock, template_id
        self.notice_template_id = notice_template_id  # the bell for personal messages outside the 48-hour window
        self.template_fields = template_fields or parse_fields(DEFAULT_FIELDS)
        self.page_url = page_url  # the public page of an announcement (None: the template has no link)

    def now(self) -> datetime:
        """The wall clock as an aware datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- inbound side -------------------------------------------------------------------------------------
    def prepare(self, inbound: Inbound) -> Inbound:
        """In a worker thread: note the user wrote (it opens the 48-hour window), and send what was held for them
        while the window was shut (before their message is answered: a "5" may answer a held question)."""
        with self.uow() as uow:
            repo = WeChatRepository(uow)
            repo.touch(PLATFORM, inbound.user_id, self.now())
            held = repo.take_held(PLATFORM, inbound.user_id)
            uow.commit()
        for body in held:
            try:
                self.client.call_api(lambda body=body: self.client.post("message/custom/send", data=json.loads(body)))
            except Exception as e:  # taken is taken: a refusal now is logged, never retried into a loop
                log.warning("held message to %s not sent: %s", inbound.user_id[:6], classify(e).reason)
        return inbound

    # --- outbound side ------------------------------------------------------------------------------------
    def plan(self, outs: list[Outbound], inbound: Inbound | None) -> list[Delivery]:
        """Customer-service text messages; choices numbered across one answer to one user (as the core reads a
        typed number: ``handlers.prompts``)."""
        result: list[Delivery] = []
        numbered: dict[str, int] = {}
        for o in without_edits(outs):  # the OA cannot edit: an edit is a new message, sent once
            text = o.text
            buttons = [b for row in o.buttons for b in row]
            if buttons:
                lines = []
                for b in buttons:
                    n = numbered[o.chat_id] = numbered.get(o.chat_id, 0) + 1
                    # A choice that is its own number ("5" of a rating) is "回复 5", not "回复 5 5".
                    lines.append(f"回复 {n}" if b.label.strip() == str(n) else CHOICE_LINE.format(n=n, label=b.label))
                text = text.rstrip() + "\n\n" + "\n".join(lines)
            result.extend(self._texts(o.chat_id, text))
            if o.document is not None:  # the account sends no files to a chat: say where to get the page instead
                result.extend(self._texts(o.chat_id, o.document.unavailable))
        return result

    def _texts(self, user: str, text: str) -> list[Delivery]:
        return [Delivery(PLATFORM, user, "text", {"touser": user, "msgtype": "text", "text": {"content": part}}, part)
                for part in split_bytes(text)]

    def passive_xml(self, d: Delivery, cb: Callback) -> str | None:
        """A passive text reply from the account (``ToUserName`` of the callback) to the user."""
        if d.kind != "text":
            return None
        from wechatpy.replies import TextReply

        return TextReply(source=cb.message.get("ToUserName", ""), target=d.chat_id, content=cdata(d.text),
                         time=int(time.time())).render()

    async def send(self, d: Delivery) -> None:
        """Send, logging what failed."""
        result = await self.send_result(d)
        d.sent = result.outcome == "ok"
        if not d.sent:
            log.warning("wechat message to %s not sent: %s", d.chat_id[:6], result.reason)

    async def send_result(self, d: Delivery) -> SendResult:
        """A customer-service message, with the errcode mapped to an outcome."""
        try:
            await asyncio.to_thread(self.client.call_api,
                                    lambda: self.client.post("message/custom/send", data=d.body))
        except Exception as e:
            return classify(e)
        return SendResult.ok()

    def qr_url(self, scene: str, expire_seconds: int | None) -> str:
        """In a worker thread: the URL a parametric QR code of the account for ``scene`` encodes.

        Temporary (``QR_STR_SCENE``) for ``expire_seconds``, at most 30 days: a new one each time. Else permanent
        (``QR_LIMIT_STR_SCENE``): an account may make 100,000 of them, ever, so each scene's is made once and kept
        in the database (two workers making the same one at once waste one; the first kept is used).
        """
        scene_of = {"scene": {"scene_str": scene}}
        if expire_seconds is not None:
            body = {"expire_seconds": min(expire_seconds, QR_TEMPORARY_MAX), "action_name": "QR_STR_SCENE",
                    "action_info": scene_of}
            return str(self.client.call_api(lambda: self.client.qrcode.create(body))["url"])
        app_id = str(self.client.appid)
        with self.uow() as uow:
            kept = WeChatRepository(uow).permanent_qr(app_id, scene)
        if kept is not None:
            return kept
        made = self.client.call_api(lambda: self.client.qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": scene_of}))
        with self.uow() as uow:
            kept = WeChatRepository(uow).keep_permanent_qr(app_id, scene, str(made["url"]), self.now())
            uow.commit()
        return kept

    def template_of(self, announcement_id: int) -> tuple[dict[str, dict[str, str]], str | None] | None:
        """In a worker thread: the template ``data`` of an announcement (each configured field with its part, cut
        to the field's limit) and the link to its public page; None if the announcement is gone."""
        from handlers.services.announcements import Announcer

        now = self.now()
        with self.uow() as uow:
            published = Announcer(self.uow, self.now).published(uow, announcement_id, now)
        if published is None:
            return None
        url = self.page_url(announcement_id) if self.page_url else None
        return template_data(self.template_fields, notice_parts(published[0])), url

    def send_template(self, user: str, data: dict[str, dict[str, str]], url: str | None = None) -> dict:
        """In a worker thread: one template message (the announcement template)."""
        assert self.template_id is not None
        return self.client.call_api(
            lambda: self.client.message.send_template(user, self.template_id, data, url=url))

    def hold(self, user: str, deliveries: list[Delivery]) -> None:
        """In a worker thread: keep these customer-service messages until the user next writes."""
        with self.uow() as uow:
            WeChatRepository(uow).hold(PLATFORM, user, [json.dumps(d.body, ensure_ascii=False) for d in deliveries],
                                       self.now())
            uow.commit()

    def ring(self, user: str, text: str) -> None:
        """In a worker thread: the notice template telling a user outside the window that a message waits: what
        (the message's first sentence, cut to the field's 20 characters), when, and that a reply shows it."""
        assert self.notice_template_id is not None
        first = re.split(r"(?<=[。！？!?\n])", text.strip(), maxsplit=1)[0].strip()
        when = self.now().astimezone(CHINA)
        data = {"thing1": {"value": fit(first, 20)}, "time2": {"value": f"{when.month}月{when.day}日 {when:%H:%M}"},
                "thing3": {"value": NOTICE_HINT}}
        self.client.call_api(lambda: self.client.message.send_template(user, self.notice_template_id, data))

    def last_inbound(self, user: str) -> datetime | None:
        """In a worker thread: when the user last wrote to the account."""
        with self.uow() as uow:
            return WeChatRepository(uow).last_inbound(PLATFORM, user)


def classify(e: Exception) -> SendResult:
    """Official Account errors as send outcomes."""
    code = errcode_of(e)
    if code is None:
        return SendResult.transient(type(e).__name__)
    if code in OUTSIDE_WINDOW:
        return SendResult.permanent(NOT_DELIVERABLE)
    if code in UNFOLLOWED:
        return SendResult.permanent("blocked")
    if code in NO_SUCH_USER:
        return SendResult.permanent("chat_not_found")
    if code in RATE_LIMITED:
        return SendResult.wait(60)
    if code == -1:
        return SendResult.transient("system busy")
    if 40000 <= code < 50000:
        return SendResult.permanent(f"bad_request: {code}")
    return SendResult.transient(f"errcode {code}")


class WeChatMpChannel(BaseChannel):
    """The Official Account for the outbox sender: template message, else customer service within 48 hours."""

    platform = PLATFORM

    def __init__(self, deliverer: MpDeliverer, limits: ChannelLimits | None = None):
        self.deliverer = deliverer
        self.limits = limits or ChannelLimits(global_count=20, global_window=1.0, private_count=5,
                                              private_window=1.0)

    def is_group(self, chat_id: str) -> bool:
        """OpenIDs are never groups."""
        return False

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """A message with no announcement behind it (a personal notice, a rating question): a customer-service
        message inside the 48-hour window; outside it, with ``WECHAT_TEMPLATE_NOTICE``, the notice template rings
        and the message is held until the person next writes (``MpDeliverer.prepare``)."""
        d = self.deliverer
        in_window = await asyncio.to_thread(self._in_window, chat_id)
        if in_window or not d.notice_template_id:
            return await self._service_message(chat_id, text, buttons, in_window)
        rows = tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in buttons or [])
        deliveries = await asyncio.to_thread(d.plan, [Outbound(PLATFORM, chat_id, text, rows)], None)
        try:
            await asyncio.to_thread(d.ring, chat_id, text)
        except Exception as e:  # not rung: nothing held either, the outcome says why
            return classify(e)
        await asyncio.to_thread(d.hold, chat_id, deliveries)
        return SendResult.ok()

    async def send_announcement(self, chat_id: str, text: str, buttons: list[list[dict]] | None,
                                announcement_id: int) -> SendResult:
        """An announcement to one resident: inside the 48-hour window the whole text as a customer-service message;
        outside it the template message, its fields filled from the announcement and linked to its public page;
        ``permanent(not_deliverable_on_channel)`` when neither route is open."""
        d = self.deliverer
        in_window = await asyncio.to_thread(self._in_window, chat_id)
        if in_window or not d.template_id:
            return await self._service_message(chat_id, text, buttons, in_window)
        try:
            found = await asyncio.to_thread(d.template_of, announcement_id)
            if found is None:
                return SendResult.permanent(NOT_DELIVERABLE)  # gone, or no public notice (a briefing)
            await asyncio.to_thread(d.send_template, chat_id, *found)
            return SendResult.ok()
        except Exception as e:  # outside the window a refused template has no other route: the outcome says why
            return classify(e)

    def _in_window(self, chat_id: str) -> bool:
        last = self.deliverer.last_inbound(chat_id)
        return last is not None and self.deliverer.now() - last < SERVICE_WINDOW

    async def _service_message(self, chat_id: str, text: str, buttons: list[list[dict]] | None,
                               in_window: bool | None = None) -> SendResult:
        """A customer-service message (``in_window``: the 48-hour window, when the caller looked already)."""
        d = self.deliverer
        if in_window is None:
            in_window = await asyncio.to_thread(self._in_window, chat_id)
        if not in_window:
            return SendResult.permanent(NOT_DELIVERABLE)
        rows = tuple(tuple(Button(b["label"], b["data"]) for b in row) for row in buttons or [])
        deliveries = await asyncio.to_thread(d.plan, [Outbound(PLATFORM, chat_id, text, rows)], None)
        for delivery in deliveries:
            result = await d.send_result(delivery)
            if result.outcome != "ok":
                return result
        return SendResult.ok()


def build(app: Any, *, store: TokenStore | None = None, clock: Callable[[], float] = time.time) -> MpDeliverer | None:
    """The Official Account sender for ``app.settings`` (None if the OA is not configured)."""
    s = app.settings
    if not s.official_account:
        return None
    store = store or TokenStore(app.uow)
    client = make_client(s.wechat_app_id, s.wechat_secret, store, s.wechat_api_base_url)
    link: Callable[[int], str] | None = None
    if s.public_url:
        base, cipher = s.public_url, app.settings.cipher()
        link = lambda aid: page_url(base, cipher, aid)  # noqa: E731
    return MpDeliverer(client, app.uow, clock=clock, template_id=s.wechat_template_announcement,
                       notice_template_id=s.wechat_template_notice,
                       template_fields=s.wechat_template_fields, page_url=link)


def make_translate(bridge_ref: list[CallbackBridge]) -> Callable[[dict[str, str]], Inbound | None]:
    """The callback message → ``Inbound`` translation (follow → /start; unfollow → blocked)."""

    def translate(m: dict[str, str]) -> Inbound | None:
        user = m.get("FromUserName", "")
        if not user or len(user) > 64:
            return None
        kind, ct = m.get("MsgType", ""), m.get("CreateTime", "")
        if kind == "event":
            event = m.get("Event", "")
            update_id = f"{user}:{ct}:{event}"[:64]
            key = m.get("EventKey", "")
            if event == "subscribe":
                arg = key[len("qrscene_"):] if key.startswith("qrscene_") else ""
                return Inbound(PLATFORM, user, user, text=("/start " + arg).strip(), update_id=update_id)
            if event == "SCAN" and key:
                return Inbound(PLATFORM, user, user, text="/start " + key, update_id=update_id)
            if event == "CLICK" and key:  # menu items carry a command, e.g. /subscribe
                return Inbound(PLATFORM, user, user, text=key, update_id=update_id)
            if event == "unsubscribe" and bridge_ref:
                bridge = bridge_ref[0]
                bridge.queues.submit(user, lambda: asyncio.to_thread(bridge.mark_blocked, user))
            return None
        update_id = m.get("MsgId") or f"{user}:{ct}:{kind}"[:64]
        chat, chat_type = chat_of(m, user)  # the OA has no groups; should one ever appear, it is not private
        if kind == "text":
            return Inbound(PLATFORM, user, chat, text=m.get("Content", ""), update_id=update_id, chat_type=chat_type)
        if kind == "voice":  # WeChat's speech recognition, where the account has it switched on
            return Inbound(PLATFORM, user, chat, text=(m.get("Recognition") or "").strip() or None, voice=True,
                           update_id=update_id, chat_type=chat_type)
        return Inbound(PLATFORM, user, chat, text=None, update_id=update_id, chat_type=chat_type)

    return translate
