"""Fixtures for the WeChat transport tests: the seeded demo database and staff on WeCom through the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import build_conversation
from bot.testing.fake_wechat import FakeWeChat
from handlers import FloodGuard
from tests.conftest import FIXED_NOW, _engine_for
from tests.wechat.wechat_driver import Driver, make_app, settings_for


@pytest.fixture(params=["sqlite"])
def seeded_engine(request, templates, tmp_path):
    """The seeded demo database, SQLite only here (the storage contract suite covers PostgreSQL)."""
    yield from _engine_for(request, templates, tmp_path, seeded=True)


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def wecom(seeded_engine, tmp_path, matcher) -> AsyncIterator[Driver]:
    """Staff on WeCom: encrypted callbacks in, texts and template cards out through the fake API."""
    async with FakeWeChat() as fake:
        app = make_app(settings_for(fake, seeded_engine, tmp_path), seeded_engine)
        conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=matcher, flood=FloodGuard(limit=10_000))
        async with Driver("wecom", app, conv, fake) as driver:
            yield driver
