"""The circuit planner (巡诊排班): a month's proposed circuits from awaiting orders, frequency rules and staff.

Pure domain logic: the caller passes plain data (places, institutions, support relations, staff, leave,
awaiting orders, circuits already planned, last visits) and a ``Calendar`` (holidays, workdays, lunar days);
nothing is read or written here. ``propose_plan`` returns a ``PlanProposal``; ``format_proposal`` renders it
in Chinese for the command line.

Model
-----
* A circuit's level is the level of the place it visits: a county seat (the county general hospital) is
  COUNTY-level, a township health center TOWNSHIP-level, a village post VILLAGE-level. Frequency rules
  [002 §四(三)]: each county ≥ 1 a calendar quarter, each township ≥ 1 a calendar month, each village
  ≥ 1 every 7 days (the first due date is ``last visit + 7``, or the 7th of the month when no visit is known).
* Orders are seen at the township health center of the order's village, on the township's market day
  (圩日) when possible: villagers come to town on market days anyway [000 二(一)].
* An expert is a ``Staff`` of a supporting institution; a "session" is one expert, at one place, on one
  half-day. Sessions of the same hospital at the same place and half-day are shown as one circuit.
* Support is taken as in force for the month if it is in force on both the first and the last planning day
  (relations are date intervals, so that means all month): two reachability walks per institution instead
  of one per day keeps the planner fast at city scale.

Algorithm (greedy and deterministic: ties always break on date, then code or id)
-------------------------------------------------------------------------------
0. Planning days are the workdays of the month (from ``earliest_day``) that are not public holidays.
   Circuits already planned mark their experts busy and count toward frequency and expert days.
1. Orders, SOON before ROUTINE, oldest first. An order joins the earliest session of its
   (township, specialty) bucket that still has room (``capacity_per_half_day``, default 20) and is not
   before the order was filed. Otherwise a new session opens: days are ranked by
   ``days after the earliest possible day + (0 on a market day, else a penalty)`` — 6 days for routine
   orders (market days come every 5 days, so they wait for the next 圩日), 1 day for SOON ones — and on
   the best day the least-loaded free expert (fewest half-days so far, then id) with the specialty, from a
   hospital that supports the village, takes the morning, else the afternoon. Exact specialty first; only
   if nobody in reach has it, a generalist of the parent department (03 for 03.04). No expert in reach →
   uncovered "no_specialist"; no free half-day → uncovered "no_free_slot".
2. Counties and townships not yet visited in their period get one half-day circuit from an institution
   that supports them directly, market day preferred, staffed by an expert who has no day at a supported
   unit yet (to serve rule 3 at the same time), else the least loaded.
3. Each dispatched physician (staff of an institution that directly supports someone) is given at least
   ``min_days_at_supported_unit`` days at supported units: a whole day (both half-days if free) at the
   directly supported unit with the fewest visits this month.
4. Villages: the chain of weekly due dates is walked; where no visit falls before a due date, the latest
   free day in the week before it (so the weekday stays fixed, "时间相对固定") is booked for staff of the
   village's direct supporter — the township health center, which the seeds make responsible for village
   circuits [002 §四(一)]. Misses are reported overdue with the first missed due date.
5. Figures: waits are ``circuit day − order filed``; the mean is over covered orders, the 90th percentile
   uses the nearest-rank method (the ⌈0.9·n⌉-th smallest wait).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay, month_day
from domain.errors import DomainError
from domain.orders import Order, Urgency
from domain.places import Institution, InstitutionKind, Place, PlaceLevel
from domain.specialties import catalogue
from domain.staff import Staff
from domain.support import SupportNetwork

ONE_DAY = timedelta(days=1)
HALVES = (HalfDay.AM, HalfDay.PM)


class Calendar(Protocol):
    """What the planner needs to know about days; ``bot.calendar_cn.ChineseCalendar`` is the real one."""

    def is_holiday(self, d: date) -> bool:
        """True on a public holiday (法定节假日 and the days off around it), not on a plain weekend."""
        ...

    def is_workday(self, d: date) -> bool:
        """True on a working day (weekdays and adjusted working weekends, 调休), False on days off."""
        ...

    def lunar_day(self, d: date) -> int:
        """The day of the lunar month, 1..30."""
        ...


# ---------------------------------------------------------------------------------------------- months and market days


def parse_month(text: str) -> date:
    """The first day of the month written ``YYYY-MM``; ``DomainError('plan.month_invalid')`` otherwise."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise DomainError("plan.month_invalid", month=text) from None


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the month containing ``month``."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - ONE_DAY


def quarter_bounds(month: date) -> tuple[date, date]:
    """First and last day of the calendar quarter containing ``month``."""
    q_first = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
    return q_first, month_bounds(date(q_first.year, q_first.month + 2, 1))[1]


def parse_market_rule(rule: str) -> tuple[str, frozenset[int]]:
    """``lunar:3,8`` → ("lunar", {3, 8, 13, 18, 23, 28}): 1..10 repeat every ten days (逢三逢八), 11..31 are exact."""
    kind, _, digits = rule.strip().partition(":")
    if kind not in ("lunar", "solar") or not digits:
        raise DomainError("place.market_days_invalid", rule=rule)
    days: set[int] = set()
    try:
        bases = [int(part) for part in digits.split(",")]
    except ValueError:
        raise DomainError("place.market_days_invalid", rule=rule) from None
    for base in bases:
        if not 1 <= base <= 31:
            raise DomainError("place.market_days_invalid", rule=rule)
        # 逢十 means the 10th, 20th and 30th; 逢一 the 1st, 11th, 21st (and a solar 31st).
        days.update(range(base, 32, 10) if base <= 10 else (base,))
    return kind, frozenset(days)


def market_days_in(month: date, rule: str | None, calendar: Calendar) -> list[date]:
    """The dates of ``month`` that are market days (圩日) under ``rule`` such as ``lunar:3,8`` or ``solar:5,10``."""
    if not rule:
        return []
    kind, numbers = parse_market_rule(rule)
    first, last = month_bounds(month)
    out = []
    d = first
    while d <= last:
        if (calendar.lunar_day(d) if kind == "lunar" else d.day) in numbers:
            out.append(d)
        d += ONE_DAY
    return out


# ------------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True, slots=True)
class AwaitingOrder:
    """An order awaiting a circuit, as the planner sees it."""

    id: int
    village_code: str
    post_code: str
    specialty: str | None
    urgency: Urgency
    created: date

    @classmethod
    def from_order(cls, order: Order) -> AwaitingOrder:
        """The planner's view of a stored ``Order`` (which must have an id)."""
        if order.id is None:
            raise DomainError("plan.order_without_id")
        return cls(
            id=order.id,
            village_code=order.village_code,
            post_code=order.post_code,
            specialty=order.confirmed_specialty,
            urgency=order.urgency,
            created=order.created_at.date(),
        )


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """Knobs of the planner; the defaults follow the seeds."""

    capacity_per_half_day: int = 20  # patients one expert sees in a half-day session
    routine_market_penalty: int = 6  # days a routine order may wait longer to land on a market day
    soon_market_penalty: int = 1  # SOON orders hardly wait for a market day
    min_days_at_supported_unit: int = 1  # [003 §二(一)]
    hospital_code: str | None = None  # plan for one supporting institution only (``--hospital``)
    plan_village_visits: bool = True


@dataclass(slots=True)
class PlanInputs:
    """Everything the planner reads; plain data, built by the caller from storage."""

    month: date
    places: Sequence[Place]
    institutions: Sequence[Institution]
    support: SupportNetwork
    experts: Sequence[Staff]  # staff who may be dispatched; inactive ones and ones without id are ignored
    orders: Sequence[AwaitingOrder]
    leave: Mapping[int, AbstractSet[date]] = field(default_factory=dict)
    existing: Sequence[Circuit] = ()
    last_visits: Mapping[tuple[str, CircuitLevel], date] = field(default_factory=dict)
    earliest_day: date | None = None  # nothing is planned before this day (e.g. tomorrow)
    settings: PlanSettings = field(default_factory=PlanSettings)


# ----------------------------------------------------------------------------------------------------- outputs


class Purpose(StrEnum):
    """Why a circuit was proposed."""

    ORDERS = "orders"
    FREQUENCY = "frequency"
    STATIONING = "stationing"  # the physician's day a month at the supported unit


class UncoveredReason(StrEnum):
    """Why an order got no circuit this month."""

    UNKNOWN_PLACE = "unknown_place"
    NO_SPECIALTY = "no_specialty"
    NO_SUPPORTER = "no_supporter"
    NO_SPECIALIST = "no_specialist"
    NO_FREE_SLOT = "no_free_slot"


class FrequencyStatus(StrEnum):
    """Whether a place's frequency rule holds for the period."""

    MET = "met"
    OVERDUE = "overdue"
    PENDING = "pending"  # not met yet, but due only after this month (a quarter not yet over)


@dataclass(frozen=True, slots=True)
class ProposedCircuit:
    """One proposed circuit: a hospital's experts at a place on a half-day."""

    hospital_code: str
    place_code: str
    day: date
    half_day: HalfDay
    level: CircuitLevel
    purpose: Purpose
    expert_ids: tuple[int, ...]
    order_ids: tuple[int, ...]
    specialties: tuple[str, ...]
    market_day: bool

    def to_circuit(self) -> Circuit:
        """The storable ``Circuit`` (status planned, no id yet)."""
        return Circuit(
            self.hospital_code, self.place_code, self.day, self.half_day, self.level, frozenset(self.expert_ids)
        )


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """Where and when an order would be seen, or why it would not."""

    order_id: int
    village_code: str
    specialty: str | None
    urgency: Urgency
    created: date
    day: date | None = None
    half_day: HalfDay | None = None
    place_code: str | None = None
    expert_id: int | None = None
    reason: UncoveredReason | None = None

    @property
    def covered(self) -> bool:
        """True if the order has a circuit this month."""
        return self.day is not None

    @property
    def wait_days(self) -> int | None:
        """Days from filing to the circuit, or None if uncovered."""
        return None if self.day is None else (self.day - self.created).days


@dataclass(frozen=True, slots=True)
class FrequencyCheck:
    """A place's frequency rule for the period that ends in or after this month."""

    place_code: str
    level: CircuitLevel
    status: FrequencyStatus
    due: date  # end of the period, or the first missed weekly due date
    visits: tuple[date, ...]  # visits in the period (existing and proposed)
    reason: str | None = None  # "no_staff" or "no_free_slot" when not met


@dataclass(frozen=True, slots=True)
class ExpertMonth:
    """One staff member's month: half-days, days, and days at supported units."""

    staff_id: int
    name: str
    institution_code: str
    dispatched: bool  # their institution directly supports someone, so the one-day rule applies
    half_days: int
    days: int
    days_at_supported_units: int
    minimum: int

    @property
    def below_minimum(self) -> bool:
        """True if a dispatched physician has fewer days at supported units than the rule asks."""
        return self.dispatched and self.days_at_supported_units < self.minimum


@dataclass(frozen=True, slots=True)
class Conflict:
    """Something the planner found but could not resolve."""

    kind: str
    message: str  # Chinese, for the reviewer


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """The month at a glance."""

    orders_total: int
    orders_covered: int
    mean_wait: float | None
    p90_wait: int | None
    expert_days: int  # distinct (expert, date) pairs in proposed circuits
    expert_half_days: int
    circuits: int
    overdue_places: int

    @property
    def coverage(self) -> float:
        """Share of orders covered, 1.0 when there are none."""
        return self.orders_covered / self.orders_total if self.orders_total else 1.0


@dataclass(slots=True)
class PlanProposal:
    """The planner's answer: circuits, per-order outcomes, figures, frequency, expert days, conflicts."""

    month: date
    circuits: list[ProposedCircuit]
    orders: dict[int, OrderPlan]
    figures: PlanFigures
    frequency: list[FrequencyCheck]
    experts: list[ExpertMonth]
    conflicts: list[Conflict]
    planning_days: list[date]
    place_names: dict[str, str] = field(default_factory=dict)
    institution_names: dict[str, str] = field(default_factory=dict)

    @property
    def overdue(self) -> list[FrequencyCheck]:
        """Places whose frequency rule would be broken."""
        return [f for f in self.frequency if f.status is FrequencyStatus.OVERDUE]

    @property
    def experts_below_minimum(self) -> list[ExpertMonth]:
        """Dispatched physicians short of their days at supported units."""
        return [e for e in self.experts if e.below_minimum]


def wait_figures(waits: Sequence[int]) -> tuple[float | None, int | None]:
    """Mean and nearest-rank 90th percentile of ``waits`` (None, None when empty)."""
    if not waits:
        return None, None
    ordered = sorted(waits)
    return sum(ordered) / len(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1]


# ----------------------------------------------------------------------------------------------------- planner

LEVEL_OF_PLACE = {
    PlaceLevel.COUNTY: CircuitLevel.COUNTY,
    PlaceLevel.TOWNSHIP: CircuitLevel.TOWNSHIP,
    PlaceLevel.VILLAGE: CircuitLevel.VILLAGE,
}
UNIT_KINDS = {
    PlaceLevel.COUNTY: (InstitutionKind.COUNTY_HOSPITAL,),
    PlaceLevel.TOWNSHIP: (InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER),
    PlaceLevel.VILLAGE: (InstitutionKind.VILLAGE_POST,),
}


@dataclass(slots=True)
class _Session:
    expert_id: int
    hospital_code: str
    place_code: str
    day: date
    half_day: HalfDay
    level: CircuitLevel
    purpose: Purpose
    specialty: str | None = None
    order_ids: list[int] = field(default_factory=list)


class _Planner:
    def __init__(self, inputs: PlanInputs, calendar: Calendar):
        self.inputs = inputs
        self.settings = inputs.settings
        self.calendar = calendar
        self.first, self.last = month_bounds(inputs.month)
        start = max(self.first, inputs.earliest_day or self.first)
        self.days: list[date] = []
        d = start
        while d <= self.last:
            if calendar.is_workday(d) and not calendar.is_holiday(d):
                self.days.append(d)
            d += ONE_DAY
        self.conflicts: list[Conflict] = []

        self.places = {p.code: p for p in inputs.places}
        self.unit_at: dict[str, str] = {}  # place code -> the unit visited there
        self.place_of_inst: dict[str, str] = {}
        self.inst_names: dict[str, str] = {}
        for inst in sorted(inputs.institutions, key=lambda i: i.code):
            self.place_of_inst[inst.code] = inst.place_code
            self.inst_names[inst.code] = inst.name
            place = self.places.get(inst.place_code)
            if place is not None and inst.kind in UNIT_KINDS.get(place.level, ()):
                self.unit_at.setdefault(place.code, inst.code)
        self._township: dict[str, str] = {}
        self._market: dict[str, frozenset[date]] = {}

        staff = [s for s in inputs.experts if s.active and s.id is not None]
        if self.settings.hospital_code:
            staff = [s for s in staff if s.institution_code == self.settings.hospital_code]
        self.staff = {s.id: s for s in sorted(staff, key=lambda s: s.id or 0) if s.id is not None}
        self.leave = {sid: frozenset(days) for sid, days in inputs.leave.items()}
        self.no_leave: frozenset[date] = frozenset()

        # Support snapshot (see the module docstring): in force on the first and on the last planning day.
        a, b = (self.days[0], self.days[-1]) if self.days else (self.first, self.last)
        self.reach: dict[str, frozenset[str]] = {}
        self.direct: dict[str, frozenset[str]] = {}
        for code in sorted({s.institution_code for s in self.staff.values()}):
            self.reach[code] = frozenset(inputs.support.reachable(code, a) & inputs.support.reachable(code, b))
            self.direct[code] = frozenset(
                inputs.support.directly_supported(code, a) & inputs.support.directly_supported(code, b)
            )
        self.direct_staff: dict[str, list[int]] = defaultdict(list)  # unit -> staff of its direct supporters
        for sid, s in self.staff.items():
            for unit in self.direct[s.institution_code]:
                self.direct_staff[unit].append(sid)
        self.by_specialty: dict[str, list[int]] = defaultdict(list)
        for sid, s in self.staff.items():
            for code in s.specialties:
                self.by_specialty[code].append(sid)
        self._candidates: dict[tuple[str, str, str], tuple[tuple[int, ...], bool]] = {}

        self.busy: dict[tuple[int, date, HalfDay], str] = {}
        self.load: Counter[int] = Counter()
        self.unit_days: dict[int, set[date]] = defaultdict(set)  # dates at supported units, per expert
        self.visits: dict[str, list[date]] = defaultdict(list)
        self.sessions: list[_Session] = []
        self.outcomes: dict[int, OrderPlan] = {}
        self._load_existing()

    # -- helpers

    def township_of(self, code: str) -> str:
        """The township above a village (or the village's parent when it has none), cached."""
        if code in self._township:
            return self._township[code]
        place = self.places.get(code)
        found: str | None = None
        cur = place
        seen: set[str] = set()
        while cur is not None and cur.code not in seen:
            seen.add(cur.code)
            if cur.level is PlaceLevel.TOWNSHIP:
                found = cur.code
                break
            cur = self.places.get(cur.parent_code) if cur.parent_code else None
        if found is None and place is not None:
            # A village straight under a county (urban community): see its patients at its parent.
            found = place.parent_code if place.parent_code in self.places else place.code
        self._township[code] = found or code
        return self._township[code]

    def market(self, place_code: str) -> frozenset[date]:
        if place_code not in self._market:
            place = self.places.get(place_code)
            rule = place.market_days if place is not None and place.level is PlaceLevel.TOWNSHIP else None
            self._market[place_code] = frozenset(market_days_in(self.first, rule, self.calendar))
        return self._market[place_code]

    def level_of(self, place_code: str) -> CircuitLevel:
        place = self.places.get(place_code)
        return LEVEL_OF_PLACE.get(place.level, CircuitLevel.VILLAGE) if place else CircuitLevel.VILLAGE

    def at_supported_unit(self, staff_id: int, place_code: str) -> bool:
        s = self.staff.get(staff_id)
        unit = self.unit_at.get(place_code)
        return s is not None and unit is not None and unit in self.reach.get(s.institution_code, ())

    def ranked_days(self, place_code: str, earliest: date, penalty: int) -> list[date]:
        """Planning days from ``earliest``, best first: market days count ``penalty`` days nearer."""
        market = self.market(place_code)
        days = [d for d in self.days if d >= earliest]
        return sorted(days, key=lambda d: ((d - earliest).days + (0 if d in market else penalty), d))

    def free_half(self, sid: int, d: date, halves: Iterable[HalfDay] = HALVES) -> HalfDay | None:
        if d in self.leave.get(sid, self.no_leave):
            return None
        return next((h for h in halves if (sid, d, h) not in self.busy), None)

    def book(self, sid: int, place_code: str, d: date, h: HalfDay, purpose: Purpose, spec: str | None) -> _Session:
        s = self.staff[sid]
        session = _Session(sid, s.institution_code, place_code, d, h, self.level_of(place_code), purpose, spec)
        self.busy[(sid, d, h)] = place_code
        self.load[sid] += 1
        if self.at_supported_unit(sid, place_code):
            self.unit_days[sid].add(d)
        self.visits[place_code].append(d)
        self.sessions.append(session)
        return session

    def book_first(
        self, staff: Sequence[int], place_code: str, days: Iterable[date], purpose: Purpose, spec: str | None = None
    ) -> _Session | None:
        """Book the first day in ``days`` on which one of ``staff`` (in the given order) has a free half-day."""
        for d in days:
            for sid in staff:
                h = self.free_half(sid, d)
                if h is not None:
                    return self.book(sid, place_code, d, h, purpose, spec)
        return None

    def by_load(self, staff: Iterable[int]) -> list[int]:
        return sorted(staff, key=lambda sid: (self.load[sid], sid))

    # -- 0: what is already planned

    def _load_existing(self) -> None:
        for c in sorted(self.inputs.existing, key=lambda c: (c.day, c.half_day, c.place_code)):
            if c.status is CircuitStatus.CANCELLED:
                continue
            self.visits[c.place_code].append(c.day)
            if not self.first <= c.day <= self.last:
                continue
            for sid in sorted(c.expert_ids):
                key = (sid, c.day, c.half_day)
                other = self.busy.get(key)
                if other is not None and other != c.place_code:
                    self.conflicts.append(
                        Conflict(
                            "double_booked",
                            f"已排巡诊冲突：{self.staff_label(sid)} 在 {month_day(c.day)}{_HALF[c.half_day]}同时在 "
                            f"{self.place_name(other)} 和 {self.place_name(c.place_code)}",
                        )
                    )
                if c.day in self.leave.get(sid, self.no_leave):
                    self.conflicts.append(
                        Conflict(
                            "on_leave",
                            f"已排巡诊冲突：{self.staff_label(sid)} 在 {month_day(c.day)} 请假，"
                            f"但已排在 {self.place_name(c.place_code)}",
                        )
                    )
                self.busy[key] = c.place_code
                if sid in self.staff:
                    self.load[sid] += 1
                    if self.at_supported_unit(sid, c.place_code):
                        self.unit_days[sid].add(c.day)
        for (code, _level), d in self.inputs.last_visits.items():
            self.visits[code].append(d)

    def staff_label(self, sid: int) -> str:
        s = self.staff.get(sid)
        return f"{s.name}（{sid}）" if s else f"专家 {sid}"

    def place_name(self, code: str) -> str:
        p = self.places.get(code)
        return p.name if p else code

    # -- 1: orders

    def candidates(self, order: AwaitingOrder, circuit_place: str) -> tuple[tuple[int, ...], bool]:
        """Experts who may see the order (exact specialty, else parent generalists) and whether anyone supports it."""
        spec = order.specialty or ""
        key = (order.post_code, circuit_place, spec)
        if key in self._candidates:
            return self._candidates[key]
        units = {order.post_code, self.unit_at.get(circuit_place, ""), self.unit_at.get(order.village_code, "")}
        reaching = {code for code, reach in self.reach.items() if units & reach}
        exact = tuple(sid for sid in self.by_specialty.get(spec, ()) if self.staff[sid].institution_code in reaching)
        if not exact and "." in spec:
            parent = spec.split(".")[0]
            exact = tuple(
                sid for sid in self.by_specialty.get(parent, ()) if self.staff[sid].institution_code in reaching
            )
        self._candidates[key] = (exact, bool(reaching))
        return self._candidates[key]

    def plan_orders(self) -> None:
        cap = self.settings.capacity_per_half_day
        buckets: dict[tuple[str, str], list[_Session]] = defaultdict(list)
        ordered = sorted(self.inputs.orders, key=lambda o: (0 if o.urgency is Urgency.SOON else 1, o.created, o.id))
        for o in ordered:
            base = OrderPlan(o.id, o.village_code, o.specialty, o.urgency, o.created)
            if o.village_code not in self.places:
                self.outcomes[o.id] = _uncovered(base, UncoveredReason.UNKNOWN_PLACE)
                continue
            if not o.specialty:
                self.outcomes[o.id] = _uncovered(base, UncoveredReason.NO_SPECIALTY)
                continue
            place = self.township_of(o.village_code)
            experts, supported = self.candidates(o, place)
            if not supported and self.settings.hospital_code:
                continue  # another hospital's order: not part of this hospital's plan
            session = None
            for s in buckets[(place, o.specialty)]:
                if len(s.order_ids) < cap and s.day >= o.created and (session is None or s.day < session.day):
                    session = s
            if session is None:
                if not supported:
                    self.outcomes[o.id] = _uncovered(base, UncoveredReason.NO_SUPPORTER)
                    continue
                if not experts:
                    self.outcomes[o.id] = _uncovered(base, UncoveredReason.NO_SPECIALIST)
                    continue
                penalty = (
                    self.settings.soon_market_penalty
                    if o.urgency is Urgency.SOON
                    else self.settings.routine_market_penalty
                )
                days = self.ranked_days(place, o.created, penalty)
                session = self.book_first(self.by_load(experts), place, days, Purpose.ORDERS, o.specialty)
                if session is None:
                    self.outcomes[o.id] = _uncovered(base, UncoveredReason.NO_FREE_SLOT)
                    continue
                buckets[(place, o.specialty)].append(session)
            session.order_ids.append(o.id)
            self.outcomes[o.id] = OrderPlan(
                o.id,
                o.village_code,
                o.specialty,
                o.urgency,
                o.created,
                session.day,
                session.half_day,
                session.place_code,
                session.expert_id,
            )

    # -- 2: county and township frequency

    def scope(self) -> list[str]:
        """Places whose frequency rules this plan answers for, by code."""
        if self.settings.hospital_code:
            units = self.direct.get(self.settings.hospital_code, frozenset())
        else:
            units = frozenset().union(*self.reach.values()) if self.reach else frozenset()
        return sorted(p for p, unit in self.unit_at.items() if unit in units)

    def plan_periodic(self, place_code: str, level: CircuitLevel) -> FrequencyCheck:
        p_first, p_last = quarter_bounds(self.first) if level is CircuitLevel.COUNTY else (self.first, self.last)
        in_period = sorted(d for d in self.visits[place_code] if p_first <= d <= p_last)
        if in_period:
            return FrequencyCheck(place_code, level, FrequencyStatus.MET, p_last, tuple(in_period))
        staff = self.direct_staff.get(self.unit_at[place_code], [])
        reason = "no_staff"
        if staff:
            ranked = sorted(staff, key=lambda sid: (bool(self.unit_days[sid]), self.load[sid], sid))
            days = self.ranked_days(place_code, self.first, self.settings.routine_market_penalty)
            session = self.book_first(ranked, place_code, days, Purpose.FREQUENCY)
            if session is not None:
                return FrequencyCheck(place_code, level, FrequencyStatus.MET, p_last, (session.day,))
            reason = "no_free_slot"
        status = FrequencyStatus.OVERDUE if p_last <= self.last else FrequencyStatus.PENDING
        return FrequencyCheck(place_code, level, status, p_last, (), reason)

    # -- 3: a day a month at the supported unit

    def plan_stationing(self) -> None:
        need = self.settings.min_days_at_supported_unit
        for sid, s in self.staff.items():
            units = sorted(u for u in self.direct.get(s.institution_code, ()) if u in self.place_of_inst)
            if not units:
                continue
            while len(self.unit_days[sid]) < need:
                if not self._station_one_day(sid, units):
                    self.conflicts.append(
                        Conflict(
                            "no_stationing_day",
                            f"{s.name}（{sid}）本月没有空闲日可到受援单位，少于每月 {need} 天",
                        )
                    )
                    break

    def _station_one_day(self, sid: int, units: list[str]) -> bool:
        def visits_this_month(unit: str) -> int:
            return sum(1 for d in self.visits[self.place_of_inst[unit]] if self.first <= d <= self.last)

        for unit in sorted(units, key=lambda u: (visits_this_month(u), u)):
            place = self.place_of_inst[unit]
            days = [
                d
                for d in self.ranked_days(place, self.first, self.settings.routine_market_penalty)
                if d not in self.unit_days[sid]
            ]
            # A whole day where possible: the rule says a day, and a half-day is the fallback.
            for whole in (True, False):
                for d in days:
                    halves = [h for h in HALVES if self.free_half(sid, d, (h,)) is not None]
                    if halves and (len(halves) == 2 or not whole):
                        for h in halves:
                            self.book(sid, place, d, h, Purpose.STATIONING, None)
                        return True
        return False

    # -- 4: villages, weekly

    def plan_weekly(self, place_code: str) -> FrequencyCheck:
        staff = self.direct_staff.get(self.unit_at[place_code], []) if self.settings.plan_village_visits else []
        known = sorted(set(self.visits[place_code]))
        before = [d for d in known if d < self.first]
        ahead = [d for d in known if self.first <= d <= self.last]
        anchor = before[-1] if before else None
        due = anchor + timedelta(days=7) if anchor else self.first + timedelta(days=6)
        first_missed: date | None = None
        reason: str | None = None
        late = False
        i = 0
        start = self.days[0] if self.days else self.last + ONE_DAY
        if due < self.first:
            first_missed, late = due, True
            anchor, due = self.first - ONE_DAY, self.first + timedelta(days=6)
        while due <= self.last:
            nxt = ahead[i] if i < len(ahead) else None
            if nxt is not None and nxt <= due:
                anchor, due, late, i = nxt, nxt + timedelta(days=7), False, i + 1
                continue
            lo = max(anchor + ONE_DAY if anchor else self.first, start)
            window = [d for d in self.days if lo <= d <= due]
            session = None
            if staff and window:
                # Latest first keeps the weekday fixed; after a miss, catch up as early as possible.
                ordered = window if late else window[::-1]
                session = self.book_first(self.by_load(staff), place_code, ordered, Purpose.FREQUENCY)
            if session is not None:
                anchor, due, late = session.day, session.day + timedelta(days=7), False
                continue
            first_missed = first_missed or due
            reason = reason or ("no_free_slot" if staff else "no_staff")
            anchor, due, late = due, due + timedelta(days=7), True
        visits = tuple(sorted(d for d in self.visits[place_code] if self.first <= d <= self.last))
        if first_missed is not None:
            return FrequencyCheck(
                place_code, CircuitLevel.VILLAGE, FrequencyStatus.OVERDUE, first_missed, visits, reason or "no_staff"
            )
        return FrequencyCheck(place_code, CircuitLevel.VILLAGE, FrequencyStatus.MET, due, visits)

    # -- 5: results

    def run(self) -> PlanProposal:
        self.plan_orders()
        scope = self.scope()
        checks: dict[str, FrequencyCheck] = {}
        for code in scope:
            level = self.level_of(code)
            if level in (CircuitLevel.COUNTY, CircuitLevel.TOWNSHIP):
                checks[code] = self.plan_periodic(code, level)
        self.plan_stationing()
        for code in scope:
            if self.level_of(code) is CircuitLevel.VILLAGE:
                checks[code] = self.plan_weekly(code)
        frequency = [checks[c] for c in scope]
        circuits = self.merge_sessions()
        waits = [w for o in self.outcomes.values() if (w := o.wait_days) is not None]
        mean, p90 = wait_figures(waits)
        figures = PlanFigures(
            orders_total=len(self.outcomes),
            orders_covered=len(waits),
            mean_wait=mean,
            p90_wait=p90,
            expert_days=len({(s.expert_id, s.day) for s in self.sessions}),
            expert_half_days=len(self.sessions),
            circuits=len(circuits),
            overdue_places=sum(1 for f in frequency if f.status is FrequencyStatus.OVERDUE),
        )
        experts = []
        dates = self._expert_dates()
        for sid, s in self.staff.items():
            experts.append(
                ExpertMonth(
                    staff_id=sid,
                    name=s.name,
                    institution_code=s.institution_code,
                    dispatched=bool(self.direct.get(s.institution_code)),
                    half_days=self.load[sid],
                    days=len(dates[sid]),
                    days_at_supported_units=len(self.unit_days[sid]),
                    minimum=self.settings.min_days_at_supported_unit,
                )
            )
        names_needed = {c.place_code for c in circuits} | {f.place_code for f in frequency}
        for o in self.outcomes.values():
            names_needed.add(o.village_code)
        return PlanProposal(
            month=self.first,
            circuits=circuits,
            orders=dict(sorted(self.outcomes.items())),
            figures=figures,
            frequency=frequency,
            experts=experts,
            conflicts=self.conflicts,
            planning_days=list(self.days),
            place_names={c: self.places[c].name for c in sorted(names_needed) if c in self.places},
            institution_names={
                c.hospital_code: self.inst_names.get(c.hospital_code, c.hospital_code) for c in circuits
            },
        )

    def _expert_dates(self) -> dict[int, set[date]]:
        dates: dict[int, set[date]] = defaultdict(set)
        for sid, d, _h in self.busy:
            if self.first <= d <= self.last:
                dates[sid].add(d)
        return dates

    def merge_sessions(self) -> list[ProposedCircuit]:
        groups: dict[tuple[str, str, date, HalfDay, CircuitLevel, Purpose], list[_Session]] = defaultdict(list)
        for s in self.sessions:
            groups[(s.hospital_code, s.place_code, s.day, s.half_day, s.level, s.purpose)].append(s)
        out = []
        for (hospital, place, d, h, level, purpose), sessions in groups.items():
            out.append(
                ProposedCircuit(
                    hospital_code=hospital,
                    place_code=place,
                    day=d,
                    half_day=h,
                    level=level,
                    purpose=purpose,
                    expert_ids=tuple(sorted({s.expert_id for s in sessions})),
                    order_ids=tuple(sorted(oid for s in sessions for oid in s.order_ids)),
                    specialties=tuple(sorted({s.specialty for s in sessions if s.specialty})),
                    market_day=d in self.market(place),
                )
            )
        return sorted(out, key=lambda c: (c.day, c.half_day != HalfDay.AM, c.place_code, c.hospital_code, c.purpose))


def _uncovered(base: OrderPlan, reason: UncoveredReason) -> OrderPlan:
    return OrderPlan(base.order_id, base.village_code, base.specialty, base.urgency, base.created, reason=reason)


def propose_plan(inputs: PlanInputs, calendar: Calendar) -> PlanProposal:
    """Propose the month's circuits (see the module docstring for the algorithm)."""
    return _Planner(inputs, calendar).run()


# ------------------------------------------------------------------------------------------------------ format

_HALF = {HalfDay.AM: "上午", HalfDay.PM: "下午"}
_LEVEL = {
    CircuitLevel.COUNTY: "县级",
    CircuitLevel.TOWNSHIP: "乡级",
    CircuitLevel.VILLAGE: "村级",
    CircuitLevel.MOBILE: "移动医院",
}
_RULE = {CircuitLevel.COUNTY: "每季度≥1次", CircuitLevel.TOWNSHIP: "每月≥1次", CircuitLevel.VILLAGE: "每周≥1次"}
_REASON = {
    UncoveredReason.UNKNOWN_PLACE: "村不在地名表中",
    UncoveredReason.NO_SPECIALTY: "尚未确定专科",
    UncoveredReason.NO_SUPPORTER: "该村没有支援医院",
    UncoveredReason.NO_SPECIALIST: "支援医院中没有该专科的专家",
    UncoveredReason.NO_FREE_SLOT: "本月该专科专家已排满或休假",
}
_FREQ_REASON = {"no_staff": "直接支援单位没有可派人员", "no_free_slot": "可派人员本月已排满或休假"}
_PURPOSE = {Purpose.ORDERS: "订单巡诊", Purpose.FREQUENCY: "例行巡诊", Purpose.STATIONING: "驻点坐诊"}
_WEEKDAYS = "一二三四五六日"




def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _specialty_name(code: str | None) -> str:
    if not code:
        return "未定专科"
    s = catalogue().get(code)
    return s.name if s else code


def calendar_grid(p: PlanProposal) -> list[str]:
    """The month as a Monday-first grid: each planning day shows its number of circuits, days off show 休."""
    first, last = month_bounds(p.month)
    per_day = Counter(c.day for c in p.circuits)
    market = {c.day for c in p.circuits if c.market_day}
    open_days = set(p.planning_days)
    cell = 8
    lines = ["".join(_pad(f"周{w}", cell) for w in _WEEKDAYS).rstrip()]
    row = [" " * cell] * first.weekday()
    d = first
    while d <= last:
        if d in open_days:
            text = f"{d.day:>2}:{per_day[d]}{'*' if d in market else ''}"
        else:
            text = f"{d.day:>2}:休" if not per_day[d] else f"{d.day:>2}:{per_day[d]}!"
        row.append(_pad(text, cell))
        if len(row) == 7:
            lines.append("".join(row).rstrip())
            row = []
        d += ONE_DAY
    if row:
        lines.append("".join(row).rstrip())
    lines.append("（数字为当日巡诊场数；* 含圩日巡诊；休 为周末或节假日）")
    return lines


def format_proposal(p: PlanProposal, *, max_orders: int | None = None) -> str:
    """The proposal in Chinese: figures, month grid, circuits, per-order waits, places that will be overdue (将逾期:
    due dates this proposal does not reach), conflicts."""
    f = p.figures
    name = p.place_names.get
    out = [f"巡诊排班建议：{p.month.year}年{p.month.month}月", ""]
    out.append("【总体】")
    out.append(f"  订单覆盖：{f.orders_covered} / {f.orders_total}（{f.coverage:.1%}）")
    if f.mean_wait is not None:
        out.append(f"  预计等待：平均 {f.mean_wait:.1f} 天，90% 的订单不超过 {f.p90_wait} 天")
    out.append(f"  专家使用：{f.expert_days} 人日（{f.expert_half_days} 个半天），建议巡诊 {f.circuits} 场")
    # A forecast of this proposal ("will be"), never to be read as the report's count of due dates already past.
    out.append(f"  将逾期地点：{f.overdue_places} 个（按本建议排完本月，仍赶不上应巡日期；"
               "报表和看板的“已逾期”只数应巡日期已过的地点）")
    out.append("")
    out.append("【月历】")
    out.extend("  " + line for line in calendar_grid(p))
    out.append("")
    out.append("【巡诊安排】")
    for c in p.circuits:
        specs = "、".join(_specialty_name(s) for s in c.specialties) or _PURPOSE[c.purpose]
        out.append(
            f"  {month_day(c.day)}（周{_WEEKDAYS[c.day.weekday()]}）{_HALF[c.half_day]}"
            f" {name(c.place_code, c.place_code)}"
            f"（{_LEVEL[c.level]}{'，圩日' if c.market_day else ''}）"
            f" {p.institution_names.get(c.hospital_code, c.hospital_code)}"
            f" {specs} 专家{len(c.expert_ids)}人{f' 订单{len(c.order_ids)}个' if c.order_ids else ''}"
        )
    out.append("")
    out.append("【订单预计等待】")
    shown = list(p.orders.values())
    if max_orders is not None:
        shown = shown[:max_orders]
    for o in shown:
        head = f"  订单 {o.order_id} {name(o.village_code, o.village_code)} {_specialty_name(o.specialty)}"
        if o.urgency is Urgency.SOON:
            head += "（尽快）"
        if o.day is not None and o.half_day is not None:
            where = name(o.place_code or "", o.place_code or "")
            out.append(f"{head}：{month_day(o.day)}{_HALF[o.half_day]}在{where}，预计等待 {o.wait_days} 天")
        else:
            out.append(f"{head}：本月未能安排——{_REASON[o.reason] if o.reason else '原因不明'}")
    if max_orders is not None and len(p.orders) > max_orders:
        out.append(f"  ……另有 {len(p.orders) - max_orders} 个订单未列出")
    out.append("")
    overdue = p.overdue
    out.append(f"【将逾期】{len(overdue)} 个地点" if overdue else "【将逾期】无")
    for chk in overdue:
        why = _FREQ_REASON.get(chk.reason or "", chk.reason or "")
        out.append(
            f"  {name(chk.place_code, chk.place_code)}（{_LEVEL[chk.level]}，{_RULE.get(chk.level, '')}）"
            f"应于 {month_day(chk.due)} 前巡诊：{why}"
        )
    short = p.experts_below_minimum
    out.append("")
    out.append(f"【下沉天数不足】{len(short)} 人" if short else "【下沉天数不足】无")
    for e in short:
        out.append(f"  {e.name}（{e.staff_id}）本月在受援单位 {e.days_at_supported_units} 天，少于 {e.minimum} 天")
    out.append("")
    out.append(f"【未能解决的冲突】{len(p.conflicts)} 项" if p.conflicts else "【未能解决的冲突】无")
    out.extend(f"  {c.message}" for c in p.conflicts)
    return "\n".join(out)
