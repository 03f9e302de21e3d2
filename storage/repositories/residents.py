"""Residents, and the erasure of everything that names one when they withdraw consent."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, select

from domain.errors import DomainError
from domain.privacy import normalise_phone
from domain.staff import Consent, Resident, Sex
from storage.repositories.base import Repository
from storage.tables import (
    AuditRow,
    OrderRow,
    ReferralRow,
    RemoteSessionRow,
    ResidentRow,
)

# Statements built once, at import, so that SQLAlchemy's compiled cache finds them without walking them again.
_RESIDENT_BY_ID = sa.select(ResidentRow.__table__).where(  # type: ignore[attr-defined]
    ResidentRow.__table__.c.id == sa.bindparam("id")  # type: ignore[attr-defined]
)
_RESIDENTS: sa.Table = ResidentRow.__table__  # type: ignore[attr-defined]
_RESIDENTS_IN_SELECT = (
    sa.select(_RESIDENTS)
    .where(_RESIDENTS.c.village_code.in_(sa.bindparam("villages", expanding=True)),
           _RESIDENTS.c.consent_withdrawn_at.is_(None))
    .order_by(_RESIDENTS.c.name, _RESIDENTS.c.id)
)
_RESIDENTS_IN = _RESIDENTS_IN_SELECT
_RESIDENTS_BY_IDS = sa.select(_RESIDENTS).where(_RESIDENTS.c.id.in_(sa.bindparam("ids", expanding=True)))
_RESIDENT_FOUND = sa.select(_RESIDENTS).where(
    _RESIDENTS.c.name == sa.bindparam("name"),
    _RESIDENTS.c.village_code == sa.bindparam("village"),
    _RESIDENTS.c.birth_year == sa.bindparam("birth_year"),
)
# Everyone of a village who withdrew consent: by name and birth year, and (once erased) by the keyed hash of them.
_WITHDRAWALS = sa.select(_RESIDENTS.c.name, _RESIDENTS.c.birth_year, _RESIDENTS.c.erased_key,
                         _RESIDENTS.c.consent_withdrawn_at).where(
    _RESIDENTS.c.village_code == sa.bindparam("village"), _RESIDENTS.c.consent_withdrawn_at.is_not(None))
_RESIDENTS_NAMED_IN = _RESIDENTS_IN_SELECT.where(_RESIDENTS.c.name.like(sa.bindparam("pattern"), escape="/"))
ERASED = "（内容已按居民要求删除）"
AUDIT_REDACTED = "（已删除）"  # the only value the audit trigger lets a reason be changed to (migration 0006)


class ResidentRepository(Repository):
    """Residents; phone and ID numbers are encrypted at rest with a keyed hash for lookups."""

    def add(self, r: Resident) -> int:
        """Store a new resident and return the id. Health data needs consent, so it must be recorded."""
        row = ResidentRow(name=r.name, sex=r.sex.value, birth_year=r.birth_year, village_code=r.village_code)
        self._write(row, r)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        r.id = row.id
        return row.id

    def save(self, r: Resident) -> None:
        """Write back a changed resident."""
        row = self.s.get(ResidentRow, r.id)
        if row is None:
            raise DomainError("resident.unknown")
        row.name, row.sex, row.birth_year, row.village_code = r.name, r.sex.value, r.birth_year, r.village_code
        self._write(row, r)
        self.s.add(row)

    def _write(self, row: ResidentRow, r: Resident) -> None:
        c = self.uow.cipher
        row.phone_enc = c.encrypt(r.phone, context="resident.phone")
        row.phone_hash = c.lookup_hash(r.phone, context="phone")
        row.id_number_enc = c.encrypt(r.id_number, context="resident.id_number")
        row.id_number_hash = c.lookup_hash(r.id_number.upper() if r.id_number else None, context="id_number")
        if r.consent:
            row.consent_version = r.consent.version
            row.consent_at = r.consent.recorded_at
            row.consent_by_staff_id = r.consent.recorded_by_staff_id
        row.consent_withdrawn_at = r.consent_withdrawn_at

    def get(self, resident_id: int) -> Resident | None:
        """One resident, or None."""
        row = self.c.execute(_RESIDENT_BY_ID, {"id": resident_id}).first()
        return self._load(row) if row else None

    def get_many(self, resident_ids: Iterable[int]) -> dict[int, Resident]:
        """Residents by id (those that exist), in one query."""
        ids = sorted(set(resident_ids))
        if not ids:
            return {}
        return {r.id: self._load(r) for r in self.c.execute(_RESIDENTS_BY_IDS, {"ids": ids})}

    def in_villages(self, village_codes: Iterable[str], name_like: str | None = None) -> list[Resident]:
        """Residents of these villages (not those who withdrew), optionally whose name contains ``name_like``."""
        params: dict[str, object] = {"villages": list(village_codes)}
        if name_like:
            params["pattern"] = "%" + re.sub(r"([/%_])", r"/\1", name_like) + "%"
        rows = self.c.execute(_RESIDENTS_NAMED_IN if name_like else _RESIDENTS_IN, params)
        return [self._load(r) for r in rows]

    def find(self, name: str, village_code: str, birth_year: int) -> Resident | None:
        """The resident with exactly this name, village and birth year, or None."""
        row = self.c.execute(_RESIDENT_FOUND, {"name": name, "village": village_code, "birth_year": birth_year}).first()
        return self._load(row) if row else None

    def find_by_phone(self, phone: str) -> list[Resident]:
        """Residents with this mobile number (keyed-hash lookup)."""
        h = self.uow.cipher.lookup_hash(normalise_phone(phone), context="phone")
        return [self._load(r) for r in self.s.exec(select(ResidentRow).where(col(ResidentRow.phone_hash) == h))]

    def forget(self, resident_id: int, now: datetime) -> None:
        """Withdrawal of consent: erase identifying data and need texts, keep anonymous counts."""
        row = self.s.get(ResidentRow, resident_id)
        if row is None:
            return
        self._erase_traces(resident_id, row.name)
        self.uow.alerts.forget_resident(resident_id)
        self.uow.sms.forget_resident(resident_id)
        self.uow.remote.forget_resident(resident_id, ERASED)
        self.uow.referrals.forget_resident(resident_id)
        self.uow.followups.forget_resident(resident_id)
        self.uow.surveys.forget_resident(row.name, row.village_code, row.birth_year)
        row.erased_key = self._erased_key(row.name, row.village_code, row.birth_year)
        row.name = "已注销"
        row.phone_enc = row.phone_hash = row.id_number_enc = row.id_number_hash = None
        row.consent_withdrawn_at = now
        self.s.add(row)
        self.s.exec(
            sa.update(OrderRow)
            .where(col(OrderRow.resident_id) == resident_id)
            .values(need_text="", question=None, answer=None, reason=None, disposition_note=None,
                    version=OrderRow.version + 1)  # a card shown before the erasure decides nothing now
        )
        from storage.tables import OrderOutcomeRow

        order_ids = select(OrderRow.id).where(col(OrderRow.resident_id) == resident_id)
        self.s.exec(sa.update(OrderOutcomeRow).where(col(OrderOutcomeRow.order_id).in_(order_ids)).values(outcome=""))
        self.uow.catalogue.forget_orders(order_ids)  # what their need matched in a catalogue is health data too
        self.uow.checkpoint_after_commit()

    def _erased_key(self, name: str, village_code: str, birth_year: int) -> str | None:
        return self.uow.cipher.lookup_hash(f"{village_code}|{birth_year}|{name}", context="resident.erased")

    def withdrawals(self, village_code: str) -> Callable[[str, int], datetime | None]:
        """When a person of the village with this name and birth year last withdrew consent (erased or not), or
        None: the village's withdrawals read once, for a whole survey sheet, and answered from memory."""
        last: dict[object, datetime] = {}
        for name, year, key, at in self.c.execute(_WITHDRAWALS, {"village": village_code}).all():
            for k in ((name, year), key):
                if k is not None and (k not in last or at > last[k]):
                    last[k] = at

        def withdrawn_at(name: str, birth_year: int) -> datetime | None:
            found = [last.get((name, birth_year)), last.get(self._erased_key(name, village_code, birth_year))]
            return max((at for at in found if at is not None), default=None)

        return withdrawn_at

    def _erase_traces(self, resident_id: int, name: str) -> None:
        """Erase the resident from messages (sent or queued), ratings, leads and drafts that name them."""
        from storage.tables import ChatAccountRow, LeadRow, OutboxRow, RatingRow, WeChatHeldRow, WeChatUserRow

        accounts = select(ChatAccountRow.id).where(col(ChatAccountRow.resident_id) == resident_id)
        # What waits for them on the Official Account outside its 48-hour window goes too.
        self.s.exec(sa.delete(WeChatHeldRow).where(col(WeChatHeldRow.user_id).in_(
            select(ChatAccountRow.platform_user_id).where(col(ChatAccountRow.resident_id) == resident_id,
                                                          col(ChatAccountRow.platform) == "wechat"))))
        orders = select(OrderRow.id).where(col(OrderRow.resident_id) == resident_id)
        # Messages to the resident themselves: nothing more goes out, and what went out is not kept.
        self.s.exec(
            sa.update(OutboxRow)
            .where(col(OutboxRow.account_id).in_(accounts), col(OutboxRow.status) == "pending")
            .values(status="void")
        )
        self.s.exec(
            sa.update(OutboxRow).where(col(OutboxRow.account_id).in_(accounts)).values(text=ERASED, buttons_json=None)
        )
        # Notices to staff that named them keep their order number but lose the name; so do the numbered choices
        # a chat without buttons remembers showing (the Official Account's, the local console's screen).
        if len(name) >= 2:
            self.s.exec(
                sa.update(OutboxRow)
                .where(col(OutboxRow.text).contains(name, autoescape=True))
                .values(text=sa.func.replace(col(OutboxRow.text), name, "***"))
            )
            self.s.exec(
                sa.update(WeChatUserRow)
                .where(col(WeChatUserRow.choices).contains(name, autoescape=True))
                .values(choices=sa.func.replace(col(WeChatUserRow.choices), name, "***"))
            )
        self.s.exec(sa.update(RatingRow).where(col(RatingRow.order_id).in_(orders)).values(comment=None))
        # The audit trail keeps who did what and when; only the free-text reasons about this resident go
        # (the append-only trigger allows exactly this redaction and nothing else).
        numbers = select(OrderRow.number).where(col(OrderRow.resident_id) == resident_id)
        self.uow.audit.write()  # this update's own events about them are redacted too
        # Their remote consultations' and referrals' reasons (a cancellation may say why, naming them) go too.
        sessions = [f"RC{i}" for i in self.s.exec(select(RemoteSessionRow.id)
                                                   .where(col(RemoteSessionRow.resident_id) == resident_id))]
        referrals = [str(i) for i in self.s.exec(select(ReferralRow.id)
                                                  .where(col(ReferralRow.resident_id) == resident_id))]
        about_them = sa.or_(
            sa.and_(col(AuditRow.entity) == "order", col(AuditRow.entity_id).in_(numbers)),
            sa.and_(col(AuditRow.entity) == "remote", col(AuditRow.entity_id).in_(sessions)),
            sa.and_(col(AuditRow.entity) == "referral", col(AuditRow.entity_id).in_(referrals)),
        )
        # A decision's note (上转安排 …) is in the event's detail: it goes the same way (migration 0015).
        note, blanked = _audit_note(self._pg)
        has_note = sa.and_(note.is_not(None), note != AUDIT_REDACTED)
        self.s.exec(
            sa.update(AuditRow)
            .where(about_them, sa.or_(sa.and_(col(AuditRow.reason).is_not(None),
                                              col(AuditRow.reason) != AUDIT_REDACTED), has_note))
            .values(reason=sa.case((col(AuditRow.reason).is_(None), None), else_=AUDIT_REDACTED),
                    detail=sa.case((has_note, blanked), else_=col(AuditRow.detail)))
        )
        self.s.exec(sa.update(LeadRow).where(col(LeadRow.order_id).in_(orders)).values(summary=ERASED))
        # A village doctor halfway through filing for them, or with them offered on an order card: that draft goes.
        for acc in self.s.exec(select(ChatAccountRow).where(col(ChatAccountRow.step).is_not(None))):
            draft = json.loads(acc.draft or "{}")
            offered = [o[0] for o in draft.get("homonyms") or [] if isinstance(o, list) and o]
            if draft.get("rid") == resident_id or resident_id in offered + list(draft.get("choices") or []):
                acc.step, acc.draft, acc.draft_updated_at = None, "{}", None
                self.s.add(acc)

    def count(self) -> int:
        """How many residents are stored."""
        return self.s.exec(select(sa.func.count()).select_from(ResidentRow)).one()

    def _load(self, row: ResidentRow | sa.Row) -> Resident:
        c = self.uow.cipher
        consent = (
            Consent(row.consent_version, row.consent_at, row.consent_by_staff_id)
            if row.consent_version and row.consent_at
            else None
        )
        return Resident(
            name=row.name,
            sex=Sex(row.sex),
            birth_year=row.birth_year,
            village_code=row.village_code,
            phone=c.decrypt(row.phone_enc, context="resident.phone"),
            id_number=c.decrypt(row.id_number_enc, context="resident.id_number"),
            consent=consent,
            id=row.id,
            consent_withdrawn_at=row.consent_withdrawn_at,
        )


def _audit_note(pg: bool) -> tuple[Any, Any]:
    """An audit event's detail note, and its detail with that note replaced by the redaction marker, computed exactly
    as the append-only trigger computes what it allows (migration 0015)."""
    detail = col(AuditRow.detail)
    if pg:
        as_json = sa.cast(detail, JSONB)
        return (as_json["note"].astext,
                sa.cast(sa.func.jsonb_set(as_json, sa.literal_column("'{note}'"),
                                          sa.func.to_jsonb(sa.cast(sa.literal(AUDIT_REDACTED), sa.Text))), sa.Text))
    return (sa.func.json_extract(detail, "$.note"), sa.func.json_set(detail, "$.note", AUDIT_REDACTED))
