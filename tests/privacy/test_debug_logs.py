"""With LOG_LEVEL=DEBUG a whole Telegram exchange logs no bot token, webhook secret, resident name, need text or
link code: library loggers stay at INFO (unless XUNZHEN_LIBRARY_DEBUG=1) and the filter redacts what is left."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.logging_setup import LIBRARY_LOGGERS, MaskingFilter, configure_logging, redact
from bot.testing.fake_telegram import FakeTelegram
from tests.privacy.test_group_chats import file_over_telegram
from tests.telegram.test_telegram_adapters import Driver

NEED = "膝盖疼了两个月，上下楼梯加重，想看骨科"
RESIDENT = "邱瑞鹏"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The service's own log handler (as ``python -m bot run`` sets it up), writing into a buffer."""
    root = logging.getLogger()
    before_handlers, before_level = root.handlers[:], root.level
    for h in root.handlers:  # pytest's capture handler has no filter: take it off so ours is installed
        root.removeHandler(h)
    stream = io.StringIO()
    yield stream
    for h in root.handlers[:]:
        root.removeHandler(h)
    for h in before_handlers:
        root.addHandler(h)
    root.setLevel(before_level)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


def install(stream: io.StringIO, settings: Settings, *, library_debug: bool = False) -> None:
    configure_logging("DEBUG", library_debug=library_debug, secrets=settings.secrets())
    for h in logging.getLogger().handlers:
        if any(isinstance(f, MaskingFilter) for f in h.filters):
            h.setStream(stream)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["ptb", "aiogram"])
async def test_a_debug_log_of_a_full_telegram_exchange_holds_no_token_secret_name_or_link(
        fake: FakeTelegram, seeded_engine, tmp_path, matcher, captured: io.StringIO, kind):
    d = Driver(fake, seeded_engine, tmp_path, matcher)
    install(captured, d.settings)
    try:
        await d.start(kind, "webhook")
        invites = [d.invite("doctor"), d.invite("township")]
        for user, code in zip(("doctor", "township"), invites, strict=True):
            await d.say(user, f"/start {code}")
        number = await file_over_telegram(d)
        link = re.search(r"r_([A-Z0-9]+)", next(t for t in d.texts("doctor") if number in t)).group(1)
        fake.user_message(2001, f"/start r_{link}", first_name="resident")
        await d.settle()
        await d.say("township", "/pending")
        await d.press("township", "批准")
    finally:
        await d.stop()
    log = captured.getvalue()
    assert "webhook for" in log and logging.getLogger().level == logging.DEBUG  # the service logged
    secret = d.adapter.webhook_secret if d.adapter else "s3cret-hook"
    for leaked in (fake.token, fake.token.split(":")[1], "s3cret-hook", secret, RESIDENT, NEED, link, *invites):
        assert leaked not in log, leaked


def test_library_loggers_stay_at_info_unless_the_separate_switch_says_otherwise(captured: io.StringIO):
    settings = Settings.from_env({"LOG_LEVEL": "DEBUG"})
    assert settings.library_debug is False
    install(captured, settings)
    assert all(logging.getLogger(n).getEffectiveLevel() == logging.INFO for n in LIBRARY_LOGGERS)
    assert logging.getLogger("telegram.ext.Updater").getEffectiveLevel() == logging.INFO
    on = Settings.from_env({"LOG_LEVEL": "DEBUG", "XUNZHEN_LIBRARY_DEBUG": "1"})
    assert on.library_debug is True
    install(captured, on, library_debug=True)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.DEBUG


def test_the_filter_redacts_tokens_secrets_and_codes():
    token = "123456789:AAHk3c9d8e7f6g5h4i3j2k1l0mNoPqRsTuV"
    line = (f"POST https://api.telegram.org/bot{token}/sendMessage X-Telegram-Bot-Api-Secret-Token: hook-secret-1 "
            '{"text": "/start r_ABCDEFGH23456789"} invite 7KQ2MZ9PXR secret=abcdef123 13912345678')
    out = redact(line, ["hook-secret-1"])
    for leaked in (token, "hook-secret-1", "ABCDEFGH23456789", "7KQ2MZ9PXR", "abcdef123", "13912345678"):
        assert leaked not in out, out
