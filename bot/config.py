"""Configuration from the environment (see README → Configuration): the one module that reads it.

Every setting is read once, by :meth:`Settings.from_env`, into typed values that the composition root
(``bot.bootstrap``) hands to whatever needs them; nothing else reads ``os.environ``
(``tests/test_architecture.py`` holds that), and nothing writes to it except :func:`opt_in_library_switches`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from bot.transports.sms.template import DEFAULT_TEXT, PARAM_LIMIT, SmsTemplate
from bot.transports.wechat.template import DEFAULT_FIELDS, parse_fields
from domain.announcements import DEFAULT_OFFSETS, Offset, parse_offsets

if TYPE_CHECKING:  # imported where used: `--help` and the NLP commands never pay for the database libraries
    from storage.crypto import FieldCipher
    from storage.db import SqliteOptions

log = logging.getLogger(__name__)
CONSENT_VERSION = "2026-11-v1"
# The service's time zone: a XUNZHEN_FAKE_NOW written without an offset is Sanming wall-clock time.
CHINA = ZoneInfo("Asia/Shanghai")
WORKER_ROLES = frozenset({"scheduler", "sender"})
T = TypeVar("T")
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
WECHAT_KEYS = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "WECHAT_APP_ID",
               "WECHAT_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_TEMPLATE_ANNOUNCEMENT",
               "WECHAT_TEMPLATE_NOTICE")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the worker (scheduler and outbox sender) reads besides the shared settings."""

    roles: frozenset[str] = WORKER_ROLES  # XUNZHEN_WORKER_ROLES: which of the two this process runs
    reminders: tuple[Offset, ...] = DEFAULT_OFFSETS  # XUNZHEN_REMINDERS: announcements before each circuit
    sweep_seconds: float = 60.0  # XUNZHEN_SWEEP_SECONDS: how often the scheduler re-finds what is due
    outbox_lease_seconds: float = 60.0  # XUNZHEN_OUTBOX_LEASE_SECONDS: a claim's life before another sender may take it


SMS_PROVIDERS = ("aliyun", "tencent")


@dataclass(frozen=True, slots=True)
class SmsSettings:
    """SMS announcements for residents without a smartphone (README → SMS); no provider: no SMS channel."""

    provider: str | None = None  # SMS_PROVIDER: aliyun | tencent
    access_key_id: str | None = None  # SMS_ACCESS_KEY_ID (Tencent: the SecretId)
    access_key_secret: str | None = None  # SMS_ACCESS_KEY_SECRET (Tencent: the SecretKey)
    sign_name: str | None = None  # SMS_SIGN_NAME: the approved signature, without 【】
    template_code: str | None = None  # SMS_TEMPLATE_CODE: the approved template (Alibaba SMS_…, Tencent its id)
    template: SmsTemplate | None = None  # SMS_TEMPLATE_TEXT (default: README's text for the provider), parsed
    sdk_app_id: str | None = None  # SMS_SDK_APP_ID (Tencent only)
    region: str = "ap-guangzhou"  # SMS_REGION (Tencent only)
    endpoint: str | None = None  # SMS_ENDPOINT: the provider's API (tests: the local fake); None: the public one
    callback_token: str | None = None  # SMS_CALLBACK_TOKEN: the secret path segment of the push addresses

    @classmethod
    def from_env(cls, e: Mapping[str, str]) -> SmsSettings:
        """Read ``SMS_*``; a clear message when the provider is set and something it needs is missing."""
        provider = (e.get("SMS_PROVIDER") or "").strip().lower() or None
        token = e.get("SMS_CALLBACK_TOKEN") or None
        if token is not None and len(token) < 16:
            raise SystemExit("SMS_CALLBACK_TOKEN 至少 16 个字符 / must be at least 16 characters")
        if provider is None:
            return cls(callback_token=token)
        if provider not in SMS_PROVIDERS:
            raise SystemExit(f"SMS_PROVIDER 只能是 aliyun 或 tencent，而不是 {provider!r}")
        needed = ["SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE_CODE"]
        needed += ["SMS_SDK_APP_ID"] if provider == "tencent" else []
        missing = [k for k in needed if not e.get(k)]
        if missing:
            raise SystemExit(f"SMS_PROVIDER={provider} 还需要设置 {', '.join(missing)} / missing settings")
        sign = e["SMS_SIGN_NAME"].strip().strip("【】")
        limit = _count(e, "SMS_PARAM_LIMIT") or PARAM_LIMIT[provider]
        text = e.get("SMS_TEMPLATE_TEXT") or DEFAULT_TEXT[provider]
        try:
            template = SmsTemplate.parse(text, sign, limit)
        except ValueError as err:
            raise SystemExit(f"SMS_TEMPLATE_TEXT 无法使用 / cannot be used: {err}") from None
        return cls(provider=provider, access_key_id=e["SMS_ACCESS_KEY_ID"],
                   access_key_secret=e["SMS_ACCESS_KEY_SECRET"],
                   sign_name=sign, template_code=e["SMS_TEMPLATE_CODE"], template=template,
                   sdk_app_id=e.get("SMS_SDK_APP_ID") or None, region=e.get("SMS_REGION") or "ap-guangzhou",
                   endpoint=(e.get("SMS_ENDPOINT") or "").rstrip("/") or None, callback_token=token)


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
    # WECHAT_TEMPLATE_NOTICE: the template that tells a follower outside the 48-hour window that a personal message
    # waits for them (thing1 what, time2 when, thing3 "回复任意文字查看"); the message goes out when they write
    wechat_template_notice: str | None = None
    # WECHAT_TEMPLATE_FIELDS: which field of the chosen template shows which part of an announcement
    wechat_template_fields: tuple[tuple[str, str], ...] = ()
    public_url: str | None = None  # XUNZHEN_PUBLIC_URL: the web server's public address (announcement pages)
    wechat_listen: str = "127.0.0.1:8090"
    # WECHAT_QR_CODES=off: no parametric QR codes (only verified service accounts may make them)
    wechat_qr_codes: bool = True
    handler_processes: int = 0  # Telegram: run the handlers in this many worker processes (0: threads here)
    send_rate: int = 30  # a platform's overall sends per second per bot token, shared by every process
    flood_limit: int = 8  # messages from one person within 2 s before they are asked, once, to slow down
    library_debug: bool = False  # XUNZHEN_LIBRARY_DEBUG=1: libraries log at DEBUG too (never in production)
    # A file holding the field-encryption key, kept outside the data directory (``XUNZHEN_SECRET_KEY_FILE``).
    secret_key_file: Path | None = None
    sqlite: SqliteOptions | None = None  # XUNZHEN_SQLITE_BUSY_MS, _CHECKPOINT_PAGES (None: storage.db's defaults)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    extra_holidays: frozenset[date] = frozenset()  # XUNZHEN_HOLIDAYS: beyond what chinese-calendar knows
    # XUNZHEN_FAKE_NOW (tests and demos): the clock starts here and runs at real speed (bot.bootstrap.make_clock).
    fake_now: datetime | None = None
    dashboard_secure_cookie: bool | None = None  # XUNZHEN_DASHBOARD_SECURE_COOKIE; None: decided by the address
    sms: SmsSettings = field(default_factory=SmsSettings)  # SMS_*: announcements by SMS (README → SMS)
    # XUNZHEN_CJK_FONT: the Chinese TrueType font printed pages are set in (None: Debian's, see bot.delivery.fonts)
    cjk_font: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``XUNZHEN_*`` and friends from the environment (or ``env``); a clear message on a bad value."""
        from bot.calendar_cn import parse_holiday_setting
        from storage.db import SqliteOptions

        e = os.environ if env is None else env
        defaults = SqliteOptions()
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
            retention_days=_count(e, "XUNZHEN_RETENTION_DAYS", 365),
            **{k.lower(): e.get(k) or None for k in WECHAT_KEYS},
            wecom_api_base_url=(e.get("WECOM_API_BASE_URL") or "https://qyapi.weixin.qq.com").rstrip("/"),
            wechat_api_base_url=(e.get("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com").rstrip("/"),
            wechat_listen=e.get("WECHAT_LISTEN") or "127.0.0.1:8090",
            wechat_template_fields=_parsed(e, "WECHAT_TEMPLATE_FIELDS", parse_fields) or parse_fields(DEFAULT_FIELDS),
            public_url=(e.get("XUNZHEN_PUBLIC_URL") or "").rstrip("/") or None,
            wechat_qr_codes=_on_off(e, "WECHAT_QR_CODES") is not False,
            handler_processes=_count(e, "XUNZHEN_HANDLER_PROCESSES"),
            send_rate=_count(e, "XUNZHEN_SEND_RATE") or 30,
            flood_limit=_count(e, "XUNZHEN_FLOOD_LIMIT") or 8,
            library_debug=(e.get("XUNZHEN_LIBRARY_DEBUG") or "").strip().lower() in ("1", "true", "yes", "on"),
            secret_key_file=Path(e["XUNZHEN_SECRET_KEY_FILE"]) if e.get("XUNZHEN_SECRET_KEY_FILE") else None,
            sqlite=SqliteOptions(
                busy_timeout_ms=_count(e, "XUNZHEN_SQLITE_BUSY_MS", defaults.busy_timeout_ms),
                wal_autocheckpoint_pages=_count(e, "XUNZHEN_SQLITE_CHECKPOINT_PAGES",
                                                defaults.wal_autocheckpoint_pages),
            ),
            worker=WorkerSettings(
                roles=_roles(e.get("XUNZHEN_WORKER_ROLES") or ""),
                reminders=_parsed(e, "XUNZHEN_REMINDERS", parse_offsets) or DEFAULT_OFFSETS,
                sweep_seconds=_seconds(e, "XUNZHEN_SWEEP_SECONDS", 60.0),
                outbox_lease_seconds=_seconds(e, "XUNZHEN_OUTBOX_LEASE_SECONDS", 60.0),
            ),
            extra_holidays=frozenset(_parsed(e, "XUNZHEN_HOLIDAYS", parse_holiday_setting) or ()),
            fake_now=_parsed(e, "XUNZHEN_FAKE_NOW", parse_fake_now),
            dashboard_secure_cookie=_on_off(e, "XUNZHEN_DASHBOARD_SECURE_COOKIE"),
            sms=SmsSettings.from_env(e),
            cjk_font=(e.get("XUNZHEN_CJK_FONT") or "").strip() or None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, for the log filter to mask wherever one appears."""
        values = (self.telegram_token, self.webhook_secret, self.secret_key, self.wecom_secret, self.wecom_token,
                  self.wecom_aes_key, self.wechat_secret, self.wechat_token, self.wechat_aes_key,
                  self.sms.access_key_secret, self.sms.callback_token)
        return tuple(v for v in values if v)

    @property
    def official_account(self) -> bool:
        """True when the Official Account's API can be called (its app id and secret are set)."""
        return bool(self.wechat_app_id and self.wechat_secret)

    @property
    def qr_codes(self) -> bool:
        """True when links and villages are also shown as the Official Account's parametric QR codes."""
        return self.official_account and self.wechat_qr_codes

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
        from storage.crypto import FieldCipher

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
                path = self.secret_key_file
                raise SystemExit(f"无法读取 XUNZHEN_SECRET_KEY_FILE {path}（{e.strerror}），请检查路径和权限 / "
                                 f"cannot read XUNZHEN_SECRET_KEY_FILE {path} ({e.strerror}): check the path and its "
                                 "permissions") from None
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


def parse_fake_now(text: str) -> datetime:
    """``XUNZHEN_FAKE_NOW`` as an aware time: an ISO time with an offset as written, one without an offset is
    Sanming (Asia/Shanghai) wall-clock time, the zone every date in this service is read in."""
    t = datetime.fromisoformat(text.strip())
    return t if t.tzinfo is not None else t.replace(tzinfo=CHINA)


def opt_in_library_switches() -> None:
    """Set the switches libraries read from the environment themselves; the entry point calls this first.

    python-telegram-bot 22 reads ``PTB_TIMEDELTA`` on every access to a duration (``RetryAfter.retry_after``,
    a video's length, ...; ``telegram._utils.datetime.get_timedelta_value``) and, unless it is ``true``, warns
    that the value will become a ``timedelta``; our code handles both. An operator's own value is kept.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def _count(e: Mapping[str, str], name: str, default: int = 0) -> int:
    """A non-negative whole number from the environment (``default`` if unset); a clear message if it is not."""
    raw = (e.get(name) or str(default)).strip()
    if not raw.isdigit():
        raise SystemExit(f"{name} 应为非负整数（如 {default}），而不是 {raw!r}，请改正或删去这个设置 / "
                         f"{name} must be a whole number of 0 or more (e.g. {default}), not {raw!r}: correct it or "
                         "leave it unset")
    return int(raw)


def _seconds(e: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds (``default`` if unset); a clear message if it is not one."""
    raw = (e.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SystemExit(f"{name} 应为正的秒数（如 {default:g}），而不是 {raw!r}，请改正或删去这个设置 / "
                         f"{name} must be a number of seconds above 0 (e.g. {default:g}), not {raw!r}: correct it or "
                         "leave it unset")
    return value


def _parsed(e: Mapping[str, str], name: str, parse: Callable[[str], T]) -> T | None:
    """``parse`` of the variable's value (None if unset or empty); a clear message if it cannot be parsed."""
    raw = e.get(name) or ""
    if not raw.strip():
        return None
    try:
        return parse(raw)
    except ValueError as err:
        raise SystemExit(f"{name} 无法解析：{raw!r}（{err}），写法见 README 的配置一节 / {name} cannot be read: "
                         f"{raw!r} ({err}); the README's Configuration section shows how to write it") from None


def _roles(raw: str) -> frozenset[str]:
    """``XUNZHEN_WORKER_ROLES``: ``scheduler``, ``sender`` or both (the default)."""
    roles = frozenset(r.strip() for r in raw.split(",") if r.strip()) or WORKER_ROLES
    if not roles <= WORKER_ROLES:
        raise SystemExit(f"XUNZHEN_WORKER_ROLES 只能是 scheduler、sender 或两者（用逗号分开），而不是 {raw!r} / "
                         f"XUNZHEN_WORKER_ROLES must be scheduler, sender or both (comma-separated), not {raw!r}")
    return roles


def _on_off(e: Mapping[str, str], name: str) -> bool | None:
    """An on/off switch (None if unset): ``1/true/yes/on`` or ``0/false/no/off``."""
    raw = (e.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw not in _TRUE | _FALSE:
        raise SystemExit(f"{name} 应为 on 或 off，而不是 {e.get(name)!r} / {name} must be on or off, not "
                         f"{e.get(name)!r}")
    return raw in _TRUE
