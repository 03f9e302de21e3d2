"""Masking of phone and ID numbers in free text before it is stored, and wherever text leaves the database."""

from __future__ import annotations

import re

# Mainland mobile numbers (optionally +86), 18-digit resident ID numbers (last may be X), and 15-digit old IDs.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_ID18 = re.compile(r"(?<![\dXx])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dXx])")
_ID15 = re.compile(r"(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")


def mask_phone(phone: str) -> str:
    """``13900001234`` → ``139****1234``."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """``350421199001011234`` → ``350421********1234``."""
    s = id_number.strip()
    if len(s) < 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_sensitive(text: str) -> str:
    """Mask every phone and ID number found in free text."""
    text = _ID18.sub(lambda m: m.group(1) + "********" + m.group(3), text)
    text = _ID15.sub(lambda m: m.group(1) + "******" + m.group(3), text)
    text = _PHONE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _LANDLINE.sub(lambda m: m.group(1) + "-****" + m.group(3), text)


def mask_free_text(text: str | None) -> str | None:
    """``mask_sensitive`` for a free-text field that may be empty (None stays None): applied before storing."""
    return mask_sensitive(text) if text else text


def normalise_phone(phone: str) -> str:
    """Digits only, without a leading +86, so the same number always hashes the same."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


_PUBLIC_PHONE = re.compile(r"[0-9+()\- ]+(?:(?:转|ext\.?|x)\s*\d{1,6})?", re.I)


def is_plausible_phone(phone: str) -> bool:
    """Loosely: a landline (0598-1234567, (0598)1234567), a mobile or a short duty line (7–15 digits, optional
    extension such as 转801); for an institution's public number, stored as given."""
    text = phone.strip()
    if not _PUBLIC_PHONE.fullmatch(text):
        return False
    main = re.split(r"转|ext|x", text, maxsplit=1, flags=re.I)[0]
    return 7 <= len(re.sub(r"\D", "", main)) <= 15


def is_valid_mobile(phone: str) -> bool:
    """True for an 11-digit mainland mobile number."""
    return re.fullmatch(r"1[3-9]\d{9}", normalise_phone(phone)) is not None
