"""``python -m bot import-survey FILE --village CODE [--dry-run]`` as an administrator runs it (issue 19, 摸底导入).

The sheet a village doctor made (xlsx, or CSV as Excel saves it: UTF-8, UTF-8 with a BOM, or GBK) becomes draft
orders with their specialties and red flags; ``--dry-run`` prints the summary as JSON and files nothing; without it
the orders are filed all at once, or, if any row is wrong, none and every problem is said by row in Chinese and
English. Emergencies are listed first and never filed by the import.
"""

from __future__ import annotations

import json

import pytest

from storage.uow import SqlUnitOfWork
from tests.circuits.circuit_helpers import worker_env
from tests.cli_runner import run_bot, run_bot_process
from tests.conftest import FIXED_NOW
from tests.survey.survey_helpers import (
    EMERGENCY_ROW,
    GOOD_ROWS,
    GOOD_SUMMARY,
    HEADER,
    VILLAGE,
    csv_bytes,
    post_orders,
    resident_names,
    xlsx_bytes,
)


@pytest.fixture
def world(templates, tmp_path):
    """A seeded database file (the demo's 明溪县); yields its engine."""
    engine = templates.sqlite_engine(True, tmp_path / "survey.db")
    yield engine
    engine.dispose()


def survey(engine, *args: str, process: bool = False):
    env = worker_env(str(engine.url), None, FIXED_NOW, PYTHONIOENCODING="utf-8")
    return (run_bot_process if process else run_bot)(["import-survey", *args], env)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_dry_run_of_a_csv_prints_the_summary_as_json_and_files_nothing(world, tmp_path, cipher, encoding):
    path = write(tmp_path, "摸底.csv", csv_bytes(GOOD_ROWS, encoding))
    done = survey(world, path, "--village", VILLAGE, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == GOOD_SUMMARY
    assert post_orders(world, cipher) == []


def test_a_dry_run_of_an_xlsx_reads_the_same_sheet_the_same_way(world, tmp_path, cipher):
    path = write(tmp_path, "摸底.xlsx", xlsx_bytes(GOOD_ROWS))
    done = survey(world, path, "--village", VILLAGE, "--dry-run", process=True)  # the real process once
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == GOOD_SUMMARY
    assert post_orders(world, cipher) == []


def test_english_headers_are_read_too(world, tmp_path):
    header = ["name", "sex", "age", "phone", "need", "consent_date", "urgency"]
    rows = [["林新民", "M", "68", "", "膝盖疼两个月，上下楼更疼", "2026-11-20", ""]]
    done = survey(world, write(tmp_path, "s.csv", csv_bytes(rows, header=header)), "--village", VILLAGE, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["by_specialty"] == {"04.03": 1}


def test_importing_files_every_order_once_with_the_residents_and_their_consent(world, tmp_path, cipher):
    path = write(tmp_path, "摸底.csv", csv_bytes(GOOD_ROWS))
    done = survey(world, path, "--village", VILLAGE)
    assert done.returncode == 0, done.stderr
    assert "3" in done.stdout and "XZ-" in done.stdout
    orders = post_orders(world, cipher)
    assert len(orders) == 3
    assert sorted(resident_names(world, cipher, orders)) == sorted(r[0] for r in GOOD_ROWS)
    by_name = dict(zip(resident_names(world, cipher, orders), orders, strict=True))
    assert by_name["林新民"].confirmed_specialty == "04.03"
    assert by_name["林新民"].urgency.value != "routine"  # 尽快 on the sheet
    assert by_name["陈秀英"].need_text == "眼睛看不清一年了"
    with SqlUnitOfWork(world, cipher) as uow:
        for o in orders:
            r = uow.residents.get(o.resident_id)
            assert r.has_consent and r.village_code == VILLAGE
        # 林新民 was given as an age: 68 in 2026
        assert by_name["林新民"].resident_id == uow.residents.find("林新民", VILLAGE, 1958).id

    again = survey(world, path, "--village", VILLAGE, "--dry-run")  # the same sheet again: all duplicates now
    summary = json.loads(again.stdout)
    assert summary["duplicates"] == 3 and summary["existing_residents"] == 3 and summary["new_residents"] == 0


def test_a_sheet_with_errors_is_refused_whole_with_every_problem_by_row_in_both_languages(world, tmp_path, cipher):
    rows = [
        *GOOD_ROWS,
        ["张三", "男", "1960", "", "腰疼", "", ""],  # row 5: no consent date
        ["李四", "未知", "1960", "", "腰疼", "2026-11-20", ""],  # row 6: no such sex
        ["王五", "女", "", "", "头晕", "2026-11-20", ""],  # row 7: no birth year or age
        ["赵六", "女", "1960", "123", "头晕", "2026-11-20", ""],  # row 8: not a mobile number
        ["钱七", "女", "1960", "", "", "2026-11-20", ""],  # row 9: no need
        ["孙八", "女", "1960", "", "头晕", "2027-02-30", ""],  # row 10: no such date
    ]
    path = write(tmp_path, "摸底.csv", csv_bytes(rows))
    dry = survey(world, path, "--village", VILLAGE, "--dry-run")
    assert dry.returncode != 0
    summary = json.loads(dry.stdout)
    assert [r["row"] for r in summary["rejected"]] == [5, 6, 7, 8, 9, 10]
    assert "知情同意" in summary["rejected"][0]["reason"] and "consent" in summary["rejected"][0]["reason"]

    done = survey(world, path, "--village", VILLAGE)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for row in (5, 6, 7, 8, 9, 10):
        assert f"第{row}行" in done.stderr and f"row {row}" in done.stderr, done.stderr
    assert "知情同意" in done.stderr and "consent" in done.stderr
    assert post_orders(world, cipher) == []  # not even the good rows


def test_a_row_without_the_residents_consent_is_refused(world, tmp_path, cipher):
    rows = [["林新民", "男", "1958", "", "膝盖疼两个月", "", ""]]
    done = survey(world, write(tmp_path, "s.csv", csv_bytes(rows)), "--village", VILLAGE)
    assert done.returncode == 2
    assert "第2行" in done.stderr and "row 2" in done.stderr
    assert post_orders(world, cipher) == []
    with SqlUnitOfWork(world, cipher) as uow:
        assert uow.residents.find("林新民", VILLAGE, 1958) is None


def test_a_sheet_without_the_needed_columns_says_which_are_missing(world, tmp_path):
    header = ["姓名", "性别", "需求"]
    rows = [["林新民", "男", "膝盖疼"]]
    done = survey(world, write(tmp_path, "s.csv", csv_bytes(rows, header=header)), "--village", VILLAGE)
    assert done.returncode == 2
    assert "知情同意日期" in done.stderr and "出生年份" in done.stderr and "Traceback" not in done.stderr


def test_an_emergency_is_listed_first_and_never_filed_by_the_import(world, tmp_path, cipher):
    rows = [*GOOD_ROWS, EMERGENCY_ROW]
    path = write(tmp_path, "摸底.csv", csv_bytes(rows))
    dry = json.loads(survey(world, path, "--village", VILLAGE, "--dry-run").stdout)
    assert dry["emergencies"] == 1 and dry["rows"] == 4

    done = survey(world, path, "--village", VILLAGE)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "黄金花" in out and "120" in out
    assert out.index("黄金花") < min(out.index(r[0]) if r[0] in out else len(out) for r in GOOD_ROWS)
    orders = post_orders(world, cipher)
    assert len(orders) == 3
    assert "黄金花" not in resident_names(world, cipher, orders)


def test_the_blank_template_is_written_with_the_chinese_headers(world, tmp_path):
    out = tmp_path / "模板.xlsx"
    done = survey(world, "--template", "--out", str(out))
    assert done.returncode == 0, done.stderr
    from openpyxl import load_workbook

    ws = load_workbook(out).active
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    for name in ("姓名", "性别", "需求", "知情同意日期"):
        assert name in header
    # and the template itself is a sheet the import reads (empty: no rows, nothing refused)
    done = survey(world, str(out), "--village", VILLAGE, "--dry-run")
    assert json.loads(done.stdout)["rows"] == 0


def test_an_unknown_village_or_a_file_that_is_no_sheet_is_one_polite_sentence(world, tmp_path):
    path = write(tmp_path, "s.csv", csv_bytes(GOOD_ROWS))
    done = survey(world, path, "--village", "999999999999")
    assert done.returncode == 2 and "999999999999" in done.stderr and "Traceback" not in done.stderr
    junk = write(tmp_path, "s.xlsx", b"PK\x03\x04 not really a workbook")
    done = survey(world, junk, "--village", VILLAGE)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_a_row_with_a_phone_and_sms_consent_is_registered_for_sms(world, tmp_path, cipher):
    header = [*HEADER, "短信同意日期"]
    rows = [GOOD_ROWS[0] + ["2026-11-20"], ["林新民", "男", "1958", "13900007777", "膝盖疼", "2026-11-20", "", ""]]
    done = survey(world, write(tmp_path, "s.csv", csv_bytes(rows, header=header)), "--village", VILLAGE)
    assert done.returncode == 0, done.stderr
    with SqlUnitOfWork(world, cipher) as uow:
        [reg] = uow.sms.with_number("13900003001")
        assert reg.active and reg.source == "survey"
        assert uow.sms.with_number("13900007777") == []  # a phone but no SMS consent: not registered


def test_excel_dates_and_numbers_in_an_xlsx_are_read_as_a_person_typed_them(world, tmp_path):
    from datetime import datetime

    rows = [["林新民", "男", 1958, 13900007777, "膝盖疼两个月", datetime(2026, 11, 20), None]]
    done = survey(world, write(tmp_path, "s.xlsx", xlsx_bytes(rows)), "--village", VILLAGE, "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["by_specialty"] == {"04.03": 1}


def test_a_small_xlsx_that_unpacks_to_something_huge_is_refused_before_it_is_read(world, tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(GOOD_ROWS))) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/padding.bin", b"\0" * (33 * 1024 * 1024))  # 33 MB of nothing, a few dozen KB packed
    assert len(buf.getvalue()) < 1024 * 1024
    done = survey(world, write(tmp_path, "bomb.xlsx", buf.getvalue()), "--village", VILLAGE, "--dry-run")
    assert done.returncode == 2 and "太大" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr



def test_one_new_person_on_two_rows_with_two_needs_is_one_resident_with_two_orders(world, tmp_path, cipher):
    rows = [
        ["林新民", "男", "1958", "", "膝盖疼两个月，上下楼更疼", "2026-11-20", ""],
        ["林新民", "男", "1958", "", "眼睛看不清一年了", "2026-11-20", ""],
    ]
    path = write(tmp_path, "s.csv", csv_bytes(rows))
    assert json.loads(survey(world, path, "--village", VILLAGE, "--dry-run").stdout)["new_residents"] == 1
    done = survey(world, path, "--village", VILLAGE)
    assert done.returncode == 0, done.stderr
    orders = post_orders(world, cipher)
    assert len(orders) == 2 and len({o.resident_id for o in orders}) == 1  # as the dry run said: one new resident
