"""Survey tests: the conversation fixtures of tests/handlers (a seeded database, the demo cast, a fixed clock)."""

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401  (the conversation fixtures)
