"""Issue 16, as an outsider sees it: the clerk's command line and the dashboard give the same figures.

The same database, scope and period, once through ``python -m bot report`` (a real process) and once through the
dashboard's report download over HTTP, logged in as the city commission's administrator: the two reports must be
the same, line for line.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.dashboard import DashboardServices, make_app
from tests.ledgers.conftest import PASSWORDS, Clock
from tests.ledgers.ledger_world import MINGXI
from tests.ledgers.test_report_cli import bot


@pytest.fixture(scope="module")
def world(sqlite_world):
    """The seeded year, with the county's own yearly targets set the way a clerk sets them."""
    _, _, db = sqlite_world
    ran = bot("target", "--place", MINGXI, "--year", "2026", "--set", "lectures=12", "patients=300", db=db)
    assert ran.returncode == 0, ran.stderr
    return sqlite_world


async def dashboard_report(factory, code: str, query: str) -> str:
    """Log in as ``code`` and download ``/report?QUERY`` as Markdown."""
    async with TestClient(TestServer(make_app(DashboardServices(uow=factory, clock=Clock())))) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        resp = await client.post(
            "/login", data={"code": code, "password": PASSWORDS[code], "csrf": token}, allow_redirects=False
        )
        assert resp.status == 303
        resp = await client.get(f"/report?{query}&format=md")
        assert resp.status == 200, await resp.text()
        return await resp.text()


@pytest.mark.parametrize(
    ("period", "county", "query"),
    [
        ("2026-11", None, "period=2026-11"),  # the whole city: the admin's own view, the command line's default
        ("2026-Q4", MINGXI, f"period=2026-Q4&county={MINGXI}"),  # one county: the admin narrows, the clerk asks
    ],
)
async def test_the_command_line_report_and_the_dashboard_download_give_the_same_figures(
    world, tmp_path, period, county, query
):
    _, factory, db = world
    out = tmp_path / "report.md"
    args = ["report", "--period", period, "--format", "md", "--out", str(out)]
    ran = bot(*args, *(["--county", county] if county else []), db=db)
    assert ran.returncode == 0, ran.stderr
    from_cli = out.read_text(encoding="utf-8")
    from_dashboard = await dashboard_report(factory, "S0001", query)
    assert "## 问题线索台账" in from_cli and "| 诊疗人次 |" in from_cli  # a report with figures, not an empty one
    if county:
        assert "| 学术讲座 | 场次 | 12 |" in from_cli  # the county's own targets, not the city's
    assert from_dashboard.splitlines() == from_cli.splitlines()
