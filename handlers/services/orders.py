"""Order use cases: file one (the resident with their consent, and the order), load one, and decide on it
(authorise, apply the transition, save, audit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from domain.catalogue import CatalogueMatch
from domain.errors import DomainError, PermissionDenied
from domain.orders import Action, Order, SpecialPopulation, Urgency
from domain.permissions import Jurisdiction, authorize_order_action
from domain.staff import Consent, Resident, Sex
from handlers.services import Actor, today_of
from handlers.services import catalogue as first_diagnosis
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


# (action, entity, entity_id, *, reason=None, detail=None): ``Ctx.audit`` or ``Actor.audit``
Audit = Callable[..., None]


class FiledOrder(NamedTuple):
    """What filing stored: the resident, the order, and the first-diagnosis catalogue entry its need matched."""

    resident: Resident
    order: Order
    in_catalogue: CatalogueMatch | None


def file_order(uow: UnitOfWork, *, staff_id: int, post: str, village: str, draft: Mapping[str, Any], now: datetime,
               consent_version: str, audit: Audit, jurisdiction: Jurisdiction | None = None) -> FiledOrder:
    """Store the resident (with their consent) and the order, in the caller's transaction: the one way an order is
    filed, from the chat's card, its step-by-step flow and the survey import alike.

    ``draft`` holds what the doctor confirmed: an existing resident's id (``rid``) or a new one's ``name``,
    ``sex``, ``birth_year`` and ``phone``; ``consent`` (recorded now, or at ``consent_at`` as the survey sheet
    dates it); the ``need``, the matcher's ``suggestions`` and the chosen ``specialty``, ``urgency``,
    ``populations``, and ``emergency_override`` with the ``reasons`` that were overridden. A resident who withdrew
    (or never gave) consent is refused (``DomainError('resident.unknown')``). The need is looked up in the
    first-diagnosis catalogue of the center that reviews it, whichever way the order came (``in_catalogue``).
    """
    at = draft.get("consent_at")
    consent = Consent(consent_version, at if isinstance(at, datetime) else now, staff_id)
    if draft.get("rid"):
        resident = uow.residents.get(int(str(draft["rid"])))
        # Re-checked now: the resident may have withdrawn (/forget) since they were picked.
        if resident is None or resident.village_code != village or resident.consent_withdrawn_at is not None:
            raise DomainError("resident.unknown")
        if not draft.get("consent") and not resident.has_consent:
            raise DomainError("resident.unknown")
        # A recorded consent never moves backwards: a survey sheet's older date leaves the newer one standing.
        if draft.get("consent") and (resident.consent is None or resident.consent.recorded_at < consent.recorded_at):
            resident.consent = consent
            uow.residents.save(resident)
            audit("consent", "resident", str(resident.id), detail={"version": consent.version})
    else:
        if not draft.get("consent"):
            raise DomainError("resident.unknown")
        resident = Resident(str(draft["name"]), Sex(str(draft["sex"])), int(str(draft["birth_year"])), village,
                            phone=draft.get("phone") or None, consent=consent)
        uow.residents.add(resident)
        audit("consent", "resident", str(resident.id), detail={"version": consent.version})
    assert resident.id is not None
    suggestions = draft.get("suggestions") or []
    order = Order.file(
        resident_id=resident.id,
        post_code=post,
        village_code=village,
        filed_by_staff_id=staff_id,
        need_text=str(draft["need"]),
        now=now,
        suggested_specialty=suggestions[0][0] if suggestions else None,
        confirmed_specialty=str(draft["specialty"]),
        urgency=Urgency(str(draft.get("urgency") or Urgency.ROUTINE.value)),
        special_populations=frozenset(SpecialPopulation(p) for p in draft.get("populations", [])),
        emergency_override=bool(draft.get("emergency_override")),
        emergency_reasons=str(draft.get("reasons") or "") or None,
    )
    uow.orders.add(order)
    return FiledOrder(resident, order, first_diagnosis.match_order(uow, order, now, jurisdiction, edited=False))
