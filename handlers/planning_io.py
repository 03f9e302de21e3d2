"""Feeding the planner from storage and storing an accepted proposal (shared by /plan and ``python -m bot plan``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.circuits import Circuit
from domain.orders import AuditEvent, Order, OrderStatus
from domain.permissions import Jurisdiction
from domain.places import InstitutionKind, PlaceLevel
from domain.planning import AwaitingOrder, PlanInputs, PlanProposal, PlanSettings, month_bounds
from domain.staff import Role, Staff
from domain.support import SupportNetwork
from handlers.announcements import Announcer
from storage.uow import SqlUnitOfWork

CHINA = ZoneInfo("Asia/Shanghai")
DISPATCHING_KINDS = (
    InstitutionKind.PROVINCIAL_HOSPITAL, InstitutionKind.CITY_HOSPITAL, InstitutionKind.COUNTY_HOSPITAL,
    InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER,
)


def plan_inputs(uow: SqlUnitOfWork, month: date, today: date, hospital_code: str | None = None,
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
    """What accepting a proposal stored."""

    circuits: list[Circuit]
    scheduled: list[tuple[Order, Circuit]]
    refused: list[Circuit] = field(default_factory=list)  # outside the hospital's support: not created


def within_support(jurisdiction: Jurisdiction, hospital_code: str, place_code: str, day: date) -> bool:
    """True if an institution at ``place_code`` is the hospital itself or one it supports on ``day`` (directly or
    down the chain): the only places where it may hold, and announce, a circuit."""
    units = {code for code, inst in jurisdiction.institutions.items() if inst.place_code == place_code}
    reach = jurisdiction.network.reachable(hospital_code, day) | {hospital_code}
    return bool(units & reach)


def accept_proposal(uow: SqlUnitOfWork, proposal: PlanProposal, actor_staff_id: int | None, now: datetime,
                    schedule: Callable[[int, Circuit], Order | None],
                    allow_outside: frozenset[str] = frozenset()) -> Accepted:
    """Create the proposed circuits and schedule their orders through ``schedule`` (which checks permission).

    A circuit at a place its hospital does not support is not created (nor announced) and the refusal is
    audited, unless the hospital is in ``allow_outside`` (an administrator named it on the command line).
    """
    out = Accepted([], [])
    jurisdiction = uow.reference.jurisdiction()
    today = now.astimezone(CHINA).date()
    for pc in proposal.circuits:
        c = pc.to_circuit()
        if c.hospital_code not in allow_outside and not within_support(jurisdiction, c.hospital_code, c.place_code,
                                                                       today):
            uow.audit.append(AuditEvent(actor_staff_id, "hospital_reviewer" if actor_staff_id else "cli", "refused",
                                        "circuit", f"{c.hospital_code}@{c.place_code}", None, None,
                                        "plan.outside_support", now, {"day": c.day.isoformat()}))
            out.refused.append(c)
            continue
        uow.circuits.add(c)
        Announcer.record_created(uow, c, actor_staff_id, now)
        out.circuits.append(c)
        for oid in pc.order_ids:
            o = schedule(oid, c)
            if o is not None:
                out.scheduled.append((o, c))
    return out


def proposal_fingerprint(p: PlanProposal) -> str:
    """A short digest of the proposed circuits, to notice that the data changed between showing and accepting."""
    import hashlib

    text = "|".join(f"{c.hospital_code},{c.place_code},{c.day},{c.half_day.value},{c.expert_ids},{c.order_ids}"
                    for c in p.circuits)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
