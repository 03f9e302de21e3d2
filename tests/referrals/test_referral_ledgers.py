"""The referral ledger as the health commission reads it: the monthly report (Markdown, the same sheets as the
workbook) and the dashboard count up- and down-referrals, slot use, no-shows and overdue follow-ups per county and
hospital."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

from domain.followups import PlanItem
from domain.referrals import ReferralAction
from handlers.services.followups import sweep_followups
from handlers.services.referrals import discharge, mark, publish_slots, refer_up
from tests.cli_runner import run_bot
from tests.conftest import ON_SQLITE_FILES, TEST_KEY, dashboard_password_hash
from tests.referrals.helpers import HOSPITAL, NOW, referred_order, reviewer, slot


def world(app, clock) -> None:
    """Three referrals of 明溪县 to its county hospital in November: one discharged with a plan whose 7-day check
    lapsed, one no-show, one waiting (no slot left); 5 places reserved, 2 booked."""
    with app.uow() as uow:
        publish_slots(uow, None, HOSPITAL, [slot(date(2026, 11, 24), capacity=2), slot(date(2026, 11, 25),
                                                                                         capacity=3, specialty="10")],
                      NOW)
        actor = reviewer(uow)
        ids = [refer_up(uow, actor, referred_order(uow, resident=n), NOW).referral.id for n in ("邱瑞鹏", "王霞月")]
        refer_up(uow, actor, referred_order(uow, resident="邱瑞鹏"), NOW)  # the 2 places are taken: it waits
        for a in (ReferralAction.ARRIVE, ReferralAction.SEE):
            mark(uow, actor, ids[0], a, NOW)
        discharge(uow, actor, ids[0], (PlanItem("测血压", 1),), NOW)
        mark(uow, actor, ids[1], ReferralAction.NO_SHOW, NOW + timedelta(days=1))  # on the appointment's day
        uow.commit()
    clock.now = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # the 11月24日 check is 4 days late
    assert sweep_followups(app.uow, clock).lapsed == 1


@ON_SQLITE_FILES
def test_the_monthly_report_has_the_referral_ledger(chat_engine, app, clock, tmp_path):
    world(app, clock)
    env = {**os.environ, "DATABASE_URL": str(chat_engine.url), "XUNZHEN_SECRET_KEY": TEST_KEY,
           "XUNZHEN_FAKE_NOW": "2026-11-30T10:30:00+08:00", "PYTHONIOENCODING": "utf-8", "MPLBACKEND": "Agg"}
    out = run_bot(["report", "--period", "2026-11", "--format", "md", "--out", str(tmp_path / "r.md")], env)
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    section = md.split("## 双向转诊")[1]
    assert r"| 明溪县 | 明溪县总医院 | 3 | 2 | 1 | 50\.0% | 1 | 1 |" in section, section
    assert r"| 明溪县总医院 | 5 | 2 | 40\.0% | 0 |" in section, section


async def test_the_dashboard_overview_shows_the_referral_ledger_to_the_hospital(app, clock):
    import re

    from aiohttp.test_utils import TestClient, TestServer

    from bot.web.dashboard import DashboardServices, make_app

    world(app, clock)
    with app.uow() as uow:
        reviewer_id = uow.staff.by_code("S0002").id
        uow.ledgers.set_password_hash(reviewer_id, dashboard_password_hash("mingxi-review-2"), clock())
        uow.commit()
    async with TestClient(TestServer(make_app(DashboardServices(uow=app.uow, clock=clock)))) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        await client.post("/login", data={"code": "S0002", "password": "mingxi-review-2", "csrf": token})
        html = await (await client.get("/?period=2026-11")).text()
    section = html.split('id="referrals"')[1]
    assert ("<td>明溪县</td><td>明溪县总医院</td><td class='n'>3</td><td class='n'>2</td><td class='n'>1</td>"
            "<td class='n'>1</td><td class='n'>1</td>") in section, section[:600]
    assert "<td>明溪县总医院</td><td class='n'>5</td><td class='n'>2</td><td class='n'>40%</td>" in section
