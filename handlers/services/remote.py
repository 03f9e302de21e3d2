"""Remote consultations (远程会诊): schedule, move, cancel, record the outcome, remind — each use case once.

Chat (``handlers.remote``), the command line (``python -m bot remote``) and the reminder sweep call these. Every
message goes through the outbox (``Notice.queued`` / ``personal``), with a dedupe key per session, event and
account, so a re-run tells nobody twice; a moved or cancelled session's reminders still waiting are withdrawn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import DomainError, PermissionDenied
from domain.followups import PlanItem, parse_plan
from domain.orders import Action, Order
from domain.places import PlaceLevel
from domain.remote import (
    BUSY,
    SESSION_LENGTH,
    RemoteSession,
    SessionAction,
    due_reminder,
    next_reminder_at,
    overlaps,
    wall_clock,
)
from domain.staff import Role, Staff
from handlers.services import Actor, Notice, private_chat_of, today_of
from handlers.services.experts import accounts_by_staff, need_in_short
from handlers.services.followups import plan_followups
from handlers.services.orders import UNCHECKED, Decided, decide, load_order
from handlers.services.referrals import refer_up
from handlers.texts_remote import t
from storage.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LOOKAHEAD = timedelta(days=1, hours=1)  # the earliest reminder is a day ahead: the sweep reads no further


@dataclass(slots=True)
class RemoteDone:
    """What a use case did: the session (as it stands), the order if it was disposed, and who is to be told."""

    session: RemoteSession | None
    decided: Decided | None = None
    notices: list[Notice] = field(default_factory=list)
    replaced: RemoteSession | None = None  # a move: the old session (now ``moved``)


@dataclass(slots=True)
class Reminded:
    """What a reminder sweep queued, and when the next reminder falls due."""

    sessions: int = 0
    queued: int = 0
    next_due: datetime | None = None


# --- reading --------------------------------------------------------------------------------------------------
def load_session(uow: UnitOfWork, session_id: object, *, for_update: bool = False) -> RemoteSession:
    """The session named by a button payload or a command (``RC12`` or ``12``), or ``DomainError``."""
    try:
        sid = int(str(session_id).upper().removeprefix("RC"))
    except ValueError:
        raise DomainError("remote.unknown") from None
    s = uow.remote.get(sid, for_update=for_update) if 0 < sid < 2**62 else None
    if s is None:
        raise DomainError("remote.unknown")
    return s


def experts_for(uow: UnitOfWork, actor: Actor, order: Order) -> list[Staff]:
    """The hospital's active experts, those of the order's specialty first (then by title), for the reviewer to
    choose from."""
    code = actor.staff.institution_code
    experts = [e for e in uow.staff.at_institution(code, Role.EXPERT) if e.active and e.id is not None]
    spec = order.confirmed_specialty or ""
    experts.sort(key=lambda e: (not any(s == spec or spec.startswith(s + ".") or s.startswith(spec + ".")
                                        for s in e.specialties) if spec else True, -e.title.rank, e.code))
    return experts


def sites_for(actor: Actor, order: Order, now: datetime) -> list[str]:
    """Where the resident may sit for the consultation: their township health center(s), then their village post."""
    net, today = actor.jurisdiction.network, today_of(now)
    centers = sorted(
        c for c in net.supporters_of(order.post_code, today)
        if net.supports(c, order.post_code, today, direct=True)
        and (k := actor.jurisdiction.kind_of(c)) is not None and k.is_grassroots_center)
    return [*centers, order.post_code]


def county_of(uow: UnitOfWork, place_code: str) -> str:
    """The county a place lies in (its own code if the chain is unknown)."""
    code: str | None = place_code
    while code:
        p = uow.reference.place(code)
        if p is None:
            break
        if p.level is PlaceLevel.COUNTY:
            return p.code
        code = p.parent_code
    return place_code


# --- permissions ----------------------------------------------------------------------------------------------
def _reviewer_of(actor: Actor, s: RemoteSession) -> None:
    if actor.role is not Role.HOSPITAL_REVIEWER or actor.staff.institution_code != s.hospital_code:
        raise PermissionDenied("perm.remote_not_yours", session=s.entity_id)


def _expert_of(actor: Actor, s: RemoteSession, *, or_reviewer: bool = False) -> None:
    if actor.role is Role.EXPERT and actor.staff_id == s.expert_id:
        return
    if or_reviewer and actor.role is Role.HOSPITAL_REVIEWER and actor.staff.institution_code == s.hospital_code:
        return
    raise PermissionDenied("perm.remote_not_yours", session=s.entity_id)


def may_see(actor: Actor, s: RemoteSession) -> bool:
    """True if this actor is one of the session's people (its hospital's reviewer or its expert)."""
    return (actor.role is Role.HOSPITAL_REVIEWER and actor.staff.institution_code == s.hospital_code) or (
        actor.role is Role.EXPERT and actor.staff_id == s.expert_id)


# --- 1. schedule ----------------------------------------------------------------------------------------------
def check_expert_free(uow: UnitOfWork, expert_id: object, starts_at: datetime, *,
                      besides: int | None = None) -> None:
    """Refuse a time at which the expert already has another remote consultation (not cancelled, not moved away):
    ``DomainError("remote.expert_busy")`` naming that session and its time. ``besides`` is the session being moved.
    """
    try:
        eid = int(str(expert_id))
    except ValueError:
        return  # not an expert at all: scheduling refuses it on its own
    uow.remote.lock_expert(eid)
    for other in uow.remote.of_expert_around(eid, starts_at, SESSION_LENGTH, BUSY):
        if other.id != besides and overlaps(other.starts_at, starts_at):
            expert = uow.staff.get(eid)
            raise DomainError("remote.expert_busy", expert=expert.name if expert else "", session=other.entity_id,
                              when=wall_clock(other.starts_at), minutes=int(SESSION_LENGTH.total_seconds() // 60))


def schedule(uow: UnitOfWork, actor: Actor, now: datetime, order_id: object, expert_id: object, site_code: str,
             starts_at: datetime, room: str, *, shown: object = UNCHECKED) -> RemoteDone:
    """Dispose a township-approved order as a remote consultation and schedule its session; everyone concerned
    (the expert, the township reviewers, the village doctor, the resident's linked accounts) is told.

    The expert must be an active expert of the reviewer's hospital and the site the order's township health
    center or village post; the time in the future. Nothing is stored unless all of it holds.
    """
    order = load_order(uow, order_id)
    try:
        expert = uow.staff.get(int(str(expert_id)))
    except ValueError:
        expert = None
    if expert is None or not expert.active or expert.institution_code != actor.staff.institution_code \
            or not expert.has_role(Role.EXPERT):
        raise PermissionDenied("perm.remote_expert", order=order.number)
    if site_code not in sites_for(actor, order, now):
        raise PermissionDenied("perm.remote_site", order=order.number)
    check_expert_free(uow, expert.id, starts_at)
    session = RemoteSession.schedule(
        order_id=order.id or 0, resident_id=order.resident_id, hospital_code=actor.staff.institution_code,
        expert_id=expert.id or 0, site_code=site_code, county_code=county_of(uow, order.village_code),
        starts_at=starts_at, room=room, actor_staff_id=actor.staff_id, actor_role=actor.role.value, now=now)
    site = _institution(uow, site_code)
    note = t("remote.note", when=wall_clock(starts_at), expert=expert.name, site=site, room=session.room)
    d = decide(uow, actor, now, order.id, Action.DISPOSE_REMOTE, shown=shown, note=note[:500], expert_id=expert.id)
    if not d.done:
        return RemoteDone(None, d)
    uow.remote.add(session)
    return RemoteDone(session, d, _tell(uow, actor, now, session, d.order, "scheduled"))


# --- 2. move and cancel ---------------------------------------------------------------------------------------
def move(uow: UnitOfWork, actor: Actor, now: datetime, session_id: object, starts_at: datetime, reason: str,
         *, room: str | None = None) -> RemoteDone:
    """Move a scheduled session to another time (a new session replaces it); everyone is told again with the
    reason, and the old session's reminders that still wait are withdrawn."""
    old = load_session(uow, session_id, for_update=True)
    _reviewer_of(actor, old)
    check_expert_free(uow, old.expert_id, starts_at, besides=old.id)
    new = old.move(starts_at=starts_at, reason=reason, actor_staff_id=actor.staff_id, actor_role=actor.role.value,
                   now=now, room=room)
    uow.remote.add(new)
    old.moved_to_id = new.id
    uow.remote.save(old)
    _withdraw(uow, old)
    order = load_order(uow, old.order_id)
    return RemoteDone(new, None, _tell(uow, actor, now, new, order, "moved", old=old), replaced=old)


def cancel(uow: UnitOfWork, actor: Actor, now: datetime, session_id: object, reason: str) -> RemoteDone:
    """Cancel a scheduled session with a reason; everyone is told, and no reminder of it goes out."""
    s = load_session(uow, session_id, for_update=True)
    _reviewer_of(actor, s)
    s.cancel(reason=reason, actor_staff_id=actor.staff_id, actor_role=actor.role.value, now=now)
    uow.remote.save(s)
    _withdraw(uow, s)
    order = load_order(uow, s.order_id)
    return RemoteDone(s, None, _tell(uow, actor, now, s, order, "cancelled"))


def _withdraw(uow: UnitOfWork, s: RemoteSession) -> None:
    """Reminders of this session queued but not sent yet go void (a moved or cancelled time is never announced)."""
    uow.outbox.void_prefix(f"remote:{s.id}:remind:", f"remote session {s.status.value}")


# --- 3. the outcome -------------------------------------------------------------------------------------------
def check_outcome(uow: UnitOfWork, actor: Actor, now: datetime, session_id: object) -> RemoteSession:
    """The session whose outcome this expert is about to type, if they may record it now (else the refusal)."""
    s = load_session(uow, session_id)
    _expert_of(actor, s)
    if not s.can(SessionAction.HOLD):
        raise DomainError("remote.already", session=s.entity_id, status=t(f"remote.status.{s.status.value}"))
    if now < s.starts_at:
        raise DomainError("remote.not_started", starts=wall_clock(s.starts_at))
    return s


def record_outcome(uow: UnitOfWork, actor: Actor, now: datetime, session_id: object, advice: str, refer_up: bool,
                   followup_plan: str | None) -> RemoteDone:
    """The expert records the outcome (advice, refer up or not, the follow-up plan); the village doctor and the
    township reviewers are told the advice and plan; then ``hand_on_outcome`` takes it further."""
    s = load_session(uow, session_id, for_update=True)
    _expert_of(actor, s)
    items = followup_items(followup_plan)  # read before anything is written: days and what to do
    s.hold(advice=advice, refer_up=refer_up, followup_plan=followup_plan, actor_staff_id=actor.staff_id,
           actor_role=actor.role.value, now=now)
    uow.remote.save(s)
    order = load_order(uow, s.order_id)
    notices = _tell(uow, actor, now, s, order, "held")
    notices += hand_on_outcome(uow, actor, now, s, order, items)
    return RemoteDone(s, None, notices)


def hand_on_outcome(uow: UnitOfWork, actor: Actor, now: datetime, s: RemoteSession, order: Order,
                    items: tuple[PlanItem, ...]) -> list[Notice]:
    """What follows a held remote consultation, in the caller's transaction: the follow-up plan, read as ``items``,
    becomes the village post's follow-up tasks (``/tasks``, reminded on their day), and "refer up" books a reserved
    slot at the expert's hospital as the hospital's own 上转 does (the resident and the village doctor get the
    booking; with no free slot the hospital's reviewers are asked to open one in ``/referrals``). Returns whom to
    tell."""
    notices: list[Notice] = []
    assert order.id is not None
    if items:
        plan_followups(uow, actor, order.id, items, now, source="remote", source_id=s.id)
    if s.refer_up:
        done = refer_up(uow, actor, order, now, note=s.advice)
        notices += done.notices
        if not done.booked:
            hospital = actor.staff.institution_code
            ids = uow.staff.ids_at([hospital], Role.HOSPITAL_REVIEWER)
            text = t("remote.refer_waiting", session=s.entity_id, number=order.number, expert=actor.staff.name)
            notices += [Notice(acc, text, f"remote:{s.id}:refer_waiting:{acc.id}", queued=True)
                        for acc in uow.chat.accounts_of_staff(ids)]
    return notices


def followup_items(plan: str | None) -> tuple[PlanItem, ...]:
    """The follow-up tasks a typed plan asks for (``domain.followups.parse_plan``: "两周后复测血压", "7天 测血压；30天
    测血压"); none for no plan. A plan without days is refused (``DomainError``), so the expert writes it again."""
    return parse_plan(plan) if plan else ()


def mark_no_show(uow: UnitOfWork, actor: Actor, now: datetime, session_id: object) -> RemoteDone:
    """The resident did not come (the expert, or the hospital's reviewer, once the time has come)."""
    s = load_session(uow, session_id, for_update=True)
    _expert_of(actor, s, or_reviewer=True)
    s.mark_no_show(actor_staff_id=actor.staff_id, actor_role=actor.role.value, now=now)
    uow.remote.save(s)
    order = load_order(uow, s.order_id)
    return RemoteDone(s, None, _tell(uow, actor, now, s, order, "no_show"))


# --- 4. reminders ---------------------------------------------------------------------------------------------
def send_due_reminders(uow_factory: UnitOfWorkFactory, now: datetime) -> Reminded:
    """Queue every reminder due now (the day before, an hour before) and not queued yet, each session in its own
    transaction with its outbox rows, as the referral reminders are: one session that fails (logged, retried by the
    next sweep) never holds back the others.

    The database is the source of truth: the sweep reads the scheduled sessions of the next day, so a sweep after
    downtime sends what fell due (the latest reminder only); the session is read again, locked, before its
    reminder is queued, and ``reminded`` with the outbox's dedupe key makes a second sweep add nothing.
    """
    res = Reminded()
    with uow_factory() as uow:
        due = [s.id for s in uow.remote.scheduled_before(now + LOOKAHEAD, after=now)
               if s.id is not None and due_reminder(s, now) is not None]
    for session_id in due:
        try:
            with uow_factory() as uow:
                queued = _remind(uow, session_id, now)
                uow.commit()
            if queued is not None:  # None: no longer due (another sweep queued it, or it moved)
                res.queued += queued
                res.sessions += 1
        except Exception:
            log.exception("remote consultation reminder for session %s failed; the next sweep retries", session_id)
    with uow_factory() as uow:
        later = uow.remote.scheduled_before(now + LOOKAHEAD + timedelta(days=1), after=now)
        due_at = [d for s in later if (d := next_reminder_at(s, now)) is not None]
    res.next_due = min(due_at) if due_at else None
    return res


def _remind(uow: UnitOfWork, session_id: int, now: datetime) -> int | None:
    """Queue one session's due reminder; the messages queued, or None if it is no longer due (another sweep may
    have queued it)."""
    s = uow.remote.get(session_id, for_update=True)
    r = due_reminder(s, now) if s is not None else None
    order = uow.orders.get(s.order_id) if s is not None and r is not None else None
    if s is None or r is None or order is None:
        return None
    queued = queue_all(uow, _tell(uow, None, now, s, order, "remind", reminder=r.label), now, expires_at=s.starts_at)
    uow.remote.mark_reminded(session_id, r.label)
    return queued


def queue_all(uow: UnitOfWork, notices: list[Notice], now: datetime, *, expires_at: datetime | None = None) -> int:
    """Put the notices in the outbox (reply lane: a handful of people); returns how many were new."""
    n = 0
    for notice in notices:
        if notice.account.blocked:
            continue
        n += int(uow.outbox.enqueue(notice.account.platform, private_chat_of(notice.account), notice.text, None,
                                    priority="reply", dedupe_key=notice.key, account_id=notice.account.id,
                                    expires_at=expires_at, now=now))
    return n


# --- telling people -------------------------------------------------------------------------------------------
def _institution(uow: UnitOfWork, code: str) -> str:
    inst = uow.reference.institution(code)
    return inst.name if inst else code


def _township_reviewers(uow: UnitOfWork, order: Order) -> list[int]:
    """The reviewers of the township health center(s) directly above the order's village post."""
    jur = uow.reference.jurisdiction()
    net = jur.network
    today = order.created_at.date()
    centers = [c for c in net.supporters_of(order.post_code, today)
               if net.supports(c, order.post_code, today, direct=True)
               and (k := jur.kind_of(c)) is not None and k.is_grassroots_center]
    return [sid for c in centers for sid in uow.staff.ids_at([c], Role.TOWNSHIP_REVIEWER)]


def _tell(uow: UnitOfWork, actor: Actor | None, now: datetime, s: RemoteSession, order: Order, event: str, *,
          old: RemoteSession | None = None, reminder: str | None = None) -> list[Notice]:
    """The notices of one event of a session: the expert, the township reviewers and the village doctor (staff,
    naming the resident), and the resident's own linked accounts (personal; never another person's data).

    ``held``: the village doctor and the township reviewers get the advice and plan (the expert wrote it).
    """
    resident = uow.residents.get(s.resident_id) if s.resident_id else None
    name = resident.name if resident else ""
    expert = uow.staff.get(s.expert_id)
    facts = dict(number=order.number, resident=name, when=wall_clock(s.starts_at),
                 expert=expert.name if expert else "", site=_institution(uow, s.site_code), room=s.room,
                 need=need_in_short(order.need_text), reason=s.reason or (old.reason if old else "") or "",
                 old_when=wall_clock(old.starts_at) if old else "", hint=_hint(s, now, reminder),
                 session=s.entity_id)
    staff_text = t(f"remote.staff.{event}", **facts)
    resident_text = t(f"remote.resident.{event}", **facts) if event != "held" else None
    if event == "held":
        staff_text = t("remote.staff.held", **facts, advice=s.advice or "",
                       refer=t("remote.refer.yes") if s.refer_up else t("remote.refer.no"),
                       plan=s.followup_plan or t("remote.plan.none"))
    staff_ids = {s.expert_id, order.filed_by_staff_id, *_township_reviewers(uow, order)}
    if event == "held":
        staff_ids.discard(s.expert_id)  # the expert wrote it
    if actor is not None:
        staff_ids.discard(actor.staff_id)  # whoever acted reads the answer in their own chat
    key = f"remote:{s.id}:remind:{reminder}" if event == "remind" else f"remote:{s.id}:{event}"
    notices: list[Notice] = []
    for _staff_id, accounts in sorted(accounts_by_staff(uow, staff_ids).items()):
        notices += [Notice(a, staff_text, f"{key}:{a.platform}:{a.id}", queued=True) for a in accounts]
    if resident_text is not None and s.resident_id and (resident is None or resident.consent_withdrawn_at is None):
        notices += [Notice(a, resident_text, f"{key}:{a.platform}:{a.id}", personal=True)
                    for a in uow.chat.accounts_of_resident(s.resident_id) if not a.blocked]
    if event != "remind" and actor is not None:
        actor.audit(uow, now, f"remote_{event}", "remote", s.entity_id,
                    detail={"order": order.number, "told": len(notices)})
    return notices


def _hint(s: RemoteSession, now: datetime, reminder: str | None) -> str:
    if reminder is None:
        return ""
    days = (today_of(s.starts_at) - today_of(now)).days
    return t("remote.hint.today") if days == 0 else t("remote.hint.tomorrow") if days == 1 else ""

