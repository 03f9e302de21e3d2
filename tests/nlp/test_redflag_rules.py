"""Every red-flag rule, four ways: its own positive fires it; a denial, a past episode and a hypothetical do not.

The positives live in ``redflag_rule_cases.tsv`` (one per rule); a rule added without a case fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.resources import shipped_data

CASES = Path(__file__).with_name("redflag_rule_cases.tsv")


def _cases() -> list[tuple[str, str, float | None, bool, bool]]:
    out = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = [*line.split("\t"), "", "", ""][:5]
        rule, text, age, pregnant, postpartum = cols
        out.append((rule, text, float(age) if age else None, pregnant == "是", postpartum == "是"))
    return out


CASE_LIST = _cases()
IDS = [c[0] for c in CASE_LIST]


def _classify(matcher, text, age, pregnant, postpartum):
    return matcher.classify(text, age=age, pregnant=pregnant, postpartum=postpartum)


def test_every_rule_has_a_case_and_every_case_a_rule():
    rules = {r.rule_id for r in shipped_data().redflags}
    assert set(IDS) == rules


@pytest.mark.parametrize(("rule", "text", "age", "pregnant", "postpartum"), CASE_LIST, ids=IDS)
def test_the_positive_fires_its_rule(matcher, rule, text, age, pregnant, postpartum):
    result = _classify(matcher, text, age, pregnant, postpartum)
    assert rule in {h.rule_id for h in result.emergency_hits}, (text, [h.rule_id for h in result.emergency_hits])
    assert result.emergency


@pytest.mark.parametrize(("rule", "text", "age", "pregnant", "postpartum"), CASE_LIST, ids=IDS)
def test_a_denial_does_not_fire(matcher, rule, text, age, pregnant, postpartum):
    denied = "否认" + text
    assert rule not in {h.rule_id for h in _classify(matcher, denied, age, pregnant, postpartum).emergency_hits}


@pytest.mark.parametrize(("rule", "text", "age", "pregnant", "postpartum"), CASE_LIST, ids=IDS)
def test_a_past_episode_does_not_fire(matcher, rule, text, age, pregnant, postpartum):
    past = f"去年{text}，早就好了，现在没有不舒服"
    assert not _classify(matcher, past, age, pregnant, postpartum).emergency, past


@pytest.mark.parametrize(("rule", "text", "age", "pregnant", "postpartum"), CASE_LIST, ids=IDS)
def test_a_hypothetical_question_does_not_fire(matcher, rule, text, age, pregnant, postpartum):
    question = f"如果{text}，应该怎么办？"
    assert not _classify(matcher, question, age, pregnant, postpartum).emergency, question


def test_an_age_of_zero_from_a_birth_year_means_under_one_not_newborn(matcher):
    """An order born this year says the baby is under one, not how many weeks: fever alone is a young infant's red
    flag only when the text (or a fractional age) says the baby is that young."""
    assert not matcher.classify("发烧38度5", age=0).emergency
    assert matcher.classify("发烧38度5", age=0.1).emergency
    assert matcher.classify("两个月大，发烧38度5", age=0).emergency
    assert matcher.classify("不吃奶，发烧", age=0).emergency
