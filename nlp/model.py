"""A small trained text classifier (TF-IDF over jieba tokens + age band, multinomial logistic regression).

Training uses scikit-learn; prediction uses only numpy over the exported weights so a single text costs
a few microseconds, and the model file is a plain ``.npz`` (no pickle, safe to load).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

FORMAT = "xunzhen-textmodel-1"
_PUNCT = frozenset("，。！？；、,.;!?:：…~ ()（）[]【】\"“”'‘’-—/\\")


def age_band(age: int | None) -> str:
    """A coarse age token so the model can learn that children go to paediatrics."""
    if age is None:
        return "__age_unknown"
    if age < 1:
        return "__age_infant"
    if age < 14:
        return "__age_child"
    if age < 60:
        return "__age_adult"
    return "__age_elder"


def features(tokens: Sequence[str], age: int | None) -> list[str]:
    """Model features: content tokens (no punctuation or single ASCII chars) plus the age band."""
    out = [t for t in tokens if t not in _PUNCT and not (len(t) == 1 and t.isascii())]
    out.append(age_band(age))
    return out


class TextModel:
    """Exported linear model: vocabulary, idf, per-class weights."""

    def __init__(self, classes: list[str], vocab: dict[str, int], idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, meta: dict):
        self.classes = classes
        self.vocab = vocab
        self.idf = idf.astype(np.float64)
        # Transposed so that gathering rows for the tokens of a text is one contiguous fancy index.
        self.coef_t = np.ascontiguousarray(coef.T.astype(np.float64))
        self.intercept = intercept.astype(np.float64)
        self.meta = meta

    def predict(self, tokens: Sequence[str], age: int | None) -> dict[str, float]:
        """Class probabilities for one tokenised text."""
        vocab = self.vocab
        counts: dict[int, int] = {}
        for t in features(tokens, age):
            j = vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            logits = self.intercept
        else:
            idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
            w = tf * self.idf[idx]
            w /= math.sqrt(float(w @ w))
            logits = w @ self.coef_t[idx] + self.intercept
        z = np.exp(logits - logits.max())
        z /= z.sum()
        return dict(zip(self.classes, z.tolist(), strict=True))

    def save(self, path: str | Path) -> None:
        """Write the model as a pickle-free ``.npz`` file."""
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                meta=np.array(json.dumps({**self.meta, "format": FORMAT}, ensure_ascii=False)),
                classes=np.array(self.classes),
                vocab=np.array(words),
                idf=self.idf,
                coef=self.coef_t.T,
                intercept=self.intercept,
            )

    @classmethod
    def load(cls, path: str | Path) -> TextModel:
        """Read a model written by ``save``; raises ``ValueError`` on anything else."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: 不是本系统的模型文件")
            vocab = {w: i for i, w in enumerate(z["vocab"].tolist())}
            return cls(z["classes"].tolist(), vocab, z["idf"], z["coef"], z["intercept"], meta)


def train(
    rows: Iterable[dict],
    tokenize: Callable[[str], list[str]],
    progress: Callable[[int], None] | None = None,
) -> TextModel:
    """Fit a model on rows {"text", "code", "age"?}; codes must already be validated."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    docs: list[list[str]] = []
    labels: list[str] = []
    for i, row in enumerate(rows, start=1):
        docs.append(features(tokenize(row["text"]), row.get("age")))
        labels.append(row["code"])
        if progress is not None and i % 500 == 0:
            progress(i)
    if len(set(labels)) < 2:
        raise ValueError("训练数据至少需要两个不同的科目")
    vec = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=2, norm="l2")
    x = vec.fit_transform(docs)
    clf = LogisticRegression(C=8.0, max_iter=2000)
    clf.fit(x, labels)
    vocab = {w: int(i) for w, i in vec.vocabulary_.items()}
    meta = {"n_train": len(labels), "classes": len(clf.classes_)}
    return TextModel([str(c) for c in clf.classes_], vocab, vec.idf_, clf.coef_, clf.intercept_, meta)
