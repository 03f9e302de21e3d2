"""Phone and ID numbers are masked wherever text leaves the database."""

from __future__ import annotations

import logging

from bot.logging_setup import MaskingFilter
from domain.privacy import is_valid_mobile, mask_id_number, mask_phone, mask_sensitive
from storage.crypto import FieldCipher


def test_masking_phone_and_id_numbers():
    assert mask_phone("13900001234") == "139****1234"
    assert mask_id_number("35042119900101123X") == "350421********123X"
    text = "王大妈电话13900001234，身份证35042119900101123X，座机0598-5551234"
    masked = mask_sensitive(text)
    assert "13900001234" not in masked and "19900101" not in masked and "5551234" not in masked
    assert "139****1234" in masked


def test_masking_leaves_ordinary_numbers_alone():
    assert mask_sensitive("血压150/95，发烧三天，体温38.5") == "血压150/95，发烧三天，体温38.5"


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("xz.test")
    handler = caplog.handler
    handler.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="xz.test"):
            logger.info("resident phone %s registered", "+86 139 0000 1234")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "0000" not in caplog.text and "139****1234" in caplog.text


def test_mobile_validation():
    assert is_valid_mobile("139-0000-1234") and is_valid_mobile("+8613900001234")
    assert not is_valid_mobile("12345") and not is_valid_mobile("23900001234")


def test_field_cipher_round_trip_and_context_binding():
    c = FieldCipher.from_text(FieldCipher.new_key_text())
    token = c.encrypt("13900001234", context="resident.phone")
    assert "13900001234" not in token
    assert c.decrypt(token, context="resident.phone") == "13900001234"
    assert c.encrypt("13900001234", context="resident.phone") != token  # fresh nonce each time
    assert c.lookup_hash("13900001234", context="phone") == c.lookup_hash("13900001234", context="phone")
    import pytest
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        c.decrypt(token, context="staff.phone")
    other = FieldCipher.from_text(FieldCipher.new_key_text())
    assert other.lookup_hash("13900001234", context="phone") != c.lookup_hash("13900001234", context="phone")
