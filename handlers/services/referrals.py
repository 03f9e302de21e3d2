"""Two-way referral use cases, each once: publish slots, refer up and book, mark a referral's states, discharge
down with a follow-up plan, and the day-before reminder sweep.

Chat (``handlers.referrals``), the command line (``bot.cli.referrals``) and the worker's sweep call these. A service
never commits; the notices it returns travel as the caller decides (the resident's always through the outbox).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from domain.circuits import HalfDay, month_day
from domain.errors import DomainError, IllegalTransition, PermissionDenied
from domain.followups import PlanItem, describe
from domain.orders import MAX_REASON, Order, clean_text
from domain.privacy import mask_sensitive
from domain.referrals import (
    Referral,
    ReferralAction,
    ReferralStatus,
    Slot,
    check_slot,
    pick_slots,
    window,
)
from domain.specialties import catalogue
from domain.staff import Role
from handlers.services import Actor, Notice, queue, today_of
from handlers.services.followups import plan_followups
from handlers.texts_circuits import t as _t_circuits  # noqa: F401  (registers the weekday names)
from handlers.texts_referrals import t
from storage.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
HS = Role.HOSPITAL_REVIEWER
HALF_WORDS = {"上午": HalfDay.AM, "am": HalfDay.AM, "下午": HalfDay.PM, "pm": HalfDay.PM}
SLOT_COLUMNS = ("date", "half_day", "specialty", "capacity", "time", "place", "beds")


# --- words -------------------------------------------------------------------------------------------------------
def specialty_name(code: str) -> str:
    """A department's Chinese name (the code if unknown)."""
    s = catalogue().get(code)
    return s.name if s else code


def specialty_code(text: str) -> str:
    """A department typed as its code (03.04) or name (心血管内科); else ``referral.unknown_specialty``."""
    text = text.strip()
    cat = catalogue()
    if text in cat:
        return text
    try:
        return cat.by_name(text).code
    except DomainError:
        raise DomainError("referral.unknown_specialty", text=text[:20]) from None


def when_text(s: Slot) -> str:
    """``12月1日（周二）上午 08:30``."""
    start = f" {s.start:%H:%M}" if s.start else ""
    return f"{month_day(s.day)}（{t(f'weekday.{s.day.weekday()}')}）{t(f'half_day.{s.half_day.value}')}{start}"


def slot_line(s: Slot) -> str:
    """One slot as the hospital's list shows it."""
    return t("slots.line", date=month_day(s.day), weekday=f"（{t(f'weekday.{s.day.weekday()}')}）",
             half=t(f"half_day.{s.half_day.value}"), time=f" {s.start:%H:%M}" if s.start else "",
             specialty=specialty_name(s.specialty), booked=s.booked, capacity=s.capacity,
             beds=t("slots.beds", beds=s.beds) if s.beds else "", place=f"｜{s.place}" if s.place else "")


def status_name(status: ReferralStatus) -> str:
    """A referral status in Chinese."""
    return t(f"referral.status.{status.value}")


# --- slots -------------------------------------------------------------------------------------------------------
def parse_slot_fields(fields: Mapping[str, str], hospital_code: str) -> Slot:
    """A slot from named fields (a CSV row or a typed line); raises ``DomainError`` with a short reason (``why``)."""
    def get(k: str) -> str:
        return (fields.get(k) or "").strip()

    try:
        day = date.fromisoformat(get("date"))
    except ValueError:
        raise DomainError("referral.bad_field", why=f"日期“{get('date')[:12]}”应写成 2026-12-01") from None
    half = HALF_WORDS.get(get("half_day").lower())
    if half is None:
        raise DomainError("referral.bad_field", why=f"“{get('half_day')[:6]}”应为 上午 或 下午")
    code = specialty_code(get("specialty"))
    try:
        capacity = int(get("capacity"))
        beds = int(get("beds") or 0)
    except ValueError:
        raise DomainError("referral.bad_field", why="号数和床位应为整数") from None
    start = None
    if get("time"):
        try:
            start = time.fromisoformat(get("time"))
        except ValueError:
            raise DomainError("referral.bad_field", why=f"时间“{get('time')[:8]}”应写成 08:30") from None
    return check_slot(Slot(hospital_code, code, day, half, capacity, 0, start, get("place"), beds))


def parse_slot_csv(text: str, hospital_code: str) -> list[Slot]:
    """Slots from a CSV file (header ``date,half_day,specialty,capacity[,time][,place][,beds]``); a bad line is
    refused with its number (``referral.bad_slot_line``), so nothing of a half-right file is stored."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append(parse_slot_fields({k.strip(): v for k, v in row.items() if k}, hospital_code))
        except DomainError as e:
            raise DomainError("referral.bad_slot_line", line=n, why=_why(e)) from None
    return out


_BEDS = re.compile(r"^(?:床位|床)(\d+)$")


def parse_slot_text(text: str, hospital_code: str) -> Slot:
    """A slot typed in chat: ``2026-12-01 上午 心血管内科 5 [08:30] [地点] [床位2]``."""
    words = text.split()
    if len(words) < 4:
        raise DomainError("referral.bad_slot_text", why="至少要写日期、上午/下午、科室和号数")
    fields = dict(zip(("date", "half_day", "specialty", "capacity"), words[:4], strict=True))
    place = []
    for w in words[4:]:
        if re.fullmatch(r"\d{1,2}:\d{2}", w):
            fields["time"] = w.zfill(5)
        elif m := _BEDS.match(w):
            fields["beds"] = m.group(1)
        else:
            place.append(w)
    fields["place"] = " ".join(place)
    try:
        return parse_slot_fields(fields, hospital_code)
    except DomainError as e:
        raise DomainError("referral.bad_slot_text", why=_why(e)) from None


def _why(e: DomainError) -> str:
    return str(e.params.get("why")) if e.key == "referral.bad_field" else t(e.key, **e.params)


def _hospital(uow: UnitOfWork, actor: Actor | None, hospital_code: str) -> str:
    inst = uow.reference.institution(hospital_code)
    if inst is None:
        raise DomainError("institution.unknown", code=hospital_code)
    if not inst.kind.is_hospital:
        raise DomainError("referral.not_hospital", code=hospital_code)
    if actor is not None and (actor.role is not HS or actor.staff.institution_code != hospital_code):
        raise PermissionDenied("referral.not_yours")
    return inst.name


@dataclass(frozen=True, slots=True)
class Published:
    """What a publication did."""

    slots: list[Slot]
    new: int
    updated: int


def publish_slots(uow: UnitOfWork, actor: Actor | None, hospital_code: str, slots: Iterable[Slot],
                  now: datetime) -> Published:
    """Publish slots for a hospital (its reviewer in chat, or the command line with ``actor`` None).

    A slot of the same department, day, half-day and time is updated (re-importing a file is harmless); its
    capacity never drops below what is booked. Days before today are refused."""
    _hospital(uow, actor, hospital_code)
    today = today_of(now)
    out, new = [], 0
    for s in slots:
        if s.hospital_code != hospital_code:
            raise PermissionDenied("referral.not_yours")
        if s.day < today:
            raise DomainError("referral.slot_in_past", day=s.day.isoformat())
        saved, is_new = uow.referrals.publish_slot(s, staff_id=actor.staff_id if actor else None, now=now)
        out.append(saved)
        new += is_new
    detail = {"hospital": hospital_code, "new": new, "updated": len(out) - new, "source": "chat" if actor else "cli"}
    _audit(uow, actor, now, "slots_published", "institution", hospital_code, detail)
    return Published(out, new, len(out) - new)


def _audit(uow: UnitOfWork, actor: Actor | None, now: datetime, action: str, entity: str, entity_id: str,
           detail: Mapping[str, object]) -> None:
    from domain.orders import AuditEvent

    if actor is not None:
        actor.audit(uow, now, action, entity, entity_id, detail=detail)
    else:
        uow.audit.append(AuditEvent(None, "cli", action, entity, entity_id, None, None, None, now, dict(detail)))


# --- refer up and book -------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Referred:
    """A referral as it stands after a booking attempt, and whom to tell."""

    referral: Referral
    slot: Slot | None
    notices: list[Notice] = field(default_factory=list)

    @property
    def booked(self) -> bool:
        """True if a slot was booked."""
        return self.slot is not None


def refer_up(uow: UnitOfWork, actor: Actor, order: Order, now: datetime, note: str | None = None) -> Referred:
    """An order the hospital's reviewer just disposed "refer up": open its referral and book the earliest free slot
    of its specialty within its urgency window (or leave it waiting for the hospital to open one)."""
    assert order.id is not None
    existing = uow.referrals.of_order(order.id)
    if existing is not None:
        return Referred(existing, uow.referrals.slot(existing.slot_id) if existing.slot_id else None)
    r = Referral(order.id, order.resident_id, actor.staff.institution_code, order.confirmed_specialty or "02",
                 order.urgency, order.post_code, now, note=(note or "").strip()[:500] or None, updated_at=now)
    uow.referrals.add(r)
    return _try_book(uow, actor, r, order, now)


def _try_book(uow: UnitOfWork, actor: Actor | None, r: Referral, order: Order, now: datetime) -> Referred:
    first, last = window(today_of(r.created_at), r.urgency)
    first = max(first, today_of(now))
    specialties = {r.specialty, r.specialty.split(".")[0]}
    for s in pick_slots(uow.referrals.slots(r.hospital_code, first, last, specialties), r.specialty, first, last,
                        now):
        assert s.id is not None
        if uow.referrals.take_place(s.id):  # a concurrent booker may have taken the last place: try the next
            return _booked(uow, actor, r, order, s, now)
    return Referred(r, None)


def _booked(uow: UnitOfWork, actor: Actor | None, r: Referral, order: Order, s: Slot, now: datetime) -> Referred:
    r.apply(ReferralAction.BOOK, actor_staff_id=actor.staff_id if actor else None,
            actor_role=actor.role if actor else "system", now=now, slot=s)
    uow.referrals.save(r)
    slot = uow.referrals.slot(s.id or 0) or s
    return Referred(r, slot, booking_notices(uow, r, order, slot, "booked"))


def booking_notices(uow: UnitOfWork, r: Referral, order: Order, s: Slot, kind: str) -> list[Notice]:
    """The booking (``kind`` "booked") or the day-before reminder ("reminder") for the resident's linked accounts
    and the village doctor who filed the order."""
    resident = uow.residents.get(r.resident_id)
    inst = uow.reference.institution(r.hospital_code)
    text = t("referral.notice", resident=resident.name if resident else "", number=order.number,
             when=when_text(s), hospital=inst.name if inst else r.hospital_code, specialty=specialty_name(s.specialty),
             place=s.place or t("referral.place_default"))
    if kind == "reminder":
        text = t("referral.reminder", notice=text)
    key = f"referral:{r.id}:{kind}:{s.id}"
    out = [Notice(acc, text, f"{key}:r{acc.id}", personal=True)
           for acc in uow.chat.accounts_of_resident(r.resident_id)]
    doctor = t("referral.notice_doctor", notice=text)
    out += [Notice(acc, doctor, f"{key}:s{acc.id}", queued=kind == "reminder")
            for acc in uow.chat.accounts_of_staff([order.filed_by_staff_id])]
    return out


def load_referral(uow: UnitOfWork, actor: Actor, referral_id: object, *, for_update: bool = True) -> Referral:
    """A referral of the actor's hospital named by a button or a command; else a refusal."""
    try:
        rid = int(str(referral_id))
    except ValueError:
        raise DomainError("referral.unknown") from None
    r = uow.referrals.get(rid, for_update=for_update) if 0 < rid < 2**62 else None
    if r is None:
        raise DomainError("referral.unknown")
    if actor.role is not HS or actor.staff.institution_code != r.hospital_code:
        raise PermissionDenied("referral.not_yours", referral=rid)
    return r


def order_of(uow: UnitOfWork, r: Referral) -> Order:
    """The order a referral was made for."""
    order = uow.orders.get(r.order_id)
    assert order is not None
    return order


def retry_booking(uow: UnitOfWork, actor: Actor, referral_id: object, now: datetime) -> Referred:
    """Book a waiting referral again (after the hospital published slots)."""
    r = load_referral(uow, actor, referral_id)
    require(r, ReferralAction.BOOK)
    return _try_book(uow, actor, r, order_of(uow, r), now)


def open_and_book(uow: UnitOfWork, actor: Actor, referral_id: object, day: object, half: object,
                  now: datetime) -> Referred:
    """The hospital picks a date for a waiting referral: one more place on that half-day is opened and booked."""
    r = load_referral(uow, actor, referral_id)
    require(r, ReferralAction.BOOK)
    try:
        d = date.fromisoformat(str(day))
        h = HalfDay(str(half))
    except ValueError:
        raise DomainError("referral.unknown") from None
    if d <= today_of(now) or d > today_of(now) + timedelta(days=60):
        raise DomainError("referral.slot_in_past", day=d.isoformat())
    same = [s for s in uow.referrals.slots(r.hospital_code, d, d, [r.specialty])
            if s.half_day is h and s.start is None]
    capacity = max(same[0].capacity, same[0].booked + 1) if same else 1
    place = same[0].place if same else ""
    slot, _ = uow.referrals.publish_slot(Slot(r.hospital_code, r.specialty, d, h, capacity, place=place),
                                         staff_id=actor.staff_id, now=now)
    assert slot.id is not None
    if not uow.referrals.take_place(slot.id):  # cannot happen in this transaction; refuse rather than overbook
        raise DomainError("referral.slot_missing")
    return _booked(uow, actor, r, order_of(uow, r), slot, now)


def offered_days(r: Referral, now: datetime, count: int = 4) -> list[tuple[date, HalfDay]]:
    """Dates a hospital is offered for a waiting referral: the next workdays' mornings from the start of its window
    (past its end when the window holds fewer)."""
    day = max(window(today_of(r.created_at), r.urgency)[0], today_of(now) + timedelta(days=1))
    out: list[tuple[date, HalfDay]] = []
    while len(out) < count:
        if day.weekday() < 5:
            out.append((day, HalfDay.AM))
        day += timedelta(days=1)
    return out


# --- marks -------------------------------------------------------------------------------------------------------
def require(r: Referral, action: ReferralAction) -> None:
    """Refuse an action the referral's state does not allow."""
    if not r.can(action):
        raise IllegalTransition("referral.illegal_transition", status_name=status_name(r.status),
                                action_name=t(f"referral.action.{action.value}"))


@dataclass(slots=True)
class Marked:
    """A referral after a mark, and whom to tell."""

    referral: Referral
    notices: list[Notice] = field(default_factory=list)
    refused: str | None = None  # "changed": the list was older than the referral


def mark(uow: UnitOfWork, actor: Actor, referral_id: object, action: ReferralAction, now: datetime, *,
         shown: object = None, reason: str | None = None) -> Marked:
    """Mark a referral arrived, seen, admitted, no-show or cancelled (a cancelled booking frees its place).

    ``shown`` is the version the list showed (None from the command line): a referral changed since is left alone.
    """
    if action in (ReferralAction.BOOK, ReferralAction.DISCHARGE):
        raise DomainError("referral.unknown")
    r = load_referral(uow, actor, referral_id)
    require(r, action)
    if action is ReferralAction.CANCEL:  # the resident and the doctor are told why, so a reason is required
        reason = mask_sensitive(clean_text(reason, MAX_REASON, key="referral.reason"))
    if shown is not None and shown != r.version:
        actor.audit(uow, now, "refused", "referral", str(r.id), reason="referral_changed",
                    detail={"action": action.value, "shown": str(shown)[:16], "now": r.version})
        return Marked(r, refused="changed")
    slot_id = r.slot_id
    if action is ReferralAction.NO_SHOW and slot_id is not None:
        # Final, and told to the village doctor: only once the appointment's day has come (not by a slip days early).
        slot = uow.referrals.slot(slot_id)
        if slot is not None and today_of(now) < slot.day:
            raise DomainError("referral.no_show_too_early", when=when_text(slot))
    r.apply(action, actor_staff_id=actor.staff_id, actor_role=actor.role, now=now, reason=reason)
    if action is ReferralAction.CANCEL:
        _release(uow, r, slot_id)
    uow.referrals.save(r)
    notices: list[Notice] = []
    key = {ReferralAction.NO_SHOW: "referral.no_show_doctor",
           ReferralAction.ADMIT: "referral.admitted_doctor"}.get(action)
    if action is ReferralAction.CANCEL:
        notices = cancel_notices(uow, r, slot_id, reason or "")
    elif key:
        order = order_of(uow, r)
        resident = uow.residents.get(r.resident_id)
        inst = uow.reference.institution(r.hospital_code)
        text = t(key, resident=resident.name if resident else "", number=order.number,
                 hospital=inst.name if inst else "", reason=reason or "")
        notices = [Notice(acc, text, f"referral:{r.id}:{action.value}:s{acc.id}")
                   for acc in uow.chat.accounts_of_staff([order.filed_by_staff_id])]
    return Marked(r, notices)


def _release(uow: UnitOfWork, r: Referral, slot_id: int | None) -> None:
    """A cancelled referral gives its place back, and a day-before reminder already queued does not go out."""
    if slot_id is not None:
        uow.referrals.give_back(slot_id)
    uow.outbox.void_prefix(f"referral:{r.id}:reminder:", "referral cancelled")


def cancel_notices(uow: UnitOfWork, r: Referral, slot_id: int | None, reason: str) -> list[Notice]:
    """A cancelled referral told to the resident's linked accounts (through the outbox, like the booking notice) and
    to the village doctor who filed the order: the date it was booked for, the department and the reason."""
    order = order_of(uow, r)
    resident = uow.residents.get(r.resident_id)
    inst = uow.reference.institution(r.hospital_code)
    s = uow.referrals.slot(slot_id) if slot_id is not None else None
    params = dict(resident=resident.name if resident else "", number=order.number,
                  when=t("referral.cancelled_when", when=when_text(s)) if s else "",
                  hospital=inst.name if inst else r.hospital_code,
                  specialty=specialty_name(s.specialty if s else r.specialty), reason=reason)
    key = f"referral:{r.id}:cancel"
    out = [Notice(acc, t("referral.cancelled_resident", **params), f"{key}:r{acc.id}", personal=True)
           for acc in uow.chat.accounts_of_resident(r.resident_id)]
    out += [Notice(acc, t("referral.cancelled_doctor", **params), f"{key}:s{acc.id}")
            for acc in uow.chat.accounts_of_staff([order.filed_by_staff_id])]
    return out


def cancel_for_erasure(uow: UnitOfWork, resident_id: int, now: datetime) -> int:
    """A resident is being erased: their referrals not yet held (waiting or booked) are cancelled and a booked
    place goes back to the hospital; nobody is messaged (the resident asked to be forgotten, and the village doctor
    who confirmed the erasure knows). Returns how many were cancelled."""
    cancelled = 0
    for r in uow.referrals.not_yet_held(resident_id):
        event = r.apply(ReferralAction.CANCEL, actor_staff_id=None, actor_role="system", now=now)
        event.detail["why"] = "resident_erased"
        _release(uow, r, r.slot_id)
        uow.referrals.save(r)
        cancelled += 1
    return cancelled


@dataclass(slots=True)
class Discharged:
    """A referral sent back down, the follow-up tasks it left, whom to tell."""

    referral: Referral
    tasks: list
    notices: list[Notice] = field(default_factory=list)


def discharge(uow: UnitOfWork, actor: Actor, referral_id: object, items: tuple[PlanItem, ...], now: datetime, *,
              shown: object = None) -> Discharged | Marked:
    """Discharge (or end the outpatient visit) and refer down (下转): the plan's checks become the village post's
    follow-up tasks, and its doctor is told."""
    r = load_referral(uow, actor, referral_id)
    require(r, ReferralAction.DISCHARGE)
    if shown is not None and shown != r.version:
        return Marked(r, refused="changed")
    plan = describe(items) if items else t("discharge.no_plan")
    r.apply(ReferralAction.DISCHARGE, actor_staff_id=actor.staff_id, actor_role=actor.role, now=now, plan=plan)
    uow.referrals.save(r)
    order = order_of(uow, r)
    tasks = plan_followups(uow, actor, r.order_id, items, now, source="referral", source_id=r.id) if items else []
    resident = uow.residents.get(r.resident_id)
    inst = uow.reference.institution(r.hospital_code)
    text = t("discharge.doctor", resident=resident.name if resident else "", number=order.number,
             hospital=inst.name if inst else "", plan=plan)
    notices = [Notice(acc, text, f"referral:{r.id}:discharge:s{acc.id}")
               for acc in uow.chat.accounts_of_staff([order.filed_by_staff_id])]
    return Discharged(r, tasks, notices)


def no_show_count(uow: UnitOfWork, hospital_code: str) -> int:
    """No-shows of a hospital's referrals so far."""
    return sum(1 for r in uow.referrals.of_hospital(hospital_code, open_only=False, limit=100_000)
               if r.status is ReferralStatus.NO_SHOW)


# --- the reminder sweep ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class ReminderSweep:
    """What one referral sweep did."""

    reminded: int = 0  # referrals whose day-before reminder went into the outbox
    messages: int = 0
    stale: int = 0  # due during downtime until after the visit began: marked, not sent
    next_due: datetime | None = None


def send_due_reminders(uow_factory: UnitOfWorkFactory, clock: Callable[[], datetime],
                       limit: int = 500) -> ReminderSweep:
    """Queue every due day-before reminder once, each in its own transaction with its outbox rows.

    The database is the source of truth: a reminder is due when ``reminder_due_at`` has passed and it is not
    marked; marking it and queueing its messages commit together, and the outbox's keys are unique, so a second
    sweep, or one after a crash or downtime, sends nothing twice. A reminder found only after the visit began is
    marked without sending."""
    now = clock()
    res = ReminderSweep()
    with uow_factory() as uow:
        due = uow.referrals.due_reminders(now, limit)
    for rid in due:
        try:
            with uow_factory() as uow:
                r = uow.referrals.get(rid, for_update=True)
                if r is None or r.slot_id is None or not uow.referrals.claim_reminder(rid, now):
                    continue
                slot = uow.referrals.slot(r.slot_id)
                if slot is None or slot.starts_at <= now or r.status is not ReferralStatus.BOOKED:
                    res.stale += 1
                else:
                    res.messages += queue(uow, booking_notices(uow, r, order_of(uow, r), slot, "reminder"), now)
                    res.reminded += 1
                uow.commit()
        except Exception:
            log.exception("referral reminder %s failed; the next sweep retries", rid)
    with uow_factory() as uow:
        res.next_due = uow.referrals.next_reminder_at()
    return res

