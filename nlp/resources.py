"""Loading and validating the editable data files under ``nlp/data/`` (lexicon, cues, combos, red flags)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from domain.specialties import catalogue

CUE_KINDS = (
    "negation", "history", "resolved", "now", "contrast", "child", "pregnant", "hypothetical", "mild", "handled",
    "chronic_name", "tokenize_only",
)
REDFLAG_LEVELS = ("strong", "soft")


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
    """One emergency rule: trigger phrases, optional companion phrases, and a reason in Chinese."""

    rule_id: str
    level: str
    triggers: tuple[str, ...]
    requires: tuple[str, ...]
    reason: str
    gated_by_chronic: bool = False


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


def _load_redflags(path: Path) -> tuple[RedFlagRule, ...]:
    rules = []
    ids: set[str] = set()
    for lineno, cols in _rows(path, (5, 6)):
        rule_id, level, triggers, requires, reason = cols[:5]
        gated = len(cols) == 6 and cols[5] in ("是", "yes")
        where = f"{path.name}:{lineno}"
        if rule_id in ids:
            raise LexiconError(f"{where}: 规则编号 {rule_id} 重复")
        if level not in REDFLAG_LEVELS:
            raise LexiconError(f"{where}: 级别应为 strong 或 soft")
        ids.add(rule_id)
        trig = tuple(t.strip().lower() for t in triggers.split("|") if t.strip())
        req = () if requires == "-" else tuple(t.strip().lower() for t in requires.split("|") if t.strip())
        if not trig:
            raise LexiconError(f"{where}: 没有触发词")
        rules.append(RedFlagRule(rule_id, level, trig, req, reason, gated))
    return tuple(rules)


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
    return NlpData(
        lexicon=load_lexicon(d),
        cues=_load_cues(d / "cues.tsv"),
        bodyparts=bodyparts,
        symptoms=symptoms,
        combos=_load_combos(d / "combos.tsv", set(bodyparts.values()), set(symptoms.values())),
        child_codes=_load_child_codes(d / "child_codes.tsv"),
        redflags=_load_redflags(d / "redflags.tsv"),
        userdict=_load_userdict(d / "userdict.txt"),
    )


@cache
def shipped_data() -> NlpData:
    """The shipped data, loaded and validated once per process."""
    return load_data()
