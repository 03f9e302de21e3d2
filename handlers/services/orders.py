"""Order use cases: load an order, and decide on it (authorise, apply the transition, save, audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, Order
from domain.permissions import authorize_order_action
from handlers.services import Actor, today_of
from storage.ports import UnitOfWork

UNCHECKED = object()  # a decision taken without a card's version (the planner, a circuit's cancellation)
Refusal = Literal["already_decided", "order_changed"]


@dataclass(frozen=True, slots=True)
class Decided:
    """What became of a decision: the order (moved, or as it stands), and why nothing was done if it was not."""

    order: Order
    refused: Refusal | None = None

    @property
    def done(self) -> bool:
        """True if the order moved."""
        return self.refused is None


def load_order(uow: UnitOfWork, order_id: object, *, for_update: bool = False) -> Order:
    """The order named by an id from a button payload or a command, or ``DomainError('order.unknown')``."""
    try:
        oid = int(str(order_id))
    except ValueError:
        raise DomainError("order.unknown") from None
    order = uow.orders.get(oid, for_update=for_update) if 0 < oid < 2**62 else None
    if order is None:
        raise DomainError("order.unknown")
    return order


def decide(uow: UnitOfWork, actor: Actor, now: datetime, order_id: object, action: Action, *,
           shown: object = UNCHECKED, **kw) -> Decided:
    """Authorise and apply ``action`` to an order, locked for update; refusals are audited, not raised.

    ``shown`` is the order's version on the card the decision was taken from: if the order changed since (an
    edit, an answered return), nothing is decided. A card without a version counts as changed. An order that
    has moved on already (another reviewer was faster) is refused the same way. ``PermissionDenied`` is raised:
    the caller rolls back whatever else it did.
    """
    order = load_order(uow, order_id, for_update=True)
    circuit_id = kw.get("circuit_id") or order.circuit_id
    circuit = uow.circuits.get(circuit_id) if circuit_id else None
    try:
        authorize_order_action(actor.staff, actor.role, action, order, actor.jurisdiction, today_of(now), circuit)
    except PermissionDenied as e:
        raise PermissionDenied(e.key, **{**e.params, "order": order.number, "action": action.value}) from None
    if not order.can(action):
        actor.audit(uow, now, "refused", "order", order.entity_id, reason="already_decided",
                    detail={"action": action.value, "status": order.status.value})
        return Decided(order, "already_decided")
    if shown is not UNCHECKED and not _same_version(shown, order.version):
        actor.audit(uow, now, "refused", "order", order.entity_id, reason="order_changed",
                    detail={"action": action.value, "shown": str(shown)[:16], "now": order.version})
        return Decided(order, "order_changed")
    order.apply(action, actor_staff_id=actor.staff_id, actor_role=actor.role, now=now, **kw)
    uow.orders.save(order)
    return Decided(order)


def _same_version(shown: object, version: int) -> bool:
    return isinstance(shown, int) and not isinstance(shown, bool) and shown == version
