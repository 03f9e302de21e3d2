"""Tencent Cloud SMS (API 2021-01-11 ``SendSms``) through the official SDK, its answers as send outcomes.

The SDK (``tencentcloud-sdk-python-sms``) signs each request with TC3-HMAC-SHA256: a canonical request (method,
path, query, the ``content-type`` and ``host`` headers, the payload's SHA-256) hashed into a string to sign under
the scope ``<date>/sms/tc3_request``, with a key derived ``TC3<SecretKey>`` → date → ``sms`` → ``tc3_request``;
headers ``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``, ``X-TC-Timestamp``. Its ``HttpProfile`` takes
``protocol`` and ``endpoint`` (host and port), so tests point it at ``http://127.0.0.1:<port>``
(``bot.testing.fake_sms.FakeTencentSms``), which checks that signature the way Tencent does. Errors for one number
come back in ``SendStatusSet``, errors of the whole request as ``TencentCloudSDKException``.
"""

from __future__ import annotations

from bot.delivery.channels import SendResult
from bot.transports.sms.provider import UNSUBSCRIBED, ProviderReply, split_endpoint, wait_for_number
from bot.transports.sms.template import FilledSms

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
_CREDENTIALS = ("AuthFailure", "UnauthorizedOperation")
_TEMPLATE = ("FailedOperation.TemplateIncorrectOrUnapproved", "FailedOperation.SignatureIncorrectOrUnapproved",
             "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "FailedOperation.MissingTemplateToModify",
             "InvalidParameterValue.TemplateParameterLengthLimit", "InvalidParameterValue.TemplateParameterFormatError",
             "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "FailedOperation.ContainSensitiveWord")
_NUMBER = ("InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.FailResolvePacket",
           "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber")


class TencentSms:
    """``SendSms`` through the official SDK, one number per request."""

    name = "tencent"

    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str, template_id: str, *,
                 endpoint: str = DEFAULT_ENDPOINT, region: str = DEFAULT_REGION, timeout: float = 10.0):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        protocol, host = split_endpoint(endpoint)
        http = HttpProfile(protocol=protocol, endpoint=host, reqMethod="POST", reqTimeout=int(timeout))
        profile = ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http)
        self.client = sms_client.SmsClient(credential.Credential(secret_id, secret_key), region, profile)
        self.sdk_app_id, self.sign_name, self.template_id = sdk_app_id, sign_name, template_id

    def send(self, phone: str, sms: FilledSms) -> ProviderReply:
        """One SMS; the SDK's exceptions become a reply with the provider's code (never raises)."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        req = models.SendSmsRequest()
        req.PhoneNumberSet = ["+86" + phone]
        req.SmsSdkAppId, req.SignName, req.TemplateId = self.sdk_app_id, self.sign_name, self.template_id
        req.TemplateParamSet = sms.ordered
        try:
            resp = self.client.SendSms(req)
        except TencentCloudSDKException as e:
            code = e.get_code() or "ClientError"
            return ProviderReply(code, (e.get_message() or "")[:200],
                                 network_error=code in ("ClientNetworkError", "ServerNetworkError"))
        except Exception as e:
            return ProviderReply(type(e).__name__, str(e)[:120], network_error=True)
        status = (resp.SendStatusSet or [None])[0]
        if status is None:
            return ProviderReply("EmptySendStatusSet")
        return ProviderReply(status.Code or "", status.Message or "", status.SerialNo)

    def classify(self, reply: ProviderReply) -> SendResult:
        """Tencent's codes as outcomes (see the module docstring of ``bot.transports.sms.channel``)."""
        code = reply.code
        if code == "Ok":
            return SendResult.ok()
        if reply.network_error:
            return SendResult.transient(f"network: {code}")
        if code in ("LimitExceeded.PhoneNumberDailyLimit", "LimitExceeded.PhoneNumberSameContentDailyLimit",
                    "LimitExceeded.DailyLimit", "LimitExceeded.AppDailyLimit"):
            return SendResult.permanent(f"sms_daily_limit: {code}")
        if code == "LimitExceeded.PhoneNumberOneHourLimit":
            return wait_for_number(3600, code)
        if code in ("LimitExceeded.PhoneNumberThirtySecondLimit", "LimitExceeded.DeliveryFrequencyLimit"):
            return wait_for_number(30, code)
        if code == "RequestLimitExceeded" or code.startswith("RequestLimitExceeded."):
            return SendResult.wait(1.0)
        if code == "FailedOperation.PhoneNumberInBlacklist":
            return SendResult.permanent(f"{UNSUBSCRIBED}: {code}")
        if code.startswith(_CREDENTIALS):
            return SendResult.permanent(f"sms_credentials: {code}")
        if code in _NUMBER:
            return SendResult.permanent(f"sms_invalid_number: {code}")
        if code in _TEMPLATE or code.startswith("InvalidParameter"):
            return SendResult.permanent(f"sms_template: {code}")
        if code.startswith(("InternalError", "FailedOperation.InsufficientBalance")):
            return SendResult.transient(f"sms_error: {code}")
        if code.startswith(("FailedOperation", "UnsupportedOperation", "MissingParameter")):
            return SendResult.permanent(f"sms_refused: {code}")
        return SendResult.transient(f"sms_error: {code}")
