"""The shared send budget: one row per platform and bot token (see ``storage.repositories.send_budget``)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["SendBudgetRow"]


class SendBudgetRow(SQLModel, table=True):
    """When the next send slot of one bot token is free, for every process sending on it."""

    __tablename__ = "send_budget"
    # "telegram:" and a hash of the token, never the token itself.
    key: str = Field(primary_key=True, max_length=64)
    next_at: float = Field(default=0.0)  # Unix time in seconds: slots before it are handed out already
