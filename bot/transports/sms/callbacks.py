"""The providers' pushes to us, on the web server: replies ("TD" stops every SMS to that number at once) and
delivery receipts (delivered or failed, per message the provider accepted).

Neither provider signs these pushes (Alibaba's HTTP batch push of ``SmsUp`` / ``SmsReport``, Tencent's reply and
status callbacks), so what can be verified is: the URL's secret segment (``SMS_CALLBACK_TOKEN``, compared in
constant time; the operator enters the whole URL in the provider's console), the JSON's shape, our own signature
name where the push carries one, a mainland number, and for Tencent's reply a timestamp that is not in the
future. A push we cannot store answers 500, so the provider pushes it again (Alibaba after 1, 5 and 10 minutes).

Paths, under the dashboard's ``/callback/`` (no login): ``/callback/sms/<token>/aliyun/up`` and ``…/aliyun/report``
(the console's 上行消息 and 状态报告 HTTP push addresses), ``…/tencent/reply`` and ``…/tencent/status``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from domain.privacy import is_valid_mobile, mask_phone
from handlers.services.sms import opt_out_by_reply
from storage.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)
PREFIX = "/callback/sms/"
MAX_ITEMS = 1000  # one push holds at most this many replies or receipts
_ALIYUN_OK = {"code": 0, "msg": "接收成功"}
_TENCENT_OK = {"result": 0, "errmsg": "OK"}


class SmsCallbacks:
    """The handlers of the providers' pushes; ``routes()`` for the web server."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Callable[[], datetime], *, token: str, sign_name: str):
        if len(token) < 16:
            raise ValueError("SMS_CALLBACK_TOKEN must be at least 16 characters")
        self.uow, self.clock, self.token, self.sign_name = uow, clock, token, sign_name

    def routes(self) -> list[web.RouteDef]:
        """The four push addresses."""
        base = PREFIX + "{token}/"
        return [web.post(base + "aliyun/up", self.aliyun_up), web.post(base + "aliyun/report", self.aliyun_report),
                web.post(base + "tencent/reply", self.tencent_reply),
                web.post(base + "tencent/status", self.tencent_status)]

    # --- common -----------------------------------------------------------------------------------------
    async def _items(self, request: web.Request) -> list[dict[str, Any]]:
        if not hmac.compare_digest(request.match_info.get("token", "").encode(), self.token.encode()):
            raise web.HTTPNotFound()
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="not JSON") from None
        items = body if isinstance(body, list) else [body]
        if len(items) > MAX_ITEMS or not all(isinstance(i, dict) for i in items):
            raise web.HTTPBadRequest(text="expected a JSON object or an array of objects")
        return items

    async def _store(self, work: Callable[[], int], ok: dict[str, Any]) -> web.Response:
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("sms callback could not be stored; the provider will push it again")
            return web.json_response({"code": 1, "msg": "稍后重试", "result": 1, "errmsg": "retry"}, status=500)
        return web.json_response(ok)

    def _opt_out(self, provider: str, replies: list[tuple[str, str]]) -> int:
        n = 0
        with self.uow() as uow:
            now = self.clock()
            for phone, text in replies:
                stopped = opt_out_by_reply(uow, phone, text, now=now, provider=provider)
                if stopped:
                    log.info("sms reply from %s via %s: opted out (%d registrations)", mask_phone(phone), provider,
                             len(stopped))
                n += len(stopped)
            uow.commit()
        return n

    def _receipts(self, provider: str, receipts: list[tuple[str, bool, str]]) -> int:
        n = 0
        with self.uow() as uow:
            now = self.clock()
            for message_id, delivered, code in receipts:
                n += uow.sms.record_receipt(provider, message_id, delivered, code, now)
            uow.commit()
        return n

    def _ours(self, sign: object) -> bool:
        """A push naming a signature must name ours (another application's replies on the same account)."""
        return not sign or str(sign).strip("【】 ") == self.sign_name

    # --- Alibaba ----------------------------------------------------------------------------------------
    async def aliyun_up(self, request: web.Request) -> web.Response:
        """``SmsUp``: ``[{"phone_number", "content", "sign_name"?, "dest_code", "sequence_id", "send_time"}]``."""
        items = await self._items(request)
        replies = [(str(i.get("phone_number", "")), str(i.get("content", ""))) for i in items
                   if is_valid_mobile(str(i.get("phone_number", ""))) and self._ours(i.get("sign_name"))]
        return await self._store(lambda: self._opt_out("aliyun", replies), _ALIYUN_OK)

    async def aliyun_report(self, request: web.Request) -> web.Response:
        """``SmsReport``: ``[{"biz_id", "success", "err_code", "phone_number", "report_time", …}]``."""
        items = await self._items(request)
        receipts = [(str(i["biz_id"]), i.get("success") is True, str(i.get("err_code") or "")) for i in items
                    if i.get("biz_id")]
        return await self._store(lambda: self._receipts("aliyun", receipts), _ALIYUN_OK)

    # --- Tencent ----------------------------------------------------------------------------------------
    async def tencent_reply(self, request: web.Request) -> web.Response:
        """A reply: ``{"mobile", "nationcode", "sign", "text", "time", "extend"}`` (one object, or several)."""
        items = await self._items(request)
        latest = (self.clock() + timedelta(minutes=5)).astimezone(UTC).timestamp()
        replies = []
        for i in items:
            stamp = i.get("time")
            if str(i.get("nationcode", "86")) != "86" or not self._ours(i.get("sign")):
                continue
            if not isinstance(stamp, int | float) or stamp > latest:
                continue  # Tencent stamps every reply; one from the future is not Tencent's
            replies.append((str(i.get("mobile", "")), str(i.get("text", ""))))
        return await self._store(lambda: self._opt_out("tencent", replies), _TENCENT_OK)

    async def tencent_status(self, request: web.Request) -> web.Response:
        """Receipts: ``[{"sid", "report_status": "SUCCESS"|"FAIL", "errmsg", "mobile", …}]``."""
        items = await self._items(request)
        receipts = [(str(i["sid"]), i.get("report_status") == "SUCCESS", str(i.get("errmsg") or "")) for i in items
                    if i.get("sid")]
        return await self._store(lambda: self._receipts("tencent", receipts), _TENCENT_OK)


def build(app, clock: Callable[[], datetime]) -> list[web.RouteDef]:
    """The push addresses for ``app.settings.sms`` (none without ``SMS_CALLBACK_TOKEN``)."""
    s = app.settings.sms
    if not s.callback_token:
        return []
    return SmsCallbacks(app.uow, clock, token=s.callback_token, sign_name=s.sign_name or "").routes()
