"""Logging with phone and ID numbers masked in every record."""

from __future__ import annotations

import logging

from domain.privacy import mask_sensitive


class MaskingFilter(logging.Filter):
    """Rewrites each record's message so no phone or ID number reaches a log file, and drops SQL result rows."""

    def filter(self, record: logging.LogRecord) -> bool:
        # SQLAlchemy logs result rows at DEBUG: they hold residents' words, so they never reach a log.
        if record.name.startswith("sqlalchemy.engine") and record.levelno < logging.INFO:
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        masked = mask_sensitive(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send logs to stderr with masking on every handler."""
    root = logging.getLogger()
    if not any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    root.setLevel(level)
