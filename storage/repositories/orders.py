"""Orders; saving one also appends its audit events, in the same transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from domain.errors import DomainError, PermissionDenied
from domain.orders import (
    AuditEvent,
    Disposition,
    Order,
    OrderStatus,
    SpecialPopulation,
    Urgency,
    order_number,
)
from domain.privacy import mask_free_text
from storage.repositories.base import Repository, affected
from storage.tables import (
    OrderRow,
    ResidentRow,
)

CHINA = ZoneInfo("Asia/Shanghai")
# Statements built once, at import, so that SQLAlchemy's compiled cache finds them without walking them again.
_ORDERS: sa.Table = OrderRow.__table__  # type: ignore[attr-defined]
_ORDER_SELECT = sa.select(_ORDERS).where(_ORDERS.c.id == sa.bindparam("id"))
_ORDER_BY_ID = _ORDER_SELECT
_ORDER_INSERT = _ORDERS.insert().returning(_ORDERS.c.id)
_ORDER_BY_ID_FOR_UPDATE = _ORDER_SELECT.with_for_update()



@functools.cache
def _order_list(filters: tuple[str, ...], newest_first: bool) -> sa.Select:
    """The SELECT behind ``OrderRepository.list`` for one combination of filters (built once each)."""
    o = _ORDERS.c
    conditions = {
        "resident": o.resident_id == sa.bindparam("resident"),
        "posts": o.post_code.in_(sa.bindparam("posts", expanding=True)),
        "statuses": o.status.in_(sa.bindparam("statuses", expanding=True)),
        "circuit": o.circuit_id == sa.bindparam("circuit"),
        "specialty": o.confirmed_specialty == sa.bindparam("specialty"),
    }
    order = (o.id.desc(),) if newest_first else (o.created_at, o.id)
    return (sa.select(_ORDERS).where(*(conditions[f] for f in filters)).order_by(*order)
            .limit(sa.bindparam("limit", type_=sa.Integer)))


_EXPERT_LOAD = (
    sa.select(_ORDERS.c.assigned_expert_id, sa.func.count())
    .where(_ORDERS.c.assigned_expert_id.in_(sa.bindparam("experts", expanding=True)),
           _ORDERS.c.status.in_(sa.bindparam("open", expanding=True)))
    .group_by(_ORDERS.c.assigned_expert_id)
)
@functools.cache
def _order_update(columns: tuple[str, ...]) -> sa.Update:
    """UPDATE of these columns of one order, if it is still at the version that was read (built once per set of
    columns). Columns left out are not touched: SQLite then neither checks their foreign keys nor rewrites their
    indexes (an order has eight and nine foreign keys; a decision changes its status and little else)."""
    return (
        _ORDERS.update()
        .where(_ORDERS.c.id == sa.bindparam("order_id"), _ORDERS.c.version == sa.bindparam("old_version"))
        .values({**{c: sa.bindparam(c) for c in columns}, "version": sa.bindparam("new_version")})
    )


class ConcurrentUpdate(DomainError):
    """Someone else changed the record between our read and our write."""



class OrderRepository(Repository):
    """Orders; saving one also appends its audit events, in the same transaction.

    An order is written back only where it changed since it was read here (``save``).
    """

    def __init__(self, uow: Any):
        super().__init__(uow)
        # order id → (version, column values) as last read or written in this unit of work
        self._stored: dict[int, tuple[int, dict[str, Any]]] = {}

    def _loaded(self, row: Any) -> Order:
        order = _order(row)
        self._stored[row.id] = (row.version, {k: getattr(row, k) for k in _SAVED})
        return order

    def forget_reads(self) -> None:
        """After a rollback what was read no longer tells what is stored: the next save writes every column."""
        self._stored.clear()

    def add(self, order: Order) -> Order:
        """Store a new order, giving it its number (``XZ-YYYYMMDD-NNNN``, per day in China time)."""
        day = order.created_at.astimezone(CHINA).date()
        order.number = order_number(day, self.uow.next_value(f"order:{day:%Y%m%d}"))
        values = {"number": order.number, "version": 0, **_order_values(order)}
        order.id = int(self.c.execute(_ORDER_INSERT, values).scalar_one())
        self._stored[order.id] = (0, {k: values[k] for k in _SAVED})
        self._flush_events(order)
        return order

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        """One order by id (locked for update where the backend supports it), or None."""
        row = self.c.execute(_ORDER_BY_ID_FOR_UPDATE if for_update else _ORDER_BY_ID, {"id": order_id}).first()
        return self._loaded(row) if row else None

    def by_number(self, number: str) -> Order | None:
        """One order by its human-readable number, or None."""
        row = self.c.execute(sa.select(_ORDERS).where(_ORDERS.c.number == number)).first()
        return self._loaded(row) if row else None

    def save(self, order: Order) -> None:
        """Write back a changed order; raises ``ConcurrentUpdate`` if it changed since it was read.

        An order is never newly assigned to someone no longer active (whoever assigns: chat button, command line,
        dashboard): such an assignment raises ``PermissionDenied`` and nothing is written.
        """
        self._check_assigned_experts(order)
        assert order.id is not None
        values = _order_values(order)
        version, stored = self._stored.get(order.id, (None, None))
        # Read at this version here: the row holds what was read (else the version check below fails anyway).
        changed = values if stored is None or version != order.version else {
            k: v for k, v in values.items() if stored[k] != v}
        result = self.c.execute(_order_update(tuple(changed)), {**changed, "order_id": order.id,
                                                                "old_version": order.version,
                                                                "new_version": order.version + 1})
        if affected(result) != 1:
            raise ConcurrentUpdate("order.changed_meanwhile")
        order.version += 1
        self._stored[order.id] = (order.version, values)
        self._flush_events(order)

    def _check_assigned_experts(self, order: Order) -> None:
        for e in order.events:
            expert_id = e.detail.get("expert_id")
            if expert_id is None:
                continue
            standing = self.uow.staff.standing(int(str(expert_id)))
            if standing is None or not standing[0]:
                raise PermissionDenied("perm.expert_inactive", order=order.number or "")

    def list(
        self,
        *,
        post_codes: Iterable[str] | None = None,
        statuses: Iterable[OrderStatus] | None = None,
        circuit_id: int | None = None,
        resident_id: int | None = None,
        specialty: str | None = None,
        limit: int = 200,
        newest_first: bool = False,
    ) -> list[Order]:
        """Orders filtered by filing post, status, circuit, resident or confirmed specialty (oldest first unless
        ``newest_first``)."""
        params = {"resident": resident_id, "posts": None if post_codes is None else list(post_codes),
                  "statuses": None if statuses is None else [s.value for s in statuses], "circuit": circuit_id,
                  "specialty": specialty, "limit": limit}
        q = _order_list(tuple(k for k, v in params.items() if v is not None and k != "limit"), newest_first)
        return [self._loaded(r) for r in self.c.execute(q, {k: v for k, v in params.items() if v is not None})]

    def expert_load(self, expert_ids: Iterable[int]) -> dict[int, int]:
        """Open orders (awaiting a circuit or scheduled) assigned to each expert."""
        expert_ids = [*expert_ids]
        if not expert_ids:
            return {}
        rows = self.c.execute(_EXPERT_LOAD, {"experts": expert_ids,
                                       "open": [OrderStatus.AWAITING_CIRCUIT.value, OrderStatus.SCHEDULED.value]})
        return {int(k): int(v) for k, v in rows if k is not None}

    def purge_free_text(self, closed_before: datetime) -> int:
        """Retention: erase the free text of orders closed before ``closed_before``; returns how many."""
        from storage.tables import OrderOutcomeRow

        final = [st.value for st in OrderStatus if not st.is_open]
        ids = [
            *self.s.exec(
                select(OrderRow.id).where(
                    col(OrderRow.status).in_(final),
                    col(OrderRow.updated_at) < closed_before,
                    col(OrderRow.need_text) != "",
                )
            )
        ]
        if not ids:
            return 0
        self.s.exec(
            sa.update(OrderRow)
            .where(col(OrderRow.id).in_(ids))
            .values(need_text="", question=None, answer=None, reason=None, disposition_note=None)
        )
        self.s.exec(sa.update(OrderOutcomeRow).where(col(OrderOutcomeRow.order_id).in_(ids)).values(outcome=""))
        return len(ids)

    def count_by_status(self) -> dict[str, int]:
        """How many orders are in each status."""
        return dict(self.s.exec(select(col(OrderRow.status), sa.func.count()).group_by(col(OrderRow.status))).all())

    def confirmed_examples(self) -> Iterator[tuple[str, str, int | None]]:
        """(need text, confirmed specialty, age at filing) for orders whose specialty a person confirmed."""
        q = (
            select(
                col(OrderRow.need_text),
                col(OrderRow.confirmed_specialty),
                col(OrderRow.created_at),
                col(ResidentRow.birth_year),
            )
            .join(ResidentRow, col(ResidentRow.id) == col(OrderRow.resident_id), isouter=True)
            .where(col(OrderRow.confirmed_specialty).is_not(None), col(OrderRow.need_text) != "")
            .order_by(col(OrderRow.id))
        )
        for text, code, created, birth_year in self.s.exec(q):
            assert code is not None
            age = created.year - birth_year if birth_year else None
            yield text, code, age

    def _flush_events(self, order: Order) -> None:
        for e in order.events:
            self.uow.audit.append(e if e.entity_id == order.entity_id else _renamed(e, order.entity_id))
        order.events.clear()


def _renamed(e: AuditEvent, entity_id: str) -> AuditEvent:
    return AuditEvent(
        e.actor_staff_id,
        e.actor_role,
        e.action,
        e.entity,
        entity_id,
        e.from_status,
        e.to_status,
        e.reason,
        e.at,
        e.detail,
    )


def _order_values(o: Order) -> dict[str, Any]:
    return dict(
        resident_id=o.resident_id,
        post_code=o.post_code,
        village_code=o.village_code,
        filed_by_staff_id=o.filed_by_staff_id,
        # Free text is stored with phone and ID numbers masked: whatever was typed, the database never holds them.
        need_text=mask_free_text(o.need_text),
        suggested_specialty=o.suggested_specialty,
        confirmed_specialty=o.confirmed_specialty,
        urgency=o.urgency.value,
        special_populations=",".join(sorted(p.value for p in o.special_populations)),
        status=o.status.value,
        disposition=o.disposition.value if o.disposition else None,
        disposition_note=mask_free_text(o.disposition_note),
        assigned_expert_id=o.assigned_expert_id,
        circuit_id=o.circuit_id,
        question=mask_free_text(o.question),
        answer=mask_free_text(o.answer),
        reason=mask_free_text(o.reason),
        merged_into_id=o.merged_into_id,
        emergency_override=o.emergency_override,
        emergency_reasons=o.emergency_reasons[:200] if o.emergency_reasons else None,
        created_at=o.created_at,
        updated_at=o.updated_at or o.created_at,
    )


# The columns ``save`` writes (the keys of ``_order_values``).
_SAVED = tuple(c.name for c in _ORDERS.c if c.name not in ("id", "number", "version"))


def _order(r: OrderRow | sa.Row) -> Order:
    return Order(
        id=r.id,
        number=r.number,
        resident_id=r.resident_id or 0,
        post_code=r.post_code,
        village_code=r.village_code,
        filed_by_staff_id=r.filed_by_staff_id,
        need_text=r.need_text,
        created_at=r.created_at,
        updated_at=r.updated_at,
        suggested_specialty=r.suggested_specialty,
        confirmed_specialty=r.confirmed_specialty,
        urgency=Urgency(r.urgency),
        special_populations=frozenset(SpecialPopulation(p) for p in r.special_populations.split(",") if p),
        status=OrderStatus(r.status),
        disposition=Disposition(r.disposition) if r.disposition else None,
        disposition_note=r.disposition_note,
        assigned_expert_id=r.assigned_expert_id,
        circuit_id=r.circuit_id,
        question=r.question,
        answer=r.answer,
        reason=r.reason,
        merged_into_id=r.merged_into_id,
        emergency_override=r.emergency_override,
        emergency_reasons=r.emergency_reasons,
        version=r.version,
    )
