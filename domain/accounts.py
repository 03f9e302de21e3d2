"""Chat accounts: who is behind a platform user, what they are doing right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.staff import Role


@dataclass(slots=True)
class ChatAccount:
    """One person on one chat platform, with their conversation step and draft (stored, not in memory)."""

    platform: str
    platform_user_id: str
    chat_id: str
    created_at: datetime
    display_name: str | None = None
    staff_id: int | None = None
    resident_id: int | None = None
    acting_role: Role | None = None
    step: str | None = None
    draft: dict[str, Any] = field(default_factory=dict)  # JSON, as stored
    draft_updated_at: datetime | None = None
    reminded_at: datetime | None = None
    blocked: bool = False
    id: int | None = None

    def start(self, step: str, now: datetime, **draft: object) -> None:
        """Begin a new multi-step flow, replacing any draft."""
        self.step, self.draft, self.draft_updated_at, self.reminded_at = step, dict(draft), now, None

    def advance(self, step: str, now: datetime, **updates: object) -> None:
        """Move to ``step`` keeping the draft, adding ``updates``."""
        self.step = step
        self.draft.update(updates)
        self.draft_updated_at, self.reminded_at = now, None

    def clear(self) -> None:
        """Back to a clean state: no step, no draft."""
        self.step, self.draft, self.draft_updated_at, self.reminded_at = None, {}, None, None
