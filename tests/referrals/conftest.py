"""Referral chat tests use the conversation fixtures: a seeded database, the demo cast, a clock moved by hand."""

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401
