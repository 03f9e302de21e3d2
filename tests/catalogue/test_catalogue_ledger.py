"""The catalogue ledger as the medical administration section reads it (issue 20 part 3): each township center's
catalogue against the 80/50 target and the share of matching orders handled locally, in the report's workbook and
CSV files (``python -m bot report``) and on the dashboard's 首诊病种目录 page. SQLite file."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from domain.orders import Action
from domain.staff import Role
from handlers.services import catalogue as cat
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import worker_env
from tests.cli_runner import run_bot
from tests.conftest import FIXED_NOW
from tests.ledgers.conftest import Clock
from tests.test_storage_contract import _new_order

CENTER, CENTRAL = "TC350421101", "TC350421102"  # 雪峰镇卫生院 (general), 盖洋镇卫生院 (held to central here)
PASSWORD = "mingxi-review-2"


@pytest.fixture
def world(templates, tmp_path, cipher):
    """A seeded database where 雪峰镇 adopted the starting list and handled one of two matching orders itself."""
    from bot.web.dashboard import hash_password

    engine = templates.sqlite_engine(True, tmp_path / "ledger.db")
    factory = lambda: SqlUnitOfWork(engine, cipher)  # noqa: E731
    with factory() as uow:
        cat.adopt_default(uow, None, CENTER, FIXED_NOW - timedelta(days=20))
        cat.set_tier(uow, None, CENTRAL, "central", FIXED_NOW)
        cat.add_entry(uow, None, CENTRAL, "高血压", "I10", FIXED_NOW - timedelta(days=20))
        township = uow.staff.by_code("S0005")
        first, second = _new_order(uow, "血压高，头晕"), _new_order(uow, "老胃病又犯了")
        for o in (first, second, _new_order(uow, "眼睛花")):
            cat.match_order(uow, o, FIXED_NOW)
        first.apply(Action.TOWNSHIP_HANDLE_LOCAL, actor_staff_id=township.id, actor_role=Role.TOWNSHIP_REVIEWER,
                    now=FIXED_NOW)
        uow.orders.save(first)
        reviewer = uow.staff.by_code("S0002")
        uow.ledgers.set_password_hash(reviewer.id, hash_password(PASSWORD), FIXED_NOW)
        uow.commit()
    yield str(engine.url), factory
    engine.dispose()


def test_the_report_lists_each_centers_catalogue_against_80_and_50_and_the_local_share(world, tmp_path):
    url, _ = world
    out = run_bot(["report", "--period", "2026-11", "--county", "350421", "--format", "csv", "--out",
                   str(tmp_path / "csv")], worker_env(url, None, FIXED_NOW, PYTHONIOENCODING="utf-8"))
    assert out.returncode == 0, out.stderr
    [path] = (tmp_path / "csv").glob("*_首诊病种目录.csv")
    with open(path, encoding="utf-8-sig") as f:
        listed = list(csv.DictReader(f))
    rows = {r["机构编码"]: r for r in listed}
    xuefeng, gaiyang = rows[CENTER], rows[CENTRAL]
    assert (xuefeng["目录病种数"], xuefeng["目标"], xuefeng["是否达标"]) == ("80", "50", "是")
    assert (xuefeng["目录内订单"], xuefeng["本院处理"], xuefeng["本院处理占比"]) == ("2", "1", "50.0%")
    assert (gaiyang["目录病种数"], gaiyang["目标"], gaiyang["是否达标"]) == ("1", "80", "否")
    assert gaiyang["类别"] == "中心卫生院/社区医院"
    assert not any(code.startswith("TC350424") for code in rows)  # another county's centers are not listed
    total = next(r for r in listed if r["卫生院"] == "合计")
    assert total["是否达标"] == "1 家达标"


async def test_the_dashboard_shows_the_catalogue_ledger_to_a_hospital_reviewer(world):
    from bot.web.dashboard import DashboardServices, make_app

    _, factory = world
    app = make_app(DashboardServices(uow=factory, clock=Clock()))
    async with TestClient(TestServer(app)) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        await client.post("/login", data={"code": "S0002", "password": PASSWORD, "csrf": token})
        page = await (await client.get("/catalogue?period=2026-11")).text()
    row = re.search(rf'<tr data-institution="{CENTER}">(.*?)</tr>', page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["雪峰镇卫生院", "一般卫生院", "80", "50", "达标", "2", "1", "50%"]
    assert "目录内订单 2 单，本院处理 1 单（50%）" in page
    assert 'data-institution="TC350424' not in page  # 宁化县 is not the 明溪 reviewer's to see
