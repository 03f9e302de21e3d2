"""What may be a resident's name (issue 18: any text used to be accepted, "😷🤒 发烧咳嗽三天了 🙏" included)."""

from __future__ import annotations

import pytest

from domain.staff import is_person_name


@pytest.mark.parametrize("name", ["邱航", "王秀英", "欧阳秀兰", "阿依古丽·买买提", "Anna Li", " 邱瑞鹏 "])
def test_names(name):
    assert is_person_name(name)


@pytest.mark.parametrize("text", ["😷🤒 发烧咳嗽三天了 🙏", "发烧咳嗽三天了", "邱航1963", "邱", "王秀英，女", "·买买提",
                                  "一二三四五六七八九十一二三四五六七八九十一", "", "123", "邱航 男"])
def test_not_names(text):
    assert not is_person_name(text)
