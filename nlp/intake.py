"""Reading a whole order from one line: "邱瑞鹏 男 1956 胸闷气短两周，想看心内科" or "王秀英 七十岁 腰腿疼".

Pure logic: the text and today's date in, an :class:`Intake` out. The resident comes first (a name, then sex,
birth year or age in any order); the rest is the need, kept as typed. Urgency words (尽快, 越来越重) and
special-population cues (孕妇, 残疾, 高血压) are read from the need, each with the words it rests on so the card can
show them. Nothing is guessed: a field the line does not state stays ``None`` and the card asks for it.

Whether a leading word is a name needs two facts the caller knows (``is_word``: the tokenizer's dictionary;
``is_resident``: the post's residents): "黄疸 三天" is a need, "王秀英 腰腿疼" a name and a need, and "文静 女 1980
头痛" a name, because a sex and a birth year follow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

MIN_BIRTH_YEAR = 1900
MAX_AGE = 120
NAME_LENGTHS = (2, 3, 4)
# Width: full-width digits and punctuation as ASCII (one character for one, so positions stay the same).
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SEP = " \t\r\n,，、。.;；:：/|"
_SEP_CLASS = "[" + re.escape(_SEP) + "]"
_CN_NUM = "零〇一二两三四五六七八九十百"
_AGE = re.compile(rf"(\d{{1,3}}|[{_CN_NUM}]{{1,5}})\s*(多|来)?\s*(?:周岁|岁)(多|左右)?")
_YEAR_BORN = re.compile(r"((?:19|20)\d{2}|\d{2})\s*(?:年出生|年生人|年生的|年生|出生|生人|生的|生)")
_YEAR_BARE = re.compile(rf"(\d{{4}})年?(?=$|{_SEP_CLASS}|男|女)")
# "邱瑞鹏男1956胸闷": a year glued to the need (not "2020年做过手术", nor "1000元", "2000次").
_YEAR_GLUED = re.compile(r"((?:19|20)\d{2})(?=[\u4e00-\u9fff])(?![年月日天次元块个岁])")
_SEX = re.compile(rf"(男|女)(?:性|的|士|人)?(?=$|{_SEP_CLASS}|\d|[{_CN_NUM}]+\s*(?:多|来)?\s*(?:周岁|岁))")
_NEGATING = "没无不未非"
_NEGATION_LINK = "有是太再会算很怎"  # 没有, 不是, 不太 … : still the negation of the word after them
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
POPULATION_KINDS = ("pregnant", "disabled", "chronic")


@dataclass(frozen=True, slots=True)
class Intake:
    """What one line says about the resident and the need; ``None`` where it says nothing."""

    need: str
    tail: str = ""  # what follows the stated details, whether or not a name was read ("男 1956" has none)
    name: str | None = None
    sex: str | None = None  # "M" or "F"
    birth_year: int | None = None  # stated, or worked out from an exact age
    age: int | None = None  # as stated ("七十岁", "70多岁": 70), whether or not exact
    age_approximate: bool = False  # "七十多岁": the birth year is not known
    bad_year: str | None = None  # "1856": looks like a birth year but cannot be one
    soon: tuple[str, ...] = ()  # the words that ask for speed ("尽快", "越来越重")
    calm: tuple[str, ...] = ()  # the words that say there is no hurry ("不急")
    populations: tuple[tuple[str, str], ...] = ()  # (population, the word it rests on)

    @property
    def urgent(self) -> bool:
        """True when the need asks for speed and nothing says it is not urgent."""
        return bool(self.soon) and not self.calm

    @property
    def has_resident_details(self) -> bool:
        """True when the line states the resident's sex, birth year or age."""
        return self.sex is not None or self.birth_year is not None or self.age is not None


@cache
def _data_text(name: str) -> str:
    return resources.files("nlp").joinpath("data", name).read_text(encoding="utf-8")


@cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """Single-character and two-character (compound) surnames from ``nlp/data/surnames.txt``."""
    words = [w for line in _data_text("surnames.txt").splitlines() if not line.lstrip().startswith("#")
             for w in line.split()]
    return frozenset(w for w in words if len(w) == 1), frozenset(w for w in words if len(w) == 2)


@cache
def cues() -> tuple[tuple[str, str], ...]:
    """(kind, word) of ``nlp/data/intake_cues.tsv``, longest words first (so 不着急 is read before 着急)."""
    rows = []
    for lineno, line in enumerate(_data_text("intake_cues.tsv").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kind, _, word = line.partition("\t")
        if kind not in ("soon", "calm", *POPULATION_KINDS) or not word.strip():
            raise ValueError(f"intake_cues.tsv:{lineno}: 类别应为 soon/calm/{'/'.join(POPULATION_KINDS)}：{line!r}")
        rows.append((kind, word.strip()))
    return tuple(sorted(rows, key=lambda r: -len(r[1])))


def has_surname(name: str) -> bool:
    """True if ``name`` starts with a common Chinese surname."""
    single, double = surnames()
    return name[:1] in single or name[:2] in double


def chinese_number(text: str) -> int | None:
    """A number written in digits or Chinese numerals up to 999 ("七十二" 72, "一百零二" 102); None otherwise."""
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_NUM for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _CN_DIGITS[ch] if current and not total else _CN_DIGITS[ch]
    return total + current


def _skip_separators(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SEP:
        i += 1
    return i


def _details_at(s: str, i: int, today: date) -> tuple[int, dict[str, object]]:
    """Sex, birth year and age stated at ``i`` (in any order, each once); where they end and what they say."""
    found: dict[str, object] = {}
    while True:
        j = _skip_separators(s, i)
        m = None
        if "sex" not in found and (m := _SEX.match(s, j)):
            found["sex"] = "M" if m.group(1) == "男" else "F"
        elif "year" not in found and "bad_year" not in found and (
                m := _YEAR_BORN.match(s, j) or _YEAR_BARE.match(s, j) or _YEAR_GLUED.match(s, j)):
            digits = m.group(1)
            year = int(digits)
            if len(digits) == 2:  # "56年生": the century that makes a plausible age
                year += 2000 if year <= today.year % 100 else 1900
            if MIN_BIRTH_YEAR <= year <= today.year:
                found["year"] = year
            else:
                found["bad_year"] = digits
        elif "age" not in found and (m := _AGE.match(s, j)):
            value = chinese_number(m.group(1))
            if value is None or value > MAX_AGE:
                return i, found
            found["age"] = value
            found["approximate"] = bool(m.group(2) or m.group(3))
        if m is None:
            return i, found
        i = m.end()


def _name_at_start(s: str, today: date) -> tuple[str, int] | None:
    """The shortest run of two to four Chinese characters at the start that ends where a name would end (a
    separator, the end, or a sex, birth year or age), with where it ends."""
    for n in NAME_LENGTHS:
        cand = s[:n]
        if len(cand) < n or not all("\u4e00" <= ch <= "\u9fff" for ch in cand):
            return None
        rest = s[n:]
        if not rest or rest[0] in _SEP or _details_at(s, n, today)[1]:
            return cand, n
    return None


def _negated(text: str, start: int) -> bool:
    """True if the word at ``start`` is negated right before it: "不加重", "没有加重", "不是孕妇", "否认高血压"
    (not "睡不着越来越重": the 不 there belongs to another word)."""
    before = text[max(0, start - 2):start]
    if not before:
        return False
    if before[-1] in _NEGATING or before == "否认":
        return True
    return len(before) == 2 and before[0] in _NEGATING and before[1] in _NEGATION_LINK


def read_cues(need: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The urgency words, the no-hurry words and the (population, word) cues of a need, each once."""
    taken = [False] * len(need)
    soon: list[str] = []
    calm: list[str] = []
    populations: dict[str, str] = {}
    for kind, word in cues():
        if word not in need:  # most cues are absent: a substring test is ten times cheaper than a regex scan
            continue
        for m in re.finditer(re.escape(word), need):
            if any(taken[m.start():m.end()]):
                continue  # part of a longer cue already read ("着急" inside "不着急")
            for k in range(m.start(), m.end()):
                taken[k] = True
            if kind == "calm":
                calm.append(word)
            elif _negated(need, m.start()):
                continue
            elif kind == "soon":
                soon.append(word)
            else:
                populations.setdefault(kind, word)
    order = {k: i for i, k in enumerate(POPULATION_KINDS)}
    return (tuple(dict.fromkeys(soon)), tuple(dict.fromkeys(calm)),
            tuple(sorted(populations.items(), key=lambda kv: order[kv[0]])))


def read_intake(text: str, today: date, *, is_word: Callable[[str], bool] = lambda w: False,
                is_resident: Callable[[str], bool] = lambda n: False) -> Intake:
    """Read one line: the resident (name, sex, birth year or age), the need, its urgency and population cues.

    Args:
        text: the line as the village doctor typed it.
        today: today's date (an age becomes a birth year).
        is_word: whether a dictionary knows the word ("黄疸", "高峰"): such a leading word is a name only when a
            sex, birth year or age follows it, or a resident of the post has that name.
        is_resident: whether a resident of the post has exactly this name.

    Returns:
        What the line says; fields it does not state are ``None``.
    """
    raw = text.strip()
    s = raw.translate(_WIDTH)
    name: str | None = None
    start = 0
    details: dict[str, object] = {}
    found = _name_at_start(s, today)
    if found is not None:
        cand, end = found
        after, said = _details_at(s, end, today)
        if has_surname(cand) and (said or not is_word(cand) or is_resident(cand)):
            name, start, details = cand, after, said
    if name is None:
        # No name: the details at the start are read ("男 70岁 胸闷"), but the need keeps every word of it.
        start, details = _details_at(s, 0, today)
    tail = raw[_skip_separators(s, start):].strip()
    need = tail if name is not None else raw
    age = details.get("age")
    approximate = bool(details.get("approximate"))
    year = details.get("year")
    if year is None and isinstance(age, int) and not approximate:
        year = today.year - age
    soon, calm, populations = read_cues(need)
    return Intake(
        need=need,
        tail=tail,
        name=name,
        sex=details.get("sex") if isinstance(details.get("sex"), str) else None,  # type: ignore[arg-type]
        birth_year=year if isinstance(year, int) else None,
        age=age if isinstance(age, int) else None,
        age_approximate=approximate,
        bad_year=str(details["bad_year"]) if "bad_year" in details else None,
        soon=soon,
        calm=calm,
        populations=populations,
    )


def need_rather_than_name(name: str, matched: Iterable[str]) -> bool:
    """True when what was typed as a name reads as a need: the matcher found symptom words in it and either it
    starts with no surname ("发烧咳嗽") or those words make up most of it ("高血压")."""
    words = [w for w in matched if w and w in name]
    if not words:
        return False
    covered = sum(len(w) for w in dict.fromkeys(words))
    return not has_surname(name) or covered * 2 >= len(name)
