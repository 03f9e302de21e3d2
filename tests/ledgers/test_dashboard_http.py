"""The dashboard over HTTP (aiohttp's test client): login, lockout, sessions that expire, scope, audit, downloads."""

from __future__ import annotations

import io
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.dashboard import COOKIE, DashboardServices, make_app
from bot.web.login_throttle import FREE_PER_ACCOUNT
from storage.tables import AuditRow
from tests.ledgers.conftest import PASSWORDS, Clock


@pytest.fixture
async def client(sqlite_world):
    _, factory, _ = sqlite_world
    clock = Clock()
    app = make_app(DashboardServices(uow=factory, clock=clock))
    async with TestClient(TestServer(app)) as c:
        c.clock = clock  # type: ignore[attr-defined]
        yield c


async def login(client, code: str, password: str | None = None):
    """Open the login form (its token goes into the cookie jar and a hidden field) and submit it."""
    form = await (await client.get("/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return await client.post(
        "/login", data={"code": code, "password": password or PASSWORDS[code], "csrf": token}, allow_redirects=False
    )


def audit_actions(factory, action: str) -> list[tuple[str | None, str]]:
    """(reason, entity id) of every audit event with this action."""
    from sqlmodel import col, select

    with factory() as uow:
        q = select(AuditRow.reason, AuditRow.entity_id).where(col(AuditRow.action) == action)
        return [(r, e) for r, e in uow.session.exec(q)]


async def test_pages_need_a_login(client):
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login"
    page = await (await client.get("/login")).text()
    assert "巡诊工作看板" in page and 'name="password"' in page


async def test_a_wrong_password_is_refused_and_audited(client, sqlite_world):
    resp = await login(client, "S0002", "not-the-password")
    assert resp.status == 401
    assert "人员编码或密码错误" in await resp.text()
    assert COOKIE not in resp.cookies
    assert any(r == "bad_credentials" for r, _ in audit_actions(sqlite_world[1], "dashboard.login_failed"))
    unknown = await login(client, "NOBODY", "whatever-password")
    assert unknown.status == 401 and "人员编码或密码错误" in await unknown.text()  # same answer: codes are not revealed


async def test_login_sets_a_strict_http_only_cookie_and_shows_the_overview(client):
    resp = await login(client, "S0001")
    assert resp.status == 303
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = await (await client.get("/?period=2026-11")).text()
    assert "目标进度" in page and "三明市" in page and 'data-key="lectures"' in page
    assert "146" in page  # the 2023 default target for physicians sent down


async def test_sessions_expire_when_idle(client):
    await login(client, "S0002")
    assert (await client.get("/", allow_redirects=False)).status == 200
    client.clock.advance(minutes=31)
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 303 and "expired" in resp.headers["Location"]


async def test_logout_needs_the_form_token_and_ends_the_session(client):
    await login(client, "S0002")
    page = await (await client.get("/")).text()
    assert (await client.post("/logout", data={"csrf": "forged"}, allow_redirects=False)).status == 403
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    assert (await client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_repeated_failures_slow_down_this_client_and_say_for_how_long(client, sqlite_world):
    # Issue 15: this used to lock the account for everyone after five failures; now only this client waits.
    for _ in range(FREE_PER_ACCOUNT):
        assert (await login(client, "S0030", "wrong-password-x")).status == 401
    resp = await login(client, "S0030", "wrong-password-x")
    assert resp.status == 429 and "请在 30秒 后再试" in await resp.text() and int(resp.headers["Retry-After"]) >= 30
    resp = await login(client, "S0030")  # even the right password waits on this client: it is not even checked
    assert resp.status == 429 and "请在" in await resp.text()
    assert ("throttled", "login") in audit_actions(sqlite_world[1], "dashboard.login_failed")
    client.clock.advance(minutes=16)
    assert (await login(client, "S0030")).status == 303


async def test_a_county_reviewer_sees_only_the_places_their_hospital_supports(client, sqlite_world):
    await login(client, "S0002")  # 明溪县总医院
    cal = await (await client.get("/calendar?period=2026-06")).text()
    assert "雪峰镇" in cal and "翠江镇" not in cal
    leads = await (await client.get("/leads?period=2026-11")).text()
    assert "巡诊专家未按预告时间到岗" in leads and "宁化翠江镇" not in leads
    overdue = await (await client.get("/overdue?period=2026")).text()
    assert 'data-place="350421103"' in overdue and 'data-place="350424' not in overdue
    views = audit_actions(sqlite_world[1], "dashboard.view")
    assert {"calendar", "leads", "overdue"} <= {e for _, e in views}


async def test_the_report_downloads_as_a_workbook_for_the_viewers_scope(client):
    from openpyxl import load_workbook

    await login(client, "S0002")
    resp = await client.get("/report?period=2026-11&format=xlsx")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(await resp.read()))
    assert "工作台账-医师" in wb.sheetnames and "问题线索台账" in wb.sheetnames
    places = {row[2] for row in wb["工作台账-巡诊"].iter_rows(min_row=2, values_only=True)}
    assert places and not any("翠江" in (p or "") for p in places)


async def test_html_is_escaped(client, sqlite_world):
    from domain.ledgers import LeadSource
    from storage.repositories.ledgers import LedgerRepository
    from tests.conftest import FIXED_NOW

    _, factory, _ = sqlite_world
    with factory() as uow:
        LedgerRepository(uow).add_lead(
            LeadSource.HOTLINE, "<script>alert(1)</script>", now=FIXED_NOW, place_code="350421101"
        )
        uow.commit()
    await login(client, "S0001")
    page = await (await client.get("/leads?period=2026-11")).text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
