"""The second reader: a small learned check that an acute story the rules did not recognise is still caught.

The rules (``redflags.tsv``) are the first reader: each one names a finding and the standard behind it. On stories
written by people they had never seen they caught about four in five (arrival recall 0.81-0.84 on each new blind
set): a story told in new words slips past however many words are listed. The second reader learns from every
story the rules were tuned on (the blind tuning sets: acute stories and their near-misses) and from real patient
questions that are no emergency, and reads what the words have in common: pairs of characters, and the
words of English and pinyin. It can only add an alarm, never take one away, and the alarm it adds says that it is
its judgement and which words weighed most, so the doctor and the township can check it.

The weights are plain data (``nlp/data/redflag_reader.tsv``: one feature and its weight per line), written by
``python -m bot nlp-reader-train`` from the frozen case sets; the file records the SHA-256 of every file it was
trained on, and a test fails when a tuning set is added without training again. Prediction is a dictionary
lookup per feature (logistic regression), a few microseconds per short text.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from pathlib import Path

FORMAT = "xunzhen-redflag-reader-1"
SHIPPED = Path(__file__).with_name("data") / "redflag_reader.tsv"
HEAVY = 0.3  # a feature weighing more than this towards an emergency is one of the words an alarm names
THRESHOLD = 0.8  # chosen on the tuning sets left out one round at a time (README: "Two readers")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
_WORD = re.compile(r"[a-z0-9]+")
_PAIRS = [slice(i, i + 2) for i in range(4000)]
_ZEROS = repeat(0.0)  # the default of every weight lookup (an endless iterator, shared)
_DENIAL = frozenset("不没无未否别")  # a pair opening with one of these is a denial, never evidence


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def features(text: str) -> set[str]:
    """Character pairs of each run of Chinese, and English/pinyin words and word pairs (``_`` first). Triples were
    tried too: they doubled the lookups and caught no more on a set left out of the training (dev17: 0.973 against
    0.976 with pairs alone, false alarms equal).

    ``text`` is the normalised text (``nlp.normalize``): the same function reads it in training and in use.
    """
    low = text.lower()
    out: set[str] = set()
    for run in _CJK_RUN.findall(low):  # slices made once (texts are cut at 2,000 characters): the hot path stays in C
        out.update(map(run.__getitem__, _PAIRS[:len(run) - 1]))
    words = _WORD.findall(low)
    if words:
        out.update("_" + w for w in words)
        out.update(f"_{a}_{b}" for a, b in pairwise(words))
    return out


@dataclass(frozen=True, slots=True)
class Reading:
    """The second reader's judgement on one text."""

    probability: float
    words: tuple[str, ...]  # every feature that weighed towards an emergency (above HEAVY), heaviest first

    @property
    def alarm(self) -> bool:
        return self.probability >= THRESHOLD


@dataclass
class SecondReader:
    """Logistic regression over ``features``; ``weights`` holds every feature kept after training."""

    weights: dict[str, float]
    bias: float
    meta: dict[str, str] = field(default_factory=dict)

    def read(self, text: str, live: Callable[[str], bool] | None = None) -> Reading:
        """The probability that ``text`` (normalised) tells an emergency, and the words that weighed most.

        With ``live`` (a word of the text -> is it a present finding of the patient's own story), a text over the
        threshold is read again counting only the Chinese words for an emergency that are live and do not open
        with a denial: "没有呼吸困难", "如果……怎么办" and "去年……早就好了" keep no evidence to raise an alarm on.
        """
        feats = features(text)
        w = self.weights
        p = _sigmoid(self.bias + sum(map(w.get, feats, _ZEROS)))  # dict lookups in C: the hot path of every text
        if p < THRESHOLD:
            return Reading(p, ())
        if live is not None:
            kept = [f for f in feats if w.get(f, 0.0) <= 0.0 or self._unread(f, text)
                    or (f[0] not in _DENIAL and live(f.lstrip("_").replace("_", "/")))]
            p = _sigmoid(self.bias + sum(w.get(f, 0.0) for f in kept))
            if p < THRESHOLD:
                return Reading(p, ())
            feats = set(kept)
        return Reading(p, tuple(sorted((f for f in feats if w.get(f, 0.0) > HEAVY), key=lambda f: -w[f])))

    @staticmethod
    def _unread(feature: str, text: str) -> bool:
        """English and pinyin words, which the context reading cannot read: they count as they are. Numbers in a
        Chinese text are read like its words ("否认血压170/110")."""
        return feature.startswith("_") and not (feature[1:].replace("_", "").isdigit() and _CJK_RUN.search(text))

    @staticmethod
    def shown(word: str) -> str:
        """A feature as people read it ("_chest_pain" is "chest pain")."""
        return word.lstrip("_").replace("_", " ")

    # -- the weights file --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path = SHIPPED) -> SecondReader | None:
        """The reader in ``path``, or None when there is no such file (the rules then read alone)."""
        if not path.exists():
            return None
        rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")]
        meta = {k[1:]: v for k, v in rows if k.startswith("@")}
        weights = {k: float(v) for k, v in rows if not k.startswith("@")}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: 不是第二读者的权重文件（format {meta.get('format')!r}）")
        return cls(weights, float(meta["bias"]), meta)

    def save(self, path: Path) -> None:
        lines = ["# 急症第二读者的权重（python -m bot nlp-reader-train 生成，勿手改）。列：特征<TAB>权重。",
                 "# 特征：中文的相邻两字；以 _ 开头的是英文或拼音的词、词对。@ 开头的是元数据。"]
        lines += [f"@{k}\t{v}" for k, v in self.meta.items()]
        lines += [f"{k}\t{v:.4f}" for k, v in sorted(self.weights.items())]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def digest(paths: Iterable[Path]) -> str:
    """One SHA-256 over the training files' own digests, in name order: what ``meta['trained_on']`` records."""
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda p: p.name):
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def train(rows: Sequence[tuple[str, bool]], *, epochs: int = 8, rate: float = 0.2, l2: float = 1e-4,
          min_support: int = 3, prune: float = 0.01, seed: int = 1,
          progress: Callable[[int], None] | None = None) -> SecondReader:
    """Stochastic gradient descent on (normalised text, acute) pairs; the same rows give the same weights.

    A feature seen in fewer than ``min_support`` texts is dropped (one writer's turn of phrase is no evidence);
    weights under ``prune`` are dropped after training (they change no decision and only cost memory).
    """
    examples = [(features(text), 1.0 if acute else 0.0) for text, acute in rows]
    support = Counter(f for feats, _ in examples for f in feats)
    data = [(tuple(sorted(f for f in feats if support[f] >= min_support)), y) for feats, y in examples]
    weights: dict[str, float] = {}
    bias = 0.0
    rnd = random.Random(seed)
    for epoch in range(epochs):
        rnd.shuffle(data)
        for feats, y in data:
            g = _sigmoid(bias + sum(weights.get(f, 0.0) for f in feats)) - y
            bias -= rate * g
            for f in feats:
                old = weights.get(f, 0.0)
                weights[f] = old - rate * (g + l2 * old)
        if progress:
            progress(epoch + 1)
    kept = {f: round(w, 4) for f, w in weights.items() if abs(w) >= prune}
    return SecondReader(kept, round(bias, 4), {"format": FORMAT, "bias": f"{bias:.4f}"})
