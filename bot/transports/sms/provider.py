"""What every SMS provider's client shares: its reply, the protocol the channel sends through, and the outcomes
it may answer with. ``aliyun`` and ``tencent`` build on this; ``channel`` sends through whichever is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from bot.delivery.channels import SendResult
from bot.transports.sms.template import FilledSms

UNSUBSCRIBED = "sms_unsubscribed"  # the provider keeps the number on its do-not-disturb list


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """What the provider answered for one number: its code ("OK" / "Ok" when accepted), message and message id."""

    code: str
    message: str = ""
    message_id: str | None = None
    network_error: bool = False


class SmsProvider(Protocol):
    """One SMS provider's client (``aliyun.AliyunSms``, ``tencent.TencentSms``)."""

    name: str

    def send(self, phone: str, sms: FilledSms) -> ProviderReply:
        """Send one templated SMS (blocking; the channel runs it in a worker thread)."""
        ...

    def classify(self, reply: ProviderReply) -> SendResult:
        """The provider's answer as a send outcome."""
        ...


def wait_for_number(seconds: float, reason: str) -> SendResult:
    """A per-number limit: this number waits, the channel goes on with the others."""
    return SendResult("retry_after", retry_after=float(seconds), reason=reason, chat_only=True)


def split_endpoint(endpoint: str, default_protocol: str = "https") -> tuple[str, str]:
    """``http://127.0.0.1:8000`` → ("http", "127.0.0.1:8000"); a bare host keeps ``default_protocol``."""
    if "://" not in endpoint:
        return default_protocol, endpoint.strip("/")
    u = urlsplit(endpoint)
    return u.scheme, u.netloc
