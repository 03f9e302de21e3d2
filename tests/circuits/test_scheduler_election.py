"""The scheduler election on PostgreSQL: one process sweeps, another takes over when its lock goes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.jobs.scheduler import CircuitScheduler
from storage.db import make_engine
from tests.conftest import wait_for

pytestmark = pytest.mark.postgres
INTERVAL = 0.3


@pytest.fixture
def two_processes(pg_cluster, templates):
    """Two engines on one database, as two worker processes would have."""
    engine, name = templates.pg_engine(pg_cluster, False)
    other = make_engine(pg_cluster.url(name))
    schedulers: list[CircuitScheduler] = []
    yield engine, other, schedulers, pg_cluster
    for s in schedulers:
        s.shutdown()
    engine.dispose()
    other.dispose()
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _scheduler(engine, schedulers, name):
    s = CircuitScheduler(engine, lambda: None, interval=INTERVAL, name=name)
    schedulers.append(s)
    s.start()
    return s


def test_a_scheduler_whose_lock_connection_died_steps_down_and_the_other_takes_over(two_processes):
    engine, other, schedulers, cluster = two_processes
    a = _scheduler(engine, schedulers, "a")
    assert a.elected
    b = _scheduler(other, schedulers, "b")
    assert not b.elected
    assert a._lock_conn is not None
    pid = a._lock_conn.execute(sa.select(sa.func.pg_backend_pid())).scalar()
    a._lock_conn.commit()
    cluster.execute(f"SELECT pg_terminate_backend({pid})")  # the lock goes with the session
    assert wait_for(lambda: b.elected, 5)
    assert wait_for(lambda: not a.elected, 5)  # a noticed, instead of sweeping on beside b
    # … and it stays a candidate while b holds the lock, not a second scheduler.
    assert not wait_for(lambda: a.elected, 3 * INTERVAL)
    assert b.elected
    b.shutdown()
    assert wait_for(lambda: a.elected, 5)  # a stood for election again and won


def test_shutting_down_releases_the_lock_at_once(two_processes):
    engine, other, schedulers, _cluster = two_processes
    a = _scheduler(engine, schedulers, "a")
    b = _scheduler(other, schedulers, "b")
    assert a.elected and not b.elected
    a.shutdown()  # a's engine (and its pool) stay up, as in a process that goes on doing other work
    assert wait_for(lambda: b.elected, 3)
