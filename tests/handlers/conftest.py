"""Fixtures for conversation tests: the real handlers, the real matcher, a seeded database, a fixed clock."""

from __future__ import annotations

import pytest

from bot.bootstrap import App, build_conversation
from bot.config import Settings
from domain.staff import Role
from handlers import FloodGuard
from tests.conftest import FIXED_NOW, TEST_KEY
from tests.handlers.harness import ChatHarness


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(FIXED_NOW)


@pytest.fixture
def app(chat_engine, tmp_path):
    """The app on the conversation tests' seeded database (SQLite in memory unless the test asks for more)."""
    settings = Settings(
        var_dir=tmp_path,
        database_url=str(chat_engine.url),
        secret_key=TEST_KEY,
        log_level="INFO",
        transport="console",
        telegram_token=None,
    )
    from storage.uow import uow_factory

    return App(settings, chat_engine, uow_factory(chat_engine, settings.cipher()))


@pytest.fixture
def chat(app, clock):
    # A generous flood limit: tests type fast; the flood test builds its own guard.
    conv = build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000))
    return ChatHarness(conv)


@pytest.fixture
def cast(chat, app, clock):
    """The demo cast of 明溪县, each bound through a real invite code."""
    people = {
        "doctor": ("S0006", Role.VILLAGE_DOCTOR),
        "township": ("S0005", Role.TOWNSHIP_REVIEWER),
        "hospital": ("S0002", Role.HOSPITAL_REVIEWER),
        "cardiologist": ("S0003", Role.EXPERT),
        "admin": ("S0001", Role.ADMIN),
    }
    for user, (code, role) in people.items():
        chat.login(user, code, role, app.uow, clock())
    return people


@pytest.fixture
def telegram(chat):
    """The same conversation seen from Telegram (a village doctor there while staff are on WeCom)."""
    return ChatHarness(chat.conv, platform="telegram")


@pytest.fixture
def wecom(chat):
    """The same conversation seen from WeCom (staff on their work accounts)."""
    return ChatHarness(chat.conv, platform="wecom")
