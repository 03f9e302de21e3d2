"""Repository of the WeChat transports: the shared access token and its refresh lease, nonces, per-user state, the
Official Account's permanent QR codes.

Not attached to the unit of work (the handlers never need it): the transports build one over ``uow``.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from storage.repositories.base import Repository, affected
from storage.tables import WeChatHeldRow, WeChatNonceRow, WeChatQrRow, WeChatTokenRow, WeChatUserRow


class WeChatRepository(Repository):
    """Access tokens, seen nonces, last-inbound times, the local console's screens and permanent QR codes."""


    # --- access tokens --------------------------------------------------------------------------------------
    def token(self, key: str) -> tuple[str | None, datetime | None, str | None, datetime | None]:
        """(token, expires_at, lease_holder, lease_until) of one app; all None if never fetched."""
        q = select(col(WeChatTokenRow.token), col(WeChatTokenRow.expires_at), col(WeChatTokenRow.lease_holder),
                   col(WeChatTokenRow.lease_until)).where(col(WeChatTokenRow.key) == key)
        row = self.s.execute(q).first()
        return (row[0], row[1], row[2], row[3]) if row else (None, None, None, None)

    def take_lease(self, key: str, holder: str, now: datetime, until: datetime, stale_before: datetime) -> bool:
        """Become the one refresher of ``key`` until ``until``; False if another holder's lease is running, or if the
        stored token is good until ``stale_before`` (another worker stored it since it was read: on PostgreSQL the
        read and this update see different moments, and a fresh token must not be fetched again)."""
        self.s.execute(self._insert(WeChatTokenRow).values(key=key).on_conflict_do_nothing())
        res = self.s.execute(
            sa.update(WeChatTokenRow)
            .where(col(WeChatTokenRow.key) == key,
                   sa.or_(col(WeChatTokenRow.lease_until).is_(None), col(WeChatTokenRow.lease_until) < now,
                          col(WeChatTokenRow.lease_holder) == holder),
                   sa.or_(col(WeChatTokenRow.token).is_(None), col(WeChatTokenRow.expires_at).is_(None),
                          col(WeChatTokenRow.expires_at) < stale_before))
            .values(lease_holder=holder, lease_until=until)
        )
        return affected(res) == 1

    def store_token(self, key: str, token: str, expires_at: datetime, holder: str, now: datetime) -> None:
        """Save a freshly fetched token and give the lease back."""
        self.s.execute(
            sa.update(WeChatTokenRow).where(col(WeChatTokenRow.key) == key)
            .values(token=token, expires_at=expires_at, refreshed_at=now, lease_holder=None, lease_until=None)
        )

    def release_lease(self, key: str, holder: str) -> None:
        """Give the lease back without a token (the fetch failed)."""
        self.s.execute(
            sa.update(WeChatTokenRow)
            .where(col(WeChatTokenRow.key) == key, col(WeChatTokenRow.lease_holder) == holder)
            .values(lease_holder=None, lease_until=None)
        )

    def invalidate_token(self, key: str, token: str, now: datetime) -> bool:
        """Mark ``token`` expired (the platform said 40001/42001), unless a newer token replaced it already."""
        res = self.s.execute(
            sa.update(WeChatTokenRow)
            .where(col(WeChatTokenRow.key) == key, col(WeChatTokenRow.token) == token)
            .values(expires_at=now)
        )
        return affected(res) == 1

    # --- nonces ---------------------------------------------------------------------------------------------
    def first_nonce(self, channel: str, nonce: str, now: datetime) -> bool:
        """Record a callback nonce; False if it was seen before (a replay)."""
        stmt = (
            self._insert(WeChatNonceRow)
            .values(channel=channel, nonce=nonce, seen_at=now)
            .on_conflict_do_nothing()
            .returning(col(WeChatNonceRow.nonce))
        )
        return self.s.execute(stmt).first() is not None

    def purge_nonces(self, older_than: datetime) -> int:
        """Forget nonces older than the replay window (their timestamps are refused anyway)."""
        return affected(self.s.execute(sa.delete(WeChatNonceRow).where(col(WeChatNonceRow.seen_at) < older_than)))

    # --- per-user state -------------------------------------------------------------------------------------
    def _user(self, platform: str, user_id: str) -> WeChatUserRow:
        self.s.execute(self._insert(WeChatUserRow).values(platform=platform, user_id=user_id)
                       .on_conflict_do_nothing())
        row = self.s.get(WeChatUserRow, (platform, user_id))
        assert row is not None
        return row

    def touch(self, platform: str, user_id: str, now: datetime) -> None:
        """The user just wrote to us (opens the Official Account's 48-hour customer-service window)."""
        self._user(platform, user_id)
        self.s.execute(sa.update(WeChatUserRow)
                       .where(col(WeChatUserRow.platform) == platform, col(WeChatUserRow.user_id) == user_id)
                       .values(last_inbound_at=now))

    # --- messages held outside the 48-hour window ---------------------------------------------------------------
    def hold(self, platform: str, user_id: str, bodies: list[str], now: datetime) -> None:
        """Keep messages (the API's JSON bodies) for the user until they next write."""
        for body in bodies:
            self.s.add(WeChatHeldRow(platform=platform, user_id=user_id, body=body, created_at=now))

    def take_held(self, platform: str, user_id: str) -> list[str]:
        """The messages held for the user, oldest first, and forget them (they go out now)."""
        rows = self.s.execute(select(WeChatHeldRow.id, WeChatHeldRow.body)
                              .where(col(WeChatHeldRow.platform) == platform, col(WeChatHeldRow.user_id) == user_id)
                              .order_by(col(WeChatHeldRow.id))).all()
        if rows:
            self.s.execute(sa.delete(WeChatHeldRow).where(col(WeChatHeldRow.id).in_([r.id for r in rows])))
        return [r.body for r in rows]

    def purge_held(self, older_than: datetime, limit: int) -> int:
        """Forget up to ``limit`` held messages nobody came back for since ``older_than``; returns how many."""
        old = select(WeChatHeldRow.id).where(col(WeChatHeldRow.created_at) < older_than).limit(limit)
        return affected(self.s.execute(sa.delete(WeChatHeldRow).where(col(WeChatHeldRow.id).in_(old))))

    def last_inbound(self, platform: str, user_id: str) -> datetime | None:
        """When the user last wrote to us, or None."""
        q = select(col(WeChatUserRow.last_inbound_at)).where(col(WeChatUserRow.platform) == platform,
                                                              col(WeChatUserRow.user_id) == user_id)
        return self.s.execute(q).scalar_one_or_none()

    # --- permanent QR codes ---------------------------------------------------------------------------------
    def permanent_qr(self, app_id: str, scene: str) -> str | None:
        """The URL of the account's permanent QR code for ``scene``, if one was made."""
        q = select(col(WeChatQrRow.url)).where(col(WeChatQrRow.app_id) == app_id, col(WeChatQrRow.scene) == scene)
        return self.s.execute(q).scalar_one_or_none()

    def keep_permanent_qr(self, app_id: str, scene: str, url: str, now: datetime) -> str:
        """Remember a permanent QR code just made; the one kept (another worker's, if it was first)."""
        self.s.execute(self._insert(WeChatQrRow).values(app_id=app_id, scene=scene, url=url, created_at=now)
                       .on_conflict_do_nothing())
        kept = self.permanent_qr(app_id, scene)
        assert kept is not None
        return kept

    def set_screen(self, platform: str, user_id: str, screen: dict[str, object], now: datetime) -> None:
        """Remember a whole screen of numbered lists (the local console's; the Official Account keeps a list)."""
        self._user(platform, user_id)
        self.s.execute(sa.update(WeChatUserRow)
                       .where(col(WeChatUserRow.platform) == platform, col(WeChatUserRow.user_id) == user_id)
                       .values(choices=json.dumps(screen, ensure_ascii=False), choices_at=now))

    def screen(self, platform: str, user_id: str) -> dict[str, object]:
        """The screen last remembered with :meth:`set_screen` (empty if none)."""
        found = self.choices(platform, user_id)
        return found if isinstance(found, dict) else {}

    def choices(self, platform: str, user_id: str) -> list[list[str]]:
        """The numbered choices last shown to the user."""
        q = select(col(WeChatUserRow.choices)).where(col(WeChatUserRow.platform) == platform,
                                                      col(WeChatUserRow.user_id) == user_id)
        found = self.s.execute(q).scalar_one_or_none()
        return json.loads(found) if found else []
