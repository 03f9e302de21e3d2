"""The catalogue matcher on its own: residents' words, script and width, negation, the longest word first."""

from __future__ import annotations

from datetime import date

from domain.catalogue import CatalogueEntry
from nlp.catalogue import shipped_lexicon, shipped_matcher

DAY = date(2026, 1, 1)


def entries(*pairs: tuple[str, str | None]) -> list[CatalogueEntry]:
    return [CatalogueEntry("TC1", name, code, DAY) for name, code in pairs]


def test_the_starting_list_has_80_diseases_each_with_a_code_and_residents_words():
    lexicon = shipped_lexicon()
    assert len(lexicon) == 80 and len({d.icd10 for d in lexicon}) == 80
    assert all(d.forms for d in lexicon)
    by_code = {d.icd10: d for d in lexicon}
    assert "血压高" in by_code["I10"].forms and "血糖高" in by_code["E11"].forms


def test_residents_words_traditional_script_and_an_entry_coded_more_finely_all_match():
    m = shipped_matcher()
    cat = entries(("高血压病", "I10"), ("糖尿病（2型，无并发症）", "E11.9"), ("慢性胃炎", "K29.5"))
    assert [x.disease for x in m.match("血壓高，頭暈", cat)] == ["高血压病"]
    assert [x.disease for x in m.match("血糖高", cat)] == ["糖尿病（2型，无并发症）"]  # E11.9 takes E11's words
    assert m.match("老胃病又犯了", cat)[0].words == ("老胃病",)


def test_a_negated_disease_does_not_match_but_the_same_words_elsewhere_do():
    m = shipped_matcher()
    cat = entries(("高血压", "I10"), ("2型糖尿病", "E11"))
    assert [x.disease for x in m.match("没有高血压，血糖高", cat)] == ["2型糖尿病"]
    assert m.match("否认糖尿病", cat) == []


def test_the_longest_word_wins_where_two_entries_overlap():
    m = shipped_matcher()
    cat = entries(("急性咽炎", "J02.9"), ("慢性咽炎", "J31.2"))
    found = m.match("慢性咽炎好几年了", cat)
    assert [x.disease for x in found] == ["慢性咽炎"]


def test_odd_text_never_raises():
    m = shipped_matcher()
    cat = entries(("高血压", "I10"))
    for text in ("", "😀" * 100, "\x00\x01", "血" * 10_000, "🙂血压高🙂"):
        m.match(text, cat)
    assert m.match("🙂血压高🙂", cat)[0].disease == "高血压"


def test_a_symptom_of_another_complaint_is_not_taken_for_a_disease():
    m = shipped_matcher()
    cat = entries(("失眠症", "G47.0"))
    assert m.match("牙疼得睡不着觉", cat) == []  # the tooth, not insomnia (found by bench/catalogue.py)
    assert m.match("老是睡不着，半年了", cat)[0].disease == "失眠症"
