"""Finding a complaint in a first-diagnosis catalogue (基层首诊病种目录): "can this be treated here?".

The lexicon is data (``nlp/data/first_diagnosis.tsv``): each disease of the shared starting list with its ICD-10
code and the words residents use for it (血压高 for 高血压, 血糖高 for 2型糖尿病). The same file is the list a
center adopts. Text and words go through the specialty matcher's normalisation (``nlp.normalize``: simplified
script, half width, lower case, one set of clause breaks), so 血壓高 and 血压高 are one; a word right after a
negation in its clause (没有高血压, 否认糖尿病) does not count, as in the specialty matcher.

A center's entry finds its words by its ICD-10 code (I10; an entry coded E11.9 also takes the words of E11) or, when
uncoded, by its name; its own name always counts. The longest word wins where two overlap (慢性胃炎 over 胃炎).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from domain.catalogue import CatalogueEntry, CatalogueMatch
from nlp.normalize import normalize
from nlp.resources import LexiconError, data_dir

FILE = "first_diagnosis.tsv"
MAX_TEXT = 2000
_BREAKS = re.compile(r"[，。！？；\n]")
# A negation this close before a word, in the same clause, cancels it (没有高血压, 否认有糖尿病, 无痛风).
_NEGATIONS = ("没有", "没", "无", "否认", "不是", "未见", "排除")
_NEGATION_REACH = 3
_WORDS_CACHE_MAX = 20_000


@dataclass(frozen=True, slots=True)
class Disease:
    """A disease of the shared starting list: its ICD-10 code, its name and the words residents use for it."""

    icd10: str
    name: str
    forms: tuple[str, ...]


def load_lexicon(path=None) -> tuple[Disease, ...]:
    """The shipped starting list (or the file at ``path``); ``LexiconError`` names a malformed line."""
    path = path or data_dir() / FILE
    out: list[Disease] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in raw.split("\t")]
        if len(cols) not in (2, 3) or not all(cols[:2]):
            raise LexiconError(f"{path.name}:{lineno}: 应为 ICD-10<TAB>病名<TAB>俗称：{raw!r}")
        if cols[0] in seen:
            raise LexiconError(f"{path.name}:{lineno}: ICD-10 编码 {cols[0]} 重复")
        seen.add(cols[0])
        forms = tuple(f.strip() for f in (cols[2] if len(cols) == 3 else "").split("、") if f.strip())
        out.append(Disease(cols[0], cols[1], forms))
    return tuple(out)


@lru_cache(maxsize=1)
def shipped_lexicon() -> tuple[Disease, ...]:
    """The shipped starting list, read once."""
    return load_lexicon()


class CatalogueMatcher:
    """Finds which entries of a catalogue a complaint names, with the words that matched."""

    def __init__(self, lexicon: Iterable[Disease]):
        self._by_code: dict[str, tuple[str, ...]] = {}
        self._by_name: dict[str, tuple[str, ...]] = {}
        for d in lexicon:
            words = (d.name, *d.forms)
            self._by_code[d.icd10] = words
            self._by_name[d.name] = words
        # Normalising is the costly part of a match: each entry's words are normalised once per process.
        self._words: dict[tuple[str, str | None], tuple[str, ...]] = {}

    def words_of(self, entry: CatalogueEntry) -> tuple[str, ...]:
        """The words that stand for ``entry``: its name, and the lexicon's forms for its code (or name)."""
        key = (entry.disease, entry.icd10)
        found = self._words.get(key)
        if found is None:
            found = self._words[key] = self._words_of(entry)
            if len(self._words) > _WORDS_CACHE_MAX:  # names typed by many centers: bounded, oldest out
                self._words.pop(next(iter(self._words)))
        return found

    def _words_of(self, entry: CatalogueEntry) -> tuple[str, ...]:
        words: list[str] = [entry.disease]
        code = entry.icd10
        if code:
            words += self._by_code.get(code, ())
            if "." in code:
                words += self._by_code.get(code.split(".")[0], ())
        if not code or code not in self._by_code:
            words += self._by_name.get(entry.disease, ())
        return tuple(dict.fromkeys(w for w in (normalize(w) for w in words) if w))

    def match(self, text: str, entries: Iterable[CatalogueEntry]) -> list[CatalogueMatch]:
        """The entries ``text`` names, the one with the longest matched word first; never raises on a ``str``."""
        plain = normalize(text[:MAX_TEXT]) if isinstance(text, str) else ""
        clauses = [c for c in _BREAKS.split(plain) if c]
        found: list[tuple[int, int, CatalogueMatch]] = []
        for order, entry in enumerate(entries):
            hits = [w for w in self.words_of(entry) if any(_affirmed(c, w) for c in clauses)]
            # a word inside a longer matched word of the same entry adds nothing (血压高 within 血压有点高)
            hits = [w for w in hits if not any(w != o and w in o for o in hits)]
            if hits:
                found.append((max(len(w) for w in hits), order,
                              CatalogueMatch(entry.disease, entry.icd10, tuple(sorted(hits, key=len, reverse=True)))))
        found.sort(key=lambda f: (-f[0], f[1]))
        # An entry whose every word lies inside a longer entry's matched word is that entry's part (胃炎 in 慢性胃炎).
        kept: list[CatalogueMatch] = []
        for _, _, m in found:
            if any(all(any(w in k and w != k for k in other.words) for w in m.words) for other in kept):
                continue
            kept.append(m)
        return kept


def _affirmed(clause: str, word: str) -> bool:
    """True if ``word`` occurs in ``clause`` at least once without a negation just before it."""
    start = clause.find(word)
    while start != -1:
        before = clause[max(0, start - _NEGATION_REACH - 1):start]
        if not any(n in before for n in _NEGATIONS):
            return True
        start = clause.find(word, start + 1)
    return False


@lru_cache(maxsize=1)
def shipped_matcher() -> CatalogueMatcher:
    """A matcher over the shipped lexicon, built once per process (it holds no state besides the words)."""
    return CatalogueMatcher(shipped_lexicon())
