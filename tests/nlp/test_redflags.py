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


@pytest.mark.parametrize(("acute", "calm"), [
    # What it is not, then what it is: the second is affirmed.
    ("他说不是闷痛，是像撕裂那样，痛到后背", "不是撕裂那样的痛，就是闷闷的，两年了"),
    # A comparison with the past is no history.
    ("老慢支，今天比以前喘得厉害多了，吸氧也不管用", "以前喘得厉害，现在好多了"),
    # "好像" hedges unless something follows it that it is compared with.
    ("怀孕八个月，孩子好像很久没踢她了，到晚上还是不动", "怀孕八个月，肚子好像不动了一样硬，胎动正常"),
    # A danger sign in Min (Hokkien) words.
    ("阮阿公倒落去矣，叫攏无应，喘气嘛无", "阮阿公今仔日食饭正常，想请医生看看老胃病"),
])
def test_story_reading_rules_added_for_the_fourteenth_set(matcher, acute, calm):
    assert matcher.classify(acute).emergency, acute
    assert not matcher.classify(calm).emergency, (calm, matcher.classify(calm).emergency_reasons)


def test_a_severe_finding_is_not_silenced_by_a_mild_word_about_something_else(matcher):
    assert matcher.classify("今天喘得厉害，人有点迷糊").emergency
    assert not matcher.classify("今天有点喘，爬坡的时候").emergency


def test_an_animal_patient_is_no_emergency_even_in_another_clause(matcher):
    assert not matcher.classify("家里的母羊难产，小羊卡了半天，有没有兽医可以上门").emergency
    assert not matcher.classify("家里母猪破水了，已经生了六只小猪").emergency


def test_a_denied_loss_of_consciousness_is_a_denial(matcher):
    assert not matcher.classify("站久了眼前发黑，坐下即缓解，无意识丧失，心率72").emergency
    assert matcher.classify("突然倒地，无意识，叫不醒").emergency


def test_chinese_dictated_with_a_space_after_every_word_is_read_as_one_sentence(matcher):
    assert matcher.classify("孙女 刚才 抽 了 五 分钟 现在 不 抽 了 但是 一直 睡 叫 不 醒").emergency
    assert matcher.classify("孩子 发烧 抽 了 抽完 一边 手 动 不 了").emergency


def test_blood_pressure_said_in_english_as_over(matcher):
    assert matcher.classify("my pressure 220 over 130, head bursting, chest pain").emergency
    assert not matcher.classify("my pressure was 120 over 80 this morning, just a checkup").emergency


def test_a_doctors_advice_is_no_account_of_a_diagnosis(matcher):
    assert matcher.classify("怀孕八个月，胎动太少了，昨天晚上开始都没动了，医生说要数胎动").emergency
    assert not matcher.classify("怀孕八个月，前天胎动少了，去医院医生说是正常的，现在好好的").emergency


def test_what_a_finding_is_compared_with_is_no_history(matcher):
    assert matcher.classify("生完小孩第六天，恶露突然变多了，比月经最多那天还多几倍").emergency
    assert not matcher.classify("生完小孩那天出血很多，现在恶露正常").emergency


def test_a_list_of_denied_functions_is_a_finding_not_a_denial(matcher):
    assert matcher.classify("我老伴肚子胀得像鼓一样好几天没拉也没放屁吐出来的东西臭臭的").emergency
    assert not matcher.classify("肚子有点胀，没有吐，也没有肚子痛，大便正常").emergency


@pytest.mark.parametrize("text", [
    "怀孕36周，今天宝宝动得很少，从早上到现在只动了一两下",
    "38周了，以前每天晚上都踢我，今天一点不动",
    "怀孕33周，宝宝动起来跟平常不一样了，软软的，没力气",
])
def test_fewer_or_weaker_fetal_movements_in_many_words(matcher, text):
    assert matcher.classify(text, pregnant=True).emergency, text


def test_fetal_movements_that_are_fine_are_no_emergency(matcher):
    assert not matcher.classify("我媳妇六个月了胎东很好，就是想问妇产科医生哪天来", pregnant=True).emergency
    assert not matcher.classify("怀孕六周的时候见过一点点红，就一次，现在十二周了", pregnant=True).emergency


def test_a_verb_with_its_result_denies_nothing_after_it(matcher):
    assert matcher.classify("包皮翻上去回不来了、肿得发紫、很痛").emergency
    assert not matcher.classify("否认包皮翻上去回不来、否认肿痛").emergency
