"""The hour words around twelve o'clock in a typed remote-consultation time, decided once and kept here:

- 晚上/夜里/半夜 12点 is midnight at the END of that day: "11月25日晚上12点" is 26 November 00:00 (people say
  "tonight at twelve" for the midnight after the evening, never for noon);
- 凌晨 12点 is the midnight that STARTS that day: "11月25日凌晨12点" is 25 November 00:00 (凌晨 is the small hours
  of the day named);
- 中午, 上午 and 下午 12点 are all noon, 12:00 (下午12点 is the noon the afternoon starts from, nobody's midnight);
- 晚上11点 is 23:00, 凌晨1点 is 01:00, 中午1点 is 13:00; a bare 12点 is noon;
- 夜里/半夜 with an hour before 6, and 晚上 with one before 4, are the small hours after that evening:
  "11月25日半夜2点" is 26 November 02:00 (before, "晚上1点" was read as 13:00); "晚上5点" is 17:00, as people in the
  mountains say of a winter evening (半夜5点 is still 05:00 the next morning).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.remote import CHINA, parse_when
from tests.remote.test_remote_chat import approved_order, schedule_remote, told

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("text", "expected"), [
    ("11月25日晚上12点", (2026, 11, 26, 0, 0)),
    ("11月25日 晚上12点", (2026, 11, 26, 0, 0)),
    ("11月25日晚上十二点", (2026, 11, 26, 0, 0)),
    ("11月25日晚上12点半", (2026, 11, 26, 0, 30)),
    ("11月25日夜里12点", (2026, 11, 26, 0, 0)),
    ("11月25日半夜12点", (2026, 11, 26, 0, 0)),
    ("明天晚上12点", (2026, 11, 25, 0, 0)),
    ("11月30日晚上12点", (2026, 12, 1, 0, 0)),  # the end of a month rolls into the next
    ("11月25日凌晨12点", (2026, 11, 25, 0, 0)),
    ("11月25日凌晨1点", (2026, 11, 25, 1, 0)),
    ("11月25日中午12点", (2026, 11, 25, 12, 0)),
    ("11月25日中午12点半", (2026, 11, 25, 12, 30)),
    ("11月25日中午1点", (2026, 11, 25, 13, 0)),
    ("11月25日上午12点", (2026, 11, 25, 12, 0)),
    ("11月25日下午12点", (2026, 11, 25, 12, 0)),
    ("11月25日下午12点半", (2026, 11, 25, 12, 30)),
    ("11月25日下午1点", (2026, 11, 25, 13, 0)),
    ("11月25日晚上11点", (2026, 11, 25, 23, 0)),
    ("11月25日晚上11点半", (2026, 11, 25, 23, 30)),
    ("11月25日晚上8点", (2026, 11, 25, 20, 0)),
    ("11月25日夜里11点", (2026, 11, 25, 23, 0)),
    ("11月25日半夜2点", (2026, 11, 26, 2, 0)),  # the small hours after that evening
    ("11月25日晚上1点", (2026, 11, 26, 1, 0)),
    ("11月25日晚上3点", (2026, 11, 26, 3, 0)),
    ("11月25日晚上5点", (2026, 11, 25, 17, 0)),
    ("11月25日半夜5点", (2026, 11, 26, 5, 0)),
    ("11月25日12点", (2026, 11, 25, 12, 0)),
    ("11月25日 12:00", (2026, 11, 25, 12, 0)),
])
def test_the_hour_words_around_twelve(text, expected):
    assert parse_when(text, TODAY) == datetime(*expected, tzinfo=CHINA)


def test_a_consultation_typed_for_twelve_at_night_is_told_as_midnight_not_noon(chat, cast, app, clock):
    approved_order(chat, app)
    schedule_remote(chat, when="11月25日晚上12点")
    assert "已安排远程会诊" in chat.replies(), chat.replies()
    told(chat, app, clock())
    assert any("11月26日 00:00" in x for x in chat.texts("grandpa")), chat.texts("grandpa")[-2:]
    assert not any("11月25日 12:00" in x for x in chat.texts("grandpa"))
