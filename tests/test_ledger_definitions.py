"""The health commission's figures as seed 003 words them (issue 18), on one month a clerk can count by hand.

[003 §一] "从县级以上医院抽调146名以上中级以上职称医师（其中市属医院医师占30%），进入全市所有乡镇卫生院、社区卫生服务
中心进行医疗帮扶，医师下基层服务累计达1606人次；“移动医院”每季度至少完成1次边远地区巡诊任务；三级医院对口帮扶县级医院
人次达20人次". The lectures, training, patients, special-population consultations and home visits of §三(二) are the
work of that same 医师下基层 activity. A provincial expert at a county hospital is 对口帮扶 (the 20 人次), a city
hospital's mobile hospital in a village is the 移动医院 project, a township doctor's village round is neither.
"""

from __future__ import annotations

from datetime import date

from domain.ledgers import CircuitFact, Ledger, LedgerInputs, RuleKey, StaffFact, parse_period
from domain.places import InstitutionKind, PlaceLevel

COUNTY, TOWN, TOWN2, VILLAGE = "350421", "350421101", "350421102", "350421101001"
KINDS = {"CH": InstitutionKind.COUNTY_HOSPITAL, "CITY": InstitutionKind.CITY_HOSPITAL,
         "PROV": InstitutionKind.PROVINCIAL_HOSPITAL, "TC": InstitutionKind.TOWNSHIP_CENTER}
LEVELS = {COUNTY: PlaceLevel.COUNTY, TOWN: PlaceLevel.TOWNSHIP, TOWN2: PlaceLevel.TOWNSHIP,
          VILLAGE: PlaceLevel.VILLAGE}
A, B, C, D, E, F, G, H = range(1, 9)
STAFF = {
    A: ("CH", "中级"), B: ("CH", "副高"), C: ("CH", "初级"), D: ("CITY", "中级"), E: ("CITY", "正高"),
    F: ("PROV", "正高"), G: ("TC", "中级"), H: ("CH", "中级"),
}


def circuit(cid: int, hospital: str, place: str, day: date, level: str, experts: tuple[int, ...],
            absent: dict[int, str | None] | None = None) -> CircuitFact:
    return CircuitFact(cid, hospital, place, day, "am", level, "planned", experts, absent or {})


def march(period: str = "2026-03", as_of: date = date(2026, 3, 31)) -> Ledger:
    """March 2026 in one county, as of 31 March (or a later month of the same year)."""
    circuits = [
        circuit(1, "CH", TOWN, date(2026, 3, 3), "township", (A, B, C)),  # C is 初级: not one of the 146
        circuit(2, "CH", TOWN2, date(2026, 3, 3), "township", (A,)),  # A again the same day: one 人次
        circuit(3, "CITY", TOWN, date(2026, 3, 10), "township", (D,)),  # a city doctor at a township center
        circuit(4, "CITY", COUNTY, date(2026, 3, 12), "county", (D, E)),  # 对口帮扶 at the county hospital
        circuit(5, "PROV", COUNTY, date(2026, 3, 13), "county", (F,)),  # a provincial expert, same
        circuit(6, "CITY", VILLAGE, date(2026, 3, 14), "mobile", (E,)),  # the mobile hospital in a village
        circuit(7, "TC", VILLAGE, date(2026, 3, 17), "village", (G,)),  # the township doctor's village round
        circuit(8, "CH", TOWN, date(2026, 3, 20), "township", (H,), {H: None}),  # H did not come
        circuit(9, "CH", VILLAGE, date(2026, 3, 24), "village", (B,)),  # a county doctor in a village
        circuit(10, "CH", TOWN, date(2026, 4, 2), "township", (H,)),  # after the as-of day
    ]
    staff = {sid: StaffFact(sid, f"S{sid:04d}", f"医师{sid}", inst, title, title != "初级")
             for sid, (inst, title) in STAFF.items()}
    return Ledger(LedgerInputs(
        period=parse_period(period),
        as_of=as_of,
        circuits=circuits,
        orders=[(1, A, "served", True, 1), (1, A, "served", False, 1), (7, G, "served", False, 3)],
        work=[(1, A, "lecture", 2, 60), (7, G, "lecture", 1, 25), (4, D, "training", 1, 30),
              (3, D, "home_visit", 1, 2)],
        staff=staff,
        institution_kinds=KINDS,
        place_levels=LEVELS,
        unit_of_place={COUNTY: COUNTY, TOWN: TOWN, TOWN2: TOWN2, VILLAGE: TOWN},
    ))


def test_the_146_physicians_are_intermediate_title_doctors_of_county_and_higher_hospitals_at_township_centers():
    a = march().actuals()
    # A, B (county hospital) and D (city hospital) were at a township center; C is junior, E and F were only at the
    # county hospital or on the mobile hospital, G is the township's own doctor, H was absent. (It was 5 before.)
    assert a.physicians == 3
    assert a.city_share_pct == 33.3  # D of the three (it was 40.0: D and E of five)
    assert a.person_visits == 3  # (A, 3 March), (B, 3 March), (D, 10 March); it was 6 (villages, C)


def test_the_tertiary_to_county_figure_and_the_mobile_hospital_keep_their_own_visits():
    a = march().actuals()
    assert a.tertiary_to_county == 3  # D and E on 12 March, F on 13 March
    assert a.mobile_quarters == 1


def test_the_work_figures_count_the_work_of_physicians_sent_to_township_centers():
    a = march().actuals()
    assert a.lectures == 2  # two lectures at 雪峰镇; the township doctor's village talk is not 医师下基层
    assert a.training_person_times == 0  # the training was at the county hospital (对口帮扶)
    assert a.home_visits == 2
    assert a.patients == 2 + 2  # two served orders and two home visits; the village round's 3 are not counted
    assert a.special_consults == 1


def test_only_physicians_sent_to_township_centers_owe_a_day_a_month_there():
    """The one-day-a-month rule of [003 §二(一)] is for 下基层支援医师: in April the provincial expert (对口帮扶 at the
    county hospital) and the mobile hospital's doctor owe no day at a township center."""
    ledger = march("2026-04", date(2026, 4, 30))
    flagged = {v.staff_id for v in ledger.violations() if v.rule is RuleKey.MONTHLY_DAY}
    assert flagged == {A, B, C, D}  # H came on 2 April; E and F were never sent to a township center
