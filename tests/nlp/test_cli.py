"""The NLP commands: classifying piped JSON Lines as a real process, the rest in this process
(``tests.cli_runner``)."""

import json
import os
import subprocess

from tests.cli_runner import run_bot, run_bot_process


def run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return run_bot(args, os.environ, stdin)


def test_classify_writes_one_line_per_input_and_survives_bad_lines():
    lines = [
        json.dumps({"text": "腰杆疼得直不起来", "age": 60, "sex": "M", "order_id": 7}, ensure_ascii=False),
        "this is not json",
        json.dumps({"age": 3}),
        json.dumps({"text": "心口疼，出冷汗", "age": "old"}, ensure_ascii=False),
        json.dumps(["text"]),
        "",
        json.dumps({"text": "老人心口疼，出了一身冷汗", "sex": "X"}, ensure_ascii=False),
        json.dumps({"text": "老人心口疼，出了一身冷汗"}, ensure_ascii=False),
    ]
    proc = run_bot_process(["classify"], os.environ, "\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["specialties"][0]["code"] == "04.03"
    assert set(out[0]) == {"specialties", "emergency", "emergency_reasons"}
    assert out[0]["emergency"] is False and out[0]["emergency_reasons"] == []
    for i in (1, 2, 3, 4, 5, 6):
        assert set(out[i]) == {"error"} and out[i]["error"], i
    assert out[7]["emergency"] is True and out[7]["emergency_reasons"]


def test_explain_prints_a_trace():
    proc = run(["nlp-explain", "不发烧，就是腰疼"])
    assert proc.returncode == 0, proc.stderr
    assert "分词" in proc.stdout and "04.03" in proc.stdout and "否定" in proc.stdout


def test_train_then_classify_and_eval_with_the_model(tmp_path):
    rows = []
    samples = {
        "04.03": ["腰疼", "膝盖疼", "腿疼走不了路", "颈椎不舒服"],
        "03.02": ["胃疼", "拉肚子", "肚子胀", "反酸烧心"],
        "10": ["眼睛花", "看不清", "眼睛红", "眼睛痒"],
    }
    for code, texts in samples.items():
        for t in texts:
            for k in range(3):
                rows.append({"text": f"{t}{'了' * k}", "code": code, "age": 50})
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{bad}\n", encoding="utf-8")
    model = tmp_path / "m.npz"
    proc = run(["nlp-train", "--from-jsonl", str(train), "--out", str(model)])
    assert proc.returncode == 0, proc.stderr
    assert model.is_file()

    proc = run(["classify", "--model", str(model)], json.dumps({"text": "腰疼"}, ensure_ascii=False) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["specialties"][0]["code"] == "04.03"

    proc = run(["nlp-explain", "--model", str(model), "腰疼"])
    assert "模型" in proc.stdout

    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"text": "胃疼", "accepted_codes": ["03.02"], "label": "消化"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    proc = run(["nlp-eval", str(gold), "--model", str(model)])
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["top1_fine"] == 1.0 and metrics["n"] == 1 and metrics["texts_per_second"] > 0


def test_classify_with_a_missing_model_fails_clearly(tmp_path):
    proc = run(["classify", "--model", str(tmp_path / "nope.npz")], "")
    assert proc.returncode != 0
    assert "模型" in proc.stderr


def test_help_lists_the_nlp_commands():
    proc = run(["--help"])
    for cmd in ("classify", "nlp-explain", "nlp-train", "nlp-eval"):
        assert cmd in proc.stdout


def test_explain_names_the_rule_the_words_and_the_standard_behind_a_red_flag():
    proc = run(["nlp-explain", "我爸刚才喝了敌敌畏，口吐白沫"])
    assert proc.returncode == 0, proc.stderr
    assert "急症红旗：是" in proc.stdout
    assert "规则 OP" in proc.stdout and "敌敌畏" in proc.stdout
    assert "依据：《急性有机磷农药中毒诊治临床专家共识》" in proc.stdout


def test_explain_shows_how_english_was_read():
    proc = run(["nlp-explain", "my father has chest pain and is sweating a lot"])
    assert "外文转写：" in proc.stdout and "胸痛" in proc.stdout and "急症红旗：是" in proc.stdout


def test_classify_takes_pregnancy_and_an_infant_age_from_the_order():
    lines = [
        json.dumps({"text": "头痛，看东西模糊", "sex": "F", "pregnant": True}, ensure_ascii=False),
        json.dumps({"text": "头痛，看东西模糊", "sex": "F", "age": 30}, ensure_ascii=False),
        json.dumps({"text": "发烧38度", "age": 0.1}, ensure_ascii=False),
        json.dumps({"text": "发烧38度", "age": 30}, ensure_ascii=False),
        json.dumps({"text": "头痛", "pregnant": "yes"}, ensure_ascii=False),
    ]
    out = [json.loads(x) for x in run(["classify"], "\n".join(lines) + "\n").stdout.splitlines()]
    assert [o.get("emergency") for o in out[:4]] == [True, False, True, False]
    assert "pregnant" in out[4]["error"]


def test_nlp_redflags_scores_a_case_set_and_lists_what_it_got_wrong(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "text": "喝了百草枯", "emergency": True, "lang": "zh", "category": "poison"},
        {"id": "b", "text": "想问百草枯有什么危害", "emergency": False, "lang": "zh", "category": "poison"},
        {"id": "c", "text": "头有点晕", "emergency": True, "lang": "zh", "category": "other"},
    ]) + "\n", encoding="utf-8")
    proc = run(["nlp-redflags", str(cases), "--misses"])
    result = json.loads(proc.stdout)
    assert result["recall"] == 0.5 and result["false_alarms"] == 0.0
    assert "漏报 c" in proc.stderr
