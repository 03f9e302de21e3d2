"""Circuit scheduling storage: changes to circuits with their log, announcements, leave days and profiles.

Attached to the unit of work as ``uow.schedule``. Fan-out writes outbox rows with one INSERT … SELECT per
audience, so 10,000 subscribers cost one statement, not 10,000 ORM objects.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from storage.repositories.base import Repository, affected
from storage.tables import (
    AnnouncementRow,
    ChatAccountRow,
    CircuitChangeRow,
    CircuitExpertRow,
    CircuitRow,
    ExpertProfileRow,
    LeaveRow,
    OutboxRow,
    SubscriptionRow,
)

_OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
OUTBOX_COLUMNS = [
    "dedupe_key", "platform", "chat_id", "account_id", "announcement_id", "priority", "text", "status", "attempts",
    "expires_at", "created_at",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Announcement:
    """A stored announcement."""

    id: int
    circuit_id: int
    kind: str
    key: str
    due_at: datetime
    fanned_out_at: datetime | None
    skipped: str | None
    recipients: int
    detail: dict


def _ann(r: AnnouncementRow) -> Announcement:
    assert r.id is not None
    return Announcement(r.id, r.circuit_id, r.kind, r.key, r.due_at, r.fanned_out_at, r.skipped, r.recipients,
                        json.loads(r.detail))


def circuit_json(c: Circuit) -> dict:
    """A circuit's slot as JSON-able data (for the change log and update notices)."""
    return {"day": c.day.isoformat(), "half_day": c.half_day.value, "place": c.place_code,
            "experts": sorted(c.expert_ids), "status": c.status.value}


class ScheduleRepository(Repository):
    """Circuit changes and their log, announcements and fan-out, leave days and expert profiles."""


    # --- circuits ---------------------------------------------------------------------------------------
    def lock_circuit(self, circuit_id: int) -> None:
        """Lock the circuit row until the transaction ends (PostgreSQL; SQLite already serialises writers)."""
        self.s.execute(select(col(CircuitRow.id)).where(col(CircuitRow.id) == circuit_id).with_for_update())

    def save_circuit(self, c: Circuit) -> None:
        """Write back a changed circuit (slot, status, experts); the row stays locked until commit."""
        assert c.id is not None, "circuit must exist"
        self.lock_circuit(c.id)  # even when only the experts change: a fan-out in flight waits for this change
        row = self.s.get(CircuitRow, c.id)
        assert row is not None, "circuit must exist"
        row.day, row.half_day, row.place_code = c.day, c.half_day.value, c.place_code
        row.level, row.status = c.level.value, c.status.value
        self.s.add(row)
        current = set(self.s.execute(
            select(col(CircuitExpertRow.staff_id)).where(col(CircuitExpertRow.circuit_id) == c.id)).scalars())
        if current != set(c.expert_ids):
            self.s.execute(sa.delete(CircuitExpertRow).where(col(CircuitExpertRow.circuit_id) == c.id))
            self.s.add_all(CircuitExpertRow(circuit_id=c.id, staff_id=e) for e in sorted(c.expert_ids))
        self.s.flush()

    def circuits_between(self, first: date, last: date, *, hospital_code: str | None = None,
                         statuses: Iterable[CircuitStatus] = (CircuitStatus.PLANNED,)) -> list[Circuit]:
        """Circuits on days ``first``..``last`` (planned only by default), soonest first."""
        q = select(CircuitRow).where(col(CircuitRow.day) >= first, col(CircuitRow.day) <= last,
                                     col(CircuitRow.status).in_([s.value for s in statuses]))
        if hospital_code is not None:
            q = q.where(col(CircuitRow.hospital_code) == hospital_code)
        rows = list(self.s.exec(q.order_by(col(CircuitRow.day), col(CircuitRow.half_day), col(CircuitRow.id))))
        experts: dict[int, set[int]] = defaultdict(set)
        ids = [r.id for r in rows]
        if ids:
            for cid, sid in self.s.execute(
                select(CircuitExpertRow.circuit_id, CircuitExpertRow.staff_id)
                .where(col(CircuitExpertRow.circuit_id).in_(ids))
            ):
                experts[cid].add(sid)
        return [Circuit(r.hospital_code, r.place_code, r.day, HalfDay(r.half_day), CircuitLevel(r.level),
                        frozenset(experts[r.id or 0]), CircuitStatus(r.status), r.id) for r in rows]

    def last_visits(self, before: date) -> dict[tuple[str, CircuitLevel], date]:
        """The latest circuit (not cancelled) before ``before`` per (place, level), for the planner."""
        q = (select(col(CircuitRow.place_code), col(CircuitRow.level), sa.func.max(col(CircuitRow.day)))
             .where(col(CircuitRow.day) < before, col(CircuitRow.status) != CircuitStatus.CANCELLED.value)
             .group_by(col(CircuitRow.place_code), col(CircuitRow.level)))
        return {(p, CircuitLevel(lv)): d for p, lv, d in self.s.execute(q)}

    # --- change log -------------------------------------------------------------------------------------
    def log_change(self, circuit_id: int, kind: str, before: dict | None, after: dict | None,
                   actor_staff_id: int | None, now: datetime) -> int:
        """Record what happened to a circuit; returns the change's id."""
        row = CircuitChangeRow(circuit_id=circuit_id, at=now, actor_staff_id=actor_staff_id, kind=kind,
                               before=json.dumps(before or {}, ensure_ascii=False),
                               after=json.dumps(after or {}, ensure_ascii=False))
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id

    def changes(self, circuit_id: int) -> list[tuple[str, datetime, dict, dict]]:
        """(kind, at, before, after) for one circuit, oldest first."""
        q = select(CircuitChangeRow).where(col(CircuitChangeRow.circuit_id) == circuit_id)
        return [(r.kind, r.at, json.loads(r.before), json.loads(r.after))
                for r in self.s.exec(q.order_by(col(CircuitChangeRow.id)))]

    def slot_changed_at(self, circuit_ids: Iterable[int]) -> dict[int, datetime]:
        """When each circuit was last created or moved (its current slot's beginning), where logged."""
        ids = list(circuit_ids)
        if not ids:
            return {}
        q = (select(col(CircuitChangeRow.circuit_id), sa.func.max(col(CircuitChangeRow.at)))
             .where(col(CircuitChangeRow.circuit_id).in_(ids), col(CircuitChangeRow.kind).in_(["created", "moved"]))
             .group_by(col(CircuitChangeRow.circuit_id)))
        out = {}
        for cid, at in self.s.execute(q):
            if isinstance(at, str):  # aggregate results skip the column type on SQLite
                at = datetime.fromisoformat(at)
            out[cid] = at if at.tzinfo else at.replace(tzinfo=UTC)
        return out

    # --- announcements ----------------------------------------------------------------------------------
    def ensure_announcement(self, circuit_id: int, kind: str, key: str, due_at: datetime, now: datetime,
                            detail: dict | None = None) -> bool:
        """Create the announcement unless one with this key exists for the circuit; True if created."""
        stmt = (
            self._insert(AnnouncementRow)
            .values(circuit_id=circuit_id, kind=kind, key=key, due_at=due_at, created_at=now, recipients=0,
                    detail=json.dumps(detail or {}, ensure_ascii=False))
            .on_conflict_do_nothing(index_elements=["circuit_id", "key"])
            .returning(col(AnnouncementRow.id))
        )
        return self.s.execute(stmt).first() is not None

    def announcement(self, announcement_id: int, *, for_update: bool = False) -> Announcement | None:
        """One announcement (locked where the backend supports it), or None."""
        q = select(AnnouncementRow).where(col(AnnouncementRow.id) == announcement_id)
        if for_update:
            q = q.with_for_update()
        row = self.s.exec(q).first()
        return _ann(row) if row else None

    def announcements(self, circuit_id: int) -> list[Announcement]:
        """Every announcement of a circuit, oldest first."""
        q = select(AnnouncementRow).where(col(AnnouncementRow.circuit_id) == circuit_id)
        return [_ann(r) for r in self.s.exec(q.order_by(col(AnnouncementRow.id)))]

    def due_announcements(self, now: datetime, limit: int = 100) -> list[int]:
        """Ids of announcements due and neither fanned out nor skipped, oldest due first."""
        q = (select(col(AnnouncementRow.id))
             .where(col(AnnouncementRow.due_at) <= now, col(AnnouncementRow.fanned_out_at).is_(None),
                    col(AnnouncementRow.skipped).is_(None))
             .order_by(col(AnnouncementRow.due_at), col(AnnouncementRow.id)).limit(limit))
        return list(self.s.execute(q).scalars())

    def next_announcement_due(self) -> datetime | None:
        """The due time of the earliest announcement not yet handled."""
        q = select(sa.func.min(col(AnnouncementRow.due_at))).where(
            col(AnnouncementRow.fanned_out_at).is_(None), col(AnnouncementRow.skipped).is_(None))
        return self.s.execute(q).scalar_one()

    def finish_announcement(self, announcement_id: int, now: datetime, recipients: int,
                            skipped: str | None = None) -> bool:
        """Mark fanned out (or skipped, with why); False if another sweep finished it first."""
        res = self.s.execute(
            sa.update(AnnouncementRow)
            .where(col(AnnouncementRow.id) == announcement_id, col(AnnouncementRow.fanned_out_at).is_(None),
                   col(AnnouncementRow.skipped).is_(None))
            .values(fanned_out_at=now, recipients=recipients, skipped=skipped)
        )
        return bool(affected(res))

    # --- fan-out (bulk) ---------------------------------------------------------------------------------
    def _outbox_select(self, source, announcement_id: int, text: str, priority: int, expires_at: datetime | None,
                       now: datetime) -> sa.Select:
        key = sa.literal(f"ann:{announcement_id}:") + source.c.platform + sa.literal(":") + sa.cast(
            source.c.account_id, sa.String)
        return sa.select(
            key, source.c.platform, source.c.chat_id, source.c.account_id,
            sa.literal(announcement_id), sa.literal(priority), sa.literal(text, sa.Text), sa.literal("pending"),
            sa.literal(0), sa.literal(expires_at, _OUTBOX.c.expires_at.type),
            sa.literal(now, _OUTBOX.c.created_at.type),
        ).where(sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT

    def fan_out_subscribers(self, announcement_id: int, village_codes: list[str], text: str, *,
                            expires_at: datetime | None, now: datetime) -> int:
        """Queue ``text`` for every unblocked subscriber of these villages (once each); returns rows added."""
        if not village_codes:
            return 0
        src = (select(col(ChatAccountRow.id).label("account_id"), col(ChatAccountRow.platform).label("platform"),
                      # the person's private chat (their own user id), never a group an old row may point at
                      col(ChatAccountRow.platform_user_id).label("chat_id"))
               .where(col(ChatAccountRow.blocked).is_(False),
                      col(ChatAccountRow.id).in_(select(col(SubscriptionRow.chat_account_id))
                                                 .where(col(SubscriptionRow.village_code).in_(village_codes))))
               .subquery())
        return self.uow.outbox.enqueue_select(
            self._outbox_select(src, announcement_id, text, 1, expires_at, now), OUTBOX_COLUMNS)

    def fan_out_previous(self, announcement_id: int, circuit_id: int, text: str, *, expires_at: datetime | None,
                         now: datetime) -> int:
        """Queue ``text`` for everyone an earlier announcement of this circuit reached (or is reaching)."""
        earlier = select(col(AnnouncementRow.id)).where(col(AnnouncementRow.circuit_id) == circuit_id,
                                                        col(AnnouncementRow.id) != announcement_id)
        src = (select(col(OutboxRow.account_id).label("account_id"), col(OutboxRow.platform).label("platform"),
                      col(OutboxRow.chat_id).label("chat_id"))
               .where(col(OutboxRow.announcement_id).in_(earlier), col(OutboxRow.account_id).is_not(None),
                      col(OutboxRow.status).in_(["sent", "pending", "void"]),
                      col(OutboxRow.account_id).not_in(select(col(ChatAccountRow.id))
                                                       .where(col(ChatAccountRow.blocked).is_(True))))
               .distinct().subquery())
        return self.uow.outbox.enqueue_select(
            self._outbox_select(src, announcement_id, text, 1, expires_at, now), OUTBOX_COLUMNS)

    def earlier_announcement_ids(self, circuit_id: int, than: int) -> list[int]:
        """Ids of this circuit's announcements older than ``than``."""
        q = select(col(AnnouncementRow.id)).where(col(AnnouncementRow.circuit_id) == circuit_id,
                                                  col(AnnouncementRow.id) < than)
        return list(self.s.execute(q).scalars())

    # --- leave and profiles -----------------------------------------------------------------------------
    def leave(self, first: date, last: date, staff_ids: Iterable[int] | None = None) -> dict[int, set[date]]:
        """Leave days between ``first`` and ``last`` per member of staff."""
        q = sa.select(col(LeaveRow.staff_id), col(LeaveRow.day)).where(col(LeaveRow.day) >= first,
                                                                       col(LeaveRow.day) <= last)
        if staff_ids is not None:
            q = q.where(col(LeaveRow.staff_id).in_(list(staff_ids)))
        out: dict[int, set[date]] = defaultdict(set)
        for sid, d in self.s.execute(q):
            out[sid].add(d)
        return dict(out)

    def profiles(self, staff_ids: Iterable[int]) -> dict[int, str]:
        """Short profiles of these experts (those that have one)."""
        ids = list(staff_ids)
        if not ids:
            return {}
        q = select(ExpertProfileRow.staff_id, ExpertProfileRow.profile).where(col(ExpertProfileRow.staff_id).in_(ids))
        return {sid: p for sid, p in self.s.execute(q)}
