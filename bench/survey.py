"""Benchmark: a survey sheet of 5,000 rows checked and classified (issue 19, 摸底导入: target ≤ 2 s).

Run from the repository root: ``.venv/bin/python bench/survey.py [--rows 5000] [--format csv|xlsx]``. A throwaway
SQLite database with the Sanming demo data; the sheet is read, every row checked, classified (matcher and red
flags) and its resident looked up, as a village doctor's upload is before the summary card. The matcher's one-time
load is left out (a running bot has it loaded). Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo.run import demo_files
from handlers.services.survey import check_sheet
from nlp import load_matcher
from storage.crypto import FieldCipher
from storage.db import make_engine, migrate
from storage.reference import import_files
from storage.uow import SqlUnitOfWork

TARGET_SECONDS = 2.0
TODAY = date(2026, 11, 23)
VILLAGE, POST = "350421101001", "VP350421101001"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹曾彭萧蔡潘田董袁于余叶蒋杜苏魏程吕丁沈任"
GIVEN = "秀英桂兰玉梅凤珍华建国明德福强文军平安勇荣金水春生林海霞丽芳"
# Symptoms × how long × what the resident wants: 1,600 different needs, one in twenty an emergency's story.
SYMPTOMS = [
    "膝盖疼", "胸口闷，活动后气短", "眼睛看不清", "血压高，头晕", "腰疼，弯腰困难", "血糖控制不好，口干多尿",
    "咳嗽咳痰", "皮肤瘙痒起疹子", "耳朵嗡嗡响，听力下降", "牙疼，牙龈出血", "失眠，晚上睡不着", "肚子胀，吃完饭不舒服",
    "小便不畅，夜里起夜多", "月经不规律", "孩子发育慢，个子矮", "手脚麻木，走路不稳", "关节红肿疼痛，老寒腿",
    "心慌，心跳快", "想做体检，查查身体", "今天突然胸口剧痛，出冷汗",
]
DURATIONS = ["两周", "一个月", "两个月", "三个月", "半年", "一年了", "好几年了", "最近"]
WANTS = ["", "，想请专家看看", "，想尽快看", "，想调药", "，吃药不见好", "，不着急", "，家里人很担心", "，上次没看好",
         "，想复查", "，行动不便"]
NEEDS = [f"{s}{d}{w}" for w in WANTS for d in DURATIONS for s in SYMPTOMS]


def sheet(rows: int, kind: str, seed: int = 7) -> tuple[str, bytes]:
    """A survey sheet of ``rows`` residents (a realistic mix of needs, ages, phones, one emergency in twenty)."""
    rng = random.Random(seed)
    header = ["姓名", "性别", "出生年份/年龄", "手机号", "需求", "知情同意日期", "紧急程度"]
    body = []
    for _ in range(rows):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        birth = str(rng.randint(1935, 2015)) if rng.random() < 0.8 else f"{rng.randint(5, 90)}岁"
        phone = f"139{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.5 else ""
        body.append([name, rng.choice("男女"), birth, phone, NEEDS[rng.randrange(len(NEEDS))], "2026-11-20",
                     rng.choice(["", "", "", "尽快", "常规"])])
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        for r in [header, *body]:
            ws.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return "bench.xlsx", buf.getvalue()
    text = "\r\n".join(",".join(r) for r in [header, *body]) + "\r\n"
    return "bench.csv", text.encode("gb18030")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = parser.parse_args()
    cipher = FieldCipher.from_text(FieldCipher.new_key_text())
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        with SqlUnitOfWork(engine, cipher) as uow:
            import_files(uow, demo_files(), TODAY)
        matcher = load_matcher()
        matcher.classify("膝盖疼")  # the dictionaries load on first use
        name, data = sheet(args.rows, args.format)
        start, cpu = time.perf_counter(), time.process_time()
        with SqlUnitOfWork(engine, cipher) as uow:
            checked = check_sheet(uow, matcher, name=name, data=data, post=POST, village=VILLAGE, today=TODAY)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        engine.dispose()
        engine.dispose()
    summary = checked.summary()
    print(json.dumps({
        "rows": summary["rows"], "format": args.format, "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3), "load_average": round(os.getloadavg()[0], 1),
        "rows_per_s": round(summary["rows"] / seconds), "target": f"{args.rows} rows in ≤ {TARGET_SECONDS} s",
        "met": seconds <= TARGET_SECONDS, "emergencies": summary["emergencies"], "rejected": len(summary["rejected"]),
        "duplicates": summary["duplicates"],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
