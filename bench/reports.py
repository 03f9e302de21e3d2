"""Benchmark: the health commission's yearly report for a city-wide year of activity on SQLite (target ≤ 3 s).

A year (2026 up to 23 November) is bulk-loaded on top of the Sanming demo data: ≈ 20,000 orders, 2,000
circuits, 200 physicians, with circuit work, absences and problem leads. The data is written with plain
INSERTs (this measures the report, not the order lifecycle). Prints JSON.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from domain.places import InstitutionKind, PlaceLevel
from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.uow import SqlUnitOfWork

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
AS_OF = date(2026, 11, 23)
N_PHYSICIANS, N_CIRCUITS, N_ORDERS = 200, 2000, 20_000
TARGET_SECONDS = 3.0


def seed(engine, cipher: FieldCipher, rng: random.Random) -> dict[str, int]:
    """Demo reference data plus a bulk-loaded year."""
    from bot.demo.run import demo_files
    from storage.reference import import_files
    from storage.tables import (
        AbsenceRow,
        CircuitExpertRow,
        CircuitRow,
        CircuitWorkRow,
        LeadRow,
        OrderRow,
        StaffRoleRow,
        StaffRow,
    )

    with SqlUnitOfWork(engine, cipher) as uow:
        import_files(uow, demo_files(), AS_OF)
    with SqlUnitOfWork(engine, cipher) as uow:
        jur = uow.reference.jurisdiction()
        gaz = uow.reference.gazetteer()
        resident = uow.residents.in_villages(["350421101001"])[0].id
        filer = uow.staff.by_code("S0006").id  # type: ignore[union-attr]
        hospitals = [i.code for i in jur.institutions.values() if i.kind.is_hospital]
        sites = []  # (hospital, place, level, post, village)
        for inst in jur.institutions.values():
            if inst.kind not in (InstitutionKind.TOWNSHIP_CENTER, InstitutionKind.VILLAGE_POST):
                continue
            if not gaz.is_within(inst.place_code, "350400"):
                continue
            sup = sorted(s for s in jur.network.supporters_of(inst.code, AS_OF) if s in hospitals)
            if not sup:
                continue
            level = gaz.place(inst.place_code).level
            if level is PlaceLevel.TOWNSHIP:
                villages = [p.code for p in gaz.children(inst.place_code)]
                if not villages:
                    continue
                sites.append((sup[0], inst.place_code, "township", None, villages))
            else:
                sites.append((sup[0], inst.place_code, "village", inst.code, [inst.place_code]))
        posts = {i.place_code: i.code for i in jur.institutions.values() if i.kind is InstitutionKind.VILLAGE_POST}
        s = uow.session
        titles = ["初级", "中级", "中级", "副高", "副高", "正高"]
        staff_rows = [
            {
                "code": f"B{i:04d}",
                "name": f"医师{i:04d}",
                "institution_code": rng.choice(hospitals),
                "title": rng.choice(titles),
                "active": True,
            }
            for i in range(N_PHYSICIANS)
        ]
        s.exec(sa.insert(StaffRow), params=staff_rows)  # type: ignore[call-overload]
        ids = {c: i for i, c in s.exec(sa.select(StaffRow.id, StaffRow.code).where(StaffRow.code.like("B%")))}  # type: ignore[attr-defined,call-overload]
        s.exec(sa.insert(StaffRoleRow), params=[{"staff_id": i, "role": "expert"} for i in ids.values()])  # type: ignore[call-overload]
        by_hospital: dict[str, list[int]] = {}
        for row in staff_rows:
            by_hospital.setdefault(row["institution_code"], []).append(ids[row["code"]])
        physicians = list(ids.values())
        circuits, experts, work, absences = [], [], [], []
        start = date(2026, 1, 1)
        for cid in range(1, N_CIRCUITS + 1):
            hosp, place, level, _, _ = rng.choice(sites)
            day = start + timedelta(days=rng.randint(0, 360))
            status = "cancelled" if rng.random() < 0.03 else "planned"
            circuits.append(
                {
                    "id": cid,
                    "hospital_code": hosp,
                    "place_code": place,
                    "day": day,
                    "half_day": rng.choice(["am", "pm"]),
                    "level": level,
                    "status": status,
                }
            )
            pool = by_hospital.get(hosp) or physicians
            chosen = rng.sample(pool, min(len(pool), rng.choice([1, 1, 2])))
            experts += [{"circuit_id": cid, "staff_id": e} for e in chosen]
            if rng.random() < 0.05:
                absences.append(
                    {"circuit_id": cid, "staff_id": chosen[0], "reason": rng.choice([None, "病假"]), "at": NOW}
                )
            for kind in ("lecture", "training", "home_visit", "special_consult"):
                if rng.random() < 0.3:
                    work.append(
                        {
                            "circuit_id": cid,
                            "kind": kind,
                            "count": rng.randint(1, 30),
                            "recorded_by_staff_id": chosen[0],
                            "at": NOW,
                        }
                    )
        s.exec(sa.insert(CircuitRow), params=circuits)  # type: ignore[call-overload]
        s.exec(sa.insert(CircuitExpertRow), params=experts)  # type: ignore[call-overload]
        s.exec(sa.insert(CircuitWorkRow), params=work)  # type: ignore[call-overload]
        s.exec(sa.insert(AbsenceRow), params=absences)  # type: ignore[call-overload]
        experts_of: dict[int, list[int]] = {}
        for e in experts:
            experts_of.setdefault(e["circuit_id"], []).append(e["staff_id"])
        orders = []
        others = [
            ("submitted", None),
            ("rejected", None),
            ("remote_consult", "remote"),
            ("referred_up", "refer_up"),
            ("handled_locally", "local"),
            ("awaiting_circuit", "circuit"),
        ]
        for i in range(N_ORDERS):
            c = circuits[rng.randrange(len(circuits))]
            on_circuit = rng.random() < 0.8 and c["status"] != "cancelled"
            site_villages = next(v for h, p, _, _, v in sites if p == c["place_code"])
            village = rng.choice(site_villages)
            created_day = (
                (c["day"] - timedelta(days=rng.randint(1, 45)))
                if on_circuit
                else start + timedelta(days=rng.randint(0, 326))
            )
            created = datetime(created_day.year, created_day.month, created_day.day, 1, tzinfo=UTC)
            if on_circuit:
                status = ("served" if rng.random() < 0.85 else "no_show") if c["day"] <= AS_OF else "scheduled"
                disp, circuit_id, expert = "circuit", c["id"], rng.choice(experts_of[c["id"]])
            else:
                (status, disp), circuit_id, expert = rng.choice(others), None, None
            orders.append(
                {
                    "number": f"B-{i:06d}",
                    "resident_id": resident,
                    "post_code": posts.get(village, "VP350421101001"),
                    "village_code": village,
                    "filed_by_staff_id": filer,
                    "need_text": "复诊",
                    "urgency": "routine",
                    "special_populations": "elderly" if rng.random() < 0.25 else "",
                    "status": status,
                    "disposition": disp,
                    "assigned_expert_id": expert,
                    "circuit_id": circuit_id,
                    "emergency_override": False,
                    "created_at": created,
                    "updated_at": created,
                    "version": 0,
                }
            )
        s.exec(sa.insert(OrderRow), params=orders)  # type: ignore[call-overload]
        leads = [
            {
                "source": rng.choice(["rating", "hotline", "complaint"]),
                "place_code": rng.choice(sites)[1],
                "summary": "12345工单：候诊时间长",
                "status": rng.choice(["open", "in_progress", "resolved"]),
                "resolution": "已整改",
                "created_at": NOW - timedelta(days=rng.randint(0, 320)),
                "updated_at": NOW,
            }
            for _ in range(300)
        ]
        s.exec(sa.insert(LeadRow), params=leads)  # type: ignore[call-overload]
        uow.commit()
    return {
        "physicians": N_PHYSICIANS,
        "circuits": N_CIRCUITS,
        "orders": N_ORDERS,
        "circuit_work": len(work),
        "absences": len(absences),
        "leads": len(leads),
        "sites": len(sites),
    }


def main() -> int:
    """Seed, then time the reports."""
    from bot.cli.reports import make_report

    rng = random.Random(8)
    tmp = Path(tempfile.mkdtemp(prefix="xz-bench-reports-"))
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    migrate(engine)
    cipher = FieldCipher.from_text(FieldCipher.new_key_text())
    t0 = time.perf_counter()
    counts = seed(engine, cipher, rng)
    seeded = time.perf_counter() - t0
    timings = {}
    for label, period, fmt in (
        ("year_xlsx", "2026", "xlsx"),
        ("year_csv", "2026", "csv"),
        ("month_xlsx", "2026-11", "xlsx"),
        ("county_year_md", "2026", "md"),
    ):
        county = "350421" if label.startswith("county") else None
        with SqlUnitOfWork(engine, cipher) as uow:
            t = time.perf_counter()
            files = make_report(uow, period, county, fmt, tmp / f"{label}.{fmt}" if fmt != "csv" else tmp / label, NOW)
            timings[label] = round(time.perf_counter() - t, 3)
            assert files
    with SqlUnitOfWork(engine, cipher) as uow:
        t = time.perf_counter()
        make_report(uow, "2026", None, "xlsx", tmp / "charts.xlsx", NOW, charts=tmp / "charts")
        timings["year_xlsx_with_charts"] = round(time.perf_counter() - t, 3)
    engine.dispose()
    worst = max(v for k, v in timings.items() if k != "year_xlsx_with_charts")
    print(
        json.dumps(
            {
                "benchmark": "reports",
                "backend": "sqlite",
                "data": counts,
                "seed_seconds": round(seeded, 2),
                "seconds": timings,
                "target_seconds": TARGET_SECONDS,
                "meets_target": worst <= TARGET_SECONDS,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
