"""Chinese texts of the first-diagnosis catalogue (基层首诊病种目录, issue 20 part 3): /catalogue in chat, the line on a
township reviewer's card, and the refusals (the command line prints the same with its English, see texts_cli)."""

from __future__ import annotations

from handlers.texts import TEXTS, t
from handlers.texts_cli import ENGLISH

TEXTS.update(
    {
        # --- /catalogue --------------------------------------------------------------------------------------
        "catalogue.none": (
            "{center}尚未建立基层首诊病种目录。\n卫生院审核员发送 /catalogue 采用默认，即以 {count} 种常见病的起始清单"
            "为本院目录，再用“/catalogue 添加 病名 ICD-10编码”“/catalogue 删除 病名”调整。"
        ),
        "catalogue.head": "{center} 基层首诊病种目录（{date}）：{size} 种，目标 {target} 种（{tier}）{met}",
        "catalogue.met": "，已达标",
        "catalogue.unmet": "，还差 {gap} 种",
        "catalogue.tier.central": "中心卫生院/社区医院",
        "catalogue.tier.general": "一般卫生院",
        "catalogue.page": "第 {page}/{pages} 页",
        "catalogue.line": "{n}. {label}",
        "catalogue.usage": (
            "发送 /catalogue 血压高 查询某个病情能否在本院首诊；/catalogue 翻页查看全部。"
        ),
        "catalogue.editor_usage": (
            "修改目录：/catalogue 添加 病名 ICD-10编码（如：/catalogue 添加 带状疱疹 B02）；/catalogue 删除 病名。"
        ),
        "catalogue.prev": "上一页",
        "catalogue.next": "下一页",
        "catalogue.adopted": "已采用起始清单：新增 {added} 种，{center}目录现有 {size} 种（目标 {target} 种）。",
        "catalogue.added": "已加入首诊病种目录：{label}（自 {date} 起）。现有 {size} 种。",
        "catalogue.removed": "已移出首诊病种目录：{label}（自 {date} 起）。现有 {size} 种。",
        "catalogue.match": "可在本院首诊：{center}首诊病种目录内有\n{lines}",
        "catalogue.match_line": "· {label}（匹配：{words}）",
        "catalogue.no_match": (
            "“{query}”不在{center}的首诊病种目录内（目录现有 {size} 种）。需要时请照常登记订单，由上级医院处理。"
        ),
        "catalogue.card_line": "本院首诊病种：{disease}（匹配：{words}）",
        "catalogue.handle_local": "本院处理",
        "mydata.catalogue": "（卫生院首诊病种：{disease}）",
        "decision.township_handle_local": "由乡镇卫生院首诊处理（首诊病种目录内，不再上报医院）",
        # --- refusals ------------------------------------------------------------------------------------------
        "catalogue.too_long": "内容太长，请用一句话（{limit}字以内）描述病情再查询。",
        "catalogue.bad_disease": "病名不能为空、不超过{limit}字，也不能含表情符号，请重新输入。",
        "catalogue.bad_icd10": "“{code}”不是 ICD-10 编码（应如 I10、E11、J06.9），可以不写。",
        "catalogue.already_listed": "“{disease}”已在目录中。",
        "catalogue.not_listed": "目录中没有“{disease}”。发送 /catalogue 查看目录中的病名。",
        "catalogue.not_editor": "您不能修改这个目录：首诊病种目录由本院卫生院审核员维护。",
        "catalogue.not_a_center": "{name}（{code}）不是乡镇卫生院或社区卫生服务中心，没有首诊病种目录。",
        "catalogue.not_in_catalogue": "这条订单的需求不在本院首诊病种目录内，请按常规审核（批准后由上级医院处理）。",
        "catalogue.no_center": "没有找到支援本村卫生所的乡镇卫生院，无法查询首诊病种目录。",
        "catalogue.bad_tier": (
            "目标类别“{tier}”不对：central（中心卫生院、社区医院，80 种）或 general（其他卫生院，50 种）。"
        ),
    }
)

# The same refusals on the command line, where each is said in English too.
ENGLISH.update(
    {
        "catalogue.too_long": "the complaint is too long: at most {limit} characters",
        "catalogue.bad_disease": "a disease name must be 1 to {limit} characters, without emoji or symbols",
        "catalogue.bad_icd10": "{code} is not an ICD-10 code (e.g. I10, E11, J06.9); it may be left out",
        "catalogue.already_listed": "{disease} is already in the catalogue",
        "catalogue.not_listed": "{disease} is not in the catalogue; list it to see the names",
        "catalogue.not_editor": "only the center's own township reviewer changes its catalogue",
        "catalogue.not_a_center": "{name} ({code}) is not a township or community health center: it keeps no "
                                  "first-diagnosis catalogue",
        "catalogue.no_center": "no township health center supports this village post",
        "catalogue.bad_tier": "tier must be central (80 diseases) or general (50)",
        "catalogue.not_in_catalogue": "this order's need is not in the center's first-diagnosis catalogue",
    }
)

__all__ = ["ENGLISH", "TEXTS", "t"]
