"""Draft reminders go into the outbox with the change that records them: never lost, never doubled."""

# The conversation fixtures are imported from tests/handlers, so test parameters shadow them by design.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.jobs.worker import make_sweep
from handlers.services.announcements import Announcer
from storage.repositories.outbox import OutboxRepository
from tests.conftest import ALSO_ON_POSTGRES
from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401 - the conversation fixtures


def _draft_rows(app):
    with app.uow() as uow:
        return [r for r in uow.outbox.rows() if "未完成" in r.text or "已自动清除" in r.text]




def test_the_draft_sweep_queues_its_messages_in_its_own_transaction(chat, cast, app, clock):
    chat.say("doctor", "/new")
    clock.now += timedelta(hours=23, minutes=5)
    outs = chat.conv.sweep_drafts()
    rows = _draft_rows(app)
    assert [(r.chat_id, r.text, r.status, r.priority) for r in rows] == [(outs[0].chat_id, outs[0].text, "pending", 0)]
    assert rows[0].account_id is not None
    assert chat.conv.sweep_drafts() == [] and len(_draft_rows(app)) == 1  # one reminder only
    clock.now += timedelta(hours=1)
    (expired,) = chat.conv.sweep_drafts()
    assert [r.text for r in _draft_rows(app)][1:] == [expired.text] and "已自动清除" in expired.text


def test_a_crash_while_queueing_a_draft_reminder_leaves_it_to_the_next_sweep(chat, cast, app, clock, monkeypatch):
    chat.say("doctor", "/new")
    clock.now += timedelta(hours=23, minutes=5)

    def down(*args, **kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as m:
        m.setattr(OutboxRepository, "enqueue", down)
        with pytest.raises(RuntimeError):
            chat.conv.sweep_drafts()
    assert _draft_rows(app) == []
    assert len(chat.conv.sweep_drafts()) == 1  # not marked as reminded: it goes out now
    assert len(_draft_rows(app)) == 1


@ALSO_ON_POSTGRES
def test_the_worker_sweep_does_not_queue_draft_messages_a_second_time(chat, cast, app, clock):
    chat.say("doctor", "/new")
    clock.now += timedelta(hours=23, minutes=5)
    sweep = make_sweep(app, Announcer(app.uow, clock), clock)
    sweep()
    sweep()
    assert len(_draft_rows(app)) == 1
