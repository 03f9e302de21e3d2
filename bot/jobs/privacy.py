"""Privacy jobs: retention of free text and of chat leftovers, and the access audit of a resident's data."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.orders import AuditEvent

CHINA = ZoneInfo("Asia/Shanghai")
PURGE_BATCH = 5000  # rows per transaction when purging chat leftovers (about 30 ms each on SQLite)


def purge_expired_free_text(app, now: datetime) -> int:
    """Erase need texts and notes of orders closed longer ago than the retention period; returns the count."""
    cutoff = now - timedelta(days=app.settings.retention_days)
    with app.uow() as uow:
        n = uow.orders.purge_free_text(cutoff)
        if n:
            uow.audit.append(AuditEvent(None, "system", "retention_purge", "order", "*", None, None, None, now,
                                        {"orders": n, "closed_before": cutoff.isoformat()}))
        uow.commit()
    return n


def purge_chat_leftovers(app, now: datetime) -> tuple[int, int]:
    """Delete buttons past their lifetime (their payloads name orders and residents) and update ids past any
    platform's redelivery window; returns (buttons, update ids). Without this both tables grow with every update.

    In batches of ``PURGE_BATCH`` rows, one short transaction each: the first run on an existing installation
    finds every button ever made, and one transaction deleting a million rows held SQLite's write lock for 6 s,
    longer than a chat update waits before it is told the system is busy.
    """
    from handlers.core import BUTTON_TTL, UPDATE_ID_TTL

    def in_batches(purge) -> int:
        total = 0
        while True:
            with app.uow() as uow:
                n = purge(uow)
                uow.commit()
            total += n
            if n < PURGE_BATCH:
                return total

    # A prompt (the buttons' numbering, see handlers.prompts) is kept a button's lifetime past its own expiry, to
    # explain a late reply; it counts with the buttons. So does a message held for an Official Account follower who
    # has not written since (its buttons would be dead by then), and a survey import (its rows hold health data).
    return (in_batches(lambda uow: uow.chat.purge_buttons(now - BUTTON_TTL, PURGE_BATCH))
            + in_batches(lambda uow: uow.prompts.purge(now - BUTTON_TTL, PURGE_BATCH))
            + in_batches(lambda uow: uow.wechat.purge_held(now - BUTTON_TTL, PURGE_BATCH))
            + in_batches(lambda uow: uow.surveys.purge(now - BUTTON_TTL, PURGE_BATCH)),
            in_batches(lambda uow: uow.chat.purge_processed_updates(now - UPDATE_ID_TTL, PURGE_BATCH)))


def access_report(app, resident_id: int) -> list[str]:
    """Who read or changed a resident's data, oldest first, one line each (names of staff, China time)."""
    lines = []
    with app.uow() as uow:
        events = uow.audit.for_resident(resident_id)
        names: dict[int, str] = {}
        accounts: dict[int, str] = {}

        def account(account_id: object) -> str:
            # Whoever holds a resident's link acts as "the resident": name the chat account that did it.
            if not isinstance(account_id, int):
                return "?"
            if account_id not in accounts:
                acc = uow.chat.account_by_id(account_id)
                accounts[account_id] = (f"{acc.platform}:{acc.platform_user_id}（账号#{account_id}）" if acc
                                        else f"账号#{account_id}")
            return accounts[account_id]

        for e in events:
            detail = e.detail if isinstance(e.detail, dict) else {}
            if e.actor_staff_id and e.actor_staff_id not in names:
                st = uow.staff.get(e.actor_staff_id)
                names[e.actor_staff_id] = f"{st.name}（{st.code}）" if st else str(e.actor_staff_id)
            if e.actor_staff_id:
                who = names[e.actor_staff_id]
            elif detail.get("account") is not None:
                who = "聊天账号 " + account(detail.get("account"))
            else:
                who = "系统"
            moved = e.to_status and e.from_status != e.to_status
            what = e.action + (f" {e.from_status}→{e.to_status}" if moved else "")
            purpose = detail.get("purpose")
            asked = detail.get("requested_by_account")
            lines.append(f"{e.at.astimezone(CHINA):%Y-%m-%d %H:%M}  {who}  {e.actor_role}  {what}  "
                         f"{e.entity}:{e.entity_id}" + (f"  用途:{purpose}" if purpose else "")
                         + (f"  申请账号:{account(asked)}" if asked is not None else ""))
    return lines
