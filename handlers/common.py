"""Helpers shared by the order flows: loading, authorising and moving an order, and telling people."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from domain.errors import PermissionDenied
from domain.orders import Action, Order
from domain.permissions import authorize_view
from domain.specialties import catalogue
from domain.staff import Role, Staff
from handlers.core import Ctx
from handlers.prompts import Asked
from handlers.services import Actor, Notice, orders, queue
from handlers.texts import t


def specialty_name(code: str | None) -> str:
    """A specialty's Chinese name, or 未定."""
    s = catalogue().get(code) if code else None
    return s.name if s else "未定"


def status_name(order: Order) -> str:
    """The order's status in Chinese."""
    return t(f"status.{order.status.value}")


def village_label(ctx: Ctx, code: str) -> str:
    """A village with its county and township ("明溪县雪峰镇城东村")."""
    chain = ctx.gazetteer.ancestors(code)
    return "".join(p.name for p in reversed(chain[:3]))


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


def actor_of(ctx: Ctx) -> Actor:
    """The user of this update as the actor of a use case (or ``PermissionDenied`` if not acting as staff)."""
    st, role = acting_staff(ctx)
    return Actor(st, role, ctx.jurisdiction, {"account": ctx.acc.id, "platform": ctx.acc.platform})


def load_order(ctx: Ctx, order_id: object, *, for_update: bool = False) -> Order:
    """The order named by a button payload, or ``DomainError('order.unknown')``."""
    return orders.load_order(ctx.uow, order_id, for_update=for_update)


def deliver(ctx: Ctx, notices: Iterable[Notice]) -> None:
    """Send a use case's notices: staff hear at once; a resident's personal notice, and any marked ``queued``
    (experts'), go through the outbox."""
    notices = list(notices)
    queue(ctx.uow, (n for n in notices if n.personal or n.queued), ctx.now)
    for n in notices:
        if not (n.personal or n.queued):
            ctx.send_to([n.account], n.text)


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


def act(ctx: Ctx, order_id: object, action: Action, *, shown: object = orders.UNCHECKED,
        changed: Callable[[Order], None] | None = None, **kw) -> Order | None:
    """Decide on an order (``services.orders.decide``); None, with a polite answer, if nothing was decided.

    ``shown`` is the order's version on the card the decision was taken from (carried by the button): if the
    order changed since, ``changed`` (if given) shows the reviewer the order as it is now.
    """
    return answer_refusal(ctx, orders.decide(ctx.uow, actor_of(ctx), ctx.now, order_id, action, shown=shown, **kw),
                          changed)


def answer_refusal(ctx: Ctx, decided: orders.Decided, changed: Callable[[Order], None] | None = None) -> Order | None:
    """The order if the decision was taken; else tell the user why not and return None."""
    order = decided.order
    if decided.refused == "already_decided":
        ctx.edit(t("review.already", number=order.number, status=status_name(order)))
        return None
    if decided.refused == "order_changed":
        if changed is not None:
            changed(order)
        else:
            ctx.edit(t("review.changed", number=order.number))
        return None
    return order


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
    if action is Action.TOWNSHIP_RETURN:
        # The township's question is a prompt: "回复补充" (or its number, typed) starts the doctor's answer.
        ctx.offer(ctx.uow.chat.accounts_of_staff([order.filed_by_staff_id]), text,
                  [[(t("orders.answer"), "order.answer", {"id": order.id})]], Asked("question", again="/orders"))
        return
    reviewers: tuple[int, ...] = ()
    if action is Action.TOWNSHIP_APPROVE:
        reviewers = ctx.staff_at(county_hospitals_of(ctx, order.post_code), Role.HOSPITAL_REVIEWER)
    elif action.value.startswith("dispose_") or action is Action.HOSPITAL_REJECT:
        reviewers = ctx.staff_at(township_centers_of(ctx, order.post_code), Role.TOWNSHIP_REVIEWER)
    ctx.notify_groups(([order.filed_by_staff_id], text), (reviewers, text))

