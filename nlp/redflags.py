"""Emergency red flags from reviewable rules (``nlp/data/redflags.tsv``), each backed by a published standard.

A rule fires when its trigger is found as a *present* finding of the patient's own story and every companion
group it requires is found near it, for the population it is written for. "Present" is the hard part: the
same words appear in chronic complaints (两年了), past episodes (去年, 抢救过来了), negations (没有胸痛),
questions and prevention (想问……会不会, 怎么预防), second-hand stories (听说隔壁村有人……) and mild forms
(偶尔, 有点). The detector prefers a false alarm to a missed emergency: context only silences a finding when
it clearly applies to that finding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain

from nlp.resources import CONCEPT_PREFIX, NlpData, RedFlagRule, split_alternatives

_CLAUSE_END = "，。！？；\n,;!?"
_SENTENCE_END = "。！？\n!?"
_CLAUSE_MARK = str.maketrans({c: "\x00" for c in _CLAUSE_END})
_SENTENCE_MARK = str.maketrans({c: "\x00" for c in _SENTENCE_END})
_marked: tuple[str, str, str] = ("", "", "")


def _marks(text: str) -> tuple[str, str]:
    """``text`` with every clause end, and with every sentence end, turned into NUL: one rfind finds a boundary.
    The last text's marks are kept (every rule of one detection asks about the same text)."""
    global _marked
    last = _marked
    if last[0] is text:
        return last[1], last[2]
    clauses, sentences = text.translate(_CLAUSE_MARK), text.translate(_SENTENCE_MARK)
    _marked = (text, clauses, sentences)
    return clauses, sentences


def _found(pos: int, text: str) -> int:
    """A find() result, or the end of ``text`` when nothing was found."""
    return len(text) if pos == -1 else pos
# "*" in a phrase allows a short gap that never crosses punctuation ("胸口*疼" matches "胸口一阵阵疼").
# The gap never holds a negation: "眼睛没溅到" is not "眼睛*溅".
_GAP = r"[^，。！？；,;!?\n没不未无别冇]{0,5}"
# The same gap, read on a copy of the text whose gap stops but the newline are swapped one for one with fifteen
# adjacent control characters, U+0086–U+0094 (and those with the stops: no character is lost; same length, same
# offsets). sre optimises "[^，。！？；,;!?\n没不未无别冇]" into a 64K-character bitmap at each of its ~6,800 uses
# in the rules (0.8 s a process); "[^\n\x86-\x94]" is two ranges. A rule pattern built for the swapped text has
# its own characters swapped too, so it matches there exactly where the plain pattern matches the plain text:
# the stops are no digit, space or newline, nor are their stand-ins, so ".", "\d" and "\s" read both alike. A
# "re:" expression the swap cannot follow (a "\w" or "\b": 不 is a word character, its stand-in is not; a
# range over a stop; an inline flag) keeps its whole pattern plain, read on the plain text.
# tests/nlp/test_redflag_gaps.py holds the gap's meaning; tests/nlp/redflag_equivalence.py compares detections.
_STOPS = "，。！？；,;!?没不未无别冇"
_STAND_INS = "".join(chr(0x86 + i) for i in range(len(_STOPS)))
_SWAP = str.maketrans(_STOPS + _STAND_INS, _STAND_INS + _STOPS)
_SWAPPED_GAP = "[^\n" + _STAND_INS[0] + "-" + _STAND_INS[-1] + "]{0,5}"
_NEGATION = re.compile(r"(否认|排除|并非|从未|从没|没有|没|无|未|不|别|冇)")
_ENUMERATION = re.compile(r"[、和或及也跟与]")
_NEGATION_REACH = 6
# A verb, 不 and a result ("回不来", "推不进", "咽不下"): the verb cannot be done; nothing after it is denied.
_COMPLEMENT = re.compile(r"[\u4e00-\u9fff]不[来去出下上起动住开到掉完进回]")
# Denials that cover a whole list ("否认突然倒地、没有呼吸、摸不到脉"), negative findings in it included.
_LIST_DENIALS = frozenset({"否认", "排除", "并非"})
# A time word after a negation starts a new statement: "没吃饭现在出汗叫不醒" (pinyin has no commas).
_NEGATION_STOP = re.compile(r"现在|突然|突发|然后|后来|结果|刚刚|这会")
# Questions like "癫痫发作会呼吸困难吗" ask about a disease; they do not report one.
_QUESTION = re.compile(
    r"会[^，。！？；]{0,10}吗|能[^，。！？；]{0,6}吗|是不是[^，。！？；]{0,8}(?:吗|？|$)|能不能|要不要|吗\s*$"
)
# The patient is an animal ("我家的狗", "家里的牛"); a dog that bit the patient is not ("被狗咬了").
_ANIMAL = re.compile(r"(?:我家|家里|家)的?(?:母|公|小)?(?:狗|猫|牛|羊|猪|鸡)|大黄狗|母牛|母羊|母猪|母狗")
# A space between Chinese words, or a Chinese word and a Latin one, separates clauses the way a comma does ("吐了 喝一口
# 吐一口", "500ml 乙肝"); next to a number it does not ("吃了 30 片").
_SPACE_BREAK = re.compile(r"(?<=[\u3400-\u9fffa-z]) +(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff]) +(?=[a-z])")
_SOMEBODY_ELSE = re.compile(r"有人|别人|邻居|隔壁|人家|朋友|同事|亲戚|村里|同村|新闻|电视|狗|猫|牛|一个人|有的|有个")
_PATIENT = re.compile(
    r"我|俺|咱|老公|老婆|孩子|宝宝|娃|爸|妈|爷|奶|外公|外婆|儿子|女儿|孙|哥|姐|弟|妹|舅|姑|姨|叔|伯|婆|病人|患者"
)
# After a finished account ("送医院检查说是癫痫"), only a recurrence makes the story current again.
# "医生说是……": a doctor's or a test's account is no lay opinion, though it is said.
_PROFESSIONAL = re.compile(r"医生|大夫|医院|检查|诊断")
# "医生说要数胎动", "医生说过她胎盘低": advice or background a doctor gave, not an account of this episode.
_ADVICE = re.compile(r"要|让|叫|应该|得|过")
_RECUR = re.compile(r"又|再次|突然|重新|复发|还在|仍然|依然|现在还|到现在|今晨出现|今天出现|今早出现|又出现")
# "休克过", "抽过两次": the aspect marker 过 after a finding tells of an experience, not of now.
_EXPERIENCED = re.compile(r"过(?![来去了度敏分量头多久夜])")
_ANSWER_NO = re.compile(r"\s*(?:没有|没|不是|不|无|no\b|not\b)")
# A clause that holds a time course and nothing else ("两年了", "有好几年了"), not "平时抽烟".
_BARE = re.compile(
    r"(?:[了已经有快都一二两三四五六七八九十几多半个年月天周这样就也还是的\d\s]|今天|现在|目前|最近|一直)*"
)
# Somebody's dismissive opinion ("他说是老毛病", "老人说拉完就好了", "以为是…"): the reassurance in that clause (and
# the next) is not a fact about the patient, so it silences nothing.
_OPINION = re.compile(
    r"他说|她说|说是|老人说|大家说|大家都说|奶奶说|爷爷说|外婆说|婆婆说|他觉得|她觉得|以为|说只是|说不用|说不要紧|说没事|笑说|还说|硬说|非说|说等"
)
# "现在会哭了，大家说没事了，可是他一直咳": a reassurance undone by what follows it.
_BUT = re.compile(r"可是|但是|不过|但")
# "晕倒了……醒了说肚子下面痛": waking up only ends the faint; what is said next goes on.
_WOKE_AND_SAID = re.compile(r"[，,]?(?:醒了|醒来)?(?:说|讲|喊)")
# "出汗也正常", "说话正常": a finding answered as normal right after it.
_NORMAL_AFTER = re.compile(r"(?:也|都|还)?(?:正常|没事)")
# "病史", "既往" name a record, not a time: they speak only of the disease in their own clause.
_RECORD_WORDS = frozenset({"病史", "既往", "既往史", "史"})
# History and time-course words that belong to a named background disease ("肝硬化病史", "高血压十几年了")
# speak of that disease only, not of a finding in another clause.
_BACKGROUND = re.compile(
    r"病史|既往|[^，。]史|高血压|糖尿病|冠心病|心脏病|心脏不好|老慢支|慢支|慢阻肺|哮喘|肝硬化|肝炎|癫痫|羊癫疯|羊角风"
    r"|痛风|风湿|胃病|胃不好|老胃病|前列腺|肾病|尿毒症|脑梗|中风|精神病|抑郁症|帕金森|老年痴呆|痴呆|甲亢|贫血|结石|支气管扩张"
)
_LIKE_END = re.compile(r"[^，。！？；]{0,4}(?:一样|似的|那样|一般)")
_SIMILE = re.compile(r"(像|好像|仿佛|似)[^，。！？；]{0,3}$")
# ... unless the phrase is itself the picture a simile paints ("屎像柏油", "胸口像被刀撕开"), or the picture
# stands between the simile and the phrase ("拉的像柏油站都站不起": the standing is no simile).
_PICTURE = re.compile(r"柏油|沥青|果酱|草莓酱|咖啡|石头|木板|板一样|橘子|米汤|洗肉水|烂苹果|撕|刀|炸开|雷劈|锤|雪|"
                      r"拉锯|水龙头|窗帘|黑幕|幕布|帘子|劈|拆开|裂开")
# Companions must be this close to the trigger (characters, either side); a story is rarely longer.
_REQUIRE_WINDOW = 80
# A phrase counts as "still going on" for a known chronic disease (an epileptic's seizure) with one of these.
# Severity said in the finding's own words: a mild word elsewhere in the sentence is about something else.
_SEVERE = re.compile(r"厉害|剧烈|要命|受不了|不行了|越来越")
_ONGOING = re.compile(
    r"还在|正在|一直在|一直抽|不停|停不下|没停|止不住|个不停|没醒|叫不醒|喊不醒|不醒|好久|很久|持续|反复抽|接连"
    r"|一次接一次|又抽|又开始抽|现在还|到现在|连续发作|意识未恢复|未恢复意识|发作中|\d+\s*分钟|[一二两三四五六七八九十半几]+分钟|半小时|一个小时|小时了"
)
# Ages (months) that make a population from the order's own data.
_YOUNG_INFANT_MONTHS = 3
_INFANT_MONTHS = 12
_CHILD_MONTHS = 60


@dataclass(frozen=True, slots=True)
class Patient:
    """What the order says about the patient: age in months, sex, pregnancy and the weeks after a birth."""

    age_months: int | None = None
    sex: str | None = None
    pregnant: bool = False
    postpartum: bool = False
    under_one: bool = False  # known to be under a year old, months unknown

    @classmethod
    def of(cls, age: float | None = None, sex: str | None = None, pregnant: bool = False,
           postpartum: bool = False) -> Patient:
        """From an age in years: a fraction gives the months (0.25 is three months); a whole 0, as an order born
        this year gives, says only "under one" — whether under three months is left to the text."""
        if isinstance(age, int) and age == 0:
            return cls(None, sex, pregnant, postpartum, under_one=True)
        months = None if age is None else max(0, round(float(age) * 12))
        return cls(months, sex, pregnant, postpartum)


@dataclass(frozen=True, slots=True)
class RedFlagHit:
    """A rule that fired, the words that fired it, the reason shown to people and the standard behind it."""

    rule_id: str
    phrase: str
    reason: str
    standard: str = ""


def _compile(phrase: str, concepts: dict[str, tuple[str, ...]], depth: int = 0, swapped: bool = False,
             done: dict[tuple[str, int, bool], str] | None = None) -> str:
    """Regex source of one phrase: ``*`` gaps, ``@CONCEPT`` references and ``re:`` raw expressions. ``swapped``:
    the source for the swapped text (``_SWAP``); raises ``_Unswappable`` for a "re:" expression it cannot follow.
    ``done`` keeps each concept's source once built (a concept is used by many rules)."""
    if phrase.startswith("re:"):
        rx = phrase[3:]
        if swapped:
            rx = _swapped_regex(rx)
        return "(?:" + rx + ")"
    parts = []
    for part in phrase.split("*"):
        if part.startswith(CONCEPT_PREFIX):
            if depth > 3:
                raise ValueError(f"concept nesting too deep at {part}")
            key = (part, depth, swapped)
            source = done.get(key) if done is not None else None
            if source is None:
                alts = _by_length(concepts[part[1:]])
                source = "(?:" + "|".join(_compile(a, concepts, depth + 1, swapped, done) for a in alts) + ")"
                if done is not None:
                    done[key] = source
            parts.append(source)
        else:
            parts.append(_literal(part, swapped))
    return (_SWAPPED_GAP if swapped else _GAP).join(parts)


_GROUP = re.compile(r"\((?:\?:)?([^()]*)\)")


def _literal(part: str, swapped: bool = False) -> str:
    """A literal piece; ``(甲|乙)`` inside it is a choice of literal words."""
    def escape(words: str) -> str:
        return re.escape(words.translate(_SWAP) if swapped else words)

    out, pos = [], 0
    for m in _GROUP.finditer(part):
        out.append(escape(part[pos:m.start()]))
        out.append("(?:" + "|".join(escape(a) for a in split_alternatives(m.group(1))) + ")")
        pos = m.end()
    out.append(escape(part[pos:]))
    return "".join(out)


class _Unswappable(ValueError):
    """A "re:" expression whose meaning the swap of gap stops could change."""


# Escapes that read a stop and its stand-in alike: digits, spaces, and escaped ASCII signs that are no stops.
_SAME_ESCAPES = frozenset("dDsS.\\()[]{}*+|^$/-&~#%:<>=\"'@`")
_LOOKS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")
_REPEAT = re.compile(r"\{\d*,\d*\}|\{\d+\}")


def _swapped_regex(rx: str) -> str:
    """``rx`` for the swapped text: every stop and stand-in it names as a character swapped, nothing else
    changed. Raises ``_Unswappable`` unless the expression is plainly made of characters, digit and space
    escapes, classes whose ranges run over digits or over ASCII letters, groups, lookarounds and quantifiers
    (a doubt is a no: the pattern then stays plain)."""
    out: list[str] = []
    i, n = 0, len(rx)
    while i < n:
        ch = rx[i]
        if ch == "\\":
            if rx[i + 1:i + 2] not in _SAME_ESCAPES:
                raise _Unswappable(rx)  # \w, \b, \uXXXX, \n, \?, a back reference...
            out.append(rx[i:i + 2])
            i += 2
        elif ch == "[":
            i = _swapped_class(rx, i, out)
        elif ch == "(" and rx.startswith("(?", i):
            head = next((h for h in _LOOKS if rx.startswith(h, i)), None)
            if head is None:
                raise _Unswappable(rx)  # inline flags, named groups, comments, conditionals
            out.append(head)
            i += len(head)
        elif ch == "{":
            repeat = _REPEAT.match(rx, i)
            if repeat is None:
                raise _Unswappable(rx)  # a literal brace
            out.append(repeat.group(0))
            i = repeat.end()
        elif ch in ",;!":
            raise _Unswappable(rx)  # a literal ASCII stop
        elif ch == "?":
            out.append(ch)  # "?" outside a class is always syntax
            i += 1
        else:
            swapped = ch.translate(_SWAP)
            # A stand-in written in the rule is a literal: the "?" it becomes must stay one (not a quantifier).
            out.append(re.escape(swapped) if swapped != ch else ch)
            i += 1
    return "".join(out)


def _swapped_class(rx: str, i: int, out: list[str]) -> int:
    """The class opening at ``rx[i]`` swapped into ``out``; the index after it."""
    out.append("[")
    i += 1
    if rx.startswith("^", i):
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(rx) or rx[i] == "[":
            raise _Unswappable(rx)  # unclosed, or a nested set
        ch = rx[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1
        first = False
        if ch == "\\":
            if rx[i + 1:i + 2] not in _SAME_ESCAPES or rx.startswith("-", i + 2):
                raise _Unswappable(rx)
            out.append(rx[i:i + 2])
            i += 2
            continue
        if rx.startswith("-", i + 1) and rx[i + 2:i + 3] not in ("]", ""):
            lo, hi = ch, rx[i + 2]
            if not (lo.isascii() and hi.isascii() and any(f(lo) and f(hi) for f in (str.isdigit, str.islower,
                                                                                          str.isupper))):
                raise _Unswappable(rx)  # a range over anything else may hold a stop or a stand-in
            out.append(rx[i:i + 3])  # digits and ASCII letters are neither
            i += 3
            continue
        out.append(ch.translate(_SWAP))
        i += 1


def _by_length(phrases: tuple[str, ...]) -> list[str]:
    return sorted(phrases, key=lambda p: (-len(p), p))


# How often a single character shows up in ordinary text decides which part of a phrase a rule is looked up by;
# a two-character key is always better than one character.
_COMMON_CHARS = frozenset(
    "一人头心发血吃身手脸肚尿高两三不了的是有在我他她很大上下子么好口疼痛吐拉烧咳喘晕麻肿痒软酸胀"
)


def _no_freq(word: str) -> int:
    return 0


def _key_cost(keys: set[str], freq: Callable[[str], int] = _no_freq) -> float:
    """A set of keys costs more the more often a message holds one: single characters most, then common words
    ("身上" is in many messages, "冰凉" in few), by their frequency in jieba's dictionary."""
    return sum((1.0 + math.log10(1 + freq(k)) / 2) if len(k) > 1 else (8.0 if k in _COMMON_CHARS else 3.0)
               for k in keys)


_COMPARED = re.compile(r"比(?!较|如|方)")


def _compared(text: str, pos: int) -> bool:
    """The word at ``pos`` is what something is compared with ("比以前", "比月经最多那天还多"), not a past event."""
    if pos > 0 and text[pos - 1] in "跟和同":  # "跟以前的头痛完全不一样"
        return True
    return _COMPARED.search(text, max(0, pos - 6), pos) is not None


def _phrase_keys(phrase: str, concepts: dict[str, tuple[str, ...]], freq: Callable[[str], int] = _no_freq,
                 done: dict[str, frozenset[str] | None] | None = None) -> set[str] | None:
    """Keys (a character pair, or one character) one of which every match of ``phrase`` contains; None when
    nothing is certain. A match holds every literal part of a phrase, so the cheapest part is the one to look
    for: "吐*血" is looked up by 吐 or 血, "胸口*疼" by 胸口. A text is only tried against rules whose keys it has."""
    if phrase.startswith("re:"):
        return _regex_keys(phrase[3:])
    best: set[str] | None = None
    for part in phrase.split("*"):
        keys = _part_keys(part, concepts, freq, done)
        if keys is not None and (best is None or _key_cost(keys, freq) < _key_cost(best, freq)):
            best = keys
    return best


def _part_keys(part: str, concepts: dict[str, tuple[str, ...]], freq: Callable[[str], int] = _no_freq,
               done: dict[str, frozenset[str] | None] | None = None) -> set[str] | None:
    """``done`` keeps each concept's keys once found (a concept is used by many rules)."""
    if part.startswith(CONCEPT_PREFIX):
        if done is not None and part in done:
            known = done[part]
            return None if known is None else set(known)
        out: set[str] = set()
        for alt in concepts[part[1:]]:
            keys = _phrase_keys(alt, concepts, freq, done)
            if keys is None:
                if done is not None:
                    done[part] = None
                return None
            out |= keys
        if done is not None:
            done[part] = frozenset(out)
        return out
    if part.startswith("("):
        return _regex_keys(part.replace("(", "(?:", 1) if not part.startswith("(?:") else part)
    literal = part.split("(")[0]
    if not literal:
        return None
    if len(literal) < 2:
        return {literal}
    # Every match holds every character pair of the literal: look it up by the rarest one.
    return {min((literal[i:i + 2] for i in range(len(literal) - 1)), key=freq)}


def _regex_keys(rx: str) -> set[str] | None:
    """First characters of a simple expression: a literal, ``(?:a|b)``, ``\\d`` or ``[abc]``; else None."""
    if not rx:
        return None
    if rx.startswith(("(?<!", "(?<=", "(?!", "(?=")):  # a lookaround consumes nothing: look past it
        depth = 0
        for i, ch in enumerate(rx):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                return _regex_keys(rx[i + 1:])
        return None
    if rx.startswith("(?:"):
        depth, end = 0, -1
        for i, ch in enumerate(rx):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                end = i
                break
        if end < 0:
            return None
        out: set[str] = set()
        for alt in split_alternatives(rx[3:end]):
            keys = _regex_keys(alt)
            if keys is None:
                return None
            out |= keys
        return out
    if rx.startswith("\\d"):
        return set("0123456789")
    if rx.startswith("["):
        body = rx[1:rx.find("]")]
        if "\\d" in body:
            body = body.replace("\\d", "0123456789")
        return set(body) if body and "-" not in body and "^" not in body and "\\" not in body else None
    ch = rx[0]
    if (ch.isalnum() and rx[1:2] not in _QUANTIFIERS) or "\u3400" <= ch <= "\u9fff":
        # Two literal characters at the start are a rarer key than one ("血压" rather than 血).
        if rx[1:2] not in _QUANTIFIERS and _plain_char(rx[1:2]) and rx[2:3] not in _QUANTIFIERS:
            return {rx[:2]}
        return {ch}
    return None


_QUANTIFIERS = ("?", "*", "{", "+")


def _plain_char(ch: str) -> bool:
    return len(ch) == 1 and (ch.isalnum() or "\u3400" <= ch <= "\u9fff")


@dataclass(frozen=True, slots=True)
class _Phrases:
    """The compiled pattern of a group of phrases, and the text it reads: the swapped one (``_SWAP``), or the plain
    one when a "re:" expression of the group cannot be swapped. Its matches' offsets are the same in both."""

    pattern: re.Pattern[str]
    swapped: bool


def _source(phrases: tuple[str, ...], concepts: dict[str, tuple[str, ...]], swapped: bool,
            done: dict[tuple[str, int, bool], str] | None = None) -> str:
    return "|".join(_compile(p, concepts, swapped=swapped, done=done) for p in _by_length(phrases))


def _pattern(phrases: tuple[str, ...], concepts: dict[str, tuple[str, ...]],
             done: dict[tuple[str, int, bool], str] | None = None) -> _Phrases:
    try:
        return _Phrases(re.compile(_source(phrases, concepts, True, done)), True)
    except _Unswappable:
        return _Phrases(re.compile(_source(phrases, concepts, False, done)), False)


def _words_pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: RedFlagRule
    trigger: _Phrases
    requires: tuple[_Phrases, ...]
    anchors: frozenset[str] | None  # None: always a candidate
    # Keys of each required group whose keys are certain: a text without one of a group's keys cannot fire the rule.
    required: tuple[frozenset[str], ...] = ()


class RedFlagDetector:
    """Finds emergencies in normalised text; prefers a false alarm to a missed emergency."""

    def __init__(self, data: NlpData, freq: Callable[[str], int] = _no_freq):
        concepts = data.concepts
        # Rules that share a trigger (@发热 starts five of them) share its compiled pattern, searched once a text.
        patterns: dict[tuple[str, ...], _Phrases] = {}
        sources: dict[tuple[str, int, bool], str] = {}  # each concept's source, built once
        concept_keys: dict[str, frozenset[str] | None] = {}  # each concept's keys, found once

        def pattern(phrases: tuple[str, ...]) -> _Phrases:
            if phrases not in patterns:
                patterns[phrases] = _pattern(phrases, concepts, sources)
            return patterns[phrases]

        self._rules = tuple(
            _CompiledRule(
                r,
                pattern(r.triggers),
                tuple(pattern(group) for group in r.requires),
                self._anchors(r.triggers, concepts, freq, concept_keys),
                tuple(keys for keys in (self._anchors(group, concepts, freq, concept_keys) for group in r.requires)
                      if keys is not None),
            )
            for r in data.redflags
        )
        self._by_anchor: dict[str, list[int]] = {}
        self._always: list[int] = []
        for i, cr in enumerate(self._rules):
            if cr.anchors is None:
                self._always.append(i)
                continue
            for ch in cr.anchors:
                self._by_anchor.setdefault(ch, []).append(i)
        self._anchor_keys = frozenset(self._by_anchor)
        by_kind: dict[str, list[str]] = {}
        for word, kind in data.cues.items():
            by_kind.setdefault(kind, []).append(word)
        self._history = _words_pattern(by_kind.get("history", []))
        # New onset ("刚才", "又", "突然") lifts a history; any present word also lifts a question.
        self._onset = _words_pattern(by_kind.get("onset", []) + by_kind.get("now", []))
        # "中午……到晚上……" moves the story on from an earlier "以前": it lifts a history, not a chronic course.
        self._lift = _words_pattern(by_kind.get("onset", []) + by_kind.get("now", []) + by_kind.get("timeline", []))
        self._now = _words_pattern(by_kind.get("now", []) + by_kind.get("present", []) + by_kind.get("onset", []))
        self._resolved = _words_pattern([w for w in by_kind.get("resolved", []) if w != "好了"])
        self._hypothetical = _words_pattern(by_kind.get("hypothetical", []))
        self._question = _words_pattern(by_kind.get("question", []))
        self._hearsay = _words_pattern(by_kind.get("hearsay", []))
        self._prevention = _words_pattern(by_kind.get("prevention", []))
        self._mild = _words_pattern(by_kind.get("mild", []))
        self._course = _words_pattern(by_kind.get("chronic_course", []))
        self._contrast = _words_pattern(by_kind.get("contrast", []))
        self._handled = _words_pattern(by_kind.get("handled", []))
        self._chronic = _words_pattern(by_kind.get("chronic_name", []))
        self._not_negating = _words_pattern(by_kind.get("tokenize_only", []) + list(data.not_negating))
        keys = {name: key for name, key in (("infant", "婴儿"), ("young_infant", "小婴儿"), ("child", "幼儿"),
                                            ("pregnant", "孕妇"), ("postpartum", "产妇")) if key in concepts}
        pops = {name: _pattern(concepts[key], concepts, sources) for name, key in keys.items()}
        self._population_words = pops
        # Most messages name no population at all: one search says so for all of them.
        swapped = all(p.swapped for p in pops.values())
        self._any_population = _Phrases(re.compile("|".join(
            f"(?:{p.pattern.pattern if swapped else _source(concepts[keys[name]], concepts, False, sources)})"
            for name, p in pops.items())), swapped) if pops else None

    @staticmethod
    def _anchors(phrases: tuple[str, ...], concepts: dict[str, tuple[str, ...]], freq: Callable[[str], int] = _no_freq,
                 done: dict[str, frozenset[str] | None] | None = None) -> frozenset[str] | None:
        out: set[str] = set()
        for p in phrases:
            keys = _phrase_keys(p, concepts, freq, done)
            if keys is None:
                return None
            out |= keys
        return frozenset(out)

    def detect(self, text: str, age: float | None = None, patient: Patient | None = None) -> tuple[RedFlagHit, ...]:
        """All rules that fire on ``text`` (normalised), one hit per rule, in rule order."""
        if not text:
            return ()
        if " " in text:
            text = _SPACE_BREAK.sub("，", text)
        if patient is None:
            patient = Patient.of(age)
        candidates: set[int] = set(self._always)
        by_anchor = self._by_anchor
        keys = set(map(str.__add__, text, text[1:]))
        keys.update(text)
        for key in keys & self._anchor_keys:
            candidates.update(by_anchor[key])
        if not candidates:
            return ()
        swapped = text.translate(_SWAP)  # what the rule patterns read (same offsets)
        chronic: bool | None = None  # a chronic disease named in the text: looked for once a rule needs it
        populations: dict[str, bool] = {}
        mentions: bool | None = None
        hits = []
        rules = self._rules
        present: dict[int, bool] = {}
        for i in sorted(candidates):
            cr = rules[i]
            missing = False
            for group in cr.required:
                if group.isdisjoint(keys):
                    missing = True  # something the rule also needs is not in the text at all
                    break
            if missing:
                continue
            pop = cr.rule.population
            if pop != "-":  # who the rule is for is known once a text, and rules out most of them at once
                if pop not in populations:
                    if mentions is None:
                        anyone = self._any_population
                        mentions = anyone is not None and \
                            anyone.pattern.search(swapped if anyone.swapped else text) is not None
                    populations[pop] = self._in_population(pop, text, swapped, patient, mentions)
                if not populations[pop]:
                    continue
            trigger = cr.trigger
            pid = id(trigger)
            if pid not in present:
                present[pid] = trigger.pattern.search(swapped if trigger.swapped else text) is not None
            if not present[pid]:
                continue
            if chronic is None and cr.rule.course == "ongoing":
                chronic = self._chronic is not None and self._chronic.search(text) is not None
            hit = self._fire(cr, text, swapped, bool(chronic))
            if hit:
                hits.append(hit)
        return tuple(hits)

    def live_words(self, text: str, words: Iterable[str]) -> bool:
        """True when one of ``words`` occurs in ``text`` (normalised) as a present, affirmed finding of the
        patient's own story: the rules' own reading of the context (a denial, the past, a question, a hypothesis,
        somebody else, a chronic course) applied to words the rules do not list (the second reader's)."""
        if " " in text:
            text = _SPACE_BREAK.sub("，", text)
        clauses = _marks(text)[0]
        for w in words:
            start = text.find(w)
            while start >= 0:
                # "否认" opens a list of denials that reaches to the end of its clause ("否认睾丸突然剧痛").
                if "否认" not in text[clauses.rfind("\x00", 0, start) + 1:start] and \
                        self._live(text, start, start + len(w), soft=False, course="acute"):
                    return True
                start = text.find(w, start + 1)
        return False

    def _in_population(self, pop: str, text: str, swapped: str, patient: Patient, mentions: bool = True) -> bool:
        """The order's data, else a live mention in the text, puts the patient in ``pop`` (``mentions`` False: the
        text names no population at all; ``swapped``: the text with ``_SWAP``)."""
        months = patient.age_months
        if pop == "perinatal":
            return self._in_population("pregnant", text, swapped, patient, mentions) or \
                self._in_population("postpartum", text, swapped, patient, mentions)
        if pop == "pregnant" and patient.pregnant:
            return True
        if pop == "postpartum" and patient.postpartum:
            return True
        if patient.under_one and pop in ("infant", "child"):
            return True
        limit = {"young_infant": _YOUNG_INFANT_MONTHS, "infant": _INFANT_MONTHS, "child": _CHILD_MONTHS}.get(pop)
        if limit is not None and months is not None:
            return months < limit
        if pop in ("pregnant", "postpartum") and patient.sex == "M":
            return False
        if not mentions:
            return False
        if pop == "child" and self._in_population("infant", text, swapped, patient):
            return True
        if pop == "infant" and self._in_population("young_infant", text, swapped, patient):
            return True
        words = self._population_words.get(pop)
        if words is None:
            return False
        return any(self._live(text, m.start(), m.end(), soft=False, course="any", population=True)
                   for m in words.pattern.finditer(swapped if words.swapped else text))

    def _fire(self, cr: _CompiledRule, text: str, swapped: str, chronic: bool) -> RedFlagHit | None:
        rule = cr.rule
        soft = rule.level == "soft"
        course = rule.course
        trigger = cr.trigger
        for m in trigger.pattern.finditer(swapped if trigger.swapped else text):
            if not self._live(text, m.start(), m.end(), soft=soft, course=course):
                continue
            if course == "ongoing" and chronic and not self._ongoing(text, m.start(), m.end()):
                continue
            words = [text[m.start():m.end()]]  # the plain words (the match may have read the swapped text)
            lo, hi = max(0, m.start() - _REQUIRE_WINDOW), min(len(text), m.end() + _REQUIRE_WINDOW)
            for group in cr.requires:
                found = None
                read, rx = (swapped if group.swapped else text), group.pattern
                # Before the trigger and after it, never overlapping it ("脚突然冰凉" after "脚").
                for r in chain(rx.finditer(read, lo, m.start()), rx.finditer(read, m.end(), hi)):
                    if self._live(text, r.start(), r.end(), soft=False, course="any", history=False):
                        found = text[r.start():r.end()]
                        break
                if found is None:
                    break
                words.append(found)
            else:
                return RedFlagHit(rule.rule_id, "+".join(words), rule.reason, rule.standard)
        return None

    def _live(self, text: str, start: int, end: int, *, soft: bool, course: str, population: bool = False,
              history: bool = True) -> bool:
        """True if the phrase at [start, end) is a present, affirmed finding of this patient's own story."""
        clauses, sentences = _marks(text)
        cstart = clauses.rfind("\x00", 0, start) + 1
        cend = _found(clauses.find("\x00", end), text)
        sstart = sentences.rfind("\x00", 0, start) + 1
        send = _found(sentences.find("\x00", end), text)
        prefix = text[cstart:start]
        clause = text[cstart:cend]
        if prefix and self._negated(prefix):
            return False
        if population:
            return True
        simile = _SIMILE.search(prefix) if prefix else None
        if simile and simile.group(1) == "好像" and not _LIKE_END.match(text, end):
            simile = None  # "好像很久没踢她了" hedges; "好像抽筋一样" compares
        if simile and not _PICTURE.search(text, start, end) and not _PICTURE.search(prefix, simile.start()):
            return False
        if history and _EXPERIENCED.match(text, end) and not _NEGATION.search(text, start, end):
            return False  # "休克过", "中风过": has happened before ("一下都没动过" has not; a companion may have)
        if cend < len(text) and text[cend] == "？" and _ANSWER_NO.match(text, cend + 1):
            return False  # "吐血？没有，就是胃不舒服"
        if self._prevention is not None and self._prevention.search(text, sstart, send):
            return False  # "村民上山怎么防野猪伤人": a sentence about prevention
        if _ANIMAL.search(clause) or "兽医" in text:
            return False  # "我家的狗今天下午突然抽搐", "……有没有兽医能来看": not a person
        if self._hearsay is not None and self._hearsay_reaches(text, sstart, cstart, clause):
            return False  # "听说隔壁村有人喝了百草枯": somebody else's story
        if self._hypothetical is not None and self._hypothetical.search(clause):
            return False  # "如果……怎么办", "怎么预防……"
        now_in_clause = self._now is not None and self._now.search(clause) is not None
        if self._question is not None and self._question.search(clause) and not now_in_clause:
            return False  # "想问……" about a disease, unless the clause says it is happening now
        if _QUESTION.search(clause) and not (self._onset is not None and self._onset.search(clause)):
            return False  # "百草枯现在还能买到吗": a yes/no question; only a new onset makes it a report
        if _NORMAL_AFTER.match(text, end):
            return False  # "出汗也正常"
        if course != "any" and self._resolved is not None and any(
            not self._opinion(text, r.start()) and not _BUT.search(text, r.end(), send)
            and not ("醒" in r.group(0) and _WOKE_AND_SAID.match(text, r.end()))
            for r in self._resolved.finditer(text, end, send)
        ):
            return False  # "……抢救过来了", "……已经好了" (a swallowed poison is not over when it looks well)
        # A companion is context: "两个月前被狗咬了，这两天怕水" — the bite may well be in the past.
        if history and self._history is not None:
            last_hist = max((m.end() for m in self._history.finditer(text, sstart, start)
                             if (m.group(0) not in _RECORD_WORDS or self._applies(text, m.start(), cstart))
                             and not _compared(text, m.start())  # "比以前喘得厉害": a comparison
                             and not self._opinion(text, m.start())),
                            default=-1)
            if last_hist >= 0:
                # A new onset after the history, up to the end of this clause ("上周做了手术，今天突然胸痛").
                # The onset must open a later clause than the history: "去年突然中风" is all last year.
                hist_clause_end = _found(clauses.find("\x00", last_hist), text)
                onset = self._lift is not None and hist_clause_end < cend and \
                    self._lift.search(text, hist_clause_end, cend) is not None
                if not onset:
                    return False
            if any(not _compared(text, m.start()) for m in self._history.finditer(text, end, cend)):
                return False
        if course != "any" and self._course is not None:
            # "口齿不清，两年了": a chronic time course in the sentence, not followed by a new onset.
            # A course word inside an onset ("比平时少了一半") compares with the usual: it is no course.
            onsets = [(m.start(), m.end()) for m in self._onset.finditer(text, sstart, send)] \
                if self._onset is not None else []
            last_course = max((m.end() for m in self._course.finditer(text, sstart, send)
                               if not any(a <= m.start() and m.end() <= b for a, b in onsets)
                               and self._applies(text, m.start(), cstart, bare=True)
                               and not self._opinion(text, m.start())), default=-1)
            if last_course >= 0 and not any(b > last_course for _, b in onsets):
                return False
        if self._handled is not None:
            # "突然抽搐……送到医院检查说是癫痫": the episode is over and diagnosed, unless something is
            # happening again now after that account.
            accounts = [m for m in self._handled.finditer(text, end)
                        if (_PROFESSIONAL.match(m.group(0)) or not self._opinion(text, m.start()))
                        and not (m.group(0).endswith("说") and _ADVICE.match(text, m.end()))]
            done = accounts[-1] if accounts else None
            if done is not None and not _RECUR.search(text, done.end()):
                return False
        # A soft finding is silenced by a mild word anywhere in its sentence ("见红了，只有一点点血丝").
        # Not when the finding itself says it is severe, today ("今天比以前喘得厉害多了……人有点迷糊").
        return not (soft and self._mild is not None and self._mild.search(text, sstart, send)
                    and not (_SEVERE.search(text, start, min(end + 3, send))
                             and self._now is not None and self._now.search(text, sstart, send)))

    def _hearsay_reaches(self, text: str, sstart: int, cstart: int, clause: str) -> bool:
        """Hearsay in the finding's own clause, or in an earlier clause of the sentence that is about somebody
        else (有人, 邻居) with no mention of the patient since ("前天听人说吃鱼胆明目，吞了一个" is the patient's)."""
        assert self._hearsay is not None
        here = self._hearsay.search(clause)
        if here is not None:
            # "我爸听人说吃鱼胆明目，吞了两个": the patient heard it; what follows is his own story.
            # "我听说有的孕妇会抽筋": what was heard is about somebody else after all.
            return _PATIENT.search(clause, 0, here.start()) is None or \
                _SOMEBODY_ELSE.search(clause, here.end()) is not None
        for m in self._hearsay.finditer(text, sstart, cstart):
            clauses = _marks(text)[0]
            hend = _found(clauses.find("\x00", m.end()), text)
            hclause = text[clauses.rfind("\x00", 0, m.start()) + 1:hend]
            if _SOMEBODY_ELSE.search(hclause) and not _PATIENT.search(text, hend, cstart):
                return True
        return False

    @staticmethod
    def _opinion(text: str, pos: int) -> bool:
        """The cue at ``pos`` sits in somebody's opinion: its own clause or the one after it says 他说/以为/…"""
        clauses = _marks(text)[0]
        cstart = clauses.rfind("\x00", 0, pos) + 1
        if _OPINION.search(text, cstart, pos + 1) or _OPINION.search(text, cstart, min(len(text), pos + 6)):
            return True
        if cstart > 1:  # the clause before ("她说习惯了，过一会就好")
            prev = clauses.rfind("\x00", 0, cstart - 1) + 1
            return _OPINION.search(text, prev, cstart) is not None
        return False

    def _applies(self, text: str, cue_start: int, finding_clause_start: int, bare: bool = False) -> bool:
        """A history or time-course word reaches a finding unless it sits in another clause that names its own
        background disease ("高血压十几年了，今天突然胸痛"). With ``bare``, a time course in another clause
        reaches it only when that clause says nothing else ("口齿不清，两年了"; not "平时这时候动得可欢了")."""
        clauses = _marks(text)[0]
        cue_clause = clauses.rfind("\x00", 0, cue_start) + 1
        if cue_clause == finding_clause_start:
            return True
        cue_end = _found(clauses.find("\x00", cue_start), text)
        if bare and self._course is not None and not _BARE.fullmatch(self._course.sub("", text[cue_clause:cue_end])):
            return False
        return _BACKGROUND.search(text, cue_clause, cue_end) is None

    @staticmethod
    def _ongoing(text: str, start: int, end: int) -> bool:
        """An explicit 'happening now' word in the phrase's sentence."""
        sentences = _marks(text)[1]
        sstart = sentences.rfind("\x00", 0, start) + 1
        return _ONGOING.search(text, sstart, _found(sentences.find("\x00", end), text)) is not None

    def _negated(self, prefix: str) -> bool:
        """A negation cue shortly before the phrase (or before a list it belongs to), not undone by 但/可是."""
        if self._not_negating is not None:
            prefix = self._not_negating.sub("＿", prefix)
        last = None
        for m in _NEGATION.finditer(prefix):
            if m.group(0) == "不" and _COMPLEMENT.match(prefix, m.start() - 1 if m.start() else 0):
                continue  # "回不来了、肿得发紫": 不 between a verb and its complement denies nothing after it
            last = m
        if last is None:
            return False
        between = prefix[last.end():]
        if "＿" in between and last.group(0) not in _LIST_DENIALS:
            return False  # "没拉也没放屁吐出来": a finding that is itself a denial ends the list of "没"s
        if self._contrast is not None and self._contrast.search(between):
            return False
        if between.startswith("是") and "是" in between[2:]:
            return False  # "不是闷痛，是像撕裂那样": what it is not, then what it is
        if _NEGATION_STOP.search(between, 2):  # "没吃饭现在…" ends the denial; "否认突然倒地" does not
            return False
        return len(between) <= _NEGATION_REACH or bool(_ENUMERATION.search(between))
