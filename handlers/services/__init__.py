"""Each use case written once: chat handlers, the command line and the dashboard all call these.

A service takes a unit of work, an ``Actor`` and ``now`` (plus its own arguments), does the use case (loading,
authorising, applying the domain's rules, saving, auditing) and returns what happened, including the ``Notice``
s for other people. It never commits and never talks to a chat: the caller owns the transaction and decides how
notices travel (chat answers its own platform at once; the command line queues everything in the outbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.accounts import ChatAccount
from domain.orders import AuditEvent
from domain.permissions import Jurisdiction
from domain.staff import Role, Staff
from storage.ports import UnitOfWork

CHINA = ZoneInfo("Asia/Shanghai")


def today_of(now: datetime) -> date:
    """The date in Sanming at ``now``."""
    return now.astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who runs a use case: a member of staff acting in one role, within the jurisdiction as it stands."""

    staff: Staff
    role: Role
    jurisdiction: Jurisdiction
    origin: Mapping[str, object] = field(default_factory=dict)  # audited with each act: chat account, or "cli"

    @property
    def staff_id(self) -> int:
        """The member of staff's id (an actor is always a stored member of staff)."""
        assert self.staff.id is not None
        return self.staff.id

    def audit(self, uow: UnitOfWork, now: datetime, action: str, entity: str, entity_id: str, *,
              reason: str | None = None, detail: Mapping[str, object] | None = None) -> None:
        """Append an audit event for something this actor did or tried."""
        uow.audit.append(AuditEvent(
            actor_staff_id=self.staff.id, actor_role=self.role.value, action=action, entity=entity,
            entity_id=entity_id, from_status=None, to_status=None, reason=reason, at=now,
            detail={**self.origin, **(detail or {})},
        ))


@dataclass(frozen=True, slots=True)
class Notice:
    """A message a use case wants one chat account to receive."""

    account: ChatAccount
    text: str
    key: str  # unique per event and recipient: the outbox's dedupe key, so a re-run tells nobody twice
    personal: bool = False  # a resident's personal notice: always queued, never answered inline
    queued: bool = False  # a staff notice that goes through the outbox even in chat (an expert's, see services.experts)


def private_chat_of(acc: ChatAccount) -> str:
    """Where a notification to this account goes: the person's private chat, addressed by their own user id.

    The stored chat id is only ever set from a private chat, but an account stored before that rule may still
    hold a group's id: a notification must never follow it there.
    """
    return acc.platform_user_id


def queue(uow: UnitOfWork, notices: Iterable[Notice], now: datetime) -> int:
    """Put notices in the outbox (in the caller's transaction); returns how many were new."""
    queued = 0
    for n in notices:
        if n.account.blocked:
            continue
        queued += uow.outbox.enqueue(n.account.platform, private_chat_of(n.account), n.text, None,
                                     priority="reply", dedupe_key=n.key, account_id=n.account.id, now=now)
    return queued
