"""The pure announcement rules: offsets, due times in Sanming time, changes, started circuits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time

import pytest

from domain.announcements import (
    DEFAULT_OFFSETS,
    AnnouncementKind,
    Offset,
    briefing_at,
    briefing_key,
    briefing_offset,
    change_kind,
    due_briefing,
    due_reminder,
    parse_offsets,
    reminder_times,
    should_fan_out,
)
from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from tests.circuits.circuit_helpers import china

C = Circuit("H", "P", date(2026, 12, 4), HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({1}), id=7)


def test_offsets_parse_and_default_to_nine_in_the_morning():
    assert parse_offsets("1d, 3d@08:30") == (Offset(3, time(8, 30)), Offset(1))
    assert (Offset(3), Offset(1)) == DEFAULT_OFFSETS
    with pytest.raises(ValueError):
        parse_offsets("3 days")


def test_reminders_fall_at_nine_sanming_time_three_days_and_one_day_before():
    due = [r.due_at for r in reminder_times(C, DEFAULT_OFFSETS, None)]
    assert due == [china("2026-12-01 09:00"), china("2026-12-03 09:00")]


def test_only_the_latest_due_reminder_is_sent():
    assert due_reminder(C, DEFAULT_OFFSETS, None, china("2026-12-01 08:59")) is None
    assert due_reminder(C, DEFAULT_OFFSETS, None, china("2026-12-01 09:00")).offset == Offset(3)
    assert due_reminder(C, DEFAULT_OFFSETS, None, china("2026-12-03 18:00")).offset == Offset(1)


def test_a_circuit_created_after_every_reminder_time_gets_one_at_once():
    created = china("2026-12-03 15:00")
    (r,) = reminder_times(C, DEFAULT_OFFSETS, created)
    assert r.due_at == created and r.offset == Offset(1)


def test_nothing_is_due_once_the_circuit_started_or_was_cancelled():
    assert due_reminder(C, DEFAULT_OFFSETS, None, china("2026-12-04 08:00")) is None
    assert due_reminder(replace(C, status=CircuitStatus.CANCELLED), DEFAULT_OFFSETS, None,
                       china("2026-12-03 10:00")) is None
    assert should_fan_out(AnnouncementKind.CANCEL, "change:1", C, DEFAULT_OFFSETS, None,
                          china("2026-12-04 08:30")) == "started"


def test_a_reminder_for_the_old_slot_is_stale_after_a_move():
    old = due_reminder(C, DEFAULT_OFFSETS, None, china("2026-12-03 09:05"))
    moved = replace(C, day=date(2026, 12, 10))
    assert should_fan_out(AnnouncementKind.REMINDER, old.key, moved, DEFAULT_OFFSETS, china("2026-12-03 09:10"),
                          china("2026-12-03 09:20")) == "stale"


def test_changes_are_classified():
    assert change_kind(C, replace(C, half_day=HalfDay.PM)) is AnnouncementKind.UPDATE
    assert change_kind(C, replace(C, expert_ids=frozenset({2}))) is AnnouncementKind.UPDATE
    assert change_kind(C, replace(C, status=CircuitStatus.CANCELLED)) is AnnouncementKind.CANCEL
    assert change_kind(C, C) is None


def test_experts_are_briefed_at_the_day_before_reminders_time_or_nine_the_day_before():
    assert briefing_at(C, briefing_offset(parse_offsets("3d@09:00,1d@17:30"))) == china("2026-12-03 17:30")
    assert briefing_at(C, briefing_offset(parse_offsets("3d@10:00"))) == china("2026-12-03 09:00")


def test_a_briefing_is_one_per_slot_and_never_for_a_cancelled_or_started_circuit():
    at = Offset(1)
    assert due_briefing(C, at, china("2026-12-03 08:59")) is None
    assert due_briefing(C, at, china("2026-12-03 21:00")) == china("2026-12-03 09:00")  # caught up after downtime
    assert due_briefing(C, at, china("2026-12-04 08:00")) is None  # started
    assert due_briefing(replace(C, status=CircuitStatus.CANCELLED), at, china("2026-12-03 10:00")) is None
    moved = replace(C, day=date(2026, 12, 8))
    assert briefing_key(moved) != briefing_key(C)
    assert should_fan_out(AnnouncementKind.BRIEFING, briefing_key(C), moved, DEFAULT_OFFSETS, None,
                          china("2026-12-03 10:00")) == "stale"
    assert should_fan_out(AnnouncementKind.BRIEFING, briefing_key(C), C, DEFAULT_OFFSETS, None,
                          china("2026-12-03 10:00")) is None
