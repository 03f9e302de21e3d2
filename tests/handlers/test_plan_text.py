"""How the plan reads (handlers/plan_text.py): the command line's report and grid, and chat texts that fit."""

from __future__ import annotations

import re
from datetime import date, timedelta

from handlers import plan_text
from handlers.plan_text import MESSAGE_BYTES, pack, plan_messages, plan_report
from handlers.services.planning import PlanRequest, PlanView, propose
from tests.test_planning import CARDIO, DEC, PLACES, FakeCalendar, inputs, order

NUMBERS = {i: f"XZ-20261120-{i:04d}" for i in range(1, 100)}


def view_of(first: date, last: date, *, month: date | None = None, today: date | None = None, **kw) -> PlanView:
    """A plan for ``first``..``last`` of the small county in tests/test_planning.py, nothing scheduled yet."""
    today = today or first
    plan_inputs = inputs(earliest_day=today + timedelta(days=1), latest_day=last, **kw)
    request = PlanRequest(
        first=first, last=last, today=today, month=month, hospital_code=None, hospital_name=None,
        inputs=plan_inputs, scheduled=[], numbers=NUMBERS,
        staff_names={s.id: s.name for s in plan_inputs.experts if s.id is not None},
        staff_codes={s.id: s.code for s in plan_inputs.experts if s.id is not None},
        place_names={p.code: p.name for p in PLACES},
    )
    return propose(request, FakeCalendar())


def test_the_report_words_what_the_planner_found_with_xz_numbers_and_one_date_format():
    away = {2: {DEC + timedelta(days=i) for i in range(31)}}  # the eye doctor is away all month
    view = view_of(DEC, date(2026, 12, 31), month=DEC, today=date(2026, 11, 30), leave=away,
                   orders=[order(1), order(2, soon=True, created=date(2026, 11, 30)), order(3, specialty="15")])
    text = plan_report(view)
    assert "巡诊排班：2026年12月（12月1日至12月31日）" in text
    assert "订单覆盖：2 / 3（66.7%）" in text
    assert "XZ-20261120-0001 御帘村 心血管内科 → 12月1日（周二）上午 夏阳乡，等待 11 天" in text
    assert "XZ-20261120-0002 御帘村 心血管内科（尽快） → 12月1日（周二）上午 夏阳乡，等待 1 天" in text
    assert "XZ-20261120-0003 御帘村 精神科：排不进——支援医院中没有该专科的专家" in text
    assert "肖坊村（村级，每周≥1次）应于 12月7日 前巡诊：直接支援单位没有可派人员" in text
    assert "【下沉天数不足】1 项" in text and "专家2（S2）12月在受援单位 0 天，少于 1 天" in text
    assert "专家2 12月没有空闲日可到受援单位，少于每月 1 天" in text
    assert not re.search(r"订单 \d+ [^个]|(?<!\d)0\d月|月0\d日|\d{2}-\d{2} ", text)


def test_the_grid_leaves_days_already_past_blank_and_marks_only_days_off_as_off():
    view = view_of(date(2026, 12, 2), date(2026, 12, 13), orders=[order(1, created=date(2026, 12, 2))])
    grid = plan_report(view).split("【日历】\n", 1)[1].splitlines()
    first_week, second_week = grid[1], grid[2]
    assert first_week.startswith(" " * 16) and first_week.split()[0] == "2:0"  # Monday 30, Tuesday 1: blank
    assert first_week.split()[-2:] == ["5:休", "6:休"]  # the weekend is off
    assert second_week.split()[-2:] == ["12:休", "13:休"] and len(grid[3].split()) < 7  # and then the plan ends
    assert "休 为周末或节假日" in grid[3] and "空白的日子已经过去" in grid[3]


def test_chat_texts_fit_every_platform_and_list_circuits_up_to_a_limit_counting_the_rest(monkeypatch):
    monkeypatch.setattr(plan_text, "CHAT_CIRCUITS", 3)
    view = view_of(date(2026, 11, 30), date(2027, 1, 3),
                   orders=[order(i, ("V11", "V21")[i % 2], created=date(2026, 11, 30)) for i in range(1, 9)])
    texts = plan_messages(view)
    assert all(len(t.encode()) <= MESSAGE_BYTES for t in texts)
    proposed = "\n".join(texts).split("【建议新增】", 1)[1].split("【", 1)[0]
    lines = re.findall(r"^\d{1,2}月\d{1,2}日（周.）[上下]午 .+｜(?:订单 \d+ 个|无订单)$", proposed, re.M)
    more = re.search(r"……另有 (\d+) 场（(\d{1,2}月\d{1,2}日)起）", proposed)
    assert len(lines) == 3 and more and 3 + int(more.group(1)) == len(view.proposal.circuits)
    assert "〔11月30日—12月6日〕" in proposed  # grouped by week


def test_pack_keeps_blocks_together_where_they_fit_and_never_cuts_a_line():
    block = [f"12月{d}日（周二）上午 夏阳乡（圩日）｜{CARDIO}｜专家{d}｜订单 {d} 个" for d in range(1, 30)]
    texts = pack([["巡诊排班"], block[:3], block[:4], block], limit=500)
    assert all(len(t.encode()) <= 500 for t in texts)
    assert texts[0] == "\n".join(["巡诊排班", "", *block[:3]])  # the next block would not fit: a text of its own
    assert texts[1].startswith("\n".join([*block[:4], "", block[0]]))  # one too long for any text goes on there
    assert [line for t in texts for line in t.splitlines() if line][8:] == block  # every line whole, in order
