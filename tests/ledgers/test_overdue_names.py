"""Issue 18: ``plan --month 2026-12`` said "频次逾期地点：256 个" while the report and the dashboard said 0 for the same
month. Both were right about different things: the plan forecasts places its proposal will not reach by their due
dates (将逾期), the report counts due dates already past (已逾期). Each is named for what it counts, says so, and
shows the same figure wherever it appears."""

from __future__ import annotations

import os
import re

from aiohttp.test_utils import TestClient, TestServer

from bot.web.dashboard import DashboardServices, make_app
from tests.cli_runner import run_bot
from tests.conftest import TEST_KEY
from tests.ledgers.conftest import PASSWORDS, Clock
from tests.ledgers.test_report_cli import bot


def _env(db, var) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "XUNZHEN_SECRET_KEY": TEST_KEY,
            "XUNZHEN_VAR_DIR": str(var), "XUNZHEN_FAKE_NOW": "2026-12-04T09:10", "PYTHONIOENCODING": "utf-8"}


def section(md: str, heading: str) -> list[str]:
    """The table rows under ``## heading`` of a Markdown report (header and rule left out)."""
    part = md.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("|")][2:]


def test_the_plan_says_will_be_overdue_and_the_report_says_already_overdue(templates, tmp_path):
    engine = templates.sqlite_engine(True, tmp_path / "xz.db")  # the demo data, no circuit yet
    engine.dispose()
    env = _env(tmp_path / "xz.db", tmp_path)
    plan = run_bot(["plan", "--month", "2026-12"], env)
    assert plan.returncode == 0, plan.stderr
    headline = re.search(r"将逾期地点：(\d+) 个", plan.stdout)
    assert headline and int(headline.group(1)) > 0, plan.stdout[:600]
    assert re.search(r"【将逾期】(\d+ 项|无)", plan.stdout), plan.stdout[-600:]  # its own section, same name
    assert "频次逾期" not in plan.stdout and "已逾期" not in plan.stdout.split("【月历】")[0].replace("“已逾期”", "")
    assert "本建议" in plan.stdout.split("【月历】")[0]  # says it is a forecast of this proposal

    ran = run_bot(["report", "--period", "2026-12", "--format", "md", "--out", str(tmp_path / "r.md")], env)
    assert ran.returncode == 0, ran.stderr
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## 已逾期地点" in md and "将逾期地点" not in md and "频次逾期" not in md
    assert section(md, "已逾期地点") == []  # on 4 December no weekly or monthly due date of December has passed
    assert "应巡日期已过" in md  # and the report says what it counts


async def test_the_dashboard_page_and_the_report_count_the_same_places_already_overdue(sqlite_world, tmp_path):
    _, factory, db = sqlite_world
    out = tmp_path / "r.md"
    ran = bot("report", "--period", "2026", "--format", "md", "--out", str(out), db=db)
    assert ran.returncode == 0, ran.stderr
    rows = section(out.read_text(encoding="utf-8"), "已逾期地点")
    assert rows
    async with TestClient(TestServer(make_app(DashboardServices(uow=factory, clock=Clock())))) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        await client.post("/login", data={"code": "S0001", "password": PASSWORDS["S0001"], "csrf": token})
        page = await (await client.get("/overdue?period=2026")).text()
    assert re.search(r"<h1>已逾期地点 .*· (\d+) 处", page).group(1) == str(len(rows))
    assert "已逾期地点" in page and "将逾期地点" not in page
