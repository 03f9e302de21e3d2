"""The base every repository shares: its unit of work, the session, and the dialect's upsert-capable INSERT."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlmodel import Session, SQLModel

M = TypeVar("M", bound=SQLModel)


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the backend in use (SQLite or PostgreSQL)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def as_model(model: type[M], row: Any) -> M | None:
    """A Core row as the table's model object (detached: changing it changes nothing stored), or None."""
    return None if row is None else model(**row._mapping)


def affected(result: Any) -> int:
    """Rows an UPDATE/DELETE/INSERT changed (the session types it as a plain ``Result``)."""
    return int(cast(CursorResult, result).rowcount or 0)


class Repository:
    """A repository lives inside one unit of work and uses its session."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def s(self) -> Session:
        """The unit of work's session."""
        return self.uow.session

    @property
    def c(self) -> Connection:
        """The transaction's SQLAlchemy connection, for Core statements built on the spot.

        Core skips the ORM's per-statement work (a third of the cost of a small SELECT); statements built once,
        at import, are found in SQLAlchemy's compiled cache without being walked again. The ORM's pending changes
        are flushed first, so what Core reads or writes comes after them, as written.
        """
        self.uow.flush()
        return self.uow.connection

    @property
    def _pg(self) -> bool:
        return self.uow.engine.dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return dialect_insert(self.uow.engine.dialect.name, table)
