"""The specialty matcher: lexicon scoring with negation, history, body-part combinations and population cues."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.specialties import catalogue
from nlp.bridge import LanguageBridge
from nlp.homophones import HomophoneMender
from nlp.normalize import normalize
from nlp.reader import THRESHOLD as READER_THRESHOLD
from nlp.reader import SecondReader
from nlp.redflags import Patient, RedFlagDetector, RedFlagHit
from nlp.resources import NlpData
from nlp.tokenizer import MedicalTokenizer

if TYPE_CHECKING:
    from nlp.model import TextModel

FALLBACK_CODE = "02"
MAX_RESULTS = 3
READER_RULE = "READER"  # the rule id of an alarm the second reader adds
READER_REASON = "描述与以往的急症相似（系统综合判断，未对上具体规则）"
READER_STANDARD = ("第二读者：从盲写的急症与近似案例、真实问诊中学到的字词权重（nlp/data/redflag_reader.tsv），"
                   "不是规则，请当面核实")
MAX_TEXT = 2000  # longer input is cut: a complaint never needs more, and runtime must stay bounded
CHILD_AGE = 14
# Weight multipliers for context (why: an old or resolved illness still hints at the specialty, less so).
HISTORY_FACTOR = 0.6
RESOLVED_FACTOR = 0.4
REPEAT_FACTOR = 0.3
MAX_REPEATS = 2
# In child mode the paediatric code leads and the adult one stays as an alternative.
ADULT_SHARE_FOR_CHILD = 0.7
# A parent code (03) hands this share of its score to its best sub-specialty present (03.04).
PARENT_TO_CHILD = 0.5
LOW_CONFIDENCE_RAW = 1.5
MODEL_WEIGHT = 0.6
_BREAKS = frozenset("，。！？；\n,;!?:：…~ ()（）[]【】\"“”'‘’")
_AGE_YEARS = re.compile(r"(\d{1,3})\s*(?:周岁|岁)")
_AGE_MONTHS = re.compile(r"(\d{1,2})\s*(?:个多月|个月大|月大|个月的宝|个月的孩|个月的婴)|出生\s*\d{1,2}\s*天|满月")
_FEMALE_ONLY_PREFIX = ("05", "06")
# Cue kinds the scorer acts on; the others (mild, handled, ...) only matter to the red-flag detector.
_MATCHER_CUES = frozenset({"negation", "contrast", "history", "resolved", "now", "child", "pregnant"})
# The red-flag detector tells a present state (现在) from a new onset (刚才, 又); to the scorer both are "now".
_MATCHER_KIND = {"present": "now", "onset": "now"}
_NEGATING_FIRST = frozenset("不没无未非")
_DERIVED_CACHE_MAX = 200_000
_UNSEEN: Any = object()


@dataclass(frozen=True, slots=True)
class SpecialtyScore:
    """One suggested specialty: code, Chinese name, score in [0, 1] and the words that triggered it."""

    code: str
    name: str
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """The matcher's answer for one text."""

    specialties: tuple[SpecialtyScore, ...]
    emergency: bool
    emergency_reasons: tuple[str, ...]
    low_confidence: bool
    used_model: bool
    emergency_hits: tuple[RedFlagHit, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``classify`` output line as a dict."""
        return {
            "specialties": [
                {"code": s.code, "name": s.name, "score": s.score, "matched": list(s.matched)}
                for s in self.specialties
            ],
            "emergency": self.emergency,
            "emergency_reasons": list(self.emergency_reasons),
        }


@dataclass(slots=True)
class _TokenInfo:
    terms: tuple[tuple[str, float], ...] = ()
    body: str | None = None
    symptom: str | None = None
    cue: str | None = None


@dataclass
class _Trace:
    """What happened while scoring, for ``nlp-explain``."""

    tokens: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    bridged: str = ""


@dataclass
class _Scored:
    raw: dict[str, float]
    matched: dict[str, list[str]]
    child: bool
    pregnant: bool
    text_age: int | None


def _literal_words(phrases: Iterable[str]) -> list[str]:
    """The plain words of rule phrases: no regexes, no concept references, no groups ("胸口*疼" gives 胸口, 疼)."""
    return [part for p in phrases if not p.startswith("re:")
            for part in p.split("*") if part and not part.startswith("@") and "(" not in part]


def _rule_phrases(data: NlpData) -> list[str]:
    """Every phrase of the red-flag concepts and rules."""
    phrases = [p for ps in data.concepts.values() for p in ps]
    for rule in data.redflags:
        phrases.extend(rule.triggers)
        phrases.extend(p for group in rule.requires for p in group)
    return phrases


def _redflag_words(data: NlpData) -> list[str]:
    """The literal words of the red-flag concepts and rules (what a homophone typo may stand for)."""
    return _literal_words(_rule_phrases(data))


def _bridge_vocabulary(data: NlpData) -> list[str]:
    """Chinese words pinyin may stand for, red-flag words first (they win a homophone)."""
    words: list[str] = []

    def add(phrases: Iterable[str]) -> None:
        words.extend(_literal_words(phrases))

    add(data.pinyin_words)  # everyday words first: 已经 before 遗精
    # Cue words before the rules' words: 没有 before 煤油 (fragments like 握不 are no words of their own).
    add(w for w, kind in data.cues.items() if kind not in ("tokenize_only", "not_negating"))
    add(_rule_phrases(data))
    add(data.cues)
    add(data.english.values())
    add(e.term for e in data.lexicon)
    add(data.bodyparts)
    add(data.symptoms)
    add(data.userdict)
    return words


class Matcher:
    """Maps free text to specialty codes and flags emergencies. Build with ``nlp.load_matcher``."""

    def __init__(self, data: NlpData, model: TextModel | None = None, reader: SecondReader | None = None):
        cat = catalogue()
        self._names = {s.code: s.name for s in cat}
        info: dict[str, _TokenInfo] = {}
        terms: dict[str, list[tuple[str, float]]] = {}
        for e in data.lexicon:
            terms.setdefault(e.term, []).append((e.code, e.weight))
        for term, codes in terms.items():
            info.setdefault(term, _TokenInfo()).terms = tuple(codes)
        for word, body in data.bodyparts.items():
            info.setdefault(word, _TokenInfo()).body = body
        for word, sym in data.symptoms.items():
            info.setdefault(word, _TokenInfo()).symptom = sym
        for word, kind in data.cues.items():
            kind = _MATCHER_KIND.get(kind, kind)
            if kind in _MATCHER_CUES:
                info.setdefault(word, _TokenInfo()).cue = kind
        self._info = info
        self._terms = {t: info[t] for t in terms}
        # jieba keeps some longer words whole ("癫痫病", "乙肝病毒携带"); their lexicon parts are found once
        # per distinct token and remembered, so the hot path stays a dictionary lookup.
        self._derived: dict[str, _TokenInfo | None] = {}
        self._combos = data.combos
        self._child_codes = data.child_codes
        words = set(info) | set(data.userdict) | {w for w, k in data.cues.items() if k == "tokenize_only"}
        def literal(p: str) -> bool:
            return "*" not in p and not p.startswith(("@", "re:"))

        for rule in data.redflags:
            words.update(p for p in rule.triggers if literal(p))
            words.update(p for group in rule.requires for p in group if literal(p))
        self._tokenizer = MedicalTokenizer(sorted(words))
        self._redflags = RedFlagDetector(data, self._tokenizer.freq)
        self._mender = HomophoneMender(_redflag_words(data), self._tokenizer.is_word)
        self._mender.prepare()  # at load, not on the first resident's message
        self._redflag_codes = data.redflag_specialties
        unknown = set(self._redflag_codes) - {r.rule_id for r in data.redflags}
        if unknown:
            raise ValueError(f"redflag_specialties.tsv 中的规则不存在：{sorted(unknown)}")
        vocabulary = _bridge_vocabulary(data)
        # Words jieba knew before ours come before the typos the rules also know (出血 before 出学): pinyin
        # cannot tell them apart.
        known, everyday = self._tokenizer.known, set(data.pinyin_words)
        vocabulary.sort(key=lambda w: 0 if w in everyday else 1 if w in known else 2)
        self._bridge = LanguageBridge(data.english, vocabulary, data.pinyin_syllables,
                                      self._tokenizer.everyday_words, data.dialect).translate
        self._model = model
        self._reader = reader
        self._fallback = SpecialtyScore(FALLBACK_CODE, self._names[FALLBACK_CODE], 0.1, ())

    def with_model(self, model: TextModel | None) -> Matcher:
        """A matcher sharing this one's tokenizer and dictionaries but blending ``model``."""
        clone = object.__new__(Matcher)
        clone.__dict__.update(self.__dict__)
        clone._model = model
        return clone

    @property
    def has_model(self) -> bool:
        """True when a trained classifier is blended in."""
        return self._model is not None

    def is_word(self, word: str) -> bool:
        """True if the tokenizer's dictionary (jieba's with our medical words) knows ``word`` ("黄疸", "高峰"): a
        leading word of a one-line order that is a word needs more than its place to be taken as a name."""
        return self._tokenizer.is_word(word)

    def tokens(self, text: str) -> list[str]:
        """Tokens of a raw text after normalisation (for tests and explanations)."""
        return self._tokenizer.cut(normalize(text)[:MAX_TEXT])

    def classify(self, text: str, age: float | None = None, sex: str | None = None, *, pregnant: bool = False,
                 postpartum: bool = False) -> Classification:
        """Suggest up to three specialties and check red flags; never raises on a ``str``.

        ``age`` is in years (a fraction for an infant: 0.25 is three months); ``pregnant``/``postpartum`` come
        from the order when it says so (the text is read for them too).
        """
        try:
            return self._classify(text, age, sex, None, pregnant, postpartum)
        except Exception:  # never let one odd text break a conversation; the 02 fallback is safe
            hits = self._safe_redflags(text, age, sex, pregnant, postpartum)
            return Classification((self._fallback,), bool(hits), tuple(dict.fromkeys(h.reason for h in hits)),
                                  True, False, hits)

    def _safe_redflags(self, text: object, age: float | None, sex: str | None, pregnant: bool,
                       postpartum: bool) -> tuple[RedFlagHit, ...]:
        """Red flags alone, for when scoring failed: an odd text must never hide an emergency."""
        try:
            return self._redflags.detect(self._bridge(normalize(str(text))[:MAX_TEXT]), patient=Patient.of(
                age if isinstance(age, int | float) and not isinstance(age, bool) else None, sex, pregnant,
                postpartum))
        except Exception:
            return ()

    def explain(self, text: str, age: float | None = None, sex: str | None = None, *, pregnant: bool = False,
                postpartum: bool = False) -> str:
        """A human-readable trace: tokens, matched terms, negations, scores and red flags."""
        trace = _Trace()
        result = self._classify(text, age, sex, trace, pregnant, postpartum)
        lines = [f"原文：{text}", f"规范化：{normalize(text)[:MAX_TEXT]}"]
        if trace.bridged:
            lines.append(f"外文转写：{trace.bridged}")
        lines.append("分词：" + " / ".join(trace.tokens))
        lines += ["过程："] + [f"  - {e}" for e in trace.events] if trace.events else ["过程：（没有命中任何词条）"]
        lines.append("结果：" + ("（含训练模型融合）" if result.used_model else "（仅词典）"))
        for s in result.specialties:
            lines.append(f"  {s.code} {s.name}  得分 {s.score:.2f}  触发词：{'、'.join(s.matched) or '—'}")
        if result.low_confidence:
            lines.append("  置信度低：请村医确认或改选科目。")
        if result.emergency:
            lines.append("急症红旗：是 —— 请立即拨打 120。")
            for h in result.emergency_hits:
                who = "第二读者（不是规则）" if h.rule_id == READER_RULE else f"规则 {h.rule_id}"
                lines.append(f"  {who}：{h.reason}")
                lines.append(f"    命中词：{h.phrase.replace('+', ' + ')}")
                lines.append(f"    依据：{h.standard}")
        else:
            lines.append("急症红旗：否")
        return "\n".join(lines)

    # -- internals -------------------------------------------------------------------------------

    def _classify(self, text: str, age: float | None, sex: str | None, trace: _Trace | None, pregnant: bool = False,
                  postpartum: bool = False) -> Classification:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        norm = plain = normalize(text)[:MAX_TEXT]
        if age is not None and (not isinstance(age, int | float) or isinstance(age, bool) or not 0 <= age <= 130):
            age = None
        exact_age = age
        age = int(age) if age is not None else None
        bridged = self._bridge(norm)
        if bridged != norm:
            if trace is not None:
                trace.bridged = bridged
            norm = bridged
        tokens = self._tokenizer.cut(norm) if norm else []
        if trace is not None:
            trace.tokens = tokens
        scored = self._score(tokens, trace)
        if "岁" in norm or "月" in norm or "出生" in norm:
            scored.text_age = self._text_age(norm)
        if age is None and scored.text_age is not None:
            age = scored.text_age
        raw = self._adjust(scored, age, sex, trace)
        mended = self._mender.mend(norm, tokens) if tokens else norm
        if trace is not None and mended != norm:
            trace.events.append(f"同音字：{mended}")
        hits = self._redflags.detect(mended, patient=Patient.of(exact_age, sex, pregnant, postpartum))
        if not hits:
            hits = self._second_reading(plain, trace)
        if trace is not None:
            for h in hits:
                trace.events.append(f"急症规则 {h.rule_id}：「{h.phrase}」→ {h.reason}")
        reasons = tuple(dict.fromkeys(h.reason for h in hits))
        used_model = False
        if self._model is not None and tokens:
            probs = self._model.predict(tokens, age)
            used_model = True
            ranked, low = self._blend(raw, probs, trace)
        else:
            ranked, low = self._rank_lexicon(raw)
        if hits and (low or not ranked):
            # The words point nowhere the lexicon is sure of, but the emergency does ("喝了农药"): suggest the
            # department the red flag belongs to, so a doctor who files it anyway is not left with 全科.
            ranked, low = self._with_redflag_codes(ranked, hits, scored, low)
        specialties = tuple(
            SpecialtyScore(code, self._names.get(code, code), round(score, 3),
                           tuple(dict.fromkeys(scored.matched.get(code, ()))))
            for code, score in ranked
        ) or (self._fallback,)
        if not ranked:
            low = True
        return Classification(specialties, bool(reasons), reasons, low, used_model, hits)

    def _second_reading(self, plain: str, trace: _Trace | None) -> tuple[RedFlagHit, ...]:
        """The learned second reader (``nlp/reader.py``) on the text as typed, when no rule fired: it may add an
        alarm, saying it is its own judgement and on which words, never take one away."""
        if self._reader is None or not plain:
            return ()
        # Its words are read in context the way the rules' are: only those that are a present finding of the
        # patient's own story count (not denied, past, asked about or somebody else's). English and pinyin words
        # have no such reading and count as they are.
        reading = self._reader.read(plain, lambda word: self._redflags.live_words(plain, (word,)))
        if trace is not None:
            trace.events.append(f"第二读者：急症可能性 {reading.probability:.2f}（报警线 {READER_THRESHOLD}）")
        if not reading.alarm:
            return ()
        # The reason people see says whose judgement it is; the words it weighed are in the hit for nlp-explain
        # (character pairs such as "叫伊" or "手脚" tell a doctor less than the plain statement does).
        return (RedFlagHit(READER_RULE, "+".join(SecondReader.shown(w) for w in reading.words[:6]),
                           READER_REASON, READER_STANDARD),)

    def _with_redflag_codes(self, ranked: list[tuple[str, float]], hits: tuple[RedFlagHit, ...], scored: _Scored,
                            low: bool) -> tuple[list[tuple[str, float]], bool]:
        codes = [self._redflag_codes[h.rule_id] for h in hits if h.rule_id in self._redflag_codes]
        if not codes:
            return ranked, low
        top = ranked[0][1] if ranked else 0.5
        out: list[tuple[str, float]] = []
        for code in dict.fromkeys(codes):
            out.append((code, top + 0.01))
            words = [h.phrase.split("+")[0] for h in hits if self._redflag_codes.get(h.rule_id) == code]
            scored.matched.setdefault(code, []).extend(words)
        out += [(c, v) for c, v in ranked if c not in dict.fromkeys(codes)]
        return out[:MAX_RESULTS], False

    def _score(self, tokens: list[str], trace: _Trace | None) -> _Scored:
        """Lexicon and combination scores per code, clause by clause."""
        raw: dict[str, float] = {}
        matched: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        info_get = self._info.get
        combos = self._combos
        child = pregnant = False
        clause_terms: list[tuple[str, _TokenInfo, bool]] = []
        bodies: list[tuple[str, str]] = []
        symptoms: list[tuple[str, str]] = []
        negated = history = resolved = now = False
        text_age: int | None = None
        n = len(tokens)
        for i in range(n + 1):
            tok = tokens[i] if i < n else "。"
            if tok in _BREAKS:
                if clause_terms or (bodies and symptoms):
                    factor = 1.0
                    if resolved:
                        factor = RESOLVED_FACTOR
                    elif history and not now:
                        factor = HISTORY_FACTOR
                    for term, tinfo, neg in clause_terms:
                        if neg:
                            if trace is not None:
                                trace.events.append(f"否定：「{term}」不计分")
                            continue
                        c = counts.get(term, 0)
                        counts[term] = c + 1
                        if c > MAX_REPEATS:
                            continue
                        f = factor * (1.0 if c == 0 else REPEAT_FACTOR)
                        for code, w in tinfo.terms:
                            raw[code] = raw.get(code, 0.0) + w * f
                            matched.setdefault(code, []).append(term)
                        if trace is not None:
                            ctx = "（既往）" if f < 1 and factor < 1 else ""
                            codes = "、".join(f"{code}×{w * f:.2f}" for code, w in tinfo.terms)
                            trace.events.append(f"词条「{term}」{ctx} → {codes}")
                    if bodies and symptoms:
                        done: set[tuple[str, str]] = set()
                        for btok, body in bodies:
                            for stok, sym in symptoms:
                                if (body, sym) in done or btok == stok:
                                    continue
                                done.add((body, sym))
                                for key in ((body, sym), (body, "*")):
                                    for code, w in combos.get(key, ()):
                                        raw[code] = raw.get(code, 0.0) + w * factor
                                        matched.setdefault(code, []).append(btok + stok)
                                        if trace is not None:
                                            trace.events.append(
                                                f"组合「{btok}+{stok}」({body}+{sym}) → {code}×{w * factor:.2f}")
                clause_terms = []
                bodies = []
                symptoms = []
                negated = history = resolved = now = False
                continue
            inf: _TokenInfo | None = info_get(tok)
            if inf is None:
                if len(tok) < 3:
                    continue
                inf = self._derived.get(tok, _UNSEEN)
                if inf is _UNSEEN:
                    inf = self._derive(tok)
                if inf is None:
                    continue
            cue = inf.cue
            if cue is not None:
                if cue == "negation":
                    negated = True
                elif cue == "contrast":
                    negated = False
                elif cue == "history":
                    history = True
                    now = False
                elif cue == "resolved":
                    resolved = True
                elif cue == "now":
                    now = True
                elif cue == "child" and not negated:
                    child = True
                elif cue == "pregnant" and not negated:
                    pregnant = True
                if trace is not None and cue in ("negation", "history", "resolved"):
                    label = {"negation": "否定词", "history": "既往词", "resolved": "已好转"}[cue]
                    trace.events.append(f"{label}「{tok}」")
            if inf.terms:
                clause_terms.append((tok, inf, negated))
            if inf.body is not None:
                bodies.append((tok, inf.body))
            if inf.symptom is not None and not negated:
                symptoms.append((tok, inf.symptom))
        return _Scored(raw, matched, child, pregnant, text_age)

    def _derive(self, tok: str) -> _TokenInfo | None:
        """Lexicon terms inside an unknown longer token (longest first, non-overlapping), or None."""
        found: list[tuple[str, float]] = []
        if tok[0] not in _NEGATING_FIRST and not tok.isascii():
            i, n = 0, len(tok)
            while i < n - 1:
                for j in range(n, i + 1, -1):
                    hit = self._terms.get(tok[i:j])
                    if hit is not None and j - i < n:
                        found.extend(hit.terms)
                        i = j
                        break
                else:
                    i += 1
        result = _TokenInfo(terms=tuple(found)) if found else None
        if len(self._derived) < _DERIVED_CACHE_MAX:
            self._derived[tok] = result
        return result

    @staticmethod
    def _text_age(text: str) -> int | None:
        """An age stated in the text ("3岁", "五个月大"), in whole years."""
        if _AGE_MONTHS.search(text):
            return 0
        m = _AGE_YEARS.search(text)
        if m:
            value = int(m.group(1))
            return value if value <= 120 else None
        return None

    def _adjust(self, scored: _Scored, age: int | None, sex: str | None, trace: _Trace | None) -> dict[str, float]:
        """Population cues (children, pregnancy, sex) and folding parent codes into sub-specialties."""
        raw = dict(scored.raw)
        if not raw:
            return raw
        # While pregnant, "宝宝" is the unborn child: the patient is the mother.
        is_child = age < CHILD_AGE if age is not None else (scored.child and not scored.pregnant)
        if is_child:
            moved: dict[str, float] = {}
            for code, value in raw.items():
                target = self._child_codes.get(code)
                if target is None and "." in code:
                    target = self._child_codes.get(code.split(".")[0]) if code.startswith(("03", "16")) else None
                if target is not None:
                    moved[target] = moved.get(target, 0.0) + value
                    moved[code] = moved.get(code, 0.0) + value * ADULT_SHARE_FOR_CHILD
                    scored.matched.setdefault(target, []).extend(scored.matched.get(code, ()))
                else:
                    moved[code] = moved.get(code, 0.0) + value
            raw = moved
            if trace is not None:
                trace.events.append(f"儿童（年龄 {age if age is not None else '由文字推断'}）：成人科目转为儿科科目")
        elif age is not None and age >= CHILD_AGE:
            for code in [c for c in raw if c.startswith(("07", "08", "09"))]:
                raw[code] *= 0.3  # an adult's order mentioning 孩子 is about the adult
        if scored.pregnant and not is_child and sex != "M":
            top = max(raw.values())
            if raw.get("05.02", 0.0) < 0.8 * top:
                raw["05.02"] = 0.8 * top
                scored.matched.setdefault("05.02", []).append("妊娠")
                if trace is not None:
                    trace.events.append("妊娠：产科（05.02）列入候选")
        if sex == "M":
            # A man's "下腹痛" or "下身痒" belongs to urology/andrology or digestion, not gynaecology.
            for code in [c for c in raw if c.startswith(_FEMALE_ONLY_PREFIX)]:
                value = raw[code]
                raw[code] = value * 0.1
                for alt in ("04.04", "03.02"):
                    raw[alt] = raw.get(alt, 0.0) + value * 0.4
                    scored.matched.setdefault(alt, []).extend(scored.matched.get(code, ()))
        elif sex == "F" and "04.04" in raw:
            raw["04.04"] *= 0.7  # urinary complaints in women also go to gynaecology and nephrology
        # Fold a parent into its strongest present sub-specialty so top-3 slots are not wasted on both.
        for code in sorted((c for c in raw if "." not in c), key=len):
            kids = [c for c in raw if c.startswith(code + ".")]
            if kids:
                best = max(kids, key=raw.__getitem__)
                raw[best] += PARENT_TO_CHILD * raw.pop(code)
                scored.matched.setdefault(best, []).extend(scored.matched.get(code, ()))
        return raw

    @staticmethod
    def _rank_lexicon(raw: dict[str, float]) -> tuple[list[tuple[str, float]], bool]:
        if not raw:
            return [], True
        ranked = sorted(raw.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_RESULTS]
        total = sum(raw.values()) + 1.0
        low = ranked[0][1] < LOW_CONFIDENCE_RAW
        return [(code, value / total) for code, value in ranked], low

    def _blend(
        self, raw: dict[str, float], probs: dict[str, float], trace: _Trace | None
    ) -> tuple[list[tuple[str, float]], bool]:
        total = sum(raw.values())
        lex = {c: v / total for c, v in raw.items()} if total > 0 else {}
        w_model = MODEL_WEIGHT if lex else 1.0
        mixed: dict[str, float] = {c: (1 - w_model) * v for c, v in lex.items()}
        for code, p in probs.items():
            mixed[code] = mixed.get(code, 0.0) + w_model * p
        ranked = sorted(mixed.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_RESULTS]
        if trace is not None:
            best = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
            trace.events.append(
                f"模型（权重 {w_model:.1f}）：" + "、".join(f"{c} {p:.2f}" for c, p in best))
        low = not ranked or ranked[0][1] < 0.35
        return ranked, low
