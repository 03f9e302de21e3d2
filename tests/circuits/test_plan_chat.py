"""Hospital reviewers plan circuits in chat: proposal, accept, move (update notice), cancel, conflicts."""

# The conversation fixtures are imported from tests/handlers, so test parameters shadow them by design.
# ruff: noqa: F811

from __future__ import annotations

import re
from datetime import UTC, datetime

from domain.circuits import CircuitStatus
from domain.orders import OrderStatus, Urgency
from handlers.services.announcements import Announcer
from tests.circuits.circuit_helpers import Clock, china, make_circuit, scheduled_order
from tests.conftest import ALSO_ON_POSTGRES, FIXED_NOW
from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401 - the conversation fixtures


def _awaiting_order(app):
    with app.uow() as uow:
        o = scheduled_order(uow, None, FIXED_NOW)
        uow.commit()
    assert o.status is OrderStatus.AWAITING_CIRCUIT
    return o


def _order(app, oid):
    with app.uow() as uow:
        return uow.orders.get(oid)


@ALSO_ON_POSTGRES
def test_a_hospital_reviewer_accepts_the_proposal_and_the_order_is_scheduled(chat, cast, app):
    o = _awaiting_order(app)
    chat.say("hospital", "/plan 2026-12")
    text = "\n".join(chat.texts("hospital"))
    assert "巡诊排班：2026年12月（12月1日至12月31日）" in text and "待排订单 1 个：可安排 1 个" in text
    chat.press("hospital", "接受建议")
    assert "已接受排班建议" in chat.last("hospital")
    stored = _order(app, o.id)
    assert stored.status is OrderStatus.SCHEDULED and stored.circuit_id
    assert any(o.number in t and "已排入巡诊" in t for t in chat.texts("doctor"))
    with app.uow() as uow:
        assert uow.schedule.changes(stored.circuit_id)[0][0] == "created"


def test_moving_a_circuit_warns_of_conflicts_and_queues_an_update_notice(chat, cast, app):
    o = _awaiting_order(app)
    chat.say("hospital", "/plan new 350421101 2026-12-08 上午 S0003")
    assert "已新建巡诊" in chat.last("hospital")
    chat.say("hospital", "/plan new 350421101002 2026-12-08 上午 S0003")  # the same expert, same half-day
    assert any("已有巡诊" in t for t in chat.texts("hospital")[-2:])
    chat.say("hospital", "/plan list")
    chat.press("hospital", "添加订单")
    chat.press("hospital", o.number)
    assert "已排入巡诊" in chat.last("hospital")
    circuit_id = _order(app, o.id).circuit_id
    chat.say("hospital", "/plan list")
    chat.press("hospital", "改期")
    chat.say("hospital", "2026-12-05 下午")  # a Saturday
    texts = chat.texts("hospital")[-2:]
    assert any("已改为" in t for t in texts) and any("节假日或周末" in t for t in texts)
    res = Announcer(app.uow, Clock(china("2026-11-23 10:31"))).sweep()
    assert res.fanned_out == 1
    with app.uow() as uow:
        kinds = [(a.kind, a.recipients) for a in uow.schedule.announcements(circuit_id)]
        assert kinds[0][0] == "update" and kinds[0][1] >= 1  # at least the filing doctor's account


@ALSO_ON_POSTGRES
def test_cancelling_a_circuit_returns_its_orders_and_sends_a_cancellation(chat, cast, app):
    o = _awaiting_order(app)
    chat.say("hospital", "/plan new 350421101 2026-12-08 上午 S0003")
    chat.press("hospital", "添加订单")
    chat.press("hospital", o.number)
    circuit_id = _order(app, o.id).circuit_id
    chat.say("hospital", "/plan list")
    chat.press("hospital", "取消巡诊")
    chat.press("hospital", "确认取消")
    assert "已取消" in chat.last("hospital")
    assert _order(app, o.id).status is OrderStatus.AWAITING_CIRCUIT
    Announcer(app.uow, Clock(china("2026-11-23 10:31"))).sweep()
    with app.uow() as uow:
        assert [a.kind for a in uow.schedule.announcements(circuit_id)] == ["cancel"]
        assert any("取消" in r.text for r in uow.outbox.rows())


def test_other_roles_cannot_plan(chat, cast):
    chat.say("doctor", "/plan")
    assert "不适用于您当前的身份" in chat.last("doctor")


def test_cancelling_a_circuit_with_more_than_a_thousand_orders_returns_every_one(chat, cast, app):
    with app.uow() as uow:
        c = make_circuit(uow)
        ids = [scheduled_order(uow, c, FIXED_NOW).id for _ in range(1_001)]
        uow.commit()
    chat.say("hospital", "/plan list")
    chat.press("hospital", "取消巡诊")
    chat.press("hospital", "确认取消")
    assert "已取消" in chat.last("hospital") and "1001" in chat.last("hospital")
    with app.uow() as uow:
        stored = uow.circuits.get(c.id)
        assert stored is not None and stored.status is CircuitStatus.CANCELLED
        assert uow.orders.list(circuit_id=c.id, limit=2_000) == []
        assert {uow.orders.get(i).status for i in ids} == {OrderStatus.AWAITING_CIRCUIT}


def test_on_the_second_of_the_month_an_urgent_order_is_seen_within_days_not_next_month(chat, cast, app, clock):
    clock.now = datetime(2026, 11, 2, 2, 30, tzinfo=UTC)  # Monday 2 November, 10:30 in Sanming
    with app.uow() as uow:
        o = scheduled_order(uow, None, clock.now, urgency=Urgency.SOON)
        uow.commit()
    chat.say("hospital", "/plan")
    text = "\n".join(out.text for out in chat.last_out)
    assert text.startswith("巡诊排班：11月2日至12月6日")
    line = next(line for line in text.splitlines() if o.number in line)
    wait = re.search(r"→ (11月\d+日)（周.）[上下]午 .*等待 (\d+) 天", line)
    assert wait and int(wait.group(2)) <= 3, line  # was "预计等待 30 天": /plan planned December


def test_a_month_already_over_is_not_planned(chat, cast):
    chat.say("hospital", "/plan 2026-10")
    assert "2026年10月已经过去" in chat.last("hospital")


def test_the_plan_in_chat_names_its_forecast_will_be_overdue_as_the_command_line_does(chat, cast, app):
    chat.say("hospital", "/plan 2026-12")
    text = "\n".join(chat.texts("hospital"))
    assert "频次逾期" not in text and "已逾期" not in text  # a forecast: what this plan will not reach in time
    assert all("将逾期" in line for line in text.splitlines() if "逾期" in line)
