"""``python -m bot demo``: a scripted walk through the whole flow, on a throwaway database.

A village doctor files three orders step by step (one an emergency), the township and the hospital review
them, and an expert is assigned; then the doctor files a fourth in one message and two presses. Every step
states what the screen must show; the demo exits non-zero at the first step that did not behave, and prints
the transcript either way.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

DEMO_FILES = ("places.csv", "institutions.csv", "support.csv", "staff.csv", "residents.csv")

# (who, what they type, text that must appear in the answer)
SCRIPT: list[tuple[str, str, str]] = [
    ("廖德福", "/help", "/new"),
    ("廖德福", "/new", "搜索"),
    ("廖德福", "邱", "邱瑞鹏"),
    ("廖德福", "#邱瑞鹏", "居民是否同意"),
    ("廖德福", "#居民已同意", "请描述"),
    ("廖德福", "老人心口疼，胸闷气短，走路就喘", "心血管内科"),
    ("廖德福", "#心血管内科", "紧急程度"),
    ("廖德福", "#常规", "特殊人群"),
    ("廖德福", "#完成", "请核对"),
    ("廖德福", "#确认提交", "已提交，订单号"),
    ("廖德福", "/new", "搜索"),
    ("廖德福", "王霞月", "王霞月"),
    ("廖德福", "#王霞月", "居民是否同意"),
    ("廖德福", "#居民已同意", "请描述"),
    ("廖德福", "突然说话不清楚，嘴歪，右边手脚没力气", "120"),
    ("廖德福", "#结束", "已结束"),
    ("廖德福", "/new", "搜索"),
    ("廖德福", "蔡凤丽", "蔡凤丽"),
    ("廖德福", "#蔡凤丽", "居民是否同意"),
    ("廖德福", "#居民已同意", "请描述"),
    ("廖德福", "眼睛花，看不清字，眼睛干涩", "眼科"),
    ("廖德福", "#眼科", "紧急程度"),
    ("廖德福", "#常规", "特殊人群"),
    ("廖德福", "#完成", "请核对"),
    ("廖德福", "#确认提交", "已提交，订单号"),
    ("曾丽芳", "/pending", "待初审"),
    ("曾丽芳", "#批准本村全部常规订单", "已批准 2 条"),
    ("邱建华", "/pending", "待处理"),
    ("邱建华", "#安排巡诊", "选择出诊专家"),
    ("邱建华", "#罗志明", "已安排巡诊"),
    ("邱建华", "/pending", "眼科"),
    ("邱建华", "#安排巡诊", "选择出诊专家"),
    ("邱建华", "#黄晓敏", "已安排巡诊"),
    ("廖德福", "/orders", "待排巡诊"),
    # The same in one message: the card shows what was understood; the consent stays its own button.
    ("廖德福", "魏安勇 男 1955 膝盖疼两个月，上下楼更疼，想尽快看", "骨科（依据：膝盖疼）"),
    ("廖德福", "#居民已同意", "确认提交"),
    ("廖德福", "#确认提交", "已提交，订单号"),
]


def demo_files() -> dict[str, bytes]:
    """The Sanming demo data shipped in ``bot/demo/data``."""
    folder = resources.files("bot.demo").joinpath("data")
    return {name: folder.joinpath(name).read_bytes() for name in DEMO_FILES}


def run_demo(out=None, settings: Settings | None = None) -> int:
    """Run ``SCRIPT`` through the console session on a fresh database; return the exit code."""
    out = out or sys.stdout
    from bot.bootstrap import build_app, build_conversation
    from bot.config import Settings
    from bot.transports.console import ConsoleSession
    from handlers import FloodGuard
    from storage.crypto import FieldCipher
    from storage.reference import import_files

    settings = settings or Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="xunzhen-demo-") as tmp:
        # The configured settings, on a throwaway embedded database with its own key.
        app = build_app(replace(settings, var_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'xunzhen.db'}",
                                secret_key=FieldCipher.new_key_text(), secret_key_file=None))
        try:
            from datetime import UTC, datetime

            with app.uow() as uow:
                import_files(uow, demo_files(), datetime.now(UTC).date())
            session = ConsoleSession(app, build_conversation(app, flood=FloodGuard(limit=10_000)))
            return _play(session, out)
        finally:
            app.close()
            Path(tmp).exists()


def _play(session, out) -> int:
    persona = None
    for step, (who, typed, expected) in enumerate(SCRIPT, 1):
        if who != persona:
            print(f"\n=== {session.switch(who)}", file=out)
            persona = who
        line = typed
        if typed.startswith("#"):  # press the button with this label
            label = typed[1:]
            index = session.number_of(label)
            if index is None:
                print(f"✗ 第{step}步：找不到按钮「{label}」", file=out)
                return 1
            line = str(index)
        answer = session.handle_line(line)
        print(f"{who}> {typed if not typed.startswith('#') else '[' + typed[1:] + ']'}\n{answer}", file=out)
        if expected not in answer:
            print(f"\n✗ 第{step}步没有出现「{expected}」/ step {step} did not show {expected!r}", file=out)
            return 1
    print(f"\n✓ 演示完成，{len(SCRIPT)} 步全部符合预期 / demo passed, {len(SCRIPT)} steps", file=out)
    return 0
