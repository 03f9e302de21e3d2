"""The fake providers refuse what the real ones refuse; the template fits each provider's limits; the settings."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime

import aiohttp
import pytest

from bot.config import Settings
from bot.testing.fake_sms import ALIYUN_KEY, ALIYUN_SECRET, SIGN, TENCENT_ID, TENCENT_KEY, FakeAliyunSms
from bot.transports.sms.template import DEFAULT_TEXT, PARAM_LIMIT, FilledSms, SmsTemplate, sms_parts
from domain.announcements import AnnouncementKind
from domain.sms import is_opt_out, segments
from handlers.services.announcements import Notice, NoticeExpert
from tests.sms.conftest import PHONE, TEMPLATE_CODE

PARTS = {"date": "12月4日", "half_day": "上午", "hospital": "明溪县总医院", "expert": "罗志明副主任医师",
         "expert_name": "罗志明", "expert_title": "副主任医师", "place": "雪峰镇", "specialty": "心血管内科"}


def _client(provider):
    return provider.client()


async def test_a_request_signed_for_other_values_is_refused_as_a_signature_mismatch():
    from alibabacloud_tea_openapi.utils import Utils

    async with FakeAliyunSms({"SMS_1": DEFAULT_TEXT["aliyun"]}) as fake:
        params = {"Action": "SendSms", "Version": "2017-05-25", "Format": "json", "AccessKeyId": ALIYUN_KEY,
                  "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": "n-1",
                  "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "PhoneNumbers": PHONE,
                  "SignName": SIGN, "TemplateCode": "SMS_1", "TemplateParam": json.dumps({k: "x" for k in PARTS})}
        params["Signature"] = Utils.get_rpcsignature(params, "POST", ALIYUN_SECRET)  # the SDK's own signing
        tampered = dict(params, PhoneNumbers="13900009999")
        async with aiohttp.ClientSession() as s:
            async with s.post(fake.root_url + "/", params=tampered) as r:
                refused = (r.status, (await r.json())["Code"])
            async with s.post(fake.root_url + "/", params=params) as r:
                accepted = (r.status, (await r.json())["Code"])
            async with s.post(fake.root_url + "/", params=params) as r:  # the same nonce again: a replay
                replayed = (r.status, (await r.json())["Code"])
    assert refused == (400, "SignatureDoesNotMatch")
    assert accepted[0] == 200 and accepted[1] != "SignatureDoesNotMatch"  # signature fine (params not the template's)
    assert replayed == (400, "SignatureNonceUsed")


async def test_a_stale_timestamp_and_an_unknown_key_are_refused_by_each_provider(provider):
    sms = provider.template.fill(PARTS)
    provider.fake.clock = lambda: time.time() + 3600  # our request now looks an hour old
    stale = await asyncio.to_thread(_client(provider).send, PHONE, sms)
    provider.fake.clock = time.time
    provider.fake.keys = {"someone-else": "x"}
    unknown = await asyncio.to_thread(_client(provider).send, PHONE, sms)
    if provider.name == "aliyun":
        assert (stale.code, unknown.code) == ("InvalidTimeStamp.Expired", "InvalidAccessKeyId.NotFound")
    else:
        assert (stale.code, unknown.code) == ("AuthFailure.SignatureExpire", "AuthFailure.SecretIdNotFound")
    assert _client(provider).classify(unknown).reason.startswith("sms_credentials: ")
    assert provider.fake.to(PHONE) == []


async def test_a_template_the_provider_does_not_know_or_a_value_over_its_limit_is_permanent(provider):
    client = _client(provider)
    params = {n: PARTS[n] for n in provider.template.names}
    too_long = FilledSms(dict(params, hospital="福建医科大学附属第一医院" * 3), "")  # past any provider's limit
    refused = await asyncio.to_thread(client.send, PHONE, too_long)
    assert client.classify(refused).outcome == "permanent"
    assert client.classify(refused).reason.startswith("sms_template: ")
    client.template_code = client.template_id = "not-approved"
    unknown = await asyncio.to_thread(client.send, PHONE, provider.template.fill(PARTS))
    assert client.classify(unknown).reason.startswith("sms_template: ")
    bad_number = await asyncio.to_thread(_client(provider).send, "12345", provider.template.fill(PARTS))
    assert _client(provider).classify(bad_number).reason.startswith("sms_invalid_number: ")


@pytest.mark.parametrize("name", ["aliyun", "tencent"])
def test_long_values_are_cut_to_the_providers_limit_and_one_sms(name):
    template = SmsTemplate.parse(DEFAULT_TEXT[name], SIGN, PARAM_LIMIT[name])
    notice = Notice(AnnouncementKind.REMINDER, "", date(2026, 12, 4), "12月4日", "周五", "上午", None,
                    "雪峰镇城东村村民委员会活动中心", "福建医科大学附属第一医院",
                    (NoticeExpert("欧阳建华", "副主任医师", ("心血管内科",)),
                     NoticeExpert("王丽", "主任医师", ("眼科",)), NoticeExpert("李明", "主治医师", ("骨科",))),
                    ("心血管内科", "眼科", "骨科", "内分泌科"))
    sms = template.fill(sms_parts(notice))
    assert all(len(v) <= PARAM_LIMIT[name] for v in sms.params.values()), sms.params
    assert len(sms.text) <= 70 and segments(len(sms.text)) == 1, sms.text
    assert sms.params["date"] == "12月4日" and sms.params["half_day"] == "上午"  # never cut
    assert "欧阳建华" in "".join(sms.params.values())


def test_a_cancellation_says_so_beside_the_date():
    notice = Notice(AnnouncementKind.CANCEL, "", date(2026, 12, 4), "12月4日", "周五", "上午", None, "雪峰镇", "",
                    (), ())
    sms = SmsTemplate.parse(DEFAULT_TEXT["tencent"], SIGN, 6).fill(sms_parts(notice))
    assert sms.params["half_day"] == "上午已取消" and "无" in sms.params.values()  # no empty variable


def test_the_tencent_text_to_submit_numbers_the_variables_in_order():
    t = SmsTemplate.parse(DEFAULT_TEXT["tencent"], SIGN, 6)
    assert t.tencent_text().startswith("巡诊预告：{1}{2}{3}{4}{5}到{6}坐诊，科室：{7}。")


@pytest.mark.parametrize("text, why", [("您好${name}", "未知变量"), ("${date}和${date}", "两次"),
                                       ("【三明巡诊】${date}", "【】"), ("没有变量", "没有变量")])
def test_a_template_text_that_cannot_work_is_refused_with_the_reason(text, why):
    with pytest.raises(ValueError, match=why):
        SmsTemplate.parse(text, SIGN, 35)


@pytest.mark.parametrize("reply, stops", [("TD", True), ("td", True), (" Td。", True), ("退订", True), ("T", True),
                                          ("ＴＤ", True), ("好的", False), ("TD我不要了吗", False), ("", False)])
def test_which_replies_mean_stop(reply, stops):
    assert is_opt_out(reply) is stops


def _env(**extra: str) -> dict[str, str]:
    return {"SMS_PROVIDER": "tencent", "SMS_ACCESS_KEY_ID": TENCENT_ID, "SMS_ACCESS_KEY_SECRET": TENCENT_KEY,
            "SMS_SIGN_NAME": "【三明巡诊】", "SMS_TEMPLATE_CODE": TEMPLATE_CODE["tencent"], **extra}


def test_sms_settings_are_read_once_and_say_what_is_missing():
    with pytest.raises(SystemExit, match="SMS_SDK_APP_ID"):
        Settings.from_env(_env())
    with pytest.raises(SystemExit, match="aliyun 或 tencent"):
        Settings.from_env(_env(SMS_PROVIDER="twilio"))
    with pytest.raises(SystemExit, match="SMS_TEMPLATE_TEXT"):
        Settings.from_env(_env(SMS_SDK_APP_ID="1400000001", SMS_TEMPLATE_TEXT="${nope}"))
    s = Settings.from_env(_env(SMS_SDK_APP_ID="1400000001", SMS_ENDPOINT="http://127.0.0.1:9/",
                               SMS_CALLBACK_TOKEN="t" * 20)).sms
    assert (s.provider, s.sign_name, s.endpoint, s.template and s.template.limit) == (
        "tencent", "三明巡诊", "http://127.0.0.1:9", 6)
    assert TENCENT_KEY in Settings.from_env(_env(SMS_SDK_APP_ID="1")).secrets()  # masked in logs like the others
    assert Settings.from_env({}).sms.provider is None


def test_without_a_provider_no_sms_channel_is_built(app):
    from bot.transports.sms.channel import build

    assert build(app, datetime.now) is None
