"""Remote consultations in chat (远程会诊): the hospital reviewer schedules one from an order's card (expert, site,
time, link or room), lists, moves and cancels them (/remote); the expert records the outcome or a no-show.

Every button names only the session (or order) and is re-checked by the use case (``handlers.services.remote``);
a typed step that cannot be read is answered politely, audited, and asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.errors import DomainError, PermissionDenied
from domain.orders import Order
from domain.remote import MAX_ADVICE, MAX_PLAN, RemoteSession, SessionStatus, parse_when, wall_clock
from domain.staff import Role
from handlers.common import actor_of, answer_refusal, deliver, viewable_order
from handlers.core import Ctx, Router, has_meaning
from handlers.services import remote
from handlers.texts_remote import t

router = Router()
HS, EX = Role.HOSPITAL_REVIEWER, Role.EXPERT
MAX_LISTED = 10
_NONE_WORDS = {"无", "没有", "暂无", "不需要", "无随访"}


# The session can no longer take what the typed step was for (the resident was erased, a colleague cancelled or
# moved it meanwhile): the step ends with the refusal, or every later message would be refused the same way.
_GONE = ("remote.unknown", "remote.illegal_transition")


def _refused(ctx: Ctx, e: DomainError, step: str) -> None:
    """A typed answer that cannot be taken: polite words, an audit entry, the same step again; unless the session
    can no longer take it at all (``_GONE``), which ends the step."""
    ctx.audit("refused", "remote", str(ctx.acc.draft.get("session") or ctx.acc.draft.get("id") or ""),
              reason=e.key, detail={"step": step})
    ctx.reply(t(e.key, **e.params))
    if e.key in _GONE:
        ctx.acc.clear()


def _when(ctx: Ctx, text: str):
    """The typed time, in the future; ``DomainError`` otherwise."""
    at = parse_when(text, ctx.today)
    if at <= ctx.now:
        raise DomainError("remote.in_the_past")
    return at


def _time_then(ctx: Ctx, text: str, step: str, then: str, ask: str,
               expert: Callable[[], tuple[object, int | None]]) -> None:
    """A typed time at ``step``: kept, and the next step (``then``) asked with ``ask``; else asked again (also when
    the expert, given by ``expert`` with the session being moved, already has a consultation then)."""
    try:
        at = _when(ctx, text)
        expert_id, besides = expert()
        remote.check_expert_free(ctx.uow, expert_id, at, besides=besides)
    except DomainError as e:
        _refused(ctx, e, step)
        return
    ctx.acc.advance(then, ctx.now, at=at.isoformat())
    ctx.reply(t(ask))


# --- the hospital reviewer schedules -----------------------------------------------------------------------------
@router.button("hs.remote")
def choose_expert(ctx: Ctx, payload: dict) -> None:
    """Remote consultation: choose the expert (buttons; the order's specialty first)."""
    actor = actor_of(ctx)
    if actor.role is not HS:
        raise PermissionDenied("perm.action_not_for_role", role=actor.role.value)
    o = viewable_order(ctx, payload.get("id"))
    experts = remote.experts_for(ctx.uow, actor, o)
    if not experts:
        ctx.reply(t("remote.no_expert"))
        return
    rows = [[ctx.btn(t("remote.expert_line", name=e.name, title=e.title.value), "rc.expert", id=o.id,
                     expert=e.id, v=payload.get("v"), card=ctx.inbound.message_id)] for e in experts[:8]]
    ctx.reply(t("remote.choose_expert"), rows)


@router.step("hs.remote")
def typed_before_the_upgrade(ctx: Ctx, text: str) -> None:
    """A reviewer who chose 远程会诊 before sessions existed was asked for a time and a way as one line: the words
    cannot make a session, so the questions start again from the expert (the order is still undecided)."""
    payload = {"id": ctx.acc.draft.get("id"), "v": ctx.acc.draft.get("v")}
    ctx.acc.clear()
    choose_expert(ctx, payload)


@router.button("rc.expert")
def choose_site(ctx: Ctx, payload: dict) -> None:
    """The expert is chosen: where will the resident sit (their township health center or village post)?"""
    actor = actor_of(ctx)
    o = viewable_order(ctx, payload.get("id"))
    if payload.get("expert") not in {e.id for e in remote.experts_for(ctx.uow, actor, o)}:
        raise PermissionDenied("perm.remote_expert", order=o.number)
    rows = [[ctx.btn(ctx.institution_name(code), "rc.site", id=o.id, expert=payload.get("expert"), site=code,
                     v=payload.get("v"), card=payload.get("card"))] for code in remote.sites_for(actor, o, ctx.now)]
    ctx.reply(t("remote.choose_site"), rows)


@router.button("rc.site")
def ask_when(ctx: Ctx, payload: dict) -> None:
    """The site is chosen: ask for the date and time (typed)."""
    actor = actor_of(ctx)
    o = viewable_order(ctx, payload.get("id"))
    if payload.get("site") not in remote.sites_for(actor, o, ctx.now):
        raise PermissionDenied("perm.remote_site", order=o.number)
    ctx.acc.start("remote.when", ctx.now, id=o.id, expert=payload.get("expert"), site=payload.get("site"),
                  v=payload.get("v"), card=payload.get("card"))
    ctx.reply(t("remote.ask_when"))


@router.step("remote.when")
def typed_when(ctx: Ctx, text: str) -> None:
    """The date and time: read it, then ask for the link or room."""
    _time_then(ctx, text, "when", "remote.room", "remote.ask_room", lambda: (ctx.acc.draft.get("expert"), None))


@router.step("remote.room")
def typed_room(ctx: Ctx, text: str) -> None:
    """The link or room: schedule the session, dispose the order, tell everyone (through the outbox)."""
    d = ctx.acc.draft
    if not any(ch.isalnum() for ch in text):  # only emoji or punctuation: no link, room or meeting number
        _refused(ctx, DomainError("remote.room.meaningless"), "room")
        return
    try:
        at = datetime.fromisoformat(str(d.get("at")))
        done = remote.schedule(ctx.uow, actor_of(ctx), ctx.now, d.get("id"), d.get("expert"), str(d.get("site")),
                               at, text, shown=d.get("v"))
    except DomainError as e:
        if e.key.startswith("perm."):
            raise
        if e.key in ("remote.in_the_past", "remote.expert_busy"):  # the time passed or was taken meanwhile
            ctx.acc.advance("remote.when", ctx.now)
        _refused(ctx, e, "room")
        return
    card = d.get("card")
    ctx.acc.clear()
    o = answer_refusal(ctx, done.decided) if done.decided else None
    if o is None or done.session is None:
        return
    s = done.session
    if card:
        ctx.edit(t("review.done", number=o.number, decision=t("decision.dispose_remote")), str(card))
    deliver(ctx, done.notices)
    # The village doctor and the township hear the session's own message (through the outbox), not a second one.
    ctx.reply(t("remote.scheduled", **_facts(ctx, s, o)))


def _facts(ctx: Ctx, s: RemoteSession, o: Order | None = None) -> dict[str, object]:
    o = o or ctx.uow.orders.get(s.order_id)
    expert = ctx.services.reference.staff(ctx.uow, s.expert_id)
    return dict(session=s.entity_id, number=o.number if o else "", when=wall_clock(s.starts_at),
                expert=expert.name if expert else "", site=ctx.institution_name(s.site_code), room=s.room)


def remote_lines(ctx: Ctx, order_id: int) -> list[str]:
    """An order's remote consultation as it stands now, for the order's card: the latest session's state and
    time, the reason of a cancellation, and once held the expert's advice, referral and follow-up plan."""
    found = ctx.uow.remote.for_order(order_id)
    if not found:
        return []
    s = found[-1]
    lines = [t("remote.card", status=t(f"remote.status.{s.status.value}"), **_facts(ctx, s))]
    if s.status is SessionStatus.CANCELLED and s.reason:
        lines.append(t("remote.card.reason", reason=s.reason))
    if s.status is SessionStatus.HELD:
        lines.append(t("remote.card.outcome", advice=s.advice or "",
                       refer=t("remote.refer.yes") if s.refer_up else t("remote.refer.no"),
                       plan=s.followup_plan or t("remote.plan.none")))
    return lines


# --- /remote: list, move, cancel, outcome --------------------------------------------------------------------------
@router.command("remote", HS, EX)
def list_sessions(ctx: Ctx, arg: str) -> None:
    """The scheduled sessions of this hospital (a reviewer) or of this expert, soonest first, with their buttons."""
    actor = actor_of(ctx)
    if actor.role is HS:
        found = ctx.uow.remote.upcoming(hospital_codes=[actor.staff.institution_code], limit=MAX_LISTED)
    else:
        found = ctx.uow.remote.upcoming(expert_id=actor.staff_id, limit=MAX_LISTED)
    if not found:
        ctx.reply(t("remote.none"))
        return
    residents = ctx.read_residents([s.resident_id for s in found], "remote")
    for s in found:
        r = residents.get(s.resident_id)
        text = t("remote.line", resident=r.name if r else "", **_facts(ctx, s))
        if actor.role is HS:
            rows = [[ctx.btn(t("remote.button.move"), "rc.move", session=s.id),
                     ctx.btn(t("remote.button.cancel"), "rc.cancel", session=s.id),
                     ctx.btn(t("remote.button.no_show"), "rc.no_show", session=s.id)]]
        else:
            rows = [[ctx.btn(t("remote.button.outcome"), "rc.outcome", session=s.id),
                     ctx.btn(t("remote.button.no_show"), "rc.no_show", session=s.id)]]
        ctx.reply(text, rows)


def _mine(ctx: Ctx, payload: dict, *, expert: bool = False) -> RemoteSession:
    """The session a button names, if this user is its hospital's reviewer (or, ``expert``, its expert)."""
    s = remote.load_session(ctx.uow, payload.get("session"))
    actor = actor_of(ctx)
    if not remote.may_see(actor, s) or (expert and actor.role is not EX) or (not expert and actor.role is not HS):
        raise PermissionDenied("perm.remote_not_yours", session=s.entity_id)
    return s


@router.button("rc.move")
def ask_move(ctx: Ctx, payload: dict) -> None:
    """Move: ask for the new time, then the reason."""
    s = _mine(ctx, payload)
    ctx.acc.start("remote.move_when", ctx.now, session=s.id)
    ctx.reply(t("remote.ask_move_when"))


@router.step("remote.move_when")
def typed_move_when(ctx: Ctx, text: str) -> None:
    """The new time: read it, then ask why."""
    def moving() -> tuple[object, int | None]:
        s = remote.load_session(ctx.uow, ctx.acc.draft.get("session"))
        return s.expert_id, s.id

    _time_then(ctx, text, "move_when", "remote.move_reason", "remote.ask_move_reason", moving)


@router.step("remote.move_reason")
def typed_move_reason(ctx: Ctx, text: str) -> None:
    """The reason: move the session; everyone is told again."""
    d = ctx.acc.draft
    if not has_meaning(text):  # only emoji or punctuation: no reason anyone can read
        _refused(ctx, DomainError("remote.reason.empty"), "move_reason")
        return
    try:
        done = remote.move(ctx.uow, actor_of(ctx), ctx.now, d.get("session"),
                           datetime.fromisoformat(str(d.get("at"))), text)
    except DomainError as e:
        if e.key.startswith("perm."):
            raise
        if e.key in ("remote.in_the_past", "remote.same_time", "remote.expert_busy"):
            ctx.acc.advance("remote.move_when", ctx.now)
        _refused(ctx, e, "move_reason")
        return
    ctx.acc.clear()
    deliver(ctx, done.notices)
    assert done.session is not None and done.replaced is not None
    ctx.reply(t("remote.moved", old=done.replaced.entity_id, **_facts(ctx, done.session)))


@router.button("rc.cancel")
def ask_cancel(ctx: Ctx, payload: dict) -> None:
    """Cancel: ask for the reason."""
    s = _mine(ctx, payload)
    ctx.acc.start("remote.cancel", ctx.now, session=s.id)
    ctx.reply(t("remote.ask_cancel_reason"))


@router.step("remote.cancel")
def typed_cancel(ctx: Ctx, text: str) -> None:
    """The reason: cancel the session; everyone is told."""
    if not has_meaning(text):
        _refused(ctx, DomainError("remote.reason.empty"), "cancel")
        return
    try:
        done = remote.cancel(ctx.uow, actor_of(ctx), ctx.now, ctx.acc.draft.get("session"), text)
    except DomainError as e:
        if e.key.startswith("perm."):
            raise
        _refused(ctx, e, "cancel")
        return
    ctx.acc.clear()
    deliver(ctx, done.notices)
    assert done.session is not None
    ctx.reply(t("remote.cancelled", session=done.session.entity_id))


@router.button("rc.no_show")
def no_show(ctx: Ctx, payload: dict) -> None:
    """The resident did not come (once the time has come)."""
    s = remote.load_session(ctx.uow, payload.get("session"))
    done = remote.mark_no_show(ctx.uow, actor_of(ctx), ctx.now, s.id)
    deliver(ctx, done.notices)
    ctx.edit(t("remote.no_show_done", session=s.entity_id))


# --- the expert records the outcome --------------------------------------------------------------------------------
@router.button("rc.outcome")
def ask_advice(ctx: Ctx, payload: dict) -> None:
    """Record the outcome: first the advice (typed)."""
    s = _mine(ctx, payload, expert=True)
    remote.check_outcome(ctx.uow, actor_of(ctx), ctx.now, s.id)
    ctx.acc.start("remote.advice", ctx.now, session=s.id)
    ctx.reply(t("remote.ask_advice"))


@router.step("remote.advice")
def typed_advice(ctx: Ctx, text: str) -> None:
    """The advice: then whether to refer up (buttons)."""
    advice = text.strip()
    if len(advice) > MAX_ADVICE:
        _refused(ctx, DomainError("remote.advice.too_long", limit=MAX_ADVICE), "advice")
        return
    if not has_meaning(advice):  # empty, or only emoji and punctuation
        _refused(ctx, DomainError("remote.advice.empty"), "advice")
        return
    sid = ctx.acc.draft.get("session")
    ctx.acc.advance("remote.refer", ctx.now, advice=advice)
    ctx.reply(t("remote.ask_refer"), [[ctx.btn(t("remote.refer.button_yes"), "rc.refer", session=sid, refer=True),
                                       ctx.btn(t("remote.refer.button_no"), "rc.refer", session=sid, refer=False)]])


@router.button("rc.refer")
def refer(ctx: Ctx, payload: dict) -> None:
    """Refer up or not: then the follow-up plan (typed)."""
    s = _mine(ctx, payload, expert=True)
    if ctx.acc.step != "remote.refer" or ctx.acc.draft.get("session") != s.id:
        ctx.reply(t("button.expired"))
        return
    ctx.acc.advance("remote.plan", ctx.now, refer=payload.get("refer") is True)
    ctx.edit(t("remote.ask_refer") + " " + (t("remote.refer.yes") if payload.get("refer") is True
                                            else t("remote.refer.no")))
    ctx.reply(t("remote.ask_plan"))


@router.step("remote.plan")
def typed_plan(ctx: Ctx, text: str) -> None:
    """The follow-up plan: record the outcome; the village doctor is told the advice and plan."""
    plan = text.strip()
    if len(plan) > MAX_PLAN:
        _refused(ctx, DomainError("remote.plan.too_long", limit=MAX_PLAN), "plan")
        return
    if not has_meaning(plan):
        _refused(ctx, DomainError("remote.plan.empty"), "plan")
        return
    d = ctx.acc.draft
    try:
        done = remote.record_outcome(ctx.uow, actor_of(ctx), ctx.now, d.get("session"), str(d.get("advice") or ""),
                                     d.get("refer") is True, None if plan in _NONE_WORDS else plan)
    except DomainError as e:
        if not e.key.startswith("followup."):
            raise
        # A plan without its days (read before anything was written): asked again.
        _refused(ctx, DomainError("remote.plan.unreadable", why=t(e.key, **e.params)), "plan")
        return
    ctx.acc.clear()
    deliver(ctx, done.notices)
    assert done.session is not None
    ctx.reply(t("remote.recorded", session=done.session.entity_id))

