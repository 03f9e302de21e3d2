"""Chinese texts for SMS announcements: the village doctor's /sms card, the resident's SMS consent, refusals."""

from __future__ import annotations

from handlers.texts import TEXTS

TEXTS.update(
    {
        "sms.off": "本服务还没有开通短信通知（需要管理员配置短信服务商）。居民可以关注公众号或请村医转告坐诊预告。",
        "sms.usage": (
            "用法：/sms 居民姓名（或姓名中的几个字）\n为没有智能手机的居民登记手机号，用短信接收本村的坐诊预告；"
            "也可以在这里查看或停止。本村已登记 {active} 个号码。"
        ),
        "sms.not_found": "本村没有找到名字含“{query}”的居民。",
        "sms.pick": "请选择居民：",
        "sms.card": "居民 {name}（{village}）的短信通知：{status}",
        "sms.status.none": "未登记",
        "sms.status.active": "已登记 {phone}，{date} 经居民同意（同意书版本 {version}）",
        "sms.status.stopped": "已停止（{date}，{how}）",
        "sms.how.reply": "居民回复退订",
        "sms.how.doctor": "村医停止",
        "sms.how.provider": "号码已被短信平台退订",
        "sms.register": "登记短信通知",
        "sms.stop": "停止短信通知",
        "sms.ask_phone": "请输入居民接收短信的手机号（11位）：",
        "sms.use_phone": "使用已登记的电话 {phone}",
        "sms.invalid_number": "手机号格式不对，请输入11位手机号（1开头）。",
        "sms.no_consent": "这位居民已撤回同意并删除了个人信息，不能登记短信通知。",
        "sms.consent": (
            "请向居民本人读出并确认：\n"
            "“村卫生所会把本村的巡诊坐诊预告（日期、地点、专家和科室）用短信发到您的手机 {phone}。"
            "短信由{sign}发出，不收费，不含其他内容。您随时可以回复 TD 或“退订”停止，或告诉村医停止。”\n"
            "居民同意后请点「居民已同意」。"
        ),
        "sms.consent_yes": "居民已同意",
        "sms.abort": "取消",
        "sms.aborted": "已取消，没有登记。",
        "sms.registered": "已登记：居民 {name} 的坐诊预告将以短信发送到 {phone}。居民回复 TD 或“退订”即停止。",
        "sms.stopped": "已停止：不再给居民 {name} 的号码发送短信（同一号码登记的其他居民也一并停止）。",
        "sms.already_stopped": "居民 {name} 的短信通知已经是停止状态。",
        "sms.sender": "村卫生所",
        "step.sms.phone": "短信通知：输入手机号",
        "step.sms.consent": "短信通知：居民同意",
    }
)
