# The conversation fixtures are imported from tests/handlers, so test parameters shadow them by design.
# ruff: noqa: F811
"""The local chat that `make run` opens, and the scripted demo: `make run` as a real process, the rest in this
process (``tests.cli_runner``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.cli_runner import DATABASE, copy_seeded_data_directory, run_bot, run_bot_process
from tests.handlers.conftest import app, clock  # noqa: F401 - the conversation fixtures


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "XUNZHEN_VAR_DIR": str(tmp_path), "PYTHONIOENCODING": "utf-8"}
    for k in ("DATABASE_URL", "TELEGRAM_TOKEN", "XUNZHEN_TRANSPORT"):
        env.pop(k, None)
    return env


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return run_bot(args, _env(tmp_path), stdin)


def test_run_opens_the_local_chat_on_first_start_and_walks_a_flow(tmp_path):
    script = (
        "\n".join(
            [
                "/as 廖德福",
                "/new",
                "邱瑞鹏",
                "1",  # the resident
                "1",  # 居民已同意
                "娃娃拉肚子三天了，发烧",
                "/cancel",
                "/as 村民",
                "/start v_350421101001",
                "/quit",
            ]
        )
        + "\n"
    )
    out = run_bot_process(["run"], _env(tmp_path), script, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "首次运行" in out.stdout and "行政村 384" in out.stdout
    assert "现在的身份：廖德福（村医）" in out.stdout
    assert "居民是否同意" in out.stdout and "建议以下科室" in out.stdout
    assert "已取消" in out.stdout
    assert "订阅成功" in out.stdout
    assert "Traceback" not in out.stderr
    # The second start does not load the demo data again; the conversation state is kept in the database.
    again = run(["run"], tmp_path, "/as 村民\n/start v_350421101001\n/quit\n")
    assert "首次运行" not in again.stdout and "已经订阅了" in again.stdout


def test_demo_passes(tmp_path):
    out = run(["demo"], tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "演示完成" in out.stdout and "120" in out.stdout


def test_invite_command_prints_a_code_that_binds_in_the_chat(tmp_path):
    copy_seeded_data_directory(tmp_path)  # ``seed --demo`` (tests/test_cli_core.py runs it)
    out = run(
        ["invite", "--role", "township_reviewer", "--institution", "TC350421101", "--bot-username", "xz_bot"], tmp_path
    )
    assert out.returncode == 0, out.stderr
    code = out.stdout.split("/start ")[1].split()[0]
    assert f"https://t.me/xz_bot?start={code}" in out.stdout
    chat = run(["run"], tmp_path, f"/as 村民\n/start {code}\n林晓燕\n/help\n/quit\n")
    assert "绑定成功：林晓燕" in chat.stdout and "/pending" in chat.stdout
    bad = run(["invite", "--role", "expert", "--institution", "NOPE"], tmp_path)
    assert bad.returncode == 2 and "NOPE" in bad.stderr


def test_the_local_chat_writes_a_qr_code_to_the_data_directory_and_prints_its_path(chat_engine, tmp_path):
    """With an Official Account the village's code is an image: the console writes it and says where."""
    import zxingcpp
    from PIL import Image

    from bot.bootstrap import App, build_conversation
    from bot.config import Settings
    from bot.delivery.qr import QrImages
    from bot.transports.console import ConsoleSession
    from handlers import FloodGuard
    from storage.uow import uow_factory
    from tests.conftest import FIXED_NOW, TEST_KEY

    settings = Settings(var_dir=tmp_path, database_url=str(chat_engine.url), secret_key=TEST_KEY, log_level="INFO",
                        transport="console", telegram_token=None, wechat_app_id="wxapp", wechat_secret="secret")
    app = App(settings, chat_engine, uow_factory(chat_engine, settings.cipher()))
    conv = build_conversation(app, clock=lambda: FIXED_NOW, matcher=object(), flood=FloodGuard(limit=10_000))
    issued: list[tuple[str, int | None]] = []

    def issue(scene: str, seconds: int | None) -> str:  # the Official Account, in memory
        issued.append((scene, seconds))
        return "http://weixin.qq.com/q/02console"

    session = ConsoleSession(app, conv, images=QrImages(issue), image_dir=tmp_path / "qr")
    session.handle_line("/as 廖德福")
    out = session.handle_line("/qr")
    assert issued == [("v_350421101001", None)]
    [line] = [x for x in out.splitlines() if "二维码图片" in x]
    path = Path(line.split(": ", 1)[1])
    assert path.parent == tmp_path / "qr"
    [code] = zxingcpp.read_barcodes(Image.open(path))
    assert code.text == "http://weixin.qq.com/q/02console"
    assert "/start v_350421101001" in out and "坐诊预告订阅二维码" in out


# --- the local chat as a newcomer uses it (issue 18) ----------------------------------------------------------

NOW = "2026-12-04T09:10"  # a Friday morning in Sanming


def chat(tmp_path: Path, *lines: str, now: str = NOW, first_start: bool = False) -> str:
    """One run of the local chat (a start of ``make run``) typing ``lines``; what the screen showed. The first run
    in ``tmp_path`` finds the demo data a first start loads, unless ``first_start`` asks for the first start itself
    (it loads the demo data: a second and a half of CPU)."""
    if not first_start and not (tmp_path / DATABASE).exists():
        copy_seeded_data_directory(tmp_path)  # what the first start loads, loaded once per test process
    env = {**_env(tmp_path), "XUNZHEN_FAKE_NOW": now, "XUNZHEN_FLOOD_LIMIT": "1000"}
    out = run_bot(["run"], env, "\n".join([*lines, "/quit"]) + "\n")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    return out.stdout.split("例如：/as 廖德福", 1)[1]


def after(screen: str, typed_reply_marker: str) -> str:
    """What the screen shows after the last occurrence of ``typed_reply_marker``."""
    return screen.rsplit(typed_reply_marker, 1)[1]


def test_a_number_typed_at_a_text_step_is_the_answer_not_a_button_still_on_screen(tmp_path):
    chat(tmp_path, "/as 邱建华", "/plan new 350421101 2026-12-07 上午 S0003")  # next Monday
    screen = chat(
        tmp_path,
        "/as 罗志明", "/circuits", "1",  # 记录其他工作
        "1",  # 健康讲座, the first of four buttons: 健康讲座, 业务培训, 送医上门, 特殊人群诊疗
        "3",  # three lectures: an answer, not the third button (送医上门)
        "35",
        now="2026-12-07T15:00",  # that afternoon
    )
    assert "已记录：健康讲座 3 场，听众 35 人" in screen, screen[-1500:]
    assert "送医上门服务了多少人次" not in screen


def test_a_number_at_a_text_step_with_no_buttons_is_never_called_an_expired_button(tmp_path):
    screen = chat(tmp_path, "/as 廖德福", "/new", "邱瑞鹏", "1", "1", "1",  # the last "1" at 请描述……就医需求
                  first_start=True)  # in this process too, not only in test_run_opens_the_local_chat_…'s process
    assert "请描述 邱瑞鹏 的就医需求" in screen
    assert "按钮已失效" not in screen and "没看懂" in after(screen, "就医需求")


def test_after_a_restart_the_open_question_is_shown_again_with_its_numbered_buttons(tmp_path):
    chat(tmp_path, "/as 廖德福", "/new")
    screen = chat(tmp_path, "/as 廖德福", "1")
    assert "廖德福 上次有未完成的操作（登记订单：选择居民）：发送 /as 廖德福" in screen.split("现在的身份", 1)[0]
    shown = screen.split("现在的身份：廖德福", 1)[1]
    assert "请输入居民姓名" in shown and "[1] ＋ 新建居民" in shown  # the question, its button and its number
    assert "请输入居民姓名：" in after(screen, "新建居民")  # "1" pressed ＋ 新建居民 …
    assert "没有找到「1」" not in screen  # … and did not search for a resident called 1


def test_a_restart_whose_clock_reads_earlier_still_offers_the_open_question(tmp_path):
    """A demo's clock starts at XUNZHEN_FAKE_NOW on every start: after a long session, the next start's clock reads
    earlier than the question left open. It is offered all the same."""
    chat(tmp_path, "/as 廖德福", "/new", now="2026-12-04T09:40")
    screen = chat(tmp_path, "/as 廖德福", "1", now="2026-12-04T09:10")
    assert "廖德福 上次有未完成的操作（登记订单：选择居民）：发送 /as 廖德福" in screen.split("现在的身份", 1)[0]


def test_numbers_of_an_earlier_list_keep_working_when_a_later_reply_has_buttons(tmp_path):
    file_one = ["/new", "邱瑞鹏", "1", "1", "腰疼半年了，弯腰疼得厉害", "1", "1", "6", "1"]
    file_two = ["/new", "邱瑞鹏", "1", "眼睛花，看不清字半年了", "1", "1", "6", "1"]
    chat(tmp_path, "/as 廖德福", *file_one, *file_two)
    screen = chat(tmp_path, "/as 曾丽芳", "/pending")
    cards = after(screen, "/pending" if "/pending" in screen else "条待初审")
    merge = re.search(r"\[(\d+)\] 合并重复", cards).group(1)
    approve_second = re.findall(r"\[(\d+)\] 批准(?!本村)", cards)[1]
    screen = chat(tmp_path, "/as 曾丽芳", "/pending", merge, approve_second)
    assert "合并到哪一条订单" in screen  # a reply with buttons of its own …
    assert re.search(r"XZ-\d{8}-\d{4}：已批准", after(screen, "合并到哪一条订单")), screen[-1500:]  # … and then


def test_notifications_name_the_person_and_their_buttons_can_be_pressed_as_them(app, clock):
    """Same-platform notices and the outbox's deliveries (the emergency alert) both name the person, never
    "staff:S0005", and number their buttons on that person's screen: switch to them and type the number."""
    import asyncio
    import io

    from bot.bootstrap import build_conversation
    from bot.delivery.channels import ConsoleChannel
    from bot.delivery.sender import Sender
    from bot.transports.console import ConsoleSession
    from handlers import FloodGuard

    conv = build_conversation(app, clock=clock, flood=FloodGuard(limit=10_000))
    printed = io.StringIO()
    ConsoleSession(app, conv).switch("曾丽芳")  # she has used the console before …
    session = ConsoleSession(app, conv)  # … and this is a fresh start: nobody has been played in this run yet
    channel = ConsoleChannel(stream=printed, screens=session.screens)

    def deliver() -> str:
        asyncio.run(Sender(app.uow, [channel], clock=clock).drain(timeout=5))
        text, _ = printed.getvalue(), printed.truncate(0)
        printed.seek(0)
        return text

    session.switch("廖德福")
    shown = "\n".join(session.handle_line(x) for x in ("/new", "邱瑞鹏", "1", "1", "腰疼半年了", "1", "1", "6", "1"))
    assert "通知 → 曾丽芳" in shown and "staff:" not in shown, shown
    session.handle_line("/new")
    session.handle_line("邱瑞鹏")
    session.handle_line("1")
    session.handle_line("突然胸口剧痛，满头大汗，喘不上气")
    delivered = deliver()
    assert "通知 → 曾丽芳" in delivered and "急症提醒" in delivered and "staff:" not in delivered, delivered
    number = re.search(r"\[(\d+)\] 收到，我来处理", delivered).group(1)
    again = session.switch("曾丽芳")
    assert "急症提醒" in again and f"[{number}] 收到，我来处理" in again  # still on her screen when she looks
    assert "已确认收到" in session.handle_line(number)
    told = deliver()
    assert "通知 → 廖德福" in told and "已收到急症提醒" in told and "staff:" not in told, told
