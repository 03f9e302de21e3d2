"""Emergency alerts as a use case: reach a person (or tell the village doctor whom to phone), escalate.

An alert is a row (``emergency_alert``) and one outbox message per alerted chat account, written in the same
transaction: a crash can lose neither, and the sender delivers them on whatever platform each reviewer uses.
Each message carries an acknowledge button owned by its recipient (pressed in the chat: ``handlers.emergency``).
:func:`alert_township` raises an alert from the chat and the command line alike (a survey sheet's emergency rows);
:func:`escalate_due_alerts` is the periodic sweep (called by the worker's housekeeping) that raises an alert
unanswered for ten minutes to the reviewers of the supporting hospitals; it is idempotent and safe to run from
several workers at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from domain.accounts import ChatAccount
from domain.alerts import ESCALATE_AFTER, Alerted, AlertLevel, EmergencyAlert
from domain.orders import AuditEvent
from domain.permissions import Jurisdiction
from domain.staff import Staff
from handlers import prompts
from handlers.prompts import Asked
from handlers.services import CHINA, private_chat_of
from handlers.texts import t
from storage.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
MINUTES = int(ESCALATE_AFTER.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class _Ack:
    """The acknowledge choice as a prompt records it (``handlers.prompts.Shown``)."""

    label: str
    data: str
    answers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """A member of staff to alert and their usable chat accounts (at least one)."""

    staff: Staff
    accounts: tuple[ChatAccount, ...]


def township_centers(j: Jurisdiction, post_code: str, day: date) -> list[str]:
    """The health centers directly supporting a village post."""
    net = j.network
    return sorted(
        c for c in net.supporters_of(post_code, day)
        if net.supports(c, post_code, day, direct=True) and (k := j.kind_of(c)) is not None and k.is_grassroots_center
    )


def supporting_hospitals(j: Jurisdiction, centers: list[str], day: date) -> list[str]:
    """The hospitals directly supporting these health centers."""
    net = j.network
    return sorted({
        h for c in centers for h in net.supporters_of(c, day)
        if net.supports(h, c, day, direct=True) and (k := j.kind_of(h)) is not None and k.is_hospital
    })


def targets(uow: UnitOfWork, codes: list[str], level: AlertLevel, exclude_staff: int | None) -> list[Target]:
    """Everyone holding the level's role at these institutions with at least one usable chat account."""
    role = level.role
    assert role is not None
    found = []
    for code in codes:
        for st in uow.staff.at_institution(code, role):
            if st.id is None or st.id == exclude_staff:
                continue
            accounts = tuple(a for a in uow.chat.accounts_of_staff([st.id]) if not a.blocked)
            if accounts:
                found.append(Target(st, accounts))
    return found


def who_text(j: Jurisdiction, found: list[Target]) -> str:
    """"雪峰镇卫生院 曾丽芳、张三；明溪县总医院 邱建华"."""
    by_inst: dict[str, list[str]] = {}
    for tg in found:
        by_inst.setdefault(tg.staff.institution_code, []).append(tg.staff.name)
    return "；".join(f"{name_of(j, code)} {'、'.join(names)}" for code, names in by_inst.items())


def name_of(j: Jurisdiction, code: str) -> str:
    inst = j.institutions.get(code)
    return inst.name if inst else code


def phones_text(j: Jurisdiction, codes: list[str]) -> str:
    """"雪峰镇卫生院 0598-6600112；明溪县总医院（未登记电话）"."""
    out = []
    for code in codes:
        inst = j.institutions.get(code)
        name = inst.name if inst else code
        out.append(f"{name} {inst.phone}" if inst and inst.phone else t("em.phone_missing", institution=name))
    return "；".join(out)


def callback_text(j: Jurisdiction, a: EmergencyAlert, doctor: Staff | None) -> str:
    """The number to call back: the doctor's own, else their post's (named), else what to do without one."""
    if not a.callback_phone:
        return t("em.no_phone")
    if doctor is not None and doctor.phone == a.callback_phone:
        return a.callback_phone
    return f"{a.callback_phone}（{name_of(j, a.post_code)}）"


def _message(uow: UnitOfWork, j: Jurisdiction, a: EmergencyAlert, doctor: Staff | None,
             header: str = "") -> str:
    place = uow.reference.place(a.village_code)
    return header + t(
        "em.alert",
        resident=a.resident_name or "（未填写）",
        village=place.name if place else a.village_code,
        post=name_of(j, a.post_code),
        doctor=doctor.name if doctor else "",
        phone=callback_text(j, a, doctor),
        reasons=a.reasons,
    )


def numbers_text(j: Jurisdiction, staff: list[Staff], codes: list[str]) -> str:
    """"13900001005（曾丽芳）、0598-6600112（雪峰镇卫生院）": people's own phones, then their institutions'."""
    out = [f"{st.phone}（{st.name}）" for st in staff if st.phone]
    for code in dict.fromkeys(codes):
        inst = j.institutions.get(code)
        if inst is not None and inst.phone:
            out.append(f"{inst.phone}（{inst.name}）")
    return "、".join(out)


def _buttons_json(uow: UnitOfWork, account_id: int, alert_id: int, now: datetime) -> str:
    """The acknowledge button of one recipient, recorded as what a reply from them means ("收到" acknowledges)."""
    ack = _Ack(t("em.ack"), uow.chat.new_button(account_id, "em.ack", {"alert": alert_id}, now), prompts.yes())
    prompts.record(uow, account_id, [ack], now, Asked("alert"), proactive=True)
    return json.dumps([[{"label": ack.label, "data": ack.data}]], ensure_ascii=False)


def _queue(uow: UnitOfWork, a: EmergencyAlert, level: AlertLevel, found: list[Target], text: str,
           now: datetime) -> None:
    """One message per usable account of each target, with an acknowledge button of its own, in the outbox."""
    assert a.id is not None
    for tg in found:
        for acc in tg.accounts:
            assert acc.id is not None
            uow.outbox.enqueue(acc.platform, private_chat_of(acc), text, _buttons_json(uow, acc.id, a.id, now),
                               priority="reply", dedupe_key=f"em:{a.id}:{level.value}:{acc.id}",
                               account_id=acc.id, now=now)


def tell_doctor(uow: UnitOfWork, a: EmergencyAlert, kind: str, text: str, now: datetime) -> int:
    """Queue ``text`` to every usable account of the filing doctor; returns how many."""
    n = 0
    for acc in uow.chat.accounts_of_staff([a.filed_by_staff_id]):
        if acc.blocked or acc.id is None:
            continue
        n += uow.outbox.enqueue(acc.platform, private_chat_of(acc), text, None, priority="reply",
                                dedupe_key=f"em:{a.id}:{kind}:{acc.id}", account_id=acc.id, now=now)
    return n


def _alerted(found: list[Target], level: AlertLevel) -> tuple[Alerted, ...]:
    role = level.role
    assert role is not None
    return tuple(Alerted(tg.staff.institution_code, role, tg.staff.id or 0) for tg in found)


def alert_township(uow: UnitOfWork, j: Jurisdiction, now: datetime, doctor: Staff, post: str, village: str,
                   reasons: str, *, resident_name: str, resident_id: int | None,
                   audit: Callable[..., None]) -> str:
    """``raise_alert`` without a chat: the same alert, to the same people, from the chat and the command line alike
    (a survey sheet's emergency rows). ``audit(action, entity, entity_id, detail=...)`` records it."""
    assert doctor.id is not None
    day = now.astimezone(CHINA).date()
    name, rid = resident_name, resident_id
    post_inst = j.institutions.get(post)
    alert = EmergencyAlert(
        post_code=post, village_code=village, filed_by_staff_id=doctor.id, resident_name=name,
        reasons=reasons, callback_phone=doctor.phone or (post_inst.phone if post_inst else None), created_at=now,
        resident_id=rid,
    )
    centers = township_centers(j, post, day)
    found = targets(uow, centers, AlertLevel.TOWNSHIP, doctor.id)
    alert.level = AlertLevel.TOWNSHIP
    if not found:
        found = targets(uow, supporting_hospitals(j, centers, day), AlertLevel.HOSPITAL, doctor.id)
        alert.level = AlertLevel.HOSPITAL if found else AlertLevel.NONE
    if found:
        alert.alerted = _alerted(found, alert.level)
    uow.alerts.add(alert)
    assert alert.id is not None
    if found:
        _queue(uow, alert, alert.level, found, _message(uow, j, alert, doctor), now)
    # The audit names who was alerted and why, never the villager's words or name.
    audit("emergency_alert", "emergency_alert", str(alert.id),
              detail={"level": alert.level.value, "staff": [tg.staff.id for tg in found], "reasons": reasons})
    if found:
        # The doctor may not wait for a call back: the numbers of whoever was alerted, and of their institutions.
        numbers = numbers_text(j, [tg.staff for tg in found], [tg.staff.institution_code for tg in found])
        key = "em.notified" if alert.level is AlertLevel.TOWNSHIP else "em.notified_hospital"
        return t(key, who=who_text(j, found)) + (t("em.call", numbers=numbers) if numbers else "")
    if not centers:
        return t("em.nobody_no_phone", institution=t("em.center_unknown"))
    with_phone = [c for c in centers if (inst := j.institutions.get(c)) is not None and inst.phone]
    if not with_phone:
        return t("em.nobody_no_phone", institution="、".join(name_of(j, c) for c in centers))
    return "；".join(
        t("em.nobody", institution=name_of(j, c), phone=j.institutions[c].phone) for c in with_phone
    )


@dataclass(slots=True)
class EscalationResult:
    """What one escalation sweep did."""

    escalated: int = 0
    queued: int = 0
    next_due: datetime | None = None


def escalate_due_alerts(uow_factory: UnitOfWorkFactory, clock: Callable[[], datetime],
                        limit: int = 100) -> EscalationResult:
    """Raise every alert unanswered at the township level for ten minutes to the supporting hospitals'
    reviewers (or tell the doctor to phone if there is nobody), each in its own transaction."""
    now = clock()
    res = EscalationResult()
    with uow_factory() as uow:
        due = uow.alerts.due_for_escalation(now, limit)
    j: Jurisdiction | None = None
    for alert_id in due:
        try:
            with uow_factory() as uow:
                if j is None:
                    j = uow.reference.jurisdiction()
                n = _escalate(uow, j, alert_id, now)
                uow.commit()
        except Exception:
            log.exception("escalating emergency alert %s failed; the next sweep retries", alert_id)
            continue
        if n is not None:
            res.escalated += 1
            res.queued += n
    with uow_factory() as uow:
        res.next_due = uow.alerts.next_escalation_at()
    return res


def _escalate(uow: UnitOfWork, j: Jurisdiction, alert_id: int, now: datetime) -> int | None:
    """Escalate one alert (the caller commits); None if another worker or an acknowledgement came first."""
    if not uow.alerts.claim_escalation(alert_id, now):
        return None
    a = uow.alerts.get(alert_id)
    assert a is not None and a.id is not None
    day = now.astimezone(CHINA).date()
    centers = sorted({x.institution_code for x in a.alerted}) or township_centers(j, a.post_code, day)
    hospitals = supporting_hospitals(j, centers, day)
    found = targets(uow, hospitals, AlertLevel.HOSPITAL, a.filed_by_staff_id)
    doctor = uow.staff.get(a.filed_by_staff_id)
    n = 0
    if found:
        header = t("em.alert_escalated", centers="、".join(name_of(j, c) for c in centers), minutes=MINUTES)
        _queue(uow, a, AlertLevel.HOSPITAL, found, _message(uow, j, a, doctor, header), now)
        uow.alerts.set_level(a.id, AlertLevel.HOSPITAL, a.alerted + _alerted(found, AlertLevel.HOSPITAL))
        n = sum(len(tg.accounts) for tg in found)
        text = t("em.escalated", resident=a.resident_name, minutes=MINUTES, who=who_text(j, found))
    else:
        text = t("em.escalated_nobody", resident=a.resident_name, minutes=MINUTES,
                 phones=phones_text(j, centers + hospitals))
    n += tell_doctor(uow, a, "escalated", text, now)
    uow.audit.append(AuditEvent(None, "system", "emergency_escalated", "emergency_alert", str(a.id), None, None,
                                None, now, {"to": [tg.staff.id for tg in found], "hospitals": hospitals}))
    return n
