"""``python -m bot plan --accept`` as an operator runs it on a real database file (a real process once).

Accepting a month's plan on the command line is the same use case as pressing 接受排班建议 in chat, so it tells
the same people: the filing village doctor and the resident linked to the order, both through the outbox (a
command line has no chat of its own to answer in).
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

from domain.orders import OrderStatus, Urgency
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import add_account, scheduled_order, worker_env
from tests.cli_runner import run_bot, run_bot_process
from tests.conftest import FIXED_NOW


def _plan(url: str, *args: str, process: bool = False) -> subprocess.CompletedProcess:
    """``plan --month 2026-12``: a real process, or in this process (``tests.cli_runner``)."""
    env = worker_env(url, None, FIXED_NOW, PYTHONIOENCODING="utf-8")
    return (run_bot_process if process else run_bot)(["plan", "--month", "2026-12", *args], env)


def test_plan_accept_on_the_command_line_tells_the_village_doctor_and_the_resident(templates, tmp_path, cipher):
    engine = templates.sqlite_engine(True, tmp_path / "cli.db")
    with SqlUnitOfWork(engine, cipher) as uow:
        o = scheduled_order(uow, None, FIXED_NOW)
        add_account(uow, "telegram", "9001", FIXED_NOW, staff="S0006")  # the filing village doctor
        add_account(uow, "telegram", "9002", FIXED_NOW, resident_id=o.resident_id)  # the resident, linked
        uow.commit()

    out = _plan(str(engine.url), "--hospital", "CH350421", "--accept", process=True)

    assert out.returncode == 0, out.stderr
    assert '"orders_scheduled": 1' in out.stderr
    with SqlUnitOfWork(engine, cipher) as uow:
        stored = uow.orders.get(o.id)
        assert stored is not None and stored.status is OrderStatus.SCHEDULED
        queued = {r.chat_id: r.text for r in uow.outbox.rows()}
    assert o.number in queued.get("9001", "") and "已排入巡诊" in queued["9001"]
    assert "已安排" in queued.get("9002", "") and o.number not in queued["9002"]
    engine.dispose()


def test_plan_accept_run_twice_tells_nobody_twice(templates, tmp_path, cipher):
    engine = templates.sqlite_engine(True, tmp_path / "cli.db")
    with SqlUnitOfWork(engine, cipher) as uow:
        o = scheduled_order(uow, None, FIXED_NOW)
        add_account(uow, "telegram", "9001", FIXED_NOW, staff="S0006")
        add_account(uow, "telegram", "9002", FIXED_NOW, resident_id=o.resident_id)
        uow.commit()

    assert _plan(str(engine.url), "--hospital", "CH350421", "--accept").returncode == 0
    again = _plan(str(engine.url), "--hospital", "CH350421", "--accept")

    assert again.returncode == 0, again.stderr
    assert '"orders_scheduled": 0' in again.stderr
    with SqlUnitOfWork(engine, cipher) as uow:
        chats = sorted(r.chat_id for r in uow.outbox.rows())
    assert chats == ["9001", "9002"]
    engine.dispose()


def _plan_on(url: str, now: datetime, *args: str) -> subprocess.CompletedProcess:
    """``plan`` in this process on a Wednesday (or ``now``), for the weeks ahead unless ``args`` name a month."""
    return run_bot(["plan", "--hospital", "CH350421", *args], worker_env(url, None, now, PYTHONIOENCODING="utf-8"))


WEDNESDAY = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # 10:30 in Sanming: Monday and Tuesday are past


def test_the_command_line_shows_the_weeks_ahead_and_leaves_past_days_blank_not_off(templates, tmp_path, cipher):
    engine = templates.sqlite_engine(True, tmp_path / "cli.db")
    with SqlUnitOfWork(engine, cipher) as uow:
        o = scheduled_order(uow, None, WEDNESDAY, urgency=Urgency.SOON)
        uow.commit()

    out = _plan_on(str(engine.url), WEDNESDAY)

    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "巡诊排班：11月25日至12月27日，明溪县总医院" in text
    grid = text.split("【日历】\n", 1)[1].splitlines()
    assert grid[0].split() == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert grid[1].split()[:1] == ["25:0"] and grid[1].split()[3:] == ["28:休", "29:休"]  # 23 and 24 are blank
    assert "休 为周末或节假日" in text and "空白的日子已经过去" in text  # and the legend says so
    urgent = next(line for line in text.splitlines() if o.number in line)
    # New circuits start the day after tomorrow (the day-before reminder always goes out): urgent waits 2 days.
    assert "（尽快）" in urgent and "11月27日（周五）" in urgent and "等待 2 天" in urgent
    assert not re.search(r"(?<!\d)0\d月|月0\d日", text)

    assert _plan_on(str(engine.url), WEDNESDAY, "--accept").returncode == 0
    again = _plan_on(str(engine.url), WEDNESDAY).stdout
    assert "已安排" in again and o.number in again and "（已排）" in again
    engine.dispose()


def test_a_month_is_planned_from_today_and_a_past_month_not_at_all(templates, tmp_path, cipher):
    engine = templates.sqlite_engine(True, tmp_path / "cli.db")
    this_month = _plan_on(str(engine.url), WEDNESDAY, "--month", "2026-11")
    assert this_month.returncode == 0, this_month.stderr
    assert "巡诊排班：2026年11月（11月25日至11月30日）" in this_month.stdout
    past = _plan_on(str(engine.url), WEDNESDAY, "--month", "2026-10")
    assert past.returncode == 2 and "2026年10月已经过去" in past.stderr
    engine.dispose()
