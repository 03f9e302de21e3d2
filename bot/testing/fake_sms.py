"""Fake Alibaba Cloud SMS and Tencent Cloud SMS APIs on 127.0.0.1, checking requests the way each provider does.

Tests point ``SMS_ENDPOINT`` at one of them, so the official SDK's own signing and HTTP code run unchanged (style
rule 6). Each fake verifies the request's signature from first principles (Alibaba's RPC HMAC-SHA1 over the
canonical query; Tencent's TC3-HMAC-SHA256 over the canonical request) and refuses a wrong secret, a tampered
parameter, an unknown key, a stale timestamp or a reused nonce with the provider's own error code; it checks the
approved signature and template, the template's variables and their length limit, and the number; it can be
told to answer the next sends for a number (or any) with an error code (``fail_next``), records what each number
received (``received``), and pushes a reply or a delivery receipt to our callback URL as the provider would.

Made-up credentials only: ``ALIYUN_KEY``/``ALIYUN_SECRET``, ``TENCENT_ID``/``TENCENT_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

ALIYUN_KEY, ALIYUN_SECRET = "LTAIfakeKeyForTests0001", "fake-aliyun-secret-for-tests-only"
TENCENT_ID, TENCENT_KEY = "AKIDfakeSecretIdForTests0001", "fake-tencent-key-for-tests-only"
TENCENT_APP = "1400000001"
SIGN = "三明巡诊"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}|\{(\d+)\}")


@dataclass
class Received:
    """One SMS the fake accepted: the number, the template's variables, the text the phone shows, its id."""

    phone: str
    params: dict[str, str]
    text: str
    message_id: str
    at: float = field(default_factory=time.time)


class _FakeSms:
    """What both fakes share: the server, the records, the scripted failures, the pushes."""

    def __init__(self, templates: dict[str, str], *, signs: tuple[str, ...] = (SIGN,), param_limit: int):
        self.templates, self.signs, self.param_limit = templates, set(signs), param_limit
        self.received: dict[str, list[Received]] = defaultdict(list)
        self.requests = 0
        self.rejected: list[str] = []  # error codes answered, in order
        self._failures: list[tuple[str | None, str, str]] = []  # (number or None for any, code, message)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.root_url = ""
        self.clock = time.time  # the provider's clock (signatures' timestamps are checked against it)

    async def __aenter__(self):
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.root_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def fail_next(self, code: str, message: str = "", *, phone: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` sends (to ``phone``, or to anyone) with the error ``code``."""
        self._failures += [(phone, code, message)] * times

    def _scripted(self, phone: str) -> tuple[str, str] | None:
        for i, (who, code, message) in enumerate(self._failures):
            if who is None or who == phone:
                del self._failures[i]
                return code, message
        return None

    def _check_template(self, code: str, params: dict[str, str]) -> tuple[str, str] | None:
        """Why the template or its variables are refused (as (kind, detail)), or None."""
        text = self.templates.get(code)
        if text is None:
            return "template", code
        names = [a or b for a, b in _PLACEHOLDER.findall(text)]
        if set(names) != set(params):
            return "params", f"expected {names}, got {sorted(params)}"
        for k, v in params.items():
            if not str(v):
                return "params", f"{k} is empty"
            if len(str(v)) > self.param_limit:
                return "length", f"{k}={v!r} exceeds {self.param_limit} characters"
        return None

    def _render(self, sign: str, code: str, params: dict[str, str]) -> str:
        return f"【{sign}】" + _PLACEHOLDER.sub(lambda m: params[m.group(1) or m.group(2)], self.templates[code])

    def to(self, phone: str) -> list[Received]:
        """What ``phone`` received, oldest first."""
        return list(self.received.get(phone, []))

    @staticmethod
    async def _post(url: str, body: Any) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as s, s.post(url, json=body) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"text": text}


class FakeAliyunSms(_FakeSms):
    """Dysmsapi 2017-05-25 ``SendSms``, RPC style (``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``)."""

    TIMESTAMP_WINDOW = 15 * 60  # Alibaba refuses a Timestamp further off than 15 minutes

    def __init__(self, templates: dict[str, str], *, keys: dict[str, str] | None = None, **kw: Any):
        super().__init__(templates, param_limit=kw.pop("param_limit", 35), **kw)
        self.keys = keys or {ALIYUN_KEY: ALIYUN_SECRET}
        self._nonces: set[str] = set()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/", self._handle)

    @staticmethod
    def signature(params: dict[str, str], method: str, secret: str) -> str:
        """The RPC signature as Alibaba documents it: percent-encode (RFC 3986) each name and value, sort, join
        with ``&``; sign ``METHOD&%2F&<the query, encoded again>`` with HMAC-SHA1 under ``secret + "&"``."""
        def enc(s: str) -> str:
            return quote(s, safe="~")
        query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "Signature")
        to_sign = f"{method.upper()}&{enc('/')}&{enc(query)}"
        return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()

    def _error(self, status: int, code: str, message: str) -> web.Response:
        self.rejected.append(code)
        return web.json_response({"Code": code, "Message": message, "RequestId": f"fake-{next(self._ids)}"},
                                 status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        params = dict(request.query)
        if request.can_read_body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        key = params.get("AccessKeyId", "")
        if key not in self.keys:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return self._error(400, "IncompleteSignature", "SignatureMethod/SignatureVersion not supported")
        try:
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error(400, "MissingTimestamp", "Timestamp is mandatory and must be ISO 8601 UTC")
        if abs(stamp.timestamp() - self.clock()) > self.TIMESTAMP_WINDOW:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        expected = self.signature(params, request.method, self.keys[key])
        if not hmac.compare_digest(expected, params.get("Signature", "")):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(nonce)
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return self._error(400, "InvalidAction.NotFound", "Specified api is not found")
        return self._send(params)

    def _send(self, p: dict[str, str]) -> web.Response:
        phone = p.get("PhoneNumbers", "")

        def refuse(code: str, message: str) -> web.Response:
            self.rejected.append(code)
            return web.json_response({"Code": code, "Message": message, "RequestId": f"fake-{next(self._ids)}"})

        scripted = self._scripted(phone)
        if scripted is not None:
            code, message = scripted
            if code.startswith("Throttling"):
                return self._error(400, code, message or "Request was denied due to user flow control.")
            return refuse(code, message or code)
        if p.get("SignName") not in self.signs:
            return refuse("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        try:
            params = json.loads(p.get("TemplateParam") or "{}")
        except ValueError:
            return refuse("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        problem = self._check_template(p.get("TemplateCode", ""), params)
        if problem is not None:
            kind, detail = problem
            code = {"template": "isv.SMS_TEMPLATE_ILLEGAL", "params": "isv.TEMPLATE_MISSING_PARAMETERS",
                    "length": "isv.PARAM_LENGTH_LIMIT"}[kind]
            return refuse(code, detail)
        if not _MOBILE.match(phone):
            return refuse("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        biz = f"{next(self._ids):06d}^{int(self.clock())}"
        self.received[phone].append(Received(phone, params, self._render(p["SignName"], p["TemplateCode"], params),
                                             biz))
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": f"fake-{biz}"})

    async def push_reply(self, url: str, phone: str, content: str, sign: str = SIGN) -> tuple[int, dict]:
        """``SmsUp`` as Alibaba's HTTP batch push sends it."""
        return await self._post(url, [{"phone_number": phone, "send_time": "2026-12-03 09:05:00", "content": content,
                                       "sign_name": sign, "dest_code": "1234", "sequence_id": next(self._ids)}])

    async def push_report(self, url: str, biz_id: str, success: bool, err_code: str = "DELIVERED") -> tuple[int, dict]:
        """``SmsReport`` for one message."""
        return await self._post(url, [{"phone_number": "", "send_time": "2026-12-03 09:01:00",
                                       "report_time": "2026-12-03 09:01:05", "success": success, "err_code": err_code,
                                       "err_msg": "用户接收成功" if success else "失败", "sms_size": "1",
                                       "biz_id": biz_id, "out_id": ""}])


def _tencent_json(body: dict) -> web.Response:
    """Tencent answers ``Content-Type: application/json`` exactly (its SDK looks for errors only then)."""
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode(),
                        headers={"Content-Type": "application/json"})


class FakeTencentSms(_FakeSms):
    """SMS API 2021-01-11 ``SendSms`` with TC3-HMAC-SHA256."""

    TIMESTAMP_WINDOW = 5 * 60  # Tencent refuses an X-TC-Timestamp further off than five minutes

    def __init__(self, templates: dict[str, str], *, keys: dict[str, str] | None = None,
                 app_id: str = TENCENT_APP, **kw: Any):
        super().__init__(templates, param_limit=kw.pop("param_limit", 6), **kw)
        self.keys, self.app_id = keys or {TENCENT_ID: TENCENT_KEY}, app_id

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self._handle)

    @staticmethod
    def signature(secret_key: str, date: str, string_to_sign: str, service: str = "sms") -> str:
        """TC3: key ``TC3<SecretKey>`` → HMAC(date) → HMAC(service) → HMAC("tc3_request") → hex HMAC(string)."""
        def h(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()
        key = h(h(h(("TC3" + secret_key).encode(), date), service), "tc3_request")
        return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()

    def _error(self, code: str, message: str) -> web.Response:
        self.rejected.append(code)
        return _tencent_json({"Response": {"Error": {"Code": code, "Message": message},
                                                 "RequestId": f"fake-{next(self._ids)}"}})

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        payload = await request.read()
        h = request.headers
        auth = re.fullmatch(r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/(\w+)/tc3_request, "
                            r"SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})", h.get("Authorization", ""))
        if auth is None:
            return self._error("AuthFailure.SignatureFailure", "Authorization header malformed")
        secret_id, date, service, signed, sig = auth.groups()
        if secret_id not in self.keys:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found")
        stamp = h.get("X-TC-Timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - self.clock()) > self.TIMESTAMP_WINDOW:
            return self._error("AuthFailure.SignatureExpire", "Signature expired")
        if date != datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d") or service != "sms":
            return self._error("AuthFailure.SignatureFailure", "credential scope does not match")
        names = signed.split(";")
        if "content-type" not in names or "host" not in names:
            return self._error("AuthFailure.SignatureFailure", "content-type and host must be signed")
        canonical_headers = "".join(f"{n}:{h.get(n, '').strip().lower()}\n" for n in names)
        canonical = "\n".join([request.method, request.path, request.query_string, canonical_headers, signed,
                               hashlib.sha256(payload).hexdigest()])
        to_sign = "\n".join(["TC3-HMAC-SHA256", stamp, f"{date}/{service}/tc3_request",
                             hashlib.sha256(canonical.encode()).hexdigest()])
        if not hmac.compare_digest(self.signature(self.keys[secret_id], date, to_sign, service), sig):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if h.get("X-TC-Action") != "SendSms" or h.get("X-TC-Version") != "2021-01-11":
            return self._error("InvalidAction", "action or version not supported")
        try:
            body = json.loads(payload)
        except ValueError:
            return self._error("InvalidParameter", "body is not JSON")
        return self._send(body)

    def _send(self, b: dict[str, Any]) -> web.Response:
        if b.get("SmsSdkAppId") != self.app_id:
            return self._error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail")
        if b.get("SignName") not in self.signs:
            return self._error("FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved")
        template = str(b.get("TemplateId", ""))
        values = [str(v) for v in b.get("TemplateParamSet") or []]
        params = {str(i + 1): v for i, v in enumerate(values)}
        problem = self._check_template(template, params)
        if problem is not None:
            kind, detail = problem
            code = {"template": "FailedOperation.TemplateIncorrectOrUnapproved",
                    "params": "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                    "length": "InvalidParameterValue.TemplateParameterLengthLimit"}[kind]
            return self._error(code, detail)
        statuses = []
        for number in b.get("PhoneNumberSet") or []:
            phone = str(number).removeprefix("+86")
            scripted = self._scripted(phone)
            serial = f"fake:{next(self._ids):06d}"
            if scripted is not None:
                code, message = scripted
                self.rejected.append(code)
            elif not _MOBILE.match(phone):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
                self.rejected.append(code)
            else:
                code, message = "Ok", "send success"
                self.received[phone].append(Received(phone, params, self._render(b["SignName"], template, params),
                                                     serial))
            statuses.append({"SerialNo": serial if code == "Ok" else "", "PhoneNumber": str(number), "Fee": 1,
                             "SessionContext": "", "Code": code, "Message": message, "IsoCode": "CN"})
        return _tencent_json({"Response": {"SendStatusSet": statuses, "RequestId": f"fake-{next(self._ids)}"}})

    async def push_reply(self, url: str, phone: str, text: str, sign: str = SIGN,
                         at: float | None = None) -> tuple[int, dict]:
        """A reply as Tencent's reply callback sends it (stamped ``at``, by default now)."""
        return await self._post(url, {"extend": "", "mobile": phone, "nationcode": "86", "sign": sign, "text": text,
                                      "time": int(self.clock() if at is None else at)})

    async def push_status(self, url: str, serial: str, success: bool, errmsg: str = "DELIVRD") -> tuple[int, dict]:
        """A status report for one message."""
        return await self._post(url, [{"user_receive_time": "2026-12-03 09:01:05", "nationcode": "86", "mobile": "",
                                       "report_status": "SUCCESS" if success else "FAIL", "errmsg": errmsg,
                                       "description": "用户短信送达成功" if success else "失败", "sid": serial}])
