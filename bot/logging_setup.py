"""Logging with phone and ID numbers, bot tokens, secrets and link codes masked in every record.

Libraries that log their requests (the Telegram libraries, HTTP clients, wechatpy, APScheduler's job arguments)
print whole updates at DEBUG: tokens in URLs, webhook secrets in headers, residents' names, need texts and link
codes in message bodies. They stay at INFO or above whatever ``LOG_LEVEL`` says, unless the separate switch
``XUNZHEN_LIBRARY_DEBUG=1`` asks for their DEBUG output (for a developer on test data, never in production).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from domain.privacy import mask_sensitive

# Loggers that print request parameters or payloads at DEBUG.
LIBRARY_LOGGERS = ("httpx", "httpcore", "telegram", "aiogram", "aiohttp", "wechatpy", "urllib3", "requests",
                   "apscheduler", "hpack", "asyncio", "multipart", "psycopg", "alembic")
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_SECRET_HEADER = re.compile(r"(?i)(secret[_-]?token|secret|access_token|corpsecret|encodingaeskey|aes_key)"
                            r"([\"']?\s*[:=]\s*[\"']?)([^\s\"'&,}]+)")
_START_ARG = re.compile(r"(/start(?:@\w+)?(?:\s|\+|%20)+)(\S+)")
_LINK_CODE = re.compile(r"\b[rv]_[A-Za-z0-9_-]{6,}")
# Invite codes: 10 characters of the look-alike-free alphabet, with at least one digit and one letter.
_INVITE = re.compile(r"\b(?=[A-HJ-NP-Z2-9]*[2-9])(?=[A-HJ-NP-Z2-9]*[A-HJ-NP-Z])[A-HJ-NP-Z2-9]{10}\b")


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """``message`` without phone/ID numbers, bot tokens, configured secrets, webhook secrets and link codes."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            message = message.replace(secret, "<secret>")
    message = _BOT_TOKEN.sub("<bot-token>", message)
    message = _SECRET_HEADER.sub(lambda m: m.group(1) + m.group(2) + "<secret>", message)
    message = _START_ARG.sub(lambda m: m.group(1) + "<code>", message)
    message = _LINK_CODE.sub("<code>", message)
    message = _INVITE.sub("<code>", message)
    return mask_sensitive(message)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message so no phone or ID number, token, secret or link code reaches a log file,
    and drops SQL result rows."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s}

    def filter(self, record: logging.LogRecord) -> bool:
        # SQLAlchemy logs result rows at DEBUG: they hold residents' words, so they never reach a log.
        if record.name.startswith("sqlalchemy.engine") and record.levelno < logging.INFO:
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        masked = redact(message, self.secrets)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:  # a traceback may quote a request URL with the token
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
        return True


def register_secret(value: str | None) -> None:
    """Mask ``value`` from now on (a secret made at run time, such as a generated webhook secret)."""
    if not value:
        return
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, MaskingFilter):
                f.secrets.add(value)


def configure_logging(level: str = "INFO", *, library_debug: bool = False, secrets: Iterable[str] = ()) -> None:
    """Send logs to stderr with masking on every handler; libraries stay at INFO unless ``library_debug``."""
    root = logging.getLogger()
    found = [f for h in root.handlers for f in h.filters if isinstance(f, MaskingFilter)]
    if not found:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter(secrets))
        root.addHandler(handler)
    for f in found:
        f.secrets.update(s for s in secrets if s)
    root.setLevel(level)
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    floor = numeric if isinstance(numeric, int) and (library_debug or numeric >= logging.INFO) else logging.INFO
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(floor)
