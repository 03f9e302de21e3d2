"""The SMS channel for the outbox sender: one announcement to one registered number through the approved template.

An SMS outbox row names the registration (``chat_id``), never the number: the number is decrypted here, at send
time, and only if the registration is still active (a "TD" or an erasure since the fan-out stops it). The
announcement's facts fill the template (``template.SmsTemplate``); the provider's answer becomes an outcome the
sender knows (``SendResult``): a per-number rate limit waits for that number only, a channel-wide one pauses the
channel, a daily limit gives up with its reason, an invalid number, a refused credential or template is permanent
with the provider's code, and a number the provider reports unsubscribed is opted out here too. Numbers appear
in logs only masked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bot.delivery.channels import BaseChannel, ChannelLimits, SendResult
from bot.transports.sms.provider import UNSUBSCRIBED, SmsProvider
from bot.transports.sms.template import FilledSms, SmsTemplate, sms_parts
from domain.privacy import mask_phone
from storage.repositories.sms import PLATFORM

log = logging.getLogger(__name__)
NOT_ANNOUNCEMENT = "sms_announcements_only"  # an SMS carries an approved template, never free text
OPTED_OUT = "sms_opted_out"


class SmsChannel(BaseChannel):
    """Announcements as templated SMS to registered numbers."""

    def __init__(self, provider: SmsProvider, uow: Callable[[], object], template: SmsTemplate,
                 clock: Callable[[], datetime], limits: ChannelLimits | None = None):
        self.platform = PLATFORM
        # One SMS per number per announcement anyway; the providers' own limits per number come back as waits for
        # that number (``wait_for_number``), so the window per number here only spaces out retries.
        self.limits = limits or ChannelLimits(global_count=20, private_count=1, private_window=1.0)
        self.provider, self.uow, self.template, self.clock = provider, uow, template, clock
        self.sent: list[tuple[str, FilledSms]] = []  # (masked number, what went out), for the operator's log

    def is_group(self, chat_id: str) -> bool:
        """An SMS goes to one number."""
        return False

    async def send(self, chat_id: str, text: str, buttons: list[list[dict]] | None) -> SendResult:
        """Only announcements go out as SMS (an approved template); anything else is refused for good."""
        return SendResult.permanent(NOT_ANNOUNCEMENT)

    async def send_announcement(self, chat_id: str, text: str, buttons: list[list[dict]] | None,
                                announcement_id: int) -> SendResult:
        """One announcement to the registration ``chat_id``."""
        prepared = await asyncio.to_thread(self._prepare, int(chat_id), announcement_id)
        if isinstance(prepared, SendResult):
            return prepared
        phone, sms = prepared
        reply = await asyncio.to_thread(self.provider.send, phone, sms)
        result = self.provider.classify(reply)
        masked = mask_phone(phone)
        if result.outcome == "ok":
            await asyncio.to_thread(self._record, int(chat_id), announcement_id, reply.message_id or "")
            self.sent.append((masked, sms))
            log.info("sms to %s accepted by %s (%s)", masked, self.provider.name, reply.message_id)
        else:
            log.warning("sms to %s via %s: %s %s → %s %s", masked, self.provider.name, reply.code,
                        reply.message[:80], result.outcome, result.reason)
            if result.reason.startswith(UNSUBSCRIBED):
                await asyncio.to_thread(self._provider_opt_out, int(chat_id))
        return result

    def _prepare(self, registration_id: int, announcement_id: int) -> tuple[str, FilledSms] | SendResult:
        """In a worker thread: the number (if still registered) and the template filled from the announcement."""
        from handlers.services.announcements import Announcer

        now = self.clock()
        with self.uow() as uow:  # type: ignore[attr-defined]
            phone = uow.sms.phone_of(registration_id)
            if phone is None:
                return SendResult.permanent(OPTED_OUT)
            published = Announcer(self.uow, self.clock).published(uow, announcement_id, now)  # type: ignore[arg-type]
        if published is None:
            return SendResult.permanent("sms_no_public_notice")
        return phone, self.template.fill(sms_parts(published[0]))

    def _record(self, registration_id: int, announcement_id: int, message_id: str) -> None:
        from handlers.services.sms import record_sent

        with self.uow() as uow:  # type: ignore[attr-defined]
            record_sent(uow, registration_id, announcement_id, self.provider.name, message_id, self.clock())
            uow.commit()

    def _provider_opt_out(self, registration_id: int) -> None:
        from handlers.services.sms import stop_sms

        with self.uow() as uow:  # type: ignore[attr-defined]
            reg = uow.sms.get(registration_id)
            if reg is not None:
                stop_sms(uow, reg.resident_id, now=self.clock(), staff_id=None, role="system", source="provider")
                uow.commit()


def build_provider(settings) -> SmsProvider | None:
    """The configured provider's client (``bot.config.SmsSettings``), or None without ``SMS_PROVIDER``."""
    s = settings
    if s.provider is None:
        return None
    if s.provider == "aliyun":
        from bot.transports.sms.aliyun import DEFAULT_ENDPOINT, AliyunSms

        return AliyunSms(s.access_key_id, s.access_key_secret, s.sign_name, s.template_code,
                         endpoint=s.endpoint or DEFAULT_ENDPOINT)
    from bot.transports.sms.tencent import DEFAULT_ENDPOINT as TENCENT
    from bot.transports.sms.tencent import TencentSms

    return TencentSms(s.access_key_id, s.access_key_secret, s.sdk_app_id, s.sign_name, s.template_code,
                      endpoint=s.endpoint or TENCENT, region=s.region)


def build(app, clock: Callable[[], datetime]) -> SmsChannel | None:
    """The SMS channel for ``app.settings.sms`` (None without ``SMS_PROVIDER``)."""
    provider = build_provider(app.settings.sms)
    if provider is None:
        return None
    return SmsChannel(provider, app.uow, app.settings.sms.template, clock)
