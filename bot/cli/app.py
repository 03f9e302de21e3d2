"""The one app factory every command uses (settings from the environment, quiet logging, a migrated database), and
the one way a command is refused: a ``DomainError`` becomes a sentence in Chinese and one in English, exit 2.

A command reads and writes like this, and never catches a refusal itself::

    with unit_of_work() as (app, uow):
        ...                      # raise DomainError("staff.unknown", code=...) to refuse
        uow.commit()
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import TYPE_CHECKING

from domain.errors import DomainError

if TYPE_CHECKING:
    import argparse

    from bot.bootstrap import App
    from storage.ports import UnitOfWork

REFUSED = 2  # the exit status of every refusal (argparse uses it for a mistyped command line too)
log = logging.getLogger(__name__)
_COMMAND: ContextVar[str] = ContextVar("command", default="")  # the command being run (set by run_command)


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


@contextmanager
def opened_app() -> Iterator[App]:
    """The app for one command, closed when the command ends (refused or not). A refusal raised inside is audited,
    in a unit of work of its own (the command's own was rolled back), as a refused press or command is in chat."""
    app = open_app()
    try:
        yield app
    except DomainError as e:
        _audit_refusal(app, e)
        raise
    finally:
        app.close()


def _audit_refusal(app: App, e: DomainError) -> None:
    """One audit event for a refused command: which command, why, and the names of what it was given (never their
    values, which may name a resident); a failure to write it never hides the refusal itself."""
    from bot.bootstrap import make_clock
    from domain.orders import AuditEvent

    command = _COMMAND.get()[:64]
    try:
        with app.uow() as uow:
            uow.audit.append(AuditEvent(
                actor_staff_id=None, actor_role="command_line", action="refused", entity="command",
                entity_id=command or "?", from_status=None, to_status=None, reason=e.key[:500],
                at=make_clock(app.settings.fake_now)(), detail={"given": sorted(e.params)}))
            uow.commit()
    except Exception as failed:  # the database may be why it was refused: the refusal is said all the same
        log.warning("the refused command could not be audited: %s", type(failed).__name__)


@contextmanager
def unit_of_work() -> Iterator[tuple[App, UnitOfWork]]:
    """The app and one unit of work: nothing is written unless the command commits; a refusal raised inside
    rolls everything back and reaches :func:`run_command`, which says it."""
    with opened_app() as app, app.uow() as uow:
        yield app, uow


def refusal_text(e: DomainError) -> str:
    """The two lines a person reads for a refusal: Chinese, then English with the key for scripts."""
    from handlers.texts_cli import refusal

    zh, en = refusal(e.key, **e.params)
    return f"错误：{zh}\nerror: {en} ({e.key})"


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run one command; every refusal it raises is said the same way, in Chinese and English, with exit 2 (and
    audited, where the command had opened the database: ``opened_app``)."""
    _COMMAND.set(str(getattr(args, "command", None) or ""))
    try:
        return int(func(args) or 0)
    except DomainError as e:
        print(refusal_text(e), file=sys.stderr)
        return REFUSED
    except OSError as e:  # a path the person typed: missing, a folder, not writable
        if e.filename is None:
            raise
        print(refusal_text(DomainError("cli.file", path=e.filename, reason=e.strerror or type(e).__name__)),
              file=sys.stderr)
        return REFUSED


def parse_day(text: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` typed for ``option`` (None if not given); else a refusal that shows how to write it."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("cli.bad_date", option=option, text=text) from None


def staff_id(uow: UnitOfWork, code: str | None) -> int | None:
    """The id of the staff member with ``code`` (None if no code was given); else the refusal naming the code."""
    if not code:
        return None
    st = uow.staff.by_code(code)
    if st is None or st.id is None:
        raise DomainError("staff.unknown", code=code)
    return st.id
