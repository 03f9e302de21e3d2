"""Loading and validating the editable data files under ``nlp/data/`` (lexicon, cues, combos, red flags)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from domain.specialties import catalogue

CUE_KINDS = (
    "negation", "history", "resolved", "now", "present", "onset", "timeline", "contrast", "child", "pregnant",
    "hypothetical", "prevention", "question",
    "hearsay", "mild", "chronic_course", "handled", "chronic_name", "tokenize_only", "not_negating",
)
REDFLAG_LEVELS = ("strong", "soft")
REDFLAG_POPULATIONS = ("-", "infant", "young_infant", "child", "pregnant", "postpartum", "perinatal")
REDFLAG_COURSES = ("any", "acute", "ongoing")
# In red-flag phrases, "@名称" stands for every phrase of that concept (redflag_concepts.tsv).
CONCEPT_PREFIX = "@"


class LexiconError(ValueError):
    """A data file is malformed: unknown code, duplicate or conflicting entry, bad column."""


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One line of a lexicon file: a term that points to a specialty code with a weight."""

    term: str
    code: str
    weight: float
    source: str


@dataclass(frozen=True, slots=True)
class RedFlagRule:
    """One emergency rule: trigger phrases, companion groups (each must be present), who it is for, the time
    course it needs, the standard it comes from, and a reason in Chinese."""

    rule_id: str
    level: str
    triggers: tuple[str, ...]
    requires: tuple[tuple[str, ...], ...]
    reason: str
    population: str = "-"
    course: str = "acute"
    standard: str = ""


@dataclass(frozen=True)
class NlpData:
    """Everything the matcher and the red-flag detector read from ``nlp/data``."""

    lexicon: tuple[LexiconEntry, ...]
    cues: dict[str, str]
    bodyparts: dict[str, str]
    symptoms: dict[str, str]
    combos: dict[tuple[str, str], tuple[tuple[str, float], ...]]
    child_codes: dict[str, str]
    redflags: tuple[RedFlagRule, ...]
    userdict: tuple[str, ...] = field(default=())
    concepts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    english: dict[str, str] = field(default_factory=dict)
    redflag_specialties: dict[str, str] = field(default_factory=dict)
    pinyin: dict[str, str] = field(default_factory=dict)
    dialect: dict[str, str] = field(default_factory=dict)

    @property
    def pinyin_syllables(self) -> dict[str, str]:
        """pinyin.tsv's single syllables (the fallback for a syllable no word covers)."""
        return {k: v for k, v in self.pinyin.items() if " " not in k}

    @property
    def pinyin_words(self) -> list[str]:
        """pinyin.tsv's everyday words, read before anything else."""
        return [v for k, v in self.pinyin.items() if " " in k]

    @property
    def not_negating(self) -> tuple[str, ...]:
        """Words that contain 不/没/无 but negate nothing ("叫不醒", "四肢无力")."""
        return tuple(w for w, k in self.cues.items() if k == "not_negating")


def data_dir() -> Path:
    """The directory holding the shipped data files."""
    return Path(str(resources.files("nlp").joinpath("data")))


def _rows(path: Path, ncols: tuple[int, ...]) -> list[tuple[int, list[str]]]:
    """Non-comment rows of a TSV file with their line numbers; checks the column count."""
    out = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        while len(cols) > min(ncols) and not cols[-1]:
            cols.pop()
        if len(cols) not in ncols:
            raise LexiconError(f"{path.name}:{lineno}: 应有 {ncols} 列，实际 {len(cols)} 列：{line!r}")
        if any(not c for c in cols[: min(ncols)]):
            raise LexiconError(f"{path.name}:{lineno}: 有空列：{line!r}")
        out.append((lineno, cols))
    return out


def _check_code(code: str, where: str) -> None:
    if code not in catalogue():
        raise LexiconError(f"{where}: 未知的科目代码 {code}")


def load_lexicon(directory: Path) -> tuple[LexiconEntry, ...]:
    """Read every ``lex_*.tsv`` and validate codes, weights, duplicates and cross-file conflicts."""
    entries: list[LexiconEntry] = []
    owner: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    files = sorted(directory.glob("lex_*.tsv"))
    if not files:
        raise LexiconError(f"{directory}: 没有找到 lex_*.tsv 词典文件")
    for path in files:
        for lineno, cols in _rows(path, (3, 4)):
            term, code, weight_text = cols[0].lower(), cols[1], cols[2]
            where = f"{path.name}:{lineno}"
            _check_code(code, where)
            try:
                weight = float(weight_text)
            except ValueError:
                raise LexiconError(f"{where}: 权重不是数字：{weight_text!r}") from None
            if not 0 < weight <= 5:
                raise LexiconError(f"{where}: 权重应在 (0, 5] 之间：{weight}")
            if (term, code) in seen:
                raise LexiconError(f"{where}: 重复词条 {term} → {code}")
            # A term lives in one file so a reviewer sees all of its codes together.
            if owner.setdefault(term, path.name) != path.name:
                raise LexiconError(f"{where}: 词条 {term} 已在 {owner[term]} 中定义（冲突）")
            seen.add((term, code))
            entries.append(LexiconEntry(term, code, weight, path.name))
    return tuple(entries)


def _load_pairs(path: Path, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    """A two-column file as a dict; duplicates are errors."""
    out: dict[str, str] = {}
    for lineno, cols in _rows(path, (2,)):
        key, value = cols[0].lower(), cols[1]
        if key in out:
            raise LexiconError(f"{path.name}:{lineno}: 重复的词 {key}")
        if allowed is not None and value not in allowed:
            raise LexiconError(f"{path.name}:{lineno}: 未知类别 {value}")
        out[key] = value
    return out


def _load_cues(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for lineno, cols in _rows(path, (2,)):
        kind, word = cols[0], cols[1].lower()
        if kind not in CUE_KINDS:
            raise LexiconError(f"{path.name}:{lineno}: 未知类别 {kind}")
        if word in out:
            raise LexiconError(f"{path.name}:{lineno}: 提示词 {word} 重复（已是 {out[word]}）")
        out[word] = kind
    return out


def _load_combos(path: Path, bodies: set[str], symptoms: set[str]) -> dict[tuple[str, str], tuple]:
    acc: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for lineno, cols in _rows(path, (4,)):
        body, sym, code, weight_text = cols
        where = f"{path.name}:{lineno}"
        if body not in bodies:
            raise LexiconError(f"{where}: 未知部位类别 {body}")
        if sym != "*" and sym not in symptoms:
            raise LexiconError(f"{where}: 未知症状类别 {sym}")
        _check_code(code, where)
        items = acc.setdefault((body, sym), [])
        if any(c == code for c, _ in items):
            raise LexiconError(f"{where}: 组合 {body}+{sym} → {code} 重复")
        items.append((code, float(weight_text)))
    return {k: tuple(v) for k, v in acc.items()}


def _load_child_codes(path: Path) -> dict[str, str]:
    out = _load_pairs(path)
    for adult, child in out.items():
        _check_code(adult, path.name)
        _check_code(child, path.name)
    return out


def split_alternatives(cell: str) -> list[str]:
    """Split on ``|`` outside parentheses, so ``胸*(痛|疼)`` and ``re:(a|b)`` stay whole."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in cell:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _phrases(cell: str) -> tuple[str, ...]:
    return tuple(t.strip().lower() if not t.strip().startswith("re:") else t.strip()
                 for t in split_alternatives(cell) if t.strip())


def _check_refs(phrases: tuple[str, ...], concepts: dict[str, tuple[str, ...]], where: str) -> None:
    """Every ``@名称`` names a known concept, and every raw expression compiles."""
    for p in phrases:
        if p.startswith("re:"):
            try:
                re.compile(p[3:])
            except re.error as e:
                raise LexiconError(f"{where}: 正则写法有误 {p!r}：{e}") from None
            continue
        for part in p.split("*"):
            if part.startswith(CONCEPT_PREFIX) and part[1:] not in concepts:
                raise LexiconError(f"{where}: 未知概念 {part}")
            if not part:
                raise LexiconError(f"{where}: 写法 {p!r} 有空段")


def _load_concepts(path: Path) -> dict[str, tuple[str, ...]]:
    """``redflag_concepts.tsv``: a name, its phrases, a note. Concepts may use other concepts."""
    out: dict[str, tuple[str, ...]] = {}
    rows = _rows(path, (2, 3))
    for lineno, cols in rows:
        name = cols[0]
        if name in out:
            raise LexiconError(f"{path.name}:{lineno}: 概念 {name} 重复")
        out[name] = _phrases(cols[1])
        if not out[name]:
            raise LexiconError(f"{path.name}:{lineno}: 概念 {name} 没有写法")
    for lineno, cols in rows:
        _check_refs(out[cols[0]], out, f"{path.name}:{lineno}")
    return out


def _load_redflags(path: Path, concepts: dict[str, tuple[str, ...]]) -> tuple[RedFlagRule, ...]:
    """``redflags.tsv``: 编号, 级别, 触发词, 同时需要, 人群, 病程, 依据, 原因."""
    rules = []
    ids: set[str] = set()
    for lineno, cols in _rows(path, (8,)):
        rule_id, level, triggers, requires, population, course, standard, reason = cols
        where = f"{path.name}:{lineno}"
        if rule_id in ids:
            raise LexiconError(f"{where}: 规则编号 {rule_id} 重复")
        if level not in REDFLAG_LEVELS:
            raise LexiconError(f"{where}: 级别应为 strong 或 soft")
        if population not in REDFLAG_POPULATIONS:
            raise LexiconError(f"{where}: 人群应为 {'、'.join(REDFLAG_POPULATIONS)} 之一")
        if course not in REDFLAG_COURSES:
            raise LexiconError(f"{where}: 病程应为 {'、'.join(REDFLAG_COURSES)} 之一")
        ids.add(rule_id)
        trig = _phrases(triggers)
        req = () if requires == "-" else tuple(_phrases(g) for g in requires.split("&"))
        if not trig:
            raise LexiconError(f"{where}: 没有触发词")
        if any(not g for g in req):
            raise LexiconError(f"{where}: “同时需要”有空组")
        _check_refs(trig, concepts, where)
        for g in req:
            _check_refs(g, concepts, where)
        rules.append(RedFlagRule(rule_id, level, trig, req, reason, population, course, standard))
    return tuple(rules)


def _load_redflag_specialties(path: Path, concepts: dict) -> dict[str, str]:
    out = _load_pairs(path)
    for rule_id, code in out.items():
        _check_code(code, f"{path.name}: {rule_id}")
    return {k.upper(): v for k, v in out.items()}


def _load_userdict(path: Path) -> tuple[str, ...]:
    words = []
    for _, cols in _rows(path, (1,)):
        words.append(cols[0].lower())
    return tuple(words)


def load_data(directory: Path | None = None) -> NlpData:
    """Load and validate all data files; raises ``LexiconError`` naming the file and line."""
    d = directory or data_dir()
    bodyparts = _load_pairs(d / "bodyparts.tsv")
    symptoms = _load_pairs(d / "symptoms.tsv")
    concepts = _load_concepts(d / "redflag_concepts.tsv")
    return NlpData(
        lexicon=load_lexicon(d),
        cues=_load_cues(d / "cues.tsv"),
        bodyparts=bodyparts,
        symptoms=symptoms,
        combos=_load_combos(d / "combos.tsv", set(bodyparts.values()), set(symptoms.values())),
        child_codes=_load_child_codes(d / "child_codes.tsv"),
        redflags=_load_redflags(d / "redflags.tsv", concepts),
        userdict=_load_userdict(d / "userdict.txt"),
        concepts=concepts,
        english=_load_pairs(d / "english.tsv"),
        redflag_specialties=_load_redflag_specialties(d / "redflag_specialties.tsv", concepts),
        pinyin=_load_pairs(d / "pinyin.tsv"),
        dialect=_load_pairs(d / "dialect.tsv"),
    )


@cache
def shipped_data() -> NlpData:
    """The shipped data, loaded and validated once per process."""
    return load_data()
