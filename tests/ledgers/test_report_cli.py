"""``python -m bot report`` and friends as a clerk runs them on the seeded year (SQLite): refusals as a real
process, the rest in this process (``tests.cli_runner``)."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from domain.ledgers import (
    DEFAULT_TARGETS,
    LeadStatus,
    check_lead_change,
    frequency_overdue,
    order_funnel,
    parse_period,
    project_completion,
    wait_stats,
)
from domain.places import PlaceLevel
from tests.cli_runner import run_bot, run_bot_process
from tests.conftest import TEST_KEY


@pytest.fixture(scope="module")
def world_copy(sqlite_world, tmp_path_factory):
    """A copy of the seeded database for processes that write (the module's other tests only read)."""
    import sqlite3

    _, _, path = sqlite_world
    dest = tmp_path_factory.mktemp("cli") / "xz.db"
    with sqlite3.connect(path) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)
    return dest


def _env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "XUNZHEN_SECRET_KEY": TEST_KEY,
        "XUNZHEN_FAKE_NOW": "2026-11-23T10:30:00+08:00",
        "PYTHONIOENCODING": "utf-8",
        "MPLBACKEND": "Agg",
    }


def bot(*args: str, db: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The command in this process (``tests.cli_runner``)."""
    return run_bot(list(args), _env(db), stdin)


def bot_process(*args: str, db: Path) -> subprocess.CompletedProcess:
    """The command as a real process, as a clerk runs it."""
    return run_bot_process(list(args), _env(db))


def test_the_yearly_workbook_has_one_frozen_sheet_per_ledger_and_charts(world_copy, tmp_path):
    from openpyxl import load_workbook

    out = bot(
        "report",
        "--period",
        "2026",
        "--format",
        "xlsx",
        "--out",
        str(tmp_path / "r.xlsx"),
        "--charts",
        str(tmp_path / "charts"),
        db=world_copy,
    )
    assert out.returncode == 0, out.stderr
    assert "生成报表" in out.stderr  # progress on stderr
    wb = load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == [
        "工作台账-医师",
        "工作台账-巡诊",
        "目标进度",
        "规则预警",
        "已逾期地点",
        "问题线索台账",
        "整改清单",
        "订单漏斗与候诊",
        "首诊病种目录",
        "远程会诊",  # issue 20
        "双向转诊",
    ]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.b
        assert ws.column_dimensions["A"].width >= 10
    progress = {r[0]: r for r in wb["目标进度"].iter_rows(min_row=2, values_only=True)}
    assert progress["学术讲座"][2] == DEFAULT_TARGETS.lectures
    rules = [r[0] for r in wb["规则预警"].iter_rows(min_row=2, values_only=True)]
    assert any("无故缺席" in r for r in rules) and any("移动医院" in r for r in rules)
    for name in ("progress.png", "funnel.png", "waits.png"):
        assert (tmp_path / "charts" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_target_figure_carries_its_definition_and_the_seed_words_behind_it(world_copy, tmp_path):
    """Issue 18: a clerk checks each figure against seed 003 without reading code: the workbook says what is counted
    (口径) and quotes the seed (依据) beside every target; each sheet says what it lists."""
    from openpyxl import load_workbook

    out = bot("report", "--period", "2026", "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"), db=world_copy)
    assert out.returncode == 0, out.stderr
    wb = load_workbook(tmp_path / "r.xlsx")
    ws = wb["目标进度"]
    headers = [c.value for c in ws[1]]
    assert "口径" in headers and "依据" in headers
    rows = {r[0]: dict(zip(headers, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 10 and all(r["口径"] and r["依据"] for r in rows.values())
    physicians = rows["下基层医师（中级及以上）"]
    assert "中级" in physicians["口径"] and "乡镇卫生院" in physicians["口径"] and "不计入" in physicians["口径"]
    assert "146" in physicians["依据"] and "003" in physicians["依据"]
    assert "20人次" in rows["三级医院对口帮扶县级医院"]["依据"]
    assert "应巡日期已过" in wb["已逾期地点"]["A1"].comment.text
    circuits = [c.value for c in wb["工作台账-巡诊"][1]]
    assert "巡诊编号" in circuits and "计入医师下基层" in circuits
    sent = [r for r in wb["工作台账-巡诊"].iter_rows(min_row=2, values_only=True)]
    flags = {r[circuits.index("级别")]: set() for r in sent}
    for r in sent:
        flags[r[circuits.index("级别")]].add(r[circuits.index("计入医师下基层")])
    assert flags["乡镇级"] == {"是"} and flags["县级"] == flags["村级"] == flags["移动医院"] == {"否"}


def test_csv_and_markdown_for_a_county_month(world_copy, tmp_path):
    out = bot(
        "report",
        "--period",
        "2026-11",
        "--county",
        "350421",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "c"),
        db=world_copy,
    )
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "c").glob("*.csv"))
    assert len(files) == 11 and files[0].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Chinese
    with files[1].open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "日期" and all("翠江" not in r[2] for r in rows[1:])
    md = bot(
        "report",
        "--period",
        "2026-Q4",
        "--county",
        "350421",
        "--format",
        "md",
        "--out",
        str(tmp_path / "r.md"),
        db=world_copy,
    )
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert md.returncode == 0 and text.startswith("# 明溪县巡诊工作报告（2026年第4季度")
    assert "| 医师编码 | 姓名 |" in text


def test_bad_period_and_unknown_county_are_refused(world_copy):
    assert bot_process("report", "--period", "2026-13", db=world_copy).returncode == 2
    bad = bot_process("report", "--period", "2026", "--county", "999999", "--format", "md", db=world_copy)
    assert bad.returncode == 2 and "ledger.bad_area" in bad.stderr


def test_hotline_lead_targets_absence_and_password_from_the_command_line(world_copy, tmp_path):
    added = bot(
        "lead",
        "add",
        "--source",
        "hotline",
        "--summary",
        "12345：专家迟到",
        "--place",
        "350421101",
        "--ticket",
        "12345-0001",
        "--owner",
        "S0002",
        db=world_copy,
    )
    assert added.returncode == 0, added.stderr
    lead_id = added.stdout.split()[1]
    refused = bot("lead", "update", "--id", lead_id, "--status", "resolved", db=world_copy)
    assert refused.returncode == 2 and "lead.resolution_required" in refused.stderr
    assert (
        bot(
            "lead", "update", "--id", lead_id, "--status", "resolved", "--resolution", "已约谈", db=world_copy
        ).returncode
        == 0
    )
    assert (
        bot(
            "target", "--place", "350421", "--year", "2026", "--set", "lectures=12", "patients=300", db=world_copy
        ).returncode
        == 0
    )
    assert bot("target", "--place", "350421", "--year", "2026", "--set", "nonsense=1", db=world_copy).returncode == 2
    assert bot("absence", "--circuit", "1", "--staff", "S0031", db=world_copy).returncode == 2  # not on that circuit
    weak = bot("set-password", "--staff", "S0002", db=world_copy, stdin="short\n")
    assert weak.returncode == 2
    assert (
        bot("set-password", "--staff", "S0003", db=world_copy, stdin="long-enough-password\n").returncode == 2
    )  # expert
    assert bot("set-password", "--staff", "S0002", db=world_copy, stdin="long-enough-password\n").returncode == 0
    out = bot(
        "report",
        "--period",
        "2026-11",
        "--county",
        "350421",
        "--format",
        "md",
        "--out",
        str(tmp_path / "m.md"),
        db=world_copy,
    )
    text = (tmp_path / "m.md").read_text(encoding="utf-8")
    assert out.returncode == 0 and "12345：专家迟到" in text and "已约谈" in text
    assert "| 学术讲座 | 场次 | 12 |" in text  # the county's own target


# --- pure rules, small cases ------------------------------------------------------------------------------


def test_periods_parse_as_month_quarter_and_year():
    assert parse_period("2026-11").last.isoformat() == "2026-11-30"
    q = parse_period("2026-Q4")
    assert (q.first.isoformat(), q.last.isoformat(), q.label) == ("2026-10-01", "2026-12-31", "2026年第4季度")
    assert parse_period("2026").months()[-1].month == 12


def test_projection_extrapolates_the_pace_so_far():
    from datetime import date

    # 40 lectures in the first 100 days of the year: 0.4 a day, 40 more take 100 more days
    assert project_completion(80, 40, date(2026, 1, 1), date(2026, 4, 10)) == date(2026, 7, 19)
    assert project_completion(80, 80, date(2026, 1, 1), date(2026, 4, 10)) is None  # met
    assert project_completion(80, 0, date(2026, 1, 1), date(2026, 4, 10)) is None  # no pace yet


def test_frequency_rules_per_level():
    from datetime import date

    places = [("T", PlaceLevel.TOWNSHIP), ("C", PlaceLevel.COUNTY), ("V", PlaceLevel.VILLAGE)]
    visits = {
        "T": [date(2026, 1, 5), date(2026, 3, 9)],
        "C": [date(2026, 2, 1)],
        "V": [date(2026, 1, 6), date(2026, 1, 13), date(2026, 1, 27)],
    }
    got = {
        o.place_code: o
        for o in frequency_overdue(places, visits, date(2026, 1, 1), date(2026, 3, 31), date(2026, 2, 10))
    }
    assert "C" not in got  # Q1 has not ended
    assert "T" not in got  # January met, February not ended
    assert got["V"].first_missed == date(2026, 1, 20) and got["V"].missed == 3  # due 01-20, 02-03, 02-10


def test_funnel_waits_and_lead_rules():
    stages = order_funnel(
        {
            ("served", "circuit"): 5,
            ("no_show", "circuit"): 1,
            ("submitted", None): 4,
            ("rejected", "reject"): 2,
            ("rejected", None): 3,
        }
    )
    assert [s.count for s in stages] == [15, 8, 6, 6, 5, 1]
    w = wait_stats([3, 10, 20, 40, 90])
    assert (w.mean, w.median, w.p90) == (32.6, 20.0, 90)
    from domain.errors import DomainError

    with pytest.raises(DomainError):
        check_lead_change(LeadStatus.CLOSED, LeadStatus.OPEN, "x")
    with pytest.raises(DomainError):
        check_lead_change(LeadStatus.OPEN, LeadStatus.RESOLVED, "")


def test_a_report_without_out_is_written_under_the_data_directory_and_its_path_printed(world_copy, tmp_path):
    """Run from the code's own folder (as ``make`` does), a report lands in the data directory, never beside the
    code; the path is printed whole, so a clerk can open it."""
    root = Path(__file__).resolve().parents[2]
    before = set(root.iterdir())
    out = run_bot(["report", "--period", "2026-11", "--format", "md"], {**_env(world_copy), "XUNZHEN_VAR_DIR":
                                                                         str(tmp_path)})
    assert out.returncode == 0, out.stderr
    written = tmp_path / "reports" / "report-2026-11.md"
    assert written.is_file() and out.stdout.strip() == str(written.resolve())
    assert set(root.iterdir()) == before


def test_progress_lines_in_a_pipe_or_a_log_file_hold_no_terminal_codes(world_copy, tmp_path):
    """stderr is a pipe here: no carriage returns redrawing a line, no ``\\x1b[K``; one line per stage at most."""
    out = bot("report", "--period", "2026", "--format", "md", "--out", str(tmp_path / "r.md"), db=world_copy)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stderr and "\r" not in out.stderr
    assert "生成报表" in out.stderr and len(out.stderr.splitlines()) <= 3
