"""Tables of the WeChat transports: shared access tokens, seen callback nonces, per-user channel state, the Official
Account's permanent QR codes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.tables.types import utc_field

__all__ = ["WeChatNonceRow", "WeChatQrRow", "WeChatTokenRow", "WeChatUserRow"]


class WeChatTokenRow(SQLModel, table=True):
    """One access_token per app, shared by every worker; a lease elects the single refresher."""

    __tablename__ = "wechat_token"
    key: str = Field(primary_key=True, max_length=96)  # "wecom:<corp>:<agent>" or "wechat:<appid>"
    token: str | None = Field(default=None, max_length=512)
    expires_at: datetime | None = utc_field(nullable=True)
    refreshed_at: datetime | None = utc_field(nullable=True)
    lease_holder: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = utc_field(nullable=True)


class WeChatNonceRow(SQLModel, table=True):
    """A callback nonce already accepted (replay protection); rows older than the time window are purged."""

    __tablename__ = "wechat_nonce"
    channel: str = Field(primary_key=True, max_length=16)
    nonce: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = utc_field(index=True)


class WeChatUserRow(SQLModel, table=True):
    """Per platform user: when they last wrote (the 48-hour window), and the local console's screen (its numbered
    lists and open question, kept across restarts). The choices put to people are the core's prompts
    (``chat_prompt``), on every platform."""

    __tablename__ = "wechat_user"
    platform: str = Field(primary_key=True, max_length=16)
    user_id: str = Field(primary_key=True, max_length=64)
    last_inbound_at: datetime | None = utc_field(nullable=True)
    choices: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))
    choices_at: datetime | None = utc_field(nullable=True)


class WeChatQrRow(SQLModel, table=True):
    """A permanent QR code the Official Account made (100,000 an account, for ever): made once per scene, then
    reused."""

    __tablename__ = "wechat_qr"
    app_id: str = Field(primary_key=True, max_length=64)
    scene: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=512)
    created_at: datetime = utc_field()


class WeChatHeldRow(SQLModel, table=True):
    """A message held for an Official Account follower outside the 48-hour window: a template message told them
    there is one; this goes out as a customer-service message when they next write (``body``: the API's JSON)."""

    __tablename__ = "wechat_held"
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64, index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = utc_field(index=True)
