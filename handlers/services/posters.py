"""Notice-board pages (issue 19): a circuit's poster for one village, and a township's week of circuits.

The chat (a village doctor, a hospital reviewer) and the command line (an operator) call these; both get a page's
contents (``domain.posters``), worded from the announcement's own facts (``Announcer.facts``) and texts, and a
renderer outside the core prints them. A chat user may only have a poster of what they may see: a village doctor of
a circuit that serves their village, a hospital reviewer of their hospital's circuit; anything else, a forged or
unknown id included, is the same refusal (``PermissionDenied``: the conversation audits it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.announcements import AnnouncementKind
from domain.circuits import Circuit, CircuitStatus, month_day
from domain.errors import DomainError, PermissionDenied
from domain.places import InstitutionKind, PlaceLevel
from domain.posters import CircuitPoster, PosterExpert, SubscribeCode, WeekRow, WeekSchedule
from domain.staff import Role
from handlers.services import Actor, today_of
from handlers.services.announcements import Announcer, Notice
from handlers.services.circuits import hospital_of
from handlers.texts_posters import t
from storage.ports import UnitOfWork

VISITS_DAYS = 30  # how far ahead a village doctor's list of visits looks


def telegram_link(bot_username: str | None, scene: str) -> str | None:
    """The bot's deep link that sends ``/start <scene>`` (None when the bot's name is not known)."""
    return f"https://t.me/{bot_username}?start={scene}" if bot_username else None


def load_circuit(uow: UnitOfWork, circuit_id: object, actor: Actor | None) -> Circuit:
    """The circuit, or for a chat user the same refusal whether it does not exist or is not theirs."""
    try:
        c = uow.circuits.get(int(str(circuit_id)))
    except ValueError:
        c = None
    if c is None:
        if actor is not None:
            raise PermissionDenied("poster.not_yours", id=str(circuit_id)[:32])
        raise DomainError("poster.unknown_circuit", id=str(circuit_id)[:32])
    return c


def own_village(uow: UnitOfWork, actor: Actor) -> str:
    """The village of a village doctor's post."""
    post = uow.reference.institution(actor.staff.institution_code)
    if post is None:
        raise PermissionDenied("poster.not_yours", id="")
    return post.place_code


def circuit_poster(uow: UnitOfWork, now: datetime, circuit_id: object, *, village: str | None = None,
                   actor: Actor | None = None, bot_username: str | None = None) -> CircuitPoster:
    """The poster of a circuit for one village's notice board.

    Args:
        village: whose subscription the QR code is; by default a village doctor's own, else the circuit's place
            (a township or county place: a code that lets the resident choose their village).
        actor: the chat user asking (None: the operator on the command line, who may print any circuit).
        bot_username: the Telegram bot's name, for its deep link (the renderer prefers the Official Account's code).
    """
    c = load_circuit(uow, circuit_id, actor)
    if actor is not None:
        if actor.role is Role.VILLAGE_DOCTOR:
            village = own_village(uow, actor)
            if village not in Announcer.served_villages(uow, c.place_code):
                raise PermissionDenied("poster.not_yours", id=str(c.id))
        elif actor.role is Role.HOSPITAL_REVIEWER:
            if c.hospital_code != hospital_of(actor):
                raise PermissionDenied("poster.not_yours", id=str(c.id))
        else:
            raise PermissionDenied("poster.not_yours", id=str(c.id))
    if c.status is CircuitStatus.CANCELLED:
        raise DomainError("poster.cancelled", id=c.id)
    where = village or c.place_code
    if village is not None:
        place = uow.reference.place(village)
        if place is None or place.level is not PlaceLevel.VILLAGE:
            raise DomainError("poster.unknown_village", code=village[:32])
        if village not in Announcer.served_villages(uow, c.place_code):
            raise DomainError("poster.not_served", id=c.id, village=village[:32])
    f = Announcer.facts(uow, c, AnnouncementKind.REMINDER, {}, now)
    return CircuitPoster(
        title=t("poster.title"),
        headline=t("poster.headline", hospital=f.hospital, place=f.place),
        when=t("ann.time", date=f.date, weekday=f.weekday, half_day=f.half_day),
        place=t("ann.place", place=f.place),
        hospital=t("ann.hospital", hospital=f.hospital),
        experts=tuple(PosterExpert(t("ann.expert", name=e.name, title=e.title, specialties="、".join(e.specialties)),
                                   e.profile) for e in f.experts),
        conditions=t("ann.conditions", conditions="、".join(f.conditions)) if f.conditions else "",
        bring=t("ann.bring"),
        contact=_contact(uow, where),
        code=_code(uow, where, bot_username),
        footer=t("poster.footer", made=month_day(today_of(now))),
    )


def township_week(uow: UnitOfWork, now: datetime, township: str, monday: date, *,
                  bot_username: str | None = None) -> WeekSchedule:
    """A township's circuits of the week starting ``monday`` (at the township or one of its villages), soonest
    first, as one page for the township health center's notice board (the command line's operator)."""
    place = uow.reference.place(township)
    if place is None or place.level is not PlaceLevel.TOWNSHIP:
        raise DomainError("poster.not_township", code=township[:32])
    sunday = monday + timedelta(days=6)
    villages = {p.code for p in uow.reference.children(township)}
    found = [c for c in uow.schedule.circuits_between(monday, sunday)
             if c.place_code == township or c.place_code in villages]
    rows = tuple(_row(Announcer.facts(uow, c, AnnouncementKind.REMINDER, {}, now)) for c in found)
    year, week, _ = monday.isocalendar()
    columns = tuple(t("poster.week.columns").split("|"))
    assert len(columns) == 4
    return WeekSchedule(
        title=t("poster.week.title", township=place.name),
        period=t("poster.week.period", year=year, week=week, first=month_day(monday), last=month_day(sunday)),
        columns=(columns[0], columns[1], columns[2], columns[3]),
        rows=rows,
        empty=t("poster.week.empty"),
        more=t("poster.week.more", count="{count}"),
        bring=t("ann.bring"),
        contact=_contact(uow, township),
        code=_code(uow, township, bot_username),
        footer=t("poster.footer", made=month_day(today_of(now))),
    )


def upcoming_for_village(uow: UnitOfWork, village: str, today: date, days: int = VISITS_DAYS) -> list[Circuit]:
    """Planned circuits of the next ``days`` days that serve ``village`` (at it, its township or its county)."""
    found = uow.schedule.circuits_between(today, today + timedelta(days=days))
    return [c for c in found if village in Announcer.served_villages(uow, c.place_code)]


def _row(f: Notice) -> WeekRow:
    experts = "、".join(t("poster.week.expert", name=e.name, title=e.title, specialties="、".join(e.specialties))
                       for e in f.experts)
    return WeekRow(t("poster.week.when", date=f.date, weekday=f.weekday, half_day=f.half_day), f.place, experts,
                   f.hospital)


def _code(uow: UnitOfWork, where: str, bot_username: str | None) -> SubscribeCode:
    """The subscription code of a village, or of a township or county (whose villages the resident chooses from)."""
    place = uow.reference.place(where)
    name = place.name if place else where
    scene = f"v_{where}"
    label = (t("poster.scan.village", village=name) if place is None or place.level is PlaceLevel.VILLAGE
             else t("poster.scan.area", area=name))
    return SubscribeCode(scene, telegram_link(bot_username, scene), label, t("poster.typed", scene=scene))


def _contact(uow: UnitOfWork, where: str) -> str:
    """Whom residents phone: a village's doctors (else its post's number), or a township's health centers."""
    place = uow.reference.place(where)
    if place is None:
        return ""
    phones: list[str] = []
    if place.level is PlaceLevel.VILLAGE:
        for post in uow.reference.institutions(InstitutionKind.VILLAGE_POST):
            if post.place_code != where:
                continue
            doctors = [d for d in uow.staff.at_institution(post.code, Role.VILLAGE_DOCTOR) if d.phone]
            phones += [t("poster.contact.doctor", name=d.name, phone=d.phone) for d in doctors]
            if not doctors and post.phone:
                phones.append(t("poster.contact.post", name=post.name, phone=post.phone))
    else:
        for kind in (InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.COMMUNITY_CENTER):
            phones += [t("poster.contact.post", name=i.name, phone=i.phone)
                       for i in uow.reference.institutions(kind) if i.place_code == where and i.phone]
    return t("poster.contact", phones="；".join(phones)) if phones else ""
