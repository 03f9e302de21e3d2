"""Remote consultations (远程会诊): a session and its state machine, and how people type when it is.

A supporting hospital disposes an order as remote: one of its experts sees the resident over a video link (or in a
room of the hospital's tele-consultation system) while the resident sits at their township health center or
village post [000 一(三)]. A session is scheduled, then held (the expert records the outcome), moved (a new session
takes its place), cancelled, or the resident did not come (no-show). Every change yields an audit event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from domain.errors import DomainError, IllegalTransition
from domain.orders import AuditEvent, clean_text

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # Sanming's wall clock (no daylight saving)
MAX_ROOM = 200  # a meeting link or a room's name
MAX_ADVICE = 2000
MAX_PLAN = 1000
MAX_REASON = 500
HORIZON = timedelta(days=366)
# How long one remote consultation is taken to last: an expert's sessions must start at least this far apart.
SESSION_LENGTH = timedelta(minutes=30)
# Sessions that still hold the expert's time (a moved one was replaced, a cancelled or missed one freed it).
BUSY = ("scheduled", "held")
PAST_GRACE_DAYS = 60  # a session is scheduled within a year


class SessionStatus(StrEnum):
    """Where a remote consultation stands."""

    SCHEDULED = "scheduled"
    HELD = "held"  # the outcome is recorded
    MOVED = "moved"  # replaced by a session at another time (``moved_to_id``)
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class SessionAction(StrEnum):
    """Everything that can be done to a session; each is one explicit transition."""

    HOLD = "hold"
    MOVE = "move"
    CANCEL = "cancel"
    MARK_NO_SHOW = "mark_no_show"


SS = SessionStatus
# The whole state machine: action -> (states it may start from, state it leads to). Only a scheduled session moves.
SESSION_TRANSITIONS: dict[SessionAction, tuple[frozenset[SessionStatus], SessionStatus]] = {
    SessionAction.HOLD: (frozenset({SS.SCHEDULED}), SS.HELD),
    SessionAction.MOVE: (frozenset({SS.SCHEDULED}), SS.MOVED),
    SessionAction.CANCEL: (frozenset({SS.SCHEDULED}), SS.CANCELLED),
    SessionAction.MARK_NO_SHOW: (frozenset({SS.SCHEDULED}), SS.NO_SHOW),
}
# Only once the consultation's time has come can it have been held, or missed.
AFTER_START = frozenset({SessionAction.HOLD, SessionAction.MARK_NO_SHOW})


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder before a session: ``label`` names it in its dedupe key, ``before`` is how long ahead."""

    label: str
    before: timedelta


REMINDERS = (Reminder("1d", timedelta(days=1)), Reminder("1h", timedelta(hours=1)))


@dataclass(slots=True)
class RemoteSession:
    """One remote consultation of one order: who, where the resident sits, when, and on which link or room."""

    order_id: int
    resident_id: int
    hospital_code: str
    expert_id: int
    site_code: str  # the township health center or village post where the resident will be present
    county_code: str  # the resident's county (ledgers count per county)
    starts_at: datetime
    room: str
    created_by_staff_id: int
    created_at: datetime
    status: SessionStatus = SessionStatus.SCHEDULED
    reason: str | None = None  # why it was moved or cancelled
    previous_id: int | None = None  # the session this one replaced (moved)
    moved_to_id: int | None = None
    advice: str | None = None
    refer_up: bool | None = None
    followup_plan: str | None = None
    outcome_at: datetime | None = None
    reminded: str | None = None  # the label of the latest reminder queued ("1d", "1h")
    id: int | None = None
    version: int = 0
    updated_at: datetime | None = None
    events: list[AuditEvent] = field(default_factory=list)

    @classmethod
    def schedule(cls, *, order_id: int, resident_id: int, hospital_code: str, expert_id: int, site_code: str,
                 county_code: str, starts_at: datetime, room: str, actor_staff_id: int, actor_role: str,
                 now: datetime, previous_id: int | None = None) -> RemoteSession:
        """A new scheduled session (in the future, within a year); records a ``remote.schedule`` event."""
        check_start(starts_at, now)
        s = cls(order_id=order_id, resident_id=resident_id, hospital_code=hospital_code, expert_id=expert_id,
                site_code=site_code, county_code=county_code, starts_at=starts_at,
                room=clean_text(room, MAX_ROOM, key="remote.room"), created_by_staff_id=actor_staff_id,
                created_at=now, updated_at=now, previous_id=previous_id)
        s._record(actor_staff_id, actor_role, "schedule", None, SS.SCHEDULED, None, now,
                  {"order_id": order_id, "starts_at": starts_at.isoformat(), "previous_id": previous_id})
        return s

    @property
    def entity_id(self) -> str:
        """How audit events name this session."""
        return f"RC{self.id}" if self.id else "RC-new"

    def can(self, action: SessionAction) -> bool:
        """True if ``action`` is legal from the current status."""
        return self.status in SESSION_TRANSITIONS[action][0]

    def _move(self, action: SessionAction, now: datetime) -> tuple[SessionStatus, SessionStatus]:
        sources, target = SESSION_TRANSITIONS[action]
        if self.status not in sources:
            raise IllegalTransition("remote.illegal_transition", action=action.value, status=self.status.value)
        if action in AFTER_START and now < self.starts_at:
            raise DomainError("remote.not_started", starts=wall_clock(self.starts_at))
        before, self.status, self.updated_at = self.status, target, now
        return before, target

    def hold(self, *, advice: str, refer_up: bool, followup_plan: str | None, actor_staff_id: int,
             actor_role: str, now: datetime) -> AuditEvent:
        """Record the outcome: the expert's advice, whether to refer up, and the follow-up plan."""
        text = clean_text(advice, MAX_ADVICE, key="remote.advice")
        plan = clean_text(followup_plan, MAX_PLAN, key="remote.plan") if (followup_plan or "").strip() else None
        before, after = self._move(SessionAction.HOLD, now)
        self.advice, self.refer_up, self.followup_plan, self.outcome_at = text, bool(refer_up), plan, now
        return self._record(actor_staff_id, actor_role, "hold", before, after, None, now,
                            {"refer_up": bool(refer_up)})

    def move(self, *, starts_at: datetime, reason: str, actor_staff_id: int, actor_role: str, now: datetime,
             room: str | None = None) -> RemoteSession:
        """Move to another time: this session becomes ``moved`` and a new scheduled one (returned) replaces it."""
        why = clean_text(reason, MAX_REASON, key="remote.reason")
        if starts_at == self.starts_at:
            raise DomainError("remote.same_time")
        nxt = RemoteSession.schedule(
            order_id=self.order_id, resident_id=self.resident_id, hospital_code=self.hospital_code,
            expert_id=self.expert_id, site_code=self.site_code, county_code=self.county_code, starts_at=starts_at,
            room=room or self.room, actor_staff_id=actor_staff_id, actor_role=actor_role, now=now,
            previous_id=self.id)
        before, after = self._move(SessionAction.MOVE, now)
        self.reason = why
        self._record(actor_staff_id, actor_role, "move", before, after, why, now,
                     {"to": starts_at.isoformat()})
        return nxt

    def cancel(self, *, reason: str, actor_staff_id: int, actor_role: str, now: datetime) -> AuditEvent:
        """Cancel with a reason everyone concerned reads."""
        why = clean_text(reason, MAX_REASON, key="remote.reason")
        before, after = self._move(SessionAction.CANCEL, now)
        self.reason = why
        return self._record(actor_staff_id, actor_role, "cancel", before, after, why, now, {})

    def mark_no_show(self, *, actor_staff_id: int, actor_role: str, now: datetime) -> AuditEvent:
        """The resident did not come (once the time has come)."""
        before, after = self._move(SessionAction.MARK_NO_SHOW, now)
        return self._record(actor_staff_id, actor_role, "mark_no_show", before, after, None, now, {})

    def _record(self, actor_staff_id: int | None, role: str, action: str, before: SessionStatus | None,
                after: SessionStatus | None, reason: str | None, now: datetime,
                detail: dict[str, object]) -> AuditEvent:
        event = AuditEvent(actor_staff_id, role, action, "remote", self.entity_id,
                           before.value if before else None, after.value if after else None, reason, now,
                           {k: v for k, v in detail.items() if v is not None})
        self.events.append(event)
        return event


def overlaps(a: datetime, b: datetime) -> bool:
    """True if sessions starting at ``a`` and ``b`` would overlap (each taken to last ``SESSION_LENGTH``)."""
    return abs(a - b) < SESSION_LENGTH


def check_start(starts_at: datetime, now: datetime) -> None:
    """A session starts in the future, within a year."""
    if starts_at.tzinfo is None:
        raise ValueError("naive datetime")
    if starts_at <= now:
        raise DomainError("remote.in_the_past")
    if starts_at - now > HORIZON:
        raise DomainError("remote.too_far")


def due_reminder(s: RemoteSession, now: datetime,
                 reminders: tuple[Reminder, ...] = REMINDERS) -> Reminder | None:
    """The reminder to send now, if any: the latest one whose time has come and that was not sent yet.

    After downtime that spans both the day-before and the hour-before reminders only the hour-before one goes out
    (one message, not two in a row); a reminder is never sent once the session has started, nor twice.
    """
    if s.status is not SS.SCHEDULED or now >= s.starts_at:
        return None
    order = [r.label for r in reminders]
    # A reminder whose moment had passed when the session was set up is not sent: the notice just said it all.
    due = [r for r in reminders if s.created_at <= s.starts_at - r.before <= now]
    if not due:
        return None
    latest = min(due, key=lambda r: r.before)
    if s.reminded is not None and s.reminded in order and order.index(s.reminded) >= order.index(latest.label):
        return None
    return latest


def next_reminder_at(s: RemoteSession, now: datetime,
                     reminders: tuple[Reminder, ...] = REMINDERS) -> datetime | None:
    """When this session's next reminder falls due (None if none is left)."""
    if s.status is not SS.SCHEDULED or now >= s.starts_at:
        return None
    later = [s.starts_at - r.before for r in reminders if s.starts_at - r.before > now]
    return min(later) if later else None


def wall_clock(at: datetime) -> str:
    """A time as people read it in Sanming: "11月25日 15:00"."""
    local = at.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


# --- typed times ------------------------------------------------------------------------------------------------
_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10}
_DATE = re.compile(r"(?:(\d{4})\s*[-/年.]\s*)?(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*[日号]?")
_TIME = re.compile(r"(\d{1,2})\s*(?:[:：]\s*(\d{1,2})|[点时]\s*(半|(\d{1,2})\s*分?)?)")
_PERIOD = re.compile(r"(凌晨|早上|上午|中午|下午|傍晚|晚上|夜里|半夜)")
_NIGHT = ("晚上", "夜里", "半夜")  # "晚上12点" is the midnight at the end of that day


def _cn_number(text: str) -> str:
    """Chinese numerals up to 99 in ``text`` as digits ("下午三点半" -> "下午3点半")."""
    def one(m: re.Match[str]) -> str:
        s = m.group(0)
        if s == "十":
            return "10"
        if s.startswith("十"):
            return str(10 + _CN_DIGITS[s[1]])
        if s.endswith("十"):
            return str(_CN_DIGITS[s[0]] * 10)
        if "十" in s:
            return str(_CN_DIGITS[s[0]] * 10 + _CN_DIGITS[s[2]])
        return "".join(str(_CN_DIGITS[c]) for c in s)
    return re.sub(r"[零〇一二两三四五六七八九十]+", one, text)


def read_when(text: str, today: date) -> datetime | None:
    """``parse_when``, or None if the text is not a time (for a caller with its own words for the refusal)."""
    try:
        return parse_when(text, today)
    except DomainError:
        return None


def parse_when(text: str, today: date) -> datetime:
    """The moment a person typed, in Sanming's time (aware): "11月25日 15:00", "2026-11-25 15:00", "明天下午3点",
    "12月3日上午9点半". A date without a year is this year's, or next year's if this year's is more than two months
    past (a few days past is a slip the caller refuses, not a date a year ahead). ``DomainError`` if unreadable."""
    raw = " ".join(_cn_number((text or "").strip()).split())
    if not raw or len(raw) > 40:
        raise DomainError("remote.bad_when")
    day: date | None = None
    rest = raw
    for word, offset in _DAY_WORDS.items():
        if rest.startswith(word):
            day, rest = today + timedelta(days=offset), rest[len(word):]
            break
    if day is None:
        m = _DATE.match(rest)
        if not m:
            raise DomainError("remote.bad_when")
        year, month, dom = (int(m.group(1)) if m.group(1) else None), int(m.group(2)), int(m.group(3))
        try:
            day = date(year or today.year, month, dom)
            if year is None and (today - day).days > PAST_GRACE_DAYS:  # "1月5日" typed in December: next year
                day = date(today.year + 1, month, dom)
        except ValueError:
            raise DomainError("remote.bad_when") from None
        rest = rest[m.end():]
    rest = rest.strip()
    period = _PERIOD.match(rest)
    if period:
        rest = rest[period.end():].strip()
    t = _TIME.fullmatch(rest)
    if not t:
        raise DomainError("remote.bad_when")
    hour = int(t.group(1))
    minute = int(t.group(2)) if t.group(2) else 30 if t.group(3) == "半" else int(t.group(4)) if t.group(4) else 0
    word = period.group(1) if period else ""
    if word in _NIGHT and (hour == 12 or hour < (4 if word == "晚上" else 6)):
        # Tonight at twelve is midnight, the start of the next day (never noon); "半夜2点" the small hours after it.
        # 晚上 reaches into them only up to 3点: "晚上5点" is five in the evening, as it gets dark in winter.
        day, hour = day + timedelta(days=1), hour % 12
    elif word == "凌晨" and hour == 12:  # the small hours of the day named: the midnight that starts it
        hour = 0
    elif (word in ("下午", "傍晚", *_NIGHT) and hour < 12) or (word == "中午" and hour < 6):
        hour += 12
    # 中午, 上午 and 下午 12点 stay noon (12:00).
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DomainError("remote.bad_when")
    return datetime.combine(day, time(hour, minute), CHINA)


# --- ledgers ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RemoteLedgerRow:
    """Remote consultations of one county and supporting hospital in a period, by how they ended."""

    county_code: str
    hospital_code: str
    held: int = 0
    cancelled: int = 0
    no_show: int = 0
    scheduled: int = 0  # not yet held (or not yet recorded)
    moved: int = 0  # replaced by another session (counted there)


def remote_ledger(counts: Iterable[tuple[str, str, str, int]]) -> list[RemoteLedgerRow]:
    """Rows per (county, hospital) from (county, hospital, status, sessions) counts, sorted; with a total row
    (county and hospital "") last when there is more than one row."""
    by: dict[tuple[str, str], dict[str, int]] = {}
    for county, hospital, status, n in counts:
        cell = by.setdefault((county, hospital), {})
        cell[status] = cell.get(status, 0) + n
    rows = [RemoteLedgerRow(c, h, **{s.value: cell.get(s.value, 0) for s in SessionStatus})
            for (c, h), cell in sorted(by.items())]
    if len(rows) > 1:
        rows.append(RemoteLedgerRow("", "", *(sum(getattr(r, f) for r in rows)
                                               for f in ("held", "cancelled", "no_show", "scheduled", "moved"))))
    return rows
