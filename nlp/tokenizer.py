"""A private jieba tokenizer with the medical user dictionary (never the global ``jieba`` instance)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from math import log

import jieba

# jieba's own block and whitespace patterns (jieba/__init__.py), so ``cut`` splits exactly as jieba does.
_HAN = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")
_SKIP = re.compile("(\r\n|\\s)")
_ENG = re.compile("[a-zA-Z0-9]")

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
        self._logs: dict[str, float] = {}
        self._logs_total = -1

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
        """Tokens of an already normalised text: exactly ``jieba.Tokenizer.cut(text, HMM=False)``, computed without
        jieba's generators and with each word's log frequency looked up once (a third of the matcher's time went
        to jieba; ``tests/nlp/test_tokenizer.py`` holds the two equal on every text of the evaluation sets)."""
        out: list[str] = []
        for block in _HAN.split(text):
            if not block:
                continue
            if _HAN.match(block):
                self._cut_block(block, out)
                continue
            for piece in _SKIP.split(block):
                if _SKIP.match(piece):
                    out.append(piece)
                else:
                    out.extend(piece)
        return out

    def _cut_block(self, block: str, out: list[str]) -> None:
        """jieba's ``__cut_DAG_NO_HMM`` on one block: the most probable path through the word graph."""
        freq = self._tok.FREQ
        total = self._tok.total
        logs = self._logs
        if total != self._logs_total:  # a word added since: every cached figure is relative to the old total
            logs.clear()
            self._logs_total = total
        logtotal = log(total)
        n = len(block)
        # jieba's ``get_DAG`` (the ends of every dictionary word starting at each character) and ``calc`` (the
        # best log probability of block[i:] and the end of its first word; on equal scores the larger end wins).
        dag: list[list[int]] = []
        for k in range(n):
            ends = []
            i = k
            f = freq.get(block[k])
            while f is not None:
                if f:
                    ends.append(i)
                i += 1
                if i >= n:
                    break
                f = freq.get(block[k:i + 1])
            dag.append(ends or [k])
        score = [0.0] * (n + 1)
        nxt = [0] * (n + 1)
        for idx in range(n - 1, -1, -1):
            best = -1.0e308
            best_x = -1
            for x in dag[idx]:
                word = block[idx:x + 1]
                lp = logs.get(word)
                if lp is None:
                    lp = logs[word] = log(freq.get(word) or 1) - logtotal
                value = lp + score[x + 1]
                if value > best or (value == best and x > best_x):
                    best, best_x = value, x
            score[idx] = best
            nxt[idx] = best_x
        x = 0
        buf = ""
        while x < n:
            y = nxt[x] + 1
            word = block[x:y]
            if y - x == 1 and _ENG.match(word):
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            x = y
        if buf:
            out.append(buf)
