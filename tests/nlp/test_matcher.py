import time

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import Classification, load_matcher


def top(matcher, text, **kw) -> str:
    return matcher.classify(text, **kw).specialties[0].code


def codes(matcher, text, **kw) -> list[str]:
    return [s.code for s in matcher.classify(text, **kw).specialties]


# -- colloquial complaints from village posts ------------------------------------------------------

def test_colloquial_complaints_reach_the_right_specialty(matcher):
    assert top(matcher, "腰杆疼得直不起来") == "04.03"
    assert top(matcher, "眼睛花，看不清字") == "10"
    assert top(matcher, "耳朵嗡嗡响") == "11.01"
    assert top(matcher, "老寒腿，下雨天膝盖疼") == "04.03"
    assert top(matcher, "身上起疙瘩，痒得很") == "13"
    assert top(matcher, "尿不尽，晚上起夜好几次", sex="M") == "04.04"
    assert top(matcher, "牙疼得睡不着") == "12"
    assert top(matcher, "嗓子疼，咽口水都疼") == "11.03"
    assert top(matcher, "老是心慌，血压高") == "03.04"
    assert top(matcher, "胃胀，反酸，烧心") == "03.02"


def test_matched_words_explain_the_choice(matcher):
    best = matcher.classify("老人心口疼，胸闷气短").specialties[0]
    assert best.code == "03.04"
    assert "心口疼" in best.matched


def test_at_most_three_specialties_best_first(matcher):
    result = matcher.classify("头疼咳嗽拉肚子腰疼眼睛红牙疼")
    assert 1 <= len(result.specialties) <= 3
    scores = [s.score for s in result.specialties]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)


# -- negation --------------------------------------------------------------------------------------

def test_negated_symptoms_do_not_count(matcher):
    assert top(matcher, "不发烧，没有胸痛，就是咳嗽") == "03.01"
    assert "03.04" not in codes(matcher, "没有胸痛，咳嗽有痰")


def test_every_negation_word_is_honoured(matcher):
    for text in ("不胸痛", "没胸痛", "没有胸痛", "无胸痛", "否认胸痛", "未见胸痛"):
        assert "03.04" not in codes(matcher, text + "，腰疼"), text


def test_negation_ends_at_a_contrast_word(matcher):
    assert top(matcher, "不咳嗽，但是胸口疼") == "03.04"


def test_words_that_only_look_negative_are_not_negations(matcher):
    assert top(matcher, "不知道为什么总是头晕") == "03.03"


# -- history -----------------------------------------------------------------------------------------

def test_history_weighs_less_than_the_current_complaint(matcher):
    assert top(matcher, "以前得过胃炎，现在腰疼") == "04.03"
    assert top(matcher, "去年咳嗽住过院，这几天牙疼") == "12"


def test_resolved_complaints_weigh_least(matcher):
    assert top(matcher, "胃痛已经好了，膝盖疼") == "04.03"


# -- body part + symptom ----------------------------------------------------------------------------

def test_head_with_injury_goes_to_neurosurgery_and_head_with_dizziness_to_neurology(matcher):
    assert top(matcher, "头被撞了一下，外伤") == "04.02"
    assert top(matcher, "头有点晕") == "03.03"


def test_body_part_and_symptom_combine_across_words(matcher):
    assert top(matcher, "腰这几天一直疼") == "04.03"
    assert top(matcher, "肚子一直疼") == "03.02"
    assert top(matcher, "乳房有个硬块") == "04.01"
    assert top(matcher, "肛门疼，有点出血") in ("04.01", "50.11")


def test_a_negated_symptom_does_not_combine(matcher):
    assert "03.03" not in codes(matcher, "头不疼，膝盖疼")[:1]


# -- population cues --------------------------------------------------------------------------------

def test_a_child_by_age_goes_to_paediatrics(matcher):
    assert top(matcher, "咳嗽发烧三天", age=4).startswith("07")
    assert top(matcher, "拉肚子", age=2) == "07.03"
    assert top(matcher, "咳嗽发烧三天", age=40) == "03.01"


def test_a_child_by_words_goes_to_paediatrics(matcher):
    assert top(matcher, "娃娃拉肚子三天了").startswith("07")
    assert top(matcher, "宝宝咳嗽有痰").startswith("07")


def test_an_age_in_the_text_counts(matcher):
    assert top(matcher, "我儿子3岁，咳嗽").startswith("07")
    assert not top(matcher, "孩子今年25岁，咳嗽").startswith("07")


def test_pregnancy_brings_obstetrics(matcher):
    assert "05.02" in codes(matcher, "怀孕五个月，腰疼")
    assert top(matcher, "怀孕了，孕吐厉害") == "05.02"


def test_sex_steers_away_from_gynaecology_for_men(matcher):
    assert not top(matcher, "下腹痛", sex="M").startswith("05")


# -- normalisation in the matcher --------------------------------------------------------------------

def test_traditional_and_full_width_input_match_like_simplified(matcher):
    assert top(matcher, "頭暈，睡不好") == "03.03"
    assert top(matcher, "ＨＢＶ阳性，肝功能异常") in ("16.03", "03.02")


# -- fallback and robustness --------------------------------------------------------------------------

def test_meaningless_input_falls_back_to_general_practice_with_low_confidence(matcher):
    for text in ("", "   ", "😀😀😀", "hello world", "SELECT * FROM orders; DROP TABLE x;--", "こんにちは", "。。。"):
        result = matcher.classify(text)
        assert [s.code for s in result.specialties] == ["02"], text
        assert result.low_confidence
        assert not result.emergency


def test_very_long_input_is_handled_quickly(matcher):
    started = time.perf_counter()
    result = matcher.classify("腰疼" * 5000)
    assert result.specialties[0].code == "04.03"
    assert time.perf_counter() - started < 1.0


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_classify_never_raises(text):
    result = load_matcher().classify(text)
    assert isinstance(result, Classification)
    assert 1 <= len(result.specialties) <= 3


def test_to_json_has_exactly_the_classify_line_format(matcher):
    out = matcher.classify("胸闷气短，心慌", age=60, sex="F").to_json()
    assert set(out) == {"specialties", "emergency", "emergency_reasons"}
    first = out["specialties"][0]
    assert set(first) == {"code", "name", "score", "matched"}
    assert first["code"] == "03.04" and first["name"] == "心血管内科"
    assert isinstance(first["score"], float) and isinstance(first["matched"], list)


def test_result_is_frozen_and_reports_no_model(matcher):
    result = matcher.classify("咳嗽")
    assert result.used_model is False
    try:
        result.emergency = True  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("Classification must be frozen")


def test_load_matcher_is_cached_per_model_path():
    assert load_matcher() is load_matcher(None)


def test_explain_shows_tokens_matches_negations_and_scores(matcher):
    text = matcher.explain("去年胸痛住过院，现在没有发烧，就是腰疼")
    assert "分词" in text and "腰疼" in text
    assert "否定" in text and "既往" in text
    assert "04.03" in text and "得分" in text
