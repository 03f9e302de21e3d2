"""Refusals a person can cause on the command line, each as a sentence in Chinese (the one catalogue) and in English,
saying what to do instead. ``bot.cli`` prints both for every ``DomainError`` a command raises; keys the chat also
uses keep their chat wording in Chinese."""

from __future__ import annotations

from domain.ledgers import TARGET_SPECS
from handlers import texts_circuits, texts_ledgers, texts_posters, texts_referrals  # noqa: F401  (their keys are refusals here too)
from handlers.texts import TEXTS, t

TEXTS.update(
    {
        # --- any command ----------------------------------------------------------------------------------------
        "cli.usage": "命令行参数有误：{message}。请用 {help} 查看写法。",
        "cli.file": "无法读写文件 {path}（{reason}）。请检查路径是否存在、是否有权限。",
        "cli.no_such_file": "找不到文件 {path}。请检查路径和文件名。",
        "cli.bad_date": "{option} 的日期“{text}”看不懂，请写成 年-月-日，例如 2026-12-31。",
        "cli.bad_number": "{option} 应为整数，收到的是“{text}”。",
        "cli.bad_listen": "--listen 应为 地址:端口，例如 127.0.0.1:8081，收到的是“{text}”。",
        "refused.generic": "操作被拒绝（{key}）。",
        # --- reference codes ------------------------------------------------------------------------------------
        "staff.unknown": "没有人员编码 {code}。人员编码见导入的 staff.csv 第一列（如 S0003）。",
        "institution.unknown": "没有机构编码 {code}。机构编码见导入的 institutions.csv 第一列（如 TC350421101）。",
        "circuit.unknown": (
            "没有编号为 {id} 的巡诊。巡诊编号见报表“工作台账-巡诊”的“巡诊编号”列，或在聊天中发送 /plan list。"
        ),
        # --- report, targets, leads, absences -------------------------------------------------------------------
        "ledger.bad_period": "期间“{text}”看不懂。请写成 2026-11（月）、2026-Q4（季度）或 2026（年）。",
        "ledger.bad_area": "{code} 不是市或县（市、区）的地点编码。全市用 350400，县用如 350421（明溪县）。",
        "ledger.outside_scope": "这个地区不在您可以查看的范围内。",
        "ledger.unknown_target": "没有名为“{name}”的年度目标。可设定的目标：{names}。例如 --set lectures=80。",
        "ledger.bad_target_item": "“{item}”的写法不对：应为 目标名=数字，例如 lectures=80。",
        "ledger.negative_target": "目标数不能为负数。",
        "ledger.target_not_area": (
            "{code}（{name}）不是市或县：年度目标只能设给市（如 350400）或县（市、区，如 {county}）。"
        ),
        "lead.unknown": "没有编号为 {id} 的问题线索。线索编号见报表“问题线索台账”第一列。",
        "lead.empty": "问题描述不能为空，请用 --summary 写明投诉的内容。",
        "lead.illegal_transition": (
            "问题线索不能从“{status}”改为“{to}”。已办结的线索不能再改；整改中的可改为已整改或已办结。"
        ),
        "lead.resolution_required": "改为已整改或已办结时，请用 --resolution 写明整改措施。",
        "plan.month_invalid": "月份“{month}”看不懂，请写成 2026-12。",
        "plan.outside_support_usage": (
            "--outside-support 只能由管理员（--admin 人员编码）为指定医院（--hospital 机构编码）使用，"
            "并与 --accept 一起。"
        ),
        "plan.not_admin": "{code} 不是在职的管理员，不能允许在支援范围以外排班。",
        # --- dashboard passwords --------------------------------------------------------------------------------
        "password.differ": "两次输入的密码不一致，请重新运行 set-password。",
        "password.short": "密码至少 {min} 位，请换一个更长的密码。",
        "password.not_allowed": "{name}（{code}）不是管理员或医院审核员，不能登录看板。",
        # --- invites --------------------------------------------------------------------------------------------
        "invite.unknown_institution": (
            "没有机构编码 {code}。请核对 --institution（如卫生院 TC350421101、县总医院 CH350421）。"
        ),
        "invite.staff_elsewhere": (
            "{name}（{staff}）在{home}（{home_code}）工作，不在 {code}。请把 --institution 改为 {home_code}，"
            "或去掉 --staff 为新同事生成邀请码。"
        ),
        "invite.staff_lacks_role": (
            "{name}（{staff}）没有“{role}”身份（现有：{roles}）。请改用其中一个 --role，"
            "或先在 staff.csv 里为其加上这个身份并导入。"
        ),
        # --- the specialty matcher's tools ---------------------------------------------------------------------
        "nlp.no_examples": (
            "没有可用的训练样本：还没有已确认科目的订单，或文件里没有有效行（每行一个 JSON：text、code）。"
        ),
        "nlp.cannot_train": "无法训练：{reason}",
        "nlp.no_model": "找不到模型文件 {path}。请先用 nlp-train --out 训练出模型，或去掉 --model 只用词典。",
        "nlp.empty_file": "文件 {path} 里没有案例，请检查文件内容（每行一个 JSON）。",
        "nlp.bad_json": "文件 {path} 第 {line} 行不是 JSON，请改正后重试（每行一个 JSON 对象）。",
        # --- the access audit -----------------------------------------------------------------------------------
            "audit.who": "请用 --resident 姓名（同名时加 --village 村名或村编码）或 --order 订单号 指明查看谁的记录。",
        "audit.no_resident": (
            "没有找到名为“{name}”的居民{where}。请核对姓名，或加 --village 村名/村编码，或改用 --order 订单号。"
        ),
        "audit.several": "有 {count} 位名为“{name}”的居民：{choices}。请加 --village 村编码 指明是哪一位。",
        "audit.unknown_village": "没有名为或编码为“{village}”的村。请用村的编码（如 350421101001）或完整村名。",
    }
)

# English, key for key, for every refusal the command line can print. A key missing here prints the generic line.
ENGLISH: dict[str, str] = {
    "poster.unknown_circuit": "no circuit {id}; the circuit ids are in /plan list or the dashboard's calendar",
    "poster.cancelled": "circuit {id} was cancelled: no poster for it",
    "poster.not_served": "circuit {id} does not serve village {village}; leave out --village or name one it serves",
    "poster.unknown_village": "not a village code: {code}; village codes are in places.csv",
    "poster.not_township": "not a township code: {code}; township codes are in places.csv",
    "cli.usage": "{message}; see {help}",
    "cli.file": "cannot read or write {path} ({reason}); check that the path exists and you may use it",
    "cli.no_such_file": "no such file: {path}; check the path and the file name",
    "cli.bad_date": "{option} {text!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-31",
    "cli.bad_number": "{option} must be a whole number, not {text!r}",
    "cli.bad_listen": "--listen must be HOST:PORT, e.g. 127.0.0.1:8081, not {text!r}",
    "refused.generic": "refused ({key})",
    "staff.unknown": "no staff with code {code}; staff codes are the first column of staff.csv (e.g. S0003)",
    "institution.unknown": "no institution with code {code}; codes are the first column of institutions.csv "
                           "(e.g. TC350421101)",
    "place.unknown": "no place with code {code}; place codes are the first column of places.csv",
    "order.unknown": "no order {number}; order numbers look like XZ-20261204-0001",
    "circuit.unknown": "there is no circuit {id}; circuit numbers are in the report's 工作台账-巡诊 sheet "
                       "(column 巡诊编号) or in the chat's /plan list",
    "ledger.bad_period": "period {text!r} not understood; write 2026-11 (a month), 2026-Q4 (a quarter) or 2026 "
                         "(a year)",
    "ledger.bad_area": "{code} is not the code of the city or of a county; use 350400 for the city or e.g. "
                       "350421 (明溪县)",
    "ledger.outside_scope": "that area is outside what you may see",
    "ledger.unknown_target": "there is no yearly target called {name!r}; targets you can set: {keys}; "
                             "e.g. --set lectures=80",
    "ledger.bad_target_item": "{item!r} is not NAME=NUMBER; write e.g. lectures=80",
    "ledger.negative_target": "a target cannot be negative",
    "ledger.target_not_area": "{code} ({name}) is not the city or a county: yearly targets are set for the city "
                              "(e.g. 350400) or a county (e.g. {county})",
    "lead.unknown": "there is no problem lead {id}; lead numbers are the first column of the report's "
                    "问题线索台账 sheet",
    "lead.empty": "the summary is empty; say what the complaint is with --summary",
    "lead.illegal_transition": "a lead cannot go from {status} to {to}; a closed lead stays closed",
    "lead.resolution_required": "to mark a lead resolved or closed, say what was done with --resolution",
    "absence.not_on_circuit": "that expert is not on circuit {circuit}; check --staff, or the circuit number",
    "absence.not_held": "circuit {circuit} is on {date} and has not taken place yet; record the absence after it",
    "absence.served": "that expert already recorded work or outcomes on circuit {circuit} (was there); "
                      "an absence cannot be recorded",
    "rating.already": "this visit has been rated already",
    "rating.not_served": "only a visit that took place can be rated",
    "rating.bad_score": "a rating is a whole number from 1 to 5",
    "rating.too_long": "the comment is too long; keep it within {limit} characters",
    "plan.month_invalid": "month {month!r} not understood; write YYYY-MM, e.g. 2026-12",
    "plan.outside_support_usage": "--outside-support needs --accept, --hospital CODE and --admin STAFF_CODE",
    "plan.not_admin": "{code} is not an active administrator, so cannot allow circuits outside the support "
                      "relations",
    "password.differ": "the two passwords differ; run set-password again",
    "password.short": "a password needs at least {min} characters; choose a longer one",
    "password.not_allowed": "{name} ({code}) is neither an administrator nor a hospital reviewer, so cannot use "
                            "the dashboard",
    "invite.unknown_institution": "no institution with code {code}; check --institution (e.g. TC350421101 for a "
                                  "township health center, CH350421 for a county hospital)",
    "invite.staff_elsewhere": "{staff} works at {home_code}, not at {code}; use --institution {home_code}, or leave "
                              "out --staff to invite a new colleague",
    "invite.staff_lacks_role": "{staff} does not hold the role {role} (holds: {role_keys}); use one of those with "
                               "--role, or add the role in staff.csv and import it first",
    "nlp.no_examples": "no training examples: no order has a confirmed specialty yet, or the file has no valid "
                       "line (one JSON object per line with text and code)",
    "nlp.cannot_train": "cannot train: {reason}",
    "nlp.no_model": "no model file {path}; train one with nlp-train --out first, or leave out --model to use the "
                    "lexicon alone",
    "nlp.empty_file": "{path} holds no cases; check the file (one JSON object per line)",
    "nlp.bad_json": "line {line} of {path} is not JSON; correct it and try again (one JSON object per line)",
    "audit.who": "say whose record to show: --resident NAME (with --village NAME_OR_CODE if the name is shared) "
                 "or --order ORDER_NUMBER",
    "audit.no_resident": "no resident called {name}{where_en}; check the name, add --village NAME_OR_CODE, or use "
                         "--order ORDER_NUMBER",
    "audit.several": "{count} residents are called {name} ({choices_en}); add --village CODE to say which",
    "audit.unknown_village": "no village with the name or code {village!r}; use the village code (e.g. "
                             "350421101001) or its full name",
}


ENGLISH.update(texts_referrals.ENGLISH)


def _fill(template: str, params: dict[str, object]) -> str | None:
    try:
        return template.format_map(params)
    except (KeyError, IndexError, ValueError):
        return None


def refusal(key: str, **params: object) -> tuple[str, str]:
    """The refusal ``key`` as (Chinese, English) sentences (a generic pair for a key without its sentences)."""
    if key == "ledger.unknown_target":  # the names one may use, each with what it counts
        params.setdefault("names", "、".join(f"{s.key}（{s.label}）" for s in TARGET_SPECS))
        params.setdefault("keys", ", ".join(s.key for s in TARGET_SPECS))
    params = {**params, "key": key}
    zh = _fill(TEXTS[key], params) if key in TEXTS else None
    en = _fill(ENGLISH[key], params) if key in ENGLISH else None
    generic: dict[str, object] = {"key": key}
    return (zh or _fill(TEXTS["refused.generic"], generic) or key), (en or ENGLISH["refused.generic"].format(**generic))


__all__ = ["ENGLISH", "TEXTS", "refusal", "t"]
