"""Planning use cases: feed the planner from storage, and accept a proposal (/plan in chat, ``python -m bot plan``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.circuits import Circuit
from domain.orders import AuditEvent, Order, OrderStatus
from domain.permissions import Jurisdiction
from domain.places import InstitutionKind, PlaceLevel
from domain.planning import AwaitingOrder, PlanInputs, PlanProposal, PlanSettings, month_bounds
from domain.staff import Role, Staff
from domain.support import SupportNetwork
from handlers.announcements import Announcer
from handlers.services import Actor, Notice, today_of
from handlers.services.circuits import schedule_order, within_support
from handlers.services.experts import Told, plan_notices
from storage.ports import UnitOfWork

__all__ = ["Accepted", "accept_plan", "plan_inputs", "proposal_fingerprint", "reviewer_of", "within_support"]

DISPATCHING_KINDS = (
    InstitutionKind.PROVINCIAL_HOSPITAL, InstitutionKind.CITY_HOSPITAL, InstitutionKind.COUNTY_HOSPITAL,
    InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER,
)


def plan_inputs(uow: UnitOfWork, month: date, today: date, hospital_code: str | None = None,
                progress: Callable[[str], None] | None = None) -> PlanInputs:
    """Everything the planner needs for ``month``, read in one unit of work; nothing before tomorrow."""
    tick = progress or (lambda _label: None)
    first, last = month_bounds(month)
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
    for o in uow.orders.list(statuses=[OrderStatus.AWAITING_CIRCUIT], limit=1_000_000):
        if reach is None or o.post_code in reach:
            orders.append(AwaitingOrder.from_order(o))
            tick("订单")
    return PlanInputs(
        month=first,
        places=[p for lv in PlaceLevel for p in uow.reference.places_at(lv)],
        institutions=institutions,
        support=support,
        experts=list(staff.values()),
        orders=orders,
        leave=uow.schedule.leave(first, last),
        existing=uow.schedule.circuits_between(first, last),
        last_visits=uow.schedule.last_visits(first),
        earliest_day=today + timedelta(days=1),
        settings=PlanSettings(hospital_code=hospital_code),
    )


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
