"""The transactional outbox: messages are written with the change that caused them, a sender drains them.

A row's ``dedupe_key`` is unique, so enqueuing the same message twice (a re-run of a fan-out, a retried
handler) is harmless. Senders claim rows with a lease (``claimed_by``, ``lease_until``): a sender killed
mid-batch loses its claims when the lease runs out, and another sender (or the same one restarted) takes
them. On PostgreSQL the claim query uses ``FOR UPDATE SKIP LOCKED`` so concurrent senders never wait on or
take each other's rows; on SQLite every write transaction already starts with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlmodel import col, select

from storage.repositories.base import Repository, affected
from storage.tables import ChatAccountRow, OutboxRow, SubscriptionRow

PRIORITY = {"reply": 0, "bulk": 1}
_CLAIMED = ("id", "platform", "chat_id", "text", "buttons_json", "priority", "attempts", "account_id", "expires_at",
            "announcement_id")
Lane = Literal["reply", "bulk"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A claimed message, as the sender sees it."""

    id: int
    platform: str
    chat_id: str
    text: str
    buttons_json: str | None
    priority: int
    attempts: int
    account_id: int | None
    expires_at: datetime | None
    announcement_id: int | None = None  # the announcement this is a copy of (a platform may show it its own way)

    @property
    def lane(self) -> Lane:
        """'reply' (sent first) or 'bulk'."""
        return "reply" if self.priority == 0 else "bulk"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


class OutboxRepository(Repository):
    """Enqueue, claim and settle outbound messages."""

    # --- enqueue ----------------------------------------------------------------------------------------
    def enqueue(
        self,
        platform: str,
        chat_id: str,
        text: str,
        buttons_json: str | None,
        *,
        priority: Lane,
        dedupe_key: str,
        account_id: int | None,
        announcement_id: int | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Queue one message in the current transaction; False if ``dedupe_key`` was queued before.

        Args:
            platform: the channel's platform name (``telegram``, ``console`` …).
            chat_id: where to send it on that platform.
            text: the message (at most the platform's limit; split before enqueuing).
            buttons_json: JSON ``[[{"label", "data"}]]`` or None.
            priority: ``"reply"`` goes before ``"bulk"``.
            dedupe_key: unique per (announcement or cause, recipient, channel).
            account_id: the recipient's chat account, so a permanent failure can mark it blocked.
        """
        stmt = (
            self._insert(OutboxRow)
            .values(
                dedupe_key=dedupe_key[:160], platform=platform, chat_id=str(chat_id), account_id=account_id,
                announcement_id=announcement_id, priority=PRIORITY[priority], text=text, buttons_json=buttons_json,
                status="pending", attempts=0, next_attempt_at=None,
                expires_at=expires_at, created_at=now or _now(),
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(col(OutboxRow.id))
        )
        # RETURNING, not rowcount: rowcount of ON CONFLICT DO NOTHING is not reliable across drivers.
        return self.s.execute(stmt).first() is not None

    def enqueue_select(self, select_stmt: sa.Select, columns: list[str]) -> int:
        """Bulk enqueue from one INSERT … SELECT (fan-out); rows whose dedupe key exists are skipped."""
        stmt = (
            self._insert(OutboxRow)
            .from_select(columns, select_stmt)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(col(OutboxRow.id))
        )
        # Counted from RETURNING: rowcount of INSERT … SELECT … ON CONFLICT is -1 with some drivers.
        return len(self.s.execute(stmt).all())

    # --- claim ------------------------------------------------------------------------------------------
    def claim(
        self, worker: str, platforms: Iterable[str], now: datetime, *, limit: int = 50,
        lease: timedelta = timedelta(seconds=60), lane: Lane | None = None,
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` ready messages for ``worker`` (replies first); commit to make the claim stick."""
        platforms = list(platforms)
        if not platforms:
            return []
        n = now
        cond = [
            col(OutboxRow.status) == "pending",
            col(OutboxRow.platform).in_(platforms),
            sa.or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= n),
            sa.or_(col(OutboxRow.lease_until).is_(None), col(OutboxRow.lease_until) < n),
        ]
        if lane is not None:
            cond.append(col(OutboxRow.priority) == PRIORITY[lane])
        pick = select(col(OutboxRow.id)).where(*cond).order_by(col(OutboxRow.priority), col(OutboxRow.id)).limit(limit)
        if self._pg:
            ids = list(self.s.execute(pick.with_for_update(skip_locked=True)).scalars())
            if not ids:
                return []
            target = col(OutboxRow.id).in_(ids)
        else:
            target = col(OutboxRow.id).in_(pick.scalar_subquery())
        stmt = (
            sa.update(OutboxRow)
            .where(target)
            .values(claimed_by=worker, lease_until=now + lease)
            .returning(*(col(getattr(OutboxRow, name)) for name in _CLAIMED))
        )
        rows = [OutboxMessage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _aware(r[8]), r[9])
                for r in self.s.execute(stmt)]
        rows.sort(key=lambda m: (m.priority, m.id))
        return rows

    def release(self, ids: Iterable[int], worker: str) -> None:
        """Give back claims not worked on (a clean shutdown)."""
        ids = list(ids)
        if ids:
            self.s.execute(
                sa.update(OutboxRow)
                .where(col(OutboxRow.id).in_(ids), col(OutboxRow.claimed_by) == worker,
                       col(OutboxRow.status) == "pending")
                .values(claimed_by=None, lease_until=None)
            )

    def hold(self, message_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
        """Just before sending: renew ``worker``'s claim; False if the message was withdrawn or claimed by another.

        A sender keeps claimed copies in memory for a while; meanwhile the row may have been voided (the circuit
        was cancelled or moved), settled because the recipient blocked us, or taken over after a lapsed lease.
        The copy must then not go out.
        """
        res = self.s.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.id) == message_id, col(OutboxRow.status) == "pending",
                   col(OutboxRow.claimed_by) == worker)
            .values(lease_until=now + lease)
            .returning(col(OutboxRow.id))
        )
        return res.first() is not None

    # --- settle -----------------------------------------------------------------------------------------
    # Each takes the claiming ``worker``: a sender settles only rows it still holds (None: any, for tools).
    def _mine(self, message_id: int, worker: str | None) -> list[sa.ColumnElement[bool]]:
        cond = [col(OutboxRow.id) == message_id, col(OutboxRow.status) == "pending"]
        if worker is not None:
            cond.append(col(OutboxRow.claimed_by) == worker)
        return cond

    def mark_sent(self, message_id: int, now: datetime, worker: str | None = None) -> bool:
        """The channel accepted it: never send it again. False if it was settled already (a duplicate)."""
        res = self.s.execute(
            sa.update(OutboxRow)
            .where(*self._mine(message_id, worker))
            .values(status="sent", sent_at=now, attempts=col(OutboxRow.attempts) + 1, lease_until=None)
        )
        return bool(affected(res))

    def retry_at(self, message_id: int, when: datetime, error: str, *, count_attempt: bool = True,
                 worker: str | None = None) -> bool:
        """Try again at ``when`` (rate limited: the attempt is not counted; transient error: it is)."""
        values: dict = dict(next_attempt_at=when, last_error=error[:200], claimed_by=None, lease_until=None)
        if count_attempt:
            values["attempts"] = col(OutboxRow.attempts) + 1
        res = self.s.execute(sa.update(OutboxRow).where(*self._mine(message_id, worker)).values(**values))
        return bool(affected(res))

    def settle(self, message_id: int, status: str, error: str | None, worker: str | None = None) -> bool:
        """Final state other than sent: ``failed`` (out of attempts), ``permanent``, ``expired``, ``void``."""
        res = self.s.execute(
            sa.update(OutboxRow).where(*self._mine(message_id, worker))
            .values(status=status, last_error=(error or "")[:200] or None, lease_until=None,
                    attempts=col(OutboxRow.attempts) + (1 if status in ("failed", "permanent") else 0))
        )
        return bool(affected(res))

    def block_recipient(self, platform: str, chat_id: str, account_id: int | None) -> int:
        """The chat is gone (blocked us, not found): mark its account blocked and drop its subscriptions."""
        q = select(col(ChatAccountRow.id)).where(col(ChatAccountRow.platform) == platform,
                                                 col(ChatAccountRow.chat_id) == str(chat_id))
        ids = set(self.s.execute(q).scalars())
        if account_id is not None:
            ids.add(account_id)
        if not ids:
            return 0
        self.s.execute(sa.update(ChatAccountRow).where(col(ChatAccountRow.id).in_(ids)).values(blocked=True))
        self.s.execute(sa.delete(SubscriptionRow).where(col(SubscriptionRow.chat_account_id).in_(ids)))
        # Whatever else is queued for that chat would fail the same way.
        self.s.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.platform) == platform, col(OutboxRow.chat_id) == str(chat_id),
                   col(OutboxRow.status) == "pending")
            .values(status="permanent", last_error="recipient blocked")
        )
        return len(ids)

    def void_pending(self, announcement_ids: Iterable[int], reason: str) -> int:
        """Withdraw queued messages of these announcements (the circuit moved or was cancelled)."""
        ids = list(announcement_ids)
        if not ids:
            return 0
        res = self.s.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.announcement_id).in_(ids), col(OutboxRow.status) == "pending")
            .values(status="void", last_error=reason[:200])
        )
        return int(affected(res) or 0)

    def void_prefix(self, key_prefix: str, reason: str) -> int:
        """Withdraw queued messages whose dedupe key starts with ``key_prefix`` (a remote consultation's reminders,
        once it moved or was cancelled)."""
        res = self.s.execute(
            sa.update(OutboxRow)
            .where(col(OutboxRow.dedupe_key).startswith(key_prefix, autoescape=True),
                   col(OutboxRow.status) == "pending")
            .values(status="void", last_error=reason[:200])
        )
        return int(affected(res) or 0)

    # --- read -------------------------------------------------------------------------------------------
    def sent_since(self, platform: str, since: datetime) -> list[tuple[str, datetime]]:
        """(chat, when) of every message sent on ``platform`` since ``since``, oldest first: a sender starting up
        counts them against each chat's window instead of waiting a whole window for every chat."""
        q = (select(col(OutboxRow.chat_id), col(OutboxRow.sent_at))
             .where(col(OutboxRow.platform) == platform, col(OutboxRow.status) == "sent",
                    col(OutboxRow.sent_at) >= since)
             .order_by(col(OutboxRow.sent_at)))
        return [(str(c), at if at.tzinfo else at.replace(tzinfo=UTC)) for c, at in self.s.execute(q) if at is not None]

    def counts(self) -> dict[str, int]:
        """How many messages are in each status."""
        q = select(col(OutboxRow.status), sa.func.count()).group_by(col(OutboxRow.status))
        return {k: int(v) for k, v in self.s.execute(q)}

    def pending_count(self, platforms: Iterable[str] | None = None) -> int:
        """Messages not yet settled."""
        q = select(sa.func.count()).select_from(OutboxRow).where(col(OutboxRow.status) == "pending")
        if platforms is not None:
            q = q.where(col(OutboxRow.platform).in_(list(platforms)))
        return int(self.s.execute(q).scalar_one())

    def rows(self, *, announcement_id: int | None = None, status: str | None = None) -> list[OutboxRow]:
        """Stored rows, oldest first (for reports and tests)."""
        q = select(OutboxRow)
        if announcement_id is not None:
            q = q.where(col(OutboxRow.announcement_id) == announcement_id)
        if status is not None:
            q = q.where(col(OutboxRow.status) == status)
        rows = list(self.s.exec(q.order_by(col(OutboxRow.id))))
        for r in rows:  # plain records: readable after the unit of work ends
            self.s.expunge(r)
        return rows
