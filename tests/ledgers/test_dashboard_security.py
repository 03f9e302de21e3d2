"""Dashboard hardening: the Secure cookie flag, formula-safe exports, CSRF, the event loop, login messages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.dashboard import COOKIE, SERVICES, DashboardServices, make_app
from tests.ledgers.conftest import PASSWORDS, Clock

# --- the Secure cookie flag -------------------------------------------------------------------------------


def _served(monkeypatch, argv: list[str], env: str | None = None) -> DashboardServices:
    """Run ``python -m bot dashboard ARGV`` up to ``web.run_app`` and return the services it would serve."""
    from aiohttp import web

    import bot.cli_reports as cli
    from bot.cli import build_parser

    class FakeApp:
        uow = None

        def close(self) -> None:
            pass

    served: list[web.Application] = []
    monkeypatch.setattr(cli, "_app", FakeApp)
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
        form = await (await client.get("/login")).text()
        data = {"code": "S0001", "password": PASSWORDS["S0001"], **_hidden(form)}
        resp = await client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 303
        assert COOKIE in resp.headers["Set-Cookie"] and "Secure" in resp.headers["Set-Cookie"]


def _hidden(page: str) -> dict[str, str]:
    """The login form's hidden fields (none before the double-submit token existed)."""
    import re

    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
