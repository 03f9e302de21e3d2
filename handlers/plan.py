"""Hospital reviewers plan circuits in chat (/plan): the month's proposal, accept it, create, move, cancel, add.

Every change goes through ``Announcer.record_change`` in the same transaction, so a move or cancellation
always produces its notice (坐诊变更/取消通知) and new reminders follow the new slot.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.announcements import has_started
from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, OrderStatus
from domain.planning import LEVEL_OF_PLACE, format_proposal, parse_month, propose_plan
from domain.staff import Role
from handlers.announcements import Announcer
from handlers.common import act, acting_staff, specialty_name
from handlers.core import Ctx, Router, private_chat_of
from handlers.planning_io import accept_proposal, plan_inputs, proposal_fingerprint, within_support
from handlers.texts_circuits import t

router = Router()
HS = Role.HOSPITAL_REVIEWER
LIST_DAYS = 60
MAX_LISTED = 10
HALVES = {"上午": HalfDay.AM, "下午": HalfDay.PM, "am": HalfDay.AM, "pm": HalfDay.PM}
_SLOT = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})\s+(上午|下午|am|pm)(?:\s+(\S+))?\s*$", re.I)


def _calendar(ctx: Ctx):
    """The holiday calendar the composition root hands in (handlers never reach into bot/)."""
    if ctx.services.calendar is None:
        raise RuntimeError("Services.calendar is not set: build the conversation with bot.bootstrap")
    return ctx.services.calendar


def _announcer(ctx: Ctx) -> Announcer:
    return Announcer(ctx.services.uow, ctx.services.clock)


def _hospital(ctx: Ctx) -> str:
    st, role = acting_staff(ctx)
    if role is not Role.HOSPITAL_REVIEWER:  # re-checked on every press, not only on /plan
        raise PermissionDenied("perm.role_missing", role=Role.HOSPITAL_REVIEWER.value)
    kind = ctx.jurisdiction.kind_of(st.institution_code)
    if kind is None or not kind.is_hospital:
        raise DomainError("plan.no_hospital")
    return st.institution_code


def _proposal(ctx: Ctx, month: date):
    hospital = _hospital(ctx)
    inputs = plan_inputs(ctx.uow, month, ctx.today, hospital)
    return propose_plan(inputs, _calendar(ctx))


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


@router.command("plan", HS)
def plan(ctx: Ctx, arg: str) -> None:
    """/plan [YYYY-MM] shows the proposal; /plan list the circuits; /plan new … creates one."""
    words = arg.split()
    if words and words[0].lower() == "list":
        show_list(ctx)
        return
    if words and words[0].lower() == "new":
        create(ctx, words[1:])
        return
    if words and words[0].lower() == "help":
        ctx.reply(t("help.plan"))
        return
    try:
        month = parse_month(words[0]) if words else _next_month(ctx.today)
    except DomainError:
        ctx.reply(t("plan.bad_month"))
        return
    p = _proposal(ctx, month)
    buttons = [[ctx.btn(t("plan.list_button"), "plan.list")]]
    if p.circuits:
        buttons.insert(0, [ctx.btn(t("plan.accept", count=len(p.circuits)), "plan.accept",
                                   month=f"{month:%Y-%m}", fp=proposal_fingerprint(p))])
    ctx.reply(format_proposal(p, max_orders=50) if p.circuits or p.orders else t("plan.nothing"), buttons)


@router.button("plan.accept")
def accept(ctx: Ctx, payload: dict) -> None:
    """Create the proposed circuits and schedule their orders (each checked like a manual schedule)."""
    st, _ = acting_staff(ctx)
    month = parse_month(str(payload.get("month")))
    p = _proposal(ctx, month)
    if proposal_fingerprint(p) != payload.get("fp"):
        ctx.reply(t("plan.stale"))
        return

    def schedule(order_id: int, c: Circuit):
        return act(ctx, order_id, Action.SCHEDULE, circuit_id=c.id)

    done = accept_proposal(ctx.uow, p, st.id, ctx.now, schedule)
    for o, c in done.scheduled:
        _tell_scheduled(ctx, o, c)
    ctx.edit(t("plan.accepted", circuits=len(done.circuits), orders=len(done.scheduled)))


def _experts(ctx: Ctx, c: Circuit) -> str:
    return "、".join(s.name for i in sorted(c.expert_ids) if (s := ctx.uow.staff.get(i)) is not None)


def _tell_scheduled(ctx: Ctx, o, c: Circuit) -> None:
    """The filing village doctor hears at once; the resident gets the personal notice through the outbox."""
    r = ctx.uow.residents.get(o.resident_id)
    when = dict(date=f"{c.day.month}月{c.day.day}日", half_day=t(f"half_day.{c.half_day.value}"),
                place=ctx.place_name(c.place_code))
    ctx.notify_staff([o.filed_by_staff_id], t("notify.circuit_scheduled", number=o.number, resident=r.name if r else "",
                                              experts=_experts(ctx, c), **when))
    text = t("notify.scheduled_resident", expert=_experts(ctx, c), **when)
    for acc in ctx.uow.chat.accounts_of_resident(o.resident_id):
        if not acc.blocked:
            ctx.uow.outbox.enqueue(acc.platform, private_chat_of(acc), text, None, priority="reply",
                                   dedupe_key=f"scheduled:{o.id}:{c.id}:{acc.platform}:{acc.id}", account_id=acc.id,
                                   now=ctx.now)


# --- list, create, move, cancel, add ---------------------------------------------------------------------------
@router.button("plan.list")
def list_button(ctx: Ctx, payload: dict) -> None:
    """The hospital's upcoming circuits."""
    show_list(ctx)


def show_list(ctx: Ctx) -> None:
    """Upcoming circuits of the reviewer's hospital, each with move / cancel / add-orders buttons."""
    hospital = _hospital(ctx)
    found = ctx.uow.schedule.circuits_between(ctx.today, ctx.today + timedelta(days=LIST_DAYS), hospital_code=hospital)
    if not found:
        ctx.reply(t("plan.list.none"))
        return
    ctx.reply(t("plan.list.head", count=len(found)))
    for c in found[:MAX_LISTED]:
        ctx.reply(_line(ctx, c), [[
            ctx.btn(t("plan.move"), "plan.move", id=c.id),
            ctx.btn(t("plan.cancel"), "plan.cancel", id=c.id),
            ctx.btn(t("plan.add_orders"), "plan.add", id=c.id),
        ]])


def _line(ctx: Ctx, c: Circuit) -> str:
    return t("plan.list.line", id=c.id, date=f"{c.day.month}月{c.day.day}日", weekday=t(f"weekday.{c.day.weekday()}"),
             half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code), experts=_experts(ctx, c),
             orders=len(ctx.uow.orders.list(circuit_id=c.id)))


def _own_circuit(ctx: Ctx, circuit_id: object) -> Circuit:
    try:
        c = ctx.uow.circuits.get(int(str(circuit_id)))
    except ValueError:
        c = None
    if c is None or c.hospital_code != _hospital(ctx):
        raise DomainError("plan.unknown_circuit")
    if c.status is not CircuitStatus.PLANNED:
        raise DomainError("plan.not_planned", id=c.id)
    if has_started(c, ctx.now):
        raise DomainError("plan.started", id=c.id)
    return c


def warnings(ctx: Ctx, c: Circuit) -> list[str]:
    """Conflicts worth a second look: an expert booked twice or on leave, a place outside the area, a day off."""
    out = []
    when = dict(date=f"{c.day.month}月{c.day.day}日", half_day=t(f"half_day.{c.half_day.value}"))
    same_day = ctx.uow.schedule.circuits_between(c.day, c.day)
    leave = ctx.uow.schedule.leave(c.day, c.day, c.expert_ids)
    for sid in sorted(c.expert_ids):
        st = ctx.uow.staff.get(sid)
        name = st.name if st else str(sid)
        for other in same_day:
            if other.id != c.id and other.half_day is c.half_day and sid in other.expert_ids:
                out.append(t("plan.warn.double", expert=name, other=other.id, place=ctx.place_name(other.place_code),
                             **when))
        if c.day in leave.get(sid, set()):
            out.append(t("plan.warn.leave", expert=name, date=when["date"]))
    if not within_support(ctx.jurisdiction, c.hospital_code, c.place_code, ctx.today):
        out.append(t("plan.warn.outside", place=ctx.place_name(c.place_code)))
    cal = _calendar(ctx)
    if cal.is_holiday(c.day) or not cal.is_workday(c.day):
        out.append(t("plan.warn.holiday", date=when["date"]))
    return out


def _require_support(ctx: Ctx, hospital: str, place_code: str) -> None:
    """Refuse (audited, nothing stored or announced) a circuit at a place the hospital does not support."""
    if not within_support(ctx.jurisdiction, hospital, place_code, ctx.today):
        raise PermissionDenied("plan.outside_support", place=ctx.place_name(place_code), place_code=place_code)


def _warn(ctx: Ctx, c: Circuit) -> None:
    found = warnings(ctx, c)
    if found:
        ctx.reply(t("plan.warnings", warnings="\n".join("· " + w for w in found)))


def create(ctx: Ctx, words: list[str]) -> None:
    """/plan new PLACE YYYY-MM-DD 上午|下午 STAFF_CODE…"""
    st, _ = acting_staff(ctx)
    hospital = _hospital(ctx)
    if len(words) < 4 or words[2].lower() not in HALVES:
        ctx.reply(t("plan.bad_new"))
        return
    place = ctx.uow.reference.place(words[0])
    if place is None:
        ctx.reply(t("plan.unknown_place", code=words[0][:32]))
        return
    try:
        day = date.fromisoformat(words[1])
    except ValueError:
        ctx.reply(t("plan.bad_new"))
        return
    if day <= ctx.today:
        ctx.reply(t("plan.past_day", date=day.isoformat()))
        return
    experts = set()
    for code in words[3:]:
        ex = ctx.uow.staff.by_code(code)
        if ex is None or ex.id is None or ex.institution_code != hospital or not ex.active:
            ctx.reply(t("plan.unknown_expert", code=code[:32]))
            return
        experts.add(ex.id)
    _require_support(ctx, hospital, place.code)
    level = LEVEL_OF_PLACE.get(place.level, CircuitLevel.VILLAGE)
    c = Circuit(hospital, place.code, day, HALVES[words[2].lower()], level, frozenset(experts))
    ctx.uow.circuits.add(c)
    Announcer.record_created(ctx.uow, c, st.id, ctx.now)
    ctx.audit("circuit_created", "circuit", str(c.id))
    ctx.reply(t("plan.created", id=c.id, date=f"{day.month}月{day.day}日", half_day=t(f"half_day.{c.half_day.value}"),
                place=place.name, experts=_experts(ctx, c)), [[ctx.btn(t("plan.add_orders"), "plan.add", id=c.id)]])
    _warn(ctx, c)


@router.button("plan.move")
def ask_move(ctx: Ctx, payload: dict) -> None:
    """Ask for the new day, half-day and (optionally) place."""
    c = _own_circuit(ctx, payload.get("id"))
    ctx.acc.start("plan.move", ctx.now, id=c.id)
    ctx.reply(t("plan.ask_move"))


@router.step("plan.move")
def move(ctx: Ctx, text: str) -> None:
    """Move the circuit; an update notice goes to everyone told before, reminders follow the new slot."""
    st, _ = acting_staff(ctx)
    m = _SLOT.match(text)
    if not m:
        ctx.reply(t("plan.bad_move"))
        return
    try:
        day = date.fromisoformat("-".join(f"{int(x):02d}" for x in m.group(1).split("-")))
    except ValueError:
        ctx.reply(t("plan.bad_move"))
        return
    if day <= ctx.today:
        ctx.reply(t("plan.past_day", date=day.isoformat()))
        return
    before = _own_circuit(ctx, ctx.acc.draft.get("id"))
    place_code = before.place_code
    if m.group(3):
        place = ctx.uow.reference.place(m.group(3))
        if place is None:
            ctx.reply(t("plan.unknown_place", code=m.group(3)[:32]))
            return
        place_code = place.code
    _require_support(ctx, before.hospital_code, place_code)
    after = Circuit(before.hospital_code, place_code, day, HALVES[m.group(2).lower()], before.level,
                    before.expert_ids, before.status, before.id)
    ctx.uow.schedule.save_circuit(after)
    _announcer(ctx).record_change(ctx.uow, before, after, st.id, ctx.now)
    ctx.audit("circuit_moved", "circuit", str(after.id))
    ctx.acc.clear()
    ctx.reply(t("plan.moved", id=after.id, date=f"{day.month}月{day.day}日",
                half_day=t(f"half_day.{after.half_day.value}"), place=ctx.place_name(place_code)))
    _warn(ctx, after)


@router.button("plan.cancel")
def ask_cancel(ctx: Ctx, payload: dict) -> None:
    """Confirm before cancelling."""
    c = _own_circuit(ctx, payload.get("id"))
    ctx.reply(t("plan.confirm_cancel", id=c.id, date=f"{c.day.month}月{c.day.day}日",
                half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code)),
              [[ctx.btn(t("plan.confirm_cancel_button"), "plan.cancel_yes", id=c.id)]])


@router.button("plan.cancel_yes")
def cancel(ctx: Ctx, payload: dict) -> None:
    """Cancel: orders go back to awaiting a circuit, a cancellation notice goes out, no more reminders."""
    st, _ = acting_staff(ctx)
    before = _own_circuit(ctx, payload.get("id"))
    order_ids = []
    for o in ctx.uow.orders.list(circuit_id=before.id, statuses=[OrderStatus.SCHEDULED], limit=1000):
        done = act(ctx, o.id, Action.UNSCHEDULE)
        if done is not None and done.id is not None:
            order_ids.append(done.id)
    after = Circuit(before.hospital_code, before.place_code, before.day, before.half_day, before.level,
                    before.expert_ids, CircuitStatus.CANCELLED, before.id)
    ctx.uow.schedule.save_circuit(after)
    _announcer(ctx).record_change(ctx.uow, before, after, st.id, ctx.now, order_ids)
    ctx.audit("circuit_cancelled", "circuit", str(after.id))
    ctx.edit(t("plan.cancelled", id=after.id, orders=len(order_ids)))


@router.button("plan.add")
def choose_orders(ctx: Ctx, payload: dict) -> None:
    """Awaiting orders from the hospital's area that may join this circuit."""
    c = _own_circuit(ctx, payload.get("id"))
    reach = ctx.jurisdiction.network.reachable(c.hospital_code, ctx.today)
    found = ctx.uow.orders.list(post_codes=sorted(reach), statuses=[OrderStatus.AWAITING_CIRCUIT], limit=500)
    # Orders already assigned to one of this circuit's experts first, then the oldest.
    found.sort(key=lambda o: (o.assigned_expert_id not in c.expert_ids, o.created_at))
    if not found:
        ctx.reply(t("plan.no_orders", id=c.id))
        return
    rows = [[ctx.btn(t("plan.order_line", number=o.number, village=ctx.place_name(o.village_code),
                       specialty=specialty_name(o.confirmed_specialty)), "plan.add_order", id=c.id, order=o.id)]
            for o in found[:8]]
    ctx.reply(t("plan.choose_orders", id=c.id), rows)


@router.button("plan.add_order")
def add_order(ctx: Ctx, payload: dict) -> None:
    """Schedule one awaiting order on the circuit (permission checked as for any order action)."""
    c = _own_circuit(ctx, payload.get("id"))
    o = act(ctx, payload.get("order"), Action.SCHEDULE, circuit_id=c.id)
    if o is None:
        return
    ctx.uow.schedule.log_change(c.id or 0, "orders_added", None, {"order": o.id}, ctx.acc.staff_id, ctx.now)
    _tell_scheduled(ctx, o, c)
    ctx.edit(t("plan.order_added", number=o.number, id=c.id))
