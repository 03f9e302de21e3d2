"""Real ``python -m bot worker`` processes on real database files: downtime, kill -9, two senders on PostgreSQL.

The worker's clock starts at ``XUNZHEN_FAKE_NOW`` (then runs at real speed), so "ten minutes after the
announcement's time" needs no waiting. The fake Telegram server runs in this process.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest

from bot.testing.fake_telegram import FakeTelegram
from handlers.services.announcements import Announcer
from storage.crypto import FieldCipher
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import (
    CREATED,
    REMINDER_AT,
    Clock,
    add_subscribers,
    make_circuit,
    start_worker,
    stop_worker,
    worker_env,
)
from tests.conftest import TEST_KEY, wait_for


def _prepare(engine, n: int, first_chat: int = 10_000) -> list[int]:
    with SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY)) as uow:
        make_circuit(uow)
        chats = add_subscribers(uow, n, CREATED, first_chat=first_chat)
        uow.commit()
    return [int(c) for c in chats]


def _received(fake) -> Counter[int]:
    return Counter(m.chat_id for m in fake.sent())


@pytest.fixture
def sqlite_db(templates, tmp_path):
    engine = templates.sqlite_engine(True, tmp_path / "worker.db")
    yield engine, f"sqlite:///{tmp_path / 'worker.db'}"
    engine.dispose()


def test_an_announcement_due_while_the_worker_was_down_goes_out_once_after_restart(sqlite_db, tmp_path):
    engine, url = sqlite_db
    chats = _prepare(engine, 5)
    log = tmp_path / "worker.log"
    with FakeTelegram.run_in_thread(known_chats=chats) as handle:
        fake = handle.fake
        # Up five minutes before the reminder's time: nothing is due, nothing goes out; then stopped.
        proc = start_worker(worker_env(url, handle.root_url, REMINDER_AT - timedelta(minutes=5)), log)
        time.sleep(1.5)
        stop_worker(proc)
        assert fake.sent() == []
        # Restarted ten minutes after it: the reminder goes out, once.
        proc = start_worker(worker_env(url, handle.root_url, REMINDER_AT + timedelta(minutes=10)), log)
        try:
            assert wait_for(lambda: len(fake.sent()) >= len(chats), 20), log.read_text()[-2000:]
        finally:
            stop_worker(proc)
        # A further restart (and its sweeps) sends nothing more.
        proc = start_worker(worker_env(url, handle.root_url, REMINDER_AT + timedelta(minutes=20)), log)
        time.sleep(1.5)
        stop_worker(proc)
        assert _received(fake) == Counter({c: 1 for c in chats})
        assert "明天" in fake.sent()[0].text
    with SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY)) as uow:
        assert uow.outbox.counts() == {"sent": len(chats)}


def test_kill_9_in_the_middle_of_a_broadcast_then_restart_reaches_everyone_at_most_one_twice(sqlite_db, tmp_path):
    engine, url = sqlite_db
    # 120 recipients at Telegram's 30 a second: killed after 40, with more than two seconds of sending still ahead.
    chats = _prepare(engine, 120)
    log = tmp_path / "worker.log"
    with FakeTelegram.run_in_thread(known_chats=chats) as handle:
        fake = handle.fake
        env = worker_env(url, handle.root_url, REMINDER_AT + timedelta(minutes=1))
        proc = start_worker(env, log)
        assert wait_for(lambda: len(fake.sent()) >= 40, 30), log.read_text()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        at_kill = len(fake.sent())
        assert at_kill < len(chats)
        proc = start_worker(worker_env(url, handle.root_url, REMINDER_AT + timedelta(minutes=2)), log)
        try:
            assert wait_for(lambda: set(_received(fake)) >= set(chats), 40), log.read_text()[-2000:]
            time.sleep(0.5)
        finally:
            stop_worker(proc)
        got = _received(fake)
        assert set(got) == set(chats)  # nobody lost
        doubled = [c for c, n in got.items() if n > 1]
        assert len(doubled) <= 1 and all(got[c] == 2 for c in doubled)  # only the one in flight may repeat
        assert fake.violations() == []
    with SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY)) as uow:
        assert uow.outbox.counts() == {"sent": len(chats)}


@pytest.mark.postgres
def test_two_sender_processes_on_postgresql_deliver_to_each_recipient_exactly_once(pg_cluster, templates, tmp_path):
    engine, name = templates.pg_engine(pg_cluster, True)
    try:
        chats = _prepare(engine, 120)
        with FakeTelegram.run_in_thread(known_chats=chats) as handle:
            fake = handle.fake
            procs = []
            for i in range(2):
                # Both senders live throughout: a lease longer than a send may take (10 s) even on a loaded machine,
                # so no claim lapses while its holder is still sending (the lapse is the kill -9 test's subject).
                env = worker_env(pg_cluster.url(name), handle.root_url, REMINDER_AT + timedelta(minutes=1),
                                 XUNZHEN_WORKER_ROLES="sender", XUNZHEN_OUTBOX_LEASE_SECONDS="30")
                procs.append(start_worker(env, tmp_path / f"worker{i}.log"))
            try:
                uow = lambda: SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY))  # noqa: E731
                res = Announcer(uow, Clock(REMINDER_AT + timedelta(minutes=1))).sweep()
                assert res.recipients == len(chats)
                assert wait_for(lambda: len(fake.sent()) >= len(chats), 40)
                time.sleep(1.0)
            finally:
                for p in procs:
                    stop_worker(p)
            assert _received(fake) == Counter({c: 1 for c in chats})
        with SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY)) as u:
            rows = u.outbox.rows()
        assert {r.status for r in rows} == {"sent"}
        assert len({r.claimed_by for r in rows}) == 2  # both processes took a share
    finally:
        engine.dispose()
        pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
