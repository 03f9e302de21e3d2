"""The circuit planner: orders, frequency rules, market days, experts' time, figures; and the Chinese calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import pytest

from bot.calendar_cn import ChineseCalendar, estimated_holidays, parse_holiday_setting
from bot.config import Settings
from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.errors import DomainError
from domain.orders import Urgency
from domain.places import Institution, InstitutionKind, Place, PlaceLevel
from domain.planning import (
    AwaitingOrder,
    FrequencyStatus,
    PlanInputs,
    PlanProposal,
    PlanSettings,
    Purpose,
    UncoveredReason,
    format_proposal,
    market_days_in,
    parse_market_rule,
    parse_month,
    propose_plan,
    quarter_bounds,
    wait_figures,
)
from domain.staff import Role, Staff, TitleLevel
from domain.support import SupportNetwork, SupportRelation

DEC = date(2026, 12, 1)
LONG_AGO = date(2023, 1, 1)
CARDIO, EYES, BONES = "03.04", "10", "04.03"


class FakeCalendar:
    """Weekends off, holidays as given, and a lunar day that is simply the solar day shifted by ten."""

    def __init__(self, holidays: set[date] | None = None):
        self.holidays = holidays or set()

    def is_holiday(self, d: date) -> bool:
        return d in self.holidays

    def is_workday(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self.holidays

    def lunar_day(self, d: date) -> int:
        return (d.day + 9) % 30 + 1


# A small county: city hospital H1 → county hospital CH1 → township centers TC1, TC2 → village posts.
PLACES = [
    Place("C1", "明溪县", PlaceLevel.COUNTY),
    Place("T1", "夏阳乡", PlaceLevel.TOWNSHIP, "C1", "lunar:3,8"),
    Place("T2", "胡坊镇", PlaceLevel.TOWNSHIP, "C1"),
    Place("V11", "御帘村", PlaceLevel.VILLAGE, "T1"),
    Place("V12", "旦上村", PlaceLevel.VILLAGE, "T1"),
    Place("V21", "肖坊村", PlaceLevel.VILLAGE, "T2"),
]
INSTITUTIONS = [
    Institution("H1", "三明市第一医院", InstitutionKind.CITY_HOSPITAL, "C1"),
    Institution("CH1", "明溪总医院", InstitutionKind.COUNTY_HOSPITAL, "C1"),
    Institution("TC1", "夏阳乡卫生院", InstitutionKind.TOWNSHIP_CENTER, "T1"),
    Institution("TC2", "胡坊镇卫生院", InstitutionKind.TOWNSHIP_CENTER, "T2"),
    Institution("VP11", "御帘村卫生所", InstitutionKind.VILLAGE_POST, "V11"),
    Institution("VP12", "旦上村卫生所", InstitutionKind.VILLAGE_POST, "V12"),
    Institution("VP21", "肖坊村卫生所", InstitutionKind.VILLAGE_POST, "V21"),
]
SUPPORT = SupportNetwork(
    SupportRelation(a, b, LONG_AGO)
    for a, b in [
        ("H1", "CH1"),
        ("CH1", "TC1"),
        ("CH1", "TC2"),
        ("TC1", "VP11"),
        ("TC1", "VP12"),
        ("TC2", "VP21"),
    ]
)
POST = {"V11": "VP11", "V12": "VP12", "V21": "VP21"}


def expert(sid: int, institution: str, *specialties: str) -> Staff:
    return Staff(
        f"S{sid}",
        f"专家{sid}",
        institution,
        TitleLevel.ASSOCIATE_SENIOR,
        frozenset(specialties),
        frozenset({Role.EXPERT}),
        id=sid,
    )


CARDIOLOGIST = expert(1, "CH1", CARDIO)
EYE_DOCTOR = expert(2, "CH1", EYES)
CITY_ORTHOPAEDIST = expert(3, "H1", BONES)
TOWNSHIP_DOCTOR = expert(4, "TC1", "02")


def order(
    oid: int,
    village: str = "V11",
    specialty: str | None = CARDIO,
    *,
    soon: bool = False,
    created: date = date(2026, 11, 20),
) -> AwaitingOrder:
    return AwaitingOrder(oid, village, POST[village], specialty, Urgency.SOON if soon else Urgency.ROUTINE, created)


def inputs(orders=(), experts=(CARDIOLOGIST, EYE_DOCTOR, CITY_ORTHOPAEDIST), **kw) -> PlanInputs:
    kw.setdefault("last_visits", {("C1", CircuitLevel.COUNTY): date(2026, 10, 20)})
    return PlanInputs(
        month=kw.pop("month", DEC),
        places=PLACES,
        institutions=INSTITUTIONS,
        support=SUPPORT,
        experts=list(experts),
        orders=list(orders),
        **kw,
    )


def plan(calendar=None, **kw) -> PlanProposal:
    return propose_plan(inputs(**kw), calendar or FakeCalendar())


def freq(p: PlanProposal, code: str):
    return next(f for f in p.frequency if f.place_code == code)


def assert_no_double_booking(p: PlanProposal, existing=()) -> None:
    seen: dict[tuple[int, date, HalfDay], str] = {}
    for c in [*existing, *p.circuits]:
        for sid in c.expert_ids:
            key = (sid, c.day, c.half_day)
            assert key not in seen, f"expert {sid} twice on {c.day} {c.half_day}"
            seen[key] = c.place_code


# ------------------------------------------------------------------------------------------- market days


def test_market_rules_repeat_every_ten_days_and_ten_means_the_tens():
    assert parse_market_rule("lunar:3,8") == ("lunar", frozenset({3, 8, 13, 18, 23, 28}))
    assert parse_market_rule("solar:5,10") == ("solar", frozenset({5, 10, 15, 20, 25, 30}))
    assert parse_market_rule("solar:1")[1] == frozenset({1, 11, 21, 31})
    assert parse_market_rule("solar:15")[1] == frozenset({15})
    for bad in ("lunar", "moon:3", "lunar:0", "lunar:3,x", "solar:32"):
        with pytest.raises(DomainError):
            parse_market_rule(bad)


def test_lunar_market_days_of_december_2026_follow_the_real_lunar_calendar():
    cal = ChineseCalendar()
    days = market_days_in(DEC, "lunar:3,8", cal)
    # 2026-12-11 is lunar 11/3; the 5-day rhythm runs 12-01 (廿三) to 12-31 (廿三).
    assert [d.day for d in days] == [1, 6, 11, 16, 21, 26, 31]
    assert all(cal.lunar_day(d) % 10 in (3, 8) for d in days)
    assert [d.day for d in market_days_in(DEC, "solar:5,10", cal)] == [5, 10, 15, 20, 25, 30]
    assert market_days_in(DEC, None, cal) == []


def test_routine_orders_are_seen_on_the_townships_lunar_market_day():
    cal = ChineseCalendar()
    p = plan(cal, orders=[order(1), order(2, "V12")])
    assert p.orders[1].day == p.orders[2].day
    seen = p.orders[1].day
    assert seen is not None and cal.lunar_day(seen) in (3, 8, 13, 18, 23, 28) and cal.is_workday(seen)
    assert seen == date(2026, 12, 1)  # the first market day that is a workday
    circuit = next(c for c in p.circuits if c.purpose is Purpose.ORDERS)
    assert circuit.place_code == "T1" and circuit.market_day and circuit.level is CircuitLevel.TOWNSHIP


def test_a_township_without_market_days_gets_the_earliest_workday():
    p = plan(orders=[order(1, "V21", created=date(2026, 12, 2))])
    assert p.orders[1].day == date(2026, 12, 2)


# ------------------------------------------------------------------------------------- frequency rules


def test_a_village_without_a_visit_for_a_week_is_overdue_and_gets_weekly_circuits():
    p = plan(experts=(CARDIOLOGIST, TOWNSHIP_DOCTOR), last_visits={("V11", CircuitLevel.VILLAGE): date(2026, 11, 20)})
    v11 = freq(p, "V11")
    assert v11.status is FrequencyStatus.OVERDUE and v11.due == date(2026, 11, 27)
    visits = [c.day for c in p.circuits if c.place_code == "V11"]
    assert visits[0] == date(2026, 12, 1)  # caught up on the first workday
    gaps = [(b - a).days for a, b in pairwise(visits)]
    assert gaps and max(gaps) <= 7
    assert DEC + timedelta(days=31) - visits[-1] <= timedelta(days=7)
    assert all(c.level is CircuitLevel.VILLAGE for c in p.circuits if c.place_code == "V11")


def test_a_village_visited_recently_is_met_and_keeps_its_weekday():
    p = plan(experts=(CARDIOLOGIST, TOWNSHIP_DOCTOR), last_visits={("V12", CircuitLevel.VILLAGE): date(2026, 11, 26)})
    v12 = freq(p, "V12")
    assert v12.status is FrequencyStatus.MET
    assert {d.weekday() for d in v12.visits} == {3}  # Thursdays, like the last visit


def test_a_village_whose_township_center_has_nobody_to_send_is_listed_overdue():
    p = plan()
    v21 = freq(p, "V21")
    assert v21.status is FrequencyStatus.OVERDUE and v21.reason == "no_staff"
    assert v21.due == date(2026, 12, 7)
    assert "肖坊村" in format_proposal(p) and "直接支援单位没有可派人员" in format_proposal(p)


def test_a_township_with_no_circuit_this_month_gets_one_from_its_county_hospital():
    p = plan()
    for code in ("T1", "T2"):
        check = freq(p, code)
        assert check.status is FrequencyStatus.MET and len(check.visits) == 1
    t2 = next(c for c in p.circuits if c.place_code == "T2")
    assert t2.hospital_code == "CH1" and t2.purpose in (Purpose.FREQUENCY, Purpose.STATIONING)


def test_a_township_is_overdue_when_its_supporters_are_all_on_leave():
    everyone_away = {sid: {DEC + timedelta(days=i) for i in range(31)} for sid in (1, 2)}
    p = plan(leave=everyone_away)
    t1 = freq(p, "T1")
    assert t1.status is FrequencyStatus.OVERDUE and t1.due == date(2026, 12, 31) and t1.reason == "no_free_slot"


def test_a_county_is_visited_once_a_quarter():
    visited = plan(last_visits={("C1", CircuitLevel.COUNTY): date(2026, 10, 20)})
    assert freq(visited, "C1").status is FrequencyStatus.MET
    assert not [c for c in visited.circuits if c.place_code == "C1" and c.purpose is Purpose.FREQUENCY]
    unvisited = plan(last_visits={("C1", CircuitLevel.COUNTY): date(2026, 9, 20)})
    c1 = freq(unvisited, "C1")
    assert c1.status is FrequencyStatus.MET and c1.visits[0].month == 12
    county = next(c for c in unvisited.circuits if c.place_code == "C1")
    assert county.level is CircuitLevel.COUNTY and county.hospital_code == "H1"


def test_a_county_not_yet_visited_is_overdue_at_the_quarters_end_and_pending_before_it():
    city_away = {3: {date(2026, m, 1) + timedelta(days=i) for m in (11, 12) for i in range(31)}}
    dec = plan(leave=city_away, last_visits={})
    assert freq(dec, "C1").status is FrequencyStatus.OVERDUE and freq(dec, "C1").due == date(2026, 12, 31)
    nov = plan(month=date(2026, 11, 1), leave=city_away, last_visits={})
    assert freq(nov, "C1").status is FrequencyStatus.PENDING
    assert quarter_bounds(date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 12, 31))


# ------------------------------------------------------------------------------------------ experts' time


def test_the_only_cardiologist_is_never_in_two_places_on_one_half_day():
    orders = [order(i, "V11") for i in range(1, 21)] + [order(i, "V21") for i in range(21, 41)]
    p = plan(orders=orders)
    assert all(o.covered for o in p.orders.values())
    slots = {(o.day, o.half_day) for o in p.orders.values()}
    assert len(slots) == 2 and {o.place_code for o in p.orders.values()} == {"T1", "T2"}
    assert_no_double_booking(p)


def test_circuits_already_planned_keep_their_expert_busy():
    existing = [
        Circuit("CH1", "T2", date(2026, 12, 1), HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({1})),
        Circuit("CH1", "T2", date(2026, 12, 1), HalfDay.PM, CircuitLevel.TOWNSHIP, frozenset({1})),
    ]
    p = plan(orders=[order(1, soon=True)], existing=existing)
    assert p.orders[1].day == date(2026, 12, 2)
    assert_no_double_booking(p, existing)
    assert freq(p, "T2").status is FrequencyStatus.MET  # the existing circuits count
    assert not [c for c in p.circuits if c.place_code == "T2"]


def test_existing_circuits_that_clash_are_reported_as_conflicts():
    day = date(2026, 12, 3)
    existing = [
        Circuit("CH1", "T1", day, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({1})),
        Circuit("CH1", "T2", day, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({1})),
    ]
    p = plan(existing=existing, leave={1: {day}})
    assert {c.kind for c in p.conflicts} == {"double_booked", "on_leave"}


def test_leave_days_are_respected():
    away = {1: {date(2026, 12, d) for d in range(1, 12)}}
    p = plan(orders=[order(i, soon=True) for i in range(1, 4)], leave=away)
    assert {o.day for o in p.orders.values()} == {date(2026, 12, 14)}
    for c in p.circuits:
        assert not (set(c.expert_ids) & {1}) or c.day not in away[1]


def test_every_dispatched_physician_gets_a_day_at_a_supported_unit():
    p = plan(orders=[order(1)])
    eye = next(e for e in p.experts if e.staff_id == 2)
    assert eye.dispatched and eye.days_at_supported_units >= 1 and not eye.below_minimum
    city = next(e for e in p.experts if e.staff_id == 3)
    assert city.days_at_supported_units >= 1
    assert p.experts_below_minimum == []


def test_a_physician_away_all_month_is_listed_below_the_minimum():
    p = plan(leave={2: {DEC + timedelta(days=i) for i in range(31)}})
    eye = next(e for e in p.experts if e.staff_id == 2)
    assert eye.below_minimum and eye.days_at_supported_units == 0
    assert any(c.kind == "no_stationing_day" for c in p.conflicts)
    assert "下沉天数不足】1 人" in format_proposal(p)


def test_a_stationing_day_is_a_whole_day_when_the_expert_is_free():
    # Both townships already have their monthly circuit, so only the one-day rule sends the eye doctor out.
    existing = [
        Circuit("CH1", t, date(2026, 12, 9), h, CircuitLevel.TOWNSHIP, frozenset({1}))
        for t, h in (("T1", HalfDay.AM), ("T2", HalfDay.PM))
    ]
    p = plan(existing=existing)
    eye_days = [c for c in p.circuits if 2 in c.expert_ids]
    assert {c.purpose for c in eye_days} == {Purpose.STATIONING}
    assert len(eye_days) == 2 and eye_days[0].day == eye_days[1].day
    assert {c.half_day for c in eye_days} == {HalfDay.AM, HalfDay.PM}


# ----------------------------------------------------------------------------------------------- orders


def test_urgent_orders_are_seen_before_older_routine_ones():
    settings = PlanSettings(capacity_per_half_day=1)
    orders = [order(1, created=date(2026, 11, 1)), order(2, soon=True, created=date(2026, 11, 25))]
    p = plan(orders=orders, settings=settings)
    assert p.orders[2].day is not None and p.orders[1].day is not None
    urgent, routine = p.orders[2], p.orders[1]
    assert (urgent.day, urgent.half_day == HalfDay.PM) < (routine.day, routine.half_day == HalfDay.PM)
    assert p.orders[2].day == date(2026, 12, 1)


def test_orders_of_one_township_and_specialty_share_a_circuit_up_to_its_capacity():
    p = plan(orders=[order(i, "V11" if i % 2 else "V12") for i in range(1, 26)])
    sessions = [c for c in p.circuits if c.purpose is Purpose.ORDERS]
    assert sorted(len(c.order_ids) for c in sessions) == [5, 20]


def test_an_order_whose_specialty_no_supporting_hospital_has_is_uncovered_with_a_reason():
    p = plan(orders=[order(1, specialty="15"), order(2, specialty=None), replace(order(3), village_code="NOWHERE")])
    assert p.orders[1].reason is UncoveredReason.NO_SPECIALIST and not p.orders[1].covered
    assert p.orders[2].reason is UncoveredReason.NO_SPECIALTY
    assert p.orders[3].reason is UncoveredReason.UNKNOWN_PLACE
    assert "支援医院中没有该专科的专家" in format_proposal(p)
    assert p.figures.orders_covered == 0 and p.figures.mean_wait is None


def test_a_general_internist_sees_a_cardiology_order_when_no_cardiologist_is_in_reach():
    internist = expert(9, "CH1", "03")
    p = plan(orders=[order(1)], experts=(internist,))
    assert p.orders[1].expert_id == 9


def test_an_order_too_many_for_the_month_is_uncovered_for_lack_of_slots():
    away = {1: {DEC + timedelta(days=i) for i in range(30)}}  # only 12-31 left, two half-days
    p = plan(
        orders=[order(i, "V11" if i < 3 else "V21") for i in range(1, 5)],
        leave=away,
        settings=PlanSettings(capacity_per_half_day=1),
    )
    assert [o.reason for o in p.orders.values()].count(UncoveredReason.NO_FREE_SLOT) == 2


def test_waiting_figures_are_computed_on_a_hand_checkable_case():
    # One cardiologist, one patient per half-day, all filed 11-30, no market day at T2:
    # 12-01 AM, 12-01 PM, 12-02 AM, 12-02 PM, 12-03 AM → waits 1, 1, 2, 2, 3.
    orders = [order(i, "V21", soon=True, created=date(2026, 11, 30)) for i in range(1, 6)]
    p = plan(orders=orders, settings=PlanSettings(capacity_per_half_day=1))
    assert [p.orders[i].wait_days for i in range(1, 6)] == [1, 1, 2, 2, 3]
    assert p.figures.mean_wait == pytest.approx(9 / 5)
    assert p.figures.p90_wait == 3  # nearest rank: the 5th of 5
    assert p.figures.orders_covered == p.figures.orders_total == 5
    assert wait_figures([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == (5.5, 9)
    assert wait_figures([]) == (None, None)


def test_expert_days_count_distinct_days_and_half_days_count_sessions():
    p = plan(
        orders=[order(i, "V21", soon=True, created=date(2026, 11, 30)) for i in range(1, 4)],
        settings=PlanSettings(capacity_per_half_day=1),
    )
    assert p.figures.expert_half_days == sum(len(c.expert_ids) for c in p.circuits)
    assert p.figures.expert_days == len({(e, c.day) for c in p.circuits for e in c.expert_ids})


# --------------------------------------------------------------------------------------------- calendar


def test_holidays_are_avoided():
    holidays = {date(2026, 12, d) for d in (1, 2, 3)}
    p = plan(FakeCalendar(holidays), orders=[order(1, soon=True)])
    assert p.orders[1].day == date(2026, 12, 4)
    assert not [c for c in p.circuits if c.day in holidays]


def test_the_real_calendar_keeps_circuits_off_national_day():
    cal = ChineseCalendar()
    p = plan(cal, month=date(2026, 10, 1), orders=[order(1, soon=True, created=date(2026, 9, 28))], last_visits={})
    assert p.orders[1].day == date(2026, 10, 8)  # 10-01..10-07 are National Day
    assert all(not cal.is_holiday(c.day) and cal.is_workday(c.day) for c in p.circuits)
    assert date(2026, 10, 10) in p.planning_days  # 调休: the Saturday after National Day is a workday


def test_planning_starts_no_earlier_than_the_earliest_day():
    p = plan(orders=[order(1, soon=True)], earliest_day=date(2026, 12, 15))
    assert p.orders[1].day == date(2026, 12, 15)
    assert min(c.day for c in p.circuits) >= date(2026, 12, 15)


# ----------------------------------------------------------------------------------- scope and output


def test_planning_for_one_hospital_leaves_other_hospitals_alone():
    p = plan(orders=[order(1), order(2, specialty=BONES)], settings=PlanSettings(hospital_code="H1"))
    assert {c.hospital_code for c in p.circuits} == {"H1"}
    assert [f.place_code for f in p.frequency] == ["C1"]
    assert p.orders[2].covered and p.orders[1].reason is UncoveredReason.NO_SPECIALIST


def test_the_plan_is_deterministic():
    orders = [
        order(i, ("V11", "V12", "V21")[i % 3], (CARDIO, EYES, BONES)[i % 2], soon=i % 5 == 0) for i in range(1, 60)
    ]
    first = plan(orders=orders, experts=(CARDIOLOGIST, EYE_DOCTOR, CITY_ORTHOPAEDIST, TOWNSHIP_DOCTOR))
    again = plan(orders=list(reversed(orders)), experts=(TOWNSHIP_DOCTOR, CITY_ORTHOPAEDIST, EYE_DOCTOR, CARDIOLOGIST))
    assert first.circuits == again.circuits and first.orders == again.orders
    assert_no_double_booking(first)


def test_format_proposal_shows_waits_figures_and_a_month_grid():
    p = plan(orders=[order(1), order(2, soon=True, created=date(2026, 11, 30))])
    text = format_proposal(p)
    assert "巡诊排班建议：2026年12月" in text
    assert "订单覆盖：2 / 2（100.0%）" in text
    assert "订单 1 御帘村 心血管内科：12月1日上午在夏阳乡" in text and "预计等待 11 天" in text
    assert "（尽快）" in text
    assert "周一" in text and " 5:休" in text and " 1:" in text
    assert "将逾期地点：" in text and "【将逾期】" in text
    assert "另有 1 个订单未列出" in format_proposal(p, max_orders=1)


def test_proposed_circuits_convert_to_storable_circuits():
    p = plan(orders=[order(1)])
    c = p.circuits[0].to_circuit()
    assert isinstance(c, Circuit) and c.expert_ids == frozenset(p.circuits[0].expert_ids)


def test_parse_month():
    assert parse_month("2026-12") == DEC
    with pytest.raises(DomainError):
        parse_month("2026-13")


# -------------------------------------------------------------------------------------- bot.calendar_cn


def test_national_day_is_a_holiday_in_2026_and_in_the_estimated_2027():
    cal = ChineseCalendar()
    assert cal.is_holiday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 1))
    assert cal.is_holiday(date(2027, 10, 1)) and not cal.is_workday(date(2027, 10, 1))
    assert not cal.is_holiday(date(2026, 12, 5))  # a plain Saturday is a day off, not a holiday
    assert not cal.is_workday(date(2026, 12, 5))


def test_2027_never_raises():
    cal = ChineseCalendar()
    day = date(2027, 1, 1)
    while day.year == 2027:
        cal.is_holiday(day), cal.is_workday(day), cal.lunar_day(day)
        day += timedelta(days=1)
    assert cal.is_holiday(date(2027, 2, 6))  # 春节 2027: lunar 1/1
    assert cal.is_workday(date(2027, 3, 3))


def test_lunar_days_come_from_the_lunar_calendar():
    cal = ChineseCalendar()
    assert cal.lunar_day(date(2026, 2, 17)) == 1  # 2026 春节, 正月初一
    assert cal.lunar_day(date(2026, 12, 11)) == 3
    assert estimated_holidays(2026) >= {date(2026, 2, 17), date(2026, 9, 25), date(2026, 6, 19)}


def test_extra_holidays_come_from_the_environment_as_a_list_or_a_file(tmp_path):
    assert parse_holiday_setting("2027-01-02, 2027-01-03") == {date(2027, 1, 2), date(2027, 1, 3)}
    f = tmp_path / "holidays.txt"
    f.write_text("# 2027 notice\n2027-02-05\n2027-02-13\n", encoding="utf-8")
    cal = ChineseCalendar(Settings.from_env({"XUNZHEN_HOLIDAYS": str(f)}).extra_holidays)
    assert cal.is_holiday(date(2027, 2, 13)) and not cal.is_workday(date(2027, 2, 13))
    assert ChineseCalendar(Settings.from_env({}).extra_holidays).extra_holidays == frozenset()
    with pytest.raises(SystemExit, match="XUNZHEN_HOLIDAYS"):
        Settings.from_env({"XUNZHEN_HOLIDAYS": "2027-02-30"})
    with pytest.raises(ValueError):
        parse_holiday_setting("2027-02-30")


def test_planner_inputs_can_be_rebuilt_with_replace():
    base = inputs(orders=[order(1)])
    assert propose_plan(replace(base, orders=[]), FakeCalendar()).figures.orders_total == 0


def test_support_that_ends_mid_month_does_not_count_for_the_month():
    ending = SupportNetwork(
        [SupportRelation("CH1", "TC2", LONG_AGO, date(2026, 12, 15)), SupportRelation("TC2", "VP21", LONG_AGO)]
    )
    p = propose_plan(replace(inputs(orders=[order(1, "V21")]), support=ending), FakeCalendar())
    assert p.orders[1].reason is UncoveredReason.NO_SUPPORTER
    assert "该村没有支援医院" in format_proposal(p)
