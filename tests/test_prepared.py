"""Prepared hot-path statements (``storage.prepared``): what Core would return, inside the transaction, with
SQLAlchemy's errors and without residents' data in them. Both backends."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from domain.orders import OrderStatus
from storage.prepared import Prepared
from storage.tables import ButtonRow, OrderRow, ProcessedUpdateRow
from tests.conftest import FIXED_NOW
from tests.test_storage_contract import _new_order

_ORDERS = OrderRow.__table__
_BUTTONS = ButtonRow.__table__
_BY_STATUS = sa.select(_ORDERS).where(_ORDERS.c.status.in_(sa.bindparam("statuses", expanding=True))).order_by(
    _ORDERS.c.id
)


def test_rows_are_what_core_returns_for_every_list_length(seeded_uow):
    with seeded_uow() as uow:
        first = _new_order(uow)
        second = _new_order(uow, "眼睛花，看不清字")
        uow.connection.execute(_ORDERS.update().where(_ORDERS.c.id == second.id).values(status="rejected"))
        prepared = Prepared(_BY_STATUS, expanding=["statuses"])
        for statuses in (["submitted"], ["rejected", "submitted"], [s.value for s in OrderStatus]):
            core = uow.connection.execute(_BY_STATUS, {"statuses": statuses}).all()
            fast = uow.run(prepared, {"statuses": statuses}).all()
            assert [tuple(r) for r in fast] == [tuple(r) for r in core]
            assert core, statuses
        # Typed values come back typed, as through Core: an aware datetime, not the stored text.
        row = uow.run(prepared, {"statuses": ["submitted"]}).one()
        assert row.created_at == first.created_at and row.created_at.tzinfo is not None


def test_values_are_written_as_core_writes_them(seeded_uow):
    """Bind processing is SQLAlchemy's: a timestamp from another time zone is stored as the same instant in UTC
    (on SQLite, in the same text as Core writes), and a naive one is refused."""
    shanghai = FIXED_NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    processed = ProcessedUpdateRow.__table__
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "fast", shanghai)
        uow.connection.execute(processed.insert().values(platform="test", update_id="core", at=shanghai))
        stored = dict(uow.connection.execute(sa.select(processed.c.update_id, processed.c.at)).all())
        assert stored["fast"] == stored["core"] == FIXED_NOW
        if uow.engine.dialect.name == "sqlite":
            text = dict(uow.connection.exec_driver_sql("SELECT update_id, at FROM processed_update").all())
            assert text["fast"] == text["core"]
        with pytest.raises(ValueError, match="naive"):
            uow.chat.first_time("test", "naive", FIXED_NOW.replace(tzinfo=None))


def test_a_prepared_write_is_part_of_the_transaction_and_undone_by_rollback(seeded_uow):
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
def test_prepared_core_and_orm_work_share_one_transaction(seeded_uow, end):
    """A unit of work begins on the driver; Core and the ORM join that same transaction when first asked, in
    either order, and one commit or rollback covers all of it."""
    processed = ProcessedUpdateRow.__table__
    with seeded_uow() as uow:
        assert uow.chat.first_time("test", "prepared-1", FIXED_NOW)  # prepared, before any Connection exists
        uow.connection.execute(processed.insert().values(platform="test", update_id="core", at=FIXED_NOW))
        uow.session.add(ProcessedUpdateRow(platform="test", update_id="orm", at=FIXED_NOW))
        assert uow.chat.first_time("test", "prepared-2", FIXED_NOW)  # prepared again, after the session's write
        getattr(uow, end)()
    with seeded_uow() as uow:
        stored = set(uow.connection.execute(sa.select(processed.c.update_id)).scalars())
    assert stored == ({"prepared-1", "core", "orm", "prepared-2"} if end == "commit" else set())


def test_driver_errors_arrive_as_sqlalchemy_errors_without_the_values(seeded_uow):
    """Callers catch SQLAlchemy's exceptions (the busy reply depends on it), and an error that reaches a log must
    not carry what a resident said."""
    insert = Prepared(_BUTTONS.insert(), columns_from_params=True)
    row = {"token": "tok-1", "chat_account_id": 1, "action": "noop", "payload": '{"need": "心口疼"}',
           "created_at": FIXED_NOW}
    with seeded_uow() as uow:
        account = uow.chat.get_or_create("test", "u1", "u1", None, FIXED_NOW)
        row["chat_account_id"] = account.id
        uow.run(insert, [row])
        with pytest.raises(sa.exc.IntegrityError) as err:
            uow.run(insert, [row])
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


def test_statements_it_cannot_run_faithfully_are_refused(seeded_uow):
    undeclared = Prepared(_BY_STATUS)  # an IN list not declared as expanding
    defaults = Prepared(sa.Table("t", sa.MetaData(), sa.Column("a", sa.Integer, primary_key=True),
                                 sa.Column("b", sa.Integer, default=7)).insert(), columns_from_params=True)
    defaulted = Prepared(sa.select(_ORDERS).where(_ORDERS.c.status == sa.bindparam("status", "submitted")))
    buttons = Prepared(_BUTTONS.insert(), columns_from_params=True)
    row = {"token": "t1", "chat_account_id": 1, "action": "noop", "payload": "{}", "created_at": FIXED_NOW}
    with seeded_uow() as uow:
        with pytest.raises(TypeError, match="expanding"):
            uow.run(undeclared, {"statuses": ["submitted"]})
        with pytest.raises(TypeError, match="default"):
            uow.run(defaults, {"a": 1})
        # A default would be frozen into the plan and silently used when a later caller passes another value.
        with pytest.raises(TypeError, match="named parameter"):
            uow.run(defaulted, {})
        with pytest.raises(TypeError, match="same keys"):
            uow.run(buttons, [row, {k: v for k, v in row.items() if k != "payload"}])


def test_in_lists_of_any_length_share_a_few_plans_and_match_core(seeded_uow):
    prepared = Prepared(_BY_STATUS, expanding=["statuses"])
    every = [s.value for s in OrderStatus]
    with seeded_uow() as uow:
        order = _new_order(uow)
        for n in range(0, 101):
            statuses = (every * 9)[:n]
            core = uow.connection.execute(_BY_STATUS, {"statuses": statuses}).all()
            assert [tuple(r) for r in uow.run(prepared, {"statuses": statuses})] == [tuple(r) for r in core]
        assert [r.id for r in uow.run(prepared, {"statuses": ["rejected", "merged", "submitted"]})] == [order.id]
    assert len(prepared._plans) == 9  # lengths 0, 1, 2, 4, …, 128
