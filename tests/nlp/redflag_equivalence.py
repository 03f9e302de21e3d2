"""Every red-flag detection of this tree equals that of ``nlp/redflags.py`` at another git revision.

Run from the repository: ``python tests/nlp/redflag_equivalence.py [REV]`` (default ``HEAD``). The module at REV
is loaded under another name and put in a copy of the matcher; both then read the same texts:

- every text of tests/nlp (string literals of the test modules, the case files, every blind and development set),
  the shared development set, the bench texts and the red-flag phrases themselves (``*`` filled with a short gap);
- a few thousand variants of the positive cases (fixed seed): punctuation, negation characters, spaces, newlines,
  emoji, ASCII and private-use characters inserted at random positions; the texts with every stop and stand-in
  exchanged, several run together, with a population named, in full-width and half-width forms.

Compared: ``RedFlagDetector.detect`` on the raw and on the normalised text (with the case's patient), ``live_words``
of the phrase words, and ``Matcher.classify`` in full (specialties, scores, emergency, reasons, hits). Prints the
counts and every difference; exits 1 on any difference. Not a pytest module (it builds two detectors: seconds).
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nlp import load_matcher  # noqa: E402
from nlp.normalize import normalize  # noqa: E402
from nlp.redflags import Patient, RedFlagDetector  # noqa: E402
from nlp.resources import shipped_data  # noqa: E402

HERE = ROOT / "tests" / "nlp"
# Clause ends and negations (what a gap may not hold), spaces, emoji, ASCII, the stand-ins of the swapped text
# (U+0086–U+0094), private-use and look-alike characters.
INSERTS = [*"，。！？；,;!?\n没不未无别冇、 \t", "  ", "😀", "a", "Z", "1", "\x86", "\x8f", "\x90", "\x94", "\ue000",
           "（", "：", "否认", "没有", "不是", "。\n", "，没", "过"]

POPULATIONS = ["3个月大的宝宝", "怀孕30周，", "孕28周了", "刚生完孩子", "产后第5天", "两岁的孩子", "新生儿", "40天的娃",
               "7 days old ", "生后3天"]
Case = tuple[str, float | None, str | None, bool, bool, bool]  # text, age, sex, pregnant, postpartum, positive


def _old_detector_module(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:nlp/redflags.py"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    path = Path(tempfile.mkdtemp()) / "redflags_reference.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("redflags_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["redflags_reference"] = module
    spec.loader.exec_module(module)
    return module


def _strings(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
                "\u3400" <= ch <= "\u9fff" for ch in node.value):
            out.append(node.value)
    return out


def _cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(HERE.glob("*.py")):
        cases += [(s, None, None, False, False, False) for s in _strings(path)]
    for path in [*sorted((HERE / "redflag_blind").glob("*.jsonl")), ROOT.parent / "shared" / "eval" / "dev.jsonl"]:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                age = row.get("age")
                cases.append((row["text"], age if isinstance(age, int | float) else None, row.get("sex"),
                              bool(row.get("pregnant")), bool(row.get("postpartum")), bool(row.get("emergency"))))
    from tests.nlp.redflag_cases import ACUTE
    for group in ACUTE.values():
        cases += [(text, age, None, False, False, True) for text, age in group]
    for line in (HERE / "redflag_rule_cases.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            _, text, age, pregnant, postpartum = [*line.split("\t"), "", "", ""][:5]
            for form in (text, "否认" + text, f"去年{text}，早就好了，现在没有不舒服", f"如果{text}，该怎么办？"):
                cases.append((form, float(age) if age else None, None, pregnant == "是", postpartum == "是",
                              form == text))
    from bench.nlp import SHORT
    cases += [(t, None, None, False, False, False) for t in SHORT]
    data = shipped_data()
    rng = random.Random(20261206)
    phrases = [p for r in data.redflags for p in chain_phrases(r)] + [p for ps in data.concepts.values() for p in ps]
    for p in phrases:
        if not p.startswith("re:"):
            parts = p.split("*")
            text = parts[0]
            for part in parts[1:]:
                text += "".join(rng.choice("一阵很好都在") for _ in range(rng.randint(0, 6))) + part
            cases.append((text, None, None, False, False, True))
    return cases


def chain_phrases(rule) -> list[str]:
    return list(rule.triggers) + [p for g in rule.requires for p in g]


def _variants(cases: list[Case], n: int) -> list[Case]:
    rng = random.Random(6122026)
    positives = [c for c in cases if c[5]]
    out = []
    for _ in range(n):
        text, *rest = rng.choice(positives)
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(INSERTS))
        out.append(("".join(chars), *rest))
    # Whole texts the swap could read differently: every stop and stand-in exchanged, several cases run together
    # (long texts, clause ends or stand-ins between them), a population named before or after, and the ASCII signs
    # in their full-width forms and back.
    from nlp.redflags import _SWAP

    for _ in range(n // 6):
        text, *rest = rng.choice(positives)
        out.append((text.translate(_SWAP), *rest))
        run = rng.choice(["", "，", "\n", " ", "\x86", "\x8e", "。然后"]).join(
            rng.choice(positives)[0] for _ in range(rng.randint(3, 8)))
        out.append((run, None, None, False, False, True))
        who = rng.choice(POPULATIONS)
        out.append(((who + text) if rng.random() < 0.5 else (text + who), *rest))
        out.append(("".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text), *rest))
        out.append(("".join(chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else ch for ch in text), *rest))
    return out


def _hits(hits) -> list[tuple[str, str, str, str]]:
    return [(h.rule_id, h.phrase, h.reason, h.standard) for h in hits]


def _classified(result) -> tuple:
    return (result.to_json(), result.low_confidence, result.used_model, _hits(result.emergency_hits))


def main() -> int:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    module = _old_detector_module(rev)
    data = shipped_data()
    matcher = load_matcher()
    reference = copy.copy(matcher)
    reference._redflags = module.RedFlagDetector(data, matcher._tokenizer.freq)
    detector: RedFlagDetector = matcher._redflags
    base = _cases()
    cases = base + _variants(base, 6000)
    words = sorted({p for r in data.redflags for p in chain_phrases(r) if not p.startswith(("re:", "@"))
                    and "*" not in p and "(" not in p})
    diffs = 0
    for text, age, sex, pregnant, postpartum, _ in cases:
        patient = Patient.of(age, sex, pregnant, postpartum)
        got, want = [], []
        for det, out in ((detector, got), (reference._redflags, want)):
            out.append(_hits(det.detect(text, patient=patient)))
            out.append(_hits(det.detect(normalize(text), patient=patient)))
            out.append(det.live_words(normalize(text), [w for w in words if w in text]))
        for m, out in ((matcher, got), (reference, want)):
            out.append(_classified(m.classify(text, age, sex, pregnant=pregnant, postpartum=postpartum)))
        if got != want:
            diffs += 1
            print("DIFF", json.dumps(text, ensure_ascii=False), got, want, sep="\n  ")
    fired = sum(1 for text, *_ in cases if detector.detect(normalize(text)))
    print(json.dumps({"against": rev, "texts": len(cases), "of_them_generated": len(cases) - len(base),
                      "texts_that_fire": fired, "differences": diffs}))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
