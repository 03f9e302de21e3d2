"""Fan-out of announcements into the outbox, on SQLite and PostgreSQL: who gets what, once."""

from __future__ import annotations

from datetime import timedelta

from domain.circuits import Circuit, CircuitStatus, HalfDay
from handlers.services.announcements import Announcer
from tests.circuits.circuit_helpers import (
    CREATED,
    OTHER_VILLAGE,
    REMINDER_AT,
    VILLAGE,
    Clock,
    add_account,
    add_subscribers,
    china,
    make_circuit,
    scheduled_order,
)


def _setup(uow_factory):
    """A circuit at 雪峰镇 with one scheduled order, 3 subscribers (one in another village), staff accounts."""
    with uow_factory() as uow:
        c = make_circuit(uow)
        o = scheduled_order(uow, c, CREATED)
        resident_acc = add_account(uow, "telegram", "501", CREATED, resident_id=o.resident_id, villages=(VILLAGE,))
        add_subscribers(uow, 2, CREATED, first_chat=600)
        add_account(uow, "telegram", "700", CREATED, villages=(OTHER_VILLAGE,))
        add_account(uow, "telegram", "800", CREATED, staff="S0006")  # filing village doctor
        add_account(uow, "telegram", "801", CREATED, staff="S0005")  # township center reviewer
        uow.commit()
    return c, o, resident_acc


def _rows(uow_factory):
    with uow_factory() as uow:
        return uow.outbox.rows()


def test_a_due_reminder_reaches_subscribers_order_holders_and_staff_once_each(seeded_uow):
    _c, o, _ = _setup(seeded_uow)
    announcer = Announcer(seeded_uow, Clock(REMINDER_AT - timedelta(minutes=1)))
    assert announcer.sweep().fanned_out == 0  # not due yet
    announcer.clock = Clock(REMINDER_AT + timedelta(minutes=10))
    res = announcer.sweep()
    assert res.fanned_out == 1 and res.recipients == 6
    rows = _rows(seeded_uow)
    by_chat = {r.chat_id: r.text for r in rows}
    assert sorted(by_chat) == ["501", "600", "601", "700", "800", "801"]
    assert o.number in by_chat["501"] and "您的订单" in by_chat["501"]  # personal, with the order
    assert "您的订单" not in by_chat["600"]
    assert o.number in by_chat["800"]  # the filing doctor sees the order numbers
    for text in by_chat.values():
        assert "罗志明" in text and "副主任医师" in text and "明溪县总医院" in text
        assert "12月4日" in text and "上午" in text and "雪峰镇" in text and "心血管内科" in text
        assert "身份证" in text
    # A re-run (another sweep, a restarted process) adds nothing.
    assert announcer.sweep().fanned_out == 0
    assert len(_rows(seeded_uow)) == 6


def test_after_downtime_only_the_latest_reminder_goes_out(seeded_uow):
    with seeded_uow() as uow:
        make_circuit(uow, created=china("2026-11-20 10:00"))
        add_subscribers(uow, 3, CREATED, first_chat=600)
        uow.commit()
    # Down from before the 3-day reminder until after the 1-day one: one reminder, "明天".
    res = Announcer(seeded_uow, Clock(REMINDER_AT + timedelta(minutes=10))).sweep()
    assert res.fanned_out == 1
    texts = {r.text for r in _rows(seeded_uow)}
    assert len(texts) == 1 and "明天" in texts.pop()


def test_a_moved_circuit_sends_an_update_to_everyone_told_and_new_reminders_follow(seeded_uow):
    c, _o, _ = _setup(seeded_uow)
    clock = Clock(REMINDER_AT + timedelta(minutes=10))
    announcer = Announcer(seeded_uow, clock)
    announcer.sweep()
    first = {r.chat_id for r in _rows(seeded_uow)}
    clock.now = REMINDER_AT + timedelta(hours=2)
    with seeded_uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day + timedelta(days=4), HalfDay.PM,
                        before.level, before.expert_ids, before.status, before.id)
        uow.schedule.save_circuit(after)
        assert announcer.record_change(uow, before, after, None, clock.now).value == "update"
        uow.commit()
    res = announcer.sweep()
    assert res.fanned_out == 1
    with seeded_uow() as uow:
        update = next(a for a in uow.schedule.announcements(c.id) if a.kind == "update")
        rows = uow.outbox.rows(announcement_id=update.id)
    assert {r.chat_id for r in rows} == first
    assert all("时间由12月4日上午改为12月8日下午" in r.text for r in rows)
    # The new slot's reminder comes the day before the new date.
    clock.now = china("2026-12-07 09:05")
    assert announcer.sweep().fanned_out == 1


def test_a_cancelled_circuit_sends_a_cancellation_and_no_further_reminders(seeded_uow):
    c, o, _ = _setup(seeded_uow)
    clock = Clock(china("2026-12-02 12:00"))
    announcer = Announcer(seeded_uow, clock)
    with seeded_uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                        before.expert_ids, CircuitStatus.CANCELLED, before.id)
        uow.schedule.save_circuit(after)
        announcer.record_change(uow, before, after, None, clock.now, [o.id])
        uow.commit()
    assert announcer.sweep().fanned_out == 1
    rows = _rows(seeded_uow)
    # Nobody had been told yet: the order holder and the staff hear of it, subscribers never heard of it.
    assert {r.chat_id for r in rows} == {"501", "800", "801"}
    assert all("取消" in r.text for r in rows)
    clock.now = REMINDER_AT + timedelta(minutes=5)
    res = announcer.sweep()
    assert res.fanned_out == 0 and res.reminders_created == 0
    assert len(_rows(seeded_uow)) == 3


def test_nothing_goes_out_for_a_circuit_already_started(seeded_uow):
    c, _o, _ = _setup(seeded_uow)
    announcer = Announcer(seeded_uow, Clock(china("2026-12-04 08:05")))
    assert announcer.sweep().fanned_out == 0
    with seeded_uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                        before.expert_ids, CircuitStatus.CANCELLED, before.id)
        assert announcer.record_change(uow, before, after, None, china("2026-12-04 08:05")) is None
        uow.commit()
    assert _rows(seeded_uow) == []


def test_fan_out_to_ten_thousand_subscribers_writes_each_once(seeded_uow):
    with seeded_uow() as uow:
        make_circuit(uow)
        add_subscribers(uow, 10_000, CREATED, first_chat=1_000_000)
        uow.commit()
    announcer = Announcer(seeded_uow, Clock(REMINDER_AT + timedelta(minutes=1)))
    res = announcer.sweep()
    assert res.recipients == 10_000
    with seeded_uow() as uow:
        assert uow.outbox.counts() == {"pending": 10_000}


def test_reminders_still_queued_when_a_circuit_is_cancelled_are_withdrawn_at_once(seeded_uow):
    c, o, _ = _setup(seeded_uow)
    clock = Clock(REMINDER_AT + timedelta(minutes=1))
    announcer = Announcer(seeded_uow, clock)
    announcer.sweep()  # six reminders queued, none sent yet
    with seeded_uow() as uow:
        before = uow.circuits.get(c.id)
        after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                        before.expert_ids, CircuitStatus.CANCELLED, before.id)
        uow.schedule.save_circuit(after)
        announcer.record_change(uow, before, after, None, clock.now, [o.id])
        uow.commit()
        assert uow.outbox.counts() == {"void": 6}
    announcer.sweep()
    with seeded_uow() as uow:
        assert uow.outbox.counts() == {"void": 6, "pending": 6}  # the cancellation, to everyone told
