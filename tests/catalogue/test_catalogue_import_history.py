"""A catalogue file imported again, or one with rows of the past or of the future, keeps every day's catalogue true
(found by a review after the merge, issue 20)."""

from __future__ import annotations

from datetime import date, timedelta

from handlers.services import catalogue as cat
from tests.conftest import FIXED_NOW

CENTER = "TC350421101"
TODAY = date(2026, 11, 23)


def test_the_same_file_imported_twice_counts_each_disease_once_on_every_day(seeded_uow):
    data = "disease,icd10,added_on\n高血压,I10,2027-01-01\n糖尿病,E11,2027-01-01\n".encode()
    for expected in ((2, 0), (0, 0)):
        with seeded_uow() as uow:
            assert cat.import_catalogue(uow, None, CENTER, "c.csv", data, FIXED_NOW) == expected
            uow.commit()
    with seeded_uow() as uow:
        assert cat.catalogue_on(uow, CENTER, date(2027, 1, 2)).size == 2
        assert cat.catalogue_on(uow, CENTER, TODAY).size == 0


def test_a_row_of_the_past_is_history_and_does_not_end_todays_entry(seeded_uow):
    with seeded_uow() as uow:
        cat.add_entry(uow, None, CENTER, "高血压", "I10", FIXED_NOW - timedelta(days=10))
        uow.commit()
    data = "disease,icd10,added_on,removed_on\n高血压,I10,2024-01-01,2024-06-01\n".encode()
    with seeded_uow() as uow:
        cat.import_catalogue(uow, None, CENTER, "c.csv", data, FIXED_NOW)
        uow.commit()
    with seeded_uow() as uow:
        assert "高血压" in cat.catalogue_on(uow, CENTER, TODAY).diseases
        assert "高血压" in cat.catalogue_on(uow, CENTER, date(2024, 3, 1)).diseases
        assert "高血压" not in cat.catalogue_on(uow, CENTER, date(2025, 3, 1)).diseases
