"""Chinese texts of the notice-board pages (issue 19: 坐诊预告海报, a township's week) and of asking for them in chat.

The facts on a poster are worded by the announcement's own texts (``ann.*`` in ``handlers.texts_circuits``); these
are only what a printed page says besides them.
"""

from __future__ import annotations

from handlers.texts import TEXTS, t
from handlers.texts_circuits import TEXTS as _CIRCUIT_TEXTS  # noqa: F401  (the ann.* texts a poster reuses)

TEXTS.update(
    {
        # --- the printed page -------------------------------------------------------------------------------
        "poster.title": "坐诊预告",
        "poster.headline": "{hospital}专家到{place}坐诊",
        "poster.contact": "咨询电话：{phones}",
        "poster.contact.doctor": "村医 {name} {phone}",
        "poster.contact.post": "{name} {phone}",
        "poster.scan.village": "扫码订阅{village}坐诊预告",
        "poster.scan.area": "扫码选择您所在的村，订阅{area}各村坐诊预告",
        "poster.typed": "没有扫码功能？关注公众号或机器人后发送：/start {scene}",
        "poster.footer": "三明市订单式巡诊 · 坐诊时间如有变化，以村医通知和公众号消息为准 · {made}制",
        "poster.week.title": "{township}巡诊安排",
        "poster.week.period": "{year}年第{week}周（{first}—{last}）",
        "poster.week.when": "{date}（{weekday}）{half_day}",
        "poster.week.expert": "{name}（{title}，{specialties}）",
        "poster.week.columns": "时间|地点|专家|派出医院",
        "poster.week.empty": "本周没有巡诊安排。",
        "poster.week.more": "另有 {count} 场巡诊未能列出，请向卫生院查询。",
        # --- in chat ----------------------------------------------------------------------------------------
        "poster.button": "海报",
        "poster.sent": (
            "坐诊预告海报：{date}（{weekday}）{half_day}，{place}。A4 竖版，可直接打印张贴；扫海报上的二维码即可订阅。"
        ),
        "poster.caption": "坐诊预告海报（A4，打印张贴用）",
        "poster.unavailable": (
            "海报暂时无法在这里生成或发送。请在企业微信或 Telegram 中再试，或请管理员用命令行生成："
            "python -m bot poster --circuit {id} --out 海报.pdf"
        ),
        "poster.usage": (
            "发送 /poster 巡诊编号 生成坐诊预告海报；也可以在 /visits（村医）或 /plan list（医院）的巡诊下点「海报」。"
        ),
        "poster.not_yours": "这次巡诊不在您的范围内（或不存在），不能生成海报。",
        "poster.cancelled": "巡诊 #{id} 已取消，不再生成海报。",
        "poster.not_served": "巡诊 #{id} 不在{village}，也不包括该村。",
        "poster.unknown_village": "未知的村庄编码：{code}",
        "poster.unknown_circuit": "找不到巡诊 #{id}。",
        "poster.not_township": "{code} 不是乡镇编码。",
        "visits.head": "{village}近期巡诊（{count} 场），点「海报」生成可张贴的坐诊预告：",
        "visits.line": "#{id} {date}（{weekday}）{half_day}｜{place}｜{hospital}｜{experts}",
        "visits.none": "近{days}天没有到{village}的巡诊安排。",
    }
)

__all__ = ["TEXTS", "t"]
