"""Planning use cases: what /plan shows (the weeks ahead: circuits scheduled, circuits proposed), and accepting
the proposal. Chat (/plan) and the command line (``python -m bot plan``) call the same functions.

Showing is two steps so the command line can plan a whole city without holding the database meanwhile:
``read_plan`` reads everything in one unit of work, ``propose`` runs the planner on it; ``show_plan`` is both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.circuits import Circuit, CircuitStatus
from domain.errors import DomainError
from domain.orders import AuditEvent, Order, OrderStatus
from domain.permissions import Jurisdiction
from domain.places import InstitutionKind, PlaceLevel
from domain.planning import (
    AwaitingOrder,
    Calendar,
    PlanInputs,
    PlanProposal,
    PlanSettings,
    is_market_day,
    month_bounds,
    propose_window,
)
from domain.staff import Role, Staff
from domain.support import SupportNetwork
from handlers.services import Actor, Notice, today_of
from handlers.services.announcements import Announcer
from handlers.services.circuits import schedule_order, within_support
from handlers.services.experts import Told, plan_notices
from storage.ports import UnitOfWork

__all__ = ["Accepted", "PlanRequest", "PlanView", "ScheduledCircuit", "accept_plan", "plan_days",
           "proposal_fingerprint", "propose", "read_plan", "reviewer_of", "show_plan", "within_support"]

WINDOW_WEEKS = 5  # /plan looks this many calendar weeks ahead, this one included
# A new circuit is proposed no sooner than the day after tomorrow: the day-before reminder to the residents and the
# experts' list of orders always go out (at 9:00 the day before), and an urgent order still waits only two days.
# Circuits already scheduled sooner are shown.
LEAD_DAYS = 2
NOT_CANCELLED = (CircuitStatus.PLANNED, CircuitStatus.DONE)

DISPATCHING_KINDS = (
    InstitutionKind.PROVINCIAL_HOSPITAL, InstitutionKind.CITY_HOSPITAL, InstitutionKind.COUNTY_HOSPITAL,
    InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER,
)


def plan_days(today: date, month: date | None = None) -> tuple[date, date]:
    """The days /plan covers: today to the Sunday that ends the fifth calendar week; or what is left of ``month``
    (``DomainError('plan.month_over')`` once it is over). Never a day in the past."""
    if month is None:
        return today, today - timedelta(days=today.weekday()) + timedelta(weeks=WINDOW_WEEKS, days=-1)
    first, last = month_bounds(month)
    if last < today:
        raise DomainError("plan.month_over", month=f"{first.year}年{first.month}月")
    return max(first, today), last


@dataclass(slots=True)
class ScheduledCircuit:
    """A circuit already in the schedule, with the orders it carries."""

    circuit: Circuit
    orders: list[Order]
    market_day: bool = False  # on the place's market day (圩日); ``propose`` knows the calendar


@dataclass(slots=True)
class PlanRequest:
    """Everything /plan reads from storage: the planner's inputs and what is scheduled in those days already."""

    first: date
    last: date
    today: date
    month: date | None  # the month asked for (/plan 2026-12), None for the weeks ahead
    hospital_code: str | None
    hospital_name: str | None
    inputs: PlanInputs
    scheduled: list[ScheduledCircuit]
    numbers: dict[int, str]  # order id -> the XZ number people see everywhere
    staff_names: dict[int, str]
    staff_codes: dict[int, str]
    place_names: dict[str, str]


@dataclass(slots=True)
class PlanView:
    """What /plan shows, in chat and on the command line alike: the request, and the proposal for its days."""

    request: PlanRequest
    proposal: PlanProposal
    days_off: frozenset[date]  # weekends and holidays among the days

    @property
    def scheduled(self) -> list[ScheduledCircuit]:
        """Circuits already scheduled in these days."""
        return self.request.scheduled


def read_plan(uow: UnitOfWork, today: date, hospital_code: str | None = None, month: date | None = None,
              progress: Callable[[str], None] | None = None) -> PlanRequest:
    """Read what /plan needs for the weeks ahead (or what is left of ``month``), in one unit of work."""
    tick = progress or (lambda _label: None)
    first, last = plan_days(today, month)
    month_start = first.replace(day=1)  # monthly rules count the visits earlier in the first month
    institutions = uow.reference.institutions()
    support = SupportNetwork(uow.reference.relations())
    staff: dict[int, Staff] = {}
    for inst in institutions:
        if inst.kind not in DISPATCHING_KINDS:
            continue
        for st in uow.staff.at_institution(inst.code):
            # Hospitals dispatch their experts; township centers send their own staff to the villages.
            if st.id is not None and (st.has_role(Role.EXPERT) or inst.kind.is_grassroots_center):
                staff[st.id] = st
                tick("人员")
    reach = support.reachable(hospital_code, today) if hospital_code else None
    orders = []
    numbers: dict[int, str] = {}
    for o in uow.orders.list(statuses=[OrderStatus.AWAITING_CIRCUIT], limit=1_000_000):
        if reach is None or o.post_code in reach:
            orders.append(AwaitingOrder.from_order(o))
            numbers[o.id or 0] = o.number or str(o.id)
            tick("订单")
    places = [p for lv in PlaceLevel for p in uow.reference.places_at(lv)]
    inputs = PlanInputs(
        month=month_start,
        places=places,
        institutions=institutions,
        support=support,
        experts=list(staff.values()),
        orders=orders,
        leave=uow.schedule.leave(month_start, last),
        existing=uow.schedule.circuits_between(month_start, last, statuses=NOT_CANCELLED),
        last_visits=uow.schedule.last_visits(month_start),
        earliest_day=today + timedelta(days=LEAD_DAYS),
        latest_day=last,
        settings=PlanSettings(hospital_code=hospital_code),
    )
    scheduled = []
    for c in uow.schedule.circuits_between(first, last, hospital_code=hospital_code, statuses=NOT_CANCELLED):
        on = uow.orders.list(circuit_id=c.id, limit=10_000)
        scheduled.append(ScheduledCircuit(c, on))
        numbers.update((o.id or 0, o.number or str(o.id)) for o in on)
    for sid in {sid for sc in scheduled for sid in sc.circuit.expert_ids} - staff.keys():
        member = uow.staff.get(sid)
        if member is not None:
            staff[sid] = member
    hospital = uow.reference.institution(hospital_code) if hospital_code else None
    return PlanRequest(
        first=first, last=last, today=today, month=month, hospital_code=hospital_code,
        hospital_name=hospital.name if hospital else None, inputs=inputs, scheduled=scheduled, numbers=numbers,
        staff_names={sid: st.name for sid, st in staff.items()},
        staff_codes={sid: st.code for sid, st in staff.items()},
        place_names={p.code: p.name for p in places},
    )


def propose(request: PlanRequest, calendar: Calendar) -> PlanView:
    """Run the planner on what ``read_plan`` read: new circuits for those days, around the scheduled ones."""
    proposal = propose_window(request.inputs, calendar, request.first, request.last)
    places = {p.code: p for p in request.inputs.places}
    for sc in request.scheduled:
        sc.market_day = is_market_day(places.get(sc.circuit.place_code), sc.circuit.day, calendar)
    days_off = set()
    d = request.first
    while d <= request.last:
        if calendar.is_holiday(d) or not calendar.is_workday(d):
            days_off.add(d)
        d += timedelta(days=1)
    return PlanView(request, proposal, frozenset(days_off))


def show_plan(uow: UnitOfWork, calendar: Calendar, today: date, hospital_code: str | None = None,
              month: date | None = None) -> PlanView:
    """What /plan shows for a hospital: the weeks ahead (or what is left of ``month``), scheduled and proposed."""
    return propose(read_plan(uow, today, hospital_code, month), calendar)


@dataclass(slots=True)
class Accepted:
    """What accepting a proposal stored, and who is to be told."""

    circuits: list[Circuit]
    scheduled: list[tuple[Order, Circuit]]
    refused: list[Circuit] = field(default_factory=list)  # outside the hospital's support: not created
    notices: list[Notice] = field(default_factory=list)
    experts: Told = field(default_factory=Told)  # the circuits' experts: who hears (queued), who cannot be reached


def reviewer_of(uow: UnitOfWork, hospital_code: str, jurisdiction: Jurisdiction) -> Actor | None:
    """The hospital's (first) reviewer, whom the command line acts for, with the same checks as in chat."""
    found = uow.staff.at_institution(hospital_code, Role.HOSPITAL_REVIEWER)
    return Actor(found[0], Role.HOSPITAL_REVIEWER, jurisdiction, {"via": "cli"}) if found else None


def accept_plan(uow: UnitOfWork, actor: Actor | None, now: datetime, proposal: PlanProposal, *,
                outside_support_by: Staff | None = None, outside_support_for: str | None = None) -> Accepted:
    """Create the proposed circuits and schedule their orders, each checked like a manual schedule; the filing
    doctors, linked residents and the circuits' experts are to be told (``notices``, the experts' all queued).

    ``actor`` is the hospital reviewer accepting in chat; None is the command line, which acts for each
    hospital's reviewer. A circuit at a place its hospital does not support is not created (nor announced) and
    the refusal is audited, unless an administrator (``outside_support_by``) allowed it for that hospital
    (``outside_support_for``); that permission is audited too.
    """
    out = Accepted([], [])
    jurisdiction = actor.jurisdiction if actor is not None else uow.reference.jurisdiction()
    today = today_of(now)
    by = actor.staff_id if actor is not None else None
    allow_outside = frozenset({outside_support_for}) if outside_support_by and outside_support_for else frozenset()
    schedulers: dict[str, Actor | None] = {}
    for pc in proposal.circuits:
        c = pc.to_circuit()
        if c.hospital_code not in allow_outside and not within_support(jurisdiction, c.hospital_code, c.place_code,
                                                                       today):
            uow.audit.append(AuditEvent(by, "hospital_reviewer" if by else "cli", "refused", "circuit",
                                        f"{c.hospital_code}@{c.place_code}", None, None, "plan.outside_support", now,
                                        {"day": c.day.isoformat()}))
            out.refused.append(c)
            continue
        uow.circuits.add(c)
        Announcer.record_created(uow, c, by, now)
        out.circuits.append(c)
        if c.hospital_code not in schedulers:
            schedulers[c.hospital_code] = actor or reviewer_of(uow, c.hospital_code, jurisdiction)
        scheduler = schedulers[c.hospital_code]
        if scheduler is None:
            continue  # a hospital without a reviewer: its circuits stand, nobody may schedule onto them
        for oid in pc.order_ids:
            done = schedule_order(uow, scheduler, now, oid, c)
            if done.decided.done:
                out.scheduled.append((done.decided.order, c))
                out.notices += done.notices
    # Each expert hears once where and when they go (the orders' list follows the day before the circuit).
    out.experts = plan_notices(uow, by, now, [(c, [o for o, on in out.scheduled if on is c]) for c in out.circuits])
    out.notices += out.experts.notices
    if outside_support_by is not None and outside_support_for is not None:
        uow.audit.append(AuditEvent(outside_support_by.id, "admin", "plan_outside_support", "institution",
                                    outside_support_for, None, None, None, now,
                                    {"month": f"{proposal.month:%Y-%m}"}))
    return out


def proposal_fingerprint(p: PlanProposal) -> str:
    """A short digest of the proposed circuits, to notice that the data changed between showing and accepting."""
    import hashlib

    text = "|".join(f"{c.hospital_code},{c.place_code},{c.day},{c.half_day.value},{c.expert_ids},{c.order_ids}"
                    for c in p.circuits)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
