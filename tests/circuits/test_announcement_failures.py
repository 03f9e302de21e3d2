"""Announcements under stress: a change racing a fan-out, one broken announcement, blocked recipients."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain.circuits import Circuit, CircuitStatus, HalfDay
from handlers.services.announcements import Announcer
from storage.crypto import FieldCipher
from storage.tables import ChatAccountRow
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import REMINDER_AT, VILLAGE, Clock, add_subscribers, china, make_circuit
from tests.circuits.test_announcement_fanout import _setup
from tests.conftest import TEST_KEY, wait_for


def _cancelled(before: Circuit) -> Circuit:
    return Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                   before.expert_ids, CircuitStatus.CANCELLED, before.id)


@pytest.mark.postgres
def test_a_reminder_fanned_out_while_its_circuit_is_being_cancelled_is_not_left_queued(pg_cluster, templates):
    engine, name = templates.pg_engine(pg_cluster, True)
    uow = lambda: SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY))  # noqa: E731
    try:
        with uow() as u:
            c = make_circuit(u)
            add_subscribers(u, 3, REMINDER_AT, first_chat=600)
            u.commit()
        now = REMINDER_AT + timedelta(minutes=5)
        announcer = Announcer(uow, Clock(now))
        assert announcer.plan_reminders(now) == 1
        with uow() as u:
            (aid,) = u.schedule.due_announcements(now)
        # The cancellation is written but not yet committed when the sweep fans the reminder out.
        change = uow()
        change.__enter__()
        before = change.circuits.get(c.id)
        change.schedule.save_circuit(_cancelled(before))
        announcer.record_change(change, before, _cancelled(before), None, now)
        done: list = []

        def fan_out() -> None:
            with uow() as u:
                done.append(announcer.fan_out(u, aid, now))
                u.commit()

        def waiting_or_done() -> bool:
            if not worker.is_alive():
                return True
            with engine.connect() as conn:  # the fan-out's session waits for the cancellation's lock
                return bool(conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()").scalar())

        worker = threading.Thread(target=fan_out)
        worker.start()
        assert wait_for(waiting_or_done, 10)  # the fan-out ran, or waits for the circuit, meanwhile
        change.commit()
        change.__exit__(None, None, None)
        worker.join(10)
        assert not worker.is_alive()
        with uow() as u:
            pending = [r for r in u.outbox.rows(announcement_id=aid) if r.status == "pending"]
        assert pending == []  # no reminder of the cancelled circuit is left to go out
        assert done == [(0, done[0][1])] and done[0][1]  # it saw the cancellation and skipped
    finally:
        engine.dispose()
        pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_one_failing_announcement_does_not_hold_up_the_others(seeded_uow, monkeypatch):
    with seeded_uow() as u:
        broken = make_circuit(u)
        fine = make_circuit(u, half=HalfDay.PM)
        add_subscribers(u, 2, REMINDER_AT, first_chat=600, village=VILLAGE)
        u.commit()
    announcer = Announcer(seeded_uow, Clock(REMINDER_AT + timedelta(minutes=5)))
    render = Announcer.render

    def flaky_render(self, uow, c, *args):
        if c.id == broken.id:
            raise RuntimeError("a bad row")
        return render(self, uow, c, *args)

    monkeypatch.setattr(Announcer, "render", flaky_render)
    res = announcer.sweep()
    assert res.fanned_out == 1 and res.failed == 1
    with seeded_uow() as u:
        by_circuit = {a.circuit_id: a for a in u.schedule.announcements(fine.id) + u.schedule.announcements(broken.id)
                      if a.kind == "reminder"}  # the experts' briefing, due at the same time, needs no rendering
        assert by_circuit[fine.id].fanned_out_at is not None
        assert by_circuit[broken.id].fanned_out_at is None  # left due: the next sweep tries again
        assert u.outbox.rows(announcement_id=by_circuit[broken.id].id) == []  # nothing half-written
    monkeypatch.setattr(Announcer, "render", render)
    res = announcer.sweep()
    assert res.fanned_out == 1 and res.failed == 0


def test_a_recipient_who_blocked_us_gets_no_update_notice(seeded_uow):
    c, _o, _ = _setup(seeded_uow)
    clock = Clock(REMINDER_AT + timedelta(minutes=10))
    announcer = Announcer(seeded_uow, clock)
    announcer.sweep()
    with seeded_uow() as u:
        u.session.execute(sa.update(ChatAccountRow).where(ChatAccountRow.chat_id == "600").values(blocked=True))
        u.commit()
    clock.now = china("2026-12-03 12:00")
    with seeded_uow() as u:
        before = u.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day + timedelta(days=4), HalfDay.PM,
                        before.level, before.expert_ids, before.status, before.id)
        u.schedule.save_circuit(after)
        announcer.record_change(u, before, after, None, clock.now)
        u.commit()
    assert announcer.sweep().fanned_out == 1
    with seeded_uow() as u:
        update = next(a for a in u.schedule.announcements(c.id) if a.kind == "update")
        told = {r.chat_id for r in u.outbox.rows(announcement_id=update.id)}
    assert "600" not in told and "601" in told
