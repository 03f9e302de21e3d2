"""The tokenizer's own word-graph walk cuts every text exactly as jieba does (it is only faster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp import Matcher
from nlp.normalize import normalize

BLIND = Path(__file__).resolve().parent / "redflag_blind"

# Texts where jieba's rules beyond the word graph show: runs of Latin letters and digits glued into one token,
# whitespace kept as its own token, punctuation and symbols cut one by one, "\r\n" as one piece, empty input.
EDGES = [
    "", " ", "\t\n", "a b\r\nc  d", "血压180/110mmhg", "bp 190/120 hr140", "4.5% 的 x-y", "#&._%-", "ct和b超做了",
    "😷🤒 发烧咳嗽三天了 🙏", "ａｂｃ全角", "xiong kou teng, chu leng han", "孩子3岁半，39.5度", "。。。！！！",
]


def _texts() -> list[str]:
    texts = list(EDGES)
    for path in sorted(BLIND.glob("dev*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            texts += [text, normalize(text)]
    return texts


def test_cut_equals_jieba_on_every_tuning_text_and_the_edges(matcher: Matcher) -> None:
    tokenizer = matcher._tokenizer
    texts = _texts()
    assert len(texts) > 10_000
    different = [t for t in texts if tokenizer.cut(t) != list(tokenizer._tok.cut(t, HMM=False))]
    assert different == []


def test_a_word_added_later_is_cut_with_the_new_totals() -> None:
    from nlp.tokenizer import MedicalTokenizer

    tokenizer = MedicalTokenizer(["心口疼"])
    before = tokenizer.cut("老人心口疼得厉害，喘不上气")
    assert "心口疼" in before
    tokenizer._tok.add_word("喘不上气", 50_000)  # changes jieba's total: cached log frequencies must follow
    after = tokenizer.cut("老人心口疼得厉害，喘不上气")
    assert "喘不上气" in after
    assert after == list(tokenizer._tok.cut("老人心口疼得厉害，喘不上气", HMM=False))


@pytest.mark.parametrize("text", ["头疼", "血压 180/110", "english only"])
def test_cut_is_a_list_of_the_whole_text(matcher: Matcher, text: str) -> None:
    tokens = matcher._tokenizer.cut(text)
    assert "".join(tokens) == text
