"""Survey sheets as a village doctor's computer saves them (issue 19, 摸底导入): CSV in UTF-8, UTF-8 with a BOM or
GBK, and xlsx; and what the database holds afterwards, read as an outsider would (orders of the post)."""

from __future__ import annotations

import io

from storage.uow import SqlUnitOfWork

VILLAGE = "350421101001"  # 城东村（示例）, the post of 廖德福 (S0006)
POST = "VP350421101001"
HEADER = ["姓名", "性别", "出生年份/年龄", "手机号", "需求", "知情同意日期", "紧急程度"]

# 邱瑞鹏 (M, 1942) is on record in the demo data; the other two are new.
GOOD_ROWS = [
    ["邱瑞鹏", "男", "1942", "13900003001", "胸口闷，活动后气短半年", "2026-11-20", ""],
    ["林新民", "男", "68岁", "", "膝盖疼两个月，上下楼更疼", "2026/11/20", "尽快"],
    ["陈秀英", "女", "1950", "", "眼睛看不清一年了", "2026-11-21", ""],
]
GOOD_SUMMARY = {"rows": 3, "new_residents": 2, "existing_residents": 1, "duplicates": 0, "emergencies": 0,
                "rejected": [], "by_specialty": {"03.04": 1, "04.03": 1, "10": 1}}
EMERGENCY_ROW = ["黄金花", "女", "1958", "", "今天突然胸口剧痛，出冷汗", "2026-11-22", ""]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", header: list[str] | None = None) -> bytes:
    """The sheet as Excel's "CSV" save writes it (CRLF line ends)."""
    lines = [",".join(header or HEADER)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    """The sheet as an .xlsx workbook (numbers as numbers, the way a person types them into Excel)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header or HEADER)
    for r in rows:
        ws.append([int(c) if isinstance(c, str) and c.isdigit() and len(c) == 4 else c for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def post_orders(engine, cipher) -> list:
    """Every order of 城东村's post, oldest first."""
    with SqlUnitOfWork(engine, cipher) as uow:
        return uow.orders.list(post_codes=[POST], limit=10_000)


def resident_names(engine, cipher, order_list) -> list[str]:
    """The names of the residents of these orders."""
    with SqlUnitOfWork(engine, cipher) as uow:
        found = uow.residents.get_many(o.resident_id for o in order_list)
        return [found[o.resident_id].name for o in order_list]
