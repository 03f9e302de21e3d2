"""SMS announcements for residents without a smartphone, each use case once: register a number with the resident's
separate consent, stop it (the doctor's button or the resident's "TD"), record the provider's receipts.

The chat (``handlers.sms``), the survey import (``storage.reference``) and the provider's callbacks
(``bot.transports.sms.callbacks``) all call these; every registration, opt-out and send is audited against the
resident, so the access report (``python -m bot audit``) shows it.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import DomainError
from domain.orders import AuditEvent
from domain.privacy import is_valid_mobile, mask_phone, normalise_phone
from domain.sms import is_opt_out
from storage.ports import UnitOfWork
from storage.repositories.sms import SmsRegistration


def _audit(uow: UnitOfWork, action: str, resident_id: int, now: datetime, *, staff_id: int | None, role: str,
           **detail: object) -> None:
    uow.audit.append(AuditEvent(staff_id, role, action, "resident", str(resident_id), None, None, None, now,
                                dict(detail)))


def register_sms(uow: UnitOfWork, resident_id: int, phone: str, *, consent_version: str, now: datetime,
                 staff_id: int | None, role: str, source: str = "chat",
                 consent_at: datetime | None = None) -> SmsRegistration:
    """Register a resident's mobile number for their village's announcements, recording their SMS consent.

    The SMS consent is its own (PIPL: separate consent for this purpose); it records nothing about health, so a
    resident who never had an order may be registered. Raises ``DomainError`` for an invalid number, an unknown
    resident or one who withdrew their consent (erased).
    """
    if not is_valid_mobile(phone):
        raise DomainError("sms.invalid_number")
    resident = uow.residents.get(resident_id)
    if resident is None or resident.consent_withdrawn_at is not None:
        raise DomainError("sms.no_consent")
    if consent_at is not None:
        # A consent dated on paper (a survey sheet) never moves the record backwards: if the resident stopped SMS
        # (replied TD) after it, or gave a newer consent, nothing changes (a consent given now always counts).
        current = uow.sms.of_resident(resident_id)
        newer = None if current is None else current.consent_at if current.active else current.opted_out_at
        if current is not None and newer is not None and consent_at <= newer:
            _audit(uow, "sms_register_skipped", resident_id, now, staff_id=staff_id, role=role, registration=current.id,
                   source=source, why="opted_out_later" if not current.active else "newer_consent")
            return current
    reg = uow.sms.register(resident_id, resident.village_code, normalise_phone(phone), consent_version=consent_version,
                           consent_at=consent_at or now, staff_id=staff_id, source=source, now=now)
    _audit(uow, "sms_register", resident_id, now, staff_id=staff_id, role=role, registration=reg.id,
           phone=mask_phone(phone), consent_version=consent_version, source=source)
    return reg


def stop_sms(uow: UnitOfWork, resident_id: int, *, now: datetime, staff_id: int | None, role: str,
             source: str = "doctor") -> bool:
    """Stop SMS to a resident's number (every registration of that number); False if nothing was active."""
    reg = uow.sms.of_resident(resident_id)
    if reg is None or not reg.active:
        return False
    phone = uow.sms.phone_of(reg.id)
    stopped = uow.sms.opt_out_number(phone, now, source) if phone else uow.sms.opt_out([reg.id], now, source)
    for rid in _residents(uow, stopped):
        _audit(uow, "sms_opt_out", rid, now, staff_id=staff_id, role=role, source=source)
    return bool(stopped)


def opt_out_by_reply(uow: UnitOfWork, phone: str, text: str, *, now: datetime, provider: str) -> list[int]:
    """A reply the provider forwarded: "TD", "T" or "退订" stops every SMS to that number at once; returns the
    registrations stopped (none for any other reply, or a number we do not know)."""
    if not is_opt_out(text) or not is_valid_mobile(phone):
        return []
    stopped = uow.sms.opt_out_number(phone, now, "reply")
    for rid in _residents(uow, stopped):
        _audit(uow, "sms_opt_out", rid, now, staff_id=None, role="resident", source="reply", provider=provider)
    return stopped


def record_sent(uow: UnitOfWork, registration_id: int, announcement_id: int | None, provider: str, provider_id: str,
                now: datetime) -> None:
    """The provider accepted an SMS: keep its id for the receipt, audit the send against the resident."""
    reg = uow.sms.get(registration_id)
    uow.sms.record_submitted(registration_id, announcement_id, provider, provider_id, now)
    if reg is not None:
        _audit(uow, "sms_sent", reg.resident_id, now, staff_id=None, role="system", provider=provider,
               announcement=announcement_id, registration=registration_id)


def _residents(uow: UnitOfWork, registration_ids: list[int]) -> list[int]:
    return [r.resident_id for r in (uow.sms.get(i) for i in registration_ids) if r is not None]
