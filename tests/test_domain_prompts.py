"""Prompts without a conversation: which replies are bare answers, and which prompt a reply answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.prompts import Choice, Prompt, Reading, read_answer, read_reply


def test_bare_replies_are_read_as_numbers_or_words():
    read = {s: (a.number, a.words) if (a := read_answer(s)) else None
            for s in ("5", "５", "五", "5分", "五分", "回复 5", "第2个", "十二", "好的！", "确认关联。", "1950年",
                      "/rate", "", "老人心口疼，晚上喘不上气，走路就喘")}
    assert read["5"] == read["５"] == (5, "5") and read["五"][0] == read["5分"][0] == read["五分"][0] == 5
    assert read["回复 5"][0] == 5 and read["第2个"][0] == 2 and read["十二"][0] == 12
    assert read["好的！"] == (None, "好的") and read["确认关联。"] == (None, "确认关联")
    assert read["1950年"] == (None, "1950年")
    assert read["/rate"] is None and read[""] is None and read["老人心口疼，晚上喘不上气，走路就喘"] is None


def _prompt(at, *, choices=5, proactive=False, answered=False, valid=timedelta(days=1), pid=0) -> Prompt:
    return Prompt(1, at, at + valid, tuple(Choice(f"t{pid}-{i}") for i in range(choices)), proactive=proactive,
                  answered_at=at if answered else None, id=pid)


def test_the_newest_open_prompt_answers_and_a_list_shown_earlier_is_over_once_the_conversation_moved_on():
    t0 = datetime(2026, 11, 23, tzinfo=UTC)
    five, one = read_answer("5"), read_answer("1")
    assert five and one
    rating = _prompt(t0, proactive=True, valid=timedelta(days=30), pid=1)
    listing = _prompt(t0 + timedelta(hours=1), choices=8, pid=2)
    flow = _prompt(t0 + timedelta(hours=2), choices=2, answered=True, pid=3)
    later = t0 + timedelta(hours=3)
    # The rating stays open after a form was finished; the earlier list is not read any more.
    got = read_reply([flow, listing, rating], five, None, later, None)
    assert got and (got.reading, got.prompt.id) == (Reading.ANSWER, 1)
    got = read_reply([flow, listing, rating], read_answer("7") or five, None, later, None)
    assert got and (got.reading, got.prompt.id) == (Reading.SUPERSEDED, 2)
    # A form that asked after the rating keeps the number; a list shown with the form's question reads it first.
    assert read_reply([rating], five, None, later, t0 + timedelta(hours=2)) is None
    got = read_reply([listing, rating], one, None, later, listing.created_at)
    assert got and got.prompt.id == 2
    # After its time, the rating is explained, not taken.
    got = read_reply([rating], five, None, t0 + timedelta(days=31), None)
    assert got and got.reading is Reading.EXPIRED


def test_words_pick_the_one_choice_they_name_and_nothing_when_two_fit():
    yes, no = Choice("t-yes", frozenset({"k-好", "k-确认关联"})), Choice("t-no", frozenset({"k-不", "k-拒绝"}))
    p = Prompt(1, datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC), (yes, no))
    ok = read_answer("好")
    assert ok and p.pick(ok, "k-好") == 0 and p.pick(ok, "k-拒绝") == 1 and p.pick(ok, "k-别的") is None
    both = Prompt(1, p.created_at, p.expires_at, (yes, Choice("t-also", frozenset({"k-好"}))))
    assert both.pick(ok, "k-好") is None
    nine = read_answer("9")
    assert nine and p.pick(nine, None) is None  # only two choices
