"""Emergency alerts in the chat: raise one from a village doctor's form, and the alerted reviewer's "收到".

The alert itself (who is reached, the outbox messages, the escalation sweep) is a use case shared with the command
line: ``handlers.services.alerts``.
"""

from __future__ import annotations

from domain.errors import DomainError, PermissionDenied
from domain.staff import Staff
from handlers.core import CHINA, Ctx, Router
from handlers.services.alerts import alert_township, callback_text, name_of, numbers_text, tell_doctor
from handlers.texts import t

router = Router()


def raise_alert(ctx: Ctx, doctor: Staff, post: str, village: str, reasons: str, *,
                resident_name: str | None = None, resident_id: int | None = None) -> str:
    """Store the alert and queue it to the first level that has someone to reach; returns what to tell the
    doctor (exactly who was alerted, or whom to phone). The resident is the draft's unless named (an order's, a
    survey row's: ``resident_name`` with the ``resident_id`` if they are on record)."""
    draft = ctx.acc.draft
    named = resident_name is not None
    rid = resident_id if resident_id is not None or named else draft.get("rid")
    name = resident_name if resident_name is not None else str(draft.get("name") or "")
    return alert_township(ctx.uow, ctx.jurisdiction, ctx.now, doctor, post, village, reasons, resident_name=name,
                          resident_id=rid if isinstance(rid, int) else None, audit=ctx.audit)


@router.button("em.ack")
def acknowledge(ctx: Ctx, payload: dict) -> None:
    """"收到，我来处理": only someone holding an alerted role at an alerted institution; recorded once."""
    raw = payload.get("alert")
    alert = ctx.uow.alerts.get(raw) if isinstance(raw, int) else None
    if alert is None or alert.id is None:
        raise DomainError("em.unknown")
    st = ctx.staff
    if st is None or st.id is None or not alert.may_acknowledge(st):
        raise PermissionDenied("perm.emergency_not_alerted", alert=str(alert.id))
    j = ctx.jurisdiction
    if not ctx.uow.alerts.acknowledge(alert.id, st.id, ctx.now):
        done = ctx.uow.alerts.get(alert.id)
        assert done is not None and done.acknowledged_at is not None
        by = ctx.services.reference.staff(ctx.uow, done.acknowledged_by_staff_id or 0)
        ctx.reply(t("em.already", institution=name_of(j, by.institution_code) if by else "",
                    name=by.name if by else "", time=f"{done.acknowledged_at.astimezone(CHINA):%H:%M}"))
        return
    ctx.audit("emergency_ack", "emergency_alert", str(alert.id), detail={"level": alert.level.value})
    doctor = ctx.services.reference.staff(ctx.uow, alert.filed_by_staff_id)
    if alert.callback_phone:
        ctx.reply(t("em.acked", doctor=doctor.name if doctor else "", phone=callback_text(j, alert, doctor)))
    else:
        ctx.reply(t("em.acked_no_phone", doctor=doctor.name if doctor else ""))
    numbers = numbers_text(j, [st], [st.institution_code])
    tell_doctor(ctx.uow, alert, "ack", t("em.acknowledged", institution=name_of(j, st.institution_code),
                                           name=st.name, resident=alert.resident_name)
                 + (t("em.call_back", numbers=numbers) if numbers else ""), ctx.now)
