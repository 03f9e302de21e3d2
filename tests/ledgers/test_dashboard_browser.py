"""The dashboard in headless Chromium (Debian's ``chromium``), driven over the DevTools protocol.

Why CDP and not Selenium: Chromium's remote-debugging websocket needs nothing beyond the browser and aiohttp's
websocket client (already the project's HTTP stack), so there is no chromedriver to keep in step with the browser.
The tests type into the real login form, click, wait for the DOM, assert on the DOM (never on pixels) and save
screenshots to ``tests/artifacts/dashboard/`` (ignored by git) for a person to look at.

Without ``chromium`` these tests skip with the reason; with ``CI=true`` they fail instead (``make browser``
installs it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.web.dashboard import DashboardServices, make_app
from tests.conftest import IN_CI
from tests.ledgers.conftest import PASSWORDS, Clock

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("XUNZHEN_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")) / "dashboard"

if CHROMIUM is None and IN_CI:
    pytest.fail("CI=true but chromium is not installed: run `make browser`", pytrace=False)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless browser tests need Debian's chromium (`apt-get install chromium` or `make browser`)",
)


class Browser:
    """One headless Chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.n = 0

    async def call(self, method: str, **params) -> dict:
        self.n += 1
        await self.ws.send_str(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive(timeout=30)).data)
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def js(self, expression: str):
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 15) -> None:
        """Poll until ``expression`` is truthy in the page (after a navigation or a click)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            try:
                if await self.js(f"document.readyState === 'complete' && !!({expression})"):
                    return
            except RuntimeError:
                pass  # the page is between documents
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}; page: {await self.js('location.href')}")

    async def mark(self) -> None:
        """Tag the current document, so waiting can tell the next one from it."""
        await self.js("window.__xzOld = true")

    async def goto(self, url: str, ready: str = "document.body") -> None:
        await self.mark()
        await self.call("Page.navigate", url=url)
        await self.wait_for(f"!window.__xzOld && {ready}")

    async def type_into(self, selector: str, text: str) -> None:
        await self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        await self.call("Input.insertText", text=text)

    async def click(self, selector: str) -> None:
        await self.js(f"document.querySelector({json.dumps(selector)}).click()")

    async def text(self, selector: str = "body") -> str:
        return await self.js(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''") or ""

    async def screenshot(self, name: str) -> Path:
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(data))
        return path

    async def login(self, base: str, code: str, password: str) -> None:
        await self.goto(f"{base}/login", "document.querySelector('#login-form')")
        await self.type_into("#code", code)
        await self.type_into("#password", password)
        await self.mark()
        await self.click("#login-button")
        await self.wait_for(
            "!window.__xzOld && (document.querySelector('#who') || document.querySelector('#login-error'))"
        )

    async def logout(self) -> None:
        await self.mark()
        await self.click("#logout")
        await self.wait_for("!window.__xzOld && document.querySelector('#login-form')")


@pytest.fixture
async def site(sqlite_world):
    """The dashboard on a free local port, with a fixed clock."""
    _, factory, _ = sqlite_world
    runner = web.AppRunner(make_app(DashboardServices(uow=factory, clock=Clock())))
    await runner.setup()
    s = web.TCPSite(runner, "127.0.0.1", 0)
    await s.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def browser():
    """A fresh headless Chromium (own profile) and a DevTools connection to its page."""
    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="xz-chromium-"))
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "--window-size=1280,900",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    port = int(port_file.read_text().split()[0])
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            pages = [
                t for t in await (await http.get(f"http://127.0.0.1:{port}/json/list")).json() if t["type"] == "page"
            ]
            if pages:
                break
            await asyncio.sleep(0.05)
        async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            b = Browser(ws)
            await b.call("Page.enable")
            yield b
    proc.terminate()
    await proc.wait()
    shutil.rmtree(profile, ignore_errors=True)


async def test_a_wrong_password_shows_an_error_and_no_data(site, browser):
    await browser.login(site, "S0002", "this-is-wrong")
    await browser.screenshot("01-login-failed.png")
    assert "人员编码或密码错误" in await browser.text("#login-error")
    assert await browser.js("document.querySelector('#who')") is None
    await browser.goto(f"{site}/calendar?period=2026-06", "document.querySelector('#login-form')")
    assert await browser.js("location.pathname") == "/login"  # still no data: sent back to the login form
    assert "雪峰镇" not in await browser.text()


async def test_a_county_reviewer_sees_their_county_and_not_another(site, browser):
    await browser.login(site, "S0002", PASSWORDS["S0002"])  # 明溪县总医院
    assert "明溪县总医院" in await browser.text("#who")
    assert await browser.js("document.querySelectorAll('#progress tbody tr').length") == 10
    await browser.screenshot("02-overview-mingxi.png")
    await browser.goto(f"{site}/calendar?period=2026-06", "document.querySelector('#calendar')")
    await browser.screenshot("03-calendar-mingxi-2026-06.png")
    places = set(await browser.js("[...document.querySelectorAll('.circuit')].map(e => e.dataset.place)"))
    assert places and all(p.startswith("350421") for p in places)
    assert "翠江镇" not in await browser.text("#calendar")
    await browser.goto(f"{site}/leads?period=2026-11", "document.querySelector('#leads')")
    await browser.screenshot("04-leads-mingxi.png")
    leads = await browser.text("#leads")
    assert "巡诊专家未按预告时间到岗" in leads and "宁化" not in leads
    await browser.logout()
    await browser.login(site, "S0030", PASSWORDS["S0030"])  # 宁化县总医院
    await browser.goto(f"{site}/calendar?period=2026-06", "document.querySelector('#calendar')")
    await browser.screenshot("05-calendar-ninghua-2026-06.png")
    places = set(await browser.js("[...document.querySelectorAll('.circuit')].map(e => e.dataset.place)"))
    assert places and all(p.startswith("350424") for p in places)
    assert "雪峰镇" not in await browser.text("#calendar")


async def test_the_city_commission_sees_the_whole_city(site, browser):
    await browser.login(site, "S0001", PASSWORDS["S0001"])
    await browser.goto(f"{site}/calendar?period=2026-06", "document.querySelector('#calendar')")
    await browser.screenshot("06-calendar-city-2026-06.png")
    places = set(await browser.js("[...document.querySelectorAll('.circuit')].map(e => e.dataset.place)"))
    assert any(p.startswith("350421") for p in places) and any(p.startswith("350424") for p in places)
    await browser.goto(f"{site}/overdue?period=2026", "document.querySelector('#overdue')")
    await browser.screenshot("07-overdue-city-2026.png")
    assert "无故缺席计划巡诊" in await browser.text("#violations")
