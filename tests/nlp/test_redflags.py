import pytest
from redflag_cases import ACUTE, NOT_ACUTE


@pytest.mark.parametrize(("group", "text", "age"), [(g, t, a) for g, cases in ACUTE.items() for t, a in cases])
def test_acute_presentation_is_flagged(matcher, group, text, age):
    result = matcher.classify(text, age=age)
    assert result.emergency, f"{group}: {text}"
    assert result.emergency_reasons and all(isinstance(r, str) and r for r in result.emergency_reasons)


@pytest.mark.parametrize(("text", "age"), NOT_ACUTE)
def test_look_alike_is_not_flagged(matcher, text, age):
    result = matcher.classify(text, age=age)
    assert not result.emergency, (text, result.emergency_reasons)


def test_recall_and_false_alarm_rates_meet_the_targets(matcher):
    acute = [(t, a) for cases in ACUTE.values() for t, a in cases]
    recall = sum(matcher.classify(t, age=a).emergency for t, a in acute) / len(acute)
    false_alarms = sum(matcher.classify(t, age=a).emergency for t, a in NOT_ACUTE) / len(NOT_ACUTE)
    assert recall >= 0.97
    assert false_alarms <= 0.05


@pytest.mark.parametrize("negation", ["没有", "没", "无", "不", "否认", "未"])
def test_each_negation_form_silences_a_red_flag(matcher, negation):
    assert not matcher.classify(f"{negation}呼吸困难").emergency
    assert matcher.classify("呼吸困难").emergency


@pytest.mark.parametrize("history", ["去年", "以前", "小时候", "曾经", "前年"])
def test_each_history_form_silences_a_red_flag(matcher, history):
    assert not matcher.classify(f"{history}抽搐过一次").emergency


def test_history_is_lifted_by_a_now_word(matcher):
    assert matcher.classify("以前有过癫痫，今天又抽搐了").emergency


def test_mild_wording_silences_only_soft_flags(matcher):
    assert not matcher.classify("有点喘不上气").emergency
    assert matcher.classify("有点叫不醒").emergency


def test_reasons_are_human_readable_chinese(matcher):
    reasons = matcher.classify("老人心口疼，出了一身冷汗，嘴唇发紫").emergency_reasons
    assert any("心肌梗死" in r for r in reasons)
    assert any("发紫" in r for r in reasons)


def test_infant_danger_sign_uses_the_order_age(matcher):
    assert matcher.classify("不吃奶，发烧", age=0).emergency
    assert not matcher.classify("不吃奶，发烧", age=30).emergency
