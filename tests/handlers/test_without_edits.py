"""Channels that cannot edit (issue 17, part 6): an edit is a new message there, sent once, if it says anything."""

from __future__ import annotations

from handlers import Button, Outbound
from handlers.core import without_edits


def out(text: str, edit: str | None = None, chat: str = "u1", buttons=()) -> Outbound:
    return Outbound("wechat", chat, text, buttons, edit)


def test_an_edit_the_next_reply_restates_is_left_out():
    skip = ((Button("跳过", "tok"),),)
    outs = [out("已选择 5 分。", edit="m1"), out("已选择 5 分。可以再写一句意见（选填）", buttons=skip)]
    assert [o.text for o in without_edits(outs)] == ["已选择 5 分。可以再写一句意见（选填）"]


def test_a_confirmation_the_edit_already_says_is_left_out_and_the_edit_becomes_a_message():
    outs = [out("XZ-1：已退回补充：孩子几岁？。", edit="m1"), out("XZ-1：已退回补充。")]
    [kept] = without_edits(outs)
    assert kept.text.startswith("XZ-1：已退回补充：孩子几岁") and kept.edit_message_id is None


def test_an_edit_that_says_something_new_is_sent_as_a_message():
    outs = [out("XZ-1 已记录：已就诊。", edit="m1"), out("请简要记录诊疗结果（可跳过）：")]
    assert [(o.text, o.edit_message_id) for o in without_edits(outs)] == [
        ("XZ-1 已记录：已就诊。", None), ("请简要记录诊疗结果（可跳过）：", None)]


def test_messages_to_other_chats_and_answers_without_edits_are_left_alone():
    outs = [out("已选择 5 分。", edit="m1"), out("已选择 5 分。可以再写", chat="u2")]
    assert len(without_edits(outs)) == 2
    same = [out("收到。"), out("收到。")]
    assert without_edits(same) == same  # no edit in the answer: nothing is the transport's to drop


def test_the_console_keeps_its_update_mark_on_an_edit_it_prints():
    outs = [out("XZ-1 已记录：已就诊。", edit="m1"), out("请简要记录诊疗结果（可跳过）：")]
    assert [o.edit_message_id for o in without_edits(outs, keep_marks=True)] == ["m1", None]
