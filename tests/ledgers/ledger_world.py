"""A seeded year (2026, up to 23 November) of circuit activity, written through the repositories.

The builder keeps its own plain record of what it wrote (``World.circuits``), so tests can compute the
expected ledger figures independently of ``domain.ledgers``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from domain.ledgers import LeadSource, LeadStatus
from domain.orders import Action, Order, SpecialPopulation
from domain.staff import Role, Staff, TitleLevel
from storage.repositories.ledgers import LedgerRepository
from storage.tables import LeaveRow

CHINA = ZoneInfo("Asia/Shanghai")
YEAR = 2026
AS_OF = date(2026, 11, 23)  # FIXED_NOW in Sanming
MINGXI, NINGHUA = "350421", "350424"
XUEFENG, GAIYANG, CUIJIANG = "350421101", "350421102", "350424101"
CHENGDONG = "350421101001"  # a village of 雪峰镇
MX_HOSPITAL, NH_HOSPITAL, CITY_HOSPITAL, PROV_HOSPITAL = "CH350421", "CH350424", "H350400001", "P350100001"
MX_EXPERTS = ("S0003", "S0004", "S0007", "S0008", "S0009", "T9001")  # T9001: a junior (初级) physician
NH_EXPERTS = ("S0031", "S0032", "S0033")
CITY_EXPERTS = ("S0072", "S0073")
PROV_EXPERTS = ("S0095", "S0096")
POSTS = {CHENGDONG: "VP350421101001", "350421102001": "VP350421102001", "350424101001": "VP350424101001"}
VILLAGE_OF = {XUEFENG: CHENGDONG, GAIYANG: "350421102001", CUIJIANG: "350424101001", CHENGDONG: CHENGDONG}
LAZY = "S0009"  # absent without reason twice: fails the annual assessment
EXCUSED = "S0007"  # absent once without a circuit reason, but on recorded leave with a reason
KEY = "S0003"  # a key physician (≥ 30 days a year)


def china_dt(d: date, hour: int = 9) -> datetime:
    """An aware datetime on day ``d`` in Sanming."""
    return datetime.combine(d, time(hour), CHINA)


@dataclass
class PlannedOrder:
    """An order the builder put on a circuit, and how it ended."""

    expert: str
    outcome: str  # served | no_show | scheduled
    special: bool
    created: date


@dataclass
class PlannedCircuit:
    """A circuit the builder wrote, with everything done on it."""

    hospital: str
    place: str
    day: date
    half: str
    level: str
    experts: tuple[str, ...]
    status: str = "planned"
    absent: dict[str, str] = field(default_factory=dict)  # staff code -> reason ("" none)
    orders: list[PlannedOrder] = field(default_factory=list)
    work: list[tuple[str, str, int]] = field(default_factory=list)  # (recorded by, kind, count)
    id: int | None = None


@dataclass
class World:
    """What was written: circuits, stray orders (by status), leads."""

    circuits: list[PlannedCircuit] = field(default_factory=list)
    other_orders: list[tuple[str, str | None, date, str]] = field(
        default_factory=list
    )  # status, disp, created, village
    staff_ids: dict[str, int] = field(default_factory=dict)
    leads: list[tuple[int, str, str]] = field(default_factory=list)  # (id, place, status)
    ratings: list[tuple[str, int]] = field(default_factory=list)  # (order number, score)


def _workday(rng: random.Random, year: int, month: int) -> date:
    while True:
        d = date(year, month, rng.randint(1, 28))
        if d.weekday() < 5:
            return d


def plan_year(rng: random.Random) -> list[PlannedCircuit]:
    """The year's circuits (plain data, nothing written)."""
    out: list[PlannedCircuit] = []
    lazy_misses = 0
    for month in range(1, 12):
        for i, code in enumerate(MX_EXPERTS):
            if code == "S0004" and month in (3, 4):
                continue  # misses March and April: the one-day-a-month rule is broken twice
            place = XUEFENG if i % 2 == 0 else GAIYANG
            d = _workday(rng, YEAR, month)
            if month == 11:
                d = date(2026, 11, rng.choice([3, 5, 10, 12, 17, 19]))
            experts = (code,) if rng.random() < 0.7 else (code, MX_EXPERTS[(i + 1) % len(MX_EXPERTS)])
            c = PlannedCircuit(MX_HOSPITAL, place, d, rng.choice(["am", "pm"]), "township", experts)
            if code == LAZY and month in (5, 8) and lazy_misses < 2:
                c.absent[code] = ""
                lazy_misses += 1
            if code == "S0008" and month == 6:
                c.absent[code] = "病假"
            if code == EXCUSED and month == 7:
                c.absent[code] = ""
            out.append(c)
            if code == KEY and month % 2 == 0:  # a second day in even months
                out.append(
                    PlannedCircuit(
                        MX_HOSPITAL,
                        XUEFENG,
                        d + timedelta(days=1 if d.weekday() < 4 else -1),
                        "am",
                        "township",
                        (code,),
                    )
                )
        # a weekly-ish village circuit in 城东村 only in the first half of the year
        if month <= 6:
            for day in (3, 10, 17, 24):
                out.append(
                    PlannedCircuit("TC350421101", CHENGDONG, date(YEAR, month, day), "am", "village", ("S0005",))
                )
        out.append(PlannedCircuit(NH_HOSPITAL, CUIJIANG, _workday(rng, YEAR, month), "pm", "township", NH_EXPERTS[:2]))
    for month in (2, 8):  # the mobile hospital in Q1 and Q3 only: Q2 is a violation
        out.append(PlannedCircuit(CITY_HOSPITAL, "350421101002", date(YEAR, month, 14), "am", "mobile", CITY_EXPERTS))
    for month in (3, 6, 9):  # tertiary → county: city and provincial hospitals at the county hospital
        out.append(PlannedCircuit(CITY_HOSPITAL, MINGXI, date(YEAR, month, 20), "am", "county", CITY_EXPERTS))
        out.append(PlannedCircuit(PROV_HOSPITAL, MINGXI, date(YEAR, month, 21), "pm", "county", PROV_EXPERTS[:1]))
    out.append(PlannedCircuit(MX_HOSPITAL, XUEFENG, date(YEAR, 10, 15), "am", "township", ("S0003",), "cancelled"))
    out.append(PlannedCircuit(MX_HOSPITAL, GAIYANG, date(YEAR, 11, 26), "am", "township", ("S0004",)))  # future
    out.append(PlannedCircuit(MX_HOSPITAL, XUEFENG, date(YEAR - 1, 12, 10), "am", "township", ("S0003",)))  # last year
    for c in out:
        held = c.status != "cancelled" and c.day <= AS_OF
        attending = [e for e in c.experts if e not in c.absent]
        if c.level in ("township", "village") and attending:
            for _ in range(rng.randint(0, 4)):
                outcome = rng.choices(["served", "no_show", "scheduled"], [7, 2, 1])[0] if held else "scheduled"
                created = c.day - timedelta(days=rng.randint(1, 40))
                c.orders.append(PlannedOrder(rng.choice(attending), outcome, rng.random() < 0.3, created))
        if held and attending:
            for kind, lo, hi in (
                ("lecture", 10, 40),
                ("training", 5, 30),
                ("home_visit", 1, 3),
                ("special_consult", 1, 5),
            ):
                if rng.random() < 0.35:
                    c.work.append((rng.choice(attending), kind, rng.randint(lo, hi)))
    return out


def build_world(uow_factory, seed: int = 2026) -> World:
    """Write the year through the repositories; returns the plain record."""
    rng = random.Random(seed)
    world = World()
    with uow_factory() as uow:
        uow.staff.upsert(
            Staff("T9001", "测试初级", MX_HOSPITAL, TitleLevel.JUNIOR, frozenset({"02"}), frozenset({Role.EXPERT}))
        )
        uow.commit()
    with uow_factory() as uow:
        ids = world.staff_ids
        for code in {*MX_EXPERTS, *NH_EXPERTS, *CITY_EXPERTS, *PROV_EXPERTS, "S0002", "S0005", "S0006", "S0001"}:
            st = uow.staff.by_code(code)
            assert st is not None and st.id is not None, code
            ids[code] = st.id
        resident = uow.residents.in_villages([CHENGDONG])[0].id
        repo = LedgerRepository(uow)
        world.circuits = plan_year(rng)
        for c in world.circuits:
            circuit = Circuit(
                c.hospital,
                c.place,
                c.day,
                HalfDay(c.half),
                CircuitLevel(c.level),
                frozenset(ids[e] for e in c.experts),
                CircuitStatus(c.status),
            )
            c.id = uow.circuits.add(circuit)
            uow.session.flush()
            for e, reason in c.absent.items():
                repo.record_absence(c.id, ids[e], reason, ids["S0002"], china_dt(c.day, 18))
            village = VILLAGE_OF.get(c.place, CHENGDONG)
            for po in c.orders:
                o = Order.file(
                    resident_id=resident,
                    post_code=POSTS[village],
                    village_code=village,
                    filed_by_staff_id=ids["S0006"],
                    need_text="复诊",
                    now=china_dt(po.created),
                    suggested_specialty="02",
                    special_populations=frozenset({SpecialPopulation.ELDERLY}) if po.special else frozenset(),
                )
                uow.orders.add(o)
                t = china_dt(po.created, 11)
                o.apply(Action.TOWNSHIP_APPROVE, actor_staff_id=ids["S0005"], actor_role=Role.TOWNSHIP_REVIEWER, now=t)
                o.apply(
                    Action.DISPOSE_CIRCUIT,
                    actor_staff_id=ids["S0002"],
                    actor_role=Role.HOSPITAL_REVIEWER,
                    now=t,
                    expert_id=ids[po.expert],
                )
                o.apply(
                    Action.SCHEDULE,
                    actor_staff_id=ids["S0002"],
                    actor_role=Role.HOSPITAL_REVIEWER,
                    now=t,
                    circuit_id=c.id,
                    expert_id=ids[po.expert],
                )
                if po.outcome != "scheduled":
                    action = Action.MARK_SERVED if po.outcome == "served" else Action.MARK_NO_SHOW
                    o.apply(action, actor_staff_id=ids[po.expert], actor_role=Role.EXPERT, now=china_dt(c.day, 12))
                uow.orders.save(o)
            for by, kind, count in c.work:
                uow.chat.record_work(c.id, kind, count, None, ids[by], china_dt(c.day, 17))
        # 城东村's excused absence: S0007 was on recorded leave that day
        excused = next(c for c in world.circuits if EXCUSED in c.absent)
        uow.session.add(LeaveRow(staff_id=ids[EXCUSED], day=excused.day, reason="外出培训"))
        # orders that never reached a circuit, for the funnel
        stray = [
            ("submitted", None, []),
            ("returned", None, [Action.TOWNSHIP_RETURN]),
            ("rejected", None, [Action.TOWNSHIP_REJECT]),
            ("remote_consult", "remote", [Action.TOWNSHIP_APPROVE, Action.DISPOSE_REMOTE]),
            ("referred_up", "refer_up", [Action.TOWNSHIP_APPROVE, Action.DISPOSE_REFER_UP]),
            ("rejected", "reject", [Action.TOWNSHIP_APPROVE, Action.HOSPITAL_REJECT]),
            ("awaiting_circuit", "circuit", [Action.TOWNSHIP_APPROVE, Action.DISPOSE_CIRCUIT]),
        ]
        for i in range(21):
            status, disp, actions = stray[i % len(stray)]
            created = date(YEAR, 11, 1 + i) if i < 14 else date(YEAR, 10, i)
            village = CHENGDONG if i % 3 else "350424101001"
            o = Order.file(
                resident_id=resident,
                post_code=POSTS[village],
                village_code=village,
                filed_by_staff_id=ids["S0006"],
                need_text="咨询",
                now=china_dt(created),
            )
            uow.orders.add(o)
            for a in actions:
                role = Role.TOWNSHIP_REVIEWER if a.value.startswith("township") else Role.HOSPITAL_REVIEWER
                o.apply(a, actor_staff_id=ids["S0005"], actor_role=role, now=china_dt(created, 10), reason="原因")
            uow.orders.save(o)
            world.other_orders.append((status, disp, created, village))
        uow.commit()
    with uow_factory() as uow:
        repo = LedgerRepository(uow)
        repo.set_key_physician(ids[KEY], YEAR)
        served = [
            o
            for o in uow.orders.list(limit=10_000)
            if o.status.value == "served" and o.created_at.astimezone(CHINA).date() >= date(YEAR, 10, 1)
        ]
        for n, o in enumerate(served[:6]):
            assert o.id is not None
            score = [5, 1, 4, 2, 3, 5][n]
            _, lead = repo.add_rating(
                o.id,
                score,
                "医生很耐心" if score > 2 else "等太久了",
                source="village_doctor",
                now=china_dt(date(YEAR, 11, 20)),
                staff_id=ids["S0006"],
            )
            world.ratings.append((o.number or "", score))
            if lead:
                world.leads.append((lead, o.village_code, "open"))
        hotline = repo.add_lead(
            LeadSource.HOTLINE,
            "12345工单：巡诊专家未按预告时间到岗",
            now=china_dt(date(YEAR, 11, 18)),
            place_code=GAIYANG,
            institution_code=MX_HOSPITAL,
            hotline_ticket="12345-2026-1118-07",
        )
        repo.update_lead(
            hotline,
            now=china_dt(date(YEAR, 11, 21)),
            status=LeadStatus.RESOLVED,
            owner_staff_id=ids["S0002"],
            resolution="约谈专家，调整排班并电话回访",
        )
        world.leads.append((hotline, GAIYANG, "resolved"))
        nh = repo.add_lead(
            LeadSource.HOTLINE,
            "12345工单：宁化翠江镇巡诊取消未通知",
            now=china_dt(date(YEAR, 11, 19)),
            place_code=CUIJIANG,
            institution_code=NH_HOSPITAL,
        )
        world.leads.append((nh, CUIJIANG, "open"))
        uow.commit()
    return world
