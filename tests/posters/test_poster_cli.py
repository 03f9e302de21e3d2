"""``python -m bot poster`` as an operator runs it (issue 19): a printable A4 page for a notice board, read back the
way a person and a phone would (pdfium for the page, zxing for the QR code).

A circuit's poster (``--circuit ID``) and a township's week (``--township CODE --week 2027-W02``), as PDF or PNG.
The QR code is the village's subscription: the Telegram bot's deep link when only Telegram is configured, the
Official Account's permanent parametric code when WeChat is. SQLite only: this is about the page, not storage.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.testing.fake_telegram import FakeTelegram
from bot.testing.fake_wechat import FakeWeChat
from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import worker_env
from tests.cli_runner import run_bot, run_bot_process
from tests.conftest import FIXED_NOW
from tests.posters.poster_helpers import (
    A4,
    BOT,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    assert_real_glyphs,
    needs_font,
    png_image,
    qr_texts,
    read_pdf,
    same_picture,
    seed_week,
    written,
)

DEEP_LINK = f"https://t.me/{BOT}?start=v_{VILLAGE}"


@pytest.fixture
def world(templates, tmp_path, cipher):
    """A seeded database file with 雪峰镇's circuits around 2026-W49; yields (url, circuit ids by name)."""
    engine = templates.sqlite_engine(True, tmp_path / "poster.db")
    with SqlUnitOfWork(engine, cipher) as uow:
        ids = {name: c.id for name, c in seed_week(uow).items()}
        uow.commit()
    engine.dispose()
    return str(engine.url), ids


def env_for(url: str, **extra: str) -> dict[str, str]:
    """The command's environment: the database, the fixed clock, and no chat platform unless ``extra`` adds one."""
    env = worker_env(url, None, FIXED_NOW, PYTHONIOENCODING="utf-8")
    for key in [k for k in env if k.startswith(("WECHAT_", "WECOM_"))]:
        del env[key]
    env.update(extra)
    return env


def poster(url: str, *args: str, process: bool = False, **extra: str):
    """``python -m bot poster *args``: a real process, or in this process (``tests.cli_runner``)."""
    return (run_bot_process if process else run_bot)(["poster", *args], env_for(url, **extra))


@needs_font
async def test_a_circuits_poster_is_one_a4_page_whose_qr_code_is_the_villages_telegram_link(world, tmp_path):
    url, ids = world
    out = tmp_path / "城东村.pdf"
    async with FakeTelegram() as telegram:  # only Telegram configured: the bot's name comes from getMe
        done = await asyncio.to_thread(poster, url, "--circuit", str(ids["village"]), "--out", str(out),
                                       process=True, TELEGRAM_TOKEN=telegram.token,
                                       TELEGRAM_API_BASE_URL=telegram.root_url)

    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout and DEEP_LINK in done.stdout  # it says what it wrote and what the code holds
    [page] = read_pdf(written(out))
    assert page.size == pytest.approx(A4, abs=1)
    assert qr_texts(page.image) == [DEEP_LINK]
    text = page.text.replace("\r", "")
    for line in ("坐诊预告", "时间：12月4日（周五）上午", "地点：城东村（示例）", "派出医院：明溪县总医院",
                 "专家：罗志明，副主任医师，心血管内科", "专家：黄晓敏，主治医师，眼科", "主要诊治：心血管内科",
                 "医保卡", "既往病历", "廖德福", "13900001006", "扫码订阅城东村（示例）坐诊预告",
                 f"/start v_{VILLAGE}"):
        assert line in text, f"{line!r} is not on the page:\n{text}"
    assert_real_glyphs(page)


@needs_font
def test_the_png_is_the_same_page_drawn_as_an_image(world, tmp_path):
    url, ids = world
    pdf, png = tmp_path / "p.pdf", tmp_path / "p.png"
    for path in (pdf, png):
        done = poster(url, "--circuit", str(ids["village"]), "--out", str(path), "--bot-username", BOT)
        assert done.returncode == 0, done.stderr

    image = png_image(written(png))
    assert 1.40 < image.height / image.width < 1.43  # A4, portrait
    assert image.width >= 1200  # sharp enough to print (150 dpi and more)
    assert qr_texts(image) == [DEEP_LINK]
    [page] = read_pdf(written(pdf), scale=image.width / A4[0])
    assert same_picture(image, page.image)  # one layout serves both: where the PDF has text, so has the PNG


def test_a_font_without_chinese_characters_is_refused_loudly_and_nothing_is_written(world, tmp_path):
    url, ids = world
    for font in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", str(tmp_path / "missing.ttc")):
        out = tmp_path / "p.pdf"
        done = poster(url, "--circuit", str(ids["village"]), "--out", str(out), "--bot-username", BOT,
                      XUNZHEN_CJK_FONT=font)
        assert done.returncode == 1, done.stdout
        assert "中文字体" in done.stderr and "CJK font" in done.stderr and "fonts-wqy-zenhei" in done.stderr
        assert "Traceback" not in done.stderr
        assert not out.exists()


@needs_font
def test_a_township_circuits_poster_carries_the_townships_code_or_the_village_asked_for(world, tmp_path):
    url, ids = world
    out = tmp_path / "p.pdf"
    done = poster(url, "--circuit", str(ids["township"]), "--out", str(out), "--bot-username", BOT)
    assert done.returncode == 0, done.stderr
    assert "--village" in done.stderr  # it says how to print one village's code instead
    [page] = read_pdf(written(out))
    assert qr_texts(page.image) == [f"https://t.me/{BOT}?start=v_{TOWNSHIP}"]
    assert "0598-6600112" in page.text  # the township health center's phone

    done = poster(url, "--circuit", str(ids["township"]), "--village", OTHER_VILLAGE, "--out", str(out),
                  "--bot-username", BOT)
    assert done.returncode == 0, done.stderr
    [page] = read_pdf(written(out))
    assert qr_texts(page.image) == [f"https://t.me/{BOT}?start=v_{OTHER_VILLAGE}"]
    assert "村医 朱涵 13900002002" in page.text and "地点：雪峰镇" in page.text


@needs_font
def test_the_week_of_a_township_lists_every_circuit_of_that_week_on_one_page(world, tmp_path):
    url, _ = world
    out = tmp_path / "week.pdf"
    done = poster(url, "--township", TOWNSHIP, "--week", "2026-W49", "--out", str(out), "--bot-username", BOT)

    assert done.returncode == 0, done.stderr
    [page] = read_pdf(written(out))
    text = page.text.replace("\r", "").replace("\n", "")
    assert "雪峰镇" in text and "11月30日" in text and "12月6日" in text
    for when, place in (("12月2日（周三）下午", "雪峰镇"), ("12月4日（周五）上午", "城东村（示例）"),
                        ("12月6日（周日）上午", "渔塘村（示例）")):
        assert when in text and place in text, f"{when} {place} missing:\n{text}"
    assert text.index("12月2日（") < text.index("12月4日（") < text.index("12月6日（")  # in the order of the week
    assert "罗志明" in text and "黄晓敏" in text and "明溪县总医院" in text
    assert "12月3日" not in text  # cancelled
    assert "12月8日" not in text  # the week after
    assert "西坑村" not in text  # another township's
    assert "医保卡" in text and "0598-6600112" in text  # what to bring; the township health center's phone
    assert qr_texts(page.image) == [f"https://t.me/{BOT}?start=v_{TOWNSHIP}"]  # the township: choose your village
    assert_real_glyphs(page)


@needs_font
def test_without_a_week_the_schedule_is_of_the_coming_week(world, tmp_path):
    url, _ = world
    out = tmp_path / "week.png"  # FIXED_NOW is Monday 2026-11-23: the coming week is W49
    done = poster(url, "--township", TOWNSHIP, "--out", str(out), "--bot-username", BOT)
    assert done.returncode == 0, done.stderr
    assert "2026-W49" in done.stdout
    assert qr_texts(png_image(written(out))) == [f"https://t.me/{BOT}?start=v_{TOWNSHIP}"]


@pytest.mark.parametrize(("args", "says"), [
    ([], "--circuit"),
    (["--circuit", "1", "--township", TOWNSHIP], "--circuit"),
    (["--circuit", "{village}"], "--out"),
    (["--circuit", "{village}", "--out", "x.txt"], ".pdf"),
    (["--circuit", "99999", "--out", "x.pdf"], "99999"),
    (["--circuit", "abc", "--out", "x.pdf"], "abc"),
    (["--circuit", "{cancelled}", "--out", "x.pdf"], "取消"),
    (["--circuit", "{village}", "--village", OTHER_VILLAGE, "--out", "x.pdf"], OTHER_VILLAGE),
    (["--circuit", "{township}", "--village", "350421102001", "--out", "x.pdf"], "350421102001"),
    (["--township", "999999999", "--out", "x.pdf"], "999999999"),
    (["--township", VILLAGE, "--out", "x.pdf"], VILLAGE),
    (["--township", TOWNSHIP, "--week", "2027-02", "--out", "x.pdf"], "2027-W02"),
    (["--township", TOWNSHIP, "--week", "2027-W60", "--out", "x.pdf"], "2027-W60"),
    (["--circuit", "{village}", "--week", "2027-W02", "--out", "x.pdf"], "--week"),
])
def test_bad_arguments_get_a_bilingual_sentence_and_exit_code_2(world, tmp_path, args, says):
    url, ids = world
    args = [a.format(**ids) if a.startswith("{") else str(tmp_path / a) if a.startswith("x.") else a for a in args]
    done = poster(url, *args, "--bot-username", BOT)

    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    if lines[-1].startswith("error: "):  # a refusal, said as every command says one: 错误：… then error: …
        zh, en = lines[-2], lines[-1]
    else:  # a bad argument: one line, Chinese / English
        zh, _, en = lines[-1].partition(" / ")
    assert says in zh + en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and any(ch.isascii() and ch.isalpha() for ch in en)
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("x.*"))


def test_without_telegram_or_the_official_account_there_is_no_link_to_draw(world, tmp_path):
    url, ids = world
    done = poster(url, "--circuit", str(ids["village"]), "--out", str(tmp_path / "x.pdf"))
    assert done.returncode == 2
    assert "--bot-username" in done.stderr and "TELEGRAM_TOKEN" in done.stderr and " / " in done.stderr
    assert not (tmp_path / "x.pdf").exists()


@needs_font
async def test_with_the_official_account_the_code_is_the_accounts_permanent_code_for_the_village(world, tmp_path):
    url, ids = world
    async with FakeWeChat() as wechat:
        oa = dict(WECHAT_APP_ID=wechat.app_id, WECHAT_SECRET=wechat.app_secret, WECHAT_API_BASE_URL=wechat.root_url)
        first, second = tmp_path / "1.pdf", tmp_path / "2.png"
        done = await asyncio.to_thread(poster, url, "--circuit", str(ids["village"]), "--out", str(first),
                                       "--bot-username", BOT, process=True, **oa)
        assert done.returncode == 0, done.stderr
        again = await asyncio.to_thread(poster, url, "--circuit", str(ids["village"]), "--out", str(second), **oa)
        assert again.returncode == 0, again.stderr

    [page] = read_pdf(written(first))
    [code] = qr_texts(page.image)
    issued = wechat.qr_codes[code]  # the fake Official Account issued this URL
    assert issued.scene == f"v_{VILLAGE}" and issued.permanent
    assert qr_texts(png_image(written(second))) == [code]  # made once, kept: the second poster has the same code
    assert len(wechat.qr_codes) == 1
    assert f"/start v_{VILLAGE}" in page.text  # the typed way in, for a phone without a scanner
