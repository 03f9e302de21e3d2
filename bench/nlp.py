"""Benchmark the specialty matcher: texts/s (lexicon alone, with a model), load time and RSS, as JSON.

Run: python bench/nlp.py [--dev ../shared/eval/dev.jsonl]. Single-threaded, one text per call (the way the
conversation handlers call it). A model is trained on the fly into a temp dir when the dev set is present.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Short village-style complaints (8–25 characters), the main workload of the chat handlers.
SHORT = [
    "老人心口疼，晚上喘不上气", "娃娃拉肚子三天了", "腰杆疼得直不起来", "眼睛花，看不清字", "耳朵嗡嗡响，听不清",
    "老寒腿，下雨天膝盖疼", "身上起疙瘩，很痒", "尿不尽，晚上起夜多", "身上没劲，不想吃饭", "牙疼得睡不着觉",
    "嗓子疼，咽口水都疼", "头晕，血压有点高", "胃胀反酸，吃不下饭", "咳嗽有痰一个星期了", "月经推迟，肚子疼",
    "怀孕三个月，孕吐厉害", "乳房有个硬块", "大便出血，肛门疼", "脖子粗，心慌手抖", "孩子发烧咳嗽两天",
    "鼻子不通气，老流鼻涕", "手脚发麻，走路不稳", "晚上睡不着，心情不好", "脸上长痘痘", "肩膀疼抬不起来",
]


def rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024 / (1024 if sys.platform == "darwin" else 1), 1)


def throughput(fn, texts: list[str], min_seconds: float = 2.0, rounds: int = 5) -> float:
    """Texts per second calling ``fn`` once per text: the median of ``rounds`` rounds of ``min_seconds / rounds``
    each (one round alone swings by a quarter on a shared virtual machine)."""
    for t in texts[:50]:
        fn(t)  # warm-up
    rates = []
    for _ in range(rounds):
        n = 0
        started = time.perf_counter()
        while True:
            for t in texts:
                fn(t)
            n += len(texts)
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds / rounds:
                rates.append(n / elapsed)
                break
    return round(statistics.median(rates), 1)


def main() -> int:
    """Print the benchmark figures as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    started = time.perf_counter()
    from nlp import load_matcher

    matcher = load_matcher()
    load_seconds = round(time.perf_counter() - started, 3)
    out: dict = {"load_seconds": load_seconds, "mode": "single text per call, one core"}
    out["lexicon_short_texts_per_s"] = throughput(matcher.classify, SHORT, args.seconds)
    tok = matcher._tokenizer._tok  # raw jieba on the same texts, for comparison with the matcher's cost
    out["raw_jieba_short_texts_per_s"] = throughput(lambda t: list(tok.cut(t, HMM=False)), SHORT, args.seconds)

    # The red flags alone, and on English and pinyin (read through the language bridge) after its first use.
    from nlp.normalize import normalize

    detector = matcher._redflags
    normalised = [normalize(t) for t in SHORT]
    out["redflags_short_texts_per_s"] = throughput(detector.detect, normalised, args.seconds)
    reader = matcher._reader  # the second reader alone (part of every classify where no rule fired)
    if reader is not None:
        out["second_reader_short_texts_per_s"] = throughput(reader.read, normalised, args.seconds)
    foreign = ["my father has chest pain and is sweating a lot", "xiong kou teng, chu leng han",
               "wo ba shuo hua bu qing chu zui wai le", "baby is 6 weeks old, very cold and floppy"]
    started = time.perf_counter()
    matcher.classify(foreign[1])
    out["pinyin_tables_seconds"] = round(time.perf_counter() - started, 3)
    out["foreign_texts_per_s"] = throughput(matcher.classify, foreign, args.seconds)
    from bot.cli.nlp import score_redflags

    blind = ROOT / "tests" / "nlp" / "redflag_blind"
    for path in sorted(blind.glob("*.jsonl")):
        cases = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        score = score_redflags(matcher, cases)
        out[f"redflags_{path.stem}"] = {"recall": score["recall"], "false_alarms": score["false_alarms"]}

    dev = Path(args.dev)
    if dev.is_file():
        rows = [json.loads(x) for x in dev.read_text(encoding="utf-8").splitlines() if x.strip()]
        texts = [r["text"] for r in rows]
        out["dev_mean_chars"] = round(sum(map(len, texts)) / len(texts), 1)
        out["lexicon_dev_texts_per_s"] = throughput(matcher.classify, texts[:3000], args.seconds)
        out["ordinary_consultations_flagged"] = round(sum(matcher.classify(t).emergency for t in texts) / len(texts), 4)
        out["rss_mb_lexicon"] = rss_mb()
        with tempfile.TemporaryDirectory() as tmp:
            # Train in a child process so scikit-learn's memory does not count against the serving process.
            train_file = os.path.join(tmp, "train.jsonl")
            with open(train_file, "w", encoding="utf-8") as fh:
                for r in rows[::2]:
                    fh.write(json.dumps({"text": r["text"], "code": r["accepted_codes"][0]}, ensure_ascii=False))
                    fh.write("\n")
            path = os.path.join(tmp, "bench-model.npz")
            subprocess.run([sys.executable, "-m", "bot", "nlp-train", "--from-jsonl", train_file, "--out", path],
                           cwd=ROOT, check=True, capture_output=True)
            started = time.perf_counter()
            with_model = load_matcher(path)
            out["model_load_seconds"] = round(time.perf_counter() - started, 3)
            out["model_short_texts_per_s"] = throughput(with_model.classify, SHORT, args.seconds)
            out["model_dev_texts_per_s"] = throughput(with_model.classify, texts[:3000], args.seconds)
    out["rss_mb"] = rss_mb()
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
