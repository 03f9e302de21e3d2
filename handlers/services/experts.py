"""Telling experts: when an order is assigned to them, when a plan puts them on circuits, the day before a circuit.

Every message to an expert goes through the outbox (``Notice.queued``), on every chat account their staff record
is bound to, so platform limits apply and a dedupe key tells nobody twice. An expert with no usable account is
never counted as told: the use case names them (``Told.unreachable``) so the reviewer who acted can phone them,
and the audit log records it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from domain.accounts import ChatAccount
from domain.circuits import Circuit, month_day
from domain.errors import PermissionDenied
from domain.orders import Action, AuditEvent, Order, OrderStatus
from domain.specialties import catalogue
from domain.staff import Role, Staff
from handlers.services import Actor, Notice, today_of
from handlers.services.orders import UNCHECKED, Decided, decide
from handlers.texts_circuits import t
from storage.ports import UnitOfWork

NEED_CHARS = 30  # the need "in short": enough to prepare, not the whole story
MAX_BRIEFED = 30  # orders listed in one briefing; /circuits shows the rest
_NUMBERS = re.compile(r"[0-9Xx]*\*{2,}[0-9Xx]*|\d{7,}[0-9Xx]?")  # a masked number, or digits that could be one


@dataclass(slots=True)
class Told:
    """Messages for experts (all queued in the outbox) and who was, or could not be, reached."""

    notices: list[Notice] = field(default_factory=list)
    reached: list[Staff] = field(default_factory=list)
    unreachable: list[Staff] = field(default_factory=list)  # no usable chat account: nothing was sent to them

    def add(self, other: Told) -> None:
        """Take in another batch of the same use case."""
        self.notices += other.notices
        self.reached += [s for s in other.reached if s not in self.reached]
        self.unreachable += [s for s in other.unreachable if s not in self.unreachable]


def told_lines(told: Told) -> list[str]:
    """What the reviewer who acted reads: which experts were told, which must be phoned."""
    lines = []
    if told.reached:
        lines.append(t("expert.reached", names=names(told.reached)))
    if told.unreachable:
        lines.append(t("expert.unreachable", names=names(told.unreachable)))
    return lines


def names(staff: Iterable[Staff]) -> str:
    """Staff names joined with 、."""
    return "、".join(s.name for s in staff)


def _specialty(code: str | None) -> str:
    s = catalogue().get(code) if code else None
    return s.name if s else "未定"


def need_in_short(text: str) -> str:
    """The first words of a need, on one line, without any phone or ID number, even masked: stored needs have them
    masked (``139****5678``); what is left of one, or a long run of digits, is dropped, not cut in half."""
    flat = " ".join(_NUMBERS.sub("", text).split())
    return flat if len(flat) <= NEED_CHARS else flat[:NEED_CHARS] + "…"


def _place(uow: UnitOfWork, code: str) -> str:
    p = uow.reference.place(code)
    return p.name if p else code


def _for_expert(orders: list[Order], c: Circuit, staff_id: int | None) -> list[Order]:
    """The circuit's orders an expert sees: assigned to them, or to nobody among the circuit's experts."""
    return [o for o in orders if o.assigned_expert_id == staff_id or o.assigned_expert_id not in c.expert_ids]


def _when(c: Circuit) -> dict[str, str]:
    return dict(date=month_day(c.day), weekday=t(f"weekday.{c.day.weekday()}"),
                half_day=t(f"half_day.{c.half_day.value}"))


def accounts_by_staff(uow: UnitOfWork, staff_ids: Iterable[int]) -> dict[int, list[ChatAccount]]:
    """Each member of staff's usable chat accounts (any platform; blocked ones left out)."""
    out: dict[int, list[ChatAccount]] = {}
    for acc in uow.chat.accounts_of_staff(sorted(set(staff_ids))):
        if acc.staff_id is not None and not acc.blocked:
            out.setdefault(acc.staff_id, []).append(acc)
    return out


def tell(uow: UnitOfWork, experts: Iterable[Staff], text_of, key: str) -> Told:
    """One notice per expert and account (``text_of(expert)``); ``key`` names the event, unique per recipient."""
    told = Told()
    experts = [e for e in experts if e.id is not None]
    accounts = accounts_by_staff(uow, [e.id for e in experts if e.id is not None])
    for e in experts:
        found = accounts.get(e.id or 0, [])
        if not found:
            told.unreachable.append(e)
            continue
        told.reached.append(e)
        text = text_of(e)
        told.notices += [Notice(acc, text, f"{key}:{e.id}:{acc.platform}:{acc.id}", queued=True) for acc in found]
    return told


def _audit_unreachable(uow: UnitOfWork, actor_staff_id: int | None, role: str, now: datetime, told: Told,
                       about: str, entity: str, entity_id: str) -> None:
    for e in told.unreachable:
        uow.audit.append(AuditEvent(actor_staff_id, role, "expert_unreachable", entity, entity_id, None, None,
                                    "no_chat_account", now, {"expert": e.code, "about": about}))


# --- 1. assignment ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Assigned:
    """An order disposed to a circuit (or refused, see ``decided``), its expert if one was chosen, who heard."""

    decided: Decided
    expert: Staff | None
    told: Told


def assign_expert(uow: UnitOfWork, actor: Actor, now: datetime, order_id: object, expert_id: object, *,
                  shown: object = UNCHECKED) -> Assigned:
    """Dispose an order to a circuit with one of the hospital's experts (None: decide at planning); tell them."""
    expert = None
    if expert_id is not None:
        try:
            expert = uow.staff.get(int(str(expert_id)))
        except ValueError:
            expert = None
        if expert is None or expert.institution_code != actor.staff.institution_code \
                or not expert.has_role(Role.EXPERT):
            raise PermissionDenied("perm.not_your_circuit")
    d = decide(uow, actor, now, order_id, Action.DISPOSE_CIRCUIT, shown=shown,
               expert_id=expert.id if expert is not None else None)
    if not d.done or expert is None:
        return Assigned(d, expert, Told())
    told = assignment_notices(uow, d.order, actor.staff.institution_code)
    for e in told.unreachable:
        actor.audit(uow, now, "expert_unreachable", "order", d.order.entity_id, reason="no_chat_account",
                    detail={"expert": e.code, "about": "assigned"})
    return Assigned(d, expert, told)


def assignment_notices(uow: UnitOfWork, o: Order, hospital_code: str) -> Told:
    """Tell the order's expert which order it is, and where and when if its circuit is known: its assigned expert,
    or, once it is on a circuit, whichever of the circuit's experts will see it (``_for_expert``)."""
    c = uow.circuits.get(o.circuit_id) if o.circuit_id else None
    if c is not None:
        experts = [e for sid in sorted(c.expert_ids) if _for_expert([o], c, sid) and (e := uow.staff.get(sid))]
    else:
        experts = [e] if o.assigned_expert_id and (e := uow.staff.get(o.assigned_expert_id)) else []
    if not experts:
        return Told()
    when = t("expert.when", place=_place(uow, c.place_code), **_when(c)) if c else t("expert.when_later")
    hospital = uow.reference.institution(hospital_code)
    text = t("expert.assigned", hospital=hospital.name if hospital else hospital_code, number=o.number,
             village=_place(uow, o.village_code), specialty=_specialty(o.confirmed_specialty),
             urgency=t(f"urgency.{o.urgency.value}"), need=need_in_short(o.need_text), when=when)
    return tell(uow, experts, lambda _e: text, f"expert-assigned:{o.id}:v{o.version}")


# --- 2. an accepted plan ------------------------------------------------------------------------------------------
def plan_notices(uow: UnitOfWork, actor_staff_id: int | None, now: datetime,
                 scheduled: Iterable[tuple[Circuit, list[Order]]]) -> Told:
    """Tell each expert of newly planned circuits where and when they go (one message per expert); unreachable
    experts are audited (by the accepting reviewer, or the command line)."""
    mine: dict[int, list[tuple[Circuit, int]]] = {}
    for c, orders in scheduled:
        for sid in sorted(c.expert_ids):
            mine.setdefault(sid, []).append((c, len(_for_expert(orders, c, sid))))
    if not mine:
        return Told()
    experts = [e for sid in sorted(mine) if (e := uow.staff.get(sid)) is not None]

    def text_of(e: Staff) -> str:
        lines = [t("expert.plan.head")]
        lines += [t("expert.plan.line", place=_place(uow, c.place_code), count=n, **_when(c))
                  for c, n in sorted(mine[e.id or 0], key=lambda x: (x[0].day, x[0].half_day.value))]
        return "\n".join([*lines, t("expert.plan.tail")])

    ids = ",".join(str(c.id) for c, _ in scheduled)
    told = tell(uow, experts, text_of, "expert-plan:" + hashlib.sha1(ids.encode()).hexdigest()[:12])
    for e in told.unreachable:
        circuits = ",".join(str(c.id) for c, _ in mine[e.id or 0])
        _audit_unreachable(uow, actor_staff_id, "hospital_reviewer" if actor_staff_id else "cli", now,
                           Told(unreachable=[e]), "plan", "circuit", circuits[:64])
    return told


# --- 3. the day before --------------------------------------------------------------------------------------------
def briefing_notices(uow: UnitOfWork, c: Circuit, now: datetime, key: str) -> Told:
    """The circuit's orders for each of its experts (number, resident, village, specialty, need in short).

    An expert sees the orders assigned to them or to nobody on this circuit, not a colleague's patients. The
    residents' names sent are audited per resident; an unreachable expert is audited and the hospital's
    reviewers are told (queued too, so they can phone them).
    """
    orders = uow.orders.list(circuit_id=c.id, statuses=[OrderStatus.SCHEDULED], limit=1000)
    residents = uow.residents.get_many(o.resident_id for o in orders)
    when = _when(c)
    place = _place(uow, c.place_code)
    experts = [e for sid in sorted(c.expert_ids) if (e := uow.staff.get(sid)) is not None]

    def theirs(e: Staff) -> list[Order]:
        return _for_expert(orders, c, e.id)

    def text_of(e: Staff) -> str:
        mine = theirs(e)
        day = (c.day - today_of(now)).days
        hint = t("expert.brief.tomorrow") if day == 1 else t("expert.brief.today") if day == 0 else ""
        lines = [t("expert.brief.head", hint=hint, place=place, count=len(mine), **when)]
        for i, o in enumerate(mine[:MAX_BRIEFED], 1):
            r = residents.get(o.resident_id)
            lines.append(t("expert.brief.line", i=i, number=o.number, resident=r.name if r else "",
                           village=_place(uow, o.village_code), specialty=_specialty(o.confirmed_specialty),
                           need=need_in_short(o.need_text)))
        if len(mine) > MAX_BRIEFED:
            lines.append(t("expert.brief.more", count=len(mine) - MAX_BRIEFED))
        if not mine:
            lines.append(t("expert.brief.none"))
        lines.append(t("expert.brief.tail"))
        return "\n".join(lines)

    told = tell(uow, experts, text_of, key)
    for e in told.reached:
        for o in theirs(e):  # PIPL access trail: whose name went to which expert, and why
            uow.audit.append(AuditEvent(None, "system", "disclosed", "resident", str(o.resident_id), None, None,
                                        None, now, {"purpose": "expert_briefing", "to_staff": e.id,
                                                    "circuit": c.id, "order": o.number}))
    _audit_unreachable(uow, None, "system", now, told, "briefing", "circuit", str(c.id))
    if told.unreachable:
        reviewers = [s for s in uow.staff.at_institution(c.hospital_code, Role.HOSPITAL_REVIEWER) if s.active]
        for e in told.unreachable:
            text = t("expert.brief.unreachable", name=e.name, place=place, **when)
            told.notices += tell(uow, reviewers, lambda _r, text=text: text, f"{key}:unreachable:{e.id}").notices
    return told
