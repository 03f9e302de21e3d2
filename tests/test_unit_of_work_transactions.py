"""The unit of work's transaction: typed values in and out, one transaction for Core and the ORM, SQLAlchemy's
errors without residents' data in them, lost connections not reused. Both backends."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from domain.orders import OrderStatus
from storage.tables import ButtonRow, OrderRow, ProcessedUpdateRow
from tests.conftest import FIXED_NOW
from tests.test_storage_contract import _new_order

_ORDERS = OrderRow.__table__
_BUTTONS = ButtonRow.__table__
_BY_STATUS = sa.select(_ORDERS).where(_ORDERS.c.status.in_(sa.bindparam("statuses", expanding=True))).order_by(
    _ORDERS.c.id
)


def test_orders_come_back_typed_for_any_list_of_statuses(seeded_uow):
    with seeded_uow() as uow:
        first = _new_order(uow)
        second = _new_order(uow, "眼睛花，看不清字")
        uow.connection.execute(_ORDERS.update().where(_ORDERS.c.id == second.id).values(status="rejected"))
        for statuses, expected in (([], []), ([OrderStatus.SUBMITTED], [first.id]),
                                   ([OrderStatus.REJECTED, OrderStatus.SUBMITTED], [first.id, second.id]),
                                   (list(OrderStatus), [first.id, second.id])):
            assert [o.id for o in uow.orders.list(statuses=statuses)] == expected, statuses
        # Typed values come back typed: an aware datetime, not the stored text.
        row = uow.connection.execute(_BY_STATUS, {"statuses": ["submitted"]}).one()
        assert row.created_at == first.created_at and row.created_at.tzinfo is not None


def test_values_are_written_as_core_writes_them(seeded_uow):
    """A timestamp from another time zone is stored as the same instant in UTC, through a repository as through
    a statement written on the spot (on SQLite, in the same text), and a naive one is refused."""
    shanghai = FIXED_NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    processed = ProcessedUpdateRow.__table__
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "repository", shanghai)
        uow.connection.execute(processed.insert().values(platform="test", update_id="core", at=shanghai))
        stored = dict(uow.connection.execute(sa.select(processed.c.update_id, processed.c.at)).all())
        assert stored["repository"] == stored["core"] == FIXED_NOW
        if uow.engine.dialect.name == "sqlite":
            text = dict(uow.connection.exec_driver_sql("SELECT update_id, at FROM processed_update").all())
            assert text["repository"] == text["core"]
        with pytest.raises(sa.exc.StatementError, match="naive"):
            uow.chat.first_time("test", "naive", FIXED_NOW.replace(tzinfo=None))


def test_a_write_is_part_of_the_transaction_and_undone_by_rollback(seeded_uow):
    """The first statement of a unit of work begins its transaction (BEGIN IMMEDIATE on SQLite): a write must
    never be committed on its own by the driver."""
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "u-1", FIXED_NOW)
        uow.rollback()
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "u-1", FIXED_NOW)  # the rolled-back one left nothing behind
        uow.commit()
    with seeded_uow() as uow:
        assert not uow.chat.first_time("test", "u-1", FIXED_NOW)


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_core_and_orm_work_share_one_transaction(seeded_uow, end):
    """Repositories' Core statements and the ORM session share the unit of work's transaction, in either order,
    and one commit or rollback covers all of it."""
    processed = ProcessedUpdateRow.__table__
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "repository-1", FIXED_NOW)  # before the session exists
        uow.connection.execute(processed.insert().values(platform="test", update_id="core", at=FIXED_NOW))
        uow.session.add(ProcessedUpdateRow(platform="test", update_id="orm", at=FIXED_NOW))
        assert uow.chat.first_time("test", "repository-2", FIXED_NOW)  # after the session's write
        getattr(uow, end)()
    with seeded_uow() as uow:
        stored = set(uow.connection.execute(sa.select(processed.c.update_id)).scalars())
    assert stored == ({"repository-1", "core", "orm", "repository-2"} if end == "commit" else set())


def test_driver_errors_arrive_as_sqlalchemy_errors_without_the_values(seeded_uow):
    """Callers catch SQLAlchemy's exceptions (the busy reply depends on it), and an error that reaches a log must
    not carry what a resident said."""
    insert = _BUTTONS.insert()
    row = {"token": "tok-1", "chat_account_id": 1, "action": "noop", "payload": '{"need": "心口疼"}',
           "created_at": FIXED_NOW}
    with seeded_uow() as uow:
        account = uow.chat.get_or_create("test", "u1", "u1", None, FIXED_NOW)
        row["chat_account_id"] = account.id
        uow.connection.execute(insert, [row])
        with pytest.raises(sa.exc.IntegrityError) as err:
            uow.connection.execute(insert, [row])
        assert "心口疼" not in str(err.value)


def test_a_database_that_cannot_be_reached_is_a_sqlalchemy_error(tmp_path, cipher):
    from storage.db import make_engine
    from storage.uow import SqlUnitOfWork

    (tmp_path / "db").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'db'}")  # a directory: the driver cannot open it
    with SqlUnitOfWork(engine, cipher) as uow, pytest.raises(sa.exc.OperationalError):
        uow.chat.account("test", "u1")
    engine.dispose()


@pytest.mark.parametrize("seeded_engine", ["postgres"], indirect=True)
def test_a_connection_lost_before_commit_is_a_sqlalchemy_error_and_the_next_update_works(seeded_uow, seeded_engine):
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "lost", FIXED_NOW)
        with seeded_engine.connect() as other:  # the server ends our session, as a restart or a failover would
            other.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> "
                                  "pg_backend_pid() AND datname = current_database() AND state LIKE 'idle in%%'")
        with pytest.raises(sa.exc.DBAPIError):
            uow.commit()
    with seeded_uow() as uow:  # the dead connection was not handed out again
        assert uow.chat.first_time("test", "lost", FIXED_NOW)
        uow.commit()


def test_a_sqlite_uri_filename_makes_no_folder(tmp_path, monkeypatch):
    """``file:...`` is handed to SQLite as written (an in-memory database shared by name has no folder)."""
    from storage.db import make_engine

    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite:///file:/xz-no-folder?vfs=memdb&uri=true")
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT 1").scalar_one() == 1
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_the_in_memory_database_of_conversation_tests_is_one_database_locked_like_a_file(chat_engine, cipher):
    """Conversation tests run the same unit of work on SQLite in memory: every connection of the engine opens the
    same seeded database, and a transaction holds the write lock as on a file (``BEGIN IMMEDIATE``)."""
    import sqlite3

    from storage.uow import SqlUnitOfWork

    name = chat_engine.url.database.removeprefix("file:")
    other = sqlite3.connect(f"file:{name}?vfs=memdb", uri=True, timeout=0.05)
    other.isolation_level = None
    try:
        with SqlUnitOfWork(chat_engine, cipher) as uow:
            assert uow.staff.by_code("S0001") is not None  # the seeded template, copied
            assert uow.next_value("probe") == 1
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # a second writer waits for the first, then gives up
            uow.commit()
        assert other.execute("SELECT value FROM counter WHERE name = 'probe'").fetchone() == (1,)
    finally:
        other.close()
