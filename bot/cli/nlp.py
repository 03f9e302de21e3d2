"""NLP commands: classify, nlp-explain, nlp-train, nlp-eval, nlp-redflags, nlp-reader-train."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from domain.errors import DomainError

_PROGRESS_EVERY = 2000
_ROOT = Path(__file__).resolve().parents[2]
_BLIND_DIR = _ROOT / "tests" / "nlp" / "redflag_blind"
_ORDINARY = _ROOT.parent / "shared" / "eval" / "dev.jsonl"
_READER_OUT = _ROOT / "nlp" / "data" / "redflag_reader.tsv"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the NLP sub-commands."""
    p = sub.add_parser("classify", help="按 JSON Lines 逐行推荐专科并检查急症（stdin → stdout）")
    p.add_argument("--model", help="训练好的模型文件（nlp-train 的输出），与词典融合")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("nlp-explain", help="显示一段文字的分词、命中词、否定和得分")
    p.add_argument("text", help="要解释的文字")
    p.add_argument("--age", type=float, help="年龄（岁；婴儿可写小数，如 0.25）")
    p.add_argument("--pregnant", action="store_true", help="孕期")
    p.add_argument("--postpartum", action="store_true", help="产后")
    p.add_argument("--sex", choices=("M", "F"), help="性别")
    p.add_argument("--model", help="训练好的模型文件")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("nlp-redflags", help="在急症案例集上评估红旗（召回率、误报率，按类别、语言），可列出漏报与误报")
    p.add_argument("file", help='JSON Lines，每行 {"text", "emergency", "age"?, "sex"?, "pregnant"?, "postpartum"?}')
    p.add_argument("--misses", action="store_true", help="把漏报和误报逐条写到 stderr")
    p.set_defaults(func=cmd_redflags)

    p = sub.add_parser("nlp-reader-train", help="用冻结的盲写急症案例集和普通问诊重新训练急症第二读者")
    p.add_argument("--cases", nargs="+", metavar="FILE",
                   help=f"急症案例集（默认 {_BLIND_DIR.relative_to(_ROOT)} 下全部 dev*.jsonl；从不读 heldout）")
    p.add_argument("--ordinary", metavar="FILE", default=str(_ORDINARY),
                   help="不是急症的真实问诊，JSON Lines，每行 {\"text\"}（默认 ../shared/eval/dev.jsonl）")
    p.add_argument("--out", default=str(_READER_OUT), help="权重输出路径（默认仓库里的 nlp/data/redflag_reader.tsv）")
    p.set_defaults(func=cmd_reader_train)

    p = sub.add_parser("nlp-train", help="用已确认的订单训练文本分类模型")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-orders", action="store_true", help="从数据库中已确认的订单读取")
    src.add_argument("--from-jsonl", metavar="FILE", help='JSON Lines 文件，每行 {"text", "code", "age"?}')
    p.add_argument("--out", required=True, help="模型输出路径（不要放在代码仓库里）")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("nlp-eval", help="在带标注的 JSON Lines 上评估（与 shared/eval/score.py 同样的指标）")
    p.add_argument("file", help='JSON Lines，每行 {"text", "accepted_codes" 或 "code", "label"?}')
    p.add_argument("--model", help="训练好的模型文件")
    p.set_defaults(func=cmd_eval)


def _progress(label: str, done: int, total: int | None = None) -> None:
    suffix = f"/{total}" if total else ""
    print(f"{label}：{done}{suffix}", file=sys.stderr, flush=True)


def _parse_request(line: str) -> tuple[str, float | None, str | None, bool, bool]:
    """Validate one classify input line; raises ValueError with a readable message."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"不是合法的 JSON：{e.msg}") from None
    if not isinstance(obj, dict):
        raise ValueError("每行应为 JSON 对象")
    text = obj.get("text")
    if not isinstance(text, str):
        raise ValueError("缺少字符串字段 text")
    age = obj.get("age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int | float) or not 0 <= age <= 130):
        raise ValueError("age 应为 0–130 的数（岁；婴儿可写小数，如 0.25 即三个月）")
    sex = obj.get("sex")
    if sex is not None and sex not in ("M", "F"):
        raise ValueError('sex 应为 "M" 或 "F"')
    flags = []
    for key in ("pregnant", "postpartum"):
        value = obj.get(key)
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{key} 应为 true 或 false")
        flags.append(bool(value))
    return text, age, sex, flags[0], flags[1]


def _load(model: str | None) -> Any:
    from nlp import load_matcher

    if model is not None and not Path(model).is_file():
        raise DomainError("nlp.no_model", path=model)
    return load_matcher(model)


def cmd_classify(args: argparse.Namespace) -> int:
    """Read JSON Lines on stdin, write one result line per input line."""
    matcher = _load(args.model)
    out: TextIO = sys.stdout
    for n, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            result: dict[str, Any] = {"error": "空行"}
        else:
            try:
                text, age, sex, pregnant, postpartum = _parse_request(line)
                result = matcher.classify(text, age=age, sex=sex, pregnant=pregnant,
                                          postpartum=postpartum).to_json()
            except ValueError as e:
                result = {"error": str(e)}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        if n % _PROGRESS_EVERY == 0:
            _progress("已处理", n)  # stderr only: stdout stays one JSON line per input line
    out.flush()
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Print a human-readable trace for one text."""
    print(_load(args.model).explain(args.text, age=args.age, sex=args.sex, pregnant=args.pregnant,
                                    postpartum=args.postpartum))
    return 0


def _jsonl_rows(path: str) -> Iterator[dict]:
    from domain.specialties import catalogue

    cat = catalogue()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                print(f"{path}:{lineno}: 跳过非 JSON 行", file=sys.stderr)
                continue
            text, code = row.get("text"), row.get("code")
            age = row.get("age")
            if not isinstance(text, str) or not isinstance(code, str) or code not in cat:
                print(f"{path}:{lineno}: 跳过（缺少 text 或 code 不在诊疗科目名录中）", file=sys.stderr)
                continue
            if not isinstance(age, int) or isinstance(age, bool):
                age = None
            yield {"text": text, "code": code, "age": age}


def cmd_train(args: argparse.Namespace) -> int:
    """Train the text classifier from confirmed orders or a JSON Lines file and write the model."""
    from nlp import load_matcher
    from nlp.model import train

    if args.from_orders:
        try:
            from bot.bootstrap import confirmed_order_examples
        except ImportError as e:
            print(f"无法读取已确认订单（bot.bootstrap.confirmed_order_examples 不可用：{e}）", file=sys.stderr)
            return 2
        rows = list(confirmed_order_examples())
    else:
        rows = list(_jsonl_rows(args.from_jsonl))
    if not rows:
        raise DomainError("nlp.no_examples")
    matcher = load_matcher()
    started = time.perf_counter()
    try:
        model = train(rows, matcher.tokens, progress=lambda i: _progress("分词", i, len(rows)))
    except ValueError as e:
        raise DomainError("nlp.cannot_train", reason=str(e)) from None
    model.meta["trained_seconds"] = round(time.perf_counter() - started, 1)
    model.save(args.out)
    print(f"已训练 {len(rows)} 条样本、{len(model.classes)} 个科目，模型写入 {args.out}", file=sys.stderr)
    return 0


def _accepted(code: str | None, gold: list[str], top: bool = False) -> bool:
    # Same rule as shared/eval/score.py: equal to an accepted code or beneath it.
    if not code:
        return False
    if top:
        return code.split(".")[0] in {g.split(".")[0] for g in gold}
    return any(code == g or code.startswith(g + ".") for g in gold)


def evaluate(matcher: Any, rows: list[dict], progress: bool = True) -> dict[str, Any]:
    """The score.py metrics (overall and per label) plus throughput, for labelled rows."""
    from collections import defaultdict

    total: dict[str, float] = defaultdict(float)
    per_label: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    started = time.perf_counter()
    for i, row in enumerate(rows, start=1):
        res = matcher.classify(row["text"], age=row.get("age"), sex=row.get("sex"))
        codes = [s.code for s in res.specialties][:3]
        acc = row["accepted_codes"]
        scores = {
            "top1_fine": _accepted(codes[0] if codes else None, acc),
            "top3_fine": any(_accepted(c, acc) for c in codes),
            "top1_top": _accepted(codes[0] if codes else None, acc, top=True),
            "top3_top": any(_accepted(c, acc, top=True) for c in codes),
            "emergency_flagged": res.emergency,
        }
        label = row.get("label") or "/".join(acc)
        for k, v in scores.items():
            total[k] += v
            per_label[label][k] += v
        per_label[label]["n"] += 1
        if progress and i % 2000 == 0:
            _progress("已评估", i, len(rows))
    elapsed = time.perf_counter() - started
    n = len(rows)
    out: dict[str, Any] = {k: round(v / n, 4) for k, v in total.items()}
    out["n"] = n
    out["per_label"] = {
        label: {k: (round(v / d["n"], 3) if k != "n" else int(v)) for k, v in d.items()}
        for label, d in sorted(per_label.items(), key=lambda kv: -kv[1]["n"])
    }
    out["texts_per_second"] = round(n / elapsed, 1) if elapsed > 0 else None
    out["used_model"] = bool(getattr(matcher, "has_model", False))
    return out


def score_redflags(matcher: Any, rows: list[dict]) -> dict[str, Any]:
    """Recall on the acute rows and false alarms on the others, overall, per category and per language."""
    from collections import defaultdict

    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: list[dict] = []
    for row in rows:
        res = matcher.classify(row["text"], age=row.get("age"), sex=row.get("sex"),
                               pregnant=bool(row.get("pregnant")), postpartum=bool(row.get("postpartum")))
        acute = bool(row["emergency"])
        for key in ("all", f"category:{row.get('category', '?')}", f"lang:{row.get('lang', '?')}"):
            c = counts[key]
            c["acute" if acute else "near"] += 1
            if res.emergency:
                c["flagged_acute" if acute else "flagged_near"] += 1
        if res.emergency != acute:
            misses.append({"id": row.get("id"), "emergency": acute, "text": row["text"],
                           "rules": [h.rule_id for h in res.emergency_hits]})

    def rates(c: dict[str, int]) -> dict[str, Any]:
        return {
            "acute": c["acute"], "near_misses": c["near"],
            "recall": round(c["flagged_acute"] / c["acute"], 4) if c["acute"] else None,
            "false_alarms": round(c["flagged_near"] / c["near"], 4) if c["near"] else None,
        }

    out: dict[str, Any] = rates(counts.pop("all"))
    out["by_language"] = {k[5:]: rates(v) for k, v in sorted(counts.items()) if k.startswith("lang:")}
    out["by_category"] = {k[9:]: rates(v) for k, v in sorted(counts.items()) if k.startswith("category:")}
    out["wrong"] = misses
    return out


def reader_training_files(cases: list[str] | None = None, ordinary: str | None = None) -> tuple[list[Path], Path]:
    """The case sets and the ordinary questions the second reader trains on (the held-out half never)."""
    files = [Path(f) for f in cases] if cases else sorted(_BLIND_DIR.glob("dev*.jsonl"))
    if any("heldout" in f.name for f in files):
        raise ValueError("留出集（heldout）只用来评分，不能用来训练。")
    return files, Path(ordinary) if ordinary else _ORDINARY


_EVERYDAY_COURSES = ("", "一个星期了", "三天了", "好几年了", "最近", "有点", "老是", "两个月了")


def everyday_needs() -> list[str]:
    """Short everyday needs made of the specialty lexicon's words, alone or with a time course ("声音嘶哑一个星期了"),
    on which no rule fires: what village doctors file every day, so the second reader learns that a word of the
    lexicon is no emergency by itself (the ordinary questions it also learns from are long)."""
    from nlp.matcher import Matcher
    from nlp.resources import shipped_data

    data = shipped_data()
    rules = Matcher(data)  # the rules alone
    terms = sorted({e.term for e in data.lexicon})
    out = []
    for i, term in enumerate(terms):
        for course in (_EVERYDAY_COURSES[0], _EVERYDAY_COURSES[1 + i % (len(_EVERYDAY_COURSES) - 1)]):
            text = course + term if course in ("最近", "有点", "老是") else term + course
            if not rules.classify(text).emergency:
                out.append(text)
    return out


def cmd_reader_train(args: argparse.Namespace) -> int:
    """Train the second reader on the frozen tuning sets and ordinary questions; write its weights file."""
    from nlp.normalize import normalize
    from nlp.reader import digest, train

    try:
        files, ordinary = reader_training_files(args.cases, args.ordinary)
    except ValueError as e:
        raise DomainError("nlp.cannot_train", reason=str(e)) from None
    missing = [str(f) for f in [*files, ordinary] if not f.is_file()]
    if missing or not files:
        raise DomainError("cli.no_such_file", path="、".join(missing) or str(args.cases))
    def read(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    cases = [(normalize(r["text"])[:2000], bool(r["emergency"])) for f in files for r in read(f)]
    plain = [(normalize(r["text"])[:2000], False) for r in read(ordinary)]
    everyday = [(normalize(t), False) for t in everyday_needs()]
    acute = sum(a for _, a in cases)
    print(f"{len(files)} 个案例集：急症 {acute} 条、近似非急症 {len(cases) - acute} 条；普通问诊 {len(plain)} 条；"
          f"词典里的日常需求 {len(everyday)} 条", file=sys.stderr)
    rows = cases + plain + everyday
    started = time.perf_counter()
    reader = train(rows, progress=lambda i: _progress("训练轮次", i, 8))
    reader.meta["trained_on"] = digest([*files, ordinary])
    reader.meta["cases"] = " ".join(f.name for f in files)
    reader.meta["ordinary"] = ordinary.name
    reader.meta["rows"] = str(len(rows))
    reader.save(Path(args.out))
    print(json.dumps({"rows": len(rows), "acute": acute, "weights": len(reader.weights),
                      "seconds": round(time.perf_counter() - started, 1), "out": args.out}, ensure_ascii=False))
    return 0


def cmd_redflags(args: argparse.Namespace) -> int:
    """Score the red-flag detector on a labelled case set and print the figures as JSON."""
    rows = read_labelled(args.file)
    if not rows:
        raise DomainError("nlp.empty_file", path=args.file)
    result = score_redflags(_load(None), rows)
    wrong = result.pop("wrong")
    if args.misses:
        for w in wrong:
            kind = "漏报" if w["emergency"] else "误报"
            print(f"{kind} {w['id']} {'/'.join(w['rules']) or '-'}：{w['text']}", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


def read_labelled(path: str) -> list[dict]:
    """Rows with ``accepted_codes`` (a ``code`` field is accepted as a one-element list)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise DomainError("nlp.bad_json", path=path, line=n) from None
            if "accepted_codes" not in row and isinstance(row.get("code"), str):
                row["accepted_codes"] = [row["code"]]
            rows.append(row)
    return rows


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the matcher on a labelled JSON Lines file and print the metrics as JSON."""
    rows = read_labelled(args.file)
    if not rows:
        raise DomainError("nlp.empty_file", path=args.file)
    result = evaluate(_load(args.model), rows)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0
