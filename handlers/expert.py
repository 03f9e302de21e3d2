"""Experts: their upcoming circuits, outcomes per order, and the visit's other work (/circuits)."""

from __future__ import annotations

from domain.circuits import CircuitStatus, month_day
from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, OrderStatus
from domain.staff import Role
from handlers import texts_circuits  # noqa: F401  (registers the circuit texts)
from handlers.common import act, acting_staff, emergency_mark, notify_decision, specialty_name, status_name
from handlers.core import Ctx, Router
from handlers.feedback import RATE_WINDOW, score_words
from handlers.prompts import Asked
from handlers.texts import t

router = Router()
EX = Role.EXPERT
WORK_KINDS = ("lecture", "training", "home_visit", "special_consult")
SESSION_KINDS = ("lecture", "training")  # counted in 场次 and in people; the others in 人次 only
MAX_SESSIONS = 10  # lectures or trainings in one half-day visit
MAX_PEOPLE = 9999
MAX_CIRCUITS = 5


@router.command("circuits", EX)
def circuits(ctx: Ctx, arg: str) -> None:
    """Upcoming circuits with their orders, each order with served / no-show buttons."""
    st, _ = acting_staff(ctx)
    assert st.id is not None
    found = [c for c in ctx.uow.circuits.for_expert(st.id, ctx.today) if c.status.value == "planned"][:MAX_CIRCUITS]
    if not found:
        ctx.reply(t("circuits.none"))
        return
    ctx.reply(t("circuits.header"))
    for c in found:
        orders = ctx.uow.orders.list(circuit_id=c.id)
        ctx.reply(
            t(
                "circuits.line",
                date=month_day(c.day),
                half_day=t(f"half_day.{c.half_day.value}"),
                place=ctx.place_name(c.place_code),
                count=len(orders),
            ),
            [[ctx.btn(t("circuits.record_work"), "ex.work", circuit=c.id)]],
        )
        for o in orders:
            r = ctx.read_resident(o.resident_id, "circuit")
            text = t(
                "circuits.order",
                number=o.number,
                resident=r.name if r else "",
                specialty=specialty_name(o.confirmed_specialty),
                status=status_name(o),
                need=o.need_text,
            ) + emergency_mark(o)
            buttons = [
                [
                    ctx.btn(t("circuits.served"), "ex.mark", id=o.id, served=True),
                    ctx.btn(t("circuits.no_show"), "ex.mark", id=o.id, served=False),
                ]
            ]
            ctx.reply(text, buttons if o.status is OrderStatus.SCHEDULED else [])


@router.button("ex.mark")
def mark(ctx: Ctx, payload: dict) -> None:
    """Served or no-show (only on a circuit the expert is assigned to); then a short outcome."""
    action = Action.MARK_SERVED if payload.get("served") else Action.MARK_NO_SHOW
    o = act(ctx, payload.get("id"), action)
    if o is None:
        return
    notify_decision(ctx, o, action)
    if action is Action.MARK_SERVED:
        # The problem-lead ledger starts here: the resident (or the village doctor for them) rates the visit.
        raters = ctx.uow.chat.accounts_of_staff([o.filed_by_staff_id]) + ctx.uow.chat.accounts_of_resident(
            o.resident_id
        )
        ctx.offer(
            raters,
            t("rate.prompt", number=o.number),
            [[(str(n), "fb.score", {"id": o.id, "score": n}, score_words(n)) for n in range(1, 6)]],
            Asked("rate", until=ctx.now + RATE_WINDOW, again="/rate"),  # as long as /rate offers the visit
        )
    ctx.edit(t("circuits.outcome_saved", number=o.number, decision=t(f"decision.{action.value}")))
    if action is Action.MARK_SERVED:
        ctx.acc.start("ex.outcome", ctx.now, id=o.id)
        ctx.reply(t("circuits.ask_outcome"), [[ctx.btn(t("skip"), "ex.outcome_skip")]])


@router.step("ex.outcome")
def outcome(ctx: Ctx, text: str) -> None:
    """Store the short outcome note."""
    st, _ = acting_staff(ctx)
    assert st.id is not None
    oid = int(str(ctx.acc.draft.get("id")))
    ctx.uow.chat.record_outcome(oid, text.strip()[:500], st.id, ctx.now)
    ctx.acc.clear()
    ctx.reply(t("circuits.outcome_noted"))


@router.button("ex.outcome_skip")
def outcome_skip(ctx: Ctx, payload: dict) -> None:
    """No outcome note."""
    ctx.acc.clear()
    ctx.edit(t("cancelled"))


def _own_circuit(ctx: Ctx, circuit_id: object):
    st, _ = acting_staff(ctx)
    c = ctx.uow.circuits.get(int(str(circuit_id))) if str(circuit_id).isascii() and str(circuit_id).isdigit() else None
    if c is None or not c.has_expert(st.id):
        raise PermissionDenied("perm.not_on_circuit", circuit=str(circuit_id))
    if c.status is CircuitStatus.CANCELLED:
        raise DomainError("plan.not_planned", id=c.id)
    return c


def _held_circuit(ctx: Ctx, circuit_id: object):
    """The expert's circuit, if it has taken place (today or earlier): work is recorded only for a visit held."""
    c = _own_circuit(ctx, circuit_id)
    if c.day > ctx.today:
        raise PermissionDenied("perm.circuit_not_held", date=month_day(c.day))
    return c


@router.button("ex.work")
def choose_work(ctx: Ctx, payload: dict) -> None:
    """Which other work to record for this circuit."""
    c = _held_circuit(ctx, payload.get("circuit"))
    ctx.reply(
        t("circuits.choose_work"), [[ctx.btn(t(f"work.{k}"), "ex.work_kind", circuit=c.id, kind=k)] for k in WORK_KINDS]
    )


@router.button("ex.work_kind")
def work_kind(ctx: Ctx, payload: dict) -> None:
    """Ask the first figure of that kind of work: how many lectures or trainings; how many people otherwise."""
    c = _held_circuit(ctx, payload.get("circuit"))
    kind = str(payload.get("kind"))
    if kind not in WORK_KINDS:
        return
    if kind in SESSION_KINDS:
        ctx.acc.start("ex.work_sessions", ctx.now, circuit=c.id, kind=kind)
        ctx.reply(t(f"work.ask_sessions.{kind}", most=MAX_SESSIONS))
    else:
        ctx.acc.start("ex.work_count", ctx.now, circuit=c.id, kind=kind)
        ctx.reply(t(f"work.ask_people.{kind}"))


def _number(text: str) -> int | None:
    """A whole number typed in half- or full-width digits, else None."""
    digits = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return int(digits) if digits.isascii() and digits.isdigit() else None


@router.step("ex.work_sessions")
def work_sessions(ctx: Ctx, text: str) -> None:
    """How many lectures (or trainings) this visit held; then how many people came to them."""
    kind = str(ctx.acc.draft.get("kind"))
    n = _number(text)
    if n is not None and n > MAX_SESSIONS:
        # Most likely the audience typed one question early: say so rather than record 35 lectures.
        ctx.reply(t("work.too_many_sessions", kind=t(f"work.{kind}"), n=n, most=MAX_SESSIONS,
                    people=t(f"work.people.{kind}")))
        return
    if n is None or n < 1:
        ctx.reply(t("work.sessions_invalid", most=MAX_SESSIONS))
        return
    ctx.acc.advance("ex.work_count", ctx.now, sessions=n)
    ctx.reply(t(f"work.ask_people.{kind}", sessions=n))


@router.step("ex.work_count")
def work_count(ctx: Ctx, text: str) -> None:
    """Record the work: one record per lecture or training (their people shared out), one for the others."""
    n = _number(text)
    if n is None or not 1 <= n <= MAX_PEOPLE:
        ctx.reply(t("circuits.count_invalid", most=MAX_PEOPLE))
        return
    c = _held_circuit(ctx, ctx.acc.draft.get("circuit"))
    st, _ = acting_staff(ctx)
    assert c.id is not None and st.id is not None
    kind = str(ctx.acc.draft.get("kind"))
    sessions = ctx.acc.draft.get("sessions")
    if kind in SESSION_KINDS and isinstance(sessions, int):
        # The ledgers count a lecture or training per record and its people by their sum.
        base, extra = divmod(n, sessions)
        for i in range(sessions):
            ctx.uow.chat.record_work(c.id, kind, base + (i < extra), None, st.id, ctx.now)
        saved = t(f"work.saved.{kind}", sessions=sessions, people=n)
    else:
        ctx.uow.chat.record_work(c.id, kind, n, None, st.id, ctx.now)
        saved = t(f"work.saved.{kind}", people=n)
    ctx.acc.clear()
    ctx.reply(saved)
