"""A resident's first words (issue 18): /help names every command a resident has, /rate included, and a message that
is not Chinese ("hello", "help") is answered in English as well as Chinese."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_residents_help_lists_rate(chat):
    chat.say("villager", "/help")
    assert "/rate" in chat.last("villager") and "/mydata" in chat.last("villager")


def test_hello_and_help_typed_without_a_slash_are_answered_in_both_languages(chat):
    for text in ("hello", "help", "Hi, is there a doctor coming?"):
        chat.say("tourist", text)
        answer = chat.last("tourist")
        assert CJK.search(answer), answer
        assert "/help" in answer and "send" in answer.lower() and "/start" in answer, answer


def test_a_message_in_chinese_is_answered_in_chinese_only(chat):
    chat.say("villager", "你好")
    answer = chat.last("villager")
    assert CJK.search(answer) and not re.search(r"[A-Za-z]{4,}", answer.replace("/help", "")), answer
