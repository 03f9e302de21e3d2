"""Text normalisation before tokenisation: script, width, punctuation, numbers."""

from __future__ import annotations

import re
import threading

import opencc

# Full-width ASCII block (！ .. ～) maps onto ASCII by a fixed offset; the ideographic space to a space.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20
# Chinese sentence punctuation becomes one canonical set so clause splitting needs one character class.
_PUNCT = str.maketrans({"!": "！", "?": "？", ";": "；", ",": "，", ":": "：", "～": "~"})
_REPEAT_PUNCT = re.compile(r"([，。！？；、~…\.])\1+")
_SPACES = re.compile(r"\s+")
# Chinese typed or dictated with a space after every word ("孙女 刚才 抽 了 五 分钟"): the spaces are no clause breaks.
_CJK_PIECE = re.compile(r"[\u3400-\u9fff]+")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
# Chinese numerals in common age/duration phrases ("三岁", "两个月") become digits for the age parser.
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"([一二两三四五六七八九十]{1,3})(?=(?:周岁|岁|个月|月大|个多月))")

_lock = threading.Lock()
_converter: opencc.OpenCC | None = None
_traditional: frozenset[str] = frozenset()


def _load() -> tuple[opencc.OpenCC, frozenset[str]]:
    """The t2s converter and the set of characters it changes (computed once)."""
    global _converter, _traditional
    with _lock:
        if _converter is None:
            conv = opencc.OpenCC("t2s")
            # One conversion of the whole CJK block tells us which characters are traditional, so the
            # common (already simplified) case costs a set check instead of a converter call.
            chars = "".join(chr(c) for c in range(0x4E00, 0xA000))
            converted = conv.convert(chars)
            trad = {a for a, b in zip(chars, converted, strict=False) if a != b}
            if len(converted) != len(chars):  # defensive: never trust a skipped shortcut
                trad = {chr(c) for c in range(0x4E00, 0xA000)}
            _traditional = frozenset(trad)
            _converter = conv
        return _converter, _traditional


def _cn_to_int(s: str) -> int:
    """Parse a small Chinese numeral (up to 99)."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in s:
        value = value * 10 + _CN_DIGITS.get(ch, 0)
    return value


def normalize(text: str) -> str:
    """Simplified script, half-width ASCII, lower case, single punctuation, digits for ages."""
    conv, trad = _load()
    if not trad.isdisjoint(text):
        text = conv.convert(text)
    text = text.translate(_WIDTH).translate(_PUNCT).lower()
    text = _SPACES.sub(" ", text).strip()
    if text.count(" ") >= 4:
        pieces = [p for p in text.split(" ") if _CJK_PIECE.fullmatch(p)]
        if len(pieces) >= 5 and sum(map(len, pieces)) <= 2 * len(pieces):
            text = _CJK_GAP.sub("", text)
    text = _REPEAT_PUNCT.sub(r"\1", text)
    if "岁" in text or "月" in text:
        text = _CN_NUMBER.sub(lambda m: str(_cn_to_int(m.group(1))), text)
    return text
