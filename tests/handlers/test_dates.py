"""Dates as people read them (issue 18): one way of writing a date ("1月4日（周一）", never "01月04日" or "2026-01-04"),
and Sanming's day (Asia/Shanghai) wherever a person reads one — /mydata showed the UTC date while order numbers
used China's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.ledgers import CircuitFact, Ledger, LedgerInputs, RuleKey, StaffFact, parse_period
from domain.places import InstitutionKind, PlaceLevel

MACHINE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\b0\d月|\b\d{2}-\d{2}\b")


def test_my_data_shows_the_day_in_sanming_not_in_utc(chat, clock):
    clock.now = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 01:30 on 23 November in Sanming
    chat.say("villager", "/start v_350421101001")
    chat.say("villager", "/mydata")
    text = chat.last("villager")
    assert "2026年11月23日" in text and "11-22" not in text and "2026-11-2" not in text, text


def test_a_circuit_not_held_yet_is_dated_as_every_message_dates_it(chat, cast, app):
    with app.uow() as uow:
        expert = uow.staff.by_code("S0003")
        c = Circuit("CH350421", "350421101", date(2026, 12, 20), HalfDay.AM, CircuitLevel.TOWNSHIP,
                    frozenset({expert.id}))
        uow.circuits.add(c)
        uow.commit()
    chat.say("cardiologist", "/circuits")
    chat.press("cardiologist", "记录其他工作")
    answer = chat.last("cardiologist")
    assert "12月20日" in answer and not MACHINE_DATE.search(answer), answer


def test_rule_warnings_list_the_days_of_absences_like_the_chat():
    staff = {1: StaffFact(1, "S0001", "医师", "CH", "中级", True)}
    circuits = [CircuitFact(i, "CH", "350421101", day, "am", "township", "planned", (1,), {1: None})
                for i, day in enumerate((date(2026, 3, 3), date(2026, 5, 12)), start=1)]
    ledger = Ledger(LedgerInputs(parse_period("2026-06"), date(2026, 6, 30), circuits, [], [], staff,
                                 {"CH": InstitutionKind.COUNTY_HOSPITAL}, {"350421101": PlaceLevel.TOWNSHIP}, {},
                                 key_physicians=frozenset({1})))
    details = {v.rule: v.detail for v in ledger.violations()}
    assert "3月3日、5月12日" in details[RuleKey.ABSENCE]
    assert "截至6月30日" in details[RuleKey.KEY_DAYS]
    assert not any(MACHINE_DATE.search(d) for d in details.values()), details
