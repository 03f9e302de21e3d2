"""Consistency checks for the demo reference data in bot/demo/data (stdlib only)."""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import cache
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "bot" / "demo" / "data"

HEADERS = {
    "places.csv": ["code", "name", "level", "parent_code", "market_days"],
    "institutions.csv": ["code", "name", "kind", "place_code", "phone"],
    "support.csv": ["supporter_code", "supported_code", "start_date", "end_date"],
    "staff.csv": ["code", "name", "institution_code", "title", "specialties", "roles", "phone"],
    "residents.csv": ["name", "sex", "birth_year", "village_code", "phone"],
}
LEVELS = {"city", "county", "township", "village"}
PARENT_LEVEL = {"city": None, "county": "city", "township": "county", "village": "township"}
KINDS = {
    "village_post",
    "township_center",
    "community_center",
    "county_hospital",
    "city_hospital",
    "provincial_hospital",
    "health_commission",
}
TITLES = {"初级", "中级", "副高", "正高"}
ROLES = {"village_doctor", "township_reviewer", "hospital_reviewer", "expert", "admin"}
SPECIALTIES = {
    "02",
    "03.01",
    "03.02",
    "03.03",
    "03.04",
    "03.07",
    "03.06",
    "04.01",
    "04.03",
    "04.04",
    "05.01",
    "05.02",
    "07",
    "10",
    "11",
    "12",
    "13",
    "15",
    "19",
    "21",
    "27",
    "50",
    "50.10",
    "50.13",
    "03.10",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MARKET = re.compile(r"^(lunar|solar):(10|[1-9])(,(10|[1-9]))*$")
PHONE = re.compile(r"^1390000\d{4}$")


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    raw = (DEMO / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} must not have a BOM"
    with open(DEMO / name, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADERS[name], f"{name} header {reader.fieldnames}"
        return tuple(reader)


def places() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in rows("places.csv")}


def institutions() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in rows("institutions.csv")}


def split(value: str) -> list[str]:
    return [v for v in value.split(";") if v]


def test_codes_unique_per_file():
    for name, key in [("places.csv", "code"), ("institutions.csv", "code"), ("staff.csv", "code")]:
        dupes = [c for c, n in Counter(r[key] for r in rows(name)).items() if n > 1]
        assert not dupes, f"duplicate codes in {name}: {dupes[:5]}"
    pairs = Counter((r["supporter_code"], r["supported_code"]) for r in rows("support.csv"))
    assert not [p for p, n in pairs.items() if n > 1]


def test_place_levels_nest():
    ps = places()
    for p in ps.values():
        assert p["level"] in LEVELS, p
        want = PARENT_LEVEL[p["level"]]
        if want is None:
            assert p["parent_code"] == "", p
        else:
            assert p["parent_code"] in ps, f"unknown parent of {p}"
            assert ps[p["parent_code"]]["level"] == want, f"{p['code']} under a {ps[p['parent_code']]['level']}"
            if p["level"] in ("township", "village"):  # project codes extend the parent's code
                assert p["code"].startswith(p["parent_code"]), p
        if p["market_days"]:
            assert p["level"] == "township", p
            assert MARKET.match(p["market_days"]), p


def test_real_county_codes():
    ps = places()
    assert ps["350400"]["name"] == "三明市"
    counties = {c: p["name"] for c, p in ps.items() if p["parent_code"] == "350400"}
    assert counties == {
        "350404": "三元区",
        "350405": "沙县区",
        "350421": "明溪县",
        "350423": "清流县",
        "350424": "宁化县",
        "350425": "大田县",
        "350426": "尤溪县",
        "350428": "将乐县",
        "350429": "泰宁县",
        "350430": "建宁县",
        "350481": "永安市",
    }


def test_institutions_reference_places_and_kinds():
    ps = places()
    for i in institutions().values():
        assert i["kind"] in KINDS, i
        assert i["place_code"] in ps, i


def test_one_center_per_township_and_one_post_per_village():
    ps = places()
    centers = Counter(
        i["place_code"] for i in institutions().values() if i["kind"] in ("township_center", "community_center")
    )
    posts = Counter(i["place_code"] for i in institutions().values() if i["kind"] == "village_post")
    for code, p in ps.items():
        if p["level"] == "township":
            assert centers[code] == 1, f"township {code} has {centers[code]} centers"
        if p["level"] == "village":
            assert posts[code] == 1, f"village {code} has {posts[code]} posts"
    for code in list(centers) + list(posts):
        assert ps[code]["level"] in ("township", "village")


def test_support_references_and_dates():
    insts = institutions()
    for r in rows("support.csv"):
        assert r["supporter_code"] in insts, r
        assert r["supported_code"] in insts, r
        assert DATE.match(r["start_date"]), r
        assert r["end_date"] == "" or DATE.match(r["end_date"]), r


def test_hierarchy_is_supported():
    insts, ps = institutions(), places()
    pairs = {(r["supporter_code"], r["supported_code"]) for r in rows("support.csv")}
    for i in insts.values():
        if i["kind"] == "village_post":
            township = ps[i["place_code"]]["parent_code"]
            assert ("TC" + township, i["code"]) in pairs, i
        elif i["kind"] == "township_center":
            county = ps[i["place_code"]]["parent_code"]
            assert ("CH" + county, i["code"]) in pairs, i
    # the real relations from seed 003 §二(二)
    for sup, county in [
        ("P350100001", "350421"),
        ("P350100001", "350423"),
        ("P350100002", "350430"),
        ("H350400001", "350428"),
        ("H350400002", "350424"),
    ]:
        assert (sup, "CH" + county) in pairs


def test_staff_values():
    insts = institutions()
    for s in rows("staff.csv"):
        assert re.fullmatch(r"S\d{4}", s["code"]), s
        assert s["institution_code"] in insts, s
        assert s["title"] in TITLES, s
        roles = split(s["roles"])
        assert roles and set(roles) <= ROLES, s
        assert set(split(s["specialties"])) <= SPECIALTIES, s
        assert s["phone"] == "" or PHONE.match(s["phone"]), s
        kind = insts[s["institution_code"]]["kind"]
        if "village_doctor" in roles:
            assert kind == "village_post", s
        if "township_reviewer" in roles:
            assert kind in ("township_center", "community_center"), s
        if "hospital_reviewer" in roles or "expert" in roles:
            assert kind in ("county_hospital", "city_hospital", "provincial_hospital"), s


def test_experts_cover_specialties():
    experts = [s for s in rows("staff.csv") if "expert" in split(s["roles"])]
    counts = Counter(code for s in experts for code in split(s["specialties"]))
    assert len(counts) >= 15
    assert all(counts[c] >= 3 for c in SPECIALTIES), {c: counts[c] for c in SPECIALTIES if counts[c] < 3}
    assert all(s["title"] in ("中级", "副高", "正高") for s in experts)


def test_every_post_has_a_village_doctor_and_every_center_a_reviewer():
    staff = rows("staff.csv")
    doctors = {s["institution_code"] for s in staff if "village_doctor" in split(s["roles"])}
    reviewers = {s["institution_code"] for s in staff if "township_reviewer" in split(s["roles"])}
    hospital_reviewers = {s["institution_code"] for s in staff if "hospital_reviewer" in split(s["roles"])}
    for i in institutions().values():
        if i["kind"] == "village_post":
            assert i["code"] in doctors, i
        elif i["kind"] in ("township_center", "community_center"):
            assert i["code"] in reviewers, i
        elif i["kind"] in ("county_hospital", "city_hospital", "provincial_hospital"):
            assert i["code"] in hospital_reviewers, i


def test_demo_cast():
    staff = {s["code"]: s for s in rows("staff.csv")}
    assert staff["S0001"]["roles"] == "admin" and staff["S0001"]["institution_code"] == "GOV350400"
    assert staff["S0002"]["institution_code"] == "CH350421"
    assert "hospital_reviewer" in split(staff["S0002"]["roles"])


def test_residents():
    ps = places()
    for r in rows("residents.csv"):
        assert r["sex"] in ("M", "F"), r
        assert r["village_code"] in ps and ps[r["village_code"]]["level"] == "village", r
        assert 1900 < int(r["birth_year"]) <= 2025, r
        assert r["phone"] == "" or PHONE.match(r["phone"]), r


def test_township_centers_and_hospitals_have_a_phone_number():
    """Whoever must phone a health center or hospital in an emergency finds a number on file."""
    phone = re.compile(r"^0\d{2,3}-\d{7,8}$")
    for i in institutions().values():
        if i["kind"] in ("township_center", "community_center") or i["kind"].endswith("_hospital"):
            assert phone.match(i["phone"]), i
        else:
            assert i["phone"] == "", i
