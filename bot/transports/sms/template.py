"""The approved SMS template, filled from an announcement within the provider's limits and one 70-character SMS.

Chinese SMS go out only through a template the provider approved. ``SMS_TEMPLATE_TEXT`` is that template's text
with our part names as placeholders (``${date}``, ``${place}`` …): Alibaba's template uses the same names as its
variables; Tencent's numbers them in order of appearance (``{1}``, ``{2}`` …, see :meth:`SmsTemplate.tencent_text`).
Each value is cut to the provider's per-variable limit at a word boundary (``bot.delivery.fields.fit``, shared with
the Official Account's templates); then, while signature and text together exceed one SMS (70 characters), the
longest of the values that can lose detail is cut further, so the resident gets one SMS, not two halves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.delivery.fields import fit, notice_parts
from domain.announcements import AnnouncementKind
from domain.sms import SEGMENT

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# What an announcement can put in an SMS variable.
PARTS = ("date", "half_day", "time", "place", "expert", "expert_name", "expert_title", "specialty", "hospital")
# Cut first when the SMS would be longer than one segment; the date and the half-day are never cut.
SHRINKABLE = ("specialty", "expert", "expert_name", "hospital", "place", "expert_title")
MIN_KEPT = 2
DEFAULT_TEXT = {
    # Alibaba: variables up to 35 characters; a notification template must not carry opt-out wording.
    "aliyun": ("巡诊预告：${date}${half_day}${hospital}${expert}到${place}坐诊，"
               "科室：${specialty}。请带身份证和医保卡。"),
    # Tencent: an ordinary variable holds at most 6 characters, so the expert's name and title are two variables.
    "tencent": ("巡诊预告：${date}${half_day}${hospital}${expert_name}${expert_title}到${place}坐诊，"
                "科室：${specialty}。请带身份证和医保卡。"),
}
PARAM_LIMIT = {"aliyun": 35, "tencent": 6}
EMPTY = "无"  # providers refuse an empty variable


@dataclass(frozen=True, slots=True)
class FilledSms:
    """The template's variables (in order of appearance) and the text the resident will read."""

    params: dict[str, str]
    text: str  # with the signature, as the phone shows it

    @property
    def ordered(self) -> list[str]:
        """The values in order of appearance (Tencent's ``TemplateParamSet``)."""
        return list(self.params.values())


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    """An approved template: its text with ``${part}`` placeholders, the signature, the per-variable limit."""

    text: str
    sign_name: str
    limit: int

    @classmethod
    def parse(cls, text: str, sign_name: str, limit: int) -> SmsTemplate:
        """Check the placeholders; ValueError with the reason."""
        names = PLACEHOLDER.findall(text)
        if not names:
            raise ValueError("模板中没有变量 / the template has no ${part} placeholders")
        unknown = [n for n in names if n not in PARTS]
        if unknown:
            raise ValueError(f"未知变量 {'、'.join(unknown)}，只能是 {'、'.join(PARTS)} / unknown parts")
        if len(set(names)) != len(names):
            raise ValueError("同一变量出现两次 / a variable appears twice (Alibaba refuses that)")
        if "【" in text or "】" in text:
            raise ValueError("模板中不能有【】（签名由平台加上） / no 【】 in the template")
        if limit < MIN_KEPT:
            raise ValueError(f"variable limit {limit} is too small")
        return cls(text, sign_name, limit)

    @property
    def names(self) -> tuple[str, ...]:
        """The variables, in order of appearance."""
        return tuple(PLACEHOLDER.findall(self.text))

    def tencent_text(self) -> str:
        """The text to submit to Tencent: the placeholders numbered {1}, {2} … in order."""
        counter = iter(range(1, len(self.names) + 1))
        return PLACEHOLDER.sub(lambda m: "{" + str(next(counter)) + "}", self.text)

    def render(self, params: Mapping[str, str]) -> str:
        """The SMS as the phone shows it: 【signature】 then the text with the values."""
        return f"【{self.sign_name}】" + PLACEHOLDER.sub(lambda m: params[m.group(1)], self.text)

    def fill(self, parts: Mapping[str, str]) -> FilledSms:
        """Every variable from ``parts``, within the limit, the whole within one SMS where cutting can get there."""
        params = {n: fit(parts.get(n, "") or EMPTY, self.limit) or EMPTY for n in self.names}
        while len(self.render(params)) > SEGMENT:
            longest = max((n for n in SHRINKABLE if n in params and len(params[n]) > MIN_KEPT),
                          key=lambda n: len(params[n]), default=None)
            if longest is None:
                break  # only the date and half-day are left to cut: two SMS rather than a wrong date
            params[longest] = fit(params[longest], len(params[longest]) - 1)
        return FilledSms(params, self.render(params))


def sms_parts(notice) -> dict[str, str]:
    """An announcement's parts for SMS variables (``handlers.services.announcements.Notice``): the Official
    Account's parts, the date and half-day apart, the experts' names and title apart. A change or a cancellation
    says so in the half-day ("上午已取消"), the one variable every template has beside the date."""
    parts = notice_parts(notice)
    half = notice.half_day + {AnnouncementKind.CANCEL: "已取消", AnnouncementKind.UPDATE: "有变更"}.get(notice.kind, "")
    titles = {e.title for e in notice.experts}
    parts.update(
        date=notice.date,
        half_day=half,
        time=f"{notice.date}{half}",
        place=notice.place,
        expert="、".join(f"{e.name}{e.title}" for e in notice.experts),
        expert_name="、".join(e.name for e in notice.experts),
        expert_title=titles.pop() if len(titles) == 1 else "专家",
    )
    return parts
