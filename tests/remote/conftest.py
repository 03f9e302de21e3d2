"""Remote consultation tests drive the real conversation with the handler tests' fixtures (seeded database, fixed
clock, the demo cast of 明溪县 bound through real invite codes)."""

from tests.handlers.conftest import app, cast, chat, clock  # noqa: F401
