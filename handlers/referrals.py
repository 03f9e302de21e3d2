"""Two-way referral in chat: the hospital reviewer's /slots and /referrals (marking states, discharge with a follow-up
plan), the booking right after a "refer up" disposition, and the village doctor's /tasks.

Every button is re-authorised in the use case (``handlers.services.referrals`` / ``followups``): a referral belongs
to one hospital and only its reviewers may act on it; a task belongs to one village post.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.circuits import month_day
from domain.errors import DomainError, PermissionDenied
from domain.followups import TEMPLATES, FollowupStatus, parse_plan
from domain.orders import Order
from domain.referrals import FINAL, Referral, ReferralAction, ReferralStatus, window
from domain.staff import Role
from handlers.common import acting_staff, actor_of, deliver
from handlers.core import Ctx, Router
from handlers.services import followups as fu
from handlers.services import referrals as rs
from handlers.services import today_of
from handlers.texts_referrals import t

router = Router()
HS, VD = Role.HOSPITAL_REVIEWER, Role.VILLAGE_DOCTOR
SLOT_DAYS = 14
MAX_CARDS = 10
RA = ReferralAction
# The marks each state offers on the /referrals list.
NEXT: dict[ReferralStatus, tuple[ReferralAction, ...]] = {
    ReferralStatus.BOOKED: (RA.ARRIVE, RA.NO_SHOW, RA.CANCEL),
    ReferralStatus.ARRIVED: (RA.SEE,),
    ReferralStatus.SEEN: (RA.ADMIT, RA.DISCHARGE),
    ReferralStatus.ADMITTED: (RA.DISCHARGE,),
}


# --- right after "refer up" --------------------------------------------------------------------------------------
def after_refer_up(ctx: Ctx, order: Order) -> None:
    """Book the referral of an order just disposed "refer up"; tell the resident and doctor, or ask the hospital."""
    done = rs.refer_up(ctx.uow, actor_of(ctx), order, ctx.now, order.disposition_note)
    _answer_booking(ctx, done, order)


def _answer_booking(ctx: Ctx, done: rs.Referred, order: Order) -> None:
    r = done.referral
    resident = ctx.uow.residents.get(r.resident_id)
    name = resident.name if resident else ""
    if done.slot is not None:
        inst = ctx.uow.reference.institution(r.hospital_code)
        ctx.edit(t("referral.booked_reviewer", resident=name, when=rs.when_text(done.slot),
                   hospital=inst.name if inst else "", specialty=rs.specialty_name(done.slot.specialty),
                   place=done.slot.place or t("referral.place_default")))
        deliver(ctx, done.notices)
        return
    _, last = _window(r)
    ctx.reply(t("referral.no_slot", resident=name, number=order.number, urgency=t(f"urgency.{r.urgency.value}"),
                last=month_day(last), specialty=rs.specialty_name(r.specialty)), _waiting_buttons(ctx, r))
    inst = ctx.uow.reference.institution(r.hospital_code)
    ctx.send_to(ctx.uow.chat.accounts_of_staff([order.filed_by_staff_id]),
                t("referral.waiting_doctor", number=order.number, resident=name, hospital=inst.name if inst else ""))


def _window(r: Referral) -> tuple[date, date]:
    return window(today_of(r.created_at), r.urgency)


def _waiting_buttons(ctx: Ctx, r: Referral) -> list[list]:
    days = rs.offered_days(r, ctx.now)
    rows = [[ctx.btn(t("referral.open_day", date=month_day(d), weekday=f"（{t(f'weekday.{d.weekday()}')}）",
                       half=t(f"half_day.{h.value}")), "rf.pick", id=r.id, d=d.isoformat(), h=h.value)
             for d, h in days[i:i + 2]] for i in range(0, len(days), 2)]
    rows.append([ctx.btn(t("referral.retry"), "rf.retry", id=r.id)])
    return rows


@router.button("rf.pick")
def pick_day(ctx: Ctx, payload: dict) -> None:
    """The hospital picks a date for a waiting referral: one place is opened that half-day and booked."""
    done = rs.open_and_book(ctx.uow, actor_of(ctx), payload.get("id"), payload.get("d"), payload.get("h"), ctx.now)
    _answer_booking(ctx, done, rs.order_of(ctx.uow, done.referral))


@router.button("rf.retry")
def retry(ctx: Ctx, payload: dict) -> None:
    """Book a waiting referral again, after slots were published."""
    done = rs.retry_booking(ctx.uow, actor_of(ctx), payload.get("id"), ctx.now)
    if done.slot is None:
        ctx.reply(t("referral.still_no_slot"))
        return
    _answer_booking(ctx, done, rs.order_of(ctx.uow, done.referral))


# --- /slots ------------------------------------------------------------------------------------------------------
@router.command("slots", HS)
def slots_command(ctx: Ctx, arg: str) -> None:
    """``/slots``: the hospital's reserved slots for the next two weeks; ``/slots 日期 上午 科室 号数 …`` adds one."""
    st, _ = acting_staff(ctx)
    hospital = st.institution_code
    if arg.strip():
        done = rs.publish_slots(ctx.uow, actor_of(ctx), hospital, [rs.parse_slot_text(arg[:200], hospital)], ctx.now)
        key = "slots.saved_new" if done.new else "slots.saved_updated"
        ctx.reply(t(key, line=rs.slot_line(done.slots[0])))
        return
    found = ctx.uow.referrals.slots(hospital, ctx.today, ctx.today + timedelta(days=SLOT_DAYS))
    lines = "\n".join(rs.slot_line(s) for s in found[:40]) or t("slots.none")
    ctx.reply(t("slots.usage", days=SLOT_DAYS, lines=lines))


# --- /referrals --------------------------------------------------------------------------------------------------
@router.command("referrals", HS)
def referrals_command(ctx: Ctx, arg: str) -> None:
    """The hospital's open referrals, each with the marks its state allows."""
    st, _ = acting_staff(ctx)
    found = ctx.uow.referrals.of_hospital(st.institution_code)
    no_shows = rs.no_show_count(ctx.uow, st.institution_code)
    if not found:
        ctx.reply(t("referrals.none", no_shows=no_shows))
        return
    ctx.reply(t("referrals.head", count=len(found), no_shows=no_shows))
    residents = ctx.read_residents([r.resident_id for r in found[:MAX_CARDS]], "referral")
    for r in found[:MAX_CARDS]:
        _card(ctx, r, residents)
    if len(found) > MAX_CARDS:
        ctx.reply(t("referrals.more", count=len(found) - MAX_CARDS))


def _card(ctx: Ctx, r: Referral, residents: dict | None = None) -> None:
    residents = residents if residents is not None else ctx.read_residents([r.resident_id], "referral")
    resident = residents.get(r.resident_id)
    order = ctx.uow.orders.get(r.order_id)
    slot = ctx.uow.referrals.slot(r.slot_id) if r.slot_id else None
    text = t("referrals.card", resident=resident.name if resident else "", specialty=rs.specialty_name(r.specialty),
             status=rs.status_name(r.status), when=f"｜{rs.when_text(slot)}" if slot else "",
             number=order.number if order else "", post=ctx.place_name(order.village_code) if order else "")
    if r.status is ReferralStatus.WAITING:
        ctx.reply(text, _waiting_buttons(ctx, r))
        return
    buttons = [ctx.btn(t(f"referral.action.{a.value}"), "rf.discharge" if a is RA.DISCHARGE else "rf.mark",
                       id=r.id, a=a.value, v=r.version) for a in NEXT.get(r.status, ())]
    ctx.reply(text, [buttons] if buttons else [])


@router.button("rf.mark")
def mark(ctx: Ctx, payload: dict) -> None:
    """Mark a referral arrived, seen, admitted, no-show or cancelled."""
    try:
        action = RA(str(payload.get("a")))
    except ValueError:
        raise DomainError("referral.unknown") from None
    if action is RA.CANCEL:  # the resident and the village doctor are told why: ask for the reason first
        r = rs.load_referral(ctx.uow, actor_of(ctx), payload.get("id"), for_update=False)
        rs.require(r, action)
        ctx.acc.start("rf.cancel", ctx.now, id=r.id, v=payload.get("v"))
        ctx.reply(t("referral.ask_cancel_reason"))
        return
    _marked(ctx, rs.mark(ctx.uow, actor_of(ctx), payload.get("id"), action, ctx.now, shown=payload.get("v")))


@router.step("rf.cancel")
def cancel_reason_typed(ctx: Ctx, text: str) -> None:
    """The typed reason: cancel the referral (its place goes back); the resident and the village doctor are told."""
    draft = dict(ctx.acc.draft)
    try:
        done = rs.mark(ctx.uow, actor_of(ctx), draft.get("id"), RA.CANCEL, ctx.now, shown=draft.get("v"),
                       reason=text)
    except DomainError as e:
        if isinstance(e, PermissionDenied):
            raise
        # Polite words, an audit entry (nothing was changed), and the same question again; but a referral that can
        # no longer be cancelled (the resident was erased, a colleague cancelled it meanwhile) ends the question,
        # or every message after it would be read as a reason again.
        if not e.key.startswith("referral.reason."):
            ctx.acc.clear()
        ctx.audit("refused", "referral", str(draft.get("id") or ""), reason=e.key, detail={"step": "cancel"})
        ctx.reply(t(e.key, **e.params))
        return
    ctx.acc.clear()
    _marked(ctx, done)


def _marked(ctx: Ctx, done: rs.Marked) -> None:
    if done.refused:
        ctx.edit(t("referral.changed"))
        _card(ctx, done.referral)
        return
    resident = ctx.uow.residents.get(done.referral.resident_id)
    ctx.edit(t("referral.marked", resident=resident.name if resident else "",
               status=rs.status_name(done.referral.status)))
    deliver(ctx, done.notices)
    if done.referral.status not in FINAL:
        _card(ctx, done.referral)


@router.button("rf.discharge")
def ask_plan(ctx: Ctx, payload: dict) -> None:
    """Discharge: choose a follow-up plan (a template, typed, or none)."""
    r = rs.load_referral(ctx.uow, actor_of(ctx), payload.get("id"), for_update=False)
    resident = ctx.uow.residents.get(r.resident_id)
    post = ctx.uow.reference.institution(r.post_code)
    v = payload.get("v")
    rows = [[ctx.btn(label, "rf.plan", id=r.id, v=v, tpl=key)] for key, (label, _) in TEMPLATES.items()]
    rows.append([ctx.btn(t("discharge.type"), "rf.type", id=r.id, v=v),
                 ctx.btn(t("discharge.none"), "rf.plan", id=r.id, v=v, tpl="none")])
    ctx.reply(t("discharge.choose", resident=resident.name if resident else "", post=post.name if post else ""), rows)


@router.button("rf.plan")
def plan_chosen(ctx: Ctx, payload: dict) -> None:
    """A template (or no follow-up) was chosen: discharge now."""
    tpl = str(payload.get("tpl"))
    if tpl != "none" and tpl not in TEMPLATES:
        raise DomainError("referral.unknown")
    items = () if tpl == "none" else TEMPLATES[tpl][1]
    _discharge(ctx, payload.get("id"), items, payload.get("v"))


@router.button("rf.type")
def type_plan(ctx: Ctx, payload: dict) -> None:
    """Ask for a typed plan."""
    r = rs.load_referral(ctx.uow, actor_of(ctx), payload.get("id"), for_update=False)
    ctx.acc.start("rf.plan", ctx.now, id=r.id, v=payload.get("v"))
    ctx.reply(t("discharge.ask_plan"))


@router.step("rf.plan")
def plan_typed(ctx: Ctx, text: str) -> None:
    """The typed plan: parsed (a polite refusal keeps the step for another try), then the discharge."""
    items = parse_plan(text[:500])
    draft = dict(ctx.acc.draft)
    ctx.acc.clear()
    _discharge(ctx, draft.get("id"), items, draft.get("v"))


def _discharge(ctx: Ctx, referral_id: object, items, shown: object) -> None:
    done = rs.discharge(ctx.uow, actor_of(ctx), referral_id, items, ctx.now, shown=shown)
    if isinstance(done, rs.Marked):
        ctx.edit(t("referral.changed"))
        _card(ctx, done.referral)
        return
    resident = ctx.uow.residents.get(done.referral.resident_id)
    ctx.edit(t("discharge.done", resident=resident.name if resident else "", plan=done.referral.plan or ""))
    deliver(ctx, done.notices)


# --- the village doctor's /tasks ---------------------------------------------------------------------------------
@router.command("tasks", VD)
def tasks_command(ctx: Ctx, arg: str) -> None:
    """Follow-up tasks due by today (overdue first), each with a button to record it done; the week's next ones."""
    found = fu.tasks_of(ctx.uow, actor_of(ctx), ctx.now)
    if not found.due and not found.soon:
        ctx.reply(t("tasks.none"))
        return
    ctx.reply(t("tasks.head", due=len(found.due), overdue=found.overdue, soon=len(found.soon)))
    residents = ctx.read_residents([x.resident_id for x in found.due[:MAX_CARDS] + found.soon[:MAX_CARDS]],
                                   "followup")
    for task in found.due[:MAX_CARDS]:
        r = residents.get(task.resident_id)
        overdue = task.status is FollowupStatus.OVERDUE
        ctx.reply(t("tasks.card", mark=t("tasks.mark_overdue") if overdue else "", resident=r.name if r else "",
                    what=task.what, due=month_day(task.due), status=t("tasks.status_overdue") if overdue else ""),
                  [[ctx.btn(t("tasks.done_button"), "fu.done", id=task.id)]])
    if found.soon:
        lines = "；".join(f"{month_day(x.due)} {_name(residents, x.resident_id)} {x.what}"
                         for x in found.soon[:MAX_CARDS])
        ctx.reply(t("tasks.later", lines=lines))


def _name(residents: dict, resident_id: int) -> str:
    r = residents.get(resident_id)
    return r.name if r else ""


@router.button("fu.done")
def task_done(ctx: Ctx, payload: dict) -> None:
    """Ask for the task's short result."""
    task = fu.load_task(ctx.uow, actor_of(ctx), payload.get("id"))
    if task.status not in (FollowupStatus.DUE, FollowupStatus.OVERDUE):
        raise DomainError("followup.illegal_transition")
    ctx.acc.start("tasks.result", ctx.now, id=task.id)
    ctx.reply(t("tasks.ask_result"))


@router.step("tasks.result")
def task_result(ctx: Ctx, text: str) -> None:
    """Record the task done with the typed result."""
    task = fu.complete(ctx.uow, actor_of(ctx), ctx.acc.draft.get("id"), text, ctx.now)
    ctx.acc.clear()
    resident = ctx.uow.residents.get(task.resident_id)
    ctx.reply(t("tasks.done", resident=resident.name if resident else "", what=task.what, result=task.result))
