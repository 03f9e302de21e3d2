"""Helpers of the referral tests: an order disposed "refer up" by the county hospital's reviewer, slots, an actor."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.circuits import HalfDay
from domain.orders import Action, Order, Urgency
from domain.referrals import Slot
from domain.staff import Role
from handlers.services import Actor

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # Monday 10:30 in Sanming
HOSPITAL = "CH350421"  # 明溪县总医院
POST = "VP350421101001"


def reviewer(uow) -> Actor:
    """The county hospital's reviewer (S0002) as the actor of a use case."""
    return Actor(uow.staff.by_code("S0002"), Role.HOSPITAL_REVIEWER, uow.reference.jurisdiction(), {"test": 1})


def referred_order(uow, *, resident: str = "邱瑞鹏", specialty: str = "03.04", urgency: Urgency = Urgency.ROUTINE,
                   now: datetime = NOW) -> Order:
    """An order of 城东村 filed, approved and disposed "refer up" (the caller books it)."""
    r = next(x for x in uow.residents.in_villages(["350421101001"], resident) if x.name == resident)
    doctor = uow.staff.by_code("S0006")
    o = Order.file(resident_id=r.id, post_code=POST, village_code="350421101001",
                   filed_by_staff_id=doctor.id, need_text="胸闷气短，需要到县医院做心脏检查", now=now,
                   confirmed_specialty=specialty, urgency=urgency)
    uow.orders.add(o)
    o.apply(Action.TOWNSHIP_APPROVE, actor_staff_id=uow.staff.by_code("S0005").id, actor_role=Role.TOWNSHIP_REVIEWER,
            now=now)
    o.apply(Action.DISPOSE_REFER_UP, actor_staff_id=uow.staff.by_code("S0002").id, actor_role=Role.HOSPITAL_REVIEWER,
            now=now, note="心脏彩超")
    uow.orders.save(o)
    return o


def slot(day: date, capacity: int = 2, specialty: str = "03.04", half: HalfDay = HalfDay.AM, **kw) -> Slot:
    return Slot(HOSPITAL, specialty, day, half, capacity, **kw)
