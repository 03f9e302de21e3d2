"""Hospital reviewers plan circuits in chat (/plan): the weeks ahead (circuits scheduled and proposed), accept the
proposal, create, move, cancel, add orders.

The use cases themselves are ``handlers.services.planning`` and ``handlers.services.circuits`` (the command line
calls the same ones); the plan's wording is ``handlers.plan_text``; this module keeps the conversation: parsing,
buttons and warnings.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.circuits import Circuit, HalfDay, month_day
from domain.errors import DomainError
from domain.orders import OrderStatus
from domain.planning import parse_month
from domain.staff import Role
from handlers.common import actor_of, answer_refusal, deliver, specialty_name
from handlers.core import Ctx, Router
from handlers.plan_text import plan_messages
from handlers.posters import poster_button
from handlers.services import circuits
from handlers.services.circuits import expert_names, within_support
from handlers.services.experts import told_lines
from handlers.services.planning import PlanView, accept_plan, proposal_fingerprint, show_plan
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


def _hospital(ctx: Ctx) -> str:
    return circuits.hospital_of(actor_of(ctx))


def _view(ctx: Ctx, month: date | None) -> PlanView:
    return show_plan(ctx.uow, _calendar(ctx), ctx.today, _hospital(ctx), month)


@router.command("plan", HS)
def plan(ctx: Ctx, arg: str) -> None:
    """/plan: the weeks ahead, scheduled and proposed; /plan YYYY-MM that month; /plan list; /plan new …"""
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
        month = parse_month(words[0]) if words else None
    except DomainError:
        ctx.reply(t("plan.bad_month"))
        return
    view = _view(ctx, month)
    p = view.proposal
    buttons = [[ctx.btn(t("plan.list_button"), "plan.list")]]
    if p.circuits:
        buttons.insert(0, [ctx.btn(t("plan.accept", count=len(p.circuits)), "plan.accept",
                                   month=f"{month:%Y-%m}" if month else "", fp=proposal_fingerprint(p))])
    if not (view.scheduled or p.circuits or p.orders):
        r = view.request
        ctx.reply(t("plan.nothing", first=month_day(r.first), last=month_day(r.last)), buttons)
        return
    for text in plan_messages(view):
        ctx.reply(text)
    # The buttons come in a short message of their own (on WeCom a card, which holds a title and a few lines).
    if p.circuits:
        ctx.reply(t("plan.actions", count=len(p.circuits), orders=sum(len(c.order_ids) for c in p.circuits)),
                  buttons)
    else:
        ctx.reply(t("plan.actions.none"), buttons)


@router.button("plan.accept")
def accept(ctx: Ctx, payload: dict) -> None:
    """Create the proposed circuits and schedule their orders (each checked like a manual schedule)."""
    actor = actor_of(ctx)
    month = parse_month(str(payload["month"])) if payload.get("month") else None
    p = _view(ctx, month).proposal
    if proposal_fingerprint(p) != payload.get("fp"):
        ctx.reply(t("plan.stale"))
        return
    done = accept_plan(ctx.uow, actor, ctx.now, p)
    deliver(ctx, done.notices)
    ctx.edit("\n".join([t("plan.accepted", circuits=len(done.circuits), orders=len(done.scheduled)),
                         *told_lines(done.experts)]))



def _experts(ctx: Ctx, c: Circuit) -> str:
    return expert_names(ctx.uow, c)


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
            poster_button(ctx, c),
        ]])


def _line(ctx: Ctx, c: Circuit) -> str:
    return t("plan.list.line", id=c.id, date=month_day(c.day), weekday=t(f"weekday.{c.day.weekday()}"),
             half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code), experts=_experts(ctx, c),
             orders=len(ctx.uow.orders.list(circuit_id=c.id)))


def _own_circuit(ctx: Ctx, circuit_id: object) -> Circuit:
    return circuits.own_circuit(ctx.uow, actor_of(ctx), ctx.now, circuit_id)


def warnings(ctx: Ctx, c: Circuit) -> list[str]:
    """Conflicts worth a second look: an expert booked twice or on leave, a place outside the area, a day off."""
    out = []
    when = dict(date=month_day(c.day), half_day=t(f"half_day.{c.half_day.value}"))
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


def _warn(ctx: Ctx, c: Circuit) -> None:
    found = warnings(ctx, c)
    if found:
        ctx.reply(t("plan.warnings", warnings="\n".join("· " + w for w in found)))


def create(ctx: Ctx, words: list[str]) -> None:
    """/plan new PLACE YYYY-MM-DD 上午|下午 STAFF_CODE…"""
    if len(words) < 4 or words[2].lower() not in HALVES:
        ctx.reply(t("plan.bad_new"))
        return
    try:
        day = date.fromisoformat(words[1])
    except ValueError:
        ctx.reply(t("plan.bad_new"))
        return
    done = circuits.create_circuit(ctx.uow, actor_of(ctx), ctx.now, words[0], day, HALVES[words[2].lower()],
                                   words[3:])
    c = done.circuit
    deliver(ctx, done.experts.notices)
    ctx.reply("\n".join([t("plan.created", id=c.id, date=month_day(day), half_day=t(f"half_day.{c.half_day.value}"),
                            place=ctx.place_name(c.place_code), experts=_experts(ctx, c)), *told_lines(done.experts)]),
              [[ctx.btn(t("plan.add_orders"), "plan.add", id=c.id)]])
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
    m = _SLOT.match(text)
    if not m:
        ctx.reply(t("plan.bad_move"))
        return
    try:
        day = date.fromisoformat("-".join(f"{int(x):02d}" for x in m.group(1).split("-")))
    except ValueError:
        ctx.reply(t("plan.bad_move"))
        return
    after = circuits.move_circuit(ctx.uow, actor_of(ctx), ctx.now, ctx.acc.draft.get("id"), day,
                                  HALVES[m.group(2).lower()], m.group(3))
    ctx.acc.clear()
    ctx.reply(t("plan.moved", id=after.id, date=month_day(day),
                half_day=t(f"half_day.{after.half_day.value}"), place=ctx.place_name(after.place_code)))
    _warn(ctx, after)


@router.button("plan.cancel")
def ask_cancel(ctx: Ctx, payload: dict) -> None:
    """Confirm before cancelling."""
    c = _own_circuit(ctx, payload.get("id"))
    ctx.reply(t("plan.confirm_cancel", id=c.id, date=month_day(c.day),
                half_day=t(f"half_day.{c.half_day.value}"), place=ctx.place_name(c.place_code)),
              [[ctx.btn(t("plan.confirm_cancel_button"), "plan.cancel_yes", id=c.id)]])


@router.button("plan.cancel_yes")
def cancel(ctx: Ctx, payload: dict) -> None:
    """Cancel: orders go back to awaiting a circuit, a cancellation notice goes out, no more reminders."""
    done = circuits.cancel_circuit(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"))
    ctx.edit(t("plan.cancelled", id=done.circuit.id, orders=len(done.order_ids)))


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
    done = circuits.add_order(ctx.uow, actor_of(ctx), ctx.now, payload.get("id"), payload.get("order"))
    o = answer_refusal(ctx, done.decided)
    if o is None:
        return
    deliver(ctx, done.notices)
    ctx.edit("\n".join([t("plan.order_added", number=o.number, id=done.circuit.id), *told_lines(done.experts)]))
