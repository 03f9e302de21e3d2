"""``python -m bot remote …`` on the same database the chat uses (a SQLite file, PostgreSQL): the same use cases,
the same checks, everyone told through the outbox; refusals in Chinese and English with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess

from tests.cli_runner import run_bot
from tests.conftest import ON_SHARED_DATABASES, TEST_KEY
from tests.handlers.test_order_lifecycle import stored
from tests.remote.test_remote_chat import approved_order


def cli(app, tmp_path, *argv: str, now: str = "2026-11-23T18:00:00+08:00", command: str = "remote"
        ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XUNZHEN_", "DATABASE_URL"))}
    env.update(DATABASE_URL=app.engine.url.render_as_string(hide_password=False), XUNZHEN_SECRET_KEY=TEST_KEY,
               XUNZHEN_VAR_DIR=str(tmp_path / "cli-var"), XUNZHEN_FAKE_NOW=now)
    return run_bot([command, *argv] if command else list(argv), env)


@ON_SHARED_DATABASES
def test_the_command_line_schedules_moves_and_records_a_consultation_as_chat_does(chat, cast, app, clock, tmp_path):
    number = approved_order(chat, app)
    ran = cli(app, tmp_path, "schedule", "--order", number, "--expert", "S0003", "--site", "TC350421101",
              "--at", "2026-11-25 15:00", "--room", "腾讯会议 888-123-456", "--by", "S0002")
    assert ran.returncode == 0, ran.stderr
    done = json.loads(ran.stdout)
    assert done["done"] == "scheduled" and done["messages_queued"] >= 4  # expert, township, doctor, grandpa
    chat.deliver_outbox(app.uow, clock())
    assert "11月25日 15:00" in chat.last("grandpa") and "雪峰镇卫生院" in chat.last("grandpa")

    # A sweep run by cron the day before queues the reminder once.
    for expected in (1, 0):
        ran = cli(app, tmp_path, "announce-sweep", command="", now="2026-11-24T16:00:00+08:00")
        assert ran.returncode == 0 and json.loads(ran.stdout)["remote_reminders"] == expected, ran.stdout

    listed = [json.loads(line) for line in cli(app, tmp_path, "list").stdout.splitlines()]
    assert [(x["session"], x["order"], x["when"]) for x in listed] == [(done["session"], number, "11月25日 15:00")]

    ran = cli(app, tmp_path, "move", "--session", done["session"], "--at", "11月26日 10:00", "--reason", "专家出诊",
              "--by", "S0002")
    assert ran.returncode == 0, ran.stderr
    moved = json.loads(ran.stdout)["session"]
    chat.deliver_outbox(app.uow, clock())
    assert "专家出诊" in chat.last("doctor") and "11月26日 10:00" in chat.last("doctor")

    # A colleague who is not the session's expert cannot record its outcome; the expert can, once it has started.
    ran = cli(app, tmp_path, "outcome", "--session", moved, "--advice", "调整用药", "--by", "S0004",
              now="2026-11-26T11:00:00+08:00")
    assert ran.returncode == 2 and "不属于您" in ran.stderr and "not yours" in ran.stderr
    ran = cli(app, tmp_path, "outcome", "--session", moved, "--advice", "调整用药", "--plan", "一月后复查",
              "--refer-up", "--by", "S0003", now="2026-11-26T11:00:00+08:00")
    assert ran.returncode == 0, ran.stderr
    with app.uow() as uow:
        sessions = uow.remote.for_order(stored(app, number).id)
    assert [(s.status.value, s.refer_up, s.followup_plan) for s in sessions] == [
        ("moved", None, None), ("held", True, "一月后复查")]


def test_command_line_refusals_say_what_to_write(chat, cast, app, tmp_path):
    # Each refusal: exit 2, one sentence in Chinese and one in English, nothing stored.
    cases = [
        (("schedule", "--order", "XZ-20991231-0001", "--expert", "S0003", "--site", "TC350421101", "--at",
          "2026-11-25 15:00", "--room", "r", "--by", "S0002"), "XZ-"),
        (("cancel", "--session", "RC999", "--reason", "x", "--by", "S0002"), "remote"),
        (("move", "--session", "RC1", "--at", "next tuesday", "--reason", "x", "--by", "S0002"), "--at"),
        (("cancel", "--session", "RC1", "--reason", "x", "--by", "S9999"), "S9999"),
    ]
    for argv, named in cases:
        ran = cli(app, tmp_path, *argv)
        assert ran.returncode == 2, (argv, ran.stdout, ran.stderr)
        assert "错误：" in ran.stderr and "error:" in ran.stderr and named in ran.stderr, ran.stderr
        assert "Traceback" not in ran.stderr
