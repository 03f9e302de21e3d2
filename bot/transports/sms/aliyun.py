"""Alibaba Cloud SMS (Dysmsapi 2017-05-25 ``SendSms``) through the official SDK, its answers as send outcomes.

The SDK (``alibabacloud-dysmsapi20170525``) signs each request itself. With ``signature_algorithm="v2"`` it uses
the RPC style this API documents: the request's parameters sorted and percent-encoded into a canonical query,
``GET&%2F&<that query, encoded again>`` signed with HMAC-SHA1 under ``AccessKeySecret + "&"``,
``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``, a fresh ``SignatureNonce`` and a UTC ``Timestamp``. Its
``Config`` takes ``endpoint`` (host and port) and ``protocol``, so tests point it at ``http://127.0.0.1:<port>``
(``bot.testing.fake_sms.FakeAliyunSms``), which checks that signature the way Alibaba does.
"""

from __future__ import annotations

import json

from bot.delivery.channels import SendResult
from bot.transports.sms.provider import UNSUBSCRIBED, ProviderReply, split_endpoint, wait_for_number
from bot.transports.sms.template import FilledSms

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
# Refused credentials or signature: nothing will change by retrying (fix the configuration).
_CREDENTIALS = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "IncompleteSignature", "InvalidTimeStamp",
                "Forbidden", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "isv.PRODUCT_UN_SUBSCRIPT",
                "isv.PRODUCT_UNSUBSCRIBE", "isv.DENY_IP_RANGE", "MissingAccessKeyId")
_TEMPLATE = ("isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS",
             "isv.PARAM_LENGTH_LIMIT", "isv.INVALID_JSON_PARAM", "isv.INVALID_PARAMETERS",
             "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_NAME_ILLEGAL",
             "isv.PARAM_NOT_SUPPORT_URL", "isv.BLACK_KEY_CONTROL_LIMIT",
             "isv.SMS_CONTENT_ILLEGAL", "MissingTemplateCode", "MissingSignName", "MissingPhoneNumbers")
_NUMBER = ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED")
_CHANNEL_THROTTLED = ("Throttling", "ServiceUnavailable", "SignatureNonceUsed")


class AliyunSms:
    """``SendSms`` through the official SDK, one number per request."""

    name = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, template_code: str, *,
                 endpoint: str = DEFAULT_ENDPOINT, timeout: float = 10.0):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        protocol, host = split_endpoint(endpoint)
        ms = int(timeout * 1000)
        config = Config(access_key_id=access_key_id, access_key_secret=access_key_secret, endpoint=host,
                        protocol=protocol, signature_algorithm="v2", read_timeout=ms, connect_timeout=ms)
        self.client = Client(config)
        self.sign_name, self.template_code, self.timeout_ms = sign_name, template_code, ms

    def send(self, phone: str, sms: FilledSms) -> ProviderReply:
        """One SMS; the SDK's exceptions become a reply with the provider's code (never raises)."""
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from darabonba.runtime import RuntimeOptions

        request = SendSmsRequest(phone_numbers=phone, sign_name=self.sign_name, template_code=self.template_code,
                                 template_param=json.dumps(sms.params, ensure_ascii=False))
        # No retries inside the SDK: the outbox sender decides when to try again, and counts it.
        runtime = RuntimeOptions(autoretry=False, read_timeout=self.timeout_ms, connect_timeout=self.timeout_ms)
        try:
            body = self.client.send_sms_with_options(request, runtime).body
        except Exception as e:
            code = getattr(e, "code", None)
            if not code:
                return ProviderReply(type(e).__name__, str(e)[:120], network_error=True)
            return ProviderReply(str(code), str(getattr(e, "message", "") or "")[:200])
        return ProviderReply(body.code or "", body.message or "", body.biz_id)

    def classify(self, reply: ProviderReply) -> SendResult:
        """Alibaba's codes as outcomes (see the module docstring of ``bot.transports.sms.channel``)."""
        code, msg = reply.code, reply.message
        if code == "OK":
            return SendResult.ok()
        if reply.network_error:
            return SendResult.transient(f"network: {code}")
        if code == "isv.BUSINESS_LIMIT_CONTROL":
            # The per-number flow control: 1 a minute, 5 an hour, 10 a day by default; the message says which.
            if "天" in msg or "day" in msg.lower():
                return SendResult.permanent(f"sms_daily_limit: {code}")
            if "小时" in msg or "hour" in msg.lower():
                return wait_for_number(3600, code)
            return wait_for_number(60, code)
        if code == "isv.DAY_LIMIT_CONTROL":
            return SendResult.permanent(f"sms_daily_limit: {code}")
        if code.startswith(_CHANNEL_THROTTLED):
            return SendResult.wait(1.0)
        if code.startswith(_CREDENTIALS):
            return SendResult.permanent(f"sms_credentials: {code}")
        if code in _TEMPLATE:
            return SendResult.permanent(f"sms_template: {code}")
        if code in _NUMBER:
            return SendResult.permanent(f"sms_invalid_number: {code}")
        if "BLACKLIST" in code.upper() or "UNSUBSCRIBE" in code.upper():
            return SendResult.permanent(f"{UNSUBSCRIBED}: {code}")
        if code.startswith("isv."):
            return SendResult.permanent(f"sms_refused: {code}")
        return SendResult.transient(f"sms_error: {code}")
