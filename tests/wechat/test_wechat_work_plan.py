"""A hospital reviewer plans circuits on WeCom, as they would: /help, /plan, accept, /plan again.

Written from the reviewer's side (issues 17 and 18): what they read must fit WeCom's 2,048-byte texts without a
line cut in half, name orders by the XZ numbers printed everywhere else, write dates one way ("12月1日（周二）上午",
never "01月"), give an order marked 尽快 a wait of days, and still show the circuits once they were accepted.
"""

from __future__ import annotations

import re

from domain.orders import Urgency
from tests.circuits.circuit_helpers import scheduled_order
from tests.conftest import FIXED_NOW
from tests.wechat.wechat_driver import STAFF, Driver

WECOM_TEXT_BYTES = 2048
CIRCUIT_LINE = re.compile(r"^\s*\d{1,2}月\d{1,2}日（周[一二三四五六日]）[上下]午", re.M)
PADDED_DATE = re.compile(r"(?<!\d)0\d月|月0\d日|(?<!\d)\d{2}-\d{2}(?!\d)")
# (resident, village, specialty, expert): 明溪县总医院's experts, villages of 雪峰镇 and 城关乡
DEMAND = [("王霞月", "350421101001", "10", "S0004"), ("曾颖涵", "350421101002", "03.02", "S0007"),
          ("黎娟", "350421101003", "50.13", "S0008"), ("黄德瑞", "350421105001", "03.01", "S0009"),
          ("钟丽珍", "350421105001", "03.04", "S0003")]


def seed_awaiting_orders(app, demand=DEMAND, rounds: int = 1) -> tuple[str, list[str]]:
    """Orders the hospital sent to a circuit, not yet on one: one marked 尽快, the rest routine. Their numbers."""
    with app.uow() as uow:
        urgent = scheduled_order(uow, None, FIXED_NOW, "邱瑞鹏", urgency=Urgency.SOON)
        routine = [scheduled_order(uow, None, FIXED_NOW, name, village=village, specialty=spec, expert=expert)
                   for _ in range(rounds) for name, village, spec, expert in demand]
        uow.commit()
    return urgent.number, [o.number for o in routine]


async def shown_after(d: Driver, user: str, text: str) -> list[str]:
    """What ``user`` sees in answer to typing ``text``, each message checked against WeCom's text limit."""
    before = len(d.screens[user])
    await d.say(user, text)
    shown = d.texts(user)[before:]
    assert shown, f"no answer to {text!r}"
    for message in shown:
        assert len(message.encode()) <= WECOM_TEXT_BYTES, (len(message.encode()), message)
        assert not PADDED_DATE.search(message), message
    return shown


def proposed_count(text: str) -> int:
    m = re.search(r"建议新增 (\d+) 场", text)
    assert m, text
    return int(m.group(1))


def listed_count(text: str) -> int:
    """Proposed circuits listed one a line, plus those summarised as "另有 N 场"."""
    proposed = text.split("【建议新增】", 1)[1].split("【", 1)[0]
    more = sum(int(n) for n in re.findall(r"另有 (\d+) 场", proposed))
    return len(CIRCUIT_LINE.findall(proposed)) + more


async def test_a_reviewer_plans_on_wecom_accepts_and_still_sees_the_circuits(wecom: Driver):
    d = wecom
    await d.login("hospital", *STAFF["hospital"])
    urgent, routine = seed_awaiting_orders(d.app)

    help_text = "\n".join(await shown_after(d, "hospital", "/help"))
    assert "/plan" in help_text and re.search(r"/plan (YYYY-MM|\d{4}-\d{2}|年-月)", help_text), help_text

    plan = "\n".join(await shown_after(d, "hospital", "/plan"))
    for number in (urgent, *routine):
        assert number in plan, (number, plan)
    assert not re.search(r"订单 \d+ [^个]", plan), plan  # internal ids ("订单 1 城东村") are not what anyone else sees
    urgent_line = next(line for line in plan.splitlines() if urgent in line)
    wait = re.search(r"等待 (\d+) 天", urgent_line)
    assert wait and int(wait.group(1)) <= 7, urgent_line  # 尽快 means this week, not next month
    new = proposed_count(plan)
    assert new > 0 and listed_count(plan) == new, plan

    await d.press("hospital", "接受")
    again = "\n".join(await shown_after(d, "hospital", "/plan"))
    assert f"已安排 {new} 场" in again, again  # the accepted plan is still there
    assert "建议巡诊 0 场" not in again
    assert urgent in again, again  # and still names the orders it carries


async def test_a_busy_plan_is_split_or_summarised_on_wecom_never_cut_mid_line(wecom: Driver):
    d = wecom
    await d.login("hospital", *STAFF["hospital"])
    seed_awaiting_orders(d.app, rounds=6)

    shown = await shown_after(d, "hospital", "/plan")
    plan = "\n".join(shown)
    assert listed_count(plan) == proposed_count(plan), plan
    for message in shown:  # every circuit line is whole: it ends with its number of orders
        for line in message.splitlines():
            if CIRCUIT_LINE.match(line):
                assert re.search(r"(订单 \d+ 个|无订单)$", line), line
