"""Configuration: every setting read once into ``Settings``, with its default, and handed down from there."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.bootstrap import build_app, make_clock
from bot.config import CHINA, Settings, WorkerSettings, parse_fake_now
from domain.announcements import DEFAULT_OFFSETS, Offset
from storage.db import SqliteOptions
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[1]


def test_an_empty_environment_gives_the_documented_defaults():
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///var/xunzhen.db" and s.transport == "console" and s.log_level == "INFO"
    assert s.sqlite == SqliteOptions(busy_timeout_ms=5000, wal_autocheckpoint_pages=4000)
    assert s.worker == WorkerSettings(roles=frozenset({"scheduler", "sender"}), reminders=DEFAULT_OFFSETS,
                                      sweep_seconds=60.0, outbox_lease_seconds=60.0)
    assert (s.send_rate, s.flood_limit, s.handler_processes, s.retention_days) == (30, 8, 0, 365)
    assert s.extra_holidays == frozenset() and s.fake_now is None and s.dashboard_secure_cookie is None


def test_the_worker_and_dashboard_settings_come_from_the_environment():
    s = Settings.from_env({"XUNZHEN_WORKER_ROLES": "sender", "XUNZHEN_REMINDERS": "2d@08:30",
                           "XUNZHEN_SWEEP_SECONDS": "1", "XUNZHEN_OUTBOX_LEASE_SECONDS": "4.5",
                           "XUNZHEN_DASHBOARD_SECURE_COOKIE": "off", "XUNZHEN_HOLIDAYS": "2027-01-02"})
    assert s.worker == WorkerSettings(roles=frozenset({"sender"}), reminders=(Offset(2, time(8, 30)),),
                                      sweep_seconds=1.0, outbox_lease_seconds=4.5)
    assert s.dashboard_secure_cookie is False
    assert len(s.extra_holidays) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("XUNZHEN_SWEEP_SECONDS", "soon"),
        ("XUNZHEN_OUTBOX_LEASE_SECONDS", "0"),
        ("XUNZHEN_WORKER_ROLES", "scheduler,mailer"),
        ("XUNZHEN_REMINDERS", "3 days"),
        ("XUNZHEN_FAKE_NOW", "yesterday"),
        ("XUNZHEN_DASHBOARD_SECURE_COOKIE", "maybe"),
        ("XUNZHEN_SQLITE_BUSY_MS", "-1"),
        ("XUNZHEN_RETENTION_DAYS", "a year"),
    ],
)
def test_a_bad_value_stops_the_service_with_the_variable_named(name, value):
    """In Chinese and in English (issue 18: every error a person can cause), never a traceback."""
    with pytest.raises(SystemExit, match=name) as stopped:
        Settings.from_env({name: value})
    said = str(stopped.value.code)
    assert re.search(r"[\u4e00-\u9fff]", said) and len(re.findall(r"\b[a-z]{2,}\b", said)) >= 3, said


def test_a_fake_now_without_a_time_zone_is_sanming_time():
    """The one rule for XUNZHEN_FAKE_NOW: an offset is kept as written; without one it is Asia/Shanghai."""
    assert parse_fake_now("2026-12-04T09:10:00") == datetime(2026, 12, 4, 1, 10, tzinfo=UTC)
    assert parse_fake_now("2026-12-04T09:10:00").tzinfo == CHINA
    assert parse_fake_now("2026-12-04T09:10:00+00:00") == datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
    assert Settings.from_env({"XUNZHEN_FAKE_NOW": "2026-12-04 09:10"}).fake_now == datetime(2026, 12, 4, 9, 10,
                                                                                           tzinfo=CHINA)


def test_the_one_fake_clock_starts_at_the_fake_now_and_runs_at_real_speed():
    start = parse_fake_now("2026-12-04T09:10:00")
    clock = make_clock(start)
    first, second = clock(), clock()
    assert start <= first <= second < start + timedelta(seconds=5)
    real = make_clock(None)()
    assert real.tzinfo is UTC and abs(real - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_sqlite_options_reach_the_engine_as_arguments(tmp_path):
    settings = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "XUNZHEN_SECRET_KEY": TEST_KEY,
                                  "XUNZHEN_SQLITE_BUSY_MS": "1234", "XUNZHEN_SQLITE_CHECKPOINT_PAGES": "777"})
    app = build_app(settings, migrate_schema=False)
    try:
        with app.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 1234
            assert conn.execute(sa.text("PRAGMA wal_autocheckpoint")).scalar() == 777
    finally:
        app.close()


def test_the_entry_point_opts_in_to_ptb_timedeltas_before_any_chat_library_is_imported(monkeypatch):
    """PTB reads PTB_TIMEDELTA itself; ``main`` sets it (keeping an operator's value), and importing the entry
    point has not imported python-telegram-bot (nor aiogram) yet."""
    from bot.cli.main import main

    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    assert main([]) == 0
    import os

    assert os.environ["PTB_TIMEDELTA"] == "true"
    monkeypatch.setenv("PTB_TIMEDELTA", "false")
    assert main([]) == 0
    assert os.environ["PTB_TIMEDELTA"] == "false"
    probe = "import sys, bot.cli.main; print(sorted({'telegram', 'aiogram'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_readme_lists_every_variable_the_settings_read_once():
    """README → Configuration has one row per variable, and exactly the variables bot/config.py reads."""
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', source)) - {"PTB_TIMEDELTA"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section, flags=re.M)
    assert len(rows) == len(set(rows)), sorted(r for r in rows if rows.count(r) > 1)
    assert set(rows) == read
