"""Emergency red-flag detection: conservative, negation-, history- and hypothesis-aware."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.resources import NlpData, RedFlagRule

_CLAUSE_END = "，。！？；\n,;!?"
_SENTENCE_END = "。！？\n!?"
# "*" in a trigger allows a short gap that never crosses punctuation ("胸口*疼" matches "胸口一阵阵疼").
_GAP = r"[^，。！？；、,;!?\n]{0,4}"
# Words that contain 不/没/无 but do not negate what follows ("突然不能说话", "四肢无力").
_NOT_NEGATING_EXTRA = (
    "无力", "没劲", "没力气", "动不了", "不动", "不醒", "不清", "不出", "不上", "不过", "不了", "不住",
    "不下", "不开", "不起", "无法", "不行", "不对", "没精神", "不灵", "不应", "不省人事", "没反应",
    "不吃", "不肯", "不进", "不哭", "不到", "没多久", "没过多久", "不一会", "不久", "没一会",
)
_NEGATION = re.compile(r"(否认|排除|并非|从未|从没|没有|没|无|未|不)")
_ENUMERATION = re.compile(r"[、和或及也]")
_NEGATION_REACH = 6
# With a known chronic diagnosis (epilepsy), a seizure story is usually the history; only an ongoing one counts.
_ONGOING = re.compile(
    r"现在|正在|刚才|刚刚|还在|一直抽|个不停|不停地抽|没醒|叫不醒|喊不醒|不醒"
    r"|分钟|半小时|止不住|今天|今早|今晚"
)
# Questions like "癫痫发作会呼吸困难吗" ask about a disease, they do not report one.
_QUESTION = re.compile(r"会[^，。！？；]{0,10}吗|能[^，。！？；]{0,6}吗")
_SIMILE = re.compile(r"(像|好像|仿佛|似)[^，。！？；]{0,3}$")
_REQUIRE_WINDOW = 40
# The infant rule's context can come from the order's age instead of the text.
INFANT_RULE = "INFANT"


def _compile_phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    parts = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(_GAP.join(re.escape(p) for p in phrase.split("*")) for phrase in parts))


def _words_pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: RedFlagRule
    trigger: re.Pattern[str]
    requires: re.Pattern[str] | None
    anchors: frozenset[str]


@dataclass(frozen=True, slots=True)
class RedFlagHit:
    """A rule that fired, the phrase that fired it, and the reason shown to people."""

    rule_id: str
    phrase: str
    reason: str


class RedFlagDetector:
    """Finds emergencies in normalised text; prefers a false alarm to a missed emergency."""

    def __init__(self, data: NlpData):
        self._rules = tuple(
            _CompiledRule(
                r,
                _compile_phrases(r.triggers),
                _compile_phrases(r.requires) if r.requires else None,
                frozenset(p[0] for p in r.triggers),
            )
            for r in data.redflags
        )
        self._by_anchor: dict[str, list[int]] = {}
        for i, cr in enumerate(self._rules):
            for ch in cr.anchors:
                self._by_anchor.setdefault(ch, []).append(i)
        self._anchor_chars = frozenset(self._by_anchor)
        cues = data.cues
        by_kind: dict[str, list[str]] = {}
        for word, kind in cues.items():
            by_kind.setdefault(kind, []).append(word)
        self._history = _words_pattern(by_kind.get("history", []))
        self._now = _words_pattern(by_kind.get("now", []))
        self._resolved = _words_pattern([w for w in by_kind.get("resolved", []) if w != "好了"])
        self._hypothetical = _words_pattern(by_kind.get("hypothetical", []))
        self._mild = _words_pattern(by_kind.get("mild", []))
        self._contrast = _words_pattern(by_kind.get("contrast", []))
        self._handled = _words_pattern(by_kind.get("handled", []))
        self._chronic = _words_pattern(by_kind.get("chronic_name", []))
        self._not_negating = _words_pattern(by_kind.get("tokenize_only", []) + list(_NOT_NEGATING_EXTRA))
        self._infant_index = next((i for i, cr in enumerate(self._rules) if cr.rule.rule_id == INFANT_RULE), None)

    def detect(self, text: str, age: int | None = None) -> tuple[RedFlagHit, ...]:
        """All rules that fire on ``text`` (normalised), one hit per rule, in rule order."""
        if not text:
            return ()
        present = self._anchor_chars.intersection(text)
        candidates: set[int] = set()
        for ch in present:
            candidates.update(self._by_anchor[ch])
        infant_by_age = age is not None and age < 1 and self._infant_index is not None
        if infant_by_age:
            candidates.add(self._infant_index)  # type: ignore[arg-type]
        chronic = self._chronic is not None and self._chronic.search(text) is not None
        hits = []
        for i in sorted(candidates):
            cr = self._rules[i]
            if cr.rule.rule_id == INFANT_RULE and age is not None and age >= 1:
                continue  # "三个月大" in an adult's order is a duration, not an infant
            hit = self._fire(cr, text, infant_by_age and i == self._infant_index, chronic)
            if hit:
                hits.append(hit)
        return tuple(hits)

    def _fire(self, cr: _CompiledRule, text: str, context_given: bool, chronic: bool) -> RedFlagHit | None:
        soft = cr.rule.level == "soft"
        gated = chronic and cr.rule.gated_by_chronic
        if context_given and cr.requires is not None:
            for m in cr.requires.finditer(text):
                if self._live(text, m.start(), m.end(), soft=False):
                    return RedFlagHit(cr.rule.rule_id, m.group(0), cr.rule.reason)
        for m in cr.trigger.finditer(text):
            if not self._live(text, m.start(), m.end(), soft=soft):
                continue
            if gated and not self._ongoing(text, m.start(), m.end()):
                continue
            if cr.requires is None:
                return RedFlagHit(cr.rule.rule_id, m.group(0), cr.rule.reason)
            lo, hi = max(0, m.start() - _REQUIRE_WINDOW), min(len(text), m.end() + _REQUIRE_WINDOW)
            for r in cr.requires.finditer(text, lo, hi):
                if (r.start() >= m.end() or r.end() <= m.start()) and self._live(
                    text, r.start(), r.end(), soft=False
                ):
                    return RedFlagHit(cr.rule.rule_id, f"{m.group(0)}+{r.group(0)}", cr.rule.reason)
        return None

    def _live(self, text: str, start: int, end: int, soft: bool) -> bool:
        """True if the phrase at [start, end) is a present, affirmed, non-hypothetical finding."""
        cstart = max(text.rfind(c, 0, start) for c in _CLAUSE_END) + 1
        cend_candidates = [p for p in (text.find(c, end) for c in _CLAUSE_END) if p != -1]
        cend = min(cend_candidates) if cend_candidates else len(text)
        prefix = text[cstart:start]
        clause = text[cstart:cend]
        if prefix and self._negated(prefix):
            return False
        if prefix and _SIMILE.search(prefix):
            return False
        if _QUESTION.search(clause):
            return False
        if self._hypothetical is not None and self._hypothetical.search(clause):
            return False
        if self._resolved is not None and self._resolved.search(text, end, cend):
            return False
        if self._history is not None:
            sstart = max(text.rfind(c, 0, start) for c in _SENTENCE_END) + 1
            last_hist = max((m.end() for m in self._history.finditer(text, sstart, start)), default=-1)
            if last_hist >= 0:
                last_now = max((m.end() for m in self._now.finditer(text, sstart, start)), default=-1) \
                    if self._now is not None else -1
                if last_hist > last_now:
                    return False
            if self._history.search(text, end, cend):
                return False
        if self._handled is not None:
            # "突然抽搐……送到医院检查说是癫痫": the episode is over and diagnosed, unless something is
            # happening again now after that account.
            accounts = list(self._handled.finditer(text, end))
            done = accounts[-1] if accounts else None
            if done is not None and (self._now is None or not self._now.search(text, done.end())):
                return False
        return not (soft and self._mild is not None and self._mild.search(clause))

    @staticmethod
    def _ongoing(text: str, start: int, end: int) -> bool:
        """An explicit 'happening now' word in the phrase's sentence."""
        sstart = max(text.rfind(c, 0, start) for c in _SENTENCE_END) + 1
        ends = [p for p in (text.find(c, end) for c in _SENTENCE_END) if p != -1]
        return _ONGOING.search(text, sstart, min(ends) if ends else len(text)) is not None

    def _negated(self, prefix: str) -> bool:
        """A negation cue shortly before the phrase (or before a list it belongs to), not undone by 但/可是."""
        if self._not_negating is not None:
            prefix = self._not_negating.sub("＿", prefix)
        last = None
        for m in _NEGATION.finditer(prefix):
            last = m
        if last is None:
            return False
        between = prefix[last.end():]
        if self._contrast is not None and self._contrast.search(between):
            return False
        return len(between) <= _NEGATION_REACH or bool(_ENUMERATION.search(between))
