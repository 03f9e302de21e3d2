"""The unit of work: one transaction, and the repositories that work inside it (``storage.repositories``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from storage.crypto import FieldCipher
from storage.db import checkpoint_wal
from storage.repositories.alerts import EmergencyAlertRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.base import dialect_insert
from storage.repositories.catalogue import CatalogueRepository
from storage.repositories.chat import ChatRepository
from storage.repositories.circuits import CircuitRepository
from storage.repositories.followups import FollowupRepository
from storage.repositories.ledgers import LedgerRepository
from storage.repositories.links import LinkRepository
from storage.repositories.orders import OrderRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.prompts import PromptRepository
from storage.repositories.reference import ReferenceRepository
from storage.repositories.referrals import ReferralRepository
from storage.repositories.remote import RemoteRepository
from storage.repositories.residents import ResidentRepository
from storage.repositories.schedule import ScheduleRepository
from storage.repositories.send_budget import SendBudgetRepository
from storage.repositories.sms import SmsRepository
from storage.repositories.staff import StaffRepository
from storage.repositories.survey import SurveyRepository
from storage.repositories.wechat import WeChatRepository
from storage.tables import (
    CounterRow,
)


@functools.cache
def _next_value(dialect_name: str) -> Any:
    """Increment a named counter, creating it at 1, and return the new value."""
    return (
        dialect_insert(dialect_name, CounterRow)
        .values(name=sa.bindparam("name"), value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": col(CounterRow.value) + 1})
        .returning(col(CounterRow.value))
    )



class SqlUnitOfWork:
    """One transaction: ``with uow: ...; uow.commit()``. Leaving without commit rolls back."""

    def __init__(self, engine: Engine, cipher: FieldCipher):
        self.engine = engine
        self.cipher = cipher
        self.committed = False

    def __enter__(self) -> SqlUnitOfWork:
        self._connection: Connection | None = None
        self._session: Session | None = None
        self.committed = False
        self._after_commit: list[Callable[[], None]] = []
        self.reference_version_seen: int | None = None
        self.reference_changed = False  # this unit of work changed staff or reference data (not yet committed)
        for name in _REPOSITORIES:  # fresh repositories for every use, made when first asked for (see below)
            self.__dict__.pop(name, None)
        return self

    # The repositories, made on first use: a chat update touches three or four of the fifteen.
    @functools.cached_property
    def reference(self) -> ReferenceRepository:
        return ReferenceRepository(self)

    @functools.cached_property
    def staff(self) -> StaffRepository:
        return StaffRepository(self)

    @functools.cached_property
    def residents(self) -> ResidentRepository:
        return ResidentRepository(self)

    @functools.cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self)

    @functools.cached_property
    def circuits(self) -> CircuitRepository:
        return CircuitRepository(self)

    @functools.cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self)

    @functools.cached_property
    def chat(self) -> ChatRepository:
        return ChatRepository(self)

    @functools.cached_property
    def prompts(self) -> PromptRepository:
        return PromptRepository(self)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self)

    @functools.cached_property
    def schedule(self) -> ScheduleRepository:
        return ScheduleRepository(self)

    @functools.cached_property
    def alerts(self) -> EmergencyAlertRepository:
        return EmergencyAlertRepository(self)

    @functools.cached_property
    def links(self) -> LinkRepository:
        return LinkRepository(self)

    @functools.cached_property
    def send_budget(self) -> SendBudgetRepository:
        return SendBudgetRepository(self)

    @functools.cached_property
    def ledgers(self) -> LedgerRepository:
        return LedgerRepository(self)

    @functools.cached_property
    def wechat(self) -> WeChatRepository:
        return WeChatRepository(self)

    @functools.cached_property
    def sms(self) -> SmsRepository:
        return SmsRepository(self)

    @functools.cached_property
    def catalogue(self) -> CatalogueRepository:
        return CatalogueRepository(self)

    @functools.cached_property
    def remote(self) -> RemoteRepository:
        return RemoteRepository(self)

    @functools.cached_property
    def referrals(self) -> ReferralRepository:
        return ReferralRepository(self)

    @functools.cached_property
    def followups(self) -> FollowupRepository:
        return FollowupRepository(self)

    @functools.cached_property
    def surveys(self) -> SurveyRepository:
        return SurveyRepository(self)

    @property
    def connection(self) -> Connection:
        """The unit of work's connection (checked out on first use); its transaction begins with the first
        statement (BEGIN IMMEDIATE on SQLite, see ``storage.db``)."""
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    @property
    def session(self) -> Session:
        """An ORM session on the same connection and transaction (created on first use)."""
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False,
                                    join_transaction_mode="control_fully")
        return self._session

    def flush(self) -> None:
        """Write the ORM session's pending changes (if there is a session), so Core statements come after them."""
        if self._session is not None:
            self._session.flush()

    def expire(self, *models: Any) -> None:
        """Forget the session's copies of rows of these tables (Core statements changed them underneath)."""
        if self._session is not None:
            for obj in list(self._session.identity_map.values()):
                if isinstance(obj, models):
                    self._session.expire(obj)

    def __exit__(self, *exc) -> None:
        try:
            if self._session is not None:
                if not self.committed:
                    self._session.rollback()
                self._session.close()
        finally:
            if self._connection is not None:
                self._connection.close()  # back to the pool, which rolls back whatever was left open

    def commit(self) -> None:
        """Make everything done in this unit of work permanent, atomically."""
        if "chat" in self.__dict__:  # a repository never asked for has nothing to write
            self.chat.write_reply_prompts()
            self.chat.write_buttons()
        if "audit" in self.__dict__:
            self.audit.write()
        if self._session is not None:
            self._session.commit()
        self._end("commit")
        self.committed = True
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once this unit of work has committed (never after a rollback)."""
        self._after_commit.append(hook)

    def checkpoint_after_commit(self) -> None:
        """After the commit, copy SQLite's WAL into the database file and truncate it to zero bytes.

        An erasure is only on disk in the database file, over the old rows (``secure_delete``): until the WAL is
        checkpointed, the old pages with the erased data stay in ``-wal``. PostgreSQL needs nothing here.
        """
        if self.engine.dialect.name == "sqlite":
            self.after_commit(lambda: checkpoint_wal(self.engine))

    def rollback(self) -> None:
        """Discard everything done in this unit of work."""
        if self._session is not None:
            self._session.rollback()
        self._end("rollback")
        self._after_commit.clear()
        self.chat.forget_reads()
        if "orders" in self.__dict__:
            self.orders.forget_reads()
        self.audit.discard()
        self.reference_version_seen = None
        self.reference_changed = False

    def _end(self, how: str) -> None:
        """Commit or roll back the connection's transaction, if the session has not ended it already.

        Core statements after a session's rollback run in a transaction the session has not joined, so the
        connection is asked too.
        """
        if self._connection is not None and self._connection.in_transaction():
            getattr(self._connection, how)()

    def next_value(self, name: str) -> int:
        """Atomically increment the named counter and return its new value."""
        self.flush()
        if name == "reference_version":
            self.reference_changed = True
        return int(self.connection.execute(_next_value(self.engine.dialect.name), {"name": name}).scalar_one())


_REPOSITORIES = tuple(name for name, v in vars(SqlUnitOfWork).items() if isinstance(v, functools.cached_property))

SqlUnitOfWorkFactory = Callable[[], SqlUnitOfWork]


def uow_factory(engine: Engine, cipher: FieldCipher) -> SqlUnitOfWorkFactory:
    """A callable that opens a fresh unit of work on ``engine``."""
    return lambda: SqlUnitOfWork(engine, cipher)


if TYPE_CHECKING:
    from storage.ports import UnitOfWork

    def _is_a_unit_of_work(uow: SqlUnitOfWork) -> UnitOfWork:
        """Never called: mypy proves here that the SQL unit of work is the one the handlers are typed against."""
        return uow
