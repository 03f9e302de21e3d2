"""Chinese texts (and the English of refusals) for the survey import (issue 19, 摸底导入): the summary card, the
row-by-row cards, and every problem a sheet can have, said by row."""

from __future__ import annotations

from handlers.texts import TEXTS
from handlers.texts_cli import ENGLISH

# A problem with the sheet, or with one row of it: (Chinese, English), filled with the row's values.
PROBLEMS: dict[str, tuple[str, str]] = {
    "no_name": ("缺少姓名", "no name"),
    "bad_name": ("姓名“{value}”不像人名（2–20 个字，不含数字）", "the name “{value}” is not a person's name"),
    "no_sex": ("缺少性别（填 男 或 女）", "no sex (男 or 女, M or F)"),
    "bad_sex": ("性别“{value}”看不懂（填 男 或 女）", "sex “{value}” is not 男/女 (M/F)"),
    "no_birth": ("缺少出生年份或年龄", "no birth year or age"),
    "bad_birth": ("出生年份/年龄“{value}”看不懂（填 1956 或 70岁）",
                  "birth year or age “{value}” is not a year such as 1956 or an age such as 70"),
    "bad_phone": ("手机号“{value}”不是 11 位手机号", "phone “{value}” is not an 11-digit mobile number"),
    "no_need": ("缺少需求", "no need described"),
    "long_need": ("需求太长（{length} 字，最多 {limit} 字）",
                  "the need is too long ({length} characters, at most {limit})"),
    "no_consent": ("缺少知情同意日期：居民须另行书面同意，没有同意的行不能导入",
                   "no consent date: the resident's separate written consent is required"),
    "bad_consent": ("知情同意日期“{value}”看不懂（写成 2026-11-20）",
                    "consent date “{value}” is not a date such as 2026-11-20"),
    "consent_withdrawn": ("{name} 已于 {day} 撤回同意并要求删除信息，表中的同意日期不晚于那天，不能据此重新登记；"
                          "如居民之后又书面同意，请填写新的同意日期，否则请删去这一行",
                          "{name} withdrew consent on {date}; the sheet's consent date is not later, so they are not "
                          "registered again (write the date of a new consent, or delete the row)"),
    "future_consent": ("知情同意日期 {value} 还没到", "consent date {value} is in the future"),
    "bad_urgency": ("紧急程度“{value}”看不懂（填 尽快 或 常规，或留空）",
                    "urgency “{value}” is not 尽快 (soon) or 常规 (routine)"),
    "bad_sms": ("短信同意日期“{value}”看不懂（写成 2026-11-20）", "SMS consent date “{value}” is not a date"),
    "sms_no_phone": ("同意接收短信须填写手机号", "SMS consent needs a mobile phone number"),
    "resident_mismatch": ("本村已登记的 {name}（{year}年生）性别不同，请核对",
                          "{name} (born {year}) is on record with the other sex; please check"),
}

TEXTS.update(
    {
        "survey.help": (
            "摸底导入：把摸底表（Excel 的 xlsx，或另存为 CSV）作为文件发给我，我会逐行检查、推荐科室、识别急症，"
            "给您一张汇总卡片；您确认后才会提交。\n"
            "列：姓名、性别、出生年份/年龄、手机号（可选）、需求、知情同意日期（居民另行书面同意的日期，必填）、"
            "紧急程度（可选：尽快/常规）、短信同意日期（可选）。点下面的按钮下载空白模板。"
        ),
        "survey.help_no_files": (
            "\n注意：企业微信应用收不到文件。填好的摸底表请在 Telegram 机器人里发送，或交给管理员用命令导入"
            "（python -m bot import-survey 文件 --village 村编码）。"
        ),
        "survey.template_button": "下载模板",
        "survey.template_caption": "摸底表模板：每位居民一行，填好后把文件发回给我。",
        "survey.template_sent": "模板已发送（{filename}）。",
        "file.unexpected": "收到文件，但这里只处理村医发送的摸底表（/survey）。如需办理业务，请发送 /help 查看命令。",
        "survey.not_a_sheet": "“{name}”不是摸底表：请发送 Excel 的 xlsx 文件，或另存为 CSV 的文件（/survey 有模板）。",
        "survey.unreadable": "“{name}”读不出来（{reason}）。请用 Excel 另存为 xlsx 或 CSV 后再发。",
        "survey.too_big": "文件太大（{size} KB，最多 {limit} KB）。请分成几个文件发送。",
        "survey.too_many": "行数太多（{rows} 行，最多 {limit} 行）。请分成几个文件发送。",
        "survey.missing_columns": "摸底表缺少这些列：{columns}。请使用模板（/survey）的表头。",
        "survey.refused": "摸底表未导入，共 {count} 处问题（整份文件都没有导入，改好后请重新发送）：\n{lines}",
        "survey.refused_line": "第{row}行：{reason}",
        "survey.card": (
            "摸底表“{file}”：共 {rows} 行。{village}\n{emergencies}{counts}\n{by_specialty}{duplicates}{hint}"
        ),
        "survey.counts": "新居民 {new} 人，已登记居民 {existing} 人；疑似重复 {duplicates} 行；可提交 {ready} 行。",
        "survey.emergencies": (
            "🚨 疑似急症 {count} 行（不会随“全部提交”提交，请立即电话联系居民核实，必要时拨打120）：\n{lines}\n"
        ),
        "survey.emergency_line": "  第{row}行 {name}：{reasons}",
        "survey.by_specialty": "按科室：{lines}\n",
        "survey.duplicates": "疑似重复（不会随“全部提交”提交，可逐行查看后决定）：\n{lines}\n",
        "survey.duplicate_line": "  第{row}行 {name}：{why}",
        "survey.dupe_order": "已有未办结订单 {number}",
        "survey.dupe_row": "与第{row}行相同",
        "survey.hint": "确认无误请点“全部提交”；也可以逐行查看。",
        "survey.all": "全部提交（{count} 行）",
        "survey.rows": "逐行查看",
        "survey.drop": "放弃",
        "survey.dropped": "已放弃这份摸底表，没有提交任何订单。",
        "survey.filed": "已提交 {count} 个订单：{numbers}。卫生院审核后会通知您。",
        "survey.left": "这份摸底表还有 {count} 行待处理（疑似急症或重复），请逐行查看后决定。",
        "survey.nothing_ready": "这份摸底表没有待提交的行了。",
        "survey.not_pending": "这份摸底表已经处理完毕或已放弃。",
        "survey.row_card": (
            "摸底表第{row}行（{index}/{total}）：\n居民：{resident}\n需求：{need}\n科室：{specialty}\n"
            "紧急程度：{urgency}\n{flag}"
        ),
        "survey.row_new": "{name}（{sex}，{year}年生），新居民",
        "survey.row_existing": "{name}（{sex}，{year}年生），本村已登记",
        "survey.row_emergency": "🚨 疑似急症：{reasons}。请先电话联系居民核实，必要时拨打120。",
        "survey.row_duplicate": "⚠️ 疑似重复：{why}",
        "survey.row_file": "提交这一行",
        "survey.row_override": "不是急症，提交",
        "survey.row_anyway": "仍然提交",
        "survey.row_skip": "跳过",
        "survey.row_back": "返回汇总",
        "survey.row_filed": "第{row}行已提交，订单号 {number}。",
        "survey.row_skipped": "第{row}行已跳过。",
        "survey.rows_done": "这份摸底表的行都已处理完。",
        "survey.urgency.soon": "尽快",
        "survey.urgency.routine": "常规",
        "survey.notify": "{village}村医 {doctor} 通过摸底导入提交了 {count} 个订单：{numbers}。请在 /pending 审核。",
        "survey.no_doctor": "{post} 没有村医，摸底表的订单须以村医名义提交。请先用 import 导入该村的村医。",
        "survey.unknown_village": "{code} 不是村的编码（编码见 places.csv）。",
        "survey.not_your_import": "这不是您的摸底表。",
        "console.no_file": "找不到文件 {path}。用法：/file 路径（例如 /file ~/摸底表.xlsx）",
    }
)

ENGLISH.update(
    {
        "survey.not_a_sheet": "“{name}” is no survey sheet: use an .xlsx workbook or a CSV file (--template makes one)",
        "survey.unreadable": "“{name}” could not be read ({reason}); save it again as .xlsx or CSV",
        "survey.too_big": "the file is too big ({size} KB, at most {limit} KB); split it",
        "survey.too_many": "too many rows ({rows}, at most {limit}); split the file",
        "survey.missing_columns": "the sheet lacks the columns {columns_en}; use the template's header (--template)",
        "survey.refused": "the sheet was not imported, {count} problems (nothing was filed):\n{lines_en}",
        "survey.no_doctor": "{post} has no village doctor to file the orders in the name of; import one first",
        "survey.unknown_village": "{code} is not a village code (see places.csv)",
        "survey.not_your_import": "this survey import is not yours",
        "survey.not_pending": "this survey import was already confirmed or dropped",
    }
)
