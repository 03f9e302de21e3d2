"""Orders (需求订单) and their state machine; every change yields an audit event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from domain.errors import DomainError, IllegalTransition
from domain.staff import Role


class OrderStatus(StrEnum):
    """Where an order stands."""

    SUBMITTED = "submitted"
    RETURNED = "returned"  # returned for more information by the township
    TOWNSHIP_APPROVED = "township_approved"
    REJECTED = "rejected"
    MERGED = "merged"  # a duplicate, merged into another order
    AWAITING_CIRCUIT = "awaiting_circuit"
    REMOTE_CONSULT = "remote_consult"
    REFERRED_UP = "referred_up"
    HANDLED_LOCALLY = "handled_locally"
    SCHEDULED = "scheduled"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Open orders can still be cancelled; the rest are final."""
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.RETURNED,
        OrderStatus.TOWNSHIP_APPROVED,
        OrderStatus.AWAITING_CIRCUIT,
        OrderStatus.SCHEDULED,
    }
)


class Disposition(StrEnum):
    """The supporting hospital's decision (处理意见)."""

    CIRCUIT = "circuit"
    REMOTE = "remote"
    REFER_UP = "refer_up"
    LOCAL = "local"
    REJECT = "reject"


class Urgency(StrEnum):
    """How soon the resident should be seen."""

    ROUTINE = "routine"
    SOON = "soon"


class SpecialPopulation(StrEnum):
    """Special populations (特殊人群) the targets count separately."""

    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    CHILD = "child"
    CHRONIC = "chronic"


class Action(StrEnum):
    """Everything that can be done to an order; each is one explicit transition."""

    TOWNSHIP_APPROVE = "township_approve"
    TOWNSHIP_RETURN = "township_return"
    TOWNSHIP_REJECT = "township_reject"
    TOWNSHIP_MERGE = "township_merge"
    # The township treats it itself: the need is in its first-diagnosis catalogue (首诊负责制 [000 三(四)]), so it
    # is not sent up for the hospital to send back as "local".
    TOWNSHIP_HANDLE_LOCAL = "township_handle_local"
    RESUBMIT = "resubmit"
    DISPOSE_CIRCUIT = "dispose_circuit"
    DISPOSE_REMOTE = "dispose_remote"
    DISPOSE_REFER_UP = "dispose_refer_up"
    DISPOSE_LOCAL = "dispose_local"
    HOSPITAL_REJECT = "hospital_reject"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    MARK_SERVED = "mark_served"
    MARK_NO_SHOW = "mark_no_show"
    CANCEL = "cancel"


S = OrderStatus
# The whole state machine: action -> (states it may start from, state it leads to).
TRANSITIONS: dict[Action, tuple[frozenset[OrderStatus], OrderStatus]] = {
    Action.TOWNSHIP_APPROVE: (frozenset({S.SUBMITTED}), S.TOWNSHIP_APPROVED),
    Action.TOWNSHIP_RETURN: (frozenset({S.SUBMITTED}), S.RETURNED),
    Action.TOWNSHIP_REJECT: (frozenset({S.SUBMITTED}), S.REJECTED),
    Action.TOWNSHIP_MERGE: (frozenset({S.SUBMITTED}), S.MERGED),
    Action.TOWNSHIP_HANDLE_LOCAL: (frozenset({S.SUBMITTED}), S.HANDLED_LOCALLY),
    Action.RESUBMIT: (frozenset({S.RETURNED}), S.SUBMITTED),
    Action.DISPOSE_CIRCUIT: (frozenset({S.TOWNSHIP_APPROVED}), S.AWAITING_CIRCUIT),
    Action.DISPOSE_REMOTE: (frozenset({S.TOWNSHIP_APPROVED}), S.REMOTE_CONSULT),
    Action.DISPOSE_REFER_UP: (frozenset({S.TOWNSHIP_APPROVED}), S.REFERRED_UP),
    Action.DISPOSE_LOCAL: (frozenset({S.TOWNSHIP_APPROVED}), S.HANDLED_LOCALLY),
    Action.HOSPITAL_REJECT: (frozenset({S.TOWNSHIP_APPROVED}), S.REJECTED),
    Action.SCHEDULE: (frozenset({S.AWAITING_CIRCUIT}), S.SCHEDULED),
    Action.UNSCHEDULE: (frozenset({S.SCHEDULED}), S.AWAITING_CIRCUIT),
    Action.MARK_SERVED: (frozenset({S.SCHEDULED}), S.SERVED),
    Action.MARK_NO_SHOW: (frozenset({S.SCHEDULED}), S.NO_SHOW),
    Action.CANCEL: (OPEN_STATUSES, S.CANCELLED),
}

DISPOSITION_OF_ACTION = {
    Action.DISPOSE_CIRCUIT: Disposition.CIRCUIT,
    Action.DISPOSE_REMOTE: Disposition.REMOTE,
    Action.DISPOSE_REFER_UP: Disposition.REFER_UP,
    Action.DISPOSE_LOCAL: Disposition.LOCAL,
    Action.HOSPITAL_REJECT: Disposition.REJECT,
}

# Actions that must carry a reason the other side can read.
REASON_REQUIRED = frozenset(
    {
        Action.TOWNSHIP_RETURN,
        Action.TOWNSHIP_REJECT,
        Action.HOSPITAL_REJECT,
        Action.CANCEL,
        Action.RESUBMIT,
    }
)

MAX_NEED_TEXT = 2000
MAX_REASON = 500


def order_number(day: date, sequence: int) -> str:
    """The human-readable number of the ``sequence``-th order filed on ``day``: ``XZ-20261123-0007``."""
    return f"XZ-{day:%Y%m%d}-{sequence:04d}"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what to which record, from which state to which, why and when."""

    actor_staff_id: int | None
    actor_role: str
    action: str
    entity: str
    entity_id: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    at: datetime
    detail: dict[str, object] = field(default_factory=dict)


def clean_text(value: str | None, limit: int, *, key: str) -> str:
    """Strip ``value`` and check it is non-empty and at most ``limit`` characters."""
    text = (value or "").strip()
    if not text:
        raise DomainError(f"{key}.empty")
    if len(text) > limit:
        raise DomainError(f"{key}.too_long", limit=limit)
    return text


@dataclass(slots=True)
class Order:
    """A resident's need, filed by a village post, reviewed up the support chain."""

    resident_id: int
    post_code: str
    village_code: str
    filed_by_staff_id: int
    need_text: str
    created_at: datetime
    suggested_specialty: str | None = None
    confirmed_specialty: str | None = None
    urgency: Urgency = Urgency.ROUTINE
    special_populations: frozenset[SpecialPopulation] = frozenset()
    status: OrderStatus = OrderStatus.SUBMITTED
    disposition: Disposition | None = None
    disposition_note: str | None = None
    assigned_expert_id: int | None = None
    circuit_id: int | None = None
    question: str | None = None  # the township's question when returned for info
    answer: str | None = None  # the village doctor's answer on resubmission
    reason: str | None = None  # the last reason given (reject, cancel)
    merged_into_id: int | None = None
    emergency_override: bool = False
    emergency_reasons: str | None = None  # what the system flagged when the doctor judged it no emergency
    number: str | None = None
    id: int | None = None
    version: int = 0
    updated_at: datetime | None = None
    events: list[AuditEvent] = field(default_factory=list)

    @classmethod
    def file(
        cls,
        *,
        resident_id: int,
        post_code: str,
        village_code: str,
        filed_by_staff_id: int,
        need_text: str,
        now: datetime,
        suggested_specialty: str | None = None,
        confirmed_specialty: str | None = None,
        urgency: Urgency = Urgency.ROUTINE,
        special_populations: frozenset[SpecialPopulation] = frozenset(),
        emergency_override: bool = False,
        emergency_reasons: str | None = None,
    ) -> Order:
        """File a new order; it starts as submitted and records an ``order.filed`` event."""
        order = cls(
            resident_id=resident_id,
            post_code=post_code,
            village_code=village_code,
            filed_by_staff_id=filed_by_staff_id,
            need_text=clean_text(need_text, MAX_NEED_TEXT, key="order.need"),
            created_at=now,
            updated_at=now,
            suggested_specialty=suggested_specialty,
            confirmed_specialty=confirmed_specialty or suggested_specialty,
            urgency=urgency,
            special_populations=special_populations,
            emergency_override=emergency_override,
            emergency_reasons=(emergency_reasons or None) if emergency_override else None,
        )
        detail: dict[str, object] = {"emergency_override": True} if emergency_override else {}
        order._record(filed_by_staff_id, Role.VILLAGE_DOCTOR, "file", None, S.SUBMITTED, None, now, detail)
        return order

    @property
    def entity_id(self) -> str:
        """How audit events name this order."""
        return self.number or str(self.id or "new")

    def can(self, action: Action) -> bool:
        """True if ``action`` is legal from the current status."""
        sources, _ = TRANSITIONS[action]
        return self.status in sources

    def apply(
        self,
        action: Action,
        *,
        actor_staff_id: int,
        actor_role: Role,
        now: datetime,
        reason: str | None = None,
        expert_id: int | None = None,
        circuit_id: int | None = None,
        merged_into_id: int | None = None,
        note: str | None = None,
    ) -> AuditEvent:
        """Move the order by ``action``; raises ``IllegalTransition`` if not allowed from here."""
        sources, target = TRANSITIONS[action]
        if self.status not in sources:
            raise IllegalTransition("order.illegal_transition", action=action.value, status=self.status.value)
        if action in REASON_REQUIRED:
            reason = clean_text(reason, MAX_REASON, key="order.reason")
        elif reason is not None:
            reason = reason.strip()[:MAX_REASON] or None
        if action is Action.TOWNSHIP_MERGE and merged_into_id is None:
            raise DomainError("order.merge_target_missing")
        if action is Action.TOWNSHIP_MERGE and merged_into_id == self.id:
            raise DomainError("order.merge_into_self")
        if action is Action.SCHEDULE and circuit_id is None:
            raise DomainError("order.circuit_missing")

        before = self.status
        self.status = target
        if action is Action.TOWNSHIP_RETURN:
            self.question = reason
        elif action is Action.RESUBMIT:
            self.answer = reason
        elif action in (Action.TOWNSHIP_REJECT, Action.HOSPITAL_REJECT, Action.CANCEL):
            self.reason = reason
        if action in DISPOSITION_OF_ACTION:
            self.disposition = DISPOSITION_OF_ACTION[action]
            self.disposition_note = note or reason
            if expert_id is not None:
                self.assigned_expert_id = expert_id
        if action is Action.TOWNSHIP_HANDLE_LOCAL:  # the township's own decision, the same outcome as the hospital's
            self.disposition = Disposition.LOCAL
            self.disposition_note = note or reason
        if action is Action.TOWNSHIP_MERGE:
            self.merged_into_id = merged_into_id
        if action is Action.SCHEDULE:
            self.circuit_id = circuit_id
            if expert_id is not None:
                self.assigned_expert_id = expert_id
        if action is Action.UNSCHEDULE:
            self.circuit_id = None
        detail: dict[str, object] = {}
        for k, v in (("expert_id", expert_id), ("circuit_id", circuit_id), ("merged_into_id", merged_into_id)):
            if v is not None:
                detail[k] = v
        if note:
            detail["note"] = note
        self.updated_at = now
        return self._record(actor_staff_id, actor_role, action.value, before, target, reason, now, detail)

    def edit_need(self, text: str, *, actor_staff_id: int, now: datetime, specialty: str | None = None) -> AuditEvent:
        """Change the need text (and the confirmed specialty) while the township has not yet decided."""
        if self.status not in (S.SUBMITTED, S.RETURNED):
            raise IllegalTransition("order.not_editable", status=self.status.value)
        self.need_text = clean_text(text, MAX_NEED_TEXT, key="order.need")
        if specialty:
            self.confirmed_specialty = specialty
        self.updated_at = now
        return self._record(actor_staff_id, Role.VILLAGE_DOCTOR, "edit", self.status, self.status, None, now, {})

    def confirm_specialty(self, code: str, *, actor_staff_id: int, actor_role: Role, now: datetime) -> AuditEvent:
        """A reviewer corrects the specialty; the confirmed code becomes a training label."""
        if not self.status.is_open:
            raise IllegalTransition("order.not_editable", status=self.status.value)
        before = self.confirmed_specialty
        self.confirmed_specialty = code
        self.updated_at = now
        return self._record(
            actor_staff_id,
            actor_role,
            "confirm_specialty",
            self.status,
            self.status,
            None,
            now,
            {"from": before, "to": code},
        )

    def _record(
        self,
        actor_staff_id: int | None,
        role: Role | str,
        action: str,
        before: OrderStatus | None,
        after: OrderStatus | None,
        reason: str | None,
        now: datetime,
        detail: dict[str, object],
    ) -> AuditEvent:
        event = AuditEvent(
            actor_staff_id=actor_staff_id,
            actor_role=str(role),
            action=action,
            entity="order",
            entity_id=self.entity_id,
            from_status=before.value if before else None,
            to_status=after.value if after else None,
            reason=reason,
            at=now,
            detail=detail,
        )
        self.events.append(event)
        return event
