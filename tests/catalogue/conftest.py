"""Catalogue tests: the conversation fixtures of tests/handlers (a seeded database, the demo cast, a fixed clock)."""

from __future__ import annotations

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401  (fixtures used by name)
