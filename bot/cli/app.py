"""The one app factory every command uses: settings from the environment, quiet logging, a migrated database."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import App


def open_app() -> App:
    """The app for a command-line run; logs only warnings unless a level below INFO was asked for."""
    # Imported here: `--help` and the NLP commands never pay for the database and crypto libraries.
    from bot.bootstrap import build_app
    from bot.config import Settings
    from bot.logging_setup import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING",
                      library_debug=settings.library_debug, secrets=settings.secrets())
    return build_app(settings)
