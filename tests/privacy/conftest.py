"""The privacy tests drive the real conversation with the handler tests' fixtures (seeded database, fixed clock), and
the Telegram ones the real libraries against the fake Bot API."""

from collections.abc import AsyncIterator

import pytest

from bot.fake_telegram import FakeTelegram
from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture(scope="module")
def matcher():
    from nlp import load_matcher

    return load_matcher()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server
