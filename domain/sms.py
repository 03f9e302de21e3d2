"""SMS announcements: the resident's separate consent, the replies that mean "stop", and the one-segment rule.

Chinese operators treat a reply of "TD" (退订) or "T" as an unsubscribe; the provider forwards replies where it
is set up to, and any of these words stops every SMS to that number at once.
"""

from __future__ import annotations

import unicodedata

# The wording of the SMS consent a village doctor reads to the resident (handlers/texts_sms.py, ``sms.consent``):
# change the version whenever that wording changes, so each registration records which text was agreed to.
SMS_CONSENT_VERSION = "sms-2026-11-v1"
OPT_OUT_WORDS = frozenset({"TD", "T", "退订", "退订短信", "取消订阅"})
SEGMENT = 70  # characters of one Chinese SMS, signature (with its 【】) included; longer ones go as 67 each


def is_opt_out(text: str) -> bool:
    """True for a reply that asks to stop SMS ("TD", "td", " 退订 ", "T。"): case, width and punctuation ignored."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    kept = "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith("P")))
    return kept in OPT_OUT_WORDS


def segments(length: int) -> int:
    """How many SMS a text of ``length`` characters (signature included) is billed as."""
    return 1 if length <= SEGMENT else -(-length // 67)
