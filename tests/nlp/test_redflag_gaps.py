"""What a "*" gap of a red-flag phrase may hold, and that the rules read every text as written.

A gap holds up to five characters and never a clause end (，。！？；,;!? or a newline) or a negation (没不未无别冇):
"眼睛没溅到" is no "眼睛*溅". The rule patterns read a copy of the text with those characters swapped for stand-ins
(a build-time saving); these tests hold the meaning fixed whatever the stand-ins are, and
``tests/nlp/redflag_equivalence.py`` compares every detection with an earlier revision's.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from nlp.redflags import _STAND_INS, _SWAP, RedFlagDetector, _swapped_regex, _Unswappable
from nlp.resources import RedFlagRule, shipped_data
from tests.nlp.test_redflag_rules import CASE_LIST

STOPS = "，。！？；,;!?\n没不未无别冇"


def _rule(rule_id: str, *triggers: str) -> RedFlagRule:
    return RedFlagRule(rule_id, "hard", triggers, (), f"{rule_id} 原因")


@pytest.fixture(scope="module")
def detector() -> RedFlagDetector:
    data = shipped_data()
    concepts = {**data.concepts, "测眼": ("眼睛*溅", "眼*进了")}
    rules = (
        _rule("GAP", "眼睛*溅"),
        _rule("CONCEPT", "@测眼*石灰"),
        _rule("CLASS", "re:心口[^，。没]{0,3}疼"),
        _rule("BOUNDARY", r"re:心率\d{2,3}\b"),
        _rule("LITERAL", "叫不醒", "喊?没应"),
    )
    return RedFlagDetector(replace(data, redflags=rules, concepts=concepts))


def _fired(detector: RedFlagDetector, text: str) -> dict[str, str]:
    return {h.rule_id: h.phrase for h in detector.detect(text)}


@pytest.mark.parametrize("length", range(6))
def test_a_gap_holds_up_to_five_ordinary_characters(detector, length):
    text = "眼睛" + "里面一阵阵"[:length] + "溅到了石灰"
    assert _fired(detector, text).get("GAP") == text[:2 + length + 1]


def test_a_gap_of_six_characters_is_too_long(detector):
    assert "GAP" not in _fired(detector, "眼睛里面一阵阵的溅到了")


@pytest.mark.parametrize("stop", list(STOPS))
def test_a_gap_never_holds_a_clause_end_or_a_negation(detector, stop):
    for text in (f"眼睛{stop}溅到了", f"眼睛里{stop}溅到了", f"眼睛进{stop}了石灰"):
        assert not _fired(detector, text), text


@pytest.mark.parametrize("char", [*_STAND_INS, "\ue000", "😀", "a", "、", "（"])
def test_any_other_character_may_sit_in_a_gap(detector, char):
    """The stand-ins the rule patterns read for the stops are ordinary characters of a text (and emoji, ASCII)."""
    assert _fired(detector, f"眼睛{char}溅到了") == {"GAP": f"眼睛{char}溅"}
    assert _fired(detector, f"眼{char}进了{char}石灰") == {"CONCEPT": f"眼{char}进了{char}石灰"}


def test_a_concept_inside_a_phrase_keeps_its_own_gaps(detector):
    assert _fired(detector, "眼里进了石灰")["CONCEPT"] == "眼里进了石灰"
    assert "CONCEPT" not in _fired(detector, "眼里进，了石灰")
    assert "CONCEPT" not in _fired(detector, "眼里没进了石灰")


def test_an_expression_excludes_only_what_it_names(detector):
    assert _fired(detector, "心口一阵疼")["CLASS"] == "心口一阵疼"
    assert _fired(detector, "心口也不疼")["CLASS"] == "心口也不疼"  # [^，。没] lets 不 through
    assert "CLASS" not in _fired(detector, "心口没疼")
    assert "CLASS" not in _fired(detector, "心口，疼")


def test_a_word_boundary_is_read_on_the_text_as_written(detector):
    """\\b needs word characters: 不 is one (no boundary before it), a comma is not."""
    assert _fired(detector, "心率150，人很难受")["BOUNDARY"] == "心率150"
    assert "BOUNDARY" not in _fired(detector, "心率150不齐")
    assert "BOUNDARY" not in _fired(detector, "心率150次")


def test_a_stop_inside_a_phrase_matches_itself_only(detector):
    assert _fired(detector, "叫不醒")["LITERAL"] == "叫不醒"
    assert _fired(detector, "喊?没应")["LITERAL"] == "喊?没应"
    for char in _STAND_INS:
        assert not _fired(detector, f"叫{char}醒"), ascii(char)
        assert not _fired(detector, f"喊{char}没应") and not _fired(detector, f"喊?{char}应"), ascii(char)


@pytest.mark.parametrize("rx", [r"\w+", r"心\b", "[一-龥]疼", "(?i)bp", "(?P<n>疼)", "疼{2", r"疼\?", "疼,痛", "疼;",
                                "a!", "[^，", r"\u4e0d", "[[]"])
def test_an_expression_the_swap_cannot_follow_is_refused(rx):
    with pytest.raises(_Unswappable):
        _swapped_regex(rx)


def _re_expressions() -> list[str]:
    data = shipped_data()
    phrases = {p for r in data.redflags for p in (*r.triggers, *(q for g in r.requires for q in g))}
    phrases |= {p for ps in data.concepts.values() for p in ps}
    return sorted(p[3:] for p in phrases if p.startswith("re:"))


def test_every_shipped_expression_reads_the_swapped_text_as_the_plain_one():
    """Each "re:" expression of the shipped rules, swapped, finds the same spans on the swapped texts of every rule
    case, with stops, stand-ins and digits strewn in (fixed seed), as it does on the plain texts."""
    rng = random.Random(1206)
    texts = [case[1] for case in CASE_LIST]
    strewn = list(STOPS) + list(_STAND_INS) + list("0123456789 、")
    for text in list(texts):
        for _ in range(8):
            chars = list(text)
            for _ in range(rng.randint(1, 3)):
                chars.insert(rng.randint(0, len(chars)), rng.choice(strewn))
            texts.append("".join(chars))
    swapped_texts = [t.translate(_SWAP) for t in texts]
    swapped = 0
    for rx in _re_expressions():
        try:
            other = re.compile(_swapped_regex(rx))
        except _Unswappable:
            continue  # its pattern reads the plain text
        swapped += 1
        plain = re.compile(rx)
        for text, text2 in zip(texts, swapped_texts, strict=True):
            assert [m.span() for m in plain.finditer(text)] == [m.span() for m in other.finditer(text2)], (rx, text)
    assert swapped >= 100  # nearly all of them are read on the swapped text


@pytest.mark.parametrize("stand_in", list(_STAND_INS))
def test_a_stand_in_written_in_an_expression_is_read_as_itself(stand_in):
    """A control character U+0086–U+0094 pasted into a "re:" rule is a literal like any other: the stand-in of "?"
    must not turn into a quantifier ("胸\\x8e痛" is no "胸?痛"), nor "(\\x8e:" into a group, nor break the build."""
    data = shipped_data()
    rules = (_rule("INNER", f"re:胸{stand_in}痛"), _rule("GROUP", f"re:({stand_in}:疼)"),
             _rule("FIRST", f"re:{stand_in}{{2}}晕"))
    detector = RedFlagDetector(replace(data, redflags=rules))
    assert _fired(detector, f"胸{stand_in}痛") == {"INNER": f"胸{stand_in}痛"}
    assert _fired(detector, f"它{stand_in}:疼") == {"GROUP": f"{stand_in}:疼"}
    assert _fired(detector, f"{stand_in * 2}晕") == {"FIRST": stand_in * 2 + "晕"}
    for text in ("胸痛", "胸?痛", "它疼", "它?:疼", "晕", "??晕"):
        assert not _fired(detector, text), (ascii(stand_in), text)
