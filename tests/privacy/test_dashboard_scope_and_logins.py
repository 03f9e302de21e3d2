"""Issue 15, holes 5, 8 and 10 (the Markdown report), played over HTTP against the dashboard.

A city commission admin saw every city stored; five wrong passwords locked an administrator out for everyone; the
Markdown report wrote a lead's text as markup.
"""

from __future__ import annotations

import re
from datetime import date

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.web.dashboard import COOKIE, DashboardServices, make_app
from bot.web.login_throttle import FREE_PER_ACCOUNT
from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.ledgers import LeadSource
from domain.places import Place, PlaceLevel
from storage.repositories.ledgers import LedgerRepository, staff_scope_for
from storage.tables import AuditRow
from tests.conftest import FIXED_NOW
from tests.ledgers.conftest import PASSWORDS, Clock, sqlite_world  # noqa: F401  (the seeded year on SQLite)

FUZHOU_TOWN = "350102001"  # a township of 福州市, the other city the database holds
FUZHOU_LEAD = "福州鼓楼区巡诊投诉甲乙丙"
HOSTILE = '<script>alert(1)</script> [点我](http://evil.example/x) **全部** | # 标题 ![img](http://evil.example/i.png)'


def add_other_city(factory) -> None:
    """A circuit and a complaint in 福州市, and a hostile complaint in 三明市."""
    with factory() as uow:
        uow.reference.upsert_place(Place("350102", "鼓楼区", PlaceLevel.COUNTY, "350100"))
        uow.reference.upsert_place(Place(FUZHOU_TOWN, "鼓东街道", PlaceLevel.TOWNSHIP, "350102"))
        expert = uow.staff.by_code("S0095")
        uow.circuits.add(Circuit("P350100001", FUZHOU_TOWN, date(2026, 11, 10), HalfDay.AM, CircuitLevel.TOWNSHIP,
                                 frozenset({expert.id})))
        repo = LedgerRepository(uow)
        repo.add_lead(LeadSource.HOTLINE, FUZHOU_LEAD, now=FIXED_NOW, place_code=FUZHOU_TOWN)
        repo.add_lead(LeadSource.HOTLINE, HOSTILE, now=FIXED_NOW, place_code="350421101")
        uow.commit()


@pytest.fixture(scope="module")
def world(sqlite_world):  # noqa: F811
    add_other_city(sqlite_world[1])
    return sqlite_world


@pytest.fixture
async def server(world):
    clock = Clock()
    async with TestServer(make_app(DashboardServices(uow=world[1], clock=clock)), host="127.0.0.1") as srv:
        srv.clock = clock  # type: ignore[attr-defined]
        yield srv


def browser(address: str) -> aiohttp.ClientSession:
    """A client on its own loopback address: another device, as far as the dashboard can tell."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(session: aiohttp.ClientSession, server, code: str, password: str | None = None):
    form = await (await session.get(server.make_url("/login"))).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return await session.post(server.make_url("/login"), allow_redirects=False,
                              data={"code": code, "password": password or PASSWORDS[code], "csrf": token})


def audited(factory, action: str, reason: str) -> int:
    from sqlmodel import col, select

    with factory() as uow:
        q = select(AuditRow.id).where(col(AuditRow.action) == action, col(AuditRow.reason) == reason)
        return len(uow.session.exec(q).all())


# --- hole 5: a city commission sees its own city -----------------------------------------------------------------
async def test_a_city_admin_sees_only_their_city_and_gets_403_for_another_places_figures(server, world):
    async with browser("127.0.0.1") as s:
        assert (await login(s, server, "S0001")).status == 303
        cal = await (await s.get(server.make_url("/calendar?period=2026-11"))).text()
        assert "雪峰镇" in cal and "鼓东街道" not in cal and f'data-place="{FUZHOU_TOWN}"' not in cal
        leads = await (await s.get(server.make_url("/leads?period=2026-11"))).text()
        assert "巡诊专家未按预告时间到岗" in leads and FUZHOU_LEAD not in leads
        md = await (await s.get(server.make_url("/report?period=2026-11&format=md"))).text()
        assert FUZHOU_LEAD not in md and "鼓东街道" not in md
        for path in ("/?county=350102", "/calendar?period=2026-11&city=350100", "/leads?place=350102",
                     "/overdue?county=350100", "/report?period=2026-11&format=xlsx&county=350102",
                     "/report?period=2026-11&format=md&place=350100", "/leads?county=999999"):
            resp = await s.get(server.make_url(path), allow_redirects=False)
            assert resp.status == 403, path
        own = await s.get(server.make_url("/leads?period=2026-11&county=350421"))
        assert own.status == 200 and "明溪县" in await own.text()
    assert audited(world[1], "refused", "outside_scope") >= 7


async def test_a_county_hospital_reviewer_cannot_widen_their_scope_to_the_county_or_city(server, world):
    async with browser("127.0.0.1") as s:
        assert (await login(s, server, "S0002")).status == 303
        for path in ("/?county=350400", "/leads?county=350424", "/calendar?county=350102"):
            assert (await s.get(server.make_url(path), allow_redirects=False)).status == 403, path


def test_a_city_admins_scope_leaves_out_every_other_city_stored(world):
    with world[1]() as uow:
        admin = staff_scope_for(uow, uow.staff.by_code("S0001").id, date(2026, 11, 23))
        leads = LedgerRepository(uow).leads(date(2026, 11, 1), date(2026, 11, 30), admin)
        circuits = LedgerRepository(uow).circuit_facts(date(2026, 11, 1), date(2026, 11, 30), admin)
    assert admin is not None and FUZHOU_TOWN not in admin.place_codes
    assert FUZHOU_LEAD not in {x.summary for x in leads}
    assert FUZHOU_TOWN not in {c.place_code for c in circuits} and circuits


# --- hole 8: wrong passwords slow down one client, never the administrator elsewhere -----------------------------
async def test_wrong_passwords_from_one_client_do_not_lock_out_the_admin_on_another(server, world):
    async with browser("127.0.0.1") as attacker, browser("127.0.0.2") as admin:
        for _ in range(FREE_PER_ACCOUNT):
            assert (await login(attacker, server, "S0030", "guess-guess-guess")).status == 401
        told = await login(attacker, server, "S0030", "guess-guess-guess")
        page = await told.text()
        assert told.status == 429 and re.search(r"请在 \d+秒 后再试", page), page
        assert int(told.headers["Retry-After"]) >= 30
        again = await login(attacker, server, "S0030")  # the right password from the throttled client still waits
        assert again.status == 429 and COOKIE not in again.cookies
        for _ in range(20):  # the attacker keeps at it
            await login(attacker, server, "S0030", "guess-guess-guess")
        real = await login(admin, server, "S0030")  # the real reviewer, from their own computer
        assert real.status == 303 and COOKIE in real.cookies
        server.clock.advance(seconds=31)  # the wait is over; the next wrong guess waits twice as long
        longer = await login(attacker, server, "S0030", "guess-guess-guess")
        assert longer.status == 429 and "请在 1分 后再试" in await longer.text()
    assert audited(world[1], "dashboard.login_failed", "throttled") >= 2


# --- hole 10: the Markdown report escapes what a lead says -------------------------------------------------------
async def test_the_markdown_report_escapes_hostile_lead_text(server):
    async with browser("127.0.0.1") as s:
        assert (await login(s, server, "S0002")).status == 303
        md = await (await s.get(server.make_url("/report?period=2026-11&format=md"))).text()
    assert "alert" in md  # the lead is there …
    assert "<script>" not in md and "](http" not in md and "**全部**" not in md and "![img]" not in md  # … inert
    assert r"\<script\>" in md and r"\[点我\]" in md
    table_rows = [line for line in md.splitlines() if "alert" in line]
    assert table_rows and all(line.count(" | ") == line.replace(r"\|", "").count(" | ") for line in table_rows)
