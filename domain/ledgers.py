"""Ledgers, targets and rule checks for the health commission (工作台账、目标、问题线索台账) — pure computations.

Everything here is computed from what the service already records; storage hands in plain facts.

Definitions (what each figure counts), so a clerk can check them by hand; the targets are seed 003's words
[003 §一, §三(二)], and ``handlers.texts_ledgers.TARGET_DEFINITIONS`` writes each next to its figure in the workbook:

* A circuit is **held** if it is not cancelled and its day is on or before the report's "as of" day. A
  physician **attended** a held circuit unless an absence is recorded for them on it.
* **Sent down (医师下基层)**: a physician of a county-level or higher hospital (county general, city or provincial
  hospital) attending a held circuit at a township health center or community health center, i.e. at a
  township-level place ("进入……乡镇卫生院、社区卫生服务中心进行医疗帮扶"). Not sent down: a city or provincial expert
  at a county hospital (对口帮扶, its own figure), the mobile hospital in a village (its own figure), a township
  doctor's village round, a hospital doctor's village visit.
* **Physicians sent down (146)**: distinct physicians of intermediate title or above (中级及以上) sent down at least
  once; **city share (30 %)**: those of city hospitals (市属医院), in per cent of them.
* **Person-visits (1606 人次)**: distinct (physician counted above, day) sent down.
* **Lectures (场次), training (人次), patients (诊疗人次), special-population consultations, home visits**: the work of
  the same activity, recorded on circuits at township-level places by hospital physicians (or an order served
  there without a named expert). Patients: served orders plus the head counts of home visits and special-population
  consultations; special-population consultations: served orders of residents in a special population plus the
  ``special_consult`` counts; home visits: ``home_visit`` counts; lectures: one per ``lecture`` record (the chat
  asks an expert for the number of lectures and writes one record each); training: ``training`` head counts.
* **Tertiary → county (20 人次)**: distinct (physician of a city or provincial hospital, day) attended at a
  county-level place.
* **Mobile hospital**: quarters (of the year so far) with at least one held mobile circuit.
* **Work ledger rows** (per physician, unit and month; per circuit) list every held circuit, whatever it counts for.
* **Rules**: the day a month at the supported unit [003 §二(一)] is owed by physicians sent down (any title) and
  counted at township-level places; a key physician's 30 days a year [003 §二(三)] count days at township and village
  places (the grassroots, the mobile hospital included); absences and the mobile hospital as below.

Progress runs from 1 January to the "as of" day; the projected completion date assumes the pace so far
(actual ÷ days elapsed) continues.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from enum import StrEnum

from domain.circuits import month_day
from domain.errors import DomainError
from domain.places import Institution, InstitutionKind, Place, PlaceLevel
from domain.support import SupportNetwork

ONE_DAY = timedelta(days=1)
TERTIARY = frozenset({InstitutionKind.CITY_HOSPITAL, InstitutionKind.PROVINCIAL_HOSPITAL})  # 三级医院


# --- periods ----------------------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    """How long a reporting period is."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: a month, a quarter or a year, first and last day inclusive."""

    kind: PeriodKind
    first: date
    last: date

    @property
    def label(self) -> str:
        """The period in Chinese: 2026年11月, 2026年第4季度, 2026年."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.first.year}年{self.first.month}月"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.first.year}年第{(self.first.month - 1) // 3 + 1}季度"
        return f"{self.first.year}年"

    @property
    def code(self) -> str:
        """The period as typed on the command line: 2026-11, 2026-Q4, 2026."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return str(self.first.year)

    @property
    def year_first(self) -> date:
        """1 January of the period's year."""
        return date(self.first.year, 1, 1)

    @property
    def year_last(self) -> date:
        """31 December of the period's year."""
        return date(self.first.year, 12, 31)

    def months(self) -> list[date]:
        """The first day of every month in the period."""
        return [date(self.first.year, m, 1) for m in range(self.first.month, self.last.month + 1)]


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0?[1-9]|1[0-2])|[Qq]([1-4])))?$")


def month_last(first: date) -> date:
    """The last day of the month that starts on ``first``."""
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - ONE_DAY


def parse_period(text: str) -> Period:
    """``2026-11`` (a month), ``2026-Q4`` (a quarter) or ``2026`` (a year); else ``DomainError``."""
    m = _PERIOD.match((text or "").strip())
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise DomainError("ledger.bad_period", text=text)
    year = int(m.group(1))
    if m.group(2):
        first = date(year, int(m.group(2)), 1)
        return Period(PeriodKind.MONTH, first, month_last(first))
    if m.group(3):
        q = int(m.group(3))
        first = date(year, 3 * q - 2, 1)
        return Period(PeriodKind.QUARTER, first, month_last(date(year, 3 * q, 1)))
    return Period(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))


def quarter_of(day: date) -> int:
    """1–4."""
    return (day.month - 1) // 3 + 1


# --- targets ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One yearly target: its key, Chinese label and unit."""

    key: str
    label: str
    unit: str
    projectable: bool = True  # a share is not projected to a date


TARGET_SPECS: tuple[TargetSpec, ...] = (
    TargetSpec("physicians", "下基层医师（中级及以上）", "名"),
    TargetSpec("city_share_pct", "其中市属医院医师占比", "%", projectable=False),
    TargetSpec("person_visits", "医师下基层服务", "人次"),
    TargetSpec("lectures", "学术讲座", "场次"),
    TargetSpec("training_person_times", "业务培训", "人次"),
    TargetSpec("patients", "诊疗群众", "人次"),
    TargetSpec("special_consults", "特殊人群咨询诊疗", "人次"),
    TargetSpec("home_visits", "送医上门", "人次"),
    TargetSpec("mobile_quarters", "“移动医院”巡诊（每季度≥1次）", "季度"),
    TargetSpec("tertiary_to_county", "三级医院对口帮扶县级医院", "人次"),
)
TARGET_KEYS = tuple(s.key for s in TARGET_SPECS)


@dataclass(frozen=True, slots=True)
class Targets:
    """A year's targets for a city or county; the defaults are Sanming's 2023 figures [003 §一, §三(二)]."""

    physicians: float = 146
    city_share_pct: float = 30
    person_visits: float = 1606
    lectures: float = 80
    training_person_times: float = 800
    patients: float = 7000
    special_consults: float = 800
    home_visits: float = 60
    mobile_quarters: float = 4
    tertiary_to_county: float = 20

    def value(self, key: str) -> float:
        """The target for ``key`` (0 means not set)."""
        return float(getattr(self, key))

    def with_overrides(self, overrides: Mapping[str, float]) -> Targets:
        """These targets with some figures replaced; unknown keys raise ``DomainError``."""
        unknown = set(overrides) - set(TARGET_KEYS)
        if unknown:
            raise DomainError("ledger.unknown_target", name=",".join(sorted(unknown)))
        return replace(self, **{k: float(v) for k, v in overrides.items()})

    @classmethod
    def unset(cls) -> Targets:
        """No target set (a county that has not entered its own)."""
        return cls(**{f.name: 0 for f in fields(cls)})


DEFAULT_TARGETS = Targets()


@dataclass(slots=True)
class Actuals:
    """What was achieved so far, one figure per target key."""

    physicians: float = 0
    city_share_pct: float = 0
    person_visits: float = 0
    lectures: float = 0
    training_person_times: float = 0
    patients: float = 0
    special_consults: float = 0
    home_visits: float = 0
    mobile_quarters: float = 0
    tertiary_to_county: float = 0

    def value(self, key: str) -> float:
        """The figure for ``key``."""
        return float(getattr(self, key))


@dataclass(frozen=True, slots=True)
class TargetProgress:
    """One target: how far along, and when it will be met at the current pace."""

    key: str
    label: str
    unit: str
    target: float
    actual: float
    met: bool
    projected: date | None  # None: met already, not set, nothing done yet, or a share
    on_track: bool

    @property
    def ratio(self) -> float | None:
        """actual ÷ target (None if no target is set)."""
        return self.actual / self.target if self.target else None

    @property
    def status(self) -> str:
        """完成 / 按期 / 滞后 / 未设定, for the report."""
        if not self.target:
            return "未设定"
        if self.met:
            return "已完成"
        return "预计按期" if self.on_track else "进度滞后"


def project_completion(target: float, actual: float, start: date, as_of: date) -> date | None:
    """The day ``target`` is reached if the pace since ``start`` (actual per day up to ``as_of``) continues."""
    if actual >= target or actual <= 0 or target <= 0:
        return None
    elapsed = (as_of - start).days + 1
    if elapsed <= 0:
        return None
    per_day = actual / elapsed
    return as_of + timedelta(days=math.ceil((target - actual) / per_day - 1e-9))


def target_progress(targets: Targets, actuals: Actuals, start: date, as_of: date, end: date) -> list[TargetProgress]:
    """Progress on every target from ``start`` to ``as_of``, projected against the deadline ``end``."""
    out = []
    for spec in TARGET_SPECS:
        target, actual = targets.value(spec.key), actuals.value(spec.key)
        met = bool(target) and actual >= target
        projected = project_completion(target, actual, start, as_of) if spec.projectable else None
        on_track = met or (projected is not None and projected <= end)
        out.append(TargetProgress(spec.key, spec.label, spec.unit, target, actual, met, projected, on_track))
    return out


# --- facts handed in by storage ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CircuitFact:
    """A circuit as the ledgers see it: where, when, who was planned and who was recorded absent (and why)."""

    id: int
    hospital_code: str
    place_code: str
    day: date
    half_day: str
    level: str
    status: str
    expert_ids: tuple[int, ...]
    absent: Mapping[int, str | None] = field(default_factory=dict)  # staff id -> reason (None: no reason)

    def attended_by(self) -> tuple[int, ...]:
        """Experts who were there."""
        return tuple(s for s in self.expert_ids if s not in self.absent)


@dataclass(frozen=True, slots=True)
class StaffFact:
    """A member of staff, as far as the ledgers need."""

    id: int
    code: str
    name: str
    institution_code: str
    title: str
    intermediate_or_above: bool


@dataclass(slots=True)
class WorkTally:
    """What one physician did on one circuit (or in one ledger row)."""

    orders_scheduled: int = 0
    served: int = 0
    no_show: int = 0
    special_served: int = 0
    lectures: int = 0
    lecture_audience: int = 0
    trainings: int = 0
    training_heads: int = 0
    home_visits: int = 0
    special_consults: int = 0

    @property
    def patients(self) -> int:
        """Served orders plus home visits and special-population consultations recorded as work."""
        return self.served + self.home_visits + self.special_consults

    @property
    def special_total(self) -> int:
        """Special-population consultations: served orders of special populations plus recorded consults."""
        return self.special_served + self.special_consults

    def add(self, other: WorkTally) -> None:
        """Add ``other`` into this tally."""
        for name in _TALLY_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_TALLY_FIELDS = tuple(f.name for f in fields(WorkTally))


def tally_orders(tally: WorkTally, status: str, special: bool, n: int) -> None:
    """Count ``n`` orders of a circuit in ``status`` (special: of a special population) into ``tally``."""
    tally.orders_scheduled += n
    if status == "served":
        tally.served += n
        if special:
            tally.special_served += n
    elif status == "no_show":
        tally.no_show += n


def tally_work(tally: WorkTally, kind: str, records: int, heads: int) -> None:
    """Count ``records`` work records of ``kind`` with ``heads`` people in all into ``tally``."""
    if kind == "lecture":
        tally.lectures += records
        tally.lecture_audience += heads
    elif kind == "training":
        tally.trainings += records
        tally.training_heads += heads
    elif kind == "home_visit":
        tally.home_visits += heads
    elif kind == "special_consult":
        tally.special_consults += heads


# --- the work ledger --------------------------------------------------------------------------------------


@dataclass(slots=True)
class PhysicianMonthRow:
    """Work ledger (工作台账) row: one physician at one supported unit in one month."""

    staff_id: int
    month: date
    unit_code: str
    days: set[date] = field(default_factory=set)
    half_days: set[tuple[date, str]] = field(default_factory=set)
    circuits: set[int] = field(default_factory=set)
    work: WorkTally = field(default_factory=WorkTally)


@dataclass(frozen=True, slots=True)
class CircuitLedgerRow:
    """Work ledger row per circuit: who, where, when, what was done."""

    circuit: CircuitFact
    unit_code: str
    work: WorkTally


@dataclass(slots=True)
class LedgerInputs:
    """Everything the ledger computations need, already scoped to the places being reported on."""

    period: Period
    as_of: date
    circuits: Sequence[CircuitFact]  # circuits of the whole year up to the period end (not cancelled)
    orders: Sequence[tuple[int, int | None, str, bool, int]]  # (circuit id, expert id, status, special, n)
    work: Sequence[tuple[int, int, str, int, int]]  # (circuit id, recorded by, kind, records, heads)
    staff: Mapping[int, StaffFact]
    institution_kinds: Mapping[str, InstitutionKind]
    place_levels: Mapping[str, PlaceLevel]
    unit_of_place: Mapping[str, str]  # place -> supported unit place (township, or county for county places)
    key_physicians: frozenset[int] = frozenset()
    excused: frozenset[tuple[int, date]] = frozenset()  # (staff id, day) on recorded leave with a reason


def held(c: CircuitFact, as_of: date) -> bool:
    """True if the circuit took place (not cancelled, on or before ``as_of``)."""
    return c.status != "cancelled" and c.day <= as_of


def sent_down(circuit_level: str, place_level: PlaceLevel | None) -> bool:
    """A circuit at a township health center or community health center (a township-level place), where the
    physicians of 医师下基层 are counted [003 §一]; the mobile hospital is its own project."""
    return circuit_level != "mobile" and place_level is PlaceLevel.TOWNSHIP


def is_dispatched(staff: StaffFact | None, kinds: Mapping[str, InstitutionKind]) -> bool:
    """A physician of a supporting hospital (county, city or provincial)."""
    kind = kinds.get(staff.institution_code) if staff else None
    return bool(kind and kind.is_hospital)


class Ledger:
    """The year so far computed once; the period's rows, the year's targets and the rule checks read from it."""

    def __init__(self, inp: LedgerInputs):
        self.inp = inp
        self.as_of = min(inp.as_of, inp.period.last)
        self.circuits = [c for c in inp.circuits if held(c, self.as_of)]
        self.by_circuit: dict[int, dict[int | None, WorkTally]] = defaultdict(lambda: defaultdict(WorkTally))
        for cid, sid, status, special, n in inp.orders:
            tally_orders(self.by_circuit[cid][sid], status, special, n)
        for cid, sid, kind, records, heads in inp.work:
            tally_work(self.by_circuit[cid][sid], kind, records, heads)
        self.circuit_total: dict[int, WorkTally] = {}
        for cid, per_staff in self.by_circuit.items():
            total = self.circuit_total[cid] = WorkTally()
            for t in per_staff.values():
                total.add(t)

    def unit(self, place_code: str) -> str:
        """The supported unit a visit to ``place_code`` counts for."""
        return self.inp.unit_of_place.get(place_code, place_code)

    def in_period(self, c: CircuitFact) -> bool:
        """True if the circuit lies in the report's period."""
        return self.inp.period.first <= c.day <= self.inp.period.last

    def physician_rows(self) -> list[PhysicianMonthRow]:
        """Per dispatched physician, supported unit and month of the period: days, half-days, circuits, work."""
        rows: dict[tuple[int, date, str], PhysicianMonthRow] = {}
        for c in self.circuits:
            if not self.in_period(c):
                continue
            month, unit = c.day.replace(day=1), self.unit(c.place_code)
            tallies = self.by_circuit.get(c.id, {})
            people = set(c.attended_by()) | {s for s in tallies if s is not None}
            for sid in people:
                if not is_dispatched(self.inp.staff.get(sid), self.inp.institution_kinds):
                    continue
                row = rows.setdefault((sid, month, unit), PhysicianMonthRow(sid, month, unit))
                if sid in c.attended_by():
                    row.days.add(c.day)
                    row.half_days.add((c.day, c.half_day))
                    row.circuits.add(c.id)
                if sid in tallies:
                    row.work.add(tallies[sid])
        return sorted(rows.values(), key=lambda r: (self.inp.staff[r.staff_id].code, r.month, r.unit_code))

    def circuit_rows(self) -> list[CircuitLedgerRow]:
        """Every circuit of the period (cancelled ones left out), with all work done on it."""
        out = []
        for c in sorted(self.inp.circuits, key=lambda c: (c.day, c.half_day, c.place_code, c.id)):
            if not self.in_period(c) or c.status == "cancelled":
                continue
            out.append(CircuitLedgerRow(c, self.unit(c.place_code), self.circuit_total.get(c.id, WorkTally())))
        return out

    # -- targets

    def sent_down(self, c: CircuitFact) -> bool:
        """True if physicians attending ``c`` are sent down (医师下基层), see :func:`sent_down`."""
        return sent_down(c.level, self.inp.place_levels.get(c.place_code))

    def at_grassroots(self, c: CircuitFact) -> bool:
        """A circuit at a township or village place (基层), the mobile hospital's included."""
        return self.inp.place_levels.get(c.place_code) in (PlaceLevel.TOWNSHIP, PlaceLevel.VILLAGE)

    def actuals(self, upto: date | None = None) -> Actuals:
        """The year's figures from 1 January to ``upto`` (default: as of), as seed 003 defines them."""
        upto = min(upto or self.as_of, self.as_of)
        a = Actuals()
        physicians: set[int] = set()
        city: set[int] = set()
        grassroots: set[tuple[int, date]] = set()
        tertiary: set[tuple[int, date]] = set()
        quarters: set[int] = set()
        total = WorkTally()
        kinds, levels, staff = self.inp.institution_kinds, self.inp.place_levels, self.inp.staff
        for c in self.circuits:
            if c.day > upto or c.day.year != self.inp.period.first.year:
                continue
            if c.level == "mobile":
                quarters.add(quarter_of(c.day))
            sent_down = self.sent_down(c)
            for sid in c.attended_by():
                st = staff.get(sid)
                if st is None or not is_dispatched(st, kinds):
                    continue  # township staff on village rounds are not physicians sent down
                kind = kinds.get(st.institution_code)
                if sent_down and st.intermediate_or_above:
                    physicians.add(sid)
                    grassroots.add((sid, c.day))
                    if kind is InstitutionKind.CITY_HOSPITAL:
                        city.add(sid)
                elif levels.get(c.place_code) is PlaceLevel.COUNTY and kind in TERTIARY:
                    tertiary.add((sid, c.day))
            if sent_down:
                for who, tally in self.by_circuit.get(c.id, {}).items():
                    if who is None or is_dispatched(staff.get(who), kinds):
                        total.add(tally)
        a.physicians = len(physicians)
        a.city_share_pct = round(100 * len(city) / len(physicians), 1) if physicians else 0
        a.person_visits = len(grassroots)
        a.lectures = total.lectures
        a.training_person_times = total.training_heads
        a.patients = total.patients
        a.special_consults = total.special_total
        a.home_visits = total.home_visits
        a.mobile_quarters = len(quarters)
        a.tertiary_to_county = len(tertiary)
        return a

    def progress(self, targets: Targets) -> list[TargetProgress]:
        """Year-to-date progress on ``targets``, projected against 31 December."""
        p = self.inp.period
        return target_progress(targets, self.actuals(), p.year_first, self.as_of, p.year_last)

    def monthly_cumulative(self) -> list[tuple[date, Actuals]]:
        """Year-to-date figures at the end of each month up to the period end (for the progress chart)."""
        out = []
        for m in range(1, self.inp.period.last.month + 1):
            last = month_last(date(self.inp.period.first.year, m, 1))
            if last > self.as_of and m > self.as_of.month:
                break
            out.append((date(self.inp.period.first.year, m, 1), self.actuals(min(last, self.as_of))))
        return out

    # -- rules

    def days_at_units(self, where: Callable[[CircuitFact], bool] | None = None) -> dict[int, dict[date, set[date]]]:
        """Per dispatched physician: month -> days attended over the year so far (at circuits ``where`` allows;
        default: sent down, at township health centers and community health centers)."""
        where = where or self.sent_down
        out: dict[int, dict[date, set[date]]] = defaultdict(lambda: defaultdict(set))
        for c in self.circuits:
            if not where(c):
                continue
            for sid in c.attended_by():
                if is_dispatched(self.inp.staff.get(sid), self.inp.institution_kinds):
                    out[sid][c.day.replace(day=1)].add(c.day)
        return out

    def violations(self) -> list[Violation]:
        """Every rule broken in the period (the yearly rules are judged on the year so far)."""
        inp, period = self.inp, self.inp.period
        out: list[Violation] = []
        kinds = inp.institution_kinds
        # 下基层支援医师: hospital physicians planned at a township health center or community center this year.
        dispatched = {
            sid
            for c in inp.circuits
            if c.status != "cancelled" and c.day.year == period.first.year and self.sent_down(c)
            for sid in c.expert_ids
            if is_dispatched(inp.staff.get(sid), kinds)
        }
        first_month: dict[int, date] = {}
        for c in sorted(inp.circuits, key=lambda c: c.day):
            if self.sent_down(c):
                for sid in c.expert_ids:
                    first_month.setdefault(sid, c.day.replace(day=1))
        days = self.days_at_units()
        # 1. ≥ 1 day a month at the supported unit, for every month of the period that has ended.
        for sid in sorted(dispatched, key=lambda s: inp.staff[s].code):
            for month in period.months():
                if month_last(month) > self.as_of or month < first_month.get(sid, month):
                    continue
                if not days.get(sid, {}).get(month):
                    out.append(
                        Violation(
                            RuleKey.MONTHLY_DAY, sid, None, month, f"{month.year}年{month.month}月在受援单位工作0天"
                        )
                    )
        # 2. key physicians ≥ 30 days a year at the grassroots (township and village places).
        grassroots = self.days_at_units(self.at_grassroots)
        for sid in sorted(inp.key_physicians & set(inp.staff), key=lambda s: inp.staff[s].code):
            total = sum(len(d) for d in grassroots.get(sid, {}).values())
            if total >= KEY_PHYSICIAN_DAYS:
                continue
            if self.as_of >= period.year_last:
                out.append(Violation(RuleKey.KEY_DAYS, sid, None, period.year_first, f"全年下基层{total}天，少于30天"))
            else:
                elapsed = (self.as_of - period.year_first).days + 1
                projected = total * 365 / elapsed
                if projected < KEY_PHYSICIAN_DAYS:
                    out.append(
                        Violation(
                            RuleKey.KEY_DAYS,
                            sid,
                            None,
                            period.year_first,
                            f"截至{month_day(self.as_of)}下基层{total}天，按当前进度全年约{projected:.0f}天（<30天）",
                            warning=True,
                        )
                    )
        # 3. absent from a planned circuit without a recorded reason, twice or more in the year.
        unexcused: dict[int, list[date]] = defaultdict(list)
        for c in inp.circuits:
            if c.status == "cancelled" or c.day > self.as_of or c.day.year != period.first.year:
                continue
            for sid, reason in c.absent.items():
                if not (reason or "").strip() and (sid, c.day) not in inp.excused:
                    unexcused[sid].append(c.day)
        for sid in sorted(unexcused, key=lambda s: inp.staff[s].code if s in inp.staff else str(s)):
            dates = sorted(unexcused[sid])
            if len(dates) >= ABSENCE_LIMIT:
                listed = "、".join(month_day(d) for d in dates)
                out.append(
                    Violation(
                        RuleKey.ABSENCE,
                        sid,
                        None,
                        dates[-1],
                        f"无故缺席计划巡诊{len(dates)}次（{listed}），年度考核不合格",
                    )
                )
        # 4. the mobile hospital: at least once in every quarter of the period that has ended.
        for q in sorted({quarter_of(m) for m in period.months()}):
            q_first = date(period.first.year, 3 * q - 2, 1)
            q_last = month_last(date(period.first.year, 3 * q, 1))
            if q_last > self.as_of:
                continue
            if not any(c.level == "mobile" and q_first <= c.day <= q_last for c in self.circuits):
                out.append(Violation(RuleKey.MOBILE, None, None, q_first, f"{q_first.year}年第{q}季度无“移动医院”巡诊"))
        return out


KEY_PHYSICIAN_DAYS = 30
ABSENCE_LIMIT = 2


class RuleKey(StrEnum):
    """The rules checked [003 §二(一)(三)(四), 000 二(五)]."""

    MONTHLY_DAY = "monthly_day"
    KEY_DAYS = "key_days"
    ABSENCE = "absence"
    MOBILE = "mobile"


RULE_LABELS = {
    RuleKey.MONTHLY_DAY: "下基层医师每月在受援单位工作≥1天",
    RuleKey.KEY_DAYS: "骨干医师每年下基层≥30天",
    RuleKey.ABSENCE: "无故缺席计划巡诊≥2次（年度考核不合格）",
    RuleKey.MOBILE: "“移动医院”每季度≥1次",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule (or, with ``warning``, one about to be broken)."""

    rule: RuleKey
    staff_id: int | None
    place_code: str | None
    when: date
    detail: str
    warning: bool = False


# --- frequency per place ----------------------------------------------------------------------------------

FREQUENCY_LABELS = {
    PlaceLevel.COUNTY: "县级巡诊每季度≥1次",
    PlaceLevel.TOWNSHIP: "乡镇级巡诊每月≥1次",
    PlaceLevel.VILLAGE: "村级巡诊每周≥1次",
}


@dataclass(frozen=True, slots=True)
class OverduePlace:
    """A place whose circuit frequency rule was broken in the period."""

    place_code: str
    level: PlaceLevel
    first_missed: date  # the end of the first period (or the first weekly due date) without a visit
    missed: int  # periods (quarters, months, weeks) missed
    last_visit: date | None


def frequency_overdue(
    places: Iterable[tuple[str, PlaceLevel]],
    visits: Mapping[str, Sequence[date]],
    first: date,
    last: date,
    as_of: date,
) -> list[OverduePlace]:
    """Places that missed their frequency rule between ``first`` and ``min(last, as_of)``.

    County places need a visit every calendar quarter, townships every calendar month (judged once the
    quarter or month has ended); villages every 7 days: from the last visit before ``first`` (or from the
    day before ``first``) each due date ``anchor + 7`` on or before the end without a visit is one miss.
    """
    end = min(last, as_of)
    out = []
    for code, level in places:
        days = sorted(set(visits.get(code, ())))
        seen = [d for d in days if d <= end]
        last_visit = seen[-1] if seen else None
        missed: list[date] = []
        if level in (PlaceLevel.COUNTY, PlaceLevel.TOWNSHIP):
            step = 3 if level is PlaceLevel.COUNTY else 1
            m = date(first.year, first.month, 1)
            if level is PlaceLevel.COUNTY:
                m = date(first.year, 3 * (quarter_of(first) - 1) + 1, 1)
            while m <= end:
                p_last = month_last(date(m.year, m.month + step - 1, 1))
                if p_last <= end and not any(m <= d <= p_last for d in days):
                    missed.append(p_last)
                m = p_last + ONE_DAY
        elif level is PlaceLevel.VILLAGE:
            before = [d for d in days if d < first]
            anchor = before[-1] if before else first - ONE_DAY
            ahead = [d for d in days if first <= d <= end]
            i = 0
            due = anchor + timedelta(days=7)
            while due <= end:
                if i < len(ahead) and ahead[i] <= due:
                    anchor, i = ahead[i], i + 1
                    while i < len(ahead) and ahead[i] <= anchor:
                        i += 1
                else:
                    missed.append(due)
                    anchor = due
                due = anchor + timedelta(days=7)
            missed = [d for d in missed if d >= first]
        if missed:
            out.append(OverduePlace(code, level, missed[0], len(missed), last_visit))
    return out


# --- the order funnel and wait times ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelStage:
    """One stage of the order funnel."""

    key: str
    label: str
    count: int


PASSED_TOWNSHIP = frozenset(
    {
        "township_approved",
        "awaiting_circuit",
        "remote_consult",
        "referred_up",
        "handled_locally",
        "scheduled",
        "served",
        "no_show",
    }
)
SCHEDULED_OR_LATER = frozenset({"scheduled", "served", "no_show"})


def order_funnel(counts: Mapping[tuple[str, str | None], int]) -> list[FunnelStage]:
    """From orders filed to orders served, given counts per (status, disposition) of the period's orders."""
    filed = passed = circuit = scheduled = served = no_show = 0
    for (status, disposition), n in counts.items():
        filed += n
        if status in PASSED_TOWNSHIP or disposition is not None:
            passed += n
        if disposition == "circuit":
            circuit += n
        if status in SCHEDULED_OR_LATER:
            scheduled += n
        if status == "served":
            served += n
        if status == "no_show":
            no_show += n
    return [
        FunnelStage("filed", "登记需求订单", filed),
        FunnelStage("township_passed", "卫生院初审通过", passed),
        FunnelStage("circuit", "医院安排巡诊", circuit),
        FunnelStage("scheduled", "排入巡诊", scheduled),
        FunnelStage("served", "已诊疗", served),
        FunnelStage("no_show", "未到诊", no_show),
    ]


@dataclass(frozen=True, slots=True)
class WaitStats:
    """Days from filing to being seen, over served orders."""

    count: int
    mean: float | None
    median: float | None
    p90: int | None
    histogram: tuple[tuple[str, int], ...]


WAIT_BINS = ((0, 7, "0–7天"), (8, 14, "8–14天"), (15, 30, "15–30天"), (31, 60, "31–60天"), (61, 10**9, "60天以上"))


def wait_stats(waits: Sequence[int]) -> WaitStats:
    """Mean, median, 90th percentile (nearest rank) and a histogram of wait days."""
    if not waits:
        return WaitStats(0, None, None, None, tuple((label, 0) for _, _, label in WAIT_BINS))
    xs = sorted(waits)
    n = len(xs)
    median = float(xs[n // 2]) if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    p90 = xs[math.ceil(0.9 * n) - 1]
    hist = Counter(next(label for lo, hi, label in WAIT_BINS if lo <= max(w, 0) <= hi) for w in xs)
    return WaitStats(n, round(sum(xs) / n, 1), median, p90, tuple((label, hist[label]) for _, _, label in WAIT_BINS))


# --- ratings and problem leads ----------------------------------------------------------------------------


class LeadSource(StrEnum):
    """Where a problem lead came from."""

    RATING = "rating"  # a low rating after a served visit
    COMPLAINT = "complaint"  # a complaint in chat, from the resident or their village doctor
    HOTLINE = "hotline"  # the 12345 government hotline, entered by staff
    INSPECTION = "inspection"  # found on an inspection visit


class LeadStatus(StrEnum):
    """Where a problem lead stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


LEAD_SOURCE_LABELS = {
    LeadSource.RATING: "服务评价",
    LeadSource.COMPLAINT: "群众投诉",
    LeadSource.HOTLINE: "12345热线",
    LeadSource.INSPECTION: "检查发现",
}
LEAD_STATUS_LABELS = {
    LeadStatus.OPEN: "待处理",
    LeadStatus.IN_PROGRESS: "整改中",
    LeadStatus.RESOLVED: "已整改",
    LeadStatus.CLOSED: "已办结",
}
LEAD_TRANSITIONS = {
    LeadStatus.OPEN: frozenset({LeadStatus.IN_PROGRESS, LeadStatus.RESOLVED, LeadStatus.CLOSED}),
    LeadStatus.IN_PROGRESS: frozenset({LeadStatus.RESOLVED, LeadStatus.CLOSED}),
    LeadStatus.RESOLVED: frozenset({LeadStatus.CLOSED, LeadStatus.IN_PROGRESS}),
    LeadStatus.CLOSED: frozenset(),
}
LOW_RATING = 2  # ratings of 1 or 2 (of 5) become leads
RECTIFY_DAYS = 30  # default deadline for a lead's rectification (整改期限)
MAX_COMMENT = 500


def check_rating(score: int, comment: str | None) -> tuple[int, str | None]:
    """A 1–5 score and an optional comment of at most 500 characters; else ``DomainError``."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise DomainError("rating.bad_score")
    text = (comment or "").strip() or None
    if text and len(text) > MAX_COMMENT:
        raise DomainError("rating.too_long", limit=MAX_COMMENT)
    return score, text


def rating_makes_lead(score: int, complaint: bool = False) -> bool:
    """A low rating, or any rating the resident marks as a complaint, becomes a problem lead."""
    return complaint or score <= LOW_RATING


def check_lead_change(current: LeadStatus, new: LeadStatus, resolution: str | None) -> None:
    """Raise ``DomainError`` unless a lead may move from ``current`` to ``new`` (resolving needs a resolution)."""
    if new != current and new not in LEAD_TRANSITIONS[current]:
        raise DomainError("lead.illegal_transition", status=current.value, to=new.value)
    if new in (LeadStatus.RESOLVED, LeadStatus.CLOSED) and not (resolution or "").strip():
        raise DomainError("lead.resolution_required")


@dataclass(frozen=True, slots=True)
class Lead:
    """A problem lead (问题线索) as the ledger shows it."""

    id: int
    source: LeadSource
    created_at_day: date
    place_code: str | None
    institution_code: str | None
    order_number: str | None
    score: int | None
    summary: str
    owner_name: str | None
    status: LeadStatus
    resolution: str | None
    due: date | None
    resolved_day: date | None

    def overdue(self, today: date) -> bool:
        """True if not rectified and past its deadline."""
        return self.status in (LeadStatus.OPEN, LeadStatus.IN_PROGRESS) and self.due is not None and self.due < today


# --- scope: which places a report or a dashboard user sees ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """The places (and institutions) a report covers or a dashboard user may see; None places: everything stored."""

    label: str
    place_codes: frozenset[str] | None
    institution_codes: frozenset[str] = frozenset()
    target_place: str | None = None  # whose yearly targets apply
    is_city: bool = True

def descendants(places: Iterable[Place], root: str) -> frozenset[str]:
    """``root`` and every place beneath it."""
    kids: dict[str | None, list[str]] = defaultdict(list)
    for p in places:
        kids[p.parent_code].append(p.code)
    out, stack = set(), [root]
    while stack:
        code = stack.pop()
        if code not in out:
            out.add(code)
            stack.extend(kids.get(code, ()))
    return frozenset(out)


def area_scope(places: Sequence[Place], institutions: Iterable[Institution], code: str) -> Scope:
    """A city or county and everything in it; ``DomainError`` if the place is unknown or not a city/county."""
    place = next((p for p in places if p.code == code), None)
    if place is None or place.level not in (PlaceLevel.CITY, PlaceLevel.COUNTY):
        raise DomainError("ledger.bad_area", code=code)
    codes = descendants(places, code)
    insts = frozenset(i.code for i in institutions if i.place_code in codes)
    # A city's scope lists its places too: the database may hold more than one city, and a city's commission sees
    # only its own (None, "everything stored", is never handed to a dashboard user).
    return Scope(place.name, codes, insts, code, place.level is PlaceLevel.CITY)


def staff_scope(
    institution: Institution,
    roles: Iterable[str],
    places: Sequence[Place],
    institutions: Iterable[Institution],
    network: SupportNetwork,
    day: date,
    city_code: str | None = None,
) -> Scope | None:
    """What a dashboard user sees: a commission admin their city or county; a hospital reviewer the places their
    hospital supports (directly or down the chain) and its own; anyone else nothing (None)."""
    roles = set(roles)
    insts = list(institutions)
    if "admin" in roles and institution.kind is InstitutionKind.HEALTH_COMMISSION:
        by_code = {p.code: p for p in places}
        code: str | None = institution.place_code
        while (
            code is not None and by_code.get(code) and by_code[code].level not in (PlaceLevel.CITY, PlaceLevel.COUNTY)
        ):
            code = by_code[code].parent_code
        return area_scope(places, insts, code or city_code or institution.place_code)
    if "hospital_reviewer" in roles and institution.kind.is_hospital:
        reach = network.reachable(institution.code, day) | {institution.code}
        where = {i.code: i.place_code for i in insts}
        codes = frozenset(where[c] for c in reach if c in where)
        return Scope(institution.name, codes, frozenset(reach), None, False)
    return None


# --- two-way referral (双向转诊台账, issue 20) ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReferralFact:
    """One referral up as the ledger counts it: where the resident lives, which hospital, what became of it."""

    village_code: str
    hospital_code: str
    status: str  # domain.referrals.ReferralStatus value
    created: date  # Sanming day of the referral up
    booked: bool  # it was booked on a reserved slot (it has one)
    discharged: date | None  # Sanming day of the referral down


@dataclass(slots=True)
class ReferralLedgerRow:
    """Up- and down-referrals of one county with one hospital in a period."""

    county_code: str
    hospital_code: str
    up: int = 0  # referred up in the period
    booked: int = 0  # of those, booked on a reserved slot (the rest waited for one, or were cancelled first)
    no_shows: int = 0  # of those, did not come
    down: int = 0  # referred down (discharged) in the period
    overdue_followups: int = 0  # follow-up tasks due in the period and not done within the grace days

    @property
    def no_show_rate(self) -> float | None:
        """No-shows per booked referral."""
        return self.no_shows / self.booked if self.booked else None


@dataclass(frozen=True, slots=True)
class SlotUse:
    """A hospital's reserved slots on the period's days: places offered and booked."""

    hospital_code: str
    capacity: int
    booked: int
    beds: int = 0

    @property
    def ratio(self) -> float | None:
        """Share of the places booked."""
        return self.booked / self.capacity if self.capacity else None


def referral_ledger(facts: Iterable[ReferralFact], county_of: Callable[[str], str],
                    overdue: Iterable[tuple[str, str]], first: date, last: date) -> list[ReferralLedgerRow]:
    """Rows per (county, hospital), sorted by county then hospital: up-referrals made, booked and not attended in
    the period, down-referrals made in it, and overdue follow-ups (``overdue``: (village, hospital) per task)."""
    rows: dict[tuple[str, str], ReferralLedgerRow] = {}

    def row(village: str, hospital: str) -> ReferralLedgerRow:
        key = (county_of(village), hospital)
        return rows.setdefault(key, ReferralLedgerRow(*key))

    for f in facts:
        if first <= f.created <= last:
            r = row(f.village_code, f.hospital_code)
            r.up += 1
            r.booked += f.booked
            r.no_shows += f.status == "no_show"
        if f.discharged is not None and first <= f.discharged <= last:
            row(f.village_code, f.hospital_code).down += 1
    for village, hospital in overdue:
        row(village, hospital).overdue_followups += 1
    return [rows[k] for k in sorted(rows)]
