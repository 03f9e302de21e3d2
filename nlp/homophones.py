"""Typed homophones read as the red-flag word they sound like: 雪压 for 血压, 舍咬 for 蛇咬, 婚迷 for 昏迷.

Voice input and pinyin keyboards put the right sound on the wrong character, and every writer does it with other
characters, so no list of typos keeps up. A span is read as a red-flag word when all of this holds:
- it starts and ends where jieba's tokens do (so "其中读书" never yields 中毒 from 中读);
- it is no word jieba knows (泥水 stays 泥水, it never becomes 溺水);
- it sounds like the word, tones aside, and differs from it in exactly one character;
- neither holds a function character (了, 得, 到 …): "买了" is no typo of 埋了.
Only the red-flag detector reads the mended text; specialty matching reads what was typed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

_MIN, _MAX = 2, 4
# Function characters: a word with one ("倒了", "疼得", "电到") says too little to be guessed from its sound, and
# a typed span with one ("买了", "年了", "点到") is most likely what it says.
_FUNCTION = frozenset("了得的地到着过在是也就都又还把被给和与或不没无未冇别很太吗呢吧啊呀嘛么一个这那")


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class HomophoneMender:
    """Replaces one-character homophone typos of red-flag words; the sound tables are built on first use."""

    def __init__(self, words: Iterable[str], is_word: Callable[[str], bool]):
        self._words = sorted({w for w in words if _MIN <= len(w) <= _MAX and all(_cjk(c) for c in w)
                              and _FUNCTION.isdisjoint(w)})
        self._is_word = is_word
        self._index: dict[tuple[str, ...], tuple[str, ...]] | None = None
        self._first: frozenset[str] = frozenset()
        self._sound: dict[str, str] = {}
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Build the sound tables now (about a quarter of a second) instead of at the first message."""
        if self._index is None:
            self._build()

    def _build(self) -> None:
        from pypinyin import Style, lazy_pinyin

        with self._lock:
            if self._index is not None:
                return
            index: dict[tuple[str, ...], list[str]] = {}
            for word in self._words:
                # The word as read in context (出血 "chu xue") and character by character, the way a typed
                # character is read.
                keys = {tuple(lazy_pinyin(word, style=Style.NORMAL)), tuple(self._reading(c) for c in word)}
                for key in keys:
                    if len(key) == len(word):
                        index.setdefault(key, []).append(word)
            self._first = frozenset(k[0] for k in index)
            self._index = {k: tuple(v) for k, v in index.items()}

    def _reading(self, ch: str) -> str:
        sound = self._sound.get(ch)
        if sound is None:
            from pypinyin import Style, lazy_pinyin

            sound = lazy_pinyin(ch, style=Style.NORMAL)[0] if _cjk(ch) else ""
            self._sound[ch] = sound
        return sound

    def mend(self, text: str, tokens: list[str]) -> str:
        """``text`` (whose jieba tokens are ``tokens``) with homophone typos of red-flag words replaced."""
        if self._index is None:
            self._build()
        index = self._index
        assert index is not None
        bounds = {0}
        pos = 0
        for t in tokens:
            pos += len(t)
            bounds.add(pos)
        if pos != len(text):
            return text  # tokens of another text: never guess
        known = self._sound
        sounds = [known[c] if c in known else self._reading(c) for c in text]
        first = self._first
        out: list[str] = []
        done = 0
        i = 0
        n = len(text)
        while i < n - 1:
            if i in bounds and sounds[i] in first:
                for size in (4, 3, 2):
                    j = i + size
                    if j > n or j not in bounds:
                        continue
                    words = index.get(tuple(sounds[i:j]))
                    if not words:
                        continue
                    span = text[i:j]
                    if span in words or self._is_word(span) or not _FUNCTION.isdisjoint(span):
                        break  # what was typed is a word of its own
                    word = next((w for w in words if sum(a != b for a, b in zip(w, span, strict=True)) == 1), None)
                    if word is not None:
                        out.append(text[done:i])
                        out.append(word)
                        done = j
                        i = j - 1
                        break
            i += 1
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)
