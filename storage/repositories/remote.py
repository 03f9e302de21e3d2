"""Remote consultation sessions; saving one also appends its audit events, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from domain.privacy import mask_free_text
from domain.remote import RemoteSession, SessionStatus
from storage.repositories.base import Repository, affected
from storage.repositories.orders import ConcurrentUpdate
from storage.tables import RemoteSessionRow

_EXPERT_LOCKS = 0x52434558  # "RCEX": the key space of the experts' schedule locks (two-key advisory locks)
_T: sa.Table = RemoteSessionRow.__table__  # type: ignore[attr-defined]
_FIELDS = ("order_id", "resident_id", "hospital_code", "expert_id", "site_code", "county_code", "starts_at", "room",
           "status", "reason", "previous_id", "moved_to_id", "advice", "refer_up", "followup_plan", "outcome_at",
           "reminded", "created_by_staff_id", "created_at", "updated_at")
_MASKED = ("reason", "advice", "followup_plan")  # free text: phone and ID numbers masked before storing


def _values(s: RemoteSession) -> dict[str, Any]:
    values = {f: getattr(s, f) for f in _FIELDS}
    values["status"] = s.status.value
    for f in _MASKED:
        values[f] = mask_free_text(values[f])
    values["updated_at"] = s.updated_at or s.created_at
    return values


def _session(r: Any) -> RemoteSession:
    m = dict(r._mapping)
    m["status"] = SessionStatus(m["status"])
    return RemoteSession(**m)


class RemoteRepository(Repository):
    """Remote consultation sessions: stored, found by order, person or time, counted for the ledgers."""

    def add(self, s: RemoteSession) -> RemoteSession:
        """Store a new session (its id is set) and its events."""
        s.id = int(self.c.execute(_T.insert().returning(_T.c.id), {**_values(s), "version": 0}).scalar_one())
        self._flush_events(s)
        return s

    def get(self, session_id: int, *, for_update: bool = False) -> RemoteSession | None:
        """One session by id (locked for update where the backend supports it), or None."""
        q = sa.select(_T).where(_T.c.id == session_id)
        row = self.c.execute(q.with_for_update() if for_update else q).first()
        return _session(row) if row else None

    def save(self, s: RemoteSession) -> None:
        """Write back a changed session; ``ConcurrentUpdate`` if someone changed it since it was read."""
        assert s.id is not None
        result = self.c.execute(
            _T.update().where(_T.c.id == s.id, _T.c.version == s.version).values(**_values(s), version=s.version + 1))
        if affected(result) != 1:
            raise ConcurrentUpdate("remote.changed_meanwhile")
        s.version += 1
        self._flush_events(s)

    def mark_reminded(self, session_id: int, label: str) -> None:
        """Record that reminder ``label`` was queued (not a change anyone decided: the version stays)."""
        self.c.execute(_T.update().where(_T.c.id == session_id).values(reminded=label))

    def for_order(self, order_id: int) -> list[RemoteSession]:
        """An order's sessions, oldest first (a moved one, then the one that replaced it)."""
        return [_session(r) for r in self.c.execute(sa.select(_T).where(_T.c.order_id == order_id).order_by(_T.c.id))]

    def upcoming(self, *, hospital_codes: Iterable[str] | None = None, expert_id: int | None = None,
                 site_codes: Iterable[str] | None = None,
                 statuses: Iterable[SessionStatus] = (SessionStatus.SCHEDULED,),
                 limit: int = 50) -> list[RemoteSession]:
        """Sessions in these states (scheduled by default), soonest first, narrowed to a hospital, expert or site."""
        q = sa.select(_T).where(_T.c.status.in_([s.value for s in statuses]))
        if hospital_codes is not None:
            q = q.where(_T.c.hospital_code.in_(list(hospital_codes)))
        if site_codes is not None:
            q = q.where(_T.c.site_code.in_(list(site_codes)))
        if expert_id is not None:
            q = q.where(_T.c.expert_id == expert_id)
        return [_session(r) for r in self.c.execute(q.order_by(_T.c.starts_at, _T.c.id).limit(limit))]

    def lock_expert(self, expert_id: int) -> None:
        """Hold one expert's schedule until this transaction ends, so two reviewers cannot both find the same time
        free (PostgreSQL: a transaction-level advisory lock; SQLite's BEGIN IMMEDIATE already lets one writer in)."""
        if self._pg:
            self.c.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :expert)"),
                           {"space": _EXPERT_LOCKS, "expert": expert_id})

    def of_expert_around(self, expert_id: int, at: datetime, within: timedelta,
                         statuses: Iterable[str]) -> list[RemoteSession]:
        """An expert's sessions in these states starting less than ``within`` before or after ``at``, soonest
        first."""
        q = sa.select(_T).where(_T.c.expert_id == expert_id, _T.c.status.in_(list(statuses)),
                                _T.c.starts_at > at - within, _T.c.starts_at < at + within)
        return [_session(r) for r in self.c.execute(q.order_by(_T.c.starts_at, _T.c.id))]

    def scheduled_before(self, until: datetime, limit: int = 500, *,
                         after: datetime | None = None) -> list[RemoteSession]:
        """Scheduled sessions starting before ``until`` (and after ``after``), soonest first (what the reminder sweep
        looks at: sessions already begun whose outcome nobody recorded must not crowd out the coming ones)."""
        cond = [_T.c.status == SessionStatus.SCHEDULED.value, _T.c.starts_at < until]
        if after is not None:
            cond.append(_T.c.starts_at > after)
        q = (sa.select(_T).where(*cond)
             .order_by(_T.c.starts_at, _T.c.id).limit(limit))
        return [_session(r) for r in self.c.execute(q)]

    def counts(self, start: datetime, end: datetime) -> list[tuple[str, str, str, str, int]]:
        """(county, hospital, site, status, sessions) of sessions set for ``start`` <= time < ``end``."""
        q = (sa.select(_T.c.county_code, _T.c.hospital_code, _T.c.site_code, _T.c.status, sa.func.count())
             .where(_T.c.starts_at >= start, _T.c.starts_at < end)
             .group_by(_T.c.county_code, _T.c.hospital_code, _T.c.site_code, _T.c.status))
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self.c.execute(q)]

    def forget_resident(self, resident_id: int, erased: str) -> None:
        """Erase what the sessions say about the resident (advice, plan, reasons); a session not yet held is
        cancelled, so no reminder about them goes out. The rows stay, anonymous, for the ledgers' counts.

        The sessions' messages (to staff and to the resident: they carry the need, the advice and the plan) are
        withdrawn if still queued and their text replaced by ``erased`` if sent."""
        from storage.tables import OutboxRow

        ids = [int(i) for i in self.c.execute(sa.select(_T.c.id).where(_T.c.resident_id == resident_id)).scalars()]
        outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
        # The sessions first: a reminder sweep holding one (its reminder queued, not yet committed) is waited for,
        # so the messages it queued are there to withdraw below; a sweep after this finds the session cancelled.
        self.c.execute(_T.update().where(_T.c.resident_id == resident_id,
                                         _T.c.status == SessionStatus.SCHEDULED.value)
                       .values(status=SessionStatus.CANCELLED.value, version=_T.c.version + 1))
        self.c.execute(_T.update().where(_T.c.resident_id == resident_id)
                       .values(advice=None, followup_plan=None, reason=None, version=_T.c.version + 1))
        for sid in ids:
            about = outbox.c.dedupe_key.startswith(f"remote:{sid}:", autoescape=True)
            self.c.execute(outbox.update().where(about, outbox.c.status == "pending").values(status="void"))
            self.c.execute(outbox.update().where(about).values(text=erased, buttons_json=None))

    def _flush_events(self, s: RemoteSession) -> None:
        from dataclasses import replace

        for e in s.events:
            self.uow.audit.append(e if e.entity_id == s.entity_id else replace(e, entity_id=s.entity_id))
        s.events.clear()
