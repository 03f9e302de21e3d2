"""The second reader (nlp/reader.py): it adds an alarm the rules missed, says it is its own judgement, reads its
words in context like the rules do, and is always trained on the case sets that are in the repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.nlp import reader_training_files
from nlp.matcher import READER_REASON, READER_RULE, Matcher
from nlp.normalize import normalize
from nlp.reader import SHIPPED, SecondReader, digest, train
from tests.cli_runner import run_bot

ROOT = Path(__file__).resolve().parents[2]
BLIND = ROOT / "tests" / "nlp" / "redflag_blind"
# From dev17.jsonl (written blind): shock in Min words. No rule lists 冷吱吱, 冰冰, 面白死死 or 袂应.
UNLISTED_SHOCK = "阮老爸规身冷吱吱，手脚冰冰，面白死死，叫伊都袂应"


@pytest.fixture(scope="module")
def rules_alone(matcher) -> Matcher:
    """The shipped rules without the second reader: the process-wide matcher's dictionaries, not loaded again."""
    alone = matcher.with_model(None)
    alone._reader = None
    return alone


def test_the_reader_catches_a_story_in_words_no_rule_lists(matcher, rules_alone):
    assert not rules_alone.classify(UNLISTED_SHOCK).emergency, "a rule reads this now: pick another example"
    result = matcher.classify(UNLISTED_SHOCK)
    assert result.emergency
    assert [h.rule_id for h in result.emergency_hits] == [READER_RULE]
    assert result.emergency_reasons == (READER_REASON,)


def test_it_only_adds_an_alarm_when_no_rule_fired(matcher):
    hits = matcher.classify("突然胸口剧痛，满头大汗，喘不上气").emergency_hits
    assert hits and READER_RULE not in {h.rule_id for h in hits}


@pytest.mark.parametrize("frame", [
    "没有{}",  # denied
    "去年{}，早就好了，现在没有不舒服",  # past and over
    "如果{}，应该怎么办？",  # a hypothetical question
    "听说隔壁村有人{}",  # somebody else's story
])
def test_its_words_are_read_in_context_like_the_rules(matcher, frame):
    text = frame.format(UNLISTED_SHOCK)
    assert not matcher.classify(text).emergency, text


@pytest.mark.parametrize("text", ["嘴唇干裂起皮", "说话声音沙哑一个星期", "我妈腰腿疼好几年了", "阿公想配副老花镜"])
def test_everyday_needs_in_family_words_raise_no_alarm(matcher, text):
    assert not matcher.classify(text).emergency, text


def test_the_shipped_weights_were_trained_on_the_case_sets_in_the_repository():
    """Adding or changing a tuning set without `python -m bot nlp-reader-train` fails here."""
    reader = SecondReader.load()
    assert reader is not None, SHIPPED
    files, ordinary = reader_training_files()
    assert reader.meta["cases"].split() == [f.name for f in files]
    if not ordinary.exists():
        pytest.skip(f"普通问诊文件不存在：{ordinary}（CI 需把 shared/ 放在仓库旁边）")
    assert reader.meta["trained_on"] == digest([*files, ordinary]), "重新训练：python -m bot nlp-reader-train"


def test_the_held_out_half_is_never_trained_on():
    assert "heldout.jsonl" not in SecondReader.load().meta["cases"].split()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="heldout"):
        reader_training_files([str(BLIND / "heldout.jsonl")])
    proc = run_bot(["nlp-reader-train", "--cases", str(BLIND / "heldout.jsonl"), "--out", "/dev/null"], os.environ)
    assert proc.returncode == 2 and "留出集" in proc.stderr


def test_training_is_repeatable_and_learns_from_its_cases(tmp_path):
    rows = [json.loads(line) for line in (BLIND / "dev16.jsonl").read_text(encoding="utf-8").splitlines()][:400]
    data = [(normalize(r["text"]), bool(r["emergency"])) for r in rows]
    first, second = train(data, epochs=3), train(data, epochs=3)
    assert first.weights == second.weights and first.bias == second.bias
    first.save(tmp_path / "w.tsv")
    loaded = SecondReader.load(tmp_path / "w.tsv")
    assert loaded is not None and loaded.weights == first.weights
    acute = [loaded.read(t).probability for t, a in data if a]
    calm = [loaded.read(t).probability for t, a in data if not a]
    assert sum(acute) / len(acute) > sum(calm) / len(calm) + 0.3


def test_a_weights_file_of_another_kind_is_refused(tmp_path):
    (tmp_path / "w.tsv").write_text("@format\tsomething-else\n@bias\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="第二读者"):
        SecondReader.load(tmp_path / "w.tsv")
    assert SecondReader.load(tmp_path / "missing.tsv") is None


def test_explain_says_it_is_the_second_reader_and_on_which_words():
    proc = run_bot(["nlp-explain", UNLISTED_SHOCK], os.environ)
    assert proc.returncode == 0, proc.stderr
    assert "第二读者（不是规则）" in proc.stdout and "命中词：" in proc.stdout and "请当面核实" in proc.stdout
