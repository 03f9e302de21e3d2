"""Prepared statements: the few Core statements every chat update runs, compiled once and run on the driver.

SQLAlchemy's per-execution work (an execution context, parameter processing, events, a result object) costs
several times what SQLite itself spends on a one-row SELECT; on the chat hot path it was half of an update's
time. A ``Prepared`` statement is compiled by SQLAlchemy once per dialect and parameter shape, and remembers
where each positional or named parameter comes from and which of SQLAlchemy's own bind and result processors
apply; executing it is then one driver call. Values go in and come out exactly as through Core: the same
compiled SQL, the same processors. Driver errors are raised as SQLAlchemy's ``DBAPIError`` subclasses, so
callers catch the same exceptions as before.

Only statements written for it qualify: no Python-side column defaults (the caller passes every value), and
``IN`` lists must be declared as expanding by name. Anything else stays on ``Connection.execute``.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class _Slot:
    """Stands for a caller's parameter while the parameter order is worked out."""

    __slots__ = ("index", "key")

    def __init__(self, key: str, index: int | None = None):
        self.key, self.index = key, index


class _Plan:
    """One compiled form: the SQL text, how to build the driver's parameters, how to read the rows."""

    __slots__ = (
        "_result_types",
        "columns",
        "dialect",
        "getters",
        "names",
        "positional",
        "result_processors",
        "row",
        "sql",
    )

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str], lengths: Mapping[str, int],
                 column_keys: Sequence[str] | None, many: bool):
        compiled = statement.compile(dialect=dialect, column_keys=column_keys, for_executemany=many)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise TypeError("a prepared statement cannot fill Python-side column defaults; pass every value")
        lengths_needed = {b.key for b in compiled.post_compile_params}
        if compiled.literal_execute_params or not lengths_needed <= set(lengths):
            raise TypeError("a prepared statement cannot render parameters into its SQL; declare IN lists expanding")
        for bind in compiled.binds.values():
            # A named parameter's default would be frozen into the plan (which is not keyed by the caller's
            # keys), a callable evaluated once: pass named values every time. Anonymous binds are the statement's
            # own literals (``.values(value=1)``).
            if bind.callable is not None or (bind.key not in keys and not bind.key.startswith("%(")):
                raise TypeError(f"a prepared statement needs every named parameter passed: {bind.key}")
        sample: dict[str, Any] = {
            k: [_Slot(k, i) for i in range(lengths[k])] if k in lengths else _Slot(k) for k in keys
        }
        state = compiled.construct_expanded_state(sample, escape_names=False)
        self.dialect = dialect
        self.sql = state.statement
        self.positional = compiled.positional
        names = list(state.positiontup) if compiled.positional and state.positiontup is not None \
            else list(state.parameters)
        processors = {**compiled._bind_processors, **state.processors}  # the statement's own, then the IN lists
        escaped = compiled.escaped_bind_names or {}
        # Each driver parameter: (key, index into an IN list or None, constant if fixed in the statement, processor).
        getters: list[tuple[str | None, int | None, Any, Any]] = []
        for name in names:
            value = state.parameters[name]
            proc = processors.get(name)
            if isinstance(value, _Slot):
                getters.append((value.key, value.index, None, proc))
            else:
                getters.append((None, None, proc(value) if proc is not None and value is not None else value, None))
        self.getters = tuple(getters)
        self.names = tuple(escaped.get(n, n) for n in names)
        self.columns = tuple(c.keyname for c in compiled._result_columns)
        self._result_types = tuple(c.type for c in compiled._result_columns)
        self.result_processors: tuple | None = None  # from the first result's column types (see ``Prepared``)
        self.row: Any = namedtuple("Row", self.columns, rename=True) if self.columns else None

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = []
        for key, index, constant, proc in self.getters:
            if key is None:
                values.append(constant)
                continue
            if index is None:
                value = params[key]
            else:  # the IN list, padded with its last item up to the plan's length (``Prepared.plan``)
                items = params[key]
                value = items[index] if index < len(items) else items[-1]
            values.append(proc(value) if proc is not None and value is not None else value)
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))

    def processors_for(self, description: Any) -> tuple:
        if self.result_processors is None:
            self.result_processors = tuple(
                t._cached_result_processor(self.dialect, d[1]) for t, d in zip(self._result_types, description,
                                                                                strict=True)
            )
        return self.result_processors


def _bucket(n: int) -> int:
    """The IN-list length a plan is compiled for: the next power of two (an empty list is its own case)."""
    return 0 if n == 0 else 1 << (n - 1).bit_length()


class Prepared:
    """A Core statement run on the driver's cursor inside the unit of work's transaction.

    ``expanding`` names the ``IN``-list parameters (``bindparam(name, expanding=True)``); the SQL is compiled
    once per power-of-two list length, a shorter list padded with its last item (``x IN (a, b, b)`` is
    ``x IN (a, b)``), so a statement has a handful of plans, not one per length. ``columns_from_params`` is for
    an INSERT without ``.values()``: it is compiled for the columns the caller passes.
    """

    def __init__(self, statement: Any, *, expanding: Sequence[str] = (), columns_from_params: bool = False):
        self.statement = statement
        self.expanding = tuple(expanding)
        self.columns_from_params = columns_from_params
        self._plans: dict[tuple, _Plan] = {}
        self._lock = threading.Lock()

    def plan(self, dialect: Dialect, params: Mapping[str, Any], many: bool) -> _Plan:
        """The compiled form for this dialect and parameter shape (compiled on first use)."""
        # The kind of dialect, not the object: engines come and go (tests make hundreds), their plans are the same.
        shape: tuple = (dialect.name, dialect.driver, dialect.paramstyle, dialect.server_version_info, many)
        if self.expanding:
            shape += tuple(_bucket(len(params[k])) for k in self.expanding)
        if self.columns_from_params:
            shape += tuple(params)
        plan = self._plans.get(shape)
        if plan is None:
            with self._lock:
                plan = self._plans.get(shape)
                if plan is None:
                    lengths = {k: _bucket(len(params[k])) for k in self.expanding}
                    plan = _Plan(self.statement, dialect, tuple(params), lengths,
                                 tuple(params) if self.columns_from_params else None, many)
                    self._plans[shape] = plan
        return plan

    def run(self, driver: Any, dialect: Dialect, params: Mapping[str, Any] | list[Mapping[str, Any]] | None = None
            ) -> Rows:
        """Execute on ``driver`` (a DB-API connection, in a transaction) with ``params``; a list of them runs the
        statement once per item, as ``executemany``. The unit of work calls this (``SqlUnitOfWork.run``)."""
        batch = params if isinstance(params, list) else None
        first: Mapping[str, Any] = (batch[0] if batch else {}) if batch is not None else (params or {})  # type: ignore[assignment]
        if batch is not None and any(p.keys() != first.keys() for p in batch):
            raise TypeError("every row of a prepared executemany needs the same keys")
        plan = self.plan(dialect, first, batch is not None)
        cursor = driver.cursor()
        try:
            if batch is not None:
                cursor.executemany(plan.sql, [plan.parameters(p) for p in batch])
            else:
                cursor.execute(plan.sql, plan.parameters(first))
            description = cursor.description
            raw = cursor.fetchall() if description is not None else []
            rowcount = cursor.rowcount
        except dialect.loaded_dbapi.Error as e:
            raise sa.exc.DBAPIError.instance(plan.sql, None, e, dialect.loaded_dbapi.Error, hide_parameters=True,
                                             dialect=dialect, ismulti=batch is not None) from e
        finally:
            cursor.close()
        if description is None or plan.row is None:
            return Rows([], rowcount)
        procs = plan.processors_for(description)
        make = plan.row._make
        if any(p is not None for p in procs):
            rows = [make([v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True)])
                    for r in raw]
        else:
            rows = [make(r) for r in raw]
        return Rows(rows, rowcount)


class Rows:
    """A prepared statement's result: the few ways the repositories read one."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int):
        self._rows, self.rowcount = rows, rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise sa.exc.NoResultFound("no row") if not self._rows else sa.exc.MultipleResultsFound("several rows")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list[Any]:
        return [r[0] for r in self._rows]
