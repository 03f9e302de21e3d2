"""Reference files are accepted whole or rejected whole, with row-numbered errors in Chinese and English."""

from __future__ import annotations

from datetime import date

import pytest

from domain.places import PlaceLevel
from domain.reference import ImportRejected, KnownCodes, validate

TODAY = date(2026, 11, 23)
PLACES = (
    "code,name,level,parent_code,market_days\n"
    "350400,三明市,city,,\n"
    "350421,明溪县,county,350400,\n"
    '350421101,雪峰镇,township,350421,"lunar:3,8"\n'
    "350421101001,城东村,village,350421101,\n"
)
INSTITUTIONS = (
    "code,name,kind,place_code\n"
    "CH350421,明溪县总医院,county_hospital,350421\n"
    "TC350421101,雪峰镇卫生院,township_center,350421101\n"
    "VP350421101001,城东村卫生所,village_post,350421101001\n"
)


def errors_of(files: dict[str, str], known: KnownCodes | None = None):
    with pytest.raises(ImportRejected) as e:
        validate({k: v.encode() for k, v in files.items()}, known or KnownCodes(), TODAY)
    return e.value.errors


def test_a_consistent_batch_validates():
    batch = validate({"p.csv": PLACES.encode(), "i.csv": INSTITUTIONS.encode()}, KnownCodes(), TODAY)
    assert batch.counts()["places"] == 4 and batch.counts()["institutions"] == 3
    assert batch.places[2].market_days == "lunar:3,8"


def test_unknown_parent_is_reported_with_its_row():
    errs = errors_of({"places.csv": PLACES + "350421102,盖洋镇,township,350499,\n"})
    assert [(e.row, e.column) for e in errs] == [(6, "parent_code")]
    assert "上级编码不存在" in errs[0].zh and "unknown parent" in errs[0].en
    assert "第6行" in str(errs[0]) and "row 6" in str(errs[0])


def test_duplicate_code_is_rejected():
    errs = errors_of({"places.csv": PLACES + "350421,明溪县,county,350400,\n"})
    assert errs[0].row == 6 and "重复" in errs[0].zh and "duplicate of row 3" in errs[0].en


def test_wrong_nesting_is_rejected():
    errs = errors_of({"places.csv": PLACES + "350421101002,某村,village,350421,\n"})
    assert "must sit under a township" in errs[0].en


def test_unknown_specialty_is_rejected():
    staff = "code,name,institution_code,title,specialties,roles,phone\nS1,张医生,CH350421,副高,03.04;99.99,expert,\n"
    errs = errors_of({"p.csv": PLACES, "i.csv": INSTITUTIONS, "staff.csv": staff})
    assert [(e.file, e.row, e.column) for e in errs] == [("staff.csv", 2, "specialties")]
    assert "99.99" in errs[0].zh


def test_every_error_is_collected_not_just_the_first():
    staff = (
        "code,name,institution_code,title,specialties,roles,phone\n"
        "S1,张医生,NOPE,教授,03.04,wizard,12345\n"
        "S2,李医生,CH350421,中级,,expert,\n"
    )
    errs = errors_of({"p.csv": PLACES, "i.csv": INSTITUTIONS, "staff.csv": staff})
    assert {e.column for e in errs} == {"institution_code", "title", "roles", "phone"}
    assert all(e.row == 2 for e in errs)


def test_invalid_phone_is_masked_in_the_error():
    res = "name,sex,birth_year,village_code,phone\n王大妈,女,1950,350421101001,1390000123\n"
    errs = errors_of({"p.csv": PLACES, "r.csv": res})
    assert "1390000123" not in str(errs[0])


def test_files_may_refer_to_what_the_database_already_holds():
    known = KnownCodes(places={"350421101001": PlaceLevel.VILLAGE})
    res = "name,sex,birth_year,village_code,phone\n王大妈,女,1950,350421101001,13900001234\n"
    batch = validate({"r.csv": res.encode()}, known, TODAY)
    assert batch.residents[0].phone == "13900001234"


def test_unrecognised_header_and_bad_encoding_are_explained():
    errs = errors_of({"x.csv": "foo,bar\n1,2\n"})
    assert "表头无法识别" in errs[0].zh
    errs = errors_of({"y.csv": "code,name\n"})
    assert errs[0].row == 1


def test_gbk_is_accepted():
    batch = validate({"places.csv": PLACES.encode("gbk")}, KnownCodes(), TODAY)
    assert batch.places[1].name == "明溪县"


def test_undecodable_bytes_are_reported():
    with pytest.raises(ImportRejected) as e:
        validate({"bin.csv": b"\xff\xfe\x00\x81\x30\xff"}, KnownCodes(), TODAY)
    assert "编码" in e.value.errors[0].zh


def test_support_dates_are_checked():
    support = "supporter_code,supported_code,start_date,end_date\nCH350421,TC350421101,2024-05-01,2023-01-01\n"
    errs = errors_of({"p.csv": PLACES, "i.csv": INSTITUTIONS, "s.csv": support})
    assert errs[0].column == "end_date"


def test_institution_at_the_wrong_level_is_rejected():
    inst = "code,name,kind,place_code\nVPX,某卫生所,village_post,350421\n"
    errs = errors_of({"p.csv": PLACES, "i.csv": inst})
    assert "cannot be at a county" in errs[0].en


def test_institution_phone_is_optional_loosely_checked_and_kept_as_given():
    files = {
        "p.csv": PLACES,
        "i.csv": (
            "code,name,kind,place_code,phone\n"
            "CH350421,明溪县总医院,county_hospital,350421, 0598-2812345 \n"
            "TC350421101,雪峰镇卫生院,township_center,350421101,13900002222\n"
            "VP350421101001,城东村卫生所,village_post,350421101001,\n"
        ),
    }
    batch = validate({k: v.encode() for k, v in files.items()}, KnownCodes(), TODAY)
    assert [i.phone for i in batch.institutions] == ["0598-2812345", "13900002222", None]
    assert not batch.keep_phone
    bad = dict(files, **{"i.csv": "code,name,kind,place_code,phone\n"
                                  "CH350421,明溪县总医院,county_hospital,350421,打电话\n"})
    [err] = errors_of(bad)
    # A public number is shown as typed (only personal numbers are masked).
    assert err.column == "phone" and "打电话" in err.zh
    # A file without the phone column leaves the stored numbers alone.
    batch = validate({"p.csv": PLACES.encode(), "i.csv": INSTITUTIONS.encode()}, KnownCodes(), TODAY)
    assert batch.keep_phone == {"CH350421", "TC350421101", "VP350421101001"}
