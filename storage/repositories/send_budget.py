"""Handing out send slots of one bot token to every process that sends on it.

The row holds the instant the next slot is free; a process takes ``count`` slots at once, ``spacing`` apart,
in one short transaction: the row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite every write
transaction begins with ``BEGIN IMMEDIATE``), so two processes never get the same slot.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

_ENSURE = sa.text("INSERT INTO send_budget (key, next_at) VALUES (:key, 0) ON CONFLICT (key) DO NOTHING")
_UPDATE = sa.text("UPDATE send_budget SET next_at = :next_at WHERE key = :key")


class SendBudgetRepository:
    """Slots of the shared send budgets."""

    def __init__(self, uow: Any):
        self.uow = uow

    def take(self, key: str, count: int, spacing: float, now: float) -> float:
        """Reserve ``count`` slots ``spacing`` seconds apart, the first no earlier than ``now``; returns its time.

        Args:
            key: the budget (platform and a hash of the token).
            count: how many slots to take.
            spacing: seconds between slots (one over the rate).
            now: Unix time of the caller.

        Returns:
            The Unix time of the first slot; the others follow every ``spacing`` seconds.
        """
        conn = self.uow.connection
        conn.execute(_ENSURE, {"key": key})
        select = sa.text("SELECT next_at FROM send_budget WHERE key = :key"
                         + (" FOR UPDATE" if conn.dialect.name == "postgresql" else ""))
        next_at = float(conn.execute(select, {"key": key}).scalar_one())
        start = max(now, next_at)
        conn.execute(_UPDATE, {"key": key, "next_at": start + count * spacing})
        return start
