"""The outbox contract, the same on SQLite and PostgreSQL: dedupe, lanes, leases, concurrent claims."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import FIXED_NOW

NOW = FIXED_NOW


def _put(uow_factory, n, lane="bulk", tag="m"):
    with uow_factory() as uow:
        added = [uow.outbox.enqueue("telegram", str(i), f"{tag}{i}", None, priority=lane, dedupe_key=f"{tag}:{i}",
                                    account_id=None, now=NOW) for i in range(n)]
        uow.commit()
    return added


def _claim(uow_factory, worker, now=NOW, limit=50, lease=timedelta(seconds=30)):
    with uow_factory() as uow:
        got = uow.outbox.claim(worker, ["telegram"], now, limit=limit, lease=lease)
        uow.commit()
    return got


def test_enqueue_is_idempotent_on_its_dedupe_key(uow_factory):
    assert _put(uow_factory, 3) == [True, True, True]
    assert _put(uow_factory, 3) == [False, False, False]
    with uow_factory() as uow:
        assert uow.outbox.counts() == {"pending": 3}


def test_replies_are_claimed_before_bulk_and_a_claim_excludes_others_until_its_lease_ends(uow_factory):
    _put(uow_factory, 3, "bulk", "b")
    _put(uow_factory, 2, "reply", "r")
    first = _claim(uow_factory, "w1", limit=3)
    assert [m.lane for m in first] == ["reply", "reply", "bulk"]
    assert len(_claim(uow_factory, "w2")) == 2  # only the unclaimed ones
    assert _claim(uow_factory, "w3") == []
    later = _claim(uow_factory, "w3", now=NOW + timedelta(seconds=31))  # the leases ran out (a killed sender)
    assert len(later) == 5


def test_a_sent_message_is_never_claimed_again_and_a_duplicate_mark_is_refused(uow_factory):
    _put(uow_factory, 1)
    (m,) = _claim(uow_factory, "w1")
    with uow_factory() as uow:
        assert uow.outbox.mark_sent(m.id, NOW)
        assert not uow.outbox.mark_sent(m.id, NOW)
        uow.commit()
    assert _claim(uow_factory, "w2", now=NOW + timedelta(hours=1)) == []


def test_concurrent_claims_never_share_a_row(uow_factory):
    _put(uow_factory, 20)
    a, b = uow_factory(), uow_factory()
    with a, b:
        got_a = a.outbox.claim("a", ["telegram"], NOW, limit=10)  # transaction still open (row locks held on PG)
        if a.engine.dialect.name == "sqlite":
            a.commit()  # SQLite serialises writers: the second claim waits for this one
        got_b = b.outbox.claim("b", ["telegram"], NOW, limit=20)
        b.commit()
        if a.engine.dialect.name != "sqlite":
            a.commit()
    assert len(got_a) == 10 and len(got_b) == 10
    assert not {m.id for m in got_a} & {m.id for m in got_b}


def test_a_retry_waits_until_its_time_and_a_void_message_is_never_sent(uow_factory):
    _put(uow_factory, 2)
    first, second = _claim(uow_factory, "w1")
    with uow_factory() as uow:
        uow.outbox.retry_at(first.id, NOW + timedelta(seconds=5), "retry_after 5", count_attempt=False)
        uow.outbox.settle(second.id, "void", "superseded")
        uow.commit()
    assert _claim(uow_factory, "w2", now=NOW + timedelta(seconds=4)) == []
    assert [m.id for m in _claim(uow_factory, "w2", now=NOW + timedelta(seconds=6))] == [first.id]


def test_a_sender_holds_and_settles_only_rows_it_still_holds(uow_factory):
    _put(uow_factory, 3)
    a, b, c = _claim(uow_factory, "w1", lease=timedelta(seconds=30))
    later = NOW + timedelta(seconds=31)
    (taken,) = _claim(uow_factory, "w2", now=later, limit=1)  # w1's lease lapsed: w2 took the first one
    assert taken.id == a.id
    with uow_factory() as uow:
        uow.outbox.settle(b.id, "void", "circuit cancelled")  # withdrawn while w1 holds a copy
        assert not uow.outbox.hold(a.id, "w1", later, timedelta(seconds=30))  # another sender's now
        assert not uow.outbox.hold(b.id, "w1", later, timedelta(seconds=30))  # withdrawn
        assert uow.outbox.hold(c.id, "w1", later, timedelta(seconds=30))  # lapsed, but nobody took it: still w1's
        assert not uow.outbox.mark_sent(a.id, later, "w1")
        assert not uow.outbox.retry_at(a.id, later, "502", worker="w1")
        assert not uow.outbox.settle(a.id, "failed", "502", "w1")
        assert uow.outbox.mark_sent(a.id, later, "w2")
        uow.commit()
    # The renewed lease keeps the held row from other senders.
    assert _claim(uow_factory, "w3", now=later + timedelta(seconds=1)) == []
