"""The page layout on its own (``bot.delivery.poster``): a long poster and a busy week still make one A4 page whose
QR code reads, shrinking before anything is left out and saying so when something is."""

from __future__ import annotations

import re

from bot.delivery.fonts import load_font
from bot.delivery.poster import Posters, wrap
from domain.posters import CircuitPoster, PosterExpert, SubscribeCode, WeekRow, WeekSchedule
from tests.posters.poster_helpers import needs_font, qr_texts, read_pdf

pytestmark = needs_font
LINK = "https://t.me/xunzhen_fake_bot?start=v_350421101001"
CODE = SubscribeCode("v_350421101001", LINK, "扫码订阅城东村坐诊预告", "或发送 /start v_350421101001")


def week(n: int) -> WeekSchedule:
    rows = tuple(WeekRow(f"12月{1 + i % 7}日（周{'一二三四五六日'[i % 7]}）{'上午' if i % 2 else '下午'}",
                         f"第{i + 1}村", "罗志明（副主任医师，心血管内科）、黄晓敏（主治医师，眼科）", "明溪县总医院")
                 for i in range(n))
    return WeekSchedule("雪峰镇巡诊安排", "2026年第49周（11月30日—12月6日）", ("时间", "地点", "专家", "派出医院"),
                        rows, "本周没有巡诊安排。", "另有 {count} 场巡诊未能列出，请向卫生院查询。", "就诊请带：医保卡",
                        "咨询电话：雪峰镇卫生院 0598-6600112", CODE, "三明市订单式巡诊")


def test_a_busy_week_is_one_page_that_lists_every_circuit_or_says_how_many_it_left_out():
    for n, all_listed in ((0, True), (14, True), (60, False)):
        [page] = read_pdf(Posters().pdf(week(n)).data)
        text = page.text.replace("\r", "").replace("\n", "")
        listed = len(re.findall(r"第\d+村", text))
        more = re.search(r"另有 (\d+) 场巡诊未能列出", text)
        if all_listed:
            assert listed == n and more is None
        else:
            assert more is not None and listed + int(more.group(1)) == n and listed > 14
        assert ("本周没有巡诊安排" in text) is (n == 0)
        assert qr_texts(page.image) == [LINK] and "0598-6600112" in text


def test_a_poster_with_many_experts_and_long_profiles_stays_one_page_and_keeps_every_expert():
    profile = "从事临床工作三十年，擅长高血压、冠心病、糖尿病等慢性病的诊治。" * 3
    experts = tuple(PosterExpert(f"专家：专家{i}，主任医师，心血管内科、内分泌科", profile) for i in range(8))
    sheet = CircuitPoster("坐诊预告", "明溪县总医院专家到城东村坐诊", "时间：12月4日（周五）上午", "地点：城东村",
                          "派出医院：明溪县总医院", experts, "主要诊治：心血管内科", "就诊请带：医保卡、既往病历",
                          "咨询电话：村医 廖德福 13900001006", CODE, "三明市订单式巡诊")
    [page] = read_pdf(Posters().pdf(sheet).data)
    text = page.text.replace("\r", "").replace("\n", "")
    assert all(f"专家{i}，主任医师" in text for i in range(8))
    assert "医保卡" in text and "13900001006" in text and "时间：12月4日（周五）上午" in text
    assert qr_texts(page.image) == [LINK]


def test_lines_break_between_chinese_characters_but_never_inside_a_number_or_a_command():
    font = load_font()
    lines = wrap(font, "咨询电话：村医 廖德福 13900001006，或发送 /start v_350421101001 订阅", 12, 120)
    assert all(not line.startswith(("，", "。", "）")) for line in lines)
    joined = "\n".join(lines)
    assert "13900001006" in joined and "/start v_350421101001" in joined
