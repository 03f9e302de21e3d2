from nlp.normalize import normalize


def test_traditional_characters_become_simplified():
    assert normalize("頭很痛，肚子脹") == "头很痛，肚子胀"


def test_full_width_ascii_becomes_half_width_and_lower_case():
    assert normalize("ＨＢＶ－ＤＮＡ　１２３") == "hbv-dna 123"


def test_repeated_punctuation_collapses_to_one():
    assert normalize("疼！！！怎么办？？？。。。") == "疼！怎么办？。"


def test_ascii_punctuation_becomes_chinese_so_clauses_split_the_same_way():
    assert normalize("不发烧,没有胸痛;咳嗽!") == "不发烧，没有胸痛；咳嗽！"


def test_chinese_numerals_before_ages_become_digits():
    assert normalize("三岁的孩子，两个月大，十二岁") == "3岁的孩子，2个月大，12岁"


def test_whitespace_is_collapsed_and_empty_stays_empty():
    assert normalize("  腰  疼 \n ") == "腰 疼"
    assert normalize("") == ""
