"""Ledger reading use cases: who may see which places, the ledger of a scope and period, a report's figures.

The dashboard, its report download and ``python -m bot report`` all call these; none of them reads the ledger
repository itself. Who sees what is decided here, once:

* on the dashboard, an active administrator of a health commission reads their city (or their county), an active
  reviewer of a hospital the places their hospital supports (directly or down the chain) and its own; nobody else
  reads anything;
* such a ``Reader`` may narrow the view to a city or county only when it lies wholly within what they may see
  (``PermissionDenied`` otherwise, the same whether the code exists or not), and only an administrator's narrowed
  view carries that area's yearly targets;
* the command line (``reader`` None) is run by whoever holds the database, and may ask for any city or county;
  none asked for: the city of the health commission.

Like every service, these never commit: a refusal is audited by the caller, who knows where it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from domain.catalogue import CatalogueStanding
from domain.errors import DomainError, PermissionDenied
from domain.ledgers import (
    Actuals,
    CircuitLedgerRow,
    FunnelStage,
    Lead,
    Ledger,
    OverduePlace,
    Period,
    PhysicianMonthRow,
    ReferralLedgerRow,
    Scope,
    SlotUse,
    StaffFact,
    TargetProgress,
    Targets,
    Violation,
    WaitStats,
    area_scope,
    frequency_overdue,
    order_funnel,
    referral_ledger,
    wait_stats,
)
from domain.places import Gazetteer, InstitutionKind, PlaceLevel
from domain.remote import CHINA, RemoteLedgerRow, remote_ledger
from domain.staff import Role, Staff
from handlers.services.catalogue import catalogue_standings
from storage.ports import UnitOfWork
from storage.repositories.ledgers import (
    all_places,
    area_scope_for,
    load_ledger,
    staff_scope_for,
    supported_places,
    visits_by_place,
)

__all__ = [
    "DASHBOARD_ROLES",
    "Reader",
    "ReportData",
    "ledger_for",
    "may_use_dashboard",
    "reader_of",
    "referral_figures",
    "report_figures",
    "scope_for",
]

DASHBOARD_ROLES = frozenset({Role.ADMIN, Role.HOSPITAL_REVIEWER})


def may_use_dashboard(st: Staff) -> bool:
    """Dashboard accounts are active administrators and hospital reviewers."""
    return st.active and bool(st.roles & DASHBOARD_ROLES)


@dataclass(frozen=True, slots=True)
class Reader:
    """A member of staff reading ledgers, in the role that lets them, with the places they may see."""

    staff: Staff
    role: Role  # ADMIN (of a health commission) or HOSPITAL_REVIEWER
    institution_name: str
    scope: Scope

    @property
    def staff_id(self) -> int:
        """The member of staff's id (a reader is always a stored member of staff)."""
        assert self.staff.id is not None
        return self.staff.id


def reader_of(uow: UnitOfWork, staff_id: int, day: date) -> Reader | None:
    """Who ``staff_id`` reads ledgers as on ``day``; None when they may read nothing (unknown, inactive, neither
    a commission's administrator nor a hospital's reviewer)."""
    st = uow.staff.get(staff_id)
    scope = staff_scope_for(uow, staff_id, day) if st else None
    if st is None or scope is None or not may_use_dashboard(st):
        return None
    inst = uow.reference.institution(st.institution_code)
    commission = inst is not None and inst.kind is InstitutionKind.HEALTH_COMMISSION
    role = Role.ADMIN if Role.ADMIN in st.roles and commission else Role.HOSPITAL_REVIEWER
    return Reader(st, role, inst.name if inst else st.institution_code, scope)


def scope_for(uow: UnitOfWork, reader: Reader | None, area: str | None = None) -> Scope:
    """The places a ledger or report covers: the reader's own, or the city or county ``area`` within them.

    ``reader`` None is the command line: any city or county (``DomainError`` for an unknown one), none given the
    commission's city. A reader asking for an area not wholly theirs gets ``PermissionDenied``.
    """
    if reader is None:
        return area_scope_for(uow, area)
    if area is None:
        return reader.scope
    try:
        wanted = area_scope(all_places(uow), uow.reference.institutions(), area)
    except DomainError:
        wanted = None  # an unknown code is refused exactly like another county's: codes are not revealed
    mine = reader.scope
    wholly_mine = (
        wanted is not None
        and wanted.place_codes is not None
        and mine.place_codes is not None
        and wanted.place_codes <= mine.place_codes
    )
    if wanted is None or not wholly_mine:
        # another city, another county, or more than a hospital's supported places
        raise PermissionDenied("ledger.outside_scope", area=area)
    return Scope(
        wanted.label,
        wanted.place_codes,
        wanted.institution_codes & mine.institution_codes,
        wanted.target_place if reader.role is Role.ADMIN else None,
        wanted.is_city,
    )


def ledger_for(
    uow: UnitOfWork, reader: Reader | None, period: Period, as_of: date, area: str | None = None
) -> Ledger:
    """The year's ledger up to the period's end, for the places ``scope_for`` lets this reader see."""
    return load_ledger(uow, period, as_of, scope_for(uow, reader, area))


@dataclass(slots=True)
class ReportData:
    """Everything one report shows, read in one unit of work."""

    period: Period
    as_of: date
    scope: Scope
    generated_at: datetime
    targets: Targets
    targets_set: bool
    physician_rows: list[PhysicianMonthRow]
    circuit_rows: list[CircuitLedgerRow]
    progress: list[TargetProgress]
    monthly: list[tuple[date, Actuals]]
    violations: list[Violation]
    overdue: list[OverduePlace]
    leads: list[Lead]
    funnel: list[FunnelStage]
    waits: WaitStats
    staff: dict[int, StaffFact]
    gazetteer: Gazetteer
    institution_names: dict[str, str]
    unit_names: dict[str, str] = field(default_factory=dict)
    # First-diagnosis catalogues (issue 20): each center's size against 80/50, matching orders handled locally.
    catalogue: list[CatalogueStanding] = field(default_factory=list)
    remote: list[RemoteLedgerRow] = field(default_factory=list)  # remote consultations per county and hospital
    referrals: list[ReferralLedgerRow] = field(default_factory=list)  # 双向转诊, per county and hospital
    slot_use: list[SlotUse] = field(default_factory=list)  # reserved slots offered and booked, per hospital

    def place_name(self, code: str | None) -> str:
        """A place's name (or its code)."""
        p = self.gazetteer.get(code) if code else None
        return p.name if p else (code or "")

    def place_level(self, code: str | None) -> PlaceLevel | None:
        """A place's level (None if unknown)."""
        p = self.gazetteer.get(code) if code else None
        return p.level if p else None

    def staff_name(self, sid: int | None) -> str:
        """A member of staff's name (or their id)."""
        st = self.staff.get(sid) if sid is not None else None
        return st.name if st else ("" if sid is None else str(sid))


def report_figures(
    uow: UnitOfWork,
    reader: Reader | None,
    period: Period,
    as_of: date,
    now: datetime,
    area: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportData:
    """The period's ledgers, targets, rule checks, leads, funnel and waits, for the places ``scope_for`` lets this
    reader see (``PermissionDenied`` before anything is read when the area is not theirs)."""
    scope = scope_for(uow, reader, area)
    step = progress or (lambda label: None)
    gaz = uow.reference.gazetteer()
    institutions = uow.reference.institutions()
    repo = uow.ledgers
    ledger = load_ledger(uow, period, as_of, scope, gaz)
    step("台账")
    targets, targets_set = repo.targets(scope.target_place or "", period.first.year, city=scope.is_city)
    if scope.target_place is None:
        targets, targets_set = Targets.unset(), False
    end = min(as_of, period.last)
    places = supported_places(uow, scope, end)
    overdue = frequency_overdue(places, visits_by_place(ledger.inp.circuits, end), period.first, period.last, as_of)
    step("频次")
    leads = repo.leads(period.first, period.last, scope)
    funnel = order_funnel(repo.funnel_counts(period.first, period.last, scope))
    waits = wait_stats(repo.waits(period.first, period.last, scope))
    step("线索")
    catalogue = catalogue_standings(uow, scope.place_codes, period.first, min(as_of, period.last), end)
    referrals, slot_use = referral_figures(uow, scope, period.first, end, gaz)
    unit_names: dict[str, str] = {}
    for inst in institutions:
        if inst.kind.is_grassroots_center or inst.kind.value == "county_hospital":
            unit_names.setdefault(inst.place_code, inst.name)
    return ReportData(
        period=period,
        as_of=end,
        scope=scope,
        generated_at=now,
        targets=targets,
        targets_set=targets_set,
        physician_rows=ledger.physician_rows(),
        circuit_rows=ledger.circuit_rows(),
        progress=ledger.progress(targets),
        monthly=ledger.monthly_cumulative(),
        violations=ledger.violations(),
        overdue=overdue,
        leads=leads,
        funnel=funnel,
        waits=waits,
        staff=dict(ledger.inp.staff),
        gazetteer=gaz,
        institution_names={i.code: i.name for i in institutions},
        unit_names=unit_names,
        catalogue=catalogue,
        remote=remote_figures(uow, scope, period),
        referrals=referrals,
        slot_use=slot_use,
    )


def remote_figures(uow: UnitOfWork, scope: Scope, period: Period) -> list[RemoteLedgerRow]:
    """Remote consultations set for the period (Sanming's days) in the scope: held, cancelled, no-shows … per
    county and hospital. A session is in scope by its county or the institution where the resident sat."""
    start = datetime.combine(period.first, time(), CHINA)
    end = datetime.combine(period.last + timedelta(days=1), time(), CHINA)
    places, institutions = scope.place_codes, scope.institution_codes
    return remote_ledger(
        (county, hospital, status, n) for county, hospital, site, status, n in uow.remote.counts(start, end)
        if places is None or county in places or site in institutions)


def referral_figures(uow: UnitOfWork, scope: Scope, first: date, last: date,
                     gaz: Gazetteer) -> tuple[list[ReferralLedgerRow], list[SlotUse]]:
    """Two-way referral (issue 20) in a scope and period: up- and down-referrals, no-shows and overdue follow-ups per
    county and hospital (by where the resident lives), and the use of the slots of the hospitals in scope."""
    villages = scope.place_codes

    def county_of(village: str) -> str:
        county = gaz.ancestor_at(village, PlaceLevel.COUNTY)
        return county.code if county else village

    rows = referral_ledger(uow.referrals.ledger_facts(first, last, villages), county_of,
                           uow.referrals.overdue_followups(first, last, villages), first, last)
    hospitals = None if villages is None else scope.institution_codes
    return rows, uow.referrals.slot_use(first, last, hospitals)
