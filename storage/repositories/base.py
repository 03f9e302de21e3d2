"""The base every repository shares: its unit of work, the session, and the dialect's upsert-capable INSERT."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

import sqlalchemy as sa
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


# Keys per ``IN (…)`` list when rows are read by key: well under SQLite's and PostgreSQL's limits on parameters.
IN_CHUNK = 500


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class KeyedRows:
    """Writing a batch of rows to a table whose rows are known by a key (one column, or several), set-wise.

    What is stored under the batch's keys is read with one statement per few hundred keys and compared in
    Python; the rows that differ are written with one ``executemany`` for the new ones and one for the changed.
    The statements are built once, at import (SQLAlchemy's compiled cache finds them again).
    """

    def __init__(self, model: Any, key: Sequence[str], columns: Sequence[str]):
        self.model, self.key, self.columns = model, tuple(key), tuple(columns)
        table = model.__table__
        c = table.c
        keyed = c[key[0]] if len(key) == 1 else sa.tuple_(*(c[k] for k in key))
        self.select = sa.select(*(c[k] for k in key), *(c[k] for k in columns)).where(
            keyed.in_(sa.bindparam("keys", expanding=True))
        )
        self.insert = sa.insert(table)
        # The SET clause is made of the parameters' other names: the columns (``key_`` names never clash).
        self.update = sa.update(table).where(*(c[k] == sa.bindparam(f"key_{k}") for k in key))

    def write(self, connection: Any, rows: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Insert or update ``rows`` (each its key's columns and some of ``columns``), in order, as one at a time
        would: a row whose given columns equal what is stored (or what an earlier row of the batch gave) changes
        nothing. A column a row leaves out keeps its stored value (a new row gets None). True per changed row."""
        width = len(self.key)
        keys = list(dict.fromkeys(tuple(r[k] for k in self.key) for r in rows))
        state: dict[tuple, dict[str, Any]] = {}
        for part in chunks(keys):
            params = list(part) if width > 1 else [k[0] for k in part]
            for rec in connection.execute(self.select, {"keys": params}):
                state[tuple(rec[:width])] = dict(zip(self.columns, rec[width:], strict=True))
        new: dict[tuple, None] = {}
        changed: dict[tuple, None] = {}
        out = []
        for r in rows:
            key = tuple(r[k] for k in self.key)
            given = {c: r[c] for c in self.columns if c in r}
            current = state.get(key)
            if current is None:
                state[key] = {c: given.get(c) for c in self.columns}
                new[key] = None
                out.append(True)
            elif any(current[c] != v for c, v in given.items()):
                current.update(given)
                if key not in new:
                    changed[key] = None
                out.append(True)
            else:
                out.append(False)
        if new:
            connection.execute(self.insert, [{**dict(zip(self.key, k, strict=True)), **state[k]} for k in new])
        if changed:
            connection.execute(
                self.update,
                [{**{f"key_{n}": v for n, v in zip(self.key, k, strict=True)}, **state[k]} for k in changed],
            )
        return out


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

    def _written(self, *models: Any) -> None:
        """Core statements wrote these tables: objects the session holds of them are read again when next used."""
        self.uow.expire(*models)

    @property
    def _pg(self) -> bool:
        return self.uow.engine.dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return dialect_insert(self.uow.engine.dialect.name, table)
