"""The privacy tests drive the real conversation with the handler tests' fixtures (seeded database, fixed clock), and
the Telegram ones the real libraries against the fake Bot API with the adapter tests' fixtures."""

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401
from tests.telegram.test_telegram_adapters import fake, matcher, ptb_timedelta  # noqa: F401
