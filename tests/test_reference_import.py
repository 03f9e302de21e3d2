"""The reference import as an administrator sees it (``import_files``, what ``seed --demo`` and ``import`` run):
what each file reports as written or unchanged, and what is stored afterwards. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

import sqlalchemy as sa

from bot.demo.run import demo_files
from domain.places import PlaceLevel
from domain.reference import ImportRejected
from domain.staff import Role, TitleLevel
from storage.reference import import_files
from storage.uow import SqlUnitOfWork
from tests.conftest import FIXED_NOW

TODAY = FIXED_NOW.date()
STAFF_HEADER = "code,name,institution_code,title,specialties,roles,phone\n"
S3 = "S0003,罗志明,CH350421,副高,03.04,expert,13900001003\n"  # as the demo staff file has them
S4 = "S0004,黄晓敏,CH350421,中级,10,expert,13900001004\n"


def _import(uow: SqlUnitOfWork, files: dict[str, str | bytes]):
    seen: Counter[str] = Counter()
    encoded = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    report = import_files(uow, encoded, TODAY, lambda kind: seen.update([kind]))
    return report, seen


def _version(seeded_uow) -> int:
    with seeded_uow() as uow:
        return uow.reference.version()


def _demo_with(name: str, old: str, new: str) -> dict[str, bytes]:
    files = demo_files()
    text = files[name].decode()
    assert text.count(old) == 1, old
    return {name: text.replace(old, new).encode()}


def test_a_rerun_of_the_demo_files_reports_every_row_unchanged_and_moves_no_cache(seeded_uow):
    before = _version(seeded_uow)
    with seeded_uow() as uow:
        report, seen = _import(uow, demo_files())
    assert report.changed == {}
    assert report.unchanged == {"places": 526, "institutions": 528, "support": 523, "staff": 626, "residents": 30}
    assert seen == Counter(report.unchanged)  # the progress bar moves once per row
    assert _version(seeded_uow) == before


def test_one_renamed_place_is_the_one_row_written(seeded_uow):
    before = _version(seeded_uow)
    with seeded_uow() as uow:
        report, seen = _import(uow, _demo_with("places.csv", "350421101,雪峰镇,", "350421101,雪峰街道,"))
    assert report.changed == {"places": 1} and report.unchanged == {"places": 525}
    assert seen == {"places": 526}
    with seeded_uow() as uow:
        assert uow.reference.place("350421101").name == "雪峰街道"
        assert uow.reference.gazetteer().get("350421101").name == "雪峰街道"
        assert uow.reference.place("350421101").parent_code == "350421"
        assert uow.reference.version() == before + 1  # every worker reloads its places


def test_one_institution_phone_changed_is_the_one_row_written(seeded_uow):
    before = _version(seeded_uow)
    with seeded_uow() as uow:
        report, _ = _import(uow, _demo_with("institutions.csv", ",0598-6600112", ",0598-6600999"))
    assert report.changed == {"institutions": 1} and report.unchanged == {"institutions": 527}
    with seeded_uow() as uow:
        assert uow.reference.institution("TC350421101").phone == "0598-6600999"
        assert uow.reference.institution("TC350421101").name == "雪峰镇卫生院"
        assert uow.reference.version() == before + 1


def test_a_file_without_phones_keeps_them_and_changes_nothing_else(seeded_uow):
    demo = demo_files()["institutions.csv"].decode().splitlines()
    without = ["code,name,kind,place_code"] + [line.rsplit(",", 1)[0] for line in demo[1:]]
    before = _version(seeded_uow)
    with seeded_uow() as uow:
        report, _ = _import(uow, {"institutions.csv": "\n".join(without) + "\n"})
    assert report.changed == {} and report.unchanged == {"institutions": 528}
    assert _version(seeded_uow) == before
    renamed = [line.replace("TC350421101,雪峰镇卫生院", "TC350421101,雪峰镇中心卫生院") for line in without]
    with seeded_uow() as uow:
        report, _ = _import(uow, {"institutions.csv": "\n".join(renamed) + "\n"})
    assert report.changed == {"institutions": 1}
    with seeded_uow() as uow:
        tc = uow.reference.institution("TC350421101")
        assert (tc.name, tc.phone) == ("雪峰镇中心卫生院", "0598-6600112")
        assert uow.reference.institution("CH350421").phone == "0598-6500231"


def test_an_ended_relation_is_the_one_row_written_and_a_new_one_is_added(seeded_uow):
    with seeded_uow() as uow:
        report, _ = _import(uow, _demo_with("support.csv", "P350100001,CH350421,2023-01-01,",
                                            "P350100001,CH350421,2023-01-01,2026-11-01"))
    assert report.changed == {"support": 1} and report.unchanged == {"support": 522}
    with seeded_uow() as uow:
        net = uow.reference.jurisdiction().network
        assert not net.supports("P350100001", "CH350421", date(2026, 11, 23))
        assert net.supports("P350100001", "CH350421", date(2026, 10, 23))
        n = uow.reference.counts()["support_relations"]
        report, _ = _import(uow, {"support.csv": "supporter_code,supported_code,start_date,end_date\n"
                                                 "P350100001,CH350421,2026-11-20,\n"
                                                 "P350100001,CH350421,2023-01-01,2026-11-01\n"})
    assert report.changed == {"support": 1} and report.unchanged == {"support": 1}
    with seeded_uow() as uow:
        assert uow.reference.counts()["support_relations"] == n + 1
        assert uow.reference.jurisdiction().network.supports("P350100001", "CH350421", date(2026, 11, 23))


def test_a_changed_staff_phone_is_stored_encrypted_and_found_by_the_new_number_only(seeded_uow):
    with seeded_uow() as uow:
        ident = uow.staff.by_code("S0003").id
        report, _ = _import(uow, {"staff.csv": STAFF_HEADER + S3.replace("13900001003", "13900009999") + S4})
    assert report.changed == {"staff": 1} and report.unchanged == {"staff": 1}
    with seeded_uow() as uow:
        raw = uow.session.exec(sa.text("SELECT phone_enc, phone_hash FROM staff WHERE code = 'S0003'")).one()
        assert "13900009999" not in raw[0] and "13900009999" not in raw[1]
        found = uow.staff.find_by_phone("139-0000-9999")
        assert found is not None and (found.code, found.id, found.phone) == ("S0003", ident, "13900009999")
        assert uow.staff.find_by_phone("13900001003") is None
        # A number taken away: nothing stored, nothing found.
        report, _ = _import(uow, {"staff.csv": STAFF_HEADER + S3.replace("13900001003", "")})
        assert report.changed == {"staff": 1}
        uow.commit()
    with seeded_uow() as uow:
        assert uow.staff.by_code("S0003").phone is None
        assert uow.staff.find_by_phone("13900009999") is None
        raw = uow.session.exec(sa.text("SELECT phone_enc, phone_hash FROM staff WHERE code = 'S0003'")).one()
        assert tuple(raw) == (None, None)


def test_a_changed_title_role_or_specialty_is_the_one_staff_row_written(seeded_uow):
    changes = [
        (S3.replace("副高", "正高"), lambda st: st.title == TitleLevel.SENIOR),
        (S3.replace("expert", "expert;hospital_reviewer"),
         lambda st: st.roles == {Role.EXPERT, Role.HOSPITAL_REVIEWER}),
        (S3.replace(",03.04,", ",03.04;03.02,"), lambda st: st.specialties == {"03.04", "03.02"}),
        (S3.replace(",03.04,", ",03.02,"), lambda st: st.specialties == {"03.02"}),
        (S3.replace("罗志明,CH350421", "罗志明,CH350423"), lambda st: st.institution_code == "CH350423"),
    ]
    for line, check in changes:
        before = _version(seeded_uow)
        with seeded_uow() as uow:
            report, seen = _import(uow, {"staff.csv": STAFF_HEADER + S4 + line})
        assert report.changed == {"staff": 1} and report.unchanged == {"staff": 1}, line
        assert seen == {"staff": 2}
        with seeded_uow() as uow:
            st = uow.staff.by_code("S0003")
            assert check(st), (line, st)
            assert st.phone == "13900001003" and st.active
            assert uow.staff.by_code("S0004").specialties == {"10"}
            assert uow.reference.version() == before + 1
    with seeded_uow() as uow:  # the last line again: nothing to write
        report, _ = _import(uow, {"staff.csv": STAFF_HEADER + S4 + changes[-1][0]})
    assert report.changed == {}


def test_a_deactivated_person_is_written_active_again_by_a_staff_file_that_lists_them(seeded_uow):
    with seeded_uow() as uow:
        st = uow.staff.by_code("S0003")
        assert uow.staff.upsert(dataclasses.replace(st, active=False)) is True
        assert uow.staff.upsert(dataclasses.replace(st, active=False)) is False
        uow.commit()
    with seeded_uow() as uow:
        assert not uow.staff.by_code("S0003").active
        assert "S0003" not in {s.code for s in uow.staff.experts_with_specialty(["CH350421"], "03.04")}
        report, _ = _import(uow, {"staff.csv": STAFF_HEADER + S3 + S4})
    assert report.changed == {"staff": 1} and report.unchanged == {"staff": 1}
    with seeded_uow() as uow:
        assert uow.staff.by_code("S0003").active


def test_children_before_their_parents_in_the_file_are_written_after_them(uow_factory):
    places = ("code,name,level,parent_code,market_days\n"
              "350421101001,城东村,village,350421101,\n"
              '350421101,雪峰镇,township,350421,"lunar:3,8"\n'
              "350421,明溪县,county,350400,\n"
              "350400,三明市,city,,\n")
    institutions = ("code,name,kind,place_code,phone\n"
                    "VP1,城东村卫生所,village_post,350421101001,\n"
                    "TC1,雪峰镇卫生院,township_center,350421101,0598-6600112\n")
    staff = (STAFF_HEADER + "N1,新医生,VP1,初级,02,village_doctor;admin,13900007777\n"
             "N2,审核员,TC1,中级,,township_reviewer,\n")
    support = "supporter_code,supported_code,start_date,end_date\nTC1,VP1,2026-01-01,\n"
    with uow_factory() as uow:
        report, seen = _import(uow, {"staff.csv": staff, "support.csv": support, "institutions.csv": institutions,
                                     "places.csv": places})
    assert report.changed == {"places": 4, "institutions": 2, "support": 1, "staff": 2}
    assert report.unchanged == {}
    assert list(seen) == ["places", "institutions", "support", "staff"]
    with uow_factory() as uow:
        g = uow.reference.gazetteer()
        assert g.is_within("350421101001", "350400")
        assert [p.code for p in uow.reference.places_at(PlaceLevel.TOWNSHIP)] == ["350421101"]
        assert uow.reference.place("350421101").market_days == "lunar:3,8"
        assert uow.reference.jurisdiction().network.supports("TC1", "VP1", TODAY)
        n1 = uow.staff.find_by_phone("13900007777")
        assert n1 is not None and n1.code == "N1"
        assert n1.roles == {Role.VILLAGE_DOCTOR, Role.ADMIN} and n1.specialties == {"02"}
        n2 = uow.staff.by_code("N2")
        assert n2.roles == {Role.TOWNSHIP_REVIEWER} and n2.specialties == frozenset() and n2.phone is None
        assert n2.id is not None and n1.id is not None and n1.id < n2.id  # in the order of the file
        report, _ = _import(uow, {"places.csv": places, "institutions.csv": institutions, "support.csv": support,
                                  "staff.csv": staff})
    assert report.changed == {}
    assert report.unchanged == {"places": 4, "institutions": 2, "support": 1, "staff": 2}


def test_the_same_person_in_two_files_is_written_as_the_last_file_says(uow_factory):
    base = ("code,name,level,parent_code,market_days\n350400,三明市,city,,\n350421,明溪县,county,350400,\n",
            "code,name,kind,place_code,phone\nH1,明溪总医院,county_hospital,350421,\n")
    with uow_factory() as uow:
        _import(uow, {"places.csv": base[0], "institutions.csv": base[1]})
    with uow_factory() as uow:
        report, _ = _import(uow, {
            "a.csv": STAFF_HEADER + "N1,新医生,H1,初级,02,expert,13900007777\n",
            "b.csv": STAFF_HEADER + "N1,新医生,H1,中级,02,expert,13900008888\n",
        })
    assert report.changed == {"staff": 2}
    with uow_factory() as uow:
        n1 = uow.staff.by_code("N1")
        assert (n1.title, n1.phone) == (TitleLevel.INTERMEDIATE, "13900008888")
        assert uow.staff.find_by_phone("13900007777") is None
        report, _ = _import(uow, {
            "a.csv": STAFF_HEADER + "N1,新医生,H1,中级,02,expert,13900008888\n",
            "b.csv": STAFF_HEADER + "N1,新医生,H1,中级,02,expert,13900008888\n",
        })
    assert report.changed == {} and report.unchanged == {"staff": 2}


def test_a_rejected_file_leaves_every_row_of_the_batch_unwritten(seeded_uow):
    before = _version(seeded_uow)
    files = _demo_with("places.csv", "350421101,雪峰镇,", "350421101,雪峰街道,")
    files["staff.csv"] = (STAFF_HEADER + S3.replace("副高", "正高") + "N9,坏医生,NOWHERE,中级,,expert,\n").encode()
    with seeded_uow() as uow:
        try:
            import_files(uow, files, TODAY)
        except ImportRejected:
            pass
        else:
            raise AssertionError("an unknown institution must be refused")
    with seeded_uow() as uow:
        assert uow.reference.place("350421101").name == "雪峰镇"
        assert uow.staff.by_code("S0003").title == TitleLevel.ASSOCIATE_SENIOR
        assert uow.staff.by_code("N9") is None
    assert _version(seeded_uow) == before


def test_a_person_written_one_at_a_time_is_read_back_as_written_in_the_same_transaction(seeded_uow):
    with seeded_uow() as uow:
        st = uow.staff.by_code("S0003")
        assert uow.staff.get(st.id).title == TitleLevel.ASSOCIATE_SENIOR  # now in the session
        changed = dataclasses.replace(st, title=TitleLevel.SENIOR, phone="13900006666", roles=frozenset({Role.ADMIN}))
        assert uow.staff.upsert(changed) is True
        again = uow.staff.get(st.id)
        assert (again.title, again.phone, again.roles) == (TitleLevel.SENIOR, "13900006666", {Role.ADMIN})
        assert uow.staff.find_by_phone("13900006666").code == "S0003"
        new = dataclasses.replace(st, code="N5", id=None, phone=None)
        assert uow.staff.upsert(new) is True and new.id is not None and new.id != st.id
        assert uow.staff.get(new.id).code == "N5"
        assert uow.staff.upsert(dataclasses.replace(new)) is False
        gone = dataclasses.replace(st, code="N6", id=None, phone=None, active=False)
        assert uow.staff.upsert(gone) is True and not uow.staff.get(gone.id).active
        place = uow.reference.place("350421101")
        assert uow.reference.upsert_place(dataclasses.replace(place, name="雪峰街道")) is True
        assert uow.reference.upsert_place(dataclasses.replace(place, name="雪峰街道")) is False
        assert uow.reference.place("350421101").name == "雪峰街道"
