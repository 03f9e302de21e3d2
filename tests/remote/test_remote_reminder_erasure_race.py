"""Review finding: a remote consultation's reminder, queued by the sweep (now a transaction per session, the session
row locked) while the same resident is being erased, must not go out after the erasure: it names the resident and
their need, to them and to the staff (PostgreSQL runs both side by side)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import STARTS, approved_order, schedule_remote, told


@ALSO_ON_POSTGRES
def test_a_reminder_queued_while_the_resident_is_erased_does_not_go_out(chat, cast, app, clock, chat_engine):
    from handlers.services.remote import _remind
    from storage.tables import OutboxRow

    if chat_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs write transactions one after another (BEGIN IMMEDIATE)")
    number = approved_order(chat, app)
    schedule_remote(chat)
    told(chat, app, clock())
    rid = stored(app, number).resident_id
    now = STARTS - timedelta(hours=23)  # the day-before reminder is due
    with app.uow() as uow:
        [session] = uow.remote.scheduled_before(STARTS + timedelta(hours=1), after=now)
    erased = threading.Event()

    def erase():
        with app.uow() as uow:
            uow.residents.forget(rid, now)
            uow.commit()
        erased.set()

    with app.uow() as sweep:
        assert _remind(sweep, session.id, now) > 0  # the reminder is queued, the session row held
        job = threading.Thread(target=erase)
        job.start()
        job.join(timeout=1.5)  # the erasure waits for the session row
        sweep.commit()
    job.join(timeout=10)
    assert erased.is_set()
    with app.uow() as uow:
        pending = uow.session.execute(sa.select(OutboxRow.dedupe_key, OutboxRow.text).where(
            OutboxRow.dedupe_key.startswith(f"remote:{session.id}:"), OutboxRow.status == "pending")).all()
    assert pending == [], pending
