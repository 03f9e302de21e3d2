"""What every update goes through before the router, as a chain of middlewares (aiogram's ``dispatcher/middlewares``).

A middleware is ``middleware(update, call_next) -> list[Outbound]``: it answers the update itself, or calls the rest
of the chain and may change what comes back. :func:`default_middlewares` declares the chain every transport uses,
outermost first:

1. :func:`answer_busy_on_errors`: a database outage or an unexpected exception becomes the polite "busy" answer,
   never a traceback to the user;
2. :class:`FloodGuard`: a burst from one user is answered once with a warning, then ignored, before any database
   work;
3. :func:`one_transaction`: one unit of work for everything below, which the router's end commits;
4. :func:`skip_replays`: an update id seen before (a platform's retry or replay) gets nothing and writes nothing;
5. :func:`private_chat_only`: a group chat gets only "请私聊我" and an audit entry, no flow runs.

Replays are skipped before groups are refused, so a group message redelivered is not refused (and audited) twice.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.orders import AuditEvent
from handlers.core import Middleware, Next, Outbound, Update
from handlers.texts import t
from storage.ports import UnitOfWork

log = logging.getLogger(__name__)


def answer_busy_on_errors(update: Update, call_next: Next) -> list[Outbound]:
    """Answer "busy" when the rest of the chain fails: a database fault is a warning, anything else is logged whole.

    Whatever the update wrote is rolled back with its unit of work, so the user may simply send it again.
    """
    inbound = update.inbound
    try:
        return call_next(update)
    except (OperationalError, PoolTimeout, DBAPIError) as e:
        log.warning("database unavailable while handling an update: %s", type(e).__name__)
    except Exception:
        log.exception("unexpected error while handling an update from %s", inbound.platform)
    return [Outbound(inbound.platform, inbound.chat_id, t("busy"))]


class FloodGuard:
    """Per-user sliding window: more than ``limit`` messages in ``window`` seconds is a flood.

    Kept in process memory: a flood is a burst, and a burst lands on one worker. As a middleware it answers the
    first update over the limit with a warning and drops the rest, before any database work.
    """

    def __init__(self, limit: int = 8, window: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._warned: dict[tuple[str, str], float] = {}

    def check(self, platform: str, user_id: str) -> str:
        """'ok' to handle, 'warn' to answer once politely, 'drop' to ignore silently."""
        key = (platform, user_id)
        now = self.clock()
        q = self._hits[key]
        while q and now - q[0] > self.window:
            q.popleft()
        q.append(now)
        if len(q) <= self.limit:
            return "ok"
        if now - self._warned.get(key, -1e9) > self.window:
            self._warned[key] = now
            return "warn"
        return "drop"

    def __call__(self, update: Update, call_next: Next) -> list[Outbound]:
        """Pass the update on unless its sender floods."""
        inbound = update.inbound
        verdict = self.check(inbound.platform, inbound.user_id)
        if verdict == "drop":
            return []
        if verdict == "warn":
            return [Outbound(inbound.platform, inbound.chat_id, t("flood"))]
        return call_next(update)


def one_transaction(update: Update, call_next: Next) -> list[Outbound]:
    """Open the update's one unit of work around the rest of the chain; whatever is not committed rolls back."""
    with update.unit_of_work():
        return call_next(update)


def skip_replays(update: Update, call_next: Next) -> list[Outbound]:
    """Record the platform's update id in the update's transaction; one seen before gets nothing.

    The record commits with the update's answer (a failed update may be redelivered and is then handled), and is
    written again after a refusal's rollback (a refused update stays handled).
    """
    inbound = update.inbound
    if not inbound.update_id:
        return call_next(update)
    platform, update_id = inbound.platform, inbound.update_id
    if not update.uow.chat.first_time(platform, update_id, update.now):
        return []  # a retry or replay of an update we already handled

    def remember_again(uow: UnitOfWork) -> None:
        if not uow.chat.first_time(platform, update_id, update.now):
            # Another worker handled it between our rollback and now: answering too would answer twice.
            raise RuntimeError(f"update {platform}:{update_id} was handled elsewhere while it was refused here")

    update.after_rollback(remember_again)
    return call_next(update)


def private_chat_only(update: Update, call_next: Next) -> list[Outbound]:
    """A group (or any chat that is not one-to-one) gets only "请私聊我", before any flow runs.

    Personal data goes only to the private chat of the person entitled to it, so no handler runs here: no
    command, no button, no step. The account is neither created nor touched (a group's chat id must never
    become where someone's notifications go). The refusal is audited without the message's text.
    """
    inbound = update.inbound
    if inbound.is_private:
        return call_next(update)
    uow = update.uow
    acc = uow.chat.account(inbound.platform, inbound.user_id)
    kind = "button" if inbound.button is not None else (
        "command" if (inbound.text or "").lstrip().startswith("/") else "text")
    uow.audit.append(
        AuditEvent(
            actor_staff_id=acc.staff_id if acc else None,
            actor_role="staff" if acc and acc.staff_id else "resident",
            action="refused",
            entity="chat",
            entity_id=inbound.chat_id[:64],
            from_status=None,
            to_status=None,
            reason="not_private_chat",
            at=update.now,
            detail={"account": acc.id if acc else None, "platform": inbound.platform,
                    "chat_type": inbound.chat_type[:32], "kind": kind},
        )
    )
    uow.commit()
    return [Outbound(inbound.platform, inbound.chat_id, t("private_only"))]


def default_middlewares(flood: FloodGuard) -> list[Middleware]:
    """The chain every transport uses, outermost first (why this order: the module's docstring)."""
    return [answer_busy_on_errors, flood, one_transaction, skip_replays, private_chat_only]
