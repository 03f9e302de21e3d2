"""The command line as a user runs it, on a real database file: in this process (``tests.cli_runner``), and
``--help`` as a real process, the entry point a user types."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import copy_seeded_data_directory, run_bot, run_bot_process


def _env(var: Path) -> dict[str, str]:
    env = {**os.environ, "XUNZHEN_VAR_DIR": str(var), "PYTHONIOENCODING": "utf-8"}
    env.pop("DATABASE_URL", None)
    return env


def run_cli(*args: str, var: Path) -> subprocess.CompletedProcess:
    return run_bot(list(args), _env(var))


def test_help_lists_the_commands(tmp_path):
    out = run_bot_process(["--help"], _env(tmp_path))
    assert out.returncode == 0
    for cmd in ("run", "seed", "import", "migrate", "status"):
        assert cmd in out.stdout


def test_seed_demo_twice_changes_nothing_the_second_time(tmp_path):
    first = run_cli("seed", "--demo", var=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "places: 新增或更新 526" in first.stdout
    second = run_cli("seed", "--demo", var=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "新增或更新 0 条" in second.stdout
    assert all(" 0 written" in line for line in second.stdout.splitlines() if "written" in line)
    assert (tmp_path / "xunzhen.db").exists()
    key = tmp_path / "secret.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_a_bad_gbk_file_is_rejected_whole_with_row_numbers(tmp_path):
    copy_seeded_data_directory(tmp_path)  # what ``seed --demo`` leaves (tested above), seeded once per process
    bad = tmp_path / "新员工.csv"
    bad.write_bytes(
        (
            "code,name,institution_code,title,specialties,roles,phone\n"
            "N1,新医生,CH350421,中级,03.04,expert,\n"
            "N2,错医生,CH350421,中级,88.88,expert,\n"
        ).encode("gbk")
    )
    out = run_cli("import", str(bad), var=tmp_path)
    assert out.returncode == 1
    assert "第3行" in out.stderr and "row 3" in out.stderr and "88.88" in out.stderr
    status = run_cli("status", var=tmp_path)
    assert "expert 104" in status.stdout  # N1 was not written either


def test_a_good_gbk_file_is_imported(tmp_path):
    copy_seeded_data_directory(tmp_path)  # what ``seed --demo`` leaves (tested above), seeded once per process
    good = tmp_path / "staff.csv"
    good.write_bytes(
        "code,name,institution_code,title,specialties,roles,phone\nN1,新医生,CH350421,中级,03.04,expert,\n".encode(
            "gbk"
        )
    )
    out = run_cli("import", str(good), var=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "expert 105" in run_cli("status", var=tmp_path).stdout


@pytest.mark.parametrize("missing", ["nope.csv"])
def test_a_missing_file_is_explained(tmp_path, missing):
    out = run_cli("import", str(tmp_path / missing), var=tmp_path)
    assert out.returncode == 2 and "找不到文件" in out.stderr
