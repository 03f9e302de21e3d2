"""Hostile webhook bodies get 400, never 500: deep nesting, invalid UTF-8, invalid JSON; and nothing is handled."""

from __future__ import annotations

import io

import pytest
from aiohttp import ClientSession

from bot.transports.telegram.bridge import SECRET_HEADER
from tests.telegram.test_telegram_adapters import Driver

BODIES = {
    "deep_nesting": b"[" * 200_000 + b"]" * 200_000,
    "deep_nesting_small": b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid_utf8": b'{"update_id": 1, "message": {"text": "\xff\xfe\xc3"}}',
    "not_json": b"{update_id: 1",
    "not_an_update": b"[1, 2, 3]",
}


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_hostile_webhook_body_gets_400_not_500(fake, seeded_engine, tmp_path, matcher, kind):
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    adapter = await d.start(kind, "webhook")
    try:
        url = adapter.settings.webhook_url if hasattr(adapter, "settings") else None
        url = url or fake.webhook_url
        async with ClientSession() as session:
            for name, body in BODIES.items():
                async with session.post(url, data=io.BytesIO(body), headers={SECRET_HEADER: "s3cret-hook",
                                                                  "Content-Type": "application/json"}) as r:
                    assert r.status == 400, name
            # A huge body is refused before it is read whole.
            async with session.post(url, data=io.BytesIO(b"[" * (2 * 1024 * 1024)),
                                    headers={SECRET_HEADER: "s3cret-hook"}) as r:
                assert r.status == 413
    finally:
        await d.stop()
    with d.app.uow() as uow:
        assert uow.chat.account("telegram", "1") is None  # nothing in those bodies was handled


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", b"code=\xff\xfe&password=x"),
    ("multipart/form-data; boundary=x", b"--x\r\n\xff"),
    ("application/x-www-form-urlencoded", b"code=" + b"%5B" * 20_000),
])
async def test_a_hostile_dashboard_form_gets_400_not_500(content_type, body):
    from datetime import UTC, datetime

    from aiohttp.test_utils import TestClient, TestServer

    from bot.web.dashboard import DashboardServices, make_app

    app = make_app(DashboardServices(uow=lambda: None, clock=lambda: datetime.now(UTC)))
    async with TestClient(TestServer(app)) as client:
        origin = str(client.make_url("/")).rstrip("/")
        r = await client.post("/login", data=io.BytesIO(body), headers={"Content-Type": content_type,
                                                                         "Origin": origin})
        assert r.status in (400, 403, 413)  # refused as the client's error; never a 500
        assert r.status != 500
