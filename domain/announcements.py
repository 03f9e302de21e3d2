"""Consultation announcements (坐诊预告): which go out for a circuit, when, and what a change means.

Pure rules, no storage. Reminders go out at configurable offsets before the circuit (default: 3 days and
1 day before, at 09:00 Sanming time). The database keeps one announcement row per reminder key; the key
names the circuit's *slot* (day, half-day, place, experts), so a moved circuit gets fresh reminders and a
reminder written for the old slot is recognised as stale and never fanned out.

Rules:
* Nothing goes out for a circuit that has started (or is cancelled, except its cancellation notice).
* A reminder whose time lies before the circuit's last change (creation or move) never existed: the
  people concerned were told by the change itself. When every reminder time has already passed at the
  change, the last reminder goes out at the change instead, so subscribers still hear of a short-notice
  circuit.
* After downtime several reminders may be due at once: only the latest one goes out (the others are
  superseded), so nobody gets "in 3 days" and "tomorrow" in the same minute.
* The circuit's experts get a briefing (their orders, with residents' names) once per slot, the day before at
  the time of the day-before reminder (``briefing_offset``). A circuit created or moved after that time, or a
  briefing missed during downtime, is briefed at the next sweep, as long as the circuit has not started.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.circuits import Circuit, CircuitStatus, HalfDay

CHINA = ZoneInfo("Asia/Shanghai")
SESSION_START = {HalfDay.AM: time(8, 0), HalfDay.PM: time(14, 30)}


class AnnouncementKind(StrEnum):
    """What an announcement says."""

    REMINDER = "reminder"
    UPDATE = "update"
    CANCEL = "cancel"
    BRIEFING = "briefing"  # to the circuit's experts only: the orders they will see


@dataclass(frozen=True, slots=True)
class Offset:
    """A reminder ``days_before`` the circuit day, at ``at`` Sanming time."""

    days_before: int
    at: time = time(9, 0)

    @property
    def label(self) -> str:
        """Short stable name used in keys, e.g. ``3d0900``."""
        return f"{self.days_before}d{self.at:%H%M}"


DEFAULT_OFFSETS: tuple[Offset, ...] = (Offset(3), Offset(1))


def parse_offsets(text: str) -> tuple[Offset, ...]:
    """Offsets from ``"3d@09:00,1d@09:00"`` (``@HH:MM`` optional, default 09:00); raises ValueError."""
    out = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        days, _, at = item.partition("@")
        if not days.endswith("d") or not days[:-1].isdigit():
            raise ValueError(f"bad reminder offset {item!r}: expected e.g. 3d@09:00")
        out.append(Offset(int(days[:-1]), time.fromisoformat(at) if at else time(9, 0)))
    if not out:
        raise ValueError("no reminder offsets given")
    return tuple(sorted(set(out), key=lambda o: (-o.days_before, o.at)))


def circuit_start(day: date, half_day: HalfDay) -> datetime:
    """When a session begins (aware, Sanming time)."""
    return datetime.combine(day, SESSION_START[half_day], CHINA)


def has_started(c: Circuit, now: datetime) -> bool:
    """True once the circuit's session has begun."""
    return now >= circuit_start(c.day, c.half_day)


def slot_key(c: Circuit) -> str:
    """The circuit's day, half-day, place and experts, short and stable."""
    experts = ",".join(str(e) for e in sorted(c.expert_ids))
    digest = hashlib.sha1(f"{c.place_code}|{experts}".encode()).hexdigest()[:10]
    return f"{c.day:%Y%m%d}{c.half_day.value}:{digest}"


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder that is due: its unique key (per circuit) and when it fell due."""

    key: str
    due_at: datetime
    offset: Offset


def reminder_times(c: Circuit, offsets: tuple[Offset, ...], changed_at: datetime | None) -> list[Reminder]:
    """Every reminder this circuit should get in its current slot, earliest first (see the module rules)."""
    start = circuit_start(c.day, c.half_day)
    slot = slot_key(c)
    planned = sorted(
        (Reminder(f"reminder:{o.label}@{slot}", datetime.combine(c.day - timedelta(days=o.days_before), o.at, CHINA), o)
         for o in offsets),
        key=lambda r: r.due_at,
    )
    planned = [r for r in planned if r.due_at < start]
    if changed_at is None:
        return planned
    kept = [r for r in planned if r.due_at >= changed_at]
    if not kept and planned and changed_at < start:
        last = planned[-1]
        kept = [Reminder(last.key, changed_at, last.offset)]
    return kept


def due_reminder(
    c: Circuit, offsets: tuple[Offset, ...], changed_at: datetime | None, now: datetime
) -> Reminder | None:
    """The one reminder to send now (the latest one due), or None (cancelled, started, or nothing due)."""
    if c.status is not CircuitStatus.PLANNED or has_started(c, now):
        return None
    due = [r for r in reminder_times(c, offsets, changed_at) if r.due_at <= now]
    return due[-1] if due else None


def next_reminder_at(c: Circuit, offsets: tuple[Offset, ...], changed_at: datetime | None,
                     now: datetime) -> datetime | None:
    """When the next reminder of this circuit falls due after ``now``, or None."""
    if c.status is not CircuitStatus.PLANNED:
        return None
    later = [r.due_at for r in reminder_times(c, offsets, changed_at) if r.due_at > now]
    return min(later) if later else None


def briefing_offset(offsets: tuple[Offset, ...]) -> Offset:
    """When experts are briefed: at the day-before reminder's time if one is configured, else 09:00 the day before.

    The village hears "明天" at the same moment the expert gets the list, within office hours (a question can still
    be phoned through to the hospital or the village doctor), and one setting moves both.
    """
    return next((o for o in offsets if o.days_before == 1), Offset(1))


def briefing_key(c: Circuit) -> str:
    """The briefing's unique key: one per slot, so a moved circuit is briefed again and nothing twice."""
    return f"briefing@{slot_key(c)}"


def briefing_at(c: Circuit, offset: Offset) -> datetime:
    """When the circuit's experts are briefed (aware, Sanming time)."""
    return datetime.combine(c.day - timedelta(days=offset.days_before), offset.at, CHINA)


def due_briefing(c: Circuit, offset: Offset, now: datetime) -> datetime | None:
    """The briefing's planned time if it is due now (planned, not started, its time reached), else None."""
    if c.status is not CircuitStatus.PLANNED or has_started(c, now):
        return None
    at = briefing_at(c, offset)
    return at if at <= now else None


def next_briefing_at(c: Circuit, offset: Offset, now: datetime) -> datetime | None:
    """When the circuit's briefing falls due after ``now``, or None."""
    if c.status is not CircuitStatus.PLANNED:
        return None
    at = briefing_at(c, offset)
    return at if now < at < circuit_start(c.day, c.half_day) else None


def change_kind(before: Circuit, after: Circuit) -> AnnouncementKind | None:
    """The notice a change calls for: a cancellation, an update (time, place or experts), or none."""
    if after.status is CircuitStatus.CANCELLED and before.status is not CircuitStatus.CANCELLED:
        return AnnouncementKind.CANCEL
    if (before.day, before.half_day, before.place_code, before.expert_ids) != (
        after.day, after.half_day, after.place_code, after.expert_ids
    ):
        return AnnouncementKind.UPDATE
    return None


def should_fan_out(kind: AnnouncementKind, key: str, c: Circuit, offsets: tuple[Offset, ...],
                   changed_at: datetime | None, now: datetime) -> str | None:
    """None if an announcement due now should go out, else why not (started, cancelled, stale, superseded)."""
    if has_started(c, now):
        return "started"
    if kind is AnnouncementKind.CANCEL:
        return None
    if c.status is CircuitStatus.CANCELLED:
        return "cancelled"
    if kind is AnnouncementKind.UPDATE:
        return None
    if kind is AnnouncementKind.BRIEFING:
        return None if key == briefing_key(c) else "stale"
    current = due_reminder(c, offsets, changed_at, now)
    if current is None or current.key != key:
        stale = not key.endswith("@" + slot_key(c))
        return "stale" if stale else "superseded"
    return None
