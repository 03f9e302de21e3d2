"""Ledger figures against a seeded year of activity, each computed here independently (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from domain.ledgers import RuleKey, frequency_overdue, order_funnel, parse_period, wait_stats
from domain.places import PlaceLevel
from storage.crypto import FieldCipher
from storage.repositories.ledgers import (
    LedgerRepository,
    area_scope_for,
    load_ledger,
    staff_scope_for,
    supported_places,
    visits_by_place,
)
from storage.uow import SqlUnitOfWork
from tests.conftest import BACKENDS, TEST_KEY
from tests.ledgers.ledger_world import (
    AS_OF,
    CHENGDONG,
    CITY_EXPERTS,
    CUIJIANG,
    GAIYANG,
    LAZY,
    MINGXI,
    MX_EXPERTS,
    NH_EXPERTS,
    PROV_EXPERTS,
    XUEFENG,
    YEAR,
    World,
    build_world,
)

HOSPITAL_EXPERTS = {*MX_EXPERTS, *NH_EXPERTS, *CITY_EXPERTS, *PROV_EXPERTS}
JUNIOR = {"T9001"}
LEVEL_OF_PLACE = {
    XUEFENG: "township",
    GAIYANG: "township",
    CUIJIANG: "township",
    CHENGDONG: "village",
    "350421101002": "village",
    MINGXI: "county",
}
MINGXI_PLACES = {XUEFENG, GAIYANG, CHENGDONG, "350421101002", MINGXI}


def held(world: World, *, upto: date = AS_OF, places: set[str] | None = None):
    """Circuits that took place in 2026 up to ``upto`` (optionally only at ``places``)."""
    for c in world.circuits:
        if c.status != "cancelled" and c.day.year == YEAR and c.day <= upto and (places is None or c.place in places):
            yield c


def attendees(c) -> list[str]:
    return [e for e in c.experts if e not in c.absent]


def sent_down(c) -> bool:
    """医师下基层 [003 §一]: a circuit at a township health center (a township-level place), not the mobile hospital."""
    return LEVEL_OF_PLACE[c.place] == "township" and c.level != "mobile"


def expected_actuals(world: World, places: set[str] | None = None) -> dict[str, float]:
    """The figures as seed 003 words them, counted from the builder's own record."""
    physicians, city, grassroots, tertiary, quarters = set(), set(), set(), set(), set()
    lectures = training = home = special = served = consults = 0
    for c in held(world, places=places):
        for e in attendees(c):
            if e not in HOSPITAL_EXPERTS:
                continue
            if sent_down(c) and e not in JUNIOR:
                physicians.add(e)
                grassroots.add((e, c.day))
                if e in CITY_EXPERTS:
                    city.add(e)
            elif LEVEL_OF_PLACE[c.place] == "county" and e in {*CITY_EXPERTS, *PROV_EXPERTS}:
                tertiary.add((e, c.day))
        if c.level == "mobile":
            quarters.add((c.day.month - 1) // 3)
        if not sent_down(c):
            continue
        for o in c.orders:
            if o.outcome == "served" and o.expert in HOSPITAL_EXPERTS:
                served += 1
                special += o.special
        for by, kind, n in c.work:
            if by not in HOSPITAL_EXPERTS:
                continue
            if kind == "lecture":
                lectures += 1
            elif kind == "training":
                training += n
            elif kind == "home_visit":
                home += n
            elif kind == "special_consult":
                consults += n
    return {
        "physicians": len(physicians),
        "city_share_pct": round(100 * len(city) / len(physicians), 1) if physicians else 0,
        "person_visits": len(grassroots),
        "lectures": lectures,
        "training_person_times": training,
        "patients": served + home + consults,
        "special_consults": special + consults,
        "home_visits": home,
        "mobile_quarters": len(quarters),
        "tertiary_to_county": len(tertiary),
    }


@pytest.fixture(scope="module", params=BACKENDS)
def world_uow(request, templates, tmp_path_factory):
    """The seeded year, built once per backend for this module (the tests only read)."""
    backend = request.param
    if backend == "sqlite":
        engine = templates.sqlite_engine(True, tmp_path_factory.mktemp("world") / "xz.db")
    else:
        cluster = request.getfixturevalue("pg_cluster")
        engine, name = templates.pg_engine(cluster, True)
    factory = lambda: SqlUnitOfWork(engine, FieldCipher.from_text(TEST_KEY))  # noqa: E731
    yield build_world(factory), factory
    engine.dispose()
    if backend != "sqlite":
        cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_yearly_target_figures_match_an_independent_count(world_uow):
    world, uow_factory = world_uow
    with uow_factory() as uow:
        ledger = load_ledger(uow, parse_period("2026"), AS_OF, area_scope_for(uow, None))
        progress = {p.key: p for p in ledger.progress(LedgerRepository(uow).targets("350400", YEAR, city=True)[0])}
    expected = expected_actuals(world)
    assert {k: p.actual for k, p in progress.items()} == pytest.approx(expected)
    assert progress["mobile_quarters"].actual == 2 and progress["tertiary_to_county"].actual == 9
    assert progress["physicians"].target == 146 and progress["lectures"].target == 80  # the 2023 defaults
    # the pace since 1 January projects each unmet target to a date
    p = progress["lectures"]
    days = (AS_OF - date(YEAR, 1, 1)).days + 1
    if p.actual < p.target:
        per_day = p.actual / days
        assert p.projected is not None and abs((p.projected - AS_OF).days - (p.target - p.actual) / per_day) <= 1


def test_county_scope_counts_only_that_county(world_uow):
    world, uow_factory = world_uow
    with uow_factory() as uow:
        ledger = load_ledger(uow, parse_period("2026"), AS_OF, area_scope_for(uow, MINGXI))
        actual = ledger.actuals()
    expected = expected_actuals(world, MINGXI_PLACES)
    assert actual.person_visits == expected["person_visits"]
    assert actual.patients == expected["patients"]
    assert actual.physicians == expected["physicians"]
    assert not any(e in NH_EXPERTS for r in ledger.physician_rows() for e in [r.staff_id])


def test_work_ledger_rows_per_physician_unit_and_month(world_uow):
    world, uow_factory = world_uow
    with uow_factory() as uow:
        ledger = load_ledger(uow, parse_period("2026-Q3"), AS_OF, area_scope_for(uow, None))
        rows = ledger.physician_rows()
        code_of = {sid: st.code for sid, st in ledger.inp.staff.items()}
    got = {
        (code_of[r.staff_id], r.month.month, r.unit_code): (
            len(r.days),
            len(r.half_days),
            len(r.circuits),
            r.work.served,
            r.work.no_show,
            r.work.lectures,
            r.work.training_heads,
            r.work.special_total,
            r.work.home_visits,
            r.work.patients,
        )
        for r in rows
    }
    want: dict[tuple, list] = defaultdict(lambda: [set(), set(), set(), 0, 0, 0, 0, 0, 0, 0])
    for c in held(world):
        if not 7 <= c.day.month <= 9:
            continue
        unit = c.place if LEVEL_OF_PLACE[c.place] in ("township", "county") else c.place[:9]
        people = set(attendees(c)) | {o.expert for o in c.orders} | {by for by, _, _ in c.work}
        for e in people & HOSPITAL_EXPERTS:
            w = want[(e, c.day.month, unit)]
            if e in attendees(c):
                w[0].add(c.day)
                w[1].add((c.day, c.half))
                w[2].add(c.id)
            for o in c.orders:
                if o.expert == e:
                    w[3] += o.outcome == "served"
                    w[4] += o.outcome == "no_show"
                    w[7] += o.outcome == "served" and o.special
                    w[9] += o.outcome == "served"
            for by, kind, n in c.work:
                if by == e:
                    w[5] += kind == "lecture"
                    w[6] += n if kind == "training" else 0
                    w[7] += n if kind == "special_consult" else 0
                    w[8] += n if kind == "home_visit" else 0
                    w[9] += n if kind in ("home_visit", "special_consult") else 0
    assert got == {k: (len(v[0]), len(v[1]), len(v[2]), *v[3:]) for k, v in want.items()}
    # per circuit: cancelled circuits are left out, future ones listed
    with uow_factory() as uow:
        nov = load_ledger(uow, parse_period("2026-11"), AS_OF, area_scope_for(uow, None)).circuit_rows()
    assert len(nov) == sum(1 for c in world.circuits if c.day.year == YEAR and c.day.month == 11)
    assert all(r.circuit.status != "cancelled" for r in nov)


def test_rule_checks_flag_exactly_the_seeded_breaches(world_uow):
    world, uow_factory = world_uow
    with uow_factory() as uow:
        ledger = load_ledger(uow, parse_period("2026"), AS_OF, area_scope_for(uow, None))
        code_of = {sid: st.code for sid, st in ledger.inp.staff.items()}
        violations = ledger.violations()
    by_rule = defaultdict(set)
    for v in violations:
        by_rule[v.rule].add(
            (code_of.get(v.staff_id) if v.staff_id else None, v.when.month if v.rule is RuleKey.MONTHLY_DAY else None)
        )
    # one day a month at a township center, judged for months ended by 23 November, from each physician's first
    # month there (the city and provincial experts were only at the county hospital and the mobile hospital)
    first_month, attended = {}, defaultdict(set)
    for c in sorted((c for c in world.circuits if c.status != "cancelled" and c.day.year == YEAR), key=lambda c: c.day):
        if not sent_down(c):
            continue
        for e in c.experts:
            first_month.setdefault(e, c.day.month)
        if c.day <= AS_OF:
            for e in attendees(c):
                attended[e].add(c.day.month)
    want = {
        (e, m) for e in first_month if e in HOSPITAL_EXPERTS for m in range(first_month[e], 11) if m not in attended[e]
    }
    assert by_rule[RuleKey.MONTHLY_DAY] == want
    assert want, "the seeded year breaks the one-day-a-month rule"
    assert by_rule[RuleKey.ABSENCE] == {(LAZY, None)}  # S0007's absence was on recorded leave, S0008 gave a reason
    assert len(by_rule[RuleKey.MOBILE]) == 1  # Q2 without the mobile hospital (Q4 has not ended)
    key = [v for v in violations if v.rule is RuleKey.KEY_DAYS]
    assert len(key) == 1 and key[0].warning  # behind the 30-day pace, but the year is not over


def test_overdue_places_by_frequency_rule(world_uow):
    _, uow_factory = world_uow
    with uow_factory() as uow:
        scope = area_scope_for(uow, MINGXI)
        period = parse_period("2026")
        ledger = load_ledger(uow, period, AS_OF, scope)
        places = supported_places(uow, scope, AS_OF)
        overdue = {
            o.place_code: o
            for o in frequency_overdue(
                places, visits_by_place(ledger.inp.circuits, AS_OF), period.first, period.last, AS_OF
            )
        }
        townships = {
            i.place_code
            for r in uow.reference.relations()
            if r.supporter_code == "CH350421"
            for i in [uow.reference.institution(r.supported_code)]
            if i
        }
    assert {c for c, o in overdue.items() if o.level is PlaceLevel.TOWNSHIP} == townships - {XUEFENG, GAIYANG}
    assert all(
        overdue[t].missed == 10 and overdue[t].first_missed == date(YEAR, 1, 31) for t in townships - {XUEFENG, GAIYANG}
    )
    assert MINGXI not in overdue  # visited in March, June and September
    never = overdue["350421102002"]  # a village nobody visited: a miss every 7 days from 7 January
    assert never.first_missed == date(YEAR, 1, 7) and never.missed == (AS_OF - date(YEAR - 1, 12, 31)).days // 7
    assert CUIJIANG not in overdue  # another county's township is out of scope


def test_funnel_and_wait_times_for_a_month(world_uow):
    world, uow_factory = world_uow
    nov = lambda d: d.year == YEAR and d.month == 11  # noqa: E731
    counts: Counter = Counter()
    waits = []
    for c in world.circuits:
        for o in c.orders:
            if nov(o.created):
                counts[
                    ({"scheduled": "scheduled", "served": "served", "no_show": "no_show"}[o.outcome], "circuit")
                ] += 1
            if o.outcome == "served" and nov(c.day):
                waits.append((c.day - o.created).days)
    for status, disp, created, _ in world.other_orders:
        if nov(created):
            counts[(status, disp)] += 1
    with uow_factory() as uow:
        repo, scope = LedgerRepository(uow), area_scope_for(uow, None)
        assert repo.funnel_counts(date(YEAR, 11, 1), date(YEAR, 11, 30), scope) == dict(counts)
        assert sorted(repo.waits(date(YEAR, 11, 1), date(YEAR, 11, 30), scope)) == sorted(waits)
    stages = {s.key: s.count for s in order_funnel(counts)}
    assert stages["filed"] == sum(counts.values())
    assert stages["served"] == sum(n for (st, _), n in counts.items() if st == "served")
    assert wait_stats(waits).count == len(waits)


def test_leads_are_scoped_and_low_ratings_become_leads(world_uow):
    world, uow_factory = world_uow
    low = sum(1 for _, s in world.ratings if s <= 2)
    with uow_factory() as uow:
        city = LedgerRepository(uow).leads(date(YEAR, 11, 1), date(YEAR, 11, 30), area_scope_for(uow, None))
        mingxi = LedgerRepository(uow).leads(date(YEAR, 11, 1), date(YEAR, 11, 30), area_scope_for(uow, MINGXI))
        reviewer = staff_scope_for(uow, world.staff_ids["S0002"], AS_OF)
        admin = staff_scope_for(uow, world.staff_ids["S0001"], AS_OF)
        expert = staff_scope_for(uow, world.staff_ids["S0003"], AS_OF)
    assert len(city) == len(world.leads) == low + 2
    assert {x.place_code for x in mingxi} <= MINGXI_PLACES | {"350421102001"} and CUIJIANG not in {
        x.place_code for x in mingxi
    }
    resolved = [x for x in city if x.status.value == "resolved"]
    assert len(resolved) == 1 and resolved[0].owner_name and resolved[0].resolution
    assert reviewer is not None and reviewer.place_codes is not None
    assert XUEFENG in reviewer.place_codes and CUIJIANG not in reviewer.place_codes
    # The city commission sees its whole city, listed place by place: None ("everything stored") would show it
    # every other city in the database too (issue 15, hole 5).
    assert admin is not None and admin.is_city and admin.place_codes is not None
    assert {XUEFENG, CUIJIANG} <= admin.place_codes
    assert expert is None  # experts have no dashboard
