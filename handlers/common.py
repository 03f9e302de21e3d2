"""Helpers shared by the order flows: loading, authorising and moving an order, and telling people."""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, Order
from domain.permissions import authorize_order_action, authorize_view
from domain.specialties import catalogue
from domain.staff import Role, Staff
from handlers.core import Ctx
from handlers.texts import t


def specialty_name(code: str | None) -> str:
    """A specialty's Chinese name, or 未定."""
    s = catalogue().get(code) if code else None
    return s.name if s else "未定"


def status_name(order: Order) -> str:
    """The order's status in Chinese."""
    return t(f"status.{order.status.value}")


def emergency_mark(order: Order) -> str:
    """A line for every card of an order filed after "不是急症，继续" ("" otherwise)."""
    if not order.emergency_override:
        return ""
    return "\n" + t("order.emergency_mark", reasons=order.emergency_reasons or "危险信号")


def acting_staff(ctx: Ctx) -> tuple[Staff, Role]:
    """The member of staff and their acting role, or ``PermissionDenied``."""
    st, role = ctx.staff, ctx.role
    if st is None or role is None or st.id is None:
        raise PermissionDenied("perm.role_missing", role="")
    return st, role


def load_order(ctx: Ctx, order_id: object, *, for_update: bool = False) -> Order:
    """The order named by a button payload, or ``DomainError('order.unknown')``."""
    try:
        oid = int(str(order_id))
    except ValueError:
        raise DomainError("order.unknown") from None
    order = ctx.uow.orders.get(oid, for_update=for_update) if 0 < oid < 2**62 else None
    if order is None:
        raise DomainError("order.unknown")
    return order


def viewable_order(ctx: Ctx, order_id: object) -> Order:
    """Load an order and check this user may see it (refusals are audited by the conversation)."""
    st, role = acting_staff(ctx)
    order = load_order(ctx, order_id)
    circuit = ctx.uow.circuits.get(order.circuit_id) if order.circuit_id else None
    try:
        authorize_view(st, role, order, ctx.jurisdiction, ctx.today, circuit)
    except PermissionDenied as e:
        raise PermissionDenied(e.key, **{**e.params, "order": order.number}) from None
    return order


_UNCHECKED = object()


def act(ctx: Ctx, order_id: object, action: Action, *, shown: object = _UNCHECKED,
        changed: Callable[[Order], None] | None = None, **kw) -> Order | None:
    """Authorise and apply ``action``; None (with a polite answer) if the order has moved on already.

    ``shown`` is the order's version on the card the decision was taken from (carried by the button): if the
    order changed since (an edit, an answered return), nothing is decided, the refusal is audited, and
    ``changed`` (if given) shows the reviewer the order as it is now. A button without a version counts as
    changed.
    """
    st, role = acting_staff(ctx)
    order = load_order(ctx, order_id, for_update=True)
    circuit_id = kw.get("circuit_id") or order.circuit_id
    circuit = ctx.uow.circuits.get(circuit_id) if circuit_id else None
    try:
        authorize_order_action(st, role, action, order, ctx.jurisdiction, ctx.today, circuit)
    except PermissionDenied as e:
        raise PermissionDenied(e.key, **{**e.params, "order": order.number, "action": action.value}) from None
    if not order.can(action):
        ctx.audit(
            "refused",
            "order",
            order.entity_id,
            reason="already_decided",
            detail={"action": action.value, "status": order.status.value},
        )
        ctx.edit(t("review.already", number=order.number, status=status_name(order)))
        return None
    if shown is not _UNCHECKED and not _same_version(shown, order.version):
        ctx.audit("refused", "order", order.entity_id, reason="order_changed",
                  detail={"action": action.value, "shown": str(shown)[:16], "now": order.version})
        if changed is not None:
            changed(order)
        else:
            ctx.edit(t("review.changed", number=order.number))
        return None
    assert st.id is not None
    order.apply(action, actor_staff_id=st.id, actor_role=role, now=ctx.now, **kw)
    ctx.uow.orders.save(order)
    return order


def _same_version(shown: object, version: int) -> bool:
    return isinstance(shown, int) and not isinstance(shown, bool) and shown == version


def township_centers_of(ctx: Ctx, post_code: str) -> list[str]:
    """The health centers that directly support a village post."""
    net = ctx.jurisdiction.network
    return [
        code
        for code in net.supporters_of(post_code, ctx.today)
        if net.supports(code, post_code, ctx.today, direct=True)
        and (k := ctx.jurisdiction.kind_of(code)) is not None
        and k.is_grassroots_center
    ]


def hospitals_of(ctx: Ctx, post_code: str) -> list[str]:
    """The hospitals that support a village post, directly or down the chain."""
    return [
        code
        for code in ctx.jurisdiction.network.supporters_of(post_code, ctx.today)
        if (k := ctx.jurisdiction.kind_of(code)) is not None and k.is_hospital
    ]


def county_hospitals_of(ctx: Ctx, post_code: str) -> list[str]:
    """The supporting hospitals nearest the village: those directly supporting its health center."""
    net = ctx.jurisdiction.network
    centers = township_centers_of(ctx, post_code)
    return [h for h in hospitals_of(ctx, post_code) if any(net.supports(h, c, ctx.today, direct=True) for c in centers)]


def notify_decision(ctx: Ctx, order: Order, action: Action, detail: str | None = None) -> None:
    """Tell the filing village doctor (and the next reviewers) what happened to an order."""
    resident = ctx.uow.residents.get(order.resident_id)
    text = t(
        "notify.decision",
        number=order.number,
        resident=resident.name if resident else "",
        decision=t(f"decision.{action.value}"),
        detail=t("notify.detail", text=detail) if detail else "",
    )
    ctx.notify_staff([order.filed_by_staff_id], text)
    if action is Action.TOWNSHIP_APPROVE:
        ctx.notify_role_at(county_hospitals_of(ctx, order.post_code), Role.HOSPITAL_REVIEWER, text)
    elif action.value.startswith("dispose_") or action is Action.HOSPITAL_REJECT:
        ctx.notify_role_at(township_centers_of(ctx, order.post_code), Role.TOWNSHIP_REVIEWER, text)

