"""The survey import in the local chat (``make run``): /file sends a sheet as a doctor would in a chat, the numbered
buttons confirm it, and the template is written to the data directory."""

from __future__ import annotations

from pathlib import Path

from tests.survey.survey_helpers import EMERGENCY_ROW, GOOD_ROWS, csv_bytes
from tests.test_console import chat


def test_a_sheet_sent_with_file_in_the_local_chat_is_summarised_and_filed_on_confirm(tmp_path: Path):
    sheet = tmp_path / "摸底.csv"
    sheet.write_bytes(csv_bytes([*GOOD_ROWS, EMERGENCY_ROW], "gbk"))
    screen = chat(tmp_path, "/as 廖德福", f"/file {sheet}", "1")  # [1] 全部提交（3 行）
    assert "黄金花" in screen and "[1] 全部提交（3 行）" in screen
    assert "已提交 3 个订单" in screen
    assert "找不到文件" in chat(tmp_path, "/as 廖德福", "/file /no/such/file.csv")


def test_the_template_is_written_under_the_data_directory(tmp_path: Path):
    screen = chat(tmp_path, "/as 廖德福", "/survey", "1")  # [1] 下载模板
    written = tmp_path / "files" / "摸底表模板.xlsx"
    assert str(written) in screen and written.read_bytes().startswith(b"PK")
