"""Consultation announcements (坐诊预告): the sweep that finds what is due and fans it out into the outbox.

The database is the source of truth for time (ARCHITECTURE rule 5): ``Announcer.sweep`` re-derives from the
circuits which reminders are due, writes one announcement row per reminder (unique per circuit and key), and
fans every due, unhandled announcement out into the outbox in the same transaction that marks it fanned
out. Running it twice, or after a crash half-way, neither loses nor doubles anything: the announcement row
is marked only together with its outbox rows, and outbox rows are unique per (announcement, recipient,
channel). The experts' day-before briefing (their orders) is one more announcement row per circuit and slot,
with the same guarantees, sent to the circuit's experts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.accounts import ChatAccount
from domain.announcements import (
    CHINA,
    DEFAULT_OFFSETS,
    AnnouncementKind,
    Offset,
    briefing_key,
    briefing_offset,
    change_kind,
    circuit_start,
    due_briefing,
    due_reminder,
    next_briefing_at,
    next_reminder_at,
    should_fan_out,
)
from domain.circuits import Circuit, month_day
from domain.places import InstitutionKind, PlaceLevel
from domain.specialties import catalogue
from domain.staff import Role
from handlers.services import private_chat_of
from handlers.services.experts import briefing_notices
from handlers.texts_circuits import t
from storage.ports import UnitOfWork, UnitOfWorkFactory
from storage.repositories.schedule import circuit_json

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SweepResult:
    """What one sweep did."""

    reminders_created: int = 0
    briefings_created: int = 0  # experts' day-before briefings that fell due
    fanned_out: int = 0  # announcements to residents and staff (not counting briefings)
    skipped: int = 0
    recipients: int = 0
    briefed: int = 0  # circuits whose experts' briefing went into the outbox
    briefing_messages: int = 0  # messages it queued (experts reached; reviewers of an unreachable expert)
    failed: int = 0  # announcements whose fan-out raised (rolled back, left due for the next sweep)
    next_due: datetime | None = None
    skipped_why: dict[str, int] = field(default_factory=dict)


def _specialty(code: str) -> str:
    s = catalogue().get(code)
    return s.name if s else code


def _half(c: Circuit) -> str:
    return t(f"half_day.{c.half_day.value}")




_PUBLISHED = frozenset(k.value for k in (AnnouncementKind.REMINDER, AnnouncementKind.UPDATE, AnnouncementKind.CANCEL))


@dataclass(frozen=True, slots=True)
class NoticeExpert:
    """One expert of a circuit as an announcement names them."""

    name: str
    title: str
    specialties: tuple[str, ...]
    profile: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    """An announcement's facts: what the text says, for platforms that show fields rather than text."""

    kind: AnnouncementKind
    headline: str
    day: date
    date: str  # "1月5日"
    weekday: str
    half_day: str
    starts_at: datetime | None  # None for a cancellation
    place: str
    hospital: str
    experts: tuple[NoticeExpert, ...]
    conditions: tuple[str, ...]  # the specialties wanted by the circuit's orders, then the experts'
    note: str = ""  # what changed, or why it was cancelled


class Announcer:
    """Finds due announcements and writes them into the outbox; records circuit changes as notices."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Callable[[], datetime],
        offsets: tuple[Offset, ...] = DEFAULT_OFFSETS,
        *,
        sms: bool = False,
    ):
        self.uow = uow
        self.clock = clock
        self.offsets = offsets
        self.sms = sms  # an SMS provider is configured: registered numbers get the reminder too

    # --- the sweep --------------------------------------------------------------------------------------
    def sweep(self, limit: int = 200) -> SweepResult:
        """Create the reminders that fell due, fan out everything due; returns counts and the next due time."""
        now = self.clock()
        res = SweepResult()
        res.reminders_created = self.plan_reminders(now)
        res.briefings_created = self.plan_briefings(now)
        with self.uow() as uow:
            due = uow.schedule.due_announcements(now, limit)
        for aid in due:
            # One announcement that cannot be fanned out (bad data, a bug) must not hold up the others: its
            # transaction rolls back, it stays due, and the next sweep tries again.
            try:
                with self.uow() as uow:
                    ann = uow.schedule.announcement(aid)
                    done = self.fan_out(uow, aid, now)
                    uow.commit()
            except Exception:
                log.exception("fan-out of announcement %s failed; continuing with the next", aid)
                res.failed += 1
                continue
            if done is None:
                continue
            n, why = done
            if why:
                res.skipped += 1
                res.skipped_why[why] = res.skipped_why.get(why, 0) + 1
            elif ann is not None and ann.kind == AnnouncementKind.BRIEFING.value:
                res.briefed += 1
                res.briefing_messages += n
            else:
                res.fanned_out += 1
                res.recipients += n
        res.next_due = self.next_due(now)
        return res

    def _window(self, now: datetime) -> tuple[date, date]:
        today = now.astimezone(CHINA).date()
        return today, today + timedelta(days=max(o.days_before for o in self.offsets) + 1)

    @property
    def briefing(self) -> Offset:
        """When experts get their orders' list: the day-before reminder's time (see ``briefing_offset``)."""
        return briefing_offset(self.offsets)

    def plan_reminders(self, now: datetime) -> int:
        """Write the announcement row of every reminder due now (the latest per circuit); returns rows created."""
        created = 0
        with self.uow() as uow:
            circuits = uow.schedule.circuits_between(*self._window(now))
            changed = uow.schedule.slot_changed_at(c.id for c in circuits if c.id is not None)
            for c in circuits:
                assert c.id is not None
                r = due_reminder(c, self.offsets, changed.get(c.id), now)
                if r is not None:
                    created += uow.schedule.ensure_announcement(
                        c.id, AnnouncementKind.REMINDER.value, r.key, r.due_at, now, {"offset": r.offset.label}
                    )
            uow.commit()
        return created

    def plan_briefings(self, now: datetime) -> int:
        """Write the briefing row of every circuit whose experts are due their orders' list; returns rows created.

        One row per circuit and slot (unique key): a second sweep, or one after a restart, finds it and adds
        nothing; the fan-out marks it done with its outbox rows, so it goes out once.
        """
        created = 0
        with self.uow() as uow:
            for c in uow.schedule.circuits_between(*self._window(now)):
                at = due_briefing(c, self.briefing, now)
                if c.id is not None and at is not None and c.expert_ids:
                    created += uow.schedule.ensure_announcement(
                        c.id, AnnouncementKind.BRIEFING.value, briefing_key(c), at, now, {"offset": self.briefing.label}
                    )
            uow.commit()
        return created

    def next_due(self, now: datetime) -> datetime | None:
        """When the next sweep has something to do: a pending announcement or the next reminder time."""
        with self.uow() as uow:
            found = [uow.schedule.next_announcement_due()]
            first, last = self._window(now)
            circuits = uow.schedule.circuits_between(first, last + timedelta(days=1))
            changed = uow.schedule.slot_changed_at(c.id for c in circuits if c.id is not None)
            found += [next_reminder_at(c, self.offsets, changed.get(c.id or 0), now) for c in circuits]
            found += [next_briefing_at(c, self.briefing, now) for c in circuits if c.expert_ids]
        times = [f for f in found if f is not None]
        return min(times) if times else None

    # --- one announcement -------------------------------------------------------------------------------
    def fan_out(self, uow: UnitOfWork, announcement_id: int, now: datetime) -> tuple[int, str | None] | None:
        """Fan one announcement out (caller commits); (recipients, skipped why) or None if handled already."""
        first = uow.schedule.announcement(announcement_id)
        if first is None or first.fanned_out_at is not None or first.skipped is not None:
            return None
        # Lock the circuit before reading it (PostgreSQL): a move or cancellation in flight (which writes the
        # circuit row, then withdraws what is queued) finishes first, so this reads the circuit as changed, or
        # the change withdraws what this writes. The same order as a change: circuit, then announcement.
        uow.schedule.lock_circuit(first.circuit_id)
        ann = uow.schedule.announcement(announcement_id, for_update=True)
        if ann is None or ann.fanned_out_at is not None or ann.skipped is not None:
            return None
        c = uow.circuits.get(ann.circuit_id)
        if c is None:
            uow.schedule.finish_announcement(ann.id, now, 0, "gone")
            return 0, "gone"
        kind = AnnouncementKind(ann.kind)
        changed = uow.schedule.slot_changed_at([ann.circuit_id]).get(ann.circuit_id)
        why = should_fan_out(kind, ann.key, c, self.offsets, changed, now)
        if why:
            uow.schedule.finish_announcement(ann.id, now, 0, why)
            return 0, why
        expires = circuit_start(c.day, c.half_day)
        if kind is AnnouncementKind.BRIEFING:
            n = self._brief(uow, ann.id, c, expires, now)
            uow.schedule.finish_announcement(ann.id, now, n)
            return n, None
        if kind is not AnnouncementKind.REMINDER:
            # Queued copies of earlier announcements carry the old slot: withdraw them, this notice replaces them.
            uow.outbox.void_pending(uow.schedule.earlier_announcement_ids(c.id or 0, ann.id), f"superseded by {ann.id}")
        text = self.render(uow, c, kind, ann.detail, now)
        n = 0
        order_ids = [int(i) for i in ann.detail.get("orders", [])]
        orders = [o for o in (uow.orders.get(i) for i in order_ids) if o is not None]
        if kind is not AnnouncementKind.CANCEL:
            orders = uow.orders.list(circuit_id=c.id, limit=1000)
        # Personal copies first: the unique key then keeps the generic copy from reaching them again.
        for o in orders:
            extra = (
                t("ann.personal_cancel", number=o.number)
                if kind is AnnouncementKind.CANCEL
                else t("ann.personal", number=o.number, specialty=_specialty(o.confirmed_specialty or ""))
            )
            for acc in uow.chat.accounts_of_resident(o.resident_id):
                n += self._enqueue(uow, ann.id, acc, text + "\n\n" + extra, expires, now)
        for acc, numbers in self._staff_recipients(uow, c, orders):
            extra = "\n\n" + t("ann.staff", numbers="、".join(numbers)) if numbers else ""
            n += self._enqueue(uow, ann.id, acc, text + extra, expires, now)
        footer = "\n\n" + t("ann.footer")
        if kind is AnnouncementKind.REMINDER:
            villages = self.served_villages(uow, c.place_code)
            n += uow.schedule.fan_out_subscribers(ann.id, villages, text + footer, expires_at=expires, now=now)
            # Residents without a smartphone: one SMS per registered number (its template shows the facts).
            if self.sms:
                n += uow.sms.fan_out(ann.id, villages, text, expires_at=expires, now=now)
        else:
            n += uow.schedule.fan_out_previous(ann.id, c.id or 0, text + footer, expires_at=expires, now=now)
            if self.sms:
                n += uow.sms.fan_out_previous(ann.id, c.id or 0, text, expires_at=expires, now=now)
        uow.schedule.finish_announcement(ann.id, now, n)
        return n, None

    @staticmethod
    def _brief(uow: UnitOfWork, aid: int, c: Circuit, expires: datetime, now: datetime) -> int:
        """Queue the experts' briefing (and, for an expert nobody can reach, a word to the hospital's reviewers);
        returns how many messages were queued. Only the reply lane: a handful of staff, not a broadcast."""
        n = 0
        for notice in briefing_notices(uow, c, now, f"ann:{aid}").notices:
            if notice.account.blocked:
                continue
            n += int(uow.outbox.enqueue(notice.account.platform, private_chat_of(notice.account), notice.text, None,
                                        priority="reply", dedupe_key=notice.key, account_id=notice.account.id,
                                        announcement_id=aid, expires_at=expires, now=now))
        return n

    def _enqueue(self, uow: UnitOfWork, aid: int, acc: ChatAccount, text: str, expires: datetime,
                 now: datetime) -> int:
        if acc.blocked:
            return 0
        return int(
            uow.outbox.enqueue(
                acc.platform,
                private_chat_of(acc),
                text,
                None,
                priority="bulk",
                dedupe_key=f"ann:{aid}:{acc.platform}:{acc.id}",
                account_id=acc.id,
                announcement_id=aid,
                expires_at=expires,
                now=now,
            )
        )

    def _staff_recipients(self, uow: UnitOfWork, c: Circuit, orders) -> list[tuple[ChatAccount, list[str]]]:
        """Filing village doctors (with their order numbers) and the township center's reviewers."""
        numbers: dict[int, list[str]] = {}
        for o in orders:
            numbers.setdefault(o.filed_by_staff_id, []).append(o.number or "")
        township = self._township_of(uow, c.place_code)
        centers = (
            [i.code for i in uow.reference.institutions(InstitutionKind.TOWNSHIP_CENTER) if i.place_code == township]
            if township
            else []
        )
        centers += (
            [i.code for i in uow.reference.institutions(InstitutionKind.COMMUNITY_CENTER) if i.place_code == township]
            if township
            else []
        )
        staff_ids = list(numbers)
        for code in centers:
            staff_ids += [s.id for s in uow.staff.at_institution(code, Role.TOWNSHIP_REVIEWER) if s.id is not None]
        out = []
        for acc in uow.chat.accounts_of_staff(sorted(set(staff_ids))):
            out.append((acc, numbers.get(acc.staff_id or 0, [])))
        return out

    @staticmethod
    def _township_of(uow: UnitOfWork, place_code: str) -> str | None:
        p = uow.reference.place(place_code)
        if p is None:
            return None
        if p.level is PlaceLevel.VILLAGE:
            return p.parent_code
        return p.code if p.level is PlaceLevel.TOWNSHIP else None

    @staticmethod
    def served_villages(uow: UnitOfWork, place_code: str) -> list[str]:
        """The villages a circuit at this place serves: itself, a township's villages, a county's villages."""
        p = uow.reference.place(place_code)
        if p is None:
            return []
        if p.level is PlaceLevel.VILLAGE:
            return [p.code]
        frontier: list[str] = [p.code]
        out: list[str] = []
        for _ in range(3):
            nxt: list[str] = []
            for code in frontier:
                for child in uow.reference.children(code):
                    (out if child.level is PlaceLevel.VILLAGE else nxt).append(child.code)
            frontier = nxt
        return out

    # --- text -------------------------------------------------------------------------------------------
    def render(self, uow: UnitOfWork, c: Circuit, kind: AnnouncementKind, detail: dict, now: datetime) -> str:
        """The announcement's text for everyone (personal lines are appended per recipient)."""
        f = self.facts(uow, c, kind, detail, now)
        if kind is AnnouncementKind.CANCEL:
            return "\n".join([f.headline, f.note])
        lines = [f.headline]
        if f.note:
            lines.append(t("ann.changed", changes=f.note))
        lines += [t("ann.time", date=f.date, weekday=f.weekday, half_day=f.half_day), t("ann.place", place=f.place),
                  t("ann.hospital", hospital=f.hospital)]
        for e in f.experts:
            lines.append(t("ann.expert", name=e.name, title=e.title, specialties="、".join(e.specialties)))
            if e.profile:
                lines.append(t("ann.expert_profile", profile=e.profile))
        if f.conditions:
            lines.append(t("ann.conditions", conditions="、".join(f.conditions)))
        lines.append(t("ann.bring"))
        return "\n".join(lines)

    def published(self, uow: UnitOfWork, announcement_id: int, now: datetime) -> tuple[Notice, str] | None:
        """An announcement as published to everyone (no personal lines): its facts and its text; None if unknown."""
        ann = uow.schedule.announcement(announcement_id)
        c = uow.circuits.get(ann.circuit_id) if ann is not None else None
        if ann is None or c is None or ann.kind not in _PUBLISHED:  # an expert's briefing is no public notice
            return None
        kind = AnnouncementKind(ann.kind)
        return self.facts(uow, c, kind, ann.detail, now), self.render(uow, c, kind, ann.detail, now)

    @staticmethod
    def facts(uow: UnitOfWork, c: Circuit, kind: AnnouncementKind, detail: dict, now: datetime) -> Notice:
        """What an announcement says, field by field: the text above, a platform's typed template and the printed
        poster (``handlers.services.posters``) all read it."""
        if kind is AnnouncementKind.CANCEL:
            before = detail.get("before") or circuit_json(c)
            d = date.fromisoformat(before["day"])
            half = t(f"half_day.{before['half_day']}")
            place = Announcer._place_name(uow, before["place"])
            return Notice(kind, t("ann.cancel.head", date=month_day(d), half_day=half, place=place), d,
                          month_day(d), t(f"weekday.{d.weekday()}"), half, None, place, "", (), (),
                          t("ann.cancel.tail"))
        place = Announcer._place_name(uow, c.place_code)
        days = (c.day - now.astimezone(CHINA).date()).days
        hint = (
            t("ann.when.tomorrow") if days == 1 else t("ann.when.days", days=days) if days > 1 else t("ann.when.soon")
        )
        head = (
            t("ann.reminder.head", when_hint=hint, place=place)
            if kind is AnnouncementKind.REMINDER
            else t("ann.update.head", place=place)
        )
        hospital = uow.reference.institution(c.hospital_code)
        profiles = uow.schedule.profiles(c.expert_ids)
        experts: list[NoticeExpert] = []
        specs: list[str] = []
        for sid in sorted(c.expert_ids):
            st = uow.staff.get(sid)
            if st is None:
                continue
            names = [_specialty(s) for s in sorted(st.specialties)]
            specs += [n for n in names if n not in specs]
            experts.append(NoticeExpert(st.name, _title(st.title.value), tuple(names), profiles.get(sid) or ""))
        wanted = [
            _specialty(o.confirmed_specialty)
            for o in uow.orders.list(circuit_id=c.id, limit=1000)
            if o.confirmed_specialty
        ]
        note = "；".join(Announcer._changes(uow, detail)) if kind is AnnouncementKind.UPDATE else ""
        return Notice(kind, head, c.day, month_day(c.day), t(f"weekday.{c.day.weekday()}"), _half(c),
                      circuit_start(c.day, c.half_day), place, hospital.name if hospital else c.hospital_code,
                      tuple(experts), tuple(dict.fromkeys(wanted + specs)), note)

    @staticmethod
    def _changes(uow: UnitOfWork, detail: dict) -> list[str]:
        before, after = detail.get("before") or {}, detail.get("after") or {}
        out = []
        if (before.get("day"), before.get("half_day")) != (after.get("day"), after.get("half_day")):

            def when(x: dict) -> str:
                return month_day(date.fromisoformat(x["day"])) + t(f"half_day.{x['half_day']}")

            out.append(t("ann.change.time", old=when(before), new=when(after)))
        if before.get("place") != after.get("place"):
            out.append(
                t(
                    "ann.change.place",
                    old=Announcer._place_name(uow, before.get("place", "")),
                    new=Announcer._place_name(uow, after.get("place", "")),
                )
            )
        if before.get("experts") != after.get("experts"):

            def names(ids: Iterable[int]) -> str:
                return "、".join(st.name for i in ids if (st := uow.staff.get(int(i))) is not None)

            out.append(
                t("ann.change.experts", old=names(before.get("experts", [])), new=names(after.get("experts", [])))
            )
        return out

    @staticmethod
    def _place_name(uow: UnitOfWork, code: str) -> str:
        p = uow.reference.place(code)
        return p.name if p else code

    # --- changes ----------------------------------------------------------------------------------------
    @staticmethod
    def record_change(
        uow: UnitOfWork,
        before: Circuit,
        after: Circuit,
        actor_staff_id: int | None,
        now: datetime,
        order_ids: Iterable[int] = (),
    ) -> AnnouncementKind | None:
        """Log a change to a circuit and, if it is a move or cancellation, create its notice (due now)."""
        kind = change_kind(before, after)
        assert after.id is not None
        log_kind = {AnnouncementKind.CANCEL: "cancelled", AnnouncementKind.UPDATE: "moved"}.get(kind, "edited") \
            if kind else "edited"
        change_id = uow.schedule.log_change(
            after.id, log_kind, circuit_json(before), circuit_json(after), actor_staff_id, now
        )
        if kind is None or now >= circuit_start(before.day, before.half_day):
            return None  # nothing goes out for a circuit already started
        # Reminders still queued describe the old slot: withdraw them now, not at the next sweep.
        uow.outbox.void_pending([a.id for a in uow.schedule.announcements(after.id)], f"circuit {log_kind}")
        uow.schedule.ensure_announcement(
            after.id,
            kind.value,
            f"change:{change_id}",
            now,
            now,
            {"before": circuit_json(before), "after": circuit_json(after), "orders": sorted(order_ids)},
        )
        return kind

    @staticmethod
    def record_created(uow: UnitOfWork, c: Circuit, actor_staff_id: int | None, now: datetime) -> None:
        """Log a new circuit (its reminders are counted from now)."""
        assert c.id is not None
        uow.schedule.log_change(c.id, "created", None, circuit_json(c), actor_staff_id, now)


def _title(level: str) -> str:
    return {"初级": "医师", "中级": "主治医师", "副高": "副主任医师", "正高": "主任医师"}.get(level, t("title.unknown"))
