"""The local chat that `make run` opens, and the scripted demo: `make run` as a real process, the rest in this
process (``tests.cli_runner``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli_runner import run_bot, run_bot_process


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
    assert run(["seed", "--demo"], tmp_path).returncode == 0
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
