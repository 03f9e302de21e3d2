"""``python -m bot plan --accept`` as an operator runs it on a real database file (a real process once).

Accepting a month's plan on the command line is the same use case as pressing 接受排班建议 in chat, so it tells
the same people: the filing village doctor and the resident linked to the order, both through the outbox (a
command line has no chat of its own to answer in).
"""

from __future__ import annotations

import subprocess

from domain.orders import OrderStatus
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
