"""Remote consultations counted in the ledgers (issue 20): sessions held, cancelled and missed per county and
supporting hospital, the same in the dashboard (over HTTP, logged in) and in the report the clerk downloads."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from bot.web.dashboard import DashboardServices, make_app
from domain.remote import SessionStatus
from tests.conftest import dashboard_password_hash
from tests.remote.test_remote_chat import STARTS, approved_order, schedule_remote

PASSWORD = "mingxi-review-2"


def three_sessions(chat, app, clock) -> None:
    """One held, one cancelled, one the resident missed; all at 明溪县总医院 for 明溪县's residents."""
    approved_order(chat, app)
    schedule_remote(chat, when="11月25日 15:00")
    approved_order(chat, app)
    schedule_remote(chat, when="11月26日 15:00")
    approved_order(chat, app)
    schedule_remote(chat, when="11月27日 15:00")
    chat.say("hospital", "/remote")
    chat.press("hospital", "取消")  # the newest listed: the 27th
    chat.say("hospital", "居民外出")
    clock.now = STARTS + timedelta(days=1, hours=1)
    chat.say("cardiologist", "/remote")
    shown = chat.screens["cardiologist"][-2:]  # the 25th, then the 26th
    assert "11月25日" in shown[0].text and "11月26日" in shown[1].text
    chat.press("cardiologist", "未到场")  # the 26th
    chat.say("cardiologist", "/remote")
    chat.press("cardiologist", "记录结果")  # the 25th, the only one left
    chat.say("cardiologist", "继续用药")
    chat.press("cardiologist", "不需上转")
    chat.say("cardiologist", "无")


async def overview_html(app, clock, query: str) -> str:
    with app.uow() as uow:
        st = uow.staff.by_code("S0002")
        uow.ledgers.set_password_hash(st.id, dashboard_password_hash(PASSWORD), clock())
        uow.commit()
    async with TestClient(TestServer(make_app(DashboardServices(uow=app.uow, clock=clock)))) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        resp = await client.post("/login", data={"code": "S0002", "password": PASSWORD, "csrf": token},
                                 allow_redirects=False)
        assert resp.status == 303
        resp = await client.get(f"/?{query}")
        assert resp.status == 200
        page = await resp.text()
        resp = await client.get(f"/report?{query}&format=md")
        assert resp.status == 200
        return page + "\n----\n" + await resp.text()


async def test_held_cancelled_and_missed_sessions_are_counted_for_the_county_and_hospital(chat, cast, app, clock):
    three_sessions(chat, app, clock)
    text = await overview_html(app, clock, "period=2026-11")
    page, report = text.split("\n----\n")
    table = page[page.index('id="remote"'):]
    table = table[:table.index("</table>")]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert cells[:7] == ["明溪县", "明溪县总医院", "1", "1", "1", "0", "0"], cells
    section = report[report.index("远程会诊"):]
    assert re.search(r"\|\s*明溪县\s*\|\s*明溪县总医院\s*\|\s*1\s*\|\s*1\s*\|\s*1\s*\|\s*0\s*\|\s*0\s*\|", section), \
        section[:600]


async def test_a_month_without_sessions_says_so(chat, cast, app, clock):
    text = await overview_html(app, clock, "period=2026-10")
    assert "本期没有远程会诊" in text


async def test_a_hospital_reviewer_sees_only_their_own_area_while_the_city_sees_all(chat, cast, app, clock):
    three_sessions(chat, app, clock)
    with app.uow() as uow:  # a session of 宁化县 (another county, another hospital) on the same day
        from domain.remote import RemoteSession

        first = uow.remote.upcoming(statuses=list(SessionStatus), limit=1)[0]
        other = RemoteSession.schedule(order_id=first.order_id, resident_id=None, hospital_code="CH350424",
                                       expert_id=uow.staff.by_code("S0031").id, site_code="TC350424101",
                                       county_code="350424", starts_at=STARTS, room="会议室",
                                       actor_staff_id=uow.staff.by_code("S0030").id, actor_role="hospital_reviewer",
                                       now=STARTS - timedelta(days=1))
        uow.remote.add(other)
        uow.commit()
    mine = await overview_html(app, clock, "period=2026-11")
    assert "宁化县" not in mine.split("\n----\n")[0][mine.index('id="remote"'):]
    with app.uow() as uow:
        from domain.ledgers import parse_period
        from handlers.services.ledgers import report_figures

        city = report_figures(uow, None, parse_period("2026-11"), STARTS.date(), clock())
    assert {(r.county_code, r.held + r.scheduled) for r in city.remote} == {("350421", 1), ("350424", 1), ("", 2)}
