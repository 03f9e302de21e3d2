"""Every user-facing text, in Simplified Chinese, in one catalogue a health worker can review.

Keys are grouped by flow. Domain errors carry a key; ``t()`` turns it into a sentence here.
"""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # --- general ---------------------------------------------------------------------------------------------
    "welcome.anonymous": (
        "您好，这里是「巡诊」订单式巡诊服务。\n"
        "· 村民：按下面的选项选择您所在的村，就能收到专家下乡坐诊的预告。\n"
        "· 医务人员：请发送管理员给您的邀请码：/start 邀请码"
    ),
    "welcome.staff": "您好，{name}（{institution}，{role}）。{hint}",
    "welcome.back": "欢迎回来，{name}。当前身份：{role}。发送 /help 查看可用命令。",
    "help.anonymous": (
        "可用命令：\n/start 选择村庄，订阅坐诊预告\n/unsubscribe 取消订阅\n/mydata 查看我的信息\n"
        "/forget 撤回同意并删除我的信息\n/rate 为已完成的诊疗打分（村医给过您关联链接的居民）\n/cancel 取消当前操作"
    ),
    "help.village_doctor": (
        "村医可用命令：\n/new 登记一条需求订单（也可以直接发一句话，如：邱瑞鹏 男 1956 胸闷气短两周）\n"
        "/orders 查看本村卫生所的订单\n"
        "/link 订单号 为居民重新生成关联链接\n/qr 本村订阅坐诊预告的二维码（张贴用）\n"
        "/visits 本村近期巡诊（可生成坐诊预告海报）\n"
        "/sms 姓名 为没有智能手机的居民登记短信通知\n/catalogue 乡镇卫生院首诊病种目录（/catalogue 血压高 查询）\n"
        "/tasks 随访任务（下转病人的复查）\n"
        "/survey 摸底导入：把摸底表（xlsx/CSV）作为文件发来，批量登记订单\n/cancel 取消当前操作\n/help 帮助"
    ),
    "help.township_reviewer": (
        "卫生院审核员可用命令：\n/pending 待初审的订单（按村分组）\n"
        "/catalogue 本院首诊病种目录（/catalogue 血压高 查询；采用默认、添加、删除）\n/cancel 取消当前操作\n/help 帮助"
    ),
    "help.hospital_reviewer": (
        "支援医院审核员可用命令：\n/pending 待处理的订单（按科室分组）\n"
        "/plan 巡诊排班：今天起 5 周已安排的和建议新增的巡诊\n/plan 2026-12 只排某个月（年-月）\n"
        "/plan list 本院近期巡诊（改期、取消、添加订单、海报）\n/plan help 排班的全部命令\n"
        "/poster 巡诊编号 坐诊预告海报\n/slots 为基层转诊预留的号源\n"
        "/referrals 上转病人（到院、就诊、住院、出院下转）\n/remote 待进行的远程会诊（改期、取消）\n"
        "/cancel 取消当前操作\n/help 帮助"
    ),
    "help.expert": (
        "专家可用命令：\n/circuits 我的巡诊安排\n/remote 我的远程会诊（登记结果、未到场）\n"
        "/cancel 取消当前操作\n/help 帮助"
    ),
    "help.admin": "管理员可用命令：\n/status 数据概况\n/help 帮助\n（机构、人员、支援关系请用命令行导入）",
    "help.role_switch": "\n您有多个身份，发送 /role 切换。",
    "role.village_doctor": "村医",
    "role.township_reviewer": "卫生院审核员",
    "role.hospital_reviewer": "医院审核员",
    "role.expert": "下沉专家",
    "role.admin": "管理员",
    "role.choose": "请选择当前身份：",
    "role.switched": "已切换为：{role}。",
    "cancelled": "已取消，回到初始状态。发送 /help 查看可用命令。",
    "nothing_to_cancel": "当前没有进行中的操作。",
    "unknown_command": "没有这个命令：{command}。发送 /help 查看可用命令。",
    "not_for_you": "这个命令不适用于您当前的身份（{role}）。发送 /help 查看可用命令。",
    "need_binding": "请先绑定身份：发送 /start 邀请码（邀请码由管理员提供）。",
    "press_button": "请点上面的按钮选择；如需重新开始，发送 /cancel。",
    "free_text_unexpected": "收到。如需办理业务，请发送 /help 查看可用命令。",
    "free_text_unexpected.en": (
        "This is Xunzhen, the circuit clinic service of Sanming (in Chinese). Residents: send /start to choose your "
        "village and hear when doctors visit it. Staff: send /start and your invite code. Send /help for the commands."
    ),
    "flood": "您发送得太快了，请稍等几秒再发。",
    "busy": "系统繁忙，请稍后再试。您的操作没有保存，可以稍后重新发送。",
    "private_only": "请私聊我（为保护个人信息，群聊中不办理任何业务，也不显示任何居民信息）。",
    "empty_text": "没有收到文字内容，请用文字回复。",
    "too_long": "内容太长（{length}字），请控制在{limit}字以内。",
    "no_meaning": "没看懂这条消息，请用文字描述（可以是中文或拼音、英文）。",
    # voice: recognised speech is shown back before it counts
    "voice.heard": "🎤 语音识别为：\n「{text}」\n对就点「对，就是这样」；不对请重新说，或直接打字。",
    "voice.ok": "对，就是这样",
    "voice.no_text": "收到语音，但没有拿到语音转成的文字。请直接打字发送。",
    "button.expired": "这个按钮已失效，请重新发送命令。",
    # --- the local console (numbers stand for buttons) --------------------------------------------------------
    "console.press_as": "以 {name} 的身份输入编号即可点按",
    "console.number_as_text": (
        "（这一步需要输入内容，「{n}」作为您的回答发出；要点上面的按钮，请先完成或 /cancel 这一步）"
    ),
    "console.no_buttons": "屏幕上没有编号为 {n} 的按钮。发送 /help 查看可用命令。",
    "console.no_such_number": "屏幕上没有编号为 {n} 的按钮；现在可以输入的编号：{numbers}。",
    "console.resume": "（上次未完成的操作：{step}。请继续回答，或发送 /cancel 放弃。）",
    "console.left_open": "{name} 上次有未完成的操作（{step}）：发送 /as {name} 回到那里。",
    "button.not_yours": "这个按钮不属于您，操作未执行。",
    "back": "« 返回",
    "prev_page": "« 上一页",
    "next_page": "下一页 »",
    "done": "完成",
    "skip": "跳过",
    "yes": "是",
    "no": "否",
    "confirm": "确认提交",
    "abort": "放弃",
    # --- onboarding ------------------------------------------------------------------------------------------
    "invite.invalid": "邀请码无效。请核对后重新发送：/start 邀请码",
    "invite.used": "这个邀请码已经使用过了。如需重新绑定，请联系管理员。",
    "invite.expired": "这个邀请码已过期，请联系管理员重新生成。",
    "invite.ask_name": "邀请码有效：{institution}，{role}。请回复您的真实姓名：",
    "invite.bound": "绑定成功：{name}，{institution}，{role}。",
    "invite.name_invalid": "姓名应为2到20个字，请重新输入：",
    "invite.already_staff": "您的账号已绑定为 {name}。",
    "resident.choose_county": "请选择您所在的县（市、区）：",
    "resident.choose_township": "请选择乡镇：",
    "resident.choose_village": "请选择村：",
    "resident.subscribed": "订阅成功：{village}。专家来村里坐诊前，我们会提前通知您。",
    "resident.already_subscribed": "您已经订阅了 {village}。",
    "resident.unknown_village": "没有找到这个村，请重新选择。",
    "resident.linked": "已关联到居民 {name}。您的需求安排好后会通知您。",
    "resident.link_invalid": "这个居民链接无效。请核对，或向您的村医索取新的链接。",
    "resident.no_subscriptions": "您还没有订阅任何村庄。发送 /start 订阅。",
    "resident.unsubscribe_choose": "请选择要取消订阅的村：",
    "resident.unsubscribe_all": "全部取消",
    "resident.unsubscribed": "已取消订阅：{village}。",
    "resident.unsubscribed_all": "已取消全部订阅，不会再给您发送预告。",
    "mydata.header": "您的个人信息（仅您本人可见）：",
    "mydata.account": "账号：{platform}，注册于 {created}",
    "mydata.subscriptions": "订阅的村：{villages}",
    "mydata.resident": "居民档案：{name}，{sex}，{birth_year}年生，{village}；手机：{phone}；同意书版本：{consent}",
    "mydata.order": "· {number} {status} {specialty}：{need}",
    "mydata.none": "我们没有保存您的居民档案；只保存了您的聊天账号和订阅。",
    "forget.confirm": (
        "撤回同意后，我们将删除您的姓名、手机号、需求描述和订阅，只保留不含个人信息的统计数字，"
        "之后不再给您发送任何消息。确定吗？"
    ),
    "forget.staff": "医务人员账号由管理员管理；如需注销或解绑，请联系管理员。",
    "forget.yes": "确定撤回并删除",
    "forget.done": "已撤回同意并删除您的个人信息。感谢您使用巡诊服务。",
    "forget.kept": "好的，什么都没有删除。",
    # --- village doctor: new order ---------------------------------------------------------------------------
    "new.ask_resident": "请输入居民姓名（可只输入姓或名中的字）搜索，或点「新建居民」：",
    "new.new_resident": "＋ 新建居民",
    "new.found": "找到以下居民，请选择：",
    "new.not_found": "本村卫生所没有找到「{query}」。可以换个字再搜，或点「新建居民」。",
    "new.ask_name": "请输入居民姓名：",
    "new.name_invalid": "这不像居民的姓名：姓名是2到20个字，不含数字、表情或病情。请只输入居民姓名：",
    "new.ask_sex": "居民性别：",
    "new.sex.M": "男",
    "new.sex.F": "女",
    "new.ask_birth_year": "请输入出生年份（四位数字，如 1956）：",
    "new.birth_year_invalid": "出生年份应为 {min}–{max} 之间的四位数字，请重新输入：",
    "new.ask_phone": "请输入手机号（可跳过）：",
    "new.phone_invalid": "手机号应为11位数字，请重新输入，或点「跳过」：",
    "new.consent": (
        "【个人健康信息处理单独同意（{version}）】\n"
        "请向 {name} 说明：为安排专家巡诊，本服务将记录其姓名、性别、出生年份、手机号和就医需求，"
        "仅供所在卫生院、支援医院和出诊专家使用，不作他用；可随时撤回同意并删除个人信息。\n"
        "居民是否同意？"
    ),
    "new.consent_yes": "居民已同意",
    "new.consent_no": "居民不同意",
    "new.consent_refused": "居民未同意，未保存任何信息。",
    "new.ask_need": "请描述 {name} 的就医需求（症状、持续多久、想看什么）：",
    "new.emergency": (
        "⚠️ 疑似急症：{reasons}。\n请立即拨打 120，或尽快送往最近的医院！\n{alerted}\n"
        "若您判断不是急症，可点「不是急症，继续登记」，订单会带上急症提示标记。"
    ),
    "em.notified": "已通知：{who}（10分钟内无人确认将上报支援医院）",
    "em.notified_hospital": "卫生院没有可通知的审核人，已通知：{who}",
    "em.nobody": "没有可通知的审核人，请立即电话联系{institution}：{phone}",
    "em.nobody_no_phone": "没有可通知的审核人，{institution}也没有登记电话，请立即通过其他方式联系。",
    "em.center_unknown": "所属卫生院",
    "em.alert": (
        "⚠️ 急症提醒\n居民：{resident}\n地点：{village}（{post}）\n报告村医：{doctor}\n回拨电话：{phone}\n"
        "疑似：{reasons}\n已建议村医立即拨打120。请尽快电话联系村医协助处置，并点下面的按钮确认。"
    ),
    "em.alert_escalated": "【{centers}{minutes}分钟内无人确认，转告贵院】\n",
    "em.no_phone": (
        "村医和村卫生所都没有登记电话。请点下面的「收到，我来处理」，村医会收到您的姓名和电话并与您联系"
    ),
    "em.call": "\n联系电话：{numbers}",
    "em.call_back": "请等候来电，或直接拨打：{numbers}",
    "em.ack": "收到，我来处理",
    "em.acked": "已确认收到，村医 {doctor} 会得到通知。请尽快回拨：{phone}",
    "em.acked_no_phone": "已确认收到。村医 {doctor} 没有登记电话，会收到您的姓名和电话并与您联系。",
    "em.acknowledged": "{institution} {name} 已收到急症提醒（{resident}），正在处理。",
    "em.already": "这条急症提醒已由 {institution} {name} 于 {time} 确认收到，无需重复确认。",
    "em.escalated": "急症提醒（{resident}）{minutes}分钟内卫生院无人确认，已上报：{who}",
    "em.escalated_nobody": (
        "急症提醒（{resident}）{minutes}分钟内无人确认，支援医院也没有可通知的审核人，请立即电话联系：{phones}"
    ),
    "em.phone_missing": "{institution}（未登记电话）",
    "em.unknown": "找不到这条急症提醒。",
    "perm.emergency_not_alerted": "这条急症提醒不是发给您所在机构和身份的，操作未执行。",
    "order.emergency_mark": "⚠️ 村医判断非急症（系统曾提示：{reasons}）",
    "order.emergency_mark_short": "⚠️非急症确认",
    "new.emergency_override": "不是急症，继续登记",
    "new.emergency_stop": "结束",
    "new.emergency_stopped": "已结束。请确保患者得到及时救治。",
    "new.choose_specialty": "根据描述，建议以下科室（括号内是判断依据），请确认：",
    "new.low_confidence": "不太有把握：根据「{words}」暂定「{name}」，请确认，或点「其他科室…」选择：",
    "new.other_specialty": "其他科室…",
    "new.choose_any_specialty": "请选择科室：",
    "new.ask_urgency": "紧急程度：",
    "urgency.routine": "常规",
    "urgency.soon": "尽快",
    "new.ask_populations": "是否属于以下特殊人群？（可多选，选好后点「完成」）",
    "population.elderly": "老年人",
    "population.disabled": "残疾人",
    "population.pregnant": "孕产妇",
    "population.child": "儿童",
    "population.chronic": "慢病患者",
    "new.summary": (
        "请核对：\n居民：{resident}\n需求：{need}\n科室：{specialty}\n紧急程度：{urgency}\n特殊人群：{populations}"
    ),
    "new.submitted": (
        "已提交，订单号 {number}。卫生院审核后会通知您。\n居民可发送 /start r_{link} 接收本人通知"
        "（7天内有效，只能使用一次；请只交给居民本人或家属。需要时可在订单卡片上重新生成）。"
    ),
    "new.abandoned": "已放弃，未保存。",
    "notify.new_order": "新订单待初审：{number}（{village}，{specialty}）。发送 /pending 查看。",
    "notify.order_edited": "待初审订单 {number}（{village}）已被村医修改需求内容，之前的审核按钮已失效。"
    "发送 /pending 查看最新内容。",
    "draft.reminder": "您有一条未完成的操作（{step}），24小时后将自动清除。发送 /cancel 放弃，或继续回复。",
    "draft.expired": "未完成的操作已超过24小时，已自动清除。",
    # --- village doctor: orders ------------------------------------------------------------------------------
    "orders.none": "本村卫生所还没有订单。发送 /new 登记。",
    "orders.header": "本村卫生所最近的订单：",
    "orders.line": "{number}｜{resident}｜{specialty}｜{status}",
    "orders.card": "订单 {number}\n居民：{resident}\n需求：{need}\n科室：{specialty}\n状态：{status}",
    "orders.question": "卫生院的问题：{question}",
    "orders.edit": "修改需求",
    "orders.cancel": "撤销订单",
    "orders.answer": "回复补充",
    "orders.ask_edit": "请输入新的需求描述：",
    "orders.edited": "订单 {number} 已修改。",
    "orders.ask_cancel_reason": "请输入撤销原因：",
    "orders.cancelled": "订单 {number} 已撤销。",
    "orders.ask_answer": "请回复卫生院的问题：{question}",
    "orders.resubmitted": "订单 {number} 已补充并重新提交。",
    # --- review ----------------------------------------------------------------------------------------------
    "pending.none": "没有待处理的订单。",
    "pending.village": "【{village}】{count} 条待初审",
    "pending.card": "{number}｜{resident}（{sex}，{age}岁）\n需求：{need}\n科室：{specialty}｜{urgency}{populations}",
    "pending.more": "另有 {count} 条，处理完上面的再发送 /pending。",
    "pending.specialty": "【{specialty}】{count} 条待处理",
    "review.approve": "批准",
    "review.return": "退回补充",
    "review.reject": "驳回",
    "review.merge": "合并重复",
    "review.approve_all": "批准本村全部常规订单（{count}条）",
    "review.ask_question": "请输入要村医补充的问题：",
    "review.ask_reject_reason": "请输入驳回原因（村医会看到）：",
    "review.choose_merge_target": "合并到哪一条订单？",
    "review.no_merge_target": "同村没有可合并的其他订单。",
    "review.done": "{number}：{decision}。",
    "review.batch_done": "已批准 {count} 条常规订单：{numbers}",
    "review.already": "订单 {number} 已经处理过了（当前状态：{status}），本次操作未执行。",
    "review.changed": "订单 {number} 在您看到之后已被修改，本次操作未执行。请核对下面的最新内容后再决定。",
    "review.batch_changed": "另有 {count} 条订单在列表显示后已被修改，未一并批准：{numbers}。"
    "请发送 /pending 查看最新内容。",
    "dispose.circuit": "安排巡诊",
    "dispose.remote": "远程会诊",
    "dispose.refer_up": "上转",
    "dispose.local": "乡镇处理",
    "dispose.reject": "驳回",
    "dispose.choose_expert": "选择出诊专家（按近期负担排序）：",
    "dispose.expert_line": "{name}（{title}，{load}单在手）",
    "dispose.assign_later": "排班时再定",
    "dispose.no_expert": "本院没有该科室的专家，可选「排班时再定」或其他处理方式。",
    "dispose.ask_remote_time": "请输入远程会诊时间和方式（如：12月3日上午 视频）：",
    "dispose.ask_referral": "请输入上转说明（病情要点、是否需要住院床位等）。系统会自动预约本院为基层预留的号源：",
    "dispose.ask_reject_reason": "请输入驳回原因（卫生院和村医会看到）：",
    "decision.township_approve": "已批准",
    "decision.township_return": "已退回补充",
    "decision.township_reject": "已驳回",
    "decision.township_merge": "已合并",
    "decision.dispose_circuit": "已安排巡诊",
    "decision.dispose_remote": "已安排远程会诊",
    "decision.dispose_refer_up": "已上转",
    "decision.dispose_local": "由乡镇卫生院处理",
    "decision.hospital_reject": "已驳回",
    "decision.cancel": "已撤销",
    "decision.mark_served": "已就诊",
    "decision.mark_no_show": "未到",
    "notify.decision": "订单 {number}（{resident}）{decision}{detail}",
    "notify.detail": "：{text}",
    "notify.scheduled_resident": (
        "您的就医需求（{specialty}）已安排：{date}（{weekday}）{half_day}，{place}，{hospital}专家 {expert}。"
        "请按时前往，记得带身份证和医保卡。"
    ),
    # --- expert ----------------------------------------------------------------------------------------------
    "circuits.none": "近期没有安排给您的巡诊。",
    "circuits.header": "您近期的巡诊：",
    "circuits.line": "{date}{half_day}｜{place}｜{count} 位患者",
    "circuits.order": "{number}｜{resident}｜{specialty}｜{status}\n需求：{need}",
    "circuits.served": "已诊",
    "circuits.no_show": "未到",
    "circuits.ask_outcome": "请简要记录诊疗结果（可跳过）：",
    "circuits.outcome_saved": "{number} 已记录：{decision}。",
    "rate.prompt": "订单 {number} 已就诊。请为这次巡诊服务打分（1 很差 … 5 很好），也可以之后发送 /rate：",
    "circuits.record_work": "记录其他工作",
    "circuits.choose_work": "记录本次巡诊的其他工作：",
    "work.lecture": "健康讲座",
    "work.training": "业务培训",
    "work.home_visit": "送医上门",
    "work.special_consult": "特殊人群诊疗",
    "work.ask_sessions.lecture": "这次巡诊开了几场健康讲座？请输入场次（1–{most}）：",
    "work.ask_sessions.training": "这次巡诊开了几场业务培训？请输入场次（1–{most}）：",
    "work.ask_people.lecture": "这 {sessions} 场健康讲座一共有多少人听讲？请输入人数：",
    "work.ask_people.training": "这 {sessions} 场业务培训一共有多少人参加？请输入培训人次：",
    "work.ask_people.home_visit": "这次巡诊送医上门服务了多少人次？请输入人次：",
    "work.ask_people.special_consult": (
        "这次巡诊为特殊人群（老年人、残疾人、孕产妇、儿童、慢病患者）咨询、诊疗了多少人次？请输入人次："
    ),
    "work.too_many_sessions": (
        "一次巡诊最多登记 {most} 场{kind}。如果 {n} 是{people}，请先输入场次（例如 1），下一步再输入{people}："
    ),
    "work.people.lecture": "听讲人数",
    "work.people.training": "培训人次",
    "work.sessions_invalid": "请输入场次，1–{most} 之间的数字：",
    "circuits.count_invalid": "请输入 1–{most} 之间的数字：",
    "work.saved.lecture": "已记录：健康讲座 {sessions} 场，听众 {people} 人。",
    "work.saved.training": "已记录：业务培训 {sessions} 场，共 {people} 人次。",
    "work.saved.home_visit": "已记录：送医上门 {people} 人次。",
    "work.saved.special_consult": "已记录：特殊人群诊疗 {people} 人次。",
    "circuits.outcome_noted": "已记录诊疗结果。",
    "half_day.am": "上午",
    "half_day.pm": "下午",
    # --- statuses --------------------------------------------------------------------------------------------
    "status.submitted": "待初审",
    "status.returned": "退回补充",
    "status.township_approved": "待医院处理",
    "status.rejected": "已驳回",
    "status.merged": "已合并",
    "status.awaiting_circuit": "待排巡诊",
    "status.remote_consult": "远程会诊",
    "status.referred_up": "已上转",
    "status.handled_locally": "乡镇处理",
    "status.scheduled": "已排巡诊",
    "status.served": "已就诊",
    "status.no_show": "未到诊",
    "status.cancelled": "已撤销",
    # --- domain errors ---------------------------------------------------------------------------------------
    "order.illegal_transition": "订单当前状态下不能这样操作。",
    "order.not_editable": "订单已进入审核，不能再修改。",
    "order.need.empty": "需求描述不能为空，请重新输入：",
    "order.need.too_long": "需求描述太长，请控制在{limit}字以内：",
    "order.reason.empty": "请填写原因：",
    "order.reason.too_long": "原因太长，请控制在{limit}字以内：",
    "order.merge_target_missing": "请选择要合并到的订单。",
    "order.merge_into_self": "不能合并到自己。",
    "order.circuit_missing": "请选择巡诊。",
    "order.changed_meanwhile": "订单刚被其他人修改过，请重新打开后再操作。",
    "order.unknown": "找不到这条订单。",
    "perm.role_missing": "您没有这个身份的权限，操作未执行。",
    "perm.not_your_post": "这条订单不属于您的村卫生所，操作未执行。",
    "perm.outside_township": "这条订单不在本卫生院辖区，操作未执行。",
    "perm.not_supported": "这条订单不在本院支援范围内，操作未执行。",
    "perm.not_on_circuit": "这次巡诊没有安排您，操作未执行。",
    "perm.not_your_circuit": "这次巡诊不属于本院，操作未执行。",
    "perm.admin_cannot_review": "管理员负责配置，不参与订单审核。",
    "perm.action_not_for_role": "您当前的身份不能执行这个操作。",
    "specialty.unknown": "未知的科室编码：{code}",
    "place.unknown": "未知的地点编码：{code}",
    "resident.unknown": "找不到这位居民。",
}


def t(key: str, **params: object) -> str:
    """The Chinese text for ``key`` with ``params`` filled in (a missing key falls back to a polite generic)."""
    template = TEXTS.get(key)
    if template is None:
        return "操作未完成，请稍后再试。"
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


# Names of conversation steps, used in the 24-hour draft reminder.
TEXTS.update(
    {
        "step.invite.name": "绑定身份",
        "step.new.resident": "登记订单：选择居民",
        "step.new.name": "登记订单：新建居民",
        "step.new.birth_year": "登记订单：新建居民",
        "step.new.phone": "登记订单：新建居民",
        "step.new.consent": "登记订单：居民同意",
        "step.new.need": "登记订单：填写需求",
        "step.new.emergency": "登记订单：急症确认",
        "step.new.specialty": "登记订单：选择科室",
        "step.new.urgency": "登记订单：紧急程度",
        "step.new.populations": "登记订单：特殊人群",
        "step.new.summary": "登记订单：确认提交",
        "step.order.edit": "修改订单",
        "step.order.cancel": "撤销订单",
        "step.order.answer": "回复补充",
        "step.tw.question": "退回补充",
        "step.tw.reject": "驳回订单",
        "step.hs.remote": "远程会诊",
        "step.hs.referral": "上转安排",
        "step.hs.reject": "驳回订单",
        "step.ex.outcome": "记录诊疗结果",
        "step.ex.work_sessions": "记录其他工作",
        "step.ex.work_count": "记录其他工作",
    }
)
