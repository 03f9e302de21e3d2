"""The ledger reading use cases (``handlers.services.ledgers``) on the seeded year: who reads what, decided once."""

from __future__ import annotations

import pytest

from domain.errors import DomainError, PermissionDenied
from domain.ledgers import parse_period
from domain.staff import Role
from handlers.services.ledgers import ledger_for, reader_of, report_figures, scope_for
from storage.repositories.ledgers import area_scope_for, staff_scope_for
from tests.conftest import FIXED_NOW
from tests.ledgers.ledger_world import AS_OF, CUIJIANG, MINGXI, NINGHUA, XUEFENG


def readers(factory, *codes: str):
    with factory() as uow:
        return [reader_of(uow, uow.staff.by_code(code).id, AS_OF) for code in codes]


def test_a_commission_admin_reads_their_city_and_a_hospital_reviewer_the_places_it_supports(sqlite_world):
    _, factory, _ = sqlite_world
    admin, reviewer = readers(factory, "S0001", "S0002")
    with factory() as uow:
        assert admin.role is Role.ADMIN and admin.scope == staff_scope_for(uow, admin.staff_id, AS_OF)
        assert reviewer.role is Role.HOSPITAL_REVIEWER and reviewer.institution_name == "明溪县总医院"
        assert reviewer.scope == staff_scope_for(uow, reviewer.staff_id, AS_OF)
    assert admin.scope.is_city and {XUEFENG, CUIJIANG} <= admin.scope.place_codes
    assert XUEFENG in reviewer.scope.place_codes and CUIJIANG not in reviewer.scope.place_codes


def test_an_expert_reads_nothing(sqlite_world):
    assert readers(sqlite_world[1], "S0003") == [None]


def test_an_admin_narrowed_to_a_county_reads_what_the_command_line_reads_for_it(sqlite_world):
    _, factory, _ = sqlite_world
    (admin,) = readers(factory, "S0001")
    with factory() as uow:
        narrowed = scope_for(uow, admin, MINGXI)
        assert narrowed == scope_for(uow, None, MINGXI) == area_scope_for(uow, MINGXI)
        assert narrowed.target_place == MINGXI  # the county's own targets
        assert scope_for(uow, admin) == admin.scope
        assert scope_for(uow, None) == area_scope_for(uow, None)  # the command line: the commission's city


@pytest.mark.parametrize("area", [NINGHUA, "350400", "999999", XUEFENG])
def test_a_reviewer_cannot_widen_their_view_to_another_county_or_the_city_nor_name_an_unknown_code(sqlite_world,
                                                                                                    area):
    _, factory, _ = sqlite_world
    (reviewer,) = readers(factory, "S0002")
    with factory() as uow, pytest.raises(PermissionDenied) as refused:
        scope_for(uow, reviewer, area)
    assert refused.value.key == "ledger.outside_scope"


def test_a_reviewer_whose_hospital_supports_a_whole_county_may_narrow_to_it_without_the_countys_targets(
    sqlite_world,
):
    _, factory, _ = sqlite_world
    (reviewer,) = readers(factory, "S0002")  # 明溪县总医院 supports every place of 明溪县
    with factory() as uow:
        county = scope_for(uow, reviewer, MINGXI)
    assert county.label == "明溪县" and county.place_codes <= reviewer.scope.place_codes
    assert county.target_place is None  # yearly targets are the commission's, not a hospital's


def test_the_ledger_of_a_county_is_the_same_for_the_admin_and_the_command_line_and_stays_in_the_county(sqlite_world):
    _, factory, _ = sqlite_world
    (admin,) = readers(factory, "S0001")
    period = parse_period("2026")
    with factory() as uow:
        by_admin = ledger_for(uow, admin, period, AS_OF, MINGXI)
        by_clerk = ledger_for(uow, None, period, AS_OF, MINGXI)
        city = ledger_for(uow, admin, period, AS_OF)
    assert by_admin.inp == by_clerk.inp and by_admin.circuit_rows() == by_clerk.circuit_rows()
    county_places = {cr.circuit.place_code for cr in by_admin.circuit_rows()}
    assert XUEFENG in county_places and CUIJIANG not in county_places
    assert CUIJIANG in {cr.circuit.place_code for cr in city.circuit_rows()}


def test_the_command_line_may_read_any_county_but_not_an_unknown_one(sqlite_world):
    _, factory, _ = sqlite_world
    with factory() as uow:
        assert scope_for(uow, None, NINGHUA).label == "宁化县"
        with pytest.raises(DomainError) as bad:
            scope_for(uow, None, "999999")
    assert bad.value.key == "ledger.bad_area" and not isinstance(bad.value, PermissionDenied)


def test_a_report_outside_the_readers_view_is_refused_and_one_inside_is_limited_to_it(sqlite_world):
    _, factory, _ = sqlite_world
    admin, reviewer = readers(factory, "S0001", "S0002")
    period = parse_period("2026-11")
    with factory() as uow:
        with pytest.raises(PermissionDenied):
            report_figures(uow, reviewer, period, AS_OF, FIXED_NOW, area=NINGHUA)
        mine = report_figures(uow, reviewer, period, AS_OF, FIXED_NOW)
        county = report_figures(uow, admin, period, AS_OF, FIXED_NOW, area=MINGXI)
    assert mine.scope == reviewer.scope and not mine.targets_set  # a hospital has no yearly targets of its own
    assert {cr.circuit.place_code for cr in mine.circuit_rows} <= reviewer.scope.place_codes
    assert county.scope.label == "明溪县" and CUIJIANG not in {cr.circuit.place_code for cr in county.circuit_rows}
