"""The privacy tests drive the real conversation with the handler tests' fixtures (seeded database, fixed clock)."""

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401
