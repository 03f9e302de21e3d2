"""Ledger queries: aggregate SQL over circuits, orders and work (both backends), ratings, leads, targets, logins."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.circuits import month_day
from domain.errors import DomainError
from domain.ledgers import (
    DEFAULT_TARGETS,
    RECTIFY_DAYS,
    TARGET_KEYS,
    CircuitFact,
    Lead,
    LeadSource,
    LeadStatus,
    Ledger,
    LedgerInputs,
    Period,
    Scope,
    StaffFact,
    Targets,
    area_scope,
    check_lead_change,
    check_rating,
    rating_makes_lead,
    staff_scope,
)
from domain.places import Gazetteer, InstitutionKind, PlaceLevel
from domain.privacy import mask_free_text
from domain.staff import TitleLevel
from storage.tables import (
    AbsenceRow,
    CircuitExpertRow,
    CircuitRow,
    CircuitWorkRow,
    DashboardCredentialRow,
    DashboardSessionRow,
    InstitutionRow,
    KeyPhysicianRow,
    LeadRow,
    LeaveRow,
    OrderRow,
    RatingRow,
    StaffRow,
    YearlyTargetRow,
)

CHINA = ZoneInfo("Asia/Shanghai")


def china_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of 00:00 on ``first`` and of 24:00 on ``last``, Sanming time."""
    start = datetime.combine(first, time(0), CHINA).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), CHINA).astimezone(UTC)
    return start, end


class LedgerRepository:
    """Everything the ledgers, reports and dashboard read and write, on one unit of work's session."""

    def __init__(self, uow):
        self.uow = uow

    @property
    def s(self) -> Session:
        return self.uow.session

    # -- facts for the ledger -------------------------------------------------------------------------------

    def _circuit_filter(self, q, first: date, last: date, scope: Scope):
        q = q.where(col(CircuitRow.day) >= first, col(CircuitRow.day) <= last, col(CircuitRow.status) != "cancelled")
        if scope.place_codes is not None:
            q = q.where(col(CircuitRow.place_code).in_(sorted(scope.place_codes)))
        return q

    def circuit_facts(self, first: date, last: date, scope: Scope) -> list[CircuitFact]:
        """Circuits (not cancelled) from ``first`` to ``last`` in scope, with their experts and absences."""
        rows = self.s.exec(
            self._circuit_filter(
                select(  # type: ignore[call-overload]  # more columns than sqlmodel's typed overloads
                    col(CircuitRow.id),
                    col(CircuitRow.hospital_code),
                    col(CircuitRow.place_code),
                    col(CircuitRow.day),
                    col(CircuitRow.half_day),
                    col(CircuitRow.level),
                    col(CircuitRow.status),
                ),
                first,
                last,
                scope,
            )
        ).all()
        experts: dict[int, list[int]] = defaultdict(list)
        q = select(CircuitExpertRow.circuit_id, CircuitExpertRow.staff_id).join(
            CircuitRow, col(CircuitRow.id) == col(CircuitExpertRow.circuit_id)
        )
        for cid, sid in self.s.exec(self._circuit_filter(q, first, last, scope)):
            experts[cid].append(sid)
        absent: dict[int, dict[int, str | None]] = defaultdict(dict)
        q2 = select(AbsenceRow.circuit_id, AbsenceRow.staff_id, AbsenceRow.reason).join(
            CircuitRow, col(CircuitRow.id) == col(AbsenceRow.circuit_id)
        )
        for cid, sid, reason in self.s.exec(self._circuit_filter(q2, first, last, scope)):
            absent[cid][sid] = reason
        return [
            CircuitFact(cid, hosp, place, day, half, level, status, tuple(sorted(experts[cid])), absent.get(cid, {}))
            for cid, hosp, place, day, half, level, status in rows
            if cid is not None
        ]

    def order_tallies(self, first: date, last: date, scope: Scope) -> list[tuple[int, int | None, str, bool, int]]:
        """Orders on circuits in range: (circuit, assigned expert, status, special population, count)."""
        special = col(OrderRow.special_populations) != ""
        q = (
            select(  # type: ignore[call-overload]  # more columns than sqlmodel's typed overloads
                col(OrderRow.circuit_id),
                col(OrderRow.assigned_expert_id),
                col(OrderRow.status),
                special,
                sa.func.count(),
            )
            .join(CircuitRow, col(CircuitRow.id) == col(OrderRow.circuit_id))
            .group_by(col(OrderRow.circuit_id), col(OrderRow.assigned_expert_id), col(OrderRow.status), special)
        )
        return [
            (int(c), e, st, bool(sp), int(n))
            for c, e, st, sp, n in self.s.exec(self._circuit_filter(q, first, last, scope))
        ]

    def work_tallies(self, first: date, last: date, scope: Scope) -> list[tuple[int, int, str, int, int]]:
        """Circuit work in range: (circuit, recorded by, kind, records, head count)."""
        q = (
            select(  # type: ignore[call-overload]  # more columns than sqlmodel's typed overloads
                col(CircuitWorkRow.circuit_id),
                col(CircuitWorkRow.recorded_by_staff_id),
                col(CircuitWorkRow.kind),
                sa.func.count(),
                sa.func.sum(CircuitWorkRow.count),
            )
            .join(CircuitRow, col(CircuitRow.id) == col(CircuitWorkRow.circuit_id))
            .group_by(
                col(CircuitWorkRow.circuit_id), col(CircuitWorkRow.recorded_by_staff_id), col(CircuitWorkRow.kind)
            )
        )
        return [
            (int(c), int(s), k, int(n), int(h or 0))
            for c, s, k, n, h in self.s.exec(self._circuit_filter(q, first, last, scope))
        ]

    def staff_facts(self, ids: Iterable[int]) -> dict[int, StaffFact]:
        """Name, code, institution and title of these staff."""
        wanted = sorted(set(ids))
        out: dict[int, StaffFact] = {}
        for i in range(0, len(wanted), 500):
            q = select(  # type: ignore[call-overload]  # more columns than sqlmodel's typed overloads
                col(StaffRow.id),
                col(StaffRow.code),
                col(StaffRow.name),
                col(StaffRow.institution_code),
                col(StaffRow.title),
            ).where(col(StaffRow.id).in_(wanted[i : i + 500]))
            for sid, code, name, inst, title in self.s.exec(q):
                assert sid is not None
                out[sid] = StaffFact(sid, code, name, inst, title, TitleLevel(title).intermediate_or_above)
        return out

    def key_physicians(self, year: int) -> frozenset[int]:
        """Staff marked as key physicians (骨干医师) for ``year``."""
        return frozenset(self.s.exec(select(KeyPhysicianRow.staff_id).where(col(KeyPhysicianRow.year) == year)))

    def set_key_physician(self, staff_id: int, year: int, key: bool = True) -> None:
        """Mark (or unmark) a key physician for a year."""
        row = self.s.get(KeyPhysicianRow, (staff_id, year))
        if key and row is None:
            self.s.add(KeyPhysicianRow(staff_id=staff_id, year=year))
        elif not key and row is not None:
            self.s.delete(row)

    def excused_days(self, first: date, last: date) -> frozenset[tuple[int, date]]:
        """(staff, day) on recorded leave with a reason: absence from a circuit on such a day is excused."""
        q = select(col(LeaveRow.staff_id), col(LeaveRow.day)).where(
            col(LeaveRow.day) >= first,
            col(LeaveRow.day) <= last,
            col(LeaveRow.reason).is_not(None),
            col(LeaveRow.reason) != "",
        )
        return frozenset((s, d) for s, d in self.s.exec(q))

    def served_on(self, circuit_id: int, staff_id: int) -> bool:
        """True if ``staff_id`` left a trace of working on the circuit: an order they marked served or no-show,
        an outcome they noted, or other work (lectures, training …) they recorded."""
        from storage.tables import AuditRow, OrderOutcomeRow, OrderRow

        numbers = select(OrderRow.number).where(col(OrderRow.circuit_id) == circuit_id)
        marked = select(AuditRow.id).where(
            col(AuditRow.entity) == "order",
            col(AuditRow.entity_id).in_(numbers),
            col(AuditRow.action).in_(["mark_served", "mark_no_show"]),
            col(AuditRow.actor_staff_id) == staff_id,
        )
        orders = select(OrderRow.id).where(col(OrderRow.circuit_id) == circuit_id)
        noted = select(OrderOutcomeRow.order_id).where(
            col(OrderOutcomeRow.order_id).in_(orders), col(OrderOutcomeRow.recorded_by_staff_id) == staff_id
        )
        worked = select(CircuitWorkRow.id).where(
            col(CircuitWorkRow.circuit_id) == circuit_id, col(CircuitWorkRow.recorded_by_staff_id) == staff_id
        )
        return any(self.s.exec(q.limit(1)).first() is not None for q in (marked, noted, worked))

    def record_absence(
        self, circuit_id: int, staff_id: int, reason: str | None, by_staff_id: int | None, now: datetime
    ) -> None:
        """Record that ``staff_id`` missed circuit ``circuit_id`` (reason may be empty: absence without reason)."""
        circuit = self.s.get(CircuitRow, circuit_id)
        if circuit is None:
            raise DomainError("circuit.unknown", id=circuit_id)
        on = self.s.get(CircuitExpertRow, (circuit_id, staff_id))
        if on is None:
            raise DomainError("absence.not_on_circuit", circuit=circuit_id)
        if circuit.day > now.astimezone(CHINA).date():
            raise DomainError("absence.not_held", circuit=circuit_id, date=month_day(circuit.day))
        if self.served_on(circuit_id, staff_id):
            raise DomainError("absence.served", circuit=circuit_id)
        row = self.s.get(AbsenceRow, (circuit_id, staff_id)) or AbsenceRow(circuit_id=circuit_id, staff_id=staff_id)
        row.reason = (reason or "").strip()[:200] or None
        row.recorded_by_staff_id, row.at = by_staff_id, now
        self.s.add(row)

    def funnel_counts(self, first: date, last: date, scope: Scope) -> dict[tuple[str, str | None], int]:
        """Orders filed from ``first`` to ``last`` (Sanming days) in scope, per (status, disposition)."""
        start, end = china_bounds(first, last)
        q = select(OrderRow.status, OrderRow.disposition, sa.func.count()).where(
            col(OrderRow.created_at) >= start, col(OrderRow.created_at) < end
        )
        if scope.place_codes is not None:
            q = q.where(col(OrderRow.village_code).in_(sorted(scope.place_codes)))
        q = q.group_by(col(OrderRow.status), col(OrderRow.disposition))
        return {(st, disp): int(n) for st, disp, n in self.s.exec(q)}

    def waits(self, first: date, last: date, scope: Scope) -> list[int]:
        """Days from filing (Sanming date) to the circuit, for orders served on circuits in range."""
        q = (
            select(col(OrderRow.created_at), col(CircuitRow.day))
            .join(CircuitRow, col(CircuitRow.id) == col(OrderRow.circuit_id))
            .where(col(OrderRow.status) == "served")
        )
        return [
            (day - created.astimezone(CHINA).date()).days
            for created, day in self.s.exec(self._circuit_filter(q, first, last, scope))
        ]

    def institution_kinds(self) -> dict[str, InstitutionKind]:
        """Every institution's kind."""
        return {c: InstitutionKind(k) for c, k in self.s.exec(select(InstitutionRow.code, InstitutionRow.kind))}

    # -- targets --------------------------------------------------------------------------------------------

    def targets(self, place_code: str, year: int, *, city: bool) -> tuple[Targets, bool]:
        """The year's targets for a place, and whether any figure was set for it.

        A city falls back to the 2023 Sanming defaults, a county to "not set".
        """
        rows = self.s.exec(
            select(YearlyTargetRow.key, YearlyTargetRow.value).where(
                col(YearlyTargetRow.place_code) == place_code, col(YearlyTargetRow.year) == year
            )
        ).all()
        base = DEFAULT_TARGETS if city else Targets.unset()
        return base.with_overrides({k: v for k, v in rows if k in TARGET_KEYS}), bool(rows)

    def set_target(self, place_code: str, year: int, key: str, value: float) -> None:
        """Set one yearly target figure."""
        if key not in TARGET_KEYS:
            raise DomainError("ledger.unknown_target", name=key)
        if value < 0:
            raise DomainError("ledger.negative_target")
        row = self.s.get(YearlyTargetRow, (place_code, year, key)) or YearlyTargetRow(
            place_code=place_code, year=year, key=key, value=value
        )
        row.value = float(value)
        self.s.add(row)

    # -- ratings and leads ----------------------------------------------------------------------------------

    def rating_of(self, order_id: int) -> RatingRow | None:
        """The rating of an order, if given."""
        return self.s.exec(select(RatingRow).where(col(RatingRow.order_id) == order_id)).first()

    def add_rating(
        self,
        order_id: int,
        score: int,
        comment: str | None,
        *,
        source: str,
        now: datetime,
        account_id: int | None = None,
        staff_id: int | None = None,
        complaint: bool = False,
    ) -> tuple[int, int | None]:
        """Store a rating of a served order (once); a low one or a complaint opens a lead. Returns (rating, lead)."""
        score, comment = check_rating(score, comment)
        order = self.s.get(OrderRow, order_id)
        if order is None or order.status != "served":
            raise DomainError("rating.not_served")
        if self.rating_of(order_id) is not None:
            raise DomainError("rating.already")
        row = RatingRow(
            order_id=order_id,
            score=score,
            comment=mask_free_text(comment),
            complaint=complaint,
            source=source,
            account_id=account_id,
            staff_id=staff_id,
            at=now,
        )
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        lead_id = None
        if rating_makes_lead(score, complaint):
            hospital = None
            if order.circuit_id:
                c = self.s.get(CircuitRow, order.circuit_id)
                hospital = c.hospital_code if c else None
            summary = f"订单{order.number}评分{score}分" + (f"：{comment}" if comment else "")
            lead_id = self.add_lead(
                LeadSource.COMPLAINT if complaint else LeadSource.RATING,
                summary[:500],
                now=now,
                place_code=order.village_code,
                institution_code=hospital,
                order_id=order_id,
                rating_id=row.id,
                created_by_staff_id=staff_id,
            )
        return row.id, lead_id

    def add_lead(
        self,
        source: LeadSource,
        summary: str,
        *,
        now: datetime,
        place_code: str | None = None,
        institution_code: str | None = None,
        order_id: int | None = None,
        rating_id: int | None = None,
        owner_staff_id: int | None = None,
        created_by_staff_id: int | None = None,
        hotline_ticket: str | None = None,
        due: date | None = None,
    ) -> int:
        """Open a problem lead; its rectification deadline defaults to 30 days on."""
        text = (summary or "").strip()
        if not text:
            raise DomainError("lead.empty")
        row = LeadRow(
            source=source.value,
            order_id=order_id,
            rating_id=rating_id,
            place_code=place_code,
            institution_code=institution_code,
            summary=(mask_free_text(text) or "")[:500],
            hotline_ticket=hotline_ticket,
            owner_staff_id=owner_staff_id,
            status=LeadStatus.OPEN.value,
            due_date=due or (now.astimezone(CHINA).date() + timedelta(days=RECTIFY_DAYS)),
            created_by_staff_id=created_by_staff_id,
            created_at=now,
            updated_at=now,
        )
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        return row.id

    def update_lead(
        self,
        lead_id: int,
        *,
        now: datetime,
        status: LeadStatus | None = None,
        owner_staff_id: int | None = None,
        resolution: str | None = None,
    ) -> LeadRow:
        """Assign an owner, move the status or record the resolution of a lead."""
        row = self.s.get(LeadRow, lead_id)
        if row is None:
            raise DomainError("lead.unknown", id=lead_id)
        current = LeadStatus(row.status)
        new = status or current
        text = (mask_free_text((resolution or "").strip()) or "")[:500] or row.resolution
        check_lead_change(current, new, text)
        if owner_staff_id is not None:
            row.owner_staff_id = owner_staff_id
        row.status, row.resolution, row.updated_at = new.value, text, now
        if new in (LeadStatus.RESOLVED, LeadStatus.CLOSED) and row.resolved_at is None:
            row.resolved_at = now
        self.s.add(row)
        return row

    def leads(self, first: date, last: date, scope: Scope, *, open_before: bool = True) -> list[Lead]:
        """Leads filed in the period (and, with ``open_before``, older ones still not rectified) in scope."""
        start, end = china_bounds(first, last)
        in_period = sa.and_(col(LeadRow.created_at) >= start, col(LeadRow.created_at) < end)
        cond = in_period
        if open_before:
            still_open = sa.and_(
                col(LeadRow.created_at) < start,
                col(LeadRow.status).in_([LeadStatus.OPEN.value, LeadStatus.IN_PROGRESS.value]),
            )
            cond = sa.or_(in_period, still_open)
        q = (
            select(LeadRow, OrderRow.number, RatingRow.score, StaffRow.name)
            .join(OrderRow, col(OrderRow.id) == col(LeadRow.order_id), isouter=True)
            .join(RatingRow, col(RatingRow.id) == col(LeadRow.rating_id), isouter=True)
            .join(StaffRow, col(StaffRow.id) == col(LeadRow.owner_staff_id), isouter=True)
            .where(cond)
            .order_by(col(LeadRow.created_at), col(LeadRow.id))
        )
        out = []
        for r, number, score, owner in self.s.exec(q):
            outside = scope.place_codes is not None and r.place_code not in scope.place_codes
            if outside and not (r.institution_code and r.institution_code in scope.institution_codes):
                continue
            assert r.id is not None
            out.append(
                Lead(
                    r.id,
                    LeadSource(r.source),
                    r.created_at.astimezone(CHINA).date(),
                    r.place_code,
                    r.institution_code,
                    number,
                    score,
                    r.summary,
                    owner,
                    LeadStatus(r.status),
                    r.resolution,
                    r.due_date,
                    r.resolved_at.astimezone(CHINA).date() if r.resolved_at else None,
                )
            )
        return out

    def unrated_served(
        self, *, post_code: str | None = None, resident_id: int | None = None, since: datetime, limit: int = 10
    ) -> list[OrderRow]:
        """Served orders (of a post or a resident) updated since ``since`` that have no rating yet."""
        q = (
            select(OrderRow)
            .join(RatingRow, col(RatingRow.order_id) == col(OrderRow.id), isouter=True)
            .where(col(OrderRow.status) == "served", col(RatingRow.id).is_(None), col(OrderRow.updated_at) >= since)
        )
        if post_code is not None:
            q = q.where(col(OrderRow.post_code) == post_code)
        if resident_id is not None:
            q = q.where(col(OrderRow.resident_id) == resident_id)
        return list(self.s.exec(q.order_by(col(OrderRow.updated_at).desc()).limit(limit)))

    # -- dashboard logins -----------------------------------------------------------------------------------

    def credential(self, staff_id: int) -> DashboardCredentialRow | None:
        """The dashboard password row of a member of staff."""
        return self.s.get(DashboardCredentialRow, staff_id)

    def set_password_hash(self, staff_id: int, password_hash: str, now: datetime) -> None:
        """Store a new password hash; clears failures and lockouts and ends every session."""
        row = self.s.get(DashboardCredentialRow, staff_id) or DashboardCredentialRow(
            staff_id=staff_id, password_hash=""
        )
        row.password_hash, row.set_at, row.failed_attempts, row.locked_until = password_hash, now, 0, None
        self.s.add(row)
        self.s.exec(
            sa.update(DashboardSessionRow)
            .where(col(DashboardSessionRow.staff_id) == staff_id, col(DashboardSessionRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )

    def note_login(
        self, row: DashboardCredentialRow, ok: bool, now: datetime, *, lock_after: int, lock_for: timedelta
    ) -> None:
        """Count a failed attempt (locking the account after ``lock_after``) or reset the count on success."""
        if ok:
            row.failed_attempts, row.locked_until = 0, None
        else:
            row.failed_attempts += 1
            if row.failed_attempts >= lock_after:
                row.locked_until, row.failed_attempts = now + lock_for, 0
        self.s.add(row)

    def add_session(self, token_hash: str, staff_id: int, now: datetime, ttl: timedelta) -> None:
        """Start a dashboard session."""
        self.s.add(
            DashboardSessionRow(
                token_hash=token_hash, staff_id=staff_id, created_at=now, expires_at=now + ttl, last_seen_at=now
            )
        )

    def session(self, token_hash: str, now: datetime, idle: timedelta) -> int | None:
        """The staff id of a live session (not revoked, not expired, not idle too long), touching it; else None."""
        row = self.s.get(DashboardSessionRow, token_hash)
        if row is None or row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + idle <= now:
            return None
        row.last_seen_at = now
        self.s.add(row)
        return row.staff_id

    def end_session(self, token_hash: str, now: datetime) -> None:
        """Log out."""
        row = self.s.get(DashboardSessionRow, token_hash)
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            self.s.add(row)


# --- assembling a ledger ----------------------------------------------------------------------------------


def unit_of_places(gaz: Gazetteer, codes: Iterable[str]) -> dict[str, str]:
    """Each place's supported unit: its township (or the county itself for a county-level place)."""
    out = {}
    for code in codes:
        if code not in gaz:
            continue
        p = gaz.place(code)
        if p.level is PlaceLevel.COUNTY:
            out[code] = code
        else:
            t = gaz.ancestor_at(code, PlaceLevel.TOWNSHIP)
            out[code] = t.code if t else code
    return out


def load_ledger(uow, period: Period, as_of: date, scope: Scope, gaz: Gazetteer | None = None) -> Ledger:
    """Read the year up to the period's end in scope and build the ``Ledger``."""
    repo = LedgerRepository(uow)
    gaz = gaz or uow.reference.gazetteer()
    first, last = period.year_first, period.last
    circuits = repo.circuit_facts(first, last, scope)
    orders = repo.order_tallies(first, last, scope)
    work = repo.work_tallies(first, last, scope)
    ids = {s for c in circuits for s in c.expert_ids} | {s for _, s, *_ in orders if s} | {s for _, s, *_ in work}
    places = {c.place_code for c in circuits}
    return Ledger(
        LedgerInputs(
            period=period,
            as_of=as_of,
            circuits=circuits,
            orders=orders,
            work=work,
            staff=repo.staff_facts(ids),
            institution_kinds=repo.institution_kinds(),
            place_levels={c: gaz.place(c).level for c in places if c in gaz},
            unit_of_place=unit_of_places(gaz, places),
            key_physicians=repo.key_physicians(period.first.year),
            excused=repo.excused_days(first, last),
        )
    )


def supported_places(uow, scope: Scope, day: date) -> list[tuple[str, PlaceLevel]]:
    """Places whose frequency rule applies: those of institutions someone supports on ``day``, in scope."""
    jur = uow.reference.jurisdiction()
    gaz = uow.reference.gazetteer()
    supported = {r.supported_code for r in uow.reference.relations() if r.active_on(day)}
    out = set()
    for code in supported:
        inst = jur.institutions.get(code)
        if inst is None or inst.place_code not in gaz:
            continue
        if scope.place_codes is not None and inst.place_code not in scope.place_codes:
            continue
        level = gaz.place(inst.place_code).level
        if level in (PlaceLevel.COUNTY, PlaceLevel.TOWNSHIP, PlaceLevel.VILLAGE):
            out.add((inst.place_code, level))
    return sorted(out)


def visits_by_place(circuits: Iterable[CircuitFact], as_of: date) -> dict[str, list[date]]:
    """Days each place was visited (held circuits up to ``as_of``)."""
    out: dict[str, list[date]] = defaultdict(list)
    for c in circuits:
        if c.status != "cancelled" and c.day <= as_of:
            out[c.place_code].append(c.day)
    return out


def all_places(uow) -> list:
    """Every place, all levels."""
    return [p for level in PlaceLevel for p in uow.reference.places_at(level)]


def home_city(uow) -> str | None:
    """The city of the health commission (the first commission at city level), else the first city."""
    cities = {p.code for p in uow.reference.places_at(PlaceLevel.CITY)}
    for inst in uow.reference.institutions(InstitutionKind.HEALTH_COMMISSION):
        if inst.place_code in cities:
            return inst.place_code
    return min(cities) if cities else None


def area_scope_for(uow, code: str | None) -> Scope:
    """The scope of a county (or city) report; None: the commission's city."""
    code = code or home_city(uow)
    if code is None:
        raise DomainError("ledger.bad_area", code="")
    return area_scope(all_places(uow), uow.reference.institutions(), code)


def staff_scope_for(uow, staff_id: int, day: date) -> Scope | None:
    """What a dashboard user may see (None: nothing — not an admin of a commission, nor a hospital reviewer)."""
    st = uow.staff.get(staff_id)
    if st is None or not st.active:
        return None
    jur = uow.reference.jurisdiction()
    inst = jur.institutions.get(st.institution_code)
    if inst is None:
        return None
    return staff_scope(
        inst, {r.value for r in st.roles}, all_places(uow), jur.institutions.values(), jur.network, day, home_city(uow)
    )
