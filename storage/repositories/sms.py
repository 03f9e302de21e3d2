"""SMS registrations, their fan-out into the outbox, opt-outs and the provider's receipts.

A number is stored only encrypted, with a keyed hash to find it again when its owner replies "TD". Outbox rows
for SMS carry the registration id as their ``chat_id`` and no account; their dedupe key names the announcement
and the number's hash, so two residents sharing one phone get one SMS, and a re-run of a fan-out adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.privacy import normalise_phone
from storage.repositories.base import Repository, affected
from storage.tables import AnnouncementRow, OutboxRow, SmsMessageRow, SmsRegistrationRow

PLATFORM = "sms"
PHONE_CONTEXT = "sms.phone"  # bound into the ciphertext: a number copied from another column does not decrypt
HASH_CONTEXT = "phone"  # the same keyed hash as a resident's phone: one number, one hash
_OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_REG: sa.Table = SmsRegistrationRow.__table__  # type: ignore[attr-defined]
_COLUMNS = ["dedupe_key", "platform", "chat_id", "account_id", "announcement_id", "priority", "text", "status",
            "attempts", "expires_at", "created_at"]


@dataclass(frozen=True, slots=True)
class SmsRegistration:
    """A registration as handlers see it (the number decrypted only where asked for)."""

    id: int
    resident_id: int
    village_code: str
    consent_version: str
    consent_at: datetime
    registered_by_staff_id: int | None
    source: str
    opted_out_at: datetime | None
    opt_out_source: str | None

    @property
    def active(self) -> bool:
        """True while SMS may go to this number."""
        return self.opted_out_at is None


def _reg(r: SmsRegistrationRow) -> SmsRegistration:
    assert r.id is not None
    return SmsRegistration(r.id, r.resident_id, r.village_code, r.consent_version, r.consent_at,
                           r.registered_by_staff_id, r.source, r.opted_out_at, r.opt_out_source)


class SmsRepository(Repository):
    """Register numbers, fan announcements out to them, opt them out, record what the provider reported."""

    def phone_hash(self, phone: str) -> str:
        """The keyed hash a number is found by."""
        h = self.uow.cipher.lookup_hash(normalise_phone(phone), context=HASH_CONTEXT)
        assert h is not None
        return h

    # --- registrations ----------------------------------------------------------------------------------
    def register(self, resident_id: int, village_code: str, phone: str, *, consent_version: str,
                 consent_at: datetime, staff_id: int | None, source: str, now: datetime) -> SmsRegistration:
        """Register (or re-register, with fresh consent) a resident's number; returns the registration."""
        number = normalise_phone(phone)
        row = self.s.exec(select(SmsRegistrationRow).where(col(SmsRegistrationRow.resident_id) == resident_id)).first()
        if row is None:
            row = SmsRegistrationRow(resident_id=resident_id, created_at=now, village_code=village_code,
                                     phone_enc="", phone_hash="", consent_version=consent_version,
                                     consent_at=consent_at, source=source)
        row.village_code = village_code
        row.phone_enc = self.uow.cipher.encrypt(number, context=PHONE_CONTEXT) or ""
        row.phone_hash = self.phone_hash(number)
        row.consent_version, row.consent_at = consent_version, consent_at
        row.registered_by_staff_id, row.source = staff_id, source
        row.opted_out_at, row.opt_out_source = None, None
        self.s.add(row)
        self.s.flush()
        return _reg(row)

    def of_resident(self, resident_id: int) -> SmsRegistration | None:
        """The resident's registration (active or opted out), or None."""
        row = self.s.exec(select(SmsRegistrationRow).where(col(SmsRegistrationRow.resident_id) == resident_id)).first()
        return _reg(row) if row else None

    def get(self, registration_id: int) -> SmsRegistration | None:
        """A registration by id, or None."""
        row = self.s.get(SmsRegistrationRow, registration_id)
        return _reg(row) if row else None

    def phone_of(self, registration_id: int) -> str | None:
        """The number of an active registration, decrypted (at send time only), or None."""
        row = self.s.get(SmsRegistrationRow, registration_id)
        if row is None or row.opted_out_at is not None:
            return None
        return self.uow.cipher.decrypt(row.phone_enc, context=PHONE_CONTEXT)

    def with_number(self, phone: str) -> list[SmsRegistration]:
        """Every registration of this number (a family phone may serve several residents)."""
        q = select(SmsRegistrationRow).where(col(SmsRegistrationRow.phone_hash) == self.phone_hash(phone))
        return [_reg(r) for r in self.s.exec(q.order_by(col(SmsRegistrationRow.id)))]

    def in_villages(self, village_codes: Iterable[str]) -> list[SmsRegistration]:
        """Registrations (active or not) of residents of these villages."""
        q = select(SmsRegistrationRow).where(col(SmsRegistrationRow.village_code).in_(list(village_codes)))
        return [_reg(r) for r in self.s.exec(q.order_by(col(SmsRegistrationRow.id)))]

    # --- opt-out ----------------------------------------------------------------------------------------
    def opt_out(self, registration_ids: Iterable[int], now: datetime, source: str) -> list[int]:
        """Stop SMS to these registrations at once, voiding what is queued for them; returns those stopped now."""
        ids = list(registration_ids)
        if not ids:
            return []
        stopped = list(self.s.execute(
            sa.update(SmsRegistrationRow)
            .where(col(SmsRegistrationRow.id).in_(ids), col(SmsRegistrationRow.opted_out_at).is_(None))
            .values(opted_out_at=now, opt_out_source=source[:32])
            .returning(col(SmsRegistrationRow.id))
        ).scalars())
        self.void_pending(ids, f"sms opted out ({source})")
        return stopped

    def opt_out_number(self, phone: str, now: datetime, source: str) -> list[int]:
        """Stop SMS to every registration of this number; returns those stopped now."""
        return self.opt_out([r.id for r in self.with_number(phone)], now, source)

    def void_pending(self, registration_ids: Iterable[int], reason: str) -> int:
        """Withdraw queued SMS to these registrations."""
        chats = [str(i) for i in registration_ids]
        if not chats:
            return 0
        res = self.s.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.platform) == PLATFORM, col(OutboxRow.chat_id).in_(chats),
                   col(OutboxRow.status) == "pending")
            .values(status="void", last_error=reason[:200])
        )
        return affected(res)

    def forget_resident(self, resident_id: int) -> int:
        """Erasure: the resident's registration, its queued SMS and its receipts go; returns registrations removed."""
        ids = list(self.s.execute(select(col(SmsRegistrationRow.id))
                                  .where(col(SmsRegistrationRow.resident_id) == resident_id)).scalars())
        if not ids:
            return 0
        self.void_pending(ids, "resident erased")
        self.s.execute(sa.delete(SmsMessageRow).where(col(SmsMessageRow.registration_id).in_(ids)))
        self.s.execute(sa.delete(SmsRegistrationRow).where(col(SmsRegistrationRow.id).in_(ids)))
        return len(ids)

    # --- fan-out ----------------------------------------------------------------------------------------
    def _enqueue(self, announcement_id: int, source: sa.Subquery, text: str, expires_at: datetime | None,
                 now: datetime) -> int:
        key = sa.literal(f"ann:{announcement_id}:{PLATFORM}:") + source.c.phone_hash
        stmt = sa.select(
            key, sa.literal(PLATFORM), sa.cast(source.c.id, sa.String), sa.null(), sa.literal(announcement_id),
            sa.literal(1), sa.literal(text, sa.Text), sa.literal("pending"), sa.literal(0),
            sa.literal(expires_at, _OUTBOX.c.expires_at.type), sa.literal(now, _OUTBOX.c.created_at.type),
        ).where(sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
        return self.uow.outbox.enqueue_select(stmt, _COLUMNS)

    def fan_out(self, announcement_id: int, village_codes: list[str], text: str, *, expires_at: datetime | None,
                now: datetime) -> int:
        """Queue one SMS per active number registered in these villages; returns rows added."""
        if not village_codes:
            return 0
        # One registration per number (the first): the dedupe key would drop the others anyway.
        first = (select(sa.func.min(col(SmsRegistrationRow.id)).label("id"), col(SmsRegistrationRow.phone_hash))
                 .where(col(SmsRegistrationRow.village_code).in_(village_codes),
                        col(SmsRegistrationRow.opted_out_at).is_(None))
                 .group_by(col(SmsRegistrationRow.phone_hash)).subquery())
        return self._enqueue(announcement_id, first, text, expires_at, now)

    def fan_out_previous(self, announcement_id: int, circuit_id: int, text: str, *, expires_at: datetime | None,
                         now: datetime) -> int:
        """Queue a change or cancellation for every number an earlier announcement of this circuit reached."""
        earlier = select(col(AnnouncementRow.id)).where(col(AnnouncementRow.circuit_id) == circuit_id,
                                                        col(AnnouncementRow.id) != announcement_id)
        reached = select(col(OutboxRow.chat_id)).where(
            col(OutboxRow.platform) == PLATFORM, col(OutboxRow.announcement_id).in_(earlier),
            col(OutboxRow.status).in_(["sent", "pending", "void"]))
        src = (select(col(SmsRegistrationRow.id), col(SmsRegistrationRow.phone_hash))
               .where(sa.cast(col(SmsRegistrationRow.id), sa.String).in_(reached),
                      col(SmsRegistrationRow.opted_out_at).is_(None)).subquery())
        return self._enqueue(announcement_id, src, text, expires_at, now)

    # --- what the provider said -------------------------------------------------------------------------
    def record_submitted(self, registration_id: int, announcement_id: int | None, provider: str, provider_id: str,
                         now: datetime) -> int:
        """The provider accepted an SMS (its BizId / SerialNo) for the outbox row of this registration."""
        outbox_id = self.s.execute(
            select(col(OutboxRow.id)).where(col(OutboxRow.platform) == PLATFORM,
                                            col(OutboxRow.chat_id) == str(registration_id),
                                            col(OutboxRow.announcement_id) == announcement_id)
            .order_by(col(OutboxRow.id).desc()).limit(1)).scalar()
        row = SmsMessageRow(outbox_id=outbox_id, registration_id=registration_id, announcement_id=announcement_id,
                            provider=provider, provider_id=provider_id[:64], submitted_at=now)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id

    def record_receipt(self, provider: str, provider_id: str, delivered: bool, code: str, at: datetime) -> int:
        """A delivery receipt: delivered or failed with the provider's code; returns messages it matched."""
        res = self.s.execute(
            sa.update(SmsMessageRow)
            .where(col(SmsMessageRow.provider) == provider, col(SmsMessageRow.provider_id) == provider_id[:64])
            .values(status="delivered" if delivered else "failed", report_code=code[:64], reported_at=at)
        )
        return affected(res)

    def messages(self, registration_id: int | None = None) -> list[SmsMessageRow]:
        """Messages sent (and their receipts), oldest first."""
        q = select(SmsMessageRow)
        if registration_id is not None:
            q = q.where(col(SmsMessageRow.registration_id) == registration_id)
        rows = list(self.s.exec(q.order_by(col(SmsMessageRow.id))))
        for r in rows:
            self.s.expunge(r)
        return rows
