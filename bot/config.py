"""Configuration from the environment (see README → Configuration)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.crypto import FieldCipher

log = logging.getLogger(__name__)
CONSENT_VERSION = "2026-11-v1"
WECHAT_KEYS = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "WECHAT_APP_ID",
               "WECHAT_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_TEMPLATE_ANNOUNCEMENT")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting the service reads, with the embedded defaults."""

    var_dir: Path
    database_url: str
    secret_key: str | None
    log_level: str
    transport: str
    telegram_token: str | None
    telegram_api_base_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    retention_days: int = 365
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"
    wechat_app_id: str | None = None
    wechat_secret: str | None = None
    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_template_announcement: str | None = None
    wechat_listen: str = "127.0.0.1:8090"
    handler_processes: int = 0  # Telegram: run the handlers in this many worker processes (0: threads here)
    send_rate: int = 30  # a platform's overall sends per second per bot token, shared by every process
    flood_limit: int = 8  # messages from one person within 2 s before they are asked, once, to slow down
    library_debug: bool = False  # XUNZHEN_LIBRARY_DEBUG=1: libraries log at DEBUG too (never in production)
    # A file holding the field-encryption key, kept outside the data directory (``XUNZHEN_SECRET_KEY_FILE``).
    secret_key_file: Path | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``XUNZHEN_*`` and friends from the environment."""
        e = os.environ if env is None else env
        var_dir = Path(e.get("XUNZHEN_VAR_DIR", "var"))
        token = e.get("TELEGRAM_TOKEN") or None
        return cls(
            var_dir=var_dir,
            database_url=e.get("DATABASE_URL") or f"sqlite:///{var_dir / 'xunzhen.db'}",
            secret_key=e.get("XUNZHEN_SECRET_KEY") or None,
            log_level=e.get("LOG_LEVEL", "INFO").upper(),
            transport=e.get("XUNZHEN_TRANSPORT") or ("ptb" if token else "console"),
            telegram_token=token,
            telegram_api_base_url=(e.get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org").rstrip("/"),
            webhook_url=e.get("WEBHOOK_URL") or None,
            webhook_secret=e.get("WEBHOOK_SECRET") or None,
            webhook_listen=e.get("WEBHOOK_LISTEN") or "127.0.0.1:8080",
            retention_days=int(e.get("XUNZHEN_RETENTION_DAYS") or 365),
            **{k.lower(): e.get(k) or None for k in WECHAT_KEYS},
            wecom_api_base_url=(e.get("WECOM_API_BASE_URL") or "https://qyapi.weixin.qq.com").rstrip("/"),
            wechat_api_base_url=(e.get("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com").rstrip("/"),
            wechat_listen=e.get("WECHAT_LISTEN") or "127.0.0.1:8090",
            handler_processes=_count(e, "XUNZHEN_HANDLER_PROCESSES"),
            send_rate=_count(e, "XUNZHEN_SEND_RATE") or 30,
            flood_limit=_count(e, "XUNZHEN_FLOOD_LIMIT") or 8,
            library_debug=(e.get("XUNZHEN_LIBRARY_DEBUG") or "").strip().lower() in ("1", "true", "yes", "on"),
            secret_key_file=Path(e["XUNZHEN_SECRET_KEY_FILE"]) if e.get("XUNZHEN_SECRET_KEY_FILE") else None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, for the log filter to mask wherever one appears."""
        values = (self.telegram_token, self.webhook_secret, self.secret_key, self.wecom_secret, self.wecom_token,
                  self.wecom_aes_key, self.wechat_secret, self.wechat_token, self.wechat_aes_key)
        return tuple(v for v in values if v)

    @property
    def transports(self) -> list[str]:
        """The transports to start: ``XUNZHEN_TRANSPORT`` may name several (``ptb,wecom,wechat``)."""
        return [t.strip() for t in self.transport.split(",") if t.strip()]

    def key_inside_data_dir(self) -> bool:
        """True when the field key is a file inside the data directory, so a copy of that folder (a backup, a
        stolen disk) carries the key with the data it protects."""
        if self.secret_key:
            return False
        key_file = self.secret_key_file or self.var_dir / "secret.key"
        try:
            return key_file.resolve().is_relative_to(self.var_dir.resolve())
        except OSError:
            return False

    def cipher(self) -> FieldCipher:
        """The field cipher from, in order: ``XUNZHEN_SECRET_KEY`` (the environment), ``XUNZHEN_SECRET_KEY_FILE``
        (a file that must exist, outside the data directory), or on the embedded default a key file made once in
        the data directory (for development; a warning is logged, see README → Privacy).

        On PostgreSQL (production) the key must be configured: a key generated on one worker
        would make the data unreadable to the others.
        """
        if self.secret_key:
            return FieldCipher.from_text(self.secret_key)
        if self.key_inside_data_dir():
            log.warning(
                "加密密钥文件位于数据目录 %s 内：复制该目录即可解密居民数据。生产环境请用 XUNZHEN_SECRET_KEY_FILE "
                "指向数据目录以外的文件，或设置 XUNZHEN_SECRET_KEY / the field key is inside the data directory",
                self.var_dir,
            )
        if self.secret_key_file is not None:
            try:
                return FieldCipher.from_text(self.secret_key_file.read_text())
            except OSError as e:
                raise SystemExit(f"无法读取 XUNZHEN_SECRET_KEY_FILE {self.secret_key_file}: {e.strerror}") from None
        if not self.database_url.startswith("sqlite"):
            raise SystemExit("XUNZHEN_SECRET_KEY 或 XUNZHEN_SECRET_KEY_FILE 未设置 / XUNZHEN_SECRET_KEY (or "
                             "XUNZHEN_SECRET_KEY_FILE) must be set when using PostgreSQL")
        key_file = self.var_dir / "secret.key"
        if not key_file.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(FieldCipher.new_key_text() + "\n")
        return FieldCipher.from_text(key_file.read_text())


def _count(e: Mapping[str, str], name: str) -> int:
    """A non-negative whole number from the environment (0 if unset); a clear message if it is not one."""
    raw = (e.get(name) or "0").strip()
    if not raw.isdigit():
        raise SystemExit(f"{name} 应为非负整数，而不是 {raw!r}")
    return int(raw)
