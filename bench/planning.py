"""Benchmark: plan December 2026 for a synthetic Sanming (~140 townships, 1,700 villages, 200 experts, 5,000 orders).

Run from the repository root: ``.venv/bin/python bench/planning.py [--seed 7] [--township-doctors 0]``.
Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.calendar_cn import ChineseCalendar
from bot.cli.progress import Progress
from domain.circuits import CircuitLevel
from domain.orders import Urgency
from domain.places import Institution, InstitutionKind, Place, PlaceLevel
from domain.planning import AwaitingOrder, PlanInputs, PlanSettings, propose_plan
from domain.staff import Role, Staff, TitleLevel
from domain.support import SupportNetwork, SupportRelation

MONTH = date(2026, 12, 1)
COUNTIES = ["350402", "350403", "350421", "350423", "350424", "350425", "350426", "350427", "350428", "350429"]
COUNTIES.append("350430")
SPECIALTIES = [
    "02", "03.01", "03.02", "03.03", "03.04", "03.07", "03.10", "04.01", "04.03", "04.04",
    "05.01", "07", "10", "11", "12", "13", "15", "21", "27", "50",
]  # fmt: skip
# Rural needs are skewed: chronic disease, joints, eyes and general practice dominate.
WEIGHTS = [8, 5, 5, 4, 9, 8, 5, 3, 9, 3, 4, 4, 7, 3, 4, 3, 1, 3, 3, 6]
MARKET_RULES = ["lunar:1,6", "lunar:2,7", "lunar:3,8", "lunar:4,9", "lunar:5,10", "solar:3,8", "solar:5,10", None]


def build(seed: int, township_doctors: int) -> PlanInputs:
    """A deterministic Sanming-sized input."""
    rng = random.Random(seed)
    progress = Progress("构建三明规模测试数据")
    places = [Place("350400", "三明市", PlaceLevel.CITY)]
    institutions = [Institution("H1", "三明市第一医院", InstitutionKind.CITY_HOSPITAL, "350400")]
    institutions.append(Institution("H2", "三明市中西医结合医院", InstitutionKind.CITY_HOSPITAL, "350400"))
    institutions.append(Institution("P1", "福建省第二人民医院", InstitutionKind.PROVINCIAL_HOSPITAL, "350400"))
    institutions.append(Institution("P2", "福建医科大学附属第一医院", InstitutionKind.PROVINCIAL_HOSPITAL, "350400"))
    start = date(2023, 1, 1)
    relations = []
    villages: list[tuple[str, str]] = []
    township_total = 0
    for ci, county in enumerate(COUNTIES):
        places.append(Place(county, f"县{ci + 1}", PlaceLevel.COUNTY, "350400"))
        ch = f"CH{county}"
        institutions.append(Institution(ch, f"县{ci + 1}总医院", InstitutionKind.COUNTY_HOSPITAL, county))
        # Each county hospital is supported by one city and one provincial hospital, as in [003 §二(二)].
        relations.append(SupportRelation(f"H{ci % 2 + 1}", ch, start))
        relations.append(SupportRelation(f"P{ci % 2 + 1}", ch, start))
        n_townships = 13 if ci < 8 else 12
        for ti in range(n_townships):
            township_total += 1
            t_code = f"{county}{ti + 101:03d}"
            places.append(Place(t_code, f"乡镇{t_code[-5:]}", PlaceLevel.TOWNSHIP, county, rng.choice(MARKET_RULES)))
            tc = f"TC{t_code}"
            progress("乡镇")
            institutions.append(Institution(tc, f"乡镇{t_code[-5:]}卫生院", InstitutionKind.TOWNSHIP_CENTER, t_code))
            relations.append(SupportRelation(ch, tc, start))
            for vi in range(12 if township_total % 4 else 13):
                v_code = f"{t_code}{vi + 1:03d}"
                places.append(Place(v_code, f"村{v_code[-6:]}", PlaceLevel.VILLAGE, t_code))
                vp = f"VP{v_code}"
                institutions.append(Institution(vp, f"村{v_code[-6:]}卫生所", InstitutionKind.VILLAGE_POST, v_code))
                relations.append(SupportRelation(tc, vp, start))
                villages.append((v_code, vp))
                progress("村")
        progress("县")
    staff: list[Staff] = []
    hospitals = [f"CH{c}" for c in COUNTIES] * 13 + ["H1", "H2"] * 20 + ["P1", "P2"] * 9
    for i, code in enumerate(hospitals[:200]):
        specs = {rng.choices(SPECIALTIES, WEIGHTS)[0]}
        if rng.random() < 0.3:
            specs.add(rng.choice(SPECIALTIES))
        staff.append(
            Staff(
                f"E{i:04d}",
                f"专家{i:03d}",
                code,
                TitleLevel.ASSOCIATE_SENIOR,
                frozenset(specs),
                frozenset({Role.EXPERT}),
                id=i + 1,
            )
        )
        progress("专家")
    if township_doctors:
        next_id = len(staff) + 1
        for inst in [i for i in institutions if i.kind is InstitutionKind.TOWNSHIP_CENTER]:
            for _ in range(township_doctors):
                staff.append(
                    Staff(
                        f"T{next_id}",
                        f"乡医{next_id}",
                        inst.code,
                        TitleLevel.INTERMEDIATE,
                        frozenset({"02"}),
                        id=next_id,
                    )
                )
                next_id += 1
    leave = {}
    for s in staff:
        if s.id is not None and rng.random() < 0.15:
            first = MONTH + timedelta(days=rng.randrange(25))
            leave[s.id] = {first + timedelta(days=k) for k in range(rng.randrange(2, 7))}
    orders = []
    for oid in range(1, 5001):
        v_code, vp = rng.choice(villages)
        created = date(2026, 10, 15) + timedelta(days=rng.randrange(47))
        urgency = Urgency.SOON if rng.random() < 0.2 else Urgency.ROUTINE
        orders.append(AwaitingOrder(oid, v_code, vp, rng.choices(SPECIALTIES, WEIGHTS)[0], urgency, created))
        progress("订单")
    last_visits = {}
    for p in places:
        if p.level is PlaceLevel.VILLAGE and rng.random() < 0.7:
            last_visits[(p.code, CircuitLevel.VILLAGE)] = date(2026, 11, 20) + timedelta(days=rng.randrange(11))
        elif p.level is PlaceLevel.COUNTY and rng.random() < 0.5:
            last_visits[(p.code, CircuitLevel.COUNTY)] = date(2026, 10, 1) + timedelta(days=rng.randrange(60))
    progress.finish()
    return PlanInputs(
        month=MONTH,
        places=places,
        institutions=institutions,
        support=SupportNetwork(relations),
        experts=staff,
        orders=orders,
        leave=leave,
        last_visits=last_visits,
        settings=PlanSettings(),
    )


def main() -> None:
    """Build, plan, print figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--township-doctors", type=int, default=0, help="staff per township center for village visits")
    args = parser.parse_args()
    inputs = build(args.seed, args.township_doctors)
    calendar = ChineseCalendar()
    print(f"规划 {MONTH:%Y-%m}：{len(inputs.orders)} 个订单，{len(inputs.experts)} 名人员 …", file=sys.stderr)
    started = time.perf_counter()
    proposal = propose_plan(inputs, calendar)
    seconds = time.perf_counter() - started
    f = proposal.figures
    levels: dict[str, int] = {}
    for chk in proposal.overdue:
        levels[chk.level.value] = levels.get(chk.level.value, 0) + 1
    print(
        json.dumps(
            {
                "benchmark": "planning",
                "month": f"{MONTH:%Y-%m}",
                "townships": sum(1 for p in inputs.places if p.level is PlaceLevel.TOWNSHIP),
                "villages": sum(1 for p in inputs.places if p.level is PlaceLevel.VILLAGE),
                "staff": len(inputs.experts),
                "orders": f.orders_total,
                "seconds": round(seconds, 3),
                "orders_covered": f.orders_covered,
                "coverage_ratio": round(f.coverage, 4),
                "mean_wait_days": None if f.mean_wait is None else round(f.mean_wait, 2),
                "p90_wait_days": f.p90_wait,
                "expert_days_used": f.expert_days,
                "expert_half_days_used": f.expert_half_days,
                "circuits_proposed": f.circuits,
                "overdue_places": f.overdue_places,
                "overdue_by_level": levels,
                "experts_below_one_day": len(proposal.experts_below_minimum),
                "conflicts": len(proposal.conflicts),
                "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
