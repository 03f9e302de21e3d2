"""Reading a whole order from one line (issue 18): pure logic, no database, no matcher."""

from __future__ import annotations

from datetime import date

import pytest

from nlp.intake import chinese_number, has_surname, need_rather_than_name, read_cues, read_intake

TODAY = date(2026, 11, 23)


def read(text, **kw):
    return read_intake(text, TODAY, **kw)


def test_the_issues_example_gives_name_sex_birth_year_and_need():
    got = read("邱瑞鹏 男 1956 胸闷气短两周，想看心内科")
    assert (got.name, got.sex, got.birth_year) == ("邱瑞鹏", "M", 1956)
    assert got.need == "胸闷气短两周，想看心内科" and got.age is None and not got.urgent


@pytest.mark.parametrize("age", ["七十岁", "70岁", "７０岁", "70周岁"])
def test_an_age_in_digits_or_chinese_numerals_gives_the_birth_year(age):
    got = read(f"王秀英 {age} 腰腿疼")
    assert (got.name, got.sex, got.age, got.birth_year, got.need) == ("王秀英", None, 70, 1956, "腰腿疼")


def test_seventy_two_in_chinese_numerals():
    got = read("李大山 七十二岁 男 咳嗽三天")
    assert (got.age, got.birth_year, got.sex, got.need) == (72, 1954, "M", "咳嗽三天")


@pytest.mark.parametrize("line", ["李大山 1956年生 胃疼", "李大山，1956年出生，胃疼", "李大山 56年生 胃疼",
                                  "李大山 1956年 胃疼", "李大山1956年生胃疼"])
def test_ways_of_writing_a_birth_year(line):
    got = read(line)
    assert (got.name, got.birth_year, got.need) == ("李大山", 1956, "胃疼")


@pytest.mark.parametrize("line", ["邱航，男的，1963年出生，腰杆疼", "邱航 1963 男性 腰杆疼", "邱航男1963腰杆疼"])
def test_sex_in_its_everyday_forms_and_in_any_order(line):
    got = read(line)
    assert (got.name, got.sex, got.birth_year, got.need) == ("邱航", "M", 1963, "腰杆疼")


def test_no_sex_given_stays_unknown():
    got = read("王秀英 1956 头晕")
    assert got.sex is None and got.birth_year == 1956


def test_a_daughter_is_no_sex():
    got = read("王秀英 女儿说她腰疼")
    assert got.sex is None and got.name == "王秀英" and got.need == "女儿说她腰疼"


@pytest.mark.parametrize("need", ["发烧三天", "3天前摔了一跤", "咳嗽两周，吃了2000块钱的药", "2020年做过手术，伤口疼"])
def test_numbers_in_the_need_stay_in_the_need(need):
    got = read(f"王秀英 女 {need}")
    assert got.need == need and got.birth_year is None and got.age is None and got.sex == "F"


def test_a_name_that_is_also_a_word_is_a_name_when_details_follow():
    is_word = {"文静", "黄疸", "高峰"}.__contains__
    got = read("文静 女 1980 头痛", is_word=is_word)
    assert (got.name, got.sex, got.birth_year, got.need) == ("文静", "F", 1980, "头痛")
    assert read("黄疸 三天了", is_word=is_word).name is None
    assert read("黄疸 三天了", is_word=is_word).need == "黄疸 三天了"
    assert read("高峰 腰疼", is_word=is_word).name is None
    assert read("高峰 腰疼", is_word=is_word, is_resident={"高峰"}.__contains__).name == "高峰"


@pytest.mark.parametrize("line", ["腰腿疼好几年了", "胸闷 两周", "想开点安眠药", "😷🤒 发烧咳嗽三天了 🙏",
                                  "老人心口疼"])
def test_a_line_with_only_a_need_has_no_name(line):
    got = read(line)
    assert got.name is None and got.need == line.strip()


def test_details_without_a_name_are_read_but_the_need_keeps_them():
    got = read("男 70岁 胸闷")
    assert got.name is None and got.sex == "M" and got.age == 70 and got.need == "男 70岁 胸闷"
    assert got.tail == "胸闷"
    assert read("女 1956").tail == "" and read("女 1956").birth_year == 1956


def test_a_name_alone():
    got = read("邱瑞鹏")
    assert got.name == "邱瑞鹏" and got.need == "" and not got.has_resident_details


def test_an_approximate_age_leaves_the_birth_year_to_be_asked():
    got = read("王秀英 七十多岁 腰疼")
    assert got.age == 70 and got.age_approximate and got.birth_year is None


def test_an_impossible_birth_year_is_reported_not_used():
    got = read("邱瑞鹏 男 1856 胸闷")
    assert got.bad_year == "1856" and got.birth_year is None and got.need == "胸闷"


def test_compound_surnames_and_full_width_spaces():
    got = read("欧阳秀兰　女　１９５０　膝盖疼")
    assert (got.name, got.sex, got.birth_year, got.need) == ("欧阳秀兰", "F", 1950, "膝盖疼")


def test_urgency_words_and_their_negation():
    assert set(read("腰腿疼，越来越重，想尽快看").soon) == {"越来越重", "尽快"}
    assert read("腰腿疼，越来越重，想尽快看").urgent
    assert not read("腰疼，不着急，慢慢来").urgent
    assert read("腰疼，不着急，慢慢来").calm
    assert not read("腰疼一年，没有加重").urgent
    assert read("睡不着，越来越重").urgent


def test_special_population_cues_and_their_negation():
    assert read_cues("怀孕五个月，腰疼")[2] == (("pregnant", "怀孕"),)
    assert read_cues("有高血压十年，头晕")[2] == (("chronic", "高血压"),)
    assert read_cues("没有高血压，头晕")[2] == ()
    assert read_cues("不是孕妇")[2] == ()


@pytest.mark.parametrize(("text", "value"), [("七十二", 72), ("七十", 70), ("十八", 18), ("一百零二", 102),
                                             ("两", 2), ("72", 72), ("七十岁", None)])
def test_chinese_numbers(text, value):
    assert chinese_number(text) == value


def test_surnames():
    assert has_surname("邱瑞鹏") and has_surname("欧阳秀兰") and not has_surname("发烧")


def test_what_reads_as_a_need_is_no_name():
    assert need_rather_than_name("发烧咳嗽", ["发烧咳嗽"])
    assert need_rather_than_name("高血压", ["高血压"])
    assert not need_rather_than_name("王秀英", [])
    assert not need_rather_than_name("王秀英", ["腰疼"])
