"""Encryption at rest for phone and ID numbers (AES-GCM) with a keyed hash for lookups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1:"


class FieldCipher:
    """Encrypts short personal values; the same key derives separate encryption and lookup keys."""

    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"xunzhen-enc|" + key).digest())
        self._mac_key = hashlib.sha256(b"xunzhen-mac|" + key).digest()

    @classmethod
    def from_text(cls, text: str) -> FieldCipher:
        """Build from the base64 form kept in configuration (``XUNZHEN_SECRET_KEY``)."""
        return cls(base64.urlsafe_b64decode(text.strip().encode() + b"=="))

    @staticmethod
    def new_key_text() -> str:
        """A fresh random key in its configuration form."""
        return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")

    def encrypt(self, value: str | None, *, context: str) -> str | None:
        """Encrypt ``value``; ``context`` (e.g. ``resident.phone``) is bound as associated data."""
        if value is None:
            return None
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode(), context.encode())
        return _PREFIX + base64.b64encode(nonce + ct).decode()

    def decrypt(self, token: str | None, *, context: str) -> str | None:
        """Decrypt what ``encrypt`` produced with the same context."""
        if token is None:
            return None
        raw = base64.b64decode(token.removeprefix(_PREFIX))
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def lookup_hash(self, value: str | None, *, context: str) -> str | None:
        """A keyed hash so equal values can be found without decrypting every row."""
        if value is None:
            return None
        return hmac.new(self._mac_key, f"{context}|{value}".encode(), hashlib.sha256).hexdigest()
