"""Who may do what to which order: permissions as domain rules, not handler code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from domain.circuits import Circuit, month_day
from domain.errors import PermissionDenied
from domain.orders import Action, Order
from domain.places import Institution, InstitutionKind
from domain.staff import Role, Staff
from domain.support import SupportNetwork

# Which role may take which order action at all; scope is checked separately.
ACTIONS_BY_ROLE: dict[Role, frozenset[Action]] = {
    Role.VILLAGE_DOCTOR: frozenset({Action.RESUBMIT, Action.CANCEL}),
    Role.TOWNSHIP_REVIEWER: frozenset(
        {
            Action.TOWNSHIP_APPROVE,
            Action.TOWNSHIP_RETURN,
            Action.TOWNSHIP_REJECT,
            Action.TOWNSHIP_MERGE,
            Action.TOWNSHIP_HANDLE_LOCAL,
            Action.CANCEL,
        }
    ),
    Role.HOSPITAL_REVIEWER: frozenset(
        {
            Action.DISPOSE_CIRCUIT,
            Action.DISPOSE_REMOTE,
            Action.DISPOSE_REFER_UP,
            Action.DISPOSE_LOCAL,
            Action.HOSPITAL_REJECT,
            Action.SCHEDULE,
            Action.UNSCHEDULE,
            Action.CANCEL,
        }
    ),
    Role.EXPERT: frozenset({Action.MARK_SERVED, Action.MARK_NO_SHOW}),
    # Administrators configure places, institutions, staff and relations; they never decide on orders.
    Role.ADMIN: frozenset(),
}


@dataclass(slots=True)
class Jurisdiction:
    """The facts permission rules need: institutions and the support network."""

    institutions: Mapping[str, Institution]
    network: SupportNetwork

    @classmethod
    def build(cls, institutions: Iterable[Institution], network: SupportNetwork) -> Jurisdiction:
        """A jurisdiction over these institutions and relations."""
        return cls({i.code: i for i in institutions}, network)

    def kind_of(self, code: str) -> InstitutionKind | None:
        """The kind of institution ``code``, or None if unknown."""
        inst = self.institutions.get(code)
        return inst.kind if inst else None

    def in_scope(self, actor: Staff, role: Role, post_code: str, day: date) -> bool:
        """True if ``actor`` acting as ``role`` looks after orders filed at ``post_code`` on ``day``."""
        kind = self.kind_of(actor.institution_code)
        if role is Role.VILLAGE_DOCTOR:
            return actor.institution_code == post_code
        if role is Role.TOWNSHIP_REVIEWER:
            return bool(kind and kind.is_grassroots_center) and self.network.supports(
                actor.institution_code, post_code, day, direct=True
            )
        if role is Role.HOSPITAL_REVIEWER:
            return bool(kind and kind.is_hospital) and self.network.supports(actor.institution_code, post_code, day)
        return False


def require_role(actor: Staff, role: Role) -> None:
    """Raise unless ``actor`` holds ``role``."""
    if not actor.active or not actor.has_role(role):
        raise PermissionDenied("perm.role_missing", role=role.value)


def authorize_filing(actor: Staff, post_code: str) -> None:
    """A village doctor files orders only for their own post."""
    require_role(actor, Role.VILLAGE_DOCTOR)
    if actor.institution_code != post_code:
        raise PermissionDenied("perm.not_your_post")


def authorize_view(
    actor: Staff, role: Role, order: Order, jurisdiction: Jurisdiction, day: date, circuit: Circuit | None = None
) -> None:
    """Raise unless ``actor`` as ``role`` may see ``order``."""
    require_role(actor, role)
    if role is Role.EXPERT:
        if circuit is None or circuit.id != order.circuit_id or not circuit.has_expert(actor.id):
            raise PermissionDenied("perm.not_on_circuit")
        return
    if role is Role.ADMIN:
        return  # the commission reads everything; reads of personal data are audited by the caller
    if not jurisdiction.in_scope(actor, role, order.post_code, day):
        raise PermissionDenied(_SCOPE_ERROR[role])


def authorize_order_action(
    actor: Staff,
    role: Role,
    action: Action,
    order: Order,
    jurisdiction: Jurisdiction,
    day: date,
    circuit: Circuit | None = None,
) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` acting as ``role`` may take ``action`` on ``order`` now.

    Args:
        actor: the person pressing the button.
        role: the role they act in (one person may hold several).
        action: what they want to do.
        order: the order as stored now.
        jurisdiction: institutions and support relations.
        day: today, for relations with start and end dates.
        circuit: the order's circuit, needed for expert actions.
    """
    if role is Role.ADMIN:
        raise PermissionDenied("perm.admin_cannot_review")
    require_role(actor, role)
    if action not in ACTIONS_BY_ROLE[role]:
        raise PermissionDenied("perm.action_not_for_role", action=action.value, role=role.value)
    if action is Action.SCHEDULE and circuit is not None:
        if not jurisdiction.in_scope(actor, role, order.post_code, day):
            raise PermissionDenied(_SCOPE_ERROR[role])
        if circuit.hospital_code != actor.institution_code:
            raise PermissionDenied("perm.not_your_circuit")
        return
    authorize_view(actor, role, order, jurisdiction, day, circuit)
    if action in (Action.MARK_SERVED, Action.MARK_NO_SHOW) and circuit is not None and circuit.day > day:
        # An outcome is a fact about a visit that has happened: a circuit dated later cannot have one yet.
        raise PermissionDenied("perm.circuit_not_held", date=month_day(circuit.day))


_SCOPE_ERROR = {
    Role.VILLAGE_DOCTOR: "perm.not_your_post",
    Role.TOWNSHIP_REVIEWER: "perm.outside_township",
    Role.HOSPITAL_REVIEWER: "perm.not_supported",
}


def may_configure(actor: Staff) -> bool:
    """Only administrators set up places, institutions, staff and support relations."""
    return actor.active and actor.has_role(Role.ADMIN)
