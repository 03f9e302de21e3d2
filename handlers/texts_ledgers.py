"""Chinese texts for ratings after a served visit and complaints (问题线索)."""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        "rate.none": "最近30天没有待评价的已完成诊疗。",
        "rate.header": "请为以下已完成的诊疗打分（1分最差，5分最好）：",
        "rate.line": "{number} · {date} · {resident}",
        "rate.ask_comment": (
            "已选择 {score} 分。可以再写一句意见（选填）；以“投诉”开头的内容会作为投诉登记到问题线索台账。"
        ),
        "rate.chosen": "已选择 {score} 分。",
        "rate.form_kept": "您正在进行的操作（{step}）没有中断，请继续回复。",
        "rate.saved": "谢谢！评价已记录（{score} 分）。",
        "rate.saved_lead": "谢谢！评价已记录（{score} 分），已转为问题线索，相关单位将跟进整改并回复。",
        "rate.not_yours": "这条诊疗不在您可以评价的范围内。",
        "rating.already": "这条诊疗已经评价过了。",
        "rating.not_served": "只有已完成的诊疗可以评价。",
        "rating.bad_score": "评分应为1到5分。",
        "rating.too_long": "意见太长，请控制在{limit}字以内。",
        "rate.unavailable": "评价功能适用于村医和已绑定的村民。",
    }
)
TEXTS["help.village_doctor"] = TEXTS.get("help.village_doctor", "") + "\n/rate 请村民为已完成的诊疗打分"

# What each target figure counts (口径) and the seed's own words behind it (依据), written beside the figure in the
# report (``domain.ledgers`` computes them; its module docstring is the same definition for programmers).
TARGET_DEFINITIONS: dict[str, tuple[str, str]] = {
    "physicians": (
        "县级及以上医院（县总医院、市属医院、省级医院）中级及以上职称的医师，当年在乡镇卫生院、社区卫生服务中心"
        "（乡镇级地点的巡诊）到岗至少1次的人数。不计入：市、省医院医师到县级医院对口帮扶，“移动医院”下村，"
        "卫生院医师的村级巡诊，医院医师只到村的巡诊，初级职称医师，登记缺席者。",
        "003 §一：从县级以上医院抽调146名以上中级以上职称医师（其中市属医院医师占30%），"
        "进入全市所有乡镇卫生院、社区卫生服务中心进行医疗帮扶",
    ),
    "city_share_pct": (
        "上一项医师中，市属医院（市级医院）医师所占的百分比。",
        "003 §一：其中市属医院医师占30%",
    ),
    "person_visits": (
        "上述医师在乡镇卫生院、社区卫生服务中心到岗的人次：同一医师同一天计1人次。",
        "003 §一：医师下基层服务累计达1606人次",
    ),
    "lectures": (
        "县级及以上医院医师在乡镇卫生院、社区卫生服务中心巡诊时登记的健康讲座场次（专家登记的场次之和）。",
        "003 §三(二)：开展学术讲座不少于80场次",
    ),
    "training_person_times": (
        "同上巡诊中登记的业务培训人次之和（专家分别登记培训场次和参训人次，这里计人次）。",
        "003 §三(二)：业务培训不少于800人次",
    ),
    "patients": (
        "同上巡诊中的已诊订单数，加登记的送医上门人次和特殊人群咨询诊疗人次。",
        "003 §三(二)：诊疗群众不少于7000人次",
    ),
    "special_consults": (
        "同上巡诊中特殊人群（老年人、残疾人、孕产妇、儿童、慢病患者）的已诊订单数，加登记的特殊人群咨询诊疗人次。",
        "003 §三(二)：为“特殊人群”开展咨询、诊疗服务不少于800人次",
    ),
    "home_visits": (
        "同上巡诊中登记的送医上门人次。",
        "003 §三(二)：送医上门服务不少于60人次",
    ),
    "mobile_quarters": (
        "当年已举行至少1次“移动医院”巡诊的季度数。",
        "003 §一、§二(四)：“移动医院”每季度至少完成1次边远地区巡诊任务",
    ),
    "tertiary_to_county": (
        "市属医院、省级医院（三级医院）医师到县级医院（县级地点的巡诊）帮扶的人次：同一医师同一天计1人次。",
        "003 §一、§二(二)：三级医院对口帮扶县级医院人次达20人次",
    ),
}

# What each sheet of the report lists, shown with it (a note in Markdown, a comment on the first cell in Excel).
SHEET_NOTES: dict[str, str] = {
    "工作台账-医师": (
        "每位县级及以上医院医师在每个受援单位每月的服务：所有已举行的巡诊都列出，是否计入目标见“目标进度”的口径。"
    ),
    "工作台账-巡诊": (
        "期间内每次巡诊（已取消的不列）；“计入医师下基层”为“是”的巡诊计入下基层医师、人次和讲座、诊疗等目标。"
    ),
    "目标进度": "年度累计（1月1日至数据截至日）；口径与依据见每行。",
    "已逾期地点": (
        "应巡日期已过仍未巡诊的地点（截至数据截至日）：县级每季度、乡镇每月至少1次（该季度或月结束后判定），"
        "村每7天至少1次。排班建议里的“将逾期”是对本月排班的预测，不在此列。"
    ),
    "双向转诊": (
        "按居民所在县和接收医院：上转为期间内支援医院处理为“上转”的订单，其中已预约为约到了为基层预留的号源，"
        "爽约为预约后未到；下转为期间内出院（或门诊结束）转回村卫生所；随访逾期为期间内到期、超过3天未完成的随访任务。"
        "号源使用为各医院期间内各日预留的号数与已约数。"
    ),
}
