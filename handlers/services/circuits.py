"""Circuit use cases: create, move and cancel a circuit, and schedule orders on it (with who to tell)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from domain.announcements import has_started
from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay, month_day
from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, Order, OrderStatus
from domain.permissions import Jurisdiction
from domain.planning import LEVEL_OF_PLACE
from domain.specialties import catalogue
from domain.staff import Role
from handlers.services import Actor, Notice, today_of
from handlers.services.announcements import Announcer
from handlers.services.experts import Told, assignment_notices, plan_notices
from handlers.services.orders import Decided, decide
from handlers.texts_circuits import t
from storage.ports import UnitOfWork

UNSCHEDULE_BATCH = 500


def within_support(jurisdiction: Jurisdiction, hospital_code: str, place_code: str, day: date) -> bool:
    """True if an institution at ``place_code`` is the hospital itself or one it supports on ``day`` (directly or
    down the chain): the only places where it may hold, and announce, a circuit."""
    units = {code for code, inst in jurisdiction.institutions.items() if inst.place_code == place_code}
    reach = jurisdiction.network.reachable(hospital_code, day) | {hospital_code}
    return bool(units & reach)


def hospital_of(actor: Actor) -> str:
    """The hospital a reviewer plans for (re-checked on every use, not only on /plan)."""
    if actor.role is not Role.HOSPITAL_REVIEWER:
        raise PermissionDenied("perm.role_missing", role=Role.HOSPITAL_REVIEWER.value)
    kind = actor.jurisdiction.kind_of(actor.staff.institution_code)
    if kind is None or not kind.is_hospital:
        raise DomainError("plan.no_hospital")
    return actor.staff.institution_code


def own_circuit(uow: UnitOfWork, actor: Actor, now: datetime, circuit_id: object) -> Circuit:
    """A planned, not yet started circuit of the actor's hospital, or a ``DomainError`` saying why not."""
    try:
        c = uow.circuits.get(int(str(circuit_id)))
    except ValueError:
        c = None
    if c is None or c.hospital_code != hospital_of(actor):
        raise DomainError("plan.unknown_circuit")
    if c.status is not CircuitStatus.PLANNED:
        raise DomainError("plan.not_planned", id=c.id)
    if has_started(c, now):
        raise DomainError("plan.started", id=c.id)
    return c


def _require_support(uow: UnitOfWork, actor: Actor, now: datetime, hospital: str, place_code: str) -> None:
    """Refuse (audited by the caller, nothing stored or announced) a circuit where the hospital gives no support."""
    if not within_support(actor.jurisdiction, hospital, place_code, today_of(now)):
        p = uow.reference.place(place_code)
        raise PermissionDenied("plan.outside_support", place=p.name if p else place_code, place_code=place_code)


def _check_day(now: datetime, day: date) -> None:
    if day <= today_of(now):
        raise DomainError("plan.past_day", date=month_day(day))


@dataclass(frozen=True, slots=True)
class Created:
    """A circuit made by hand, and who of its experts heard of it (queued) or must be phoned."""

    circuit: Circuit
    experts: Told


def create_circuit(uow: UnitOfWork, actor: Actor, now: datetime, place_code: str, day: date, half_day: HalfDay,
                   expert_codes: list[str]) -> Created:
    """A new planned circuit of the actor's hospital at a place it supports, with some of its own experts, who are
    told where and when they go (as when a plan is accepted)."""
    hospital = hospital_of(actor)
    place = uow.reference.place(place_code)
    if place is None:
        raise DomainError("plan.unknown_place", code=place_code[:32])
    _check_day(now, day)
    experts = set()
    for code in expert_codes:
        ex = uow.staff.by_code(code)
        if ex is None or ex.id is None or ex.institution_code != hospital or not ex.active:
            raise DomainError("plan.unknown_expert", code=code[:32])
        experts.add(ex.id)
    _require_support(uow, actor, now, hospital, place.code)
    c = Circuit(hospital, place.code, day, half_day, LEVEL_OF_PLACE.get(place.level, CircuitLevel.VILLAGE),
                frozenset(experts))
    uow.circuits.add(c)
    Announcer.record_created(uow, c, actor.staff_id, now)
    actor.audit(uow, now, "circuit_created", "circuit", str(c.id))
    return Created(c, plan_notices(uow, actor.staff_id, now, [(c, [])]))


def move_circuit(uow: UnitOfWork, actor: Actor, now: datetime, circuit_id: object, day: date, half_day: HalfDay,
                 place_code: str | None = None) -> Circuit:
    """Move a circuit: an update notice goes to everyone told before, reminders follow the new slot."""
    _check_day(now, day)
    before = own_circuit(uow, actor, now, circuit_id)
    if place_code is not None:
        place = uow.reference.place(place_code)
        if place is None:
            raise DomainError("plan.unknown_place", code=place_code[:32])
        place_code = place.code
    after = before.moved(day, half_day, place_code or before.place_code)
    _require_support(uow, actor, now, before.hospital_code, after.place_code)
    uow.schedule.save_circuit(after)
    Announcer.record_change(uow, before, after, actor.staff_id, now)
    actor.audit(uow, now, "circuit_moved", "circuit", str(after.id))
    return after


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A cancelled circuit and the orders sent back to awaiting a circuit."""

    circuit: Circuit
    order_ids: list[int] = field(default_factory=list)


def cancel_circuit(uow: UnitOfWork, actor: Actor, now: datetime, circuit_id: object) -> Cancelled:
    """Cancel: every scheduled order goes back to awaiting a circuit, a cancellation notice goes out."""
    before = own_circuit(uow, actor, now, circuit_id)
    after = before.cancelled()
    order_ids: list[int] = []
    while True:  # in batches: a busy circuit may hold any number of orders, each unscheduled leaves the list
        batch = uow.orders.list(circuit_id=before.id, statuses=[OrderStatus.SCHEDULED], limit=UNSCHEDULE_BATCH)
        moved = [d.order.id for o in batch if (d := decide(uow, actor, now, o.id, Action.UNSCHEDULE)).done]
        order_ids += [i for i in moved if i is not None]
        if len(batch) < UNSCHEDULE_BATCH or not moved:
            break
    uow.schedule.save_circuit(after)
    Announcer.record_change(uow, before, after, actor.staff_id, now, order_ids)
    actor.audit(uow, now, "circuit_cancelled", "circuit", str(after.id))
    return Cancelled(after, order_ids)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An order put on a circuit (or refused, see ``decided``) and who is told."""

    decided: Decided
    circuit: Circuit
    notices: list[Notice] = field(default_factory=list)
    experts: Told = field(default_factory=Told)  # add_order: the circuit's experts who will see the order


def schedule_order(uow: UnitOfWork, actor: Actor, now: datetime, order_id: object, c: Circuit) -> Scheduled:
    """Schedule one awaiting order on a circuit (checked as any order action); tell its doctor and resident."""
    d = decide(uow, actor, now, order_id, Action.SCHEDULE, circuit_id=c.id)
    return Scheduled(d, c, scheduled_notices(uow, d.order, c) if d.done else [])


def add_order(uow: UnitOfWork, actor: Actor, now: datetime, circuit_id: object, order_id: object) -> Scheduled:
    """Add one awaiting order to a planned circuit of the actor's hospital."""
    c = own_circuit(uow, actor, now, circuit_id)
    done = schedule_order(uow, actor, now, order_id, c)
    if not done.decided.done:
        return done
    o = done.decided.order
    uow.schedule.log_change(c.id or 0, "orders_added", None, {"order": o.id}, actor.staff_id, now)
    told = assignment_notices(uow, o, c.hospital_code)
    for e in told.unreachable:
        actor.audit(uow, now, "expert_unreachable", "order", o.entity_id, reason="no_chat_account",
                    detail={"expert": e.code, "about": "order_added"})
    return Scheduled(done.decided, c, done.notices + told.notices, told)


def expert_names(uow: UnitOfWork, c: Circuit) -> str:
    """The circuit's experts' names, joined with 、."""
    return "、".join(s.name for i in sorted(c.expert_ids) if (s := uow.staff.get(i)) is not None)


def scheduled_notices(uow: UnitOfWork, o: Order, c: Circuit) -> list[Notice]:
    """The filing village doctor hears with the order's number; the resident gets a personal notice, without it."""
    place = uow.reference.place(c.place_code)
    experts = expert_names(uow, c)
    when = dict(date=month_day(c.day), half_day=t(f"half_day.{c.half_day.value}"),
                place=place.name if place else c.place_code)
    r = uow.residents.get(o.resident_id)
    to_doctor = t("notify.circuit_scheduled", number=o.number, resident=r.name if r else "", experts=experts, **when)
    hospital = uow.reference.institution(c.hospital_code)
    specialty = catalogue().get(o.confirmed_specialty) if o.confirmed_specialty else None
    to_resident = t("notify.scheduled_resident", expert=experts, weekday=t(f"weekday.{c.day.weekday()}"),
                    hospital=hospital.name if hospital else "", specialty=specialty.name if specialty else "全科医疗科",
                    **when)
    doctors = uow.chat.accounts_of_staff([o.filed_by_staff_id])
    return [Notice(acc, to_doctor, f"scheduled-doctor:{o.id}:{c.id}:{acc.platform}:{acc.id}") for acc in doctors] + [
        Notice(acc, to_resident, f"scheduled:{o.id}:{c.id}:{acc.platform}:{acc.id}", personal=True)
        for acc in uow.chat.accounts_of_resident(o.resident_id)
    ]
