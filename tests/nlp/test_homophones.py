"""A homophone typed for a red-flag word is read as that word; ordinary words that merely sound alike are not."""

import pytest


@pytest.mark.parametrize(("typed", "rule"), [
    ("我公公雪压两百三，头好痛，讲话有点不利索", "HTN"),       # 雪压 for 血压
    ("喝了泡的乌头酒婚迷了，手脚冰冷", "ACONITE"),            # 婚迷 for 昏迷
    ("孙子喝了汽由，咳的厉害，喘气呼呼响", "CAUSTIC"),         # 汽由 for 汽油
    ("阿公吃了老书药，鼻血流不停", "RODENT"),                  # 老书药 for 老鼠药
])
def test_a_homophone_typo_of_a_danger_word_raises_the_alarm(matcher, typed, rule):
    assert rule in {h.rule_id for h in matcher.classify(typed).emergency_hits}


@pytest.mark.parametrize("text", [
    "我妈买了一些螃蟹，高血压能吃吗",          # 买了 is no typo of 埋了
    "其中读书的孩子最近睡得晚",                # 中读 straddles two words: never 中毒
    "孩子在田里玩，掉进泥水里，衣服脏了",      # 泥水 is a word of its own, never 溺水
    "我家孩子有癫痫，发作时会舌咬伤，想开点药",  # 舌咬伤 is a bitten tongue, not a snakebite
    "到现在为止也有5到6年了，最近睡不好",      # 年了 stays 年了
])
def test_words_that_only_sound_like_danger_stay_what_they_are(matcher, text):
    assert not matcher.classify(text).emergency, matcher.explain(text)


def test_explain_shows_the_reading(matcher):
    assert "同音字：我公公血压两百三" in matcher.explain("我公公雪压两百三，头好痛")
