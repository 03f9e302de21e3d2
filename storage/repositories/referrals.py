"""Referral slots and referrals: publish slots, book the last place exactly once, the reminder sweep's reads.

Booking is one conditional ``UPDATE referral_slot SET booked = booked + 1 WHERE id = ? AND booked < capacity``: on
PostgreSQL a second booker waits on the row lock and then finds the condition false; on SQLite every write
transaction is serialised by ``BEGIN IMMEDIATE``. So two bookers never both take the last place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from domain.circuits import HalfDay
from domain.followups import FollowupStatus
from domain.ledgers import ReferralFact, SlotUse
from domain.orders import Urgency
from domain.privacy import mask_free_text
from domain.referrals import FINAL, Referral, ReferralStatus, Slot
from storage.repositories.base import Repository, affected
from storage.tables import FollowupTaskRow, OrderRow, ReferralRow, ReferralSlotRow

CHINA = ZoneInfo("Asia/Shanghai")


def _slot(row: ReferralSlotRow | sa.Row) -> Slot:
    return Slot(row.hospital_code, row.specialty, row.day, HalfDay(row.half_day), row.capacity, row.booked,
                time.fromisoformat(row.start_time) if row.start_time else None, row.place, row.beds, row.id)


def _referral(row: ReferralRow) -> Referral:
    return Referral(
        order_id=row.order_id, resident_id=row.resident_id or 0, hospital_code=row.hospital_code,
        specialty=row.specialty, urgency=Urgency(row.urgency), post_code=row.post_code, created_at=row.created_at,
        status=ReferralStatus(row.status), slot_id=row.slot_id, note=row.note, booked_at=row.booked_at,
        reminder_due_at=row.reminder_due_at, discharged_at=row.discharged_at, plan=row.plan, id=row.id,
        version=row.version, updated_at=row.updated_at,
    )


class ReferralRepository(Repository):
    """Slots a hospital reserves, the referrals booked on them."""

    # --- slots ------------------------------------------------------------------------------------------
    def publish_slot(self, s: Slot, *, staff_id: int | None, now: datetime) -> tuple[Slot, bool]:
        """Store a slot, or set the capacity, place and beds of the same department, day and time; returns it and
        True if it is new. The capacity never drops below the places already booked."""
        key: dict[str, Any] = dict(hospital_code=s.hospital_code, specialty=s.specialty, day=s.day,
                                   half_day=s.half_day.value, start_time=f"{s.start:%H:%M}" if s.start else "")
        row = self.s.exec(select(ReferralSlotRow).where(*(getattr(ReferralSlotRow, k) == v for k, v in key.items()))
                          .with_for_update()).first()
        new = row is None
        if row is None:
            row = ReferralSlotRow(**key, capacity=s.capacity, booked=0, place=s.place, beds=s.beds, created_at=now,
                                  created_by_staff_id=staff_id)
        else:
            row.capacity = max(s.capacity, row.booked)
            row.place = s.place or row.place
            row.beds = s.beds
        self.s.add(row)
        self.s.flush()
        return _slot(row), new

    def slot(self, slot_id: int) -> Slot | None:
        """One slot, or None."""
        row = self.s.get(ReferralSlotRow, slot_id, populate_existing=True)
        return _slot(row) if row else None

    def slots(self, hospital_code: str, first: date, last: date,
              specialties: Iterable[str] | None = None) -> list[Slot]:
        """The hospital's slots from ``first`` to ``last``, earliest first."""
        q = select(ReferralSlotRow).where(col(ReferralSlotRow.hospital_code) == hospital_code,
                                          col(ReferralSlotRow.day) >= first, col(ReferralSlotRow.day) <= last)
        if specialties is not None:
            q = q.where(col(ReferralSlotRow.specialty).in_(list(specialties)))
        return sorted((_slot(r) for r in self.s.exec(q)), key=Slot.sort_key)

    def take_place(self, slot_id: int) -> bool:
        """Take one place of a slot; False if it is full (another booker took the last place)."""
        res = self.s.execute(
            sa.update(ReferralSlotRow)
            .where(col(ReferralSlotRow.id) == slot_id, col(ReferralSlotRow.booked) < col(ReferralSlotRow.capacity))
            .values(booked=col(ReferralSlotRow.booked) + 1)
        )
        return bool(affected(res))

    def give_back(self, slot_id: int) -> None:
        """A cancelled booking frees its place."""
        self.s.execute(sa.update(ReferralSlotRow)
                       .where(col(ReferralSlotRow.id) == slot_id, col(ReferralSlotRow.booked) > 0)
                       .values(booked=col(ReferralSlotRow.booked) - 1))

    # --- referrals --------------------------------------------------------------------------------------
    def add(self, r: Referral) -> int:
        """Store a new referral with its audit events; returns its id."""
        row = ReferralRow(order_id=r.order_id, resident_id=r.resident_id, hospital_code=r.hospital_code,
                          specialty=r.specialty, urgency=r.urgency.value, post_code=r.post_code, status=r.status.value,
                          note=mask_free_text(r.note), created_at=r.created_at, updated_at=r.updated_at or r.created_at)
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        r.id = row.id
        self.save(r)
        return row.id

    def save(self, r: Referral) -> None:
        """Write the referral's state (bumping its version) and append its new audit events."""
        assert r.id is not None
        row = self.s.get(ReferralRow, r.id)
        assert row is not None
        row.status, row.slot_id, row.booked_at = r.status.value, r.slot_id, r.booked_at
        row.reminder_due_at, row.discharged_at = r.reminder_due_at, r.discharged_at
        row.plan = mask_free_text(r.plan)  # phone and ID numbers never stored (as for orders)
        row.updated_at = r.updated_at or row.updated_at
        row.version += 1
        r.version = row.version
        self.s.add(row)
        for e in r.events:
            self.uow.audit.append(e.__class__(e.actor_staff_id, e.actor_role, e.action, e.entity, str(r.id),
                                              e.from_status, e.to_status, e.reason, e.at, e.detail))
        r.events.clear()

    def get(self, referral_id: int, *, for_update: bool = False) -> Referral | None:
        """One referral (locked on PostgreSQL with ``for_update``), or None."""
        q = select(ReferralRow).where(col(ReferralRow.id) == referral_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q.execution_options(populate_existing=True)).first()
        return _referral(row) if row else None

    def of_order(self, order_id: int) -> Referral | None:
        """The referral of an order, or None."""
        row = self.s.exec(select(ReferralRow).where(col(ReferralRow.order_id) == order_id)).first()
        return _referral(row) if row else None

    def of_hospital(self, hospital_code: str, *, open_only: bool = True, limit: int = 200) -> list[Referral]:
        """The hospital's referrals (the open ones by default), oldest first."""
        q = select(ReferralRow).where(col(ReferralRow.hospital_code) == hospital_code)
        if open_only:
            q = q.where(col(ReferralRow.status).not_in([s.value for s in FINAL]))
        return [_referral(r) for r in self.s.exec(q.order_by(col(ReferralRow.id)).limit(limit))]

    def not_yet_held(self, resident_id: int) -> list[Referral]:
        """A resident's referrals still waiting for a place or booked (not yet held), locked for the caller."""
        q = (select(ReferralRow)
             .where(col(ReferralRow.resident_id) == resident_id,
                    col(ReferralRow.status).in_([ReferralStatus.WAITING.value, ReferralStatus.BOOKED.value]))
             .order_by(col(ReferralRow.id)).with_for_update())
        return [_referral(r) for r in self.s.exec(q.execution_options(populate_existing=True))]

    def due_reminders(self, now: datetime, limit: int = 500) -> list[int]:
        """Booked referrals whose day-before reminder is due and not yet sent (skipping rows another worker holds)."""
        q = (select(col(ReferralRow.id))
             .where(col(ReferralRow.status) == ReferralStatus.BOOKED.value, col(ReferralRow.reminded_at).is_(None),
                    col(ReferralRow.reminder_due_at) <= now)
             .order_by(col(ReferralRow.reminder_due_at)).limit(limit))
        if self._pg:
            q = q.with_for_update(skip_locked=True)
        return [int(i) for i in self.s.execute(q).scalars()]

    def claim_reminder(self, referral_id: int, now: datetime) -> bool:
        """Mark the reminder sent (with the outbox rows, in one transaction); False if another sweep was first."""
        res = self.s.execute(
            sa.update(ReferralRow)
            .where(col(ReferralRow.id) == referral_id, col(ReferralRow.reminded_at).is_(None))
            .values(reminded_at=now)
        )
        return bool(affected(res))

    def next_reminder_at(self) -> datetime | None:
        """When the next reminder falls due."""
        return self.s.exec(select(sa.func.min(ReferralRow.reminder_due_at)).where(
            col(ReferralRow.status) == ReferralStatus.BOOKED.value, col(ReferralRow.reminded_at).is_(None))).one()

    def forget_resident(self, resident_id: int) -> None:
        """Erasure: the hospital's note and the plan sent down go, no reminder is sent any more; the referral's states
        stay as anonymous counts (a list shown before decides nothing now: the version moves)."""
        self.s.execute(sa.update(ReferralRow).where(col(ReferralRow.resident_id) == resident_id)
                       .values(note=None, plan=None, reminder_due_at=None, version=col(ReferralRow.version) + 1))

    # --- ledgers ----------------------------------------------------------------------------------------
    def ledger_facts(self, first: date, last: date, villages: Iterable[str] | None) -> list[ReferralFact]:
        """Referrals made or discharged from ``first`` to ``last`` (Sanming days), of residents of ``villages``
        (None: all)."""
        start = datetime.combine(first, time(0), CHINA).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), CHINA).astimezone(UTC)
        q = (sa.select(col(OrderRow.village_code), col(ReferralRow.hospital_code), col(ReferralRow.status),
                       col(ReferralRow.created_at), col(ReferralRow.slot_id), col(ReferralRow.discharged_at))
             .join(OrderRow, col(OrderRow.id) == col(ReferralRow.order_id))
             .where(sa.or_(sa.and_(col(ReferralRow.created_at) >= start, col(ReferralRow.created_at) < end),
                           sa.and_(col(ReferralRow.discharged_at) >= start, col(ReferralRow.discharged_at) < end))))
        if villages is not None:
            q = q.where(col(OrderRow.village_code).in_(sorted(villages)))
        return [ReferralFact(v, h, st, c.astimezone(CHINA).date(), slot is not None,
                             d.astimezone(CHINA).date() if d else None) for v, h, st, c, slot, d in self.s.execute(q)]

    def overdue_followups(self, first: date, last: date, villages: Iterable[str] | None) -> list[tuple[str, str]]:
        """(village, hospital) of each down-referral's follow-up task due in the period and overdue now."""
        q = (select(col(OrderRow.village_code), col(ReferralRow.hospital_code))
             .select_from(FollowupTaskRow)
             .join(ReferralRow, sa.and_(col(FollowupTaskRow.source) == "referral",
                                        col(ReferralRow.id) == col(FollowupTaskRow.source_id)))
             .join(OrderRow, col(OrderRow.id) == col(ReferralRow.order_id))
             .where(col(FollowupTaskRow.status) == FollowupStatus.OVERDUE.value,
                    col(FollowupTaskRow.due_day) >= first, col(FollowupTaskRow.due_day) <= last))
        if villages is not None:
            q = q.where(col(OrderRow.village_code).in_(sorted(villages)))
        return [(v, h) for v, h in self.s.exec(q)]

    def slot_use(self, first: date, last: date, hospitals: Iterable[str] | None) -> list[SlotUse]:
        """Per hospital, the places reserved on the period's days and how many were booked."""
        q = (select(col(ReferralSlotRow.hospital_code), sa.func.sum(ReferralSlotRow.capacity),
                    sa.func.sum(ReferralSlotRow.booked), sa.func.sum(ReferralSlotRow.beds))
             .where(col(ReferralSlotRow.day) >= first, col(ReferralSlotRow.day) <= last)
             .group_by(col(ReferralSlotRow.hospital_code)).order_by(col(ReferralSlotRow.hospital_code)))
        if hospitals is not None:
            q = q.where(col(ReferralSlotRow.hospital_code).in_(sorted(hospitals)))
        return [SlotUse(h, int(c or 0), int(b or 0), int(beds or 0)) for h, c, b, beds in self.s.exec(q)]
