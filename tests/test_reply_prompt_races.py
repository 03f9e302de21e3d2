"""Review findings on the reply prompt kept on the account row (migration 0014), on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.prompts import read_answer, read_reply
from tests.conftest import FIXED_NOW, put_prompt


def test_a_reply_shown_after_a_concurrent_alert_is_the_one_a_typed_number_answers(seeded_uow, seeded_engine):
    """The doctor's own message is being answered (its update read their account) while another update — the
    cardiologist marking the visit served — puts the rating request to the same doctor and commits first. The
    doctor's answer, with its numbered choices, is sent after the rating request: a typed "1" is for that answer,
    not a one-star rating. (The account row's "after" is read with the account, before the rating existed.)"""
    if seeded_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs write transactions one after another (BEGIN IMMEDIATE)")
    with seeded_uow() as uow:
        acc = uow.chat.get_or_create("test", "u-race", "u-race", None, FIXED_NOW)
        uow.commit()
    later = FIXED_NOW + timedelta(seconds=1)
    with seeded_uow() as mine:
        me = mine.chat.account("test", "u-race")  # the doctor's update reads the account
        with seeded_uow() as other:  # the rating request, put by another person's update, committed first
            rating = put_prompt(other, acc.id, FIXED_NOW, "五分", proactive=True)
            other.commit()
        reply = put_prompt(mine, me.id, later, "邱瑞鹏")  # the doctor's answer, with its choices
        mine.chat.save(me)
        mine.commit()
    with seeded_uow() as uow:
        recent = uow.prompts.recent(acc.id)
        read = read_reply(recent, read_answer("1"), None, later + timedelta(seconds=5), None)
    assert read is not None and read.prompt.choices[read.index].token == reply, (
        "a typed 1 went to the rating put before the answer", read and read.prompt.choices[read.index].token == rating)


def test_the_purge_never_takes_a_reply_prompt_set_while_it_ran(seeded_uow, seeded_engine):
    """A person whose last choices expired long ago writes again just as the nightly purge runs: their update puts
    fresh choices on the account row while the purge's UPDATE waits for that row. The purge must not then blank
    the fresh choices (a typed "1" would find nothing to answer)."""
    import threading

    if seeded_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs write transactions one after another (BEGIN IMMEDIATE)")
    long_ago = FIXED_NOW - timedelta(days=60)
    with seeded_uow() as uow:
        acc = uow.chat.get_or_create("test", "u-purge", "u-purge", None, long_ago)
        put_prompt(uow, acc.id, long_ago, "旧")
        uow.chat.save(acc)
        uow.commit()
    purged: list[int] = []
    with seeded_uow() as mine:
        me = mine.chat.account("test", "u-purge")
        fresh = put_prompt(mine, me.id, FIXED_NOW, "新")
        mine.chat.save(me)  # the row is written (and locked) by the person's update, not yet committed

        def purge():
            with seeded_uow() as job:
                purged.append(job.prompts.purge(FIXED_NOW - timedelta(days=30), 100))
                job.commit()

        job = threading.Thread(target=purge)
        job.start()
        job.join(timeout=1.5)  # the purge waits for the row the update holds
        mine.commit()
    job.join(timeout=10)
    assert not job.is_alive()
    with seeded_uow() as uow:
        recent = uow.prompts.recent(acc.id)
    assert fresh in [p.choices[0].token for p in recent], (purged, recent)
    assert recent[0].choices[0].token == fresh
