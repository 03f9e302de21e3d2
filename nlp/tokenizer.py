"""A private jieba tokenizer with the medical user dictionary (never the global ``jieba`` instance)."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable

import jieba

# Frequency given to dictionary words jieba does not know, or knows too rarely to keep whole.
# High enough that "心口疼" beats "心口"+"疼", low enough not to swallow neighbouring common words.
_TERM_FREQ = 3000

_lock = threading.Lock()


def _cache_dir() -> str:
    """A per-user temp directory for jieba's prefix-dictionary cache (never inside the repository)."""
    path = os.path.join(tempfile.gettempdir(), f"xunzhen-jieba-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(path, exist_ok=True)
    return path


class MedicalTokenizer:
    """jieba with our medical words added; ``cut`` is HMM-free so results are dictionary-driven."""

    def __init__(self, words: Iterable[str]):
        # jieba logs its cache messages at DEBUG/INFO to stderr; the CLI's stderr is for progress only.
        logging.getLogger("jieba").setLevel(logging.WARNING)
        self._tok = jieba.Tokenizer()
        self._tok.tmp_dir = _cache_dir()
        with _lock:
            self._tok.initialize()
        freq = self._tok.FREQ
        words = list(words)
        self.known = frozenset(w for w in words if freq.get(w, 0) > 0)
        self.added = frozenset(w for w in words if len(w) >= 2 and freq.get(w, 0) < _TERM_FREQ)
        for word in words:
            if len(word) < 2:
                continue  # single characters are already known; raising them would break real words
            if freq.get(word, 0) < _TERM_FREQ:
                self._tok.add_word(word, _TERM_FREQ)
        self._cut = self._tok.cut

    def everyday_words(self, min_freq: int = 500) -> list[str]:
        """jieba's common words of two to four characters, most frequent first (for reading pinyin)."""
        freq = self._tok.FREQ
        words = [w for w, f in freq.items() if f >= min_freq and 2 <= len(w) <= 4 and w not in self.added]
        return sorted(words, key=lambda w: -freq[w])

    def freq(self, word: str) -> int:
        """How often jieba's dictionary says ``word`` occurs (0 when it is no word)."""
        return int(self._tok.FREQ.get(word, 0))

    def is_word(self, word: str) -> bool:
        """jieba's dictionary (with ours) has this word."""
        return self._tok.FREQ.get(word, 0) > 0

    def cut(self, text: str) -> list[str]:
        """Tokens of an already normalised text."""
        return list(self._cut(text, HMM=False))
