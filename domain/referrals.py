"""Two-way referral (双向转诊), the upward half: reserved slots at a supporting hospital and each referral's states.

Pure rules, no storage. The NHC 2024 notice wants outpatient slots and beds reserved for the grassroots (号源和住院
床位向基层下沉): a supporting hospital publishes **slots** per department (specialty code), day and half-day (an
optional start time), each with a capacity. An order disposed "refer up" (上转) becomes a **referral** that books the
earliest free slot of its specialty within its urgency window (``URGENCY_DAYS``); with none free it waits for the
hospital to open one or pick a date.

State machine (each action one explicit transition, like ``domain.orders``)::

    waiting ──book──► booked ──arrive──► arrived ──see──► seen ──admit──► admitted ──discharge──► discharged
       │                │                                  └──────────────discharge──────────────────┘
       └──cancel──►  cancelled ◄──cancel──┘  booked ──no_show──► no_show

A discharged referral goes back down (下转) with a follow-up plan (``domain.followups``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.circuits import HalfDay
from domain.errors import DomainError, IllegalTransition
from domain.orders import MAX_REASON, AuditEvent, Urgency
from domain.staff import Role

CHINA = ZoneInfo("Asia/Shanghai")
SESSION_START = {HalfDay.AM: time(8, 0), HalfDay.PM: time(14, 30)}
# How many days after the disposition a referral must be seen. The planner lets SOON orders hardly wait for a market
# day (``PlanSettings.soon_market_penalty`` 1 day) and routine ones wait for the next (6 days); a hospital slot needs
# no market day, so the window is the planner's wait plus the two days a resident needs to arrange the trip.
URGENCY_DAYS: dict[Urgency, int] = {Urgency.SOON: 3, Urgency.ROUTINE: 14}
REMINDER_AT = time(9, 0)  # the day before the slot, Sanming time (the circuits' day-before reminder time)
MAX_CAPACITY = 200
MAX_PLACE = 100


class ReferralStatus(StrEnum):
    """Where a referral stands."""

    WAITING = "waiting"  # no free slot in the urgency window: the hospital is asked to open one
    BOOKED = "booked"
    ARRIVED = "arrived"
    SEEN = "seen"
    ADMITTED = "admitted"
    DISCHARGED = "discharged"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class ReferralAction(StrEnum):
    """Everything that can happen to a referral."""

    BOOK = "book"
    ARRIVE = "arrive"
    SEE = "see"
    ADMIT = "admit"
    DISCHARGE = "discharge"
    NO_SHOW = "no_show"
    CANCEL = "cancel"


R = ReferralStatus
RA = ReferralAction
TRANSITIONS: dict[ReferralAction, tuple[frozenset[ReferralStatus], ReferralStatus]] = {
    RA.BOOK: (frozenset({R.WAITING}), R.BOOKED),
    RA.ARRIVE: (frozenset({R.BOOKED}), R.ARRIVED),
    RA.SEE: (frozenset({R.ARRIVED}), R.SEEN),
    RA.ADMIT: (frozenset({R.SEEN}), R.ADMITTED),
    RA.DISCHARGE: (frozenset({R.SEEN, R.ADMITTED}), R.DISCHARGED),
    RA.NO_SHOW: (frozenset({R.BOOKED}), R.NO_SHOW),
    RA.CANCEL: (frozenset({R.WAITING, R.BOOKED}), R.CANCELLED),
}
FINAL = frozenset({R.DISCHARGED, R.NO_SHOW, R.CANCELLED})
# The actions a hospital marks from its /referrals list (booking and discharge have their own steps).
MARKS = (RA.ARRIVE, RA.SEE, RA.ADMIT, RA.NO_SHOW, RA.CANCEL)


def window(created: date, urgency: Urgency) -> tuple[date, date]:
    """The days a referral disposed on ``created`` may be booked on: from the next day to its urgency's limit."""
    return created + timedelta(days=1), created + timedelta(days=URGENCY_DAYS[urgency])


@dataclass(frozen=True, slots=True)
class Slot:
    """Reserved places for grassroots referrals: one department of one hospital on one half-day."""

    hospital_code: str
    specialty: str
    day: date
    half_day: HalfDay
    capacity: int
    booked: int = 0
    start: time | None = None  # the time on the ticket, when the hospital gives one (else the half-day's start)
    place: str = ""  # where to go: 门诊楼2层心内科诊区
    beds: int = 0  # inpatient beds reserved with these slots (informational)
    id: int | None = None

    @property
    def free(self) -> int:
        """Places still free."""
        return max(0, self.capacity - self.booked)

    @property
    def starts_at(self) -> datetime:
        """When the resident should be there (aware, Sanming time)."""
        return datetime.combine(self.day, self.start or SESSION_START[self.half_day], CHINA)

    def sort_key(self) -> tuple:
        """Earliest first; ties on id."""
        return (self.day, self.half_day != HalfDay.AM, self.start or SESSION_START[self.half_day], self.id or 0)


def check_slot(s: Slot) -> Slot:
    """Validate a slot a hospital publishes; raises ``DomainError`` naming what is wrong."""
    if not 0 < s.capacity <= MAX_CAPACITY:
        raise DomainError("referral.bad_capacity", limit=MAX_CAPACITY)
    if s.beds < 0 or s.beds > MAX_CAPACITY:
        raise DomainError("referral.bad_beds", limit=MAX_CAPACITY)
    if len(s.place) > MAX_PLACE:
        raise DomainError("referral.place_too_long", limit=MAX_PLACE)
    if s.start is not None:
        am = s.start < time(12, 0)
        if am != (s.half_day is HalfDay.AM):
            raise DomainError("referral.time_not_in_half_day", time=f"{s.start:%H:%M}")
    return s


def matches(slot_specialty: str, wanted: str) -> bool:
    """A slot serves the wanted specialty: the same code, or the department it belongs to (03 serves 03.04)."""
    return slot_specialty == wanted or (("." in wanted) and slot_specialty == wanted.split(".")[0])


def pick_slots(slots: Iterable[Slot], specialty: str, first: date, last: date, now: datetime) -> list[Slot]:
    """Free slots for ``specialty`` between ``first`` and ``last`` that start after ``now``, best first.

    The exact department before its parent, then the earliest; the caller books the first it can (another booker
    may take the last place in between)."""
    ok = [s for s in slots if s.free > 0 and first <= s.day <= last and s.starts_at > now and matches(s.specialty,
                                                                                                       specialty)]
    return sorted(ok, key=lambda s: (s.specialty != specialty, s.sort_key()))


def reminder_due(slot: Slot, booked_at: datetime) -> datetime | None:
    """When the day-before reminder goes out; None when the booking came after that time (its notice suffices)."""
    due = datetime.combine(slot.day - timedelta(days=1), REMINDER_AT, CHINA)
    return due if booked_at < due else None


@dataclass(slots=True)
class Referral:
    """One resident referred up to a supporting hospital for one order."""

    order_id: int
    resident_id: int
    hospital_code: str
    specialty: str
    urgency: Urgency
    post_code: str  # the village post that filed the order: the down-referral goes back there
    created_at: datetime
    status: ReferralStatus = ReferralStatus.WAITING
    slot_id: int | None = None
    note: str | None = None  # the hospital's arrangement, as typed at the disposition
    booked_at: datetime | None = None
    reminder_due_at: datetime | None = None
    discharged_at: datetime | None = None
    plan: str | None = None  # the follow-up plan sent down at discharge
    id: int | None = None
    version: int = 0
    updated_at: datetime | None = None
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def entity_id(self) -> str:
        """How audit events name this referral."""
        return str(self.id or "new")

    def can(self, action: ReferralAction) -> bool:
        """True if ``action`` is legal from the current status."""
        return self.status in TRANSITIONS[action][0]

    def apply(self, action: ReferralAction, *, actor_staff_id: int | None, actor_role: Role | str, now: datetime,
              slot: Slot | None = None, reason: str | None = None, plan: str | None = None) -> AuditEvent:
        """Move the referral by ``action``; raises ``IllegalTransition`` if not allowed from here."""
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise IllegalTransition("referral.illegal_transition", action=action.value, status=self.status.value)
        if action is RA.BOOK:
            if slot is None or slot.id is None:
                raise DomainError("referral.slot_missing")
            self.slot_id = slot.id
            self.booked_at = now
            self.reminder_due_at = reminder_due(slot, now)
        if action is RA.DISCHARGE:
            self.discharged_at = now
            self.plan = (plan or "").strip()[:MAX_REASON] or None
        before = self.status
        self.status = target
        self.updated_at = now
        detail: dict[str, object] = {"slot_id": slot.id} if slot is not None and slot.id is not None else {}
        event = AuditEvent(actor_staff_id, str(actor_role), f"referral_{action.value}", "referral", self.entity_id,
                           before.value, target.value, (reason or "").strip()[:MAX_REASON] or None, now, detail)
        self.events.append(event)
        return event
