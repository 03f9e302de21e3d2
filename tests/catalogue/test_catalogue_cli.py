"""``python -m bot catalogue`` as a clerk of the health commission runs it (issue 20 part 3): adopt the shared starting
list for a township center, import the center's own CSV, list what the catalogue was on a given day, and ask whether a
complaint is in it. SQLite file: this is about the command, the storage contract covers PostgreSQL."""

from __future__ import annotations

import csv

import pytest

from tests.circuits.circuit_helpers import worker_env
from tests.cli_runner import run_bot, run_bot_process
from tests.conftest import FIXED_NOW

CENTER = "TC350421101"  # 雪峰镇卫生院, 明溪县


@pytest.fixture
def db_url(templates, tmp_path):
    engine = templates.sqlite_engine(True, tmp_path / "catalogue.db")
    engine.dispose()
    return str(engine.url)


def bot(url: str, *args: str):
    return run_bot(["catalogue", *args], worker_env(url, None, FIXED_NOW, PYTHONIOENCODING="utf-8"))


def write_csv(path, rows, header=("disease", "icd10", "added_on", "removed_on")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def test_adopting_the_starting_list_then_matching_a_colloquial_complaint(db_url):
    empty = bot(db_url, "--institution", CENTER)
    assert empty.returncode == 0 and "尚未" in empty.stdout
    adopted = bot(db_url, "--institution", CENTER, "--adopt-default")
    assert adopted.returncode == 0, adopted.stderr
    assert "80" in adopted.stdout
    again = bot(db_url, "--institution", CENTER, "--adopt-default")  # a re-run adds nothing
    assert again.returncode == 0 and "0" in again.stdout
    listed = bot(db_url, "--institution", CENTER)
    assert "高血压（I10）" in listed.stdout and "慢性胃炎（K29.5）" in listed.stdout
    assert "80/50" in listed.stdout  # size against the target of an ordinary township center
    matched = bot(db_url, "--institution", CENTER, "--match", "老人家血压高，头晕")
    assert matched.returncode == 0
    assert "高血压（I10）" in matched.stdout and "血压高" in matched.stdout
    missed = bot(db_url, "--institution", CENTER, "--match", "白内障要做手术")
    assert "不在" in missed.stdout


def test_an_imported_catalogue_is_dated_and_can_be_read_as_it_was_on_a_past_day(db_url, tmp_path):
    path = write_csv(tmp_path / "xuefeng.csv", [
        ("高血压", "I10", "2026-01-01", ""),
        ("2型糖尿病", "E11", "2026-01-01", ""),
        ("急性上呼吸道感染", "J06.9", "2026-01-01", "2026-11-01"),
        ("慢性胃炎", "K29.5", "2026-11-10", ""),
    ])
    imported = bot(db_url, "--institution", CENTER, "--import", path)
    assert imported.returncode == 0, imported.stderr
    october = bot(db_url, "--institution", CENTER, "--on", "2026-10-15")
    assert "急性上呼吸道感染（J06.9）" in october.stdout and "慢性胃炎" not in october.stdout
    now = bot(db_url, "--institution", CENTER)
    assert "急性上呼吸道感染" not in now.stdout and "慢性胃炎（K29.5）" in now.stdout
    assert "3/50" in now.stdout
    past = bot(db_url, "--institution", CENTER, "--match", "感冒了，嗓子疼", "--on", "2026-10-15")
    assert "急性上呼吸道感染（J06.9）" in past.stdout
    today = bot(db_url, "--institution", CENTER, "--match", "感冒了，嗓子疼")
    assert "不在" in today.stdout


def test_a_bad_catalogue_file_is_refused_whole_with_row_numbers(db_url, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [
        ("高血压", "I10", "2026-01-01", ""),
        ("", "E11", "2026-01-01", ""),
        ("慢性胃炎", "胃炎", "2026-01-01", ""),
        ("痛风", "M10", "2026-13-01", ""),
    ])
    refused = bot(db_url, "--institution", CENTER, "--import", path)
    assert refused.returncode != 0
    assert "第3行" in refused.stderr and "第4行" in refused.stderr and "第5行" in refused.stderr
    listed = bot(db_url, "--institution", CENTER)
    assert "尚未" in listed.stdout  # nothing of the file was written


def test_an_unknown_or_non_township_institution_is_refused_in_both_languages(db_url):
    unknown = run_bot_process(["catalogue", "--institution", "TC999", "--adopt-default"],
                              worker_env(db_url, None, FIXED_NOW, PYTHONIOENCODING="utf-8"))
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "机构" in unknown.stderr and "institution" in unknown.stderr.lower()
    hospital = bot(db_url, "--institution", "CH350421", "--adopt-default")
    assert hospital.returncode != 0 and "卫生院" in hospital.stderr
    bad_day = bot(db_url, "--institution", CENTER, "--on", "yesterday")
    assert bad_day.returncode != 0 and "Traceback" not in bad_day.stderr


def test_the_demo_centers_own_catalogue_imports_and_reads_back_by_day(db_url):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "bot" / "demo" / "data" / "catalogue_TC350421101.csv"
    imported = bot(db_url, "--institution", CENTER, "--import", str(demo))
    assert imported.returncode == 0, imported.stderr
    assert "53/50" in imported.stdout and "已达标" in imported.stdout
    summer = bot(db_url, "--institution", CENTER, "--on", "2026-08-01")
    assert "52/50" in summer.stdout and "社区获得性肺炎（轻症）（J18.9）" in summer.stdout
    assert "带状疱疹" not in summer.stdout
    before = bot(db_url, "--institution", CENTER, "--on", "2025-05-31")
    assert "没有首诊病种" in before.stdout


def test_a_spreadsheet_saved_by_excel_on_chinese_windows_with_chinese_headers_imports(db_url, tmp_path):
    path = tmp_path / "雪峰镇.csv"
    path.write_bytes("病名,ICD-10,纳入日期\r\n高血压,i10,2026-01-01\r\n痛风,M10.9,\r\n".encode("gb18030"))
    imported = bot(db_url, "--institution", CENTER, "--import", str(path))
    assert imported.returncode == 0, imported.stderr
    listed = bot(db_url, "--institution", CENTER)
    assert "高血压（I10）\t自 2026-01-01 起" in listed.stdout and "痛风（M10.9）\t自 2026-11-23 起" in listed.stdout
    matched = bot(db_url, "--institution", CENTER, "--match", "尿酸高，脚趾痛风发作")
    assert "痛风（M10.9）" in matched.stdout
